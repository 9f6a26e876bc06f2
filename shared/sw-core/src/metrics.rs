//! The Prometheus metrics of sw-health: the names, labels and units that
//! sw-health writes (`--format prometheus`, `sw-health serve`) and that
//! `sw-alerts prometheus-rules` writes its alerting expressions over. One
//! place, so a rule can never name a metric the exporter does not write.
//!
//! Prometheus naming asks for one unit per metric, in base units, named in
//! the suffix. A check's value is therefore written into the family of its
//! unit, converted to the base unit: seconds (`s`, `ms`), bytes (`B`), a
//! 0-1 ratio (`%`), events per second (`per_5min`), or a plain number
//! (counts, transaction ids, files). Every value and status series carries
//! the labels `instance` (the target), `check` (the check's name) and
//! `database` (per-database checks; absent for cluster-wide ones), plus the
//! target's own labels from a targets file.

/// 1 when sw-health reached the target, 0 when it did not (`instance`).
pub const UP: &str = "sw_health_up";
/// The worst check status of the target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
pub const STATUS: &str = "sw_health_status";
/// How long the target's last run took (seconds).
pub const RUN_DURATION: &str = "sw_health_run_duration_seconds";
/// When the target's last run started (Unix time, seconds): a cached or
/// stuck result shows its age.
pub const LAST_RUN: &str = "sw_health_last_run_timestamp_seconds";
/// Each check's status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
pub const CHECK_STATUS: &str = "sw_health_check_status";
/// Check runs the exporter started (a counter: two scrapes inside the
/// minimum interval add one, not two).
pub const RUNS: &str = "sw_health_runs_total";

/// The label naming the target.
pub const INSTANCE: &str = "instance";
/// The label naming the check.
pub const CHECK: &str = "check";
/// The label naming the database of a per-database check.
pub const DATABASE: &str = "database";

/// A metric family of check values, one per base unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Durations and ages, in seconds.
    Seconds,
    /// Sizes, in bytes.
    Bytes,
    /// Shares, as a ratio from 0 to 1.
    Ratio,
    /// Event rates, per second.
    PerSecond,
    /// Counts and other plain numbers (transaction id ages, files).
    Value,
}

impl Family {
    /// Every family, in exposition order.
    pub const ALL: [Family; 5] = [
        Family::Seconds,
        Family::Bytes,
        Family::Ratio,
        Family::PerSecond,
        Family::Value,
    ];

    /// The metric name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Seconds => "sw_health_check_seconds",
            Family::Bytes => "sw_health_check_bytes",
            Family::Ratio => "sw_health_check_ratio",
            Family::PerSecond => "sw_health_check_per_second",
            Family::Value => "sw_health_check_value",
        }
    }

    /// The HELP text.
    pub fn help(self) -> &'static str {
        match self {
            Family::Seconds => "Value of a check measured in time (durations, ages, latency), in seconds.",
            Family::Bytes => "Value of a check measured in bytes (sizes, retained WAL).",
            Family::Ratio => "Value of a check that is a share (0 to 1: connections used, disk full, cache hits).",
            Family::PerSecond => "Value of a check that is an event rate (deadlocks, failed sessions), per second.",
            Family::Value => "Value of a check that is a count or another plain number (transaction id age, files).",
        }
    }
}

/// How a check value in `unit` (as in a `health.report`) is exposed: its
/// family and the divisor from that unit to the family's base unit.
pub fn family_of(unit: &str) -> (Family, f64) {
    match unit {
        "s" => (Family::Seconds, 1.0),
        "ms" => (Family::Seconds, 1000.0),
        "B" | "bytes" => (Family::Bytes, 1.0),
        "%" => (Family::Ratio, 100.0),
        "per_5min" => (Family::PerSecond, 300.0),
        _ => (Family::Value, 1.0),
    }
}

/// The unit of each check of sw-health's catalogue (sw-health's tests
/// compare its catalogue with this table), so the rules generator knows
/// the family and scale of a check it has never seen a report of.
pub const CHECK_UNITS: &[(&str, &str)] = &[
    ("connection", "ms"),
    ("uptime", "s"),
    ("role", ""),
    ("connections", "%"),
    ("idle_in_transaction", "s"),
    ("long_query", "s"),
    ("blocked", "s"),
    ("deadlocks", "per_5min"),
    ("failed_sessions", "per_5min"),
    ("xid_wraparound", "xids"),
    ("mxid_wraparound", "mxids"),
    ("replication_lag", "s"),
    ("replication_slots", "B"),
    ("archiver", "files"),
    ("backup_age", "s"),
    ("backup_pages", "pages"),
    ("database_size", "B"),
    ("disk", "%"),
    ("cache_hit", "%"),
    ("dead_tuples", "%"),
    ("autovacuum", "s"),
    ("sequences", "%"),
    ("invalid_indexes", "count"),
    ("prepared_xacts", "s"),
    ("latency", "ms"),
    ("tls", "rules"),
    ("session_defaults", "settings"),
    ("host_cpu", "%"),
    ("host_memory", "%"),
    ("azure_state", ""),
    ("azure_ha", ""),
    ("azure_storage_headroom", "%"),
    ("azure_iops", "%"),
    ("azure_backups", "count"),
    ("azure_restore_window", "%"),
    ("azure_pending_restart", "count"),
    ("azure_maintenance", "h"),
    ("pooler_waiting", "count"),
    ("pooler_max_wait", "s"),
    ("pooler_saturation", "%"),
    ("pooler_server_conns", "%"),
    ("pooler_clients", "%"),
];

/// The unit of check `name`, when it is in the catalogue.
pub fn check_unit(name: &str) -> Option<&'static str> {
    CHECK_UNITS.iter().find(|(n, _)| *n == name).map(|(_, u)| *u)
}

/// A number as the exposition format and PromQL write it: `NaN`, `+Inf`,
/// `-Inf`, else Rust's shortest round-trip form (`80`, `0.016`).
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

/// A label value escaped for the exposition format and PromQL string
/// literals (backslash, double quote, newline).
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Whether `s` is a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`,
/// not starting with the reserved `__`).
pub fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_map_to_base_units() {
        assert_eq!(family_of("ms"), (Family::Seconds, 1000.0));
        assert_eq!(family_of("%"), (Family::Ratio, 100.0));
        assert_eq!(family_of("xids"), (Family::Value, 1.0));
        assert_eq!(check_unit("connections"), Some("%"));
        assert_eq!(check_unit("nope"), None);
        // Each family's name ends in its unit, as Prometheus asks.
        for f in Family::ALL {
            assert!(f.name().starts_with("sw_health_check_"), "{}", f.name());
        }
    }

    #[test]
    fn numbers_and_labels() {
        assert_eq!(number(80.0), "80");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
        assert!(valid_label_name("env"));
        assert!(!valid_label_name("1x") && !valid_label_name("__name__") && !valid_label_name("a-b"));
    }
}
