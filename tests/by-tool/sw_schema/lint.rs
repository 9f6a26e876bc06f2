//! The lint (one migration per dangerous kind), `up` refusing what the
//! lint finds, dry runs, and `new`.

use super::*;

/// The table every lint case works on (created in its own, earlier file).
const BASE: &str = "CREATE TABLE t (id int PRIMARY KEY, a int, b text, c varchar(10), d varchar(10));\nCREATE TABLE u (id int PRIMARY KEY);\nCREATE INDEX t_a_idx ON t (a);\n";

/// One migration per dangerous kind: (file stem, SQL, the rule it breaks).
const CASES: &[(&str, &str, &str)] = &[
    (
        "0002_index",
        "CREATE INDEX t_b_idx ON t (b);",
        "require-concurrent-index-creation",
    ),
    (
        "0003_fk",
        "ALTER TABLE t ADD CONSTRAINT t_a_fkey FOREIGN KEY (a) REFERENCES u (id);",
        "adding-foreign-key-constraint",
    ),
    (
        "0004_check",
        "ALTER TABLE t ADD CONSTRAINT t_a_positive CHECK (a > 0);",
        "constraint-missing-not-valid",
    ),
    (
        "0005_default",
        "ALTER TABLE t ADD COLUMN r double precision DEFAULT random();",
        "adding-field-with-default",
    ),
    (
        "0006_not_null",
        "ALTER TABLE t ALTER COLUMN b SET NOT NULL;",
        "adding-not-nullable-field",
    ),
    (
        "0007_type",
        "ALTER TABLE t ALTER COLUMN a TYPE bigint;",
        "changing-column-type",
    ),
    (
        "0008_rename_column",
        "ALTER TABLE t RENAME COLUMN b TO bb;",
        "renaming-column",
    ),
    ("0009_rename_table", "ALTER TABLE u RENAME TO uu;", "renaming-table"),
    ("0010_drop_column", "ALTER TABLE t DROP COLUMN c;", "ban-drop-column"),
    ("0011_drop_table", "DROP TABLE uu;", "ban-drop-table"),
    (
        "0012_no_lock_timeout",
        "SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN z int;",
        "require-lock-timeout",
    ),
    (
        "0013_cic_in_tx",
        "CREATE INDEX CONCURRENTLY t_d_idx ON t (d);",
        "ban-concurrent-index-creation-in-transaction",
    ),
    (
        "0014_unique",
        "ALTER TABLE t ADD CONSTRAINT t_d_key UNIQUE (d);",
        "disallowed-unique-constraint",
    ),
    (
        "0015_required",
        "ALTER TABLE t ADD COLUMN w int NOT NULL;",
        "adding-required-field",
    ),
];

/// The lint cases, then safe forms (a wider varchar, NOT VALID then
/// VALIDATE in its own transaction, CONCURRENTLY outside one), then an
/// acknowledged finding.
fn lint_dir() -> tempfile::TempDir {
    let mut files: Vec<(String, String)> = vec![("0001_base.up.sql".into(), BASE.into())];
    for (stem, sql, _) in CASES {
        files.push((format!("{stem}.up.sql"), format!("{sql}\n")));
    }
    files.push(("0016_safe.up.sql".into(), "ALTER TABLE t ALTER COLUMN d TYPE varchar(20);\nALTER TABLE t ADD CONSTRAINT t_a_fk2 FOREIGN KEY (a) REFERENCES u (id) NOT VALID;\nALTER TABLE t ADD COLUMN n timestamptz DEFAULT now();\n".into()));
    files.push((
        "0017_validate.up.sql".into(),
        "ALTER TABLE t VALIDATE CONSTRAINT t_a_fk2;\n".into(),
    ));
    files.push((
        "0018_cic.up.sql".into(),
        "-- sw:no-transaction\nCREATE INDEX CONCURRENTLY t_n_idx ON t (n);\n".into(),
    ));
    files.push((
        "0019_acknowledged.up.sql".into(),
        "-- sw:allow ban-drop-column: nothing has read it since 2.3\nALTER TABLE t DROP COLUMN d;\n".into(),
    ));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    migrations_dir(&refs)
}

#[test]
fn lint_flags_each_dangerous_kind() {
    let d = lint_dir();
    let r = cmd::run(BIN.as_ref(), &["lint", "--dir", d.path().to_str().unwrap()], None);
    r.expect_error(65, &format!("{} unacknowledged lint finding(s)", CASES.len()));
    let findings = of_kind(&r, "schema.lint");
    for (k, (stem, _, rule)) in CASES.iter().enumerate() {
        let v = i64::try_from(k + 2).unwrap();
        let rules: Vec<&str> = findings
            .iter()
            .filter(|f| f["version"] == v)
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, [*rule], "{stem}: {findings:#?}");
    }
    let ack: Vec<&Value> = findings.iter().filter(|f| f["version"] == 19).collect();
    assert_eq!(ack.len(), 1);
    assert_eq!(
        (ack[0]["acknowledged"].as_bool(), ack[0]["reason"].as_str()),
        (Some(true), Some("nothing has read it since 2.3"))
    );
    assert!(
        findings
            .iter()
            .all(|f| ![16, 17, 18].contains(&f["version"].as_i64().unwrap())),
        "{findings:#?}"
    );
    assert_eq!(r.one("summary")["findings"], CASES.len() + 1);
    // The application's own migrations lint clean; with lock_timeout off, the locking statements on existing tables are findings.
    let app = app_migrations();
    let r = cmd::run(BIN.as_ref(), &["lint", "--dir", app.to_str().unwrap()], None);
    r.expect_code(0);
    assert_eq!(r.one("summary")["findings"], 0);
    let r = cmd::run(
        BIN.as_ref(),
        &["lint", "--dir", app.to_str().unwrap(), "--lock-timeout", "0"],
        None,
    );
    r.expect_code(65);
    assert!(
        of_kind(&r, "schema.lint")
            .iter()
            .all(|f| f["rule"] == "require-lock-timeout")
    );
}

