//! SQL as the cluster's superuser: psql over the Unix socket, run as the
//! server's OS user (peer authentication), with the statements on stdin so
//! no secret ever appears on a command line.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

use sw_core::cluster::Runner;
use sw_core::{Error, Result};

/// The bootstrap superuser of clusters we create.
pub const SUPERUSER: &str = "postgres";

/// Run `sql` in `db`; returns psql's unaligned tuples-only output.
pub fn run(runner: &Runner, sock: &Path, port: u16, db: &str, sql: &str) -> Result<String> {
    let mut c = runner.command("psql");
    c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(sock)
        .args(["-p", &port.to_string(), "-U", SUPERUSER, "-d", db, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .map_err(|e| Error::unavailable("running psql").with_source(e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(sql.as_bytes())
            .map_err(|e| Error::io("writing SQL to psql").with_source(e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::unavailable("waiting for psql").with_source(e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let msg = format!("psql: {}", sw_core::secret::redact(line));
        // Not reaching the server is "unavailable" (69), not a bug of ours.
        if err.contains("connection to server") || err.contains("could not connect") {
            Err(Error::unavailable(msg))
        } else {
            Err(Error::software(msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_server_is_unavailable_not_internal() {
        let env = sw_core::config::Env::process();
        let runner = Runner::new(
            sw_core::cluster::Bindir::find(None, &env).unwrap(),
            sw_core::cluster::DEFAULT_OS_USER,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let e = run(&runner, dir.path(), 1, "postgres", "SELECT 1").unwrap_err();
        assert_eq!(e.exit(), sw_core::Exit::Unavailable, "{e}");
    }
}
