//! The connection strings sw-provision writes, in the forms applications
//! read, and reading a password back from an env file.

use sw_core::envfile::EnvFile;
use sw_core::secret::percent_encode as pe;

/// The password of `user` in the env file's DATABASE_URL (none when the
/// URL is for another role, e.g. a superuser URL from an older set-up).
pub(crate) fn password_in(env: &EnvFile, user: &str) -> Option<String> {
    let url = env.get("DATABASE_URL")?;
    let p = sw_core::conninfo::parse(url).ok()?;
    if p.get("user").map(String::as_str) != Some(user) {
        return None;
    }
    p.get("password").cloned()
}

/// The env file's DATABASE_URL_READONLY (a standby's) with `pw` as its
/// password, when it is for `user`: it follows the primary's password.
pub(crate) fn readonly_url(env: &EnvFile, user: &str, pw: &str) -> Option<String> {
    let mut p = sw_core::conninfo::parse(env.get("DATABASE_URL_READONLY")?).ok()?;
    if p.get("user").map(String::as_str) != Some(user) {
        return None;
    }
    p.insert("password".into(), pw.to_owned());
    Some(url_from(&p))
}

/// The env-file keys sw-provision owns.
pub const ENV_KEYS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_URL_SQLALCHEMY",
    "DATABASE_URL_JDBC",
    "DATABASE_DJANGO",
    "DATABASE_DSN",
    "DATABASE_URL_READONLY",
    "DATABASE_URL_POOLED",
];

pub use sw_core::connstr::{connection_vars, jdbc_url};

/// A postgresql:// URL from conninfo parameters.
pub fn url_from(p: &sw_core::conninfo::Params) -> String {
    let g = |k: &str| p.get(k).map_or("", String::as_str);
    let mut q: Vec<String> = p
        .iter()
        .filter(|(k, _)| !["host", "port", "user", "password", "dbname"].contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", pe(v)))
        .collect();
    q.sort();
    let port = if g("port").is_empty() { "5432" } else { g("port") };
    format!(
        "postgresql://{}:{}@{}:{port}/{}{}{}",
        pe(g("user")),
        pe(g("password")),
        g("host"),
        pe(g("dbname")),
        if q.is_empty() { "" } else { "?" },
        q.join("&")
    )
}
