//! PgBouncer in front of a local cluster (issue #17), first step: the
//! configuration `sw-provision local --pooler pgbouncer` will write next
//! to the cluster. Defaults come from the seed application's pool (20 + 40
//! connections, 30 s checkout timeout, hourly recycling, pre-ping).
//! Authentication goes through `auth_query` as a dedicated lookup role, so
//! no plaintext userlist exists; TLS is required on both sides and the
//! pooler verifies the server against the cluster's CA.

use std::fmt::Write as _;
use std::path::PathBuf;

/// The lookup role `auth_query` signs in as: it may only call the
/// SECURITY DEFINER function below, never read application tables.
pub const LOOKUP_ROLE: &str = "sw_pgbouncer_lookup";

/// What `auth_query` runs: a function owned by the superuser that returns
/// the SCRAM verifier of one non-superuser role.
pub const AUTH_QUERY: &str = "SELECT usename, passwd FROM pgbouncer.get_auth($1)";

/// Pool settings, each overridable by a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// `transaction` by default: session state does not survive it, which
    /// is why session defaults go through `ALTER ROLE ... SET`.
    pub pool_mode: String,
    /// The seed's `pool_size` 20.
    pub default_pool_size: u32,
    /// The seed's `max_overflow` 40.
    pub reserve_pool_size: u32,
    /// The seed's 200 maximum concurrent clients.
    pub max_client_conn: u32,
    /// The seed's hourly `pool_recycle`.
    pub server_lifetime_s: u32,
    /// The seed's `pool_timeout` 30 s.
    pub query_wait_timeout_s: u32,
    /// The seed's `pool_pre_ping`.
    pub server_check_query: String,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            pool_mode: "transaction".into(),
            default_pool_size: 20,
            reserve_pool_size: 40,
            max_client_conn: 200,
            server_lifetime_s: 3600,
            query_wait_timeout_s: 30,
            server_check_query: "select 1".into(),
        }
    }
}

/// Where the pooler listens and what it points at.
#[derive(Debug, Clone)]
pub struct Site {
    pub listen_addr: String,
    pub listen_port: u16,
    /// The cluster's socket directory or host, and port.
    pub server_host: String,
    pub server_port: u16,
    pub database: String,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub unix_socket_dir: PathBuf,
    pub pidfile: PathBuf,
    pub logfile: PathBuf,
    /// Holds only the lookup role's password (0600): PgBouncer signs in
    /// to the server as that role itself, before any client has proven
    /// anything, and a SCRAM verifier cannot do that. Application
    /// passwords are never in it (their verifiers come from `auth_query`).
    pub auth_file: PathBuf,
    /// Who may connect, how (`auth_type = hba`): TLS + SCRAM from the
    /// listed networks, the stats console over the socket by peer.
    pub hba_file: PathBuf,
    /// The application role's session defaults (`name=value,...`; see
    /// `crate::session`), or empty.
    pub session_defaults: String,
    /// The OS user allowed `SHOW POOLS/STATS` on the console (peer, over
    /// the Unix socket; no password).
    pub stats_user: String,
}

/// `auth_hba_file`: the stats console only over the Unix socket as
/// `stats_user` (peer), everyone else only over TLS with SCRAM to the
/// application database, from the listed networks.
#[must_use]
pub fn render_hba(s: &Site, allow: &[String]) -> String {
    let mut o = String::from(
        "# Written by sw-provision: the stats console only over the socket as the OS user;\n\
         # everyone else only over TLS with SCRAM, from the listed networks.\n",
    );
    let _ = writeln!(o, "local   pgbouncer {} peer", s.stats_user);
    for c in allow {
        let _ = writeln!(o, "hostssl {} all {c} scram-sha-256", s.database);
    }
    o
}

/// A secret no password has: the stats user signs in by peer over the
/// socket, and PgBouncer only needs it listed (else it sends the console
/// login to `auth_query` on a database that has no server, and hangs).
const NO_PASSWORD: &str = "md500000000000000000000000000000000";

/// The auth file: the lookup role's password, and the stats user with a
/// secret no password matches.
#[must_use]
pub fn render_auth_file(password: &str, stats_user: &str) -> String {
    format!("\"{LOOKUP_ROLE}\" \"{password}\"\n\"{stats_user}\" \"{NO_PASSWORD}\"\n")
}

