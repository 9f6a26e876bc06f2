//! What only the CREATE TABLE text says, beyond SQLite's pragmas: column
//! collations, CHECK constraints, generated columns' expressions,
//! AUTOINCREMENT, the primary key's constraint name, WITHOUT ROWID and
//! which foreign keys are deferrable.

use std::collections::HashMap;

use crate::sql::{self, Tok};

/// What the CREATE TABLE text adds to the pragmas.
#[derive(Default)]
pub(super) struct Parsed {
    /// Column (lower-cased) to its collation (lower-cased).
    pub collate: HashMap<String, String>,
    /// CHECK constraints: (constraint name or empty, condition).
    pub checks: Vec<(String, Vec<Tok>)>,
    pub autoincrement: bool,
    /// Generated column (lower-cased) to its expression.
    pub generated: HashMap<String, Vec<Tok>>,
    pub pk_name: Option<String>,
    pub without_rowid: bool,
    /// Deferrable foreign keys: (child columns, lower-cased; initially deferred).
    pub deferrable: Vec<(Vec<String>, bool)>,
}

/// Read a CREATE TABLE statement (what cannot be tokenized adds nothing).
pub(super) fn parse_create_table(sql: &str) -> Parsed {
    let mut p = Parsed::default();
    let Ok(toks) = sql::tokenize(sql) else { return p };
    let Some(open) = toks.iter().position(|t| *t == Tok::LParen) else {
        return p;
    };
    let Some((body, after)) = sql::group(&toks, open) else {
        return p;
    };
    p.without_rowid = toks[after..].iter().any(|t| t.is_kw("rowid"));
    for item in sql::split_commas(body) {
        p.item(&item);
    }
    p
}

impl Parsed {
    /// One column definition or table constraint.
    fn item(&mut self, item: &[Tok]) {
        let first = &item[0];
        let table_constraint = ["constraint", "primary", "unique", "check", "foreign"]
            .iter()
            .any(|k| first.is_kw(k));
        let col = if table_constraint {
            None
        } else {
            first.ident().map(str::to_owned)
        };
        let mut cname: Option<String> = None;
        let mut i = usize::from(!table_constraint);
        while i < item.len() {
            let t = &item[i];
            if t.is_kw("constraint") {
                cname = item.get(i + 1).and_then(Tok::ident).map(str::to_owned);
                i += 2;
                continue;
            }
            if t.is_kw("primary") && (table_constraint || (col.is_some() && cname.is_some())) {
                self.pk_name.clone_from(&cname);
            }
            if t.is_kw("autoincrement") {
                self.autoincrement = true;
            }
            if t.is_kw("deferrable") && !(i > 0 && item[i - 1].is_kw("not")) {
                self.deferrable(item, i, col.as_deref());
            }
            if t.is_kw("collate")
                && let (Some(c), Some(n)) = (&col, item.get(i + 1).and_then(Tok::ident))
            {
                self.collate.insert(c.to_lowercase(), n.to_lowercase());
            }
            i = self
                .expression(item, i, col.as_deref(), cname.as_deref())
                .unwrap_or(i + 1);
        }
    }

    /// DEFERRABLE at `i` of a foreign key: of column `col`, or of the
    /// columns of the table constraint's `FOREIGN KEY (...)`.
    fn deferrable(&mut self, item: &[Tok], i: usize, col: Option<&str>) {
        let deferred = item.get(i + 1).is_some_and(|x| x.is_kw("initially"))
            && item.get(i + 2).is_some_and(|x| x.is_kw("deferred"));
        let cols: Vec<String> = if let Some(c) = col {
            vec![c.to_lowercase()]
        } else {
            item.iter()
                .position(|x| x.is_kw("key"))
                .and_then(|k| sql::group(item, k + 1))
                .map(|(g, _)| g.iter().filter_map(Tok::ident).map(str::to_lowercase).collect())
                .unwrap_or_default()
        };
        self.deferrable.push((cols, deferred));
    }

    /// `CHECK (...)` or a generated column's `AS (...)` at `i`: kept, and
    /// the position after it.
    fn expression(&mut self, item: &[Tok], i: usize, col: Option<&str>, cname: Option<&str>) -> Option<usize> {
        let t = &item[i];
        if t.is_kw("check") {
            let (g, next) = sql::group(item, i + 1)?;
            self.checks.push((cname.unwrap_or_default().to_owned(), g.to_vec()));
            return Some(next);
        }
        if t.is_kw("as")
            && let Some(c) = col
        {
            let (g, next) = sql::group(item, i + 1)?;
            self.generated.insert(c.to_lowercase(), g.to_vec());
            return Some(next);
        }
        None
    }
}
