//! One catalog snapshot per database: tables (heap and TOAST ages, dead
//! tuples, statistics freshness, vacuums in progress) and indexes (validity
//! and what the bloat estimate needs), read in one REPEATABLE READ,
//! read-only transaction. Sizes come from `pg_class.relpages`, so taking
//! the snapshot never opens (and so never locks) a user table.

use sw_core::{PgContext, Result};
use tokio_postgres::Client;

/// One table (relkind r or m).
#[derive(Debug, Clone)]
pub struct Table {
    pub oid: i64,
    pub schema: String,
    pub table: String,
    pub heap_bytes: i64,
    pub toast_bytes: i64,
    pub reltuples: f64,
    /// greatest(heap, TOAST) `age(relfrozenxid)`.
    pub xid_age: i64,
    /// greatest(heap, TOAST) `mxid_age(relminmxid)`.
    pub mxid_age: i64,
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub mod_since_analyze: i64,
    /// No statistics at all (never analysed, or `pg_stats` has no row for it).
    pub never_analyzed: bool,
    /// "autovacuum" or "another session's VACUUM" when one is on it now.
    pub vacuum_running: Option<String>,
    /// A partitioned parent: no storage of its own, so only ANALYZE applies
    /// (autovacuum never analyses these); `live_tuples` sums its leaves.
    pub partitioned: bool,
}

impl Table {
    /// Dead tuples as a fraction of all tuples.
    pub fn dead_ratio(&self) -> f64 {
        let all = self.live_tuples.max(0) + self.dead_tuples.max(0);
        if all == 0 {
            0.0
        } else {
            self.dead_tuples as f64 / all as f64
        }
    }
}

/// One index and what the bloat estimate needs.
#[derive(Debug, Clone)]
pub struct Index {
    pub oid: i64,
    pub table_oid: i64,
    pub index: String,
    pub am: String,
    pub pages: i64,
    pub tuples: f64,
    pub table_tuples: f64,
    pub valid: bool,
    pub has_expressions: bool,
    pub columns: i64,
    /// Key columns without a `pg_stats` row (estimate unreliable).
    pub missing_stats: i64,
    /// Sum of the key columns' average widths.
    pub width: f64,
    /// Largest null fraction among the key columns.
    pub null_frac: f64,
    pub fillfactor: i32,
    /// A CREATE INDEX / REINDEX is running on the table right now.
    pub build_running: bool,
}

/// Everything the planner sees for one database.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub database: String,
    pub block_size: i64,
    pub freeze_max_age: i64,
    pub multixact_freeze_max_age: i64,
    pub server_version_num: i32,
    pub tables: Vec<Table>,
    pub indexes: Vec<Index>,
}

const SETTINGS: &str = "SELECT current_database()::text,
  current_setting('block_size')::int8,
  current_setting('autovacuum_freeze_max_age')::int8,
  current_setting('autovacuum_multixact_freeze_max_age')::int8,
  current_setting('server_version_num')::int4";

