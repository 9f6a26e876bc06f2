//! sw-health end to end: the real binary against real clusters.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failed setup step should panic with its cause"
)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::{TestCluster, shared};

const BIN: &str = env!("CARGO_BIN_EXE_sw-health");

fn health(args: &[&str]) -> Run {
    cmd::run(BIN.as_ref(), args, None)
}

fn tls_cluster() -> &'static TestCluster {
    static C: OnceLock<TestCluster> = OnceLock::new();
    C.get_or_init(TestCluster::start_tls)
}

#[test]
fn ping_a_running_cluster_prints_one_record_and_exits_0() {
    let c = shared();
    let r = health(&["ping", "--db", &c.url("postgres")]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    let rec = r.one("health.ping");
    assert_eq!(rec["schema"], 1);
    assert_eq!(rec["status"], "ok");
    assert_eq!(rec["tls"], false);
    assert!(rec["server_version_num"].as_i64().unwrap() >= 100_000);
    assert!(rec["connect_ms"].as_f64().unwrap() > 0.0);
    assert!(rec["rtt_p50_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(rec["samples"], 5);
    assert!(!r.stdout.contains(&c.password));
}

#[test]
fn ping_reports_tls_and_its_version() {
    let c = tls_cluster();
    let r = health(&["ping", "--db", &c.url("postgres"), "--count", "2"]);
    r.expect_code(0);
    let rec = r.one("health.ping");
    assert_eq!(rec["tls"], true);
    assert!(rec["tls_version"].as_str().unwrap().starts_with("TLSv1."));
    // The tls check says what its own session got.
    let st = tempfile::tempdir().unwrap();
    let url = c.url("postgres");
    let r = health(&[
        "--db",
        &url,
        "--checks",
        "tls",
        "--state-dir",
        st.path().to_str().unwrap(),
    ]);
    let tls = &r.one("health.report")["checks"][0];
    assert_eq!(tls["details"]["this_connection"]["ssl"], true, "{tls}");
    assert!(
        tls["message"].as_str().unwrap().ends_with("(this connection: TLS)"),
        "{tls}"
    );
}

#[test]
fn ping_a_closed_port_exits_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = health(&[
        "ping",
        "--db",
        &format!("postgresql://u:pw1234@127.0.0.1:{port}/d"),
        "--connect-timeout",
        "3s",
    ]);
    r.expect_error(2, "connecting to u@127.0.0.1:");
    assert!(r.stderr.starts_with("sw-health: critical: "), "{}", r.stderr);
    let rec = r.one("health.ping");
    assert_eq!(rec["status"], "unreachable");
}

#[test]
fn ping_gives_up_within_the_connect_timeout() {
    // A TEST-NET-1 address (RFC 5737): never answers, so only the timeout ends the attempt.
    let start = Instant::now();
    let r = health(&[
        "ping",
        "--db",
        "postgresql://u@192.0.2.1:5432/d",
        "--connect-timeout",
        "2s",
    ]);
    let took = start.elapsed();
    r.expect_code(2);
    assert!(took < Duration::from_secs(2) + Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_wrong_password_never_reaches_stdout_or_stderr() {
    let c = shared();
    let secret = "N0tTheR1ghtPassw0rd";
    let r = health(&[
        "ping",
        "--db",
        &format!(
            "postgresql://postgres:{secret}@127.0.0.1:{}/postgres?sslmode=disable",
            c.port
        ),
    ]);
    r.expect_code(2);
    assert!(r.stderr.contains("password authentication failed"), "{}", r.stderr);
    assert!(!r.stderr.contains(secret) && !r.stdout.contains(secret), "{r:?}");
}

#[test]
fn targets_resolve_from_env_file_database_url_and_pg_variables() {
    let c = shared();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("app.env");
    std::fs::write(&env_file, format!("OTHER=1\nDATABASE_URL='{}'\n", c.url("postgres"))).unwrap();
    health(&["ping", "--env-file", env_file.to_str().unwrap()]).expect_code(0);

    let r = cmd::run_cmd(
        cmd::command(BIN.as_ref())
            .arg("ping")
            .env("DATABASE_URL", c.url("postgres")),
        None,
    );
    r.expect_code(0);

    let r = cmd::run_cmd(
        cmd::command(BIN.as_ref())
            .arg("ping")
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", c.port.to_string())
            .env("PGUSER", "postgres")
            .env("PGPASSWORD", &c.password)
            .env("PGDATABASE", "postgres")
            .env("PGSSLMODE", "disable"),
        None,
    );
    r.expect_code(0);
    assert_eq!(
        r.one("health.ping")["target"],
        format!("postgres@127.0.0.1:{}/postgres", c.port)
    );

    // A legacy SQLAlchemy URL works as-is.
    let legacy = c.url("postgres").replace("postgresql://", "postgresql+psycopg2://");
    health(&["ping", "--db", &legacy]).expect_code(0);
}

#[test]
fn usage_errors_exit_64_with_one_line_and_help_exits_0() {
    let r = health(&["ping", "--no-such-flag"]);
    r.expect_error(64, "unexpected argument '--no-such-flag'");
    assert!(r.stderr.starts_with("sw-health: error: "));
    health(&["--help"]).expect_code(0);
    health(&["ping", "--help"]).expect_code(0);
    // Absurd durations are refused up front, not a panic in clock arithmetic.
    for flag in ["--deadline", "--check-timeout"] {
        let r = health(&["--db", "postgresql://u@127.0.0.1:1/d", flag, "200000000000000d"]);
        r.expect_error(64, "invalid value '200000000000000d'");
        assert!(r.stderr.contains("too long"), "{}", r.stderr);
    }
}

#[test]
fn a_bad_target_is_a_config_error() {
    let r = health(&["ping", "--db", "sslmdoe=require"]);
    r.expect_error(78, "invalid --db");
    let r = health(&["ping", "--env-file", "/nonexistent/app.env"]);
    r.expect_error(66, "opening \"/nonexistent/app.env\"");
}

// ---------------------------------------------------------------------------
// The check catalogue (`sw-health`, `sw-health check`).

use std::io::Write as _;
use std::process::{Child, Stdio};
use std::sync::Mutex;

use serde_json::Value;
use sw_testkit::pg::Opts;

/// A dedicated cluster for checks provoked for real (archiving fails on purpose);
/// its tests run one at a time.
fn provoke_cluster() -> std::sync::MutexGuard<'static, TestCluster> {
    static C: OnceLock<Mutex<TestCluster>> = OnceLock::new();
    C.get_or_init(|| {
        Mutex::new(TestCluster::start_with(&Opts {
            settings: vec![
                ("archive_mode".into(), "on".into()),
                ("archive_command".into(), "/bin/false".into()),
                ("deadlock_timeout".into(), "200ms".into()),
                ("max_prepared_transactions".into(), "5".into()),
            ],
            ..Opts::default()
        }))
    })
    .lock()
    .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A psql session kept open in the background (stdin is a pipe).
struct Bg(Child);

impl Bg {
    fn open(c: &TestCluster, db: &str) -> Bg {
        let mut cmd = c.runner().command("psql");
        cmd.args(["-X", "-q", "-A", "-t", "-h"])
            .arg(&c.socket_dir)
            .args(["-p", &c.port.to_string(), "-U", "postgres", "-d", db])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Bg(cmd.spawn().unwrap())
    }
    fn send(&mut self, sql: &str) {
        let stdin = self.0.stdin.as_mut().unwrap();
        stdin.write_all(sql.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(c: &TestCluster, db: &str, sql: &str, want: &str) {
    let start = Instant::now();
    loop {
        if c.psql(db, sql) == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited in vain for {sql} = {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

fn report(args: &[&str]) -> (Run, Value) {
    let r = health(args);
    assert!((0..=3).contains(&r.code), "{r:?}");
    let rec = r.one("health.report");
    (r, rec)
}

/// `report` with the arguments most tests share: the target, a state
/// directory and the checks to run, then `extra`.
fn report_on(db: &str, st: &tempfile::TempDir, checks: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec![
        "--db",
        db,
        "--state-dir",
        st.path().to_str().unwrap(),
        "--checks",
        checks,
    ];
    args.extend_from_slice(extra);
    report(&args)
}

#[test]
fn the_default_action_runs_the_whole_catalogue_in_one_record() {
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let url = c.url("postgres");
    let (r, rec) = report(&["--db", &url, "--state-dir", st.path().to_str().unwrap()]);
    assert_eq!(r.stdout.lines().count(), 1);
    assert_eq!(rec["schema"], 1);
    assert_eq!(rec["role"], "primary");
    let names: Vec<&str> = rec["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in [
        "connection",
        "uptime",
        "role",
        "connections",
        "idle_in_transaction",
        "long_query",
        "blocked",
        "deadlocks",
        "failed_sessions",
        "xid_wraparound",
        "mxid_wraparound",
        "replication_lag",
        "replication_slots",
        "archiver",
        "database_size",
        "cache_hit",
        "dead_tuples",
        "autovacuum",
        "sequences",
        "invalid_indexes",
        "prepared_xacts",
        "latency",
        "tls",
        "disk",
        "host_cpu",
        "host_memory",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert_eq!(rec["skipped"], serde_json::json!(["backup_age", "backup_pages"]));
    // The exit code is the worst status (the plain test cluster has ssl off: WARNING).
    assert_eq!(check(&rec, "tls")["status"], "WARNING");
    assert_eq!(check(&rec, "tls")["details"]["this_connection"]["ssl"], false);
    // Host CPU and latency depend on the machine's load: WARNING at least.
    let worst = rec["status"].as_str().unwrap();
    assert!(worst == "WARNING" || worst == "CRITICAL", "{rec}");
    assert_eq!(r.code, if worst == "WARNING" { 1 } else { 2 });
    for c in rec["checks"].as_array().unwrap() {
        assert!(c["unit"].is_string() && c["message"].is_string(), "{c}");
        assert_ne!(c["status"], "UNKNOWN", "{c}");
    }
    assert!(check(&rec, "connections")["value"].as_f64().unwrap() > 0.0);
    assert_eq!(check(&rec, "connections")["warn"], 80.0);
    let xid = check(&rec, "xid_wraparound");
    assert!(xid["value"].as_f64().unwrap() >= 0.0);
    // Where to start vacuuming: the oldest tables of the database checked.
    assert_eq!(xid["details"]["tables_of"], "postgres", "{xid}");
    let tables = xid["details"]["oldest_tables"].as_array().unwrap();
    assert!(!tables.is_empty() && tables[0]["age"].as_f64().unwrap() > 0.0, "{xid}");
    assert!(check(&rec, "mxid_wraparound")["details"]["oldest_tables"].is_array());
    assert!(!r.stdout.contains(&c.password));
    // `check` is the same action; selection and thresholds by flag.
    let (r, rec) = report(&[
        "check",
        "--db",
        &url,
        "--state-dir",
        st.path().to_str().unwrap(),
        "--checks",
        "connections,latency",
        "--crit",
        "connections=0",
    ]);
    assert_eq!(rec["checks"].as_array().unwrap().len(), 2);
    assert_eq!(check(&rec, "connections")["status"], "CRITICAL");
    assert_eq!(r.code, 2);
}

/// The check names `--help` lists (the catalogue, in report order).
fn catalogue_from_help() -> Vec<String> {
    let r = health(&["--help"]);
    r.expect_code(0);
    let list = r.stdout.split_once("Checks (").unwrap().1;
    // `  name (unit, warn/crit): help`, the help maybe wrapped onto more lines.
    list.lines()
        .skip(1)
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("  ")?.split_once(" (")?;
            let ok = name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && rest.contains("): ");
            ok.then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn every_check_in_the_help_runs_or_is_skipped() {
    // A check added to the catalogue is run here without further ado: its
    // query must work on a real server (no UNKNOWN) and it must be reported.
    let mut names = catalogue_from_help();
    assert!(names.len() > 20 && names[0] == "connection", "{names:?}");
    // Azure's own checks run with --azure (tests/by-tool/sw_health_azure.rs).
    // The pooler's run with --pooler-url (tests/by-tool/sw_provision_pooler.rs).
    names.retain(|n| !n.starts_with("azure_") && !n.starts_with("pooler_"));
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let repo = st.path().join("repo");
    sw_core::repo::Repo::init(&repo).unwrap();
    let (r, rec) = report(&[
        "--db",
        &c.url("postgres"),
        "--state-dir",
        st.path().to_str().unwrap(),
        "--backup-repo",
        repo.to_str().unwrap(),
    ]);
    let reported: Vec<&str> = rec["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let skipped: Vec<&str> = rec["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        Vec::<&str>::new(),
        "nothing is skipped on a local primary: {rec}"
    );
    assert_eq!(reported, names, "report order is catalogue order");
    for c in rec["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "UNKNOWN", "{c}");
        // Every field is written, empty ones as null or false.
        for field in ["database", "below", "details", "value", "warn", "crit"] {
            assert!(c.get(field).is_some(), "{field} missing in {c}");
        }
    }
    assert_eq!(check(&rec, "connections")["database"], Value::Null);
    assert_eq!(check(&rec, "connections")["below"], false);
    assert_eq!(check(&rec, "cache_hit")["below"], true);
    assert_eq!(check(&rec, "invalid_indexes")["database"], "postgres");
    assert!((1..=2).contains(&r.code), "{r:?}");
}

/// The pooler checks with a real PgBouncer: tests/by-tool/sw_provision_pooler.rs.
#[test]
fn a_pooler_url_carries_no_password_and_an_unreachable_pooler_is_unknown() {
    let st = tempfile::tempdir().unwrap();
    let sd = st.path().to_str().unwrap();
    let r = health(&[
        "--pooler-url",
        "postgresql://stats:hunter2@127.0.0.1:6432/pgbouncer",
        "--state-dir",
        sd,
    ]);
    r.expect_error(64, "--pooler-url must not carry a password");
    assert!(!r.stderr.contains("hunter2") && r.stdout.is_empty(), "{r:?}");
    let r = health(&["--pooler-url", "host=127.0.0.1 port=1", "--targets", "t.toml"]);
    r.expect_code(64);
    // Nothing listens on the socket directory: every pooler check UNKNOWN, nothing else run.
    let none = format!("host={sd} port=6432 user=nobody");
    let (r, rec) = report(&["--pooler-url", &none, "--state-dir", sd]);
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(rec["target"], format!("nobody@{sd}:6432/pgbouncer"));
    let checks = rec["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 5, "{rec}");
    for c in checks {
        assert!(c["name"].as_str().unwrap().starts_with("pooler_"), "{c}");
        assert_eq!(c["status"], "UNKNOWN", "{c}");
        assert!(c["message"].as_str().unwrap().contains("connecting to nobody@"), "{c}");
    }
}

#[test]
fn thresholds_come_from_a_toml_file_and_flags_win() {
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let file = st.path().join("t.toml");
    std::fs::write(&file, "[connections]\nwarn = 0\ncrit = 99\n\n[latency]\nwarn = 0\n").unwrap();
    let (_, rec) = report_on(
        &c.url("postgres"),
        &st,
        "connections,latency",
        &[
            "--thresholds",
            file.to_str().unwrap(),
            "--warn",
            "latency=none",
            "--crit",
            "latency=none",
        ],
    );
    assert_eq!(check(&rec, "connections")["status"], "WARNING");
    assert_eq!(check(&rec, "connections")["warn"], 0.0);
    assert_eq!(check(&rec, "latency")["status"], "OK");
    assert_eq!(check(&rec, "latency")["warn"], Value::Null);
    std::fs::write(&file, "[nope]\nwarn = 1\n").unwrap();
    let r = health(&["--db", &c.url("postgres"), "--thresholds", file.to_str().unwrap()]);
    r.expect_code(78);
    let r = health(&["--db", &c.url("postgres"), "--checks", "nope"]);
    r.expect_error(64, "unknown check \"nope\" (known: connection, ");
}

#[test]
fn sessions_idle_in_transaction_blocked_and_long_queries_are_seen() {
    let c = provoke_cluster();
    let db = c.fresh_db("blocking");
    c.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)",
    );
    let mut holder = Bg::open(&c, &db);
    holder.send("BEGIN; UPDATE t SET v = 1 WHERE id = 1;");
    wait_for(
        &c,
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND state = 'idle in transaction'"),
        "1",
    );
    let mut waiter = Bg::open(&c, &db);
    waiter.send("UPDATE t SET v = 2 WHERE id = 1;");
    wait_for(
        &c,
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND wait_event_type = 'Lock'"),
        "1",
    );
    std::thread::sleep(Duration::from_millis(300));
    let st = tempfile::tempdir().unwrap();
    let (_, rec) = report_on(
        &c.url(&db),
        &st,
        "idle_in_transaction,blocked,long_query",
        &[
            "--warn",
            "idle_in_transaction=0.1",
            "--crit",
            "blocked=0.1",
            "--warn",
            "long_query=0.1",
        ],
    );
    let idle = check(&rec, "idle_in_transaction");
    assert_eq!(idle["status"], "WARNING", "{idle}");
    assert!(idle["value"].as_f64().unwrap() > 0.1);
    let holder_pid = idle["details"]["oldest_pid"].as_i64().unwrap();
    let blocked = check(&rec, "blocked");
    assert_eq!(blocked["status"], "CRITICAL", "{blocked}");
    assert_eq!(blocked["details"]["blocked"], 1.0);
    assert_eq!(
        blocked["details"]["sessions"][0]["blocked_by"][0], holder_pid,
        "{blocked}"
    );
    assert_eq!(check(&rec, "long_query")["status"], "WARNING");
    drop(waiter);
    drop(holder);
}

#[test]
fn deadlocks_are_a_rate_between_runs() {
    let c = provoke_cluster();
    let db = c.fresh_db("deadlock");
    c.psql(
        &db,
        "CREATE TABLE d (id int PRIMARY KEY, v int); INSERT INTO d VALUES (1, 0), (2, 0)",
    );
    let st = tempfile::tempdir().unwrap();
    let args = |extra: &'static [&'static str]| {
        let mut v = vec![
            "--db".to_owned(),
            c.url(&db),
            "--state-dir".to_owned(),
            st.path().to_str().unwrap().to_owned(),
            "--checks".to_owned(),
            "deadlocks,failed_sessions".to_owned(),
        ];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let a = args(&[]);
    let (_, first) = report(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        check(&first, "deadlocks")["value"],
        Value::Null,
        "first run has no rate yet"
    );
    let before: i64 = c
        .psql("postgres", "SELECT sum(deadlocks) FROM pg_stat_database")
        .parse()
        .unwrap();
    let mut s1 = Bg::open(&c, &db);
    let mut s2 = Bg::open(&c, &db);
    s1.send("BEGIN; UPDATE d SET v = 1 WHERE id = 1;");
    s2.send("BEGIN; UPDATE d SET v = 2 WHERE id = 2;");
    std::thread::sleep(Duration::from_millis(200));
    s1.send("UPDATE d SET v = 1 WHERE id = 2;");
    s2.send("UPDATE d SET v = 2 WHERE id = 1;");
    // One of them is chosen as the victim; statistics are flushed once a session is out of its transaction.
    std::thread::sleep(Duration::from_millis(800));
    s1.send("ROLLBACK;");
    s2.send("ROLLBACK;");
    wait_for(
        &c,
        "postgres",
        &format!("SELECT sum(deadlocks) > {before} FROM pg_stat_database"),
        "t",
    );
    let a = args(&["--warn", "deadlocks=0"]);
    let (_, second) = report(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let d = check(&second, "deadlocks");
    assert!(d["value"].as_f64().unwrap() >= 1.0, "{d}");
    assert_eq!(d["status"], "WARNING");
    assert!(d["details"]["delta"].as_f64().unwrap() >= 1.0);
}

#[test]
fn slots_archiving_sequences_and_invalid_indexes_are_judged() {
    let c = provoke_cluster();
    let db = c.fresh_db("objects");
    c.psql(
        &db,
        "SELECT pg_create_physical_replication_slot('sw_idle_slot', true); \
         CREATE TABLE s (id serial PRIMARY KEY); SELECT setval('s_id_seq', 2100000000); \
         CREATE TABLE s2 (id int); CREATE SEQUENCE s2_seq AS bigint OWNED BY s2.id; \
         SELECT setval('s2_seq', 1900000000); \
         CREATE TABLE u (v int); INSERT INTO u VALUES (1), (1); \
         CREATE TABLE w (x int); INSERT INTO w SELECT generate_series(1, 1000); SELECT pg_switch_wal();",
    );
    let e = c
        .try_psql(&db, "CREATE UNIQUE INDEX CONCURRENTLY u_v ON u (v)")
        .unwrap_err();
    assert!(e.contains("could not create unique index"), "{e}");
    wait_for(&c, "postgres", "SELECT failed_count > 0 FROM pg_stat_archiver", "t");
    let st = tempfile::tempdir().unwrap();
    let (r, rec) = report_on(
        &c.url(&db),
        &st,
        "replication_slots,archiver,sequences,invalid_indexes",
        &[],
    );
    // Inactive, but not yet for the 10 minutes a WARNING needs.
    let slots = check(&rec, "replication_slots");
    assert_eq!(slots["status"], "OK", "{slots}");
    assert_eq!(slots["details"]["inactive"][0], "sw_idle_slot");
    let arch = check(&rec, "archiver");
    assert_eq!(arch["status"], "CRITICAL", "{arch}");
    assert_eq!(arch["details"]["failing"], true);
    let seq = check(&rec, "sequences");
    assert_eq!(seq["status"], "CRITICAL", "{seq}");
    assert_eq!(seq["details"]["sequences"][0]["sequence"], "public.s_id_seq");
    assert_eq!(seq["details"]["sequences"][0]["column_type"], "integer");
    // A bigint sequence feeding an integer column is judged against the column's limit.
    let s2 = seq["details"]["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sequence"] == "public.s2_seq")
        .unwrap();
    assert!(s2["used_pct"].as_f64().unwrap() > 85.0, "{s2}");
    let inv = check(&rec, "invalid_indexes");
    assert_eq!(inv["status"], "WARNING", "{inv}");
    assert_eq!(inv["details"]["indexes"][0], "u_v");
    assert_eq!(r.code, 2);
    // The state file remembers since when: 11 minutes ago makes it a WARNING.
    let state = std::fs::read_dir(st.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let since = v["slots_inactive_since"]["sw_idle_slot"].as_f64().unwrap();
    v["slots_inactive_since"]["sw_idle_slot"] = serde_json::json!(since - 660.0);
    std::fs::write(&state, v.to_string()).unwrap();
    let (_, rec) = report_on(&c.url(&db), &st, "replication_slots", &[]);
    let slots = check(&rec, "replication_slots");
    assert_eq!(slots["status"], "WARNING", "{slots}");
    let idle = slots["details"]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot"] == "sw_idle_slot")
        .unwrap();
    assert!(idle["inactive_s"].as_f64().unwrap() >= 600.0, "{slots}");
    c.psql(&db, "SELECT pg_drop_replication_slot('sw_idle_slot')");
}

#[test]
fn a_server_that_connects_but_does_not_answer_is_critical_with_a_report() {
    let c = provoke_cluster();
    let db = c.fresh_db("noanswer");
    // Something holds a lock every session needs for the server facts.
    let mut holder = Bg::open(&c, &db);
    holder.send("BEGIN; LOCK TABLE pg_catalog.pg_stat_ssl IN ACCESS EXCLUSIVE MODE;");
    wait_for(
        &c,
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND state = 'idle in transaction'"),
        "1",
    );
    let st = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let r = health(&["--db", &c.url(&db), "--state-dir", st.path().to_str().unwrap()]);
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(r.code, 2, "{r:?}");
    let rec = r.one("health.report");
    let conn = check(&rec, "connection");
    assert_eq!(conn["status"], "CRITICAL", "{rec}");
    assert!(conn["value"].is_null(), "{rec}");
    assert!(conn["message"].as_str().unwrap().contains("does not answer"), "{rec}");
    assert_eq!(rec["skipped"], serde_json::json!([]), "{rec}");
    drop(holder);
}

#[test]
fn a_check_stuck_behind_a_lock_is_unknown_and_the_others_still_run() {
    let c = provoke_cluster();
    let db = c.fresh_db("locked");
    c.psql(&db, "CREATE SEQUENCE q");
    let mut holder = Bg::open(&c, &db);
    holder.send("BEGIN; ALTER SEQUENCE q RESTART;");
    wait_for(
        &c,
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND state = 'idle in transaction'"),
        "1",
    );
    let st = tempfile::tempdir().unwrap();
    let url = c.url(&db);
    let base = [
        "--db",
        &url,
        "--state-dir",
        st.path().to_str().unwrap(),
        "--checks",
        "sequences,invalid_indexes",
    ];
    let t = Instant::now();
    let (r, rec) = report(&base);
    assert!(t.elapsed() < Duration::from_secs(20));
    let seq = check(&rec, "sequences");
    assert_eq!(seq["status"], "UNKNOWN", "{seq}");
    assert!(seq["message"].as_str().unwrap().contains("lock timeout"), "{seq}");
    assert_eq!(check(&rec, "invalid_indexes")["status"], "OK");
    assert_eq!(r.code, 3);
    // A per-check statement timeout shorter than the lock timeout: timed out, not retried.
    let mut args = base.to_vec();
    args.extend(["--check-timeout", "20ms"]);
    let (_, rec) = report(&args);
    let seq = check(&rec, "sequences");
    assert_eq!(seq["status"], "UNKNOWN");
    assert!(seq["message"].as_str().unwrap().starts_with("timed out"), "{seq}");
    drop(holder);
}

#[test]
fn all_databases_runs_the_per_database_checks_everywhere() {
    let c = provoke_cluster();
    let db = c.fresh_db("alldbs");
    let st = tempfile::tempdir().unwrap();
    let (_, rec) = report_on(
        &c.url("postgres"),
        &st,
        "invalid_indexes,connections",
        &["--all-databases"],
    );
    let dbs: Vec<&str> = rec["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(dbs.contains(&"postgres") && dbs.contains(&db.as_str()), "{dbs:?}");
    let per: Vec<&Value> = rec["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "invalid_indexes")
        .collect();
    assert_eq!(per.len(), dbs.len());
    assert!(per.iter().any(|c| c["database"] == db.as_str()));
    assert_eq!(
        rec["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == "connections")
            .count(),
        1
    );
}

/// Parse one perfdata item per the monitoring plugin API.
fn perf_ok(item: &str) -> bool {
    let Some((label, rest)) = item.rsplit_once('=') else {
        return false;
    };
    let label_ok = if label.starts_with('\'') {
        label.len() >= 2 && label.ends_with('\'')
    } else {
        !label.is_empty() && !label.contains([' ', '\'', '='])
    };
    let mut parts = rest.split(';');
    let value = parts.next().unwrap_or("");
    let num_end = value
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == '-'))
        .unwrap_or(value.len());
    let (num, uom) = value.split_at(num_end);
    let num_ok = num.parse::<f64>().is_ok() && !num.contains(',');
    let uom_ok = ["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"].contains(&uom);
    let rest: Vec<&str> = parts.collect();
    let ranges_ok = rest.len() <= 4
        && rest.iter().all(|r| {
            r.is_empty()
                || r.trim_start_matches('@')
                    .split(':')
                    .all(|x| x.is_empty() || x == "~" || x.parse::<f64>().is_ok())
        });
    label_ok && num_ok && uom_ok && ranges_ok
}

#[test]
fn nagios_output_follows_the_plugin_api() {
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let r = health(&[
        "--db",
        &c.url("postgres"),
        "--state-dir",
        st.path().to_str().unwrap(),
        "--format",
        "nagios",
        "--skip",
        "tls",
    ]);
    let first = r.stdout.lines().next().unwrap();
    let (head, perf) = first
        .split_once(" | ")
        .unwrap_or_else(|| panic!("no perfdata: {first}"));
    let status = head.strip_prefix("SW-HEALTH ").unwrap().split(':').next().unwrap();
    let code = match status {
        "OK" => 0,
        "WARNING" => 1,
        "CRITICAL" => 2,
        "UNKNOWN" => 3,
        s => panic!("bad status {s}"),
    };
    assert_eq!(r.code, code, "{r:?}");
    for item in perf.split(' ') {
        assert!(perf_ok(item), "bad perfdata item {item:?} in {first}");
    }
    assert!(perf.contains("connections="), "{perf}");
    assert!(perf.contains(";80;95;0;100"), "{perf}");
    // Long text: one line per check after the status line.
    assert!(
        r.stdout.lines().skip(1).any(|l| l.starts_with("connections ")),
        "{}",
        r.stdout
    );
    // Unreachable: CRITICAL, exit 2, still one status line.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = health(&[
        "--db",
        &format!("postgresql://u:pw@127.0.0.1:{port}/d"),
        "--state-dir",
        st.path().to_str().unwrap(),
        "--format",
        "nagios",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.starts_with("SW-HEALTH CRITICAL: connection CRITICAL: "),
        "{}",
        r.stdout
    );
    // A bad target is UNKNOWN (3) per the plugin API.
    let r = health(&[
        "--db",
        "sslmdoe=require",
        "--format",
        "nagios",
        "--state-dir",
        st.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.starts_with("SW-HEALTH UNKNOWN: "));
    // So are bad arguments.
    for bad in [
        &["--format", "nagios", "--no-such-flag"][..],
        &["--format=nagios", "--deadline", "forever"][..],
    ] {
        let r = health(bad);
        assert_eq!(r.code, 3, "{r:?}");
        assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
        assert!(r.stdout.starts_with("SW-HEALTH UNKNOWN: "), "{r:?}");
    }
    health(&["--format", "nagios", "--help"]).expect_code(0);
}

#[test]
fn an_unreachable_server_is_critical_and_lists_no_check_as_skipped() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let st = tempfile::tempdir().unwrap();
    let r = health(&[
        "--db",
        &format!("postgresql://u:pw@127.0.0.1:{port}/d"),
        "--state-dir",
        st.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    let rec = r.one("health.report");
    assert_eq!(rec["status"], "CRITICAL");
    let checks = rec["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{rec}");
    assert_eq!(checks[0]["name"], "connection");
    assert!(checks[0]["value"].is_null());
    // Not "skipped" (that means: does not apply, and resolves alerts downstream).
    assert_eq!(rec["skipped"], serde_json::json!([]), "{rec}");
}

#[test]
fn a_reader_that_goes_away_is_not_an_internal_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let st = tempfile::tempdir().unwrap();
    let db = format!("postgresql://u:pw@127.0.0.1:{port}/d");
    for format in ["prometheus", "nagios", "json"] {
        let mut child = cmd::command(BIN.as_ref())
            .args(["--db", &db, "--state-dir", st.path().to_str().unwrap()])
            .args(["--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(!stderr.contains("internal error"), "{format}: {stderr}");
    }
}

#[test]
fn the_prometheus_file_is_never_seen_half_written() {
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("sw_health.prom");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let prom = prom.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(text) = std::fs::read_to_string(&prom) {
                    assert!(text.ends_with('\n'), "half-written: {text:?}");
                    assert!(text.starts_with("# HELP sw_health_up "), "{text}");
                    // connections and sequences are shares: the ratio family (base units).
                    assert!(text.contains("sw_health_check_ratio{"), "{text}");
                    for l in text.lines().filter(|l| !l.starts_with('#')) {
                        let v = l.rsplit_once(' ').unwrap().1;
                        assert!(v.parse::<f64>().is_ok(), "bad sample {l:?}");
                    }
                    seen += 1;
                }
            }
            seen
        })
    };
    for _ in 0..8 {
        let r = health(&[
            "--db",
            &c.url("postgres"),
            "--state-dir",
            st.path().to_str().unwrap(),
            "--format",
            "prometheus",
            "--prom-file",
            prom.to_str().unwrap(),
            "--checks",
            "connection,connections,latency,sequences",
        ]);
        // Thresholds may trip on a loaded machine; the file must be written either way.
        assert!(r.code <= 2, "{r:?}");
        assert!(r.stdout.is_empty());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["sw_health.prom".to_owned()], "temp files left behind");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("sw_health_check_status{instance=\""), "{text}");
    // A cluster-wide check has no database label (Prometheus reads "" as absent anyway).
    assert!(text.contains(",check=\"connections\"} 0"), "{text}");
}

#[test]
fn overlapping_runs_do_not_pile_up() {
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let url = c.url("postgres");
    let args = [
        "--db",
        url.as_str(),
        "--state-dir",
        st.path().to_str().unwrap(),
        "--checks",
        "connection",
    ];
    assert!(health(&args).code <= 2);
    let lock = std::fs::read_dir(st.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "lock"))
        .unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    f.lock().unwrap();
    let r = health(&args);
    r.expect_error(75, "another sw-health run for this target is running");
    drop(f);
    assert!(health(&args).code <= 2);
}

#[test]
fn a_standby_with_replay_paused_shows_its_lag_on_both_sides() {
    let c = provoke_cluster();
    let sb = c.start_standby(&[("max_prepared_transactions", "5")]);
    c.psql("postgres", "CREATE TABLE lag_one (x int)");
    sb.wait_until("SELECT to_regclass('lag_one') IS NOT NULL");
    sb.psql("SELECT pg_wal_replay_pause()");
    std::thread::sleep(Duration::from_millis(1200));
    c.psql("postgres", "CREATE TABLE lag_two AS SELECT generate_series(1, 10000) g");
    sb.wait_until("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()");
    let st = tempfile::tempdir().unwrap();
    let standby_url = format!(
        "postgresql://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable",
        c.password, sb.port
    );
    let (_, rec) = report_on(
        &standby_url,
        &st,
        "role,replication_lag,archiver",
        &["--warn", "replication_lag=0.5"],
    );
    assert_eq!(rec["role"], "standby");
    assert_eq!(check(&rec, "role")["value"], 1.0);
    let lag = check(&rec, "replication_lag");
    assert_eq!(lag["status"], "WARNING", "{lag}");
    assert!(lag["value"].as_f64().unwrap() > 0.5, "{lag}");
    assert_eq!(lag["details"]["replay_paused"], true);
    assert!(lag["details"]["replay_bytes"].as_f64().unwrap() > 0.0, "{lag}");
    // The primary sees the standby behind in bytes.
    let (_, rec) = report_on(&c.url("postgres"), &st, "replication_lag", &[]);
    let lag = check(&rec, "replication_lag");
    let standbys = lag["details"]["standbys"].as_array().unwrap();
    assert_eq!(standbys.len(), 1, "{lag}");
    assert!(standbys[0]["replay_lag_bytes"].as_f64().unwrap() > 0.0, "{lag}");
    sb.psql("SELECT pg_wal_replay_resume()");
}

#[test]
fn backup_age_comes_from_the_newest_complete_backup_in_the_repository() {
    use sw_core::repo::{Repo, manifest::BackupManifest, wal::Lsn};
    let c = shared();
    let st = tempfile::tempdir().unwrap();
    let root = st.path().join("repo");
    let repo = Repo::init(&root).unwrap();
    let url = c.url("postgres");
    let run = || report_on(&url, &st, "backup_age", &["--backup-repo", root.to_str().unwrap()]);
    let (r, rec) = run();
    let b = check(&rec, "backup_age");
    assert_eq!(b["status"], "CRITICAL", "{b}");
    assert!(b["message"].as_str().unwrap().starts_with("no complete backup"), "{b}");
    assert_eq!(r.code, 2);
    let area = repo.ensure_area("7000000000000000001", 15, 16 * 1024 * 1024).unwrap();
    let stop = chrono::Utc::now() - chrono::Duration::hours(30);
    for (id, age_h) in [("20260101T000000Z", 60_u32), ("20260102T000000Z", 30)] {
        let stop_time = chrono::Utc::now() - chrono::Duration::hours(i64::from(age_h));
        let m = BackupManifest {
            format: 1,
            id: id.into(),
            label: None,
            pinned: false,
            system_identifier: "7000000000000000001".into(),
            pg_version_num: 150_000,
            pg_major: 15,
            timeline: 1,
            start_lsn: Lsn(0x100_0000 * u64::from(70 - age_h)),
            stop_lsn: Lsn(0x100_0000 * u64::from(70 - age_h) + 100),
            start_time: stop_time,
            stop_time,
            wal_segment_size: 16 * 1024 * 1024,
            start_wal: "000000010000000000000001".into(),
            stop_wal: "000000010000000000000001".into(),
            method: "pg_basebackup".into(),
            database_bytes: 1,
            stored_bytes: 1,
            files: vec![],
            page_checks: None,
            chunked: None,
        };
        let dir = area.backup_dir().join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    }
    let (_, rec) = run();
    let b = check(&rec, "backup_age");
    assert_eq!(b["details"]["backup"], "20260102T000000Z", "{b}");
    let age = b["value"].as_f64().unwrap();
    let want = (chrono::Utc::now() - stop).num_seconds() as f64;
    assert!((age - want).abs() < 600.0, "{age} vs {want}");
    assert_eq!(b["status"], "WARNING", "30 h is past the 26 h warning: {b}");
    // A repository that is not there: UNKNOWN, not OK.
    let (_, rec) = report_on(&url, &st, "backup_age", &["--backup-repo", "/nonexistent/repo"]);
    assert_eq!(check(&rec, "backup_age")["status"], "UNKNOWN");
}

#[test]
fn dead_tuples_vacuum_debt_and_old_prepared_transactions_are_seen() {
    let c = provoke_cluster();
    let db = c.fresh_db("dead");
    c.psql(
        &db,
        "CREATE TABLE dt (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false); \
         INSERT INTO dt SELECT g, md5(g::text) FROM generate_series(1, 40000) g; \
         DELETE FROM dt WHERE id % 2 = 0; \
         CREATE TABLE px (x int); BEGIN; INSERT INTO px VALUES (1); PREPARE TRANSACTION 'sw_px';",
    );
    wait_for(
        &c,
        &db,
        "SELECT coalesce(n_dead_tup, 0) >= 20000 FROM pg_stat_user_tables WHERE relname = 'dt'",
        "t",
    );
    let st = tempfile::tempdir().unwrap();
    let (_, rec) = report_on(
        &c.url(&db),
        &st,
        "dead_tuples,autovacuum,prepared_xacts",
        &["--warn", "prepared_xacts=0", "--warn", "autovacuum=0"],
    );
    let dead = check(&rec, "dead_tuples");
    assert_eq!(dead["status"], "CRITICAL", "{dead}");
    assert_eq!(dead["details"]["tables"][0]["table"], "public.dt");
    assert!((dead["value"].as_f64().unwrap() - 50.0).abs() < 5.0, "{dead}");
    let av = check(&rec, "autovacuum");
    assert_eq!(av["details"]["tables"][0]["table"], "public.dt", "{av}");
    assert_eq!(av["status"], "WARNING", "{av}");
    let px = check(&rec, "prepared_xacts");
    assert_eq!(px["status"], "WARNING", "{px}");
    assert_eq!(px["details"]["oldest_gid"], "sw_px");
    c.psql(&db, "ROLLBACK PREPARED 'sw_px'");
}

#[test]
fn a_restart_between_runs_is_visible() {
    let c = provoke_cluster();
    let st = tempfile::tempdir().unwrap();
    let url = c.url("postgres");
    let args = [
        "--db",
        url.as_str(),
        "--state-dir",
        st.path().to_str().unwrap(),
        "--checks",
        "uptime",
    ];
    let (_, rec) = report(&args);
    assert_eq!(check(&rec, "uptime")["details"]["restarted_since_last_run"], false);
    c.stop();
    c.restart();
    let (r, rec) = report(&args);
    let up = check(&rec, "uptime");
    assert_eq!(up["status"], "WARNING", "{up}");
    assert_eq!(up["details"]["restarted_since_last_run"], true);
    assert_eq!(r.code, 1);
    let (_, rec) = report(&args);
    assert_eq!(check(&rec, "uptime")["status"], "OK");
}

// ---- a fleet: --targets, --parallel ----

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A JSON Lines targets file: 19 databases of the shared cluster (with
/// labels) and one target nobody listens on; returns (file, its directory).
fn twenty_targets() -> (tempfile::TempDir, std::path::PathBuf, u16) {
    let c = shared();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..19 {
        let db = c.fresh_db(&format!("fleet{i}"));
        let team = if i % 2 == 0 { "a" } else { "b" };
        let e = serde_json::json!({"instance": format!("db{i:02}"), "url": c.url(&db), "labels": {"env": "test", "team": team}});
        text.push_str(&format!("{e}\n"));
    }
    let port = closed_port();
    let e =
        serde_json::json!({"url": format!("postgresql://u:pw1234@127.0.0.1:{port}/gone"), "labels": {"env": "test"}});
    text.push_str(&format!("{e}\n"));
    let p = dir.path().join("targets.jsonl");
    std::fs::write(&p, text).unwrap();
    (dir, p, port)
}

#[test]
fn twenty_targets_one_unreachable_give_twenty_reports_in_every_format() {
    let (dir, targets, port) = twenty_targets();
    let st = dir.path().join("state");
    let gone = format!("u@127.0.0.1:{port}/gone");
    let base = [
        "--targets",
        targets.to_str().unwrap(),
        "--parallel",
        "4",
        "--connect-timeout",
        "3s",
        "--state-dir",
        st.to_str().unwrap(),
        "--checks",
        "connection,connections,database_size,xid_wraparound",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        health(&args)
    };
    let r = run(&[]);
    assert_eq!(r.code, 2, "the worst is the unreachable one's CRITICAL\n{r:?}");
    assert!(
        r.stderr.contains("of 20 targets not OK: ") && r.stderr.contains(&gone),
        "{}",
        r.stderr
    );
    let reports: Vec<Value> = r
        .records()
        .into_iter()
        .filter(|v| v["kind"] == "health.report")
        .collect();
    assert_eq!(reports.len(), 20, "{r:?}");
    for (i, rep) in reports.iter().take(19).enumerate() {
        assert_eq!(rep["target"], format!("db{i:02}"), "in the targets file's order");
        assert_eq!(rep["labels"]["team"], if i % 2 == 0 { "a" } else { "b" });
        let conn = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "connection")
            .unwrap();
        assert!(conn["value"].is_number(), "db{i:02} reached: {rep}");
    }
    let down = &reports[19];
    assert_eq!(
        (down["target"].as_str(), down["status"].as_str()),
        (Some(gone.as_str()), Some("CRITICAL"))
    );
    assert_eq!(down["labels"], serde_json::json!({"env": "test"}));
    assert!(!r.stdout.contains("pw1234"));

    let n = run(&["--format", "nagios"]);
    assert_eq!(n.code, 2, "{n:?}");
    let first = n.stdout.lines().next().unwrap();
    assert!(first.starts_with("SW-HEALTH CRITICAL: 20 targets, "), "{first}");
    for i in 0..19 {
        let inst = format!("db{i:02}");
        assert!(
            n.stdout.lines().any(|l| l.starts_with(&format!("{inst} connection "))),
            "{inst}\n{}",
            n.stdout
        );
        assert!(
            first.contains(&format!(" {inst}/connection=")),
            "{inst} perfdata: {first}"
        );
    }
    assert!(
        n.stdout.contains(&format!("{gone} connection CRITICAL: ")),
        "{}",
        n.stdout
    );

    let p = run(&["--format", "prometheus"]);
    assert_eq!(p.code, 2, "{p:?}");
    for i in 0..19 {
        let team = if i % 2 == 0 { "a" } else { "b" };
        let up = format!("sw_health_up{{instance=\"db{i:02}\",env=\"test\",team=\"{team}\"}} 1");
        assert!(p.stdout.lines().any(|l| l == up), "{up}\n{}", p.stdout);
    }
    let down = format!("sw_health_up{{instance=\"{gone}\",env=\"test\"}} 0");
    assert!(p.stdout.lines().any(|l| l == down), "{down}\n{}", p.stdout);
    assert!(p.stdout.contains(&format!(
        "sw_health_check_status{{instance=\"{gone}\",env=\"test\",check=\"connection\"}} 2"
    )));
}

#[test]
fn in_a_fleet_a_target_that_fails_is_a_critical_report_not_an_exit() {
    let c = shared();
    let dir = tempfile::tempdir().unwrap();
    let ok = c.fresh_db("fleet_ok");
    let toml = format!(
        "[[target]]\ninstance = \"ok\"\nurl = \"{}\"\n\n[[target]]\ninstance = \"missing\"\nurl = \"{}\"\n",
        c.url(&ok),
        c.url("no_such_database")
    );
    let p = dir.path().join("targets.toml");
    std::fs::write(&p, toml).unwrap();
    let st = dir.path().join("state");
    let r = health(&[
        "--targets",
        p.to_str().unwrap(),
        "--state-dir",
        st.to_str().unwrap(),
        "--checks",
        "connection",
    ]);
    // Alone, a database that does not exist is exit 78; in a fleet it is that target's CRITICAL report.
    assert_eq!(r.code, 2, "{r:?}");
    let reports: Vec<Value> = r.records();
    assert_eq!(reports.len(), 2, "{r:?}");
    assert_eq!(reports[1]["target"], "missing");
    assert_eq!(reports[1]["status"], "CRITICAL");
    let msg = reports[1]["checks"][0]["message"].as_str().unwrap();
    assert!(msg.contains("no_such_database"), "{msg}");
    // A bad targets file is a configuration error before anything connects.
    std::fs::write(&p, "[[target]]\nurl = \"postgresql://a/b\"\nenv_file = \"x\"\n").unwrap();
    health(&["--targets", p.to_str().unwrap()]).expect_error(
        78,
        &format!(
            "{:?}: target 1: give exactly one of url and env_file",
            p.display().to_string()
        ),
    );
    health(&["--targets", p.to_str().unwrap(), "--db", "postgresql://a/b"]).expect_code(64);
}

/// The cluster-wide checks run once per server in a sweep (check::share),
/// so what each target's report says of them must be its own server's: a
/// database only one server has shows in that server's targets alone.
#[test]
fn in_a_fleet_each_target_has_its_own_servers_cluster_wide_checks() {
    let (a, b) = (shared(), tls_cluster());
    let dir = tempfile::tempdir().unwrap();
    let (a1, a2, b1) = (a.fresh_db("share_a1"), a.fresh_db("share_a2"), b.fresh_db("share_b1"));
    let toml = format!(
        "[[target]]\ninstance = \"a1\"\nurl = \"{}\"\n\n[[target]]\ninstance = \"b1\"\nurl = \"{}\"\n\n\
         [[target]]\ninstance = \"a2\"\nurl = \"{}\"\n",
        a.url(&a1),
        b.url(&b1),
        a.url(&a2)
    );
    let p = dir.path().join("targets.toml");
    std::fs::write(&p, toml).unwrap();
    let st = dir.path().join("state");
    let r = health(&[
        "--targets",
        p.to_str().unwrap(),
        "--parallel",
        "3",
        "--state-dir",
        st.to_str().unwrap(),
        "--checks",
        "connection,database_size,replication_lag,archiver,xid_wraparound",
    ]);
    let reports: Vec<Value> = r.records();
    assert_eq!(reports.len(), 3, "{r:?}");
    let own = [("a1", &a1), ("b1", &b1), ("a2", &a2)];
    for rep in &reports {
        let inst = rep["target"].as_str().unwrap();
        let checks = rep["checks"].as_array().unwrap();
        let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "connection",
                "xid_wraparound",
                "replication_lag",
                "archiver",
                "database_size"
            ],
            "{inst}: every server-wide check in every report, in catalogue order\n{rep}"
        );
        let size = checks.iter().find(|c| c["name"] == "database_size").unwrap();
        let dbs = &size["details"]["databases"];
        let on_a = inst.starts_with('a');
        assert_eq!(dbs.get(&a1).is_some(), on_a, "{inst}: {dbs}");
        assert_eq!(dbs.get(&b1).is_some(), !on_a, "{inst}: {dbs}");
        // Server-wide age, but the tables it names are the target's own
        // database's: never copied from another target on the server.
        let xid = checks.iter().find(|c| c["name"] == "xid_wraparound").unwrap();
        let mine = own.iter().find(|(i, _)| *i == inst).unwrap().1;
        assert_eq!(xid["details"]["tables_of"], mine.as_str(), "{inst}: {xid}");
    }
}
