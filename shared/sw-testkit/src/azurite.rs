//! Azurite (the Azure Storage emulator's blob service, `azurite-blob`) for
//! tests of the Blob client and the off-site repository.
//!
//! Each instance listens on a free 127.0.0.1 port over HTTPS with a
//! certificate from the test kit's CA ([`crate::tls`]; real Azure is HTTPS
//! only, so the client's TLS path is always tested), keeps its data in a
//! temp directory, and accepts Shared Key, SAS and (with `--oauth basic`)
//! bearer tokens. One instance is shared per test binary ([`shared`]);
//! [`Azurite::start`] makes a dedicated one, which a test may
//! [`Azurite::stop`] and [`Azurite::restart`] ("off-site down"). As with
//! the PostgreSQL clusters in [`crate::pg`], a reaper process kills the
//! emulator and removes its directory once the test process is gone, even
//! when it was killed. A missing Azurite fails the test with the install
//! command, never skips it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sw_core::config::Env;

use crate::tls::{self, Certs};

/// The pinned Azurite release: the newest that declares support for the
/// Node.js 18 of Debian 12 (3.36 wants Node 21, 3.37 Node 22).
pub const AZURITE_VERSION: &str = "3.35.0";
/// Azurite's built-in account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's built-in account key (public, documented by Microsoft).
pub const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An unsigned JWT of the shape Azurite's `--oauth basic` accepts (an
/// Entra ID token for Blob Storage: its audience, an Entra issuer, valid
/// for the next hour).
pub fn fake_token() -> String {
    let b64url = |s: &str| {
        openssl::base64::encode_block(s.as_bytes())
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = format!(
        "{{\"aud\":\"https://storage.azure.com\",\"iss\":\"https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/\",\
         \"nbf\":{},\"exp\":{},\"iat\":{}}}",
        now - 60,
        now + 3600,
        now - 60
    );
    format!(
        "{}.{}.{}",
        b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}"),
        b64url(&claims),
        b64url("sig")
    )
}

/// How an instance runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opts {
    /// Keep blobs in memory (`--inMemoryPersistence`): much faster for
    /// tests that write thousands of blobs; the data is lost on stop.
    pub in_memory: bool,
    /// Accept bearer tokens (`--oauth basic`: checks the token's issuer,
    /// audience and times, not its signature). Azurite then answers a
    /// bad Shared Key with 400 InvalidAuthenticationInfo instead of 403
    /// AuthenticationFailed, so it is off unless a test needs it.
    pub oauth: bool,
}

/// A running emulator.
pub struct Azurite {
    /// Temp directory: data, certificates, log, pid file.
    pub dir: PathBuf,
    pub port: u16,
    /// The CA the client must trust, and the server's certificate.
    pub certs: Certs,
    program: PathBuf,
    opts: Opts,
    child: Mutex<Option<Child>>,
    reaper: Mutex<Option<ChildStdin>>,
}

/// The instance shared by all tests of this test binary.
pub fn shared() -> &'static Azurite {
    static SHARED: OnceLock<Azurite> = OnceLock::new();
    SHARED.get_or_init(|| {
        Azurite::start_with(Opts {
            in_memory: true,
            oauth: false,
        })
    })
}

/// The install command, for messages and scripts/test.
pub fn install_hint() -> String {
    format!("npm install -g azurite@{AZURITE_VERSION}")
}

