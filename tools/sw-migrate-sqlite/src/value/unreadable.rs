//! Values SQLite kept that PostgreSQL cannot hold in the column's type and
//! that mean "no value" to the application that wrote them: MySQL-style
//! zero dates, '' in a number or date column, dates past PostgreSQL's
//! range. In a nullable column the plan turns them into NULL (counted per
//! column in the plan and in `migrate.table`); elsewhere they are values
//! that do not fit, like any other.

use rusqlite::types::ValueRef;

use super::Kind;

/// Why a value that breaks its column's rule may stand for NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// `0000-00-00`, `0000-00-00 00:00:00`, or any date with month or day 00.
    ZeroDate,
    /// The empty string in a number, boolean, UUID or date column.
    Empty,
    /// A date or time outside PostgreSQL's range (or an epoch beyond any date).
    OutOfRange,
}

impl Kind {
    fn is_datetime(self) -> bool {
        matches!(self, Kind::Date | Kind::Timestamp(_) | Kind::Timestamptz(_))
    }

    fn refuses_empty(self) -> bool {
        !matches!(self, Kind::Text { .. } | Kind::Bytea | Kind::Json | Kind::Jsonb)
    }
}

/// Whether `v`, which broke `rule` (the error [`super::encode`] gave) in a
/// column of `kind`, is one of the values that may become NULL.
pub fn unreadable(kind: Kind, v: ValueRef<'_>, rule: &str) -> Option<Unreadable> {
    match v {
        ValueRef::Text(b"") if kind.refuses_empty() => Some(Unreadable::Empty),
        ValueRef::Text(t) if kind.is_datetime() && is_zero_date(t) => Some(Unreadable::ZeroDate),
        _ if kind.is_datetime() && rule.contains("out of") && rule.contains("range") => Some(Unreadable::OutOfRange),
        _ => None,
    }
}

/// `YYYY-MM-DD...` with month or day `00` (MySQL's zero and partial dates).
fn is_zero_date(t: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| t.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    t.len() >= 10
        && digits(0..4)
        && t[4] == b'-'
        && digits(5..7)
        && t[7] == b'-'
        && digits(8..10)
        && (&t[5..7] == b"00" || &t[8..10] == b"00")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{IntDates, encode};

    fn class(k: Kind, v: ValueRef<'_>) -> Option<Unreadable> {
        let err = encode(k, IntDates::UnixSeconds, v, &mut Vec::new(), &mut Vec::new()).unwrap_err();
        unreadable(k, v, &err)
    }

    #[test]
    fn zero_dates_empty_strings_and_out_of_range_dates_are_told_apart() {
        let ts = Kind::Timestamp(6);
        assert_eq!(
            class(ts, ValueRef::Text(b"0000-00-00 00:00:00")),
            Some(Unreadable::ZeroDate)
        );
        assert_eq!(
            class(Kind::Date, ValueRef::Text(b"0000-00-00")),
            Some(Unreadable::ZeroDate)
        );
        assert_eq!(
            class(Kind::Date, ValueRef::Text(b"2021-04-00")),
            Some(Unreadable::ZeroDate)
        );
        assert_eq!(class(ts, ValueRef::Text(b"")), Some(Unreadable::Empty));
        assert_eq!(class(Kind::Int8, ValueRef::Text(b"")), Some(Unreadable::Empty));
        assert_eq!(class(ts, ValueRef::Integer(i64::MAX)), Some(Unreadable::OutOfRange));
        assert_eq!(
            class(ts, ValueRef::Integer(-220_000_000_000)),
            Some(Unreadable::OutOfRange)
        );
        assert_eq!(class(ts, ValueRef::Real(1e300)), Some(Unreadable::OutOfRange));
        // Values that are wrong, not "no value": still rejected.
        assert_eq!(class(ts, ValueRef::Text(b"2021-02-30")), None);
        assert_eq!(class(Kind::Int8, ValueRef::Text(b"abc")), None);
        assert_eq!(class(Kind::Int8, ValueRef::Text(b" ")), None);
    }
}
