//! The off-site repository end to end (issue #16): a real cluster archives
//! into `azure://` on a real Azurite over HTTPS (the test kit's CA), takes a
//! full backup there, and a second cluster is restored from it to a point
//! in time.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails by panicking; its helpers unwrap like its #[test] functions"
)]

#[path = "archived_common.rs"]
mod archived_common;
#[path = "offsite_common.rs"]
mod offsite_common;
#[path = "sw_restore_offsite_crypt.rs"]
mod offsite_crypt;
#[path = "sw_restore_offsite_entra.rs"]
mod offsite_entra;
#[path = "sw_restore_twosite.rs"]
mod twosite;

use std::time::{Duration, Instant};

use offsite_common::Offsite;
use sw_testkit::azurite::{self, ACCOUNT, KEY};
use sw_testkit::cmd::{self, Run};
use sw_testkit::faultproxy::{Fault, FaultProxy, Match};

/// The server's clock in UTC, as --target-time takes it.
const NOW_UTC: &str = "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

#[test]
fn a_backup_to_azure_restores_to_a_point_in_time_on_a_second_cluster() {
    let o = Offsite::new(&format!("pitr{}", std::process::id()));
    let archive_command = o.tc.psql("postgres", "SHOW archive_command");
    assert!(archive_command.contains("--azure-credentials"), "{archive_command}");
    assert!(!archive_command.contains(KEY));
    o.tc.psql("postgres", "CREATE TABLE t (x int)");
    o.tc.psql("postgres", "INSERT INTO t VALUES (1)");
    let db = o.tc.url("postgres");
    let r = o.backup_cmd(&["full", "--db", &db]);
    r.expect_code(0);
    let full = r.one("backup.full");
    assert!(full["path"].as_str().unwrap().starts_with("azure://"), "{full}");
    o.tc.psql("postgres", "INSERT INTO t VALUES (2)");
    o.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    let target = o.tc.psql("postgres", NOW_UTC);
    o.tc.psql("postgres", "SELECT pg_sleep(0.05)");
    o.tc.psql("postgres", "INSERT INTO t VALUES (3)");
    // Blob Storage's Last-Modified has whole seconds, so `list` gives the
    // window's end rounded down: archive the last segment a second later.
    o.tc.psql("postgres", "SELECT pg_sleep(1.1)");
    o.switch_and_wait();

    // `list` shows the window: from the backup's end past the target.
    let r = o.backup_cmd(&["list"]);
    r.expect_code(0);
    let b = r.one("backup");
    assert_eq!(b["id"], full["id"]);
    let (from, until) = (
        b["restorable_from"].as_str().unwrap(),
        b["restorable_until"].as_str().unwrap(),
    );
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    assert!(t(from) < t(&target) && t(&target) < t(until), "{b} vs {target}");

    // check: archiving, a live pg_switch_wal() stored off-site, the backup's age.
    let r = o.backup_cmd(&["check", "--db", &db]);
    r.expect_code(0);
    assert_eq!(r.one("backup.check.summary")["status"], "ok", "{}", r.stdout);

    let r = o.backup_cmd(&["verify"]);
    r.expect_code(0);
    let s = r.one("verify.summary");
    assert_eq!((s["ok"].as_bool(), s["backups"].as_u64()), (Some(true), Some(1)), "{s}");
    assert!(s["wal_objects"].as_u64().unwrap() >= 2, "{s}");

    // The second cluster: restored from Blob Storage alone.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let copy = o.tc.dir.join("copy");
    let r = o.run(
        &o.restore,
        &[
            "--pgdata",
            copy.to_str().unwrap(),
            "--start",
            "--port",
            &port.to_string(),
            "--socket-dir",
            o.tc.socket_dir.to_str().unwrap(),
            "--target-time",
            &target,
        ],
        true,
    );
    r.expect_code(0);
    assert_eq!(r.one("restore")["promoted"], true);
    assert_eq!(
        o.query(port, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"),
        "1,2"
    );
    let settings = std::fs::read_to_string(copy.join("sw.conf")).unwrap();
    assert!(settings.contains("wal-fetch --repo ''azure://"), "{settings}");
    assert!(!settings.contains(KEY));
    let c = sw_core::cluster::Cluster::new(&copy, o.tc.runner().clone()).unwrap();
    c.stop(sw_core::cluster::StopMode::Immediate).unwrap();

    // A drill runs from the off-site repository too; its log is local.
    let log = o.tc.dir.join("drills.jsonl");
    let r = o.run(
        &o.restore,
        &[
            "drill",
            "--scratch",
            o.tc.dir.to_str().unwrap(),
            "--drill-log",
            log.to_str().unwrap(),
        ],
        false,
    );
    r.expect_code(0);
    assert_eq!(r.one("restore.drill")["ok"], true);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);

    // A flipped byte in a stored WAL object is named by verify.
    let client = o.client();
    let victim = o.blobs().into_iter().find(|b| b.contains("/wal/0000")).unwrap();
    let mut bytes = client.get(&victim).unwrap();
    bytes[100] ^= 1;
    client
        .put(&victim, &bytes, sw_core::blob::Mode::Overwrite, &[])
        .unwrap();
    let r = o.backup_cmd(&["verify"]);
    r.expect_code(65);
    let p = r.one("verify.problem");
    assert_eq!(p["problem"], "bad_object", "{p}");
    assert!(victim.ends_with(p["object"].as_str().unwrap()), "{p} vs {victim}");
    o.assert_key_never_shown();
}

