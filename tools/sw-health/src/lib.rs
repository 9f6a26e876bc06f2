//! sw-health: check a PostgreSQL server.
//!
//! `sw-health` (or `sw-health check`) runs the check catalogue in one
//! session per database and prints one `health.report` record, a
//! monitoring-plugin status line (`--format nagios`) or a Prometheus
//! textfile (`--format prometheus`); the exit code is the monitoring
//! convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). `sw-health ping`
//! connects once and reports reachability, TLS and latency; `sw-health
//! load` puts a bounded load on the server and measures it.
//!
//! Where things are: `checks/` is what is checked, one `Check` value per
//! health check (`checks/catalogue.rs` lists them all, with the single-query
//! checks written in full; the others each have a small module there);
//! `check/` runs the `check` command (session, deadline, state, thresholds,
//! output; the `--targets` file of a fleet and the sweep over it, one
//! report per target); `format.rs` renders Nagios output; `exposition.rs`
//! the Prometheus formats (the metric names are `sw_core::metrics`');
//! `ping.rs` is `sw-health ping`; `load/` is `sw-health load` (the
//! record, and `drive.rs` which runs the clients); `azure/` reads an Azure Flexible Server
//! for `--azure` (the server, the one metrics request, the backups), whose
//! checks are `checks/azure.rs`; `pooler.rs` reads a PgBouncer's admin
//! console for `--pooler-url`, whose checks are `checks/pooler.rs`.

mod azure;
mod check;
mod checks;
mod exposition;
mod format;
mod load;
mod ping;
mod pooler;
mod serve;

use clap::{Parser, Subcommand};
use sw_core::cli::{CommonOpts, Tool};
use sw_core::contract::{ALWAYS, CommandDoc, VERDICTS};
use sw_core::health::HealthReport;

pub use check::{CheckArgs, RunOpts};
pub use load::{LoadArgs, LoadResult};
pub use ping::{PingArgs, PingResult};
pub use serve::ServeArgs;

/// Check a PostgreSQL server and print the result as JSON. Without a
/// subcommand, runs `check` with the flags given.
#[derive(Parser, Debug)]
#[command(name = "sw-health", version, about, long_about = None, args_conflicts_with_subcommands = true, after_help = check_list())]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    #[command(flatten)]
    pub check: CheckArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run the check catalogue (the default) and print one health.report.
    #[command(after_help = check_list())]
    Check(Box<CheckArgs>),
    /// Connect once and report server version, TLS, connect time and round-trip latency.
    Ping(PingArgs),
    /// Put a bounded load on the server and measure connection acquisition, latency percentiles,
    /// throughput and errors; --targets judges them like a check.
    Load(Box<LoadArgs>),
    /// Serve the checks of one target or a --targets fleet as a Prometheus exporter (/metrics, /healthz).
    #[command(after_help = check_list())]
    Serve(Box<ServeArgs>),
}

fn check_list() -> String {
    let mut s = String::from(
        "The checks run in one read-only transaction per database with lock_timeout 100 ms and \
         statement_timeout --check-timeout per check (--lock-timeout and --statement-timeout apply \
         outside it). Exit: the worst status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).\n\n\
         Checks (name, unit, default warn/crit; \"below\": lower is worse):\n",
    );
    for d in checks::CATALOGUE {
        let t = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
        s.push_str(&format!(
            "  {} ({}, {}/{}{}): {}\n",
            d.name,
            if d.unit.is_empty() { "-" } else { d.unit },
            t(d.warn),
            t(d.crit),
            if d.below { ", below" } else { "" },
            d.help
        ));
    }
    s
}

impl Tool for Cli {
    const NAME: &'static str = "sw-health";
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
    vec![
        check_doc("sw-health"),
        check_doc("sw-health check"),
        CommandDoc::new("sw-health ping")
            .exits(ALWAYS)
            .exit(0, "the server is reachable")
            .exit(
                2,
                "unreachable: no connection, no answer, or the session is refused (authentication, no such database); the health.ping record says why",
            )
            .exit(66, "the --env-file does not exist")
            .exit(74, "reading the --env-file or writing stdout failed")
            .exit(77, "the --env-file cannot be read (permission denied)")
            .exit(75, "interrupted (SIGINT, SIGTERM)")
            .exit(78, "bad target: invalid --db, DATABASE_URL or env file")
            .record::<PingResult>(),
        CommandDoc::new("sw-health load")
            .exits(ALWAYS)
            .exit(0, "the run finished (with targets: every target met and no request failed)")
            .exit(1, "WARNING: every target met, but requests failed or an open-loop backlog was left unsent")
            .exit(2, "CRITICAL: a target was missed (the message and the record's missed field name it)")
            .exit(64, "usage error: bad flags (clients outside 1..1000, a duration over 10m, a bad rate), an empty --sql file")
            .exit(66, "the --env-file or --sql file does not exist")
            .exit(69, "no client could connect")
            .exit(74, "reading a file or writing stdout failed")
            .exit(75, "interrupted (SIGINT, SIGTERM)")
            .exit(77, "permission denied reading a file, or authentication failed for the set-up session")
            .exit(78, "bad target: invalid --db, DATABASE_URL or env file")
            .record::<LoadResult>(),
        CommandDoc::new("sw-health serve")
            .exits(ALWAYS)
            .exit(0, "stopped by SIGTERM or SIGINT")
            .exit(
                64,
                "usage error: bad flags, an unknown check name, --targets with --db, --env-file or --pooler-url, a --pooler-url that carries a password",
            )
            .exit(
                66,
                "the --env-file, --targets, --thresholds or --web-config-file file, or an env file a targets entry names, does not exist",
            )
            .exit(74, "reading one of those files failed")
            .exit(77, "permission denied reading a file, or listening on a privileged port")
            .exit(69, "the --listen address cannot be listened on (in use, not this host's)")
            .exit(
                78,
                "configuration error: bad target, --targets, --thresholds or web configuration file (TLS files that cannot be used, settings sw-health does not support)",
            ),
    ]
}

