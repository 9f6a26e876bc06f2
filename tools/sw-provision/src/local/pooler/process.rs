//! The PgBouncer process: started as the cluster's OS user the way the
//! cluster is (a daemon with a pid file, `pgbouncer -d` as `pg_ctl start`
//! does for the server), waited for until it accepts connections, reloaded
//! with SIGHUP, stopped with SIGTERM.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sw_core::cluster::{Runner, run_checked};
use sw_core::fsutil::q;
use sw_core::{Error, Result};

/// The pgbouncer program: `--pgbouncer`, else PATH, else Debian's path.
pub(crate) fn find_program(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(Error::unavailable(format!("--pgbouncer {} is not a file", q(p))))
        };
    }
    let path = sw_core::config::Env::process().get("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::unavailable(
                "pgbouncer not found on PATH or in /usr/sbin; install it (`apt-get install pgbouncer`) or pass --pgbouncer",
            )
        })
}

/// The pid in a pid file when that process is a running pgbouncer.
pub(crate) fn running_pid(pidfile: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    // "pid (comm) state ...": a stale pid file may name a process that
    // reused the pid, and a dead daemon nobody reaped is a zombie.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let alive = !matches!(tail.trim_start().chars().next(), Some('Z' | 'X'));
    (head.ends_with("(pgbouncer") && alive).then_some(pid)
}

fn signal(pid: u32, sig: Signal) -> Result<()> {
    let raw = i32::try_from(pid).map_err(|_| Error::software(format!("pid {pid} out of range")))?;
    kill(Pid::from_raw(raw), sig).map_err(|e| Error::software(format!("signalling pgbouncer ({pid})")).with_source(e))
}

/// The last line of the log that says what went wrong.
fn log_gist(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("ERROR"))
        .or_else(|| text.lines().last())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// One pgbouncer, by its configuration.
pub(crate) struct Bouncer<'a> {
    pub prog: &'a Path,
    pub ini: &'a Path,
    pub pidfile: &'a Path,
    pub log: &'a Path,
    pub runner: &'a Runner,
}

impl Bouncer<'_> {
    /// Start it and wait until it accepts TCP connections at `addr:port`.
    pub fn start(&self, addr: &str, port: u16, timeout: Duration) -> Result<()> {
        let mut c = Command::new(self.prog);
        self.runner.prepare(&mut c);
        c.arg("-d").arg(self.ini);
        run_checked(&mut c, "pgbouncer").map_err(|e| self.failed(&e.to_string()))?;
        let deadline = Instant::now() + timeout;
        loop {
            let up = running_pid(self.pidfile).is_some();
            if up && TcpStream::connect((addr, port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failed(&format!("not accepting connections on {addr}:{port} after {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn failed(&self, what: &str) -> Error {
        Error::unavailable(format!(
            "starting pgbouncer ({}): {what}; its log: {}",
            q(self.ini),
            log_gist(self.log)
        ))
    }

    /// Re-read the configuration, auth and hba files.
    pub fn reload(&self, pid: u32) -> Result<()> {
        signal(pid, Signal::SIGHUP)
    }

    /// Stop it (immediate shutdown) and wait until it is gone.
    pub fn stop(&self, timeout: Duration) -> Result<()> {
        stop(self.pidfile, timeout)
    }
}

/// Stop the pgbouncer of a pid file, if one runs, and wait until it is gone.
pub(crate) fn stop(pidfile: &Path, timeout: Duration) -> Result<()> {
    let Some(pid) = running_pid(pidfile) else { return Ok(()) };
    signal(pid, Signal::SIGTERM)?;
    let deadline = Instant::now() + timeout;
    while running_pid(pidfile) == Some(pid) {
        if Instant::now() > deadline {
            return Err(Error::temp(format!(
                "pgbouncer ({pid}) did not stop within {timeout:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
