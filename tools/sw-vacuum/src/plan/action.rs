//! The actions sw-vacuum can take and the one statement each runs. Every
//! statement that takes a lock avoids waiting for it: VACUUM and ANALYZE
//! with SKIP_LOCKED, index work CONCURRENTLY under `lock_timeout`.

use schemars::JsonSchema;
use serde::Serialize;

/// What to do to one table or index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `VACUUM (FREEZE, ANALYZE, SKIP_LOCKED)`: the table nears wraparound.
    VacuumFreezeAnalyze,
    /// `VACUUM (ANALYZE, SKIP_LOCKED)`: dead tuples.
    VacuumAnalyze,
    /// `ANALYZE (SKIP_LOCKED)`: stale or missing statistics.
    Analyze,
    /// `REINDEX INDEX CONCURRENTLY`: an invalid or bloated index.
    Reindex,
    /// `DROP INDEX CONCURRENTLY IF EXISTS`: a leftover of an interrupted REINDEX CONCURRENTLY.
    DropInvalidIndex,
    /// `VACUUM (FULL, ANALYZE, SKIP_LOCKED)`: asked for by name with --vacuum-full.
    VacuumFull,
}

impl Action {
    /// The lock this action takes on the table, for the conflict pre-check.
    pub fn exclusive(self) -> bool {
        matches!(self, Action::VacuumFull)
    }

    /// Whether the action is on an index rather than on the table.
    pub fn on_index(self) -> bool {
        matches!(self, Action::Reindex | Action::DropInvalidIndex)
    }

    /// Whether the action vacuums the table (its dead tuples count in the summary).
    pub fn vacuums(self) -> bool {
        matches!(
            self,
            Action::VacuumAnalyze | Action::VacuumFreezeAnalyze | Action::VacuumFull
        )
    }

    /// The SQL for an object (already quoted, schema-qualified);
    /// `buffers` is a BUFFER_USAGE_LIMIT (PostgreSQL 16+) for VACUUM/ANALYZE.
    pub fn sql(self, qualified: &str, buffers: Option<&str>) -> String {
        let b = buffers
            .map(|b| format!(", BUFFER_USAGE_LIMIT '{b}'"))
            .unwrap_or_default();
        match self {
            Action::VacuumFreezeAnalyze => format!("VACUUM (FREEZE, ANALYZE, SKIP_LOCKED{b}) {qualified}"),
            Action::VacuumAnalyze => format!("VACUUM (ANALYZE, SKIP_LOCKED{b}) {qualified}"),
            Action::Analyze => format!("ANALYZE (SKIP_LOCKED{b}) {qualified}"),
            Action::Reindex => format!("REINDEX INDEX CONCURRENTLY {qualified}"),
            Action::DropInvalidIndex => format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"),
            Action::VacuumFull => format!("VACUUM (FULL, ANALYZE, SKIP_LOCKED) {qualified}"),
        }
    }

    /// The key used for learned rates in the state file.
    pub fn rate_key(self) -> &'static str {
        match self {
            Action::VacuumFreezeAnalyze | Action::VacuumAnalyze => "vacuum",
            Action::Analyze => "analyze",
            Action::Reindex | Action::DropInvalidIndex => "reindex",
            Action::VacuumFull => "vacuum_full",
        }
    }
}

/// `schema.name`, each part quoted as needed.
pub fn qualified(schema: &str, name: &str) -> String {
    format!(
        "{}.{}",
        sw_core::pg::quote_ident(schema),
        sw_core::pg::quote_ident(name)
    )
}
