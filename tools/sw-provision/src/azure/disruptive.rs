//! The changes that take a server offline or cannot be taken back, applied
//! only with `--apply-disruptive` (and printed by `--dry-run` with it);
//! without it, each is a warning saying what the flag would do.
//!
//! - A major version upgrade (`--pg-version` above the server's): checked
//!   first against what Azure's own pre-check refuses (the capabilities'
//!   `supportedVersionsToUpgrade`, read replicas, extensions allowed in
//!   `azure.extensions` that pg_upgrade cannot carry, Premium SSD v2
//!   storage), then an on-demand backup, then the in-place upgrade
//!   (`ServersUpdateWithMajorVersionUpgrade`: `createMode` Update and the
//!   new `version`), each waited for.
//! - Moving the HA standby to another zone: Azure picks the standby's zone
//!   when HA is enabled, so HA is disabled and enabled again with the new
//!   zone (the server runs without a standby in between). A failover that
//!   swapped the zones is not drift.
//! - Geo-redundant backup is fixed at create time: never a write; the
//!   message names the restore that changes it.

use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::{Error, Result};

use super::args::{ApplyArgs, Ha};
use super::body::Want;
use super::plan::Step;
use super::record::{Action, Method};
use super::server::{replication_role, same, text};
use super::target::Target;

/// Extensions pg_upgrade on Flexible Server refuses for a target major
/// version (they must be out of `azure.extensions` first): Azure's
/// "Major version upgrades" limitations.
fn blocked_extensions(to: u32) -> Vec<&'static str> {
    let mut v = vec![
        "timescaledb",
        "dblink",
        "orafce",
        "pg_partman",
        "postgres_fdw",
        "pg_repack",
        "hypopg",
    ];
    if to >= 16 {
        v.push("pgrouting");
    }
    if to >= 17 {
        v.extend(["age", "azure_ai", "hll", "pg_diskann"]);
    }
    v
}

/// What this run may do, and where it notes what it may not.
pub struct Ctx<'a> {
    pub a: &'a ApplyArgs,
    pub t: &'a Target,
    pub c: &'a ArmClient,
    /// The location's capabilities (as `caps::check` read them).
    pub caps: &'a Value,
    pub steps: &'a mut Vec<Step>,
    pub warnings: &'a mut Vec<String>,
}

/// Plan the disruptive changes `w` asks of `server`.
///
/// # Errors
/// 65 when one is asked for with `--apply-disruptive` and cannot be done
/// (its pre-check fails, or Azure cannot change it at all).
pub fn plan(cx: &mut Ctx<'_>, w: &Want, server: &Value) -> Result<()> {
    major_version(cx, w, server)?;
    zones(cx, w, server);
    geo_backup(cx, w, server)
}

/// A warning without `--apply-disruptive`, an error with it.
fn cannot(cx: &mut Ctx<'_>, msg: String) -> Result<()> {
    if cx.a.apply_disruptive {
        return Err(Error::data(msg));
    }
    cx.warnings.push(msg);
    Ok(())
}

fn major_version(cx: &mut Ctx<'_>, w: &Want, server: &Value) -> Result<()> {
    let have = text(server, "/properties/version");
    let (Ok(from), Ok(to)) = (have.parse::<u32>(), w.pg_version.parse::<u32>()) else {
        return Ok(());
    };
    if to < from {
        return cannot(
            cx,
            format!("the server runs PostgreSQL {from} and a major version cannot go down to {to}"),
        );
    }
    if to == from {
        return Ok(());
    }
    if !cx.a.apply_disruptive {
        cx.warnings.push(format!(
            "the server runs PostgreSQL {from}: --pg-version {to} is an in-place major version upgrade; run again with --apply-disruptive to take an on-demand backup and then upgrade (the server is offline while it runs)"
        ));
        return Ok(());
    }
    upgrade_precheck(cx, server, from, to)?;
    let name = format!(
        "sw-pre-upgrade-pg{from}-pg{to}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    cx.steps.push(Step {
        method: Method::Put,
        path: cx.t.path(&format!("/backups/{name}")),
        body: None,
        action: Action::Backup,
        detail: format!("{name}, before the upgrade to PostgreSQL {to}"),
    });
    cx.steps.push(Step {
        method: Method::Patch,
        path: cx.t.path(""),
        body: Some(json!({"properties": {"createMode": "Update", "version": to.to_string()}})),
        action: Action::UpgradeMajorVersion,
        detail: format!("PostgreSQL {from} to {to}, in place (the server is offline while it runs)"),
    });
    Ok(())
}

