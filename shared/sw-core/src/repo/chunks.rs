//! An area's content-addressed chunk store (issue #18):
//! `<area>/chunks/<first two>/<name>.zst`, where the name is the SHA-256
//! of the chunk's plain bytes, or in an encrypted repository its HMAC
//! ([`super::Repo::content_name`]), so equal content is stored once and
//! a name says nothing about the content. Each chunk is zstd, sealed like
//! every other object when the repository is encrypted (deterministically,
//! so a chunk stored twice is the same object).
//!
//! In a directory a backup stages its new chunks in its own spool
//! directory without an fsync each, then [`Chunks::commit`] flushes the
//! file system once and links them into place: a chunk is under its final
//! name only once its bytes are durable, so a crash never leaves a short
//! chunk that a later backup would trust. On Blob Storage each chunk is
//! put under its final key (write-once, complete or absent). A chunk no
//! manifest references (a killed backup's) is harmless and removed by
//! `prune`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::{Area, object};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};

/// One stored chunk.
#[derive(Debug, Clone)]
pub struct ChunkObject {
    /// Bytes stored.
    pub size: u64,
    /// When it was stored (prune's grace period).
    pub mtime: DateTime<Utc>,
}

/// The chunk store of one area.
pub struct Chunks<'a> {
    pub area: &'a Area,
}

fn valid_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Where a chunk lives, relative to its area.
fn rel(name: &str) -> String {
    format!("chunks/{}/{name}.zst", name.get(..2).unwrap_or("xx"))
}

