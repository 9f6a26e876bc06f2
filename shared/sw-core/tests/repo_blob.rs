//! The repository (`Repo`, `Area`) on Azure Blob, on a real Azurite over
//! HTTPS: opened from `--repo azure://...` flags, areas registered once,
//! and WAL listings that page past 5,000 blobs.

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failures, like the tests")]

use sw_core::Exit;
use sw_core::cli::{BlobOpts, RepoOpts};
use sw_core::repo::object::{self, compress_to_vec};
use sw_core::repo::wal::{WalName, segment_name};
use sw_core::repo::{Repo, remote};
use sw_testkit::azurite::{self, ACCOUNT, KEY};

fn opts(container: &str, creds: &std::path::Path) -> RepoOpts {
    let a = azurite::shared();
    RepoOpts {
        repo: format!("azure://{ACCOUNT}/{container}/site-a").into(),
        blob: BlobOpts {
            azure_endpoint: Some(a.endpoint()),
            azure_credentials: Some(creds.to_owned()),
            azure_ca_file: Some(a.ca_file().to_owned()),
            azure_block_mib: 8,
        },
        keys: sw_core::cli::KeyOpts::default(),
    }
}

#[test]
fn a_blob_repository_opens_registers_and_lists_past_5000_wal_objects() {
    let d = tempfile::tempdir().unwrap();
    let creds = d.path().join("storage.env");
    std::fs::write(&creds, format!("AZURE_STORAGE_KEY={KEY}\n")).unwrap();
    let o = opts(&format!("repo-list-{}", std::process::id()), &creds);

    // Not a repository until `setup` makes it one; then it opens.
    assert_eq!(Repo::open_opts(&o).unwrap_err().exit(), Exit::NoInput);
    let repo = Repo::init_opts(&o).unwrap();
    assert!(repo.is_blob());
    assert_eq!(repo.root, o.repo, "the URL names it in messages");
    let seg_size = 16 << 20;
    let area = repo.ensure_area("7311", 15, seg_size).unwrap();
    assert_eq!(Repo::open_opts(&o).unwrap().areas().unwrap().len(), 1);
    // Registering again is idempotent; a different segment size is refused.
    repo.ensure_area("7311", 15, seg_size).unwrap();
    assert_eq!(repo.ensure_area("7311", 15, 1 << 20).unwrap_err().exit(), Exit::Config);
    // A directory-only command names what it cannot do.
    assert_eq!(Repo::open(&o.repo).unwrap_err().exit(), Exit::Usage);

    // 5,050 small WAL-like objects, written 8 at a time: the listing spans
    // two pages of List Blobs (5,000 each).
    let n: u64 = 5050;
    std::thread::scope(|s| {
        for t in 0..8 {
            let area = &area;
            s.spawn(move || {
                for i in (t..n).step_by(8) {
                    let name = segment_name(1, i + 1, seg_size);
                    let w = WalName::parse(&name).unwrap();
                    let (bytes, st) = compress_to_vec(name.as_bytes(), object::WAL_LEVEL).unwrap();
                    let key = area.key(&format!("wal/{}/{name}-{}.zst", w.dir().unwrap(), st.sha256));
                    remote::put_once(&area.repo, &key, &bytes).unwrap();
                }
            });
        }
    });
    let all = area.wal_objects().unwrap();
    assert_eq!(all.len() as u64, n);
    let last = segment_name(1, n, seg_size);
    assert!(all.contains_key(&last) && all.contains_key(&segment_name(1, 1, seg_size)));
    // One name is found by its own prefix, and reads back through the backend.
    let found = area.find_wal(&WalName::parse(&last).unwrap()).unwrap();
    assert_eq!(found.len(), 1);
    let mut raw = Vec::new();
    object::decompress_object(&area, &found[0], &mut raw).unwrap();
    assert_eq!(raw, last.as_bytes());
    assert!(area.backups().unwrap().is_empty());
}
