//! Reading the SQLite schema and turning it into a migration plan: the
//! PostgreSQL DDL per table, casts with reasons, constraints, indexes,
//! foreign keys, views, and what cannot be translated (with why).

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sw_core::pg::{quote_ident, quote_literal};
use sw_core::{Error, Result};

use crate::sql::{self, NameMap, Names, Tok};
use crate::types;
use crate::value::IntDates;

/// Plan format version.
pub const PLAN_FORMAT: u32 = 1;

/// The whole migration plan (printed by `plan`, read by `run --plan`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub source: String,
    pub sqlite_version: String,
    pub target_schema: String,
    /// How values are read (dates, booleans, ...).
    pub value_rules: BTreeMap<String, String>,
    /// Collations the DDL needs, created before the tables.
    pub collations: Vec<Collation>,
    pub tables: Vec<TablePlan>,
    pub views: Vec<ViewPlan>,
    /// Objects not migrated at all (triggers, virtual tables, ...).
    pub untranslatable: Vec<Untranslatable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collation {
    pub name: String,
    pub create: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TablePlan {
    /// SQLite name.
    pub source: String,
    /// PostgreSQL name (unqualified).
    pub name: String,
    pub without_rowid: bool,
    pub columns: Vec<ColumnPlan>,
    /// CREATE TABLE (run in the staging schema, before the data).
    pub create: String,
    /// Primary key, UNIQUE and CHECK constraints, added after the data.
    pub constraints: Vec<String>,
    /// Indexes, built after the data.
    pub indexes: Vec<IndexPlan>,
    /// Foreign keys, added after every table is loaded.
    pub foreign_keys: Vec<String>,
    /// The identity column (from INTEGER PRIMARY KEY / AUTOINCREMENT).
    pub identity: Option<Identity>,
    pub untranslatable: Vec<Untranslatable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnPlan {
    pub source: String,
    pub name: String,
    pub source_type: String,
    #[serde(rename = "type")]
    pub pg_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub collation: Option<String>,
    /// Why this type.
    pub reason: String,
    /// A generated column: its value is computed by PostgreSQL, not copied.
    #[serde(default)]
    pub generated: bool,
    /// Date/time columns holding integers: how they are read
    /// (`unix-seconds`, `unix-milliseconds` or `julian-day`), chosen from
    /// the values' range; edit to override.
    #[serde(default)]
    pub integers: Option<IntDates>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexPlan {
    pub source: String,
    pub name: String,
    pub unique: bool,
    pub partial: bool,
    pub expression: bool,
    pub create: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub column: String,
    pub autoincrement: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ViewPlan {
    pub source: String,
    pub name: String,
    pub create: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Untranslatable {
    pub object: String,
    pub sql: String,
    pub reason: String,
}

fn q(s: &str) -> String {
    quote_ident(s)
}

fn sqerr(what: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::data(format!("reading the source schema ({what})")).with_source(e)
}

struct RawColumn {
    name: String,
    decl: String,
    notnull: bool,
    dflt: Option<String>,
    pk: i64,
    hidden: i64,
}

/// What the CREATE TABLE text adds to the pragmas.
#[derive(Default)]
struct Parsed {
    collate: HashMap<String, String>,
    checks: Vec<(String, Vec<Tok>)>,
    autoincrement: bool,
    generated: HashMap<String, Vec<Tok>>,
    pk_name: Option<String>,
    without_rowid: bool,
    /// Deferrable foreign keys: (child columns, lower-cased; initially deferred).
    deferrable: Vec<(Vec<String>, bool)>,
}

fn parse_create_table(sql: &str) -> Parsed {
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
        let first = &item[0];
        let table_constraint = ["constraint", "primary", "unique", "check", "foreign"]
            .iter()
            .any(|k| first.is_kw(k));
        let mut cname: Option<String> = None;
        let col = if table_constraint {
            None
        } else {
            first.ident().map(str::to_owned)
        };
        let mut i = usize::from(!table_constraint);
        while i < item.len() {
            let t = &item[i];
            if t.is_kw("constraint") {
                cname = item.get(i + 1).and_then(Tok::ident).map(str::to_owned);
                i += 2;
                continue;
            }
            if t.is_kw("primary") && table_constraint {
                p.pk_name = cname.clone();
            }
            if t.is_kw("primary") && col.is_some() && cname.is_some() {
                p.pk_name = cname.clone();
            }
            if t.is_kw("autoincrement") {
                p.autoincrement = true;
            }
            if t.is_kw("deferrable") && !(i > 0 && item[i - 1].is_kw("not")) {
                let deferred = item.get(i + 1).is_some_and(|x| x.is_kw("initially"))
                    && item.get(i + 2).is_some_and(|x| x.is_kw("deferred"));
                let cols: Vec<String> = if let Some(c) = &col {
                    vec![c.to_lowercase()]
                } else {
                    item.iter()
                        .position(|x| x.is_kw("key"))
                        .and_then(|k| sql::group(&item, k + 1))
                        .map(|(g, _)| g.iter().filter_map(Tok::ident).map(str::to_lowercase).collect())
                        .unwrap_or_default()
                };
                p.deferrable.push((cols, deferred));
            }
            if t.is_kw("collate")
                && let (Some(c), Some(n)) = (&col, item.get(i + 1).and_then(Tok::ident))
            {
                p.collate.insert(c.to_lowercase(), n.to_lowercase());
            }
            if t.is_kw("check")
                && let Some((g, next)) = sql::group(&item, i + 1)
            {
                p.checks.push((cname.clone().unwrap_or_default(), g.to_vec()));
                i = next;
                continue;
            }
            if t.is_kw("as")
                && let Some(c) = &col
                && let Some((g, next)) = sql::group(&item, i + 1)
            {
                p.generated.insert(c.to_lowercase(), g.to_vec());
                i = next;
                continue;
            }
            i += 1;
        }
    }
    p
}

/// Build the plan from an open source connection.
pub fn build(conn: &Connection, source: &str, target_schema: &str) -> Result<Plan> {
    let version: String = conn
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .map_err(sqerr("version"))?;
    let mut objects: Vec<(String, String, String, Option<String>)> = Vec::new();
    {
        let mut st = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
            .map_err(sqerr("sqlite_master"))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(sqerr("sqlite_master"))?;
        for r in rows {
            objects.push(r.map_err(sqerr("sqlite_master"))?);
        }
    }
    let mut plan = Plan {
        format: PLAN_FORMAT,
        source: source.to_owned(),
        sqlite_version: version,
        target_schema: target_schema.to_owned(),
        value_rules: value_rules(),
        collations: Vec::new(),
        tables: Vec::new(),
        views: Vec::new(),
        untranslatable: Vec::new(),
    };
    // Relation names share one namespace in PostgreSQL (tables, indexes, views, constraints' indexes).
    let mut rel = Names::default();
    let mut global = NameMap::default();
    let mut table_names: HashMap<String, String> = HashMap::new();
    // Shadow tables of virtual tables (FTS3/4/5, R-tree) belong to their module.
    let virtuals: Vec<String> = objects
        .iter()
        .filter(|o| {
            o.0 == "table"
                && o.3
                    .as_deref()
                    .is_some_and(|s| s.trim_start().to_uppercase().starts_with("CREATE VIRTUAL"))
        })
        .map(|o| o.1.to_lowercase())
        .collect();
    let shadow = |name: &str| {
        let n = name.to_lowercase();
        virtuals.iter().any(|v| {
            n.strip_prefix(v.as_str())
                .and_then(|r| r.strip_prefix('_'))
                .is_some_and(|suffix| {
                    matches!(
                        suffix,
                        "data"
                            | "idx"
                            | "content"
                            | "docsize"
                            | "config"
                            | "segments"
                            | "segdir"
                            | "stat"
                            | "node"
                            | "parent"
                            | "rowid"
                    )
                })
        })
    };
    // Skipped, but named: a user table that only looks like a shadow table
    // must not vanish unnoticed.
    for o in objects.iter().filter(|o| o.0 == "table" && shadow(&o.1)) {
        plan.untranslatable.push(Untranslatable {
            object: format!("table {}", o.1),
            sql: o.3.clone().unwrap_or_default(),
            reason: "named like a shadow table of a virtual table in this database (its rows belong to that module): not copied".into(),
        });
    }
    let tables: Vec<_> = objects
        .iter()
        .filter(|o| o.0 == "table" && !o.1.to_lowercase().starts_with("sqlite_") && !shadow(&o.1))
        .collect();
    for (_, name, _, sqltext) in &tables {
        let sqltext = sqltext.clone().unwrap_or_default();
        if sqltext.trim_start().to_uppercase().starts_with("CREATE VIRTUAL") {
            continue;
        }
        let pg = rel.take(name);
        global.add(name, &pg);
        table_names.insert(name.to_lowercase(), pg);
    }
    for (_, name, _, sqltext) in &tables {
        let sqltext = sqltext.clone().unwrap_or_default();
        if !table_names.contains_key(&name.to_lowercase()) {
            plan.untranslatable.push(Untranslatable {
                object: format!("virtual table {name}"),
                sql: sqltext,
                reason: "virtual tables (FTS, R-tree, ...) are SQLite modules without a PostgreSQL equivalent".into(),
            });
            continue;
        }
        let t = table(conn, name, &sqltext, &table_names, &mut rel, &mut global)?;
        plan.tables.push(t);
    }
    // Indexes written by users (origin 'c'), after we know every column name.
    for (kind, name, tbl, sqltext) in &objects {
        if kind != "index" {
            continue;
        }
        let Some(sqltext) = sqltext else { continue };
        let Some(tp) = plan.tables.iter_mut().find(|t| t.source.eq_ignore_ascii_case(tbl)) else {
            continue;
        };
        let mut map = NameMap::default();
        for c in &tp.columns {
            map.add(&c.source, &c.name);
        }
        for c in tp.columns.iter().filter(|c| c.pg_type == "boolean") {
            map.booleans.insert(c.source.to_lowercase());
        }
        match index(sqltext, &tp.name, &map) {
            Ok((unique, partial, expression, body)) => {
                let pgname = rel.take(name);
                tp.indexes.push(IndexPlan {
                    source: name.clone(),
                    create: format!(
                        "CREATE {}INDEX {} ON {} {body}",
                        if unique { "UNIQUE " } else { "" },
                        q(&pgname),
                        q(&tp.name)
                    ),
                    name: pgname,
                    unique,
                    partial,
                    expression,
                });
            }
            Err(reason) => tp.untranslatable.push(Untranslatable {
                object: format!("index {name}"),
                sql: sqltext.clone(),
                reason,
            }),
        }
    }
    for (kind, name, _, sqltext) in &objects {
        let sqltext = sqltext.clone().unwrap_or_default();
        match kind.as_str() {
            "view" => match view(&sqltext, &global) {
                Ok(body) => {
                    let pg = rel.take(name);
                    plan.views.push(ViewPlan {
                        source: name.clone(),
                        create: format!("CREATE VIEW {} {body}", q(&pg)),
                        name: pg,
                    });
                }
                Err(reason) => plan.untranslatable.push(Untranslatable {
                    object: format!("view {name}"),
                    sql: sqltext,
                    reason,
                }),
            },
            "trigger" => plan.untranslatable.push(Untranslatable {
                object: format!("trigger {name}"),
                sql: sqltext,
                reason: "triggers are not translated: SQLite trigger bodies are not PL/pgSQL; rewrite as a PostgreSQL trigger function".into(),
            }),
            _ => {}
        }
    }
    // Derived from the DDL itself: columns, CHECKs, indexes and views may
    // all name it.
    let nocase = |sql: &str| sql.contains("sw_nocase");
    let needs_nocase = plan.tables.iter().any(|t| {
        nocase(&t.create) || t.constraints.iter().any(|c| nocase(c)) || t.indexes.iter().any(|i| nocase(&i.create))
    }) || plan.views.iter().any(|v| nocase(&v.create));
    if needs_nocase {
        plan.collations.push(Collation {
            name: "sw_nocase".into(),
            create: "CREATE COLLATION IF NOT EXISTS \"sw_nocase\" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)".into(),
            reason: "COLLATE NOCASE: a case-insensitive ICU collation keeps comparisons, UNIQUE and indexes case-insensitive (it folds all of Unicode, SQLite only ASCII; LIKE is not supported on it)".into(),
        });
    }
    Ok(plan)
}

fn value_rules() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("date".into(), "ISO-8601 text (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]], T allowed, Z or ±HH:MM converted to UTC); integers follow the column's `integers` rule: unix-seconds (UTC), unix-milliseconds, or julian-day, chosen from the values' range (edit the plan to override); reals are Julian day numbers (rounded to the millisecond, as SQLite does); a date column rejects values with a time of day".into());
    m.insert(
        "boolean".into(),
        "0/1, 0.0/1.0, 't'/'f'/'true'/'false' (any case); anything else is rejected".into(),
    );
    m.insert("integer".into(), "integers in full 64-bit range; reals with an integral value; decimal text only when it is the canonical integer; out of range for the target type is rejected".into());
    m.insert(
        "double precision".into(),
        "reals bit for bit; integers exact as doubles; text 'Infinity', '-Infinity', 'NaN'".into(),
    );
    m.insert("numeric".into(), "integers exactly; reals by their shortest exact decimal; decimal text; values that would be rounded to the column's scale or overflow its precision are rejected".into());
    m.insert("text".into(), "valid UTF-8 without NUL bytes; integers and reals are written in decimal (reals by their shortest exact form); blobs are rejected; longer than varchar(n) is rejected".into());
    m.insert(
        "bytea".into(),
        "blobs byte for byte; text in a BLOB column is rejected".into(),
    );
    m.insert(
        "jsonb".into(),
        "valid JSON text (no \\u0000); numbers as JSON numbers".into(),
    );
    m.insert("uuid".into(), "text 8-4-4-4-12 or 32 hex digits; 16-byte blobs".into());
    m.insert("rejects".into(), "a value breaking a rule stops the run (exit 65) naming table, rowid, column, value and rule; with --on-error=reject the row goes to the reject file (JSON Lines, original values encoded losslessly) and the run continues".into());
    m
}

#[allow(clippy::too_many_lines)]
fn table(
    conn: &Connection,
    name: &str,
    sqltext: &str,
    table_names: &HashMap<String, String>,
    rel: &mut Names,
    global: &mut NameMap,
) -> Result<TablePlan> {
    let pgname = table_names[&name.to_lowercase()].clone();
    let parsed = parse_create_table(sqltext);
    let mut raw = Vec::new();
    {
        let mut st = conn
            .prepare("SELECT name, coalesce(type, ''), \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid")
            .map_err(sqerr("columns"))?;
        let rows = st
            .query_map([name], |r| {
                Ok(RawColumn {
                    name: r.get(0)?,
                    decl: r.get(1)?,
                    notnull: r.get::<_, i64>(2)? != 0,
                    dflt: r.get(3)?,
                    pk: r.get(4)?,
                    hidden: r.get(5)?,
                })
            })
            .map_err(sqerr("columns"))?;
        for r in rows {
            raw.push(r.map_err(sqerr("columns"))?);
        }
    }
    let mut untranslatable = Vec::new();
    let mut cols_names = Names::default();
    let mut map = NameMap::default();
    let mut columns: Vec<ColumnPlan> = Vec::new();
    let pk_cols: Vec<&RawColumn> = {
        let mut v: Vec<&RawColumn> = raw.iter().filter(|c| c.pk > 0).collect();
        v.sort_by_key(|c| c.pk);
        v
    };
    let rowid_alias = !parsed.without_rowid && pk_cols.len() == 1 && pk_cols[0].decl.eq_ignore_ascii_case("INTEGER");
    for c in &raw {
        let pg = cols_names.take(&c.name);
        map.add(&c.name, &pg);
        let is_alias = rowid_alias && c.pk == 1;
        let (pg_type, reason) = if is_alias {
            (
                "bigint".to_owned(),
                if parsed.autoincrement {
                    "INTEGER PRIMARY KEY AUTOINCREMENT: the rowid; an identity column whose next value follows the migrated maximum and sqlite_sequence".to_owned()
                } else {
                    "INTEGER PRIMARY KEY: the rowid; an identity column whose next value follows the migrated maximum"
                        .to_owned()
                },
            )
        } else {
            match types::map_declared(&c.decl) {
                Some(t) => t,
                None => types::from_data(&c.decl, seen(conn, name, &c.name)?),
            }
        };
        let collation = match parsed.collate.get(&c.name.to_lowercase()).map(String::as_str) {
            Some("nocase") if matches!(pg_type.as_str(), "text") || pg_type.starts_with("character varying") => {
                Some("sw_nocase".to_owned())
            }
            Some("nocase") => None,
            Some("binary") | None => None,
            Some(other) => {
                untranslatable.push(Untranslatable {
                    object: format!("collation of {name}.{}", c.name),
                    sql: format!("COLLATE {other}"),
                    reason: format!(
                        "collation {other} has no PostgreSQL equivalent; the column uses the default collation"
                    ),
                });
                None
            }
        };
        if pg_type == "boolean" {
            map.booleans.insert(c.name.to_lowercase());
        }
        // A number as the default of a text column: SQLite stores the
        // number's text as it writes it (1.50 becomes '1.5').
        let textual = pg_type == "text" || pg_type.starts_with("character varying");
        let numeric_text = c.dflt.as_deref().filter(|_| textual).and_then(|d| {
            let toks = sql::tokenize(d).ok()?;
            match strip_parens(&toks) {
                [Tok::Num(_)] | [Tok::Op(_), Tok::Num(_)] => conn
                    .query_row(&format!("SELECT CAST(({d}) AS TEXT)"), [], |r| r.get::<_, String>(0))
                    .ok(),
                _ => None,
            }
        });
        let default = match &c.dflt {
            None => None,
            Some(_) if numeric_text.is_some() => numeric_text.as_deref().map(quote_literal),
            Some(d) => match default_expr(d, &pg_type) {
                Ok(v) => v,
                Err(reason) => {
                    untranslatable.push(Untranslatable {
                        object: format!("default of {name}.{}", c.name),
                        sql: d.clone(),
                        reason,
                    });
                    None
                }
            },
        };
        let integers = if matches!(
            pg_type.as_str(),
            "date" | "timestamp without time zone" | "timestamp with time zone"
        ) {
            int_dates(conn, name, &c.name)?
        } else {
            None
        };
        columns.push(ColumnPlan {
            source: c.name.clone(),
            name: pg,
            source_type: c.decl.clone(),
            pg_type,
            not_null: c.notnull || (c.pk > 0 && (parsed.without_rowid || is_alias)),
            default,
            collation,
            integers,
            reason,
            generated: false,
        });
    }
    let mut defs = Vec::new();
    for (c, r) in columns.iter_mut().zip(&raw) {
        let mut d = format!("{} {}", q(&c.name), c.pg_type);
        if let Some(coll) = &c.collation {
            d.push_str(&format!(" COLLATE {}", q(coll)));
        }
        if r.hidden == 2 || r.hidden == 3 {
            let expr = parsed.generated.get(&r.name.to_lowercase());
            match expr.map(|e| sql::translate(e, &map)) {
                Some(Ok(e)) => {
                    d.push_str(&format!(" GENERATED ALWAYS AS ({e}) STORED"));
                    c.generated = true;
                }
                other => {
                    let reason = match other {
                        Some(Err(r)) => r,
                        _ => "generated expression not found".into(),
                    };
                    untranslatable.push(Untranslatable {
                        object: format!("generated column {name}.{}", r.name),
                        sql: String::new(),
                        reason: format!("{reason}; the computed values are copied as plain data"),
                    });
                }
            }
        }
        if rowid_alias && r.pk == 1 {
            d.push_str(" GENERATED BY DEFAULT AS IDENTITY");
        } else if let Some(def) = &c.default
            && !c.generated
        {
            d.push_str(&format!(" DEFAULT {def}"));
        }
        if c.not_null {
            d.push_str(" NOT NULL");
        }
        defs.push(d);
    }
    let create = format!("CREATE TABLE {} (\n  {}\n)", q(&pgname), defs.join(",\n  "));
    let colname = |src: &str| -> String {
        columns
            .iter()
            .find(|c| c.source.eq_ignore_ascii_case(src))
            .map_or_else(|| src.to_owned(), |c| c.name.clone())
    };
    let mut constraints = Vec::new();
    if !pk_cols.is_empty() {
        let cname = rel.take(parsed.pk_name.as_deref().unwrap_or(&format!("{pgname}_pkey")));
        let cols: Vec<String> = pk_cols.iter().map(|c| q(&colname(&c.name))).collect();
        constraints.push(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})",
            q(&pgname),
            q(&cname),
            cols.join(", ")
        ));
    }
    // UNIQUE constraints (autoindexes of origin 'u').
    let mut uniques: Vec<Vec<String>> = Vec::new();
    {
        let mut st = conn
            .prepare("SELECT name, origin FROM pragma_index_list(?1) ORDER BY seq DESC")
            .map_err(sqerr("indexes"))?;
        let idx: Vec<(String, String)> = st
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqerr("indexes"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(sqerr("indexes"))?;
        for (iname, origin) in idx {
            let mut st2 = conn
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .map_err(sqerr("index columns"))?;
            let cols: Vec<Option<String>> = st2
                .query_map([&iname], |r| r.get(0))
                .map_err(sqerr("index columns"))?
                .collect::<std::result::Result<_, _>>()
                .map_err(sqerr("index columns"))?;
            let cols: Vec<String> = cols.into_iter().flatten().collect();
            if origin == "u" {
                uniques.push(cols.clone());
                let cname = rel.take(&format!("{pgname}_{}_key", cols.join("_")));
                let qc: Vec<String> = cols.iter().map(|c| q(&colname(c))).collect();
                constraints.push(format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})",
                    q(&pgname),
                    q(&cname),
                    qc.join(", ")
                ));
            } else if origin == "c" {
                uniques.push(cols);
            }
        }
    }
    for (cname, expr) in &parsed.checks {
        match sql::translate(expr, &map) {
            Ok(e) => {
                let want = if cname.is_empty() {
                    format!("{pgname}_check")
                } else {
                    cname.clone()
                };
                let n = rel.take(&want);
                constraints.push(format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({e})",
                    q(&pgname),
                    q(&n)
                ));
            }
            Err(reason) => untranslatable.push(Untranslatable {
                object: format!("check constraint on {name}"),
                sql: format!("CHECK ({})", detok(expr)),
                reason,
            }),
        }
    }
    // Foreign keys.
    let mut foreign_keys = Vec::new();
    {
        let mut st = conn
            .prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
            .map_err(sqerr("foreign keys"))?;
        type FkRow = (i64, String, String, Option<String>, String, String);
        let rows: Vec<FkRow> = st
            .query_map([name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(sqerr("foreign keys"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(sqerr("foreign keys"))?;
        let mut by_id: BTreeMap<i64, Vec<FkRow>> = BTreeMap::new();
        for r in rows {
            by_id.entry(r.0).or_default().push(r);
        }
        for (_, fk) in by_id {
            let parent = &fk[0].1;
            let from: Vec<String> = fk.iter().map(|r| r.2.clone()).collect();
            let Some(ppg) = table_names.get(&parent.to_lowercase()) else {
                untranslatable.push(Untranslatable {
                    object: format!("foreign key {name}({}) -> {parent}", from.join(", ")),
                    sql: String::new(),
                    reason: format!("the referenced table {parent} does not exist"),
                });
                continue;
            };
            let to: Vec<String> = if fk.iter().all(|r| r.3.is_some()) {
                fk.iter().filter_map(|r| r.3.clone()).collect()
            } else {
                parent_pk(conn, parent)?
            };
            let (parent_cols, parent_unique) = parent_keys(conn, parent)?;
            let to_pg: Vec<String> = to
                .iter()
                .map(|c| {
                    parent_cols
                        .iter()
                        .find(|(s, _)| s.eq_ignore_ascii_case(c))
                        .map_or_else(|| c.clone(), |(s, _)| shorten_col(s, &parent_cols))
                })
                .collect();
            let unique_ok = parent_unique
                .iter()
                .any(|u| u.len() == to.len() && u.iter().all(|c| to.iter().any(|t| t.eq_ignore_ascii_case(c))));
            if !unique_ok {
                untranslatable.push(Untranslatable {
                    object: format!("foreign key {name}({}) -> {parent}({})", from.join(", "), to.join(", ")),
                    sql: String::new(),
                    reason: "the referenced columns are not a primary key or UNIQUE in the parent, which PostgreSQL requires".into(),
                });
                continue;
            }
            let cname = rel.take(&format!("{pgname}_{}_fkey", from.join("_")));
            let fq: Vec<String> = from.iter().map(|c| q(&colname(c))).collect();
            let tq: Vec<String> = to_pg.iter().map(|c| q(c)).collect();
            foreign_keys.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {}",
                q(&pgname),
                q(&cname),
                fq.join(", "),
                q(ppg),
                tq.join(", "),
                action(&fk[0].4),
                action(&fk[0].5)
            ));
            let lower: Vec<String> = from.iter().map(|c| c.to_lowercase()).collect();
            if let Some((_, deferred)) = parsed.deferrable.iter().find(|(c, _)| *c == lower)
                && let Some(last) = foreign_keys.last_mut()
            {
                last.push_str(if *deferred {
                    " DEFERRABLE INITIALLY DEFERRED"
                } else {
                    " DEFERRABLE"
                });
            }
        }
    }
    let identity = if rowid_alias {
        Some(Identity {
            column: colname(&pk_cols[0].name),
            autoincrement: parsed.autoincrement,
        })
    } else {
        None
    };
    for c in &columns {
        global.add(&c.source, &c.name);
    }
    let _ = uniques;
    Ok(TablePlan {
        source: name.to_owned(),
        name: pgname,
        without_rowid: parsed.without_rowid,
        columns,
        create,
        constraints,
        indexes: Vec::new(),
        foreign_keys,
        identity,
        untranslatable,
    })
}

/// Column names of another table, with their PostgreSQL names.
type ParentKeys = (Vec<(String, String)>, Vec<Vec<String>>);

fn parent_keys(conn: &Connection, table: &str) -> Result<ParentKeys> {
    let mut st = conn
        .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
        .map_err(sqerr("parent columns"))?;
    let cols: Vec<(String, i64)> = st
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sqerr("parent columns"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("parent columns"))?;
    let mut names = Names::default();
    let pairs: Vec<(String, String)> = cols.iter().map(|(n, _)| (n.clone(), names.take(n))).collect();
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
        let mut st = conn
            .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
            .map_err(sqerr("parent index columns"))?;
        let c: Vec<Option<String>> = st
            .query_map([&i], |r| r.get(0))
            .map_err(sqerr("parent index columns"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(sqerr("parent index columns"))?;
        if c.iter().all(Option::is_some) {
            uniques.push(c.into_iter().flatten().collect());
        }
    }
    Ok((pairs, uniques))
}

fn shorten_col(src: &str, cols: &[(String, String)]) -> String {
    cols.iter()
        .find(|(s, _)| s == src)
        .map_or_else(|| src.to_owned(), |(_, p)| p.clone())
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

fn action(a: &str) -> &'static str {
    match a.to_uppercase().as_str() {
        "CASCADE" => "CASCADE",
        "SET NULL" => "SET NULL",
        "SET DEFAULT" => "SET DEFAULT",
        "RESTRICT" => "RESTRICT",
        _ => "NO ACTION",
    }
}

fn seen(conn: &Connection, table: &str, col: &str) -> Result<types::Seen> {
    let sqlq = format!(
        "SELECT coalesce(sum(typeof(c)='integer'),0), coalesce(sum(typeof(c)='real'),0), coalesce(sum(typeof(c)='text'),0), coalesce(sum(typeof(c)='blob'),0), \
         coalesce(sum(typeof(c)='integer' AND (c > 9007199254740992 OR c < -9007199254740992)),0) FROM (SELECT {} AS c FROM {})",
        q(col),
        q(table)
    );
    conn.query_row(&sqlq, [], |r| {
        Ok(types::Seen {
            integer: r.get::<_, i64>(0)?.unsigned_abs(),
            real: r.get::<_, i64>(1)?.unsigned_abs(),
            text: r.get::<_, i64>(2)?.unsigned_abs(),
            blob: r.get::<_, i64>(3)?.unsigned_abs(),
            ints_fit_double: r.get::<_, i64>(4)? == 0,
        })
    })
    .map_err(sqerr("column values"))
}

/// The rule for integers in a date/time column, from their range: Julian
/// day numbers when every one lies in 1900..2200 as a Julian day (as Unix
/// seconds they would all fall in January 1970), milliseconds when they are
/// beyond year 3000 as seconds, seconds otherwise.
fn int_dates(conn: &Connection, table: &str, col: &str) -> Result<Option<IntDates>> {
    // Every number sorts before every text in SQLite (whatever the column's
    // affinity or collation), so `< ''` keeps exactly the numbers and lets an
    // index on the column answer with a short range instead of a full scan.
    let sqlq = format!(
        "SELECT count(*), min(c), max(c) FROM (SELECT {0} AS c FROM {1} WHERE {0} < '') WHERE typeof(c) = 'integer'",
        q(col),
        q(table)
    );
    let (n, lo, hi): (i64, Option<i64>, Option<i64>) = conn
        .query_row(&sqlq, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sqerr("date values"))?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(None);
    };
    if n == 0 {
        return Ok(None);
    }
    let rule = if lo >= 2_415_021 && hi <= 2_524_594 {
        IntDates::JulianDay
    } else if lo > 32_503_680_000 || hi > 32_503_680_000 {
        IntDates::UnixMilliseconds
    } else {
        IntDates::UnixSeconds
    };
    Ok(Some(rule))
}

fn detok(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Ident { text, quoted: true } => q(text),
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

fn strip_parens(mut toks: &[Tok]) -> &[Tok] {
    while toks.first() == Some(&Tok::LParen) {
        match sql::group(toks, 0) {
            Some((inner, end)) if end == toks.len() => toks = inner,
            _ => break,
        }
    }
    toks
}

const NOW_UTC: &str = "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')";

/// Translate a column default for a column of type `ty`.
/// `Ok(None)`: no default (NULL).
fn default_expr(d: &str, ty: &str) -> std::result::Result<Option<String>, String> {
    let toks = sql::tokenize(d)?;
    let toks = strip_parens(&toks);
    let textual = ty == "text" || ty.starts_with("character varying");
    let fmt_now = |pg_fmt: &str, kind: &str| -> String {
        match ty {
            "timestamp without time zone" => format!("date_trunc('second', {NOW_UTC})"),
            "timestamp with time zone" => "date_trunc('second', CURRENT_TIMESTAMP)".into(),
            "date" if kind != "time" => format!("({NOW_UTC})::date"),
            _ => format!("to_char({NOW_UTC}, '{pg_fmt}')"),
        }
    };
    let lower = |t: &Tok| t.ident().map(str::to_lowercase).unwrap_or_default();
    match toks {
        [] => Err("empty default".into()),
        [t] if t.is_kw("null") => Ok(None),
        [t] if t.is_kw("current_timestamp") => Ok(Some(fmt_now("YYYY-MM-DD HH24:MI:SS", "ts"))),
        [t] if t.is_kw("current_date") => Ok(Some(fmt_now("YYYY-MM-DD", "date"))),
        [t] if t.is_kw("current_time") => Ok(Some(fmt_now("HH24:MI:SS", "time"))),
        [t] if t.is_kw("true") || t.is_kw("false") => Ok(Some(if ty == "boolean" {
            lower(t)
        } else if t.is_kw("true") {
            "1".into()
        } else {
            "0".into()
        })),
        [Tok::Num(n)] | [Tok::Op(_), Tok::Num(n)] => {
            let neg = matches!(toks[0], Tok::Op(ref o) if o == "-");
            let lit = format!("{}{n}", if neg { "-" } else { "" });
            if ty == "boolean" {
                return match lit.as_str() {
                    "0" => Ok(Some("false".into())),
                    "1" => Ok(Some("true".into())),
                    _ => Err(format!("default {lit} is not a boolean")),
                };
            }
            if textual {
                return Ok(Some(quote_literal(&lit)));
            }
            if matches!(
                ty,
                "date" | "timestamp without time zone" | "timestamp with time zone" | "uuid" | "bytea" | "jsonb"
            ) {
                return Err(format!("numeric default {lit} for a {ty} column"));
            }
            Ok(Some(lit))
        }
        [Tok::Str(s)] => {
            if ty == "boolean" {
                return match s.to_lowercase().as_str() {
                    "0" | "f" | "false" => Ok(Some("false".into())),
                    "1" | "t" | "true" => Ok(Some("true".into())),
                    _ => Err(format!("default '{s}' is not a boolean")),
                };
            }
            if ty == "bytea" {
                return Err("text default for a BLOB column".into());
            }
            if !textual && ty != "jsonb" {
                // The value must be valid for the type; check it like data.
                crate::value::check_literal(s, ty)?;
            }
            Ok(Some(format!("{}::{ty}", quote_literal(s))))
        }
        [Tok::Blob(h)] if ty == "bytea" => Ok(Some(format!("'\\x{h}'::bytea"))),
        [f, Tok::LParen, args @ .., Tok::RParen] => {
            let fname = lower(f);
            let args: Vec<Tok> = args.to_vec();
            let parts = sql::split_commas(&args);
            let is_now = |p: &[Tok]| matches!(p, [Tok::Str(s)] if s.eq_ignore_ascii_case("now"));
            match (fname.as_str(), parts.as_slice()) {
                ("datetime", [n]) if is_now(n) => Ok(Some(fmt_now("YYYY-MM-DD HH24:MI:SS", "ts"))),
                ("date", [n]) if is_now(n) => Ok(Some(fmt_now("YYYY-MM-DD", "date"))),
                ("time", [n]) if is_now(n) => Ok(Some(fmt_now("HH24:MI:SS", "time"))),
                ("unixepoch", []) => epoch_default(ty),
                ("unixepoch", [n]) if is_now(n) => epoch_default(ty),
                ("julianday", [n]) if is_now(n) && ty == "double precision" => Ok(Some(
                    "(extract(epoch FROM CURRENT_TIMESTAMP) / 86400.0 + 2440587.5)::double precision".into(),
                )),
                ("strftime", [fm, n]) if is_now(n) => {
                    let Some(Tok::Str(fmt)) = fm.first() else {
                        return Err("strftime with a computed format".into());
                    };
                    if fmt == "%s" {
                        return epoch_default(ty);
                    }
                    let pgf = strftime_to_char(fmt)?;
                    if textual {
                        Ok(Some(format!("to_char({NOW_UTC}, {})", quote_literal(&pgf))))
                    } else {
                        Err(format!("strftime('{fmt}', 'now') default for a {ty} column"))
                    }
                }
                _ => Err(format!("default expression {d} is not translated")),
            }
        }
        _ => Err(format!("default expression {d} is not translated")),
    }
}

fn epoch_default(ty: &str) -> std::result::Result<Option<String>, String> {
    match ty {
        "bigint" | "integer" | "smallint" | "numeric" | "double precision" => {
            Ok(Some("(extract(epoch FROM CURRENT_TIMESTAMP))::bigint".into()))
        }
        t if t == "text" || t.starts_with("character varying") => {
            Ok(Some("((extract(epoch FROM CURRENT_TIMESTAMP))::bigint)::text".into()))
        }
        _ => Err(format!("epoch default for a {ty} column")),
    }
}

/// SQLite strftime format to PostgreSQL to_char format.
fn strftime_to_char(f: &str) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut lit = String::new();
    let mut chars = f.chars();
    let flush = |lit: &mut String, out: &mut String| {
        if !lit.is_empty() {
            out.push('"');
            out.push_str(&lit.replace('"', "\\\""));
            out.push('"');
            lit.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        let spec = match chars.next() {
            Some('Y') => "YYYY",
            Some('m') => "MM",
            Some('d') => "DD",
            Some('H') => "HH24",
            Some('M') => "MI",
            Some('S') => "SS",
            Some('f') => "SS.MS",
            Some('j') => "DDD",
            Some('%') => {
                lit.push('%');
                continue;
            }
            other => return Err(format!("strftime format %{} is not translated", other.unwrap_or(' '))),
        };
        flush(&mut lit, &mut out);
        out.push_str(spec);
    }
    flush(&mut lit, &mut out);
    Ok(out)
}

/// Translate CREATE INDEX: (unique, partial, expression, "(cols) [WHERE ...]").
fn index(sqltext: &str, _table: &str, map: &NameMap) -> std::result::Result<(bool, bool, bool, String), String> {
    let toks = sql::tokenize(sqltext)?;
    let unique = toks.iter().take(3).any(|t| t.is_kw("unique"));
    let open = toks.iter().position(|t| *t == Tok::LParen).ok_or("no column list")?;
    let (cols, after) = sql::group(&toks, open).ok_or("unbalanced parentheses")?;
    let mut parts = Vec::new();
    let mut expression = false;
    for item in sql::split_commas(cols) {
        let mut item = item;
        let mut dir = "";
        if let Some(last) = item.last() {
            if last.is_kw("desc") {
                dir = " DESC";
                item.pop();
            } else if last.is_kw("asc") {
                item.pop();
            }
        }
        let is_plain = matches!(item.as_slice(), [Tok::Ident { .. }])
            || matches!(item.as_slice(), [Tok::Ident { .. }, c, _] if c.is_kw("collate"));
        let body = sql::translate(&item, map)?;
        if is_plain {
            parts.push(format!("{body}{dir}"));
        } else {
            expression = true;
            parts.push(format!("({body}){dir}"));
        }
    }
    let rest = &toks[after..];
    let mut out = format!("({})", parts.join(", "));
    let mut partial = false;
    if let Some(w) = rest.first() {
        if !w.is_kw("where") {
            return Err("unexpected text after the column list".into());
        }
        let cond = sql::translate(&rest[1..], map)?;
        out.push_str(&format!(" WHERE {cond}"));
        partial = true;
    }
    Ok((unique, partial, expression, out))
}

/// Translate CREATE VIEW to "[(columns)] AS body".
fn view(sqltext: &str, map: &NameMap) -> std::result::Result<String, String> {
    let toks = sql::tokenize(sqltext)?;
    let mut i = 0;
    let mut cols = String::new();
    while i < toks.len() && !toks[i].is_kw("as") {
        if toks[i] == Tok::LParen {
            let (g, next) = sql::group(&toks, i).ok_or("unbalanced parentheses")?;
            let names: Vec<String> = sql::split_commas(g)
                .iter()
                .map(|c| match c.as_slice() {
                    [Tok::Ident { text, .. }] => Ok(q(&sql::shorten(text))),
                    _ => Err("unexpected view column list".to_owned()),
                })
                .collect::<std::result::Result<_, _>>()?;
            cols = format!("({}) ", names.join(", "));
            i = next;
            continue;
        }
        i += 1;
    }
    if i >= toks.len() {
        return Err("no AS in the view definition".into());
    }
    Ok(format!("{cols}AS {}", sql::translate(&toks[i + 1..], map)?))
}
