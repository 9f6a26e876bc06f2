//! Fleet scale with the real components: sw-alerts pushing to two
//! Alertmanagers clustered on loopback (Debian's prometheus-alertmanager),
//! the rule pack rendered for Prometheus and checked with promtool, and
//! (with sw-health serve) a real Prometheus scraping the exporter and
//! evaluating the generated rules.
//!
//! The suite belongs to the sw-alerts package; sw-health is found beside
//! it with `sw_testkit::cmd::sibling_bin`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sw_testkit::cmd::{self, Run};
use sw_testkit::prom::{self, AlertmanagerPair, Receiver};

const ALERTS: &str = env!("CARGO_BIN_EXE_sw-alerts");

fn alerts(args: &[&str], stdin: Option<&str>) -> Run {
    cmd::run(Path::new(ALERTS), args, stdin)
}

/// An alert record as eval prints it (notify fills in what is left out).
fn alert(status: &str, name: &str, instance: &str) -> String {
    let mut a = json!({
        "kind": "alert", "schema": 1, "status": status, "alertname": name,
        "labels": {"alertname": name, "severity": "critical", "instance": instance, "check": "connection"},
        "annotations": {"summary": format!("{instance} is unreachable")},
        "startsAt": "2026-01-01T10:00:00.000Z",
    });
    if status == "resolved" {
        a["endsAt"] = json!("2026-01-01T10:05:00.000Z");
    }
    a.to_string() + "\n"
}

/// `sw-alerts notify --alertmanager` to both servers of `pair` through `outbox`.
fn push(pair: &AlertmanagerPair, outbox: &Path, extra: &[&str], stdin: &str) -> Run {
    let [a, b] = pair.urls();
    let ob = outbox.to_str().unwrap();
    let mut args = vec![
        "notify",
        "--alertmanager",
        &a,
        "--alertmanager",
        &b,
        "--outbox",
        ob,
        "--attempts",
        "1",
        "--timeout",
        "3s",
        "--generator-url",
        "https://grafana.example.org/d/sw",
    ];
    args.extend_from_slice(extra);
    alerts(&args, Some(stdin))
}

/// Poll `ok` (every 100 ms, 30 s at most, then panic naming `what`).
fn wait(what: &str, ok: impl Fn() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(30), "waited in vain for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn outbox_entries(outbox: &Path) -> usize {
    std::fs::read_dir(outbox)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count()
}

