//! `latency`: `--latency-samples` round trips of `SELECT 1` on the check
//! session, right after connecting; p95 is the value, p50/p99 and the
//! connect time are in details. Not one query, so its own module.

use std::time::{Duration, Instant};

use serde_json::json;
use sw_core::duration::millis_f64;

use super::{Check, How, Measured, Scope, round3};
use crate::check::runner::{NOT_RUN, Runner};
use crate::check::session::Sess;

pub const LATENCY: Check = Check {
    name: "latency",
    unit: "ms",
    warn: Some(100.0),
    crit: Some(500.0),
    below: false,
    scope: Scope::Client,
    help: "p95 of --latency-samples round trips; p50/p99 and connect time in details",
    how: How::Own,
};

/// Time the round trips (within this check's timeout) and report them.
pub async fn run(r: &mut Runner<'_>, s: &mut Sess, samples: u32, connect_ms: f64) {
    if !r.wants(&LATENCY) {
        return;
    }
    let Some(t) = r.timeout() else {
        r.unknown(&LATENCY, None, NOT_RUN.into());
        return;
    };
    let mut took = Vec::new();
    let until = Instant::now() + t;
    for _ in 0..samples {
        if Instant::now() >= until {
            break;
        }
        let t0 = Instant::now();
        let wait = until.saturating_duration_since(t0) + Duration::from_secs(1);
        match tokio::time::timeout(wait, s.client.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => took.push(millis_f64(t0.elapsed())),
            Ok(Err(_)) => break,
            Err(_) => {
                s.dead = true;
                break;
            }
        }
    }
    match measure(took, connect_ms) {
        Some(m) => r.push(&LATENCY, None, m),
        None => r.unknown(&LATENCY, None, "no round trip completed".into()),
    }
}

/// p50/p95/p99 of the round trips (ms); None without any.
fn measure(mut took: Vec<f64>, connect_ms: f64) -> Option<Measured> {
    if took.is_empty() {
        return None;
    }
    took.sort_by(f64::total_cmp);
    let p = |q: f64| round3(took[rank(took.len(), q)]);
    let (p50, p95, p99) = (p(0.5), p(0.95), p(0.99));
    Some(Measured::new(
        Some(p95),
        format!("p95 {p95} ms over {} round trips", took.len()),
        json!({"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "samples": took.len(),
               "connect_ms": round3(connect_ms)}),
    ))
}

/// The index of quantile `q` (0..=1) among `len` sorted samples (nearest rank).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the rounded rank lies in 0..len (q is within 0..=1), so it fits a usize"
)]
fn rank(len: usize, q: f64) -> usize {
    let i = ((len as f64 - 1.0) * q).round() as usize;
    i.min(len - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_ranks() {
        assert_eq!(
            (rank(1, 0.95), rank(5, 0.5), rank(5, 0.95), rank(100, 0.99)),
            (0, 2, 4, 98)
        );
        let m = measure(vec![5.0, 1.0, 2.0, 4.0, 3.0], 7.25).unwrap();
        assert_eq!(m.value, Some(5.0));
        assert_eq!(m.details["p50_ms"], 3.0);
        assert_eq!(m.details["samples"], 5);
        assert_eq!(m.message, "p95 5 ms over 5 round trips");
        assert!(measure(Vec::new(), 1.0).is_none());
    }
}
