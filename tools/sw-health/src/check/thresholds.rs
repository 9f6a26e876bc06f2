//! Threshold overrides: a TOML file (`--thresholds`, one table per check
//! with `warn` and/or `crit`), then `--warn`/`--crit NAME=VALUE` flags
//! (the last one wins; `NAME=none` removes a threshold). Every name must be
//! a catalogue entry.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use crate::checks::{self, Check};

/// An override of one threshold: None keeps the catalogue default,
/// Some(None) clears it ("none"), Some(Some(v)) sets it.
type Override = Option<Option<f64>>;

/// Effective thresholds per check: overrides of (warn, crit).
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    over: BTreeMap<&'static str, (Override, Override)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    warn: Option<f64>,
    crit: Option<f64>,
}

impl Thresholds {
    /// Load overrides from a TOML file.
    ///
    /// # Errors
    /// 66/74/77 when it cannot be read; 78 when it is not valid or names
    /// an unknown check.
    pub fn load_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
        let map: BTreeMap<String, FileEntry> =
            toml::from_str(&text).map_err(|e| Error::config(format!("{}: {}", q(path), e.message())))?;
        for (name, e) in map {
            let c =
                checks::by_name(&name).ok_or_else(|| Error::config(format!("{}: unknown check {name:?}", q(path))))?;
            let slot = self.over.entry(c.name).or_default();
            if e.warn.is_some() {
                slot.0 = Some(e.warn);
            }
            if e.crit.is_some() {
                slot.1 = Some(e.crit);
            }
        }
        Ok(())
    }

    /// Apply a `NAME=VALUE` flag (`crit` selects the critical threshold).
    ///
    /// # Errors
    /// 64 for a spec that is not NAME=VALUE, an unknown name or a value
    /// that is not a number.
    pub fn set_flag(&mut self, spec: &str, crit: bool) -> Result<()> {
        let (name, v) = spec
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("threshold {spec:?} is not NAME=VALUE")))?;
        let c = checks::by_name(name).ok_or_else(|| checks::unknown_check(name))?;
        let v = if v == "none" {
            None
        } else {
            Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| Error::usage(format!("threshold {spec:?}: {v:?} is not a number")))?,
            )
        };
        // The last flag wins, "none" included (the default does not come back).
        let slot = self.over.entry(c.name).or_default();
        if crit {
            slot.1 = Some(v);
        } else {
            slot.0 = Some(v);
        }
        Ok(())
    }

    /// (warn, crit) for a check.
    pub fn get(&self, c: &Check) -> (Option<f64>, Option<f64>) {
        let (warn, crit) = self.over.get(c.name).copied().unwrap_or_default();
        (warn.unwrap_or(c.warn), crit.unwrap_or(c.crit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::by_name;

    #[test]
    fn flags_override_and_clear() {
        let mut t = Thresholds::default();
        t.set_flag("connections=50", false).unwrap();
        t.set_flag("connections=none", true).unwrap();
        assert_eq!(t.get(by_name("connections").unwrap()), (Some(50.0), None));
        assert!(t.set_flag("nope=1", false).is_err());
        assert!(t.set_flag("connections=x", false).is_err());
        assert_eq!(t.get(by_name("long_query").unwrap()), (Some(300.0), Some(1800.0)));
        // The last flag wins, also after "none".
        t.set_flag("connections=none", false).unwrap();
        t.set_flag("connections=70", false).unwrap();
        assert_eq!(t.get(by_name("connections").unwrap()).0, Some(70.0));
    }

    #[test]
    fn the_file_names_catalogue_entries_only() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("t.toml");
        std::fs::write(&f, "[latency]\nwarn = 1\n").unwrap();
        let mut t = Thresholds::default();
        t.load_file(&f).unwrap();
        assert_eq!(t.get(by_name("latency").unwrap()), (Some(1.0), Some(500.0)));
        std::fs::write(&f, "[latncy]\nwarn = 1\n").unwrap();
        assert_eq!(t.load_file(&f).unwrap_err().exit(), sw_core::Exit::Config);
    }
}
