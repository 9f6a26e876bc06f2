//! The `health.load` record.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::{Record, Timestamp};

/// How requests were issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// Each client sends its next request as soon as the last one answered.
    Closed,
    /// Requests are scheduled at --rate per second; latency counts from the scheduled time.
    Open,
}

/// The verdict against --targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadVerdict {
    /// Every target met and no request failed.
    Ok,
    /// Every target met, but some requests failed (exit 1).
    Warning,
    /// A target was missed (exit 2); `missed` names it.
    Critical,
}

/// Percentiles of one distribution, in milliseconds (microsecond precision).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One load run: connection acquisition, request latency, throughput and
/// errors, with the verdict when targets were asked for.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LoadResult {
    /// When the run finished.
    pub time: Timestamp,
    /// The target, with its password redacted.
    pub target: String,
    /// closed (as fast as answers come) or open (--rate).
    pub mode: LoadMode,
    /// Requests per second asked for with --rate; null in closed mode.
    pub rate: Option<f64>,
    /// Concurrent clients asked for (--clients).
    pub clients: u32,
    /// Clients that connected.
    pub connected: u32,
    /// Clients that could not connect (when the first attempt fails, the probe tries no more).
    pub connect_errors: u64,
    /// Why the first client that could not connect failed (redacted); null when all connected.
    pub connect_error: Option<String>,
    /// builtin (a read-mostly workload on a scratch table) or the --sql file's path.
    pub workload: String,
    /// The asked-for duration of the measured phase (--duration).
    pub duration_ms: f64,
    /// The measured phase as it ran (first request to last answer).
    pub elapsed_ms: f64,
    /// Requests answered without an error.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Failed requests by SQLSTATE ("connection" when the connection broke without one).
    pub errors_by_sqlstate: BTreeMap<String, u64>,
    /// Open loop: scheduled requests that no client was free to send before
    /// the end (a backlog: the server could not keep up with --rate); 0 in closed mode.
    pub unsent: u64,
    /// Answered requests per second over elapsed_ms.
    pub throughput_rps: f64,
    /// Connection acquisition per client: TCP, TLS, authentication and
    /// session set-up, the clients connecting one after another at the start.
    pub acquisition: Percentiles,
    /// Request latency (successful and failed), from the send (closed) or
    /// the scheduled time (open).
    pub latency: Percentiles,
    /// CPU time this process used during the measured phase (user + system).
    pub client_cpu_ms: f64,
    /// client_cpu_ms per request (answered or failed); null when none was sent.
    pub client_cpu_per_request_ms: Option<f64>,
    /// The verdict against the targets; null without --targets.
    pub verdict: Option<LoadVerdict>,
    /// The targets missed, e.g. "p95 142.1 ms >= 100 ms"; empty when all were met or not judged.
    pub missed: Vec<String>,
}

impl Record for LoadResult {
    const KIND: &'static str = "health.load";
}
