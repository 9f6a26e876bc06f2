//! The `alert` event record shared by eval (writer) and notify (reader).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One alert notification: a transition (firing, resolved) or a repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertEvent {
    /// `firing` or `resolved`.
    pub status: String,
    pub alertname: String,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(default)]
    pub value: Option<f64>,
    /// A re-send of a still-firing alert (repeat_interval).
    #[serde(default)]
    pub repeat: bool,
    /// When eval produced it.
    pub time: String,
}

/// A stable 16-hex-digit fingerprint of a label set (FNV-1a over sorted labels).
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
