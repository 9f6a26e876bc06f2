//! A table's keys as data: the primary key, UNIQUE and CHECK constraints
//! and foreign keys, planned from SQLite's pragmas and the CREATE TABLE
//! text, and the DDL the run executes for each (so the run never parses
//! SQL back).

use std::collections::BTreeMap;

use rusqlite::Connection;
use sw_core::Result;
use sw_core::pg::{quote_ident, quote_literal};

use super::build::{Naming, sqerr};
use super::preflight;
use super::table::{TableCtx, column_name};
use super::{CheckPlan, ColumnPlan, FkAction, ForeignKeyPlan, KeyPlan, Untranslatable};
use crate::sql::{self, NameMap, Names, Tok};

/// A table's planned keys.
pub(super) struct Keys {
    pub primary_key: Option<KeyPlan>,
    pub unique: Vec<KeyPlan>,
    pub checks: Vec<CheckPlan>,
    pub foreign_keys: Vec<ForeignKeyPlan>,
}

/// Plan the keys of the table in `t`, whose columns are `columns`.
pub(super) fn plan(t: &mut TableCtx<'_>, columns: &[ColumnPlan], map: &NameMap, naming: &mut Naming) -> Result<Keys> {
    let rel = &mut naming.rel;
    let mut primary_key = (!t.pk_cols.is_empty()).then(|| KeyPlan {
        name: rel.take(t.parsed.pk_name.as_deref().unwrap_or(&format!("{}_pkey", t.pgname))),
        columns: t.pk_cols.iter().map(|c| column_name(columns, &c.name)).collect(),
        collisions: 0,
    });
    let mut unique = unique(t, columns, rel)?;
    if !t.rowid_alias && !t.parsed.without_rowid && primary_key.is_some() {
        let (nulls, first) = pk_nulls(t)?;
        if let Some(key) = primary_key.take_if(|_| nulls > 0) {
            // SQLite lets a primary key that is not a rowid alias hold NULLs
            // (a legacy quirk); PostgreSQL's refuses them, its UNIQUE admits
            // several NULLs like SQLite's key does here.
            t.untranslatable.push(Untranslatable {
                object: format!("primary key of {}", t.name),
                sql: String::new(),
                reason: format!(
                    "relaxed to UNIQUE {}: {nulls} rows hold NULL in the key (SQLite does not enforce NOT NULL on a primary key that is not INTEGER), first rowids {first}",
                    key.name
                ),
            });
            unique.insert(0, key);
        }
    }
    for key in primary_key.iter_mut().chain(unique.iter_mut()) {
        key_collisions(t, columns, key)?;
    }
    let checks = checks(t, map, rel);
    let foreign_keys = foreign_keys(t, columns, naming)?;
    Ok(Keys {
        primary_key,
        unique,
        checks,
        foreign_keys,
    })
}

/// Count the rows of `key` that collide in PostgreSQL only, and name them.
fn key_collisions(t: &mut TableCtx<'_>, columns: &[ColumnPlan], key: &mut KeyPlan) -> Result<()> {
    let cols: Vec<&ColumnPlan> = key
        .columns
        .iter()
        .filter_map(|k| columns.iter().find(|c| c.name == *k))
        .collect();
    if cols.len() != key.columns.len() || !preflight::needs_collision_check(&cols, false) {
        return Ok(());
    }
    key.collisions = preflight::collisions(t.conn, t.name, &cols, false)?;
    if key.collisions > 0 {
        t.untranslatable.push(collision_note(t.name, &key.name, key.collisions));
    }
    Ok(())
}

/// The plan's note of a key or unique index `name` on `table` whose values collide.
pub(super) fn collision_note(table: &str, name: &str, n: u64) -> Untranslatable {
    Untranslatable {
        object: format!("unique key {name} on {table}"),
        sql: String::new(),
        reason: format!(
            "{n} rows equal another row's key in PostgreSQL but not in SQLite (case folding beyond ASCII, or values equal once typed): `run` builds it as a plain (non-unique) index of the same name and leaves out the foreign keys that need it; --strict refuses (exit 65); or edit the data or the plan"
        ),
    }
}

