//! The application role, its database and the env file with its
//! connection strings: the same steps for `local` (as the cluster's
//! superuser, through psql) and `azure` (as the server's administrator, a
//! CREATEROLE/CREATEDB member of azure_pg_admin, over verify-full TLS).
//!
//! The password lives in the env file: it is kept across runs (and set
//! back on the role when someone changed it), new only with
//! `--rotate-password`, and written to the file before the role gets it,
//! so no password the role has is ever known to no file. The role gets a
//! SCRAM-SHA-256 verifier computed here, never the password itself, so
//! even a server that logs every statement never logs the password.
//!
//! The database is owned by the role and closed to everyone else; one
//! that exists with another owner (created through Resource Manager by an
//! earlier version, say) is handed over to the role the same way.

use std::path::Path;

use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::pg::{quote_ident, quote_literal};
use sw_core::{IoContext, Result};

use crate::local::{password_in, readonly_url};

/// What a step did, for the caller's own record of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    CreateRole,
    RotatePassword,
    SetPassword,
    WriteEnvFile,
    ChmodEnvFile,
    CreateDatabase,
    /// Hand an existing database (and its public schema) to the role.
    AdoptDatabase,
}

/// Who runs the SQL: the local superuser or the Azure administrator.
pub(crate) trait Admin {
    /// Run `sql` in database `db`; rows as lines, columns joined by `|`
    /// (psql's unaligned, tuples-only output).
    fn sql(&self, db: &str, sql: &str) -> Result<String>;
    /// Whether `password` opens `role` (which exists).
    fn password_works(&self, role: &str, password: &str) -> Result<bool>;
    /// A superuser needs no membership in the role to give it a database,
    /// and may keep its statements out of the server log.
    fn superuser(&self) -> bool;
}

/// The role, database and env file asked for.
pub(crate) struct App<'a> {
    pub role: &'a str,
    pub database: &'a str,
    pub env_file: &'a Path,
    /// `--rotate-password`.
    pub rotate: bool,
    pub dry: bool,
}

/// What the catalog holds for the role and database.
struct Found {
    role: bool,
    database: bool,
    /// The database's owner ("" when there is no database).
    owner: String,
    /// Whether the env file's password opens the role.
    password_works: bool,
}

/// The connection strings for a password (the caller's host, port, CA).
pub(crate) type Vars<'a> = dyn Fn(&str) -> Vec<(String, String)> + 'a;
/// Where the steps are recorded.
pub(crate) type Note<'a> = dyn FnMut(Step, String) + 'a;

/// Role, database and env file as they should be. `admin` is None in a
/// dry run that cannot read the catalog (then everything is planned).
pub(crate) fn ensure(admin: Option<&dyn Admin>, app: &App<'_>, vars: &Vars<'_>, note: &mut Note<'_>) -> Result<()> {
    let env = EnvFile::read_or_default(app.env_file)?;
    let known = password_in(&env, app.role);
    if let Some(p) = &known {
        sw_core::secret::register(p);
    }
    let found = match admin {
        Some(a) => look(a, app, known.as_deref())?,
        None => Found {
            role: false,
            database: false,
            owner: String::new(),
            password_works: false,
        },
    };
    let (set_pw, keep) = password_plan(app, &found, known.is_some(), note);
    let pw = match known.filter(|_| keep) {
        Some(p) => p,
        None if app.dry => String::new(),
        None => sw_core::secret::generate_password()?,
    };
    let mut vars = vars(&pw);
    // A standby's read-only URL (from `replica`) uses the same role: it
    // follows the password.
    if !pw.is_empty()
        && let Some(ro) = readonly_url(&env, app.role, &pw)
    {
        vars.push(("DATABASE_URL_READONLY".into(), ro));
    }
    let (role, db) = (app.role, app.database);
    if app.dry {
        if set_pw || vars.iter().any(|(k, v)| env.get(k) != Some(v.as_str())) {
            note(Step::WriteEnvFile, app.env_file.display().to_string());
        }
        if !found.database {
            note(Step::CreateDatabase, format!("{db} owned by {role}"));
        } else if found.owner != role {
            note(
                Step::AdoptDatabase,
                format!("{db} (owned by {}) to {role}", found.owner),
            );
        }
        return Ok(());
    }
    // The env file first: a password the role has but no file knows would be lost.
    write_env(env, &vars, app.env_file, note)?;
    let Some(admin) = admin else { return Ok(()) };
    if set_pw {
        set_password(admin, role, &pw, found.role)?;
    }
    if !found.database {
        note(Step::CreateDatabase, format!("{db} owned by {role}"));
        give_database(admin, role, db, false)?;
    } else if found.owner != role {
        note(
            Step::AdoptDatabase,
            format!("{db} (owned by {}) to {role}", found.owner),
        );
        give_database(admin, role, db, true)?;
    }
    Ok(())
}

