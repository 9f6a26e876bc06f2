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

// ---- sw-health serve under a real Prometheus ----

fn health_bin() -> PathBuf {
    cmd::sibling_bin(ALERTS, "sw-health", "sw-health")
}

/// A running `sw-health serve` on a free loopback port; killed on drop.
struct Serve {
    child: std::process::Child,
    port: u16,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        Serve::start_until(args, |s| s.get("/healthz", None).0 == 200)
    }

    /// Start and wait until `ready` holds.
    fn start_until(args: &[&str], ready: impl Fn(&Serve) -> bool) -> Serve {
        let port = prom::free_port();
        let listen = format!("127.0.0.1:{port}");
        let child = cmd::command(&health_bin())
            .args(["serve", "--listen", &listen])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let s = Serve { child, port };
        wait("sw-health serve to answer", || ready(&s));
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// GET a path (with an Accept header): status, content type, body.
    fn get(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut req = agent.get(format!("{}{path}", self.url()));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        match req.call() {
            Ok(mut r) => {
                let ct = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                (r.status().as_u16(), ct, r.body_mut().read_to_string().unwrap())
            }
            Err(e) => (0, String::new(), e.to_string()),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the sample `series` (name and labels exactly as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .map(|v| v.parse().unwrap())
}

fn prometheus_config(serve: &Serve, interval: &str, extra: &str) -> String {
    format!(
        "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: sw-health\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n{extra}",
        serve.port
    )
}

#[test]
fn prometheus_scrapes_serve_and_scrapes_inside_the_interval_run_the_checks_once() {
    let c = sw_testkit::pg::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut targets = String::new();
    for i in 0..3 {
        let db = c.fresh_db(&format!("serve{i}"));
        targets.push_str(&format!(
            "[[target]]\ninstance = \"db{i}\"\nurl = \"{}\"\nlabels = {{ env = \"test\" }}\n\n",
            c.url(&db)
        ));
    }
    targets.push_str(&format!(
        "[[target]]\ninstance = \"gone\"\nurl = \"postgresql://u:pw@127.0.0.1:{}/x\"\n",
        prom::free_port()
    ));
    let tf = write(dir.path(), "targets.toml", &targets);
    let st = dir.path().join("state");
    let serve = Serve::start(&[
        "--targets",
        tf.to_str().unwrap(),
        "--min-interval",
        "1h",
        "--connect-timeout",
        "3s",
        "--state-dir",
        st.to_str().unwrap(),
        "--checks",
        "connection,connections,database_size",
    ]);
    // Two scrapes inside the minimum interval: one check run, one result.
    let om = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let (code, ct, first) = serve.get("/metrics", Some(om));
    assert_eq!(code, 200, "{first}");
    assert!(ct.starts_with("application/openmetrics-text; version=1.0.0"), "{ct}");
    assert!(first.ends_with("# EOF\n"), "{first}");
    let (_, ct, second) = serve.get("/metrics", None);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    assert_eq!(sample(&first, "sw_health_runs_total"), Some(1.0), "{first}");
    assert_eq!(sample(&second, "sw_health_runs_total"), Some(1.0), "{second}");
    let last = "sw_health_last_run_timestamp_seconds{instance=\"db0\",env=\"test\"}";
    assert_eq!(sample(&first, last), sample(&second, last));
    assert_eq!(sample(&first, "sw_health_up{instance=\"gone\"}"), Some(0.0), "{first}");

    let p = prom::Prometheus::start(&prometheus_config(&serve, "1s", ""), &[]);
    let up = p.wait_for("sw_health_up", Duration::from_secs(60), |r| r.len() == 4);
    let mut seen: Vec<(String, String)> = up
        .iter()
        .map(|s| {
            (
                s["metric"]["instance"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let want = [("db0", "1"), ("db1", "1"), ("db2", "1"), ("gone", "0")].map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(seen, want);
    assert!(up.iter().all(|s| s["metric"]["job"] == "sw-health"));
    // Several scrapes later, still the one run.
    p.wait_for(
        "count_over_time(sw_health_runs_total[1m])",
        Duration::from_secs(60),
        |r| {
            r.first()
                .is_some_and(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap() >= 3.0)
        },
    );
    let runs = p.query("max_over_time(sw_health_runs_total[1m])");
    assert_eq!(runs[0]["value"][1], "1", "{runs:?}");
    // The exporter's own endpoints.
    assert_eq!(serve.get("/nope", None).0, 404);
    assert_eq!(serve.get("/", None).0, 200);
}

/// The default rule pack with the ConnectionsHigh rule's `for` shortened.
fn pack_with_short_connections_for() -> String {
    let pack = alerts(&["default-rules"], None).stdout;
    let at = pack.find("name = \"ConnectionsHigh\"").unwrap();
    let (head, tail) = pack.split_at(at);
    format!("{head}{}", tail.replacen("for = \"5m\"", "for = \"3s\"", 1))
}

#[test]
fn prometheus_fires_the_generated_connections_rule_and_alertmanager_gets_it() {
    let c = sw_testkit::pg::TestCluster::start_with(&sw_testkit::pg::Opts {
        settings: vec![("max_connections".into(), "20".into())],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let rules_toml = write(dir.path(), "rules.toml", &pack_with_short_connections_for());
    let r = alerts(&["prometheus-rules", "--rules", rules_toml.to_str().unwrap()], None);
    r.expect_code(0);
    let st = dir.path().join("state");
    let url = c.url("postgres");
    let serve = Serve::start(&[
        "--db",
        &url,
        "--min-interval",
        "1s",
        "--state-dir",
        st.to_str().unwrap(),
        "--checks",
        "connection,connections",
    ]);
    let hook = Receiver::start();
    let pair = AlertmanagerPair::start(&prom::alertmanager_config(&hook.url));
    let [a, b] = pair.urls();
    let am = format!(
        "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}', '{}']\nrule_files: ['rules.yml']\n",
        a.trim_start_matches("http://"),
        b.trim_start_matches("http://")
    );
    let p = prom::Prometheus::start(&prometheus_config(&serve, "2s", &am), &[("rules.yml", &r.stdout)]);
    p.wait_for(
        "sw_health_check_ratio{check=\"connections\"}",
        Duration::from_secs(60),
        |r| !r.is_empty(),
    );
    let firing = |p: &prom::Prometheus| {
        p.alerts()
            .into_iter()
            .filter(|a| a["labels"]["alertname"] == "ConnectionsHigh")
            .collect::<Vec<Value>>()
    };
    assert!(firing(&p).is_empty(), "a few connections are not 80 %");
    // 14 sessions and sw-health's own: 15 of the 17 left after the 3 reserved.
    let held: Vec<Session> = (0..14).map(|_| Session::open(&c)).collect();
    let start = Instant::now();
    let alert = loop {
        if let Some(a) = firing(&p).into_iter().find(|a| a["state"] == "firing") {
            break a;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "ConnectionsHigh never fired: {:?}",
            p.alerts()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(alert["labels"]["severity"], "warning");
    assert_eq!(alert["labels"]["check"], "connections");
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("% of the usable connections in use on postgres@127.0.0.1:"),
        "{summary}"
    );
    let pct: f64 = summary.split('%').next().unwrap().parse().unwrap();
    assert!(pct > 80.0, "{summary}");
    // Prometheus hands it to the Alertmanager pair.
    wait("Alertmanager to hold ConnectionsHigh", || {
        !pair.alerts_named(0, "ConnectionsHigh").is_empty()
    });
    drop(held);
}

/// A psql session kept open (stdin is a pipe) until dropped.
struct Session(std::process::Child);

impl Session {
    fn open(c: &sw_testkit::pg::TestCluster) -> Session {
        let mut cmd = c.runner().command("psql");
        cmd.args(["-X", "-q", "-h"])
            .arg(&c.socket_dir)
            .args(["-p", &c.port.to_string(), "-U", "postgres", "-d", "postgres"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        Session(cmd.spawn().unwrap())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// bcrypt of "s3cret-pass", cost 10 (libxcrypt's, as `htpasswd -nBC 10` makes them).
const HASH: &str = "$2b$10$q5VLE2EdLI/Gikhpso5wvu2JhsrSWQUX0oYtN9rjvjKUdZovcguPK";

/// GET over https, trusting `ca`, with basic auth when given: status and body.
fn https_get(url: &str, ca: &Path, auth: Option<(&str, &str)>) -> (u16, String) {
    let pem = std::fs::read(ca).unwrap();
    let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs)))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some((u, p)) = auth {
        let token = openssl::base64::encode_block(format!("{u}:{p}").as_bytes());
        req = req.header("authorization", format!("Basic {token}"));
    }
    match req.call() {
        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap()),
        Err(e) => (0, e.to_string()),
    }
}

#[test]
fn serve_speaks_tls_with_basic_auth_from_an_exporter_toolkit_web_config() {
    let c = sw_testkit::pg::shared();
    let dir = tempfile::tempdir().unwrap();
    let certs = sw_testkit::tls::make(&dir.path().join("tls"), &["localhost"]);
    let web = write(
        dir.path(),
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  prometheus: {HASH}\n",
            certs.server_cert.display(),
            certs.server_key.display()
        ),
    );
    let st = dir.path().join("state");
    let url = c.url("postgres");
    let ca = certs.ca_cert.clone();
    let serve = Serve::start_until(
        &[
            "--db",
            &url,
            "--web.config.file",
            web.to_str().unwrap(),
            "--state-dir",
            st.to_str().unwrap(),
            "--checks",
            "connection",
        ],
        |s| https_get(&format!("https://localhost:{}/healthz", s.port), &ca, None).0 == 401,
    );
    let base = format!("https://localhost:{}", serve.port);
    let (code, body) = https_get(&format!("{base}/metrics"), &ca, Some(("prometheus", "wrong")));
    assert_eq!(code, 401, "{body}");
    let (code, body) = https_get(&format!("{base}/metrics"), &ca, Some(("prometheus", "s3cret-pass")));
    assert_eq!(code, 200, "{body}");
    assert!(
        body.lines()
            .any(|l| l.starts_with("sw_health_up{") && l.ends_with(" 1")),
        "{body}"
    );
    // Plain HTTP gets nothing from a TLS port.
    assert_ne!(serve.get("/metrics", None).0, 200);
    // A real Prometheus scrapes it the way a team would configure it.
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: sw-health\n    honor_labels: true\n    scheme: https\n\
         \x20   tls_config:\n      ca_file: {}\n      server_name: localhost\n    basic_auth:\n      username: prometheus\n      password: s3cret-pass\n\
         \x20   static_configs:\n      - targets: ['localhost:{}']\n",
        ca.display(),
        serve.port
    );
    let p = prom::Prometheus::start(&cfg, &[]);
    p.wait_for("sw_health_up == 1", Duration::from_secs(60), |r| r.len() == 1);
}
