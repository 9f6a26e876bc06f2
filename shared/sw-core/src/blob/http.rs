//! One Blob request on the wire: URL, signing, the ureq agent and
//! retries (the error line itself is in `errors.rs`).
//!
//! Retries (Azure's "scalability targets" advice): 500, 502, 503, 504, 408
//! and 429 (ServerBusy, OperationTimedOut, throttling) and transport
//! failures (resets, refused connections, silent connections) are tried
//! again with exponential backoff and jitter, never past the caller's
//! overall deadline. Every connection has a connect timeout and an
//! inactivity timeout on each read and write, so a hung response ends;
//! the overall deadline also caps each request. What is left after the
//! retries maps to DESIGN.md's exit codes: 75 for timeouts, throttling and
//! 5xx, 69 for an endpoint that cannot be reached, 77 for 401/403 (with the
//! service's error code and a hint: expired SAS, wrong key, clock skew),
//! 66 for 404.

use std::io::Read as _;
use std::time::{Duration, Instant};

use super::Client;
use super::auth::{Auth, ToSign};
use crate::error::{Error, Result};
use crate::exit::Exit;

/// A request before signing.
pub(super) struct Request<'a> {
    pub method: &'static str,
    /// The blob, relative to the location's prefix; `None` for the container.
    pub name: Option<&'a str>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// The body of a PUT (an empty one is sent as `Content-Length: 0`).
    pub body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'static str, name: Option<&'a str>) -> Request<'a> {
        Request {
            method,
            name,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn query(mut self, k: &str, v: &str) -> Request<'a> {
        self.query.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Request<'a> {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn body(mut self, b: &'a [u8]) -> Request<'a> {
        self.body = Some(b);
        self
    }
}

/// A final response, body read whole.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub(super) fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A live response whose body is still to be read (downloads).
pub(super) type Live = ureq::http::Response<ureq::Body>;

