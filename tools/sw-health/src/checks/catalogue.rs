//! The check catalogue, in report order (the order of `checks` in a
//! health.report, of the Nagios perfdata and of `--help`).
//!
//! A check that is one query is written here in full: name, unit, default
//! thresholds (Nagios range convention: a value above `warn`, or below it
//! when `below`, is a WARNING), scope, help, the query and the `eval` that
//! judges its rows. Nothing else refers to it: the runner runs every `Sql`
//! entry, once per run (`Scope::Cluster`) or in every database's session
//! (`Scope::Database`). Checks that are not one query are listed here by
//! the const their own module defines.

use serde_json::{Value, json};

use super::{Check, How, Measured, Row, Scope, count, round3};
use super::{
    archiver, azure, azure_backups, azure_maintenance, backup, host, latency, pooler, rates, replication, server,
    session_defaults, tls,
};

/// Every check, in report order.
pub const CATALOGUE: &[&Check] = &[
    &server::CONNECTION,
    &server::UPTIME,
    &server::ROLE,
    &CONNECTIONS,
    &Check {
        name: "idle_in_transaction",
        unit: "s",
        warn: Some(120.0),
        crit: Some(600.0),
        below: false,
        scope: Scope::Cluster,
        help: "oldest session idle in a transaction",
        how: How::Sql {
            query: "SELECT coalesce(max(extract(epoch from clock_timestamp() - state_change)), 0), count(*), \
                    coalesce((array_agg(pid ORDER BY state_change))[1]::text, '') \
                    FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
            eval: |rows| {
                let row = Row::first(rows);
                let v = row.num(0).unwrap_or(0.0);
                let n = row.num(1).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("{n:.0} sessions idle in transaction, oldest {v:.0} s"),
                    json!({"sessions": n, "oldest_pid": row.text(2).parse::<i64>().ok()}),
                )
            },
        },
    },
    &Check {
        name: "long_query",
        unit: "s",
        warn: Some(300.0),
        crit: Some(1800.0),
        below: false,
        scope: Scope::Cluster,
        help: "oldest active query",
        how: How::Sql {
            query: "SELECT coalesce(max(extract(epoch from clock_timestamp() - query_start)), 0), count(*), \
                    coalesce((array_agg(pid ORDER BY query_start))[1]::text, '') \
                    FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' \
                    AND pid <> pg_backend_pid()",
            eval: |rows| {
                let row = Row::first(rows);
                let v = row.num(0).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("oldest active query {v:.0} s"),
                    json!({"active": row.num(1), "oldest_pid": row.text(2).parse::<i64>().ok()}),
                )
            },
        },
    },
    &Check {
        name: "blocked",
        unit: "s",
        warn: Some(30.0),
        crit: Some(300.0),
        below: false,
        scope: Scope::Cluster,
        help: "oldest session waiting for a lock; blocking pids in details",
        how: How::Sql {
            query: "SELECT coalesce(max(w), 0), count(*), coalesce(json_agg(json_build_object('pid', pid, 'waiting_s', w, \
                      'blocked_by', b) ORDER BY w DESC), '[]') FROM ( \
                      SELECT a.pid, extract(epoch from clock_timestamp() - coalesce(a.query_start, a.state_change)) w, \
                             pg_blocking_pids(a.pid) b \
                      FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()) x \
                    WHERE cardinality(b) > 0",
            eval: |rows| {
                let row = Row::first(rows);
                let v = row.num(0).unwrap_or(0.0);
                let n = row.num(1).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("{n:.0} sessions waiting for locks, oldest {v:.1} s"),
                    json!({"blocked": n, "sessions": row.json(2)}),
                )
            },
        },
    },
    &rates::DEADLOCKS,
    &rates::FAILED_SESSIONS,
    &XID_WRAPAROUND,
    &Check {
        name: "mxid_wraparound",
        unit: "mxids",
        warn: Some(1.0e9),
        crit: Some(1.5e9),
        below: false,
        scope: Scope::Cluster,
        help: "mxid_age(datminmxid) of the oldest database; the 5 oldest tables of the database checked in details",
        how: How::Sql {
            query: "SELECT max(mxid_age(datminmxid)), \
                    (SELECT datname FROM pg_database ORDER BY mxid_age(datminmxid) DESC LIMIT 1), \
                    (SELECT coalesce(json_agg(x), '[]') FROM (SELECT c.oid::regclass::text AS \"table\", \
                       greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) AS age FROM pg_class c \
                       LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relkind IN ('r', 'm') \
                       ORDER BY 2 DESC LIMIT 5) x), current_database() FROM pg_database",
            eval: wraparound,
        },
    },
    &replication::LAG,
    &replication::SLOTS,
    &archiver::ARCHIVER,
    &backup::BACKUP_AGE,
    &backup::BACKUP_PAGES,
    &Check {
        name: "database_size",
        unit: "B",
        warn: None,
        crit: None,
        below: false,
        scope: Scope::Cluster,
        help: "total size of all databases; per database in details",
        how: How::Sql {
            query: "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datallowconn \
                    AND has_database_privilege(oid, 'CONNECT') ORDER BY 2 DESC",
            eval: |rows| {
                let mut total = 0.0;
                let mut per = serde_json::Map::new();
                for row in rows {
                    let b = row.num(1).unwrap_or(0.0);
                    total += b;
                    per.insert(row.text(0), json!(b));
                }
                Measured::new(
                    Some(total),
                    format!("{} databases, {:.1} MB in all", rows.len(), total / 1_048_576.0),
                    json!({"databases": per}),
                )
            },
        },
    },
    &host::DISK,
    &Check {
        name: "cache_hit",
        unit: "%",
        warn: Some(98.0),
        crit: Some(90.0),
        below: true,
        scope: Scope::Cluster,
        help: "buffer cache hit ratio (judged after 100000 block accesses)",
        how: How::Sql {
            query: "SELECT sum(blks_hit), sum(blks_read) FROM pg_stat_database",
            eval: |rows| {
                let row = Row::first(rows);
                let hit = row.num(0).unwrap_or(0.0);
                let read = row.num(1).unwrap_or(0.0);
                let total = hit + read;
                let details = json!({"blks_hit": hit, "blks_read": read});
                if total < 100_000.0 {
                    let msg = format!("only {total:.0} block accesses so far: not judged");
                    Measured::new(None, msg, details)
                } else {
                    let pct = hit * 100.0 / total;
                    Measured::new(Some(pct), format!("cache hit ratio {pct:.2}%"), details)
                }
            },
        },
    },
    &Check {
        name: "dead_tuples",
        unit: "%",
        warn: Some(10.0),
        crit: Some(30.0),
        below: false,
        scope: Scope::Database,
        help: "worst dead-tuple share among tables with at least 10000 dead tuples",
        how: How::Sql {
            query: "SELECT format('%I.%I', schemaname, relname), n_dead_tup, n_live_tup, \
                    100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1) FROM pg_stat_user_tables \
                    WHERE n_dead_tup >= 10000 ORDER BY 4 DESC LIMIT 5",
            eval: |rows| {
                let worst = Row::first(rows).num(3).unwrap_or(0.0);
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"table": r.text(0), "dead": r.num(1), "live": r.num(2), "dead_pct": r.num(3).map(round3)}))
                    .collect();
                let msg = match rows.first() {
                    Some(r) => format!("{} has {worst:.1}% dead tuples", r.text(0)),
                    None => "no table with 10000 dead tuples".to_owned(),
                };
                Measured::new(Some(worst), msg, json!({"tables": list}))
            },
        },
    },
    &Check {
        name: "autovacuum",
        unit: "s",
        warn: Some(86400.0),
        crit: Some(604_800.0),
        below: false,
        scope: Scope::Database,
        help: "longest a table has waited for vacuum since crossing the autovacuum threshold",
        how: How::Sql {
            query: "SELECT format('%I.%I', schemaname, relname), n_dead_tup, \
                    extract(epoch from clock_timestamp() - coalesce(greatest(last_vacuum, last_autovacuum), \
                      pg_stat_get_db_stat_reset_time((SELECT oid FROM pg_database WHERE datname = current_database())), \
                      pg_postmaster_start_time())) \
                    FROM pg_stat_user_tables \
                    WHERE n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8 \
                      + current_setting('autovacuum_vacuum_scale_factor')::float8 * n_live_tup \
                    ORDER BY 3 DESC LIMIT 5",
            eval: |rows| {
                let worst = Row::first(rows).num(2).unwrap_or(0.0);
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"table": r.text(0), "dead": r.num(1), "waiting_s": r.num(2).map(round3)}))
                    .collect();
                let msg = match rows.first() {
                    Some(r) => format!("{} due for vacuum, last vacuumed {worst:.0} s ago", r.text(0)),
                    None => "no table past its autovacuum threshold".to_owned(),
                };
                Measured::new(Some(worst), msg, json!({"tables": list}))
            },
        },
    },
    &Check {
        name: "sequences",
        unit: "%",
        warn: Some(85.0),
        crit: Some(95.0),
        below: false,
        scope: Scope::Database,
        help: "most used sequence, bounded by the type of the column it feeds",
        how: How::Sql {
            query: "SELECT seq, pct, typ, col FROM ( \
                      SELECT format('%I.%I', ps.schemaname, ps.sequencename) seq, \
                        CASE WHEN ps.increment_by > 0 THEN \
                          100.0 * (coalesce(ps.last_value, ps.start_value - ps.increment_by)::numeric - ps.min_value + 1) \
                            / greatest(least(ps.max_value::numeric, coalesce(lim.m, ps.max_value)) - ps.min_value + 1, 1) \
                        ELSE 100.0 * (ps.max_value::numeric - coalesce(ps.last_value, ps.max_value + 1) + 1) \
                            / greatest(ps.max_value::numeric - ps.min_value + 1, 1) END pct, \
                        coalesce(col.typ, '') typ, coalesce(col.col, '') col \
                      FROM pg_sequences ps \
                      JOIN pg_namespace n ON n.nspname = ps.schemaname \
                      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = ps.sequencename \
                      LEFT JOIN LATERAL (SELECT a.atttypid::regtype::text typ, \
                          format('%s.%I', d.refobjid::regclass, a.attname) col \
                        FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                        WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass \
                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) col ON true \
                      LEFT JOIN LATERAL (SELECT CASE col.typ WHEN 'smallint' THEN 32767::numeric \
                          WHEN 'integer' THEN 2147483647::numeric END m) lim ON true \
                    ) x ORDER BY pct DESC LIMIT 5",
            eval: |rows| {
                let worst = Row::first(rows).num(1).unwrap_or(0.0);
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        json!({"sequence": r.text(0), "used_pct": r.num(1).map(round3),
                               "column_type": r.nonempty(2), "column": r.nonempty(3)})
                    })
                    .collect();
                let msg = match rows.first() {
                    Some(r) => format!("{} is {worst:.1}% used", r.text(0)),
                    None => "no sequences".to_owned(),
                };
                Measured::new(Some(worst.max(0.0)), msg, json!({"sequences": list}))
            },
        },
    },
    &Check {
        name: "invalid_indexes",
        unit: "count",
        warn: Some(0.0),
        crit: None,
        below: false,
        scope: Scope::Database,
        help: "indexes left invalid (failed CREATE/REINDEX CONCURRENTLY)",
        how: How::Sql {
            query: "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1",
            eval: |rows| {
                let names: Vec<String> = rows.iter().map(|r| r.text(0)).collect();
                let msg = if names.is_empty() {
                    "no invalid indexes".to_owned()
                } else {
                    format!("invalid indexes: {}", names.join(", "))
                };
                Measured::new(Some(count(names.len())), msg, json!({"indexes": names}))
            },
        },
    },
    &Check {
        name: "prepared_xacts",
        unit: "s",
        warn: Some(300.0),
        crit: Some(3600.0),
        below: false,
        scope: Scope::Cluster,
        help: "oldest prepared transaction",
        how: How::Sql {
            query: "SELECT count(*), coalesce(max(extract(epoch from clock_timestamp() - prepared)), 0), \
                    coalesce((array_agg(gid ORDER BY prepared))[1], '') FROM pg_prepared_xacts",
            eval: |rows| {
                let row = Row::first(rows);
                let n = row.num(0).unwrap_or(0.0);
                let v = row.num(1).unwrap_or(0.0);
                Measured::new(
                    Some(v),
                    format!("{n:.0} prepared transactions, oldest {v:.0} s"),
                    json!({"count": n, "oldest_gid": row.nonempty(2)}),
                )
            },
        },
    },
    &latency::LATENCY,
    &tls::TLS,
    &session_defaults::SESSION_DEFAULTS,
    &host::HOST_CPU,
    &host::HOST_MEMORY,
    &azure::STATE,
    &azure::HA,
    &azure::STORAGE_HEADROOM,
    &azure::IOPS,
    &azure_backups::BACKUPS,
    &azure_backups::RESTORE_WINDOW,
    &azure_backups::PENDING_RESTART,
    &azure_maintenance::MAINTENANCE,
    &pooler::WAITING,
    &pooler::MAX_WAIT,
    &pooler::SATURATION,
    &pooler::SERVER_CONNS,
    &pooler::CLIENTS,
];

