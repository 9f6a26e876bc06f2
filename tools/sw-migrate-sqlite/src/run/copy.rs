//! Binary COPY of one job: a reader thread walks the SQLite rows (a rowid
//! range for a part of a big table), encodes each value straight into the
//! COPY buffer and hashes the row as PostgreSQL will send it back, and
//! hands bounded chunks to the session. A value that breaks its rule stops
//! the run (exit 65) or sends its row to the reject file.
//!
//! This is the hot loop: per row it allocates nothing (the buffers are
//! reused; only numeric, jsonb and numbers into text make a string).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use sw_core::progress::Meter;

use bytes::Bytes;
use futures_util::SinkExt;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};
use sw_core::pg::quote_ident;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use super::job::{Col, Job};
use super::verify::row_hash;
use super::{Ctx, Rejects};
use crate::OnError;
use crate::record::RejectRecord;
use crate::value::{self, SourceValue};

/// Bytes of COPY data handed over at once.
const CHUNK: usize = 256 * 1024;
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// What one job (or a table, summed over its jobs) read and loaded.
#[derive(Debug, Default, Clone)]
pub(super) struct Stats {
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
    /// The sum of the loaded rows' hashes.
    pub checksum: i128,
    /// Values written as NULL by the plan's `to_null`, by SQLite column.
    pub nulled: BTreeMap<String, u64>,
    /// Values stored as the bytes of `CAST(x AS BLOB)` by the plan's
    /// `cast_to_blob`, by SQLite column.
    pub cast_to_blob: BTreeMap<String, u64>,
}

impl Stats {
    /// Add a part's counts to its table's.
    pub fn add(&mut self, part: &Stats) {
        self.read += part.read;
        self.loaded += part.loaded;
        self.rejected += part.rejected;
        self.checksum += part.checksum;
        for (c, n) in &part.nulled {
            *self.nulled.entry(c.clone()).or_default() += n;
        }
        for (c, n) in &part.cast_to_blob {
            *self.cast_to_blob.entry(c.clone()).or_default() += n;
        }
    }
}

impl Ctx<'_> {
    /// Stream one job with COPY (binary). The reader thread converts rows
    /// and hands over bounded chunks; the reader connection comes back.
    pub(super) async fn copy_table(
        &self,
        client: &Client,
        reader: Connection,
        job: &Job,
    ) -> Result<(Connection, Stats)> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let rjob = job.clone();
        let rejects = self.rejects.clone();
        let on_error = self.args.on_error;
        let progress = self.progress.clone();
        let handle = std::thread::Builder::new()
            .name(format!("read {}", job.name))
            .spawn(move || {
                let res = read_table(&reader, &rjob, &tx, rejects.as_ref(), on_error, &progress);
                (reader, res)
            })
            .map_err(|e| Error::software("starting a reader thread").with_source(e))?;
        let cols: Vec<String> = job.cols.iter().map(|c| quote_ident(&c.name)).collect();
        let copy_sql = format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            job.qualified,
            cols.join(", ")
        );
        let sink = match client.copy_in::<_, Bytes>(&copy_sql).await {
            Ok(s) => s,
            Err(e) => {
                drop(rx);
                let _ = handle.join();
                return Err(Error::pg(format!("starting COPY into {}", job.qualified), e));
            }
        };
        let mut sink = Box::pin(sink);
        let mut send_err = sink.send(Bytes::from_static(COPY_HEADER)).await.err();
        if send_err.is_none() {
            while let Some(chunk) = rx.recv().await {
                if let Err(e) = sink.send(chunk).await {
                    send_err = Some(e);
                    break;
                }
            }
        }
        drop(rx);
        let (reader, read_res) = handle
            .join()
            .map_err(|_| Error::software(format!("the reader of {} panicked", job.source)))?;
        // On any failure the sink is dropped unfinished, which aborts the COPY.
        let stats = read_res?;
        if let Some(e) = send_err {
            return Err(Error::pg(format!("COPY into {}", job.qualified), e));
        }
        let n = sink
            .as_mut()
            .finish()
            .await
            .pg_context(|| format!("finishing COPY into {}", job.qualified))?;
        if n != stats.loaded {
            return Err(Error::software(format!(
                "COPY into {} stored {n} rows, {} were sent",
                job.qualified, stats.loaded
            )));
        }
        Ok((reader, stats))
    }
}

