//! The Blob client against a real Azurite over HTTPS (the test kit's CA),
//! directly and through the fault-injecting proxy.

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failures, like the tests")]

use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use openssl::hash::{MessageDigest, hash};
use sw_core::Exit;
use sw_core::blob::{Auth, Client, Location, Mode, Options, PutOutcome, SasGrant, service_sas};
use sw_testkit::azurite::{self, ACCOUNT, Azurite, KEY};
use sw_testkit::faultproxy::{Fault, FaultProxy, Match};

/// A container name no other test uses.
fn container(hint: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("t-{hint}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

fn opts(a: &Azurite) -> Options {
    Options {
        ca_file: Some(a.ca_file().to_owned()),
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..Options::default()
    }
}

fn location(container: &str, prefix: &str) -> Location {
    Location::parse(&format!("azure://{ACCOUNT}/{container}/{prefix}")).unwrap()
}

/// A Shared Key client on a new container (created) under `prefix`.
fn client_at(endpoint: &str, hint: &str, o: Options) -> Client {
    let c = Client::new(
        &location(&container(hint), "repo"),
        Some(endpoint),
        Auth::shared_key(ACCOUNT, KEY).unwrap(),
        o,
    )
    .unwrap();
    assert!(c.create_container().unwrap());
    c
}

fn client(hint: &str) -> Client {
    let a = azurite::shared();
    client_at(&a.endpoint(), hint, opts(a))
}

fn md5(data: &[u8]) -> String {
    openssl::base64::encode_block(&hash(MessageDigest::md5(), data).unwrap())
}

/// Deterministic pseudo-random bytes, produced lazily (xorshift).
struct Noise {
    left: usize,
    state: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        for b in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = self.state.to_le_bytes()[0];
        }
        self.left -= n;
        Ok(n)
    }
}

fn noise(len: usize) -> Noise {
    Noise {
        left: len,
        state: 0x9e37_79b9_7f4a_7c15,
    }
}

#[test]
fn put_get_range_head_list_delete() {
    let c = client("basic");
    assert!(!c.create_container().unwrap(), "creating it again is fine");
    let data = b"0123456789abcdef".repeat(100);
    let out = c
        .put(
            "wal/000000010000000000000001",
            &data,
            Mode::Create,
            &[("sha256", "abc")],
        )
        .unwrap();
    assert!(
        matches!(out, PutOutcome::Created { ref etag } if !etag.is_empty()),
        "{out:?}"
    );
    assert_eq!(c.get("wal/000000010000000000000001").unwrap(), data);
    assert_eq!(c.get_range("wal/000000010000000000000001", 10, 6).unwrap(), b"abcdef");
    assert_eq!(c.get_range("wal/000000010000000000000001", 1598, 100).unwrap(), b"ef");
    let p = c.head("wal/000000010000000000000001").unwrap().unwrap();
    assert_eq!(p.size, 1600);
    assert_eq!(p.content_md5.as_deref(), Some(md5(&data).as_str()));
    assert_eq!(p.metadata, vec![("sha256".to_owned(), "abc".to_owned())]);
    c.put("base/1/manifest.json", b"{}", Mode::Create, &[]).unwrap();
    let all = c.list("", None).unwrap();
    let names: Vec<&str> = all.blobs.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["base/1/manifest.json", "wal/000000010000000000000001"]);
    assert_eq!(all.blobs[1].size, 1600);
    let dirs = c.list("", Some("/")).unwrap();
    assert_eq!(dirs.prefixes, ["base/", "wal/"]);
    assert!(dirs.blobs.is_empty());
    assert!(c.delete("wal/000000010000000000000001").unwrap());
    assert!(!c.delete("wal/000000010000000000000001").unwrap());
    assert!(c.head("wal/000000010000000000000001").unwrap().is_none());
    let e = c.get("wal/000000010000000000000001").unwrap_err();
    assert_eq!(e.exit(), Exit::NoInput, "{e}");
    assert!(e.to_string().contains("HTTP 404 BlobNotFound"), "{e}");
}

#[test]
fn write_once_reports_exists_for_the_caller_to_compare() {
    let c = client("once");
    let data = b"segment contents";
    assert!(matches!(
        c.put("wal/1", data, Mode::Create, &[]).unwrap(),
        PutOutcome::Created { .. }
    ));
    assert_eq!(
        c.put("wal/1", b"other contents", Mode::Create, &[]).unwrap(),
        PutOutcome::Exists
    );
    // The caller's compare: the stored MD5 is the first write's.
    let stored = c.head("wal/1").unwrap().unwrap().content_md5.unwrap();
    assert_eq!(stored, md5(data));
    assert_ne!(stored, md5(b"other contents"));
    // Block uploads commit write-once too.
    let o = c.upload("wal/1", &mut noise(3 << 20), Mode::Create, &[]).unwrap();
    assert_eq!(o.outcome, PutOutcome::Exists);
    assert_eq!(c.get("wal/1").unwrap(), data);
    assert!(matches!(
        c.put("wal/1", b"new", Mode::Overwrite, &[]).unwrap(),
        PutOutcome::Created { .. }
    ));
    assert_eq!(c.get("wal/1").unwrap(), b"new");
}

