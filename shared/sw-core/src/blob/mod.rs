//! A small blocking Azure Blob Storage client (feature `blob`), for the
//! off-site backup repository (issue #16).
//!
//! Why our own: the official `azure_storage_blob` has no Shared Key (so it
//! cannot talk to Azurite) and `object_store` brings a second HTTP and TLS
//! stack; the repository needs about eight calls, and owning them means
//! sw decides timeouts, retries and the 409/412 mapping
//! (`../shared/notes/backup-offsite.md` §2). It runs on the ureq/native-tls
//! stack `azure` uses, one pinned [`API_VERSION`]:
//!
//! - [`Client::put`] (Put Blob) and [`Client::upload`] (Put Block + Put
//!   Block List from a reader, blocks in parallel with bounded memory),
//!   both optionally write-once (`If-None-Match: *`; 409 BlobAlreadyExists
//!   from Azurite and 412 from Azure both come back as
//!   [`PutOutcome::Exists`], for the caller to compare hashes);
//! - [`Client::get`], [`Client::get_range`], [`Client::download`] (streams,
//!   resuming with `Range` after a broken connection), [`Client::head`];
//! - [`Client::list`] with prefix, optional delimiter and marker paging;
//! - [`Client::delete`], [`Client::create_container`] (idempotent).
//!
//! Names given to the client are relative to the [`Location`]'s prefix.
//! Credentials: [`Auth`] (Shared Key, SAS, or an Entra ID token callback).
//! See [`http`] for retries, deadlines and exit codes.

mod auth;
mod errors;
mod http;
mod ops;
mod upload;
mod xml;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use auth::{Auth, SasGrant, TokenFn, service_sas};
pub use ops::{BlobItem, Listing, Mode, Properties, PutOutcome};
pub use upload::Uploaded;

use crate::error::{Error, Result};

/// The one Blob REST version every request sends: Azure and Azurite
/// (3.35 and later) both accept it; a newer one gets 400 from an older
/// Azurite.
pub const API_VERSION: &str = "2024-08-04";

/// The most List Blobs returns per page.
pub const MAX_LIST_RESULTS: u32 = 5000;

/// Where a repository lives: `azure://ACCOUNT/CONTAINER[/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub account: String,
    pub container: String,
    /// Without leading or trailing `/`; empty for the container's root.
    pub prefix: String,
}

