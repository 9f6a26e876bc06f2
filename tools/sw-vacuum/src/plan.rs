//! The planner: a pure function from one catalog snapshot to a ranked list
//! of actions. Ranking tiers, highest first: wraparound urgency, dead
//! tuples, stale or missing statistics, index bloat. The score is
//! `tier + fraction` (fraction in [0, 1)), so it sorts across tiers.

use serde::Serialize;

use crate::snapshot::{Index, Snapshot, Table};

/// What to do to one table or index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    VacuumFreezeAnalyze,
    VacuumAnalyze,
    Analyze,
    Reindex,
    DropInvalidIndex,
    VacuumFull,
}

impl Action {
    /// The lock this action takes on the table, for the conflict pre-check.
    pub fn exclusive(self) -> bool {
        matches!(self, Action::VacuumFull)
    }

    /// Whether the action is on an index rather than on the table.
    pub fn on_index(self) -> bool {
        matches!(self, Action::Reindex | Action::DropInvalidIndex)
    }

    /// The SQL for an object (already quoted, schema-qualified);
    /// `buffers` is a BUFFER_USAGE_LIMIT (PostgreSQL 16+) for VACUUM/ANALYZE.
    pub fn sql(self, qualified: &str, buffers: Option<&str>) -> String {
        let b = buffers
            .map(|b| format!(", BUFFER_USAGE_LIMIT '{b}'"))
            .unwrap_or_default();
        match self {
            Action::VacuumFreezeAnalyze => format!("VACUUM (FREEZE, ANALYZE, SKIP_LOCKED{b}) {qualified}"),
            Action::VacuumAnalyze => format!("VACUUM (ANALYZE, SKIP_LOCKED{b}) {qualified}"),
            Action::Analyze => format!("ANALYZE (SKIP_LOCKED{b}) {qualified}"),
            Action::Reindex => format!("REINDEX INDEX CONCURRENTLY {qualified}"),
            Action::DropInvalidIndex => format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"),
            Action::VacuumFull => format!("VACUUM (FULL, ANALYZE, SKIP_LOCKED) {qualified}"),
        }
    }

    /// The key used for learned rates in the state file.
    pub fn rate_key(self) -> &'static str {
        match self {
            Action::VacuumFreezeAnalyze | Action::VacuumAnalyze => "vacuum",
            Action::Analyze => "analyze",
            Action::Reindex | Action::DropInvalidIndex => "reindex",
            Action::VacuumFull => "vacuum_full",
        }
    }
}

/// Thresholds and choices (from flags).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Wraparound-urgent at this fraction of autovacuum_(multixact_)freeze_max_age.
    pub freeze_ratio: f64,
    /// Absolute xid age that counts as urgent (overrides the ratio when lower).
    pub freeze_age: Option<i64>,
    pub min_dead_tuples: i64,
    pub min_dead_ratio: f64,
    /// Stale statistics: modified rows above 50 + ratio * reltuples.
    pub analyze_ratio: f64,
    pub index_bloat_ratio: f64,
    pub min_index_bytes: i64,
    /// `schema.table` names for VACUUM FULL (asked for by name).
    pub vacuum_full: Vec<String>,
    pub reindex: bool,
    /// BUFFER_USAGE_LIMIT for VACUUM and ANALYZE (used on PostgreSQL 16+ only).
    pub buffer_usage_limit: Option<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            freeze_ratio: 0.8,
            freeze_age: None,
            min_dead_tuples: 1000,
            min_dead_ratio: 0.1,
            analyze_ratio: 0.1,
            index_bloat_ratio: 0.5,
            min_index_bytes: 8 << 20,
            vacuum_full: Vec::new(),
            reindex: true,
            buffer_usage_limit: None,
        }
    }
}