#[test]
fn large_objects_upload_in_parallel_blocks_with_bounded_memory() {
    let a = azurite::shared();
    let o = Options {
        block_size: 1 << 20,
        parallel: 3,
        ..opts(a)
    };
    let c = client_at(&a.endpoint(), "blocks", o);
    let len = (20 << 20) + 12_345;
    let up = c
        .upload("base/1/data.tar", &mut noise(len), Mode::Create, &[("kind", "base")])
        .unwrap();
    assert!(matches!(up.outcome, PutOutcome::Created { .. }), "{up:?}");
    assert_eq!((up.blocks, up.bytes), (21, len as u64));
    assert!(up.peak_buffers <= 4, "at most parallel + 1 blocks in memory: {up:?}");
    let mut expect = Vec::new();
    noise(len).read_to_end(&mut expect).unwrap();
    assert_eq!(up.content_md5, md5(&expect));
    let props = c.head("base/1/data.tar").unwrap().unwrap();
    assert_eq!(
        (props.size, props.content_md5.as_deref()),
        (len as u64, Some(up.content_md5.as_str()))
    );
    assert_eq!(props.metadata, vec![("kind".to_owned(), "base".to_owned())]);
    let mut got = Vec::new();
    assert_eq!(c.download("base/1/data.tar", &mut got).unwrap(), len as u64);
    assert!(got == expect, "downloaded content differs");
    // A small object from a reader is one Put Blob.
    let small = c.upload("small", &mut &b"tiny"[..], Mode::Create, &[]).unwrap();
    assert_eq!(small.blocks, 0);
    assert_eq!(c.get("small").unwrap(), b"tiny");
}

