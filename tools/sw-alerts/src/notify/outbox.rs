//! The outbox: one file per (alert, channel) pair, written durably before
//! any delivery is tried, removed once delivered, moved to `rejected/` when
//! the receiver refuses the payload, and otherwise left for the next run.
//! File names sort in the order the alerts came in, so each channel gets
//! its alerts in order. The directory is flock-protected: one notify at a
//! time per outbox.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sw_core::fsutil::q;
use sw_core::lock::Lock;
use sw_core::{Error, IoContext, Result};

use super::channel::Channel;
use super::config::ChannelKind;
use crate::alert::{Alert, AlertStatus};

/// An outbox entry: one alert for one channel (a file of its own; the
/// format stays what it always was, for entries queued by older versions).
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// The channel's id.
    pub channel: String,
    pub kind: ChannelKind,
    pub event: Alert,
}

/// An open (locked) outbox.
pub struct Outbox {
    dir: PathBuf,
    _lock: Lock,
    /// Files were removed or moved: the directory needs an fsync.
    changed: bool,
}

impl Outbox {
    /// Create (if need be) and lock the outbox at `dir`.
    ///
    /// # Errors
    /// 75 when another notify holds it; 74 (77) when it cannot be created.
    pub fn open(dir: PathBuf) -> Result<Outbox> {
        std::fs::create_dir_all(&dir).io_context(|| format!("creating {}", q(&dir)))?;
        let lock = Lock::try_acquire(&dir.join(".lock"), "sw-alerts notify with this outbox")?;
        Ok(Outbox {
            dir,
            _lock: lock,
            changed: false,
        })
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where rejected payloads go.
    pub fn rejected_dir(&self) -> PathBuf {
        self.dir.join("rejected")
    }

    /// Queue every alert for every channel that takes it (resolved ones
    /// only where send_resolved holds).
    ///
    /// # Errors
    /// 73/74 when an entry cannot be written.
    pub fn enqueue(&self, alerts: &[Alert], chans: &[Channel]) -> Result<()> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut seq = 0u32;
        for e in alerts {
            for c in chans {
                if e.status == AlertStatus::Resolved && !c.send_resolved {
                    continue;
                }
                let job = Job {
                    channel: c.id.clone(),
                    kind: c.kind,
                    event: e.clone(),
                };
                let data = serde_json::to_vec(&job).map_err(|e| Error::software("encoding a job").with_source(e))?;
                let path = self.dir.join(format!("{stamp:024}-{seq:06}-{}.json", c.id));
                seq += 1;
                sw_core::fsutil::write_new(&path, &data, 0o600)?;
            }
        }
        Ok(())
    }

    /// The queued entries, oldest first.
    ///
    /// # Errors
    /// 74 when the directory cannot be listed.
    pub fn pending(&self) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .io_context(|| format!("listing {}", q(&self.dir)))?
            .filter_map(|d| d.ok().map(|d| d.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Read one entry; `None` (with a warning) when it is not one.
    ///
    /// # Errors
    /// 74 when it cannot be read.
    pub fn read(path: &Path) -> Result<Option<Job>> {
        let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
        match serde_json::from_str(&text) {
            Ok(j) => Ok(Some(j)),
            Err(e) => {
                log::warn!("skipping unreadable outbox entry {}: {e}", q(path));
                Ok(None)
            }
        }
    }

    /// A delivered entry leaves the outbox.
    ///
    /// # Errors
    /// 74 when it cannot be removed.
    pub fn remove(&mut self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).io_context(|| format!("removing {}", q(path)))?;
        self.changed = true;
        Ok(())
    }

    /// A rejected entry is kept for inspection, out of the way of the
    /// channel's later alerts.
    ///
    /// # Errors
    /// 74 when it cannot be moved.
    pub fn reject(&mut self, path: &Path) -> Result<()> {
        let dir = self.rejected_dir();
        std::fs::create_dir_all(&dir).io_context(|| format!("creating {}", q(&dir)))?;
        let to = dir.join(path.file_name().unwrap_or_default());
        std::fs::rename(path, &to).io_context(|| format!("moving {} to {}", q(path), q(&to)))?;
        sw_core::fsutil::fsync_dir(&dir)?;
        self.changed = true;
        Ok(())
    }

    /// Make removals and moves durable.
    ///
    /// # Errors
    /// 74 when the directory cannot be synced.
    pub fn sync(&self) -> Result<()> {
        if self.changed {
            sw_core::fsutil::fsync_dir(&self.dir)?;
        }
        Ok(())
    }
}
