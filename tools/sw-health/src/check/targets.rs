//! `--targets FILE`: the databases of a fleet, one entry each, as TOML
//! (`[[target]]` tables) or JSON Lines (one object a line). An entry names
//! its database by `url` (a postgresql:// URI or key=value conninfo) or by
//! `env_file` (its DATABASE_URL, as `sw-provision local` and `azure` write
//! them; a relative path is read from the targets file's directory), and may
//! give an `instance` name (default: the target with its password redacted)
//! and `labels` (env, team, ...) that its report, alerts and series carry.
//!
//! ```toml
//! [[target]]
//! instance = "orders-primary"
//! env_file = "/etc/sw/orders.env"
//! labels = { env = "prod", team = "orders" }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sw_core::config::Env;
use sw_core::fsutil::q;
use sw_core::metrics;
use sw_core::target::Target;
use sw_core::{Error, Result};

/// One entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    instance: Option<String>,
    url: Option<String>,
    env_file: Option<PathBuf>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default, rename = "target")]
    targets: Vec<Entry>,
}

/// One database of the fleet, resolved.
#[derive(Debug, Clone)]
pub struct FleetTarget {
    /// The name its report and series carry (`target`, `instance`).
    pub instance: String,
    /// The database the SQL checks connect to (None: an `--azure` run
    /// without --db or --env-file checks the server through Azure alone).
    pub target: Option<Target>,
    pub labels: BTreeMap<String, String>,
}

/// Labels sw-health or Prometheus set themselves.
const RESERVED: &[&str] = &[
    metrics::INSTANCE,
    metrics::CHECK,
    metrics::DATABASE,
    "job",
    "alertname",
    "severity",
];

/// Read and resolve a targets file.
///
/// # Errors
/// 66 when it (or an env file it names) does not exist, 74/77 when it
/// cannot be read, 78 when it is not valid: bad syntax, an entry without
/// exactly one of url and env_file, a bad or reserved label name, the same
/// instance twice, no entry at all, or a target that does not parse.
pub fn load(path: &Path) -> Result<Vec<FleetTarget>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let err = if e.kind() == std::io::ErrorKind::NotFound {
            Error::no_input(format!("targets file {} does not exist", q(path)))
        } else {
            Error::io(format!("reading {}", q(path)))
        };
        err.with_source(e)
    })?;
    let entries = parse(&text, &q(path), is_json_lines(path, &text))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let env = Env::process();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (at, e) in entries {
        let t = resolve(e, &at, base, &env)?;
        if !seen.insert(t.instance.clone()) {
            return Err(Error::config(format!("{at}: instance {:?} is named twice", t.instance)));
        }
        out.push(t);
    }
    if out.is_empty() {
        return Err(Error::config(format!("{} names no target", q(path))));
    }
    Ok(out)
}

/// JSON Lines by name (`.jsonl`, `.ndjson`, `.json`), else when the first
/// non-blank character opens an object.
fn is_json_lines(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|x| x.to_str()) {
        Some("jsonl" | "ndjson" | "json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    }
}

/// The entries, each with where it is for messages (`FILE:LINE` or `FILE: target N`).
fn parse(text: &str, name: &str, json_lines: bool) -> Result<Vec<(String, Entry)>> {
    if !json_lines {
        let f: TomlFile = toml::from_str(text).map_err(|e| Error::config(format!("{name}: {}", e.message().trim())))?;
        return Ok(f
            .targets
            .into_iter()
            .enumerate()
            .map(|(i, e)| (format!("{name}: target {}", i + 1), e))
            .collect());
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{name}:{}", i + 1);
        let e: Entry = serde_json::from_str(line).map_err(|e| Error::config(format!("{at}: {e}")))?;
        out.push((at, e));
    }
    Ok(out)
}

fn resolve(e: Entry, at: &str, base: &Path, env: &Env) -> Result<FleetTarget> {
    for k in e.labels.keys() {
        if !metrics::valid_label_name(k) || RESERVED.contains(&k.as_str()) {
            return Err(Error::config(format!(
                "{at}: label {k:?} is not allowed (Prometheus label names; not {})",
                RESERVED.join(", ")
            )));
        }
    }
    let target = match (&e.url, &e.env_file) {
        (Some(url), None) => Target::resolve(Some(url), None, env),
        (None, Some(f)) => Target::resolve(None, Some(&base.join(f)), env),
        _ => return Err(Error::config(format!("{at}: give exactly one of url and env_file"))),
    }
    .map_err(|err| {
        let exit = err.exit();
        Error::new(exit, format!("{at}: {err}"))
    })?;
    if e.instance.as_deref().is_some_and(str::is_empty) {
        return Err(Error::config(format!("{at}: instance is empty")));
    }
    Ok(FleetTarget {
        instance: e.instance.unwrap_or_else(|| target.to_string()),
        target: Some(target),
        labels: e.labels,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn load_text(name: &str, text: &str) -> Result<Vec<FleetTarget>> {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("db.env"),
            "DATABASE_URL=postgresql://app:secret@db2:5433/app\n",
        )
        .unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn toml_and_json_lines_name_the_same_targets() {
        let toml = "[[target]]\ninstance = \"one\"\nurl = \"postgresql://u@db1/app\"\nlabels = { env = \"prod\" }\n\n\
                    [[target]]\nenv_file = \"db.env\"\n";
        let jsonl = "{\"instance\": \"one\", \"url\": \"postgresql://u@db1/app\", \"labels\": {\"env\": \"prod\"}}\n\n\
                     {\"env_file\": \"db.env\"}\n";
        for (name, text) in [("t.toml", toml), ("t.jsonl", jsonl), ("targets", jsonl)] {
            let t = load_text(name, text).unwrap();
            assert_eq!(t.len(), 2, "{name}");
            assert_eq!((t[0].instance.as_str(), t[0].labels["env"].as_str()), ("one", "prod"));
            // Without an instance: the target, password redacted; the env file beside the targets file.
            assert_eq!(t[1].instance, "app@db2:5433/app");
            assert_eq!(t[1].target.as_ref().unwrap().password(), Some("secret"));
        }
    }

    #[test]
    fn bad_entries_are_config_errors_naming_the_entry() {
        for (text, want) in [
            (
                "{\"url\": \"postgresql://a/b\", \"env_file\": \"x\"}\n",
                "t.jsonl\":1: give exactly one",
            ),
            (
                "\n{\"url\": \"postgresql://a/b\", \"labels\": {\"job\": \"x\"}}\n",
                "t.jsonl\":2: label \"job\" is not allowed",
            ),
            (
                "{\"url\": \"postgresql://a/b\", \"labels\": {\"a-b\": \"x\"}}\n",
                "label \"a-b\" is not allowed",
            ),
            (
                "{\"url\": \"postgresql://a/b\", \"color\": 1}\n",
                "unknown field `color`",
            ),
            (
                "{\"instance\": \"x\", \"url\": \"postgresql://a/b\"}\n{\"instance\": \"x\", \"url\": \"postgresql://c/d\"}\n",
                "instance \"x\" is named twice",
            ),
            ("\n", "names no target"),
        ] {
            let e = load_text("t.jsonl", text).unwrap_err();
            assert_eq!(e.exit(), sw_core::Exit::Config, "{text}: {e}");
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
        let e = load_text("t.toml", "[[target]]\nenv_file = \"missing.env\"\n").unwrap_err();
        assert_eq!(e.exit(), sw_core::Exit::NoInput, "{e}");
        assert!(e.to_string().contains("target 1: "), "{e}");
    }
}
