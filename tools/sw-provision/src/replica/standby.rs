//! The standby side of `replica`: its directories and copy of the TLS
//! files, `pg_basebackup -R` over TLS with verify-full, its own port and
//! socket, and waiting until its WAL receiver streams.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sw_core::cluster::{Cluster, Runner};
use sw_core::fsutil::{self, q};
use sw_core::{Error, IoContext, Result};

use super::primary::{self, Primary};
use super::{REPLICA_FILE, ReplicaArgs, ReplicaState};
use crate::local::record::{Action, Change};
use crate::local::site::{mkdir, write_json};
use crate::psql;

fn copy_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let data = std::fs::read(from).io_context(|| format!("reading {}", q(from)))?;
    fsutil::atomic_write(to, &data, mode)
}

/// Directories for the standby and TLS files of its own, so it outlives
/// the primary's directory.
fn prepare_dirs(dir: &Path, cluster: &Cluster, runner: &Runner, primary: &Primary) -> Result<()> {
    let tls = dir.join("tls");
    mkdir(&tls, 0o700)?;
    if let Some(ca) = primary.params.get("sslrootcert") {
        copy_file(Path::new(ca), &dir.join("ca.crt"), 0o644)?;
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
    Ok(())
}

/// The standby's primary_conninfo (no password: pg_basebackup gets it
/// through its environment, and `-R` writes it to no file).
fn conninfo(dir: &Path, primary: &Primary, user: &str, slot: &str) -> String {
    let sslmode = match primary.param("sslmode") {
        "" => "verify-full",
        m => m,
    };
    let mut c = format!(
        "host={} port={} user={user} application_name={slot} sslmode={sslmode}",
        primary.param("host"),
        primary.port(),
    );
    if primary.params.contains_key("sslrootcert") {
        c.push_str(&format!(" sslrootcert={}", dir.join("ca.crt").display()));
    }
    c
}

/// Make the standby: role and slot on a primary we made (else the URL's
/// role, and pg_basebackup creates the slot), the base backup, its own
/// settings and DIR/replica.json.
pub(crate) fn create(
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
            let (u, p) = primary::prepare(runner, pdir, slot, changes)?;
            (u, p, false)
        }
        None => (
            primary.param("user").to_owned(),
            primary.param("password").to_owned(),
            true,
        ),
    };
    prepare_dirs(dir, cluster, runner, primary)?;
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
        &conninfo(dir, primary, &user, slot),
    ]);
    if create_slot {
        c.arg("-C");
    }
    // The password reaches pg_basebackup through its environment, never argv.
    c.env("PGPASSWORD", &pw);
    changes.push(Change::new(
        Action::BaseBackup,
        format!(
            "from {}:{} via slot {slot}",
            primary.param("host"),
            primary.param("port")
        ),
    ));
    if let Err(e) = sw_core::cluster::run_checked(&mut c, "pg_basebackup") {
        // Leave nothing half-made behind: a partial data directory would
        // make the next run think the standby exists.
        let _ = std::fs::remove_dir_all(&cluster.datadir);
        return Err(Error::unavailable(e.message().to_owned()));
    }
    own_settings(a, dir, cluster, primary.dir.is_some())?;
    let st = ReplicaState {
        primary_dir: primary.dir.clone(),
        slot: slot.to_owned(),
        port: a.port,
    };
    write_json(&dir.join(REPLICA_FILE), &st)
}

/// The primary's settings came along; the standby gets its own port,
/// socket and (for a primary we made) TLS files.
fn own_settings(a: &ReplicaArgs, dir: &Path, cluster: &Cluster, own_tls: bool) -> Result<()> {
    let mut settings = cluster.read_settings()?;
    let mut set = |k: &str, v: String| match settings.iter_mut().find(|(n, _)| n == k) {
        Some(e) => e.1 = v,
        None => settings.push((k.to_owned(), v)),
    };
    let path = |p: PathBuf| p.display().to_string();
    set("port", a.port.to_string());
    set("unix_socket_directories", path(dir.join("sock")));
    set("hot_standby", "on".into());
    if own_tls {
        set("ssl_cert_file", path(dir.join("tls/server.crt")));
        set("ssl_key_file", path(dir.join("tls/server.key")));
    }
    cluster.write_settings(&settings)
}

/// Wait until the standby's WAL receiver streams.
///
/// # Errors
/// 69 when it does not within `timeout`.
pub(crate) fn wait_streaming(runner: &Runner, sock: &Path, port: u16, timeout: Duration) -> Result<()> {
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
