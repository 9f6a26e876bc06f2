//! sw-health end to end: the real binary against real clusters.

#![allow(clippy::unwrap_used)]

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
    r.expect_code(2);
    let rec = r.one("health.ping");
    assert_eq!(rec["status"], "unreachable");
    assert!(
        r.stderr.starts_with("sw-health: error: connecting to u@127.0.0.1:"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
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
    r.expect_code(64);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("sw-health: error: "));
    health(&["--help"]).expect_code(0);
    health(&["ping", "--help"]).expect_code(0);
}

#[test]
fn a_bad_target_is_a_config_error() {
    let r = health(&["ping", "--db", "sslmdoe=require"]);
    r.expect_code(78);
    let r = health(&["ping", "--env-file", "/nonexistent/app.env"]);
    r.expect_code(66);
}
