//! `sw-backup wal-push %p`: the archive_command.
//!
//! Exit 0 only once the file is durable in the repository (temp file,
//! fsync, rename without replace, directory fsync), or when an identical
//! copy is already stored. A different copy under the same name is refused
//! and the repository left unchanged. Every failure exits 1..125 (sw's
//! codes are at most 78): PostgreSQL treats higher codes like a signal.
//!
//! On an `azure://` repository "durable" is the service's acknowledgement
//! of a write-once Put Blob of the compressed segment (Azure stores it
//! before answering), with every request bounded by `--timeout`.

use std::fs::{File, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use sw_core::cli::RepoOpts;
use sw_core::fsutil::{self, q};
use sw_core::repo::object::{self, ReadFailure};
use sw_core::repo::wal::{self, WalKind, WalName};
use sw_core::repo::{Area, Repo, WalObject};
use sw_core::{Error, IoContext, Result};

use crate::identity::identity;

/// Flags of `sw-backup wal-push`.
#[derive(Args, Debug)]
pub struct WalPushArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// The cluster's data directory (default: the current directory, where the archiver runs archive_command).
    #[arg(long, value_name = "DIR")]
    pub pgdata: Option<PathBuf>,
    /// Give up (exit 75, nothing acknowledged) when archiving this file takes longer, so a hung filesystem cannot stall the archiver for ever.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = sw_core::duration::parse)]
    pub timeout: Duration,
    /// The WAL file to archive (%p).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

/// Largest history or backup-label file accepted.
const SMALL_MAX: u64 = 1 << 20;

/// End the process with 75 (EX_TEMPFAIL: the archiver retries) once
/// `timeout` has passed: nothing was acknowledged, and a temp file left
/// behind is never taken for an object.
#[allow(
    clippy::disallowed_methods,
    reason = "the watchdog thread must end the process while the main thread is blocked in a filesystem call; no error can be returned from there"
)]
fn watchdog(timeout: Duration, what: String) {
    std::thread::spawn(move || {
        std::thread::sleep(timeout);
        eprintln!(
            "sw-backup: error: archiving {what} took longer than {}s (--timeout); nothing was acknowledged",
            timeout.as_secs()
        );
        std::process::exit(i32::from(sw_core::Exit::TempFail.code()));
    });
}

pub fn run(a: &WalPushArgs) -> Result<()> {
    watchdog(a.timeout, a.path.display().to_string());
    let file = a
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .ok_or_else(|| Error::usage(format!("{} has no file name", q(&a.path))))?;
    let name = WalName::parse(&file)?;
    let pgdata = match &a.pgdata {
        Some(p) => p.clone(),
        None => std::env::current_dir().io_context(|| "reading the current directory".into())?,
    };
    let (sysid, major) = identity(&pgdata).map_err(|e| {
        e.context(format!(
            "wal-push needs the cluster's data directory (run by the archiver from it, or pass --pgdata); {} is not one",
            q(&pgdata)
        ))
    })?;
    // The watchdog ends the process at the timeout; Blob requests stop a
    // moment before, so the error names what hung.
    let deadline = Instant::now() + a.timeout.mul_f64(0.95);
    let repo = Repo::open_opts(&a.repo)?.with_deadline(Some(deadline));
    let area = repo.area_required(&sysid, major)?;
    let path = if a.path.is_absolute() {
        a.path.clone()
    } else {
        pgdata.join(&a.path)
    };
    let mut f = fsutil::open_nofollow(&path)?;
    let mut data = Vec::new();
    f.read_to_end(&mut data)
        .io_context(|| format!("reading {}", q(&path)))?;
    validate(&area, &name, &data, &sysid, major)?;
    if repo.is_blob() {
        return push_blob(&area, &name, &data);
    }
    let stored = push(&area, &name, &data)?;
    // Acknowledged by the primary; the off-site copy gets what is left of
    // a short budget, so an outage there never slows the archiver much.
    let until = deadline.min(Instant::now() + (a.timeout / 4).min(OFFSITE_BUDGET));
    crate::sync::after_push(&area, &stored, until);
    Ok(())
}

/// The most a push spends copying queued WAL off-site.
const OFFSITE_BUDGET: Duration = Duration::from_secs(10);

/// The file name of a stored object.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What an object already stored under `name` means for a push of `data`.
fn compare_existing(area: &Area, name: &WalName, o: &WalObject, data: &[u8]) -> Result<()> {
    let want = object::sha256_hex(data);
    match object::decompress_object(area, o, &mut std::io::sink()) {
        Ok((_, raw)) if raw == want => {
            log::info!("{} is already archived with identical content", name.name);
            Ok(())
        }
        Ok(_) => Err(Error::data(format!(
            "{} is already archived with DIFFERENT content ({}); repository left unchanged. Another cluster with the same system identifier may be archiving here",
            name.name,
            q(&o.path)
        ))),
        Err(ReadFailure::Corrupt(msg)) => Err(Error::data(format!(
            "{} is already archived but the stored copy is corrupt ({msg}); repository left unchanged: run `sw-backup verify`",
            name.name
        ))),
        Err(ReadFailure::Io(e)) => Err(e),
    }
}

