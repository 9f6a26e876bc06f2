//! The check catalogue: every check's stable name, unit, default
//! thresholds, direction and scope. Thresholds follow the Nagios range
//! convention: a value ABOVE `warn` (or BELOW it, for checks where lower is
//! worse, such as the cache hit ratio) is a WARNING.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

/// Where a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Once per run (cluster-wide statistics), in the first session.
    Cluster,
    /// In every database's session (`--all-databases`).
    Database,
    /// On this host, when the server runs here.
    Host,
    /// No SQL (connection, latency).
    Client,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub name: &'static str,
    pub unit: &'static str,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    /// Lower values are worse (cache hit ratio, uptime).
    pub below: bool,
    pub scope: Scope,
    pub help: &'static str,
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The catalogue, in report order.
pub const CATALOGUE: &[Def] = &[
    d(
        "connection",
        "ms",
        Some(1000.0),
        Some(5000.0),
        false,
        Scope::Client,
        "connect time (TCP, TLS, authentication); TLS in details",
    ),
    d(
        "uptime",
        "s",
        None,
        None,
        true,
        Scope::Cluster,
        "seconds since the server started (set a warn threshold to see restarts); version in details",
    ),
    d(
        "role",
        "",
        None,
        None,
        false,
        Scope::Cluster,
        "0 primary, 1 standby; primary-only checks are skipped on a standby",
    ),
    d(
        "connections",
        "%",
        Some(80.0),
        Some(95.0),
        false,
        Scope::Cluster,
        "client connections vs max_connections minus reserved; counts by state in details",
    ),
    d(
        "idle_in_transaction",
        "s",
        Some(120.0),
        Some(600.0),
        false,
        Scope::Cluster,
        "oldest session idle in a transaction",
    ),
    d(
        "long_query",
        "s",
        Some(300.0),
        Some(1800.0),
        false,
        Scope::Cluster,
        "oldest active query",
    ),
    d(
        "blocked",
        "s",
        Some(30.0),
        Some(300.0),
        false,
        Scope::Cluster,
        "oldest session waiting for a lock; blocking pids in details",
    ),
    d(
        "deadlocks",
        "per_5min",
        Some(5.0),
        Some(20.0),
        false,
        Scope::Cluster,
        "deadlocks in the last 5 minutes (counters kept in the state dir; scaled when runs are further apart)",
    ),
    d(
        "failed_sessions",
        "per_5min",
        Some(50.0),
        Some(200.0),
        false,
        Scope::Cluster,
        "fatal, abandoned and killed sessions (PostgreSQL 14+), as deadlocks",
    ),
    d(
        "xid_wraparound",
        "xids",
        Some(1.0e9),
        Some(1.5e9),
        false,
        Scope::Cluster,
        "age(datfrozenxid) of the oldest database; the 5 oldest tables (heap or TOAST) of the database checked in details",
    ),
    d(
        "mxid_wraparound",
        "mxids",
        Some(1.0e9),
        Some(1.5e9),
        false,
        Scope::Cluster,
        "mxid_age(datminmxid) of the oldest database; the 5 oldest tables of the database checked in details",
    ),
    d(
        "replication_lag",
        "s",
        Some(60.0),
        Some(300.0),
        false,
        Scope::Cluster,
        "primary: worst standby replay lag (bytes per standby in details); standby: replay delay",
    ),
    d(
        "replication_slots",
        "B",
        Some(GIB),
        Some(10.0 * GIB),
        false,
        Scope::Cluster,
        "most WAL retained by a slot; a slot inactive for 10 minutes (across runs) is WARNING, wal_status lost/unreserved CRITICAL",
    ),
    d(
        "archiver",
        "files",
        Some(10.0),
        Some(100.0),
        false,
        Scope::Cluster,
        "WAL files ready to archive; a failing archive_command is CRITICAL",
    ),
    d(
        "backup_age",
        "s",
        Some(93600.0),
        Some(180000.0),
        false,
        Scope::Client,
        "age of the newest complete backup in --backup-repo",
    ),
    d(
        "database_size",
        "B",
        None,
        None,
        false,
        Scope::Cluster,
        "total size of all databases; per database in details",
    ),
    d(
        "disk",
        "%",
        Some(80.0),
        Some(90.0),
        false,
        Scope::Host,
        "use of the file system holding the data directory (local server)",
    ),
    d(
        "cache_hit",
        "%",
        Some(98.0),
        Some(90.0),
        true,
        Scope::Cluster,
        "buffer cache hit ratio (judged after 100000 block accesses)",
    ),
    d(
        "dead_tuples",
        "%",
        Some(10.0),
        Some(30.0),
        false,
        Scope::Database,
        "worst dead-tuple share among tables with at least 10000 dead tuples",
    ),
    d(
        "autovacuum",
        "s",
        Some(86400.0),
        Some(604800.0),
        false,
        Scope::Database,
        "longest a table has waited for vacuum since crossing the autovacuum threshold",
    ),
    d(
        "sequences",
        "%",
        Some(85.0),
        Some(95.0),
        false,
        Scope::Database,
        "most used sequence, bounded by the type of the column it feeds",
    ),
    d(
        "invalid_indexes",
        "count",
        Some(0.0),
        None,
        false,
        Scope::Database,
        "indexes left invalid (failed CREATE/REINDEX CONCURRENTLY)",
    ),
    d(
        "prepared_xacts",
        "s",
        Some(300.0),
        Some(3600.0),
        false,
        Scope::Cluster,
        "oldest prepared transaction",
    ),
    d(
        "latency",
        "ms",
        Some(100.0),
        Some(500.0),
        false,
        Scope::Client,
        "p95 of --latency-samples round trips; p50/p99 and connect time in details",
    ),
    d(
        "tls",
        "rules",
        Some(0.0),
        None,
        false,
        Scope::Cluster,
        "non-TLS access rules for remote addresses (ssl off is WARNING)",
    ),
    d(
        "host_cpu",
        "%",
        Some(80.0),
        Some(95.0),
        false,
        Scope::Host,
        "host CPU use (local server)",
    ),
    d(
        "host_memory",
        "%",
        Some(85.0),
        Some(95.0),
        false,
        Scope::Host,
        "host memory use, from MemAvailable (local server)",
    ),
];

