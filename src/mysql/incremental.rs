//! Incremental snapshots for the MySQL / MariaDB connector, while streaming continues
//! (Debezium's signals on `signal.data.collection`, DBLog watermarks).
//!
//! ```text
//! signal row ──> execute-snapshot {data-collections, type incremental}
//! per chunk:  INSERT signal row (snapshot-window-open, id <low>)  ─> SELECT … WHERE key > last
//!             ORDER BY key LIMIT n ─> INSERT signal row (snapshot-window-close, id <high>)
//! binlog:     … open … changes … close …   changes to keys of the chunk inside the window drop
//!                                          those rows; at close the rest is emitted
//!                                          (op r, source.snapshot = incremental)
//! ```
//! The watermarks are rows of the signalling table, so they are binlog events like any
//! other: the stream tells exactly which changes are newer than the chunk read. The state
//! (tables left, last key of the last emitted chunk) travels in the committed offset; after
//! a restart the chunk that was in flight is read again with new watermarks.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use sluice_snapshot::incremental::{watermark_nonce, IncrementalState, Window};

use super::catalog::quote_ident;
use super::connector::{snapshot_record, ConnectorError};
use super::position::MySqlPosition;
use super::source::{CapturedTable, EventSource};
use crate::connect::{Record, Value};
use crate::postgres::incremental::{Signal, SnapshotRequest};

/// Signal types of Debezium's watermark rows.
pub const WINDOW_OPEN: &str = "snapshot-window-open";
pub const WINDOW_CLOSE: &str = "snapshot-window-close";

struct InFlight {
    low: String,
    high: String,
    topic: Arc<str>,
    window: Window<Record>,
    last_key: Option<Vec<Option<String>>>,
    last_chunk: bool,
}

