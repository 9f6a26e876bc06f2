//! What the database remembers: the version table (one row per applied
//! migration, with both files' checksums), the append-only log (every
//! apply, revert, failure, retry and repair, with who and why), and the
//! deployer lock.
//!
//! The version table follows sqlx's `_sqlx_migrations` (version, checksum,
//! success, duration) plus the down file's checksum, whether the migration
//! ran outside a transaction, who applied it, and for a no-transaction
//! migration that stopped part-way: how many statements had committed, a
//! checksum of those statements, the one that failed and any INVALID
//! index it left.
//!
//! The deployer lock is a session advisory lock keyed by database and
//! version-table schema (two applications in one database do not block
//! each other, ariga/atlas#3476). It is taken by polling
//! `pg_try_advisory_lock` between sleeps, outside any transaction: a
//! waiting deployer holds no snapshot, so a `CREATE INDEX CONCURRENTLY`
//! run by the holder never waits for it (flyway/flyway#1654,
//! golang-migrate/migrate#960).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sw_core::pg::quote_ident;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

/// The version table's name (in `--schema`).
pub const TABLE: &str = "sw_schema_migrations";
/// The log table's name (in `--schema`).
pub const LOG: &str = "sw_schema_log";

/// Which file of a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A row of the version table.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub up_checksum: Vec<u8>,
    pub down_checksum: Option<Vec<u8>>,
    pub no_transaction: bool,
    /// False while a no-transaction migration is part-way (running, failed or killed).
    pub success: bool,
    /// The file of the part-way run.
    pub direction: Direction,
    pub statements_done: usize,
    pub done_checksum: Option<Vec<u8>>,
    pub failed_statement: Option<String>,
    pub failed_line: Option<usize>,
    pub error: Option<String>,
    pub invalid_indexes: Vec<String>,
    pub applied_at: DateTime<Utc>,
    pub applied_by: String,
    pub duration_ms: u64,
}

/// One log entry, as `history` prints it.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub at: DateTime<Utc>,
    pub version: i64,
    pub name: String,
    pub action: String,
    pub actor: String,
    pub db_user: String,
    pub reason: Option<String>,
    pub up_checksum: Option<Vec<u8>>,
    pub down_checksum: Option<Vec<u8>>,
    pub duration_ms: Option<u64>,
    pub statement: Option<String>,
    pub error: Option<String>,
}

/// A log entry to write.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    pub version: i64,
    pub name: &'a str,
    pub action: &'a str,
    pub reason: Option<&'a str>,
    pub up_checksum: Option<&'a [u8]>,
    pub down_checksum: Option<&'a [u8]>,
    pub duration_ms: Option<u64>,
    pub statement: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The version table and log of one schema.
