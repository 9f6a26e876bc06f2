//! PostgreSQL names for SQLite ones: shortened to 63 bytes without
//! collisions, handed out once per namespace, and the map a translator
//! looks SQLite names up in.

use std::collections::{HashMap, HashSet};

use md5::{Digest, Md5};

/// The longest name PostgreSQL keeps (NAMEDATALEN - 1).
pub const MAX_NAME: usize = 63;

/// Shorten a name to 63 bytes: a prefix cut at a character boundary plus
/// `_` and 8 hex digits of its MD5, so different long names stay different.
pub fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_owned();
    }
    let digest = Md5::digest(name.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut cut = MAX_NAME - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}", &name[..cut])
}

/// Hands out PostgreSQL names in one namespace without collisions.
#[derive(Debug, Default)]
pub struct Names {
    used: HashSet<String>,
}

/// PostgreSQL's system columns: every table has them, so no column can
/// take their names (an R*Tree's `xmin`, `xmax`).
pub const SYSTEM_COLUMNS: [&str; 6] = ["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

impl Names {
    /// The names of one table's columns: the system columns' names are
    /// taken, so a column named like one gets a counter (`xmin_2`).
    pub fn columns() -> Self {
        Names {
            used: SYSTEM_COLUMNS.iter().map(|&s| s.to_owned()).collect(),
        }
    }

    /// Reserve `want` (shortened if needed); on a collision, append a counter.
    pub fn take(&mut self, want: &str) -> String {
        let base = shorten(want);
        if self.used.insert(base.clone()) {
            return base;
        }
        for n in 2.. {
            let suffix = format!("_{n}");
            let mut cut = (MAX_NAME - suffix.len()).min(base.len());
            while !base.is_char_boundary(cut) {
                cut -= 1;
            }
            let cand = format!("{}{suffix}", &base[..cut]);
            if self.used.insert(cand.clone()) {
                return cand;
            }
        }
        unreachable!("the counter is unbounded")
    }
}

/// What a translator knows about names: SQLite name (lower-cased) to the
/// PostgreSQL name, and which columns are boolean.
#[derive(Debug, Default, Clone)]
pub struct NameMap {
    pub names: HashMap<String, String>,
    pub booleans: HashSet<String>,
}

impl NameMap {
    pub fn add(&mut self, sqlite: &str, pg: &str) {
        self.names.entry(sqlite.to_lowercase()).or_insert_with(|| pg.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_keeps_names_apart() {
        let a = "a".repeat(70);
        let b = format!("{}b", "a".repeat(69));
        assert_eq!(shorten(&a).len(), 63);
        assert_ne!(shorten(&a), shorten(&b));
        let mut n = Names::default();
        assert_eq!(n.take("x"), "x");
        assert_eq!(n.take("x"), "x_2");
        let mut c = Names::columns();
        assert_eq!(c.take("xmin"), "xmin_2");
        assert_eq!(c.take("XMIN"), "XMIN");
        let long = "é".repeat(40);
        assert!(shorten(&long).len() <= 63);
    }
}
