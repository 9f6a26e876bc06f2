//! sw-restore --azure against the fake ARM serving the official examples:
//! point-in-time and geo-restore (checked before any request, resumable,
//! inheriting what the source has), promotion, the drill (its SQL checks on
//! a real TLS cluster reached through SW_AZURE_HOST_OVERRIDE; the scratch
//! server deleted on success, on a failed check and on SIGTERM), the three
//! incidents of activate (rehearsed and real, with the audit log) and the
//! runbook.

#![allow(clippy::unwrap_used)]

#[path = "azure_common.rs"]
mod azure_common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use azure_common::*;
use serde_json::{Value, json};
use sw_testkit::azure::FakeArm;
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::TestCluster;

const BIN: &str = env!("CARGO_BIN_EXE_sw-restore");

fn restore(fake: &FakeArm, st: &Path, args: &[&str]) -> Run {
    run(BIN, fake, st, args)
}

fn args<'a>(sub: Option<&'a str>, server: &str, extra: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = sub.into_iter().map(str::to_owned).collect();
    v.extend(target(server));
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn set(fake: &FakeArm, name: &str, f: impl FnOnce(&mut Value)) {
    fake.with(|s| f(s.resources.get_mut(&id(name).to_ascii_lowercase()).unwrap()));
}

fn ago(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An env file with the administrator's credentials for exampleserver.
fn creds(dir: &Path, user: &str, pw: &str, db: &str, ca: &str) -> PathBuf {
    let p = dir.join("creds.env");
    std::fs::write(
        &p,
        format!("DATABASE_URL=postgresql://{user}:{pw}@exampleserver.postgres.database.azure.com:5432/{db}?sslmode=verify-full&sslrootcert={ca}\n"),
    )
    .unwrap();
    p
}

#[test]
fn restore_points_and_geo_restores_are_refused_before_any_request() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    set(&fake, "exampleserver", |v| {
        v["properties"]["backup"]["earliestRestoreDate"] = json!(ago(48))
    });
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            None,
            "exampleserver",
            &["--new-server", "newone", "--target-time", &future],
        )),
    );
    r.expect_error(65, "the restore point");
    assert!(r.stderr.contains("is in the future"), "{r:?}");
    assert!(fake.requests().is_empty(), "a request was sent for a future point");
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            None,
            "exampleserver",
            &["--new-server", "newone", "--target-time", &ago(72)],
        )),
    );
    r.expect_error(65, "the restore point");
    assert!(
        r.stderr.contains("before the earliest restore point of exampleserver"),
        "{r:?}"
    );
    set(&fake, "exampleserver", |v| {
        v["properties"]["backup"]["geoRedundantBackup"] = json!("Disabled")
    });
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            None,
            "exampleserver",
            &["--new-server", "newone", "--geo", "--latest"],
        )),
    );
    r.expect_error(65, "server exampleserver keeps no geo-redundant backup");
    assert_eq!(writes(&fake), 0, "a write was sent");
    // What Azure cannot do.
    for (flag, feature) in [("--target-lsn", "lsn_target"), ("--target-name", "named_target")] {
        let r = restore(
            &fake,
            st.path(),
            &refs(&args(
                None,
                "exampleserver",
                &["--new-server", "newone", flag, "0/3000060"],
            )),
        );
        r.expect_error(64, &format!("unsupported on Azure: {feature}"));
        assert_eq!(r.one("azure.unsupported")["feature"], feature);
    }
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            None,
            "exampleserver",
            &["--new-server", "exampleserver", "--latest"],
        )),
    );
    r.expect_error(64, "unsupported on Azure: restore_in_place");
    assert_eq!(writes(&fake), 0);
}

