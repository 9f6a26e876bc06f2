//! TLS and basic auth for `sw-health serve`, from the web configuration
//! file of the Prometheus exporter-toolkit (`--web.config.file`), so the
//! file a team already has for node_exporter works here too:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt        # relative paths: beside this file
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file
//!   client_ca_file: clients.crt
//!   min_version: TLS12
//! basic_auth_users:
//!   prometheus: $2y$10$...       # bcrypt (htpasswd -nBC 10 prometheus)
//! ```
//!
//! Only that subset of YAML is read (two levels of `key: value`); anything
//! else, `http_server_config` included, is refused rather than ignored.
//! TLS goes through the openssl crate every tool already links.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslVerifyMode, SslVersion};
use sw_core::fsutil::q;
use sw_core::{Error, Result};

/// `tls_server_config`.
#[derive(Debug, Default)]
pub struct Tls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
    pub client_auth_type: String,
    pub min_version: Option<String>,
}

/// The web configuration.
#[derive(Debug, Default)]
pub struct WebConfig {
    pub tls: Option<Tls>,
    /// User name → bcrypt hash.
    users: BTreeMap<String, String>,
    /// A hash checked for unknown users, so their answer takes as long.
    dummy: String,
    /// SHA-256 of (user, password, hash) that verified: bcrypt is slow by design.
    verified: Mutex<HashSet<[u8; 32]>>,
}

type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// A scalar: plain, 'single' ('' is a quote) or "double" (\\ and \").
fn scalar(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        s.to_owned()
    }
}

/// A line without its comment (`#` at the start or after a space, outside quotes).
fn uncomment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The two-level mapping the file holds.
fn sections(text: &str, at: &str) -> Result<Sections> {
    let mut out: Sections = BTreeMap::new();
    let mut current: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = uncomment(raw).trim_end();
        if line.trim().is_empty() || line.trim() == "---" {
            continue;
        }
        let err = |what: &str| Error::config(format!("{at}:{}: {what}", n + 1));
        if line.starts_with('\t') {
            return Err(err("tabs are not YAML indentation"));
        }
        let (key, value) = line.trim().split_once(':').ok_or_else(|| err("expected key: value"))?;
        let (key, value) = (scalar(key), value.trim());
        if !line.starts_with(' ') {
            if !value.is_empty() && value != "{}" {
                return Err(err(&format!("{key}: expected a mapping")));
            }
            out.entry(key.clone()).or_default();
            current = Some(key);
            continue;
        }
        let Some(sec) = &current else {
            return Err(err("indented line outside a section"));
        };
        if value.is_empty() || value.starts_with(['[', '{', '-', '|', '>', '&', '*']) {
            return Err(err(&format!("{key}: only plain or quoted values are read")));
        }
        out.entry(sec.clone()).or_default().insert(key, scalar(value));
    }
    Ok(out)
}