// ---- prometheus-rules: the rule pack as Prometheus alerting rules ----

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_generated_rules_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let pack = alerts(&["default-rules"], None);
    pack.expect_code(0);
    let n = pack.stdout.lines().filter(|l| l.trim() == "[[rule]]").count();
    let r = alerts(&["prometheus-rules"], None);
    r.expect_code(0);
    let p = write(dir.path(), "default.yml", &r.stdout);
    let (code, out) = prom::promtool(&["check", "rules", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{}", r.stdout);
    // Every rule of the pack, plus sw-alerts' two alerts about its input.
    assert!(out.contains(&format!("SUCCESS: {} rules found", n + 2)), "{out}");

    // Every shape a rule can take: below, a WARNING status, both a value and
    // a status, keep_firing_for, own labels, quotes and stray braces.
    let own = write(
        dir.path(),
        "own.toml",
        r#"
[[rule]]
name = "CacheHitLow"
check = "cache_hit"
below = 98.5
keep_firing_for = "10m"
labels = { team = "dba" }
annotations = { summary = "cache hit {{ value }}{{ unit }} on {{ instance }} ({{ database }}); it's {{ nope }} low", runbook = "https://wiki/x?a=1&b='2'" }

[[rule]]
name = "LongIdle"
check = "idle_in_transaction"
above = 120
status = "WARNING"
for = "90s"
annotations = { summary = "{{ check }}: {{ message }}" }
"#,
    );
    let r = alerts(
        &[
            "prometheus-rules",
            "--rules",
            own.to_str().unwrap(),
            "--job",
            "pg-fleet",
        ],
        None,
    );
    r.expect_code(0);
    let p = write(dir.path(), "own.yml", &r.stdout);
    let (code, out) = prom::promtool(&["check", "rules", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{}", r.stdout);
    assert!(out.contains("SUCCESS: 4 rules found"), "{out}");
    assert!(r.stdout.contains("keep_firing_for: 10m"), "{}", r.stdout);
    assert!(r.stdout.contains(r#"up{job="pg-fleet"}"#), "{}", r.stdout);

    // A value rule on a check sw-health does not have cannot become a query.
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[rule]]\nname = \"X\"\ncheck = \"no_such_check\"\nabove = 1\n",
    );
    alerts(&["prometheus-rules", "--rules", bad.to_str().unwrap()], None).expect_error(
        78,
        &format!("{}: rule \"X\": check \"no_such_check\" is not in", sw_core_q(&bad)),
    );
}

/// A path as sw quotes it in messages.
fn sw_core_q(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

// ---- notify --alertmanager: two clustered Alertmanagers ----

#[test]
fn an_alert_pushed_to_the_pair_appears_once_and_its_resolve_ends_it() {
    let hook = Receiver::start();
    let pair = AlertmanagerPair::start(&prom::alertmanager_config(&hook.url));
    let dir = tempfile::tempdir().unwrap();
    // Two monitoring hosts raise the same alert, each from its own outbox.
    for host in ["host-a", "host-b"] {
        let r = push(
            &pair,
            &dir.path().join(host),
            &[],
            &alert("firing", "FleetDown", "db1:5432"),
        );
        r.expect_code(0);
        let d = r.one("alert.delivery");
        assert_eq!(d["delivered"], true, "{r:?}");
        assert_eq!(d["resend"], false);
        assert!(
            d["channel"]
                .as_str()
                .unwrap()
                .starts_with("alertmanager http://127.0.0.1:"),
            "{d}"
        );
    }
    for i in 0..2 {
        let got = pair.alerts_named(i, "FleetDown");
        assert_eq!(got.len(), 1, "Alertmanager {i}: {got:?}");
        let a = &got[0];
        assert_eq!(a["labels"]["instance"], "db1:5432");
        assert_eq!(a["labels"]["severity"], "critical");
        assert_eq!(a["annotations"]["summary"], "db1:5432 is unreachable");
        assert_eq!(a["startsAt"], "2026-01-01T10:00:00.000Z");
        assert_eq!(a["generatorURL"], "https://grafana.example.org/d/sw");
        assert_eq!(a["status"]["state"], "active");
    }
    // The pair sends the receiver one notification, not one each: the
    // second waits its peer timeout and finds the first's in the shared log.
    wait("a notification from the pair", || !hook.bodies().is_empty());
    std::thread::sleep(Duration::from_secs(8));
    let firing: Vec<Value> = hook.bodies().into_iter().filter(|b| b["status"] == "firing").collect();
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["alerts"][0]["labels"]["alertname"], "FleetDown");

    let r = push(
        &pair,
        &dir.path().join("host-a"),
        &[],
        &alert("resolved", "FleetDown", "db1:5432"),
    );
    r.expect_code(0);
    assert_eq!(r.one("alert.delivery")["status"], "resolved");
    for i in 0..2 {
        let got = pair.alerts_named(i, "FleetDown");
        assert!(got.is_empty(), "Alertmanager {i} still holds it: {got:?}");
    }
    wait("the resolved notification", || {
        hook.bodies().iter().any(|b| b["status"] == "resolved")
    });
}

#[test]
fn with_both_alertmanagers_down_the_outbox_keeps_the_alert_for_the_next_run() {
    let hook = Receiver::start();
    let mut pair = AlertmanagerPair::start(&prom::alertmanager_config(&hook.url));
    let outbox = tempfile::tempdir().unwrap();
    pair.stop_all();
    let r = push(&pair, outbox.path(), &[], &alert("firing", "FleetOutbox", "db2:5432"));
    r.expect_error(75, "1 notifications not delivered, kept in");
    let d = r.one("alert.delivery");
    assert_eq!(d["delivered"], false);
    assert!(d["error"].as_str().unwrap().contains("127.0.0.1"), "{d}");
    assert_eq!(outbox_entries(outbox.path()), 1);

    // Only one back: it is enough (the pair does not share alerts, but the
    // one that has it notifies).
    pair.servers[1].start();
    let r = push(&pair, outbox.path(), &[], "");
    r.expect_code(0);
    let d = r.one("alert.delivery");
    assert_eq!(
        (d["delivered"].clone(), d["alertname"].clone()),
        (json!(true), json!("FleetOutbox"))
    );
    assert_eq!(outbox_entries(outbox.path()), 0);
    assert_eq!(pair.alerts_named(1, "FleetOutbox").len(), 1);
}

/// endsAt of the one alert named `name` in Alertmanager `i`.
fn ends_at(pair: &AlertmanagerPair, i: usize, name: &str) -> String {
    let got = pair.alerts_named(i, name);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0]["endsAt"].as_str().unwrap().to_owned()
}

#[test]
fn firing_alerts_are_pushed_again_before_alertmanager_ends_them() {
    let hook = Receiver::start();
    let pair = AlertmanagerPair::start(&prom::alertmanager_config(&hook.url));
    let outbox = tempfile::tempdir().unwrap();
    let every = ["--resend-every", "1s"];
    push(
        &pair,
        outbox.path(),
        &every,
        &alert("firing", "FleetResend", "db3:5432"),
    )
    .expect_code(0);
    let first = ends_at(&pair, 0, "FleetResend");
    std::thread::sleep(Duration::from_millis(1100));
    // Nothing new from eval: the firing alert goes out again, valid longer.
    let r = push(&pair, outbox.path(), &every, "");
    r.expect_code(0);
    let d = r.one("alert.delivery");
    assert_eq!(
        (d["resend"].clone(), d["delivered"].clone()),
        (json!(true), json!(true)),
        "{r:?}"
    );
    let second = ends_at(&pair, 0, "FleetResend");
    assert!(second > first, "endsAt {first} then {second}");
    // Not due yet with a longer interval: nothing is sent.
    let r = push(&pair, outbox.path(), &["--resend-every", "1h"], "");
    r.expect_code(0);
    assert!(r.records().is_empty(), "{r:?}");
    // Without further pushes Alertmanager ends it at its endsAt (4 x 1 s).
    wait("Alertmanager to end the alert", || {
        pair.alerts_named(0, "FleetResend").is_empty()
    });
    // Once resolved, it is not pushed again.
    push(
        &pair,
        outbox.path(),
        &every,
        &alert("resolved", "FleetResend", "db3:5432"),
    )
    .expect_code(0);
    std::thread::sleep(Duration::from_millis(1100));
    let r = push(&pair, outbox.path(), &every, "");
    assert!(r.records().is_empty(), "{r:?}");
}
