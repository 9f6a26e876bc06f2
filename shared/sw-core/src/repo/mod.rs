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
//!     backup/.tmp-<id>/                   a backup in progress (never listed)
//!     drills.jsonl                        drill log
//!     lock                                held by `full` and `prune`
//! ```
//!
//! The SHA-256 in a WAL object's name is that of its stored bytes.

pub mod chain;
pub mod history;
pub mod manifest;
pub mod object;
pub mod store;
pub mod wal;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use manifest::{BackupManifest, BackupSummary, MANIFEST_FILE, ManifestFile};
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
    let r = Repo::open(repo)?;
    let mut best: Option<BackupManifest> = None;
    for a in r.areas()? {
        for b in a.backups()? {
            if best.as_ref().is_none_or(|x| b.stop_time > x.stop_time) {
                best = Some(b);
            }
        }
    }
    Ok(best.map(|b| b.summary()))
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
    pub root: PathBuf,
}

impl Repo {
    /// Open an existing repository.
    pub fn open(root: &Path) -> Result<Repo> {
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
        let dir = self.root.join(Repo::area_name(system_identifier, pg_major));
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
        let dir = self.root.join(Repo::area_name(system_identifier, pg_major));
        for d in [dir.clone(), dir.join("wal"), dir.join("backup")] {
            std::fs::create_dir_all(&d).io_context(|| format!("creating {}", q(&d)))?;
        }
        let info = AreaInfo {
            format: REPO_FORMAT,
            system_identifier: system_identifier.to_owned(),
            pg_major,
            wal_segment_size,
            created: Utc::now(),
        };
        let body = serde_json::to_vec_pretty(&info).map_err(|e| Error::software("rendering JSON").with_source(e))?;
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
        if !nix::unistd::geteuid().is_root() {
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
    pub path: PathBuf,
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

/// One cluster's part of the repository.
#[derive(Debug, Clone)]
pub struct Area {
    pub repo: Repo,
    pub dir: PathBuf,
    pub info: AreaInfo,
}

impl Area {
    fn open(repo: Repo, dir: &Path) -> Result<Area> {
        let p = dir.join("area.json");
        let text = std::fs::read_to_string(&p).io_context(|| format!("reading {}", q(&p)))?;
        let info: AreaInfo =
            serde_json::from_str(&text).map_err(|e| Error::data(format!("{} is malformed", q(&p))).with_source(e))?;
        let seg = info.wal_segment_size;
        if !seg.is_power_of_two() || !((1 << 20)..=(1 << 30)).contains(&seg) {
            return Err(Error::data(format!(
                "{} records WAL segment size {seg}; PostgreSQL's is a power of two from 1 MB to 1 GB",
                q(&p)
            )));
        }
        Ok(Area {
            repo,
            dir: dir.to_path_buf(),
            info,
        })
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.dir.join("wal")
    }
    pub fn backup_dir(&self) -> PathBuf {
        self.dir.join("backup")
    }
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }
    pub fn drill_log(&self) -> PathBuf {
        self.dir.join("drills.jsonl")
    }

    /// Where a WAL file is stored (its directory).
    pub fn wal_dir_for(&self, name: &WalName) -> PathBuf {
        match name.dir() {
            Some(d) => self.wal_dir().join(d),
            None => self.wal_dir(),
        }
    }

    /// Stored copies of one WAL file (normally zero or one).
    pub fn find_wal(&self, name: &WalName) -> Result<Vec<WalObject>> {
        let dir = self.wal_dir_for(name);
        let mut v = Vec::new();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
            Err(e) => return Err(Error::io(format!("listing {}", q(&dir))).with_source(e)),
        };
        let prefix = format!("{}-", name.name);
        for e in rd {
            let e = e.io_context(|| format!("listing {}", q(&dir)))?;
            let file = e.file_name().to_string_lossy().into_owned();
            if !file.starts_with(&prefix) {
                continue;
            }
            if let Some(o) = wal_object(&e.path(), &file)?
                && o.name.name == name.name
            {
                v.push(o);
            }
        }
        Ok(v)
    }

    /// Every stored WAL file, by name.
    pub fn wal_objects(&self) -> Result<BTreeMap<String, WalObject>> {
        let mut m = BTreeMap::new();
        let root = self.wal_dir();
        let rd = match std::fs::read_dir(&root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(m),
            Err(e) => return Err(Error::io(format!("listing {}", q(&root))).with_source(e)),
        };
        for e in rd {
            let e = e.io_context(|| format!("listing {}", q(&root)))?;
            let p = e.path();
            let file = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                for e2 in std::fs::read_dir(&p).io_context(|| format!("listing {}", q(&p)))? {
                    let e2 = e2.io_context(|| format!("listing {}", q(&p)))?;
                    let f2 = e2.file_name().to_string_lossy().into_owned();
                    if let Some(o) = wal_object(&e2.path(), &f2)? {
                        m.insert(o.name.name.clone(), o);
                    }
                }
            } else if let Some(o) = wal_object(&p, &file)? {
                m.insert(o.name.name.clone(), o);
            }
        }
        Ok(m)
    }

