//! The primary side of `replica`: finding the primary from `--of`, the
//! replication role and slot on a primary `local` made, and dropping the
//! slot again when the standby is destroyed.

use std::path::{Path, PathBuf};

use sw_core::cluster::{Cluster, Runner, Status};
use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::pg::quote_literal;
use sw_core::{Error, Result};

use super::{REPL_FILE, REPLICA_FILE, ReplicaState};
use crate::local::record::{Action, Change};
use crate::local::site::{STATE_FILE, read_json, read_state};
use crate::psql;

/// The replication role sw-provision creates on its own primaries.
const REPL_ROLE: &str = "sw_replicator";

/// Where the primary is and how to reach it.
pub(crate) struct Primary {
    pub params: sw_core::conninfo::Params,
    /// The directory of a primary `sw-provision local` made.
    pub dir: Option<PathBuf>,
    /// The env file `--of` named, if it named one.
    pub env_file: Option<PathBuf>,
}

impl Primary {
    /// A connection parameter, or "" when unset.
    pub fn param(&self, k: &str) -> &str {
        self.params.get(k).map_or("", String::as_str)
    }

    /// The primary's port (libpq's default when unset).
    pub fn port(&self) -> &str {
        match self.param("port") {
            "" => "5432",
            p => p,
        }
    }
}

/// The primary `--of` names: an env file with a DATABASE_URL, or a URL.
///
/// # Errors
/// 78 when the env file has no DATABASE_URL or the URL does not parse.
pub(crate) fn find(of: &str) -> Result<Primary> {
    let as_path = Path::new(of);
    let (url, env_file) = if as_path.is_file() {
        let env = EnvFile::read(as_path)?;
        let url = env
            .get("DATABASE_URL")
            .ok_or_else(|| Error::config(format!("{} has no DATABASE_URL", q(as_path))))?
            .to_owned();
        (url, Some(crate::local::absolute(as_path)?))
    } else {
        (of.to_owned(), None)
    };
    let params = sw_core::conninfo::parse(&url).map_err(|e| e.context("--of"))?;
    if let Some(pw) = params.get("password") {
        sw_core::secret::register(pw);
    }
    let dir = params
        .get("sslrootcert")
        .and_then(|ca| Path::new(ca).parent().map(Path::to_path_buf))
        .filter(|d| d.join(STATE_FILE).is_file());
    Ok(Primary { params, dir, env_file })
}

/// Replication role + slot on a primary we made; returns (user, password).
pub(crate) fn prepare(runner: &Runner, pdir: &Path, slot: &str, changes: &mut Vec<Change>) -> Result<(String, String)> {
    let state = read_state(pdir)?.ok_or_else(|| Error::data(format!("{} is not a sw-provision directory", q(pdir))))?;
    let sock = pdir.join("sock");
    let sql = |s: &str| psql::run(runner, &sock, state.port, "postgres", s);
    let file = pdir.join(REPL_FILE);
    let mut env = EnvFile::read_or_default(&file)?;
    let exists = sql(&format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = {}",
        quote_literal(REPL_ROLE)
    ))? == "1";
    let pw = match (exists, env.get("REPLICATION_PASSWORD").map(str::to_owned)) {
        (true, Some(pw)) => pw,
        (_, known) => {
            let pw = match known {
                Some(p) => p,
                None => sw_core::secret::generate_password()?,
            };
            let verb = if exists { "ALTER" } else { "CREATE" };
            sql(&format!(
                "SET log_statement = 'none'; SET log_min_error_statement = 'panic';\n{verb} ROLE {REPL_ROLE} LOGIN REPLICATION PASSWORD {}",
                quote_literal(&pw)
            ))?;
            env.set("REPLICATION_USER", REPL_ROLE);
            env.set("REPLICATION_PASSWORD", &pw);
            env.write(&file)?;
            changes.push(Change::new(Action::CreateReplicationRole, REPL_ROLE));
            pw
        }
    };
    sw_core::secret::register(&pw);
    let have_slot = sql(&format!(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = {}",
        quote_literal(slot)
    ))? == "1";
    if !have_slot {
        sql(&format!(
            "SELECT pg_create_physical_replication_slot({})",
            quote_literal(slot)
        ))?;
        changes.push(Change::new(Action::CreateSlot, slot));
    }
    Ok((REPL_ROLE.to_owned(), pw))
}

/// Called by `destroy`: drop this standby's slot on its primary (if that
/// is ours and running), so the primary stops keeping WAL for it.
pub fn drop_slot_of(dir: &Path, runner: &Runner) -> Result<Option<String>> {
    let p = dir.join(REPLICA_FILE);
    let Some(st) = read_json::<ReplicaState>(&p, "a standby's state file")? else {
        return Ok(None);
    };
    let Some(pdir) = st.primary_dir else { return Ok(None) };
    let Some(state) = read_state(&pdir)? else {
        return Ok(None);
    };
    let pc = Cluster::new(&pdir.join("data"), runner.clone())?;
    if !matches!(pc.status()?, Status::Running(_)) {
        log::warn!(
            "the primary in {} is not running: drop slot {} there yourself",
            q(&pdir),
            st.slot
        );
        return Ok(None);
    }
    psql::run(
        runner,
        &pdir.join("sock"),
        state.port,
        "postgres",
        &format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {} AND NOT active",
            quote_literal(&st.slot)
        ),
    )?;
    let _ = std::fs::remove_file(&p);
    Ok(Some(st.slot))
}