/// What Azure's upgrade pre-check would refuse, found before anything is written.
fn upgrade_precheck(cx: &Ctx<'_>, server: &Value, from: u32, to: u32) -> Result<()> {
    let refuse = |why: String| Err(Error::data(format!("cannot upgrade PostgreSQL {from} to {to}: {why}")));
    let role = replication_role(server);
    if role.to_ascii_lowercase().contains("replica") {
        return refuse(format!("the server is a read replica ({role}); upgrade its primary"));
    }
    let offered: Vec<&str> = cx
        .caps
        .pointer("/value/0/supportedServerVersions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| text(v, "/name") == from.to_string())
        .filter_map(|v| v.get("supportedVersionsToUpgrade")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !offered.contains(&to.to_string().as_str()) {
        return refuse(format!(
            "the location offers upgrades from {from} to {}",
            if offered.is_empty() {
                "nothing".to_owned()
            } else {
                offered.join(", ")
            }
        ));
    }
    if same(text(server, "/properties/storage/type"), "PremiumV2_LRS") {
        return refuse("servers on Premium SSD v2 storage cannot be upgraded in place".into());
    }
    let replicas = cx.c.list(&cx.t.path("/replicas"))?;
    if !replicas.is_empty() {
        let names: Vec<&str> = replicas.iter().map(|r| text(r, "/name")).collect();
        return refuse(format!(
            "it has read replicas ({}); delete them first and create them again afterwards",
            names.join(", ")
        ));
    }
    let allowed =
        cx.c.get_opt(&cx.t.path("/configurations/azure.extensions"))?
            .map(|v| text(&v, "/properties/value").to_ascii_lowercase())
            .unwrap_or_default();
    let blocked: Vec<&str> = blocked_extensions(to)
        .into_iter()
        .filter(|b| allowed.split(',').any(|x| x.trim() == *b))
        .collect();
    if !blocked.is_empty() {
        return refuse(format!(
            "azure.extensions allows {}, which the in-place upgrade cannot carry: drop them and take them out of azure.extensions first",
            blocked.join(", ")
        ));
    }
    Ok(())
}

/// Zones: a failover swaps primary and standby (not drift); a standby in
/// another zone than asked is moved with `--apply-disruptive`; the
/// primary's zone is chosen at create time.
fn zones(cx: &mut Ctx<'_>, w: &Want, server: &Value) {
    if w.ha == Ha::Disabled || !same(text(server, "/properties/highAvailability/mode"), w.ha.arm()) {
        // No standby, or HA is being switched on or off (the PATCH carries the zone).
        return;
    }
    let have = (
        text(server, "/properties/availabilityZone"),
        text(server, "/properties/highAvailability/standbyAvailabilityZone"),
    );
    let want = (cx.a.zone.as_deref(), cx.a.standby_zone.as_deref());
    let fits = |w: Option<&str>, h: &str| w.is_none_or(|w| w == h);
    let straight = fits(want.0, have.0) && fits(want.1, have.1);
    let swapped = fits(want.0, have.1) && fits(want.1, have.0);
    if straight || swapped {
        return;
    }
    let Some(z) = want.1.filter(|_| fits(want.0, have.0)) else {
        cx.warnings.push(format!(
            "zones are {}/{} (primary/standby), not as asked; the primary's zone is chosen at create time (a planned failover swaps the two)",
            have.0, have.1
        ));
        return;
    };
    if !cx.a.apply_disruptive {
        cx.warnings.push(format!(
            "the HA standby is in zone {}, not {z}: run again with --apply-disruptive to move it (HA is disabled and enabled again; no standby in between)",
            have.1
        ));
        return;
    }
    let mode = w.ha.arm();
    cx.steps.push(Step {
        method: Method::Patch,
        path: cx.t.path(""),
        body: Some(json!({"properties": {"highAvailability": {"mode": "Disabled"}}})),
        action: Action::DisableHa,
        detail: format!("to move the standby from zone {} to {z}", have.1),
    });
    cx.steps.push(Step {
        method: Method::Patch,
        path: cx.t.path(""),
        body: Some(json!({"properties": {"highAvailability": {"mode": mode, "standbyAvailabilityZone": z}}})),
        action: Action::EnableHa,
        detail: format!("{mode} with the standby in zone {z}"),
    });
}

/// Geo-redundant backup is fixed at create time: say so, and how to change it.
fn geo_backup(cx: &mut Ctx<'_>, w: &Want, server: &Value) -> Result<()> {
    let have = text(server, "/properties/backup/geoRedundantBackup");
    if cx.a.geo_redundant_backup.is_none() || same(have, w.geo_redundant_backup.arm()) {
        return Ok(());
    }
    let name = &cx.t.name;
    let want = w.geo_redundant_backup.arm();
    cannot(
        cx,
        format!(
            "geo-redundant backup is {have} on {name}, and Azure fixes it when a server is created: restore {name} into a new server with it {want} (a point-in-time restore, createMode PointInTimeRestore with backup.geoRedundantBackup {want}, e.g. `az postgres flexible-server restore --source-server {name} --name NEW --geo-redundant-backup {want}`; a server with geo-redundant backup can also be geo-restored into its paired region, createMode GeoRestore), then move the application to it"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_extensions_grow_with_the_target() {
        assert!(!blocked_extensions(15).contains(&"pgrouting"));
        assert!(blocked_extensions(16).contains(&"pgrouting"));
        assert!(blocked_extensions(17).contains(&"age"));
        assert!(blocked_extensions(14).contains(&"timescaledb"));
    }
}
