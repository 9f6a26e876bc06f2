//! The converge walk of `local`: cluster, TLS, parameters, access rules,
//! a running server, then the application role, database and env file.
//! Each step looks at what is there and acts only on a difference; in a
//! dry run the same walk notes the actions and leaves them out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sw_core::Result;
use sw_core::cluster::{Cluster, InitdbOpts, Runner, Status, StopMode};
use sw_core::fsutil::q;

use super::args::LocalArgs;
use super::record::{Action, Change};
use super::site::mkdir;
use super::{access, pooler, role, settings};
use crate::certs::Paths;
use crate::psql;
use crate::tune::Host;

/// A run in progress: dry or real.
pub(crate) struct Ctx<'a> {
    pub a: &'a LocalArgs,
    /// The pooler's port when the directory has (or gets) one: where
    /// DATABASE_URL_POOLED points.
    pub pooled_port: Option<u16>,
    pub dir: PathBuf,
    pub runner: Runner,
    pub cluster: Cluster,
    /// The server's Unix socket directory (DIR/sock).
    pub sock: PathBuf,
    pub tls: Paths,
    pub dry: bool,
    pub changes: Vec<Change>,
    /// Parameter name -> context, from `postgres --describe-config`.
    pub contexts: HashMap<String, String>,
}

impl Ctx<'_> {
    /// Record a change made (or planned, in a dry run).
    pub fn note(&mut self, action: Action, detail: impl Into<String>) {
        self.changes.push(Change::new(action, detail));
    }

    /// Run SQL as the superuser in `db`.
    pub fn sql(&self, db: &str, sql: &str) -> Result<String> {
        psql::run(&self.runner, &self.sock, self.a.port, db, sql)
    }
}

/// Bring the directory to what the flags ask for.
pub(crate) fn converge(cx: &mut Ctx<'_>, host: &Host, role: &str, env_file: &Path) -> Result<()> {
    let existed = ensure_cluster(cx)?;
    let mut reload = access::ensure_tls(cx)?;
    let restart_for = settings::ensure_parameters(cx, host, existed)?;
    reload |= restart_for.is_some();
    reload |= access::ensure_rules(cx)?;
    let status = if existed { cx.cluster.status()? } else { Status::Absent };
    let running = matches!(status, Status::Running(_));
    ensure_running(cx, running, reload, &restart_for.unwrap_or_default())?;
    if cx.dry && existed && !running {
        // A stopped cluster's catalog cannot be read without starting it.
        cx.note(
            Action::CheckRoleAndDatabase,
            format!(
                "{role}/{} (the cluster is stopped; checked once started)",
                cx.a.database
            ),
        );
        return pooler::ensure(cx, false);
    }
    role::ensure_app(cx, role, env_file, running)?;
    pooler::ensure(cx, running)
}

/// initdb when there is no cluster yet; whether there was one.
fn ensure_cluster(cx: &mut Ctx<'_>) -> Result<bool> {
    if cx.cluster.datadir.join("PG_VERSION").exists() {
        return Ok(true);
    }
    cx.note(
        Action::Initdb,
        format!("{} (data checksums, UTF-8, scram-sha-256)", q(&cx.cluster.datadir)),
    );
    if !cx.dry {
        mkdir(&cx.sock, 0o755)?;
        cx.runner.hand_over(&cx.sock)?;
        cx.cluster.initdb(&InitdbOpts {
            auth_local: "peer".into(),
            auth_host: "scram-sha-256".into(),
            ..InitdbOpts::default()
        })?;
    }
    Ok(false)
}

/// A running server with the configuration in effect: start it, restart
/// it for parameters only a restart applies, or reload.
fn ensure_running(cx: &mut Ctx<'_>, running: bool, reload: bool, restart_for: &[String]) -> Result<()> {
    let log = cx.dir.join("server.log");
    let timeout = u32::try_from(cx.a.start_timeout.as_secs().max(1)).unwrap_or(u32::MAX);
    let port = cx.a.port;
    if !running {
        cx.note(Action::Start, format!("port {port}"));
        if !cx.dry {
            cx.cluster.start(&log, timeout)?;
        }
    } else if !restart_for.is_empty() {
        cx.note(Action::Restart, format!("for {}", restart_for.join(",")));
        if !cx.dry {
            cx.cluster.stop(StopMode::Fast)?;
            cx.cluster.start(&log, timeout)?;
        }
    } else if reload {
        cx.note(Action::Reload, "configuration");
        if !cx.dry {
            cx.sql("postgres", "SELECT pg_reload_conf()")?;
        }
    }
    Ok(())
}
