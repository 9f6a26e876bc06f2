//! sw-health: check a PostgreSQL server. `ping` proves the whole shape of
//! an sw tool: resolve the target, connect (TLS per sslmode), measure, print
//! one JSON record, exit with the monitoring convention (0 up, 2 down).

mod ping;

use clap::{Parser, Subcommand};
use sw_core::cli::{CommonOpts, Tool};

pub use ping::PingArgs;

/// Check a PostgreSQL server and print the result as JSON.
#[derive(Parser, Debug)]
#[command(name = "sw-health", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Connect once and report server version, TLS, connect time and round-trip latency.
    Ping(PingArgs),
}

impl Tool for Cli {
    const NAME: &'static str = "sw-health";
    fn common(&self) -> &CommonOpts {
        &self.common
    }
}

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    match cli.cmd {
        Cmd::Ping(args) => ping::run(&args, cli.common.pretty),
    }
}
