//! Building the plan from a SQLite file: every object of `sqlite_master`
//! in order (tables first, for the names the rest refers to), then the
//! indexes and views that use them, the collations the DDL needs, and an
//! entry with the reason for everything that is not migrated.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;
use sw_core::pg::quote_ident;
use sw_core::{Error, Result};

use super::keys::collision_note;
use super::objects::{index, view};
use super::preflight::{collisions, needs_collision_check};
use super::table::table;
use super::{Collation, ColumnPlan, IndexPlan, KeyPlan, Plan, TablePlan, Untranslatable, ViewPlan};
use crate::sql::{NameMap, Names};

/// A SQLite error while reading the schema: exit 65 naming what was read.
pub(super) fn sqerr(what: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::data(format!("reading the source schema ({what})")).with_source(e)
}

/// One row of `sqlite_master`.
struct Object {
    kind: String,
    name: String,
    table: String,
    sql: Option<String>,
}

impl Object {
    fn is_virtual_table(&self) -> bool {
        self.kind == "table"
            && self
                .sql
                .as_deref()
                .is_some_and(|s| s.trim_start().to_uppercase().starts_with("CREATE VIRTUAL"))
    }
}

/// The names PostgreSQL objects get: relations (tables, indexes, views and
/// constraints' indexes share one namespace), and SQLite's table and column
/// names as views may use them.
pub(super) struct Naming {
    pub rel: Names,
    pub global: NameMap,
    /// SQLite table name (lower-cased) to its PostgreSQL name.
    pub tables: HashMap<String, String>,
    /// Scan the rows for values that become NULL and for foreign keys'
    /// orphans (`plan`, `run --strict`); otherwise every nullable column
    /// that could meet one gets the rule uncounted and the run counts what
    /// it meets, and the foreign keys' validation finds the orphans (saves
    /// a scan per table and the probes into each parent).
    pub count_values: bool,
}

/// Build the plan from an open source connection; `count_values`: see [`Naming`].
///
/// # Errors
/// 65 when the schema cannot be read.
pub fn build(conn: &Connection, source: &str, target_schema: &str, count_values: bool) -> Result<Plan> {
    let version: String = conn
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .map_err(sqerr("version"))?;
    let objects = objects(conn)?;
    let mut plan = Plan {
        source: source.to_owned(),
        sqlite_version: version,
        target_schema: target_schema.to_owned(),
        value_rules: value_rules(),
        collations: Vec::new(),
        tables: Vec::new(),
        views: Vec::new(),
        untranslatable: Vec::new(),
    };
    let mut naming = Naming {
        rel: Names::default(),
        global: NameMap::default(),
        tables: HashMap::new(),
        count_values,
    };
    add_tables(conn, &objects, &mut plan, &mut naming)?;
    add_indexes(conn, &objects, &mut plan.tables, &mut naming.rel)?;
    add_views_and_triggers(&objects, &mut plan, &mut naming);
    if needs_nocase(&plan) {
        plan.collations.push(Collation {
            name: "sw_nocase".into(),
            create: "CREATE COLLATION IF NOT EXISTS \"sw_nocase\" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)".into(),
            reason: "COLLATE NOCASE: a case-insensitive ICU collation keeps comparisons, UNIQUE and indexes case-insensitive (it folds all of Unicode, SQLite only ASCII; LIKE is not supported on it)".into(),
        });
    }
    Ok(plan)
}

fn objects(conn: &Connection) -> Result<Vec<Object>> {
    let mut st = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
        .map_err(sqerr("sqlite_master"))?;
    st.query_map([], |r| {
        Ok(Object {
            kind: r.get(0)?,
            name: r.get(1)?,
            table: r.get(2)?,
            sql: r.get(3)?,
        })
    })
    .map_err(sqerr("sqlite_master"))?
    .collect::<std::result::Result<_, _>>()
    .map_err(sqerr("sqlite_master"))
}

/// Whether `name` is a shadow table of one of the `virtuals` (FTS3/4/5,
/// R-tree): its rows belong to that module.
fn is_shadow(virtuals: &[String], name: &str) -> bool {
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
}

