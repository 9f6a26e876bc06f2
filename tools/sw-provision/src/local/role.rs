//! The application role, its database and the env file with its
//! connection strings. The password lives in the env file: it is kept
//! across runs (and set back on the role when someone changed it), new
//! only with `--rotate-password`, and written to the file before the role
//! gets it, so no password the role has is ever known to no file.

use std::path::Path;

use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::pg::{quote_ident, quote_literal};
use sw_core::{IoContext, Result};

use super::connstr::{connection_vars, password_in, readonly_url};
use super::converge::Ctx;
use super::record::Action;

/// What the catalog holds for the role and database.
struct Found {
    role: bool,
    database: bool,
    /// Whether the env file's password opens the role.
    password_works: bool,
}

/// Role, database and env file as they should be. `running`: whether the
/// server ran before this run (a dry run cannot read a catalog otherwise).
pub(crate) fn ensure_app(cx: &mut Ctx<'_>, role: &str, env_file: &Path, running: bool) -> Result<()> {
    let env = EnvFile::read_or_default(env_file)?;
    let known = password_in(&env, role);
    if let Some(p) = &known {
        sw_core::secret::register(p);
    }
    let found = if !cx.dry || running {
        look(cx, role, known.as_deref())?
    } else {
        Found {
            role: false,
            database: false,
            password_works: false,
        }
    };
    let (set_pw, keep) = password_plan(cx, role, &found, known.is_some());
    let pw = match known.filter(|_| keep) {
        Some(p) => p,
        None if cx.dry => String::new(),
        None => sw_core::secret::generate_password()?,
    };
    let a = cx.a;
    let mut vars = connection_vars(
        &a.host,
        a.port,
        &a.database,
        role,
        &pw,
        &cx.tls.ca_cert.display().to_string(),
    );
    // A standby's read-only URL (from `replica`) uses the same role: it
    // follows the password.
    if !pw.is_empty()
        && let Some(ro) = readonly_url(&env, role, &pw)
    {
        vars.push(("DATABASE_URL_READONLY".into(), ro));
    }
    if cx.dry {
        if set_pw || vars.iter().any(|(k, v)| env.get(k) != Some(v.as_str())) {
            cx.note(Action::WriteEnvFile, env_file.display().to_string());
        }
        if !found.database {
            cx.note(Action::CreateDatabase, format!("{} owned by {role}", a.database));
        }
        return Ok(());
    }
    // The env file first: a password the role has but no file knows would be lost.
    write_env(cx, env, &vars, env_file)?;
    if set_pw {
        set_password(cx, role, &pw, found.role)?;
    }
    if !found.database {
        create_database(cx, role)?;
    }
    Ok(())
}

/// Whether the role and database exist and the env file's password opens the role.
fn look(cx: &Ctx<'_>, role: &str, known: Option<&str>) -> Result<Found> {
    let out = cx.sql(
        "postgres",
        &format!(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = {}) || ',' || (SELECT count(*) FROM pg_database WHERE datname = {})",
            quote_literal(role),
            quote_literal(&cx.a.database)
        ),
    )?;
    let (role_exists, database) = (out.starts_with('1'), out.ends_with('1'));
    // Does the env file's password still open the role? (Someone may have
    // changed it, or an earlier run stopped between the two writes.)
    let password_works = match known {
        Some(pw) if role_exists => {
            let stored = cx.sql(
                "postgres",
                &format!(
                    "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = {}",
                    quote_literal(role)
                ),
            )?;
            scram_matches(&stored, pw)
        }
        _ => false,
    };
    Ok(Found {
        role: role_exists,
        database,
        password_works,
    })
}

/// Whether the role's password must be set, and whether the env file's
/// (when it has one) is the one to keep.
fn password_plan(cx: &mut Ctx<'_>, role: &str, found: &Found, known: bool) -> (bool, bool) {
    if !found.role {
        cx.note(Action::CreateRole, role);
        (true, true)
    } else if cx.a.rotate_password {
        cx.note(Action::RotatePassword, role);
        (true, false)
    } else if !known {
        cx.note(Action::SetPassword, format!("{role} (the env file had none)"));
        (true, true)
    } else if !found.password_works {
        cx.note(
            Action::SetPassword,
            format!("{role} (to the env file's, which the role did not accept)"),
        );
        (true, true)
    } else {
        (false, true)
    }
}

