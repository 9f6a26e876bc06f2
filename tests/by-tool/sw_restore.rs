//! sw-restore end to end: real clusters, real repositories, real recovery.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails by panicking; its helpers unwrap like its #[test] functions"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sw_testkit::cmd::{self, Run};

#[path = "archived_common.rs"]
mod archived_common;

use archived_common::Archived;

impl Archived {
    fn restore_cmd(&self, args: &[&str]) -> Run {
        let mut v: Vec<&str> = vec!["--repo", self.repo.to_str().unwrap()];
        v.extend_from_slice(args);
        cmd::run_copied(&self.restore, &v)
    }

    fn sub_cmd(&self, args: &[&str]) -> Run {
        cmd::run_copied(&self.restore, args)
    }

    fn full(&self) -> String {
        let db = self.tc.url("postgres");
        let r = self.backup_cmd(&["full", "--db", &db]);
        r.expect_code(0);
        r.one("backup.full")["id"].as_str().unwrap().to_owned()
    }

    fn area(&self) -> PathBuf {
        std::fs::read_dir(&self.repo)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("area.json").exists())
            .unwrap()
    }

    fn stored(&self, seg: &str) -> Option<PathBuf> {
        let dir = self.area().join("wal").join(&seg[..16]);
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{seg}-")))
    }

    /// Switch to a new segment and wait until the finished one is stored.
    fn switch_and_wait(&self) -> String {
        let seg = self.tc.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        let end = Instant::now() + Duration::from_secs(60);
        while self.stored(&seg).is_none() {
            assert!(Instant::now() < end, "timed out waiting for {seg} to be archived");
            std::thread::sleep(Duration::from_millis(100));
        }
        seg
    }

    /// A restore target directory beside the cluster.
    fn scratch(&self, name: &str) -> PathBuf {
        self.tc.dir.join(name)
    }

    /// Start a restore with --start on a free port; returns (record, port).
    fn restore_started(&self, name: &str, target: &[&str]) -> (serde_json::Value, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let dir = self.scratch(name);
        let sock = self.tc.socket_dir.to_str().unwrap().to_owned();
        let mut args = vec![
            "--pgdata",
            dir.to_str().unwrap(),
            "--start",
            "--port",
            &port,
            "--socket-dir",
            &sock,
        ];
        args.extend_from_slice(target);
        let r = self.restore_cmd(&args);
        r.expect_code(0);
        (r.one("restore"), port.parse().unwrap())
    }

    /// Query a restored copy.
    fn query(&self, port: u16, sql: &str) -> String {
        let mut c = self.tc.runner().command("psql");
        c.args(["-X", "-A", "-t", "-h"]).arg(&self.tc.socket_dir).args([
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ]);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }

    fn stop_copy(&self, name: &str) {
        let c = sw_core::cluster::Cluster::new(&self.scratch(name), self.tc.runner().clone()).unwrap();
        c.stop(sw_core::cluster::StopMode::Immediate).unwrap();
    }
}

/// The server's clock in UTC, as --target-time and --before take it.
const NOW_UTC: &str = "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

/// Store a valid but different copy of the stored WAL file `stored` (one
/// byte of its content flipped) beside it, as a racing push of an old
/// version could have; returns its path.
fn store_conflicting_copy(stored: &Path) -> PathBuf {
    use sw_core::repo::object;
    let mut raw = Vec::new();
    object::decompress_checked(stored, None, &mut raw).unwrap();
    let n = raw.len();
    raw[n - 100] ^= 0x55;
    let file = stored.file_name().unwrap().to_string_lossy().into_owned();
    let name = &file[..file.rfind('-').unwrap()];
    let near = stored.with_file_name(name);
    let (tmp, st) = object::compress_to_temp(&mut &raw[..], &near, object::WAL_LEVEL).unwrap();
    let p = stored.with_file_name(format!("{name}-{}.zst", st.sha256));
    sw_core::fsutil::persist_new(tmp, &p).unwrap();
    p
}

