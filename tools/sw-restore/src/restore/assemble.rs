//! Restoring a chunked backup (issue #18) as if it were full: its file
//! list names every chunk, so nothing of any other backup is read.
//!
//! Before a byte is written, every chunk the list references is looked up
//! in the store: a missing one is refused naming it (and the file and
//! offset it belongs to). Then directories are made, and the files are
//! rebuilt on writer threads, each chunk checked against its name as it
//! is read and each file against its whole-file hash, fsynced, its mode
//! and mtime as backed up; `global/pg_control` is written last by the
//! caller, as for a tar backup.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sw_core::fsutil::q;
use sw_core::progress::Meter;
use sw_core::repo::chunkindex::{self, ChunkIndex, EntryKind, IndexEntry};
use sw_core::repo::chunks::{ChunkObject, Chunks};
use sw_core::repo::object::hex;
use sw_core::repo::{Area, BackupManifest};
use sw_core::{Error, IoContext, Result};

/// Writer threads (as for a tar restore: more did not help on 2 cores).
const WRITERS: usize = 2;

fn safe(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Refuse the backup unless every chunk it references is stored.
///
/// # Errors
/// 65 naming the first missing chunk, and how many are missing.
fn check_complete(
    b: &BackupManifest,
    ix: &ChunkIndex,
    have: &std::collections::BTreeMap<String, ChunkObject>,
) -> Result<()> {
    let mut first = None;
    let mut missing = std::collections::BTreeSet::new();
    for e in &ix.entries {
        for c in &e.chunks {
            if !have.contains_key(c.name()) && missing.insert(c.name()) && first.is_none() {
                first = Some((c.name().to_owned(), e.path.clone(), c.offset()));
            }
        }
    }
    match first {
        None => Ok(()),
        Some((name, path, off)) => Err(Error::data(format!(
            "backup {} references chunk {name} ({path} at offset {off}), which is not in the repository ({} chunk(s) missing); nothing was restored",
            b.id,
            missing.len()
        ))),
    }
}

/// Extract chunked backup `b` into `dest`; returns the bytes of the files
/// and pg_control's bytes (written last by the caller).
///
/// # Errors
/// 65 for a missing or corrupt chunk, a file that does not match its
/// hash or an unsafe path; 69 for a link; 73/74 writing.
pub fn extract(area: &Area, b: &BackupManifest, dest: &Path, meter: &Meter) -> Result<(u64, Vec<u8>)> {
    let ix = chunkindex::read(area, b)?;
    let store = Chunks::new(area);
    let have = store.list()?;
    check_complete(b, &ix, &have)?;
    for e in &ix.entries {
        if !safe(&e.path) {
            return Err(Error::data(format!(
                "backup {} holds an unsafe path {:?}",
                b.id, e.path
            )));
        }
        if e.kind == EntryKind::Symlink {
            return Err(Error::unavailable(format!(
                "backup {} holds {} as a link (a tablespace); restoring tablespaces is not supported",
                b.id, e.path
            )));
        }
    }
    let mut dirs: Vec<&IndexEntry> = ix.entries.iter().filter(|e| e.kind == EntryKind::Dir).collect();
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    for d in dirs {
        let p = dest.join(&d.path);
        std::fs::create_dir_all(&p).io_context(|| format!("creating {}", q(&p)))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(d.mode | 0o700))
            .io_context(|| format!("setting permissions on {}", q(&p)))?;
    }
    let files: Vec<&IndexEntry> = ix
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && e.path != "global/pg_control")
        .collect();
    let control = ix
        .entries
        .iter()
        .find(|e| e.kind == EntryKind::File && e.path == "global/pg_control")
        .ok_or_else(|| Error::data(format!("backup {} holds no global/pg_control", b.id)))?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let w = Writer {
        store: &store,
        have: &have,
        dest,
    };
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..WRITERS)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(e) = files.get(i) else { return Ok(()) };
                        if stop.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        if let Err(err) = w.file(e) {
                            stop.store(true, Ordering::Relaxed);
                            return Err(err);
                        }
                        meter.add(e.size);
                    }
                })
            })
            .collect();
        let mut first = None;
        for h in hs {
            let r = h
                .join()
                .map_err(|_| Error::software("a restore writer thread panicked"))
                .and_then(|r| r);
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    })?;
    let control_bytes = w.assemble(control)?;
    Ok((ix.logical_bytes(), control_bytes))
}

struct Writer<'a> {
    store: &'a Chunks<'a>,
    have: &'a std::collections::BTreeMap<String, ChunkObject>,
    dest: &'a Path,
}

impl Writer<'_> {
    /// A file's bytes from its chunks, checked against its hash.
    fn assemble(&self, e: &IndexEntry) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(e.size).unwrap_or(0));
        self.each_chunk(e, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })?;
        Ok(out)
    }

    /// Feed a file's chunks, in order, to `sink`, then check the whole.
    fn each_chunk(&self, e: &IndexEntry, sink: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let mut whole = openssl::sha::Sha256::new();
        for c in &e.chunks {
            let size = self.have.get(c.name()).map_or(0, |o| o.size);
            let bytes = self.store.read(c.name(), size)?;
            if bytes.len() as u64 != c.len() {
                return Err(Error::data(format!(
                    "chunk {} holds {} bytes; {} at offset {} needs {}",
                    c.name(),
                    bytes.len(),
                    e.path,
                    c.offset(),
                    c.len()
                )));
            }
            whole.update(&bytes);
            sink(&bytes)?;
        }
        let got = self.store.area.repo.content_name(&hex(&whole.finish()))?;
        if e.hash.as_deref() != Some(got.as_str()) {
            return Err(Error::data(format!(
                "{} rebuilt from its chunks does not match its recorded hash",
                e.path
            )));
        }
        Ok(())
    }

    fn file(&self, e: &IndexEntry) -> Result<()> {
        let p = self.dest.join(&e.path);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(e.mode)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(&p)
            .io_context(|| format!("creating {}", q(&p)))?;
        self.each_chunk(e, &mut |b| f.write_all(b).io_context(|| format!("writing {}", q(&p))))?;
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(e.mtime);
        f.set_modified(t)
            .io_context(|| format!("setting the mtime of {}", q(&p)))?;
        f.sync_all().io_context(|| format!("syncing {}", q(&p)))
    }
}
