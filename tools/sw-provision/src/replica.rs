//! `sw-provision replica --of ENV_OR_URL --dir DIR`: a streaming standby.
//!
//! When `--of` names a primary that `sw-provision local` made (found through
//! its env file or URL: `sslrootcert` points into the primary's directory),
//! the replication role, its password (kept in the primary's directory,
//! 0600) and a physical replication slot are set up there as the
//! superuser. Otherwise the URL's own role must have REPLICATION, and
//! pg_basebackup creates the slot.
//!
//! The standby comes from `pg_basebackup -R` (standby.signal and
//! primary_conninfo, over TLS with verify-full), gets its own port, socket
//! and copy of the TLS files, is started, and is verified by waiting until
//! its WAL receiver is `streaming`. The env file gains
//! `DATABASE_URL_READONLY`. `destroy` of the replica drops its slot on the
//! primary, so an abandoned slot cannot make the primary keep WAL forever.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use serde::{Deserialize, Serialize};
use sw_core::cluster::{Bindir, Cluster, Runner, Status};
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::fsutil::{self, q};
use sw_core::output::{Output, now_rfc3339};
use sw_core::pg::quote_literal;
use sw_core::{Error, IoContext, Result};

use crate::local::{Change, LOCK_FILE, STATE_FILE, mkdir, read_state, user_can_reach};
use crate::psql;

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
    /// OS user the server programs run as when sw-provision runs as root.
    #[arg(long, value_name = "USER", default_value = sw_core::cluster::DEFAULT_OS_USER)]
    pub os_user: String,
    /// Directory of initdb/pg_ctl/postgres.
    #[arg(long, value_name = "DIR")]
    pub pg_bindir: Option<PathBuf>,
}

/// What the standby was made from, saved as DIR/replica.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplicaState {
    pub primary_dir: Option<PathBuf>,
    pub slot: String,
    pub port: u16,
}

/// The replication role sw-provision creates on its own primaries.
const REPL_ROLE: &str = "sw_replicator";
pub(crate) const REPL_FILE: &str = "replication.env";
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

/// Where the primary is and how to reach it.
struct Primary {
    params: sw_core::conninfo::Params,
    /// The directory of a primary `sw-provision local` made.
    dir: Option<PathBuf>,
    env_file: Option<PathBuf>,
}

fn find_primary(of: &str) -> Result<Primary> {
    let as_path = Path::new(of);
    let (url, env_file) = if as_path.is_file() {
        let env = EnvFile::read(as_path)?;
        let url = env
            .get("DATABASE_URL")
            .ok_or_else(|| Error::config(format!("{} has no DATABASE_URL", q(as_path))))?
            .to_owned();
        (
            url,
            Some(std::path::absolute(as_path).io_context(|| format!("resolving {}", q(as_path)))?),
        )
    } else {
        (of.to_owned(), None)
    };
    let params = sw_core::conninfo::parse(&url).map_err(|e| e.context("--of"))?;
    if let Some(pw) = params.get("password") {
        sw_core::secret::register(pw);
    }
    let dir = params
        .get("sslrootcert")
        .and_then(|ca| Path::new(ca).parent().map(Path::to_path_buf))
        .filter(|d| d.join(STATE_FILE).is_file());
    Ok(Primary { params, dir, env_file })
}

/// Replication role + slot on a primary we made; returns (user, password).
fn prepare_primary(runner: &Runner, pdir: &Path, slot: &str, changes: &mut Vec<Change>) -> Result<(String, String)> {
    let state = read_state(pdir)?.ok_or_else(|| Error::data(format!("{} is not a sw-provision directory", q(pdir))))?;
    let sock = pdir.join("sock");
    let sql = |s: &str| psql::run(runner, &sock, state.port, "postgres", s);
    let file = pdir.join(REPL_FILE);
    let mut env = EnvFile::read_or_default(&file)?;
    let exists = sql(&format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = {}",
        quote_literal(REPL_ROLE)
    ))? == "1";
    let pw = match (exists, env.get("REPLICATION_PASSWORD").map(str::to_owned)) {
        (true, Some(pw)) => pw,
        (_, known) => {
            let pw = match known {
                Some(p) => p,
                None => sw_core::secret::generate_password()?,
            };
            let verb = if exists { "ALTER" } else { "CREATE" };
            sql(&format!(
                "SET log_statement = 'none'; SET log_min_error_statement = 'panic';\n{verb} ROLE {REPL_ROLE} LOGIN REPLICATION PASSWORD {}",
                quote_literal(&pw)
            ))?;
            env.set("REPLICATION_USER", REPL_ROLE);
            env.set("REPLICATION_PASSWORD", &pw);
            env.write(&file)?;
            changes.push(Change {
                action: "create_replication_role",
                detail: REPL_ROLE.into(),
            });
            pw
        }
    };
    sw_core::secret::register(&pw);
    let have_slot = sql(&format!(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = {}",
        quote_literal(slot)
    ))? == "1";
    if !have_slot {
        sql(&format!(
            "SELECT pg_create_physical_replication_slot({})",
            quote_literal(slot)
        ))?;
        changes.push(Change {
            action: "create_slot",
            detail: slot.to_owned(),
        });
    }
    Ok((REPL_ROLE.to_owned(), pw))
}

