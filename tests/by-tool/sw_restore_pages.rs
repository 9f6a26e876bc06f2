//! Page checksum validation while backing up (issue #18): a real cluster
//! with data checksums is backed up while a writer changes pages (no false
//! alarm), then a byte of a table's page is flipped on disk with the
//! server stopped; the next backup completes, names the relation and block,
//! `list` and sw-health's `backup_pages` report it, and a restore of it
//! warns. The same cluster shows the progress lines of `full`, `verify`
//! and the restore on a terminal, and nowhere else.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails by panicking; its helpers unwrap like its #[test] functions"
)]

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use sw_testkit::cmd::{self, Run};

#[path = "archived_common.rs"]
mod archived_common;

use archived_common::{Archived, BIN};

impl Archived {
    fn full(&self) -> (Run, Value) {
        let db = self.tc.url("postgres");
        let r = self.backup_cmd(&["full", "--db", &db, "--wal-timeout", "60s"]);
        r.expect_code(0);
        let rec = r.one("backup.full");
        (r, rec)
    }

    /// Flip one byte in the middle of page `block` of `table`'s file, with
    /// the server stopped (so no cached copy overwrites it), then start it.
    fn corrupt(&self, table: &str, block: u64) {
        let rel = self
            .tc
            .psql("postgres", &format!("SELECT pg_relation_filepath('{table}')"));
        self.tc.stop();
        let path = self.tc.datadir().join(rel);
        let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let at = block * 8192 + 5000;
        let mut b = [0_u8; 1];
        f.seek(SeekFrom::Start(at)).unwrap();
        f.read_exact(&mut b).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&[b[0] ^ 0x5a]).unwrap();
        f.sync_all().unwrap();
        self.tc.restart();
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_page_corrupted_on_disk_is_named_by_the_next_backup_and_its_restore_warns() {
    let p = Archived::new();
    p.tc.psql(
        "postgres",
        "CREATE TABLE t (id int, pad text); INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g; \
         CREATE TABLE hot (id int PRIMARY KEY, n int); INSERT INTO hot SELECT g, 0 FROM generate_series(1, 5000) g; CHECKPOINT",
    );
    // Pages written while the backup reads them (LSN past its start, or a
    // read torn between versions) are not corruption.
    let stop = AtomicBool::new(false);
    let (_, clean) = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                p.tc.psql("postgres", "UPDATE hot SET n = n + 1 WHERE id % 7 = 0");
            }
        });
        // Stops the writer even when the backup's assertion panics (the
        // scope joins it before the panic propagates).
        let _stop = StopOnDrop(&stop);
        p.full()
    });
    let pc = &clean["page_checks"];
    // The catalogs alone are hundreds of pages: a wrong checksum algorithm
    // would fail them all.
    assert!(pc["checked"].as_u64().unwrap() > 300, "{clean}");
    assert_eq!(pc["failed"], 0, "{clean}");

    p.corrupt("t", 3);
    let (r, bad) = p.full();
    let pc = &bad["page_checks"];
    assert_eq!(pc["failed"], 1, "{bad}");
    let page = &pc["bad_pages"][0];
    assert_eq!(page["relation"], "t", "{page}");
    assert_eq!(page["database"], "postgres", "{page}");
    assert_eq!(
        (page["fork"].as_str(), page["block"].as_u64()),
        (Some("main"), Some(3)),
        "{page}"
    );
    assert_eq!(page["confirmed"], true, "{page}");
    assert_ne!(page["stored_checksum"], page["computed_checksum"]);
    assert!(r.stderr.contains("failing their checksum"), "{}", r.stderr);

    // A chunked backup checks the pages it cuts from pg_basebackup's stream.
    let db = p.tc.url("postgres");
    let r = p.backup_cmd(&["full", "--chunked", "--db", &db, "--wal-timeout", "60s"]);
    r.expect_code(0);
    let chunked = r.one("backup.full");
    let page = &chunked["page_checks"]["bad_pages"][0];
    assert_eq!(
        (page["relation"].as_str(), page["block"].as_u64()),
        (Some("t"), Some(3)),
        "{chunked}"
    );
    assert_eq!(chunked["page_checks"]["failed"], 1, "{chunked}");
    assert!(chunked["page_checks"]["checked"].as_u64().unwrap() > 300, "{chunked}");

    let list = p.backup_cmd(&["list"]);
    list.expect_code(0);
    let recs = list.records();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0]["page_checks"]["failed"], 0);
    assert_eq!(recs[1]["page_checks"]["bad_pages"][0]["block"], 3);

    health_reports(&p, chunked["id"].as_str().unwrap());
    restores_warn(&p, bad["id"].as_str().unwrap(), clean["id"].as_str().unwrap());
}

