//! Chunked AES-256-GCM: the object format, a streaming encrypting `Write`
//! and a decrypting `Read`.
//!
//! An object is a header, then chunks:
//!
//! ```text
//! header: "swcrypt" | version (1) | chunk size (u32 BE) | salt (32) | nonce prefix (8)
//! chunk:  ciphertext (chunk size bytes; the last one 0..=chunk size) | tag (16)
//! ```
//!
//! The object key is HKDF(data key, salt, object id); chunk `i` uses nonce
//! = prefix || i (u32 BE) and authenticates "sw-crypt chunk" | the header |
//! the object id | i (u64 BE) | last flag. Every chunk but the last is
//! full, and the last one is flagged, so cutting an object at a chunk
//! boundary fails as surely as flipping a byte; the index stops reordering
//! and the object id stops swapping two objects. Memory: one chunk each
//! way.

use std::io::{self, Read, Write};

use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

use super::{DataKey, FORMAT_VERSION, KEY_LEN, random};
use crate::error::{Error, Result};
use crate::exit::Exit;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 1 << 20;
const MAGIC: &[u8; 7] = b"swcrypt";
const SALT_LEN: usize = 32;
const PREFIX_LEN: usize = 8;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + SALT_LEN + PREFIX_LEN;
/// Chunk sizes a header may declare (guards allocations on a bad header).
const CHUNK_RANGE: std::ops::RangeInclusive<usize> = 16..=(64 << 20);

/// Key, nonce prefix and authenticated prefix of one object.
struct Sealer {
    key: [u8; KEY_LEN],
    prefix: [u8; PREFIX_LEN],
    header: [u8; HEADER_LEN],
    object_id: String,
}

impl Drop for Sealer {
    fn drop(&mut self) {
        self.key.fill(0);
        std::hint::black_box(&self.key);
    }
}

impl Sealer {
    fn nonce(&self, index: u64) -> Result<[u8; 12]> {
        let counter = u32::try_from(index)
            .map_err(|_| Error::data(format!("object {}: more than 2^32 chunks", self.object_id)))?;
        let mut n = [0u8; 12];
        n[..PREFIX_LEN].copy_from_slice(&self.prefix);
        n[PREFIX_LEN..].copy_from_slice(&counter.to_be_bytes());
        Ok(n)
    }

    fn aad(&self, index: u64, last: bool) -> Vec<u8> {
        let id = self.object_id.as_bytes();
        let mut a = Vec::with_capacity(14 + HEADER_LEN + 8 + id.len() + 9);
        a.extend_from_slice(b"sw-crypt chunk");
        a.extend_from_slice(&self.header);
        a.extend_from_slice(&(id.len() as u64).to_be_bytes());
        a.extend_from_slice(id);
        a.extend_from_slice(&index.to_be_bytes());
        a.push(u8::from(last));
        a
    }

    fn seal(&self, index: u64, last: bool, plain: &[u8]) -> Result<Vec<u8>> {
        let mut tag = [0u8; TAG_LEN];
        let nonce = self.nonce(index)?;
        let mut out = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            &self.aad(index, last),
            plain,
            &mut tag,
        )
        .map_err(|e| Error::software("AES-256-GCM encryption").with_source(e))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn open(&self, index: u64, last: bool, sealed: &[u8]) -> Option<Vec<u8>> {
        let (ct, tag) = sealed.split_at(sealed.len().checked_sub(TAG_LEN)?);
        let nonce = self.nonce(index).ok()?;
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            &self.aad(index, last),
            ct,
            tag,
        )
        .ok()
    }
}

/// Encrypts everything written to it into `inner`. Call
/// [`Encryptor::finish`]: an object dropped unfinished lacks its last
/// chunk and never decrypts.
pub struct Encryptor<W: Write> {
    inner: W,
    sealer: Sealer,
    chunk: usize,
    buf: Vec<u8>,
    index: u64,
}

impl<W: Write> Encryptor<W> {
    /// Start an object with [`CHUNK_SIZE`] chunks; writes the header.
    ///
    /// # Errors
    /// 74 when `inner` fails, 70 when openssl or the random source fails.
    pub fn new(key: &DataKey, object_id: &str, inner: W) -> Result<Encryptor<W>> {
        Encryptor::with_chunk_size(key, object_id, inner, CHUNK_SIZE)
    }

