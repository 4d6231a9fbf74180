//! The JDBC source connector (`io.confluent.connect.jdbc.JdbcSourceConnector`): tables, or one
//! custom query, polled with SQL, for databases that give no log access.
//!
//! ```text
//!             ┌──────────────────── select! (biased) ─────────────────────┐
//! shutdown ──>│ 1. stop: drain, commit, end                                │
//! deliveries >│ 2. ack → AckTracker (pipeline)                             │
//! timers ────>│ 3. close batch / commit offsets / refresh the table list   │
//! due table ─>│ 4. poll it: query ─> rows ─> records ─> pipeline           │ (only while the
//!             └────────────────────────────────────────────────────────────┘  pipeline accepts)
//! ```
//! Each table has its own source partition (`{"protocol":"1","table":"<schema>.<table>"}`, or
//! `{"query":"query"}`) and offset (`{"incrementing":N}`, `{"timestamp":ms,
//! "timestamp_nanos":ns}` or both), exactly as kafka-connect-jdbc stores them, so offsets move
//! between the two. One [`JdbcPosition`] carries every table's offset; it is committed only
//! after the sink acknowledged the rows before it.
//!
//! The timestamp modes read up to `now() - timestamp.delay.interval.ms` on the database's own
//! clock: a transaction that commits late with an earlier timestamp is still read as long as
//! the delay covers the time it stayed open. All tables run in one task (`tasks.max` is
//! accepted, but Sluice runs one task per connector).

mod db;
pub mod schema;
pub mod sql;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};
use sluice_config::jdbc::{JdbcMode, JdbcSourceConfig};
use sluice_sinks::Sink;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::connect::{Record, Value};
use crate::herder::{PreparedTask, TaskParts};
use crate::pipeline::{Pipeline, PipelineError, PipelineLimits, Position};
use db::{Db, TableName};
use schema::{Column, Kind, RowShape};
use sql::{Bounds, Criteria, Dialect, Source};

