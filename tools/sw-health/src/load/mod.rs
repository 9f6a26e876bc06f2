//! `sw-health load`: a bounded load probe that measures connection
//! acquisition, request latency (HDR histogram), throughput and errors by
//! SQLSTATE, prints one `health.load` record and a summary on stderr, and
//! with `--targets` judges the numbers like a check (exit 1/2).
//!
//! Requests use the simple-query protocol (one round trip each, like
//! pgbench's default), which also works through PgBouncer in transaction
//! mode. The built-in workload creates its own scratch table (named after
//! the process and the time, so runs cannot collide) and drops it at the end.

mod drive;
mod record;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use hdrhistogram::Histogram;
use sw_core::cli::PgOpts;
use sw_core::contract::Timestamp;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::pg::{self, Connection, Session, quote_ident};
use sw_core::target::Target;
use sw_core::{Error, Exit, IoContext, PgContext, Result};

pub use record::{LoadMode, LoadResult, LoadVerdict, Percentiles};

use drive::{Plan, Workload};

/// The seed's numbers: 1000 requests/s, p95 under 100 ms, acquisition under 10 ms.
const SEED_RPS: f64 = 1000.0;
const SEED_P95: Duration = Duration::from_millis(100);
const SEED_ACQUISITION: Duration = Duration::from_millis(10);
/// Rows of the built-in scratch table.
const ROWS: u64 = 10_000;

fn duration_bounded(s: &str) -> std::result::Result<Duration, String> {
    let d = sw_core::duration::parse(s)?;
    if d.is_zero() || d > Duration::from_secs(600) {
        return Err(format!("duration {s:?} is out of range (more than 0, at most 10m)"));
    }
    Ok(d)
}

fn rate(s: &str) -> std::result::Result<f64, String> {
    let r: f64 = s
        .parse()
        .map_err(|_| format!("invalid rate {s:?} (requests per second)"))?;
    if !r.is_finite() || r <= 0.0 || r > 1_000_000.0 {
        return Err(format!("rate {s:?} is out of range (more than 0, at most 1000000)"));
    }
    Ok(r)
}

fn target_rps(s: &str) -> std::result::Result<f64, String> {
    let r: f64 = s
        .parse()
        .map_err(|_| format!("invalid throughput {s:?} (requests per second)"))?;
    if !r.is_finite() || r < 0.0 {
        return Err(format!("throughput {s:?} is out of range"));
    }
    Ok(r)
}

/// Flags of `sw-health load`.
#[derive(Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub pg: PgOpts,
    /// Concurrent client connections, all connected at the start.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub clients: u32,
    /// Length of the measured phase (at most 10m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_bounded)]
    pub duration: Duration,
    /// Open loop: schedule this many requests per second in total, and count
    /// latency from each request's scheduled time (no coordinated omission).
    /// Without it, closed loop: each client sends as soon as it has an answer.
    #[arg(long, value_name = "PER_SECOND", value_parser = rate)]
    pub rate: Option<f64>,
    /// Run this file's SQL (sent whole, one simple query per request)
    /// instead of the built-in read-mostly workload on a scratch table.
    #[arg(long, value_name = "FILE")]
    pub sql: Option<PathBuf>,
    /// Judge against the targets (the seed's: 1000 req/s, p95 < 100 ms,
    /// acquisition p95 < 10 ms): exit 2 when one is missed, 1 when all are
    /// met but requests failed. Any --target-* flag implies it.
    #[arg(long)]
    pub targets: bool,
    /// Throughput target, requests per second (at least).
    #[arg(long, value_name = "PER_SECOND", value_parser = target_rps)]
    pub target_rps: Option<f64>,
    /// Request latency target (p95 below).
    #[arg(long, value_name = "DURATION", value_parser = sw_core::duration::parse)]
    pub target_p95: Option<Duration>,
    /// Connection acquisition target (p95 below).
    #[arg(long, value_name = "DURATION", value_parser = sw_core::duration::parse)]
    pub target_acquisition: Option<Duration>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let q = |q: f64| if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(q)) };
    Percentiles {
        count: h.len(),
        p50_ms: q(0.50),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Run `load`.
///
/// # Errors
/// 64 for bad flags; 66/74/77 reading --sql; 69 when no client connects;
/// 2 or 1 when --targets are missed (after printing the record).
pub fn run(args: &LoadArgs, pretty: bool, quiet: bool) -> Result<()> {
    let target = args.pg.target()?;
    let sql = match &args.sql {
        Some(p) => Some(std::fs::read_to_string(p).io_context(|| format!("reading {}", q(p)))?),
        None => None,
    };
    if sql.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err(Error::usage("the --sql file has no SQL"));
    }
    let r = sw_core::cli::block_on(probe(args, target, sql))?;
    if !quiet {
        print_summary(&r);
    }
    Output::stdout(pretty).emit(&r)?;
    match r.verdict {
        Some(LoadVerdict::Critical) => Err(Error::new(
            Exit::Critical,
            format!("missed target: {}", r.missed.join("; ")),
        )),
        Some(LoadVerdict::Warning) => Err(Error::new(
            Exit::Warning,
            format!("{} of {} requests failed", r.errors, r.errors + r.requests),
        )),
        _ => Ok(()),
    }
}

