//! sw-backup --azure against the fake ARM serving the official examples:
//! on-demand backups, the list, deleting, long-term retention (the SAS
//! URL read from a file and never shown), the check, what Azure cannot do,
//! and ARM's failures with their exit codes.

#[path = "azure_common.rs"]
mod azure_common;

use azure_common::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_sw-backup");

fn backup(
    fake: &sw_testkit::azure::FakeArm,
    state: &std::path::Path,
    sub: &str,
    extra: &[&str],
) -> sw_testkit::cmd::Run {
    let mut args = vec![sub.to_owned()];
    args.extend(target("exampleserver"));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run(BIN, fake, state, &a)
}

#[test]
fn on_demand_backups_are_taken_listed_and_deleted() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let auto = example("BackupListByServer.json")["responses"]["200"]["body"]["value"][0].clone();
    fake.insert(
        &format!("{}/backups/{}", id("exampleserver"), auto["name"].as_str().unwrap()),
        auto,
    );

    // full: PUT with no body, polled, read back.
    let r = backup(&fake, st.path(), "full", &["--label", "ondemand-1"]);
    let rec = r.expect_code(0).one("backup.azure.full");
    assert_eq!(rec["created"], true, "{rec}");
    assert_eq!(rec["name"], "ondemand-1");
    assert!(rec["operation_id"].as_str().is_some_and(|o| !o.is_empty()), "{rec}");
    assert!(rec["completed_time"].as_str().unwrap().ends_with('Z'), "{rec}");
    let puts = exact(&fake, "PUT", &format!("{}/backups/ondemand-1", id("exampleserver")));
    assert_eq!(puts.len(), 1);
    assert!(
        puts[0].raw_body.is_empty(),
        "the example PUT has no body: {:?}",
        puts[0].raw_body
    );
    assert!(puts[0].target.contains("api-version=2025-08-01"));
    assert!(
        fake.count("GET", "/azureasyncoperation/") >= 1,
        "the operation was not polled"
    );
    // Again: found, nothing sent.
    let again = backup(&fake, st.path(), "full", &["--label", "ondemand-1"]);
    assert_eq!(again.expect_code(0).one("backup.azure.full")["created"], false);
    assert_eq!(
        exact(&fake, "PUT", &format!("{}/backups/ondemand-1", id("exampleserver"))).len(),
        1
    );

    // list: both, oldest first, with the server's window and geo state.
    let l = backup(&fake, st.path(), "list", &[]);
    let recs: Vec<Value> = l.expect_code(0).records();
    assert_eq!(recs.len(), 2, "{l:?}");
    assert_eq!(recs[0]["origin"], "automatic");
    assert_eq!(recs[0]["completed_time"], "2024-08-01T14:30:22.123Z");
    assert_eq!(recs[1]["origin"], "on_demand");
    assert_eq!(recs[1]["earliest_restore_time"], "2025-06-01T18:35:22.123Z");
    assert_eq!(recs[1]["geo_redundant_backup"], true);
    assert_eq!(recs[1]["retention_ms"], 7 * 24 * 3_600_000_u64);

    // delete: only with --yes, never an automatic backup.
    backup(&fake, st.path(), "delete", &["--backup", "ondemand-1"])
        .expect_error(64, "delete removes the on-demand backup ondemand-1; pass --yes");
    let auto_name = recs[0]["name"].as_str().unwrap().to_owned();
    backup(&fake, st.path(), "delete", &["--backup", &auto_name, "--yes"])
        .expect_error(65, &format!("{auto_name} is an automatic backup"));
    let d = backup(&fake, st.path(), "delete", &["--backup", "ondemand-1", "--yes"]);
    assert_eq!(d.expect_code(0).one("backup.azure.delete")["deleted"], true);
    assert!(
        fake.resource(&format!("{}/backups/ondemand-1", id("exampleserver")))
            .is_none()
    );
    let gone = backup(&fake, st.path(), "delete", &["--backup", "ondemand-1", "--yes"]);
    assert_eq!(gone.expect_code(0).one("backup.azure.delete")["deleted"], false);
    let local = run(BIN, &fake, st.path(), &["delete", "--backup", "x", "--yes"]);
    local.expect_error(64, "sw-backup delete removes Azure on-demand backups");
}

#[test]
fn what_azure_cannot_do_is_unsupported_in_the_json_and_the_error() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let r = backup(&fake, st.path(), "verify", &[]);
    r.expect_error(64, "unsupported on Azure: wal_continuity");
    let u = r.one("azure.unsupported");
    assert_eq!(
        (u["command"].as_str(), u["feature"].as_str()),
        (Some("sw-backup verify"), Some("wal_continuity"))
    );
    let p = backup(&fake, st.path(), "full", &["--pin"]);
    p.expect_error(64, "unsupported on Azure: pin");
    assert_eq!(p.one("azure.unsupported")["feature"], "pin");
    assert_eq!(writes(&fake), 0);
    // A server given by its ARM id selects Azure without --azure.
    let l = run(BIN, &fake, st.path(), &["list", "--server", &id("exampleserver")]);
    l.expect_code(0);
    // Without a target a local command still wants its repository.
    run(BIN, &fake, st.path(), &["list"]).expect_error(64, "the following required arguments were not provided");
}

