//! What each command promises: the exit codes it can really return (traced
//! from its code paths, with the meaning they have for that command) and
//! the record kinds it prints. The xtask renders the man pages' EXIT STATUS
//! and JSON OUTPUT sections and `schemas/sw-backup/` from this.

use sw_core::Exit;
use sw_core::contract::CommandDoc;

use crate::{check, full, list, prune, rekey, setup, sync, verify};

/// A command whose work is on the local system: success, usage, internal error.
fn base(command: &str) -> CommandDoc {
    CommandDoc::new(command)
        .exits(&[Exit::Ok, Exit::Usage])
        .exit(Exit::Software.code(), "internal error")
}

/// The codes of reading (and writing) the repository.
fn repo(d: CommandDoc) -> CommandDoc {
    d.exit(65, "the repository or a file in it is malformed")
        .exit(
            66,
            "the repository does not exist (no sw-backup-repo.json), or a file it needs is missing",
        )
        .exit(74, "I/O error on the repository or stdout")
        .exit(77, "permission denied on the repository")
}

/// The codes of a command that connects to the server.
fn connects(d: CommandDoc) -> CommandDoc {
    d.exit(69, "cannot connect to the server")
        .exit(
            75,
            "the connection was refused for now (server starting or shutting down), or interrupted (SIGINT, SIGTERM)",
        )
        .exit(77, "authentication failed, or a privilege is missing")
        .exit(
            78,
            "no or an invalid target (--db, --env-file, DATABASE_URL), or the database does not exist",
        )
}

fn setup() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(repo(base("sw-backup setup")))
        .exit(0, "the cluster is registered and its archive settings written")
        .exit(
            65,
            "--pgdata's PG_VERSION or pg_control is malformed, or the repository is",
        )
        .exit(
            66,
            "--pgdata is not a data directory, or the repository cannot be found",
        )
        .exit(69, "the PostgreSQL server programs are not found (--bindir)")
        .exit(70, "internal error, or pg_controldata or pg_ctl reload failed")
        .exit(73, "sw-backup.conf or the repository cannot be written")
        .exit(74, "I/O error")
        .exit(
            77,
            "permission denied, or the server's OS user cannot run the archive command (--sw-backup)",
        )
        .exit(
            78,
            "unknown --os-user, or the repository area records another WAL segment size",
        )
        .record::<setup::SetupRecord>()
}

fn wal_push() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(repo(base("sw-backup wal-push")))
        .exit(
            0,
            "the file is durable in the repository, or an identical copy already was",
        )
        .exit(64, "usage error (bad flags, or a path without a file name)")
        .exit(
            65,
            "refused: not a WAL file of this cluster (name, size, header), a different copy is already stored, or the stored copy is corrupt; the repository is unchanged",
        )
        .exit(
            66,
            "the file, the data directory (--pgdata) or the repository is missing",
        )
        .exit(70, "internal error (the archiver retries)")
        .exit(74, "I/O error (the archiver retries)")
        .exit(
            75,
            "--timeout expired before the file was durable; nothing was acknowledged (the archiver retries)",
        )
        .exit(
            77,
            "permission denied (the repository is not writable by the server's OS user)",
        )
        .exit(
            78,
            "the cluster is not registered in the repository (run sw-backup setup). No code is above 125: PostgreSQL would take that as fatal",
        )
}

fn full() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(connects(repo(base("sw-backup full"))))
        .exit(0, "the backup is complete and listed")
        .exit(
            69,
            "cannot connect, pg_basebackup is not found (--bindir), the server is older than PostgreSQL 15, or the cluster has tablespaces",
        )
        .exit(70, "internal error, or pg_basebackup failed")
        .exit(73, "the backup's directory already exists")
        .exit(
            75,
            "another full or prune holds the area's lock, the WAL the backup needs was not archived within --wal-timeout (the backup is not complete), or interrupted",
        )
        .exit(
            78,
            "no or an invalid target, archive_mode is off, the cluster is not registered in the repository, or its WAL segment size differs",
        )
        .record::<full::FullRecord>()
}

fn list() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(repo(base("sw-backup list")))
        .exit(0, "the backups are listed (none is no error)")
        .record::<list::BackupRecord>()
}

fn verify() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(repo(base("sw-backup verify")))
        .exit(0, "every object matches its hash and the WAL is continuous")
        .exit(
            65,
            "problems were found (see the verify.problem records), or the repository is malformed",
        )
        .record::<verify::Problem>()
        .record::<verify::Summary>()
}

