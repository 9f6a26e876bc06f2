//! Locks: two deployers at once (the polled advisory lock never holds a
//! snapshot a CREATE INDEX CONCURRENTLY waits on), an ALTER TABLE behind a
//! long transaction (readers wait at most lock_timeout, retries, 75), and
//! the predicted lock of each statement against `pg_locks`.

use super::*;

fn cic_dir() -> tempfile::TempDir {
    migrations_dir(&[
        (
            "0001_t.up.sql",
            "CREATE TABLE t (id int PRIMARY KEY, v int);\nINSERT INTO t SELECT g, g % 100 FROM generate_series(1, 2000) g;\n",
        ),
        ("0001_t.down.sql", "DROP TABLE t;\n"),
        (
            "0002_t_v_idx.up.sql",
            "-- sw:no-transaction\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n",
        ),
        (
            "0002_t_v_idx.down.sql",
            "-- sw:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS t_v_idx;\n",
        ),
    ])
}

/// A transaction with an old snapshot, which any CREATE INDEX CONCURRENTLY
/// on this database waits for; then deployer `a` started and stuck in it.
fn stuck_deployer(c: &TestCluster, db: &str, dir: &Path) -> (Session, Child) {
    schema(c, db, dir, &["up", "--to", "1"]).expect_code(0);
    let mut old = Session::open(c, db, "old_snapshot");
    old.send("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;");
    wait_for(
        c,
        db,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'old_snapshot' AND state = 'idle in transaction' AND backend_xmin IS NOT NULL)",
    );
    let a = spawn(c, db, dir, &["up", "--application-name", "deployer_a"]);
    wait_for(
        c,
        db,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deployer_a' AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock')",
    );
    (old, a)
}

#[test]
fn two_deployers_apply_once_and_cic_completes_while_the_second_waits() {
    let c = shared();
    let db = c.fresh_db("schema_two_deployers");
    let d = cic_dir();
    let (old, a) = stuck_deployer(c, &db, d.path());
    let mut b = spawn(
        c,
        &db,
        d.path(),
        &["up", "--application-name", "deployer_b", "--lock-wait", "60s", "-v"],
    );
    wait_for(
        c,
        &db,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deployer_b')",
    );
    // While it waits, the second deployer sits idle between polls: no
    // transaction, no snapshot, no blocking lock wait; the index build
    // waits for the old snapshot alone.
    let mut idle = 0;
    for _ in 0..20 {
        let row = c.psql(&db, "SELECT state || ' ' || (backend_xmin IS NULL) || ' ' || coalesce(wait_event_type, '-') FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deployer_b'");
        assert!(
            !row.contains("idle in transaction") && !row.ends_with(" Lock"),
            "the waiting deployer: {row}"
        );
        if row.starts_with("idle ") {
            assert!(
                row.starts_with("idle true"),
                "an idle waiting deployer holds no snapshot: {row}"
            );
            idle += 1;
        }
        let blockers = c.psql(
            &db,
            "SELECT string_agg(DISTINCT h.application_name, ',') FROM pg_locks w \
             JOIN pg_locks l ON l.locktype = 'virtualxid' AND l.virtualxid = w.virtualxid AND l.granted \
             JOIN pg_stat_activity h ON h.pid = l.pid \
             WHERE NOT w.granted AND w.pid = (SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deployer_a')",
        );
        assert!(
            blockers == "old_snapshot" || blockers.is_empty(),
            "the index build waits for {blockers}"
        );
        assert!(b.try_wait().unwrap().is_none(), "the second deployer must wait");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(idle > 0, "the second deployer was never seen idle between polls");
    old.close();
    let ra = finish(a);
    ra.expect_code(0);
    assert_eq!(ra.one("summary")["applied"], 1);
    let rb = finish(b);
    rb.expect_code(0);
    assert_eq!(rb.one("summary")["applied"], 0, "{rb:?}");
    assert!(rb.stderr.contains("waiting up to"), "{rb:?}");
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM sw_schema_migrations"
        ),
        "1,2"
    );
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM sw_schema_log WHERE action = 'up'"),
        "2"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass"
        ),
        "t"
    );
}

