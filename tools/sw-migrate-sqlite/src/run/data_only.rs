//! `--data-only`: load into tables that already exist in the target
//! schema (columns mapped by name, each encoded for its type there), in one
//! session and one transaction, one table after another: refused for a
//! table that is not empty unless `--truncate` empties it first.

use std::time::Instant;

use rusqlite::Connection;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use super::job::{self, Job};
use super::verify::{check_counts, source_counts};
use super::{Ctx, Loaded, Outcome, connect, table_record};
use crate::value::Kind;

impl Ctx<'_> {
    pub(super) async fn data_only(&self, readers: Vec<Connection>) -> Result<Outcome> {
        let (target, main) = connect(self.args, self.args.data_only).await?;
        let schema = self.schema;
        let mut jobs = Vec::new();
        for t in &self.plan.tables {
            let (cols, _) = job::pg_columns(&main, schema, &t.name).await?;
            if cols.is_empty() {
                return Err(Error::data(format!(
                    "table {schema}.{} does not exist in the target (needed by --data-only)",
                    t.name
                )));
            }
            jobs.push(job::job_for(t, schema, &cols, true)?);
        }
        main.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
        if self.args.truncate {
            let list: Vec<String> = jobs.iter().map(|j| j.qualified.clone()).collect();
            if !list.is_empty() {
                main.batch_execute(&format!("TRUNCATE {}", list.join(", ")))
                    .await
                    .pg_context(|| "truncating the target tables".to_owned())?;
            }
        } else {
            for j in &jobs {
                let r = main
                    .query_opt(&format!("SELECT 1 FROM {} LIMIT 1", j.qualified), &[])
                    .await
                    .pg_context(|| format!("checking that {} is empty", j.qualified))?;
                if r.is_some() {
                    return Err(Error::cant_create(format!(
                        "target table {} is not empty; pass --truncate to replace its rows",
                        j.qualified
                    )));
                }
            }
        }
        let counts = source_counts(&readers[0], self.plan)?;
        self.progress.set_total(counts.iter().sum());
        let results = self.load_sequential(readers, jobs.clone(), &main).await?;
        check_counts(self.plan, &counts, &results)?;
        for (t, j) in self.plan.tables.iter().zip(&jobs) {
            for c in &j.cols {
                if matches!(c.kind, Kind::Int2 | Kind::Int4 | Kind::Int8) {
                    self.restart_identity(&main, schema, &t.name, &c.name, &t.source)
                        .await?;
                }
            }
        }
        main.batch_execute("COMMIT")
            .await
            .pg_context(|| "committing the load".to_owned())?;
        let records = self
            .plan
            .tables
            .iter()
            .zip(results)
            .map(|(t, loaded)| table_record(t, schema, loaded, Vec::new()))
            .collect();
        Ok((records, target, 0))
    }

    /// Load in one transaction on `main`, one table after another.
    async fn load_sequential(
        &self,
        mut readers: Vec<Connection>,
        jobs: Vec<Job>,
        main: &Client,
    ) -> Result<Vec<Loaded>> {
        let mut conn = readers.pop().ok_or_else(|| Error::software("no reader"))?;
        let mut out = Vec::new();
        for j in jobs {
            let t0 = Instant::now();
            let (c, stats) = self.copy_table(main, conn, &j).await?;
            conn = c;
            let verified = self.verify(main, &j, &stats).await?;
            out.push(Loaded {
                stats,
                took: t0.elapsed(),
                verified,
            });
        }
        Ok(out)
    }
}
