//! One function per subcommand: load the directory, connect, take the
//! deployer lock where the command changes something, compare, lint, run,
//! print the records.

use std::collections::HashMap;
use std::time::Instant;

use sw_core::config::Env;
use sw_core::output::Output;
use sw_core::pg::{Connection, quote_ident};
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::apply::{Runner, Settings};
use crate::files::{self, Migration, hex};
use crate::lint::{self, Finding};
use crate::plan::Plan;
use crate::records::{HistoryRecord, NewRecord, RepairRecord, Summary};
use crate::store::{Applied, Direction, Store};
use crate::{DownArgs, HistoryArgs, LintArgs, NAME, NewArgs, RepairArgs, RunOpts, SeedArgs, StatusArgs, UpArgs};

/// `os_user@host` of this run.
fn actor() -> String {
    let user = Env::process().os_user_name().unwrap_or_else(|| "unknown".to_owned());
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{user}@{host}")
}

/// Connect with the migrations' search_path. On PostgreSQL 14+ the server
/// also checks every second that we are still there
/// (`client_connection_check_interval`), so a deployer killed during a
/// statement does not leave it running (an index build would otherwise
/// finish, or an ALTER keep waiting, for a client that is gone); a killed
/// concurrent index build is left INVALID, which `status` then names.
async fn connect(pg: &sw_core::cli::PgOpts, schema: &str) -> Result<Connection> {
    let (_, conn) = pg.connect(NAME).await?;
    conn.client
        .batch_execute(&format!("SET search_path = {}", quote_ident(schema)))
        .await
        .pg_context(|| format!("setting search_path to {schema}"))?;
    let v: i32 = conn
        .client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .pg_context(|| "reading the server version".to_owned())?
        .get(0);
    if v >= 140_000 {
        conn.client
            .batch_execute("SET client_connection_check_interval = 1000")
            .await
            .pg_context(|| "setting client_connection_check_interval".to_owned())?;
    }
    Ok(conn)
}

fn settings(run: &RunOpts, pg: &sw_core::cli::PgOpts) -> Settings {
    Settings {
        lock_timeout: pg.lock_timeout,
        statement_timeout: pg.statement_timeout,
        index_lock_timeout: run.index_lock_timeout,
        index_statement_timeout: run.index_statement_timeout,
        lock_retries: run.lock_retries,
        retry_delay: run.retry_delay,
    }
}

/// INVALID indexes still present for each part-way migration: those its
/// failure recorded, and those on the targets of the statement it stopped
/// at (a run killed during a concurrent index build recorded none).
async fn live_invalid(
    c: &Client,
    store: &Store,
    files: &[Migration],
    applied: &[Applied],
) -> Result<HashMap<i64, Vec<String>>> {
    let mut out = HashMap::new();
    for a in applied.iter().filter(|a| !a.success) {
        let mut names = a.invalid_indexes.clone();
        let mut tables = Vec::new();
        let file = files
            .iter()
            .find(|m| m.version == a.version)
            .and_then(|m| match a.direction {
                Direction::Up => Some(&m.up),
                Direction::Down => m.down.as_ref(),
            });
        if let Some(s) = file.and_then(|f| f.statements.get(a.statements_done)) {
            let (t, n) = crate::apply::index_targets(std::slice::from_ref(s));
            tables.extend(t);
            names.extend(n);
        }
        if !names.is_empty() || !tables.is_empty() {
            out.insert(a.version, store.invalid_indexes(c, &tables, &names).await?);
        }
    }
    Ok(out)
}

/// Print the findings; the error when unacknowledged ones stop the run.
fn report_lint(out: &mut Output, findings: &[Finding], allow: bool, what: &str) -> Result<Option<Error>> {
    for f in findings {
        out.emit(f)?;
    }
    let open: Vec<&Finding> = findings.iter().filter(|f| !f.acknowledged).collect();
    if open.is_empty() || allow {
        return Ok(None);
    }
    let first = open[0];
    Ok(Some(Error::data(format!(
        "{} unacknowledged lint finding(s) in the migrations {what}, first {} at {}:{}: {}; acknowledge with a `-- sw:allow {}: reason` comment before the statement, or pass --allow-lint",
        open.len(),
        first.rule,
        first.file,
        first.line,
        first.message,
        first.rule
    ))))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Ready<'a> {
    files: &'a [Migration],
    applied: Vec<Applied>,
    store: Store,
}

