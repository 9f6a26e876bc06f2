//! sw-vacuum end to end: the real binary against a real cluster. (The
//! systemd units and the maintenance pipeline script are tested in
//! tests/pipelines.rs.)

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_testkit::cmd::{self, Run};
use sw_testkit::pg::{TestCluster, shared};

const BIN: &str = env!("CARGO_BIN_EXE_sw-vacuum");

struct Env {
    _dir: tempfile::TempDir,
    state: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    Env { _dir: dir, state }
}

fn vacuum(c: &TestCluster, db: &str, e: &Env, args: &[&str]) -> Run {
    let url = c.url(db);
    let mut all = vec!["--db", url.as_str(), "--state-file", e.state.to_str().unwrap()];
    all.extend_from_slice(args);
    cmd::run(BIN.as_ref(), &all, None)
}

fn of_kind(r: &Run, kind: &str) -> Vec<Value> {
    r.records().into_iter().filter(|v| v["kind"] == kind).collect()
}

fn for_table<'a>(recs: &'a [Value], table: &str) -> Vec<&'a Value> {
    recs.iter().filter(|v| v["table"] == table).collect()
}

/// A table with `rows` rows whose every row was then updated once (all
/// old versions dead); autovacuum off on it so only we clean it.
fn bloated(c: &TestCluster, db: &str, name: &str, rows: u32, pad: u32) {
    c.psql(
        db,
        &format!(
            "CREATE TABLE {name} (id int PRIMARY KEY, v int, pad text) WITH (autovacuum_enabled = false);
             INSERT INTO {name} SELECT g, 0, repeat('x', {pad}) FROM generate_series(1, {rows}) g;"
        ),
    );
    // Separate sessions: each one's statistics are flushed when it ends.
    c.psql(db, &format!("VACUUM ANALYZE {name}"));
    c.psql(db, &format!("UPDATE {name} SET v = v + 1"));
}

fn dead_tuples(c: &TestCluster, db: &str, table: &str) -> i64 {
    c.psql(
        db,
        &format!("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '{table}'"),
    )
    .parse()
    .unwrap()
}

fn active_statements(c: &TestCluster, app: &str) -> String {
    c.psql(
        "postgres",
        &format!(
            "SELECT string_agg(query, ' | ') FROM pg_stat_activity WHERE application_name = '{app}' AND state = 'active'"
        ),
    )
}

/// The dry run of `mass_update_bloat_is_ranked_first_and_cleaned`: "hot"
/// first, "stale" analysed, "quiet" left alone, nothing changed.
fn check_plan_of_hot_stale_quiet(c: &TestCluster, db: &str, r: &Run) {
    r.expect_code(0);
    let plan = of_kind(r, "vacuum.plan");
    assert!(!plan.is_empty(), "{r:?}");
    assert_eq!(plan[0]["table"], "hot", "{r:?}");
    assert_eq!(plan[0]["action"], "vacuum_analyze");
    assert_eq!(plan[0]["rank"], 1);
    assert_eq!(plan[0]["schema"], 1, "the record format version is not overwritten");
    assert_eq!(plan[0]["table_schema"], "public");
    assert!(plan[0]["reason"].as_str().unwrap().contains("dead tuples"));
    assert!(plan[0]["score"].as_f64().unwrap() >= 2.0);
    let stale: Vec<_> = plan.iter().filter(|p| p["table"] == "stale").collect();
    assert_eq!(stale.len(), 1, "{r:?}");
    assert_eq!(stale[0]["action"], "analyze");
    assert!(plan.iter().all(|p| p["table"] != "quiet"), "{r:?}");
    assert!(!r.stdout.contains(&c.password));
    assert_eq!(r.one("summary")["dry_run"], true);
    // The dry run changed nothing.
    let before = dead_tuples(c, db, "hot");
    assert!(before >= 19_000, "{before}");
}

