//! Never blocking anyone on a lock: before an action, skip it when someone
//! else holds or queues for a conflicting lock on its table; while it
//! runs, watch for a session queued behind one of our locks and give way
//! (cancel our statement), as autovacuum does.

use std::time::Duration;

use sw_core::{PgContext, Result};
use tokio_postgres::Client;

use super::Ctx;
use crate::plan::{Action, Item, URGENT};

/// Lock modes that conflict with SHARE UPDATE EXCLUSIVE (VACUUM, ANALYZE,
/// REINDEX CONCURRENTLY).
const CONFLICTS_SUE: &str =
    "'ShareUpdateExclusiveLock','ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'";
/// Every mode conflicts with ACCESS EXCLUSIVE (VACUUM FULL).
const CONFLICTS_AE: &str = "'AccessShareLock','RowShareLock','RowExclusiveLock','ShareUpdateExclusiveLock','ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'";

/// How often a running action looks for sessions waiting on its locks
/// (autovacuum gives way after deadlock_timeout, 1 s by default).
const YIELD_CHECK: Duration = Duration::from_secs(1);

/// Someone else's conflicting lock on the table, granted or queued: the
/// skip reason naming them.
pub(super) async fn conflicting_lock(client: &Client, it: &Item) -> Result<Option<String>> {
    let modes = if it.action.exclusive() {
        CONFLICTS_AE
    } else {
        CONFLICTS_SUE
    };
    let sql = format!(
        "SELECT l.pid, l.mode, l.granted, COALESCE(a.backend_type, '')
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'relation'
           AND l.database IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
           AND l.relation::int8 = $1 AND l.pid IS DISTINCT FROM pg_backend_pid()
           AND l.mode IN ({modes})
         ORDER BY l.granted DESC LIMIT 1"
    );
    let rows = client
        .query(&sql, &[&it.table_oid])
        .await
        .pg_context(|| "checking for conflicting locks".into())?;
    Ok(rows.first().map(|r| {
        let pid: Option<i32> = r.get(0);
        let mode: String = r.get(1);
        let granted: bool = r.get(2);
        let kind: String = r.get(3);
        let who = if kind == "autovacuum worker" {
            " (autovacuum)"
        } else {
            ""
        };
        format!(
            "locked: pid {}{who} {} {mode}",
            pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
            if granted { "holds" } else { "is queued for" }
        )
    }))
}

/// Whether an action gives way to a session queued behind its lock, as
/// autovacuum does: all but wraparound-urgent vacuums and VACUUM FULL
/// (asked for by name, and blocking by nature).
pub(super) fn yields(it: &Item) -> bool {
    it.score < URGENT && it.action != Action::VacuumFull
}

/// Run the action's statement. Meanwhile, from the side connection, look
/// for another session waiting for a lock this session holds (an ALTER
/// TABLE queued behind our VACUUM would queue every reader behind it): then
/// cancel our statement and return why (the action is reported skipped).
pub(super) async fn run_yielding(
    ctx: &Ctx,
    client: &Client,
    pid: i32,
    it: &Item,
) -> (std::result::Result<(), tokio_postgres::Error>, Option<String>) {
    let exec = client.batch_execute(&it.sql);
    tokio::pin!(exec);
    if !yields(it) {
        return (exec.await, None);
    }
    let why = tokio::select! {
        r = &mut exec => return (r, None),
        why = waiter_behind(ctx, pid) => why,
    };
    log::info!("{}: {why}; cancelling it", it.sql);
    let side = ctx.side.borrow().clone();
    if let Some(side) = side {
        // Only this statement, and only while it still runs.
        let r = side
            .query(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                 WHERE pid = $1 AND state = 'active' AND query = $2",
                &[&pid, &it.sql],
            )
            .await;
        if let Err(e) = r {
            log::warn!("cancelling our statement to let pid wait less: {e}");
        }
    }
    (exec.await, Some(why))
}

/// Resolves once another session waits for a lock `pid` holds.
async fn waiter_behind(ctx: &Ctx, pid: i32) -> String {
    loop {
        tokio::time::sleep(YIELD_CHECK).await;
        let side = ctx.side.borrow().clone();
        let Some(side) = side else { continue };
        let ours = ctx.pids.borrow().clone();
        let row = side
            .query_opt(
                "SELECT w.pid, w.mode, COALESCE(c.relname::text, w.locktype)
                 FROM pg_locks w LEFT JOIN pg_class c ON c.oid = w.relation AND w.database =
                   (SELECT oid FROM pg_database WHERE datname = current_database())
                 WHERE NOT w.granted AND w.pid <> ALL($2) AND $1 = ANY(pg_blocking_pids(w.pid))
                 LIMIT 1",
                &[&pid, &ours],
            )
            .await;
        match row {
            Ok(Some(r)) => {
                let waiter: Option<i32> = r.get(0);
                let mode: String = r.get(1);
                let what: String = r.get(2);
                return format!(
                    "yielded: pid {} was waiting for {mode} on {what} behind us",
                    waiter.map_or_else(|| "?".to_owned(), |p| p.to_string())
                );
            }
            Ok(None) => {}
            Err(e) => log::warn!("looking for sessions waiting on our locks: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{self, Policy};

    #[test]
    fn wraparound_urgent_vacuums_and_vacuum_full_do_not_give_way() {
        use crate::snapshot::{Snapshot, Table};
        let table = |name: &str, xid_age: i64| Table {
            oid: i64::from(name.as_bytes()[0]),
            schema: "public".into(),
            table: name.into(),
            heap_bytes: 8192,
            toast_bytes: 0,
            reltuples: 10_000.0,
            xid_age,
            mxid_age: 0,
            live_tuples: 5_000,
            dead_tuples: 5_000,
            mod_since_analyze: 0,
            never_analyzed: false,
            vacuum_running: None,
            partitioned: false,
        };
        let snap = Snapshot {
            database: "app".into(),
            block_size: 8192,
            freeze_max_age: 200_000_000,
            multixact_freeze_max_age: 400_000_000,
            server_version_num: 150_000,
            tables: vec![table("dead", 1_000), table("old", 190_000_000), table("full", 1_000)],
            indexes: Vec::new(),
        };
        let p = Policy {
            vacuum_full: vec!["public.full".into()],
            ..Policy::default()
        };
        let items = plan::plan(&snap, &p);
        let by = |t: &str| items.iter().find(|i| i.table == t).map(yields);
        assert_eq!(by("dead"), Some(true));
        assert_eq!(by("old"), Some(false));
        assert_eq!(by("full"), Some(false));
    }
}
