//! Cutting pg_basebackup's tar stream into content-addressed chunks
//! (issue #18): every regular file is read in page-aligned pieces of the
//! chunk size (the last piece of a file is shorter; files are multiples of
//! the 8 kB page, so every cut falls on a page boundary), each piece is
//! named by the hash of its bytes, and only names the repository lacks are
//! handed to the compressor threads, which zstd, seal and stage them.
//! What changed is decided by content alone: a file's size or mtime never
//! lets a piece be skipped without hashing it.
//!
//! Not stored: the WAL in `pg_wal/` (`-X fetch` puts the backup's own
//! segments in the stream; restores read the repository's archive, as for
//! a tar backup) and PostgreSQL's `backup_manifest`, which is kept aside
//! and stored as a file of the backup.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};

use sw_core::repo::chunkindex::{ChunkIndex, ChunkRef, EntryKind, INDEX_FORMAT, IndexEntry};
use sw_core::repo::chunks::Chunks;
use sw_core::repo::object::hex;
use sw_core::repo::wal::Lsn;
use sw_core::{Error, Result};

use crate::pagecheck::{RelFile, Scan};

/// What walking the stream produced.
pub struct Walked {
    pub index: ChunkIndex,
    /// PostgreSQL's backup_manifest, from the end of the stream.
    pub pg_manifest: Option<Vec<u8>>,
    /// Chunks stored (the repository lacked them) and their stored bytes.
    pub new_chunks: u64,
    pub new_bytes: u64,
    /// The page checksum checks, when asked for. The start is read from
    /// backup_label, which pg_basebackup sends first; were it not, pages
    /// written after the start would still be among the suspects (see
    /// [`Scan::forget_from`], which the caller applies).
    pub pages: Option<Scan>,
}

/// How the chunks are cut and stored.
pub struct Cutter<'a> {
    pub chunks: &'a Chunks<'a>,
    /// Names already stored (and, as the walk goes, queued).
    pub known: HashSet<String>,
    /// A directory repository's staging directory; None puts each chunk
    /// under its final Blob key.
    pub stage: Option<&'a Path>,
    pub chunk_size: usize,
    pub level: i32,
    /// Compressor threads.
    pub workers: usize,
    /// Check the page checksums of relation files (in a thread of its own).
    pub page_checks: bool,
}

type Job = (String, Arc<Vec<u8>>);
/// What the page check thread is given: the backup's start (from
/// backup_label, the stream's first file), then relation files' chunks
/// with the number of their first page.
enum PageJob {
    Start(Lsn),
    Pages(RelFile, u32, Arc<Vec<u8>>),
}

