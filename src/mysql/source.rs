//! Binlog events → Debezium change events for the MySQL / MariaDB connector.
//!
//! ```text
//! GTID / BEGIN ─> Tx (start file:pos, gtid)          TABLE_MAP ─> table id → (db, table, types)
//! WRITE/UPDATE/DELETE rows ─> CapturedTable (schemas from the in-memory Schema) ─> records
//! XID / COMMIT / standalone DDL ─> position = after the transaction, gtids advanced
//! ```
//! This is the one place where the binlog's semantics become Debezium's: primary-key changes
//! as delete + tombstone + create, skipped operations, transaction metadata, the MySQL
//! `source` block, and the `event`/`row` counters that let a restart skip what was already
//! delivered (see [`super::position`]).

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::binlog::events::{RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use sluice_config::{EventProcessingFailureHandlingMode, MySqlConnectorConfig, Operation};
use sluice_decoders::binlog::mariadb::{Gtid as MariaGtid, GtidPosition};
use sluice_decoders::binlog::mysql::{GtidSet, Uuid};

use super::history::{FileSchemaHistory, HistoryError, HistoryRecord};
use super::mapping::{self, Kind, Modes, Raw};
use super::position::MySqlPosition;
use super::schema::{Schema, TableChange, TableDef};
use super::schema_change::SchemaChangeTopic;
use crate::connect::{Field, Record, Schema as ConnectSchema, SchemaType, Value};
use crate::envelope::{ChangeEvent, Clock, Op, TableSchema, TransactionTopic, TxBlock};
use crate::pipeline::Position as _;
use crate::postgres::incremental::Signal;

/// A problem with one event's data.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot decode the rows of table {table} at {file}:{pos}: {reason}")]
    Rows {
        table: String,
        file: String,
        pos: u64,
        reason: String,
    },
    #[error("a rows event at {file}:{pos} names table id {table_id} without a TABLE_MAP before it: the stream is out of sync; restart the connector")]
    UnknownTableId {
        table_id: u64,
        file: String,
        pos: u64,
    },
    #[error("table {table} at {file}:{pos} has {binlog} columns in the binlog but {known} in the schema history: the history misses a DDL statement; set inconsistent.schema.handling.mode=warn to skip such events or rebuild the history with snapshot.mode=recovery")]
    Inconsistent {
        table: String,
        file: String,
        pos: u64,
        binlog: usize,
        known: usize,
    },
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("table {table} at {file}:{pos} is not in the schema history: set inconsistent.schema.handling.mode=warn to skip its events or rebuild the history with snapshot.mode=recovery")]
    UnknownTable {
        table: String,
        file: String,
        pos: u64,
    },
}

/// One captured column.
#[derive(Debug)]
pub struct CapturedColumn {
    pub name: String,
    pub kind: Kind,
    /// Position in the value struct; `None` when excluded by `column.exclude.list`.
    field: Option<usize>,
    /// Position in the key struct.
    key: Option<usize>,
}

/// A table as events of it are currently shaped.
#[derive(Debug)]
pub struct CapturedTable {
    pub database: String,
    pub name: String,
    pub schema: Arc<TableSchema>,
    pub columns: Vec<CapturedColumn>,
    field_count: usize,
    key_count: usize,
    def: Arc<TableDef>,
}

impl CapturedTable {
    /// From a table definition, under the config's filters and modes.
    pub fn new(
        config: &MySqlConnectorConfig,
        modes: &Modes,
        source_schema: &Arc<ConnectSchema>,
        def: Arc<TableDef>,
    ) -> CapturedTable {
        let topic = config.table_topic(&def.database, &def.name);
        let mut columns = Vec::with_capacity(def.columns.len());
        let mut value_fields = Vec::new();
        let mut key_slots: Vec<Option<Field>> = vec![None; def.primary_key.len()];
        for c in &def.columns {
            let kind = Kind::from_definition(
                &c.type_name,
                c.length,
                c.scale,
                c.unsigned,
                c.charset.as_deref().or(def.charset.as_deref()),
                &c.enum_values,
            );
            let key = def
                .primary_key
                .iter()
                .position(|k| k.eq_ignore_ascii_case(&c.name));
            let mut field_schema =
                mapping::schema(&kind, modes).optional(c.nullable && key.is_none());
            if let Some(literal) = &c.default {
                if let Ok(raw) = mapping::from_text(&kind, Some(literal.as_bytes())) {
                    let v = mapping::value(&kind, modes, raw);
                    if !v.is_null() && key.is_none() {
                        field_schema = field_schema.with_default(v);
                    }
                }
            }
            if let Some(k) = key {
                let mut ks = field_schema.clone();
                ks.optional = false;
                ks.default = None;
                key_slots[k] = Some(Field::new(c.name.clone(), ks));
            }
            let field = config
                .include_column(&def.database, &def.name, &c.name)
                .then(|| {
                    value_fields.push(Field::new(c.name.clone(), field_schema));
                    value_fields.len() - 1
                });
            columns.push(CapturedColumn {
                name: c.name.clone(),
                kind,
                field,
                key,
            });
        }
        let key_fields: Vec<Field> = key_slots.into_iter().flatten().collect();
        let key_count = key_fields.len();
        let field_count = value_fields.len();
        let schema = TableSchema::new(
            &topic,
            &format!("{}.{}", def.database, def.name),
            (key_count > 0).then_some(key_fields),
            value_fields,
            source_schema,
        );
        CapturedTable {
            database: def.database.clone(),
            name: def.name.clone(),
            schema: Arc::new(schema),
            columns,
            field_count,
            key_count,
            def,
        }
    }