#[allow(clippy::too_many_arguments)]
const fn d(
    name: &'static str,
    unit: &'static str,
    warn: Option<f64>,
    crit: Option<f64>,
    below: bool,
    scope: Scope,
    help: &'static str,
) -> Def {
    Def {
        name,
        unit,
        warn,
        crit,
        below,
        scope,
        help,
    }
}

/// Look a check up by name.
pub fn def(name: &str) -> Option<&'static Def> {
    CATALOGUE.iter().find(|d| d.name == name)
}

fn unknown_check(name: &str) -> Error {
    let names: Vec<&str> = CATALOGUE.iter().map(|d| d.name).collect();
    Error::usage(format!("unknown check {name:?} (known: {})", names.join(", ")))
}

/// A check's result status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// Severity order for the overall status: OK < WARNING < UNKNOWN < CRITICAL.
    pub fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Unknown => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two.
    pub fn worst(self, o: Status) -> Status {
        if o.rank() > self.rank() { o } else { self }
    }

    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Monitoring-plugin exit code.
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
}

/// An override of one threshold: None keeps the catalogue default,
/// Some(None) clears it ("none"), Some(Some(v)) sets it.
type Override = Option<Option<f64>>;

/// Effective thresholds per check: overrides of (warn, crit).
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    over: BTreeMap<String, (Override, Override)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    warn: Option<f64>,
    crit: Option<f64>,
}

