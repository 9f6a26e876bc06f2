//! sw-restore end to end: real clusters, real repositories, real recovery.

#![allow(clippy::unwrap_used)]

use sw_testkit::cmd;

const BIN: &str = env!("CARGO_BIN_EXE_sw-restore");

#[test]
fn a_restore_without_a_target_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let r = cmd::run(
        BIN.as_ref(),
        &[
            "--repo",
            d.path().to_str().unwrap(),
            "--pgdata",
            d.path().join("x").to_str().unwrap(),
        ],
        None,
    );
    r.expect_code(64);
}
