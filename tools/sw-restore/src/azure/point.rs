//! Where a Flexible Server restore goes in time and space: the point
//! (`--target-time`, `--latest`, `--before`) checked against now and the
//! server's earliest restore point, and the region a geo-restore goes to
//! (the source region's pair unless `--location` says otherwise).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;
use sw_core::azure::flexible::text;
use sw_core::{Error, Result};

/// Azure keeps at most 35 days of backups: no point before that can exist.
pub const MAX_RETENTION_DAYS: i64 = 35;

/// What to restore to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The latest restorable point (now, as Azure takes it).
    Latest,
    Time(DateTime<Utc>),
}

impl Point {
    /// Parse `--target-time` (RFC 3339), or `--latest` when none.
    ///
    /// # Errors
    /// 64 when the time does not parse.
    pub fn parse(time: Option<&str>) -> Result<Point> {
        match time {
            None => Ok(Point::Latest),
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map(|t| Point::Time(t.with_timezone(&Utc)))
                .map_err(|e| Error::usage(format!("--target-time {t:?} is not an RFC 3339 time: {e}"))),
        }
    }

    /// The refusals that need no request: a time in the future, or older
    /// than any retention Azure offers.
    ///
    /// # Errors
    /// 65 naming the time and the limit it breaks.
    pub fn check_bounds(self, now: DateTime<Utc>) -> Result<()> {
        let Point::Time(t) = self else { return Ok(()) };
        if t > now {
            return Err(Error::data(format!(
                "the restore point {} is in the future (now is {}); nothing was sent",
                stamp(t),
                stamp(now)
            )));
        }
        if t < now - Duration::days(MAX_RETENTION_DAYS) {
            return Err(Error::data(format!(
                "the restore point {} is more than {MAX_RETENTION_DAYS} days ago, before any Flexible Server keeps backups; nothing was sent",
                stamp(t)
            )));
        }
        Ok(())
    }

    /// Refuse a point before the source's `earliestRestoreDate`.
    ///
    /// # Errors
    /// 65 naming both times.
    pub fn check_earliest(self, source: &Value) -> Result<()> {
        let Point::Time(t) = self else { return Ok(()) };
        let e = text(source, "/properties/backup/earliestRestoreDate");
        if let Ok(earliest) = DateTime::parse_from_rfc3339(e)
            && t < earliest.with_timezone(&Utc)
        {
            return Err(Error::data(format!(
                "the restore point {} is before the earliest restore point of {} ({e}); nothing was sent",
                stamp(t),
                text(source, "/name")
            )));
        }
        Ok(())
    }

    /// `pointInTimeUTC` as sent: RFC 3339 UTC with microseconds.
    pub fn utc(self, now: DateTime<Utc>) -> String {
        stamp(match self {
            Point::Latest => now,
            Point::Time(t) => t,
        })
    }

    /// The tag value and the record's `target`: `latest` or the time.
    pub fn describe(self) -> String {
        match self {
            Point::Latest => "latest".into(),
            Point::Time(t) => stamp(t),
        }
    }
}

/// RFC 3339 UTC with microseconds (the form ARM's examples send).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Azure's region pairs (the regions geo-redundant backups are kept in).
const PAIRS: &[(&str, &str)] = &[
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("westus2", "westcentralus"),
    ("westus3", "eastus"),
    ("northcentralus", "southcentralus"),
    ("canadacentral", "canadaeast"),
    ("brazilsouth", "southcentralus"),
    ("northeurope", "westeurope"),
    ("uksouth", "ukwest"),
    ("francecentral", "francesouth"),
    ("germanywestcentral", "germanynorth"),
    ("switzerlandnorth", "switzerlandwest"),
    ("norwayeast", "norwaywest"),
    ("swedencentral", "swedensouth"),
    ("eastasia", "southeastasia"),
    ("japaneast", "japanwest"),
    ("koreacentral", "koreasouth"),
    ("australiaeast", "australiasoutheast"),
    ("centralindia", "southindia"),
    ("uaenorth", "uaecentral"),
    ("southafricanorth", "southafricawest"),
];

/// The paired region of `region`, when it is one of the known pairs.
pub fn paired(region: &str) -> Option<&'static str> {
    let r = sw_core::azure::flexible::region(region);
    PAIRS.iter().find_map(|(a, b)| {
        if *a == r {
            Some(*b)
        } else if *b == r {
            Some(*a)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn points_are_checked_before_anything_is_sent() {
        let now = Utc::now();
        assert!(Point::Time(now + Duration::minutes(5)).check_bounds(now).is_err());
        assert!(Point::Time(now - Duration::days(36)).check_bounds(now).is_err());
        assert!(Point::Time(now - Duration::hours(1)).check_bounds(now).is_ok());
        assert!(Point::Latest.check_bounds(now).is_ok());
        let src =
            json!({"name": "s", "properties": {"backup": {"earliestRestoreDate": "2025-06-01T18:35:22.123456Z"}}});
        let before: DateTime<Utc> = "2025-06-01T18:00:00Z".parse().unwrap();
        assert!(Point::Time(before).check_earliest(&src).is_err());
        assert!(Point::Time(before + Duration::hours(1)).check_earliest(&src).is_ok());
        assert_eq!(Point::Time(before).utc(now), "2025-06-01T18:00:00.000000Z");
        assert_eq!(paired("East US"), Some("westus"));
        assert_eq!(paired("westeurope"), Some("northeurope"));
        assert_eq!(paired("mars"), None);
    }
}
