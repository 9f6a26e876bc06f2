//! Running the plan without ever blocking production.
//!
//! - Before each action, a look at `pg_locks`: a conflicting lock held or
//!   queued by anyone else means "skipped", without waiting.
//! - VACUUM and ANALYZE run with SKIP_LOCKED (never queued); whether they
//!   were skipped anyway is read back from the vacuum/analyze counters.
//!   REINDEX CONCURRENTLY runs under `lock_timeout` (default 1 s).
//! - While a statement runs, a session queued behind one of its locks
//!   makes us cancel it (autovacuum's behaviour), except for
//!   wraparound-urgent vacuums and VACUUM FULL.
//! - `--time-budget`: an action whose estimate (from its size and past
//!   runs in the state file) does not fit in what is left is not started;
//!   each statement gets `statement_timeout` = the time left.
//! - Guards: pause while replication lag or connection use is too high.
//! - SIGTERM/SIGINT: stop starting work, `pg_cancel_backend` our own
//!   running statements from the side connection until none is left,
//!   then exit 75.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sw_core::lock::Lock;
use sw_core::output::{Output, now_rfc3339};
use sw_core::pg::{self, quote_literal};
use sw_core::target::Target;
use sw_core::{Error, Exit, PgContext, Result};
use tokio_postgres::Client;

use crate::Cli;
use crate::pattern::Filter;
use crate::plan::{self, Action, Item, Policy};
use crate::state::State;

const TOOL: &str = "sw-vacuum";

/// Lock modes that conflict with SHARE UPDATE EXCLUSIVE (VACUUM, ANALYZE,
/// REINDEX CONCURRENTLY).
const CONFLICTS_SUE: &str =
    "'ShareUpdateExclusiveLock','ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'";
/// Every mode conflicts with ACCESS EXCLUSIVE (VACUUM FULL).
const CONFLICTS_AE: &str = "'AccessShareLock','RowShareLock','RowExclusiveLock','ShareUpdateExclusiveLock','ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'";

/// Shared run state (single-threaded runtime: Rc/RefCell).
struct Ctx {
    cli: Cli,
    out: RefCell<Output>,
    state: RefCell<State>,
    cancel: Cell<bool>,
    start: Instant,
    deadline: Option<Instant>,
    /// Backend pids of our worker sessions (for pg_cancel_backend).
    pids: RefCell<Vec<i32>>,
    side: RefCell<Option<Rc<Client>>>,
    paused: Cell<Duration>,
    totals: RefCell<Totals>,
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    databases: usize,
    planned: usize,
    done: usize,
    skipped: usize,
    failed: usize,
    timeout: usize,
    canceled: usize,
    dead_tuples_before: i64,
    dead_tuples_after: i64,
    #[serde(skip)]
    worst: Option<Exit>,
}

impl Totals {
    /// Fold a failure's exit code into the run's worst.
    fn worsen(&mut self, e: Exit) {
        self.worst = Some(self.worst.unwrap_or(Exit::Ok).worst(e));
    }
}

/// A `vacuum.plan` record.
#[derive(Serialize)]
struct PlanRec<'a> {
    #[serde(flatten)]
    item: &'a Item,
    est_ms: u64,
}

/// A `vacuum.table` record.
#[derive(Serialize, Default)]
struct TableRec {
    database: String,
    #[serde(rename = "table_schema")]
    schema: String,
    table: String,
    index: Option<String>,
    action: Option<Action>,
    rank: usize,
    reason: String,
    status: &'static str,
    skip_reason: Option<String>,
    error: Option<String>,
    started_at: Option<String>,
    dead_tuples_before: Option<i64>,
    dead_tuples_after: Option<i64>,
    size_before_bytes: Option<i64>,
    size_after_bytes: Option<i64>,
    duration_ms: Option<u64>,
    est_ms: u64,
}

impl TableRec {
    fn for_item(it: &Item, est_ms: u64) -> TableRec {
        TableRec {
            database: it.database.clone(),
            schema: it.schema.clone(),
            table: it.table.clone(),
            index: it.index.clone(),
            action: Some(it.action),
            rank: it.rank,
            reason: it.reason.clone(),
            status: "done",
            est_ms,
            ..TableRec::default()
        }
    }

