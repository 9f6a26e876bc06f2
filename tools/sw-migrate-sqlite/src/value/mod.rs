//! SQLite values to PostgreSQL binary COPY fields, by the rules in the plan.
//! Every conversion either keeps the value exactly (by the documented rule)
//! or fails with the rule it breaks: nothing is changed silently.
//!
//! This is the copy loop's inner step, run for every value: `encode` writes
//! straight into the COPY buffer without allocating for the common types.
//! `numeric`, `datetime` and `json` hold the conversions of those types (and
//! the text PostgreSQL prints for them, which the verification compares);
//! `show` renders a value for a reject file or an error message.

mod datetime;
mod encode;
mod json;
mod numeric;
mod show;
mod unreadable;

pub use datetime::pg_text as datetime_literal;
pub use encode::encode;
pub use show::{SourceValue, short};
pub use unreadable::{Unreadable, unreadable};

use rusqlite::types::ValueRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The PostgreSQL column types we write, as the server reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int2,
    Int4,
    Int8,
    Bool,
    Float4,
    Float8,
    /// `scale`/`precision` from the typmod, when there is one.
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Text {
        max_chars: Option<usize>,
    },
    Bytea,
    Date,
    /// Fractional-second digits kept (the typmod; 6 without one).
    Timestamp(u32),
    Timestamptz(u32),
    Json,
    Jsonb,
    Uuid,
}

impl Kind {
    /// From `format_type(atttypid, atttypmod)`.
    pub fn from_pg(t: &str) -> Option<Kind> {
        if let Some(rest) = t.strip_prefix("timestamp(") {
            let (p, zone) = rest.split_once(')')?;
            let p = p.trim().parse::<u32>().ok()?.min(6);
            return match zone.trim() {
                "without time zone" => Some(Kind::Timestamp(p)),
                "with time zone" => Some(Kind::Timestamptz(p)),
                _ => None,
            };
        }
        let (base, args) = match t.find('(') {
            Some(p) => (
                &t[..p],
                t[p + 1..]
                    .trim_end_matches(')')
                    .split(',')
                    .filter_map(|a| a.trim().parse::<u32>().ok())
                    .collect::<Vec<_>>(),
            ),
            None => (t, Vec::new()),
        };
        Some(match base {
            "smallint" => Kind::Int2,
            "integer" => Kind::Int4,
            "bigint" => Kind::Int8,
            "boolean" => Kind::Bool,
            "real" => Kind::Float4,
            "double precision" => Kind::Float8,
            "numeric" => Kind::Numeric {
                precision: args.first().copied(),
                scale: args.get(1).copied().or(args.first().map(|_| 0)),
            },
            // citext (the extension) sends and receives exactly as text:
            // an app's migrations often make case-insensitive columns so.
            "text" | "citext" => Kind::Text { max_chars: None },
            "character varying" => Kind::Text {
                max_chars: args.first().map(|n| usize::try_from(*n).unwrap_or(usize::MAX)),
            },
            "bytea" => Kind::Bytea,
            "date" => Kind::Date,
            "timestamp without time zone" => Kind::Timestamp(6),
            "timestamp with time zone" => Kind::Timestamptz(6),
            "json" => Kind::Json,
            "jsonb" => Kind::Jsonb,
            "uuid" => Kind::Uuid,
            _ => return None,
        })
    }

    /// What to select for column `c` so that its binary COPY output is
    /// exactly the canonical bytes [`encode`] gives.
    pub fn checksum_select(self, c: &str) -> String {
        if self.checksum_is_payload() {
            c.to_owned()
        } else {
            format!("{c}::text")
        }
    }

    /// Whether PostgreSQL returns the column to the verification as the
    /// very bytes sent (else as text: [`encode`] fills `canon`).
    pub fn checksum_is_payload(self) -> bool {
        !matches!(self, Kind::Numeric { .. } | Kind::Jsonb)
    }
}

/// How integers in a date/time column are read (the plan's `integers`
/// rule, chosen from the values' range when planning; edit to override).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IntDates {
    /// Seconds since 1970-01-01 UTC.
    #[default]
    UnixSeconds,
    /// Milliseconds since 1970-01-01 UTC.
    UnixMilliseconds,
    /// Julian day numbers.
    JulianDay,
}

/// Check a default literal the same way as data (for DDL defaults).
///
/// # Errors
/// The rule the value breaks.
pub fn check_literal(s: &str, ty: &str) -> Result<(), String> {
    let Some(kind) = Kind::from_pg(ty) else {
        return Ok(());
    };
    let mut out = Vec::new();
    let mut canon = Vec::new();
    encode(
        kind,
        IntDates::UnixSeconds,
        ValueRef::Text(s.as_bytes()),
        &mut out,
        &mut canon,
    )
    .map(|_| ())
}
