//! Bearer tokens for ARM behind one small trait, so tests inject a local
//! token endpoint and tools never see how a token was obtained.
//!
//! Why not `azure_identity`: with default features it pulls reqwest, hyper,
//! tokio and a second TLS stack (aws-lc-sys, a C build) into a workspace
//! that has one blocking HTTP client; with defaults off its transport is a
//! `NoopClient` that panics, so an async `HttpClient` adapter over ureq is
//! needed on every credential, plus `time`, `url`, `futures`, `tracing`,
//! `async-trait` and `uuid` (89 crates; STYLE.md §8), and its authority
//! must be https, so a plain-http test endpoint needs yet another seam.
//! The four flows we need are each one HTTP request (or one `az` call) and
//! are documented (fixtures README §8), so they are written here directly:
//! client secret, workload identity (federated token file), managed
//! identity (App Service `IDENTITY_ENDPOINT` or IMDS), and the Azure CLI.
//! Tokens are cached and refreshed 300 s before expiry, as azure_identity does.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

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

#[derive(Debug, Clone)]
enum Flow {
    /// POST a client-credentials form (secret or federated assertion).
    Form { url: String, form: Vec<(String, String)> },
    /// GET a managed-identity endpoint.
    Identity { url: String, header: (String, String) },
    /// `az account get-access-token`.
    Cli { resource: String },
}

/// A token flow with a cache.
pub struct Credential {
    flow: Flow,
    kind: &'static str,
    cache: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
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
    fn new(flow: Flow, kind: &'static str) -> Credential {
        Credential {
            flow,
            kind,
            cache: Mutex::new(None),
        }
    }