/// Client connections (also measured by `--azure` from Azure Monitor).
pub const CONNECTIONS: Check = Check {
    name: "connections",
    unit: "%",
    warn: Some(80.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Cluster,
    help: "client connections vs max_connections minus reserved; counts by state in details",
    how: How::Sql {
        query: "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
                current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int \
                  - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0), \
                (SELECT coalesce(json_object_agg(st, n), '{}') FROM (SELECT coalesce(state, 'unknown') st, count(*) n \
                  FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1) s)",
        eval: |rows| {
            let row = Row::first(rows);
            let used = row.num(0).unwrap_or(0.0);
            let avail = row.num(1).unwrap_or(0.0).max(1.0);
            let pct = used * 100.0 / avail;
            Measured::new(
                Some(pct),
                format!("{used:.0} of {avail:.0} connections used ({pct:.1}%)"),
                json!({"used": used, "available": avail, "by_state": row.json(2)}),
            )
        },
    },
};

/// Transaction id age (also measured by `--azure` from Azure Monitor).
pub const XID_WRAPAROUND: Check = Check {
    name: "xid_wraparound",
    unit: "xids",
    warn: Some(1.0e9),
    crit: Some(1.5e9),
    below: false,
    scope: Scope::Cluster,
    help: "age(datfrozenxid) of the oldest database; the 5 oldest tables (heap or TOAST) of the database checked in details",
    how: How::Sql {
        query: "SELECT max(age(datfrozenxid)), \
                (SELECT datname FROM pg_database ORDER BY age(datfrozenxid) DESC LIMIT 1), \
                (SELECT coalesce(json_agg(x), '[]') FROM (SELECT c.oid::regclass::text AS \"table\", \
                   greatest(age(c.relfrozenxid), age(t.relfrozenxid)) AS age FROM pg_class c \
                   LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relkind IN ('r', 'm') \
                   ORDER BY 2 DESC LIMIT 5) x), current_database() FROM pg_database",
        eval: wraparound,
    },
};