#[test]
fn listing_pages_past_5000_blobs() {
    let c = client("list");
    let total = 5_120;
    std::thread::scope(|s| {
        for t in 0..8 {
            let c = &c;
            s.spawn(move || {
                for i in (t..total).step_by(8) {
                    let name = format!("wal/{i:024X}");
                    c.put(&name, name.as_bytes(), Mode::Create, &[]).unwrap();
                }
            });
        }
    });
    c.put("other/x", b"x", Mode::Create, &[]).unwrap();
    let wal = c.list("wal/", None).unwrap();
    assert_eq!(wal.blobs.len(), total);
    let mut names: Vec<String> = wal.blobs.iter().map(|b| b.name.clone()).collect();
    names.dedup();
    assert_eq!(names.len(), total, "no blob listed twice");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "in name order");
    let mut pages = Vec::new();
    c.list_pages("wal/", None, 5000, &mut |p| {
        pages.push(p.blobs.len());
        Ok(())
    })
    .unwrap();
    assert_eq!(pages, [5000, total - 5000]);
    let mut small_pages = 0;
    c.list_pages("", None, 1000, &mut |_| {
        small_pages += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(small_pages, 6);
    assert_eq!(c.list("", Some("/")).unwrap().prefixes, ["other/", "wal/"]);
}

fn sas_client(container: &str, expiry: &str, permissions: &str) -> Client {
    let a = azurite::shared();
    let key = openssl::base64::decode_block(KEY).unwrap();
    let grant = SasGrant {
        container,
        permissions,
        start: "",
        expiry,
    };
    let token = service_sas(ACCOUNT, &key, &grant).unwrap();
    Client::new(
        &location(container, ""),
        Some(&a.endpoint()),
        Auth::sas(&token).unwrap(),
        opts(a),
    )
    .unwrap()
}

#[test]
fn a_service_sas_made_with_the_account_key_works_and_expires() {
    let a = azurite::shared();
    let container = container("sas");
    let owner = Client::new(
        &location(&container, ""),
        Some(&a.endpoint()),
        Auth::shared_key(ACCOUNT, KEY).unwrap(),
        opts(a),
    )
    .unwrap();
    assert!(owner.create_container().unwrap());
    let expiry = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let c = sas_client(&container, &expiry, "racwdl");
    c.put("a", b"via sas", Mode::Create, &[]).unwrap();
    assert_eq!(c.get("a").unwrap(), b"via sas");
    assert_eq!(c.list("", None).unwrap().blobs.len(), 1);
    // Read-only: a write is refused with the permission named.
    let ro = sas_client(&container, &expiry, "rl");
    let e = ro.put("b", b"x", Mode::Create, &[]).unwrap_err();
    assert_eq!(e.exit(), Exit::NoPerm, "{e}");
    let expired = sas_client(&container, "2020-01-01T00:00:00Z", "racwdl");
    let e = expired.get("a").unwrap_err();
    assert_eq!(e.exit(), Exit::NoPerm, "{e}");
    let line = e.to_string();
    assert!(line.contains("HTTP 403") && line.contains("expired"), "{line}");
    assert!(!line.contains('\n') && !line.contains("sig="), "{line}");
}

#[test]
fn a_wrong_key_is_one_clear_line_with_exit_77_and_no_secret() {
    let a = azurite::shared();
    let wrong = openssl::base64::encode_block(&[7u8; 64]);
    let c = Client::new(
        &location(&container("wrongkey"), ""),
        Some(&a.endpoint()),
        Auth::shared_key(ACCOUNT, &wrong).unwrap(),
        opts(a),
    )
    .unwrap();
    let e = c.create_container().unwrap_err();
    let line = e.to_string();
    assert_eq!(e.exit(), Exit::NoPerm, "{line}");
    // Azure says AuthenticationFailed, Azurite AuthorizationFailure.
    assert!(line.contains("HTTP 403 Auth"), "{line}");
    assert!(line.contains("the account key is wrong"), "{line}");
    assert!(!line.contains('\n'));
    for s in [line.clone(), format!("{e:?}"), format!("{c:?}")] {
        assert!(!s.contains(&wrong) && !s.contains(KEY), "{s}");
    }
    // Registered secrets are masked even if a message were to carry one.
    assert_eq!(sw_core::secret::redact(&format!("key {wrong}")), "key ********");
}

#[test]
fn sas_tokens_never_appear_in_errors_or_debug() {
    let a = azurite::shared();
    let key = openssl::base64::decode_block(KEY).unwrap();
    let grant = SasGrant {
        container: "nosuchcontainer",
        permissions: "r",
        start: "",
        expiry: "2020-01-01T00:00:00Z",
    };
    let token = service_sas(ACCOUNT, &key, &grant).unwrap();
    let sig = token.split("sig=").nth(1).unwrap().to_owned();
    let c = Client::new(
        &location("nosuchcontainer", ""),
        Some(&a.endpoint()),
        Auth::sas(&token).unwrap(),
        opts(a),
    )
    .unwrap();
    let e = c.get("x").unwrap_err();
    for s in [e.to_string(), format!("{e:?}"), format!("{c:?}")] {
        assert!(!s.contains(&sig) && !s.contains(&token), "{s}");
    }
}

#[test]
fn an_untrusted_certificate_or_a_closed_port_is_69() {
    let a = azurite::shared();
    let o = Options {
        ca_file: None,
        attempts: 2,
        ..opts(a)
    };
    let c = Client::new(
        &location("c01", ""),
        Some(&a.endpoint()),
        Auth::shared_key(ACCOUNT, KEY).unwrap(),
        o,
    )
    .unwrap();
    let e = c.head("x").unwrap_err();
    assert_eq!(e.exit(), Exit::Unavailable, "{e}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = Options { attempts: 2, ..opts(a) };
    let c = Client::new(
        &location("c01", ""),
        Some(&format!("https://127.0.0.1:{port}/{ACCOUNT}")),
        Auth::shared_key(ACCOUNT, KEY).unwrap(),
        o,
    )
    .unwrap();
    let e = c.head("x").unwrap_err();
    assert_eq!(e.exit(), Exit::Unavailable, "{e}");
    assert!(e.to_string().contains("giving up after 2 attempts"), "{e}");
}

#[test]
fn a_bearer_token_from_a_callback_authenticates() {
    let a = &Azurite::start_with(azurite::Opts {
        oauth: true,
        ..azurite::Opts::default()
    });
    let name = container("bearer");
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&calls);
    let auth = Auth::bearer(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(azurite::fake_token())
    });
    let c = Client::new(&location(&name, "p"), Some(&a.endpoint()), auth, opts(a)).unwrap();
    assert!(c.create_container().unwrap());
    c.put("x", b"token", Mode::Create, &[]).unwrap();
    assert_eq!(c.get("x").unwrap(), b"token");
    assert!(calls.load(Ordering::SeqCst) >= 3, "a token per request");
}

