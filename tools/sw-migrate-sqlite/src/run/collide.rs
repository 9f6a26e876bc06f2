//! The decision for UNIQUE keys whose rows collide in PostgreSQL but not in
//! SQLite (found by the plan's preflight), taken before anything is
//! written. SQLite accepted these rows, so the run keeps them: the key is
//! built as a plain index of the same name and the foreign keys that would
//! need it are left out, each named in the table's record with its count
//! (`--strict` has already refused such a plan, since its notes name them).

use crate::plan::{IndexPlan, Plan, Untranslatable};

/// Turn each colliding key of `plan` into a plain index.
pub(super) fn decide(plan: &mut Plan) {
    let mut lost: Vec<(String, Vec<String>)> = Vec::new();
    for t in &mut plan.tables {
        let keys: Vec<_> = t
            .primary_key
            .take_if(|k| k.collisions > 0)
            .into_iter()
            .chain(t.unique.extract_if(.., |k| k.collisions > 0))
            .collect();
        for k in keys {
            forget_plan_note(&mut t.untranslatable, &k.name);
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
            forget_plan_note(&mut t.untranslatable, &i.name);
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
                    "not created: the key it references in {} collides in PostgreSQL and was built as a plain index",
                    f.references
                ),
            });
        }
    }
}

/// Drop the plan's "collides" note for key `name`: the run's note below
/// says what was done instead (one finding, one note).
fn forget_plan_note(notes: &mut Vec<Untranslatable>, name: &str) {
    let prefix = format!("unique key {name} on ");
    notes.retain(|u| !u.object.starts_with(&prefix));
}

fn note(name: &str, n: u64) -> Untranslatable {
    Untranslatable {
        object: format!("unique key {name}"),
        sql: String::new(),
        reason: format!(
            "{n} rows collide in PostgreSQL but not in SQLite (colliding keys: {n}): built as a plain (non-unique) index of the same name; --strict refuses this"
        ),
    }
}
