//! sw-migrate-sqlite end to end: real SQLite files into a real cluster.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::Value;
use sw_testkit::cmd::{self, Run};
use sw_testkit::fixture;
use sw_testkit::pg::{TestCluster, shared};

const BIN: &str = env!("CARGO_BIN_EXE_sw-migrate-sqlite");

fn mig(args: &[&str]) -> Run {
    cmd::run(BIN.as_ref(), args, None)
}

fn run_into(c: &TestCluster, db: &str, src: &Path, extra: &[&str]) -> Run {
    let url = c.url(db);
    let mut a = vec!["run", src.to_str().unwrap(), "--db", &url];
    a.extend_from_slice(extra);
    mig(&a)
}

fn tables(r: &Run) -> Vec<Value> {
    r.records()
        .into_iter()
        .filter(|v| v["kind"] == "migrate.table")
        .collect()
}

fn sqlite_count(src: &Path, table: &str) -> u64 {
    let c = rusqlite::Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get::<_, i64>(0))
        .unwrap()
        .try_into()
        .unwrap()
}

/// A SQLite database `name` in `dir`, made by `sql`.
fn sqlite_db(dir: &Path, name: &str, sql: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    rusqlite::Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    path
}

/// No staging schema is left in `db`.
fn no_staging_left(c: &TestCluster, db: &str) {
    assert_eq!(
        c.psql(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sw_migrate%'"),
        "0"
    );
}

#[test]
fn chinook_migrates_table_by_table() {
    let c = shared();
    let db = c.fresh_db("chinook");
    let src = fixture("sqlite/Chinook_Sqlite.sqlite");
    let r = run_into(c, &db, &src, &["--jobs", "3"]);
    r.expect_code(0);
    let ts = tables(&r);
    assert_eq!(ts.len(), 11, "{r:?}");
    for t in &ts {
        let name = t["table"].as_str().unwrap();
        let n = sqlite_count(&src, name);
        assert_eq!(t["rows_read"], n, "{name}");
        assert_eq!(t["rows_loaded"], n, "{name}");
        assert_eq!(t["verified"], true, "{name}");
        let pg: u64 = c
            .psql(&db, &format!("SELECT count(*) FROM \"{name}\""))
            .parse()
            .unwrap();
        assert_eq!(pg, n, "{name}");
    }
    let sum = r.one("summary");
    assert_eq!(sum["rows_loaded"], 15_607);
    assert_eq!(sum["rows_rejected"], 0);
    // NOT NULL kept.
    let nn = c.psql(
        &db,
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '\"Customer\"'::regclass AND attnotnull AND attnum > 0",
    );
    assert_eq!(nn, "CustomerId,FirstName,LastName,Email");
    // Types: NUMERIC(10,2) exact, NVARCHAR(n) kept, DATETIME as timestamp.
    assert_eq!(
        c.psql(&db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\"Invoice\"'::regclass AND attname = 'Total'"),
        "numeric(10,2)"
    );
    assert_eq!(c.psql(&db, "SELECT sum(\"Total\") FROM \"Invoice\""), "2328.60");
    assert_eq!(
        c.psql(&db, "SELECT \"InvoiceDate\" FROM \"Invoice\" WHERE \"InvoiceId\" = 1"),
        "2021-01-01 00:00:00"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT \"Name\" FROM \"Artist\" WHERE \"Name\" LIKE 'Jo_o Gilberto'"
        ),
        "João Gilberto"
    );
    // Keys: composite PK, named PKs, 11 foreign keys incl. the self-reference, indexes.
    assert_eq!(
        c.psql(
            &db,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'PK_PlaylistTrack'"
        ),
        "PRIMARY KEY (\"PlaylistId\", \"TrackId\")"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
        ),
        "11"
    );
    assert_eq!(
        c.psql(&db, "SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = '\"Employee\"'::regclass AND contype = 'f'"),
        "\"Employee\""
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'IFK_TrackAlbumId'"
        ),
        "CREATE INDEX \"IFK_TrackAlbumId\" ON public.\"Track\" USING btree (\"AlbumId\")"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'IFK\\_%'"
        ),
        "11"
    );
    // A new row with a default id follows the migrated maximum.
    assert_eq!(
        c.psql(
            &db,
            "INSERT INTO \"Genre\" (\"Name\") VALUES ('Polka') RETURNING \"GenreId\""
        ),
        "26"
    );
    // No staging schema left behind.
    no_staging_left(c, &db);
}

