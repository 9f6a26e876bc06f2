//! sw-alerts end to end: rule semantics across runs with --now, and
//! deliveries to local HTTP and SMTP listeners.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-alerts");

fn alerts(args: &[&str], stdin: &str) -> Run {
    cmd::run(BIN.as_ref(), args, Some(stdin))
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(rules: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
        Env { dir }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn eval_with(&self, now: &str, input: &str, extra: &[&str]) -> Vec<Value> {
        let rules = self.p("rules.toml");
        let state = self.p("state.json");
        let mut args = vec![
            "eval",
            "--rules",
            rules.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--now",
            now,
        ];
        args.extend_from_slice(extra);
        let r = alerts(&args, input);
        r.expect_code(0);
        r.records()
    }
    fn eval(&self, now: &str, input: &str) -> Vec<Value> {
        self.eval_with(now, input, &[])
    }
}

/// A whole `health.report` line, every field of `sw_core::health::HealthReport`
/// present (as schemas/sw-health/health.report.json demands); `checks`
/// are completed by [`check`].
fn report(time: &str, checks: Value) -> String {
    labelled_report(time, checks, &json!({}))
}

/// [`report`] of a target with labels (as sw-health --targets writes it).
fn labelled_report(time: &str, checks: Value, labels: &Value) -> String {
    let checks: Vec<Value> = checks.as_array().unwrap().iter().map(check).collect();
    let r = json!({"kind": "health.report", "schema": 1, "time": time, "target": "app@db1:5432/app",
                   "labels": labels, "status": "OK", "server_version": "15.8", "role": "primary",
                   "databases": ["app"], "duration_ms": 12.5, "checks": checks, "skipped": []});
    sw_testkit::schema::validate("sw-health", &r).unwrap();
    r.to_string() + "\n"
}

/// A whole check result (`sw_core::health::CheckResult`): the fields given,
/// the others empty (null, "" or false).
fn check(given: &Value) -> Value {
    let mut c = json!({"name": "", "database": null, "status": "OK", "value": null, "unit": "",
                       "warn": null, "crit": null, "below": false, "message": "", "details": null});
    for (k, v) in given.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn deadlocks(time: &str, v: f64) -> String {
    report(
        time,
        json!([{"name": "deadlocks", "status": if v > 5.0 { "WARNING" } else { "OK" }, "value": v, "unit": "per_5min"}]),
    )
}

const RULES: &str = r#"
stale_after = "10m"
[[rule]]
name = "Deadlocks"
check = "deadlocks"
above = 5
for = "5m"
keep_firing_for = "3m"
repeat_interval = "1h"
severity = "warning"
labels = { team = "dba" }
annotations = { summary = "{{ value }} deadlocks on {{ instance }}" }
"#;

fn t(min: u32) -> String {
    format!("2026-01-01T{:02}:{:02}:00Z", 10 + min / 60, min % 60)
}

#[test]
fn pending_is_not_notified_and_firing_comes_after_for() {
    let e = Env::new(RULES);
    assert!(
        e.eval(&t(0), &deadlocks(&t(0), 9.0)).is_empty(),
        "pending: nothing sent"
    );
    assert!(e.eval(&t(2), &deadlocks(&t(2), 9.0)).is_empty());
    let ev = e.eval(&t(5), &deadlocks(&t(5), 9.0));
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["kind"], "alert");
    assert_eq!(ev[0]["status"], "firing");
    assert_eq!(ev[0]["alertname"], "Deadlocks");
    assert_eq!(ev[0]["labels"]["team"], "dba");
    assert_eq!(ev[0]["labels"]["instance"], "app@db1:5432/app");
    assert_eq!(ev[0]["labels"]["severity"], "warning");
    assert_eq!(ev[0]["annotations"]["summary"], "9 deadlocks on app@db1:5432/app");
    assert_eq!(ev[0]["repeat"], false);
    // Still firing: nothing new until repeat_interval.
    assert!(e.eval(&t(6), &deadlocks(&t(6), 9.0)).is_empty());
    let ev = e.eval(&t(66), &deadlocks(&t(66), 9.0));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["repeat"], true);
    // A pending alert that goes away was never sent, and sends nothing.
    let e = Env::new(RULES);
    assert!(e.eval(&t(0), &deadlocks(&t(0), 9.0)).is_empty());
    assert!(e.eval(&t(1), &deadlocks(&t(1), 0.0)).is_empty());
    assert!(e.eval(&t(6), &deadlocks(&t(6), 9.0)).is_empty(), "for starts again");
}

