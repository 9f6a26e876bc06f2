//! The record contract: every record kind a tool prints is one Rust type.
//!
//! A type implements [`Record`] (its `kind` as a constant, its own schema
//! version) and is printed through [`crate::output::Output::emit`], so the
//! field names on stdout are the struct's and nowhere else. The same type
//! derives `schemars::JsonSchema`; [`KindDoc::of`] turns it into the JSON
//! Schema checked in under `schemas/<tool>/<kind>.json` (the xtask writes
//! them, a test fails when they are stale) and into the man page's JSON
//! OUTPUT section. Readers in other tools deserialize the same type through
//! [`parse`], which checks `kind` and `schema` first.
//!
//! The naming rule every record follows: durations `*_ms`, sizes `*_bytes`,
//! times RFC 3339 UTC ending in `Z` ([`Timestamp`]), and an absent optional
//! field written as `null`, never left out. [`KindDoc::rule_violations`]
//! checks the last two from the schema, so a field that could be omitted
//! fails the xtask test instead of surprising a consumer.

use std::fmt;

use chrono::{DateTime, Utc};
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::exit::Exit;

/// A record kind a tool prints on stdout.
pub trait Record: Serialize {
    /// The record's `kind` field, e.g. `health.report`.
    const KIND: &'static str;
    /// The record's `schema` field: bumped for this kind alone when a field
    /// is renamed, removed or changes type (adding a field is not breaking).
    const SCHEMA: u32 = 1;
}

/// Parse an input line into record type `R`: `kind` and `schema` are
/// checked first, then the fields; any mismatch is exit 65 naming the line.
///
/// # Errors
/// 65 when the kind, schema version or a field does not match `R`.
pub fn parse<R: Record + DeserializeOwned>(line: &crate::input::Line, source: &str) -> Result<R> {
    line.expect_versions(source, &[(R::KIND, R::SCHEMA)])?;
    R::deserialize(&line.value).map_err(|e| {
        Error::data(format!(
            "{source}:{}: {} record does not match its schema: {e}",
            line.line,
            R::KIND
        ))
    })
}

/// A point in time written as RFC 3339 UTC with milliseconds and a `Z`
/// (`2026-11-27T14:05:00.000Z`); read from any RFC 3339 form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Now.
    pub fn now() -> Timestamp {
        Timestamp(Utc::now())
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Timestamp {
        Timestamp(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::output::rfc3339(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&crate::output::rfc3339(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 time: {e}")))
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 UTC time ending in Z"
        })
    }
}

/// One record kind as documented: its name, version and JSON Schema.
#[derive(Debug, Clone)]
pub struct KindDoc {
    pub kind: &'static str,
    pub version: u32,
    pub schema: Value,
}

impl KindDoc {
    /// The documentation entry of record type `R`.
    pub fn of<R: Record + JsonSchema>() -> KindDoc {
        KindDoc {
            kind: R::KIND,
            version: R::SCHEMA,
            schema: schema_of::<R>(),
        }
    }

    /// The record's own description (the type's doc comment).
    pub fn description(&self) -> &str {
        self.schema.get("description").and_then(Value::as_str).unwrap_or("")
    }

    /// Top-level fields after `kind` and `schema`: (name, type, description).
    pub fn fields(&self) -> Vec<(String, String, String)> {
        let Some(props) = self.schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        // `required` keeps declaration order (the properties map is sorted).
        let mut names: Vec<&str> = self
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        names.extend(
            props
                .keys()
                .map(String::as_str)
                .filter(|k| !names.contains(k))
                .collect::<Vec<_>>(),
        );
        names
            .into_iter()
            .filter(|k| *k != "kind" && *k != "schema")
            .filter_map(|k| props.get(k).map(|v| (k, v)))
            .map(|(k, v)| {
                let about = v.get("description").and_then(Value::as_str).unwrap_or("").to_owned();
                (k.to_owned(), type_name(v, &self.schema), about)
            })
            .collect()
    }

    /// Where the schema breaks the field rule: an object field that may be
    /// left out (absent values are `null`, never missing), or a duration or
    /// size field without its unit suffix. Empty when it holds.
    pub fn rule_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let defs = self.schema.get("$defs").and_then(Value::as_object);
        let mut objects = vec![("".to_owned(), &self.schema)];
        if let Some(defs) = defs {
            objects.extend(defs.iter().map(|(k, v)| (format!("$defs/{k}"), v)));
        }
        for (at, obj) in objects {
            let Some(props) = obj.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let required: Vec<&str> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for name in props.keys() {
                if !required.contains(&name.as_str()) {
                    out.push(format!(
                        "{}{at}: field {name:?} may be left out (write null instead)",
                        self.kind
                    ));
                }
                for bad in ["_seconds", "_secs", "_millis", "_size", "_kb", "_mb"] {
                    if name.ends_with(bad) {
                        out.push(format!(
                            "{}{at}: field {name:?}: durations are *_ms and sizes *_bytes",
                            self.kind
                        ));
                    }
                }
            }
        }
        out
    }
}

/// The JSON Schema of record type `R` as written (serialize contract), with
/// the `kind` and `schema` envelope fields first.
pub fn schema_of<R: Record + JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().for_serialize().into_generator();
    let mut v = generator.into_root_schema_for::<R>().to_value();
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    let mut props = Map::new();
    props.insert(
        "kind".into(),
        json!({"const": R::KIND, "description": "the record kind"}),
    );
    props.insert(
        "schema".into(),
        json!({"const": R::SCHEMA, "description": "this kind's schema version"}),
    );
    if let Some(Value::Object(p)) = obj.remove("properties") {
        props.extend(p);
    }
    let mut required = vec![json!("kind"), json!("schema")];
    if let Some(Value::Array(r)) = obj.remove("required") {
        required.extend(r);
    }
    let mut out = Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(x) = obj.remove(key) {
            out.insert(key.into(), x);
        }
    }
    out.insert("type".into(), json!("object"));
    out.insert("properties".into(), Value::Object(props));
    out.insert("required".into(), Value::Array(required));
    obj.remove("type");
    out.extend(std::mem::take(obj));
    Value::Object(out)
}