#[test]
fn northwind_migrates_with_its_view_and_text_keys() {
    let c = shared();
    let db = c.fresh_db("northwind");
    let src = fixture("sqlite/Northwind_small.sqlite");
    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    let ts = tables(&r);
    assert_eq!(ts.len(), 11, "sqlite_stat1 is skipped: {r:?}");
    assert!(ts.iter().all(|t| t["table"] != "sqlite_stat1"));
    for t in &ts {
        let name = t["table"].as_str().unwrap();
        assert_eq!(t["rows_loaded"], sqlite_count(&src, name), "{name}");
        assert_eq!(t["verified"], true);
    }
    assert_eq!(r.one("summary")["views"], 1);
    assert_eq!(c.psql(&db, "SELECT count(*) FROM \"ProductDetails_V\""), "77");
    assert_eq!(
        c.psql(
            &db,
            "SELECT \"CategoryDescription\" FROM \"ProductDetails_V\" WHERE \"Id\" = 1"
        ),
        "Soft drinks, coffees, teas, beers, and ales"
    );
    assert_eq!(
        c.psql(&db, "SELECT \"Id\" FROM \"OrderDetail\" ORDER BY \"Id\" LIMIT 1"),
        "10248/11"
    );
    assert_eq!(
        c.psql(&db, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '\"Customer\"'::regclass AND contype = 'p'"),
        "PRIMARY KEY (\"Id\")"
    );
    assert_eq!(c.psql(&db, "SELECT count(*) FROM \"Order\""), "830");
    assert_eq!(
        c.psql(
            &db,
            "INSERT INTO \"Order\" (\"EmployeeId\", \"Freight\") VALUES (1, 2.5) RETURNING \"Id\""
        ),
        "11078"
    );
    // Migrating again into the same schema is refused (73) and changes nothing.
    let again = run_into(c, &db, &src, &[]);
    again.expect_error(73, "the target schema public already has a relation");
    assert!(again.stderr.contains("already has a relation"), "{again:?}");
}

#[test]
fn bad_input_exit_codes() {
    let c = shared();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    mig(&["plan", missing.to_str().unwrap()]).expect_code(66);
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        "this is not a database, just text that is long enough to have a header",
    )
    .unwrap();
    let r = mig(&["plan", junk.to_str().unwrap()]);
    r.expect_error(
        65,
        &format!("{:?} is not a readable SQLite database", junk.to_str().unwrap()),
    );
    let badplan = dir.path().join("plan.json");
    std::fs::write(&badplan, "{\"nope\":1}").unwrap();
    let url = c.url("postgres");
    mig(&["run", "--plan", badplan.to_str().unwrap(), "--db", &url]).expect_code(65);
    // A plan of schema 1 (keys as SQL text) is refused, saying what to do.
    let oldplan = dir.path().join("old.json");
    std::fs::write(&oldplan, r#"{"kind":"migrate.plan","schema":1,"format":1,"tables":[]}"#).unwrap();
    let r = mig(&["run", "--plan", oldplan.to_str().unwrap(), "--db", &url]);
    r.expect_error(65, &format!("the plan {:?} is of schema 1", oldplan.to_str().unwrap()));
    assert!(r.stderr.contains("sw-migrate-sqlite plan"), "{r:?}");
    mig(&["run"]).expect_code(64);
    mig(&["run", "x.db", "--truncate"]).expect_code(64);
}

/// One hazard per table.
fn hazard_db(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    let long_a = format!("{}_first", "x".repeat(64));
    let long_b = format!("{}_second", "x".repeat(64));
    c.execute_batch(&format!(
        r#"
        PRAGMA journal_mode = WAL;
        CREATE TABLE t_nul (id INTEGER PRIMARY KEY, s TEXT);
        CREATE TABLE t_utf8 (id INTEGER PRIMARY KEY, s TEXT);
        CREATE TABLE t_epoch (id INTEGER PRIMARY KEY, at DATETIME);
        CREATE TABLE t_julian (id INTEGER PRIMARY KEY, at DATETIME, d DATE);
        CREATE TABLE t_jint (id INTEGER PRIMARY KEY, at DATETIME);
        CREATE TABLE t_ms (id INTEGER PRIMARY KEY, at TIMESTAMP);
        CREATE TABLE t_bigint (id INTEGER PRIMARY KEY, v INT8 NOT NULL);
        CREATE TABLE t_real (id INTEGER PRIMARY KEY, v REAL);
        CREATE TABLE t_bool (id INTEGER PRIMARY KEY, b BOOLEAN NOT NULL DEFAULT 0);
        CREATE TABLE t_blobtext (id INTEGER PRIMARY KEY, b BLOB);
        CREATE TABLE t_nocase (id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE UNIQUE NOT NULL);
        CREATE TABLE t_partial (id INTEGER PRIMARY KEY, name TEXT NOT NULL, deleted BOOLEAN NOT NULL DEFAULT 0);
        CREATE UNIQUE INDEX t_partial_live ON t_partial (name) WHERE deleted = 0;
        CREATE TABLE t_expr (id INTEGER PRIMARY KEY, name TEXT);
        CREATE INDEX t_expr_lower ON t_expr (lower(name));
        CREATE INDEX t_expr_like ON t_expr (name) WHERE name LIKE 'a%';
        CREATE TABLE t_defaults (id INTEGER PRIMARY KEY, a DATETIME DEFAULT CURRENT_TIMESTAMP, b TEXT DEFAULT (datetime('now')),
            c INTEGER DEFAULT (strftime('%s','now')), d TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M','now')), n INTEGER NOT NULL DEFAULT 42, s TEXT DEFAULT 'it''s', r TEXT DEFAULT 1.50);
        CREATE TABLE t_autoinc (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
        CREATE TABLE t_autoinc_empty (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
        CREATE TABLE t_empty (id INTEGER PRIMARY KEY, v TEXT);
        CREATE TABLE "{long_a}" (id INTEGER PRIMARY KEY);
        CREATE TABLE "{long_b}" (id INTEGER PRIMARY KEY);
        CREATE TABLE [select] ([a b] TEXT, `we"ird` INTEGER, "Grüße" TEXT);
        CREATE TABLE t_check (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty > 0));
        CREATE TABLE t_untyped (id INTEGER PRIMARY KEY, x, y);
        CREATE TABLE t_types (id INTEGER PRIMARY KEY, a INT8, b VARCHAR2(10), c FLOAT8, d DATETIME2, e NUMBER, f STRING,
            g UNSIGNED BIG INT, h JSON, u UUID, m MEDIUMTEXT);
        CREATE TABLE t_inf (id INTEGER PRIMARY KEY, v REAL);
        CREATE TABLE t_json (id INTEGER PRIMARY KEY, j JSON);
        CREATE TABLE t_div (id INTEGER PRIMARY KEY, price NUMERIC);
        CREATE VIEW v_div AS SELECT id FROM t_div WHERE price / 2 = 2;
        CREATE VIEW v_ok AS SELECT id, price FROM t_div;
        CREATE VIRTUAL TABLE t_fts USING fts5(body);
        INSERT INTO t_fts (body) VALUES ('hello world');
        CREATE TABLE t_rowidcol (id INTEGER PRIMARY KEY, "_rowid_" INTEGER, rowid TEXT);
        CREATE TABLE t_numeric (id INTEGER PRIMARY KEY, price NUMERIC(10,2));
        CREATE TABLE t_parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
        CREATE TABLE t_child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES t_parent(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
            code TEXT REFERENCES t_parent(code) ON UPDATE CASCADE);
        CREATE TABLE t_gen (id INTEGER PRIMARY KEY, a INTEGER, twice INTEGER GENERATED ALWAYS AS (a * 2) STORED);
        CREATE TABLE t_composite (a TEXT NOT NULL, b INTEGER NOT NULL, v TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
        CREATE TRIGGER t_check_audit AFTER INSERT ON t_check BEGIN UPDATE t_check SET qty = qty WHERE id = new.id; END;
        INSERT INTO t_nul VALUES (1, 'fine');
        INSERT INTO t_utf8 VALUES (1, 'fine'), (2, CAST(X'61FF62' AS TEXT));
        INSERT INTO t_epoch VALUES (1, 1700000000), (2, '2023-11-14 22:13:20'), (3, '2023-11-14T23:13:20+01:00');
        INSERT INTO t_julian VALUES (1, 2460000.5, 2460000.5), (2, julianday('2021-03-04 05:06:07.250'), '2021-03-04');
        INSERT INTO t_jint VALUES (1, julianday('2021-06-01 12:00:00')), (2, 2459367.25);
        INSERT INTO t_ms VALUES (1, 1700000000123);
        INSERT INTO t_bigint VALUES (1, 9223372036854775807), (2, -9223372036854775808);
        INSERT INTO t_real VALUES (1, 741.5504997598328), (2, 0.1), (3, 0.0), (4, 1.7976931348623157e308), (5, 5e-324);
        INSERT INTO t_bool (id, b) VALUES (1, 0), (2, 1), (3, 't'), (4, 'false');
        INSERT INTO t_blobtext VALUES (1, X'00FF10'), (2, 'hello');
        INSERT INTO t_nocase (email) VALUES ('Alice@Example.com'), ('bob@example.com');
        INSERT INTO t_partial (name, deleted) VALUES ('a', 0), ('a', 1), ('b', 0);
        INSERT INTO t_expr (name) VALUES ('X');
        INSERT INTO t_defaults (id) VALUES (1);
        INSERT INTO t_autoinc (v) VALUES ('1'), ('2'), ('3'); DELETE FROM t_autoinc WHERE id = 3;
        INSERT INTO t_autoinc_empty (v) VALUES ('1'), ('2'); DELETE FROM t_autoinc_empty;
        INSERT INTO "{long_a}" VALUES (1); INSERT INTO "{long_b}" VALUES (2);
        INSERT INTO [select] VALUES ('x y', 7, 'straße');
        INSERT INTO t_check (qty) VALUES (5);
        INSERT INTO t_untyped (x, y) VALUES (1, 'a'), (2, 3);
        INSERT INTO t_types VALUES (1, 8, 'short', 2.5, '2020-02-29 12:00:00', 12.75, 'str', 123, '{{"k": [1, 2.50]}}',
            'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'medium');
        INSERT INTO t_div VALUES (1, 5);
        INSERT INTO t_inf VALUES (1, 9e999), (2, -9e999), (3, 'NaN');
        INSERT INTO t_rowidcol VALUES (1, 1, 'x'), (200000, NULL, 'y'), (500000, 900000, 'z');
        INSERT INTO t_json VALUES (1, '{{"b":1, "a":"\u00e9\/", "n": 1.0e-2, "x":[true,null,-0]}}'), (2, '{{"a":1,"a":2}}');
        INSERT INTO t_numeric VALUES (1, 0.99), (2, 12), (3, 1.005);
        INSERT INTO t_parent VALUES (1, 'p1');
        INSERT INTO t_child VALUES (1, 1, 'p1');
        INSERT INTO t_gen (a) VALUES (21);
        INSERT INTO t_composite VALUES ('k', 1, 'v');
        "#
    ))
    .unwrap();
    c.execute("INSERT INTO t_nul VALUES (2, ?1)", ["a\0b"]).unwrap();
}

#[test]
fn hazards_arrive_exactly_or_are_named_in_rejections() {
    let c = shared();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hazard.db");
    hazard_db(&src);
    hazard_plan_names_what_is_not_migrated(&src);
    let db = c.fresh_db("hazard");
    hazard_stops_at_the_first_bad_value(c, &db, &src);
    hazard_rejects_bad_rows(c, &db, &src, dir.path());
    hazard_values_arrive_exactly(c, &db);
    hazard_schema_arrives(c, &db);
}

/// The plan names what cannot be translated and why, and chooses types and rules.
fn hazard_plan_names_what_is_not_migrated(src: &Path) {
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let un = plan["untranslatable"].to_string();
    assert!(un.contains("trigger t_check_audit"), "{un}");
    // A full-text table's rows come along as a plain table, its internals do not.
    let fts = plan_table(&plan, "t_fts");
    assert!(
        fts["untranslatable"]
            .to_string()
            .contains("fts5 module: its rows are migrated"),
        "{fts}"
    );
    assert!(un.contains("table t_fts_data"), "{un}");
    // SQLite's LIKE ignores ASCII case: a partial index on it is reported, not changed.
    let expr = plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "t_expr")
        .unwrap();
    assert!(
        expr["untranslatable"].to_string().contains("index t_expr_like"),
        "{expr}"
    );
    let types: Value = plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "t_types")
        .unwrap()["columns"]
        .clone();
    let ty = |n: &str| types.as_array().unwrap().iter().find(|c| c["source"] == n).unwrap()["type"].clone();
    assert_eq!(ty("a"), "bigint");
    assert_eq!(ty("b"), "character varying(10)");
    assert_eq!(ty("c"), "double precision");
    assert_eq!(ty("d"), "timestamp without time zone");
    assert_eq!(ty("g"), "bigint");
    assert_eq!(ty("h"), "jsonb");
    assert_eq!(ty("u"), "uuid");
    let rule = |t: &str| {
        plan["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["source"] == t)
            .unwrap()["columns"][1]["integers"]
            .clone()
    };
    assert_eq!(rule("t_jint"), "julian-day");
    assert_eq!(rule("t_ms"), "unix-milliseconds");
    assert_eq!(rule("t_epoch"), "unix-seconds");
}

/// Default: the first bad value stops the run with exit 65 and one line naming it.
fn hazard_stops_at_the_first_bad_value(c: &TestCluster, db: &str, src: &Path) {
    let r = run_into(c, db, src, &["--jobs", "1"]);
    r.expect_error(65, "table t_nul rowid 2 column s");
    assert!(r.stderr.contains("NUL"), "{r:?}");
    assert_eq!(
        c.psql(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );
    no_staging_left(c, db);
}

/// With --on-error=reject every bad row is in the reject file, losslessly.
fn hazard_rejects_bad_rows(c: &TestCluster, db: &str, src: &Path, dir: &Path) {
    let rej = dir.join("rejects.jsonl");
    let r = run_into(
        c,
        db,
        src,
        &["--on-error", "reject", "--reject-file", rej.to_str().unwrap()],
    );
    // Rows that did not arrive make the exit non-zero; the records still say what did.
    r.expect_code(65);
    assert!(r.stderr.contains("rows did not arrive: they are in "), "{}", r.stderr);
    let sum = r.one("summary");
    assert_eq!(
        sum["rows_read"].as_u64().unwrap(),
        sum["rows_loaded"].as_u64().unwrap() + sum["rows_rejected"].as_u64().unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&rej).unwrap().permissions().mode() & 0o777, 0o600);
    let lines: Vec<Value> = std::fs::read_to_string(&rej)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each line is a migrate.reject record, as its schema says.
    for l in &lines {
        sw_testkit::schema::validate("sw-migrate-sqlite", l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
    let mut names: Vec<String> = lines
        .iter()
        .map(|l| format!("{}:{}:{}", l["table"], l["rowid"], l["column"]))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "\"t_blobtext\":2:\"b\"",
            "\"t_json\":2:\"j\"",
            "\"t_nul\":2:\"s\"",
            "\"t_numeric\":3:\"price\"",
            "\"t_utf8\":2:\"s\""
        ],
        "{lines:?}"
    );
    assert_eq!(sum["rows_rejected"], 5);
    let nul = lines.iter().find(|l| l["table"] == "t_nul").unwrap();
    assert_eq!(nul["row"]["s"]["text_base64"], "YQBi");
    let utf = lines.iter().find(|l| l["table"] == "t_utf8").unwrap();
    assert_eq!(utf["row"]["s"]["text_base64"], "Yf9i");
    assert!(
        lines
            .iter()
            .any(|l| l["table"] == "t_numeric" && l["rule"].as_str().unwrap().contains("rounded"))
    );
    for t in tables(&r) {
        assert_eq!(t["verified"], true, "{t}");
    }
    // A view whose translation selects other rows (integer vs numeric
    // division) is reported, not created; the faithful one is created.
    assert_eq!(sum["views"], 1, "{sum}");
    let untranslated: String = tables(&r).iter().map(|t| t["untranslated"].to_string()).collect();
    assert!(
        untranslated.contains("view v_div: the translated view returns 0 rows, SQLite's 1"),
        "{untranslated}"
    );
}

/// Values arrive exactly.
fn hazard_values_arrive_exactly(c: &TestCluster, db: &str) {
    let q = |sql: &str| c.psql(db, sql);
    assert_eq!(
        q("SELECT string_agg(at::text, ',' ORDER BY id) FROM t_epoch"),
        "2023-11-14 22:13:20,2023-11-14 22:13:20,2023-11-14 22:13:20"
    );
    assert_eq!(
        q("SELECT string_agg(at::text || '/' || d::text, ',' ORDER BY id) FROM t_julian"),
        "2023-02-25 00:00:00/2023-02-25,2021-03-04 05:06:07.25/2021-03-04"
    );
    assert_eq!(
        q("SELECT string_agg(v::text, ',' ORDER BY id) FROM t_bigint"),
        "9223372036854775807,-9223372036854775808"
    );
    assert_eq!(
        q("SET extra_float_digits = 3; SELECT string_agg(float8send(v)::text, ',' ORDER BY id) FROM t_real"),
        "\\x40872c676c6b0780,\\x3fb999999999999a,\\x0000000000000000,\\x7fefffffffffffff,\\x0000000000000001"
    );
    assert_eq!(q("SELECT v = 741.5504997598328::float8 FROM t_real WHERE id = 1"), "t");
    assert_eq!(
        q("SELECT string_agg(b::text, ',' ORDER BY id) FROM t_bool"),
        "false,true,true,false"
    );
    assert_eq!(q("SELECT encode(b, 'hex') FROM t_blobtext"), "00ff10");
    assert_eq!(q("SELECT count(*) FROM t_nul"), "1");
    // Columns named like the rowid: a big id range is loaded in parts by the real rowid.
    assert_eq!(
        q("SELECT string_agg(id || '/' || coalesce(\"_rowid_\", 0) || rowid, ',' ORDER BY id) FROM t_rowidcol"),
        "1/1x,200000/0y,500000/900000z"
    );
    // jsonb: verified against the text the server prints; a duplicate key
    // (jsonb keeps one) is a rejection, not a silent loss.
    assert_eq!(
        q("SELECT j::text FROM t_json"),
        "{\"a\": \"é/\", \"b\": 1, \"n\": 0.010, \"x\": [true, null, 0]}"
    );
    assert_eq!(
        q("SELECT string_agg(v::text, ',' ORDER BY id) FROM t_inf"),
        "Infinity,-Infinity,NaN"
    );
    assert_eq!(
        q("SELECT string_agg(price::text, ',' ORDER BY id) FROM t_numeric"),
        "0.99,12.00"
    );
    // COLLATE NOCASE stays case-insensitive, UNIQUE included.
    assert_eq!(q("SELECT id FROM t_nocase WHERE email = 'alice@example.com'"), "1");
    assert!(
        c.try_psql(db, "INSERT INTO t_nocase (email) VALUES ('BOB@EXAMPLE.COM')")
            .is_err()
    );
    // Partial and expression indexes keep their meaning.
    assert_eq!(
        q("SELECT indexdef FROM pg_indexes WHERE indexname = 't_partial_live'"),
        "CREATE UNIQUE INDEX t_partial_live ON public.t_partial USING btree (name) WHERE (deleted = false)"
    );
    assert_eq!(
        q("SELECT indexdef FROM pg_indexes WHERE indexname = 't_expr_lower'"),
        "CREATE INDEX t_expr_lower ON public.t_expr USING btree (lower(name))"
    );
}

/// Defaults, identities, names, constraints, foreign keys, generated and untyped columns.
fn hazard_schema_arrives(c: &TestCluster, db: &str) {
    let q = |sql: &str| c.psql(db, sql);
    // Defaults work for new rows.
    assert_eq!(
        q(
            "INSERT INTO t_defaults DEFAULT VALUES RETURNING id, a IS NOT NULL, b ~ '^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$', c > 1600000000, d ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d$', n, s, r"
        ),
        "2|t|t|t|t|42|it's|1.5"
    );
    // The same text SQLite stored for the row it defaulted.
    assert_eq!(q("SELECT r FROM t_defaults WHERE id = 1"), "1.5");
    // Identities follow the maximum and sqlite_sequence, also for empty tables.
    assert_eq!(q("INSERT INTO t_autoinc (v) VALUES ('n') RETURNING id"), "4");
    assert_eq!(q("INSERT INTO t_autoinc_empty (v) VALUES ('n') RETURNING id"), "3");
    assert_eq!(q("INSERT INTO t_empty (v) VALUES ('n') RETURNING id"), "1");
    assert_eq!(q("INSERT INTO t_bool (id) VALUES (5) RETURNING b"), "f");
    // Long names shortened without collisions; odd identifiers kept.
    assert_eq!(
        q("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'xxxxxxxx%'"),
        "2"
    );
    assert_eq!(
        q("SELECT \"a b\" || \"we\"\"ird\" || \"Grüße\" FROM \"select\""),
        "x y7straße"
    );
    // CHECK, foreign keys with actions, generated column, untyped columns, types.
    assert!(c.try_psql(db, "INSERT INTO t_check (qty) VALUES (0)").is_err());
    assert_eq!(
        q(
            "SELECT string_agg(pg_get_constraintdef(oid), ' | ' ORDER BY conname) FROM pg_constraint WHERE conrelid = 't_child'::regclass AND contype = 'f'"
        ),
        "FOREIGN KEY (code) REFERENCES t_parent(code) ON UPDATE CASCADE | FOREIGN KEY (parent_id) REFERENCES t_parent(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
    );
    assert_eq!(q("INSERT INTO t_gen (a) VALUES (5) RETURNING twice"), "10");
    assert_eq!(q("SELECT twice FROM t_gen WHERE id = 1"), "42");
    assert_eq!(
        q(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't_untyped'::regclass AND attname = 'y'"
        ),
        "text"
    );
    assert_eq!(q("SELECT string_agg(y, ',' ORDER BY id) FROM t_untyped"), "a,3");
    assert_eq!(
        q("SELECT h::text || ' ' || u::text FROM t_types"),
        "{\"k\": [1, 2.50]} a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(
        q(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 't_composite'::regclass AND contype = 'p'"
        ),
        "PRIMARY KEY (a, b)"
    );
}

#[test]
fn data_only_loads_existing_tables_by_column_name() {
    let c = shared();
    let db = c.fresh_db("dataonly");
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_db(
        dir.path(),
        "app.db",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL);
         INSERT INTO users (name, score) VALUES ('a', 1.5), ('b', NULL), ('c', 3);",
    );
    c.psql(&db, "CREATE EXTENSION IF NOT EXISTS citext");
    c.psql(&db, "CREATE TABLE users (score double precision, name citext NOT NULL, id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text DEFAULT 'n')");
    let url = c.url(&db);
    let r = mig(&["run", src.to_str().unwrap(), "--data-only", "--db", &url]);
    r.expect_code(0);
    assert_eq!(r.one("summary")["rows_loaded"], 3);
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(id || name || coalesce(score::text, '-') || note, ',' ORDER BY id) FROM users"
        ),
        "1a1.5n,2b-n,3c3n"
    );
    // The citext column (as an app's migrations may make it) compares
    // without case, LIKE included.
    assert_eq!(
        c.psql(&db, "SELECT id FROM users WHERE name = 'B' AND name LIKE 'B%'"),
        "2"
    );
    assert_eq!(c.psql(&db, "INSERT INTO users (name) VALUES ('d') RETURNING id"), "4");
    // Not empty any more: refused unless --truncate.
    mig(&["run", src.to_str().unwrap(), "--data-only", "--db", &url]).expect_code(73);
    mig(&["run", src.to_str().unwrap(), "--data-only", "--truncate", "--db", &url]).expect_code(0);
    assert_eq!(c.psql(&db, "SELECT count(*) FROM users"), "3");

    // A timestamp(0) target would round fractional seconds: named, not rounded.
    let db2 = c.fresh_db("dataonly_ts");
    let src2 = sqlite_db(
        dir.path(),
        "ts.db",
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME);
         INSERT INTO ev VALUES (1, '2024-01-01 10:00:00'), (2, '2024-01-01 10:00:00.5');",
    );
    c.psql(&db2, "CREATE TABLE ev (id bigint PRIMARY KEY, at timestamp(0))");
    let r = mig(&["run", src2.to_str().unwrap(), "--data-only", "--db", &c.url(&db2)]);
    r.expect_error(65, "table ev rowid 2 column at");
    assert_eq!(c.psql(&db2, "SELECT count(*) FROM ev"), "0");
}

