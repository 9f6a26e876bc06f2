//! sw-core: what two or more `sw-*` tools need, and nothing else.
//!
//! - [`target`] and [`conninfo`]: which database, resolved as libpq would
//!   (`--db` > `--env-file` > `DATABASE_URL` > PG* variables and `~/.pgpass`).
//! - [`pg`]: connections with libpq's sslmode meanings and sw's session set-up.
//! - [`error`] and [`exit`]: one error type carrying the exit code.
//! - [`contract`], [`output`] and [`input`]: typed records (one Rust type per
//!   `kind`, with its JSON Schema), written and read as JSON Lines.
//! - [`health`]: the `health.report` record sw-health writes and sw-alerts reads;
//!   [`metrics`]: the Prometheus metric names sw-health exposes and the
//!   generated alerting rules query.
//! - [`envfile`], [`fsutil`], [`secret`]: 0600 atomic writes, passwords, redaction;
//!   [`connstr`]: the connection strings written into env files.
//! - [`cluster`]: local clusters driven with initdb/pg_ctl, as a non-root user.
//! - [`lock`]: flock for work that must not run twice at once.
//! - [`cli`]: the shared `main`, flag groups and async runner.
//! - [`blob`] (feature `blob`): a blocking Azure Blob Storage client.
//! - [`crypt`] (feature `crypt`): repository encryption (AES-256-GCM
//!   chunks, per-object keys, a wrapped data key).

#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "blob")]
pub mod blob;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conninfo;
pub mod connstr;
pub mod contract;
#[cfg(feature = "crypt")]
pub mod crypt;
pub mod duration;
pub mod envfile;
pub mod error;
pub mod exit;
pub mod fsutil;
pub mod health;
pub mod input;
pub mod lock;
pub mod log;
pub mod metrics;
pub mod output;
pub mod pg;
pub mod pgpass;
pub mod progress;
#[cfg(feature = "repo")]
pub mod repo;
pub mod secret;
pub mod target;

pub use error::{Context, Error, IoContext, PgContext, Result};
pub use exit::Exit;
