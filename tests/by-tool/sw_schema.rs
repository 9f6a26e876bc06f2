//! sw-schema end to end: the real binary and the application's real
//! migrations against real clusters. The locking tests (concurrent
//! deployers, lock timeouts, readers) are in `sw_schema/locking.rs`, the lint,
//! dry runs and `new` in `sw_schema/lint.rs`, the
//! legacy SQLite move and the quickstart's pieces in `sw_schema/legacy.rs`.

#![allow(clippy::unwrap_used)]

#[path = "sw_schema/legacy.rs"]
mod legacy;
#[path = "sw_schema/lint.rs"]
mod lint;
#[path = "sw_schema/locking.rs"]
mod locking;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::{TestCluster, shared};

const BIN: &str = env!("CARGO_BIN_EXE_sw-schema");

/// The application's migrations (the repository's `migrations/`).
fn app_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// Run sw-schema with `args` against `db` (the connection flags appended
/// after the subcommand's own).
fn schema(c: &TestCluster, db: &str, dir: &Path, args: &[&str]) -> Run {
    let url = c.url(db);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--db", &url]);
    if !matches!(args.first(), Some(&("seed" | "history"))) {
        all.extend(["--dir", dir.to_str().unwrap()]);
    }
    cmd::run(BIN.as_ref(), &all, None)
}

/// Start sw-schema in the background.
fn spawn(c: &TestCluster, db: &str, dir: &Path, args: &[&str]) -> Child {
    let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    all.extend(["--db".into(), c.url(db), "--dir".into(), dir.display().to_string()]);
    cmd::command(BIN.as_ref())
        .args(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for a background run; its records are validated like any other.
fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run::of(BIN.as_ref(), &out)
}

fn of_kind(r: &Run, kind: &str) -> Vec<Value> {
    r.records().into_iter().filter(|v| v["kind"] == kind).collect()
}

/// A migrations directory made of `(file name, content)` pairs.
fn migrations_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(d.path().join(name), body).unwrap();
    }
    d
}

