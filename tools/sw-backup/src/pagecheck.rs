//! Page checksum validation of a base backup, as pgBackRest does it: every
//! page of every relation file in the backup is checked against the
//! checksum PostgreSQL stored in its header, so corruption on the server's
//! disk is found when the backup is taken, not when it is restored.
//!
//! pg_basebackup's own server-side check is turned off
//! (`--no-verify-checksums`): on a bad page it ends the backup with an
//! ERROR, so the backup is lost exactly when the database most needs one.
//! Here the backup completes and is marked as holding corruption.
//!
//! A page written while the backup read it is not corruption: its LSN is
//! at or past the backup's start (WAL replay rewrites it from the full-page
//! image), and a read torn between an old and a new version is re-read
//! from the server after the backup ([`confirm`]) before it is reported.

use std::collections::HashMap;
use std::io::Read;

use sw_core::cli::PgOpts;
use sw_core::fsutil::q;
use sw_core::repo::manifest::{BadPage, MAX_BAD_PAGES, PageChecks};
use sw_core::repo::wal::Lsn;
use sw_core::{Error, IoContext, Result};

/// PostgreSQL's page size (Debian's builds; the check is skipped for others).
pub const BLCKSZ: usize = 8192;
/// The same, as the server's SQL functions take it.
const BLCKSZ_SQL: i64 = 8192;
/// Blocks per 1 GiB relation segment file.
const RELSEG_BLOCKS: u32 = 131_072;
/// Checksums computed in parallel: part of the algorithm (checksum_impl.h).
const N_SUMS: usize = 32;
const FNV_PRIME: u32 = 16_777_619;
const BASE_OFFSETS: [u32; N_SUMS] = [
    0x5B1F_36E9,
    0xB852_5960,
    0x02AB_50AA,
    0x1DE6_6D2A,
    0x79FF_467A,
    0x9BB9_F8A3,
    0x217E_7CD2,
    0x83E1_3D2C,
    0xF8D4_474F,
    0xE39E_B970,
    0x42C6_AE16,
    0x9932_16FA,
    0x7B09_3B5D,
    0x98DA_FF3C,
    0xF718_902A,
    0x0B1C_9CDB,
    0xE58F_764B,
    0x1876_36BC,
    0x5D7B_3BB1,
    0xE73D_E7DE,
    0x92BE_C979,
    0xCCA6_C0B2,
    0x304A_0979,
    0x85AA_43D4,
    0x7831_25BB,
    0x6CA8_EAA2,
    0xE407_EAC6,
    0x4B5C_FC3E,
    0x9FBF_8C76,
    0x15CA_20BE,
    0xF2CA_9FD3,
    0x959B_D756,
];

#[inline]
fn comp(sum: u32, value: u32) -> u32 {
    let t = sum ^ value;
    t.wrapping_mul(FNV_PRIME) ^ (t >> 17)
}

/// PostgreSQL's `pg_checksum_page`: the checksum of `page` as block `blkno`
/// of its relation, with the header's own checksum field counted as zero.
pub fn checksum(page: &[u8], blkno: u32) -> u16 {
    debug_assert_eq!(page.len(), BLCKSZ);
    let mut sums = BASE_OFFSETS;
    for (i, row) in page.chunks_exact(4 * N_SUMS).enumerate() {
        for (j, (s, w)) in sums.iter_mut().zip(row.chunks_exact(4)).enumerate() {
            let mut v = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]);
            if i == 0 && j == 2 {
                // pd_checksum: bytes 8..10 of the header.
                v &= if cfg!(target_endian = "little") {
                    0xFFFF_0000
                } else {
                    0x0000_FFFF
                };
            }
            *s = comp(*s, v);
        }
    }
    for _ in 0..2 {
        for s in &mut sums {
            *s = comp(*s, 0);
        }
    }
    let folded = sums.iter().fold(0, |a, s| a ^ s) ^ blkno;
    u16::try_from(folded % 65535 + 1).unwrap_or(u16::MAX)
}

fn u16_at(page: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([page[at], page[at + 1]])
}

fn u32_at(page: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]])
}

/// The page's LSN (pd_lsn: high then low word).
pub fn page_lsn(page: &[u8]) -> Lsn {
    Lsn((u64::from(u32_at(page, 0)) << 32) | u64::from(u32_at(page, 4)))
}

/// What one page says: valid, skipped (new, or written after `start`), or
/// failing with the checksum it holds and the one computed.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Skipped,
    Failed { stored: u16, computed: u16 },
}

