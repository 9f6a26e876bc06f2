//! The one Azure Monitor metrics request of a run, and its answer.
//!
//! Every metric sw-health reads from a Flexible Server goes into a single
//! `GET {server}/providers/Microsoft.Insights/metrics` (the API takes a
//! list of names and of aggregations; the metrics API is the usual cause
//! of subscription throttling, so one call, not one per check). Each
//! metric's aggregation is the one Azure Monitor Baseline Alerts use
//! (`flexibleServers-metrics.compiled.json`). A metric can fail inside an
//! HTTP 200 (`errorCode` other than `Success`): that metric alone is
//! [`Reading::Failed`], the others still count.
//!
//! Values are judged over the last [`WINDOW`] one-minute points that have
//! data (Azure publishes a minute late, and some metrics in 5-minute
//! batches), over a 15-minute timespan so there are always some.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// The metrics api-version (the newest stable one, as the fixtures).
pub const API_VERSION: &str = "2024-02-01";
pub use sw_core::azure::monitor::NAMESPACE;
/// One-minute points a value is judged over (the seed's 5-minute windows).
pub const WINDOW: usize = 5;
/// How far back the request reaches.
const SPAN_MINUTES: i64 = 15;

/// How a metric's points become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The mean of the points' averages.
    Average,
    /// The largest of the points' maxima.
    Maximum,
    /// The sum of the points' totals (events in the window).
    Total,
}

impl Aggregation {
    /// The name in the request's `aggregation` list and in a data point.
    pub fn key(self) -> &'static str {
        match self {
            Aggregation::Average => "average",
            Aggregation::Maximum => "maximum",
            Aggregation::Total => "total",
        }
    }
}

/// The metrics of the request, each with its aggregation.
pub const METRICS: &[(&str, Aggregation)] = &[
    ("cpu_percent", Aggregation::Average),
    ("memory_percent", Aggregation::Average),
    ("storage_percent", Aggregation::Average),
    ("iops", Aggregation::Average),
    ("disk_iops_consumed_percentage", Aggregation::Average),
    ("active_connections", Aggregation::Average),
    ("max_connections", Aggregation::Maximum),
    ("connections_failed", Aggregation::Total),
    ("deadlocks", Aggregation::Total),
    ("physical_replication_delay_in_seconds", Aggregation::Maximum),
    ("maximum_used_transactionIDs", Aggregation::Maximum),
    ("client_connections_waiting", Aggregation::Average),
];

/// The aggregation of metric `name` (None: not one sw-health reads).
pub fn aggregation_of(name: &str) -> Option<Aggregation> {
    METRICS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// The request path (with the query) for the server `server_id`, as of `now`.
pub fn request_path(server_id: &str, now: DateTime<Utc>) -> String {
    let names: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
    let mut aggs: Vec<&str> = Vec::new();
    for (_, a) in METRICS {
        if !aggs.contains(&a.key()) {
            aggs.push(a.key());
        }
    }
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let start = now - Duration::minutes(SPAN_MINUTES);
    format!(
        "{server_id}/providers/Microsoft.Insights/metrics?api-version={API_VERSION}&metricnames={}\
         &aggregation={}&interval=PT1M&timespan={}/{}&metricnamespace={NAMESPACE}",
        names.join(","),
        aggs.join(","),
        fmt(start),
        fmt(now),
    )
}

/// The request for one replica's replay lag (a replica's metric is on its
/// own resource, so one small request per replica, at the same time).
pub fn lag_request_path(replica_id: &str, now: DateTime<Utc>) -> String {
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!(
        "{replica_id}/providers/Microsoft.Insights/metrics?api-version={API_VERSION}&metricnames={LAG}\
         &aggregation=maximum&interval=PT1M&timespan={}/{}&metricnamespace={NAMESPACE}",
        fmt(now - Duration::minutes(SPAN_MINUTES)),
        fmt(now),
    )
}

/// A replica's replay lag (seconds), on the replica's resource.
pub const LAG: &str = "physical_replication_delay_in_seconds";

/// What the answer says about one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The value over the window, and how many points it is made of.
    Value { value: f64, points: usize },
    /// The metric answered without a single point carrying the aggregation
    /// (not emitted: a metric a server parameter enables, or a replica-only one).
    NoData,
    /// The metric failed inside the 200: `code: message`.
    Failed(String),
}

