//! The first job of a restore: choose the backup and check, before
//! anything is copied, that the archived WAL and timeline reach the
//! target. A backup on an abandoned branch of the history is never chosen;
//! a time target needs a transaction end after it in the archive, and a
//! restore point is looked up in the WAL (both with pg_waldump, `walscan`).

use std::collections::{BTreeMap, BTreeSet};

use sw_core::cluster::Bindir;
use sw_core::fsutil::q;
use sw_core::output::rfc3339;
use sw_core::repo::chain::{self, Chain};
use sw_core::repo::history::{self, TimelineSpan};
use sw_core::repo::wal::Lsn;
use sw_core::repo::{Area, BackupManifest, Repo, WalObject};
use sw_core::{Error, Result};

use super::Target;
use super::walscan;

/// The checked plan.
pub struct Plan {
    pub area: Area,
    pub backup: BackupManifest,
    pub chain: Chain,
    pub target: Target,
}

/// The one area of `sysid` (or the only one).
fn pick_area(repo: &Repo, sysid: Option<&str>) -> Result<Area> {
    let areas = repo.areas()?;
    let mut fit: Vec<Area> = areas
        .into_iter()
        .filter(|a| sysid.is_none_or(|s| a.info.system_identifier == s))
        .collect();
    match fit.len() {
        0 => Err(Error::no_input(format!(
            "repository {} holds no backups{}",
            q(&repo.root),
            sysid.map(|s| format!(" of system identifier {s}")).unwrap_or_default()
        ))),
        1 => Ok(fit.remove(0)),
        n => Err(Error::usage(format!(
            "repository {} holds {n} clusters; pass --system-identifier",
            q(&repo.root)
        ))),
    }
}

/// The current history: the newest timeline's path. A backup taken on a
/// timeline after that timeline was left (an old primary that kept
/// running after a failover) lies on an abandoned branch: restoring it
/// would bring back the branch's data, not the current history's.
struct History {
    newest_tli: u32,
    current: Vec<TimelineSpan>,
}

impl History {
    fn forked(&self, b: &BackupManifest) -> bool {
        b.timeline <= self.newest_tli && !history::path_contains(&self.current, b.timeline, b.start_lsn)
    }

    fn fork_note(&self, b: &BackupManifest) -> String {
        let left_at = self
            .current
            .iter()
            .find(|s| s.timeline == b.timeline)
            .and_then(|s| s.end);
        format!(
            "backup {} started at {} on timeline {}, after the current history (timeline {}) left that timeline{}; it holds an abandoned branch",
            b.id,
            b.start_lsn,
            b.timeline,
            self.newest_tli,
            left_at.map(|l| format!(" at {l}")).unwrap_or_default()
        )
    }
}

/// Whether backup `b` ends before `target` (so recovery can reach it).
fn fits(target: &Target, b: &BackupManifest) -> bool {
    match target {
        Target::Time(t) => b.stop_time <= *t,
        Target::Lsn(l) => b.stop_lsn <= *l,
        _ => true,
    }
}

/// What the plan is chosen from.
struct Catalog<'a> {
    area: &'a Area,
    all: Vec<BackupManifest>,
    /// The backups on the current history, oldest first.
    usable: Vec<BackupManifest>,
    history: History,
}