fn copy_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let data = std::fs::read(from).io_context(|| format!("reading {}", q(from)))?;
    fsutil::atomic_write(to, &data, mode)
}

/// Run `replica`.
pub fn run(a: &ReplicaArgs, pretty: bool) -> Result<()> {
    let dir = std::path::absolute(&a.dir).io_context(|| format!("resolving {}", q(&a.dir)))?;
    let runner = Runner::new(Bindir::find(a.pg_bindir.as_deref(), &Env::process())?, &a.os_user)?;
    let primary = find_primary(&a.of)?;
    if primary.dir.as_deref() == Some(dir.as_path()) {
        return Err(Error::usage(format!("--dir {} is the primary's directory", q(&dir))));
    }
    let cluster = Cluster::new(&dir.join("data"), runner.clone())?;
    let slot = a.slot.clone().unwrap_or_else(|| {
        format!(
            "sw_{}_{}",
            sanitize(dir.file_name().map_or("replica", |n| n.to_str().unwrap_or("replica"))),
            a.port
        )
    });
    if slot.is_empty()
        || slot.len() > 63
        || !slot
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::usage(format!(
            "invalid slot name {slot:?} (lowercase letters, digits, _)"
        )));
    }
    mkdir(&dir, 0o755)?;
    let _lock = sw_core::lock::Lock::try_acquire(&dir.join(LOCK_FILE), "sw-provision replica")?;
    if !user_can_reach(&runner, &dir) {
        return Err(Error::no_perm(format!(
            "the server's OS user {:?} cannot reach {} (a parent directory is private)",
            a.os_user,
            q(&dir)
        )));
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
            changes.push(Change {
                action: "start",
                detail: format!("port {}", a.port),
            });
            cluster.start(&log, timeout_s)?;
        }
    } else {
        create(a, &dir, &cluster, &runner, &primary, &slot, &mut changes)?;
        cluster.start(&log, timeout_s)?;
        changes.push(Change {
            action: "start",
            detail: format!("port {}", a.port),
        });
    }
    let sock = dir.join("sock");
    wait_streaming(&runner, &sock, a.port, a.timeout)?;
    // The env file gains the read-only URL.
    let env_file = a.env_file.clone().or_else(|| primary.env_file.clone());
    if let Some(ef) = &env_file {
        let mut env = EnvFile::read_or_default(ef)?;
        let mut p = primary.params.clone();
        p.insert("port".into(), a.port.to_string());
        let ro = crate::local::url_from(&p);
        if env.get("DATABASE_URL_READONLY") != Some(ro.as_str()) {
            env.set("DATABASE_URL_READONLY", &ro);
            env.write(ef)?;
            changes.push(Change {
                action: "write_env_file",
                detail: ef.display().to_string(),
            });
        }
    }
    Output::stdout(pretty).record(
        "provision.replica",
        &serde_json::json!({
            "time": now_rfc3339(),
            "changed": !changes.is_empty(),
            "dir": dir,
            "port": a.port,
            "slot": slot,
            "status": "streaming",
            "primary": format!("{}:{}", primary.params.get("host").map_or("", String::as_str), primary.params.get("port").map_or("5432", String::as_str)),
            "env_file": env_file,
            "changes": changes,
        }),
    )
}

