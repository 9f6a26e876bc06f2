//! sw-alerts: stateful alerting on sw-health reports.
//!
//! `sw-alerts eval` turns `health.report` records into `alert` events
//! (only on transitions and repeats), keeping per-alert state in a file;
//! `sw-alerts notify` delivers alert events to webhooks (Alertmanager v4
//! payload), Slack, Teams, email or a command, through a durable outbox.

pub mod eval;
pub mod event;
pub mod notify;
pub mod rules;
pub mod smtp;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sw_core::cli::{CommonOpts, Tool};
use sw_core::config::Env;

/// Evaluate alert rules on health reports and deliver notifications.
#[derive(Parser, Debug)]
#[command(name = "sw-alerts", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Read health.report records on stdin, print alert events (transitions and repeats).
    Eval(eval::EvalArgs),
    /// Read alert events on stdin and deliver them; undelivered ones stay in the outbox (exit 75), ones a receiver rejects (HTTP 400/413/422) go to its rejected/ folder (exit 65).
    Notify(Box<notify::NotifyArgs>),
    /// Print the built-in default rule pack (a starting point for --rules).
    DefaultRules,
}

impl Tool for Cli {
    const NAME: &'static str = "sw-alerts";
    fn common(&self) -> &CommonOpts {
        &self.common
    }
}

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    sw_core::cli::command::<Cli>()
}

/// What each command promises: its exit codes and the record kinds it
/// prints (man pages' EXIT STATUS and JSON OUTPUT, and `schemas/`).
pub fn docs() -> Vec<sw_core::contract::CommandDoc> {
    Vec::new()
}

/// Default directory for state and outbox.
pub fn state_dir() -> PathBuf {
    Env::process().state_dir()
}

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    match cli.cmd {
        Cmd::Eval(a) => eval::run(&a, cli.common.pretty),
        Cmd::Notify(a) => notify::run(&a, cli.common.pretty),
        Cmd::DefaultRules => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out
                .write_all(rules::DEFAULT_RULES.as_bytes())
                .and_then(|()| out.flush())
            {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(sw_core::Error::io("writing stdout").with_source(e))
                }
                _ => Ok(()),
            }
        }
    }
}