fn health_reports(p: &Archived, id: &str) {
    let health = cmd::sibling_bin(BIN, "sw-health", "sw-health");
    let st = tempfile::tempdir().unwrap();
    let url = p.tc.url("postgres");
    let r = cmd::run(
        &health,
        &[
            "--db",
            &url,
            "--state-dir",
            st.path().to_str().unwrap(),
            "--checks",
            "backup_pages",
            "--backup-repo",
            p.repo.to_str().unwrap(),
        ],
        None,
    );
    r.expect_code(2);
    let rec = r.one("health.report");
    let c = &rec["checks"][0];
    assert_eq!(
        (c["name"].as_str(), c["status"].as_str()),
        (Some("backup_pages"), Some("CRITICAL")),
        "{c}"
    );
    assert_eq!(c["value"], 1.0, "{c}");
    assert_eq!(c["details"]["backup"], id, "{c}");
    assert!(c["message"].as_str().unwrap().contains("t block 3"), "{c}");
}

fn restores_warn(p: &Archived, bad: &str, clean: &str) {
    for (id, want) in [(bad, 1), (clean, 0)] {
        let dest = p.tc.dir.join(format!("copy-{id}"));
        let r = cmd::run_copied(
            &p.restore,
            &[
                "--repo",
                p.repo.to_str().unwrap(),
                "--backup",
                id,
                "--immediate",
                "--pgdata",
                dest.to_str().unwrap(),
            ],
        );
        r.expect_code(0);
        assert_eq!(r.one("restore")["corrupt_pages"], want, "{}", r.stdout);
        assert_eq!(
            r.stderr.contains("failed their checksum"),
            want > 0,
            "{id}: {}",
            r.stderr
        );
    }
}

/// Run `bin` under a pseudo-terminal (util-linux's `script`); what the
/// terminal showed.
fn on_terminal(bin: &Path, args: &[&str]) -> String {
    let line: Vec<String> = std::iter::once(bin.to_str().unwrap())
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    let out = std::process::Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_is_drawn_on_a_terminal_and_never_into_a_pipe_or_with_quiet() {
    let p = Archived::new();
    p.tc.psql(
        "postgres",
        "CREATE TABLE big AS SELECT g, repeat('y', 200) AS pad FROM generate_series(1, 100000) g",
    );
    let (r, rec) = p.full();
    assert!(!r.stderr.contains('\r'), "{}", r.stderr);
    let repo = p.repo.to_str().unwrap();
    let db = p.tc.url("postgres");
    let out = on_terminal(
        &p.backup,
        &["full", "--repo", repo, "--db", &db, "--wal-timeout", "60s"],
    );
    assert!(out.contains("\rsw-backup: base backup"), "{out}");
    let out = on_terminal(&p.backup, &["verify", "--repo", repo]);
    assert!(
        out.contains("\rsw-backup: verify: re-hashing objects [####################] 100%"),
        "{out}"
    );
    let out = on_terminal(&p.backup, &["-q", "verify", "--repo", repo]);
    assert!(!out.contains("re-hashing"), "{out}");
    let dest = p.tc.dir.join("copy-progress");
    let id = rec["id"].as_str().unwrap();
    let out = on_terminal(
        &p.restore,
        &[
            "--repo",
            repo,
            "--backup",
            id,
            "--immediate",
            "--pgdata",
            dest.to_str().unwrap(),
        ],
    );
    assert!(out.contains("\rsw-restore: restoring files ["), "{out}");
}
