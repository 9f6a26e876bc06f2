//! `sw-health --azure` against the test kit's fake Resource Manager
//! serving the official examples (ServersGet, BackupListByServer, the
//! metrics answer in GetMetric's shape and GetMetricError's failing
//! metric): the one metrics request, per-check UNKNOWNs, throttling, the
//! merge with the SQL checks, the output formats, and the CPU alert through
//! `sw-alerts eval`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failed setup step should panic with its cause"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sw_testkit::azure::{FakeArm, FakeMetric, SUBSCRIPTION};
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-health");
const RG: &str = "exampleresourcegroup";

/// The metrics the issue names, each with the aggregation Azure Monitor's
/// baseline alerts use for it.
const WANTED: &[(&str, &str)] = &[
    ("cpu_percent", "average"),
    ("memory_percent", "average"),
    ("storage_percent", "average"),
    ("iops", "average"),
    ("active_connections", "average"),
    ("connections_failed", "total"),
    ("deadlocks", "total"),
    ("physical_replication_delay_in_seconds", "maximum"),
    ("maximum_used_transactionIDs", "maximum"),
    ("client_connections_waiting", "average"),
];

fn id(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
    )
}

fn example(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(sw_testkit::fixture(&format!("azure-arm/{file}"))).unwrap()).unwrap()
}

fn rfc3339(ago: Duration) -> String {
    (chrono::Utc::now() - ago).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A fake holding `exampleserver` (ServersGet), its two example backups
/// finished an hour ago, and healthy metric values.
fn fake() -> FakeArm {
    let fake = FakeArm::start();
    let mut server = example("postgresql/ServersGet.json")["responses"]["200"]["body"].clone();
    server["properties"]["backup"]["earliestRestoreDate"] = json!(rfc3339(Duration::from_secs(7 * 86_400)));
    fake.insert(&id("exampleserver"), server);
    for b in example("postgresql/BackupListByServer.json")["responses"]["200"]["body"]["value"]
        .as_array()
        .unwrap()
    {
        let mut b = b.clone();
        b["properties"]["completedTime"] = json!(rfc3339(Duration::from_secs(3600)).replace('Z', "+00:00"));
        let name = b["name"].as_str().unwrap().to_owned();
        fake.insert(&format!("{}/backups/{name}", id("exampleserver")), b);
    }
    fake.with(|s| {
        for (k, v) in [
            ("cpu_percent", 35.0),
            ("memory_percent", 40.0),
            ("storage_percent", 50.0),
            ("iops", 120.0),
            ("disk_iops_consumed_percentage", 24.0),
            ("active_connections", 12.0),
            ("max_connections", 100.0),
            ("connections_failed", 1.0),
            ("deadlocks", 0.0),
            ("maximum_used_transactionIDs", 1.0e6),
        ] {
            s.metrics.insert(k.to_owned(), FakeMetric::Value(v));
        }
    });
    fake
}

fn health(fake: &FakeArm, state: &Path, args: &[&str]) -> Run {
    let mut c = cmd::command(BIN.as_ref());
    for k in [
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_AUTHORITY_HOST",
        "DATABASE_URL",
    ] {
        c.env_remove(k);
    }
    c.envs(fake.env())
        .args([
            "--azure",
            "--server",
            "exampleserver",
            "--resource-group",
            RG,
            "--state-dir",
        ])
        .arg(state)
        .args(args);
    cmd::run_cmd(&mut c, None)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    let all = report["checks"].as_array().unwrap();
    let found: Vec<&Value> = all.iter().filter(|c| c["name"] == name).collect();
    assert_eq!(found.len(), 1, "{name} once in {report:#}");
    found[0]
}

fn query(target: &str, key: &str) -> String {
    target
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} in {target}"))
        .to_owned()
}

