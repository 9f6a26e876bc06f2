//! Throwaway PostgreSQL clusters for tests.
//!
//! Each cluster lives in its own temp directory (data, socket, log), listens
//! on a free 127.0.0.1 port and on a socket in that directory, and is
//! cleaned up three ways: `Drop` (also on panic), and a reaper process that
//! waits for the test process to disappear (it holds the read end of a pipe
//! whose write end only the test process has), so even a killed test run or
//! the shared per-binary cluster (a static, never dropped) leaves nothing
//! behind.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use sw_core::cluster::{Bindir, Cluster, InitdbOpts, Runner, StopMode};
use sw_core::config::Env;

use crate::tls::{self, Certs};

/// How a test cluster is set up.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// Serve TLS only: `ssl=on` and `hostssl`-only access from loopback.
    pub tls: bool,
    /// Extra postgresql.conf settings.
    pub settings: Vec<(String, String)>,
    /// Keep fsync on (backup/restore durability tests); off by default for speed.
    pub fsync: bool,
    /// Names the TLS server certificate is for (default: `localhost`), e.g.
    /// a cloud server's host name when the cluster stands in for it.
    pub cert_names: Vec<String>,
}

/// A running throwaway cluster.
pub struct TestCluster {
    /// The temp directory holding everything.
    pub dir: PathBuf,
    pub cluster: Cluster,
    pub port: u16,
    pub socket_dir: PathBuf,
    pub log: PathBuf,
    /// The superuser's password (for TCP connections).
    pub password: String,
    pub certs: Option<Certs>,
    reaper: Mutex<Option<ChildStdin>>,
    db_counter: AtomicU32,
}

/// The superuser of every test cluster.
pub const SUPERUSER: &str = "postgres";

/// The OS user server programs run as when tests run as root.
pub fn os_user() -> String {
    Env::process()
        .get("SW_TEST_OS_USER")
        .unwrap_or_else(|| sw_core::cluster::DEFAULT_OS_USER.to_owned())
}

/// The server programs; panics naming the install command when missing.
pub fn bindir() -> Bindir {
    let env = Env::process();
    let explicit = env.get("SW_TEST_PG_BINDIR").map(PathBuf::from);
    match Bindir::find(explicit.as_deref(), &env) {
        Ok(b) => b,
        Err(e) => panic!(
            "PostgreSQL server programs are required by this test and were not found: {e}. \
             Install them (as root: `{}`) or run scripts/test, which does.",
            sw_core::cluster::INSTALL_HINT
        ),
    }
}

