//! The Azure Monitor resources `azure-apply` wants, as request bodies in
//! the official examples' shapes: the Log Analytics workspace, the action
//! group, the server's diagnostic setting and one metric alert per rule of the pack whose check a Flexible
//! Server metric measures (`sw_core::azure::monitor::CHECK_METRICS`, the
//! table `sw-health --azure` reads its metrics by). A rule on any other
//! check is listed as not mapped, with why.

use std::time::Duration;

use serde_json::{Value, json};
use sw_core::azure::monitor::{self, NAMESPACE};

use crate::rules::{MinStatus, Rule, RuleFile};

/// The tag every resource sw-alerts manages carries (`--prune` removes only those).
pub const MANAGED_TAG: &str = "sw-managed";

pub const WORKSPACE_API: &str = "2025-02-01";
pub const ACTION_GROUP_API: &str = "2023-01-01";
pub const METRIC_ALERT_API: &str = "2018-03-01";
/// Diagnostic settings have no GA api-version.
pub const DIAGNOSTICS_API: &str = "2021-05-01-preview";
/// The diagnostic setting's name.
pub const DIAGNOSTICS_NAME: &str = "sw-diagnostics";

/// One resource: what it is, where, and the body wanted there.
#[derive(Debug, Clone)]
pub struct Want {
    /// `workspace`, `action_group`, `diagnostic_setting` or `metric_alert`.
    pub kind: &'static str,
    pub name: String,
    /// The ARM id.
    pub id: String,
    pub api_version: &'static str,
    pub body: Value,
}

impl Want {
    /// The path with the api-version.
    pub fn path(&self) -> String {
        format!("{}?api-version={}", self.id, self.api_version)
    }
}

/// A rule that has no metric alert, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    pub rule: String,
    pub check: String,
    pub reason: String,
}

/// What `azure-apply` is asked for.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub subscription: &'a str,
    pub resource_group: &'a str,
    /// The server's ARM id and location.
    pub server_id: &'a str,
    pub location: &'a str,
    pub workspace: &'a str,
    pub retention_days: u32,
    pub action_group: &'a str,
    pub emails: &'a [String],
    pub webhooks: &'a [String],
    /// Prefix of the metric alerts' names (the server's name).
    pub prefix: &'a str,
    /// The server's max_connections, when read: a rule on the share of
    /// connections in use becomes a count of active connections.
    pub max_connections: Option<f64>,
}

