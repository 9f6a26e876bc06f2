//! The checks of a PgBouncer in front of the server (`--pooler-url`),
//! judged from one read of its admin console (`crate::pooler`): clients
//! waiting for a server connection and the longest wait, the fullest
//! pool, server connections in use of the most the pooler may open, and
//! client connections of `max_client_conn`. A pooler that cannot be read
//! makes every one of them UNKNOWN. With `--azure`, `pooler_waiting` is
//! also measured by the metric of Azure's built-in PgBouncer
//! (`checks::azure`).

use serde_json::{Value, json};
use sw_core::health::Status;
use sw_core::pg::Session;
use sw_core::target::Target;

use super::{Check, How, Measured, Scope, round3};
use crate::check::runner::Runner;
use crate::pooler::{self, Console, Fields};

pub const WAITING: Check = Check {
    name: "pooler_waiting",
    unit: "count",
    warn: Some(0.0),
    crit: None,
    below: false,
    scope: Scope::Client,
    help: "clients waiting in PgBouncer for a server connection, all pools (SHOW POOLS cl_waiting) (--pooler-url; --azure: client_connections_waiting)",
    how: How::Own,
};

pub const MAX_WAIT: Check = Check {
    name: "pooler_max_wait",
    unit: "s",
    warn: Some(1.0),
    crit: Some(10.0),
    below: false,
    scope: Scope::Client,
    help: "longest a client now waiting in PgBouncer has waited, the worst pool (SHOW POOLS maxwait) (--pooler-url)",
    how: How::Own,
};