#[test]
fn a_point_in_time_restore_sends_the_example_shape_inherits_and_writes_the_env_file() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    set(&fake, "exampleserver", |v| {
        v["properties"]["backup"]["earliestRestoreDate"] = json!(ago(48))
    });
    fake.insert(
        &format!("{}/firewallRules/office", id("exampleserver")),
        json!({"name": "office", "properties": {"startIpAddress": "203.0.113.1", "endIpAddress": "203.0.113.9"}}),
    );
    let c = creds(
        st.path(),
        "exampleadministratorlogin",
        "pw-0f9e",
        "exampledatabase",
        "/etc/ssl/certs/ca-certificates.crt",
    );
    let env = st.path().join("new.env");
    let point = ago(2);
    let a = args(
        None,
        "exampleserver",
        &[
            "--new-server",
            "examplerestored",
            "--target-time",
            &point,
            "--env-file",
            env.to_str().unwrap(),
            "--credentials-from",
            c.to_str().unwrap(),
        ],
    );
    // Rehearsed first: the exact request, nothing sent.
    let mut dry = a.clone();
    dry.push("--dry-run".into());
    let d = restore(&fake, st.path(), &refs(&dry));
    let req = d.expect_code(0).one("azure.request");
    assert_eq!(req["method"], "PUT");
    assert_eq!(writes(&fake), 0);
    let r = restore(&fake, st.path(), &refs(&a));
    let rec = r.expect_code(0).one("restore.azure");
    assert_eq!(
        (rec["action"].as_str(), rec["mode"].as_str(), rec["state"].as_str()),
        (Some("created"), Some("point_in_time"), Some("Ready")),
        "{rec}"
    );
    assert_eq!(rec["firewall_rules_copied"], 1);
    let put = exact(&fake, "PUT", &id("examplerestored")).pop().unwrap().body;
    has_example_paths(&put, "ServersCreatePointInTimeRestore.json", &["tags."]);
    assert_eq!(put, req["body"], "the dry run printed another request");
    assert_eq!(put["properties"]["sourceServerResourceId"], id("exampleserver"));
    let sent = chrono::DateTime::parse_from_rfc3339(put["properties"]["pointInTimeUTC"].as_str().unwrap()).unwrap();
    assert_eq!(sent, chrono::DateTime::parse_from_rfc3339(&point).unwrap());
    assert!(
        put["properties"]["pointInTimeUTC"]
            .as_str()
            .unwrap()
            .ends_with(".000000Z")
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&env).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&env).unwrap();
    let vars = sw_core::envfile::EnvFile::parse(&text).unwrap();
    assert!(vars.get("DATABASE_URL").unwrap().starts_with("postgresql://exampleadministratorlogin:pw-0f9e@examplerestored.postgres.database.azure.com:5432/exampledatabase?sslmode=verify-full"), "{text}");
    assert!(
        vars.get("DATABASE_URL_JDBC").is_some() && vars.get("DATABASE_DSN").is_some(),
        "{text}"
    );
    // Running it again finds the restore done: nothing sent.
    let again = restore(&fake, st.path(), &refs(&a));
    assert_eq!(again.expect_code(0).one("restore.azure")["action"], "existing");
    assert_eq!(exact(&fake, "PUT", &id("examplerestored")).len(), 1);
    // Another point into the same server is refused.
    let other = args(
        None,
        "exampleserver",
        &["--new-server", "examplerestored", "--target-time", &ago(3)],
    );
    restore(&fake, st.path(), &refs(&other))
        .expect_error(73, "server examplerestored is a restore of exampleserver to");
}

#[test]
fn a_geo_restore_carries_the_customer_managed_key_and_identities() {
    let fake = FakeArm::start();
    let st = tempfile::tempdir().unwrap();
    let ex = example("ServersCreateGeoRestoreWithDataEncryptionEnabled.json")["parameters"]["parameters"].clone();
    let mut src = server("examplesourceserver", "eastus");
    src["identity"] = ex["identity"].clone();
    src["properties"]["dataEncryption"] = ex["properties"]["dataEncryption"].clone();
    fake.insert(&id("examplesourceserver"), src);
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            None,
            "examplesourceserver",
            &["--new-server", "exampleserver", "--geo", "--latest"],
        )),
    );
    let rec = r.expect_code(0).one("restore.azure");
    assert_eq!(
        (rec["mode"].as_str(), rec["location"].as_str()),
        (Some("geo_restore"), Some("westus")),
        "{rec}"
    );
    assert_eq!(rec["inherited"], json!(["data_encryption"]));
    let put = exact(&fake, "PUT", &id("exampleserver")).pop().unwrap().body;
    has_example_paths(
        &put,
        "ServersCreateGeoRestoreWithDataEncryptionEnabled.json",
        &["tags.", "location"],
    );
    assert_eq!(put["properties"]["dataEncryption"], ex["properties"]["dataEncryption"]);
    assert_eq!(put["identity"], ex["identity"]);
    assert_eq!(put["location"], "westus");
}