/// The real run of `mass_update_bloat_is_ranked_first_and_cleaned`.
fn check_hot_and_stale_cleaned(c: &TestCluster, db: &str, r: &Run) {
    r.expect_code(0);
    let recs = of_kind(r, "vacuum.table");
    let hot = for_table(&recs, "hot");
    assert_eq!(hot.len(), 1, "{r:?}");
    assert_eq!(hot[0]["status"], "done", "{r:?}");
    assert_eq!(hot[0]["schema"], 1);
    assert_eq!(hot[0]["table_schema"], "public");
    assert!(hot[0]["dead_tuples_before"].as_i64().unwrap() >= 19_000, "{r:?}");
    assert!(hot[0]["dead_tuples_after"].as_i64().unwrap() < 100, "{r:?}");
    assert!(hot[0]["duration_ms"].as_u64().is_some());
    assert!(hot[0]["size_before_bytes"].as_i64().unwrap() > 0);
    assert!(dead_tuples(c, db, "hot") < 100);
    assert_eq!(for_table(&recs, "stale")[0]["status"], "done");
    let s = r.one("summary");
    assert_eq!(s["failed"], 0, "{r:?}");
    assert!(s["done"].as_u64().unwrap() >= 2);
}

#[test]
fn mass_update_bloat_is_ranked_first_and_cleaned() {
    let c = shared();
    let db = c.fresh_db("vac_rank");
    c.psql(
        &db,
        "CREATE TABLE quiet (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO quiet SELECT generate_series(1, 1000);
         CREATE TABLE stale (id int) WITH (autovacuum_enabled = false);
         INSERT INTO stale SELECT generate_series(1, 1000);",
    );
    c.psql(&db, "VACUUM ANALYZE quiet; VACUUM ANALYZE stale");
    c.psql(&db, "INSERT INTO stale SELECT generate_series(1, 5000)");
    bloated(c, &db, "hot", 20_000, 10);
    let e = env();
    let r = vacuum(c, &db, &e, &["--dry-run"]);
    check_plan_of_hot_stale_quiet(c, &db, &r);

    let r = vacuum(c, &db, &e, &["--jobs", "2"]);
    check_hot_and_stale_cleaned(c, &db, &r);
    // Learned durations are kept for the next run's time budget.
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&e.state).unwrap()).unwrap();
    assert!(
        state["runs"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.ends_with("public.hot/vacuum")),
        "{state}"
    );
    // Nothing left to do on a second look.
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "public.*"]);
    assert!(of_kind(&r, "vacuum.plan").is_empty(), "{r:?}");
}