#[test]
fn one_metrics_request_names_every_metric_with_its_aggregation() {
    let fake = fake();
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(0);
    let metrics: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|q| q.path().ends_with("/providers/microsoft.insights/metrics"))
        .collect();
    assert_eq!(metrics.len(), 1, "one metrics call");
    let q = &metrics[0];
    assert_eq!(q.method, "GET");
    assert!(
        q.path().starts_with(&id("exampleserver").to_ascii_lowercase()),
        "{}",
        q.target
    );
    let names = query(&q.target, "metricnames");
    let names: Vec<&str> = names.split(',').collect();
    let aggs = query(&q.target, "aggregation");
    let aggs: Vec<&str> = aggs.split(',').collect();
    for (n, a) in WANTED {
        assert!(names.contains(n), "{n} not in {names:?}");
        assert!(aggs.contains(a), "{a} (for {n}) not in {aggs:?}");
    }
    assert_eq!(query(&q.target, "api-version"), "2024-02-01");
    assert_eq!(query(&q.target, "interval"), "PT1M");
    // The server and the backups once each as well.
    assert_eq!(fake.count("GET", "/flexibleservers/exampleserver/backups"), 1);
    healthy_report(&r.one("health.report"));
}

/// What the healthy example server's report says.
fn healthy_report(rep: &Value) {
    assert_eq!(rep["target"], id("exampleserver"));
    assert_eq!(
        (rep["status"].as_str(), rep["server_version"].as_str()),
        (Some("OK"), Some("17.5"))
    );
    assert_eq!(check(rep, "host_cpu")["value"], 35.0);
    assert_eq!(check(rep, "host_memory")["value"], 40.0);
    assert_eq!(check(rep, "disk")["value"], 50.0);
    assert_eq!(check(rep, "connections")["value"], 12.0);
    assert_eq!(
        check(rep, "failed_sessions")["value"],
        5.0,
        "a total over 5 one-minute points"
    );
    assert_eq!(check(rep, "xid_wraparound")["value"], 1.0e6);
    assert_eq!(check(rep, "azure_iops")["value"], 24.0);
    assert_eq!(check(rep, "azure_state")["status"], "OK");
    assert_eq!(check(rep, "azure_backups")["value"], 2.0);
    assert_eq!(check(rep, "azure_storage_headroom")["value"], 50.0);
    assert!(check(rep, "backup_age")["value"].as_f64().unwrap() >= 3600.0);
    assert_eq!(check(rep, "azure_restore_window")["value"], 100.0);
    assert_eq!(check(rep, "azure_pending_restart")["value"], 0.0);
    let m = check(rep, "azure_maintenance");
    assert!(
        m["value"].is_null() && m["message"].as_str().unwrap().contains("system-managed"),
        "the example's window is Azure's to pick: {m}"
    );
    // HA is off on the example server; a primary's replication lag is its replicas'.
    let skipped: Vec<&str> = rep["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(skipped.contains(&"azure_ha"), "{skipped:?}");
    // No PgBouncer metrics: pgbouncer.enabled or its diagnostics are off.
    assert!(skipped.contains(&"pooler_waiting"), "{skipped:?}");
    assert!(!skipped.contains(&"host_cpu"), "{skipped:?}");
    // Every Azure check of the catalogue is reported or skipped.
    let help = cmd::run(BIN.as_ref(), &["--help"], None);
    for l in help.stdout.lines() {
        if let Some(name) = l
            .strip_prefix("  azure_")
            .and_then(|n| n.split_once(" ("))
            .map(|(n, _)| format!("azure_{n}"))
        {
            let reported = rep["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == name.as_str());
            assert!(reported || skipped.contains(&name.as_str()), "{name}");
        }
    }
}

#[test]
fn the_built_in_pgbouncers_waiting_clients_are_pooler_waiting() {
    let fake = fake();
    fake.with(|s| {
        s.metrics
            .insert("client_connections_waiting".into(), FakeMetric::Value(3.0))
    });
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(1);
    let rep = r.one("health.report");
    let w = check(&rep, "pooler_waiting");
    assert_eq!(
        (w["status"].as_str(), &w["value"]),
        (Some("WARNING"), &json!(3.0)),
        "{w}"
    );
    assert_eq!(w["details"]["metric"], "client_connections_waiting");
    assert!(w["message"].as_str().unwrap().contains("built-in PgBouncer"), "{w}");
}

#[test]
fn a_metric_failing_inside_the_200_is_unknown_for_its_check_only() {
    let fake = fake();
    let failing = example("monitor/GetMetricError.json")["responses"]["200"]["body"]["value"][0].clone();
    let code = failing["errorCode"].as_str().unwrap().to_owned();
    let msg = failing["errorMessage"].as_str().unwrap().to_owned();
    fake.with(|s| {
        s.metrics
            .insert("cpu_percent".into(), FakeMetric::Error(code.clone(), msg))
    });
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(3);
    let rep = r.one("health.report");
    let cpu = check(&rep, "host_cpu");
    assert_eq!((cpu["status"].as_str(), &cpu["value"]), (Some("UNKNOWN"), &Value::Null));
    let why = cpu["message"].as_str().unwrap();
    assert!(why.contains("cpu_percent") && why.contains(&code), "{why}");
    assert!(!why.contains('\n'));
    let unknown: Vec<&str> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "OK")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(unknown, ["host_cpu"]);
    assert_eq!(check(&rep, "host_memory")["value"], 40.0);
}

#[test]
fn a_throttled_resource_manager_costs_the_checks_not_the_deadline() {
    let fake = fake();
    fake.with(|s| s.throttle = Some((10, 30)));
    let d = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let r = health(&fake, d.path(), &[]);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "waited for Retry-After: {:?}",
        t.elapsed()
    );
    r.expect_code(3);
    let rep = r.one("health.report");
    for c in rep["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "UNKNOWN", "{c}");
        let why = c["message"].as_str().unwrap();
        assert!(why.contains("429") && !why.contains('\n'), "{why}");
        assert!(!why.contains(sw_testkit::azure::CLIENT_SECRET));
    }
}