#[test]
fn keep_firing_for_holds_flapping_and_resolve_is_sent_once() {
    let e = Env::new(RULES);
    e.eval(&t(0), &deadlocks(&t(0), 9.0));
    assert_eq!(e.eval(&t(5), &deadlocks(&t(5), 9.0)).len(), 1);
    // Flapping within keep_firing_for (3m): held, nothing sent.
    assert!(e.eval(&t(6), &deadlocks(&t(6), 0.0)).is_empty());
    assert!(e.eval(&t(7), &deadlocks(&t(7), 9.0)).is_empty());
    assert!(e.eval(&t(8), &deadlocks(&t(8), 0.0)).is_empty());
    // Clear for longer than keep_firing_for: resolved, once.
    let ev = e.eval(&t(11), &deadlocks(&t(11), 0.0));
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["status"], "resolved");
    assert_eq!(ev[0]["endsAt"], "2026-01-01T10:11:00.000Z");
    assert!(e.eval(&t(12), &deadlocks(&t(12), 0.0)).is_empty());
}

#[test]
fn silences_hold_notifications_until_they_expire() {
    let e = Env::new(&RULES.replace("for = \"5m\"", "for = \"0s\""));
    std::fs::write(
        e.p("silences.toml"),
        "[[silence]]\nmatchers = { alertname = \"Deadlocks\", team = \"dba\" }\nends_at = \"2026-01-01T10:30:00Z\"\ncomment = \"maintenance\"\n",
    )
    .unwrap();
    let sil = e.p("silences.toml");
    let s = ["--silences", sil.to_str().unwrap()];
    assert!(e.eval_with(&t(0), &deadlocks(&t(0), 9.0), &s).is_empty(), "silenced");
    assert!(e.eval_with(&t(20), &deadlocks(&t(20), 9.0), &s).is_empty());
    let ev = e.eval_with(&t(31), &deadlocks(&t(31), 9.0), &s);
    assert_eq!(ev.len(), 1, "silence expired: {ev:?}");
    assert_eq!(ev[0]["status"], "firing");
    // A silenced alert that resolves before anyone heard of it sends nothing.
    let e = Env::new(
        &RULES
            .replace("for = \"5m\"", "for = \"0s\"")
            .replace("\"3m\"", "\"0s\""),
    );
    std::fs::write(e.p("silences.toml"), std::fs::read(&sil).unwrap()).unwrap();
    let sil = e.p("silences.toml");
    let s = ["--silences", sil.to_str().unwrap()];
    assert!(e.eval_with(&t(0), &deadlocks(&t(0), 9.0), &s).is_empty());
    assert!(e.eval_with(&t(1), &deadlocks(&t(1), 0.0), &s).is_empty());
    // Alertmanager-style matchers: regular expressions and negation.
    let e = Env::new(&RULES.replace("for = \"5m\"", "for = \"0s\""));
    let sil = e.p("silences.toml");
    std::fs::write(
        &sil,
        "[[silence]]\nmatchers = [\"alertname=~Dead.*\", \"instance=~app@db[0-9]+:5432/app\", \"severity!=critical\"]\nends_at = \"2026-01-01T10:30:00Z\"\n",
    )
    .unwrap();
    let s = ["--silences", sil.to_str().unwrap()];
    assert!(e.eval_with(&t(0), &deadlocks(&t(0), 9.0), &s).is_empty(), "silenced");
    std::fs::write(
        &sil,
        "[[silence]]\nmatchers = [\"alertname=~Dead\"]\nends_at = \"2026-01-01T10:30:00Z\"\n",
    )
    .unwrap();
    assert_eq!(
        e.eval_with(&t(1), &deadlocks(&t(1), 9.0), &s).len(),
        1,
        "anchored: Dead does not match Deadlocks"
    );
    std::fs::write(
        &sil,
        "[[silence]]\nmatchers = [\"alertname=~(\"]\nends_at = \"2026-01-01T10:30:00Z\"\n",
    )
    .unwrap();
    let rules = e.p("rules.toml");
    let state = e.p("state.json");
    let r = alerts(
        &[
            "eval",
            "--rules",
            rules.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--silences",
            sil.to_str().unwrap(),
        ],
        "",
    );
    r.expect_code(78);
    assert!(r.stderr.contains("bad regular expression"), "{}", r.stderr);
}

#[test]
fn a_targets_labels_go_on_its_alerts_and_the_rules_labels_win() {
    let e = Env::new(&RULES.replace("for = \"5m\"", "for = \"0s\""));
    let labels = json!({"env": "prod", "team": "orders"});
    let bad = json!([{"name": "deadlocks", "status": "WARNING", "value": 9.0, "unit": "per_5min"},
                     {"name": "archiver", "status": "UNKNOWN", "message": "timed out"}]);
    let ev = e.eval(&t(0), &labelled_report(&t(0), bad, &labels));
    let by_name = |n: &str| ev.iter().find(|a| a["alertname"] == n).unwrap().clone();
    let d = by_name("Deadlocks");
    assert_eq!(
        (d["labels"]["env"].clone(), d["labels"]["team"].clone()),
        (json!("prod"), json!("dba")),
        "{d}"
    );
    assert_eq!(by_name("SwHealthCheckUnknown")["labels"]["env"], "prod");
    // The target goes silent: its staleness alert carries its labels too.
    let ev = e.eval(&t(12), "");
    let stale = ev.iter().find(|a| a["alertname"] == "SwHealthInputStale").unwrap();
    assert_eq!(stale["labels"]["env"], "prod", "{stale}");
}

