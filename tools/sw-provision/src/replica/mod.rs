//! `sw-provision replica --of ENV_OR_URL --dir DIR`: a streaming standby.
//!
//! When `--of` names a primary that `sw-provision local` made (found through
//! its env file or URL: `sslrootcert` points into the primary's directory),
//! the replication role, its password (kept in the primary's directory,
//! 0600) and a physical replication slot are set up there as the
//! superuser (`primary`). Otherwise the URL's own role must have
//! REPLICATION, and pg_basebackup creates the slot.
//!
//! The standby comes from `pg_basebackup -R` (standby.signal and
//! primary_conninfo, over TLS with verify-full), gets its own port, socket
//! and copy of the TLS files, is started, and is verified by waiting until
//! its WAL receiver is `streaming` (`standby`). The env file gains
//! `DATABASE_URL_READONLY`. `destroy` of the replica drops its slot on the
//! primary, so an abandoned slot cannot make the primary keep WAL forever.

mod primary;
mod standby;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::cli::ServerOpts;
use sw_core::cluster::{Cluster, Status};
use sw_core::contract::{Record, Timestamp};
use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::{Error, Result};

use crate::local::record::{Action, Change, ReplicaResult, StandbyState};
use crate::local::site::{LOCK_FILE, mkdir, unreachable, user_can_reach};
pub use primary::drop_slot_of;

/// Flags of `sw-provision replica`.
#[derive(Args, Debug, Clone)]
pub struct ReplicaArgs {
    /// The primary: its env file (DATABASE_URL) or a postgresql:// URL.
    #[arg(long, value_name = "ENV_FILE|URL")]
    pub of: String,
    /// Directory for the standby (like `local --dir`; must not be the primary's).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// TCP port of the standby.
    #[arg(long, default_value_t = 5433, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Env file that gains DATABASE_URL_READONLY (default: --of when it is a file).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Replication slot name on the primary (default: derived from --dir and --port).
    #[arg(long, value_name = "NAME")]
    pub slot: Option<String>,
    /// How long to wait for the standby to start and stream.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = sw_core::duration::parse)]
    pub timeout: Duration,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// What the standby was made from, kept in DIR/replica.json (read by
/// `destroy` to drop the slot).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct ReplicaState {
    /// The primary's provision directory when `local` made it, else null.
    pub primary_dir: Option<PathBuf>,
    /// The standby's replication slot on the primary.
    pub slot: String,
    /// The standby's TCP port.
    pub port: u16,
}

impl Record for ReplicaState {
    const KIND: &'static str = "provision.replica.state";
}

/// The primary directory's file with the replication role's password (0600).
pub(crate) const REPL_FILE: &str = "replication.env";
/// The standby directory's state file.
pub(crate) const REPLICA_FILE: &str = "replica.json";

fn sanitize(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    out.truncate(40);
    out
}

/// `--slot`, or one derived from the directory's name and the port.
///
/// # Errors
/// 64 for a name PostgreSQL would refuse.
fn slot_name(a: &ReplicaArgs, dir: &Path) -> Result<String> {
    let slot = a.slot.clone().unwrap_or_else(|| {
        let name = dir.file_name().map_or("replica", |n| n.to_str().unwrap_or("replica"));
        format!("sw_{}_{}", sanitize(name), a.port)
    });
    let valid = slot
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if slot.is_empty() || slot.len() > 63 || !valid {
        return Err(Error::usage(format!(
            "invalid slot name {slot:?} (lowercase letters, digits, _)"
        )));
    }
    Ok(slot)
}

/// Run `replica`.
pub fn run(a: &ReplicaArgs, pretty: bool) -> Result<()> {
    let dir = crate::local::absolute(&a.dir)?;
    let runner = a.server.runner()?;
    let primary = primary::find(&a.of)?;
    if primary.dir.as_deref() == Some(dir.as_path()) {
        return Err(Error::usage(format!("--dir {} is the primary's directory", q(&dir))));
    }
    let cluster = Cluster::new(&dir.join("data"), runner.clone())?;
    let slot = slot_name(a, &dir)?;
    mkdir(&dir, 0o755)?;
    let _lock = sw_core::lock::Lock::try_acquire(&dir.join(LOCK_FILE), "sw-provision replica")?;
    if !user_can_reach(&runner, &dir) {
        return Err(unreachable(&a.server.os_user, &dir));
    }
    let mut changes = Vec::new();
    let log = dir.join("server.log");
    let timeout_s = u32::try_from(a.timeout.as_secs().max(1)).unwrap_or(u32::MAX);
    if cluster.datadir.join("PG_VERSION").exists() {
        if !cluster.datadir.join("standby.signal").exists() {
            return Err(Error::cant_create(format!(
                "{} holds a cluster that is not a standby",
                q(&cluster.datadir)
            )));
        }
        if !matches!(cluster.status()?, Status::Running(_)) {
            changes.push(Change::new(Action::Start, format!("port {}", a.port)));
            cluster.start(&log, timeout_s)?;
        }
    } else {
        standby::create(a, &dir, &cluster, &runner, &primary, &slot, &mut changes)?;
        cluster.start(&log, timeout_s)?;
        changes.push(Change::new(Action::Start, format!("port {}", a.port)));
    }
    standby::wait_streaming(&runner, &dir.join("sock"), a.port, a.timeout)?;
    let env_file = a.env_file.clone().or_else(|| primary.env_file.clone());
    if let Some(ef) = &env_file {
        add_readonly_url(ef, &primary, a.port, &mut changes)?;
    }
    Output::stdout(pretty).emit(&ReplicaResult {
        time: Timestamp::now(),
        changed: !changes.is_empty(),
        dir,
        port: a.port,
        slot,
        status: StandbyState::Streaming,
        primary: format!("{}:{}", primary.param("host"), primary.port()),
        env_file,
        changes,
    })
}

/// The env file gains the standby's read-only URL (the primary's, on the standby's port).
fn add_readonly_url(ef: &Path, primary: &primary::Primary, port: u16, changes: &mut Vec<Change>) -> Result<()> {
    let mut env = EnvFile::read_or_default(ef)?;
    let mut p = primary.params.clone();
    p.insert("port".into(), port.to_string());
    let ro = crate::local::url_from(&p);
    if env.get("DATABASE_URL_READONLY") != Some(ro.as_str()) {
        env.set("DATABASE_URL_READONLY", &ro);
        env.write(ef)?;
        changes.push(Change::new(Action::WriteEnvFile, ef.display().to_string()));
    }
    Ok(())
}