/// The password in an auth file written by [`render_auth_file`].
#[must_use]
pub fn auth_file_password(text: &str) -> Option<String> {
    let rest = text.lines().next()?.strip_prefix(&format!("\"{LOOKUP_ROLE}\" \""))?;
    let pw = rest.strip_suffix('"')?;
    (!pw.is_empty() && !pw.contains('"')).then(|| pw.to_owned())
}

/// `pgbouncer.ini`, deterministic so a second run compares equal and
/// changes nothing.
#[must_use]
pub fn render_ini(s: &Site, p: &PoolSettings) -> String {
    let mut o = String::new();
    let db = &s.database;
    let _ = writeln!(o, "; written by sw-provision; edits are replaced on the next run");
    let _ = writeln!(o, "[databases]");
    // The role's session defaults, named in a comment of connect_query: a
    // reload with a changed connect_query re-opens the pool's server
    // connections (each once its client is done), so none keeps old ones.
    let tag = if s.session_defaults.is_empty() {
        String::new()
    } else {
        format!(
            " connect_query='/* session defaults: {} */ SELECT 1'",
            s.session_defaults
        )
    };
    let _ = writeln!(
        o,
        "{db} = host={} port={} dbname={db}{tag}",
        s.server_host, s.server_port
    );
    let _ = writeln!(o, "\n[pgbouncer]");
    let kv: [(&str, String); 26] = [
        ("listen_addr", s.listen_addr.clone()),
        ("listen_port", s.listen_port.to_string()),
        ("unix_socket_dir", s.unix_socket_dir.display().to_string()),
        ("pidfile", s.pidfile.display().to_string()),
        ("logfile", s.logfile.display().to_string()),
        ("auth_type", "hba".into()),
        ("auth_hba_file", s.hba_file.display().to_string()),
        ("auth_file", s.auth_file.display().to_string()),
        ("auth_user", LOOKUP_ROLE.into()),
        ("auth_query", AUTH_QUERY.into()),
        ("stats_users", s.stats_user.clone()),
        ("pool_mode", p.pool_mode.clone()),
        ("default_pool_size", p.default_pool_size.to_string()),
        ("reserve_pool_size", p.reserve_pool_size.to_string()),
        ("max_client_conn", p.max_client_conn.to_string()),
        ("server_lifetime", p.server_lifetime_s.to_string()),
        ("query_wait_timeout", p.query_wait_timeout_s.to_string()),
        ("server_check_query", p.server_check_query.clone()),
        ("client_tls_sslmode", "require".into()),
        ("client_tls_cert_file", s.cert_file.display().to_string()),
        ("client_tls_key_file", s.key_file.display().to_string()),
        ("client_tls_ca_file", s.ca_file.display().to_string()),
        ("server_tls_sslmode", "verify-full".into()),
        ("server_tls_ca_file", s.ca_file.display().to_string()),
        // JDBC sends extra_float_digits. `options` is not ignored: PgBouncer
        // would drop it silently, and a client relying on `-c
        // statement_timeout=...` would run without it; refused, it says so.
        ("ignore_startup_parameters", "extra_float_digits".into()),
        ("admin_users", String::new()),
    ];
    for (k, v) in kv {
        let _ = writeln!(o, "{k} = {v}");
    }
    o
}

/// The body of the lookup function (compared with `pg_proc.prosrc` to
/// tell whether it needs writing).
pub const LOOKUP_BODY: &str =
    " SELECT rolname, rolpassword FROM pg_authid WHERE rolname = p_usename AND NOT rolsuper AND rolcanlogin ";

/// SQL run as the superuser in the application database `db` (where
/// `auth_query` runs): the SECURITY DEFINER function the lookup role may
/// execute, which refuses superusers, and the role's CONNECT on `db`.
/// The role itself exists already. Safe to run again.
#[must_use]
pub fn lookup_sql(db: &str) -> String {
    let db = sw_core::pg::quote_ident(db);
    format!(
        "CREATE SCHEMA IF NOT EXISTS pgbouncer;\n\
         REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;\n\
         CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)\n\
         RETURNS TABLE(usename name, passwd text) LANGUAGE sql SECURITY DEFINER\n\
         SET search_path = pg_catalog AS $${LOOKUP_BODY}$$;\n\
         REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;\n\
         GRANT USAGE ON SCHEMA pgbouncer TO {LOOKUP_ROLE};\n\
         GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO {LOOKUP_ROLE};\n\
         GRANT CONNECT ON DATABASE {db} TO {LOOKUP_ROLE};\n"
    )
}

