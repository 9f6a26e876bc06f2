//! `--azure-auth` end to end: the flag as every tool parses it (PgOpts),
//! a token for Azure Database for PostgreSQL's scope from the test kit's
//! fake token endpoint, and that token used as the password of a real
//! sign-in: a throwaway role on a local TLS cluster whose password is the
//! token stands in for an Entra principal on Azure.

#![allow(clippy::unwrap_used)]

use clap::Parser;
use sw_core::cli::PgOpts;
use sw_core::config::Env;
use sw_core::pg::{self, Session};
use sw_testkit::azure::FakeArm;
use sw_testkit::azure_https::form;
use sw_testkit::pg::TestCluster;

/// What every sw tool flattens into its connecting commands.
#[derive(Parser)]
struct Tool {
    #[command(flatten)]
    pg: PgOpts,
}

const PG_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";
/// JWT-shaped, as Entra ID's are (the server only compares it here).
const PG_TOKEN: &str =
    "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL29zc3JkYm1zLWFhZC5kYXRhYmFzZS53aW5kb3dzLm5ldCJ9.ZmFrZS1zaWc";

fn env_of(fake: &FakeArm, home: &std::path::Path) -> Env {
    let mut vars = fake.env();
    vars.push(("HOME".into(), home.display().to_string()));
    vars.push(("PATH".into(), "/nonexistent".into()));
    Env::fixed(vars)
}

fn current_user(t: &sw_core::target::Target) -> sw_core::Result<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = pg::connect(t, &Session::new("sw-test")).await?;
        let row = c.client.query_one("SELECT current_user::text", &[]).await.unwrap();
        Ok(row.get(0))
    })
}

#[test]
fn azure_auth_signs_in_with_a_token_for_the_postgresql_scope() {
    let fake = FakeArm::start();
    fake.with(|s| s.tokens_by_scope.insert(PG_SCOPE.into(), PG_TOKEN.into()));
    let c = TestCluster::start_tls();
    c.psql(
        "postgres",
        &format!("CREATE ROLE entra_app LOGIN PASSWORD '{PG_TOKEN}'"),
    );
    let ca = c.certs.as_ref().unwrap().ca_cert.display().to_string();
    let url = format!(
        "postgresql://entra_app@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}",
        c.port
    );
    let home = tempfile::tempdir().unwrap();
    let env = env_of(&fake, home.path());

    // Without the flag there is no password, and no sign-in.
    let plain = Tool::try_parse_from(["t", "--db", &url]).unwrap();
    let t = plain.pg.target_in(&env).unwrap();
    assert_eq!(t.password(), None);
    assert!(current_user(&t).is_err());
    assert!(fake.requests().is_empty(), "a token was fetched without --azure-auth");

    let tool = Tool::try_parse_from(["t", "--db", &url, "--azure-auth"]).unwrap();
    let t = tool.pg.target_in(&env).unwrap();
    assert_eq!(t.password(), Some(PG_TOKEN));
    assert!(!format!("{t} {t:?}").contains(PG_TOKEN), "the token is shown");
    assert_eq!(current_user(&t).unwrap(), "entra_app");

    // It asked the token endpoint for PostgreSQL's scope (not Resource
    // Manager's), with the client secret that auto picked.
    let asked: Vec<Vec<(String, String)>> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/oauth2/v2.0/token"))
        .map(|r| form(&r.raw_body))
        .collect();
    assert_eq!(asked.len(), 1);
    let field = |k: &str| asked[0].iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("scope").as_deref(), Some(PG_SCOPE));
    assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));

    // A token for another audience (Resource Manager's) is no password here.
    fake.with(|s| s.tokens_by_scope.clear());
    let arm = Tool::try_parse_from(["t", "--db", &url, "--azure-auth=client-secret"]).unwrap();
    let t = arm.pg.target_in(&env).unwrap();
    assert!(t.password().unwrap().starts_with("fake-token-"));
    assert_eq!(current_user(&t).unwrap_err().exit(), sw_core::Exit::NoPerm);
}

#[test]
fn azure_auth_refuses_targets_that_would_send_the_token_in_clear_text() {
    let fake = FakeArm::start();
    let home = tempfile::tempdir().unwrap();
    let env = env_of(&fake, home.path());
    let tool = Tool::try_parse_from(["t", "--db", "host=db.example user=app sslmode=prefer", "--azure-auth"]).unwrap();
    let e = tool.pg.target_in(&env).unwrap_err();
    assert_eq!(e.exit(), sw_core::Exit::Config);
    assert!(e.to_string().contains("sslmode=verify-full"), "{e}");
    assert!(
        fake.requests().is_empty(),
        "a token was fetched for a clear-text target"
    );
    // A refused credential is 77 with the endpoint's code, never the secret.
    let mut vars = fake.env();
    vars.retain(|(k, _)| k != "AZURE_CLIENT_SECRET");
    vars.push(("AZURE_CLIENT_SECRET".into(), "wrong-secret-value".into()));
    let bad = Env::fixed(vars);
    let tool = Tool::try_parse_from(["t", "--db", "host=db.example user=app sslmode=require", "--azure-auth"]).unwrap();
    let e = tool.pg.target_in(&bad).unwrap_err();
    assert_eq!(e.exit(), sw_core::Exit::NoPerm, "{e}");
    assert!(e.to_string().contains("invalid_client") && !e.to_string().contains("wrong-secret-value"));
}
