//! Validating captured records against the checked-in JSON Schemas
//! (`schemas/<tool>/<kind>.json`, generated from the record types by
//! `cargo xtask schemas`).
//!
//! A small validator for exactly the JSON Schema subset schemars writes.
//! It is stricter than the published contract in one way: an object schema
//! with `properties` and no `additionalProperties` is closed here, so a
//! field printed outside the type (a flattened map, a hand-written
//! serializer) fails the test. Any keyword it does not know panics rather
//! than passing silently: a validator that skips what it cannot read
//! checks nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The checked-in schemas directory.
pub fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Loaded schemas by (tool, kind); None when the file is absent.
type Cache = Mutex<HashMap<(String, String), Option<Value>>>;

fn load(tool: &str, kind: &str) -> Option<Value> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    cache
        .entry((tool.to_owned(), kind.to_owned()))
        .or_insert_with(|| {
            let p = schemas_dir().join(tool).join(format!("{kind}.json"));
            let text = std::fs::read_to_string(&p).ok()?;
            Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display())))
        })
        .clone()
}

/// Validate one record printed by `tool` against its kind's schema; the
/// error names the record, the path inside it and what is wrong.
pub fn validate(tool: &str, record: &Value) -> Result<(), String> {
    let kind = record
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{tool} printed a record without a kind: {record}"))?;
    let schema = load(tool, kind)
        .ok_or_else(|| format!("{tool} printed a {kind:?} record, which has no schema in schemas/{tool}/"))?;
    let mut errors = Vec::new();
    check(&schema, &schema, record, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{tool} {kind} record does not match schemas/{tool}/{kind}.json: {}\nrecord: {record}",
            errors.join("; ")
        ))
    }
}

/// Panic unless every JSON object line of `stdout` that carries a `kind`
/// matches its schema.
pub fn validate_stdout(tool: &str, stdout: &str) {
    for line in stdout.lines() {
        let t = line.trim();
        if !t.starts_with('{') {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(t) else {
            continue;
        };
        if v.get("kind").is_some()
            && let Err(e) = validate(tool, &v)
        {
            panic!("{e}");
        }
    }
}

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$defs",
    "$id",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let obj = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{at}: no value allowed"));
            return;
        }
        Value::Object(o) => o,
        other => panic!("schema at {at} is not an object: {other}"),
    };
    if ["properties", "required", "additionalProperties"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        check_object(root, obj, v, at, errors);
    }
    if let Some(a) = v.as_array() {
        check_array(root, obj, a, at, errors);
    }
    for (k, s) in obj {
        match k.as_str() {
            "$ref" => {
                let r = s.as_str().unwrap_or_default();
                let target = root
                    .pointer(r.strip_prefix('#').unwrap_or(r))
                    .unwrap_or_else(|| panic!("unresolved $ref {r}"));
                check(root, target, v, at, errors);
            }
            "type" => check_type(s, v, at, errors),
            "const" if v != s => errors.push(format!("{at}: {v} is not {s}")),
            "enum" if !s.as_array().is_some_and(|a| a.contains(v)) => {
                errors.push(format!("{at}: {v} is not one of {s}"));
            }
            "anyOf" | "oneOf" => {
                let alts = s.as_array().map(Vec::as_slice).unwrap_or_default();
                let passing = alts
                    .iter()
                    .filter(|a| {
                        let mut e = Vec::new();
                        check(root, a, v, at, &mut e);
                        e.is_empty()
                    })
                    .count();
                if passing == 0 || (k == "oneOf" && passing > 1) {
                    errors.push(format!("{at}: {v} matches {passing} of the {k} alternatives"));
                }
            }
            "allOf" => {
                for a in s.as_array().map(Vec::as_slice).unwrap_or_default() {
                    check(root, a, v, at, errors);
                }
            }
            "properties" | "required" | "additionalProperties" => {}
            "items" | "prefixItems" | "minItems" | "maxItems" | "uniqueItems" => {}
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => check_bound(k, s, v, at, errors),
            "format" => check_format(s, v, at, errors),
            "const" | "enum" => {}
            k if ANNOTATIONS.contains(&k) => {}
            other => panic!("the test validator does not know the JSON Schema keyword {other:?} (at {at}); teach it"),
        }
    }
}

