//! The records `run` writes: one `migrate.table` per table and a `summary`
//! on stdout, and a `migrate.reject` line per rejected row in the reject
//! file. (`migrate.plan` is the plan itself, in `plan`.)

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::Record;

use crate::value::SourceValue;

/// One table migrated: rows read from SQLite, loaded and rejected, the
/// verification's verdict and checksum, and what of it was not migrated.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TableRecord {
    /// SQLite name.
    pub table: String,
    /// `schema.table` in PostgreSQL.
    pub target: String,
    /// Rows read from SQLite.
    pub rows_read: u64,
    /// Rows stored in PostgreSQL.
    pub rows_loaded: u64,
    /// Rows written to the reject file (`--on-error=reject`).
    pub rows_rejected: u64,
    /// Values written as NULL by the plan's `to_null` (zero dates, '' in
    /// numbers and dates, dates past PostgreSQL's range), by SQLite column.
    pub nulled: BTreeMap<String, u64>,
    /// Values that are not blobs in a column typed bytea from mixed values
    /// (the plan's `cast_to_blob`), stored as the bytes SQLite's
    /// `CAST(x AS BLOB)` gives, by SQLite column.
    pub cast_to_blob: BTreeMap<String, u64>,
    /// Row count and checksum equal on both sides; null with `--no-verify`.
    pub verified: Option<bool>,
    /// The content checksum over the loaded rows (a decimal integer).
    pub checksum: String,
    /// Copy and verification time of the table (its parts side by side count once).
    pub duration_ms: u64,
    /// Objects of this table not migrated, and optional DDL PostgreSQL refused, with why.
    pub untranslated: Vec<String>,
}

impl Record for TableRecord {
    const KIND: &'static str = "migrate.table";
    /// 2: `seconds` became `duration_ms`.
    const SCHEMA: u32 = 2;
}

/// Which kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Mode {
    /// Tables created through a staging schema and switched in.
    #[serde(rename = "full")]
    Full,
    /// Loaded into existing tables (`--data-only`).
    #[serde(rename = "data-only")]
    DataOnly,
}

/// The run as a whole, printed last.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// The SQLite database.
    pub source: String,
    /// The PostgreSQL target (password redacted).
    pub target: String,
    /// The schema migrated into.
    pub target_schema: String,
    /// `full` or `data-only`.
    pub mode: Mode,
    /// Tables migrated.
    pub tables: usize,
    /// Views created.
    pub views: usize,
    /// Rows read from SQLite, all tables.
    pub rows_read: u64,
    /// Rows stored in PostgreSQL, all tables.
    pub rows_loaded: u64,
    /// Rows written to the reject file, all tables.
    pub rows_rejected: u64,
    /// Values written as NULL by the plan's `to_null`, all tables.
    pub values_nulled: u64,
    /// Values stored as the bytes of `CAST(x AS BLOB)` by the plan's `cast_to_blob`, all tables.
    pub values_cast_to_blob: u64,
    /// The reject file (`--on-error=reject`); null when no row was rejected (none is made) or without it.
    pub reject_file: Option<String>,
    /// Every table was verified (false with `--no-verify`).
    pub verified: bool,
    /// Objects not migrated, counted over the plan and every table.
    pub untranslated: usize,
    /// Objects not migrated (triggers, virtual tables, views PostgreSQL refused), with the reason.
    pub not_migrated: Vec<String>,
    /// The whole run.
    pub duration_ms: u64,
}

impl Record for Summary {
    const KIND: &'static str = "summary";
    /// 2: `seconds` became `duration_ms`.
    const SCHEMA: u32 = 2;
}

/// A row that broke a rule, as written to the reject file (JSON Lines,
/// `--on-error=reject`), with its values exactly as SQLite stores them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RejectRecord {
    /// SQLite table.
    pub table: String,
    /// The row's rowid (null in a WITHOUT ROWID table).
    pub rowid: Option<i64>,
    /// The column whose value broke its rule.
    pub column: String,
    /// The rule it broke.
    pub rule: String,
    /// Every copied column's value, by SQLite column name (null for NULL).
    pub row: BTreeMap<String, Option<SourceValue>>,
}

impl Record for RejectRecord {
    const KIND: &'static str = "migrate.reject";
}

/// Whole milliseconds (saturating).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use sw_core::contract::KindDoc;

    use super::*;

    #[test]
    fn records_follow_the_field_rule() {
        for d in [
            KindDoc::of::<TableRecord>(),
            KindDoc::of::<Summary>(),
            KindDoc::of::<RejectRecord>(),
        ] {
            assert!(d.rule_violations().is_empty(), "{}: {:?}", d.kind, d.rule_violations());
        }
    }
}
