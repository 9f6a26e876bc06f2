//! `sw-backup full --incremental | --differential | --chunked`: a base
//! backup stored as content-addressed chunks (issue #18).
//!
//! pg_basebackup streams one uncompressed tar to us (`chunker` cuts it;
//! the server does no compression, we compress only the chunks the
//! repository lacks). Then the new chunks are made durable and put in
//! the store and, as for a tar backup, the run waits until the WAL the
//! backup needs is archived and writes the file list (`chunks.json.zst`), PostgreSQL's
//! backup_manifest and last `manifest.json`. A backup killed anywhere
//! before that is never listed: its spool is removed by the next run and
//! any chunk it had already put in the store is referenced by no manifest
//! and swept by the next `prune`.
//!
//! The type only says what the backup was compared with: every chunked
//! backup's file list names every chunk it needs, so each one restores
//! alone and losing a parent cannot corrupt a child. Runs hold the same
//! lock as `full` and `prune`, so a prune never sweeps while chunks are
//! being added.

use std::collections::HashSet;
use std::io::Read;
use std::time::Instant;

use chrono::Utc;
use sw_core::duration::millis;
use sw_core::fsutil::{self, q};
use sw_core::repo::chunkindex::INDEX_FILE;
use sw_core::repo::chunks::Chunks;
use sw_core::repo::{Area, BackupManifest, ChunkedInfo};
use sw_core::{Error, IoContext, Result};

use crate::basebackup::{self, Basebackup};
use crate::chunker::{Cutter, Walked};
use crate::full::{self, FullArgs, Spool, Timings};
use crate::pagecheck;

/// The default chunk size: 256 KiB, a middle of the 64 KiB to 1 MiB
/// range; smaller chunks store less of a sparsely changed file but make
/// more objects (files in a directory, requests on Blob Storage).
pub const DEFAULT_CHUNK_KIB: u32 = 256;

/// `--chunk-kib`: 64 to 1024, a multiple of the 8 KiB page.
///
/// # Errors
/// A message for clap.
pub fn parse_chunk_kib(s: &str) -> std::result::Result<u32, String> {
    let n: u32 = s.parse().map_err(|_| format!("{s:?} is not a number of KiB"))?;
    if !(64..=1024).contains(&n) || !n.is_multiple_of(8) {
        return Err(format!(
            "{n} KiB: chunks are 64 to 1024 KiB, a multiple of the 8 KiB page"
        ));
    }
    Ok(n)
}

/// What the backup is compared with.
fn backup_type(a: &FullArgs) -> &'static str {
    if a.incremental {
        "incremental"
    } else if a.differential {
        "differential"
    } else {
        "full"
    }
}

/// The parent of a new backup of type `kind`: the newest chunked backup
/// (incremental) or the newest chunked full (differential).
fn parent(area: &Area, kind: &str) -> Result<Option<BackupManifest>> {
    let mut v = area.backups()?;
    v.retain(|b| {
        b.chunked
            .as_ref()
            .is_some_and(|c| kind == "incremental" || c.backup_type == "full")
    });
    Ok(v.pop())
}

