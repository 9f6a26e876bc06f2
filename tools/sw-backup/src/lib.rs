//! sw-backup: base backups and WAL archiving into a write-once repository
//! (see `sw_core::repo` for the layout).
//!
//! One module per subcommand, each holding its flags, its records and its
//! work: `setup` registers a cluster and writes its archive settings,
//! `walpush` is the archive_command, `full` takes a base backup (with
//! `basebackup` driving pg_basebackup and waiting for the WAL), `list`,
//! `verify` (with `continuity` for the WAL checks), `check` and `prune`
//! read and maintain the repository. `docs` says what each command
//! promises (exit codes, record kinds) for the man pages and `schemas/`.

mod basebackup;
mod check;
mod continuity;
mod docs;
mod full;
mod identity;
mod list;
mod prune;
mod setup;
mod verify;
mod walpush;

use clap::{Parser, Subcommand};
use sw_core::cli::{CommonOpts, Tool};

pub use docs::docs;

/// Base backups and WAL archiving into a verified, write-once repository.
#[derive(Parser, Debug)]
#[command(name = "sw-backup", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Register a local cluster in the repository and write its archive settings (archive_mode, archive_command, wal_level).
    Setup(setup::SetupArgs),
    /// Archive one WAL file (the archive_command): checked, compressed, hashed, durable before exit 0.
    WalPush(walpush::WalPushArgs),
    /// Take a full base backup of a running cluster; complete only once the WAL it needs is stored.
    Full(full::FullArgs),
    /// One record per complete backup with the restorable window it gives.
    List(list::ListArgs),
    /// Re-hash every stored object and check WAL continuity; non-zero on any problem.
    Verify(verify::VerifyArgs),
    /// Monitoring check of archiving and backups (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Check(check::CheckArgs),
    /// Remove backups and WAL outside the retention window (pinned backups and history files are kept).
    Prune(prune::PruneArgs),
}

impl Tool for Cli {
    const NAME: &'static str = "sw-backup";
    fn common(&self) -> &CommonOpts {
        &self.common
    }
    /// `full` runs pg_basebackup as the invoking user (the files it writes
    /// are handed to the repository's owner), so the shared `--os-user` of
    /// `ServerOpts` means nothing there: accepted, not documented.
    fn adjust(cmd: clap::Command) -> clap::Command {
        cmd.mut_subcommand("full", |c| c.mut_arg("os_user", |a| a.hide(true)))
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
        Cmd::Setup(a) => setup::run(&a, pretty),
        Cmd::WalPush(a) => walpush::run(&a),
        Cmd::Full(a) => full::run(&a, pretty),
        Cmd::List(a) => list::run(&a, pretty),
        Cmd::Verify(a) => verify::run(&a, pretty),
        Cmd::Check(a) => check::run(&a, pretty),
        Cmd::Prune(a) => prune::run(&a, pretty),
    }
}
