//! What is read around an action: the table's vacuum and analyze counters,
//! dead tuples, size and file node before and after it (so a SKIP_LOCKED
//! skip, which PostgreSQL reports as success, is seen as a counter that did
//! not move), and the cleanup after a failed REINDEX CONCURRENTLY.

use sw_core::{PgContext, Result};
use tokio_postgres::Client;

use super::Ctx;
use crate::plan::{self, Action, Item};

/// An action's object as seen before or after it.
pub(super) struct Stats {
    pub dead: Option<i64>,
    vacuums: i64,
    analyzes: i64,
    pub bytes: Option<i64>,
    /// The table's relfilenode: VACUUM FULL gives it a new one.
    filenode: Option<i64>,
    /// The table (by oid) and the object (by name) still exist.
    pub exists: bool,
}

impl Stats {
    /// Whether the action really ran between `self` and `after`: a
    /// SKIP_LOCKED VACUUM or ANALYZE that found the table locked succeeds
    /// without doing anything.
    pub fn ran(&self, after: &Stats, action: Action) -> bool {
        match action {
            Action::VacuumAnalyze | Action::VacuumFreezeAnalyze => after.vacuums > self.vacuums,
            // VACUUM FULL is a rewrite: it counts as no vacuum, but gets a new file.
            Action::VacuumFull => after.filenode != self.filenode,
            Action::Analyze => after.analyzes > self.analyzes,
            Action::Reindex | Action::DropInvalidIndex => true,
        }
    }
}

/// Read the stats of an item's object (`qualified`, the index for index actions).
pub(super) async fn read(client: &Client, it: &Item, qualified: &str) -> Result<Stats> {
    // Sizes open the relation (ACCESS SHARE); lock_timeout bounds that wait.
    // The object's size: the index alone, or the table with its TOAST.
    let size = if it.action.on_index() {
        "pg_relation_size"
    } else {
        "pg_table_size"
    };
    let sql = format!(
        "SELECT s.n_dead_tup, COALESCE(s.vacuum_count, 0), COALESCE(s.analyze_count, 0),
           (SELECT {size}(to_regclass($2))),
           (SELECT pg_relation_filenode(x.relid::oid)::int8),
           EXISTS (SELECT 1 FROM pg_class WHERE oid = x.relid::oid) AND to_regclass($2) IS NOT NULL
         FROM (SELECT $1::int8 AS relid) x LEFT JOIN pg_stat_all_tables s ON s.relid = x.relid::oid"
    );
    let row = client
        .query_one(&sql, &[&it.table_oid, &qualified])
        .await
        .pg_context(|| format!("reading statistics of {qualified}"))?;
    Ok(Stats {
        dead: row.get(0),
        vacuums: row.get(1),
        analyzes: row.get(2),
        bytes: row.get(3),
        filenode: row.get(4),
        exists: row.get(5),
    })
}

/// After a failed REINDEX CONCURRENTLY: drop the invalid `_ccnew` copy it
/// left (same lock timeout, so this cannot block either). Returns a note
/// for the record.
pub(super) async fn drop_leftovers(ctx: &Ctx, client: &Client, it: &Item) -> String {
    let Some(index) = &it.index else { return String::new() };
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = $1::int8::oid AND NOT i.indisvalid
               AND left(c.relname, length($2)) = $2 AND substr(c.relname, length($2) + 1) ~ '^_ccnew[0-9]*$'",
            &[&it.table_oid, index],
        )
        .await;
    let names: Vec<String> = match rows {
        Ok(r) => r.iter().map(|r| r.get(0)).collect(),
        Err(e) => return format!(" (could not look for a leftover _ccnew index: {e})"),
    };
    let mut notes = Vec::new();
    for name in names {
        if ctx.cancel.get() {
            break;
        }
        let sql = Action::DropInvalidIndex.sql(&plan::qualified(&it.schema, &name), None);
        match client.batch_execute(&sql).await {
            Ok(()) => notes.push(format!("dropped the leftover {name}")),
            Err(e) => notes.push(format!("the leftover {name} remains, the next run drops it ({e})")),
        }
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}