#[test]
fn wal_push_retries_resets_and_503s_stops_at_a_hang_and_compares_duplicates() {
    let o = Offsite::new(&format!("faults{}", std::process::id()));
    let seg = o.unarchived_segment();
    assert_eq!(o.fetch(&seg).0, 1, "{seg} must not be stored yet");
    let pgdata = o.tc.datadir().to_str().unwrap().to_owned();
    let file = o.tc.datadir().join("pg_wal").join(&seg);
    let wal = std::fs::read(&file).unwrap();
    let proxy = FaultProxy::for_azurite(azurite::shared());
    let via = o.flags_via(&proxy.endpoint());
    let put = || Match::method("PUT").target(&seg);

    // A reset mid-upload, two 503 ServerBusy and a 500 OperationTimedOut:
    // retried, and the segment is stored once, intact.
    proxy.inject(put(), Fault::Reset { after_body_bytes: 4096 }, 1);
    proxy.inject(put(), Fault::server_busy(), 2);
    proxy.inject(put(), Fault::operation_timed_out(), 1);
    let r = o.run_flags(
        &o.backup,
        &["wal-push", "--pgdata", &pgdata, file.to_str().unwrap()],
        false,
        &via,
    );
    r.expect_code(0);
    assert_eq!(proxy.pending(), 0, "every fault was met");
    let puts: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|x| x.method == "PUT" && x.target.contains(&seg))
        .collect();
    assert_eq!(puts.len(), 5, "{puts:?}");
    assert_eq!(puts.last().unwrap().fault, None);
    assert_eq!(o.fetch(&seg), (0, Some(wal.clone())));

    // The same segment again: stored already, same content, success; a
    // different copy under its name: refused, the stored one kept.
    o.backup_cmd(&["wal-push", "--pgdata", &pgdata, file.to_str().unwrap()])
        .expect_code(0);
    let other = o.tc.dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut changed = wal.clone();
    let n = changed.len();
    changed[n - 100] ^= 0x55;
    std::fs::write(other.join(&seg), &changed).unwrap();
    let r = o.backup_cmd(&["wal-push", "--pgdata", &pgdata, other.join(&seg).to_str().unwrap()]);
    r.expect_code(65);
    assert!(r.stderr.contains("DIFFERENT content"), "{r:?}");
    assert_eq!(o.fetch(&seg), (0, Some(wal)));

    // A hung response: wal-push gives up at its deadline with a code the
    // archiver retries, and nothing is stored that was not acknowledged.
    let seg2 = o.next_segment();
    let file2 = o.tc.datadir().join("pg_wal").join(&seg2);
    proxy.inject(Match::method("PUT").target(&seg2), Fault::Hang, 1);
    let t0 = Instant::now();
    let r = o.run_flags(
        &o.backup,
        &[
            "wal-push",
            "--pgdata",
            &pgdata,
            "--timeout",
            "3s",
            file2.to_str().unwrap(),
        ],
        false,
        &via,
    );
    r.expect_code(75);
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "the deadline held: {:?}",
        t0.elapsed()
    );
    assert_eq!(o.fetch(&seg2).0, 1, "{seg2} was not stored");
    o.backup_cmd(&["wal-push", "--pgdata", &pgdata, file2.to_str().unwrap()])
        .expect_code(0);
    assert_eq!(o.fetch(&seg2).0, 0);
    o.assert_key_never_shown();
}

