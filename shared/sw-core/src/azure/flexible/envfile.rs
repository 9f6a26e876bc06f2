//! The env file of a server a restore, a promotion or a failover leaves
//! applications to use: the connection strings of the credentials the
//! application had (user, password, database, CA: a restored server keeps
//! the source's administrator and password), aimed at the new host.
//! Written atomically with mode 0600 ([`crate::envfile`]), other keys kept.

use std::path::Path;

use crate::config::Env;
use crate::connstr::{connection_vars, system_ca_bundle};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::target::{RootCert, Target};

/// The credentials in `path`'s DATABASE_URL.
///
/// # Errors
/// 66 when the file is missing; 78 when it has no valid DATABASE_URL.
pub fn credentials(path: &Path) -> Result<Target> {
    if !path.exists() {
        return Err(Error::no_input(format!(
            "{} does not exist (the env file with the application's DATABASE_URL)",
            crate::fsutil::q(path)
        )));
    }
    let empty: Vec<(String, String)> = Vec::new();
    Target::resolve(None, Some(path), &Env::fixed(empty))
}

/// Write the connection strings of `creds` aimed at `fqdn` into `path`
/// (created 0600 when missing); whether anything changed.
///
/// # Errors
/// 73/74 when the file cannot be written; 78 when it is a symlink.
pub fn write_server_env(path: &Path, creds: &Target, fqdn: &str) -> Result<bool> {
    let mut env = EnvFile::read_or_default(path)?;
    let ca = match &creds.sslrootcert {
        RootCert::File(p) => p.display().to_string(),
        RootCert::System => "system".to_owned(),
        RootCert::None => system_ca_bundle(),
    };
    let vars = connection_vars(
        fqdn,
        5432,
        &creds.dbname,
        &creds.user,
        creds.password().unwrap_or(""),
        &ca,
    );
    if vars.iter().all(|(k, v)| env.get(k) == Some(v.as_str())) {
        return Ok(false);
    }
    for (k, v) in &vars {
        env.set(k, v);
    }
    env.write(path)?;
    Ok(true)
}
