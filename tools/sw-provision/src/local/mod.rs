//! `sw-provision local`, `status` and `destroy`: one cluster per directory.
//!
//! Layout under `--dir`: `data/` (the cluster), `sock/` (its Unix socket),
//! `tls/` (CA key, server key and certificate, owned by the server user),
//! `ca.crt` (for clients), `server.log`, `sw-provision.json` (what was
//! provisioned, for `status`/`destroy`/`replica`) and by default `app.env`.
//!
//! Every step first looks at what is there and acts only on a difference,
//! so a second run with the same flags reports no changes, and `--dry-run`
//! is the same walk with the actions left out.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use sw_core::cluster::{Bindir, Cluster, InitdbOpts, Runner, Status, StopMode};
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::fsutil::{self, q};
use sw_core::output::{Output, now_rfc3339};
use sw_core::pg::quote_ident;
use sw_core::{Error, IoContext, Result};

mod admin;
mod connstr;

pub use admin::{destroy, status};
pub use connstr::{ENV_KEYS, connection_vars, jdbc_url};
pub(crate) use connstr::{password_in, readonly_url, url_from};

use crate::certs::{self, Paths};
use crate::psql;
use crate::tune::{self, Host};

/// Storage class, for the planner's I/O costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    Ssd,
    Hdd,
}

/// Where the server programs come from and whom they run as.
#[derive(Args, Debug, Clone)]
pub struct ServerOpts {
    /// The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt).
    #[arg(long, value_name = "DIR", default_value = "./var/pg")]
    pub dir: PathBuf,
    /// OS user the server programs run as when sw-provision runs as root.
    #[arg(long, value_name = "USER", default_value = sw_core::cluster::DEFAULT_OS_USER)]
    pub os_user: String,
    /// Directory of initdb/pg_ctl/postgres (default: SW_PG_BINDIR, PATH, pg_config, /usr/lib/postgresql/*/bin).
    #[arg(long, value_name = "DIR")]
    pub pg_bindir: Option<PathBuf>,
}

impl ServerOpts {
    fn dir(&self) -> Result<PathBuf> {
        std::path::absolute(&self.dir).io_context(|| format!("resolving {}", q(&self.dir)))
    }

    fn runner(&self) -> Result<Runner> {
        Runner::new(Bindir::find(self.pg_bindir.as_deref(), &Env::process())?, &self.os_user)
    }
}

/// Flags of `sw-provision local`.
#[derive(Args, Debug, Clone)]
pub struct LocalArgs {
    #[command(flatten)]
    pub server: ServerOpts,
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
    /// Give the application role a new password (default: keep it).
    #[arg(long)]
    pub rotate_password: bool,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for the server to start.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = sw_core::duration::parse)]
    pub start_timeout: Duration,
}

/// Flags of `sw-provision status`.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub server: ServerOpts,
}

/// Flags of `sw-provision destroy`.
#[derive(Args, Debug, Clone)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub server: ServerOpts,
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

/// The server's parameters and their contexts (`postmaster`: only a
/// restart applies it), from `postgres --describe-config`, which needs no
/// running cluster.
fn describe_config(runner: &Runner) -> Result<std::collections::HashMap<String, String>> {
    let out = runner.run("postgres", ["--describe-config"])?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect())
}

/// Refuse `--param` names the server does not know (a typo would make the
/// next start fail); names with a dot are extensions' and pass.
fn check_param_names(a: &LocalArgs, known: &std::collections::HashMap<String, String>) -> Result<()> {
    for (k, _) in &a.params {
        if !k.contains('.') && !known.contains_key(k) {
            return Err(Error::usage(format!("--param {k}: the server has no such parameter")));
        }
    }
    Ok(())
}

/// What a run did or would do.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: &'static str,
    pub detail: String,
}

/// What `local` provisioned, saved as DIR/sw-provision.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub port: u16,
    pub host: String,
    pub database: String,
    pub role: String,
    pub env_file: PathBuf,
    pub ca_cert: PathBuf,
}

pub(crate) const STATE_FILE: &str = "sw-provision.json";
/// The flock that keeps two runs off one directory.
pub(crate) const LOCK_FILE: &str = ".sw-provision.lock";
/// The env file under the directory when --env-file is not given.
pub(crate) const ENV_FILE: &str = "app.env";

/// Read DIR/sw-provision.json.
pub fn read_state(dir: &Path) -> Result<Option<State>> {
    let p = dir.join(STATE_FILE);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::data(format!("{} is not a sw-provision state file", q(&p))).with_source(e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", q(&p))).with_source(e)),
    }
}

