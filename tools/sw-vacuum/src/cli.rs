//! The command line: every flag, sw-vacuum's own defaults for the shared
//! connection flags, and the checks clap cannot express (ratios, limits,
//! the forms of --buffer-usage-limit and --vacuum-full), all before any
//! connection is made.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sw_core::cli::{CommonOpts, PgOpts, Tool};
use sw_core::{Error, Result};

use crate::plan::Policy;

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
    /// The shared connection flags, with sw-vacuum's defaults ([`Cli::adjust`]).
    #[command(flatten)]
    pub pg: PgOpts,
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

    /// sw-vacuum's defaults for the shared connection flags:
    /// - `--lock-timeout` 1s (not 10s): it bounds every lock wait of every
    ///   statement, and sw-vacuum would rather skip a table than wait;
    /// - `--statement-timeout` hidden and 0 (none): each statement instead
    ///   gets the time left of `--time-budget` ([`Cli::validate`] rejects
    ///   any other value, so the flag never silently does nothing; the
    ///   completions, which list hidden flags, say so);
    /// - the help of `--lock-timeout` and `--application-name` says what
    ///   they mean here (every statement, several sessions).
    fn adjust(cmd: clap::Command) -> clap::Command {
        cmd.mut_arg("lock_timeout", |a| {
            a.default_value("1s")
                .help("lock_timeout for every statement: the longest any lock wait may take")
        })
        .mut_arg("statement_timeout", |a| {
            a.default_value("0s")
                .hide(true)
                .help("not taken (0 only): each statement may run until --time-budget ends")
        })
        .mut_arg("application_name", |a| {
            a.help("application_name for the sessions (default: sw-vacuum)")
        })
    }
}

fn ratio(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::usage(format!("{name} must be between 0 and 1, got {v}")))
    }
}

/// `--buffer-usage-limit`: digits and one of PostgreSQL's size units.
fn buffer_usage_limit(b: &str) -> Result<()> {
    let digits = b.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &b[digits.len()..];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !["", "kB", "MB", "GB"].contains(&unit) {
        return Err(Error::usage(format!(
            "--buffer-usage-limit takes a size such as 256MB (units kB, MB, GB), got {b:?}"
        )));
    }
    Ok(())
}

impl Cli {
    /// Check what clap cannot.
    ///
    /// # Errors
    /// 64 for a value out of range or of the wrong form.
    pub fn validate(&self) -> Result<()> {
        ratio("--freeze-ratio", self.freeze_ratio)?;
        ratio("--min-dead-ratio", self.min_dead_ratio)?;
        ratio("--analyze-ratio", self.analyze_ratio)?;
        ratio("--index-bloat-ratio", self.index_bloat_ratio)?;
        if !(self.max_connection_use.is_finite() && (0.0..=100.0).contains(&self.max_connection_use)) {
            return Err(Error::usage(
                "--max-connection-use must be a percentage between 0 and 100",
            ));
        }
        if self.cost_delay > Duration::from_millis(100) {
            return Err(Error::usage("--cost-delay must be at most 100ms (PostgreSQL's limit)"));
        }
        if self.time_budget.is_some_and(|b| b.is_zero()) {
            return Err(Error::usage("--time-budget must be more than 0"));
        }
        self.validate_timeouts()?;
        if self.min_dead_tuples < 0 || self.min_index_mb < 0 || self.freeze_age.is_some_and(|a| a < 0) {
            return Err(Error::usage("counts and sizes must not be negative"));
        }
        if let Some(b) = &self.buffer_usage_limit {
            buffer_usage_limit(b)?;
        }
        for t in &self.vacuum_full {
            if t.split('.').count() != 2 || t.split('.').any(str::is_empty) {
                return Err(Error::usage(format!(
                    "--vacuum-full takes SCHEMA.TABLE (exact names), got {t:?}"
                )));
            }
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<()> {
        // 0 would switch lock_timeout off: REINDEX CONCURRENTLY, DROP INDEX
        // CONCURRENTLY and the size reads could then wait in a lock queue forever.
        if self.pg.lock_timeout.is_zero() {
            return Err(Error::usage(
                "--lock-timeout must be more than 0 (0 would let a lock wait last forever)",
            ));
        }
        if !self.pg.statement_timeout.is_zero() {
            return Err(Error::usage(
                "--statement-timeout does not apply to sw-vacuum: each statement may run until --time-budget ends",
            ));
        }
        if self.guard_interval.is_zero() {
            return Err(Error::usage("--guard-interval must be more than 0"));
        }
        Ok(())
    }

    /// The planner's thresholds and choices.
    pub fn policy(&self) -> Policy {
        Policy {
            freeze_ratio: self.freeze_ratio,
            freeze_age: self.freeze_age,
            min_dead_tuples: self.min_dead_tuples,
            min_dead_ratio: self.min_dead_ratio,
            analyze_ratio: self.analyze_ratio,
            index_bloat_ratio: self.index_bloat_ratio,
            min_index_bytes: self.min_index_mb.saturating_mul(1 << 20),
            vacuum_full: self.vacuum_full.clone(),
            reindex: !self.no_reindex,
            buffer_usage_limit: self.buffer_usage_limit.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::FromArgMatches;

    fn parse(args: &[&str]) -> Cli {
        let argv = std::iter::once("sw-vacuum").chain(args.iter().copied());
        let mut m = crate::command().try_get_matches_from(argv).unwrap();
        Cli::from_arg_matches_mut(&mut m).unwrap()
    }

    #[test]
    fn the_connection_flags_keep_sw_vacuums_defaults() {
        let cli = parse(&[]);
        assert_eq!(cli.pg.lock_timeout, Duration::from_secs(1));
        assert_eq!(cli.pg.statement_timeout, Duration::ZERO);
        assert_eq!(cli.pg.connect_timeout, Duration::from_secs(10));
        assert_eq!(
            (cli.pg.db, cli.pg.env_file, cli.pg.application_name),
            (None, None, None)
        );
        assert!(parse(&[]).validate().is_ok());
    }

    #[test]
    fn every_connection_flag_is_taken() {
        let cli = parse(&[
            "--db",
            "postgresql://h/app",
            "--env-file",
            "/etc/app/db.env",
            "--connect-timeout",
            "3s",
            "--lock-timeout",
            "250ms",
            "--application-name",
            "nightly",
        ]);
        assert_eq!(cli.pg.db.as_deref(), Some("postgresql://h/app"));
        assert_eq!(cli.pg.env_file, Some(PathBuf::from("/etc/app/db.env")));
        assert_eq!(cli.pg.connect_timeout, Duration::from_secs(3));
        assert_eq!(cli.pg.lock_timeout, Duration::from_millis(250));
        assert_eq!(cli.pg.application_name.as_deref(), Some("nightly"));
        assert!(cli.validate().is_ok());
        // Hidden: each statement gets the time left of --time-budget instead.
        assert!(parse(&["--statement-timeout", "0s"]).validate().is_ok());
        let e = parse(&["--statement-timeout", "5s"]).validate().unwrap_err();
        assert_eq!(e.exit(), sw_core::Exit::Usage);
    }

    #[test]
    fn help_shows_sw_vacuums_meaning_and_hides_statement_timeout() {
        let help = crate::command().render_help().to_string();
        assert!(help.contains("lock_timeout for every statement"), "{help}");
        assert!(help.contains("[default: 1s]"), "{help}");
        assert!(help.contains("(default: sw-vacuum)"), "{help}");
        assert!(!help.contains("--statement-timeout"), "{help}");
    }
}