    fn skip(mut self, why: impl Into<String>) -> TableRec {
        self.status = "skipped";
        self.skip_reason = Some(why.into());
        self
    }
}

fn policy(cli: &Cli) -> Policy {
    Policy {
        freeze_ratio: cli.freeze_ratio,
        freeze_age: cli.freeze_age,
        min_dead_tuples: cli.min_dead_tuples,
        min_dead_ratio: cli.min_dead_ratio,
        analyze_ratio: cli.analyze_ratio,
        index_bloat_ratio: cli.index_bloat_ratio,
        min_index_bytes: cli.min_index_mb.saturating_mul(1 << 20),
        vacuum_full: cli.vacuum_full.clone(),
        reindex: !cli.no_reindex,
        buffer_usage_limit: cli.buffer_usage_limit.clone(),
    }
}

/// The whole run: our own runtime, so a signal can cancel our statements
/// on the server before the process exits (75).
pub fn main(cli: Cli) -> Result<()> {
    let state_path = cli.state_file.clone().unwrap_or_else(crate::state::default_path);
    let _lock = if cli.dry_run {
        None
    } else {
        Some(Lock::try_acquire(&state_path.with_extension("lock"), "sw-vacuum")?)
    };
    let state = State::load(&state_path);
    let target = cli.conn.pg(Duration::ZERO).target()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::software("starting the async runtime").with_source(e))?;
    let pretty = cli.common.pretty;
    let dry_run = cli.dry_run;
    let ctx = Rc::new(Ctx {
        // A budget too far away to represent is no budget.
        deadline: cli.time_budget.and_then(|b| Instant::now().checked_add(b)),
        cli,
        out: RefCell::new(Output::stdout(pretty)),
        state: RefCell::new(state),
        cancel: Cell::new(false),
        start: Instant::now(),
        pids: RefCell::new(Vec::new()),
        side: RefCell::new(None),
        paused: Cell::new(Duration::ZERO),
        totals: RefCell::new(Totals::default()),
    });
    let result = rt.block_on(supervise(ctx.clone(), target));
    if !dry_run {
        let st = ctx.state.borrow();
        if let Err(e) = st.save(&state_path) {
            log::warn!("could not save the state file: {e}");
        }
    }
    result
}