#[test]
fn a_full_killed_mid_upload_is_never_listed_and_the_rerun_succeeds() {
    let o = Offsite::new(&format!("kill{}", std::process::id()));
    o.tc.psql(
        "postgres",
        "CREATE TABLE k AS SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
    );
    let proxy = FaultProxy::for_azurite(azurite::shared());
    let mut via = o.flags_via(&proxy.endpoint());
    // 1 MiB blocks: the base backup goes up in several, then a block list.
    via.extend(["--azure-block-mib".to_owned(), "1".to_owned()]);
    let db = o.tc.url("postgres");
    let kill_at = |target: &str| {
        proxy.inject(Match::method("PUT").target(target), Fault::Hang, 1);
        let mut c = cmd::command(&o.backup);
        c.args(["full", "--db", &db]).args(&via);
        c.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        let end = Instant::now() + Duration::from_secs(120);
        while proxy.pending() > 0 {
            assert!(Instant::now() < end, "full never reached {target}: {:?}", proxy.seen());
            assert!(child.try_wait().unwrap().is_none(), "full ended before {target}");
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child.id()
    };
    let spools = |pid: u32| -> usize {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("sw-backup-") && n.ends_with(&format!("-{pid}"))
            })
            .count()
    };
    let listed = || {
        let r = o.backup_cmd(&["list"]);
        r.expect_code(0);
        r.records().into_iter().filter(|v| v["kind"] == "backup").count()
    };
    let bases = |blobs: &[String]| blobs.iter().filter(|b| b.ends_with("/base.tar.zst")).count();

    // Killed while committing the block list: blocks were sent, yet no
    // object is visible and no backup is listed.
    let first = kill_at("comp=blocklist");
    assert_eq!(spools(first), 1, "the killed run's spool is left");
    assert!(
        proxy.seen().iter().any(|x| x.target.contains("comp=block&")),
        "blocks were sent first"
    );
    assert_eq!(listed(), 0);
    assert_eq!(
        bases(&o.blobs()),
        0,
        "an uncommitted block list is no object: {:?}",
        o.blobs()
    );

    // Killed before the manifest: the base is stored, the backup is not
    // complete, so not listed.
    let second = kill_at("manifest.json");
    assert_eq!(spools(first), 0, "the next run removed the dead run's spool");
    assert_eq!(listed(), 0);
    assert_eq!(bases(&o.blobs()), 1);

    // The rerun removes what the interrupted one left and completes.
    let r = o.backup_cmd(&["full", "--db", &db]);
    r.expect_code(0);
    let id = r.one("backup.full")["id"].as_str().unwrap().to_owned();
    assert_eq!(spools(second), 0);
    assert_eq!(listed(), 1);
    let blobs = o.blobs();
    assert_eq!(bases(&blobs), 1, "{blobs:?}");
    assert!(blobs.iter().any(|b| b.ends_with(&format!("/backup/{id}/base.tar.zst"))));
    o.backup_cmd(&["verify"]).expect_code(0);

    prune_removes_the_older_backup(&o, &db, &id);
    o.backup_cmd(&["verify"]).expect_code(0);
    o.assert_key_never_shown();
}

