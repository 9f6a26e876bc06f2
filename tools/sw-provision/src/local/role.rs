//! The application role, its database and the env file of a local
//! cluster: [`crate::approle`]'s steps, run as the cluster's superuser
//! through psql over the Unix socket.

use std::path::Path;

use sw_core::Result;
use sw_core::pg::quote_literal;

use super::args::{LocalArgs, SqlalchemyDriver};
use super::connstr::connection_vars;
use super::converge::Ctx;
use super::record::Action;
use crate::approle::{self, Admin, App, Step};
use crate::session;

/// The cluster's superuser, through psql.
struct Superuser<'a, 'b>(&'a Ctx<'b>);

impl Admin for Superuser<'_, '_> {
    fn sql(&self, db: &str, sql: &str) -> Result<String> {
        self.0.sql(db, sql)
    }

    /// The superuser reads the role's SCRAM verifier (no sign-in attempt,
    /// which pg_hba might not even allow from here).
    fn password_works(&self, role: &str, password: &str) -> Result<bool> {
        let stored = self.0.sql(
            "postgres",
            &format!(
                "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = {}",
                quote_literal(role)
            ),
        )?;
        Ok(approle::scram_matches(&stored, password))
    }

    fn superuser(&self) -> bool {
        true
    }
}

/// The record's action for a step.
fn action(s: Step) -> Action {
    match s {
        Step::CreateRole => Action::CreateRole,
        Step::RotatePassword => Action::RotatePassword,
        Step::SetPassword => Action::SetPassword,
        Step::WriteEnvFile => Action::WriteEnvFile,
        Step::ChmodEnvFile => Action::ChmodEnvFile,
        Step::CreateDatabase => Action::CreateDatabase,
        Step::AdoptDatabase => Action::AdoptDatabase,
    }
}

/// Role, database and env file as they should be. `running`: whether the
/// server ran before this run (a dry run cannot read a catalog otherwise).
pub(crate) fn ensure_app(cx: &mut Ctx<'_>, role: &str, env_file: &Path, running: bool) -> Result<()> {
    let a = cx.a;
    let app = App {
        role,
        database: &a.database,
        env_file,
        rotate: a.rotate_password,
        dry: cx.dry,
    };
    let ca = cx.tls.ca_cert.display().to_string();
    let pooled_port = cx.pooled_port;
    let vars = |pw: &str| {
        let mut v = connection_vars(&a.host, a.port, &a.database, role, pw, &ca);
        with_driver(&mut v, a.sqlalchemy_driver);
        if let Some(port) = pooled_port {
            // The same URL, to the pooler (its certificate is the server's).
            let pooled = connection_vars(&a.host, port, &a.database, role, pw, &ca);
            if let Some((_, url)) = pooled.into_iter().find(|(k, _)| k == "DATABASE_URL") {
                v.push(("DATABASE_URL_POOLED".into(), url));
            }
        }
        v
    };
    let mut notes = Vec::new();
    let mut note = |s: Step, detail: String| notes.push((s, detail));
    let result = if !cx.dry || running {
        approle::ensure(Some(&Superuser(cx)), &app, &vars, &mut note)
    } else {
        approle::ensure(None, &app, &vars, &mut note)
    };
    let created = notes.iter().any(|(s, _)| *s == Step::CreateRole);
    for (s, detail) in notes {
        cx.note(action(s), detail);
    }
    result?;
    ensure_session_defaults(cx, role, cx.dry && created)
}

/// The role's session defaults (see [`crate::session`]); `planned`: the
/// role does not exist yet (a dry run), so all of them are to be set.
fn ensure_session_defaults(cx: &mut Ctx<'_>, role: &str, planned: bool) -> Result<()> {
    let wanted = session_defaults(cx.a);
    let set = if planned {
        wanted
    } else {
        session::differing(&Superuser(cx), role, &wanted)?
    };
    if set.is_empty() {
        return Ok(());
    }
    cx.note(
        Action::SetSessionDefaults,
        format!("{role}: {}", session::describe(&set)),
    );
    if !cx.dry {
        session::apply(&Superuser(cx), role, &set)?;
    }
    Ok(())
}

/// DATABASE_URL_SQLALCHEMY with the driver's scheme.
fn with_driver(vars: &mut [(String, String)], driver: SqlalchemyDriver) {
    if let Some((_, url)) = vars.iter_mut().find(|(k, _)| k == "DATABASE_URL_SQLALCHEMY")
        && let Some(rest) = url.split_once("://").map(|(_, r)| r.to_owned())
    {
        *url = format!("{}{rest}", driver.scheme());
    }
}

/// The session defaults the flags ask for.
pub(crate) fn session_defaults(a: &LocalArgs) -> Vec<(String, String)> {
    session::defaults(a.app_statement_timeout, a.app_lock_timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlalchemy_url_names_the_driver() {
        let mut v = vec![
            ("DATABASE_URL".to_owned(), "postgresql://u:p@h:1/d".to_owned()),
            (
                "DATABASE_URL_SQLALCHEMY".to_owned(),
                "postgresql+psycopg://u:p@h:1/d?x=1".to_owned(),
            ),
        ];
        with_driver(&mut v, SqlalchemyDriver::Psycopg2);
        assert_eq!(v[1].1, "postgresql+psycopg2://u:p@h:1/d?x=1");
        assert_eq!(v[0].1, "postgresql://u:p@h:1/d");
        with_driver(&mut v, SqlalchemyDriver::Psycopg);
        assert_eq!(v[1].1, "postgresql+psycopg://u:p@h:1/d?x=1");
    }
}