#[test]
fn killed_during_copy_leaves_the_target_unchanged() {
    let c = shared();
    let db = c.fresh_db("killed");
    c.psql(
        &db,
        "CREATE TABLE keep (id int PRIMARY KEY); INSERT INTO keep VALUES (1)",
    );
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_db(
        dir.path(),
        "big.db",
        "CREATE TABLE small (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO small VALUES (1, 'x');
         CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT, r REAL);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 600000)
         INSERT INTO big SELECT x, hex(randomblob(24)), x * 0.5 FROM n;",
    );
    let url = c.url(&db);
    let mut child = cmd::command(BIN.as_ref())
        .args(["run", src.to_str().unwrap(), "--db", &url, "--jobs", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the COPY into the staging table is under way, then kill -9.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n = c.psql(
            &db,
            "SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy WHERE datname = current_database()",
        );
        if n.parse::<i64>().unwrap() > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the copy was seen"
        );
        assert!(std::time::Instant::now() < deadline, "no COPY seen");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "keep"
    );
    assert_eq!(c.psql(&db, "SELECT count(*) FROM keep"), "1");
    // The next run cleans up the abandoned staging schema and succeeds,
    // with `big` copied in two rowid ranges and verified in two block ranges.
    let r = run_into(c, &db, &src, &["--jobs", "2"]);
    r.expect_code(0);
    for t in tables(&r) {
        assert_eq!(t["verified"], true, "{r:?}");
    }
    assert_eq!(c.psql(&db, "SELECT count(*) FROM big"), "600000");
    // Autovacuum, kept off the staging tables, is back on.
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND reloptions IS NOT NULL"
        ),
        "0"
    );
    no_staging_left(c, &db);
}

