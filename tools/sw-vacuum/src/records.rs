//! The records sw-vacuum prints on stdout, one type per kind, so the field
//! names and their meaning are written here and nowhere else (the schemas
//! in `schemas/sw-vacuum/` and the man page's JSON OUTPUT come from these
//! types): `vacuum.plan` with `--dry-run`, else one `vacuum.table` per
//! action, a `vacuum.database` for a database that failed among several,
//! and a `summary` last. The state file is not a record: it is internal
//! (see [`crate::state`]).

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::{Record, Timestamp};

use crate::plan::{Action, Item};

/// How one action ended (also a failed database's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It ran to the end.
    Done,
    /// It did not run, or gave way while running: see skip_reason. Normal, exit 0.
    Skipped,
    /// The time budget ended while it ran.
    Timeout,
    /// SIGTERM or SIGINT cancelled it, or came before it started.
    Canceled,
    /// It failed: see error; the run exits with the failure's code.
    Failed,
}

/// One planned action (--dry-run), most urgent first within its database.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanRecord<'a> {
    #[serde(flatten)]
    pub item: &'a Item,
    /// Expected duration: its past run scaled by size, else the learned rate for its kind, plus 50 ms.
    pub est_ms: u64,
}

impl Record for PlanRecord<'_> {
    const KIND: &'static str = "vacuum.plan";
}

/// One action of a real run, as it ended.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TableRecord {
    /// The database.
    pub database: String,
    /// The table's schema (the schema field is the record format's version).
    #[serde(rename = "table_schema")]
    pub schema: String,
    /// The table (for an index action, the index's table).
    pub table: String,
    /// The index for reindex and drop_invalid_index, else null.
    pub index: Option<String>,
    /// What was to be done.
    pub action: Action,
    /// Its rank in the database's plan.
    pub rank: usize,
    /// Why it was planned.
    pub reason: String,
    /// How it ended.
    pub status: Status,
    /// Why it was skipped (locked, yielded, time budget, guards, gone) or, when canceled, never started; else null.
    pub skip_reason: Option<String>,
    /// What went wrong, for failed, timeout and a canceled statement; else null.
    pub error: Option<String>,
    /// When its statement started; null when it never did.
    pub started_at: Option<Timestamp>,
    /// Dead tuples before the statement; null when it never started.
    pub dead_tuples_before: Option<i64>,
    /// Dead tuples after it; null unless it ran and could be read back.
    pub dead_tuples_after: Option<i64>,
    /// Size before (the index alone for index actions, else the table with its TOAST).
    pub size_before_bytes: Option<i64>,
    /// Size after, like size_before_bytes; null unless it ran and could be read back.
    pub size_after_bytes: Option<i64>,
    /// How long the statement ran; null when it never started.
    pub duration_ms: Option<u64>,
    /// The estimate the time budget judged it by (see vacuum.plan).
    pub est_ms: u64,
}

impl Record for TableRecord {
    const KIND: &'static str = "vacuum.table";
}

impl TableRecord {
    /// The record of a planned action before it runs: `done` until a
    /// step says otherwise.
    pub fn for_item(it: &Item, est_ms: u64) -> TableRecord {
        TableRecord {
            database: it.database.clone(),
            schema: it.schema.clone(),
            table: it.table.clone(),
            index: it.index.clone(),
            action: it.action,
            rank: it.rank,
            reason: it.reason.clone(),
            status: Status::Done,
            skip_reason: None,
            error: None,
            started_at: None,
            dead_tuples_before: None,
            dead_tuples_after: None,
            size_before_bytes: None,
            size_after_bytes: None,
            duration_ms: None,
            est_ms,
        }
    }

    /// Skipped, and why.
    #[must_use]
    pub fn skip(mut self, why: impl Into<String>) -> TableRecord {
        self.status = Status::Skipped;
        self.skip_reason = Some(why.into());
        self
    }

    /// Ended with `status` (failed, timeout, canceled), and what happened.
    #[must_use]
    pub fn ended(mut self, status: Status, error: impl Into<String>) -> TableRecord {
        self.status = status;
        self.error = Some(error.into());
        self
    }
}

/// A database that failed while several were processed; the others still run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DatabaseRecord {
    /// The database.
    pub database: String,
    /// Always failed (only a failed database gets this record).
    pub status: Status,
    /// What failed.
    pub error: String,
}

impl Record for DatabaseRecord {
    const KIND: &'static str = "vacuum.database";
}

/// The run's counters, in the summary.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Counts {
    /// Databases processed (or planned with --dry-run).
    pub databases: usize,
    /// Actions planned.
    pub planned: usize,
    /// Actions done.
    pub done: usize,
    /// Actions skipped.
    pub skipped: usize,
    /// Actions and databases that failed.
    pub failed: usize,
    /// Actions the time budget ended.
    pub timeout: usize,
    /// Actions cancelled by SIGTERM or SIGINT.
    pub canceled: usize,
    /// Dead tuples before, summed over the vacuums done.
    pub dead_tuples_before: i64,
    /// Dead tuples after, summed over the vacuums done.
    pub dead_tuples_after: i64,
}

/// The last record of every run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Summary {
    /// Always sw-vacuum.
    pub tool: &'static str,
    /// Whether this was a --dry-run (nothing changed).
    pub dry_run: bool,
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether SIGTERM or SIGINT stopped the run (it then exits 75).
    pub interrupted: bool,
    /// --time-budget, or null without one.
    pub time_budget_ms: Option<u64>,
    /// Time spent paused for the guards (replication lag, connection use).
    pub paused_ms: u64,
    /// The run's duration.
    pub duration_ms: u64,
    /// When it ended.
    pub finished_at: Timestamp,
}

impl Record for Summary {
    const KIND: &'static str = "summary";
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_core::contract::KindDoc;

    #[test]
    fn every_kind_follows_the_field_rule() {
        for d in [
            KindDoc::of::<PlanRecord<'static>>(),
            KindDoc::of::<TableRecord>(),
            KindDoc::of::<DatabaseRecord>(),
            KindDoc::of::<Summary>(),
        ] {
            assert!(d.rule_violations().is_empty(), "{:?}", d.rule_violations());
            assert!(!d.description().is_empty(), "{} has no description", d.kind);
            for (name, _, about) in d.fields() {
                assert!(!about.is_empty(), "{}.{name} has no description", d.kind);
            }
        }
    }

    #[test]
    fn statuses_are_written_as_before() {
        let all = [
            (Status::Done, "done"),
            (Status::Skipped, "skipped"),
            (Status::Timeout, "timeout"),
            (Status::Canceled, "canceled"),
            (Status::Failed, "failed"),
        ];
        for (s, text) in all {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(text)));
        }
    }
}
