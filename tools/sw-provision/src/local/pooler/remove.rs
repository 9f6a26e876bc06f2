//! `--pooler none`: take a directory's pooler away, each part only when it
//! is there (so a second run changes nothing): stop it and delete its
//! directory, drop the lookup role and its function, and take
//! DATABASE_URL_POOLED out of the env file.

use std::time::Duration;

use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::pg::quote_literal;
use sw_core::{IoContext, Result};

use super::super::converge::Ctx;
use super::super::record::Action;
use super::{Layout, stop};
use crate::pooler::LOOKUP_ROLE;

/// Remove what there is of the pooler. `running`: whether the server
/// ran before this run (a dry run cannot read a catalog otherwise).
pub(crate) fn remove(cx: &mut Ctx<'_>, running: bool) -> Result<()> {
    let l = Layout::under(&cx.dir);
    if l.dir.exists() {
        cx.note(Action::RemovePooler, q(&l.dir));
        if !cx.dry {
            stop(&l.pidfile, Duration::from_secs(60))?;
            std::fs::remove_dir_all(&l.dir).io_context(|| format!("removing {}", q(&l.dir)))?;
        }
    }
    if !cx.dry || running {
        drop_lookup(cx)?;
    }
    let env_file =
        cx.a.env_file
            .clone()
            .unwrap_or_else(|| cx.dir.join(super::super::site::ENV_FILE));
    let mut env = EnvFile::read_or_default(&env_file)?;
    if env.get("DATABASE_URL_POOLED").is_some() {
        cx.note(Action::RemovePooledUrl, env_file.display().to_string());
        if !cx.dry {
            env.remove("DATABASE_URL_POOLED");
            env.write(&env_file)?;
        }
    }
    Ok(())
}

/// The lookup role, its grants and the function, when the role exists.
fn drop_lookup(cx: &mut Ctx<'_>) -> Result<()> {
    let n = cx.sql(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = {}",
            quote_literal(LOOKUP_ROLE)
        ),
    )?;
    if n != "1" {
        return Ok(());
    }
    cx.note(Action::DropLookupRole, format!("{LOOKUP_ROLE} and pgbouncer.get_auth"));
    if !cx.dry {
        let db = cx.a.database.clone();
        // DROP OWNED also revokes its CONNECT on the database.
        cx.sql(
            &db,
            &format!("DROP SCHEMA IF EXISTS pgbouncer CASCADE; DROP OWNED BY {LOOKUP_ROLE};"),
        )?;
        cx.sql("postgres", &format!("DROP ROLE {LOOKUP_ROLE}"))?;
    }
    Ok(())
}
