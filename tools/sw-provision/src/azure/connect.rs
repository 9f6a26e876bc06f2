//! The env file of an Azure server: the administrator's connection
//! strings (verify-full against public roots), and the mark that a
//! password was saved before Azure confirmed it.

use std::path::Path;

use serde_json::Value;
use sw_core::Result;
use sw_core::envfile::EnvFile;

use super::server::text;
use crate::local::{connection_vars, jdbc_url, readonly_url};
use sw_core::connstr::system_ca_bundle;

/// Env-file key marking a password saved before Azure confirmed it
/// (`create` or `update`); removed once the run succeeds.
pub const PENDING_KEY: &str = "SW_PROVISION_PASSWORD_UNCONFIRMED";

/// Whose connection strings, to what.
pub struct Login<'a> {
    /// The server name (its host name until the resource says otherwise).
    pub name: &'a str,
    /// The administrator when the resource does not name one.
    pub admin: &'a str,
    pub database: &'a str,
    pub password: &'a str,
}

/// The connection strings for `login` on `server` (the resource as far as
/// it is known; Null for one not created yet).
pub fn vars(login: &Login<'_>, server: &Value, env: &EnvFile) -> Vec<(String, String)> {
    let fqdn = match text(server, "/properties/fullyQualifiedDomainName") {
        "" => format!("{}.postgres.database.azure.com", login.name),
        f => f.to_owned(),
    };
    let user = match text(server, "/properties/administratorLogin") {
        "" => login.admin,
        u => u,
    };
    let (db, pw) = (login.database, login.password);
    // Azure's server certificates chain to public roots: verify-full against
    // the system's CA bundle, named as a file (libpq before 16, and drivers
    // such as node-postgres, read sslrootcert as a path and know no
    // `system`); JDBC uses the Java trust store.
    let roots = system_ca_bundle();
    let mut vars = connection_vars(&fqdn, 5432, db, user, pw, &roots);
    if let Some(jdbc) = vars.iter_mut().find(|(k, _)| k == "DATABASE_URL_JDBC") {
        jdbc.1 = jdbc_url(&fqdn, 5432, db, user, pw, "system");
    }
    // The replica's read-only URL (from `azure replica`) follows the password.
    if let Some(ro) = readonly_url(env, user, pw) {
        vars.push(("DATABASE_URL_READONLY".into(), ro));
    }
    vars
}

/// Write `vars` and the pending mark to the env file when they differ;
/// whether it was written.
pub fn save(path: &Path, env: &mut EnvFile, vars: &[(String, String)], pending: Option<&str>) -> Result<bool> {
    if vars.iter().all(|(k, v)| env.get(k) == Some(v.as_str())) && env.get(PENDING_KEY) == pending {
        return Ok(false);
    }
    for (k, v) in vars {
        env.set(k, v);
    }
    match pending {
        Some(p) => env.set(PENDING_KEY, p),
        None => env.remove(PENDING_KEY),
    }
    env.write(path)?;
    Ok(true)
}