#[test]
fn long_term_retention_reads_the_sas_url_from_a_file_and_never_shows_it() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    let sas = "https://ltrstore.blob.core.windows.net/ltr?sv=2024-08-04&sp=rwl&sig=S3cr3tSignatureValue0123";
    let file = st.path().join("sas");
    std::fs::write(&file, format!("{sas}\n")).unwrap();
    let f = file.to_str().unwrap();

    let c = backup(&fake, st.path(), "ltr-check", &["--backup", "exampleltrbackup"]);
    let rec = c.expect_code(0).one("backup.azure.ltr.check");
    assert_eq!((rec["ok"].as_bool(), rec["containers"].as_u64()), (Some(true), Some(1)));
    let pre = fake
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/ltrprebackup"))
        .unwrap();
    assert_eq!(
        pre.body,
        example("BackupsLongTermRetentionCheckPrerequisites.json")["parameters"]["parameters"]
    );

    let s = backup(
        &fake,
        st.path(),
        "ltr-start",
        &["--backup", "exampleltrbackup", "--sas-file", f],
    );
    let rec = s.expect_code(0).one("backup.azure.ltr");
    assert_eq!(rec["status"], "Succeeded", "{rec}");
    assert_eq!(rec["percent_complete"], 100);
    assert!(rec["operation_id"].is_string());
    let start = fake
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/startltrbackup"))
        .unwrap();
    has_example_paths(&start.body, "BackupsLongTermRetentionStart.json", &[]);
    assert_eq!(start.body["targetDetails"]["sasUriList"], json!([sas]));
    assert!(!s.stdout.contains("S3cr3t") && !s.stderr.contains("S3cr3t"), "{s:?}");

    let l = backup(&fake, st.path(), "ltr-list", &[]);
    let recs = l.expect_code(0).records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["backup_name"], "exampleltrbackup");

    std::fs::write(&file, "http://not-a-sas\n").unwrap();
    backup(&fake, st.path(), "ltr-start", &["--backup", "b2", "--sas-file", f])
        .expect_error(65, &format!("{f:?} line 1: not a container SAS URL"));
}

#[test]
fn check_reports_age_window_and_geo_redundancy() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    // No backup at all: CRITICAL.
    let r = backup(&fake, st.path(), "check", &[]);
    r.expect_code(2);
    assert_eq!(r.one("backup.azure.check.summary")["status"], "critical");
    backup(&fake, st.path(), "full", &["--label", "now"]).expect_code(0);
    let r = backup(&fake, st.path(), "check", &[]);
    r.expect_code(0);
    let items = r.records();
    let status = |c: &str| items.iter().find(|i| i["check"] == c).unwrap()["status"].clone();
    assert_eq!(status("newest_backup"), "ok");
    assert_eq!(status("restore_window"), "ok");
    assert_eq!(status("geo_redundant_backup"), "ok");
    fake.with(|s| {
        let v = s.resources.get_mut(&id("exampleserver").to_ascii_lowercase()).unwrap();
        v["properties"]["backup"]["geoRedundantBackup"] = json!("Disabled");
    });
    backup(&fake, st.path(), "check", &[]).expect_code(1);
    // Azure unreachable: UNKNOWN.
    let mut args = vec!["check".to_owned()];
    args.extend(target("exampleserver"));
    args.extend(["--arm-endpoint".to_owned(), "http://127.0.0.1:9".to_owned()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(BIN, &fake, st.path(), &a);
    r.expect_code(3);
    assert_eq!(r.one("backup.azure.check")["check"], "server");
}

#[test]
fn arm_failures_give_their_code_and_a_fitting_exit() {
    let fake = fake_with_server();
    let st = tempfile::tempdir().unwrap();
    // A failed operation: its ARM code on the one line, 69 for a server-side fault.
    fake.with(|s| {
        s.fail_next.push((
            "/backups/b1".into(),
            "InternalServerError".into(),
            "An unexpected error occured.".into(),
        ))
    });
    backup(&fake, st.path(), "full", &["--label", "b1"]).expect_error(69, "PUT");
    let r = backup(&fake, st.path(), "full", &["--label", "b2"]);
    r.expect_code(0);
    // One the service blames on the request: 65.
    fake.with(|s| {
        s.fail_next
            .push(("/backups/b3".into(), "InvalidParameterValue".into(), "bad name".into()))
    });
    let r = backup(&fake, st.path(), "full", &["--label", "b3"]);
    r.expect_code(65);
    assert!(r.stderr.contains("InvalidParameterValue: bad name"), "{r:?}");
    // 429 with Retry-After is waited out.
    fake.with(|s| s.throttle = Some((2, 1)));
    backup(&fake, st.path(), "list", &[]).expect_code(0);
    // 5xx past the retries: 75.
    fake.with(|s| {
        for _ in 0..6 {
            s.scripted.push((
                "GET".into(),
                "/flexibleServers/exampleserver".into(),
                sw_testkit::azure::Reply::json(
                    503,
                    json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
                ),
            ));
        }
    });
    let r = backup(&fake, st.path(), "list", &[]);
    r.expect_error(75, "giving up after 6 attempts: GET");
    assert!(r.stderr.contains("HTTP 503: ServiceUnavailable: busy"), "{r:?}");
    // A server that does not exist: 66.
    let mut a = vec!["list".to_owned()];
    a.extend(target("nosuchserver"));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    run(BIN, &fake, st.path(), &a).expect_error(66, "server nosuchserver does not exist");
}