#[test]
fn consistent_snapshot_while_the_application_writes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let c = shared();
    let db = c.fresh_db("snapshot");
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_db(
        dir.path(),
        "live.db",
        "PRAGMA journal_mode = WAL;
         CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
         CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 150000)
         INSERT INTO a SELECT x, hex(randomblob(16)) FROM n;
         INSERT INTO b SELECT * FROM a;",
    );
    // The application keeps writing one row to each table per transaction.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let s = rusqlite::Connection::open(&src).unwrap();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                s.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO a (v) VALUES ('w'); INSERT INTO b (v) VALUES ('w'); COMMIT;",
                )
                .unwrap();
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let r = run_into(c, &db, &src, &["--jobs", "2"]);
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    r.expect_code(0);
    assert!(writes > 0);
    let ts = tables(&r);
    assert_eq!(ts[0]["rows_loaded"], ts[1]["rows_loaded"], "{r:?}");
    assert_eq!(
        c.psql(&db, "SELECT (SELECT count(*) FROM a) = (SELECT count(*) FROM b)"),
        "t"
    );
    assert_eq!(
        c.psql(&db, "SELECT (SELECT max(id) FROM a) = (SELECT max(id) FROM b)"),
        "t"
    );
}

#[test]
fn run_executes_an_edited_plan() {
    let c = shared();
    let db = c.fresh_db("edited");
    let src = fixture("sqlite/Chinook_Sqlite.sqlite");
    let p = mig(&["plan", src.to_str().unwrap(), "--schema", "music"]);
    p.expect_code(0);
    let mut plan = p.one("migrate.plan");
    // Keep two tables; Genre.Name becomes text; Track loses its indexes and foreign keys.
    let kept: Vec<Value> = plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["source"] == "Genre" || t["source"] == "MediaType")
        .cloned()
        .collect();
    plan["tables"] = Value::Array(kept);
    let genre = &mut plan["tables"][0];
    assert_eq!(genre["source"], "Genre");
    let create = genre["create"]
        .as_str()
        .unwrap()
        .replace("character varying(120)", "text");
    genre["create"] = Value::String(create);
    // MediaType loses its Name column: reported on the table's record.
    let media = &mut plan["tables"][1];
    assert_eq!(media["source"], "MediaType");
    let create = media["create"]
        .as_str()
        .unwrap()
        .replace(",\n  \"Name\" character varying(120)", "");
    assert!(!create.contains("Name"), "{create}");
    media["create"] = Value::String(create);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let url = c.url(&db);
    let r = mig(&["run", "--plan", file.to_str().unwrap(), "--db", &url]);
    r.expect_code(0);
    assert_eq!(r.one("summary")["target_schema"], "music");
    assert_eq!(c.psql(&db, "SELECT count(*) FROM music.\"Genre\""), "25");
    assert_eq!(c.psql(&db, "SELECT count(*) FROM music.\"MediaType\""), "5");
    let media = tables(&r).into_iter().find(|t| t["table"] == "MediaType").unwrap();
    assert!(
        media["untranslated"]
            .to_string()
            .contains("column Name: not in the plan's CREATE TABLE"),
        "{media}"
    );
    assert_eq!(
        c.psql(&db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'music.\"Genre\"'::regclass AND attname = 'Name'"),
        "text"
    );
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'music'"),
        "2"
    );
}

