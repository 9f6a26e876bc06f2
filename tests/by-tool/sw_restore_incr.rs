//! Chunked incremental backups end to end (issue #18): a real cluster, a
//! chunked full and two incrementals after changes, point-in-time
//! restores from each, verify and list, pruning the full, a deleted chunk
//! named by verify and refused by restore, and a killed incremental next
//! to a prune that must not sweep what a running backup stores.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails by panicking; its helpers unwrap like its #[test] functions"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_testkit::cmd;

#[path = "archived_common.rs"]
mod archived_common;

use archived_common::Archived;

/// The archived cluster holding the tables the tests change.
struct Incr(Archived);

impl std::ops::Deref for Incr {
    type Target = Archived;
    fn deref(&self) -> &Archived {
        &self.0
    }
}

impl Incr {
    fn new() -> Incr {
        let i = Incr(Archived::new());
        // 4 MB of rows over many pages, so a change touches few chunks.
        i.sql("CREATE TABLE t (x int PRIMARY KEY, pad text); CREATE TABLE m (x int)");
        i.sql("INSERT INTO t SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 10000) g");
        i.sql("CHECKPOINT");
        i
    }

    fn sql(&self, q: &str) -> String {
        self.tc.psql("postgres", q)
    }

    /// `full` with `flag`; its record.
    fn take(&self, flag: &str) -> Value {
        let db = self.tc.url("postgres");
        let r = self.backup_cmd(&["full", flag, "--db", &db]);
        r.expect_code(0);
        r.one("backup.full")
    }

    fn area(&self) -> PathBuf {
        std::fs::read_dir(&self.repo)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("area.json").exists())
            .unwrap()
    }

    fn chunk_files(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.area().join("chunks")) else {
            return v;
        };
        for d in rd.flatten() {
            v.extend(std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.path()));
        }
        v
    }

    /// Archive the current segment and wait until it is stored.
    fn switch_and_wait(&self) {
        let seg = self.sql("SELECT pg_walfile_name(pg_switch_wal())");
        let dir = self.area().join("wal").join(&seg[..16]);
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let stored = std::fs::read_dir(&dir).ok().is_some_and(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(&format!("{seg}-")))
            });
            if stored {
                return;
            }
            assert!(Instant::now() < end, "timed out waiting for {seg}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Restore `backup` to `lsn`, start it and return (m's rows, t's digest).
    fn restore_at(&self, name: &str, backup: &str, lsn: &str) -> (String, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let dir = self.tc.dir.join(name);
        let sock = self.tc.socket_dir.to_str().unwrap().to_owned();
        let r = cmd::run_copied(
            &self.restore,
            &[
                "--repo",
                self.repo.to_str().unwrap(),
                "--pgdata",
                dir.to_str().unwrap(),
                "--backup",
                backup,
                "--target-lsn",
                lsn,
                "--start",
                "--port",
                &port,
                "--socket-dir",
                &sock,
            ],
        );
        r.expect_code(0);
        assert_eq!(r.one("restore")["backup"], backup);
        let q = |sql: &str| {
            let mut c = self.tc.runner().command("psql");
            c.args([
                "-X", "-A", "-t", "-h", &sock, "-p", &port, "-U", "postgres", "-d", "postgres", "-c", sql,
            ]);
            let o = c.output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        };
        let got = (q(M_ROWS), q(T_DIGEST));
        let cl = sw_core::cluster::Cluster::new(&dir, self.tc.runner().clone()).unwrap();
        cl.stop(sw_core::cluster::StopMode::Immediate).unwrap();
        got
    }
}

const M_ROWS: &str = "SELECT coalesce(string_agg(x::text, ',' ORDER BY x), '') FROM m";
const T_DIGEST: &str = "SELECT md5(string_agg(x || pad, ',' ORDER BY x)) FROM t";

/// Insert marker `x` into m and return the LSN after it.
fn mark(i: &Incr, x: u32) -> String {
    i.sql(&format!("INSERT INTO m VALUES ({x})"));
    i.sql("SELECT pg_current_wal_insert_lsn()")
}

fn listed(i: &Incr) -> Vec<Value> {
    let r = i.backup_cmd(&["list"]);
    r.expect_code(0);
    r.records().into_iter().filter(|v| v["kind"] == "backup").collect()
}

