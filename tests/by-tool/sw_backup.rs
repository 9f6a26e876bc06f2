//! sw-backup end to end: real clusters archiving into real repositories.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails by panicking; its helpers unwrap like its #[test] functions"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::{Opts, TestCluster};

const BIN: &str = env!("CARGO_BIN_EXE_sw-backup");

/// A cluster archiving into `repo` through a copy of sw-backup the server's
/// OS user can run (the checkout may be private).
struct Archived {
    tc: TestCluster,
    repo: PathBuf,
    bin: PathBuf,
}

impl Archived {
    fn new() -> Archived {
        let tc = TestCluster::start_with(&Opts {
            fsync: true,
            ..Opts::default()
        });
        let [bin] = cmd::install_for_server(tc.runner(), &tc.dir.join("bin"), &[(Path::new(BIN), "sw-backup")])
            .try_into()
            .unwrap();
        let repo = tc.dir.join("repo");
        let a = Archived { tc, repo, bin };
        // A binary copied a moment ago can be briefly busy (ETXTBSY) while a
        // parallel test forks: retry the first run.
        let mut r = a.run(&["setup", "--pgdata", a.tc.datadir().to_str().unwrap()]);
        for _ in 0..5 {
            if r.code == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
            r = a.run(&["setup", "--pgdata", a.tc.datadir().to_str().unwrap()]);
        }
        r.expect_code(0);
        let rec = r.one("backup.setup");
        assert!(rec["restart_required"].is_boolean());
        assert!(rec["archive_command"].as_str().unwrap().contains("wal-push"));
        a.tc.stop();
        a.tc.restart();
        a
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut v: Vec<&str> = args.to_vec();
        v.push("--repo");
        v.push(self.repo.to_str().unwrap());
        cmd::run_copied(&self.bin, &v)
    }

    fn db(&self) -> String {
        self.tc.url("postgres")
    }

    fn full(&self, extra: &[&str]) -> Run {
        let db = self.db();
        let mut v = vec!["full", "--db", db.as_str(), "--wal-timeout", "60s"];
        v.extend_from_slice(extra);
        self.run(&v)
    }

    fn area(&self) -> PathBuf {
        std::fs::read_dir(&self.repo)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("area.json").exists())
            .unwrap()
    }

    /// Switch to a new segment and wait until the finished one is stored.
    fn switch_and_wait(&self) -> String {
        let seg = self.tc.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        wait_for(|| self.stored(&seg), &format!("{seg} archived"));
        seg
    }

    fn stored(&self, seg: &str) -> bool {
        let dir = self.area().join("wal").join(&seg[..16]);
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(&format!("{seg}-")))
            })
            .unwrap_or(false)
    }

    fn stored_path(&self, seg: &str) -> PathBuf {
        let dir = self.area().join("wal").join(&seg[..16]);
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(&format!("{seg}-")))
            .unwrap()
            .path()
    }
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let end = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(listing(&p));
        } else {
            v.push(p.display().to_string());
        }
    }
    v.sort();
    v
}