#[test]
fn orphan_foreign_keys_are_planned_not_valid_and_an_edited_plan_still_stops() {
    let c = shared();
    let db = c.fresh_db("brokenfk");
    let dir = tempfile::tempdir().unwrap();
    // SQLite does not enforce foreign keys unless asked to.
    let src = sqlite_db(
        dir.path(),
        "fk.db",
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1), (2, 42), (3, NULL);",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let child = plan_table(&p.one("migrate.plan"), "child");
    assert_eq!(child["foreign_keys"][0]["not_valid"], true, "{child}");
    assert_eq!(child["foreign_keys"][0]["orphans"], 1, "{child}");
    let notes = child["untranslatable"].to_string();
    assert!(
        notes.contains("1 rows of child reference no row of parent") && notes.contains("VALIDATE CONSTRAINT"),
        "{notes}"
    );
    // A run planning for itself skips the probes into the parent: the
    // validation finds the orphan, and the key is left NOT VALID, counted.
    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    assert!(
        tables(&r).iter().any(|t| t["untranslated"].to_string().contains(
            "foreign key child_parent_id_fkey: 1 rows of child reference no row of parent (SQLite enforces foreign keys only with PRAGMA foreign_keys = ON; found by the validation): created NOT VALID"
        )),
        "{r:?}"
    );
    assert_eq!(c.psql(&db, "SELECT count(*) FROM child"), "3");
    assert_eq!(
        c.psql(
            &db,
            "SELECT convalidated FROM pg_constraint WHERE conname = 'child_parent_id_fkey'"
        ),
        "f"
    );
    // New rows are checked.
    let bad = c.try_psql(&db, "INSERT INTO child VALUES (9, 77)");
    assert!(bad.is_err(), "{bad:?}");

    // A plan edited to validate anyway stops at the validation and changes
    // nothing; a small child of a big parent is checked by index probes.
    let db2 = c.fresh_db("brokenfk2");
    let src2 = sqlite_db(
        dir.path(),
        "fk2.db",
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100) INSERT INTO parent SELECT x FROM n;
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));
         INSERT INTO child VALUES (1, 1), (2, 420);",
    );
    let p = mig(&["plan", src2.to_str().unwrap()]);
    let mut plan = p.one("migrate.plan");
    for t in plan["tables"].as_array_mut().unwrap() {
        for f in t["foreign_keys"].as_array_mut().unwrap() {
            f["not_valid"] = Value::Bool(false);
        }
    }
    let file = dir.path().join("fk2.plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    let url = c.url(&db2);
    let r = mig(&["run", "--plan", file.to_str().unwrap(), "--db", &url, "-v"]);
    r.expect_code(65);
    assert!(r.stderr.contains("enable_hashjoin = off"), "{r:?}");
    assert!(r.stderr.contains("(parent_id)=(420)"), "{r:?}");
    assert_eq!(
        c.psql(&db2, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );
    no_staging_left(c, &db2);
}

#[test]
fn violated_checks_are_not_valid_and_unique_collisions_become_plain_indexes_unless_strict() {
    let c = shared();
    let dir = tempfile::tempdir().unwrap();
    // A CHECK added by rewriting the schema after the rows (as ALTER tools
    // do); emails unique under SQLite's ASCII-only NOCASE but equal under
    // PostgreSQL's Unicode case folding; codes '1' and 1 in an untyped key.
    let src = sqlite_db(
        dir.path(),
        "pre.db",
        "CREATE TABLE acct (id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE UNIQUE, qty INTEGER);
         INSERT INTO acct VALUES (1, 'ÉLAN@x', 5), (2, 'élan@x', -1), (3, 'b@x', -2), (4, NULL, 1), (5, NULL, 1);
         PRAGMA writable_schema = ON;
         UPDATE sqlite_master SET sql = replace(sql, 'qty INTEGER', 'qty INTEGER CHECK (qty >= 0)') WHERE name = 'acct';
         PRAGMA writable_schema = OFF;
         CREATE TABLE code (c PRIMARY KEY, label TEXT);
         INSERT INTO code VALUES ('1', 'text'), (1, 'integer'), (2, 'two');
         CREATE TABLE uses (id INTEGER PRIMARY KEY, c REFERENCES code (c));
         INSERT INTO uses VALUES (1, 2);",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let acct = plan_table(&plan, "acct");
    assert_eq!(acct["checks"][0]["not_valid"], true, "{acct}");
    assert_eq!(acct["checks"][0]["violating_rows"], 2, "{acct}");
    assert_eq!(acct["unique"][0]["collisions"], 1, "{acct}");
    let code = plan_table(&plan, "code");
    assert_eq!(code["primary_key"]["collisions"], 1, "{code}");
    assert!(
        code["untranslatable"]
            .to_string()
            .contains("plain (non-unique) index of the same name"),
        "{code}"
    );

    // A collision SQLite never saw does not refuse the run by default, but
    // --strict does, before anything is written.
    let db = c.fresh_db("collide");
    let r = run_into(c, &db, &src, &["--strict"]);
    r.expect_error(65, "--strict: the plan relaxes or leaves out");
    assert!(
        r.stderr.contains("unique key acct_email_key on acct") && r.stderr.contains("unique key code_pkey on code"),
        "{r:?}"
    );
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );

    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    for (t, n) in [("acct", "5"), ("code", "3"), ("uses", "1")] {
        assert_eq!(c.psql(&db, &format!("SELECT count(*) FROM {t}")), n, "{t}");
    }
    let notes: String = tables(&r).iter().map(|t| t["untranslated"].to_string()).collect();
    assert!(
        notes.contains("unique key acct_email_key")
            && notes.contains("(colliding keys: 1): built as a plain (non-unique) index of the same name"),
        "{notes}"
    );
    assert!(
        !notes.contains("unique key acct_email_key on acct"),
        "one note per key: {notes}"
    );
    assert!(
        notes.contains("foreign key uses_c_fkey") && notes.contains("not created"),
        "{notes}"
    );
    assert_eq!(
        c.psql(&db, "SELECT string_agg(indexname || ':' || (indexdef LIKE 'CREATE UNIQUE%')::text, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename IN ('acct', 'code')"),
        "acct_email_key:false,acct_pkey:true,code_pkey:false"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT convalidated FROM pg_constraint WHERE contype = 'c' AND conrelid = 'acct'::regclass"
        ),
        "f"
    );
}