/// Every table: named first (foreign keys and views refer to any), then
/// planned; virtual tables and shadow tables are reported.
fn add_tables(conn: &Connection, objects: &[Object], plan: &mut Plan, naming: &mut Naming) -> Result<()> {
    let virtuals: Vec<String> = objects
        .iter()
        .filter(|o| o.is_virtual_table())
        .map(|o| o.name.to_lowercase())
        .collect();
    // Skipped, but named: a user table that only looks like a shadow table
    // must not vanish unnoticed.
    for o in objects
        .iter()
        .filter(|o| o.kind == "table" && is_shadow(&virtuals, &o.name))
    {
        plan.untranslatable.push(Untranslatable {
            object: format!("table {}", o.name),
            sql: o.sql.clone().unwrap_or_default(),
            reason: "named like a shadow table of a virtual table in this database (its rows belong to that module): not copied".into(),
        });
    }
    let tables: Vec<&Object> = objects
        .iter()
        .filter(|o| {
            o.kind == "table" && !o.name.to_lowercase().starts_with("sqlite_") && !is_shadow(&virtuals, &o.name)
        })
        .collect();
    let copied = |o: &Object| !o.is_virtual_table() || readable_module(conn, o).is_some();
    for o in tables.iter().filter(|o| copied(o)) {
        let pg = naming.rel.take(&o.name);
        naming.global.add(&o.name, &pg);
        naming.tables.insert(o.name.to_lowercase(), pg);
    }
    for o in tables {
        let sql = o.sql.clone().unwrap_or_default();
        if o.is_virtual_table() {
            match readable_module(conn, o) {
                Some(module) => plan.tables.push(virtual_table(conn, o, &module, naming)?),
                None => plan.untranslatable.push(Untranslatable {
                    object: format!("virtual table {}", o.name),
                    sql,
                    reason: "its module is not one this tool copies (FTS3/4/5, R*Tree) or is missing from the bundled SQLite: not migrated"
                        .into(),
                }),
            }
            continue;
        }
        plan.tables.push(table(conn, &o.name, &sql, naming)?);
    }
    Ok(())
}

/// The module of a virtual table this tool copies as a plain table (FTS3/4/5,
/// R*Tree) when the bundled SQLite can read it.
fn readable_module(conn: &Connection, o: &Object) -> Option<String> {
    let sql = o.sql.as_deref()?;
    let toks = crate::sql::tokenize(sql).ok()?;
    let at = toks.iter().position(|t| t.is_kw("using"))?;
    let module = toks.get(at + 1)?.ident()?.to_lowercase();
    let known = matches!(module.as_str(), "fts3" | "fts4" | "fts5" | "rtree" | "rtree_i32");
    (known
        && conn
            .prepare(&format!("SELECT * FROM {} LIMIT 0", quote_ident(&o.name)))
            .is_ok())
    .then_some(module)
}

/// A FTS or R*Tree table: its rows as a plain table (the module's shadow
/// tables are its internals, named as skipped); full-text tables get a
/// `tsvector` GIN index over their text columns.
fn virtual_table(conn: &Connection, o: &Object, module: &str, naming: &mut Naming) -> Result<TablePlan> {
    let mut t = table(conn, &o.name, "", naming)?;
    t.untranslatable.push(Untranslatable {
        object: format!("virtual table {}", o.name),
        sql: o.sql.clone().unwrap_or_default(),
        reason: format!(
            "{module} module: its rows are migrated as a plain table{}",
            if module.starts_with("fts") {
                " with a full-text GIN index (to_tsvector('simple', ...); SQLite's tokenizer and MATCH syntax do not carry over)"
            } else {
                " (no spatial index)"
            }
        ),
    });
    if module.starts_with("fts") && !t.columns.iter().any(|c| c.source.eq_ignore_ascii_case("rowid")) {
        // The document id applications join on: kept as the key.
        keep_rowid(&mut t, naming);
    }
    let text: Vec<String> = t
        .columns
        .iter()
        .filter(|c| c.pg_type == "text")
        .map(|c| format!("coalesce({}, '')", quote_ident(&c.name)))
        .collect();
    if module.starts_with("fts") && !text.is_empty() {
        let name = naming.rel.take(&format!("{}_fts", t.name));
        t.indexes.push(IndexPlan {
            source: String::new(),
            create: format!(
                "CREATE INDEX {} ON {} USING gin (to_tsvector('simple'::regconfig, {}))",
                quote_ident(&name),
                quote_ident(&t.name),
                text.join(" || ' ' || ")
            ),
            name,
            unique: false,
            partial: false,
            expression: true,
            collisions: 0,
        });
    }
    Ok(t)
}

/// Give `t` (a full-text table) its rowid as a `rowid` bigint primary key.
fn keep_rowid(t: &mut TablePlan, naming: &mut Naming) {
    let head = format!("CREATE TABLE {} (\n  ", quote_ident(&t.name));
    if let Some(rest) = t.create.strip_prefix(&head) {
        t.create = format!("{head}\"rowid\" bigint NOT NULL,\n  {rest}");
        t.columns.insert(
            0,
            ColumnPlan {
                source: "rowid".into(),
                name: "rowid".into(),
                source_type: String::new(),
                pg_type: "bigint".into(),
                not_null: true,
                default: None,
                collation: None,
                reason: "the full-text table's rowid (its document id)".into(),
                generated: false,
                integers: None,
                to_null: None,
                cast_to_blob: None,
            },
        );
        t.primary_key = Some(KeyPlan {
            name: naming.rel.take(&format!("{}_pkey", t.name)),
            columns: vec!["rowid".into()],
            collisions: 0,
        });
    }
}