#[test]
fn missing_or_stale_input_is_an_alert_and_never_a_silent_resolve() {
    let e = Env::new(&RULES.replace("for = \"5m\"", "for = \"0s\""));
    // Nothing ever received.
    let ev = e.eval(&t(0), "");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["alertname"], "SwHealthInputStale");
    assert_eq!(ev[0]["labels"]["instance"], "none");
    let ev = e.eval(&t(1), &deadlocks(&t(1), 9.0));
    let names: Vec<(&str, &str)> = ev
        .iter()
        .map(|e| (e["alertname"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("SwHealthInputStale", "resolved")), "{names:?}");
    assert!(names.contains(&("Deadlocks", "firing")), "{names:?}");
    // Input stops: after stale_after the staleness alert fires; Deadlocks stays firing.
    assert!(e.eval(&t(5), "").is_empty());
    let ev = e.eval(&t(12), "");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["alertname"], "SwHealthInputStale");
    assert_eq!(ev[0]["labels"]["instance"], "app@db1:5432/app");
    // An old report arriving late counts as stale too.
    assert!(e.eval(&t(13), &deadlocks(&t(1), 0.0)).is_empty());
    let state: Value = serde_json::from_str(&std::fs::read_to_string(e.p("state.json")).unwrap()).unwrap();
    assert!(
        state["alerts"]
            .as_object()
            .unwrap()
            .values()
            .any(|a| a["labels"]["alertname"] == "Deadlocks" && a["phase"] == "firing")
    );
    // Fresh input again: staleness resolves, and now Deadlocks can resolve.
    let ev = e.eval(&t(20), &deadlocks(&t(20), 0.0));
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(ev.iter().all(|e| e["status"] == "resolved"));
}

#[test]
fn an_unknown_check_is_its_own_alert_and_does_not_resolve_others() {
    let e = Env::new(
        &RULES
            .replace("for = \"5m\"", "for = \"0s\"")
            .replace("\"3m\"", "\"0s\""),
    );
    assert_eq!(e.eval(&t(0), &deadlocks(&t(0), 9.0)).len(), 1);
    let unknown = report(
        &t(1),
        json!([{"name": "deadlocks", "status": "UNKNOWN", "value": null, "message": "timed out after 2000 ms"}]),
    );
    let ev = e.eval(&t(1), &unknown);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["alertname"], "SwHealthCheckUnknown");
    assert_eq!(ev[0]["labels"]["check"], "deadlocks");
    assert!(ev[0]["annotations"]["summary"].as_str().unwrap().contains("timed out"));
}

#[test]
fn a_report_without_the_check_changes_nothing_but_a_skipped_check_resolves() {
    let e = Env::new(
        &RULES
            .replace("for = \"5m\"", "for = \"0s\"")
            .replace("\"3m\"", "\"0s\""),
    );
    assert_eq!(e.eval(&t(0), &deadlocks(&t(0), 9.0)).len(), 1);
    // The server is down: the report has only the connection check.
    let down = report(
        &t(1),
        json!([{"name": "connection", "status": "CRITICAL", "value": null}]),
    );
    assert!(
        e.eval(&t(1), &down).is_empty(),
        "Deadlocks must not resolve while nothing is known"
    );
    // Even when such a report lists the other checks as skipped.
    let mut down: Value = serde_json::from_str(&down).unwrap();
    down["time"] = json!(t(2));
    down["skipped"] = json!(["deadlocks"]);
    assert!(
        e.eval(&t(2), &(down.to_string() + "\n")).is_empty(),
        "Deadlocks must not resolve while the server is unreachable"
    );
    let mut skipped: Value = serde_json::from_str(&report(&t(3), json!([]))).unwrap();
    skipped["skipped"] = json!(["deadlocks"]);
    let ev = e.eval(&t(3), &(skipped.to_string() + "\n"));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["status"], "resolved");
}

#[test]
fn the_default_rule_pack_covers_the_asked_for_rules() {
    let r = alerts(&["default-rules"], "");
    r.expect_code(0);
    for name in [
        "HostCpuHigh",
        "HostMemoryHigh",
        "StorageHigh",
        "FailedConnections",
        "Deadlocks",
        "ReplicationLag",
        "PostgresDown",
        "TransactionIdWraparound",
        "ArchivingFailing",
        "BackupTooOld",
        "PoolerClientsWaiting",
    ] {
        assert!(r.stdout.contains(&format!("name = \"{name}\"")), "{name}");
    }
    // Server down fires after its `for` (1m) with the default pack.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let down = |time: &str| {
        report(
            time,
            json!([{"name": "connection", "status": "CRITICAL", "value": null, "message": "connection refused"}]),
        )
    };
    let run = |now: &str| {
        let r = alerts(&["eval", "--state", state.to_str().unwrap(), "--now", now], &down(now));
        r.expect_code(0);
        r.records()
    };
    assert!(run(&t(0)).is_empty());
    let ev = run(&t(1));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["alertname"], "PostgresDown");
    assert_eq!(ev[0]["labels"]["severity"], "critical");
}

