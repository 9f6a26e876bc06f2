//! `sw-alerts azure-apply` against the test kit's fake Resource Manager:
//! request bodies with the official examples' property paths, the seed's
//! alerts from the default rule pack, a second run that sends nothing, a
//! changed threshold put back, and a dry run that only reads.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failed setup step should panic with its cause"
)]

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sw_testkit::azure::{FakeArm, SUBSCRIPTION, leaf_paths};
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-alerts");
const RG: &str = "exampleresourcegroup";

fn server_id() -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver"
    )
}

fn example(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(sw_testkit::fixture(&format!("azure-arm/{file}"))).unwrap()).unwrap()
}

fn fake() -> FakeArm {
    let fake = FakeArm::start();
    let mut s = example("postgresql/ServersGet.json")["responses"]["200"]["body"].clone();
    s["id"] = json!(server_id());
    fake.insert(&server_id(), s);
    fake
}

fn apply(fake: &FakeArm, args: &[&str]) -> Run {
    let mut c = cmd::command(BIN.as_ref());
    for k in [
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_AUTHORITY_HOST",
    ] {
        c.env_remove(k);
    }
    c.envs(fake.env())
        .args([
            "azure-apply",
            "--server",
            "exampleserver",
            "--resource-group",
            RG,
            "--poll-interval",
            "10ms",
        ])
        .args([
            "--email",
            "ops@example.com",
            "--webhook",
            "https://hooks.example/alerts",
        ])
        .args(args);
    cmd::run_cmd(&mut c, None)
}

fn puts(fake: &FakeArm) -> Vec<sw_testkit::azure::Request> {
    fake.requests().into_iter().filter(|r| r.method == "PUT").collect()
}

fn writes(fake: &FakeArm) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path().contains("/oauth2/"))
        .count()
}

/// Every property path `sent` has is one the example's request has (tags
/// are ours), and every one of `core` is there.
fn example_paths(sent: &Value, file: &str, body_key: &str, core: &[&str]) {
    let want = leaf_paths(&example(file)["parameters"][body_key]);
    let got = leaf_paths(sent);
    let beyond: BTreeSet<_> = got
        .iter()
        .filter(|p| !p.starts_with("tags") && !want.contains(*p))
        .collect();
    assert!(beyond.is_empty(), "{file}: {beyond:?} not in the example\n{sent}");
    for p in core {
        assert!(got.contains(*p), "{file}: {p} missing\n{sent}");
    }
}

fn alert_bodies(fake: &FakeArm) -> Vec<Value> {
    puts(fake)
        .into_iter()
        .filter(|r| r.path().contains("/microsoft.insights/metricalerts/"))
        .map(|r| r.body)
        .collect()
}

/// The server's diagnostic setting in the example's shape: every log
/// category the server lists, into the workspace created before it.
fn diagnostic_setting_names_the_workspace_and_every_category(sent: &[sw_testkit::azure::Request]) {
    let ds = sent
        .iter()
        .find(|q| {
            q.path()
                .contains("/providers/microsoft.insights/diagnosticsettings/sw-diagnostics")
        })
        .unwrap();
    assert!(ds.path().starts_with(&server_id().to_ascii_lowercase()));
    example_paths(
        &ds.body,
        "monitor/createOrUpdateDiagnosticSetting.json",
        "parameters",
        &["properties.workspaceId", "properties.logs", "properties.metrics"],
    );
    assert!(
        ds.body["properties"]["workspaceId"]
            .as_str()
            .unwrap()
            .ends_with("/Microsoft.OperationalInsights/workspaces/exampleserver-logs")
    );
    let logs: Vec<&str> = ds.body["properties"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["category"].as_str().unwrap())
        .collect();
    assert!(
        logs.contains(&"PostgreSQLLogs") && logs.contains(&"PostgreSQLFlexQueryStoreWaitStats") && logs.len() == 6,
        "{logs:?}"
    );
    assert_eq!(ds.body["properties"]["metrics"][0]["category"], "AllMetrics");
    // The workspace exists before the setting that names it.
    let at = |part: &str| sent.iter().position(|q| q.path().contains(part)).unwrap();
    assert!(at("/workspaces/") < at("/diagnosticsettings/"));
}

