//! One database: take the snapshot, plan it, print the plan (`--dry-run`)
//! or queue it. The queue holds one entry per table, in the order of its
//! best-ranked action; a table's actions run in sequence on one session
//! (VACUUM before REINDEX), different tables in parallel on up to `--jobs`
//! sessions.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use sw_core::Result;
use sw_core::target::Target;
use tokio_postgres::Client;

use super::{Ctx, report, worker_session};
use crate::pattern::Filter;
use crate::plan::{self, Item};
use crate::records::{PlanRecord, TableRecord};

/// A database's tables still to do, each with its actions in order.
type Queue = RefCell<VecDeque<Vec<Item>>>;

/// Plan and run (or print the plan of) one database.
pub(super) async fn run(ctx: &Rc<Ctx>, target: &Target) -> Result<()> {
    let mut clients = vec![worker_session(ctx, target).await?];
    let items = plan_database(ctx, &clients[0].0).await?;
    ctx.totals.borrow_mut().counts.planned += items.len();
    if ctx.cli.dry_run {
        let st = ctx.state.borrow();
        let mut out = ctx.out.borrow_mut();
        for it in &items {
            out.emit(&PlanRecord {
                item: it,
                est_ms: st.estimate_ms(it),
            })?;
        }
        ctx.pids.borrow_mut().clear();
        return Ok(());
    }
    let groups = queue(ctx, items)?;
    // No more sessions than tables to work on.
    let jobs = usize::from(ctx.cli.jobs).min(groups.len());
    while clients.len() < jobs && !ctx.cancel.get() {
        clients.push(worker_session(ctx, target).await?);
    }
    let queue: Queue = RefCell::new(groups);
    let workers = clients.iter().map(|(c, pid)| worker(ctx, c, *pid, &queue));
    let results = futures_util::future::join_all(workers).await;
    ctx.pids.borrow_mut().clear();
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(())
}

/// The snapshot, narrowed to the tables asked for, and its plan.
async fn plan_database(ctx: &Ctx, client: &Client) -> Result<Vec<Item>> {
    let mut snap = crate::snapshot::take(client).await?;
    let filter = Filter {
        include: ctx.cli.tables.clone(),
        exclude: ctx.cli.exclude_tables.clone(),
    };
    snap.tables.retain(|t| filter.table(&t.schema, &t.table));
    if ctx.cli.buffer_usage_limit.is_some() && snap.server_version_num < 160_000 {
        log::warn!(
            "--buffer-usage-limit needs PostgreSQL 16 or later; {} runs {}: ignored",
            snap.database,
            snap.server_version_num
        );
    }
    Ok(plan::plan(&snap, &ctx.cli.policy()))
}

/// Report the items planned as skipped (autovacuum is on them) and group
/// the rest by table, in rank order.
fn queue(ctx: &Ctx, items: Vec<Item>) -> Result<VecDeque<Vec<Item>>> {
    let mut groups: Vec<(i64, Vec<Item>)> = Vec::new();
    for it in items {
        if let Some(skip) = &it.skip {
            let est = ctx.state.borrow().estimate_ms(&it);
            report::action(ctx, TableRecord::for_item(&it, est).skip(skip.clone()))?;
            continue;
        }
        match groups.iter_mut().find(|(oid, _)| *oid == it.table_oid) {
            Some((_, v)) => v.push(it),
            None => groups.push((it.table_oid, vec![it])),
        }
    }
    for (_, v) in &mut groups {
        v.sort_by_key(|i| i.action.on_index());
    }
    Ok(groups.into_iter().map(|(_, v)| v).collect())
}

/// One session taking tables off the queue until it is empty.
async fn worker(ctx: &Ctx, client: &Client, pid: i32, queue: &Queue) -> Result<()> {
    loop {
        let next = queue.borrow_mut().pop_front();
        let Some(group) = next else { return Ok(()) };
        for it in group {
            let rec = super::action::run(ctx, client, pid, &it).await?;
            report::action(ctx, rec)?;
        }
    }
}
