//! The record kinds sw-schema prints (besides `schema.lint`, beside its
//! rules in [`crate::lint`]): one Rust type each, so the field names on
//! stdout, the JSON Schemas under `schemas/sw-schema/` and the man page's
//! JSON OUTPUT section come from one place.

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::{Record, Timestamp};

use crate::locks::Lock;
use crate::store::Direction;

/// What became of a migration (or, in a dry run, would).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The up file ran and is recorded.
    Applied,
    /// The down file ran and the record is gone.
    Reverted,
    /// A statement failed; see `error` (and `repair` for a no-transaction one).
    Failed,
    /// `--dry-run`: nothing ran.
    Planned,
}

/// What became of one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementOutcome {
    Done,
    Failed,
    /// Not run: a dry run, or after the statement that failed.
    NotRun,
    /// Committed by an earlier run of this no-transaction migration.
    DoneBefore,
}

/// One statement of a migration.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatementRecord {
    /// The line of the file it starts on.
    pub line: usize,
    /// The statement as written.
    pub sql: String,
    /// The table-level locks it takes.
    pub locks: Vec<Lock>,
    /// How long it ran (null when it did not run here).
    pub duration_ms: Option<u64>,
    /// What became of it.
    pub status: StatementOutcome,
}

/// One migration applied, reverted, failed or (dry run) planned.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MigrationRecord {
    /// The migration's number.
    pub version: i64,
    /// The migration's name (file name without number and suffix).
    pub name: String,
    /// Which file ran: up or down.
    pub direction: Direction,
    /// What became of it.
    pub status: Outcome,
    /// Whether this is a `--dry-run` (nothing ran).
    pub dry_run: bool,
    /// Whether it ran outside a transaction (first line `-- sw:no-transaction`).
    pub no_transaction: bool,
    /// Runs it took: more than 1 when a lock was not granted within lock_timeout and it was retried.
    pub attempts: u32,
    /// Wall time of all attempts (0 in a dry run).
    pub duration_ms: u64,
    /// SHA-256 of the file that ran (CRLF read as LF), hex.
    pub checksum: String,
    /// Its statements in order, each with its locks.
    pub statements: Vec<StatementRecord>,
    /// The strongest lock per relation over all statements.
    pub locks: Vec<Lock>,
    /// The failing statement's error (null unless failed).
    pub error: Option<String>,
    /// INVALID indexes the failure left behind (no-transaction migrations).
    pub invalid_indexes: Vec<String>,
    /// What to do about a failed no-transaction migration (null otherwise).
    pub repair: Option<String>,
}

impl Record for MigrationRecord {
    const KIND: &'static str = "schema.migration";
}

/// The end of a command that changes (or would change) the schema, or of a lint.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// up, down or lint.
    pub command: String,
    /// Whether this is a `--dry-run` (nothing ran).
    pub dry_run: bool,
    /// The version before (null for lint).
    pub from_version: Option<i64>,
    /// The version after, or that a dry run would reach (null for lint).
    pub to_version: Option<i64>,
    /// Migrations applied by this run.
    pub applied: u32,
    /// Migrations reverted by this run.
    pub reverted: u32,
    /// Migrations still pending afterwards (null for lint).
    pub pending: Option<u32>,
    /// Lint findings, acknowledged ones included.
    pub findings: u32,
    /// Findings acknowledged with `-- sw:allow`.
    pub acknowledged: u32,
    /// Wall time of the command.
    pub duration_ms: u64,
}

impl Record for Summary {
    const KIND: &'static str = "summary";
}

/// The state of one migration, for `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but a file differs from the checksum recorded then.
    Changed,
    /// A no-transaction run stopped part-way.
    Failed,
    /// Applied, but its up file is no longer in the directory.
    Missing,
}

/// One migration in `status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MigrationState {
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
    /// Where it stands.
    pub state: State,
    /// Whether it runs outside a transaction (`-- sw:no-transaction`).
    pub no_transaction: bool,
    /// When it was applied (null when pending).
    pub applied_at: Option<Timestamp>,
    /// `os_user@host` of the deployer (null when pending).
    pub applied_by: Option<String>,
}

/// An applied file that changed since.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Changed {
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
    /// The file that differs.
    pub file: String,
    /// Hex SHA-256 recorded at apply time (null: there was no down file then).
    pub recorded_checksum: Option<String>,
    /// Hex SHA-256 of the file now (null: the file is gone).
    pub file_checksum: Option<String>,
}

/// A no-transaction migration that stopped part-way.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Failed {
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
    /// The file that was running.
    pub direction: Direction,
    /// Statements that had committed.
    pub statements_done: usize,
    /// The statement that failed (null when the run was killed between statements).
    pub statement: Option<String>,
    /// The line it starts on (null when not known).
    pub line: Option<usize>,
    /// The error of the failing statement (null when killed between statements).
    pub error: Option<String>,
    /// INVALID indexes it left that are still there.
    pub invalid_indexes: Vec<String>,
    /// The exact steps that resolve it.
    pub repair: String,
}