#[test]
fn a_view_alone_using_collate_nocase_gets_the_collation() {
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_db(
        dir.path(),
        "view_nocase.db",
        "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT);
         CREATE VIEW v AS SELECT id FROM u WHERE email = 'A@B.C' COLLATE NOCASE;",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    assert!(
        plan["views"][0]["create"].as_str().unwrap().contains("sw_nocase"),
        "{plan}"
    );
    assert_eq!(plan["collations"][0]["name"], "sw_nocase", "{plan}");
}

#[test]
fn generated_columns_are_verified_against_sqlite_values() {
    let c = shared();
    let db = c.fresh_db("generated");
    let dir = tempfile::tempdir().unwrap();
    // SQLite keeps 5 in a NUMERIC column as an integer and divides it as
    // one (2); PostgreSQL's numeric division gives 2.5.
    let src = sqlite_db(
        dir.path(),
        "gen.db",
        "CREATE TABLE w (id INTEGER PRIMARY KEY, price NUMERIC, half NUMERIC GENERATED ALWAYS AS (price / 2) VIRTUAL);
         INSERT INTO w (price) VALUES (5);",
    );
    let r = run_into(c, &db, &src, &[]);
    r.expect_error(65, "verification failed for w");
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );
}

#[test]
fn null_holding_primary_keys_become_unique_and_keep_every_row() {
    let c = shared();
    let db = c.fresh_db("nullpk");
    let dir = tempfile::tempdir().unwrap();
    // Neither key is a rowid alias (not exactly INTEGER), so SQLite
    // accepts NULLs in both: the MySQL-dump and text-key styles.
    let src = sqlite_db(
        dir.path(),
        "nullpk.db",
        "CREATE TABLE users (id integer auto_increment primary key, name TEXT);
         INSERT INTO users VALUES (1, 'a'), (NULL, 'b'), (NULL, 'c');
         CREATE TABLE tags (code text primary key, label TEXT);
         INSERT INTO tags VALUES ('x', 'X'), (NULL, 'none');
         CREATE TABLE clean (code text primary key);
         INSERT INTO clean VALUES ('k');",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let t = |n: &str| {
        plan["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()
            .clone()
    };
    for (name, rowids) in [("users", "2,3"), ("tags", "2")] {
        let tp = t(name);
        assert!(tp["primary_key"].is_null(), "{tp}");
        assert_eq!(tp["unique"][0]["name"], format!("{name}_pkey"), "{tp}");
        let why = tp["untranslatable"][0]["reason"].as_str().unwrap();
        assert!(why.contains("relaxed to UNIQUE") && why.ends_with(rowids), "{why}");
    }
    assert_eq!(t("clean")["primary_key"]["name"], "clean_pkey");

    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    assert_eq!(c.psql(&db, "SELECT count(*) FROM users"), "3");
    assert_eq!(c.psql(&db, "SELECT count(*) FROM tags"), "2");
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid IN ('users'::regclass, 'tags'::regclass, 'clean'::regclass)"
        ),
        "clean_pkey:p,tags_pkey:u,users_pkey:u"
    );
    // A second NULL is still admitted, as in SQLite.
    c.psql(&db, "INSERT INTO tags VALUES (NULL, 'again')");
}