impl Plan<'_> {
    fn id(&self, provider: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{provider}/{name}",
            self.subscription, self.resource_group
        )
    }

    fn tags(&self) -> Value {
        json!({MANAGED_TAG: "true"})
    }

    /// The Log Analytics workspace (as `WorkspacesCreate.json`).
    pub fn workspace(&self) -> Want {
        Want {
            kind: "workspace",
            name: self.workspace.to_owned(),
            id: self.id("Microsoft.OperationalInsights/workspaces", self.workspace),
            api_version: WORKSPACE_API,
            body: json!({"location": self.location, "tags": self.tags(),
                         "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": self.retention_days}}),
        }
    }

    /// The action group (as `createOrUpdateActionGroup.json`): email and
    /// webhook receivers, the common alert schema.
    pub fn action_group(&self) -> Want {
        let emails: Vec<Value> = self
            .emails
            .iter()
            .enumerate()
            .map(|(i, e)| json!({"name": format!("email-{}", i + 1), "emailAddress": e, "useCommonAlertSchema": true}))
            .collect();
        let hooks: Vec<Value> = self
            .webhooks
            .iter()
            .enumerate()
            .map(|(i, u)| json!({"name": format!("webhook-{}", i + 1), "serviceUri": u, "useCommonAlertSchema": true}))
            .collect();
        let short: String = self.action_group.chars().take(12).collect();
        Want {
            kind: "action_group",
            name: self.action_group.to_owned(),
            id: self.id("Microsoft.Insights/actionGroups", self.action_group),
            api_version: ACTION_GROUP_API,
            body: json!({"location": "Global", "tags": self.tags(), "properties": {
                "groupShortName": short, "enabled": true, "emailReceivers": emails, "webhookReceivers": hooks}}),
        }
    }

    /// The server's diagnostic setting (as `createOrUpdateDiagnosticSetting.json`):
    /// every log and metric category the server offers (`categories`, the
    /// `diagnosticSettingsCategories` list) into the workspace, in
    /// resource-specific tables. None when the server offers none.
    pub fn diagnostics(&self, categories: &[Value]) -> Option<Want> {
        let of = |kind: &str| -> Vec<Value> {
            categories
                .iter()
                .filter(|c| {
                    c.pointer("/properties/categoryType")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case(kind))
                })
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(|n| json!({"category": n, "enabled": true, "retentionPolicy": {"enabled": false, "days": 0}}))
                .collect()
        };
        let (logs, metrics) = (of("Logs"), of("Metrics"));
        if logs.is_empty() && metrics.is_empty() {
            return None;
        }
        Some(Want {
            kind: "diagnostic_setting",
            name: DIAGNOSTICS_NAME.to_owned(),
            id: format!(
                "{}/providers/Microsoft.Insights/diagnosticSettings/{DIAGNOSTICS_NAME}",
                self.server_id
            ),
            api_version: DIAGNOSTICS_API,
            body: json!({"properties": {"workspaceId": self.workspace().id, "logs": logs, "metrics": metrics,
                                        "logAnalyticsDestinationType": "Dedicated"}}),
        })
    }

    /// The metric alerts of the resource group (a list).
    pub fn alerts_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Insights/metricAlerts?api-version={METRIC_ALERT_API}",
            self.subscription, self.resource_group
        )
    }

    /// The metric alerts of the pack, and the rules that have none.
    pub fn alerts(&self, pack: &RuleFile) -> (Vec<Want>, Vec<Unmapped>) {
        let mut wants = Vec::new();
        let mut unmapped = Vec::new();
        for r in &pack.rules {
            match criterion(r, self.max_connections) {
                Ok(c) => wants.push(self.alert(r, c)),
                Err(reason) => unmapped.push(Unmapped {
                    rule: r.name.clone(),
                    check: r.check.clone(),
                    reason,
                }),
            }
        }
        (wants, unmapped)
    }

    /// One metric alert (as `createOrUpdateMetricAlertSingleResource.json`).
    fn alert(&self, r: &Rule, criterion: Value) -> Want {
        let name = format!("{}-{}", self.prefix, r.name);
        let description = r.annotations.get("summary").map_or_else(
            || format!("sw-alerts rule {}", r.name),
            |s| format!("sw-alerts rule {}: {s}", r.name),
        );
        let ag = self.id("Microsoft.Insights/actionGroups", self.action_group);
        let mut tags = self.tags();
        tags["sw-rule"] = json!(r.name);
        Want {
            kind: "metric_alert",
            name: name.clone(),
            id: self.id("Microsoft.Insights/metricAlerts", &name),
            api_version: METRIC_ALERT_API,
            body: json!({"location": "global", "tags": tags, "properties": {
                "description": description,
                "severity": severity(&r.severity),
                "enabled": true,
                "scopes": [self.server_id],
                "evaluationFrequency": "PT1M",
                "windowSize": window(r.for_),
                "criteria": {"odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                             "allOf": [criterion]},
                "autoMitigate": true,
                "actions": [{"actionGroupId": ag, "webhookProperties": {}}],
            }}),
        }
    }
}

/// The static-threshold criterion of a rule, or why it has none.
fn criterion(r: &Rule, max_connections: Option<f64>) -> Result<Value, String> {
    let crit = |metric: &str, agg: &str, op: &str, threshold: f64| {
        json!({"criterionType": "StaticThresholdCriterion", "name": r.name, "metricName": metric,
               "metricNamespace": NAMESPACE, "dimensions": [], "operator": op, "threshold": threshold,
               "timeAggregation": agg})
    };
    // The server answering at all: is_db_alive (1/0), its maximum per minute.
    if r.check == "connection" && r.status == Some(MinStatus::Critical) && r.above.is_none() {
        return Ok(crit("is_db_alive", "Maximum", "LessThan", 1.0));
    }
    // `connections` is a share of max_connections, as sw-health --azure computes it.
    if r.check == "connections" {
        let (Some(pct), Some(max)) = (r.above, max_connections.filter(|m| *m > 0.0)) else {
            return Err(
                "connections: a rule above a share, with the server's max_connections read, maps to active_connections"
                    .to_owned(),
            );
        };
        return Ok(crit(
            "active_connections",
            "Average",
            "GreaterThan",
            (pct * max / 100.0).floor(),
        ));
    }
    let Some(m) = monitor::for_check(&r.check) else {
        return Err(format!(
            "no Azure Monitor metric measures {} (a SQL or host-side check)",
            r.check
        ));
    };
    let (op, v) = match (r.above, r.below) {
        (Some(v), _) => ("GreaterThan", v),
        (None, Some(v)) => ("LessThan", v),
        (None, None) => return Err("a status-only rule: a metric alert needs a threshold".to_owned()),
    };
    // A headroom below X is a use above 100 - X.
    let (op, v) = if m.complement {
        (if op == "GreaterThan" { "LessThan" } else { "GreaterThan" }, 100.0 - v)
    } else {
        (op, v)
    };
    Ok(crit(m.metric, m.aggregation.as_str(), op, v))
}