/// Connect-side preparation shared by up and down: lock (unless a dry
/// run), create the tables, read the rows, refuse inconsistencies.
async fn prepare<'a>(c: &Client, files: &'a [Migration], schema: &str, run: &RunOpts) -> Result<Ready<'a>> {
    let store = Store::new(schema, actor());
    if !run.dry_run {
        store.lock(c, run.lock_wait).await?;
        store.create(c).await?;
    }
    let applied = store.applied(c).await?;
    let live = live_invalid(c, &store, files, &applied).await?;
    let plan = Plan {
        files,
        applied: &applied,
        schema,
    };
    plan.require_consistent(&|a| live.get(&a.version).cloned().unwrap_or_default())?;
    Ok(Ready { files, applied, store })
}

/// `sw-schema up`.
pub async fn up(a: &UpArgs, out: &mut Output) -> Result<()> {
    let start = Instant::now();
    let files = files::load(&a.dir.dir)?;
    let conn = connect(&a.pg, &a.schema.schema).await?;
    let c = &conn.client;
    let r = prepare(c, &files, &a.schema.schema, &a.run).await?;
    let plan = Plan {
        files: r.files,
        applied: &r.applied,
        schema: &a.schema.schema,
    };
    let from = plan.current();
    let to = a.to.unwrap_or(i64::MAX);
    let mut todo: Vec<(&Migration, Option<&Applied>)> = Vec::new();
    for p in plan.part_way() {
        if p.direction == Direction::Down {
            return Err(Error::data(format!(
                "migration {:04} stopped part-way through its down file: finish reverting it with sw-schema down first",
                p.version
            )));
        }
        if let Some(m) = plan.file(p.version) {
            todo.push((m, Some(p)));
        }
    }
    todo.extend(
        plan.pending()
            .into_iter()
            .filter(|m| m.version <= to)
            .map(|m| (m, None)),
    );
    let versions: Vec<i64> = todo.iter().map(|(m, _)| m.version).collect();
    let opts = lint::Opts {
        lock_timeout: a.pg.lock_timeout,
    };
    let findings = lint::lint(&files, opts, |v, down| !down && versions.contains(&v));
    let mut stop = report_lint(out, &findings, a.run.allow_lint, "to apply")?;
    if !a.run.dry_run
        && let Some(e) = stop.take()
    {
        return Err(e);
    }
    let runner = Runner {
        c,
        store: &r.store,
        s: settings(&a.run, &a.pg),
    };
    let mut applied = 0;
    for (m, prior) in &todo {
        if a.run.dry_run {
            out.emit(&crate::apply::record(m, Direction::Up, &m.up, true))?;
            continue;
        }
        let (rec, res) = runner.run(m, Direction::Up, *prior).await;
        out.emit(&rec)?;
        res?;
        applied += 1;
    }
    if let Some(e) = stop.take() {
        return Err(e);
    }
    let left = plan.pending().len() - todo.iter().filter(|(_, p)| p.is_none()).count();
    out.emit(&Summary {
        command: "up".into(),
        dry_run: a.run.dry_run,
        from_version: Some(from),
        to_version: Some(todo.last().map_or(from, |(m, _)| m.version.max(from))),
        applied: count(applied),
        reverted: 0,
        pending: Some(count(left)),
        findings: count(findings.len()),
        acknowledged: count(findings.iter().filter(|f| f.acknowledged).count()),
        duration_ms: sw_core::duration::millis(start.elapsed()),
    })
}

