//! Bearer tokens for ARM behind one small trait, so tests inject a local
//! token endpoint and tools never see how a token was obtained.
//!
//! - client secret: our own form post to `{authority}/{tenant}/oauth2/v2.0/token`
//!   (the authority is overridable and may be plain http in tests;
//!   azure_identity insists on https);
//! - workload identity, managed identity (App Service, IMDS, ...) and the
//!   Azure CLI: `azure_identity` through [`super::identity`], on our ureq
//!   transport.
//!
//! Our client-secret tokens are cached and refreshed 300 s before expiry,
//! as azure_identity does for its own.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::identity::Identity;
use super::{Endpoints, agent, error_summary, send};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::secret;

/// Where bearer tokens come from.
pub trait TokenSource: Send + Sync {
    /// A token valid for at least a few more minutes.
    ///
    /// # Errors
    /// 77 when the credentials are refused, 69 when the endpoint is unreachable.
    fn token(&self) -> Result<String>;
    /// What kind of credential this is (for logs; no secrets).
    fn describe(&self) -> String;
}

/// A fixed token (tests, or `SW_AZURE_ACCESS_TOKEN`).
#[derive(Debug, Clone)]
pub struct StaticToken(pub String);

impl TokenSource for StaticToken {
    fn token(&self) -> Result<String> {
        Ok(self.0.clone())
    }
    fn describe(&self) -> String {
        "static token".into()
    }
}

/// How to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Client secret, then workload identity, then App Service managed
    /// identity (from their environment variables), then the Azure CLI
    /// when `az` is on PATH, else IMDS managed identity.
    Auto,
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

/// What [`Credential`] is, in messages.
const CLIENT_SECRET: &str = "client secret";

/// Client-secret tokens: a client-credentials form POSTed to the
/// authority, the token cached.
pub struct Credential {
    url: String,
    form: Vec<(String, String)>,
    cache: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &CLIENT_SECRET)
            .finish_non_exhaustive()
    }
}

fn need(env: &Env, key: &str, why: &str) -> Result<String> {
    env.get(key)
        .ok_or_else(|| Error::config(format!("{key} is not set ({why})")))
}

fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", secret::percent_encode(k), secret::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Credential {
    /// Client secret: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`
    /// (tokens for Resource Manager).
    pub fn client_secret(env: &Env, ep: &Endpoints) -> Result<Credential> {
        Credential::client_secret_for(env, ep, &ep.resource())
    }

    /// Client secret tokens with audience `resource` (with its trailing
    /// slash; the scope asked for is `{resource}.default`).
    pub fn client_secret_for(env: &Env, ep: &Endpoints, resource: &str) -> Result<Credential> {
        let why = "client-secret authentication";
        let tenant = need(env, "AZURE_TENANT_ID", why)?;
        let client = need(env, "AZURE_CLIENT_ID", why)?;
        let secret_value = need(env, "AZURE_CLIENT_SECRET", why)?;
        secret::register(&secret_value);
        Ok(Credential {
            url: format!("{}/{}/oauth2/v2.0/token", ep.authority, secret::percent_encode(&tenant)),
            form: vec![
                ("client_id".into(), client),
                ("client_secret".into(), secret_value),
                ("grant_type".into(), "client_credentials".into()),
                ("scope".into(), format!("{resource}.default")),
            ],
            cache: Mutex::new(None),
        })
    }

    fn fetch(&self) -> Result<(String, Duration)> {
        let body = form_encode(&self.form).into_bytes();
        let r = send(
            &agent(),
            "POST",
            &self.url,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            Some(body),
        )?;
        parse_token(CLIENT_SECRET, r.status, &r.body)
    }
}

/// Read `access_token` and its lifetime (`expires_in` seconds, or
/// `expires_on` epoch seconds, which managed identity sends as a string).
fn parse_token(kind: &str, status: u16, body: &Value) -> Result<(String, Duration)> {
    if !(200..300).contains(&status) {
        let reason = error_summary(body)
            .map(|(c, m)| format!("{c}: {m}"))
            .unwrap_or_else(|| "no error body".into());
        let e = format!("{kind}: the token endpoint answered HTTP {status}: {reason}");
        return Err(if matches!(status, 400 | 401 | 403) {
            Error::no_perm(e)
        } else {
            Error::unavailable(e)
        });
    }
    let token = body
        .get("access_token")
        .or_else(|| body.get("accessToken"))
        .and_then(Value::as_str)
        .ok_or_else(|| Error::unavailable(format!("{kind}: the token response has no access_token")))?
        .to_owned();
    secret::register(&token);
    let num = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let life = if let Some(s) = body.get("expires_in").and_then(num) {
        s
    } else if let Some(on) = body.get("expires_on").and_then(num) {
        on.saturating_sub(now)
    } else {
        // The CLI's expiresOn is a local time; assume the usual hour.
        3600
    };
    Ok((token, Duration::from_secs(life)))
}