#[test]
fn the_default_pack_alerts_on_pooler_clients_still_waiting_after_five_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let run = |now: &str, waiting: f64| {
        let checks = json!([{"name": "pooler_waiting", "status": if waiting > 0.0 { "WARNING" } else { "OK" },
                             "value": waiting, "unit": "count", "warn": 0.0, "message": "clients waiting"}]);
        let r = alerts(
            &["eval", "--state", state.to_str().unwrap(), "--now", now],
            &report(now, checks),
        );
        r.expect_code(0);
        r.records()
    };
    // A burst that drains within its `for` never fires.
    assert!(run(&t(0), 180.0).is_empty());
    assert!(run(&t(1), 0.0).is_empty());
    assert!(run(&t(2), 40.0).is_empty());
    assert!(run(&t(6), 40.0).is_empty(), "pending since minute 2");
    let ev = run(&t(7), 40.0);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["alertname"], "PoolerClientsWaiting");
    assert_eq!(ev[0]["labels"]["severity"], "warning");
}

#[test]
fn malformed_input_exits_65_naming_the_line() {
    let e = Env::new(RULES);
    let rules = e.p("rules.toml");
    let state = e.p("state.json");
    let args = [
        "eval",
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let input = deadlocks(&t(0), 1.0) + "{not json\n";
    let r = alerts(&args, &input);
    r.expect_error(65, "stdin:2: malformed JSON");
    assert!(!state.exists(), "nothing changes on bad input");
    let r = alerts(&args, "{\"kind\":\"health.ping\",\"schema\":1}\n");
    r.expect_code(65);
    assert!(r.stderr.contains("stdin:1: unexpected record kind"), "{}", r.stderr);
    // A report without its time does not match the shared type.
    let r = alerts(
        &args,
        "{\"kind\":\"health.report\",\"schema\":1,\"target\":\"x\",\"checks\":[]}\n",
    );
    r.expect_error(65, "stdin:1: health.report record does not match its schema");
    assert!(r.stderr.contains("`time`"), "{}", r.stderr);
    // Nor does one whose time is not RFC 3339.
    let mut bad: Value = serde_json::from_str(&deadlocks(&t(0), 1.0)).unwrap();
    bad["time"] = json!("yesterday");
    let r = alerts(&args, &(bad.to_string() + "\n"));
    r.expect_error(65, "stdin:1: health.report record does not match its schema");
    assert!(r.stderr.contains("not an RFC 3339 time"), "{}", r.stderr);
    let r = alerts(
        &["notify", "--exec", "true", "--outbox", e.p("ob").to_str().unwrap()],
        "[]\n",
    );
    r.expect_code(65);
    // Absurd durations are usage errors, not a panic in clock arithmetic.
    for flag in ["--timeout", "--retry-delay"] {
        let r = alerts(&["notify", "--exec", "true", flag, "200000000000000d"], "");
        r.expect_code(64);
        assert!(r.stderr.contains("too long"), "{}", r.stderr);
    }
    // Bad rules are configuration errors.
    std::fs::write(&rules, "[[rule]]\nname = \"X\"\ncheck = \"c\"\n").unwrap();
    let r = alerts(&args, "");
    r.expect_code(78);
    assert!(r.stderr.contains("needs above, below or status"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// Deliveries.

fn firing_event() -> String {
    let e = Env::new(
        &RULES
            .replace("for = \"5m\"", "for = \"0s\"")
            .replace("\"3m\"", "\"0s\""),
    );
    let mut out = String::new();
    for ev in e.eval(&t(0), &deadlocks(&t(0), 9.0)) {
        out.push_str(&ev.to_string());
        out.push('\n');
    }
    for ev in e.eval(&t(1), &deadlocks(&t(1), 0.0)) {
        out.push_str(&ev.to_string());
        out.push('\n');
    }
    assert_eq!(out.lines().count(), 2);
    out
}

/// The first event of [`firing_event`] (the firing one), as a line.
fn first_firing_event() -> String {
    firing_event().lines().next().unwrap().to_owned() + "\n"
}

/// Serve `n` HTTP requests on `l`, sending (path, body) of each to the channel.
fn http_server(l: TcpListener, n: usize) -> mpsc::Receiver<(String, Value)> {
    http_server_answering(l, vec![200; n])
}

/// Serve one request per status on `l`, answering each with its status.
fn http_server_answering(l: TcpListener, statuses: Vec<u16>) -> mpsc::Receiver<(String, Value)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let (mut s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            s.write_all(format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").as_bytes())
                .unwrap();
            let path = first.split(' ').nth(1).unwrap().to_owned();
            tx.send((path, serde_json::from_slice(&body).unwrap())).unwrap();
        }
    });
    rx
}

fn notify(args: &[&str], outbox: &Path, stdin: &str) -> Run {
    let mut a = vec![
        "notify",
        "--outbox",
        outbox.to_str().unwrap(),
        "--attempts",
        "2",
        "--retry-delay",
        "50ms",
    ];
    a.extend_from_slice(args);
    alerts(&a, stdin)
}

/// `notify` to an SMTP server, from sw@example.org to dba@example.org, then `extra`.
fn notify_email(server: &str, extra: &[&str], outbox: &Path, stdin: &str) -> Run {
    let mut a = vec![
        "--smtp-server",
        server,
        "--smtp-from",
        "sw@example.org",
        "--smtp-to",
        "dba@example.org",
    ];
    a.extend_from_slice(extra);
    notify(&a, outbox, stdin)
}

#[test]
fn webhook_gets_the_alertmanager_v4_payload_and_teams_slack_their_own() {
    let events = firing_event();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let rx = http_server(l, 6);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/hook");
    let slack_file = dir.path().join("slack.url");
    std::fs::write(&slack_file, format!("http://127.0.0.1:{port}/slack/T0KEN\n")).unwrap();
    let slack_arg = format!("@{}", slack_file.display());
    let teams = format!("http://127.0.0.1:{port}/teams");
    let r = notify(
        &["--webhook", &url, "--slack", &slack_arg, "--teams", &teams],
        &dir.path().join("ob"),
        &events,
    );
    r.expect_code(0);
    let recs = r.records();
    assert_eq!(recs.len(), 6);
    assert!(
        recs.iter()
            .all(|d| d["kind"] == "alert.delivery" && d["delivered"] == true)
    );
    assert!(!r.stdout.contains("T0KEN") && !r.stderr.contains("T0KEN"));
    let got: Vec<(String, Value)> = (0..6)
        .map(|_| rx.recv_timeout(Duration::from_secs(20)).unwrap())
        .collect();
    let hooks: Vec<&Value> = got.iter().filter(|(p, _)| p == "/hook").map(|(_, b)| b).collect();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0]["version"], "4");
    assert_eq!(hooks[0]["status"], "firing");
    assert_eq!(hooks[0]["truncatedAlerts"], 0);
    assert_eq!(hooks[0]["alerts"][0]["labels"]["alertname"], "Deadlocks");
    assert!(hooks[0]["alerts"][0]["fingerprint"].as_str().unwrap().len() == 16);
    assert!(hooks[0]["groupKey"].is_string());
    assert_eq!(hooks[1]["status"], "resolved");
    assert_eq!(hooks[1]["alerts"][0]["endsAt"], "2026-01-01T10:01:00.000Z");
    let slack = got.iter().find(|(p, _)| p == "/slack/T0KEN").unwrap();
    assert!(slack.1["text"].as_str().unwrap().contains("[FIRING] Deadlocks"));
    let teams = got.iter().find(|(p, _)| p == "/teams").unwrap();
    assert_eq!(
        teams.1["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(
        std::fs::read_dir(dir.path().join("ob"))
            .unwrap()
            .all(|e| e.unwrap().file_name() == ".lock")
    );
}

#[test]
fn a_listener_that_is_down_leaves_events_in_the_outbox_for_the_next_run() {
    let events = firing_event();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let dir = tempfile::tempdir().unwrap();
    let ob = dir.path().join("ob");
    let url = format!("http://127.0.0.1:{port}/hook");
    let r = notify(&["--webhook", &url], &ob, &events);
    r.expect_code(75);
    assert!(r.stderr.contains("2 notifications not delivered"), "{}", r.stderr);
    let queued = || {
        std::fs::read_dir(&ob)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some())
            .count()
    };
    assert_eq!(queued(), 2);
    // The receiver is back: the next run (no new input) delivers both, in order.
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let rx = http_server(l, 2);
    let r = notify(&["--webhook", &url], &ob, "");
    r.expect_code(0);
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap().1["status"], "firing");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)).unwrap().1["status"],
        "resolved"
    );
    assert_eq!(queued(), 0);
}