fn check_type(t: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let is = |name: &str| match name {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => panic!("unknown JSON type {other:?}"),
    };
    let ok = match t {
        Value::String(s) => is(s),
        Value::Array(a) => a.iter().filter_map(Value::as_str).any(is),
        other => panic!("bad type keyword {other}"),
    };
    if !ok {
        errors.push(format!("{at}: {v} is not of type {t}"));
    }
}

fn check_object(root: &Value, schema: &serde_json::Map<String, Value>, v: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(o) = v.as_object() else { return };
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if !o.contains_key(r) {
                errors.push(format!("{at}: field {r:?} is missing (absent values are null)"));
            }
        }
    }
    for (k, x) in o {
        let path = format!("{at}/{k}");
        match props.and_then(|p| p.get(k)) {
            Some(s) => check(root, s, x, &path, errors),
            None => match schema.get("additionalProperties") {
                Some(extra) => check(root, extra, x, &path, errors),
                None if props.is_some() => errors.push(format!("{path}: field not in the schema")),
                None => {}
            },
        }
    }
}

fn check_array(root: &Value, schema: &serde_json::Map<String, Value>, a: &[Value], at: &str, errors: &mut Vec<String>) {
    let prefix = schema
        .get("prefixItems")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, (s, x)) in prefix.iter().zip(a).enumerate() {
        check(root, s, x, &format!("{at}/{i}"), errors);
    }
    if let Some(items) = schema.get("items") {
        for (i, x) in a.iter().enumerate().skip(prefix.len()) {
            check(root, items, x, &format!("{at}/{i}"), errors);
        }
    }
    let len = a.len() as u64;
    if schema.get("minItems").and_then(Value::as_u64).is_some_and(|n| len < n) {
        errors.push(format!("{at}: fewer than {} items", schema["minItems"]));
    }
    if schema.get("maxItems").and_then(Value::as_u64).is_some_and(|n| len > n) {
        errors.push(format!("{at}: more than {} items", schema["maxItems"]));
    }
}

fn check_bound(key: &str, bound: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let (Some(x), Some(b)) = (v.as_f64(), bound.as_f64()) else {
        return;
    };
    let ok = match key {
        "minimum" => x >= b,
        "maximum" => x <= b,
        "exclusiveMinimum" => x > b,
        _ => x < b,
    };
    if !ok {
        errors.push(format!("{at}: {v} violates {key} {bound}"));
    }
}

fn check_format(format: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(s) = v.as_str() else { return };
    if format == "date-time" {
        let utc = s.ends_with('Z') && chrono_like_rfc3339(s);
        if !utc {
            errors.push(format!("{at}: {s:?} is not an RFC 3339 UTC time ending in Z"));
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
fn chrono_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b[19] == b'Z' || (b[19] == b'.' && s[20..s.len() - 1].bytes().all(|c| c.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(schema: &Value, v: &Value) -> Vec<String> {
        let mut e = Vec::new();
        check(schema, schema, v, "", &mut e);
        e
    }

    #[test]
    fn closed_objects_required_fields_refs_and_times() {
        let s = json!({
            "type": "object",
            "properties": {
                "kind": {"const": "x"},
                "at": {"type": "string", "format": "date-time"},
                "n": {"type": ["integer", "null"], "minimum": 0},
                "state": {"$ref": "#/$defs/State"}
            },
            "required": ["kind", "at", "n", "state"],
            "$defs": {"State": {"type": "string", "enum": ["done", "skipped"]}}
        });
        assert!(
            errs(
                &s,
                &json!({"kind":"x","at":"2026-01-01T00:00:00.000Z","n":null,"state":"done"})
            )
            .is_empty()
        );
        let e = errs(
            &s,
            &json!({"kind":"y","at":"2026-01-01 00:00","n":-1,"state":"gone","extra":1}),
        );
        assert_eq!(e.len(), 5, "{e:?}");
        let e = errs(&s, &json!({"kind":"x","at":"2026-01-01T00:00:00Z","state":"done"}));
        assert_eq!(e, vec![": field \"n\" is missing (absent values are null)".to_owned()]);
    }

    #[test]
    #[should_panic(expected = "does not know the JSON Schema keyword")]
    fn unknown_keywords_panic() {
        errs(&json!({"patternProperties": {}}), &json!({}));
    }
}