/// `sw-schema down`.
pub async fn down(a: &DownArgs, out: &mut Output) -> Result<()> {
    let start = Instant::now();
    let files = files::load(&a.dir.dir)?;
    let conn = connect(&a.pg, &a.schema.schema).await?;
    let c = &conn.client;
    let r = prepare(c, &files, &a.schema.schema, &a.run).await?;
    let plan = Plan {
        files: r.files,
        applied: &r.applied,
        schema: &a.schema.schema,
    };
    let from = plan.current();
    let mut rows: Vec<&Applied> = r.applied.iter().collect();
    rows.sort_by_key(|x| std::cmp::Reverse(x.version));
    let targets: Vec<&Applied> = match a.to {
        Some(v) => rows.into_iter().filter(|x| x.version > v).collect(),
        None => rows
            .into_iter()
            .take(usize::try_from(a.steps).unwrap_or(usize::MAX))
            .collect(),
    };
    let mut todo = Vec::new();
    for t in &targets {
        let m = plan
            .file(t.version)
            .ok_or_else(|| Error::data(format!("migration {:04} has no file", t.version)))?;
        if m.down.is_none() {
            return Err(Error::data(format!(
                "migration {:04} {} has no down file ({}): it cannot be reverted",
                m.version,
                m.name,
                m.up.path.display().to_string().replace(".up.sql", ".down.sql")
            )));
        }
        todo.push((m, *t));
    }
    let versions: Vec<i64> = todo.iter().map(|(m, _)| m.version).collect();
    let findings = lint::lint(
        &files,
        lint::Opts {
            lock_timeout: a.pg.lock_timeout,
        },
        |v, down| down && versions.contains(&v),
    );
    let mut stop = report_lint(out, &findings, a.run.allow_lint, "to revert")?;
    if !a.run.dry_run
        && let Some(e) = stop.take()
    {
        return Err(e);
    }
    let runner = Runner {
        c,
        store: &r.store,
        s: settings(&a.run, &a.pg),
    };
    let mut reverted = 0;
    for (m, row) in &todo {
        if let Some(d) = m.down.as_ref().filter(|_| a.run.dry_run) {
            out.emit(&crate::apply::record(m, Direction::Down, d, true))?;
            continue;
        }
        if let Some(e) = stop {
            return Err(e);
        }
        let prior = (!row.success && row.direction == Direction::Down).then_some(*row);
        let (rec, res) = runner.run(m, Direction::Down, prior).await;
        out.emit(&rec)?;
        res?;
        reverted += 1;
    }
    if let Some(e) = stop.take() {
        return Err(e);
    }
    let to = r
        .applied
        .iter()
        .map(|x| x.version)
        .filter(|v| !versions.contains(v))
        .max()
        .unwrap_or(0);
    out.emit(&Summary {
        command: "down".into(),
        dry_run: a.run.dry_run,
        from_version: Some(from),
        to_version: Some(to),
        applied: 0,
        reverted: count(reverted),
        pending: Some(count(plan.pending().len() + todo.len())),
        findings: count(findings.len()),
        acknowledged: count(findings.iter().filter(|f| f.acknowledged).count()),
        duration_ms: sw_core::duration::millis(start.elapsed()),
    })
}

/// `sw-schema status`.
pub async fn status(a: &StatusArgs, out: &mut Output) -> Result<()> {
    let files = files::load(&a.dir.dir)?;
    let conn = connect(&a.pg, &a.schema.schema).await?;
    let c = &conn.client;
    let store = Store::new(&a.schema.schema, actor());
    let applied = store.applied(c).await?;
    let live = live_invalid(c, &store, &files, &applied).await?;
    let plan = Plan {
        files: &files,
        applied: &applied,
        schema: &a.schema.schema,
    };
    let rec = plan.status(&|x| live.get(&x.version).cloned().unwrap_or_default());
    out.emit(&rec)?;
    let problems = rec.changed.len() + rec.missing.len() + rec.out_of_order.len() + rec.failed.len();
    if problems > 0 {
        let first = if let Some(f) = rec.failed.first() {
            format!("migration {:04} stopped part-way: {}", f.version, f.repair)
        } else if let Some(ch) = rec.changed.first() {
            format!("applied migration {:04} changed: {}", ch.version, ch.file)
        } else {
            "see the schema.status record".to_owned()
        };
        return Err(Error::data(format!(
            "the database does not match {} ({problems} problem(s)); {first}",
            a.dir.dir.display()
        )));
    }
    Ok(())
}

/// `sw-schema history`.
pub async fn history(a: &HistoryArgs, out: &mut Output) -> Result<()> {
    let conn = connect(&a.pg, &a.schema.schema).await?;
    let store = Store::new(&a.schema.schema, actor());
    for r in store.log(&conn.client).await? {
        out.emit(&HistoryRecord {
            at: sw_core::contract::Timestamp(r.at),
            version: r.version,
            name: r.name,
            action: r.action,
            actor: r.actor,
            db_user: r.db_user,
            reason: r.reason,
            duration_ms: r.duration_ms,
            up_checksum: r.up_checksum.as_deref().map(hex),
            down_checksum: r.down_checksum.as_deref().map(hex),
            statement: r.statement,
            error: r.error,
        })?;
    }
    Ok(())
}

