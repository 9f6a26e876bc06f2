//! The decision for UNIQUE keys whose rows collide in PostgreSQL but not in
//! SQLite (found by the plan's preflight), taken before anything is
//! written: refuse (exit 65, the default), or with `--on-collision index`
//! build a plain index instead and leave out the foreign keys that would
//! need the key, each named in the table's record.

use sw_core::{Error, Result};

use crate::OnCollision;
use crate::plan::{IndexPlan, Plan, Untranslatable};

/// Apply `how` to the colliding keys of `plan`.
///
/// # Errors
/// 65 with `stop` when any key collides, naming each.
pub(super) fn decide(plan: &mut Plan, how: OnCollision) -> Result<()> {
    let found: Vec<String> = plan
        .tables
        .iter()
        .flat_map(|t| {
            let keys = t.primary_key.iter().chain(&t.unique).map(|k| (&k.name, k.collisions));
            let idx = t.indexes.iter().filter(|i| i.unique).map(|i| (&i.name, i.collisions));
            keys.chain(idx)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k} on {} ({n} rows)", t.source))
                .collect::<Vec<_>>()
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    if how == OnCollision::Stop {
        return Err(Error::data(format!(
            "UNIQUE keys whose rows collide in PostgreSQL but not in SQLite: {}; nothing was written (pass --on-collision index to build plain indexes instead, or fix the rows)",
            found.join(", ")
        )));
    }
    let mut lost: Vec<(String, Vec<String>)> = Vec::new();
    for t in &mut plan.tables {
        let keys: Vec<_> = t
            .primary_key
            .take_if(|k| k.collisions > 0)
            .into_iter()
            .chain(t.unique.extract_if(.., |k| k.collisions > 0))
            .collect();
        for k in keys {
            let mut ix = k.index_sql(&t.name);
            ix = ix.replacen("CREATE UNIQUE INDEX", "CREATE INDEX", 1);
            t.untranslatable.push(note(&k.name, k.collisions));
            lost.push((t.name.clone(), k.columns.clone()));
            t.indexes.push(IndexPlan {
                source: k.name.clone(),
                name: k.name,
                unique: false,
                partial: false,
                expression: false,
                create: ix,
                collisions: 0,
            });
        }
        for i in t.indexes.iter_mut().filter(|i| i.unique && i.collisions > 0) {
            i.create = i.create.replacen("CREATE UNIQUE INDEX", "CREATE INDEX", 1);
            i.unique = false;
            t.untranslatable.push(note(&i.name, i.collisions));
        }
    }
    for t in &mut plan.tables {
        let gone: Vec<_> = t
            .foreign_keys
            .extract_if(.., |f| {
                lost.iter()
                    .any(|(n, c)| *n == f.references && *c == f.referenced_columns)
            })
            .collect();
        for f in gone {
            t.untranslatable.push(Untranslatable {
                object: format!("foreign key {}", f.name),
                sql: String::new(),
                reason: format!(
                    "not created: the key it references in {} collides and was built as a plain index (--on-collision index)",
                    f.references
                ),
            });
        }
    }
    Ok(())
}

fn note(name: &str, n: u64) -> Untranslatable {
    Untranslatable {
        object: format!("unique key {name}"),
        sql: String::new(),
        reason: format!(
            "{n} rows collide in PostgreSQL but not in SQLite: built as a plain index (--on-collision index)"
        ),
    }
}