/// Where the database stands against the migrations directory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusRecord {
    /// The schema of the version table (`--schema`); named so because
    /// `schema` is every record's version field.
    pub table_schema: String,
    /// The highest applied version (0 when none).
    pub current_version: i64,
    /// The highest version in the directory (0 when none).
    pub head_version: i64,
    /// Nothing pending, changed, missing or failed.
    pub clean: bool,
    /// Versions not applied yet.
    pub pending: Vec<i64>,
    /// Pending versions lower than an applied one: `up` refuses them.
    pub out_of_order: Vec<i64>,
    /// Applied files changed since: `up` and `down` refuse until restored or `repair`ed.
    pub changed: Vec<Changed>,
    /// Applied versions with no file.
    pub missing: Vec<i64>,
    /// No-transaction migrations that stopped part-way.
    pub failed: Vec<Failed>,
    /// Every migration, by version.
    pub migrations: Vec<MigrationState>,
}

impl Record for StatusRecord {
    const KIND: &'static str = "schema.status";
}

/// One entry of the log: an apply, revert, failure, retry or repair.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryRecord {
    /// When it happened.
    pub at: Timestamp,
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
    /// up, down, failed, retry or repair.
    pub action: String,
    /// `os_user@host` of whoever ran it.
    pub actor: String,
    /// The database role it ran as.
    pub db_user: String,
    /// Why (repair), else null.
    pub reason: Option<String>,
    /// How long the migration took (up and down; null otherwise).
    pub duration_ms: Option<u64>,
    /// Hex SHA-256 of the up file at the time (null when not recorded).
    pub up_checksum: Option<String>,
    /// Hex SHA-256 of the down file at the time (null: none).
    pub down_checksum: Option<String>,
    /// The statement that failed or was retried (null otherwise).
    pub statement: Option<String>,
    /// The error of the failing statement (null when killed between statements).
    pub error: Option<String>,
}

impl Record for HistoryRecord {
    const KIND: &'static str = "schema.history";
}

/// A migration's checksums re-stamped.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RepairRecord {
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
    /// Hex SHA-256 of the up file recorded before.
    pub old_up_checksum: String,
    /// Hex SHA-256 of the up file now (recorded from now on).
    pub new_up_checksum: String,
    /// Hex SHA-256 of the down file recorded before (null: none).
    pub old_down_checksum: Option<String>,
    /// Hex SHA-256 of the down file now (null: none).
    pub new_down_checksum: Option<String>,
    /// `os_user@host`.
    pub actor: String,
    /// Why, as given with --reason.
    pub reason: String,
}

impl Record for RepairRecord {
    const KIND: &'static str = "schema.repair";
}

/// A new migration pair.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewRecord {
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
    /// The new up file.
    pub up_file: String,
    /// The new down file.
    pub down_file: String,
}

impl Record for NewRecord {
    const KIND: &'static str = "schema.new";
}

/// What `seed` created.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeedRecord {
    /// The administrator's email as given.
    pub admin_email: String,
    /// False when an administrator with that email (any case) existed: nothing changed.
    pub admin_created: bool,
    /// Where the new password was written (null when no administrator was created).
    pub password_file: Option<String>,
    /// The password hash's algorithm and parameters (`argon2id m=19456 t=2 p=1`; null when none was made).
    pub hash: Option<String>,
    /// Whether --demo was given.
    pub demo: bool,
    /// Demo servers created by this run.
    pub servers_created: Vec<String>,
    /// Demo servers that were already there.
    pub servers_existing: Vec<String>,
}

impl Record for SeedRecord {
    const KIND: &'static str = "schema.seed";
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_core::contract::KindDoc;

    #[test]
    fn every_kind_follows_the_field_rule() {
        for k in [
            KindDoc::of::<MigrationRecord>(),
            KindDoc::of::<Summary>(),
            KindDoc::of::<StatusRecord>(),
            KindDoc::of::<HistoryRecord>(),
            KindDoc::of::<RepairRecord>(),
            KindDoc::of::<NewRecord>(),
            KindDoc::of::<SeedRecord>(),
        ] {
            assert!(k.rule_violations().is_empty(), "{}: {:?}", k.kind, k.rule_violations());
            // A field named like the envelope's would print the key twice.
            assert_eq!(k.schema["properties"]["schema"]["const"], k.version, "{}", k.kind);
            assert_eq!(k.schema["properties"]["kind"]["const"], k.kind, "{}", k.kind);
        }
    }
}
