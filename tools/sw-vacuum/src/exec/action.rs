//! One action, start to end: the checks that may hold it back (signal,
//! time budget, guards, someone else's lock, the object gone), its
//! statement under the time left, and what its outcome means: a SQLSTATE
//! that says "dropped", "locked", "yielded", "cancelled" or "out of time"
//! is a skip, a timeout or a cancel, anything else a failure whose code
//! the run exits with.

use std::time::{Duration, Instant};

use sw_core::contract::Timestamp;
use sw_core::{Error, Exit, PgContext, Result};
use tokio_postgres::Client;

use super::guard::{remaining, statement_timeout_ms, wait_guards};
use super::stats::{self, Stats};
use super::{Ctx, locks};
use crate::plan::{self, Action, Item};
use crate::records::{Status, TableRecord};

/// Skip reason for an object dropped or renamed after the snapshot.
const GONE: &str = "no longer exists: dropped or renamed since the plan was made";

/// Run one planned action and say how it ended.
///
/// # Errors
/// A failure that is not the action's own (a lost session, a statistics
/// read that is not a lock timeout): the database's run stops with it.
pub(super) async fn run(ctx: &Ctx, client: &Client, pid: i32, it: &Item) -> Result<TableRecord> {
    let est = ctx.state.borrow().estimate_ms(it);
    let rec = TableRecord::for_item(it, est);
    if let Some((status, why)) = hold(ctx, client, it, est).await? {
        let mut rec = rec.skip(why);
        rec.status = status;
        return Ok(rec);
    }
    let qualified = plan::qualified(&it.schema, it.index.as_deref().unwrap_or(&it.table));
    let before = match stats::read(client, it, &qualified).await {
        Ok(s) => s,
        Err(e) if e.exit() == Exit::TempFail => return Ok(rec.skip(format!("locked: {e}"))),
        Err(e) => return Err(e),
    };
    if !before.exists {
        return Ok(rec.skip(GONE));
    }
    // The statement may run until the window ends (0 = no limit).
    // (statement_timeout is an int4 of milliseconds: a longer window is no limit.)
    let timeout = remaining(ctx).map_or(0, statement_timeout_ms);
    client
        .batch_execute(&format!("SET statement_timeout = {timeout}"))
        .await
        .pg_context(|| "setting the statement timeout".into())?;
    let mut rec = rec;
    rec.started_at = Some(Timestamp::now());
    rec.dead_tuples_before = before.dead;
    rec.size_before_bytes = before.bytes;
    let t0 = Instant::now();
    let (result, yielded) = locks::run_yielding(ctx, client, pid, it).await;
    let took = t0.elapsed();
    rec.duration_ms = Some(sw_core::duration::millis(took));
    let _ = client.batch_execute("SET statement_timeout = 0").await;
    Ok(match result {
        Err(e) => failed(ctx, client, it, &qualified, rec, e, yielded).await,
        Ok(()) => finished(ctx, client, it, &qualified, rec, &before, took).await,
    })
}

/// Why the action must not start now, with the status it then ends in.
async fn hold(ctx: &Ctx, client: &Client, it: &Item, est: u64) -> Result<Option<(Status, String)>> {
    if ctx.cancel.get() {
        return Ok(Some((Status::Canceled, "interrupted before it started".into())));
    }
    if let Some(left) = remaining(ctx)
        && u128::from(est) > left.as_millis()
    {
        let why = format!("time budget: needs about {est} ms, {} ms left", left.as_millis());
        return Ok(Some((Status::Skipped, why)));
    }
    if let Some(why) = wait_guards(ctx).await? {
        return Ok(Some((Status::Skipped, why)));
    }
    Ok(locks::conflicting_lock(client, it)
        .await?
        .map(|why| (Status::Skipped, why)))
}

/// The statement failed: skipped, timeout, canceled or failed, by SQLSTATE.
async fn failed(
    ctx: &Ctx,
    client: &Client,
    it: &Item,
    qualified: &str,
    rec: TableRecord,
    e: tokio_postgres::Error,
    yielded: Option<String>,
) -> TableRecord {
    let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
    let by_timeout = e
        .as_db_error()
        .is_some_and(|d| d.message().contains("statement timeout"));
    let err = Error::pg(format!("{} on {qualified}", it.action.rate_key()), e);
    let leftover = if it.action == Action::Reindex && !ctx.cancel.get() {
        stats::drop_leftovers(ctx, client, it).await
    } else if it.action == Action::Reindex {
        " (an invalid _ccnew index may be left; the next run drops it)".to_owned()
    } else {
        String::new()
    };
    let cancel = ctx.cancel.get();
    match (code.as_str(), yielded) {
        // undefined_table / undefined_object: dropped or renamed just now.
        ("42P01" | "42704", _) if !cancel => rec.skip(format!("{GONE}{leftover}")),
        ("55P03", _) => rec.skip(format!("lock_timeout: {}{leftover}", err.message())),
        ("57014", Some(why)) if !cancel => rec.skip(format!("{why}{leftover}")),
        ("57014", _) if cancel => rec.ended(Status::Canceled, format!("cancelled by SIGTERM/SIGINT{leftover}")),
        ("57014", _) if by_timeout && ctx.deadline.is_some() => {
            rec.ended(Status::Timeout, format!("the time budget ended{leftover}"))
        }
        _ => {
            ctx.totals.borrow_mut().worsen(err.exit());
            rec.ended(Status::Failed, format!("{err}{leftover}"))
        }
    }
}

/// The statement succeeded: read the object back, tell a SKIP_LOCKED skip
/// from a run, and remember how long a real run took.
async fn finished(
    ctx: &Ctx,
    client: &Client,
    it: &Item,
    qualified: &str,
    mut rec: TableRecord,
    before: &Stats,
    took: Duration,
) -> TableRecord {
    if let Ok(after) = stats::read(client, it, qualified).await {
        rec.dead_tuples_after = after.dead;
        rec.size_after_bytes = after.bytes;
        if !before.ran(&after, it.action) {
            return rec.skip("locked: SKIP_LOCKED found the table locked (its vacuum/analyze counter did not move)");
        }
    }
    ctx.state.borrow_mut().record(it, sw_core::duration::millis(took));
    rec
}
