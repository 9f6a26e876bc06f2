//! The alerts Alertmanager must keep hearing about. Alertmanager ends an
//! alert at its endsAt unless it is pushed again, and Prometheus re-sends
//! every firing alert each resend interval for that reason; eval prints an
//! alert only on transitions and repeats. So notify keeps the firing
//! alerts it has seen for the Alertmanager channel (in the outbox
//! directory, under its lock) with the time of their last push, re-sends
//! those whose push is older than `--resend-every`, and forgets one when
//! its resolved event comes in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use crate::alert::{Alert, AlertStatus};

/// One firing alert and when Alertmanager last accepted it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    alert: Alert,
    pushed_at: Option<DateTime<Utc>>,
}

/// The firing alerts of the Alertmanager channel, by fingerprint.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Active {
    alerts: BTreeMap<String, Entry>,
    #[serde(skip)]
    changed: bool,
}

fn path(outbox: &Path) -> PathBuf {
    // Not a *.json file in the outbox itself: those are its entries.
    outbox.join("active").join("alertmanager.json")
}

impl Active {
    /// Read the list kept beside `outbox`; none yet is the empty list.
    ///
    /// # Errors
    /// 65 when it is not valid, 74 when it cannot be read.
    pub fn load(outbox: &Path) -> Result<Active> {
        let p = path(outbox);
        match std::fs::read_to_string(&p) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::data(format!("{} is not valid: {e}", q(&p)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Active::default()),
            Err(e) => Err(Error::io(format!("reading {}", q(&p))).with_source(e)),
        }
    }

    /// Take in this run's events: a firing one is (still) active, keeping
    /// when it was last pushed; a resolved one is not any more.
    pub fn note(&mut self, alerts: &[Alert]) {
        for a in alerts {
            self.changed = true;
            match a.status {
                AlertStatus::Resolved => {
                    self.alerts.remove(&a.fingerprint);
                }
                AlertStatus::Firing => {
                    let pushed_at = self.alerts.get(&a.fingerprint).and_then(|e| e.pushed_at);
                    self.alerts.insert(
                        a.fingerprint.clone(),
                        Entry {
                            alert: a.clone(),
                            pushed_at,
                        },
                    );
                }
            }
        }
    }

    /// Alertmanager accepted a push of `fingerprint` at `now`.
    pub fn pushed(&mut self, fingerprint: &str, now: DateTime<Utc>) {
        if let Some(e) = self.alerts.get_mut(fingerprint) {
            e.pushed_at = Some(now);
            self.changed = true;
        }
    }

    /// The active alerts whose last push is `every` old or older at `now`
    /// (or never was), leaving out those still `queued` in the outbox: that
    /// entry is their push, and it failed in this run.
    pub fn due(&self, now: DateTime<Utc>, every: Duration, queued: &[String]) -> Vec<Alert> {
        self.alerts
            .iter()
            .filter(|(fp, _)| !queued.contains(fp))
            .filter(|(_, e)| {
                e.pushed_at
                    .is_none_or(|t| (now - t).to_std().unwrap_or(Duration::ZERO) >= every)
            })
            .map(|(_, e)| e.alert.clone())
            .collect()
    }

    /// Replace the list atomically (mode 0600) when it changed.
    ///
    /// # Errors
    /// 74 (77) when it cannot be written.
    pub fn save(&self, outbox: &Path) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let p = path(outbox);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).io_context(|| format!("creating {}", q(dir)))?;
        }
        let data = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::software("encoding the active alerts").with_source(e))?;
        sw_core::fsutil::atomic_write(&p, &data, 0o600)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn alert(status: &str) -> Alert {
        serde_json::from_value(json!({"status": status, "alertname": "A", "labels": {"instance": "i"}})).unwrap()
    }

    #[test]
    fn firing_alerts_are_due_until_resolved() {
        let now = Utc::now();
        let mut a = Active::default();
        a.note(&[alert("firing")]);
        let fp = alert("firing").fingerprint;
        assert_eq!(a.due(now, Duration::from_secs(60), &[]).len(), 1);
        // Still waiting in the outbox: that entry is its push.
        assert!(
            a.due(now, Duration::from_secs(60), std::slice::from_ref(&fp))
                .is_empty()
        );
        a.pushed(&fp, now);
        assert!(
            a.due(now + chrono::Duration::seconds(59), Duration::from_secs(60), &[])
                .is_empty()
        );
        assert_eq!(
            a.due(now + chrono::Duration::seconds(60), Duration::from_secs(60), &[])
                .len(),
            1
        );
        // A repeat keeps the push time; the resolved event ends it.
        a.note(&[alert("firing")]);
        assert!(a.due(now, Duration::from_secs(60), &[]).is_empty());
        a.note(&[alert("resolved")]);
        assert!(
            a.due(now + chrono::Duration::hours(1), Duration::from_secs(60), &[])
                .is_empty()
        );
    }
}