async fn supervise(ctx: Rc<Ctx>, target: Target) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| Error::software("installing the SIGTERM handler").with_source(e))?;
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| Error::software("installing the SIGINT handler").with_source(e))?;
    let work = run_all(ctx.clone(), target);
    tokio::pin!(work);
    let sig = tokio::select! {
        r = &mut work => return r,
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    ctx.cancel.set(true);
    log::warn!("{sig}: cancelling our statements and stopping");
    let canceller = async {
        loop {
            cancel_ours(&ctx).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::select! {
        _ = &mut work => {}
        () = canceller => {}
        () = tokio::time::sleep(Duration::from_secs(20)) => {
            log::warn!("gave up waiting for the cancelled statements to end");
        }
    }
    // Whatever is still active after the work ended (it should be nothing).
    for _ in 0..25 {
        if cancel_ours(&ctx).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(Error::temp(format!("interrupted ({sig})")))
}

/// Cancel our workers' active statements; returns how many were active.
async fn cancel_ours(ctx: &Ctx) -> usize {
    let pids = ctx.pids.borrow().clone();
    let side = ctx.side.borrow().clone();
    let (Some(side), false) = (side, pids.is_empty()) else {
        return 0;
    };
    match side
        .query(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'active'",
            &[&pids],
        )
        .await
    {
        Ok(rows) => rows.len(),
        Err(e) => {
            log::warn!("cancelling our statements: {e}");
            0
        }
    }
}

async fn connect(ctx: &Ctx, target: &Target, statement_timeout: Duration) -> Result<Client> {
    let opts = ctx.cli.conn.pg(statement_timeout);
    let mut t = target.clone();
    if opts.application_name.is_some() {
        t.application_name = None;
    }
    Ok(pg::connect(&t, &opts.session(TOOL)).await?.client)
}

async fn databases(ctx: &Ctx, side: &Client, target: &Target) -> Result<Vec<String>> {
    let filter = Filter {
        include: ctx.cli.databases.clone(),
        exclude: ctx.cli.exclude_databases.clone(),
    };
    if ctx.cli.databases.is_empty() {
        return Ok(if filter.database(&target.dbname) {
            vec![target.dbname.clone()]
        } else {
            Vec::new()
        });
    }
    let rows = side
        .query(
            "SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
            &[],
        )
        .await
        .pg_context(|| "listing databases".into())?;
    Ok(rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|d| filter.database(d))
        .collect())
}

async fn run_all(ctx: Rc<Ctx>, target: Target) -> Result<()> {
    let side = Rc::new(connect(&ctx, &target, Duration::from_secs(30)).await?);
    *ctx.side.borrow_mut() = Some(side.clone());
    let standby: bool = side
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .pg_context(|| "checking the server's role".into())?
        .get(0);
    if standby && !ctx.cli.dry_run {
        return Err(Error::config(format!(
            "{target} is a standby (in recovery): VACUUM, ANALYZE and REINDEX run on the primary"
        )));
    }
    let dbs = databases(&ctx, &side, &target).await?;
    if dbs.is_empty() {
        log::warn!("no database matches the --database/--exclude-database patterns");
    }
    for db in &dbs {
        if ctx.cancel.get() {
            break;
        }
        ctx.totals.borrow_mut().databases += 1;
        match run_database(&ctx, &target.with_dbname(db)).await {
            Ok(()) => {}
            // One database: its error is the run's error.
            Err(e) if dbs.len() == 1 || ctx.cancel.get() => return Err(e),
            // Several: record it and go on with the others.
            Err(e) => {
                log::error!("database {db}: {e}");
                ctx.pids.borrow_mut().clear();
                #[derive(Serialize)]
                struct DbFailed<'a> {
                    database: &'a str,
                    status: &'static str,
                    error: String,
                }
                ctx.out.borrow_mut().record(
                    "vacuum.database",
                    &DbFailed {
                        database: db,
                        status: "failed",
                        error: e.to_string(),
                    },
                )?;
                let mut t = ctx.totals.borrow_mut();
                t.failed += 1;
                t.worsen(e.exit());
            }
        }
    }
    let totals = ctx.totals.borrow();
    #[derive(Serialize)]
    struct Summary<'a> {
        tool: &'static str,
        dry_run: bool,
        #[serde(flatten)]
        totals: &'a Totals,
        interrupted: bool,
        time_budget_ms: Option<u64>,
        paused_ms: u64,
        duration_ms: u64,
        finished_at: String,
    }
    ctx.out.borrow_mut().record(
        "summary",
        &Summary {
            tool: TOOL,
            dry_run: ctx.cli.dry_run,
            totals: &totals,
            interrupted: ctx.cancel.get(),
            time_budget_ms: ctx.cli.time_budget.map(sw_core::duration::millis),
            paused_ms: sw_core::duration::millis(ctx.paused.get()),
            duration_ms: sw_core::duration::millis(ctx.start.elapsed()),
            finished_at: now_rfc3339(),
        },
    )?;
    match totals.worst {
        Some(e) if e != Exit::Ok => Err(Error::new(
            e,
            format!(
                "{} of {} actions failed (see the vacuum.table and vacuum.database records)",
                totals.failed, totals.planned
            ),
        )),
        _ => Ok(()),
    }
}

/// One worker session: throttling set, pid recorded for cancellation.
async fn worker_session(ctx: &Ctx, target: &Target) -> Result<(Client, i32)> {
    let c = connect(ctx, target, Duration::ZERO).await?;
    let setup = format!(
        "SET vacuum_cost_delay = {}; SET vacuum_cost_limit = {}",
        quote_literal(&format!("{}ms", sw_core::duration::millis(ctx.cli.cost_delay))),
        ctx.cli.cost_limit
    );
    c.batch_execute(&setup)
        .await
        .pg_context(|| format!("setting up a session on {target}"))?;
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .pg_context(|| "reading our backend pid".into())?
        .get(0);
    ctx.pids.borrow_mut().push(pid);
    Ok((c, pid))
}

