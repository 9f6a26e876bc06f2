//! Write-once repository objects: stream into a temp file beside the final
//! name while compressing and hashing, fsync, rename without replacing,
//! fsync the directory. The SHA-256 recorded for an object is that of the
//! stored (compressed) bytes, so verifying needs no decompression.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use super::seal::{Seal, Sink};
use crate::crypt::error_from_io;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};

/// zstd level for WAL segments (fast; WAL compresses well).
pub const WAL_LEVEL: i32 = 3;

/// The result of storing or hashing an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Bytes stored.
    pub size: u64,
    /// Bytes before compression.
    pub raw_size: u64,
    /// SHA-256 of the stored bytes (hex).
    pub sha256: String,
    /// SHA-256 of the bytes before compression (hex).
    pub raw_sha256: String,
}

/// Hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of bytes (hex).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&openssl::sha::sha256(data))
}

/// A writer that hashes and counts what passes through.
pub struct HashWriter<W: Write> {
    inner: W,
    hasher: openssl::sha::Sha256,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    pub fn new(inner: W) -> HashWriter<W> {
        HashWriter {
            inner,
            hasher: openssl::sha::Sha256::new(),
            count: 0,
        }
    }
    /// (inner writer, bytes, hex sha256)
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.count, hex(&self.hasher.finish()))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes through.
pub struct HashReader<R: Read> {
    inner: R,
    hasher: openssl::sha::Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> HashReader<R> {
        HashReader {
            inner,
            hasher: openssl::sha::Sha256::new(),
            count: 0,
        }
    }
    /// (bytes, hex sha256)
    pub fn finish(self) -> (u64, String) {
        (self.count, hex(&self.hasher.finish()))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Hash a file's bytes as stored.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let f = fsutil::open_nofollow(path)?;
    let mut r = HashReader::new(io::BufReader::with_capacity(1 << 20, f));
    io::copy(&mut r, &mut io::sink()).io_context(|| format!("reading {}", q(path)))?;
    Ok(r.finish())
}

/// Compress `data` with zstd into a temp file beside `near` (in the same
/// directory), hashing both sides, and fsync it. Finish with
/// [`fsutil::persist_new`] under a name that may include the hash.
pub fn compress_to_temp(data: &mut dyn Read, near: &Path, level: i32) -> Result<(tempfile::NamedTempFile, Stored)> {
    compress_to_temp_sealed(data, near, level, None)
}

/// [`compress_to_temp`], then encrypted with `seal` (an encrypted
/// repository, [`super::Repo::seal_for`]); the stored hash is of the
/// encrypted bytes.
pub fn compress_to_temp_sealed(
    data: &mut dyn Read,
    near: &Path,
    level: i32,
    seal: Seal<'_>,
) -> Result<(tempfile::NamedTempFile, Stored)> {
    let tmp = fsutil::temp_for(near, 0o640)?;
    let file = tmp
        .as_file()
        .try_clone()
        .io_context(|| format!("opening a temp file for {}", q(near)))?;
    let out = Sink::new(seal, HashWriter::new(io::BufWriter::with_capacity(1 << 20, file)))?;
    let mut enc = zstd::Encoder::new(out, level).io_context(|| "starting zstd".into())?;
    enc.include_checksum(true).io_context(|| "configuring zstd".into())?;
    let mut input = HashReader::new(data);
    io::copy(&mut input, &mut enc).io_context(|| format!("writing {}", q(near)))?;
    let out = enc.finish().io_context(|| format!("writing {}", q(near)))?;
    let (buf, size, sha256) = out.finish()?.finish();
    let file: File = buf
        .into_inner()
        .map_err(|e| Error::io(format!("writing {}", q(near))).with_source(e.into_error()))?;
    file.sync_all().io_context(|| format!("syncing {}", q(near)))?;
    let (raw_size, raw_sha256) = input.finish();
    Ok((
        tmp,
        Stored {
            size,
            raw_size,
            sha256,
            raw_sha256,
        },
    ))
}

/// Compress `data` with zstd in memory, as [`compress_to_temp`] does to a
/// file (same level and frame checksum, so the same bytes and hash): for
/// objects sent to Blob Storage in one request.
pub fn compress_to_vec(data: &[u8], level: i32) -> Result<(Vec<u8>, Stored)> {
    compress_plain(data, level)
}

/// [`compress_to_vec`], then encrypted with `seal`, deterministically
/// (salt and nonce from the compressed bytes' hash,
/// [`crate::crypt::Encryptor::for_content`]): a segment pushed twice seals
/// to the same bytes and so the same name.
pub fn compress_to_vec_sealed(data: &[u8], level: i32, seal: Seal<'_>) -> Result<(Vec<u8>, Stored)> {
    let (bytes, st) = compress_plain(data, level)?;
    if seal.is_none() {
        return Ok((bytes, st));
    }
    let (sealed, size, sha256) = seal_vec(bytes, seal)?;
    Ok((sealed, Stored { size, sha256, ..st }))
}

/// Seal already compressed bytes as [`compress_to_vec_sealed`] does
/// (deterministically): the stored bytes, their size and SHA-256. A WAL
/// object copied into another repository gets the name a push there
/// would have given it.
///
/// # Errors
/// 70 from the encryptor.
pub fn seal_vec(bytes: Vec<u8>, seal: Seal<'_>) -> Result<(Vec<u8>, u64, String)> {
    let Some((key, id)) = seal else {
        let (n, sha) = (bytes.len() as u64, sha256_hex(&bytes));
        return Ok((bytes, n, sha));
    };
    let zsha = openssl::sha::sha256(&bytes);
    let mut e =
        crate::crypt::Encryptor::for_content(key, &id, HashWriter::new(Vec::with_capacity(bytes.len() + 64)), &zsha)?;
    e.write_all(&bytes).map_err(error_from_io)?;
    Ok(e.finish()?.finish())
}

fn compress_plain(data: &[u8], level: i32) -> Result<(Vec<u8>, Stored)> {
    let out = HashWriter::new(Vec::with_capacity(data.len() / 4));
    let mut enc = zstd::Encoder::new(out, level).io_context(|| "starting zstd".into())?;
    enc.include_checksum(true).io_context(|| "configuring zstd".into())?;
    enc.write_all(data).io_context(|| "compressing".into())?;
    let (bytes, size, sha256) = enc.finish().io_context(|| "compressing".into())?.finish();
    let raw = Stored {
        size,
        raw_size: data.len() as u64,
        sha256,
        raw_sha256: sha256_hex(data),
    };
    Ok((bytes, raw))
}

/// Write stored bytes into an fsynced temp file beside `near`, to be put
/// in place with [`fsutil::persist_new`].
pub fn bytes_to_temp(bytes: &[u8], near: &Path) -> Result<tempfile::NamedTempFile> {
    let mut tmp = fsutil::temp_for(near, 0o640)?;
    tmp.as_file_mut()
        .write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .io_context(|| format!("writing {}", q(near)))?;
    Ok(tmp)
}

/// Why reading an object back failed.
#[derive(Debug)]
pub enum ReadFailure {
    /// The stored bytes do not hash to the expected value, or do not
    /// decompress: the object is corrupt.
    Corrupt(String),
    /// Reading or writing failed.
    Io(Error),
}

/// Decompress a stored object into `out`, checking the stored bytes hash
/// to `expect_sha256` (when given). Returns (raw bytes, raw sha256).
pub fn decompress_checked(
    path: &Path,
    expect_sha256: Option<&str>,
    out: &mut dyn Write,
) -> std::result::Result<(u64, String), ReadFailure> {
    let f = fsutil::open_nofollow(path).map_err(ReadFailure::Io)?;
    decompress_read(f, &q(path), expect_sha256, out)
}

/// [`decompress_checked`] for a stored WAL object of `area`, whichever
/// backend holds it.
pub fn decompress_object(
    area: &super::Area,
    o: &super::WalObject,
    out: &mut dyn Write,
) -> std::result::Result<(u64, String), ReadFailure> {
    let seal = area.repo.seal_for(&o.key).map_err(ReadFailure::Io)?;
    let r: Box<dyn Read + Send> = if area.repo.is_blob() {
        area.repo.reader(&o.key, o.size).map_err(ReadFailure::Io)?
    } else {
        Box::new(fsutil::open_nofollow(&o.path).map_err(ReadFailure::Io)?)
    };
    decompress_read_sealed(r, &o.key, Some(&o.sha256), seal, out)
}

/// [`decompress_checked`] from a reader; `what` names it in messages.
pub fn decompress_read(
    source: impl Read + Send,
    what: &str,
    expect_sha256: Option<&str>,
    out: &mut dyn Write,
) -> std::result::Result<(u64, String), ReadFailure> {
    decompress_read_sealed(source, what, expect_sha256, None, out)
}

/// [`decompress_read`] of an object sealed with `seal`: the hash is
/// checked on the stored bytes, every GCM tag on the way through; a
/// failed tag is [`ReadFailure::Corrupt`] naming the object and chunk.
pub fn decompress_read_sealed(
    source: impl Read + Send,
    what: &str,
    expect_sha256: Option<&str>,
    seal: Seal<'_>,
    out: &mut dyn Write,
) -> std::result::Result<(u64, String), ReadFailure> {
    let mut reader = HashReader::new(io::BufReader::with_capacity(1 << 20, source));
    let mut hout = HashWriter::new(out);
    {
        // A failed GCM tag arrives as our Error inside the io::Error.
        let corrupt = |e: io::Error| {
            if e.get_ref().is_some_and(|i| i.is::<Error>()) {
                ReadFailure::Corrupt(format!("{what}: {}", error_from_io(e)))
            } else {
                ReadFailure::Corrupt(format!("{what} does not decompress: {e}"))
            }
        };
        let plain = super::seal::unseal(seal, Box::new(&mut reader)).map_err(|e| {
            if e.exit() == crate::Exit::DataErr {
                ReadFailure::Corrupt(format!("{what}: {e}"))
            } else {
                ReadFailure::Io(e)
            }
        })?;
        let mut dec = zstd::Decoder::new(plain).map_err(corrupt)?;
        io::copy(&mut dec, &mut hout).map_err(corrupt)?;
    }
    // Drain anything after the frame so the hash covers the whole file.
    io::copy(&mut reader, &mut io::sink())
        .map_err(|e| ReadFailure::Io(Error::io(format!("reading {what}")).with_source(e)))?;
    let (_, stored_sha) = reader.finish();
    if let Some(want) = expect_sha256
        && want != stored_sha
    {
        return Err(ReadFailure::Corrupt(format!(
            "{what} has SHA-256 {stored_sha}, expected {want}"
        )));
    }
    let (_, n, raw_sha) = hout.finish();
    Ok((n, raw_sha))
}

/// Hash an object's bytes as stored, from a reader (`what` for messages).
pub fn hash_read(source: impl Read, what: &str) -> Result<(u64, String)> {
    let mut r = HashReader::new(io::BufReader::with_capacity(1 << 20, source));
    io::copy(&mut r, &mut io::sink()).io_context(|| format!("reading {what}"))?;
    Ok(r.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_read_back() {
        let d = tempfile::tempdir().unwrap();
        let data = b"hello wal ".repeat(1000);
        let p = d.path().join("obj.zst");
        let (tmp, st) = compress_to_temp(&mut &data[..], &p, 3).unwrap();
        fsutil::persist_new(tmp, &p).unwrap();
        assert_eq!(st.raw_size, data.len() as u64);
        assert_eq!(hash_file(&p).unwrap(), (st.size, st.sha256.clone()));
        let mut out = Vec::new();
        let (n, raw) = decompress_checked(&p, Some(&st.sha256), &mut out).unwrap();
        assert_eq!((n, raw), (st.raw_size, st.raw_sha256.clone()));
        assert_eq!(out, data);
        assert!(matches!(
            decompress_checked(&p, Some("00"), &mut Vec::new()),
            Err(ReadFailure::Corrupt(_))
        ));
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        // In memory: the very same bytes, so the same name on either backend.
        let (bytes, st2) = compress_to_vec(&data, 3).unwrap();
        assert_eq!(st2, st);
        assert_eq!(bytes, std::fs::read(&p).unwrap());
    }
}
