//! `replication_lag` (a different query on a primary and on a standby) and
//! `replication_slots` (inactivity is judged across runs, from the state
//! dir): single queries whose SQL or judgement depends on the server and
//! the previous run, so their own module.

use std::collections::BTreeMap;

use serde_json::json;
use sw_core::health::Status;

use super::server::Server;
use super::{Check, How, Measured, Row, Scope, round3};
use crate::check::runner::Runner;
use crate::check::session::Sess;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// How long a slot may be inactive before it is a WARNING (a standby
/// restarting or reconnecting is not worth waking anyone).
const SLOT_INACTIVE_GRACE_S: f64 = 600.0;

pub const LAG: Check = Check {
    name: "replication_lag",
    unit: "s",
    warn: Some(60.0),
    crit: Some(300.0),
    below: false,
    scope: Scope::Cluster,
    help: "primary: worst standby replay lag (bytes per standby in details); standby: replay delay",
    how: How::Own,
};

pub const SLOTS: Check = Check {
    name: "replication_slots",
    unit: "B",
    warn: Some(GIB),
    crit: Some(10.0 * GIB),
    below: false,
    scope: Scope::Cluster,
    help: "most WAL retained by a slot; a slot inactive for 10 minutes (across runs) is WARNING, wal_status lost/unreserved CRITICAL",
    how: How::Own,
};

const STANDBY_LAG_SQL: &str = "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
       ELSE coalesce(extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END, \
     coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0), \
     pg_is_wal_replay_paused()";

const PRIMARY_LAG_SQL: &str = "SELECT coalesce(application_name, ''), coalesce(client_addr::text, ''), coalesce(state, ''), \
     coalesce(extract(epoch from replay_lag), 0), \
     coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) FROM pg_stat_replication";

const SLOTS_SQL: &str = "SELECT slot_name, slot_type, active, coalesce(wal_status, ''), \
     coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() \
       ELSE pg_current_wal_lsn() END, restart_lsn), 0), extract(epoch from clock_timestamp()) \
     FROM pg_replication_slots ORDER BY slot_name";

/// `replication_lag`: the same for every session of the server (a fleet
/// runs it once per server).
pub async fn lag(r: &mut Runner<'_>, s: &mut Sess, srv: &Server) {
    if r.wants(&LAG) {
        if srv.standby {
            r.sql(s, &LAG, None, STANDBY_LAG_SQL, standby_lag).await;
        } else {
            r.sql(s, &LAG, None, PRIMARY_LAG_SQL, primary_lag).await;
        }
    }
}

/// `replication_slots`; `inactive_since` is the slots seen inactive by
/// earlier runs of this target, replaced by those inactive now (so it runs
/// in every target's session).
pub async fn slots(r: &mut Runner<'_>, s: &mut Sess, inactive_since: &mut BTreeMap<String, f64>) {
    if r.wants(&SLOTS) {
        r.sql(s, &SLOTS, None, SLOTS_SQL, |rows| slots_judge(rows, inactive_since))
            .await;
    }
}

fn standby_lag(rows: &[Row]) -> Measured {
    let row = Row::first(rows);
    let v = row.num(0).unwrap_or(0.0);
    Measured::new(
        Some(v),
        format!("replay {v:.1} s behind"),
        json!({"replay_bytes": row.num(1), "replay_paused": row.flag(2)}),
    )
}

fn primary_lag(rows: &[Row]) -> Measured {
    let mut worst: f64 = 0.0;
    let mut list = Vec::new();
    for row in rows {
        let lag = row.num(3).unwrap_or(0.0);
        worst = worst.max(lag);
        list.push(json!({"application_name": row.text(0), "client_addr": row.text(1),
            "state": row.text(2), "replay_lag_s": lag, "replay_lag_bytes": row.num(4)}));
    }
    let msg = if rows.is_empty() {
        "no standbys connected".to_owned()
    } else {
        format!("{} standbys, worst replay lag {worst:.1} s", rows.len())
    };
    Measured::new(Some(worst), msg, json!({"standbys": list}))
}

fn slots_judge(rows: &[Row], inactive_since: &mut BTreeMap<String, f64>) -> Measured {
    let mut worst: f64 = 0.0;
    let mut floor = Status::Ok;
    let mut inactive = Vec::new();
    let mut list = Vec::new();
    let mut seen_inactive = BTreeMap::new();
    for row in rows {
        let name = row.text(0);
        let active = row.flag(2);
        let status = row.text(3);
        let bytes = row.num(4).unwrap_or(0.0);
        worst = worst.max(bytes);
        let mut inactive_s = None;
        if !active {
            let now = row.num(5).unwrap_or(0.0);
            let since = inactive_since.get(&name).copied().filter(|t| *t <= now).unwrap_or(now);
            seen_inactive.insert(name.clone(), since);
            if now - since >= SLOT_INACTIVE_GRACE_S {
                floor = floor.worst(Status::Warning);
            }
            inactive_s = Some(round3(now - since));
            inactive.push(name.clone());
        }
        if status == "lost" || status == "unreserved" {
            floor = floor.worst(Status::Critical);
        }
        list.push(json!({"slot": name, "type": row.text(1), "active": active,
            "inactive_s": inactive_s, "wal_status": status, "retained_bytes": bytes}));
    }
    *inactive_since = seen_inactive;
    let msg = if rows.is_empty() {
        "no replication slots".to_owned()
    } else if inactive.is_empty() {
        format!("{} slots, most WAL retained {worst:.0} B", rows.len())
    } else {
        format!(
            "inactive slots: {}; most WAL retained {worst:.0} B",
            inactive.join(", ")
        )
    };
    Measured::new(Some(worst), msg, json!({"slots": list, "inactive": inactive})).floor(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &str, active: bool, wal_status: &str, now: f64) -> Row {
        let cols = [
            name,
            "physical",
            if active { "t" } else { "f" },
            wal_status,
            "100",
            &now.to_string(),
        ];
        Row(cols.iter().map(|c| Some((*c).to_owned())).collect())
    }

    #[test]
    fn an_inactive_slot_is_a_warning_after_its_grace_period() {
        let mut since = BTreeMap::new();
        let m = slots_judge(&[slot("a", false, "reserved", 1000.0)], &mut since);
        assert_eq!((m.at_least, since["a"]), (Status::Ok, 1000.0));
        let m = slots_judge(&[slot("a", false, "reserved", 1700.0)], &mut since);
        assert_eq!(m.at_least, Status::Warning);
        assert_eq!(m.details["slots"][0]["inactive_s"], 700.0);
        // Active again: forgotten.
        let m = slots_judge(&[slot("a", true, "lost", 1800.0)], &mut since);
        assert!(since.is_empty());
        assert_eq!(m.at_least, Status::Critical);
    }
}
