//! `sw-provision local`, `status` and `destroy`: one cluster per directory.
//!
//! Layout under `--dir`: `data/` (the cluster), `sock/` (its Unix socket),
//! `tls/` (server key and certificate, owned by the server user), `ca.crt`
//! and `ca.key` (the CA; the certificate is for clients), `server.log`,
//! `sw-provision.json` (what was provisioned, for `status`/`destroy`/
//! `replica`) and by default `app.env`.
//!
//! Every step first looks at what is there and acts only on a difference,
//! so a second run with the same flags reports no changes, and `--dry-run`
//! is the same walk with the actions left out.
//!
//! - `args`: the flags; `record`: the records printed; `site`: the
//!   directory's layout and state file;
//! - `converge`: the walk, with `access` (TLS, pg_hba), `settings`
//!   (parameters) and `role` (role, database, env file) as its steps;
//! - `connstr`: the connection strings; `admin`: `status` and `destroy`;
//! - `pooler`: PgBouncer in front of the cluster (`--pooler`), in DIR/pgbouncer.

use std::path::Path;

use sw_core::cluster::Cluster;
use sw_core::contract::Timestamp;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::{Error, Result};

mod access;
mod admin;
mod args;
mod connstr;
mod converge;
mod pooler;
pub(crate) mod record;
mod role;
mod settings;
pub(crate) mod site;

pub use admin::{destroy, status};
pub(crate) use args::absolute;
pub use args::{DestroyArgs, LocalArgs, StatusArgs, Storage};
pub use connstr::{connection_vars, jdbc_url};
pub(crate) use connstr::{password_in, readonly_url, url_from};
pub use pooler::PoolerKind;

use crate::certs::Paths;
use crate::tune::{self, Host};
use converge::Ctx;
use record::LocalResult;
use site::{ENV_FILE, LOCK_FILE, State, mkdir, unreachable, user_can_reach, write_state};

/// The host the parameters are tuned for: the flags, else what is detected.
fn host_of(a: &LocalArgs) -> Result<Host> {
    Ok(Host {
        memory_bytes: match a.memory {
            Some(m) => m,
            None => tune::detect_memory()?,
        },
        cpus: a.cpus.unwrap_or_else(tune::detect_cpus),
        ssd: a.storage == Storage::Ssd,
        max_connections: a.max_connections,
    })
}

/// Run `local`.
pub fn run(a: &LocalArgs, pretty: bool) -> Result<()> {
    let dir = a.site.dir()?;
    let runner = a.site.server.runner()?;
    let contexts = settings::describe_config(&runner)?;
    settings::check_param_names(a, &contexts)?;
    pooler::check(a)?;
    let cluster = Cluster::new(&dir.join("data"), runner.clone())?;
    let host = host_of(a)?;
    let role = a.role.clone().unwrap_or_else(|| a.database.clone());
    let env_file = absolute(&a.env_file.clone().unwrap_or_else(|| dir.join(ENV_FILE)))?;
    let pooled_port = pooler::pooled_port(a, &dir)?;
    let mut cx = Ctx {
        a,
        pooled_port,
        sock: dir.join("sock"),
        tls: Paths::under(&dir),
        dir: dir.clone(),
        runner,
        cluster,
        dry: a.dry_run,
        changes: Vec::new(),
        contexts,
    };
    let _lock = if cx.dry {
        None
    } else {
        mkdir(&dir, 0o755)?;
        Some(sw_core::lock::Lock::try_acquire(
            &dir.join(LOCK_FILE),
            "sw-provision local",
        )?)
    };
    if !cx.dry && !user_can_reach(&cx.runner, &dir) {
        return Err(unreachable(&a.site.server.os_user, &dir));
    }
    if cx.cluster.datadir.join("standby.signal").exists() {
        return Err(Error::usage(format!(
            "{} holds a standby; `sw-provision replica` manages it",
            q(&cx.cluster.datadir)
        )));
    }
    converge::converge(&mut cx, &host, &role, &env_file)?;
    let state = State {
        port: a.port,
        host: a.host.clone(),
        database: a.database.clone(),
        role,
        env_file,
        ca_cert: cx.tls.ca_cert.clone(),
        pooler_port: cx.pooled_port,
    };
    if !cx.dry {
        write_state(&dir, &state)?;
    }
    let rec = result(&dir, &cx, state, &host);
    Output::stdout(pretty).emit(&rec)
}

fn result(dir: &Path, cx: &Ctx<'_>, state: State, host: &Host) -> LocalResult {
    LocalResult {
        time: Timestamp::now(),
        dry_run: cx.dry,
        changed: !cx.changes.is_empty(),
        dir: dir.to_path_buf(),
        datadir: cx.cluster.datadir.clone(),
        host: state.host,
        port: state.port,
        database: state.database,
        role: state.role,
        env_file: state.env_file,
        ca_cert: state.ca_cert,
        pooler_port: state.pooler_port,
        memory_bytes: host.memory_bytes,
        cpus: host.cpus,
        storage: if host.ssd { Storage::Ssd } else { Storage::Hdd },
        changes: cx.changes.clone(),
    }
}
