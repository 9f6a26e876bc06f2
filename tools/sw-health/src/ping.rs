//! `sw-health ping`: one connection, one record.
//!
//! Connect time covers TCP, TLS and authentication plus the session set-up
//! round trip; latency is measured with the simple-query protocol (one
//! round trip per `SELECT 1`), reported as min/median/max over `--count`.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use sw_core::cli::PgOpts;
use sw_core::output::{Output, now_rfc3339};
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

/// The `health.ping` record.
#[derive(Debug, Serialize)]
pub struct PingResult {
    pub time: String,
    /// `ok` or `unreachable`.
    pub status: &'static str,
    pub target: String,
    pub server_version: Option<String>,
    pub server_version_num: Option<i32>,
    pub tls: Option<bool>,
    pub tls_version: Option<String>,
    pub tls_cipher: Option<String>,
    pub connect_ms: Option<f64>,
    pub rtt_min_ms: Option<f64>,
    pub rtt_p50_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
    pub samples: u32,
    /// Why the server could not be reached (redacted), when it could not.
    pub error: Option<String>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Run `ping`: exit 0 when reachable, 2 when not.
pub fn run(args: &PingArgs, pretty: bool) -> Result<()> {
    let target = args.pg.target()?;
    let mut out = Output::stdout(pretty);
    let res = sw_core::cli::block_on(probe(args));
    match res {
        Ok(r) => out.record("health.ping", &r),
        Err(e) if e.exit() == Exit::Usage || e.exit() == Exit::Software => Err(e),
        Err(e) => {
            let r = PingResult {
                time: now_rfc3339(),
                status: "unreachable",
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
            out.record("health.ping", &r)?;
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
        time: now_rfc3339(),
        status: "ok",
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
