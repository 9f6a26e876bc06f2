//! Flags and helpers the subcommands share.

use std::path::{Path, PathBuf};

use clap::Args;
use sw_core::cluster::{Bindir, Cluster, Runner};
use sw_core::config::Env;
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

/// Where the repository is.
#[derive(Args, Debug, Clone)]
pub struct RepoOpts {
    /// The backup repository (a directory).
    #[arg(long, value_name = "DIR", env = "SW_BACKUP_REPO")]
    pub repo: PathBuf,
}

/// A local cluster.
#[derive(Args, Debug, Clone)]
pub struct ClusterOpts {
    /// The cluster's data directory.
    #[arg(long, value_name = "DIR")]
    pub pgdata: PathBuf,
    /// OS user the server runs as (used when invoked as root).
    #[arg(long, value_name = "USER", default_value = sw_core::cluster::DEFAULT_OS_USER)]
    pub os_user: String,
    /// Directory holding the PostgreSQL server programs (default: found on PATH or /usr/lib/postgresql).
    #[arg(long, value_name = "DIR")]
    pub bindir: Option<PathBuf>,
}

impl ClusterOpts {
    pub fn cluster(&self) -> Result<Cluster> {
        let b = Bindir::find(self.bindir.as_deref(), &Env::process())?;
        Cluster::new(&self.pgdata, Runner::new(b, &self.os_user)?)
    }
}

/// The system identifier and major version of the cluster in `datadir`
/// (from global/pg_control and PG_VERSION).
pub fn identity(datadir: &Path) -> Result<(String, u32)> {
    let vp = datadir.join("PG_VERSION");
    let v = std::fs::read_to_string(&vp).io_context(|| format!("reading {}", q(&vp)))?;
    let major: u32 = v
        .trim()
        .parse()
        .map_err(|_| Error::data(format!("{} does not hold a major version", q(&vp))))?;
    let cp = datadir.join("global/pg_control");
    let c = std::fs::read(&cp).io_context(|| format!("reading {}", q(&cp)))?;
    let Some(b) = c.get(..8) else {
        return Err(Error::data(format!("{} is truncated", q(&cp))));
    };
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok((u64::from_le_bytes(a).to_string(), major))
}

/// Milliseconds, rounded, for records.
pub fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