/// The answer, by metric name (as Azure spells it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer(pub BTreeMap<String, Reading>);

impl Answer {
    /// Read a metrics answer; each metric's points reduced by the
    /// aggregation sw-health asked for it (metrics it did not ask for: by
    /// the first aggregation a point carries, average first).
    pub fn parse(body: &Value) -> Answer {
        let mut out = BTreeMap::new();
        for m in body.get("value").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = m.pointer("/name/value").and_then(Value::as_str) else {
                continue;
            };
            let code = m.get("errorCode").and_then(Value::as_str).unwrap_or("Success");
            let reading = if code.eq_ignore_ascii_case("success") {
                reduce(m, aggregation_of(name))
            } else {
                let msg = m.get("errorMessage").and_then(Value::as_str).unwrap_or("");
                let msg = msg.lines().next().unwrap_or("").trim();
                Reading::Failed(if msg.is_empty() {
                    code.to_owned()
                } else {
                    format!("{code}: {msg}")
                })
            };
            out.insert(name.to_owned(), reading);
        }
        Answer(out)
    }

    /// The reading of `name`; None when the answer does not mention it.
    pub fn get(&self, name: &str) -> Option<&Reading> {
        self.0.get(name)
    }

    /// The value of `name`, when it has one.
    pub fn value(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Reading::Value { value, .. } => Some(*value),
            _ => None,
        }
    }
}

/// One metric's value: each time series reduced over its last [`WINDOW`]
/// points with data, then the series combined (summed for totals, the
/// worst otherwise: a split by dimension never hides one bad value).
fn reduce(metric: &Value, agg: Option<Aggregation>) -> Reading {
    let series = metric.get("timeseries").and_then(Value::as_array);
    let agg = agg.unwrap_or_else(|| guess(series.map(Vec::as_slice).unwrap_or(&[])));
    let mut combined: Option<f64> = None;
    let mut points = 0;
    for ts in series.into_iter().flatten() {
        let vals: Vec<f64> = ts
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get(agg.key()).and_then(Value::as_f64))
            .collect();
        let last = &vals[vals.len().saturating_sub(WINDOW)..];
        if last.is_empty() {
            continue;
        }
        points = points.max(last.len());
        let v = match agg {
            Aggregation::Average => last.iter().sum::<f64>() / last.len() as f64,
            Aggregation::Maximum => last.iter().copied().fold(f64::MIN, f64::max),
            Aggregation::Total => last.iter().sum(),
        };
        combined = Some(match (combined, agg) {
            (None, _) => v,
            (Some(c), Aggregation::Total) => c + v,
            (Some(c), _) => c.max(v),
        });
    }
    match combined {
        Some(value) => Reading::Value { value, points },
        None => Reading::NoData,
    }
}

