//! Verification: every table's row count and content checksum as
//! PostgreSQL sends the table back (binary COPY out, numeric and jsonb as
//! their text, generated columns as computed there) must equal what was
//! read from SQLite, hashed the same way row by row; and each table's rows
//! read must be SQLite's count in the shared snapshot.

use futures_util::StreamExt;
use rusqlite::Connection;
use sw_core::pg::quote_ident;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use super::copy::Stats;
use super::job::Job;
use super::{Ctx, Loaded};
use crate::plan::Plan;

/// A range of heap blocks: `from..to` (open-ended without `to`).
pub(super) type Blocks = (u64, Option<u64>);

impl Ctx<'_> {
    /// Verify a whole table loaded by `job` (`None` with --no-verify).
    pub(super) async fn verify(&self, c: &Client, job: &Job, stats: &Stats) -> Result<Option<bool>> {
        if self.args.no_verify {
            return Ok(None);
        }
        check_sums(&job.source, self.table_sums(c, job, None).await?, stats)?;
        Ok(Some(true))
    }

    /// Row count and checksum of a table as PostgreSQL sends it back (all
    /// of it, or a block range: `from..to`, open-ended).
    pub(super) async fn table_sums(&self, c: &Client, job: &Job, blocks: Option<Blocks>) -> Result<(u64, i128)> {
        // PostgreSQL sends every stored value back in its binary form (the
        // send functions, i.e. what we wrote); numeric and jsonb as their
        // text (jsonb compared with the text its rules give for what we
        // sent); generated columns as computed there. The checksum over that
        // stream must equal the one computed while reading SQLite.
        let select: Vec<String> = job
            .cols
            .iter()
            .chain(&job.generated)
            .map(|c| c.kind.checksum_select(&quote_ident(&c.name)))
            .collect();
        let sql = format!(
            "COPY (SELECT {} FROM {}{}) TO STDOUT (FORMAT binary)",
            if select.is_empty() {
                "1".to_owned()
            } else {
                select.join(", ")
            },
            job.qualified,
            match blocks {
                Some((from, Some(to))) => format!(" WHERE ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid"),
                Some((from, None)) => format!(" WHERE ctid >= '({from},0)'::tid"),
                None => String::new(),
            }
        );
        let stream = c
            .copy_out(&sql)
            .await
            .pg_context(|| format!("verifying {}", job.qualified))?;
        let mut stream = Box::pin(stream);
        let mut sum = RowSums::new(select.is_empty());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.pg_context(|| format!("verifying {}", job.qualified))?;
            sum.feed(&chunk)
                .map_err(|e| Error::software(format!("verifying {}: {e}", job.qualified)))?;
        }
        Ok((sum.rows, sum.checksum))
    }
}

/// Every table's row count in the snapshot the readers share.
pub(super) fn source_counts(reader: &Connection, plan: &Plan) -> Result<Vec<u64>> {
    plan.tables
        .iter()
        .map(|t| {
            reader
                .query_row(&format!("SELECT count(*) FROM {}", quote_ident(&t.source)), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(i64::unsigned_abs)
                .map_err(|e| Error::data(format!("counting the rows of {}", t.source)).with_source(e))
        })
        .collect()
}

/// Each table's rows read (in all its parts) must be all of its rows.
pub(super) fn check_counts(plan: &Plan, counts: &[u64], results: &[Loaded]) -> Result<()> {
    for ((t, n), r) in plan.tables.iter().zip(counts).zip(results) {
        check_count(&t.source, r.stats.read, *n)?;
    }
    Ok(())
}

pub(super) fn check_count(source: &str, read: u64, counted: u64) -> Result<()> {
    if read == counted {
        return Ok(());
    }
    Err(Error::software(format!(
        "table {source}: {read} rows read, but SQLite counts {counted}; nothing was changed"
    )))
}

/// What PostgreSQL returned (rows, checksum) must be what was read from SQLite.
pub(super) fn check_sums(source: &str, (count, checksum): (u64, i128), stats: &Stats) -> Result<()> {
    if count == stats.loaded && checksum == stats.checksum {
        return Ok(());
    }
    Err(Error::data(format!(
        "verification failed for {source}: {count} rows with checksum {checksum} in PostgreSQL, {} rows with checksum {} read from SQLite",
        stats.loaded, stats.checksum
    )))
}

/// The per-row content hash over the row as PostgreSQL's binary COPY
/// returns it for the verification query (field count, then each field's
/// length, -1 for NULL, and bytes): a multiply-rotate mix over 8-byte words
/// with a final avalanche. Both sides hash with this same function, each
/// row in one call.
#[inline]
pub(super) fn row_hash(bytes: &[u8]) -> i128 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59)).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    i128::from((h ^ (h >> 33)).cast_signed())
}