#[test]
fn incrementals_restore_alone_exactly_and_survive_pruning_their_full() {
    let i = Incr::new();
    let full = i.take("--chunked");
    assert_eq!(
        (full["format"].as_str(), full["backup_type"].as_str()),
        (Some("chunks"), Some("full"))
    );
    i.sql("UPDATE t SET pad = upper(pad) WHERE x <= 100");
    mark(&i, 1);
    let i1 = i.take("--incremental");
    assert_eq!(i1["parent"], full["id"]);
    let lsn_a = mark(&i, 2);
    let digest_a = i.sql(T_DIGEST);
    mark(&i, 3);
    i.sql("UPDATE t SET pad = lower(pad) WHERE x > 9900");
    let i2 = i.take("--incremental");
    assert_eq!(i2["parent"], i1["id"]);
    let lsn_b = mark(&i, 4);
    let digest_b = i.sql(T_DIGEST);
    mark(&i, 5);
    i.switch_and_wait();

    // An incremental stores a small part of what the full did, and list
    // shows each backup's own new bytes beside its logical size.
    let (nf, n1) = (full["new_bytes"].as_u64().unwrap(), i1["new_bytes"].as_u64().unwrap());
    assert!(n1 * 5 < nf, "incremental stored {n1} bytes, the full {nf}");
    let l = listed(&i);
    assert_eq!(l.len(), 3);
    for (rec, b) in l.iter().zip([&full, &i1, &i2]) {
        assert_eq!(rec["new_bytes"], b["new_bytes"]);
        assert!(rec["logical_bytes"].as_u64().unwrap() > nf);
    }

    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    assert_eq!(
        i.restore_at("from_full", &id(&full), &lsn_a),
        ("1,2".into(), digest_a.clone())
    );
    assert_eq!(
        i.restore_at("from_i1", &id(&i1), &lsn_a),
        ("1,2".into(), digest_a.clone())
    );
    assert_eq!(
        i.restore_at("from_i2", &id(&i2), &lsn_b),
        ("1,2,3,4".into(), digest_b.clone())
    );
    let v = i.backup_cmd(&["verify"]);
    v.expect_code(0);
    assert!(v.one("verify.summary")["chunks"].as_u64().unwrap() > 0);

    // Pruning the full leaves both incrementals whole.
    let p = i.backup_cmd(&[
        "prune",
        "--retention-days",
        "0",
        "--min-full",
        "2",
        "--chunk-grace",
        "0s",
    ]);
    p.expect_code(0);
    let s = p.one("backup.prune.summary");
    assert_eq!(s["backups_removed"], 1);
    assert!(s["chunks_removed"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(listed(&i).len(), 2);
    i.backup_cmd(&["verify"]).expect_code(0);
    assert_eq!(i.restore_at("i1_pruned", &id(&i1), &lsn_a), ("1,2".into(), digest_a));

    deleted_chunk_is_named_and_refused(&i, &id(&i2), &lsn_b);
}

fn deleted_chunk_is_named_and_refused(i: &Incr, backup: &str, lsn: &str) {
    let ix = i.area().join("backup").join(backup).join("chunks.json.zst");
    let json: Value = serde_json::from_slice(&zstd_decode(&ix)).unwrap();
    let table = i.sql("SELECT pg_relation_filepath('t')");
    let entry = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == table.as_str())
        .unwrap();
    let name = entry["chunks"][0][0].as_str().unwrap().to_owned();
    let file = i
        .chunk_files()
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&name))
        .unwrap();
    std::fs::remove_file(file).unwrap();
    let v = i.backup_cmd(&["verify"]);
    v.expect_code(65);
    let missing: Vec<Value> = v
        .records()
        .into_iter()
        .filter(|r| r["problem"] == "missing_chunk")
        .collect();
    assert!(
        missing
            .iter()
            .any(|r| r["object"].as_str().unwrap().contains(&name) && r["backup"] == backup),
        "{v:?}"
    );
    let dir = i.tc.dir.join("refused");
    let r = cmd::run_copied(
        &i.restore,
        &[
            "--repo",
            i.repo.to_str().unwrap(),
            "--pgdata",
            dir.to_str().unwrap(),
            "--backup",
            backup,
            "--target-lsn",
            lsn,
        ],
    );
    r.expect_code(65);
    assert!(
        r.stderr.contains(&name) && r.stderr.contains("nothing was restored"),
        "{r:?}"
    );
    assert!(!dir.exists(), "a refused restore left {}", dir.display());
}

fn zstd_decode(p: &Path) -> Vec<u8> {
    let o = std::process::Command::new("zstd").arg("-dc").arg(p).output().unwrap();
    assert!(o.status.success());
    o.stdout
}

#[test]
fn a_killed_incremental_is_never_listed_and_a_prune_beside_a_running_one_sweeps_nothing() {
    let i = Incr::new();
    i.take("--chunked");
    i.sql("UPDATE t SET pad = upper(pad) WHERE x <= 2000");
    // The archiver fails, so the incremental waits for its WAL with its
    // new chunks already in the store.
    i.sql("ALTER SYSTEM SET archive_command = 'false'");
    i.sql("SELECT pg_reload_conf()");
    let before = i.chunk_files().len();
    let db = i.tc.url("postgres");
    let mut child = cmd::command(&i.backup)
        .args(["full", "--incremental", "--wal-timeout", "5min", "--db", &db, "--repo"])
        .arg(&i.repo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    while i.chunk_files().len() == before {
        assert!(Instant::now() < end, "the incremental stored no chunk");
        std::thread::sleep(Duration::from_millis(50));
    }
    // While it runs, a prune sweeps nothing (it holds the lock).
    let p = i.backup_cmd(&["prune", "--retention-days", "0", "--chunk-grace", "0s"]);
    p.expect_code(75);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(listed(&i).len(), 1, "a killed backup is listed");
    i.sql("ALTER SYSTEM RESET archive_command");
    i.sql("SELECT pg_reload_conf()");

    // Its chunks are orphans: kept within the grace period, then swept.
    let orphans = u64::try_from(i.chunk_files().len() - before).unwrap();
    let p = i.backup_cmd(&["prune", "--retention-days", "30"]);
    p.expect_code(0);
    assert_eq!(p.one("backup.prune.summary")["chunks_removed"], 0);
    let p = i.backup_cmd(&["prune", "--retention-days", "30", "--chunk-grace", "0s"]);
    p.expect_code(0);
    assert_eq!(
        p.one("backup.prune.summary")["chunks_removed"].as_u64().unwrap(),
        orphans
    );
    assert_eq!(i.chunk_files().len(), before);

    // A rerun is fine and restorable.
    let rerun = i.take("--incremental");
    assert_eq!(rerun["backup_type"], "incremental");
    let lsn = mark(&i, 7);
    let digest = i.sql(T_DIGEST);
    i.switch_and_wait();
    i.backup_cmd(&["verify"]).expect_code(0);
    assert_eq!(
        i.restore_at("rerun", rerun["id"].as_str().unwrap(), &lsn),
        ("7".into(), digest)
    );
}
