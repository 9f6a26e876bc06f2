//! sw-vacuum: targeted VACUUM, ANALYZE and REINDEX that never blocks
//! production. It plans from one catalog snapshot per database
//! ([`snapshot`]), ranks with a pure function ([`plan`]) and runs the plan
//! with short lock timeouts, SKIP_LOCKED, a time budget, guards and
//! cancellation of its own statements on SIGTERM ([`exec`]). The flags are
//! in [`cli`], the records it prints in [`records`], the learned durations
//! in [`state`], the include/exclude globs in [`pattern`].

pub mod cli;
pub mod exec;
mod float;
pub mod pattern;
pub mod plan;
pub mod records;
pub mod snapshot;
pub mod state;

use sw_core::Result;
use sw_core::contract::{ALWAYS, CONNECTS, CommandDoc};

pub use cli::Cli;

/// The clap definition (for man pages and completions).
pub fn command() -> clap::Command {
    sw_core::cli::command::<Cli>()
}

/// What sw-vacuum promises: its exit codes and the record kinds it prints
/// (man page EXIT STATUS and JSON OUTPUT, and `schemas/`).
pub fn docs() -> Vec<CommandDoc> {
    vec![
        CommandDoc::new("sw-vacuum")
            .exits(ALWAYS)
            .exits(CONNECTS)
            .exit(
                0,
                "success: every action done or skipped (a skip is normal: locked, yielded, out of budget, paused too long)",
            )
            .exit(
                65,
                "an action failed on bad data (SQLSTATE class 22 or 23, e.g. REINDEX of a unique index holding duplicates)",
            )
            .exit(66, "the --env-file does not exist")
            .exit(
                70,
                "internal error, or an action failed with an SQL error not mapped to another code",
            )
            .exit(
                74,
                "I/O error (the lock file beside --state-file, the --env-file, stdout)",
            )
            .exit(
                75,
                "interrupted by SIGTERM or SIGINT (our statements cancelled first); another sw-vacuum holds the \
                 lock beside --state-file; or every failure was temporary (connection lost, deadlock, serialization)",
            )
            .exit(
                77,
                "permission denied (authentication, a privilege, the lock file beside --state-file)",
            )
            .exit(
                78,
                "a real run on a standby (only --dry-run works there); a missing or invalid target; \
                 a database that does not exist",
            )
            .record::<records::PlanRecord<'static>>()
            .record::<records::TableRecord>()
            .record::<records::DatabaseRecord>()
            .record::<records::Summary>(),
    ]
}

/// Run the tool. When actions (or, with several databases, whole
/// databases) fail, the run goes on and then exits with the failure's
/// code: with several, the highest, and 75 only when every failure was
/// temporary ([`sw_core::Exit::worst`]).
///
/// # Errors
/// See [`docs`].
pub fn run(cli: Cli) -> Result<()> {
    cli.validate()?;
    exec::main(cli)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_core::Exit;

    #[test]
    fn every_code_is_documented_once() {
        let d = &docs()[0];
        let codes: Vec<u8> = d.exits.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [0, 64, 65, 66, 69, 70, 74, 75, 77, 78]);
        assert!(!codes.contains(&Exit::Warning.code()));
    }
}
