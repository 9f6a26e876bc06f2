//! The table-level lock each statement takes, from PostgreSQL's "Explicit
//! Locking" table, and what that lock makes other sessions wait for.
//!
//! `--dry-run` prints these before anything runs, and every applied
//! statement's record carries them, so a reviewer sees "ACCESS EXCLUSIVE on
//! users" before a deploy rather than after an outage. The predictions are
//! checked against `pg_locks` on a real server in the tests.

use schemars::JsonSchema;
use serde::Serialize;

use crate::analyze::{Action, Stmt, base};
use crate::sql::Tok;

/// A table-level lock mode, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
    /// Not known from the text (DO blocks, CALL): it may lock anything.
    Unknown,
}

/// What a lock makes other sessions wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Blocks {
    /// Every query on the table, reads included (ACCESS EXCLUSIVE).
    ReadsAndWrites,
    /// INSERT, UPDATE, DELETE (SHARE and stronger).
    Writes,
    /// Only other schema changes, VACUUM and index builds.
    SchemaChanges,
    /// Not known.
    Unknown,
}

impl Mode {
    /// The name `pg_locks.mode` uses (`AccessExclusiveLock`).
    pub fn pg_name(self) -> &'static str {
        match self {
            Mode::AccessShare => "AccessShareLock",
            Mode::RowShare => "RowShareLock",
            Mode::RowExclusive => "RowExclusiveLock",
            Mode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            Mode::Share => "ShareLock",
            Mode::ShareRowExclusive => "ShareRowExclusiveLock",
            Mode::Exclusive => "ExclusiveLock",
            Mode::AccessExclusive => "AccessExclusiveLock",
            Mode::Unknown => "unknown",
        }
    }

    /// The mode as SQL writes it (`ACCESS EXCLUSIVE`).
    pub fn sql_name(self) -> &'static str {
        match self {
            Mode::AccessShare => "ACCESS SHARE",
            Mode::RowShare => "ROW SHARE",
            Mode::RowExclusive => "ROW EXCLUSIVE",
            Mode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Mode::Share => "SHARE",
            Mode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Mode::Exclusive => "EXCLUSIVE",
            Mode::AccessExclusive => "ACCESS EXCLUSIVE",
            Mode::Unknown => "UNKNOWN",
        }
    }

    /// What it blocks.
    pub fn blocks(self) -> Blocks {
        match self {
            Mode::AccessExclusive => Blocks::ReadsAndWrites,
            Mode::Share | Mode::ShareRowExclusive | Mode::Exclusive => Blocks::Writes,
            Mode::Unknown => Blocks::Unknown,
            _ => Blocks::SchemaChanges,
        }
    }

    /// The mode named in `LOCK ... IN <mode> MODE`.
    pub fn parse(t: &[Tok]) -> Option<Mode> {
        let words: Vec<String> = t
            .iter()
            .take_while(|x| !x.is("MODE"))
            .map(|x| x.to_string().to_uppercase())
            .collect();
        Some(match words.join(" ").as_str() {
            "ACCESS SHARE" => Mode::AccessShare,
            "ROW SHARE" => Mode::RowShare,
            "ROW EXCLUSIVE" => Mode::RowExclusive,
            "SHARE UPDATE EXCLUSIVE" => Mode::ShareUpdateExclusive,
            "SHARE" => Mode::Share,
            "SHARE ROW EXCLUSIVE" => Mode::ShareRowExclusive,
            "EXCLUSIVE" => Mode::Exclusive,
            "ACCESS EXCLUSIVE" => Mode::AccessExclusive,
            _ => return None,
        })
    }
}

/// A lock a statement takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Lock {
    /// The relation as the statement names it; null when not known.
    pub relation: Option<String>,
    /// The strongest mode taken on it.
    pub mode: Mode,
    /// What other sessions wait for while it is held.
    pub blocks: Blocks,
}

impl Lock {
    fn new(relation: &str, mode: Mode) -> Lock {
        Lock {
            relation: Some(relation.to_owned()),
            mode,
            blocks: mode.blocks(),
        }
    }
}

fn action_mode(a: &Action) -> Mode {
    match a {
        Action::AddForeignKey { .. } | Action::ShareRowExclusive => Mode::ShareRowExclusive,
        Action::ValidateConstraint | Action::ShareUpdateExclusive => Mode::ShareUpdateExclusive,
        _ => Mode::AccessExclusive,
    }
}

