//! The backup repository shared by sw-backup, sw-restore and checks that
//! read it (feature `repo`).
//!
//! Layout (every object written once, never rewritten):
//!
//! ```text
//! <repo>/sw-backup-repo.json              format marker
//! <repo>/pg<major>-<system id>/           one area per cluster and major version
//!     area.json                           system id, major version, WAL segment size
//!     wal/<TTTTTTTTLLLLLLLL>/<segment>-<sha256>.zst   segments, .partial, .backup files
//!     wal/<TTTTTTTT>.history-<sha256>.zst             timeline history files
//!     backup/<id>/                        base.tar.zst, backup_manifest, manifest.json (last)
//!                                         (a chunked backup: chunks.json.zst instead of base.tar.zst)
//!     chunks/<xx>/<name>.zst              content-addressed chunks of chunked backups
//!     backup/.tmp-<id>/                   a backup in progress (never listed)
//!     drills.jsonl                        drill log
//!     lock                                held by `full` and `prune`
//!     offsite-queue/<wal object file>     WAL waiting for the off-site repository
//! <repo>/offsite.env                      the off-site repository linked ([`offsite`])
//! ```
//!
//! The SHA-256 in a WAL object's name is that of its stored bytes.
//!
//! The same layout lives in a directory or, with feature `blob`, under an
//! Azure Blob container prefix (`azure://ACCOUNT/CONTAINER[/PREFIX]`,
//! [`remote`]): object keys are the paths above relative to `<repo>`. On
//! Blob nothing is renamed: a backup's files are uploaded under their final
//! keys and `manifest.json` is written last, so a backup is complete
//! exactly when its manifest exists, as in a directory. The directory code
//! is the original one, kept as is (an enum, not the `Store` trait, so the
//! files, modes, fsyncs and ownership of a directory repository do not
//! change); `lock` and `drills.jsonl` stay local files for both.

mod area;
pub mod chain;
pub mod chunkindex;
pub mod chunks;
pub mod history;
pub mod keys;
pub mod manifest;
pub mod object;
#[cfg(feature = "blob")]
pub mod offsite;
#[cfg(feature = "blob")]
pub mod remote;
pub mod seal;
pub mod store;
pub mod wal;

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use area::Area;
pub use manifest::{BackupManifest, BackupSummary, ChunkedInfo, MANIFEST_FILE, ManifestFile};
pub use wal::{Lsn, WalKind, WalName};

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};

/// The repository marker file.
pub const MARKER: &str = "sw-backup-repo.json";
/// Repository format version.
pub const REPO_FORMAT: u32 = 1;

/// The newest complete backup in the repository at `repo` (any area), or
/// `None` when it holds none. A missing or foreign directory is an error
/// (66 / 65).
pub fn newest_complete_backup(repo: &Path) -> Result<Option<BackupSummary>> {
    Repo::open(repo)?.newest_backup()
}

impl Repo {
    /// The newest complete backup in any area.
    ///
    /// # Errors
    /// I/O or service errors.
    pub fn newest_backup(&self) -> Result<Option<BackupSummary>> {
        let mut best: Option<BackupManifest> = None;
        for a in self.areas()? {
            for b in a.backups()? {
                if best.as_ref().is_none_or(|x| b.stop_time > x.stop_time) {
                    best = Some(b);
                }
            }
        }
        Ok(best.map(|b| b.summary()))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: u32,
    created: DateTime<Utc>,
}

/// Identity of an area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaInfo {
    pub format: u32,
    pub system_identifier: String,
    pub pg_major: u32,
    pub wal_segment_size: u64,
    pub created: DateTime<Utc>,
}

/// A repository root.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The directory. For a Blob repository its `azure://` URL, only ever
    /// shown in messages: reads and writes go through the backend.
    pub root: PathBuf,
    backend: Backend,
    /// An encrypted repository's keyring and key ([`keys`]).
    crypt: Option<std::sync::Arc<keys::Crypt>>,
}

/// Where the objects are.
#[derive(Debug, Clone)]
enum Backend {
    Dir,
    #[cfg(feature = "blob")]
    Blob(std::sync::Arc<store::BlobStore>),
}