impl Chunks<'_> {
    #[must_use]
    pub fn new(area: &Area) -> Chunks<'_> {
        Chunks { area }
    }

    /// The chunk's object key.
    #[must_use]
    pub fn key(&self, name: &str) -> String {
        self.area.key(&rel(name))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.area.dir.join(rel(name))
    }

    fn dir(&self) -> PathBuf {
        self.area.dir.join("chunks")
    }

    /// The name of a chunk with these plain bytes.
    ///
    /// # Errors
    /// 77 for an encrypted repository opened without its key.
    pub fn name_of(&self, plain: &[u8]) -> Result<String> {
        self.area.repo.content_name(&object::sha256_hex(plain))
    }

    /// The stored form of a chunk: zstd at `level`, sealed under its key.
    ///
    /// # Errors
    /// 77 without the key; 70 from the compressor or encryptor.
    pub fn encode(&self, name: &str, plain: &[u8], level: i32) -> Result<Vec<u8>> {
        let seal = self.area.repo.seal_for(&self.key(name))?;
        Ok(object::compress_to_vec_sealed(plain, level, seal)?.0)
    }

    /// Every stored chunk by name.
    ///
    /// # Errors
    /// I/O or service errors.
    pub fn list(&self) -> Result<BTreeMap<String, ChunkObject>> {
        let mut m = BTreeMap::new();
        #[cfg(feature = "blob")]
        if let Some(b) = self.area.repo.blob() {
            let base = format!("{}/chunks/", self.area.name);
            for item in b.client.list(&base, None)?.blobs {
                let Some(file) = item.name.rsplit('/').next() else {
                    continue;
                };
                let Some(name) = file.strip_suffix(".zst").filter(|n| valid_name(n)) else {
                    continue;
                };
                let mtime = DateTime::parse_from_rfc2822(&item.last_modified)
                    .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc));
                m.insert(name.to_owned(), ChunkObject { size: item.size, mtime });
            }
            return Ok(m);
        }
        let root = self.dir();
        let rd = match std::fs::read_dir(&root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(m),
            Err(e) => return Err(Error::io(format!("listing {}", q(&root))).with_source(e)),
        };
        for sub in rd {
            let sub = sub.io_context(|| format!("listing {}", q(&root)))?.path();
            if !sub.is_dir() {
                continue;
            }
            for e in std::fs::read_dir(&sub).io_context(|| format!("listing {}", q(&sub)))? {
                let e = e.io_context(|| format!("listing {}", q(&sub)))?;
                let file = e.file_name().to_string_lossy().into_owned();
                let Some(name) = file.strip_suffix(".zst").filter(|n| valid_name(n)) else {
                    continue;
                };
                let md = e.metadata().io_context(|| format!("reading {}", q(&e.path())))?;
                let mtime: DateTime<Utc> = md.modified().unwrap_or(SystemTime::UNIX_EPOCH).into();
                m.insert(name.to_owned(), ChunkObject { size: md.len(), mtime });
            }
        }
        Ok(m)
    }

    /// Store a chunk's stored form under its final name (Blob: one
    /// write-once put; a directory: via a temp file, fsynced).
    ///
    /// # Errors
    /// 65 when a different object holds the name; I/O or service errors.
    pub fn put(&self, name: &str, stored: &[u8]) -> Result<()> {
        if self.area.repo.is_blob() {
            #[cfg(feature = "blob")]
            super::remote::put_once(&self.area.repo, &self.key(name), stored)?;
            return Ok(());
        }
        let p = self.path(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).io_context(|| format!("creating {}", q(d)))?;
        }
        match fsutil::write_new(&p, stored, 0o640) {
            Err(e) if e.exit() != crate::Exit::CantCreat => Err(e),
            _ => Ok(()),
        }
    }

    /// Write a chunk's stored form into `spool` (a directory repository's
    /// backup in progress), not yet durable nor in the store.
    ///
    /// # Errors
    /// I/O errors.
    pub fn stage(spool: &Path, name: &str, stored: &[u8]) -> Result<()> {
        let p = spool.join(format!("{name}.zst"));
        std::fs::write(&p, stored).io_context(|| format!("writing {}", q(&p)))
    }

    /// Make every chunk staged in `spool` durable (one syncfs), then link
    /// each into the store (one already there is left as it is) and fsync
    /// the directories that changed. Returns the chunks moved.
    ///
    /// # Errors
    /// I/O errors.
    pub fn commit(&self, spool: &Path) -> Result<u64> {
        let rd = match std::fs::read_dir(spool) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::io(format!("listing {}", q(spool))).with_source(e)),
        };
        let staged: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        let f = std::fs::File::open(spool).io_context(|| format!("opening {}", q(spool)))?;
        nix::unistd::syncfs(f.as_raw_fd()).map_err(|e| Error::io(format!("syncing {}", q(spool))).with_source(e))?;
        let mut dirs = BTreeSet::new();
        let mut moved = 0;
        for p in staged {
            let Some(name) = p.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            let fin = self.path(&name);
            let d = fin.parent().map(Path::to_path_buf).unwrap_or_default();
            if dirs.insert(d.clone()) {
                std::fs::create_dir_all(&d).io_context(|| format!("creating {}", q(&d)))?;
            }
            match std::fs::hard_link(&p, &fin) {
                Ok(()) => moved += 1,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(format!("linking {}", q(&fin))).with_source(e)),
            }
            std::fs::remove_file(&p).io_context(|| format!("removing {}", q(&p)))?;
        }
        for d in &dirs {
            fsutil::fsync_dir(d)?;
        }
        if !dirs.is_empty() {
            fsutil::fsync_dir(&self.dir())?;
            fsutil::fsync_dir(&self.area.dir)?;
        }
        Ok(moved)
    }

    /// A chunk's plain bytes, checked against its name. `size` is the
    /// stored size when known (0 otherwise: fetched whole).
    ///
    /// # Errors
    /// 66 when it is not stored; 65 when it does not decrypt, decompress
    /// or hash to its name; 77 without the key.
    pub fn read(&self, name: &str, size: u64) -> Result<Vec<u8>> {
        let key = self.key(name);
        let r = self.area.repo.reader(&key, size).map_err(|e| {
            if e.exit() == crate::Exit::NoInput {
                Error::no_input(format!("chunk {name} is not in the repository"))
            } else {
                e
            }
        })?;
        let plain = super::seal::unseal(self.area.repo.seal_for(&key)?, r)?;
        let mut out = Vec::new();
        zstd::Decoder::new(plain)
            .and_then(|mut d| d.read_to_end(&mut out))
            .map_err(|e| Error::data(format!("chunk {name}: {}", crate::crypt::error_from_io(e))))?;
        let got = self.name_of(&out)?;
        if got != name {
            return Err(Error::data(format!(
                "chunk {name} is corrupt: its content hashes to {got}"
            )));
        }
        Ok(out)
    }

    /// Remove a chunk; `false` when it was not there.
    ///
    /// # Errors
    /// I/O or service errors.
    pub fn delete(&self, name: &str) -> Result<bool> {
        if self.area.repo.is_blob() {
            #[cfg(feature = "blob")]
            return super::remote::delete(&self.area.repo, &self.key(name));
        }
        let p = self.path(name);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("removing {}", q(&p))).with_source(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_chunks_commit_read_back_and_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let r = super::super::Repo::init(d.path()).unwrap();
        let a = r.ensure_area("7311", 15, 16 << 20).unwrap();
        let c = Chunks::new(&a);
        let plain = vec![7u8; 65536];
        let name = c.name_of(&plain).unwrap();
        let spool = d.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        Chunks::stage(&spool, &name, &c.encode(&name, &plain, 1).unwrap()).unwrap();
        assert_eq!(c.commit(&spool).unwrap(), 1);
        assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
        assert_eq!(c.list().unwrap().keys().collect::<Vec<_>>(), [&name]);
        assert_eq!(c.read(&name, 0).unwrap(), plain);
        // Another chunk's bytes under this name are refused.
        let other = c.encode(&name, &[1u8; 10], 1).unwrap();
        std::fs::write(c.path(&name), other).unwrap();
        assert!(c.read(&name, 0).unwrap_err().to_string().contains("corrupt"));
        assert!(c.delete(&name).unwrap());
        let e = c.read(&name, 0).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::NoInput);
        assert!(e.to_string().contains(&name), "{e}");
    }
}