/// A short type name for a field's schema, for man pages.
fn type_name(v: &Value, root: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return root
            .pointer(&r.replacen('#', "", 1))
            .filter(|d| d.get("enum").is_some() || d.get("oneOf").is_some())
            .map_or_else(|| name.to_owned(), |d| type_name(d, root));
    }
    if let Some(e) = v.get("enum").and_then(Value::as_array) {
        return e.iter().map(render_const).collect::<Vec<_>>().join("|");
    }
    if let Some(c) = v.get("const") {
        return render_const(c);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = v.get(key).and_then(Value::as_array) {
            return alts.iter().map(|a| type_name(a, root)).collect::<Vec<_>>().join("|");
        }
    }
    let fmt = v.get("format").and_then(Value::as_str);
    match v.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!(
                "[{}]",
                v.get("items").map_or_else(|| "any".to_owned(), |i| type_name(i, root))
            )
        }
        Some(Value::String(t)) if t == "string" && fmt == Some("date-time") => "time".to_owned(),
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|"),
        _ => "any".to_owned(),
    }
}

fn render_const(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a command (or subcommand) promises: the exit codes it can return
/// and the record kinds it prints. Tools list one per man page; the xtask
/// renders EXIT STATUS and JSON OUTPUT from them.
#[derive(Debug, Clone)]
pub struct CommandDoc {
    /// The command as typed: `sw-backup list`.
    pub command: String,
    /// (code, meaning for this command), in code order.
    pub exits: Vec<(u8, String)>,
    pub records: Vec<KindDoc>,
}

impl CommandDoc {
    /// A command with no codes or records yet.
    pub fn new(command: &str) -> CommandDoc {
        CommandDoc {
            command: command.to_owned(),
            exits: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Add codes with their general meaning.
    #[must_use]
    pub fn exits(mut self, codes: &[Exit]) -> CommandDoc {
        for e in codes {
            self = self.exit(e.code(), e.meaning());
        }
        self
    }

    /// Add (or replace) one code with a meaning specific to this command.
    #[must_use]
    pub fn exit(mut self, code: u8, meaning: &str) -> CommandDoc {
        self.exits.retain(|(c, _)| *c != code);
        self.exits.push((code, meaning.to_owned()));
        self.exits.sort_by_key(|(c, _)| *c);
        self
    }

    /// Add a record kind this command prints.
    #[must_use]
    pub fn record<R: Record + JsonSchema>(mut self) -> CommandDoc {
        self.records.push(KindDoc::of::<R>());
        self
    }
}

/// The codes every command can return whatever it does: success, a usage
/// error, an internal error, and a SIGINT/SIGTERM (75).
pub const ALWAYS: &[Exit] = &[Exit::Ok, Exit::Usage, Exit::Software, Exit::TempFail];

/// The codes of a command that connects to PostgreSQL, beyond [`ALWAYS`]:
/// cannot connect (69), authentication or privilege (77), bad target (78).
pub const CONNECTS: &[Exit] = &[Exit::Unavailable, Exit::NoPerm, Exit::Config];

/// The check verdicts (1 WARNING, 2 CRITICAL, 3 UNKNOWN).
pub const VERDICTS: &[Exit] = &[Exit::Warning, Exit::Critical, Exit::Unknown];

#[cfg(test)]
mod tests {
    use super::*;

    /// A record used to test the contract.
    #[derive(Serialize, JsonSchema)]
    struct Probe {
        /// How long it took.
        duration_ms: u64,
        at: Timestamp,
        note: Option<String>,
        state: State,
    }
    #[derive(Serialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code, reason = "only its schema is tested")]
    enum State {
        Done,
        Skipped,
    }
    impl Record for Probe {
        const KIND: &'static str = "probe";
    }

    #[derive(Serialize, JsonSchema)]
    struct Leaky {
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        took_seconds: f64,
    }
    impl Record for Leaky {
        const KIND: &'static str = "leaky";
    }

    #[test]
    fn schema_has_the_envelope_and_every_field_required() {
        let d = KindDoc::of::<Probe>();
        let s = &d.schema;
        assert_eq!(s["properties"]["kind"]["const"], "probe");
        assert_eq!(s["properties"]["schema"]["const"], 1);
        let req: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(req, ["kind", "schema", "duration_ms", "at", "note", "state"]);
        assert!(d.rule_violations().is_empty(), "{:?}", d.rule_violations());
        let fields = d.fields();
        assert_eq!(
            fields[0],
            ("duration_ms".into(), "integer".into(), "How long it took.".into())
        );
        assert_eq!(fields[1].1, "time");
        assert_eq!(fields[3].1, "done|skipped");
    }

    #[test]
    fn omitted_fields_and_wrong_units_are_named() {
        let v = KindDoc::of::<Leaky>().rule_violations();
        assert!(v.iter().any(|m| m.contains("\"note\" may be left out")), "{v:?}");
        assert!(v.iter().any(|m| m.contains("took_seconds")), "{v:?}");
    }

    #[test]
    fn timestamps_round_trip() {
        let t: Timestamp = serde_json::from_value(json!("2026-11-27T15:05:00+01:00")).unwrap();
        assert_eq!(serde_json::to_value(t).unwrap(), json!("2026-11-27T14:05:00.000Z"));
        assert!(serde_json::from_value::<Timestamp>(json!("yesterday")).is_err());
    }
}
