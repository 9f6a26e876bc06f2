//! A fake Azure Resource Manager and Entra ID token endpoint on 127.0.0.1,
//! answering in the shapes of the official examples in
//! `../shared/fixtures/azure-arm/` (202 + `Azure-AsyncOperation`/`Location`
//! monitors whose URLs carry another api-version, status monitors, paged
//! lists with `nextLink`, ARM error bodies, the capabilities document).
//!
//! It keeps resources in memory so a tool can be run twice against it, and
//! can be scripted: long-running operations stay `InProgress` for N polls,
//! end `Failed` with a given error, requests get 429 with `Retry-After`,
//! or any one-shot reply. Every request is logged for assertions.
//! Point a tool at it with [`FakeArm::env`].
//!
//! Azure Monitor metrics answer in the shape of `monitor/GetMetric.json`,
//! with the values (or per-metric errors) a test sets in `State::metrics`;
//! a server's diagnostic setting categories are the documented ones.
//!
//! Backups and recovery (sw-backup/sw-restore `--azure`): on-demand backups
//! (`PUT …/backups/{name}`, no body) become `Customer On-Demand` backups,
//! `ltrPreBackup` answers 200 as its example does, `startLtrBackup` starts
//! an `ltrBackupOperations/{name}` that ends Succeeded, `…/replicas` lists
//! the servers whose `sourceServerResourceId` names the server, a restart
//! with failover swaps the zones, and a promotion makes the replica a
//! Primary, each when its operation succeeds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

mod auth;
mod examples;
mod monitor;
mod ops;
mod resources;

use auth::{msi_token, token};
pub use examples::{example_request, leaf_paths};
pub use monitor::FakeMetric;
use ops::{advance, poll, start_op};
use resources::{get, recovery, write};

/// The client secret the fake token endpoint accepts.
pub const CLIENT_SECRET: &str = "fake-client-secret-7f3a9c";
/// Subscription id used in tests (the fixtures' own).
pub const SUBSCRIPTION: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";
/// The `IDENTITY_HEADER` the fake App Service managed-identity endpoint
/// (`GET /msi/token`) accepts.
pub const IDENTITY_HEADER: &str = "fake-identity-header-5d1e";
/// The federated token (a workload identity's service-account token) the
/// fake token endpoint accepts as `client_assertion`.
pub const FEDERATED_TOKEN: &str = "fake-federated-token-3b8e";
/// The address `GET /myip` reports.
pub const MY_IP: &str = "198.51.100.23";
/// The api-version the fixtures' monitor URLs carry (not the request's).
pub const MONITOR_API_VERSION: &str = "2025-06-01-preview";

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub raw_body: String,
    pub at: Instant,
}

impl Request {
    /// The path without the query, lowercased, `//` collapsed.
    pub fn path(&self) -> String {
        norm(&self.target)
    }

    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Reply {
    /// A reply with a JSON body.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }
}

/// A long-running operation in progress.
#[derive(Debug, Clone)]
pub struct Op {
    /// Polls (of the monitor or the resource) still answered InProgress.
    pub remaining: u32,
    /// Times the status monitor was polled.
    pub polls: u32,
    /// The resource it creates, changes or deletes.
    pub resource: Option<String>,
    pub delete: bool,
    /// (code, message) when it is to fail.
    pub fail: Option<(String, String)>,
    pub done: bool,
    /// Merge patches (resource path, patch) applied when it succeeds: a
    /// failover swaps zones, a promotion changes the replication role, a
    /// long-term backup ends Succeeded.
    pub then: Vec<(String, Value)>,
}

/// The fake's state; change it through [`FakeArm::with`].
#[derive(Debug)]
pub struct State {
    pub log: Vec<Request>,
    /// Resources by normalised path.
    pub resources: BTreeMap<String, Value>,
    /// Operations by id.
    pub ops: BTreeMap<String, Op>,
    /// InProgress polls before each new operation succeeds.
    pub in_progress_polls: u32,
    /// Retry-After (seconds) on 202s and InProgress monitors.
    pub retry_after: u64,
    /// Items per page of a list.
    pub page_size: usize,
    /// One-shot replies: (method, path substring, reply); first match used.
    pub scripted: Vec<(String, String, Reply)>,
    /// One-shot failures: the next operation whose resource path contains
    /// the substring ends Failed with (code, message).
    pub fail_next: Vec<(String, String, String)>,
    /// The next N ARM requests get 429 with this Retry-After (seconds).
    pub throttle: Option<(u32, u64)>,
    /// 202s carry only `Location` (no `Azure-AsyncOperation`), as some
    /// operations and older api-versions answer.
    pub location_only: bool,
    pub tokens_issued: u32,
    /// Tokens issued for a scope other than Resource Manager's (e.g.
    /// `https://ossrdbms-aad.database.windows.net/.default`): scope ->
    /// access token. Other scopes get `fake-token-N`.
    pub tokens_by_scope: BTreeMap<String, String>,
    /// Azure Monitor metric values by metric name (`monitor`).
    pub metrics: BTreeMap<String, FakeMetric>,
    next_id: u32,
}

/// A running fake.
pub struct FakeArm {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn norm(target: &str) -> String {
    let path = target.split('?').next().unwrap_or(target).to_ascii_lowercase();
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out.trim_end_matches('/').to_owned()
}

fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

fn fixture_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(crate::fixture(rel)).unwrap()).unwrap()
}