/// Write the connection strings when they differ; else make sure nobody
/// widened the file's permissions.
fn write_env(cx: &mut Ctx<'_>, mut env: EnvFile, vars: &[(String, String)], env_file: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if vars.iter().any(|(k, v)| env.get(k) != Some(v.as_str())) {
        for (k, v) in vars {
            env.set(k, v);
        }
        cx.note(Action::WriteEnvFile, env_file.display().to_string());
        return env.write(env_file);
    }
    let mode = std::fs::metadata(env_file)
        .io_context(|| format!("reading {}", q(env_file)))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        cx.note(Action::ChmodEnvFile, format!("{} to 0600", env_file.display()));
        std::fs::set_permissions(env_file, std::fs::Permissions::from_mode(0o600))
            .io_context(|| format!("setting permissions on {}", q(env_file)))?;
    }
    Ok(())
}

fn set_password(cx: &Ctx<'_>, role: &str, pw: &str, exists: bool) -> Result<()> {
    let verb = if exists { "ALTER" } else { "CREATE" };
    // Keep the statement (with its password) out of the server log.
    cx.sql(
        "postgres",
        &format!(
            "SET log_statement = 'none'; SET log_min_error_statement = 'panic';\n{verb} ROLE {} LOGIN PASSWORD {};",
            quote_ident(role),
            quote_literal(pw)
        ),
    )?;
    Ok(())
}

/// The database, owned by the role, closed to everyone else.
fn create_database(cx: &mut Ctx<'_>, role: &str) -> Result<()> {
    let db = cx.a.database.clone();
    cx.note(Action::CreateDatabase, format!("{db} owned by {role}"));
    let (d, r) = (quote_ident(&db), quote_ident(role));
    cx.sql(
        "postgres",
        &format!("CREATE DATABASE {d} OWNER {r} ENCODING 'UTF8' TEMPLATE template0"),
    )?;
    cx.sql(
        "postgres",
        &format!("REVOKE ALL ON DATABASE {d} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {r}"),
    )?;
    cx.sql(
        &db,
        &format!("REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO {r}"),
    )?;
    Ok(())
}

/// Whether `password` matches a SCRAM-SHA-256 verifier as stored in
/// `pg_authid.rolpassword` (`SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`).
/// Our passwords are ASCII, for which SASLprep changes nothing.
pub(crate) fn scram_matches(stored: &str, password: &str) -> bool {
    use openssl::base64::decode_block;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    let check = || -> Option<bool> {
        let rest = stored.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iter, salt) = params.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let iter: usize = iter.parse().ok()?;
        let salt = decode_block(salt).ok()?;
        let mut salted = [0u8; 32];
        openssl::pkcs5::pbkdf2_hmac(password.as_bytes(), &salt, iter, MessageDigest::sha256(), &mut salted).ok()?;
        let hmac = |msg: &[u8]| -> Option<Vec<u8>> {
            let key = PKey::hmac(&salted).ok()?;
            let mut s = Signer::new(MessageDigest::sha256(), &key).ok()?;
            s.update(msg).ok()?;
            s.sign_to_vec().ok()
        };
        let client_key = hmac(b"Client Key")?;
        let ok = openssl::sha::sha256(&client_key).as_slice() == decode_block(stored_key).ok()?.as_slice()
            && hmac(b"Server Key")? == decode_block(server_key).ok()?;
        Some(ok)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_verifiers_never_match() {
        // (The matching case runs end to end: a role whose password was
        // changed by hand is set back to the env file's.)
        let no_keys = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$not:base64!";
        assert!(!scram_matches(no_keys, "secret"));
        assert!(!scram_matches("md5abc", "secret"));
        assert!(!scram_matches("", "secret"));
    }
}
