//! The initial snapshot of the Postgres connector.
//!
//! ```text
//! slot created with EXPORT_SNAPSHOT ──> snapshot name + consistent point C
//!   readers (snapshot.max.threads), each: BEGIN REPEATABLE READ; SET TRANSACTION SNAPSHOT
//!     table by table, keyset chunks:  COPY (SELECT … WHERE key > last ORDER BY key LIMIT n)
//!     ── lines, 1024 per task ──> conversion tasks (parallel): row mapping as the stream,
//!        converted (marker `true`)  ──> Chunk (in order, bounded channel) ──┐
//!   merge (this task): markers (first/true/last…), pipeline, SnapshotState in the position
//!   done ──> streaming starts at C: every change after the snapshot, none before it
//! ```
//! Every reader sees the database exactly as of C, so a write concurrent with the snapshot is
//! either in the snapshot rows or a stream event after C, never both and never neither.
//! A restart in the middle resumes each table after its last delivered chunk. The exported
//! snapshot is gone by then, so the keyed tables left finish in watermark windows while
//! streaming from C (`IncrementalState::resume_initial`, the DBLog method of incremental
//! snapshots): a re-read row is emitted at its window's high watermark, after every change
//! older than it, and a change inside the window drops the row, so no change older than a
//! re-read row follows it. Tables without a key (or with a select override) cannot be
//! windowed: they are read again whole, as of the restart, before streaming starts, and
//! replaying the events in order still gives their final state. With `initial_only` nothing
//! streams, so every table left is read as of the restart.
//!
//! Rows are mapped and converted by short tasks, one per group of lines, so that this work runs
//! on every core even for a single table, instead of on one reader and the merge task. They
//! convert with key and value converters forked from the pipeline (when it has no transforms
//! and its converters can be copied); the few rows whose marker is not `true` are mapped again
//! from their COPY line by the merge loop and converted by the pipeline. The merge loop takes
//! the groups in the order the reader read them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{pin_mut, StreamExt};
use sluice_config::PostgresConnectorConfig;
use sluice_decoders::pgoutput::{ColumnValue, TupleData};
use sluice_sinks::{Sink, SinkRecord};
use sluice_snapshot::marker::{Marker, SnapshotMarker};
use sluice_snapshot::progress::TableProgress;
use sluice_snapshot::state::SnapshotState;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connector::ConnectorError;
use super::position::PgPosition;
use super::replication::{format_lsn, ConnectParams};
use super::source::{set_snapshot_marker, CapturedTable, EventError, EventSource, SnapshotMapper};
use super::sql::{key_texts, keyset_after, quote_ident, quote_literal};
use super::tls::connect_sql;
use crate::connect::Record;
use crate::converter::Converter;
use crate::envelope::ENVELOPE_KEPT_ON_REFILL;
use crate::pipeline::{take_filled, Pipeline};

/// Row groups queued (and being converted) per reader before readers wait for the pipeline.
const CHUNKS_PER_READER: usize = 4;
/// Rows per message from a reader to the merge loop.
const ROWS_PER_MESSAGE: usize = 1024;
/// Progress is logged at most this often per table.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// One table to read.
#[derive(Debug)]
pub struct TablePlan {
    /// `schema.table`.
    pub name: String,
    pub captured: Arc<CapturedTable>,
    /// `"schema"."table"`.
    quoted: String,
    /// Quoted column names, in the captured table's column order.
    columns: String,
    /// Quoted key columns and their positions among the columns (empty: read whole).
    key: Vec<(String, usize)>,
    select_override: Option<String>,
    estimate: u64,
}

impl TablePlan {
    /// Whether the table can be read in key-ordered windows (a key, no select override).
    pub fn keyed(&self) -> bool {
        !self.key.is_empty() && self.select_override.is_none()
    }
}

