//! Driving the load: connect every client, then run requests
//! closed-loop (each client as fast as answers come) or open-loop (a fixed
//! schedule at --rate, latency counted from the scheduled time so a slow
//! answer cannot hide the requests queued behind it).
//!
//! Everything runs on the current-thread runtime (like pgbench's default
//! single thread) and the clients are plain futures joined together, so the
//! shared counters are `Cell`s.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hdrhistogram::Histogram;
use sw_core::pg::{self, Session};
use sw_core::target::Target;
use tokio_postgres::Client;

/// What one request runs.
pub enum Workload {
    /// The built-in read-mostly mix on a scratch table (`table` is quoted)
    /// of `rows` rows: 9 in 10 a primary-key SELECT, 1 in 10 an UPDATE of one row.
    Builtin { table: String, rows: u64 },
    /// The --sql file's text, sent whole as one simple query per request.
    Sql(String),
}

impl Workload {
    fn request(&self, rng: &mut u64) -> String {
        match self {
            Workload::Sql(s) => s.clone(),
            Workload::Builtin { table, rows } => {
                let r = next(rng);
                let id = r % rows + 1;
                if (r >> 32).is_multiple_of(10) {
                    format!("UPDATE {table} SET n = n + 1 WHERE id = {id}")
                } else {
                    format!("SELECT v, n FROM {table} WHERE id = {id}")
                }
            }
        }
    }
}

/// xorshift64*: ids only need to spread, not be unpredictable.
fn next(s: &mut u64) -> u64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    s.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// The run asked for.
pub struct Plan<'a> {
    pub target: &'a Target,
    pub session: &'a Session,
    pub clients: u32,
    pub duration: Duration,
    pub rate: Option<f64>,
    pub workload: &'a Workload,
}

/// What happened.
pub struct Outcome {
    pub acquisition: Histogram<u64>,
    pub latency: Histogram<u64>,
    pub connected: u32,
    pub connect_errors: u64,
    pub connect_error: Option<String>,
    pub requests: u64,
    pub errors_by_sqlstate: BTreeMap<String, u64>,
    /// Open loop: scheduled requests no client was free to send by the end.
    pub unsent: u64,
    pub elapsed: Duration,
    pub cpu: Duration,
}

/// Microsecond histograms up to an hour, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    #[allow(clippy::expect_used, reason = "constant, valid bounds")]
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn cpu_time() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(Duration::ZERO, |u| {
        let t = |tv: nix::sys::time::TimeVal| {
            Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
                + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
        };
        t(u.user_time()) + t(u.system_time())
    })
}

/// The key a failed request is counted under.
fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map_or_else(|| "connection".to_owned(), |c| c.code().to_owned())
}

struct Worker {
    latency: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

/// The open-loop schedule shared by every client.
struct Schedule {
    next: Cell<u64>,
    total: u64,
    interval: Duration,
}

async fn work(c: Client, p: &Plan<'_>, start: Instant, sched: Option<&Schedule>, seed: u64) -> Worker {
    let mut w = Worker {
        latency: histogram(),
        ok: 0,
        errors: BTreeMap::new(),
    };
    let deadline = start + p.duration;
    let mut rng = seed | 1;
    loop {
        let from = match sched {
            None => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
            Some(s) => {
                let k = s.next.get();
                if k >= s.total || Instant::now() >= deadline {
                    break;
                }
                s.next.set(k + 1);
                let at = start + s.interval.mul_f64(k as f64);
                tokio::time::sleep_until(at.into()).await;
                at
            }
        };
        let sql = p.workload.request(&mut rng);
        let r = c.simple_query(&sql).await;
        w.latency.saturating_record(micros(from.elapsed()));
        match r {
            Ok(_) => w.ok += 1,
            Err(e) => {
                *w.errors.entry(sqlstate(&e)).or_default() += 1;
                if c.is_closed() {
                    break;
                }
            }
        }
    }
    w
}

/// Connect `clients` sessions one after another, then run the measured
/// phase. One at a time so that each acquisition is that connection's own
/// TCP, TLS and authentication cost: connecting all at once on this one
/// thread would queue the handshakes behind each other's client-side
/// crypto and measure the probe instead of the server.
pub async fn run(p: &Plan<'_>) -> Outcome {
    let mut acquisition = histogram();
    let mut clients = Vec::new();
    let mut connect_errors = 0;
    let mut connect_error = None;
    for _ in 0..p.clients {
        match pg::connect(p.target, p.session).await {
            Ok(c) => {
                acquisition.saturating_record(micros(c.connect_time));
                clients.push(c.client);
            }
            Err(e) => {
                connect_errors += 1;
                connect_error.get_or_insert_with(|| sw_core::secret::redact(&e.to_string()));
                // Unreachable: don't wait out --connect-timeout once per client.
                if clients.is_empty() {
                    break;
                }
            }
        }
    }
    let connected = u32::try_from(clients.len()).unwrap_or(u32::MAX);
    let sched = p.rate.map(|r| Schedule {
        next: Cell::new(0),
        // Bounded: never more than rate x duration requests (at most 6e8 by the flags' ranges).
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "positive and bounded"
        )]
        total: (r * p.duration.as_secs_f64()).floor() as u64,
        interval: Duration::from_secs_f64(1.0 / r),
    });
    let cpu0 = cpu_time();
    let start = Instant::now();
    let base = u64::from(std::process::id()) << 32;
    let workers = clients.into_iter().enumerate().map(|(i, c)| {
        work(
            c,
            p,
            start,
            sched.as_ref(),
            base ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    });
    let done = join_all(workers).await;
    let elapsed = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    let mut latency = histogram();
    let mut requests = 0;
    let mut errors_by_sqlstate: BTreeMap<String, u64> = BTreeMap::new();
    for w in done {
        let _ = latency.add(&w.latency);
        requests += w.ok;
        for (k, n) in w.errors {
            *errors_by_sqlstate.entry(k).or_default() += n;
        }
    }
    let unsent = sched.map_or(0, |s| s.total.saturating_sub(s.next.get()));
    Outcome {
        acquisition,
        latency,
        connected,
        connect_errors,
        connect_error,
        requests,
        errors_by_sqlstate,
        unsent,
        elapsed,
        cpu,
    }
}
