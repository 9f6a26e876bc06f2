//! The env files of an Azure server: the application role's connection
//! strings in `--env-file`, the administrator's in a separate 0600 file
//! (`--admin-env-file`), both verify-full against public roots, and the
//! mark that an administrator password was saved before Azure confirmed it.
//!
//! Env files written before the application role existed held the
//! administrator's strings in `--env-file`: their password (and mark) are
//! read from there once and move to the administrator's file.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sw_core::envfile::EnvFile;
use sw_core::{Error, Result};

use super::args::ApplyArgs;
use super::server::text;
use super::target::Target;
use crate::local::{connection_vars, jdbc_url, password_in, readonly_url};
use sw_core::connstr::system_ca_bundle;

/// Env-file key marking a password saved before Azure confirmed it
/// (`create` or `update`); removed once the run succeeds.
pub const PENDING_KEY: &str = "SW_PROVISION_PASSWORD_UNCONFIRMED";

/// The server's host name: ARM's `fullyQualifiedDomainName`, else the
/// public name it will have. (A VNet-integrated server keeps that name; it
/// resolves to the private address inside the VNet through the zone.)
pub fn host(server: &Value, name: &str) -> String {
    match text(server, "/properties/fullyQualifiedDomainName") {
        "" => format!("{name}.postgres.database.azure.com"),
        f => f.to_owned(),
    }
}

/// The port of Azure's built-in PgBouncer.
pub const PGBOUNCER_PORT: u16 = 6432;

/// Whose connection strings, to what.
pub struct Login<'a> {
    pub host: &'a str,
    pub user: &'a str,
    pub database: &'a str,
    pub password: &'a str,
    /// Azure's built-in PgBouncer is on: `DATABASE_URL_POOLED` too.
    pub pooled: bool,
}

/// The connection strings for `login`.
pub fn vars(login: &Login<'_>) -> Vec<(String, String)> {
    let (host, user, db, pw) = (login.host, login.user, login.database, login.password);
    // Azure's server certificates chain to public roots: verify-full against
    // the system's CA bundle, named as a file (libpq before 16, and drivers
    // such as node-postgres, read sslrootcert as a path and know no
    // `system`); JDBC uses the Java trust store.
    let roots = system_ca_bundle();
    let mut vars = connection_vars(host, 5432, db, user, pw, &roots);
    if let Some(jdbc) = vars.iter_mut().find(|(k, _)| k == "DATABASE_URL_JDBC") {
        jdbc.1 = jdbc_url(host, 5432, db, user, pw, "system");
    }
    if login.pooled {
        // The built-in PgBouncer listens on 6432 of the same host, same certificate.
        let pooled = connection_vars(host, PGBOUNCER_PORT, db, user, pw, &roots)
            .into_iter()
            .find(|(k, _)| k == "DATABASE_URL");
        if let Some((_, url)) = pooled {
            vars.push(("DATABASE_URL_POOLED".into(), url));
        }
    }
    vars
}

/// Where the connection strings go, and the administrator's as found.
pub struct Files {
    /// The application role's (`--env-file`, default NAME.env).
    pub env_file: PathBuf,
    /// The administrator's (`--admin-env-file`, default the env file's
    /// name with `.admin` before `.env`).
    pub admin_env_file: PathBuf,
    pub admin_env: EnvFile,
    /// The env file when it still holds the administrator's strings (the
    /// layout before the application role).
    legacy: Option<EnvFile>,
}

/// `db.env` -> `db.admin.env`.
fn admin_path_of(env_file: &Path) -> PathBuf {
    let name = env_file.file_name().and_then(|n| n.to_str()).unwrap_or("db.env");
    let stem = name.strip_suffix(".env").unwrap_or(name);
    env_file.with_file_name(format!("{stem}.admin.env"))
}

impl Files {
    /// Resolve the paths and read what is there.
    ///
    /// # Errors
    /// 64 when both name the same file; 78 for a malformed env file.
    pub fn resolve(t: &Target, a: &ApplyArgs, admin: &str) -> Result<Files> {
        let env_file = a
            .env_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.env", t.name)));
        let admin_env_file = a
            .roles
            .admin_env_file
            .clone()
            .unwrap_or_else(|| admin_path_of(&env_file));
        if crate::local::absolute(&admin_env_file)? == crate::local::absolute(&env_file)? {
            return Err(Error::usage(
                "--admin-env-file must be another file than --env-file: the application never gets the administrator's login",
            ));
        }
        let admin_env = EnvFile::read_or_default(&admin_env_file)?;
        let app = EnvFile::read_or_default(&env_file)?;
        let legacy = (password_in(&admin_env, admin).is_none() && password_in(&app, admin).is_some()).then_some(app);
        Ok(Files {
            env_file,
            admin_env_file,
            admin_env,
            legacy,
        })
    }

    /// The administrator's password as saved (its file's, else the legacy env file's).
    pub fn admin_password(&self, admin: &str) -> Option<String> {
        password_in(&self.admin_env, admin).or_else(|| password_in(self.legacy.as_ref()?, admin))
    }

    /// The unconfirmed-password mark (`create` or `update`).
    pub fn pending(&self) -> Option<String> {
        let from = |e: &EnvFile| e.get(PENDING_KEY).map(str::to_owned);
        from(&self.admin_env).or_else(|| from(self.legacy.as_ref()?))
    }

    /// The application database named in the env files, if any.
    pub fn database(&self) -> Option<String> {
        let db = |e: &EnvFile| {
            let p = sw_core::conninfo::parse(e.get("DATABASE_URL")?).ok()?;
            p.get("dbname").cloned()
        };
        db(&self.admin_env).or_else(|| db(&EnvFile::read_or_default(&self.env_file).ok()?))
    }

    /// Write the administrator's strings (and the pending mark) when they
    /// differ; whether the file was written. The legacy env file loses its
    /// mark (its strings become the application's).
    pub fn save_admin(&mut self, login: &Login<'_>, pending: Option<&str>) -> Result<bool> {
        let mut vars = vars(login);
        if let Some(ro) = readonly_url(&self.admin_env, login.user, login.password) {
            vars.push(("DATABASE_URL_READONLY".into(), ro));
        }
        let env = &mut self.admin_env;
        if vars.iter().all(|(k, v)| env.get(k) == Some(v.as_str())) && env.get(PENDING_KEY) == pending {
            return Ok(false);
        }
        for (k, v) in &vars {
            env.set(k, v);
        }
        match pending {
            Some(p) => env.set(PENDING_KEY, p),
            None => env.remove(PENDING_KEY),
        }
        env.write(&self.admin_env_file)?;
        if pending.is_none()
            && let Some(mut legacy) = self.legacy.take()
            && legacy.get(PENDING_KEY).is_some()
        {
            legacy.remove(PENDING_KEY);
            legacy.write(&self.env_file)?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_file_sits_beside_the_env_file() {
        assert_eq!(
            admin_path_of(Path::new("/etc/o/db.env")),
            Path::new("/etc/o/db.admin.env")
        );
        assert_eq!(admin_path_of(Path::new("orders")), Path::new("orders.admin.env"));
    }
}