#[test]
fn a_second_deployer_exits_75_after_lock_wait_and_another_schema_is_not_blocked() {
    let c = shared();
    let db = c.fresh_db("schema_lock_wait");
    let d = cic_dir();
    let (old, a) = stuck_deployer(c, &db, d.path());
    let r = schema(c, &db, d.path(), &["up", "--lock-wait", "1s"]);
    r.expect_error(75, "another deployer holds the lock on schema public (held by pid");
    assert!(r.stderr.contains("deployer_a"), "{r:?}");
    // The lock is per database and schema: another schema's migrations go on.
    let other = migrations_dir(&[("0001_x.up.sql", "CREATE TABLE x (id int);\n")]);
    let r = schema(c, &db, other.path(), &["up", "--schema", "app2", "--lock-wait", "1s"]);
    r.expect_code(0);
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(version::text, ',') FROM app2.sw_schema_migrations"
        ),
        "1"
    );
    assert_eq!(c.psql(&db, "SELECT to_regclass('app2.x') IS NOT NULL"), "t");
    let st = schema(c, &db, other.path(), &["status", "--schema", "app2"]);
    st.expect_code(0);
    assert_eq!(st.one("schema.status")["table_schema"], "app2");
    old.close();
    finish(a).expect_code(0);
    assert_eq!(c.psql(&db, "SELECT count(*) FROM public.sw_schema_migrations"), "2");
}

/// Read `t` over and over while `child` runs; each read may wait for
/// locks at most `bound`. Returns how many reads ran.
fn read_while_running(c: &TestCluster, db: &str, child: &mut Child, bound: Duration) -> usize {
    let sql = format!("SET statement_timeout = {}; SELECT count(*) FROM t", bound.as_millis());
    let start = Instant::now();
    let mut reads = 0;
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "the migration never ended");
        if let Err(e) = c.try_psql(db, &sql) {
            panic!("a reader waited longer than {bound:?} behind the migration: {e}");
        }
        reads += 1;
    }
    reads
}

#[test]
fn an_alter_behind_a_long_transaction_holds_readers_at_most_lock_timeout_retries_and_exits_75() {
    let c = shared();
    let db = c.fresh_db("schema_lock_timeout");
    let d = migrations_dir(&[
        (
            "0001_t.up.sql",
            "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t SELECT generate_series(1, 100);\n",
        ),
        ("0002_note.up.sql", "ALTER TABLE t ADD COLUMN note text;\n"),
    ]);
    schema(c, &db, d.path(), &["up", "--to", "1"]).expect_code(0);
    let mut long = Session::open(c, &db, "long_reader");
    long.send("BEGIN; SELECT count(*) FROM t;");
    wait_for(
        c,
        &db,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'long_reader' AND state = 'idle in transaction')",
    );
    // The ALTER queues behind the long transaction, and every new reader
    // queues behind the ALTER: for lock_timeout (300 ms) per attempt at most.
    let args = [
        "up",
        "--lock-timeout",
        "300ms",
        "--lock-retries",
        "2",
        "--retry-delay",
        "200ms",
    ];
    let mut a = spawn(c, &db, d.path(), &args);
    let reads = read_while_running(c, &db, &mut a, Duration::from_millis(1300));
    assert!(reads > 0);
    let r = finish(a);
    r.expect_error(
        75,
        "migration 0002 note line 1: lock not granted within lock_timeout in 3 attempt(s), nothing applied",
    );
    let m = r.one("schema.migration");
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_u64()),
        (Some("failed"), Some(3))
    );
    assert_eq!(m["locks"][0]["mode"], "access_exclusive");
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'note'"
        ),
        "0"
    );
    assert_eq!(
        c.psql(
            &db,
            "SELECT string_agg(action, ',' ORDER BY id) FROM sw_schema_log WHERE version = 2"
        ),
        "retry,retry,failed"
    );
    // The lock comes during the retries: the migration goes through.
    let mut a = spawn(
        c,
        &db,
        d.path(),
        &[
            "up",
            "--lock-timeout",
            "300ms",
            "--lock-retries",
            "20",
            "--retry-delay",
            "200ms",
        ],
    );
    wait_for(
        c,
        &db,
        "SELECT count(*) > 2 FROM sw_schema_log WHERE version = 2 AND action = 'retry'",
    );
    long.close();
    read_while_running(c, &db, &mut a, Duration::from_millis(1300));
    let r = finish(a);
    r.expect_code(0);
    let m = r.one("schema.migration");
    assert_eq!(m["status"], "applied");
    assert!(m["attempts"].as_u64().unwrap() >= 2, "{m}");
    assert_eq!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'note'"
        ),
        "1"
    );
}

