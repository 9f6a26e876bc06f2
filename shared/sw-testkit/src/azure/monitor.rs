//! Azure Monitor metrics (`GET {resource}/providers/Microsoft.Insights/metrics`)
//! in the shape of `monitor/GetMetric.json`: every metric named in
//! `metricnames`, one time series of one-minute points over the timespan,
//! each carrying the aggregations asked for. A metric set in
//! [`State::metrics`] has that value at every point; one set to fail answers
//! as `monitor/GetMetricError.json`'s failing metric does (inside the 200);
//! any other has points without values (no data).

use super::*;

/// What the fake answers for one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeMetric {
    /// Every point carries this value.
    Value(f64),
    /// The metric fails inside the 200 with this errorCode and errorMessage.
    Error(String, String),
}

pub(super) fn metrics(s: &State, req: &Request) -> Reply {
    let resource = req.target.split('?').next().unwrap_or("");
    let resource = resource
        .split("/providers/Microsoft.Insights/metrics")
        .next()
        .unwrap_or(resource)
        .to_owned();
    let names = query_param(&req.target, "metricnames").unwrap_or_default();
    let aggs = query_param(&req.target, "aggregation").unwrap_or_else(|| "average".into());
    let timespan = query_param(&req.target, "timespan").unwrap_or_default();
    let value: Vec<Value> = names
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|name| {
            let mut m = json!({
                "id": format!("{resource}/providers/Microsoft.Insights/metrics/{name}"),
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "unit": "Count",
                "timeseries": [],
                "errorCode": "Success",
            });
            match s.metrics.get(name) {
                Some(FakeMetric::Error(code, msg)) => {
                    m["errorCode"] = json!(code);
                    m["errorMessage"] = json!(msg);
                }
                v => {
                    let data: Vec<Value> = (0..15)
                        .map(|i| {
                            let mut p = json!({"timeStamp": format!("2026-01-01T00:{i:02}:00Z")});
                            if let Some(FakeMetric::Value(v)) = v {
                                for a in aggs.split(',') {
                                    p[a.to_ascii_lowercase()] = json!(v);
                                }
                            }
                            p
                        })
                        .collect();
                    m["timeseries"] = json!([{"metadatavalues": [], "data": data}]);
                }
            }
            m
        })
        .collect();
    Reply::json(
        200,
        json!({"cost": 0, "timespan": timespan, "interval": "PT1M", "value": value,
               "namespace": "Microsoft.DBforPostgreSQL/flexibleServers", "resourceregion": "eastus"}),
    )
}

/// The diagnostic setting categories of a Flexible Server
/// (`GET {server}/providers/Microsoft.Insights/diagnosticSettingsCategories`),
/// as Microsoft's monitoring docs list them.
pub(super) fn diagnostic_categories(req: &Request) -> Reply {
    let resource = req.target.split('?').next().unwrap_or("");
    let cat = |name: &str, kind: &str| {
        json!({"id": format!("{resource}/{name}"), "name": name,
               "type": "Microsoft.Insights/diagnosticSettingsCategories",
               "properties": {"categoryType": kind, "categoryGroups": if kind == "Logs" { json!(["allLogs"]) } else { json!([]) }}})
    };
    let mut value: Vec<Value> = [
        "PostgreSQLLogs",
        "PostgreSQLFlexSessions",
        "PostgreSQLFlexQueryStoreRuntime",
        "PostgreSQLFlexQueryStoreWaitStats",
        "PostgreSQLFlexTableStats",
        "PostgreSQLFlexDatabaseXacts",
    ]
    .iter()
    .map(|n| cat(n, "Logs"))
    .collect();
    value.push(cat("AllMetrics", "Metrics"));
    Reply::json(200, json!({"value": value}))
}
