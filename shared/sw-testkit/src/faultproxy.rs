//! A fault-injecting HTTPS proxy on 127.0.0.1, between a Blob client and
//! Azurite.
//!
//! It terminates TLS with a certificate from the same test CA (so the
//! client verifies it exactly as it verifies Azurite) and speaks TLS to
//! Azurite behind it, which lets it see each HTTP request and fault it at
//! the HTTP or the TCP level. Tests script it: [`FaultProxy::inject`]
//! gives the next N requests matching a [`Match`] a [`Fault`]: a reset
//! mid-upload, a canned status (503 ServerBusy, 409 BlobAlreadyExists), a
//! hung response, or a response lost after Azurite acted on the request.
//! Every request is logged with the fault it got. Forwarded requests carry
//! `Connection: close`, so each connection holds one request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openssl::ssl::{SslAcceptor, SslConnector, SslFiletype, SslMethod, SslStream};

use crate::tls::Certs;

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Read this many bytes of the request body, then reset the connection.
    Reset { after_body_bytes: usize },
    /// Answer with this status and `x-ms-error-code` without forwarding.
    Status { status: u16, code: String },
    /// Read the request, then never answer (until the proxy is dropped).
    Hang,
    /// Forward the request and read Azurite's answer, then reset the
    /// client's connection: the write happened, the client never hears.
    DropResponse,
    /// Forward the request, pass on only the first `after_bytes` bytes of
    /// the response (headers included), then reset: a download broken
    /// mid-body.
    CutResponse { after_bytes: usize },
}

impl Fault {
    /// 503 ServerBusy.
    pub fn server_busy() -> Fault {
        Fault::Status {
            status: 503,
            code: "ServerBusy".into(),
        }
    }
    /// 500 OperationTimedOut.
    pub fn operation_timed_out() -> Fault {
        Fault::Status {
            status: 500,
            code: "OperationTimedOut".into(),
        }
    }
    /// 409 BlobAlreadyExists.
    pub fn already_exists() -> Fault {
        Fault::Status {
            status: 409,
            code: "BlobAlreadyExists".into(),
        }
    }
}

/// Which requests a fault applies to (all given parts must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    pub method: Option<String>,
    /// A substring of the path and query as sent.
    pub target_contains: Option<String>,
}

impl Match {
    /// Every request.
    pub fn any() -> Match {
        Match::default()
    }
    /// Requests with this method.
    pub fn method(m: &str) -> Match {
        Match {
            method: Some(m.to_owned()),
            ..Match::default()
        }
    }
    /// Also require `s` in the target.
    #[must_use]
    pub fn target(mut self, s: &str) -> Match {
        self.target_contains = Some(s.to_owned());
        self
    }
    fn hits(&self, method: &str, target: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.target_contains.as_deref().is_none_or(|t| target.contains(t))
    }
}

/// A request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// The fault it got, if any.
    pub fault: Option<Fault>,
}

struct Rule {
    when: Match,
    fault: Fault,
    left: usize,
}

#[derive(Default)]
struct State {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
    shutdown: AtomicBool,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub port: u16,
    account: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// Proxy 127.0.0.1:`upstream_port` (HTTPS, certificate from `certs`'
    /// CA), serving HTTPS with `certs`' server certificate; `account` is
    /// the first path segment of [`FaultProxy::endpoint`].
    pub fn start(upstream_port: u16, certs: &Certs, account: &str) -> FaultProxy {
        let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acc.set_certificate_chain_file(&certs.server_cert).unwrap();
        acc.set_private_key_file(&certs.server_key, SslFiletype::PEM).unwrap();
        let acceptor = Arc::new(acc.build());
        let mut conn = SslConnector::builder(SslMethod::tls()).unwrap();
        conn.set_ca_file(&certs.ca_cert).unwrap();
        let connector = Arc::new(conn.build());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.shutdown.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (acceptor, connector, st) = (Arc::clone(&acceptor), Arc::clone(&connector), Arc::clone(&st));
                std::thread::spawn(move || {
                    if let Ok(tls) = acceptor.accept(stream) {
                        serve(tls, &connector, upstream_port, &st);
                    }
                });
            }
        });
        FaultProxy {
            port,
            account: account.to_owned(),
            state,
        }
    }

    /// A proxy in front of an [`crate::azurite::Azurite`].
    pub fn for_azurite(a: &crate::azurite::Azurite) -> FaultProxy {
        FaultProxy::start(a.port, &a.certs, crate::azurite::ACCOUNT)
    }

    /// The Blob endpoint through the proxy.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}/{}", self.port, self.account)
    }

    /// Give the next `times` requests matching `when` the fault `fault`.
    /// Rules are tried in the order they were added.
    pub fn inject(&self, when: Match, fault: Fault, times: usize) {
        self.state.rules.lock().unwrap().push(Rule {
            when,
            fault,
            left: times,
        });
    }

    /// Drop every rule not used up yet.
    pub fn clear(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Faults still to be given.
    pub fn pending(&self) -> usize {
        self.state.rules.lock().unwrap().iter().map(|r| r.left).sum()
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.shutdown.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A parsed request head and what of the body came with it.
struct Head {
    raw: Vec<u8>,
    method: String,
    target: String,
    content_length: usize,
    body_start: Vec<u8>,
}

fn read_head(s: &mut impl Read) -> Option<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let mut raw = format!("{method} {target} HTTP/1.1\r\n");
    let mut content_length = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':')?;
        if k.eq_ignore_ascii_case("content-length") {
            content_length = v.trim().parse().ok()?;
        }
        if !k.eq_ignore_ascii_case("connection") {
            raw.push_str(line);
            raw.push_str("\r\n");
        }
    }
    raw.push_str("Connection: close\r\n\r\n");
    Some(Head {
        raw: raw.into_bytes(),
        method,
        target,
        content_length,
        body_start: buf[end..].to_vec(),
    })
}

