//! The switch: in one transaction, the collations and tables move from the
//! staging schema into the target schema, autovacuum is reset, the views
//! are created (each only when it returns SQLite's row count), and the
//! staging schema is dropped. Readers see all of it or nothing.

use sw_core::pg::quote_ident;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::plan::Plan;

/// What the staging schema holds that the switch moves.
pub(super) struct Staged<'a> {
    pub stage: &'a str,
    /// Collations created there (the target had none of that name).
    pub collations: &'a [String],
    /// Tables autovacuum was turned off for.
    pub autovacuum_off: &'a [String],
}

/// Switch into `schema`; returns the views created and, per view not
/// created, why. `view_counts`: each view's row count in SQLite.
pub(super) async fn switch(
    main: &Client,
    plan: &Plan,
    schema: &str,
    staged: &Staged<'_>,
    view_counts: &[Option<i64>],
) -> Result<(usize, Vec<String>)> {
    let stage = quote_ident(staged.stage);
    let target = quote_ident(schema);
    let mut sql = format!("BEGIN; CREATE SCHEMA IF NOT EXISTS {target};");
    for c in staged.collations {
        sql.push_str(&format!(
            "ALTER COLLATION {stage}.{} SET SCHEMA {target};",
            quote_ident(c)
        ));
    }
    for t in staged.autovacuum_off {
        sql.push_str(&format!(
            "ALTER TABLE {stage}.{} RESET (autovacuum_enabled, toast.autovacuum_enabled);",
            quote_ident(t)
        ));
    }
    for t in &plan.tables {
        sql.push_str(&format!(
            "ALTER TABLE {stage}.{} SET SCHEMA {target};",
            quote_ident(&t.name)
        ));
    }
    sql.push_str(&format!("SET LOCAL search_path = {target}, pg_catalog;"));
    main.batch_execute(&sql)
        .await
        .map_err(|e| Error::pg(format!("moving the tables into schema {schema}"), e))?;
    let mut views = 0;
    let mut skips = Vec::new();
    for (v, want) in plan.views.iter().zip(view_counts) {
        main.batch_execute("SAVEPOINT v")
            .await
            .pg_context(|| "savepoint".to_owned())?;
        match create_view(main, &v.create, &v.name, *want).await {
            Ok(()) => {
                views += 1;
                main.batch_execute("RELEASE SAVEPOINT v")
                    .await
                    .pg_context(|| "savepoint".to_owned())?;
            }
            Err(msg) => {
                log::warn!("view {} not created: {msg}", v.source);
                skips.push(format!("view {}: {msg}", v.source));
                main.batch_execute("ROLLBACK TO SAVEPOINT v")
                    .await
                    .pg_context(|| "savepoint".to_owned())?;
            }
        }
    }
    main.batch_execute(&format!("DROP SCHEMA {stage} CASCADE; COMMIT"))
        .await
        .pg_context(|| "committing the switch into the target schema".to_owned())?;
    Ok((views, skips))
}

/// Create a view and check it returns `want` rows (as in SQLite); the
/// server's message or the difference when not.
async fn create_view(main: &Client, create: &str, name: &str, want: Option<i64>) -> std::result::Result<(), String> {
    let message = |e: tokio_postgres::Error| {
        e.as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned())
    };
    main.batch_execute(create).await.map_err(message)?;
    let Some(want) = want else { return Ok(()) };
    let got: i64 = main
        .query_one(&format!("SELECT count(*) FROM {}", quote_ident(name)), &[])
        .await
        .map(|r| r.get(0))
        .map_err(message)?;
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "the translated view returns {got} rows, SQLite's {want}: not created"
        ))
    }
}
