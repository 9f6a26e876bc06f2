//! PostgreSQL connections with sw's session set-up, and small SQL helpers.

pub mod entra;
mod tls;

use std::time::{Duration, Instant};

use tokio_postgres::config::{SslMode as DriverSsl, TargetSessionAttrs};
use tokio_postgres::{Client, Config};

use crate::error::{Error, PgContext, Result};
use crate::target::{SslMode, Target};

pub use tls::{Verify, verify_level};

/// Settings applied to every session (all overridable by flags).
#[derive(Debug, Clone)]
pub struct Session {
    /// `application_name`: the program's name unless overridden.
    pub application_name: String,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub timezone: String,
    /// Used when the target itself sets no `connect_timeout`.
    pub connect_timeout: Duration,
}

impl Session {
    /// Defaults: UTC, 60 s statements, 10 s lock waits, 10 s to connect.
    pub fn new(application_name: &str) -> Session {
        Session {
            application_name: application_name.to_owned(),
            statement_timeout: Duration::from_secs(60),
            lock_timeout: Duration::from_secs(10),
            timezone: "UTC".to_owned(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A connected client plus what it took to get it.
pub struct Connection {
    pub client: Client,
    /// Time from the first packet to a ready, configured session.
    pub connect_time: Duration,
}

fn driver_config(t: &Target, s: &Session, ssl: DriverSsl) -> Config {
    let mut c = Config::new();
    for h in &t.hosts {
        if h.starts_with('/') {
            c.host_path(h);
        } else {
            c.host(h);
        }
    }
    for a in t.hostaddrs.iter().flatten() {
        c.hostaddr(*a);
    }
    for p in &t.ports {
        c.port(*p);
    }
    c.user(&t.user);
    if let Some(pw) = t.password() {
        c.password(pw);
    }
    c.dbname(&t.dbname);
    c.application_name(t.application_name.as_deref().unwrap_or(&s.application_name));
    if let Some(o) = &t.options {
        c.options(o);
    }
    c.connect_timeout(t.connect_timeout.unwrap_or(s.connect_timeout));
    if t.target_session_attrs.as_deref() == Some("read-write") {
        c.target_session_attrs(TargetSessionAttrs::ReadWrite);
    }
    c.ssl_mode(ssl);
    c
}

/// Connect, then set TimeZone, statement_timeout and lock_timeout in one
/// round trip. The connection task is spawned on the current runtime.
///
/// # Errors
/// 69 when the server cannot be reached or TLS fails, 77 on authentication
/// failure, 78 when the database does not exist or the target is invalid.
pub async fn connect(t: &Target, s: &Session) -> Result<Connection> {
    let start = Instant::now();
    let client = open(t, s).await?;
    let setup = format!(
        "SET TimeZone = {}; SET statement_timeout = {}; SET lock_timeout = {}",
        quote_literal(&s.timezone),
        crate::duration::millis(s.statement_timeout),
        crate::duration::millis(s.lock_timeout),
    );
    client
        .batch_execute(&setup)
        .await
        .pg_context(|| format!("setting up the session on {t}"))?;
    Ok(Connection {
        client,
        connect_time: start.elapsed(),
    })
}

/// Connect without the session set-up, for a peer that is not a
/// PostgreSQL server: PgBouncer's admin console refuses SET (and the
/// extended protocol, so use `simple_query` only). `s` gives the
/// application name and the connect timeout.
///
/// # Errors
/// As [`connect`].
pub async fn connect_console(t: &Target, s: &Session) -> Result<Connection> {
    let start = Instant::now();
    let client = open(t, s).await?;
    Ok(Connection {
        client,
        connect_time: start.elapsed(),
    })
}

/// The connection by sslmode (libpq's allow tries plain first), its task
/// spawned on the current runtime.
async fn open(t: &Target, s: &Session) -> Result<Client> {
    let tls = tls::connector(t)?;
    let modes: &[DriverSsl] = match t.sslmode {
        SslMode::Disable => &[DriverSsl::Disable],
        // libpq's allow: plain first, TLS if the server insists.
        SslMode::Allow => &[DriverSsl::Disable, DriverSsl::Require],
        SslMode::Prefer => &[DriverSsl::Prefer],
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => &[DriverSsl::Require],
    };
    let mut last = None;
    for mode in modes {
        match driver_config(t, s, *mode).connect(tls.clone()).await {
            Ok((client, conn)) => {
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        log::debug!("connection closed: {e}");
                    }
                });
                return Ok(client);
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(Error::pg(format!("connecting to {t}"), e)),
        None => Err(Error::software("no connection attempt was made")),
    }
}

/// Quote an SQL identifier (always, so reserved words and mixed case work).
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quote an SQL string literal (standard_conforming_strings on).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("Order"), "\"Order\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
