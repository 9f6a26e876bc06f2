//! `sw-health check` (also the default when no subcommand is given): the
//! whole catalogue in one session per database.
//!
//! Each session runs one read-only transaction with `lock_timeout` 100 ms;
//! every check is one round trip (`SAVEPOINT; SET LOCAL statement_timeout;
//! SELECT ...; RELEASE`), so a failing or timed-out check rolls back to its
//! savepoint and the others go on. A check that times out is UNKNOWN and is
//! not retried; once the overall deadline has passed the remaining checks are
//! UNKNOWN without being started.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sw_core::cli::PgOpts;
use sw_core::config::Env;
use sw_core::duration::millis_f64;
use sw_core::fsutil::q;
use sw_core::lock::Lock;
use sw_core::output::{Output, now_rfc3339};
use sw_core::target::Target;
use sw_core::{Error, Exit, Result};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::catalogue::{self, CATALOGUE, Def, Scope, Status, Thresholds};
use crate::{format, host};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One `health.report` JSON record.
    Json,
    /// Monitoring plugin API (Nagios, Icinga, Naemon): status line with perfdata.
    Nagios,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
}

/// Flags of `sw-health check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub pg: PgOpts,
    /// Run the per-database checks in every database that accepts connections.
    #[arg(long)]
    pub all_databases: bool,
    /// Only these checks (comma-separated or repeated).
    #[arg(long, value_name = "NAMES")]
    pub checks: Vec<String>,
    /// Skip these checks (comma-separated or repeated).
    #[arg(long, value_name = "NAMES")]
    pub skip: Vec<String>,
    /// Warning threshold override, NAME=VALUE (or NAME=none); repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub warn: Vec<String>,
    /// Critical threshold override, NAME=VALUE (or NAME=none); repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub crit: Vec<String>,
    /// TOML file of thresholds: one table per check with warn and/or crit
    /// (flags win over the file).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// statement_timeout of each check; a check that runs longer is UNKNOWN.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub check_timeout: Duration,
    /// Deadline for the whole run (connecting included); checks not started by then are UNKNOWN.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub deadline: Duration,
    /// Round trips for the latency check.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub latency_samples: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// With --format prometheus: write this textfile-collector file
    /// atomically (temp file in the same directory, then rename) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub prom_file: Option<PathBuf>,
    /// Directory for the run lock and the counters behind rates
    /// (default $XDG_STATE_HOME/sw or ~/.local/state/sw).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// sw-backup repository whose newest complete backup the backup_age check judges.
    #[arg(long, value_name = "DIR")]
    pub backup_repo: Option<PathBuf>,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    pub status: Status,
    pub value: Option<f64>,
    pub unit: &'static str,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    /// True when lower values are worse.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub below: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// The `health.report` record.
#[derive(Debug, Serialize)]
pub struct Report {
    pub time: String,
    pub target: String,
    pub status: Status,
    pub server_version: Option<String>,
    pub role: Option<&'static str>,
    pub databases: Vec<String>,
    pub duration_ms: f64,
    pub checks: Vec<CheckResult>,
    pub skipped: Vec<&'static str>,
}

/// Rate counters kept between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    time: f64,
    counters: BTreeMap<String, f64>,
    /// Host CPU (busy, total) jiffies and when they were read (unix seconds).
    #[serde(default)]
    cpu: Option<(u64, u64, f64)>,
    /// pg_postmaster_start_time() seen by the previous run.
    #[serde(default)]
    started_at: Option<String>,
    /// Counter samples of recent runs (server time), enough to measure the
    /// last 5 minutes: every sample of that window plus the newest older one.
    #[serde(default)]
    history: Vec<Sample>,
    /// Replication slots seen inactive, and since when (unix seconds, server clock).
    #[serde(default)]
    slots_inactive_since: BTreeMap<String, f64>,
}

/// How long a slot may be inactive before it is a WARNING (a standby
/// restarting or reconnecting is not worth waking anyone).
const SLOT_INACTIVE_GRACE_S: f64 = 600.0;

/// Counters at one time (unix seconds, server clock).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sample {
    time: f64,
    counters: BTreeMap<String, f64>,
}

/// The window the counter rates are measured over.
const RATE_WINDOW_S: f64 = 300.0;

impl State {
    /// Earlier samples, oldest first (a state file from before the history
    /// was kept gives its single sample).
    fn samples(&self) -> Vec<Sample> {
        if self.history.is_empty() && !self.counters.is_empty() {
            return vec![Sample {
                time: self.time,
                counters: self.counters.clone(),
            }];
        }
        self.history.clone()
    }
}

/// Events in the last 5 minutes from a counter: (delta, seconds covered,
/// value). With a sample at least 5 minutes old, the delta since the newest
/// such sample scaled to 5 minutes; with only younger samples, the delta
/// since the oldest (a lower bound, not extrapolated). Samples from before a
/// counter reset are ignored. None without a usable earlier sample.
fn window_rate(earlier: &[(f64, f64)], now: f64, cur: f64) -> Option<(f64, f64, f64)> {
    let mut usable: Vec<(f64, f64)> = earlier.iter().copied().filter(|(t, _)| *t < now).collect();
    usable.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(i) = usable.iter().rposition(|(_, v)| *v > cur) {
        usable.drain(..=i);
    }
    let base = usable
        .iter()
        .rev()
        .find(|(t, _)| now - t >= RATE_WINDOW_S)
        .or_else(|| usable.first())?;
    let (delta, elapsed) = (cur - base.1, now - base.0);
    Some((delta, elapsed, delta * RATE_WINDOW_S / elapsed.max(RATE_WINDOW_S)))
}

/// Keep the samples a later run needs: those inside the window and the
/// newest one before it.
fn prune_history(mut h: Vec<Sample>, now: f64) -> Vec<Sample> {
    h.retain(|s| s.time <= now);
    h.sort_by(|a, b| a.time.total_cmp(&b.time));
    let old = h.iter().filter(|s| now - s.time >= RATE_WINDOW_S).count();
    h.drain(..old.saturating_sub(1));
    let excess = h.len().saturating_sub(1000);
    h.drain(..excess);
    h
}

/// Why a check whose turn came after the deadline produced no value.
const NOT_RUN: &str = "not run: overall deadline reached";

/// Why a check produced no value.
enum Fail {
    Timeout,
    Error(String),
}

impl Fail {
    /// The reason in words (a timeout without its length).
    fn message(self) -> String {
        match self {
            Fail::Timeout => "timed out".to_owned(),
            Fail::Error(e) => e,
        }
    }
}

struct Sess {
    client: Client,
    dead: bool,
}

