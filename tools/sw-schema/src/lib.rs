//! sw-schema: versioned, reversible, lock-safe schema migrations for the
//! application, and its initial data.
//!
//! The migrations are numbered pairs of plain SQL files ([`files`]), split
//! into statements ([`sql`]) whose locks are read from the text
//! ([`analyze`], [`locks`]) and checked against the rules that keep a busy
//! table available ([`lint`]). [`store`] keeps the version table, the log
//! and the deployer lock; [`plan`] compares the directory with them;
//! [`apply`] runs one migration with its timeouts and retries; [`commands`]
//! is each subcommand; [`seed`] the administrator and demo data; every
//! record printed is a type in [`records`].

pub mod analyze;
pub mod apply;
pub mod commands;
pub mod files;
pub mod lint;
pub mod locks;
pub mod plan;
pub mod records;
pub mod seed;
pub mod sql;
pub mod store;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use sw_core::Exit;
use sw_core::cli::{CommonOpts, PgOpts, Tool};
use sw_core::contract::{ALWAYS, CONNECTS, CommandDoc};

/// The program's name.
pub const NAME: &str = "sw-schema";

/// Versioned, reversible, lock-safe schema migrations for the application,
/// and its initial data.
///
/// Migrations are NNNN_name.up.sql / NNNN_name.down.sql pairs in --dir. Each
/// runs in its own transaction (unless its first line is
/// `-- sw:no-transaction`) with lock_timeout and statement_timeout set and
/// bounded retries when a lock is not granted; a session advisory lock,
/// taken by polling, keeps two deployers from running at once without
/// blocking CREATE INDEX CONCURRENTLY; both files' checksums are recorded
/// and a changed applied file stops `up`; `up` lints what it is about to
/// run and refuses unacknowledged dangerous operations.
#[derive(Parser, Debug)]
#[command(name = "sw-schema", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Where the migrations are.
#[derive(Args, Debug, Clone)]
pub struct DirOpts {
    /// The migrations directory.
    #[arg(long, value_name = "DIR", env = "SW_SCHEMA_DIR", default_value = "migrations")]
    pub dir: PathBuf,
}

/// Where the version table is.
#[derive(Args, Debug, Clone)]
pub struct SchemaOpts {
    /// Schema of the version table (sw_schema_migrations) and its log; also
    /// the migrations' search_path. The deployer lock is per database and schema.
    #[arg(long, value_name = "NAME", default_value = "public")]
    pub schema: String,
}

/// How migrations run.
#[derive(Args, Debug, Clone)]
pub struct RunOpts {
    /// Print each migration's SQL and the locks each statement takes; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run even when the lint finds unacknowledged dangerous operations.
    #[arg(long)]
    pub allow_lint: bool,
    /// How long to wait for another deployer's lock before exiting 75.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub lock_wait: Duration,
    /// lock_timeout for CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY (0 = none:
    /// cutting their waits for old snapshots leaves an INVALID index).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = sw_core::duration::parse)]
    pub index_lock_timeout: Duration,
    /// statement_timeout for those concurrent statements (0 = none).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = sw_core::duration::parse)]
    pub index_statement_timeout: Duration,
    /// Retries of a migration (or of a no-transaction statement) whose lock was not granted within lock_timeout.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub lock_retries: u32,
    /// Pause before the first retry; doubled for each next one (at most 30s), plus up to 25% jitter.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub retry_delay: Duration,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Apply pending migrations (all, or up to --to); resume a no-transaction one that stopped part-way.
    Up(UpArgs),
    /// Revert applied migrations with their down files (one by default).
    Down(DownArgs),
    /// Where the database stands: current version, pending, changed, missing, failed (exit 65 unless consistent).
    Status(StatusArgs),
    /// The log: every apply, revert, failure, retry and repair, with who ran it.
    History(HistoryArgs),
    /// Create the next migration pair (NNNN_NAME.up.sql, NNNN_NAME.down.sql).
    New(NewArgs),
    /// Check every migration for operations that block a busy table (exit 65 on unacknowledged findings).
    Lint(LintArgs),
    /// Re-stamp an applied migration's checksums to its files now, recorded with who and why.
    Repair(RepairArgs),
    /// Create the administrator (password to a 0600 file only) and, with --demo, three demo VPN servers.
    Seed(SeedArgs),
}

/// Flags of `up`.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// Apply up to and including this version.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,
    #[command(flatten)]
    pub run: RunOpts,
    #[command(flatten)]
    pub dir: DirOpts,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub pg: PgOpts,
}

/// Flags of `down`.
#[derive(Args, Debug)]
pub struct DownArgs {
    /// Revert this many of the latest applied migrations.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "to", value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: u32,
    /// Revert every migration above this version (0: all of them).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,
    #[command(flatten)]
    pub run: RunOpts,
    #[command(flatten)]
    pub dir: DirOpts,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub pg: PgOpts,
}

/// Flags of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub dir: DirOpts,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub pg: PgOpts,
}

/// Flags of `history`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub pg: PgOpts,
}

/// Flags of `new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// What the migration does, e.g. add_sessions_index (becomes the file name).
    pub name: String,
    #[command(flatten)]
    pub dir: DirOpts,
}