/// The `provision.local` record.
#[derive(Debug, Serialize)]
struct LocalResult<'a> {
    time: String,
    dry_run: bool,
    changed: bool,
    dir: &'a Path,
    datadir: PathBuf,
    host: &'a str,
    port: u16,
    database: &'a str,
    role: &'a str,
    env_file: &'a Path,
    ca_cert: &'a Path,
    memory_bytes: u64,
    cpus: u32,
    storage: &'static str,
    changes: Vec<Change>,
}

/// A run in progress: dry or real.
struct Ctx<'a> {
    a: &'a LocalArgs,
    dir: PathBuf,
    runner: Runner,
    cluster: Cluster,
    sock: PathBuf,
    tls: Paths,
    dry: bool,
    changes: Vec<Change>,
    /// Parameter name -> context, from `postgres --describe-config`.
    contexts: std::collections::HashMap<String, String>,
}

impl Ctx<'_> {
    fn note(&mut self, action: &'static str, detail: impl Into<String>) {
        self.changes.push(Change {
            action,
            detail: detail.into(),
        });
    }
}

pub(crate) fn user_can_reach(runner: &Runner, dir: &Path) -> bool {
    if runner.user.is_none() {
        return true;
    }
    let mut c = Command::new("test");
    c.arg("-x").arg(dir);
    runner.prepare(&mut c);
    c.output().map(|o| o.status.success()).unwrap_or(false)
}

pub(crate) fn mkdir(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).io_context(|| format!("creating {}", q(path)))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .io_context(|| format!("setting permissions on {}", q(path)))
}

/// Run `local`.
pub fn run(a: &LocalArgs, pretty: bool) -> Result<()> {
    let dir = a.server.dir()?;
    let runner = a.server.runner()?;
    let contexts = describe_config(&runner)?;
    check_param_names(a, &contexts)?;
    let cluster = Cluster::new(&dir.join("data"), runner.clone())?;
    let host = Host {
        memory_bytes: match a.memory {
            Some(m) => m,
            None => tune::detect_memory()?,
        },
        cpus: a.cpus.unwrap_or_else(tune::detect_cpus),
        ssd: a.storage == Storage::Ssd,
        max_connections: a.max_connections,
    };
    let role = a.role.clone().unwrap_or_else(|| a.database.clone());
    let env_file = std::path::absolute(a.env_file.clone().unwrap_or_else(|| dir.join(ENV_FILE)))
        .io_context(|| "resolving the env file path".into())?;
    let mut cx = Ctx {
        a,
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
        return Err(Error::no_perm(format!(
            "the server's OS user {:?} cannot reach {} (a parent directory is private); use a world-traversable location such as /srv or /var/lib",
            a.server.os_user,
            q(&dir)
        )));
    }
    if cx.cluster.datadir.join("standby.signal").exists() {
        return Err(Error::usage(format!(
            "{} holds a standby; `sw-provision replica` manages it",
            q(&cx.cluster.datadir)
        )));
    }
    converge(&mut cx, &host, &role, &env_file)?;
    let state = State {
        port: a.port,
        host: a.host.clone(),
        database: a.database.clone(),
        role: role.clone(),
        env_file: env_file.clone(),
        ca_cert: cx.tls.ca_cert.clone(),
    };
    if !cx.dry && read_state(&dir)?.as_ref() != Some(&state) {
        let body = serde_json::to_vec_pretty(&state).map_err(|e| Error::software("encoding state").with_source(e))?;
        fsutil::atomic_write(&dir.join(STATE_FILE), &body, 0o644)?;
    }
    let rec = LocalResult {
        time: now_rfc3339(),
        dry_run: cx.dry,
        changed: !cx.changes.is_empty(),
        dir: &dir,
        datadir: cx.cluster.datadir.clone(),
        host: &a.host,
        port: a.port,
        database: &a.database,
        role: &role,
        env_file: &env_file,
        ca_cert: &state.ca_cert,
        memory_bytes: host.memory_bytes,
        cpus: host.cpus,
        storage: if host.ssd { "ssd" } else { "hdd" },
        changes: std::mem::take(&mut cx.changes),
    };
    Output::stdout(pretty).record("provision.local", &rec)
}

