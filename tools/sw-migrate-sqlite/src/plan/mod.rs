//! The migration plan: what `plan` prints and `run` executes (planning
//! itself or reading an edited plan back with `--plan`). The types here are
//! the `migrate.plan` record; keys and foreign keys are data (columns,
//! referenced table, actions), and `keys` renders their DDL, so the run
//! never parses SQL it generated.
//!
//! Building a plan from a SQLite file: `build` walks `sqlite_master`,
//! `table` turns one table's pragmas into columns and `CREATE TABLE`,
//! `parse` reads what only the CREATE TABLE text says (collations, CHECKs,
//! generated columns, deferrable foreign keys), `keys` the constraints,
//! `default` the column defaults, `objects` indexes and views, `probe` the
//! stored values (types of untyped columns, how integer dates are read).

mod build;
mod default;
mod keys;
mod objects;
mod parse;
mod preflight;
mod probe;
mod table;
mod unreadable;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::contract::Record;
use sw_core::{Error, Result};

pub use build::build;

use crate::value::IntDates;

/// The migration plan: the PostgreSQL DDL per table with the reason for
/// each type, the keys, indexes, foreign keys and views, how values are
/// read, and every object that is not migrated with why. Edit it and give
/// it to `run --plan`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// The SQLite database planned from (the default source of `run --plan`).
    pub source: String,
    /// The SQLite library version that read it.
    pub sqlite_version: String,
    /// The schema the tables are moved into (`--schema`).
    pub target_schema: String,
    /// How values are read, by target type (dates, booleans, numbers, ...),
    /// and what happens to a value that breaks its rule.
    pub value_rules: BTreeMap<String, String>,
    /// Collations the DDL needs, created before the tables.
    pub collations: Vec<Collation>,
    /// The tables, in load order.
    pub tables: Vec<TablePlan>,
    /// The views, created at the switch (each only if it returns as many
    /// rows as in SQLite).
    pub views: Vec<ViewPlan>,
    /// Objects not migrated at all (triggers, virtual tables, ...).
    pub untranslatable: Vec<Untranslatable>,
}

impl Record for Plan {
    const KIND: &'static str = "migrate.plan";
    /// 2: keys, CHECKs and foreign keys became data (`primary_key`,
    /// `unique`, `checks`, `foreign_keys` objects) instead of SQL text in
    /// `constraints`/`foreign_keys`; `format` went (`schema` versions it).
    const SCHEMA: u32 = 2;
}

/// A collation the DDL uses.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Collation {
    /// Its name (created in the target schema unless it exists there).
    pub name: String,
    /// The CREATE COLLATION statement.
    pub create: String,
    /// Why it is needed and how it differs from SQLite's.
    pub reason: String,
}

/// One table: its columns, DDL, keys, indexes and foreign keys.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TablePlan {
    /// SQLite name.
    pub source: String,
    /// PostgreSQL name (unqualified).
    pub name: String,
    /// A WITHOUT ROWID table (read without a rowid, never split).
    pub without_rowid: bool,
    /// The columns, in order.
    pub columns: Vec<ColumnPlan>,
    /// CREATE TABLE (run in the staging schema, before the data).
    pub create: String,
    /// The primary key (PostgreSQL column names), added after the data.
    pub primary_key: Option<KeyPlan>,
    /// UNIQUE constraints, added after the data.
    pub unique: Vec<KeyPlan>,
    /// CHECK constraints, added after the data (one PostgreSQL refuses is
    /// skipped and reported).
    pub checks: Vec<CheckPlan>,
    /// Indexes, built after the data.
    pub indexes: Vec<IndexPlan>,
    /// Foreign keys, added after every table is loaded.
    pub foreign_keys: Vec<ForeignKeyPlan>,
    /// The identity column (from INTEGER PRIMARY KEY / AUTOINCREMENT).
    pub identity: Option<Identity>,
    /// What of this table is not migrated, with why.
    pub untranslatable: Vec<Untranslatable>,
}

/// One column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ColumnPlan {
    /// SQLite name.
    pub source: String,
    /// PostgreSQL name.
    pub name: String,
    /// The declared SQLite type (empty when none).
    pub source_type: String,
    /// The PostgreSQL type.
    #[serde(rename = "type")]
    pub pg_type: String,
    /// NOT NULL.
    pub not_null: bool,
    /// The translated DEFAULT expression (null: none).
    pub default: Option<String>,
    /// The column's collation (null: the default one).
    pub collation: Option<String>,
    /// Why this type.
    pub reason: String,
    /// A generated column: its value is computed by PostgreSQL, not copied.
    #[serde(default)]
    pub generated: bool,
    /// Date/time columns holding integers: how they are read, chosen from
    /// the values' range (edit to override); null for other columns.
    #[serde(default)]
    pub integers: Option<IntDates>,
    /// Values PostgreSQL cannot hold in this type that stand for "no
    /// value" (zero dates, '' in a number or date column, dates past
    /// PostgreSQL's range), found when planning in this nullable column:
    /// the run writes them as NULL and counts them in `migrate.table`'s
    /// `nulled`. Null: such values do not fit (exit 65, or rejected with
    /// --on-error=reject); set it to null to have them rejected.
    #[serde(default)]
    pub to_null: Option<ToNull>,
    /// A column typed bytea because its values mix BLOBs with other
    /// storage classes: its integers, reals and text (this many, counted
    /// when planning) are stored as the bytes SQLite's `CAST(x AS BLOB)`
    /// gives (their text rendering), every row kept, and counted in
    /// `migrate.table`'s `cast_to_blob`. Null: such values do not fit (exit
    /// 65, or rejected with --on-error=reject).
    #[serde(default)]
    pub cast_to_blob: Option<u64>,
}

