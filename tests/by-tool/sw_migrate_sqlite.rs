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
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sw_migrate%'"
        ),
        "0"
    );
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
    again.expect_code(73);
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
    r.expect_code(65);
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    let badplan = dir.path().join("plan.json");
    std::fs::write(&badplan, "{\"nope\":1}").unwrap();
    let url = c.url("postgres");
    mig(&["run", "--plan", badplan.to_str().unwrap(), "--db", &url]).expect_code(65);
    mig(&["run"]).expect_code(64);
    mig(&["run", "x.db", "--truncate"]).expect_code(64);
}
