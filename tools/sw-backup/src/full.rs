//! `sw-backup full`: a base backup of a running cluster.
//!
//! Driven through pg_basebackup with server-side zstd compression and
//! workers (the cheapest way on the measured machine: the server compresses
//! while it reads, and nothing is decompressed or re-packed here; see
//! `basebackup`). The backup is written into `backup/.tmp-<id>/` (the WAL
//! pg_basebackup streams alongside is deleted: the repository's archive is
//! the one restores read), every file hashed, then the command waits until
//! every WAL segment from the backup's start to its stop is in the
//! repository, writes `manifest.json` and renames the directory to
//! `backup/<id>/`. Anything interrupted stays a `.tmp-*` directory that is
//! never listed and is removed by the next run.
//!
//! On an `azure://` repository pg_basebackup writes into a local spool
//! directory (under TMPDIR: it needs room for one compressed backup), and
//! each file is uploaded under its final key (blocks in parallel, visible
//! only once committed); `manifest.json` goes last, so as in a directory a
//! backup without it is never listed, and the next run deletes what an
//! interrupted one left.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::{PgOpts, RepoOpts, ServerOpts};
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::fsutil::{self, q};
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::repo::manifest::MANIFEST_FORMAT;
use sw_core::repo::wal;
use sw_core::repo::{Area, BackupManifest, MANIFEST_FILE, ManifestFile, Repo};
use sw_core::{Error, IoContext, Result};

use crate::basebackup::{self, Basebackup, PgManifest, ServerInfo};
use crate::list::BackupFields;
use crate::pagecheck;

/// Flags of `sw-backup full`.
#[derive(Args, Debug)]
pub struct FullArgs {
    /// The Azure target (`--azure`): see `sw_backup::azure`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub repo: RepoOpts,
    #[command(flatten)]
    pub pg: PgOpts,
    /// A label stored with the backup.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Exempt this backup from retention (a manual, long-term backup).
    #[arg(long)]
    pub pin: bool,
    /// Server-side zstd compression workers.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub workers: u32,
    /// zstd level.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=19))]
    pub level: u32,
    /// Do not check page checksums while backing up (they are checked
    /// whenever the cluster has data checksums).
    #[arg(long)]
    pub no_page_checks: bool,
    /// Store the backup as content-addressed chunks, only those the
    /// repository lacks, compared with the newest backup (a chunked full
    /// when there is no chunked backup yet); it restores alone, like a full.
    #[arg(long, conflicts_with_all = ["differential", "chunked"])]
    pub incremental: bool,
    /// As --incremental, compared with the newest chunked full backup.
    #[arg(long, conflicts_with = "chunked")]
    pub differential: bool,
    /// A full backup stored as chunks (what later --incremental and
    /// --differential backups share chunks with).
    #[arg(long)]
    pub chunked: bool,
    /// Chunk size of a chunked backup, in KiB (64 to 1024, a multiple of the 8 KiB page).
    #[arg(long, value_name = "KIB", default_value_t = crate::chunked::DEFAULT_CHUNK_KIB, value_parser = crate::chunked::parse_chunk_kib)]
    pub chunk_kib: u32,
    /// How long to wait for the WAL the backup needs to be archived.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = sw_core::duration::parse)]
    pub wal_timeout: Duration,
    /// Then copy the backup, and the WAL queued, to the off-site repository the primary links (`setup --offsite`).
    #[arg(long)]
    pub to_offsite: bool,
    // Where pg_basebackup is (`--bindir`).
    #[command(flatten)]
    pub server: ServerOpts,
}

/// A complete backup, as stored.
#[derive(Serialize, JsonSchema)]
pub struct FullRecord {
    #[serde(flatten)]
    backup: BackupFields,
    /// The backup's directory in the repository.
    path: String,
    /// The whole run.
    duration_ms: u64,
    /// pg_basebackup alone.
    basebackup_ms: u64,
    /// Waiting for the WAL the backup needs to be archived.
    wal_wait_ms: u64,
    /// The off-site repository it was copied to (--to-offsite), else null.
    offsite: Option<String>,
}

impl Record for FullRecord {
    const KIND: &'static str = "backup.full";
}

/// The checks that make a backup restorable before one is taken: returns
/// the major version.
pub(crate) fn check_server(info: &ServerInfo) -> Result<u32> {
    let major = info.major();
    if major < 15 {
        return Err(Error::unavailable(format!(
            "PostgreSQL {major} cannot compress base backups on the server; sw-backup full needs 15 or later"
        )));
    }
    if let Some(ts) = &info.tablespaces {
        // sw-restore cannot put them back: refuse rather than list a backup
        // as complete that no restore can use.
        return Err(Error::unavailable(format!(
            "the cluster has tablespaces ({ts}); sw-backup does not back up tablespaces yet, so no backup was taken"
        )));
    }
    if info.archive_mode == "off" {
        return Err(Error::config(
            "archive_mode is off on the server: a backup without archived WAL cannot be restored (run `sw-backup setup` and restart)",
        ));
    }
    Ok(major)
}

