//! `sw-backup prune`: remove what the retention policy no longer needs.
//!
//! Kept: pinned backups (and the WAL that makes each consistent), the
//! newest `--min-full` backups, every backup needed to restore to any point
//! of the last `--retention-days` (the newest backup ending before the
//! window starts, and all later ones), all WAL from the oldest kept
//! unpinned backup on, and every timeline history file. `--dry-run` prints
//! exactly what the real run removes (both use the same plan). Every
//! chunked backup restores alone, so it counts as a backup like a full,
//! and the chunks no kept backup references are swept last (`sweep`).
//!
//! On an azure:// repository a backup leaves the catalog when its
//! manifest is deleted (first, as a directory's rename), then its other
//! objects go; WAL objects are deleted one by one. Blob writes leave no
//! temp files.

use std::collections::BTreeSet;

use chrono::{Duration as ChronoDuration, Utc};
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::RepoOpts;
use sw_core::contract::Record;
use sw_core::fsutil::{self, q};
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::repo::{Area, Repo, WalKind};
use sw_core::{IoContext, Result};

/// Flags of `sw-backup prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Keep everything needed to restore to any point within this many days.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retention_days: u32,
    /// Always keep at least this many newest backups.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub min_full: u32,
    /// Print what would be removed and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep chunks no backup references when stored less than this long
    /// ago (a chunked backup still running on another host).
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = sw_core::duration::parse)]
    pub chunk_grace: std::time::Duration,
}

/// What happens to an object.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Removed.
    Remove,
    /// Would be removed (`--dry-run`).
    WouldRemove,
}

/// What kind of object.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A whole backup (name: its id).
    Backup,
    /// A stored WAL file (name: the WAL file name).
    Wal,
    /// A temp file left by an interrupted wal-push.
    Temp,
    /// A chunk of chunked backups that no remaining backup references (name: its content name).
    Chunk,
}

/// One object removed (or, with --dry-run, that would be).
#[derive(Serialize, JsonSchema, Debug, Clone)]
pub struct Removal {
    action: Action,
    /// The repository area (pg<major>-<system identifier>).
    area: String,
    object: ObjectKind,
    /// The backup id or file name.
    name: String,
    /// Bytes it takes (for a backup: its files).
    bytes: u64,
}

impl Record for Removal {
    const KIND: &'static str = "backup.prune";
}

/// The prune's totals, printed last.
#[derive(Serialize, JsonSchema)]
pub struct Summary {
    /// Nothing was removed (`--dry-run`).
    dry_run: bool,
    backups_kept: usize,
    backups_removed: usize,
    wal_removed: usize,
    /// Chunks no remaining backup referenced, removed.
    chunks_removed: usize,
    /// Bytes removed, temp files included (schema 1 called it bytes_removed).
    removed_bytes: u64,
}

impl Record for Summary {
    const KIND: &'static str = "backup.prune.summary";
    const SCHEMA: u32 = 2;
}

struct Plan {
    backups: Vec<(String, std::path::PathBuf, u64)>,
    wal: Vec<(String, std::path::PathBuf, u64)>,
    /// Temp files of interrupted pushes (killed, timed out), a day old.
    temps: Vec<(String, std::path::PathBuf, u64)>,
    /// Chunks no kept backup references, past the grace period.
    chunks: Vec<crate::sweep::Doomed>,
    kept: usize,
}