    /// As [`Encryptor::new`] with another chunk size (16 B to 64 MiB).
    ///
    /// # Errors
    /// As [`Encryptor::new`]; 64 for a chunk size out of range.
    pub fn with_chunk_size(key: &DataKey, object_id: &str, inner: W, chunk: usize) -> Result<Encryptor<W>> {
        if !CHUNK_RANGE.contains(&chunk) {
            return Err(Error::usage(format!("chunk size {chunk} is outside 16 B..64 MiB")));
        }
        let mut salt = [0u8; SALT_LEN];
        let mut prefix = [0u8; PREFIX_LEN];
        random(&mut salt)?;
        random(&mut prefix)?;
        Encryptor::start(key, object_id, inner, chunk, salt, prefix)
    }

    /// An object whose whole content hashes to `content_sha256`, with the
    /// salt and nonce prefix derived from the data key, the object id and
    /// that hash instead of drawn at random: the same content under the
    /// same id always seals to the same bytes (a retried or racing WAL
    /// push lands on the same name), while a key and nonce are never
    /// reused for different plaintext.
    ///
    /// # Errors
    /// As [`Encryptor::new`].
    pub fn for_content(key: &DataKey, object_id: &str, inner: W, content_sha256: &[u8]) -> Result<Encryptor<W>> {
        let id = object_id.as_bytes();
        let len = (id.len() as u64).to_be_bytes();
        let salt = super::hmac(key.bytes(), &[b"sw-crypt synthetic salt\0", &len, id, content_sha256])?;
        let p = super::hmac(key.bytes(), &[b"sw-crypt synthetic prefix\0", &len, id, content_sha256])?;
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&p[..PREFIX_LEN]);
        Encryptor::start(key, object_id, inner, CHUNK_SIZE, salt, prefix)
    }

    fn start(
        key: &DataKey,
        object_id: &str,
        mut inner: W,
        chunk: usize,
        salt: [u8; SALT_LEN],
        prefix: [u8; PREFIX_LEN],
    ) -> Result<Encryptor<W>> {
        let mut header = [0u8; HEADER_LEN];
        let chunk32 = u32::try_from(chunk).map_err(|_| Error::usage("chunk size too large"))?;
        let mut at = 0;
        for part in [&MAGIC[..], &[FORMAT_VERSION], &chunk32.to_be_bytes(), &salt, &prefix] {
            header[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        inner
            .write_all(&header)
            .map_err(|e| Error::io(format!("writing encrypted object {object_id}")).with_source(e))?;
        Ok(Encryptor {
            inner,
            sealer: Sealer {
                key: key.object_key(&salt, object_id)?,
                prefix,
                header,
                object_id: object_id.to_owned(),
            },
            chunk,
            buf: Vec::with_capacity(chunk),
            index: 0,
        })
    }

    fn emit(&mut self, last: bool) -> io::Result<()> {
        let sealed = self
            .sealer
            .seal(self.index, last, &self.buf)
            .map_err(io::Error::other)?;
        self.inner.write_all(&sealed)?;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    /// Seal the last chunk and flush; returns the inner writer.
    ///
    /// # Errors
    /// 74 when `inner` fails.
    pub fn finish(mut self) -> Result<W> {
        let id = self.sealer.object_id.clone();
        self.emit(true)
            .and_then(|()| self.inner.flush())
            .map_err(|e| error_from_io(e).context(format!("finishing encrypted object {id}")))?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            // A full chunk is sealed only once more data shows it is not the last.
            if self.buf.len() == self.chunk {
                self.emit(false)?;
            }
            let take = (self.chunk - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts an object read from `inner`, checking every chunk; a failure
/// is an `io::Error` carrying an [`Error`] (exit 65) that names the
/// object and chunk (see [`error_from_io`]).
pub struct Decryptor<R: Read> {
    inner: R,
    sealer: Sealer,
    chunk: usize,
    plain: Vec<u8>,
    pos: usize,
    index: u64,
    ahead: Option<u8>,
    done: bool,
}

fn damaged(object_id: &str, what: &str) -> Error {
    Error::data(format!("encrypted object {object_id}: {what}"))
}

/// Read until `buf` is full or the reader ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Decryptor<R> {
    /// Read and check the header of object `object_id`.
    ///
    /// # Errors
    /// 65 for a header that is not ours or of another version, 74 when
    /// `inner` fails.
    pub fn new(key: &DataKey, object_id: &str, mut inner: R) -> Result<Decryptor<R>> {
        let mut header = [0u8; HEADER_LEN];
        let n = read_full(&mut inner, &mut header)
            .map_err(|e| Error::io(format!("reading encrypted object {object_id}")).with_source(e))?;
        if n < HEADER_LEN || &header[..MAGIC.len()] != MAGIC {
            return Err(damaged(object_id, "not an sw encrypted object (bad or short header)"));
        }
        if header[MAGIC.len()] != FORMAT_VERSION {
            return Err(damaged(
                object_id,
                &format!(
                    "format version {} (this sw reads {FORMAT_VERSION})",
                    header[MAGIC.len()]
                ),
            ));
        }
        let at = MAGIC.len() + 1;
        let size = u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
        let chunk = usize::try_from(size).unwrap_or(usize::MAX);
        if !CHUNK_RANGE.contains(&chunk) {
            return Err(damaged(object_id, &format!("implausible chunk size {size}")));
        }
        let salt = &header[at + 4..at + 4 + SALT_LEN];
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&header[HEADER_LEN - PREFIX_LEN..]);
        Ok(Decryptor {
            sealer: Sealer {
                key: key.object_key(salt, object_id)?,
                prefix,
                header,
                object_id: object_id.to_owned(),
            },
            inner,
            chunk,
            plain: Vec::new(),
            pos: 0,
            index: 0,
            ahead: None,
            done: false,
        })
    }

    /// Read, authenticate and decrypt the next chunk into `plain`.
    fn next_chunk(&mut self) -> Result<()> {
        let id = self.sealer.object_id.clone();
        let want = self.chunk + TAG_LEN;
        let mut sealed = vec![0u8; want];
        let mut n = 0;
        if let Some(b) = self.ahead.take() {
            sealed[0] = b;
            n = 1;
        }
        n += read_full(&mut self.inner, &mut sealed[n..])
            .map_err(|e| Error::io(format!("reading encrypted object {id}")).with_source(e))?;
        sealed.truncate(n);
        let mut last = n < want;
        if !last {
            let mut one = [0u8; 1];
            match read_full(&mut self.inner, &mut one) {
                Ok(0) => last = true,
                Ok(_) => self.ahead = Some(one[0]),
                Err(e) => return Err(Error::io(format!("reading encrypted object {id}")).with_source(e)),
            }
        }
        let i = self.index;
        if n < TAG_LEN {
            return Err(damaged(&id, &format!("truncated: chunk {i} is shorter than its tag")));
        }
        match self.sealer.open(i, last, &sealed) {
            Some(p) => self.plain = p,
            None if last && self.sealer.open(i, false, &sealed).is_some() => {
                return Err(damaged(
                    &id,
                    &format!("truncated after chunk {i} (its last chunk is missing)"),
                ));
            }
            None => {
                return Err(damaged(
                    &id,
                    &format!("chunk {i} failed authentication (altered, reordered, or from another object)"),
                ));
            }
        }
        self.pos = 0;
        self.index += 1;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            self.next_chunk()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        let n = (self.plain.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The [`Error`] inside an `io::Error` from [`Encryptor`]/[`Decryptor`]
/// (65 for damage, 74 for I/O), or the I/O error as 74.
pub fn error_from_io(e: io::Error) -> Error {
    let kind = e.kind();
    match e.into_inner() {
        Some(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::new(Exit::IoErr, "I/O error").with_source(other),
        },
        None => Error::new(Exit::IoErr, format!("I/O error: {kind}")),
    }
}

/// Encrypt `plain` as object `object_id` in one go.
///
/// # Errors
/// As [`Encryptor::new`].
pub fn encrypt(key: &DataKey, object_id: &str, plain: &[u8]) -> Result<Vec<u8>> {
    let mut e = Encryptor::new(key, object_id, Vec::new())?;
    e.write_all(plain).map_err(error_from_io)?;
    e.finish()
}

/// Decrypt a whole object.
///
/// # Errors
/// 65 when it was altered, truncated, reordered or is another object.
pub fn decrypt(key: &DataKey, object_id: &str, sealed: &[u8]) -> Result<Vec<u8>> {
    let mut d = Decryptor::new(key, object_id, sealed)?;
    let mut out = Vec::new();
    d.read_to_end(&mut out).map_err(error_from_io)?;
    Ok(out)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