#[test]
fn the_default_pack_becomes_the_seed_alerts_in_the_examples_shapes() {
    let fake = fake();
    let r = apply(&fake, &[]);
    r.expect_code(0);
    let sent = puts(&fake);
    let ws = sent
        .iter()
        .find(|q| {
            q.path()
                .contains("/microsoft.operationalinsights/workspaces/exampleserver-logs")
        })
        .unwrap();
    assert!(ws.target.contains("api-version=2025-02-01"));
    example_paths(
        &ws.body,
        "monitor/WorkspacesCreate.json",
        "parameters",
        &["properties.retentionInDays", "location"],
    );
    assert_eq!(
        (
            ws.body["properties"]["retentionInDays"].as_u64(),
            ws.body["location"].as_str()
        ),
        (Some(30), Some("eastus"))
    );
    let ag = sent
        .iter()
        .find(|q| {
            q.path()
                .contains("/microsoft.insights/actiongroups/exampleserver-alerts")
        })
        .unwrap();
    example_paths(
        &ag.body,
        "monitor/createOrUpdateActionGroup.json",
        "actionGroup",
        &["properties.emailReceivers", "properties.groupShortName"],
    );
    assert_eq!(
        ag.body["properties"]["emailReceivers"][0]["emailAddress"],
        "ops@example.com"
    );
    assert_eq!(
        ag.body["properties"]["webhookReceivers"][0]["serviceUri"],
        "https://hooks.example/alerts"
    );

    diagnostic_setting_names_the_workspace_and_every_category(&sent);

    let alerts = alert_bodies(&fake);
    let mut seen = BTreeSet::new();
    for b in &alerts {
        example_paths(
            b,
            "monitor/createOrUpdateMetricAlertSingleResource.json",
            "parameters",
            &["properties.criteria.allOf", "properties.windowSize"],
        );
        assert_eq!(b["tags"]["sw-managed"], "true");
        assert_eq!(b["properties"]["scopes"][0], server_id());
        let c = &b["properties"]["criteria"]["allOf"][0];
        assert_eq!(c["metricNamespace"], "Microsoft.DBforPostgreSQL/flexibleServers");
        seen.insert((
            c["metricName"].as_str().unwrap().to_owned(),
            c["operator"].as_str().unwrap().to_owned(),
            c["threshold"].as_f64().unwrap().to_string(),
            c["timeAggregation"].as_str().unwrap().to_owned(),
            b["properties"]["windowSize"].as_str().unwrap().to_owned(),
        ));
    }
    // The seed's six, the wraparound alert at about 1.0 billion, and the storage headroom.
    for (m, op, v, agg) in [
        ("cpu_percent", "GreaterThan", "80", "Average"),
        ("memory_percent", "GreaterThan", "85", "Average"),
        ("storage_percent", "GreaterThan", "80", "Average"),
        ("connections_failed", "GreaterThan", "50", "Total"),
        ("deadlocks", "GreaterThan", "5", "Total"),
        ("physical_replication_delay_in_seconds", "GreaterThan", "300", "Maximum"),
        ("maximum_used_transactionIDs", "GreaterThan", "1000000000", "Maximum"),
        ("storage_percent", "GreaterThan", "90", "Average"),
        ("client_connections_waiting", "GreaterThan", "0", "Average"),
    ] {
        let want = (
            m.to_owned(),
            op.to_owned(),
            v.to_owned(),
            agg.to_owned(),
            "PT5M".to_owned(),
        );
        assert!(seen.contains(&want), "{want:?} not in {seen:#?}");
    }
    let recs = r.records();
    let unmapped: Vec<&str> = recs
        .iter()
        .filter(|x| x["kind"] == "alerts.azure_unmapped")
        .map(|x| x["check"].as_str().unwrap())
        .collect();
    assert!(unmapped.contains(&"archiver"), "{unmapped:?}");
    assert!(
        recs.iter()
            .filter(|x| x["kind"] == "alerts.azure_resource")
            .all(|x| x["action"] == "create" && x["sent"] == true)
    );
}

#[test]
fn a_second_run_sends_nothing_and_a_changed_threshold_is_put_back() {
    let fake = fake();
    apply(&fake, &[]).expect_code(0);
    let before = writes(&fake);
    let r = apply(&fake, &[]);
    r.expect_code(0);
    assert_eq!(writes(&fake), before, "a second run sends nothing");
    assert!(
        r.records()
            .iter()
            .filter(|x| x["kind"] == "alerts.azure_resource")
            .all(|x| x["action"] == "unchanged")
    );

    let cpu = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Insights/metricAlerts/exampleserver-HostCpuHigh"
    );
    let mut a = fake.resource(&cpu).unwrap();
    a["properties"]["criteria"]["allOf"][0]["threshold"] = json!(95);
    fake.insert(&cpu, a);
    let r = apply(&fake, &[]);
    r.expect_code(0);
    let changed: Vec<Value> = r
        .records()
        .into_iter()
        .filter(|x| x["kind"] == "alerts.azure_resource" && x["action"] != "unchanged")
        .collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert_eq!(changed[0]["name"], "exampleserver-HostCpuHigh");
    assert_eq!(
        changed[0]["changes"],
        json!([{"property": "properties.criteria.allOf[0].threshold", "want": 80.0, "have": 95}])
    );
    assert_eq!(writes(&fake), before + 1);
    assert_eq!(
        fake.resource(&cpu).unwrap()["properties"]["criteria"]["allOf"][0]["threshold"],
        80.0
    );
}

