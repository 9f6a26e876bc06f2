//! WAL file names, LSNs and segment arithmetic, as PostgreSQL defines them
//! (src/include/access/xlog_internal.h).

use std::fmt;

use crate::error::{Error, Result};

/// A WAL location (LSN), printed as PostgreSQL does: `16/B374D848`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parse `X/Y` (hex).
    pub fn parse(s: &str) -> Result<Lsn> {
        let bad = || Error::usage(format!("{s:?} is not an LSN (expected hex X/Y such as 0/3000060)"));
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| bad())?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| bad())?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }

    /// The segment number holding this location.
    pub fn segno(self, seg_size: u64) -> u64 {
        self.0 / seg_size
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Lsn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Lsn, D::Error> {
        let s = String::deserialize(d)?;
        Lsn::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// In record schemas an LSN is a string in PostgreSQL's notation.
impl schemars::JsonSchema for Lsn {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Lsn".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "a WAL location (LSN), hex X/Y as PostgreSQL prints it (0/3000060)"
        })
    }
}

/// What kind of file in pg_wal a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WalKind {
    /// A complete segment: `000000010000000000000003`.
    Segment,
    /// The last, incomplete segment of an old timeline: `...03.partial`.
    Partial,
    /// A backup history file: `...03.00000028.backup`.
    Backup,
    /// A timeline history file: `00000002.history`.
    History,
}

/// A parsed WAL file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalName {
    pub timeline: u32,
    /// Segment number (`log * segments_per_id + seg`); 0 for history files.
    pub log: u32,
    pub seg: u32,
    pub kind: WalKind,
    /// The full file name.
    pub name: String,
}

fn hex8(s: &str) -> Option<u32> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()) {
        u32::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

impl WalName {
    /// Parse a file name (no directory). Anything else is an error (65).
    pub fn parse(name: &str) -> Result<WalName> {
        let bad = || {
            Error::data(format!(
                "{name:?} is not a WAL file name (segment, .partial, .backup or .history)"
            ))
        };
        if let Some(t) = name.strip_suffix(".history") {
            let timeline = hex8(t).ok_or_else(bad)?;
            return Ok(WalName {
                timeline,
                log: 0,
                seg: 0,
                kind: WalKind::History,
                name: name.to_owned(),
            });
        }
        let base = name.get(..24).ok_or_else(bad)?;
        let rest = &name[24..];
        let kind = match rest {
            "" => WalKind::Segment,
            ".partial" => WalKind::Partial,
            r if r.len() == 16
                && r.starts_with('.')
                && r.ends_with(".backup")
                && r.get(1..9).and_then(hex8).is_some() =>
            {
                WalKind::Backup
            }
            _ => return Err(bad()),
        };
        let timeline = hex8(&base[0..8]).ok_or_else(bad)?;
        let log = hex8(&base[8..16]).ok_or_else(bad)?;
        let seg = hex8(&base[16..24]).ok_or_else(bad)?;
        if timeline == 0 {
            return Err(bad());
        }
        Ok(WalName {
            timeline,
            log,
            seg,
            kind,
            name: name.to_owned(),
        })
    }

    /// The segment number for a segment size.
    pub fn segno(&self, seg_size: u64) -> u64 {
        u64::from(self.log) * segments_per_id(seg_size) + u64::from(self.seg)
    }

    /// The directory (relative to the area's `wal/`) this file is stored
    /// under: the first 16 characters for segment-like files, the root for
    /// history files.
    pub fn dir(&self) -> Option<&str> {
        match self.kind {
            WalKind::History => None,
            _ => self.name.get(..16),
        }
    }
}

/// The last segment a backup from `start` to `stop` needs to become
/// consistent: the one holding the byte before `stop` (which may sit on a
/// segment boundary), never one before `start`'s.
pub fn stop_segno(start: Lsn, stop: Lsn, seg_size: u64) -> u64 {
    stop.0.saturating_sub(1).max(start.0) / seg_size
}

/// Segments per 4 GB "log" id.
pub fn segments_per_id(seg_size: u64) -> u64 {
    0x1_0000_0000 / seg_size.max(1)
}

/// The file name of segment `segno` on `timeline`.
pub fn segment_name(timeline: u32, segno: u64, seg_size: u64) -> String {
    let per = segments_per_id(seg_size);
    format!("{timeline:08X}{:08X}{:08X}", segno / per, segno % per)
}

/// The history file name of `timeline`.
pub fn history_name(timeline: u32) -> String {
    format!("{timeline:08X}.history")
}

/// Magic numbers of WAL page headers by PostgreSQL major version.
pub fn major_for_magic(magic: u16) -> Option<u32> {
    match magic {
        0xD101 => Some(12),
        0xD106 => Some(13),
        0xD10D => Some(14),
        0xD110 => Some(15),
        0xD113 => Some(16),
        0xD116 => Some(17),
        0xD118 => Some(18),
        _ => None,
    }
}

/// The fields of a segment's first (long) page header that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongHeader {
    pub magic: u16,
    pub timeline: u32,
    pub pageaddr: u64,
    pub system_identifier: u64,
    pub seg_size: u32,
    pub block_size: u32,
}