/// `sw-health` and `sw-health check` (the same action).
fn check_doc(command: &str) -> CommandDoc {
    CommandDoc::new(command)
        .exits(ALWAYS)
        .exits(VERDICTS)
        .exit(0, "every check is OK")
        .exit(1, "WARNING: the worst check is WARNING")
        .exit(
            2,
            "CRITICAL: the worst check (of every target, with --targets) is CRITICAL, a server that cannot be reached or does not answer included",
        )
        .exit(
            3,
            "UNKNOWN: the worst check could not be judged (it failed, timed out or was not started before --deadline); with --format nagios also every error below, per the monitoring plugin API",
        )
        .exit(
            64,
            "usage error: bad flags, an unknown check name in --checks, --skip, --warn or --crit, --prom-file without --format prometheus, --targets with --db, --env-file, --azure or --pooler-url, --azure without a server or a server name without its resource group, a --pooler-url that carries a password",
        )
        .exit(
            66,
            "the --env-file, --azure-env-file, --targets or --thresholds file, an env file a targets entry names, or the directory of --prom-file, does not exist",
        )
        .exit(73, "--prom-file is a symlink (it is never written through)")
        .exit(
            74,
            "I/O error: reading --thresholds, writing stdout or --prom-file, the lock in --state-dir",
        )
        .exit(
            75,
            "another sw-health run for this target holds the lock in --state-dir, or interrupted (SIGINT, SIGTERM)",
        )
        .exit(
            77,
            "permission denied: reading --env-file or --thresholds, writing --prom-file or --state-dir",
        )
        .exit(
            78,
            "configuration error: bad target, the database does not exist (a single target; in a fleet that target's report is CRITICAL), a --targets file that is not valid, a --thresholds file that is not valid or names an unknown check, an --azure-env-file that is not valid, no valid Azure subscription id, or incomplete Azure credentials for --auth",
        )
        .record::<HealthReport>()
}

/// With `--format nagios`, bad arguments follow the monitoring plugin API
/// too: an `SW-HEALTH UNKNOWN:` status line and exit 3 (instead of clap's 64).
/// None when the arguments parse (or nagios output was not asked for).
pub fn nagios_argument_error(args: &[std::ffi::OsString]) -> Option<u8> {
    let s: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let nagios =
        s.windows(2).any(|w| w[0] == "--format" && w[1] == "nagios") || s.iter().any(|a| a == "--format=nagios");
    if !nagios {
        return None;
    }
    let e = Cli::try_parse_from(args).err()?;
    if matches!(
        e.kind(),
        clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return None;
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad arguments");
    let msg = sw_core::secret::redact(first.trim_start_matches("error: "));
    let _ = check::write_stdout(&format!("SW-HEALTH UNKNOWN: {}\n", format::one_line(&msg)));
    eprintln!("sw-health: error: {msg} (see sw-health --help)");
    Some(3)
}

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    match cli.cmd {
        Some(Cmd::Ping(args)) => ping::run(&args, cli.common.pretty),
        Some(Cmd::Load(args)) => load::run(&args, cli.common.pretty, cli.common.quiet),
        Some(Cmd::Serve(args)) => serve::run(&args),
        Some(Cmd::Check(args)) => check::run(&args, cli.common.pretty),
        None => check::run(&cli.check, cli.common.pretty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_kind_follows_the_field_rule() {
        for d in docs() {
            // serve answers HTTP and prints nothing on stdout.
            assert!(
                d.records.is_empty() == (d.command == "sw-health serve"),
                "{} prints a record",
                d.command
            );
            for k in &d.records {
                assert!(k.rule_violations().is_empty(), "{:?}", k.rule_violations());
            }
        }
    }

    #[test]
    fn docs_name_every_command() {
        let mut names = vec!["sw-health".to_owned()];
        names.extend(
            command()
                .get_subcommands()
                .map(|s| format!("sw-health {}", s.get_name())),
        );
        let documented: Vec<String> = docs().into_iter().map(|d| d.command).collect();
        assert_eq!(documented, names);
    }
}
