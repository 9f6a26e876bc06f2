//! What each kind of channel receives for one alert: the Alertmanager
//! webhook payload (version 4, so existing receivers work), the body of
//! Alertmanager's API v2 `POST /api/v2/alerts`, a Slack message, a Teams
//! adaptive card, or an email's subject and body.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sw_core::contract::Timestamp;

use super::config::ChannelKind;
use crate::alert::{Alert, AlertStatus};

/// The Alertmanager webhook payload (version 4) for one alert.
pub fn alertmanager(e: &Alert) -> Value {
    let group = BTreeMap::from([("alertname".to_owned(), e.alertname.clone())]);
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", e.alertname),
        "truncatedAlerts": 0,
        "status": e.status,
        "receiver": "sw-alerts",
        "groupLabels": group,
        "commonLabels": e.labels,
        "commonAnnotations": e.annotations,
        "externalURL": "",
        "alerts": [{
            "status": e.status,
            "labels": e.labels,
            "annotations": e.annotations,
            "startsAt": e.starts_at,
            "endsAt": e.ends_at,
            "generatorURL": "",
            "fingerprint": e.fingerprint,
        }],
    })
}

/// The API v2 body for one alert. A firing alert is pushed with an endsAt
/// `valid_for` from now, as Prometheus does (4 times its resend interval):
/// Alertmanager resolves it then unless it is pushed again, so a sender
/// that stops cannot leave it firing for ever. A resolved one carries the
/// time it resolved.
pub fn alertmanager_v2(e: &Alert, generator_url: &str, valid_for: Duration) -> Value {
    let ends_at = match e.status {
        AlertStatus::Resolved => e.ends_at,
        AlertStatus::Firing => {
            let valid = chrono::Duration::from_std(valid_for).unwrap_or(chrono::Duration::MAX);
            Timestamp(
                chrono::Utc::now()
                    .checked_add_signed(valid)
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
            )
        }
    };
    json!([{
        "labels": e.labels,
        "annotations": e.annotations,
        "startsAt": e.starts_at,
        "endsAt": ends_at,
        "generatorURL": generator_url,
    }])
}

/// One line for people: `[FIRING] Deadlocks app@db1:5432/app (warning)`
/// (the email subject, the card's title).
pub fn headline(e: &Alert) -> String {
    let inst = e.labels.get("instance").map_or("", String::as_str);
    let sev = e.labels.get("severity").map_or("", String::as_str);
    format!(
        "[{}{}] {} {} ({sev})",
        e.status.as_str().to_uppercase(),
        if e.repeat { ", repeat" } else { "" },
        e.alertname,
        inst
    )
}

/// The text for people: summary, other annotations, labels, times.
pub fn text_body(e: &Alert) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if let Some(sum) = e.annotations.get("summary") {
        s.push_str(sum);
        s.push('\n');
    }
    for (k, v) in e.annotations.iter().filter(|(k, _)| *k != "summary") {
        let _ = writeln!(s, "{k}: {v}");
    }
    s.push('\n');
    for (k, v) in &e.labels {
        let _ = writeln!(s, "{k}={v}");
    }
    let _ = write!(s, "since {}", e.starts_at);
    if e.status == AlertStatus::Resolved {
        let _ = write!(s, ", resolved {}", e.ends_at);
    }
    s.push('\n');
    s
}

/// The JSON body an HTTP channel of `kind` gets.
pub fn for_channel(kind: ChannelKind, e: &Alert) -> Value {
    match kind {
        ChannelKind::Slack => json!({"text": format!("*{}*\n{}", headline(e), text_body(e))}),
        ChannelKind::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": headline(e), "wrap": true},
                        {"type": "TextBlock", "text": text_body(e), "wrap": true},
                    ],
                },
            }],
        }),
        _ => alertmanager(e),
    }
}