#[test]
fn resets_and_server_errors_are_retried_to_success() {
    let a = azurite::shared();
    let proxy = FaultProxy::for_azurite(a);
    let o = Options {
        block_size: 1 << 20,
        parallel: 2,
        ..opts(a)
    };
    let c = client_at(&proxy.endpoint(), "retry", o);
    proxy.inject(
        Match::method("PUT").target("comp=block&"),
        Fault::Reset { after_body_bytes: 4096 },
        2,
    );
    proxy.inject(Match::method("PUT"), Fault::server_busy(), 2);
    proxy.inject(Match::method("GET"), Fault::operation_timed_out(), 1);
    proxy.inject(Match::method("GET"), Fault::Reset { after_body_bytes: 0 }, 1);
    let len = (3 << 20) + 7;
    let up = c.upload("base/big", &mut noise(len), Mode::Create, &[]).unwrap();
    assert!(matches!(up.outcome, PutOutcome::Created { .. }));
    c.put("wal/1", b"small", Mode::Create, &[]).unwrap();
    let mut expect = Vec::new();
    noise(len).read_to_end(&mut expect).unwrap();
    assert!(c.get("base/big").unwrap() == expect);
    assert_eq!(proxy.pending(), 0, "every fault was hit");
    let faulted = proxy.seen().iter().filter(|s| s.fault.is_some()).count();
    assert_eq!(faulted, 6);
}

#[test]
fn a_hung_response_hits_the_deadline_with_exit_75() {
    let a = azurite::shared();
    let proxy = FaultProxy::for_azurite(a);
    let o = Options {
        io_timeout: Duration::from_millis(700),
        attempts: 100,
        ..opts(a)
    };
    let c = client_at(&proxy.endpoint(), "hang", o);
    c.put("wal/1", b"x", Mode::Create, &[]).unwrap();
    proxy.inject(Match::method("GET"), Fault::Hang, 1000);
    let start = Instant::now();
    let e = c
        .with_deadline(Some(start + Duration::from_secs(3)))
        .get("wal/1")
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.exit(), Exit::TempFail, "{e}");
    assert!(took < Duration::from_secs(6), "stopped at the deadline: {took:?}");
    assert!(e.to_string().contains("deadline"), "{e}");
    // One hung request alone is retried past.
    proxy.clear();
    proxy.inject(Match::method("GET"), Fault::Hang, 1);
    assert_eq!(c.get("wal/1").unwrap(), b"x");
}

#[test]
fn a_lost_response_then_409_is_exists_and_an_injected_409_too() {
    let a = azurite::shared();
    let proxy = FaultProxy::for_azurite(a);
    let c = client_at(&proxy.endpoint(), "dup", opts(a));
    proxy.inject(Match::method("PUT").target("wal/1"), Fault::DropResponse, 1);
    // The first attempt was stored; its retry meets Azurite's 409.
    assert_eq!(c.put("wal/1", b"seg", Mode::Create, &[]).unwrap(), PutOutcome::Exists);
    assert_eq!(c.head("wal/1").unwrap().unwrap().content_md5.unwrap(), md5(b"seg"));
    proxy.inject(Match::method("PUT").target("wal/2"), Fault::already_exists(), 1);
    assert_eq!(c.put("wal/2", b"seg", Mode::Create, &[]).unwrap(), PutOutcome::Exists);
    assert!(c.head("wal/2").unwrap().is_none(), "the 409 came from the proxy");
}

#[test]
fn a_download_broken_mid_body_resumes_where_it_stopped() {
    let a = azurite::shared();
    let proxy = FaultProxy::for_azurite(a);
    let c = client_at(&proxy.endpoint(), "resume", opts(a));
    let len = (2 << 20) + 3;
    c.upload("base/big", &mut noise(len), Mode::Create, &[]).unwrap();
    proxy.inject(Match::method("GET"), Fault::CutResponse { after_bytes: 300_000 }, 2);
    let mut got = Vec::new();
    assert_eq!(c.download("base/big", &mut got).unwrap(), len as u64);
    let mut expect = Vec::new();
    noise(len).read_to_end(&mut expect).unwrap();
    assert!(got == expect, "resumed content differs");
    let gets = proxy.seen().iter().filter(|s| s.method == "GET").count();
    assert_eq!(gets, 3, "two cuts, two resumes from the last byte");
}

#[test]
fn an_offsite_outage_is_69_and_the_data_is_back_after_a_restart() {
    let a = Azurite::start();
    let o = Options {
        attempts: 2,
        ..opts(&a)
    };
    let c = client_at(&a.endpoint(), "outage", o);
    c.put("wal/1", b"kept", Mode::Create, &[]).unwrap();
    a.stop();
    let e = c.get("wal/1").unwrap_err();
    assert_eq!(e.exit(), Exit::Unavailable, "{e}");
    a.restart();
    assert_eq!(c.get("wal/1").unwrap(), b"kept");
}
