//! Shared by the Azure tests of sw-backup and sw-restore: the fake ARM
//! holding the official example server, running a tool against it, and
//! comparing request bodies with the official examples' property paths.

#![allow(dead_code, reason = "each test binary uses part of it")]
#![allow(clippy::unwrap_used, reason = "test helpers: a failure is a test failure")]

use std::path::Path;

use serde_json::{Value, json};
use sw_testkit::azure::{FakeArm, SUBSCRIPTION, leaf_paths};
use sw_testkit::cmd::{self, Run};

pub const RG: &str = "exampleresourcegroup";

/// The ARM id of server `name` in the examples' resource group.
pub fn id(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
    )
}

/// An official example file.
pub fn example(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(sw_testkit::fixture(&format!("azure-arm/postgresql/{file}"))).unwrap())
        .unwrap()
}

/// The server resource of ServersGet.json, named `name`, in `location`.
pub fn server(name: &str, location: &str) -> Value {
    let mut v = example("ServersGet.json")["responses"]["200"]["body"].clone();
    v["id"] = json!(id(name));
    v["name"] = json!(name);
    v["location"] = json!(location);
    v["properties"]["fullyQualifiedDomainName"] = json!(format!("{name}.postgres.database.azure.com"));
    v["tags"] = json!({});
    v
}

/// A fake ARM holding `exampleserver` (the ServersGet example) in eastus.
pub fn fake_with_server() -> FakeArm {
    let fake = FakeArm::start();
    fake.with(|s| s.in_progress_polls = 2);
    fake.insert(&id("exampleserver"), server("exampleserver", "eastus"));
    fake
}

/// Run `bin` with the fake's credentials and `state` as XDG_STATE_HOME.
pub fn run(bin: &str, fake: &FakeArm, state: &Path, args: &[&str]) -> Run {
    let mut c = cmd::command(bin.as_ref());
    for k in [
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_AUTHORITY_HOST",
    ] {
        c.env_remove(k);
    }
    c.envs(fake.env()).env("XDG_STATE_HOME", state).args(args);
    cmd::run_cmd(&mut c, None)
}

/// The flags naming `name` on the fake, polling fast.
pub fn target(name: &str) -> Vec<String> {
    [
        "--azure",
        "--server",
        name,
        "--resource-group",
        RG,
        "--poll-interval",
        "10ms",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Panic unless `sent` has every property path of the example request in
/// `file`, and any other path it has starts with one of `extra`.
pub fn has_example_paths(sent: &Value, file: &str, extra: &[&str]) {
    let want = leaf_paths(&example(file)["parameters"]["parameters"]);
    let got = leaf_paths(sent);
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(missing.is_empty(), "{file}: the request lacks {missing:?}\n{sent}");
    let more: Vec<_> = got
        .difference(&want)
        .filter(|p| !extra.iter().any(|e| p.starts_with(e)))
        .collect();
    assert!(
        more.is_empty(),
        "{file}: the request has {more:?} beyond the example\n{sent}"
    );
}

/// The requests with `method` to exactly `path` (normalised: lowercase).
pub fn exact(fake: &FakeArm, method: &str, path: &str) -> Vec<sw_testkit::azure::Request> {
    let p = path.to_ascii_lowercase();
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path() == p)
        .collect()
}

/// Mutating requests sent to ARM.
pub fn writes(fake: &FakeArm) -> usize {
    ["PUT", "PATCH", "DELETE", "POST"]
        .iter()
        .map(|m| fake.count(m, "/subscriptions/"))
        .sum()
}
