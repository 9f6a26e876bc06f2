//! `sw-alerts azure-apply`: Azure Monitor for a Flexible Server from the
//! same rule pack `eval` runs: a Log Analytics workspace, an action group
//! (email and webhook receivers), the server's diagnostic setting (every
//! category it offers into the workspace) and a metric alert per rule whose check a
//! server metric measures ([`bodies`]). Idempotent: each resource is read
//! first and sent only when a property differs ([`diff`]); `--dry-run`
//! sends nothing but the reads and prints the requests it would send;
//! `--verify-only` sends nothing and reports each property that differs.
//! Every resource it writes is tagged `sw-managed`; `--prune` removes the
//! metric alerts so tagged that the pack dropped; `--audit` turns pgaudit
//! on ([`audit`]).

pub mod audit;
pub mod bodies;
pub mod diff;

use std::path::PathBuf;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sw_core::azure::flexible::ops::{AzureRequest, Method};
use sw_core::azure::flexible::target::AzureOpts;
use sw_core::contract::Record;
use sw_core::output::Output;
use sw_core::{Error, Result};

use crate::rules::RuleFile;
use bodies::{Plan, Want};

/// Flags of `sw-alerts azure-apply`.
#[derive(Args, Debug)]
pub struct AzureApplyArgs {
    #[command(flatten)]
    pub azure: AzureOpts,
    /// Rule file (TOML) whose rules become metric alerts; the built-in default pack when not given.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// An email receiver of the action group (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub email: Vec<String>,
    /// A webhook receiver of the action group (repeatable; https).
    #[arg(long, value_name = "URL")]
    pub webhook: Vec<String>,
    /// Log Analytics workspace (default: SERVER-logs).
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    /// Days the workspace keeps data.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(30..=730))]
    pub retention_days: u32,
    /// Action group (default: SERVER-alerts).
    #[arg(long, value_name = "NAME")]
    pub action_group: Option<String>,
    /// Read what is there and print the requests that would change it (azure.request); send nothing else.
    #[arg(long, conflicts_with = "verify_only")]
    pub dry_run: bool,
    /// Send nothing: report every property that differs from the rule pack
    /// (azure.drift records) and exit 1 when one does.
    #[arg(long)]
    pub verify_only: bool,
    /// Turn pgaudit on: allow-list it, preload it (the server restarts
    /// once when that changes) and log --audit-classes; its log lines reach
    /// the workspace through the PostgreSQLLogs category.
    #[arg(long)]
    pub audit: bool,
    /// The statement classes pgaudit logs (pgaudit.log).
    #[arg(long, value_name = "CLASSES", default_value = "ddl,role", requires = "audit")]
    pub audit_classes: String,
    /// Delete the metric alerts on this server that sw-alerts made
    /// (tagged sw-managed) and the rule pack no longer has.
    #[arg(long)]
    pub prune: bool,
}

/// A property of an Azure resource that is not what the rule pack wants
/// (`--verify-only`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AzureDrift {
    /// `workspace`, `action_group`, `diagnostic_setting` or `metric_alert`.
    pub resource: String,
    pub name: String,
    /// The property's path (`properties.criteria.allOf[0].threshold`); empty when the resource is missing.
    pub property: String,
    pub want: Value,
    /// What Azure has; null when it has none.
    pub have: Value,
}

impl Record for AzureDrift {
    const KIND: &'static str = "azure.drift";
}

/// What `azure-apply` did (or, with `--dry-run`, would do) to one resource.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AzureResource {
    /// `workspace`, `action_group`, `diagnostic_setting` or `metric_alert`.
    pub resource: String,
    pub name: String,
    /// The ARM id.
    pub id: String,
    /// `create`, `update`, `unchanged` or `delete` (--prune).
    pub action: String,
    /// Whether it was sent (false with --dry-run and for unchanged ones).
    pub sent: bool,
    /// The properties that differed (path, wanted and found values).
    pub changes: Vec<Change>,
}