impl Cutter<'_> {
    /// Walk `stream` (a tar archive) to its end.
    ///
    /// # Errors
    /// 65 for a stream that is not a tar archive; 69 for an entry type a
    /// restore cannot recreate; the store's codes.
    pub fn walk(mut self, stream: impl Read) -> Result<Walked> {
        let (tx, rx) = sync_channel::<Job>(self.workers * 2);
        let rx = std::sync::Mutex::new(rx);
        let chunks = self.chunks;
        let (stage, level) = (self.stage, self.level);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..self.workers)
                .map(|_| s.spawn(|| store_loop(chunks, stage, level, &rx)))
                .collect();
            let (ptx, checker) = if self.page_checks {
                let (ptx, prx) = sync_channel::<PageJob>(16);
                (Some(ptx), Some(s.spawn(move || check_loop(&prx))))
            } else {
                (None, None)
            };
            let walked = self.feed(stream, &tx, ptx.as_ref());
            drop(tx);
            drop(ptx);
            let pages = match checker.map(std::thread::ScopedJoinHandle::join).transpose() {
                Ok(p) => p,
                Err(_) => return Err(Error::software("the page check thread panicked")),
            };
            let mut totals = (0, 0);
            let mut first_err = None;
            for h in handles {
                match h.join() {
                    Ok(Ok((n, b))) => {
                        totals.0 += n;
                        totals.1 += b;
                    }
                    Ok(Err(e)) => {
                        first_err.get_or_insert(e);
                    }
                    Err(_) => {
                        first_err.get_or_insert(Error::software("a chunk compressor thread panicked"));
                    }
                }
            }
            // A store error first: a feed error may only be its consequence.
            if let Some(e) = first_err {
                return Err(e);
            }
            let (index, pg_manifest) = walked?;
            Ok(Walked {
                index,
                pg_manifest,
                new_chunks: totals.0,
                new_bytes: totals.1,
                pages,
            })
        })
    }

    fn feed(
        &mut self,
        stream: impl Read,
        tx: &SyncSender<Job>,
        pages: Option<&SyncSender<PageJob>>,
    ) -> Result<(ChunkIndex, Option<Vec<u8>>)> {
        let corrupt = |e: std::io::Error| Error::data("pg_basebackup's tar stream is corrupt").with_source(e);
        let mut ar = tar::Archive::new(stream);
        let mut entries = Vec::new();
        let mut pg_manifest = None;
        for e in ar.entries().map_err(corrupt)? {
            let mut e = e.map_err(corrupt)?;
            let raw = e.path().map_err(corrupt)?.to_string_lossy().into_owned();
            let path = raw.trim_start_matches("./").trim_end_matches('/').to_owned();
            let h = e.header();
            let mode = h.mode().map_err(corrupt)? & 0o7777;
            let mtime = h.mtime().map_err(corrupt)?;
            let mut entry = IndexEntry {
                path,
                kind: EntryKind::Dir,
                mode,
                mtime,
                size: 0,
                hash: None,
                link: None,
                chunks: Vec::new(),
            };
            match h.entry_type() {
                tar::EntryType::Directory => {}
                tar::EntryType::Symlink => {
                    entry.kind = EntryKind::Symlink;
                    let target = e.link_name().map_err(corrupt)?.unwrap_or_default();
                    entry.link = Some(target.to_string_lossy().into_owned());
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if entry.path == "backup_manifest" {
                        let mut buf = Vec::new();
                        e.read_to_end(&mut buf).map_err(corrupt)?;
                        pg_manifest = Some(buf);
                        continue;
                    }
                    if entry.path.starts_with("pg_wal/") {
                        continue;
                    }
                    entry.kind = EntryKind::File;
                    if entry.path == "backup_label" {
                        let mut buf = Vec::new();
                        e.read_to_end(&mut buf).map_err(corrupt)?;
                        if let (Some(p), Some(start)) = (pages, label_start(&buf)) {
                            p.send(PageJob::Start(start))
                                .map_err(|_| Error::software("the page check stopped early"))?;
                        }
                        self.cut(&mut std::io::Cursor::new(buf), &mut entry, tx, None)?;
                    } else {
                        let rel = pages.and_then(|p| Some((p, RelFile::parse(&entry.path)?)));
                        self.cut(&mut e, &mut entry, tx, rel)?;
                    }
                }
                t if t.is_pax_global_extensions() || t.is_pax_local_extensions() || t.is_gnu_longname() => continue,
                t => {
                    return Err(Error::unavailable(format!(
                        "the cluster holds {raw} as a {t:?} entry, which a chunked backup cannot restore"
                    )));
                }
            }
            entries.push(entry);
        }
        // To the end, so pg_basebackup finishes writing.
        std::io::copy(&mut ar.into_inner(), &mut std::io::sink()).map_err(corrupt)?;
        let index = ChunkIndex {
            format: INDEX_FORMAT,
            chunk_size: self.chunk_size as u64,
            entries,
        };
        Ok((index, pg_manifest))
    }

    /// Cut one file into chunks, queueing those the repository lacks.
    fn cut(
        &mut self,
        e: &mut impl Read,
        entry: &mut IndexEntry,
        tx: &SyncSender<Job>,
        rel: Option<(&SyncSender<PageJob>, RelFile)>,
    ) -> Result<()> {
        let mut whole = openssl::sha::Sha256::new();
        let mut offset = 0u64;
        loop {
            let mut buf = Vec::with_capacity(self.chunk_size);
            let n = e
                .take(self.chunk_size as u64)
                .read_to_end(&mut buf)
                .map_err(|err| Error::data(format!("reading {} from pg_basebackup", entry.path)).with_source(err))?;
            if n == 0 {
                break;
            }
            whole.update(&buf);
            let name = self.chunks.name_of(&buf)?;
            entry.chunks.push(ChunkRef(name.clone(), offset, n as u64));
            let buf = Arc::new(buf);
            if let Some((ptx, file)) = &rel {
                // Chunks are page-aligned: the chunk size is a multiple of it.
                let first = u32::try_from(offset / crate::pagecheck::BLCKSZ as u64).unwrap_or(u32::MAX);
                ptx.send(PageJob::Pages(file.clone(), first, Arc::clone(&buf)))
                    .map_err(|_| Error::software("the page check stopped early"))?;
            }
            offset += n as u64;
            if self.known.insert(name.clone()) {
                tx.send((name, buf))
                    .map_err(|_| Error::software("the chunk compressors stopped early"))?;
            }
        }
        entry.size = offset;
        entry.hash = Some(self.chunks.area.repo.content_name(&hex(&whole.finish()))?);
        Ok(())
    }
}

/// The page check thread: every relation file's chunks, in stream order.
/// Until the backup's start is known every page is checked (the caller
/// then forgets failures of pages written after it).
fn check_loop(rx: &std::sync::mpsc::Receiver<PageJob>) -> Scan {
    let mut scan = Scan::default();
    let mut start = Lsn(u64::MAX);
    while let Ok(job) = rx.recv() {
        match job {
            PageJob::Start(l) => start = l,
            PageJob::Pages(file, first, buf) => scan.check_pages(&file, first, &buf, start),
        }
    }
    scan
}

/// `START WAL LOCATION: 0/2000028 (file ...)` of a backup_label.
fn label_start(label: &[u8]) -> Option<Lsn> {
    let text = std::str::from_utf8(label).ok()?;
    let rest = text.lines().find_map(|l| l.strip_prefix("START WAL LOCATION: "))?;
    Lsn::parse(rest.split_whitespace().next()?).ok()
}

/// One compressor thread: encode and stage (or put) chunks until the
/// channel closes. After an error it keeps draining so the walk never
/// blocks, and reports the error at the end.
fn store_loop(
    chunks: &Chunks<'_>,
    stage: Option<&Path>,
    level: i32,
    rx: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>,
) -> Result<(u64, u64)> {
    let (mut n, mut bytes) = (0u64, 0u64);
    let mut failed = None;
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return Err(Error::software("a chunk compressor thread panicked")),
        };
        let Ok((name, plain)) = job else { break };
        if failed.is_some() {
            continue;
        }
        let r = chunks.encode(&name, &plain, level).and_then(|stored| {
            match stage {
                Some(dir) => Chunks::stage(dir, &name, &stored)?,
                None => chunks.put(&name, &stored)?,
            }
            Ok(stored.len() as u64)
        });
        match r {
            Ok(b) => {
                n += 1;
                bytes += b;
            }
            Err(e) => failed = Some(e),
        }
    }
    failed.map_or(Ok((n, bytes)), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_is_read_from_backup_label() {
        let label = b"START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\n";
        assert_eq!(label_start(label), Some(Lsn(0x0200_0028)));
        assert_eq!(label_start(b"garbage"), None);
    }
}
