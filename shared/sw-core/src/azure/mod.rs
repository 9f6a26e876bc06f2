//! A small Azure Resource Manager client (feature `azure`): blocking HTTPS
//! with ureq, bearer tokens from a [`TokenSource`], and ARM's rules done
//! once for every tool:
//!
//! - retries with jittered exponential backoff on 408/429/5xx and transport
//!   errors, waiting at least `Retry-After` (ARM rejects a request sent
//!   earlier again); POST is retried only on 429/408, which ARM sends before
//!   doing anything;
//! - long-running operations (every mutating call in PostgreSQL 2025-08-01
//!   answers 202) polled through `Azure-AsyncOperation`, else `Location`,
//!   used verbatim (the monitor URLs carry their own api-version);
//! - a failed operation's `error.code` and `message` on one line, with the
//!   exit code that fits (65 for requests the service rejects, 69 otherwise);
//! - `nextLink` paging, followed verbatim;
//! - endpoints overridable ([`Endpoints::from_env`]: `SW_AZURE_ARM_ENDPOINT`,
//!   `SW_AZURE_TOKEN_ENDPOINT`) for sovereign clouds and tests;
//! - [`ArmClient::write_lock`]: writes to one server serialised across
//!   processes (the service requires it; terraform-provider-azurerm#19953);
//! - [`progress`] of long waits on a terminal, for tools that ask for it.
//!
//! See `../shared/fixtures/azure-arm/README.md` §2-4 for the behaviour this
//! follows.

pub mod deadline;
pub mod flexible;
pub mod identity;
pub mod monitor;
pub mod progress;
pub mod token;

use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use token::{TokenSource, token_source_from_env};

use crate::config::Env;
use crate::error::{Error, Result};
use crate::exit::Exit;

/// The public cloud's Resource Manager.
pub const DEFAULT_ARM: &str = "https://management.azure.com";
/// The public cloud's Entra ID authority host.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Where ARM and the token authority are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// ARM base URL, no trailing slash.
    pub arm: String,
    /// Authority host for client-secret and workload-identity tokens.
    pub authority: String,
}

