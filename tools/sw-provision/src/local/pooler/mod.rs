//! `local --pooler pgbouncer`: PgBouncer in front of the cluster, in
//! DIR/pgbouncer/ (its configuration, hba and auth files, copies of the
//! server's TLS files, pid file and log), run as the cluster's OS user.
//!
//! Clients reach it only over TLS with SCRAM from the `--allow` networks
//! (their certificate check is the server's: the same certificate and
//! CA); it reaches the server over TLS with verify-full. Application
//! passwords are never in a file of its own: it looks their SCRAM
//! verifiers up through `auth_query` as a lookup role that can call one
//! SECURITY DEFINER function and read nothing else. Like every step of
//! `local`, it changes only what differs: the files are compared, the
//! role and function checked, and a running pooler is reloaded (or, for
//! a new address, restarted) only when a file changed.

pub(crate) mod args;
mod lookup;
mod process;
mod remove;

use std::path::{Path, PathBuf};

use sw_core::Result;
use sw_core::fsutil::{self, q};

use super::args::LocalArgs;
use super::converge::Ctx;
use super::record::Action;
use super::site::mkdir;
use crate::pooler::{self, Site};
pub use args::{PoolerKind, PoolerOpts};
pub(crate) use process::{running_pid, stop};

/// The pooler's directory under DIR.
pub(crate) const POOLER_DIR: &str = "pgbouncer";

/// What lives in DIR/pgbouncer.
pub(crate) struct Layout {
    pub dir: PathBuf,
    pub ini: PathBuf,
    pub hba: PathBuf,
    pub auth: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
}

impl Layout {
    pub fn under(dir: &Path) -> Layout {
        let d = dir.join(POOLER_DIR);
        Layout {
            ini: d.join("pgbouncer.ini"),
            hba: d.join("hba.conf"),
            auth: d.join("auth.txt"),
            cert: d.join("server.crt"),
            key: d.join("server.key"),
            ca: d.join("ca.crt"),
            pidfile: d.join("pgbouncer.pid"),
            log: d.join("pgbouncer.log"),
            dir: d,
        }
    }
}

/// An address to reach a server listening on `listen` at from this host
/// (the first entry; wildcards and `localhost` are reached over loopback).
pub(crate) fn reach_addr(listen: &[String]) -> String {
    match listen.first().map(String::as_str) {
        None | Some("*" | "0.0.0.0" | "localhost" | "") => "127.0.0.1".into(),
        Some("::") => "::1".into(),
        Some(a) => a.to_owned(),
    }
}

/// The network the pooler's connections to the server come from, which
/// the server's pg_hba.conf must admit.
pub(crate) fn source_cidr(listen: &[String]) -> String {
    let a = reach_addr(listen);
    if a.contains(':') {
        format!("{a}/128")
    } else {
        format!("{a}/32")
    }
}

/// Refuse a pool the server cannot hold (64): the pool and its reserve
/// must fit in max_connections less the superuser's reserved three.
pub(crate) fn check(a: &LocalArgs) -> Result<()> {
    if a.pool.pooler != Some(PoolerKind::Pgbouncer) {
        return Ok(());
    }
    let max = a
        .params
        .iter()
        .find(|(k, _)| k == "max_connections")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(a.max_connections);
    let pool = a.pool.pool_size.saturating_add(a.pool.reserve_pool_size);
    if pool > max.saturating_sub(3) {
        return Err(sw_core::Error::usage(format!(
            "--pool-size {} plus --reserve-pool-size {} is more than max_connections {max} leaves (3 are the superuser's); lower them or raise --max-connections",
            a.pool.pool_size, a.pool.reserve_pool_size
        )));
    }
    Ok(())
}

/// The settings a change of which needs a restart, not a reload.
const RESTART_KEYS: [&str; 3] = ["listen_addr", "listen_port", "unix_socket_dir"];

fn setting<'t>(ini: &'t str, key: &str) -> Option<&'t str> {
    ini.lines()
        .filter_map(|l| l.split_once(" = "))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Where DATABASE_URL_POOLED points after this run: `--pooler-port` with
/// `--pooler pgbouncer`, nowhere with `--pooler none`, and without the
/// flag the port of the pooler the directory has, if any.
pub(crate) fn pooled_port(a: &LocalArgs, dir: &Path) -> Result<Option<u16>> {
    Ok(match a.pool.pooler {
        Some(PoolerKind::Pgbouncer) => Some(a.pool.pooler_port),
        Some(PoolerKind::None) => None,
        None if Layout::under(dir).ini.exists() => super::site::read_state(dir)?.and_then(|s| s.pooler_port),
        None => None,
    })
}

/// The pooler as the flags ask. `running`: whether the server ran before
/// this run (a dry run cannot read a catalog otherwise).
pub(crate) fn ensure(cx: &mut Ctx<'_>, running: bool) -> Result<()> {
    match cx.a.pool.pooler {
        Some(PoolerKind::Pgbouncer) => converge(cx, running),
        Some(PoolerKind::None) => remove::remove(cx, running),
        None => {
            if Layout::under(&cx.dir).ini.exists() {
                log::warn!(
                    "{} has a pooler and --pooler was not given: it is kept as it is (--pooler pgbouncer converges it, --pooler none removes it)",
                    q(&cx.dir)
                );
            }
            Ok(())
        }
    }
}