#[test]
fn a_payload_the_receiver_rejects_is_set_aside_and_does_not_hold_up_the_next() {
    let events = firing_event();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // 400 for the firing event (once: not retried), 200 for the resolved one.
    let rx = http_server_answering(l, vec![400, 200]);
    let dir = tempfile::tempdir().unwrap();
    let ob = dir.path().join("ob");
    let url = format!("http://127.0.0.1:{port}/hook");
    let r = notify(&["--webhook", &url], &ob, &events);
    r.expect_code(65);
    assert!(r.stderr.contains("rejected by their receiver"), "{}", r.stderr);
    let recs = r.records();
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0]["delivered"], false);
    assert_eq!(recs[0]["attempts"], 1);
    assert!(recs[0]["error"].as_str().unwrap().contains("HTTP 400"));
    assert_eq!(recs[1]["delivered"], true);
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap().1["status"], "firing");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)).unwrap().1["status"],
        "resolved"
    );
    let json_in = |d: &Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
            .count()
    };
    assert_eq!(json_in(&ob), 0, "nothing left to hold the channel up");
    assert_eq!(
        json_in(&ob.join("rejected")),
        1,
        "the rejected event is kept for inspection"
    );
    // The next run has nothing to send and succeeds.
    notify(&["--webhook", &url], &ob, "").expect_code(0);
}

