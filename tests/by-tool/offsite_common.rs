//! The off-site test cluster (issue #16): a real cluster archiving into an
//! `azure://` repository on the shared Azurite over HTTPS, with the tools,
//! the credentials file and the CA its OS user can read.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sw_testkit::azurite::{self, ACCOUNT, KEY};
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::{Opts, TestCluster};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_sw-restore");

/// A cluster archiving into an azure:// repository, with copies of both
/// tools, the credentials file and the CA its OS user can read.
pub(crate) struct Offsite {
    pub(crate) tc: TestCluster,
    pub(crate) backup: PathBuf,
    pub(crate) restore: PathBuf,
    /// `--repo URL --azure-endpoint ... --azure-credentials ... --azure-ca-file ...`
    /// (then `--key-file FILE` for an encrypted repository).
    pub(crate) flags: Vec<String>,
    /// Every run's stdout and stderr, to check none ever holds the key.
    pub(crate) runs: std::cell::RefCell<Vec<String>>,
}

/// The flags reaching the repository, before any key flag.
pub(crate) const REACH_FLAGS: usize = 8;

/// Give `p` to the server's OS user (the archiver and restore_command read it).
fn hand_to_server(tc: &TestCluster, p: &Path) {
    if let Some(u) = &tc.runner().user {
        nix::unistd::chown(
            p,
            Some(nix::unistd::Uid::from_raw(u.uid)),
            Some(nix::unistd::Gid::from_raw(u.gid)),
        )
        .unwrap();
    }
}

impl Offsite {
    pub(crate) fn new(container: &str) -> Offsite {
        Offsite::with_key(container, false)
    }

    /// With `encrypted`, the repository is set up encrypted by a key file
    /// setup creates ([`Offsite::key_file`]) and every command gets
    /// `--key-file`.
    pub(crate) fn with_key(container: &str, encrypted: bool) -> Offsite {
        Offsite::on(
            azurite::shared(),
            container,
            encrypted,
            &format!("AZURE_STORAGE_KEY={KEY}\n"),
        )
    }

    /// On Azurite `az`, with `credentials` as the credentials file.
    pub(crate) fn on(az: &azurite::Azurite, container: &str, encrypted: bool, credentials: &str) -> Offsite {
        use std::os::unix::fs::PermissionsExt as _;
        let tc = TestCluster::start_with(&Opts {
            fsync: true,
            ..Opts::default()
        });
        let sw_backup = cmd::sibling_bin(BIN, "sw-backup", "sw-backup");
        let [backup, restore] = cmd::install_for_server(
            tc.runner(),
            &tc.dir.join("bin"),
            &[(&sw_backup, "sw-backup"), (Path::new(BIN), "sw-restore")],
        )
        .try_into()
        .unwrap();
        let dir = tc.dir.join("offsite");
        std::fs::create_dir_all(&dir).unwrap();
        let creds = dir.join("storage.env");
        std::fs::write(&creds, credentials).unwrap();
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::copy(az.ca_file(), &ca).unwrap();
        for p in [&dir, &creds, &ca] {
            hand_to_server(&tc, p);
        }
        let url = format!("azure://{ACCOUNT}/{container}/prod/db1");
        let flags = vec![
            "--repo".to_owned(),
            url,
            "--azure-endpoint".to_owned(),
            az.endpoint(),
            "--azure-credentials".to_owned(),
            creds.display().to_string(),
            "--azure-ca-file".to_owned(),
            ca.display().to_string(),
        ];
        let mut flags = flags;
        if encrypted {
            flags.extend(["--key-file".to_owned(), dir.join("repo.key").display().to_string()]);
        }
        let o = Offsite {
            tc,
            backup,
            restore,
            flags,
            runs: std::cell::RefCell::new(Vec::new()),
        };
        let pgdata = o.tc.datadir().to_str().unwrap().to_owned();
        let mut setup = vec!["setup", "--pgdata", &pgdata];
        if encrypted {
            setup.push("--encrypt");
        }
        o.backup_cmd(&setup).expect_code(0);
        o.tc.stop();
        o.tc.restart();
        o
    }

