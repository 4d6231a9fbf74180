//! Incremental snapshots for the Postgres connector, while streaming continues.
//!
//! ```text
//! signal row (signal.data.collection) ──> execute-snapshot {data-collections, type incremental}
//! per chunk:  emit LOW watermark ─> COPY (SELECT … WHERE key > last ORDER BY key LIMIT n)
//!             ─> emit HIGH watermark       (pg_logical_emit_message, transactional)
//! stream:     … LOW … changes … HIGH …      changes to keys of the chunk between LOW and HIGH
//!                                            drop those rows; at HIGH the rest is emitted
//!                                            (op r, source.snapshot = incremental)
//! ```
//! The watermarks are ordinary WAL records, so the stream tells exactly which changes are
//! newer than the chunk read: nothing depends on timing. The state (tables left, last key of
//! the last emitted chunk) travels in the committed offset; after a restart the chunk that
//! was in flight is read again with new watermarks.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{pin_mut, StreamExt};
use serde_json::Value as Json;
use sluice_snapshot::incremental::{watermark_nonce, IncrementalState, Window};

use super::connector::ConnectorError;
use super::source::{set_snapshot_marker, CapturedTable, EventSource, SnapshotMapper};
use super::sql::{key_texts, keyset_after, quote_ident};
use crate::connect::Record;

/// Prefix of the logical decoding messages Sluice uses as watermarks (never emitted).
pub const WATERMARK_PREFIX: &str = "sluice.watermark";

/// A Debezium signal read from the signalling table.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub id: String,
    pub kind: String,
    pub data: Option<String>,
}

/// One chunk between its watermarks.
struct InFlight {
    low: String,
    high: String,
    topic: Arc<str>,
    window: Window<Record>,
    last_key: Option<Vec<Option<String>>>,
    /// The chunk was shorter than the chunk size: the table is done after it.
    last_chunk: bool,
}

/// What the streaming loop does with an incremental snapshot.
#[derive(Default)]
pub struct Incremental {
    state: Option<IncrementalState>,
    in_flight: Option<InFlight>,
}

/// What an `execute-snapshot` signal asks for.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    /// `type`: `incremental` (the default) or `blocking`.
    pub kind: String,
    /// `data-collections`, as `schema.table`.
    pub collections: Vec<String>,
    /// `additional-conditions`: a SQL filter per table.
    pub conditions: BTreeMap<String, String>,
}

impl SnapshotRequest {
    pub fn parse(signal: &Signal) -> SnapshotRequest {
        let data: Json = signal
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Json::Null);
        let collections = data
            .get("data-collections")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let kind = data
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or("incremental")
            .to_string();
        let mut conditions = BTreeMap::new();
        for c in data
            .get("additional-conditions")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(t), Some(f)) = (
                c.get("data-collection").and_then(Json::as_str),
                c.get("filter").and_then(Json::as_str),
            ) {
                conditions.insert(t.to_string(), f.to_string());
            }
        }
        SnapshotRequest {
            kind,
            collections,
            conditions,
        }
    }

    /// The requested tables this connector captures (the others are logged and skipped) and
    /// their conditions; `None` when none is captured.
    pub(crate) fn captured(
        self,
        signal: &Signal,
        captured: impl Fn(&str) -> bool,
    ) -> Option<(Vec<String>, BTreeMap<String, String>)> {
        let (known, unknown): (Vec<String>, Vec<String>) =
            self.collections.into_iter().partition(|t| captured(t));
        if !unknown.is_empty() {
            tracing::warn!(signal = %signal.id, tables = ?unknown, "tables in execute-snapshot are not captured by this connector; skipped");
        }
        (!known.is_empty()).then_some((known, self.conditions))
    }
}

/// The tables and conditions of a blocking `execute-snapshot` signal (`None`: the signal is
/// something else, or names no captured table).
pub fn blocking_request(
    signal: &Signal,
    captured: impl Fn(&str) -> bool,
) -> Option<(Vec<String>, BTreeMap<String, String>)> {
    if signal.kind != "execute-snapshot" {
        return None;
    }
    let request = SnapshotRequest::parse(signal);
    if !request.kind.eq_ignore_ascii_case("blocking") {
        return None;
    }
    request.captured(signal, captured)
}

