//! The small state file: how long each action took on each table, and a
//! learned rate (bytes per second) per kind of action, so `--time-budget`
//! can judge what will fit before starting it. Written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sw_core::fsutil::{atomic_write, q};
use sw_core::{Error, Result};

use crate::float::saturating_u64;
use crate::plan::{Action, Item};

/// One past run of one action on one object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Past {
    pub ms: u64,
    pub bytes: i64,
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub version: u32,
    /// Learned bytes per second by action kind (`vacuum`, `analyze`, `reindex`, ...).
    #[serde(default)]
    pub rates: BTreeMap<String, f64>,
    /// Keyed by `database/schema.object/action`.
    #[serde(default)]
    pub runs: BTreeMap<String, Past>,
}

/// Conservative first guesses (bytes per second) before anything is learned.
fn default_rate(kind: &str) -> f64 {
    match kind {
        "analyze" => 400e6,
        "vacuum" => 150e6,
        "reindex" => 40e6,
        _ => 30e6,
    }
}

/// ANALYZE reads a sample: at most 30,000 pages at the default target.
const ANALYZE_MAX_BYTES: i64 = 30_000 * 8192;

/// The state file's key for an item.
pub fn key(it: &Item) -> String {
    format!(
        "{}/{}.{}/{}",
        it.database,
        it.schema,
        it.index.as_deref().unwrap_or(&it.table),
        it.action.rate_key()
    )
}

impl Item {
    /// The bytes an action has to read: the table, or for an index action
    /// the table (REINDEX scans it) plus the index.
    pub fn work_bytes(&self) -> i64 {
        let b = match self.action {
            Action::Analyze => self.table_bytes.min(ANALYZE_MAX_BYTES),
            Action::Reindex | Action::DropInvalidIndex => self.table_bytes + self.index_bytes.unwrap_or(0),
            _ => self.table_bytes,
        };
        b.max(0)
    }
}

impl State {
    /// Read the file; a missing file is an empty state, a damaged one is
    /// ignored with a warning (it only holds estimates).
    pub fn load(path: &Path) -> State {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                log::warn!("ignoring unreadable state file {}: {e}", q(path));
                State::default()
            }),
            Err(_) => State::default(),
        }
    }

    /// Write it atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::cant_create(format!("creating {}", q(dir))).with_source(e))?;
        }
        let mut s = self.clone();
        s.version = 1;
        let data =
            serde_json::to_vec_pretty(&s).map_err(|e| Error::software("rendering the state file").with_source(e))?;
        atomic_write(path, &data, 0o644)
    }

    /// Estimated milliseconds for an item: from its own past run scaled
    /// by size when there is one, else from the learned rate; plus a
    /// fixed overhead.
    pub fn estimate_ms(&self, it: &Item) -> u64 {
        let bytes = it.work_bytes() as f64;
        let est = match self.runs.get(&key(it)) {
            Some(p) if p.bytes > 0 => p.ms as f64 * (bytes / p.bytes as f64).max(0.5),
            Some(p) => p.ms as f64,
            None => {
                let kind = it.action.rate_key();
                let rate = self.rates.get(kind).copied().unwrap_or_else(|| default_rate(kind));
                bytes / rate.max(1.0) * 1000.0
            }
        };
        saturating_u64(est).saturating_add(50)
    }

    /// Remember a completed run and fold it into the learned rate.
    pub fn record(&mut self, it: &Item, ms: u64) {
        let bytes = it.work_bytes();
        self.runs.insert(key(it), Past { ms, bytes });
        // Only runs long enough to measure teach the rate.
        if ms >= 200 && bytes > 0 {
            let kind = it.action.rate_key().to_owned();
            let seen = bytes as f64 / (ms as f64 / 1000.0);
            let r = self.rates.entry(kind).or_insert(seen);
            *r = 0.7 * *r + 0.3 * seen;
        }
    }
}