/// Why a snapshot stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot read of {table} failed")]
    Read {
        table: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot lock the snapshot's tables within snapshot.lock.timeout.ms ({timeout_ms} ms): another session holds an exclusive lock (TRUNCATE, ALTER, DROP); retry later, raise the timeout, or set snapshot.locking.mode=none")]
    Lock {
        timeout_ms: u64,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot open a snapshot reader")]
    Connect(#[source] super::replication::ReplicationError),
    #[error(
        "snapshot row of {table} does not match its columns ({got} values for {expected} columns)"
    )]
    Shape {
        table: String,
        got: usize,
        expected: usize,
    },
    #[error(transparent)]
    Event(Box<EventError>),
    #[error("the task converting snapshot rows of {table} failed")]
    Task {
        table: String,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl From<EventError> for SnapshotError {
    fn from(e: EventError) -> Self {
        SnapshotError::Event(Box::new(e))
    }
}

/// Text of a row's key columns: where a restart resumes a table.
type RowKey = Option<Vec<Option<String>>>;

/// What readers hand to the merge loop.
enum ReaderEvent {
    /// Rows of one table, in key order, once converted.
    Chunk {
        table: usize,
        rows: Converting,
    },
    TableDone {
        table: usize,
    },
    Failed(SnapshotError),
}

/// A group of rows being mapped and converted; the task is aborted if the merge loop drops
/// it unawaited (the snapshot stopped).
struct Converting(tokio::task::JoinHandle<Result<Vec<Row>, SnapshotError>>);

impl Converting {
    async fn rows(mut self, table: &str) -> Result<Vec<Row>, SnapshotError> {
        match (&mut self.0).await {
            Ok(rows) => rows,
            Err(source) => Err(SnapshotError::Task {
                table: table.to_string(),
                source,
            }),
        }
    }
}

impl Drop for Converting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One row as a reader hands it over.
struct Row {
    /// The row's COPY line: its key is read from it when the snapshot state needs it (once
    /// per message, not per row), and a converted row that must carry another marker than
    /// `true` is mapped again from it.
    line: Bytes,
    image: RowImage,
}

enum RowImage {
    /// Mapped with the marker `true`; the pipeline converts it.
    Record(Record),
    /// Mapped with the marker `true` and converted by the reader.
    Converted(SinkRecord),
}

/// A row waiting for its marker in the merge loop.
struct Pending {
    row: Row,
    table: usize,
    last_of_table: bool,
}

/// Decide which tables to read, in Debezium's order, and load their shapes.
pub async fn plan(
    sql: &tokio_postgres::Client,
    config: &PostgresConnectorConfig,
    source: &mut EventSource,
    state: &SnapshotState,
) -> Result<Vec<TablePlan>, ConnectorError> {
    let sql_err = |what: &str| {
        let what = what.to_string();
        move |source| ConnectorError::Sql { what, source }
    };
    let rows = sql
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, GREATEST(c.reltuples, 0)::bigint
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'",
            &[],
        )
        .await
        .map_err(sql_err("listing tables for the snapshot"))?;
    let filters = config.filters();
    let mut found: Vec<(String, u32, String, String, u64)> = rows
        .iter()
        .map(|r| {
            let (oid, schema, table, estimate): (u32, String, String, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            (
                format!("{schema}.{table}"),
                oid,
                schema,
                table,
                estimate.max(0) as u64,
            )
        })
        .filter(|(name, _, schema, table, _)| {
            filters.include_table(schema, table)
                && config.snapshot_include_collection_list.admits(name)
                && (state.tables.is_empty() || state.tables.contains(name))
        })
        .collect();
    let mut names: Vec<String> = found.iter().map(|f| f.0.clone()).collect();
    let patterns = filters.table.patterns();
    sluice_snapshot::order::include_list_order(&mut names, patterns.len(), |i, t| {
        filters.table.include_pattern_matches(i, t)
    });
    found.sort_by_key(|f| names.iter().position(|n| *n == f.0));
    let mut plans = Vec::with_capacity(found.len());
    for (name, oid, schema, table, estimate) in found {
        let Some(captured) = source.capture_table(sql, oid, &schema, &table).await? else {
            continue;
        };
        let columns: Vec<String> = captured.column_names().map(quote_ident).collect();
        let key = captured
            .key_column_names()
            .filter_map(|k| {
                captured
                    .column_names()
                    .position(|c| c == k)
                    .map(|i| (quote_ident(k), i))
            })
            .collect();
        plans.push(TablePlan {
            quoted: format!("{}.{}", quote_ident(&schema), quote_ident(&table)),
            columns: columns.join(", "),
            key,
            select_override: config
                .snapshot_select_statement_overrides
                .get(&name)
                .cloned(),
            estimate,
            captured,
            name,
        });
    }
    Ok(plans)
}

/// Read the snapshot into the pipeline. Returns `false` when stopped by `shutdown`.
#[allow(clippy::too_many_arguments)]
pub async fn run<S: Sink>(
    config: &PostgresConnectorConfig,
    params: &ConnectParams,
    snapshot_name: Option<String>,
    plans: Vec<TablePlan>,
    mut state: SnapshotState,
    mapper: SnapshotMapper,
    pipeline: &mut Pipeline<S, PgPosition>,
    offset_flush_interval: Duration,
    shutdown: &CancellationToken,
) -> Result<bool, ConnectorError> {
    let consistent = mapper.lsn;
    let ts_usec = mapper.ts_us;
    let plans = Arc::new(plans);
    let queue: VecDeque<(usize, RowKey)> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| !state.progress.get(&p.name).is_some_and(|t| t.done))
        .map(|(i, p)| {
            (
                i,
                state.progress.get(&p.name).and_then(|t| t.last_key.clone()),
            )
        })
        .collect();
    let threads = (config.snapshot_max_threads as usize).clamp(1, queue.len().max(1));
    tracing::info!(
        tables = queue.len(),
        threads,
        consistent_point = %format_lsn(consistent),
        exported = snapshot_name.is_some(),
        "snapshot starting"
    );
    let lock = (matches!(
        config.snapshot_locking_mode,
        sluice_config::SnapshotLockingMode::Shared
    ) && !queue.is_empty())
    .then(|| {
        format!(
            "SET LOCAL lock_timeout = {}; LOCK TABLE {} IN ACCESS SHARE MODE",
            config.snapshot_lock_timeout_ms,
            queue
                .iter()
                .map(|(i, _)| plans[*i].quoted.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let queue = Arc::new(Mutex::new(queue));
    let (tx, mut rx) = mpsc::channel(threads * CHUNKS_PER_READER);
    let stop = shutdown.child_token();
    let mut readers = tokio::task::JoinSet::new();
    let mapper = Arc::new(mapper);
    for worker in 0..threads {
        let reader = Reader {
            converters: pipeline.fork_converters(),
            params: params.clone(),
            snapshot_name: snapshot_name.clone(),
            plans: plans.clone(),
            queue: queue.clone(),
            mapper: mapper.clone(),
            fetch_size: config.snapshot_fetch_size.max(1) as usize,
            lock: lock.clone(),
            lock_timeout_ms: config.snapshot_lock_timeout_ms,
            tx: tx.clone(),
        };
        let stop = stop.clone();
        readers.spawn(tracing::Instrument::instrument(
            async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = reader.run() => {}
                }
            },
            tracing::info_span!("snapshot_reader", worker),
        ));
    }
    drop(tx);

    let mut merge = Merge {
        plans: plans.clone(),
        mapper: mapper.clone(),
        unsettled: vec![None; plans.len()],
        // After a restart the snapshot's first row was already delivered: no second `first`.
        marker: if state.progress.values().any(|p| p.rows > 0 || p.done) {
            let started = plans.iter().enumerate().filter_map(|(i, p)| {
                state
                    .progress
                    .get(&p.name)
                    .is_some_and(|t| t.rows > 0)
                    .then_some(i)
            });
            Marker::resumed(plans.len(), started)
        } else {
            Marker::new(plans.len())
        },
        tail: None,
        progress: plans
            .iter()
            .map(|p| TableProgress::new(&p.name, p.estimate))
            .collect(),
        last_log: vec![Instant::now(); plans.len()],
    };
    let position = |state: &SnapshotState| PgPosition {
        lsn: consistent,
        lsn_proc: consistent,
        lsn_commit: consistent,
        tx_id: None,
        ts_usec,
        snapshot: Some(Arc::new(state.clone())),
        incremental: None,
    };
    // The acknowledged progress is committed as the snapshot goes (offset.flush.interval.ms),
    // not only at its end: what a restart resumes from is the last committed SnapshotState.
    let mut commit_timer = tokio::time::interval(offset_flush_interval);
    commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let result = loop {
        let deadline = pipeline.batch_deadline();
        tokio::select! {
            biased;
            // 1. Shutdown: the caller drains and commits.
            _ = shutdown.cancelled() => break Ok(false),
            // 2. Timers: close a lingering batch, commit the acknowledged snapshot state. Before
            //    the acknowledgements, which a fast snapshot keeps ready all the time.
            _ = sleep_until(deadline), if deadline.is_some() => pipeline.flush_batch().await?,
            _ = commit_timer.tick() => {
                pipeline.commit().await?;
            }
            // 3. Acknowledgements before new rows.
            ack = pipeline.next_ack(), if pipeline.has_in_flight() => ack?,
            // 4. Rows from the readers, only while the pipeline has room.
            event = rx.recv(), if pipeline.can_accept() => {
                match event {
                    None => {
                        merge.finish(pipeline, &mut state).await?;
                        merge.settle(&mut state);
                        pipeline.set_position(position(&state));
                        let planned_done = plans
                            .iter()
                            .all(|p| state.progress.get(&p.name).is_some_and(|t| t.done));
                        if !planned_done {
                            break Err(ConnectorError::Prerequisite(
                                "snapshot readers stopped before every table was read".into(),
                            ));
                        }
                        break Ok(true);
                    }
                    Some(ReaderEvent::Failed(e)) => break Err(ConnectorError::Snapshot(e)),
                    Some(ReaderEvent::Chunk { table, rows }) => {
                        // In reading order: the next group is usually converted by now.
                        let rows = rows.rows(&plans[table].name).await?;
                        merge.rows(pipeline, &mut state, table, rows).await?
                    }
                    Some(ReaderEvent::TableDone { table }) => merge.table_done(pipeline, &mut state, table).await?,
                }
                merge.settle(&mut state);
                pipeline.set_position(position(&state));
                if pipeline.batch_full() {
                    pipeline.flush_batch().await?;
                }
            }
        }
    };
    stop.cancel();
    while readers.join_next().await.is_some() {}
    if matches!(result, Ok(true)) {
        let rows: u64 = merge.progress.iter().map(|p| p.rows_done).sum();
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            rows,
            seconds = secs,
            rows_per_s = (rows as f64 / secs.max(1e-9)) as u64,
            "snapshot done"
        );
    }
    result
}

/// Orders rows into the pipeline with their markers, and keeps the state in step with what
/// was actually handed over.
struct Merge {
    plans: Arc<Vec<TablePlan>>,
    /// Maps again the converted rows whose marker is not `true`.
    mapper: Arc<SnapshotMapper>,
    /// Per table: the line of the last row delivered whose key is not yet in the state.
    unsettled: Vec<Option<Bytes>>,
    marker: Marker<Pending>,
    /// The latest marked row, held back: only the end of the snapshot tells it is `last`.
    tail: Option<(Pending, SnapshotMarker)>,
    progress: Vec<TableProgress>,
    last_log: Vec<Instant>,
}

impl Merge {
    async fn rows<S: Sink>(
        &mut self,
        pipeline: &mut Pipeline<S, PgPosition>,
        state: &mut SnapshotState,
        table: usize,
        rows: Vec<Row>,
    ) -> Result<(), ConnectorError> {
        let count = rows.len() as u64;
        for row in rows {
            let item = Pending {
                row,
                table,
                last_of_table: false,
            };
            if let Some(marked) = self.marker.push(table, item) {
                self.advance(pipeline, state, marked).await?;
            }
        }
        let p = &mut self.progress[table];
        p.rows_done += count;
        // Per chunk, not per row.
        pipeline
            .metrics()
            .snapshot_progress(&p.table, p.rows_done, p.rows_estimated);
        if self.last_log[table].elapsed() >= PROGRESS_EVERY {
            self.last_log[table] = Instant::now();
            log_progress(p);
        }
        Ok(())
    }

    async fn table_done<S: Sink>(
        &mut self,
        pipeline: &mut Pipeline<S, PgPosition>,
        state: &mut SnapshotState,
        table: usize,
    ) -> Result<(), ConnectorError> {
        match self.marker.finish_table(table) {
            Some((mut item, m)) => {
                item.last_of_table = true;
                self.advance(pipeline, state, (item, m)).await?;
            }
            // Nothing of this table is held back: it is complete.
            None => state.table_done(&self.plans[table].name),
        }
        let p = &self.progress[table];
        tracing::info!(
            table = %p.table,
            rows = p.rows_done,
            rows_per_s = p.rows_per_second() as u64,
            "snapshot of table done"
        );
        Ok(())
    }

    /// The readers are done: the held-back row is the `last` one, unless tables that this
    /// run does not read are still pending (they finish in windows while streaming).
    async fn finish<S: Sink>(
        &mut self,
        pipeline: &mut Pipeline<S, PgPosition>,
        state: &mut SnapshotState,
    ) -> Result<(), ConnectorError> {
        if let Some((item, marker)) = self.tail.take() {
            let table = &self.plans[item.table].name;
            let others_pending = state.pending().any(|(t, _)| t != table);
            let marker = match (others_pending, marker) {
                (false, _) => SnapshotMarker::Last,
                (true, SnapshotMarker::First) => SnapshotMarker::First,
                (true, _) => SnapshotMarker::LastInDataCollection,
            };
            self.deliver(pipeline, state, item, marker).await?;
        }
        Ok(())
    }

    async fn advance<S: Sink>(
        &mut self,
        pipeline: &mut Pipeline<S, PgPosition>,
        state: &mut SnapshotState,
        marked: (Pending, SnapshotMarker),
    ) -> Result<(), ConnectorError> {
        if let Some((prev, m)) = self.tail.replace(marked) {
            self.deliver(pipeline, state, prev, m).await?;
        }
        Ok(())
    }

    /// Hand a marked row to the pipeline; only then does the state count it as delivered, so
    /// a restart never skips a row that was still held back. Its key reaches the state with
    /// [`Merge::settle`], before the state goes into a position.
    async fn deliver<S: Sink>(
        &mut self,
        pipeline: &mut Pipeline<S, PgPosition>,
        state: &mut SnapshotState,
        item: Pending,
        marker: SnapshotMarker,
    ) -> Result<(), ConnectorError> {
        let plans = self.plans.clone();
        let plan = &plans[item.table];
        let Row { line, image } = item.row;
        match (image, marker) {
            (RowImage::Converted(converted), SnapshotMarker::True) => {
                pipeline.push_converted(converted);
            }
            (RowImage::Converted(_), marker) => {
                let mut record = self
                    .mapper
                    .record(&plan.captured, &parse_copy_row(&line))
                    .map_err(|e| ConnectorError::Snapshot(e.into()))?;
                set_snapshot_marker(&mut record, marker.as_str());
                pipeline.push(record).await?;
            }
            (RowImage::Record(mut record), marker) => {
                set_snapshot_marker(&mut record, marker.as_str());
                pipeline.push(record).await?;
            }
        }
        state.row_delivered(&plan.name, None);
        if !plan.key.is_empty() {
            self.unsettled[item.table] = Some(line);
        }
        if item.last_of_table {
            self.settle(state);
            state.table_done(&plan.name);
        }
        Ok(())
    }

    /// Put the key of each table's last delivered row into the state.
    fn settle(&mut self, state: &mut SnapshotState) {
        for (table, line) in self.unsettled.iter_mut().enumerate() {
            if let Some(line) = line.take() {
                let plan = &self.plans[table];
                let key = key_texts(&parse_copy_row(&line), plan.key.iter().map(|(_, i)| *i));
                state.chunk_done(&plan.name, Some(key), 0);
            }
        }
    }
}

fn log_progress(p: &TableProgress) {
    tracing::info!(
        table = %p.table,
        rows = p.rows_done,
        estimated = p.rows_estimated,
        percent = format!("{:.1}", p.percent()),
        rows_per_s = p.rows_per_second() as u64,
        eta_s = p.eta().map(|d| d.as_secs()),
        "snapshot progress"
    );
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Map (and convert, with `converters`) one group of COPY lines of `plan`.
fn convert_rows(
    mapper: &SnapshotMapper,
    plan: &TablePlan,
    table: usize,
    mut converter: Option<RowConverter>,
    lines: Vec<Bytes>,
) -> Result<Vec<Row>, SnapshotError> {
    let expected = plan.captured.column_count();
    let mut tuple = TupleData(Vec::with_capacity(expected));
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        parse_copy_row_into(&line, &mut tuple);
        if tuple.0.len() != expected {
            return Err(SnapshotError::Shape {
                table: plan.name.clone(),
                got: tuple.0.len(),
                expected,
            });
        }
        let image = match &mut converter {
            Some(c) => c.convert(mapper, table, &plan.captured, &tuple)?,
            None => RowImage::Record(mapper.record(&plan.captured, &tuple)?),
        };
        rows.push(Row { line, image });
    }
    Ok(rows)
}

/// Copies of the pipeline's converters for one group of rows.
struct RowConverter {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    /// The last record mapped, refilled for the next row of the same table.
    template: Option<(usize, Record)>,
}

impl RowConverter {
    fn new(key: Box<dyn Converter>, value: Box<dyn Converter>) -> RowConverter {
        RowConverter {
            key,
            value,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
            template: None,
        }
    }

    /// Map and convert one row (marker `true`). A row a converter fails on is handed over
    /// unconverted: the pipeline converts it again and applies `errors.*`.
    fn convert(
        &mut self,
        mapper: &SnapshotMapper,
        table: usize,
        captured: &CapturedTable,
        tuple: &TupleData,
    ) -> Result<RowImage, EventError> {
        let (record, kept): (_, &[usize]) = match &mut self.template {
            Some((t, record)) if *t == table => {
                mapper.refill(captured, tuple, record)?;
                (record, &ENVELOPE_KEPT_ON_REFILL)
            }
            template => (
                &mut template.insert((table, mapper.record(captured, tuple)?)).1,
                &[],
            ),
        };
        let key = self.key.convert(
            &record.topic,
            record.key_schema.as_ref(),
            record.key.as_ref(),
            &mut self.key_buf,
        );
        let value = self.value.convert_refilled(
            &record.topic,
            record.value_schema.as_ref(),
            record.value.as_ref(),
            kept,
            &mut self.value_buf,
        );
        let (Ok(key), Ok(value)) = (key, value) else {
            return Ok(RowImage::Record(record.clone()));
        };
        Ok(RowImage::Converted(SinkRecord {
            topic: record.topic.clone(),
            key: key.then(|| take_filled(&mut self.key_buf)),
            value: value.then(|| take_filled(&mut self.value_buf)),
            headers: record
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().map(String::into_bytes)))
                .collect(),
            timestamp_ms: record.timestamp_ms,
        }))
    }
}

