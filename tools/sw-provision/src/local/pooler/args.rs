//! The flags of `local --pooler`: which pooler, where it listens, and the
//! pool settings, whose defaults are the seed application's pool
//! (`crate::pooler::PoolSettings::default()`; a test holds them equal).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::pooler::PoolSettings;

/// The connection pooler in front of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolerKind {
    /// PgBouncer (Debian's `pgbouncer` package), run as the cluster's OS user.
    Pgbouncer,
    /// None: remove the directory's pooler (stop it; delete DIR/pgbouncer, the lookup role and function, and DATABASE_URL_POOLED).
    None,
}

/// How long a client keeps a server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolMode {
    /// For the whole session (session state works as without a pooler).
    Session,
    /// For one transaction (the default: the most clients per connection).
    Transaction,
    /// For one statement (no multi-statement transactions).
    Statement,
}

impl PoolMode {
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
            PoolMode::Statement => "statement",
        }
    }
}

/// Flags of the pooler.
#[derive(Args, Debug, Clone)]
pub struct PoolerOpts {
    /// Put a connection pooler in front of the cluster (DATABASE_URL_POOLED in the env file); without the flag an existing one is kept as it is.
    #[arg(long, value_enum)]
    pub pooler: Option<PoolerKind>,
    /// The pooler's TCP port (it listens on the --listen addresses).
    #[arg(long, default_value_t = 6432, value_parser = clap::value_parser!(u16).range(1..))]
    pub pooler_port: u16,
    /// Pool mode.
    #[arg(long, value_enum, default_value_t = PoolMode::Transaction)]
    pub pool_mode: PoolMode,
    /// Server connections per database and role (default_pool_size; the seed's pool_size).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub pool_size: u32,
    /// Extra server connections once clients wait (reserve_pool_size; the seed's max_overflow).
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u32).range(0..=10000))]
    pub reserve_pool_size: u32,
    /// Most clients connected at once (max_client_conn).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_client_conn: u32,
    /// Close server connections older than this (server_lifetime; the seed's pool_recycle).
    #[arg(long, value_name = "DURATION", default_value = "3600s", value_parser = sw_core::duration::parse)]
    pub server_lifetime: Duration,
    /// Give up on a client waiting this long for a server connection (query_wait_timeout; the seed's pool_timeout).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = sw_core::duration::parse)]
    pub query_wait_timeout: Duration,
    /// Run before reusing an idle server connection (server_check_query; the seed's pool_pre_ping).
    #[arg(long, value_name = "SQL", default_value = "select 1", value_parser = parse_check_query)]
    pub server_check_query: String,
    /// The pgbouncer program (default: on PATH, else /usr/sbin/pgbouncer).
    #[arg(long, value_name = "PATH")]
    pub pgbouncer: Option<PathBuf>,
}

impl PoolerOpts {
    /// The pool settings the flags ask for.
    pub fn settings(&self) -> PoolSettings {
        PoolSettings {
            pool_mode: self.pool_mode.as_str().to_owned(),
            default_pool_size: self.pool_size,
            reserve_pool_size: self.reserve_pool_size,
            max_client_conn: self.max_client_conn,
            server_lifetime_s: secs(self.server_lifetime),
            query_wait_timeout_s: secs(self.query_wait_timeout),
            server_check_query: self.server_check_query.clone(),
        }
    }
}

fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// One line of SQL: a newline would end the setting and start another.
fn parse_check_query(s: &str) -> Result<String, String> {
    if s.trim().is_empty() || s.chars().any(char::is_control) {
        return Err("the check query must be one line of SQL".into());
    }
    Ok(s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        p: PoolerOpts,
    }

    #[test]
    fn flag_defaults_are_the_seed_pool() {
        let t = T::try_parse_from(["t"]).unwrap();
        assert_eq!(t.p.settings(), PoolSettings::default());
        assert!(T::try_parse_from(["t", "--server-check-query", "select 1\nx=1"]).is_err());
        let t = T::try_parse_from(["t", "--pool-size", "5", "--query-wait-timeout", "2m"]).unwrap();
        assert_eq!(
            (t.p.settings().default_pool_size, t.p.settings().query_wait_timeout_s),
            (5, 120)
        );
    }
}
