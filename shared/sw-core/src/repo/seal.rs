//! Objects of an encrypted repository: zstd first, then AES-256-GCM chunks
//! ([`crate::crypt::stream`]) bound to the object's id, on the one write
//! path and the one read path every object goes through ([`super::object`]).
//!
//! The object id authenticated with every chunk is the object's key with
//! any `-<sha256>` before `.zst` removed: that hash is of the stored
//! (encrypted) bytes, known only after encrypting, and the rest of the key
//! (area, timeline, segment name, backup id, file name) is what a swapped
//! object would change.

use std::io::{self, Read, Write};

use super::Repo;
use crate::crypt::{DataKey, Decryptor, Encryptor, error_from_io};
use crate::error::Result;

/// A data key and the object id it seals under.
pub type Seal<'a> = Option<(&'a DataKey, String)>;

/// The id authenticated with the object stored under `key`.
#[must_use]
pub fn object_id(key: &str) -> String {
    let (dir, file) = key.rsplit_once('/').map_or(("", key), |(d, f)| (d, f));
    let file = match file.strip_suffix(".zst").and_then(|s| s.rsplit_once('-')) {
        Some((stem, sha)) if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) => format!("{stem}.zst"),
        _ => file.to_owned(),
    };
    if dir.is_empty() { file } else { format!("{dir}/{file}") }
}

/// Objects kept readable (compressed, not encrypted) in an encrypted
/// repository: chunked backups' file lists, and timeline history files, which hold only timeline numbers,
/// switch LSNs and the recovery target line, and which list, check, prune
/// and a keyless verify follow to know which WAL belongs to which backup.
#[must_use]
pub fn stays_plain(key: &str) -> bool {
    let id = object_id(key);
    // A chunked backup's file list (see `chunkindex`): prune and a keyless
    // verify read its chunk references.
    id.ends_with(".history.zst") || id.ends_with(&format!("/{}", super::chunkindex::INDEX_FILE))
}

impl Repo {
    /// How the object under `key` is sealed: `None` in a plain repository.
    ///
    /// # Errors
    /// 77 for an encrypted repository opened without its key.
    pub fn seal_for(&self, key: &str) -> Result<Seal<'_>> {
        if stays_plain(key) {
            return Ok(None);
        }
        Ok(self.data_key()?.map(|k| (k, object_id(key))))
    }

    /// True when the repository is encrypted (with or without its key).
    pub fn is_encrypted(&self) -> bool {
        self.crypt().is_some()
    }

    /// Read the object `key` (`size` bytes stored) as written: decrypted
    /// when the repository is encrypted. Authentication failures surface
    /// as read errors that [`crate::crypt::error_from_io`] turns back
    /// into 65 naming the object and chunk.
    ///
    /// # Errors
    /// 77 without the key; 66 when it is missing; I/O or service errors.
    pub fn open_object(&self, key: &str, size: u64) -> Result<Box<dyn Read + Send>> {
        let seal = self.seal_for(key)?;
        let r = self.reader(key, size)?;
        unseal(seal, r)
    }
}

/// What [`Repo::check_object`] found.
#[derive(Debug)]
pub struct Checked {
    /// Bytes stored and their SHA-256 (hex).
    pub size: u64,
    pub sha256: String,
    /// In an encrypted repository opened with its key, whether every GCM
    /// tag held (`Err` names the object and chunk); `None` when not checked.
    pub tags: Option<std::result::Result<(), String>>,
}

impl Repo {
    /// Hash the stored bytes of `key` and, in an encrypted repository
    /// opened with its key, authenticate every chunk in the same pass
    /// (no decompression).
    ///
    /// # Errors
    /// 66 when it is missing; I/O or service errors.
    pub fn check_object(&self, key: &str, size: u64) -> Result<Checked> {
        use crate::error::IoContext;
        let seal = self.seal_for(key).ok().flatten();
        let r = self.reader(key, size)?;
        let mut hr = super::object::HashReader::new(io::BufReader::with_capacity(1 << 20, r));
        let tags = match seal {
            None => None,
            Some((k, id)) => Some(match Decryptor::new(k, &id, &mut hr) {
                Ok(mut d) => match io::copy(&mut d, &mut io::sink()) {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let e = error_from_io(e);
                        if e.exit() != crate::Exit::DataErr {
                            return Err(e);
                        }
                        Err(e.to_string())
                    }
                },
                Err(e) if e.exit() == crate::Exit::DataErr => Err(e.to_string()),
                Err(e) => return Err(e),
            }),
        };
        io::copy(&mut hr, &mut io::sink()).io_context(|| format!("reading {key}"))?;
        let (size, sha256) = hr.finish();
        Ok(Checked { size, sha256, tags })
    }
}

