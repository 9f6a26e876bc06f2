//! The parts of `sw-backup full` that talk to the server: what it is
//! (identity, version, archiving, tablespaces), pg_basebackup itself, the
//! backup_manifest it writes, and the wait until the WAL the backup needs
//! is in the repository.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sw_core::cli::PgOpts;
use sw_core::cluster::Bindir;
use sw_core::config::Env;
use sw_core::fsutil::q;
use sw_core::repo::Area;
use sw_core::repo::wal::{self, Lsn, WalName};
use sw_core::{Error, IoContext, PgContext, Result};

/// What `full` needs to know about the server before backing it up.
pub struct ServerInfo {
    pub sysid: String,
    pub version_num: u32,
    pub seg_size: u64,
    pub archive_mode: String,
    /// User tablespaces (names), if any.
    pub tablespaces: Option<String>,
    /// Data checksums are on and pages are 8 KiB: pages can be checked.
    pub page_checksums: bool,
}

impl ServerInfo {
    /// The major version (15 for 150004).
    pub fn major(&self) -> u32 {
        self.version_num / 10000
    }
}

/// Ask the server who it is.
///
/// # Errors
/// The connection's codes (69, 77, 78, 75) and 70 for a failed query.
pub async fn server_info(pg: &PgOpts) -> Result<ServerInfo> {
    let (_t, conn) = pg.connect("sw-backup").await?;
    let row = conn
        .client
        .query_one(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()), \
                    current_setting('server_version_num')::int, \
                    (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'), \
                    current_setting('archive_mode'), \
                    (SELECT string_agg(spcname, ', ' ORDER BY spcname) FROM pg_tablespace \
                      WHERE spcname NOT IN ('pg_default', 'pg_global')), \
                    current_setting('data_checksums') = 'on' AND current_setting('block_size') = '8192'",
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
        page_checksums: row.get(5),
    })
}

/// How pg_basebackup is run.
pub struct Basebackup<'a> {
    /// `--bindir`, or None to search for the programs.
    pub bindir: Option<&'a Path>,
    pub pg: &'a PgOpts,
    /// zstd level and server-side workers (0: none).
    pub level: u32,
    pub workers: u32,
}

impl Basebackup<'_> {
    /// pg_basebackup with the target's libpq variables and none of ours
    /// (a PG* variable of this process must not redirect it).
    fn command(&self) -> Result<Command> {
        let target = self.pg.target()?;
        let bindir = Bindir::find(self.bindir, &Env::process())?;
        let mut c = Command::new(bindir.prog("pg_basebackup"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PG") {
                c.env_remove(&k);
            }
        }
        c.envs(target.libpq_env());
        Ok(c)
    }

    /// Take the backup into `dir` (tar format, server-side zstd).
    ///
    /// # Errors
    /// 78 for a bad target, 69 when pg_basebackup cannot run, 70 when it fails.
    pub fn take(&self, dir: &Path, id: &str) -> Result<()> {
        let mut c = self.command()?;
        let compress = if self.workers > 0 {
            format!("server-zstd:level={},workers={}", self.level, self.workers)
        } else {
            format!("server-zstd:level={}", self.level)
        };
        c.arg("-D")
            .arg(dir)
            // WAL streamed alongside (pg_wal.tar, then deleted: the repository's
            // archive is what restores use) rather than `-X none`, with which the
            // server ends the backup only after polling its archiver once a
            // second; the archived WAL is waited for below instead, finely.
            .args(["-Ft", "-X", "stream", "--checkpoint=fast", "--no-password"])
            // The server's own page check ends a backup that meets a bad page
            // with an ERROR; `pagecheck` checks them and keeps the backup.
            .arg("--no-verify-checksums")
            .arg(format!("--compress={compress}"))
            .arg(format!("--label=sw-backup {id}"))
            .stdout(Stdio::null());
        // Its stderr gives the error's gist. (With WAL streamed, the server
        // does not wait for its archiver: `wait_for_wal` does, with
        // --wal-timeout.)
        sw_core::cluster::run_checked(&mut c, "pg_basebackup")?;
        Ok(())
    }
}

