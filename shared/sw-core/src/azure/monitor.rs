//! Which Azure Monitor metric of a Flexible Server measures which
//! sw-health check: one table, so `sw-health --azure` reads the metric a
//! check is named for and `sw-alerts azure-apply` turns a rule on that
//! check into a metric alert on the same metric, aggregated the same way.

/// The metric namespace of a Flexible Server.
pub const NAMESPACE: &str = "Microsoft.DBforPostgreSQL/flexibleServers";

/// How a metric alert aggregates a metric over its window (as ARM writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAggregation {
    Average,
    Maximum,
    Total,
}

impl TimeAggregation {
    /// As ARM and the metrics API write it (`Average`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TimeAggregation::Average => "Average",
            TimeAggregation::Maximum => "Maximum",
            TimeAggregation::Total => "Total",
        }
    }
}

/// A check measured by a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckMetric {
    /// The sw-health check.
    pub check: &'static str,
    /// The metric.
    pub metric: &'static str,
    pub aggregation: TimeAggregation,
    /// The check's value is `100 - metric` (a headroom judged from a use).
    pub complement: bool,
}

const fn m(check: &'static str, metric: &'static str, aggregation: TimeAggregation) -> CheckMetric {
    CheckMetric {
        check,
        metric,
        aggregation,
        complement: false,
    }
}

/// Every check a Flexible Server metric measures, with the metric and its
/// aggregation (Azure Monitor Baseline Alerts' where they have one).
pub const CHECK_METRICS: &[CheckMetric] = &[
    m("host_cpu", "cpu_percent", TimeAggregation::Average),
    m("host_memory", "memory_percent", TimeAggregation::Average),
    m("disk", "storage_percent", TimeAggregation::Average),
    CheckMetric {
        complement: true,
        ..m("azure_storage_headroom", "storage_percent", TimeAggregation::Average)
    },
    m("azure_iops", "disk_iops_consumed_percentage", TimeAggregation::Average),
    m("failed_sessions", "connections_failed", TimeAggregation::Total),
    m("deadlocks", "deadlocks", TimeAggregation::Total),
    m(
        "replication_lag",
        "physical_replication_delay_in_seconds",
        TimeAggregation::Maximum,
    ),
    m(
        "xid_wraparound",
        "maximum_used_transactionIDs",
        TimeAggregation::Maximum,
    ),
    // The built-in PgBouncer's (with metrics.pgbouncer_diagnostics on):
    // the mean over the window, so a moment's queue in a burst is not an alert.
    m("pooler_waiting", "client_connections_waiting", TimeAggregation::Average),
];

/// The metric that measures `check`, if one does.
pub fn for_check(check: &str) -> Option<&'static CheckMetric> {
    CHECK_METRICS.iter().find(|c| c.check == check)
}