/// The full desired configuration: tuned values, then ours, then --param.
fn desired_settings(cx: &Ctx<'_>, host: &Host) -> Vec<(String, String)> {
    let a = cx.a;
    let mut s = tune::params(host);
    let fixed = [
        ("listen_addresses", a.listen.join(",")),
        ("port", a.port.to_string()),
        ("unix_socket_directories", cx.sock.display().to_string()),
        ("password_encryption", "scram-sha-256".into()),
        ("ssl", "on".into()),
        ("ssl_cert_file", cx.tls.server_cert.display().to_string()),
        ("ssl_key_file", cx.tls.server_key.display().to_string()),
        ("ssl_min_protocol_version", "TLSv1.2".into()),
        ("wal_level", "replica".into()),
        ("max_wal_senders", "10".into()),
        ("max_replication_slots", "10".into()),
        ("hot_standby", "on".into()),
    ];
    s.extend(fixed.into_iter().map(|(k, v)| (k.to_owned(), v)));
    for (k, v) in &a.params {
        if let Some(e) = s.iter_mut().find(|(n, _)| n == k) {
            e.1.clone_from(v);
        } else {
            s.push((k.clone(), v.clone()));
        }
    }
    s
}

fn os_user_name(runner: &Runner) -> String {
    match &runner.user {
        Some(u) => u.name.clone(),
        None => nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map_or_else(|| "postgres".to_owned(), |u| u.name),
    }
}

fn hba_text(allow: &[String]) -> String {
    let mut t = String::from(
        "# Written by sw-provision: the superuser only over the socket as the server's OS user;\n\
         # everyone else only over TLS with SCRAM, from the listed networks.\n\
         local   all          postgres                 peer map=sw\n\
         local   replication  postgres                 peer map=sw\n",
    );
    for c in allow {
        t.push_str(&format!("hostssl all          all       {c:<18} scram-sha-256\n"));
        t.push_str(&format!("hostssl replication all       {c:<18} scram-sha-256\n"));
    }
    t
}

fn default_allow() -> Vec<String> {
    vec!["127.0.0.1/32".into(), "::1/128".into()]
}

/// Whether `path` already holds exactly `text`.
fn holds(path: &Path, text: &str) -> bool {
    std::fs::read_to_string(path).ok().as_deref() == Some(text)
}

/// Write a server configuration file (0600, owned by the server's OS user).
fn write_conf(path: &Path, text: &str, runner: &Runner) -> Result<()> {
    fsutil::atomic_write(path, text.as_bytes(), 0o600)?;
    runner.hand_over(path)
}

