//! sw-provision end to end: real clusters made by the real binary, and the
//! Azure mode against the test kit's fake Resource Manager.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sw_testkit::cmd::{self, Run};

const BIN: &str = env!("CARGO_BIN_EXE_sw-provision");

fn provision(args: &[&str]) -> Run {
    cmd::run(BIN.as_ref(), args, None)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A provision directory reachable by the server's OS user; stops whatever
/// cluster ended up in it, even when the test fails.
struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    port: u16,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::Builder::new().prefix("sw-provision-test.").tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = tmp.path().join("pg");
        Site {
            _tmp: tmp,
            dir,
            port: free_port(),
        }
    }

    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "local",
            "--dir",
            self.dir.to_str().unwrap(),
            "--port",
            &self.port.to_string(),
            "--memory",
            "1GB",
            "--cpus",
            "2",
            "--listen",
            "127.0.0.1",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    }

    fn local(&self, extra: &[&str]) -> Run {
        let a = self.args(extra);
        provision(&a.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn env_file(&self) -> PathBuf {
        self.dir.join("app.env")
    }

    fn env(&self, key: &str) -> String {
        let text = std::fs::read_to_string(self.env_file()).unwrap();
        let env = sw_core::envfile::EnvFile::parse(&text).unwrap();
        env.get(key).unwrap().to_owned()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = sw_testkit::pg::runner()
                .command("pg_ctl")
                .args(["stop", "-m", "immediate", "-D"])
                .arg(&data)
                .output();
        }
    }
}

