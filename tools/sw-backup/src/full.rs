//! `sw-backup full`: a base backup of a running cluster.
//!
//! Driven through pg_basebackup with server-side zstd compression and
//! workers (the cheapest way on the measured machine: the server compresses
//! while it reads, and nothing is decompressed or re-packed here). The
//! backup is written into `backup/.tmp-<id>/` (the WAL pg_basebackup
//! streams alongside is deleted: the repository's archive is the one
//! restores read), every file hashed, then the command waits until every
//! WAL segment from the backup's start to its stop is in the repository
//! (polled every 50 ms), writes `manifest.json` and renames the
//! directory to `backup/<id>/`. Anything interrupted stays a `.tmp-*`
//! directory that is never listed and is removed by the next run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use serde::Serialize;
use sw_core::cli::PgOpts;
use sw_core::cluster::Bindir;
use sw_core::config::Env;
use sw_core::fsutil::{self, q};
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::repo::manifest::MANIFEST_FORMAT;
use sw_core::repo::wal::{self, Lsn, WalName};
use sw_core::repo::{Area, BackupManifest, MANIFEST_FILE, ManifestFile, Repo};
use sw_core::{Error, IoContext, PgContext, Result};

use crate::common::{RepoOpts, ms};

/// Flags of `sw-backup full`.
#[derive(Args, Debug)]
pub struct FullArgs {
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
    /// How long to wait for the WAL the backup needs to be archived.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = sw_core::duration::parse)]
    pub wal_timeout: Duration,
    /// Directory holding pg_basebackup (default: found on PATH or /usr/lib/postgresql).
    #[arg(long, value_name = "DIR")]
    pub bindir: Option<PathBuf>,
}

/// The `backup.full` record.
#[derive(Serialize)]
struct FullRecord<'a> {
    #[serde(flatten)]
    manifest: Summary<'a>,
    path: String,
    duration_ms: u64,
    basebackup_ms: u64,
    wal_wait_ms: u64,
}

#[derive(Serialize)]
struct Summary<'a> {
    id: &'a str,
    label: &'a Option<String>,
    pinned: bool,
    system_identifier: &'a str,
    pg_major: u32,
    timeline: u32,
    start_lsn: Lsn,
    stop_lsn: Lsn,
    start_time: String,
    stop_time: String,
    database_bytes: u64,
    stored_bytes: u64,
}

struct ServerInfo {
    sysid: String,
    version_num: u32,
    seg_size: u64,
    archive_mode: String,
    /// User tablespaces (names), if any.
    tablespaces: Option<String>,
}

async fn server_info(pg: &PgOpts) -> Result<ServerInfo> {
    let (_t, conn) = pg.connect("sw-backup").await?;
    let row = conn
        .client
        .query_one(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()), \
                    current_setting('server_version_num')::int, \
                    (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'), \
                    current_setting('archive_mode'), \
                    (SELECT string_agg(spcname, ', ' ORDER BY spcname) FROM pg_tablespace \
                      WHERE spcname NOT IN ('pg_default', 'pg_global'))",
            &[],
        )
        .await
        .pg_context(|| "reading the server's identity".into())?;
    let v: i32 = row.get(1);
    let seg: i64 = row.get(2);
    Ok(ServerInfo {
        sysid: row.get(0),
        version_num: u32::try_from(v).unwrap_or(0),
        seg_size: u64::try_from(seg).unwrap_or(16 << 20),
        archive_mode: row.get(3),
        tablespaces: row.get(4),
    })
}

pub fn run(a: &FullArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let info = sw_core::cli::block_on(server_info(&a.pg))?;
    let major = info.version_num / 10000;
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
    let repo = Repo::open(&a.repo.repo)?;
    let area = repo.area_required(&info.sysid, major)?;
    if area.info.wal_segment_size != info.seg_size {
        return Err(Error::config(format!(
            "the server's WAL segment size is {}, the repository area's {}",
            info.seg_size, area.info.wal_segment_size
        )));
    }
    let lock = Lock::try_acquire(&area.lock_path(), "sw-backup full or prune")?;
    repo.adopt(lock.path())?;
    remove_incomplete(&area)?;
    let id = new_id(&area);
    let tmp = area.backup_dir().join(format!(".tmp-{id}"));
    std::fs::create_dir_all(&tmp).io_context(|| format!("creating {}", q(&tmp)))?;
    let start_time = Utc::now();
    let tb = Instant::now();
    basebackup(a, &tmp, &id)?;
    let streamed = tmp.join("pg_wal.tar");
    if streamed.exists() {
        std::fs::remove_file(&streamed).io_context(|| format!("removing {}", q(&streamed)))?;
    }
    let basebackup_ms = ms(tb.elapsed());
    let stop_time = Utc::now();
    let (timeline, start_lsn, stop_lsn, database_bytes) = read_pg_manifest(&tmp.join("backup_manifest"))?;
    let seg = area.info.wal_segment_size;
    let tw = Instant::now();
    wait_for_wal(&area, timeline, start_lsn, stop_lsn, a.wal_timeout)?;
    let wal_wait_ms = ms(tw.elapsed());
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&tmp)
        .io_context(|| format!("listing {}", q(&tmp)))?
        .collect::<std::io::Result<Vec<_>>>()
        .io_context(|| format!("listing {}", q(&tmp)))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let (size, sha256) = sw_core::repo::object::hash_file(&e.path())?;
        files.push(ManifestFile { name, size, sha256 });
    }
    let stored_bytes = files.iter().map(|f| f.size).sum();
    let stop_segno = wal::stop_segno(start_lsn, stop_lsn, seg);
    let m = BackupManifest {
        format: MANIFEST_FORMAT,
        id: id.clone(),
        label: a.label.clone(),
        pinned: a.pin,
        system_identifier: info.sysid.clone(),
        pg_version_num: info.version_num,
        pg_major: major,
        timeline,
        start_lsn,
        stop_lsn,
        start_time,
        stop_time,
        wal_segment_size: seg,
        start_wal: wal::segment_name(timeline, start_lsn.segno(seg), seg),
        stop_wal: wal::segment_name(timeline, stop_segno, seg),
        method: "pg_basebackup".into(),
        database_bytes,
        stored_bytes,
        files,
    };
    let body = serde_json::to_vec_pretty(&m).map_err(|e| Error::software("rendering the manifest").with_source(e))?;
    fsutil::write_new(&tmp.join(MANIFEST_FILE), &body, 0o640)?;
    let fin = area.backup_dir().join(&id);
    if fin.exists() {
        return Err(Error::cant_create(format!("{} already exists", q(&fin))));
    }
    std::fs::rename(&tmp, &fin).io_context(|| format!("renaming {} to {}", q(&tmp), q(&fin)))?;
    fsutil::fsync_dir(&area.backup_dir())?;
    repo.adopt(&fin)?;
    let rec = FullRecord {
        manifest: Summary {
            id: &m.id,
            label: &m.label,
            pinned: m.pinned,
            system_identifier: &m.system_identifier,
            pg_major: m.pg_major,
            timeline: m.timeline,
            start_lsn: m.start_lsn,
            stop_lsn: m.stop_lsn,
            start_time: sw_core::output::rfc3339(m.start_time),
            stop_time: sw_core::output::rfc3339(m.stop_time),
            database_bytes: m.database_bytes,
            stored_bytes: m.stored_bytes,
        },
        path: fin.display().to_string(),
        duration_ms: ms(t0.elapsed()),
        basebackup_ms,
        wal_wait_ms,
    };
    Output::stdout(pretty).record("backup.full", &rec)
}

