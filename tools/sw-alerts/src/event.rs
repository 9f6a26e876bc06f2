//! The `alert` event record shared by eval (writer) and notify (reader).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One alert notification: a transition (firing, resolved) or a repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertEvent {
    /// `firing` or `resolved`.
    pub status: String,
    pub alertname: String,
    #[serde(default)]
    pub fingerprint: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", default)]
    pub starts_at: String,
    #[serde(rename = "endsAt", default)]
    pub ends_at: String,
    #[serde(default)]
    pub value: Option<f64>,
    /// A re-send of a still-firing alert (repeat_interval).
    #[serde(default)]
    pub repeat: bool,
    /// When eval produced it.
    #[serde(default)]
    pub time: String,
}

impl AlertEvent {
    /// Fill what a hand-made event may leave out: the alertname label,
    /// the fingerprint, endsAt and time.
    pub fn complete(&mut self) {
        let now = sw_core::output::now_rfc3339();
        self.labels
            .entry("alertname".to_owned())
            .or_insert_with(|| self.alertname.clone());
        if self.fingerprint.is_empty() {
            self.fingerprint = fingerprint(&self.labels);
        }
        if self.ends_at.is_empty() {
            self.ends_at = if self.status == "resolved" {
                now.clone()
            } else {
                "0001-01-01T00:00:00Z".to_owned()
            };
        }
        if self.starts_at.is_empty() {
            self.starts_at = now.clone();
        }
        if self.time.is_empty() {
            self.time = now;
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

/// FNV-1a (64 bit) of `bytes` as 16 hex digits: short stable ids.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
