//! The lookup role `auth_query` signs in as, and the function it may call.
//! Its password is in the auth file only; the role gets a SCRAM verifier
//! computed here, sent through psql's stdin (never a command line).

use sw_core::Result;
use sw_core::pg::quote_literal;

use super::super::converge::Ctx;
use super::super::record::Action;
use crate::approle::{scram_matches, scram_verifier};
use crate::pooler::{LOOKUP_ROLE, lookup_check_sql, lookup_sql};

/// The role with the auth file's password, and the function with its
/// grants in the application database.
pub(crate) fn ensure(cx: &mut Ctx<'_>, pw: &str) -> Result<()> {
    let db = cx.a.database.clone();
    // "-": no such role; "": a role without a password.
    let stored = cx.sql(
        "postgres",
        &format!(
            "SELECT coalesce((SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = {}), '-')",
            quote_literal(LOOKUP_ROLE)
        ),
    )?;
    let exists = stored != "-";
    if !exists || !scram_matches(&stored, pw) {
        let (action, verb) = if exists {
            (Action::SetLookupPassword, "ALTER")
        } else {
            (Action::CreateLookupRole, "CREATE")
        };
        cx.note(
            action,
            format!("{LOOKUP_ROLE} (LOGIN only; its password in the pooler's auth file)"),
        );
        if !cx.dry {
            let sql = format!(
                "SET log_statement = 'none'; SET log_min_error_statement = 'panic';\n\
                 {verb} ROLE {LOOKUP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD {};",
                quote_literal(&scram_verifier(pw)?)
            );
            cx.sql("postgres", &sql)?;
        }
    }
    // A planned role has no grants to look at yet.
    let ok = if exists || !cx.dry {
        match cx.sql(&db, &lookup_check_sql()) {
            Ok(t) => t == "t",
            // A dry run may come before the database exists.
            Err(_) if cx.dry => false,
            Err(e) => return Err(e),
        }
    } else {
        false
    };
    if !ok {
        cx.note(
            Action::WriteLookupFunction,
            format!("pgbouncer.get_auth in {db} (SECURITY DEFINER, refuses superusers)"),
        );
        if !cx.dry {
            cx.sql(&db, &lookup_sql(&db))?;
        }
    }
    Ok(())
}
