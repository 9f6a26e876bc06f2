//! One check run against one target, start to finish: connect and read the
//! server facts, then the checks in phases (the facts' own checks and
//! latency; the cluster-wide checks once; the per-database checks in this
//! session and, with `--all-databases`, one more session per database;
//! the host checks; the backup age), then the pooler's console, save the
//! state for the next run and put the results in catalogue order.

use std::path::Path;
use std::time::Instant;

use sw_core::contract::Timestamp;
use sw_core::duration::millis_f64;
use sw_core::health::{HealthReport, Status};
use sw_core::target::Target;
use sw_core::{Exit, Result};

use super::RunOpts;
use super::runner::Runner;
use super::session::{Fail, Sess};
use super::share::{Cell, Shared};
use super::state::State;
use super::sweep::Plan;
use crate::azure::fetch::{self, Fetched};
use crate::checks::host::{self, Host};
use crate::checks::server::{self, Server};
use crate::checks::{
    CATALOGUE, Check, How, Scope, archiver, azure, backup, latency, pooler, rates, replication, round3, tls,
};

const DATABASES_SQL: &str = "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate \
     AND has_database_privilege(datname, 'CONNECT') ORDER BY datname";

/// Run the checks `r` wants and build the report: the SQL checks of
/// `target`, with `--pooler-url` the PgBouncer console's (after them), and
/// with `--azure` the Flexible Server's through the Resource
/// Manager (read at the same time, judged after the SQL checks so a
/// measurement they made is not reported twice). A server that cannot be
/// reached, or does not answer, is a report too (CRITICAL). In a fleet,
/// `shared` holds the server-wide results of servers already checked.
///
/// # Errors
/// Only what keeps the run from judging the server: a bad target (64, 78)
/// or an internal error (70).
pub async fn collect(
    plan: &Plan<'_>,
    target: Option<&Target>,
    mut r: Runner<'_>,
    state_path: &Path,
    shared: Option<&Shared>,
) -> Result<HealthReport> {
    let (args, azure) = (plan.args, plan.azure);
    let started = Instant::now();
    let name = target.map_or_else(|| azure.map(|a| a.server.id()).unwrap_or_default(), Target::to_string);
    let mut report = new_report(&name);
    let fetch = azure.map(|a| {
        let (spec, within) = (a.clone(), a.arm_timeout.min(r.left()));
        // A thread of its own, not the runtime's blocking pool: should a
        // token source hang past the deadline, the run reports UNKNOWN and
        // exits without waiting for it.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(fetch::fetch(&spec, within));
        });
        rx
    });
    let unreachable = match target {
        Some(t) => sql(args, t, &mut r, &mut report, state_path, started, shared).await?,
        None => None,
    };
    if let Some(p) = plan.pooler {
        let session = r.session(&args.pg);
        pooler::run(&mut r, p, &session).await;
    }
    if let Some(f) = fetch {
        let wait = r.left().max(std::time::Duration::from_millis(100));
        let f = match tokio::time::timeout(wait, f).await {
            Ok(Ok(f)) => f,
            Ok(Err(_)) => Fetched::failed("the Azure round trips failed", chrono::Utc::now()),
            Err(_) => Fetched::failed(
                "no answer from the Resource Manager before the deadline",
                chrono::Utc::now(),
            ),
        };
        fill_from_azure(&mut report, &f);
        azure::report(&mut r, &f);
    }
    Ok(match unreachable {
        Some(msg) => down(r, report, started, &msg),
        None => finish(r, report, started),
    })
}