async fn probe(args: &LoadArgs, target: Target, sql: Option<String>) -> Result<LoadResult> {
    let session = args.pg.session("sw-health");
    let (workload, setup) = match sql {
        Some(s) => (Workload::Sql(s), None),
        None => {
            let (c, table) = scratch_table(&target, &session).await?;
            (Workload::Builtin { table, rows: ROWS }, Some(c))
        }
    };
    let plan = Plan {
        target: &target,
        session: &session,
        clients: args.clients,
        duration: args.duration,
        rate: args.rate,
        workload: &workload,
    };
    let o = drive::run(&plan).await;
    if let (Some(c), Workload::Builtin { table, .. }) = (&setup, &workload) {
        c.client
            .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
            .await
            .pg_context(|| format!("dropping the scratch table {table}"))?;
    }
    if o.connected == 0 {
        return Err(Error::unavailable(format!(
            "no client could connect: {}",
            o.connect_error.as_deref().unwrap_or("unknown error")
        )));
    }
    let errors: u64 = o.errors_by_sqlstate.values().sum();
    let elapsed = o.elapsed.as_secs_f64();
    let throughput = if elapsed > 0.0 {
        o.requests as f64 / elapsed
    } else {
        0.0
    };
    let acquisition = percentiles(&o.acquisition);
    let latency = percentiles(&o.latency);
    let cpu_ms = o.cpu.as_secs_f64() * 1000.0;
    let sent = o.requests + errors;
    let mut r = LoadResult {
        time: Timestamp::now(),
        target: target.to_string(),
        mode: if args.rate.is_some() {
            LoadMode::Open
        } else {
            LoadMode::Closed
        },
        rate: args.rate,
        clients: args.clients,
        connected: o.connected,
        connect_errors: o.connect_errors,
        connect_error: o.connect_error,
        workload: args
            .sql
            .as_ref()
            .map_or_else(|| "builtin".to_owned(), |p| p.display().to_string()),
        duration_ms: round3(args.duration.as_secs_f64() * 1000.0),
        elapsed_ms: round3(elapsed * 1000.0),
        requests: o.requests,
        errors,
        errors_by_sqlstate: o.errors_by_sqlstate,
        unsent: o.unsent,
        throughput_rps: round3(throughput),
        acquisition,
        latency,
        client_cpu_ms: round3(cpu_ms),
        client_cpu_per_request_ms: (sent > 0).then(|| (cpu_ms / sent as f64 * 1e6).round() / 1e6),
        verdict: None,
        missed: Vec::new(),
    };
    judge(args, &mut r);
    Ok(r)
}

/// Create and fill the built-in workload's scratch table (unlogged: it is
/// thrown away), on a session of its own that also drops it at the end.
async fn scratch_table(target: &Target, session: &Session) -> Result<(Connection, String)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("sw_load_{}_{nanos:08x}", std::process::id());
    let t = quote_ident(&name);
    let c = pg::connect(target, session).await?;
    c.client
        .batch_execute(&format!(
            "CREATE UNLOGGED TABLE {t} (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, v text NOT NULL); \
             INSERT INTO {t} (id, v) SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g; \
             ANALYZE {t}"
        ))
        .await
        .pg_context(|| format!("creating the scratch table {name} (use --sql where the role cannot create tables)"))?;
    Ok((c, t))
}

/// With targets asked for, set the verdict and the targets missed.
fn judge(args: &LoadArgs, r: &mut LoadResult) {
    let judged =
        args.targets || args.target_rps.is_some() || args.target_p95.is_some() || args.target_acquisition.is_some();
    if !judged {
        return;
    }
    let rps = args.target_rps.unwrap_or(SEED_RPS);
    let p95 = args.target_p95.unwrap_or(SEED_P95).as_secs_f64() * 1000.0;
    let acq = args.target_acquisition.unwrap_or(SEED_ACQUISITION).as_secs_f64() * 1000.0;
    if r.throughput_rps < rps {
        r.missed
            .push(format!("throughput {:.1} req/s < {rps} req/s", r.throughput_rps));
    }
    if r.latency.p95_ms >= p95 {
        r.missed.push(format!("p95 {} ms >= {p95} ms", r.latency.p95_ms));
    }
    if r.acquisition.p95_ms >= acq {
        r.missed
            .push(format!("acquisition p95 {} ms >= {acq} ms", r.acquisition.p95_ms));
    }
    if r.connect_errors > 0 {
        r.missed.push(format!(
            "{} of {} clients could not connect",
            r.connect_errors, r.clients
        ));
    }
    r.verdict = Some(if !r.missed.is_empty() {
        LoadVerdict::Critical
    } else if r.errors > 0 || r.unsent > 0 {
        LoadVerdict::Warning
    } else {
        LoadVerdict::Ok
    });
}

fn print_summary(r: &LoadResult) {
    eprintln!(
        "sw-health load: {} clients ({} connected), {} mode, {:.1} s: {} requests, {} errors, {:.1} req/s",
        r.clients,
        r.connected,
        if r.mode == LoadMode::Open { "open" } else { "closed" },
        r.elapsed_ms / 1000.0,
        r.requests,
        r.errors,
        r.throughput_rps
    );
    eprintln!(
        "  latency ms p50 {} p95 {} p99 {} max {}; acquisition ms p50 {} p95 {} max {}",
        r.latency.p50_ms,
        r.latency.p95_ms,
        r.latency.p99_ms,
        r.latency.max_ms,
        r.acquisition.p50_ms,
        r.acquisition.p95_ms,
        r.acquisition.max_ms
    );
    for (k, n) in &r.errors_by_sqlstate {
        eprintln!("  errors {k}: {n}");
    }
}