#[test]
fn full_backup_is_listed_with_its_window_and_verifies() {
    let a = Archived::new();
    a.tc.psql(
        "postgres",
        "CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g",
    );
    let r = a.full(&["--label", "first", "--pin"]);
    r.expect_code(0);
    let b = r.one("backup.full");
    assert_eq!(b["label"], "first");
    assert_eq!(b["pinned"], true);
    assert!(b["stored_bytes"].as_u64().unwrap() > 0);
    let id = b["id"].as_str().unwrap().to_owned();
    // The backup directory and its manifest.
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(a.area().join("backup").join(&id).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"base.tar.zst") && names.contains(&"backup_manifest"),
        "{names:?}"
    );
    assert_eq!(m["system_identifier"], b["system_identifier"]);
    a.switch_and_wait();
    let l = a.run(&["list"]);
    l.expect_code(0);
    let rec = l.one("backup");
    assert_eq!(rec["id"], id.as_str());
    assert!(rec["restorable_until_lsn"].is_string(), "{rec}");
    assert!(rec["wal_gap"].is_null());
    let v = a.run(&["verify"]);
    v.expect_code(0);
    assert_eq!(v.one("verify.summary")["ok"], true);
    // A second full while one holds the lock exits 75.
    let area = a.area();
    let held = sw_core::lock::Lock::try_acquire(&area.join("lock"), "test").unwrap();
    a.full(&[]).expect_code(75);
    drop(held);
    // A cluster with a tablespace: refused (no restore could use the
    // backup), nothing listed.
    let ts = a.tc.dir.join("ts");
    std::fs::create_dir_all(&ts).unwrap();
    a.tc.runner().hand_over(&ts).unwrap();
    a.tc.psql(
        "postgres",
        &format!("CREATE TABLESPACE extra LOCATION '{}'", ts.display()),
    );
    let r = a.full(&[]);
    r.expect_code(69);
    assert!(r.stderr.contains("extra"), "{r:?}");
    assert_eq!(a.run(&["list"]).records().len(), 1);
    // archive_timeout in sw's units is written in PostgreSQL's (it has no
    // "5m"), so the server keeps starting; a bad value is a usage error.
    let pgdata = a.tc.datadir().to_str().unwrap().to_owned();
    a.run(&["setup", "--pgdata", &pgdata, "--archive-timeout", "5m"])
        .expect_code(0);
    wait_for(
        || a.tc.psql("postgres", "SHOW archive_timeout") == "5min",
        "archive_timeout to be reloaded",
    );
    for bad in ["5 minutes", "1.5s", "500ms"] {
        a.run(&["setup", "--pgdata", &pgdata, "--archive-timeout", bad])
            .expect_code(64);
    }
}

#[test]
fn verify_names_a_flipped_byte_and_a_missing_segment() {
    let a = Archived::new();
    let r = a.full(&[]);
    r.expect_code(0);
    let id = r.one("backup.full")["id"].as_str().unwrap().to_owned();
    let mut segs = Vec::new();
    for i in 0..3 {
        a.tc.psql("postgres", &format!("CREATE TABLE t{i} AS SELECT 1 AS x"));
        segs.push(a.switch_and_wait());
    }
    // Flip one byte in the middle of the stored base backup.
    let base = a.area().join("backup").join(&id).join("base.tar.zst");
    let mut bytes = std::fs::read(&base).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&base, &bytes).unwrap();
    let v = a.run(&["verify"]);
    v.expect_code(65);
    let probs: Vec<Value> = v
        .records()
        .into_iter()
        .filter(|r| r["kind"] == "verify.problem")
        .collect();
    assert_eq!(probs.len(), 1, "{v:?}");
    assert_eq!(probs[0]["problem"], "bad_object");
    assert_eq!(probs[0]["object"], format!("backup/{id}/base.tar.zst"));
    bytes[mid] ^= 0xFF;
    std::fs::write(&base, &bytes).unwrap();
    a.run(&["verify"]).expect_code(0);
    // A file the manifest does not name.
    let extra = a.area().join("backup").join(&id).join("extra.tar.zst");
    std::fs::write(&extra, b"x").unwrap();
    let v = a.run(&["verify"]);
    v.expect_code(65);
    assert_eq!(v.one("verify.problem")["problem"], "extra_object");
    std::fs::remove_file(&extra).unwrap();
    // Two different copies of one segment.
    let twin = store_conflicting_copy(&a.stored_path(&segs[0]));
    let v = a.run(&["verify"]);
    v.expect_code(65);
    let p = v.one("verify.problem");
    assert_eq!(p["problem"], "conflicting_copies");
    assert_eq!(p["object"], segs[0].as_str());
    std::fs::remove_file(&twin).unwrap();
    // Remove a segment from the middle.
    std::fs::remove_file(a.stored_path(&segs[1])).unwrap();
    let v = a.run(&["verify"]);
    v.expect_code(65);
    let p = v.one("verify.problem");
    assert_eq!(p["problem"], "missing_segment");
    assert_eq!(p["object"], segs[1].as_str());
    assert_eq!(a.run(&["list"]).one("backup")["wal_gap"], segs[1].as_str());
}

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

