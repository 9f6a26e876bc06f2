//! What sw-health checks: one [`Check`] value per health check, holding
//! everything about it (name, unit, default thresholds, direction, scope,
//! help and how it is measured).
//!
//! A check that is one query is one entry of [`CATALOGUE`] in
//! `catalogue.rs`: its SQL and its `eval` sit in the entry, and the runner
//! runs every such entry, so there is nothing else to register. A check
//! that is not one query (rates kept across runs, host measurements, the
//! backup age, latency, the server facts read when connecting) is a
//! `How::Own` entry defined in its own small module, the only code that
//! reports it, through that const (never by name). Names are checked once,
//! against this list: `--checks`, `--skip`, `--warn`/`--crit` and the
//! thresholds file name entries of [`CATALOGUE`] or are refused. The unit
//! tests below keep the list sound (unique names, every `Sql` entry in a
//! scope the runner runs); the end-to-end test
//! `every_check_in_the_help_runs_or_is_skipped` runs every entry.

pub mod archiver;
pub mod azure;
pub mod azure_backups;
pub mod azure_maintenance;
pub mod backup;
mod catalogue;
pub mod host;
pub mod latency;
pub mod pooler;
pub mod rates;
pub mod replication;
pub mod server;
pub mod session_defaults;
pub mod tls;

pub use catalogue::CATALOGUE;
use serde_json::Value;
use sw_core::health::Status;
use sw_core::{Error, Result};

/// Where a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Once per run (cluster-wide statistics), in the first session.
    Cluster,
    /// In every database's session (`--all-databases`).
    Database,
    /// On this host, when the server runs here.
    Host,
    /// No SQL of its own (connection, latency, backup age).
    Client,
}

/// How a check is measured.
#[derive(Debug, Clone, Copy)]
pub enum How {
    /// One query, run in the check's own savepoint; `eval` turns its rows
    /// (text, as the simple-query protocol returns them) into the value,
    /// message and details. The runner runs every `Sql` entry of the
    /// catalogue whose scope is `Cluster` (once) or `Database` (per database).
    Sql {
        query: &'static str,
        eval: fn(&[Row]) -> Measured,
    },
    /// Measured by its own module (which defines this entry as a const).
    Own,
}

/// One health check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The stable name: the report's `name`, and what `--checks`, `--skip`,
    /// `--warn NAME=V` and the thresholds file use.
    pub name: &'static str,
    /// The value's unit (`%`, `s`, `ms`, `B`, `count`, ...; empty for flags).
    pub unit: &'static str,
    /// Default warning threshold (Nagios range convention: a value above it
    /// is a WARNING, or below it when `below`).
    pub warn: Option<f64>,
    /// Default critical threshold.
    pub crit: Option<f64>,
    /// Lower values are worse (cache hit ratio, uptime).
    pub below: bool,
    pub scope: Scope,
    /// One line for `--help`.
    pub help: &'static str,
    pub how: How,
}

impl Check {
    /// The status of `value` against thresholds (a missing value is OK:
    /// the check's own floor decides).
    pub fn judge(&self, warn: Option<f64>, crit: Option<f64>, value: Option<f64>) -> Status {
        let Some(v) = value else { return Status::Ok };
        let bad = |t: Option<f64>| t.is_some_and(|t| if self.below { v < t } else { v > t });
        if bad(crit) {
            Status::Critical
        } else if bad(warn) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// What a check's evaluation found.
#[derive(Debug, Clone)]
pub struct Measured {
    pub value: Option<f64>,
    /// A floor for the status, whatever the thresholds say.
    pub at_least: Status,
    pub message: String,
    pub details: Value,
}

impl Measured {
    /// A measurement judged by the thresholds alone.
    pub fn new(value: Option<f64>, message: impl Into<String>, details: Value) -> Measured {
        Measured {
            value,
            at_least: Status::Ok,
            message: message.into(),
            details,
        }
    }

    /// At least this status, whatever the thresholds say.
    #[must_use]
    pub fn floor(mut self, s: Status) -> Measured {
        self.at_least = self.at_least.worst(s);
        self
    }
}

/// One result row, every column as text (NULL is None).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<Option<String>>);

impl Row {
    /// The first row of a result, or an empty one (every column NULL).
    pub fn first(rows: &[Row]) -> &Row {
        static EMPTY: Row = Row(Vec::new());
        rows.first().unwrap_or(&EMPTY)
    }

    /// Column `i` as a number; None when NULL or not a number.
    pub fn num(&self, i: usize) -> Option<f64> {
        self.0.get(i)?.as_deref()?.parse().ok()
    }

    /// Column `i` as text; empty when NULL.
    pub fn text(&self, i: usize) -> String {
        self.0.get(i).cloned().flatten().unwrap_or_default()
    }

    /// Column `i` as text; None when NULL or empty.
    pub fn nonempty(&self, i: usize) -> Option<String> {
        Some(self.text(i)).filter(|v| !v.is_empty())
    }

    /// Column `i` as a boolean (`t`).
    pub fn flag(&self, i: usize) -> bool {
        self.0.get(i).and_then(|v| v.as_deref()) == Some("t")
    }

    /// Column `i` parsed as JSON; null when NULL or not JSON.
    pub fn json(&self, i: usize) -> Value {
        serde_json::from_str(&self.text(i)).unwrap_or(Value::Null)
    }
}

/// A value rounded to 3 decimals (what the report shows).
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A count as a check value.
pub fn count(n: usize) -> f64 {
    n as f64
}

/// The catalogue entry named `name`.
pub fn by_name(name: &str) -> Option<&'static Check> {
    CATALOGUE.iter().copied().find(|c| c.name == name)
}

/// Where a check sits in report order (catalogue order).
pub fn position(name: &str) -> usize {
    CATALOGUE.iter().position(|c| c.name == name).unwrap_or(usize::MAX)
}

/// The usage error for a name that is not in the catalogue.
pub fn unknown_check(name: &str) -> Error {
    let names: Vec<&str> = CATALOGUE.iter().map(|c| c.name).collect();
    Error::usage(format!("unknown check {name:?} (known: {})", names.join(", ")))
}

/// Which checks a run includes: `--checks` (empty: all) minus `--skip`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    only: Vec<&'static str>,
    skip: Vec<&'static str>,
}

