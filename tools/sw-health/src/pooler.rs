//! `--pooler-url`: a PgBouncer in front of the server, read through its
//! admin console (the `pgbouncer` database) as a `stats_users` member:
//! `SHOW POOLS`, `SHOW DATABASES`, `SHOW CONFIG` and `SHOW LISTS`, one
//! simple query each (the console speaks neither SET nor the extended
//! protocol). The checks that judge the answers are `crate::checks::pooler`.
//!
//! The URL never carries a password (argv is visible to every user on the
//! host): one comes from PGPASSWORD or ~/.pgpass as for any target, and
//! the usual console login is peer over the Unix socket, with none.

use std::collections::BTreeMap;
use std::time::Duration;

use sw_core::config::Env;
use sw_core::pg::Session;
use sw_core::target::Target;
use sw_core::{Error, Result};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The admin console's database: its pseudo-pool is never an application's.
pub const CONSOLE_DB: &str = "pgbouncer";

/// One row of a SHOW command: column name → text (NULL columns absent).
pub type Fields = BTreeMap<String, String>;

/// What the console said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Console {
    /// `SHOW POOLS`: one row per (database, user) pool, the console's own left out.
    pub pools: Vec<Fields>,
    /// `SHOW DATABASES`, the console's own left out.
    pub databases: Vec<Fields>,
    /// `SHOW CONFIG`: setting → value.
    pub config: BTreeMap<String, String>,
    /// `SHOW LISTS`: list → items (`used_clients`, ...).
    pub lists: BTreeMap<String, String>,
}

/// The console target of `--pooler-url` (URI or key=value): its database
/// is always the console's, whatever the URL names.
///
/// # Errors
/// 64 for a URL that carries a password; what resolving any target gives
/// otherwise (78 for one that is not valid).
pub fn target(url: &str, env: &Env) -> Result<Target> {
    let mut p = sw_core::conninfo::parse(url).map_err(|e| e.context("invalid --pooler-url"))?;
    if p.contains_key("password") {
        return Err(Error::usage(
            "--pooler-url must not carry a password (argv is visible to other users): \
             use PGPASSWORD, ~/.pgpass or peer authentication over the socket",
        ));
    }
    p.insert("dbname".into(), CONSOLE_DB.into());
    Target::from_params(p, env, "--pooler-url".into())
}

/// Connect to the console and read it, all within `within`.
///
/// # Errors
/// Why not, in one line without secrets (cannot connect, refused, a SHOW
/// that failed, out of time).
pub async fn read(t: &Target, s: &Session, within: Duration) -> std::result::Result<Console, String> {
    let work = async {
        let c = sw_core::pg::connect_console(t, s).await.map_err(|e| e.to_string())?;
        let client = c.client;
        let by_name = |rows: Vec<Fields>, key: &str, val: &str| -> BTreeMap<String, String> {
            rows.into_iter()
                .filter_map(|mut r| Some((r.remove(key)?, r.remove(val).unwrap_or_default())))
                .collect()
        };
        let real = |rows: Vec<Fields>, key: &str| -> Vec<Fields> {
            rows.into_iter()
                .filter(|r| r.get(key).map(String::as_str) != Some(CONSOLE_DB))
                .collect()
        };
        Ok(Console {
            pools: real(show(&client, "POOLS").await?, "database"),
            databases: real(show(&client, "DATABASES").await?, "name"),
            config: by_name(show(&client, "CONFIG").await?, "key", "value"),
            lists: by_name(show(&client, "LISTS").await?, "list", "items"),
        })
    };
    match tokio::time::timeout(within, work).await {
        Ok(r) => r.map_err(|e: String| sw_core::secret::redact(&e)),
        Err(_) => Err(format!(
            "no answer from the pooler's console within {} ms",
            within.as_millis()
        )),
    }
}

/// One `SHOW what`, its rows by column name.
async fn show(client: &Client, what: &str) -> std::result::Result<Vec<Fields>, String> {
    let msgs = client
        .simple_query(&format!("SHOW {what}"))
        .await
        .map_err(|e| Error::pg(format!("SHOW {what} on the pooler's console"), e).to_string())?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                r.columns()
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| Some((c.name().to_owned(), r.get(i)?.to_owned())))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::fixed([("HOME", "/nonexistent"), ("USER", "postgres")])
    }

    #[test]
    fn the_console_url_names_the_console_database_and_no_password() {
        let t = target("host=/run/pg port=6432 user=postgres dbname=app", &env()).unwrap();
        assert_eq!((t.dbname.as_str(), t.ports[0]), (CONSOLE_DB, 6432));
        let t = target("postgresql://stats@127.0.0.1:6432", &env()).unwrap();
        assert_eq!((t.user.as_str(), t.dbname.as_str()), ("stats", CONSOLE_DB));
        for url in [
            "host=/run/pg user=postgres password=hunter2",
            "postgresql://stats:hunter2@127.0.0.1:6432/pgbouncer",
        ] {
            let e = target(url, &env()).unwrap_err();
            assert_eq!(e.exit(), sw_core::Exit::Usage, "{url}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
