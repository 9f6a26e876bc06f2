//! The second job of a restore: put the backup's files in place. Only
//! into a missing or empty directory with no server running; the stored
//! base.tar.zst is hashed while it is unpacked (`unpack`, writer threads),
//! and `global/pg_control` is written last, after every directory is
//! synced, so an interrupted restore cannot be started.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use sw_core::cluster::{Cluster, Status};
use sw_core::fsutil::{self, q};
use sw_core::progress::{Progress, Unit};
use sw_core::repo::object::HashReader;
use sw_core::repo::{Area, BackupManifest};
use sw_core::{Error, IoContext, Result};

/// Refuse a running cluster or a non-empty directory.
///
/// # Errors
/// 73 when a server runs there or the directory is not empty; 74 when it
/// cannot be read.
pub fn check_destination(cluster: &Cluster) -> Result<()> {
    let dir = &cluster.datadir;
    if dir.join("PG_VERSION").exists() || dir.join("postmaster.pid").exists() {
        if let Ok(Status::Running(pid)) = cluster.status() {
            return Err(Error::cant_create(format!(
                "a cluster is running in {} (pid {pid}); refusing to restore over it",
                q(dir)
            )));
        }
        if dir.join("postmaster.pid").exists() {
            return Err(Error::cant_create(format!(
                "{} has a postmaster.pid: a server may be running there; refusing to restore over it",
                q(dir)
            )));
        }
    }
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(Error::cant_create(format!(
                    "{} is not empty; sw-restore only restores into an empty or missing directory",
                    q(dir)
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("reading {}", q(dir))).with_source(e)),
    }
    Ok(())
}

/// Extract backup `b` into `dest` (private to the server's user: 0700);
/// pg_control is written last so an interrupted restore cannot be started.
/// Returns the bytes of the files written.
///
/// # Errors
/// 65 when the stored backup does not match its manifest or holds an
/// unsafe path; 69 for a tablespace or a link; 73/74 writing.
pub fn extract(area: &Area, b: &BackupManifest, dest: &Path) -> Result<u64> {
    let t0 = Instant::now();
    let progress = Progress::new_meter("sw-restore", Unit::Bytes);
    progress.meter().phase("restoring files", b.database_bytes);
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700))
        .io_context(|| format!("setting permissions on {}", q(dest)))?;
    if b.chunked.is_some() {
        let (bytes, control) = super::assemble::extract(area, b, dest, progress.meter())?;
        log::debug!("assembled in {:.2}s", t0.elapsed().as_secs_f64());
        finish(dest, &control)?;
        return Ok(bytes);
    }
    for f in &b.files {
        if f.name != "base.tar.zst" && f.name != "backup_manifest" {
            return Err(Error::unavailable(format!(
                "backup {} holds {} (a tablespace); restoring tablespaces is not supported",
                b.id, f.name
            )));
        }
    }
    let entry = b
        .files
        .iter()
        .find(|f| f.name == "base.tar.zst")
        .ok_or_else(|| Error::data(format!("backup {} has no base.tar.zst", b.id)))?;
    let path = area.backup_dir().join(&b.id).join("base.tar.zst");
    // A directory's file is opened as before; Blob streams it.
    let file: Box<dyn std::io::Read + Send> = if area.repo.is_blob() {
        area.repo
            .reader(&area.key(&format!("backup/{}/base.tar.zst", b.id)), entry.size)?
    } else {
        Box::new(fsutil::open_nofollow(&path)?)
    };
    let mut hr = HashReader::new(std::io::BufReader::with_capacity(1 << 20, file));
    let key = area.key(&format!("backup/{}/base.tar.zst", b.id));
    let (bytes, control) = {
        // Encrypted: every chunk's tag is checked before its bytes reach
        // zstd, and the rest is read to the end so a cut-off last chunk fails.
        let mut plain = sw_core::repo::seal::unseal(area.repo.seal_for(&key)?, Box::new(&mut hr))?;
        let dec = zstd::Decoder::new(&mut plain).io_context(|| format!("reading {}", q(&path)))?;
        let done = super::unpack::unpack(dec, dest, &q(&path), progress.meter())?;
        std::io::copy(&mut plain, &mut std::io::sink())
            .map_err(|e| sw_core::crypt::error_from_io(e).context(format!("reading {}", q(&path))))?;
        done
    };
    std::io::copy(&mut hr, &mut std::io::sink()).io_context(|| format!("reading {}", q(&path)))?;
    let (n, sha) = hr.finish();
    if n != entry.size || sha != entry.sha256 {
        return Err(Error::data(format!(
            "{} does not match its manifest (SHA-256 {sha}, expected {}); the restore in {} is unusable (pg_control was not written)",
            q(&path),
            entry.sha256,
            q(dest)
        )));
    }
    let control = control.ok_or_else(|| Error::data(format!("{} holds no global/pg_control", q(&path))))?;
    log::debug!("unpacked in {:.2}s", t0.elapsed().as_secs_f64());
    finish(dest, &control)?;
    Ok(bytes)
}

/// The end of either kind of restore: pg_wal, every directory synced,
/// then pg_control.
fn finish(dest: &Path, control: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dest.join("pg_wal/archive_status"))
        .io_context(|| format!("creating pg_wal in {}", q(dest)))?;
    sync_dirs(dest)?;
    fsutil::write_new(&dest.join("global/pg_control"), control, 0o600)
}

/// fsync every directory of a tree, so the entries of the files in it are
/// durable. The files themselves need no second fsync: every one of them
/// was written into the empty destination by the unpack writers, which
/// fsync each file before `unpack` returns.
fn sync_dirs(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).io_context(|| format!("listing {}", q(dir)))? {
        let e = e.io_context(|| format!("listing {}", q(dir)))?;
        let ft = e.file_type().io_context(|| format!("reading {}", q(&e.path())))?;
        if ft.is_dir() {
            sync_dirs(&e.path())?;
        }
    }
    fsutil::fsync_dir(dir)
}