/// Debezium's blocking snapshot: streaming stops while `tables` are read whole, in key
/// order and in chunks, as of now (`op: r`, `source.snapshot` `first` … `true` … `last`);
/// then streaming goes on after the signal. Its progress is not stored: a crash before it
/// ends re-reads the signal and takes the snapshot again (rows may repeat, none is lost).
pub async fn blocking_snapshot<S: sluice_sinks::Sink, P: crate::pipeline::Position>(
    sql: &tokio_postgres::Client,
    source: &mut EventSource,
    mapper: &SnapshotMapper,
    tables: &[String],
    conditions: &BTreeMap<String, String>,
    chunk_size: u32,
    pipeline: &mut crate::pipeline::Pipeline<S, P>,
) -> Result<u64, ConnectorError> {
    let mut held: Option<Record> = None;
    let mut rows_read = 0u64;
    for name in tables {
        let Some((captured, schema, table)) =
            keyed_table(sql, source, name, "the blocking snapshot").await?
        else {
            continue;
        };
        let mut state = IncrementalState::new("blocking", vec![name.clone()], conditions.clone());
        loop {
            let select = chunk_select(&captured, schema, table, &state, chunk_size);
            let rows = read_rows(sql, &captured, mapper, &select, name, "true").await?;
            let full = rows.len() >= chunk_size as usize;
            let last_key = rows.last().map(|(_, _, k)| k.clone());
            for (_, mut record, _) in rows {
                rows_read += 1;
                set_snapshot_marker(&mut record, if rows_read == 1 { "first" } else { "true" });
                if let Some(previous) = held.replace(record) {
                    pipeline.push(previous).await?;
                }
                if pipeline.batch_full() {
                    pipeline.flush_batch().await?;
                }
                while !pipeline.can_accept() {
                    pipeline.next_ack().await?;
                }
            }
            if !full {
                break;
            }
            state.chunk_done(last_key);
        }
        tracing::info!(table = %name, rows = rows_read, "blocking snapshot of table done");
    }
    if let Some(mut last) = held {
        set_snapshot_marker(&mut last, if rows_read == 1 { "first" } else { "last" });
        pipeline.push(last).await?;
    }
    Ok(rows_read)
}

/// The captured shape of `name` (`schema.table`) with its schema and table name, when the
/// table exists, is captured and has a key; otherwise a warning that `purpose` skips it.
async fn keyed_table<'n>(
    sql: &tokio_postgres::Client,
    source: &mut EventSource,
    name: &'n str,
    purpose: &str,
) -> Result<Option<(Arc<CapturedTable>, &'n str, &'n str)>, ConnectorError> {
    let (schema, table) = name.split_once('.').unwrap_or(("public", name));
    let oid: Option<u32> = sql
        .query_opt(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &table],
        )
        .await
        .map_err(|source| ConnectorError::Sql {
            what: format!("looking up table {name} for {purpose}"),
            source,
        })?
        .map(|r| r.get(0));
    let captured = match oid {
        Some(oid) => source.capture_table(sql, oid, schema, table).await?,
        None => None,
    };
    match captured.filter(|c| c.key_column_names().next().is_some()) {
        Some(captured) => Ok(Some((captured, schema, table))),
        None => {
            tracing::warn!(table = %name, "table is gone, not captured, or has no primary key: skipped by {purpose}");
            Ok(None)
        }
    }
}

/// The text that identifies a record's key for de-duplication.
fn key_text(record: &Record) -> Option<String> {
    record.key.as_ref().map(|k| format!("{k:?}"))
}

impl Incremental {
    /// Restore from a committed offset.
    pub fn resume(state: Option<IncrementalState>) -> Incremental {
        Incremental {
            state: state.filter(|s| !s.is_done()),
            in_flight: None,
        }
    }

    /// The state to store with the next position (`None`: no incremental snapshot).
    pub fn state(&self) -> Option<Arc<IncrementalState>> {
        self.state.clone().map(Arc::new)
    }

