//! Looking at the stored values where the declared types do not decide:
//! the storage classes of an untyped column, and the range of the integers
//! in a date/time column (seconds, milliseconds or Julian days).

use rusqlite::Connection;
use sw_core::Result;
use sw_core::pg::quote_ident;

use super::build::sqerr;
use crate::types;
use crate::value::IntDates;

/// The storage classes of `col`'s values in `table`.
pub(super) fn seen(conn: &Connection, table: &str, col: &str) -> Result<types::Seen> {
    let sqlq = format!(
        "SELECT coalesce(sum(typeof(c)='integer'),0), coalesce(sum(typeof(c)='real'),0), coalesce(sum(typeof(c)='text'),0), coalesce(sum(typeof(c)='blob'),0), \
         coalesce(sum(typeof(c)='integer' AND (c > 9007199254740992 OR c < -9007199254740992)),0) FROM (SELECT {} AS c FROM {})",
        quote_ident(col),
        quote_ident(table)
    );
    conn.query_row(&sqlq, [], |r| {
        Ok(types::Seen {
            integer: r.get::<_, i64>(0)?.unsigned_abs(),
            real: r.get::<_, i64>(1)?.unsigned_abs(),
            text: r.get::<_, i64>(2)?.unsigned_abs(),
            blob: r.get::<_, i64>(3)?.unsigned_abs(),
            ints_fit_double: r.get::<_, i64>(4)? == 0,
        })
    })
    .map_err(sqerr("column values"))
}

/// The rule for integers in a date/time column, from their range: Julian
/// day numbers when every one lies in 1900..2200 as a Julian day (as Unix
/// seconds they would all fall in January 1970), milliseconds when they are
/// beyond year 3000 as seconds, seconds otherwise.
pub(super) fn int_dates(conn: &Connection, table: &str, col: &str) -> Result<Option<IntDates>> {
    // Every number sorts before every text in SQLite (whatever the column's
    // affinity or collation), so `< ''` keeps exactly the numbers and lets an
    // index on the column answer with a short range instead of a full scan.
    let sqlq = format!(
        "SELECT count(*), min(c), max(c) FROM (SELECT {0} AS c FROM {1} WHERE {0} < '') WHERE typeof(c) = 'integer'",
        quote_ident(col),
        quote_ident(table)
    );
    let (n, lo, hi): (i64, Option<i64>, Option<i64>) = conn
        .query_row(&sqlq, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sqerr("date values"))?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(None);
    };
    if n == 0 {
        return Ok(None);
    }
    let rule = if lo >= 2_415_021 && hi <= 2_524_594 {
        IntDates::JulianDay
    } else if lo > 32_503_680_000 || hi > 32_503_680_000 {
        IntDates::UnixMilliseconds
    } else {
        IntDates::UnixSeconds
    };
    Ok(Some(rule))
}

/// How many of `col`'s values in a DATE column hold a time of day (as the
/// run reads them: integers by `rule`, reals as Julian days, text as
/// ISO-8601), which a PostgreSQL date cannot keep.
pub(super) fn times_of_day(conn: &Connection, table: &str, col: &str, rule: Option<IntDates>) -> Result<u64> {
    let ints = match rule {
        Some(IntDates::UnixSeconds) => "c % 86400 <> 0",
        Some(IntDates::UnixMilliseconds) => "c % 86400000 <> 0",
        _ => "0",
    };
    let sqlq = format!(
        "SELECT count(*) FROM (SELECT {} AS c FROM {}) WHERE CASE typeof(c) WHEN 'integer' THEN {ints} \
         WHEN 'real' THEN strftime('%H:%M:%f', c) <> '00:00:00.000' WHEN 'text' THEN strftime('%H:%M:%f', c) <> '00:00:00.000' ELSE 0 END",
        quote_ident(col),
        quote_ident(table)
    );
    let n: i64 = conn
        .query_row(&sqlq, [], |r| r.get(0))
        .map_err(sqerr("times of day in a date column"))?;
    Ok(n.unsigned_abs())
}