#[test]
fn an_interrupted_restore_is_reattached_to_never_created_twice() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    fake.with(|s| {
        s.in_progress_polls = 1000;
        s.retry_after = 1;
    });
    let a = args(None, "exampleserver", &["--new-server", "examplerestored", "--latest"]);
    let mut first = a.clone();
    first.extend(["--operation-timeout".into(), "1s".into()]);
    let r = restore(&fake, st.path(), &refs(&first));
    r.expect_error(75, "PUT");
    assert!(r.stderr.contains("run again to re-attach"), "{r:?}");
    fake.with(|s| {
        s.retry_after = 0;
        for op in s.ops.values_mut() {
            op.remaining = op.remaining.min(3);
        }
    });
    let r = restore(&fake, st.path(), &refs(&a));
    let rec = r.expect_code(0).one("restore.azure");
    assert_eq!(
        (rec["action"].as_str(), rec["state"].as_str()),
        (Some("reattached"), Some("Ready")),
        "{rec}"
    );
    assert_eq!(
        exact(&fake, "PUT", &id("examplerestored")).len(),
        1,
        "the server was created twice"
    );
    // A server of that name that is not this restore is left alone.
    fake.insert(&id("someoneelse"), server("someoneelse", "eastus"));
    let b = args(None, "exampleserver", &["--new-server", "someoneelse", "--latest"]);
    restore(&fake, st.path(), &refs(&b))
        .expect_error(73, "server someoneelse exists and is not a restore of exampleserver");
}

fn replica(fake: &FakeArm, name: &str, location: &str) {
    let mut r = example("ReplicasListByServer.json")["responses"]["200"]["body"]["value"][0].clone();
    r["id"] = json!(id(name));
    r["name"] = json!(name);
    r["location"] = json!(location);
    r["properties"]["fullyQualifiedDomainName"] = json!(format!("{name}.postgres.database.azure.com"));
    r["properties"]["sourceServerResourceId"] = json!(id("exampleserver"));
    fake.insert(&id(name), r);
}

#[test]
fn replicas_are_promoted_by_switchover_or_forced_and_the_role_changes() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    replica(&fake, "replicaone", "westus");
    replica(&fake, "replicatwo", "eastus");
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(Some("promote"), "replicaone", &["--mode", "switchover"])),
    );
    let rec = r.expect_code(0).one("restore.azure.promote");
    assert_eq!(
        (rec["role_before"].as_str(), rec["role_after"].as_str()),
        (Some("AsyncReplica"), Some("Primary")),
        "{rec}"
    );
    let patch = exact(&fake, "PATCH", &id("replicaone")).pop().unwrap().body;
    assert_eq!(
        patch,
        example("ServersPromoteReplicaAsPlannedSwitchover.json")["parameters"]["parameters"]
    );
    // After the switchover the old primary is the replica.
    assert_eq!(
        fake.resource(&id("exampleserver")).unwrap()["properties"]["replica"]["role"],
        "AsyncReplica"
    );
    restore(
        &fake,
        st.path(),
        &refs(&args(Some("promote"), "replicaone", &["--mode", "standalone"])),
    )
    .expect_error(65, "server replicaone is not a read replica");
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            Some("promote"),
            "replicatwo",
            &["--mode", "standalone", "--forced"],
        )),
    );
    r.expect_code(0);
    let patch = exact(&fake, "PATCH", &id("replicatwo")).pop().unwrap().body;
    assert_eq!(
        patch,
        example("ServersPromoteReplicaAsForcedStandaloneServer.json")["parameters"]["parameters"]
    );
    let local = run(BIN, &fake, st.path(), &["promote", "--mode", "standalone"]);
    local.expect_error(64, "sw-restore promote promotes an Azure read replica");
}