/// A psql session holding a lock until dropped (its stdin stays open, so
/// the transaction does too).
struct Holder(Child, #[allow(dead_code)] ChildStdin);

impl Holder {
    fn lock(c: &TestCluster, db: &str, sql: &str) -> Holder {
        let mut child = c
            .runner()
            .command("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&c.socket_dir)
            .args(["-p", &c.port.to_string(), "-U", "postgres", "-d", db])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "BEGIN; {sql}; SELECT 'held';").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "held");
        Holder(child, stdin)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_locked_table_is_skipped_without_waiting_in_the_lock_queue() {
    let c = shared();
    let db = c.fresh_db("vac_lock");
    bloated(c, &db, "held", 5_000, 10);
    bloated(c, &db, "free", 5_000, 10);
    let _h = Holder::lock(c, &db, "LOCK TABLE held IN ACCESS EXCLUSIVE MODE");
    let e = env();
    // A 30 s lock timeout: finishing well before it proves we never queued.
    let start = Instant::now();
    let r = vacuum(c, &db, &e, &["--lock-timeout", "30s", "--table", "public.*"]);
    let took = start.elapsed();
    r.expect_code(0);
    assert!(took < Duration::from_secs(15), "took {took:?}: {r:?}");
    let recs = of_kind(&r, "vacuum.table");
    let held = for_table(&recs, "held");
    assert_eq!(held.len(), 1, "{r:?}");
    assert_eq!(held[0]["status"], "skipped");
    let why = held[0]["skip_reason"].as_str().unwrap();
    assert!(why.contains("locked") && why.contains("AccessExclusiveLock"), "{why}");
    assert_eq!(for_table(&recs, "free")[0]["status"], "done", "{r:?}");
    assert!(dead_tuples(c, &db, "held") >= 4_900);
    // And with the default 1 s lock timeout the run is just as quick.
    let start = Instant::now();
    let r = vacuum(c, &db, &e, &["--table", "held"]);
    r.expect_code(0);
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(r.one("vacuum.table")["status"], "skipped");
}

#[test]
fn an_invalid_index_from_a_failed_concurrent_build_is_rebuilt() {
    let c = shared();
    let db = c.fresh_db("vac_invalid");
    c.psql(
        &db,
        "CREATE TABLE users (id int, email text);
         INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 2000) g;
         INSERT INTO users VALUES (0, 'u1');
         ANALYZE users;",
    );
    let failed_build = |name: &str| {
        let err = c
            .try_psql(
                &db,
                &format!("CREATE UNIQUE INDEX CONCURRENTLY {name} ON users (email)"),
            )
            .unwrap_err();
        assert!(err.contains("duplicate"), "{err}");
    };
    let valid = || {
        c.psql(
            &db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email'::regclass",
        )
    };
    failed_build("users_email");
    assert_eq!(valid(), "f");
    let e = env();
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "users"]);
    let plan = of_kind(&r, "vacuum.plan");
    let ix: Vec<_> = plan.iter().filter(|p| p["index"] == "users_email").collect();
    assert_eq!(ix.len(), 1, "{r:?}");
    assert_eq!(ix[0]["action"], "reindex");
    assert!(ix[0]["reason"].as_str().unwrap().contains("invalid"));
    assert_eq!(ix[0]["sql"], "REINDEX INDEX CONCURRENTLY \"public\".\"users_email\"");

    // While the duplicate is there the rebuild fails too: the action fails
    // (exit 65, a data error) and the _ccnew copy it left is dropped at once.
    let r = vacuum(c, &db, &e, &["--table", "users"]);
    r.expect_error(65, "1 of ");
    let recs = of_kind(&r, "vacuum.table");
    let failed: Vec<_> = recs.iter().filter(|v| v["index"] == "users_email").collect();
    assert_eq!(failed[0]["status"], "failed", "{r:?}");
    let msg = failed[0]["error"].as_str().unwrap();
    assert!(msg.contains("dropped the leftover users_email_ccnew"), "{msg}");
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%ccnew%'"),
        "0"
    );

    // A leftover of an interrupted REINDEX CONCURRENTLY (an invalid _ccnew) is dropped.
    failed_build("users_id_ccnew");
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "users"]);
    let plan = of_kind(&r, "vacuum.plan");
    let left: Vec<_> = plan.iter().filter(|p| p["index"] == "users_id_ccnew").collect();
    assert_eq!(left[0]["action"], "drop_invalid_index", "{r:?}");

    c.psql(&db, "DELETE FROM users WHERE id = 0");
    let r = vacuum(c, &db, &e, &["--table", "users"]);
    r.expect_code(0);
    let recs = of_kind(&r, "vacuum.table");
    assert!(recs.iter().all(|v| v["status"] == "done"), "{r:?}");
    assert_eq!(valid(), "t");
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%ccnew%'"),
        "0"
    );
    assert_eq!(c.psql(&db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
}

#[test]
fn wraparound_age_ranks_first_and_is_frozen_and_partitioned_parents_get_statistics() {
    let c = shared();
    let db = c.fresh_db("vac_freeze");
    bloated(c, &db, "busy", 3_000, 10);
    c.psql(
        &db,
        "CREATE TABLE old (id int) WITH (autovacuum_enabled = false);
         INSERT INTO old SELECT generate_series(1, 100);
         CREATE TABLE events (at int, v int) PARTITION BY RANGE (at);
         CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (1000)
           WITH (autovacuum_enabled = false);
         INSERT INTO events SELECT g, g FROM generate_series(0, 999) g;",
    );
    c.psql(&db, "VACUUM ANALYZE old; ANALYZE events_1");
    // Age "old" by 60 transactions (each psql -c below is one).
    for _ in 0..6 {
        c.psql(&db, "SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current(); SELECT txid_current()");
    }
    let age = |t: &str| -> i64 {
        c.psql(
            &db,
            &format!("SELECT age(relfrozenxid) FROM pg_class WHERE relname = '{t}'"),
        )
        .parse()
        .unwrap()
    };
    assert!(age("old") >= 60);
    let e = env();
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "public.*", "--freeze-age", "50"]);
    let plan = of_kind(&r, "vacuum.plan");
    // Every table is now past the (tiny) freeze age, so freezing outranks
    // the dead tuples in "busy"; "old" gets a FREEZE though nothing else is wrong with it.
    assert_eq!(plan[0]["action"], "vacuum_freeze_analyze", "{r:?}");
    let old: Vec<_> = plan.iter().filter(|p| p["table"] == "old").collect();
    assert_eq!(old[0]["action"], "vacuum_freeze_analyze", "{r:?}");
    assert!(old[0]["reason"].as_str().unwrap().contains("--freeze-age 50"), "{r:?}");
    let parent: Vec<_> = plan.iter().filter(|p| p["table"] == "events").collect();
    assert_eq!(parent.len(), 1, "{r:?}");
    assert_eq!(parent[0]["action"], "analyze");

    let r = vacuum(c, &db, &e, &["--table", "public.*", "--freeze-age", "50"]);
    r.expect_code(0);
    let recs = of_kind(&r, "vacuum.table");
    assert!(recs.iter().all(|v| v["status"] == "done"), "{r:?}");
    assert!(age("old") < 50, "relfrozenxid did not advance");
    assert!(
        c.psql(
            &db,
            "SELECT count(*) FROM pg_stats WHERE tablename = 'events' AND inherited"
        )
        .parse::<i64>()
        .unwrap()
            > 0
    );
}

