//! The lint: the dangerous operations squawk names, checked before `up`
//! runs anything (and by `sw-schema lint` alone, without a database).
//!
//! A table counts as existing (and so possibly large and busy) unless the
//! same file created it; the column types a type change starts from come
//! from the earlier files, read in version order. A finding is acknowledged
//! by a comment before its statement, `-- sw:allow RULE: reason`; `up`
//! refuses unacknowledged findings unless `--allow-lint`. The squawk crate
//! itself is not embedded: its 2.68+ releases need Rust 1.94 (2.71 needs
//! 1.99) against this workspace's 1.89, and the rules need this file-to-file
//! context and the locks of [`crate::locks`] anyway.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::Record;

use crate::analyze::{Action, ColumnDef, Stmt, analyze, base};
use crate::files::{Migration, SqlFile};
use crate::locks::{self, Blocks};
use crate::sql::{Statement, Tok, excerpt};

/// One lint finding.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    /// The rule, named as squawk names it where squawk has it.
    pub rule: &'static str,
    /// The migration's number.
    pub version: i64,
    /// The file, as found in the migrations directory.
    pub file: String,
    /// The line the statement starts on.
    pub line: usize,
    /// The statement, shortened to one line.
    pub statement: String,
    /// What goes wrong on a busy table.
    pub message: String,
    /// The safe way to do it.
    pub fix: String,
    /// Whether a `-- sw:allow RULE` comment before the statement accepts it.
    pub acknowledged: bool,
    /// The reason the acknowledgement gives (null without one).
    pub reason: Option<String>,
}

impl Record for Finding {
    const KIND: &'static str = "schema.lint";
}

/// Settings the rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// The lock_timeout sw-schema sets before each migration.
    pub lock_timeout: Duration,
}

/// Functions whose result differs per row: as a column default they make
/// ADD COLUMN rewrite the table (PostgreSQL 11+ stores a stable default once).
const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "gen_random_bytes",
    "txid_current",
    "setval",
];

/// Column types known from the earlier files: table -> column -> type.
#[derive(Debug, Default, Clone)]
struct Model(HashMap<String, HashMap<String, String>>);

impl Model {
    fn table(&mut self, t: &str) -> &mut HashMap<String, String> {
        self.0.entry(base(t).to_owned()).or_default()
    }