impl Thresholds {
    /// Load overrides from a TOML file: one table per check with `warn`
    /// and/or `crit`.
    pub fn load_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
        let map: BTreeMap<String, FileEntry> =
            toml::from_str(&text).map_err(|e| Error::config(format!("{}: {}", q(path), e.message())))?;
        for (name, e) in map {
            if def(&name).is_none() {
                return Err(Error::config(format!("{}: unknown check {name:?}", q(path))));
            }
            let slot = self.over.entry(name).or_default();
            if e.warn.is_some() {
                slot.0 = Some(e.warn);
            }
            if e.crit.is_some() {
                slot.1 = Some(e.crit);
            }
        }
        Ok(())
    }

    /// Apply a `NAME=VALUE` flag (`crit` selects the critical threshold).
    /// `NAME=none` removes the threshold.
    pub fn set_flag(&mut self, spec: &str, crit: bool) -> Result<()> {
        let (name, v) = spec
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("threshold {spec:?} is not NAME=VALUE")))?;
        def(name).ok_or_else(|| unknown_check(name))?;
        let v = if v == "none" {
            None
        } else {
            Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| Error::usage(format!("threshold {spec:?}: {v:?} is not a number")))?,
            )
        };
        // The last flag wins, "none" included (the default does not come back).
        let slot = self.over.entry(name.to_owned()).or_default();
        if crit {
            slot.1 = Some(v);
        } else {
            slot.0 = Some(v);
        }
        Ok(())
    }

    /// (warn, crit) for a check.
    pub fn get(&self, d: &Def) -> (Option<f64>, Option<f64>) {
        let (warn, crit) = self.over.get(d.name).copied().unwrap_or_default();
        (warn.unwrap_or(d.warn), crit.unwrap_or(d.crit))
    }
}

/// Judge a value against thresholds.
pub fn judge(d: &Def, warn: Option<f64>, crit: Option<f64>, value: Option<f64>) -> Status {
    let Some(v) = value else { return Status::Ok };
    let bad = |t: Option<f64>| t.is_some_and(|t| if d.below { v < t } else { v > t });
    if bad(crit) {
        Status::Critical
    } else if bad(warn) {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// Parse a comma-separated list of check names.
pub fn parse_list(list: &[String]) -> Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for item in list.iter().flat_map(|s| s.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        out.push(def(item).ok_or_else(|| unknown_check(item))?.name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thresholds_judge_both_directions() {
        let c = def("connections").unwrap();
        assert_eq!(judge(c, Some(80.0), Some(95.0), Some(80.0)), Status::Ok);
        assert_eq!(judge(c, Some(80.0), Some(95.0), Some(81.0)), Status::Warning);
        assert_eq!(judge(c, Some(80.0), Some(95.0), Some(96.0)), Status::Critical);
        let h = def("cache_hit").unwrap();
        assert_eq!(judge(h, Some(98.0), Some(90.0), Some(99.0)), Status::Ok);
        assert_eq!(judge(h, Some(98.0), Some(90.0), Some(95.0)), Status::Warning);
        assert_eq!(judge(h, Some(98.0), Some(90.0), Some(50.0)), Status::Critical);
    }

    #[test]
    fn flags_override_and_clear() {
        let mut t = Thresholds::default();
        t.set_flag("connections=50", false).unwrap();
        t.set_flag("connections=none", true).unwrap();
        assert_eq!(t.get(def("connections").unwrap()), (Some(50.0), None));
        assert!(t.set_flag("nope=1", false).is_err());
        assert!(t.set_flag("connections=x", false).is_err());
        assert_eq!(t.get(def("long_query").unwrap()), (Some(300.0), Some(1800.0)));
        // The last flag wins, also after "none".
        t.set_flag("connections=none", false).unwrap();
        t.set_flag("connections=70", false).unwrap();
        assert_eq!(t.get(def("connections").unwrap()).0, Some(70.0));
    }

    #[test]
    fn status_order() {
        assert_eq!(Status::Warning.worst(Status::Unknown), Status::Unknown);
        assert_eq!(Status::Critical.worst(Status::Unknown), Status::Critical);
    }
}