    /// Key column names in key order.
    pub fn key_columns(&self) -> Vec<&str> {
        let mut keyed: Vec<(usize, &str)> = self
            .columns
            .iter()
            .filter_map(|c| c.key.map(|k| (k, c.name.as_str())))
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, n)| n).collect()
    }

    /// A row image (value struct and key struct) from one raw value per column.
    pub fn row_image(
        &self,
        modes: &Modes,
        mut raw: impl FnMut(usize, &Kind) -> Result<Raw, mapping::RawError>,
    ) -> Result<(Value, Option<Value>), (String, mapping::RawError)> {
        let mut values = vec![Value::Null; self.field_count];
        let mut key = vec![Value::Null; self.key_count];
        for (i, column) in self.columns.iter().enumerate() {
            if column.field.is_none() && column.key.is_none() {
                continue;
            }
            let r = raw(i, &column.kind).map_err(|e| (column.name.clone(), e))?;
            let v = mapping::value(&column.kind, modes, r);
            if let Some(k) = column.key {
                key[k] = v.clone();
            }
            if let Some(f) = column.field {
                values[f] = v;
            }
        }
        let key = (self.key_count > 0).then_some(Value::Struct(key));
        Ok((Value::Struct(values), key))
    }
}

/// The GTIDs of completely delivered transactions, in the server's own model.
#[derive(Debug, Clone)]
pub enum Gtids {
    MariaDb(GtidPosition),
    MySql(GtidSet),
}

impl Gtids {
    pub fn to_text(&self) -> String {
        match self {
            Gtids::MariaDb(p) => p.to_string(),
            Gtids::MySql(s) => s.to_string(),
        }
    }
}

/// A transaction's GTID.
#[derive(Debug, Clone)]
pub enum TxGtid {
    MariaDb(MariaGtid),
    MySql(Uuid, u64),
}

impl TxGtid {
    fn text(&self) -> String {
        match self {
            TxGtid::MariaDb(g) => g.to_string(),
            TxGtid::MySql(uuid, gno) => format!("{uuid}:{gno}"),
        }
    }
}

struct Tx {
    start_file: String,
    start_pos: u64,
    gtid: Option<TxGtid>,
    /// Rows events of this transaction handled completely.
    events_done: u64,
    ts_sec: i64,
    server_id: u32,
    thread: Option<i64>,
    /// Ends with its first statement (MariaDB `FL_STANDALONE`: DDL without XID).
    standalone: bool,
    id: Arc<str>,
    begun: bool,
    total: i64,
    per_collection: Vec<(Arc<str>, i64)>,
    /// Rows to skip: (rows events, rows of the next one) delivered before a restart.
    skip: Option<(u64, u64)>,
}

/// Where an event sits in the binlog.
#[derive(Debug, Clone, Copy)]
pub struct EventAt {
    /// Start of the event.
    pub pos: u64,
    /// Start of the next event (`log_pos`).
    pub next: u64,
    pub timestamp: u32,
    pub server_id: u32,
}

/// Turns binlog events into records. Owns the table-map cache and the in-memory schema.
pub struct EventSource {
    config: Arc<MySqlConnectorConfig>,
    pub modes: Modes,
    info: SourceInfo,
    source_schema: Arc<ConnectSchema>,
    pub schema: Schema,
    table_maps: HashMap<u64, Arc<TableMapEvent<'static>>>,
    captured: HashMap<(String, String), Option<Arc<CapturedTable>>>,
    tx: Option<Tx>,
    tx_topic: Option<TransactionTopic>,
    gtids: Option<Gtids>,
    /// A GTID event seen, its transaction not begun yet (MySQL: GTID then QUERY BEGIN).
    pending_gtid: Option<(TxGtid, u64)>,
    /// Start of the next transaction announced by ANONYMOUS_GTID (MySQL, GTIDs off).
    anonymous_start: Option<u64>,
    /// `event`/`row` of the stored offset: applied to the first transaction after start.
    resume_skip: Option<(u64, u64)>,
    file: String,
    position: MySqlPosition,
    /// The statement of the next rows events (ROWS_QUERY / ANNOTATE_ROWS), for `include.query`.
    query: Option<String>,
    /// Tables with a definition that the stream has to look up (no history for them).
    pub missing: Vec<(String, String)>,
    /// `schema.history.internal.file.filename`: every applied DDL statement, durably.
    history: Option<FileSchemaHistory>,
    /// `include.schema.changes`: schema change events on `<topic.prefix>`.
    schema_topic: Option<SchemaChangeTopic>,
    /// DDL applied in the open transaction, recorded when it ends: (database, ddl, changes).
    pending_ddl: Vec<(String, String, Vec<TableChange>)>,
    /// Rows inserted into the signalling table, not yet taken.
    signals: Vec<Signal>,
}