#[test]
fn exec_gets_the_event_on_stdin_and_resolved_can_be_turned_off_per_channel() {
    let events = firing_event();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exec.out");
    let cmd = format!("cat >> '{}'", out.display());
    let r = notify(
        &["--exec", &cmd, "--no-resolved", "exec"],
        &dir.path().join("ob"),
        &events,
    );
    r.expect_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let ev: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(ev["kind"], "alert");
    assert_eq!(ev["status"], "firing");
    // A failing command keeps the event.
    let r = notify(&["--exec", "exit 3"], &dir.path().join("ob2"), &events);
    r.expect_code(75);
}

#[test]
fn resolved_notifications_can_be_turned_off_for_one_channel_of_a_kind() {
    let events = firing_event();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let rx = http_server(l, 3);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("notify.toml");
    std::fs::write(
        &cfg,
        format!(
            "webhook = [\"http://127.0.0.1:{port}/all\", {{ url = \"http://127.0.0.1:{port}/pager\", send_resolved = false }}]\n"
        ),
    )
    .unwrap();
    let r = notify(&["--config", cfg.to_str().unwrap()], &dir.path().join("ob"), &events);
    r.expect_code(0);
    let mut got: Vec<(String, String)> = (0..3)
        .map(|_| {
            let (p, b) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
            (p, b["status"].as_str().unwrap().to_owned())
        })
        .collect();
    got.sort();
    let want = [("/all", "firing"), ("/all", "resolved"), ("/pager", "firing")];
    assert_eq!(
        got,
        want.map(|(p, s)| (p.to_owned(), s.to_owned())).to_vec(),
        "{}",
        r.stdout
    );
    assert_eq!(r.records().len(), 3);
    // The same channel by flag and in the file is one channel: one delivery per event.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let rx = http_server(l, 2);
    let url = format!("http://127.0.0.1:{port}/all");
    std::fs::write(&cfg, format!("webhook = [\"{url}\"]\n")).unwrap();
    let r = notify(
        &["--config", cfg.to_str().unwrap(), "--webhook", &url],
        &dir.path().join("ob2"),
        &events,
    );
    r.expect_code(0);
    assert_eq!(r.records().len(), 2, "{}", r.stdout);
    for _ in 0..2 {
        rx.recv_timeout(Duration::from_secs(20)).unwrap();
    }
    // A table with an unknown key is a configuration error.
    std::fs::write(&cfg, "webhook = [{ url = \"http://x/\", send_resolve = false }]\n").unwrap();
    let r = notify(&["--config", cfg.to_str().unwrap()], &dir.path().join("ob"), "");
    r.expect_code(78);
}

/// A minimal SMTP server: records the conversation, accepts one message.
fn smtp_server(l: TcpListener, starttls: bool) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let mut log = String::new();
        w.write_all(b"220 test ESMTP\r\n").unwrap();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 {
                break;
            }
            log.push_str(&line);
            let up = line.to_ascii_uppercase();
            if up.starts_with("EHLO") {
                if starttls {
                    w.write_all(b"250-test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n").unwrap();
                } else {
                    w.write_all(b"250-test\r\n250 AUTH PLAIN\r\n").unwrap();
                }
            } else if up.starts_with("AUTH") {
                w.write_all(b"235 ok\r\n").unwrap();
            } else if up.starts_with("DATA") {
                w.write_all(b"354 go\r\n").unwrap();
                loop {
                    let mut l = String::new();
                    r.read_line(&mut l).unwrap();
                    log.push_str(&l);
                    if l == ".\r\n" {
                        break;
                    }
                }
                w.write_all(b"250 queued\r\n").unwrap();
            } else if up.starts_with("QUIT") {
                w.write_all(b"221 bye\r\n").unwrap();
                break;
            } else if up.starts_with("STARTTLS") {
                w.write_all(b"454 not now\r\n").unwrap();
            } else {
                w.write_all(b"250 ok\r\n").unwrap();
            }
        }
        tx.send(log).unwrap();
    });
    rx
}