/// Read the long page header at the start of a segment (little-endian,
/// as on every platform sw runs on).
pub fn long_header(first: &[u8]) -> Option<LongHeader> {
    if first.len() < 40 {
        return None;
    }
    let u16_at = |o: usize| u16::from_le_bytes([first[o], first[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([first[o], first[o + 1], first[o + 2], first[o + 3]]);
    let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
    let info = u16_at(2);
    // XLP_LONG_HEADER
    if info & 0x0002 == 0 {
        return None;
    }
    Some(LongHeader {
        magic: u16_at(0),
        timeline: u32_at(4),
        pageaddr: u64_at(8),
        system_identifier: u64_at(24),
        seg_size: u32_at(32),
        block_size: u32_at(36),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_on_a_segment_boundary_needs_only_the_segment_before_it() {
        let seg = 16 << 20;
        assert_eq!(stop_segno(Lsn(0x0200_0028), Lsn(0x0200_0138), seg), 2);
        assert_eq!(stop_segno(Lsn(0x0200_0028), Lsn(0x0300_0000), seg), 2);
        assert_eq!(stop_segno(Lsn(0x0300_0000), Lsn(0x0300_0000), seg), 3);
    }

    #[test]
    fn names_parse() {
        let w = WalName::parse("00000002000000010000000A").unwrap();
        assert_eq!((w.timeline, w.log, w.seg, w.kind), (2, 1, 10, WalKind::Segment));
        assert_eq!(w.segno(16 << 20), 256 + 10);
        assert_eq!(segment_name(2, 266, 16 << 20), "00000002000000010000000A");
        assert_eq!(
            WalName::parse("000000010000000000000003.partial").unwrap().kind,
            WalKind::Partial
        );
        assert_eq!(
            WalName::parse("000000010000000000000003.00000028.backup").unwrap().kind,
            WalKind::Backup
        );
        assert_eq!(WalName::parse("00000002.history").unwrap().timeline, 2);
        for bad in [
            "",
            "x",
            "00000001000000000000000",
            "0000000100000000000000zz",
            "00000000000000000000000A",
            "000000010000000000000003.tmp",
            "../etc/passwd",
            "0000000a0000000000000001",
            "000000010000000000000003\u{e9}1234567.backup",
            "000000010000000000000003.\u{e9}123456.backup",
            "\u{e9}0000001000000000000000",
        ] {
            assert!(WalName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lsn_round_trip() {
        let l = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(l.to_string(), "16/B374D848");
        assert_eq!(l.0, 0x16_B374_D848);
        assert!(Lsn::parse("zz").is_err());
    }
}
