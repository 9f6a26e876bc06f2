//! Real Prometheus and Alertmanager servers for tests (Debian's
//! `prometheus` and `prometheus-alertmanager` packages).
//!
//! Each server lives in its own temp directory (configuration, storage,
//! log), listens on a free 127.0.0.1 port, and is cleaned up like the test
//! clusters in [`crate::pg`]: `Drop` (also on panic), and a reaper process
//! that kills it and removes the directory once the test process is gone
//! (it blocks on a pipe only the test process holds open). Missing programs
//! fail the test with the install command; they never skip it.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_core::config::Env;

/// The install command named when a program is missing.
pub const INSTALL_HINT: &str = "apt-get install prometheus prometheus-alertmanager";

/// Find `names` (the first that exists) on PATH; panics with the install
/// command when none does.
pub fn program(names: &[&str]) -> PathBuf {
    let path = Env::process().get("PATH").unwrap_or_default();
    for n in names {
        for d in path.split(':').filter(|d| !d.is_empty()) {
            let p = Path::new(d).join(n);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{} is required by this test and was not found on PATH. Install it (as root: `{INSTALL_HINT}`) \
         or run scripts/test, which does.",
        names.join(" or ")
    );
}

/// A port free on 127.0.0.1 for both TCP and UDP (Alertmanager's cluster
/// port gossips over both).
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `url`: (status, body). Connection errors are status 0.
pub fn get(url: &str) -> (u16, String) {
    match agent().get(url).call() {
        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// GET `url` as JSON (panics unless 200 with JSON).
pub fn get_json(url: &str) -> Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"))
}

/// A server process in its own directory.
pub struct Server {
    /// The temp directory (configuration, storage, `log`).
    pub dir: PathBuf,
    /// The web port on 127.0.0.1.
    pub port: u16,
    program: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    reaper: Option<ChildStdin>,
}

impl Server {
    fn new(prefix: &str, program: PathBuf) -> Server {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap().keep();
        let reaper = spawn_reaper(&dir);
        Server {
            dir,
            port: free_port(),
            program,
            args: Vec::new(),
            child: None,
            reaper,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Start (again) with the same arguments, and wait until `/-/ready`
    /// answers 200 (panics with the log after 60 s).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.program.display());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .unwrap();
        let child = Command::new(&self.program)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        std::fs::write(self.dir.join("pid"), child.id().to_string()).unwrap();
        self.child = Some(child);
        self.wait_until("ready", |s| s.get("/-/ready").0 == 200);
    }

    /// Kill the server (it can be started again on the same port).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// GET a path of this server.
    pub fn get(&self, path: &str) -> (u16, String) {
        get(&format!("{}{path}", self.url()))
    }

    /// GET a path of this server as JSON.
    pub fn get_json(&self, path: &str) -> Value {
        get_json(&format!("{}{path}", self.url()))
    }

    /// Poll `ok` every 100 ms until it holds (panics naming `what`, with
    /// the server's log, after 60 s; also when the server exited).
    pub fn wait_until(&mut self, what: &str, ok: impl Fn(&Server) -> bool) {
        let start = Instant::now();
        loop {
            if ok(self) {
                return;
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "{} exited ({st}) before {what}:\n{}",
                    self.program.display(),
                    self.log()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} not {what} after 60 s:\n{}",
                self.program.display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        // Closing the pipe lets the reaper exit (nothing left to do).
        self.reaper.take();
    }
}

/// A process that kills the server and removes its directory once the test
/// process is gone: it blocks reading a pipe only we hold open.
fn spawn_reaper(dir: &Path) -> Option<ChildStdin> {
    let script = r#"cat >/dev/null; [ -f "$1/pid" ] && kill -9 "$(cat "$1/pid")" 2>/dev/null; rm -rf "$1""#;
    match Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg("sw-test-reaper")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(mut child) => child.stdin.take(),
        Err(e) => {
            eprintln!("sw-testkit: warning: no reaper for {}: {e}", dir.display());
            None
        }
    }
}

/// A real Prometheus server.
pub struct Prometheus {
    pub server: Server,
}

impl Prometheus {
    /// Start Prometheus with `config` (prometheus.yml) and `files` written
    /// beside it (rule files named in `rule_files` are found there).
    pub fn start(config: &str, files: &[(&str, &str)]) -> Prometheus {
        let mut server = Server::new("sw-test-prometheus.", program(&["prometheus"]));
        std::fs::write(server.dir.join("prometheus.yml"), config).unwrap();
        for (name, text) in files {
            std::fs::write(server.dir.join(name), text).unwrap();
        }
        let d = server.dir.display().to_string();
        server.args = vec![
            format!("--config.file={d}/prometheus.yml"),
            format!("--storage.tsdb.path={d}/data"),
            format!("--web.listen-address=127.0.0.1:{}", server.port),
            "--log.level=warn".into(),
        ];
        server.start();
        Prometheus { server }
    }

    /// An instant query: the result vector (panics unless the API says success).
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let url = format!("{}/api/v1/query?query={}", self.server.url(), encode(expr));
        let v = get_json(&url);
        assert_eq!(v["status"], "success", "{expr}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Poll `expr` every 200 ms until `ok` holds for its result (panics
    /// after `limit` with the last result and the log).
    pub fn wait_for(&self, expr: &str, limit: Duration, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let r = self.query(expr);
            if ok(&r) {
                return r;
            }
            assert!(
                start.elapsed() < limit,
                "Prometheus: {expr} never gave what the test waits for; last: {r:?}\n{}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The alerts Prometheus's rules hold now (`/api/v1/alerts`).
    pub fn alerts(&self) -> Vec<Value> {
        let v = self.server.get_json("/api/v1/alerts");
        v["data"]["alerts"].as_array().cloned().unwrap_or_default()
    }
}

/// Percent-encode a query parameter.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Two Alertmanagers clustered on loopback (each the other's peer), as a
/// highly available pair is run.
pub struct AlertmanagerPair {
    pub servers: [Server; 2],
}

/// Alertmanager's configuration for tests: one webhook receiver at
/// `webhook`, short group waits so notifications come quickly.
pub fn alertmanager_config(webhook: &str) -> String {
    format!(
        "route:\n  receiver: test\n  group_by: [alertname, instance]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\n\
         receivers:\n  - name: test\n    webhook_configs:\n      - url: \"{webhook}\"\n        send_resolved: true\n"
    )
}

impl AlertmanagerPair {
    /// Start both with `config` (alertmanager.yml) and wait until each
    /// sees the other as a cluster peer.
    pub fn start(config: &str) -> AlertmanagerPair {
        let prog = program(&["prometheus-alertmanager", "alertmanager"]);
        let mut servers = [
            Server::new("sw-test-alertmanager.", prog.clone()),
            Server::new("sw-test-alertmanager.", prog),
        ];
        let cluster = [free_port(), free_port()];
        for (i, s) in servers.iter_mut().enumerate() {
            std::fs::write(s.dir.join("alertmanager.yml"), config).unwrap();
            let d = s.dir.display().to_string();
            s.args = vec![
                format!("--config.file={d}/alertmanager.yml"),
                format!("--storage.path={d}/data"),
                format!("--web.listen-address=127.0.0.1:{}", s.port),
                format!("--cluster.listen-address=127.0.0.1:{}", cluster[i]),
                format!("--cluster.peer=127.0.0.1:{}", cluster[1 - i]),
                // A notification waits peer-timeout per position in the
                // cluster before the second sends it: keep tests quick.
                "--cluster.peer-timeout=3s".into(),
                "--cluster.settle-timeout=2s".into(),
                "--log.level=warn".into(),
            ];
        }
        let mut pair = AlertmanagerPair { servers };
        pair.start_all();
        pair
    }

    /// Start both (again) and wait for the cluster of two.
    pub fn start_all(&mut self) {
        for s in &mut self.servers {
            s.start();
        }
        for s in &mut self.servers {
            s.wait_until("clustered with its peer", |s| {
                let (code, body) = s.get("/api/v2/status");
                code == 200
                    && serde_json::from_str::<Value>(&body).is_ok_and(|v| {
                        v["cluster"]["status"] == "ready"
                            && v["cluster"]["peers"].as_array().is_some_and(|p| p.len() == 2)
                    })
            });
        }
    }

    /// Kill both.
    pub fn stop_all(&mut self) {
        for s in &mut self.servers {
            s.stop();
        }
    }

    /// The two base URLs.
    pub fn urls(&self) -> [String; 2] {
        [self.servers[0].url(), self.servers[1].url()]
    }

    /// `/api/v2/alerts/groups` of server `i`.
    pub fn groups(&self, i: usize) -> Vec<Value> {
        self.servers[i]
            .get_json("/api/v2/alerts/groups")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Every alert in server `i`'s groups named `alertname`.
    pub fn alerts_named(&self, i: usize, alertname: &str) -> Vec<Value> {
        self.groups(i)
            .iter()
            .flat_map(|g| g["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["labels"]["alertname"] == alertname)
            .collect()
    }
}

/// Run promtool with `args`: (exit code, stdout and stderr).
pub fn promtool(args: &[&str]) -> (i32, String) {
    let out = Command::new(program(&["promtool"])).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An HTTP receiver for Alertmanager's webhook notifications: every
/// request's JSON body, in arrival order.
pub struct Receiver {
    /// The URL to configure (`http://127.0.0.1:PORT/hook`).
    pub url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Receiver {
    /// Listen on a free loopback port (a thread, until the test ends).
    pub fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = bodies.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0;
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) && !line.trim().is_empty() {
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_ok()
                    && let Ok(v) = serde_json::from_slice(&body)
                {
                    sink.lock().unwrap().push(v);
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Receiver { url, bodies }
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}