impl EventSource {
    pub fn new(
        config: Arc<MySqlConnectorConfig>,
        schema: Schema,
        resume: MySqlPosition,
        gtids: Option<Gtids>,
    ) -> EventSource {
        let modes = modes(&config);
        let source_schema = Arc::new(source_schema());
        let resume_skip =
            (resume.event > 0 || resume.row > 0).then_some((resume.event, resume.row));
        EventSource {
            info: SourceInfo::new(&config),
            tx_topic: config
                .provide_transaction_metadata
                .then(|| TransactionTopic::new(&config.transaction_topic())),
            modes,
            source_schema,
            schema,
            table_maps: HashMap::new(),
            captured: HashMap::new(),
            tx: None,
            gtids,
            pending_gtid: None,
            anonymous_start: None,
            resume_skip,
            file: resume.file.clone(),
            position: MySqlPosition {
                event: 0,
                row: 0,
                snapshot: None,
                ..resume
            },
            query: None,
            missing: Vec::new(),
            history: None,
            schema_topic: None,
            pending_ddl: Vec::new(),
            signals: Vec::new(),
            config,
        }
    }

    /// Record applied DDL in `history` and publish schema change events (when
    /// `include.schema.changes`).
    pub fn with_history(mut self, history: Option<FileSchemaHistory>) -> EventSource {
        self.history = history;
        if self.config.include_schema_changes {
            self.schema_topic = Some(SchemaChangeTopic::new(
                &self.config.topic_prefix,
                self.config.flavor.connector_name(),
                self.source_schema.clone(),
            ));
        }
        self
    }

    /// Take the history back (to record the snapshot's schema before streaming).
    pub fn history_mut(&mut self) -> Option<&mut FileSchemaHistory> {
        self.history.as_mut()
    }

    /// Record one DDL statement applied at `position` and append its schema change
    /// events to `out`.
    pub fn record_ddl(
        &mut self,
        position: &MySqlPosition,
        database: &str,
        ddl: &str,
        changes: &[TableChange],
        source: Option<Value>,
        out: &mut Vec<Record>,
    ) -> Result<(), EventError> {
        let ts_ms = position.ts_sec * 1000;
        if let Some(history) = self.history.as_mut() {
            history.record(&HistoryRecord {
                server: self.config.topic_prefix.clone(),
                position: position.to_offset(),
                ts_ms,
                database_name: database.to_owned(),
                ddl: ddl.to_owned(),
                table_changes: changes.to_vec(),
            })?;
        }
        let captured = database.is_empty() || self.config.include_database(database);
        if let (Some(topic), true) = (&self.schema_topic, captured) {
            let source = source.unwrap_or_else(|| {
                self.info.value(&SourceFields {
                    snapshot: "false",
                    ts_ms,
                    db: database,
                    table: None,
                    server_id: position.server_id,
                    gtid: None,
                    file: &position.file,
                    pos: position.pos,
                    row: 0,
                    thread: None,
                    query: None,
                })
            });
            out.extend(topic.records(&source, ts_ms, database, ddl, changes));
        }
        Ok(())
    }

    pub fn source_schema(&self) -> &Arc<ConnectSchema> {
        &self.source_schema
    }

    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// The position after the last event handled completely.
    pub fn position(&self) -> MySqlPosition {
        self.position.clone()
    }

    pub fn is_idle(&self) -> bool {
        self.tx.is_none()
    }

    /// The captured shape of `db.table` (`None`: not captured or not known).
    pub fn captured(&mut self, database: &str, table: &str) -> Option<Arc<CapturedTable>> {
        if !self.config.include_table(database, table) && !self.is_signal_table(database, table) {
            return None;
        }
        let def = self.schema.table(database, table)?.clone();
        let key = (database.to_owned(), table.to_owned());
        if let Some(Some(existing)) = self.captured.get(&key) {
            if Arc::ptr_eq(&existing.def, &def) {
                return Some(existing.clone());
            }
        }
        let table = Arc::new(CapturedTable::new(
            &self.config,
            &self.modes,
            &self.source_schema,
            def,
        ));
        tracing::info!(table = %format!("{database}.{}", table.name), topic = %table.schema.topic, "table schema loaded");
        self.captured.insert(key, Some(table.clone()));
        Some(table)
    }

    /// Whether `db.table` is `signal.data.collection`.
    pub fn is_signal_table(&self, database: &str, table: &str) -> bool {
        self.config
            .signal_data_collection
            .as_deref()
            .and_then(|s| s.split_once('.'))
            .is_some_and(|(d, t)| d == database && t == table)
    }