#[test]
fn point_in_time_restores_are_exact_for_time_and_lsn() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t (x int)");
    // ALTER SYSTEM settings travel in the backup and would override the
    // restore's own (a stray recovery target, archiving into this repo).
    a.tc.psql("postgres", "ALTER SYSTEM SET archive_mode = 'on'");
    a.tc.psql("postgres", "ALTER SYSTEM SET recovery_target_name = 'nowhere'");
    a.full();
    a.tc.psql("postgres", "INSERT INTO t VALUES (1)");
    a.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    let t1 = a.tc.psql("postgres", NOW_UTC);
    a.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    a.tc.psql("postgres", "INSERT INTO t VALUES (2)");
    let lsn = a.tc.psql("postgres", "SELECT pg_current_wal_insert_lsn()");
    a.tc.psql("postgres", "INSERT INTO t VALUES (3)");
    // After the last commit but before its segment is archived: no commit
    // after it exists to prove recovery reached it.
    let after_last = a.tc.psql("postgres", NOW_UTC);
    a.switch_and_wait();

    let (rec, port) = a.restore_started("by_time", &["--target-time", &t1]);
    assert_eq!(rec["promoted"], true);
    assert!(rec["reached_lsn"].is_string());
    assert!(rec["conninfo"].as_str().unwrap().contains(&port.to_string()));
    assert_eq!(a.query(port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "1");
    assert_eq!(a.query(port, "SELECT pg_is_in_recovery()"), "f");
    assert_eq!(a.query(port, "SHOW archive_mode"), "off");
    // Restored files belong to the server's OS user, and so does pg_control.
    if let Some(u) = &a.tc.runner().user {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(a.scratch("by_time").join("global/pg_control")).unwrap();
        assert_eq!(m.uid(), u.uid);
    }
    a.stop_copy("by_time");

    let (_, port) = a.restore_started("by_lsn", &["--target-lsn", &lsn]);
    assert_eq!(
        a.query(port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        "1,2"
    );
    a.stop_copy("by_lsn");

    let (_, port) = a.restore_started("latest", &["--latest"]);
    assert_eq!(
        a.query(port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        "1,2,3"
    );
    a.stop_copy("latest");

    // Past the end of the archive: refused before any data is copied.
    let dir = a.scratch("future");
    let r = a.restore_cmd(&[
        "--pgdata",
        dir.to_str().unwrap(),
        "--target-time",
        "2999-01-01T00:00:00Z",
    ]);
    r.expect_code(65);
    assert!(r.stderr.contains("past the end"), "{r:?}");
    assert!(!dir.exists());
    let r = a.restore_cmd(&["--pgdata", dir.to_str().unwrap(), "--target-time", &after_last]);
    r.expect_code(65);
    assert!(r.stderr.contains("last archived transaction ended at"), "{r:?}");
    assert!(!dir.exists());
}

#[test]
fn a_restore_point_picks_the_backup_that_reaches_it_or_fails_before_copying() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t (x int)");
    let older = a.full();
    a.tc.psql("postgres", "INSERT INTO t VALUES (1)");
    a.tc.psql("postgres", "SELECT pg_create_restore_point('rp_old')");
    a.tc.psql("postgres", "INSERT INTO t VALUES (2)");
    let newer = a.full();
    a.tc.psql("postgres", "INSERT INTO t VALUES (3)");
    a.tc.psql("postgres", "SELECT pg_create_restore_point('rp_new')");
    a.tc.psql("postgres", "INSERT INTO t VALUES (4)");
    a.switch_and_wait();

    // Older than the newest backup: the older backup is the one that reaches it.
    let (rec, port) = a.restore_started("rp_old", &["--target-name", "rp_old"]);
    assert_eq!(rec["backup"], older.as_str());
    assert_eq!(a.query(port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "1");
    a.stop_copy("rp_old");

    let dir = a.scratch("rp_new");
    let r = a.restore_cmd(&["--pgdata", dir.to_str().unwrap(), "--target-name", "rp_new"]);
    r.expect_code(0);
    assert_eq!(r.one("restore")["backup"], newer.as_str());

    let dir = a.scratch("rp_none");
    let r = a.restore_cmd(&["--pgdata", dir.to_str().unwrap(), "--target-name", "no such point"]);
    r.expect_code(65);
    assert!(r.stderr.contains("no such point"), "{r:?}");
    assert!(!dir.exists(), "nothing may be copied");
}

#[test]
fn a_missing_middle_segment_limits_restores_and_fails_them_before_copying() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t (x int)");
    a.full();
    a.tc.psql("postgres", "INSERT INTO t VALUES (1)");
    let t1 = a.tc.psql("postgres", NOW_UTC);
    a.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    a.tc.psql("postgres", "INSERT INTO t VALUES (2)");
    a.switch_and_wait();
    a.tc.psql("postgres", "INSERT INTO t VALUES (3)");
    let lost = a.switch_and_wait();
    a.tc.psql("postgres", "INSERT INTO t VALUES (4)");
    let t2 = a.tc.psql("postgres", NOW_UTC);
    a.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    a.tc.psql("postgres", "INSERT INTO t VALUES (5)");
    a.switch_and_wait();
    std::fs::remove_file(a.stored(&lost).unwrap()).unwrap();

    let dir = a.scratch("after_gap");
    let r = a.restore_cmd(&["--pgdata", dir.to_str().unwrap(), "--target-time", &t2]);
    r.expect_code(65);
    assert!(r.stderr.contains(&lost), "{r:?}");
    assert!(!dir.exists(), "nothing may be copied");
    let r = a.restore_cmd(&["--pgdata", dir.to_str().unwrap(), "--latest"]);
    r.expect_code(65);
    assert!(!dir.exists());

    let (_, port) = a.restore_started("before_gap", &["--target-time", &t1]);
    assert_eq!(a.query(port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "1");
    a.stop_copy("before_gap");
}

#[test]
fn restore_refuses_non_empty_directories_and_running_clusters() {
    let a = Archived::new();
    a.full();
    a.tc.psql("postgres", "CREATE TABLE t AS SELECT 1 AS x");
    a.switch_and_wait();
    let busy = a.scratch("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let r = a.restore_cmd(&["--pgdata", busy.to_str().unwrap(), "--latest"]);
    r.expect_code(73);
    assert!(r.stderr.contains("not empty"), "{r:?}");
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);
    let r = a.restore_cmd(&["--pgdata", a.tc.datadir().to_str().unwrap(), "--latest"]);
    r.expect_code(73);
    assert!(r.stderr.contains("running"), "{r:?}");
    assert_eq!(a.tc.psql("postgres", "SELECT x FROM t"), "1");
    // A corrupt stored backup: the restore fails and leaves nothing behind.
    let base = std::fs::read_dir(a.area().join("backup"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("base.tar.zst"))
        .find(|p| p.exists())
        .unwrap();
    let mut b = std::fs::read(&base).unwrap();
    let n = b.len() / 2;
    b[n] ^= 0xFF;
    std::fs::write(&base, &b).unwrap();
    let bad = a.scratch("from_corrupt");
    let r = a.restore_cmd(&["--pgdata", bad.to_str().unwrap(), "--latest"]);
    assert!(r.code != 0, "{r:?}");
    assert!(!bad.exists(), "a failed restore leaves no partial copy");
    // Without a target: a usage error, nothing touched.
    let r = a.restore_cmd(&["--pgdata", a.scratch("none").to_str().unwrap()]);
    r.expect_code(64);
    // --start without --port: refused before anything is copied.
    let r = a.restore_cmd(&["--pgdata", a.scratch("noport").to_str().unwrap(), "--latest", "--start"]);
    r.expect_code(64);
    assert!(!a.scratch("noport").exists());
}

/// A zstd tar holding one entry with a raw `path` (written as is, `..`
/// included) and, after it, a regular file `then`.
fn crafted_archive(kind: tar::EntryType, path: &str, link: Option<&Path>, then: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(0o777);
    h.set_size(if kind == tar::EntryType::Regular { 1 } else { 0 });
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    h.set_cksum();
    let body: &[u8] = if kind == tar::EntryType::Regular { b"x" } else { b"" };
    b.append(&h, body).unwrap();
    let mut f = tar::Header::new_gnu();
    f.set_path(then).unwrap();
    f.set_entry_type(tar::EntryType::Regular);
    f.set_mode(0o600);
    f.set_size(1);
    f.set_cksum();
    b.append(&f, &b"x"[..]).unwrap();
    zstd::encode_all(&b.into_inner().unwrap()[..], 3).unwrap()
}

#[test]
fn a_backup_holding_a_link_or_a_path_outside_is_refused_and_writes_nothing_outside() {
    let a = Archived::new();
    a.full();
    a.switch_and_wait();
    let base = std::fs::read_dir(a.area().join("backup"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("base.tar.zst"))
        .find(|p| p.exists())
        .unwrap();
    let outside = a.scratch("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A symbolic link to a directory outside, then a file through it.
    std::fs::write(
        &base,
        crafted_archive(tar::EntryType::Symlink, "evil", Some(&outside), "evil/planted"),
    )
    .unwrap();
    let dest = a.scratch("from_link");
    let r = a.restore_cmd(&["--pgdata", dest.to_str().unwrap(), "--latest"]);
    r.expect_code(69);
    assert!(r.stderr.contains("Symlink"), "{r:?}");
    assert!(!dest.exists(), "a failed restore leaves no partial copy");
    // A path climbing out of the destination.
    std::fs::write(
        &base,
        crafted_archive(tar::EntryType::Regular, "../escaped", None, "base/1"),
    )
    .unwrap();
    let dest = a.scratch("from_dotdot");
    let r = a.restore_cmd(&["--pgdata", dest.to_str().unwrap(), "--latest"]);
    r.expect_code(65);
    assert!(r.stderr.contains("unsafe path"), "{r:?}");
    assert!(!dest.exists());
    assert!(!a.scratch("escaped").exists(), "nothing written beside the destination");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through a link"
    );
}

#[test]
fn wal_fetch_exit_codes_follow_the_restore_command_contract() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t AS SELECT 1 AS x");
    let seg = a.switch_and_wait();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("RECOVERYXLOG");
    let fetch = |name: &str| {
        cmd::run(
            &a.restore,
            &[
                "wal-fetch",
                "--repo",
                a.repo.to_str().unwrap(),
                name,
                dest.to_str().unwrap(),
            ],
            None,
        )
    };
    fetch(&seg).expect_code(0);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), 16 << 20);
    let r = fetch("0000000100000000000000FF");
    r.expect_code(1);
    assert!(r.stderr.is_empty(), "{r:?}");
    fetch("00000009.history").expect_code(1);
    // Two different copies under one name: neither is guessed.
    let twin = store_conflicting_copy(&a.stored(&seg).unwrap());
    std::fs::remove_file(&dest).unwrap();
    let r = fetch(&seg);
    assert!(r.code > 125, "{r:?}");
    assert!(r.stderr.contains("different copies"), "{r:?}");
    assert!(!dest.exists());
    std::fs::remove_file(&twin).unwrap();
    fetch(&seg).expect_code(0);
    // A corrupt stored copy: above 125 so recovery stops.
    std::fs::remove_file(&dest).unwrap();
    let stored = a.stored(&seg).unwrap();
    let mut b = std::fs::read(&stored).unwrap();
    let n = b.len() / 2;
    b[n] ^= 0xFF;
    std::fs::write(&stored, &b).unwrap();
    let r = fetch(&seg);
    assert!(r.code > 125, "{r:?}");
    assert!(!dest.exists(), "nothing written under the final name");
}

#[test]
fn a_drill_restores_a_backup_taken_under_load_and_reports_its_rto() {
    let a = Archived::new();
    let bindir = a.tc.runner().bindir.prog("pgbench");
    let sock = a.tc.socket_dir.to_str().unwrap().to_owned();
    let port = a.tc.port.to_string();
    let mut init = a.tc.runner().command(bindir.to_str().unwrap());
    init.args([
        "-i", "-s", "1", "-q", "-h", &sock, "-p", &port, "-U", "postgres", "postgres",
    ]);
    assert!(init.output().unwrap().status.success());
    // Writes run while the backup is taken.
    let mut bench = a.tc.runner().command(bindir.to_str().unwrap());
    bench
        .args([
            "-T", "4", "-c", "2", "-h", &sock, "-p", &port, "-U", "postgres", "postgres",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = bench.spawn().unwrap();
    a.full();
    child.wait().unwrap();
    a.switch_and_wait();
    // pgbench's invariant: every transfer is in the history and the balances.
    let sql = a.tc.dir.join("consistent.sql");
    std::fs::write(
        &sql,
        "DO $$ BEGIN IF (SELECT sum(abalance) FROM pgbench_accounts) IS DISTINCT FROM \
         (SELECT coalesce(sum(delta), 0) FROM pgbench_history) OR (SELECT sum(bbalance) FROM pgbench_branches) \
         IS DISTINCT FROM (SELECT coalesce(sum(delta), 0) FROM pgbench_history) \
         THEN RAISE EXCEPTION 'pgbench balances do not add up'; END IF; END $$",
    )
    .unwrap();
    let rows = a.tc.dir.join("rows.jsonl");
    let drill = |extra: &[&str]| {
        let mut v = vec![
            "drill",
            "--repo",
            a.repo.to_str().unwrap(),
            "--scratch",
            a.tc.dir.to_str().unwrap(),
        ];
        v.extend_from_slice(extra);
        cmd::run(&a.restore, &v, None)
    };
    let r = drill(&["--sql", sql.to_str().unwrap(), "--save-rows", rows.to_str().unwrap()]);
    r.expect_code(0);
    let d = r.one("restore.drill");
    assert_eq!(d["ok"], true);
    assert!(d["rto_ms"].as_u64().unwrap() > 0);
    assert!(d["rpo_ms"].is_u64());
    let log = std::fs::read_to_string(a.area().join("drills.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1);
    let saved = std::fs::read_to_string(&rows).unwrap();
    assert!(
        saved.contains(r#""database":"postgres","schema":"public","table":"pgbench_accounts","min_rows":100000"#),
        "{saved}"
    );
    // The saved counts hold; a table short of its expectation fails the drill.
    let expect = a.tc.dir.join("expect.jsonl");
    std::fs::write(
        &expect,
        format!(
            "{saved}{{\"database\":\"postgres\",\"schema\":\"public\",\"table\":\"pgbench_branches\",\"min_rows\":2}}\n"
        ),
    )
    .unwrap();
    let r = drill(&["--expect-rows", expect.to_str().unwrap()]);
    assert_ne!(r.code, 0, "{r:?}");
    let d = r.one("restore.drill");
    assert_eq!(d["ok"], false);
    assert_eq!(d["tables_checked"], saved.lines().count() as u64 + 1);
    let err = d["error"].as_str().unwrap();
    assert!(
        err.contains("pgbench_branches in database postgres has 1 rows"),
        "{err}"
    );
    assert!(!err.contains("pgbench_accounts"), "{err}");
    // The scratch copy is gone.
    assert!(
        !std::fs::read_dir(&a.tc.dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("sw-drill."))
    );
}

#[test]
fn after_a_failover_restores_follow_the_new_timeline() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t (x int)");
    a.full();
    a.tc.psql("postgres", "INSERT INTO t VALUES (1)");
    a.switch_and_wait();
    // The old primary is gone; a copy restored --as-primary takes over and
    // archives timeline 2 into the same repository.
    a.tc.stop();
    let (rec, port) = a.restore_started("new_primary", &["--latest", "--as-primary"]);
    assert_eq!(rec["promoted"], true);
    assert_eq!(a.query(port, "SHOW archive_mode"), "on");
    a.query(port, "INSERT INTO t VALUES (2)");
    let t2 = a.query(port, NOW_UTC);
    a.query(port, "SELECT pg_sleep(0.05)");
    a.query(port, "INSERT INTO t VALUES (3)");
    let seg = a.query(port, "SELECT pg_walfile_name(pg_switch_wal())");
    assert!(seg.starts_with("00000002"), "{seg}");
    let end = Instant::now() + Duration::from_secs(60);
    while a.stored(&seg).is_none() {
        assert!(Instant::now() < end, "timed out waiting for {seg}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let history = std::fs::read_dir(a.area().join("wal"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("00000002.history-"));
    assert!(history, "the timeline history file is archived");
    a.backup_cmd(&["verify"]).expect_code(0);
    let (rec, port2) = a.restore_started("after_failover", &["--latest"]);
    assert_eq!(rec["timeline"], 2);
    assert_eq!(
        a.query(port2, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        "1,2,3"
    );
    a.stop_copy("after_failover");
    // A time on the new timeline: checked across the switch, exact.
    let (rec, port3) = a.restore_started("time_on_tli2", &["--target-time", &t2]);
    assert_eq!(rec["timeline"], 2);
    assert_eq!(
        a.query(port3, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        "1,2"
    );
    a.stop_copy("time_on_tli2");
    a.stop_copy("new_primary");
    // The old primary comes back and keeps writing and backing up on
    // timeline 1, which the current history left: its backup is a branch.
    a.tc.restart();
    a.tc.psql("postgres", "INSERT INTO t VALUES (100)");
    let zombie = a.full();
    a.switch_and_wait();
    for b in a.backup_cmd(&["list"]).records() {
        assert_eq!(b["abandoned_branch"], b["id"] == zombie.as_str(), "{b}");
    }
    let (rec, port4) = a.restore_started("after_zombie", &["--latest"]);
    assert_ne!(rec["backup"], zombie.as_str());
    assert_eq!(rec["timeline"], 2);
    assert_eq!(
        a.query(port4, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        "1,2,3"
    );
    a.stop_copy("after_zombie");
    let dir = a.scratch("zombie");
    let r = a.restore_cmd(&["--pgdata", dir.to_str().unwrap(), "--latest", "--backup", &zombie]);
    r.expect_code(65);
    assert!(r.stderr.contains("abandoned branch"), "{r:?}");
    assert!(!dir.exists());
}

#[test]
fn activate_after_data_corruption_restores_before_the_damage_and_repoints_the_env_file() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t (x int)");
    a.full();
    a.tc.psql("postgres", "INSERT INTO t VALUES (1)");
    a.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    let damage = a.tc.psql("postgres", NOW_UTC);
    a.tc.psql("postgres", "DELETE FROM t");
    a.switch_and_wait();
    let env = a.tc.dir.join("app.env");
    std::fs::write(&env, format!("DATABASE_URL='{}'\nOTHER=kept\n", a.tc.url("postgres"))).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let dir = a.scratch("activated");
    let sock = a.tc.socket_dir.to_str().unwrap().to_owned();
    let repo = a.repo.to_str().unwrap().to_owned();
    let r = a.sub_cmd(&[
        "activate",
        "--repo",
        &repo,
        "--incident",
        "data_corruption",
        "--before",
        &damage,
        "--pgdata",
        dir.to_str().unwrap(),
        "--port",
        &port,
        "--socket-dir",
        &sock,
        "--env-file",
        env.to_str().unwrap(),
    ]);
    r.expect_code(0);
    let rec = r.one("restore.activate");
    assert_eq!(rec["action"], "restored_backup");
    assert!(rec["checklist"].as_array().unwrap().len() >= 4);
    assert!(!r.stdout.contains(&a.tc.password), "no secret in the output");
    let p: u16 = port.parse().unwrap();
    assert_eq!(
        a.query(p, "SELECT count(*) FROM t"),
        "1",
        "the row deleted after --before is back"
    );
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.contains(&format!(":{port}/")), "{text}");
    assert!(text.contains("OTHER=kept"));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&env).unwrap().mode() & 0o777, 0o600);
    let audit = std::fs::read_to_string(a.area().join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 4, "{audit}");
    assert!(!audit.contains(&a.tc.password));
    a.stop_copy("activated");

    // The runbook names the backups and says no drill was recorded yet.
    let out = a.tc.dir.join("runbook.md");
    let r = a.sub_cmd(&["runbook", "--repo", &repo, "--out", out.to_str().unwrap()]);
    r.expect_code(0);
    assert_eq!(r.one("restore.runbook")["backups"], 1);
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains("No drill recorded"), "{md}");
    assert!(md.contains("--incident data_corruption"));
}

#[test]
fn activate_after_database_failure_promotes_a_running_standby() {
    let a = Archived::new();
    a.tc.psql("postgres", "CREATE TABLE t AS SELECT 1 AS x");
    a.full();
    a.switch_and_wait();
    // A standby fed from the archive: a restore, not started, made a standby.
    let dir = a.scratch("standby");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let sock = a.tc.socket_dir.to_str().unwrap().to_owned();
    a.restore_cmd(&[
        "--pgdata",
        dir.to_str().unwrap(),
        "--latest",
        "--port",
        &port,
        "--socket-dir",
        &sock,
    ])
    .expect_code(0);
    std::fs::remove_file(dir.join("recovery.signal")).unwrap();
    std::fs::write(dir.join("standby.signal"), "").unwrap();
    a.tc.runner().hand_over(&dir).unwrap();
    let standby = sw_core::cluster::Cluster::new(&dir, a.tc.runner().clone()).unwrap();
    standby.start(&a.tc.dir.join("standby.log"), 60).unwrap();
    let p: u16 = port.parse().unwrap();
    assert_eq!(a.query(p, "SELECT pg_is_in_recovery()"), "t");
    a.tc.stop();
    let repo = a.repo.to_str().unwrap().to_owned();
    let r = a.sub_cmd(&[
        "activate",
        "--repo",
        &repo,
        "--incident",
        "database_failure",
        "--standby-pgdata",
        dir.to_str().unwrap(),
        "--port",
        &port,
    ]);
    r.expect_code(0);
    assert_eq!(r.one("restore.activate")["action"], "promoted_standby");
    assert_eq!(a.query(p, "SELECT pg_is_in_recovery()"), "f");
    assert_eq!(a.query(p, "SELECT x FROM t"), "1");
    a.stop_copy("standby");
    a.tc.restart();
}
