//! `sw-schema seed`: the application's initial data. An administrator
//! whose password comes from the OS CSPRNG, is stored only as an argon2id
//! hash, and is written once to a 0600 file (never to stdout, stderr, a log
//! or an argument vector); with `--demo`, three demo VPN servers. Running
//! it again creates nothing and keeps the password.
//!
//! The hash is a PHC string, `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`,
//! with OWASP's minimum Argon2id parameters (19 MiB, 2 passes, 1 lane): what
//! a Python application's argon2-cffi `PasswordHasher.verify` accepts (it may
//! rehash at the first login with its own, stronger defaults).
//!
//! The old initialiser hard-coded the administrator's password in its
//! source; this one never sees a password it did not just generate.

use std::path::Path;

use argon2::password_hash::PasswordHasher;
use sw_core::fsutil::q;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::records::SeedRecord;

/// OWASP Password Storage Cheat Sheet, Argon2id minimum: m=19 MiB, t=2, p=1.
pub const M_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_LANES: u32 = 1;

/// The three demo servers: name, region, hostname.
pub const DEMO: [(&str, &str, &str); 3] = [
    ("US East", "us-east", "us-east.demo.vpn.example"),
    ("EU West", "eu-west", "eu-west.demo.vpn.example"),
    ("Asia Southeast", "asia-southeast", "asia-southeast.demo.vpn.example"),
];

/// Hash `password` with argon2id (OWASP parameters, a 16-byte random salt).
///
/// # Errors
/// 70 when the OS random source or the hasher fails.
pub fn hash(password: &str) -> Result<String> {
    let params = argon2::Params::new(M_KIB, T_COST, P_LANES, Some(32))
        .map_err(|e| Error::software(format!("argon2 parameters: {e}")))?;
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::software(format!("reading the OS random source: {e}")))?;
    hasher
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::software(format!("hashing the password: {e}")))
}

/// A demo server's WireGuard public key: 32 bytes, base64, derived from its
/// region so a second run proposes the same one. Nobody holds the private
/// key: the demo servers are for development screens, not for tunnels.
pub fn demo_key(region: &str) -> String {
    openssl::base64::encode_block(&openssl::sha::sha256(
        format!("sw-schema demo server {region}").as_bytes(),
    ))
}

fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("--admin-email {email:?} is not an email address")))
    }
}

async fn require_schema(c: &Client) -> Result<()> {
    let r = c
        .query_one(
            "SELECT to_regclass('users') IS NOT NULL AND to_regclass('vpn_servers') IS NOT NULL",
            &[],
        )
        .await
        .pg_context(|| "looking for the users and vpn_servers tables".to_owned())?;
    if r.get(0) {
        Ok(())
    } else {
        Err(Error::data(
            "the application's tables (users, vpn_servers) are not in this schema: run sw-schema up first",
        ))
    }
}

/// Create the administrator unless one with that email exists; returns
/// whether it was created. The password file is written inside the
/// transaction that inserts the row, before COMMIT: a failed write leaves
/// no administrator, and a concurrent seed waits on the unique index and
/// then creates nothing.
async fn admin(c: &Client, email: &str, password_file: &Path) -> Result<bool> {
    let existing = c
        .query_opt("SELECT is_admin FROM users WHERE lower(email) = lower($1)", &[&email])
        .await
        .pg_context(|| "looking for the administrator".to_owned())?;
    if let Some(r) = existing {
        if !r.get::<_, bool>(0) {
            log::warn!("a user with email {email} exists but is not an administrator; seed changes nothing");
        }
        return Ok(false);
    }
    let password = sw_core::secret::generate_password()?;
    let phc = hash(&password)?;
    c.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
    let inserted = c
        .query_opt(
            "INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, true)
             ON CONFLICT ((lower(email))) DO NOTHING RETURNING id::text",
            &[&email, &phc],
        )
        .await
        .pg_context(|| "creating the administrator".to_owned())?;
    let Some(row) = inserted else {
        c.batch_execute("ROLLBACK").await.pg_context(|| "ROLLBACK".to_owned())?;
        return Ok(false);
    };
    let id: String = row.get(0);
    let written = sw_core::fsutil::atomic_write(password_file, format!("{password}\n").as_bytes(), 0o600)
        .map_err(|e| e.context(format!("writing the administrator's password to {}", q(password_file))));
    if let Err(e) = written {
        c.batch_execute("ROLLBACK").await.pg_context(|| "ROLLBACK".to_owned())?;
        return Err(e);
    }
    c.execute(
        "INSERT INTO audit_log (actor, action, object, details) VALUES ('sw-schema seed', 'user.create', $1, $2)",
        &[
            &format!("user:{id}"),
            &serde_json::json!({"is_admin": true, "email": email}),
        ],
    )
    .await
    .pg_context(|| "writing the audit log".to_owned())?;
    c.batch_execute("COMMIT")
        .await
        .pg_context(|| "committing the administrator".to_owned())?;
    Ok(true)
}

/// Create the demo servers that are not there; (created, existing) names.
async fn demo(c: &Client) -> Result<(Vec<String>, Vec<String>)> {
    let (mut created, mut existing) = (Vec::new(), Vec::new());
    for (name, region, host) in DEMO {
        let r = c
            .query_opt(
                "INSERT INTO vpn_servers (name, region, hostname, wireguard_public_key, capacity, active)
                 VALUES ($1, $2, $3, $4, 250, true) ON CONFLICT DO NOTHING RETURNING id",
                &[&name, &region, &host, &demo_key(region)],
            )
            .await
            .pg_context(|| format!("creating the demo server {name}"))?;
        if r.is_some() {
            created.push(name.to_owned());
        } else {
            existing.push(name.to_owned());
        }
    }
    Ok((created, existing))
}

/// Seed the database.
///
/// # Errors
/// 64 for a malformed email; 65 when the schema is not migrated; 73/74/77
/// when the password file cannot be written (nothing is created then).
pub async fn seed(c: &Client, email: &str, password_file: &Path, with_demo: bool) -> Result<SeedRecord> {
    check_email(email)?;
    require_schema(c).await?;
    let created = admin(c, email, password_file).await?;
    let (servers_created, servers_existing) = if with_demo {
        demo(c).await?
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(SeedRecord {
        admin_email: email.to_owned(),
        admin_created: created,
        password_file: created.then(|| password_file.display().to_string()),
        hash: created.then(|| format!("argon2id m={M_KIB} t={T_COST} p={P_LANES}")),
        demo: with_demo,
        servers_created,
        servers_existing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let parsed = argon2::password_hash::phc::PasswordHash::new(&h).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(argon2::Argon2::default().verify_password(b"wrong", &parsed).is_err());
        assert_ne!(hash("correct horse").unwrap(), h, "salted");
    }

    #[test]
    fn demo_keys_are_wireguard_shaped_and_stable() {
        let k = demo_key("us-east");
        assert_eq!(k.len(), 44);
        assert!(k.ends_with('='));
        assert_eq!(k, demo_key("us-east"));
        assert_ne!(k, demo_key("eu-west"));
    }

    #[test]
    fn emails() {
        assert!(check_email("admin@example.com").is_ok());
        assert!(check_email("admin").is_err());
        assert!(check_email("a b@example.com").is_err());
        assert!(check_email("@example.com").is_err());
    }
}