/// One snapshot reader: a connection inside the exported snapshot, taking tables off the queue.
struct Reader {
    /// The pipeline's key and value converters, forked again for each group of rows; `None`:
    /// rows are handed over as records, the pipeline converts them.
    converters: Option<(Box<dyn Converter>, Box<dyn Converter>)>,
    params: ConnectParams,
    snapshot_name: Option<String>,
    plans: Arc<Vec<TablePlan>>,
    queue: Arc<Mutex<VecDeque<(usize, RowKey)>>>,
    mapper: Arc<SnapshotMapper>,
    fetch_size: usize,
    /// `SET LOCAL lock_timeout …; LOCK TABLE … IN ACCESS SHARE MODE` (snapshot.locking.mode=shared).
    lock: Option<String>,
    lock_timeout_ms: u64,
    tx: mpsc::Sender<ReaderEvent>,
}

impl Reader {
    async fn run(mut self) {
        if let Err(e) = self.read_all().await {
            let _ = self.tx.send(ReaderEvent::Failed(e)).await;
        }
    }

    fn next_table(&self) -> Option<(usize, RowKey)> {
        match self.queue.lock() {
            Ok(mut q) => q.pop_front(),
            Err(poisoned) => poisoned.into_inner().pop_front(),
        }
    }

    async fn read_all(&mut self) -> Result<(), SnapshotError> {
        let client = connect_sql(&self.params)
            .await
            .map_err(SnapshotError::Connect)?;
        let begin = match &self.snapshot_name {
            Some(name) => format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                quote_literal(name)
            ),
            None => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string(),
        };
        client
            .batch_execute(&begin)
            .await
            .map_err(|source| SnapshotError::Read {
                table: "(transaction start)".into(),
                source,
            })?;
        if let Some(lock) = &self.lock {
            // Held until this reader commits: a TRUNCATE (not MVCC-safe) or a DROP must wait
            // for the snapshot instead of hiding rows from it.
            client
                .batch_execute(lock)
                .await
                .map_err(|source| SnapshotError::Lock {
                    timeout_ms: self.lock_timeout_ms,
                    source,
                })?;
        }
        while let Some((table, resume)) = self.next_table() {
            self.read_table(&client, table, resume).await?;
            if self
                .tx
                .send(ReaderEvent::TableDone { table })
                .await
                .is_err()
            {
                return Ok(());
            }
        }
        let _ = client.batch_execute("COMMIT").await;
        Ok(())
    }

    async fn read_table(
        &mut self,
        client: &tokio_postgres::Client,
        table: usize,
        mut last_key: RowKey,
    ) -> Result<(), SnapshotError> {
        let plans = self.plans.clone();
        let plan = &plans[table];
        if plan.key.is_empty() || plan.select_override.is_some() {
            let select = plan
                .select_override
                .clone()
                .unwrap_or_else(|| format!("SELECT {} FROM {}", plan.columns, plan.quoted));
            return self.copy(client, table, &select).await.map(|_| ());
        }
        let key_list = plan
            .key
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        loop {
            let filter = match &last_key {
                Some(values) => format!(" WHERE {}", keyset_after(&key_list, values)),
                None => String::new(),
            };
            let select = format!(
                "SELECT {} FROM {}{filter} ORDER BY {key_list} LIMIT {}",
                plan.columns, plan.quoted, self.fetch_size
            );
            let (rows, last) = self.copy(client, table, &select).await?;
            if rows < self.fetch_size || last.is_none() {
                return Ok(());
            }
            last_key = last;
        }
    }

    /// Run one COPY and send its rows in chunks of at most `fetch_size`. Returns the number of
    /// rows and the key of the last one.
    async fn copy(
        &mut self,
        client: &tokio_postgres::Client,
        table: usize,
        select: &str,
    ) -> Result<(usize, RowKey), SnapshotError> {
        let plans = self.plans.clone();
        let plan = &plans[table];
        let read_err = |source| SnapshotError::Read {
            table: plan.name.clone(),
            source,
        };
        let stream = client
            .copy_out(&format!("COPY ({select}) TO STDOUT"))
            .await
            .map_err(read_err)?;
        pin_mut!(stream);
        let group = self.fetch_size.min(ROWS_PER_MESSAGE);
        let mut lines = Vec::with_capacity(group);
        let mut last_line: Option<Bytes> = None;
        let mut total = 0usize;
        while let Some(line) = stream.next().await {
            lines.push(line.map_err(read_err)?);
            total += 1;
            // Hand rows over in small groups: a whole chunk of mapped records per queued
            // message would multiply memory by the queue depth.
            if lines.len() >= group {
                last_line = lines.last().cloned();
                let full = std::mem::replace(&mut lines, Vec::with_capacity(group));
                self.send(table, full).await;
            }
        }
        if !lines.is_empty() {
            last_line = lines.last().cloned();
            self.send(table, lines).await;
        }
        let last_key = last_line
            .filter(|_| !plan.key.is_empty())
            .map(|line| key_texts(&parse_copy_row(&line), plan.key.iter().map(|(_, i)| *i)));
        Ok((total, last_key))
    }

    /// Start converting a group of lines and queue it for the merge loop.
    async fn send(&mut self, table: usize, lines: Vec<Bytes>) {
        let converter = self
            .converters
            .as_ref()
            .and_then(|(key, value)| Some(RowConverter::new(key.fork()?, value.fork()?)));
        let (mapper, plans) = (self.mapper.clone(), self.plans.clone());
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            convert_rows(&mapper, &plans[table], table, converter, lines)
        }));
        // A closed channel means the merge loop stopped (shutdown or failure); the reader is
        // cancelled right after.
        let rows = Converting(task);
        let _ = self.tx.send(ReaderEvent::Chunk { table, rows }).await;
    }
}

