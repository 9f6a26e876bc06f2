//! Local cluster control with the server's own programs (initdb, pg_ctl).
//!
//! initdb and postgres refuse to run as root, so when this process is root
//! every server program runs as an unprivileged OS user (`--os-user`,
//! default `postgres`) and the files it needs are handed to that user.

mod bindir;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use bindir::{Bindir, INSTALL_HINT};

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};

/// The default OS user server programs run as when invoked by root.
pub const DEFAULT_OS_USER: &str = "postgres";

/// An OS account (from the password database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl OsUser {
    /// Look up an account by name.
    ///
    /// # Errors
    /// 67-style "no such user" is reported as 78 (configuration).
    pub fn lookup(name: &str) -> Result<OsUser> {
        match nix::unistd::User::from_name(name) {
            Ok(Some(u)) => Ok(OsUser {
                name: u.name,
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
                home: u.dir,
            }),
            Ok(None) => Err(Error::config(format!(
                "OS user {name:?} does not exist; server programs cannot run as root, so create it (`useradd --system --home /var/lib/postgresql {name}`, or install the postgresql package) or pass --os-user"
            ))),
            Err(e) => Err(Error::config(format!("looking up OS user {name:?}")).with_source(e)),
        }
    }

    /// The user server programs should run as: `None` (ourselves) unless
    /// we are root, in which case `name` must exist.
    pub fn for_server(name: &str) -> Result<Option<OsUser>> {
        if nix::unistd::geteuid().is_root() {
            OsUser::lookup(name).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Runs server programs from one bindir, as the right OS user.
#[derive(Debug, Clone)]
pub struct Runner {
    pub bindir: Bindir,
    pub user: Option<OsUser>,
}

impl Runner {
    /// A runner for `bindir`, dropping to `os_user` when we are root.
    pub fn new(bindir: Bindir, os_user: &str) -> Result<Runner> {
        Ok(Runner {
            bindir,
            user: OsUser::for_server(os_user)?,
        })
    }

    /// A command for a program in the bindir, set up to run as the server's
    /// OS user (uid, gid, HOME) from a directory that user can read.
    pub fn command(&self, prog: &str) -> Command {
        let mut c = Command::new(self.bindir.prog(prog));
        self.prepare(&mut c);
        c
    }

    /// Apply the OS user to any command (e.g. a shell for a reaper).
    pub fn prepare(&self, c: &mut Command) {
        c.current_dir("/");
        // Client variables from our environment must not redirect the
        // server programs (pg_ctl and initdb read PGDATA, PGPORT...).
        for v in [
            "PGDATA",
            "PGPORT",
            "PGHOST",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
            "PGOPTIONS",
        ] {
            c.env_remove(v);
        }
        if let Some(u) = &self.user {
            // std drops supplementary groups (setgroups) when switching uid.
            c.uid(u.uid)
                .gid(u.gid)
                .env("HOME", &u.home)
                .env("USER", &u.name)
                .env("LOGNAME", &u.name);
        }
    }

    /// Make `path` (recursively) owned by the server's OS user; no-op when
    /// not root. Restored files must never stay root-owned.
    pub fn hand_over(&self, path: &Path) -> Result<()> {
        let Some(u) = &self.user else { return Ok(()) };
        chown_recursive(path, u.uid, u.gid)
    }

    /// Run a program to completion, capturing output; a non-zero exit is
    /// an error carrying the program's last stderr line.
    pub fn run<I, S>(&self, prog: &str, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(prog);
        c.args(args);
        run_checked(&mut c, prog)
    }
}

/// Run a command, turning failure into one line with its stderr's gist.
pub fn run_checked(c: &mut Command, what: &str) -> Result<Output> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::unavailable(format!("running {what}")).with_source(e))?;
    if out.status.success() {
        Ok(out)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let gist = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned();
        Err(Error::software(format!("{what} failed ({}): {gist}", out.status)))
    }
}

