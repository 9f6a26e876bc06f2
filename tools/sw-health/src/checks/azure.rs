//! The checks of an Azure Flexible Server (`--azure`), judged from what
//! `crate::azure::fetch` read: the server resource (state, high
//! availability, storage), the one metrics answer and the backups list.
//!
//! Where a metric means what a SQL or host check means, it is reported
//! under that check's name (CPU as `host_cpu`, storage as `disk`, failed
//! connections as `failed_sessions`, ...), so the same alert rules, Nagios
//! perfdata and Prometheus series work for both; with a SQL target in the
//! same run the SQL measurement wins and the metric is not reported twice.
//! A metric that failed inside the answer makes its own check UNKNOWN; a
//! round trip that failed makes the checks that need it UNKNOWN.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sw_core::azure::flexible::text;
use sw_core::health::Status;

use super::{Check, How, Measured, Scope, count, host, rates, replication};
use crate::azure::fetch::Fetched;
use crate::azure::metrics::{Answer, Reading};
use crate::check::runner::Runner;

pub const STATE: Check = Check {
    name: "azure_state",
    unit: "",
    warn: None,
    crit: None,
    below: false,
    scope: Scope::Client,
    help: "Azure server state: Ready is OK, starting/updating/restarting WARNING, stopped/disabled/inaccessible CRITICAL (--azure)",
    how: How::Own,
};

pub const HA: Check = Check {
    name: "azure_ha",
    unit: "",
    warn: None,
    crit: None,
    below: false,
    scope: Scope::Client,
    help: "Azure high availability: standby Healthy is OK, being built or failing over WARNING, lost CRITICAL; zones in details (--azure, HA on)",
    how: How::Own,
};

pub const STORAGE_HEADROOM: Check = Check {
    name: "azure_storage_headroom",
    unit: "%",
    warn: Some(20.0),
    crit: Some(10.0),
    below: true,
    scope: Scope::Client,
    help: "share of the most storage the server can have still free (auto-grow counts up to 32 TiB) (--azure)",
    how: How::Own,
};