#[test]
fn a_stopped_server_and_a_lost_standby_are_critical() {
    let fake = fake();
    let p = id("exampleserver");
    let mut s = fake.resource(&p).unwrap();
    s["properties"]["state"] = json!("Stopped");
    s["properties"]["highAvailability"] =
        json!({"mode": "ZoneRedundant", "state": "NotEnabled", "standbyAvailabilityZone": "2"});
    fake.insert(&p, s);
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(2);
    let rep = r.one("health.report");
    assert_eq!(check(&rep, "azure_state")["status"], "CRITICAL");
    let ha = check(&rep, "azure_ha");
    assert_eq!(
        (ha["status"].as_str(), ha["details"]["standby_zone"].as_str()),
        (Some("CRITICAL"), Some("2"))
    );
}

#[test]
fn nagios_and_prometheus_formats_carry_the_azure_checks() {
    let fake = fake();
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &["--format", "nagios"]);
    r.expect_code(0);
    let first = r.stdout.lines().next().unwrap();
    assert!(first.starts_with("SW-HEALTH OK"), "{first}");
    assert!(first.contains(" host_cpu=35%;80;95;"), "{first}");
    let r = health(&fake, d.path(), &["--format", "prometheus"]);
    r.expect_code(0);
    assert!(
        r.stdout.lines().any(|l| l.starts_with("sw_health_check_ratio{")
            && l.contains("check=\"host_cpu\"")
            && l.ends_with(" 0.35")),
        "{}",
        r.stdout
    );
}

#[test]
fn the_azure_checks_join_the_sql_checks_in_one_report() {
    let c = sw_testkit::pg::shared();
    let fake = fake();
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &["--db", &c.url("postgres")]);
    let rep = r.one("health.report");
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(
        rep["target"].as_str().unwrap().contains("postgres"),
        "{}",
        rep["target"]
    );
    // Connected (how fast depends on the machine's load: OK or WARNING).
    let conn = check(&rep, "connection");
    assert!(matches!(conn["status"].as_str(), Some("OK" | "WARNING")), "{conn}");
    assert_eq!(check(&rep, "azure_state")["status"], "OK");
    // Measured by SQL, so Azure's active_connections is not reported twice.
    assert!(check(&rep, "connections")["details"]["by_state"].is_object());
}