fn psql(conn: &str, sql: &str) -> Result<String, String> {
    let out = Command::new(sw_testkit::pg::bindir().prog("psql"))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c", sql])
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The `action` of each entry of a record's `changes`, in order.
fn actions(rec: &Value) -> Vec<&str> {
    rec["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn local_provisions_a_tls_only_tuned_cluster_and_converges() {
    let s = Site::new();
    let url = first_run_makes_a_tls_only_tuned_cluster(&s);
    re_runs_change_nothing(&s, &url);
    changed_parameters_reload_or_restart(&s, &url);
    a_dry_run_of_a_stopped_cluster_plans_the_start(&s);
    status_then_destroy(&s);
}

/// The first run: what it reports, the env file, TLS and the parameters;
/// the application's URL.
fn first_run_makes_a_tls_only_tuned_cluster(s: &Site) -> String {
    let r = s.local(&["--param", "work_mem=8MB"]);
    r.expect_code(0);
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    let rec = r.one("provision.local");
    assert_eq!(rec["changed"], true);
    assert_eq!(rec["env_file"], s.env_file().to_str().unwrap());
    let acts = actions(&rec);
    for a in [
        "initdb",
        "create_ca",
        "start",
        "create_role",
        "create_database",
        "write_env_file",
    ] {
        assert!(acts.contains(&a), "{a} missing from {acts:?}");
    }

    // The env file: 0600, every form, and the password never on stdout.
    assert_eq!(mode(&s.env_file()), 0o600);
    let url = s.env("DATABASE_URL");
    let pw = sw_core::conninfo::parse(&url).unwrap()["password"].clone();
    assert_eq!(pw.len(), 32);
    assert!(!r.stdout.contains(&pw) && !r.stderr.contains(&pw));
    assert!(url.contains("sslmode=verify-full"));
    for k in [
        "DATABASE_URL_SQLALCHEMY",
        "DATABASE_URL_JDBC",
        "DATABASE_DJANGO",
        "DATABASE_DSN",
    ] {
        assert!(s.env(k).contains(&pw), "{k}");
    }
    let django: Value = serde_json::from_str(&s.env("DATABASE_DJANGO")).unwrap();
    assert_eq!(django["OPTIONS"]["sslmode"], "verify-full");
    only_verified_tls_gets_in(s, &url, &pw);

    // Parameters: tuned from --memory 1GB, overridden by --param, checksums on.
    let settings = psql(
        &url,
        "SELECT string_agg(current_setting(n), ',' ORDER BY n) FROM unnest(array['data_checksums','effective_cache_size','password_encryption','random_page_cost','server_encoding','shared_buffers','ssl','work_mem']) n",
    )
    .unwrap();
    assert_eq!(settings, "on,768MB,scram-sha-256,1.1,UTF8,256MB,on,8MB");
    url
}

/// verify-full with the written CA works, as the application role, over
/// TLS; another CA and plain connections are refused.
fn only_verified_tls_gets_in(s: &Site, url: &str, pw: &str) {
    let got = psql(
        url,
        "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .unwrap();
    assert_eq!(got, "app true");
    assert_eq!(psql(&s.env("DATABASE_DSN"), "SELECT 1").unwrap(), "1");
    // A CA that did not sign the server certificate is refused under verify-full.
    let other = tempfile::tempdir().unwrap();
    let certs = sw_testkit::tls::make(other.path(), &["localhost"]);
    let wrong = format!(
        "host=localhost port={} dbname=app user=app password={pw} sslmode=verify-full sslrootcert={}",
        s.port,
        certs.ca_cert.display()
    );
    assert!(psql(&wrong, "SELECT 1").unwrap_err().contains("certificate"));
    // Non-TLS is refused.
    let plain = format!(
        "host=127.0.0.1 port={} dbname=app user=app password={pw} sslmode=disable",
        s.port
    );
    let e = psql(&plain, "SELECT 1").unwrap_err();
    assert!(e.contains("no pg_hba.conf entry") && e.contains("no encryption"), "{e}");
}

/// A re-run changes nothing, keeps the password; a dry run plans nothing.
fn re_runs_change_nothing(s: &Site, url: &str) {
    let again = s.local(&["--param", "work_mem=8MB"]);
    again.expect_code(0);
    assert_eq!(again.one("provision.local")["changed"], false, "{again:?}");
    assert_eq!(s.env("DATABASE_URL"), url);
    let dry = s.local(&["--param", "work_mem=8MB", "--dry-run"]);
    assert_eq!(dry.one("provision.local")["changes"], serde_json::json!([]));
    // Memory that reads a little differently (say, after a kernel update)
    // does not restart the server for a few MB of shared_buffers.
    let mut a = s.args(&["--param", "work_mem=8MB"]);
    let i = a.iter().position(|x| x == "1GB").unwrap();
    a[i] = "1050MB".into();
    let r = provision(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.expect_code(0).one("provision.local")["changed"], false, "{r:?}");
}

/// The parameters of the later phases.
const RESTART_PARAMS: [&str; 6] = [
    "--param",
    "work_mem=16MB",
    "--param",
    "shared_buffers=128MB",
    "--param",
    "max_files_per_process=900",
];

/// A changed parameter is the only change; a reload or, where the server
/// says so, a restart puts it in effect; a misspelt one is refused.
fn changed_parameters_reload_or_restart(s: &Site, url: &str) {
    let changed = s.local(&["--param", "work_mem=16MB"]);
    let rec = changed.one("provision.local");
    let acts = actions(&rec);
    assert_eq!(acts, ["set_parameters", "reload"], "{rec}");
    assert_eq!(rec["changes"][0]["detail"], "work_mem");
    assert_eq!(psql(url, "SHOW work_mem").unwrap(), "16MB");
    // Ones that only a restart applies (the server's own list decides):
    // restarted, and in effect.
    let changed = s.local(&RESTART_PARAMS);
    let rec = changed.one("provision.local");
    let acts = actions(&rec);
    assert_eq!(acts, ["set_parameters", "restart"], "{rec}");
    assert_eq!(psql(url, "SHOW shared_buffers").unwrap(), "128MB");
    assert_eq!(psql(url, "SHOW max_files_per_process").unwrap(), "900");
    // A misspelt parameter is refused before anything is written.
    let before = std::fs::read_to_string(s.dir.join("data/sw.conf")).unwrap();
    let r = s.local(&["--param", "wrok_mem=16MB"]);
    r.expect_error(64, "--param wrok_mem: the server has no such parameter");
    assert_eq!(std::fs::read_to_string(s.dir.join("data/sw.conf")).unwrap(), before);
}

/// A dry run against the stopped cluster plans the start, and does not
/// claim the role and database are missing.
fn a_dry_run_of_a_stopped_cluster_plans_the_start(s: &Site) {
    let data = s.dir.join("data");
    let stop = sw_testkit::pg::runner()
        .command("pg_ctl")
        .args(["stop", "-m", "fast", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(stop.status.success(), "{stop:?}");
    let mut dry_args = RESTART_PARAMS.to_vec();
    dry_args.push("--dry-run");
    let dry = s.local(&dry_args);
    let rec = dry.expect_code(0).one("provision.local");
    let acts = actions(&rec);
    assert_eq!(acts, ["start", "check_role_and_database"], "{rec}");
    s.local(&RESTART_PARAMS).expect_code(0);
}

/// status, then destroy (which insists on --yes).
fn status_then_destroy(s: &Site) {
    let dir = s.dir.to_str().unwrap();
    assert_eq!(
        provision(&["status", "--dir", dir])
            .expect_code(0)
            .one("provision.status")["status"],
        "running"
    );
    provision(&["destroy", "--dir", dir]).expect_error(64, "destroy deletes the cluster in");
    provision(&["destroy", "--dir", dir, "--yes"]).expect_code(0);
    assert!(!s.dir.join("data").exists() && !s.env_file().exists());
    assert!(!s.dir.exists(), "destroy left files behind");
    provision(&["status", "--dir", dir]).expect_error(66, "no cluster in");
}

#[test]
fn unlisted_networks_are_refused_and_passwords_rotate_on_request() {
    let s = Site::new();
    s.local(&["--allow", "10.0.0.0/8"]).expect_code(0);
    let url = s.env("DATABASE_URL");
    let e = psql(&url, "SELECT 1").unwrap_err();
    assert!(e.contains("no pg_hba.conf entry for host \"127.0.0.1\""), "{e}");

    // Opening loopback is a pg_hba change only; the password is kept.
    let r = s.local(&["--allow", "127.0.0.1"]);
    let rec = r.one("provision.local");
    let acts = actions(&rec);
    assert_eq!(acts, ["write_pg_hba", "reload"], "{rec}");
    assert_eq!(psql(&url, "SELECT 1").unwrap(), "1");

    let r = s.local(&["--allow", "127.0.0.1", "--rotate-password"]);
    r.expect_code(0);
    let new_url = s.env("DATABASE_URL");
    assert_ne!(new_url, url);
    assert!(
        psql(&url, "SELECT 1")
            .unwrap_err()
            .contains("password authentication failed")
    );
    assert_eq!(psql(&new_url, "SELECT 1").unwrap(), "1");

    // The role's password changed behind sw-provision's back: a re-run
    // notices and sets it back to the env file's, which stays as it is.
    let su = sw_testkit::pg::runner()
        .command("psql")
        .arg("-h")
        .arg(s.dir.join("sock"))
        .args(["-p", &s.port.to_string(), "-U", "postgres", "-d", "postgres", "-Xqc"])
        .arg("ALTER ROLE app PASSWORD 'changed-by-hand'")
        .output()
        .unwrap();
    assert!(su.status.success(), "{su:?}");
    assert!(psql(&new_url, "SELECT 1").is_err());
    let r = s.local(&["--allow", "127.0.0.1"]);
    let rec = r.expect_code(0).one("provision.local");
    assert_eq!(rec["changes"][0]["action"], "set_password", "{rec}");
    assert_eq!(s.env("DATABASE_URL"), new_url);
    assert_eq!(psql(&new_url, "SELECT 1").unwrap(), "1");
    let r = s.local(&["--allow", "127.0.0.1"]);
    assert_eq!(r.expect_code(0).one("provision.local")["changed"], false);
}

#[test]
fn replica_streams_rows_written_on_the_primary() {
    let primary = Site::new();
    primary.local(&[]).expect_code(0);
    let standby = Site::new();
    let (dir, port) = (standby.dir.to_str().unwrap(), standby.port.to_string());
    let env_file = primary.env_file();
    let args = [
        "replica",
        "--of",
        env_file.to_str().unwrap(),
        "--dir",
        dir,
        "--port",
        &port,
    ];
    let r = provision(&args);
    r.expect_code(0);
    let rec = r.one("provision.replica");
    assert_eq!(rec["status"], "streaming", "{rec}");
    let url = primary.env("DATABASE_URL");
    let ro = primary.env("DATABASE_URL_READONLY");
    assert!(ro.contains(&format!(":{port}/app?")), "{ro}");
    assert!(!r.stdout.contains(&sw_core::conninfo::parse(&url).unwrap()["password"]));

    psql(
        &url,
        "CREATE TABLE t (v text); INSERT INTO t VALUES ('from the primary')",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match psql(&ro, "SELECT v FROM t") {
            Ok(v) if v == "from the primary" => break,
            other => assert!(std::time::Instant::now() < deadline, "never replicated: {other:?}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        psql(&ro, "INSERT INTO t VALUES ('x')")
            .unwrap_err()
            .contains("read-only")
    );
    assert_eq!(
        psql(&ro, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").unwrap(),
        "t"
    );

    // A new password on the primary reaches the read-only URL too.
    primary.local(&["--rotate-password"]).expect_code(0);
    let (url, ro) = (primary.env("DATABASE_URL"), primary.env("DATABASE_URL_READONLY"));
    let pw = |u: &str| sw_core::conninfo::parse(u).unwrap()["password"].clone();
    assert_eq!(pw(&ro), pw(&url));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Err(e) = psql(&ro, "SELECT 1") {
        assert!(std::time::Instant::now() < deadline, "{e}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // `local` on the standby's directory is refused, not half-applied.
    let r = provision(&["local", "--dir", dir, "--port", &port]);
    let data = sw_core::fsutil::q(&standby.dir.join("data"));
    r.expect_error(64, &format!("{data} holds a standby"));

    // Again: nothing to do. Destroying the standby drops its slot on the primary.
    assert_eq!(
        provision(&args).expect_code(0).one("provision.replica")["changed"],
        false
    );
    let slot = rec["slot"].as_str().unwrap();
    let d = provision(&["destroy", "--dir", dir, "--yes"]);
    assert_eq!(d.expect_code(0).one("provision.destroy")["dropped_slot"], slot);
}

#[test]
fn dry_run_on_a_fresh_directory_plans_and_touches_nothing() {
    let s = Site::new();
    let r = s.local(&["--dry-run"]);
    let rec = r.expect_code(0).one("provision.local");
    assert_eq!(rec["dry_run"], true);
    assert_eq!(rec["changes"][0]["action"], "initdb");
    // `local` is the default subcommand.
    let bare = provision(&["--dir", s.dir.to_str().unwrap(), "--memory", "1GB", "--dry-run"]);
    assert_eq!(actions(&bare.expect_code(0).one("provision.local")), actions(&rec));
    assert!(!s.dir.exists());
}

#[test]
fn bad_flags_are_usage_errors() {
    let r = provision(&["local", "--allow", "300.1.1.1/8", "--dry-run"]);
    r.expect_error(64, "invalid value '300.1.1.1/8' for '--allow <CIDR>'");
    let r = provision(&["local", "--param", "no equals", "--dry-run"]);
    r.expect_error(64, "invalid value 'no equals' for '--param <NAME=VALUE>'");
    assert!(r.stdout.is_empty());
    for bad in [["--port", "0"], ["--database", ""], ["--role", ""], ["--host", ""]] {
        let r = provision(&["local", bad[0], bad[1], "--dry-run"]);
        r.expect_error(64, &format!("invalid value '{}' for '{}", bad[1], bad[0]));
    }
    // A newline would smuggle another setting into the configuration file.
    let r = provision(&["local", "--param", "work_mem=4MB\nfsync=off", "--dry-run"]);
    r.expect_code(64);
    assert!(r.stdout.is_empty());
}

#[test]
fn the_server_programs_are_found_with_bindir_or_its_old_spelling() {
    let bindir = sw_testkit::pg::bindir().prog("pg_ctl");
    let bindir = bindir.parent().unwrap().to_str().unwrap();
    let s = Site::new();
    let elsewhere = s.dir.parent().unwrap().to_str().unwrap();
    for flag in ["--bindir", "--pg-bindir"] {
        let r = s.local(&[flag, bindir, "--dry-run"]);
        assert_eq!(
            r.expect_code(0).one("provision.local")["changes"][0]["action"],
            "initdb"
        );
        // The flag is used: a directory without the programs is refused.
        s.local(&[flag, elsewhere, "--dry-run"])
            .expect_error(69, "no pg_ctl in");
    }
    let dir = s.dir.to_str().unwrap();
    provision(&["status", "--dir", dir, "--bindir", bindir]).expect_error(66, "no cluster in");
    provision(&["destroy", "--dir", dir, "--yes", "--bindir", elsewhere]).expect_error(69, "no pg_ctl in");
    let of = "postgresql://app@localhost/app";
    provision(&["replica", "--of", of, "--dir", dir, "--bindir", elsewhere]).expect_error(69, "no pg_ctl in");
    assert!(!s.dir.exists());
}

// ---------------------------------------------------------------- Azure

use sw_testkit::azure::{CLIENT_SECRET, FakeArm, MONITOR_API_VERSION, SUBSCRIPTION, example_request, leaf_paths};

fn azure(fake: &FakeArm, args: &[&str]) -> Run {
    let mut c = cmd::command(BIN.as_ref());
    for k in [
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_AUTHORITY_HOST",
    ] {
        c.env_remove(k);
    }
    c.envs(fake.env()).arg("azure").args(args);
    cmd::run_cmd(&mut c, None)
}

fn server_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/exampleresourcegroup/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
    )
    .to_ascii_lowercase()
}

fn sent_body(fake: &FakeArm, method: &str, part: &str) -> Value {
    let part = part.to_ascii_lowercase();
    fake.requests()
        .into_iter()
        .find(|r| r.method == method && r.path().contains(&part))
        .unwrap_or_else(|| panic!("no {method} {part}"))
        .body
}

/// Requests with this method to exactly this (normalised) path.
fn exact(fake: &FakeArm, method: &str, path: &str) -> Vec<sw_testkit::azure::Request> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path() == path)
        .collect()
}

fn writes(fake: &FakeArm) -> usize {
    ["PUT", "PATCH", "DELETE", "POST"]
        .iter()
        .map(|m| fake.count(m, "/subscriptions/"))
        .sum()
}

/// The administrator's env file beside `env_file` (`db.env` -> `db.admin.env`).
fn admin_file(env_file: &Path) -> PathBuf {
    env_file.with_file_name("db.admin.env")
}

/// A fake ARM holding the example server, made by `sw-provision azure`
/// with `polls` in-progress answers per operation; the temp dir and the
/// env file (db.env in it) that run wrote.
fn created_server(polls: u32) -> (FakeArm, tempfile::TempDir, PathBuf) {
    let fake = FakeArm::start();
    fake.with(|s| s.in_progress_polls = polls);
    let tmp = tempfile::tempdir().unwrap();
    let env_file = tmp.path().join("db.env");
    azure(&fake, &example_args(env_file.to_str().unwrap(), &[])).expect_code(0);
    (fake, tmp, env_file)
}

fn example_args<'a>(env_file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--resource-group",
        "exampleresourcegroup",
        "--name",
        "exampleserver",
        "--location",
        "eastus",
        "--sku",
        "Standard_D4ds_v5",
        "--tier",
        "general-purpose",
        "--pg-version",
        "17",
        "--zone",
        "1",
        "--storage-gb",
        "512",
        "--auto-grow",
        "disabled",
        "--storage-tier",
        "P20",
        "--backup-retention-days",
        "7",
        "--geo-redundant-backup",
        "enabled",
        "--ha",
        "zone-redundant",
        "--admin-user",
        "exampleadministratorlogin",
        "--tag",
        "InCustomerVnet=false",
        "--tag",
        "InMicrosoftVnet=true",
        "--allow-ip",
        "203.0.113.0/24",
        "--param",
        "constraint_exclusion=on",
        "--database",
        "exampledatabase",
        "--poll-interval",
        "10ms",
        "--env-file",
        env_file,
        // The application role needs SQL on the server: its own test
        // (azure_app_role_...) has a local cluster standing in for it.
        "--no-app-role",
    ];
    // A flag given again in `extra` replaces the default's value.
    for pair in extra.chunks(2) {
        if let [flag, value] = pair
            && flag.starts_with("--")
            && !matches!(*flag, "--tag" | "--allow-ip" | "--param")
            && let Some(i) = v.iter().position(|x| x == flag)
            && !value.starts_with("--")
        {
            v[i + 1] = value;
            continue;
        }
        v.extend_from_slice(pair);
    }
    v
}

#[test]
fn azure_create_sends_the_official_shapes_polls_and_converges() {
    let fake = FakeArm::start();
    fake.with(|s| s.in_progress_polls = 3);
    let tmp = tempfile::tempdir().unwrap();
    let env_file = tmp.path().join("db.env");
    let ef = env_file.to_str().unwrap();
    let r = azure(&fake, &example_args(ef, &[]));
    r.expect_code(0);
    let rec = r.one("provision.azure");
    assert_eq!(rec["state"], "Ready", "{rec}");
    assert_eq!(rec["fqdn"], "exampleserver.postgres.database.azure.com");
    let put = the_create_has_the_official_shapes_and_is_polled(&fake);
    assert!(!env_file.exists(), "--no-app-role wrote the application's env file");
    let text = the_env_file_holds_the_password_sent(&r, &admin_file(&env_file), &put);
    re_runs_send_nothing(&fake, ef, &text);
    parameters_compare_and_restart(&fake, ef);
    the_public_ip_comes_from_the_echo_service(&fake, ef);
    a_changed_retention_is_one_patch(&fake, ef);
}

/// Request bodies have exactly the property paths of the official
/// examples, and the create was polled; the create's body.
fn the_create_has_the_official_shapes_and_is_polled(fake: &FakeArm) -> Value {
    let put = exact(fake, "PUT", &server_path("exampleserver")).pop().unwrap().body;
    assert_eq!(
        leaf_paths(&put),
        leaf_paths(&example_request(
            "ServersCreateInMicrosoftOwnedVirtualNetworkWithZoneRedundantHighAvailability.json"
        ))
    );
    assert_eq!(
        put["sku"],
        serde_json::json!({"tier": "GeneralPurpose", "name": "Standard_D4ds_v5"})
    );
    let fw = sent_body(fake, "PUT", "/firewallRules/");
    assert_eq!(
        leaf_paths(&fw),
        leaf_paths(&example_request("FirewallRulesCreateOrUpdate.json"))
    );
    assert_eq!(fw["properties"]["endIpAddress"], "203.0.113.255");
    let cfg = sent_body(fake, "PATCH", "/configurations/constraint_exclusion");
    assert_eq!(cfg, example_request("ConfigurationsUpdate.json"));
    let db = sent_body(fake, "PUT", "/databases/exampledatabase");
    assert_eq!(leaf_paths(&db), leaf_paths(&example_request("DatabasesCreate.json")));

    // The create was polled InProgress three times, then Succeeded, through
    // the monitor URL used verbatim (the fake refuses any other api-version).
    let polls: Vec<u32> = fake.with(|s| {
        s.ops
            .values()
            .filter(|o| o.resource.as_deref() == Some(server_path("exampleserver").as_str()))
            .map(|o| o.polls)
            .collect()
    });
    assert_eq!(polls, [4]);
    assert!(fake.requests().iter().any(|r| r.target.contains(MONITOR_API_VERSION)));
    assert_eq!(fake.with(|s| s.tokens_issued), 1, "the token is cached");

    put
}

/// The env file: 0600, the generated password that was sent, never
/// printed; the file's text.
fn the_env_file_holds_the_password_sent(r: &Run, env_file: &Path, put: &Value) -> String {
    assert_eq!(mode(env_file), 0o600);
    let text = std::fs::read_to_string(env_file).unwrap();
    let env = sw_core::envfile::EnvFile::parse(&text).unwrap();
    let url = env.get("DATABASE_URL").unwrap();
    let pw = put["properties"]["administratorLoginPassword"].as_str().unwrap();
    assert!(url.starts_with(&format!("postgresql://exampleadministratorlogin:{pw}@exampleserver.postgres.database.azure.com:5432/exampledatabase?sslmode=verify-full")), "{url}");
    // The roots: the system's CA bundle as a file (libpq 15 and most
    // drivers read sslrootcert as a path), `system` only when there is none.
    let root = sw_core::conninfo::parse(url).unwrap()["sslrootcert"].clone();
    if Path::new("/etc/ssl/certs/ca-certificates.crt").is_file() {
        assert_eq!(root, "/etc/ssl/certs/ca-certificates.crt");
    } else {
        assert!(root == "system" || Path::new(&root).is_file(), "{root}");
    }
    assert!(!env.get("DATABASE_URL_JDBC").unwrap().contains("sslrootcert"));
    for k in [
        "DATABASE_URL_SQLALCHEMY",
        "DATABASE_URL_JDBC",
        "DATABASE_DJANGO",
        "DATABASE_DSN",
    ] {
        assert!(env.get(k).unwrap().contains(pw), "{k}");
    }
    assert!(!r.stdout.contains(pw) && !r.stderr.contains(pw) && !r.stderr.contains(CLIENT_SECRET));

    text
}

/// A re-run reads and changes nothing; so does one after a failover
/// swapped the zones, and one naming only the server.
fn re_runs_send_nothing(fake: &FakeArm, ef: &str, text: &str) {
    let before = writes(fake);
    let again = azure(fake, &example_args(ef, &["--standby-zone", "2"]));
    again.expect_code(0);
    fake.with(|s| {
        let srv = s.resources.get_mut(&server_path("exampleserver")).unwrap();
        srv["properties"]["availabilityZone"] = "2".into();
        srv["properties"]["highAvailability"]["standbyAvailabilityZone"] = "1".into();
        // ARM may answer with the region's display name.
        srv["location"] = "East US".into();
    });
    let swapped = azure(fake, &example_args(ef, &["--standby-zone", "2"]));
    swapped.expect_code(0);
    let rec = swapped.one("provision.azure");
    assert_eq!(rec["changed"], false, "{rec}");
    assert_eq!(rec["warnings"], serde_json::json!([]), "{rec}");
    assert_eq!(writes(fake), before, "re-runs sent writes");
    let admin = admin_file(Path::new(ef));
    assert_eq!(std::fs::read_to_string(&admin).unwrap(), text, "the password is kept");
    // A run naming only the server (say, on call, to see where it stands)
    // changes nothing either: shape flags left out keep what the server
    // has, the firewall rules stay, the database and administrator are the
    // env file's and the server's.
    let bare = azure(
        fake,
        &[
            "--resource-group",
            "exampleresourcegroup",
            "--name",
            "exampleserver",
            "--poll-interval",
            "10ms",
            "--env-file",
            ef,
            "--no-app-role",
        ],
    );
    let rec = bare.expect_code(0).one("provision.azure");
    assert_eq!(rec["changed"], false, "{rec}");
    assert_eq!(writes(fake), before, "a bare re-run sent writes: {rec}");
    assert_eq!(std::fs::read_to_string(&admin).unwrap(), text);
}

/// Enumerated values compare without case; a parameter that needs a
/// restart is reported, or restarted with --restart.
fn parameters_compare_and_restart(fake: &FakeArm, ef: &str) {
    let before = writes(fake);
    // An enumerated value in another case is the same value (ARM stores
    // `on`): no write.
    fake.with(|s| {
        let cfg = s
            .resources
            .get_mut(&format!(
                "{}/configurations/constraint_exclusion",
                server_path("exampleserver")
            ))
            .unwrap();
        cfg["properties"]["allowedValues"] = "on,off,partition".into();
    });
    let r = azure(fake, &example_args(ef, &["--param", "constraint_exclusion=ON"]));
    // (example_args passes it as `on` too: neither spelling is a change.)
    assert_eq!(r.expect_code(0).one("provision.azure")["changed"], false, "{r:?}");
    assert_eq!(writes(fake), before);

    // A parameter that needs a restart: reported, or done with --restart.
    let r = azure(fake, &example_args(ef, &["--param", "shared_buffers=1GB"]));
    let rec = r.expect_code(0).one("provision.azure");
    assert_eq!(rec["restart_pending"], true, "{rec}");
    assert!(r.stderr.contains("--restart"), "{r:?}");
    assert_eq!(fake.count("POST", "/restart"), 0);
    let r = azure(fake, &example_args(ef, &["--param", "shared_buffers=2GB", "--restart"]));
    assert_eq!(r.expect_code(0).one("provision.azure")["restart_pending"], false);
    assert_eq!(fake.count("POST", "/restart"), 1);
}

#[test]
fn azure_pooler_pgbouncer_sets_the_built_in_pgbouncer_and_writes_the_6432_url() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let env_file = tmp.path().join("db.env");
    let ef = env_file.to_str().unwrap();
    let flags = ["--pooler", "pgbouncer", "--pool-size", "30"];
    let r = azure(&fake, &example_args(ef, &flags));
    r.expect_code(0);
    for (k, v) in [
        ("pgbouncer.enabled", "true"),
        ("pgbouncer.pool_mode", "transaction"),
        ("pgbouncer.default_pool_size", "30"),
        ("pgbouncer.max_client_conn", "200"),
        ("pgbouncer.query_wait_timeout", "30"),
        ("pgbouncer.stats_users", "exampleadministratorlogin"),
        ("metrics.pgbouncer_diagnostics", "on"),
    ] {
        let body = sent_body(&fake, "PATCH", &format!("/configurations/{k}"));
        // The documented update: ConfigurationsUpdate.json's shape.
        assert_eq!(
            leaf_paths(&body),
            leaf_paths(&example_request("ConfigurationsUpdate.json")),
            "{k}"
        );
        assert_eq!(body["properties"]["value"], v, "{k}");
    }
    let text = std::fs::read_to_string(admin_file(&env_file)).unwrap();
    let env = sw_core::envfile::EnvFile::parse(&text).unwrap();
    let pooled = env.get("DATABASE_URL_POOLED").unwrap();
    let direct = env.get("DATABASE_URL").unwrap();
    assert_eq!(pooled, direct.replacen(":5432/", ":6432/", 1), "{text}");
    assert!(pooled.contains("sslmode=verify-full"), "{pooled}");
    // Again: nothing to send.
    let before = writes(&fake);
    let again = azure(&fake, &example_args(ef, &flags));
    assert_eq!(
        again.expect_code(0).one("provision.azure")["changed"],
        false,
        "{again:?}"
    );
    assert_eq!(writes(&fake), before);
    // --pooler none turns it off.
    azure(&fake, &example_args(ef, &["--pooler", "none"])).expect_code(0);
    let off = fake
        .requests()
        .into_iter()
        .rev()
        .find(|q| q.method == "PATCH" && q.path().ends_with("/configurations/pgbouncer.enabled"));
    assert_eq!(off.unwrap().body["properties"]["value"], "false");
}

/// --allow-ip auto asks the configured echo service; offline is one clear line.
fn the_public_ip_comes_from_the_echo_service(fake: &FakeArm, ef: &str) {
    let my_ip_url = format!("{}/myip", fake.url);
    let r = azure(
        fake,
        &example_args(ef, &["--allow-ip", "auto", "--my-ip-url", &my_ip_url]),
    );
    r.expect_code(0);
    let fw = exact(
        fake,
        "PUT",
        &format!(
            "{}/firewallrules/sw-198_51_100_23-198_51_100_23",
            server_path("exampleserver")
        ),
    );
    assert_eq!(fw.len(), 1, "{r:?}");
    let r = azure(
        fake,
        &example_args(ef, &["--allow-ip", "auto", "--my-ip-url", "http://127.0.0.1:9/"]),
    );
    r.expect_error(69, "detecting this host's public IP from http://127.0.0.1:9/");
    assert!(r.stderr.contains("--allow-ip CIDR"), "{r:?}");
}

/// A changed retention is one PATCH with just that field.
fn a_changed_retention_is_one_patch(fake: &FakeArm, ef: &str) {
    let r = azure(fake, &example_args(ef, &["--backup-retention-days", "35"]));
    r.expect_code(0);
    let patch = exact(fake, "PATCH", &server_path("exampleserver")).pop().unwrap().body;
    assert_eq!(
        patch,
        serde_json::json!({"properties": {"backup": {"backupRetentionDays": 35}}})
    );
}

#[test]
fn azure_failed_operations_give_their_code_and_a_fitting_exit() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let ef = ef.to_str().unwrap();
    fake.with(|s| {
        s.fail_next.push((
            "flexibleServers/exampleserver".into(),
            "PrivateDnsZoneNameNotValid".into(),
            "The private DNS zone name is not valid.".into(),
        ));
    });
    let r = azure(&fake, &example_args(ef, &[]));
    r.expect_error(65, &format!("PUT {}/subscriptions/", fake.url));
    assert!(
        r.stderr
            .contains("PrivateDnsZoneNameNotValid: The private DNS zone name is not valid."),
        "{r:?}"
    );
    assert!(r.stdout.is_empty());

    fake.with(|s| {
        s.resources.clear();
        s.fail_next.push((
            "flexibleServers/exampleserver".into(),
            "InternalServerError".into(),
            "An unexpected error occured.".into(),
        ));
    });
    let r = azure(&fake, &example_args(ef, &[]));
    r.expect_error(69, &format!("PUT {}/subscriptions/", fake.url));
    assert!(r.stderr.contains("InternalServerError"), "{r:?}");

    // Checked against the capabilities API before anything is written.
    fake.with(|s| s.resources.clear());
    let before = writes(&fake);
    let r = azure(&fake, &example_args(ef, &["--sku", "Standard_Nope"]));
    r.expect_error(65, "SKU Standard_Nope is not offered in tier GeneralPurpose");
    let r = azure(&fake, &example_args(ef, &["--pg-version", "9"]));
    r.expect_code(65);
    assert_eq!(writes(&fake), before);

    // Refused credentials: 77, with the token endpoint's code.
    let mut c = cmd::command(BIN.as_ref());
    c.envs(fake.env())
        .env("AZURE_CLIENT_SECRET", "wrong-secret-value")
        .args(["azure", "status", "--resource-group", "g", "--name", "x1y"]);
    let r = cmd::run_cmd(&mut c, None);
    r.expect_error(77, "client secret: ");
    assert!(
        r.stderr.contains("invalid_client") && !r.stderr.contains("wrong-secret-value"),
        "{r:?}"
    );
}

#[test]
fn azure_throttling_is_waited_out_and_interrupted_creates_are_reattached() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let ef = ef.to_str().unwrap();

    // The first create is interrupted: still running when the client gives up.
    fake.with(|s| {
        s.in_progress_polls = 4;
        s.retry_after = 1;
    });
    let r = azure(&fake, &example_args(ef, &["--operation-timeout", "1s"]));
    r.expect_error(75, &format!("PUT {}/subscriptions/", fake.url));
    assert!(r.stderr.contains("run again to re-attach"), "{r:?}");
    // The password sent was saved before the create went out.
    let sent = exact(&fake, "PUT", &server_path("exampleserver")).pop().unwrap().body;
    let pw = sent["properties"]["administratorLoginPassword"]
        .as_str()
        .unwrap()
        .to_owned();
    let saved = || {
        let env =
            sw_core::envfile::EnvFile::parse(&std::fs::read_to_string(admin_file(Path::new(ef))).unwrap()).unwrap();
        let url = env.get("DATABASE_URL").unwrap().to_owned();
        (
            sw_core::conninfo::parse(&url).unwrap()["password"].clone(),
            env.get("SW_PROVISION_PASSWORD_UNCONFIRMED").map(str::to_owned),
        )
    };
    assert_eq!(saved(), (pw.clone(), Some("create".to_owned())));
    fake.with(|s| s.retry_after = 0);
    let r = azure(&fake, &example_args(ef, &[]));
    r.expect_code(0);
    let rec = r.one("provision.azure");
    assert_eq!(rec["changes"][0]["action"], "reattach", "{rec}");
    assert_eq!(rec["state"], "Ready");
    assert_eq!(
        exact(&fake, "PUT", &server_path("exampleserver")).len(),
        1,
        "the server was created twice"
    );
    // Re-attached with the password it was created with: no rotation.
    assert!(exact(&fake, "PATCH", &server_path("exampleserver")).is_empty());
    assert_eq!(saved(), (pw.clone(), None));

    // A rotation that fails is sent again by the next run, with the saved password.
    fake.with(|s| {
        s.fail_next.push((
            "flexibleServers/exampleserver".into(),
            "InternalServerError".into(),
            "An unexpected error occured.".into(),
        ));
    });
    azure(&fake, &example_args(ef, &["--rotate-admin-password"])).expect_code(69);
    let (new_pw, mark) = saved();
    assert_ne!(new_pw, pw);
    assert_eq!(mark.as_deref(), Some("update"));
    // (A failed update leaves the server running.)
    fake.with(|s| {
        let srv = s.resources.get_mut(&server_path("exampleserver")).unwrap();
        srv["properties"]["state"] = "Ready".into();
    });
    azure(&fake, &example_args(ef, &[])).expect_code(0);
    let patch = exact(&fake, "PATCH", &server_path("exampleserver")).pop().unwrap().body;
    assert_eq!(patch["properties"]["administratorLoginPassword"], new_pw.as_str());
    assert_eq!(saved(), (new_pw, None));

    // 429 with Retry-After: waited out (not earlier), then answered.
    fake.with(|s| s.throttle = Some((1, 1)));
    let n = fake.requests().len();
    let r = azure(
        &fake,
        &[
            "status",
            "--resource-group",
            "exampleresourcegroup",
            "--name",
            "exampleserver",
        ],
    );
    r.expect_code(0);
    assert_eq!(r.one("provision.azure.status")["state"], "Ready");
    let gets: Vec<_> = fake.requests()[n..]
        .iter()
        .filter(|q| q.method == "GET" && q.path() == server_path("exampleserver"))
        .cloned()
        .collect();
    assert_eq!(gets.len(), 2);
    assert!(gets[1].at.duration_since(gets[0].at) >= std::time::Duration::from_secs(1));
}

#[test]
fn azure_lists_follow_next_link_and_only_our_rules_are_removed() {
    let (fake, _tmp, env_file) = created_server(0);
    let ef = env_file.to_str().unwrap();
    let base = server_path("exampleserver");
    fake.with(|s| {
        for i in 1..=4 {
            let name = format!("sw-10_0_0_{i}-10_0_0_{i}");
            s.resources.insert(
                format!("{base}/firewallrules/{name}"),
                serde_json::json!({"name": name, "properties": {"startIpAddress": format!("10.0.0.{i}"), "endIpAddress": format!("10.0.0.{i}")}}),
            );
        }
        s.resources.insert(
            format!("{base}/firewallrules/office"),
            serde_json::json!({"name": "office", "properties": {"startIpAddress": "192.0.2.1", "endIpAddress": "192.0.2.1"}}),
        );
        s.page_size = 2;
    });
    let r = azure(&fake, &example_args(ef, &[]));
    r.expect_code(0);
    // Six rules over three pages; the 4 stale sw- rules on every page are gone, "office" stays.
    assert_eq!(fake.count("DELETE", "/firewallRules/sw-10_0_0_"), 4);
    assert_eq!(fake.count("DELETE", "/firewallRules/office"), 0);
    let pages = fake
        .requests()
        .iter()
        .filter(|q| q.method == "GET" && q.target.contains("$skiptoken="))
        .count();
    assert_eq!(pages, 2, "nextLink not followed");
}

#[test]
fn azure_dry_run_prints_requests_and_cost_stably_without_secrets() {
    let fake = FakeArm::start();
    let tmp = tempfile::tempdir().unwrap();
    let ef = tmp.path().join("db.env");
    let ef = ef.to_str().unwrap();
    let args = example_args(ef, &["--dry-run", "--allow-azure-services"]);
    let a = azure(&fake, &args);
    a.expect_code(0);
    let b = azure(&fake, &args);
    assert_eq!(a.stdout, b.stdout, "dry-run output is not stable");
    assert_eq!(writes(&fake), 0);
    assert!(!Path::new(ef).exists());
    let recs = a.records();
    let reqs: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "azure.request").collect();
    assert_eq!(reqs[0]["method"], "PUT");
    assert_eq!(
        reqs[0]["url"],
        format!("{}{}?api-version=2025-08-01", fake.url, server_path("exampleserver"))
            .replace("resourcegroups", "resourceGroups")
            .replace(
                "microsoft.dbforpostgresql/flexibleservers",
                "Microsoft.DBforPostgreSQL/flexibleServers"
            )
    );
    assert_eq!(
        reqs[0]["body"]["properties"]["administratorLoginPassword"],
        "<redacted>"
    );
    assert!(
        reqs.iter()
            .any(|r| r["body"]["properties"]["startIpAddress"] == "0.0.0.0")
    );
    let rec = a.one("provision.azure");
    assert!(rec["warnings"].to_string().contains("every Azure tenant"), "{rec}");
    assert!(a.stderr.contains("every Azure tenant"));
    let est = &rec["cost_estimate"];
    assert!(est["monthly_usd"].as_f64().unwrap() > 0.0);
    assert!(est["basis"].as_str().unwrap().contains("x 2 (HA standby)"));
    assert!(est["prices_as_of"].as_str().unwrap().starts_with("20"));
    for secret in [CLIENT_SECRET, "fake-token-"] {
        assert!(!a.stdout.contains(secret) && !a.stderr.contains(secret));
    }
}

