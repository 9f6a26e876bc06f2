//! sw-migrate-sqlite: move a SQLite database into PostgreSQL without losing
//! or silently altering anything. `plan` prints the migration plan as JSON;
//! `run` executes it (planning first unless given `--plan FILE`).
//!
//! Where things are: `plan/` (the plan's types and how it is built from a
//! SQLite file), `run/` (executing it), `value/` (SQLite values to binary
//! COPY fields), `sql/` (tokenizing and translating SQLite SQL), `types`
//! (declared types to PostgreSQL types), `source` (the read-only snapshot),
//! `record` (the records `run` writes).

mod plan;
mod record;
mod run;
mod source;
mod sql;
mod types;
mod value;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sw_core::Exit;
use sw_core::cli::{CommonOpts, PgOpts, Tool};
use sw_core::contract::{ALWAYS, CONNECTS, CommandDoc};
use sw_core::output::Output;

use crate::plan::Plan;
use crate::record::{RejectRecord, Summary, TableRecord};

/// The program name.
pub const NAME: &str = "sw-migrate-sqlite";

/// Migrate a SQLite database to PostgreSQL: planned, lossless, verified.
#[derive(Parser, Debug)]
#[command(name = "sw-migrate-sqlite", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOpts,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print the migration plan as JSON: DDL per table, casts and reasons,
    /// indexes, constraints, foreign keys, views, and what cannot be translated.
    Plan(PlanArgs),
    /// Migrate: plan (or read --plan), load through a staging schema, verify, switch in.
    Run(RunArgs),
}

/// Flags of `plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The SQLite database (opened read-only).
    #[arg(value_name = "SOURCE.db")]
    pub source: PathBuf,
    /// Target schema recorded in the plan.
    #[arg(long, value_name = "NAME", default_value = "public")]
    pub schema: String,
}

/// What to do with a value that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Stop the run (exit 65) naming table, rowid, column, value and rule.
    Stop,
    /// Write the row to the reject file and go on (the run then exits 65
    /// once the rest is loaded and verified).
    Reject,
}

/// Flags of `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The SQLite database (opened read-only; default with --plan: the plan's source).
    #[arg(value_name = "SOURCE.db", required_unless_present = "plan")]
    pub source: Option<PathBuf>,
    /// Execute this (possibly edited) plan instead of planning.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub pg: PgOpts,
    /// Target schema (default: public, or the plan's).
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    /// Tables loaded at once (each with a reader thread and a PostgreSQL session); --data-only loads in one session, one transaction.
    #[arg(long, short = 'j', default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// What to do with a value that breaks a rule.
    #[arg(long, value_enum, default_value = "stop")]
    pub on_error: OnError,
    /// Where --on-error=reject writes rejected rows (JSON Lines; must not exist; created at the first rejected row). Default: STEM.rejects.jsonl beside the --plan file, else beside the source.
    #[arg(long, value_name = "FILE")]
    pub reject_file: Option<PathBuf>,
    /// Compare each table's row count and content checksum on both sides (the default).
    #[arg(long, overrides_with = "no_verify")]
    pub verify: bool,
    /// Skip the per-table row count and checksum comparison.
    #[arg(long, overrides_with = "verify")]
    pub no_verify: bool,
    /// Load into tables that already exist in the target schema (columns mapped by name), in one transaction.
    #[arg(long)]
    pub data_only: bool,
    /// With --data-only: empty the target tables first (in the same transaction).
    #[arg(long, requires = "data_only")]
    pub truncate: bool,
    /// Refuse (exit 65, before anything is written) a plan that relaxes or leaves out anything it names: a key made UNIQUE, a NOT VALID foreign key or CHECK, values made NULL, a dropped default, a colliding key, a skipped trigger, view or virtual table.
    #[arg(long)]
    pub strict: bool,
}

impl Tool for Cli {
    const NAME: &'static str = NAME;
    fn common(&self) -> &CommonOpts {
        &self.common
    }
}

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    sw_core::cli::command::<Cli>()
}

/// What each command promises: its exit codes and the record kinds it
/// prints (man pages' EXIT STATUS and JSON OUTPUT, and `schemas/`).
pub fn docs() -> Vec<CommandDoc> {
    let plan = CommandDoc::new("sw-migrate-sqlite plan")
        .exits(ALWAYS)
        .exit(0, "success: the plan is printed")
        .exit(
            65,
            "the source is not a readable SQLite database, or its schema cannot be read",
        )
        .exit(66, "the source database does not exist or cannot be opened")
        .exit(74, "I/O error (writing stdout)")
        .exit(
            75,
            "the source is locked (no read transaction could start), or interrupted",
        )
        .record::<Plan>();
    let run = CommandDoc::new("sw-migrate-sqlite run")
        .exits(ALWAYS)
        .exits(CONNECTS)
        .exit(
            0,
            "success: every table migrated and verified, every row arrived",
        )
        .exit(
            65,
            "a value that does not fit its column (with --on-error=reject: the run goes on and exits 65 at the end, the rows in the reject file, every other row loaded and verified), with --strict anything the plan relaxes or leaves out (nothing is written), a UNIQUE key whose rows collide in PostgreSQL only (with --strict; without it the key becomes a plain index of the same name, reported), rows that break a key, a failed verification, a bad plan (or one of schema 1), a target column it cannot write",
        )
        .exit(66, "the source database or the --plan file does not exist")
        .exit(
            70,
            "internal error, or rows read differ from SQLite's count (nothing was changed)",
        )
        .exit(
            73,
            "the target schema already has a relation of a planned name, a --data-only target table is not empty, or the reject file exists or cannot be created",
        )
        .exit(74, "I/O error (writing the reject file or stdout)")
        .exit(
            75,
            "the source changes too often for a consistent snapshot, a lock or serialization failure, or interrupted; retry",
        )
        .record::<TableRecord>()
        .record::<Summary>()
        .record::<RejectRecord>();
    let mut tool = CommandDoc::new(NAME);
    tool.exits = plan.exits.iter().chain(&run.exits).cloned().collect();
    tool.exits.sort_by_key(|(c, _)| *c);
    tool.exits.dedup_by_key(|(c, _)| *c);
    for (code, meaning) in &mut tool.exits {
        if let Some(e) = Exit::ALL.iter().find(|e| e.code() == *code) {
            *meaning = e.meaning().to_owned();
        }
    }
    tool = tool
        .record::<Plan>()
        .record::<TableRecord>()
        .record::<Summary>()
        .record::<RejectRecord>();
    vec![tool, plan, run]
}

/// Run the tool.
pub fn run(cli: Cli) -> sw_core::Result<()> {
    match cli.cmd {
        Cmd::Plan(a) => {
            let conn = source::open(&a.source)?;
            conn.execute_batch("BEGIN")
                .map_err(|e| sw_core::Error::temp("starting a read transaction").with_source(e))?;
            let p = plan::build(&conn, &a.source.to_string_lossy(), &a.schema, true)?;
            let mut out = Output::stdout(cli.common.pretty);
            out.emit(&p)?;
            out.flush()
        }
        Cmd::Run(a) => run::run(&a, cli.common.pretty),
    }
}
