//! sw-alerts: stateful alerting on sw-health reports.
//!
//! `sw-alerts eval` ([`eval`]) turns `health.report` records into `alert`
//! records ([`alert`]), only on transitions and repeats, keeping per-alert
//! state in a file; the rules come from a TOML file ([`rules`]) and
//! silences hold notifications back ([`silence`]). `sw-alerts notify`
//! ([`notify`]) delivers alerts to webhooks (Alertmanager v4 payload),
//! Slack, Teams, email ([`smtp`]) or a command, through a durable outbox.
//! `sw-alerts prometheus-rules` ([`prometheus_rules`]) renders the same rule
//! pack as Prometheus alerting rules over sw-health's exporter metrics, and
//! `sw-alerts azure-apply` ([`azure`]) as Azure Monitor metric alerts of a
//! Flexible Server.

pub mod alert;
pub mod azure;
pub mod eval;
pub mod notify;
pub mod prometheus_rules;
pub mod rules;
pub mod silence;
pub mod smtp;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sw_core::Exit;
use sw_core::cli::{CommonOpts, Tool};
use sw_core::config::Env;
use sw_core::contract::{ALWAYS, CommandDoc};

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
    /// Print the rule pack (--rules, or the default one) as Prometheus alerting rules over sw-health's exporter metrics.
    PrometheusRules(prometheus_rules::PromRulesArgs),
    /// Set up Azure Monitor for a Flexible Server from the rule pack: a Log Analytics workspace, an action group and a metric alert per rule a server metric can express; sends only what differs.
    AzureApply(Box<azure::AzureApplyArgs>),
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
pub fn docs() -> Vec<CommandDoc> {
    use Exit::{CantCreat, Config, DataErr, IoErr, NoInput, NoPerm};
    let files = &[DataErr, NoInput, CantCreat, IoErr, NoPerm, Config];
    let eval = CommandDoc::new("sw-alerts eval")
        .exits(ALWAYS)
        .exits(files)
        .exit(
            65,
            "stdin is not health.report records (the line is named), or the state file is not valid",
        )
        .exit(66, "the rule file or the silences file does not exist")
        .exit(73, "the state file is a symlink (it is never written through one)")
        .exit(
            74,
            "reading stdin or a file, or writing stdout or the state file, failed",
        )
        .exit(75, "another eval holds this state file's lock; or interrupted")
        .exit(
            77,
            "permission denied on the silences file, the state file or their directories",
        )
        .exit(78, "bad rule file or silences file")
        .record::<alert::Alert>();
    let notify = CommandDoc::new("sw-alerts notify")
        .exits(ALWAYS)
        .exits(files)
        .exit(0, "success: everything queued in the outbox was delivered")
        .exit(
            64,
            "usage error: bad flags, no channel, a URL that is not http(s), SMTP set by flags and --config",
        )
        .exit(
            65,
            "stdin is not alert records (the line is named); or a receiver rejected a payload (HTTP 400, 413, 422), moved to the outbox's rejected/ folder, and everything else was delivered",
        )
        .exit(66, "a file named by --config, @FILE, --webhook-ca or --smtp-credentials does not exist")
        .exit(73, "an outbox entry could not be created")
        .exit(
            75,
            "something stays in the outbox for the next run (a channel was down), or another notify holds the outbox's lock; or interrupted",
        )
        .exit(77, "permission denied on the outbox or a file it reads")
        .exit(
            78,
            "bad --config file, credentials file without SMTP_USER and SMTP_PASSWORD, or a --webhook-ca without a certificate",
        )
        .record::<notify::AlertDelivery>();
    let default_rules = CommandDoc::new("sw-alerts default-rules")
        .exits(ALWAYS)
        .exits(&[IoErr])
        .exit(0, "success")
        .exit(74, "writing stdout failed");
    let prometheus_rules = CommandDoc::new("sw-alerts prometheus-rules")
        .exits(ALWAYS)
        .exits(&[NoInput, IoErr, Config])
        .exit(0, "success: the rules were printed")
        .exit(66, "the rule file does not exist")
        .exit(74, "reading the rule file or writing stdout failed")
        .exit(
            78,
            "bad rule file, or a rule Prometheus cannot express (a value rule on a check outside sw-health's catalogue, a threshold that is not finite, a label name Prometheus does not allow)",
        );
    let azure_apply = CommandDoc::new("sw-alerts azure-apply")
        .exits(ALWAYS)
        .exits(&[NoInput, IoErr, NoPerm, Config])
        .exit(
            0,
            "success: every resource is as the rule pack wants it (or, with --dry-run, the requests were printed)",
        )
        .exit(
            64,
            "usage error: bad flags, no --email or --webhook receiver, a webhook that is not https",
        )
        .exit(66, "the rule file or the server does not exist")
        .exit(65, "Azure rejected a request (its error code and message on stderr)")
        .exit(69, "the Resource Manager cannot be reached, or an operation failed")
        .exit(
            75,
            "throttled or unavailable after retries, or an operation took longer than --operation-timeout",
        )
        .exit(77, "the credential may not read or write these resources")
        .exit(78, "bad rule file, no valid subscription id, or incomplete credentials")
        .record::<sw_core::azure::flexible::ops::AzureRequest>()
        .record::<azure::AzureResource>()
        .record::<azure::AzureUnmapped>()
        .record::<azure::AzureDrift>();
    let tool = CommandDoc::new("sw-alerts")
        .exits(ALWAYS)
        .exits(files)
        .exit(
            65,
            "bad input records (eval, notify), or a payload a receiver rejected (notify)",
        )
        .exit(
            75,
            "a lock is held, or notifications stay in the outbox (notify); or interrupted",
        )
        .record::<alert::Alert>()
        .record::<notify::AlertDelivery>();
    vec![tool, eval, notify, default_rules, prometheus_rules, azure_apply]
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
        Cmd::DefaultRules => rules::print_default(),
        Cmd::PrometheusRules(a) => prometheus_rules::run(&a),
        Cmd::AzureApply(a) => azure::run(&a, cli.common.pretty),
    }
}