/// Whether the role and database exist, who owns the database, and
/// whether the env file's password opens the role.
fn look(admin: &dyn Admin, app: &App<'_>, known: Option<&str>) -> Result<Found> {
    let (r, d) = (quote_literal(app.role), quote_literal(app.database));
    let out = admin.sql(
        "postgres",
        &format!(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = {r}) || ',' || (SELECT count(*) FROM pg_database WHERE datname = {d}) || ',' || coalesce((SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {d}), '')"
        ),
    )?;
    let mut parts = out.splitn(3, ',');
    let role = parts.next() == Some("1");
    let database = parts.next() == Some("1");
    let owner = parts.next().unwrap_or("").to_owned();
    // Does the env file's password still open the role? (Someone may have
    // changed it, or an earlier run stopped between the two writes.)
    let password_works = match known {
        Some(pw) if role => admin.password_works(app.role, pw)?,
        _ => false,
    };
    Ok(Found {
        role,
        database,
        owner,
        password_works,
    })
}

/// Whether the role's password must be set, and whether the env file's
/// (when it has one) is the one to keep.
fn password_plan(app: &App<'_>, found: &Found, known: bool, note: &mut Note<'_>) -> (bool, bool) {
    let role = app.role;
    if !found.role {
        note(Step::CreateRole, role.to_owned());
        (true, true)
    } else if app.rotate {
        note(Step::RotatePassword, role.to_owned());
        (true, false)
    } else if !known {
        note(Step::SetPassword, format!("{role} (the env file had none)"));
        (true, true)
    } else if !found.password_works {
        note(
            Step::SetPassword,
            format!("{role} (to the env file's, which the role did not accept)"),
        );
        (true, true)
    } else {
        (false, true)
    }
}

/// Write the connection strings when they differ; else make sure nobody
/// widened the file's permissions.
fn write_env(mut env: EnvFile, vars: &[(String, String)], env_file: &Path, note: &mut Note<'_>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if vars.iter().any(|(k, v)| env.get(k) != Some(v.as_str())) {
        for (k, v) in vars {
            env.set(k, v);
        }
        note(Step::WriteEnvFile, env_file.display().to_string());
        return env.write(env_file);
    }
    let mode = std::fs::metadata(env_file)
        .io_context(|| format!("reading {}", q(env_file)))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        note(Step::ChmodEnvFile, format!("{} to 0600", env_file.display()));
        std::fs::set_permissions(env_file, std::fs::Permissions::from_mode(0o600))
            .io_context(|| format!("setting permissions on {}", q(env_file)))?;
    }
    Ok(())
}

fn set_password(admin: &dyn Admin, role: &str, pw: &str, exists: bool) -> Result<()> {
    let verb = if exists { "ALTER" } else { "CREATE" };
    // A superuser also keeps the statement (a verifier, not the password) out of the server log.
    let quiet = if admin.superuser() {
        "SET log_statement = 'none'; SET log_min_error_statement = 'panic';\n"
    } else {
        ""
    };
    admin.sql(
        "postgres",
        &format!(
            "{quiet}{verb} ROLE {} LOGIN PASSWORD {};",
            quote_ident(role),
            quote_literal(&scram_verifier(pw)?)
        ),
    )?;
    Ok(())
}