#[test]
fn up_refuses_an_unacknowledged_finding_unless_allow_lint_and_dry_run_changes_nothing() {
    let c = shared();
    let db = c.fresh_db("schema_allow_lint");
    let d = migrations_dir(&[
        ("0001_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY, a int);\n"),
        ("0002_idx.up.sql", "CREATE INDEX t_a_idx ON t (a);\n"),
    ]);
    schema(c, &db, d.path(), &["up", "--to", "1"]).expect_code(0);
    let r = schema(c, &db, d.path(), &["up"]);
    r.expect_error(
        65,
        "1 unacknowledged lint finding(s) in the migrations to apply, first require-concurrent-index-creation",
    );
    assert_eq!(of_kind(&r, "schema.migration").len(), 0);
    assert_eq!(c.psql(&db, "SELECT to_regclass('t_a_idx') IS NULL"), "t");
    let r = schema(c, &db, d.path(), &["up", "--allow-lint"]);
    r.expect_code(0);
    assert_eq!(r.one("summary")["applied"], 1);
    // A dry run of the application's migrations on an empty database: SQL and locks, nothing created.
    let db2 = c.fresh_db("schema_dry_run");
    let r = schema(c, &db2, &app_migrations(), &["up", "--dry-run"]);
    r.expect_code(0);
    let m = of_kind(&r, "schema.migration");
    assert_eq!(m.len(), 7);
    assert!(m.iter().all(|x| x["dry_run"] == true && x["status"] == "planned"));
    let cic = &m[5]["statements"][0];
    assert!(
        cic["sql"]
            .as_str()
            .unwrap()
            .starts_with("CREATE INDEX CONCURRENTLY sessions_server_id_started_at_idx")
    );
    assert_eq!(
        cic["locks"],
        serde_json::json!([{"relation": "sessions", "mode": "share_update_exclusive", "blocks": "schema_changes"}])
    );
    assert_eq!(
        m[6]["statements"][1]["locks"],
        serde_json::json!([
            {"relation": "audit_log", "mode": "share_row_exclusive", "blocks": "writes"},
            {"relation": "users", "mode": "share_row_exclusive", "blocks": "writes"}
        ])
    );
    assert_eq!(m[6]["statements"][2]["locks"][0]["mode"], "share_update_exclusive");
    assert_eq!(r.one("summary")["to_version"], 7);
    assert_eq!(
        c.psql(
            &db2,
            "SELECT to_regclass('sw_schema_migrations') IS NULL AND to_regclass('users') IS NULL"
        ),
        "t"
    );
}

#[test]
fn new_makes_the_next_pair_and_bad_files_are_refused() {
    let d = migrations_dir(&[("0001_a.up.sql", "SELECT 1;\n"), ("0001_a.down.sql", "SELECT 1;\n")]);
    let dir = d.path().to_str().unwrap();
    let r = cmd::run(BIN.as_ref(), &["new", "Add sessions index", "--dir", dir], None);
    r.expect_code(0);
    let rec = r.one("schema.new");
    assert_eq!(
        (rec["version"].as_i64(), rec["name"].as_str()),
        (Some(2), Some("add_sessions_index"))
    );
    assert!(
        d.path().join("0002_add_sessions_index.up.sql").exists()
            && d.path().join("0002_add_sessions_index.down.sql").exists()
    );
    cmd::run(BIN.as_ref(), &["lint", "--dir", dir], None).expect_code(0);
    // SW_SCHEMA_DIR stands in for --dir (default: ./migrations).
    let r = cmd::run_cmd(
        cmd::command(BIN.as_ref()).args(["lint"]).env("SW_SCHEMA_DIR", dir),
        None,
    );
    r.expect_code(0);
    let empty = tempfile::tempdir().unwrap();
    let r = cmd::run_cmd(
        cmd::command(BIN.as_ref()).args(["lint"]).current_dir(empty.path()),
        None,
    );
    r.expect_error(66, "reading the migrations directory \"migrations\"");
    std::fs::write(d.path().join("3_oops.sql"), "SELECT 1;").unwrap();
    cmd::run(BIN.as_ref(), &["lint", "--dir", dir], None).expect_error(65, "");
    std::fs::remove_file(d.path().join("3_oops.sql")).unwrap();
    std::fs::write(d.path().join("0003_x.up.sql"), "SELECT 'unterminated;\n").unwrap();
    let r = cmd::run(BIN.as_ref(), &["lint", "--dir", dir], None);
    r.expect_error(65, "");
    assert!(
        r.stderr.contains("0003_x.up.sql:1: unterminated quoted string"),
        "{r:?}"
    );
    cmd::run(BIN.as_ref(), &["lint", "--dir", "/nonexistent/migrations"], None)
        .expect_error(66, "reading the migrations directory");
    cmd::run(BIN.as_ref(), &["down", "--steps", "1", "--to", "0"], None).expect_error(64, "");
}
