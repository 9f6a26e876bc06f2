//! `sw-backup list`: one record per complete backup, oldest first, with the
//! restorable window it gives: from its consistency point (stop) to the end
//! of the contiguous archived WAL after it.

use clap::Args;
use serde::Serialize;
use sw_core::Result;
use sw_core::output::{Output, rfc3339};
use sw_core::repo::wal::Lsn;
use sw_core::repo::{Area, BackupManifest, Repo};
use sw_core::repo::{chain, history};

use crate::common::RepoOpts;

/// Flags of `sw-backup list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
}

/// The `backup` record.
#[derive(Serialize, Debug)]
pub struct BackupRecord {
    pub id: String,
    pub label: Option<String>,
    pub pinned: bool,
    pub system_identifier: String,
    pub pg_major: u32,
    pub timeline: u32,
    pub start_lsn: Lsn,
    pub stop_lsn: Lsn,
    pub start_time: String,
    pub stop_time: String,
    pub database_bytes: u64,
    pub stored_bytes: u64,
    /// Earliest restorable time (the backup's consistency point).
    pub restorable_from: String,
    pub restorable_from_lsn: Lsn,
    /// Latest restorable point: when the last contiguous WAL segment was archived.
    pub restorable_until: Option<String>,
    pub restorable_until_lsn: Option<Lsn>,
    /// The timeline followed (history files).
    pub wal_timeline: u32,
    /// The first missing segment after the backup, if the archive has a hole.
    pub wal_gap: Option<String>,
    /// Taken on a timeline after the newest timeline's history left it (an
    /// old primary still running after a failover): sw-restore skips it.
    pub abandoned_branch: bool,
}

pub fn record(area: &Area, c: &chain::Chain, b: &BackupManifest, abandoned_branch: bool) -> BackupRecord {
    let seg = area.info.wal_segment_size;
    let stop_segno = sw_core::repo::wal::stop_segno(b.start_lsn, b.stop_lsn, seg);
    let usable = c.last_segno.is_some_and(|l| l >= stop_segno);
    BackupRecord {
        id: b.id.clone(),
        label: b.label.clone(),
        pinned: b.pinned,
        system_identifier: b.system_identifier.clone(),
        pg_major: b.pg_major,
        timeline: b.timeline,
        start_lsn: b.start_lsn,
        stop_lsn: b.stop_lsn,
        start_time: rfc3339(b.start_time),
        stop_time: rfc3339(b.stop_time),
        database_bytes: b.database_bytes,
        stored_bytes: b.stored_bytes,
        restorable_from: rfc3339(b.stop_time),
        restorable_from_lsn: b.stop_lsn,
        restorable_until: if usable {
            c.last.as_ref().map(|o| rfc3339(o.mtime.max(b.stop_time)))
        } else {
            None
        },
        restorable_until_lsn: if usable { c.end_lsn(seg) } else { None },
        wal_timeline: c.timeline,
        wal_gap: c.missing.first().cloned(),
        abandoned_branch,
    }
}

pub fn run(a: &ListArgs, pretty: bool) -> Result<()> {
    let repo = Repo::open(&a.repo.repo)?;
    let mut out = Output::stdout(pretty);
    for area in repo.areas()? {
        let objects = area.wal_objects()?;
        let histories = area.histories_in(&objects)?;
        let newest = histories.keys().copied().max().unwrap_or(1);
        let current = area.timeline_path(&histories, newest)?;
        for b in area.backups()? {
            let c = chain::walk(&area, &objects, &histories, &b, None)?;
            let abandoned = b.timeline <= newest && !history::path_contains(&current, b.timeline, b.start_lsn);
            out.record("backup", &record(&area, &c, &b, abandoned))?;
        }
    }
    out.flush()
}