async fn run_database(ctx: &Rc<Ctx>, target: &Target) -> Result<()> {
    let mut clients = vec![worker_session(ctx, target).await?];
    let mut snap = crate::snapshot::take(&clients[0].0).await?;
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
    let items = plan::plan(&snap, &policy(&ctx.cli));
    ctx.totals.borrow_mut().planned += items.len();
    if ctx.cli.dry_run {
        let st = ctx.state.borrow();
        let mut out = ctx.out.borrow_mut();
        for it in &items {
            out.record(
                "vacuum.plan",
                &PlanRec {
                    item: it,
                    est_ms: st.estimate_ms(it),
                },
            )?;
        }
        ctx.pids.borrow_mut().clear();
        return Ok(());
    }
    // One queue entry per table, in the order of its best-ranked action;
    // a table's actions run in sequence on one connection (VACUUM before
    // REINDEX), different tables in parallel.
    let mut groups: Vec<(i64, Vec<Item>)> = Vec::new();
    for it in items {
        if let Some(skip) = &it.skip {
            let est = ctx.state.borrow().estimate_ms(&it);
            emit(ctx, TableRec::for_item(&it, est).skip(skip.clone()))?;
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
    // No more sessions than tables to work on.
    let jobs = usize::from(ctx.cli.jobs).min(groups.len());
    while clients.len() < jobs && !ctx.cancel.get() {
        clients.push(worker_session(ctx, target).await?);
    }
    let queue: RefCell<VecDeque<Vec<Item>>> = RefCell::new(groups.into_iter().map(|(_, v)| v).collect());
    let workers = clients.iter().map(|(c, pid)| worker(ctx, c, *pid, &queue));
    let results = futures_util::future::join_all(workers).await;
    ctx.pids.borrow_mut().clear();
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(())
}

fn emit(ctx: &Ctx, rec: TableRec) -> Result<()> {
    {
        let mut t = ctx.totals.borrow_mut();
        match rec.status {
            "done" => {
                t.done += 1;
                if matches!(
                    rec.action,
                    Some(Action::VacuumAnalyze | Action::VacuumFreezeAnalyze | Action::VacuumFull)
                ) {
                    t.dead_tuples_before += rec.dead_tuples_before.unwrap_or(0);
                    t.dead_tuples_after += rec.dead_tuples_after.unwrap_or(0);
                }
            }
            "skipped" => t.skipped += 1,
            "timeout" => t.timeout += 1,
            "canceled" => t.canceled += 1,
            _ => t.failed += 1,
        }
    }
    ctx.out.borrow_mut().record("vacuum.table", &rec)
}

async fn worker(ctx: &Ctx, client: &Client, pid: i32, queue: &RefCell<VecDeque<Vec<Item>>>) -> Result<()> {
    loop {
        let next = queue.borrow_mut().pop_front();
        let Some(group) = next else { return Ok(()) };
        for it in group {
            let rec = run_item(ctx, client, pid, &it).await?;
            emit(ctx, rec)?;
        }
    }
}

/// Returns why we must pause, if a guard is above its limit.
async fn guard(ctx: &Ctx) -> Result<Option<String>> {
    let side = ctx.side.borrow().clone();
    let Some(side) = side else { return Ok(None) };
    let row = side
        .query_one(
            "SELECT
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8
                 / greatest(1, current_setting('max_connections')::int
                               - current_setting('superuser_reserved_connections')::int)::float8,
               COALESCE((SELECT max(EXTRACT(epoch FROM replay_lag)) FROM pg_stat_replication), 0)::float8",
            &[],
        )
        .await
        .pg_context(|| "checking the guards".into())?;
    let used: f64 = row.get::<_, f64>(0) * 100.0;
    let lag: f64 = row.get(1);
    Ok(guard_reason(
        used,
        lag,
        ctx.cli.max_connection_use,
        ctx.cli.max_replication_lag,
    ))
}

/// Why to pause, given connection use (percent) and the worst standby's
/// replay lag (seconds); None when both are within their limits.
pub fn guard_reason(used_pct: f64, lag_s: f64, max_use_pct: f64, max_lag: Duration) -> Option<String> {
    if used_pct > max_use_pct {
        return Some(format!(
            "connection use {used_pct:.0}% is above --max-connection-use {max_use_pct}%"
        ));
    }
    if lag_s > max_lag.as_secs_f64() {
        return Some(format!(
            "replication lag {lag_s:.0}s is above --max-replication-lag {}s",
            max_lag.as_secs()
        ));
    }
    None
}

/// statement_timeout for the time left: at least 1 ms (0 would mean no
/// limit), and 0 (none) when the window is longer than the setting can hold.
pub fn statement_timeout_ms(left: Duration) -> u64 {
    match sw_core::duration::millis(left) {
        ms if ms > i32::MAX as u64 => 0,
        ms => ms.max(1),
    }
}

fn remaining(ctx: &Ctx) -> Option<Duration> {
    ctx.deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Wait for the guards; Some(reason) when the action must be skipped.
async fn wait_guards(ctx: &Ctx) -> Result<Option<String>> {
    loop {
        let Some(why) = guard(ctx).await? else { return Ok(None) };
        if ctx.paused.get() >= ctx.cli.max_pause {
            return Ok(Some(format!("paused the longest --max-pause allows: {why}")));
        }
        if remaining(ctx).is_some_and(|r| r <= ctx.cli.guard_interval) {
            return Ok(Some(format!("time budget ended while paused: {why}")));
        }
        log::info!("pausing: {why}");
        let step = ctx
            .cli
            .guard_interval
            .min(ctx.cli.max_pause.saturating_sub(ctx.paused.get()));
        tokio::time::sleep(step).await;
        ctx.paused.set(ctx.paused.get() + step);
        if ctx.cancel.get() {
            return Ok(Some("interrupted".to_owned()));
        }
    }
}

struct Stats {
    dead: Option<i64>,
    vacuums: i64,
    analyzes: i64,
    bytes: Option<i64>,
    /// The table's relfilenode: VACUUM FULL gives it a new one.
    filenode: Option<i64>,
    /// The table (by oid) and the object (by name) still exist.
    exists: bool,
}

async fn stats(client: &Client, it: &Item, qualified: &str) -> Result<Stats> {
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

/// Someone else's conflicting lock on the table, granted or queued.
async fn conflicting_lock(client: &Client, it: &Item) -> Result<Option<String>> {
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

/// Skip reason for an object dropped or renamed after the snapshot.
const GONE: &str = "no longer exists: dropped or renamed since the plan was made";

async fn run_item(ctx: &Ctx, client: &Client, pid: i32, it: &Item) -> Result<TableRec> {
    let est = ctx.state.borrow().estimate_ms(it);
    let rec = TableRec::for_item(it, est);
    if ctx.cancel.get() {
        let mut r = rec;
        r.status = "canceled";
        r.skip_reason = Some("interrupted before it started".into());
        return Ok(r);
    }
    if let Some(left) = remaining(ctx)
        && u128::from(est) > left.as_millis()
    {
        return Ok(rec.skip(format!(
            "time budget: needs about {est} ms, {} ms left",
            left.as_millis()
        )));
    }
    if let Some(why) = wait_guards(ctx).await? {
        return Ok(rec.skip(why));
    }
    if let Some(why) = conflicting_lock(client, it).await? {
        return Ok(rec.skip(why));
    }
    let qualified = plan::qualified(&it.schema, it.index.as_deref().unwrap_or(&it.table));
    let before = match stats(client, it, &qualified).await {
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
    rec.started_at = Some(now_rfc3339());
    rec.dead_tuples_before = before.dead;
    rec.size_before_bytes = before.bytes;
    let t0 = Instant::now();
    let (result, yielded) = run_yielding(ctx, client, pid, it).await;
    let ms = sw_core::duration::millis(t0.elapsed());
    rec.duration_ms = Some(ms);
    let _ = client.batch_execute("SET statement_timeout = 0").await;
    if let Err(e) = result {
        let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
        let by_timeout = e
            .as_db_error()
            .is_some_and(|d| d.message().contains("statement timeout"));
        let err = Error::pg(format!("{} on {qualified}", it.action.rate_key()), e);
        let leftover = if it.action == Action::Reindex && !ctx.cancel.get() {
            drop_leftovers(ctx, client, it).await
        } else if it.action == Action::Reindex {
            " (an invalid _ccnew index may be left; the next run drops it)".to_owned()
        } else {
            String::new()
        };
        match code.as_str() {
            // undefined_table / undefined_object: dropped or renamed just now.
            "42P01" | "42704" if !ctx.cancel.get() => return Ok(rec.skip(format!("{GONE}{leftover}"))),
            "55P03" => return Ok(rec.skip(format!("lock_timeout: {}{leftover}", err.message()))),
            "57014" if yielded.is_some() && !ctx.cancel.get() => {
                return Ok(rec.skip(format!("{}{leftover}", yielded.unwrap_or_default())));
            }
            "57014" if ctx.cancel.get() => {
                rec.status = "canceled";
                rec.error = Some(format!("cancelled by SIGTERM/SIGINT{leftover}"));
            }
            "57014" if by_timeout && ctx.deadline.is_some() => {
                rec.status = "timeout";
                rec.error = Some(format!("the time budget ended{leftover}"));
            }
            _ => {
                rec.status = "failed";
                rec.error = Some(format!("{err}{leftover}"));
                let mut t = ctx.totals.borrow_mut();
                t.worsen(err.exit());
            }
        }
        return Ok(rec);
    }
    let after = stats(client, it, &qualified).await.ok();
    if let Some(a) = &after {
        rec.dead_tuples_after = a.dead;
        rec.size_after_bytes = a.bytes;
        let vacuumed = a.vacuums > before.vacuums;
        let analyzed = a.analyzes > before.analyzes;
        let skipped = match it.action {
            Action::VacuumAnalyze | Action::VacuumFreezeAnalyze => !vacuumed,
            // VACUUM FULL is a rewrite: it counts as no vacuum, but gets a new file.
            Action::VacuumFull => a.filenode == before.filenode,
            Action::Analyze => !analyzed,
            Action::Reindex | Action::DropInvalidIndex => false,
        };
        if skipped {
            return Ok(rec.skip("locked: SKIP_LOCKED found the table locked (its vacuum/analyze counter did not move)"));
        }
    }
    ctx.state.borrow_mut().record(it, ms);
    Ok(rec)
}

/// How often a running action looks for sessions waiting on its locks
/// (autovacuum gives way after deadlock_timeout, 1 s by default).
const YIELD_CHECK: Duration = Duration::from_secs(1);

/// Whether an action gives way to a session queued behind its lock, as
/// autovacuum does: all but wraparound-urgent vacuums and VACUUM FULL
/// (asked for by name, and blocking by nature).
fn yields(it: &Item) -> bool {
    it.score < 3.0 && it.action != Action::VacuumFull
}

/// Run the action's statement. Meanwhile, from the side connection, look
/// for another session waiting for a lock this session holds (an ALTER
/// TABLE queued behind our VACUUM would queue every reader behind it): then
/// cancel our statement and return why (the action is reported skipped).
async fn run_yielding(
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

/// After a failed REINDEX CONCURRENTLY: drop the invalid `_ccnew` copy it
/// left (same lock timeout, so this cannot block either). Returns a note
/// for the record.
async fn drop_leftovers(ctx: &Ctx, client: &Client, it: &Item) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards() {
        let lag = Duration::from_secs(300);
        assert_eq!(guard_reason(50.0, 10.0, 90.0, lag), None);
        let why = guard_reason(95.0, 0.0, 90.0, lag).unwrap_or_default();
        assert!(why.starts_with("connection use 95%"), "{why}");
        let why = guard_reason(10.0, 301.0, 90.0, lag).unwrap_or_default();
        assert_eq!(why, "replication lag 301s is above --max-replication-lag 300s");
        assert_eq!(guard_reason(90.0, 300.0, 90.0, lag), None);
    }

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

    #[test]
    fn statement_timeout_fits_the_setting() {
        assert_eq!(statement_timeout_ms(Duration::ZERO), 1);
        assert_eq!(statement_timeout_ms(Duration::from_secs(90)), 90_000);
        // 30 days is more than int4 milliseconds: no limit rather than an error.
        assert_eq!(statement_timeout_ms(Duration::from_secs(30 * 86_400)), 0);
        assert_eq!(
            statement_timeout_ms(Duration::from_millis(i32::MAX as u64)),
            i32::MAX as u64
        );
    }
}