/// Why the task stopped.
#[derive(Debug, thiserror::Error)]
pub enum JdbcError {
    #[error("cannot connect to {url} as user {user} after {attempts} attempt(s): check connection.url, connection.user and connection.password (or raise connection.attempts / connection.backoff.ms)")]
    Connect {
        url: String,
        user: String,
        attempts: u32,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{what}")]
    Sql {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tables or the query do not fit the configuration.
    #[error("{0}")]
    Config(String),
    #[error("{source_name}, column {column}: {reason}")]
    Value {
        source_name: String,
        column: String,
        reason: &'static str,
    },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl JdbcError {
    /// Whether reconnecting may help (the connection broke mid-way).
    fn is_connection_lost(&self) -> bool {
        match self {
            JdbcError::Sql { source, .. } => db::is_connection_error(&**source),
            JdbcError::Connect { .. }
            | JdbcError::Config(_)
            | JdbcError::Value { .. }
            | JdbcError::Pipeline(_) => false,
        }
    }
}

/// `(partition, offset)` of each table, keyed by the partition's JSON text.
type TableOffsets = BTreeMap<String, (Json, Map<String, Json>)>;

/// Every table's offset, as kafka-connect-jdbc stores them, keyed by partition.
#[derive(Debug, Clone, Default)]
pub struct JdbcPosition {
    tables: Arc<TableOffsets>,
}

impl Position for JdbcPosition {
    fn to_offset(&self) -> Map<String, Json> {
        self.tables
            .values()
            .next()
            .map(|(_, o)| o.clone())
            .unwrap_or_default()
    }

    fn offsets(&self, _partition: &Json) -> Vec<(Json, Map<String, Json>)> {
        self.tables.values().cloned().collect()
    }

    fn describe(&self) -> String {
        format!("{} table offset(s)", self.tables.len())
    }
}

/// Where a table's reading stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableOffset {
    pub incrementing: Option<i64>,
    /// Microseconds since the epoch.
    pub timestamp_micros: Option<i64>,
}

impl TableOffset {
    /// `{"incrementing":N}`, `{"timestamp":ms,"timestamp_nanos":ns}` or both.
    pub fn to_map(self) -> Map<String, Json> {
        let mut m = Map::new();
        if let Some(us) = self.timestamp_micros {
            m.insert("timestamp".into(), json!(us.div_euclid(1000)));
            m.insert(
                "timestamp_nanos".into(),
                json!(us.rem_euclid(1_000_000) * 1000),
            );
        }
        if let Some(i) = self.incrementing {
            m.insert("incrementing".into(), json!(i));
        }
        m
    }

    /// Reads what [`TableOffset::to_map`] (or kafka-connect-jdbc) wrote.
    pub fn from_map(m: &Map<String, Json>) -> TableOffset {
        let incrementing = m.get("incrementing").and_then(Json::as_i64);
        let timestamp_micros = m.get("timestamp").and_then(Json::as_i64).map(|ms| {
            match m.get("timestamp_nanos").and_then(Json::as_i64) {
                // `timestamp_nanos` is the nanosecond part of the second (Java's getNanos).
                Some(ns) => ms.div_euclid(1000) * 1_000_000 + ns / 1000,
                None => ms * 1000,
            }
        });
        TableOffset {
            incrementing,
            timestamp_micros,
        }
    }
}

/// One polled table (or the query).
struct Polled {
    source: Source,
    /// `<schema>.<table>`, or `query`, for messages.
    label: String,
    topic: Arc<str>,
    partition: Json,
    partition_key: String,
    offset: TableOffset,
    shape: Option<Arc<RowShape>>,
    /// Indexes of the incrementing and timestamp columns in `shape`.
    inc_index: Option<usize>,
    ts_indexes: Vec<usize>,
    next_due: Instant,
}

/// The task of a JDBC source connector: one pipeline, one partition per table.
pub fn prepare(config: JdbcSourceConfig, parts: TaskParts) -> PreparedTask {
    let limits = PipelineLimits {
        max_batch_records: config.batch_max_rows.max(1) as usize,
        ..PipelineLimits::default()
    };
    let partition = if config.query.is_some() {
        json!({"query": "query"})
    } else {
        json!({"protocol": "1", "table": config.url.dbname})
    };
    let (mut pipeline, settings) = parts.pipeline::<JdbcPosition>(partition.clone(), limits);
    let config = Arc::new(config);
    PreparedTask {
        partition,
        run: Box::new(move |token| {
            Box::pin(async move {
                run(
                    &config,
                    &mut pipeline,
                    settings.offset_flush_interval,
                    &token,
                )
                .await
                .map_err(Into::into)
            })
        }),
    }
}

struct Task<'a> {
    config: &'a JdbcSourceConfig,
    dialect: Dialect,
    criteria: Criteria,
    tables: Vec<Polled>,
    /// Offsets of every table read so far (the position handed to the pipeline).
    offsets: TableOffsets,
}

/// Run the connector until `shutdown` fires or an error that reconnecting cannot fix.
pub async fn run<S: Sink>(
    config: &JdbcSourceConfig,
    pipeline: &mut Pipeline<S, JdbcPosition>,
    offset_flush_interval: Duration,
    shutdown: &CancellationToken,
) -> Result<(), JdbcError> {
    if config.tasks_max > 1 {
        tracing::info!(
            tasks_max = config.tasks_max,
            "Sluice runs one task per connector: every table is polled by it"
        );
    }
    if !config.db_timezone.eq_ignore_ascii_case("UTC") {
        tracing::warn!(db_timezone = %config.db_timezone, "db.timezone is not UTC: timestamp columns without a time zone are read as UTC");
    }
    let dialect = Dialect {
        database: config.url.database,
        quote: config.quote_sql_identifiers,
    };
    let criteria = Criteria {
        mode: config.mode,
        incrementing: config
            .incrementing_column
            .as_deref()
            .map(|c| dialect.ident(c)),
        timestamps: config
            .timestamp_columns
            .iter()
            .map(|c| dialect.ident(c))
            .collect(),
    };
    let mut task = Task {
        config,
        dialect,
        criteria,
        tables: Vec::new(),
        offsets: BTreeMap::new(),
    };
    let Some(mut db) = db::connect(config, shutdown).await? else {
        return Ok(());
    };
    task.refresh_tables(&mut db, pipeline).await?;
    let mut commit_timer = tokio::time::interval(offset_flush_interval);
    commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let table_poll = Duration::from_millis(config.table_poll_interval_ms.max(1));
    let mut tables_timer = tokio::time::interval_at(Instant::now() + table_poll, table_poll);
    tables_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = pipeline.batch_deadline();
        let due = task.tables.iter().map(|t| t.next_due).min();
        let result: Result<(), JdbcError> = tokio::select! {
            biased;
            // 1. Shutdown: deliver what was handed over, commit it, end.
            _ = shutdown.cancelled() => {
                pipeline.drain().await?;
                pipeline.commit().await?;
                return Ok(());
            }
            // 2. Timers, before the acknowledgements (a busy sink keeps those ready).
            _ = sleep_until(deadline), if deadline.is_some() => {
                pipeline.flush_batch().await.map_err(Into::into)
            }
            _ = commit_timer.tick() => pipeline.commit().await.map(|_| ()).map_err(Into::into),
            // 3. Acknowledgements drain before new input.
            ack = pipeline.next_ack(), if pipeline.has_in_flight() => ack.map_err(Into::into),
            _ = tables_timer.tick(), if config.query.is_none() => {
                task.refresh_tables(&mut db, pipeline).await
            }
            // 4. The next due table, while the pipeline has room.
            _ = sleep_until(due), if due.is_some() && pipeline.can_accept() => {
                let i = task
                    .tables
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, t)| t.next_due)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                let r = task.poll(&mut db, i, pipeline, shutdown).await;
                if let Some(t) = task.tables.get_mut(i) {
                    t.next_due = Instant::now() + Duration::from_millis(config.poll_interval_ms);
                }
                match r {
                    // A table dropped since the last refresh fails its query: notice that it is
                    // gone instead of failing the connector.
                    Err(JdbcError::Sql { .. }) if config.query.is_none() && !matches!(&r, Err(e) if e.is_connection_lost()) => {
                        let source = task.tables.get(i).map(|t| t.source.clone());
                        task.refresh_tables(&mut db, pipeline).await?;
                        if task.tables.iter().any(|t| Some(&t.source) == source.as_ref()) {
                            r
                        } else {
                            Ok(())
                        }
                    }
                    r => r,
                }
            }
        };
        match result {
            Ok(()) => {}
            Err(e) if e.is_connection_lost() => {
                tracing::warn!(error = %crate::postgres::connector::error_chain(&e), "connection to the database lost; reconnecting");
                let Some(again) = db::connect(config, shutdown).await? else {
                    pipeline.drain().await?;
                    pipeline.commit().await?;
                    return Ok(());
                };
                db = again;
            }
            Err(e) => {
                // Keep what was already sent: wait for its acknowledgements and commit them.
                let _ = tokio::time::timeout(Duration::from_secs(10), pipeline.drain()).await;
                let _ = pipeline.commit().await;
                return Err(e);
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a == b
}

impl Task<'_> {
    /// Find the tables to poll (table mode) or set up the query; new tables are validated and
    /// resume from their stored offsets; dropped ones are forgotten.
    async fn refresh_tables<S: Sink>(
        &mut self,
        db: &mut Db,
        pipeline: &mut Pipeline<S, JdbcPosition>,
    ) -> Result<(), JdbcError> {
        let config = self.config;
        let wanted: Vec<(Source, String, Json, String)> = match &config.query {
            Some(q) => vec![(
                Source::Query(q.clone()),
                "query".to_string(),
                json!({"query": "query"}),
                config.topic_prefix.clone(),
            )],
            None => db
                .tables(config)
                .await?
                .into_iter()
                .filter(|TableName { schema, table }| config.include_table(schema, table))
                .map(|TableName { schema, table }| {
                    let label = format!("{schema}.{table}");
                    (
                        Source::Table {
                            schema,
                            table: table.clone(),
                        },
                        label.clone(),
                        json!({"protocol": "1", "table": label}),
                        format!("{}{table}", config.topic_prefix),
                    )
                })
                .collect(),
        };
        let before = self.tables.len();
        self.tables.retain(|t| {
            let keep = wanted.iter().any(|(s, ..)| *s == t.source);
            if !keep {
                tracing::info!(table = %t.label, "table is gone; no longer polled");
            }
            keep
        });
        let removed = before - self.tables.len();
        let mut added = 0;
        for (source, label, partition, topic) in wanted {
            if self.tables.iter().any(|t| t.source == source) {
                continue;
            }
            let partition_key = partition.to_string();
            let stored = pipeline.load_offset_of(&partition)?;
            let mut offset = stored
                .as_ref()
                .map(TableOffset::from_map)
                .unwrap_or_default();
            if stored.is_none() {
                match config.timestamp_initial {
                    Some(-1) => offset.timestamp_micros = Some(db.now_micros().await?),
                    Some(ms) => offset.timestamp_micros = Some(ms * 1000),
                    None => {}
                }
            }
            if let Some(m) = &stored {
                self.offsets
                    .insert(partition_key.clone(), (partition.clone(), m.clone()));
                tracing::info!(table = %label, offset = %Json::Object(m.clone()), "resuming from stored offset");
            }
            let mut polled = Polled {
                source,
                label,
                topic: Arc::from(topic.as_str()),
                partition,
                partition_key,
                offset,
                shape: None,
                inc_index: None,
                ts_indexes: Vec::new(),
                next_due: Instant::now(),
            };
            self.load_shape(db, &mut polled).await?;
            self.tables.push(polled);
            added += 1;
        }
        if added + removed > 0 || self.tables.is_empty() {
            tracing::info!(
                tables = self.tables.len(),
                added,
                removed,
                "table list refreshed"
            );
        }
        if self.tables.is_empty() {
            tracing::warn!("no table matches table.whitelist / table.blacklist, table.types and schema.pattern; waiting for one (table.poll.interval.ms)");
        }
        Ok(())
    }

    /// Read the columns of a table (or query) and check the mode's columns against them.
    async fn load_shape(&self, db: &mut Db, t: &mut Polled) -> Result<(), JdbcError> {
        let config = self.config;
        let columns = db
            .describe(&self.dialect, &t.source)
            .await
            .map_err(|source| JdbcError::Sql {
                what: match &t.source {
                    Source::Query(_) => "the query failed: fix query (it runs as SELECT * FROM (query) AS sluice_query)".to_string(),
                    Source::Table { .. } => format!("cannot read the columns of table {}", t.label),
                },
                source,
            })?;
        let find = |name: &str, key: &str| -> Result<usize, JdbcError> {
            columns
                .iter()
                .position(|c| same_name(&c.name, name))
                .ok_or_else(|| {
                    let hint = columns
                        .iter()
                        .find(|c| c.name.eq_ignore_ascii_case(name))
                        .map(|c| format!(" (there is a column {}: names are case-sensitive)", c.name))
                        .unwrap_or_default();
                    JdbcError::Config(format!(
                        "{} has no column {name}{hint}: check {key}, or exclude the table with table.blacklist",
                        t.label
                    ))
                })
        };
        let mut inc_index = None;
        if matches!(
            config.mode,
            JdbcMode::Incrementing | JdbcMode::TimestampIncrementing
        ) {
            let name = config.incrementing_column.as_deref().unwrap_or_default();
            let i = find(name, "incrementing.column.name")?;
            let c = &columns[i];
            if !c.kind.is_integer() {
                return Err(JdbcError::Config(format!(
                    "{}, column {name} ({}): incrementing.column.name must name an integer column",
                    t.label, c.db_type
                )));
            }
            if config.validate_non_null && c.nullable && matches!(t.source, Source::Table { .. }) {
                return Err(JdbcError::Config(format!(
                    "{}, column {name} is nullable: incrementing.column.name must be NOT NULL (ALTER the column, or set validate.non.null=false)",
                    t.label
                )));
            }
            inc_index = Some(i);
        }
        let mut ts_indexes = Vec::new();
        if matches!(
            config.mode,
            JdbcMode::Timestamp | JdbcMode::TimestampIncrementing
        ) {
            for name in &config.timestamp_columns {
                let i = find(name, "timestamp.column.name")?;
                if columns[i].kind != Kind::Timestamp {
                    return Err(JdbcError::Config(format!(
                        "{}, column {name} ({}): timestamp.column.name must name timestamp columns",
                        t.label, columns[i].db_type
                    )));
                }
                ts_indexes.push(i);
            }
            if config.validate_non_null
                && matches!(t.source, Source::Table { .. })
                && ts_indexes.iter().all(|&i| columns[i].nullable)
            {
                return Err(JdbcError::Config(format!(
                    "{}, column(s) {} nullable: at least one timestamp.column.name must be NOT NULL (ALTER the column, or set validate.non.null=false)",
                    t.label,
                    config.timestamp_columns.join(", ")
                )));
            }
        }
        let name = match &t.source {
            Source::Table { table, .. } => Some(table.as_str()),
            Source::Query(_) => None,
        };
        t.shape = Some(Arc::new(RowShape::new(
            name,
            columns,
            config.numeric_mapping,
        )));
        t.inc_index = inc_index;
        t.ts_indexes = ts_indexes;
        Ok(())
    }

    fn position(&self) -> JdbcPosition {
        JdbcPosition {
            tables: Arc::new(self.offsets.clone()),
        }
    }

    fn record_offset(&mut self, i: usize, offset: TableOffset) {
        let t = &mut self.tables[i];
        t.offset = offset;
        if offset != TableOffset::default() {
            self.offsets.insert(
                t.partition_key.clone(),
                (t.partition.clone(), offset.to_map()),
            );
        }
    }

    /// One poll of table `i`: its query, read in chunks of `batch.max.rows`, each chunk handed
    /// to the pipeline with the offset it reaches.
    async fn poll<S: Sink>(
        &mut self,
        db: &mut Db,
        i: usize,
        pipeline: &mut Pipeline<S, JdbcPosition>,
        shutdown: &CancellationToken,
    ) -> Result<(), JdbcError> {
        let config = self.config;
        if self.tables[i].shape.is_none() {
            let mut t = std::mem::replace(&mut self.tables[i], placeholder());
            let r = self.load_shape(db, &mut t).await;
            self.tables[i] = t;
            r?;
        }
        let t = &self.tables[i];
        let Some(shape) = t.shape.clone() else {
            return Ok(());
        };
        let mode = config.mode;
        let to_micros = match mode {
            JdbcMode::Timestamp | JdbcMode::TimestampIncrementing => {
                db.now_micros().await? - config.timestamp_delay_interval_ms as i64 * 1000
            }
            JdbcMode::Bulk | JdbcMode::Incrementing => 0,
        };
        let bounds = Bounds {
            incrementing: t.offset.incrementing.unwrap_or(-1),
            from_micros: t.offset.timestamp_micros.unwrap_or(0),
            to_micros,
        };
        let statement = sql::poll_query(
            &self.dialect,
            &t.source,
            &self.criteria,
            &bounds,
            config.query_suffix.as_deref(),
        );
        let label = t.label.clone();
        let topic = t.topic.clone();
        let inc_index = t.inc_index;
        let ts_indexes = t.ts_indexes.clone();
        let mut offset = t.offset;
        // Timestamp mode: the offset may only pass a timestamp once every row with it was
        // read, so a restart mid-poll re-reads the rows of a partly read timestamp.
        let mut last_ts: Option<i64> = None;
        let chunk = config.batch_max_rows.max(1) as usize;
        let query_failed = |source| JdbcError::Sql {
            what: format!("polling {label} failed (statement: {statement})"),
            source,
        };
        let database = db.database();
        tracing::debug!(table = %label, %statement, "polling");
        let mut rows = db.query(&statement).await.map_err(query_failed)?;
        let mut read = 0usize;
        loop {
            let batch = rows
                .next_chunk(chunk)
                .await
                .map_err(|source| JdbcError::Sql {
                    what: format!("polling {label} failed"),
                    source,
                })?;
            if batch.is_empty() {
                break;
            }
            read += batch.len();
            for text in batch {
                if text.len() != shape.columns.len() {
                    // The table changed under us: re-read its columns at the next poll.
                    drop(rows);
                    self.tables[i].shape = None;
                    tracing::info!(table = %label, "the table's columns changed; reading them again");
                    pipeline.set_position(self.position());
                    return Ok(());
                }
                let mut cells = Vec::with_capacity(text.len());
                for (cell_text, column) in text.into_iter().zip(&shape.columns) {
                    cells.push(match cell_text {
                        None => schema::Cell::Null,
                        Some(bytes) => db::decode_cell(database, &column.kind, &bytes)
                            .map_err(|reason| value_error(&label, column, reason))?,
                    });
                }
                let inc = inc_index
                    .and_then(|x| cells.get(x))
                    .and_then(schema::Cell::as_i64);
                // The row's timestamp: the first non-null column in timestamp.column.name
                // order (COALESCE).
                let ts = ts_indexes.iter().find_map(|&x| match cells.get(x) {
                    Some(schema::Cell::Timestamp(us)) => Some(*us),
                    _ => None,
                });
                let mut fields = Vec::with_capacity(cells.len());
                for (c, cell) in cells.into_iter().enumerate() {
                    let column = &shape.columns[c];
                    fields.push(
                        schema::value(shape.reps[c], cell)
                            .map_err(|reason| value_error(&label, column, reason))?,
                    );
                }
                match mode {
                    JdbcMode::Bulk => {}
                    JdbcMode::Incrementing => offset.incrementing = inc.or(offset.incrementing),
                    JdbcMode::Timestamp => {
                        if let (Some(prev), Some(now)) = (last_ts, ts) {
                            if now > prev {
                                offset.timestamp_micros = Some(prev);
                            }
                        }
                        last_ts = ts.or(last_ts);
                    }
                    JdbcMode::TimestampIncrementing => {
                        if ts.is_some() {
                            offset.timestamp_micros = ts;
                            offset.incrementing = inc.or(offset.incrementing);
                        }
                    }
                }
                pipeline
                    .push(Record {
                        topic: topic.clone(),
                        key_schema: None,
                        key: None,
                        value_schema: Some(shape.schema.clone()),
                        value: Some(Value::Struct(fields)),
                        headers: Vec::new(),
                        timestamp_ms: None,
                    })
                    .await?;
            }
            self.record_offset(i, offset);
            pipeline.set_position(self.position());
            pipeline.flush_batch().await?;
            // Backpressure: wait for deliveries before reading on.
            while !pipeline.can_accept() {
                pipeline.next_ack().await?;
            }
            if shutdown.is_cancelled() {
                return Ok(());
            }
        }
        drop(rows);
        if mode == JdbcMode::Timestamp {
            if let Some(ts) = last_ts {
                offset.timestamp_micros = Some(ts);
            }
            self.record_offset(i, offset);
            pipeline.set_position(self.position());
        }
        if read > 0 {
            tracing::debug!(table = %label, rows = read, "polled");
        }
        Ok(())
    }
}

