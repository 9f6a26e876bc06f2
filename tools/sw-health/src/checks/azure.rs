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
//! round trip that failed makes the checks that need it UNKNOWN. The backup
//! checks are `azure_backups`.

use serde_json::{Value, json};
use sw_core::azure::flexible::text;
use sw_core::health::Status;

use super::{Check, How, Measured, Scope, azure_backups, host, rates, replication};
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
    azure_backups::report(r, f);
    super::azure_maintenance::report(r, f);
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
    let mut msg = format!(
        "{mode} high availability: standby {}",
        if st.is_empty() { "unknown" } else { st }
    );
    // Zone-redundant in name only: a zone outage takes both. (A failover swaps the zones: not this.)
    let one_zone = mode.eq_ignore_ascii_case("zoneredundant") && !zone.is_empty() && zone == standby;
    if one_zone {
        msg = format!("{msg}, but in the primary's zone {zone}");
    }
    let status = if one_zone {
        status.worst(Status::Warning)
    } else {
        status
    };
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
                &super::pooler::WAITING,
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
    // Deadlocks are only emitted with metrics.collector_database_activity
    // on, the built-in PgBouncer's metrics with pgbouncer.enabled and
    // metrics.pgbouncer_diagnostics: without them the check does not apply.
    optional_metric(r, m, &rates::DEADLOCKS, |v| {
        (v, format!("{v:.0} deadlocks in 5 minutes (Azure Monitor)"))
    });
    optional_metric(r, m, &super::pooler::WAITING, |v| {
        (
            v,
            format!("{v:.1} clients waiting in the built-in PgBouncer, mean over 5 minutes (Azure Monitor)"),
        )
    });
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
pub(super) fn open(r: &Runner<'_>, c: &'static Check) -> bool {
    r.wants(c) && !r.has(c)
}

pub(super) fn unknown_unless_reported(r: &mut Runner<'_>, c: &'static Check, why: &str) {
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

/// [`metric`] for a metric a server parameter enables: skipped without data.
fn optional_metric(r: &mut Runner<'_>, m: &Answer, c: &'static Check, judge: impl Fn(f64) -> (f64, String)) {
    let name = sw_core::azure::monitor::for_check(c.name).map_or("", |cm| cm.metric);
    if matches!(m.get(name), None | Some(Reading::NoData)) {
        if open(r, c) {
            r.skip(c);
        }
    } else {
        metric(r, m, c, judge);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(mode: &str, state: &str, zone: &str, standby: &str) -> Value {
        json!({"properties": {"availabilityZone": zone, "highAvailability":
            {"mode": mode, "state": state, "standbyAvailabilityZone": standby}}})
    }

    #[test]
    fn high_availability_is_judged_by_the_standby_and_its_zone() {
        assert!(ha(&server("Disabled", "NotEnabled", "1", "")).is_none());
        let ok = ha(&server("ZoneRedundant", "Healthy", "1", "2")).unwrap();
        assert_eq!(ok.at_least, Status::Ok);
        assert_eq!(ok.details["standby_zone"], "2");
        let building = ha(&server("ZoneRedundant", "CreatingStandby", "1", "2")).unwrap();
        assert_eq!(building.at_least, Status::Warning);
        let lost = ha(&server("SameZone", "NotEnabled", "1", "1")).unwrap();
        assert_eq!(lost.at_least, Status::Critical);
        let same = ha(&server("ZoneRedundant", "Healthy", "3", "3")).unwrap();
        assert_eq!(same.at_least, Status::Warning);
        assert!(
            same.message.ends_with("but in the primary's zone 3"),
            "{}",
            same.message
        );
        assert_eq!(
            ha(&server("SameZone", "Healthy", "1", "1")).unwrap().at_least,
            Status::Ok
        );
    }

    #[test]
    fn the_server_state_decides_its_status() {
        for (st, want) in [
            ("Ready", Status::Ok),
            ("Updating", Status::Warning),
            ("Stopped", Status::Critical),
            ("Inaccessible", Status::Critical),
        ] {
            let s = json!({"name": "db", "properties": {"state": st, "version": "17", "minorVersion": "5"}});
            assert_eq!(state(&s).at_least, want, "{st}");
        }
    }
}
