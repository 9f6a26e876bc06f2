//! sw-provision end to end: real clusters made by the real binary, and the
//! Azure mode against the test kit's fake Resource Manager.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-provision");

fn provision(args: &[&str]) -> Run {
    cmd::run(BIN.as_ref(), args, None)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A provision directory reachable by the server's OS user; stops whatever
/// cluster ended up in it, even when the test fails.
struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    port: u16,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::Builder::new().prefix("sw-provision-test.").tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = tmp.path().join("pg");
        Site {
            _tmp: tmp,
            dir,
            port: free_port(),
        }
    }

    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "local",
            "--dir",
            self.dir.to_str().unwrap(),
            "--port",
            &self.port.to_string(),
            "--memory",
            "1GB",
            "--cpus",
            "2",
            "--listen",
            "127.0.0.1",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    }

    fn local(&self, extra: &[&str]) -> Run {
        let a = self.args(extra);
        provision(&a.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn env_file(&self) -> PathBuf {
        self.dir.join("app.env")
    }

    fn env(&self, key: &str) -> String {
        let text = std::fs::read_to_string(self.env_file()).unwrap();
        let env = sw_core::envfile::EnvFile::parse(&text).unwrap();
        env.get(key).unwrap().to_owned()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = sw_testkit::pg::runner()
                .command("pg_ctl")
                .args(["stop", "-m", "immediate", "-D"])
                .arg(&data)
                .output();
        }
    }
}

fn psql(conn: &str, sql: &str) -> Result<String, String> {
    let out = Command::new(sw_testkit::pg::bindir().prog("psql"))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c", sql])
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn local_provisions_a_tls_only_tuned_cluster_and_converges() {
    let s = Site::new();
    let r = s.local(&["--param", "work_mem=8MB"]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    let rec = r.one("provision.local");
    assert_eq!(rec["changed"], true);
    assert_eq!(rec["env_file"], s.env_file().to_str().unwrap());
    let actions: Vec<&str> = rec["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    for a in [
        "initdb",
        "create_ca",
        "start",
        "create_role",
        "create_database",
        "write_env_file",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }

    // The env file: 0600, every form, and the password never on stdout.
    assert_eq!(mode(&s.env_file()), 0o600);
    let url = s.env("DATABASE_URL");
    let pw = sw_core::conninfo::parse(&url).unwrap()["password"].clone();
    assert_eq!(pw.len(), 32);
    assert!(!r.stdout.contains(&pw) && !r.stderr.contains(&pw));
    assert!(url.contains("sslmode=verify-full"));
    for k in [
        "DATABASE_URL_SQLALCHEMY",
        "DATABASE_URL_JDBC",
        "DATABASE_DJANGO",
        "DATABASE_DSN",
    ] {
        assert!(s.env(k).contains(&pw), "{k}");
    }
    let django: Value = serde_json::from_str(&s.env("DATABASE_DJANGO")).unwrap();
    assert_eq!(django["OPTIONS"]["sslmode"], "verify-full");

    // verify-full with the written CA works, as the application role, over TLS.
    let got = psql(
        &url,
        "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .unwrap();
    assert_eq!(got, "app true");
    assert_eq!(psql(&s.env("DATABASE_DSN"), "SELECT 1").unwrap(), "1");
    // A CA that did not sign the server certificate is refused under verify-full.
    let other = tempfile::tempdir().unwrap();
    let certs = sw_testkit::tls::make(other.path(), &["localhost"]);
    let wrong = format!(
        "host=localhost port={} dbname=app user=app password={pw} sslmode=verify-full sslrootcert={}",
        s.port,
        certs.ca_cert.display()
    );
    assert!(psql(&wrong, "SELECT 1").unwrap_err().contains("certificate"));
    // Non-TLS is refused.
    let plain = format!(
        "host=127.0.0.1 port={} dbname=app user=app password={pw} sslmode=disable",
        s.port
    );
    let e = psql(&plain, "SELECT 1").unwrap_err();
    assert!(e.contains("no pg_hba.conf entry") && e.contains("no encryption"), "{e}");

    // Parameters: tuned from --memory 1GB, overridden by --param, checksums on.
    let settings = psql(
        &url,
        "SELECT string_agg(current_setting(n), ',' ORDER BY n) FROM unnest(array['data_checksums','effective_cache_size','password_encryption','random_page_cost','server_encoding','shared_buffers','ssl','work_mem']) n",
    )
    .unwrap();
    assert_eq!(settings, "on,768MB,scram-sha-256,1.1,UTF8,256MB,on,8MB");

    // A re-run changes nothing, keeps the password; a dry run plans nothing.
    let again = s.local(&["--param", "work_mem=8MB"]);
    again.expect_code(0);
    assert_eq!(again.one("provision.local")["changed"], false, "{again:?}");
    assert_eq!(s.env("DATABASE_URL"), url);
    let dry = s.local(&["--param", "work_mem=8MB", "--dry-run"]);
    assert_eq!(dry.one("provision.local")["changes"], serde_json::json!([]));

    // A changed parameter is the only change (and a reload suffices).
    let changed = s.local(&["--param", "work_mem=16MB"]);
    let rec = changed.one("provision.local");
    let acts: Vec<&str> = rec["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(acts, ["set_parameters", "reload"], "{rec}");
    assert_eq!(rec["changes"][0]["detail"], "work_mem");
    assert_eq!(psql(&url, "SHOW work_mem").unwrap(), "16MB");

    // status, then destroy (which insists on --yes).
    let dir = s.dir.to_str().unwrap();
    assert_eq!(
        provision(&["status", "--dir", dir])
            .expect_code(0)
            .one("provision.status")["status"],
        "running"
    );
    provision(&["destroy", "--dir", dir]).expect_code(64);
    provision(&["destroy", "--dir", dir, "--yes"]).expect_code(0);
    assert!(!s.dir.join("data").exists() && !s.env_file().exists());
    provision(&["status", "--dir", dir]).expect_code(66);
}

#[test]
fn unlisted_networks_are_refused_and_passwords_rotate_on_request() {
    let s = Site::new();
    s.local(&["--allow", "10.0.0.0/8"]).expect_code(0);
    let url = s.env("DATABASE_URL");
    let e = psql(&url, "SELECT 1").unwrap_err();
    assert!(e.contains("no pg_hba.conf entry for host \"127.0.0.1\""), "{e}");

    // Opening loopback is a pg_hba change only; the password is kept.
    let r = s.local(&["--allow", "127.0.0.1"]);
    let rec = r.one("provision.local");
    let acts: Vec<&str> = rec["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(acts, ["write_pg_hba", "reload"], "{rec}");
    assert_eq!(psql(&url, "SELECT 1").unwrap(), "1");

    let r = s.local(&["--allow", "127.0.0.1", "--rotate-password"]);
    r.expect_code(0);
    let new_url = s.env("DATABASE_URL");
    assert_ne!(new_url, url);
    assert!(
        psql(&url, "SELECT 1")
            .unwrap_err()
            .contains("password authentication failed")
    );
    assert_eq!(psql(&new_url, "SELECT 1").unwrap(), "1");
}

#[test]
fn bad_flags_are_usage_errors() {
    let r = provision(&["local", "--allow", "300.1.1.1/8", "--dry-run"]);
    r.expect_code(64);
    let r = provision(&["local", "--param", "no equals", "--dry-run"]);
    r.expect_code(64);
    assert!(r.stdout.is_empty());
}
