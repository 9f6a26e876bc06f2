//! Two repositories at once (issue #16): a cluster archives into a local
//! directory repository linked (`setup --offsite`) to an encrypted
//! `azure://` one on its own Azurite. With the off-site down archiving goes
//! on into the primary, `check` and sw-health show the lag, and once
//! Azurite is back `sync` copies what waited; a second cluster restored
//! from the off-site repository alone has every row.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_testkit::azurite::{ACCOUNT, Azurite, KEY};
use sw_testkit::cmd::{self, Run};

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

#[test]
fn with_the_off_site_down_archiving_goes_on_check_shows_the_lag_and_sync_catches_up() {
    let az = Azurite::start();
    let f = files(&az, &format!("twosite{}", std::process::id()));
    let seen = Seen::default();
    let (a, setup) = Archived::with_setup(&["--offsite", f.link.to_str().unwrap()]);
    assert_eq!(setup["offsite"]["encrypted"], true, "{setup}");
    assert_eq!(setup["offsite"]["repo"], f.flags[1], "{setup}");
    // archive_command names the primary alone; the link holds file names.
    let archive_command = a.tc.psql("postgres", "SHOW archive_command");
    assert!(!archive_command.contains("azure"), "{archive_command}");
    let link = std::fs::read_to_string(a.repo.join("offsite.env")).unwrap();
    assert!(link.contains(&f.flags[5]) && !link.contains(KEY), "{link}");

    a.tc.psql("postgres", "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    let db = a.tc.url("postgres");
    let r = seen.keep(a.backup_cmd(&["full", "--db", &db, "--to-offsite"]));
    r.expect_code(0);
    let first = r.one("backup.full");
    assert_eq!(first["offsite"], f.flags[1], "{first}");
    switch_and_wait(&a);
    let r = seen.keep(a.backup_cmd(&["check", "--db", &db, "--no-live"]));
    r.expect_code(0);
    assert_eq!(item(&r, "offsite_lag")["lag"]["segments"], 0, "{}", r.stdout);
    assert_eq!(item(&r, "offsite_backup")["status"], "ok", "{}", r.stdout);

    // The off-site repository goes away: archiving and backups (a chunked
    // one) go on.
    az.stop();
    a.tc.psql("postgres", "INSERT INTO t VALUES (2)");
    let waited: Vec<String> = (0..3).map(|_| switch_and_wait(&a)).collect();
    let r = seen.keep(a.backup_cmd(&["full", "--db", &db, "--incremental"]));
    r.expect_code(0);
    let second = r.one("backup.full")["id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1100));
    let r = seen.keep(a.backup_cmd(&["check", "--db", &db, "--no-live", "--offsite-lag-warn", "1s"]));
    r.expect_code(1);
    let lag = &item(&r, "offsite_lag")["lag"].clone();
    assert!(lag["segments"].as_u64().unwrap() >= 3, "{}", r.stdout);
    assert!(lag["seconds"].as_f64().unwrap() >= 1.0, "{}", r.stdout);
    assert_eq!(item(&r, "offsite_lag")["status"], "warning", "{}", r.stdout);
    assert_eq!(item(&r, "offsite_backup")["status"], "warning", "{}", r.stdout);
    let age = backup_age(&a);
    assert!(age["details"]["offsite"]["error"].is_string(), "{age}");
    assert_ne!(age["status"], "OK", "{age}");
    let r = seen.keep(a.backup_cmd(&["sync"]));
    assert_ne!(r.code, 0, "sync with the off-site down: {r:?}");

    // Back: one sync copies what waited, the second backup included (its
    // chunks re-sealed and renamed under the off-site key).
    az.restart();
    a.tc.psql("postgres", "INSERT INTO t VALUES (3)");
    switch_and_wait(&a);
    let r = seen.keep(a.backup_cmd(&["sync"]));
    r.expect_code(0);
    let s = r.one("backup.sync");
    assert_eq!(s["backups_copied"], serde_json::json!([second]), "{s}");
    assert!(s["wal_copied"].as_u64().unwrap() >= 4, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    let r = seen.keep(a.backup_cmd(&["check", "--db", &db, "--no-live", "--offsite-lag-warn", "1s"]));
    r.expect_code(0);
    assert_eq!(item(&r, "offsite_lag")["lag"]["segments"], 0, "{}", r.stdout);
    let age = backup_age(&a);
    assert_eq!(age["details"]["offsite"]["backup"], second.as_str(), "{age}");

    // Nothing missing off-site: verify passes there, every segment is listed.
    fn with<'a>(args: &[&'a str], flags: &'a [String]) -> Vec<&'a str> {
        let mut v: Vec<&str> = args.to_vec();
        v.extend(flags.iter().map(String::as_str));
        v
    }
    let off = |args: &[&'static str]| with(args, &f.flags);
    let r = seen.keep(cmd::run_copied(&a.backup, &off(&["verify"])));
    r.expect_code(0);
    let v = r.one("verify.summary");
    assert_eq!((v["ok"].as_bool(), v["backups"].as_u64()), (Some(true), Some(2)), "{v}");
    for seg in &waited {
        let fetched = a.tc.dir.join("fetched");
        let mut v = vec!["wal-fetch", seg.as_str(), fetched.to_str().unwrap()];
        v.extend(f.flags.iter().map(String::as_str));
        let r = seen.keep(cmd::run_copied(&a.restore, &v));
        r.expect_code(0);
    }

    // A new host restores from the off-site repository alone.
    restores_from_off_site(&a, &off(&[]), &second, &seen);
    for out in seen.0.borrow().iter() {
        assert!(!out.contains(KEY), "the key was printed: {out}");
    }
}

/// The newest backup (`id`, a chunked one whose chunks were renamed for
/// the off-site key) and the WAL after it.
fn restores_from_off_site(a: &Archived, flags: &[&str], id: &str, seen: &Seen) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let copy = a.tc.dir.join("copy");
    let mut v = flags.to_vec();
    let (dir, port_s) = (copy.to_str().unwrap(), port.to_string());
    v.extend([
        "--latest",
        "--pgdata",
        dir,
        "--start",
        "--port",
        &port_s,
        "--socket-dir",
        a.tc.socket_dir.to_str().unwrap(),
    ]);
    let r = seen.keep(cmd::run_copied(&a.restore, &v));
    r.expect_code(0);
    assert_eq!(r.one("restore")["backup"], id, "{}", r.stdout);
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
