//! `azure_maintenance`: when Azure may next patch a Flexible Server
//! (`--azure`). A custom window (day of week, start hour and minute, UTC,
//! one hour long) says exactly when; the next start is the value, in hours,
//! and a maintenance running now is a WARNING. A system-managed window has
//! no time to report: Azure picks it and announces it five days ahead, so
//! the check says so and has no value. No thresholds by default: a team
//! that wants a heads-up sets `--warn azure_maintenance=24` (hours, below).

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Value, json};
use sw_core::azure::flexible::text;
use sw_core::health::Status;

use super::azure::{open, unknown_unless_reported};
use super::{Check, How, Measured, Scope};
use crate::azure::fetch::Fetched;
use crate::check::runner::Runner;

pub const MAINTENANCE: Check = Check {
    name: "azure_maintenance",
    unit: "h",
    warn: None,
    crit: None,
    below: true,
    scope: Scope::Client,
    help: "hours to the next custom maintenance window (none for a system-managed one); inside the window is WARNING (--azure)",
    how: How::Own,
};

/// A custom window lasts an hour (Azure's documented length).
const WINDOW: Duration = Duration::hours(1);

pub fn report(r: &mut Runner<'_>, f: &Fetched) {
    if !open(r, &MAINTENANCE) {
        return;
    }
    match &f.server {
        Ok(s) => r.push(&MAINTENANCE, None, judge(s, f.now)),
        Err(e) => unknown_unless_reported(r, &MAINTENANCE, e),
    }
}

fn judge(s: &Value, now: DateTime<Utc>) -> Measured {
    let w = s.pointer("/properties/maintenanceWindow");
    let custom = w.is_some_and(|w| text(w, "/customWindow").eq_ignore_ascii_case("enabled"));
    let field = |k: &str| w.and_then(|w| w.get(k)).and_then(Value::as_u64);
    let (Some(day), Some(hour), Some(minute)) = (field("dayOfWeek"), field("startHour"), field("startMinute")) else {
        return Measured::new(None, "the server names no maintenance window", Value::Null);
    };
    if !custom {
        let msg = "system-managed maintenance window: Azure picks the time and announces it five days ahead";
        return Measured::new(None, msg, json!({"custom_window": false}));
    }
    let Some((start, inside)) = next_window(now, day, hour, minute) else {
        let why = format!("maintenance window out of range (day {day}, {hour}:{minute:02})");
        return Measured::new(None, why, Value::Null).floor(Status::Unknown);
    };
    let hours = (start - now).num_seconds().max(0) as f64 / 3600.0;
    let details = json!({"custom_window": true, "day_of_week": day, "start_hour": hour,
                         "start_minute": minute, "next_start": sw_core::output::rfc3339(start)});
    if inside {
        let msg = format!(
            "inside the maintenance window that started {}",
            sw_core::output::rfc3339(start)
        );
        Measured::new(Some(0.0), msg, details).floor(Status::Warning)
    } else {
        let msg = format!(
            "next maintenance window {} (in {hours:.1} h)",
            sw_core::output::rfc3339(start)
        );
        Measured::new(Some(hours), msg, details)
    }
}

/// The start of the window running now (true) or of the next one (false);
/// `day` counts from Sunday (0), as the API does. None when out of range.
fn next_window(now: DateTime<Utc>, day: u64, hour: u64, minute: u64) -> Option<(DateTime<Utc>, bool)> {
    if day > 6 || hour > 23 || minute > 59 {
        return None;
    }
    let today = i64::from(now.weekday().num_days_from_sunday());
    let midnight = now.with_hour(0)?.with_minute(0)?.with_second(0)?.with_nanosecond(0)?;
    let offset = Duration::days(i64::try_from(day).ok()? - today)
        + Duration::hours(i64::try_from(hour).ok()?)
        + Duration::minutes(i64::try_from(minute).ok()?);
    // This week's start, moved by whole weeks to the latest one not after now.
    let mut start = midnight + offset;
    while start > now {
        start -= Duration::weeks(1);
    }
    if now < start + WINDOW {
        Some((start, true))
    } else {
        Some((start + Duration::weeks(1), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn server(custom: &str, day: u64, hour: u64, minute: u64) -> Value {
        json!({"properties": {"maintenanceWindow": {"customWindow": custom, "dayOfWeek": day,
                                                    "startHour": hour, "startMinute": minute}}})
    }

    #[test]
    fn the_next_custom_window_is_hours_away_and_inside_it_is_a_warning() {
        // 2026-12-02 is a Wednesday (day 3).
        let now = at("2026-12-02T10:00:00Z");
        let m = judge(&server("Enabled", 0, 2, 30), now);
        assert_eq!(m.value, Some(88.5), "Sunday 02:30 is 3 days 16.5 h away");
        assert!(m.message.contains("2026-12-06T02:30:00"), "{}", m.message);
        let m = judge(&server("Enabled", 3, 9, 30), now);
        assert_eq!((m.value, m.at_least), (Some(0.0), Status::Warning), "{}", m.message);
        let m = judge(&server("Enabled", 3, 8, 30), now);
        assert_eq!(m.value, Some(166.5), "an hour-long window that ended: next week's");
        let m = judge(&server("Enabled", 3, 10, 0), now);
        assert_eq!(m.at_least, Status::Warning, "its first minute is inside");
    }

    #[test]
    fn a_system_managed_or_missing_window_has_no_value() {
        let now = at("2026-12-02T10:00:00Z");
        let m = judge(&server("Disabled", 0, 0, 0), now);
        assert_eq!((m.value, m.at_least), (None, Status::Ok));
        assert!(m.message.contains("system-managed"), "{}", m.message);
        let m = judge(&json!({"properties": {}}), now);
        assert_eq!(m.value, None);
        let m = judge(&server("Enabled", 7, 0, 0), now);
        assert_eq!(m.at_least, Status::Unknown, "{}", m.message);
    }
}