fn arm_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!({"error": {"code": code, "message": message}}))
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

impl FakeArm {
    /// Start on a free port; serves until the test process exits.
    pub fn start() -> FakeArm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            log: Vec::new(),
            resources: BTreeMap::new(),
            ops: BTreeMap::new(),
            in_progress_polls: 2,
            retry_after: 0,
            page_size: 2,
            scripted: Vec::new(),
            fail_next: Vec::new(),
            throttle: None,
            location_only: false,
            tokens_issued: 0,
            tokens_by_scope: BTreeMap::new(),
            metrics: BTreeMap::new(),
            next_id: 0,
        }));
        let st = Arc::clone(&state);
        let base = url.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                let base = base.clone();
                std::thread::spawn(move || serve(conn, &st, &base));
            }
        });
        FakeArm { url, state }
    }

    /// Environment for a tool: endpoints, client-secret credentials, subscription.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("SW_AZURE_ARM_ENDPOINT", self.url.as_str()),
            ("SW_AZURE_TOKEN_ENDPOINT", self.url.as_str()),
            ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001"),
            ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002"),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
            ("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// Look at or change the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Store a resource at an ARM path (query and case do not matter).
    pub fn insert(&self, path: &str, v: Value) {
        self.with(|s| s.resources.insert(norm(path), v));
    }

    /// The resource at an ARM path, if any.
    pub fn resource(&self, path: &str) -> Option<Value> {
        self.with(|s| s.resources.get(&norm(path)).cloned())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.with(|s| s.log.clone())
    }

    /// ARM requests (not token requests) with this method whose path contains `part`.
    pub fn count(&self, method: &str, part: &str) -> usize {
        let part = part.to_ascii_lowercase();
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path().contains(&part) && !r.path().contains("/oauth2/"))
            .count()
    }
}

fn serve(conn: TcpStream, st: &Arc<Mutex<State>>, base: &str) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap_or_default();
    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let req = Request {
        method,
        target,
        headers,
        body: serde_json::from_str(&raw_body).unwrap_or(Value::Null),
        raw_body,
        at: Instant::now(),
    };
    let reply = {
        let mut s = st.lock().unwrap();
        s.log.push(req.clone());
        route(&mut s, &req, base)
    };
    let body = reply.body.map(|b| b.to_string()).unwrap_or_default();
    let reason = match reply.status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        out.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut conn = conn;
    let _ = conn.write_all(out.as_bytes());
    let _ = conn.flush();
}

fn route(s: &mut State, req: &Request, base: &str) -> Reply {
    let path = req.path();
    if req.method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        return token(s, req);
    }
    if req.method == "GET" && path == "/msi/token" {
        return msi_token(s, req);
    }
    if req.method == "GET" && path == "/myip" {
        // A what-is-my-address echo service for `--allow-ip auto`.
        return Reply::json(200, json!(MY_IP));
    }
    if !req
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer fake-token-"))
    {
        return arm_error(401, "AuthenticationFailed", "missing or invalid bearer token");
    }
    if let Some((n, after)) = s.throttle {
        s.throttle = if n > 1 { Some((n - 1, after)) } else { None };
        let mut r = arm_error(429, "TooManyRequests", "the request is being throttled");
        r.headers.push(("Retry-After".into(), after.to_string()));
        return r;
    }
    if let Some(i) = s
        .scripted
        .iter()
        .position(|(m, p, _)| *m == req.method && path.contains(&p.to_ascii_lowercase()))
    {
        return s.scripted.remove(i).2;
    }
    if req.method == "GET" && path.ends_with("/providers/microsoft.insights/metrics") {
        return monitor::metrics(s, req);
    }
    if req.method == "GET" && path.ends_with("/providers/microsoft.insights/diagnosticsettingscategories") {
        return monitor::diagnostic_categories(req);
    }
    if path.contains("/azureasyncoperation/") || path.contains("/operationresults/") {
        return poll(s, req);
    }
    if let Some(r) = recovery(s, req, &path, base) {
        return r;
    }
    if req.method == "GET" && path.ends_with("/capabilities") {
        return Reply::json(
            200,
            fixture_json("azure-arm/postgresql/CapabilitiesByLocationList.json")["responses"]["200"]["body"].clone(),
        );
    }
    match req.method.as_str() {
        "GET" => get(s, req, &path, base),
        "PUT" | "PATCH" => write(s, req, &path, base),
        "DELETE" => {
            if s.resources.contains_key(&path) {
                start_op(s, Some(path), true, base, Vec::new())
            } else {
                Reply {
                    status: 204,
                    headers: Vec::new(),
                    body: None,
                }
            }
        }
        "POST" => start_op(s, None, false, base, Vec::new()),
        _ => arm_error(405, "MethodNotAllowed", "method not allowed"),
    }
}