/// Rows of `t` with a NULL in a primary key column: their count and the
/// first rowids (comma-separated).
fn pk_nulls(t: &TableCtx<'_>) -> Result<(u64, String)> {
    let cond: Vec<String> = t
        .pk_cols
        .iter()
        .map(|c| format!("{} IS NULL", quote_ident(&c.name)))
        .collect();
    let q = format!(
        "SELECT count(*), (SELECT group_concat(r, ',') FROM (SELECT rowid AS r FROM {0} WHERE {1} ORDER BY rowid LIMIT 5)) FROM {0} WHERE {1}",
        quote_ident(t.name),
        cond.join(" OR ")
    );
    t.conn
        .query_row(&q, [], |r| {
            Ok((
                r.get::<_, i64>(0)?.unsigned_abs(),
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })
        .map_err(sqerr("primary key NULLs"))
}

/// UNIQUE constraints: SQLite's automatic indexes of origin 'u'.
fn unique(t: &TableCtx<'_>, columns: &[ColumnPlan], rel: &mut Names) -> Result<Vec<KeyPlan>> {
    let mut st = t
        .conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE origin = 'u' ORDER BY seq DESC")
        .map_err(sqerr("indexes"))?;
    let indexes: Vec<String> = st
        .query_map([t.name], |r| r.get(0))
        .map_err(sqerr("indexes"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("indexes"))?;
    let mut out = Vec::new();
    for index in indexes {
        let cols: Vec<String> = index_columns(t.conn, &index)?.into_iter().flatten().collect();
        out.push(KeyPlan {
            name: rel.take(&format!("{}_{}_key", t.pgname, cols.join("_"))),
            columns: cols.iter().map(|c| column_name(columns, c)).collect(),
            collisions: 0,
        });
    }
    Ok(out)
}

/// The columns of a SQLite index, in order (`None` for an expression).
fn index_columns(conn: &Connection, index: &str) -> Result<Vec<Option<String>>> {
    let mut st = conn
        .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        .map_err(sqerr("index columns"))?;
    st.query_map([index], |r| r.get(0))
        .map_err(sqerr("index columns"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("index columns"))
}

fn checks(t: &mut TableCtx<'_>, map: &NameMap, rel: &mut Names) -> Vec<CheckPlan> {
    let mut out = Vec::new();
    for (cname, expr) in &t.parsed.checks {
        match sql::translate(expr, map) {
            Ok(expression) => {
                let want = if cname.is_empty() {
                    format!("{}_check", t.pgname)
                } else {
                    cname.clone()
                };
                let violating_rows = preflight::check_violations(t.conn, t.name, &detok(expr));
                let name = rel.take(&want);
                if violating_rows > 0 {
                    t.untranslatable.push(Untranslatable {
                        object: format!("check constraint {name} on {}", t.name),
                        sql: format!("CHECK ({})", detok(expr)),
                        reason: format!(
                            "{violating_rows} rows break it (SQLite checks only rows written after a CHECK is added, or evaluates it differently): created NOT VALID, so new rows are checked; fix those rows, then ALTER TABLE ... VALIDATE CONSTRAINT"
                        ),
                    });
                }
                out.push(CheckPlan {
                    name,
                    expression,
                    not_valid: violating_rows > 0,
                    violating_rows,
                });
            }
            Err(reason) => t.untranslatable.push(Untranslatable {
                object: format!("check constraint on {}", t.name),
                sql: format!("CHECK ({})", detok(expr)),
                reason,
            }),
        }
    }
    out
}

/// A row of `pragma_foreign_key_list`.
struct FkRow {
    parent: String,
    from: String,
    to: Option<String>,
    on_update: String,
    on_delete: String,
}

fn foreign_keys(t: &mut TableCtx<'_>, columns: &[ColumnPlan], naming: &mut Naming) -> Result<Vec<ForeignKeyPlan>> {
    let mut st = t
        .conn
        .prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
        .map_err(sqerr("foreign keys"))?;
    let rows: Vec<(i64, FkRow)> = st
        .query_map([t.name], |r| {
            Ok((
                r.get(0)?,
                FkRow {
                    parent: r.get(1)?,
                    from: r.get(2)?,
                    to: r.get(3)?,
                    on_update: r.get(4)?,
                    on_delete: r.get(5)?,
                },
            ))
        })
        .map_err(sqerr("foreign keys"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("foreign keys"))?;
    let mut by_id: BTreeMap<i64, Vec<FkRow>> = BTreeMap::new();
    for (id, r) in rows {
        by_id.entry(id).or_default().push(r);
    }
    let mut out = Vec::new();
    for fk in by_id.into_values() {
        if let Some(f) = foreign_key(t, columns, naming, &fk)? {
            out.push(f);
        }
    }
    Ok(out)
}

/// One foreign key (its rows, one per column); `None` when PostgreSQL
/// could not have it (reported).
fn foreign_key(
    t: &mut TableCtx<'_>,
    columns: &[ColumnPlan],
    naming: &mut Naming,
    fk: &[FkRow],
) -> Result<Option<ForeignKeyPlan>> {
    let parent = &fk[0].parent;
    let from: Vec<String> = fk.iter().map(|r| r.from.clone()).collect();
    let Some(references) = naming.tables.get(&parent.to_lowercase()).cloned() else {
        t.untranslatable.push(Untranslatable {
            object: format!("foreign key {}({}) -> {parent}", t.name, from.join(", ")),
            sql: String::new(),
            reason: format!("the referenced table {parent} does not exist"),
        });
        return Ok(None);
    };
    let to: Vec<String> = if fk.iter().all(|r| r.to.is_some()) {
        fk.iter().filter_map(|r| r.to.clone()).collect()
    } else {
        parent_pk(t.conn, parent)?
    };
    let parent_keys = parent_keys(t.conn, parent)?;
    let unique_ok = parent_keys
        .uniques
        .iter()
        .any(|u| u.len() == to.len() && u.iter().all(|c| to.iter().any(|x| x.eq_ignore_ascii_case(c))));
    if !unique_ok {
        t.untranslatable.push(Untranslatable {
            object: format!(
                "foreign key {}({}) -> {parent}({})",
                t.name,
                from.join(", "),
                to.join(", ")
            ),
            sql: String::new(),
            reason: "the referenced columns are not a primary key or UNIQUE in the parent, which PostgreSQL requires"
                .into(),
        });
        return Ok(None);
    }
    // A run that plans for itself skips this scan (random probes into the
    // parent, seconds on a big one): PostgreSQL's validation finds the same
    // rows and the run then leaves the key NOT VALID with their count.
    let orphans = if naming.count_values {
        preflight::fk_orphans(t.conn, t.name, &from, parent, &to)?
    } else {
        0
    };
    let name = naming.rel.take(&format!("{}_{}_fkey", t.pgname, from.join("_")));
    if orphans > 0 {
        t.untranslatable.push(Untranslatable {
            object: format!("foreign key {name}"),
            sql: String::new(),
            reason: format!(
                "{orphans} rows of {} reference no row of {parent} (SQLite enforces foreign keys only with PRAGMA foreign_keys = ON): created NOT VALID, so new rows are checked; delete or fix those rows, then ALTER TABLE ... VALIDATE CONSTRAINT {name}",
                t.name
            ),
        });
    }
    let lower: Vec<String> = from.iter().map(|c| c.to_lowercase()).collect();
    let deferrable = t.parsed.deferrable.iter().find(|(c, _)| *c == lower);
    Ok(Some(ForeignKeyPlan {
        name,
        columns: from.iter().map(|c| column_name(columns, c)).collect(),
        references,
        referenced_columns: to.iter().map(|c| parent_keys.pg_name(c)).collect(),
        on_update: FkAction::from_sqlite(&fk[0].on_update),
        on_delete: FkAction::from_sqlite(&fk[0].on_delete),
        deferrable: deferrable.is_some(),
        initially_deferred: deferrable.is_some_and(|(_, d)| *d),
        not_valid: orphans > 0,
        orphans,
    }))
}

/// A referenced table's columns and the column sets that are unique in it.
struct ParentKeys {
    /// (SQLite name, PostgreSQL name), in order.
    columns: Vec<(String, String)>,
    /// The primary key and every full (not partial) UNIQUE index.
    uniques: Vec<Vec<String>>,
}

impl ParentKeys {
    /// The PostgreSQL name of the parent's column `c` (any case).
    fn pg_name(&self, c: &str) -> String {
        self.columns
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(c))
            .map_or_else(|| c.to_owned(), |(_, p)| p.clone())
    }
}

fn parent_keys(conn: &Connection, table: &str) -> Result<ParentKeys> {
    let mut st = conn
        .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
        .map_err(sqerr("parent columns"))?;
    let cols: Vec<(String, i64)> = st
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sqerr("parent columns"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("parent columns"))?;
    // Named as the parent's own plan names them.
    let mut names = Names::columns();
    let columns: Vec<(String, String)> = cols.iter().map(|(n, _)| (n.clone(), names.take(n))).collect();
    let mut uniques = Vec::new();
    let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.1 > 0).map(|c| (c.1, c.0.clone())).collect();
    pk.sort();
    if !pk.is_empty() {
        uniques.push(pk.into_iter().map(|p| p.1).collect());
    }
    let mut st = conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" AND NOT partial")
        .map_err(sqerr("parent indexes"))?;
    let idx: Vec<String> = st
        .query_map([table], |r| r.get(0))
        .map_err(sqerr("parent indexes"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("parent indexes"))?;
    for i in idx {
        let c = index_columns(conn, &i)?;
        if c.iter().all(Option::is_some) {
            uniques.push(c.into_iter().flatten().collect());
        }
    }
    Ok(ParentKeys { columns, uniques })
}

fn parent_pk(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut st = conn
        .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
        .map_err(sqerr("parent key"))?;
    st.query_map([table], |r| r.get(0))
        .map_err(sqerr("parent key"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("parent key"))
}

/// Tokens back to SQL text (for reporting a CHECK that is not translated).
fn detok(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Ident { text, quoted: true } => quote_ident(text),
            Tok::Ident { text, .. } | Tok::Num(text) | Tok::Op(text) => text.clone(),
            Tok::Str(s) => quote_literal(s),
            Tok::Blob(h) => format!("X'{h}'"),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Param => "?".into(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl FkAction {
    /// From `pragma_foreign_key_list` (`NO ACTION`, `CASCADE`, ...).
    fn from_sqlite(a: &str) -> FkAction {
        match a.to_uppercase().as_str() {
            "CASCADE" => FkAction::Cascade,
            "SET NULL" => FkAction::SetNull,
            "SET DEFAULT" => FkAction::SetDefault,
            "RESTRICT" => FkAction::Restrict,
            _ => FkAction::NoAction,
        }
    }

    /// As SQL.
    fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// Quoted and comma-separated.
fn column_list(cols: &[String]) -> String {
    cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
}

impl KeyPlan {
    /// The build of the key's unique index on `table` (run side by side
    /// with the table's other index builds).
    pub fn index_sql(&self, table: &str) -> String {
        format!(
            "CREATE UNIQUE INDEX {} ON {} ({})",
            quote_ident(&self.name),
            quote_ident(table),
            column_list(&self.columns)
        )
    }

    /// The constraint (`PRIMARY KEY` or `UNIQUE`) attached to its index,
    /// which checks the same (NOT NULL, with a scan only where a column
    /// lacks it) without building again.
    pub fn attach_sql(&self, table: &str, constraint: &str) -> String {
        let name = quote_ident(&self.name);
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {name} {constraint} USING INDEX {name}",
            quote_ident(table)
        )
    }
}

impl CheckPlan {
    /// The same constraint NOT VALID (existing rows not checked).
    pub fn not_valid_sql(&self, table: &str) -> String {
        CheckPlan {
            not_valid: true,
            ..self.clone()
        }
        .sql(table)
    }

    /// The ALTER TABLE adding it to `table`.
    pub fn sql(&self, table: &str) -> String {
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({}){}",
            quote_ident(table),
            quote_ident(&self.name),
            self.expression,
            if self.not_valid { " NOT VALID" } else { "" }
        )
    }
}

impl ForeignKeyPlan {
    /// The ALTER TABLE adding it to `table` (validating the rows).
    pub fn sql(&self, table: &str) -> String {
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {}{}",
            quote_ident(table),
            quote_ident(&self.name),
            column_list(&self.columns),
            quote_ident(&self.references),
            column_list(&self.referenced_columns),
            self.on_update.sql(),
            self.on_delete.sql(),
            match (self.deferrable, self.initially_deferred) {
                (true, true) => " DEFERRABLE INITIALLY DEFERRED",
                (true, false) => " DEFERRABLE",
                (false, _) => "",
            }
        )
    }

    /// The count of `table`'s rows that reference no parent row (MATCH
    /// SIMPLE: a NULL anywhere is not checked), as its validation sees them.
    pub fn orphans_sql(&self, table: &str) -> String {
        let not_null: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
            .collect();
        let eq: Vec<String> = self
            .columns
            .iter()
            .zip(&self.referenced_columns)
            .map(|(f, t)| format!("p.{} = c.{}", quote_ident(t), quote_ident(f)))
            .collect();
        format!(
            "SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT FROM {} p WHERE {})",
            quote_ident(table),
            not_null.join(" AND "),
            quote_ident(&self.references),
            eq.join(" AND ")
        )
    }

    /// The validation of the key once added NOT VALID to `table`.
    pub fn validate_sql(&self, table: &str) -> String {
        format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
            quote_ident(table),
            quote_ident(&self.name)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_their_ddl() {
        let k = KeyPlan {
            name: "T_pkey".into(),
            columns: vec!["a".into(), "b c".into()],
            collisions: 0,
        };
        assert_eq!(
            k.index_sql("T \"q\""),
            r#"CREATE UNIQUE INDEX "T_pkey" ON "T ""q""" ("a", "b c")"#
        );
        assert_eq!(
            k.attach_sql("T \"q\"", "PRIMARY KEY"),
            r#"ALTER TABLE "T ""q""" ADD CONSTRAINT "T_pkey" PRIMARY KEY USING INDEX "T_pkey""#
        );
        let f = ForeignKeyPlan {
            name: "c_p_fkey".into(),
            columns: vec!["p".into()],
            references: "Big \"x\"".into(),
            referenced_columns: vec!["id".into()],
            on_update: FkAction::NoAction,
            on_delete: FkAction::Cascade,
            deferrable: true,
            initially_deferred: true,
            not_valid: false,
            orphans: 0,
        };
        assert_eq!(
            f.sql("c"),
            r#"ALTER TABLE "c" ADD CONSTRAINT "c_p_fkey" FOREIGN KEY ("p") REFERENCES "Big ""x""" ("id") ON UPDATE NO ACTION ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"#
        );
        assert_eq!(f.validate_sql("c"), r#"ALTER TABLE "c" VALIDATE CONSTRAINT "c_p_fkey""#);
        assert_eq!(
            f.orphans_sql("c"),
            r#"SELECT count(*) FROM "c" c WHERE c."p" IS NOT NULL AND NOT EXISTS (SELECT FROM "Big ""x""" p WHERE p."id" = c."p")"#
        );
    }
}
