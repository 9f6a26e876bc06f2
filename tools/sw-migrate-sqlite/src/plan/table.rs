//! One table's plan: its columns from `pragma_table_xinfo` (each with its
//! PostgreSQL type and the reason, collation, default and integer-date
//! rule), the `CREATE TABLE`, the identity column, and its keys (`keys`).

use rusqlite::Connection;
use sw_core::Result;
use sw_core::pg::{quote_ident, quote_literal};

use super::build::{Naming, sqerr};
use super::default::{default_expr, strip_parens};
use super::parse::{Parsed, parse_create_table};
use super::probe::{int_dates, seen, times_of_day};
use super::{ColumnPlan, Identity, TablePlan, Untranslatable, keys};
use crate::sql::{self, NameMap, Names, Tok};
use crate::types;

/// A column as `pragma_table_xinfo` describes it.
pub(super) struct RawColumn {
    pub name: String,
    pub decl: String,
    pub notnull: bool,
    pub dflt: Option<String>,
    /// Position in the primary key (1-based), 0 when not in it.
    pub pk: i64,
    /// 2 or 3: a generated column (virtual or stored).
    pub hidden: i64,
}

/// What one table's planning works from and collects.
pub(super) struct TableCtx<'a> {
    pub conn: &'a Connection,
    /// SQLite name.
    pub name: &'a str,
    /// PostgreSQL name.
    pub pgname: String,
    pub parsed: Parsed,
    /// The primary key's columns, in key order.
    pub pk_cols: Vec<&'a RawColumn>,
    /// The table's rowid is its INTEGER PRIMARY KEY column.
    pub rowid_alias: bool,
    pub untranslatable: Vec<Untranslatable>,
}

/// The PostgreSQL name of SQLite column `src` among `columns`.
pub(super) fn column_name(columns: &[ColumnPlan], src: &str) -> String {
    columns
        .iter()
        .find(|c| c.source.eq_ignore_ascii_case(src))
        .map_or_else(|| src.to_owned(), |c| c.name.clone())
}

/// Plan table `name` (created by `sql`).
pub(super) fn table(conn: &Connection, name: &str, sql: &str, naming: &mut Naming) -> Result<TablePlan> {
    let raw = raw_columns(conn, name)?;
    let parsed = parse_create_table(sql);
    let mut pk_cols: Vec<&RawColumn> = raw.iter().filter(|c| c.pk > 0).collect();
    pk_cols.sort_by_key(|c| c.pk);
    let rowid_alias = !parsed.without_rowid && pk_cols.len() == 1 && pk_cols[0].decl.eq_ignore_ascii_case("INTEGER");
    let mut t = TableCtx {
        conn,
        name,
        pgname: naming.tables[&name.to_lowercase()].clone(),
        parsed,
        pk_cols,
        rowid_alias,
        untranslatable: Vec::new(),
    };
    let mut names = Names::columns();
    let mut map = NameMap::default();
    let mut columns = Vec::new();
    for c in &raw {
        let pg = names.take(&c.name);
        map.add(&c.name, &pg);
        let col = t.column(c, pg)?;
        if col.pg_type == "boolean" {
            map.booleans.insert(c.name.to_lowercase());
        }
        columns.push(col);
    }
    let defs: Vec<String> = columns
        .iter_mut()
        .zip(&raw)
        .map(|(c, r)| t.column_def(c, r, &map))
        .collect();
    let create = format!("CREATE TABLE {} (\n  {}\n)", quote_ident(&t.pgname), defs.join(",\n  "));
    if naming.count_values {
        super::unreadable::find(conn, name, t.parsed.without_rowid, &mut columns, &mut t.untranslatable)?;
    } else {
        super::unreadable::rule_only(&mut columns);
    }
    let keys = keys::plan(&mut t, &columns, &map, naming)?;
    let identity = t.rowid_alias.then(|| Identity {
        column: column_name(&columns, &t.pk_cols[0].name),
        autoincrement: t.parsed.autoincrement,
    });
    for c in &columns {
        naming.global.add(&c.source, &c.name);
    }
    Ok(TablePlan {
        source: name.to_owned(),
        name: t.pgname,
        without_rowid: t.parsed.without_rowid,
        columns,
        create,
        primary_key: keys.primary_key,
        unique: keys.unique,
        checks: keys.checks,
        indexes: Vec::new(),
        foreign_keys: keys.foreign_keys,
        identity,
        untranslatable: t.untranslatable,
    })
}

