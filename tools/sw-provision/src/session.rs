//! Session defaults of the application role: the seed application's
//! `statement_timeout` 60 s, `lock_timeout` 10 s and `TimeZone` UTC, set
//! with `ALTER ROLE ... SET`, so every new session of the role starts with
//! them whatever the client.
//!
//! Why the role and not `options=-c ...` in the URLs: through a
//! transaction pooler a client's startup options never reach the server
//! (PgBouncer refuses or drops them, and its server connections are shared
//! by many clients anyway), while role settings apply to every server
//! connection the pooler opens as the role. A pooler only sees new values
//! on new server connections: the pooler step names them in its
//! `connect_query`, so a change re-opens the pool (each connection after
//! its client is done).

use std::time::Duration;

use sw_core::Result;
use sw_core::pg::{quote_ident, quote_literal};

use crate::approle::Admin;

/// A duration as PostgreSQL reads it: whole seconds as `60s`, else `ms`.
fn pg_duration(d: Duration) -> String {
    let ms = sw_core::duration::millis(d);
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The settings, in a fixed order.
pub(crate) fn defaults(statement_timeout: Duration, lock_timeout: Duration) -> Vec<(String, String)> {
    vec![
        ("statement_timeout".into(), pg_duration(statement_timeout)),
        ("lock_timeout".into(), pg_duration(lock_timeout)),
        ("TimeZone".into(), "UTC".into()),
    ]
}

/// `name=value,...`, for records and the pooler's connect_query.
pub(crate) fn describe(wanted: &[(String, String)]) -> String {
    let v: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    v.join(",")
}

/// The settings of `wanted` the role lacks or has otherwise (its other
/// settings are left alone). The role must exist.
pub(crate) fn differing(admin: &dyn Admin, role: &str, wanted: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let have = admin.sql(
        "postgres",
        &format!(
            "SELECT coalesce(array_to_string(s.setconfig, E'\\n'), '') FROM pg_db_role_setting s \
             JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = {} AND s.setdatabase = 0",
            quote_literal(role)
        ),
    )?;
    let have: Vec<(String, &str)> = have
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    Ok(wanted
        .iter()
        .filter(|(k, v)| !have.iter().any(|(hk, hv)| *hk == k.to_ascii_lowercase() && hv == v))
        .cloned()
        .collect())
}

/// Set them on the role.
pub(crate) fn apply(admin: &dyn Admin, role: &str, set: &[(String, String)]) -> Result<()> {
    let r = quote_ident(role);
    let sql: Vec<String> = set
        .iter()
        .map(|(k, v)| format!("ALTER ROLE {r} SET {k} = {};", quote_literal(v)))
        .collect();
    admin.sql("postgres", &sql.join("\n")).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_defaults_read_as_postgres_writes_them() {
        let d = defaults(Duration::from_secs(60), Duration::from_millis(10_500));
        assert_eq!(describe(&d), "statement_timeout=60s,lock_timeout=10500ms,TimeZone=UTC");
    }
}