impl Repo {
    /// Open an existing repository, a directory or (feature `blob`) an
    /// `azure://` URL reached with `opts.blob`.
    ///
    /// # Errors
    /// 66 when it is not a repository, 65 for a foreign format; for Blob
    /// also the client's codes (64, 69, 75, 77, 78).
    pub fn open_opts(opts: &crate::cli::RepoOpts) -> Result<Repo> {
        Repo::open_plain(opts)?.unlock(&opts.keys, false)
    }

    /// As [`Repo::open_opts`], but an encrypted repository opens without
    /// a key too (a wrong key is still 77): for commands that read only
    /// the metadata kept readable (list, check, prune, keyless verify).
    ///
    /// # Errors
    /// As [`Repo::open_opts`].
    pub fn open_opts_keyless(opts: &crate::cli::RepoOpts) -> Result<Repo> {
        Repo::open_plain(opts)?.unlock(&opts.keys, true)
    }

    fn open_plain(opts: &crate::cli::RepoOpts) -> Result<Repo> {
        #[cfg(feature = "blob")]
        if opts.is_blob() {
            return remote::open(opts, false, None);
        }
        Repo::open(&opts.repo)
    }

    /// As [`Repo::open_opts`], creating the repository (and the Blob
    /// container) when missing.
    ///
    /// # Errors
    /// As [`Repo::open_opts`].
    pub fn init_opts(opts: &crate::cli::RepoOpts) -> Result<Repo> {
        #[cfg(feature = "blob")]
        if opts.is_blob() {
            return remote::open(opts, true, None)?.unlock(&opts.keys, false);
        }
        Repo::init(&opts.repo)?.unlock(&opts.keys, false)
    }

    /// True for an Azure Blob repository.
    pub fn is_blob(&self) -> bool {
        !matches!(self.backend, Backend::Dir)
    }

    /// The Blob store behind an `azure://` repository.
    #[cfg(feature = "blob")]
    pub fn blob(&self) -> Option<&store::BlobStore> {
        match &self.backend {
            Backend::Blob(b) => Some(b),
            Backend::Dir => None,
        }
    }

