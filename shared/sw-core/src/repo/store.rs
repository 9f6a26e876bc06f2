//! The repository's storage backends behind one small interface (issue
//! #16): write-once put with exists-compare, get, list and delete over
//! object keys (`/`-separated, relative to the repository root). The
//! directory backend is today's layout; [`BlobStore`] (feature `blob`) is
//! an Azure Blob container prefix, so the same keys work on both.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};

/// What a write-once put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The object was written.
    Created,
    /// An object with the same content was already there (an idempotent
    /// retry, e.g. a WAL segment pushed twice).
    Same,
}

/// A place the repository's objects live.
pub trait Store: Send + Sync {
    /// Write `data` under `key` unless the key exists. Existing equal
    /// content gives [`Put::Same`]; different content is exit 65, and
    /// nothing is replaced. The object appears complete or not at all.
    ///
    /// # Errors
    /// 65 on a different existing object; I/O or service errors.
    fn put_once(&self, key: &str, data: &[u8]) -> Result<Put>;
    /// The object's bytes, or `None` when there is no such key.
    ///
    /// # Errors
    /// I/O or service errors.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Every key starting with `prefix`, sorted.
    ///
    /// # Errors
    /// I/O or service errors.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Remove the object; `false` when it was not there.
    ///
    /// # Errors
    /// I/O or service errors.
    fn delete(&self, key: &str) -> Result<bool>;
}

/// Keys are relative and never climb out of the root.
fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty() || key.starts_with('/') || key.split('/').any(|p| p.is_empty() || p == "." || p == "..");
    if bad {
        return Err(Error::software(format!("\"{key}\" is not a repository object key")));
    }
    Ok(())
}

fn differs(key: &str, at: &str) -> Error {
    Error::data(format!(
        "{at}: {key} already exists with different content (refusing to replace it)"
    ))
}

/// The directory backend: one file per key under `root`.
#[derive(Debug, Clone)]
pub struct DirStore {
    pub root: PathBuf,
}

impl DirStore {
    #[must_use]
    pub fn new(root: &Path) -> DirStore {
        DirStore { root: root.to_owned() }
    }

    fn list_into(&self, dir: &Path, rel: &str, prefix: &str, out: &mut Vec<String>) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("listing {}", q(dir))).with_source(e)),
        };
        for e in entries {
            let e = e.io_context(|| format!("listing {}", q(dir)))?;
            let name = e.file_name().to_string_lossy().into_owned();
            // Temp files beside an object being written are not objects.
            if name.starts_with('.') {
                continue;
            }
            let key = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let ft = e.file_type().io_context(|| format!("listing {}", q(dir)))?;
            if ft.is_dir() {
                if prefix.starts_with(&format!("{key}/")) || key.starts_with(prefix) {
                    self.list_into(&e.path(), &key, prefix, out)?;
                }
            } else if ft.is_file() && key.starts_with(prefix) {
                out.push(key);
            }
        }
        Ok(())
    }
}

impl Store for DirStore {
    fn put_once(&self, key: &str, data: &[u8]) -> Result<Put> {
        check_key(key)?;
        let path = self.root.join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).io_context(|| format!("creating {}", q(parent)))?;
        }
        match fsutil::write_new(&path, data, 0o640) {
            Ok(()) => Ok(Put::Created),
            Err(e) if e.exit() == crate::Exit::CantCreat => {
                let old = std::fs::read(&path).io_context(|| format!("reading {}", q(&path)))?;
                if old == data {
                    Ok(Put::Same)
                } else {
                    Err(differs(key, &q(&self.root)))
                }
            }
            Err(e) => Err(e),
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let path = self.root.join(key);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", q(&path))).with_source(e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.list_into(&self.root, "", prefix, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        check_key(key)?;
        let path = self.root.join(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("removing {}", q(&path))).with_source(e)),
        }
    }
}

/// The Azure Blob backend: one blob per key under the location's prefix.
#[cfg(feature = "blob")]
#[derive(Debug)]
pub struct BlobStore {
    pub client: crate::blob::Client,
}

#[cfg(feature = "blob")]
impl Store for BlobStore {
    fn put_once(&self, key: &str, data: &[u8]) -> Result<Put> {
        use crate::blob::{Mode, PutOutcome};
        check_key(key)?;
        match self.client.put(key, data, Mode::Create, &[])? {
            PutOutcome::Created { .. } => Ok(Put::Created),
            PutOutcome::Exists => {
                // Compare the bytes, not only the stored MD5: a blob
                // written by another tool may have no Content-MD5.
                let old = self.client.get(key)?;
                if old == data {
                    Ok(Put::Same)
                } else {
                    Err(differs(key, "the off-site repository"))
                }
            }
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        if self.client.head(key)?.is_none() {
            return Ok(None);
        }
        self.client.get(key).map(Some)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut v: Vec<String> = self
            .client
            .list(prefix, None)?
            .blobs
            .into_iter()
            .map(|b| b.name)
            .collect();
        v.sort();
        Ok(v)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        check_key(key)?;
        self.client.delete(key)
    }
}

/// Env-file variable holding a storage account key (Shared Key).
pub const KEY_VAR: &str = "AZURE_STORAGE_KEY";
/// Env-file variable holding a SAS token.
pub const SAS_VAR: &str = "AZURE_STORAGE_SAS_TOKEN";
/// Env-file variable naming the Entra ID credential to sign in with
/// (`auto`, `client-secret`, `workload-identity`, `managed-identity`,
/// `azure-cli`, as `--azure-auth`); the credential's own variables
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, ...) may
/// sit in the same file or in the environment.
pub const AUTH_VAR: &str = "AZURE_STORAGE_AUTH";
/// The audience of Blob Storage tokens (`SW_AZURE_STORAGE_TOKEN_RESOURCE`
/// overrides it for a sovereign cloud).
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com/";