impl Sess {
    /// One check, one round trip, rows as text.
    async fn q(&mut self, sql: &str, timeout: Duration) -> std::result::Result<Vec<Vec<Option<String>>>, Fail> {
        if self.dead {
            return Err(Fail::Error(
                "session unusable after an earlier failure or timeout".into(),
            ));
        }
        let ms = timeout.as_millis().max(1);
        let full = format!("SAVEPOINT sw_check; SET LOCAL statement_timeout = {ms}; {sql}; RELEASE SAVEPOINT sw_check");
        let res = tokio::time::timeout(timeout + Duration::from_secs(1), self.client.simple_query(&full)).await;
        match res {
            Err(_) => {
                self.dead = true;
                Err(Fail::Timeout)
            }
            Ok(Ok(msgs)) => Ok(msgs
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
                    _ => None,
                })
                .collect()),
            Ok(Err(e)) => {
                let code = e.code().map(|c| c.code().to_owned());
                let msg = e
                    .as_db_error()
                    .map(|d| d.message().to_owned())
                    .unwrap_or_else(|| e.to_string());
                let rollback = self.client.simple_query("ROLLBACK TO SAVEPOINT sw_check");
                if !matches!(tokio::time::timeout(Duration::from_secs(1), rollback).await, Ok(Ok(_))) {
                    self.dead = true;
                }
                match code.as_deref() {
                    Some("57014") => Err(Fail::Timeout),
                    Some("55P03") => Err(Fail::Error(format!("lock timeout: {msg}"))),
                    _ => Err(Fail::Error(msg)),
                }
            }
        }
    }
}

impl Sess {
    /// Start the read-only transaction (lock_timeout 100 ms), waiting at most `wait`.
    async fn begin(&mut self, wait: Duration) -> std::result::Result<(), String> {
        let begin = self
            .client
            .batch_execute("BEGIN READ ONLY; SET LOCAL lock_timeout = 100");
        let res = match tokio::time::timeout(wait + Duration::from_secs(1), begin).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e
                .as_db_error()
                .map(|d| d.message().to_owned())
                .unwrap_or_else(|| e.to_string())),
            Err(_) => Err("timed out".to_owned()),
        };
        if res.is_err() {
            self.dead = true;
        }
        res
    }

    /// End the transaction; a session lost to a timeout is left alone (a
    /// COMMIT would queue behind the query that hangs).
    async fn finish(&mut self) {
        if !self.dead {
            let _ = tokio::time::timeout(Duration::from_secs(1), self.client.simple_query("COMMIT")).await;
        }
    }
}

fn num(r: &[Option<String>], i: usize) -> Option<f64> {
    r.get(i)?.as_deref()?.parse().ok()
}

fn text(r: &[Option<String>], i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

fn flag(r: &[Option<String>], i: usize) -> bool {
    r.get(i).and_then(|v| v.as_deref()) == Some("t")
}

/// The pieces a check's evaluation returns.
struct Measured {
    value: Option<f64>,
    /// A floor for the status, whatever the thresholds say.
    at_least: Status,
    message: String,
    details: Value,
}

impl Measured {
    fn new(value: Option<f64>, message: impl Into<String>, details: Value) -> Measured {
        Measured {
            value,
            at_least: Status::Ok,
            message: message.into(),
            details,
        }
    }
    fn floor(mut self, s: Status) -> Measured {
        self.at_least = s;
        self
    }
}

struct Runner<'a> {
    th: &'a Thresholds,
    deadline: Instant,
    check_timeout: Duration,
    results: Vec<CheckResult>,
}

