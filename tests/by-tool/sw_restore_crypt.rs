//! An encrypted directory repository end to end (issue #16): a real
//! cluster archives and backs up with a key file; restores need the key
//! (77 without it or with another), verify names a flipped byte, rekey
//! swaps the key without rewriting data, and no stored object holds a
//! marker row inserted into a table.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails by panicking; its helpers unwrap like its #[test] functions"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use sw_testkit::cmd::{self, Run};

#[path = "archived_common.rs"]
mod archived_common;

use archived_common::{Archived, BIN};
const MARKER: &str = "zebra-marker-7f3c91";

/// The archived cluster with an encrypted repository.
struct Enc(Archived);

impl std::ops::Deref for Enc {
    type Target = Archived;
    fn deref(&self) -> &Archived {
        &self.0
    }
}

impl Enc {
    fn new(key: &Path) -> Enc {
        let (a, setup) = Archived::with_setup(&["--encrypt", "--key-file", key.to_str().unwrap()]);
        assert_eq!(setup["encrypted"], true);
        Enc(a)
    }

    /// Restore the latest point into `name` with `key` flags; the run.
    fn restore(&self, name: &str, key: &[&str]) -> Run {
        let dir = self.tc.dir.join(name);
        let mut v: Vec<&str> = vec![
            "--repo",
            self.repo.to_str().unwrap(),
            "--latest",
            "--pgdata",
            dir.to_str().unwrap(),
        ];
        v.extend_from_slice(key);
        cmd::run_copied(&self.restore, &v)
    }
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(files(&p));
        } else {
            v.push(p);
        }
    }
    v
}

fn no_secret(runs: &[&Run], secret: &str) {
    for r in runs {
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret), "{r:?}");
    }
}

#[test]
fn an_encrypted_repository_restores_only_with_its_key_and_holds_no_plaintext() {
    let d = tempfile::tempdir().unwrap();
    // The server's OS user reads the key files setup and rekey create.
    std::fs::set_permissions(d.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (k1, k2, bad) = (d.path().join("k1"), d.path().join("k2"), d.path().join("bad"));
    sw_core::crypt::KeyFile::generate().unwrap().save(&bad).unwrap();
    let e = Enc::new(&k1);
    let secret = std::fs::read_to_string(&k1).unwrap().trim().to_owned();
    e.tc.psql(
        "postgres",
        &format!("CREATE TABLE t(v text); INSERT INTO t SELECT '{MARKER}' FROM generate_series(1,50)"),
    );
    let full = e.backup_cmd(&[
        "full",
        "--db",
        &e.tc.url("postgres"),
        "--key-file",
        k1.to_str().unwrap(),
    ]);
    full.expect_code(0);
    e.tc.psql(
        "postgres",
        &format!("INSERT INTO t VALUES ('{MARKER}-after'); SELECT pg_switch_wal()"),
    );
    std::thread::sleep(Duration::from_secs(3));
    for f in files(&e.repo) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "{} holds the marker",
            f.display()
        );
    }
    let none = e.restore("none", &[]);
    none.expect_code(77);
    assert!(none.stderr.contains("encrypted"), "{none:?}");
    e.restore("wrong", &["--key-file", bad.to_str().unwrap()])
        .expect_code(77);
    assert!(!e.tc.dir.join("wrong/PG_VERSION").exists());
    let ok = e.restore("ok", &["--key-file", k1.to_str().unwrap()]);
    ok.expect_code(0);
    assert!(e.tc.dir.join("ok/PG_VERSION").exists());
    // Keyless verify passes but says what it could not check.
    let v = e.backup_cmd(&["verify"]);
    v.expect_code(0);
    assert_eq!(v.one("verify.summary")["tags_checked"], false);
    // Rekey: add k2, drop k1's wrapping; k1 stops working, k2 restores.
    let label = format!(
        "key-{}",
        sw_core::crypt::KeyFile::load(&k1).unwrap().fingerprint().unwrap()
    );
    let rk = e.backup_cmd(&[
        "rekey",
        "--key-file",
        k1.to_str().unwrap(),
        "--add-key-file",
        k2.to_str().unwrap(),
        "--remove",
        &label,
    ]);
    rk.expect_code(0);
    e.restore("old", &["--key-file", k1.to_str().unwrap()]).expect_code(77);
    e.restore("new", &["--key-file", k2.to_str().unwrap()]).expect_code(0);
    started_restore_replays_encrypted_wal(&e, &k2);
    no_secret(&[&full, &none, &ok, &v, &rk], &secret);
    flipped_byte_is_named(&e, &k2);
}