/// Percent-encode a blob path: everything but RFC 3986 unreserved and `/`.
fn encode_path(s: &str) -> String {
    s.split('/')
        .map(crate::secret::percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

fn headers_of(res: &Live) -> Vec<(String, String)> {
    res.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Statuses worth another try.
pub(super) fn retryable_status(s: u16) -> bool {
    matches!(s, 408 | 429 | 500 | 502 | 503 | 504)
}

/// A failed attempt: retry it or not, with the exit code if it is the last.
struct Failure {
    retry: bool,
    err: Error,
}

/// Classify a transport error: what it means and whether to try again.
fn transport_failure(what: &str, e: ureq::Error) -> Failure {
    use std::io::ErrorKind as K;
    let (retry, exit) = match &e {
        ureq::Error::Timeout(_) => (true, Exit::TempFail),
        ureq::Error::Io(io) => match io.kind() {
            K::ConnectionReset
            | K::ConnectionAborted
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::TimedOut
            | K::WouldBlock
            | K::Interrupted => (true, Exit::TempFail),
            _ => (true, Exit::Unavailable),
        },
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => (true, Exit::Unavailable),
        ureq::Error::Protocol(_) => (true, Exit::TempFail),
        // A certificate that does not verify will not verify next time; a
        // handshake cut short by a reset will.
        ureq::Error::NativeTls(t) => {
            let text = format!("{t:?}").to_ascii_lowercase();
            (
                !text.contains("certificate") && !text.contains("verify"),
                Exit::Unavailable,
            )
        }
        _ => (false, Exit::Unavailable),
    };
    Failure {
        retry,
        err: Error::new(exit, what.to_owned()).with_source(e),
    }
}

/// Jittered exponential backoff within an optional deadline.
pub(super) struct Backoff {
    delay: Duration,
    max: Duration,
    pub attempt: u32,
    attempts: u32,
    deadline: Option<Instant>,
}

impl Backoff {
    pub fn new(c: &Client) -> Backoff {
        Backoff {
            delay: c.opts.base_delay,
            max: c.opts.max_delay,
            attempt: 0,
            attempts: c.opts.attempts.max(1),
            deadline: c.deadline,
        }
    }

    /// Time left before the deadline; an error (75) once it has passed.
    pub fn remaining(&self, what: &str) -> Result<Option<Duration>> {
        match self.deadline {
            None => Ok(None),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(Error::temp(format!("{what}: the deadline passed")))
                } else {
                    Ok(Some(left))
                }
            }
        }
    }

    /// Sleep before the next attempt, or give `last` back (75 for
    /// transient trouble) when attempts or time have run out.
    pub fn wait(&mut self, what: &str, last: Error) -> Result<()> {
        self.attempt += 1;
        if self.attempt >= self.attempts {
            return Err(last.context(format!("{what}: giving up after {} attempts", self.attempt)));
        }
        let mut b = [0u8; 1];
        let _ = getrandom::fill(&mut b);
        // 50%..150% of the nominal delay: spreads out parallel uploaders.
        let sleep = self.delay.mul_f64(0.5 + f64::from(b[0]) / 255.0);
        if let Some(d) = self.deadline
            && Instant::now() + sleep >= d
        {
            return Err(last
                .with_exit(Exit::TempFail)
                .context(format!("{what}: the deadline passed after {} attempts", self.attempt)));
        }
        log::info!("{what}: {last}; retrying in {sleep:?}");
        std::thread::sleep(sleep);
        self.delay = (self.delay * 2).min(self.max);
        Ok(())
    }
}

impl Client {
    /// `METHOD container/prefix/name` for messages (never the query, which
    /// may hold a SAS).
    pub(super) fn what(&self, r: &Request<'_>) -> String {
        match r.name {
            Some(n) => format!("{} {}/{}{n}", r.method, self.container, self.prefix),
            None => format!("{} {}", r.method, self.container),
        }
    }

    fn url_path(&self, r: &Request<'_>) -> String {
        let mut p = format!("{}/{}", self.base_path, self.container);
        if let Some(n) = r.name {
            p.push('/');
            p.push_str(&encode_path(&format!("{}{n}", self.prefix)));
        }
        p
    }

    /// Sign and send once.
    fn send_once(&self, r: &Request<'_>, timeout: Option<Duration>) -> std::result::Result<Live, Failure> {
        let what = self.what(r);
        let fail = |e: Error| Failure { retry: false, err: e };
        let path = self.url_path(r);
        let mut headers = r.headers.clone();
        headers.push(("x-ms-version".into(), super::API_VERSION.into()));
        headers.push((
            "x-ms-date".into(),
            chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ));
        let mut query: Vec<String> = r
            .query
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::secret::percent_encode(v)))
            .collect();
        match &self.auth {
            Auth::SharedKey { account, key } => {
                let to_sign = ToSign {
                    method: r.method,
                    path: &path,
                    query: &r.query,
                    headers: &headers,
                    content_length: r.body.map_or(0, <[u8]>::len),
                };
                let h = super::auth::shared_key_header(account, key, &to_sign).map_err(fail)?;
                headers.push(("Authorization".into(), h));
            }
            Auth::Sas(token) => query.push(token.clone()),
            Auth::Bearer(f) => {
                let token = f().map_err(|e| fail(e.context(format!("{what}: getting a token"))))?;
                crate::secret::register(&token);
                headers.push(("Authorization".into(), format!("Bearer {token}")));
            }
        }
        let mut url = format!("{}{path}", self.origin);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let mut b = ureq::http::Request::builder().method(r.method).uri(url.as_str());
        for (k, v) in &headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let res = if let Some(body) = r.body {
            let req = b
                .body(body)
                .map_err(|e| fail(Error::software(format!("{what}: building the request")).with_source(e)))?;
            let req = self.agent.configure_request(req).timeout_global(timeout).build();
            self.agent.run(req)
        } else {
            let req = b
                .body(())
                .map_err(|e| fail(Error::software(format!("{what}: building the request")).with_source(e)))?;
            let req = self.agent.configure_request(req).timeout_global(timeout).build();
            self.agent.run(req)
        };
        res.map_err(|e| transport_failure(&what, e))
    }

    /// Send with retries until a final response (any status but the
    /// retryable ones), which is returned live.
    pub(super) fn open(&self, r: &Request<'_>, backoff: &mut Backoff) -> Result<Live> {
        let what = self.what(r);
        loop {
            let timeout = backoff.remaining(&what)?;
            match self.send_once(r, timeout) {
                Ok(res) if retryable_status(res.status().as_u16()) => {
                    let err = match read_reply(res, &what) {
                        Ok(reply) => self.status_error(&what, &reply),
                        Err(e) => e,
                    };
                    backoff.wait(&what, err)?;
                }
                Ok(res) => return Ok(res),
                Err(f) if f.retry => backoff.wait(&what, f.err)?,
                Err(f) => return Err(f.err),
            }
        }
    }

    /// Send with retries and read the whole (small) body; a body cut short
    /// counts as a transient failure too.
    pub(super) fn call(&self, r: &Request<'_>) -> Result<Reply> {
        let what = self.what(r);
        let mut backoff = Backoff::new(self);
        loop {
            let res = self.open(r, &mut backoff)?;
            match read_reply(res, &what) {
                Ok(reply) => return Ok(reply),
                Err(e) => backoff.wait(&what, e.with_exit(Exit::TempFail))?,
            }
        }
    }
}

/// Read a response whole (errors are transient: the connection broke).
pub(super) fn read_reply(mut res: Live, what: &str) -> Result<Reply> {
    let status = res.status().as_u16();
    let headers = headers_of(&res);
    let mut body = Vec::new();
    res.body_mut()
        .with_config()
        .limit(u64::MAX)
        .reader()
        .read_to_end(&mut body)
        .map_err(|e| Error::temp(format!("{what}: reading the response")).with_source(e))?;
    Ok(Reply { status, headers, body })
}

/// Build the agent: native-tls on the system OpenSSL (as `azure::agent`),
/// the platform's CA store or only the certificates of `ca_file`, a
/// connect timeout and an inactivity timeout on every read and write.
pub(super) fn agent(opts: &super::Options) -> Result<ureq::Agent> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let roots = match &opts.ca_file {
        None => RootCerts::PlatformVerifier,
        Some(p) => {
            let pem = std::fs::read(p)
                .map_err(|e| Error::config(format!("reading the CA file \"{}\"", p.display())).with_source(e))?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(Error::config(format!(
                    "the CA file \"{}\" holds no PEM certificate",
                    p.display()
                )));
            }
            RootCerts::new_with_certs(&certs)
        }
    };
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_per_read(Some(opts.io_timeout))
        .timeout_per_write(Some(opts.io_timeout))
        .max_idle_connections_per_host(opts.parallel.max(1) + 2)
        .user_agent(concat!("sw/", env!("CARGO_PKG_VERSION")))
        .tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::NativeTls)
                .root_certs(roots)
                .build(),
        )
        .build()
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_but_slashes_kept() {
        assert_eq!(encode_path("wal/0000 1+x"), "wal/0000%201%2Bx");
    }
}
