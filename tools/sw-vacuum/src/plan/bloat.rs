//! Btree bloat estimated from statistics alone (no pgstattuple, no read of
//! the index): the pages its live tuples need at its fillfactor, against
//! the pages it has. Indexes where that estimate would be unreliable get
//! none, so they are never rebuilt on a guess.

use crate::float::saturating_i64;
use crate::snapshot::Index;

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
    if ix.pages <= 1 || ix.pages.saturating_mul(block_size) < min_bytes {
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
    let expected = saturating_i64(leaf + internal + 1.0);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn index(pages: i64, tuples: f64) -> Index {
        Index {
            oid: 1,
            table_oid: 2,
            index: "i".into(),
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

    #[test]
    fn bloat_estimate_drops_unreliable_rows() {
        // 10k int4 keys fit in ~30 pages: 10,000 pages is ~99% bloat.
        let ix = index(10_000, 10_000.0);
        let b = btree_bloat(&ix, 8192, 0).unwrap();
        assert!(b.ratio > 0.99, "{b:?}");
        assert!((20..60).contains(&b.expected_pages), "{b:?}");
        // A tight index is not bloated.
        let tight = index(b.expected_pages, 10_000.0);
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
