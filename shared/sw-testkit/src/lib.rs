//! Test kit for sw-* integration tests.
//!
//! - [`pg`]: real PostgreSQL clusters in temp directories on free loopback
//!   ports: one shared per test binary (a fresh database per test) and
//!   dedicated ones on demand; always stopped and deleted, even when a test
//!   panics or the test process is killed; run as an unprivileged OS user
//!   when the tests run as root. Missing server programs fail the test with
//!   the install command, never skip it. `TestCluster::start_standby` adds
//!   a streaming standby, cleaned up the same ways.
//! - [`azure_https`]: the fake ARM's token endpoint (and everything else
//!   it serves) over HTTPS with a test CA, for credentials that insist on
//!   an https authority (azure_identity's workload identity).
//! - [`azurite`]: Azurite's blob service over HTTPS on a free loopback
//!   port, shared per test binary or dedicated (stop/restart), cleaned up
//!   like the clusters; a missing Azurite fails with the install command.
//! - [`faultproxy`]: a TLS-terminating proxy in front of Azurite that
//!   resets, hangs, drops or answers 503/409 for scripted requests.
//! - [`schema`]: every record a tool prints in a test is validated against
//!   its checked-in JSON Schema (`schemas/<tool>/<kind>.json`).
//! - [`prom`]: real Prometheus and Alertmanager servers (two clustered
//!   Alertmanagers on loopback) in temp directories, cleaned up the same
//!   ways; missing programs fail the test with the install command.
//! - [`tls`]: a CA and server certificate made with the openssl crate.
//! - [`cmd`]: run the tools' binaries and parse their JSON Lines; copy
//!   binaries where the server's OS user can run them (`install_for_server`,
//!   `run_copied`, `sibling_bin`).

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod azure;
pub mod azure_https;
pub mod azurite;
pub mod cmd;
pub mod faultproxy;
pub mod pg;
pub mod prom;
pub mod schema;
pub mod tls;

/// Path of a fixture under `../shared/fixtures/` (beside the checkout);
/// panics with a clear message when it is absent.
pub fn fixture(rel: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    let p = root.join(rel);
    assert!(
        p.exists(),
        "fixture {} is missing: the tests read ../shared/fixtures/ beside the checkout (looked in {})",
        rel,
        root.display()
    );
    p
}