/// SQL in the application database answering `t` when [`lookup_sql`]'s
/// work is all there: the function as written (SECURITY DEFINER, closed
/// to PUBLIC) and the lookup role's grants.
#[must_use]
pub fn lookup_check_sql() -> String {
    let body = sw_core::pg::quote_literal(LOOKUP_BODY);
    format!(
        "SELECT coalesce((SELECT p.prosrc = {body} AND p.prosecdef AND p.proacl IS NOT NULL\n\
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)\n\
           AND has_function_privilege('{LOOKUP_ROLE}', p.oid, 'EXECUTE')\n\
           AND has_schema_privilege('{LOOKUP_ROLE}', 'pgbouncer', 'USAGE')\n\
           AND has_database_privilege('{LOOKUP_ROLE}', current_database(), 'CONNECT')\n\
         FROM pg_proc p WHERE p.oid = to_regprocedure('pgbouncer.get_auth(text)')), false)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            listen_addr: "127.0.0.1".into(),
            listen_port: 6432,
            server_host: "127.0.0.1".into(),
            server_port: 5432,
            database: "app".into(),
            ca_file: "/c/ca.crt".into(),
            cert_file: "/c/server.crt".into(),
            key_file: "/c/server.key".into(),
            unix_socket_dir: "/c/sock".into(),
            pidfile: "/c/pgbouncer.pid".into(),
            logfile: "/c/pgbouncer.log".into(),
            auth_file: "/c/userlist.txt".into(),
            hba_file: "/c/hba.conf".into(),
            session_defaults: String::new(),
            stats_user: "sw_stats".into(),
        }
    }

    #[test]
    fn seed_defaults_and_tls_both_sides() {
        let ini = render_ini(&site(), &PoolSettings::default());
        for line in [
            "pool_mode = transaction",
            "default_pool_size = 20",
            "reserve_pool_size = 40",
            "max_client_conn = 200",
            "server_lifetime = 3600",
            "query_wait_timeout = 30",
            "server_check_query = select 1",
            "client_tls_sslmode = require",
            "server_tls_sslmode = verify-full",
            "auth_type = hba",
            "auth_hba_file = /c/hba.conf",
            "ignore_startup_parameters = extra_float_digits",
            "auth_user = sw_pgbouncer_lookup",
            "app = host=127.0.0.1 port=5432 dbname=app",
        ] {
            assert!(ini.lines().any(|l| l == line), "missing {line:?} in\n{ini}");
        }
    }

    #[test]
    fn rendering_is_deterministic_and_overridable() {
        let p = PoolSettings {
            default_pool_size: 5,
            ..PoolSettings::default()
        };
        assert_eq!(render_ini(&site(), &p), render_ini(&site(), &p));
        assert!(render_ini(&site(), &p).contains("default_pool_size = 5\n"));
        let tagged = Site {
            session_defaults: "statement_timeout=1s".into(),
            ..site()
        };
        let ini = render_ini(&tagged, &p);
        assert!(
            ini.contains(" connect_query='/* session defaults: statement_timeout=1s */ SELECT 1'\n"),
            "{ini}"
        );
    }

    #[test]
    fn the_auth_file_gives_its_password_back() {
        let t = render_auth_file("pw-1", "postgres");
        assert_eq!(auth_file_password(&t).as_deref(), Some("pw-1"));
        assert!(t.contains("\"postgres\" \"md50000"));
        assert_eq!(auth_file_password("\"other\" \"x\"\n"), None);
    }

    #[test]
    fn lookup_function_refuses_superusers() {
        let sql = lookup_sql("app");
        assert!(sql.contains(LOOKUP_BODY) && lookup_check_sql().contains("prosrc"));
        assert!(sql.contains("NOT rolsuper") && sql.contains("SECURITY DEFINER"));
        assert!(sql.contains("FROM PUBLIC"));
    }
}