/// A TLS cluster answering for every *.postgres.database.azure.com host,
/// with a table of 3 rows, and an env file with its superuser.
fn drill_site(dir: &Path) -> (TestCluster, PathBuf, String) {
    let tc = TestCluster::start_tls_for(&["*.postgres.database.azure.com"]);
    tc.psql(
        "postgres",
        "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 3)",
    );
    let ca = tc.certs.as_ref().unwrap().ca_cert.display().to_string();
    let c = creds(dir, "postgres", &tc.password, "postgres", &ca);
    let over = format!("*.postgres.database.azure.com=127.0.0.1:{}", tc.port);
    (tc, c, over)
}

fn drill_cmd(fake: &FakeArm, st: &Path, over: &str, a: &[String]) -> std::process::Command {
    let mut c = cmd::command(BIN.as_ref());
    c.envs(fake.env())
        .env("XDG_STATE_HOME", st)
        .env("SW_AZURE_HOST_OVERRIDE", over)
        .args(a);
    c
}

#[test]
fn the_drill_restores_checks_deletes_and_records_the_rto_which_the_runbook_lists() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let (_tc, c, over) = drill_site(st.path());
    let expect = st.path().join("rows.jsonl");
    std::fs::write(
        &expect,
        "{\"database\":\"postgres\",\"schema\":\"public\",\"table\":\"orders\",\"min_rows\":3}\n",
    )
    .unwrap();
    let log = st.path().join("drills.jsonl");
    let base = args(
        Some("drill"),
        "exampleserver",
        &[
            "--credentials-from",
            c.to_str().unwrap(),
            "--drill-log",
            log.to_str().unwrap(),
            "--scratch-server",
            "exampleserver-drill",
        ],
    );
    let mut a = base.clone();
    a.extend(["--expect-rows".into(), expect.to_str().unwrap().into()]);
    let r = cmd::run_cmd(&mut drill_cmd(&fake, st.path(), &over, &a), None);
    let rec = r.expect_code(0).one("restore.azure.drill");
    assert_eq!(
        (rec["ok"].as_bool(), rec["scratch"].as_str()),
        (Some(true), Some("deleted")),
        "{rec}"
    );
    assert!(rec["rto_ms"].as_u64().is_some(), "{rec}");
    assert_eq!(rec["tables_checked"], 1);
    assert_eq!(rec["amcheck"], true, "amcheck is in PostgreSQL's contrib");
    assert!(rec["indexes_checked"].as_u64().unwrap() >= 1, "{rec}");
    let put = exact(&fake, "PUT", &id("exampleserver-drill")).pop().unwrap().body;
    has_example_paths(&put, "ServersCreatePointInTimeRestore.json", &["tags."]);
    assert_eq!(exact(&fake, "DELETE", &id("exampleserver-drill")).len(), 1);
    assert!(
        fake.resource(&id("exampleserver-drill")).is_none(),
        "the scratch server is still there"
    );
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(
        (line["kind"].as_str(), line["rto_ms"].clone()),
        (Some("restore.azure.drill"), rec["rto_ms"].clone())
    );

    // The runbook states the measured RTO, from the server's real settings.
    let md = st.path().join("runbook.md");
    let rb = args(
        Some("runbook"),
        "exampleserver",
        &["--out", md.to_str().unwrap(), "--drill-log", log.to_str().unwrap()],
    );
    let w = restore(&fake, st.path(), &refs(&rb));
    let wr = w.expect_code(0).one("restore.azure.runbook");
    assert_eq!(wr["rto_ms"], rec["rto_ms"]);
    assert_eq!(wr["rto_met"], true);
    assert_eq!(
        wr["never_drilled"],
        json!(["ha_failover", "promote_replica", "geo_restore"])
    );
    let text = std::fs::read_to_string(&md).unwrap();
    let rto_s = rec["rto_ms"].as_u64().unwrap() as f64 / 1000.0;
    assert!(text.contains(&format!("RTO: {rto_s:.1} s measured")), "{text}");
    assert!(
        text.contains("SKU: Standard_D4ds_v5 (GeneralPurpose), PostgreSQL 17"),
        "{text}"
    );
    assert!(text.contains("--incident region_failure"), "{text}");

    // A failing check still deletes the scratch server, and exits non-zero.
    std::fs::write(
        &expect,
        "{\"database\":\"postgres\",\"schema\":\"public\",\"table\":\"missing\",\"min_rows\":1}\n",
    )
    .unwrap();
    let mut a = base.clone();
    a.extend(["--expect-rows".into(), expect.to_str().unwrap().into()]);
    let r = cmd::run_cmd(&mut drill_cmd(&fake, st.path(), &over, &a), None);
    r.expect_error(65, "the Azure restore drill failed");
    let rec = r.one("restore.azure.drill");
    assert_eq!(
        (rec["ok"].as_bool(), rec["scratch"].as_str()),
        (Some(false), Some("deleted")),
        "{rec}"
    );
    assert!(
        rec["error"]
            .as_str()
            .unwrap()
            .contains("table public.missing is missing"),
        "{rec}"
    );
    assert_eq!(exact(&fake, "DELETE", &id("exampleserver-drill")).len(), 2);
    assert!(fake.resource(&id("exampleserver-drill")).is_none());
}

