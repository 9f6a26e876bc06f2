//! The off-site repository signed in with Entra ID (issue #16): a cluster
//! archives and backs up into Azurite (`--oauth basic`) with a bearer token
//! its client secret gets from the fake Entra ID token endpoint; a wrong
//! secret is 77 on one line and never shown, and a token is never sent to
//! a plain-http endpoint.

use sw_testkit::azure::FakeArm;
use sw_testkit::azurite::{self, Azurite};

use crate::offsite_common::Offsite;

/// The credentials file: the method and its variables, the token endpoint
/// included (the archiver runs with the server's environment, not ours).
fn credentials(fake: &FakeArm, secret: Option<&str>) -> String {
    let mut s = String::from("AZURE_STORAGE_AUTH=client-secret\n");
    for (k, v) in fake.env() {
        let v = match (k.as_str(), secret) {
            ("AZURE_CLIENT_SECRET", Some(other)) => other.to_owned(),
            _ => v,
        };
        if matches!(
            k.as_str(),
            "AZURE_TENANT_ID" | "AZURE_CLIENT_ID" | "AZURE_CLIENT_SECRET" | "SW_AZURE_TOKEN_ENDPOINT"
        ) {
            s.push_str(&format!("{k}={v}\n"));
        }
    }
    s
}

#[test]
fn an_entra_id_client_secret_archives_and_backs_up_and_a_wrong_one_is_77() {
    let fake = FakeArm::start();
    fake.with(|s| {
        s.tokens_by_scope
            .insert("https://storage.azure.com/.default".into(), azurite::fake_token());
    });
    let az = Azurite::start_with(azurite::Opts {
        oauth: true,
        ..azurite::Opts::default()
    });
    let o = Offsite::on(&az, "entra", false, &credentials(&fake, None));
    let db = o.tc.url("postgres");
    o.backup_cmd(&["full", "--db", &db]).expect_code(0);
    let list = o.backup_cmd(&["list"]);
    list.expect_code(0);
    assert_eq!(list.records().len(), 1, "{}", list.stdout);
    // The archiver signs in too: check's live test waits for a segment.
    let r = o.backup_cmd(&["check", "--db", &db]);
    r.expect_code(0);
    assert_eq!(r.one("backup.check.summary")["status"], "ok", "{}", r.stdout);
    o.backup_cmd(&["verify"]).expect_code(0);
    let issued = fake.with(|s| s.tokens_issued);
    assert!(issued >= 2, "tokens issued: {issued}");

    // A wrong secret: the token endpoint refuses it.
    let wrong = o.tc.dir.join("offsite").join("wrong.env");
    std::fs::write(&wrong, credentials(&fake, Some("not-the-secret-value"))).unwrap();
    let mut f = o.flags.clone();
    f[5] = wrong.display().to_string();
    let r = o.run_flags(&o.backup, &["list"], false, &f);
    r.expect_code(77);
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {r:?}");
    assert!(!r.stderr.contains("not-the-secret-value"), "{r:?}");

    // Never over plain http.
    let mut f = o.flags.clone();
    f[3] = az.endpoint().replacen("https://", "http://", 1);
    let r = o.run_flags(&o.backup, &["list"], false, &f);
    r.expect_code(78);
    assert!(r.stderr.contains("plain-http"), "{r:?}");
    o.assert_key_never_shown();
}