/// One line of `COPY … TO STDOUT` text format → column values (`\N` is NULL; backslash escapes
/// decoded; no copy when a field has none).
pub(crate) fn parse_copy_row(line: &Bytes) -> TupleData {
    let mut tuple = TupleData(Vec::new());
    parse_copy_row_into(line, &mut tuple);
    tuple
}

/// [`parse_copy_row`] into a reused tuple.
fn parse_copy_row_into(line: &Bytes, tuple: &mut TupleData) {
    let columns = &mut tuple.0;
    columns.clear();
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let mut start = 0;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\t' {
            columns.push(copy_field(line, start, i));
            start = i + 1;
        }
    }
    columns.push(copy_field(line, start, body.len()));
}

fn copy_field(line: &Bytes, start: usize, end: usize) -> ColumnValue {
    let raw = &line[start..end];
    if raw == b"\\N" {
        return ColumnValue::Null;
    }
    if !raw.contains(&b'\\') {
        return ColumnValue::Text(line.slice(start..end));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' || i + 1 >= raw.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        i += 2;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    ColumnValue::Text(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_rows_are_unescaped() {
        let line = Bytes::from_static(b"1\t\\N\ta\\tb\\\\c\\nd\t\\101\\x41\n");
        let t = parse_copy_row(&line);
        let texts: Vec<Option<Vec<u8>>> =
            t.0.iter()
                .map(|c| match c {
                    ColumnValue::Text(b) => Some(b.to_vec()),
                    _ => None,
                })
                .collect();
        assert_eq!(
            texts,
            vec![
                Some(b"1".to_vec()),
                None,
                Some(b"a\tb\\c\nd".to_vec()),
                Some(b"AA".to_vec())
            ]
        );
    }

    #[test]
    fn empty_last_field_is_an_empty_string() {
        let t = parse_copy_row(&Bytes::from_static(b"1\t\n"));
        assert_eq!(t.0.len(), 2);
        assert!(matches!(&t.0[1], ColumnValue::Text(b) if b.is_empty()));
    }
}
