//! sw-health load end to end: the real binary against a real cluster.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failed setup step should panic with its cause"
)]

use std::sync::{Mutex, MutexGuard, OnceLock};
use sw_testkit::cmd::{self, Run};

use sw_testkit::pg::{Opts, TestCluster};

const BIN: &str = env!("CARGO_BIN_EXE_sw-health");

fn health(args: &[&str]) -> Run {
    cmd::run(BIN.as_ref(), args, None)
}

/// A cluster with room for 60 clients plus the set-up session; one load
/// test at a time, so each sees every connection slot and both cores.
fn cluster() -> MutexGuard<'static, TestCluster> {
    static C: OnceLock<Mutex<TestCluster>> = OnceLock::new();
    C.get_or_init(|| {
        Mutex::new(TestCluster::start_with(&Opts {
            settings: vec![("max_connections".into(), "100".into())],
            ..Opts::default()
        }))
    })
    .lock()
    .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn scratch_tables(c: &TestCluster) -> String {
    c.psql(
        "postgres",
        "SELECT count(*) FROM pg_class WHERE relname LIKE 'sw\\_load\\_%'",
    )
}

#[test]
fn sixty_clients_closed_loop_report_acquisition_latency_and_no_errors() {
    let c = cluster();
    let r = health(&[
        "load",
        "--db",
        &c.url("postgres"),
        "--clients",
        "60",
        "--duration",
        "2s",
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    let rec = r.one("health.load");
    assert_eq!(rec["schema"], 1);
    assert_eq!(rec["mode"], "closed");
    assert_eq!(rec["workload"], "builtin");
    assert_eq!(rec["clients"], 60);
    assert_eq!(rec["connected"], 60);
    assert_eq!(rec["errors"], 0, "{rec}");
    assert!(rec["errors_by_sqlstate"].as_object().unwrap().is_empty());
    assert_eq!(rec["acquisition"]["count"], 60);
    let acq = &rec["acquisition"];
    assert!(acq["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(acq["p50_ms"].as_f64() <= acq["max_ms"].as_f64());
    let lat = &rec["latency"];
    let requests = rec["requests"].as_u64().unwrap();
    assert!(requests > 100, "{rec}");
    assert_eq!(lat["count"].as_u64().unwrap(), requests);
    let p = |k: &str| lat[k].as_f64().unwrap();
    assert!(
        p("p50_ms") > 0.0 && p("p50_ms") <= p("p95_ms") && p("p95_ms") <= p("p99_ms") && p("p99_ms") <= p("max_ms")
    );
    assert!(rec["throughput_rps"].as_f64().unwrap() > 0.0);
    assert!(rec["client_cpu_ms"].as_f64().unwrap() > 0.0);
    assert!(rec["verdict"].is_null());
    assert!(r.stderr.contains("sw-health load: 60 clients"), "{}", r.stderr);
    assert!(!r.stdout.contains(&c.password));
    assert_eq!(scratch_tables(&c), "0", "the scratch table is dropped");
}

#[test]
fn open_loop_sends_the_scheduled_requests_and_judges_targets() {
    let c = cluster();
    let r = health(&[
        "load",
        "--db",
        &c.url("postgres"),
        "--clients",
        "4",
        "--duration",
        "2s",
        "--rate",
        "100",
        "--target-rps",
        "10",
        "--target-p95",
        "1s",
        "--target-acquisition",
        "5s",
    ]);
    r.expect_code(0);
    let rec = r.one("health.load");
    assert_eq!(rec["mode"], "open");
    assert_eq!(rec["rate"], 100.0);
    assert_eq!(
        rec["requests"].as_u64().unwrap() + rec["unsent"].as_u64().unwrap(),
        200,
        "{rec}"
    );
    assert_eq!(rec["verdict"], "ok");

    // A target no server can meet: CRITICAL, naming it.
    let r = health(&[
        "load",
        "-q",
        "--db",
        &c.url("postgres"),
        "--clients",
        "2",
        "--duration",
        "1s",
        "--target-p95",
        "0.001ms",
    ]);
    r.expect_error(2, "missed target: p95 ");
    let rec = r.one("health.load");
    assert_eq!(rec["verdict"], "critical");
    assert!(rec["missed"][0].as_str().unwrap().starts_with("p95 "), "{rec}");
}

#[test]
fn a_failing_sql_file_counts_errors_by_sqlstate() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.sql");
    std::fs::write(&f, "SELECT 1 / (random() * 0)::int").unwrap();
    let r = health(&[
        "load",
        "--db",
        &c.url("postgres"),
        "--clients",
        "3",
        "--duration",
        "1s",
        "--sql",
        f.to_str().unwrap(),
        "--targets",
        "--target-rps",
        "0",
        "--target-p95",
        "10s",
        "--target-acquisition",
        "10s",
    ]);
    // Every target met, every request failed: WARNING.
    r.expect_code(1);
    assert!(r.stderr.contains("sw-health: warning: "), "{}", r.stderr);
    let rec = r.one("health.load");
    assert_eq!(rec["requests"], 0);
    let errors = rec["errors"].as_u64().unwrap();
    assert!(errors > 0, "{rec}");
    assert_eq!(rec["errors_by_sqlstate"]["22012"].as_u64().unwrap(), errors, "{rec}");
    assert_eq!(rec["verdict"], "warning");
    assert!(r.stderr.contains("errors 22012: "), "{}", r.stderr);
}

#[test]
fn bad_flags_exit_64_and_no_client_connecting_exits_69() {
    let c = cluster();
    let db = c.url("postgres");
    for bad in [
        &["--clients", "0"][..],
        &["--clients", "1001"],
        &["--duration", "11m"],
        &["--duration", "0s"],
        &["--rate", "-5"],
        &["--target-p95", "fast"],
    ] {
        let mut args = vec!["load", "--db", &db];
        args.extend_from_slice(bad);
        let r = health(&args);
        r.expect_code(64);
        assert!(r.stdout.is_empty(), "{bad:?}: {r:?}");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.sql");
    std::fs::write(&f, "SELECT 1").unwrap();
    let r = health(&[
        "load",
        "--db",
        &format!("postgresql://u:pw1234@127.0.0.1:{port}/d"),
        "--clients",
        "2",
        "--duration",
        "1s",
        "--sql",
        f.to_str().unwrap(),
    ]);
    r.expect_error(69, "no client could connect");
}

#[test]
fn open_loop_latency_counts_from_the_schedule_so_a_slow_server_shows() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("slow.sql");
    std::fs::write(&f, "SELECT pg_sleep(0.2)").unwrap();
    // One client, 20 requests/s scheduled, each taking 200 ms: the client
    // falls behind at once, and each answer is later than the last against
    // its schedule (closed loop would say 200 ms every time).
    let r = health(&[
        "load",
        "-q",
        "--db",
        &c.url("postgres"),
        "--clients",
        "1",
        "--duration",
        "1s",
        "--rate",
        "20",
        "--sql",
        f.to_str().unwrap(),
    ]);
    r.expect_code(0);
    let rec = r.one("health.load");
    let sent = rec["requests"].as_u64().unwrap();
    assert!((3..=6).contains(&sent), "{rec}");
    assert_eq!(sent + rec["unsent"].as_u64().unwrap(), 20, "{rec}");
    assert!(rec["latency"]["max_ms"].as_f64().unwrap() > 500.0, "{rec}");
    assert!(rec["latency"]["p50_ms"].as_f64().unwrap() > 250.0, "{rec}");
}
