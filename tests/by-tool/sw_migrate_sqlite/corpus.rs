//! Corpus files made the way applications make them, each migrated with
//! every row accounted for (loaded or individually rejected).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{TestCluster, mig, no_staging_left, run_into, shared, sqlite_count, sqlite_tables, tables};

/// One file holding the classes applications leave behind: MySQL-dump
/// style (backticks, `auto_increment`, zero dates), WITHOUT ROWID with an
/// untyped mixed-affinity column, Unicode identifiers and data (emoji,
/// combining characters), empty and 2 MB BLOBs with AUTOINCREMENT,
/// generated columns, a view, a trigger, JSON-quoted text; read while the
/// writer still holds it in WAL mode with nothing checkpointed.
#[test]
fn an_application_file_in_wal_mode_has_every_row_accounted_for() {
    let c: &TestCluster = shared();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("app.db");
    let writer = rusqlite::Connection::open(&src).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE `users` (`id` integer auto_increment NOT NULL PRIMARY KEY, `name` varchar(255) NOT NULL DEFAULT '', `born` date DEFAULT '0000-00-00', `made` datetime NOT NULL DEFAULT '0000-00-00 00:00:00');
             INSERT INTO users VALUES (1, 'a', '0000-00-00', '0000-00-00 00:00:00'), (2, 'b', '1999-01-02', '2001-02-03 04:05:06');
             CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
             INSERT INTO kv VALUES ('x', 1), ('y', 'two'), ('z', 3.5), ('w', x''), ('v', NULL);
             CREATE TABLE \"naïve 🦄\" (\"clé\" TEXT, \"e\u{301}\" INTEGER);
             INSERT INTO \"naïve 🦄\" VALUES ('🦄 e\u{301}', 1);
             CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB);
             INSERT INTO seq (b) VALUES (x''), (randomblob(2000000)), (NULL);
             CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) STORED, c INTEGER AS (a + 1));
             INSERT INTO g (a) VALUES (1), (2);
             CREATE VIEW vg AS SELECT a, b FROM g;
             CREATE TRIGGER tg AFTER INSERT ON g BEGIN UPDATE g SET a = a WHERE rowid = new.rowid; END;
             CREATE TABLE tags (id INTEGER PRIMARY KEY, tags TEXT, meta JSON);
             INSERT INTO tags VALUES (1, '[\"a\",\"b\"]', '{\"x\": 1}');",
        )
        .unwrap();
    let wal = std::fs::metadata(dir.path().join("app.db-wal")).unwrap().len();
    assert!(wal > 2_000_000, "the rows are still only in the WAL ({wal} bytes)");

    let db = c.fresh_db("appfile");
    let rejects = dir.path().join("app.rejects.jsonl");
    let r = run_into(c, &db, &src, &["--on-error=reject"]);
    // A NOT NULL zero date does not arrive: exit 65, the row in the reject
    // file. The untyped column mixing blobs with numbers and text is bytea,
    // its other values as the bytes SQLite's CAST(x AS BLOB) gives, counted.
    r.expect_error(65, "1 rows did not arrive");
    let mut rejected = 0;
    for t in tables(&r) {
        let (read, loaded, rej) = (&t["rows_read"], &t["rows_loaded"], &t["rows_rejected"]);
        assert_eq!(
            read.as_u64(),
            Some(loaded.as_u64().unwrap() + rej.as_u64().unwrap()),
            "{t}"
        );
        assert_eq!(t["verified"], true, "{t}");
        rejected += rej.as_u64().unwrap();
    }
    let lines = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(lines.lines().count() as u64, rejected);
    assert_eq!(rejected, 1);
    let kv = tables(&r).into_iter().find(|t| t["table"] == "kv").unwrap();
    assert_eq!(kv["cast_to_blob"], serde_json::json!({"v": 3}), "{kv}");
    assert!(
        kv["untranslated"]
            .to_string()
            .contains("values of kv.v: 3 values that are not blobs"),
        "{kv}"
    );
    assert_eq!(r.one("summary")["values_cast_to_blob"], 3);
    for (q, want) in [
        ("SELECT count(*) FROM \"naïve 🦄\" WHERE \"clé\" = '🦄 e\u{301}'", "1"),
        (
            "SELECT string_agg(coalesce(length(b), -1)::text, ',' ORDER BY id) FROM seq",
            "0,2000000,-1",
        ),
        ("SELECT nextval('seq_id_seq')", "4"),
        (
            "SELECT string_agg(a || ':' || b || ':' || c, ',' ORDER BY a) FROM vg JOIN g USING (a, b)",
            "1:2:2,2:4:3",
        ),
        ("SELECT meta->>'x' FROM tags", "1"),
        (
            "SELECT string_agg(k || '=' || coalesce(encode(v, 'escape'), 'NULL'), ',' ORDER BY k) FROM kv",
            "v=NULL,w=,x=1,y=two,z=3.5",
        ),
    ] {
        assert_eq!(c.psql(&db, q), want, "{q}");
    }
    // --strict refuses the conversion, like every other relaxation.
    let strict = c.fresh_db("appfile_strict");
    let r = run_into(c, &strict, &src, &["--strict"]);
    r.expect_error(65, "--strict: the plan relaxes or leaves out");
    assert!(r.stderr.contains("values of kv.v"), "{r:?}");
    drop(writer);
}