/// Store into Blob Storage: compressed in memory (a segment is at most
/// 1 GB, normally 16 MB) and written once under its hash. There is no
/// directory lock to take: two pushes of the same content write the same
/// key (the second gets "exists, same"); two different copies racing would
/// land under two names, which `wal-fetch` refuses and `verify` names.
fn push_blob(area: &Area, name: &WalName, data: &[u8]) -> Result<()> {
    if let Some(o) = area.find_wal(name)?.first() {
        return compare_existing(area, name, o, data);
    }
    let sub = name.dir().map_or_else(String::new, |d| format!("{d}/"));
    let seal = area.repo.seal_for(&area.wal_object_id(name))?;
    let (bytes, st) = object::compress_to_vec_sealed(data, object::WAL_LEVEL, seal)?;
    let key = area.key(&format!("wal/{sub}{}-{}.zst", name.name, st.sha256));
    sw_core::repo::remote::put_once(&area.repo, &key, &bytes)?;
    log::info!("archived {} ({} -> {} bytes)", name.name, st.raw_size, st.size);
    Ok(())
}

fn validate(area: &Area, name: &WalName, data: &[u8], sysid: &str, major: u32) -> Result<()> {
    let seg = area.info.wal_segment_size;
    match name.kind {
        WalKind::Segment | WalKind::Partial => {
            if data.len() as u64 != seg {
                return Err(Error::data(format!(
                    "{} is {} bytes; WAL segments of this cluster are {seg}",
                    name.name,
                    data.len()
                )));
            }
            let h = wal::long_header(data)
                .ok_or_else(|| Error::data(format!("{} does not start with a WAL long page header", name.name)))?;
            if wal::major_for_magic(h.magic) != Some(major) {
                return Err(Error::data(format!(
                    "{} has WAL page magic {:#06X}, not PostgreSQL {major}'s",
                    name.name, h.magic
                )));
            }
            if h.system_identifier.to_string() != sysid {
                return Err(Error::data(format!(
                    "{} belongs to system identifier {}, not {sysid}; refusing WAL from another cluster",
                    name.name, h.system_identifier
                )));
            }
            if h.pageaddr != name.segno(seg) * seg || u64::from(h.seg_size) != seg {
                return Err(Error::data(format!(
                    "{}'s header (address {:X}, segment size {}) does not match its name",
                    name.name, h.pageaddr, h.seg_size
                )));
            }
        }
        WalKind::History | WalKind::Backup => {
            if data.len() as u64 > SMALL_MAX || std::str::from_utf8(data).is_err() {
                return Err(Error::data(format!("{} is not a text file under 1 MB", name.name)));
            }
            if name.kind == WalKind::History {
                sw_core::repo::history::parse_history(name.timeline, &String::from_utf8_lossy(data))?;
            }
        }
    }
    Ok(())
}

/// Hold an exclusive lock on the directory a WAL file is stored in, so two
/// pushes of one name (e.g. two different copies at the same moment) are
/// decided one after the other. Released when the file is dropped.
fn lock_dir(dir: &Path) -> Result<File> {
    let f = File::open(dir).io_context(|| format!("opening {}", q(dir)))?;
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(20)),
            Err(TryLockError::Error(e)) => return Err(Error::io(format!("locking {}", q(dir))).with_source(e)),
        }
    }
}

/// Store into the directory; the stored object's file name.
fn push(area: &Area, name: &WalName, data: &[u8]) -> Result<String> {
    let dir = area.wal_dir_for(name);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).io_context(|| format!("creating {}", q(&dir)))?;
        area.repo.adopt(&dir)?;
    }
    // Make the directory's own entry durable before anything is stored in it.
    fsutil::fsync_dir(dir.parent().unwrap_or(&dir))?;
    let t = Instant::now();
    let _lock = lock_dir(&dir)?;
    if t.elapsed() > Duration::from_secs(1) {
        log::info!(
            "waited {:.1}s for another push into {}",
            t.elapsed().as_secs_f64(),
            q(&dir)
        );
    }
    let existing = area.find_wal(name)?;
    if let Some(o) = existing.first() {
        let want = object::sha256_hex(data);
        let mut sink = std::io::sink();
        return match object::decompress_object(area, o, &mut sink) {
            Ok((_, raw)) if raw == want => {
                // It may be there from a push that died before making it
                // durable: make sure before acknowledging.
                File::open(&o.path)
                    .and_then(|f| f.sync_all())
                    .io_context(|| format!("syncing {}", q(&o.path)))?;
                fsutil::fsync_dir(&dir)?;
                log::info!("{} is already archived with identical content", name.name);
                Ok(file_name(&o.path))
            }
            Ok(_) => Err(Error::data(format!(
                "{} is already archived with DIFFERENT content ({}); repository left unchanged. Another cluster with the same system identifier may be archiving here",
                name.name,
                q(&o.path)
            ))),
            Err(ReadFailure::Corrupt(msg)) => Err(Error::data(format!(
                "{} is already archived but the stored copy is corrupt ({msg}); repository left unchanged: run `sw-backup verify`",
                name.name
            ))),
            Err(ReadFailure::Io(e)) => Err(e),
        };
    }
    let near = dir.join(&name.name);
    let seal = area.repo.seal_for(&area.wal_object_id(name))?;
    let (bytes, st) = object::compress_to_vec_sealed(data, object::WAL_LEVEL, seal)?;
    let tmp = object::bytes_to_temp(&bytes, &near)?;
    let final_path = dir.join(format!("{}-{}.zst", name.name, st.sha256));
    // Under the directory lock nobody else can have stored it meanwhile.
    fsutil::persist_new(tmp, &final_path)?;
    area.repo.adopt(&final_path)?;
    log::info!("archived {} ({} -> {} bytes)", name.name, st.raw_size, st.size);
    Ok(file_name(&final_path))
}