/// A started restore fetches (decrypts) the WAL after the backup through
/// its restore_command: the row inserted after the backup is there.
fn started_restore_replays_encrypted_wal(e: &Enc, key: &Path) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let sock = e.tc.socket_dir.to_str().unwrap().to_owned();
    let r = e.restore(
        "started",
        &[
            "--key-file",
            key.to_str().unwrap(),
            "--start",
            "--port",
            &port,
            "--socket-dir",
            &sock,
        ],
    );
    r.expect_code(0);
    let mut c = e.tc.runner().command("psql");
    c.args([
        "-X", "-A", "-t", "-h", &sock, "-p", &port, "-U", "postgres", "-d", "postgres",
    ])
    .args(["-c", &format!("SELECT count(*) FROM t WHERE v = '{MARKER}-after'")]);
    let o = c.output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "1",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let cl = sw_core::cluster::Cluster::new(&e.tc.dir.join("started"), e.tc.runner().clone()).unwrap();
    cl.stop(sw_core::cluster::StopMode::Immediate).unwrap();
}

fn flipped_byte_is_named(e: &Enc, key: &Path) {
    let base = files(&e.repo)
        .into_iter()
        .find(|p| p.file_name().unwrap() == "base.tar.zst")
        .unwrap();
    let v = e.backup_cmd(&["verify", "--key-file", key.to_str().unwrap()]);
    v.expect_code(0);
    assert_eq!(v.one("verify.summary")["tags_checked"], true);
    let mut bytes = std::fs::read(&base).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&base, &bytes).unwrap();
    let bad = e.backup_cmd(&["verify", "--key-file", key.to_str().unwrap()]);
    bad.expect_code(65);
    assert!(bad.stdout.contains("base.tar.zst"), "{bad:?}");
}

/// SW_BACKUP_KEY_FILE set for every command (a systemd unit) unlocks an
/// encrypted repository and is ignored by a plain one, where only an
/// explicit --key-file is refused (64).
#[test]
fn the_key_file_variable_unlocks_encrypted_repositories_and_leaves_plain_ones_alone() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("key");
    sw_core::crypt::KeyFile::generate().unwrap().save(&key).unwrap();
    let plain = d.path().join("plain");
    sw_core::repo::Repo::init(&plain).unwrap();
    let enc = d.path().join("enc");
    let opts = sw_core::cli::RepoOpts {
        repo: enc.clone(),
        blob: sw_core::cli::BlobOpts {
            azure_endpoint: None,
            azure_credentials: None,
            azure_ca_file: None,
            azure_block_mib: 8,
        },
        keys: sw_core::cli::KeyOpts::default(),
    };
    let unlock = sw_core::crypt::Unlock::KeyFile(sw_core::crypt::KeyFile::load(&key).unwrap());
    sw_core::repo::Repo::init_encrypted(&opts, &unlock, "first").unwrap();
    let sw_backup = cmd::sibling_bin(BIN, "sw-backup", "sw-backup");
    let run = |repo: &Path, args: &[&str], env_key: bool| {
        let mut c = cmd::command(&sw_backup);
        c.args(args).arg("--repo").arg(repo);
        if env_key {
            c.env("SW_BACKUP_KEY_FILE", &key);
        }
        cmd::run_cmd(&mut c, None)
    };
    // Plain: the variable is ignored, the flag refused.
    run(&plain, &["verify"], true).expect_code(0);
    run(&plain, &["list"], true).expect_code(0);
    let r = run(&plain, &["verify", "--key-file", key.to_str().unwrap()], false);
    r.expect_code(64);
    assert!(r.stderr.contains("not encrypted"), "{r:?}");
    // Encrypted: the variable unlocks it (the tags are checked), as the flag does.
    let v = run(&enc, &["verify"], true);
    v.expect_code(0);
    assert_eq!(v.one("verify.summary")["tags_checked"], true, "{v:?}");
    let v = run(&enc, &["verify"], false);
    v.expect_code(0);
    assert_eq!(v.one("verify.summary")["tags_checked"], false, "{v:?}");
    // sw-restore's runbook reads an encrypted repository's metadata without the key.
    let out = d.path().join("runbook.md");
    let r = cmd::run(
        Path::new(BIN),
        &[
            "runbook",
            "--repo",
            enc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    r.expect_code(0);
}
