//! Running one migration file: in a transaction (retried whole when a lock
//! is not granted in time) or, with `-- sw:no-transaction`, statement by
//! statement with its progress recorded after each, so a failure or a kill
//! leaves a row that says how far it got, which statement failed and which
//! INVALID index it left.
//!
//! Before each migration the session gets `lock_timeout` and
//! `statement_timeout` afresh (a `SET` in an earlier file does not leak
//! into the next). A lock not granted within lock_timeout (55P03) or a
//! deadlock (40P01) rolls the transaction back, waits a backoff with
//! jitter, and tries again, at most `--lock-retries` times; so an
//! `ALTER TABLE` queued behind a long transaction holds up the
//! application's queries for at most one lock_timeout per attempt, never
//! indefinitely. Concurrent operations (`CREATE INDEX CONCURRENTLY`,
//! `REINDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`) get their own
//! timeouts (default: none), since a lock_timeout that cuts one of their
//! waits for old snapshots leaves an INVALID index (strelov1/freehire#2365).

use std::time::{Duration, Instant};

use sw_core::{Error, Exit, PgContext, Result};
use tokio_postgres::Client;

use crate::analyze::{Stmt, analyze};
use crate::files::{Migration, SqlFile, hex, prefix_checksum};
use crate::locks;
use crate::records::{MigrationRecord, Outcome, StatementOutcome, StatementRecord};
use crate::store::{Applied, Direction, Event, Store};

/// Timeouts and retries.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub lock_timeout: Duration,
    pub statement_timeout: Duration,
    pub index_lock_timeout: Duration,
    pub index_statement_timeout: Duration,
    pub lock_retries: u32,
    pub retry_delay: Duration,
}

/// The statements of a file as records, nothing run yet.
pub fn planned(file: &SqlFile) -> Vec<StatementRecord> {
    file.statements
        .iter()
        .map(|s| StatementRecord {
            line: s.line,
            sql: s.text.clone(),
            locks: locks::of(&analyze(&s.tokens)),
            duration_ms: None,
            status: StatementOutcome::NotRun,
        })
        .collect()
}

/// A migration record before anything ran.
pub fn record(m: &Migration, dir: Direction, file: &SqlFile, dry_run: bool) -> MigrationRecord {
    let statements = planned(file);
    MigrationRecord {
        version: m.version,
        name: m.name.clone(),
        direction: dir,
        status: Outcome::Planned,
        dry_run,
        no_transaction: file.no_transaction,
        attempts: 0,
        duration_ms: 0,
        checksum: hex(&file.checksum),
        locks: locks::merge(statements.iter().flat_map(|s| &s.locks)),
        statements,
        error: None,
        invalid_indexes: Vec::new(),
        repair: None,
    }
}

fn is_concurrent(st: &Stmt) -> bool {
    matches!(
        st,
        Stmt::CreateIndex { concurrently: true, .. }
            | Stmt::DropIndex { concurrently: true, .. }
            | Stmt::Reindex { concurrently: true, .. }
    )
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| matches!(c.code(), "55P03" | "40P01"))
}

/// The error of a failed migration statement: its SQLSTATE's code, except
/// that an error the mapping calls internal (a syntax error, a missing
/// object) is the migration's fault against this database: 65.
fn statement_error(m: &Migration, line: usize, e: tokio_postgres::Error, attempts: u32, in_tx: bool) -> Error {
    let lock = retryable(&e);
    let rolled_back = if in_tx { ", nothing applied" } else { "" };
    let mut err = Error::pg(
        if lock {
            format!(
                "migration {:04} {} line {line}: lock not granted within lock_timeout in {attempts} attempt(s){rolled_back}",
                m.version, m.name
            )
        } else {
            format!(
                "migration {:04} {} failed at line {line}{rolled_back}",
                m.version, m.name
            )
        },
        e,
    );
    if err.exit() == Exit::Software {
        err = err.with_exit(Exit::DataErr);
    }
    err
}

fn ms(d: Duration) -> u64 {
    sw_core::duration::millis(d)
}

/// Runs migrations on one connection under the deployer lock.
pub struct Runner<'a> {
    pub c: &'a Client,
    pub store: &'a Store,
    pub s: Settings,
}