    /// `position` with the incremental snapshot's state attached.
    pub fn attach(&self, mut position: super::position::PgPosition) -> super::position::PgPosition {
        position.incremental = self.state();
        position
    }

    /// Whether the current table finishes an interrupted initial snapshot.
    pub fn reading_initial(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(IncrementalState::current_is_initial)
    }

    /// Whether a new chunk should be read now.
    pub fn wants_chunk(&self) -> bool {
        self.in_flight.is_none()
            && self
                .state
                .as_ref()
                .is_some_and(|s| !s.paused && !s.is_done())
    }

    /// Apply a signal. Returns true when the state changed (the position should be updated).
    /// A blocking `execute-snapshot` is not applied here: see [`blocking_request`].
    pub fn on_signal(&mut self, signal: &Signal, captured: impl Fn(&str) -> bool) -> bool {
        let request = SnapshotRequest::parse(signal);
        let collections = request.collections.clone();
        match signal.kind.as_str() {
            "execute-snapshot" => {
                if !request.kind.eq_ignore_ascii_case("incremental") {
                    if !request.kind.eq_ignore_ascii_case("blocking") {
                        tracing::warn!(signal = %signal.id, kind = %request.kind, "execute-snapshot of an unknown type (expected incremental or blocking); ignored");
                    }
                    return false;
                }
                let Some((known, conditions)) = request.captured(signal, captured) else {
                    return false;
                };
                IncrementalState::request(&mut self.state, &signal.id, known, conditions);
                tracing::info!(signal = %signal.id, tables = ?self.state.as_ref().map(|s| &s.tables), "incremental snapshot requested");
                true
            }
            "stop-snapshot" => {
                IncrementalState::stop(&mut self.state, &collections);
                self.in_flight = None;
                tracing::info!(signal = %signal.id, "incremental snapshot stopped");
                true
            }
            "pause-snapshot" | "resume-snapshot" => {
                let paused = signal.kind == "pause-snapshot";
                if let Some(s) = &mut self.state {
                    s.paused = paused;
                    tracing::info!(signal = %signal.id, paused, "incremental snapshot paused/resumed");
                    return true;
                }
                false
            }
            other => {
                tracing::warn!(signal = %signal.id, kind = other, "unsupported signal; ignored");
                false
            }
        }
    }

    /// Read the next chunk between two watermarks. Returns true when the state changed
    /// without a window (an empty chunk finished a table).
    pub async fn read_chunk(
        &mut self,
        sql: &tokio_postgres::Client,
        source: &mut EventSource,
        mapper: &SnapshotMapper,
        chunk_size: u32,
    ) -> Result<bool, ConnectorError> {
        let Some(state) = self.state.as_mut() else {
            return Ok(false);
        };
        let Some(name) = state.current_table().map(str::to_string) else {
            return Ok(false);
        };
        let Some((captured, schema, table)) =
            keyed_table(sql, source, &name, "the incremental snapshot").await?
        else {
            state.table_done();
            return Ok(true);
        };
        let chunk = state.chunks;
        // The nonce keeps this read's watermarks apart from those of a read that a restart
        // abandoned, which the stream may still replay.
        let nonce = watermark_nonce();
        let low = format!("{}:{}:{nonce}:low", state.id, chunk);
        let high = format!("{}:{}:{nonce}:high", state.id, chunk);
        // One row more than the chunk tells whether this chunk is the table's last.
        let select = chunk_select(
            &captured,
            schema,
            table,
            state,
            chunk_size.saturating_add(1),
        );
        let marker = if state.current_is_initial() {
            "true"
        } else {
            "incremental"
        };
        emit_watermark(sql, &low).await?;
        let mut rows = read_rows(sql, &captured, mapper, &select, &name, marker).await?;
        emit_watermark(sql, &high).await?;
        let last_chunk = rows.len() <= chunk_size as usize;
        rows.truncate(chunk_size as usize);
        let last_key = rows.last().map(|(_, _, k)| k.clone());
        if rows.is_empty() {
            // Nothing left in this table: no window needed.
            state.table_done();
            return Ok(true);
        }
        let window = Window::new(rows.into_iter().map(|(k, r, _)| (k, r)).collect());
        self.in_flight = Some(InFlight {
            low,
            high,
            topic: captured.topic(),
            window,
            last_key,
            last_chunk,
        });
        Ok(false)
    }

