//! The keyring: a repository's data key, wrapped once per way to unlock it.
//!
//! Each [`Wrapping`] is the data key sealed with AES-256-GCM under a
//! key-encryption key: from a 32-byte [`KeyFile`] (through HKDF) or from
//! a passphrase through scrypt (N = 2^15, r = 8, p = 1 by default:
//! 32 MiB, a fraction of a second). Several wrappings may exist (a
//! recovery key beside the daily one); [`Keyring::add`] and
//! [`Keyring::remove`] rewrap without touching any object, which is all
//! key rotation needs since the data key never leaves the keyring in the
//! clear. The keyring serialises to JSON and holds nothing secret.

use std::path::Path;

use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use serde::{Deserialize, Serialize};

use super::{DataKey, KEY_LEN, hex, hkdf, hmac, random};
use crate::error::{Error, IoContext as _, Result};

const KEYRING_FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// scrypt cost: 2^15 x 8 x 128 B = 32 MiB.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

/// A 32-byte key kept in a file (64 hex digits and a newline, or the raw
/// 32 bytes). `Debug` shows only its fingerprint.
#[derive(Clone)]
pub struct KeyFile([u8; KEY_LEN]);

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyFile({})", self.fingerprint().unwrap_or_default())
    }
}

impl KeyFile {
    /// A new random key.
    ///
    /// # Errors
    /// 70 when the OS random source fails.
    pub fn generate() -> Result<KeyFile> {
        let mut k = [0u8; KEY_LEN];
        random(&mut k)?;
        Ok(KeyFile(k))
    }

    /// Read a key file.
    ///
    /// # Errors
    /// 66/77/74 when it cannot be read, 78 when it holds no 32-byte key.
    pub fn load(path: &Path) -> Result<KeyFile> {
        let raw = std::fs::read(path).io_context(|| format!("reading the key file \"{}\"", path.display()))?;
        let text = String::from_utf8_lossy(&raw);
        let text = text.trim();
        let bytes: Vec<u8> = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect()
        } else {
            raw
        };
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::config(format!(
                "the key file \"{}\" does not hold a 32-byte key (64 hex digits)",
                path.display()
            ))
        })?;
        Ok(KeyFile(key))
    }

    /// Write the key as 64 hex digits to a new file, mode 0600.
    ///
    /// # Errors
    /// 73 when the file exists or cannot be created.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_new(path, format!("{}\n", hex(&self.0)).as_bytes(), 0o600)
    }

    /// 16 hex digits that identify this key file in a keyring.
    ///
    /// # Errors
    /// 70 when openssl fails.
    pub fn fingerprint(&self) -> Result<String> {
        Ok(hex(&hmac(&self.0, &[b"sw-crypt key file fingerprint"])?[..8]))
    }
}

/// What unlocks a keyring.
#[derive(Debug, Clone)]
pub enum Unlock {
    KeyFile(KeyFile),
    /// Registered with [`crate::secret`] by [`Unlock::passphrase`].
    Passphrase(Passphrase),
}

/// A passphrase; `Debug` never shows it.
#[derive(Clone)]
pub struct Passphrase(String);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(redacted)")
    }
}

impl Unlock {
    /// A passphrase (registered for redaction).
    ///
    /// # Errors
    /// 78 for a passphrase under 8 characters.
    pub fn passphrase(p: &str) -> Result<Unlock> {
        if p.chars().count() < 8 {
            return Err(Error::config("the passphrase is shorter than 8 characters"));
        }
        crate::secret::register(p);
        Ok(Unlock::Passphrase(Passphrase(p.to_owned())))
    }
}

/// scrypt parameters and salt of a passphrase wrapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scrypt {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
    /// base64.
    pub salt: String,
}

/// One sealed copy of the data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wrapping {
    /// A name the operator chose ("daily", "recovery").
    pub label: String,
    /// `"key_file"` or `"passphrase"`.
    pub kind: String,
    /// The key file's fingerprint (key files only).
    pub fingerprint: Option<String>,
    /// scrypt parameters (passphrases only).
    pub scrypt: Option<Scrypt>,
    /// base64 nonce and base64 ciphertext || tag.
    pub nonce: String,
    pub sealed: String,
}