    /// This repository with an overall deadline on every Blob request
    /// (exit 75 past it), e.g. a whole `wal-push`; a directory is unchanged.
    #[must_use]
    #[cfg_attr(
        not(feature = "blob"),
        allow(unused_variables, reason = "only Blob requests have deadlines")
    )]
    pub fn with_deadline(&self, deadline: Option<std::time::Instant>) -> Repo {
        match &self.backend {
            Backend::Dir => self.clone(),
            #[cfg(feature = "blob")]
            Backend::Blob(b) => Repo {
                root: self.root.clone(),
                backend: Backend::Blob(std::sync::Arc::new(store::BlobStore {
                    client: b.client.with_deadline(deadline),
                })),
                crypt: self.crypt.clone(),
            },
        }
    }

    /// Read the object `key` (relative to the root) of `size` bytes (a
    /// hint: small Blob objects are fetched whole, so a failed request
    /// keeps its exit code; large ones stream).
    ///
    /// # Errors
    /// 66 when it is missing; I/O or service errors.
    #[cfg_attr(not(feature = "blob"), allow(unused_variables, reason = "only Blob uses the size"))]
    pub fn reader(&self, key: &str, size: u64) -> Result<Box<dyn Read + Send>> {
        match &self.backend {
            Backend::Dir => Ok(Box::new(fsutil::open_nofollow(&self.root.join(key))?)),
            #[cfg(feature = "blob")]
            Backend::Blob(b) => remote::reader(b, key, size),
        }
    }

    /// Open an existing directory repository.
    pub fn open(root: &Path) -> Result<Repo> {
        if root.to_str().is_some_and(|s| s.starts_with("azure://")) {
            return Err(Error::usage(format!(
                "{}: this command works on a directory repository only (azure:// repositories are read and written by setup, wal-push, full, list, verify, check, prune, wal-fetch, restore and drill)",
                q(root)
            )));
        }
        let marker = root.join(MARKER);
        let text = std::fs::read_to_string(&marker).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::no_input(format!(
                    "{} is not an sw backup repository (no {MARKER}; create it with `sw-backup setup`)",
                    q(root)
                ))
            } else {
                Error::io(format!("reading {}", q(&marker))).with_source(e)
            }
        })?;
        let m: Marker = serde_json::from_str(&text)
            .map_err(|e| Error::data(format!("{} is malformed", q(&marker))).with_source(e))?;
        if m.format != REPO_FORMAT {
            return Err(Error::data(format!(
                "{} has repository format {}; this sw understands {REPO_FORMAT}",
                q(root),
                m.format
            )));
        }
        Ok(Repo {
            root: std::path::absolute(root).io_context(|| format!("resolving {}", q(root)))?,
            backend: Backend::Dir,
            crypt: None,
        })
    }

    /// Open, creating the directory and marker when missing.
    pub fn init(root: &Path) -> Result<Repo> {
        if !root.join(MARKER).exists() {
            std::fs::create_dir_all(root).io_context(|| format!("creating {}", q(root)))?;
            let m = Marker {
                format: REPO_FORMAT,
                created: Utc::now(),
            };
            let body = serde_json::to_vec_pretty(&m).map_err(|e| Error::software("rendering JSON").with_source(e))?;
            match fsutil::write_new(&root.join(MARKER), &body, 0o644) {
                Ok(()) => {}
                Err(e) if e.exit() == crate::Exit::CantCreat => {}
                Err(e) => return Err(e),
            }
        }
        Repo::open(root)
    }

    /// Every area.
    pub fn areas(&self) -> Result<Vec<Area>> {
        #[cfg(feature = "blob")]
        if let Backend::Blob(b) = &self.backend {
            let mut v = Vec::new();
            for name in remote::area_names(b)? {
                if let Some(a) = self.area_named(&name)? {
                    v.push(a);
                }
            }
            return Ok(v);
        }
        let mut v = Vec::new();
        for e in std::fs::read_dir(&self.root).io_context(|| format!("listing {}", q(&self.root)))? {
            let e = e.io_context(|| format!("listing {}", q(&self.root)))?;
            let p = e.path();
            if p.join("area.json").is_file() {
                v.push(Area::open(self.clone(), &p)?);
            }
        }
        v.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(v)
    }

    /// The area name for a cluster.
    pub fn area_name(system_identifier: &str, pg_major: u32) -> String {
        format!("pg{pg_major}-{system_identifier}")
    }

    /// The area of a cluster, if registered.
    pub fn area(&self, system_identifier: &str, pg_major: u32) -> Result<Option<Area>> {
        self.area_named(&Repo::area_name(system_identifier, pg_major))
    }

    /// The area called `name` (pg<major>-<system id>), if there is one.
    pub fn area_named(&self, name: &str) -> Result<Option<Area>> {
        #[cfg(feature = "blob")]
        if let Backend::Blob(b) = &self.backend {
            return match remote::get_text(b, &format!("{name}/area.json"))? {
                Some(text) => Area::from_text(self.clone(), name, &text).map(Some),
                None => Ok(None),
            };
        }
        let dir = self.root.join(name);
        if dir.join("area.json").is_file() {
            Area::open(self.clone(), &dir).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The area of a cluster, failing with a clear message when the
    /// cluster was never registered (another cluster's WAL is refused).
    pub fn area_required(&self, system_identifier: &str, pg_major: u32) -> Result<Area> {
        self.area(system_identifier, pg_major)?.ok_or_else(|| {
            let known: Vec<String> = self
                .areas()
                .unwrap_or_default()
                .iter()
                .map(|a| format!("{} (PostgreSQL {})", a.info.system_identifier, a.info.pg_major))
                .collect();
            Error::config(format!(
                "repository {} has no area for system identifier {system_identifier} (PostgreSQL {pg_major}); known: [{}]; refusing WAL or backups from an unregistered cluster (register it with `sw-backup setup`)",
                q(&self.root),
                known.join(", ")
            ))
        })
    }

    /// Register a cluster (idempotent).
    pub fn ensure_area(&self, system_identifier: &str, pg_major: u32, wal_segment_size: u64) -> Result<Area> {
        if let Some(a) = self.area(system_identifier, pg_major)? {
            if a.info.wal_segment_size != wal_segment_size {
                return Err(Error::config(format!(
                    "area {} records WAL segment size {}, the cluster uses {wal_segment_size}",
                    q(&a.dir),
                    a.info.wal_segment_size
                )));
            }
            return Ok(a);
        }
        let name = Repo::area_name(system_identifier, pg_major);
        let info = AreaInfo {
            format: REPO_FORMAT,
            system_identifier: system_identifier.to_owned(),
            pg_major,
            wal_segment_size,
            created: Utc::now(),
        };
        let body = serde_json::to_vec_pretty(&info).map_err(|e| Error::software("rendering JSON").with_source(e))?;
        #[cfg(feature = "blob")]
        if let Backend::Blob(b) = &self.backend {
            remote::put_first(b, &format!("{name}/area.json"), &body)?;
            return self.area_required(system_identifier, pg_major);
        }
        let dir = self.root.join(&name);
        for d in [dir.clone(), dir.join("wal"), dir.join("backup")] {
            std::fs::create_dir_all(&d).io_context(|| format!("creating {}", q(&d)))?;
        }
        match fsutil::write_new(&dir.join("area.json"), &body, 0o644) {
            Ok(()) => {}
            Err(e) if e.exit() == crate::Exit::CantCreat => {}
            Err(e) => return Err(e),
        }
        fsutil::fsync_dir(&self.root)?;
        self.adopt(&dir)?;
        Area::open(self.clone(), &dir)
    }

    /// When we run as root, give `path` (recursively) to the repository
    /// root's owner, so root-run commands never leave root-owned objects
    /// that the archiver (running as the server's user) cannot use.
    pub fn adopt(&self, path: &Path) -> Result<()> {
        if self.is_blob() || !nix::unistd::geteuid().is_root() {
            return Ok(());
        }
        let m = std::fs::metadata(&self.root).io_context(|| format!("reading {}", q(&self.root)))?;
        if m.uid() == 0 {
            return Ok(());
        }
        crate::cluster::chown_recursive(path, m.uid(), m.gid())
    }

    /// Free bytes on the repository's filesystem.
    pub fn free_bytes(&self) -> Result<u64> {
        let s = nix::sys::statvfs::statvfs(&self.root)
            .map_err(|e| Error::io(format!("statvfs {}", q(&self.root))).with_source(e))?;
        Ok(s.blocks_available().saturating_mul(s.fragment_size()))
    }
}

/// A stored WAL file.
#[derive(Debug, Clone)]
pub struct WalObject {
    pub name: WalName,
    /// The file (directory repositories; for Blob, the URL of the object,
    /// for messages).
    pub path: PathBuf,
    /// The object's key, relative to the repository root.
    pub key: String,
    /// SHA-256 of the stored bytes (from the object's name).
    pub sha256: String,
    pub size: u64,
    /// When it was stored.
    pub mtime: DateTime<Utc>,
}

/// Split `<walname>-<sha256>.zst`.
pub fn parse_object_name(file: &str) -> Option<(WalName, String)> {
    let stem = file.strip_suffix(".zst")?;
    let (name, sha) = stem.rsplit_once('-')?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((WalName::parse(name).ok()?, sha.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_repo_has_no_backup_and_missing_repo_fails() {
        let d = tempfile::tempdir().unwrap();
        let missing = newest_complete_backup(&d.path().join("nope")).unwrap_err();
        assert_eq!(missing.exit(), crate::Exit::NoInput);
        let r = Repo::init(d.path()).unwrap();
        assert_eq!(newest_complete_backup(d.path()).unwrap(), None);
        let a = r.ensure_area("7311", 15, 16 << 20).unwrap();
        assert_eq!(r.area_required("7311", 15).unwrap().dir, a.dir);
        assert!(r.area_required("9999", 15).is_err());
        assert_eq!(newest_complete_backup(d.path()).unwrap(), None);
        // A tampered area.json is refused, not divided by.
        let text = std::fs::read_to_string(a.dir.join("area.json")).unwrap();
        std::fs::write(a.dir.join("area.json"), text.replace("16777216", "0")).unwrap();
        assert_eq!(r.areas().unwrap_err().exit(), crate::Exit::DataErr);
    }
}