/// chown a tree, not following symlinks.
pub fn chown_recursive(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .io_context(|| format!("changing the owner of {}", q(path)))?;
    let meta = std::fs::symlink_metadata(path).io_context(|| format!("reading {}", q(path)))?;
    if meta.is_dir() {
        for e in std::fs::read_dir(path).io_context(|| format!("listing {}", q(path)))? {
            let e = e.io_context(|| format!("listing {}", q(path)))?;
            chown_recursive(&e.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Options for initdb.
#[derive(Debug, Clone)]
pub struct InitdbOpts {
    /// Bootstrap superuser name.
    pub superuser: String,
    /// Superuser password (passed through a 0600 file, never argv).
    pub password: Option<String>,
    /// Authentication for local (socket) and host (TCP) connections.
    pub auth_local: String,
    pub auth_host: String,
    pub data_checksums: bool,
    pub encoding: String,
    pub locale: String,
    /// Extra initdb arguments.
    pub extra: Vec<String>,
}

impl Default for InitdbOpts {
    fn default() -> InitdbOpts {
        InitdbOpts {
            superuser: "postgres".into(),
            password: None,
            auth_local: "peer".into(),
            auth_host: "scram-sha-256".into(),
            data_checksums: true,
            encoding: "UTF8".into(),
            locale: "C.UTF-8".into(),
            extra: Vec::new(),
        }
    }
}

/// State of a cluster directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A postmaster runs (its pid).
    Running(u32),
    /// Initialised, not running.
    Stopped,
    /// No cluster in that directory.
    Absent,
}

/// How to stop: PostgreSQL's shutdown modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    Smart,
    Fast,
    Immediate,
}

/// A cluster data directory driven by one runner.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub datadir: PathBuf,
    pub runner: Runner,
}

/// The file sw writes its settings into, included from postgresql.conf.
pub const SW_CONF: &str = "sw.conf";

impl Cluster {
    /// A cluster at `datadir` (made absolute; need not exist yet).
    pub fn new(datadir: &Path, runner: Runner) -> Result<Cluster> {
        let datadir = std::path::absolute(datadir).io_context(|| format!("resolving {}", q(datadir)))?;
        Ok(Cluster { datadir, runner })
    }

    /// Run initdb into an empty or missing directory.
    pub fn initdb(&self, o: &InitdbOpts) -> Result<()> {
        if self.datadir.join("PG_VERSION").exists() {
            return Err(Error::cant_create(format!(
                "{} already holds a cluster",
                q(&self.datadir)
            )));
        }
        std::fs::create_dir_all(&self.datadir).io_context(|| format!("creating {}", q(&self.datadir)))?;
        std::fs::set_permissions(&self.datadir, std::fs::Permissions::from_mode(0o700))
            .io_context(|| format!("setting permissions on {}", q(&self.datadir)))?;
        self.runner.hand_over(&self.datadir)?;
        let mut args: Vec<String> = vec![
            "-D".into(),
            self.datadir.display().to_string(),
            "-U".into(),
            o.superuser.clone(),
            format!("--encoding={}", o.encoding),
            format!("--locale={}", o.locale),
            format!("--auth-local={}", o.auth_local),
            format!("--auth-host={}", o.auth_host),
        ];
        if o.data_checksums {
            args.push("--data-checksums".into());
        }
        args.extend(o.extra.iter().cloned());
        // The password goes through a file only the server user can read.
        let pwdir;
        if let Some(pw) = &o.password {
            pwdir = tempfile::Builder::new()
                .prefix("sw-initdb")
                .tempdir()
                .io_context(|| "creating a temp directory".into())?;
            let pwfile = pwdir.path().join("pw");
            fsutil::write_new(&pwfile, format!("{pw}\n").as_bytes(), 0o600)?;
            self.runner.hand_over(pwdir.path())?;
            args.push(format!("--pwfile={}", pwfile.display()));
        }
        self.runner.run("initdb", &args).map(|_| ())
    }

    /// Write sw's settings file (included from postgresql.conf), replacing
    /// the previous one atomically.
    pub fn write_settings(&self, settings: &[(String, String)]) -> Result<()> {
        self.write_conf_file(
            SW_CONF,
            "# Written by sw; edit with sw tools or override in postgresql.auto.conf.",
            settings,
        )
    }

    /// Read back sw's settings file.
    pub fn read_settings(&self) -> Result<Vec<(String, String)>> {
        self.read_conf_file(SW_CONF)
    }

    /// Write a settings file `name` in the data directory (atomically, owned
    /// by the server's OS user) and make sure postgresql.conf includes it.
    /// Tools that own other settings (e.g. archiving) use their own file so
    /// that one tool's rewrite never drops another's settings.
    pub fn write_conf_file(&self, name: &str, header: &str, settings: &[(String, String)]) -> Result<()> {
        let mut text = format!("{header}\n");
        for (k, v) in settings {
            let _ = writeln!(text, "{k} = {}", conf_quote(v));
        }
        let path = self.datadir.join(name);
        fsutil::atomic_write(&path, text.as_bytes(), 0o600)?;
        self.runner.hand_over(&path)?;
        let main = self.datadir.join("postgresql.conf");
        let body = std::fs::read_to_string(&main).io_context(|| format!("reading {}", q(&main)))?;
        let include = format!("include_if_exists = '{name}'");
        if !body.lines().any(|l| l.trim() == include) {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&main)
                .io_context(|| format!("opening {}", q(&main)))?;
            writeln!(f, "\n{include}").io_context(|| format!("writing {}", q(&main)))?;
            f.sync_all().io_context(|| format!("syncing {}", q(&main)))?;
        }
        Ok(())
    }

    /// Read back a settings file written by [`Cluster::write_conf_file`]
    /// (empty when it does not exist).
    pub fn read_conf_file(&self, name: &str) -> Result<Vec<(String, String)>> {
        let path = self.datadir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("reading {}", q(&path))).with_source(e)),
        };
        Ok(text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), conf_unquote(v.trim())))
            .collect())
    }

    /// Start and wait until it accepts connections; on failure the error
    /// carries the last line of the server log.
    pub fn start(&self, logfile: &Path, timeout_secs: u32) -> Result<()> {
        if let Some(dir) = logfile.parent() {
            std::fs::create_dir_all(dir).io_context(|| format!("creating {}", q(dir)))?;
        }
        if !logfile.exists() {
            std::fs::File::create(logfile).io_context(|| format!("creating {}", q(logfile)))?;
        }
        self.runner.hand_over(logfile)?;
        let res = self.runner.run(
            "pg_ctl",
            [
                "start",
                "-w",
                "-t",
                &timeout_secs.to_string(),
                "-D",
                &self.datadir.display().to_string(),
                "-l",
                &logfile.display().to_string(),
            ],
        );
        res.map(|_| ()).map_err(|e| {
            let tail = std::fs::read_to_string(logfile).unwrap_or_default();
            let last = tail
                .lines()
                .rev()
                .find(|l| l.contains("FATAL") || l.contains("ERROR") || l.contains("LOG:"))
                .unwrap_or("")
                .trim()
                .to_owned();
            Error::unavailable(format!(
                "starting the cluster in {}: {e}; server log: {last}",
                q(&self.datadir)
            ))
        })
    }

    /// Stop and wait.
    pub fn stop(&self, mode: StopMode) -> Result<()> {
        let m = match mode {
            StopMode::Smart => "smart",
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        self.runner
            .run(
                "pg_ctl",
                [
                    "stop",
                    "-w",
                    "-t",
                    "120",
                    "-m",
                    m,
                    "-D",
                    &self.datadir.display().to_string(),
                ],
            )
            .map(|_| ())
    }

    /// Promote a standby and wait until it is a primary.
    pub fn promote(&self) -> Result<()> {
        self.runner
            .run("pg_ctl", ["promote", "-w", "-D", &self.datadir.display().to_string()])
            .map(|_| ())
    }

    /// Whether the cluster exists and runs.
    pub fn status(&self) -> Result<Status> {
        if !self.datadir.join("PG_VERSION").exists() {
            return Ok(Status::Absent);
        }
        let out = self
            .runner
            .command("pg_ctl")
            .args(["status", "-D", &self.datadir.display().to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::unavailable("running pg_ctl status").with_source(e))?;
        match out.status.code() {
            Some(0) => {
                let text = String::from_utf8_lossy(&out.stdout);
                let pid = text
                    .split("PID:")
                    .nth(1)
                    .and_then(|s| s.trim().split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                Ok(Status::Running(pid))
            }
            Some(3) => Ok(Status::Stopped),
            _ => Err(Error::software(format!(
                "pg_ctl status on {}: {}",
                q(&self.datadir),
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
        }
    }
}

/// Quote a value for postgresql.conf.
pub fn conf_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''"))
}

fn conf_unquote(v: &str) -> String {
    let Some(rest) = v.strip_prefix('\'') else {
        // Unquoted: the value ends at a comment.
        let v = v.split('#').next().unwrap_or(v).trim();
        return v.to_owned();
    };
    // Quoted: '' and \' are quotes, \\ a backslash; a '#' inside is data.
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => break,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_quoting_roundtrips() {
        for v in ["plain", "it's", "a\\b", "/var/run/x y", "%m [%p] # x", "ends in ''"] {
            assert_eq!(conf_unquote(&conf_quote(v)), v);
        }
    }

    #[test]
    fn missing_os_user_is_a_config_error() {
        let e = OsUser::lookup("sw-no-such-user-xyz").unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Config);
        assert!(e.to_string().contains("does not exist"));
    }
}
