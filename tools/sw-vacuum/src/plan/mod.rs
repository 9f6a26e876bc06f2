//! The planner: a pure function from one catalog snapshot to a ranked list
//! of actions, so the whole of "what needs doing first" is testable without
//! a server. Ranking tiers, highest first: wraparound urgency, dead tuples,
//! stale or missing statistics, index bloat ([`score`], [`bloat`]). The
//! score is `tier + fraction` (fraction in [0, 1)), so it sorts across
//! tiers. [`action`] holds the actions and the statement each runs.

mod action;
pub mod bloat;
mod score;

use schemars::JsonSchema;
use serde::Serialize;

pub use action::{Action, qualified};
pub use score::URGENT;

use crate::snapshot::{Index, Snapshot, Table};

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

/// One planned action; its serialized fields are those of the
/// `vacuum.plan` record ([`crate::records::PlanRecord`]).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Item {
    /// Position in the database's plan, 1 = most urgent.
    pub rank: usize,
    /// The database.
    pub database: String,
    /// The table's schema (the schema field is the record format's version).
    #[serde(rename = "table_schema")]
    pub schema: String,
    /// The table (for an index action, the index's table).
    pub table: String,
    /// The index for reindex and drop_invalid_index, else null.
    pub index: Option<String>,
    /// What to do.
    pub action: Action,
    /// The statement that does it.
    pub sql: String,
    /// Why, in words (the tier's measure: ages, dead tuples, bloat).
    pub reason: String,
    /// Ranking score: tier (3 wraparound, 2 dead tuples, 1 statistics, 0 indexes) plus a fraction.
    pub score: f64,
    /// The greater of the heap's and TOAST table's age(relfrozenxid).
    pub xid_age: i64,
    /// The greater of the heap's and TOAST table's mxid_age(relminmxid).
    pub mxid_age: i64,
    /// Dead tuples (pg_stat_all_tables.n_dead_tup).
    pub dead_tuples: i64,
    /// Dead tuples as a fraction of all tuples.
    pub dead_ratio: f64,
    /// Rows modified since the last analyze.
    pub mod_since_analyze: i64,
    /// Heap and TOAST size from pg_class.relpages.
    pub table_bytes: i64,
    /// The index's size for index actions, else null.
    pub index_bytes: Option<i64>,
    /// Estimated btree bloat (fraction of its pages) for a bloat reindex, else null.
    pub index_bloat_ratio: Option<f64>,
    /// Why it will not run (autovacuum is on it); null when it runs.
    pub skip: Option<String>,
    /// The table's oid (not printed): the lock check and the statistics
    /// reads find the table by it, whatever its name is now.
    #[serde(skip)]
    pub table_oid: i64,
}

/// Builds the items of one table (the fields every action on it shares).
struct TablePlan<'a> {
    s: &'a Snapshot,
    t: &'a Table,
    /// BUFFER_USAGE_LIMIT when the server takes it.
    buffers: Option<&'a str>,
}

impl TablePlan<'_> {
    fn item(&self, action: Action, score: f64, reason: String) -> Item {
        let t = self.t;
        Item {
            rank: 0,
            database: self.s.database.clone(),
            schema: t.schema.clone(),
            table: t.table.clone(),
            index: None,
            action,
            sql: action.sql(&qualified(&t.schema, &t.table), self.buffers),
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
        }
    }

    fn index_item(&self, ix: &Index, action: Action, score: f64, reason: String, bloat: Option<f64>) -> Item {
        let mut it = self.item(action, score, reason);
        it.index = Some(ix.index.clone());
        it.sql = action.sql(&qualified(&self.t.schema, &ix.index), None);
        it.index_bytes = Some(ix.pages * self.s.block_size);
        it.index_bloat_ratio = bloat;
        it
    }

    /// A partitioned parent: only missing statistics apply; its partitions
    /// are planned on their own.
    fn partitioned(&self) -> Option<Item> {
        (self.t.never_analyzed && self.t.live_tuples > 0).then(|| {
            self.item(
                Action::Analyze,
                1.9999,
                "no statistics on the partitioned table (autovacuum never analyzes it)".to_owned(),
            )
        })
    }

    /// The table's own action, the highest tier that applies; skipped
    /// while another VACUUM is on it unless it is wraparound-urgent.
    fn table_action(&self, p: &Policy) -> Option<Item> {
        let (s, t) = (self.s, self.t);
        let wrap = score::wraparound(t, s, p);
        let mut it = if p.vacuum_full.contains(&format!("{}.{}", t.schema, t.table)) {
            let score = wrap.as_ref().map_or(2.0, |w| w.0);
            self.item(Action::VacuumFull, score, "VACUUM FULL asked for by name".to_owned())
        } else if let Some((score, reason)) = wrap {
            self.item(Action::VacuumFreezeAnalyze, score, reason)
        } else if let Some((score, reason)) = score::dead(t, p) {
            self.item(Action::VacuumAnalyze, score, reason)
        } else {
            let (score, reason) = score::stale(t, p)?;
            self.item(Action::Analyze, score, reason)
        };
        if let Some(who) = &t.vacuum_running
            && it.score < URGENT
        {
            it.skip = Some(format!("{who} is processing it now"));
        }
        Some(it)
    }

    /// The action one index needs, if any: drop a leftover, rebuild an
    /// invalid or bloated one; skipped while a VACUUM is on its table.
    fn index_action(&self, ix: &Index, p: &Policy) -> Option<Item> {
        let mut it = if !ix.valid {
            if ix.build_running {
                return None;
            }
            if is_leftover(&ix.index) {
                let why = "invalid leftover of an interrupted REINDEX CONCURRENTLY";
                self.index_item(ix, Action::DropInvalidIndex, 0.9999, why.to_owned(), None)
            } else {
                let why = "invalid index (failed concurrent build)";
                self.index_item(ix, Action::Reindex, 0.9998, why.to_owned(), None)
            }
        } else {
            let b = bloat::btree_bloat(ix, self.s.block_size, p.min_index_bytes)
                .filter(|b| b.ratio >= p.index_bloat_ratio)?;
            let why = format!(
                "estimated index bloat {:.0}% ({} bytes)",
                b.ratio * 100.0,
                b.bloat_pages * self.s.block_size
            );
            self.index_item(ix, Action::Reindex, b.ratio.min(0.9997), why, Some(b.ratio))
        };
        if let Some(who) = &self.t.vacuum_running {
            it.skip = Some(format!("{who} is processing its table now"));
        }
        Some(it)
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
        let tp = TablePlan { s, t, buffers };
        if t.partitioned {
            items.extend(tp.partitioned());
            continue;
        }
        items.extend(tp.table_action(p));
        if p.reindex {
            let indexes = s.indexes.iter().filter(|i| i.table_oid == t.oid);
            items.extend(indexes.filter_map(|ix| tp.index_action(ix, p)));
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
            oid: t.oid * 100 + i64::try_from(name.len()).unwrap(),
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
}