impl Runner<'_> {
    fn timeout(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(5) {
            None
        } else {
            Some(left.min(self.check_timeout))
        }
    }

    /// How long a step outside the checks may wait: as [`Runner::timeout`],
    /// but a token 5 ms once the deadline has passed.
    fn wait(&self) -> Duration {
        self.timeout().unwrap_or(Duration::from_millis(5))
    }

    /// Session settings for one more connection: the connect timeout capped
    /// by what is left of the deadline (at least 100 ms).
    fn session(&self, pg: &PgOpts) -> sw_core::pg::Session {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let mut s = pg.session("sw-health");
        s.connect_timeout = s.connect_timeout.min(left.max(Duration::from_millis(100)));
        s
    }

    fn push(&mut self, d: &'static Def, db: Option<&str>, m: Measured) {
        let (warn, crit) = self.th.get(d);
        let status = catalogue::judge(d, warn, crit, m.value).worst(m.at_least);
        self.results.push(CheckResult {
            name: d.name,
            database: db.map(str::to_owned),
            status,
            value: m.value.map(round3),
            unit: d.unit,
            warn,
            crit,
            below: d.below,
            message: m.message,
            details: m.details,
        });
    }

    /// A check that produced no value: UNKNOWN (a missing value judges OK,
    /// so the floor decides).
    fn unknown(&mut self, d: &'static Def, db: Option<&str>, why: String) {
        self.push(d, db, Measured::new(None, why, Value::Null).floor(Status::Unknown));
    }

    /// One round trip for checks judged together: the rows, or why not.
    async fn rows(&self, s: &mut Sess, sql: &str) -> std::result::Result<Vec<Vec<Option<String>>>, String> {
        match self.timeout() {
            Some(t) => s.q(sql, t).await.map_err(Fail::message),
            None => Err(NOT_RUN.to_owned()),
        }
    }

    /// Run one SQL check and evaluate it.
    async fn sql<F>(&mut self, s: &mut Sess, name: &str, db: Option<&str>, sql: &str, eval: F)
    where
        F: FnOnce(Vec<Vec<Option<String>>>) -> Measured,
    {
        let Some(d) = catalogue::def(name) else { return };
        let Some(t) = self.timeout() else {
            self.unknown(d, db, NOT_RUN.into());
            return;
        };
        match s.q(sql, t).await {
            Ok(rows) => {
                let m = eval(rows);
                self.push(d, db, m);
            }
            Err(Fail::Timeout) => self.unknown(d, db, format!("timed out after {} ms", t.as_millis())),
            Err(Fail::Error(e)) => self.unknown(d, db, e),
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A short stable key for a target (file names).
fn target_key(t: &Target) -> String {
    let s = t.to_url(false);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn is_local(t: &Target) -> bool {
    t.hosts.iter().all(|h| {
        h.starts_with('/') || h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

/// Run `check`.
pub fn run(args: &CheckArgs, pretty: bool) -> Result<()> {
    let res = run_inner(args, pretty);
    match (&res, args.format) {
        (Err(e), Format::Nagios) if !matches!(e.exit().code(), 0..=3) => {
            // Plugin API: anything that kept the check from running is UNKNOWN.
            let _ = write_stdout(&format!("SW-HEALTH UNKNOWN: {}\n", format::one_line(e.message())));
            res.map_err(|e| e.with_exit(Exit::Unknown))
        }
        _ => res,
    }
}

fn run_inner(args: &CheckArgs, pretty: bool) -> Result<()> {
    let mut th = Thresholds::default();
    if let Some(f) = &args.thresholds {
        th.load_file(f)?;
    }
    for w in &args.warn {
        th.set_flag(w, false)?;
    }
    for c in &args.crit {
        th.set_flag(c, true)?;
    }
    let only = catalogue::parse_list(&args.checks)?;
    let skip = catalogue::parse_list(&args.skip)?;
    if args.format != Format::Prometheus && args.prom_file.is_some() {
        return Err(Error::usage("--prom-file needs --format prometheus"));
    }
    let target = args.pg.target()?;
    let state_dir = args.state_dir.clone().unwrap_or_else(|| Env::process().state_dir());
    let key = target_key(&target);
    let _lock = Lock::try_acquire(
        &state_dir.join(format!("health-{key}.lock")),
        "sw-health run for this target",
    )?;
    let state_path = state_dir.join(format!("health-{key}.json"));
    let selected = |n: &str| (only.is_empty() || only.contains(&n)) && !skip.contains(&n);

    let report = sw_core::cli::block_on(collect(args, &target, &th, &selected, &state_path))?;
    let exit = match report.status {
        Status::Ok => Exit::Ok,
        Status::Warning => Exit::Warning,
        Status::Critical => Exit::Critical,
        Status::Unknown => Exit::Unknown,
    };
    match args.format {
        Format::Json => match Output::stdout(pretty).record("health.report", &report) {
            // The reader went away: the verdict still decides the exit code.
            Err(e) if e.exit() != Exit::Ok => return Err(e),
            _ => {}
        },
        Format::Nagios => write_stdout(&format::nagios(&report))?,
        Format::Prometheus => {
            let text = format::prometheus(&report);
            match &args.prom_file {
                Some(p) => sw_core::fsutil::atomic_write(p, text.as_bytes(), 0o644)?,
                None => write_stdout(&text)?,
            }
        }
    }
    if exit == Exit::Ok {
        Ok(())
    } else {
        Err(Error::new(
            exit,
            format!("{}: {}", report.status.as_str(), format::summary(&report)),
        ))
    }
}

/// Write text to stdout; a reader that went away (broken pipe) is not an error.
pub(crate) fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("writing stdout").with_source(e)),
    }
}

fn load_state(p: &Path) -> Option<State> {
    let text = std::fs::read_to_string(p).ok()?;
    serde_json::from_str(&text).ok()
}

async fn collect(
    args: &CheckArgs,
    target: &Target,
    th: &Thresholds,
    selected: &dyn Fn(&str) -> bool,
    state_path: &Path,
) -> Result<Report> {
    let started = Instant::now();
    let time = now_rfc3339();
    let mut r = Runner {
        th,
        deadline: started + args.deadline,
        check_timeout: args.check_timeout,
        results: Vec::new(),
    };
    let local = is_local(target);
    let cpu0 = if local && selected("host_cpu") {
        host::cpu_sample()
    } else {
        None
    };
    let mut skipped: Vec<&'static str> = Vec::new();
    let mut report = Report {
        time,
        target: target.to_string(),
        status: Status::Ok,
        server_version: None,
        role: None,
        databases: Vec::new(),
        duration_ms: 0.0,
        checks: Vec::new(),
        skipped: Vec::new(),
    };
    let conn = match sw_core::pg::connect(target, &r.session(&args.pg)).await {
        Ok(c) => c,
        Err(e) if matches!(e.exit(), Exit::Usage | Exit::Software | Exit::Config) => return Err(e),
        Err(e) => return down_report(r, report, started, sw_core::secret::redact(&e.to_string())),
    };
    let connect_ms = millis_f64(conn.connect_time);
    let mut s = Sess {
        client: conn.client,
        dead: false,
    };
    // Server facts every check may need. A server that accepts the
    // connection but does not answer this is as down as one that refuses it.
    let begun = s.begin(r.wait()).await;
    let info = match begun {
        Ok(()) => s
            .q(
                "SELECT current_setting('server_version_num'), current_setting('server_version'), \
                 pg_is_in_recovery(), extract(epoch from clock_timestamp() - pg_postmaster_start_time()), \
                 current_database(), coalesce(x.ssl, false), coalesce(x.version, ''), \
                 pg_postmaster_start_time(), current_setting('archive_mode') \
                 FROM (SELECT 1) one LEFT JOIN pg_stat_ssl x ON x.pid = pg_backend_pid()",
                r.wait(),
            )
            .await
            .map_err(Fail::message),
        Err(e) => Err(e),
    };
    let info = match info {
        Ok(rows) => rows,
        Err(why) => {
            let msg = format!("connected in {connect_ms:.1} ms, but the server does not answer: {why}");
            return down_report(r, report, started, sw_core::secret::redact(&msg));
        }
    };
    let row = info.first().cloned().unwrap_or_default();
    let version_num = num(&row, 0).unwrap_or(0.0) as i64;
    let standby = flag(&row, 2);
    let current_db = text(&row, 4);
    let archive_mode = text(&row, 8);
    report.server_version = Some(text(&row, 1));
    report.role = Some(if standby { "standby" } else { "primary" });

    if selected("connection") {
        let tls = flag(&row, 5);
        let d = catalogue::def("connection").ok_or_else(|| Error::software("catalogue"))?;
        r.push(
            d,
            None,
            Measured::new(
                Some(connect_ms),
                format!("connected in {connect_ms:.1} ms{}", if tls { " over TLS" } else { "" }),
                json!({"tls": tls, "tls_version": Some(text(&row, 6)).filter(|v| !v.is_empty())}),
            ),
        );
    }
    let prev = load_state(state_path);
    let started_at = text(&row, 7);
    let mut next = State {
        time: prev.as_ref().map_or(0.0, |p| p.time),
        counters: prev.as_ref().map(|p| p.counters.clone()).unwrap_or_default(),
        cpu: None,
        started_at: Some(started_at.clone()),
        history: prev.as_ref().map(State::samples).unwrap_or_default(),
        slots_inactive_since: prev
            .as_ref()
            .map(|p| p.slots_inactive_since.clone())
            .unwrap_or_default(),
    };
    if selected("uptime") {
        let up = num(&row, 3);
        // A different start time than the previous run saw: restarted in between.
        let restarted = prev
            .as_ref()
            .and_then(|p| p.started_at.as_deref())
            .is_some_and(|p| p != started_at);
        let d = catalogue::def("uptime").ok_or_else(|| Error::software("catalogue"))?;
        let m = Measured::new(
            up,
            format!(
                "up {:.0} s, PostgreSQL {}{}",
                up.unwrap_or(0.0),
                text(&row, 1),
                if restarted {
                    "; restarted since the previous run"
                } else {
                    ""
                }
            ),
            json!({"version": text(&row, 1), "version_num": version_num, "started_at": started_at,
                   "restarted_recently": up.is_some_and(|u| u < 300.0), "restarted_since_last_run": restarted}),
        );
        r.push(d, None, if restarted { m.floor(Status::Warning) } else { m });
    }
    if selected("role") {
        let d = catalogue::def("role").ok_or_else(|| Error::software("catalogue"))?;
        r.push(
            d,
            None,
            Measured::new(
                Some(if standby { 1.0 } else { 0.0 }),
                if standby { "standby" } else { "primary" },
                json!({"role": if standby { "standby" } else { "primary" }}),
            ),
        );
    }
    if selected("latency") {
        let d = catalogue::def("latency").ok_or_else(|| Error::software("catalogue"))?;
        match r.timeout() {
            None => r.unknown(d, None, NOT_RUN.into()),
            Some(t) => {
                let mut samples = Vec::new();
                let until = Instant::now() + t;
                for _ in 0..args.latency_samples {
                    if Instant::now() >= until {
                        break;
                    }
                    let t0 = Instant::now();
                    let wait = until.saturating_duration_since(t0) + Duration::from_secs(1);
                    match tokio::time::timeout(wait, s.client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => samples.push(millis_f64(t0.elapsed())),
                        Ok(Err(_)) => break,
                        Err(_) => {
                            s.dead = true;
                            break;
                        }
                    }
                }
                if samples.is_empty() {
                    r.unknown(d, None, "no round trip completed".into());
                } else {
                    samples.sort_by(f64::total_cmp);
                    let p = |q: f64| {
                        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
                        round3(samples[i.min(samples.len() - 1)])
                    };
                    let (p50, p95, p99) = (p(0.5), p(0.95), p(0.99));
                    r.push(
                        d,
                        None,
                        Measured::new(
                            Some(p95),
                            format!("p95 {p95} ms over {} round trips", samples.len()),
                            json!({"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "samples": samples.len(),
                                   "connect_ms": round3(connect_ms)}),
                        ),
                    );
                }
            }
        }
    }

    cluster_checks(
        &mut r,
        &mut s,
        selected,
        version_num,
        standby,
        &archive_mode,
        prev.as_ref(),
        &mut next,
        &mut skipped,
    )
    .await;

    // Per-database checks: this session first, then one session per database.
    let mut dbs = vec![current_db.clone()];
    if args.all_databases
        && let Ok(rows) = s
            .q(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate \
                 AND has_database_privilege(datname, 'CONNECT') ORDER BY datname",
                r.wait(),
            )
            .await
    {
        for row in rows {
            let n = text(&row, 0);
            if n != current_db {
                dbs.push(n);
            }
        }
    }
    let any_db_check = CATALOGUE.iter().any(|d| d.scope == Scope::Database && selected(d.name));
    let data_dir = if local && (selected("disk")) {
        s.q("SELECT current_setting('data_directory')", r.wait())
            .await
            .ok()
            .and_then(|rows| rows.first().map(|r| text(r, 0)))
    } else {
        None
    };
    if any_db_check {
        database_checks(&mut r, &mut s, selected, Some(&current_db)).await;
    }
    s.finish().await;
    if any_db_check {
        for db in dbs.iter().skip(1) {
            match sw_core::pg::connect(&target.with_dbname(db), &r.session(&args.pg)).await {
                Ok(c) => {
                    let mut s2 = Sess {
                        client: c.client,
                        dead: false,
                    };
                    let wait = r.wait();
                    if let Err(e) = s2.begin(wait).await {
                        log::debug!("{db}: starting the read-only transaction: {e}");
                    }
                    database_checks(&mut r, &mut s2, selected, Some(db)).await;
                    s2.finish().await;
                }
                Err(e) => {
                    for d in CATALOGUE
                        .iter()
                        .filter(|d| d.scope == Scope::Database && selected(d.name))
                    {
                        r.unknown(
                            d,
                            Some(db),
                            format!("cannot connect: {}", sw_core::secret::redact(&e.to_string())),
                        );
                    }
                }
            }
        }
    }
    report.databases = dbs;

    // Host checks when the server runs here.
    for name in ["disk", "host_cpu", "host_memory"] {
        if !selected(name) {
            continue;
        }
        let Some(d) = catalogue::def(name) else { continue };
        if !local {
            skipped.push(d.name);
            continue;
        }
        match name {
            "disk" => match data_dir.as_deref().filter(|p| Path::new(p).is_dir()) {
                Some(p) => match host::disk_use(Path::new(p)) {
                    Ok((pct, used, total)) => r.push(
                        d,
                        None,
                        Measured::new(
                            Some(pct),
                            format!("{pct:.1}% of the data directory's file system used"),
                            json!({"data_directory": p, "used_bytes": used, "total_bytes": total}),
                        ),
                    ),
                    Err(e) => r.unknown(d, None, e.to_string()),
                },
                None => skipped.push(d.name),
            },
            "host_cpu" => {
                let wall = || {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0.0, |d| d.as_secs_f64())
                };
                // Average since the previous run when that was 1 s to 1 h ago,
                // else a short sample over this run.
                let earlier = prev
                    .as_ref()
                    .and_then(|p| p.cpu)
                    .filter(|c| (1.0..3600.0).contains(&(wall() - c.2)))
                    .map(|c| (c.0, c.1));
                let base = match earlier {
                    Some(b) => Some(b),
                    None => {
                        let waited = started.elapsed();
                        if waited < Duration::from_millis(100) {
                            tokio::time::sleep(Duration::from_millis(100) - waited).await;
                        }
                        cpu0
                    }
                };
                let cpu1 = host::cpu_sample();
                if let Some(c) = cpu1 {
                    next.cpu = Some((c.0, c.1, wall()));
                }
                match (base, cpu1) {
                    (Some(a), Some(b)) => {
                        let pct = host::cpu_use(a, b);
                        let over = if earlier.is_some() {
                            "since the previous run"
                        } else {
                            "over 100 ms"
                        };
                        r.push(
                            d,
                            None,
                            Measured::new(Some(pct), format!("CPU {pct:.1}% busy {over}"), Value::Null),
                        );
                    }
                    _ => r.unknown(d, None, "cannot read /proc/stat".into()),
                }
            }
            _ => match host::memory_use() {
                Some((pct, total)) => r.push(
                    d,
                    None,
                    Measured::new(
                        Some(pct),
                        format!("memory {pct:.1}% used"),
                        json!({"total_bytes": total}),
                    ),
                ),
                None => r.unknown(d, None, "cannot read /proc/meminfo".into()),
            },
        }
    }
    if selected("backup_age") {
        match &args.backup_repo {
            None => skipped.push("backup_age"),
            Some(repo) => {
                let d = catalogue::def("backup_age").ok_or_else(|| Error::software("catalogue"))?;
                match sw_core::repo::newest_complete_backup(repo) {
                    Ok(Some(b)) => {
                        let age = (chrono::Utc::now() - b.stop_time).num_milliseconds() as f64 / 1000.0;
                        r.push(
                            d,
                            None,
                            Measured::new(
                                Some(age.max(0.0)),
                                format!("newest complete backup {} finished {age:.0} s ago", b.id),
                                json!({"backup": b.id, "stop_time": sw_core::output::rfc3339(b.stop_time),
                                       "label": b.label, "repository": repo}),
                            ),
                        );
                    }
                    Ok(None) => r.push(
                        d,
                        None,
                        Measured::new(
                            None,
                            format!("no complete backup in {}", q(repo)),
                            json!({"repository": repo}),
                        )
                        .floor(Status::Critical),
                    ),
                    Err(e) => r.unknown(d, None, e.to_string()),
                }
            }
        }
    }
    if let Ok(data) = serde_json::to_vec(&next)
        && let Err(e) = sw_core::fsutil::atomic_write(state_path, &data, 0o600)
    {
        log::warn!("cannot save rate counters: {e}");
    }
    // Keep catalogue order (per-database checks grouped by name).
    let order = |n: &str| CATALOGUE.iter().position(|d| d.name == n).unwrap_or(usize::MAX);
    r.results.sort_by_key(|c| order(c.name));
    report.status = r.results.iter().fold(Status::Ok, |a, c| a.worst(c.status));
    report.checks = r.results;
    skipped.sort_by_key(|n| order(n));
    skipped.dedup();
    report.skipped = skipped;
    report.duration_ms = round3(millis_f64(started.elapsed()));
    Ok(report)
}

/// The report of a server that cannot be reached (or does not answer): one
/// CRITICAL connection check without a value. The other checks are not
/// listed as skipped: they apply but could not run, and a consumer must not
/// read them as "no longer true" (sw-alerts would resolve their alerts).
fn down_report(mut r: Runner<'_>, mut report: Report, started: Instant, message: String) -> Result<Report> {
    let d = catalogue::def("connection").ok_or_else(|| Error::software("catalogue"))?;
    r.push(
        d,
        None,
        Measured::new(None, message, Value::Null).floor(Status::Critical),
    );
    report.checks = r.results;
    report.status = Status::Critical;
    report.duration_ms = round3(millis_f64(started.elapsed()));
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn cluster_checks(
    r: &mut Runner<'_>,
    s: &mut Sess,
    selected: &dyn Fn(&str) -> bool,
    version_num: i64,
    standby: bool,
    archive_mode: &str,
    prev: Option<&State>,
    next: &mut State,
    skipped: &mut Vec<&'static str>,
) {
    if selected("connections") {
        r.sql(
            s,
            "connections",
            None,
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
             current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int \
               - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0), \
             (SELECT coalesce(json_object_agg(st, n), '{}') FROM (SELECT coalesce(state, 'unknown') st, count(*) n \
               FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1) s)",
            |rows| {
                let row = rows.first().cloned().unwrap_or_default();
                let used = num(&row, 0).unwrap_or(0.0);
                let avail = num(&row, 1).unwrap_or(0.0).max(1.0);
                let pct = used * 100.0 / avail;
                let by_state: Value = serde_json::from_str(&text(&row, 2)).unwrap_or(Value::Null);
                Measured::new(
                    Some(pct),
                    format!("{used:.0} of {avail:.0} connections used ({pct:.1}%)"),
                    json!({"used": used, "available": avail, "by_state": by_state}),
                )
            },
        )
        .await;
    }
    if selected("idle_in_transaction") {
        r.sql(
            s,
            "idle_in_transaction",
            None,
            "SELECT coalesce(max(extract(epoch from clock_timestamp() - state_change)), 0), count(*), \
             coalesce((array_agg(pid ORDER BY state_change))[1]::text, '') \
             FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
            |rows| {
                let row = rows.first().cloned().unwrap_or_default();
                let v = num(&row, 0).unwrap_or(0.0);
                let n = num(&row, 1).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("{n:.0} sessions idle in transaction, oldest {v:.0} s"),
                    json!({"sessions": n, "oldest_pid": text(&row, 2).parse::<i64>().ok()}),
                )
            },
        )
        .await;
    }
    if selected("long_query") {
        r.sql(
            s,
            "long_query",
            None,
            "SELECT coalesce(max(extract(epoch from clock_timestamp() - query_start)), 0), count(*), \
             coalesce((array_agg(pid ORDER BY query_start))[1]::text, '') \
             FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' \
             AND pid <> pg_backend_pid()",
            |rows| {
                let row = rows.first().cloned().unwrap_or_default();
                let v = num(&row, 0).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("oldest active query {v:.0} s"),
                    json!({"active": num(&row, 1), "oldest_pid": text(&row, 2).parse::<i64>().ok()}),
                )
            },
        )
        .await;
    }
    if selected("blocked") {
        r.sql(
            s,
            "blocked",
            None,
            "SELECT coalesce(max(w), 0), count(*), coalesce(json_agg(json_build_object('pid', pid, 'waiting_s', w, \
               'blocked_by', b) ORDER BY w DESC), '[]') FROM ( \
               SELECT a.pid, extract(epoch from clock_timestamp() - coalesce(a.query_start, a.state_change)) w, \
                      pg_blocking_pids(a.pid) b \
               FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()) x \
             WHERE cardinality(b) > 0",
            |rows| {
                let row = rows.first().cloned().unwrap_or_default();
                let v = num(&row, 0).unwrap_or(0.0);
                let n = num(&row, 1).unwrap_or(0.0);
                let sessions: Value = serde_json::from_str(&text(&row, 2)).unwrap_or(Value::Null);
                Measured::new(
                    Some(v),
                    format!("{n:.0} sessions waiting for locks, oldest {v:.1} s"),
                    json!({"blocked": n, "sessions": sessions}),
                )
            },
        )
        .await;
    }
    if selected("deadlocks") || selected("failed_sessions") {
        let failed_sql = if version_num >= 140_000 {
            "sum(sessions_fatal + sessions_abandoned + sessions_killed)"
        } else {
            "NULL::numeric"
        };
        let sql =
            format!("SELECT sum(deadlocks), {failed_sql}, extract(epoch from clock_timestamp()) FROM pg_stat_database");
        match r.rows(s, &sql).await {
            Ok(rows) => {
                let row = rows.first().cloned().unwrap_or_default();
                let now = num(&row, 2).unwrap_or(0.0);
                let earlier = prev.map(State::samples).unwrap_or_default();
                next.time = now;
                next.counters.clear();
                for (i, name) in [(0, "deadlocks"), (1, "failed_sessions")] {
                    let cur = num(&row, i);
                    if let Some(c) = cur {
                        next.counters.insert(name.to_owned(), c);
                    }
                    if !selected(name) {
                        continue;
                    }
                    let Some(d) = catalogue::def(name) else { continue };
                    let Some(c) = cur else {
                        skipped.push(d.name);
                        continue;
                    };
                    let points: Vec<(f64, f64)> = earlier
                        .iter()
                        .filter_map(|s| s.counters.get(name).map(|v| (s.time, *v)))
                        .collect();
                    let m = match window_rate(&points, now, c) {
                        Some((delta, elapsed, rate)) => Measured::new(
                            Some(rate),
                            format!("{delta:.0} {} in the last {elapsed:.0} s", name.replace('_', " ")),
                            json!({"delta": delta, "interval_s": round3(elapsed), "total": c}),
                        ),
                        None => Measured::new(
                            None,
                            "first sample (or counters reset): a rate needs the next run",
                            json!({"total": c}),
                        ),
                    };
                    r.push(d, None, m);
                }
                let mut h = std::mem::take(&mut next.history);
                h.push(Sample {
                    time: now,
                    counters: next.counters.clone(),
                });
                next.history = prune_history(h, now);
            }
            Err(why) => {
                for name in ["deadlocks", "failed_sessions"] {
                    if selected(name)
                        && let Some(d) = catalogue::def(name)
                    {
                        r.unknown(d, None, why.clone());
                    }
                }
            }
        }
    }
    if selected("xid_wraparound") || selected("mxid_wraparound") {
        let rows = r
            .rows(
                s,
                "SELECT max(age(datfrozenxid)), max(mxid_age(datminmxid)), \
                     (SELECT datname FROM pg_database ORDER BY age(datfrozenxid) DESC LIMIT 1), \
                     (SELECT datname FROM pg_database ORDER BY mxid_age(datminmxid) DESC LIMIT 1), \
                     (SELECT coalesce(json_agg(x), '[]') FROM (SELECT c.oid::regclass::text AS \"table\", \
                        greatest(age(c.relfrozenxid), age(t.relfrozenxid)) AS age FROM pg_class c \
                        LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relkind IN ('r', 'm') \
                        ORDER BY 2 DESC LIMIT 5) x), \
                     (SELECT coalesce(json_agg(x), '[]') FROM (SELECT c.oid::regclass::text AS \"table\", \
                        greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) AS age FROM pg_class c \
                        LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relkind IN ('r', 'm') \
                        ORDER BY 2 DESC LIMIT 5) x), current_database() FROM pg_database",
            )
            .await;
        for (i, name) in [(0, "xid_wraparound"), (1, "mxid_wraparound")] {
            if !selected(name) {
                continue;
            }
            let Some(d) = catalogue::def(name) else { continue };
            match &rows {
                Ok(rows) => {
                    let row = rows.first().cloned().unwrap_or_default();
                    let v = num(&row, i);
                    let db = text(&row, i + 2);
                    // Where to start: the oldest tables (heap or TOAST) of the database checked.
                    let tables: Value = serde_json::from_str(&text(&row, i + 4)).unwrap_or(Value::Null);
                    r.push(
                        d,
                        None,
                        Measured::new(
                            v,
                            format!("oldest database {db}: age {:.0}", v.unwrap_or(0.0)),
                            json!({"database": db, "limit": 2_147_483_647_i64,
                                   "oldest_tables": tables, "tables_of": text(&row, 6)}),
                        ),
                    );
                }
                Err(why) => r.unknown(d, None, why.clone()),
            }
        }
    }
    if selected("replication_lag") {
        if standby {
            r.sql(
                s,
                "replication_lag",
                None,
                "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                   ELSE coalesce(extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END, \
                 coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0), \
                 pg_is_wal_replay_paused()",
                |rows| {
                    let row = rows.first().cloned().unwrap_or_default();
                    let v = num(&row, 0).unwrap_or(0.0);
                    Measured::new(
                        Some(v),
                        format!("replay {v:.1} s behind"),
                        json!({"replay_bytes": num(&row, 1), "replay_paused": flag(&row, 2)}),
                    )
                },
            )
            .await;
        } else {
            r.sql(
                s,
                "replication_lag",
                None,
                "SELECT coalesce(application_name, ''), coalesce(client_addr::text, ''), coalesce(state, ''), \
                 coalesce(extract(epoch from replay_lag), 0), \
                 coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) FROM pg_stat_replication",
                |rows| {
                    let mut worst: f64 = 0.0;
                    let mut list = Vec::new();
                    for row in &rows {
                        let lag = num(row, 3).unwrap_or(0.0);
                        worst = worst.max(lag);
                        list.push(json!({"application_name": text(row, 0), "client_addr": text(row, 1),
                            "state": text(row, 2), "replay_lag_s": lag, "replay_lag_bytes": num(row, 4)}));
                    }
                    let msg = if rows.is_empty() {
                        "no standbys connected".to_owned()
                    } else {
                        format!("{} standbys, worst replay lag {worst:.1} s", rows.len())
                    };
                    Measured::new(Some(worst), msg, json!({"standbys": list}))
                },
            )
            .await;
        }
    }
    if selected("replication_slots") {
        r.sql(
            s,
            "replication_slots",
            None,
            "SELECT slot_name, slot_type, active, coalesce(wal_status, ''), \
             coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() \
               ELSE pg_current_wal_lsn() END, restart_lsn), 0), extract(epoch from clock_timestamp()) \
             FROM pg_replication_slots ORDER BY slot_name",
            |rows| {
                let mut worst: f64 = 0.0;
                let mut floor = Status::Ok;
                let mut inactive = Vec::new();
                let mut list = Vec::new();
                let mut seen_inactive = BTreeMap::new();
                for row in &rows {
                    let name = text(row, 0);
                    let active = flag(row, 2);
                    let status = text(row, 3);
                    let bytes = num(row, 4).unwrap_or(0.0);
                    worst = worst.max(bytes);
                    let mut inactive_s = None;
                    if !active {
                        let now = num(row, 5).unwrap_or(0.0);
                        let since = next
                            .slots_inactive_since
                            .get(&name)
                            .copied()
                            .filter(|t| *t <= now)
                            .unwrap_or(now);
                        seen_inactive.insert(name.clone(), since);
                        if now - since >= SLOT_INACTIVE_GRACE_S {
                            floor = floor.worst(Status::Warning);
                        }
                        inactive_s = Some(round3(now - since));
                        inactive.push(name.clone());
                    }
                    if status == "lost" || status == "unreserved" {
                        floor = floor.worst(Status::Critical);
                    }
                    list.push(json!({"slot": name, "type": text(row, 1), "active": active,
                        "inactive_s": inactive_s, "wal_status": status, "retained_bytes": bytes}));
                }
                next.slots_inactive_since = seen_inactive;
                let msg = if rows.is_empty() {
                    "no replication slots".to_owned()
                } else if inactive.is_empty() {
                    format!("{} slots, most WAL retained {worst:.0} B", rows.len())
                } else {
                    format!(
                        "inactive slots: {}; most WAL retained {worst:.0} B",
                        inactive.join(", ")
                    )
                };
                Measured::new(Some(worst), msg, json!({"slots": list, "inactive": inactive})).floor(floor)
            },
        )
        .await;
    }
    if selected("archiver") {
        if archive_mode == "off" {
            if let Some(d) = catalogue::def("archiver") {
                r.push(
                    d,
                    None,
                    Measured::new(Some(0.0), "archive_mode is off", json!({"archive_mode": "off"})),
                );
            }
        } else if standby && archive_mode != "always" {
            skipped.push("archiver");
        } else {
            let mode = archive_mode.to_owned();
            r.sql(
                s,
                "archiver",
                None,
                "SELECT archived_count, failed_count, extract(epoch from clock_timestamp() - last_archived_time), \
                 (last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)), \
                 coalesce(last_failed_wal, ''), \
                 (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') FROM pg_stat_archiver",
                move |rows| {
                    let row = rows.first().cloned().unwrap_or_default();
                    let failing = flag(&row, 3);
                    let ready = num(&row, 5).unwrap_or(0.0);
                    let msg = if failing {
                        format!("archiving failing ({} failures, last on {}); {ready:.0} files ready", text(&row, 1), text(&row, 4))
                    } else {
                        format!("{ready:.0} WAL files ready to archive")
                    };
                    let m = Measured::new(
                        Some(ready),
                        msg,
                        json!({"archive_mode": mode, "archived_count": num(&row, 0), "failed_count": num(&row, 1),
                               "last_archived_age_s": num(&row, 2), "failing": failing,
                               "last_failed_wal": Some(text(&row, 4)).filter(|v| !v.is_empty())}),
                    );
                    if failing { m.floor(Status::Critical) } else { m }
                },
            )
            .await;
        }
    }
    if selected("database_size") {
        r.sql(
            s,
            "database_size",
            None,
            "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datallowconn \
             AND has_database_privilege(oid, 'CONNECT') ORDER BY 2 DESC",
            |rows| {
                let mut total = 0.0;
                let mut per = serde_json::Map::new();
                for row in &rows {
                    let b = num(row, 1).unwrap_or(0.0);
                    total += b;
                    per.insert(text(row, 0), json!(b));
                }
                Measured::new(
                    Some(total),
                    format!("{} databases, {:.1} MB in all", rows.len(), total / 1_048_576.0),
                    json!({"databases": per}),
                )
            },
        )
        .await;
    }
    if selected("cache_hit") {
        r.sql(
            s,
            "cache_hit",
            None,
            "SELECT sum(blks_hit), sum(blks_read) FROM pg_stat_database",
            |rows| {
                let row = rows.first().cloned().unwrap_or_default();
                let hit = num(&row, 0).unwrap_or(0.0);
                let read = num(&row, 1).unwrap_or(0.0);
                let total = hit + read;
                if total < 100_000.0 {
                    Measured::new(
                        None,
                        format!("only {total:.0} block accesses so far: not judged"),
                        json!({"blks_hit": hit, "blks_read": read}),
                    )
                } else {
                    let pct = hit * 100.0 / total;
                    Measured::new(
                        Some(pct),
                        format!("cache hit ratio {pct:.2}%"),
                        json!({"blks_hit": hit, "blks_read": read}),
                    )
                }
            },
        )
        .await;
    }
    if selected("prepared_xacts") {
        r.sql(
            s,
            "prepared_xacts",
            None,
            "SELECT count(*), coalesce(max(extract(epoch from clock_timestamp() - prepared)), 0), \
             coalesce((array_agg(gid ORDER BY prepared))[1], '') FROM pg_prepared_xacts",
            |rows| {
                let row = rows.first().cloned().unwrap_or_default();
                let n = num(&row, 0).unwrap_or(0.0);
                let v = num(&row, 1).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("{n:.0} prepared transactions, oldest {v:.0} s"),
                    json!({"count": n, "oldest_gid": Some(text(&row, 2)).filter(|g| !g.is_empty())}),
                )
            },
        )
        .await;
    }
    if selected("tls") {
        let ssl = r.rows(s, "SELECT current_setting('ssl')").await.ok();
        let hba = r
            .rows(
                s,
                "SELECT line_number, type, coalesce(address, ''), coalesce(netmask, ''), auth_method \
                 FROM pg_hba_file_rules WHERE error IS NULL AND type IN ('host', 'hostnossl') \
                 AND auth_method <> 'reject' ORDER BY line_number",
            )
            .await
            .ok();
        if let (Some(ssl), Some(d)) = (ssl, catalogue::def("tls")) {
            let ssl_on = ssl.first().map(|r| text(r, 0)) == Some("on".to_owned());
            let mut bad = Vec::new();
            if let Some(rows) = &hba {
                for row in rows {
                    let addr = text(row, 2);
                    let local = addr == "samehost" || addr.starts_with("127.") || addr == "::1" || addr == "localhost";
                    if !local {
                        bad.push(json!({"line": num(row, 0), "type": text(row, 1), "address": addr,
                            "netmask": text(row, 3), "auth_method": text(row, 4)}));
                    }
                }
            }
            let n = bad.len();
            let msg = match (ssl_on, &hba) {
                (false, _) => "ssl is off".to_owned(),
                (true, None) => "ssl on; pg_hba_file_rules not readable".to_owned(),
                (true, Some(_)) if n == 0 => "ssl on; remote access requires TLS".to_owned(),
                (true, Some(_)) => format!("ssl on; {n} access rules allow remote clients without TLS"),
            };
            let m = Measured::new(
                hba.as_ref().map(|_| n as f64),
                msg,
                json!({"ssl": ssl_on, "hba_readable": hba.is_some(), "non_tls_rules": bad}),
            );
            r.push(d, None, if ssl_on { m } else { m.floor(Status::Warning) });
        } else if let Some(d) = catalogue::def("tls") {
            r.unknown(d, None, "cannot read the ssl setting".into());
        }
    }
}