/// Row count and checksum over a binary COPY stream (same hashing as the reader).
struct RowSums {
    buf: Vec<u8>,
    pos: usize,
    header: bool,
    done: bool,
    /// The query selected a constant instead of columns: hash nothing.
    no_cols: bool,
    rows: u64,
    checksum: i128,
}

impl RowSums {
    fn new(no_cols: bool) -> RowSums {
        RowSums {
            buf: Vec::new(),
            pos: 0,
            header: false,
            done: false,
            no_cols,
            rows: 0,
            checksum: 0,
        }
    }

    fn feed(&mut self, data: &[u8]) -> std::result::Result<(), String> {
        if self.header && self.pos == self.buf.len() {
            // The usual case: each CopyData message holds whole rows, hashed
            // where they are; only a row cut across messages is buffered.
            let used = self.hash_rows(data);
            self.buf.clear();
            self.pos = 0;
            self.buf.extend_from_slice(&data[used..]);
            return Ok(());
        }
        if self.pos > 0 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
        if !self.header {
            if self.buf.len() < 19 {
                return Ok(());
            }
            if &self.buf[..11] != b"PGCOPY\n\xff\r\n\0" {
                return Err("unexpected COPY header".into());
            }
            let ext = u32::from_be_bytes([self.buf[15], self.buf[16], self.buf[17], self.buf[18]]) as usize;
            if self.buf.len() < 19 + ext {
                return Ok(());
            }
            self.pos = 19 + ext;
            self.header = true;
        }
        let buf = std::mem::take(&mut self.buf);
        self.pos += self.hash_rows(&buf[self.pos..]);
        self.buf = buf;
        Ok(())
    }

    /// Hash the complete rows at the start of `b`; returns the bytes used.
    fn hash_rows(&mut self, b: &[u8]) -> usize {
        let mut pos = 0;
        while !self.done {
            let Some(len) = row_len(&b[pos..]) else { break };
            let r = &b[pos..pos + len];
            pos += len;
            let n = i16::from_be_bytes([r[0], r[1]]);
            if n == -1 {
                self.done = true;
                break;
            }
            // A table without columns is verified by `SELECT 1`: its rows
            // hash as the empty rows SQLite's side sent.
            self.checksum += if self.no_cols { row_hash(&[0, 0]) } else { row_hash(r) };
            self.rows += 1;
        }
        pos
    }
}

/// The length of the binary COPY row (or trailer) at the start of `b`,
/// when it is complete.
#[inline]
fn row_len(b: &[u8]) -> Option<usize> {
    if b.len() < 2 {
        return None;
    }
    let n = i16::from_be_bytes([b[0], b[1]]);
    if n == -1 {
        return Some(2);
    }
    let mut i = 2;
    for _ in 0..n {
        if b.len() < i + 4 {
            return None;
        }
        let len = i32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        i += 4;
        if len > 0 {
            i += usize::try_from(len).unwrap_or(0);
        }
        if b.len() < i {
            return None;
        }
    }
    Some(i)
}
