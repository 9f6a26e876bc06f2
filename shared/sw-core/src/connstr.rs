//! The connection strings sw writes into env files, in the forms
//! applications read (a libpq URI, SQLAlchemy, JDBC, Django, libpq
//! keyword/value), always `sslmode=verify-full`. sw-provision writes them
//! for the servers it makes; sw-restore for the servers a restore,
//! promotion or failover leaves applications to use.

use std::path::Path;

use crate::secret::percent_encode as pe;

/// A host for a URL: IPv6 addresses in brackets.
pub fn host_part(host: &str) -> String {
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
    let kv = crate::conninfo::quote_kv;
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

/// The system's CA bundle file (Debian/Ubuntu, RHEL, Alpine/BSD), else
/// libpq's `system` (which libpq >= 16 resolves itself). Azure's server
/// certificates chain to public roots; the bundle is named as a file
/// because libpq before 16, and drivers such as node-postgres, read
/// sslrootcert as a path and know no `system`.
pub fn system_ca_bundle() -> String {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .iter()
    .find(|p| Path::new(p).is_file())
    .map_or_else(|| "system".to_owned(), |p| (*p).to_owned())
}
