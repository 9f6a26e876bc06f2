//! sw-vacuum: targeted VACUUM, ANALYZE and REINDEX that never blocks
//! production. It plans from one catalog snapshot per database
//! ([`snapshot`]), ranks with a pure function ([`plan`]) and runs the plan
//! with short lock timeouts, SKIP_LOCKED, a time budget, guards and
//! cancellation of its own statements on SIGTERM ([`exec`]).

pub mod exec;
mod float;
pub mod pattern;
pub mod plan;
pub mod snapshot;
pub mod state;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser};
use sw_core::cli::{CommonOpts, PgOpts, Tool};
use sw_core::{Error, Result};

/// Connection flags (sw's usual ones, with a 1 s lock timeout by default).
#[derive(Args, Debug, Clone)]
pub struct ConnOpts {
    /// Target database: a postgresql:// URI or key=value conninfo. Prefer
    /// --env-file or DATABASE_URL for targets with passwords (argv is visible to other users).
    #[arg(long, value_name = "URI|CONNINFO")]
    pub db: Option<String>,
    /// Read DATABASE_URL from this env file (KEY=value lines).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Give up connecting after this long (unless the target sets connect_timeout).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse)]
    pub connect_timeout: Duration,
    /// lock_timeout for every statement: the longest any lock wait may take.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = sw_core::duration::parse)]
    pub lock_timeout: Duration,
    /// application_name for the sessions (default: sw-vacuum).
    #[arg(long, value_name = "NAME")]
    pub application_name: Option<String>,
}

impl ConnOpts {
    /// The shared flag group with our statement timeout (0 = none: the
    /// time budget sets one per statement).
    pub fn pg(&self, statement_timeout: Duration) -> PgOpts {
        PgOpts {
            db: self.db.clone(),
            env_file: self.env_file.clone(),
            connect_timeout: self.connect_timeout,
            statement_timeout,
            lock_timeout: self.lock_timeout,
            application_name: self.application_name.clone(),
        }
    }
}

/// Plan and run VACUUM, ANALYZE and REINDEX CONCURRENTLY where they are
/// needed most, without ever blocking the application.
///
/// Ranks tables by wraparound urgency, then dead tuples, then stale or
/// missing statistics, then index bloat; never waits in a lock queue
/// (SKIP_LOCKED, a conflicting-lock check, lock_timeout) and cancels its own
/// statement when a session queues behind its lock; never runs VACUUM
/// FULL unless a table is named with --vacuum-full. Prints vacuum.plan
/// records with --dry-run, else one vacuum.table record per action and a
/// summary.
#[derive(Parser, Debug)]
#[command(name = "sw-vacuum", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(flatten)]
    pub conn: ConnOpts,
    /// Print the ranked plan (vacuum.plan records) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Databases to process (glob, repeatable; default: the target's database).
    #[arg(long = "database", value_name = "PATTERN")]
    pub databases: Vec<String>,
    /// Databases to leave alone (glob, repeatable).
    #[arg(long = "exclude-database", value_name = "PATTERN")]
    pub exclude_databases: Vec<String>,
    /// Tables to consider: glob on TABLE or SCHEMA.TABLE (repeatable; default: all).
    #[arg(long = "table", value_name = "PATTERN")]
    pub tables: Vec<String>,
    /// Tables to leave alone: glob on TABLE or SCHEMA.TABLE (repeatable).
    #[arg(long = "exclude-table", value_name = "PATTERN")]
    pub exclude_tables: Vec<String>,
    /// Parallel jobs (one connection each), across tables.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Stop starting work that will not fit in this window (judged from size and
    /// past runs) and cancel what is still running when it ends.
    #[arg(long, value_name = "DURATION", value_parser = sw_core::duration::parse)]
    pub time_budget: Option<Duration>,
    /// Where past durations are kept (default $XDG_STATE_HOME/sw/vacuum-state.json,
    /// else /var/lib/sw/vacuum-state.json as root, else ~/.local/state/sw/vacuum-state.json).
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// vacuum_cost_delay for our sessions (0 = unthrottled, PostgreSQL's manual default; max 100ms).
    #[arg(long, value_name = "DURATION", default_value = "0ms", value_parser = sw_core::duration::parse)]
    pub cost_delay: Duration,
    /// vacuum_cost_limit for our sessions.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub cost_limit: u32,
    /// Pause while a standby's replay lag is above this.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = sw_core::duration::parse)]
    pub max_replication_lag: Duration,
    /// Pause while client connections use more than this percentage of the usable slots.
    #[arg(long, value_name = "PERCENT", default_value_t = 90.0)]
    pub max_connection_use: f64,
    /// Give up on the remaining work after pausing this long in total for the guards.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = sw_core::duration::parse)]
    pub max_pause: Duration,
    /// How often to re-check the guards while paused.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = sw_core::duration::parse)]
    pub guard_interval: Duration,
    /// Wraparound-urgent (VACUUM FREEZE, ranked first) at this fraction of
    /// autovacuum_freeze_max_age or autovacuum_multixact_freeze_max_age.
    #[arg(long, value_name = "RATIO", default_value_t = 0.8)]
    pub freeze_ratio: f64,
    /// Also wraparound-urgent at this transaction-id age or more.
    #[arg(long, value_name = "XIDS")]
    pub freeze_age: Option<i64>,
    /// VACUUM a table with at least this many dead tuples...
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub min_dead_tuples: i64,
    /// ...making up at least this fraction of its tuples.
    #[arg(long, value_name = "RATIO", default_value_t = 0.1)]
    pub min_dead_ratio: f64,
    /// ANALYZE when more than 50 + RATIO x rows were modified since the last analyze.
    #[arg(long, value_name = "RATIO", default_value_t = 0.1)]
    pub analyze_ratio: f64,
    /// REINDEX a btree index whose estimated bloat is at least this fraction...
    #[arg(long, value_name = "RATIO", default_value_t = 0.5)]
    pub index_bloat_ratio: f64,
    /// ...and that is at least this many MiB (smaller estimates are unreliable).
    #[arg(long, value_name = "MIB", default_value_t = 8)]
    pub min_index_mb: i64,
    /// Never REINDEX or drop invalid indexes.
    #[arg(long)]
    pub no_reindex: bool,
    /// BUFFER_USAGE_LIMIT for VACUUM and ANALYZE, e.g. 256MB (PostgreSQL 16 and later;
    /// ignored with a warning on older servers).
    #[arg(long, value_name = "SIZE")]
    pub buffer_usage_limit: Option<String>,
    /// Run VACUUM FULL on this table (SCHEMA.TABLE, repeatable). Never done otherwise.
    #[arg(long, value_name = "SCHEMA.TABLE")]
    pub vacuum_full: Vec<String>,
}

