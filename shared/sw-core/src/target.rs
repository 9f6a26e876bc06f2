//! Which database a tool talks to, resolved the same way everywhere:
//! `--db` (URI or key=value) > `--env-file` (its `DATABASE_URL`) >
//! `DATABASE_URL` > the libpq variables and `~/.pgpass`. As in libpq, the
//! PG* variables also fill whatever the chosen string leaves out.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Env;
use crate::conninfo::{self, Params};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::fsutil::q;
use crate::{pgpass, secret};

/// libpq's sslmode values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::config(format!(
                    "invalid sslmode {other:?} (use disable, allow, prefer, require, verify-ca or verify-full)"
                )));
            }
        })
    }

    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// Not configured and `~/.postgresql/root.crt` absent.
    None,
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// The operating system's store (`sslrootcert=system`, PostgreSQL 16+ meaning).
    System,
}

/// A resolved connection target. The password is kept private and only
/// reaches the driver; `Display` and `Debug` never show it.
#[derive(Clone)]
pub struct Target {
    pub hosts: Vec<String>,
    pub hostaddrs: Vec<Option<IpAddr>>,
    pub ports: Vec<u16>,
    pub user: String,
    password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: RootCert,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub application_name: Option<String>,
    pub options: Option<String>,
    pub target_session_attrs: Option<String>,
    /// Where the target came from, for messages ("--db", "DATABASE_URL", ...).
    pub source: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Target({self}, sslmode={}, from {})",
            self.sslmode.as_str(),
            self.source
        )
    }
}

impl fmt::Display for Target {
    /// `user@host:port/db`, never with the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .zip(self.ports.iter().cycle())
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect();
        write!(f, "{}@{}/{}", self.user, hosts.join(","), self.dbname)
    }
}

impl Target {
    /// Resolve from the flags and the environment.
    pub fn resolve(db: Option<&str>, env_file: Option<&Path>, env: &Env) -> Result<Target> {
        let (source, params) = if let Some(s) = db {
            (
                "--db".to_owned(),
                conninfo::parse(s).map_err(|e| e.context("invalid --db"))?,
            )
        } else if let Some(path) = env_file {
            let f = EnvFile::read(path)?;
            let url = f
                .get("DATABASE_URL")
                .ok_or_else(|| Error::config(format!("env file {} has no DATABASE_URL", q(path))))?;
            let p = conninfo::parse(url).map_err(|e| e.context(format!("invalid DATABASE_URL in {}", q(path))))?;
            (format!("env file {}", q(path)), p)
        } else if let Some(url) = env.get("DATABASE_URL") {
            (
                "DATABASE_URL".to_owned(),
                conninfo::parse(&url).map_err(|e| e.context("invalid DATABASE_URL"))?,
            )
        } else {
            ("PG environment".to_owned(), Params::new())
        };
        Target::from_params(params, env, source)
    }

