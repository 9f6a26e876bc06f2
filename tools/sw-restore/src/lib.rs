//! sw-restore: point-in-time restore from an sw backup repository.
//!
//! - `sw-restore --pgdata DIR --target-time T` (or `--target-lsn`,
//!   `--target-name`, `--immediate`, `--latest`): `restore` plans (picks
//!   the backup, checks the archived WAL and timeline reach the target
//!   before copying anything), extracts into an empty directory and
//!   configures recovery; `--start --port P` starts it, waits for the
//!   target and promotes.
//! - `wal-fetch %f %p` is the restore_command (`walfetch`).
//! - `drill` restores into a scratch directory, checks it, records the RTO.
//! - `activate` (disaster recovery, with its `audit` log) and `runbook`
//!   (Markdown from the repository and the drill log).
//!
//! `psql` runs SQL on a started copy; `docs` says what each command
//! promises (exit codes, record kinds) for the man pages and `schemas/`.
//!
//! `azure` is the same commands for an Azure Flexible Server (`--azure`,
//! or a `--server` naming a Flexible Server), plus `promote` of a read replica.

mod activate;
mod audit;
mod azure;
mod docs;
mod drill;
mod psql;
mod restore;
mod runbook;
mod walfetch;

use clap::{Parser, Subcommand};
use sw_core::cli::{CommonOpts, Tool};

pub use docs::docs;
pub use restore::RestoreArgs;

/// Point-in-time restore from an sw backup repository, WAL fetch, restore drills.
#[derive(Parser, Debug)]
#[command(name = "sw-restore", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(flatten)]
    pub restore: RestoreArgs,
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub azure_restore: azure::restore::AzureRestoreOpts,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

/// Subcommands (without one, sw-restore restores).
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Fetch one WAL file from the repository (the restore_command): 0 found, 1 absent, 126 corrupt or unreadable.
    WalFetch(walfetch::WalFetchArgs),
    /// Restore the newest backup (or a given time) into a scratch directory, start and check it, record the RTO, clean up.
    Drill(drill::DrillArgs),
    /// Disaster recovery: promote the standby or restore the newest backup (database_failure), or restore to just before the damage (data_corruption); updates the env file, prints a checklist, writes an audit log.
    Activate(activate::ActivateArgs),
    /// Write a Markdown recovery runbook from the repository state and the drill log (measured RTO and RPO).
    Runbook(runbook::RunbookArgs),
    /// Azure: promote a read replica (planned switchover or forced standalone) and wait for its role to change.
    Promote(azure::promote::PromoteArgs),
}

impl Tool for Cli {
    const NAME: &'static str = "sw-restore";
    fn common(&self) -> &CommonOpts {
        &self.common
    }
    /// `--repo` (and activate's `--port`) are not needed on the Azure path.
    fn adjust(cmd: clap::Command) -> clap::Command {
        use sw_core::azure::flexible::target::relax_for_azure;
        let cmd = relax_for_azure(cmd, Some("drill"), &[("repo", "(azure)")]);
        let cmd = relax_for_azure(cmd, Some("runbook"), &[("repo", "(azure)")]);
        relax_for_azure(cmd, Some("activate"), &[("repo", "(azure)"), ("port", "5432")])
    }
}

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    sw_core::cli::command::<Cli>()
}

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    let pretty = cli.common.pretty;
    match cli.cmd {
        Some(Cmd::Drill(a)) if a.azure.selected() => azure::drill::run(&a, pretty),
        Some(Cmd::Activate(a)) if a.azure.selected() => azure::activate::run(&a, pretty),
        Some(Cmd::Runbook(a)) if a.azure.selected() => azure::runbook::run(&a, &a.azure_runbook, pretty),
        Some(Cmd::Promote(a)) if a.azure.selected() => azure::promote::run(&a, pretty),
        Some(Cmd::Promote(_)) => Err(azure::promote::local()),
        None if cli.azure.selected() => azure::run_restore(&cli.restore, &cli.azure, &cli.azure_restore, pretty),
        Some(Cmd::WalFetch(a)) => walfetch::run(&a),
        Some(Cmd::Drill(a)) => drill::run(&a, pretty),
        Some(Cmd::Activate(a)) => activate::run(&a, pretty),
        Some(Cmd::Runbook(a)) => runbook::run(&a, pretty),
        None => restore::run(&cli.restore, pretty),
    }
}