/// Flags of `lint`.
#[derive(Args, Debug)]
pub struct LintArgs {
    #[command(flatten)]
    pub dir: DirOpts,
    /// The lock_timeout migrations will run with (as `up --lock-timeout`); 0 makes every locking statement a finding.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = sw_core::duration::parse)]
    pub lock_timeout: Duration,
}

/// Flags of `repair`.
#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The applied migration to re-stamp.
    #[arg(long = "version", value_name = "VERSION")]
    pub target: i64,
    /// Why the applied file was changed (recorded in the log).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub dir: DirOpts,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub pg: PgOpts,
}

/// Flags of `seed`.
#[derive(Args, Debug)]
pub struct SeedArgs {
    /// The administrator's email (matched without case).
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: String,
    /// Where the new administrator's password is written (mode 0600), the only place it ever goes.
    #[arg(long, value_name = "FILE")]
    pub password_file: PathBuf,
    /// Also create the three demo VPN servers (US East, EU West, Asia Southeast).
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub pg: PgOpts,
}

impl Tool for Cli {
    const NAME: &'static str = NAME;
    fn common(&self) -> &CommonOpts {
        &self.common
    }
    /// Migrations wait for a lock at most 2 s by default (the shared flag's
    /// 10 s would let an ALTER TABLE queue the application's queries that long).
    fn adjust(cmd: clap::Command) -> clap::Command {
        let mut cmd = cmd;
        for sub in ["up", "down", "status", "history", "repair", "seed"] {
            cmd = cmd.mut_subcommand(sub, |s| {
                s.mut_arg("lock_timeout", |a| {
                    a.default_value("2s")
                        .help("lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)")
                })
            });
        }
        cmd
    }
}

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    sw_core::cli::command::<Cli>()
}

fn doc(name: &str) -> CommandDoc {
    CommandDoc::new(name).exits(ALWAYS)
}

/// What each command promises: its exit codes and the record kinds it
/// prints (man pages' EXIT STATUS and JSON OUTPUT, and `schemas/`).
pub fn docs() -> Vec<CommandDoc> {
    use records::{HistoryRecord, MigrationRecord, NewRecord, RepairRecord, SeedRecord, StatusRecord, Summary};
    let files = |d: CommandDoc| {
        d.exit(
            65,
            "a migration file is malformed, an applied one changed or is missing, or a migration statement failed",
        )
        .exit(66, "the migrations directory does not exist")
        .exit(74, "a migration file cannot be read")
    };
    let runs = |d: CommandDoc| {
        files(d.exits(CONNECTS))
            .exit(65, "an applied migration changed or is missing, one is out of order, a no-transaction one stopped part-way with an INVALID index, the lint found unacknowledged dangerous operations, or a migration statement failed")
            .exit(75, "another deployer held the lock past --lock-wait, a lock was not granted within lock_timeout after --lock-retries, a statement timed out, or interrupted")
            .record::<MigrationRecord>()
            .record::<lint::Finding>()
            .record::<Summary>()
    };
    vec![
        doc("sw-schema"),
        runs(doc("sw-schema up")),
        runs(doc("sw-schema down")).exit(65, "a migration to revert has no down file, an applied one changed, the lint found unacknowledged operations, or a statement failed"),
        files(doc("sw-schema status").exits(CONNECTS))
            .exit(65, "the database does not match the directory: an applied file changed or is missing, a pending one is out of order, or a no-transaction migration stopped part-way (pending ones alone exit 0)")
            .record::<StatusRecord>(),
        doc("sw-schema history").exits(CONNECTS).record::<HistoryRecord>(),
        files(doc("sw-schema new"))
            .exit(73, "a file of that number already exists")
            .exit(Exit::NoPerm.code(), "the directory is not writable")
            .record::<NewRecord>(),
        files(doc("sw-schema lint"))
            .exit(65, "a migration file is malformed, or the lint found unacknowledged dangerous operations")
            .record::<lint::Finding>()
            .record::<Summary>(),
        files(doc("sw-schema repair").exits(CONNECTS))
            .exit(65, "the version is not applied, or its file is missing")
            .exit(75, "another deployer held the lock past 60s, or interrupted")
            .record::<RepairRecord>(),
        doc("sw-schema seed")
            .exits(CONNECTS)
            .exit(65, "the application's tables are not there (run sw-schema up first)")
            .exit(73, "the password file cannot be created (nothing is created then)")
            .exit(74, "the password file cannot be written (nothing is created then)")
            .record::<SeedRecord>(),
    ]
}

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    let mut out = sw_core::output::Output::stdout(cli.common.pretty);
    let r = match &cli.cmd {
        Cmd::New(a) => commands::new(a, &mut out),
        Cmd::Lint(a) => commands::lint(a, &mut out),
        Cmd::Up(a) => sw_core::cli::block_on(commands::up(a, &mut out)),
        Cmd::Down(a) => sw_core::cli::block_on(commands::down(a, &mut out)),
        Cmd::Status(a) => sw_core::cli::block_on(commands::status(a, &mut out)),
        Cmd::History(a) => sw_core::cli::block_on(commands::history(a, &mut out)),
        Cmd::Repair(a) => sw_core::cli::block_on(commands::repair(a, &mut out)),
        Cmd::Seed(a) => sw_core::cli::block_on(commands::seed(a, &mut out)),
    };
    out.flush()?;
    r
}
