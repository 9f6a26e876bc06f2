//! Pipelines end to end: the real `sw-health | sw-alerts eval | sw-alerts
//! notify` against a real cluster with a provoked problem, delivered to a
//! local webhook listener; and the scripts that chain the tools
//! (scripts/sw-maintenance, scripts/systemd/sw-monitor) and the systemd
//! units, every call they make checked against the real programs'
//! argument parsers.
//!
//! The suite belongs to the sw-alerts package (so `CARGO_BIN_EXE_sw-alerts`
//! exists); the other binaries are found beside it with
//! `sw_testkit::cmd::sibling_bin`.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::TestCluster;

const ALERTS: &str = env!("CARGO_BIN_EXE_sw-alerts");

// ---- sw-health | sw-alerts eval | sw-alerts notify, for real ----

fn health_bin() -> PathBuf {
    cmd::sibling_bin(ALERTS, "sw-health", "sw-health")
}

/// A psql session kept open in the background (stdin is a pipe).
struct Session(Child);

impl Session {
    fn open(c: &TestCluster, db: &str) -> Session {
        let mut cmd = c.runner().command("psql");
        cmd.args(["-X", "-q", "-A", "-t", "-h"])
            .arg(&c.socket_dir)
            .args(["-p", &c.port.to_string(), "-U", "postgres", "-d", db])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Session(cmd.spawn().unwrap())
    }
    fn send(&mut self, sql: &str) {
        let stdin = self.0.stdin.as_mut().unwrap();
        stdin.write_all(sql.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Poll `sql` on database postgres until it returns `want` (30 s at most).
fn wait_for(c: &TestCluster, sql: &str, want: &str) {
    let start = Instant::now();
    while c.psql("postgres", sql) != want {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited in vain for {sql} = {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Serve one HTTP request per status on `l`, answering each with its
/// status; sends (path, JSON body) of each to the channel.
fn webhook_listener(l: TcpListener, statuses: Vec<u16>) -> mpsc::Receiver<(String, Value)> {
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

/// A rule on the idle-in-transaction check that fires at once.
const IDLE_RULES: &str = r#"
stale_after = "10m"
[[rule]]
name = "IdleInTransaction"
check = "idle_in_transaction"
status = "WARNING"
for = "0s"
severity = "critical"
labels = { team = "dba" }
annotations = { summary = "a session has been idle in a transaction for {{ value }} {{ unit }} on {{ instance }}" }
"#;

/// One run of the pipeline, stage by stage through the test kit (each
/// stage's stdin is the previous one's stdout, and every record is checked
/// against its schema): the health report, eval's alerts, notify's run.
struct Stages {
    report: Value,
    alerts: Vec<Value>,
    notify: Run,
}

struct Pipeline {
    dir: tempfile::TempDir,
    url: String,
    webhook: String,
}

impl Pipeline {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// `sw-health check | sw-alerts eval | sw-alerts notify --webhook`;
    /// sw-health must exit `health_exit`.
    fn run(&self, health_exit: i32) -> Stages {
        let health = cmd::run(
            &health_bin(),
            &[
                "check",
                "--db",
                &self.url,
                "--state-dir",
                &self.path("health-state"),
                "--checks",
                "connection,idle_in_transaction",
                "--warn",
                "idle_in_transaction=0.5",
                "--crit",
                "idle_in_transaction=1",
            ],
            None,
        );
        health.expect_code(health_exit);
        let report = health.one("health.report");
        let eval = cmd::run(
            ALERTS.as_ref(),
            &[
                "eval",
                "--rules",
                &self.path("rules.toml"),
                "--state",
                &self.path("alerts.json"),
            ],
            Some(&health.stdout),
        );
        eval.expect_code(0);
        let notify = cmd::run(
            ALERTS.as_ref(),
            &[
                "notify",
                "--webhook",
                &self.webhook,
                "--outbox",
                &self.path("outbox"),
                "--attempts",
                "1",
            ],
            Some(&eval.stdout),
        );
        Stages {
            report,
            alerts: eval.records(),
            notify,
        }
    }
}

#[test]
fn a_session_idle_in_transaction_reaches_the_webhook_as_a_firing_alert_then_resolves() {
    let c = sw_testkit::pg::shared();
    let db = c.fresh_db("idle_pipeline");
    c.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)",
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let received = webhook_listener(l, vec![200, 200]);
    let p = Pipeline {
        dir: tempfile::tempdir().unwrap(),
        url: c.url(&db),
        webhook: format!("http://127.0.0.1:{port}/alertmanager"),
    };
    std::fs::write(p.dir.path().join("rules.toml"), IDLE_RULES).unwrap();
    // The problem: a transaction left open past the lowered thresholds.
    let mut holder = Session::open(c, &db);
    holder.send("BEGIN; UPDATE t SET v = 1 WHERE id = 1;");
    wait_for(
        c,
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND state = 'idle in transaction'"),
        "1",
    );
    std::thread::sleep(Duration::from_millis(1500));
    let s = p.run(2);
    let idle = s.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "idle_in_transaction")
        .unwrap()
        .clone();
    assert_eq!(idle["status"], "CRITICAL", "{idle}");
    let instance = s.report["target"].as_str().unwrap().to_owned();
    assert!(instance.contains(&format!(":{}/{db}", c.port)), "{instance}");
    assert_eq!(s.alerts.len(), 1, "{:?}", s.alerts);
    s.notify.expect_code(0);
    let d = s.notify.one("alert.delivery");
    assert_eq!(d["delivered"], true, "{d}");
    assert_eq!(d["channel"], format!("webhook http://127.0.0.1:{port}"));
    // What arrives is Alertmanager's webhook payload for that alert.
    let (path, body) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(path, "/alertmanager");
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    let alert = &body["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(
        alert["labels"],
        json!({"alertname": "IdleInTransaction", "check": "idle_in_transaction",
               "instance": instance, "severity": "critical", "team": "dba"})
    );
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("a session has been idle in a transaction for ")
            && summary.ends_with(&format!(" s on {instance}")),
        "{summary}"
    );
    assert_eq!(alert["fingerprint"], s.alerts[0]["fingerprint"]);
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00.000Z");
    // The session ends: the next run resolves the alert, and that arrives too.
    drop(holder);
    wait_for(
        c,
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND state = 'idle in transaction'"),
        "0",
    );
    let s = p.run(0);
    assert_eq!(s.alerts.len(), 1, "{:?}", s.alerts);
    s.notify.expect_code(0);
    let (_, body) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["alerts"][0]["labels"]["instance"], instance);
    assert_eq!(body["alerts"][0]["fingerprint"], alert["fingerprint"]);
}

// ---- scripts: systemd units and the maintenance pipeline ----

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let units = repo().join("scripts/systemd");
    let tmp = tempfile::tempdir().unwrap();
    // Point ExecStart at binaries that exist here so verify checks everything else.
    let fake = tmp.path().join("bin");
    std::fs::create_dir(&fake).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&units).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".service") || name.ends_with(".timer")) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("\t"), "{name}: tabs");
        if name.ends_with(".service") {
            for key in [
                "NoNewPrivileges=yes",
                "PrivateTmp=yes",
                "ProtectSystem=strict",
                // The repository's owner (sw-backup setup hands it to the server's user).
                "User=postgres",
                "Environment=XDG_STATE_HOME=/var/lib",
            ] {
                assert!(text.contains(key), "{name} lacks {key}");
            }
            exec_start_parses(&name, &text);
        }
        let text = text.replace("/usr/local/bin/", &format!("{}/", fake.display()));
        std::fs::write(tmp.path().join(&name), text).unwrap();
        names.push(name);
    }
    assert_eq!(names.len(), 11, "{names:?}");
    let timer = std::fs::read_to_string(units.join("sw-maintenance.timer")).unwrap();
    for key in [
        "OnCalendar=Sun *-*-* 03:00:00",
        "Persistent=true",
        "RandomizedDelaySec=",
    ] {
        assert!(timer.contains(key), "sw-maintenance.timer lacks {key}");
    }
    for bin in [
        "sw-vacuum",
        "sw-health",
        "sw-alerts",
        "sw-backup",
        "sw-restore",
        "sw-maintenance",
        "sw-monitor",
    ] {
        let p = fake.join(bin);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The content checks above run everywhere; verify where systemd is.
    let Ok(sa) = which("systemd-analyze") else {
        eprintln!("systemd-analyze not installed: unit verification not possible here");
        return;
    };
    let mut cmd = Command::new(sa);
    cmd.arg("verify").arg("--man=no").arg("--recursive-errors=no");
    for n in &names {
        cmd.arg(tmp.path().join(n));
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The units name a dedicated user that need not exist on a build machine.
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.contains("Failed to resolve user") && !l.contains("user sw"))
        .collect();
    // Findings are printed as warnings ("..., ignoring") with exit 0, so
    // any output at all is a failure.
    assert!(problems.is_empty(), "systemd-analyze verify: {stderr}");
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
}

