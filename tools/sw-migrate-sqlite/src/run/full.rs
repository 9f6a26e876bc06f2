//! A full run, phase by phase: stage (create the tables in a staging
//! schema), load, verify and index (the queue), attach the keys, add and
//! validate the foreign keys with ANALYZE, switch into the target schema.
//! A failure anywhere drops the staging schema: the target is unchanged.

use std::collections::HashMap;
use std::time::Instant;

use rusqlite::Connection;
use sw_core::pg::{quote_ident, quote_literal};
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use super::ddl::{self, Ddl, note_skipped};
use super::job::{self, Job};
use super::switch::{Staged, switch};
use super::verify::source_counts;
use super::{Ctx, Loaded, Outcome, connect, secs, table_record};

impl Ctx<'_> {
    pub(super) async fn full(&self, readers: Vec<Connection>) -> Result<Outcome> {
        let (target, main) = connect(self.args, false).await?;
        ddl::drop_abandoned(&main).await?;
        ddl::check_target_free(&main, self.plan, self.schema).await?;
        let stage = ddl::stage_name();
        main.batch_execute(&format!(
            "SELECT pg_advisory_lock(hashtext({})); CREATE SCHEMA {}",
            quote_literal(&stage),
            quote_ident(&stage)
        ))
        .await
        .pg_context(|| "creating the staging schema".to_owned())?;
        let res = self.staged(&main, &stage, &target, readers).await;
        if res.is_err() {
            let _ = main
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(&stage)))
                .await;
        }
        res
    }

    async fn staged(&self, main: &Client, stage: &str, target: &str, readers: Vec<Connection>) -> Result<Outcome> {
        let collations = ddl::create_collations(main, self.plan, self.schema, stage).await?;
        let path = format!(
            "SET search_path = {}, {}, pg_catalog",
            quote_ident(stage),
            quote_ident(self.schema)
        );
        main.batch_execute(&path)
            .await
            .pg_context(|| "setting search_path".to_owned())?;
        let pool = self.pool(&path).await?;
        // One transaction for the whole staging DDL: one commit (and WAL
        // flush) instead of one per table, which dominates a file of many
        // small tables (a SpatiaLite catalog has sixty).
        main.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
        let created = async {
            let plan_jobs = ddl::create_tables(main, self.plan, stage).await?;
            let autovacuum_off = ddl::autovacuum_off(main, stage).await?;
            Ok::<_, Error>((plan_jobs, autovacuum_off))
        }
        .await;
        let (plan_jobs, autovacuum_off) = match created {
            Ok(c) => {
                main.batch_execute("COMMIT")
                    .await
                    .pg_context(|| "committing the staging tables".to_owned())?;
                c
            }
            Err(e) => {
                let _ = main.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        };
        let jobs = self.big_first(&readers[0], plan_jobs);
        let counts = source_counts(&readers[0], self.plan)?;
        self.progress.set_total(counts.iter().sum());
        log::info!(
            "staging tables created and sources counted after {:.2}s",
            secs(self.started)
        );
        // Row counts of the views in the same snapshot: a translated view
        // that selects other rows is caught at the switch.
        let view_counts: Vec<Option<i64>> = self
            .plan
            .views
            .iter()
            .map(|v| {
                readers[0]
                    .query_row(&format!("SELECT count(*) FROM {}", quote_ident(&v.source)), [], |r| {
                        r.get(0)
                    })
                    .ok()
            })
            .collect();
        let (results, mut skipped) = self.load(readers, &jobs, &counts, &pool).await?;
        self.finish_keys(main, stage, &results, &counts, &pool, &mut skipped)
            .await?;
        let t_switch = Instant::now();
        let staged = Staged {
            stage,
            collations: &collations,
            autovacuum_off: &autovacuum_off,
        };
        let (views, view_skips) = switch(main, self.plan, self.schema, &staged, &view_counts).await?;
        log::info!(
            "switched into schema {} (views included) in {:.2}s",
            self.schema,
            secs(t_switch)
        );
        let mut records = Vec::new();
        for (i, (t, loaded)) in self.plan.tables.iter().zip(results).enumerate() {
            let mut untranslated: Vec<String> = t
                .untranslatable
                .iter()
                .map(|u| format!("{}: {}", u.object, u.reason))
                .collect();
            untranslated.extend(skipped.remove(&t.source).unwrap_or_default());
            if let Some(j) = jobs.iter().find(|j| j.table == i) {
                untranslated.extend(j.dropped.iter().cloned());
            }
            records.push(table_record(t, self.schema, loaded, untranslated));
        }
        if let Some(first) = records.first_mut() {
            first.untranslated.extend(view_skips);
        }
        Ok((records, target.to_owned(), views))
    }

    /// The sessions for copies, verification, index builds and ANALYZE,
    /// opened once (side by side) and kept for every phase. They wait for
    /// each other's locks without a timeout (the staging schema is ours
    /// alone).
    async fn pool(&self, path: &str) -> Result<Vec<Client>> {
        let width = usize::from(self.args.jobs).max(1);
        futures_util::future::try_join_all((0..width).map(|_| async move {
            let (_, client) = connect(self.args, true).await?;
            client
                .batch_execute(&format!("{path}; SET lock_timeout = 0"))
                .await
                .pg_context(|| "setting up a session".to_owned())?;
            Ok::<_, Error>(client)
        }))
        .await
    }

    /// Big tables first, in parts loaded side by side.
    fn big_first(&self, reader: &Connection, plan_jobs: Vec<Job>) -> Vec<Job> {
        let mut jobs = Vec::new();
        let mut rest = Vec::new();
        for j in plan_jobs {
            let alias = self.plan.tables[j.table].identity.is_some();
            let parts = job::split(reader, j, alias, usize::from(self.args.jobs).max(1));
            if parts.len() > 1 {
                jobs.extend(parts);
            } else {
                rest.extend(parts);
            }
        }
        jobs.extend(rest);
        jobs
    }

    /// Copy, verify and build every index (the queue); returns per table
    /// what was loaded, and the optional builds PostgreSQL refused.
    async fn load(
        &self,
        readers: Vec<Connection>,
        jobs: &[Job],
        counts: &[u64],
        pool: &[Client],
    ) -> Result<(Vec<Loaded>, HashMap<String, Vec<String>>)> {
        let builds = ddl::index_builds(self.plan);
        // With a build per session the cores are already busy: parallel
        // workers would only add their tape merge (measured: 0.8 s builds
        // became 0.6 s on the benchmark's 2 cores without them). One session
        // (--jobs 1) keeps them: its builds run one at a time.
        if pool.len() > 1 && builds.iter().map(Vec::len).sum::<usize>() >= pool.len() {
            for c in pool {
                c.batch_execute("SET max_parallel_maintenance_workers = 0")
                    .await
                    .pg_context(|| "setting up a session".to_owned())?;
            }
        }
        let t_load = Instant::now();
        let (results, build_skips) = self.load_verify_build(readers, jobs, builds, counts, pool).await?;
        let mut skipped = HashMap::new();
        note_skipped(&mut skipped, build_skips);
        log::info!(
            "data loaded, {}and indexed in {:.2}s",
            if self.args.no_verify { "" } else { "verified " },
            secs(t_load)
        );
        Ok((results, skipped))
    }

    /// After the data: attach the keys and add the CHECKs (per table, the
    /// biggest first), add the foreign keys NOT VALID, move the identities,
    /// then validate the foreign keys side by side with ANALYZE of every
    /// table (after its indexes, so expression indexes get statistics).
    async fn finish_keys(
        &self,
        main: &Client,
        stage: &str,
        results: &[Loaded],
        counts: &[u64],
        pool: &[Client],
        skipped: &mut HashMap<String, Vec<String>>,
    ) -> Result<()> {
        let t_post = Instant::now();
        let mut order: Vec<usize> = (0..self.plan.tables.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
        note_skipped(
            skipped,
            self.ddl_parallel(ddl::constraints(self.plan, &order), pool).await?,
        );
        // The sessions wait for each other without a lock timeout (the
        // staging schema is ours alone).
        // A run that planned for itself (without --strict) did not look
        // for orphans: the validation finds them.
        let unscanned = self.args.plan.is_none() && !self.args.strict;
        let mut last = ddl::add_foreign_keys(main, self.plan, results, unscanned).await?;
        for t in &self.plan.tables {
            if let Some(id) = &t.identity {
                self.restart_identity(main, stage, &t.name, &id.column, &t.source)
                    .await?;
            }
        }
        let t_an = Instant::now();
        last.extend(order.iter().map(|&i| {
            let t = &self.plan.tables[i];
            vec![Ddl {
                table: t.source.clone(),
                sql: format!("ANALYZE {}.{}", quote_ident(stage), quote_ident(&t.name)),
                optional: false,
                relaxed: None,
                orphans: None,
            }]
        }));
        note_skipped(skipped, self.ddl_parallel(last, pool).await?);
        log::info!(
            "keys, constraints, foreign keys and ANALYZE in {:.2}s (foreign key validation and ANALYZE {:.2}s)",
            secs(t_post),
            secs(t_an)
        );
        Ok(())
    }
}