/// Temp files wal-push leaves when it is killed (`.<name>.XXXXXX.tmp`),
/// older than a day: no push runs that long (--timeout).
fn stale_temps(wal: &std::path::Path) -> Vec<(String, std::path::PathBuf, u64)> {
    let mut v = Vec::new();
    let day = std::time::Duration::from_secs(86_400);
    let mut dirs = vec![wal.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
            if m.is_dir() {
                if d == wal {
                    dirs.push(p);
                }
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let old = m
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > day);
            if m.is_file() && name.starts_with('.') && name.ends_with(".tmp") && old {
                v.push((name, p, m.len()));
            }
        }
    }
    v.sort();
    v
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn plan(area: &Area, a: &PruneArgs) -> Result<Plan> {
    let backups = area.backups()?;
    let seg = area.info.wal_segment_size;
    let window_start = Utc::now() - ChronoDuration::days(i64::from(a.retention_days));
    let mut keep = BTreeSet::new();
    let n = backups.len();
    let min_full = usize::try_from(a.min_full).unwrap_or(usize::MAX);
    for (i, b) in backups.iter().enumerate() {
        if b.pinned || i.saturating_add(min_full) >= n || b.stop_time > window_start {
            keep.insert(b.id.clone());
        }
    }
    // The newest backup ending before the window starts covers its start.
    if let Some(b) = backups.iter().rev().find(|b| b.stop_time <= window_start) {
        keep.insert(b.id.clone());
    }
    let kept_unpinned: Vec<_> = backups.iter().filter(|b| keep.contains(&b.id) && !b.pinned).collect();
    let kept_all: Vec<_> = backups.iter().filter(|b| keep.contains(&b.id)).collect();
    let threshold = kept_unpinned
        .iter()
        .map(|b| b.start_lsn.segno(seg))
        .min()
        .or_else(|| kept_all.iter().map(|b| b.start_lsn.segno(seg)).min());
    let pinned_ranges: Vec<(u64, u64)> = kept_all
        .iter()
        .filter(|b| b.pinned)
        .map(|b| {
            (
                b.start_lsn.segno(seg),
                sw_core::repo::wal::stop_segno(b.start_lsn, b.stop_lsn, seg),
            )
        })
        .collect();
    let mut p = Plan {
        backups: Vec::new(),
        wal: Vec::new(),
        temps: if area.repo.is_blob() {
            Vec::new()
        } else {
            stale_temps(&area.wal_dir())
        },
        kept: keep.len(),
        chunks: Vec::new(),
    };
    for b in &backups {
        if !keep.contains(&b.id) {
            let dir = area.backup_dir().join(&b.id);
            let size = if area.repo.is_blob() {
                b.files.iter().map(|f| f.size).sum()
            } else {
                dir_size(&dir)
            };
            p.backups.push((b.id.clone(), dir, size));
        }
    }
    // WAL still queued for the off-site repository stays until `sync` has
    // copied it: pruning it would leave a hole there.
    let queued: BTreeSet<String> = sw_core::repo::offsite::queued(area)?
        .into_iter()
        .map(|q| q.file)
        .collect();
    // Never remove WAL when no backup remains to use it.
    if let Some(threshold) = threshold {
        for o in area.wal_objects()?.into_values() {
            if o.name.kind == WalKind::History {
                continue;
            }
            let s = o.name.segno(seg);
            if s >= threshold || pinned_ranges.iter().any(|(lo, hi)| s >= *lo && s <= *hi) {
                continue;
            }
            if o.path
                .file_name()
                .is_some_and(|f| queued.contains(&*f.to_string_lossy()))
            {
                log::info!(
                    "keeping {}: not yet in the off-site repository (`sw-backup sync`)",
                    o.name.name
                );
                continue;
            }
            // For Blob, the object's key stands where a file's path would.
            let at = if area.repo.is_blob() {
                std::path::PathBuf::from(&o.key)
            } else {
                o.path.clone()
            };
            p.wal.push((o.name.name.clone(), at, o.size));
        }
    }
    let removed: BTreeSet<&str> = p.backups.iter().map(|(id, _, _)| id.as_str()).collect();
    p.chunks = crate::sweep::plan(area, &backups, &removed, a.chunk_grace)?;
    Ok(p)
}

pub fn run(a: &PruneArgs, pretty: bool) -> Result<()> {
    let repo = Repo::open_opts_keyless(&a.repo)?;
    let mut out = Output::stdout(pretty);
    let mut sum = Summary {
        dry_run: a.dry_run,
        backups_kept: 0,
        backups_removed: 0,
        wal_removed: 0,
        chunks_removed: 0,
        removed_bytes: 0,
    };
    for area in repo.areas()? {
        let lock = Lock::try_acquire(&crate::full::lock_path(&area), "sw-backup full or prune")?;
        // Run as root, the lock file must stay usable by the owner's runs.
        repo.adopt(lock.path())?;
        let p = plan(&area, a)?;
        sum.backups_kept += p.kept;
        Pruner {
            area: &area,
            name: crate::verify::area_name(&area),
            dry_run: a.dry_run,
            out: &mut out,
            sum: &mut sum,
        }
        .apply(&p)?;
    }
    out.emit(&sum)?;
    Ok(())
}

