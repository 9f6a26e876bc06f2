//! sw-provision: deploy PostgreSQL secure by default.
//!
//! - `local` (the default): a cluster in a directory: initdb with checksums
//!   and SCRAM, parameters tuned from the host (`tune`), TLS with a
//!   generated CA (`certs`), `pg_hba` admitting only TLS + SCRAM from
//!   listed networks, an application role and database with a generated
//!   password, and an env file (0600) with the connection strings.
//!   Re-running converges: it changes only what differs. `status` and
//!   `destroy` inspect or remove such a cluster.
//! - `replica`: a streaming standby of such a primary (or of any URL).
//! - `azure`: the same for an Azure Flexible Server, through ARM.
//!
//! `approle` is the application role, database and env file both `local`
//! and `azure` make; `docs` holds each command's exit codes and record
//! kinds; `psql` runs SQL as the cluster's superuser.

mod approle;
mod azure;
mod certs;
mod docs;
mod local;
pub mod pooler;
mod psql;
mod replica;
mod session;
mod tune;

use clap::{Parser, Subcommand};
use sw_core::cli::{CommonOpts, Tool};

pub use local::{DestroyArgs, LocalArgs, StatusArgs};
pub use replica::ReplicaArgs;

/// Provision PostgreSQL (a local cluster or an Azure Flexible Server) and
/// write its connection strings to an env file.
///
/// Without a subcommand it runs `local` with the flags given.
#[derive(Parser, Debug)]
#[command(name = "sw-provision", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    /// `local`, the default.
    #[command(flatten)]
    pub local: Box<LocalArgs>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create or converge a local cluster in --dir (TLS, SCRAM, tuned, app role + database, env file).
    Local(Box<LocalArgs>),
    /// Report whether the local cluster in --dir exists and runs.
    Status(StatusArgs),
    /// Stop the local cluster in --dir and delete it (needs --yes).
    Destroy(DestroyArgs),
    /// Make a streaming standby of a primary (base backup, slot, standby settings) in --dir.
    Replica(Box<ReplicaArgs>),
    /// Create or converge an Azure Flexible Server; `azure replica|status|delete`.
    Azure(Box<azure::AzureCmd>),
}

impl Tool for Cli {
    const NAME: &'static str = "sw-provision";
    fn common(&self) -> &CommonOpts {
        &self.common
    }
}

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    sw_core::cli::command::<Cli>()
}

pub use docs::docs;

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    let pretty = cli.common.pretty;
    match cli.cmd {
        None => local::run(&cli.local, pretty),
        Some(Cmd::Local(a)) => local::run(&a, pretty),
        Some(Cmd::Status(a)) => local::status(&a, pretty),
        Some(Cmd::Destroy(a)) => local::destroy(&a, pretty),
        Some(Cmd::Replica(a)) => replica::run(&a, pretty),
        Some(Cmd::Azure(a)) => azure::run(*a, pretty),
    }
}