async fn database_checks(r: &mut Runner<'_>, s: &mut Sess, selected: &dyn Fn(&str) -> bool, db: Option<&str>) {
    if selected("dead_tuples") {
        r.sql(
            s,
            "dead_tuples",
            db,
            "SELECT format('%I.%I', schemaname, relname), n_dead_tup, n_live_tup, \
             100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1) FROM pg_stat_user_tables \
             WHERE n_dead_tup >= 10000 ORDER BY 4 DESC LIMIT 5",
            |rows| {
                let worst = rows.first().and_then(|r| num(r, 3)).unwrap_or(0.0);
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"table": text(r, 0), "dead": num(r, 1), "live": num(r, 2), "dead_pct": num(r, 3).map(round3)}))
                    .collect();
                let msg = match rows.first() {
                    Some(r) => format!("{} has {worst:.1}% dead tuples", text(r, 0)),
                    None => "no table with 10000 dead tuples".to_owned(),
                };
                Measured::new(Some(worst), msg, json!({"tables": list}))
            },
        )
        .await;
    }
    if selected("autovacuum") {
        r.sql(
            s,
            "autovacuum",
            db,
            "SELECT format('%I.%I', schemaname, relname), n_dead_tup, \
             extract(epoch from clock_timestamp() - coalesce(greatest(last_vacuum, last_autovacuum), \
               pg_stat_get_db_stat_reset_time((SELECT oid FROM pg_database WHERE datname = current_database())), \
               pg_postmaster_start_time())) \
             FROM pg_stat_user_tables \
             WHERE n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8 \
               + current_setting('autovacuum_vacuum_scale_factor')::float8 * n_live_tup \
             ORDER BY 3 DESC LIMIT 5",
            |rows| {
                let worst = rows.first().and_then(|r| num(r, 2)).unwrap_or(0.0);
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"table": text(r, 0), "dead": num(r, 1), "waiting_s": num(r, 2).map(round3)}))
                    .collect();
                let msg = match rows.first() {
                    Some(r) => format!("{} due for vacuum, last vacuumed {worst:.0} s ago", text(r, 0)),
                    None => "no table past its autovacuum threshold".to_owned(),
                };
                Measured::new(Some(worst), msg, json!({"tables": list}))
            },
        )
        .await;
    }
    if selected("sequences") {
        r.sql(
            s,
            "sequences",
            db,
            "SELECT seq, pct, typ, col FROM ( \
               SELECT format('%I.%I', ps.schemaname, ps.sequencename) seq, \
                 CASE WHEN ps.increment_by > 0 THEN \
                   100.0 * (coalesce(ps.last_value, ps.start_value - ps.increment_by)::numeric - ps.min_value + 1) \
                     / greatest(least(ps.max_value::numeric, coalesce(lim.m, ps.max_value)) - ps.min_value + 1, 1) \
                 ELSE 100.0 * (ps.max_value::numeric - coalesce(ps.last_value, ps.max_value + 1) + 1) \
                     / greatest(ps.max_value::numeric - ps.min_value + 1, 1) END pct, \
                 coalesce(col.typ, '') typ, coalesce(col.col, '') col \
               FROM pg_sequences ps \
               JOIN pg_namespace n ON n.nspname = ps.schemaname \
               JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = ps.sequencename \
               LEFT JOIN LATERAL (SELECT a.atttypid::regtype::text typ, \
                   format('%s.%I', d.refobjid::regclass, a.attname) col \
                 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                 WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass \
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) col ON true \
               LEFT JOIN LATERAL (SELECT CASE col.typ WHEN 'smallint' THEN 32767::numeric \
                   WHEN 'integer' THEN 2147483647::numeric END m) lim ON true \
             ) x ORDER BY pct DESC LIMIT 5",
            |rows| {
                let worst = rows.first().and_then(|r| num(r, 1)).unwrap_or(0.0);
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        json!({"sequence": text(r, 0), "used_pct": num(r, 1).map(round3),
                        "column_type": Some(text(r, 2)).filter(|v| !v.is_empty()),
                        "column": Some(text(r, 3)).filter(|v| !v.is_empty())})
                    })
                    .collect();
                let msg = match rows.first() {
                    Some(r) => format!("{} is {worst:.1}% used", text(r, 0)),
                    None => "no sequences".to_owned(),
                };
                Measured::new(Some(worst.max(0.0)), msg, json!({"sequences": list}))
            },
        )
        .await;
    }
    if selected("invalid_indexes") {
        r.sql(
            s,
            "invalid_indexes",
            db,
            "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1",
            |rows| {
                let names: Vec<String> = rows.iter().map(|r| text(r, 0)).collect();
                let msg = if names.is_empty() {
                    "no invalid indexes".to_owned()
                } else {
                    format!("invalid indexes: {}", names.join(", "))
                };
                Measured::new(Some(names.len() as f64), msg, json!({"indexes": names}))
            },
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rates_cover_the_last_five_minutes_whatever_the_run_interval() {
        // One run a minute, 20 events a minute: 100 in the last 5 minutes, not 20.
        let earlier: Vec<(f64, f64)> = (0..6).map(|i| (f64::from(i) * 60.0, f64::from(i) * 20.0)).collect();
        let (delta, elapsed, rate) = window_rate(&earlier, 360.0, 120.0).unwrap();
        assert_eq!((delta, elapsed, rate), (100.0, 300.0, 100.0));
        // Runs 10 minutes apart: scaled down to 5 minutes.
        assert_eq!(window_rate(&[(0.0, 0.0)], 600.0, 40.0).unwrap().2, 20.0);
        // Only 2 minutes of history: what happened so far, not extrapolated.
        assert_eq!(window_rate(&[(0.0, 0.0), (60.0, 5.0)], 120.0, 8.0).unwrap().2, 8.0);
        // A counter reset: samples from before it are ignored.
        assert!(window_rate(&[(0.0, 50.0)], 60.0, 3.0).is_none());
        assert_eq!(window_rate(&[(0.0, 50.0), (60.0, 1.0)], 120.0, 3.0).unwrap().0, 2.0);
        assert!(window_rate(&[], 60.0, 3.0).is_none());
    }

    #[test]
    fn history_keeps_the_window_and_one_older_sample() {
        let s = |t: f64| Sample {
            time: t,
            counters: BTreeMap::new(),
        };
        let h = prune_history((0..20).map(|i| s(f64::from(i) * 60.0)).collect(), 1140.0);
        let times: Vec<f64> = h.iter().map(|x| x.time).collect();
        assert_eq!(times, vec![840.0, 900.0, 960.0, 1020.0, 1080.0, 1140.0]);
    }
}
