//! The round trips of one Azure run, at the same time: the server, the one
//! metrics request, the backups, the server parameters and the replicas
//! (then each replica's lag). Each result is the answer or a
//! one-line reason, so one failing call costs only the checks that need it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Spec;
use super::metrics::{self, Answer};

/// What a run read from the Resource Manager (or why not).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The server resource.
    pub server: Result<Value, String>,
    /// The metrics answer.
    pub metrics: Result<Answer, String>,
    /// The server's backups.
    pub backups: Result<Vec<Value>, String>,
    /// The server's read replicas, each with its replay lag in seconds.
    pub replicas: Result<Vec<Replica>, String>,
    /// The server parameters (for those waiting for a restart).
    pub parameters: Result<Vec<Value>, String>,
    /// When the run asked (the metrics timespan ends here; ages count from it).
    pub now: DateTime<Utc>,
}

impl Fetched {
    /// Every round trip failed for the same reason (no client, no time).
    pub fn failed(why: &str, now: DateTime<Utc>) -> Fetched {
        Fetched {
            server: Err(why.to_owned()),
            metrics: Err(why.to_owned()),
            backups: Err(why.to_owned()),
            replicas: Err(why.to_owned()),
            parameters: Err(why.to_owned()),
            now,
        }
    }
}

/// A read replica of the server.
#[derive(Debug, Clone)]
pub struct Replica {
    pub name: String,
    /// `replicationState` (Active, Catchup, Broken, ...).
    pub state: String,
    /// Its replay lag over the last minutes, or why there is none.
    pub lag: Result<Option<f64>, String>,
}

/// Read the server, its metrics and its backups, each round trip within
/// `within` (blocking: run it off the async runtime).
pub fn fetch(spec: &Spec, within: Duration) -> Fetched {
    let now = Utc::now();
    let c = match spec.client(within) {
        Ok(c) => c,
        Err(e) => return Fetched::failed(&e.to_string(), now),
    };
    let s = &spec.server;
    std::thread::scope(|scope| {
        let server = scope.spawn(|| one_line(c.get(&s.path(""))));
        let metrics = scope.spawn(|| one_line(c.get(&metrics::request_path(&s.id(), now))).map(|b| Answer::parse(&b)));
        let backups = scope.spawn(|| one_line(c.list(&s.path("/backups"))));
        let parameters = scope.spawn(|| one_line(c.list(&s.path("/configurations"))));
        let replicas = one_line(c.list(&s.path("/replicas"))).map(|list| lags(&c, &list, now));
        Fetched {
            server: server.join().unwrap_or_else(|_| Err("panicked".into())),
            metrics: metrics.join().unwrap_or_else(|_| Err("panicked".into())),
            backups: backups.join().unwrap_or_else(|_| Err("panicked".into())),
            replicas,
            parameters: parameters.join().unwrap_or_else(|_| Err("panicked".into())),
            now,
        }
    })
}

/// The replay lag of each replica, read at the same time.
fn lags(c: &sw_core::azure::ArmClient, list: &[Value], now: DateTime<Utc>) -> Vec<Replica> {
    use sw_core::azure::flexible::text;
    std::thread::scope(|scope| {
        let asks: Vec<_> = list
            .iter()
            .map(|r| {
                let id = text(r, "/id").to_owned();
                let h = scope.spawn(move || {
                    let a = Answer::parse(&c.get(&metrics::lag_request_path(&id, now)).map_err(|e| e.to_string())?);
                    match a.get(metrics::LAG) {
                        Some(metrics::Reading::Failed(why)) => Err(why.clone()),
                        _ => Ok(a.value(metrics::LAG)),
                    }
                });
                (r, h)
            })
            .collect();
        asks.into_iter()
            .map(|(r, h)| Replica {
                name: text(r, "/name").to_owned(),
                state: text(r, "/properties/replica/replicationState").to_owned(),
                lag: h.join().unwrap_or_else(|_| Err("panicked".into())),
            })
            .collect()
    })
}

fn one_line<T>(r: sw_core::Result<T>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}
