//! Connecting to a Flexible Server with the credentials of an env file,
//! and the host override tests and rehearsals use.
//!
//! `SW_AZURE_HOST_OVERRIDE=PATTERN=ADDR:PORT[,PATTERN=ADDR:PORT...]` makes a
//! host name that matches PATTERN (exactly, or `*.suffix`) connect to ADDR
//! and PORT instead of the address DNS gives, as libpq's `hostaddr` does:
//! the certificate is still verified against the host name (verify-full).
//! The drill test points `*.postgres.database.azure.com` at a throwaway
//! local cluster whose certificate names it, so the drill's SQL runs
//! against real PostgreSQL.

use std::net::IpAddr;

use crate::config::Env;
use crate::error::{Error, Result};
use crate::target::Target;

/// The environment variable holding the overrides.
pub const HOST_OVERRIDE: &str = "SW_AZURE_HOST_OVERRIDE";

fn matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .to_ascii_lowercase()
            .strip_suffix(&suffix.to_ascii_lowercase())
            .is_some_and(|h| h.ends_with('.') && h.len() > 1),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// The (address, port) `host` is overridden to, if any.
///
/// # Errors
/// 78 when the variable is malformed.
pub fn override_for(env: &Env, host: &str) -> Result<Option<(IpAddr, u16)>> {
    let Some(spec) = env.get(HOST_OVERRIDE) else {
        return Ok(None);
    };
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || Error::config(format!("{HOST_OVERRIDE}: {item:?} is not PATTERN=ADDR:PORT"));
        let (pattern, to) = item.split_once('=').ok_or_else(bad)?;
        let (addr, port) = to.rsplit_once(':').ok_or_else(bad)?;
        let addr: IpAddr = addr.trim_matches(['[', ']']).parse().map_err(|_| bad())?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if matches(pattern, host) {
            return Ok(Some((addr, port)));
        }
    }
    Ok(None)
}

/// `creds` (user, password, TLS settings of an env file or --db) aimed at
/// `fqdn`, database `db`, port 5432 unless overridden.
///
/// # Errors
/// 78 when the override variable is malformed.
pub fn aim(creds: &Target, fqdn: &str, db: &str) -> Result<Target> {
    let mut t = creds.with_dbname(db);
    t.hosts = vec![fqdn.to_owned()];
    t.hostaddrs = vec![None];
    t.ports = vec![5432];
    if let Some((addr, port)) = override_for(&Env::process(), fqdn)? {
        log::info!("{HOST_OVERRIDE}: {fqdn} connects to {addr}:{port}");
        t.hostaddrs = vec![Some(addr)];
        t.ports = vec![port];
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_and_suffixes() {
        let env = Env::fixed([(
            HOST_OVERRIDE,
            "*.postgres.database.azure.com=127.0.0.1:5433, db.example=::1:6000",
        )]);
        let got = override_for(&env, "x-drill.postgres.database.azure.com").unwrap();
        assert_eq!(got, Some(("127.0.0.1".parse().unwrap(), 5433)));
        assert_eq!(override_for(&env, "postgres.database.azure.com").unwrap(), None);
        assert_eq!(override_for(&env, "db.example").unwrap().unwrap().1, 6000);
        assert_eq!(override_for(&env, "other").unwrap(), None);
        let bad = Env::fixed([(HOST_OVERRIDE, "nonsense")]);
        assert!(override_for(&bad, "x").is_err());
    }
}
