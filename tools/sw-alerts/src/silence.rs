//! Silences (`--silences FILE`): `[[silence]]` tables whose matchers hold
//! an alert's notifications back until the silence ends. Matchers are a
//! table of equalities or Alertmanager-style strings (`name=value`,
//! `name!=value`, `name=~regex`, `name!~regex`, anchored).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

/// Matchers as written: a table of equalities, or Alertmanager-style
/// strings (`name=value`, `name!=value`, `name=~regex`, `name!~regex`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MatchersSpec {
    Equal(BTreeMap<String, String>),
    List(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceSpec {
    matchers: MatchersSpec,
    starts_at: Option<DateTime<Utc>>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    comment: String,
}

/// How a matcher compares a label's value (a missing label is "").
#[derive(Debug)]
pub enum Op {
    Equal(String),
    NotEqual(String),
    /// Anchored regular expression (the whole value must match).
    Regex(regex_lite::Regex),
    NotRegex(regex_lite::Regex),
}

/// One matcher: a label name and a comparison.
#[derive(Debug)]
pub struct Matcher {
    pub label: String,
    pub op: Op,
}

impl Matcher {
    /// Parse `name=value`, `name!=value`, `name=~re` or `name!~re`; the
    /// value may be in double quotes.
    pub fn parse(spec: &str) -> std::result::Result<Matcher, String> {
        let i = spec
            .find(['=', '!'])
            .ok_or_else(|| format!("matcher {spec:?} is not name=value, name!=value, name=~regex or name!~regex"))?;
        let label = spec[..i].trim();
        let rest = &spec[i..];
        let (op, value) = ["!=", "=~", "!~", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
            .ok_or_else(|| format!("matcher {spec:?}: unknown operator"))?;
        if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("matcher {spec:?}: bad label name {label:?}"));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .to_owned();
        let re = || {
            regex_lite::Regex::new(&format!("^(?:{value})$"))
                .map_err(|e| format!("matcher {spec:?}: bad regular expression: {e}"))
        };
        let op = match op {
            "=" => Op::Equal(value),
            "!=" => Op::NotEqual(value),
            "=~" => Op::Regex(re()?),
            _ => Op::NotRegex(re()?),
        };
        Ok(Matcher {
            label: label.to_owned(),
            op,
        })
    }

    /// Whether the label set satisfies this matcher.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map_or("", String::as_str);
        match &self.op {
            Op::Equal(x) => v == x,
            Op::NotEqual(x) => v != x,
            Op::Regex(r) => r.is_match(v),
            Op::NotRegex(r) => !r.is_match(v),
        }
    }
}

/// One silence: every matcher must hold for the alert's labels.
#[derive(Debug)]
pub struct Silence {
    pub matchers: Vec<Matcher>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceFile {
    #[serde(default)]
    silence: Vec<SilenceSpec>,
}

/// Load silences (`[[silence]]` tables with matchers, optional starts_at, ends_at).
pub fn load_silences(path: &Path) -> Result<Vec<Silence>> {
    let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
    let f: SilenceFile =
        toml::from_str(&text).map_err(|e| Error::config(format!("{}: {}", q(path), e.message().trim())))?;
    let mut out = Vec::new();
    for s in f.silence {
        let matchers = match s.matchers {
            MatchersSpec::Equal(m) => m
                .into_iter()
                .map(|(label, v)| Matcher {
                    label,
                    op: Op::Equal(v),
                })
                .collect(),
            MatchersSpec::List(l) => l
                .iter()
                .map(|m| Matcher::parse(m))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::config(format!("{}: {e}", q(path))))?,
        };
        if matchers.is_empty() {
            return Err(Error::config(format!(
                "{}: a silence needs at least one matcher",
                q(path)
            )));
        }
        out.push(Silence {
            matchers,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            comment: s.comment,
        });
    }
    Ok(out)
}

/// Whether any active silence matches `labels` at `now`.
pub fn silenced(silences: &[Silence], labels: &BTreeMap<String, String>, now: DateTime<Utc>) -> bool {
    silences.iter().any(|s| {
        s.starts_at.is_none_or(|t| t <= now) && now < s.ends_at && s.matchers.iter().all(|m| m.matches(labels))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn matchers_follow_alertmanager() {
        let labels = BTreeMap::from([
            ("alertname".to_owned(), "Deadlocks".to_owned()),
            ("instance".to_owned(), "app@db12:5432/app".to_owned()),
        ]);
        let m = |s: &str| Matcher::parse(s).unwrap().matches(&labels);
        assert!(m("alertname=Deadlocks"));
        assert!(m("alertname=\"Deadlocks\""));
        assert!(!m("alertname!=Deadlocks"));
        assert!(m("instance=~app@db1[0-9]:.*"));
        assert!(!m("instance=~db1"), "anchored: the whole value must match");
        assert!(m("instance!~.*db9.*"));
        assert!(m("severity!=critical"), "a missing label is empty");
        assert!(m("severity=\"\""));
        assert!(Matcher::parse("instance=~(").is_err());
        assert!(Matcher::parse("no operator").is_err());
        assert!(Matcher::parse("=x").is_err());
    }
}