/// The unit's ExecStart, with `${VAR}` from its Environment= lines and
/// SW_BACKUP_REPO from the env file, parses with the real program.
fn exec_start_parses(name: &str, text: &str) {
    let mut vars = std::collections::HashMap::new();
    for l in text.lines().filter_map(|l| l.strip_prefix("Environment=")) {
        for kv in l.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                vars.insert(format!("${{{k}}}"), v.to_owned());
            }
        }
    }
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("{name}: no ExecStart"));
    let mut argv: Vec<String> = line
        .split_whitespace()
        .map(|w| vars.get(w).cloned().unwrap_or_else(|| w.to_owned()))
        .collect();
    assert!(
        argv.iter().all(|a| !a.contains('$')),
        "{name}: unset variable in {argv:?}"
    );
    argv[0] = argv[0].rsplit('/').next().unwrap().to_owned();
    match argv[0].as_str() {
        // Scripts: checked by their own tests below.
        "sw-maintenance" | "sw-monitor" => {}
        _ => {
            if matches!(argv[0].as_str(), "sw-backup" | "sw-restore") {
                // SW_BACKUP_REPO comes from /etc/sw/sw.env.
                argv.extend(["--repo".to_owned(), "/var/backups/sw".to_owned()]);
            }
            if let Err(e) = parses(&argv) {
                panic!("{name}: {e}");
            }
        }
    }
}