    fn apply(&mut self, s: &Stmt) {
        match s {
            Stmt::CreateTable { name, columns, .. } => {
                let t = self.table(name);
                t.clear();
                t.extend(columns.iter().map(|c| (c.name.clone(), c.ty.clone())));
            }
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    match a {
                        Action::AddColumn(c) => {
                            self.table(table).insert(c.name.clone(), c.ty.clone());
                        }
                        Action::AlterType { column, ty, .. } => {
                            self.table(table).insert(column.clone(), ty.clone());
                        }
                        Action::DropColumn(c) => {
                            self.table(table).remove(c);
                        }
                        Action::RenameColumn { from, to } => {
                            let t = self.table(table);
                            if let Some(ty) = t.remove(from) {
                                t.insert(to.clone(), ty);
                            }
                        }
                        Action::RenameTable(to) => {
                            if let Some(cols) = self.0.remove(base(table)) {
                                self.0.insert(base(to).to_owned(), cols);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Stmt::DropTable(names) => names.iter().for_each(|n| {
                self.0.remove(base(n));
            }),
            _ => {}
        }
    }
}

/// Split a normalised type into its name and numeric arguments.
fn type_parts(t: &str) -> (&str, Vec<u32>) {
    match t.split_once('(') {
        Some((h, a)) => (
            h,
            a.trim_end_matches(')')
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect(),
        ),
        None => (t, Vec::new()),
    }
}

/// Whether changing a column from `old` to `new` rewrites the table
/// (PostgreSQL's binary-coercible changes do not).
fn rewrites(old: &str, new: &str) -> bool {
    if old == new {
        return false;
    }
    let ((o, oa), (n, na)) = (type_parts(old), type_parts(new));
    let wider = || oa.first().zip(na.first()).is_some_and(|(a, b)| b >= a);
    let keeps = match (o, n) {
        // Text, or a longer or unbounded varchar, keeps the bytes.
        ("varchar" | "text", "text") => true,
        ("text", "varchar") => na.is_empty(),
        ("varchar", "varchar") => na.is_empty() || wider(),
        ("numeric", "numeric") => na.is_empty() || (oa.get(1) == na.get(1) && wider()),
        ("cidr", "inet") => true,
        // PostgreSQL 12+ skips the rewrite when the session's TimeZone is
        // UTC, which sw-schema's session always sets.
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp") => oa == na,
        _ => false,
    };
    !keeps
}

/// The acknowledged rules of a statement, with their reasons.
fn acknowledgements(s: &Statement) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for c in &s.comments {
        let Some(rest) = c.strip_prefix("sw:allow") else {
            continue;
        };
        let (rules, reason) = rest
            .split_once(':')
            .map_or((rest, None), |(r, why)| (r, Some(why.trim().to_owned())));
        let reason = reason.filter(|r| !r.is_empty());
        for r in rules
            .split(|ch: char| ch == ',' || ch.is_whitespace())
            .filter(|r| !r.is_empty())
        {
            out.push((r.to_owned(), reason.clone()));
        }
    }
    out
}

/// Milliseconds in a PostgreSQL time setting (`0`, `2s`, `'1min'`, `500`).
fn setting_ms(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Where the rules are while reading one file.
struct FileCtx<'a> {
    file: &'a SqlFile,
    version: i64,
    is_down: bool,
    created: HashSet<String>,
    /// lock_timeout in force (ms); 0 is none.
    lock_timeout_ms: u64,
    /// Tables with a constraint added NOT VALID earlier in this file.
    not_valid: HashSet<String>,
    out: Vec<Finding>,
}

impl FileCtx<'_> {
    fn exists(&self, t: &str) -> bool {
        !self.created.contains(base(t))
    }

    fn flag(&mut self, s: &Statement, rule: &'static str, message: String, fix: &str) {
        let ack = acknowledgements(s).into_iter().find(|(r, _)| r == rule);
        self.out.push(Finding {
            rule,
            version: self.version,
            file: self.file.path.display().to_string(),
            line: s.line,
            statement: excerpt(&s.text, 120),
            message,
            fix: fix.to_owned(),
            acknowledged: ack.is_some(),
            reason: ack.and_then(|(_, r)| r),
        });
    }

    fn statement(&mut self, s: &Statement, st: &Stmt, model: &Model) {
        if let Stmt::Set { name, value } = st
            && name == "lock_timeout"
        {
            // RESET / DEFAULT fall back to the server's setting, 0 unless configured.
            self.lock_timeout_ms = value.as_deref().map_or(Some(0), setting_ms).unwrap_or(1);
        }
        self.concurrency(s, st);
        match st {
            Stmt::CreateTable { name, .. } => {
                self.created.insert(base(name).to_owned());
            }
            Stmt::CreateIndex { table, concurrently: false, .. } if self.exists(table) => self.flag(
                s,
                "require-concurrent-index-creation",
                format!("CREATE INDEX takes a SHARE lock on {table}: every write to it waits until the index is built"),
                "CREATE INDEX CONCURRENTLY, in a file whose first line is -- sw:no-transaction",
            ),
            Stmt::AlterTable { table, actions } if self.exists(table) => {
                for a in actions {
                    self.action(s, table, a, model);
                }
            }
            Stmt::DropTable(names) if !self.is_down && names.iter().any(|n| self.exists(n)) => self.flag(
                s,
                "ban-drop-table",
                format!("dropping {} breaks every running client that still uses it", names.join(", ")),
                "stop using the table in a release first, then drop it in a later migration with -- sw:allow ban-drop-table: reason",
            ),
            Stmt::Transaction => self.flag(
                s,
                "transaction-nesting",
                "sw-schema runs each file in its own transaction (or, with -- sw:no-transaction, none): BEGIN, COMMIT or ROLLBACK here ends it early".to_owned(),
                "remove it; split the file into two migrations where two transactions are needed",
            ),
            _ => {}
        }
        self.lock_timeout(s, st);
    }

    fn concurrency(&mut self, s: &Statement, st: &Stmt) {
        let what = match st {
            Stmt::CreateIndex { concurrently: true, .. } => "CREATE INDEX CONCURRENTLY",
            Stmt::DropIndex { concurrently: true, .. } => "DROP INDEX CONCURRENTLY",
            Stmt::Reindex { concurrently: true, .. } => "REINDEX CONCURRENTLY",
            Stmt::Maintenance { vacuum: true, .. } => "VACUUM",
            _ => return,
        };
        if !self.file.no_transaction {
            self.flag(
                s,
                "ban-concurrent-index-creation-in-transaction",
                format!("{what} cannot run inside a transaction block, and this file runs in one"),
                "make the file's first line -- sw:no-transaction (and keep that migration to such statements)",
            );
        }
    }

    fn lock_timeout(&mut self, s: &Statement, st: &Stmt) {
        if self.lock_timeout_ms != 0 || matches!(st, Stmt::Set { .. }) {
            return;
        }
        let risky: Vec<String> = locks::of(st)
            .into_iter()
            .filter(|l| matches!(l.blocks, Blocks::ReadsAndWrites | Blocks::Writes))
            .filter_map(|l| l.relation)
            .filter(|r| self.exists(r))
            .collect();
        if !risky.is_empty() {
            self.flag(
                s,
                "require-lock-timeout",
                format!(
                    "lock_timeout is off here (SET lock_timeout = 0, RESET, or --lock-timeout 0): waiting for the lock on {} queues every query on it behind this statement",
                    risky.join(", ")
                ),
                "keep sw-schema's lock_timeout (--lock-timeout, default 2s): a lock that is not granted in time is retried",
            );
        }
    }

    fn action(&mut self, s: &Statement, table: &str, a: &Action, model: &Model) {
        match a {
            Action::AddForeignKey { not_valid: false, references } => self.foreign_key(s, table, references),
            Action::AddForeignKey { not_valid: true, .. } | Action::AddCheck { not_valid: true } => {
                self.not_valid.insert(base(table).to_owned());
            }
            Action::AddCheck { not_valid: false } => self.check(s, table),
            Action::AddUnique { using_index: false } => self.flag(
                s,
                "disallowed-unique-constraint",
                format!("adding a UNIQUE or PRIMARY KEY constraint builds its index under ACCESS EXCLUSIVE on {table}: reads and writes wait"),
                "CREATE UNIQUE INDEX CONCURRENTLY (no-transaction file), then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX",
            ),
            Action::AddColumn(c) => self.add_column(s, table, c),
            Action::ValidateConstraint if !self.file.no_transaction && self.not_valid.contains(base(table)) => self.flag(
                s,
                "constraint-validated-in-same-transaction",
                format!("VALIDATE CONSTRAINT in the transaction that added it NOT VALID keeps the ADD's lock on {table} while it scans"),
                "validate in a later migration, or make this file -- sw:no-transaction so each statement commits on its own",
            ),
            Action::SetNotNull(col) => self.flag(
                s,
                "adding-not-nullable-field",
                format!("SET NOT NULL on {table}.{col} scans the whole table under ACCESS EXCLUSIVE: reads and writes wait"),
                "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan)",
            ),
            Action::AlterType { column, ty, using } => {
                let old = model.0.get(base(table)).and_then(|t| t.get(column));
                if *using || old.is_none_or(|o| rewrites(o, ty)) {
                    let from = old.map_or_else(|| "its current type (not known from the earlier files)".to_owned(), Clone::clone);
                    self.flag(
                        s,
                        "changing-column-type",
                        format!("changing {table}.{column} from {from} to {ty} rewrites the table and its indexes under ACCESS EXCLUSIVE"),
                        "add a new column, backfill it in batches, switch the application, then drop the old one",
                    );
                }
            }
            Action::RenameColumn { from, to } if !self.is_down => self.flag(
                s,
                "renaming-column",
                format!("renaming {table}.{from} to {to} breaks every running client that still uses the old name"),
                "add the new column, write both, switch readers, then drop the old one",
            ),
            Action::RenameTable(to) if !self.is_down => self.flag(
                s,
                "renaming-table",
                format!("renaming {table} to {to} breaks every running client that still uses the old name"),
                "create a view under the old name for one release, or rename in a release no running client uses",
            ),
            Action::DropColumn(col) if !self.is_down => self.flag(
                s,
                "ban-drop-column",
                format!("dropping {table}.{col} breaks every running client that still selects or writes it"),
                "stop using the column in a release first, then drop it with -- sw:allow ban-drop-column: reason",
            ),
            _ => {}
        }
    }

    fn foreign_key(&mut self, s: &Statement, table: &str, references: &str) {
        self.flag(
            s,
            "adding-foreign-key-constraint",
            format!("adding a foreign key scans {table} while holding SHARE ROW EXCLUSIVE on it and on {references}: writes to both wait"),
            "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a later transaction (SHARE UPDATE EXCLUSIVE only)",
        );
    }

    fn check(&mut self, s: &Statement, table: &str) {
        self.flag(
            s,
            "constraint-missing-not-valid",
            format!("adding a CHECK constraint scans {table} under ACCESS EXCLUSIVE: reads and writes wait"),
            "ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a later transaction",
        );
    }

    fn add_column(&mut self, s: &Statement, table: &str, c: &ColumnDef) {
        let volatile = c.default.as_ref().and_then(|d| {
            d.windows(2).find_map(|w| match (&w[0], &w[1]) {
                (Tok::Word(f), Tok::Punct('(')) if VOLATILE.contains(&f.to_lowercase().as_str()) => {
                    Some(f.to_lowercase())
                }
                _ => None,
            })
        });
        let why = match (volatile, c.generated_stored, c.identity) {
            (Some(f), _, _) => Some(format!("the volatile default {f}()")),
            (None, true, _) => Some("a stored generated column".to_owned()),
            (None, false, true) => Some("an identity or serial column".to_owned()),
            _ => None,
        };
        if let Some(why) = why {
            self.flag(
                s,
                "adding-field-with-default",
                format!(
                    "adding {table}.{} with {why} rewrites the whole table under ACCESS EXCLUSIVE",
                    c.name
                ),
                "add the column without the default (or with a constant one), backfill in batches, then SET DEFAULT",
            );
        } else if c.not_null && c.default.is_none() {
            self.flag(
                s,
                "adding-required-field",
                format!("adding {table}.{} NOT NULL without a default fails on a table with rows, and breaks inserts from running clients", c.name),
                "add it with a constant DEFAULT, or nullable first and SET NOT NULL after a backfill",
            );
        }
        if let Some(r) = &c.references {
            self.foreign_key(s, table, r);
        }
        if c.check {
            self.check(s, table);
        }
    }
}

/// Lint the files `pick(version, is_down)` selects; every up file is read
/// (in version order) for the column types the later ones change.
pub fn lint(migrations: &[Migration], opts: Opts, pick: impl Fn(i64, bool) -> bool) -> Vec<Finding> {
    let mut model = Model::default();
    let mut out = Vec::new();
    for m in migrations {
        let before = model.clone();
        let files = [(&m.up, false)].into_iter().chain(m.down.as_ref().map(|d| (d, true)));
        for (file, is_down) in files {
            let mut ctx = FileCtx {
                file,
                version: m.version,
                is_down,
                created: HashSet::new(),
                lock_timeout_ms: sw_core::duration::millis(opts.lock_timeout),
                not_valid: HashSet::new(),
                out: Vec::new(),
            };
            // A down file starts from the schema its up file made.
            let mut local = if is_down { model.clone() } else { before.clone() };
            for s in &file.statements {
                let st = analyze(&s.tokens);
                ctx.statement(s, &st, &local);
                local.apply(&st);
            }
            if !is_down {
                model = local;
            }
            if pick(m.version, is_down) {
                out.extend(ctx.out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_changes_that_keep_the_bytes() {
        assert!(!rewrites("varchar(10)", "varchar(20)"));
        assert!(rewrites("varchar(20)", "varchar(10)"));
        assert!(!rewrites("varchar(10)", "text"));
        assert!(!rewrites("text", "varchar"));
        assert!(rewrites("text", "varchar(10)"));
        assert!(!rewrites("numeric(10,2)", "numeric(12,2)"));
        assert!(rewrites("numeric(10,2)", "numeric(12,3)"));
        assert!(rewrites("integer", "bigint"));
        assert!(!rewrites("timestamp", "timestamptz"));
    }

    #[test]
    fn settings_and_acknowledgements() {
        assert_eq!(setting_ms("0"), Some(0));
        assert_eq!(setting_ms("2s"), Some(2000));
        assert_eq!(setting_ms("1min"), Some(60_000));
        assert_eq!(setting_ms("250"), Some(250));
        let s = &crate::sql::split(
            "-- sw:allow ban-drop-column, renaming-column: unused since 2.3\nALTER TABLE a DROP COLUMN b",
        )
        .unwrap()[0];
        assert_eq!(
            acknowledgements(s),
            [
                ("ban-drop-column".to_owned(), Some("unused since 2.3".to_owned())),
                ("renaming-column".to_owned(), Some("unused since 2.3".to_owned()))
            ]
        );
    }

    #[test]
    fn findings_are_well_formed_records() {
        let k = sw_core::contract::KindDoc::of::<Finding>();
        assert!(k.rule_violations().is_empty());
        assert_eq!(k.schema["properties"]["schema"]["const"], 1);
    }
}
