//! sw-core against real PostgreSQL: TLS per sslmode, session set-up.

#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;
use std::time::Duration;

use sw_core::config::Env;
use sw_core::pg::{self, Session};
use sw_core::target::Target;
use sw_testkit::pg::{SUPERUSER, TestCluster, shared};

fn tls_cluster() -> &'static TestCluster {
    static C: OnceLock<TestCluster> = OnceLock::new();
    C.get_or_init(TestCluster::start_tls)
}

/// An environment with an empty HOME, so no ~/.postgresql/root.crt or
/// ~/.pgpass of the developer changes the outcome.
fn clean_env() -> (tempfile::TempDir, Env) {
    let home = tempfile::tempdir().unwrap();
    let env = Env::fixed([("HOME", home.path().to_str().unwrap())]);
    (home, env)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn tls_target(host: &str, extra: &str) -> (tempfile::TempDir, Target) {
    let c = tls_cluster();
    let (home, env) = clean_env();
    let url = format!(
        "postgresql://{SUPERUSER}:{}@{host}:{}/postgres?{extra}",
        c.password, c.port
    );
    (home, Target::resolve(Some(&url), None, &env).unwrap())
}

async fn ssl_in_use(t: &Target) -> sw_core::Result<(bool, String)> {
    let c = pg::connect(t, &Session::new("sw-test")).await?;
    let row = c
        .client
        .query_one(
            "SELECT ssl, coalesce(version, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    Ok((row.get(0), row.get(1)))
}

#[test]
fn verify_full_with_the_right_ca_connects() {
    let ca = tls_cluster().certs.as_ref().unwrap().ca_cert.display().to_string();
    let (_h, t) = tls_target("localhost", &format!("sslmode=verify-full&sslrootcert={ca}"));
    let (ssl, version) = rt().block_on(ssl_in_use(&t)).unwrap();
    assert!(ssl);
    assert!(version.starts_with("TLSv1."), "{version}");
}

#[test]
fn verify_full_refuses_the_wrong_host_name() {
    let ca = tls_cluster().certs.as_ref().unwrap().ca_cert.display().to_string();
    // The certificate names localhost only; 127.0.0.1 is the same server under another name.
    let (_h, t) = tls_target("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"));
    let e = rt().block_on(ssl_in_use(&t)).unwrap_err();
    assert_eq!(e.exit(), sw_core::Exit::Unavailable, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("certificate") || msg.contains("IP address mismatch") || msg.contains("hostname"),
        "{msg}"
    );
    assert!(!msg.contains(&tls_cluster().password), "{msg}");
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let ca = tls_cluster().certs.as_ref().unwrap().ca_cert.display().to_string();
    let (_h, t) = tls_target("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}"));
    assert!(rt().block_on(ssl_in_use(&t)).unwrap().0);
}

#[test]
fn verify_full_refuses_an_unknown_ca() {
    let other = tempfile::tempdir().unwrap();
    let certs = sw_testkit::tls::make(other.path(), &["localhost"]);
    let (_h, t) = tls_target(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", certs.ca_cert.display()),
    );
    let e = rt().block_on(ssl_in_use(&t)).unwrap_err();
    assert_eq!(e.exit(), sw_core::Exit::Unavailable);
    assert!(e.to_string().contains("certificate"), "{e}");
}

#[test]
fn require_without_a_ca_connects_encrypted() {
    let (_h, t) = tls_target("127.0.0.1", "sslmode=require");
    assert_eq!(t.sslrootcert, sw_core::target::RootCert::None);
    assert!(rt().block_on(ssl_in_use(&t)).unwrap().0);
}

#[test]
fn disable_against_a_hostssl_only_server_is_refused() {
    let (_h, t) = tls_target("127.0.0.1", "sslmode=disable");
    let e = rt().block_on(ssl_in_use(&t)).unwrap_err();
    assert!(e.to_string().contains("no pg_hba.conf entry"), "{e}");
    assert!(e.to_string().contains("no encryption"), "{e}");
}

#[test]
fn prefer_uses_tls_when_offered_and_plain_when_not() {
    let (_h, t) = tls_target("127.0.0.1", "sslmode=prefer");
    assert!(rt().block_on(ssl_in_use(&t)).unwrap().0);
    let c = shared();
    let (_h, env) = clean_env();
    let url = format!(
        "postgresql://{SUPERUSER}:{}@127.0.0.1:{}/postgres?sslmode=prefer",
        c.password, c.port
    );
    let t = Target::resolve(Some(&url), None, &env).unwrap();
    assert!(!rt().block_on(ssl_in_use(&t)).unwrap().0);
}

async fn show(t: &Target, s: &Session) -> Vec<String> {
    let c = pg::connect(t, s).await.unwrap();
    let mut v = Vec::new();
    for name in ["TimeZone", "statement_timeout", "lock_timeout", "application_name"] {
        let row = c.client.query_one(&format!("SHOW {name}"), &[]).await.unwrap();
        v.push(row.get::<_, String>(0));
    }
    v
}

#[test]
fn sessions_get_utc_timeouts_and_the_program_name() {
    let c = shared();
    let (_h, env) = clean_env();
    let t = Target::resolve(Some(&c.url("postgres")), None, &env).unwrap();
    let got = rt().block_on(show(&t, &Session::new("sw-example")));
    assert_eq!(got, ["UTC", "1min", "10s", "sw-example"]);

    let mut s = Session::new("sw-example");
    s.statement_timeout = Duration::from_millis(1500);
    s.lock_timeout = Duration::from_millis(250);
    s.timezone = "Europe/Berlin".into();
    s.application_name = "custom".into();
    let got = rt().block_on(show(&t, &s));
    assert_eq!(got, ["Europe/Berlin", "1500ms", "250ms", "custom"]);
}

#[test]
fn a_wrong_password_is_refused_with_77_and_never_echoed() {
    let c = shared();
    let (_h, env) = clean_env();
    let url = format!(
        "postgresql://{SUPERUSER}:Wr0ngPassw0rdXyz@127.0.0.1:{}/postgres?sslmode=disable",
        c.port
    );
    let t = Target::resolve(Some(&url), None, &env).unwrap();
    let e = rt().block_on(pg::connect(&t, &Session::new("t"))).err().unwrap();
    assert_eq!(e.exit(), sw_core::Exit::NoPerm, "{e}");
    assert!(!e.to_string().contains("Wr0ngPassw0rdXyz"));
    assert!(e.to_string().contains("password authentication failed"), "{e}");
}

#[test]
fn a_missing_database_is_a_config_error() {
    let c = shared();
    let (_h, env) = clean_env();
    let t = Target::resolve(Some(&c.url("no_such_db")), None, &env).unwrap();
    let e = rt().block_on(pg::connect(&t, &Session::new("t"))).err().unwrap();
    assert_eq!(e.exit(), sw_core::Exit::Config, "{e}");
}

#[test]
fn unix_socket_targets_work() {
    let c = shared();
    let (_h, env) = clean_env();
    let t = Target::resolve(Some(&c.socket_conninfo("postgres")), None, &env).unwrap();
    assert!(t.is_local_socket());
    assert!(!rt().block_on(ssl_in_use(&t)).unwrap().0);
}

#[test]
fn fresh_databases_are_isolated() {
    let c = shared();
    let a = c.fresh_db("iso");
    let b = c.fresh_db("iso");
    assert_ne!(a, b);
    c.psql(&a, "CREATE TABLE only_here (x int)");
    assert!(c.try_psql(&b, "SELECT * FROM only_here").is_err());
}