#[test]
fn a_sas_token_works_refused_credentials_are_77_and_no_secret_is_shown() {
    use std::os::unix::fs::PermissionsExt as _;
    let container = format!("creds{}", std::process::id());
    let o = Offsite::new(&container);
    let key = openssl::base64::decode_block(KEY).unwrap();
    let sas = |expiry: &str| {
        let grant = sw_core::blob::SasGrant {
            container: &container,
            permissions: "racwdl",
            start: "",
            expiry,
        };
        sw_core::blob::service_sas(ACCOUNT, &key, &grant).unwrap()
    };
    let creds_file = |name: &str, line: &str| {
        let p = o.tc.dir.join("offsite").join(name);
        std::fs::write(&p, format!("{line}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p.display().to_string()
    };
    let with_creds = |file: String| {
        let mut f = o.flags.clone();
        f[5] = file;
        f
    };
    let good = sas("2099-01-01T00:00:00Z");
    let expired = sas("2020-01-01T00:00:00Z");
    let other_key = openssl::base64::encode_block(&[7u8; 64]);
    // A SAS token's secret is its signature.
    let sig = |t: &str| t.split("sig=").nth(1).unwrap().to_owned();
    let secrets = [KEY.to_owned(), sig(&good), sig(&expired), other_key.clone()];

    let mut outputs = Vec::new();
    let f = with_creds(creds_file("sas.env", &format!("AZURE_STORAGE_SAS_TOKEN={good}")));
    let r = o.run_flags(&o.backup, &["list"], false, &f);
    r.expect_code(0);
    outputs.push(format!("{}{}", r.stdout, r.stderr));
    for (name, line) in [
        ("expired.env", format!("AZURE_STORAGE_SAS_TOKEN={expired}")),
        ("wrong.env", format!("AZURE_STORAGE_KEY={other_key}")),
    ] {
        let f = with_creds(creds_file(name, &line));
        let r = o.run_flags(&o.backup, &["list"], false, &f);
        r.expect_code(77);
        assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {r:?}");
        outputs.push(format!("{}{}", r.stdout, r.stderr));
    }
    // Without credentials: a configuration error naming the flag.
    let mut f = o.flags.clone();
    f.drain(4..6);
    let r = o.run_flags(&o.backup, &["list"], false, &f);
    r.expect_code(78);
    assert!(r.stderr.contains("--azure-credentials"), "{r:?}");

    // No secret in any output, nor in the repository's own JSON objects.
    o.assert_key_never_shown();
    let client = o.client();
    for name in o.blobs().into_iter().filter(|b| b.ends_with(".json")) {
        outputs.push(String::from_utf8(client.get(&name).unwrap()).unwrap());
    }
    for out in &outputs {
        for s in &secrets {
            assert!(!out.contains(s.as_str()), "a secret was shown: {out}");
        }
    }
}

/// With a second backup, `prune --retention-days 0` removes the first one
/// (`older`) and the WAL before the second's start, as `--dry-run` said.
fn prune_removes_the_older_backup(o: &Offsite, db: &str, older: &str) {
    let id = older.to_owned();
    let bases = |blobs: &[String]| blobs.iter().filter(|b| b.ends_with("/base.tar.zst")).count();
    o.tc.psql("postgres", "INSERT INTO k SELECT g, 'x' FROM generate_series(1, 10) g");
    o.switch_and_wait();
    let r = o.backup_cmd(&["full", "--db", db]);
    r.expect_code(0);
    let newer = r.one("backup.full")["id"].as_str().unwrap().to_owned();
    let removals = |r: &Run| -> Vec<(String, String)> {
        r.records()
            .into_iter()
            .filter(|v| v["kind"] == "backup.prune")
            .map(|v| {
                (
                    v["object"].as_str().unwrap().to_owned(),
                    v["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let dry = o.backup_cmd(&["prune", "--retention-days", "0", "--min-full", "1", "--dry-run"]);
    dry.expect_code(0);
    let planned = removals(&dry);
    assert!(planned.contains(&("backup".to_owned(), id.clone())), "{planned:?}");
    assert!(planned.iter().any(|(k, _)| k == "wal"), "{planned:?}");
    assert_eq!(bases(&o.blobs()), 2, "--dry-run removed nothing");
    let r = o.backup_cmd(&["prune", "--retention-days", "0", "--min-full", "1"]);
    r.expect_code(0);
    assert_eq!(removals(&r), planned);
    let blobs = o.blobs();
    assert!(
        !blobs.iter().any(|b| b.contains(&format!("/backup/{id}/"))),
        "{blobs:?}"
    );
    assert_eq!(bases(&blobs), 1);
    let r = o.backup_cmd(&["list"]);
    r.expect_code(0);
    assert_eq!(r.one("backup")["id"], newer.as_str());
}