pub fn run(a: &FullArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let full::Start {
        info,
        repo,
        area,
        lock: _lock,
    } = full::start(a)?;
    let mut kind = backup_type(a);
    let parent = if kind == "full" { None } else { parent(&area, kind)? };
    if parent.is_none() && kind != "full" {
        log::warn!("no chunked backup to compare with: taking a chunked full backup");
        kind = "full";
    }
    let parent_chunks: HashSet<String> = match &parent {
        Some(p) => sw_core::repo::chunkindex::read(&area, p)?
            .chunk_names()
            .map(str::to_owned)
            .collect(),
        None => HashSet::new(),
    };
    let id = full::new_id(&area)?;
    let spool = Spool::new(&area, &id)?;
    let stage = Stage::new(&area, &id)?;
    let chunks = Chunks::new(&area);
    let known: HashSet<String> = chunks.list()?.into_keys().collect();
    let start_time = Utc::now();
    let tb = Instant::now();
    let mut walked = crate::progress::around(&a.pg, || take(a, &info, &chunks, known, stage.dir.as_deref(), &id))?;
    let basebackup_ms = millis(tb.elapsed());
    let stop_time = Utc::now();
    let pg_manifest = walked
        .pg_manifest
        .as_ref()
        .ok_or_else(|| Error::software("pg_basebackup's stream held no backup_manifest"))?;
    let pm_path = spool.dir.join("backup_manifest");
    let pgm = basebackup::parse_pg_manifest(&String::from_utf8_lossy(pg_manifest), &pm_path)?;
    // The new chunks into the store first: durable while the WAL is
    // awaited, and harmless if this run dies (referenced by no manifest).
    if let Some(d) = &stage.dir {
        chunks.commit(d)?;
    }
    let tw = Instant::now();
    basebackup::wait_for_wal(&area, &pgm, a.wal_timeout)?;
    let wal_wait_ms = millis(tw.elapsed());
    let page_checks = pagecheck::conclude(&a.pg, pgm.start_lsn, walked.pages.take())?;
    fsutil::write_new(&pm_path, pg_manifest, 0o640)?;
    fsutil::write_new(&spool.dir.join(INDEX_FILE), &walked.index.encode()?, 0o640)?;
    full::seal_spool(&area, &id, &spool.dir)?;
    let files = full::hash_files(&spool.dir)?;
    let mut m = full::manifest(a, &info, &area, &id, &pgm, (start_time, stop_time), files);
    m.method = "pg_basebackup-chunked".into();
    m.stored_bytes += walked.new_bytes;
    m.chunked = Some(summary(&walked, kind, parent.as_ref(), &parent_chunks));
    m.page_checks = page_checks;
    full::warn_corruption(&m);
    let fin = if repo.is_blob() {
        full::upload(&area, &spool.dir, &m)?
    } else {
        full::publish(&repo, &area, &spool.dir, &m)?.display().to_string()
    };
    drop(spool);
    drop(stage);
    let timings = Timings {
        t0,
        basebackup_ms,
        wal_wait_ms,
    };
    full::finish(a, &area, &m, &fin, &timings, pretty)
}

/// Run pg_basebackup and cut its stream.
fn take(
    a: &FullArgs,
    info: &basebackup::ServerInfo,
    chunks: &Chunks<'_>,
    known: HashSet<String>,
    stage: Option<&std::path::Path>,
    id: &str,
) -> Result<Walked> {
    let mut child = Basebackup {
        bindir: a.server.bindir.as_deref(),
        pg: &a.pg,
        level: a.level,
        workers: a.workers,
    }
    .spawn_stream(id)?;
    let mut err = child.stderr.take();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let out = child
        .stdout
        .take()
        .ok_or_else(|| Error::software("pg_basebackup has no stdout"))?;
    let cutter = Cutter {
        chunks,
        known,
        stage,
        chunk_size: usize::try_from(a.chunk_kib).unwrap_or(256) << 10,
        level: i32::try_from(a.level).unwrap_or(1),
        workers: usize::try_from(a.workers).unwrap_or(2).max(1),
        page_checks: a.page_checks(info),
    };
    let walked = cutter.walk(std::io::BufReader::with_capacity(1 << 20, out));
    // pg_basebackup's own failure explains a cut-off stream best.
    let finished = basebackup::finish_stream(child, stderr);
    let walked = walked?;
    finished?;
    Ok(walked)
}

fn summary(w: &Walked, kind: &str, parent: Option<&BackupManifest>, parent_chunks: &HashSet<String>) -> ChunkedInfo {
    let mut seen = HashSet::new();
    let mut changed_bytes = 0;
    for e in &w.index.entries {
        for c in &e.chunks {
            if seen.insert(c.name()) && !parent_chunks.contains(c.name()) {
                changed_bytes += c.len();
            }
        }
    }
    ChunkedInfo {
        backup_type: kind.to_owned(),
        parent: parent.map(|p| p.id.clone()),
        logical_bytes: w.index.logical_bytes(),
        chunks: seen.len() as u64,
        new_chunks: w.new_chunks,
        new_bytes: w.new_bytes,
        changed_bytes,
    }
}

/// Where a directory repository's new chunks wait until they are durable
/// (`backup/.tmp-<id>.chunks/`, beside the backup's spool, so the next
/// run removes it with the spool when this one is killed). None on Blob.
struct Stage {
    dir: Option<std::path::PathBuf>,
}

impl Stage {
    fn new(area: &Area, id: &str) -> Result<Stage> {
        if area.repo.is_blob() {
            return Ok(Stage { dir: None });
        }
        let d = area.backup_dir().join(format!(".tmp-{id}.chunks"));
        std::fs::create_dir_all(&d).io_context(|| format!("creating {}", q(&d)))?;
        Ok(Stage { dir: Some(d) })
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
