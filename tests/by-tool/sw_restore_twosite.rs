//! Two repositories at once (issue #16): a cluster archives into a local
//! directory repository linked (`setup --offsite`) to an encrypted
//! `azure://` one on its own Azurite. With the off-site down archiving goes
//! on into the primary, `check` and sw-health show the lag, and once
//! Azurite is back `sync` copies what waited; with the local backups lost,
//! `activate --incident region_failure` restores a new primary from the
//! off-site repository alone, with every row.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_testkit::azurite::{ACCOUNT, Azurite, KEY};
use sw_testkit::cmd::{self, Run};
use sw_testkit::faultproxy::{Fault, FaultProxy, Match};

use crate::archived_common::{Archived, BIN};

/// The off-site link's files, readable by the server's OS user: the
/// credentials, the CA, the link itself (relative names) and the key file
/// setup creates.
struct Files {
    _dir: tempfile::TempDir,
    link: PathBuf,
    /// The flags reaching the off-site repository directly.
    flags: Vec<String>,
}

fn files(az: &Azurite, container: &str) -> Files {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(d.join("storage.env"), format!("AZURE_STORAGE_KEY={KEY}\n")).unwrap();
    std::fs::set_permissions(d.join("storage.env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::copy(az.ca_file(), d.join("ca.pem")).unwrap();
    let url = format!("azure://{ACCOUNT}/{container}/db1");
    let link = d.join("offsite.env");
    std::fs::write(
        &link,
        format!(
            "# the off-site copy\nSW_BACKUP_REPO={url}\nSW_AZURE_BLOB_ENDPOINT={}\nSW_AZURE_CREDENTIALS=storage.env\nSW_AZURE_CA_FILE=ca.pem\nSW_BACKUP_KEY_FILE=offsite.key\n",
            az.endpoint()
        ),
    )
    .unwrap();
    sw_testkit::pg::runner().hand_over(d).unwrap();
    let p = |f: &str| d.join(f).display().to_string();
    let flags = vec![
        "--repo".into(),
        url,
        "--azure-endpoint".into(),
        az.endpoint(),
        "--azure-credentials".into(),
        p("storage.env"),
        "--azure-ca-file".into(),
        p("ca.pem"),
        "--key-file".into(),
        p("offsite.key"),
    ];
    Files { _dir: dir, link, flags }
}

/// Every run's output, to check the shared key never shows.
#[derive(Default)]
struct Seen(std::cell::RefCell<Vec<String>>);

impl Seen {
    fn keep(&self, r: Run) -> Run {
        self.0.borrow_mut().push(format!("{}\n{}", r.stdout, r.stderr));
        r
    }
}

/// Switch to a new segment and wait until the archiver is done with it
/// (the primary stored it; wal-push exits only after its off-site try).
fn switch_and_wait(a: &Archived) -> String {
    a.tc.psql(
        "postgres",
        "CREATE TABLE IF NOT EXISTS f (x int); INSERT INTO f VALUES (1)",
    );
    let seg = a.tc.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    let end = Instant::now() + Duration::from_secs(60);
    let sql = format!("SELECT coalesce(last_archived_wal >= '{seg}', false) FROM pg_stat_archiver");
    while a.tc.psql("postgres", &sql) != "t" {
        assert!(Instant::now() < end, "timed out waiting for {seg} to be archived");
        std::thread::sleep(Duration::from_millis(100));
    }
    seg
}

fn item(r: &Run, check: &str) -> Value {
    r.records()
        .into_iter()
        .find(|i| i["kind"] == "backup.check" && i["check"] == check)
        .unwrap_or_else(|| panic!("no {check} item: {}", r.stdout))
}

fn backup_age(a: &Archived) -> Value {
    let health = cmd::sibling_bin(BIN, "sw-health", "sw-health");
    let st = tempfile::tempdir().unwrap();
    let r = cmd::run(
        &health,
        &[
            "--db",
            &a.tc.url("postgres"),
            "--state-dir",
            st.path().to_str().unwrap(),
            "--checks",
            "backup_age",
            "--backup-repo",
            a.repo.to_str().unwrap(),
        ],
        None,
    );
    r.one("health.report")["checks"][0].clone()
}

/// The cluster, its off-site files and every run's output.
struct Site {
    a: Archived,
    f: Files,
    seen: Seen,
    db: String,
}

impl Site {
    fn backup(&self, args: &[&str]) -> Run {
        self.seen.keep(self.a.backup_cmd(args))
    }

    fn check(&self) -> Run {
        self.backup(&["check", "--db", &self.db, "--no-live", "--offsite-lag-warn", "1s"])
    }

    /// A command on the off-site repository itself.
    fn off(&self, bin: &std::path::Path, args: &[&str]) -> Run {
        let mut v = args.to_vec();
        v.extend(self.f.flags.iter().map(String::as_str));
        self.seen.keep(cmd::run_copied(bin, &v))
    }
}

#[test]
fn with_the_off_site_down_archiving_goes_on_check_shows_the_lag_and_sync_catches_up() {
    let az = Azurite::start();
    let f = files(&az, &format!("twosite{}", std::process::id()));
    let (a, setup) = Archived::with_setup(&["--offsite", f.link.to_str().unwrap()]);
    assert_eq!(setup["offsite"]["encrypted"], true, "{setup}");
    assert_eq!(setup["offsite"]["repo"], f.flags[1], "{setup}");
    // archive_command names the primary alone; the link holds file names.
    let archive_command = a.tc.psql("postgres", "SHOW archive_command");
    assert!(!archive_command.contains("azure"), "{archive_command}");
    let link = std::fs::read_to_string(a.repo.join("offsite.env")).unwrap();
    assert!(link.contains(&f.flags[5]) && !link.contains(KEY), "{link}");
    let db = a.tc.url("postgres");
    let s = Site {
        a,
        f,
        seen: Seen::default(),
        db,
    };

    s.a.tc
        .psql("postgres", "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    let r = s.backup(&["full", "--db", &s.db, "--to-offsite"]);
    r.expect_code(0);
    assert_eq!(r.one("backup.full")["offsite"], s.f.flags[1], "{}", r.stdout);
    switch_and_wait(&s.a);
    let r = s.check();
    r.expect_code(0);
    assert_eq!(item(&r, "offsite_lag")["lag"]["segments"], 0, "{}", r.stdout);
    assert_eq!(item(&r, "offsite_backup")["status"], "ok", "{}", r.stdout);

    hung_off_site(&s, &az);
    az.stop();
    let (waited, second) = while_down(&s);
    az.restart();
    catch_up(&s, &second);
    nothing_missing(&s, &waited);

    // The local backups are lost: `activate --incident region_failure`
    // given the primary's directory follows its link and restores a new
    // primary from the off-site repository alone.
    let area = std::fs::read_dir(&s.a.repo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("area.json").exists())
        .unwrap();
    std::fs::remove_dir_all(&area).unwrap();
    region_failure(&s.a, &second, &s.seen);
    for out in s.seen.0.borrow().iter() {
        assert!(!out.contains(KEY), "the key was printed: {out}");
    }
}

/// An off-site repository that never answers (every request hangs, the
/// link pointed through the fault proxy) does not hold the archiver: the
/// push succeeds once the primary has the segment, which waits queued.
fn hung_off_site(s: &Site, az: &Azurite) {
    let proxy = FaultProxy::for_azurite(az);
    proxy.inject(Match::any(), Fault::Hang, usize::MAX);
    let link = s.a.repo.join("offsite.env");
    let text = std::fs::read_to_string(&link).unwrap();
    std::fs::write(&link, text.replace(&az.endpoint(), &proxy.endpoint())).unwrap();
    switch_and_wait(&s.a);
    assert_eq!(
        s.a.tc.psql("postgres", "SELECT failed_count FROM pg_stat_archiver"),
        "0"
    );
    assert!(
        proxy.seen().iter().any(|r| r.fault == Some(Fault::Hang)),
        "the push never tried the off-site"
    );
    let r = s.check();
    assert!(
        item(&r, "offsite_lag")["lag"]["segments"].as_u64().unwrap() >= 1,
        "{}",
        r.stdout
    );
    std::fs::write(&link, text).unwrap();
}

/// The off-site repository is gone: archiving and backups (a chunked
/// one) go on, check and sw-health show it, prune keeps the queued WAL.
/// Returns the segments archived meanwhile and the backup's id.
fn while_down(s: &Site) -> (Vec<String>, String) {
    s.a.tc.psql("postgres", "INSERT INTO t VALUES (2)");
    let waited: Vec<String> = (0..3).map(|_| switch_and_wait(&s.a)).collect();
    let r = s.backup(&["full", "--db", &s.db, "--incremental"]);
    r.expect_code(0);
    let second = r.one("backup.full")["id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1100));
    let r = s.check();
    r.expect_code(1);
    let lag = item(&r, "offsite_lag");
    assert!(lag["lag"]["segments"].as_u64().unwrap() >= 3, "{}", r.stdout);
    assert!(lag["lag"]["seconds"].as_f64().unwrap() >= 1.0, "{}", r.stdout);
    assert_eq!(lag["status"], "warning", "{}", r.stdout);
    assert_eq!(item(&r, "offsite_backup")["status"], "warning", "{}", r.stdout);
    let age = backup_age(&s.a);
    assert!(age["details"]["offsite"]["error"].is_string(), "{age}");
    assert_ne!(age["status"], "OK", "{age}");
    let r = s.backup(&["sync"]);
    assert_ne!(r.code, 0, "sync with the off-site down: {r:?}");
    // Pruning the primary down to its newest backup keeps the WAL that
    // has not reached the off-site yet (fetched from there later).
    let r = s.backup(&["prune", "--retention-days", "0"]);
    r.expect_code(0);
    assert_eq!(r.one("backup.prune.summary")["backups_removed"], 1, "{}", r.stdout);
    let removed: Vec<Value> = r.records().into_iter().filter(|x| x["object"] == "wal").collect();
    assert!(!removed.is_empty(), "{}", r.stdout);
    let kept = removed.iter().all(|x| !waited.iter().any(|w| x["name"] == w.as_str()));
    assert!(kept, "{}", r.stdout);
    (waited, second)
}

/// Back: one sync copies what waited, the second backup included (its
/// chunks re-sealed and renamed under the off-site key).
fn catch_up(s: &Site, second: &str) {
    s.a.tc.psql("postgres", "INSERT INTO t VALUES (3)");
    switch_and_wait(&s.a);
    let r = s.backup(&["sync"]);
    r.expect_code(0);
    let rec = r.one("backup.sync");
    assert_eq!(rec["backups_copied"], serde_json::json!([second]), "{rec}");
    assert!(rec["wal_copied"].as_u64().unwrap() >= 4, "{rec}");
    assert_eq!(rec["queued"], 0, "{rec}");
    let r = s.check();
    r.expect_code(0);
    assert_eq!(item(&r, "offsite_lag")["lag"]["segments"], 0, "{}", r.stdout);
    let age = backup_age(&s.a);
    assert_eq!(age["details"]["offsite"]["backup"], second, "{age}");
}

/// Nothing missing off-site: verify passes there, and every segment
/// archived during the outage is fetched from it.
fn nothing_missing(s: &Site, waited: &[String]) {
    let r = s.off(&s.a.backup, &["verify"]);
    r.expect_code(0);
    let v = r.one("verify.summary");
    assert_eq!((v["ok"].as_bool(), v["backups"].as_u64()), (Some(true), Some(2)), "{v}");
    let fetched = s.a.tc.dir.join("fetched");
    for seg in waited {
        s.off(&s.a.restore, &["wal-fetch", seg, fetched.to_str().unwrap()])
            .expect_code(0);
    }
}

/// The newest backup (`id`, a chunked one whose chunks were renamed for
/// the off-site key) and the WAL after it, restored as a new primary.
fn region_failure(a: &Archived, id: &str, seen: &Seen) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let copy = a.tc.dir.join("copy");
    let audit = a.tc.dir.join("audit.jsonl");
    let r = seen.keep(cmd::run_copied(
        &a.restore,
        &[
            "activate",
            "--incident",
            "region_failure",
            "--repo",
            a.repo.to_str().unwrap(),
            "--pgdata",
            copy.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--socket-dir",
            a.tc.socket_dir.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    ));
    r.expect_code(0);
    let act = r.one("restore.activate");
    assert_eq!(act["backup"], id, "{act}");
    let rows = query(a, port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t");
    assert_eq!(rows, "1,2,3");
    let c = sw_core::cluster::Cluster::new(&copy, a.tc.runner().clone()).unwrap();
    c.stop(sw_core::cluster::StopMode::Immediate).unwrap();
}

fn query(a: &Archived, port: u16, sql: &str) -> String {
    let mut c = a.tc.runner().command("psql");
    c.args(["-X", "-A", "-t", "-h"]).arg(&a.tc.socket_dir).args([
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