    /// A watermark message arrived in the stream. Returns the chunk rows to emit when it
    /// closes a window (`Some`, possibly empty).
    pub fn on_watermark(&mut self, content: &[u8]) -> Option<Vec<Record>> {
        let text = std::str::from_utf8(content).ok()?;
        let in_flight = self.in_flight.as_mut()?;
        if text == in_flight.low {
            in_flight.window.open();
            return None;
        }
        if text != in_flight.high {
            // A watermark of a chunk abandoned by a restart or a stop signal.
            return None;
        }
        let done = self.in_flight.take()?;
        let mut rows = done.window.close();
        if IncrementalState::window_closed(&mut self.state, done.last_key, done.last_chunk) {
            // The end of the interrupted initial snapshot. (When the stream superseded every
            // row of this last window, no record carries `last`.)
            if let Some(last) = rows.last_mut() {
                set_snapshot_marker(last, "last");
            }
        }
        Some(rows)
    }

    /// A change event went through the stream: it supersedes the chunk row with its key.
    pub fn observe(&mut self, record: &Record) {
        if let Some(in_flight) = self.in_flight.as_mut() {
            if in_flight.window.is_open() && record.topic == in_flight.topic {
                if let Some(k) = key_text(record) {
                    in_flight.window.observe(&k);
                }
            }
        }
    }
}

fn chunk_select(
    captured: &CapturedTable,
    schema: &str,
    table: &str,
    state: &IncrementalState,
    chunk_size: u32,
) -> String {
    let columns: Vec<String> = captured.column_names().map(quote_ident).collect();
    let keys: Vec<String> = captured.key_column_names().map(quote_ident).collect();
    let key_list = keys.join(", ");
    let mut filters = Vec::new();
    if let Some(values) = &state.last_key {
        filters.push(keyset_after(&key_list, values));
    }
    if let Some(condition) = state.conditions.get(&format!("{schema}.{table}")) {
        filters.push(format!("({condition})"));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    format!(
        "SELECT {} FROM {}.{}{filter} ORDER BY {key_list} LIMIT {chunk_size}",
        columns.join(", "),
        quote_ident(schema),
        quote_ident(table)
    )
}

async fn emit_watermark(sql: &tokio_postgres::Client, content: &str) -> Result<(), ConnectorError> {
    sql.execute(
        "SELECT pg_logical_emit_message(true, $1, $2)",
        &[&WATERMARK_PREFIX, &content],
    )
    .await
    .map(|_| ())
    .map_err(|source| ConnectorError::Sql {
        what: "writing an incremental snapshot watermark (pg_logical_emit_message)".into(),
        source,
    })
}

/// Rows of one chunk: (key text, record, key column texts).
async fn read_rows(
    sql: &tokio_postgres::Client,
    captured: &CapturedTable,
    mapper: &SnapshotMapper,
    select: &str,
    name: &str,
    marker: &str,
) -> Result<Vec<(String, Record, Vec<Option<String>>)>, ConnectorError> {
    let read_err = |source| ConnectorError::Sql {
        what: format!("reading an incremental snapshot chunk of {name}"),
        source,
    };
    let stream = sql
        .copy_out(&format!("COPY ({select}) TO STDOUT"))
        .await
        .map_err(read_err)?;
    pin_mut!(stream);
    let key_positions: Vec<usize> = captured
        .key_column_names()
        .filter_map(|k| captured.column_names().position(|c| c == k))
        .collect();
    let mut rows = Vec::new();
    while let Some(line) = stream.next().await {
        let line = line.map_err(read_err)?;
        let tuple = super::snapshot::parse_copy_row(&line);
        let key_texts = key_texts(&tuple, key_positions.iter().copied());
        let mut record = mapper.record(captured, &tuple)?;
        set_snapshot_marker(&mut record, marker);
        let Some(k) = key_text(&record) else { continue };
        rows.push((k, record, key_texts));
    }
    Ok(rows)
}