impl TokenSource for Credential {
    fn token(&self) -> Result<String> {
        let mut cache = self.cache.lock().map_err(|_| Error::software("token cache poisoned"))?;
        if let Some((t, until)) = cache.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let (t, life) = self.fetch()?;
        // Refresh 300 s early, as azure_identity does; never cache a token
        // that is about to expire anyway.
        let until = Instant::now() + life.saturating_sub(Duration::from_secs(300));
        *cache = Some((t.clone(), until));
        Ok(t)
    }
    fn describe(&self) -> String {
        CLIENT_SECRET.to_owned()
    }
}

fn on_path(env: &Env, prog: &str) -> bool {
    env.get("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

/// The token source for `method`, configured from the environment, for
/// Resource Manager (`SW_AZURE_ACCESS_TOKEN`, when set, is used as it is).
///
/// # Errors
/// 78 when the chosen method's variables are missing.
pub fn token_source_from_env(env: &Env, ep: &Endpoints, method: AuthMethod) -> Result<Box<dyn TokenSource>> {
    if let Some(t) = env.get("SW_AZURE_ACCESS_TOKEN") {
        secret::register(&t);
        return Ok(Box::new(StaticToken(t)));
    }
    token_source_for(env, ep, method, &ep.resource())
}

/// The token source for `method` and another audience than Resource
/// Manager: `resource` is the token's audience with a trailing slash (the
/// scope asked for is `{resource}.default`), e.g. Azure Database for
/// PostgreSQL's `https://ossrdbms-aad.database.windows.net/`.
///
/// # Errors
/// 78 when the chosen method's variables are missing.
pub fn token_source_for(env: &Env, ep: &Endpoints, method: AuthMethod, resource: &str) -> Result<Box<dyn TokenSource>> {
    let method = match method {
        AuthMethod::Auto if env.get("AZURE_CLIENT_SECRET").is_some() => AuthMethod::ClientSecret,
        AuthMethod::Auto if env.get("AZURE_FEDERATED_TOKEN_FILE").is_some() => AuthMethod::WorkloadIdentity,
        AuthMethod::Auto if env.get("IDENTITY_ENDPOINT").is_some() || !on_path(env, "az") => {
            AuthMethod::ManagedIdentity
        }
        AuthMethod::Auto => AuthMethod::AzureCli,
        m => m,
    };
    let resource = resource.to_owned();
    Ok(match method {
        AuthMethod::ClientSecret => Box::new(Credential::client_secret_for(env, ep, &resource)?),
        AuthMethod::WorkloadIdentity => {
            let why = "workload-identity authentication";
            Box::new(Identity::workload_at(
                &resource,
                Some(&ep.authority),
                need(env, "AZURE_TENANT_ID", why)?,
                need(env, "AZURE_CLIENT_ID", why)?,
                PathBuf::from(need(env, "AZURE_FEDERATED_TOKEN_FILE", why)?),
            )?)
        }
        AuthMethod::ManagedIdentity | AuthMethod::Auto => {
            Box::new(Identity::managed(&resource, env.get("AZURE_CLIENT_ID"))?)
        }
        AuthMethod::AzureCli => Box::new(Identity::azure_cli(&resource)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_lifetimes_in_every_shape() {
        let (t, l) = parse_token("x", 200, &json!({"access_token": "abc", "expires_in": 3599})).unwrap();
        assert_eq!((t.as_str(), l.as_secs()), ("abc", 3599));
        let on = chrono::Utc::now().timestamp() + 1000;
        let (_, l) = parse_token("x", 200, &json!({"access_token": "abc", "expires_on": on.to_string()})).unwrap();
        assert!(l.as_secs() > 900 && l.as_secs() <= 1000);
        let e = parse_token(
            "x",
            401,
            &json!({"error": "invalid_client", "error_description": "AADSTS7000215: bad"}),
        )
        .unwrap_err();
        assert_eq!(e.exit(), crate::Exit::NoPerm);
        assert!(e.to_string().contains("invalid_client"));
    }

    #[test]
    fn workload_identity_uses_the_configured_authority() {
        let dir = std::env::temp_dir().join(format!("sw-wi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "federated").unwrap();
        let env = Env::fixed([
            ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ]);
        // --token-endpoint reaches azure_identity (which insists on https).
        let ep = Endpoints::from_env(&env, None, Some("http://127.0.0.1:9"));
        let e = token_source_from_env(&env, &ep, AuthMethod::WorkloadIdentity)
            .err()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(e.to_string().contains("http://127.0.0.1:9"), "{e}");
        assert_eq!(e.exit(), crate::Exit::Config);
    }

    #[test]
    fn auto_picks_the_client_secret_first() {
        let env = Env::fixed([
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s3cr3t-value"),
            ("PATH", "/nonexistent"),
        ]);
        let ep = Endpoints::from_env(&env, None, None);
        let s = token_source_from_env(&env, &ep, AuthMethod::Auto).unwrap();
        assert_eq!(s.describe(), "client secret");
        let env = Env::fixed([("PATH", "/nonexistent")]);
        let s = token_source_from_env(&env, &ep, AuthMethod::Auto).unwrap();
        assert_eq!(s.describe(), "managed identity");
        let e = token_source_from_env(&env, &ep, AuthMethod::ClientSecret)
            .err()
            .unwrap();
        assert_eq!(e.exit(), crate::Exit::Config);
    }
}