#[test]
fn defaults_postgresql_cannot_read_are_translated_or_dropped_with_a_note() {
    let c = shared();
    let db = c.fresh_db("defaults");
    let dir = tempfile::tempdir().unwrap();
    // The rows SQLite filled with the zero date and '' are values that do
    // not fit (rejected or exit 65), not this test's subject.
    let src = sqlite_db(
        dir.path(),
        "defaults.db",
        "CREATE TABLE e (id INTEGER PRIMARY KEY,
            at TIMESTAMP DEFAULT '0000-01-01T00:00:00.000Z',
            z DATETIME DEFAULT '0000-00-00 00:00:00',
            n INTEGER DEFAULT '',
            q INTEGER DEFAULT \"0\",
            l DATETIME DEFAULT (datetime('now','localtime')),
            d DATE DEFAULT (date('now','localtime')));
         INSERT INTO e (id, z, n) VALUES (1, NULL, NULL);
         INSERT INTO e (id, at, z, n) VALUES (2, '0000-06-01 10:00:00', NULL, NULL);",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let t = &plan["tables"][0];
    let dropped: Vec<&str> = t["untranslatable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["object"].as_str().unwrap())
        .collect();
    // A zero date is no date PostgreSQL has; '' is no number.
    assert_eq!(dropped, ["default of e.z", "default of e.n"], "{t}");

    run_into(c, &db, &src, &[]).expect_code(0);
    c.psql(&db, "INSERT INTO e (id) VALUES (3)");
    assert_eq!(
        c.psql(&db, "SELECT at, q, l = date_trunc('second', LOCALTIMESTAMP) OR l > LOCALTIMESTAMP - interval '1 minute', d = CURRENT_DATE FROM e WHERE id = 3"),
        "0001-01-01 00:00:00 BC|0|t|t"
    );
    // Year 0 is 1 BC, held exactly: in the defaults SQLite filled in and in values.
    assert_eq!(
        c.psql(&db, "SELECT string_agg(at::text, ',' ORDER BY id) FROM e WHERE id < 3"),
        "0001-01-01 00:00:00 BC,0001-06-01 10:00:00 BC"
    );
}

/// The table of `plan` named `name`.
fn plan_table(plan: &Value, name: &str) -> Value {
    plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {plan}"))
        .clone()
}

#[test]
fn zero_dates_empty_strings_and_out_of_range_dates_become_counted_nulls() {
    let c = shared();
    let db = c.fresh_db("zerodates");
    let dir = tempfile::tempdir().unwrap();
    // MySQL-dump style: zero dates and '' where there is no value. Row 3
    // holds a zero date in a NOT NULL column: that row cannot arrive.
    let src = sqlite_db(
        dir.path(),
        "zero.db",
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME, d DATE NOT NULL, n INTEGER, amount NUMERIC(10,2), ok BOOLEAN, note TEXT);
         INSERT INTO ev VALUES (1, '0000-00-00 00:00:00', '2020-01-01', '', '', '', '');
         INSERT INTO ev VALUES (2, 1.5e300, '2020-01-02', 5, 1.5, 1, 'x');
         INSERT INTO ev VALUES (3, '2021-01-01 10:00:00', '0000-00-00', 1, 2, 0, 'y');
         INSERT INTO ev VALUES (4, '2021-05-00', '2020-01-04', 2, 3, 1, 'z');",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let t = plan_table(&p.one("migrate.plan"), "ev");
    let col = |n: &str| {
        t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()["to_null"]
            .clone()
    };
    assert_eq!(col("at")["zero_dates"], 2, "{t}");
    assert_eq!(col("at")["out_of_range"], 1, "{t}");
    assert_eq!(col("at")["first_rowids"], serde_json::json!([1, 2, 4]), "{t}");
    for n in ["n", "amount", "ok"] {
        assert_eq!(col(n)["empty"], 1, "{n}: {t}");
    }
    // '' is text in a text column; a NOT NULL column gets no NULLs.
    assert!(col("note").is_null() && col("d").is_null(), "{t}");
    let notes = t["untranslatable"].to_string();
    assert!(
        notes.contains("values of ev.d") && notes.contains("NOT NULL: those rows do not fit"),
        "{notes}"
    );

    // --strict refuses every relaxation before writing anything.
    let r = run_into(c, &db, &src, &["--strict", "--on-error", "reject"]);
    r.expect_error(
        65,
        "--strict: the plan relaxes or leaves out 5 objects (values of ev.at, values of ev.d,",
    );
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );
    assert!(!dir.path().join("zero.rejects.jsonl").exists());
    let clean = sqlite_db(
        dir.path(),
        "clean.db",
        "CREATE TABLE k (id INTEGER PRIMARY KEY, at DATETIME); INSERT INTO k VALUES (1, '2020-01-01 00:00:00');",
    );
    run_into(c, &db, &clean, &["--strict"]).expect_code(0);
    c.psql(&db, "DROP TABLE k");
    // No rejected row, no reject file (its default place is beside the source).
    let r = run_into(c, &c.fresh_db("zeroclean"), &clean, &["--on-error", "reject"]);
    r.expect_code(0);
    assert!(r.one("summary")["reject_file"].is_null(), "{r:?}");
    assert!(!dir.path().join("clean.rejects.jsonl").exists());
    // Stopping at the row that cannot arrive names it.
    run_into(c, &db, &src, &[]).expect_error(65, "table ev rowid 3 column d: value '0000-00-00' rejected");
    let rej = dir.path().join("zero.rejects.jsonl");
    let r = run_into(
        c,
        &db,
        &src,
        &["--on-error", "reject", "--reject-file", rej.to_str().unwrap()],
    );
    r.expect_error(65, "1 rows did not arrive: they are in ");
    let rec = &tables(&r)[0];
    assert_eq!(rec["rows_loaded"], 3, "{rec}");
    assert_eq!(rec["rows_rejected"], 1, "{rec}");
    assert_eq!(rec["verified"], true, "{rec}");
    assert_eq!(
        rec["nulled"],
        serde_json::json!({"at": 3, "n": 1, "amount": 1, "ok": 1}),
        "{rec}"
    );
    assert_eq!(r.one("summary")["values_nulled"], 6);
    let line: Value = serde_json::from_str(std::fs::read_to_string(&rej).unwrap().trim()).unwrap();
    assert_eq!((line["rowid"].as_i64(), line["column"].as_str()), (Some(3), Some("d")));
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(concat_ws('|', id, coalesce(at::text, '-'), coalesce(n::text, '-'), coalesce(amount::text, '-'), coalesce(ok::text, '-'), note), ',' ORDER BY id) FROM ev"
        ),
        "1|-|-|-|-|,2|-|5|1.50|true|x,4|-|2|3.00|true|z"
    );
}

/// The user tables of a SQLite file (`sqlite_*` are SQLite's own: statistics, sequences).
fn sqlite_tables(src: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut st = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        .unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn every_fixture_file_migrates_with_every_row_accounted_for() {
    let c = shared();
    let dir = fixture("sqlite");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the SQLite corpus {} cannot be read: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"SQLite format 3\0")))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "no SQLite files in {}", dir.display());
    for src in &files {
        let name = src.file_name().unwrap().to_string_lossy().into_owned();
        let p = mig(&["plan", src.to_str().unwrap()]);
        p.expect_code(0);
        let plan = p.one("migrate.plan");
        // Nothing dropped silently: each user table is planned or named as not migrated.
        let planned: Vec<&str> = plan["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["source"].as_str().unwrap())
            .collect();
        let named = plan["untranslatable"].to_string();
        for t in sqlite_tables(src) {
            assert!(
                planned.contains(&t.as_str()) || named.contains(&format!("table {t}")),
                "{name}: table {t} is neither planned nor named in the plan"
            );
        }
        let db = c.fresh_db("corpus");
        let r = run_into(c, &db, src, &[]);
        r.expect_code(0);
        let recs = tables(&r);
        assert_eq!(recs.len(), planned.len(), "{name}: {r:?}");
        for t in &recs {
            let table = t["table"].as_str().unwrap();
            let n = sqlite_count(src, table);
            assert_eq!(t["rows_read"], n, "{name} {table}");
            assert_eq!(t["rows_loaded"], n, "{name} {table}");
            assert_eq!(t["verified"], true, "{name} {table}");
            let target = t["target"].as_str().unwrap().trim_start_matches("public.");
            let pg: u64 = c
                .psql(
                    &db,
                    &format!("SELECT count(*) FROM \"{}\"", target.replace('"', "\"\"")),
                )
                .parse()
                .unwrap();
            assert_eq!(pg, n, "{name} {table} in PostgreSQL");
        }
        assert_eq!(r.one("summary")["rows_rejected"], 0, "{name}");
        no_staging_left(c, &db);
    }
}

