//! Rule files (TOML): which checks of a health report raise which alert,
//! and the timing (`for`, `keep_firing_for`, `repeat_interval`) of each;
//! plus the built-in default pack that `sw-alerts default-rules` prints.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sw_core::fsutil::q;
use sw_core::{Error, Result};

/// The default rule pack, shipped in the binary.
pub const DEFAULT_RULES: &str = include_str!("../rules/default.toml");

fn dur<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    sw_core::duration::parse(&s).map_err(serde::de::Error::custom)
}

fn opt_dur<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| sw_core::duration::parse(&s).map_err(serde::de::Error::custom))
        .transpose()
}

fn default_stale() -> Duration {
    Duration::from_secs(600)
}

fn default_repeat() -> Duration {
    Duration::from_secs(4 * 3600)
}

/// A rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// No report from an instance for this long raises SwHealthInputStale.
    #[serde(default = "default_stale", deserialize_with = "dur")]
    pub stale_after: Duration,
    /// `for` of SwHealthCheckUnknown.
    #[serde(default, deserialize_with = "dur")]
    pub unknown_for: Duration,
    /// Default repeat interval of every rule.
    #[serde(default = "default_repeat", deserialize_with = "dur")]
    pub repeat_interval: Duration,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// Check statuses a rule can require (at least).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MinStatus {
    Warning,
    Critical,
}

/// One alerting rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub check: String,
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub status: Option<MinStatus>,
    #[serde(default, rename = "for", deserialize_with = "dur")]
    pub for_: Duration,
    #[serde(default, deserialize_with = "dur")]
    pub keep_firing_for: Duration,
    #[serde(default, deserialize_with = "opt_dur")]
    pub repeat_interval: Option<Duration>,
    #[serde(default = "default_severity")]
    pub severity: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

fn default_severity() -> String {
    "warning".to_owned()
}

impl RuleFile {
    /// Parse and validate rule text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<RuleFile> {
        let f: RuleFile =
            toml::from_str(text).map_err(|e| Error::config(format!("{source}: {}", e.message().trim())))?;
        let mut seen = std::collections::BTreeSet::new();
        for r in &f.rules {
            if r.name.is_empty() || !r.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::config(format!(
                    "{source}: rule name {:?} must be letters, digits and _",
                    r.name
                )));
            }
            if !seen.insert(r.name.clone()) {
                return Err(Error::config(format!("{source}: rule {:?} is defined twice", r.name)));
            }
            if r.above.is_none() && r.below.is_none() && r.status.is_none() {
                return Err(Error::config(format!(
                    "{source}: rule {:?} needs above, below or status",
                    r.name
                )));
            }
            if r.above.is_some() && r.below.is_some() {
                return Err(Error::config(format!(
                    "{source}: rule {:?} has both above and below",
                    r.name
                )));
            }
            for k in r.labels.keys() {
                if ["alertname", "instance", "database", "check", "severity"].contains(&k.as_str()) {
                    return Err(Error::config(format!(
                        "{source}: rule {:?}: label {k:?} is set by sw-alerts",
                        r.name
                    )));
                }
            }
        }
        Ok(f)
    }

    /// Load a rule file, or the default pack when `path` is None.
    pub fn load(path: Option<&Path>) -> Result<RuleFile> {
        match path {
            None => RuleFile::parse(DEFAULT_RULES, "default rules"),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    let err = if e.kind() == std::io::ErrorKind::NotFound {
                        Error::no_input(format!("rule file {} does not exist", q(p)))
                    } else {
                        Error::io(format!("reading {}", q(p)))
                    };
                    err.with_source(e)
                })?;
                RuleFile::parse(&text, &q(p))
            }
        }
    }
}

/// `sw-alerts default-rules`: print the built-in pack (a reader that went
/// away is no error).
pub fn print_default() -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(DEFAULT_RULES.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("writing stdout").with_source(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_pack_parses() {
        let f = RuleFile::load(None).unwrap();
        assert!(f.rules.len() >= 10);
        assert_eq!(f.stale_after, Duration::from_secs(600));
        let cpu = f.rules.iter().find(|r| r.name == "HostCpuHigh").unwrap();
        assert_eq!(cpu.for_, Duration::from_secs(300));
    }

    #[test]
    fn bad_rules_are_config_errors() {
        let e = RuleFile::parse("[[rule]]\nname = \"x\"\ncheck = \"a\"\n", "f").unwrap_err();
        assert!(e.to_string().contains("needs above, below or status"), "{e}");
        let e = RuleFile::parse(
            "[[rule]]\nname = \"x\"\ncheck = \"a\"\nabove = 1\nfor = \"5 parsecs\"\n",
            "f",
        )
        .unwrap_err();
        assert_eq!(e.exit(), sw_core::Exit::Config);
    }
}