fn value_error(label: &str, column: &Column, reason: &'static str) -> JdbcError {
    JdbcError::Value {
        source_name: label.to_string(),
        column: format!("{} ({})", column.name, column.db_type),
        reason,
    }
}

fn placeholder() -> Polled {
    Polled {
        source: Source::Query(String::new()),
        label: String::new(),
        topic: Arc::from(""),
        partition: Json::Null,
        partition_key: String::new(),
        offset: TableOffset::default(),
        shape: None,
        inc_index: None,
        ts_indexes: Vec::new(),
        next_due: Instant::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_in_kafka_connect_jdbc_form() {
        let o = TableOffset {
            incrementing: Some(7),
            timestamp_micros: Some(1_700_000_000_123_456),
        };
        let m = o.to_map();
        assert_eq!(
            Json::Object(m.clone()),
            json!({"timestamp": 1_700_000_000_123i64, "timestamp_nanos": 123_456_000, "incrementing": 7})
        );
        assert_eq!(TableOffset::from_map(&m), o);
        let before_epoch = TableOffset {
            incrementing: None,
            timestamp_micros: Some(-1),
        };
        assert_eq!(TableOffset::from_map(&before_epoch.to_map()), before_epoch);
        let ms_only: Map<String, Json> =
            serde_json::from_value(json!({"timestamp": 1500})).expect("map");
        assert_eq!(
            TableOffset::from_map(&ms_only).timestamp_micros,
            Some(1_500_000)
        );
    }
}
