//! `session_defaults`: what a fresh application session gets. The values
//! are read as `reset_val`, the value a session starts with (the role's and
//! database's `ALTER ROLE/DATABASE ... SET`, the server's, or the startup
//! packet's `options`), so sw-health's own `SET`s do not hide them; run
//! with `--db` set to the application's URL (its role, through the pooler)
//! to see what the application sees. A session without a statement or lock
//! timeout can hold locks or run forever; one not in UTC reads and writes
//! times in the server's zone.

use serde_json::json;

use super::{Check, How, Measured, Row, Scope, count};

pub const SESSION_DEFAULTS: Check = Check {
    name: "session_defaults",
    unit: "settings",
    warn: Some(0.0),
    crit: None,
    below: false,
    scope: Scope::Database,
    help: "session defaults a fresh connection of this role lacks: statement_timeout and lock_timeout set, TimeZone UTC",
    how: How::Sql {
        query: "SELECT name, reset_val FROM pg_settings \
                WHERE name IN ('statement_timeout', 'lock_timeout', 'TimeZone', 'idle_in_transaction_session_timeout') \
                ORDER BY name",
        eval,
    },
};

fn eval(rows: &[Row]) -> Measured {
    let get = |name: &str| rows.iter().find(|r| r.text(0) == name).map(|r| r.text(1));
    let ms = |name: &str| get(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let (statement, lock, idle) = (
        ms("statement_timeout"),
        ms("lock_timeout"),
        ms("idle_in_transaction_session_timeout"),
    );
    let tz = get("TimeZone").unwrap_or_default();
    let mut missing = Vec::new();
    if statement == 0 {
        missing.push("statement_timeout is 0 (no limit)".to_owned());
    }
    if lock == 0 {
        missing.push("lock_timeout is 0 (no limit)".to_owned());
    }
    if !matches!(tz.as_str(), "UTC" | "Etc/UTC" | "Etc/UCT" | "UCT" | "Zulu" | "Etc/Zulu") {
        missing.push(format!("TimeZone is {tz}, not UTC"));
    }
    let shown = |v: u64| match v {
        0 => "none".to_owned(),
        v if v.is_multiple_of(1000) => format!("{}s", v / 1000),
        v => format!("{v}ms"),
    };
    let msg = if missing.is_empty() {
        format!(
            "statement_timeout {}, lock_timeout {}, TimeZone {tz}",
            shown(statement),
            shown(lock)
        )
    } else {
        missing.join("; ")
    };
    Measured::new(
        Some(count(missing.len())),
        msg,
        json!({
            "statement_timeout_ms": statement,
            "lock_timeout_ms": lock,
            "idle_in_transaction_session_timeout_ms": idle,
            "timezone": tz,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(st: &str, lock: &str, tz: &str) -> Vec<Row> {
        [
            ("idle_in_transaction_session_timeout", "0"),
            ("lock_timeout", lock),
            ("statement_timeout", st),
            ("TimeZone", tz),
        ]
        .iter()
        .map(|(n, v)| Row(vec![Some((*n).to_owned()), Some((*v).to_owned())]))
        .collect()
    }

    #[test]
    fn the_seed_defaults_pass_and_each_missing_one_counts() {
        let ok = eval(&rows("60000", "10000", "UTC"));
        assert_eq!(ok.value, Some(0.0));
        assert_eq!(ok.message, "statement_timeout 60s, lock_timeout 10s, TimeZone UTC");
        let bad = eval(&rows("0", "10000", "Europe/Berlin"));
        assert_eq!(bad.value, Some(2.0));
        assert!(bad.message.contains("statement_timeout is 0"), "{}", bad.message);
        assert!(bad.message.contains("Europe/Berlin"), "{}", bad.message);
    }
}