/// How long each part took.
pub(crate) struct Timings {
    pub t0: Instant,
    pub basebackup_ms: u64,
    pub wal_wait_ms: u64,
}

pub fn run(a: &FullArgs, pretty: bool) -> Result<()> {
    if a.incremental || a.differential || a.chunked {
        return crate::chunked::run(a, pretty);
    }
    let t0 = Instant::now();
    let Start {
        info,
        repo,
        area,
        lock: _lock,
    } = start(a)?;
    let id = new_id(&area)?;
    let spool = Spool::new(&area, &id)?;
    let tmp = spool.dir.clone();
    let start_time = Utc::now();
    let tb = Instant::now();
    crate::progress::around(&a.pg, || {
        Basebackup {
            bindir: a.server.bindir.as_deref(),
            pg: &a.pg,
            level: a.level,
            workers: a.workers,
        }
        .take(&tmp, &id)
    })?;
    let streamed = tmp.join("pg_wal.tar");
    if streamed.exists() {
        std::fs::remove_file(&streamed).io_context(|| format!("removing {}", q(&streamed)))?;
    }
    let basebackup_ms = millis(tb.elapsed());
    let stop_time = Utc::now();
    let pgm = basebackup::read_pg_manifest(&tmp.join("backup_manifest"))?;
    let tw = Instant::now();
    // The pages are checked while the WAL is waited for (both mostly wait
    // on something else: decompression and the archiver).
    let check = a.page_checks(&info);
    let (scan, waited) = std::thread::scope(|s| {
        let h = s.spawn(|| check.then(|| pagecheck::scan_spool(&tmp, pgm.start_lsn)).transpose());
        let waited = basebackup::wait_for_wal(&area, &pgm, a.wal_timeout);
        (h.join(), waited)
    });
    waited?;
    let scan = scan.map_err(|_| Error::software("the page check panicked"))??;
    let wal_wait_ms = millis(tw.elapsed());
    let page_checks = pagecheck::conclude(&a.pg, pgm.start_lsn, scan)?;
    seal_spool(&area, &id, &tmp)?;
    let mut m = manifest(a, &info, &area, &id, &pgm, (start_time, stop_time), hash_files(&tmp)?);
    m.page_checks = page_checks;
    warn_corruption(&m);
    let fin = if repo.is_blob() {
        upload(&area, &tmp, &m)?
    } else {
        publish(&repo, &area, &tmp, &m)?.display().to_string()
    };
    drop(spool);
    let timings = Timings {
        t0,
        basebackup_ms,
        wal_wait_ms,
    };
    finish(a, &area, &m, &fin, &timings, pretty)
}

/// Copy the complete backup off-site when asked, then print its record:
/// a failed copy leaves it complete in the primary (printed, then the
/// error says so).
pub(crate) fn finish(
    a: &FullArgs,
    area: &Area,
    m: &BackupManifest,
    fin: &str,
    t: &Timings,
    pretty: bool,
) -> Result<()> {
    let mut rec = record(m, fin, t);
    let copied = a.to_offsite.then(|| crate::sync::after_full(area, m)).transpose();
    let err = match copied {
        Ok(url) => {
            rec.offsite = url;
            None
        }
        Err(e) => Some(e.context(format!(
            "backup {} is complete in {}, but copying it off-site failed (`sw-backup sync` retries)",
            m.id,
            area.repo.root.display()
        ))),
    };
    rec.duration_ms = millis(t.t0.elapsed());
    Output::stdout(pretty).emit(&rec)?;
    err.map_or(Ok(()), Err)
}

impl FullArgs {
    /// Whether this backup's pages are checked.
    pub(crate) fn page_checks(&self, info: &ServerInfo) -> bool {
        if self.no_page_checks {
            return false;
        }
        if !info.page_checksums {
            log::info!("the cluster has no data checksums: pages are not checked");
        }
        info.page_checksums
    }
}

/// A backup that holds pages failing their checksum is complete (it is
/// what there is), and says so loudly.
pub(crate) fn warn_corruption(m: &BackupManifest) {
    let Some(pc) = m.page_checks.as_ref().filter(|p| p.failed > 0) else {
        return;
    };
    log::warn!(
        "backup {} holds {} page(s) failing their checksum: corruption on the server's disk ({}); restores of it will warn",
        m.id,
        pc.failed,
        pc.first_bad().join(", ")
    );
}

