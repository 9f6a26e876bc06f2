//! The flags of `local`, `status` and `destroy`, and the parsers that
//! refuse a bad value before anything runs (exit 64). The server programs'
//! flags (`--bindir`, its old spelling `--pg-bindir`, and `--os-user`) are
//! the shared [`ServerOpts`] group.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::ServerOpts;
use sw_core::fsutil::q;
use sw_core::{IoContext, Result};

use crate::tune;

/// Storage class, for the planner's I/O costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// Solid-state storage: random reads cost about as much as sequential ones.
    Ssd,
    /// Spinning disks.
    Hdd,
}

/// The Python driver the SQLAlchemy URL names (`postgresql+DRIVER://`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlalchemyDriver {
    /// psycopg2 (`psycopg2-binary`, the seed application's stack).
    Psycopg2,
    /// psycopg 3 (SQLAlchemy 2.0 or later).
    Psycopg,
}

impl SqlalchemyDriver {
    /// The URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            SqlalchemyDriver::Psycopg2 => "postgresql+psycopg2://",
            SqlalchemyDriver::Psycopg => "postgresql+psycopg://",
        }
    }
}

/// The provision directory and the server programs that run its cluster.
#[derive(Args, Debug, Clone)]
pub struct SiteOpts {
    /// The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt).
    #[arg(long, value_name = "DIR", default_value = "./var/pg")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub server: ServerOpts,
}

impl SiteOpts {
    /// `--dir` as an absolute path.
    pub fn dir(&self) -> Result<PathBuf> {
        absolute(&self.dir)
    }
}

/// A path made absolute (without resolving symlinks).
pub(crate) fn absolute(p: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(p).io_context(|| format!("resolving {}", q(p)))
}

/// Flags of `sw-provision local`.
#[derive(Args, Debug, Clone)]
pub struct LocalArgs {
    #[command(flatten)]
    pub site: SiteOpts,
    /// TCP port.
    #[arg(long, default_value_t = 5432, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Addresses to listen on (listen_addresses; repeatable).
    #[arg(long = "listen", value_name = "ADDR", default_values_t = ["localhost".to_owned()])]
    pub listen: Vec<String>,
    /// Networks allowed to connect (TLS + SCRAM only; repeatable; default loopback).
    #[arg(long = "allow", value_name = "CIDR", value_parser = parse_cidr)]
    pub allow: Vec<String>,
    /// Host name clients use (in the connection strings and the server certificate).
    #[arg(long, value_name = "NAME", default_value = "localhost", value_parser = parse_pg_name)]
    pub host: String,
    /// More names for the server certificate (DNS names or IP addresses; repeatable).
    #[arg(long = "cert-name", value_name = "NAME")]
    pub cert_names: Vec<String>,
    /// The application database.
    #[arg(long, value_name = "NAME", default_value = "app", value_parser = parse_pg_name)]
    pub database: String,
    /// The application role (default: the database name).
    #[arg(long, value_name = "NAME", value_parser = parse_pg_name)]
    pub role: Option<String>,
    /// Env file for the connection strings (default: DIR/app.env).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Set a server parameter, overriding the tuned value (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Memory to tune for (default: the host's, or its cgroup limit).
    #[arg(long, value_name = "SIZE", value_parser = tune::parse_size)]
    pub memory: Option<u64>,
    /// Cores to tune for (default: those available).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub cpus: Option<u32>,
    /// Storage class, for random_page_cost and effective_io_concurrency.
    #[arg(long, value_enum, default_value_t = Storage::Ssd)]
    pub storage: Storage,
    /// max_connections (work_mem is sized from it).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(5..=10000))]
    pub max_connections: u32,
    /// statement_timeout of the application role's sessions (ALTER ROLE ... SET, so it holds through a transaction pooler; 0 for none).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = sw_core::duration::parse)]
    pub app_statement_timeout: Duration,
    /// lock_timeout of the application role's sessions (ALTER ROLE ... SET; 0 for none).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse)]
    pub app_lock_timeout: Duration,
    /// The driver DATABASE_URL_SQLALCHEMY names: an application without it fails with "No module named ...".
    #[arg(long, value_enum, default_value_t = SqlalchemyDriver::Psycopg2)]
    pub sqlalchemy_driver: SqlalchemyDriver,
    /// Give the application role a new password (default: keep it).
    #[arg(long)]
    pub rotate_password: bool,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub pool: super::pooler::PoolerOpts,
    /// How long to wait for the server (and the pooler) to start.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = sw_core::duration::parse)]
    pub start_timeout: Duration,
}

/// Flags of `sw-provision status`.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub site: SiteOpts,
}

/// Flags of `sw-provision destroy`.
#[derive(Args, Debug, Clone)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub site: SiteOpts,
    /// Really delete the cluster and its data.
    #[arg(long)]
    pub yes: bool,
}

/// Accept `a.b.c.d/n`, `x::/n` or a bare address (a single host).
pub fn parse_cidr(s: &str) -> std::result::Result<String, String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address or CIDR"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u8 = match len {
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("invalid prefix length in {s:?}"))?,
        None => max,
    };
    Ok(format!("{ip}/{len}"))
}

/// A database, role or host name: 1-63 bytes, no control characters.
fn parse_pg_name(s: &str) -> std::result::Result<String, String> {
    if s.is_empty() || s.len() > 63 || s.chars().any(char::is_control) {
        return Err(format!("{s:?}: names are 1-63 bytes without control characters"));
    }
    Ok(s.to_owned())
}

/// `NAME=VALUE` for `--param`: a lowercase parameter name, and a value
/// without control characters (a newline would smuggle in another setting).
fn parse_param(s: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    let k = k.trim().to_ascii_lowercase();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return Err(format!("invalid parameter name {k:?}"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("the value of {k} holds a control character (newline, tab...)"));
    }
    Ok((k, v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_checked() {
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap(), "10.1.2.3/8");
        assert_eq!(parse_cidr("::1").unwrap(), "::1/128");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_pg_name("").is_err());
        assert_eq!(
            parse_param("Work_Mem = 8MB").unwrap(),
            ("work_mem".into(), "8MB".into())
        );
        assert!(parse_param("work_mem=4MB\nfsync=off").is_err());
    }
}
