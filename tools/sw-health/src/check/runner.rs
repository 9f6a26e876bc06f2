//! The bookkeeping of one check run, shared by the runner and the checks'
//! own modules: which checks are wanted, how long a check may take (its
//! `--check-timeout`, capped by what is left of the `--deadline`), and the
//! results, judged against the effective thresholds as they are reported.

use std::time::{Duration, Instant};

use sw_core::cli::PgOpts;
use sw_core::health::{CheckResult, Status};

use super::session::{Fail, Sess};
use super::thresholds::Thresholds;
use crate::checks::{self, Check, Measured, Row, Selection, round3};

/// Why a check whose turn came after the deadline produced no value.
pub const NOT_RUN: &str = "not run: overall deadline reached";

/// One run's checks so far.
pub struct Runner<'a> {
    th: &'a Thresholds,
    selection: &'a Selection,
    deadline: Instant,
    check_timeout: Duration,
    pub results: Vec<CheckResult>,
    /// Checks that do not apply to this target.
    pub skipped: Vec<&'static Check>,
}

impl<'a> Runner<'a> {
    pub fn new(th: &'a Thresholds, selection: &'a Selection, deadline: Instant, check_timeout: Duration) -> Runner<'a> {
        Runner {
            th,
            selection,
            deadline,
            check_timeout,
            results: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Whether this run includes `c` (`--checks`, `--skip`).
    pub fn wants(&self, c: &Check) -> bool {
        self.selection.wants(c)
    }

    /// Whether `c` has a result already (an Azure metric leaves a check a
    /// SQL session of the same run measured to it).
    pub fn has(&self, c: &Check) -> bool {
        self.results.iter().any(|r| r.name == c.name)
    }

    /// What is left of the run's deadline.
    pub fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether this run includes any of `cs`.
    pub fn wants_any(&self, cs: &[&Check]) -> bool {
        cs.iter().any(|c| self.wants(c))
    }

    /// The statement timeout for the next check; None once the deadline
    /// is (all but) reached.
    pub fn timeout(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(5) {
            None
        } else {
            Some(left.min(self.check_timeout))
        }
    }

    /// How long a step outside the checks may wait: as [`Runner::timeout`],
    /// but a token 5 ms once the deadline has passed.
    pub fn wait(&self) -> Duration {
        self.timeout().unwrap_or(Duration::from_millis(5))
    }

    /// Session settings for one more connection: the connect timeout capped
    /// by what is left of the deadline (at least 100 ms).
    pub fn session(&self, pg: &PgOpts) -> sw_core::pg::Session {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let mut s = pg.session("sw-health");
        s.connect_timeout = s.connect_timeout.min(left.max(Duration::from_millis(100)));
        s
    }

    /// Report a check's measurement, judged against its thresholds.
    pub fn push(&mut self, c: &'static Check, db: Option<&str>, m: Measured) {
        debug_assert!(
            checks::by_name(c.name).is_some(),
            "{} is reported but not in the catalogue",
            c.name
        );
        let (warn, crit) = self.th.get(c);
        let status = c.judge(warn, crit, m.value).worst(m.at_least);
        self.results.push(CheckResult {
            name: c.name.to_owned(),
            database: db.map(str::to_owned),
            status,
            value: m.value.map(round3),
            unit: c.unit.to_owned(),
            warn,
            crit,
            below: c.below,
            message: m.message,
            details: m.details,
        });
    }

    /// A check that produced no value: UNKNOWN (a missing value judges OK,
    /// so the floor decides).
    pub fn unknown(&mut self, c: &'static Check, db: Option<&str>, why: String) {
        self.push(
            c,
            db,
            Measured::new(None, why, serde_json::Value::Null).floor(Status::Unknown),
        );
    }

    /// A check that does not apply to this target.
    pub fn skip(&mut self, c: &'static Check) {
        self.skipped.push(c);
    }

    /// One round trip for checks judged together: the rows, or why not.
    pub async fn rows(&self, s: &mut Sess, sql: &str) -> Result<Vec<Row>, String> {
        match self.timeout() {
            Some(t) => s.query(sql, t).await.map_err(Fail::message),
            None => Err(NOT_RUN.to_owned()),
        }
    }

    /// Run one single-query check and report what `eval` makes of its rows
    /// (UNKNOWN when it fails, times out or comes after the deadline).
    pub async fn sql<F>(&mut self, s: &mut Sess, c: &'static Check, db: Option<&str>, sql: &str, eval: F)
    where
        F: FnOnce(&[Row]) -> Measured,
    {
        let Some(t) = self.timeout() else {
            self.unknown(c, db, NOT_RUN.into());
            return;
        };
        match s.query(sql, t).await {
            Ok(rows) => {
                let m = eval(&rows);
                self.push(c, db, m);
            }
            Err(Fail::Timeout) => self.unknown(c, db, format!("timed out after {} ms", t.as_millis())),
            Err(Fail::Error(e)) => self.unknown(c, db, e),
        }
    }

    /// The results in catalogue order (per-database checks grouped by
    /// name) and the skipped checks' names, likewise.
    pub fn finish(mut self) -> (Vec<CheckResult>, Vec<String>) {
        self.results.sort_by_key(|c| checks::position(&c.name));
        // A check one side skipped (a remote server's host checks) and the other measured is not skipped.
        let results = &self.results;
        let mut skipped: Vec<&str> = self
            .skipped
            .iter()
            .map(|c| c.name)
            .filter(|n| !results.iter().any(|r| r.name == *n))
            .collect();
        skipped.sort_by_key(|n| checks::position(n));
        skipped.dedup();
        (self.results, skipped.into_iter().map(str::to_owned).collect())
    }
}
