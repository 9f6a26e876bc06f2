//! Repository encryption (feature `crypt`, issue #16), on the openssl
//! crate already linked; no new dependency.
//!
//! The scheme (`../shared/notes/backup-offsite.md` §3):
//!
//! - one random 32-byte [`DataKey`] per repository, stored only wrapped in
//!   a [`Keyring`]: by a 32-byte key file or by a passphrase through
//!   scrypt, as many wrappings as wanted (a recovery key); rewrapping adds
//!   or removes a wrapping and never touches the data;
//! - per object, a key from HKDF-SHA256(data key, a random salt, info =
//!   the object id), so no two objects share a key;
//! - AES-256-GCM in chunks ([`stream`]: an [`Encryptor`] `Write` and a
//!   [`Decryptor`] `Read`), nonce = a random prefix + the chunk counter,
//!   the authenticated data binding the format version, the header, the
//!   object id, the chunk index and a last-chunk flag, so a flipped byte,
//!   a truncation, reordered chunks or two swapped objects all fail
//!   authentication, naming the chunk;
//! - object names by HMAC ([`DataKey::object_name`]): a plain content hash
//!   would let anyone holding a candidate file confirm it is stored.
//!
//! Compress first, then encrypt. A wrong or missing key is exit 77; a
//! damaged object is exit 65.

mod keyring;
mod stream;

use std::fmt;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

pub use keyring::{KeyFile, Keyring, Passphrase, Scrypt, Unlock, Wrapping};
pub use stream::{CHUNK_SIZE, Decryptor, Encryptor, decrypt, encrypt, error_from_io};

use crate::error::{Error, Result};

/// The format version, in every object header and authenticated with
/// every chunk.
pub const FORMAT_VERSION: u8 = 1;

/// Key length (AES-256, HMAC-SHA256, HKDF output).
pub const KEY_LEN: usize = 32;

/// Fill `buf` from the OS CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::software(format!("reading the OS random source: {e}")))
}

/// HMAC-SHA256.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    let pkey = PKey::hmac(key).map_err(|e| Error::software("HMAC key").with_source(e))?;
    let mut s = Signer::new(MessageDigest::sha256(), &pkey).map_err(|e| Error::software("HMAC").with_source(e))?;
    for p in parts {
        s.update(p).map_err(|e| Error::software("HMAC").with_source(e))?;
    }
    let mut out = [0u8; 32];
    s.sign(&mut out).map_err(|e| Error::software("HMAC").with_source(e))?;
    Ok(out)
}

/// HKDF-SHA256 (RFC 5869) for one 32-byte output block:
/// PRK = HMAC(salt, ikm); OKM = HMAC(PRK, info || 0x01).
/// An empty salt is HashLen zeros (RFC 5869 §2.2; OpenSSL refuses an
/// empty HMAC key).
pub(crate) fn hkdf(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Result<[u8; 32]> {
    let prk = hmac(if salt.is_empty() { &[0u8; 32] } else { salt }, &[ikm])?;
    let mut parts: Vec<&[u8]> = info.to_vec();
    parts.push(&[1u8]);
    hmac(&prk, &parts)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A repository's data key. `Debug` never shows it; it is overwritten
/// with zeros when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; KEY_LEN]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(id {})", self.id().unwrap_or_default())
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

impl DataKey {
    /// A new random key.
    ///
    /// # Errors
    /// 70 when the OS random source fails.
    pub fn generate() -> Result<DataKey> {
        let mut k = [0u8; KEY_LEN];
        random(&mut k)?;
        Ok(DataKey(k))
    }

    pub(crate) fn from_bytes(b: [u8; KEY_LEN]) -> DataKey {
        DataKey(b)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A short public identifier of this key (16 hex digits of an HMAC,
    /// not reversible): tells which key a repository was written with.
    ///
    /// # Errors
    /// 70 when openssl fails.
    pub fn id(&self) -> Result<String> {
        Ok(hex(&hmac(&self.0, &[b"sw-crypt key id"])?[..8]))
    }

    /// The key for one object: HKDF(data key, salt, "sw-crypt object v1" ||
    /// object id).
    pub(crate) fn object_key(&self, salt: &[u8], object_id: &str) -> Result<[u8; KEY_LEN]> {
        hkdf(&self.0, salt, &[b"sw-crypt object v1\0", object_id.as_bytes()])
    }

    /// The stored name for an object of an encrypted repository: 64 hex
    /// digits of HMAC-SHA256 under a name key derived from the data key,
    /// over what a plain repository would use as the name (a content hash,
    /// a WAL file name). Same input, same name; without the key a name
    /// says nothing about the content.
    ///
    /// # Errors
    /// 70 when openssl fails.
    pub fn object_name(&self, plain: &[u8]) -> Result<String> {
        let name_key = hkdf(&self.0, b"", &[b"sw-crypt names v1"])?;
        Ok(hex(&hmac(&name_key, &[plain])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_rfc5869_test_case_1() {
        // RFC 5869 A.1, first 32 bytes of OKM.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf(&ikm, &salt, &[&info]).unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn names_are_keyed_and_stable() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        let n = a.object_name(b"000000010000000000000001").unwrap();
        assert_eq!(n.len(), 64);
        assert_eq!(n, a.object_name(b"000000010000000000000001").unwrap());
        assert_ne!(n, b.object_name(b"000000010000000000000001").unwrap());
        assert_ne!(n, a.object_name(b"000000010000000000000002").unwrap());
        assert!(!format!("{a:?}").contains(&hex(a.bytes())));
        assert_ne!(a.object_key(b"s", "x").unwrap(), a.object_key(b"s", "y").unwrap());
    }
}
