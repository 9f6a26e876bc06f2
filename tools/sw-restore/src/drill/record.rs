//! The `restore.drill` record: printed by `drill` and appended to the
//! area's drill log (`drills.jsonl`, fsynced), which `runbook` reads back
//! for the measured RTO. Lines written before schema 2 (`rto_seconds`) are
//! read too, so a log kept across the upgrade keeps its history.

use std::io::Write;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::contract::{Record, Timestamp};
use sw_core::fsutil::q;
use sw_core::{IoContext, Result};

/// One restore drill: what was restored, how it was checked, and the
/// recovery objectives it measured.
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
pub struct DrillRecord {
    /// When the drill started.
    pub time: Timestamp,
    /// The drill passed: restored, started, every check held.
    pub ok: bool,
    /// The backup restored; null when the restore failed before choosing one.
    pub backup: Option<String>,
    /// `latest` or `time <--target-time>`.
    pub target: String,
    /// The measured RTO: from the start of the drill until the copy answered queries (schema 1: rto_seconds, in seconds); null when it never did.
    pub rto_ms: Option<u64>,
    /// The RPO at the drill's start: how long since the last contiguous archived WAL segment was stored (schema 1: rpo_seconds); null without archived WAL.
    pub rpo_ms: Option<u64>,
    /// The WAL location recovery reached; null when it did not finish.
    pub reached_lsn: Option<String>,
    /// The time of the last transaction replayed (microseconds); null like reached_lsn.
    #[schemars(extend("format" = "date-time"))]
    pub reached_time: Option<String>,
    /// Databases in the copy; null when it was not checked.
    pub databases: Option<u64>,
    /// B-tree indexes amcheck verified; null without amcheck.
    pub indexes_checked: Option<u64>,
    /// Tables whose row counts were checked against --expect-rows; null without it.
    pub tables_checked: Option<u64>,
    /// The amcheck extension was available (and used).
    pub amcheck: bool,
    /// The --sql file run against the copy; null without one.
    pub sql_file: Option<String>,
    /// The whole drill.
    pub duration_ms: u64,
    /// Why the drill failed; null when it passed.
    pub error: Option<String>,
    /// The scratch data directory.
    pub pgdata: String,
    /// The copy was kept running (--keep).
    pub kept: bool,
}

impl Record for DrillRecord {
    const KIND: &'static str = "restore.drill";
    const SCHEMA: u32 = 2;
}

/// Append `rec` to the drill log at `path` (created), durably.
///
/// # Errors
/// 66/74/77 when the log cannot be opened, written or synced.
pub fn append(path: &Path, rec: &DrillRecord) -> Result<()> {
    let line = sw_core::output::render(rec, false)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .io_context(|| format!("opening {}", q(path)))?;
    writeln!(f, "{line}").io_context(|| format!("writing {}", q(path)))?;
    f.sync_all().io_context(|| format!("syncing {}", q(path)))
}

/// What the runbook needs of a logged drill, whichever schema wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedDrill {
    pub time: Timestamp,
    pub ok: bool,
    pub rto_ms: Option<u64>,
    pub error: Option<String>,
}

/// A schema 1 line (the fields the runbook reads).
#[derive(Deserialize)]
struct DrillV1 {
    time: Timestamp,
    ok: bool,
    rto_seconds: Option<f64>,
    error: Option<String>,
}

/// One line of the drill log; None (with a warning) for a line that is
/// not a drill record of a known schema.
fn parse_line(path: &Path, n: usize, line: &str) -> Option<LoggedDrill> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let got = if v["kind"] != DrillRecord::KIND {
        Err(format!("kind {}", v["kind"]))
    } else if v["schema"] == 1 {
        serde_json::from_value::<DrillV1>(v)
            .map(|d| LoggedDrill {
                time: d.time,
                ok: d.ok,
                rto_ms: d
                    .rto_seconds
                    .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
                    .map(sw_core::duration::millis),
                error: d.error,
            })
            .map_err(|e| e.to_string())
    } else {
        serde_json::from_value::<DrillRecord>(v)
            .map(|d| LoggedDrill {
                time: d.time,
                ok: d.ok,
                rto_ms: d.rto_ms,
                error: d.error,
            })
            .map_err(|e| e.to_string())
    };
    got.map_err(|e| log::warn!("{}:{n}: not a drill record ({e}); skipped", q(path)))
        .ok()
}

/// Every drill in the log at `path`, oldest first (none when it is missing).
pub fn read_log(path: &Path) -> Vec<LoggedDrill> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .filter_map(|(i, l)| parse_line(path, i + 1, l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemas_of_the_drill_log_are_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("drills.jsonl");
        let v1 = r#"{"kind":"restore.drill","schema":1,"time":"2026-11-01T04:00:00.000Z","ok":true,"backup":"b","target":"latest","rto_seconds":3.25,"rpo_seconds":12.0,"error":null,"pgdata":"/x","kept":false}"#;
        let rec = DrillRecord {
            time: "2026-12-01T04:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
                .into(),
            ok: false,
            backup: None,
            target: "latest".into(),
            rto_ms: None,
            rpo_ms: Some(1500),
            reached_lsn: None,
            reached_time: None,
            databases: None,
            indexes_checked: None,
            tables_checked: None,
            amcheck: false,
            sql_file: None,
            duration_ms: 10,
            error: Some("boom".into()),
            pgdata: "/y".into(),
            kept: false,
        };
        std::fs::write(&p, format!("{v1}\nnot json\n{{\"kind\":\"other\"}}\n")).unwrap();
        append(&p, &rec).unwrap();
        let got = read_log(&p);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].rto_ms, Some(3250));
        assert!(got[0].ok);
        assert_eq!(got[1].error.as_deref(), Some("boom"));
        assert_eq!(got[1].rto_ms, None);
        let line = std::fs::read_to_string(&p).unwrap();
        let last: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
        assert_eq!(last["schema"], 2);
        assert_eq!(last["rpo_ms"], 1500);
    }
}