#[test]
fn email_goes_out_over_smtp_with_credentials_from_a_file() {
    let firing = first_firing_event();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("smtp.env");
    std::fs::write(&creds, "SMTP_USER=alerts\nSMTP_PASSWORD=Sm7pS3cret\n").unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    let rx = smtp_server(l, false);
    let r = notify_email(
        &server,
        &[
            "--smtp-tls",
            "plain-insecure",
            "--smtp-credentials",
            creds.to_str().unwrap(),
        ],
        &dir.path().join("ob"),
        &firing,
    );
    r.expect_code(0);
    let log = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(log.contains("MAIL FROM:<sw@example.org>"), "{log}");
    assert!(log.contains("RCPT TO:<dba@example.org>"), "{log}");
    assert!(
        log.contains("Subject: [FIRING] Deadlocks app@db1:5432/app (warning)"),
        "{log}"
    );
    assert!(log.contains("9 deadlocks on app@db1:5432/app"), "{log}");
    let token = log.lines().find(|l| l.starts_with("AUTH PLAIN ")).unwrap();
    assert!(!token.contains("Sm7pS3cret"), "base64, not clear text");
    assert!(!r.stdout.contains("Sm7pS3cret") && !r.stderr.contains("Sm7pS3cret"));
}

#[test]
fn a_server_echoing_the_credentials_does_not_get_them_printed() {
    let firing = first_firing_event();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("smtp.env");
    std::fs::write(&creds, "SMTP_USER=alerts\nSMTP_PASSWORD=Sm7pS3cret\n").unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        w.write_all(b"220 test ESMTP\r\n").unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        w.write_all(b"250 AUTH PLAIN\r\n").unwrap();
        line.clear();
        r.read_line(&mut line).unwrap();
        w.write_all(format!("535 rejected {}\r\n", line.trim()).as_bytes())
            .unwrap();
        tx.send(line).unwrap();
    });
    let r = notify_email(
        &server,
        &[
            "--smtp-tls",
            "plain-insecure",
            "--smtp-credentials",
            creds.to_str().unwrap(),
        ],
        &dir.path().join("ob"),
        &firing,
    );
    r.expect_code(75);
    let auth = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let token = auth.trim().strip_prefix("AUTH PLAIN ").unwrap();
    assert!(r.stdout.contains("535 rejected"), "{}", r.stdout);
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains(token) && !out.contains("Sm7pS3cret"), "{out}");
    }
}

#[test]
fn smtp_requires_tls_by_default() {
    let firing = first_firing_event();
    let dir = tempfile::tempdir().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    let _rx = smtp_server(l, false);
    let r = notify_email(&server, &[], &dir.path().join("ob"), &firing);
    r.expect_code(75);
    assert!(r.stderr.contains("does not offer STARTTLS"), "{}", r.stderr);
}

#[test]
fn channels_come_from_a_config_file_and_hand_made_events_are_completed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exec.out");
    let cfg = dir.path().join("notify.toml");
    std::fs::write(
        &cfg,
        format!("exec = [\"cat >> '{}'\"]\nno_resolved = [\"slack\"]\n", out.display()),
    )
    .unwrap();
    // The shape scripts/sw-maintenance sends: no fingerprint, endsAt or time.
    let ev = "{\"kind\":\"alert\",\"schema\":1,\"status\":\"firing\",\"alertname\":\"sw-maintenance\",\"labels\":{\"job\":\"sw-maintenance\"},\"annotations\":{\"summary\":\"done\"},\"startsAt\":\"2026-01-01T00:00:00Z\"}\n";
    let r = notify(&["--config", cfg.to_str().unwrap()], &dir.path().join("ob"), ev);
    r.expect_code(0);
    let got: Value = serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert_eq!(got["labels"]["alertname"], "sw-maintenance");
    assert_eq!(got["fingerprint"].as_str().unwrap().len(), 16);
    std::fs::write(&cfg, "bogus = 1\n").unwrap();
    notify(&["--config", cfg.to_str().unwrap()], &dir.path().join("ob"), "").expect_code(78);
    notify(&[], &dir.path().join("ob"), "").expect_code(64);
}

trait Rw: Read + Write {}
impl<T: Read + Write> Rw for T {}

fn read_line(s: &mut dyn Rw) -> Option<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        out.push(b[0]);
        if b[0] == b'\n' {
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
    }
}

