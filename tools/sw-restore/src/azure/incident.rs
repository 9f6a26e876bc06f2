//! What `activate --azure` does for each incident, decided from the
//! primary's real settings before anything is written:
//!
//! - database_failure: a forced HA failover (`POST …/restart` with
//!   `restartWithFailover`) when HA is on; else promotion of a replica in
//!   the same region; else (with --new-server) a point-in-time restore of
//!   the latest point into a new server;
//! - region_failure: promotion of a replica in another region when there
//!   is one; else a geo-restore into the paired region (or --location),
//!   refused when the primary keeps no geo-redundant backup;
//! - data_corruption: a point-in-time restore to just before --before into
//!   a new server, side by side with the damaged one.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sw_core::azure::flexible::target::ServerRef;
use sw_core::azure::flexible::{region, replication_role, text};
use sw_core::{Error, Result};

use super::Ctx;
use super::point::Point;
use super::promote::{self, PromoteMode};
use super::restore::{self, Mode, Request, Spec};
use crate::activate::{ActivateArgs, Incident};

/// The incidents (the local enum, which has region_failure for Azure).
pub type AzureIncident = Incident;

/// What an activation is going to do.
pub enum Plan {
    /// Forced failover to the HA standby.
    Failover { body: Value },
    /// Promote this replica (forced standalone: the primary is gone).
    Promote {
        replica: ServerRef,
        location: String,
        body: Value,
    },
    /// A restore into a new server (point in time or geo).
    Restore { spec: Box<Spec>, request: Request },
}

/// The restart-with-failover body (as ServersRestartWithFailover.json).
pub fn failover_body() -> Value {
    json!({"restartWithFailover": true, "failoverMode": "ForcedFailover"})
}

/// Decide what to do for `a.incident` on the primary in `ctx`.
///
/// # Errors
/// 64 for missing flags; 65 when the primary cannot be recovered the way
/// asked (no geo-redundant backup, a point outside the window); 69 when
/// nothing can stand in for it; ARM errors listing the replicas.
pub fn plan(a: &ActivateArgs, ctx: &Ctx, now: DateTime<Utc>) -> Result<Plan> {
    let here = region(text(&ctx.resource, "/location"));
    match a.incident {
        Incident::DatabaseFailure => {
            let ha = text(&ctx.resource, "/properties/highAvailability/mode");
            if !ha.is_empty() && !ha.eq_ignore_ascii_case("disabled") {
                return Ok(Plan::Failover { body: failover_body() });
            }
            if let Some(p) = replica(ctx, |loc| loc == here)? {
                return Ok(p);
            }
            let Some(new) = &a.azure_activate.new_server else {
                return Err(Error::unavailable(format!(
                    "server {} has no high availability and no replica in {here}: pass --new-server NAME to restore the latest point into a new server",
                    ctx.at.name
                )));
            };
            restore_plan(ctx, new, Mode::PointInTime, None, Point::Latest, now)
        }
        Incident::RegionFailure => {
            if let Some(p) = replica(ctx, |loc| loc != here)? {
                return Ok(p);
            }
            let location = restore::location(Mode::GeoRestore, &ctx.resource, a.azure_activate.location.as_deref())?;
            let new = a
                .azure_activate
                .new_server
                .clone()
                .unwrap_or_else(|| truncated(&format!("{}-{location}", ctx.at.name)));
            restore_plan(ctx, &new, Mode::GeoRestore, Some(location), Point::Latest, now)
        }
        Incident::DataCorruption => {
            let before = a.before.as_deref().ok_or_else(|| {
                Error::usage("--incident data_corruption needs --before TIME (when the damage happened)")
            })?;
            let Point::Time(t) = Point::parse(Some(before)).map_err(|e| e.context("--before"))? else {
                return Err(Error::usage("--before needs a time"));
            };
            // Just before the damage.
            let point = Point::Time(t - Duration::microseconds(1));
            let new = a
                .azure_activate
                .new_server
                .clone()
                .unwrap_or_else(|| truncated(&format!("{}-pitr-{}", ctx.at.name, t.format("%Y%m%d%H%M"))));
            restore_plan(ctx, &new, Mode::PointInTime, None, point, now)
        }
    }
}

/// A server name cut to 63 characters (no trailing hyphen).
fn truncated(name: &str) -> String {
    name.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// Promotion of the first usable replica whose region passes `fits`.
fn replica(ctx: &Ctx, fits: impl Fn(&str) -> bool) -> Result<Option<Plan>> {
    let replicas = ctx.client.list(&ctx.at.path("/replicas"))?;
    let found = replicas.iter().find(|r| {
        replication_role(r).to_ascii_lowercase().contains("replica")
            && !text(r, "/properties/replica/replicationState").eq_ignore_ascii_case("broken")
            && fits(&region(text(r, "/location")))
    });
    let Some(r) = found else { return Ok(None) };
    let replica = ctx.at.resolve(text(r, "/name"))?;
    Ok(Some(Plan::Promote {
        replica,
        location: region(text(r, "/location")),
        body: promote::body(PromoteMode::Standalone, true),
    }))
}

fn restore_plan(
    ctx: &Ctx,
    new: &str,
    mode: Mode,
    location: Option<String>,
    point: Point,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let location = match location {
        Some(l) => l,
        None => restore::location(mode, &ctx.resource, None)?,
    };
    let spec = Spec {
        source: ctx.at.clone(),
        new: ctx.at.resolve(new)?,
        mode,
        location,
        point,
        overrides: restore::AzureRestoreOpts::default().overrides(),
    };
    let request = restore::plan(&spec, &ctx.resource, now)?;
    Ok(Plan::Restore {
        spec: Box::new(spec),
        request,
    })
}