fn converge(cx: &mut Ctx<'_>, running: bool) -> Result<()> {
    let l = Layout::under(&cx.dir);
    let prog = process::find_program(cx.a.pool.pgbouncer.as_deref())?;
    let pw = match std::fs::read_to_string(&l.auth)
        .ok()
        .and_then(|t| pooler::auth_file_password(&t))
    {
        Some(p) => p,
        None if cx.dry => String::new(),
        None => sw_core::secret::generate_password()?,
    };
    sw_core::secret::register(&pw);
    let old_ini = std::fs::read_to_string(&l.ini).unwrap_or_default();
    let files = desired(cx, &l, &pw)?;
    let differ: Vec<&(PathBuf, Vec<u8>)> = files
        .iter()
        .filter(|(p, body)| std::fs::read(p).ok().as_deref() != Some(body.as_slice()))
        .collect();
    let written = !differ.is_empty();
    if written {
        let names: Vec<String> = differ
            .iter()
            .filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        cx.note(
            Action::WritePoolerConfig,
            format!("{} ({})", q(&l.dir), names.join(",")),
        );
        if !cx.dry {
            mkdir(&l.dir, 0o700)?;
            for (p, body) in &differ {
                fsutil::atomic_write(p, body, 0o600)?;
            }
            cx.runner.hand_over(&l.dir)?;
        }
    }
    if cx.dry && !running {
        cx.note(
            Action::CheckLookupRole,
            format!("{} (the cluster is stopped; checked once started)", pooler::LOOKUP_ROLE),
        );
    } else {
        lookup::ensure(cx, &pw)?;
    }
    let new_ini = String::from_utf8_lossy(&files[0].1).into_owned();
    run(cx, &l, &prog, written, &old_ini, &new_ini)
}

/// The files as they should be: configuration first.
fn desired(cx: &Ctx<'_>, l: &Layout, pw: &str) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let a = cx.a;
    let site = Site {
        listen_addr: a.listen.join(","),
        listen_port: a.pool.pooler_port,
        server_host: reach_addr(&a.listen),
        server_port: a.port,
        database: a.database.clone(),
        ca_file: l.ca.clone(),
        cert_file: l.cert.clone(),
        key_file: l.key.clone(),
        unix_socket_dir: cx.sock.clone(),
        pidfile: l.pidfile.clone(),
        logfile: l.log.clone(),
        auth_file: l.auth.clone(),
        hba_file: l.hba.clone(),
        session_defaults: crate::session::describe(&super::role::session_defaults(a)),
        stats_user: super::access::os_user_name(&cx.runner),
    };
    let allow = super::access::allowed(a);
    let read = |p: &Path| std::fs::read(p).map_err(|e| sw_core::Error::io(format!("reading {}", q(p))).with_source(e));
    // In a dry run of a new directory there are no TLS files to copy yet.
    let copy = |p: &Path| if cx.dry && !p.exists() { Ok(Vec::new()) } else { read(p) };
    Ok(vec![
        (
            l.ini.clone(),
            pooler::render_ini(&site, &a.pool.settings()).into_bytes(),
        ),
        (l.hba.clone(), pooler::render_hba(&site, &allow).into_bytes()),
        (
            l.auth.clone(),
            pooler::render_auth_file(pw, &site.stats_user).into_bytes(),
        ),
        (l.cert.clone(), copy(&cx.tls.server_cert)?),
        (l.key.clone(), copy(&cx.tls.server_key)?),
        (l.ca.clone(), copy(&cx.tls.ca_cert)?),
    ])
}

/// A running pooler with the files in effect: start it, or reload (or
/// restart, for a new address) it when a file changed.
fn run(cx: &mut Ctx<'_>, l: &Layout, prog: &Path, written: bool, old_ini: &str, new_ini: &str) -> Result<()> {
    let runner = cx.runner.clone();
    let b = process::Bouncer {
        prog,
        ini: &l.ini,
        pidfile: &l.pidfile,
        log: &l.log,
        runner: &runner,
    };
    let (addr, port, timeout) = (reach_addr(&cx.a.listen), cx.a.pool.pooler_port, cx.a.start_timeout);
    match running_pid(&l.pidfile) {
        None => {
            cx.note(Action::StartPooler, format!("port {port}"));
            if !cx.dry {
                b.start(&addr, port, timeout)?;
            }
        }
        Some(_) if written && RESTART_KEYS.iter().any(|k| setting(old_ini, k) != setting(new_ini, k)) => {
            cx.note(Action::RestartPooler, format!("port {port}"));
            if !cx.dry {
                b.stop(timeout)?;
                b.start(&addr, port, timeout)?;
            }
        }
        Some(pid) if written => {
            cx.note(Action::ReloadPooler, "configuration");
            if !cx.dry {
                b.reload(pid)?;
            }
        }
        Some(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pooler_reaches_the_server_where_it_listens() {
        let l = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(reach_addr(&l(&["localhost"])), "127.0.0.1");
        assert_eq!(reach_addr(&l(&["*"])), "127.0.0.1");
        assert_eq!(source_cidr(&l(&["::"])), "::1/128");
        assert_eq!(source_cidr(&l(&["10.1.2.3", "127.0.0.1"])), "10.1.2.3/32");
        let ini = "listen_port = 6432\nlisten_addr = 127.0.0.1\n";
        assert_eq!(setting(ini, "listen_port"), Some("6432"));
        assert_eq!(setting(ini, "unix_socket_dir"), None);
    }
}