pub const SATURATION: Check = Check {
    name: "pooler_saturation",
    unit: "%",
    warn: Some(80.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Client,
    help: "server connections busy with a client of the pool size, the fullest pool (over 100: the reserve pool is in use) (--pooler-url)",
    how: How::Own,
};

pub const SERVER_CONNS: Check = Check {
    name: "pooler_server_conns",
    unit: "%",
    warn: Some(80.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Client,
    help: "server connections in use by a client of the most PgBouncer may open, the fullest database (max_db_connections, else pool_size + reserve_pool per pool) (--pooler-url)",
    how: How::Own,
};

pub const CLIENTS: Check = Check {
    name: "pooler_clients",
    unit: "%",
    warn: Some(80.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Client,
    help: "client connections of max_client_conn (PgBouncer refuses clients beyond it) (--pooler-url)",
    how: How::Own,
};

/// Every check of the console.
const ALL: [&Check; 5] = [&WAITING, &MAX_WAIT, &SATURATION, &SERVER_CONNS, &CLIENTS];

/// Read the console at `t` and report the checks the run wants.
pub async fn run(r: &mut Runner<'_>, t: &Target, s: &Session) {
    if !r.wants_any(&ALL) {
        return;
    }
    let Some(within) = r.timeout() else {
        for c in ALL {
            if r.wants(c) {
                r.unknown(c, None, crate::check::runner::NOT_RUN.into());
            }
        }
        return;
    };
    let console = pooler::read(t, s, within).await;
    for c in ALL {
        if !r.wants(c) {
            continue;
        }
        match &console {
            Ok(con) => r.push(c, None, judge(c, con)),
            Err(e) => r.unknown(c, None, e.clone()),
        }
    }
}

/// What the console says about check `c`.
fn judge(c: &Check, con: &Console) -> Measured {
    match c.name {
        "pooler_waiting" => waiting(con),
        "pooler_max_wait" => max_wait(con),
        "pooler_saturation" => saturation(con),
        "pooler_server_conns" => server_conns(con),
        _ => clients(con),
    }
}

/// A column as a number (0 when absent or not a number).
fn num(f: &Fields, key: &str) -> f64 {
    f.get(key).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

fn text<'a>(f: &'a Fields, key: &str) -> &'a str {
    f.get(key).map_or("", String::as_str)
}

/// `database/user` of a pool.
fn pool_name(p: &Fields) -> String {
    format!("{}/{}", text(p, "database"), text(p, "user"))
}

/// How long the oldest waiting client of a pool has waited (seconds).
fn wait_of(p: &Fields) -> f64 {
    num(p, "maxwait") + num(p, "maxwait_us") / 1e6
}

fn waiting(con: &Console) -> Measured {
    let total: f64 = con.pools.iter().map(|p| num(p, "cl_waiting")).sum();
    let busy: Vec<Value> = con
        .pools
        .iter()
        .filter(|p| num(p, "cl_waiting") > 0.0)
        .map(|p| {
            json!({"pool": pool_name(p), "cl_waiting": num(p, "cl_waiting"), "cl_active": num(p, "cl_active"),
                   "sv_active": num(p, "sv_active"), "max_wait_s": round3(wait_of(p))})
        })
        .collect();
    let msg = if total > 0.0 {
        format!(
            "{total:.0} clients waiting for a server connection in {} of {} pools",
            busy.len(),
            con.pools.len()
        )
    } else {
        format!("no client waiting ({} pools)", con.pools.len())
    };
    Measured::new(Some(total), msg, json!({"pools": con.pools.len(), "waiting": busy}))
}

fn max_wait(con: &Console) -> Measured {
    let worst = con.pools.iter().max_by(|a, b| wait_of(a).total_cmp(&wait_of(b)));
    match worst {
        Some(p) if wait_of(p) > 0.0 => {
            let v = wait_of(p);
            Measured::new(
                Some(v),
                format!("a client of pool {} has waited {v:.3} s", pool_name(p)),
                json!({"pool": pool_name(p), "cl_waiting": num(p, "cl_waiting")}),
            )
        }
        _ => Measured::new(Some(0.0), "no client waiting", Value::Null),
    }
}

/// The pool size of database `db` (its own, else `default_pool_size`).
fn pool_size(con: &Console, db: &str) -> f64 {
    con.databases
        .iter()
        .find(|d| text(d, "name") == db)
        .map_or_else(|| num(&con.config, "default_pool_size"), |d| num(d, "pool_size"))
}

/// A share in percent; None for an empty whole.
fn pct(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part * 100.0 / whole)
}

fn saturation(con: &Console) -> Measured {
    let worst = con
        .pools
        .iter()
        .filter_map(|p| {
            let size = pool_size(con, text(p, "database"));
            Some((pct(num(p, "sv_active"), size)?, p, size))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match worst {
        Some((v, p, size)) => Measured::new(
            Some(v),
            format!(
                "fullest pool {}: {:.0} of {size:.0} server connections busy ({v:.1}%)",
                pool_name(p),
                num(p, "sv_active")
            ),
            json!({"pool": pool_name(p), "sv_active": num(p, "sv_active"), "sv_idle": num(p, "sv_idle"),
                   "pool_size": size, "pools": con.pools.len()}),
        ),
        None => Measured::new(Some(0.0), "no pool open yet", json!({"pools": 0})),
    }
}

fn server_conns(con: &Console) -> Measured {
    let worst = con
        .databases
        .iter()
        .filter_map(|d| {
            let name = text(d, "name");
            // In use, not open: a pool keeps idle connections after a burst.
            let pools: Vec<&Fields> = con.pools.iter().filter(|p| text(p, "database") == name).collect();
            let used: f64 = pools.iter().map(|p| num(p, "sv_active")).sum();
            let limit = if num(d, "max_connections") > 0.0 {
                num(d, "max_connections")
            } else {
                let reserve = num(d, "reserve_pool").max(num(d, "reserve_pool_size"));
                (num(d, "pool_size") + reserve) * pools.len().max(1) as f64
            };
            Some((pct(used, limit)?, d, used, limit))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match worst {
        Some((v, d, used, limit)) => Measured::new(
            Some(v),
            format!(
                "database {}: {used:.0} of at most {limit:.0} server connections in use ({v:.1}%)",
                text(d, "name")
            ),
            json!({"database": text(d, "name"), "in_use": used, "open": num(d, "current_connections"),
                   "limit": limit, "databases": con.databases.len()}),
        ),
        None => Measured::new(Some(0.0), "no database configured", json!({"databases": 0})),
    }
}

fn clients(con: &Console) -> Measured {
    let used = con.lists.get("used_clients").and_then(|v| v.parse::<f64>().ok());
    let max = num(&con.config, "max_client_conn");
    match used.and_then(|u| Some((u, pct(u, max)?))) {
        Some((u, v)) => Measured::new(
            Some(v),
            format!("{u:.0} of max_client_conn {max:.0} client connections ({v:.1}%)"),
            json!({"used": u, "max_client_conn": max}),
        ),
        None => Measured::new(
            None,
            "the console shows no used_clients or max_client_conn",
            Value::Null,
        )
        .floor(Status::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kv: &[(&str, &str)]) -> Fields {
        kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// PgBouncer 1.18's columns: two pools of `app` (size 20, reserve 5).
    fn console(waiting: &str, maxwait: (&str, &str), sv_active: &str) -> Console {
        let pool = |user: &str, w: &str, mw: (&str, &str), a: &str| {
            row(&[
                ("database", "app"),
                ("user", user),
                ("cl_active", "3"),
                ("cl_waiting", w),
                ("sv_active", a),
                ("sv_idle", "0"),
                ("maxwait", mw.0),
                ("maxwait_us", mw.1),
            ])
        };
        Console {
            pools: vec![
                pool("app", waiting, maxwait, sv_active),
                pool("report", "1", ("0", "0"), "2"),
            ],
            databases: vec![row(&[
                ("name", "app"),
                ("pool_size", "20"),
                ("reserve_pool", "5"),
                ("max_connections", "0"),
                ("current_connections", "22"),
            ])],
            config: [("max_client_conn", "260"), ("default_pool_size", "10")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            lists: [("used_clients".to_owned(), "208".to_owned())].into_iter().collect(),
        }
    }

    fn status(c: &Check, m: &Measured) -> Status {
        c.judge(c.warn, c.crit, m.value).worst(m.at_least)
    }

    #[test]
    fn any_waiting_client_is_a_warning_and_none_is_ok() {
        let m = waiting(&console("180", ("2", "500000"), "20"));
        assert_eq!((m.value, status(&WAITING, &m)), (Some(181.0), Status::Warning));
        assert_eq!(m.details["waiting"][0]["pool"], "app/app");
        assert_eq!(m.details["waiting"][0]["max_wait_s"], 2.5);
        let mut idle = console("0", ("0", "0"), "0");
        idle.pools[1].insert("cl_waiting".into(), "0".into());
        let m = waiting(&idle);
        assert_eq!((m.value, status(&WAITING, &m)), (Some(0.0), Status::Ok));
        assert_eq!(m.message, "no client waiting (2 pools)");
    }

    #[test]
    fn the_longest_wait_adds_its_microseconds_and_crosses_one_and_ten_seconds() {
        for (mw, want, st) in [
            (("0", "400000"), 0.4, Status::Ok),
            (("1", "200000"), 1.2, Status::Warning),
            (("12", "0"), 12.0, Status::Critical),
        ] {
            let m = max_wait(&console("5", mw, "20"));
            assert_eq!(m.value, Some(want));
            assert_eq!(status(&MAX_WAIT, &m), st, "{mw:?}");
        }
        assert_eq!(max_wait(&Console::default()).value, Some(0.0));
    }

    #[test]
    fn saturation_is_the_fullest_pool_of_its_size() {
        for (active, want, st) in [
            ("10", 50.0, Status::Ok),
            ("17", 85.0, Status::Warning),
            ("20", 100.0, Status::Critical),
        ] {
            let m = saturation(&console("0", ("0", "0"), active));
            assert_eq!(m.value, Some(want));
            assert_eq!(status(&SATURATION, &m), st, "{active}");
        }
        // The reserve pool in use: over 100.
        assert_eq!(saturation(&console("0", ("0", "0"), "25")).value, Some(125.0));
        // A pool of a database the console does not list: the default size.
        let mut c = console("0", ("0", "0"), "5");
        c.databases.clear();
        assert_eq!(saturation(&c).value, Some(50.0));
        assert_eq!(saturation(&Console::default()).value, Some(0.0));
    }

    #[test]
    fn server_connections_are_judged_against_the_tightest_limit() {
        // No max_db_connections: (20 + 5) per pool, two pools; 20 + 2 in use.
        let c = console("0", ("0", "0"), "20");
        let m = server_conns(&c);
        assert_eq!(m.value, Some(44.0));
        assert_eq!(
            (m.details["limit"].as_f64(), m.details["open"].as_f64()),
            (Some(50.0), Some(22.0))
        );
        // Idle server connections are not in use.
        assert_eq!(server_conns(&console("0", ("0", "0"), "0")).value, Some(4.0));
        let mut capped = c.clone();
        capped.databases[0].insert("max_connections".into(), "24".into());
        let m = server_conns(&capped);
        assert_eq!(
            (m.value.map(round3), status(&SERVER_CONNS, &m)),
            (Some(91.667), Status::Warning)
        );
    }

    #[test]
    fn clients_are_judged_against_max_client_conn() {
        let m = clients(&console("0", ("0", "0"), "0"));
        assert_eq!(m.value.map(round3), Some(80.0));
        assert_eq!(status(&CLIENTS, &m), Status::Ok);
        let mut full = console("0", ("0", "0"), "0");
        full.lists.insert("used_clients".into(), "250".into());
        assert_eq!(status(&CLIENTS, &clients(&full)), Status::Critical);
        let m = clients(&Console::default());
        assert_eq!((m.value, m.at_least), (None, Status::Unknown));
    }
}