impl Catalog<'_> {
    /// `--backup ID`, or the newest usable backup that fits the target.
    fn choose(&self, backup_id: Option<&str>, target: &Target) -> Result<BackupManifest> {
        if let Some(id) = backup_id {
            let b = self
                .all
                .iter()
                .find(|b| b.id == id)
                .ok_or_else(|| Error::no_input(format!("no complete backup {id:?} in {}", q(&self.area.dir))))?;
            if self.history.forked(b) {
                return Err(Error::data(format!(
                    "{}; refusing to restore it (pick a backup on the current timeline)",
                    self.history.fork_note(b)
                )));
            }
            if !fits(target, b) {
                return Err(Error::usage(format!(
                    "backup {id} ends after the target {}; pick an older backup or a later target",
                    target.describe()
                )));
            }
            return Ok(b.clone());
        }
        self.usable
            .iter()
            .rev()
            .find(|b| fits(target, b))
            .cloned()
            .ok_or_else(|| match self.usable.first() {
                Some(oldest) => Error::no_input(format!(
                    "no backup ends before the target {} (the oldest on the current timeline ends at {} / {})",
                    target.describe(),
                    rfc3339(oldest.stop_time),
                    oldest.stop_lsn
                )),
                None => Error::no_input(format!(
                    "no backup lies on the current history (timeline {}): {}",
                    self.history.newest_tli,
                    self.all
                        .iter()
                        .filter(|b| self.history.forked(b))
                        .map(|b| self.history.fork_note(b))
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            })
    }
}

/// Choose the backup and check, without touching the target directory,
/// that the archived WAL and timeline reach the target.
///
/// # Errors
/// 64 for a backup that cannot reach the target or an ambiguous
/// repository, 66 when no backup fits, 65 when the archive does not reach
/// the target (or the backup lies on an abandoned branch), 69 when
/// pg_waldump cannot read the WAL.
pub fn plan(
    repo: &Repo,
    bindir: &Bindir,
    sysid: Option<&str>,
    backup_id: Option<&str>,
    target: Target,
) -> Result<Plan> {
    let area = pick_area(repo, sysid)?;
    let all = area.backups()?;
    if all.is_empty() {
        return Err(Error::no_input(format!("{} holds no complete backup", q(&area.dir))));
    }
    let objects = area.wal_objects()?;
    let histories = area.histories_in(&objects)?;
    let newest_tli = histories.keys().copied().max().unwrap_or(1);
    let history = History {
        newest_tli,
        current: area.timeline_path(&histories, newest_tli)?,
    };
    for b in all.iter().filter(|b| history.forked(b)) {
        log::warn!("skipping {}", history.fork_note(b));
    }
    let usable: Vec<BackupManifest> = all.iter().filter(|b| !history.forked(b)).cloned().collect();
    let catalog = Catalog {
        area: &area,
        all,
        usable,
        history,
    };
    let wal = Wal {
        bindir,
        area: &area,
        objects: &objects,
        histories: &histories,
    };
    let backup = catalog.choose(backup_id, &target)?;
    let backup = match &target {
        Target::Name(n) => {
            let candidates: Vec<&BackupManifest> = match backup_id {
                Some(_) => vec![&backup],
                None => catalog.usable.iter().rev().collect(),
            };
            wal.pick_for_restore_point(&candidates, n)?
        }
        _ => backup,
    };
    let chain = chain::walk(&area, &objects, &histories, &backup, None)?;
    wal.check_reaches(&backup, &chain, &target)?;
    Ok(Plan {
        area,
        backup,
        chain,
        target,
    })
}

/// The archived WAL of one area, and pg_waldump to read it.
struct Wal<'a> {
    bindir: &'a Bindir,
    area: &'a Area,
    objects: &'a BTreeMap<String, WalObject>,
    histories: &'a BTreeMap<u32, String>,
}