fn which(name: &str) -> Result<PathBuf, ()> {
    for dir in ["/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(())
}

/// A stand-in program; with ARGV_LOG set it appends its argv (name first,
/// fields separated by 0x1f) so the test can check every call against the
/// real program's argument parser.
fn stub(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    // One write per call (programs in a pipeline run at the same time).
    let record = "if [ -n \"${ARGV_LOG:-}\" ]; then l=$(printf '%s\\037' \"${0##*/}\" \"$@\"); printf '%s\\n' \"$l\" >>\"$ARGV_LOG\"; fi";
    std::fs::write(&p, format!("#!/bin/sh\n{record}\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Parse one call with the real program's clap definition.
fn parses(argv: &[String]) -> Result<(), String> {
    let cmd = match argv[0].as_str() {
        "sw-backup" => sw_backup::command(),
        "sw-restore" => sw_restore::command(),
        "sw-health" => sw_health::command(),
        "sw-alerts" => sw_alerts::command(),
        "sw-vacuum" => sw_vacuum::command(),
        other => return Err(format!("unknown program {other}")),
    };
    cmd.try_get_matches_from(argv)
        .map(|_| ())
        .map_err(|e| format!("{argv:?}: {e}"))
}

/// The calls recorded in an ARGV_LOG, each checked with the real parser;
/// returns "program subcommand" for each.
fn checked_calls(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            let argv: Vec<String> = l.split('\u{1f}').filter(|a| !a.is_empty()).map(str::to_owned).collect();
            if let Err(e) = parses(&argv) {
                panic!("a script calls a program with arguments it rejects: {e}");
            }
            match argv.get(1) {
                Some(sub) if !sub.starts_with('-') => format!("{} {sub}", argv[0]),
                _ => argv[0].clone(),
            }
        })
        .collect()
}

#[test]
fn the_parser_check_rejects_unknown_flags() {
    // The check above must be able to fail.
    let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert!(parses(&v(&["sw-backup", "prune", "--repo", "/r", "--retention-days", "7"])).is_ok());
    assert!(parses(&v(&["sw-backup", "prune", "--repo", "/r", "--keep-days", "7"])).is_err());
    assert!(parses(&v(&["sw-backup", "prune", "--repo", "/r"])).is_err());
    assert!(parses(&v(&["sw-restore", "drill", "--bogus"])).is_err());
}

/// scripts/sw-maintenance with stand-ins for the tools in a temp dir: each
/// prints a record naming its arguments and exits with the code given in
/// the environment.
struct Maintenance {
    tmp: tempfile::TempDir,
    bin: PathBuf,
    logs: PathBuf,
    script: PathBuf,
}

impl Maintenance {
    fn new() -> Maintenance {
        // Stand-ins for the other tools: each prints a record naming its
        // arguments and exits with the code given in the environment.
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let rec = |tool: &str, code: &str| {
            format!("echo \"{{\\\"kind\\\":\\\"{tool}\\\",\\\"args\\\":\\\"$*\\\"}}\"; exit ${{{code}:-0}}")
        };
        stub(&bin, "sw-vacuum", &rec("vacuum", "VAC"));
        stub(
            &bin,
            "sw-health",
            &format!(
                "if [ -n \"${{BUSY:-}}\" ] && [ ! -e \"$BUSY\" ]; then : >\"$BUSY\"; echo 'sw-health: error: held' >&2; exit 75; fi; {}",
                rec("health", "HEALTH")
            ),
        );
        stub(
            &bin,
            "sw-backup",
            &format!(
                "case $1 in verify) {} ;; prune) {} ;; check) {} ;; esac",
                rec("verify", "VERIFY"),
                rec("prune", "PRUNE"),
                rec("check", "CHECK")
            ),
        );
        stub(
            &bin,
            "sw-alerts",
            "if [ \"$1\" = notify ] && [ -n \"${NOTIFY_LOG:-}\" ]; then cat >>\"$NOTIFY_LOG\"; else cat >/dev/null; fi; echo '{\"kind\":\"alerts\"}'",
        );
        let logs = tmp.path().join("log");
        let script = repo().join("scripts/sw-maintenance");
        Maintenance { tmp, bin, logs, script }
    }

    /// A run with the usual flags and `envs`.
    fn run(&self, envs: &[(&str, &str)]) -> Run {
        let mut c = Command::new(&self.script);
        c.env("SW_BIN_DIR", &self.bin).args([
            "--log-dir",
            self.logs.to_str().unwrap(),
            "--retention-days",
            "7",
            "--repo",
            "/srv/sw-repo",
            "--rules",
            "/etc/sw/rules.toml",
        ]);
        for (k, v) in envs {
            c.env(k, v);
        }
        cmd::run_cmd(&mut c, None)
    }
}

#[test]
fn the_maintenance_pipeline_runs_every_step_and_exits_with_the_worst() {
    let m = Maintenance::new();
    every_step_runs_and_is_logged(&m);
    every_call_parses_with_the_real_programs(&m);
    the_health_step_waits_for_the_monitor(&m);
    the_worst_step_decides_the_exit_code(&m);
    skip_and_the_summary_mail(&m);
    a_second_run_exits_75_and_bad_usage_64(&m);
}

fn every_step_runs_and_is_logged(m: &Maintenance) {
    let logs = m.logs.clone();
    let run = |envs: &[(&str, &str)]| m.run(envs);
    let r = run(&[]);
    r.expect_code(0);
    let s = r.one("maintenance.summary");
    assert_eq!(s["exit"], 0);
    for step in ["vacuum", "health", "verify", "prune", "storage", "alerts"] {
        assert_eq!(s["steps"][step], 0, "{r:?}");
    }
    let log = std::fs::read_to_string(logs.join("maintenance.jsonl")).unwrap();
    let records: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The script's own records match schemas/sw-maintenance/ (the others
    // here come from the stubbed tools).
    for r in records
        .iter()
        .filter(|r| r["kind"].as_str().is_some_and(|k| k.starts_with("maintenance.")))
    {
        sw_testkit::schema::validate("sw-maintenance", r).unwrap();
    }
    let kinds: Vec<String> = records.iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        kinds,
        [
            "vacuum",
            "maintenance.step",
            "health",
            "maintenance.step",
            "verify",
            "maintenance.step",
            "prune",
            "maintenance.step",
            "check",
            "maintenance.step",
            "alerts",
            "maintenance.step",
            "maintenance.summary"
        ]
    );
    assert!(log.contains("--retention-days 7 --min-full 2"), "{log}");
}

fn every_call_parses_with_the_real_programs(m: &Maintenance) {
    let tmp = &m.tmp;
    let run = |envs: &[(&str, &str)]| m.run(envs);
    // Every call parses with the real programs' flags; without a notify
    // channel the alert events are only logged (no usage error every week).
    let argv_log = tmp.path().join("argv-plain");
    let r = run(&[("ARGV_LOG", argv_log.to_str().unwrap())]);
    r.expect_code(0);
    assert!(r.stderr.contains("SW_NOTIFY_ARGS is empty"), "{r:?}");
    assert_eq!(
        checked_calls(&argv_log),
        [
            "sw-vacuum",
            "sw-health check",
            "sw-backup verify",
            "sw-backup prune",
            "sw-backup check",
            "sw-alerts eval"
        ]
    );
    let argv_log = tmp.path().join("argv-notify");
    let r = run(&[
        ("ARGV_LOG", argv_log.to_str().unwrap()),
        ("SW_NOTIFY_ARGS", "--exec true --outbox /var/lib/sw/outbox"),
    ]);
    r.expect_code(0);
    // (eval and notify run side by side: their order is not fixed.)
    let calls = checked_calls(&argv_log);
    assert!(calls.iter().any(|c| c == "sw-alerts notify"), "{calls:?}");
    assert_eq!(calls.len(), 7, "{calls:?}");
}

fn the_health_step_waits_for_the_monitor(m: &Maintenance) {
    let tmp = &m.tmp;
    let run = |envs: &[(&str, &str)]| m.run(envs);
    // sw-monitor's health run holds the lock for a moment: 75, wait, retry.
    let busy = tmp.path().join("busy");
    let r = run(&[("BUSY", busy.to_str().unwrap()), ("SW_HEALTH_RETRY_S", "0")]);
    r.expect_code(0);
    assert!(busy.exists());
    std::fs::remove_file(&busy).unwrap();
    let r = run(&[("BUSY", busy.to_str().unwrap()), ("SW_HEALTH_TRIES", "1")]);
    r.expect_code(75);
    assert_eq!(r.one("maintenance.summary")["steps"]["health"], 75);
}

fn the_worst_step_decides_the_exit_code(m: &Maintenance) {
    let run = |envs: &[(&str, &str)]| m.run(envs);
    // A CRITICAL check, a temporary failure and a missing input: every step
    // still runs and the hard error wins; 75 beats CRITICAL.
    let r = run(&[("HEALTH", "2"), ("VERIFY", "75")]);
    r.expect_code(75);
    let r = run(&[("HEALTH", "2"), ("VERIFY", "75"), ("CHECK", "66"), ("VAC", "1")]);
    r.expect_code(66);
    let s = r.one("maintenance.summary");
    assert_eq!(s["steps"]["vacuum"], 1);
    assert_eq!(s["steps"]["health"], 2);
    assert_eq!(s["steps"]["verify"], 75);
    assert_eq!(s["steps"]["prune"], 0);
    assert_eq!(s["steps"]["storage"], 66);
    assert_eq!(s["steps"]["alerts"], 0);
}

fn skip_and_the_summary_mail(m: &Maintenance) {
    let tmp = &m.tmp;
    let bin = m.bin.clone();
    let logs = m.logs.clone();
    let script = m.script.clone();
    // --skip and the summary mail through sw-alerts notify.
    let mut c = Command::new(&script);
    c.env("SW_BIN_DIR", &bin)
        .args(["--log-dir", logs.to_str().unwrap(), "--mail"]);
    let r = cmd::run_cmd(&mut c, None);
    r.expect_code(64);
    assert!(r.stderr.contains("--mail needs a channel"), "{r:?}");
    let notify_log = tmp.path().join("notify.jsonl");
    let mut c = Command::new(&script);
    c.env("SW_BIN_DIR", &bin)
        .env("SW_NOTIFY_ARGS", "--exec true")
        .env("NOTIFY_LOG", &notify_log)
        .env("HEALTH", "1")
        .args(["--log-dir", logs.to_str().unwrap(), "--skip", "prune", "--mail"]);
    let r = cmd::run_cmd(&mut c, None);
    r.expect_code(1);
    let s = r.one("maintenance.summary");
    assert_eq!(s["steps"]["prune"], "skipped");
    let mail = std::fs::read_to_string(&notify_log).unwrap();
    let summary: Vec<Value> = mail
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["alertname"] == "sw-maintenance")
        .collect();
    assert_eq!(summary.len(), 1, "{mail}");
    assert_eq!(summary[0]["labels"]["severity"], "warning");
    assert_eq!(summary[0]["status"], "firing");
}