/// A copy of the segment the server is writing, under its own name.
fn current_segment(a: &Archived, dir: &Path) -> PathBuf {
    let name = a.tc.psql("postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    let src = a.tc.datadir().join("pg_wal").join(&name);
    let dst = dir.join(&name);
    std::fs::copy(src, &dst).unwrap();
    dst
}

#[test]
fn wal_push_duplicates_foreign_and_bad_files() {
    let a = Archived::new();
    let tmp = tempfile::tempdir().unwrap();
    let seg = current_segment(&a, tmp.path());
    let pgdata = a.tc.datadir().to_str().unwrap().to_owned();
    let push = |p: &Path| a.run(&["wal-push", "--pgdata", &pgdata, p.to_str().unwrap()]);
    push(&seg).expect_code(0);
    let before = listing(&a.repo);
    // Identical duplicate: 0, nothing new.
    push(&seg).expect_code(0);
    assert_eq!(listing(&a.repo), before);
    // Different content under the same name: refused, repository unchanged.
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    let r = push(&seg);
    assert!(r.code > 0 && r.code <= 125, "{r:?}");
    assert!(r.stderr.contains("DIFFERENT"), "{r:?}");
    assert_eq!(listing(&a.repo), before);
    // Another cluster's segment (system identifier in the header).
    bytes[n - 100] ^= 0x55;
    bytes[24] ^= 0x01;
    let other = tmp.path().join("x");
    std::fs::create_dir_all(&other).unwrap();
    let foreign = other.join(seg.file_name().unwrap());
    std::fs::write(&foreign, &bytes).unwrap();
    let r = push(&foreign);
    r.expect_code(65);
    assert!(r.stderr.contains("another cluster"), "{r:?}");
    // Bad name, short file.
    let bad = tmp.path().join("not-a-wal-file");
    std::fs::write(&bad, b"x").unwrap();
    push(&bad).expect_code(65);
    let short = other.join("000000010000000000000099");
    std::fs::write(&short, b"short").unwrap();
    push(&short).expect_code(65);
    assert_eq!(listing(&a.repo), before);
    // A repository nobody set up.
    let empty = tempfile::tempdir().unwrap();
    let r = cmd::run(
        &a.bin,
        &[
            "wal-push",
            "--repo",
            empty.path().to_str().unwrap(),
            "--pgdata",
            &pgdata,
            seg.to_str().unwrap(),
        ],
        None,
    );
    r.expect_code(66);
}

#[test]
fn concurrent_pushes_of_different_copies_store_exactly_one() {
    let a = Archived::new();
    let tmp = tempfile::tempdir().unwrap();
    let one = current_segment(&a, tmp.path());
    let name = one.file_name().unwrap().to_string_lossy().into_owned();
    let mut bytes = std::fs::read(&one).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x55;
    let other_dir = tmp.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = other_dir.join(&name);
    std::fs::write(&other, &bytes).unwrap();
    let pgdata = a.tc.datadir().to_str().unwrap().to_owned();
    let repo = a.repo.to_str().unwrap().to_owned();
    // Both copies at once, several times each.
    let children: Vec<(bool, std::process::Child)> = (0..8)
        .map(|i| {
            let file = if i % 2 == 0 { &one } else { &other };
            let mut c = cmd::command(&a.bin);
            c.args(["wal-push", "--repo", &repo, "--pgdata", &pgdata, file.to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            (i % 2 == 0, c.spawn().unwrap())
        })
        .collect();
    let mut ok = [0, 0];
    for (first, mut c) in children {
        let code = c.wait().unwrap().code().unwrap();
        assert!((0..=125).contains(&code), "exit {code}");
        if code == 0 {
            ok[usize::from(!first)] += 1;
        }
    }
    let dir = a.area().join("wal").join(&name[..16]);
    let stored: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&name))
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    // Only pushes of the stored copy succeed (the archiver may have stored
    // the live segment, a third copy, first).
    assert!(ok[0] == 0 || ok[1] == 0, "both copies acknowledged: {ok:?}");
    // A push that cannot finish (here: another push holds the directory)
    // gives up after --timeout with 75, acknowledging nothing.
    let held = std::fs::File::open(&dir).unwrap();
    held.lock().unwrap();
    let r = a.run(&[
        "wal-push",
        "--timeout",
        "1s",
        "--pgdata",
        &pgdata,
        one.to_str().unwrap(),
    ]);
    r.expect_code(75);
    assert!(r.stderr.contains("--timeout"), "{r:?}");
    drop(held);
}

fn archiver(a: &Archived) -> (i64, String) {
    let s = a.tc.psql(
        "postgres",
        "SELECT failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver",
    );
    let (f, l) = s.split_once('|').unwrap();
    (f.parse().unwrap(), l.to_owned())
}

/// Make the repository's WAL directories unwritable for the server's user
/// (root ignores modes, the archiver does not), or writable again.
fn wal_writable(a: &Archived, yes: bool) {
    let mode = if yes { 0o755 } else { 0o555 };
    let wal = a.area().join("wal");
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(mode)).unwrap();
    for e in std::fs::read_dir(&wal).unwrap().flatten() {
        if e.path().is_dir() {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

#[test]
fn unwritable_repository_fails_counts_and_catches_up() {
    let a = Archived::new();
    a.switch_and_wait();
    let (failed0, _) = archiver(&a);
    wal_writable(&a, false);
    a.tc.psql("postgres", "CREATE TABLE during_outage AS SELECT 1 AS x");
    let seg = a.tc.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    wait_for(|| archiver(&a).0 > failed0, "the archiver's failed count to rise");
    assert!(!a.stored(&seg));
    wal_writable(&a, true);
    wait_for(|| a.stored(&seg), "archiving to catch up");
    wait_for(|| archiver(&a).1 >= seg, "pg_stat_archiver to report the segment");
}

#[test]
fn kill_during_full_leaves_nothing_complete_and_the_next_run_succeeds() {
    let a = Archived::new();
    a.tc.psql(
        "postgres",
        "CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g",
    );
    // Stall archiving so `full` waits for its WAL, then kill it there.
    a.switch_and_wait();
    wal_writable(&a, false);
    let db = a.db();
    // With archiving stalled, --wal-timeout bounds the wait (exit 75).
    let r = a.run(&["full", "--db", &db, "--wal-timeout", "1s"]);
    r.expect_code(75);
    assert!(r.stderr.contains("not complete"), "{r:?}");
    assert!(a.run(&["list"]).records().is_empty());
    let mut c = cmd::command(&a.bin);
    c.args(["full", "--repo", a.repo.to_str().unwrap(), "--db", &db])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let mut child = c.spawn().unwrap();
    let backup_dir = a.area().join("backup");
    wait_for(
        || {
            std::fs::read_dir(&backup_dir)
                .unwrap()
                .flatten()
                .any(|e| e.path().join("base.tar.zst").exists())
        },
        "the base backup to be written",
    );
    let pgid = nix::unistd::Pid::from_raw(-i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let l = a.run(&["list"]);
    l.expect_code(0);
    assert!(l.records().is_empty(), "{l:?}");
    wal_writable(&a, true);
    let r = a.full(&[]);
    r.expect_code(0);
    let names: Vec<String> = std::fs::read_dir(&backup_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![r.one("backup.full")["id"].as_str().unwrap().to_owned()]);
    assert_eq!(a.run(&["list"]).records().len(), 1);
}

#[test]
fn bad_invocations_exit_with_usage_or_missing_repo() {
    cmd::run(BIN.as_ref(), &["full"], None).expect_code(64);
    cmd::run(BIN.as_ref(), &["list", "--repo", "/nonexistent/sw-repo"], None)
        .expect_error(66, "\"/nonexistent/sw-repo\" is not an sw backup repository");
}

#[test]
fn check_reports_health_and_prune_keeps_pinned_and_newest_exactly_as_dry_run_said() {
    let a = Archived::new();
    let db = a.db();
    // No backup yet: CRITICAL.
    // --min-free-percent 0: the build machine's own disk must not decide the status.
    let r = a.run(&["check", "--db", &db, "--min-free-percent", "0"]);
    r.expect_code(2);
    let recs = r.records();
    let nb = recs.iter().find(|x| x["check"] == "newest_backup").unwrap();
    assert_eq!(nb["status"], "critical");
    assert_eq!(
        recs.iter().find(|x| x["check"] == "live_archive").unwrap()["status"],
        "ok"
    );
    let pinned = a.full(&["--pin", "--label", "keep"]).one("backup.full")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.tc.psql("postgres", "CREATE TABLE t1 AS SELECT 1 AS x");
    a.switch_and_wait();
    let old = a.full(&[]).one("backup.full")["id"].as_str().unwrap().to_owned();
    a.tc.psql("postgres", "CREATE TABLE t2 AS SELECT 1 AS x");
    a.switch_and_wait();
    let newest = a.full(&[]).one("backup.full")["id"].as_str().unwrap().to_owned();
    a.switch_and_wait();
    a.run(&["check", "--db", &db, "--min-free-percent", "0"]).expect_code(0);
    assert_eq!(
        a.run(&["check", "--db", &db, "--min-free-percent", "0"])
            .one("backup.check.summary")["status"],
        "ok"
    );
    // No filesystem is 100% free, so the space check must not say ok.
    let full = a.run(&["check", "--db", &db, "--min-free-percent", "100"]);
    let space = full.records();
    let space = space.iter().find(|x| x["check"] == "repository_space").unwrap();
    assert_ne!(space["status"], "ok", "{space}");

    let names = |r: &Run| -> Vec<(String, String)> {
        r.records()
            .into_iter()
            .filter(|x| x["kind"] == "backup.prune")
            .map(|x| {
                (
                    x["object"].as_str().unwrap().to_owned(),
                    x["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // Temp files of killed pushes: a day-old one goes, a fresh one stays.
    let log_dir = std::fs::read_dir(a.area().join("wal"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    let stale = log_dir.join(".000000010000000000000001.AbCdEf.tmp");
    let fresh = log_dir.join(".000000010000000000000002.GhIjKl.tmp");
    for p in [&stale, &fresh] {
        std::fs::write(p, b"partial").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 86_400))
        .unwrap();
    let before = listing(&a.repo);
    let dry = a.run(&["prune", "--retention-days", "0", "--min-full", "1", "--dry-run"]);
    dry.expect_code(0);
    assert_eq!(listing(&a.repo), before, "a dry run removes nothing");
    let planned = names(&dry);
    assert!(planned.contains(&("backup".into(), old.clone())), "{planned:?}");
    assert!(!planned.iter().any(|(_, n)| n == &pinned || n == &newest));
    assert!(
        planned.contains(&("temp".into(), ".000000010000000000000001.AbCdEf.tmp".into())),
        "{planned:?}"
    );
    assert!(
        !planned.iter().any(|(o, n)| o == "temp" && n.contains("GhIjKl")),
        "{planned:?}"
    );
    let real = a.run(&["prune", "--retention-days", "0", "--min-full", "1"]);
    real.expect_code(0);
    assert_eq!(names(&real), planned);
    assert!(!stale.exists() && fresh.exists());
    let ids: Vec<String> = a
        .run(&["list"])
        .records()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![pinned, newest]);
    // Both remaining backups still verify (pinned keeps its own WAL).
    a.run(&["verify"]).expect_code(0);
    // Run as root, prune leaves the lock file to the repository's owner
    // (the server's user runs `full` next).
    std::fs::remove_file(a.area().join("lock")).unwrap();
    a.run(&["prune", "--retention-days", "0", "--min-full", "1"])
        .expect_code(0);
    if let Some(u) = &a.tc.runner().user {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(a.area().join("lock")).unwrap().uid(), u.uid);
    }
    let _held = sw_core::lock::Lock::try_acquire(&a.area().join("lock"), "test").unwrap();
    a.run(&["prune", "--retention-days", "0"]).expect_code(75);
}