/// What every kind of `full` starts from: the server's facts, the
/// repository and its area for this cluster, and the lock `full` and
/// `prune` share (held while the value lives).
pub(crate) struct Start {
    pub info: ServerInfo,
    pub repo: Repo,
    pub area: Area,
    pub lock: Lock,
}

/// Read the server, open its area (the same WAL segment size), take the
/// lock and remove what interrupted runs left.
///
/// # Errors
/// The server's and repository's codes; 78 for a segment size mismatch;
/// 75 when another `full` or `prune` holds the lock.
pub(crate) fn start(a: &FullArgs) -> Result<Start> {
    let info = sw_core::cli::block_on(basebackup::server_info(&a.pg))?;
    let major = check_server(&info)?;
    let repo = Repo::open_opts(&a.repo)?;
    let area = repo.area_required(&info.sysid, major)?;
    if area.info.wal_segment_size != info.seg_size {
        return Err(Error::config(format!(
            "the server's WAL segment size is {}, the repository area's {}",
            info.seg_size, area.info.wal_segment_size
        )));
    }
    let lock = Lock::try_acquire(&lock_path(&area), "sw-backup full or prune")?;
    repo.adopt(lock.path())?;
    remove_incomplete(&area)?;
    Ok(Start { info, repo, area, lock })
}

pub(crate) fn record(m: &BackupManifest, fin: &str, t: &Timings) -> FullRecord {
    FullRecord {
        backup: BackupFields::of(m),
        path: fin.to_owned(),
        duration_ms: millis(t.t0.elapsed()),
        basebackup_ms: t.basebackup_ms,
        wal_wait_ms: t.wal_wait_ms,
        offsite: None,
    }
}

/// Every file of the backup directory with its size and SHA-256, by name.
/// In an encrypted repository, encrypt each spooled file in place (under
/// the id of its final key) before it is hashed and stored; manifest.json
/// stays readable (see the README: list, check and prune need no key).
pub(crate) fn seal_spool(area: &Area, id: &str, dir: &Path) -> Result<()> {
    if !area.repo.is_encrypted() {
        return Ok(());
    }
    for e in std::fs::read_dir(dir).io_context(|| format!("listing {}", q(dir)))? {
        let e = e.io_context(|| format!("listing {}", q(dir)))?;
        let key = area.key(&format!("backup/{id}/{}", e.file_name().to_string_lossy()));
        sw_core::repo::seal::seal_file_in_place(&e.path(), area.repo.seal_for(&key)?)?;
    }
    Ok(())
}

pub(crate) fn hash_files(dir: &Path) -> Result<Vec<ManifestFile>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .io_context(|| format!("listing {}", q(dir)))?
        .collect::<std::io::Result<Vec<_>>>()
        .io_context(|| format!("listing {}", q(dir)))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut files = Vec::new();
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let (size, sha256) = sw_core::repo::object::hash_file(&e.path())?;
        files.push(ManifestFile { name, size, sha256 });
    }
    Ok(files)
}

pub(crate) fn manifest(
    a: &FullArgs,
    info: &ServerInfo,
    area: &Area,
    id: &str,
    pgm: &PgManifest,
    (start_time, stop_time): (DateTime<Utc>, DateTime<Utc>),
    files: Vec<ManifestFile>,
) -> BackupManifest {
    let seg = area.info.wal_segment_size;
    let stop_segno = wal::stop_segno(pgm.start_lsn, pgm.stop_lsn, seg);
    BackupManifest {
        format: MANIFEST_FORMAT,
        id: id.to_owned(),
        label: a.label.clone(),
        pinned: a.pin,
        system_identifier: info.sysid.clone(),
        pg_version_num: info.version_num,
        pg_major: info.major(),
        timeline: pgm.timeline,
        start_lsn: pgm.start_lsn,
        stop_lsn: pgm.stop_lsn,
        start_time,
        stop_time,
        wal_segment_size: seg,
        start_wal: wal::segment_name(pgm.timeline, pgm.start_lsn.segno(seg), seg),
        stop_wal: wal::segment_name(pgm.timeline, stop_segno, seg),
        method: "pg_basebackup".into(),
        database_bytes: pgm.database_bytes,
        stored_bytes: files.iter().map(|f| f.size).sum(),
        files,
        page_checks: None,
        chunked: None,
    }
}

/// Write the manifest (which makes the backup complete) and rename the
/// directory into the catalog; returns where it now is.
pub(crate) fn publish(repo: &Repo, area: &Area, tmp: &Path, m: &BackupManifest) -> Result<PathBuf> {
    let body = serde_json::to_vec_pretty(m).map_err(|e| Error::software("rendering the manifest").with_source(e))?;
    fsutil::write_new(&tmp.join(MANIFEST_FILE), &body, 0o640)?;
    let fin = area.backup_dir().join(&m.id);
    if fin.exists() {
        return Err(Error::cant_create(format!("{} already exists", q(&fin))));
    }
    std::fs::rename(tmp, &fin).io_context(|| format!("renaming {} to {}", q(tmp), q(&fin)))?;
    fsutil::fsync_dir(&area.backup_dir())?;
    repo.adopt(&fin)?;
    Ok(fin)
}

