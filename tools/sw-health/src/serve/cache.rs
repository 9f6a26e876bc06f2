//! The exporter's one rule about load: the checks run at most once per
//! `--min-interval`, however many scrapers there are. A scrape gets the
//! last result while it is younger than that; otherwise the first scrape
//! to need a new one runs the checks (bounded by its scrape budget) and
//! every scrape arriving meanwhile waits for that same run, or, when its
//! own budget ends first, gets the previous result (its
//! `sw_health_last_run_timestamp_seconds` shows how old).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sw_core::health::HealthReport;

use crate::check::{Prepared, RunOpts, sweep};

/// A result and when it was ready.
type Ready = (Instant, Arc<Vec<HealthReport>>);

#[derive(Default)]
struct Cache {
    last: Option<Ready>,
    running: bool,
    runs: u64,
}

/// The checks behind `/metrics`.
pub struct Exporter {
    prep: Prepared,
    opts: RunOpts,
    min_interval: Duration,
    cache: Mutex<Cache>,
    done: Condvar,
}

/// Marks the run finished even if it panics, so waiting scrapes go on.
struct Running<'a>(&'a Exporter);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.lock().running = false;
        self.0.done.notify_all();
    }
}

impl Exporter {
    pub fn new(prep: Prepared, opts: RunOpts, min_interval: Duration) -> Exporter {
        Exporter {
            prep,
            opts,
            min_interval,
            cache: Mutex::new(Cache::default()),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The reports for a scrape that may take `budget`, and how many check
    /// runs there have been; None when there is no result at all yet.
    pub fn scrape(&self, budget: Duration) -> Option<(Arc<Vec<HealthReport>>, u64)> {
        let until = Instant::now() + budget;
        let mut c = self.lock();
        loop {
            if let Some((at, r)) = &c.last
                && at.elapsed() < self.min_interval
            {
                return Some((r.clone(), c.runs));
            }
            if !c.running {
                c.running = true;
                c.runs += 1;
                drop(c);
                let guard = Running(self);
                let reports = Arc::new(self.check(until));
                let mut c = self.lock();
                c.last = Some((Instant::now(), reports.clone()));
                let runs = c.runs;
                drop(c);
                drop(guard);
                return Some((reports, runs));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return c.last.as_ref().map(|(_, r)| (r.clone(), c.runs));
            }
            c = self
                .done
                .wait_timeout(c, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// One run over every target, done by `until` (less a margin to write
    /// the response): targets not done by then report what they have.
    fn check(&self, until: Instant) -> Vec<HealthReport> {
        let overall = until.checked_sub(Duration::from_millis(250)).unwrap_or(until);
        let plan = self.prep.plan(&self.opts);
        let mut reports = Vec::new();
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                log::error!("starting the async runtime: {e}");
                return reports;
            }
        };
        let parallel = usize::from(self.opts.parallel);
        let res = rt.block_on(sweep::sweep(&plan, &self.prep.targets, parallel, Some(overall), |r| {
            reports.push(r);
            Ok(())
        }));
        if let Err(e) = res {
            log::error!("check run: {e}");
        }
        reports
    }
}