impl Location {
    /// Parse `azure://ACCOUNT/CONTAINER[/PREFIX]`.
    ///
    /// # Errors
    /// 64 when the text is not such a URL or a name breaks Azure's rules
    /// (account 3-24 lowercase letters and digits; container 3-63
    /// lowercase letters, digits and single hyphens).
    pub fn parse(s: &str) -> Result<Location> {
        let usage = |why: &str| Error::usage(format!("\"{s}\" is not azure://ACCOUNT/CONTAINER[/PREFIX]: {why}"));
        let rest = s
            .strip_prefix("azure://")
            .ok_or_else(|| usage("it must start with azure://"))?;
        let mut parts = rest.splitn(3, '/');
        let account = parts.next().unwrap_or("");
        let container = parts.next().unwrap_or("");
        let prefix = parts.next().unwrap_or("").trim_matches('/');
        let account_ok =
            (3..=24).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !account_ok {
            return Err(usage("the account name must be 3-24 lowercase letters and digits"));
        }
        let container_ok = (3..=63).contains(&container.len())
            && container
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !container.starts_with('-')
            && !container.ends_with('-')
            && !container.contains("--");
        if !container_ok {
            return Err(usage(
                "the container name must be 3-63 lowercase letters, digits and single hyphens",
            ));
        }
        if prefix.split('/').any(str::is_empty) && !prefix.is_empty() {
            return Err(usage("the prefix has an empty path segment"));
        }
        Ok(Location {
            account: account.to_owned(),
            container: container.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The public cloud's endpoint for this account.
    pub fn default_endpoint(&self) -> String {
        format!("https://{}.blob.core.windows.net", self.account)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "azure://{}/{}", self.account, self.container)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// Transfer sizes, timeouts and retry limits.
#[derive(Debug, Clone)]
pub struct Options {
    /// Block size for [`Client::upload`]; objects up to this size go in one
    /// Put Blob. Azure allows up to 4000 MiB per block and 50,000 blocks.
    pub block_size: usize,
    /// Blocks in flight at once (memory: about `parallel + 1` blocks).
    pub parallel: usize,
    /// TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// The longest a connection may stay silent on a read or a write (a
    /// hung response ends after this).
    pub io_timeout: Duration,
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// First backoff delay; doubles (with jitter) up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Trust only the certificates in this PEM file (Azurite, a private
    /// CA) instead of the system's CA store.
    pub ca_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            block_size: 8 << 20,
            parallel: 4,
            connect_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(60),
            attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(15),
            ca_file: None,
        }
    }
}

/// A Blob client bound to one container and prefix. Cheap to clone (the
/// agent and its connection pool are shared); `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// `https://host[:port]`.
    origin: String,
    /// The endpoint's path: empty for `ACCOUNT.blob.core.windows.net`,
    /// `/ACCOUNT` for Azurite's path-style URLs.
    base_path: String,
    container: String,
    /// `PREFIX/` or empty.
    prefix: String,
    auth: Auth,
    opts: Options,
    deadline: Option<Instant>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &format!("{}{}", self.origin, self.base_path))
            .field("container", &self.container)
            .field("prefix", &self.prefix)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `location` at `endpoint` (default
    /// `https://ACCOUNT.blob.core.windows.net`; for Azurite
    /// `https://127.0.0.1:PORT/devstoreaccount1`).
    ///
    /// # Errors
    /// 64 for an endpoint that is not an http(s) URL, 78 for an unreadable
    /// CA file.
    pub fn new(location: &Location, endpoint: Option<&str>, auth: Auth, opts: Options) -> Result<Client> {
        let endpoint = endpoint.map_or_else(|| location.default_endpoint(), str::to_owned);
        let endpoint = endpoint.trim_end_matches('/');
        let after_scheme = endpoint
            .strip_prefix("https://")
            .or_else(|| endpoint.strip_prefix("http://"))
            .ok_or_else(|| Error::usage(format!("the Blob endpoint \"{endpoint}\" is not an http(s) URL")))?;
        if after_scheme.contains(['?', '#']) {
            return Err(Error::usage(format!(
                "the Blob endpoint \"{endpoint}\" must not carry a query (pass a SAS token as a credential)"
            )));
        }
        let split = endpoint.len() - after_scheme.len() + after_scheme.find('/').unwrap_or(after_scheme.len());
        let (origin, base_path) = endpoint.split_at(split);
        let prefix = if location.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", location.prefix)
        };
        Ok(Client {
            agent: http::agent(&opts)?,
            origin: origin.to_owned(),
            base_path: base_path.to_owned(),
            container: location.container.clone(),
            prefix,
            auth,
            opts,
            deadline: None,
        })
    }

    /// This client with an overall deadline: no request or retry runs past
    /// it (exit 75), e.g. a whole `wal-push`.
    #[must_use]
    pub fn with_deadline(&self, deadline: Option<Instant>) -> Client {
        Client {
            deadline,
            ..self.clone()
        }
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_print() {
        let l = Location::parse("azure://devstoreaccount1/backups/prod/db1/").unwrap();
        assert_eq!(l.account, "devstoreaccount1");
        assert_eq!(l.container, "backups");
        assert_eq!(l.prefix, "prod/db1");
        assert_eq!(l.to_string(), "azure://devstoreaccount1/backups/prod/db1");
        assert_eq!(l.default_endpoint(), "https://devstoreaccount1.blob.core.windows.net");
        assert_eq!(Location::parse("azure://acct/cont").unwrap().prefix, "");
        for bad in [
            "s3://a/b",
            "azure://Acct/cont",
            "azure://acct",
            "azure://acct/c",
            "azure://acct/a--b",
            "azure://acct/cont/a//b",
        ] {
            assert_eq!(Location::parse(bad).unwrap_err().exit(), crate::Exit::Usage, "{bad}");
        }
    }

    #[test]
    fn endpoints_split_into_origin_and_path() {
        let l = Location::parse("azure://devstoreaccount1/c01/p").unwrap();
        let auth = Auth::sas("sv=1&sig=zzzz").unwrap();
        let c = Client::new(
            &l,
            Some("https://127.0.0.1:10000/devstoreaccount1/"),
            auth.clone(),
            Options::default(),
        )
        .unwrap();
        assert_eq!(
            (c.origin.as_str(), c.base_path.as_str()),
            ("https://127.0.0.1:10000", "/devstoreaccount1")
        );
        assert_eq!(c.prefix, "p/");
        let c = Client::new(&l, None, auth.clone(), Options::default()).unwrap();
        assert_eq!(c.origin, "https://devstoreaccount1.blob.core.windows.net");
        assert_eq!(c.base_path, "");
        assert!(Client::new(&l, Some("ftp://x"), auth, Options::default()).is_err());
    }
}
