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
];

/// A host for a URL: IPv6 addresses in brackets.
fn host_part(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The JDBC URL; with `ca` = `system` it verifies against the Java trust store.
pub fn jdbc_url(host: &str, port: u16, db: &str, user: &str, pw: &str, ca: &str) -> String {
    let ssl = if ca == "system" {
        "sslmode=verify-full".to_owned()
    } else {
        format!("sslmode=verify-full&sslrootcert={}", pe(ca))
    };
    format!(
        "jdbc:postgresql://{}:{port}/{}?user={}&password={}&ssl=true&{ssl}",
        host_part(host),
        pe(db),
        pe(user),
        pe(pw)
    )
}

/// Connection strings in the forms applications read.
///
/// `ca` is the CA file clients verify against, or `system` for the
/// system store (JDBC then uses the Java trust store).
pub fn connection_vars(host: &str, port: u16, db: &str, user: &str, pw: &str, ca: &str) -> Vec<(String, String)> {
    let hostpart = host_part(host);
    let query = format!("sslmode=verify-full&sslrootcert={}", pe(ca));
    let auth = format!("{}:{}@{hostpart}:{port}/{}", pe(user), pe(pw), pe(db));
    let django = serde_json::json!({
        "ENGINE": "django.db.backends.postgresql",
        "NAME": db, "USER": user, "PASSWORD": pw, "HOST": host, "PORT": port.to_string(),
        "OPTIONS": {"sslmode": "verify-full", "sslrootcert": ca},
    });
    // libpq keyword/value: quote only when needed, so the common case reads plainly.
    let kv = sw_core::conninfo::quote_kv;
    vec![
        ("DATABASE_URL".into(), format!("postgresql://{auth}?{query}")),
        (
            "DATABASE_URL_SQLALCHEMY".into(),
            format!("postgresql+psycopg://{auth}?{query}"),
        ),
        ("DATABASE_URL_JDBC".into(), jdbc_url(host, port, db, user, pw, ca)),
        ("DATABASE_DJANGO".into(), django.to_string()),
        (
            "DATABASE_DSN".into(),
            format!(
                "host={} port={port} dbname={} user={} password={} sslmode=verify-full sslrootcert={}",
                kv(host),
                kv(db),
                kv(user),
                kv(pw),
                kv(ca)
            ),
        ),
    ]
}

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
