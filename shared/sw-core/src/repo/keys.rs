//! An encrypted repository's keyring and the key every object read or
//! write goes through (issue #16).
//!
//! The keyring is stored as `keyring/<NNNNNN>.json` objects, write-once
//! like everything else: `setup --encrypt` writes `000001` before the
//! repository marker (so no plain object can ever be written into a
//! repository meant to be encrypted), and `rekey` writes the next number,
//! then deletes the older ones (so a removed key no longer opens the
//! keyring stored here). The newest one counts.

use std::path::Path;
use std::sync::Arc;

use super::store::{DirStore, Put, Store};
use super::{Backend, Repo};
use crate::cli::{KeyChoice, KeyOpts, KeySource};
use crate::config::Env;
use crate::crypt::{DataKey, KeyFile, Keyring, Unlock};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::q;

/// Where keyring objects live.
pub const KEYRING_PREFIX: &str = "keyring/";

/// An encrypted repository's keyring, and its data key once unlocked.
#[derive(Debug)]
pub struct Crypt {
    /// The newest keyring and its sequence number.
    pub ring: Keyring,
    pub seq: u32,
    /// `None` when opened without a key (list, check, prune, keyless
    /// verify): anything that reads or writes contents fails with 77.
    key: Option<DataKey>,
}

impl Crypt {
    /// The data key, or 77 naming the repository.
    ///
    /// # Errors
    /// 77 when the repository was opened without a key.
    pub fn key(&self, repo: &Repo) -> Result<&DataKey> {
        self.key.as_ref().ok_or_else(|| Keyring::no_key(&q(&repo.root)))
    }
}

/// The unlock that `opts` names (or the environment, see
/// [`KeyOpts::choice`]), or `None` without either. Reading a missing or
/// unreadable file is 66/77; contents are never shown.
///
/// # Errors
/// 66/77/74 reading the file, 78 for a malformed key or a short passphrase.
pub fn unlock_from(opts: &KeyOpts) -> Result<Option<Unlock>> {
    unlock_in(opts, &Env::process()).map(|u| u.map(|(u, _)| u))
}

/// As [`unlock_from`] in `env`, with where the choice came from.
///
/// # Errors
/// As [`unlock_from`]; 64 for both variables set.
pub fn unlock_in(opts: &KeyOpts, env: &Env) -> Result<Option<(Unlock, KeySource)>> {
    let Some((choice, source)) = opts.choice(env)? else {
        return Ok(None);
    };
    let u = match &choice {
        KeyChoice::KeyFile(p) => Unlock::KeyFile(KeyFile::load(p)?),
        KeyChoice::PassphraseFile(p) => passphrase_file(p)?,
    };
    Ok(Some((u, source)))
}

/// The first line of a passphrase file.
///
/// # Errors
/// As [`unlock_from`].
pub fn passphrase_file(p: &Path) -> Result<Unlock> {
    let text = std::fs::read_to_string(p).io_context(|| format!("reading the passphrase file {}", q(p)))?;
    let line = text.lines().next().unwrap_or_default();
    Unlock::passphrase(line).map_err(|e| e.context(format!("the passphrase file {}", q(p))))
}

/// The store holding the repository's objects.
pub(super) fn store_of(repo: &Repo) -> Box<dyn Store + '_> {
    match &repo.backend {
        Backend::Dir => Box::new(DirStore::new(&repo.root)),
        #[cfg(feature = "blob")]
        Backend::Blob(b) => Box::new(BlobRef(b)),
    }
}

#[cfg(feature = "blob")]
struct BlobRef<'a>(&'a super::store::BlobStore);

#[cfg(feature = "blob")]
impl Store for BlobRef<'_> {
    fn put_once(&self, key: &str, data: &[u8]) -> Result<Put> {
        self.0.put_once(key, data)
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.0.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<bool> {
        self.0.delete(key)
    }
}

fn seq_of(key: &str) -> Option<u32> {
    let n = key.strip_prefix(KEYRING_PREFIX)?.strip_suffix(".json")?;
    (n.len() == 6).then(|| n.parse().ok()).flatten()
}

fn key_for(seq: u32) -> String {
    format!("{KEYRING_PREFIX}{seq:06}.json")
}

/// The newest keyring in `store`, with its number and every older number.
///
/// # Errors
/// 65 for a damaged keyring; I/O or service errors.
pub(super) fn newest(store: &dyn Store) -> Result<Option<(Keyring, u32, Vec<u32>)>> {
    let mut seqs: Vec<u32> = store.list(KEYRING_PREFIX)?.iter().filter_map(|k| seq_of(k)).collect();
    seqs.sort_unstable();
    let Some(last) = seqs.pop() else {
        return Ok(None);
    };
    let body = store
        .get(&key_for(last))?
        .ok_or_else(|| Error::data(format!("{} vanished while reading it", key_for(last))))?;
    let text = String::from_utf8(body).map_err(|_| Error::data(format!("{} is not UTF-8", key_for(last))))?;
    let ring = Keyring::from_json(&text).map_err(|e| e.context(key_for(last)))?;
    Ok(Some((ring, last, seqs)))
}