/// One property that differs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Change {
    /// The property's path in the body (`properties.criteria.allOf[0].threshold`).
    pub property: String,
    pub want: Value,
    /// What Azure has; null when it has none.
    pub have: Value,
}

impl Record for AzureResource {
    const KIND: &'static str = "alerts.azure_resource";
}

/// A rule of the pack that no metric alert expresses.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AzureUnmapped {
    pub rule: String,
    pub check: String,
    /// Why no metric alert expresses it.
    pub reason: String,
}

impl Record for AzureUnmapped {
    const KIND: &'static str = "alerts.azure_unmapped";
}

/// Run `azure-apply`.
///
/// # Errors
/// 64 for bad flags or no receiver; 66 when the server does not exist;
/// the ARM client's errors (69, 75, 77, 78) otherwise.
pub fn run(a: &AzureApplyArgs, pretty: bool) -> Result<()> {
    if a.email.is_empty() && a.webhook.is_empty() {
        return Err(Error::usage(
            "azure-apply needs at least one --email or --webhook receiver",
        ));
    }
    if let Some(u) = a.webhook.iter().find(|u| !u.starts_with("https://")) {
        return Err(Error::usage(format!("--webhook {u:?}: Azure calls https URLs only")));
    }
    let pack = RuleFile::load(a.rules.as_deref())?;
    let server = a.azure.server_ref()?;
    let c = a.azure.client()?;
    let s = c.get_opt(&server.path(""))?.ok_or_else(|| {
        Error::no_input(format!(
            "no server {} in resource group {}",
            server.name, server.resource_group
        ))
    })?;
    let id = server.id();
    let location = sw_core::azure::flexible::text(&s, "/location").to_owned();
    // A rule on the share of connections in use needs the server's max_connections.
    let max_connections = if pack.rules.iter().any(|r| r.check == "connections") {
        c.get_opt(&server.path("/configurations/max_connections"))?
            .and_then(|v| {
                sw_core::azure::flexible::text(&v, "/properties/value")
                    .parse::<f64>()
                    .ok()
            })
    } else {
        None
    };
    let workspace = a.workspace.clone().unwrap_or_else(|| format!("{}-logs", server.name));
    let action_group = a
        .action_group
        .clone()
        .unwrap_or_else(|| format!("{}-alerts", server.name));
    let plan = Plan {
        subscription: &server.subscription,
        resource_group: &server.resource_group,
        server_id: &id,
        location: &location,
        workspace: &workspace,
        retention_days: a.retention_days,
        action_group: &action_group,
        emails: &a.email,
        webhooks: &a.webhook,
        prefix: &server.name,
        max_connections,
    };
    let (alerts, unmapped) = plan.alerts(&pack);
    let names: Vec<String> = alerts.iter().map(|w| w.name.to_ascii_lowercase()).collect();
    // The categories the server offers, read rather than assumed.
    let categories = c.list(&format!(
        "{id}/providers/Microsoft.Insights/diagnosticSettingsCategories?api-version={}",
        bodies::DIAGNOSTICS_API
    ))?;
    let wants = [plan.workspace(), plan.action_group()]
        .into_iter()
        .chain(plan.diagnostics(&categories))
        .chain(alerts);
    let mut out = Output::stdout(pretty);
    let mut drifted = 0;
    for w in wants {
        if a.verify_only {
            drifted += verify(&c, &w, &mut out)?;
        } else {
            let rec = apply(&c, &w, a.dry_run, &mut out)?;
            out.emit(&rec)?;
        }
    }
    if a.audit {
        let mode = if a.verify_only {
            audit::Mode::VerifyOnly
        } else if a.dry_run {
            audit::Mode::DryRun
        } else {
            audit::Mode::Apply
        };
        let changed = audit::run(&c, &server, &a.audit_classes, mode, &mut out)?;
        if a.verify_only {
            drifted += changed;
        }
    }
    if a.prune {
        drifted += prune(&c, &plan, &names, a, &mut out)?;
    }
    for u in unmapped {
        out.emit(&AzureUnmapped {
            rule: u.rule,
            check: u.check,
            reason: u.reason,
        })?;
    }
    out.flush()?;
    if drifted > 0 {
        return Err(Error::new(
            sw_core::Exit::Warning,
            format!("{drifted} properties differ from the rule pack (azure.drift records)"),
        ));
    }
    Ok(())
}

