//! The queue over the `--jobs` sessions. The data phase of a full run is
//! one pipeline: every copy first, then each table's verification and
//! index builds as soon as all of its parts are in, on whichever session is
//! free (biggest ready task first). No session idles while another
//! finishes a table, and no phase waits for the slowest task of the one
//! before. The DDL after the data runs as groups of statements on the same
//! sessions (`ddl_parallel`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::Connection;
use sw_core::{Error, PgContext, Result};
use tokio::sync::Notify;
use tokio_postgres::Client;

use super::ddl::{Ddl, exec_ddl};
use super::job::{Job, SPLIT_ROWS};
use super::verify::{Blocks, check_count, check_sums};
use super::{Ctx, Loaded, one_line, secs};

enum Task {
    /// A job (a table, or a rowid range of one) to copy.
    Copy(usize),
    /// A table's verification, over a block range when split.
    Verify(usize, Option<Blocks>),
    /// An index build.
    Build(Ddl),
}

struct State {
    copies: VecDeque<usize>,
    /// Ready tasks with their weight (rows to go through).
    ready: Vec<(u64, Task)>,
    /// Copies running: until none is, more tasks may become ready.
    copying: usize,
    parts_left: Vec<usize>,
    /// Index builds per table, released when the table is loaded.
    builds: Vec<Vec<Ddl>>,
    loaded: Vec<Loaded>,
    /// Rows and checksum PostgreSQL returned, per table.
    sums: Vec<(u64, i128)>,
    verify_left: Vec<usize>,
    verify_started: Vec<Option<Instant>>,
    skipped: Vec<(String, String)>,
}

impl State {
    /// The heaviest ready task (the first of equals: builds go in before
    /// verifications).
    fn take_ready(&mut self) -> Option<Task> {
        let mut best: Option<(usize, u64)> = None;
        for (i, (w, _)) in self.ready.iter().enumerate() {
            if best.is_none_or(|(_, bw)| *w > bw) {
                best = Some((i, *w));
            }
        }
        best.map(|(i, _)| self.ready.remove(i).1)
    }
}

fn lock(m: &Mutex<State>) -> Result<std::sync::MutexGuard<'_, State>> {
    m.lock().map_err(|_| Error::software("pipeline state poisoned"))
}