    /// The encrypted repository's key file.
    pub(crate) fn key_file(&self) -> PathBuf {
        self.tc.dir.join("offsite").join("repo.key")
    }

    pub(crate) fn run(&self, bin: &Path, args: &[&str], flags_first: bool) -> Run {
        self.run_flags(bin, args, flags_first, &self.flags)
    }

    /// The flags with another endpoint (the fault proxy's).
    pub(crate) fn flags_via(&self, endpoint: &str) -> Vec<String> {
        let mut f = self.flags.clone();
        f[3] = endpoint.to_owned();
        f
    }

    pub(crate) fn run_flags(&self, bin: &Path, args: &[&str], flags_first: bool, flags: &[String]) -> Run {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let v: Vec<&str> = if flags_first {
            flags.iter().chain(args).copied().collect()
        } else {
            args.iter().chain(&flags).copied().collect()
        };
        // A binary copied a moment ago can be briefly busy while a parallel
        // test forks (ETXTBSY): run_copied retries that.
        let r = cmd::run_copied(bin, &v);
        self.runs.borrow_mut().push(format!("{}\n{}", r.stdout, r.stderr));
        r
    }

    pub(crate) fn backup_cmd(&self, args: &[&str]) -> Run {
        self.run(&self.backup, args, false)
    }

    /// Switch to a new segment and wait until the archiver stored it.
    pub(crate) fn switch_and_wait(&self) -> String {
        let seg = self.tc.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let done = self.tc.psql(
                "postgres",
                &format!("SELECT coalesce(last_archived_wal >= '{seg}', false) FROM pg_stat_archiver"),
            );
            if done == "t" {
                return seg;
            }
            assert!(Instant::now() < end, "timed out waiting for {seg} to be archived");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn query(&self, port: u16, sql: &str) -> String {
        let mut c = self.tc.runner().command("psql");
        c.args(["-X", "-A", "-t", "-h"]).arg(&self.tc.socket_dir).args([
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ]);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }

    /// No output of any run held the shared key.
    pub(crate) fn assert_key_never_shown(&self) {
        let runs = self.runs.borrow();
        assert!(!runs.is_empty());
        for out in runs.iter() {
            assert!(!out.contains(KEY), "the key was printed: {out}");
        }
    }
}

impl Offsite {
    /// Stop the server's own archiving (the test pushes by hand) and
    /// return a finished segment that is not yet stored.
    pub(crate) fn unarchived_segment(&self) -> String {
        self.tc.psql("postgres", "ALTER SYSTEM SET archive_command = 'false'");
        self.tc.stop();
        self.tc.restart();
        self.next_segment()
    }

    pub(crate) fn next_segment(&self) -> String {
        self.tc.psql(
            "postgres",
            "CREATE TABLE IF NOT EXISTS f (x int); INSERT INTO f VALUES (1)",
        );
        self.tc.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())")
    }

    /// `sw-restore wal-fetch NAME` into the test's directory: (code, bytes).
    pub(crate) fn fetch(&self, seg: &str) -> (i32, Option<Vec<u8>>) {
        let dest = self.tc.dir.join("fetched");
        let _ = std::fs::remove_file(&dest);
        let r = self.run(&self.restore, &["wal-fetch", seg, dest.to_str().unwrap()], false);
        (r.code, std::fs::read(&dest).ok())
    }

    /// A Blob client on the repository's prefix, straight to Azurite.
    pub(crate) fn client(&self) -> sw_core::blob::Client {
        use sw_core::blob::{Auth, Client, Location, Options};
        let az = azurite::shared();
        let loc = Location::parse(&self.flags[1]).unwrap();
        let opts = Options {
            ca_file: Some(az.ca_file().to_owned()),
            ..Options::default()
        };
        Client::new(
            &loc,
            Some(&az.endpoint()),
            Auth::shared_key(ACCOUNT, KEY).unwrap(),
            opts,
        )
        .unwrap()
    }

    /// The blob names under the repository's prefix.
    pub(crate) fn blobs(&self) -> Vec<String> {
        self.client()
            .list("", None)
            .unwrap()
            .blobs
            .into_iter()
            .map(|b| b.name)
            .collect()
    }
}