#[test]
fn a_bloated_btree_is_estimated_and_rebuilt_smaller() {
    let c = shared();
    let db = c.fresh_db("vac_bloat");
    c.psql(
        &db,
        "CREATE TABLE b (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false);
         INSERT INTO b SELECT g, g FROM generate_series(1, 200000) g;",
    );
    // Every leaf page keeps a tenth of its entries: nothing for btree
    // page deletion, about 90% bloat.
    c.psql(&db, "DELETE FROM b WHERE id % 10 <> 0");
    c.psql(&db, "VACUUM ANALYZE b");
    let e = env();
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "b", "--min-index-mb", "1"]);
    let plan = of_kind(&r, "vacuum.plan");
    assert_eq!(plan.len(), 1, "{r:?}");
    assert_eq!(plan[0]["index"], "b_pkey");
    assert_eq!(plan[0]["action"], "reindex");
    let ratio = plan[0]["index_bloat_ratio"].as_f64().unwrap();
    assert!(ratio > 0.8, "{r:?}");
    // Below the minimum size the estimate is not trusted.
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "b", "--min-index-mb", "64"]);
    assert!(of_kind(&r, "vacuum.plan").is_empty(), "{r:?}");

    let r = vacuum(c, &db, &e, &["--table", "b", "--min-index-mb", "1"]);
    r.expect_code(0);
    let rec = r.one("vacuum.table");
    assert_eq!(rec["status"], "done", "{r:?}");
    let before = rec["size_before_bytes"].as_i64().unwrap();
    let after = rec["size_after_bytes"].as_i64().unwrap();
    assert!(after * 3 < before, "{before} -> {after}");
}

/// A table whose VACUUM takes minutes under `--cost-delay 100ms --cost-limit 1`.
fn slow_table(c: &TestCluster, db: &str, name: &str) {
    bloated(c, db, name, 40_000, 100);
}