    /// Build from parsed parameters, filling gaps from PG* variables and
    /// libpq's defaults.
    pub fn from_params(mut p: Params, env: &Env, source: String) -> Result<Target> {
        const FROM_ENV: &[(&str, &str)] = &[
            ("host", "PGHOST"),
            ("hostaddr", "PGHOSTADDR"),
            ("port", "PGPORT"),
            ("user", "PGUSER"),
            ("dbname", "PGDATABASE"),
            ("password", "PGPASSWORD"),
            ("passfile", "PGPASSFILE"),
            ("sslmode", "PGSSLMODE"),
            ("sslrootcert", "PGSSLROOTCERT"),
            ("sslcert", "PGSSLCERT"),
            ("sslkey", "PGSSLKEY"),
            ("connect_timeout", "PGCONNECT_TIMEOUT"),
            ("application_name", "PGAPPNAME"),
            ("options", "PGOPTIONS"),
            ("target_session_attrs", "PGTARGETSESSIONATTRS"),
        ];
        for (key, var) in FROM_ENV {
            if !p.contains_key(*key)
                && let Some(v) = env.get(var)
            {
                p.insert((*key).to_owned(), v);
            }
        }
        if let Some(pw) = p.get("password") {
            secret::register(pw);
        }
        let (hosts, hostaddrs, ports) = endpoints(&p)?;
        let user = match p.get("user") {
            Some(u) => u.clone(),
            None => env
                .os_user_name()
                .ok_or_else(|| Error::config("no database user given (set PGUSER or user= in the target)"))?,
        };
        let dbname = p.get("dbname").cloned().unwrap_or_else(|| user.clone());
        let home = env.home();
        let tls = TlsFiles::from_params(&p, home.as_deref())?;
        let connect_timeout = match p.get("connect_timeout") {
            Some(s) => {
                let n: i64 = s
                    .trim()
                    .parse()
                    .map_err(|_| Error::config(format!("invalid connect_timeout {s:?}")))?;
                // libpq: zero or negative means wait forever; values below 2 become 2.
                (n > 0).then(|| Duration::from_secs(n.max(2).unsigned_abs()))
            }
            None => None,
        };
        let mut password = p.get("password").cloned();
        if password.is_none() {
            let passfile = p
                .get("passfile")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".pgpass")));
            if let Some(pf) = passfile {
                password = pgpass::lookup(&pf, &hosts[0], ports[0], &dbname, &user);
            }
        }
        Ok(Target {
            hosts,
            hostaddrs,
            ports,
            user,
            password,
            dbname,
            sslmode: tls.sslmode,
            sslrootcert: tls.sslrootcert,
            sslcert: tls.sslcert,
            sslkey: tls.sslkey,
            connect_timeout,
            application_name: p.get("application_name").cloned(),
            options: p.get("options").cloned(),
            target_session_attrs: p.get("target_session_attrs").cloned(),
            source,
        })
    }

    /// The password, if any (for the driver and for env files only).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Replace the password (e.g. after generating one).
    pub fn set_password(&mut self, pw: Option<String>) {
        if let Some(p) = &pw {
            secret::register(p);
        }
        self.password = pw;
    }

    /// A copy pointing at another database on the same server.
    #[must_use]
    pub fn with_dbname(&self, dbname: &str) -> Target {
        let mut t = self.clone();
        dbname.clone_into(&mut t.dbname);
        t
    }

    /// A `postgresql://` URI for this target, password included when
    /// `with_password` (only for files written 0600).
    pub fn to_url(&self, with_password: bool) -> String {
        let enc = secret::percent_encode;
        let mut s = String::from("postgresql://");
        s.push_str(&enc(&self.user));
        if with_password && let Some(pw) = &self.password {
            s.push(':');
            s.push_str(&enc(pw));
        }
        s.push('@');
        let mut query: Vec<String> = Vec::new();
        let tcp: Vec<String> = self
            .hosts
            .iter()
            .zip(self.ports.iter().cycle())
            .filter(|(h, _)| !h.starts_with('/'))
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect();
        if tcp.len() == self.hosts.len() {
            s.push_str(&tcp.join(","));
        } else {
            query.push(format!("host={}", enc(&self.hosts.join(","))));
            query.push(format!(
                "port={}",
                self.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
            ));
        }
        s.push('/');
        s.push_str(&enc(&self.dbname));
        if self.sslmode != SslMode::Prefer {
            query.push(format!("sslmode={}", self.sslmode.as_str()));
        }
        match &self.sslrootcert {
            RootCert::File(p) => query.push(format!("sslrootcert={}", enc(&p.display().to_string()))),
            RootCert::System => query.push("sslrootcert=system".into()),
            RootCert::None => {}
        }
        if let Some(a) = &self.application_name {
            query.push(format!("application_name={}", enc(a)));
        }
        if !query.is_empty() {
            s.push('?');
            s.push_str(&query.join("&"));
        }
        s
    }

    /// Environment variables that point a libpq program (psql,
    /// pg_basebackup) at this target, so no secret goes on a command line.
    pub fn libpq_env(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("PGHOST".to_owned(), self.hosts.join(",")),
            (
                "PGPORT".to_owned(),
                self.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
            ),
            ("PGUSER".to_owned(), self.user.clone()),
            ("PGDATABASE".to_owned(), self.dbname.clone()),
            ("PGSSLMODE".to_owned(), self.sslmode.as_str().to_owned()),
        ];
        if !self.hostaddrs.is_empty() {
            let a: Vec<String> = self
                .hostaddrs
                .iter()
                .map(|a| a.map(|x| x.to_string()).unwrap_or_default())
                .collect();
            v.push(("PGHOSTADDR".to_owned(), a.join(",")));
        }
        match &self.sslrootcert {
            RootCert::File(p) => v.push(("PGSSLROOTCERT".to_owned(), p.display().to_string())),
            RootCert::System => v.push(("PGSSLROOTCERT".to_owned(), "system".to_owned())),
            RootCert::None => {}
        }
        if let Some(pw) = &self.password {
            v.push(("PGPASSWORD".to_owned(), pw.clone()));
        }
        if let Some(t) = self.connect_timeout {
            v.push(("PGCONNECT_TIMEOUT".to_owned(), t.as_secs().to_string()));
        }
        v
    }

    /// True when every host is a Unix-socket directory.
    pub fn is_local_socket(&self) -> bool {
        self.hosts.iter().all(|h| h.starts_with('/'))
    }
}