/// The lock `full` and `prune` hold. Blob Storage has no flock: an
/// azure:// area's lock is a local file named for it, so runs on this host
/// never overlap (as with a directory); two hosts backing up one cluster
/// into one area at once is not supported.
pub(crate) fn lock_path(area: &Area) -> PathBuf {
    if area.repo.is_blob() {
        let h = sw_core::repo::object::sha256_hex(area.dir.display().to_string().as_bytes());
        std::env::temp_dir().join(format!("sw-backup-{}.lock", &h[..16]))
    } else {
        area.lock_path()
    }
}

/// Where pg_basebackup writes: `backup/.tmp-<id>/` in a directory
/// repository (renamed into place), a local directory removed on drop for
/// an azure:// one.
pub(crate) struct Spool {
    pub dir: PathBuf,
    remove: bool,
}

impl Spool {
    pub fn new(area: &Area, id: &str) -> Result<Spool> {
        let (dir, remove) = if area.repo.is_blob() {
            remove_dead_spools();
            let d = std::env::temp_dir().join(format!("sw-backup-{id}-{}", std::process::id()));
            (d, true)
        } else {
            (area.backup_dir().join(format!(".tmp-{id}")), false)
        };
        std::fs::create_dir_all(&dir).io_context(|| format!("creating {}", q(&dir)))?;
        Ok(Spool { dir, remove })
    }
}

/// Spool directories of runs that were killed (their process is gone):
/// a whole compressed backup each, so not left for the temp cleaner.
fn remove_dead_spools() {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("sw-backup-")
            .and_then(|r| r.rsplit_once('-'))
            .and_then(|(_, p)| p.parse::<i32>().ok())
        else {
            continue;
        };
        let gone = matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        );
        if gone && e.file_type().is_ok_and(|t| t.is_dir()) {
            log::warn!("removing {} (left by a killed sw-backup full)", q(&e.path()));
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Upload the backup's files under `backup/<id>/`, then its manifest (which
/// makes it complete); returns its URL.
pub(crate) fn upload(area: &Area, tmp: &Path, m: &BackupManifest) -> Result<String> {
    use sw_core::repo::remote;
    for f in &m.files {
        remote::upload_file(
            &area.repo,
            &area.key(&format!("backup/{}/{}", m.id, f.name)),
            &tmp.join(&f.name),
        )?;
    }
    let body = serde_json::to_vec_pretty(m).map_err(|e| Error::software("rendering the manifest").with_source(e))?;
    remote::put_once(
        &area.repo,
        &area.key(&format!("backup/{}/{MANIFEST_FILE}", m.id)),
        &body,
    )?;
    Ok(area.backup_dir().join(&m.id).display().to_string())
}

/// Remove what interrupted runs left (we hold the lock).
pub(crate) fn remove_incomplete(area: &Area) -> Result<()> {
    if area.repo.is_blob() {
        for (id, keys) in sw_core::repo::remote::backup_keys(area)? {
            if !keys.iter().any(|k| k.ends_with(&format!("/{MANIFEST_FILE}"))) {
                log::warn!("removing the incomplete backup {id} from {}", area.repo.root.display());
                for k in keys {
                    sw_core::repo::remote::delete(&area.repo, &k)?;
                }
            }
        }
        return Ok(());
    }
    let dir = area.backup_dir();
    let Ok(rd) = std::fs::read_dir(&dir) else { return Ok(()) };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        let incomplete = name.starts_with(".tmp-") || (p.is_dir() && !p.join(MANIFEST_FILE).exists());
        if incomplete {
            log::warn!("removing the incomplete backup {}", q(&p));
            std::fs::remove_dir_all(&p).io_context(|| format!("removing {}", q(&p)))?;
        }
    }
    Ok(())
}

pub(crate) fn new_id(area: &Area) -> Result<String> {
    let taken: std::collections::BTreeSet<String> = if area.repo.is_blob() {
        sw_core::repo::remote::backup_keys(area)?.into_keys().collect()
    } else {
        std::collections::BTreeSet::new()
    };
    let exists = |id: &str| {
        if area.repo.is_blob() {
            taken.contains(id)
        } else {
            area.backup_dir().join(id).exists()
        }
    };
    let base = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut id = base.clone();
    let mut n = 1;
    while exists(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    Ok(id)
}