/// Read the rest of the body (up to `limit` bytes in all).
fn read_body(s: &mut impl Read, head: &Head, limit: usize) -> Option<Vec<u8>> {
    let want = head.content_length.min(limit);
    let mut body = head.body_start.clone();
    body.truncate(want);
    let mut chunk = [0u8; 65536];
    while body.len() < want {
        let n = s.read(&mut chunk[..(want - body.len()).min(65536)]).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(body)
}

/// Close with a TCP reset (SO_LINGER 0) rather than a FIN.
fn reset(tls: SslStream<TcpStream>) {
    let tcp = tls.get_ref();
    let _ = nix::sys::socket::setsockopt(
        &tcp.as_fd(),
        nix::sys::socket::sockopt::Linger,
        &nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    );
    drop(tls);
}

fn take_fault(st: &State, method: &str, target: &str) -> Option<Fault> {
    let mut rules = st.rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| r.left > 0 && r.when.hits(method, target))?;
    rule.left -= 1;
    Some(rule.fault.clone())
}

fn serve(mut client: SslStream<TcpStream>, connector: &SslConnector, upstream: u16, st: &State) {
    let Some(head) = read_head(&mut client) else { return };
    let fault = take_fault(st, &head.method, &head.target);
    st.seen.lock().unwrap().push(Seen {
        method: head.method.clone(),
        target: head.target.clone(),
        fault: fault.clone(),
    });
    match fault {
        Some(Fault::Reset { after_body_bytes }) => {
            let _ = read_body(&mut client, &head, after_body_bytes);
            reset(client);
        }
        Some(Fault::Status { status, code }) => {
            let _ = read_body(&mut client, &head, usize::MAX);
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code>\
                 <Message>injected by the test proxy</Message></Error>"
            );
            let reply = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nx-ms-error-code: {code}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(reply.as_bytes());
            let _ = client.shutdown();
        }
        Some(Fault::Hang) => {
            let _ = read_body(&mut client, &head, usize::MAX);
            let start = Instant::now();
            while !st.shutdown.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(300) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(Fault::DropResponse) => {
            if let Some(mut up) = forward(&mut client, &head, connector, upstream) {
                let mut sink = Vec::new();
                let _ = up.read_to_end(&mut sink);
            }
            reset(client);
        }
        Some(Fault::CutResponse { after_bytes }) => {
            if let Some(mut up) = forward(&mut client, &head, connector, upstream) {
                relay(&mut up, &mut client, after_bytes);
            }
            reset(client);
        }
        None => {
            if let Some(mut up) = forward(&mut client, &head, connector, upstream) {
                relay(&mut up, &mut client, usize::MAX);
                let _ = client.shutdown();
            }
        }
    }
}

/// Copy up to `limit` bytes of Azurite's answer to the client.
fn relay(up: &mut SslStream<TcpStream>, client: &mut SslStream<TcpStream>, limit: usize) {
    let mut buf = [0u8; 65536];
    let mut left = limit;
    while left > 0 {
        match up.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let n = n.min(left);
                if client.write_all(&buf[..n]).is_err() {
                    return;
                }
                left -= n;
            }
        }
    }
    let _ = client.flush();
}

/// Send the request (head and whole body) to Azurite.
fn forward(
    client: &mut SslStream<TcpStream>,
    head: &Head,
    connector: &SslConnector,
    upstream: u16,
) -> Option<SslStream<TcpStream>> {
    let body = read_body(client, head, usize::MAX)?;
    let tcp = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    let mut up = connector.connect("127.0.0.1", tcp).ok()?;
    up.write_all(&head.raw).ok()?;
    up.write_all(&body).ok()?;
    Some(up)
}