pub struct Store {
    pub schema: String,
    table: String,
    log: String,
    /// Who runs this: `os_user@host`.
    pub actor: String,
}

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    pub fn new(schema: &str, actor: String) -> Store {
        Store {
            schema: schema.to_owned(),
            table: format!("{}.{}", quote_ident(schema), quote_ident(TABLE)),
            log: format!("{}.{}", quote_ident(schema), quote_ident(LOG)),
            actor,
        }
    }

    /// Whether the version table exists (status and dry runs create nothing).
    pub async fn exists(&self, c: &Client) -> Result<bool> {
        let r = c
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.table])
            .await
            .pg_context(|| format!("looking for {}", self.table))?;
        Ok(r.get(0))
    }

    /// Create the schema (when missing) and both tables. Run under the deployer lock.
    pub async fn create(&self, c: &Client) -> Result<()> {
        let has_schema: bool = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&self.schema],
            )
            .await
            .pg_context(|| "looking for the version table's schema".to_owned())?
            .get(0);
        let mut sql = String::new();
        if !has_schema {
            sql.push_str(&format!("CREATE SCHEMA {};\n", quote_ident(&self.schema)));
        }
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {t} (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                up_checksum bytea NOT NULL,
                down_checksum bytea,
                no_transaction boolean NOT NULL,
                success boolean NOT NULL,
                direction text NOT NULL DEFAULT 'up' CHECK (direction IN ('up', 'down')),
                statements_done integer NOT NULL DEFAULT 0,
                done_checksum bytea,
                failed_statement text,
                failed_line integer,
                error text,
                invalid_indexes text[] NOT NULL DEFAULT '{{}}',
                applied_at timestamptz NOT NULL DEFAULT now(),
                applied_by text NOT NULL,
                db_user text NOT NULL DEFAULT current_user,
                duration_ms bigint NOT NULL DEFAULT 0
            );
            CREATE TABLE IF NOT EXISTS {l} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT clock_timestamp(),
                version bigint NOT NULL,
                name text NOT NULL,
                action text NOT NULL,
                actor text NOT NULL,
                db_user text NOT NULL DEFAULT current_user,
                reason text,
                up_checksum bytea,
                down_checksum bytea,
                duration_ms bigint,
                statement text,
                error text
            );",
            t = self.table,
            l = self.log
        ));
        c.batch_execute(&sql)
            .await
            .pg_context(|| format!("creating {} and {}", self.table, self.log))
    }

    /// Every row of the version table, by version.
    pub async fn applied(&self, c: &Client) -> Result<Vec<Applied>> {
        if !self.exists(c).await? {
            return Ok(Vec::new());
        }
        let rows = c
            .query(
                &format!(
                    "SELECT version, name, up_checksum, down_checksum, no_transaction, success, direction,
                            statements_done, done_checksum, failed_statement, failed_line, error,
                            invalid_indexes, applied_at, applied_by, duration_ms
                     FROM {} ORDER BY version",
                    self.table
                ),
                &[],
            )
            .await
            .pg_context(|| format!("reading {}", self.table))?;
        Ok(rows
            .iter()
            .map(|r| Applied {
                version: r.get(0),
                name: r.get(1),
                up_checksum: r.get(2),
                down_checksum: r.get(3),
                no_transaction: r.get(4),
                success: r.get(5),
                direction: if r.get::<_, String>(6) == "down" {
                    Direction::Down
                } else {
                    Direction::Up
                },
                statements_done: usize::try_from(r.get::<_, i32>(7)).unwrap_or(0),
                done_checksum: r.get(8),
                failed_statement: r.get(9),
                failed_line: r.get::<_, Option<i32>>(10).and_then(|l| usize::try_from(l).ok()),
                error: r.get(11),
                invalid_indexes: r.get(12),
                applied_at: r.get(13),
                applied_by: r.get(14),
                duration_ms: ms(r.get(15)),
            })
            .collect())
    }

    /// The log, oldest first.
    pub async fn log(&self, c: &Client) -> Result<Vec<LogRow>> {
        if !self.exists(c).await? {
            return Ok(Vec::new());
        }
        let rows = c
            .query(
                &format!(
                    "SELECT at, version, name, action, actor, db_user, reason, up_checksum, down_checksum,
                            duration_ms, statement, error FROM {} ORDER BY id",
                    self.log
                ),
                &[],
            )
            .await
            .pg_context(|| format!("reading {}", self.log))?;
        Ok(rows
            .iter()
            .map(|r| LogRow {
                at: r.get(0),
                version: r.get(1),
                name: r.get(2),
                action: r.get(3),
                actor: r.get(4),
                db_user: r.get(5),
                reason: r.get(6),
                up_checksum: r.get(7),
                down_checksum: r.get(8),
                duration_ms: r.get::<_, Option<i64>>(9).map(ms),
                statement: r.get(10),
                error: r.get(11),
            })
            .collect())
    }

    /// Append to the log.
    pub async fn event(&self, c: &Client, e: &Event<'_>) -> Result<()> {
        let d = e.duration_ms.and_then(|d| i64::try_from(d).ok());
        c.execute(
            &format!(
                "INSERT INTO {} (version, name, action, actor, reason, up_checksum, down_checksum, duration_ms, statement, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                self.log
            ),
            &[&e.version, &e.name, &e.action, &self.actor, &e.reason, &e.up_checksum, &e.down_checksum, &d, &e.statement, &e.error],
        )
        .await
        .pg_context(|| format!("writing to {}", self.log))?;
        Ok(())
    }

    /// Record a migration as applied (or, `success` false, as part-way with
    /// `done` statements committed), replacing any earlier row of it.
    pub async fn put(&self, c: &Client, a: &Applied) -> Result<()> {
        let done = i32::try_from(a.statements_done).unwrap_or(i32::MAX);
        let line = a.failed_line.and_then(|l| i32::try_from(l).ok());
        let d = i64::try_from(a.duration_ms).unwrap_or(i64::MAX);
        c.execute(
            &format!(
                "INSERT INTO {} (version, name, up_checksum, down_checksum, no_transaction, success, direction,
                                statements_done, done_checksum, failed_statement, failed_line, error, invalid_indexes,
                                applied_by, duration_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, up_checksum = EXCLUDED.up_checksum,
                   down_checksum = EXCLUDED.down_checksum, no_transaction = EXCLUDED.no_transaction,
                   success = EXCLUDED.success, direction = EXCLUDED.direction,
                   statements_done = EXCLUDED.statements_done, done_checksum = EXCLUDED.done_checksum,
                   failed_statement = EXCLUDED.failed_statement, failed_line = EXCLUDED.failed_line,
                   error = EXCLUDED.error, invalid_indexes = EXCLUDED.invalid_indexes,
                   applied_at = now(), applied_by = EXCLUDED.applied_by, db_user = current_user,
                   duration_ms = EXCLUDED.duration_ms",
                self.table
            ),
            &[
                &a.version,
                &a.name,
                &a.up_checksum,
                &a.down_checksum,
                &a.no_transaction,
                &a.success,
                &a.direction.as_str(),
                &done,
                &a.done_checksum,
                &a.failed_statement,
                &line,
                &a.error,
                &a.invalid_indexes,
                &self.actor,
                &d,
            ],
        )
        .await
        .pg_context(|| format!("recording migration {} in {}", a.version, self.table))?;
        Ok(())
    }

    /// Forget a reverted migration.
    pub async fn remove(&self, c: &Client, version: i64) -> Result<()> {
        c.execute(&format!("DELETE FROM {} WHERE version = $1", self.table), &[&version])
            .await
            .pg_context(|| format!("removing migration {version} from {}", self.table))?;
        Ok(())
    }

    /// Re-stamp the checksums of `version`.
    pub async fn restamp(&self, c: &Client, version: i64, up: &[u8], down: Option<&[u8]>) -> Result<()> {
        c.execute(
            &format!(
                "UPDATE {} SET up_checksum = $2, down_checksum = $3 WHERE version = $1",
                self.table
            ),
            &[&version, &up, &down],
        )
        .await
        .pg_context(|| format!("re-stamping migration {version}"))?;
        Ok(())
    }

    /// The advisory lock key of this database and schema.
    pub async fn lock_key(&self, c: &Client) -> Result<i64> {
        let db: String = c
            .query_one("SELECT current_database()::text", &[])
            .await
            .pg_context(|| "reading the database name".to_owned())?
            .get(0);
        let digest = openssl::sha::sha256(format!("sw-schema\0{db}\0{}", self.schema).as_bytes());
        let mut k = [0u8; 8];
        k.copy_from_slice(&digest[..8]);
        Ok(i64::from_be_bytes(k))
    }

    /// Take the deployer lock, polling for at most `wait`.
    ///
    /// # Errors
    /// 75 when another deployer still holds it after `wait`.
    pub async fn lock(&self, c: &Client, wait: Duration) -> Result<()> {
        let key = self.lock_key(c).await?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        let mut told = false;
        loop {
            let got: bool = c
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .await
                .pg_context(|| "taking the deployer lock".to_owned())?
                .get(0);
            if got {
                return Ok(());
            }
            let holder = self.holder(c, key).await?;
            let left = wait.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Error::temp(format!(
                    "another deployer holds the lock on schema {} ({holder}); gave up after --lock-wait {}s",
                    self.schema,
                    wait.as_secs_f64()
                )));
            }
            if !told {
                log::info!(
                    "waiting up to {}s for the deployer lock on schema {} ({holder})",
                    left.as_secs_f64(),
                    self.schema
                );
                told = true;
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn holder(&self, c: &Client, key: i64) -> Result<String> {
        let r = c
            .query_opt(
                "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'), a.backend_start
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.classid = (($1::bigint >> 32) & 4294967295)::oid AND l.objid = ($1::bigint & 4294967295)::oid
                 LIMIT 1",
                &[&key],
            )
            .await
            .pg_context(|| "looking up the deployer lock's holder".to_owned())?;
        Ok(match r {
            Some(r) => {
                let since: DateTime<Utc> = r.get(3);
                format!(
                    "held by pid {} ({}, {}) connected since {}",
                    r.get::<_, i32>(0),
                    r.get::<_, String>(1),
                    r.get::<_, String>(2),
                    sw_core::output::rfc3339(since)
                )
            }
            None => "its holder has just let go".to_owned(),
        })
    }

    /// INVALID indexes on `tables` or named `names` (as `schema.index`).
    pub async fn invalid_indexes(&self, c: &Client, tables: &[String], names: &[String]) -> Result<Vec<String>> {
        let rows = c
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE NOT i.indisvalid
                   AND (i.indrelid IN (SELECT to_regclass(x) FROM unnest($1::text[]) x)
                        OR i.indexrelid IN (SELECT to_regclass(x) FROM unnest($2::text[]) x)
                        OR format('%I.%I', n.nspname, c.relname) = ANY ($2::text[]))
                 ORDER BY 1",
                &[&tables, &names],
            )
            .await
            .pg_context(|| "looking for INVALID indexes".to_owned())?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
