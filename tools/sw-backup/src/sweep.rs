//! The chunk half of `prune` (issue #18): mark every chunk a remaining
//! backup's file list references, sweep the rest.
//!
//! Safe against a backup running at the same time twice over: prune and
//! `full` hold the same lock, so on one host no chunk is being added while
//! the sweep runs; and a chunk stored less than `--chunk-grace` ago is
//! never swept, which covers a backup of the same area from another host
//! into an azure:// repository (whose lock is local). If any remaining
//! backup's file list cannot be read, nothing is swept: a chunk it
//! references would look unreferenced.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::Utc;
use sw_core::repo::chunks::Chunks;
use sw_core::repo::{Area, BackupManifest, chunkindex};
use sw_core::{Error, Result};

/// A chunk to remove: name and stored bytes.
pub type Doomed = (String, u64);

/// The chunks no backup outside `removed` references and older than
/// `grace`, oldest listing order (by name).
///
/// # Errors
/// 65 when a remaining backup's file list is unreadable; the store's codes.
pub fn plan(area: &Area, backups: &[BackupManifest], removed: &BTreeSet<&str>, grace: Duration) -> Result<Vec<Doomed>> {
    let store = Chunks::new(area);
    let stored = store.list()?;
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let mut marked: HashSet<String> = HashSet::new();
    for b in backups
        .iter()
        .filter(|b| b.chunked.is_some() && !removed.contains(b.id.as_str()))
    {
        let ix = chunkindex::read(area, b).map_err(|e| {
            Error::data(format!(
                "not sweeping chunks: the file list of backup {} cannot be read ({e})",
                b.id
            ))
        })?;
        marked.extend(ix.chunk_names().map(str::to_owned));
    }
    let cutoff = Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    Ok(stored
        .into_iter()
        .filter(|(name, o)| !marked.contains(name) && o.mtime <= cutoff)
        .map(|(name, o)| (name, o.size))
        .collect())
}

/// Remove the planned chunks.
///
/// # Errors
/// The store's codes.
pub fn apply(area: &Area, doomed: &[Doomed]) -> Result<()> {
    let store = Chunks::new(area);
    for (name, _) in doomed {
        store.delete(name)?;
    }
    Ok(())
}