fn check() -> CommandDoc {
    base("sw-backup check")
        .exit(0, "OK: every item is OK")
        .exit(1, "WARNING: the worst item is a warning")
        .exit(
            2,
            "CRITICAL: the worst item is critical (archiving off or failing, no recent backup, no repository, little space)",
        )
        .exit(
            3,
            "UNKNOWN: the server cannot be asked (no or an invalid target, cannot connect, no privilege, interrupted)",
        )
        .exit(65, "a backup manifest in the repository is malformed")
        .exit(74, "I/O error reading the repository or writing stdout")
        .exit(
            69,
            "an azure:// repository stopped answering after it was opened (one that cannot be opened is a CRITICAL item)",
        )
        .exit(
            75,
            "Blob Storage kept failing through the retries after the repository was opened",
        )
        .exit(77, "permission denied reading the repository")
        .record::<check::CheckItem>()
        .record::<check::CheckSummary>()
}

fn rekey() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(repo(base("sw-backup rekey")))
        .exit(0, "the keyring was rewrapped (no object rewritten)")
        .exit(
            64,
            "nothing to do, an unknown or duplicate label, removing the last wrapping, or the repository is not encrypted",
        )
        .exit(
            65,
            "the keyring is damaged, or another rekey wrote the next keyring first",
        )
        .exit(
            77,
            "no key, or the --key-file/--passphrase-file does not unlock the repository",
        )
        .record::<rekey::RekeyRecord>()
}

fn sync() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(repo(base("sw-backup sync")))
        .exit(
            0,
            "the off-site repository holds everything the primary does (what was archived meanwhile stays queued)",
        )
        .exit(64, "the repository links no off-site repository (setup --offsite)")
        .exit(
            75,
            "another sync holds the area's copy lock, or Blob Storage kept failing",
        )
        .record::<sync::SyncRecord>()
}

fn prune() -> CommandDoc {
    sw_core::cli::BlobOpts::exits(prune_local())
}

fn prune_local() -> CommandDoc {
    repo(base("sw-backup prune"))
        .exit(0, "done (or, with --dry-run, planned)")
        .exit(75, "another full or prune holds an area's lock")
        .record::<prune::Removal>()
        .record::<prune::Summary>()
}

/// Every command's contract: the tool itself (every code any subcommand
/// returns), then each subcommand.
pub fn docs() -> Vec<CommandDoc> {
    let mut subs: Vec<CommandDoc> = [
        setup(),
        wal_push(),
        full(),
        list(),
        verify(),
        check(),
        prune(),
        rekey(),
        sync(),
    ]
    .into_iter()
    .map(crate::azure::docs::extend)
    .collect();
    subs.extend(crate::azure::docs::commands());
    let mut tool = CommandDoc::new("sw-backup");
    for d in &subs {
        for (code, _) in &d.exits {
            if !tool.exits.iter().any(|(c, _)| c == code) {
                tool = tool.exit(*code, &tool_meaning(*code));
            }
        }
    }
    let mut all = vec![tool];
    all.extend(subs);
    all
}

/// The tool page's meaning of a code (the subcommand pages give details).
fn tool_meaning(code: u8) -> String {
    match code {
        0 => "success (check: OK)",
        1 => "check: WARNING",
        2 => "check: CRITICAL",
        3 => "check: UNKNOWN",
        64 => "usage error (bad flags or arguments), or something an Azure target cannot do",
        65 => "bad data: a malformed repository, a WAL file wal-push refuses, problems verify found",
        66 => "the repository, a data directory, a file or an Azure server that should exist does not",
        69 => "the server programs are not found, the server or Azure cannot be reached, full cannot back it up, or an Azure operation failed",
        70 => "internal error, or a PostgreSQL program failed",
        73 => "cannot create a file or directory (sw-backup.conf, a backup directory)",
        74 => "I/O error",
        75 => "retry later: a lock is held (full, prune), WAL not archived in time (full), wal-push --timeout, Azure throttling or a long operation (run again to re-attach), interrupted",
        77 => "permission denied (files, the server, the archive command)",
        78 => "configuration error: no or an invalid target, an unregistered cluster, archive_mode off",
        _ => "see the subcommand's page",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let name = format!("sw-backup {}", sub.get_name());
            assert!(docs.iter().any(|d| d.command == name), "no docs for {name}");
        }
    }

    #[test]
    fn wal_push_never_exits_above_125_and_check_exits_with_verdicts() {
        let docs = docs();
        let get = |name: &str| docs.iter().find(|d| d.command == name).unwrap();
        assert!(get("sw-backup wal-push").exits.iter().all(|(c, _)| *c <= 125));
        let codes: Vec<u8> = get("sw-backup check").exits.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [0, 1, 2, 3, 64, 65, 69, 70, 74, 75, 77]);
        // Only check gives 1-3 a meaning.
        for d in docs
            .iter()
            .filter(|d| d.command != "sw-backup check" && d.command != "sw-backup")
        {
            assert!(d.exits.iter().all(|(c, _)| !(1..=3).contains(c)), "{}", d.command);
        }
    }
}