/// The SELECT reading a job's rows: the rowid (or NULL), the copied
/// columns, the generated ones, then `CAST(x AS BLOB)` of each mixed
/// bytea column (SQLite's own rendering of its other values).
fn select(job: &Job) -> String {
    let cols: Vec<String> = job
        .cols
        .iter()
        .chain(&job.generated)
        .map(|c| quote_ident(&c.source))
        .chain(
            job.cols
                .iter()
                .filter(|c| c.cast_to_blob)
                .map(|c| format!("CAST({} AS BLOB)", quote_ident(&c.source))),
        )
        .collect();
    let range = job.part.as_ref().map_or_else(String::new, |(a, b)| {
        format!(" WHERE {} BETWEEN {a} AND {b}", job.rowid.unwrap_or("_rowid_"))
    });
    format!(
        "SELECT {}{} FROM {}{range}",
        job.rowid.map_or_else(|| "NULL, ".to_owned(), |r| format!("{r}, ")),
        if cols.is_empty() {
            "NULL".to_owned()
        } else {
            cols.join(", ")
        },
        quote_ident(&job.source)
    )
}

fn read_error(job: &Job) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::data(format!("reading table {}", job.source)).with_source(e)
}

/// Read every row of a job, convert, and send COPY chunks.
fn read_table(
    conn: &Connection,
    job: &Job,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
    rejects: Option<&Arc<Mutex<Rejects>>>,
    on_error: OnError,
    progress: &Meter,
) -> Result<Stats> {
    let mut st = conn.prepare(&select(job)).map_err(read_error(job))?;
    let mut rows = st.query([]).map_err(read_error(job))?;
    let mut stats = Stats::default();
    let mut enc = RowEncoder::new(job)?;
    while let Some(row) = rows.next().map_err(read_error(job))? {
        stats.read += 1;
        let row_start = enc.chunk.len();
        if let Some((i, rule)) = enc.row(job, row, &mut stats)? {
            // Rows are encoded straight into the COPY buffer; a rejected row is cut off again.
            enc.chunk.truncate(row_start);
            reject(job, row, i, &rule, on_error, rejects)?;
            stats.rejected += 1;
            continue;
        }
        stats.checksum += row_hash(if enc.same { &enc.chunk[row_start..] } else { &enc.expect });
        stats.loaded += 1;
        if stats.read % 4096 == 0 {
            progress.add(4096);
        }
        if enc.chunk.len() >= CHUNK {
            let full = std::mem::replace(&mut enc.chunk, Vec::with_capacity(CHUNK + 4096));
            if tx.blocking_send(Bytes::from(full)).is_err() {
                return Err(Error::io(format!("the COPY into {} stopped", job.qualified)));
            }
        }
    }
    enc.chunk.extend_from_slice(&(-1i16).to_be_bytes());
    if tx.blocking_send(Bytes::from(enc.chunk)).is_err() {
        return Err(Error::io(format!("the COPY into {} stopped", job.qualified)));
    }
    Ok(stats)
}

/// The reader thread's buffers, reused for every row.
struct RowEncoder {
    /// The COPY data being filled.
    chunk: Vec<u8>,
    /// A generated column's value (checksummed only).
    field: Vec<u8>,
    /// A value's checksummed form when it is not its payload.
    canon: Vec<u8>,
    /// The row as the verification will read it back, when that is not
    /// the row sent (`!same`).
    expect: Vec<u8>,
    /// The row PostgreSQL will return to the verification is the row sent,
    /// unless a column comes back in another form (numeric and jsonb as
    /// text) or generated columns come along: then it is built beside.
    same: bool,
    /// Field counts: copied, and copied plus generated.
    ncols: i16,
    nall: i16,
    /// Per copied column, where the row holds its `CAST(x AS BLOB)` (mixed
    /// bytea columns only).
    cast_at: Vec<Option<usize>>,
}

impl RowEncoder {
    fn new(job: &Job) -> Result<RowEncoder> {
        let too_many = |_| Error::data("too many columns");
        Ok(RowEncoder {
            chunk: Vec::with_capacity(CHUNK + 4096),
            field: Vec::with_capacity(256),
            canon: Vec::with_capacity(256),
            expect: Vec::new(),
            same: job.generated.is_empty() && job.cols.iter().all(|c| c.kind.checksum_is_payload()),
            ncols: i16::try_from(job.cols.len()).map_err(too_many)?,
            nall: i16::try_from(job.cols.len() + job.generated.len()).map_err(too_many)?,
            cast_at: job
                .cols
                .iter()
                .scan(1 + job.cols.len() + job.generated.len(), |next, c| {
                    Some(c.cast_to_blob.then(|| {
                        *next += 1;
                        *next - 1
                    }))
                })
                .collect(),
        })
    }