/// A repository's keyring (stored as JSON beside the data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyring {
    pub format: u8,
    /// [`DataKey::id`] of the key every wrapping seals.
    pub key_id: String,
    pub wrappings: Vec<Wrapping>,
}

fn b64(b: &[u8]) -> String {
    openssl::base64::encode_block(b)
}

fn unb64(s: &str) -> Result<Vec<u8>> {
    openssl::base64::decode_block(s).map_err(|_| Error::data("the keyring holds invalid base64"))
}

fn aad(key_id: &str, label: &str) -> Vec<u8> {
    [
        b"sw-crypt keyring v1\0".as_slice(),
        key_id.as_bytes(),
        b"\0",
        label.as_bytes(),
    ]
    .concat()
}

/// The key-encryption key for `unlock` (with this wrapping's scrypt
/// parameters, or fresh ones).
fn kek(unlock: &Unlock, scrypt: Option<&Scrypt>) -> Result<([u8; KEY_LEN], Option<Scrypt>)> {
    match unlock {
        Unlock::KeyFile(k) => Ok((hkdf(&k.0, b"", &[b"sw-crypt key file wrap v1"])?, None)),
        Unlock::Passphrase(p) => {
            let params = match scrypt {
                Some(s) => s.clone(),
                None => {
                    let mut salt = [0u8; 16];
                    random(&mut salt)?;
                    Scrypt {
                        log_n: SCRYPT_LOG_N,
                        r: SCRYPT_R,
                        p: SCRYPT_P,
                        salt: b64(&salt),
                    }
                }
            };
            // Bounds keep a doctored keyring from asking for gigabytes.
            if !(10..=20).contains(&params.log_n) || !(1..=32).contains(&params.r) || !(1..=16).contains(&params.p) {
                return Err(Error::data("the keyring's scrypt parameters are out of bounds"));
            }
            let mut out = [0u8; KEY_LEN];
            let n = 1u64 << params.log_n;
            let maxmem = 256 * u64::from(params.r) * (n + u64::from(params.p) + 2);
            openssl::pkcs5::scrypt(
                p.0.as_bytes(),
                &unb64(&params.salt)?,
                n,
                u64::from(params.r),
                u64::from(params.p),
                maxmem,
                &mut out,
            )
            .map_err(|e| Error::software("scrypt").with_source(e))?;
            Ok((out, Some(params)))
        }
    }
}

impl Keyring {
    /// A new repository key and a keyring holding one wrapping of it.
    ///
    /// # Errors
    /// 70 when openssl or the random source fails.
    pub fn create(unlock: &Unlock, label: &str) -> Result<(Keyring, DataKey)> {
        let key = DataKey::generate()?;
        let mut ring = Keyring {
            format: KEYRING_FORMAT,
            key_id: key.id()?,
            wrappings: Vec::new(),
        };
        ring.add(&key, unlock, label)?;
        Ok((ring, key))
    }

    /// Add a wrapping of `key` (which must be this keyring's) for `unlock`.
    ///
    /// # Errors
    /// 64 for a label already used, 65 for a key of another keyring.
    pub fn add(&mut self, key: &DataKey, unlock: &Unlock, label: &str) -> Result<()> {
        if self.wrappings.iter().any(|w| w.label == label) {
            return Err(Error::usage(format!(
                "the keyring already has a wrapping labelled \"{label}\""
            )));
        }
        if key.id()? != self.key_id {
            return Err(Error::data("that data key is not this keyring's"));
        }
        let (kek, scrypt) = kek(unlock, None)?;
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let mut tag = [0u8; TAG_LEN];
        let mut sealed = encrypt_aead(
            Cipher::aes_256_gcm(),
            &kek,
            Some(&nonce),
            &aad(&self.key_id, label),
            key.bytes(),
            &mut tag,
        )
        .map_err(|e| Error::software("AES-256-GCM").with_source(e))?;
        sealed.extend_from_slice(&tag);
        let (kind, fingerprint) = match unlock {
            Unlock::KeyFile(k) => ("key_file", Some(k.fingerprint()?)),
            Unlock::Passphrase(_) => ("passphrase", None),
        };
        self.wrappings.push(Wrapping {
            label: label.to_owned(),
            kind: kind.to_owned(),
            fingerprint,
            scrypt,
            nonce: b64(&nonce),
            sealed: b64(&sealed),
        });
        Ok(())
    }