impl Basebackup<'_> {
    /// Start pg_basebackup writing one uncompressed tar stream to its
    /// stdout (for `chunker`): `-X fetch`, since WAL cannot be streamed
    /// beside a tar on stdout, and the backup_manifest goes into the
    /// stream; no per-file checksums in it (every byte is hashed here).
    ///
    /// # Errors
    /// 78 for a bad target, 69 when pg_basebackup cannot run.
    pub fn spawn_stream(&self, id: &str) -> Result<std::process::Child> {
        let mut c = self.command()?;
        c.args(["-D", "-", "-Ft", "-X", "fetch", "--checkpoint=fast", "--no-password"])
            .arg("--manifest-checksums=NONE")
            // sw-backup checks the pages itself, and a bad page must not
            // fail the backup (see `pagecheck`).
            .arg("--no-verify-checksums")
            .arg(format!("--label=sw-backup {id}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn()
            .map_err(|e| Error::unavailable("running pg_basebackup").with_source(e))
    }
}

/// Wait for a pg_basebackup started by [`Basebackup::spawn_stream`] whose
/// stdout was read to the end; its stderr gives a failure's gist.
///
/// # Errors
/// 70 when it failed.
pub fn finish_stream(mut child: std::process::Child, stderr: std::thread::JoinHandle<String>) -> Result<()> {
    let status = child
        .wait()
        .map_err(|e| Error::software("waiting for pg_basebackup").with_source(e))?;
    let err = stderr.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let gist = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    Err(Error::software(format!("pg_basebackup failed ({status}): {gist}")))
}

/// What PostgreSQL's backup_manifest says about the backup.
pub struct PgManifest {
    pub timeline: u32,
    pub start_lsn: Lsn,
    pub stop_lsn: Lsn,
    /// Total bytes of the cluster's files.
    pub database_bytes: u64,
}

/// Read PostgreSQL's backup_manifest.
///
/// # Errors
/// 65 when it is malformed or has no WAL ranges; 66/74/77 reading it.
pub fn read_pg_manifest(path: &Path) -> Result<PgManifest> {
    let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
    parse_pg_manifest(&text, path)
}

/// [`read_pg_manifest`] of text read already (`path` for messages).
///
/// # Errors
/// 65 when it is malformed or has no WAL ranges.
pub fn parse_pg_manifest(text: &str, path: &Path) -> Result<PgManifest> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::data(format!("{} is malformed", q(path))).with_source(e))?;
    let bad = || Error::data(format!("{} has no usable WAL-Ranges", q(path)));
    let ranges = v["WAL-Ranges"].as_array().ok_or_else(bad)?;
    let first = ranges.first().ok_or_else(bad)?;
    let last = ranges.last().ok_or_else(bad)?;
    let timeline = u32::try_from(last["Timeline"].as_u64().ok_or_else(bad)?).map_err(|_| bad())?;
    let start_lsn = Lsn::parse(first["Start-LSN"].as_str().ok_or_else(bad)?)?;
    let stop_lsn = Lsn::parse(last["End-LSN"].as_str().ok_or_else(bad)?)?;
    let database_bytes = v["Files"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["Size"].as_u64()).sum())
        .unwrap_or(0);
    Ok(PgManifest {
        timeline,
        start_lsn,
        stop_lsn,
        database_bytes,
    })
}

/// Wait until every WAL segment from the backup's start to its stop is in
/// the repository (polled every 50 ms).
///
/// # Errors
/// 75 when `timeout` passes first.
pub fn wait_for_wal(area: &Area, m: &PgManifest, timeout: Duration) -> Result<()> {
    let seg = area.info.wal_segment_size;
    let first = m.start_lsn.segno(seg);
    let last = wal::stop_segno(m.start_lsn, m.stop_lsn, seg);
    let deadline = Instant::now() + timeout;
    let mut missing = (first..=last)
        .map(|n| WalName::parse(&wal::segment_name(m.timeline, n, seg)))
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