/// Write keyring number `seq` (write-once: a concurrent rekey that took
/// the same number loses with 65).
///
/// # Errors
/// 65 when that number exists with other contents; I/O or service errors.
pub(super) fn put(store: &dyn Store, ring: &Keyring, seq: u32) -> Result<()> {
    match store.put_once(&key_for(seq), ring.to_json()?.as_bytes())? {
        Put::Created | Put::Same => Ok(()),
    }
}

/// A label for a wrapping by `unlock` that `ring` does not use yet:
/// `key-<fingerprint>` for a key file, `passphrase`, `passphrase-2`, ...
///
/// # Errors
/// 70 when openssl fails.
pub fn default_label(ring: Option<&Keyring>, unlock: &Unlock) -> Result<String> {
    let used = |l: &str| ring.is_some_and(|r| r.wrappings.iter().any(|w| w.label == l));
    if let Unlock::KeyFile(k) = unlock {
        return Ok(format!("key-{}", k.fingerprint()?));
    }
    let mut n = 1;
    loop {
        let l = if n == 1 {
            "passphrase".to_owned()
        } else {
            format!("passphrase-{n}")
        };
        if !used(&l) {
            return Ok(l);
        }
        n += 1;
    }
}

impl Repo {
    /// Open or create the encrypted repository `opts` names: a new one
    /// gets its keyring (one wrapping by `unlock`, labelled `label`)
    /// before its marker, so it is encrypted from its first object; an
    /// existing one must already be encrypted and open with `unlock`.
    ///
    /// # Errors
    /// 78 for an existing plain repository (encryption is chosen when a
    /// repository is created); 77 for a key that does not open it.
    pub fn init_encrypted(opts: &crate::cli::RepoOpts, unlock: &Unlock, label: &str) -> Result<Repo> {
        let write_ring = |store: &dyn Store| -> Result<()> {
            if newest(store)?.is_none() {
                let (ring, _) = Keyring::create(unlock, label)?;
                put(store, &ring, 1)?;
            }
            Ok(())
        };
        let repo = match () {
            #[cfg(feature = "blob")]
            () if opts.is_blob() => super::remote::open(opts, true, Some(&write_ring))?,
            () => {
                if !opts.repo.join(super::MARKER).exists() {
                    std::fs::create_dir_all(&opts.repo).io_context(|| format!("creating {}", q(&opts.repo)))?;
                    write_ring(&DirStore::new(&opts.repo))?;
                }
                Repo::init(&opts.repo)?
            }
        };
        let Some((ring, seq, _)) = newest(store_of(&repo).as_ref())? else {
            return Err(Error::config(format!(
                "{} is a plain (unencrypted) repository; encryption is chosen when a repository is created: set up a new one with --encrypt",
                q(&repo.root)
            )));
        };
        let key = ring.unlock(unlock).map_err(|e| e.context(q(&repo.root)))?;
        Ok(Repo {
            crypt: Some(Arc::new(Crypt {
                ring,
                seq,
                key: Some(key),
            })),
            ..repo
        })
    }

    /// Read the keyring (if any) and unlock it with `opts`. Without a
    /// keyring, key flags are refused (64: a plain repository, the key
    /// would protect nothing), while the environment's key variables are
    /// ignored (set for every command, they must not break a plain
    /// repository). With one and no key, `keyless` decides: commands that
    /// only read metadata go on, the others stop with 77 before touching
    /// anything.
    ///
    /// # Errors
    /// 77 for a wrong key, or no key when not `keyless`; 64 for key flags
    /// on a plain repository; 65 for a damaged keyring.
    pub fn unlock(self, opts: &KeyOpts, keyless: bool) -> Result<Repo> {
        self.unlock_env(opts, keyless, &Env::process())
    }

    /// As [`Repo::unlock`] in `env`.
    ///
    /// # Errors
    /// As [`Repo::unlock`].
    pub fn unlock_env(mut self, opts: &KeyOpts, keyless: bool, env: &Env) -> Result<Repo> {
        let Some((ring, seq, _)) = newest(store_of(&self).as_ref())? else {
            match opts.choice(env)? {
                Some((_, KeySource::Flag)) => {
                    return Err(Error::usage(format!(
                        "the repository {} is not encrypted; drop --key-file/--passphrase-file",
                        q(&self.root)
                    )));
                }
                Some((c, KeySource::Env)) => log::debug!(
                    "the repository {} is not encrypted: ignoring the key file {} from the environment",
                    q(&self.root),
                    q(c.path())
                ),
                None => {}
            }
            return Ok(self);
        };
        let key = match unlock_in(opts, env)? {
            Some((u, _)) => Some(ring.unlock(&u).map_err(|e| e.context(q(&self.root)))?),
            None if keyless => None,
            None => return Err(Keyring::no_key(&q(&self.root))),
        };
        self.crypt = Some(Arc::new(Crypt { ring, seq, key }));
        Ok(self)
    }