/// One planned action.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub rank: usize,
    pub database: String,
    /// `table_schema` in records: `schema` is the record format's version.
    #[serde(rename = "table_schema")]
    pub schema: String,
    pub table: String,
    pub index: Option<String>,
    pub action: Action,
    pub sql: String,
    pub reason: String,
    pub score: f64,
    pub xid_age: i64,
    pub mxid_age: i64,
    pub dead_tuples: i64,
    pub dead_ratio: f64,
    pub mod_since_analyze: i64,
    pub table_bytes: i64,
    pub index_bytes: Option<i64>,
    pub index_bloat_ratio: Option<f64>,
    /// Why it will not run (autovacuum is on it); null when it runs.
    pub skip: Option<String>,
    #[serde(skip)]
    pub table_oid: i64,
    #[serde(skip)]
    pub object_oid: i64,
}

/// A btree size estimate from statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloatEstimate {
    pub expected_pages: i64,
    pub bloat_pages: i64,
    pub ratio: f64,
}

/// Estimate btree bloat from statistics, or None when the estimate would
/// be unreliable: not btree, expressions, columns without statistics,
/// never analysed, or smaller than `min_bytes`.
pub fn btree_bloat(ix: &Index, block_size: i64, min_bytes: i64) -> Option<BloatEstimate> {
    if ix.am != "btree" || ix.has_expressions || ix.missing_stats > 0 || !ix.valid || ix.columns == 0 {
        return None;
    }
    if ix.pages <= 1 || ix.pages * block_size < min_bytes {
        return None;
    }
    let tuples = if ix.tuples >= 0.0 { ix.tuples } else { ix.table_tuples };
    if tuples < 0.0 {
        return None;
    }
    // IndexTupleData (8) + null bitmap when nullable columns have nulls,
    // then the key data, MAXALIGNed; plus a 4-byte line pointer.
    let nullmap = if ix.null_frac > 0.0 { 8.0 } else { 0.0 };
    let tuple = maxalign(8.0 + nullmap + ix.width) + 4.0;
    let usable = (block_size - 24 - 16) as f64 * f64::from(ix.fillfactor.clamp(10, 100)) / 100.0;
    let leaf = (tuples * tuple / usable).ceil();
    // Internal pages: about one per (usable / tuple) leaf pages; plus the meta page.
    let internal = (leaf / (usable / tuple).max(2.0)).ceil();
    let expected = (leaf + internal + 1.0) as i64;
    let bloat = (ix.pages - expected).max(0);
    Some(BloatEstimate {
        expected_pages: expected,
        bloat_pages: bloat,
        ratio: bloat as f64 / ix.pages as f64,
    })
}

fn maxalign(x: f64) -> f64 {
    (x / 8.0).ceil() * 8.0
}

/// Map an unbounded non-negative value into [0, 1) keeping its order.
fn squash(x: f64) -> f64 {
    let x = x.max(0.0);
    (x / (x + 1.0)).min(0.9999)
}

/// `schema.name`, each part quoted as needed.
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    format!(
        "{}.{}",
        sw_core::pg::quote_ident(schema),
        sw_core::pg::quote_ident(name)
    )
}

fn wraparound(t: &Table, s: &Snapshot, p: &Policy) -> Option<(f64, String)> {
    let xid_limit = s.freeze_max_age.max(1) as f64;
    let mxid_limit = s.multixact_freeze_max_age.max(1) as f64;
    let xid_frac = t.xid_age as f64 / xid_limit;
    let mxid_frac = t.mxid_age as f64 / mxid_limit;
    let by_ratio = xid_frac >= p.freeze_ratio || mxid_frac >= p.freeze_ratio;
    let by_age = p.freeze_age.is_some_and(|a| t.xid_age >= a);
    if !(by_ratio || by_age) {
        return None;
    }
    let frac = xid_frac.max(mxid_frac);
    let reason = if !by_ratio {
        format!(
            "xid age {} (at or above --freeze-age {})",
            t.xid_age,
            p.freeze_age.unwrap_or(0)
        )
    } else if mxid_frac > xid_frac {
        format!(
            "multixact age {} ({:.0}% of autovacuum_multixact_freeze_max_age)",
            t.mxid_age,
            mxid_frac * 100.0
        )
    } else {
        format!(
            "xid age {} ({:.0}% of autovacuum_freeze_max_age)",
            t.xid_age,
            xid_frac * 100.0
        )
    };
    Some((3.0 + squash(frac), reason))
}

