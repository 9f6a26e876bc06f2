//! What a statement does, as far as locks and lint rules care: which
//! statement it is, on which relations, and for `ALTER TABLE` each action.
//!
//! This is not a full SQL parser. It reads the leading keywords of the
//! statements a migration uses (CREATE/ALTER/DROP TABLE and INDEX, TRUNCATE,
//! triggers, DML, LOCK, REINDEX, VACUUM, SET ...) from the tokens of
//! [`crate::sql`]; anything else is [`Stmt::Other`] (no table lock) or
//! [`Stmt::Unknown`] (`DO`, `CALL`: it may lock anything), and the lock
//! report says so rather than guess.

use crate::sql::Tok;
mod table;

pub use table::{Action, ColumnDef, column_def, norm_type};
use table::{alter, referenced};

/// A statement, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    CreateTable {
        name: String,
        columns: Vec<ColumnDef>,
        references: Vec<String>,
    },
    CreateIndex {
        name: Option<String>,
        table: String,
        concurrently: bool,
    },
    AlterTable {
        table: String,
        actions: Vec<Action>,
    },
    DropTable(Vec<String>),
    DropIndex {
        names: Vec<String>,
        concurrently: bool,
    },
    /// DROP VIEW, MATERIALIZED VIEW, SEQUENCE: ACCESS EXCLUSIVE on each.
    DropRelation(Vec<String>),
    Truncate(Vec<String>),
    CreateTrigger(String),
    DropTrigger(String),
    Lock {
        names: Vec<String>,
        mode: crate::locks::Mode,
    },
    /// INSERT, UPDATE, DELETE, MERGE on a table.
    Dml(String),
    /// REINDEX INDEX (`index`) or TABLE/SCHEMA/DATABASE.
    Reindex {
        name: String,
        concurrently: bool,
        index: bool,
    },
    /// VACUUM or ANALYZE (VACUUM cannot run in a transaction block).
    Maintenance {
        names: Vec<String>,
        vacuum: bool,
    },
    /// COMMENT ON TABLE/COLUMN.
    Comment(String),
    /// ALTER INDEX; `rename` for RENAME TO (SHARE UPDATE EXCLUSIVE since PostgreSQL 12).
    AlterIndex {
        name: String,
        rename: bool,
    },
    RefreshMatView {
        name: String,
        concurrently: bool,
    },
    /// SET / SET LOCAL / RESET of a setting; `value` None for RESET or DEFAULT.
    Set {
        name: String,
        value: Option<String>,
    },
    /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT...
    Transaction,
    /// Takes no lock on an existing table (CREATE FUNCTION/VIEW/TYPE, GRANT, SELECT...).
    Other,
    /// May lock anything (DO, CALL, a function call in SELECT is not seen).
    Unknown,
}

/// A cursor over a statement's tokens.
struct Cur<'a> {
    t: &'a [Tok],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn at(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is(kw))
    }
    fn eat(&mut self, kw: &str) -> bool {
        let hit = self.at(kw);
        if hit {
            self.i += 1;
        }
        hit
    }
    /// Eat a keyword sequence entirely, or nothing.
    fn eat_all(&mut self, kws: &[&str]) -> bool {
        let ok = kws
            .iter()
            .enumerate()
            .all(|(k, kw)| self.t.get(self.i + k).is_some_and(|t| t.is(kw)));
        if ok {
            self.i += kws.len();
        }
        ok
    }
    fn punct(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Tok::Punct(c));
        if hit {
            self.i += 1;
        }
        hit
    }
    /// A possibly qualified name: `a`, `a.b`, `"A"."b"`.
    fn name(&mut self) -> Option<String> {
        let mut parts = vec![self.peek()?.ident()?];
        self.i += 1;
        while self.peek() == Some(&Tok::Punct('.')) {
            let Some(next) = self.t.get(self.i + 1).and_then(Tok::ident) else {
                break;
            };
            parts.push(next);
            self.i += 2;
        }
        Some(parts.join("."))
    }
    /// A comma-separated list of names.
    fn names(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            self.eat("ONLY");
            match self.name() {
                Some(n) => out.push(n),
                None => break,
            }
            self.punct('*');
            if !self.punct(',') {
                break;
            }
        }
        out
    }
    fn rest(&self) -> &[Tok] {
        &self.t[self.i.min(self.t.len())..]
    }
}

