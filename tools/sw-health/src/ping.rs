//! `sw-health ping`: one connection, one record.
//!
//! Connect time covers TCP, TLS and authentication plus the session set-up
//! round trip; latency is measured with the simple-query protocol (one
//! round trip per `SELECT 1`), reported as min/median/max over `--count`.

use std::time::{Duration, Instant};

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::PgOpts;
use sw_core::contract::{Record, Timestamp};
use sw_core::output::Output;
use sw_core::{Error, Exit, PgContext, Result};

/// Flags of `sw-health ping`.
#[derive(Args, Debug)]
pub struct PingArgs {
    #[command(flatten)]
    pub pg: PgOpts,
    /// Round trips to time after connecting.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub count: u32,
}

/// Whether the server could be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PingStatus {
    /// Connected, and the round trips were timed.
    Ok,
    /// Could not connect (or the server did not answer); `error` says why.
    Unreachable,
}

/// The result of one ping: reachability, server version, TLS, connect time
/// and round-trip latency.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PingResult {
    /// When the ping finished.
    pub time: Timestamp,
    /// ok, or unreachable (exit 2).
    pub status: PingStatus,
    /// The target, with its password redacted.
    pub target: String,
    /// The server's version, e.g. 15.4; null when unreachable.
    pub server_version: Option<String>,
    /// The server's version as a number, e.g. 150004; null when unreachable.
    pub server_version_num: Option<i32>,
    /// Whether the session uses TLS; null when unreachable.
    pub tls: Option<bool>,
    /// The TLS protocol version, e.g. TLSv1.3; null without TLS.
    pub tls_version: Option<String>,
    /// The TLS cipher suite; null without TLS.
    pub tls_cipher: Option<String>,
    /// Time to a ready session (TCP, TLS, authentication, session set-up); null when unreachable.
    pub connect_ms: Option<f64>,
    /// The fastest SELECT 1 round trip; null when unreachable.
    pub rtt_min_ms: Option<f64>,
    /// The median round trip; null when unreachable.
    pub rtt_p50_ms: Option<f64>,
    /// The slowest round trip; null when unreachable.
    pub rtt_max_ms: Option<f64>,
    /// Round trips timed (--count; 0 when unreachable).
    pub samples: u32,
    /// Why the server could not be reached (redacted); null when it could.
    pub error: Option<String>,
}

impl Record for PingResult {
    const KIND: &'static str = "health.ping";
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Run `ping`: exit 0 when reachable, 2 when not.
///
/// # Errors
/// 2 when the server cannot be reached (after printing the record); 64,
/// 66, 74, 77 or 78 for a target that cannot be resolved.
pub fn run(args: &PingArgs, pretty: bool) -> Result<()> {
    let target = args.pg.target()?;
    let mut out = Output::stdout(pretty);
    let res = sw_core::cli::block_on(probe(args));
    match res {
        Ok(r) => out.emit(&r),
        Err(e) if e.exit() == Exit::Usage || e.exit() == Exit::Software => Err(e),
        Err(e) => {
            let r = PingResult {
                time: Timestamp::now(),
                status: PingStatus::Unreachable,
                target: target.to_string(),
                server_version: None,
                server_version_num: None,
                tls: None,
                tls_version: None,
                tls_cipher: None,
                connect_ms: None,
                rtt_min_ms: None,
                rtt_p50_ms: None,
                rtt_max_ms: None,
                samples: 0,
                error: Some(e.to_string()),
            };
            out.emit(&r)?;
            // Monitoring convention: unreachable is CRITICAL.
            Err(e.with_exit(Exit::Critical))
        }
    }
}

async fn probe(args: &PingArgs) -> Result<PingResult> {
    let (target, conn) = args.pg.connect("sw-health").await?;
    let c = &conn.client;
    let row = c
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int, \
                    s.ssl, s.version, s.cipher \
             FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()",
            &[],
        )
        .await
        .pg_context(|| "reading server version and TLS state".into())?;
    let mut samples = Vec::with_capacity(args.count as usize);
    for _ in 0..args.count {
        let t = Instant::now();
        c.simple_query("SELECT 1")
            .await
            .pg_context(|| "timing round trips".into())?;
        samples.push(t.elapsed());
    }
    samples.sort();
    let p50 = samples.get(samples.len() / 2).copied();
    let tls: Option<bool> = row.get(2);
    if tls.is_none() {
        return Err(Error::software("pg_stat_ssl has no row for this backend"));
    }
    Ok(PingResult {
        time: Timestamp::now(),
        status: PingStatus::Ok,
        target: target.to_string(),
        server_version: row.get(0),
        server_version_num: row.get(1),
        tls,
        tls_version: row.get(3),
        tls_cipher: row.get(4),
        connect_ms: Some(ms(conn.connect_time)),
        rtt_min_ms: samples.first().copied().map(ms),
        rtt_p50_ms: p50.map(ms),
        rtt_max_ms: samples.last().copied().map(ms),
        samples: args.count,
        error: None,
    })
}