/// `azurite-blob`: `SW_TEST_AZURITE`, else PATH, else npm's global bin
/// directory; panics with the install command when absent.
pub fn program() -> PathBuf {
    let env = Env::process();
    if let Some(p) = env.get("SW_TEST_AZURITE") {
        return PathBuf::from(p);
    }
    let mut dirs: Vec<PathBuf> = env
        .get("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(out) = Command::new("npm").args(["prefix", "-g"]).output()
        && out.status.success()
    {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("azurite-blob"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Azurite (azurite-blob) is required by this test and was not found in PATH or npm's global \
             prefix. Install it (`{}`; it needs Node.js 18 or later: `apt-get install nodejs npm`) or run \
             scripts/test, which does.",
                install_hint()
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Azurite {
    /// A dedicated instance keeping its data on disk (it survives
    /// [`Azurite::stop`]), started and answering.
    pub fn start() -> Azurite {
        Azurite::start_with(Opts::default())
    }

    /// A dedicated instance with options.
    pub fn start_with(opts: Opts) -> Azurite {
        let program = program();
        let dir = tempfile::Builder::new()
            .prefix("sw-test-azurite.")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let certs = tls::make(&dir.join("tls"), &["127.0.0.1", "localhost"]);
        let reaper = spawn_reaper(&dir);
        let mut a = Azurite {
            dir,
            port: 0,
            certs,
            program,
            opts,
            child: Mutex::new(None),
            reaper: Mutex::new(reaper),
        };
        let mut last = String::new();
        for _ in 0..5 {
            a.port = free_port();
            match a.spawn() {
                Ok(()) => return a,
                Err(e) => last = e,
            }
        }
        panic!("starting Azurite failed 5 times: {last}");
    }

    /// Start the process on `self.port` and wait until it accepts connections.
    fn spawn(&self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.program);
        cmd.arg("--blobHost")
            .arg("127.0.0.1")
            .arg("--blobPort")
            .arg(self.port.to_string())
            .arg("--cert")
            .arg(&self.certs.server_cert)
            .arg("--key")
            .arg(&self.certs.server_key)
            .args(["--disableTelemetry", "--silent"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if self.opts.oauth {
            cmd.args(["--oauth", "basic"]);
        }
        if self.opts.in_memory {
            // Azurite refuses --location with it.
            cmd.arg("--inMemoryPersistence");
        } else {
            cmd.arg("--location").arg(self.dir.join("data"));
        }
        if Env::process().get("SW_TEST_AZURITE_DEBUG").is_some() {
            cmd.arg("--debug").arg(self.dir.join("debug.log"));
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("running {}: {e}", self.program.display()))?;
        std::fs::write(self.dir.join("azurite.pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("Azurite exited with {status}: {}", self.log_tail()));
            }
            if TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_millis(200)).is_ok() {
                *self.child.lock().unwrap() = Some(child);
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("Azurite did not listen within 60 s: {}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Blob endpoint, path-style: `https://127.0.0.1:PORT/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// The CA certificate (PEM) a client must trust.
    pub fn ca_file(&self) -> &Path {
        &self.certs.ca_cert
    }

    /// Azurite's output.
    pub fn log(&self) -> PathBuf {
        self.dir.join("azurite.log")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join(" | ")
    }

    /// Stop the emulator (its data stays): the endpoint refuses
    /// connections. SIGTERM first, so Azurite saves its metadata (a killed
    /// one loses the last seconds of it), then SIGKILL after 10 s.
    pub fn stop(&self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        if let Some(mut c) = self.child.lock().unwrap().take() {
            if let Ok(pid) = i32::try_from(c.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let start = Instant::now();
            while matches!(c.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port with the same data.
    pub fn restart(&self) {
        self.stop();
        let start = Instant::now();
        while let Err(e) = self.spawn() {
            // The port may linger for a moment after the kill.
            assert!(start.elapsed() < Duration::from_secs(30), "restarting Azurite: {e}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Ok(mut r) = self.reaper.lock() {
            r.take();
        }
    }
}

/// A process that waits for the test process to go (EOF on a pipe only
/// it holds), then kills the emulator whose pid is in `DIR/azurite.pid`
/// and removes `DIR`.
fn spawn_reaper(dir: &Path) -> Option<ChildStdin> {
    let script = r#"cat >/dev/null; p=$(cat "$1/azurite.pid" 2>/dev/null); [ -n "$p" ] && kill "$p" 2>/dev/null; sleep 1; [ -n "$p" ] && kill -9 "$p" 2>/dev/null; rm -rf "$1""#;
    let spawned = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg("sw-azurite-reaper")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => child.stdin.take(),
        Err(e) => {
            eprintln!("sw-testkit: warning: no reaper for {}: {e}", dir.display());
            None
        }
    }
}