#[test]
fn the_cpu_alert_fires_for_95_percent_through_sw_alerts_eval() {
    let fake = fake();
    fake.with(|s| s.metrics.insert("cpu_percent".into(), FakeMetric::Value(95.0)));
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(1);
    assert_eq!(check(&r.one("health.report"), "host_cpu")["status"], "WARNING");
    let alerts = cmd::sibling_bin(BIN, "sw-alerts", "sw-alerts");
    let state = d.path().join("alerts.json");
    let now = chrono::Utc::now();
    let mut fired = Vec::new();
    // The default rule holds CPU above 80 % for 5 minutes.
    for later in [0, 6] {
        let at = (now + chrono::Duration::minutes(later)).to_rfc3339();
        let e = cmd::run(
            &alerts,
            &["eval", "--state", state.to_str().unwrap(), "--now", &at],
            Some(&r.stdout),
        );
        e.expect_code(0);
        fired = e.records();
    }
    let cpu: Vec<&Value> = fired
        .iter()
        .filter(|a| a["labels"]["alertname"] == "HostCpuHigh")
        .collect();
    assert_eq!(cpu.len(), 1, "{fired:#?}");
    assert_eq!(cpu[0]["status"], "firing");
    assert_eq!(cpu[0]["labels"]["instance"], id("exampleserver"));
}

#[test]
fn an_env_file_can_name_the_server() {
    let fake = fake();
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("azure.env");
    std::fs::write(&env, format!("AZURE_SERVER={}\n", id("exampleserver"))).unwrap();
    let mut c = cmd::command(BIN.as_ref());
    c.env_remove("DATABASE_URL").envs(fake.env()).args([
        "--azure-env-file",
        env.to_str().unwrap(),
        "--state-dir",
        d.path().to_str().unwrap(),
    ]);
    let r = cmd::run_cmd(&mut c, None);
    r.expect_code(0);
    assert_eq!(r.one("health.report")["target"], id("exampleserver"));
    std::fs::write(&env, "AZURE_SERVER=exampleserver\n").unwrap();
    let r = cmd::run_cmd(&mut c, None);
    r.expect_error(64, "--server exampleserver needs --resource-group");
    std::fs::write(&env, format!("AZURE_SERVER=exampleserver\nAZURE_RESOURCE_GROUP={RG}\n")).unwrap();
    cmd::run_cmd(&mut c, None).expect_code(0);
}

/// A fake whose exampleserver has the read replica examplereplica, 400 s behind.
fn fake_with_replica() -> FakeArm {
    let fake = fake();
    let mut rep = example("postgresql/ReplicasListByServer.json")["responses"]["200"]["body"]["value"][0].clone();
    rep["id"] = json!(id("examplereplica"));
    rep["name"] = json!("examplereplica");
    rep["properties"]["sourceServerResourceId"] = json!(id("exampleserver"));
    fake.insert(&id("examplereplica"), rep);
    fake.with(|s| {
        s.metrics
            .insert("physical_replication_delay_in_seconds".into(), FakeMetric::Value(400.0))
    });
    fake
}

#[test]
fn a_primarys_replication_lag_is_its_worst_replicas() {
    let fake = fake_with_replica();
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(2);
    let rep = r.one("health.report");
    let lag = check(&rep, "replication_lag");
    assert_eq!(
        (lag["status"].as_str(), lag["value"].as_f64()),
        (Some("CRITICAL"), Some(400.0))
    );
    assert_eq!(lag["details"]["replicas"][0]["name"], "examplereplica");
    assert_eq!(lag["details"]["replicas"][0]["state"], "Active");
    // The replica's lag is read on the replica's own resource.
    let asked: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|q| q.path().ends_with("/providers/microsoft.insights/metrics"))
        .map(|q| q.path())
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked.iter().any(|p| p.contains("/flexibleservers/examplereplica/")),
        "{asked:?}"
    );
}

#[test]
fn an_arm_error_on_the_metrics_costs_only_the_checks_that_need_them() {
    let fake = fake_with_replica();
    let denied = sw_testkit::azure::Reply::json(
        403,
        json!({"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action\n'Microsoft.Insights/metrics/read'."}}),
    );
    fake.with(|s| {
        s.scripted.push((
            "GET".into(),
            "flexibleServers/exampleserver/providers/Microsoft.Insights/metrics".into(),
            denied,
        ))
    });
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(2);
    let rep = r.one("health.report");
    let cpu = check(&rep, "host_cpu");
    assert_eq!(cpu["status"], "UNKNOWN");
    let why = cpu["message"].as_str().unwrap();
    assert!(
        why.contains("HTTP 403") && why.contains("AuthorizationFailed") && !why.contains('\n'),
        "{why}"
    );
    // The server, the backups and the replica's own metrics still count.
    assert_eq!(check(&rep, "azure_state")["status"], "OK");
    assert_eq!(check(&rep, "azure_backups")["value"], 2.0);
    assert_eq!(check(&rep, "replication_lag")["value"], 400.0);
}