/// The aggregation the points of a metric sw-health did not ask for carry.
fn guess(series: &[Value]) -> Aggregation {
    let has = |k: &str| {
        series.iter().any(|ts| {
            ts.get("data")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|p| p.get(k).is_some()))
        })
    };
    [Aggregation::Average, Aggregation::Maximum, Aggregation::Total]
        .into_iter()
        .find(|a| has(a.key()))
        .unwrap_or(Aggregation::Average)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let p = sw_testkit::fixture(&format!("azure-arm/monitor/{name}"));
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    fn query(path: &str, key: &str) -> String {
        let q = path.split_once('?').unwrap().1;
        q.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_owned()
    }

    #[test]
    fn one_request_names_every_metric_with_the_aggregations_they_need() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T17:00:00Z").unwrap().to_utc();
        let p = request_path(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/x",
            now,
        );
        assert!(p.starts_with("/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/x/providers/Microsoft.Insights/metrics?"));
        let names = query(&p, "metricnames");
        assert_eq!(names.split(',').count(), METRICS.len());
        for (n, _) in METRICS {
            assert!(names.split(',').any(|x| x == *n), "{n}");
        }
        assert_eq!(query(&p, "aggregation"), "average,maximum,total");
        assert_eq!(query(&p, "timespan"), "2026-12-02T16:45:00Z/2026-12-02T17:00:00Z");
        assert_eq!(query(&p, "interval"), "PT1M");
        assert_eq!(query(&p, "api-version"), API_VERSION);
        assert_eq!(query(&p, "metricnamespace"), NAMESPACE);
    }

    #[test]
    fn names_and_aggregations_are_the_compiled_lists() {
        let list = fixture("flexibleServers-metrics.compiled.json");
        assert_eq!(list["metricNamespace"], NAMESPACE);
        for (n, agg) in METRICS {
            let m = list["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == *n)
                .unwrap_or_else(|| panic!("{n} is not a Flexible Server metric"));
            if let Some(a) = m.pointer("/ambaAlert/timeAggregation") {
                assert_eq!(a, &format!("{agg:?}"), "{n}: the baseline alerts aggregate it so");
            }
        }
    }

    #[test]
    fn the_metrics_of_the_checks_are_those_alerts_are_made_on() {
        // sw-alerts azure-apply alerts on these metrics for these checks.
        for c in sw_core::azure::monitor::CHECK_METRICS {
            let a = aggregation_of(c.metric).unwrap_or_else(|| panic!("{} is not requested", c.metric));
            assert_eq!(format!("{a:?}"), c.aggregation.as_str(), "{}", c.metric);
            assert!(crate::checks::by_name(c.check).is_some(), "{}", c.check);
        }
    }

    #[test]
    fn get_metric_reduces_each_series_and_keeps_the_worst() {
        let a = Answer::parse(&fixture("GetMetric.json")["responses"]["200"]["body"]);
        assert_eq!(a.0.len(), 2);
        // Split by tier: Hot holds 7 blobs, the other tiers fewer.
        assert_eq!(a.get("BlobCount"), Some(&Reading::Value { value: 7.0, points: 5 }));
        assert_eq!(a.value("BlobCapacity"), Some(621_492.0));
        assert_eq!(a.get("cpu_percent"), None);
    }

    #[test]
    fn a_metric_that_fails_inside_a_200_fails_alone() {
        let a = Answer::parse(&fixture("GetMetricError.json")["responses"]["200"]["body"]);
        match a.get("MongoRequestsCount") {
            Some(Reading::Failed(why)) => {
                assert!(
                    why.starts_with("InvalidSamplingType: Sampling type is not found"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.get("MongoRequests"), Some(&Reading::Value { value: 0.0, points: 1 }));
    }

    #[test]
    fn the_window_is_the_last_points_with_data_by_the_metrics_aggregation() {
        let pts = |k: &str, vs: &[Option<f64>]| -> Value {
            let data: Vec<Value> = vs
                .iter()
                .map(|v| match v {
                    Some(v) => json!({"timeStamp": "t", k: v}),
                    None => json!({"timeStamp": "t"}),
                })
                .collect();
            json!([{"metadatavalues": [], "data": data}])
        };
        let body = json!({"value": [
            {"name": {"value": "cpu_percent"}, "errorCode": "Success",
             "timeseries": pts("average", &[Some(0.0), Some(90.0), Some(90.0), Some(100.0), Some(100.0), Some(95.0), None])},
            {"name": {"value": "connections_failed"}, "errorCode": "Success",
             "timeseries": pts("total", &[Some(100.0), Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(5.0)])},
            {"name": {"value": "maximum_used_transactionIDs"}, "errorCode": "Success",
             "timeseries": pts("maximum", &[Some(7.0), Some(9.0), Some(8.0)])},
            {"name": {"value": "deadlocks"}, "errorCode": "Success", "timeseries": []},
            {"name": {"value": "storage_percent"}, "errorCode": "Success", "timeseries": pts("average", &[None, None])},
        ]});
        let a = Answer::parse(&body);
        assert_eq!(a.get("cpu_percent"), Some(&Reading::Value { value: 95.0, points: 5 }));
        assert_eq!(a.value("connections_failed"), Some(15.0));
        assert_eq!(a.value("maximum_used_transactionIDs"), Some(9.0));
        assert_eq!(a.get("deadlocks"), Some(&Reading::NoData));
        assert_eq!(a.get("storage_percent"), Some(&Reading::NoData));
    }
}
