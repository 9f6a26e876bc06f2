//! `sw-backup list`: one `backup` record per complete backup, oldest first,
//! with the restorable window it gives: from its consistency point (stop)
//! to the end of the contiguous archived WAL after it.

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::Result;
use sw_core::cli::RepoOpts;
use sw_core::contract::{Record, Timestamp};
use sw_core::output::Output;
use sw_core::repo::wal::Lsn;
use sw_core::repo::{Area, BackupManifest, Repo};
use sw_core::repo::{chain, history};

/// Flags of `sw-backup list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The Azure target (`--azure`): see `sw_backup::azure`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub repo: RepoOpts,
}

/// What a backup's manifest says about it, as `backup` and `backup.full`
/// records print it (flattened into both).
#[derive(Serialize, JsonSchema, Debug)]
pub struct BackupFields {
    /// The backup's id (its directory name, `YYYYMMDDTHHMMSSZ`).
    pub id: String,
    /// The `--label` given to `full`; null without one.
    pub label: Option<String>,
    /// Exempt from retention (`full --pin`).
    pub pinned: bool,
    /// The cluster's system identifier.
    pub system_identifier: String,
    /// The cluster's PostgreSQL major version.
    pub pg_major: u32,
    /// The timeline the backup was taken on.
    pub timeline: u32,
    /// Where the backup starts in the WAL.
    pub start_lsn: Lsn,
    /// Where it ends: recovery is consistent from here.
    pub stop_lsn: Lsn,
    /// When pg_basebackup started.
    pub start_time: Timestamp,
    /// When it finished.
    pub stop_time: Timestamp,
    /// Bytes of the cluster's files.
    pub database_bytes: u64,
    /// Bytes stored in the repository (compressed).
    pub stored_bytes: u64,
    /// The page checksum validation done while backing up: how many pages
    /// were checked and which failed (null: not checked).
    pub page_checks: Option<sw_core::repo::manifest::PageChecks>,
    /// `tar` (one compressed archive) or `chunks` (content-addressed chunks, `full --incremental`).
    pub format: String,
    /// `full`, `incremental` or `differential` (what a chunked backup was compared with; a tar backup is `full`).
    pub backup_type: String,
    /// The backup a chunked one was compared with; null for a full. Restoring never needs it.
    pub parent: Option<String>,
    /// Bytes of the files a restore writes.
    pub logical_bytes: u64,
    /// Bytes this backup added to the repository: its own files and the chunks the repository lacked.
    pub new_bytes: u64,
}

impl BackupFields {
    /// The fields of backup `b`.
    pub fn of(b: &BackupManifest) -> BackupFields {
        BackupFields {
            id: b.id.clone(),
            label: b.label.clone(),
            pinned: b.pinned,
            system_identifier: b.system_identifier.clone(),
            pg_major: b.pg_major,
            timeline: b.timeline,
            start_lsn: b.start_lsn,
            stop_lsn: b.stop_lsn,
            start_time: b.start_time.into(),
            stop_time: b.stop_time.into(),
            database_bytes: b.database_bytes,
            stored_bytes: b.stored_bytes,
            page_checks: b.page_checks.clone(),
            format: if b.chunked.is_some() { "chunks" } else { "tar" }.into(),
            backup_type: b
                .chunked
                .as_ref()
                .map_or_else(|| "full".into(), |c| c.backup_type.clone()),
            parent: b.chunked.as_ref().and_then(|c| c.parent.clone()),
            logical_bytes: b.chunked.as_ref().map_or(b.database_bytes, |c| c.logical_bytes),
            new_bytes: b.stored_bytes,
        }
    }
}

/// One complete backup and the window it can restore.
#[derive(Serialize, JsonSchema, Debug)]
pub struct BackupRecord {
    #[serde(flatten)]
    pub backup: BackupFields,
    /// Earliest restorable time (the backup's consistency point).
    pub restorable_from: Timestamp,
    /// Earliest restorable WAL location.
    pub restorable_from_lsn: Lsn,
    /// Latest restorable point: when the last contiguous WAL segment was archived; null while the WAL the backup needs is incomplete.
    pub restorable_until: Option<Timestamp>,
    /// The first WAL location past the contiguous archive; null like restorable_until.
    pub restorable_until_lsn: Option<Lsn>,
    /// The timeline followed (history files).
    pub wal_timeline: u32,
    /// The first missing segment after the backup; null when the archive has no hole.
    pub wal_gap: Option<String>,
    /// Taken on a timeline after the newest timeline's history left it (an
    /// old primary still running after a failover): sw-restore skips it.
    pub abandoned_branch: bool,
}

impl Record for BackupRecord {
    const KIND: &'static str = "backup";
}

/// The `backup` record of `b`, whose WAL chain is `c`.
pub fn record(area: &Area, c: &chain::Chain, b: &BackupManifest, abandoned_branch: bool) -> BackupRecord {
    let seg = area.info.wal_segment_size;
    let stop_segno = sw_core::repo::wal::stop_segno(b.start_lsn, b.stop_lsn, seg);
    let usable = c.last_segno.is_some_and(|l| l >= stop_segno);
    BackupRecord {
        backup: BackupFields::of(b),
        restorable_from: b.stop_time.into(),
        restorable_from_lsn: b.stop_lsn,
        restorable_until: if usable {
            c.last.as_ref().map(|o| o.mtime.max(b.stop_time).into())
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
    let repo = Repo::open_opts_keyless(&a.repo)?;
    let mut out = Output::stdout(pretty);
    for area in repo.areas()? {
        let objects = area.wal_objects()?;
        let histories = area.histories_in(&objects)?;
        let newest = histories.keys().copied().max().unwrap_or(1);
        let current = area.timeline_path(&histories, newest)?;
        for b in area.backups()? {
            let c = chain::walk(&area, &objects, &histories, &b, None)?;
            let abandoned = b.timeline <= newest && !history::path_contains(&current, b.timeline, b.start_lsn);
            out.emit(&record(&area, &c, &b, abandoned))?;
        }
    }
    out.flush()
}
