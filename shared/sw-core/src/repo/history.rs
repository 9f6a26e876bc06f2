//! Timeline history files and the path of timelines recovery follows.

use crate::error::{Error, Result};
use crate::repo::wal::Lsn;

/// One step of a timeline path: `timeline` is valid from `begin` (inclusive)
/// to `end` (exclusive; `None` for the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineSpan {
    pub timeline: u32,
    pub begin: Lsn,
    pub end: Option<Lsn>,
}

/// Parse the body of `<T>.history` into the path ending at timeline `t`.
pub fn parse_history(t: u32, text: &str) -> Result<Vec<TimelineSpan>> {
    let mut spans = Vec::new();
    let mut begin = Lsn(0);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split_whitespace();
        let (Some(tli), Some(lsn)) = (f.next(), f.next()) else {
            return Err(Error::data(format!(
                "history file of timeline {t}: line {} is malformed",
                i + 1
            )));
        };
        let tli: u32 = tli
            .parse()
            .map_err(|_| Error::data(format!("history file of timeline {t}: bad timeline on line {}", i + 1)))?;
        let end = Lsn::parse(lsn)
            .map_err(|_| Error::data(format!("history file of timeline {t}: bad LSN on line {}", i + 1)))?;
        if tli >= t || spans.iter().any(|s: &TimelineSpan| s.timeline >= tli) || end < begin {
            return Err(Error::data(format!(
                "history file of timeline {t}: line {} is out of order",
                i + 1
            )));
        }
        spans.push(TimelineSpan {
            timeline: tli,
            begin,
            end: Some(end),
        });
        begin = end;
    }
    spans.push(TimelineSpan {
        timeline: t,
        begin,
        end: None,
    });
    Ok(spans)
}

/// The timeline recovery reads segment `segno` from, following `path`:
/// the newest span that has begun by the segment's start (the segment
/// holding a switch point is read from the new timeline).
pub fn timeline_for_segment(path: &[TimelineSpan], segno: u64, seg_size: u64) -> u32 {
    let mut tli = path.first().map_or(1, |s| s.timeline);
    for s in path {
        if s.begin.segno(seg_size) <= segno {
            tli = s.timeline;
        }
    }
    tli
}

/// Whether a backup on `timeline` starting at `start` lies on `path`
/// (it did not start after its timeline was left).
pub fn path_contains(path: &[TimelineSpan], timeline: u32, start: Lsn) -> bool {
    path.iter()
        .any(|s| s.timeline == timeline && s.begin <= start && s.end.is_none_or(|e| start < e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_path() {
        let p = parse_history(
            3,
            "1\t0/3000000\tno recovery target specified\n\n2\t0/5000100\tbefore 2026\n",
        )
        .unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].begin, Lsn(0x500_0100));
        let seg = 16 << 20;
        assert_eq!(timeline_for_segment(&p, 2, seg), 1);
        assert_eq!(timeline_for_segment(&p, 3, seg), 2);
        assert_eq!(timeline_for_segment(&p, 5, seg), 3);
        assert!(path_contains(&p, 1, Lsn(0x200_0000)));
        assert!(!path_contains(&p, 1, Lsn(0x400_0000)));
        assert!(parse_history(2, "5 0/1 x").is_err());
    }
}