    /// Rows inserted into the signalling table since the last call.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        std::mem::take(&mut self.signals)
    }

    /// ROTATE: the stream continues in `file` at `pos`.
    pub fn rotate(&mut self, file: String, pos: u64) {
        self.file = file.clone();
        if self.tx.is_none() {
            self.position.file = file;
            self.position.pos = pos;
        }
    }

    /// The server is at `file:pos` and has nothing else for us (heartbeat): an idle
    /// connector's position moves there. Returns the new position when it moved.
    pub fn heartbeat(&mut self, pos: u64) -> Option<MySqlPosition> {
        if self.tx.is_some() || self.pending_gtid.is_some() {
            return None;
        }
        if self.position.file == self.file && self.position.pos >= pos {
            return None;
        }
        self.position.file = self.file.clone();
        self.position.pos = pos;
        Some(self.position.clone())
    }

    /// MariaDB GTID event: a transaction begins (or a standalone statement).
    pub fn mariadb_gtid(&mut self, gtid: MariaGtid, standalone: bool, at: EventAt) {
        self.begin(Some(TxGtid::MariaDb(gtid)), standalone, None, at.pos, at);
    }

    /// MySQL GTID event: the next transaction's GTID.
    pub fn mysql_gtid(&mut self, uuid: Uuid, gno: u64, at: EventAt) {
        self.pending_gtid = Some((TxGtid::MySql(uuid, gno), at.pos));
    }

    /// MySQL ANONYMOUS_GTID: the next transaction has none, but starts here.
    pub fn anonymous_gtid(&mut self, at: EventAt) {
        self.pending_gtid = None;
        self.anonymous_start = Some(at.pos);
    }

    fn begin(
        &mut self,
        gtid: Option<TxGtid>,
        standalone: bool,
        thread: Option<i64>,
        start_pos: u64,
        at: EventAt,
    ) {
        let id: Arc<str> = match &gtid {
            Some(g) => g.text().into(),
            None => format!("file={},pos={start_pos}", self.file).into(),
        };
        self.tx = Some(Tx {
            start_file: self.file.clone(),
            start_pos,
            gtid,
            events_done: 0,
            ts_sec: i64::from(at.timestamp),
            server_id: at.server_id,
            thread,
            standalone,
            id,
            begun: false,
            total: 0,
            per_collection: Vec::new(),
            skip: self.resume_skip.take(),
        });
    }

    /// A QUERY event: `BEGIN`, `COMMIT`, or a statement (DDL). Returns the position to
    /// set when the event ended a transaction or was a statement of its own.
    pub fn query(
        &mut self,
        database: &str,
        sql: &str,
        thread: u32,
        at: EventAt,
        out: &mut Vec<Record>,
    ) -> Result<Option<MySqlPosition>, EventError> {
        let trimmed = sql.trim();
        if trimmed.eq_ignore_ascii_case("BEGIN") {
            if let Some(tx) = self.tx.as_mut() {
                // MariaDB sends GTID (not standalone) then, for old clients, BEGIN.
                tx.thread = Some(i64::from(thread));
                return Ok(None);
            }
            let (gtid, start) = match self.pending_gtid.take() {
                Some((g, p)) => (Some(g), p),
                None => (None, self.anonymous_start.take().unwrap_or(at.pos)),
            };
            self.begin(gtid, false, Some(i64::from(thread)), start, at);
            return Ok(None);
        }
        if trimmed.eq_ignore_ascii_case("COMMIT") || trimmed.eq_ignore_ascii_case("ROLLBACK") {
            return self.commit(at, out);
        }
        // A statement of its own (DDL), inside a standalone GTID group or alone.
        if self.tx.is_none() {
            let (gtid, start) = match self.pending_gtid.take() {
                Some((g, p)) => (Some(g), p),
                None => (None, self.anonymous_start.take().unwrap_or(at.pos)),
            };
            self.begin(gtid, true, Some(i64::from(thread)), start, at);
        }
        let skipped = self
            .tx
            .as_ref()
            .and_then(|tx| tx.skip)
            .is_some_and(|(events, _)| events > 0);
        // DML written as a statement (a non-transactional engine), SAVEPOINT, GRANT, ...:
        // nothing for the schema, but a standalone group still ends here.
        if !skipped && Schema::is_schema_statement(trimmed) {
            self.ddl(database, trimmed, at, out);
        }
        let standalone = self.tx.as_ref().is_some_and(|tx| tx.standalone);
        if standalone {
            self.commit(at, out)
        } else {
            Ok(None)
        }
    }

    fn ddl(&mut self, database: &str, sql: &str, at: EventAt, out: &mut Vec<Record>) {
        match self.schema.apply(database, sql) {
            Ok(changes) => {
                self.pending_ddl
                    .push((database.to_owned(), sql.to_owned(), changes.clone()));
                for change in changes {
                    if let TableChange::Truncate { database, table } = change {
                        if self.config.skipped_operations.skips(Operation::Truncate) {
                            continue;
                        }
                        if let Some(t) = self.captured(&database, &table) {
                            let event = self.event(Op::Truncate, &t, None, None, None, at, 0);
                            self.emit(event, &t, false, out);
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, database, file = %self.file, pos = at.pos, "DDL statement not understood; the schema is unchanged");
            }
        }
    }

    /// XID (or COMMIT): the transaction is complete.
    pub fn commit(
        &mut self,
        at: EventAt,
        out: &mut Vec<Record>,
    ) -> Result<Option<MySqlPosition>, EventError> {
        let tx = self.tx.take();
        if let Some(tx) = &tx {
            if tx.begun {
                if let Some(topic) = &self.tx_topic {
                    out.push(topic.end(&tx.id, tx.ts_sec * 1000, &tx.per_collection));
                }
            }
            // `gtid.source.includes` / `excludes`: GTIDs of other sources stay out of the
            // stored set (MySQL: the server UUID; MariaDB: `domain-server`).
            let followed = tx.gtid.as_ref().is_none_or(|g| {
                self.config.include_gtid_source(&match g {
                    TxGtid::MariaDb(g) => format!("{}-{}", g.domain_id, g.server_id),
                    TxGtid::MySql(uuid, _) => uuid.to_string(),
                })
            });
            let gtid = if followed { tx.gtid.as_ref() } else { None };
            match (&mut self.gtids, gtid) {
                (Some(Gtids::MariaDb(p)), Some(TxGtid::MariaDb(g))) => p.advance(*g),
                (Some(Gtids::MySql(s)), Some(TxGtid::MySql(uuid, gno))) => {
                    s.add(*uuid, *gno);
                }
                (None, Some(TxGtid::MariaDb(g))) => {
                    self.gtids = Some(Gtids::MariaDb([*g].into_iter().collect()));
                }
                (None, Some(TxGtid::MySql(uuid, gno))) => {
                    let mut s = GtidSet::new();
                    s.add(*uuid, *gno);
                    self.gtids = Some(Gtids::MySql(s));
                }
                _ => {}
            }
        }
        self.query = None;
        self.position = MySqlPosition {
            file: self.file.clone(),
            pos: at.next,
            event: 0,
            row: 0,
            gtids: self.gtids.as_ref().map(Gtids::to_text),
            ts_sec: tx.as_ref().map_or(i64::from(at.timestamp), |t| t.ts_sec),
            server_id: at.server_id,
            snapshot: None,
            incremental: None,
        };
        // The DDL is durable in the history before the offset after it can be committed.
        let position = self.position.clone();
        for (database, ddl, changes) in std::mem::take(&mut self.pending_ddl) {
            let source = self.info.value(&SourceFields {
                snapshot: "false",
                ts_ms: position.ts_sec * 1000,
                db: &database,
                table: None,
                server_id: at.server_id,
                gtid: tx
                    .as_ref()
                    .and_then(|t| t.gtid.as_ref())
                    .map(TxGtid::text)
                    .as_deref(),
                file: &position.file,
                pos: at.pos,
                row: 0,
                thread: tx.as_ref().and_then(|t| t.thread),
                query: None,
            });
            self.record_ddl(&position, &database, &ddl, &changes, Some(source), out)?;
        }
        Ok(Some(position))
    }

    pub fn table_map(&mut self, tme: TableMapEvent<'static>) {
        self.table_maps.insert(tme.table_id(), Arc::new(tme));
    }

    /// ROWS_QUERY / ANNOTATE_ROWS: the statement behind the next rows events.
    pub fn rows_query(&mut self, sql: String) {
        if self.config.include_query {
            self.query = Some(sql);
        }
    }

    /// A WRITE/UPDATE/DELETE rows event. Pushes records to `out` one row at a time,
    /// calling `row_done` with the position after each row (so the caller can close the
    /// records of that row under it).
    pub fn rows(
        &mut self,
        rows: &RowsEventData<'_>,
        at: EventAt,
        out: &mut Vec<Record>,
        mut row_done: impl FnMut(&mut Vec<Record>, MySqlPosition),
    ) -> Result<(), EventError> {
        let Some(tme) = self.table_maps.get(&rows.table_id()).cloned() else {
            return Err(EventError::UnknownTableId {
                table_id: rows.table_id(),
                file: self.file.clone(),
                pos: at.pos,
            });
        };
        let (database, table_name) = (
            tme.database_name().into_owned(),
            tme.table_name().into_owned(),
        );
        if self.tx.is_none() {
            // Rows outside BEGIN..COMMIT (a non-transactional engine with GTIDs off):
            // a transaction of their own.
            let (gtid, start) = match self.pending_gtid.take() {
                Some((g, p)) => (Some(g), p),
                None => (None, at.pos),
            };
            self.begin(gtid, false, None, start, at);
        }
        let (skip_events, skip_rows) =
            self.tx
                .as_ref()
                .and_then(|tx| tx.skip)
                .map_or((0, 0), |(e, r)| {
                    let done = self.tx.as_ref().map_or(0, |t| t.events_done);
                    if done < e {
                        (1, 0)
                    } else if done == e {
                        (0, r)
                    } else {
                        (0, 0)
                    }
                });
        if skip_events > 0 {
            self.finish_rows_event();
            return Ok(());
        }
        let is_signal = self.is_signal_table(&database, &table_name);
        let emit = self.config.include_table(&database, &table_name);
        let captured = if emit || is_signal {
            match self.captured(&database, &table_name) {
                Some(t) => Some(t),
                None => {
                    return self.inconsistent(
                        EventError::UnknownTable {
                            table: format!("{database}.{table_name}"),
                            file: self.file.clone(),
                            pos: at.pos,
                        },
                        (database, table_name),
                    )
                }
            }
        } else {
            None
        };
        let Some(table) = captured else {
            self.finish_rows_event();
            return Ok(());
        };
        let column_count = usize::try_from(tme.columns_count()).unwrap_or(usize::MAX);
        if column_count != table.columns.len() {
            let error = EventError::Inconsistent {
                table: format!("{database}.{table_name}"),
                file: self.file.clone(),
                pos: at.pos,
                binlog: column_count,
                known: table.columns.len(),
            };
            return self.inconsistent(error, (database, table_name));
        }
        let op = match rows {
            RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => Op::Create,
            RowsEventData::UpdateRowsEvent(_)
            | RowsEventData::UpdateRowsEventV1(_)
            | RowsEventData::PartialUpdateRowsEvent(_) => Op::Update,
            RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => Op::Delete,
        };
        for (row_index, row) in (0u64..).zip(rows.rows(&tme)) {
            if row_index < skip_rows {
                continue;
            }
            let (before, after) = match row {
                Ok(pair) => pair,
                Err(e) => {
                    let error = EventError::Rows {
                        table: format!("{database}.{table_name}"),
                        file: self.file.clone(),
                        pos: at.pos,
                        reason: e.to_string(),
                    };
                    match self.config.event_deserialization_failure_handling_mode {
                        EventProcessingFailureHandlingMode::Fail => return Err(error),
                        EventProcessingFailureHandlingMode::Warn => {
                            tracing::warn!(error = %error, "event skipped (event.deserialization.failure.handling.mode=warn)");
                            break;
                        }
                        EventProcessingFailureHandlingMode::Skip => break,
                    }
                }
            };
            let image =
                |row: &Option<BinlogRow>| -> Result<Option<(Value, Option<Value>)>, EventError> {
                    let Some(row) = row else { return Ok(None) };
                    table
                        .row_image(&self.modes, |i, kind| {
                            mapping::from_binlog(kind, row.as_ref(i))
                        })
                        .map(Some)
                        .map_err(|(column, e)| EventError::Rows {
                            table: format!("{database}.{table_name}"),
                            file: self.file.clone(),
                            pos: at.pos,
                            reason: format!("column {column}: {e}"),
                        })
                };
            let before = image(&before)?;
            let after = image(&after)?;
            if is_signal && op == Op::Create {
                if let Some(signal) = after.as_ref().and_then(|(row, _)| read_signal(&table, row)) {
                    self.signals.push(signal);
                }
            }
            if emit {
                self.change(op, &table, before, after, at, row_index, out);
            }
            let position = self.in_tx_position(row_index + 1);
            row_done(out, position);
        }
        self.finish_rows_event();
        Ok(())
    }

    fn inconsistent(
        &mut self,
        error: EventError,
        table: (String, String),
    ) -> Result<(), EventError> {
        match self.config.inconsistent_schema_handling_mode {
            EventProcessingFailureHandlingMode::Fail => {
                if matches!(error, EventError::UnknownTable { .. }) {
                    // The caller may load the table's current definition and retry.
                    self.missing.push(table);
                }
                Err(error)
            }
            EventProcessingFailureHandlingMode::Warn => {
                tracing::warn!(error = %error, "event skipped (inconsistent.schema.handling.mode=warn)");
                self.finish_rows_event();
                Ok(())
            }
            EventProcessingFailureHandlingMode::Skip => {
                self.finish_rows_event();
                Ok(())
            }
        }
    }

    fn finish_rows_event(&mut self) {
        if let Some(tx) = self.tx.as_mut() {
            tx.events_done += 1;
        }
    }

    fn in_tx_position(&self, row: u64) -> MySqlPosition {
        match &self.tx {
            Some(tx) => MySqlPosition {
                file: tx.start_file.clone(),
                pos: tx.start_pos,
                event: tx.events_done,
                row,
                gtids: self.gtids.as_ref().map(Gtids::to_text),
                ts_sec: tx.ts_sec,
                server_id: tx.server_id,
                snapshot: None,
                incremental: None,
            },
            None => self.position.clone(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn change(
        &mut self,
        op: Op,
        table: &Arc<CapturedTable>,
        before: Option<(Value, Option<Value>)>,
        after: Option<(Value, Option<Value>)>,
        at: EventAt,
        row: u64,
        out: &mut Vec<Record>,
    ) {
        let config = self.config.clone();
        let skipped = |o: Operation| config.skipped_operations.skips(o);
        let tombstones = self.config.tombstones_on_delete;
        match op {
            Op::Create => {
                if !skipped(Operation::Create) {
                    let (row_v, key) = after.map_or((None, None), |(r, k)| (Some(r), k));
                    let event = self.event(Op::Create, table, key, None, row_v, at, row);
                    self.emit(event, table, false, out);
                }
            }
            Op::Update => {
                let before_key = before.as_ref().and_then(|b| b.1.clone());
                let after_key = after.as_ref().and_then(|a| a.1.clone());
                if table.key_count > 0 && before.is_some() && before_key != after_key {
                    // Debezium: a primary-key change is a delete of the old key (+ tombstone)
                    // and a create of the new one.
                    if !skipped(Operation::Delete) {
                        let event = self.event(
                            Op::Delete,
                            table,
                            before_key,
                            before.map(|b| b.0),
                            None,
                            at,
                            row,
                        );
                        self.emit(event, table, tombstones, out);
                    }
                    if !skipped(Operation::Create) {
                        let event = self.event(
                            Op::Create,
                            table,
                            after_key,
                            None,
                            after.map(|a| a.0),
                            at,
                            row,
                        );
                        self.emit(event, table, false, out);
                    }
                } else if !skipped(Operation::Update) {
                    let event = self.event(
                        Op::Update,
                        table,
                        after_key,
                        before.map(|b| b.0),
                        after.map(|a| a.0),
                        at,
                        row,
                    );
                    self.emit(event, table, false, out);
                }
            }
            Op::Delete => {
                if !skipped(Operation::Delete) {
                    let (row_v, key) = before.map_or((None, None), |(r, k)| (Some(r), k));
                    let event = self.event(Op::Delete, table, key, row_v, None, at, row);
                    self.emit(event, table, tombstones, out);
                }
            }
            Op::Read | Op::Truncate | Op::Message => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        op: Op,
        table: &CapturedTable,
        key: Option<Value>,
        before: Option<Value>,
        after: Option<Value>,
        at: EventAt,
        row: u64,
    ) -> ChangeEvent {
        let (ts_sec, thread, gtid) = self
            .tx
            .as_ref()
            .map_or((i64::from(at.timestamp), None, None), |tx| {
                (tx.ts_sec, tx.thread, tx.gtid.as_ref().map(TxGtid::text))
            });
        let source = self.info.value(&SourceFields {
            snapshot: "false",
            ts_ms: ts_sec * 1000,
            db: &table.database,
            table: Some(&table.name),
            server_id: at.server_id,
            gtid: gtid.as_deref(),
            file: &self.file,
            pos: at.pos,
            row: row as i32,
            thread,
            query: self.query.as_deref(),
        });
        ChangeEvent {
            op,
            table: table.schema.clone(),
            key,
            before,
            after,
            source,
            transaction: None,
            clock: Clock::now(),
        }
    }

    /// Append the event (BEGIN first when it opens a transaction, a tombstone after it).
    fn emit(
        &mut self,
        mut event: ChangeEvent,
        table: &CapturedTable,
        tombstone: bool,
        out: &mut Vec<Record>,
    ) {
        if let (Some(topic), Some(tx)) = (&self.tx_topic, self.tx.as_mut()) {
            if !tx.begun {
                tx.begun = true;
                out.push(topic.begin(&tx.id, tx.ts_sec * 1000));
            }
            tx.total += 1;
            let collection = &table.schema.data_collection;
            let order = match tx.per_collection.iter_mut().find(|(c, _)| c == collection) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.1
                }
                None => {
                    tx.per_collection.push((collection.clone(), 1));
                    1
                }
            };
            event.transaction = Some(TxBlock {
                id: tx.id.clone(),
                total_order: tx.total,
                data_collection_order: order,
            });
        }
        let key = event.key.clone();
        out.push(event.into_record());
        if tombstone {
            out.push(ChangeEvent::tombstone(&table.schema, key));
        }
    }
}

/// A Debezium signal row (`id`, `type`, `data` columns of the signalling table).
fn read_signal(table: &CapturedTable, row: &Value) -> Option<Signal> {
    let Value::Struct(values) = row else {
        return None;
    };
    let text = |name: &str| {
        table
            .schema
            .value_schema
            .field_index(name)
            .and_then(|i| match values.get(i) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
    };
    Some(Signal {
        id: text("id")?,
        kind: text("type")?,
        data: text("data"),
    })
}

/// The handling modes of a config.
pub fn modes(config: &MySqlConnectorConfig) -> Modes {
    Modes {
        decimal: config.decimal_handling_mode,
        binary: config.binary_handling_mode,
        time_precision: config.time_precision_mode,
        bigint_unsigned: config.bigint_unsigned_handling_mode,
    }
}

/// The per-event fields of the `source` block.
pub struct SourceFields<'a> {
    pub snapshot: &'a str,
    pub ts_ms: i64,
    pub db: &'a str,
    pub table: Option<&'a str>,
    pub server_id: u32,
    pub gtid: Option<&'a str>,
    pub file: &'a str,
    pub pos: u64,
    pub row: i32,
    pub thread: Option<i64>,
    pub query: Option<&'a str>,
}

/// The connector-wide part of the `source` block.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    version: String,
    connector: &'static str,
    prefix: String,
}

impl SourceInfo {
    pub fn new(config: &MySqlConnectorConfig) -> SourceInfo {
        SourceInfo {
            version: concat!(env!("CARGO_PKG_VERSION"), "-sluice").to_string(),
            connector: config.flavor.connector_name(),
            prefix: config.topic_prefix.clone(),
        }
    }

    /// `io.debezium.connector.mysql.Source` for one event.
    pub fn value(&self, f: &SourceFields<'_>) -> Value {
        Value::Struct(vec![
            Value::String(self.version.clone()),
            Value::String(self.connector.to_owned()),
            Value::String(self.prefix.clone()),
            Value::Int64(f.ts_ms),
            Value::String(f.snapshot.to_owned()),
            Value::String(f.db.to_owned()),
            Value::Null,
            Value::Int64(f.ts_ms.saturating_mul(1000)),
            Value::Int64(f.ts_ms.saturating_mul(1_000_000)),
            f.table.map_or(Value::Null, |t| Value::String(t.to_owned())),
            Value::Int64(i64::from(f.server_id)),
            f.gtid.map_or(Value::Null, |g| Value::String(g.to_owned())),
            Value::String(f.file.to_owned()),
            Value::Int64(f.pos as i64),
            Value::Int32(f.row),
            f.thread.map_or(Value::Null, Value::Int64),
            f.query.map_or(Value::Null, |q| Value::String(q.to_owned())),
        ])
    }
}

/// Index of `snapshot` in the source struct, for patching markers into snapshot records.
pub const SOURCE_SNAPSHOT_FIELD: usize = 4;

/// `io.debezium.connector.mysql.Source` (`io.debezium.connector.mariadb.Source` for
/// MariaDB? Debezium's MariaDB connector names it so; the recordings used the MySQL class).
fn source_schema() -> ConnectSchema {
    let s = || ConnectSchema::new(SchemaType::String);
    let i64o = || ConnectSchema::new(SchemaType::Int64).optional(true);
    ConnectSchema::structure(vec![
        Field::new("version", s()),
        Field::new("connector", s()),
        Field::new("name", s()),
        Field::new("ts_ms", ConnectSchema::new(SchemaType::Int64)),
        Field::new(
            "snapshot",
            s().optional(true)
                .named("io.debezium.data.Enum")
                .version(1)
                .param(
                    "allowed",
                    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental",
                )
                .with_default(Value::String("false".into())),
        ),
        Field::new("db", s()),
        Field::new("sequence", s().optional(true)),
        Field::new("ts_us", i64o()),
        Field::new("ts_ns", i64o()),
        Field::new("table", s().optional(true)),
        Field::new("server_id", ConnectSchema::new(SchemaType::Int64)),
        Field::new("gtid", s().optional(true)),
        Field::new("file", s()),
        Field::new("pos", ConnectSchema::new(SchemaType::Int64)),
        Field::new("row", ConnectSchema::new(SchemaType::Int32)),
        Field::new("thread", i64o()),
        Field::new("query", s().optional(true)),
    ])
    .named("io.debezium.connector.mysql.Source")
    .version(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[(&str, &str)]) -> Arc<MySqlConnectorConfig> {
        let mut map: std::collections::BTreeMap<String, String> = [
            ("name", "c"),
            ("connector.class", "mysql"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("topic.prefix", "p"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            map.insert(k.to_string(), v.to_string());
        }
        Arc::new(MySqlConnectorConfig::from_map(&map).expect("valid").0)
    }

    fn at(pos: u64, next: u64) -> EventAt {
        EventAt {
            pos,
            next,
            timestamp: 1_700_000_000,
            server_id: 1,
        }
    }

    /// MySQL: GTID event, BEGIN, XID; the stored set grows by each committed transaction
    /// (only MySQL servers send these; no MySQL server runs on our machines).
    #[test]
    fn mysql_gtid_transactions_advance_the_set() {
        let uuid = Uuid::parse("3e11fa47-71ca-11e1-9e33-c80aa9429562").expect("uuid");
        let start = MySqlPosition {
            file: "binlog.000001".into(),
            pos: 4,
            gtids: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".into()),
            ..MySqlPosition::default()
        };
        let gtids =
            Gtids::MySql(GtidSet::parse("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5").expect("set"));
        let mut source = EventSource::new(config(&[]), Schema::new(), start, Some(gtids));
        let mut out = Vec::new();
        source.mysql_gtid(uuid, 6, at(100, 165));
        assert!(source
            .query("db", "BEGIN", 7, at(165, 240), &mut out)
            .expect("begin")
            .is_none());
        assert!(!source.is_idle());
        let end = source
            .commit(at(300, 331), &mut out)
            .expect("commit")
            .expect("a position");
        assert_eq!(
            end.gtids.as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6")
        );
        assert_eq!((end.pos, end.event, end.row), (331, 0, 0));
        assert!(source.is_idle());
        // An excluded source's transaction is not added.
        let other = Uuid::parse("f6b1e1c2-0a2b-11ef-8e0a-0242ac120002").expect("uuid");
        let mut source = EventSource::new(
            config(&[("gtid.source.excludes", "f6b1e1c2-.*")]),
            Schema::new(),
            end.clone(),
            gtids_of(&end),
        );
        source.mysql_gtid(other, 1, at(331, 400));
        source
            .query("db", "BEGIN", 7, at(400, 470), &mut out)
            .expect("begin");
        let next = source
            .commit(at(500, 531), &mut out)
            .expect("commit")
            .expect("a position");
        assert_eq!(next.gtids, end.gtids);
        assert_eq!(next.pos, 531);
    }

    fn gtids_of(p: &MySqlPosition) -> Option<Gtids> {
        p.gtids
            .as_deref()
            .and_then(|g| GtidSet::parse(g).ok())
            .map(Gtids::MySql)
    }

    /// A restart inside a transaction: its first `event` rows events are skipped.
    #[test]
    fn resume_skip_applies_to_the_first_transaction_only() {
        let start = MySqlPosition {
            file: "binlog.000001".into(),
            pos: 100,
            event: 2,
            row: 3,
            ..MySqlPosition::default()
        };
        let mut source = EventSource::new(config(&[]), Schema::new(), start, None);
        let mut out = Vec::new();
        source
            .query("db", "BEGIN", 1, at(100, 170), &mut out)
            .expect("begin");
        assert_eq!(source.tx.as_ref().and_then(|t| t.skip), Some((2, 3)));
        source.commit(at(400, 431), &mut out).expect("commit");
        source
            .query("db", "BEGIN", 1, at(431, 500), &mut out)
            .expect("begin");
        assert_eq!(source.tx.as_ref().and_then(|t| t.skip), None);
    }
}
