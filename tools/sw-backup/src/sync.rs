//! `sw-backup sync`: bring the off-site repository a directory repository
//! links to (`setup --offsite`) up to date: the queued WAL first (the
//! region-failure RPO), then every complete backup it lacks, then any WAL
//! the queue missed (found by comparing both listings), and the queue
//! once more for what was archived meanwhile. Also what `full
//! --to-offsite` and each `wal-push` (within its deadline) call.

use std::time::{Duration, Instant};

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::RepoOpts;
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::progress::{Meter, Progress, Unit};
use sw_core::repo::offsite::queue_file;
use sw_core::repo::{Area, BackupManifest, Repo};
use sw_core::{Error, Result};

use crate::offsite::{self, Pair};

/// Flags of `sw-backup sync`.
#[derive(Args, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Copy the queued and missing WAL only, not the backups.
    #[arg(long)]
    pub wal_only: bool,
}

/// What one area's sync copied.
#[derive(Serialize, JsonSchema, Default)]
pub struct SyncRecord {
    /// The primary repository's area.
    area: String,
    /// The off-site repository.
    offsite: String,
    /// WAL objects copied, and their bytes off-site.
    wal_copied: u64,
    wal_bytes: u64,
    /// Backups copied (ids), and their bytes off-site.
    backups_copied: Vec<String>,
    backup_bytes: u64,
    /// WAL objects still queued (archived while this ran).
    queued: u64,
    /// Queued WAL the primary had already pruned (never reached the off-site).
    gone: u64,
    /// The whole run.
    duration_ms: u64,
}

impl Record for SyncRecord {
    const KIND: &'static str = "backup.sync";
}

/// The lock drainers of one area share: one copier at a time (a push
/// finding it held leaves the queue to the holder).
pub(crate) fn drain_lock(area: &Area) -> Result<Lock> {
    let l = Lock::try_acquire(&queue_file(area, ".drain.lock"), "off-site copy")?;
    // Run as root, the lock must stay usable by the archiver.
    area.repo.adopt(l.path())?;
    Ok(l)
}

/// How long `sync` and `full --to-offsite` wait for the copy lock: a push
/// holds it for at most its short budget, another sync for longer (75).
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The copy lock, waited for.
fn wait_drain_lock(area: &Area) -> Result<Lock> {
    let end = Instant::now() + LOCK_WAIT;
    loop {
        match drain_lock(area) {
            Err(e) if e.exit() == sw_core::Exit::TempFail && Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(100));
            }
            r => return r,
        }
    }
}

pub fn run(a: &SyncArgs, pretty: bool) -> Result<()> {
    let repo = Repo::open_opts(&a.repo)?;
    if sw_core::repo::offsite::Link::of(&repo)?.is_none() {
        return Err(Error::usage(format!(
            "{} links no off-site repository; add one with `sw-backup setup --offsite FILE`",
            repo.root.display()
        )));
    }
    let mut out = Output::stdout(pretty);
    let progress = Progress::new_meter("sw-backup", Unit::Bytes);
    for area in repo.areas()? {
        let Some(p) = offsite::pair(&area, None)? else { continue };
        let _lock = wait_drain_lock(&area)?;
        let rec = sync_area(&p, !a.wal_only, progress.meter())?;
        out.emit(&rec)?;
    }
    Ok(())
}

fn sync_area(p: &Pair, backups: bool, meter: &Meter) -> Result<SyncRecord> {
    let t0 = Instant::now();
    let mut rec = SyncRecord {
        area: p.primary.name.clone(),
        offsite: p.link.url(),
        ..SyncRecord::default()
    };
    let add = |r: &mut SyncRecord, d: offsite::Drained| {
        r.wal_copied += d.copied;
        r.wal_bytes += d.bytes;
        r.gone += d.gone;
    };
    add(&mut rec, offsite::drain(p, None, meter)?);
    if backups {
        for m in backups_to_copy(p)? {
            if let Some(n) = offsite::copy_backup(p, &m, meter)? {
                log::info!("copied backup {} off-site ({n} bytes)", m.id);
                rec.backups_copied.push(m.id.clone());
                rec.backup_bytes += n;
            }
        }
    }
    let (n, bytes) = offsite::reconcile_wal(p, meter)?;
    rec.wal_copied += n;
    rec.wal_bytes += bytes;
    add(&mut rec, offsite::drain(p, None, meter)?);
    rec.queued = offsite::lag(&p.primary)?.segments;
    // It answered: the next push may try it again at once.
    let _ = std::fs::remove_file(queue_file(&p.primary, ".down"));
    rec.duration_ms = millis(t0.elapsed());
    Ok(rec)
}

