//! The application role on an Azure server: once the server is reachable
//! (a firewall rule admits this host, or this runs inside the VNet, or
//! `--connect-to` goes through a tunnel), sign in as the administrator over
//! verify-full TLS and make the role, its database and its env file with
//! the same steps as `local` ([`crate::approle`]). The administrator is no
//! superuser there (a CREATEROLE/CREATEDB member of azure_pg_admin), so a
//! stored password is checked by signing in with it.
//!
//! `--connect-to ADDR:PORT` is the documented host override: the TCP
//! connection goes to ADDR:PORT while TLS still verifies the server's own
//! name (libpq's `hostaddr`), for an SSH tunnel or port forward to a
//! private server, and for tests with a local TLS cluster standing in for
//! Azure (with `--sslrootcert` naming its CA).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sw_core::config::Env;
use sw_core::conninfo::Params;
use sw_core::pg::{self, Session};
use sw_core::target::Target as PgTarget;
use sw_core::{Error, Exit, Result};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::args::parse_db_name;
use crate::approle::{self, Admin, App, Note, Vars};

/// The application role flags.
#[derive(Args, Debug, Clone)]
pub struct RoleArgs {
    /// The application role, made over SQL as `local` makes it (default: the database's name).
    #[arg(long, value_name = "NAME", value_parser = parse_role)]
    pub app_role: Option<String>,
    /// Make no application role (nor connect to the server): the database is created through ARM
    /// and only the administrator's env file is written.
    #[arg(long, conflicts_with_all = ["app_role", "rotate_password"])]
    pub no_app_role: bool,
    /// Env file for the administrator's connection strings, 0600, never the application's
    /// (default: the env file's name with .admin before .env).
    #[arg(long, value_name = "FILE")]
    pub admin_env_file: Option<PathBuf>,
    /// Give the administrator a new password (default: keep the one in its env file).
    #[arg(long)]
    pub rotate_admin_password: bool,
    /// Reach the server for the role step at ADDR:PORT (an SSH tunnel or port forward) instead of its
    /// host name on 5432; TLS still verifies the server's name.
    #[arg(long, value_name = "ADDR:PORT")]
    pub connect_to: Option<SocketAddr>,
    /// CA certificates the role step verifies the server with (default: the system's bundle; Azure's
    /// certificates chain to public roots).
    #[arg(long, value_name = "FILE")]
    pub sslrootcert: Option<PathBuf>,
    /// Give up connecting for the role step after this long.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse)]
    pub connect_timeout: Duration,
}

/// Role names Azure leaves to the application (no `pg_`/`azure` prefix).
fn parse_role(s: &str) -> std::result::Result<String, String> {
    let r = parse_db_name(s).map_err(|_| format!("invalid role name {s:?}"))?;
    let lower = r.to_ascii_lowercase();
    if lower.starts_with("pg_") || lower.starts_with("azure") || lower == "postgres" || lower == "public" {
        return Err(format!("{s:?} is reserved on Azure (pg_*, azure*, postgres, public)"));
    }
    Ok(r)
}

/// The administrator, signed in over verify-full TLS: one session per
/// database, on a current-thread runtime of its own.
struct Administrator {
    rt: tokio::runtime::Runtime,
    params: Params,
    password: String,
    session: Session,
    clients: RefCell<BTreeMap<String, Client>>,
}

impl Administrator {
    fn target(&self, user: &str, password: &str, db: &str) -> Result<PgTarget> {
        let mut p = self.params.clone();
        p.insert("user".into(), user.to_owned());
        p.insert("dbname".into(), db.to_owned());
        // A fixed, empty environment: no PG* variable or ~/.pgpass may steer this.
        let mut t = PgTarget::from_params(
            p,
            &Env::fixed(Vec::<(String, String)>::new()),
            "the Azure server".into(),
        )?;
        t.set_password(Some(password.to_owned()));
        Ok(t)
    }