fn cert_names(a: &LocalArgs) -> Vec<String> {
    let mut names = vec![a.host.clone(), "localhost".into(), "127.0.0.1".into(), "::1".into()];
    names.extend(a.cert_names.iter().cloned());
    names.extend(
        a.listen
            .iter()
            .filter(|l| !matches!(l.as_str(), "*" | "0.0.0.0" | "::" | ""))
            .cloned(),
    );
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

fn converge(cx: &mut Ctx<'_>, host: &Host, role: &str, env_file: &Path) -> Result<()> {
    let a = cx.a;
    // 1. The cluster itself.
    let existed = cx.cluster.datadir.join("PG_VERSION").exists();
    if !existed {
        cx.note(
            "initdb",
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
    }
    // 2. TLS.
    let tls_dir = cx.dir.join("tls");
    if !(cx.tls.ca_cert.exists() && cx.tls.ca_key.exists()) {
        cx.note(
            "create_ca",
            format!("{} (for clients: sslrootcert)", q(&cx.tls.ca_cert)),
        );
        if !cx.dry {
            certs::ensure_ca(&cx.tls)?;
        }
    }
    let names = cert_names(a);
    let (have, expiring) = if cx.tls.server_cert.exists() {
        let cert = certs::load(&cx.tls.server_cert)?;
        (certs::cert_names(&cert), certs::expires_within(&cert, 30)?)
    } else {
        (Vec::new(), false)
    };
    let mut reload = false;
    if have != names || expiring {
        let why = if expiring && have == names {
            " (renewal: the old one expires within 30 days)"
        } else {
            ""
        };
        cx.note("issue_server_certificate", format!("{}{why}", names.join(",")));
        reload = true;
        if !cx.dry {
            mkdir(&tls_dir, 0o700)?;
            certs::issue_server(&cx.tls, &names)?;
        }
    }
    if !cx.dry {
        mkdir(&cx.sock, 0o755)?;
        cx.runner.hand_over(&cx.sock)?;
        cx.runner.hand_over(&tls_dir)?;
    }
    // 3. Parameters.
    let have = if existed {
        cx.cluster.read_settings()?
    } else {
        Vec::new()
    };
    let want = tune::keep_close(desired_settings(cx, host), &have, &a.params);
    let mut restart_for = Vec::new();
    if have != want {
        let differing: Vec<String> = want
            .iter()
            .filter(|kv| !have.contains(kv))
            .map(|(k, _)| k.clone())
            .chain(
                have.iter()
                    .filter(|(k, _)| !want.iter().any(|(w, _)| w == k))
                    .map(|(k, _)| k.clone()),
            )
            .collect();
        restart_for = differing
            .iter()
            .filter(|k| {
                cx.contexts
                    .get(k.as_str())
                    .map_or_else(|| tune::needs_restart(k), |c| c == "postmaster")
            })
            .cloned()
            .collect();
        cx.note("set_parameters", differing.join(","));
        reload = true;
        if !cx.dry {
            cx.cluster.write_settings(&want)?;
        }
    }
    // 4. Access rules.
    let allow = if a.allow.is_empty() {
        default_allow()
    } else {
        a.allow.clone()
    };
    let hba = hba_text(&allow);
    let ident = format!(
        "# Written by sw-provision: OS users allowed to be the superuser over the socket.\nsw {} postgres\n",
        os_user_name(&cx.runner)
    );
    let hba_path = cx.cluster.datadir.join("pg_hba.conf");
    let ident_path = cx.cluster.datadir.join("pg_ident.conf");
    let (hba_same, ident_same) = (holds(&hba_path, &hba), holds(&ident_path, &ident));
    if !(hba_same && ident_same) {
        cx.note(
            "write_pg_hba",
            format!("hostssl scram-sha-256 from {}", allow.join(",")),
        );
        reload = true;
        if !cx.dry && !hba_same {
            write_conf(&hba_path, &hba, &cx.runner)?;
        }
        if !cx.dry && !ident_same {
            write_conf(&ident_path, &ident, &cx.runner)?;
        }
    }
    // 5. Running, with the configuration in effect.
    let status = if existed { cx.cluster.status()? } else { Status::Absent };
    let log = cx.dir.join("server.log");
    let timeout = u32::try_from(a.start_timeout.as_secs().max(1)).unwrap_or(u32::MAX);
    match status {
        Status::Running(_) if !restart_for.is_empty() => {
            cx.note("restart", format!("for {}", restart_for.join(",")));
            if !cx.dry {
                cx.cluster.stop(StopMode::Fast)?;
                cx.cluster.start(&log, timeout)?;
            }
        }
        Status::Running(_) if reload => {
            cx.note("reload", "configuration");
            if !cx.dry {
                psql::run(&cx.runner, &cx.sock, a.port, "postgres", "SELECT pg_reload_conf()")?;
            }
        }
        Status::Running(_) => {}
        Status::Stopped | Status::Absent => {
            cx.note("start", format!("port {}", a.port));
            if !cx.dry {
                cx.cluster.start(&log, timeout)?;
            }
        }
    }
    // 6. Role, database, env file.
    if cx.dry && existed && !matches!(status, Status::Running(_)) {
        // A stopped cluster's catalog cannot be read without starting it.
        cx.note(
            "check_role_and_database",
            format!("{role}/{} (the cluster is stopped; checked once started)", a.database),
        );
        return Ok(());
    }
    app_role_and_db(cx, role, env_file, matches!(status, Status::Running(_)))
}

/// Whether `password` matches a SCRAM-SHA-256 verifier as stored in
/// `pg_authid.rolpassword` (`SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`).
/// Our passwords are ASCII, for which SASLprep changes nothing.
pub(crate) fn scram_matches(stored: &str, password: &str) -> bool {
    use openssl::base64::decode_block;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    let check = || -> Option<bool> {
        let rest = stored.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iter, salt) = params.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let iter: usize = iter.parse().ok()?;
        let salt = decode_block(salt).ok()?;
        let mut salted = [0u8; 32];
        openssl::pkcs5::pbkdf2_hmac(password.as_bytes(), &salt, iter, MessageDigest::sha256(), &mut salted).ok()?;
        let hmac = |msg: &[u8]| -> Option<Vec<u8>> {
            let key = PKey::hmac(&salted).ok()?;
            let mut s = Signer::new(MessageDigest::sha256(), &key).ok()?;
            s.update(msg).ok()?;
            s.sign_to_vec().ok()
        };
        let client_key = hmac(b"Client Key")?;
        let ok = openssl::sha::sha256(&client_key).as_slice() == decode_block(stored_key).ok()?.as_slice()
            && hmac(b"Server Key")? == decode_block(server_key).ok()?;
        Some(ok)
    };
    check().unwrap_or(false)
}

fn app_role_and_db(cx: &mut Ctx<'_>, role: &str, env_file: &Path, was_running: bool) -> Result<()> {
    let a = cx.a;
    let env = EnvFile::read_or_default(env_file)?;
    let known = password_in(&env, role);
    if let Some(p) = &known {
        sw_core::secret::register(p);
    }
    // In a dry run against a stopped or missing cluster the catalog cannot be read.
    let can_look = !cx.dry || was_running;
    let (runner, sock) = (cx.runner.clone(), cx.sock.clone());
    let sql = |db: &str, s: &str| psql::run(&runner, &sock, a.port, db, s);
    let (role_exists, db_exists) = if can_look {
        let out = sql(
            "postgres",
            &format!(
                "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = {}) || ',' || (SELECT count(*) FROM pg_database WHERE datname = {})",
                sw_core::pg::quote_literal(role),
                sw_core::pg::quote_literal(&a.database)
            ),
        )?;
        (out.starts_with('1'), out.ends_with('1'))
    } else {
        (false, false)
    };
    // Does the env file's password still open the role? (Someone may have
    // changed it, or an earlier run stopped between the two writes.)
    let known_works = match (&known, role_exists) {
        (Some(pw), true) => {
            let stored = sql(
                "postgres",
                &format!(
                    "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = {}",
                    sw_core::pg::quote_literal(role)
                ),
            )?;
            scram_matches(&stored, pw)
        }
        _ => false,
    };
    let mut password = known.clone();
    let set_pw = if !role_exists {
        cx.note("create_role", role.to_owned());
        true
    } else if a.rotate_password {
        cx.note("rotate_password", role.to_owned());
        password = None;
        true
    } else if known.is_none() {
        cx.note("set_password", format!("{role} (the env file had none)"));
        true
    } else if !known_works {
        cx.note(
            "set_password",
            format!("{role} (to the env file's, which the role did not accept)"),
        );
        true
    } else {
        false
    };
    let pw = match password.take() {
        Some(p) => p,
        None if cx.dry => String::new(),
        None => sw_core::secret::generate_password()?,
    };
    let mut vars = connection_vars(
        &a.host,
        a.port,
        &a.database,
        role,
        &pw,
        &cx.tls.ca_cert.display().to_string(),
    );
    // A standby's read-only URL (from `replica`) uses the same role: it
    // follows the password.
    if !pw.is_empty()
        && let Some(ro) = readonly_url(&env, role, &pw)
    {
        vars.push(("DATABASE_URL_READONLY".into(), ro));
    }
    if cx.dry {
        if set_pw || vars.iter().any(|(k, v)| env.get(k) != Some(v.as_str())) {
            cx.note("write_env_file", env_file.display().to_string());
        }
        if !db_exists {
            cx.note("create_database", format!("{} owned by {role}", a.database));
        }
        return Ok(());
    }
    // The env file first: a password the role has but no file knows would be lost.
    let mut env = env;
    if vars.iter().any(|(k, v)| env.get(k) != Some(v.as_str())) {
        for (k, v) in &vars {
            env.set(k, v);
        }
        cx.note("write_env_file", env_file.display().to_string());
        env.write(env_file)?;
    } else {
        // Same content: still make sure nobody widened its permissions.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env_file)
            .io_context(|| format!("reading {}", q(env_file)))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            cx.note("chmod_env_file", format!("{} to 0600", env_file.display()));
            std::fs::set_permissions(env_file, std::fs::Permissions::from_mode(0o600))
                .io_context(|| format!("setting permissions on {}", q(env_file)))?;
        }
    }
    if set_pw {
        let verb = if role_exists { "ALTER" } else { "CREATE" };
        // Keep the statement (with its password) out of the server log.
        sql(
            "postgres",
            &format!(
                "SET log_statement = 'none'; SET log_min_error_statement = 'panic';\n{verb} ROLE {} LOGIN PASSWORD {};",
                quote_ident(role),
                sw_core::pg::quote_literal(&pw)
            ),
        )?;
    }
    if !db_exists {
        cx.note("create_database", format!("{} owned by {role}", a.database));
        let d = quote_ident(&a.database);
        sql(
            "postgres",
            &format!(
                "CREATE DATABASE {d} OWNER {} ENCODING 'UTF8' TEMPLATE template0",
                quote_ident(role)
            ),
        )?;
        sql(
            "postgres",
            &format!(
                "REVOKE ALL ON DATABASE {d} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {}",
                quote_ident(role)
            ),
        )?;
        sql(
            &a.database,
            &format!(
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO {}",
                quote_ident(role)
            ),
        )?;
    }
    Ok(())
}