/// The database owned by the role (created, or handed over when
/// `exists`), closed to everyone else, its public schema the role's.
fn give_database(admin: &dyn Admin, role: &str, db: &str, exists: bool) -> Result<()> {
    let (d, r) = (quote_ident(db), quote_ident(role));
    if !admin.superuser() {
        // Only a member of a role may give it a database (and, from
        // PostgreSQL 16, only with SET): the administrator created the
        // role, so it may grant itself that.
        admin.sql("postgres", &format!("GRANT {r} TO CURRENT_USER"))?;
    }
    let make = if exists {
        format!("ALTER DATABASE {d} OWNER TO {r}")
    } else {
        format!("CREATE DATABASE {d} OWNER {r} ENCODING 'UTF8' TEMPLATE template0")
    };
    admin.sql("postgres", &make)?;
    admin.sql(
        "postgres",
        &format!("REVOKE ALL ON DATABASE {d} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {r}"),
    )?;
    admin.sql(
        db,
        &format!("REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO {r}"),
    )?;
    Ok(())
}

/// SCRAM-SHA-256 keys of `password` for a salt and iteration count:
/// (StoredKey, ServerKey), RFC 5802/7677 as PostgreSQL computes them.
/// Our passwords are ASCII, for which SASLprep changes nothing.
fn scram_keys(password: &str, salt: &[u8], iter: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    let mut salted = [0u8; 32];
    openssl::pkcs5::pbkdf2_hmac(password.as_bytes(), salt, iter, MessageDigest::sha256(), &mut salted).ok()?;
    let hmac = |msg: &[u8]| -> Option<Vec<u8>> {
        let key = PKey::hmac(&salted).ok()?;
        let mut s = Signer::new(MessageDigest::sha256(), &key).ok()?;
        s.update(msg).ok()?;
        s.sign_to_vec().ok()
    };
    let stored = openssl::sha::sha256(&hmac(b"Client Key")?).to_vec();
    Some((stored, hmac(b"Server Key")?))
}

/// The verifier PostgreSQL stores for `password`
/// (`SCRAM-SHA-256$4096:salt$StoredKey:ServerKey`), with a fresh salt.
///
/// # Errors
/// 70 when the OS random source or OpenSSL fails.
pub(crate) fn scram_verifier(password: &str) -> Result<String> {
    use openssl::base64::encode_block;
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt)
        .map_err(|e| sw_core::Error::software("drawing a SCRAM salt").with_source(e))?;
    let (stored, server) =
        scram_keys(password, &salt, 4096).ok_or_else(|| sw_core::Error::software("computing a SCRAM verifier"))?;
    Ok(format!(
        "SCRAM-SHA-256$4096:{}${}:{}",
        encode_block(&salt),
        encode_block(&stored),
        encode_block(&server)
    ))
}

/// Whether `password` matches a SCRAM-SHA-256 verifier as stored in
/// `pg_authid.rolpassword` (`SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`).
pub(crate) fn scram_matches(stored: &str, password: &str) -> bool {
    use openssl::base64::decode_block;
    let check = || -> Option<bool> {
        let rest = stored.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iter, salt) = params.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let (s, v) = scram_keys(password, &decode_block(salt).ok()?, iter.parse().ok()?)?;
        Some(s == decode_block(stored_key).ok()? && v == decode_block(server_key).ok()?)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_match_their_password_only() {
        // (PostgreSQL accepting our verifier runs end to end: the roles
        // sw-provision makes are signed in to with their passwords.)
        let v = scram_verifier("s3cret-Pw").unwrap();
        assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
        assert!(scram_matches(&v, "s3cret-Pw"));
        assert!(!scram_matches(&v, "s3cret-pw"));
        assert_ne!(scram_verifier("s3cret-Pw").unwrap(), v, "the salt is fresh");
        let no_keys = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$not:base64!";
        assert!(!scram_matches(no_keys, "secret"));
        assert!(!scram_matches("md5abc", "secret"));
        assert!(!scram_matches("", "secret"));
    }
}