/// The locks a statement takes, strongest per relation, in order of appearance.
pub fn of(s: &Stmt) -> Vec<Lock> {
    let mut out: Vec<Lock> = Vec::new();
    let mut add = |rel: &str, mode: Mode| {
        if let Some(l) = out.iter_mut().find(|l| l.relation.as_deref() == Some(rel)) {
            if mode > l.mode {
                *l = Lock::new(rel, mode);
            }
        } else {
            out.push(Lock::new(rel, mode));
        }
    };
    match s {
        Stmt::CreateTable { references, .. } => references.iter().for_each(|r| add(r, Mode::ShareRowExclusive)),
        Stmt::CreateIndex {
            table, concurrently, ..
        } => {
            add(
                table,
                if *concurrently {
                    Mode::ShareUpdateExclusive
                } else {
                    Mode::Share
                },
            );
        }
        Stmt::AlterTable { table, actions } => {
            for a in actions {
                add(table, action_mode(a));
            }
            for a in actions {
                match a {
                    Action::AddForeignKey { references, .. } => add(references, Mode::ShareRowExclusive),
                    Action::AddColumn(c) => {
                        if let Some(r) = &c.references {
                            add(r, Mode::ShareRowExclusive);
                        }
                    }
                    _ => {}
                }
            }
        }
        Stmt::DropTable(names) | Stmt::DropRelation(names) | Stmt::Truncate(names) => {
            names.iter().for_each(|n| add(n, Mode::AccessExclusive));
        }
        Stmt::DropIndex { names, concurrently } => {
            let m = if *concurrently {
                Mode::ShareUpdateExclusive
            } else {
                Mode::AccessExclusive
            };
            names.iter().for_each(|n| add(n, m));
        }
        Stmt::CreateTrigger(t) => add(t, Mode::ShareRowExclusive),
        Stmt::DropTrigger(t) => add(t, Mode::AccessExclusive),
        Stmt::Lock { names, mode } => names.iter().for_each(|n| add(n, *mode)),
        Stmt::Dml(t) => add(t, Mode::RowExclusive),
        Stmt::Reindex {
            name,
            concurrently,
            index,
        } => add(
            name,
            match (concurrently, index) {
                (true, _) => Mode::ShareUpdateExclusive,
                (false, true) => Mode::AccessExclusive,
                (false, false) => Mode::Share,
            },
        ),
        Stmt::Maintenance { names, .. } => names.iter().for_each(|n| add(n, Mode::ShareUpdateExclusive)),
        Stmt::Comment(t) => add(t, Mode::ShareUpdateExclusive),
        Stmt::AlterIndex { name, rename } => {
            add(
                name,
                if *rename {
                    Mode::ShareUpdateExclusive
                } else {
                    Mode::AccessExclusive
                },
            );
        }
        Stmt::RefreshMatView { name, concurrently } => {
            add(
                name,
                if *concurrently {
                    Mode::Exclusive
                } else {
                    Mode::AccessExclusive
                },
            );
        }
        Stmt::Set { .. } | Stmt::Transaction | Stmt::Other => {}
        Stmt::Unknown => out.push(Lock {
            relation: None,
            mode: Mode::Unknown,
            blocks: Blocks::Unknown,
        }),
    }
    out
}

/// Merge several statements' locks: the strongest per relation.
pub fn merge<'a>(all: impl IntoIterator<Item = &'a Lock>) -> Vec<Lock> {
    let mut out: Vec<Lock> = Vec::new();
    for l in all {
        match out
            .iter_mut()
            .find(|o| o.relation.as_deref().map(base) == l.relation.as_deref().map(base))
        {
            Some(o) if l.mode > o.mode => *o = l.clone(),
            Some(_) => {}
            None => out.push(l.clone()),
        }
    }
    out
}

/// "ACCESS EXCLUSIVE on users, SHARE ROW EXCLUSIVE on vpn_servers".
pub fn describe(locks: &[Lock]) -> String {
    if locks.is_empty() {
        return "no table locks".to_owned();
    }
    locks
        .iter()
        .map(|l| match &l.relation {
            Some(r) => format!("{} on {r}", l.mode.sql_name()),
            None => "unknown locks (not read from the text)".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks(sql: &str) -> String {
        describe(&of(&crate::analyze::analyze(
            &crate::sql::split(sql).unwrap()[0].tokens,
        )))
    }

    #[test]
    fn the_locking_table() {
        assert_eq!(locks("CREATE INDEX i ON t (a)"), "SHARE on t");
        assert_eq!(
            locks("CREATE INDEX CONCURRENTLY i ON t (a)"),
            "SHARE UPDATE EXCLUSIVE on t"
        );
        assert_eq!(
            locks("ALTER TABLE a ADD CONSTRAINT f FOREIGN KEY (b_id) REFERENCES b (id) NOT VALID"),
            "SHARE ROW EXCLUSIVE on a, SHARE ROW EXCLUSIVE on b"
        );
        assert_eq!(
            locks("ALTER TABLE a VALIDATE CONSTRAINT f"),
            "SHARE UPDATE EXCLUSIVE on a"
        );
        assert_eq!(
            locks("ALTER TABLE a ADD COLUMN x int, VALIDATE CONSTRAINT f"),
            "ACCESS EXCLUSIVE on a"
        );
        assert_eq!(
            locks("CREATE TABLE s (u uuid REFERENCES users)"),
            "SHARE ROW EXCLUSIVE on users"
        );
        assert_eq!(locks("CREATE TABLE s (u uuid)"), "no table locks");
        assert_eq!(locks("DROP INDEX CONCURRENTLY i"), "SHARE UPDATE EXCLUSIVE on i");
        assert_eq!(locks("LOCK t IN SHARE ROW EXCLUSIVE MODE"), "SHARE ROW EXCLUSIVE on t");
        assert_eq!(locks("UPDATE t SET a = 1"), "ROW EXCLUSIVE on t");
        assert_eq!(
            locks("DO $$ BEGIN PERFORM 1; END $$"),
            "unknown locks (not read from the text)"
        );
        assert_eq!(Mode::AccessExclusive.blocks(), Blocks::ReadsAndWrites);
        assert_eq!(Mode::Share.blocks(), Blocks::Writes);
    }
}