/// An SMTP server with real TLS (implicit, or after STARTTLS); records the
/// conversation after the handshake.
fn smtp_tls_server(l: TcpListener, certs: sw_testkit::tls::Certs, implicit: bool) -> mpsc::Receiver<String> {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        b.set_certificate_file(&certs.server_cert, SslFiletype::PEM).unwrap();
        b.set_private_key_file(&certs.server_key, SslFiletype::PEM).unwrap();
        let acceptor = b.build();
        let (tcp, _) = l.accept().unwrap();
        let mut s: Box<dyn Rw> = if implicit {
            Box::new(acceptor.accept(tcp).unwrap())
        } else {
            let mut tcp = tcp;
            tcp.write_all(b"220 test ESMTP\r\n").unwrap();
            loop {
                let line = read_line(&mut tcp).unwrap();
                if line.to_ascii_uppercase().starts_with("STARTTLS") {
                    tcp.write_all(b"220 go ahead\r\n").unwrap();
                    break;
                }
                tcp.write_all(b"250-test\r\n250 STARTTLS\r\n").unwrap();
            }
            Box::new(acceptor.accept(tcp).unwrap())
        };
        if implicit {
            s.write_all(b"220 test ESMTP\r\n").unwrap();
        }
        let mut log = String::new();
        while let Some(line) = read_line(&mut *s) {
            log.push_str(&line);
            let up = line.to_ascii_uppercase();
            let reply: &[u8] = if up.starts_with("EHLO") {
                b"250-test\r\n250 AUTH PLAIN\r\n"
            } else if up.starts_with("AUTH") {
                b"235 ok\r\n"
            } else if up.starts_with("DATA") {
                s.write_all(b"354 go\r\n").unwrap();
                while let Some(l) = read_line(&mut *s) {
                    log.push_str(&l);
                    if l == ".\r\n" {
                        break;
                    }
                }
                b"250 queued\r\n"
            } else if up.starts_with("QUIT") {
                s.write_all(b"221 bye\r\n").unwrap();
                break;
            } else {
                b"250 ok\r\n"
            };
            s.write_all(reply).unwrap();
        }
        tx.send(log).unwrap();
    });
    rx
}

#[test]
fn email_over_starttls_and_implicit_tls_verifies_the_server() {
    let firing = first_firing_event();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("smtp.env");
    std::fs::write(&creds, "SMTP_USER=alerts\nSMTP_PASSWORD=Sm7pS3cret\n").unwrap();
    for (mode, implicit) in [("starttls", false), ("implicit", true)] {
        let certs = sw_testkit::tls::make(&dir.path().join(format!("tls-{mode}")), &["localhost"]);
        let ca = certs.ca_cert.clone();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = format!("localhost:{}", l.local_addr().unwrap().port());
        let rx = smtp_tls_server(l, certs, implicit);
        let r = notify_email(
            &server,
            &[
                "--smtp-tls",
                mode,
                "--smtp-ca",
                ca.to_str().unwrap(),
                "--smtp-credentials",
                creds.to_str().unwrap(),
            ],
            &dir.path().join(format!("ob-{mode}")),
            &firing,
        );
        r.expect_code(0);
        let log = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(log.contains("AUTH PLAIN "), "{mode}: {log}");
        assert!(log.contains("Subject: [FIRING] Deadlocks"), "{mode}: {log}");
    }
    // Without the CA the server's certificate is not trusted: nothing is sent.
    let certs = sw_testkit::tls::make(&dir.path().join("tls-untrusted"), &["localhost"]);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("localhost:{}", l.local_addr().unwrap().port());
    let _rx = smtp_tls_server(l, certs, true);
    let r = notify_email(
        &server,
        &["--smtp-tls", "implicit"],
        &dir.path().join("ob-untrusted"),
        &firing,
    );
    r.expect_code(75);
    assert!(r.stderr.contains("TLS handshake"), "{}", r.stderr);
}

#[test]
fn https_webhooks_verify_the_receiver() {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    let firing = first_firing_event();
    let dir = tempfile::tempdir().unwrap();
    let certs = sw_testkit::tls::make(&dir.path().join("tls"), &["localhost"]);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let (cert, key) = (certs.server_cert.clone(), certs.server_key.clone());
    std::thread::spawn(move || {
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        b.set_certificate_file(&cert, SslFiletype::PEM).unwrap();
        b.set_private_key_file(&key, SslFiletype::PEM).unwrap();
        let acceptor = b.build();
        for _ in 0..3 {
            let (tcp, _) = l.accept().unwrap();
            let Ok(mut s) = acceptor.accept(tcp) else { continue };
            let mut head = String::new();
            while let Some(line) = read_line(&mut s) {
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            let mut body = vec![0; len];
            s.read_exact(&mut body).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
            tx.send(serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
        }
    });
    let url = format!("https://localhost:{port}/hook");
    // Not trusted without the CA: kept in the outbox.
    let ob = dir.path().join("ob");
    let r = notify(&["--webhook", &url], &ob, &firing);
    r.expect_code(75);
    let r = notify(
        &["--webhook", &url, "--webhook-ca", certs.ca_cert.to_str().unwrap()],
        &ob,
        "",
    );
    r.expect_code(0);
    let got = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(got["version"], "4");
    assert_eq!(got["alerts"][0]["status"], "firing");
}