#[test]
fn fts5_and_rtree_rows_arrive_as_plain_tables_and_a_missing_module_is_named() {
    let c = shared();
    let db = c.fresh_db("vtables");
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_db(
        dir.path(),
        "vt.db",
        "CREATE VIRTUAL TABLE docs USING fts5(title, body);
         INSERT INTO docs (rowid, title, body) VALUES (7, 'Postgres', 'moving rows from sqlite'), (9, 'Other', NULL);
         CREATE VIRTUAL TABLE boxes USING rtree(id, min_x, max_x);
         INSERT INTO boxes VALUES (1, 0.5, 2.5), (2, -1, 1);
         CREATE TABLE plain (id INTEGER PRIMARY KEY);
         PRAGMA writable_schema = ON;
         INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'ghost', 'ghost', 0, 'CREATE VIRTUAL TABLE ghost USING nosuchmodule(a)');
         PRAGMA writable_schema = OFF;",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let named = plan["untranslatable"].to_string();
    assert!(
        named.contains("virtual table ghost") && named.contains("missing"),
        "{named}"
    );
    assert!(
        named.contains("table docs_data") && named.contains("table boxes_node"),
        "{named}"
    );
    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    let recs = tables(&r);
    for (t, n) in [("docs", 2), ("boxes", 2), ("plain", 0)] {
        let rec = recs
            .iter()
            .find(|x| x["table"] == t)
            .unwrap_or_else(|| panic!("{t}: {r:?}"));
        assert_eq!(
            (rec["rows_loaded"].as_u64(), rec["verified"].as_bool()),
            (Some(n), Some(true)),
            "{rec}"
        );
    }
    assert!(
        r.one("summary")["not_migrated"]
            .to_string()
            .contains("virtual table ghost"),
        "{r:?}"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(rowid || ':' || title, ',' ORDER BY 1) FROM docs"
        ),
        "7:Postgres,9:Other"
    );
    assert_eq!(
        c.psql(&db, "SELECT title FROM docs WHERE to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(body, '')) @@ 'sqlite'::tsquery"),
        "Postgres"
    );
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'docs_fts'"),
        "1"
    );
    assert_eq!(c.psql(&db, "SELECT sum(max_x - min_x) FROM boxes"), "4");
}

#[test]
fn a_check_postgresql_evaluates_differently_is_created_not_valid_after_the_copy() {
    let c = shared();
    let db = c.fresh_db("checkdiff");
    let dir = tempfile::tempdir().unwrap();
    // SQLite keeps 5 in a NUMERIC column as an integer and divides it as
    // one (2, the CHECK holds); PostgreSQL's numeric division gives 2.5.
    let src = sqlite_db(
        dir.path(),
        "checkdiff.db",
        "CREATE TABLE w (id INTEGER PRIMARY KEY, price NUMERIC CHECK (price / 2 = 2));
         INSERT INTO w (price) VALUES (5);",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    assert_eq!(plan_table(&p.one("migrate.plan"), "w")["checks"][0]["not_valid"], false);
    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    assert!(
        tables(&r)[0]["untranslated"]
            .to_string()
            .contains("existing rows break it in PostgreSQL"),
        "{r:?}"
    );
    assert_eq!(c.psql(&db, "SELECT count(*) FROM w"), "1");
    assert_eq!(
        c.psql(
            &db,
            "SELECT convalidated FROM pg_constraint WHERE contype = 'c' AND conrelid = 'w'::regclass"
        ),
        "f"
    );
}

#[test]
fn every_class_the_issue_names_is_planned_then_kept_or_refused_by_strict() {
    let c = shared();
    let db = c.fresh_db("acceptance");
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_db(
        dir.path(),
        "all.db",
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE users (id integer auto_increment primary key, email TEXT COLLATE NOCASE UNIQUE,
            born TIMESTAMP DEFAULT '0000-01-01T00:00:00.000Z', seen DATETIME DEFAULT '0000-00-00 00:00:00',
            n INTEGER DEFAULT '', qty INTEGER);
         INSERT INTO users VALUES (1, 'ÅSA@x', '0000-06-01 10:00:00', '0000-00-00 00:00:00', '', 1),
                                  (NULL, 'åsa@x', NULL, NULL, 5, -1), (NULL, 'c@x', NULL, '2020-01-01 00:00:00', NULL, 2);
         PRAGMA writable_schema = ON;
         UPDATE sqlite_master SET sql = replace(sql, 'qty INTEGER', 'qty INTEGER CHECK (qty > 0)') WHERE name = 'users';
         PRAGMA writable_schema = OFF;
         CREATE TABLE tags (code text primary key, user_id INTEGER REFERENCES users (id));
         INSERT INTO tags VALUES ('a', 1), (NULL, 99);
         CREATE VIRTUAL TABLE notes USING fts5(body);
         INSERT INTO notes VALUES ('one note');
         PRAGMA writable_schema = ON;
         INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'ghost', 'ghost', 0, 'CREATE VIRTUAL TABLE ghost USING nosuchmodule(a)');
         PRAGMA writable_schema = OFF;",
    );
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let all = plan.to_string();
    for finding in [
        "primary key of users",
        "primary key of tags",
        "unique key users_email_key",
        "check constraint users_check",
        "foreign key tags_user_id_fkey",
        "values of users.seen",
        "values of users.n",
        "default of users.seen",
        "default of users.n",
        "virtual table notes",
        "virtual table ghost",
    ] {
        assert!(all.contains(finding), "{finding} not in the plan: {all}");
    }
    let r = run_into(c, &db, &src, &["--strict"]);
    r.expect_error(65, "--strict: the plan relaxes or leaves out");
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );
    let r = run_into(c, &db, &src, &[]);
    r.expect_code(0);
    for (t, n) in [("users", "3"), ("tags", "2"), ("notes", "1")] {
        assert_eq!(c.psql(&db, &format!("SELECT count(*) FROM {t}")), n, "{t}");
    }
    let sum = r.one("summary");
    assert_eq!(
        (sum["rows_read"].as_u64(), sum["rows_loaded"].as_u64()),
        (Some(6), Some(6)),
        "{sum}"
    );
    assert_eq!(sum["values_nulled"], 2, "{sum}");
    assert_eq!(
        c.psql(&db, "SELECT born FROM users WHERE qty = 1"),
        "0001-06-01 10:00:00 BC"
    );
}

#[path = "sw_migrate_sqlite/corpus.rs"]
mod corpus;
