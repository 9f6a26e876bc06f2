//! Durable file writes: never a half-written file under a final name.
//!
//! Pattern everywhere: write a temp file in the same directory (so rename is
//! atomic), fsync it, rename into place, fsync the directory (so the rename
//! itself survives a crash).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// Quote a path for messages.
pub fn q(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// fsync a directory so renames and creations in it are durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).io_context(|| format!("opening directory {}", q(dir)))?;
    d.sync_all().io_context(|| format!("syncing directory {}", q(dir)))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Create a temp file beside `path` with `mode` from the first byte.
fn temp_beside(path: &Path, mode: u32) -> Result<tempfile::NamedTempFile> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .io_context(|| format!("creating a temp file in {}", q(&dir)))
}

/// Atomically replace (or create) `path` with `data`, the new file having
/// `mode` from its first byte. Refuses to replace a symlink.
pub fn atomic_write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    refuse_symlink(path)?;
    let mut tmp = temp_beside(path, mode)?;
    tmp.write_all(data).io_context(|| format!("writing {}", q(path)))?;
    tmp.as_file().sync_all().io_context(|| format!("syncing {}", q(path)))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("renaming into {}", q(path))).with_source(e.error))?;
    fsync_dir(&parent_of(path))
}

/// Write `data` to a new file at `path`, failing with exit 73 if something
/// is already there: the object appears complete or not at all.
pub fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let mut tmp = temp_beside(path, mode)?;
    tmp.write_all(data).io_context(|| format!("writing {}", q(path)))?;
    tmp.as_file().sync_all().io_context(|| format!("syncing {}", q(path)))?;
    persist_new(tmp, path)
}

/// Move a finished temp file to `path` without replacing anything there
/// (hard link, then unlink the temp name), then fsync the directory.
pub fn persist_new(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    match tmp.persist_noclobber(path) {
        Ok(_) => fsync_dir(&parent_of(path)),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::cant_create(format!("{} already exists", q(path))))
        }
        Err(e) => Err(Error::io(format!("renaming into {}", q(path))).with_source(e.error)),
    }
}

/// A temp file beside `path` for streaming writes; finish it with
/// [`persist_new`] or [`tempfile::NamedTempFile::persist`].
pub fn temp_for(path: &Path, mode: u32) -> Result<tempfile::NamedTempFile> {
    temp_beside(path, mode)
}

/// Fail with exit 73 if `path` is a symlink.
pub fn refuse_symlink(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::cant_create(format!(
            "{} is a symlink; refusing to write through it",
            q(path)
        ))),
        _ => Ok(()),
    }
}

/// Open a file for reading without following a symlink at the last component.
pub fn open_nofollow(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
        .io_context(|| format!("opening {}", q(path)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        atomic_write(&p, b"one", 0o600).unwrap();
        atomic_write(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1, "no temp files left");
    }

    #[test]
    fn write_new_refuses_existing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("obj");
        write_new(&p, b"a", 0o640).unwrap();
        let e = write_new(&p, b"b", 0o640).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::CantCreat);
        assert_eq!(fs::read(&p).unwrap(), b"a");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlinks_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("real");
        fs::write(&target, "x").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(atomic_write(&link, b"y", 0o600).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"x");
        assert!(open_nofollow(&link).is_err());
    }
}