#[test]
fn a_drill_interrupted_by_sigterm_deletes_its_scratch_server() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let c = creds(
        st.path(),
        "postgres",
        "pw",
        "postgres",
        "/etc/ssl/certs/ca-certificates.crt",
    );
    fake.with(|s| s.in_progress_polls = 100_000);
    let a = args(
        Some("drill"),
        "exampleserver",
        &[
            "--credentials-from",
            c.to_str().unwrap(),
            "--scratch-server",
            "exampleserver-drill",
        ],
    );
    let mut cm = drill_cmd(&fake, st.path(), "*.x=127.0.0.1:1", &a);
    let child = cm
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while exact(&fake, "PUT", &id("exampleserver-drill")).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the drill never sent its restore");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The delete may finish quickly.
    fake.with(|s| s.in_progress_polls = 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let r = Run::of(BIN.as_ref(), &out);
    r.expect_error(75, "the Azure restore drill failed: interrupted (SIGTERM)");
    let rec = r.one("restore.azure.drill");
    assert_eq!(
        (rec["ok"].as_bool(), rec["scratch"].as_str()),
        (Some(false), Some("deleted")),
        "{rec}"
    );
    assert_eq!(exact(&fake, "DELETE", &id("exampleserver-drill")).len(), 1);
    assert!(fake.resource(&id("exampleserver-drill")).is_none());
}

fn activate(fake: &FakeArm, st: &Path, over: &str, incident: &str, extra: &[&str]) -> Run {
    let mut a = args(Some("activate"), "exampleserver", &["--incident", incident]);
    a.extend(extra.iter().map(|s| (*s).to_owned()));
    cmd::run_cmd(&mut drill_cmd(fake, st, over, &a), None)
}