#[test]
fn azure_managed_identity_tokens_come_through_azure_identity() {
    let (fake, _tmp, _) = created_server(0);
    let mut c = cmd::command(BIN.as_ref());
    c.envs(fake.env())
        .env_remove("AZURE_CLIENT_SECRET")
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", fake.url))
        .env("IDENTITY_HEADER", sw_testkit::azure::IDENTITY_HEADER)
        .args([
            "azure",
            "status",
            "--auth",
            "managed-identity",
            "--resource-group",
            "exampleresourcegroup",
        ])
        .args(["--name", "exampleserver"]);
    let r = cmd::run_cmd(&mut c, None);
    assert_eq!(r.expect_code(0).one("provision.azure.status")["state"], "Ready");
    let mi: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|q| q.path() == "/msi/token")
        .collect();
    assert_eq!(mi.len(), 1, "{r:?}");
    assert!(mi[0].target.contains("resource="), "{}", mi[0].target);
    assert!(!r.stderr.contains(sw_testkit::azure::IDENTITY_HEADER));
}

#[test]
fn azure_replica_status_and_delete() {
    let (fake, _tmp, env_file) = created_server(1);
    let ef = env_file.to_str().unwrap();
    // (No application role here: the read-only URL goes to the administrator's file.)
    let admin = admin_file(&env_file);
    let admin_ef = admin.to_str().unwrap();
    let rg = ["--resource-group", "exampleresourcegroup", "--poll-interval", "10ms"];
    let mut args = vec![
        "replica",
        "--name",
        "examplereplica",
        "--of",
        "exampleserver",
        "--location",
        "westus",
        "--env-file",
        admin_ef,
    ];
    args.extend_from_slice(&rg);
    let r = azure(&fake, &args);
    r.expect_code(0);
    let body = exact(&fake, "PUT", &server_path("examplereplica")).pop().unwrap().body;
    let example = leaf_paths(&example_request("ServersCreateReplica.json"));
    assert!(leaf_paths(&body).is_subset(&example), "{body}");
    assert_eq!(body["properties"]["createMode"], "Replica");
    assert_eq!(body["location"], "westus");
    let text = std::fs::read_to_string(&admin).unwrap();
    assert!(
        text.contains("DATABASE_URL_READONLY='postgresql://exampleadministratorlogin:"),
        "{text}"
    );
    assert!(text.contains("@examplereplica.postgres.database.azure.com:5432/exampledatabase?"));
    // Again: nothing to do.
    let again = azure(&fake, &args);
    assert_eq!(again.expect_code(0).one("provision.azure.replica")["changed"], false);
    // A new administrator password on the primary reaches the read-only URL.
    azure(&fake, &example_args(ef, &["--rotate-admin-password"])).expect_code(0);
    let env = sw_core::envfile::EnvFile::parse(&std::fs::read_to_string(&admin).unwrap()).unwrap();
    let pw = |k: &str| sw_core::conninfo::parse(env.get(k).unwrap()).unwrap()["password"].clone();
    assert_eq!(pw("DATABASE_URL_READONLY"), pw("DATABASE_URL"));
    assert!(!text.contains(&pw("DATABASE_URL")), "not rotated");
    let st = replica_status_is_a_check(&fake, &rg);
    let del = delete_polls_location_until_done(&fake, &rg);
    fake.with(|s| s.location_only = false);
    azure(&fake, &st).expect_error(66, "server examplereplica does not exist");
    // Deleting what is gone is not an error.
    assert_eq!(
        azure(&fake, &del).expect_code(0).one("provision.azure.delete")["deleted"],
        false
    );
}