#[test]
fn a_dry_run_only_reads_and_prints_the_requests() {
    let fake = fake();
    let r = apply(&fake, &["--dry-run"]);
    r.expect_code(0);
    assert_eq!(writes(&fake), 0);
    let recs = r.records();
    let requests: Vec<&Value> = recs.iter().filter(|x| x["kind"] == "azure.request").collect();
    let resources: Vec<&Value> = recs.iter().filter(|x| x["kind"] == "alerts.azure_resource").collect();
    assert_eq!(requests.len(), resources.len());
    assert!(requests.iter().all(|q| q["method"] == "PUT" && q["body"].is_object()));
    assert!(resources.iter().all(|x| x["action"] == "create" && x["sent"] == false));

    // --audit too: the parameter writes and the restart are printed, not sent.
    let r = apply(&fake, &["--dry-run", "--audit"]);
    r.expect_code(0);
    assert_eq!(writes(&fake), 0);
    let asked: Vec<(String, String)> = r
        .records()
        .into_iter()
        .filter(|x| x["kind"] == "azure.request" && x["method"] != "PUT")
        .map(|x| {
            let url = x["url"].as_str().unwrap().split('?').next().unwrap().to_owned();
            (
                x["method"].as_str().unwrap().to_owned(),
                url.rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("PATCH", "azure.extensions"),
        ("PATCH", "shared_preload_libraries"),
        ("POST", "restart"),
        ("PATCH", "pgaudit.log"),
    ];
    assert_eq!(asked, want.map(|(m, n)| (m.to_owned(), n.to_owned())));
}

#[test]
fn no_receiver_is_a_usage_error() {
    let fake = fake();
    let mut c = cmd::command(BIN.as_ref());
    c.envs(fake.env())
        .args(["azure-apply", "--server", "exampleserver", "--resource-group", RG]);
    cmd::run_cmd(&mut c, None).expect_code(64);
    assert_eq!(fake.requests().len(), 0);
}

#[test]
fn verify_only_reports_exactly_the_changed_threshold_and_exits_1() {
    let fake = fake();
    let r = apply(&fake, &["--verify-only"]);
    r.expect_code(1);
    assert_eq!(writes(&fake), 0);
    assert!(
        r.records()
            .iter()
            .filter(|x| x["kind"] == "azure.drift")
            .all(|x| x["property"] == "")
    );
    apply(&fake, &[]).expect_code(0);
    apply(&fake, &["--verify-only"]).expect_code(0);
    let before = writes(&fake);
    let cpu = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Insights/metricAlerts/exampleserver-HostCpuHigh"
    );
    let mut a = fake.resource(&cpu).unwrap();
    a["properties"]["criteria"]["allOf"][0]["threshold"] = json!(95);
    fake.insert(&cpu, a);
    let r = apply(&fake, &["--verify-only"]);
    r.expect_code(1);
    assert_eq!(writes(&fake), before);
    let drift: Vec<Value> = r.records().into_iter().filter(|x| x["kind"] == "azure.drift").collect();
    assert_eq!(
        drift,
        [
            json!({"kind": "azure.drift", "schema": 1, "resource": "metric_alert", "name": "exampleserver-HostCpuHigh",
                "property": "properties.criteria.allOf[0].threshold", "want": 80.0, "have": 95})
        ]
    );
}

#[test]
fn prune_deletes_only_the_sw_managed_alerts_of_this_server_the_pack_dropped() {
    let fake = fake();
    apply(&fake, &[]).expect_code(0);
    let alerts = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Insights/metricAlerts");
    // Someone else's alert on the server, and sw's alert on another server.
    fake.insert(
        &format!("{alerts}/theirs"),
        json!({"id": format!("{alerts}/theirs"), "name": "theirs", "tags": {},
        "properties": {"scopes": [server_id()]}}),
    );
    fake.insert(&format!("{alerts}/other-HostCpuHigh"), json!({"id": format!("{alerts}/other-HostCpuHigh"),
        "name": "other-HostCpuHigh", "tags": {"sw-managed": "true"}, "properties": {"scopes": [server_id().replace("exampleserver", "other")]}}));
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"HostCpuHigh\"\ncheck = \"host_cpu\"\nabove = 80\nfor = \"5m\"\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let r = apply(&fake, &["--rules", rules, "--prune", "--verify-only"]);
    r.expect_code(1);
    let dry = apply(&fake, &["--rules", rules, "--prune", "--dry-run"]);
    dry.expect_code(0);
    let r = apply(&fake, &["--rules", rules, "--prune"]);
    r.expect_code(0);
    let deleted: Vec<String> = r
        .records()
        .into_iter()
        .filter(|x| x["action"] == "delete")
        .map(|x| x["name"].as_str().unwrap().to_owned())
        .collect();
    // The default pack's mapped rules but HostCpuHigh.
    assert_eq!(deleted.len(), 9, "{deleted:?}");
    assert!(
        deleted.iter().all(|n| n.starts_with("exampleserver-"))
            && !deleted.contains(&"exampleserver-HostCpuHigh".to_owned())
    );
    assert!(fake.resource(&format!("{alerts}/theirs")).is_some());
    assert!(fake.resource(&format!("{alerts}/other-HostCpuHigh")).is_some());
    assert!(fake.resource(&format!("{alerts}/exampleserver-HostCpuHigh")).is_some());
    assert!(fake.resource(&format!("{alerts}/exampleserver-Deadlocks")).is_none());
    apply(&fake, &["--rules", rules, "--prune", "--verify-only"]).expect_code(0);
}

#[test]
fn audit_allow_lists_preloads_restarts_once_and_sets_the_classes() {
    let fake = fake();
    let cfg = |name: &str| format!("{}/configurations/{name}", server_id());
    let mut ext = fake.resource(&cfg("azure.extensions")).unwrap_or_else(|| {
        json!({"name": "azure.extensions", "properties": {"value": "", "isDynamicConfig": true, "isConfigPendingRestart": false}})
    });
    ext["properties"]["value"] = json!("PG_CRON");
    fake.insert(&cfg("azure.extensions"), ext);
    let r = apply(&fake, &["--audit"]);
    r.expect_code(0);
    let patches: Vec<(String, Value)> = fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "PATCH")
        .map(|q| {
            (
                q.path().rsplit('/').next().unwrap().to_owned(),
                q.body["properties"]["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        patches,
        [
            ("azure.extensions".to_owned(), json!("PG_CRON,PGAUDIT")),
            ("shared_preload_libraries".to_owned(), json!("pgaudit")),
            ("pgaudit.log".to_owned(), json!("ddl,role")),
        ]
    );
    assert!(
        fake.requests()
            .iter()
            .all(|q| q.method != "PATCH" || q.body["properties"]["source"] == "user-override")
    );
    assert_eq!(fake.count("POST", "/flexibleservers/exampleserver/restart"), 1);
    // The restart comes after the preload and before pgaudit.log (which exists once the library is loaded).
    let order: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "PATCH" || q.method == "POST")
        .map(|q| q.path())
        .filter(|p| p.contains("/flexibleservers/"))
        .collect();
    let at = |part: &str| order.iter().position(|p| p.ends_with(part)).unwrap();
    assert!(
        at("shared_preload_libraries") < at("/restart") && at("/restart") < at("pgaudit.log"),
        "{order:?}"
    );

    let before = writes(&fake);
    apply(&fake, &["--audit"]).expect_code(0);
    assert_eq!(
        writes(&fake),
        before,
        "a second run changes nothing and restarts nothing"
    );
    apply(&fake, &["--audit", "--verify-only"]).expect_code(0);
    let r = apply(
        &fake,
        &["--audit", "--audit-classes", "ddl,role,write", "--verify-only"],
    );
    r.expect_code(1);
    let drift: Vec<Value> = r.records().into_iter().filter(|x| x["kind"] == "azure.drift").collect();
    assert_eq!(drift.len(), 1);
    assert_eq!(
        (drift[0]["name"].as_str(), drift[0]["want"].as_str()),
        (Some("pgaudit.log"), Some("ddl,role,write"))
    );
}

#[test]
fn the_connections_rule_becomes_a_count_of_max_connections() {
    let fake = fake();
    fake.insert(
        &format!("{}/configurations/max_connections", server_id()),
        json!({"name": "max_connections", "properties": {"value": "859", "isDynamicConfig": false}}),
    );
    apply(&fake, &[]).expect_code(0);
    let alerts = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Insights/metricAlerts");
    let a = fake
        .resource(&format!("{alerts}/exampleserver-ConnectionsHigh"))
        .unwrap();
    let c = &a["properties"]["criteria"]["allOf"][0];
    assert_eq!(
        (c["metricName"].as_str(), c["operator"].as_str()),
        (Some("active_connections"), Some("GreaterThan"))
    );
    assert_eq!(c["threshold"], 687.0, "80 % of 859, rounded down");
    // max_connections raised: the threshold follows on the next run.
    fake.insert(
        &format!("{}/configurations/max_connections", server_id()),
        json!({"name": "max_connections", "properties": {"value": "1000", "isDynamicConfig": false}}),
    );
    apply(&fake, &["--verify-only"]).expect_code(1);
    apply(&fake, &[]).expect_code(0);
    let a = fake
        .resource(&format!("{alerts}/exampleserver-ConnectionsHigh"))
        .unwrap();
    assert_eq!(a["properties"]["criteria"]["allOf"][0]["threshold"], 800.0);
}