#[test]
fn each_incident_rehearsed_prints_its_exact_requests_and_sends_none() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let over = "*.postgres.database.azure.com=127.0.0.1:1";
    set(&fake, "exampleserver", |v| {
        v["properties"]["state"] = json!("Stopped");
        v["properties"]["highAvailability"] =
            json!({"mode": "ZoneRedundant", "state": "Healthy", "standbyAvailabilityZone": "2"});
    });
    let r = activate(&fake, st.path(), over, "database_failure", &["--dry-run"]);
    let req = r.expect_code(0).one("azure.request");
    assert_eq!(
        (
            req["method"].as_str(),
            req["url"]
                .as_str()
                .unwrap()
                .ends_with("/exampleserver/restart?api-version=2025-08-01")
        ),
        (Some("POST"), true),
        "{req}"
    );
    assert_eq!(
        req["body"],
        example("ServersRestartWithFailover.json")["parameters"]["parameters"]
    );
    let rec = r.one("restore.azure.activate");
    assert_eq!(
        (
            rec["action"].as_str(),
            rec["dry_run"].as_bool(),
            rec["primary_down"].as_bool()
        ),
        (Some("ha_failover"), Some(true), Some(true))
    );

    set(&fake, "exampleserver", |v| {
        v["properties"]["highAvailability"] = json!({"mode": "Disabled", "state": "NotEnabled"})
    });
    replica(&fake, "replicawest", "westus");
    let r = activate(&fake, st.path(), over, "region_failure", &["--dry-run"]);
    let req = r.expect_code(0).one("azure.request");
    assert_eq!(req["method"], "PATCH");
    assert!(
        req["url"].as_str().unwrap().contains("/flexibleServers/replicawest?"),
        "{req}"
    );
    assert_eq!(
        req["body"],
        example("ServersPromoteReplicaAsForcedStandaloneServer.json")["parameters"]["parameters"]
    );

    fake.with(|s| s.resources.remove(&id("replicawest").to_ascii_lowercase()));
    let r = activate(&fake, st.path(), over, "region_failure", &["--dry-run"]);
    let req = r.expect_code(0).one("azure.request");
    assert_eq!(
        (
            req["method"].as_str(),
            req["body"]["properties"]["createMode"].as_str(),
            req["body"]["location"].as_str()
        ),
        (Some("PUT"), Some("GeoRestore"), Some("westus")),
        "{req}"
    );
    assert!(
        req["url"]
            .as_str()
            .unwrap()
            .contains("/flexibleServers/exampleserver-westus?"),
        "{req}"
    );
    // The example's key and identities only come with a customer-managed key (see the geo-restore test).
    let props: Vec<&String> = req["body"]["properties"].as_object().unwrap().keys().collect();
    assert_eq!(
        props,
        ["createMode", "pointInTimeUTC", "sourceServerResourceId"],
        "{req}"
    );

    set(&fake, "exampleserver", |v| {
        v["properties"]["backup"]["earliestRestoreDate"] = json!(ago(48))
    });
    let before = ago(1);
    let r = activate(
        &fake,
        st.path(),
        over,
        "data_corruption",
        &["--dry-run", "--before", &before, "--new-server", "examplefixed"],
    );
    let req = r.expect_code(0).one("azure.request");
    has_example_paths(&req["body"], "ServersCreatePointInTimeRestore.json", &["tags."]);
    let sent =
        chrono::DateTime::parse_from_rfc3339(req["body"]["properties"]["pointInTimeUTC"].as_str().unwrap()).unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&before).unwrap() - sent,
        chrono::Duration::microseconds(1)
    );
    assert_eq!(writes(&fake), 0, "a rehearsal sent a write");
}

#[test]
fn a_real_activation_writes_the_env_file_and_an_audit_log_naming_each_operation() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let env = creds(
        st.path(),
        "exampleadministratorlogin",
        "pw-77",
        "exampledatabase",
        "/etc/ssl/certs/ca-certificates.crt",
    );
    let audit = st.path().join("audit.jsonl");
    replica(&fake, "replicaeast", "eastus");
    // The primary is Ready and has no credentials to try: not known to be down.
    let r = activate(
        &fake,
        st.path(),
        "*.none=127.0.0.1:1",
        "database_failure",
        &["--audit-log", audit.to_str().unwrap()],
    );
    r.expect_error(64, "the primary exampleserver does not look down");
    assert_eq!(writes(&fake), 0);
    // With the env file, a connection is tried: refused, so it is down.
    let over = "*.postgres.database.azure.com=127.0.0.1:1";
    let r = activate(
        &fake,
        st.path(),
        over,
        "database_failure",
        &[
            "--env-file",
            env.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    let rec = r.expect_code(0).one("restore.azure.activate");
    assert_eq!(
        (rec["action"].as_str(), rec["primary_down"].as_bool()),
        (Some("promoted_replica"), Some(true)),
        "{rec}"
    );
    assert_eq!(rec["server"], id("replicaeast"));
    assert!(!rec["operation_ids"].as_array().unwrap().is_empty(), "{rec}");
    assert!(rec["checklist"].as_array().unwrap().len() >= 4);
    let text = std::fs::read_to_string(&env).unwrap();
    let url = sw_core::envfile::EnvFile::parse(&text)
        .unwrap()
        .get("DATABASE_URL")
        .unwrap()
        .to_owned();
    assert!(
        url.contains("@replicaeast.postgres.database.azure.com:5432/exampledatabase?"),
        "{text}"
    );
    assert_eq!(
        fake.resource(&id("replicaeast")).unwrap()["properties"]["replica"]["role"],
        "Primary"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["kind"] == "restore.azure.audit" && l["operation"].is_string()),
        "{lines:?}"
    );
    let ops: Vec<&str> = lines.iter().map(|l| l["operation"].as_str().unwrap()).collect();
    for want in ["start", "check_primary", "promote_replica", "env_file", "done"] {
        assert!(ops.contains(&want), "{ops:?}");
    }
    let accepted = lines.iter().find(|l| l["outcome"] == "accepted").unwrap();
    assert_eq!(accepted["method"], "PATCH");
    assert!(accepted["operation_id"].is_string(), "{accepted}");
    // The failed first attempt is in the log too.
    assert!(lines.iter().any(|l| l["operation"] == "failed"), "{lines:?}");
    for l in &lines {
        sw_testkit::schema::validate("sw-restore", l).unwrap();
    }
}