impl Tool for Cli {
    const NAME: &'static str = "sw-vacuum";
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

fn ratio(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::usage(format!("{name} must be between 0 and 1, got {v}")))
    }
}

fn validate(cli: &Cli) -> Result<()> {
    ratio("--freeze-ratio", cli.freeze_ratio)?;
    ratio("--min-dead-ratio", cli.min_dead_ratio)?;
    ratio("--analyze-ratio", cli.analyze_ratio)?;
    ratio("--index-bloat-ratio", cli.index_bloat_ratio)?;
    if !(cli.max_connection_use.is_finite() && (0.0..=100.0).contains(&cli.max_connection_use)) {
        return Err(Error::usage(
            "--max-connection-use must be a percentage between 0 and 100",
        ));
    }
    if cli.cost_delay > Duration::from_millis(100) {
        return Err(Error::usage("--cost-delay must be at most 100ms (PostgreSQL's limit)"));
    }
    if cli.time_budget.is_some_and(|b| b.is_zero()) {
        return Err(Error::usage("--time-budget must be more than 0"));
    }
    // 0 would switch lock_timeout off: REINDEX CONCURRENTLY, DROP INDEX
    // CONCURRENTLY and the size reads could then wait in a lock queue forever.
    if cli.conn.lock_timeout.is_zero() {
        return Err(Error::usage(
            "--lock-timeout must be more than 0 (0 would let a lock wait last forever)",
        ));
    }
    if cli.guard_interval.is_zero() {
        return Err(Error::usage("--guard-interval must be more than 0"));
    }
    if cli.min_dead_tuples < 0 || cli.min_index_mb < 0 || cli.freeze_age.is_some_and(|a| a < 0) {
        return Err(Error::usage("counts and sizes must not be negative"));
    }
    if let Some(b) = &cli.buffer_usage_limit {
        let digits = b.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &b[digits.len()..];
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !["", "kB", "MB", "GB"].contains(&unit) {
            return Err(Error::usage(format!(
                "--buffer-usage-limit takes a size such as 256MB (units kB, MB, GB), got {b:?}"
            )));
        }
    }
    for t in &cli.vacuum_full {
        if t.split('.').count() != 2 || t.split('.').any(str::is_empty) {
            return Err(Error::usage(format!(
                "--vacuum-full takes SCHEMA.TABLE (exact names), got {t:?}"
            )));
        }
    }
    Ok(())
}

/// Run the tool.
pub fn run(cli: Cli) -> Result<()> {
    validate(&cli)?;
    exec::main(cli)
}