/// The default state file: $XDG_STATE_HOME/sw when set (the systemd units
/// set it to /var/lib), else /var/lib/sw for root, else ~/.local/state/sw.
pub fn default_path() -> PathBuf {
    default_path_in(&sw_core::config::Env::process(), nix::unistd::geteuid().is_root())
}

fn default_path_in(env: &sw_core::config::Env, root: bool) -> PathBuf {
    const FILE: &str = "vacuum-state.json";
    if let Some(x) = env.get("XDG_STATE_HOME").filter(|s| s.starts_with('/')) {
        return PathBuf::from(x).join("sw").join(FILE);
    }
    if root {
        return PathBuf::from("/var/lib/sw").join(FILE);
    }
    let home = env.home().unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/state/sw").join(FILE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::plan::Action;

    fn item(action: Action, table_bytes: i64) -> Item {
        Item {
            rank: 1,
            database: "app".into(),
            schema: "public".into(),
            table: "t".into(),
            index: None,
            action,
            sql: String::new(),
            reason: String::new(),
            score: 2.0,
            xid_age: 0,
            mxid_age: 0,
            dead_tuples: 0,
            dead_ratio: 0.0,
            mod_since_analyze: 0,
            table_bytes,
            index_bytes: None,
            index_bloat_ratio: None,
            skip: None,
            table_oid: 1,
        }
    }

    #[test]
    fn estimates_scale_past_runs_by_size_and_learn_rates() {
        let mut s = State::default();
        let small = item(Action::VacuumAnalyze, 150_000_000);
        // Nothing learned: 150 MB at the default 150 MB/s, plus overhead.
        assert_eq!(s.estimate_ms(&small), 1050);
        s.record(&small, 4_000);
        assert_eq!(s.estimate_ms(&small), 4050);
        // The same table twice as big: twice as long.
        let big = item(Action::VacuumAnalyze, 300_000_000);
        assert_eq!(s.estimate_ms(&big), 8050);
        // Another table uses the learned rate (37.5 MB/s folded into 150 MB/s).
        let mut other = item(Action::VacuumAnalyze, 150_000_000);
        other.table = "u".into();
        let rate = s.rates["vacuum"];
        assert!((rate - (0.7 * 37.5e6 + 0.3 * 37.5e6)).abs() < 1.0, "{rate}");
        assert_eq!(s.estimate_ms(&other), 4050);
        // ANALYZE reads a bounded sample, not the whole table.
        let huge = item(Action::Analyze, 100_000_000_000);
        assert!(s.estimate_ms(&huge) < 1_000);
    }

    #[test]
    fn the_file_round_trips_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/state.json");
        let mut s = State::default();
        s.record(&item(Action::Reindex, 1_000_000), 500);
        s.save(&p).unwrap();
        let back = State::load(&p);
        assert_eq!(back.version, 1);
        assert_eq!(back.runs.len(), 1);
        std::fs::write(&p, "{not json").unwrap();
        assert!(State::load(&p).runs.is_empty());
    }

    #[test]
    fn default_path_follows_xdg_state_home() {
        use sw_core::config::Env;
        let xdg = Env::fixed([("XDG_STATE_HOME", "/var/lib"), ("HOME", "/home/u")]);
        assert_eq!(
            default_path_in(&xdg, false),
            PathBuf::from("/var/lib/sw/vacuum-state.json")
        );
        let home = Env::fixed([("HOME", "/home/u")]);
        assert_eq!(
            default_path_in(&home, false),
            PathBuf::from("/home/u/.local/state/sw/vacuum-state.json")
        );
        assert_eq!(
            default_path_in(&home, true),
            PathBuf::from("/var/lib/sw/vacuum-state.json")
        );
        let relative = Env::fixed([("XDG_STATE_HOME", "state"), ("HOME", "/home/u")]);
        assert!(default_path_in(&relative, false).starts_with("/home/u"));
    }
}
