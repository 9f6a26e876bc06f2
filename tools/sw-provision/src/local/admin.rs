//! `sw-provision status` and `destroy` for a local cluster directory.

use std::path::{Path, PathBuf};

use sw_core::cluster::{Cluster, Status, StopMode};
use sw_core::contract::Timestamp;
use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::{Error, Exit, IoContext, Result};

use super::args::{DestroyArgs, StatusArgs};
use super::connstr::ENV_KEYS;
use super::pooler::{self, Layout};
use super::record::{DestroyResult, PoolerStatus, RunState, StatusResult};
use super::site::{ENV_FILE, LOCK_FILE, STATE_FILE, read_state};
use crate::replica::{REPL_FILE, REPLICA_FILE};

/// Run `status`: exit 0 running, 2 stopped, 66 when nothing is there.
pub fn status(a: &StatusArgs, pretty: bool) -> Result<()> {
    let dir = a.site.dir()?;
    let cluster = Cluster::new(&dir.join("data"), a.site.server.runner()?)?;
    let st = cluster.status()?;
    let (status, pid) = match st {
        Status::Absent => return Err(Error::no_input(format!("no cluster in {}", q(&dir)))),
        Status::Running(pid) => (RunState::Running, Some(pid)),
        Status::Stopped => (RunState::Stopped, None),
    };
    let state = read_state(&dir)?;
    let bouncer = Layout::under(&dir);
    let pooler = bouncer.ini.exists().then(|| {
        let pid = pooler::running_pid(&bouncer.pidfile);
        PoolerStatus {
            status: if pid.is_some() {
                RunState::Running
            } else {
                RunState::Stopped
            },
            pid,
            port: state.as_ref().and_then(|s| s.pooler_port),
        }
    });
    let pooler_down = pooler.as_ref().is_some_and(|p| p.status == RunState::Stopped);
    let rec = StatusResult {
        time: Timestamp::now(),
        dir: dir.clone(),
        status,
        pid,
        port: state.as_ref().map(|s| s.port),
        database: state.as_ref().map(|s| s.database.clone()),
        env_file: state.map(|s| s.env_file),
        pooler,
    };
    Output::stdout(pretty).emit(&rec)?;
    match status {
        RunState::Running if pooler_down => Err(Error::new(
            Exit::Critical,
            format!("the pooler in {} is not running", q(&bouncer.dir)),
        )),
        RunState::Running => Ok(()),
        RunState::Stopped => Err(Error::new(
            Exit::Critical,
            format!("the cluster in {} is not running", q(&dir)),
        )),
    }
}

/// Run `destroy --yes`.
pub fn destroy(a: &DestroyArgs, pretty: bool) -> Result<()> {
    let dir = a.site.dir()?;
    if !a.yes {
        return Err(Error::usage(format!(
            "destroy deletes the cluster in {} and its data; pass --yes",
            q(&dir)
        )));
    }
    let cluster = Cluster::new(&dir.join("data"), a.site.server.runner()?)?;
    let state = read_state(&dir)?;
    let st = cluster.status()?;
    if st == Status::Absent && state.is_none() {
        return Err(Error::no_input(format!("no cluster in {}", q(&dir))));
    }
    let _lock = sw_core::lock::Lock::try_acquire(&dir.join(LOCK_FILE), "sw-provision")?;
    // The pooler first: its clients go before the server does.
    pooler::stop(&Layout::under(&dir).pidfile, std::time::Duration::from_secs(60))?;
    if matches!(st, Status::Running(_)) {
        cluster.stop(StopMode::Fast)?;
    }
    // A standby's slot on its primary would keep WAL forever.
    let dropped_slot = crate::replica::drop_slot_of(&dir, &cluster.runner)?;
    let mut removed = remove_files(&dir)?;
    let env_file = state.map_or_else(|| dir.join(ENV_FILE), |s| s.env_file);
    if env_file.exists() {
        remove_env_keys(&env_file)?;
        removed.push(env_file);
    }
    let _ = std::fs::remove_file(dir.join(LOCK_FILE));
    let _ = std::fs::remove_dir(&dir);
    Output::stdout(pretty).emit(&DestroyResult {
        time: Timestamp::now(),
        dir,
        removed,
        dropped_slot,
    })
}

/// Remove what sw-provision put in the directory; what was removed.
fn remove_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for name in [
        pooler::POOLER_DIR,
        "data",
        "tls",
        "sock",
        "server.log",
        "ca.crt",
        "ca.key",
        STATE_FILE,
        REPLICA_FILE,
        REPL_FILE,
    ] {
        let p = dir.join(name);
        if std::fs::symlink_metadata(&p).is_ok() {
            let r = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.io_context(|| format!("removing {}", q(&p)))?;
            removed.push(p);
        }
    }
    Ok(removed)
}

/// Take sw-provision's keys out of the env file; remove it when nothing else is left.
fn remove_env_keys(env_file: &Path) -> Result<()> {
    let mut env = EnvFile::read(env_file)?;
    for k in ENV_KEYS {
        env.remove(k);
    }
    if env.vars().is_empty() {
        std::fs::remove_file(env_file).io_context(|| format!("removing {}", q(env_file)))
    } else {
        env.write(env_file)
    }
}