fn dead(t: &Table, p: &Policy) -> Option<(f64, String)> {
    let ratio = t.dead_ratio();
    if t.dead_tuples >= p.min_dead_tuples.max(1) && ratio >= p.min_dead_ratio {
        Some((
            2.0 + ratio.min(0.9999),
            format!("{} dead tuples ({:.1}%)", t.dead_tuples, ratio * 100.0),
        ))
    } else {
        None
    }
}

fn stale(t: &Table, p: &Policy) -> Option<(f64, String)> {
    // ANALYZE never analyses pg_statistic itself.
    if t.schema == "pg_catalog" && t.table == "pg_statistic" {
        return None;
    }
    let rows = t.reltuples.max(0.0);
    if t.never_analyzed && (t.live_tuples > 0 || t.heap_bytes > 0) {
        return Some((1.9999, "no statistics (never analyzed)".to_owned()));
    }
    let threshold = 50.0 + p.analyze_ratio * rows;
    if t.mod_since_analyze as f64 > threshold {
        let frac = t.mod_since_analyze as f64 / rows.max(1.0);
        Some((
            1.0 + squash(frac),
            format!("{} rows modified since the last analyze", t.mod_since_analyze),
        ))
    } else {
        None
    }
}

/// Plan one database's snapshot: every action, ranked, best first.
pub fn plan(s: &Snapshot, p: &Policy) -> Vec<Item> {
    let mut items = Vec::new();
    let buffers = p
        .buffer_usage_limit
        .as_deref()
        .filter(|_| s.server_version_num >= 160_000);
    for t in &s.tables {
        let qname = format!("{}.{}", t.schema, t.table);
        let base = |action: Action, score: f64, reason: String| Item {
            rank: 0,
            database: s.database.clone(),
            schema: t.schema.clone(),
            table: t.table.clone(),
            index: None,
            action,
            sql: action.sql(&qualified(&t.schema, &t.table), buffers),
            reason,
            score,
            xid_age: t.xid_age,
            mxid_age: t.mxid_age,
            dead_tuples: t.dead_tuples,
            dead_ratio: t.dead_ratio(),
            mod_since_analyze: t.mod_since_analyze,
            table_bytes: t.heap_bytes + t.toast_bytes,
            index_bytes: None,
            index_bloat_ratio: None,
            skip: None,
            table_oid: t.oid,
            object_oid: t.oid,
        };
        if t.partitioned {
            // Only missing statistics apply; its partitions are planned on their own.
            if t.never_analyzed && t.live_tuples > 0 {
                items.push(base(
                    Action::Analyze,
                    1.9999,
                    "no statistics on the partitioned table (autovacuum never analyzes it)".to_owned(),
                ));
            }
            continue;
        }
        let wrap = wraparound(t, s, p);
        let table_item = if p.vacuum_full.contains(&qname) {
            let score = wrap.as_ref().map_or(2.0, |w| w.0);
            Some(base(
                Action::VacuumFull,
                score,
                "VACUUM FULL asked for by name".to_owned(),
            ))
        } else if let Some((score, reason)) = wrap {
            Some(base(Action::VacuumFreezeAnalyze, score, reason))
        } else if let Some((score, reason)) = dead(t, p) {
            Some(base(Action::VacuumAnalyze, score, reason))
        } else {
            stale(t, p).map(|(score, reason)| base(Action::Analyze, score, reason))
        };
        let urgent = table_item.as_ref().is_some_and(|i| i.score >= 3.0);
        if let Some(mut it) = table_item {
            if let Some(who) = &t.vacuum_running
                && !urgent
            {
                it.skip = Some(format!("{who} is processing it now"));
            }
            items.push(it);
        }
        if !p.reindex {
            continue;
        }
        for ix in s.indexes.iter().filter(|i| i.table_oid == t.oid) {
            let index_item = |action: Action, score: f64, reason: String, bloat: Option<f64>| {
                let mut it = base(action, score, reason);
                it.index = Some(ix.index.clone());
                it.sql = action.sql(&qualified(&t.schema, &ix.index), None);
                it.index_bytes = Some(ix.pages * s.block_size);
                it.index_bloat_ratio = bloat;
                it.object_oid = ix.oid;
                it
            };
            let mut it = if !ix.valid {
                if ix.build_running {
                    continue;
                }
                if is_leftover(&ix.index) {
                    index_item(
                        Action::DropInvalidIndex,
                        0.9999,
                        "invalid leftover of an interrupted REINDEX CONCURRENTLY".to_owned(),
                        None,
                    )
                } else {
                    index_item(
                        Action::Reindex,
                        0.9998,
                        "invalid index (failed concurrent build)".to_owned(),
                        None,
                    )
                }
            } else if let Some(b) = btree_bloat(ix, s.block_size, p.min_index_bytes)
                && b.ratio >= p.index_bloat_ratio
            {
                index_item(
                    Action::Reindex,
                    b.ratio.min(0.9997),
                    format!(
                        "estimated index bloat {:.0}% ({} bytes)",
                        b.ratio * 100.0,
                        b.bloat_pages * s.block_size
                    ),
                    Some(b.ratio),
                )
            } else {
                continue;
            };
            if let Some(who) = &t.vacuum_running {
                it.skip = Some(format!("{who} is processing its table now"));
            }
            items.push(it);
        }
    }
    rank(&mut items);
    items
}

