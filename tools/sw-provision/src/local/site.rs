//! The provision directory: the names of what lives in it, its state file
//! (`sw-provision.json`: what `local` provisioned, read back by `status`,
//! `destroy` and `replica`), and making directories the server's OS user
//! can reach.

use std::path::{Path, PathBuf};
use std::process::Command;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::cluster::Runner;
use sw_core::contract::Record;
use sw_core::fsutil::{self, q};
use sw_core::{Error, IoContext, Result};

/// The state file under the directory.
pub(crate) const STATE_FILE: &str = "sw-provision.json";
/// The flock that keeps two runs off one directory.
pub(crate) const LOCK_FILE: &str = ".sw-provision.lock";
/// The env file under the directory when --env-file is not given.
pub(crate) const ENV_FILE: &str = "app.env";

/// What `local` provisioned, kept in DIR/sw-provision.json (written only
/// when it changes; older files without `kind` and `schema` read the same).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct State {
    /// The server's TCP port.
    pub port: u16,
    /// The host name in the connection strings.
    pub host: String,
    /// The application database.
    pub database: String,
    /// The application role.
    pub role: String,
    /// The env file holding the connection strings.
    pub env_file: PathBuf,
    /// The CA certificate for clients.
    pub ca_cert: PathBuf,
    /// The pooler's TCP port, or null without one (absent in older files).
    #[serde(default)]
    pub pooler_port: Option<u16>,
}

impl Record for State {
    const KIND: &'static str = "provision.state";
}

/// Read DIR/sw-provision.json (None when there is none).
///
/// # Errors
/// 65 when it is not a state file; 74 when it cannot be read.
pub fn read_state(dir: &Path) -> Result<Option<State>> {
    read_json(&dir.join(STATE_FILE), "a sw-provision state file")
}

/// Write DIR/sw-provision.json when it differs from `state`.
pub fn write_state(dir: &Path, state: &State) -> Result<()> {
    if read_state(dir)?.as_ref() == Some(state) {
        return Ok(());
    }
    write_json(&dir.join(STATE_FILE), state)
}

/// Read a JSON state file (None when absent).
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(p: &Path, what: &str) -> Result<Option<T>> {
    match std::fs::read(p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::data(format!("{} is not {what}", q(p))).with_source(e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", q(p))).with_source(e)),
    }
}

/// Write a state record as pretty JSON (0644, atomically).
pub(crate) fn write_json<R: Record>(p: &Path, record: &R) -> Result<()> {
    let mut body = sw_core::output::render(record, true)?;
    body.push('\n');
    fsutil::atomic_write(p, body.as_bytes(), 0o644)
}

/// Whether the server's OS user can enter `dir` (a private parent
/// directory, such as a home directory, stops it).
pub(crate) fn user_can_reach(runner: &Runner, dir: &Path) -> bool {
    if runner.user.is_none() {
        return true;
    }
    let mut c = Command::new("test");
    c.arg("-x").arg(dir);
    runner.prepare(&mut c);
    c.output().map(|o| o.status.success()).unwrap_or(false)
}

/// The error when it cannot (77).
pub(crate) fn unreachable(os_user: &str, dir: &Path) -> Error {
    Error::no_perm(format!(
        "the server's OS user {os_user:?} cannot reach {} (a parent directory is private); use a world-traversable location such as /srv or /var/lib",
        q(dir)
    ))
}

/// Create `path` (and its parents) and set its mode.
pub(crate) fn mkdir(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).io_context(|| format!("creating {}", q(path)))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .io_context(|| format!("setting permissions on {}", q(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_round_trip_with_and_without_the_envelope() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_state(d.path()).unwrap(), None);
        let st = State {
            port: 5432,
            host: "localhost".into(),
            database: "app".into(),
            role: "app".into(),
            env_file: d.path().join("app.env"),
            ca_cert: d.path().join("ca.crt"),
            pooler_port: None,
        };
        write_state(d.path(), &st).unwrap();
        let text = std::fs::read_to_string(d.path().join(STATE_FILE)).unwrap();
        assert!(text.contains("\"kind\": \"provision.state\""), "{text}");
        assert_eq!(read_state(d.path()).unwrap().as_ref(), Some(&st));
        // As written before the record contract: no kind, no schema.
        let old = serde_json::to_vec_pretty(&st).unwrap();
        std::fs::write(d.path().join(STATE_FILE), old).unwrap();
        assert_eq!(read_state(d.path()).unwrap(), Some(st));
        std::fs::write(d.path().join(STATE_FILE), "nope").unwrap();
        assert_eq!(read_state(d.path()).unwrap_err().exit(), sw_core::Exit::DataErr);
    }
}
