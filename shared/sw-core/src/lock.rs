//! flock-based locks for work that must never run twice at once (backups,
//! prune, timer-driven checks). The kernel releases the lock when the
//! process dies, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::fsutil::q;

/// A held lock; released on drop (or process exit).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    /// Take the lock at `path` without waiting.
    ///
    /// # Errors
    /// 75 when another process holds it (naming `what` and the holder's pid).
    pub fn try_acquire(path: &Path, what: &str) -> Result<Lock> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).io_context(|| format!("creating {}", q(dir)))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .io_context(|| format!("opening lock file {}", q(path)))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                return Err(Error::temp(format!(
                    "another {what} is running{who}; lock {} is held",
                    q(path)
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {}", q(path))).with_source(e));
            }
        }
        // Record the holder for the message above; content is advisory only.
        let _ = file.set_len(0);
        let _ = write!(file, "{}", std::process::id());
        Ok(Lock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_gets_tempfail() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.lock");
        let held = Lock::try_acquire(&p, "backup").unwrap();
        let e = Lock::try_acquire(&p, "backup").unwrap_err();
        assert_eq!(e.exit(), crate::Exit::TempFail);
        assert!(e.to_string().contains("another backup is running"), "{e}");
        drop(held);
        Lock::try_acquire(&p, "backup").unwrap();
    }
}