impl Endpoints {
    /// Defaults, overridden by `SW_AZURE_ARM_ENDPOINT` / `SW_AZURE_TOKEN_ENDPOINT`
    /// (or `AZURE_AUTHORITY_HOST`), then by explicit values.
    pub fn from_env(env: &Env, arm: Option<&str>, authority: Option<&str>) -> Endpoints {
        let pick = |explicit: Option<&str>, vars: &[&str], default: &str| {
            explicit
                .map(str::to_owned)
                .or_else(|| vars.iter().find_map(|v| env.get(v)))
                .unwrap_or_else(|| default.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        Endpoints {
            arm: pick(arm, &["SW_AZURE_ARM_ENDPOINT"], DEFAULT_ARM),
            authority: pick(
                authority,
                &["SW_AZURE_TOKEN_ENDPOINT", "AZURE_AUTHORITY_HOST"],
                DEFAULT_AUTHORITY,
            ),
        }
    }

    /// The token audience for this ARM (`https://management.azure.com/`).
    pub fn resource(&self) -> String {
        format!("{}/", self.arm)
    }
}

/// The agent every Azure call uses: native-tls (system OpenSSL, system CA
/// store), status codes returned rather than raised, bounded timeouts.
pub fn agent() -> ureq::Agent {
    deadline::agent_within(Duration::from_secs(120))
}

/// An HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Response {
    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Retry-After` as a duration (integer seconds; HTTP dates are ignored).
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Send one request; transport failures are errors (exit 69).
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<Response> {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let has_body = body.is_some();
    let req = req
        .body(body.unwrap_or_default())
        .map_err(|e| Error::usage(format!("invalid request {method} {url}")).with_source(e))?;
    let res = if has_body || method == "PUT" || method == "POST" || method == "PATCH" {
        agent.run(req)
    } else {
        let (parts, _) = req.into_parts();
        agent.run(ureq::http::Request::from_parts(parts, ()))
    };
    let mut res = res.map_err(|e| Error::unavailable(format!("{method} {}", redact_url(url))).with_source(e))?;
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut text = String::new();
    res.body_mut().as_reader().read_to_string(&mut text).map_err(|e| {
        Error::unavailable(format!("reading the response to {method} {}", redact_url(url))).with_source(e)
    })?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(Response { status, headers, body })
}

/// Strip the query string (it may carry `$skiptoken` or SAS signatures).
pub fn redact_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// `error.code: message` from an ARM error body (or an Entra ID one).
pub fn error_summary(body: &Value) -> Option<(String, String)> {
    let e = body.get("error")?;
    if let Some(code) = e.as_str() {
        // Entra ID: {"error": "invalid_client", "error_description": "AADSTS..."}
        let msg = body.get("error_description").and_then(Value::as_str).unwrap_or("");
        return Some((code.to_owned(), first_line(msg)));
    }
    let code = e.get("code").and_then(Value::as_str).unwrap_or("Unknown").to_owned();
    let mut msg = first_line(e.get("message").and_then(Value::as_str).unwrap_or(""));
    if let Some(d) = e.get("details").and_then(Value::as_array).and_then(|d| d.first())
        && let Some(dm) = d.get("message").and_then(Value::as_str)
        && !msg.contains(dm)
    {
        msg = format!("{msg} ({})", first_line(dm));
    }
    Some((code, msg))
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Exit code for an HTTP error status (README exit-code table).
pub fn exit_for_status(status: u16) -> Exit {
    match status {
        // A resource group, server or parent that must exist does not.
        404 => Exit::NoInput,
        400 | 409 | 412 | 422 => Exit::DataErr,
        401 | 403 => Exit::NoPerm,
        408 | 429 | 500..=599 => Exit::TempFail,
        _ => Exit::Unavailable,
    }
}

/// Exit code for a failed long-running operation: the server was busy with
/// another operation (75: run again), the service rejected what we asked
/// for (65), or could not do it (69).
pub fn exit_for_operation_error(code: &str) -> Exit {
    let c = code.to_ascii_lowercase();
    if ["busy", "anotheroperation", "retryable", "operationinprogress"]
        .iter()
        .any(|r| c.contains(r))
    {
        return Exit::TempFail;
    }
    let rejected = [
        "invalid",
        "notvalid",
        "notfound",
        "alreadyexists",
        "conflict",
        "notsupported",
        "notallowed",
        "quota",
        "validation",
        "badrequest",
        "unavailablezone",
        "zonenotfound",
        "restricted",
    ];
    if rejected.iter().any(|r| c.contains(r)) {
        Exit::DataErr
    } else {
        Exit::Unavailable
    }
}

/// Retry and polling limits.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts per request (first try included).
    pub attempts: u32,
    /// First backoff delay (doubles, with jitter, up to `max_delay`).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Poll interval when the service gives no `Retry-After`.
    pub poll_interval: Duration,
    /// Give up waiting for one long-running operation after this long
    /// (exit 75; re-running re-attaches).
    pub operation_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            attempts: 6,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            poll_interval: Duration::from_secs(10),
            // Creates and HA changes can take over an hour (fixtures README §2, §11).
            operation_timeout: Duration::from_secs(3 * 3600),
        }
    }
}

/// One ARM session: endpoints, token, policy.
pub struct ArmClient {
    agent: ureq::Agent,
    pub endpoints: Endpoints,
    tokens: Box<dyn TokenSource>,
    pub policy: Policy,
    progress: progress::Progress,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoints", &self.endpoints)
            .field("tokens", &self.tokens.describe())
            .finish_non_exhaustive()
    }
}

fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    // 75%..125% of d.
    d.mul_f64(0.75 + f64::from(b[0]) / 510.0)
}

impl ArmClient {
    /// A client for these endpoints with this token source.
    pub fn new(endpoints: Endpoints, tokens: Box<dyn TokenSource>) -> ArmClient {
        ArmClient {
            agent: agent(),
            endpoints,
            tokens,
            policy: Policy::default(),
            progress: progress::Progress::default(),
        }
    }

    /// Absolute URL for an ARM path (`/subscriptions/...`); absolute URLs
    /// (monitor URLs, nextLinks) pass through verbatim.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{}", self.endpoints.arm, path_or_url)
        }
    }

    /// One request with retries; returns any final response (2xx or not)
    /// except retryable ones, which become exit 75 once retries run out.
    pub fn request(&self, method: &str, path_or_url: &str, body: Option<&Value>) -> Result<Response> {
        let url = self.url(path_or_url);
        let payload = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::software("encoding a request body").with_source(e))?;
        let idempotent = method != "POST";
        let mut delay = self.policy.base_delay;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.tokens.token()?;
            let auth = format!("Bearer {token}");
            let mut headers = vec![("Authorization", auth.as_str()), ("Accept", "application/json")];
            if payload.is_some() {
                headers.push(("Content-Type", "application/json"));
            }
            let res = send(&self.agent, method, &url, &headers, payload.clone());
            let (wait, last_err) = match res {
                Ok(r) if matches!(r.status, 429 | 408) || (idempotent && r.status >= 500) => {
                    (r.retry_after(), self.http_error(method, &url, &r))
                }
                Ok(r) => return Ok(r),
                Err(e) if idempotent => (None, e),
                Err(e) => return Err(e),
            };
            if attempt >= self.policy.attempts {
                return Err(last_err
                    .with_exit(Exit::TempFail)
                    .context(format!("giving up after {attempt} attempts")));
            }
            // Never earlier than Retry-After; our own backoff when absent.
            let sleep = wait.unwrap_or_else(|| jitter(delay));
            log::info!("{method} {}: {last_err}; retrying in {sleep:?}", redact_url(&url));
            std::thread::sleep(sleep);
            delay = (delay * 2).min(self.policy.max_delay);
        }
    }

    /// The one-line error for a non-2xx response.
    pub fn http_error(&self, method: &str, url: &str, r: &Response) -> Error {
        let reason = match error_summary(&r.body) {
            Some((code, msg)) => format!("{code}: {msg}"),
            None => match &r.body {
                Value::String(s) => first_line(s).chars().take(200).collect(),
                _ => String::new(),
            },
        };
        let req_id = r
            .header("x-ms-request-id")
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        Error::new(
            exit_for_status(r.status),
            format!("{method} {}: HTTP {}: {reason}{req_id}", redact_url(url), r.status),
        )
    }

    /// GET a resource; `None` on 404.
    pub fn get_opt(&self, path: &str) -> Result<Option<Value>> {
        let r = self.request("GET", path, None)?;
        match r.status {
            404 => Ok(None),
            s if (200..300).contains(&s) => Ok(Some(r.body)),
            _ => Err(self.http_error("GET", &self.url(path), &r)),
        }
    }

    /// GET a resource that must exist.
    pub fn get(&self, path: &str) -> Result<Value> {
        let r = self.request("GET", path, None)?;
        if r.is_success() {
            Ok(r.body)
        } else {
            Err(self.http_error("GET", &self.url(path), &r))
        }
    }

    /// Every item of a list, following `nextLink` verbatim.
    pub fn list(&self, path: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(self.url(path));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(Error::unavailable(format!(
                    "GET {}: more than 10000 pages",
                    redact_url(&url)
                )));
            }
            let body = self.get(&url)?;
            if let Some(items) = body.get("value").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            next = body
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
        }
        Ok(out)
    }

    /// Send a mutating request and wait for it to finish. For PUT/PATCH the
    /// resource is read back afterwards (final-state-via azure-async-operation);
    /// for DELETE/POST the operation's result body (often `Null`) is returned.
    /// A DELETE answered 404/204 is success.
    pub fn mutate(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = self.url(path);
        let r = self.request(method, &url, body)?;
        if method == "DELETE" && matches!(r.status, 204 | 404) {
            return Ok(Value::Null);
        }
        if !r.is_success() {
            return Err(self.http_error(method, &url, &r));
        }
        let result = self.wait(method, &url, &r)?;
        if matches!(method, "PUT" | "PATCH") {
            return self.get(&url);
        }
        Ok(result)
    }

    /// Wait for the operation a 2xx response started (if it started one).
    pub fn wait(&self, method: &str, url: &str, started: &Response) -> Result<Value> {
        let what = format!("{method} {}", redact_url(url));
        let r = if let Some(monitor) = started.header("azure-asyncoperation") {
            self.poll_monitor(&what, monitor, started.retry_after())
        } else if let Some(loc) = started.header("location")
            && started.status == 202
        {
            self.poll_location(&what, loc, started.retry_after())
        } else {
            return Ok(started.body.clone());
        };
        self.end_progress();
        r
    }

    fn sleep_poll(&self, what: &str, deadline: Instant, wait: Option<Duration>) -> Result<()> {
        let d = wait.unwrap_or(self.policy.poll_interval);
        if Instant::now() + d > deadline {
            return Err(Error::temp(format!(
                "{what}: still running after {}s; run again to re-attach",
                self.policy.operation_timeout.as_secs()
            )));
        }
        std::thread::sleep(d);
        Ok(())
    }

    /// Poll an `Azure-AsyncOperation` status monitor (its URL verbatim).
    pub fn poll_monitor(&self, what: &str, monitor: &str, first_wait: Option<Duration>) -> Result<Value> {
        let t0 = Instant::now();
        let deadline = t0 + self.policy.operation_timeout;
        let mut wait = first_wait;
        loop {
            self.sleep_poll(what, deadline, wait)?;
            let r = self.request("GET", monitor, None)?;
            if !r.is_success() {
                return Err(self.http_error("GET", monitor, &r).context(format!("polling {what}")));
            }
            let status = r.body.get("status").and_then(Value::as_str).unwrap_or("");
            match status.to_ascii_lowercase().as_str() {
                "succeeded" => return Ok(r.body),
                "failed" | "canceled" | "cancelled" => {
                    let (code, msg) = error_summary(&r.body)
                        .unwrap_or_else(|| (status.to_owned(), "the operation ended without an error body".into()));
                    return Err(Error::new(
                        exit_for_operation_error(&code),
                        format!("{what}: {status}: {code}: {msg}"),
                    ));
                }
                _ => {
                    log::info!("{what}: {status}");
                    self.report_progress(what, status, t0.elapsed());
                    wait = r.retry_after();
                }
            }
        }
    }

    /// Poll a `Location` URL: 202 running, other 2xx done, else failed.
    pub fn poll_location(&self, what: &str, location: &str, first_wait: Option<Duration>) -> Result<Value> {
        let t0 = Instant::now();
        let deadline = t0 + self.policy.operation_timeout;
        let mut wait = first_wait;
        loop {
            self.sleep_poll(what, deadline, wait)?;
            let r = self.request("GET", location, None)?;
            match r.status {
                202 => {
                    self.report_progress(what, "InProgress", t0.elapsed());
                    wait = r.retry_after();
                }
                s if (200..300).contains(&s) => return Ok(r.body),
                _ => {
                    let e = self.http_error("GET", location, &r);
                    // As for a status monitor: the error code decides.
                    let exit = error_summary(&r.body).map_or(e.exit(), |(code, _)| exit_for_operation_error(&code));
                    return Err(Error::new(exit, format!("{what}: failed: {}", e.message())));
                }
            }
        }
    }

    /// Serialise writes to one ARM resource across processes: an flock
    /// keyed by the ARM endpoint and resource id, held until dropped (exit
    /// 75 if held).
    pub fn write_lock(&self, resource_id: &str, env: &Env) -> Result<crate::lock::Lock> {
        let dir = env
            .get("XDG_RUNTIME_DIR")
            .map_or_else(std::env::temp_dir, PathBuf::from);
        // FNV-1a: a short stable file name for a long id.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in format!("{}{}", self.endpoints.arm, resource_id.to_ascii_lowercase()).bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let name = resource_id.rsplit('/').next().unwrap_or("resource");
        crate::lock::Lock::try_acquire(
            &dir.join(format!("sw-azure-{name}-{h:016x}.lock")),
            &format!("sw process writing to Azure resource {name}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arm_and_entra_errors_become_one_line() {
        let arm = json!({"error": {"code": "InvalidParameterValue", "message": "bad\nsku", "details": [{"code": "x", "message": "tier mismatch"}]}});
        assert_eq!(
            error_summary(&arm).unwrap(),
            ("InvalidParameterValue".into(), "bad sku (tier mismatch)".into())
        );
        let entra = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."});
        assert_eq!(error_summary(&entra).unwrap().0, "invalid_client");
    }

    #[test]
    fn exit_codes_follow_the_table() {
        assert_eq!(exit_for_status(409), Exit::DataErr);
        assert_eq!(exit_for_status(404), Exit::NoInput);
        assert_eq!(exit_for_status(403), Exit::NoPerm);
        assert_eq!(exit_for_status(503), Exit::TempFail);
        assert_eq!(exit_for_operation_error("PrivateDnsZoneNameNotValid"), Exit::DataErr);
        assert_eq!(exit_for_operation_error("InternalServerError"), Exit::Unavailable);
        assert_eq!(exit_for_operation_error("ServerIsBusy"), Exit::TempFail);
        assert_eq!(
            exit_for_operation_error("RetryableErrorDueToAnotherOperation"),
            Exit::TempFail
        );
    }

    #[test]
    fn endpoints_come_from_the_environment() {
        let env = Env::fixed([("SW_AZURE_ARM_ENDPOINT", "http://127.0.0.1:9/")]);
        let e = Endpoints::from_env(&env, None, None);
        assert_eq!(e.arm, "http://127.0.0.1:9");
        assert_eq!(e.authority, DEFAULT_AUTHORITY);
        assert_eq!(e.resource(), "http://127.0.0.1:9/");
    }
}