/// Tables the session may vacuum (owner, database owner or superuser).
const TABLES: &str = "
WITH me AS (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
running AS (
  SELECT p.relid, bool_or(a.backend_type = 'autovacuum worker') AS auto
  FROM pg_stat_progress_vacuum p LEFT JOIN pg_stat_activity a ON a.pid = p.pid
  WHERE p.pid <> pg_backend_pid() GROUP BY p.relid),
analyzed AS (SELECT DISTINCT schemaname, tablename FROM pg_stats)
SELECT c.oid::int8, n.nspname::text, c.relname::text,
  c.relpages::int8 * current_setting('block_size')::int8,
  COALESCE(t.relpages, 0)::int8 * current_setting('block_size')::int8,
  c.reltuples::float8,
  CASE WHEN c.relkind = 'p' THEN 0 ELSE greatest(age(c.relfrozenxid), COALESCE(age(t.relfrozenxid), 0)) END::int8,
  CASE WHEN c.relkind = 'p' THEN 0 ELSE greatest(mxid_age(c.relminmxid), COALESCE(mxid_age(t.relminmxid), 0)) END::int8,
  CASE WHEN c.relkind = 'p' THEN
    COALESCE((SELECT sum(l.n_live_tup) FROM pg_partition_tree(c.oid) pt
              JOIN pg_stat_all_tables l ON l.relid = pt.relid WHERE pt.isleaf), 0)
  ELSE COALESCE(s.n_live_tup, 0) END::int8,
  COALESCE(s.n_dead_tup, 0)::int8,
  COALESCE(s.n_mod_since_analyze, 0)::int8,
  -- pg_statistic is the one table ANALYZE never analyses.
  (c.oid <> 'pg_catalog.pg_statistic'::regclass AND (c.reltuples < 0 OR z.tablename IS NULL)),
  CASE WHEN r.relid IS NULL THEN NULL WHEN r.auto THEN 'autovacuum' ELSE 'another session''s VACUUM' END,
  c.relkind = 'p'
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
LEFT JOIN running r ON r.relid = c.oid
LEFT JOIN analyzed z ON z.schemaname = n.nspname AND z.tablename = c.relname
CROSS JOIN me
WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't'
  AND n.nspname <> 'pg_toast' AND n.nspname !~ '^pg_temp_' AND n.nspname !~ '^pg_toast_temp_'
  AND (me.rolsuper OR pg_has_role(c.relowner, 'USAGE')
       OR (NOT c.relisshared AND pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')))
ORDER BY 2, 3";

const INDEXES: &str = "
WITH cols AS (
  SELECT i.indexrelid, count(*) AS n,
    count(*) FILTER (WHERE s.avg_width IS NULL) AS missing,
    COALESCE(sum(s.avg_width), 0)::float8 AS width,
    COALESCE(max(s.null_frac), 0)::float8 AS null_frac
  FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey::int2[]) AS k(attnum)
  JOIN pg_class ct ON ct.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = ct.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = ct.relname AND s.attname = a.attname
  WHERE k.attnum > 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  GROUP BY i.indexrelid)
SELECT ci.oid::int8, i.indrelid::int8, ci.relname::text, am.amname::text,
  ci.relpages::int8, ci.reltuples::float8, ct.reltuples::float8, i.indisvalid,
  i.indexprs IS NOT NULL, COALESCE(cols.n, 0)::int8, COALESCE(cols.missing, 0)::int8,
  COALESCE(cols.width, 0)::float8, COALESCE(cols.null_frac, 0)::float8,
  COALESCE((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int4 FROM unnest(ci.reloptions) o
            WHERE o LIKE 'fillfactor=%' LIMIT 1), 90),
  EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid AND p.pid <> pg_backend_pid())
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_class ct ON ct.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ct.relnamespace
JOIN pg_am am ON am.oid = ci.relam
LEFT JOIN cols ON cols.indexrelid = i.indexrelid
WHERE ct.relkind IN ('r', 'm') AND ct.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_temp_'
ORDER BY 1";

/// Take the snapshot (one transaction, so every query sees the same catalog).
pub async fn take(client: &Client) -> Result<Snapshot> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = '120s'")
        .await
        .pg_context(|| "starting the snapshot transaction".into())?;
    let r = read(client).await;
    // End the transaction whatever happened; the first error wins.
    let end = client
        .batch_execute(if r.is_ok() { "COMMIT" } else { "ROLLBACK" })
        .await
        .pg_context(|| "ending the snapshot transaction".into());
    let s = r?;
    end?;
    Ok(s)
}

async fn read(client: &Client) -> Result<Snapshot> {
    let row = client
        .query_one(SETTINGS, &[])
        .await
        .pg_context(|| "reading settings".into())?;
    let database: String = row.get(0);
    let tables = client
        .query(TABLES, &[])
        .await
        .pg_context(|| format!("reading table statistics of {database}"))?
        .iter()
        .map(|r| Table {
            oid: r.get(0),
            schema: r.get(1),
            table: r.get(2),
            heap_bytes: r.get(3),
            toast_bytes: r.get(4),
            reltuples: r.get(5),
            xid_age: r.get(6),
            mxid_age: r.get(7),
            live_tuples: r.get(8),
            dead_tuples: r.get(9),
            mod_since_analyze: r.get(10),
            never_analyzed: r.get(11),
            vacuum_running: r.get(12),
            partitioned: r.get(13),
        })
        .collect::<Vec<_>>();
    let indexes = client
        .query(INDEXES, &[])
        .await
        .pg_context(|| format!("reading index statistics of {database}"))?
        .iter()
        .map(|r| Index {
            oid: r.get(0),
            table_oid: r.get(1),
            index: r.get(2),
            am: r.get(3),
            pages: r.get(4),
            tuples: r.get(5),
            table_tuples: r.get(6),
            valid: r.get(7),
            has_expressions: r.get(8),
            columns: r.get(9),
            missing_stats: r.get(10),
            width: r.get(11),
            null_frac: r.get(12),
            fillfactor: r.get(13),
            build_running: r.get(14),
        })
        .collect::<Vec<_>>();
    Ok(Snapshot {
        database,
        block_size: row.get(1),
        freeze_max_age: row.get(2),
        multixact_freeze_max_age: row.get(3),
        server_version_num: row.get(4),
        tables,
        indexes,
    })
}