    /// The keyring state of an encrypted repository, `None` for a plain one.
    pub fn crypt(&self) -> Option<&Crypt> {
        self.crypt.as_deref()
    }

    /// The data key of an encrypted repository (77 when opened without
    /// it), `None` for a plain one.
    ///
    /// # Errors
    /// 77 when the repository is encrypted and was opened without a key.
    pub fn data_key(&self) -> Result<Option<&DataKey>> {
        self.crypt.as_deref().map(|c| c.key(self)).transpose()
    }

    /// THE name for content-addressed objects (for chunk stores and
    /// deduplication): the plain SHA-256 (hex) of the content in a plain
    /// repository; in an encrypted one, an HMAC of it under a key derived
    /// from the data key, so a name never lets anyone confirm a guess
    /// of the content. Same content, same name, within one repository.
    ///
    /// # Errors
    /// 77 for an encrypted repository opened without its key.
    pub fn content_name(&self, plain_sha256_hex: &str) -> Result<String> {
        match self.data_key()? {
            Some(k) => k.object_name(plain_sha256_hex.as_bytes()),
            None => Ok(plain_sha256_hex.to_owned()),
        }
    }

    /// Replace the keyring with `ring` (same data key, other wrappings):
    /// the next number is written, then the older ones are deleted, so a
    /// removed wrapping opens nothing stored here any more.
    ///
    /// # Errors
    /// 64 on a plain repository; 65 when another rekey won the race.
    pub fn replace_keyring(&self, ring: &Keyring) -> Result<u32> {
        let store = store_of(self);
        let (_, last, older) = newest(store.as_ref())?
            .ok_or_else(|| Error::usage(format!("the repository {} is not encrypted", q(&self.root))))?;
        put(store.as_ref(), ring, last + 1)?;
        // Run as root, the new keyring must stay readable by the archiver.
        self.adopt(&self.root.join(KEYRING_PREFIX))?;
        for s in older.into_iter().chain([last]) {
            store.delete(&key_for(s))?;
        }
        Ok(last + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::KeyOpts;

    #[test]
    fn keyring_objects_unlock_rekey_and_name_content() {
        let d = tempfile::tempdir().unwrap();
        let kf = d.path().join("k1");
        let k2 = d.path().join("k2");
        KeyFile::generate().unwrap().save(&kf).unwrap();
        KeyFile::generate().unwrap().save(&k2).unwrap();
        let root = d.path().join("repo");
        let u1 = unlock_from(&KeyOpts {
            key_file: Some(kf.clone()),
            passphrase_file: None,
        })
        .unwrap()
        .unwrap();
        let (ring, key) = Keyring::create(&u1, "first").unwrap();
        put(&DirStore::new(&root), &ring, 1).unwrap();
        let plain = Repo::init(&root).unwrap();
        let by = |p: &Path| KeyOpts {
            key_file: Some(p.to_owned()),
            passphrase_file: None,
        };
        let r = plain.clone().unlock(&by(&kf), false).unwrap();
        assert_eq!(r.data_key().unwrap(), Some(&key));
        let sha = "ab".repeat(32);
        let name = r.content_name(&sha).unwrap();
        assert_eq!(name, key.object_name(sha.as_bytes()).unwrap());
        assert_ne!(name, sha);
        // No key: 77 unless keyless, and then content needs the key.
        assert_eq!(
            plain.clone().unlock(&KeyOpts::default(), false).unwrap_err().exit(),
            crate::Exit::NoPerm
        );
        let keyless = plain.clone().unlock(&KeyOpts::default(), true).unwrap();
        assert_eq!(keyless.content_name(&sha).unwrap_err().exit(), crate::Exit::NoPerm);
        assert_eq!(
            plain.clone().unlock(&by(&k2), false).unwrap_err().exit(),
            crate::Exit::NoPerm
        );
        // Rekey: add k2, remove k1; only k2 opens, one keyring object left.
        let mut ring2 = ring.clone();
        let u2 = unlock_from(&by(&k2)).unwrap().unwrap();
        ring2.add(&key, &u2, "second").unwrap();
        ring2.remove("first").unwrap();
        assert_eq!(r.replace_keyring(&ring2).unwrap(), 2);
        assert_eq!(
            plain.clone().unlock(&by(&kf), false).unwrap_err().exit(),
            crate::Exit::NoPerm
        );
        let again = plain.clone().unlock(&by(&k2), false).unwrap();
        assert_eq!(again.data_key().unwrap(), Some(&key));
        assert_eq!(
            DirStore::new(&root).list(KEYRING_PREFIX).unwrap(),
            vec!["keyring/000002.json"]
        );
        // A plain repository refuses key flags, and names by plain hash.
        let other = Repo::init(&d.path().join("plain")).unwrap();
        assert_eq!(
            other.clone().unlock(&by(&kf), false).unwrap_err().exit(),
            crate::Exit::Usage
        );
        assert_eq!(other.content_name(&sha).unwrap(), sha);
    }
}