impl Wal<'_> {
    /// Fail unless recovery from `backup` along `chain` becomes consistent
    /// and reaches `target` within the contiguous archive.
    fn check_reaches(&self, backup: &BackupManifest, chain: &Chain, target: &Target) -> Result<()> {
        let seg = self.area.info.wal_segment_size;
        let stop_segno = sw_core::repo::wal::stop_segno(backup.start_lsn, backup.stop_lsn, seg);
        let gap = || {
            chain
                .missing
                .first()
                .map(|m| format!(" (missing segment {m})"))
                .unwrap_or_default()
        };
        let last = chain.last_segno;
        if last.is_none_or(|l| l < stop_segno) {
            return Err(Error::data(format!(
                "backup {} cannot become consistent: the archive lacks WAL up to {}{}",
                backup.id,
                backup.stop_wal,
                gap()
            )));
        }
        let until_time = chain.last.as_ref().map(|o| o.mtime);
        match target {
            Target::Lsn(l) => {
                if last.is_none_or(|s| s < l.segno(seg)) {
                    return Err(Error::data(format!(
                        "target lsn {l} is past the end of the contiguous archive from backup {} (which ends at {}){}",
                        backup.id,
                        chain.end_lsn(seg).map(|x| x.to_string()).unwrap_or_default(),
                        gap()
                    )));
                }
            }
            Target::Time(t) => {
                if until_time.is_none_or(|u| u < *t) {
                    return Err(Error::data(format!(
                        "target time {} is past the end of the contiguous archive from backup {} (last segment archived at {}){}",
                        rfc3339(*t),
                        backup.id,
                        until_time.map(rfc3339).unwrap_or_default(),
                        gap()
                    )));
                }
                self.check_commit_after(backup, chain, *t, &gap())?;
            }
            Target::Latest => {
                if let Some(m) = chain.missing.first() {
                    return Err(Error::data(format!(
                        "--latest would stop at the hole before missing segment {m}; WAL archived after it is unreachable. Restore to a time before the hole or repair the archive"
                    )));
                }
            }
            Target::Name(_) | Target::Immediate => {}
        }
        Ok(())
    }

    /// Recovery to a time stops at the first transaction end after it:
    /// without one in the reachable WAL it would run to the end and fail
    /// (or, worse, be mistaken for the target).
    fn check_commit_after(
        &self,
        backup: &BackupManifest,
        chain: &Chain,
        t: chrono::DateTime<chrono::Utc>,
        gap: &str,
    ) -> Result<()> {
        let seg = self.area.info.wal_segment_size;
        let last_xact =
            walscan::last_xact_time(self.bindir, self.area, self.objects, chain, backup.start_lsn.segno(seg))?;
        if last_xact.is_none_or(|x| x <= t) {
            return Err(Error::data(format!(
                "target time {} is past the end of the archive from backup {}: {}; recovery could not prove it reached the target. If later WAL is still on the primary, archive it first (SELECT pg_switch_wal()); otherwise pick an earlier time or --latest{gap}",
                rfc3339(t),
                backup.id,
                last_xact.map_or_else(
                    || "the archived WAL after the backup holds no transaction commit".to_owned(),
                    |x| format!(
                        "the last archived transaction ended at {}",
                        x.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    )
                ),
            )));
        }
        Ok(())
    }

    /// The newest of `candidates` (newest first) from which recovery meets a
    /// restore point named `name` after its consistency point, within its
    /// contiguous archived WAL. Recovery stops at the first restore point of
    /// that name after the backup's start, so that is the one that counts.
    fn pick_for_restore_point(&self, candidates: &[&BackupManifest], name: &str) -> Result<BackupManifest> {
        let seg = self.area.info.wal_segment_size;
        let mut hits = BTreeSet::new();
        let mut scanned_from: Option<u64> = None;
        let mut early: Option<(String, Lsn)> = None;
        for b in candidates {
            let c = chain::walk(self.area, self.objects, self.histories, b, None)?;
            let Some(last) = c.last_segno else { continue };
            let lo = b.start_lsn.segno(seg);
            if scanned_from.is_none_or(|s| lo < s) {
                // Overlap one segment with what was read: a record may cross.
                let hi = scanned_from.map_or(last, |s| s.min(last));
                hits.extend(walscan::find_restore_points(
                    self.bindir,
                    self.area,
                    self.objects,
                    &c,
                    lo,
                    hi,
                    name,
                )?);
                scanned_from = Some(lo);
            }
            let Some(first) = hits.iter().copied().find(|h| *h >= b.start_lsn) else {
                continue;
            };
            if first.segno(seg) > last {
                continue;
            }
            if first < b.stop_lsn {
                early.get_or_insert((b.id.clone(), first));
                continue;
            }
            return Ok((*b).clone());
        }
        let why = early.map_or_else(
            || "it is not in the contiguous archived WAL after any backup".to_owned(),
            |(id, l)| format!("it is at {l}, before backup {id} is consistent, and no older backup reaches it"),
        );
        Err(Error::data(format!(
            "restore point {name:?} cannot be reached: {why}; nothing was copied"
        )))
    }
}
