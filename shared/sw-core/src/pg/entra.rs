//! `--azure-auth`: sign in to Azure Database for PostgreSQL with a
//! Microsoft Entra ID access token instead of a password.
//!
//! The server takes the token as the password of the principal named in
//! the target's `user` (a user's UPN, a group's or a managed identity's
//! name). The token comes from the same sources as Resource Manager's
//! (client secret, workload identity, managed identity, Azure CLI; see
//! `azure::token`), for Azure Database for PostgreSQL's audience
//! (`https://ossrdbms-aad.database.windows.net/`, or
//! `SW_AZURE_PG_TOKEN_RESOURCE` in a sovereign cloud). It is set as the
//! target's password, so it reaches the driver and, through the
//! environment, child programs such as pg_dump, and never a log or a
//! command line.
//!
//! A token lasts about an hour and is checked only when a session starts:
//! sessions outlive it, new ones after it need a new run.

use clap::ValueEnum;

use crate::config::Env;
use crate::error::{Error, Result};
use crate::target::{SslMode, Target};

/// The audience of tokens for Azure Database for PostgreSQL in the public
/// cloud (the scope asked for is this plus `.default`).
pub const PG_RESOURCE: &str = "https://ossrdbms-aad.database.windows.net/";

/// Which credential gets the token (`--azure-auth[=HOW]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AzureAuth {
    /// AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS.
    Auto,
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

/// The token's audience: `SW_AZURE_PG_TOKEN_RESOURCE`, else [`PG_RESOURCE`].
pub fn resource(env: &Env) -> String {
    let r = env
        .get("SW_AZURE_PG_TOKEN_RESOURCE")
        .unwrap_or_else(|| PG_RESOURCE.to_owned());
    if r.ends_with('/') { r } else { format!("{r}/") }
}

/// Make `t` sign in with an Entra ID token: fetched now, set as its password.
///
/// # Errors
/// 78 when the target does not encrypt (a token must never travel in
/// clear text) or the credential's variables are missing; 77 when the
/// credential is refused; 69 when the token endpoint cannot be reached.
pub fn apply(t: &mut Target, how: AzureAuth, env: &Env) -> Result<()> {
    if matches!(t.sslmode, SslMode::Disable | SslMode::Allow | SslMode::Prefer) {
        return Err(Error::config(format!(
            "--azure-auth sends an access token as the password: the target needs sslmode=verify-full (or at least require), not {}",
            t.sslmode.as_str()
        )));
    }
    let token = token(how, env)?;
    if t.password().is_some() {
        log::info!("--azure-auth: the target's password is replaced by an Entra ID token");
    }
    t.set_password(Some(token));
    Ok(())
}

#[cfg(feature = "azure")]
fn token(how: AzureAuth, env: &Env) -> Result<String> {
    use crate::azure::Endpoints;
    use crate::azure::token::{AuthMethod, token_source_for};
    let method = match how {
        AzureAuth::Auto => AuthMethod::Auto,
        AzureAuth::ClientSecret => AuthMethod::ClientSecret,
        AzureAuth::WorkloadIdentity => AuthMethod::WorkloadIdentity,
        AzureAuth::ManagedIdentity => AuthMethod::ManagedIdentity,
        AzureAuth::AzureCli => AuthMethod::AzureCli,
    };
    let ep = Endpoints::from_env(env, None, None);
    let source = token_source_for(env, &ep, method, &resource(env))?;
    log::debug!("--azure-auth: a token from the {}", source.describe());
    source
        .token()
        .map_err(|e| e.context("getting an Entra ID token for PostgreSQL (--azure-auth)"))
}

#[cfg(not(feature = "azure"))]
fn token(_how: AzureAuth, _env: &Env) -> Result<String> {
    Err(Error::config(
        "--azure-auth: this build of sw has no Azure support (sw-core's `azure` feature is off)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_travel_in_clear_text() {
        let env = Env::fixed([("PATH", "/nonexistent")]);
        let mut t = Target::resolve(Some("host=h user=u sslmode=prefer"), None, &env).unwrap();
        let e = apply(&mut t, AzureAuth::ClientSecret, &env).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Config);
        assert!(e.to_string().contains("sslmode=verify-full"), "{e}");
        assert_eq!(resource(&env), PG_RESOURCE);
        let gov = Env::fixed([(
            "SW_AZURE_PG_TOKEN_RESOURCE",
            "https://ossrdbms-aad.database.usgovcloudapi.net",
        )]);
        assert_eq!(resource(&gov), "https://ossrdbms-aad.database.usgovcloudapi.net/");
    }
}