impl WebConfig {
    /// Read the file.
    ///
    /// # Errors
    /// 66 when it does not exist, 74 when it cannot be read, 78 when it is
    /// not valid or asks for what sw-health does not do.
    pub fn load(path: &Path) -> Result<WebConfig> {
        let at = q(path);
        let text = std::fs::read_to_string(path).map_err(|e| {
            let err = if e.kind() == std::io::ErrorKind::NotFound {
                Error::no_input(format!("web configuration {at} does not exist"))
            } else {
                Error::io(format!("reading {at}"))
            };
            err.with_source(e)
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        WebConfig::from_sections(sections(&text, &at)?, base, &at)
    }

    fn from_sections(mut s: Sections, base: &Path, at: &str) -> Result<WebConfig> {
        let mut cfg = WebConfig::default();
        if let Some(mut t) = s.remove("tls_server_config") {
            let mut take = |k: &str| t.remove(k);
            let file = |v: Option<String>| v.map(|v| base.join(v));
            let tls = Tls {
                cert_file: file(take("cert_file"))
                    .ok_or_else(|| Error::config(format!("{at}: tls_server_config needs cert_file")))?,
                key_file: file(take("key_file"))
                    .ok_or_else(|| Error::config(format!("{at}: tls_server_config needs key_file")))?,
                client_ca_file: file(take("client_ca_file")),
                client_auth_type: take("client_auth_type").unwrap_or_else(|| "NoClientCert".into()),
                min_version: take("min_version"),
            };
            if let Some(k) = t.keys().next() {
                return Err(Error::config(format!(
                    "{at}: tls_server_config.{k} is not supported by sw-health"
                )));
            }
            cfg.tls = Some(tls);
        }
        if let Some(users) = s.remove("basic_auth_users") {
            if !users.is_empty() {
                cfg.dummy = bcrypt::hash("sw-health", 10).map_err(|e| Error::software(format!("bcrypt: {e}")))?;
            }
            cfg.users = users;
        }
        if let Some(k) = s.keys().next() {
            return Err(Error::config(format!("{at}: {k} is not supported by sw-health")));
        }
        Ok(cfg)
    }

    /// The TLS acceptor, when TLS is configured.
    ///
    /// # Errors
    /// 78 when the certificate, key or CA cannot be used, or an unknown
    /// client_auth_type or min_version.
    pub fn acceptor(&self) -> Result<Option<SslAcceptor>> {
        let Some(t) = &self.tls else { return Ok(None) };
        let e = |what: String| move |err: openssl::error::ErrorStack| Error::config(format!("{what}: {err}"));
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(e("TLS set-up".into()))?;
        b.set_certificate_chain_file(&t.cert_file)
            .map_err(e(format!("certificate {}", q(&t.cert_file))))?;
        b.set_private_key_file(&t.key_file, SslFiletype::PEM)
            .map_err(e(format!("key {}", q(&t.key_file))))?;
        b.check_private_key()
            .map_err(e("the key does not match the certificate".into()))?;
        let verify = match t.client_auth_type.as_str() {
            "NoClientCert" => SslVerifyMode::NONE,
            "VerifyClientCertIfGiven" => SslVerifyMode::PEER,
            "RequireAndVerifyClientCert" => SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
            other => {
                return Err(Error::config(format!(
                    "client_auth_type {other:?}: NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                )));
            }
        };
        if verify != SslVerifyMode::NONE {
            let ca = t.client_ca_file.as_ref().ok_or_else(|| {
                Error::config(format!("client_auth_type {} needs client_ca_file", t.client_auth_type))
            })?;
            b.set_ca_file(ca).map_err(e(format!("client CA {}", q(ca))))?;
        }
        b.set_verify(verify);
        let min = match t.min_version.as_deref() {
            None | Some("TLS12") => SslVersion::TLS1_2,
            Some("TLS13") => SslVersion::TLS1_3,
            Some(v) => return Err(Error::config(format!("min_version {v:?}: TLS12 or TLS13"))),
        };
        b.set_min_proto_version(Some(min)).map_err(e("TLS version".into()))?;
        Ok(Some(b.build()))
    }

    /// Whether a request with this Authorization header may proceed.
    pub fn authorized(&self, header: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, pass)) = header
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| openssl::base64::decode_block(b.trim()).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        else {
            return false;
        };
        let Some(hash) = self.users.get(&user) else {
            // As long as a known user's check takes, so names cannot be probed.
            let _ = bcrypt::verify(&pass, &self.dummy);
            return false;
        };
        let key = openssl::sha::sha256(format!("{user}\0{pass}\0{hash}").as_bytes());
        let mut seen = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(&pass, hash).unwrap_or(false);
        if ok {
            seen.insert(key);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// bcrypt of "s3cret-pass", cost 10 (made by libxcrypt, not by the crate under test).
    const HASH: &str = "$2b$10$q5VLE2EdLI/Gikhpso5wvu2JhsrSWQUX0oYtN9rjvjKUdZovcguPK";

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            openssl::base64::encode_block(format!("{user}:{pass}").as_bytes())
        )
    }

    #[test]
    fn the_exporter_toolkit_file_is_read() {
        let text = format!(
            "# web.yml\ntls_server_config:\n  cert_file: tls/server.crt\n  key_file: \"tls/server.key\" # quoted\n\
             basic_auth_users:\n  prometheus: '{HASH}'\n  other: {HASH}\n"
        );
        let c = WebConfig::from_sections(sections(&text, "w").unwrap(), Path::new("/etc/sw"), "w").unwrap();
        let t = c.tls.as_ref().unwrap();
        assert_eq!(t.cert_file, Path::new("/etc/sw/tls/server.crt"));
        assert_eq!(t.key_file, Path::new("/etc/sw/tls/server.key"));
        assert!(c.authorized(Some(&basic("prometheus", "s3cret-pass"))));
        assert!(c.authorized(Some(&basic("prometheus", "s3cret-pass"))), "cached");
        assert!(!c.authorized(Some(&basic("prometheus", "wrong"))));
        assert!(!c.authorized(Some(&basic("nobody", "s3cret-pass"))));
        assert!(!c.authorized(None));
        assert!(WebConfig::default().authorized(None), "no users: open");
    }

    #[test]
    fn what_it_does_not_do_is_refused() {
        for (text, want) in [
            (
                "http_server_config:\n  http2: false\n",
                "http_server_config is not supported",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: x\n",
                "cipher_suites is not supported",
            ),
            ("tls_server_config:\n  key_file: b\n", "needs cert_file"),
            ("basic_auth_users:\n  a: [1]\n", "only plain or quoted values"),
            ("  a: b\n", "outside a section"),
            ("basic_auth_users: x\n", "expected a mapping"),
        ] {
            let e = sections(text, "w")
                .and_then(|s| WebConfig::from_sections(s, Path::new("."), "w"))
                .unwrap_err();
            assert_eq!(e.exit(), sw_core::Exit::Config, "{text}");
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
    }
}
