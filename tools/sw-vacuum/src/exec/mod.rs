//! Running the plan without ever blocking production. This module holds the
//! run itself (one runtime, the lock on the state file, the side
//! connection, the loop over databases); each job has its own module:
//!
//! - [`database`]: one database: snapshot, plan, and the queue the workers
//!   (one session each, `--jobs`) take tables from.
//! - [`action`]: one action, from its pre-checks to how it ended.
//! - [`locks`]: before each action, a look at `pg_locks` (a conflicting
//!   lock held or queued by anyone else means "skipped", without waiting);
//!   while it runs, the yield watcher: a session queued behind one of its
//!   locks makes us cancel it (autovacuum's behaviour), except for
//!   wraparound-urgent vacuums and VACUUM FULL. VACUUM and ANALYZE run with
//!   SKIP_LOCKED; REINDEX CONCURRENTLY under `lock_timeout` (default 1 s).
//! - [`stats`]: the counters and sizes read before and after an action
//!   (a SKIP_LOCKED skip shows as a counter that did not move), and the
//!   cleanup of a failed REINDEX CONCURRENTLY.
//! - [`guard`]: `--time-budget` (an action whose estimate does not fit in
//!   what is left is not started; each statement gets `statement_timeout`
//!   = the time left) and the pauses while replication lag or connection
//!   use is too high.
//! - [`signal`]: SIGTERM/SIGINT: stop starting work, `pg_cancel_backend`
//!   our own running statements from the side connection until none is
//!   left, then exit 75.
//! - [`report`]: the `vacuum.table`, `vacuum.database` and `summary`
//!   records, the counters, and the run's exit code.

mod action;
mod database;
mod guard;
mod locks;
mod report;
mod signal;
mod stats;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use sw_core::cli::PgOpts;
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::pg::{self, quote_literal};
use sw_core::target::Target;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::Cli;
use crate::pattern::Filter;
use crate::state::State;
use report::Totals;

const TOOL: &str = "sw-vacuum";

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
    /// The side connection: guards, the yield watcher, cancellation.
    side: RefCell<Option<Rc<Client>>>,
    paused: Cell<Duration>,
    totals: RefCell<Totals>,
}

/// The whole run: our own runtime, so a signal can cancel our statements
/// on the server before the process exits (75).
///
/// # Errors
/// The run's exit code: see [`crate::docs`].
pub fn main(cli: Cli) -> Result<()> {
    let state_path = cli.state_file.clone().unwrap_or_else(crate::state::default_path);
    let _lock = if cli.dry_run {
        None
    } else {
        Some(Lock::try_acquire(&state_path.with_extension("lock"), TOOL)?)
    };
    let state = State::load(&state_path);
    let target = cli.pg.target()?;
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
    let result = rt.block_on(signal::supervise(ctx.clone(), target));
    if !dry_run {
        let st = ctx.state.borrow();
        if let Err(e) = st.save(&state_path) {
            log::warn!("could not save the state file: {e}");
        }
    }
    result
}

/// A session on `target` with the connection flags and this statement
/// timeout (0 = none).
async fn connect(ctx: &Ctx, target: &Target, statement_timeout: Duration) -> Result<Client> {
    let opts = PgOpts {
        statement_timeout,
        ..ctx.cli.pg.clone()
    };
    let mut t = target.clone();
    if opts.application_name.is_some() {
        t.application_name = None;
    }
    Ok(pg::connect(&t, &opts.session(TOOL)).await?.client)
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

/// The databases to process: the target's, or those the patterns select.
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

/// The side connection, the primary check, then each database in turn;
/// the summary last.
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
        ctx.totals.borrow_mut().counts.databases += 1;
        match database::run(&ctx, &target.with_dbname(db)).await {
            Ok(()) => {}
            // One database: its error is the run's error.
            Err(e) if dbs.len() == 1 || ctx.cancel.get() => return Err(e),
            // Several: record it and go on with the others.
            Err(e) => {
                log::error!("database {db}: {e}");
                ctx.pids.borrow_mut().clear();
                report::database_failed(&ctx, db, &e)?;
            }
        }
    }
    report::finish(&ctx)
}