    /// Encode one row onto the chunk (and `expect`); `Some((column index,
    /// rule))` for the first value that breaks its rule.
    fn row(&mut self, job: &Job, row: &Row<'_>, stats: &mut Stats) -> Result<Option<(usize, String)>> {
        self.chunk.extend_from_slice(&self.ncols.to_be_bytes());
        if !self.same {
            self.expect.clear();
            self.expect.extend_from_slice(&self.nall.to_be_bytes());
        }
        for (i, c) in job.cols.iter().enumerate() {
            let mut v = row.get_ref(i + 1).map_err(read_error(job))?;
            if let Some(k) = self.cast_at[i]
                && !matches!(v, ValueRef::Blob(_) | ValueRef::Null)
            {
                // The plan decided: SQLite's own bytes for it, counted.
                v = row.get_ref(k).map_err(read_error(job))?;
                *stats.cast_to_blob.entry(c.source.clone()).or_default() += 1;
            }
            let at = self.chunk.len();
            self.chunk.extend_from_slice(&[0; 4]);
            match value::encode(c.kind, c.int_dates, v, &mut self.chunk, &mut self.canon) {
                Ok(false) => {
                    self.chunk[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
                    if !self.same {
                        put(&mut self.expect, None);
                    }
                }
                Ok(true) => {
                    let len =
                        i32::try_from(self.chunk.len() - at - 4).map_err(|_| Error::data("value larger than 2 GB"))?;
                    self.chunk[at..at + 4].copy_from_slice(&len.to_be_bytes());
                    if !self.same {
                        let checked = if self.canon.is_empty() {
                            &self.chunk[at + 4..]
                        } else {
                            &self.canon
                        };
                        put(&mut self.expect, Some(checked));
                    }
                }
                Err(rule) if c.to_null && value::unreadable(c.kind, v, &rule).is_some() => {
                    // The plan decided: "no value" the type cannot hold is NULL, counted.
                    self.chunk.truncate(at);
                    self.chunk.extend_from_slice(&(-1i32).to_be_bytes());
                    if !self.same {
                        put(&mut self.expect, None);
                    }
                    *stats.nulled.entry(c.source.clone()).or_default() += 1;
                }
                Err(rule) => return Ok(Some((i, rule))),
            }
        }
        self.generated(job, row)
    }

    /// SQLite's values of the generated columns: checksummed only.
    fn generated(&mut self, job: &Job, row: &Row<'_>) -> Result<Option<(usize, String)>> {
        let n = job.cols.len();
        for (k, c) in job.generated.iter().enumerate() {
            let v = row.get_ref(n + k + 1).map_err(read_error(job))?;
            self.field.clear();
            match value::encode(c.kind, c.int_dates, v, &mut self.field, &mut self.canon) {
                Ok(false) => put(&mut self.expect, None),
                Ok(true) => put(
                    &mut self.expect,
                    Some(if self.canon.is_empty() {
                        &self.field
                    } else {
                        &self.canon
                    }),
                ),
                Err(rule) => return Ok(Some((n + k, format!("generated value: {rule}")))),
            }
        }
        Ok(None)
    }
}

/// Append one field as binary COPY writes it: its length (-1 for NULL), then its bytes.
#[inline]
fn put(expect: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => expect.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(b) => {
            expect.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes());
            expect.extend_from_slice(b);
        }
    }
}

/// Column `i` of `row` broke `rule`: with --on-error=reject the row goes to
/// the reject file; otherwise the run stops (exit 65) naming it.
fn reject(
    job: &Job,
    row: &Row<'_>,
    i: usize,
    rule: &str,
    on_error: OnError,
    rejects: Option<&Arc<Mutex<Rejects>>>,
) -> Result<()> {
    let rowid = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
    let c: &Col = job
        .cols
        .iter()
        .chain(&job.generated)
        .nth(i)
        .ok_or_else(|| Error::software("no such column"))?;
    let value_error = |e| Error::data("reading a value").with_source(e);
    let v = row.get_ref(i + 1).map_err(value_error)?;
    let (OnError::Reject, Some(rj)) = (on_error, rejects) else {
        return Err(Error::data(format!(
            "table {} rowid {} column {}: value {} rejected: {rule} (pass --on-error=reject to divert such rows to a reject file)",
            job.source,
            rowid.map_or_else(|| "-".to_owned(), |r| r.to_string()),
            c.source,
            value::short(v)
        )));
    };
    let mut values = BTreeMap::new();
    for (k, col) in job.cols.iter().enumerate() {
        values.insert(
            col.source.clone(),
            SourceValue::of(row.get_ref(k + 1).map_err(value_error)?),
        );
    }
    let line = sw_core::output::render(
        &RejectRecord {
            table: job.source.clone(),
            rowid,
            column: c.source.clone(),
            rule: rule.to_owned(),
            row: values,
        },
        false,
    )?;
    let mut g = rj.lock().map_err(|_| Error::software("reject file lock poisoned"))?;
    g.write_line(&line)
}
