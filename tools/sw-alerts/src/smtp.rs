//! A small SMTP submission client over the system OpenSSL: implicit TLS
//! (port 465) or STARTTLS (587), TLS required unless plain text is chosen
//! explicitly; AUTH PLAIN when credentials are given.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslStream};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); fails when the server does not offer it.
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: credentials and mail in clear text (local relays and tests only).
    PlainInsecure,
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub ca_file: Option<PathBuf>,
    pub credentials: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Stream {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(b),
            Stream::Tls(s) => s.write_all(b),
        }
    }
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(b),
            Stream::Tls(s) => s.read(b),
        }
    }
}

struct Conn {
    s: Stream,
}

impl Conn {
    fn line(&mut self) -> Result<String, String> {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        loop {
            let n = self
                .s
                .read(&mut b)
                .map_err(|e| format!("reading the SMTP reply: {e}"))?;
            if n == 0 {
                return Err("the SMTP server closed the connection".into());
            }
            if b[0] == b'\n' {
                break;
            }
            out.push(b[0]);
            if out.len() > 4096 {
                return Err("SMTP reply line too long".into());
            }
        }
        Ok(String::from_utf8_lossy(&out).trim_end_matches('\r').to_owned())
    }

    /// Read a (multi-line) reply; fail unless its code is in `ok`.
    fn reply(&mut self, ok: &[u16], what: &str) -> Result<Vec<String>, String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line()?;
            let code: u16 = l
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("bad SMTP reply {l:?}"))?;
            let more = l.as_bytes().get(3) == Some(&b'-');
            lines.push(l.get(4..).unwrap_or("").to_owned());
            if !more {
                if !ok.contains(&code) {
                    return Err(format!("SMTP {what}: {code} {}", lines.join(" ")));
                }
                return Ok(lines);
            }
        }
    }

    fn cmd(&mut self, c: &str, ok: &[u16], what: &str) -> Result<Vec<String>, String> {
        self.s
            .write_all(format!("{c}\r\n").as_bytes())
            .map_err(|e| format!("SMTP {what}: {e}"))?;
        self.reply(ok, what)
    }
}

fn tls(cfg: &SmtpConfig, tcp: TcpStream) -> Result<Stream, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| format!("TLS setup: {e}"))?;
    if let Some(ca) = &cfg.ca_file {
        b.set_ca_file(ca)
            .map_err(|e| format!("loading {}: {e}", ca.display()))?;
    }
    let c = b.build();
    let s = c
        .connect(&cfg.host, tcp)
        .map_err(|e| format!("TLS handshake with {}: {e}", cfg.host))?;
    Ok(Stream::Tls(Box::new(s)))
}

fn dot_stuff(body: &str) -> String {
    let mut out = String::new();
    for l in body.lines() {
        if l.starts_with('.') {
            out.push('.');
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}

/// A header value on one line; non-ASCII text as an RFC 2047 encoded word.
fn header_safe(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ");
    if s.is_ascii() {
        s
    } else {
        format!("=?UTF-8?B?{}?=", openssl::base64::encode_block(s.as_bytes()))
    }
}

/// Send one message.
pub fn send(cfg: &SmtpConfig, subject: &str, body: &str) -> Result<(), String> {
    let addrs: Vec<_> = (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {}: {e}", cfg.host))?
        .collect();
    let mut last = format!("{} has no address", cfg.host);
    let mut conn = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, cfg.timeout) {
            Ok(t) => {
                conn = Some(t);
                break;
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
        }
    }
    let tcp = conn.ok_or(last)?;
    tcp.set_read_timeout(Some(cfg.timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(cfg.timeout)).map_err(|e| e.to_string())?;
    let stream = match cfg.tls {
        SmtpTls::Implicit => tls(cfg, tcp)?,
        _ => Stream::Plain(tcp),
    };
    let mut c = Conn { s: stream };
    c.reply(&[220], "greeting")?;
    let me = "sw-alerts.localdomain";
    let ehlo = c.cmd(&format!("EHLO {me}"), &[250], "EHLO")?;
    if cfg.tls == SmtpTls::Starttls {
        if !ehlo.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
            return Err(format!("{} does not offer STARTTLS (TLS is required)", cfg.host));
        }
        c.cmd("STARTTLS", &[220], "STARTTLS")?;
        let Stream::Plain(tcp) = c.s else {
            return Err("STARTTLS on a TLS connection".into());
        };
        c = Conn { s: tls(cfg, tcp)? };
        c.cmd(&format!("EHLO {me}"), &[250], "EHLO")?;
    }
    if let Some((user, pass)) = &cfg.credentials {
        let token = openssl::base64::encode_block(format!("\0{user}\0{pass}").as_bytes());
        // A server that echoes the command must not get it printed.
        sw_core::secret::register(&token);
        c.cmd(&format!("AUTH PLAIN {token}"), &[235], "AUTH")?;
    }
    c.cmd(&format!("MAIL FROM:<{}>", cfg.from), &[250], "MAIL FROM")?;
    for to in &cfg.to {
        c.cmd(&format!("RCPT TO:<{to}>"), &[250, 251], "RCPT TO")?;
    }
    c.cmd("DATA", &[354], "DATA")?;
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S +0000");
    let id = format!(
        "{}.{}@sw-alerts",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        std::process::id()
    );
    let msg = format!(
        "From: <{}>\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}.\r\n",
        cfg.from,
        cfg.to.iter().map(|t| format!("<{t}>")).collect::<Vec<_>>().join(", "),
        header_safe(subject),
        dot_stuff(body)
    );
    c.s.write_all(msg.as_bytes()).map_err(|e| format!("SMTP DATA: {e}"))?;
    c.reply(&[250], "end of DATA")?;
    let _ = c.cmd("QUIT", &[221], "QUIT");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_stay_on_one_line_and_ascii() {
        assert_eq!(header_safe("a\r\nb"), "a  b");
        assert_eq!(header_safe("[FIRING] x"), "[FIRING] x");
        assert_eq!(header_safe("été"), "=?UTF-8?B?w6l0w6k=?=");
    }
}