/// Poll `sql` on `db` until it prints `t` (panics after 30 s).
fn wait_for(c: &TestCluster, db: &str, sql: &str) {
    let start = Instant::now();
    while c.psql(db, sql) != "t" {
        assert!(start.elapsed() < Duration::from_secs(30), "waited in vain for: {sql}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A psql session kept open (for transactions that hold locks or
/// snapshots); its application_name is `name`.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Session {
    fn open(c: &TestCluster, db: &str, name: &str) -> Session {
        let mut child = c
            .runner()
            .command("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&c.socket_dir)
            .args(["-p", &c.port.to_string(), "-U", "postgres", "-d", db])
            .env("PGAPPNAME", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        Session { child, stdin }
    }

    fn send(&mut self, sql: &str) {
        let s = self.stdin.as_mut().unwrap();
        s.write_all(sql.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        s.flush().unwrap();
    }

    fn close(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The application schema as the catalogs describe it (tables, columns,
/// types, defaults, constraints, indexes, triggers, functions, types),
/// without sw-schema's own tables.
fn catalog(c: &TestCluster, db: &str) -> String {
    let own = "NOT LIKE 'sw\\_schema\\_%'";
    let queries = [
        format!("SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname {own}"),
        format!("SELECT string_agg(c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' ' || a.attidentity::text || a.attgenerated::text, E'\\n' ORDER BY c.relname, a.attnum) \
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname {own} AND a.attnum > 0 AND NOT a.attisdropped"),
        format!("SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated, E'\\n' ORDER BY conrelid::regclass::text, conname) \
                 FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text {own}"),
        format!("SELECT string_agg(pg_get_indexdef(indexrelid) || ' ' || indisvalid, E'\\n' ORDER BY indexrelid::regclass::text) FROM pg_index \
                 WHERE indrelid::regclass::text {own} AND indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"),
        "SELECT string_agg(pg_get_triggerdef(oid), E'\\n' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal".to_owned(),
        "SELECT string_agg(proname || '(' || pg_get_function_identity_arguments(oid) || ')', ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace".to_owned(),
        format!("SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typrelid = 0 AND typelem = 0 AND typname {own}"),
    ];
    queries.iter().map(|q| c.psql(db, q)).collect::<Vec<_>>().join("\n--\n")
}

#[test]
fn up_down_up_gives_the_same_schema_and_down_to_0_leaves_nothing() {
    let c = shared();
    let db = c.fresh_db("schema_roundtrip");
    let dir = app_migrations();
    let empty = catalog(c, &db);
    let mut snapshots = vec![empty.clone()];
    for v in 1..=7 {
        let r = schema(c, &db, &dir, &["up", "--to", &v.to_string()]);
        r.expect_code(0);
        assert_eq!(r.one("summary")["applied"], 1, "{r:?}");
        snapshots.push(catalog(c, &db));
    }
    assert_ne!(snapshots[7], snapshots[6]);
    // Each down file undoes exactly its up file.
    for v in (1..=7).rev() {
        let r = schema(c, &db, &dir, &["down"]);
        r.expect_code(0);
        let m = r.one("schema.migration");
        assert_eq!(
            (m["version"].as_i64(), m["status"].as_str()),
            (Some(v), Some("reverted"))
        );
        assert_eq!(
            catalog(c, &db),
            snapshots[usize::try_from(v - 1).unwrap()],
            "after reverting {v}"
        );
    }
    // Up to head, down one, up again: the same schema.
    schema(c, &db, &dir, &["up"]).expect_code(0);
    assert_eq!(catalog(c, &db), snapshots[7]);
    schema(c, &db, &dir, &["down", "--steps", "1"]).expect_code(0);
    assert_eq!(catalog(c, &db), snapshots[6]);
    let r = schema(c, &db, &dir, &["up"]);
    r.expect_code(0);
    assert_eq!(catalog(c, &db), snapshots[7]);
    let st = schema(c, &db, &dir, &["status"]);
    st.expect_code(0);
    let s = st.one("schema.status");
    assert_eq!(
        (s["current_version"].as_i64(), s["clean"].as_bool()),
        (Some(7), Some(true))
    );
    // down --to 0: no application object is left (only sw-schema's tables).
    let r = schema(c, &db, &dir, &["down", "--to", "0"]);
    r.expect_code(0);
    assert_eq!(r.one("summary")["reverted"], 7);
    assert_eq!(catalog(c, &db), empty);
    assert_eq!(
        c.psql(&db, "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'm', 'S', 'p')"),
        "sw_schema_log,sw_schema_log_id_seq,sw_schema_migrations"
    );
    let h = of_kind(&schema(c, &db, &dir, &["history"]), "schema.history");
    assert_eq!(h.iter().filter(|e| e["action"] == "up").count(), 15, "{h:?}");
    assert_eq!(h.iter().filter(|e| e["action"] == "down").count(), 15);
    assert!(h.iter().all(|e| e["actor"].as_str().is_some_and(|a| a.contains('@'))));
}

#[test]
fn a_changed_applied_migration_is_reported_and_refused_a_crlf_change_is_not() {
    let c = shared();
    let db = c.fresh_db("schema_changed");
    let d = migrations_dir(&[
        ("0001_a.up.sql", "CREATE TABLE a (id int PRIMARY KEY);\n"),
        ("0001_a.down.sql", "DROP TABLE a;\n"),
        ("0002_b.up.sql", "-- b\nCREATE TABLE b (id int PRIMARY KEY);\n"),
        ("0002_b.down.sql", "DROP TABLE b;\n"),
    ]);
    schema(c, &db, d.path(), &["up"]).expect_code(0);
    // CRLF only: the same checksum, nothing to report or refuse.
    std::fs::write(
        d.path().join("0002_b.up.sql"),
        "-- b\r\nCREATE TABLE b (id int PRIMARY KEY);\r\n",
    )
    .unwrap();
    let st = schema(c, &db, d.path(), &["status"]);
    st.expect_code(0);
    assert_eq!(st.one("schema.status")["clean"], true);
    let r = schema(c, &db, d.path(), &["up"]);
    r.expect_code(0);
    assert_eq!(r.one("summary")["applied"], 0);
    // A real edit: status names the file, up refuses with 65 and applies nothing after it.
    std::fs::write(
        d.path().join("0002_b.up.sql"),
        "-- b, edited\nCREATE TABLE b (id int PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(d.path().join("0003_c.up.sql"), "CREATE TABLE c (id int);\n").unwrap();
    let st = schema(c, &db, d.path(), &["status"]);
    st.expect_error(65, "the database does not match");
    let s = st.one("schema.status");
    assert_eq!(s["changed"].as_array().unwrap().len(), 1, "{s}");
    assert!(s["changed"][0]["file"].as_str().unwrap().ends_with("0002_b.up.sql"));
    assert_eq!(s["migrations"][1]["state"], "changed");
    assert_eq!(s["pending"], serde_json::json!([3]));
    schema(c, &db, d.path(), &["up"]).expect_error(65, "applied migration 0002 changed since it was applied");
    assert_eq!(c.psql(&db, "SELECT to_regclass('c') IS NULL"), "t");
    // A changed down file counts too, and blocks down.
    std::fs::write(d.path().join("0001_a.down.sql"), "DROP TABLE a CASCADE;\n").unwrap();
    schema(c, &db, d.path(), &["down", "--to", "0"]).expect_error(65, "applied migration 0001 changed");
    // repair re-stamps, recorded with who and why.
    schema(c, &db, d.path(), &["repair", "--version", "2", "--reason", " "]).expect_error(64, "--reason");
    for v in ["1", "2"] {
        let r = schema(
            c,
            &db,
            d.path(),
            &["repair", "--version", v, "--reason", "comment fixed after review"],
        );
        r.expect_code(0);
        let rec = r.one("schema.repair");
        let (old, new) = if v == "2" {
            ("old_up_checksum", "new_up_checksum")
        } else {
            ("old_down_checksum", "new_down_checksum")
        };
        assert_ne!(rec[old], rec[new], "{rec}");
    }
    let r = schema(c, &db, d.path(), &["up"]);
    r.expect_code(0);
    assert_eq!(r.one("summary")["applied"], 1);
    let h = of_kind(&schema(c, &db, d.path(), &["history"]), "schema.history");
    let repairs: Vec<&Value> = h.iter().filter(|e| e["action"] == "repair").collect();
    assert_eq!(repairs.len(), 2);
    assert_eq!(repairs[0]["reason"], "comment fixed after review");
    assert!(repairs[0]["actor"].as_str().unwrap().contains('@'));
    assert_eq!(repairs[0]["db_user"], "postgres");
    schema(c, &db, d.path(), &["repair", "--version", "9", "--reason", "x"])
        .expect_error(65, "migration 9 is not applied");
}

#[test]
fn a_failing_no_transaction_step_is_recorded_and_status_names_the_invalid_index() {
    let c = shared();
    let db = c.fresh_db("schema_invalid");
    let d = migrations_dir(&[
        (
            "0001_t.up.sql",
            "CREATE TABLE t (id int, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
        ),
        ("0001_t.down.sql", "DROP TABLE t;\n"),
        (
            "0002_idx.up.sql",
            "-- sw:no-transaction\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n\nCREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v);\n",
        ),
        (
            "0002_idx.down.sql",
            "-- sw:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS t_v_key;\nDROP INDEX CONCURRENTLY IF EXISTS t_id_idx;\n",
        ),
    ]);
    let r = schema(c, &db, d.path(), &["up"]);
    r.expect_error(65, "migration 0002 idx failed at line 4");
    let m: Vec<Value> = of_kind(&r, "schema.migration");
    let failed = &m[1];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["statements"][0]["status"], "done");
    assert_eq!(failed["statements"][1]["status"], "failed");
    assert_eq!(failed["invalid_indexes"], serde_json::json!(["public.t_v_key"]));
    assert!(
        failed["repair"]
            .as_str()
            .unwrap()
            .contains("DROP INDEX CONCURRENTLY IF EXISTS public.t_v_key;"),
        "{failed}"
    );
    // status: failed, with the statement, the index and the exact repair.
    let st = schema(c, &db, d.path(), &["status"]);
    st.expect_error(65, "the database does not match");
    let f = &st.one("schema.status")["failed"][0];
    assert_eq!(f["version"], 2);
    assert_eq!(f["statements_done"], 1);
    assert_eq!(f["line"], 4);
    assert!(
        f["statement"]
            .as_str()
            .unwrap()
            .starts_with("CREATE UNIQUE INDEX CONCURRENTLY t_v_key")
    );
    assert!(f["error"].as_str().unwrap().contains("23505"), "{f}");
    assert_eq!(f["invalid_indexes"], serde_json::json!(["public.t_v_key"]));
    let repair = f["repair"].as_str().unwrap();
    assert!(
        repair.starts_with("run DROP INDEX CONCURRENTLY IF EXISTS public.t_v_key; then sw-schema up (it resumes 0002 idx at statement 2, line 4"),
        "{repair}"
    );
    // up refuses while the INVALID index is there (IF NOT EXISTS would skip it).
    schema(c, &db, d.path(), &["up"]).expect_error(
        65,
        "migration 0002 stopped part-way and left INVALID index public.t_v_key",
    );
    // The repair, as printed, then up resumes at the failed statement.
    c.psql(&db, "DROP INDEX CONCURRENTLY IF EXISTS public.t_v_key");
    c.psql(&db, "DELETE FROM t WHERE id = 2");
    let r = schema(c, &db, d.path(), &["up"]);
    r.expect_code(0);
    let m = r.one("schema.migration");
    assert_eq!(m["statements"][0]["status"], "done_before");
    assert_eq!(m["statements"][1]["status"], "done");
    schema(c, &db, d.path(), &["status"]).expect_code(0);
    assert_eq!(c.psql(&db, "SELECT string_agg(indexrelid::regclass::text || indisvalid, ',' ORDER BY 1) FROM pg_index WHERE indrelid = 't'::regclass"), "t_id_idxtrue,t_v_keytrue");
    let h = of_kind(&schema(c, &db, d.path(), &["history"]), "schema.history");
    assert!(
        h.iter().any(|e| e["action"] == "failed"
            && e["version"] == 2
            && e["statement"].as_str().unwrap().contains("line 4")),
        "{h:?}"
    );
}

#[test]
fn seed_twice_makes_one_administrator_whose_password_is_only_in_the_0600_file() {
    let c = shared();
    let db = c.fresh_db("schema_seed");
    let dir = app_migrations();
    let files = tempfile::tempdir().unwrap();
    let pw_file = files.path().join("admin-password");
    let pw = pw_file.to_str().unwrap();
    schema(
        c,
        &db,
        &dir,
        &["seed", "--admin-email", "admin@example.com", "--password-file", pw],
    )
    .expect_error(
        65,
        "the application's tables (users, vpn_servers) are not in this schema: run sw-schema up first",
    );
    assert!(!pw_file.exists());
    schema(c, &db, &dir, &["up"]).expect_code(0);
    // Everything the server executes is logged: the password must not be there either.
    c.psql("postgres", &format!("ALTER DATABASE {db} SET log_statement = 'all'"));
    let args = [
        "seed",
        "--admin-email",
        "Admin@Example.com",
        "--password-file",
        pw,
        "--demo",
        "-vvv",
    ];
    let r = schema(c, &db, &dir, &args);
    r.expect_code(0);
    let rec = r.one("schema.seed");
    assert_eq!(rec["admin_created"], true);
    assert_eq!(rec["hash"], "argon2id m=19456 t=2 p=1");
    assert_eq!(
        rec["servers_created"],
        serde_json::json!(["US East", "EU West", "Asia Southeast"])
    );
    let meta = std::fs::metadata(&pw_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let password = std::fs::read_to_string(&pw_file).unwrap().trim_end().to_owned();
    assert_eq!(password.len(), 32);
    assert!(
        !r.stdout.contains(&password) && !r.stderr.contains(&password),
        "the password leaked: {r:?}"
    );
    let log = std::fs::read_to_string(&c.log).unwrap_or_default();
    assert!(!log.contains(&password), "the password is in the server log");
    let phc = c.psql(&db, "SELECT password_hash FROM users WHERE is_admin");
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    argon2_cffi_verifies(&phc, &pw_file);
    // Twice: nothing new, the password kept.
    let before = std::fs::read(&pw_file).unwrap();
    let mtime = meta.modified().unwrap();
    let r = schema(
        c,
        &db,
        &dir,
        &[
            "seed",
            "--admin-email",
            "admin@EXAMPLE.com",
            "--password-file",
            pw,
            "--demo",
        ],
    );
    r.expect_code(0);
    let rec = r.one("schema.seed");
    assert_eq!(
        (rec["admin_created"].as_bool(), &rec["password_file"]),
        (Some(false), &Value::Null)
    );
    assert_eq!(rec["servers_existing"].as_array().unwrap().len(), 3);
    assert_eq!(std::fs::read(&pw_file).unwrap(), before);
    assert_eq!(std::fs::metadata(&pw_file).unwrap().modified().unwrap(), mtime);
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) || ' ' || count(*) FILTER (WHERE is_admin) FROM users"
        ),
        "1 1"
    );
    assert_eq!(c.psql(&db, "SELECT count(*) FROM vpn_servers"), "3");
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM audit_log WHERE action = 'user.create'"),
        "1"
    );
}

/// Debian's python3-argon2 (argon2-cffi) verifies the hash against the
/// file's password, read by Python from the file (never passed in argv).
fn argon2_cffi_verifies(phc: &str, pw_file: &Path) {
    let script = "import argon2, sys\nh = sys.stdin.read().strip()\np = open(sys.argv[1]).read().rstrip('\\n')\nargon2.PasswordHasher().verify(h, p)\ntry:\n    argon2.PasswordHasher().verify(h, p + 'x')\n    print('wrong password accepted')\nexcept argon2.exceptions.VerifyMismatchError:\n    print('verified')\n";
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import argon2"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| panic!("this test needs argon2-cffi: install Debian's python3-argon2 (scripts/test does)"));
    let mut child = Command::new(python)
        .args(["-c", script, pw_file.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(phc.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified", "{out:?}");
}
