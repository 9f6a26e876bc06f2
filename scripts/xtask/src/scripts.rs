//! The records the shell scripts in `scripts/` print. They are written by
//! bash (`printf`), not through these types, so the types exist only to
//! give the records a checked-in schema like every other kind; the
//! pipelines tests validate what the scripts really print against them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::{KindDoc, Record, Timestamp};

/// One step of a maintenance run, appended to `maintenance.jsonl` after the
/// step's own records.
#[derive(Serialize, JsonSchema)]
pub struct MaintenanceStep {
    /// vacuum, health, verify, prune, storage or alerts.
    pub step: String,
    /// The step's exit code (69 when its program is not installed).
    pub exit: u8,
    pub started_at: Timestamp,
    pub duration_ms: u64,
}

impl Record for MaintenanceStep {
    const KIND: &'static str = "maintenance.step";
}

/// A step's result in the summary: its exit code, or "skipped".
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StepResult {
    Exit(u8),
    Skipped(Skipped),
}

/// A step left out with `--skip`.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Skipped {
    Skipped,
}

/// The end of a maintenance run, printed on stdout and appended to the log.
#[derive(Serialize, JsonSchema)]
pub struct MaintenanceSummary {
    /// The worst step's exit code (`Exit::worst` order), the script's own.
    pub exit: u8,
    /// Each step's exit code, or "skipped".
    pub steps: BTreeMap<String, StepResult>,
    pub started_at: Timestamp,
    pub duration_ms: u64,
    /// The log file the records were appended to.
    pub log: String,
}

impl Record for MaintenanceSummary {
    const KIND: &'static str = "maintenance.summary";
}

/// Each script that prints records, with its kinds.
pub fn scripts() -> Vec<(&'static str, Vec<KindDoc>)> {
    vec![(
        "sw-maintenance",
        vec![KindDoc::of::<MaintenanceStep>(), KindDoc::of::<MaintenanceSummary>()],
    )]
}
