//! Reading archived WAL with pg_waldump, to know before copying anything
//! whether a time target is reachable: recovery to a time stops at the
//! first commit (or abort) after it, so the archive must hold one.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use chrono::{DateTime, NaiveDateTime, Utc};
use sw_core::cluster::Bindir;
use sw_core::fsutil::q;
use sw_core::repo::chain::Chain;
use sw_core::repo::history::timeline_for_segment;
use sw_core::repo::object::{self, ReadFailure};
use sw_core::repo::wal::{Lsn, segment_name};
use sw_core::repo::{Area, WalObject};
use sw_core::{Error, IoContext, Result};

/// The newest commit or abort time in `pg_waldump` output (run with
/// `TZ=UTC`): `... desc: COMMIT 2026-11-27 00:01:02.412604 UTC; ...`,
/// `desc: ABORT ...`, `desc: COMMIT_PREPARED 735: 2026-... UTC`.
pub fn newest_xact_time(dump: &str) -> Option<DateTime<Utc>> {
    let mut best: Option<DateTime<Utc>> = None;
    for line in dump.lines() {
        let Some((_, desc)) = line.split_once("desc: ") else {
            continue;
        };
        let Some((kind, rest)) = desc.split_once(' ') else {
            continue;
        };
        if !matches!(kind, "COMMIT" | "ABORT" | "COMMIT_PREPARED" | "ABORT_PREPARED") {
            continue;
        }
        // Prepared transactions name the original xid first ("735: ").
        let rest = match rest.split_once(": ") {
            Some((xid, r)) if xid.bytes().all(|b| b.is_ascii_digit()) => r,
            _ => rest,
        };
        let Some(ts) = rest.get(..26) else { continue };
        if let Ok(t) = NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.6f") {
            let t = t.and_utc();
            if best.is_none_or(|b| t > b) {
                best = Some(t);
            }
        }
    }
    best
}

/// The LSNs of restore points named `name` in `pg_waldump --rmgr=XLOG`
/// output: `... lsn: 0/015167D8, prev 0/..., desc: RESTORE_POINT name`.
pub fn restore_points(dump: &str, name: &str) -> Vec<Lsn> {
    dump.lines()
        .filter_map(|line| {
            let (head, desc) = line.split_once("desc: ")?;
            if desc.strip_prefix("RESTORE_POINT ")? != name {
                return None;
            }
            let lsn = head.split_once("lsn: ")?.1.split(',').next()?;
            Lsn::parse(lsn).ok()
        })
        .collect()
}

/// The major version in `pg_waldump (PostgreSQL) 15.18 (Debian ...)`.
fn version_major(v: &str) -> Option<u32> {
    let t = v.split_whitespace().skip_while(|t| *t != "(PostgreSQL)").nth(1)?;
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Bytes of WAL per pg_waldump run (decompressed into a temp directory):
/// 8 segments of the default 16 MB, at least 2 of larger ones.
const WINDOW_BYTES: u64 = 128 << 20;

/// Runs pg_waldump over archived segments of one chain, decompressed into
/// a private temp directory a window at a time.
struct Scanner<'a> {
    bindir: &'a Bindir,
    area: Area,
    objects: &'a BTreeMap<String, WalObject>,
    chain: &'a Chain,
    seg: u64,
    tmp: tempfile::TempDir,
}

