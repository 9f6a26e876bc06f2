//! Reporting: every `vacuum.table`, `vacuum.database` and `summary` record
//! goes out through here, so the counters in the summary and the run's
//! exit code always agree with the records printed.

use sw_core::contract::Timestamp;
use sw_core::{Error, Exit, Result};

use super::{Ctx, TOOL};
use crate::records::{Counts, DatabaseRecord, Status, Summary, TableRecord};

/// The run's counters and the worst failure so far.
#[derive(Debug, Default)]
pub(super) struct Totals {
    pub counts: Counts,
    worst: Option<Exit>,
}

impl Totals {
    /// Fold a failure's exit code into the run's worst.
    pub fn worsen(&mut self, e: Exit) {
        self.worst = Some(self.worst.unwrap_or(Exit::Ok).worst(e));
    }

    /// Count one action as it ended.
    fn count(&mut self, rec: &TableRecord) {
        let c = &mut self.counts;
        match rec.status {
            Status::Done => {
                c.done += 1;
                if rec.action.vacuums() {
                    c.dead_tuples_before += rec.dead_tuples_before.unwrap_or(0);
                    c.dead_tuples_after += rec.dead_tuples_after.unwrap_or(0);
                }
            }
            Status::Skipped => c.skipped += 1,
            Status::Timeout => c.timeout += 1,
            Status::Canceled => c.canceled += 1,
            Status::Failed => c.failed += 1,
        }
    }
}

/// Count and print one action's record.
pub(super) fn action(ctx: &Ctx, rec: TableRecord) -> Result<()> {
    ctx.totals.borrow_mut().count(&rec);
    ctx.out.borrow_mut().emit(&rec)
}

/// A database that failed among several: its record, and its code folded
/// into the run's.
pub(super) fn database_failed(ctx: &Ctx, db: &str, e: &Error) -> Result<()> {
    ctx.out.borrow_mut().emit(&DatabaseRecord {
        database: db.to_owned(),
        status: Status::Failed,
        error: e.to_string(),
    })?;
    let mut t = ctx.totals.borrow_mut();
    t.counts.failed += 1;
    t.worsen(e.exit());
    Ok(())
}

/// Print the summary and turn the worst failure into the run's result.
pub(super) fn finish(ctx: &Ctx) -> Result<()> {
    let totals = ctx.totals.borrow();
    ctx.out.borrow_mut().emit(&Summary {
        tool: TOOL,
        dry_run: ctx.cli.dry_run,
        counts: totals.counts.clone(),
        interrupted: ctx.cancel.get(),
        time_budget_ms: ctx.cli.time_budget.map(sw_core::duration::millis),
        paused_ms: sw_core::duration::millis(ctx.paused.get()),
        duration_ms: sw_core::duration::millis(ctx.start.elapsed()),
        finished_at: Timestamp::now(),
    })?;
    match totals.worst {
        Some(e) if e != Exit::Ok => Err(Error::new(
            e,
            format!(
                "{} of {} actions failed (see the vacuum.table and vacuum.database records)",
                totals.counts.failed, totals.counts.planned
            ),
        )),
        _ => Ok(()),
    }
}
