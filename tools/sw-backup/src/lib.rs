//! sw-backup: base backups and WAL archiving into a write-once repository
//! (see `sw_core::repo` for the layout).
//!
//! One module per subcommand, each holding its flags, its records and its
//! work: `setup` registers a cluster and writes its archive settings,
//! `walpush` is the archive_command, `full` takes a base backup (with
//! `basebackup` driving pg_basebackup and waiting for the WAL), `list`,
//! `verify` (with `continuity` for the WAL checks), `check` and `prune`
//! read and maintain the repository; `sync` (with `offsite`, the copying)
//! keeps a linked off-site repository up to date. `docs` says what each command
//! promises (exit codes, record kinds) for the man pages and `schemas/`.
//!
//! `azure` is the same commands for an Azure Flexible Server (`--azure`,
//! or a `--server` naming a Flexible Server), plus the Azure-only `delete` and
//! long-term retention (`ltr-check`, `ltr-start`, `ltr-list`).

mod azure;
mod basebackup;
mod check;
mod chunked;
mod chunker;
mod continuity;
mod docs;
mod full;
mod identity;
mod list;
mod offsite;
mod pagecheck;
mod progress;
mod prune;
mod rekey;
mod setup;
mod sweep;
mod sync;
mod verify;
mod verify_chunks;
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
    /// Copy what the off-site repository (setup --offsite) lacks: queued WAL, then backups, then any WAL the queue missed.
    Sync(sync::SyncArgs),
    /// Encrypted repository: add or remove a wrapping of the data key (a key file or passphrase); no data is rewritten.
    Rekey(rekey::RekeyArgs),
    /// Delete an on-demand backup of an Azure Flexible Server (local backups are removed by prune).
    Delete(azure::backups::DeleteArgs),
    /// Azure: check that a long-term retention backup can start now.
    LtrCheck(azure::ltr::LtrCheckArgs),
    /// Azure: start a long-term retention backup into a storage container (SAS URL read from a file) and wait for it.
    LtrStart(azure::ltr::LtrStartArgs),
    /// Azure: list the long-term retention backups.
    LtrList(azure::ltr::LtrListArgs),
}

impl Tool for Cli {
    const NAME: &'static str = "sw-backup";
    fn common(&self) -> &CommonOpts {
        &self.common
    }
    /// `full` runs pg_basebackup as the invoking user (the files it writes
    /// are handed to the repository's owner), so the shared `--os-user` of
    /// `ServerOpts` means nothing there: accepted, not documented.
    ///
    /// `--repo` is not needed on the Azure path (`--azure`).
    fn adjust(cmd: clap::Command) -> clap::Command {
        use sw_core::azure::flexible::target::relax_for_azure;
        let mut cmd = cmd.mut_subcommand("full", |c| c.mut_arg("os_user", |a| a.hide(true)));
        for sub in ["full", "list", "check", "verify"] {
            cmd = relax_for_azure(cmd, Some(sub), &[("repo", "(azure)")]);
        }
        cmd
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
        Cmd::Full(a) if a.azure.selected() => azure::backups::full(&a, pretty),
        Cmd::List(a) if a.azure.selected() => azure::backups::list(&a, pretty),
        Cmd::Check(a) if a.azure.selected() => azure::check::run(&a, pretty),
        Cmd::Verify(a) if a.azure.selected() => Err(azure::unsupported_verify(pretty)),
        Cmd::Delete(a) if a.azure.selected() => azure::backups::delete(&a, pretty),
        Cmd::Delete(_) => Err(azure::backups::delete_local()),
        Cmd::LtrCheck(a) => azure::ltr::check(&a, pretty),
        Cmd::LtrStart(a) => azure::ltr::start(&a, pretty),
        Cmd::LtrList(a) => azure::ltr::list(&a, pretty),
        Cmd::Setup(a) => setup::run(&a, pretty),
        Cmd::WalPush(a) => walpush::run(&a),
        Cmd::Full(a) => full::run(&a, pretty),
        Cmd::List(a) => list::run(&a, pretty),
        Cmd::Verify(a) => verify::run(&a, pretty),
        Cmd::Check(a) => check::run(&a, pretty),
        Cmd::Prune(a) => prune::run(&a, pretty),
        Cmd::Rekey(a) => rekey::run(&a, pretty),
        Cmd::Sync(a) => sync::run(&a, pretty),
    }
}
