//! The ranking tiers: each function says whether a table needs its kind of
//! work and with what score (`tier + fraction`, fraction in [0, 1), so
//! scores sort across tiers) and why, in words for the record's `reason`.
//! Tiers, highest first: 3 wraparound, 2 dead tuples, 1 stale or missing
//! statistics; index bloat (tier 0) is scored in [`super::bloat`].

use super::Policy;
use crate::snapshot::{Snapshot, Table};

/// The score from which an action is wraparound-urgent.
pub const URGENT: f64 = 3.0;

/// Map an unbounded non-negative value into [0, 1) keeping its order.
pub fn squash(x: f64) -> f64 {
    let x = x.max(0.0);
    (x / (x + 1.0)).min(0.9999)
}

/// Tier 3: transaction-id or multixact age past `--freeze-ratio` of the
/// autovacuum limits, or past `--freeze-age`.
pub fn wraparound(t: &Table, s: &Snapshot, p: &Policy) -> Option<(f64, String)> {
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
    Some((URGENT + squash(frac), reason))
}

/// Tier 2: at least `--min-dead-tuples` dead tuples making up at least
/// `--min-dead-ratio` of the table.
pub fn dead(t: &Table, p: &Policy) -> Option<(f64, String)> {
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

/// Tier 1: no statistics, or more than 50 + `--analyze-ratio` x rows
/// modified since the last analyze.
pub fn stale(t: &Table, p: &Policy) -> Option<(f64, String)> {
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