fn raw_columns(conn: &Connection, name: &str) -> Result<Vec<RawColumn>> {
    let mut st = conn
        .prepare(
            "SELECT name, coalesce(type, ''), \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) WHERE hidden <> 1 ORDER BY cid",
        )
        .map_err(sqerr("columns"))?;
    st.query_map([name], |r| {
        Ok(RawColumn {
            name: r.get(0)?,
            decl: r.get(1)?,
            notnull: r.get::<_, i64>(2)? != 0,
            dflt: r.get(3)?,
            pk: r.get(4)?,
            hidden: r.get(5)?,
        })
    })
    .map_err(sqerr("columns"))?
    .collect::<std::result::Result<_, _>>()
    .map_err(sqerr("columns"))
}

impl TableCtx<'_> {
    /// One column's plan (named `pg`).
    fn column(&mut self, c: &RawColumn, pg: String) -> Result<ColumnPlan> {
        let is_alias = self.rowid_alias && c.pk == 1;
        let mut cast_to_blob = None;
        let (pg_type, reason) = if is_alias {
            (
                "bigint".to_owned(),
                if self.parsed.autoincrement {
                    "INTEGER PRIMARY KEY AUTOINCREMENT: the rowid; an identity column whose next value follows the migrated maximum and sqlite_sequence".to_owned()
                } else {
                    "INTEGER PRIMARY KEY: the rowid; an identity column whose next value follows the migrated maximum"
                        .to_owned()
                },
            )
        } else {
            match types::map_declared(&c.decl) {
                Some(t) => t,
                None => {
                    let s = seen(self.conn, self.name, &c.name)?;
                    let chosen = types::from_data(&c.decl, s);
                    cast_to_blob = self.mixed_blobs(c, &chosen.0, s);
                    chosen
                }
            }
        };
        let integers = if matches!(
            pg_type.as_str(),
            "date" | "timestamp without time zone" | "timestamp with time zone"
        ) {
            int_dates(self.conn, self.name, &c.name)?
        } else {
            None
        };
        // SQLite keeps whatever a DATE column is given (Fossil stores Unix
        // seconds there): when values hold a time of day, timestamp keeps them.
        let (pg_type, reason) = match pg_type.as_str() {
            "date" => match times_of_day(self.conn, self.name, &c.name, integers)? {
                0 => (pg_type, reason),
                n => (
                    "timestamp without time zone".to_owned(),
                    format!(
                        "{}: {n} values hold a time of day, which a date would lose: timestamp keeps them ({reason})",
                        c.decl
                    ),
                ),
            },
            _ => (pg_type, reason),
        };
        let collation = self.collation(c, &pg_type);
        let default = self.default(c, &pg_type);
        Ok(ColumnPlan {
            source: c.name.clone(),
            name: pg,
            source_type: c.decl.clone(),
            pg_type,
            not_null: c.notnull || (c.pk > 0 && (self.parsed.without_rowid || is_alias)),
            default,
            collation,
            integers,
            reason,
            generated: false,
            to_null: None,
            cast_to_blob,
        })
    }

    /// A column typed bytea from values mixing BLOBs with others: SQLite
    /// accepted every row, so each is kept, the others as the bytes
    /// `CAST(x AS BLOB)` gives; the count, named in the plan.
    fn mixed_blobs(&mut self, c: &RawColumn, pg_type: &str, s: types::Seen) -> Option<u64> {
        let others = s.integer + s.real + s.text;
        if pg_type != "bytea" || others == 0 {
            return None;
        }
        self.untranslatable.push(Untranslatable {
            object: format!("values of {}.{}", self.name, c.name),
            sql: String::new(),
            reason: format!(
                "{others} values that are not blobs ({} integers, {} reals, {} text) in a column whose values mix blobs with other storage classes, typed bytea: stored as the bytes SQLite's CAST(x AS BLOB) gives (their text), counted in migrate.table's cast_to_blob",
                s.integer, s.real, s.text
            ),
        });
        Some(others)
    }

    fn collation(&mut self, c: &RawColumn, pg_type: &str) -> Option<String> {
        match self.parsed.collate.get(&c.name.to_lowercase()).map(String::as_str) {
            Some("nocase") if pg_type == "text" || pg_type.starts_with("character varying") => {
                Some("sw_nocase".to_owned())
            }
            Some("nocase" | "binary") | None => None,
            Some(other) => {
                self.untranslatable.push(Untranslatable {
                    object: format!("collation of {}.{}", self.name, c.name),
                    sql: format!("COLLATE {other}"),
                    reason: format!(
                        "collation {other} has no PostgreSQL equivalent; the column uses the default collation"
                    ),
                });
                None
            }
        }
    }

    fn default(&mut self, c: &RawColumn, pg_type: &str) -> Option<String> {
        let d = c.dflt.as_deref()?;
        // A number as the default of a text column: SQLite stores the
        // number's text as it writes it (1.50 becomes '1.5').
        let textual = pg_type == "text" || pg_type.starts_with("character varying");
        if textual && let Some(text) = self.number_as_text(d) {
            return Some(quote_literal(&text));
        }
        match default_expr(d, pg_type) {
            Ok(v) => v,
            Err(reason) => {
                self.untranslatable.push(Untranslatable {
                    object: format!("default of {}.{}", self.name, c.name),
                    sql: d.to_owned(),
                    reason,
                });
                None
            }
        }
    }

    /// The text SQLite stores for the numeric literal `d`, when it is one.
    fn number_as_text(&self, d: &str) -> Option<String> {
        let toks = sql::tokenize(d).ok()?;
        match strip_parens(&toks) {
            [Tok::Num(_)] | [Tok::Op(_), Tok::Num(_)] => self
                .conn
                .query_row(&format!("SELECT CAST(({d}) AS TEXT)"), [], |r| r.get::<_, String>(0))
                .ok(),
            _ => None,
        }
    }

    /// The column's line in CREATE TABLE; a generated column whose
    /// expression translates is marked `generated`.
    fn column_def(&mut self, c: &mut ColumnPlan, r: &RawColumn, map: &NameMap) -> String {
        let mut d = format!("{} {}", quote_ident(&c.name), c.pg_type);
        if let Some(coll) = &c.collation {
            d.push_str(&format!(" COLLATE {}", quote_ident(coll)));
        }
        if r.hidden == 2 || r.hidden == 3 {
            let expr = self.parsed.generated.get(&r.name.to_lowercase());
            match expr.map(|e| sql::translate(e, map)) {
                Some(Ok(e)) => {
                    d.push_str(&format!(" GENERATED ALWAYS AS ({e}) STORED"));
                    c.generated = true;
                }
                other => {
                    let reason = match other {
                        Some(Err(r)) => r,
                        _ => "generated expression not found".into(),
                    };
                    self.untranslatable.push(Untranslatable {
                        object: format!("generated column {}.{}", self.name, r.name),
                        sql: String::new(),
                        reason: format!("{reason}; the computed values are copied as plain data"),
                    });
                }
            }
        }
        if self.rowid_alias && r.pk == 1 {
            d.push_str(" GENERATED BY DEFAULT AS IDENTITY");
        } else if let Some(def) = &c.default
            && !c.generated
        {
            d.push_str(&format!(" DEFAULT {def}"));
        }
        if c.not_null {
            d.push_str(" NOT NULL");
        }
        d
    }
}