#[test]
fn the_time_budget_is_respected() {
    let c = shared();
    let db = c.fresh_db("vac_budget");
    slow_table(c, &db, "slow");
    bloated(c, &db, "huge", 2_000, 10);
    let e = env();
    // A past run of "huge" that took an hour: it must not even start.
    std::fs::write(
        &e.state,
        format!(r#"{{"version":1,"rates":{{}},"runs":{{"{db}/public.huge/vacuum":{{"ms":3600000,"bytes":98304}}}}}}"#),
    )
    .unwrap();
    let app = format!("swv_budget_{}", std::process::id());
    let start = Instant::now();
    let r = vacuum(
        c,
        &db,
        &e,
        &[
            "--time-budget",
            "3s",
            "--cost-delay",
            "100ms",
            "--cost-limit",
            "1",
            "--table",
            "public.*",
            "--application-name",
            &app,
        ],
    );
    let took = start.elapsed();
    r.expect_code(0);
    assert!(took < Duration::from_secs(13), "took {took:?}: {r:?}");
    let recs = of_kind(&r, "vacuum.table");
    let huge = for_table(&recs, "huge");
    assert_eq!(huge[0]["status"], "skipped", "{r:?}");
    assert!(
        huge[0]["skip_reason"].as_str().unwrap().starts_with("time budget"),
        "{r:?}"
    );
    let slow = for_table(&recs, "slow");
    assert_eq!(slow[0]["status"], "timeout", "{r:?}");
    assert_eq!(active_statements(c, &app), "");
    let s = r.one("summary");
    assert_eq!(s["timeout"], 1);
    assert_eq!(s["time_budget_ms"], 3000);
}

/// sw-vacuum on `table` (a --table pattern), throttled so its VACUUM runs
/// for long, in the background; returns once that VACUUM is active.
fn start_throttled(c: &TestCluster, db: &str, e: &Env, app: &str, table: &str) -> Child {
    let url = c.url(db);
    let child = cmd::command(BIN.as_ref())
        .args(["--db", &url, "--state-file", e.state.to_str().unwrap()])
        .args(["--cost-delay", "100ms", "--cost-limit", "1", "--table", table])
        .args(["--application-name", app])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !active_statements(c, app).contains("VACUUM") {
        assert!(start.elapsed() < Duration::from_secs(30), "VACUUM never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[test]
fn a_running_vacuum_gives_way_to_a_session_queued_behind_it() {
    let c = shared();
    let db = c.fresh_db("vac_yield");
    slow_table(c, &db, "slow");
    let e = env();
    let app = format!("swv_yield_{}", std::process::id());
    let child = start_throttled(c, &db, &e, &app, "slow");
    // An ALTER TABLE-like lock request queues behind our VACUUM: we cancel
    // ours within a second or so instead of holding it (and every reader
    // that would queue behind it) up until the VACUUM ends.
    let t = Instant::now();
    c.psql(
        &db,
        "SET lock_timeout = '20s'; BEGIN; LOCK TABLE slow IN ACCESS EXCLUSIVE MODE; COMMIT;",
    );
    assert!(t.elapsed() < Duration::from_secs(10), "waited {:?}", t.elapsed());
    let out = Run::of(BIN.as_ref(), &child.wait_with_output().unwrap());
    out.expect_code(0);
    let rec = out.one("vacuum.table");
    assert_eq!(rec["status"], "skipped", "{out:?}");
    let why = rec["skip_reason"].as_str().unwrap();
    assert!(
        why.starts_with("yielded: pid") && why.contains("AccessExclusiveLock on slow"),
        "{why}"
    );
    assert_eq!(active_statements(c, &app), "");
}

#[test]
fn a_table_dropped_after_the_plan_is_skipped_not_failed() {
    let c = shared();
    let db = c.fresh_db("vac_gone");
    slow_table(c, &db, "slow");
    bloated(c, &db, "gone", 2_000, 10);
    let e = env();
    let app = format!("swv_gone_{}", std::process::id());
    // One job: "slow" (more dead tuples) first, then "gone".
    let child = start_throttled(c, &db, &e, &app, "public.*");
    c.psql(&db, "DROP TABLE gone");
    // (and make the slow one give way, so the run moves on)
    c.psql(
        &db,
        "SET lock_timeout = '20s'; BEGIN; LOCK TABLE slow IN ACCESS EXCLUSIVE MODE; COMMIT;",
    );
    let out = Run::of(BIN.as_ref(), &child.wait_with_output().unwrap());
    out.expect_code(0);
    let recs = of_kind(&out, "vacuum.table");
    let gone = for_table(&recs, "gone");
    assert_eq!(gone[0]["status"], "skipped", "{out:?}");
    assert!(
        gone[0]["skip_reason"].as_str().unwrap().starts_with("no longer exists"),
        "{out:?}"
    );
    assert_eq!(out.one("summary")["failed"], 0);
}

#[test]
fn sigterm_cancels_our_statements_and_exits_75() {
    let c = shared();
    let db = c.fresh_db("vac_term");
    slow_table(c, &db, "slow");
    let e = env();
    let app = format!("swv_term_{}", std::process::id());
    let child = start_throttled(c, &db, &e, &app, "slow");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = Run::of(BIN.as_ref(), &child.wait_with_output().unwrap());
    out.expect_code(75);
    assert!(out.stderr.contains("interrupted (SIGTERM)"), "{}", out.stderr);
    assert_eq!(active_statements(c, &app), "", "a statement of ours is still running");
    let recs = of_kind(&out, "vacuum.table");
    assert_eq!(recs[0]["status"], "canceled", "{out:?}");
    assert_eq!(out.one("summary")["interrupted"], true);
}

#[test]
fn a_table_another_vacuum_is_processing_is_skipped() {
    let c = shared();
    let db = c.fresh_db("vac_busy");
    slow_table(c, &db, "busy");
    // Another session's throttled VACUUM, seen in pg_stat_progress_vacuum.
    let mut other = c
        .runner()
        .command("psql")
        .args(["-X", "-q", "-h"])
        .arg(&c.socket_dir)
        .args(["-p", &c.port.to_string(), "-U", "postgres", "-d", &db])
        .args(["-c", "SET application_name = 'other_vacuum'"])
        .args([
            "-c",
            "SET vacuum_cost_delay = 100",
            "-c",
            "SET vacuum_cost_limit = 1",
            "-c",
            "VACUUM busy",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while c.psql(
        &db,
        "SELECT count(*) FROM pg_stat_progress_vacuum WHERE relid = 'busy'::regclass",
    ) != "1"
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the other VACUUM never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let e = env();
    let r = vacuum(c, &db, &e, &["--dry-run", "--table", "busy"]);
    let plan = r.one("vacuum.plan");
    assert_eq!(plan["skip"], "another session's VACUUM is processing it now", "{r:?}");
    let r = vacuum(c, &db, &e, &["--table", "busy"]);
    r.expect_code(0);
    let rec = r.one("vacuum.table");
    assert_eq!(rec["status"], "skipped");
    assert_eq!(rec["skip_reason"], "another session's VACUUM is processing it now");
    c.psql(
        "postgres",
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'other_vacuum'",
    );
    let _ = other.wait();
}

#[test]
fn vacuum_full_runs_only_on_the_table_named() {
    let c = shared();
    let db = c.fresh_db("vac_full");
    bloated(c, &db, "named", 5_000, 100);
    bloated(c, &db, "other", 5_000, 100);
    let e = env();
    let r = vacuum(c, &db, &e, &["--table", "public.*", "--vacuum-full", "public.named"]);
    r.expect_code(0);
    let recs = of_kind(&r, "vacuum.table");
    let named = for_table(&recs, "named");
    assert_eq!(named[0]["action"], "vacuum_full", "{r:?}");
    assert_eq!(named[0]["status"], "done", "{r:?}");
    let before = named[0]["size_before_bytes"].as_i64().unwrap();
    let after = named[0]["size_after_bytes"].as_i64().unwrap();
    assert!(after * 3 < before * 2, "{before} -> {after}");
    assert_eq!(for_table(&recs, "other")[0]["action"], "vacuum_analyze");
}

#[test]
fn a_guard_above_its_limit_pauses_then_skips() {
    let c = shared();
    let db = c.fresh_db("vac_guard");
    bloated(c, &db, "t", 2_000, 10);
    let e = env();
    let r = vacuum(
        c,
        &db,
        &e,
        &[
            "--table",
            "t",
            "--max-connection-use",
            "0",
            "--max-pause",
            "1s",
            "--guard-interval",
            "300ms",
        ],
    );
    r.expect_code(0);
    let rec = r.one("vacuum.table");
    assert_eq!(rec["status"], "skipped");
    assert!(rec["skip_reason"].as_str().unwrap().contains("connection use"), "{r:?}");
    assert!(r.one("summary")["paused_ms"].as_u64().unwrap() >= 900);
    assert!(dead_tuples(c, &db, "t") >= 1_900);
}

#[test]
fn a_lagging_standby_pauses_the_run_then_it_skips() {
    // A dedicated primary: its standby's lag would pause every other test.
    let c = TestCluster::start();
    let db = c.fresh_db("vac_lag");
    bloated(&c, &db, "t", 2_000, 10);
    let sb = c.start_standby(&[("wal_receiver_status_interval", "1s")]);
    sb.psql("SELECT pg_wal_replay_pause()");
    c.psql("postgres", "CREATE TABLE behind AS SELECT generate_series(1, 10000) g");
    let lag = "SELECT COALESCE(max(EXTRACT(epoch FROM replay_lag)), 0) > 1.5 FROM pg_stat_replication";
    let start = Instant::now();
    while c.psql("postgres", lag) != "t" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the standby never fell behind"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let e = env();
    let args = [
        "--table",
        "t",
        "--max-replication-lag",
        "1s",
        "--max-pause",
        "1s",
        "--guard-interval",
        "300ms",
    ];
    let r = vacuum(&c, &db, &e, &args);
    r.expect_code(0);
    let rec = r.one("vacuum.table");
    assert_eq!(rec["status"], "skipped", "{r:?}");
    let why = rec["skip_reason"].as_str().unwrap();
    assert!(
        why.contains("replication lag") && why.contains("--max-replication-lag 1s"),
        "{why}"
    );
    assert!(r.one("summary")["paused_ms"].as_u64().unwrap() >= 900);
    assert!(dead_tuples(&c, &db, "t") >= 1_900);
    // Under the default limit (5 minutes) the same lag does not hold it up.
    let r = vacuum(&c, &db, &e, &["--table", "t"]);
    r.expect_code(0);
    assert_eq!(r.one("vacuum.table")["status"], "done", "{r:?}");
    assert_eq!(r.one("summary")["paused_ms"], 0);
    sb.psql("SELECT pg_wal_replay_resume()");
}

#[test]
fn database_patterns_and_bad_input() {
    let c = shared();
    let db = c.fresh_db("vac_pattern");
    bloated(c, &db, "t", 2_000, 10);
    let e = env();
    let r = vacuum(
        c,
        "postgres",
        &e,
        &["--dry-run", "--database", &db, "--table", "public.*"],
    );
    r.expect_code(0);
    let plan = of_kind(&r, "vacuum.plan");
    assert!(plan.iter().all(|p| p["database"] == db.as_str()), "{r:?}");
    assert_eq!(plan.len(), 1, "{r:?}");
    let r = vacuum(
        c,
        "postgres",
        &e,
        &["--dry-run", "--database", &db, "--exclude-database", "t_*"],
    );
    assert!(of_kind(&r, "vacuum.plan").is_empty(), "{r:?}");
    // A window longer than statement_timeout can hold (int4 milliseconds)
    // runs without a statement limit instead of failing every action.
    let r = vacuum(c, &db, &e, &["--time-budget", "30d"]);
    r.expect_code(0);
    let done = of_kind(&r, "vacuum.table");
    assert!(done.iter().any(|t| t["table"] == "t" && t["status"] == "done"), "{r:?}");

    for (bad, says) in [
        (vec!["--freeze-ratio", "2"], "--freeze-ratio must be between 0 and 1"),
        (vec!["--cost-delay", "1s"], "--cost-delay must be at most 100ms"),
        (vec!["--jobs", "0"], "invalid value '0' for '--jobs <N>'"),
        (vec!["--vacuum-full", "nodot"], "--vacuum-full takes SCHEMA.TABLE"),
        (
            vec!["--buffer-usage-limit", "lots"],
            "--buffer-usage-limit takes a size",
        ),
        (
            vec!["--max-connection-use", "150"],
            "--max-connection-use must be a percentage",
        ),
        (vec!["--lock-timeout", "0"], "--lock-timeout must be more than 0"),
        (vec!["--time-budget", "100000000000000000d"], "invalid value"),
        // The shared flag group's --statement-timeout: hidden here, since
        // each statement runs until the time budget ends.
        (vec!["--statement-timeout", "5s"], "--statement-timeout does not apply"),
    ] {
        vacuum(c, &db, &e, &bad).expect_error(64, says);
    }
    let r = cmd::run(
        BIN.as_ref(),
        &["--db", "postgresql://u:secretpw@127.0.0.1:1/x", "--dry-run"],
        None,
    );
    r.expect_error(69, "connecting to ");
    assert!(!r.stderr.contains("secretpw"));
}

/// The shared connection flags sw-vacuum takes: the target from
/// --env-file, --connect-timeout, --lock-timeout and --application-name.
#[test]
fn the_shared_connection_flags_work() {
    let c = shared();
    let db = c.fresh_db("vac_conn");
    bloated(c, &db, "t", 2_000, 10);
    let e = env();
    let env_file = e.state.with_file_name("db.env");
    std::fs::write(&env_file, format!("DATABASE_URL={}\n", c.url(&db))).unwrap();
    let r = cmd::run(
        BIN.as_ref(),
        &[
            "--env-file",
            env_file.to_str().unwrap(),
            "--state-file",
            e.state.to_str().unwrap(),
            "--connect-timeout",
            "5s",
            "--lock-timeout",
            "2s",
            "--application-name",
            "swv_conn",
            "--table",
            "t",
        ],
        None,
    );
    r.expect_code(0);
    assert_eq!(r.one("vacuum.table")["status"], "done", "{r:?}");
    let missing = e.state.with_file_name("missing.env");
    cmd::run(
        BIN.as_ref(),
        &["--env-file", missing.to_str().unwrap(), "--dry-run"],
        None,
    )
    .expect_error(66, "opening ");
}

#[test]
fn a_database_owner_without_superuser_can_plan_and_run() {
    let c = shared();
    let db = c.fresh_db("vac_owner");
    let role = format!("{db}_owner");
    c.psql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'owner-pw-1234'; ALTER DATABASE {db} OWNER TO {role}"),
    );
    c.psql(
        &db,
        &format!("CREATE TABLE theirs (id int); ALTER TABLE theirs OWNER TO {role}"),
    );
    bloated(c, &db, "mine", 3_000, 10);
    c.psql(&db, &format!("ALTER TABLE mine OWNER TO {role}"));
    c.psql(&db, "CREATE TABLE foreign_owned (id int)");
    c.psql(&db, "INSERT INTO foreign_owned SELECT generate_series(1, 100)");
    let e = env();
    let url = format!(
        "postgresql://{role}:owner-pw-1234@127.0.0.1:{}/{db}?sslmode=disable",
        c.port
    );
    let r = cmd::run(
        BIN.as_ref(),
        &[
            "--db",
            &url,
            "--state-file",
            e.state.to_str().unwrap(),
            "--table",
            "public.*",
        ],
        None,
    );
    r.expect_code(0);
    let recs = of_kind(&r, "vacuum.table");
    assert_eq!(for_table(&recs, "mine")[0]["status"], "done", "{r:?}");
    assert!(dead_tuples(c, &db, "mine") < 100);
    // A database owner may vacuum every table in it (PostgreSQL 15), so
    // a superuser's table is planned too; no action failed.
    assert_eq!(r.one("summary")["failed"], 0, "{r:?}");
}
