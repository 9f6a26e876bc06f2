//! The fake ARM over HTTPS: a TLS front on its own loopback port whose
//! server certificate is signed by a throwaway test CA (see [`crate::tls`]).
//! It forwards each request to the plain fake unchanged, adding the header
//! `X-Sw-Fake-Via: https` so a test can tell which way a request came.
//!
//! This exists for credentials that refuse a plain-http authority:
//! azure_identity's workload identity (and client assertion) credentials
//! insist on `https`. Point the tool's `--token-endpoint` (or
//! `SW_AZURE_TOKEN_ENDPOINT`) at [`Https::url`] and make it trust the CA
//! with `SSL_CERT_FILE=`[`Https::ca_file`] (OpenSSL, and so native-tls,
//! honour it). Monitor URLs in 202 replies still point at the plain fake.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};

use crate::azure::FakeArm;
use crate::tls::{self, Certs};

/// The header the front adds to every request it forwards.
pub const VIA_HEADER: &str = "X-Sw-Fake-Via";

/// A running HTTPS front (serves until the test process exits).
pub struct Https {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    pub certs: Certs,
}

impl Https {
    /// The CA certificate (PEM) the front's certificate chains to.
    pub fn ca_file(&self) -> &Path {
        &self.certs.ca_cert
    }
}

impl FakeArm {
    /// Serve this fake over HTTPS too, with a new test CA and a server
    /// certificate for 127.0.0.1 and localhost written under `dir`.
    pub fn https(&self, dir: &Path) -> Https {
        let certs = tls::make(dir, &["127.0.0.1", "localhost"]);
        let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acc.set_certificate_chain_file(&certs.server_cert).unwrap();
        acc.set_private_key_file(&certs.server_key, SslFiletype::PEM).unwrap();
        let acceptor = Arc::new(acc.build());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let plain = self.url.trim_start_matches("http://").to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (acceptor, plain) = (Arc::clone(&acceptor), plain.clone());
                std::thread::spawn(move || {
                    if let Ok(tls) = acceptor.accept(stream) {
                        forward(tls, &plain);
                    }
                });
            }
        });
        Https { url, certs }
    }
}

/// Read one request from `client`, send it to the plain fake with the via
/// header, and copy the answer back (the fake closes after each reply).
fn forward<S: Read + Write>(client: S, plain: &str) {
    let mut reader = BufReader::new(client);
    let mut head = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
        if line.trim().is_empty() {
            head.push_str(&format!("{VIA_HEADER}: https\r\n\r\n"));
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let Ok(mut up) = TcpStream::connect(plain) else { return };
    if up.write_all(head.as_bytes()).is_err() || up.write_all(&body).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let client = reader.get_mut();
    let _ = client.write_all(&answer);
    let _ = client.flush();
}

/// Decode an `application/x-www-form-urlencoded` body.
pub fn form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
