//! Reading archived WAL with pg_waldump, to know before copying anything
//! whether a time target is reachable: recovery to a time stops at the
//! first commit (or abort) after it, so the archive must hold one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, NaiveDateTime, Utc};
use sw_core::cluster::Bindir;
use sw_core::fsutil::q;
use sw_core::repo::chain::Chain;
use sw_core::repo::history::timeline_for_segment;
use sw_core::repo::object::{self, ReadFailure};
use sw_core::repo::wal::segment_name;
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

fn materialize(o: &WalObject, dir: &Path, name: &str) -> Result<()> {
    let dest = dir.join(name);
    if dest.exists() {
        return Ok(());
    }
    let mut f = std::fs::File::create(&dest).io_context(|| format!("creating {}", q(&dest)))?;
    match object::decompress_checked(&o.path, Some(&o.sha256), &mut f) {
        Ok(_) => Ok(()),
        Err(ReadFailure::Corrupt(msg)) => Err(Error::data(msg)),
        Err(ReadFailure::Io(e)) => Err(e),
    }
}

/// The time of the newest commit or abort in the contiguous WAL of `chain`
/// at or after segment `from_segno`, reading segments backwards from its
/// end until one holds a transaction end. `Ok(None)` when none does;
/// `Err` with exit 69 when pg_waldump cannot run.
pub fn last_xact_time(
    bindir: &Bindir,
    area: &Area,
    objects: &BTreeMap<String, WalObject>,
    chain: &Chain,
    from_segno: u64,
) -> Result<Option<DateTime<Utc>>> {
    let seg = area.info.wal_segment_size;
    let Some(last) = chain.last_segno else {
        return Ok(None);
    };
    let tmp = tempfile::Builder::new()
        .prefix("sw-restore-walscan.")
        .tempdir()
        .io_context(|| "creating a temp directory for pg_waldump".into())?;
    let name_at = |n: u64| segment_name(timeline_for_segment(&chain.path, n, seg), n, seg);
    let mut n = last;
    loop {
        // Segment n and its successor (a record may end in the next one).
        let first = name_at(n);
        let end = name_at((n + 1).min(last));
        for name in [&first, &end] {
            let o = objects
                .get(name.as_str())
                .ok_or_else(|| Error::software(format!("{name} vanished from the repository while it was read")))?;
            materialize(o, tmp.path(), name)?;
        }
        let out = Command::new(bindir.prog("pg_waldump"))
            .env("TZ", "UTC")
            .env_remove("PGDATA")
            .arg("--rmgr=Transaction")
            .arg("--path")
            .arg(tmp.path())
            .arg(&first)
            .arg(&end)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::unavailable("running pg_waldump").with_source(e))?;
        // pg_waldump ends with an error at the end of the available WAL:
        // its exit status says nothing; what it printed counts.
        if let Some(t) = newest_xact_time(&String::from_utf8_lossy(&out.stdout)) {
            return Ok(Some(t));
        }
        if n != last {
            let _ = std::fs::remove_file(tmp.path().join(&end));
        }
        if n <= from_segno {
            return Ok(None);
        }
        n -= 1;
    }
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
}