#[test]
fn a_token_endpoint_that_never_answers_costs_the_azure_checks_not_the_deadline() {
    let fake = fake();
    // Accepts connections (the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let d = tempfile::tempdir().unwrap();
    let mut c = cmd::command(BIN.as_ref());
    c.env_remove("DATABASE_URL")
        .envs(fake.env())
        .env("SW_AZURE_TOKEN_ENDPOINT", &url)
        .args([
            "--azure",
            "--server",
            &id("exampleserver"),
            "--deadline",
            "2s",
            "--state-dir",
        ])
        .arg(d.path());
    let t = Instant::now();
    let r = cmd::run_cmd(&mut c, None);
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    r.expect_code(3);
    let rep = r.one("health.report");
    assert_eq!(
        check(&rep, "azure_state")["message"],
        "no answer from the Resource Manager before the deadline"
    );
    drop(silent);
}

#[test]
fn incomplete_credentials_are_a_configuration_error() {
    let fake = fake();
    let d = tempfile::tempdir().unwrap();
    let mut c = cmd::command(BIN.as_ref());
    c.env_remove("DATABASE_URL")
        .envs(fake.env())
        .env_remove("AZURE_CLIENT_SECRET")
        .args([
            "--azure",
            "--server",
            &id("exampleserver"),
            "--auth",
            "client-secret",
            "--state-dir",
        ])
        .arg(d.path());
    let r = cmd::run_cmd(&mut c, None);
    r.expect_code(78);
    assert!(r.stdout.is_empty());
    assert_eq!(fake.requests().len(), 0);
}

#[test]
fn a_parameter_waiting_for_a_restart_is_a_warning_naming_it() {
    let fake = fake();
    for (name, pending) in [("shared_buffers", true), ("work_mem", false)] {
        fake.insert(
            &format!("{}/configurations/{name}", id("exampleserver")),
            json!({"name": name, "properties": {"value": "1", "isDynamicConfig": !pending, "isConfigPendingRestart": pending}}),
        );
    }
    let d = tempfile::tempdir().unwrap();
    let r = health(&fake, d.path(), &[]);
    r.expect_code(1);
    let rep = r.one("health.report");
    let c = check(&rep, "azure_pending_restart");
    assert_eq!(
        (c["status"].as_str(), c["value"].as_f64()),
        (Some("WARNING"), Some(1.0))
    );
    assert_eq!(c["details"]["parameters"], json!(["shared_buffers"]));
}

/// GET `path` from 127.0.0.1:`port` (HTTP/1.0, read to the end): the body, None when nothing answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    c.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    c.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_exposes_the_azure_checks() {
    let fake = fake();
    let d = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut c = cmd::command(BIN.as_ref());
    c.env_remove("DATABASE_URL")
        .envs(fake.env())
        .args([
            "serve",
            "--listen",
            &listen,
            "--azure",
            "--server",
            &id("exampleserver"),
            "--state-dir",
        ])
        .arg(d.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let _child = Child(c.spawn().unwrap());
    let t = Instant::now();
    while http_get(port, "/healthz").is_none() {
        assert!(t.elapsed() < Duration::from_secs(20), "sw-health serve did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = http_get(port, "/metrics").unwrap();
    let instance = format!("instance=\"{}\"", id("exampleserver"));
    let line = body
        .lines()
        .find(|l| l.starts_with("sw_health_check_ratio{") && l.contains("check=\"host_cpu\""))
        .unwrap_or_else(|| panic!("{body}"));
    assert!(line.contains(&instance) && line.ends_with(" 0.35"), "{line}");
    assert!(
        body.lines().any(|l| l.starts_with("sw_health_check_status{")
            && l.contains("check=\"azure_state\"")
            && l.ends_with(" 0")),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("sw_health_up{") && l.ends_with(" 1")),
        "{body}"
    );
}
