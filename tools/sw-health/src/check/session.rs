//! One database session of a check run: one read-only transaction with
//! `lock_timeout` 100 ms, and every check one round trip behind its own
//! savepoint (`SAVEPOINT; SET LOCAL statement_timeout; SELECT ...;
//! RELEASE`), so a failing or timed-out check rolls back to its savepoint
//! and the others go on.

use std::time::Duration;

use tokio_postgres::{Client, SimpleQueryMessage};

use crate::checks::Row;

/// Why a query produced no rows.
#[derive(Debug)]
pub enum Fail {
    Timeout,
    Error(String),
}

impl Fail {
    /// The reason in words (a timeout without its length).
    pub fn message(self) -> String {
        match self {
            Fail::Timeout => "timed out".to_owned(),
            Fail::Error(e) => e,
        }
    }
}

/// A session and whether it can still be used.
pub struct Sess {
    pub client: Client,
    /// Lost to a timeout or a failed rollback: no more queries.
    pub dead: bool,
}

impl Sess {
    pub fn new(client: Client) -> Sess {
        Sess { client, dead: false }
    }

    /// One query behind a savepoint with its own statement_timeout; the
    /// rows as text.
    pub async fn query(&mut self, sql: &str, timeout: Duration) -> Result<Vec<Row>, Fail> {
        if self.dead {
            return Err(Fail::Error(
                "session unusable after an earlier failure or timeout".into(),
            ));
        }
        let ms = timeout.as_millis().max(1);
        let full = format!("SAVEPOINT sw_check; SET LOCAL statement_timeout = {ms}; {sql}; RELEASE SAVEPOINT sw_check");
        let res = tokio::time::timeout(timeout + Duration::from_secs(1), self.client.simple_query(&full)).await;
        match res {
            Err(_) => {
                self.dead = true;
                Err(Fail::Timeout)
            }
            Ok(Ok(msgs)) => Ok(msgs
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => {
                        Some(Row((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()))
                    }
                    _ => None,
                })
                .collect()),
            Ok(Err(e)) => Err(self.failed(&e).await),
        }
    }

    /// Roll back to the savepoint after an error (a session that cannot is
    /// dead) and say why.
    async fn failed(&mut self, e: &tokio_postgres::Error) -> Fail {
        let code = e.code().map(|c| c.code().to_owned());
        let msg = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned());
        let rollback = self.client.simple_query("ROLLBACK TO SAVEPOINT sw_check");
        if !matches!(tokio::time::timeout(Duration::from_secs(1), rollback).await, Ok(Ok(_))) {
            self.dead = true;
        }
        match code.as_deref() {
            Some("57014") => Fail::Timeout,
            Some("55P03") => Fail::Error(format!("lock timeout: {msg}")),
            _ => Fail::Error(msg),
        }
    }

    /// Start the read-only transaction (lock_timeout 100 ms), waiting at most `wait`.
    pub async fn begin(&mut self, wait: Duration) -> Result<(), String> {
        let begin = self
            .client
            .batch_execute("BEGIN READ ONLY; SET LOCAL lock_timeout = 100");
        let res = match tokio::time::timeout(wait + Duration::from_secs(1), begin).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned())),
            Err(_) => Err("timed out".to_owned()),
        };
        if res.is_err() {
            self.dead = true;
        }
        res
    }

    /// End the transaction; a session lost to a timeout is left alone (a
    /// COMMIT would queue behind the query that hangs).
    pub async fn finish(&mut self) {
        if !self.dead {
            let _ = tokio::time::timeout(Duration::from_secs(1), self.client.simple_query("COMMIT")).await;
        }
    }
}