/// A reader of the plaintext (zstd) bytes of a stored object.
///
/// # Errors
/// 65 for a header that is not ours; 74 when reading fails.
pub fn unseal<'a>(seal: Seal<'_>, r: Box<dyn Read + Send + 'a>) -> Result<Box<dyn Read + Send + 'a>> {
    match seal {
        None => Ok(r),
        Some((k, id)) => Ok(Box::new(Decryptor::new(k, &id, r)?)),
    }
}

/// Where compressed bytes go on their way to storage: straight through, or
/// through an [`Encryptor`].
pub enum Sink<W: Write> {
    Plain(W),
    Sealed(Box<Encryptor<W>>),
}

impl<W: Write> Sink<W> {
    /// Start an object.
    ///
    /// # Errors
    /// 74/70 from the encryptor.
    pub fn new(seal: Seal<'_>, inner: W) -> Result<Sink<W>> {
        Ok(match seal {
            None => Sink::Plain(inner),
            Some((k, id)) => Sink::Sealed(Box::new(Encryptor::new(k, &id, inner)?)),
        })
    }

    /// Finish the object (the last chunk) and give the writer back.
    ///
    /// # Errors
    /// 74/70 from the encryptor.
    pub fn finish(self) -> Result<W> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Sealed(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Sealed(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Sealed(e) => e.flush(),
        }
    }
}

/// Seal a file's bytes into a new temp file beside it and put it in its
/// place (the spool of a base backup before upload): same name, sealed
/// contents, the plaintext gone.
///
/// # Errors
/// I/O errors; 70 from the encryptor.
pub fn seal_file_in_place(path: &std::path::Path, seal: Seal<'_>) -> Result<()> {
    use crate::error::IoContext;
    use crate::fsutil::q;
    if seal.is_none() {
        return Ok(());
    }
    let tmp = crate::fsutil::temp_for(path, 0o640)?;
    let file = tmp
        .as_file()
        .try_clone()
        .io_context(|| format!("opening a temp file for {}", q(path)))?;
    let mut sink = Sink::new(seal, io::BufWriter::with_capacity(1 << 20, file))?;
    let mut src = crate::fsutil::open_nofollow(path)?;
    io::copy(&mut src, &mut sink).map_err(|e| error_from_io(e).context(format!("sealing {}", q(path))))?;
    let buf = sink.finish()?;
    let file = buf
        .into_inner()
        .map_err(|e| crate::Error::io(format!("writing {}", q(path))).with_source(e.into_error()))?;
    file.sync_all().io_context(|| format!("syncing {}", q(path)))?;
    tmp.persist(path)
        .map_err(|e| crate::Error::io(format!("replacing {}", q(path))).with_source(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_drop_the_stored_hash_only() {
        let sha = "0f".repeat(32);
        assert_eq!(
            object_id(&format!(
                "pg16-1/wal/0000000100000000/000000010000000000000003-{sha}.zst"
            )),
            "pg16-1/wal/0000000100000000/000000010000000000000003.zst"
        );
        assert_eq!(
            object_id("pg16-1/backup/x/base.tar.zst"),
            "pg16-1/backup/x/base.tar.zst"
        );
        assert_eq!(object_id("a-b.zst"), "a-b.zst");
        assert!(stays_plain(&format!("pg16-1/wal/00000002.history-{sha}.zst")));
        assert!(!stays_plain(&format!(
            "pg16-1/wal/0000000200000000/000000020000000000000003-{sha}.zst"
        )));
    }

    #[test]
    fn sealed_files_decrypt_and_name_a_flipped_byte() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("base.tar.zst");
        let data = b"marker row 42 ".repeat(200_000);
        std::fs::write(&p, &data).unwrap();
        let k = DataKey::generate().unwrap();
        seal_file_in_place(&p, Some((&k, "a/base.tar.zst".into()))).unwrap();
        let mut stored = std::fs::read(&p).unwrap();
        assert!(!stored.windows(13).any(|w| w == b"marker row 42"));
        let mut out = Vec::new();
        unseal(Some((&k, "a/base.tar.zst".into())), Box::new(&stored[..]))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        stored[2_000_000] ^= 1;
        let err = unseal(Some((&k, "a/base.tar.zst".into())), Box::new(&stored[..]))
            .unwrap()
            .read_to_end(&mut Vec::new())
            .map_err(error_from_io)
            .unwrap_err();
        assert!(err.to_string().contains("a/base.tar.zst: chunk 1 failed"), "{err}");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
