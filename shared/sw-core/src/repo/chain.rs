//! WAL continuity: which segments recovery from a backup reads, which of
//! them the repository holds, and where the contiguous run ends.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::repo::history::{self, TimelineSpan};
use crate::repo::wal::{self, Lsn, WalKind};
use crate::repo::{Area, BackupManifest, WalObject};

/// The WAL reachable from one backup.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The timeline recovery follows (the newest one whose history
    /// contains the backup).
    pub timeline: u32,
    pub path: Vec<TimelineSpan>,
    /// Segment number where the chain starts (the backup's start).
    pub start_segno: u64,
    /// The last segment of the contiguous run from the start, if any.
    pub last: Option<WalObject>,
    pub last_segno: Option<u64>,
    /// Segments missing between the start and the newest stored segment
    /// on the path (names).
    pub missing: Vec<String>,
}

impl Chain {
    /// The first LSN not covered by the contiguous run.
    pub fn end_lsn(&self, seg_size: u64) -> Option<Lsn> {
        self.last_segno.map(|s| Lsn((s + 1) * seg_size))
    }
}

/// Pick the timeline to follow from a backup: the highest known timeline
/// whose path contains the backup's timeline at its start LSN.
pub fn target_timeline(histories: &BTreeMap<u32, String>, backup_tli: u32, start: Lsn) -> u32 {
    let mut best = backup_tli;
    for (&t, text) in histories {
        if t > best
            && let Ok(p) = history::parse_history(t, text)
            && history::path_contains(&p, backup_tli, start)
        {
            best = t;
        }
    }
    best
}

/// Walk the chain from `backup` along `timeline` (or the newest fitting one).
pub fn walk(
    area: &Area,
    objects: &BTreeMap<String, WalObject>,
    histories: &BTreeMap<u32, String>,
    backup: &BackupManifest,
    timeline: Option<u32>,
) -> Result<Chain> {
    let seg = area.info.wal_segment_size;
    let timeline = timeline.unwrap_or_else(|| target_timeline(histories, backup.timeline, backup.start_lsn));
    let path = area.timeline_path(histories, timeline)?;
    let start_segno = backup.start_lsn.segno(seg);
    let name_at = |segno: u64| wal::segment_name(history::timeline_for_segment(&path, segno, seg), segno, seg);
    let mut segno = start_segno;
    let mut last = None;
    let mut last_segno = None;
    while let Some(o) = objects.get(&name_at(segno)) {
        last = Some(o.clone());
        last_segno = Some(segno);
        segno += 1;
    }
    // The newest segment stored on the path, to name every hole before it.
    let newest = objects
        .values()
        .filter(|o| o.name.kind == WalKind::Segment)
        .map(|o| o.name.segno(seg))
        .filter(|&n| n >= start_segno && objects.contains_key(&name_at(n)))
        .max();
    let mut missing = Vec::new();
    if let Some(newest) = newest {
        for n in start_segno..=newest {
            let name = name_at(n);
            if !objects.contains_key(&name) {
                missing.push(name);
            }
        }
    }
    Ok(Chain {
        timeline,
        path,
        start_segno,
        last,
        last_segno,
        missing,
    })
}
