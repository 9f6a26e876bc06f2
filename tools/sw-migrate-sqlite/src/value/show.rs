//! A SQLite value shown to a person or written to a reject file: losslessly
//! as [`SourceValue`] (base64 for bytes that are not clean text), or
//! shortened to one line for an error message.

use rusqlite::types::ValueRef;
use schemars::JsonSchema;
use serde::Serialize;

/// One SQLite value as stored, losslessly: an object with one key naming
/// its storage class (`{"integer": 7}`, `{"text": "a"}`,
/// `{"blob_base64": "AP8Q"}`); text that is not valid UTF-8 or holds a NUL
/// byte is `text_base64`. NULL is `null`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceValue {
    /// A 64-bit integer.
    Integer(i64),
    /// A double: a JSON number, or `"inf"`, `"-inf"`, `"NaN"`.
    Real(Real),
    /// Valid UTF-8 text without NUL bytes.
    Text(String),
    /// Any other text, base64 (standard alphabet, padded).
    TextBase64(String),
    /// A blob, base64 (standard alphabet, padded).
    BlobBase64(String),
}

/// A double as JSON: a number when finite, else its name.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Real {
    Finite(f64),
    NotFinite(String),
}

impl SourceValue {
    /// The value as stored; `None` for NULL.
    pub fn of(v: ValueRef<'_>) -> Option<SourceValue> {
        Some(match v {
            ValueRef::Null => return None,
            ValueRef::Integer(i) => SourceValue::Integer(i),
            ValueRef::Real(f) if f.is_finite() => SourceValue::Real(Real::Finite(f)),
            ValueRef::Real(f) => SourceValue::Real(Real::NotFinite(format!("{f}"))),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) if !s.contains('\0') => SourceValue::Text(s.to_owned()),
                _ => SourceValue::TextBase64(base64(t)),
            },
            ValueRef::Blob(b) => SourceValue::BlobBase64(base64(b)),
        })
    }
}

/// Base64 (standard alphabet, padded).
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32, shift: u32| char::from(T[usize::try_from((n >> shift) & 63).unwrap_or(0)]);
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        s.push(sextet(n, 18));
        s.push(sextet(n, 12));
        s.push(if c.len() > 1 { sextet(n, 6) } else { '=' });
        s.push(if c.len() > 2 { sextet(n, 0) } else { '=' });
    }
    s
}

/// A value shortened for an error message.
pub fn short(v: ValueRef<'_>) -> String {
    let s = match v {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        // Control characters escaped: the error stays one line.
        ValueRef::Text(t) => format!(
            "'{}'",
            String::from_utf8_lossy(t)
                .chars()
                .map(|c| if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                })
                .collect::<String>()
        ),
        ValueRef::Blob(b) => format!(
            "x'{}'",
            b.iter().take(24).map(|x| format!("{x:02x}")).collect::<String>()
        ),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_stay_on_one_line() {
        assert_eq!(short(ValueRef::Text(b"a\nb\0c\x1b")), "'a\\nb\\u{0}c\\u{1b}'");
        assert_eq!(short(ValueRef::Text(b"\xffx")), "'\u{fffd}x'");
    }

    #[test]
    fn source_values_are_lossless() {
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a\0b"), "YQBi");
        let json = |v| serde_json::to_value(SourceValue::of(v)).unwrap();
        assert_eq!(json(ValueRef::Integer(7)), serde_json::json!({"integer": 7}));
        assert_eq!(json(ValueRef::Real(0.5)), serde_json::json!({"real": 0.5}));
        assert_eq!(
            json(ValueRef::Real(f64::NEG_INFINITY)),
            serde_json::json!({"real": "-inf"})
        );
        assert_eq!(
            json(ValueRef::Text(b"a\0b")),
            serde_json::json!({"text_base64": "YQBi"})
        );
        assert_eq!(
            json(ValueRef::Blob(b"\x00\xff\x10")),
            serde_json::json!({"blob_base64": "AP8Q"})
        );
        assert_eq!(json(ValueRef::Null), serde_json::Value::Null);
    }
}