/// Delete (or with --dry-run print, or with --verify-only report) the
/// sw-managed metric alerts of this server that are not in `keep`; how
/// many drifted (--verify-only).
fn prune(
    c: &sw_core::azure::ArmClient,
    plan: &Plan<'_>,
    keep: &[String],
    a: &AzureApplyArgs,
    out: &mut Output,
) -> Result<usize> {
    let list = c.list(&plan.alerts_path())?;
    let mut drifted = 0;
    for have in list {
        let name = sw_core::azure::flexible::text(&have, "/name").to_owned();
        let managed = have
            .pointer(&format!("/tags/{}", bodies::MANAGED_TAG))
            .and_then(Value::as_str)
            == Some("true");
        let ours = have
            .pointer("/properties/scopes")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(plan.server_id)))
            });
        if !managed || !ours || keep.contains(&name.to_ascii_lowercase()) {
            continue;
        }
        let id = sw_core::azure::flexible::text(&have, "/id").to_owned();
        let path = format!("{id}?api-version={}", bodies::METRIC_ALERT_API);
        if a.verify_only {
            drifted += 1;
            out.emit(&AzureDrift {
                resource: "metric_alert".into(),
                name,
                property: String::new(),
                want: Value::Null,
                have,
            })?;
            continue;
        }
        if a.dry_run {
            out.emit(&AzureRequest {
                method: Method::Delete,
                url: c.url(&path),
                body: None,
            })?;
        } else {
            c.mutate("DELETE", &path, None)?;
        }
        out.emit(&AzureResource {
            resource: "metric_alert".into(),
            name,
            id,
            action: "delete".into(),
            sent: !a.dry_run,
            changes: Vec::new(),
        })?;
    }
    Ok(drifted)
}

/// The drift of one resource, as records; how many.
fn verify(c: &sw_core::azure::ArmClient, w: &Want, out: &mut Output) -> Result<usize> {
    let drift = |property: String, want: Value, have: Value| AzureDrift {
        resource: w.kind.to_owned(),
        name: w.name.clone(),
        property,
        want,
        have,
    };
    let recs: Vec<AzureDrift> = match c.get_opt(&w.path())? {
        None => vec![drift(String::new(), w.body.clone(), Value::Null)],
        Some(h) => diff::diff(&w.body, &h)
            .into_iter()
            .map(|d| drift(d.property, d.want, d.have))
            .collect(),
    };
    for r in &recs {
        out.emit(r)?;
    }
    Ok(recs.len())
}

/// Read one resource, and send it when it differs (unless a dry run).
fn apply(c: &sw_core::azure::ArmClient, w: &Want, dry_run: bool, out: &mut Output) -> Result<AzureResource> {
    let have = c.get_opt(&w.path())?;
    let (action, changes) = match &have {
        None => ("create", Vec::new()),
        Some(h) => {
            let d = diff::diff(&w.body, h);
            (if d.is_empty() { "unchanged" } else { "update" }, d)
        }
    };
    let send = action != "unchanged";
    if send && dry_run {
        out.emit(&AzureRequest {
            method: Method::Put,
            url: c.url(&w.path()),
            body: Some(w.body.clone()),
        })?;
    } else if send {
        c.mutate("PUT", &w.path(), Some(&w.body))?;
    }
    Ok(AzureResource {
        resource: w.kind.to_owned(),
        name: w.name.clone(),
        id: w.id.clone(),
        action: action.to_owned(),
        sent: send && !dry_run,
        changes: changes
            .into_iter()
            .map(|d| Change {
                property: d.property,
                want: d.want,
                have: d.have,
            })
            .collect(),
    })
}