    /// Complete backups (those with a manifest), oldest first by stop LSN.
    pub fn backups(&self) -> Result<Vec<BackupManifest>> {
        let mut v = Vec::new();
        let dir = self.backup_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
            Err(e) => return Err(Error::io(format!("listing {}", q(&dir))).with_source(e)),
        };
        for e in rd {
            let e = e.io_context(|| format!("listing {}", q(&dir)))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let mp = e.path().join(MANIFEST_FILE);
            let text = match std::fs::read_to_string(&mp) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("reading {}", q(&mp))).with_source(e)),
            };
            let m: BackupManifest = serde_json::from_str(&text)
                .map_err(|e| Error::data(format!("{} is malformed", q(&mp))).with_source(e))?;
            v.push(m);
        }
        v.sort_by(|a, b| (a.stop_lsn, a.stop_time, &a.id).cmp(&(b.stop_lsn, b.stop_time, &b.id)));
        Ok(v)
    }

    /// Timeline history files (timeline -> text), read back and checked,
    /// from a listing the caller already holds (`wal_objects`), so the
    /// archive is not listed twice.
    pub fn histories_in(&self, objects: &BTreeMap<String, WalObject>) -> Result<BTreeMap<u32, String>> {
        let mut m = BTreeMap::new();
        for o in objects.values() {
            if o.name.kind == WalKind::History {
                let mut buf = Vec::new();
                match object::decompress_checked(&o.path, Some(&o.sha256), &mut buf) {
                    Ok(_) => {}
                    Err(object::ReadFailure::Corrupt(msg)) => return Err(Error::data(msg)),
                    Err(object::ReadFailure::Io(e)) => return Err(e),
                }
                m.insert(o.name.timeline, String::from_utf8_lossy(&buf).into_owned());
            }
        }
        Ok(m)
    }

    /// The timeline path ending at `timeline` (history files followed).
    pub fn timeline_path(
        &self,
        histories: &BTreeMap<u32, String>,
        timeline: u32,
    ) -> Result<Vec<history::TimelineSpan>> {
        match histories.get(&timeline) {
            Some(text) => history::parse_history(timeline, text),
            None if timeline == 1 => history::parse_history(1, ""),
            None => Err(Error::data(format!(
                "the history file of timeline {timeline} ({}) is not in the repository",
                wal::history_name(timeline)
            ))),
        }
    }
}

fn wal_object(path: &Path, file: &str) -> Result<Option<WalObject>> {
    let Some((name, sha256)) = parse_object_name(file) else {
        return Ok(None);
    };
    let m = std::fs::symlink_metadata(path).io_context(|| format!("reading {}", q(path)))?;
    if !m.is_file() {
        return Ok(None);
    }
    let mtime: DateTime<Utc> = m.modified().unwrap_or(SystemTime::UNIX_EPOCH).into();
    Ok(Some(WalObject {
        name,
        path: path.to_path_buf(),
        sha256,
        size: m.len(),
        mtime,
    }))
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