/// What planning found of the values a nullable column turns into NULL
/// (all zero when `run` planned for itself: it skips the scan and counts
/// what it meets instead, with the same outcome).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ToNull {
    /// Zero dates (`0000-00-00`, month or day 00).
    pub zero_dates: u64,
    /// Empty strings in a number, boolean, UUID or date column.
    pub empty: u64,
    /// Dates outside PostgreSQL's range.
    pub out_of_range: u64,
    /// The first rowids holding one (none in a WITHOUT ROWID table).
    pub first_rowids: Vec<i64>,
}

impl ToNull {
    /// Every value found.
    pub fn total(&self) -> u64 {
        self.zero_dates + self.empty + self.out_of_range
    }
}

/// A primary key or UNIQUE constraint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyPlan {
    /// The constraint's name (also its index's).
    pub name: String,
    /// PostgreSQL column names, in key order.
    pub columns: Vec<String>,
    /// Rows whose key equals another row's in PostgreSQL though not in
    /// SQLite (case folding of all of Unicode, values equal once typed),
    /// found when planning: the run builds such a key as a plain index of
    /// the same name (reported), or with `--strict` refuses it (exit 65,
    /// before writing).
    #[serde(default)]
    pub collisions: u64,
}

/// A CHECK constraint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckPlan {
    /// The constraint's name.
    pub name: String,
    /// The condition, translated to PostgreSQL SQL.
    pub expression: String,
    /// Created NOT VALID (new rows are checked, existing ones are not):
    /// planned when existing rows break it (`violating_rows`).
    #[serde(default)]
    pub not_valid: bool,
    /// Rows for which SQLite evaluates the condition to false.
    #[serde(default)]
    pub violating_rows: u64,
}

/// A foreign key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ForeignKeyPlan {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns (PostgreSQL names).
    pub columns: Vec<String>,
    /// The referenced table (PostgreSQL name, in the same schema).
    pub references: String,
    /// The referenced columns (a primary key or UNIQUE there).
    pub referenced_columns: Vec<String>,
    /// ON UPDATE.
    pub on_update: FkAction,
    /// ON DELETE.
    pub on_delete: FkAction,
    /// DEFERRABLE.
    pub deferrable: bool,
    /// INITIALLY DEFERRED (only with `deferrable`).
    pub initially_deferred: bool,
    /// Created NOT VALID and left so (new rows are checked, existing ones
    /// are not): planned when rows reference no parent row (`orphans`).
    #[serde(default)]
    pub not_valid: bool,
    /// Rows whose key (all columns non-NULL) matches no parent row.
    #[serde(default)]
    pub orphans: u64,
}

/// A foreign key's referential action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

/// An index.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct IndexPlan {
    /// SQLite name.
    pub source: String,
    /// PostgreSQL name.
    pub name: String,
    /// UNIQUE.
    pub unique: bool,
    /// Has a WHERE clause (translated: skipped and reported when refused).
    pub partial: bool,
    /// Indexes an expression (translated: skipped and reported when refused).
    pub expression: bool,
    /// The CREATE INDEX statement.
    pub create: String,
    /// For a UNIQUE index: rows colliding in PostgreSQL but not in SQLite
    /// (as for keys' `collisions`).
    #[serde(default)]
    pub collisions: u64,
}

/// The identity column of a table whose rowid is a column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Identity {
    /// PostgreSQL column name.
    pub column: String,
    /// AUTOINCREMENT: the next value also follows `sqlite_sequence`.
    pub autoincrement: bool,
}

/// A view.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ViewPlan {
    /// SQLite name.
    pub source: String,
    /// PostgreSQL name.
    pub name: String,
    /// The CREATE VIEW statement.
    pub create: String,
}

/// Something not migrated.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Untranslatable {
    /// What it is (`trigger audit`, `index t_like`, `default of t.c`).
    pub object: String,
    /// Its SQLite SQL (empty when it has none of its own).
    pub sql: String,
    /// Why it is not migrated.
    pub reason: String,
}

/// Read a plan back (`run --plan FILE`): a `migrate.plan` record of this
/// version, pretty-printed or not.
///
/// # Errors
/// 66 when the file cannot be read; 65 when it is not a plan of this schema.
pub fn read(path: &Path) -> Result<Plan> {
    let name = sw_core::fsutil::q(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::no_input(format!("reading the plan {name}")).with_source(e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::data(format!("the plan {name} is not a valid plan")).with_source(e))?;
    // Schema 1 held keys and foreign keys as SQL text, which this version
    // no longer parses.
    if value.get("kind").and_then(serde_json::Value::as_str) == Some(Plan::KIND)
        && value.get("schema").and_then(serde_json::Value::as_u64) == Some(1)
    {
        return Err(Error::data(format!(
            "the plan {name} is of schema 1 (keys as SQL text); this version reads schema {}: make it again with `{} plan` and redo the edits",
            Plan::SCHEMA,
            crate::NAME
        )));
    }
    let line = sw_core::input::Line { line: 1, value };
    sw_core::contract::parse::<Plan>(&line, &path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use sw_core::contract::KindDoc;

    use super::*;

    #[test]
    fn plan_follows_the_field_rule() {
        let d = KindDoc::of::<Plan>();
        assert!(d.rule_violations().is_empty(), "{:?}", d.rule_violations());
    }
}
