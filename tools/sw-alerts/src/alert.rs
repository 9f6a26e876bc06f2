//! The `alert` record: what `sw-alerts eval` prints and `sw-alerts notify`
//! reads back, one type for both sides. Scripts write it by hand too
//! (scripts/sw-maintenance sends its summary as an alert), leaving out what
//! eval always fills in; reading completes those fields, so notify and the
//! outbox only ever see whole alerts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::contract::{Record, Timestamp};

/// Whether an alert started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    /// The name as written (firing, resolved).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert notification: a transition (firing, resolved) or a repeat of
/// a still-firing alert. startsAt and endsAt keep Alertmanager's names,
/// so the record maps onto its webhook payload one to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(from = "AlertInput")]
pub struct Alert {
    /// Firing or resolved.
    pub status: AlertStatus,
    /// The rule's name (also the alertname label).
    pub alertname: String,
    /// 16 hex digits naming the label set (FNV-1a over the sorted labels):
    /// the same alert across runs and channels.
    pub fingerprint: String,
    /// The labels: alertname, severity, instance, check, database (of
    /// per-database checks) and the rule's own.
    pub labels: BTreeMap<String, String>,
    /// The rule's annotations (summary, ...) with their templates filled in.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing.
    #[serde(rename = "startsAt")]
    pub starts_at: Timestamp,
    /// When it resolved; Alertmanager's zero time (0001-01-01T00:00:00.000Z)
    /// while it is firing.
    #[serde(rename = "endsAt")]
    pub ends_at: Timestamp,
    /// The check's value when last seen; null when it had none.
    pub value: Option<f64>,
    /// A re-send of a still-firing alert (after repeat_interval), not a new transition.
    pub repeat: bool,
    /// When eval produced it.
    pub time: Timestamp,
}

impl Record for Alert {
    const KIND: &'static str = "alert";
}

/// Alertmanager's "not ended yet": Go's zero time, 0001-01-01T00:00:00Z.
pub fn zero_time() -> Timestamp {
    // -62 135 596 800 s is 0001-01-01T00:00:00Z, well inside chrono's range.
    Timestamp(DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or_default())
}

/// An alert as read: a hand-written one may leave out the fingerprint,
/// labels, annotations, times, value and repeat.
#[derive(Debug, Deserialize, JsonSchema)]
struct AlertInput {
    status: AlertStatus,
    alertname: String,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", default)]
    starts_at: Option<Timestamp>,
    #[serde(rename = "endsAt", default)]
    ends_at: Option<Timestamp>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    repeat: bool,
    #[serde(default)]
    time: Option<Timestamp>,
}

impl From<AlertInput> for Alert {
    /// Fill what a hand-made alert may leave out: the alertname label, the
    /// fingerprint (of the labels), startsAt and time (now), endsAt (now
    /// when resolved, the zero time when firing).
    fn from(a: AlertInput) -> Alert {
        let now = Timestamp::now();
        let mut labels = a.labels;
        labels
            .entry("alertname".to_owned())
            .or_insert_with(|| a.alertname.clone());
        let fingerprint = a
            .fingerprint
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| fingerprint(&labels));
        let ends_at = a.ends_at.unwrap_or(match a.status {
            AlertStatus::Resolved => now,
            AlertStatus::Firing => zero_time(),
        });
        Alert {
            status: a.status,
            alertname: a.alertname,
            fingerprint,
            labels,
            annotations: a.annotations,
            starts_at: a.starts_at.unwrap_or(now),
            ends_at,
            value: a.value,
            repeat: a.repeat,
            time: a.time.unwrap_or(now),
        }
    }
}

/// A stable 16-hex-digit fingerprint of a label set (FNV-1a over sorted labels).
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    fnv1a(
        labels
            .iter()
            .flat_map(|(k, v)| k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe])),
    )
}

/// FNV-1a (64 bit) of bytes as 16 hex digits: short stable ids.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;
    use sw_core::contract::KindDoc;

    use super::*;

    #[test]
    fn the_alert_follows_the_field_rule() {
        let d = KindDoc::of::<Alert>();
        assert!(d.rule_violations().is_empty(), "{:?}", d.rule_violations());
    }

    #[test]
    fn a_hand_made_alert_is_completed() {
        let a: Alert = serde_json::from_value(json!({
            "kind": "alert", "schema": 1, "status": "firing", "alertname": "sw-maintenance",
            "labels": {"job": "sw-maintenance"}, "startsAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(a.labels["alertname"], "sw-maintenance");
        assert_eq!(a.fingerprint, fingerprint(&a.labels));
        assert_eq!(a.ends_at, zero_time());
        assert_eq!(a.ends_at.to_string(), "0001-01-01T00:00:00.000Z");
        assert_eq!(a.starts_at.to_string(), "2026-01-01T00:00:00.000Z");
        // What eval writes reads back unchanged.
        let written = serde_json::to_value(&a).unwrap();
        let back: Alert = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), written);
        let bad = serde_json::from_value::<Alert>(json!({"status": "pending", "alertname": "x"}));
        assert!(bad.is_err());
    }
}
