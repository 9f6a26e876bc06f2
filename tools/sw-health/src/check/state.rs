//! What a run remembers for the next one, in `--state-dir`
//! (`health-<target key>.json`): counter samples behind the rates
//! (deadlocks, failed sessions per 5 minutes), the host CPU sample, the
//! server start time (restart detection) and since when replication slots
//! are inactive. Internal to sw-health: nothing else reads it, and a file
//! that cannot be read starts afresh.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The window the counter rates are measured over.
pub const RATE_WINDOW_S: f64 = 300.0;

/// Rate counters and other facts kept between runs.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    /// When the counters below were read (unix seconds, server clock).
    pub time: f64,
    pub counters: BTreeMap<String, f64>,
    /// Host CPU (busy, total) jiffies and when they were read (unix seconds).
    #[serde(default)]
    pub cpu: Option<(u64, u64, f64)>,
    /// pg_postmaster_start_time() seen by the previous run.
    #[serde(default)]
    pub started_at: Option<String>,
    /// Counter samples of recent runs (server time), enough to measure the
    /// last 5 minutes: every sample of that window plus the newest older one.
    #[serde(default)]
    pub history: Vec<Sample>,
    /// Replication slots seen inactive, and since when (unix seconds, server clock).
    #[serde(default)]
    pub slots_inactive_since: BTreeMap<String, f64>,
}

/// Counters at one time (unix seconds, server clock).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sample {
    pub time: f64,
    pub counters: BTreeMap<String, f64>,
}

impl State {
    /// The previous run's state; None when there is none or it cannot be read.
    pub fn load(p: &Path) -> Option<State> {
        let text = std::fs::read_to_string(p).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The state this run starts from and updates: the previous one with
    /// this run's server start time (the CPU sample is taken afresh).
    pub fn next(prev: Option<&State>, started_at: &str) -> State {
        State {
            time: prev.map_or(0.0, |p| p.time),
            counters: prev.map(|p| p.counters.clone()).unwrap_or_default(),
            cpu: None,
            started_at: Some(started_at.to_owned()),
            history: prev.map(State::samples).unwrap_or_default(),
            slots_inactive_since: prev.map(|p| p.slots_inactive_since.clone()).unwrap_or_default(),
        }
    }

    /// Save it (a failure is logged: the next run starts afresh).
    pub fn save(&self, p: &Path) {
        if let Ok(data) = serde_json::to_vec(self)
            && let Err(e) = sw_core::fsutil::atomic_write(p, &data, 0o600)
        {
            log::warn!("cannot save rate counters: {e}");
        }
    }

    /// Earlier samples, oldest first (a state file from before the history
    /// was kept gives its single sample).
    pub fn samples(&self) -> Vec<Sample> {
        if self.history.is_empty() && !self.counters.is_empty() {
            return vec![Sample {
                time: self.time,
                counters: self.counters.clone(),
            }];
        }
        self.history.clone()
    }
}

/// Events in the last 5 minutes from a counter: (delta, seconds covered,
/// value). With a sample at least 5 minutes old, the delta since the newest
/// such sample scaled to 5 minutes; with only younger samples, the delta
/// since the oldest (a lower bound, not extrapolated). Samples from before a
/// counter reset are ignored. None without a usable earlier sample.
pub fn window_rate(earlier: &[(f64, f64)], now: f64, cur: f64) -> Option<(f64, f64, f64)> {
    let mut usable: Vec<(f64, f64)> = earlier.iter().copied().filter(|(t, _)| *t < now).collect();
    usable.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(i) = usable.iter().rposition(|(_, v)| *v > cur) {
        usable.drain(..=i);
    }
    let base = usable
        .iter()
        .rev()
        .find(|(t, _)| now - t >= RATE_WINDOW_S)
        .or_else(|| usable.first())?;
    let (delta, elapsed) = (cur - base.1, now - base.0);
    Some((delta, elapsed, delta * RATE_WINDOW_S / elapsed.max(RATE_WINDOW_S)))
}

/// Keep the samples a later run needs: those inside the window and the
/// newest one before it.
pub fn prune_history(mut h: Vec<Sample>, now: f64) -> Vec<Sample> {
    h.retain(|s| s.time <= now);
    h.sort_by(|a, b| a.time.total_cmp(&b.time));
    let old = h.iter().filter(|s| now - s.time >= RATE_WINDOW_S).count();
    h.drain(..old.saturating_sub(1));
    let excess = h.len().saturating_sub(1000);
    h.drain(..excess);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_the_last_five_minutes_whatever_the_run_interval() {
        // One run a minute, 20 events a minute: 100 in the last 5 minutes, not 20.
        let earlier: Vec<(f64, f64)> = (0..6).map(|i| (f64::from(i) * 60.0, f64::from(i) * 20.0)).collect();
        let (delta, elapsed, rate) = window_rate(&earlier, 360.0, 120.0).unwrap();
        assert_eq!((delta, elapsed, rate), (100.0, 300.0, 100.0));
        // Runs 10 minutes apart: scaled down to 5 minutes.
        assert_eq!(window_rate(&[(0.0, 0.0)], 600.0, 40.0).unwrap().2, 20.0);
        // Only 2 minutes of history: what happened so far, not extrapolated.
        assert_eq!(window_rate(&[(0.0, 0.0), (60.0, 5.0)], 120.0, 8.0).unwrap().2, 8.0);
        // A counter reset: samples from before it are ignored.
        assert!(window_rate(&[(0.0, 50.0)], 60.0, 3.0).is_none());
        assert_eq!(window_rate(&[(0.0, 50.0), (60.0, 1.0)], 120.0, 3.0).unwrap().0, 2.0);
        assert!(window_rate(&[], 60.0, 3.0).is_none());
    }

    #[test]
    fn history_keeps_the_window_and_one_older_sample() {
        let s = |t: f64| Sample {
            time: t,
            counters: BTreeMap::new(),
        };
        let h = prune_history((0..20).map(|i| s(f64::from(i) * 60.0)).collect(), 1140.0);
        let times: Vec<f64> = h.iter().map(|x| x.time).collect();
        assert_eq!(times, vec![840.0, 900.0, 960.0, 1020.0, 1080.0, 1140.0]);
    }

    #[test]
    fn a_state_file_from_before_the_history_gives_its_one_sample() {
        let old: State = serde_json::from_str(r#"{"time": 60.0, "counters": {"deadlocks": 3.0}}"#).unwrap();
        let s = old.samples();
        assert_eq!((s.len(), s[0].time, s[0].counters["deadlocks"]), (1, 60.0, 3.0));
        let next = State::next(Some(&old), "2026-01-01");
        assert_eq!(next.history.len(), 1);
        assert_eq!(next.started_at.as_deref(), Some("2026-01-01"));
    }
}