/// `azure status` of the replica: 0 ready, 2 not serving, 1 busy; the
/// status arguments.
fn replica_status_is_a_check<'a>(fake: &FakeArm, rg: &[&'a str]) -> Vec<&'a str> {
    let mut st = vec!["status", "--name", "examplereplica"];
    st.extend_from_slice(rg);
    assert_eq!(
        azure(fake, &st).expect_code(0).one("provision.azure.status")["replication_role"],
        "AsyncReplica"
    );
    // Not serving is critical (2), busy a warning (1), with the record still printed.
    for (state, code) in [("Stopped", 2), ("Updating", 1)] {
        fake.with(|s| {
            s.resources.get_mut(&server_path("examplereplica")).unwrap()["properties"]["state"] = state.into();
        });
        let r = azure(fake, &st);
        r.expect_error(code, &format!("server examplereplica is {state}"));
        assert_eq!(r.one("provision.azure.status")["state"], state);
    }
    fake.with(|s| {
        s.resources.get_mut(&server_path("examplereplica")).unwrap()["properties"]["state"] = "Ready".into();
    });
    st
}

/// `azure delete` insists on --yes, polls a Location-only operation until
/// done, and a busy server is 75; the delete arguments.
fn delete_polls_location_until_done<'a>(fake: &FakeArm, rg: &[&'a str]) -> Vec<&'a str> {
    let mut del = vec!["delete", "--name", "examplereplica"];
    del.extend_from_slice(rg);
    azure(fake, &del).expect_error(64, "delete removes server examplereplica and its backups");
    del.push("--yes");
    // Operations answered with only a Location header are polled there
    // (202 running, then 204 done; a failure's code comes through, and a
    // busy server is a temporary failure, 75).
    fake.with(|s| {
        s.location_only = true;
        s.in_progress_polls = 2;
        s.fail_next.push((
            "flexibleServers/examplereplica".into(),
            "ServerIsBusy".into(),
            "Another operation is in progress.".into(),
        ));
    });
    let r = azure(fake, &del);
    r.expect_error(75, &format!("DELETE {}/subscriptions/", fake.url));
    assert!(
        r.stderr.contains("ServerIsBusy: Another operation is in progress."),
        "{r:?}"
    );
    fake.with(|s| {
        s.resources.get_mut(&server_path("examplereplica")).unwrap()["properties"]["state"] = "Ready".into();
    });
    let n = fake.requests().len();
    assert_eq!(
        azure(fake, &del).expect_code(0).one("provision.azure.delete")["deleted"],
        true
    );
    let polls = fake.requests()[n..]
        .iter()
        .filter(|q| q.method == "GET" && q.path().contains("/operationresults/"))
        .count();
    assert_eq!(polls, 3, "Location not polled until done");
    assert!(
        !fake.requests()[n..]
            .iter()
            .any(|q| q.path().contains("/azureasyncoperation/"))
    );
    del
}