/// Carries out one area's plan (or, with --dry-run, only reports it),
/// one record per object.
struct Pruner<'a> {
    area: &'a Area,
    name: String,
    dry_run: bool,
    out: &'a mut Output,
    sum: &'a mut Summary,
}

impl Pruner<'_> {
    fn removed(&mut self, object: ObjectKind, name: &str, bytes: u64) -> Result<()> {
        self.sum.removed_bytes += bytes;
        self.out.emit(&Removal {
            action: if self.dry_run {
                Action::WouldRemove
            } else {
                Action::Remove
            },
            area: self.name.clone(),
            object,
            name: name.to_owned(),
            bytes,
        })
    }

    /// [`Pruner::apply`] on Blob Storage.
    fn apply_blob(&mut self, p: &Plan) -> Result<()> {
        use sw_core::repo::remote;
        let keys = if self.dry_run {
            std::collections::BTreeMap::new()
        } else {
            remote::backup_keys(self.area)?
        };
        for (id, _, bytes) in &p.backups {
            if !self.dry_run {
                let manifest = self.area.key(&format!("backup/{id}/{}", sw_core::repo::MANIFEST_FILE));
                remote::delete(&self.area.repo, &manifest)?;
                for k in keys.get(id).into_iter().flatten().filter(|k| **k != manifest) {
                    remote::delete(&self.area.repo, k)?;
                }
            }
            self.sum.backups_removed += 1;
            self.removed(ObjectKind::Backup, id, *bytes)?;
        }
        for (name, key, bytes) in &p.wal {
            if !self.dry_run {
                remote::delete(&self.area.repo, &key.to_string_lossy())?;
            }
            self.sum.wal_removed += 1;
            self.removed(ObjectKind::Wal, name, *bytes)?;
        }
        Ok(())
    }

    fn apply(&mut self, p: &Plan) -> Result<()> {
        if self.area.repo.is_blob() {
            self.apply_blob(p)?;
        } else {
            self.apply_dir(p)?;
        }
        if !self.dry_run {
            crate::sweep::apply(self.area, &p.chunks)?;
        }
        for (name, bytes) in &p.chunks {
            self.sum.chunks_removed += 1;
            self.removed(ObjectKind::Chunk, name, *bytes)?;
        }
        Ok(())
    }

    fn apply_dir(&mut self, p: &Plan) -> Result<()> {
        let backup_dir = self.area.backup_dir();
        for (id, dir, bytes) in &p.backups {
            if !self.dry_run {
                // Out of the catalog first (atomic rename), then delete.
                let doomed = backup_dir.join(format!(".tmp-prune-{id}"));
                std::fs::rename(dir, &doomed).io_context(|| format!("renaming {}", q(dir)))?;
                fsutil::fsync_dir(&backup_dir)?;
                std::fs::remove_dir_all(&doomed).io_context(|| format!("removing {}", q(&doomed)))?;
            }
            self.sum.backups_removed += 1;
            self.removed(ObjectKind::Backup, id, *bytes)?;
        }
        let mut dirs = BTreeSet::new();
        for (name, path, bytes) in &p.wal {
            if !self.dry_run {
                std::fs::remove_file(path).io_context(|| format!("removing {}", q(path)))?;
                if let Some(d) = path.parent() {
                    dirs.insert(d.to_path_buf());
                }
            }
            self.sum.wal_removed += 1;
            self.removed(ObjectKind::Wal, name, *bytes)?;
        }
        for (name, path, bytes) in &p.temps {
            if !self.dry_run {
                std::fs::remove_file(path).io_context(|| format!("removing {}", q(path)))?;
            }
            self.removed(ObjectKind::Temp, name, *bytes)?;
        }
        for d in dirs {
            fsutil::fsync_dir(&d)?;
            // Drop emptied per-log directories.
            if std::fs::read_dir(&d).map(|mut r| r.next().is_none()).unwrap_or(false) {
                let _ = std::fs::remove_dir(&d);
            }
        }
        Ok(())
    }
}
