//! What each command promises: the exit codes it can really return (traced
//! from its code paths, with the meaning they have for that command) and
//! the record kinds it prints. The xtask renders the man pages' EXIT STATUS
//! and JSON OUTPUT sections and `schemas/sw-restore/` from this.

use sw_core::Exit;
use sw_core::contract::CommandDoc;

use crate::{activate, audit, drill, restore, runbook, walfetch};

/// Success, usage error, internal error.
fn base(command: &str, ok: &str) -> CommandDoc {
    CommandDoc::new(command)
        .exits(&[Exit::Usage])
        .exit(0, ok)
        .exit(Exit::Software.code(), "internal error")
}

/// The codes of restoring a copy (the restore itself, and drill and
/// activate, which run one).
fn restores(d: CommandDoc) -> CommandDoc {
    d.exit(
        65,
        "the archive does not reach the target (nothing was copied), the backup lies on an abandoned branch, the stored backup is corrupt or holds an unsafe path, recovery stopped short of or past the target (the copy was stopped), or the repository is malformed",
    )
    .exit(
        66,
        "the repository does not exist, or holds no backup that fits the target",
    )
    .exit(
        69,
        "the server programs are not found (--bindir), pg_waldump is another major version, the backup holds a tablespace or a link, or the copy does not start",
    )
    .exit(70, "internal error, or psql failed on the started copy")
    .exit(
        73,
        "the data directory is not empty, or a server runs there",
    )
    .exit(74, "I/O error")
    .exit(
        75,
        "recovery did not reach the target within --timeout, or the copy did not leave recovery after promotion (the copy was stopped)",
    )
    .exit(77, "permission denied")
    .exit(78, "unknown --os-user")
}

fn restore(command: &str) -> CommandDoc {
    restores(base(
        command,
        "restored (with --start: started, stopped at the target and promoted)",
    ))
    .exit(
        64,
        "usage error: no target, no --repo or --pgdata, --start without --port, a bad time or LSN, several clusters without --system-identifier, or --backup ends after the target",
    )
    .record::<restore::Outcome>()
}

fn wal_fetch() -> CommandDoc {
    CommandDoc::new("sw-restore wal-fetch")
        .exit(0, "found: the file is written to %p")
        .exit(
            walfetch::EXIT_ABSENT,
            "absent: the repository does not hold it (normal at the end of the archive; nothing on stderr)",
        )
        .exit(
            64,
            "usage error: bad flags, or %f is not a WAL file name (PostgreSQL takes it as absent)",
        )
        .exit(
            walfetch::EXIT_FATAL,
            "fatal, recovery stops: the stored copy is corrupt or unreadable, the repository holds two copies or is missing, ambiguous (--area) or broken, or an internal error",
        )
}

fn drill() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(restores(base("sw-restore drill", "the drill passed")))
        .exit(
            64,
            "usage error: bad flags or --target-time, or several clusters without --system-identifier",
        )
        .exit(
            65,
            "the drill failed on data: row counts short of --expect-rows (or that file is malformed), or the restore's own 65 (the archive does not reach the target...)",
        )
        .exit(
            70,
            "internal error, amcheck found a problem, or the --sql file failed",
        )
        .exit(73, "--save-rows or --drill-log cannot be written")
        .exit(
            75,
            "recovery did not reach the target within an hour (the copy was stopped)",
        )
        .record::<drill::record::DrillRecord>()
}

fn activate() -> CommandDoc {
    restores(base(
        "sw-restore activate",
        "the new primary runs (promoted standby or restored backup)",
    ))
    .exit(
        64,
        "usage error: data_corruption without --before, a bad --before, no --pgdata to restore into, or a repository without exactly one cluster, region_failure with a directory repository that links no off-site one",
    )
    .exit(70, "internal error, promoting the standby failed, or psql failed on the restored copy")
    .exit(
        73,
        "the data directory is not empty or a server runs there, or the env file cannot be written",
    )
    .exit(
        75,
        "recovery did not reach the target within 6 hours (the copy was stopped)",
    )
    .exit(
        78,
        "unknown --os-user, or DATABASE_URL in --env-file is invalid",
    )
    .record::<activate::Activation>()
    .record::<audit::AuditLine<'static>>()
}

fn runbook() -> CommandDoc {
    base("sw-restore runbook", "the runbook is written")
        .exit(65, "the repository or a timeline history file in it is malformed")
        .exit(66, "the repository does not exist")
        .exit(73, "the runbook (--out) cannot be written")
        .exit(74, "I/O error reading the repository or writing stdout")
        .exit(77, "permission denied reading the repository")
        .record::<runbook::Written>()
}

/// Every command's contract: `sw-restore` itself restores.
pub fn docs() -> Vec<CommandDoc> {
    let restore = sw_core::cli::BlobOpts::exits(restore("sw-restore"));
    let mut all: Vec<CommandDoc> = [restore, wal_fetch(), drill(), activate(), runbook()]
        .into_iter()
        .map(crate::azure::docs::extend)
        .collect();
    all.push(crate::azure::docs::promote());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str) -> CommandDoc {
        docs().into_iter().find(|d| d.command == name).unwrap()
    }

    #[test]
    fn every_record_follows_the_field_rule() {
        for d in docs() {
            for k in &d.records {
                assert!(
                    k.rule_violations().is_empty(),
                    "{}: {:?}",
                    d.command,
                    k.rule_violations()
                );
            }
        }
    }

    #[test]
    fn every_subcommand_has_a_contract() {
        let docs = docs();
        let cmd = crate::command();
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("sw-restore {}", sub.get_name());
            assert!(docs.iter().any(|d| d.command == name), "no docs for {name}");
        }
    }

    /// wal-fetch follows PostgreSQL's restore_command rules: 0 found, 1
    /// absent, above 125 fatal; its page lists exactly those codes (and the
    /// usage error clap gives before it runs), none with a check verdict.
    #[test]
    fn wal_fetch_documents_exactly_its_codes() {
        let d = get("sw-restore wal-fetch");
        let codes: Vec<u8> = d.exits.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [0, 1, 64, 126]);
        assert_eq!((walfetch::EXIT_ABSENT, walfetch::EXIT_FATAL), (1, 126));
        for (c, meaning) in &d.exits {
            assert!(!meaning.contains("WARNING"), "{c}: {meaning}");
        }
        assert!(d.exits[1].1.starts_with("absent"));
        assert!(d.exits[3].1.starts_with("fatal"));
        assert!(d.records.is_empty());
    }

    #[test]
    fn no_command_but_wal_fetch_exits_1_to_3_or_above_125() {
        for d in docs().iter().filter(|d| d.command != "sw-restore wal-fetch") {
            assert!(
                d.exits.iter().all(|(c, _)| !(1..=3).contains(c) && *c <= 125),
                "{}",
                d.command
            );
        }
    }
}