/// Split tokens at top-level commas (outside parentheses and brackets).
pub fn split_top(t: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (k, tok) in t.iter().enumerate() {
        match tok {
            Tok::Punct('(' | '[') => depth += 1,
            Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => {
                out.push(&t[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    if start < t.len() {
        out.push(&t[start..]);
    }
    out
}

/// The tokens inside the parentheses that open at `t[from]`, and the index after them.
fn paren_body(t: &[Tok], from: usize) -> Option<(&[Tok], usize)> {
    if t.get(from) != Some(&Tok::Punct('(')) {
        return None;
    }
    let mut depth = 0usize;
    for (k, tok) in t.iter().enumerate().skip(from) {
        match tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return Some((&t[from + 1..k], k + 1));
                }
            }
            _ => {}
        }
    }
    None
}

/// The last component of a qualified name: how tables are matched across files.
pub fn base(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Classify a statement from its tokens.
pub fn analyze(t: &[Tok]) -> Stmt {
    let mut c = Cur { t, i: 0 };
    // EXPLAIN-less; a leading WITH makes DML too hard to read: Unknown.
    if c.eat("CREATE") {
        return create(&mut c);
    }
    if c.eat("ALTER") {
        return alter(&mut c);
    }
    if c.eat("DROP") {
        return drop(&mut c);
    }
    if c.eat("TRUNCATE") {
        c.eat("TABLE");
        return Stmt::Truncate(c.names());
    }
    if c.eat_all(&["INSERT", "INTO"])
        || c.eat_all(&["DELETE", "FROM"])
        || c.eat_all(&["MERGE", "INTO"])
        || c.eat("UPDATE")
    {
        c.eat("ONLY");
        return c.name().map_or(Stmt::Unknown, Stmt::Dml);
    }
    if let Some(st) = maintenance(&mut c) {
        return st;
    }
    if c.at("SET") || c.at("RESET") {
        return set(&mut c);
    }
    if [
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
    ]
    .iter()
    .any(|k| c.at(k))
    {
        return Stmt::Transaction;
    }
    if ["DO", "CALL", "WITH", "COPY", "EXECUTE", "CLUSTER", "IMPORT", "SECURITY"]
        .iter()
        .any(|k| c.at(k))
    {
        return Stmt::Unknown;
    }
    Stmt::Other
}

/// LOCK, REINDEX, VACUUM/ANALYZE, COMMENT ON, REFRESH MATERIALIZED VIEW.
fn maintenance(c: &mut Cur<'_>) -> Option<Stmt> {
    let t = c.t;
    if c.eat("LOCK") {
        c.eat("TABLE");
        let names = c.names();
        let mode = if c.eat("IN") {
            crate::locks::Mode::parse(c.rest()).unwrap_or(crate::locks::Mode::AccessExclusive)
        } else {
            crate::locks::Mode::AccessExclusive
        };
        return Some(Stmt::Lock { names, mode });
    }
    if c.eat("REINDEX") {
        if let Some((_, next)) = paren_body(t, c.i) {
            c.i = next;
        }
        let index = c.eat("INDEX");
        for kw in ["TABLE", "SCHEMA", "DATABASE", "SYSTEM"] {
            c.eat(kw);
        }
        let concurrently = c.eat("CONCURRENTLY");
        let name = c.name().unwrap_or_default();
        return Some(Stmt::Reindex {
            name,
            concurrently,
            index,
        });
    }
    if c.at("VACUUM") || c.at("ANALYZE") || c.at("ANALYSE") {
        let vacuum = c.eat("VACUUM");
        c.eat("ANALYZE");
        c.eat("ANALYSE");
        if let Some((_, next)) = paren_body(t, c.i) {
            c.i = next;
        }
        while ["FULL", "FREEZE", "VERBOSE", "ANALYZE"].iter().any(|k| c.eat(k)) {}
        return Some(Stmt::Maintenance {
            names: c.names(),
            vacuum,
        });
    }
    if c.eat_all(&["COMMENT", "ON"]) {
        if c.eat("TABLE") {
            return Some(c.name().map_or(Stmt::Other, Stmt::Comment));
        }
        if c.eat("COLUMN") {
            let n = c.name().unwrap_or_default();
            let table = n.rsplit_once('.').map_or(n.clone(), |(t, _)| t.to_owned());
            return Some(Stmt::Comment(table));
        }
        return Some(Stmt::Other);
    }
    if c.eat_all(&["REFRESH", "MATERIALIZED", "VIEW"]) {
        let concurrently = c.eat("CONCURRENTLY");
        let name = c.name().unwrap_or_default();
        return Some(Stmt::RefreshMatView { name, concurrently });
    }
    None
}

fn set(c: &mut Cur<'_>) -> Stmt {
    let reset = c.eat("RESET");
    if !reset {
        c.eat("SET");
        c.eat("LOCAL");
        c.eat("SESSION");
    }
    let Some(name) = c.name() else { return Stmt::Other };
    if reset {
        return Stmt::Set { name, value: None };
    }
    if !(c.eat("TO") || c.punct('=')) {
        return Stmt::Other;
    }
    let value = match c.peek() {
        Some(t) if t.is("DEFAULT") => None,
        Some(Tok::Str(s) | Tok::Num(s) | Tok::Word(s)) => {
            let mut v = s.clone();
            // `SET lock_timeout = 5 s` is not valid, but `'5s'` and `5000` are.
            if let (Tok::Num(_), Some(Tok::Word(unit))) = (&c.t[c.i], t_at(c, 1)) {
                v.push_str(unit);
            }
            Some(v)
        }
        _ => return Stmt::Other,
    };
    Stmt::Set { name, value }
}

fn t_at<'a>(c: &'a Cur<'_>, k: usize) -> Option<&'a Tok> {
    c.t.get(c.i + k)
}

fn create(c: &mut Cur<'_>) -> Stmt {
    c.eat_all(&["OR", "REPLACE"]);
    let unique = c.eat("UNIQUE");
    if c.eat("INDEX") {
        let concurrently = c.eat("CONCURRENTLY");
        c.eat_all(&["IF", "NOT", "EXISTS"]);
        let name = if c.at("ON") { None } else { c.name() };
        if !c.eat("ON") {
            return Stmt::Unknown;
        }
        c.eat("ONLY");
        let _ = unique;
        return c.name().map_or(Stmt::Unknown, |table| Stmt::CreateIndex {
            name,
            table,
            concurrently,
        });
    }
    for kw in ["GLOBAL", "LOCAL", "TEMPORARY", "TEMP", "UNLOGGED"] {
        c.eat(kw);
    }
    if c.eat("TABLE") {
        c.eat_all(&["IF", "NOT", "EXISTS"]);
        let Some(name) = c.name() else { return Stmt::Unknown };
        if c.eat_all(&["PARTITION", "OF"]) {
            // Attaching a partition locks the parent.
            let parent = c.name().unwrap_or_default();
            return Stmt::AlterTable {
                table: parent,
                actions: vec![Action::Other],
            };
        }
        let Some((body, _)) = paren_body(c.t, c.i) else {
            return Stmt::CreateTable {
                name,
                columns: Vec::new(),
                references: Vec::new(),
            };
        };
        let mut columns = Vec::new();
        let mut references = Vec::new();
        for el in split_top(body) {
            if el.first().is_some_and(|t| {
                ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE", "LIKE"]
                    .iter()
                    .any(|k| t.is(k))
            }) {
                references.extend(referenced(el));
            } else if let Some(col) = column_def(el) {
                references.extend(col.references.clone());
                columns.push(col);
            }
        }
        return Stmt::CreateTable {
            name,
            columns,
            references,
        };
    }
    if c.eat("TRIGGER") || c.eat_all(&["CONSTRAINT", "TRIGGER"]) {
        let on = c.rest().iter().position(|t| t.is("ON"));
        if let Some(p) = on {
            c.i += p + 1;
            return c.name().map_or(Stmt::Unknown, Stmt::CreateTrigger);
        }
        return Stmt::Unknown;
    }
    Stmt::Other
}

/// Tables named after REFERENCES in an element.
fn drop(c: &mut Cur<'_>) -> Stmt {
    if c.eat("TABLE") {
        c.eat_all(&["IF", "EXISTS"]);
        return Stmt::DropTable(c.names());
    }
    if c.eat("INDEX") {
        let concurrently = c.eat("CONCURRENTLY");
        c.eat_all(&["IF", "EXISTS"]);
        return Stmt::DropIndex {
            names: c.names(),
            concurrently,
        };
    }
    if c.eat("VIEW") || c.eat_all(&["MATERIALIZED", "VIEW"]) || c.eat("SEQUENCE") {
        c.eat_all(&["IF", "EXISTS"]);
        return Stmt::DropRelation(c.names());
    }
    if c.eat("TRIGGER") {
        let on = c.rest().iter().position(|t| t.is("ON"));
        if let Some(p) = on {
            c.i += p + 1;
            return c.name().map_or(Stmt::Unknown, Stmt::DropTrigger);
        }
    }
    Stmt::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn an(sql: &str) -> Stmt {
        analyze(&crate::sql::split(sql).unwrap()[0].tokens)
    }

    #[test]
    fn indexes_sets_and_others() {
        assert_eq!(
            an("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY s.t USING btree (a)"),
            Stmt::CreateIndex {
                name: Some("i".into()),
                table: "s.t".into(),
                concurrently: true
            }
        );
        assert_eq!(
            an("CREATE INDEX ON t (a)"),
            Stmt::CreateIndex {
                name: None,
                table: "t".into(),
                concurrently: false
            }
        );
        assert_eq!(
            an("SET lock_timeout = '5s'"),
            Stmt::Set {
                name: "lock_timeout".into(),
                value: Some("5s".into())
            }
        );
        assert_eq!(
            an("SET LOCAL lock_timeout TO 0"),
            Stmt::Set {
                name: "lock_timeout".into(),
                value: Some("0".into())
            }
        );
        assert_eq!(
            an("RESET lock_timeout"),
            Stmt::Set {
                name: "lock_timeout".into(),
                value: None
            }
        );
        assert_eq!(
            an("DROP INDEX CONCURRENTLY IF EXISTS a, b"),
            Stmt::DropIndex {
                names: vec!["a".into(), "b".into()],
                concurrently: true
            }
        );
        assert_eq!(
            an("INSERT INTO audit_log (a) VALUES (1)"),
            Stmt::Dml("audit_log".into())
        );
        assert_eq!(
            an("CREATE TRIGGER x BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION f()"),
            Stmt::CreateTrigger("users".into())
        );
        assert_eq!(an("DO $$ BEGIN END $$"), Stmt::Unknown);
        assert_eq!(
            an("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql"),
            Stmt::Other
        );
        assert_eq!(an("COMMIT"), Stmt::Transaction);
    }
}