impl Ctx<'_> {
    /// Copy `jobs`, verify every table and run its `builds` (per table),
    /// with one worker per session (each with its own SQLite reader).
    /// Returns per table what was loaded (verified unless --no-verify),
    /// and the optional builds PostgreSQL refused.
    pub(super) async fn load_verify_build(
        &self,
        readers: Vec<Connection>,
        jobs: &[Job],
        builds: Vec<Vec<Ddl>>,
        counts: &[u64],
        pool: &[Client],
    ) -> Result<(Vec<Loaded>, Vec<(String, String)>)> {
        let n = self.plan.tables.len();
        let mut parts_left = vec![0; n];
        for j in jobs {
            parts_left[j.table] += 1;
        }
        let state = Mutex::new(State {
            copies: (0..jobs.len()).collect(),
            ready: Vec::new(),
            copying: 0,
            parts_left,
            builds,
            loaded: vec![Loaded::default(); n],
            sums: vec![(0, 0); n],
            verify_left: vec![0; n],
            verify_started: vec![None; n],
            skipped: Vec::new(),
        });
        let wake = Notify::new();
        let width = pool.len();
        let workers = readers.into_iter().zip(pool).map(|(reader, client)| {
            let (state, wake) = (&state, &wake);
            async move {
                let mut reader = Some(reader);
                loop {
                    // Registered before looking, so a wake-up in between is not lost.
                    let notified = wake.notified();
                    let task = {
                        let mut s = lock(state)?;
                        if let Some(j) = s.copies.pop_front() {
                            s.copying += 1;
                            Some(Task::Copy(j))
                        } else if let Some(t) = s.take_ready() {
                            Some(t)
                        } else if s.copying == 0 {
                            break;
                        } else {
                            None
                        }
                    };
                    match task {
                        None => notified.await,
                        Some(Task::Copy(j)) => {
                            let r = reader.take().ok_or_else(|| Error::software("reader lost"))?;
                            let r = self.copy_step(r, client, &jobs[j], state, counts, width).await?;
                            reader = Some(r);
                            lock(state)?.copying -= 1;
                            wake.notify_waiters();
                        }
                        Some(Task::Verify(t, blocks)) => self.verify_step(client, jobs, t, blocks, state).await?,
                        Some(Task::Build(d)) => {
                            let t0 = Instant::now();
                            let mut s = Vec::new();
                            exec_ddl(client, &d, &mut s).await?;
                            log::info!("{:.2}s: {}", secs(t0), one_line(&d.sql));
                            lock(state)?.skipped.extend(s.into_iter().map(|m| (d.table.clone(), m)));
                        }
                    }
                }
                Ok::<(), Error>(())
            }
        });
        // The first failure ends the run: the other copies are dropped unfinished (aborted).
        futures_util::future::try_join_all(workers).await?;
        let s = state
            .into_inner()
            .map_err(|_| Error::software("pipeline state poisoned"))?;
        let mut loaded = s.loaded;
        if !self.args.no_verify {
            for ((t, r), sums) in self.plan.tables.iter().zip(loaded.iter_mut()).zip(s.sums) {
                check_sums(&t.source, sums, &r.stats)?;
                r.verified = Some(true);
            }
        }
        Ok((loaded, s.skipped))
    }

    /// Copy one job; when it was its table's last part, check the row count
    /// and release the table's verification and builds.
    async fn copy_step(
        &self,
        reader: Connection,
        client: &Client,
        job: &Job,
        state: &Mutex<State>,
        counts: &[u64],
        width: usize,
    ) -> Result<Connection> {
        let t0 = Instant::now();
        let (reader, st) = self.copy_table(client, reader, job).await?;
        log::info!("{}: {} rows copied in {:.2}s", job.source, st.loaded, secs(t0));
        let t = job.table;
        let (complete, read, loaded) = {
            let mut s = lock(state)?;
            let r = &mut s.loaded[t];
            r.stats.add(&st);
            // Parts are copied side by side: the table took its longest.
            r.took = r.took.max(t0.elapsed());
            let (read, loaded) = (r.stats.read, r.stats.loaded);
            s.parts_left[t] -= 1;
            (s.parts_left[t] == 0, read, loaded)
        };
        if !complete {
            return Ok(reader);
        }
        check_count(&self.plan.tables[t].source, read, counts[t])?;
        // A big table is verified in block ranges read side by side.
        let ranges: Vec<Option<Blocks>> = if self.args.no_verify {
            Vec::new()
        } else if width > 1 && loaded >= SPLIT_ROWS.unsigned_abs() {
            let blocks: i64 = client
                .query_one(
                    "SELECT pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint",
                    &[&job.qualified],
                )
                .await
                .pg_context(|| format!("reading the size of {}", job.qualified))?
                .get(0);
            let (blocks, parts) = (blocks.unsigned_abs(), width as u64);
            (0..parts)
                .map(|k| Some((blocks * k / parts, (k + 1 < parts).then(|| blocks * (k + 1) / parts))))
                .collect()
        } else {
            vec![None]
        };
        let mut s = lock(state)?;
        for d in std::mem::take(&mut s.builds[t]) {
            s.ready.push((loaded, Task::Build(d)));
        }
        s.verify_left[t] = ranges.len();
        let w = loaded / ranges.len().max(1) as u64;
        for r in ranges {
            s.ready.push((w, Task::Verify(t, r)));
        }
        Ok(reader)
    }

    /// Verify one table, or one block range of it; the time from its first
    /// range starting to its last ending is added to the table's duration.
    async fn verify_step(
        &self,
        client: &Client,
        jobs: &[Job],
        t: usize,
        blocks: Option<Blocks>,
        state: &Mutex<State>,
    ) -> Result<()> {
        let job = jobs
            .iter()
            .find(|j| j.table == t)
            .ok_or_else(|| Error::software("a table without a job"))?;
        lock(state)?.verify_started[t].get_or_insert_with(Instant::now);
        let (count, checksum) = self.table_sums(client, job, blocks).await?;
        let mut s = lock(state)?;
        s.sums[t].0 += count;
        s.sums[t].1 += checksum;
        s.verify_left[t] -= 1;
        if s.verify_left[t] == 0 {
            let took = s.verify_started[t].map(|t0| t0.elapsed()).unwrap_or_default();
            s.loaded[t].took += took;
            log::info!("{}: verified in {:.2}s", job.source, took.as_secs_f64());
        }
        Ok(())
    }
}

impl Ctx<'_> {
    /// Run groups of statements on up to `width` sessions at once (each
    /// group in order on one session). Returns the skipped optional ones.
    pub(super) async fn ddl_parallel(&self, groups: Vec<Vec<Ddl>>, pool: &[Client]) -> Result<Vec<(String, String)>> {
        let groups: Vec<Vec<Ddl>> = groups.into_iter().filter(|g| !g.is_empty()).collect();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let queue: Arc<Mutex<VecDeque<Vec<Ddl>>>> = Arc::new(Mutex::new(groups.into_iter().collect()));
        let n = pool
            .len()
            .min(queue.lock().map_err(|_| Error::software("queue poisoned"))?.len());
        let workers = pool.iter().take(n).map(|client| {
            let queue = queue.clone();
            async move {
                let mut skipped = Vec::new();
                loop {
                    let next = queue.lock().map_err(|_| Error::software("queue poisoned"))?.pop_front();
                    let Some(group) = next else { break };
                    for d in group {
                        let mut s = Vec::new();
                        let t0 = Instant::now();
                        exec_ddl(client, &d, &mut s).await?;
                        log::info!("{:.2}s: {}", secs(t0), one_line(&d.sql));
                        skipped.extend(s.into_iter().map(|m| (d.table.clone(), m)));
                    }
                }
                Ok::<_, Error>(skipped)
            }
        });
        let mut out = Vec::new();
        for r in futures_util::future::join_all(workers).await {
            out.extend(r?);
        }
        Ok(out)
    }
}