#[test]
fn azure_cli_tokens_come_from_az_on_the_path() {
    let (fake, tmp, _) = created_server(0);
    // A stand-in `az` that records its arguments and prints what
    // `az account get-access-token -o json` prints.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let args_file = tmp.path().join("az.args");
    std::fs::write(
        bin.join("az"),
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\necho '{{\"accessToken\":\"fake-token-cli\",\"expiresOn\":\"2030-01-02 03:04:05.000000\",\"expires_on\":1893553445,\"tokenType\":\"Bearer\"}}'\n",
            args_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    // Both asked for (--auth azure-cli) and picked by auto when no secret
    // or identity variables are set and `az` is on PATH.
    for auth in ["azure-cli", "auto"] {
        let mut c = cmd::command(BIN.as_ref());
        c.envs(fake.env())
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .env_remove("IDENTITY_ENDPOINT")
            .env("PATH", &path)
            .args([
                "azure",
                "status",
                "--auth",
                auth,
                "--resource-group",
                "exampleresourcegroup",
            ])
            .args(["--name", "exampleserver"]);
        let r = cmd::run_cmd(&mut c, None);
        assert_eq!(
            r.expect_code(0).one("provision.azure.status")["state"],
            "Ready",
            "{auth}"
        );
        let args = std::fs::read_to_string(&args_file).unwrap();
        assert!(
            args.contains("account get-access-token") && args.contains(&format!("{}/.default", fake.url)),
            "{args}"
        );
        std::fs::remove_file(&args_file).unwrap();
        assert!(!r.stderr.contains("fake-token-cli"));
    }
}