    /// Client secret: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    pub fn client_secret(env: &Env, ep: &Endpoints) -> Result<Credential> {
        let why = "client-secret authentication";
        let tenant = need(env, "AZURE_TENANT_ID", why)?;
        let client = need(env, "AZURE_CLIENT_ID", why)?;
        let secret_value = need(env, "AZURE_CLIENT_SECRET", why)?;
        secret::register(&secret_value);
        Ok(Credential::new(
            Flow::Form {
                url: format!("{}/{}/oauth2/v2.0/token", ep.authority, secret::percent_encode(&tenant)),
                form: vec![
                    ("client_id".into(), client),
                    ("client_secret".into(), secret_value),
                    ("grant_type".into(), "client_credentials".into()),
                    ("scope".into(), format!("{}.default", ep.resource())),
                ],
            },
            "client secret",
        ))
    }

    /// Workload identity: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_FEDERATED_TOKEN_FILE` (re-read on every refresh: it rotates).
    pub fn workload_identity(env: &Env, ep: &Endpoints) -> Result<Credential> {
        let why = "workload-identity authentication";
        let tenant = need(env, "AZURE_TENANT_ID", why)?;
        let client = need(env, "AZURE_CLIENT_ID", why)?;
        let file = need(env, "AZURE_FEDERATED_TOKEN_FILE", why)?;
        Ok(Credential::new(
            Flow::Form {
                url: format!("{}/{}/oauth2/v2.0/token", ep.authority, secret::percent_encode(&tenant)),
                form: vec![
                    ("client_id".into(), client),
                    (
                        "client_assertion_type".into(),
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ),
                    ("client_assertion".into(), format!("@file:{file}")),
                    ("grant_type".into(), "client_credentials".into()),
                    ("scope".into(), format!("{}.default", ep.resource())),
                ],
            },
            "workload identity",
        ))
    }

    /// Managed identity: App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`)
    /// or the VM metadata service; `AZURE_CLIENT_ID` picks a user-assigned identity.
    pub fn managed_identity(env: &Env, ep: &Endpoints) -> Credential {
        let resource = secret::percent_encode(&ep.resource());
        let client = env
            .get("AZURE_CLIENT_ID")
            .map(|c| format!("&client_id={}", secret::percent_encode(&c)))
            .unwrap_or_default();
        match (env.get("IDENTITY_ENDPOINT"), env.get("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => {
                secret::register(&header);
                Credential::new(
                    Flow::Identity {
                        url: format!("{endpoint}?api-version=2019-08-01&resource={resource}{client}"),
                        header: ("x-identity-header".into(), header),
                    },
                    "managed identity (App Service)",
                )
            }
            _ => Credential::new(
                Flow::Identity {
                    url: format!(
                        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2019-08-01&resource={resource}{client}"
                    ),
                    header: ("Metadata".into(), "true".into()),
                },
                "managed identity (IMDS)",
            ),
        }
    }

    /// The Azure CLI's logged-in account.
    pub fn azure_cli(ep: &Endpoints) -> Credential {
        Credential::new(
            Flow::Cli {
                resource: ep.resource(),
            },
            "Azure CLI",
        )
    }

    fn fetch(&self) -> Result<(String, Duration)> {
        match &self.flow {
            Flow::Form { url, form } => {
                let mut form = form.clone();
                for (_, v) in &mut form {
                    if let Some(path) = v.strip_prefix("@file:") {
                        let p = PathBuf::from(path);
                        *v = std::fs::read_to_string(&p)
                            .map_err(|e| {
                                Error::config(format!("reading the federated token file {}", crate::fsutil::q(&p)))
                                    .with_source(e)
                            })?
                            .trim()
                            .to_owned();
                        secret::register(v);
                    }
                }
                let body = form_encode(&form).into_bytes();
                let r = send(
                    &agent(),
                    "POST",
                    url,
                    &[
                        ("Content-Type", "application/x-www-form-urlencoded"),
                        ("Accept", "application/json"),
                    ],
                    Some(body),
                )?;
                parse_token(self.kind, r.status, &r.body)
            }
            Flow::Identity { url, header } => {
                let r = send(&agent(), "GET", url, &[(header.0.as_str(), header.1.as_str())], None)
                    .map_err(|e| e.context(format!("{} token endpoint", self.kind)))?;
                parse_token(self.kind, r.status, &r.body)
            }
            Flow::Cli { resource } => {
                let out = Command::new("az")
                    .args([
                        "account",
                        "get-access-token",
                        "--output",
                        "json",
                        "--resource",
                        resource,
                    ])
                    .output()
                    .map_err(|e| {
                        Error::unavailable("running `az account get-access-token` (is the Azure CLI installed?)")
                            .with_source(e)
                    })?;
                if !out.status.success() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    let line = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                    return Err(Error::no_perm(format!(
                        "az account get-access-token failed: {line} (run `az login`)"
                    )));
                }
                let v: Value = serde_json::from_slice(&out.stdout)
                    .map_err(|e| Error::unavailable("az account get-access-token printed no JSON").with_source(e))?;
                parse_token(self.kind, 200, &v)
            }
        }
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
        self.kind.to_owned()
    }
}

fn on_path(env: &Env, prog: &str) -> bool {
    env.get("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

/// The token source for `method`, configured from the environment.
///
/// # Errors
/// 78 when the chosen method's variables are missing.
pub fn token_source_from_env(env: &Env, ep: &Endpoints, method: AuthMethod) -> Result<Box<dyn TokenSource>> {
    if let Some(t) = env.get("SW_AZURE_ACCESS_TOKEN") {
        secret::register(&t);
        return Ok(Box::new(StaticToken(t)));
    }
    let c = match method {
        AuthMethod::ClientSecret => Credential::client_secret(env, ep)?,
        AuthMethod::WorkloadIdentity => Credential::workload_identity(env, ep)?,
        AuthMethod::ManagedIdentity => Credential::managed_identity(env, ep),
        AuthMethod::AzureCli => Credential::azure_cli(ep),
        AuthMethod::Auto => {
            if env.get("AZURE_CLIENT_SECRET").is_some() {
                Credential::client_secret(env, ep)?
            } else if env.get("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                Credential::workload_identity(env, ep)?
            } else if env.get("IDENTITY_ENDPOINT").is_some() || !on_path(env, "az") {
                Credential::managed_identity(env, ep)
            } else {
                Credential::azure_cli(ep)
            }
        }
    };
    Ok(Box::new(c))
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
        assert_eq!(s.describe(), "managed identity (IMDS)");
        let e = token_source_from_env(&env, &ep, AuthMethod::ClientSecret)
            .err()
            .unwrap();
        assert_eq!(e.exit(), crate::Exit::Config);
    }
}