impl Runner<'_> {
    async fn timeouts(&self, lock: Duration, statement: Duration) -> Result<()> {
        self.c
            .batch_execute(&format!(
                "SET lock_timeout = {}; SET statement_timeout = {}",
                ms(lock),
                ms(statement)
            ))
            .await
            .pg_context(|| "setting the migration's timeouts".to_owned())
    }

    async fn backoff(&self, attempt: u32) {
        let base = self
            .s
            .retry_delay
            .saturating_mul(1 << attempt.min(10))
            .min(Duration::from_secs(30));
        let mut b = [0u8; 2];
        let jitter = if getrandom::fill(&mut b).is_ok() {
            base.mul_f64(f64::from(u16::from_be_bytes(b)) / f64::from(u16::MAX) * 0.25)
        } else {
            Duration::ZERO
        };
        tokio::time::sleep(base + jitter).await;
    }

    /// Run `m`'s file for `dir`; `prior` is its row when it stopped part-way before.
    pub async fn run(&self, m: &Migration, dir: Direction, prior: Option<&Applied>) -> (MigrationRecord, Result<()>) {
        let Some(file) = (match dir {
            Direction::Up => Some(&m.up),
            Direction::Down => m.down.as_ref(),
        }) else {
            let rec = record(m, dir, &m.up, false);
            return (
                rec,
                Err(Error::data(format!("migration {:04} has no down file", m.version))),
            );
        };
        let mut rec = record(m, dir, file, false);
        let start = Instant::now();
        let r = if file.no_transaction {
            self.step_by_step(m, dir, file, prior, &mut rec).await
        } else {
            self.in_transaction(m, dir, file, &mut rec).await
        };
        rec.duration_ms = ms(start.elapsed());
        rec.status = match (&r, dir) {
            (Err(_), _) => Outcome::Failed,
            (Ok(()), Direction::Up) => Outcome::Applied,
            (Ok(()), Direction::Down) => Outcome::Reverted,
        };
        if let Err(e) = &r {
            rec.error = Some(e.to_string());
        }
        (rec, r)
    }

    fn row(m: &Migration, dir: Direction, success: bool) -> Applied {
        Applied {
            version: m.version,
            name: m.name.clone(),
            up_checksum: m.up.checksum.to_vec(),
            down_checksum: m.down.as_ref().map(|d| d.checksum.to_vec()),
            no_transaction: m.up.no_transaction,
            success,
            direction: dir,
            statements_done: 0,
            done_checksum: None,
            failed_statement: None,
            failed_line: None,
            error: None,
            invalid_indexes: Vec::new(),
            applied_at: chrono::Utc::now(),
            applied_by: String::new(),
            duration_ms: 0,
        }
    }

    /// Bookkeeping after the last statement: record (up) or forget (down), and log.
    async fn finish(&self, m: &Migration, dir: Direction, duration_ms: u64) -> Result<()> {
        match dir {
            Direction::Up => {
                let mut row = Self::row(m, dir, true);
                row.duration_ms = duration_ms;
                self.store.put(self.c, &row).await?;
            }
            Direction::Down => self.store.remove(self.c, m.version).await?,
        }
        self.store
            .event(
                self.c,
                &Event {
                    version: m.version,
                    name: &m.name,
                    action: dir.as_str(),
                    up_checksum: Some(&m.up.checksum),
                    down_checksum: m.down.as_ref().map(|d| d.checksum.as_slice()),
                    duration_ms: Some(duration_ms),
                    ..Event::default()
                },
            )
            .await
    }

    async fn log_problem(&self, m: &Migration, action: &str, line: usize, sql: &str, err: &str) {
        let statement = format!("line {line}: {}", crate::sql::excerpt(sql, 200));
        let e = Event {
            version: m.version,
            name: &m.name,
            action,
            statement: Some(&statement),
            error: Some(err),
            ..Event::default()
        };
        if let Err(x) = self.store.event(self.c, &e).await {
            log::warn!("could not log the {action} of migration {}: {x}", m.version);
        }
    }

    async fn in_transaction(
        &self,
        m: &Migration,
        dir: Direction,
        file: &SqlFile,
        rec: &mut MigrationRecord,
    ) -> Result<()> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            rec.attempts = attempt;
            self.timeouts(self.s.lock_timeout, self.s.statement_timeout).await?;
            self.c.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
            let mut failed = None;
            for (k, s) in file.statements.iter().enumerate() {
                let t = Instant::now();
                match self.c.batch_execute(&s.text).await {
                    Ok(()) => {
                        rec.statements[k].duration_ms = Some(ms(t.elapsed()));
                        rec.statements[k].status = StatementOutcome::Done;
                    }
                    Err(e) => {
                        rec.statements[k].duration_ms = Some(ms(t.elapsed()));
                        rec.statements[k].status = StatementOutcome::Failed;
                        failed = Some((k, e));
                        break;
                    }
                }
            }
            let Some((k, e)) = failed else {
                self.finish(m, dir, ms(start.elapsed())).await?;
                return self
                    .c
                    .batch_execute("COMMIT")
                    .await
                    .pg_context(|| format!("committing migration {}", m.version));
            };
            // A broken connection makes the ROLLBACK fail too: that error is the one to report.
            self.c
                .batch_execute("ROLLBACK")
                .await
                .pg_context(|| "ROLLBACK".to_owned())?;
            let s = &file.statements[k];
            let again = retryable(&e);
            let err = statement_error(m, s.line, e, attempt, true);
            if again && attempt <= self.s.lock_retries {
                log::info!("{err}; retrying ({attempt}/{})", self.s.lock_retries);
                self.log_problem(m, "retry", s.line, &s.text, &err.to_string()).await;
                for st in &mut rec.statements {
                    st.status = StatementOutcome::NotRun;
                    st.duration_ms = None;
                }
                self.backoff(attempt - 1).await;
                continue;
            }
            self.log_problem(m, "failed", s.line, &s.text, &err.to_string()).await;
            return Err(err);
        }
    }

    async fn step_by_step(
        &self,
        m: &Migration,
        dir: Direction,
        file: &SqlFile,
        prior: Option<&Applied>,
        rec: &mut MigrationRecord,
    ) -> Result<()> {
        let start = Instant::now();
        let first = prior.filter(|p| p.direction == dir).map_or(0, |p| p.statements_done);
        for st in rec.statements.iter_mut().take(first) {
            st.status = StatementOutcome::DoneBefore;
        }
        let mut row = prior.cloned().unwrap_or_else(|| Self::row(m, dir, false));
        row.success = false;
        row.direction = dir;
        row.statements_done = first;
        row.done_checksum = Some(prefix_checksum(&file.statements, first).to_vec());
        // Before the first statement: a kill from here on leaves a row saying how far it got.
        self.store.put(self.c, &row).await?;
        rec.attempts = 1;
        for k in first..file.statements.len() {
            let s = &file.statements[k];
            let st = analyze(&s.tokens);
            if is_concurrent(&st) {
                self.timeouts(self.s.index_lock_timeout, self.s.index_statement_timeout)
                    .await?;
            } else {
                self.timeouts(self.s.lock_timeout, self.s.statement_timeout).await?;
            }
            let t = Instant::now();
            let mut attempt = 0;
            let r = loop {
                attempt += 1;
                match self.c.batch_execute(&s.text).await {
                    // A lock that was not granted changed nothing: retry the statement.
                    // Never a concurrent one: its failure may have left an INVALID index.
                    Err(e) if retryable(&e) && !is_concurrent(&st) && attempt <= self.s.lock_retries => {
                        log::info!(
                            "migration {:04} line {}: lock not granted ({e}); retrying",
                            m.version,
                            s.line
                        );
                        self.log_problem(m, "retry", s.line, &s.text, &Error::pg("", e).to_string())
                            .await;
                        self.backoff(attempt - 1).await;
                    }
                    other => break other,
                }
            };
            rec.attempts = rec.attempts.max(attempt);
            rec.statements[k].duration_ms = Some(ms(t.elapsed()));
            if let Err(e) = r {
                rec.statements[k].status = StatementOutcome::Failed;
                let err = statement_error(m, s.line, e, attempt, false);
                let (tables, names) = index_targets(&file.statements[..=k]);
                let invalid = self
                    .store
                    .invalid_indexes(self.c, &tables, &names)
                    .await
                    .unwrap_or_default();
                row.failed_statement = Some(s.text.clone());
                row.failed_line = Some(s.line);
                row.error = Some(err.to_string());
                row.invalid_indexes.clone_from(&invalid);
                row.duration_ms = ms(start.elapsed());
                self.store.put(self.c, &row).await?;
                self.log_problem(m, "failed", s.line, &s.text, &err.to_string()).await;
                rec.repair = Some(crate::plan::repair(&row, &invalid));
                rec.invalid_indexes = invalid;
                return Err(err);
            }
            rec.statements[k].status = StatementOutcome::Done;
            row.statements_done = k + 1;
            row.done_checksum = Some(prefix_checksum(&file.statements, k + 1).to_vec());
            row.failed_statement = None;
            row.failed_line = None;
            row.error = None;
            row.invalid_indexes.clear();
            self.store.put(self.c, &row).await?;
        }
        self.finish(m, dir, ms(start.elapsed())).await
    }
}

/// Tables and index names the concurrent statements among `stmts` work on.
pub fn index_targets(stmts: &[crate::sql::Statement]) -> (Vec<String>, Vec<String>) {
    let (mut tables, mut names) = (Vec::new(), Vec::new());
    for s in stmts {
        match analyze(&s.tokens) {
            Stmt::CreateIndex {
                name,
                table,
                concurrently: true,
            } => {
                tables.push(table);
                names.extend(name);
            }
            Stmt::Reindex {
                name,
                concurrently: true,
                index,
            } => {
                if index {
                    names.push(name);
                } else {
                    tables.push(name);
                }
            }
            _ => {}
        }
    }
    (tables, names)
}