/// xid_wraparound and mxid_wraparound: (age, oldest database, its 5
/// oldest tables as JSON, the database checked).
fn wraparound(rows: &[Row]) -> Measured {
    let row = Row::first(rows);
    let v = row.num(0);
    let db = row.text(1);
    // Where to start: the oldest tables (heap or TOAST) of the database checked.
    Measured::new(
        v,
        format!("oldest database {db}: age {:.0}", v.unwrap_or(0.0)),
        json!({"database": db, "limit": 2_147_483_647_i64,
               "oldest_tables": row.json(2), "tables_of": row.text(3)}),
    )
}

#[cfg(test)]
mod tests {
    use super::super::{How, Row, by_name};
    use sw_core::health::Status;

    fn row(cols: &[&str]) -> Row {
        Row(cols.iter().map(|c| Some((*c).to_owned())).collect())
    }

    /// Evaluate a catalogue SQL check on canned rows.
    fn eval(name: &str, rows: &[Row]) -> super::Measured {
        match by_name(name).unwrap().how {
            How::Sql { eval, .. } => eval(rows),
            How::Own => panic!("{name} is not an Sql check"),
        }
    }

    #[test]
    fn connections_are_a_share_of_the_slots_left_after_reserved() {
        let m = eval("connections", &[row(&["45", "90", "{\"active\": 3}"])]);
        assert_eq!(m.value, Some(50.0));
        assert_eq!(m.message, "45 of 90 connections used (50.0%)");
        assert_eq!(m.details["by_state"]["active"], 3);
    }

