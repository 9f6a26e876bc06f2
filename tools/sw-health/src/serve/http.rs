//! Just enough HTTP/1.1 for an exporter: read one request head (no body;
//! bounded in size and, through the socket's timeouts, in time), write one
//! response and close. Prometheus, curl and load balancers need no more;
//! a crate for it would add more to the build than this file is long.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use openssl::ssl::SslStream;

/// The most a request head may hold (request line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// A connection, plain or TLS.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A request head.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent (`/metrics?x=1`).
    pub target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Read one request head; None when the peer closed without sending one.
///
/// # Errors
/// InvalidData for a malformed or oversized head; the socket's errors
/// (a read timeout included).
pub fn read_request(r: impl Read) -> io::Result<Option<Request>> {
    let mut r = BufReader::new(r.take(MAX_HEAD as u64));
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not HTTP/1.x"));
    }
    let mut req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers: Vec::new(),
    };
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(bad("request head cut short or too long"));
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            return Ok(Some(req));
        }
        let (k, v) = h.split_once(':').ok_or_else(|| bad("malformed header"))?;
        req.headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
}

/// A response to write.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A plain-text response.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Write `resp` (without its body for HEAD) and end the connection's use.
///
/// # Errors
/// The socket's.
pub fn write_response(w: &mut impl Write, resp: &Response, head_only: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(&resp.body)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_request_head() {
        let raw = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: application/openmetrics-text\r\n\r\n";
        let r = read_request(raw.as_bytes()).unwrap().unwrap();
        assert_eq!((r.method.as_str(), r.path()), ("GET", "/metrics"));
        assert_eq!(r.header("accept"), Some("application/openmetrics-text"));
        assert!(read_request(&b""[..]).unwrap().is_none());
        assert!(read_request(&b"GET /\r\n\r\n"[..]).is_err());
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(read_request(huge.as_bytes()).is_err());
    }

    #[test]
    fn writes_a_response() {
        let mut out = Vec::new();
        let mut r = Response::text(401, "no\n");
        r.headers.push(("www-authenticate", "Basic realm=\"sw-health\"".into()));
        write_response(&mut out, &r, false).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{s}");
        assert!(s.contains("content-length: 3\r\n") && s.contains("www-authenticate: Basic realm=\"sw-health\"\r\n"));
        assert!(s.ends_with("\r\n\r\nno\n"), "{s}");
    }
}
