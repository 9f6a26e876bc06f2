//! Env files under concurrent reads: 0600 from creation, never partial.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sw_core::envfile::EnvFile;

#[test]
fn rewrites_keep_foreign_keys_stay_private_and_are_never_seen_partial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.env");
    std::fs::write(&path, "# owned by the app\nFOREIGN=keep-me\n").unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    let big_a = "a".repeat(200_000);
    let big_b = "b".repeat(300_000);
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (path, dir, done) = (path.clone(), dir.path().to_path_buf(), done.clone());
        let (a, b) = (big_a.clone(), big_b.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                // Every file in the directory, temp files included, is private
                // except the original (written by the app before we took over).
                for e in std::fs::read_dir(&dir).unwrap().flatten() {
                    if e.file_name().to_string_lossy().starts_with('.')
                        && let Ok(m) = e.metadata()
                    {
                        assert_eq!(m.mode() & 0o077, 0, "temp file {:?} readable by others", e.file_name());
                    }
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let f = EnvFile::parse(&text).unwrap();
                assert_eq!(f.get("FOREIGN"), Some("keep-me"));
                if let Some(v) = f.get("BLOB") {
                    assert!(v == a || v == b, "partial value of {} bytes", v.len());
                    assert_eq!(f.get("END"), Some("1"), "file cut short");
                }
                reads += 1;
            }
            reads
        })
    };

    for i in 0..200 {
        let mut f = EnvFile::read(&path).unwrap();
        f.set("BLOB", if i % 2 == 0 { &big_a } else { &big_b });
        f.set("END", "1");
        f.write(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }
    done.store(true, Ordering::SeqCst);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    let f = EnvFile::read(&path).unwrap();
    assert_eq!(f.get("FOREIGN"), Some("keep-me"));
    assert!(f.render().starts_with("# owned by the app\n"));
}
