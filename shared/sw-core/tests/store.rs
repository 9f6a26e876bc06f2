//! The repository store interface: one contract, run against the directory
//! backend and against Azure Blob on a real Azurite (HTTPS, the kit's CA).

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failures, like the tests")]

use sw_core::Exit;
use sw_core::blob::{Auth, Client, Location, Options};
use sw_core::repo::store::{BlobStore, DirStore, Put, Store};
use sw_testkit::azurite::{self, ACCOUNT, KEY};

/// Write-once with exists-compare, get, list by prefix, delete.
fn contract(s: &dyn Store) {
    let seg = "pg15-1/wal/0000000100000000/000000010000000000000001";
    assert_eq!(s.put_once(seg, b"segment one").unwrap(), Put::Created);
    assert_eq!(
        s.put_once(seg, b"segment one").unwrap(),
        Put::Same,
        "same content is an idempotent retry"
    );
    let e = s.put_once(seg, b"other bytes").unwrap_err();
    assert_eq!(e.exit(), Exit::DataErr, "different content is refused: {e}");
    assert_eq!(s.get(seg).unwrap().unwrap(), b"segment one", "nothing was replaced");
    assert!(s.get("pg15-1/wal/missing").unwrap().is_none());

    s.put_once("pg15-1/wal/0000000100000000/000000010000000000000002", b"two")
        .unwrap();
    s.put_once("pg15-1/backup/20260101T000000Z/manifest.json", b"{}")
        .unwrap();
    s.put_once("pg15-1/area.json", b"{}").unwrap();
    assert_eq!(
        s.list("pg15-1/wal/").unwrap(),
        [
            "pg15-1/wal/0000000100000000/000000010000000000000001",
            "pg15-1/wal/0000000100000000/000000010000000000000002"
        ]
    );
    assert_eq!(
        s.list("pg15-1/wal/0000000100000000/0000000100000000000000")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(s.list("").unwrap().len(), 4);

    assert!(s.delete(seg).unwrap());
    assert!(!s.delete(seg).unwrap());
    assert!(s.get(seg).unwrap().is_none());
    assert_eq!(s.list("pg15-1/wal/").unwrap().len(), 1);
    assert_eq!(s.put_once("../escape", b"x").unwrap_err().exit(), Exit::Software);
}

#[test]
fn directory_store_keeps_the_contract() {
    let d = tempfile::tempdir().unwrap();
    contract(&DirStore::new(d.path()));
}

#[test]
fn blob_store_keeps_the_contract_on_azurite() {
    let a = azurite::shared();
    let loc = Location::parse(&format!("azure://{ACCOUNT}/store-{}/repo", std::process::id())).unwrap();
    let opts = Options {
        ca_file: Some(a.ca_file().to_owned()),
        ..Options::default()
    };
    let client = Client::new(&loc, Some(&a.endpoint()), Auth::shared_key(ACCOUNT, KEY).unwrap(), opts).unwrap();
    client.create_container().unwrap();
    contract(&BlobStore { client });
}

#[test]
fn blob_store_opens_from_an_env_file_and_never_names_the_key() {
    let a = azurite::shared();
    let d = tempfile::tempdir().unwrap();
    let opts = || Options {
        ca_file: Some(a.ca_file().to_owned()),
        ..Options::default()
    };
    let url = format!("azure://{ACCOUNT}/store-env-{}/p", std::process::id());
    let creds = d.path().join("azure.env");
    std::fs::write(&creds, format!("{}={KEY}\n", sw_core::repo::store::KEY_VAR)).unwrap();
    let s = sw_core::repo::store::open_blob(&url, Some(&a.endpoint()), &creds, opts()).unwrap();
    s.client.create_container().unwrap();
    assert_eq!(s.put_once("a/b", b"x").unwrap(), Put::Created);
    assert!(!format!("{s:?}").contains(KEY), "Debug must not show the key");

    std::fs::write(&creds, "OTHER=1\n").unwrap();
    let e = sw_core::repo::store::open_blob(&url, Some(&a.endpoint()), &creds, opts()).unwrap_err();
    assert_eq!(e.exit(), Exit::Config);
    let e = sw_core::repo::store::open_blob(&url, None, &d.path().join("none.env"), opts()).unwrap_err();
    assert_eq!(e.exit(), Exit::NoInput);
    let e = sw_core::repo::store::open_blob("azure://x/c", None, &creds, opts()).unwrap_err();
    assert_eq!(e.exit(), Exit::Usage);
}
