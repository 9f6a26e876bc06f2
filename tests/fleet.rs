//! Fleet scale with the real components: sw-alerts pushing to two
//! Alertmanagers clustered on loopback (Debian's prometheus-alertmanager),
//! the rule pack rendered for Prometheus and checked with promtool, and
//! (with sw-health serve) a real Prometheus scraping the exporter and
//! evaluating the generated rules.
//!
//! The suite belongs to the sw-alerts package; sw-health is found beside
//! it with `sw_testkit::cmd::sibling_bin`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use sw_testkit::cmd::{self, Run};
use sw_testkit::prom;

const ALERTS: &str = env!("CARGO_BIN_EXE_sw-alerts");

fn alerts(args: &[&str], stdin: Option<&str>) -> Run {
    cmd::run(Path::new(ALERTS), args, stdin)
}

// ---- prometheus-rules: the rule pack as Prometheus alerting rules ----

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_generated_rules_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let pack = alerts(&["default-rules"], None);
    pack.expect_code(0);
    let n = pack.stdout.lines().filter(|l| l.trim() == "[[rule]]").count();
    let r = alerts(&["prometheus-rules"], None);
    r.expect_code(0);
    let p = write(dir.path(), "default.yml", &r.stdout);
    let (code, out) = prom::promtool(&["check", "rules", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{}", r.stdout);
    // Every rule of the pack, plus sw-alerts' two alerts about its input.
    assert!(out.contains(&format!("SUCCESS: {} rules found", n + 2)), "{out}");

    // Every shape a rule can take: below, a WARNING status, both a value and
    // a status, keep_firing_for, own labels, quotes and stray braces.
    let own = write(
        dir.path(),
        "own.toml",
        r#"
[[rule]]
name = "CacheHitLow"
check = "cache_hit"
below = 98.5
keep_firing_for = "10m"
labels = { team = "dba" }
annotations = { summary = "cache hit {{ value }}{{ unit }} on {{ instance }} ({{ database }}); it's {{ nope }} low", runbook = "https://wiki/x?a=1&b='2'" }

[[rule]]
name = "LongIdle"
check = "idle_in_transaction"
above = 120
status = "WARNING"
for = "90s"
annotations = { summary = "{{ check }}: {{ message }}" }
"#,
    );
    let r = alerts(
        &[
            "prometheus-rules",
            "--rules",
            own.to_str().unwrap(),
            "--job",
            "pg-fleet",
        ],
        None,
    );
    r.expect_code(0);
    let p = write(dir.path(), "own.yml", &r.stdout);
    let (code, out) = prom::promtool(&["check", "rules", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{}", r.stdout);
    assert!(out.contains("SUCCESS: 4 rules found"), "{out}");
    assert!(r.stdout.contains("keep_firing_for: 10m"), "{}", r.stdout);
    assert!(r.stdout.contains(r#"up{job="pg-fleet"}"#), "{}", r.stdout);

    // A value rule on a check sw-health does not have cannot become a query.
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[rule]]\nname = \"X\"\ncheck = \"no_such_check\"\nabove = 1\n",
    );
    alerts(&["prometheus-rules", "--rules", bad.to_str().unwrap()], None).expect_error(
        78,
        &format!("{}: rule \"X\": check \"no_such_check\" is not in", sw_core_q(&bad)),
    );
}

/// A path as sw quotes it in messages.
fn sw_core_q(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