/// The generators in `corpus/`: each makes one SQLite file the way an
/// application does (README there).
fn generators() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/by-tool/sw_migrate_sqlite/corpus");
    let mut g: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus generators {} cannot be read: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "py" || x == "sh" || x == "sql"))
        .collect();
    g.sort();
    g
}

/// Runs generator `g` to make `out`; a missing program fails the test,
/// naming it (scripts/test installs them).
fn generate(g: &Path, out: &Path) {
    let ext = g.extension().unwrap().to_string_lossy().into_owned();
    let mut cmd = match ext.as_str() {
        "py" => Command::new("/usr/bin/python3"),
        "sh" => Command::new("bash"),
        _ => Command::new("sqlite3"),
    };
    if ext == "sql" {
        cmd.arg("-bail").arg(out).stdin(std::fs::File::open(g).unwrap());
    } else {
        cmd.arg(g).arg(out);
    }
    let o = cmd.output().unwrap_or_else(|e| {
        panic!(
            "{}: cannot start {:?} ({e}); scripts/test installs what the generators need",
            g.display(),
            cmd.get_program()
        )
    });
    assert!(
        o.status.success() && out.exists(),
        "{} failed ({}), so its file was not made; a missing program (command not found, No module named) is installed by scripts/test:\n{}",
        g.display(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Migrates `src` into a fresh database with `--on-error=reject`: every
/// user table is planned or named, every row of every planned table is in
/// PostgreSQL or in the reject file, counted; the exit code is 65 exactly
/// when some row did not arrive. Returns (rows loaded, rows rejected).
fn accounted(c: &TestCluster, name: &str, src: &Path, dir: &Path) -> (u64, u64) {
    let p = mig(&["plan", src.to_str().unwrap()]);
    p.expect_code(0);
    let plan = p.one("migrate.plan");
    let planned: Vec<String> = plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["source"].as_str().unwrap().to_owned())
        .collect();
    let named = plan.to_string();
    for t in sqlite_tables(src) {
        assert!(
            planned.contains(&t) || named.contains(&format!("table {t}")),
            "{name}: table {t} is neither planned nor named in the plan: {named}"
        );
    }
    let db = c.fresh_db("gen");
    let rejects = dir.join(format!("{name}.rejects.jsonl"));
    let r = run_into(
        c,
        &db,
        src,
        &["--on-error=reject", "--reject-file", rejects.to_str().unwrap()],
    );
    let recs = tables(&r);
    assert_eq!(recs.len(), planned.len(), "{name}: {r:?}");
    let (mut loaded, mut rejected) = (0, 0);
    for t in &recs {
        let table = t["table"].as_str().unwrap();
        let n = sqlite_count(src, table);
        let (l, j) = (t["rows_loaded"].as_u64().unwrap(), t["rows_rejected"].as_u64().unwrap());
        assert_eq!(t["rows_read"], n, "{name} {table}: {t}");
        assert_eq!(l + j, n, "{name} {table}: {t}");
        let target = t["target"].as_str().unwrap().trim_start_matches("public.");
        let pg: u64 = c
            .psql(
                &db,
                &format!("SELECT count(*) FROM \"{}\"", target.replace('"', "\"\"")),
            )
            .parse()
            .unwrap();
        assert_eq!(pg, l, "{name} {table} in PostgreSQL: {t}");
        assert_eq!(t["verified"], true, "{name} {table}: {t}");
        (loaded, rejected) = (loaded + l, rejected + j);
    }
    assert_eq!(r.one("summary")["rows_rejected"], rejected, "{name}");
    if rejected == 0 {
        r.expect_code(0);
        assert!(!rejects.exists(), "{name}: a reject file with no rejected row");
    } else {
        r.expect_code(65);
        let lines = std::fs::read_to_string(&rejects).unwrap();
        assert_eq!(lines.lines().count() as u64, rejected, "{name}");
        eprintln!("{name}: first rejected row: {}", lines.lines().next().unwrap_or(""));
    }
    no_staging_left(c, &db);
    (loaded, rejected)
}

/// Every generator's file (Django, SQLAlchemy, peewee, sqlite-utils,
/// Fossil, SpatiaLite, the sqlite3 shell's archive; browser, Android,
/// Core Data, GeoPackage, WordPress-dump, legacy-typed, STRICT, FTS5 and
/// R*Tree schemas) migrates with every row accounted for.
#[test]
fn every_generated_corpus_file_has_every_row_accounted_for() {
    let c = shared();
    let gens = generators();
    assert!(gens.len() >= 15, "only {} corpus generators", gens.len());
    let dir = tempfile::tempdir().unwrap();
    let mut summary = Vec::new();
    for g in &gens {
        let name = g.file_stem().unwrap().to_string_lossy().into_owned();
        let src = dir.path().join(format!("{name}.db"));
        generate(g, &src);
        let (loaded, rejected) = accounted(c, &name, &src, dir.path());
        assert!(loaded > 0, "{name}: nothing loaded");
        // Only the WordPress dump's zero dates in NOT NULL columns (two
        // drafts' post_date_gmt, a user's user_registered) cannot arrive.
        let want = if name == "wordpress_dump" { 3 } else { 0 };
        assert_eq!(rejected, want, "{name}: rows rejected");
        summary.push(format!("{name}: {loaded} loaded, {rejected} rejected"));
    }
    eprintln!("{}", summary.join("\n"));
}
