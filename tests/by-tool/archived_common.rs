//! A cluster archiving into a local repository, with copies of sw-backup
//! and sw-restore its OS user can run: what sw-restore's test binaries
//! start from. Each binary adds the methods it needs in its own `impl`.

#![allow(dead_code, reason = "each test binary uses part of it")]
#![allow(clippy::unwrap_used, reason = "test helpers: a failure is a test failure")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::{Opts, TestCluster};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_sw-restore");

pub(crate) struct Archived {
    pub(crate) tc: TestCluster,
    pub(crate) repo: PathBuf,
    pub(crate) backup: PathBuf,
    pub(crate) restore: PathBuf,
}

impl Archived {
    pub(crate) fn new() -> Archived {
        Archived::with_setup(&[]).0
    }

    /// With `flags` added to `sw-backup setup` (e.g. `--encrypt`); the
    /// setup's record.
    pub(crate) fn with_setup(flags: &[&str]) -> (Archived, Value) {
        let tc = TestCluster::start_with(&Opts {
            fsync: true,
            ..Opts::default()
        });
        // The sw-backup binary beside ours (built when a lone `cargo test -p
        // sw-restore` did not build it).
        let sw_backup = cmd::sibling_bin(BIN, "sw-backup", "sw-backup");
        let [backup, restore] = cmd::install_for_server(
            tc.runner(),
            &tc.dir.join("bin"),
            &[(&sw_backup, "sw-backup"), (Path::new(BIN), "sw-restore")],
        )
        .try_into()
        .unwrap();
        let repo = tc.dir.join("repo");
        let a = Archived {
            tc,
            repo,
            backup,
            restore,
        };
        let pgdata = a.tc.datadir().to_str().unwrap().to_owned();
        let mut setup = vec!["setup"];
        setup.extend_from_slice(flags);
        setup.extend(["--pgdata", &pgdata]);
        // A binary copied a moment ago can be briefly busy (ETXTBSY) while a
        // parallel test forks: retry the first run.
        let mut r = a.backup_cmd(&setup);
        for _ in 0..5 {
            if r.code == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
            r = a.backup_cmd(&setup);
        }
        r.expect_code(0);
        let rec = r.one("backup.setup");
        a.tc.stop();
        a.tc.restart();
        (a, rec)
    }

    pub(crate) fn backup_cmd(&self, args: &[&str]) -> Run {
        let mut v: Vec<&str> = args.to_vec();
        v.extend(["--repo", self.repo.to_str().unwrap()]);
        cmd::run_copied(&self.backup, &v)
    }
}