/// Indexes written by users (origin 'c'), after every column has its name.
fn add_indexes(conn: &Connection, objects: &[Object], tables: &mut [TablePlan], rel: &mut Names) -> Result<()> {
    for o in objects.iter().filter(|o| o.kind == "index") {
        let Some(sql) = &o.sql else { continue };
        let Some(tp) = tables.iter_mut().find(|t| t.source.eq_ignore_ascii_case(&o.table)) else {
            continue;
        };
        let mut map = NameMap::default();
        for c in &tp.columns {
            map.add(&c.source, &c.name);
        }
        for c in tp.columns.iter().filter(|c| c.pg_type == "boolean") {
            map.booleans.insert(c.source.to_lowercase());
        }
        match index(sql, &map) {
            Ok(ix) => {
                let pgname = rel.take(&o.name);
                let collisions = if ix.unique && !ix.partial && !ix.expression {
                    index_collisions(conn, tp, &o.name, ix.body.contains("sw_nocase"))?
                } else {
                    0
                };
                if collisions > 0 {
                    tp.untranslatable.push(collision_note(&tp.source, &pgname, collisions));
                }
                tp.indexes.push(IndexPlan {
                    source: o.name.clone(),
                    create: format!(
                        "CREATE {}INDEX {} ON {} {}",
                        if ix.unique { "UNIQUE " } else { "" },
                        quote_ident(&pgname),
                        quote_ident(&tp.name),
                        ix.body
                    ),
                    name: pgname,
                    unique: ix.unique,
                    partial: ix.partial,
                    expression: ix.expression,
                    collisions,
                });
            }
            Err(reason) => tp.untranslatable.push(Untranslatable {
                object: format!("index {}", o.name),
                sql: sql.clone(),
                reason,
            }),
        }
    }
    Ok(())
}

/// Rows of a UNIQUE index `index` of `tp` (over plain columns) that
/// collide in PostgreSQL only.
fn index_collisions(conn: &Connection, tp: &TablePlan, index: &str, nocase: bool) -> Result<u64> {
    let mut st = conn
        .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        .map_err(sqerr("index columns"))?;
    let names: Vec<Option<String>> = st
        .query_map([index], |r| r.get(0))
        .map_err(sqerr("index columns"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqerr("index columns"))?;
    let cols: Vec<&ColumnPlan> = names
        .iter()
        .filter_map(|n| {
            tp.columns
                .iter()
                .find(|c| n.as_ref().is_some_and(|n| c.source.eq_ignore_ascii_case(n)))
        })
        .collect();
    if cols.len() != names.len() || cols.is_empty() || !needs_collision_check(&cols, nocase) {
        return Ok(0);
    }
    collisions(conn, &tp.source, &cols, nocase)
}

fn add_views_and_triggers(objects: &[Object], plan: &mut Plan, naming: &mut Naming) {
    for o in objects {
        let sql = o.sql.clone().unwrap_or_default();
        match o.kind.as_str() {
            "view" => match view(&sql, &naming.global) {
                Ok(body) => {
                    let pg = naming.rel.take(&o.name);
                    plan.views.push(ViewPlan {
                        source: o.name.clone(),
                        create: format!("CREATE VIEW {} {body}", quote_ident(&pg)),
                        name: pg,
                    });
                }
                Err(reason) => plan.untranslatable.push(Untranslatable {
                    object: format!("view {}", o.name),
                    sql,
                    reason,
                }),
            },
            "trigger" => plan.untranslatable.push(Untranslatable {
                object: format!("trigger {}", o.name),
                sql,
                reason: "triggers are not translated: SQLite trigger bodies are not PL/pgSQL; rewrite as a PostgreSQL trigger function".into(),
            }),
            _ => {}
        }
    }
}

/// Whether the DDL names the case-insensitive collation: columns, CHECKs,
/// indexes and views may all use it.
fn needs_nocase(plan: &Plan) -> bool {
    let nocase = |sql: &str| sql.contains("sw_nocase");
    plan.tables.iter().any(|t| {
        nocase(&t.create)
            || t.checks.iter().any(|c| nocase(&c.expression))
            || t.indexes.iter().any(|i| nocase(&i.create))
    }) || plan.views.iter().any(|v| nocase(&v.create))
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
        "blobs byte for byte; text or a number in a BLOB column is rejected, except in a column typed from values that mix blobs with other storage classes (its `cast_to_blob`): there integers, reals and text are stored as the bytes SQLite's CAST(x AS BLOB) gives (their text)".into(),
    );
    m.insert(
        "jsonb".into(),
        "valid JSON text (no \\u0000); numbers as JSON numbers".into(),
    );
    m.insert("uuid".into(), "text 8-4-4-4-12 or 32 hex digits; 16-byte blobs".into());
    m.insert("rejects".into(), "a value breaking a rule stops the run (exit 65) naming table, rowid, column, value and rule; with --on-error=reject the row goes to the reject file (JSON Lines, original values encoded losslessly) and the run continues".into());
    m
}
