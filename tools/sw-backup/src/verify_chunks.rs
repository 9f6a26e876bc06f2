//! The chunk half of `verify` (issue #18): every chunked backup's file
//! list is read and each chunk it references looked up in the store (a
//! deleted chunk is named with the backup and file that need it), and
//! every stored chunk is re-read: decrypted, decompressed and hashed back
//! to its name. Without the key of an encrypted repository chunks cannot
//! be opened, so only the references and sizes are checked.

use std::collections::{BTreeMap, BTreeSet};

use sw_core::repo::chunks::{ChunkObject, Chunks};
use sw_core::repo::{Area, BackupManifest, chunkindex};

use crate::verify::{Problem, ProblemKind, area_name};

/// What was checked.
#[derive(Default)]
pub struct Checked {
    pub problems: Vec<Problem>,
    /// Chunks stored, and their stored bytes re-read.
    pub chunks: usize,
    pub hashed_bytes: u64,
}

fn problem(area: &Area, kind: ProblemKind, object: String, backup: Option<&str>, detail: String) -> Problem {
    Problem {
        area: area_name(area),
        problem: kind,
        object,
        backup: backup.map(str::to_owned),
        detail,
    }
}

/// Check the chunks of `area`'s `backups` on `threads` threads; `open`
/// says whether chunks can be read (not an encrypted repository without
/// its key).
pub fn check(area: &Area, backups: &[BackupManifest], threads: u32, open: bool) -> Checked {
    let store = Chunks::new(area);
    let mut out = Checked::default();
    let stored = match store.list() {
        Ok(s) => s,
        Err(e) => {
            out.problems.push(problem(
                area,
                ProblemKind::MissingObject,
                "chunks".into(),
                None,
                e.to_string(),
            ));
            return out;
        }
    };
    for b in backups.iter().filter(|b| b.chunked.is_some()) {
        out.problems.extend(references(area, b, &stored));
    }
    out.chunks = stored.len();
    if open {
        out.hashed_bytes = stored.values().map(|o| o.size).sum();
        out.problems.extend(rehash(area, &store, &stored, threads));
    }
    out
}

/// A problem for each chunk `b` references that is not stored (once per
/// chunk, naming the first file that needs it).
fn references(area: &Area, b: &BackupManifest, stored: &BTreeMap<String, ChunkObject>) -> Vec<Problem> {
    let ix = match chunkindex::read(area, b) {
        Ok(ix) => ix,
        Err(e) => {
            return vec![problem(
                area,
                ProblemKind::BadObject,
                format!("backup/{}/{}", b.id, chunkindex::INDEX_FILE),
                Some(&b.id),
                e.to_string(),
            )];
        }
    };
    let mut seen = BTreeSet::new();
    let mut v = Vec::new();
    for e in &ix.entries {
        for c in &e.chunks {
            if !stored.contains_key(c.name()) && seen.insert(c.name()) {
                v.push(problem(
                    area,
                    ProblemKind::MissingChunk,
                    format!("chunks/{}", c.name()),
                    Some(&b.id),
                    format!(
                        "referenced by {} at offset {} ({} bytes) and not in the repository",
                        e.path,
                        c.offset(),
                        c.len()
                    ),
                ));
            }
        }
    }
    v
}

fn rehash(area: &Area, store: &Chunks<'_>, stored: &BTreeMap<String, ChunkObject>, threads: u32) -> Vec<Problem> {
    let n = usize::try_from(threads).unwrap_or(1).max(1);
    let all: Vec<(&String, &ChunkObject)> = stored.iter().collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let mine: Vec<_> = all.iter().skip(i).step_by(n).collect();
                s.spawn(move || {
                    mine.into_iter()
                        .filter_map(|(name, o)| {
                            store.read(name, o.size).err().map(|e| {
                                let kind = if e.exit() == sw_core::Exit::NoInput {
                                    ProblemKind::MissingChunk
                                } else {
                                    ProblemKind::BadChunk
                                };
                                problem(area, kind, format!("chunks/{name}"), None, e.to_string())
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}