/// What the streaming loop does with an incremental snapshot.
#[derive(Default)]
pub struct Incremental {
    state: Option<IncrementalState>,
    in_flight: Option<InFlight>,
}

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

    /// `position` with the incremental snapshot's state attached.
    pub fn attach(&self, mut position: MySqlPosition) -> MySqlPosition {
        position.incremental = self.state.clone().map(Arc::new);
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
    pub fn on_signal(&mut self, signal: &Signal, captured: impl Fn(&str) -> bool) -> bool {
        let request = SnapshotRequest::parse(signal);
        let collections = request.collections.clone();
        match signal.kind.as_str() {
            "execute-snapshot" => {
                if !request.kind.eq_ignore_ascii_case("incremental") {
                    tracing::warn!(signal = %signal.id, kind = %request.kind, "only incremental snapshots can be started by signal; ignored");
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
            WINDOW_OPEN | WINDOW_CLOSE => false,
            other => {
                tracing::warn!(signal = %signal.id, kind = other, "unsupported signal; ignored");
                false
            }
        }
    }

    /// Read the next chunk between two watermarks written to the signalling table.
    /// Returns true when the state changed without a window (a table finished or skipped).
    pub async fn read_chunk(
        &mut self,
        sql: &mut Conn,
        source: &mut EventSource,
        signal_table: &str,
        at: &MySqlPosition,
        chunk_size: u32,
    ) -> Result<bool, ConnectorError> {
        let Some(state) = self.state.as_mut() else {
            return Ok(false);
        };
        let Some(name) = state.current_table().map(str::to_string) else {
            return Ok(false);
        };
        let Some((db, table)) = name.split_once('.') else {
            state.table_done();
            return Ok(true);
        };
        let Some(captured) = source
            .captured(db, table)
            .filter(|c| !c.key_columns().is_empty())
        else {
            tracing::warn!(table = %name, "table is gone, not captured, or has no primary key: skipped by the incremental snapshot");
            state.table_done();
            return Ok(true);
        };
        let chunk = state.chunks;
        // Short ids (Debezium's signalling table has `id VARCHAR(42)`), unique per read: a
        // restart's replay of an abandoned chunk's watermarks cannot close this window.
        let tag = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&state.id, chunk, watermark_nonce()).hash(&mut h);
            h.finish()
        };
        let low = format!("{tag:016x}-open");
        let high = format!("{tag:016x}-close");
        // One row more than the chunk tells whether this chunk is the table's last.
        let select = chunk_select(&captured, db, table, state, chunk_size.saturating_add(1));
        let marker = if state.current_is_initial() {
            "true"
        } else {
            "incremental"
        };
        watermark(sql, signal_table, &low, WINDOW_OPEN).await?;
        let mut rows: Vec<mysql_async::Row> =
            sql.query(select)
                .await
                .map_err(|source| ConnectorError::Sql {
                    what: format!("reading an incremental snapshot chunk of {name}"),
                    source: Box::new(source),
                })?;
        watermark(sql, signal_table, &high, WINDOW_CLOSE).await?;
        let last_chunk = rows.len() <= chunk_size as usize;
        rows.truncate(chunk_size as usize);
        if rows.is_empty() {
            state.table_done();
            return Ok(true);
        }
        let ts_ms = crate::envelope::Clock::now().ms();
        let mut window_rows = Vec::with_capacity(rows.len());
        let mut last_key = None;
        for row in &rows {
            let (mut record, key) =
                snapshot_record(&source.modes, source.info(), &captured, row, at, ts_ms)?;
            set_marker(&mut record, marker);
            last_key = key;
            if let Some(k) = key_text(&record) {
                window_rows.push((k, record));
            }
        }
        self.in_flight = Some(InFlight {
            low,
            high,
            topic: captured.schema.topic.clone(),
            window: Window::new(window_rows),
            last_key,
            last_chunk,
        });
        Ok(false)
    }

    /// A watermark row arrived in the stream. Returns the chunk rows to emit when it closes
    /// a window (`Some`, possibly empty).
    pub fn on_watermark(&mut self, signal: &Signal) -> Option<Vec<Record>> {
        let in_flight = self.in_flight.as_mut()?;
        if signal.kind == WINDOW_OPEN && signal.id == in_flight.low {
            in_flight.window.open();
            return None;
        }
        if signal.kind != WINDOW_CLOSE || signal.id != in_flight.high {
            return None;
        }
        let done = self.in_flight.take()?;
        let mut rows = done.window.close();
        if IncrementalState::window_closed(&mut self.state, done.last_key, done.last_chunk) {
            // The end of the interrupted initial snapshot. (When the stream superseded every
            // row of this last window, no record carries `last`.)
            if let Some(last) = rows.last_mut() {
                set_marker(last, "last");
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

fn set_marker(record: &mut Record, marker: &str) {
    if let Some(Value::Struct(envelope)) = record.value.as_mut() {
        if let Some(Value::Struct(source)) = envelope.get_mut(2) {
            if let Some(slot) = source.get_mut(super::source::SOURCE_SNAPSHOT_FIELD) {
                *slot = Value::String(marker.into());
            }
        }
    }
}

fn chunk_select(
    captured: &CapturedTable,
    db: &str,
    table: &str,
    state: &IncrementalState,
    chunk_size: u32,
) -> String {
    let columns: Vec<String> = captured
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    let keys: Vec<String> = captured
        .key_columns()
        .iter()
        .map(|k| quote_ident(k))
        .collect();
    let key_list = keys.join(", ");
    let mut filters = Vec::new();
    if let Some(values) = &state.last_key {
        let literals: Vec<String> = values.iter().map(|v| literal(v.as_deref())).collect();
        filters.push(format!("({key_list}) > ({})", literals.join(", ")));
    }
    if let Some(condition) = state.conditions.get(&format!("{db}.{table}")) {
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
        quote_ident(db),
        quote_ident(table)
    )
}

/// A SQL string literal (or NULL).
fn literal(value: Option<&str>) -> String {
    match value {
        Some(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        None => "NULL".to_owned(),
    }
}

async fn watermark(
    sql: &mut Conn,
    signal_table: &str,
    id: &str,
    kind: &str,
) -> Result<(), ConnectorError> {
    let (db, table) = signal_table.split_once('.').unwrap_or(("", signal_table));
    sql.query_drop(format!(
        "INSERT INTO {}.{} (id, type, data) VALUES ({}, {}, NULL)",
        quote_ident(db),
        quote_ident(table),
        literal(Some(id)),
        literal(Some(kind))
    ))
    .await
    .map_err(|source| {
        let fix = match &source {
            mysql_async::Error::Server(e) if e.code == 1142 => {
                ": the connector's user needs INSERT on the signalling table"
            }
            mysql_async::Error::Server(_) => {
                ": the signalling table needs the columns (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT)"
            }
            _ => "",
        };
        ConnectorError::Sql {
            what: format!("writing an incremental snapshot watermark into {signal_table}{fix}"),
            source: Box::new(source),
        }
    })
}