/// The server's version and role from Azure when no SQL session gave them.
fn fill_from_azure(report: &mut HealthReport, f: &Fetched) {
    let Ok(s) = &f.server else { return };
    let text = |p: &str| sw_core::azure::flexible::text(s, p);
    if report.server_version.is_none() && !text("/properties/version").is_empty() {
        let v = [text("/properties/version"), text("/properties/minorVersion")];
        report.server_version = Some(
            v.iter()
                .filter(|x| !x.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("."),
        );
    }
    if report.role.is_none() {
        let role = sw_core::azure::flexible::replication_role(s).to_ascii_lowercase();
        report.role = Some(if role.contains("replica") { "standby" } else { "primary" }.to_owned());
    }
}

/// The SQL checks of `target`; Some(why) when the server cannot be reached
/// or does not answer.
async fn sql(
    args: &RunOpts,
    target: &Target,
    r: &mut Runner<'_>,
    report: &mut HealthReport,
    state_path: &Path,
    started: Instant,
    shared: Option<&Shared>,
) -> Result<Option<String>> {
    let local = is_local(target);
    let cpu0 = host::cpu_start(r, local);
    let conn = match sw_core::pg::connect(target, &r.session(&args.pg)).await {
        Ok(c) => c,
        Err(e) if matches!(e.exit(), Exit::Usage | Exit::Software | Exit::Config) => return Err(e),
        Err(e) => return Ok(Some(e.to_string())),
    };
    let connect_ms = millis_f64(conn.connect_time);
    let mut s = Sess::new(conn.client);
    let srv = match facts(r, &mut s).await {
        Ok(srv) => srv,
        Err(why) => {
            return Ok(Some(format!(
                "connected in {connect_ms:.1} ms, but the server does not answer: {why}"
            )));
        }
    };
    report.server_version = Some(srv.version.clone());
    report.role = Some(srv.role().to_owned());
    let prev = State::load(state_path);
    let mut next = State::next(prev.as_ref(), &srv.started_at);

    server::report(r, &srv, connect_ms, prev.as_ref());
    latency::run(r, &mut s, args.latency_samples, connect_ms).await;
    server_wide(r, &mut s, &srv, shared.map(|sh| sh.cell(&srv.share_key()))).await;
    sql_checks_where(r, &mut s, |c| OWN_DATABASE_DETAILS.contains(&c.name), None).await;
    rates::run(r, &mut s, srv.version_num, prev.as_ref(), &mut next).await;
    replication::slots(r, &mut s, &mut next.slots_inactive_since).await;
    tls::run(r, &mut s).await;

    // Per-database checks: this session first, then one session per database.
    let dbs = databases(r, &mut s, args.all_databases, &srv.database).await;
    let data_dir = if local && r.wants(&host::DISK) {
        data_directory(r, &mut s).await
    } else {
        None
    };
    let per_db = CATALOGUE.iter().any(|c| c.scope == Scope::Database && r.wants(c));
    if per_db {
        sql_checks(r, &mut s, Scope::Database, Some(&srv.database)).await;
    }
    s.finish().await;
    if per_db {
        for db in dbs.iter().skip(1) {
            other_database(r, args, target, db).await;
        }
    }
    report.databases = dbs;

    let h = Host {
        local,
        data_dir: data_dir.as_deref(),
        cpu0,
        started,
    };
    host::run(r, &h, prev.as_ref(), &mut next).await;
    backup::run(r, args.backup_repo.as_deref());
    next.save(state_path);
    Ok(None)
}

/// A report of `target` started now, with nothing in it yet.
fn new_report(target: &str) -> HealthReport {
    HealthReport {
        time: Timestamp::now(),
        target: target.to_owned(),
        labels: std::collections::BTreeMap::new(),
        status: Status::Ok,
        server_version: None,
        role: None,
        databases: Vec::new(),
        duration_ms: 0.0,
        checks: Vec::new(),
        skipped: Vec::new(),
    }
}

/// The report of a fleet target whose run failed before it could judge
/// the server (a database that does not exist, a bad target): CRITICAL
/// without a value, as an unreachable one.
pub fn failed(r: Runner<'_>, target: &str, why: &str) -> HealthReport {
    down(r, new_report(target), Instant::now(), why)
}

/// The report of a fleet target that was not checked at all (another run
/// held its lock): its connection check is UNKNOWN, so nothing about the
/// server is claimed either way.
pub fn not_checked(mut r: Runner<'_>, target: &str, why: &str) -> HealthReport {
    r.unknown(&server::CONNECTION, None, why.to_owned());
    finish(r, new_report(target), Instant::now())
}

/// Start the read-only transaction and read the server facts.
async fn facts(r: &Runner<'_>, s: &mut Sess) -> std::result::Result<Server, String> {
    s.begin(r.wait()).await?;
    let rows = s.query(server::FACTS_SQL, r.wait()).await.map_err(Fail::message)?;
    Ok(Server::from_rows(&rows))
}

/// Run the catalogue's single-query checks of `scope` that the run wants.
async fn sql_checks(r: &mut Runner<'_>, s: &mut Sess, scope: Scope, db: Option<&str>) {
    sql_checks_where(r, s, |c| c.scope == scope, db).await;
}

/// Cluster-scope checks whose details name tables of the session's own
/// database (`pg_class` is per database): a fleet runs them in every
/// target's session, never copies them from another target's.
const OWN_DATABASE_DETAILS: [&str; 2] = ["xid_wraparound", "mxid_wraparound"];

async fn sql_checks_where(r: &mut Runner<'_>, s: &mut Sess, pick: impl Fn(&Check) -> bool, db: Option<&str>) {
    for c in CATALOGUE.iter().copied().filter(|c| pick(c)) {
        if let How::Sql { query, eval } = c.how
            && r.wants(c)
        {
            r.sql(s, c, db, query, eval).await;
        }
    }
}

/// The checks that read the same server-wide views from every session
/// (the catalogue's cluster scope, `replication_lag`, `archiver`): run in
/// this session, or, in a fleet, copied from the target of the same server
/// that ran them first. The stateful ones (rates, slots) and `tls` (this
/// session's own) are not among them.
async fn server_wide(r: &mut Runner<'_>, s: &mut Sess, srv: &Server, cell: Option<Cell>) {
    let Some(cell) = cell else {
        return server_wide_here(r, s, srv).await;
    };
    let mut ran = false;
    let first = &mut ran;
    let (rr, ss) = (&mut *r, &mut *s);
    let (results, skipped) = cell
        .get_or_init(move || async move {
            *first = true;
            let (res0, skip0) = (rr.results.len(), rr.skipped.len());
            server_wide_here(rr, ss, srv).await;
            (rr.results[res0..].to_vec(), rr.skipped[skip0..].to_vec())
        })
        .await;
    if !ran {
        r.results.extend(results.iter().cloned());
        r.skipped.extend(skipped.iter().copied());
    }
}

async fn server_wide_here(r: &mut Runner<'_>, s: &mut Sess, srv: &Server) {
    let shareable = |c: &Check| c.scope == Scope::Cluster && !OWN_DATABASE_DETAILS.contains(&c.name);
    sql_checks_where(r, s, shareable, None).await;
    replication::lag(r, s, srv).await;
    archiver::run(r, s, srv).await;
}

/// The databases to check: the session's, then with `all` every other one
/// that accepts connections.
async fn databases(r: &Runner<'_>, s: &mut Sess, all: bool, current: &str) -> Vec<String> {
    let mut dbs = vec![current.to_owned()];
    if all && let Ok(rows) = s.query(DATABASES_SQL, r.wait()).await {
        dbs.extend(rows.iter().map(|row| row.text(0)).filter(|n| n != current));
    }
    dbs
}

async fn data_directory(r: &Runner<'_>, s: &mut Sess) -> Option<String> {
    let rows = s
        .query("SELECT current_setting('data_directory')", r.wait())
        .await
        .ok()?;
    rows.first().map(|row| row.text(0))
}

/// The per-database checks in a session of their own.
async fn other_database(r: &mut Runner<'_>, args: &RunOpts, target: &Target, db: &str) {
    match sw_core::pg::connect(&target.with_dbname(db), &r.session(&args.pg)).await {
        Ok(c) => {
            let mut s = Sess::new(c.client);
            if let Err(e) = s.begin(r.wait()).await {
                log::debug!("{db}: starting the read-only transaction: {e}");
            }
            sql_checks(r, &mut s, Scope::Database, Some(db)).await;
            s.finish().await;
        }
        Err(e) => {
            let why = format!("cannot connect: {}", sw_core::secret::redact(&e.to_string()));
            for c in CATALOGUE.iter().copied().filter(|c| c.scope == Scope::Database) {
                if r.wants(c) {
                    r.unknown(c, Some(db), why.clone());
                }
            }
        }
    }
}

/// The report of a server that cannot be reached (or does not answer): one
/// CRITICAL connection check without a value. The other checks are not
/// listed as skipped: they apply but could not run, and a consumer must not
/// read them as "no longer true" (sw-alerts would resolve their alerts).
fn down(mut r: Runner<'_>, report: HealthReport, started: Instant, message: &str) -> HealthReport {
    server::down(&mut r, sw_core::secret::redact(message));
    let mut report = finish(r, report, started);
    report.status = Status::Critical;
    report
}

/// The results in catalogue order, the worst status and the duration.
fn finish(r: Runner<'_>, mut report: HealthReport, started: Instant) -> HealthReport {
    let (checks, skipped) = r.finish();
    report.status = checks.iter().fold(Status::Ok, |a, c| a.worst(c.status));
    report.checks = checks;
    report.skipped = skipped;
    report.duration_ms = round3(millis_f64(started.elapsed()));
    report
}

/// Whether the server runs on this host (host checks apply).
fn is_local(t: &Target) -> bool {
    t.hosts.iter().all(|h| {
        h.starts_with('/') || h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}