/// Open `azure://ACCOUNT/CONTAINER[/PREFIX]` with the credentials in the env
/// file `credentials` ([`KEY_VAR`], [`SAS_VAR`] or [`AUTH_VAR`]; never
/// argv), against `endpoint` (Azurite, a sovereign cloud) or the public one.
///
/// # Errors
/// 64 for a bad URL; 66 for a missing credentials file; 78 when it holds
/// none of the variables or a malformed one, or when an Entra ID token
/// would cross a plain-http endpoint.
#[cfg(feature = "blob")]
pub fn open_blob(
    url: &str,
    endpoint: Option<&str>,
    credentials: &Path,
    opts: crate::blob::Options,
) -> Result<BlobStore> {
    use crate::blob::{Auth, Client, Location};
    let loc = Location::parse(url)?;
    let env = crate::envfile::EnvFile::read(credentials)?;
    let auth = match (env.get(KEY_VAR), env.get(SAS_VAR)) {
        (Some(k), _) => Auth::shared_key(&loc.account, k)?,
        (None, Some(s)) => Auth::sas(s)?,
        (None, None) => match env.get(AUTH_VAR) {
            Some(how) => entra(&env, how, endpoint)?,
            None => {
                return Err(Error::config(format!(
                    "{} holds none of {KEY_VAR}, {SAS_VAR} and {AUTH_VAR}",
                    q(credentials)
                )));
            }
        },
    };
    Ok(BlobStore {
        client: Client::new(&loc, endpoint, auth, opts)?,
    })
}

/// An Entra ID bearer credential for Blob Storage: the method named in the
/// credentials file, its variables from the file over the environment.
#[cfg(feature = "blob")]
fn entra(file: &crate::envfile::EnvFile, how: &str, endpoint: Option<&str>) -> Result<crate::blob::Auth> {
    if endpoint.is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("http://")) {
        return Err(Error::config(format!(
            "{AUTH_VAR}: an Entra ID token must not cross a plain-http endpoint; use https"
        )));
    }
    entra_source(file, how)
}

#[cfg(all(feature = "blob", feature = "azure"))]
fn entra_source(file: &crate::envfile::EnvFile, how: &str) -> Result<crate::blob::Auth> {
    use clap::ValueEnum;

    use crate::azure::Endpoints;
    use crate::azure::token::{AuthMethod, token_source_for};
    use crate::pg::entra::AzureAuth;
    let method = match AzureAuth::from_str(how.trim(), true) {
        Ok(AzureAuth::Auto) => AuthMethod::Auto,
        Ok(AzureAuth::ClientSecret) => AuthMethod::ClientSecret,
        Ok(AzureAuth::WorkloadIdentity) => AuthMethod::WorkloadIdentity,
        Ok(AzureAuth::ManagedIdentity) => AuthMethod::ManagedIdentity,
        Ok(AzureAuth::AzureCli) => AuthMethod::AzureCli,
        Err(_) => {
            return Err(Error::config(format!(
                "{AUTH_VAR}={how}: expected auto, client-secret, workload-identity, managed-identity or azure-cli"
            )));
        }
    };
    // The file's variables over the environment's (non-UTF-8 ones cannot
    // be credentials and are left out).
    let mut vars: std::collections::BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    vars.extend(file.vars());
    let env = crate::config::Env::fixed(vars);
    if let Some(s) = env.get("AZURE_CLIENT_SECRET") {
        crate::secret::register(&s);
    }
    let resource = env.get("SW_AZURE_STORAGE_TOKEN_RESOURCE").map_or_else(
        || STORAGE_RESOURCE.to_owned(),
        |r| if r.ends_with('/') { r } else { format!("{r}/") },
    );
    let ep = Endpoints::from_env(&env, None, None);
    let source = token_source_for(&env, &ep, method, &resource)?;
    log::debug!("Blob Storage: signing in with {}", source.describe());
    Ok(crate::blob::Auth::bearer_from(source))
}

#[cfg(all(feature = "blob", not(feature = "azure")))]
fn entra_source(_file: &crate::envfile::EnvFile, _how: &str) -> Result<crate::blob::Auth> {
    Err(Error::config(format!(
        "{AUTH_VAR}: this build has no Entra ID support (sw-core's azure feature)"
    )))
}