/// `sw-schema repair`.
pub async fn repair(a: &RepairArgs, out: &mut Output) -> Result<()> {
    if a.reason.trim().is_empty() {
        return Err(Error::usage("--reason must say why the applied file changed"));
    }
    let files = files::load(&a.dir.dir)?;
    let conn = connect(&a.pg, &a.schema.schema).await?;
    let c = &conn.client;
    let store = Store::new(&a.schema.schema, actor());
    store.lock(c, std::time::Duration::from_secs(60)).await?;
    let row = store
        .applied(c)
        .await?
        .into_iter()
        .find(|x| x.version == a.target)
        .ok_or_else(|| Error::data(format!("migration {} is not applied: nothing to repair", a.target)))?;
    let m = files
        .iter()
        .find(|m| m.version == a.target)
        .ok_or_else(|| Error::data(format!("migration {} has no file in {}", a.target, a.dir.dir.display())))?;
    let new_down = m.down.as_ref().map(|d| d.checksum);
    c.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
    store
        .restamp(
            c,
            m.version,
            &m.up.checksum,
            new_down.as_ref().map(<[u8; 32]>::as_slice),
        )
        .await?;
    if !row.success {
        let file = if row.direction == Direction::Down {
            m.down.as_ref().unwrap_or(&m.up)
        } else {
            &m.up
        };
        let mut r2 = row.clone();
        r2.up_checksum = m.up.checksum.to_vec();
        r2.down_checksum = new_down.map(|d| d.to_vec());
        r2.done_checksum = Some(files::prefix_checksum(&file.statements, row.statements_done).to_vec());
        store.put(c, &r2).await?;
    }
    store
        .event(
            c,
            &crate::store::Event {
                version: m.version,
                name: &m.name,
                action: "repair",
                reason: Some(a.reason.trim()),
                up_checksum: Some(&m.up.checksum),
                down_checksum: new_down.as_ref().map(<[u8; 32]>::as_slice),
                ..crate::store::Event::default()
            },
        )
        .await?;
    c.batch_execute("COMMIT")
        .await
        .pg_context(|| "committing the repair".to_owned())?;
    out.emit(&RepairRecord {
        version: m.version,
        name: m.name.clone(),
        old_up_checksum: hex(&row.up_checksum),
        new_up_checksum: hex(&m.up.checksum),
        old_down_checksum: row.down_checksum.as_deref().map(hex),
        new_down_checksum: new_down.map(|d| hex(&d)),
        actor: store.actor.clone(),
        reason: a.reason.trim().to_owned(),
    })
}

/// `sw-schema new`.
pub fn new(a: &NewArgs, out: &mut Output) -> Result<()> {
    use sw_core::error::IoContext;
    std::fs::create_dir_all(&a.dir.dir).io_context(|| format!("creating {}", sw_core::fsutil::q(&a.dir.dir)))?;
    let existing = files::load(&a.dir.dir)?;
    let (version, stem) = files::next_stem(&existing, &a.name)?;
    let name = stem.split_once('_').map_or(stem.as_str(), |(_, n)| n).to_owned();
    let up = a.dir.dir.join(format!("{stem}.up.sql"));
    let down = a.dir.dir.join(format!("{stem}.down.sql"));
    sw_core::fsutil::write_new(&up, files::up_template(version, &name).as_bytes(), 0o644)?;
    sw_core::fsutil::write_new(&down, files::down_template(version, &name).as_bytes(), 0o644)?;
    out.emit(&NewRecord {
        version,
        name,
        up_file: up.display().to_string(),
        down_file: down.display().to_string(),
    })
}

/// `sw-schema lint`.
pub fn lint(a: &LintArgs, out: &mut Output) -> Result<()> {
    let start = Instant::now();
    let files = files::load(&a.dir.dir)?;
    let findings = lint::lint(
        &files,
        lint::Opts {
            lock_timeout: a.lock_timeout,
        },
        |_, _| true,
    );
    let stop = report_lint(out, &findings, false, &format!("in {}", a.dir.dir.display()))?;
    out.emit(&Summary {
        command: "lint".into(),
        dry_run: false,
        from_version: None,
        to_version: None,
        applied: 0,
        reverted: 0,
        pending: None,
        findings: count(findings.len()),
        acknowledged: count(findings.iter().filter(|f| f.acknowledged).count()),
        duration_ms: sw_core::duration::millis(start.elapsed()),
    })?;
    stop.map_or(Ok(()), Err)
}

/// `sw-schema seed`.
pub async fn seed(a: &SeedArgs, out: &mut Output) -> Result<()> {
    let conn = connect(&a.pg, &a.schema.schema).await?;
    let rec = crate::seed::seed(&conn.client, &a.admin_email, &a.password_file, a.demo).await?;
    out.emit(&rec)
}