pub const IOPS: Check = Check {
    name: "azure_iops",
    unit: "%",
    warn: Some(80.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Client,
    help: "disk IOPS used of the provisioned IOPS, over 5 minutes; IOPS in details (--azure)",
    how: How::Own,
};

pub const BACKUPS: Check = Check {
    name: "azure_backups",
    unit: "count",
    warn: None,
    crit: Some(1.0),
    below: true,
    scope: Scope::Client,
    help: "backups Azure holds of the server (none is CRITICAL) (--azure)",
    how: How::Own,
};

pub const RESTORE_WINDOW: Check = Check {
    name: "azure_restore_window",
    unit: "%",
    warn: Some(90.0),
    crit: Some(50.0),
    below: true,
    scope: Scope::Client,
    help: "earliest restore point vs the retention promised (or the server's age when younger) (--azure)",
    how: How::Own,
};

pub const PENDING_RESTART: Check = Check {
    name: "azure_pending_restart",
    unit: "count",
    warn: Some(0.0),
    crit: None,
    below: false,
    scope: Scope::Client,
    help: "server parameters changed but waiting for a restart to take effect; names in details (--azure)",
    how: How::Own,
};

/// Auto-grow's ceiling: the largest Premium SSD size (GiB).
const MAX_STORAGE_GIB: f64 = 32_767.0;

/// Report every Azure check the run wants from what was read. Checks a
/// SQL session of the same run already reported are left to it.
pub fn report(r: &mut Runner<'_>, f: &Fetched) {
    let server = f.server.as_ref();
    if r.wants(&STATE) {
        match server {
            Ok(s) => r.push(&STATE, None, state(s)),
            Err(e) => r.unknown(&STATE, None, e.clone()),
        }
    }
    if r.wants(&HA) {
        match server.map(ha) {
            Ok(Some(m)) => r.push(&HA, None, m),
            Ok(None) => r.skip(&HA),
            Err(e) => r.unknown(&HA, None, e.clone()),
        }
    }
    metric_checks(r, f);
    backups(r, f);
    pending_restart(r, f);
    match server {
        Ok(s) => window(r, s, f.now),
        Err(e) => unknown_unless_reported(r, &RESTORE_WINDOW, e),
    }
}

/// The server's state.
fn state(s: &Value) -> Measured {
    let st = text(s, "/properties/state");
    let status = match st.to_ascii_lowercase().as_str() {
        "ready" => Status::Ok,
        "stopped" | "disabled" | "dropping" | "inaccessible" => Status::Critical,
        _ => Status::Warning,
    };
    let version = [text(s, "/properties/version"), text(s, "/properties/minorVersion")]
        .iter()
        .filter(|v| !v.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".");
    let msg = format!(
        "server {} is {} (PostgreSQL {version}, {}, {})",
        text(s, "/name"),
        if st.is_empty() { "in no state" } else { st },
        text(s, "/sku/name"),
        text(s, "/location"),
    );
    Measured::new(
        None,
        msg,
        json!({"state": st, "version": version, "sku": text(s, "/sku/name"), "tier": text(s, "/sku/tier"),
               "location": text(s, "/location"), "zone": text(s, "/properties/availabilityZone"),
               "replication_role": sw_core::azure::flexible::replication_role(s)}),
    )
    .floor(status)
}

/// High availability; None when it is off.
fn ha(s: &Value) -> Option<Measured> {
    let mode = text(s, "/properties/highAvailability/mode");
    if mode.is_empty() || mode.eq_ignore_ascii_case("disabled") {
        return None;
    }
    let st = text(s, "/properties/highAvailability/state");
    let status = match st.to_ascii_lowercase().as_str() {
        "healthy" => Status::Ok,
        "notenabled" | "removingstandby" | "" => Status::Critical,
        _ => Status::Warning,
    };
    let zone = text(s, "/properties/availabilityZone");
    let standby = text(s, "/properties/highAvailability/standbyAvailabilityZone");
    let msg = format!(
        "{mode} high availability: standby {}",
        if st.is_empty() { "unknown" } else { st }
    );
    Some(
        Measured::new(
            None,
            msg,
            json!({"mode": mode, "state": st, "zone": zone, "standby_zone": standby}),
        )
        .floor(status),
    )
}

/// The checks measured by metrics (the storage headroom also needs the server).
fn metric_checks(r: &mut Runner<'_>, f: &Fetched) {
    let m = match &f.metrics {
        Ok(m) => m,
        Err(e) => {
            let why = format!("Azure Monitor metrics: {e}");
            for c in [
                &host::HOST_CPU,
                &host::HOST_MEMORY,
                &host::DISK,
                &IOPS,
                &STORAGE_HEADROOM,
            ] {
                unknown_unless_reported(r, c, &why);
            }
            for c in [
                &super::catalogue::CONNECTIONS,
                &rates::FAILED_SESSIONS,
                &rates::DEADLOCKS,
                &super::catalogue::XID_WRAPAROUND,
            ] {
                unknown_unless_reported(r, c, &why);
            }
            lag(r, f, None);
            return;
        }
    };
    let pct = |v: f64, what: &str| format!("{what} {v:.1}% over 5 minutes (Azure Monitor)");
    metric(r, m, &host::HOST_CPU, |v| (v, pct(v, "CPU")));
    metric(r, m, &host::HOST_MEMORY, |v| (v, pct(v, "memory")));
    metric(r, m, &host::DISK, |v| {
        (v, format!("storage {v:.1}% used (Azure Monitor)"))
    });
    metric(r, m, &IOPS, |v| {
        (v, format!("{v:.1}% of the provisioned IOPS used over 5 minutes"))
    });
    metric(r, m, &rates::FAILED_SESSIONS, |v| {
        (v, format!("{v:.0} failed connections in 5 minutes (Azure Monitor)"))
    });
    metric(r, m, &super::catalogue::XID_WRAPAROUND, |v| {
        (v, format!("oldest transaction id age {v:.0} (Azure Monitor)"))
    });
    connections(r, m);
    // Deadlocks are only emitted with metrics.collector_database_activity on.
    if matches!(m.get("deadlocks"), None | Some(Reading::NoData)) {
        if r.wants(&rates::DEADLOCKS) && !r.has(&rates::DEADLOCKS) {
            r.skip(&rates::DEADLOCKS);
        }
    } else {
        metric(r, m, &rates::DEADLOCKS, |v| {
            (v, format!("{v:.0} deadlocks in 5 minutes (Azure Monitor)"))
        });
    }
    lag(r, f, Some(m));
    headroom(r, m, f.server.as_ref());
}

/// `replication_lag`: a replica's own (from the server's metrics, None when
/// they failed), a primary's from its replicas.
fn lag(r: &mut Runner<'_>, f: &Fetched, m: Option<&Answer>) {
    match (f.server.as_ref(), m) {
        (Ok(s), Some(m)) if is_replica(s) => metric(r, m, &replication::LAG, |v| {
            (v, format!("replaying {v:.0} s behind the primary (Azure Monitor)"))
        }),
        (Ok(s), None) if is_replica(s) => {
            let why = f
                .metrics
                .as_ref()
                .err()
                .map_or_else(String::new, |e| format!("Azure Monitor metrics: {e}"));
            unknown_unless_reported(r, &replication::LAG, &why);
        }
        (Ok(_), _) => replicas_lag(r, f),
        (Err(e), _) => unknown_unless_reported(r, &replication::LAG, e),
    }
}

/// `replication_lag` of a primary: the worst replay lag of its read
/// replicas (each read from its own resource); skipped without replicas.
fn replicas_lag(r: &mut Runner<'_>, f: &Fetched) {
    let c = &replication::LAG;
    if !open(r, c) {
        return;
    }
    let list = match &f.replicas {
        Ok(l) if l.is_empty() => return r.skip(c),
        Ok(l) => l,
        Err(e) => return r.unknown(c, None, format!("listing the replicas: {e}")),
    };
    let worst = list
        .iter()
        .filter_map(|x| x.lag.as_ref().ok().copied().flatten().map(|v| (v, x)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let failed: Vec<String> = list
        .iter()
        .filter_map(|x| x.lag.as_ref().err().map(|e| format!("{}: {e}", x.name)))
        .collect();
    let broken = list.iter().any(|x| x.state.eq_ignore_ascii_case("broken"));
    let details: Vec<Value> = list
        .iter()
        .map(|x| json!({"name": x.name, "state": x.state, "lag_s": x.lag.as_ref().ok().copied().flatten()}))
        .collect();
    let mut msg = match worst {
        Some((v, x)) => format!(
            "{} replicas, {} the furthest behind: {v:.0} s (Azure Monitor)",
            list.len(),
            x.name
        ),
        None => format!("{} replicas, no replay lag in Azure Monitor", list.len()),
    };
    if !failed.is_empty() {
        msg = format!("{msg}; not read: {}", failed.join("; "));
    }
    let mut m = Measured::new(worst.map(|w| w.0), msg, json!({"replicas": details}));
    if broken {
        m = m.floor(Status::Critical);
    }
    if !failed.is_empty() || worst.is_none() {
        m = m.floor(Status::Unknown);
    }
    r.push(c, None, m);
}

/// Whether the server is a read replica.
fn is_replica(s: &Value) -> bool {
    sw_core::azure::flexible::replication_role(s)
        .to_ascii_lowercase()
        .contains("replica")
}

/// A check the run wants that no SQL session reported yet.
fn open(r: &Runner<'_>, c: &'static Check) -> bool {
    r.wants(c) && !r.has(c)
}

fn unknown_unless_reported(r: &mut Runner<'_>, c: &'static Check, why: &str) {
    if open(r, c) {
        r.unknown(c, None, why.to_owned());
    }
}

/// One check from the metric that measures it: its value through `judge`,
/// or UNKNOWN with why there is none.
fn metric(r: &mut Runner<'_>, m: &Answer, c: &'static Check, judge: impl Fn(f64) -> (f64, String)) {
    if !open(r, c) {
        return;
    }
    // The metric a check is measured by is sw_core's table, the one
    // `sw-alerts azure-apply` alerts on.
    let Some(name) = sw_core::azure::monitor::for_check(c.name).map(|cm| cm.metric) else {
        return r.unknown(c, None, format!("no Azure Monitor metric measures {}", c.name));
    };
    match m.get(name) {
        Some(Reading::Value { value, points }) => {
            let (v, msg) = judge(*value);
            r.push(
                c,
                None,
                Measured::new(Some(v), msg, json!({"metric": name, "points": points})),
            );
        }
        other => r.unknown(c, None, no_value(name, other)),
    }
}

/// Why metric `name` has no value.
fn no_value(name: &str, r: Option<&Reading>) -> String {
    match r {
        Some(Reading::Failed(why)) => format!("Azure Monitor metric {name} failed: {why}"),
        Some(Reading::NoData) => format!("Azure Monitor metric {name} has no data in the last 15 minutes"),
        _ => format!("Azure Monitor did not answer for metric {name}"),
    }
}

/// `connections`: active connections of max_connections.
fn connections(r: &mut Runner<'_>, m: &Answer) {
    let c = &super::catalogue::CONNECTIONS;
    if !open(r, c) {
        return;
    }
    match (m.value("active_connections"), m.value("max_connections")) {
        (Some(used), Some(max)) if max > 0.0 => {
            let p = used * 100.0 / max;
            let msg = format!("{used:.0} of {max:.0} connections used ({p:.1}%, Azure Monitor)");
            r.push(
                c,
                None,
                Measured::new(Some(p), msg, json!({"used": used, "available": max})),
            );
        }
        (None, _) => r.unknown(c, None, no_value("active_connections", m.get("active_connections"))),
        _ => r.unknown(c, None, no_value("max_connections", m.get("max_connections"))),
    }
}

/// `azure_storage_headroom`: what the server may still fill, auto-grow counted.
fn headroom(r: &mut Runner<'_>, m: &Answer, server: Result<&Value, &String>) {
    if !open(r, &STORAGE_HEADROOM) {
        return;
    }
    let s = match server {
        Ok(s) => s,
        Err(e) => return r.unknown(&STORAGE_HEADROOM, None, e.clone()),
    };
    let Some(used_pct) = m.value("storage_percent") else {
        let why = no_value("storage_percent", m.get("storage_percent"));
        return r.unknown(&STORAGE_HEADROOM, None, why);
    };
    let size = s
        .pointer("/properties/storage/storageSizeGB")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let grows = text(s, "/properties/storage/autoGrow").eq_ignore_ascii_case("enabled");
    let used = size * used_pct / 100.0;
    let ceiling = if grows { MAX_STORAGE_GIB.max(size) } else { size };
    let free = if ceiling > 0.0 {
        100.0 * (ceiling - used) / ceiling
    } else {
        100.0 - used_pct
    };
    let msg = format!(
        "{used:.0} of {size:.0} GiB used, auto-grow {}: {free:.1}% headroom",
        if grows { "on" } else { "off" }
    );
    let details = json!({"storage_gib": size, "used_gib": used, "auto_grow": grows, "ceiling_gib": ceiling,
                         "tier": text(s, "/properties/storage/tier"), "iops": s.pointer("/properties/storage/iops")});
    r.push(
        &STORAGE_HEADROOM,
        None,
        Measured::new(Some(free.max(0.0)), msg, details),
    );
}

/// `azure_backups`, `azure_restore_window` and `backup_age` (the newest
/// backup; a --backup-repo of the same run wins).
fn backups(r: &mut Runner<'_>, f: &Fetched) {
    let list = match &f.backups {
        Ok(l) => l,
        Err(e) => {
            for c in [&BACKUPS, &super::backup::BACKUP_AGE] {
                unknown_unless_reported(r, c, e);
            }
            return;
        }
    };
    let done: Vec<DateTime<Utc>> = list
        .iter()
        .filter_map(|b| b.pointer("/properties/completedTime").and_then(Value::as_str))
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .collect();
    if open(r, &BACKUPS) {
        let full = list
            .iter()
            .filter(|b| text(b, "/properties/backupType").eq_ignore_ascii_case("full"))
            .count();
        let msg = format!(
            "{} backups ({full} automatic full, {} completed)",
            list.len(),
            done.len()
        );
        let m = Measured::new(
            Some(count(list.len())),
            msg,
            json!({"full": full, "completed": done.len()}),
        );
        r.push(&BACKUPS, None, m);
    }
    let age = &super::backup::BACKUP_AGE;
    if open(r, age) {
        match done.iter().max() {
            Some(t) => {
                let s = (f.now - *t).num_milliseconds() as f64 / 1000.0;
                let msg = format!("newest Azure backup finished {s:.0} s ago");
                let details = json!({"completed": sw_core::output::rfc3339(*t)});
                r.push(age, None, Measured::new(Some(s.max(0.0)), msg, details));
            }
            None => r.push(
                age,
                None,
                Measured::new(None, "no completed Azure backup", Value::Null).floor(Status::Critical),
            ),
        }
    }
}

/// `azure_pending_restart`: parameters whose new value waits for a restart.
fn pending_restart(r: &mut Runner<'_>, f: &Fetched) {
    if !open(r, &PENDING_RESTART) {
        return;
    }
    match &f.parameters {
        Ok(list) => {
            let names: Vec<&str> = list
                .iter()
                .filter(|p| p.pointer("/properties/isConfigPendingRestart") == Some(&json!(true)))
                .map(|p| text(p, "/name"))
                .collect();
            let msg = if names.is_empty() {
                "no parameter waits for a restart".to_owned()
            } else {
                format!("waiting for a restart: {}", names.join(", "))
            };
            let m = Measured::new(Some(count(names.len())), msg, json!({"parameters": names}));
            r.push(&PENDING_RESTART, None, m);
        }
        Err(e) => r.unknown(&PENDING_RESTART, None, e.clone()),
    }
}

/// `azure_restore_window`: how far back a restore can go, as a share of
/// the retention (or of the server's age, for a younger server).
fn window(r: &mut Runner<'_>, s: &Value, now: DateTime<Utc>) {
    if !open(r, &RESTORE_WINDOW) {
        return;
    }
    let at = |p: &str| {
        DateTime::parse_from_rfc3339(text(s, p))
            .ok()
            .map(|t| (now - t.to_utc()).num_seconds() as f64)
    };
    let days = s
        .pointer("/properties/backup/backupRetentionDays")
        .and_then(Value::as_f64)
        .unwrap_or(7.0);
    let Some(reach) = at("/properties/backup/earliestRestoreDate") else {
        let why = "the server has no earliestRestoreDate".to_owned();
        return r.unknown(&RESTORE_WINDOW, None, why);
    };
    let promise = days * 86_400.0;
    let expected = at("/systemData/createdAt").map_or(promise, |age| age.min(promise));
    let pct = if expected < 3600.0 {
        100.0
    } else {
        (reach.max(0.0) * 100.0 / expected).min(100.0)
    };
    let msg = format!(
        "restores reach back {:.1} days of the {days:.0} days retained ({pct:.0}%)",
        reach / 86_400.0
    );
    let details = json!({"earliest_restore": text(s, "/properties/backup/earliestRestoreDate"),
                         "retention_days": days, "expected_s": expected, "reach_s": reach});
    r.push(&RESTORE_WINDOW, None, Measured::new(Some(pct), msg, details));
}