/// libpq's default host: Debian's socket directory when it exists, else
/// `/tmp` (the upstream default), else localhost.
fn default_host() -> String {
    for dir in ["/var/run/postgresql", "/tmp"] {
        if Path::new(dir).is_dir() {
            return dir.to_owned();
        }
    }
    "localhost".to_owned()
}

/// The host, hostaddr and port lists (libpq's comma-separated forms).
type Endpoints = (Vec<String>, Vec<Option<IpAddr>>, Vec<u16>);

fn endpoints(p: &Params) -> Result<Endpoints> {
    let hosts: Vec<String> = match p.get("host") {
        Some(h) => h.split(',').map(str::to_owned).collect(),
        None => vec![default_host()],
    };
    let hostaddrs = match p.get("hostaddr") {
        Some(a) => a
            .split(',')
            .map(|s| {
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse()
                        .map(Some)
                        .map_err(|_| Error::config(format!("invalid hostaddr {s:?}")))
                }
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let ports = match p.get("port") {
        Some(s) => s
            .split(',')
            .map(|x| {
                if x.is_empty() {
                    Ok(5432)
                } else {
                    x.parse::<u16>()
                        .map_err(|_| Error::config(format!("invalid port {x:?}")))
                }
            })
            .collect::<Result<Vec<_>>>()?,
        None => vec![5432],
    };
    if ports.len() != 1 && ports.len() != hosts.len() {
        return Err(Error::config(format!(
            "could not match {} port numbers to {} hosts",
            ports.len(),
            hosts.len()
        )));
    }
    Ok((hosts, hostaddrs, ports))
}

/// The TLS settings a target resolves to.
struct TlsFiles {
    sslmode: SslMode,
    sslrootcert: RootCert,
    sslcert: Option<PathBuf>,
    sslkey: Option<PathBuf>,
}

impl TlsFiles {
    /// sslmode and the certificate files, with libpq's defaults under
    /// `~/.postgresql/` and its rules for `sslrootcert=system`.
    fn from_params(p: &Params, home: Option<&Path>) -> Result<TlsFiles> {
        let sslmode = match p.get("sslmode") {
            Some(m) => SslMode::parse(m)?,
            None if p.get("requiressl").is_some_and(|v| v == "1") => SslMode::Require,
            None => SslMode::Prefer,
        };
        let sslrootcert = match p.get("sslrootcert").map(String::as_str) {
            Some("system") => RootCert::System,
            Some(path) => RootCert::File(PathBuf::from(path)),
            None => match home {
                Some(h) if h.join(".postgresql/root.crt").exists() => RootCert::File(h.join(".postgresql/root.crt")),
                _ => RootCert::None,
            },
        };
        // sslrootcert=system implies verify-full (PostgreSQL 16), so a weaker
        // mode with the system store is refused as libpq does.
        if sslrootcert == RootCert::System && !matches!(sslmode, SslMode::VerifyFull) && p.contains_key("sslmode") {
            return Err(Error::config(format!(
                "weak sslmode {:?} may not be used with sslrootcert=system (use verify-full)",
                sslmode.as_str()
            )));
        }
        let sslmode = if sslrootcert == RootCert::System {
            SslMode::VerifyFull
        } else {
            sslmode
        };
        if matches!(sslmode, SslMode::VerifyCa | SslMode::VerifyFull) && sslrootcert == RootCert::None {
            return Err(Error::config(format!(
                "sslmode={} needs a root certificate: set sslrootcert (or PGSSLROOTCERT), or sslrootcert=system",
                sslmode.as_str()
            )));
        }
        let default_client = |name: &str| {
            home.as_ref()
                .map(|h| h.join(".postgresql").join(name))
                .filter(|p| p.exists())
        };
        let sslcert = p
            .get("sslcert")
            .map(PathBuf::from)
            .or_else(|| default_client("postgresql.crt"));
        let sslkey = p
            .get("sslkey")
            .map(PathBuf::from)
            .or_else(|| default_client("postgresql.key"));
        Ok(TlsFiles {
            sslmode,
            sslrootcert,
            sslcert,
            sslkey,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::fixed(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    #[test]
    fn order_db_then_envfile_then_database_url_then_pg_vars() {
        let d = tempfile::tempdir().unwrap();
        let ef = d.path().join("app.env");
        std::fs::write(&ef, "DATABASE_URL=postgresql://fromfile@h1/db1\n").unwrap();
        let e = env(&[
            ("DATABASE_URL", "postgresql://fromenv@h2/db2"),
            ("PGUSER", "pguser"),
            ("PGHOST", "h3"),
        ]);
        let t = Target::resolve(Some("host=h0 user=flag dbname=d0"), Some(&ef), &e).unwrap();
        assert_eq!(
            (t.user.as_str(), t.hosts[0].as_str(), t.source.as_str()),
            ("flag", "h0", "--db")
        );
        let t = Target::resolve(None, Some(&ef), &e).unwrap();
        assert_eq!((t.user.as_str(), t.hosts[0].as_str()), ("fromfile", "h1"));
        let t = Target::resolve(None, None, &e).unwrap();
        assert_eq!((t.user.as_str(), t.hosts[0].as_str()), ("fromenv", "h2"));
        let e = env(&[
            ("PGUSER", "pguser"),
            ("PGHOST", "h3"),
            ("PGPORT", "6000"),
            ("PGDATABASE", "x"),
        ]);
        let t = Target::resolve(None, None, &e).unwrap();
        assert_eq!(
            (t.user.as_str(), t.hosts[0].as_str(), t.ports[0], t.dbname.as_str()),
            ("pguser", "h3", 6000, "x")
        );
    }

    #[test]
    fn pg_vars_fill_gaps_and_pgpass_is_used() {
        let d = tempfile::tempdir().unwrap();
        let pf = d.path().join("pgpass");
        std::fs::write(&pf, "h:5432:db:u:frompass\n").unwrap();
        std::fs::set_permissions(&pf, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let e = env(&[("PGPASSFILE", pf.to_str().unwrap()), ("PGSSLMODE", "require")]);
        let t = Target::resolve(Some("postgresql://u@h/db"), None, &e).unwrap();
        assert_eq!(t.password(), Some("frompass"));
        assert_eq!(t.sslmode, SslMode::Require);
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let t = Target::resolve(Some("postgresql://u:topsecretpw@h:5/db"), None, &env(&[])).unwrap();
        assert_eq!(t.to_string(), "u@h:5/db");
        assert!(!format!("{t:?}").contains("topsecretpw"));
        assert!(!t.to_url(false).contains("topsecretpw"));
        assert!(t.to_url(true).contains("topsecretpw"));
        let back = Target::resolve(Some(&t.to_url(true)), None, &env(&[])).unwrap();
        assert_eq!(back.password(), Some("topsecretpw"));
    }

    #[test]
    fn verify_modes_need_a_root_cert() {
        let e = Target::resolve(Some("host=h user=u sslmode=verify-full"), None, &env(&[])).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Config);
        let t = Target::resolve(Some("host=h user=u sslrootcert=system"), None, &env(&[])).unwrap();
        assert_eq!(t.sslmode, SslMode::VerifyFull);
        assert!(
            Target::resolve(
                Some("host=h user=u sslmode=require sslrootcert=system"),
                None,
                &env(&[])
            )
            .is_err()
        );
    }

    #[test]
    fn socket_targets_roundtrip_through_url() {
        let t = Target::resolve(Some("host=/tmp/x port=5999 user=u dbname=d"), None, &env(&[])).unwrap();
        let back = Target::resolve(Some(&t.to_url(false)), None, &env(&[])).unwrap();
        assert_eq!(back.hosts, vec!["/tmp/x".to_owned()]);
        assert_eq!(back.ports, vec![5999]);
        assert_eq!(back.dbname, "d");
    }
}