/// Azure's severity (0 critical .. 4 verbose) of a rule's.
fn severity(s: &str) -> u8 {
    match s.to_ascii_lowercase().as_str() {
        "critical" => 1,
        "warning" => 2,
        "info" => 3,
        _ => 3,
    }
}

/// The smallest window Azure offers that holds `for_` (at least 5 minutes:
/// the seed's windows, and some metrics arrive in 5-minute batches).
fn window(for_: Duration) -> &'static str {
    const WINDOWS: [(u64, &str); 8] = [
        (300, "PT5M"),
        (900, "PT15M"),
        (1800, "PT30M"),
        (3600, "PT1H"),
        (6 * 3600, "PT6H"),
        (12 * 3600, "PT12H"),
        (86_400, "P1D"),
        (u64::MAX, "P1D"),
    ];
    WINDOWS
        .iter()
        .find(|(s, _)| for_.as_secs() <= *s)
        .map_or("P1D", |(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan<'static> {
        Plan {
            subscription: "s",
            resource_group: "g",
            server_id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/db",
            location: "eastus",
            workspace: "db-logs",
            retention_days: 30,
            action_group: "db-alerts",
            emails: &[],
            webhooks: &[],
            prefix: "db",
            max_connections: Some(200.0),
        }
    }

    #[test]
    fn the_default_pack_gives_the_seed_alerts() {
        let pack = RuleFile::parse(crate::rules::DEFAULT_RULES, "default").unwrap();
        let (wants, unmapped) = plan().alerts(&pack);
        let got: Vec<(String, String, String, f64, String)> = wants
            .iter()
            .map(|w| {
                let c = &w.body["properties"]["criteria"]["allOf"][0];
                (
                    c["metricName"].as_str().unwrap().to_owned(),
                    c["timeAggregation"].as_str().unwrap().to_owned(),
                    c["operator"].as_str().unwrap().to_owned(),
                    c["threshold"].as_f64().unwrap(),
                    w.body["properties"]["windowSize"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let has = |m: &str, agg: &str, op: &str, v: f64| {
            assert!(
                got.iter()
                    .any(|g| (g.0.as_str(), g.1.as_str(), g.2.as_str(), g.3, g.4.as_str()) == (m, agg, op, v, "PT5M")),
                "{m} {agg} {op} {v} in {got:?}"
            );
        };
        has("cpu_percent", "Average", "GreaterThan", 80.0);
        has("memory_percent", "Average", "GreaterThan", 85.0);
        has("storage_percent", "Average", "GreaterThan", 80.0);
        has("connections_failed", "Total", "GreaterThan", 50.0);
        has("deadlocks", "Total", "GreaterThan", 5.0);
        has("physical_replication_delay_in_seconds", "Maximum", "GreaterThan", 300.0);
        has("maximum_used_transactionIDs", "Maximum", "GreaterThan", 1.0e9);
        has("storage_percent", "Average", "GreaterThan", 90.0);
        has("is_db_alive", "Maximum", "LessThan", 1.0);
        // 80 % of max_connections 200.
        has("active_connections", "Average", "GreaterThan", 160.0);
        has("client_connections_waiting", "Average", "GreaterThan", 0.0);
        let names: Vec<&str> = unmapped.iter().map(|u| u.check.as_str()).collect();
        assert_eq!(names, ["pooler_max_wait", "mxid_wraparound", "archiver", "backup_age"]);
        let mut no_max = plan();
        no_max.max_connections = None;
        let (_, unmapped) = no_max.alerts(&pack);
        assert!(unmapped.iter().any(|u| u.check == "connections"));
    }

    #[test]
    fn windows_hold_the_rules_for() {
        assert_eq!(window(Duration::ZERO), "PT5M");
        assert_eq!(window(Duration::from_secs(300)), "PT5M");
        assert_eq!(window(Duration::from_secs(301)), "PT15M");
        assert_eq!(window(Duration::from_secs(7200)), "PT6H");
    }
}