fn a_second_run_exits_75_and_bad_usage_64(m: &Maintenance) {
    let logs = m.logs.clone();
    let script = m.script.clone();
    let run = |envs: &[(&str, &str)]| m.run(envs);
    // A second run while one holds the lock exits 75 at once.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(logs.join(".maintenance.lock"))
        .args(["-c", "echo held; sleep 10"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    let r = run(&[]);
    let _ = holder.kill();
    let _ = holder.wait();
    r.expect_code(75);
    assert!(r.stderr.contains("another sw-maintenance run"), "{r:?}");
    // Bad usage is one line and 64.
    let mut c = Command::new(&script);
    let r = cmd::run_cmd(c.arg("--bogus"), None);
    r.expect_code(64);
    assert!(r.stderr.starts_with("sw-maintenance: error: unknown argument"), "{r:?}");
}

#[test]
fn the_monitor_pipeline_exits_with_the_worst_of_its_three_programs() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    stub(
        &bin,
        "sw-health",
        "echo '{\"kind\":\"health.report\"}'; exit ${HEALTH:-0}",
    );
    stub(
        &bin,
        "sw-alerts",
        "cat >/dev/null; echo '{\"kind\":\"alert\"}'; if [ \"$1\" = notify ]; then exit ${NOTIFY_EXIT:-0}; fi",
    );
    let script = repo().join("scripts/systemd/sw-monitor");
    let run = |envs: &[(&str, &str)]| -> Run {
        let mut c = Command::new(&script);
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        c.env("PATH", path);
        for (k, v) in envs {
            c.env(k, v);
        }
        cmd::run_cmd(&mut c, None)
    };
    let argv_log = tmp.path().join("argv");
    run(&[
        ("ARGV_LOG", argv_log.to_str().unwrap()),
        ("SW_ENV_FILE", "/etc/sw/sw.env"),
        ("SW_ALERT_RULES", "/etc/sw/rules.toml"),
        ("SW_NOTIFY_ARGS", "--config /etc/sw/notify.toml"),
    ])
    .expect_code(0);
    // A pipeline's programs start in no fixed order.
    let mut calls = checked_calls(&argv_log);
    calls.sort();
    assert_eq!(calls, ["sw-alerts eval", "sw-alerts notify", "sw-health check"]);
    run(&[]).expect_code(0);
    run(&[("HEALTH", "2")]).expect_code(2);
    let notify = ("SW_NOTIFY_ARGS", "--webhook http://127.0.0.1:9/");
    run(&[("HEALTH", "2"), ("NOTIFY_EXIT", "75"), notify]).expect_code(75);
    run(&[("HEALTH", "3"), ("NOTIFY_EXIT", "0"), notify]).expect_code(3);
    // Without a channel, notify is not run (no usage error every minute).
    let r = run(&[("NOTIFY_EXIT", "75")]);
    r.expect_code(0);
    assert!(r.stderr.contains("SW_NOTIFY_ARGS is empty"), "{r:?}");
}
