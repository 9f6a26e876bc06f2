//! The WAL half of `sw-backup verify`: WAL names stored twice with
//! different content, unreadable timeline history, and segments missing
//! between each backup and the newest stored segment on its timeline path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sw_core::repo::{Area, BackupManifest, WalObject, chain};

use crate::verify::{Problem, ProblemKind, area_name};

/// How many stored objects each WAL name has (normally one).
fn copies_per_name(wal: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    let mut dirs = vec![wal.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if d == wal {
                    dirs.push(p);
                }
                continue;
            }
            if let Some((name, _)) = sw_core::repo::parse_object_name(&e.file_name().to_string_lossy()) {
                *m.entry(name.name).or_insert(0) += 1;
            }
        }
    }
    m
}

/// Every WAL problem of one area, in the order verify prints them.
pub fn problems(area: &Area, objects: &BTreeMap<String, WalObject>, backups: &[BackupManifest]) -> Vec<Problem> {
    let an = area_name(area);
    let problem = |problem, object: String, backup: Option<&BackupManifest>, detail: String| Problem {
        area: an.clone(),
        problem,
        object,
        backup: backup.map(|b| b.id.clone()),
        detail,
    };
    let mut out = Vec::new();
    // Two different copies stored under one WAL name (the pushes of
    // old versions could race): restores refuse such a file.
    let copies = if area.repo.is_blob() {
        let mut m = BTreeMap::new();
        for o in area.blob_wal_copies().unwrap_or_default() {
            *m.entry(o.name.name).or_insert(0) += 1;
        }
        m
    } else {
        copies_per_name(&area.wal_dir())
    };
    for (name, n) in copies {
        if n > 1 {
            out.push(problem(
                ProblemKind::ConflictingCopies,
                name.clone(),
                None,
                format!(
                    "{n} different copies of {name} are stored; keep the one the server wrote and move the others away"
                ),
            ));
        }
    }
    let histories = match area.histories_in(objects) {
        Ok(h) => h,
        Err(e) => {
            out.push(problem(
                ProblemKind::UnreadableHistory,
                "wal/*.history".into(),
                None,
                e.to_string(),
            ));
            BTreeMap::new()
        }
    };
    let mut seen = BTreeSet::new();
    for b in backups {
        let c = match chain::walk(area, objects, &histories, b, None) {
            Ok(c) => c,
            Err(e) => {
                out.push(problem(
                    ProblemKind::UnreadableHistory,
                    format!("timeline of backup {}", b.id),
                    Some(b),
                    e.to_string(),
                ));
                continue;
            }
        };
        let seg = area.info.wal_segment_size;
        let stop_segno = sw_core::repo::wal::stop_segno(b.start_lsn, b.stop_lsn, seg);
        if c.last_segno.is_none_or(|l| l < stop_segno) && c.missing.is_empty() {
            out.push(problem(
                ProblemKind::MissingSegment,
                b.stop_wal.clone(),
                Some(b),
                format!("backup {} needs WAL up to {} to be consistent", b.id, b.stop_wal),
            ));
        }
        // A pinned backup outlives the WAL after it (prune keeps only
        // what makes it consistent): check its own range only.
        let own_end = sw_core::repo::wal::segment_name(c.timeline, stop_segno, seg);
        for m in c.missing {
            if b.pinned && m.get(8..) > own_end.get(8..) {
                continue;
            }
            if seen.insert(m.clone()) {
                let detail = format!(
                    "WAL segment {m} is missing: no restore from backup {} can pass it",
                    b.id
                );
                out.push(problem(ProblemKind::MissingSegment, m, Some(b), detail));
            }
        }
    }
    out
}
