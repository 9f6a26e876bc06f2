//! sw-provision `local --pooler pgbouncer` end to end: a real cluster and
//! a real PgBouncer (Debian's), made once per test binary by the real
//! binary and shared by the tests, which only read it or re-run it with
//! the same flags.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-provision");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A provisioned directory, with its cluster and pooler.
struct Site {
    dir: PathBuf,
    port: u16,
    pooler_port: u16,
    /// Flags of every run.
    base: Vec<String>,
    /// The first run's record.
    first: Value,
    _reaper: Mutex<Option<ChildStdin>>,
}

/// The shared site: a pool of 20 without reserve, so the server never
/// has more than 20 application connections, and room for 200 clients
/// plus the other tests' own.
const POOL: [&str; 6] = [
    "--pool-size",
    "20",
    "--reserve-pool-size",
    "0",
    "--max-client-conn",
    "260",
];

fn site() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| Site::new(&POOL))
}

/// Stops the pooler and the cluster and removes the directory once the
/// test process is gone (a static is never dropped): it waits for the end
/// of a pipe only this process holds.
fn reaper(tmp: &std::path::Path, dir: &std::path::Path) -> Option<ChildStdin> {
    let script = r#"cat >/dev/null; kill "$(cat "$2/pgbouncer/pgbouncer.pid")" 2>/dev/null; "$1" stop -D "$2/data" -m immediate -w >/dev/null 2>&1; rm -rf "$3""#;
    let runner = sw_testkit::pg::runner();
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(script)
        .arg("sw-pooler-reaper")
        .arg(runner.bindir.prog("pg_ctl"))
        .arg(dir)
        .arg(tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c.spawn().ok().and_then(|mut ch| ch.stdin.take())
}

impl Site {
    /// Provision a new site with `base` flags (beyond the pooler's).
    fn new(base: &[&str]) -> Site {
        let tmp = tempfile::Builder::new()
            .prefix("sw-pooler-test.")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = tmp.join("pg");
        let reaper = reaper(&tmp, &dir);
        let mut s = Site {
            dir,
            port: free_port(),
            pooler_port: free_port(),
            base: base.iter().map(|a| (*a).to_owned()).collect(),
            first: Value::Null,
            _reaper: Mutex::new(reaper),
        };
        let r = s.local(&[]);
        r.expect_code(0);
        s.first = r.one("provision.local");
        s
    }

    fn local(&self, extra: &[&str]) -> Run {
        self.local_with(Some("pgbouncer"), extra)
    }

    /// A run with `--pooler KIND`, or without the flag.
    fn local_with(&self, pooler: Option<&str>, extra: &[&str]) -> Run {
        let (port, pport) = (self.port.to_string(), self.pooler_port.to_string());
        let mut a = vec![
            "local",
            "--dir",
            self.dir.to_str().unwrap(),
            "--port",
            &port,
            "--memory",
            "1GB",
            "--cpus",
            "2",
            "--listen",
            "127.0.0.1",
            "--pooler-port",
            &pport,
        ];
        if let Some(kind) = pooler {
            a.extend(["--pooler", kind]);
        }
        a.extend(self.base.iter().map(String::as_str));
        a.extend(extra);
        cmd::run(BIN.as_ref(), &a, None)
    }

    fn env(&self, key: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join("app.env")).unwrap();
        let env = sw_core::envfile::EnvFile::parse(&text).unwrap();
        env.get(key).unwrap().to_owned()
    }

    fn pooler_pid(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer/pgbouncer.pid"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// psql as the server's OS user over the socket: the superuser on
    /// the server, or the stats user on the pooler's console.
    fn socket_psql(&self, port: u16, user: &str, db: &str, sql: &str) -> String {
        let out = sw_testkit::pg::runner()
            .command("psql")
            .args(["-X", "-A", "-t", "-w", "-F", "|", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.join("sock"))
            .args(["-p", &port.to_string(), "-U", user, "-d", db, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// The OS user pgbouncer and the server run as (the stats user).
fn os_user() -> String {
    match sw_testkit::pg::runner().user {
        Some(u) => u.name,
        None => {
            let out = Command::new("id").arg("-un").output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    }
}

/// psql with a connection string; stdout or stderr.
fn psql(conn: &str, sql: &str) -> Result<String, String> {
    let out = psql_cmd(conn, sql).output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn psql_cmd(conn: &str, sql: &str) -> Command {
    let mut c = Command::new(sw_testkit::pg::bindir().prog("psql"));
    c.args(["-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c", sql])
        .env_remove("PGPASSWORD")
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn actions(rec: &Value) -> Vec<&str> {
    rec["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect()
}

#[test]
fn the_first_run_starts_the_pooler_and_a_second_changes_nothing() {
    let s = site();
    let acts = actions(&s.first);
    for a in [
        "write_pooler_config",
        "create_lookup_role",
        "write_lookup_function",
        "start_pooler",
    ] {
        assert!(acts.contains(&a), "{a} missing from {acts:?}");
    }
    assert_eq!(s.first["pooler_port"], s.pooler_port);
    for f in ["pgbouncer.ini", "auth.txt", "hba.conf", "server.key"] {
        let m = std::fs::metadata(s.dir.join("pgbouncer").join(f)).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600, "{f}");
    }
    let pid = s.pooler_pid();
    let again = s.local(&[]);
    let rec = again.expect_code(0).one("provision.local");
    assert_eq!(rec["changed"], false, "{again:?}");
    assert_eq!(s.pooler_pid(), pid, "an unchanged pooler was restarted");
    let dry = s.local(&["--dry-run"]);
    assert_eq!(
        dry.expect_code(0).one("provision.local")["changes"],
        serde_json::json!([])
    );
    // A pool the server cannot hold is refused before anything is done.
    s.local(&["--max-connections", "20"]).expect_error(
        64,
        "--pool-size 20 plus --reserve-pool-size 0 is more than max_connections 20",
    );
    let st = cmd::run(BIN.as_ref(), &["status", "--dir", s.dir.to_str().unwrap()], None);
    let pooler = &st.expect_code(0).one("provision.status")["pooler"];
    assert_eq!(pooler["status"], "running");
    assert_eq!(pooler["port"], s.pooler_port);
    assert_eq!(pooler["pid"].to_string(), pid);
}

#[test]
fn the_pooled_url_connects_with_verify_full_and_plain_clients_are_refused() {
    let s = site();
    let url = s.env("DATABASE_URL_POOLED");
    assert!(url.contains(&format!(":{}/app?", s.pooler_port)), "{url}");
    assert!(
        url.contains("sslmode=verify-full") && url.contains("sslrootcert="),
        "{url}"
    );
    // Through the pooler to the server, which sees a TLS session from it.
    let got = psql(
        &url,
        "SELECT current_user || ' ' || inet_server_port() || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .unwrap();
    assert_eq!(got, format!("app {} true", s.port));
    let pw = sw_core::conninfo::parse(&url).unwrap()["password"].clone();
    let plain = format!(
        "host=127.0.0.1 port={} dbname=app user=app password={pw} sslmode=disable",
        s.pooler_port
    );
    let e = psql(&plain, "SELECT 1").unwrap_err();
    assert!(e.contains("SSL required"), "{e}");
    // A CA that did not sign the pooler's certificate is refused.
    let other = tempfile::tempdir().unwrap();
    let certs = sw_testkit::tls::make(other.path(), &["localhost"]);
    let wrong = format!(
        "host=localhost port={} dbname=app user=app password={pw} sslmode=verify-full sslrootcert={}",
        s.pooler_port,
        certs.ca_cert.display()
    );
    assert!(psql(&wrong, "SELECT 1").unwrap_err().contains("certificate"));
    // A wrong password is refused by the pooler (SCRAM against the looked-up verifier).
    let bad = url.replace(&pw, "not-the-password");
    let e = psql(&bad, "SELECT 1").unwrap_err();
    assert!(e.contains("SASL authentication failed"), "{e}");
}

#[test]
fn the_lookup_role_reads_verifiers_of_ordinary_roles_only() {
    let s = site();
    let url = s.env("DATABASE_URL");
    psql(
        &url,
        "CREATE TABLE IF NOT EXISTS secrets (v text); INSERT INTO secrets VALUES ('x')",
    )
    .unwrap();
    let auth = std::fs::read_to_string(s.dir.join("pgbouncer/auth.txt")).unwrap();
    let lookup_pw = auth.lines().next().unwrap().split('"').nth(3).unwrap().to_owned();
    let lookup = url
        .replacen("app:", "sw_pgbouncer_lookup:", 1)
        .replace(&sw_core::conninfo::parse(&url).unwrap()["password"], &lookup_pw);
    let e = psql(&lookup, "SELECT * FROM secrets").unwrap_err();
    assert!(e.contains("permission denied"), "{e}");
    let e = psql(&lookup, "SELECT rolpassword FROM pg_authid").unwrap_err();
    assert!(e.contains("permission denied"), "{e}");
    let app = psql(&lookup, "SELECT left(passwd, 14) FROM pgbouncer.get_auth('app')").unwrap();
    assert_eq!(app, "SCRAM-SHA-256$");
    assert_eq!(
        psql(&lookup, "SELECT count(*) FROM pgbouncer.get_auth('postgres')").unwrap(),
        "0"
    );
    // Nobody else may call it.
    let e = psql(&url, "SELECT * FROM pgbouncer.get_auth('app')").unwrap_err();
    assert!(e.contains("permission denied"), "{e}");
}

/// `sw-health --pooler-url` on the site's console, as the stats user
/// (peer over the socket): the exit code and the report's pooler checks.
fn pooler_health(s: &Site, state: &std::path::Path) -> (i32, Value) {
    let bin = cmd::sibling_bin(BIN, "sw-health", "sw-health");
    let console = format!(
        "host={} port={} user={}",
        s.dir.join("sock").display(),
        s.pooler_port,
        os_user()
    );
    let mut c = cmd::command(&bin);
    c.args(["--pooler-url", &console, "--state-dir", state.to_str().unwrap()]);
    sw_testkit::pg::runner().prepare(&mut c);
    let r = cmd::run_cmd(&mut c, None);
    let rep = r.one("health.report");
    let names: Vec<&str> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let want = [
        "pooler_waiting",
        "pooler_max_wait",
        "pooler_saturation",
        "pooler_server_conns",
        "pooler_clients",
    ];
    assert_eq!(names, want, "the pooler's checks alone: {r:?}");
    (r.code, rep)
}

fn pooler_check<'a>(rep: &'a Value, name: &str) -> &'a Value {
    rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

#[test]
fn two_hundred_clients_through_a_pool_of_twenty_all_complete() {
    let s = site();
    let url = s.env("DATABASE_URL_POOLED");
    let user = os_user();
    let state = tempfile::tempdir().unwrap();
    sw_testkit::pg::runner().hand_over(state.path()).unwrap();
    let mut clients: Vec<_> = (0..200)
        .map(|_| psql_cmd(&url, "SELECT pg_sleep(1)").spawn().unwrap())
        .collect();
    // Watch the pool on the stats console, and sw-health, while they run.
    let (mut waiting, mut active) = (0_u32, 0_u32);
    let mut reports = Vec::new();
    let pools_sql = "SHOW POOLS";
    loop {
        reports.push(pooler_health(s, state.path()));
        for line in s.socket_psql(s.pooler_port, &user, "pgbouncer", pools_sql).lines() {
            let f: Vec<&str> = line.split('|').collect();
            if f[0] == "app" && f[1] == "app" {
                // database|user|cl_active|cl_waiting|cl_active_cancel_req|cl_waiting_cancel_req|sv_active|...
                waiting = waiting.max(f[3].parse().unwrap());
                active = active.max(f[6].parse().unwrap());
            }
        }
        if clients.iter_mut().all(|c| c.try_wait().unwrap().is_some()) {
            break;
        }
    }
    let failed: Vec<String> = clients
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert!(failed.is_empty(), "{} of 200 failed, e.g. {}", failed.len(), failed[0]);
    assert!(
        waiting > 0,
        "no client ever waited for a pool of 20 (at most {active} active)"
    );
    assert!(active <= 20, "{active} server connections in a pool of 20");
    // sw-health saw clients waiting during the burst, a WARNING at least,
    // and (once the pool had filled: the first samples may catch it still
    // opening connections) every server connection busy.
    let waited: Vec<_> = reports
        .iter()
        .filter(|(_, rep)| pooler_check(rep, "pooler_waiting")["value"].as_f64() > Some(0.0))
        .collect();
    assert!(!waited.is_empty(), "sw-health never saw a waiting client: {reports:?}");
    for (code, rep) in &waited {
        assert_eq!(pooler_check(rep, "pooler_waiting")["status"], "WARNING", "{rep}");
        assert!((1..=2).contains(code), "{rep}");
    }
    let full = waited
        .iter()
        .any(|(_, rep)| pooler_check(rep, "pooler_saturation")["value"] == 100.0);
    assert!(full, "sw-health never saw the pool of 20 full: {waited:?}");
    // And none after it: every check OK.
    let (code, rep) = pooler_health(s, state.path());
    assert_eq!(pooler_check(&rep, "pooler_waiting")["value"], 0.0, "{rep}");
    assert_eq!((code, rep["status"].as_str()), (0, Some("OK")), "{rep}");
    let on_server = s.socket_psql(
        s.port,
        "postgres",
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'",
    );
    assert!(on_server.parse::<u32>().unwrap() <= 20, "{on_server}");
}

const SESSION: &str = "SELECT current_setting('statement_timeout') || ' ' || current_setting('lock_timeout') || ' ' || current_setting('TimeZone')";

/// Poll a query through `conn` until it gives `want` (a reload is
/// asynchronous), for at most 10 s.
fn until(conn: &str, sql: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = psql(conn, sql).unwrap();
        if got == want || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Its own site: the test changes the defaults, which the shared one's
/// tests would feel.
#[test]
fn session_defaults_hold_through_the_pooler_and_destroy_takes_it_down() {
    let s = Site::new(&[]);
    assert!(actions(&s.first).contains(&"set_session_defaults"), "{}", s.first);
    let pooled = s.env("DATABASE_URL_POOLED");
    assert_eq!(psql(&pooled, SESSION).unwrap(), "1min 10s UTC");
    // A shorter override: set on the role, and the pool re-opened with it.
    let short = ["--app-statement-timeout", "1s", "--app-lock-timeout", "500ms"];
    let rec = s.local(&short).expect_code(0).one("provision.local");
    assert_eq!(
        actions(&rec),
        ["set_session_defaults", "write_pooler_config", "reload_pooler"],
        "{rec}"
    );
    assert_eq!(until(&pooled, SESSION, "1s 500ms UTC"), "1s 500ms UTC");
    let e = psql(&pooled, "SELECT pg_sleep(3)").unwrap_err();
    assert!(e.contains("canceling statement due to statement timeout"), "{e}");
    assert_eq!(psql(&s.env("DATABASE_URL"), SESSION).unwrap(), "1s 500ms UTC");
    assert_eq!(
        session_check(&pooled),
        (
            "OK".to_owned(),
            "statement_timeout 1s, lock_timeout 500ms, TimeZone UTC".to_owned()
        )
    );
    let again = s.local(&short);
    assert_eq!(
        again.expect_code(0).one("provision.local")["changed"],
        false,
        "{again:?}"
    );
    // destroy stops the pooler before the server and removes its files.
    let pid = s.pooler_pid();
    let dir = s.dir.to_str().unwrap();
    let gone = cmd::run(BIN.as_ref(), &["destroy", "--dir", dir, "--yes"], None);
    let removed = gone.expect_code(0).one("provision.destroy")["removed"].to_string();
    assert!(removed.contains("/pgbouncer\""), "{removed}");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "pgbouncer {pid} still runs: {stat}"
    );
}

/// sw-health's `session_defaults` through `url` (given as DATABASE_URL,
/// since it holds the password): its status and message.
fn session_check(url: &str) -> (String, String) {
    let bin = cmd::sibling_bin(BIN, "sw-health", "sw-health");
    let state = tempfile::tempdir().unwrap();
    let mut c = cmd::command(&bin);
    c.args([
        "--checks",
        "session_defaults",
        "--state-dir",
        state.path().to_str().unwrap(),
    ])
    .env("DATABASE_URL", url);
    let rep = cmd::run_cmd(&mut c, None).one("health.report");
    let check = &rep["checks"][0];
    (
        check["status"].as_str().unwrap().to_owned(),
        check["message"].as_str().unwrap().to_owned(),
    )
}

/// Connect with SQLAlchemy (Debian's, as an application on this host
/// would) to `url` and print the current user; stdout or stderr.
fn sqlalchemy(url: &str) -> Result<String, String> {
    let script = "import os, sqlalchemy\n\
                  e = sqlalchemy.create_engine(os.environ['URL'])\n\
                  with e.connect() as c:\n    print(c.execute(sqlalchemy.text('select current_user')).scalar())\n";
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .env("URL", url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Its own site: the test changes the env file.
#[test]
fn the_sqlalchemy_url_names_the_driver_the_application_has() {
    let s = Site::new(&[]);
    // The seed's stack: psycopg2 (the default), direct and through the pooler.
    let url = s.env("DATABASE_URL_SQLALCHEMY");
    assert!(url.starts_with("postgresql+psycopg2://"), "{url}");
    assert_eq!(sqlalchemy(&url).unwrap(), "app");
    let pooled = s
        .env("DATABASE_URL_POOLED")
        .replacen("postgresql://", "postgresql+psycopg2://", 1);
    assert_eq!(sqlalchemy(&pooled).unwrap(), "app");
    // psycopg 3: only the SQLAlchemy URL changes.
    let rec = s
        .local(&["--sqlalchemy-driver", "psycopg"])
        .expect_code(0)
        .one("provision.local");
    assert_eq!(actions(&rec), ["write_env_file"], "{rec}");
    let url3 = s.env("DATABASE_URL_SQLALCHEMY");
    assert_eq!(url3, url.replacen("+psycopg2://", "+psycopg://", 1));
    match sqlalchemy(&url3) {
        Ok(user) => assert_eq!(user, "app"),
        // SQLAlchemy before 2.0 (Debian 12 has 1.4) has no psycopg 3
        // dialect: the mismatch the flag exists for. psycopg 3 itself
        // takes the same URL without the driver.
        Err(e) => {
            assert!(
                e.contains("Can't load plugin: sqlalchemy.dialects:postgresql.psycopg"),
                "{e}"
            );
            let plain = url3.replacen("postgresql+psycopg://", "postgresql://", 1);
            let script = "import os, psycopg\nprint(psycopg.connect(os.environ['URL']).execute('select current_user').fetchone()[0])";
            let out = Command::new("/usr/bin/python3")
                .args(["-c", script])
                .env("URL", &plain)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "app");
        }
    }
}

/// A dead pooler is reported and started again; without --pooler it is
/// kept (with a warning) and its URL follows a new password; `--pooler
/// none` removes it, once.
#[test]
fn a_dead_pooler_is_restarted_kept_without_the_flag_and_removed_with_none() {
    let s = Site::new(&[]);
    // A pooler that died: status says so (2), and a run starts it again.
    let dead = s.pooler_pid();
    assert!(Command::new("kill").arg(&dead).status().unwrap().success());
    let dir = s.dir.to_str().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let st = loop {
        let st = cmd::run(BIN.as_ref(), &["status", "--dir", dir], None);
        if st.code != 0 || std::time::Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    st.expect_error(2, "the pooler in");
    assert_eq!(st.one("provision.status")["pooler"]["status"], "stopped");
    let rec = s.local(&[]).expect_code(0).one("provision.local");
    assert_eq!(actions(&rec), ["start_pooler"], "{rec}");
    let pid = s.pooler_pid();
    let kept = s.local_with(None, &["--rotate-password"]);
    let rec = kept.expect_code(0).one("provision.local");
    assert!(
        kept.stderr.contains("has a pooler and --pooler was not given"),
        "{kept:?}"
    );
    assert_eq!(rec["pooler_port"], s.pooler_port);
    assert_eq!(s.pooler_pid(), pid);
    let pooled = s.env("DATABASE_URL_POOLED");
    let pw = sw_core::conninfo::parse(&s.env("DATABASE_URL")).unwrap()["password"].clone();
    assert!(pooled.contains(&pw), "the pooled URL kept the old password");
    assert_eq!(psql(&pooled, "SELECT current_user").unwrap(), "app");
    let gone = s.local_with(Some("none"), &[]);
    let rec = gone.expect_code(0).one("provision.local");
    assert_eq!(
        actions(&rec),
        ["remove_pooler", "drop_lookup_role", "remove_pooled_url"],
        "{rec}"
    );
    assert_eq!(rec["pooler_port"], Value::Null);
    assert!(!s.dir.join("pgbouncer").exists());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "pgbouncer {pid} still runs: {stat}"
    );
    let env = std::fs::read_to_string(s.dir.join("app.env")).unwrap();
    assert!(!env.contains("DATABASE_URL_POOLED"), "{env}");
    assert_eq!(
        psql(
            &s.env("DATABASE_URL"),
            "SELECT count(*) FROM pg_roles WHERE rolname = 'sw_pgbouncer_lookup'"
        )
        .unwrap(),
        "0"
    );
    let again = s.local_with(Some("none"), &[]);
    assert_eq!(
        again.expect_code(0).one("provision.local")["changed"],
        false,
        "{again:?}"
    );
}