    #[test]
    fn the_cache_hit_ratio_is_not_judged_on_a_cold_cache() {
        let m = eval("cache_hit", &[row(&["10", "10"])]);
        assert_eq!(m.value, None);
        assert_eq!(m.at_least, Status::Ok);
        let m = eval("cache_hit", &[row(&["990000", "10000"])]);
        assert_eq!(m.value, Some(99.0));
    }

    #[test]
    fn no_rows_is_a_zero_not_an_error() {
        for name in ["dead_tuples", "autovacuum", "sequences", "invalid_indexes"] {
            let m = eval(name, &[]);
            assert_eq!(m.value, Some(0.0), "{name}");
        }
        let m = eval("invalid_indexes", &[row(&["a_idx"]), row(&["b_idx"])]);
        assert_eq!(
            (m.value, m.message.as_str()),
            (Some(2.0), "invalid indexes: a_idx, b_idx")
        );
    }

    #[test]
    fn wraparound_names_the_oldest_database_and_where_to_start() {
        let m = eval(
            "xid_wraparound",
            &[row(&["1200", "app", "[{\"table\": \"t\", \"age\": 1100}]", "app"])],
        );
        assert_eq!(m.value, Some(1200.0));
        assert_eq!(m.message, "oldest database app: age 1200");
        assert_eq!(m.details["oldest_tables"][0]["table"], "t");
        assert_eq!(m.details["tables_of"], "app");
    }
}