/// Remove what interrupted runs left (we hold the lock).
fn remove_incomplete(area: &Area) -> Result<()> {
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

fn new_id(area: &Area) -> String {
    let base = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut id = base.clone();
    let mut n = 1;
    while area.backup_dir().join(&id).exists() {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

fn basebackup(a: &FullArgs, dir: &Path, id: &str) -> Result<()> {
    let target = a.pg.target()?;
    let bindir = Bindir::find(a.bindir.as_deref(), &Env::process())?;
    let mut c = Command::new(bindir.prog("pg_basebackup"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            c.env_remove(&k);
        }
    }
    c.envs(target.libpq_env());
    let compress = if a.workers > 0 {
        format!("server-zstd:level={},workers={}", a.level, a.workers)
    } else {
        format!("server-zstd:level={}", a.level)
    };
    c.arg("-D")
        .arg(dir)
        // WAL streamed alongside (pg_wal.tar, then deleted: the repository's
        // archive is what restores use) rather than `-X none`, with which the
        // server ends the backup only after polling its archiver once a
        // second; the archived WAL is waited for below instead, finely.
        .args(["-Ft", "-X", "stream", "--checkpoint=fast", "--no-password"])
        .arg(format!("--compress={compress}"))
        .arg(format!("--label=sw-backup {id}"))
        .stdout(Stdio::null());
    // Its stderr gives the error's gist. (With WAL streamed, the server
    // does not wait for its archiver: `wait_for_wal` does, with
    // --wal-timeout.)
    sw_core::cluster::run_checked(&mut c, "pg_basebackup")?;
    Ok(())
}

/// Timeline, start and end LSN, and total file bytes from PostgreSQL's backup_manifest.
fn read_pg_manifest(path: &Path) -> Result<(u32, Lsn, Lsn, u64)> {
    let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::data(format!("{} is malformed", q(path))).with_source(e))?;
    let bad = || Error::data(format!("{} has no usable WAL-Ranges", q(path)));
    let ranges = v["WAL-Ranges"].as_array().ok_or_else(bad)?;
    let first = ranges.first().ok_or_else(bad)?;
    let last = ranges.last().ok_or_else(bad)?;
    let tli = u32::try_from(last["Timeline"].as_u64().ok_or_else(bad)?).map_err(|_| bad())?;
    let start = Lsn::parse(first["Start-LSN"].as_str().ok_or_else(bad)?)?;
    let end = Lsn::parse(last["End-LSN"].as_str().ok_or_else(bad)?)?;
    let bytes = v["Files"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["Size"].as_u64()).sum())
        .unwrap_or(0);
    Ok((tli, start, end, bytes))
}

fn wait_for_wal(area: &Area, tli: u32, start: Lsn, stop: Lsn, timeout: Duration) -> Result<()> {
    let seg = area.info.wal_segment_size;
    let first = start.segno(seg);
    let last = wal::stop_segno(start, stop, seg);
    let deadline = Instant::now() + timeout;
    let mut missing = (first..=last)
        .map(|n| WalName::parse(&wal::segment_name(tli, n, seg)))
        .collect::<Result<Vec<_>>>()?;
    loop {
        // Only the segments still missing are looked up (in their own
        // directory), not the whole archive on every poll.
        let mut still = Vec::new();
        for name in missing {
            if area.find_wal(&name)?.is_empty() {
                still.push(name);
            }
        }
        missing = still;
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::temp(format!(
                "the WAL this backup needs was not archived within {}s (missing: {}); the backup is not complete. Check `sw-backup check` and the server log",
                timeout.as_secs(),
                missing.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
