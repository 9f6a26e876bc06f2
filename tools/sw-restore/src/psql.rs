//! SQL on a restored copy: psql over the copy's Unix socket, as its
//! superuser and run as the server's OS user (peer authentication), so no
//! password is needed and none can leak. Used to follow recovery, to
//! promote, and by drills to check the copy.

use std::path::Path;
use std::process::Stdio;

use sw_core::Result;
use sw_core::cluster::Cluster;

/// A started copy, reachable over its socket.
pub struct Restored<'a> {
    pub cluster: &'a Cluster,
    pub socket_dir: &'a Path,
    pub port: u16,
    /// The database superuser (`--superuser`).
    pub user: &'a str,
}

impl Restored<'_> {
    /// Run `sql` in database `db`; psql's unaligned, tuples-only output.
    ///
    /// # Errors
    /// 69 when psql cannot run, 70 when the SQL fails or the copy does not answer.
    pub fn query(&self, db: &str, sql: &str) -> Result<String> {
        let mut c = self.cluster.runner.command("psql");
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", self.user, "-d", db, "-c", sql])
            .stdin(Stdio::null());
        let o = sw_core::cluster::run_checked(&mut c, "psql")?;
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
    }
}