fn create(
    a: &ReplicaArgs,
    dir: &Path,
    cluster: &Cluster,
    runner: &Runner,
    primary: &Primary,
    slot: &str,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let (user, pw, create_slot) = match &primary.dir {
        Some(pdir) => {
            let (u, p) = prepare_primary(runner, pdir, slot, changes)?;
            (u, p, false)
        }
        None => (
            primary.params.get("user").cloned().unwrap_or_default(),
            primary.params.get("password").cloned().unwrap_or_default(),
            true,
        ),
    };
    // TLS files of our own, so the standby outlives the primary's directory.
    let tls = dir.join("tls");
    mkdir(&tls, 0o700)?;
    let ca_src = primary.params.get("sslrootcert").map(PathBuf::from);
    if let Some(ca) = &ca_src {
        copy_file(ca, &dir.join("ca.crt"), 0o644)?;
    }
    if let Some(pdir) = &primary.dir {
        copy_file(&pdir.join("tls/server.crt"), &tls.join("server.crt"), 0o644)?;
        copy_file(&pdir.join("tls/server.key"), &tls.join("server.key"), 0o600)?;
    }
    let sock = dir.join("sock");
    mkdir(&sock, 0o755)?;
    mkdir(&cluster.datadir, 0o700)?;
    for p in [&tls, &sock, &cluster.datadir] {
        runner.hand_over(p)?;
    }
    let g = |k: &str| primary.params.get(k).map_or("", String::as_str);
    let mut conninfo = format!(
        "host={} port={} user={user} application_name={slot} sslmode={}",
        g("host"),
        if g("port").is_empty() { "5432" } else { g("port") },
        if g("sslmode").is_empty() {
            "verify-full"
        } else {
            g("sslmode")
        }
    );
    if ca_src.is_some() {
        conninfo.push_str(&format!(" sslrootcert={}", dir.join("ca.crt").display()));
    }
    let mut c = runner.command("pg_basebackup");
    c.args([
        "-D",
        &cluster.datadir.display().to_string(),
        "-R",
        "-X",
        "stream",
        "--checkpoint=fast",
        "-S",
        slot,
        "-d",
        &conninfo,
    ]);
    if create_slot {
        c.arg("-C");
    }
    // The password reaches pg_basebackup through its environment, never argv.
    c.env("PGPASSWORD", &pw);
    changes.push(Change {
        action: "base_backup",
        detail: format!("from {}:{} via slot {slot}", g("host"), g("port")),
    });
    if let Err(e) = sw_core::cluster::run_checked(&mut c, "pg_basebackup") {
        // Leave nothing half-made behind: a partial data directory would
        // make the next run think the standby exists.
        let _ = std::fs::remove_dir_all(&cluster.datadir);
        return Err(Error::unavailable(e.message().to_owned()));
    }
    // The primary's settings came along; the standby gets its own port,
    // socket and TLS files.
    let mut settings = cluster.read_settings()?;
    let set = |s: &mut Vec<(String, String)>, k: &str, v: String| match s.iter_mut().find(|(n, _)| n == k) {
        Some(e) => e.1 = v,
        None => s.push((k.to_owned(), v)),
    };
    set(&mut settings, "port", a.port.to_string());
    set(&mut settings, "unix_socket_directories", sock.display().to_string());
    set(&mut settings, "hot_standby", "on".into());
    if primary.dir.is_some() {
        set(
            &mut settings,
            "ssl_cert_file",
            tls.join("server.crt").display().to_string(),
        );
        set(
            &mut settings,
            "ssl_key_file",
            tls.join("server.key").display().to_string(),
        );
    }
    cluster.write_settings(&settings)?;
    let st = ReplicaState {
        primary_dir: primary.dir.clone(),
        slot: slot.to_owned(),
        port: a.port,
    };
    let body = serde_json::to_vec_pretty(&st).map_err(|e| Error::software("encoding replica state").with_source(e))?;
    fsutil::atomic_write(&dir.join(REPLICA_FILE), &body, 0o644)
}

fn wait_streaming(runner: &Runner, sock: &Path, port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let st = psql::run(
            runner,
            sock,
            port,
            "postgres",
            "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')",
        );
        if let Ok(s) = &st
            && s == "streaming"
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            let what = st.unwrap_or_else(|e| e.to_string());
            return Err(Error::unavailable(format!(
                "the standby on port {port} is not streaming after {}s (WAL receiver: {what})",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Called by `destroy`: drop this standby's slot on its primary (if that
/// is ours and running), so the primary stops keeping WAL for it.
pub fn drop_slot_of(dir: &Path, runner: &Runner) -> Result<Option<String>> {
    let p = dir.join(REPLICA_FILE);
    let Ok(bytes) = std::fs::read(&p) else { return Ok(None) };
    let st: ReplicaState =
        serde_json::from_slice(&bytes).map_err(|e| Error::data(format!("{} is corrupt", q(&p))).with_source(e))?;
    let Some(pdir) = st.primary_dir else { return Ok(None) };
    let Some(state) = read_state(&pdir)? else {
        return Ok(None);
    };
    let pc = Cluster::new(&pdir.join("data"), runner.clone())?;
    if !matches!(pc.status()?, Status::Running(_)) {
        log::warn!(
            "the primary in {} is not running: drop slot {} there yourself",
            q(&pdir),
            st.slot
        );
        return Ok(None);
    }
    psql::run(
        runner,
        &pdir.join("sock"),
        state.port,
        "postgres",
        &format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {} AND NOT active",
            quote_literal(&st.slot)
        ),
    )?;
    let _ = std::fs::remove_file(&p);
    Ok(Some(st.slot))
}
