//! Wrapping, unwrapping and rewrapping the data key.

use super::*;
use crate::crypt::{decrypt, encrypt};
use crate::exit::Exit;

#[test]
fn a_key_file_unlocks_and_another_does_not() {
    let kf = KeyFile::generate().unwrap();
    let (ring, key) = Keyring::create(&Unlock::KeyFile(kf.clone()), "daily").unwrap();
    assert_eq!(ring.unlock(&Unlock::KeyFile(kf.clone())).unwrap(), key);
    let other = KeyFile::generate().unwrap();
    let e = ring.unlock(&Unlock::KeyFile(other.clone())).unwrap_err();
    assert_eq!(e.exit(), Exit::NoPerm);
    let fp = kf.fingerprint().unwrap();
    assert!(
        e.to_string().contains(&other.fingerprint().unwrap()) && e.to_string().contains(&fp),
        "{e}"
    );
    assert_eq!(Keyring::no_key("azure://a/b").exit(), Exit::NoPerm);
    // Nothing secret in the JSON, and it reads back the same.
    let json = ring.to_json().unwrap();
    assert!(!json.contains(&hex(key.bytes())) && !json.contains(&hex(&kf.0)));
    assert_eq!(Keyring::from_json(&json).unwrap(), ring);
    assert_eq!(Keyring::from_json("{}").unwrap_err().exit(), Exit::DataErr);
}

#[test]
fn rewrap_then_decrypt_with_the_new_key_only() {
    let old = KeyFile::generate().unwrap();
    let (mut ring, key) = Keyring::create(&Unlock::KeyFile(old.clone()), "old").unwrap();
    let sealed = encrypt(&key, "base/1/data.tar", b"rows before the rekey").unwrap();
    let pass = Unlock::passphrase("correct horse battery staple").unwrap();
    ring.add(&key, &pass, "recovery").unwrap();
    let new = KeyFile::generate().unwrap();
    ring.add(&key, &Unlock::KeyFile(new.clone()), "new").unwrap();
    assert_eq!(ring.add(&key, &pass, "new").unwrap_err().exit(), Exit::Usage);
    ring.remove("old").unwrap();
    // Stored and read back, as a rekey would.
    let ring = Keyring::from_json(&ring.to_json().unwrap()).unwrap();
    assert_eq!(ring.unlock(&Unlock::KeyFile(old)).unwrap_err().exit(), Exit::NoPerm);
    let k2 = ring.unlock(&Unlock::KeyFile(new)).unwrap();
    assert_eq!(
        decrypt(&k2, "base/1/data.tar", &sealed).unwrap(),
        b"rows before the rekey"
    );
    let k3 = ring.unlock(&pass).unwrap();
    assert_eq!(k3, key);
    let wrong = Unlock::passphrase("incorrect horse battery staple").unwrap();
    let e = ring.unlock(&wrong).unwrap_err();
    assert_eq!(
        (e.exit(), e.to_string()),
        (Exit::NoPerm, "the passphrase does not unlock this repository".into())
    );
    assert!(!format!("{pass:?}").contains("horse"));
}

#[test]
fn the_last_wrapping_stays_and_a_doctored_one_fails() {
    let kf = KeyFile::generate().unwrap();
    let (mut ring, _) = Keyring::create(&Unlock::KeyFile(kf.clone()), "only").unwrap();
    assert_eq!(ring.remove("only").unwrap_err().exit(), Exit::Usage);
    assert_eq!(ring.remove("nope").unwrap_err().exit(), Exit::Usage);
    // A relabelled wrapping no longer authenticates.
    ring.wrappings[0].label = "renamed".into();
    assert_eq!(ring.unlock(&Unlock::KeyFile(kf)).unwrap_err().exit(), Exit::NoPerm);
    assert!(Unlock::passphrase("short").is_err());
}

#[test]
fn key_files_round_trip_through_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("repo.key");
    let kf = KeyFile::generate().unwrap();
    kf.save(&p).unwrap();
    assert_eq!(KeyFile::load(&p).unwrap().0, kf.0);
    assert!(kf.save(&p).is_err(), "never overwrites a key");
    std::fs::write(&p, [7u8; 32]).unwrap();
    assert_eq!(KeyFile::load(&p).unwrap().0, [7u8; 32]);
    std::fs::write(&p, b"too short").unwrap();
    assert_eq!(KeyFile::load(&p).unwrap_err().exit(), Exit::Config);
    assert!(!format!("{kf:?}").contains(&hex(&kf.0)));
}
