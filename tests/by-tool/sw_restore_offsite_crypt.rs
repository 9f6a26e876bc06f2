//! An encrypted off-site repository (issue #16): a real cluster archives
//! and backs up into an encrypted `azure://` repository on Azurite; a
//! restore needs the key (77 without it); `activate --incident
//! region_failure` restores a new primary from it, replaying the WAL it
//! decrypts;
//! verify checks the GCM tags and names a flipped byte in a stored blob,
//! and no blob holds a marker row inserted into a table.

use super::offsite_common::{Offsite, REACH_FLAGS};

const MARKER: &str = "okapi-marker-5d21e8";

#[test]
fn an_encrypted_azure_repository_needs_its_key_names_a_flipped_byte_and_holds_no_plaintext() {
    let o = Offsite::with_key(&format!("crypt{}", std::process::id()), true);
    let secret = std::fs::read_to_string(o.key_file()).unwrap().trim().to_owned();
    o.tc.psql(
        "postgres",
        &format!("CREATE TABLE t(v text); INSERT INTO t SELECT '{MARKER}' FROM generate_series(1,50)"),
    );
    let db = o.tc.url("postgres");
    o.backup_cmd(&["full", "--db", &db]).expect_code(0);
    o.tc.psql("postgres", &format!("INSERT INTO t VALUES ('{MARKER}-after')"));
    o.switch_and_wait();

    // Neither the base backup nor any WAL object holds the marker.
    let client = o.client();
    let blobs = o.blobs();
    assert!(blobs.iter().any(|b| b.ends_with("/base.tar.zst")), "{blobs:?}");
    assert!(blobs.iter().filter(|b| b.contains("/wal/")).count() >= 2, "{blobs:?}");
    for name in &blobs {
        let bytes = client.get(name).unwrap();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "{name} holds the marker"
        );
    }

    // Without the key: 77 before anything is written.
    let copy = o.tc.dir.join("nokey");
    let r = o.run_flags(
        &o.restore,
        &["--latest", "--pgdata", copy.to_str().unwrap()],
        true,
        &o.flags[..REACH_FLAGS],
    );
    r.expect_code(77);
    assert!(r.stderr.contains("encrypted"), "{r:?}");
    assert!(!copy.join("PG_VERSION").exists());

    region_failure_restores_a_new_primary_with_the_key(&o);

    // With the key, verify checks every tag; a flipped byte in the stored
    // base backup is named.
    let v = o.backup_cmd(&["verify"]);
    v.expect_code(0);
    assert_eq!(v.one("verify.summary")["tags_checked"], true, "{}", v.stdout);
    let victim = blobs.iter().find(|b| b.ends_with("/base.tar.zst")).unwrap();
    let mut bytes = client.get(victim).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    client.put(victim, &bytes, sw_core::blob::Mode::Overwrite, &[]).unwrap();
    let bad = o.backup_cmd(&["verify"]);
    bad.expect_code(65);
    let p = bad.one("verify.problem");
    assert!(victim.ends_with(p["object"].as_str().unwrap()), "{p} vs {victim}");
    o.assert_key_never_shown();
    for out in o.runs.borrow().iter() {
        assert!(!out.contains(&secret), "the data key file's content was shown: {out}");
    }
}

/// The region is gone: `activate --incident region_failure` restores the
/// newest point from the off-site repository as a new primary; the row
/// inserted after the backup is there (its WAL fetched from Blob Storage
/// and decrypted), and the audit log is local.
fn region_failure_restores_a_new_primary_with_the_key(o: &Offsite) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let copy = o.tc.dir.join("copy");
    let audit = o.tc.dir.join("audit.jsonl");
    let r = o.run(
        &o.restore,
        &[
            "activate",
            "--incident",
            "region_failure",
            "--pgdata",
            copy.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--socket-dir",
            o.tc.socket_dir.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        false,
    );
    r.expect_code(0);
    assert_eq!(r.one("restore.activate")["action"], "restored_backup", "{}", r.stdout);
    assert!(std::fs::read_to_string(&audit).unwrap().contains("region_failure"));
    assert_eq!(
        o.query(port, &format!("SELECT count(*) FROM t WHERE v LIKE '{MARKER}%'")),
        "51"
    );
    let settings = std::fs::read_to_string(copy.join("sw.conf")).unwrap();
    assert!(settings.contains("--key-file"), "{settings}");
    let c = sw_core::cluster::Cluster::new(&copy, o.tc.runner().clone()).unwrap();
    c.stop(sw_core::cluster::StopMode::Immediate).unwrap();
}
