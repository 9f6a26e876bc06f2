//! One cluster's area of the repository: its WAL objects, backups and
//! timeline histories, on whichever backend the repository is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::{AreaInfo, BackupManifest, MANIFEST_FILE, Repo, WalKind, WalName, WalObject};
#[cfg(feature = "blob")]
use super::{Backend, remote};
use super::{history, object, parse_object_name, wal};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::q;

/// One cluster's part of the repository.
#[derive(Debug, Clone)]
pub struct Area {
    pub repo: Repo,
    /// Its directory (for Blob, its URL, for messages).
    pub dir: PathBuf,
    /// pg<major>-<system identifier>: the first part of its keys.
    pub name: String,
    pub info: AreaInfo,
}

impl Area {
    pub(super) fn open(repo: Repo, dir: &Path) -> Result<Area> {
        let p = dir.join("area.json");
        let text = std::fs::read_to_string(&p).io_context(|| format!("reading {}", q(&p)))?;
        let name = dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        Area::from_text(repo, &name, &text)
    }

    pub(super) fn from_text(repo: Repo, name: &str, text: &str) -> Result<Area> {
        let dir = repo.root.join(name);
        let p = dir.join("area.json");
        let info: AreaInfo =
            serde_json::from_str(text).map_err(|e| Error::data(format!("{} is malformed", q(&p))).with_source(e))?;
        let seg = info.wal_segment_size;
        if !seg.is_power_of_two() || !((1 << 20)..=(1 << 30)).contains(&seg) {
            return Err(Error::data(format!(
                "{} records WAL segment size {seg}; PostgreSQL's is a power of two from 1 MB to 1 GB",
                q(&p)
            )));
        }
        Ok(Area {
            repo,
            dir,
            name: name.to_owned(),
            info,
        })
    }

    /// The key of `rel` (e.g. `backup/<id>/manifest.json`) in this area.
    pub fn key(&self, rel: &str) -> String {
        format!("{}/{rel}", self.name)
    }

    /// The id a WAL file's object is sealed under in an encrypted
    /// repository ([`super::seal::object_id`] of its key).
    pub fn wal_object_id(&self, name: &WalName) -> String {
        let sub = name.dir().map_or_else(String::new, |d| format!("{d}/"));
        self.key(&format!("wal/{sub}{}.zst", name.name))
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
        #[cfg(feature = "blob")]
        if let Backend::Blob(b) = &self.repo.backend {
            let sub = name.dir().map_or_else(String::new, |d| format!("{d}/"));
            let found = remote::wal_listing(self, b, &format!("{sub}{}-", name.name))?;
            return Ok(found.into_iter().filter(|o| o.name.name == name.name).collect());
        }
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
            if let Some(o) = wal_object(&self.repo.root, &e.path(), &file)?
                && o.name.name == name.name
            {
                v.push(o);
            }
        }
        Ok(v)
    }

    /// Every stored WAL file, by name.
    pub fn wal_objects(&self) -> Result<BTreeMap<String, WalObject>> {
        #[cfg(feature = "blob")]
        if let Backend::Blob(b) = &self.repo.backend {
            let all = remote::wal_listing(self, b, "")?;
            return Ok(all.into_iter().map(|o| (o.name.name.clone(), o)).collect());
        }
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
                    if let Some(o) = wal_object(&self.repo.root, &e2.path(), &f2)? {
                        m.insert(o.name.name.clone(), o);
                    }
                }
            } else if let Some(o) = wal_object(&self.repo.root, &p, &file)? {
                m.insert(o.name.name.clone(), o);
            }
        }
        Ok(m)
    }

    /// Every stored copy of every WAL file of a Blob area, two copies of
    /// one name included (a directory's are walked by `verify` itself);
    /// empty for a directory.
    ///
    /// # Errors
    /// The client's codes.
    #[cfg(feature = "blob")]
    pub fn blob_wal_copies(&self) -> Result<Vec<WalObject>> {
        match &self.repo.backend {
            Backend::Blob(b) => remote::wal_listing(self, b, ""),
            Backend::Dir => Ok(Vec::new()),
        }
    }

    /// Complete backups (those with a manifest), oldest first by stop LSN.
    pub fn backups(&self) -> Result<Vec<BackupManifest>> {
        #[cfg(feature = "blob")]
        if let Backend::Blob(b) = &self.repo.backend {
            let mut v = remote::manifests(self, b)?;
            v.sort_by(|a, b| (a.stop_lsn, a.stop_time, &a.id).cmp(&(b.stop_lsn, b.stop_time, &b.id)));
            return Ok(v);
        }
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
                match object::decompress_object(self, o, &mut buf) {
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

fn wal_object(root: &Path, path: &Path, file: &str) -> Result<Option<WalObject>> {
    let Some((name, sha256)) = parse_object_name(file) else {
        return Ok(None);
    };
    let m = std::fs::symlink_metadata(path).io_context(|| format!("reading {}", q(path)))?;
    if !m.is_file() {
        return Ok(None);
    }
    let mtime: DateTime<Utc> = m.modified().unwrap_or(SystemTime::UNIX_EPOCH).into();
    let key = path.strip_prefix(root).unwrap_or(path).to_string_lossy().into_owned();
    Ok(Some(WalObject {
        name,
        path: path.to_path_buf(),
        key,
        sha256,
        size: m.len(),
        mtime,
    }))
}
