//! Parse libpq connection strings, both forms, into a parameter map:
//! URIs (`postgresql://user:pw@host:port,host2/db?sslmode=require`, also
//! `postgres://` and SQLAlchemy's `postgresql+psycopg2://`) and
//! `key=value` conninfo (`host=x port=5432 password='a b'`).
//!
//! tokio-postgres parses neither `verify-ca`/`verify-full` nor `sslrootcert`,
//! so sw-core owns the parsing and builds the driver's config itself.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Parameters libpq knows. Unknown keys are an error, as in libpq, so a typo
/// such as `sslmdoe=require` never silently weakens a connection.
const KNOWN: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "requiressl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslcertmode",
    "channel_binding",
    "gssencmode",
    "gsslib",
    "gssdelegation",
    "krbsrvname",
    "require_auth",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
    "replication",
];

/// Parsed connection parameters (keys are libpq's names).
pub type Params = BTreeMap<String, String>;

/// Parse either form; URIs are recognised by their scheme.
pub fn parse(s: &str) -> Result<Params> {
    let t = s.trim();
    if (t.starts_with("postgresql") || t.starts_with("postgres"))
        && let Some(i) = t.find("://")
    {
        return parse_uri(&t[i + 3..], &t[..i]);
    }
    if t.contains("://") {
        let scheme = t.split("://").next().unwrap_or("");
        return Err(Error::config(format!(
            "unsupported URI scheme {scheme:?} (expected postgresql:// or postgres://)"
        )));
    }
    parse_kv(t)
}

fn check_key(key: &str) -> Result<()> {
    if KNOWN.contains(&key) {
        Ok(())
    } else {
        Err(Error::config(format!("invalid connection option {key:?}")))
    }
}

fn parse_uri(rest: &str, scheme: &str) -> Result<Params> {
    // postgresql+psycopg2, postgres+asyncpg...: the driver suffix is SQLAlchemy's.
    let base = scheme.split('+').next().unwrap_or(scheme);
    if base != "postgresql" && base != "postgres" {
        return Err(Error::config(format!("unsupported URI scheme {scheme:?}")));
    }
    let mut p = Params::new();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, b)) => (a, Some(b)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], Some(&before_query[i + 1..])),
        None => (before_query, None),
    };
    let hostspec = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, pw) = match userinfo.split_once(':') {
                Some((u, pw)) => (u, Some(pw)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                p.insert("user".into(), decode(user)?);
            }
            if let Some(pw) = pw {
                p.insert("password".into(), decode(pw)?);
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    if !hostspec.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for part in hostspec.split(',') {
            let (h, port) = split_host_port(part)?;
            hosts.push(decode(h)?);
            ports.push(port.to_owned());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            p.insert("host".into(), hosts.join(","));
        }
        if ports.iter().any(|x| !x.is_empty()) {
            p.insert("port".into(), ports.join(","));
        }
    }
    if let Some(db) = path
        && !db.is_empty()
    {
        p.insert("dbname".into(), decode(db)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|x| !x.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                Error::config(format!(
                    "invalid URI query parameter {:?} (expected key=value)",
                    decode_lossy(pair)
                ))
            })?;
            let k = decode(k)?;
            let v = decode(v)?;
            // JDBC's ssl=true is accepted by libpq as sslmode=require.
            if k == "ssl" && v == "true" {
                p.insert("sslmode".into(), "require".into());
                continue;
            }
            check_key(&k)?;
            p.insert(k, v);
        }
    }
    Ok(p)
}

fn split_host_port(part: &str) -> Result<(&str, &str)> {
    if let Some(rest) = part.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| Error::config("unterminated [ipv6] host in URI"))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = after.strip_prefix(':').unwrap_or("");
        return Ok((host, port));
    }
    match part.rsplit_once(':') {
        Some((h, port)) => {
            if !port.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::config(format!("invalid port {port:?} in URI")));
            }
            Ok((h, port))
        }
        None => Ok((part, "")),
    }
}

fn decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or_else(|| Error::config("invalid percent-encoding in URI"))?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| Error::config("invalid percent-encoding in URI"))?;
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::config("percent-encoded URI part is not UTF-8"))
}

fn decode_lossy(s: &str) -> String {
    decode(s).unwrap_or_else(|_| s.to_owned())
}

fn parse_kv(s: &str) -> Result<Params> {
    let mut p = Params::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(Error::config(format!(
                "missing \"=\" after {key:?} in connection info string (expected a URI or key=value pairs)"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => val.push(c),
                }
            }
            if !closed {
                return Err(Error::config("unterminated quoted string in connection info string"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        val.push(n);
                    }
                } else {
                    val.push(c);
                }
            }
        }
        check_key(&key)?;
        p.insert(key, val);
    }
    Ok(p)
}

/// Quote a value for key=value conninfo when needed.
pub fn quote_kv(v: &str) -> String {
    if !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return v.to_owned();
    }
    let mut s = String::from("'");
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_full() {
        let p =
            parse("postgresql://app:p%40ss@db.example:6543/my%20db?sslmode=verify-full&sslrootcert=/ca.pem").unwrap();
        assert_eq!(p["user"], "app");
        assert_eq!(p["password"], "p@ss");
        assert_eq!(p["host"], "db.example");
        assert_eq!(p["port"], "6543");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["sslmode"], "verify-full");
        assert_eq!(p["sslrootcert"], "/ca.pem");
    }

    #[test]
    fn uri_legacy_and_multi_host() {
        let p = parse("postgresql+psycopg2://u@h1:1,[::1]:2/d").unwrap();
        assert_eq!(p["host"], "h1,::1");
        assert_eq!(p["port"], "1,2");
        let p = parse("postgres://%2Fvar%2Frun%2Fpostgresql/db").unwrap();
        assert_eq!(p["host"], "/var/run/postgresql");
        let p = parse("postgresql:///db?host=/tmp&ssl=true").unwrap();
        assert_eq!(p["host"], "/tmp");
        assert_eq!(p["sslmode"], "require");
        assert_eq!(p["dbname"], "db");
    }

    #[test]
    fn kv_quoting() {
        let p = parse("host=localhost port = 5433 password='it\\'s a secret' dbname=x").unwrap();
        assert_eq!(p["host"], "localhost");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["password"], "it's a secret");
        assert_eq!(p["dbname"], "x");
    }

    #[test]
    fn errors_are_config_errors() {
        assert_eq!(parse("sslmdoe=require").unwrap_err().exit(), crate::Exit::Config);
        assert!(parse("host").is_err());
        assert!(parse("host='x").is_err());
        assert!(parse("mysql://x").is_err());
        assert!(parse("postgresql://h:abc/db").is_err());
    }

    #[test]
    fn quote_roundtrip() {
        for v in ["plain", "has space", "it's", "back\\slash", ""] {
            let p = parse(&format!("password={}", quote_kv(v))).unwrap();
            assert_eq!(p["password"], v);
        }
    }
}