/// Check one page, as PostgreSQL's base backup does: a new page (pd_upper
/// 0, never written) has no checksum yet, and one whose LSN is at or past
/// the backup's start is rewritten by WAL replay whatever was read.
pub fn verify(page: &[u8], blkno: u32, start: Lsn) -> Verdict {
    if u16_at(page, 14) == 0 || page_lsn(page) >= start {
        return Verdict::Skipped;
    }
    let (stored, computed) = (u16_at(page, 8), checksum(page, blkno));
    if stored == computed {
        Verdict::Valid
    } else {
        Verdict::Failed { stored, computed }
    }
}

/// A relation data file of the cluster, by its path in the data directory
/// (`base/<db>/<filenode>[_fork][.segment]` or `global/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelFile {
    pub path: String,
    /// The database's OID; None for the shared catalogs in `global/`.
    pub db_oid: Option<u32>,
    pub filenode: u32,
    pub fork: &'static str,
    pub segno: u32,
}

impl RelFile {
    /// The relation file `path` names, or None for anything else
    /// (pg_filenode.map, PG_VERSION, pg_internal.init, temp relations...).
    pub fn parse(path: &str) -> Option<RelFile> {
        let p = path.strip_prefix("./").unwrap_or(path);
        let mut parts = p.split('/');
        let db_oid = match (parts.next()?, parts.next()?) {
            ("base", db) => Some(db.parse().ok()?),
            ("global", name) => {
                return RelFile::file(p, None, name);
            }
            _ => return None,
        };
        let name = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        RelFile::file(p, db_oid, name)
    }

    fn file(path: &str, db_oid: Option<u32>, name: &str) -> Option<RelFile> {
        let (stem, segno) = match name.split_once('.') {
            Some((s, n)) => (s, digits(n)?),
            None => (name, 0),
        };
        let (node, fork) = match stem.split_once('_') {
            Some((n, "fsm")) => (n, "fsm"),
            Some((n, "vm")) => (n, "vm"),
            Some((n, "init")) => (n, "init"),
            Some(_) => return None,
            None => (stem, "main"),
        };
        Some(RelFile {
            path: path.to_owned(),
            db_oid,
            filenode: digits(node)?,
            fork,
            segno,
        })
    }

    /// The relation's block number of the file's `i`-th page.
    pub fn blkno(&self, i: u32) -> u32 {
        self.segno.wrapping_mul(RELSEG_BLOCKS).wrapping_add(i)
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A page that failed its checksum in the backup's copy.
#[derive(Debug, Clone)]
pub struct Suspect {
    pub file: RelFile,
    /// Page index within the file.
    pub page: u32,
    pub lsn: Lsn,
    pub stored: u16,
    pub computed: u16,
}

/// What a scan of the backup found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Pages whose checksum was computed.
    pub checked: u64,
    pub suspects: Vec<Suspect>,
}

impl Scan {
    /// Check the whole pages of `buf`, pages `first`.. of `file` (a last
    /// partial page, a file being extended, is not checked, as in
    /// PostgreSQL's own base backup).
    pub fn check_pages(&mut self, file: &RelFile, first: u32, buf: &[u8], start: Lsn) {
        for (k, page) in (first..).zip(buf.chunks_exact(BLCKSZ)) {
            match verify(page, file.blkno(k), start) {
                Verdict::Valid => self.checked += 1,
                Verdict::Skipped => {}
                Verdict::Failed { stored, computed } => {
                    self.checked += 1;
                    self.suspects.push(Suspect {
                        file: file.clone(),
                        page: k,
                        lsn: page_lsn(page),
                        stored,
                        computed,
                    });
                }
            }
        }
    }

    /// Drop the failures of pages written at or after `start`, for a scan
    /// that ran before the backup's start was known (a stream whose
    /// backup_manifest comes last): WAL replay rewrites those pages.
    pub fn forget_from(&mut self, start: Lsn) {
        let before = self.suspects.len();
        self.suspects.retain(|s| s.lsn < start);
        self.checked -= (before - self.suspects.len()) as u64;
    }
}

/// Check every relation file in the (uncompressed) tar stream `tar`.
///
/// # Errors
/// 65 when the stream is not a readable tar archive.
pub fn scan_tar(tar: impl Read, start: Lsn) -> Result<Scan> {
    let bad = |e: std::io::Error| Error::data("reading the base backup's tar stream to check its pages").with_source(e);
    let mut scan = Scan::default();
    let mut ar = tar::Archive::new(tar);
    let mut page = vec![0_u8; BLCKSZ];
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(file) = RelFile::parse(&path) else { continue };
        let mut i = 0_u32;
        loop {
            // A last partial page (a file being extended) is not checked, as
            // in PostgreSQL's own base backup.
            match read_full(&mut entry, &mut page).map_err(bad)? {
                n if n < BLCKSZ => break,
                _ => {}
            }
            scan.check_pages(&file, i, &page, start);
            i += 1;
        }
    }
    Ok(scan)
}