impl Selection {
    /// From the `--checks` and `--skip` lists (comma-separated or repeated).
    ///
    /// # Errors
    /// 64 for a name that is not in the catalogue.
    pub fn parse(only: &[String], skip: &[String]) -> Result<Selection> {
        Ok(Selection {
            only: parse_list(only)?,
            skip: parse_list(skip)?,
        })
    }

    /// Whether the run includes `c`.
    pub fn wants(&self, c: &Check) -> bool {
        (self.only.is_empty() || self.only.contains(&c.name)) && !self.skip.contains(&c.name)
    }
}

fn parse_list(list: &[String]) -> Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for item in list.iter().flat_map(|s| s.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        out.push(by_name(item).ok_or_else(|| unknown_check(item))?.name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sw_core_knows_every_checks_unit() {
        // sw-alerts prometheus-rules picks a check's metric family from this table.
        let table: Vec<(&str, &str)> = CATALOGUE.iter().map(|c| (c.name, c.unit)).collect();
        assert_eq!(table, sw_core::metrics::CHECK_UNITS);
    }

    #[test]
    fn every_name_is_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.name), "{} is in the catalogue twice", c.name);
            assert!(
                !c.name.is_empty() && c.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{:?}: names are snake_case (they are Prometheus labels and flag values)",
                c.name
            );
            assert!(!c.help.is_empty(), "{} has no help", c.name);
        }
    }

    #[test]
    fn every_sql_check_is_run_by_the_runner() {
        for c in CATALOGUE {
            // The runner runs per database exactly the Sql entries of that scope.
            if c.scope == Scope::Database {
                assert!(
                    matches!(c.how, How::Sql { .. }),
                    "{}: a Database check is one query",
                    c.name
                );
            }
            if let How::Sql { query, .. } = c.how {
                // The runner runs Sql entries in the cluster and database phases only.
                assert!(
                    matches!(c.scope, Scope::Cluster | Scope::Database),
                    "{}: an Sql check must be Cluster or Database scope",
                    c.name
                );
                assert!(query.trim_start().starts_with("SELECT"), "{}: {query}", c.name);
                assert!(!query.contains(';'), "{}: one statement, no `;`", c.name);
            }
        }
    }

    #[test]
    fn names_are_validated_against_the_catalogue() {
        let s = Selection::parse(&["connections, latency".into()], &["latency".into()]).unwrap();
        assert!(s.wants(by_name("connections").unwrap()));
        assert!(!s.wants(by_name("latency").unwrap()));
        assert!(!s.wants(by_name("tls").unwrap()));
        let e = Selection::parse(&["conections".into()], &[]).unwrap_err();
        assert_eq!(e.exit(), sw_core::Exit::Usage);
        assert!(e.message().contains("known: connection, uptime"), "{}", e.message());
        assert!(Selection::parse(&[], &["nope".into()]).is_err());
    }

    #[test]
    fn thresholds_judge_both_directions() {
        let c = by_name("connections").unwrap();
        assert_eq!(c.judge(Some(80.0), Some(95.0), Some(80.0)), Status::Ok);
        assert_eq!(c.judge(Some(80.0), Some(95.0), Some(81.0)), Status::Warning);
        assert_eq!(c.judge(Some(80.0), Some(95.0), Some(96.0)), Status::Critical);
        let h = by_name("cache_hit").unwrap();
        assert_eq!(h.judge(Some(98.0), Some(90.0), Some(99.0)), Status::Ok);
        assert_eq!(h.judge(Some(98.0), Some(90.0), Some(95.0)), Status::Warning);
        assert_eq!(h.judge(Some(98.0), Some(90.0), Some(50.0)), Status::Critical);
        assert_eq!(h.judge(Some(98.0), Some(90.0), None), Status::Ok);
    }

    #[test]
    fn rows_read_text_numbers_flags_and_json() {
        let r = Row(vec![
            Some("1.5".into()),
            None,
            Some("t".into()),
            Some("{\"a\":1}".into()),
        ]);
        assert_eq!(r.num(0), Some(1.5));
        assert_eq!(r.num(1), None);
        assert_eq!(r.text(1), "");
        assert_eq!(r.nonempty(1), None);
        assert!(r.flag(2) && !r.flag(0));
        assert_eq!(r.json(3)["a"], 1);
        assert_eq!(r.json(9), Value::Null);
        assert_eq!(Row::first(&[]).num(0), None);
    }
}