impl<'a> Scanner<'a> {
    fn new(
        bindir: &'a Bindir,
        area: &Area,
        objects: &'a BTreeMap<String, WalObject>,
        chain: &'a Chain,
    ) -> Result<Self> {
        // Another major version's pg_waldump reads nothing of this WAL,
        // which would pass for "no transaction here".
        let prog = bindir.prog("pg_waldump");
        let v = Command::new(&prog)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::unavailable(format!("running {}", prog.display())).with_source(e))?;
        let v = String::from_utf8_lossy(&v.stdout);
        let major = version_major(&v);
        if major != Some(area.info.pg_major) {
            return Err(Error::unavailable(format!(
                "{} is {:?}, but the repository holds PostgreSQL {} WAL; pass --bindir with that version's programs",
                prog.display(),
                v.trim(),
                area.info.pg_major
            )));
        }
        let tmp = tempfile::Builder::new()
            .prefix("sw-restore-walscan.")
            .tempdir()
            .io_context(|| "creating a temp directory for pg_waldump".into())?;
        Ok(Scanner {
            bindir,
            area: area.clone(),
            objects,
            chain,
            seg: area.info.wal_segment_size,
            tmp,
        })
    }

    /// Segments per pg_waldump run.
    fn window(&self) -> u64 {
        (WINDOW_BYTES / self.seg.max(1)).clamp(2, 8)
    }

    fn tli(&self, n: u64) -> u32 {
        timeline_for_segment(&self.chain.path, n, self.seg)
    }

    fn name_at(&self, n: u64) -> String {
        segment_name(self.tli(n), n, self.seg)
    }

    /// pg_waldump's records of `rmgr` in segments `s..=e` (one timeline).
    fn dump(&self, s: u64, e: u64, rmgr: &str) -> Result<String> {
        let keep: Vec<String> = (s..=e).map(|n| self.name_at(n)).collect();
        for e in std::fs::read_dir(self.tmp.path()).io_context(|| "listing the scan directory".into())? {
            let e = e.io_context(|| "listing the scan directory".into())?;
            if !keep.iter().any(|k| e.file_name().to_string_lossy() == k.as_str()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        for name in &keep {
            let dest = self.tmp.path().join(name);
            if dest.exists() {
                continue;
            }
            let o = self
                .objects
                .get(name.as_str())
                .ok_or_else(|| Error::software(format!("{name} vanished from the repository while it was read")))?;
            let mut f = std::fs::File::create(&dest).io_context(|| format!("creating {}", q(&dest)))?;
            match object::decompress_object(&self.area, o, &mut f) {
                Ok(_) => {}
                Err(ReadFailure::Corrupt(msg)) => return Err(Error::data(msg)),
                Err(ReadFailure::Io(e)) => return Err(e),
            }
        }
        let out = Command::new(self.bindir.prog("pg_waldump"))
            .env("TZ", "UTC")
            .env_remove("PGDATA")
            .arg(format!("--rmgr={rmgr}"))
            .arg("--path")
            .arg(self.tmp.path())
            .arg(&keep[0])
            .arg(&keep[keep.len() - 1])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::unavailable("running pg_waldump").with_source(e))?;
        // pg_waldump ends with an error at the end of the available WAL:
        // its exit status says nothing; what it printed counts.
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The first segment of the window ending at `e` (at most window()
    /// segments, not before `lo`, on `e`'s timeline).
    fn window_start(&self, lo: u64, e: u64) -> u64 {
        let mut s = e.saturating_sub(self.window() - 1).max(lo);
        while self.tli(s) != self.tli(e) {
            s += 1;
        }
        s
    }

    /// The last segment of the window starting at `s`.
    fn window_end(&self, s: u64, hi: u64) -> u64 {
        let mut e = (s + self.window() - 1).min(hi);
        while self.tli(e) != self.tli(s) {
            e -= 1;
        }
        e
    }
}

/// The time of the newest commit or abort in the contiguous WAL of `chain`
/// at or after segment `from_segno`, reading windows of segments backwards
/// from its end until one holds a transaction end. `Ok(None)` when none
/// does; exit 69 when pg_waldump cannot run.
pub fn last_xact_time(
    bindir: &Bindir,
    area: &Area,
    objects: &BTreeMap<String, WalObject>,
    chain: &Chain,
    from_segno: u64,
) -> Result<Option<DateTime<Utc>>> {
    let Some(last) = chain.last_segno else {
        return Ok(None);
    };
    if last < from_segno {
        return Ok(None);
    }
    let sc = Scanner::new(bindir, area, objects, chain)?;
    let mut e = last;
    loop {
        let s = sc.window_start(from_segno, e);
        if let Some(t) = newest_xact_time(&sc.dump(s, e, "Transaction")?) {
            return Ok(Some(t));
        }
        if s <= from_segno {
            return Ok(None);
        }
        // Overlap one segment (a record may cross into the next), except
        // across a timeline switch.
        e = if sc.tli(s - 1) == sc.tli(s) && s < e { s } else { s - 1 };
    }
}

/// The LSNs of restore points named `name` in the contiguous WAL of
/// `chain` from segment `lo` to `hi` (inclusive), in order.
pub fn find_restore_points(
    bindir: &Bindir,
    area: &Area,
    objects: &BTreeMap<String, WalObject>,
    chain: &Chain,
    lo: u64,
    hi: u64,
    name: &str,
) -> Result<Vec<Lsn>> {
    let mut found = std::collections::BTreeSet::new();
    if hi < lo {
        return Ok(Vec::new());
    }
    let sc = Scanner::new(bindir, area, objects, chain)?;
    let mut s = lo;
    loop {
        let e = sc.window_end(s, hi);
        found.extend(restore_points(&sc.dump(s, e, "XLOG")?, name));
        if e >= hi {
            break;
        }
        s = if sc.tli(e + 1) == sc.tli(e) && e > s { e } else { e + 1 };
    }
    Ok(found.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commit_and_abort_times() {
        let dump = "rmgr: Transaction len (rec/tot):     66/    66, tx:        722, lsn: 0/015004B0, prev 0/01500438, desc: COMMIT 2026-11-27 00:01:02.412604 UTC; inval msgs: catcache 21; sync\n\
rmgr: Transaction len (rec/tot):     34/    34, tx:        723, lsn: 0/015006D0, prev 0/01500630, desc: ABORT 2026-11-27 00:01:03.000001 UTC\n\
rmgr: Transaction len (rec/tot):     34/    34, tx:        724, lsn: 0/015007D0, prev 0/01500730, desc: COMMIT_PREPARED 700: 2026-11-27 00:01:02.500000 UTC\n\
rmgr: Transaction len (rec/tot):     34/    34, tx:        0, lsn: 0/015008D0, prev 0/01500830, desc: ASSIGNMENT xtop 725: subxacts: 726\n";
        let t = newest_xact_time(dump).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T00:01:03.000001+00:00");
        assert_eq!(newest_xact_time(""), None);
        assert_eq!(newest_xact_time("desc: COMMIT garbage"), None);
    }

    #[test]
    fn reads_the_major_version() {
        assert_eq!(
            version_major("pg_waldump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(version_major("pg_waldump (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(version_major("pg_waldump 15"), None);
    }

    #[test]
    fn finds_restore_points_by_exact_name() {
        let dump = "rmgr: XLOG        len (rec/tot):     98/    98, tx:          0, lsn: 0/015167D8, prev 0/01516770, desc: RESTORE_POINT my point\n\
rmgr: XLOG        len (rec/tot):     98/    98, tx:          0, lsn: 0/02000028, prev 0/015167D8, desc: RESTORE_POINT my point 2\n\
rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/02000100, prev 0/02000028, desc: CHECKPOINT_ONLINE redo 0/2000028\n";
        assert_eq!(restore_points(dump, "my point"), vec![Lsn(0x0151_67D8)]);
        assert_eq!(restore_points(dump, "my point 2"), vec![Lsn(0x0200_0028)]);
        assert!(restore_points(dump, "other").is_empty());
    }
}
