//! SQL on an Azure server for the drill's checks (and the primary check of
//! `activate`): TLS sessions with the credentials of an env file, aimed at
//! the server's host name, verify-full unless the credentials say
//! otherwise, one session per database, no statement timeout (amcheck on a
//! large database takes its time). `SW_AZURE_HOST_OVERRIDE` can send the
//! connection elsewhere while the certificate is still checked against the
//! host name (see `sw_core::azure::flexible::hosts`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use sw_core::azure::flexible::hosts::aim;
use sw_core::pg::{self, Session};
use sw_core::target::Target;
use sw_core::{Error, Result};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::drill::checks::Sql;

/// Sessions to one server.
pub struct Remote {
    rt: tokio::runtime::Runtime,
    creds: Target,
    fqdn: String,
    clients: RefCell<HashMap<String, Client>>,
}

impl Remote {
    /// Sessions to `fqdn` with `creds` (none opened yet).
    ///
    /// # Errors
    /// 70 when the runtime cannot start.
    pub fn new(creds: &Target, fqdn: &str) -> Result<Remote> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::software("starting the async runtime").with_source(e))?;
        Ok(Remote {
            rt,
            creds: creds.clone(),
            fqdn: fqdn.to_owned(),
            clients: RefCell::new(HashMap::new()),
        })
    }

    fn session() -> Session {
        let mut s = Session::new("sw-restore");
        s.statement_timeout = Duration::ZERO;
        s
    }

    /// One connection attempt to database `db`.
    ///
    /// # Errors
    /// 69/77/78 as connecting fails.
    pub fn try_connect(&self, db: &str) -> Result<()> {
        if self.clients.borrow().contains_key(db) {
            return Ok(());
        }
        let t = aim(&self.creds, &self.fqdn, db)?;
        let conn = self.rt.block_on(pg::connect(&t, &Remote::session()))?;
        self.clients.borrow_mut().insert(db.to_owned(), conn.client);
        Ok(())
    }

    /// Connect to the credentials' database until it answers (a new
    /// server's name may take a while to resolve); the first query's time.
    ///
    /// # Errors
    /// The last connection error once `timeout` has passed.
    pub fn wait_queryable(&self, timeout: Duration) -> Result<Instant> {
        let t0 = Instant::now();
        let db = self.creds.dbname.clone();
        loop {
            match self.try_connect(&db).and_then(|()| self.query(&db, "SELECT 1")) {
                Ok(_) => return Ok(Instant::now()),
                Err(e) if t0.elapsed() >= timeout => {
                    return Err(e.context(format!("{} did not answer within {}s", self.fqdn, timeout.as_secs())));
                }
                Err(e) => {
                    log::info!("{} does not answer yet: {e}", self.fqdn);
                    std::thread::sleep(Duration::from_secs(2).min(timeout));
                }
            }
        }
    }
}

impl Sql for Remote {
    fn query(&self, db: &str, sql: &str) -> Result<String> {
        self.try_connect(db)?;
        let clients = self.clients.borrow();
        let c = clients
            .get(db)
            .ok_or_else(|| Error::software(format!("no session to database {db}")))?;
        let msgs = self.rt.block_on(c.simple_query(sql)).map_err(|e| {
            Error::pg(format!("running SQL in database {db} on {}", self.fqdn), e).with_exit(sw_core::Exit::Software)
        })?;
        // As psql -c prints it: the rows of the last statement that had any.
        let mut last: Vec<String> = Vec::new();
        let mut current: Vec<String> = Vec::new();
        for m in msgs {
            match m {
                SimpleQueryMessage::Row(r) => current.push(r.get(0).unwrap_or("").to_owned()),
                SimpleQueryMessage::CommandComplete(_) if !current.is_empty() => last = std::mem::take(&mut current),
                _ => {}
            }
        }
        if !current.is_empty() {
            last = current;
        }
        Ok(last.join("\n"))
    }

    /// On Azure an extension must also be allow-listed in `azure.extensions`.
    fn amcheck_available(&self) -> Result<bool> {
        let allowed = self.query(
            "postgres",
            "SELECT coalesce(current_setting('azure.extensions', true), '')",
        )?;
        if allowed.is_empty() {
            return Ok(self.query(
                "postgres",
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'",
            )? == "1");
        }
        Ok(allowed.split(',').any(|e| e.trim().eq_ignore_ascii_case("amcheck")))
    }
}
