//! `deadlocks` and `failed_sessions`: events in the last 5 minutes, from
//! cumulative counters in pg_stat_database compared with the samples that
//! earlier runs kept in the state dir (one query for both; the samples are
//! kept even when only one of the two is wanted).

use serde_json::json;

use super::{Check, How, Measured, Row, Scope, round3};
use crate::check::runner::Runner;
use crate::check::session::Sess;
use crate::check::state::{Sample, State, prune_history, window_rate};

pub const DEADLOCKS: Check = Check {
    name: "deadlocks",
    unit: "per_5min",
    warn: Some(5.0),
    crit: Some(20.0),
    below: false,
    scope: Scope::Cluster,
    help: "deadlocks in the last 5 minutes (counters kept in the state dir; scaled when runs are further apart)",
    how: How::Own,
};

pub const FAILED_SESSIONS: Check = Check {
    name: "failed_sessions",
    unit: "per_5min",
    warn: Some(50.0),
    crit: Some(200.0),
    below: false,
    scope: Scope::Cluster,
    help: "fatal, abandoned and killed sessions (PostgreSQL 14+), as deadlocks",
    how: How::Own,
};

/// The checks this module reports, with the counter's column in the query.
const COUNTERS: [(usize, &Check); 2] = [(0, &DEADLOCKS), (1, &FAILED_SESSIONS)];

/// The checks this module reports.
pub const CHECKS: &[&Check] = &[&DEADLOCKS, &FAILED_SESSIONS];

/// Read the counters, report the rates and keep this sample in `next`.
pub async fn run(r: &mut Runner<'_>, s: &mut Sess, version_num: i64, prev: Option<&State>, next: &mut State) {
    if !r.wants_any(CHECKS) {
        return;
    }
    let failed_sql = if version_num >= 140_000 {
        "sum(sessions_fatal + sessions_abandoned + sessions_killed)"
    } else {
        "NULL::numeric"
    };
    let sql =
        format!("SELECT sum(deadlocks), {failed_sql}, extract(epoch from clock_timestamp()) FROM pg_stat_database");
    let rows = match r.rows(s, &sql).await {
        Ok(rows) => rows,
        Err(why) => {
            for c in CHECKS {
                if r.wants(c) {
                    r.unknown(c, None, why.clone());
                }
            }
            return;
        }
    };
    let row = Row::first(&rows);
    let now = row.num(2).unwrap_or(0.0);
    let earlier = prev.map(State::samples).unwrap_or_default();
    next.time = now;
    next.counters.clear();
    for (i, c) in COUNTERS {
        let Some(cur) = row.num(i) else {
            if r.wants(c) {
                r.skip(c);
            }
            continue;
        };
        next.counters.insert(c.name.to_owned(), cur);
        if r.wants(c) {
            r.push(c, None, rate(c, &earlier, now, cur));
        }
    }
    let mut h = std::mem::take(&mut next.history);
    h.push(Sample {
        time: now,
        counters: next.counters.clone(),
    });
    next.history = prune_history(h, now);
}

/// The rate of `c`'s counter, now at `cur`, over the earlier samples.
fn rate(c: &Check, earlier: &[Sample], now: f64, cur: f64) -> Measured {
    let points: Vec<(f64, f64)> = earlier
        .iter()
        .filter_map(|s| s.counters.get(c.name).map(|v| (s.time, *v)))
        .collect();
    match window_rate(&points, now, cur) {
        Some((delta, elapsed, rate)) => Measured::new(
            Some(rate),
            format!("{delta:.0} {} in the last {elapsed:.0} s", c.name.replace('_', " ")),
            json!({"delta": delta, "interval_s": round3(elapsed), "total": cur}),
        ),
        None => Measured::new(
            None,
            "first sample (or counters reset): a rate needs the next run",
            json!({"total": cur}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sample_has_no_rate_and_the_next_one_does() {
        let m = rate(&DEADLOCKS, &[], 60.0, 4.0);
        assert_eq!((m.value, m.details["total"].as_f64()), (None, Some(4.0)));
        let earlier = [Sample {
            time: 0.0,
            counters: [("deadlocks".to_owned(), 1.0)].into(),
        }];
        let m = rate(&DEADLOCKS, &earlier, 60.0, 4.0);
        assert_eq!(m.value, Some(3.0));
        assert_eq!(m.message, "3 deadlocks in the last 60 s");
    }
}