/// A runner for the server programs as the right OS user.
pub fn runner() -> Runner {
    Runner::new(bindir(), &os_user()).unwrap_or_else(|e| panic!("{e}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The cluster shared by all tests of this test binary.
pub fn shared() -> &'static TestCluster {
    static SHARED: OnceLock<TestCluster> = OnceLock::new();
    SHARED.get_or_init(|| TestCluster::start_with(&Opts::default()))
}

impl TestCluster {
    /// A dedicated plain cluster.
    pub fn start() -> TestCluster {
        TestCluster::start_with(&Opts::default())
    }

    /// A dedicated TLS-only cluster (certificate for `localhost`).
    pub fn start_tls() -> TestCluster {
        TestCluster::start_with(&Opts {
            tls: true,
            ..Opts::default()
        })
    }

    /// A dedicated TLS-only cluster whose certificate names `names` (DNS
    /// names, `*.` wildcards, or addresses), e.g. a host an Azure server
    /// would have, for tests that connect through a host override.
    pub fn start_tls_for(names: &[&str]) -> TestCluster {
        let opts = Opts {
            tls: true,
            ..Opts::default()
        };
        TestCluster::start_named(&opts, names)
    }

    /// A dedicated cluster with options.
    pub fn start_with(opts: &Opts) -> TestCluster {
        TestCluster::start_named(opts, &["localhost"])
    }

    fn start_named(opts: &Opts, names: &[&str]) -> TestCluster {
        let runner = runner();
        let dir = tempfile::Builder::new().prefix("sw-test-pg.").tempdir().unwrap().keep();
        let data = dir.join("data");
        let socket_dir = dir.join("sock");
        std::fs::create_dir_all(&socket_dir).unwrap();
        let log = dir.join("server.log");
        let password = sw_core::secret::generate_password().unwrap();
        let cluster = Cluster::new(&data, runner.clone()).unwrap();
        // Hand the directory over before anything runs as the server user.
        runner.hand_over(&dir).unwrap();
        let reaper = spawn_reaper(&runner, &dir, &data);
        let mut tc = TestCluster {
            dir: dir.clone(),
            cluster,
            port: 0,
            socket_dir,
            log,
            password,
            certs: None,
            reaper: Mutex::new(reaper),
            db_counter: AtomicU32::new(0),
        };
        let init = InitdbOpts {
            superuser: SUPERUSER.into(),
            password: Some(tc.password.clone()),
            auth_local: "trust".into(),
            auth_host: "scram-sha-256".into(),
            data_checksums: true,
            locale: "C".into(),
            ..InitdbOpts::default()
        };
        tc.cluster
            .initdb(&init)
            .unwrap_or_else(|e| panic!("initdb for a test cluster: {e}"));
        if opts.tls {
            // Names given in the options win over the caller's default.
            let names: Vec<&str> = if opts.cert_names.is_empty() {
                names.to_vec()
            } else {
                opts.cert_names.iter().map(String::as_str).collect()
            };
            let certs = tls::make(&dir.join("tls"), &names);
            runner.hand_over(&dir.join("tls")).unwrap();
            let hba = "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n";
            let hba_path = data.join("pg_hba.conf");
            std::fs::write(&hba_path, hba).unwrap();
            runner.hand_over(&hba_path).unwrap();
            tc.certs = Some(certs);
        }
        let mut last_err = String::new();
        for _ in 0..5 {
            tc.port = free_port();
            tc.write_settings(opts);
            match tc.cluster.start(&tc.log, 60) {
                Ok(()) => return tc,
                Err(e) => last_err = e.to_string(),
            }
        }
        panic!("starting a test cluster failed 5 times: {last_err}");
    }

    fn write_settings(&self, opts: &Opts) {
        let mut s: Vec<(String, String)> = vec![
            ("port".into(), self.port.to_string()),
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("unix_socket_directories".into(), self.socket_dir.display().to_string()),
            ("fsync".into(), if opts.fsync { "on" } else { "off" }.into()),
            ("full_page_writes".into(), if opts.fsync { "on" } else { "off" }.into()),
            (
                "synchronous_commit".into(),
                if opts.fsync { "on" } else { "off" }.into(),
            ),
            ("max_connections".into(), "60".into()),
            ("shared_buffers".into(), "32MB".into()),
            ("log_min_messages".into(), "warning".into()),
        ];
        if let Some(c) = &self.certs {
            s.push(("ssl".into(), "on".into()));
            s.push(("ssl_cert_file".into(), c.server_cert.display().to_string()));
            s.push(("ssl_key_file".into(), c.server_key.display().to_string()));
        }
        s.extend(opts.settings.iter().cloned());
        self.cluster.write_settings(&s).unwrap();
    }

    /// A URI for `db` over TCP with the superuser's password (sslmode=disable
    /// unless the cluster is TLS-only, then verify-full against its CA).
    pub fn url(&self, db: &str) -> String {
        match &self.certs {
            Some(c) => format!(
                "postgresql://{SUPERUSER}:{}@localhost:{}/{db}?sslmode=verify-full&sslrootcert={}",
                self.password,
                self.port,
                c.ca_cert.display()
            ),
            None => format!(
                "postgresql://{SUPERUSER}:{}@127.0.0.1:{}/{db}?sslmode=disable",
                self.password, self.port
            ),
        }
    }

    /// key=value conninfo over the Unix socket (trust auth, no password).
    pub fn socket_conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={db}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// Create a fresh database for one test; returns its name.
    pub fn fresh_db(&self, hint: &str) -> String {
        let n = self.db_counter.fetch_add(1, Ordering::SeqCst);
        let clean: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let name = format!("t_{clean}_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// Run SQL with psql over the socket as the superuser; returns the
    /// unaligned, tuples-only output. Panics on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        match self.try_psql(db, sql) {
            Ok(s) => s,
            Err(e) => panic!("psql failed on {db}: {e}\nSQL: {sql}"),
        }
    }

    /// Run SQL with psql; Err carries psql's stderr.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let mut c = self.cluster.runner.command("psql");
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", SUPERUSER, "-d", db, "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().map_err(|e| e.to_string())?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Stop (fast) without deleting.
    pub fn stop(&self) {
        self.cluster.stop(StopMode::Fast).unwrap();
    }

    /// Start again after [`TestCluster::stop`].
    pub fn restart(&self) {
        self.cluster.start(&self.log, 60).unwrap();
    }

    /// The data directory.
    pub fn datadir(&self) -> &Path {
        &self.cluster.datadir
    }

    /// The runner (server programs as the right OS user).
    pub fn runner(&self) -> &Runner {
        &self.cluster.runner
    }

    /// A streaming standby of this cluster (`pg_basebackup -R -X stream`)
    /// in `<dir>/standby`, on its own free loopback port and socket, with
    /// `settings` added to its configuration (a hot standby needs e.g.
    /// `max_prepared_transactions` at least the primary's). Stopped and
    /// deleted on drop, or by its reaper when the test process is killed.
    pub fn start_standby(&self, settings: &[(&str, &str)]) -> Standby {
        let runner = self.runner().clone();
        let dir = self.dir.join("standby");
        let data = dir.join("data");
        let socket_dir = dir.join("sock");
        std::fs::create_dir_all(&socket_dir).unwrap();
        runner.hand_over(&dir).unwrap();
        let reaper = spawn_reaper(&runner, &dir, &data);
        let out = runner
            .run(
                "pg_basebackup",
                [
                    "-D",
                    data.to_str().unwrap(),
                    "-h",
                    self.socket_dir.to_str().unwrap(),
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    SUPERUSER,
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ],
            )
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let cluster = Cluster::new(&data, runner).unwrap();
        let port = free_port();
        let mut s: Vec<(String, String)> = vec![
            ("port".into(), port.to_string()),
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("unix_socket_directories".into(), socket_dir.display().to_string()),
            ("fsync".into(), "off".into()),
        ];
        s.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        cluster.write_settings(&s).unwrap();
        cluster.start(&dir.join("server.log"), 60).unwrap();
        Standby {
            dir,
            cluster,
            port,
            socket_dir,
            reaper: Mutex::new(reaper),
        }
    }
}

/// A streaming standby made by [`TestCluster::start_standby`].
pub struct Standby {
    /// The directory holding its data, socket and log.
    pub dir: PathBuf,
    pub cluster: Cluster,
    pub port: u16,
    pub socket_dir: PathBuf,
    reaper: Mutex<Option<ChildStdin>>,
}

impl Standby {
    /// Run SQL with `psql -c` over the socket as the superuser on database
    /// postgres; returns the trimmed unaligned, tuples-only output. Panics on failure.
    pub fn psql(&self, sql: &str) -> String {
        let out = self
            .cluster
            .runner
            .command("psql")
            .args(["-X", "-q", "-A", "-t", "-h"])
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Poll `sql` until it returns `t` (panics after 30 seconds).
    pub fn wait_until(&self, sql: &str) {
        let start = std::time::Instant::now();
        while self.psql(sql) != "t" {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "standby: waited in vain for {sql}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = self.cluster.stop(StopMode::Immediate);
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Ok(mut r) = self.reaper.lock() {
            r.take();
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop(StopMode::Immediate);
        let _ = std::fs::remove_dir_all(&self.dir);
        // Closing the pipe lets the reaper exit (nothing left to do).
        if let Ok(mut r) = self.reaper.lock() {
            r.take();
        }
    }
}

/// Start a process that cleans up when the test process is gone: it blocks
/// reading a pipe only we hold open; at EOF it stops the server and removes
/// the directory.
fn spawn_reaper(runner: &Runner, dir: &Path, data: &Path) -> Option<ChildStdin> {
    let script = r#"cat >/dev/null; "$1" stop -D "$2" -m immediate -w >/dev/null 2>&1; rm -rf "$3""#;
    let mut c = Command::new("/bin/sh");
    runner.prepare(&mut c);
    c.arg("-c")
        .arg(script)
        .arg("sw-test-reaper")
        .arg(runner.bindir.prog("pg_ctl"))
        .arg(data)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match c.spawn() {
        Ok(mut child) => child.stdin.take(),
        Err(e) => {
            eprintln!("sw-testkit: warning: no reaper for {}: {e}", dir.display());
            None
        }
    }
}