    /// Remove the wrapping labelled `label`.
    ///
    /// # Errors
    /// 64 for an unknown label or the last wrapping (removing it would
    /// lose every backup).
    pub fn remove(&mut self, label: &str) -> Result<()> {
        let Some(i) = self.wrappings.iter().position(|w| w.label == label) else {
            return Err(Error::usage(format!(
                "the keyring has no wrapping labelled \"{label}\""
            )));
        };
        if self.wrappings.len() == 1 {
            return Err(Error::usage(format!(
                "\"{label}\" is the keyring's only wrapping; add another before removing it"
            )));
        }
        self.wrappings.remove(i);
        Ok(())
    }

    /// The data key, from the first wrapping `unlock` opens.
    ///
    /// # Errors
    /// 77 when no wrapping opens (wrong key file or passphrase), 65 for a
    /// damaged keyring.
    pub fn unlock(&self, unlock: &Unlock) -> Result<DataKey> {
        let (kind, fp) = match unlock {
            Unlock::KeyFile(k) => ("key_file", Some(k.fingerprint()?)),
            Unlock::Passphrase(_) => ("passphrase", None),
        };
        let candidates: Vec<&Wrapping> = self
            .wrappings
            .iter()
            .filter(|w| w.kind == kind && (fp.is_none() || w.fingerprint == fp))
            .collect();
        for w in &candidates {
            let (kek, _) = kek(unlock, w.scrypt.as_ref())?;
            let sealed = unb64(&w.sealed)?;
            let Some(split) = sealed.len().checked_sub(TAG_LEN) else {
                continue;
            };
            let (ct, tag) = sealed.split_at(split);
            let nonce = unb64(&w.nonce)?;
            let aad = aad(&self.key_id, &w.label);
            if let Ok(plain) = decrypt_aead(Cipher::aes_256_gcm(), &kek, Some(&nonce), &aad, ct, tag)
                && let Ok(bytes) = <[u8; KEY_LEN]>::try_from(plain.as_slice())
            {
                let key = DataKey::from_bytes(bytes);
                if key.id()? == self.key_id {
                    return Ok(key);
                }
            }
        }
        Err(match (unlock, fp) {
            (Unlock::KeyFile(_), Some(fp)) => {
                let known: Vec<&str> = self.wrappings.iter().filter_map(|w| w.fingerprint.as_deref()).collect();
                Error::no_perm(format!(
                    "the key file (fingerprint {fp}) does not unlock this repository (its key files: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ))
            }
            _ => Error::no_perm("the passphrase does not unlock this repository"),
        })
    }

    /// The error for an encrypted repository opened without any key.
    pub fn no_key(repo: &str) -> Error {
        Error::no_perm(format!(
            "the repository {repo} is encrypted: give its key file or passphrase"
        ))
    }

    /// JSON text.
    ///
    /// # Errors
    /// 70 when serialisation fails.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::software("encoding the keyring").with_source(e))
    }

    /// Parse a keyring.
    ///
    /// # Errors
    /// 65 for JSON that is not a keyring of a known format.
    pub fn from_json(text: &str) -> Result<Keyring> {
        let ring: Keyring =
            serde_json::from_str(text).map_err(|e| Error::data("the keyring is not valid").with_source(e))?;
        if ring.format != KEYRING_FORMAT {
            return Err(Error::data(format!(
                "keyring format {} (this sw reads {KEYRING_FORMAT})",
                ring.format
            )));
        }
        Ok(ring)
    }
}

#[cfg(test)]
#[path = "keyring_tests.rs"]
mod tests;