/// pg_locks' modes, weakest first.
const MODES: [&str; 8] = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

#[test]
fn the_predicted_lock_of_each_statement_is_the_one_postgresql_takes() {
    let c = shared();
    let db = c.fresh_db("schema_locks");
    c.psql(
        &db,
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE t (id int PRIMARY KEY, p_id int, v int); CREATE INDEX t_v ON t (v);
         ALTER TABLE t ADD CONSTRAINT t_p_nv FOREIGN KEY (p_id) REFERENCES p (id) NOT VALID;",
    );
    let statements = [
        "CREATE INDEX t_v2 ON t (v)",
        "ALTER TABLE t ADD COLUMN x int",
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p (id) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT t_p_nv",
        "ALTER TABLE t ALTER COLUMN v SET STATISTICS 200",
        "ALTER TABLE t SET (fillfactor = 90)",
        "ALTER TABLE t ALTER COLUMN v TYPE bigint",
        "ALTER TABLE t ADD CONSTRAINT t_v_positive CHECK (v > 0) NOT VALID",
        "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        "TRUNCATE t",
        "DROP TABLE t",
        "LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE",
        "UPDATE t SET v = 1",
        "COMMENT ON TABLE t IS 'x'",
        "ALTER TABLE t RENAME COLUMN v TO w",
        "CREATE TABLE q (id int REFERENCES p (id))",
        "ALTER INDEX t_v RENAME TO t_v_renamed",
        "DROP INDEX t_v",
        "REINDEX TABLE t",
        "ANALYZE t",
    ];
    for sql in statements {
        let st = &sw_schema::sql::split(sql).unwrap()[0];
        let predicted = sw_schema::locks::of(&sw_schema::analyze::analyze(&st.tokens));
        assert!(!predicted.is_empty(), "{sql}: no lock predicted");
        for l in predicted {
            let rel = l.relation.clone().unwrap();
            let oid = c.psql(&db, &format!("SELECT '{rel}'::regclass::oid"));
            let seen = c.psql(
                &db,
                &format!("BEGIN; {sql}; SELECT string_agg(mode, ',') FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = {oid}; ROLLBACK;"),
            );
            let strongest = seen
                .split(',')
                .filter_map(|m| MODES.iter().position(|x| *x == m))
                .max()
                .map(|i| MODES[i]);
            assert_eq!(
                strongest,
                Some(l.mode.pg_name()),
                "{sql}: on {rel} PostgreSQL took {seen}"
            );
        }
    }
}

#[test]
fn a_deployer_killed_during_a_concurrent_index_build_leaves_a_record_status_names_the_invalid_index() {
    let c = shared();
    let db = c.fresh_db("schema_killed");
    let d = cic_dir();
    let (old, mut a) = stuck_deployer(c, &db, d.path());
    a.kill().unwrap();
    let _ = a.wait();
    // The server notices the client is gone (client_connection_check_interval) and cancels the build.
    wait_for(
        c,
        &db,
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deployer_a')",
    );
    let st = schema(c, &db, d.path(), &["status"]);
    st.expect_error(65, "the database does not match");
    let f = &st.one("schema.status")["failed"][0];
    assert_eq!(
        (f["version"].as_i64(), f["statements_done"].as_u64()),
        (Some(2), Some(0)),
        "{f}"
    );
    assert_eq!(f["invalid_indexes"], serde_json::json!(["public.t_v_idx"]));
    assert!(
        f["repair"]
            .as_str()
            .unwrap()
            .starts_with("run DROP INDEX CONCURRENTLY IF EXISTS public.t_v_idx; then sw-schema up"),
        "{f}"
    );
    schema(c, &db, d.path(), &["up"]).expect_error(
        65,
        "migration 0002 stopped part-way and left INVALID index public.t_v_idx",
    );
    old.close();
    c.psql(&db, "DROP INDEX CONCURRENTLY IF EXISTS public.t_v_idx");
    let r = schema(c, &db, d.path(), &["up"]);
    r.expect_code(0);
    assert_eq!(r.one("schema.migration")["statements"][0]["status"], "done");
    schema(c, &db, d.path(), &["status"]).expect_code(0);
    assert_eq!(
        c.psql(
            &db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass"
        ),
        "t"
    );
}