    fn connect(&self, t: &PgTarget) -> Result<Client> {
        Ok(self.rt.block_on(pg::connect(t, &self.session))?.client)
    }
}

impl Admin for Administrator {
    fn sql(&self, db: &str, sql: &str) -> Result<String> {
        let mut clients = self.clients.borrow_mut();
        if !clients.contains_key(db) {
            let t = self.target(&self.params["user"], &self.password, db)?;
            clients.insert(db.to_owned(), self.connect(&t)?);
        }
        let client = &clients[db];
        let msgs = self
            .rt
            .block_on(client.simple_query(sql))
            .map_err(|e| Error::pg(format!("running SQL in {db} as the administrator"), e))?;
        let rows: Vec<String> = msgs
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join("|"),
                ),
                _ => None,
            })
            .collect();
        Ok(rows.join("\n"))
    }

    fn password_works(&self, role: &str, password: &str) -> Result<bool> {
        let t = self.target(role, password, "postgres")?;
        match self.connect(&t) {
            Ok(_) => Ok(true),
            // Refused sign-in (28P01, or no pg_hba entry, 28000): set it again.
            Err(e) if e.exit() == Exit::NoPerm => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn superuser(&self) -> bool {
        false
    }
}

/// Who signs in where for the role step.
pub struct Server<'a> {
    /// The server's host name (verified against its certificate).
    pub host: &'a str,
    pub admin: &'a str,
    pub admin_password: &'a str,
}

/// Make the application role, database and env file on the server.
///
/// # Errors
/// 69 when the server cannot be reached from here (with what to do), 77
/// when the administrator's password is refused, 70 for SQL that fails.
pub fn ensure(r: &RoleArgs, s: &Server<'_>, app: &App<'_>, vars: &Vars<'_>, note: &mut Note<'_>) -> Result<()> {
    let roots = match &r.sslrootcert {
        Some(p) => p.display().to_string(),
        None => sw_core::connstr::system_ca_bundle(),
    };
    let mut params = Params::new();
    params.insert("host".into(), s.host.to_owned());
    params.insert("port".into(), r.connect_to.map_or(5432, |a| a.port()).to_string());
    if let Some(a) = r.connect_to {
        params.insert("hostaddr".into(), a.ip().to_string());
    }
    params.insert("user".into(), s.admin.to_owned());
    params.insert("sslmode".into(), "verify-full".into());
    params.insert("sslrootcert".into(), roots);
    let mut session = Session::new("sw-provision");
    session.connect_timeout = r.connect_timeout;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::software("starting the async runtime").with_source(e))?;
    let admin = Administrator {
        rt,
        params,
        password: s.admin_password.to_owned(),
        session,
        clients: RefCell::new(BTreeMap::new()),
    };
    // Sign in once up front, so "cannot reach it" is one clear line.
    admin
        .sql("postgres", "SELECT 1")
        .map_err(|e| reach_hint(e, s.host, r))?;
    approle::ensure(Some(&admin), app, vars, note)
}

fn reach_hint(e: Error, host: &str, r: &RoleArgs) -> Error {
    let via = r.connect_to.map(|a| format!(" through {a}")).unwrap_or_default();
    match e.exit() {
        Exit::Unavailable | Exit::TempFail => e.context(format!(
            "connecting to {host}{via} as the administrator to make the application role (let this host in with --allow-ip auto, run inside the VNet, or go through a tunnel with --connect-to; --no-app-role skips the step)"
        )),
        Exit::NoPerm => e.context(format!(
            "signing in to {host}{via} as the administrator with the password of its env file (--rotate-admin-password sets a new one)"
        )),
        _ => e.context(format!("signing in to {host}{via} as the administrator")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_reserved_role_names_are_refused() {
        assert!(parse_role("orders").is_ok());
        for bad in ["pg_app", "azure_pg_admin", "azuresu", "postgres", "1x"] {
            assert!(parse_role(bad).is_err(), "{bad}");
        }
    }
}