/// `name_ccnew`, `name_ccnew1`, `name_ccold`, ...: REINDEX CONCURRENTLY leftovers.
pub fn is_leftover(index: &str) -> bool {
    ["_ccnew", "_ccold"].iter().any(|suffix| {
        index
            .rfind(suffix)
            .is_some_and(|at| index[at + suffix.len()..].chars().all(|c| c.is_ascii_digit()))
    })
}

/// Sort best first (score, then dead tuples, then size) and number the ranks.
pub fn rank(items: &mut [Item]) {
    items.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.dead_tuples.cmp(&a.dead_tuples))
            .then(b.table_bytes.cmp(&a.table_bytes))
            .then(a.schema.cmp(&b.schema))
            .then(a.table.cmp(&b.table))
            .then(a.index.cmp(&b.index))
    });
    for (i, it) in items.iter_mut().enumerate() {
        it.rank = i + 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn table(name: &str) -> Table {
        Table {
            oid: name.bytes().map(i64::from).sum(),
            schema: "public".into(),
            table: name.into(),
            heap_bytes: 8192 * 100,
            toast_bytes: 0,
            reltuples: 10_000.0,
            xid_age: 1000,
            mxid_age: 0,
            live_tuples: 10_000,
            dead_tuples: 0,
            mod_since_analyze: 0,
            never_analyzed: false,
            vacuum_running: None,
            partitioned: false,
        }
    }

    fn snap(tables: Vec<Table>, indexes: Vec<Index>) -> Snapshot {
        Snapshot {
            database: "app".into(),
            block_size: 8192,
            freeze_max_age: 200_000_000,
            multixact_freeze_max_age: 400_000_000,
            server_version_num: 150_000,
            tables,
            indexes,
        }
    }

    fn index(t: &Table, name: &str, pages: i64, tuples: f64) -> Index {
        Index {
            oid: t.oid * 100 + name.len() as i64,
            table_oid: t.oid,
            index: name.into(),
            am: "btree".into(),
            pages,
            tuples,
            table_tuples: tuples,
            valid: true,
            has_expressions: false,
            columns: 1,
            missing_stats: 0,
            width: 4.0,
            null_frac: 0.0,
            fillfactor: 90,
            build_running: false,
        }
    }

    fn names(items: &[Item]) -> Vec<(String, Action)> {
        items
            .iter()
            .map(|i| (i.index.clone().unwrap_or_else(|| i.table.clone()), i.action))
            .collect()
    }

    #[test]
    fn wraparound_beats_dead_tuples_beats_stale_stats_beats_bloat() {
        let mut dead = table("dead");
        dead.dead_tuples = 9_000;
        dead.live_tuples = 1_000;
        let mut old = table("old");
        old.xid_age = 170_000_000; // 85% of 200M
        let mut stale = table("stale");
        stale.mod_since_analyze = 5_000;
        let quiet = table("quiet");
        let mut toast_old = table("toast_old");
        toast_old.mxid_age = 390_000_000; // 97.5% of the multixact limit
        let bloated = index(&quiet, "quiet_pkey", 10_000, 10_000.0);
        let s = snap(vec![dead, old, stale, quiet, toast_old], vec![bloated]);
        let items = plan(&s, &Policy::default());
        assert_eq!(
            names(&items),
            vec![
                ("toast_old".into(), Action::VacuumFreezeAnalyze),
                ("old".into(), Action::VacuumFreezeAnalyze),
                ("dead".into(), Action::VacuumAnalyze),
                ("stale".into(), Action::Analyze),
                ("quiet_pkey".into(), Action::Reindex),
            ]
        );
        assert_eq!(items.iter().map(|i| i.rank).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        assert!(items[0].reason.contains("multixact"), "{}", items[0].reason);
        assert!(items[1].reason.contains("85%"), "{}", items[1].reason);
        assert!(items.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn more_dead_ranks_higher_and_small_counts_are_ignored() {
        let mut a = table("a");
        a.dead_tuples = 2_000;
        a.live_tuples = 8_000;
        let mut b = table("b");
        b.dead_tuples = 6_000;
        b.live_tuples = 4_000;
        let mut tiny = table("tiny");
        tiny.dead_tuples = 10;
        tiny.live_tuples = 1;
        let items = plan(&snap(vec![a, b, tiny], vec![]), &Policy::default());
        assert_eq!(
            names(&items),
            vec![("b".into(), Action::VacuumAnalyze), ("a".into(), Action::VacuumAnalyze)]
        );
    }

    #[test]
    fn autovacuum_running_skips_unless_near_wraparound() {
        let mut busy = table("busy");
        busy.dead_tuples = 5_000;
        busy.vacuum_running = Some("autovacuum".into());
        let mut busy_old = table("busy_old");
        busy_old.xid_age = 190_000_000;
        busy_old.vacuum_running = Some("autovacuum".into());
        let items = plan(&snap(vec![busy, busy_old], vec![]), &Policy::default());
        assert_eq!(items[0].table, "busy_old");
        assert_eq!(items[0].skip, None);
        assert_eq!(items[1].table, "busy");
        assert_eq!(items[1].skip.as_deref(), Some("autovacuum is processing it now"));
    }

    #[test]
    fn freeze_age_override_and_never_analyzed() {
        let mut young = table("young");
        young.xid_age = 5_000;
        let mut fresh = table("fresh");
        fresh.never_analyzed = true;
        let mut empty = table("empty");
        empty.never_analyzed = true;
        empty.live_tuples = 0;
        empty.heap_bytes = 0;
        let p = Policy {
            freeze_age: Some(2_000),
            ..Policy::default()
        };
        let mut stat = table("pg_statistic");
        stat.schema = "pg_catalog".into();
        stat.mod_since_analyze = 1_000_000;
        let items = plan(&snap(vec![young, fresh, empty, stat], vec![]), &p);
        assert_eq!(
            names(&items),
            vec![
                ("young".into(), Action::VacuumFreezeAnalyze),
                ("fresh".into(), Action::Analyze)
            ]
        );
        assert!(items[1].reason.contains("never analyzed"));
    }

    #[test]
    fn partitioned_parents_are_only_analyzed_when_they_lack_statistics() {
        let mut parent = table("parent");
        parent.partitioned = true;
        parent.never_analyzed = true;
        parent.xid_age = 0;
        parent.dead_tuples = 0;
        let mut analyzed = parent.clone();
        analyzed.table = "analyzed".into();
        analyzed.never_analyzed = false;
        analyzed.mod_since_analyze = 1_000_000;
        let mut empty = parent.clone();
        empty.table = "empty".into();
        empty.live_tuples = 0;
        let items = plan(&snap(vec![parent, analyzed, empty], vec![]), &Policy::default());
        assert_eq!(names(&items), vec![("parent".into(), Action::Analyze)]);
    }

    #[test]
    fn invalid_indexes_and_leftovers() {
        let t = table("t");
        let mut bad = index(&t, "t_email_idx", 10, 10_000.0);
        bad.valid = false;
        let mut left = index(&t, "t_pkey_ccnew", 10, 10_000.0);
        left.valid = false;
        let mut building = index(&t, "t_new_idx", 10, 10_000.0);
        building.valid = false;
        building.build_running = true;
        let items = plan(&snap(vec![t], vec![bad, left, building]), &Policy::default());
        assert_eq!(
            names(&items),
            vec![
                ("t_pkey_ccnew".into(), Action::DropInvalidIndex),
                ("t_email_idx".into(), Action::Reindex)
            ]
        );
        assert_eq!(items[1].sql, "REINDEX INDEX CONCURRENTLY \"public\".\"t_email_idx\"");
        assert!(is_leftover("x_ccold2") && !is_leftover("x_ccnewer") && !is_leftover("plain"));
    }

    #[test]
    fn buffer_usage_limit_only_on_16_and_later() {
        let mut t = table("t");
        t.dead_tuples = 9_000;
        let p = Policy {
            buffer_usage_limit: Some("256MB".into()),
            ..Policy::default()
        };
        let mut s = snap(vec![t], vec![]);
        assert_eq!(plan(&s, &p)[0].sql, "VACUUM (ANALYZE, SKIP_LOCKED) \"public\".\"t\"");
        s.server_version_num = 160_002;
        assert_eq!(
            plan(&s, &p)[0].sql,
            "VACUUM (ANALYZE, SKIP_LOCKED, BUFFER_USAGE_LIMIT '256MB') \"public\".\"t\""
        );
    }

    #[test]
    fn vacuum_full_only_by_name() {
        let mut t = table("t");
        t.dead_tuples = 9_000;
        let mut u = table("u");
        u.dead_tuples = 9_000;
        let p = Policy {
            vacuum_full: vec!["public.u".into()],
            ..Policy::default()
        };
        let items = plan(&snap(vec![t, u], vec![]), &p);
        let acts: Vec<Action> = items.iter().map(|i| i.action).collect();
        assert!(acts.contains(&Action::VacuumFull) && acts.contains(&Action::VacuumAnalyze));
        assert!(plan(&snap(vec![table("x")], vec![]), &Policy::default()).is_empty());
    }

    #[test]
    fn bloat_estimate_drops_unreliable_rows() {
        let t = table("t");
        // 10k int4 keys fit in ~30 pages: 10,000 pages is ~99% bloat.
        let ix = index(&t, "i", 10_000, 10_000.0);
        let b = btree_bloat(&ix, 8192, 0).unwrap();
        assert!(b.ratio > 0.99, "{b:?}");
        assert!((20..60).contains(&b.expected_pages), "{b:?}");
        // A tight index is not bloated.
        let tight = index(&t, "j", b.expected_pages, 10_000.0);
        assert!(btree_bloat(&tight, 8192, 0).unwrap().ratio < 0.05);
        // Unreliable: expression, missing stats, hash, small, never analysed.
        let mut e = ix.clone();
        e.has_expressions = true;
        assert!(btree_bloat(&e, 8192, 0).is_none());
        let mut m = ix.clone();
        m.missing_stats = 1;
        assert!(btree_bloat(&m, 8192, 0).is_none());
        let mut h = ix.clone();
        h.am = "hash".into();
        assert!(btree_bloat(&h, 8192, 0).is_none());
        assert!(btree_bloat(&ix, 8192, 10_000 * 8192 + 1).is_none());
        let mut n = ix;
        n.tuples = -1.0;
        n.table_tuples = -1.0;
        assert!(btree_bloat(&n, 8192, 0).is_none());
    }
}