/// Check the pages of the spooled `base.tar.zst` (pg_basebackup's
/// server-compressed tar of the data directory).
///
/// # Errors
/// 66/74 reading it, 65 when it is not zstd-compressed tar.
pub fn scan_spool(dir: &std::path::Path, start: Lsn) -> Result<Scan> {
    let path = dir.join("base.tar.zst");
    let f = std::fs::File::open(&path).io_context(|| format!("opening {}", q(&path)))?;
    let z = zstd::stream::read::Decoder::new(f).io_context(|| format!("reading {}", q(&path)))?;
    scan_tar(z, start)
}

/// The record of a scan once the backup's start is known: failures of
/// pages written after it forgotten (a scan that ran before it was
/// known), the rest re-read, summed up. None when nothing was scanned.
///
/// # Errors
/// Only the async runtime's (confirming never fails the backup).
pub fn conclude(pg: &PgOpts, start: Lsn, scan: Option<Scan>) -> Result<Option<PageChecks>> {
    let Some(mut scan) = scan else { return Ok(None) };
    scan.forget_from(start);
    let bad = sw_core::cli::block_on(async { Ok(confirm(pg, start, &scan.suspects).await) })?;
    Ok(Some(summary(&scan, bad)))
}

/// The manifest's record of the checks: the confirmed bad pages, at most
/// [`MAX_BAD_PAGES`] of them listed.
fn summary(scan: &Scan, mut bad: Vec<BadPage>) -> PageChecks {
    let failed = bad.len() as u64;
    let unconfirmed = bad.iter().filter(|b| !b.confirmed).count() as u64;
    bad.truncate(MAX_BAD_PAGES);
    PageChecks {
        checked: scan.checked,
        failed,
        unconfirmed,
        bad_pages: bad,
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Re-read each suspect page from the server now that the backup is over
/// (pg_read_binary_file) and keep those that still fail; name the relation
/// of the first [`MAX_BAD_PAGES`] where the role may look it up. Never
/// fails: the backup is complete whatever this finds, so a server that
/// cannot be reached now leaves every suspect reported unconfirmed.
async fn confirm(pg: &PgOpts, start: Lsn, suspects: &[Suspect]) -> Vec<BadPage> {
    if suspects.is_empty() {
        return Vec::new();
    }
    let conn = match pg.connect("sw-backup").await {
        Ok(c) => Some(c),
        Err(e) => {
            log::warn!("cannot reconnect to re-read the pages failing their checksum (reported unconfirmed): {e}");
            None
        }
    };
    let mut names_of: HashMap<(Option<u32>, u32), Names> = HashMap::new();
    let mut out = Vec::new();
    for s in suspects {
        let confirmed = match &conn {
            Some((_, c)) => match reread(c, s, start).await {
                Reread::Fails => true,
                Reread::Unreadable => false,
                Reread::Passes | Reread::Gone => continue,
            },
            None => false,
        };
        let (database, relation) = match &conn {
            Some((target, c)) if out.len() < MAX_BAD_PAGES => {
                let key = (s.file.db_oid, s.file.filenode);
                if let Some(n) = names_of.get(&key) {
                    n.clone()
                } else {
                    let n = names(c, target, pg, &s.file).await;
                    names_of.insert(key, n.clone());
                    n
                }
            }
            _ => (None, None),
        };
        out.push(BadPage {
            file: s.file.path.clone(),
            database,
            relation,
            fork: s.file.fork.to_owned(),
            block: s.file.blkno(s.page),
            lsn: s.lsn,
            stored_checksum: s.stored,
            computed_checksum: s.computed,
            confirmed,
        });
    }
    out
}

/// A relation file's database and relation, where they could be read.
type Names = (Option<String>, Option<String>);

/// What a second read of a suspect page says.
enum Reread {
    /// It fails again: corruption on the server's disk.
    Fails,
    /// It passes: the backup's read was torn by a concurrent write.
    Passes,
    /// The page or its file is gone (a relation truncated or dropped
    /// during the backup): WAL replay removes it from the restore too.
    Gone,
    /// The role may not read the file, or the read failed.
    Unreadable,
}

async fn reread(c: &sw_core::pg::Connection, s: &Suspect, start: Lsn) -> Reread {
    let offset = i64::from(s.page) * BLCKSZ_SQL;
    let r = c
        .client
        .query_one(
            "SELECT pg_read_binary_file($1, $2, $3)",
            &[&s.file.path, &offset, &BLCKSZ_SQL],
        )
        .await;
    let blk = s.file.blkno(s.page);
    match r {
        Ok(row) => {
            let page: Vec<u8> = row.get(0);
            if page.len() < BLCKSZ {
                log::info!(
                    "{} block {blk}: gone when re-read (the relation was truncated)",
                    s.file.path
                );
                Reread::Gone
            } else if matches!(verify(&page, blk, start), Verdict::Failed { .. }) {
                Reread::Fails
            } else {
                log::info!("{} block {blk}: a torn read (valid when re-read)", s.file.path);
                Reread::Passes
            }
        }
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_FILE) => {
            log::info!(
                "{}: gone when re-read (the relation was dropped or rewritten)",
                s.file.path
            );
            Reread::Gone
        }
        Err(e) => {
            log::warn!(
                "{}: cannot re-read the page to confirm its checksum failure (reported unconfirmed): {e}",
                s.file.path
            );
            Reread::Unreadable
        }
    }
}

/// The database and relation a file belongs to (None where the role may
/// not look, or the relation is gone).
async fn names(conn: &sw_core::pg::Connection, target: &sw_core::target::Target, pg: &PgOpts, f: &RelFile) -> Names {
    let resolve = "SELECT pg_filenode_relation(CASE WHEN $1 THEN (SELECT oid FROM pg_tablespace WHERE spcname = 'pg_global') ELSE 0 END, $2::bigint::oid)::regclass::text";
    let global = f.db_oid.is_none();
    let node = i64::from(f.filenode);
    let Some(db_oid) = f.db_oid else {
        let rel = conn
            .client
            .query_one(resolve, &[&global, &node])
            .await
            .ok()
            .and_then(|r| r.get(0));
        return (None, rel);
    };
    let db: Option<String> = conn
        .client
        .query_one(
            "SELECT datname::text FROM pg_database WHERE oid = $1::bigint::oid",
            &[&i64::from(db_oid)],
        )
        .await
        .ok()
        .map(|r| r.get(0));
    let Some(name) = db.clone() else { return (None, None) };
    let there = target.with_dbname(&name);
    let rel = match sw_core::pg::connect(&there, &pg.session("sw-backup")).await {
        Ok(c) => match c.client.query_one(resolve, &[&global, &node]).await {
            Ok(r) => r.get(0),
            Err(e) => {
                log::debug!("{}: cannot name the relation: {e}", f.path);
                None
            }
        },
        Err(e) => {
            log::debug!(
                "{}: cannot connect to database {name} to name the relation: {e}",
                f.path
            );
            None
        }
    };
    (db, rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_files_are_told_from_the_rest() {
        let f = RelFile::parse("base/16384/16385.2").unwrap();
        assert_eq!((f.db_oid, f.filenode, f.fork, f.segno), (Some(16384), 16385, "main", 2));
        assert_eq!(f.blkno(5), 2 * 131_072 + 5);
        let g = RelFile::parse("./global/1262_vm").unwrap();
        assert_eq!((g.db_oid, g.filenode, g.fork), (None, 1262, "vm"));
        for not in [
            "base/1/PG_VERSION",
            "base/1/pg_filenode.map",
            "global/pg_control",
            "base/1/pg_internal.init",
            "base/1/t3_16390",
            "base/1/16385_xyz",
            "pg_wal/000000010000000000000001",
            "base/x/1",
            "base/1/2/3",
        ] {
            assert_eq!(RelFile::parse(not), None, "{not}");
        }
    }

    #[test]
    fn new_and_later_pages_are_skipped_and_a_flipped_byte_fails() {
        let mut page = vec![0_u8; BLCKSZ];
        assert_eq!(verify(&page, 0, Lsn(1)), Verdict::Skipped, "a new page");
        page[14] = 0x20; // pd_upper
        page[4] = 0x10; // LSN 0/10
        page[100] = 7;
        let sum = checksum(&page, 3);
        page[8..10].copy_from_slice(&sum.to_ne_bytes());
        assert_eq!(checksum(&page, 3), sum, "the stored checksum does not count");
        assert_eq!(verify(&page, 3, Lsn(0x100)), Verdict::Valid);
        assert!(
            matches!(verify(&page, 4, Lsn(0x100)), Verdict::Failed { .. }),
            "moved block"
        );
        assert_eq!(verify(&page, 4, Lsn(0x10)), Verdict::Skipped, "written after the start");
        page[5000] ^= 1;
        assert!(matches!(verify(&page, 3, Lsn(0x100)), Verdict::Failed { .. }));
    }
}