/// The primary's complete backups the off-site lacks, oldest first, none
/// older than the off-site's oldest (its own prune removed those).
fn backups_to_copy(p: &Pair) -> Result<Vec<BackupManifest>> {
    let there = p.offsite.backups()?;
    let oldest = there.iter().map(|b| b.stop_time).min();
    let mut v: Vec<BackupManifest> = p
        .primary
        .backups()?
        .into_iter()
        .filter(|m| !there.iter().any(|b| b.id == m.id) && oldest.is_none_or(|o| m.stop_time >= o))
        .collect();
    v.sort_by_key(|m| m.stop_time);
    Ok(v)
}

/// After `full --to-offsite`: the new backup, then the WAL queued (its
/// own among it). Returns the off-site repository's URL.
///
/// # Errors
/// 64 when the repository links no off-site one; the copy's errors.
pub(crate) fn after_full(area: &Area, m: &BackupManifest) -> Result<String> {
    let p = offsite::pair(area, None)?.ok_or_else(|| {
        Error::usage(format!(
            "--to-offsite: {} links no off-site repository (`sw-backup setup --offsite FILE`)",
            area.repo.root.display()
        ))
    })?;
    let _lock = wait_drain_lock(area)?;
    let progress = Progress::new_meter("sw-backup", Unit::Bytes);
    offsite::drain(&p, None, progress.meter())?;
    offsite::copy_backup(&p, m, progress.meter())?;
    offsite::drain(&p, None, progress.meter())?;
    Ok(p.link.url())
}

/// How long a push waits before trying an off-site repository that just
/// failed again (so an outage does not slow every push).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Called by `wal-push` once `file` is durable in the primary: queue it
/// and, unless another copier is at work or the off-site failed a moment
/// ago, drain the queue until `until`. Never fails the push: an off-site
/// problem is logged and the WAL waits in the queue.
pub(crate) fn after_push(area: &Area, file: &str, until: Instant) {
    let linked = match sw_core::repo::offsite::Link::of(&area.repo) {
        Ok(l) => l.is_some(),
        Err(e) => {
            log::error!("{e}; the segment is archived in the primary repository only");
            return;
        }
    };
    if !linked {
        return;
    }
    if let Err(e) = sw_core::repo::offsite::enqueue(area, file) {
        log::error!("queueing {file} for the off-site repository: {e} (`sw-backup sync` finds it anyway)");
        return;
    }
    let down = queue_file(area, ".down");
    let recent = std::fs::metadata(&down)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|d| d < RETRY_AFTER);
    if recent {
        log::info!("{file} queued for the off-site repository (it failed under {RETRY_AFTER:?} ago)");
        return;
    }
    let Ok(lock) = drain_lock(area) else {
        log::debug!("another copier is draining the off-site queue");
        return;
    };
    // Bounded as a whole, so nothing the off-site does keeps the push past
    // `until` (the lock goes with the copy).
    let owned = area.clone();
    let r = sw_core::repo::offsite::within(until.saturating_duration_since(Instant::now()), move || {
        let _lock = lock;
        match offsite::pair(&owned, Some(until))? {
            // The archiver's stderr is the server log: no progress line.
            Some(p) => offsite::drain(&p, Some(until), &Meter::default()),
            None => Ok(offsite::Drained::default()),
        }
    });
    match r {
        Ok(d) => {
            let _ = std::fs::remove_file(&down);
            let left = offsite::lag(area).map(|l| l.segments).unwrap_or(0);
            log::info!("copied {} WAL object(s) off-site, {left} still queued", d.copied);
        }
        Err(e) => {
            let _ = sw_core::fsutil::write_new(&down, b"", 0o640).or_else(|_| {
                std::fs::File::options()
                    .write(true)
                    .open(&down)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                    .map_err(|e| Error::io("touching").with_source(e))
            });
            let left = offsite::lag(area).map(|l| l.segments).unwrap_or(0);
            log::warn!(
                "the off-site repository did not take the WAL ({e}); {left} object(s) queued for `sw-backup sync`"
            );
        }
    }
}
