//! Unpacking a base backup's tar stream into an empty directory with the
//! file writes (and their fsyncs) spread over writer threads: the stream is
//! one zstd frame, so it is decompressed and parsed in order here, while
//! the writing, which costs most, runs side by side (and each file's fsync
//! starts as soon as the file is complete, overlapping the rest).
//!
//! Only directories and regular files are accepted: a backup holding a
//! link (a tablespace, or a crafted archive) is refused, and every path
//! must stay inside the destination.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use sw_core::fsutil::q;
use sw_core::progress::Meter;
use sw_core::{Error, IoContext, Result};

/// Writer threads: a writer waiting for its file's fsync does not hold the
/// next file up (more did not help on 2 cores: the writes are kernel time).
const WRITERS: usize = 2;
const CHUNK: usize = 1 << 20;

enum Msg {
    Open(PathBuf, u32),
    Data(Vec<u8>),
    Close,
}

struct Writer {
    tx: SyncSender<Msg>,
    /// Messages sent and not yet handled: the least busy writer takes the next file.
    queued: Arc<AtomicUsize>,
    handle: JoinHandle<Result<()>>,
}

fn spawn_writer() -> Result<Writer> {
    let (tx, rx) = sync_channel::<Msg>(8);
    let queued = Arc::new(AtomicUsize::new(0));
    let pending = queued.clone();
    let handle = std::thread::Builder::new()
        .name("unpack".into())
        .spawn(move || {
            let mut open: Option<(File, PathBuf)> = None;
            let mut failed: Option<Error> = None;
            for m in rx {
                pending.fetch_sub(1, Ordering::Relaxed);
                if failed.is_some() {
                    continue; // drain, so the sender never blocks on us
                }
                let r = match m {
                    Msg::Open(path, mode) => OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(mode)
                        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
                        .open(&path)
                        .io_context(|| format!("creating {}", q(&path)))
                        .map(|f| open = Some((f, path))),
                    Msg::Data(b) => match &mut open {
                        Some((f, p)) => f.write_all(&b).io_context(|| format!("writing {}", q(p))),
                        None => Err(Error::software("unpack: data without a file")),
                    },
                    Msg::Close => match open.take() {
                        Some((f, p)) => f.sync_all().io_context(|| format!("syncing {}", q(&p))),
                        None => Err(Error::software("unpack: close without a file")),
                    },
                };
                if let Err(e) = r {
                    failed = Some(e);
                }
            }
            failed.map_or(Ok(()), Err)
        })
        .map_err(|e| Error::software("starting an unpack thread").with_source(e))?;
    Ok(Writer { tx, queued, handle })
}

fn send(w: &Writer, m: Msg) -> Result<()> {
    w.queued.fetch_add(1, Ordering::Relaxed);
    w.tx.send(m)
        .map_err(|_| Error::software("an unpack thread stopped early"))
}

/// The entry's path, when it is a plain relative path (no `..`, not absolute).
fn safe_path(p: &Path) -> Option<&Path> {
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then_some(p)
}

/// Unpack `stream` (a tar archive) into `dest`, keeping `global/pg_control`
/// aside (returned, written last by the caller). Returns the bytes of all
/// files. `what` names the archive in errors.
pub fn unpack(stream: impl Read, dest: &Path, what: &str, meter: &Meter) -> Result<(u64, Option<Vec<u8>>)> {
    let writers: Vec<Writer> = (0..WRITERS).map(|_| spawn_writer()).collect::<Result<_>>()?;
    let res = feed(stream, dest, what, &writers, meter);
    // Closing the channels ends the writers; their errors come first (a
    // reader error may only be the consequence of a writer that stopped).
    let mut first: Option<Error> = None;
    for w in writers {
        drop(w.tx);
        let r = w
            .handle
            .join()
            .map_err(|_| Error::software("an unpack thread panicked"))
            .and_then(|r| r);
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    match first {
        Some(e) => Err(e),
        None => res,
    }
}

fn feed(
    stream: impl Read,
    dest: &Path,
    what: &str,
    writers: &[Writer],
    meter: &Meter,
) -> Result<(u64, Option<Vec<u8>>)> {
    let corrupt = |e: std::io::Error| Error::data(format!("{what} is corrupt")).with_source(e);
    let mut ar = tar::Archive::new(stream);
    let mut control = None;
    let mut bytes = 0u64;
    for e in ar.entries().map_err(corrupt)? {
        let mut e = e.map_err(corrupt)?;
        let raw = e.path().map_err(corrupt)?.into_owned();
        let rel = safe_path(&raw)
            .ok_or_else(|| Error::data(format!("{what} holds an unsafe path {}", raw.display())))?
            .to_owned();
        let mode = e.header().mode().map_err(corrupt)? & 0o7777;
        let target = dest.join(&rel);
        match e.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).io_context(|| format!("creating {}", q(&target)))?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o700))
                    .io_context(|| format!("setting permissions on {}", q(&target)))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                bytes += e.header().size().map_err(corrupt)?;
                if rel == Path::new("global/pg_control") {
                    let mut buf = Vec::new();
                    e.read_to_end(&mut buf).map_err(corrupt)?;
                    control = Some(buf);
                    continue;
                }
                let w = writers
                    .iter()
                    .min_by_key(|w| w.queued.load(Ordering::Relaxed))
                    .ok_or_else(|| Error::software("no unpack thread"))?;
                send(w, Msg::Open(target, mode))?;
                loop {
                    let mut buf = Vec::with_capacity(CHUNK);
                    let n = (&mut e).take(CHUNK as u64).read_to_end(&mut buf).map_err(corrupt)?;
                    if n == 0 {
                        break;
                    }
                    meter.add(n as u64);
                    send(w, Msg::Data(buf))?;
                }
                send(w, Msg::Close)?;
            }
            t if t.is_pax_global_extensions() || t.is_pax_local_extensions() || t.is_gnu_longname() => {}
            t => {
                return Err(Error::unavailable(format!(
                    "{what} holds {} as a {t:?} entry (links and tablespaces are not restored)",
                    raw.display()
                )));
            }
        }
    }
    // Drain to the end (the caller hashes the whole stored file).
    std::io::copy(&mut ar.into_inner(), &mut std::io::sink()).map_err(corrupt)?;
    Ok((bytes, control))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_safe() {
        assert!(safe_path(Path::new("base/1/1259")).is_some());
        assert!(safe_path(Path::new("./global/pg_control")).is_some());
        assert!(safe_path(Path::new("../etc/passwd")).is_none());
        assert!(safe_path(Path::new("base/../../x")).is_none());
        assert!(safe_path(Path::new("/etc/passwd")).is_none());
    }
}