#[test]
fn long_waits_show_progress_on_a_terminal_and_nothing_elsewhere() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    fake.with(|s| s.in_progress_polls = 5);
    let a = args(None, "exampleserver", &["--new-server", "quietone", "--latest"]);
    let r = restore(&fake, st.path(), &refs(&a));
    r.expect_code(0);
    assert!(r.stderr.is_empty(), "stderr is not a terminal, yet: {:?}", r.stderr);
    // On a terminal (script(1) gives the run a pty): the operation, Azure's status, the time.
    let line: Vec<String> = std::iter::once(format!("'{BIN}'"))
        .chain(args(None, "exampleserver", &["--new-server", "loudone", "--latest"]))
        .collect();
    let out = std::process::Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .envs(fake.env())
        .env("XDG_STATE_HOME", st.path())
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux runs the command on a terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("/flexibleServers/loudone: InProgress, ") && text.contains(" elapsed"),
        "{text}"
    );
}

#[test]
fn failed_restores_give_the_arm_code_and_a_fitting_exit() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    fake.with(|s| {
        s.fail_next.push((
            "flexibleServers/failedone".into(),
            "InternalServerError".into(),
            "An unexpected error occured.".into(),
        ))
    });
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(None, "exampleserver", &["--new-server", "failedone", "--latest"])),
    );
    r.expect_error(69, "PUT");
    assert!(
        r.stderr
            .contains("Failed: InternalServerError: An unexpected error occured."),
        "{r:?}"
    );
    fake.with(|s| {
        s.fail_next.push((
            "flexibleServers/rejectedone".into(),
            "InvalidParameterValue".into(),
            "pointInTimeUTC is not valid".into(),
        ))
    });
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(
            None,
            "exampleserver",
            &["--new-server", "rejectedone", "--latest"],
        )),
    );
    r.expect_code(65);
    assert!(
        r.stderr.contains("InvalidParameterValue: pointInTimeUTC is not valid"),
        "{r:?}"
    );
    fake.with(|s| s.throttle = Some((2, 1)));
    restore(
        &fake,
        st.path(),
        &refs(&args(None, "exampleserver", &["--new-server", "throttled", "--latest"])),
    )
    .expect_code(0);
    fake.with(|s| {
        for _ in 0..6 {
            s.scripted.push((
                "PUT".into(),
                "/flexibleServers/busyone".into(),
                sw_testkit::azure::Reply::json(
                    503,
                    json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
                ),
            ));
        }
    });
    let r = restore(
        &fake,
        st.path(),
        &refs(&args(None, "exampleserver", &["--new-server", "busyone", "--latest"])),
    );
    r.expect_error(75, "giving up after 6 attempts: PUT");
}
