//! pgoutput messages → Debezium change events for the Postgres connector.
//!
//! ```text
//! Relation ─> catalog lookup ─> CapturedTable (schemas, column mappings)   [per table shape]
//! Begin ─> TxState;  Insert/Update/Delete/Truncate/Message ─> ChangeEvent(s) ─> Record(s)
//! Commit ─> END record (transaction metadata), position = end of transaction
//! ```
//! This is the one place where pgoutput's semantics become Debezium's: key-only `before`
//! images, primary-key changes as delete + tombstone + create, TOAST placeholders, skipped
//! operations, transaction metadata, and the `source` block.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_config::{Operation, PostgresConnectorConfig};
use sluice_decoders::pgoutput::{self, ColumnValue, TupleData};
use sluice_decoders::pgvalue::decode_text;

use super::catalog::{self, TableInfo, TypeCache};
use super::mapping::{self, ColumnType, Modes};
use super::position::PgPosition;
use crate::connect::{Field, Record, Schema, SchemaType, Value};
use crate::envelope::{ChangeEvent, Clock, Op, TableSchema, TransactionTopic, TxBlock};

/// Microseconds between 1970-01-01 and Postgres' epoch 2000-01-01.
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// A problem with one event's data. Definite: the same WAL decodes the same way again.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot decode the replication message at LSN {lsn}")]
    Decode {
        lsn: String,
        #[source]
        source: sluice_decoders::DecodeError,
    },
    #[error("cannot decode column {} (type {}) at LSN {}", .0.column, .0.type_name, .0.lsn)]
    Value(Box<ColumnContext>, #[source] sluice_decoders::DecodeError),
    #[error("column {table}.{column} arrived in binary format at LSN {lsn}; Sluice requests text format, so this is a server or protocol mismatch")]
    BinaryValue {
        table: String,
        column: String,
        lsn: String,
    },
    #[error("a change for relation {relation_id} arrived before its Relation message at LSN {lsn}: the stream is out of sync; restart the connector")]
    UnknownRelation { relation_id: u32, lsn: String },
    #[error("catalog lookup for table {table} failed")]
    Catalog {
        table: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Where a column value failed to decode.
#[derive(Debug)]
pub struct ColumnContext {
    /// `schema.table.column`.
    pub column: String,
    pub type_name: String,
    pub lsn: String,
}

/// One captured column.
#[derive(Debug)]
struct CapturedColumn {
    name: String,
    ty: ColumnType,
    field_schema: Arc<Schema>,
    /// Position in the value struct; `None` when excluded by `column.exclude.list`.
    field: Option<usize>,
    /// Position in the key struct.
    key: Option<usize>,
}

/// A table as the stream currently sees it.
#[derive(Debug)]
pub struct CapturedTable {
    schema_name: String,
    table_name: String,
    schema: Arc<TableSchema>,
    /// One per column of the `Relation` message, in its order.
    columns: Vec<CapturedColumn>,
    field_count: usize,
    key_count: usize,
    /// Events of this table are emitted (false for a signalling table outside the filters).
    emit: bool,
    /// This is the signalling table (`signal.data.collection`).
    signal: bool,
}

impl CapturedTable {
    /// The table's topic.
    pub fn topic(&self) -> Arc<str> {
        self.schema.topic.clone()
    }

    /// Column names in the order of the table's columns (the order snapshot SELECTs use).
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// Key column names in key order.
    pub fn key_column_names(&self) -> impl Iterator<Item = &str> {
        let mut keyed: Vec<(usize, &str)> = self
            .columns
            .iter()
            .filter_map(|c| c.key.map(|k| (k, c.name.as_str())))
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, n)| n)
    }
}

struct TxState {
    xid: u32,
    commit_lsn: u64,
    commit_ts_us: i64,
    id: Arc<str>,
    /// BEGIN already emitted (transaction metadata) / events emitted so far.
    begun: bool,
    total: i64,
    per_collection: Vec<(Arc<str>, i64)>,
    /// The transaction was delivered whole before a restart: drop everything in it.
    skip: bool,
}

/// Turns decoded pgoutput messages into records. Owns the relation cache.
pub struct EventSource {
    info: SourceInfo,
    modes: Modes,
    config: Arc<PostgresConnectorConfig>,
    source_schema: Arc<Schema>,
    tables: HashMap<u32, Option<Arc<CapturedTable>>>,
    types: TypeCache,
    tx: Option<TxState>,
    tx_topic: Option<TransactionTopic>,
    message_table: Arc<TableSchema>,
    /// End LSN of the previous transaction, for `source.sequence`.
    last_commit_lsn: Option<u64>,
    /// What was already delivered before this stream started.
    resume: Option<PgPosition>,
    /// The position after the last message handled.
    position: PgPosition,
    /// Signals read from the signalling table, not yet taken.
    signals: Vec<super::incremental::Signal>,
}

/// What handling one message produced.
pub enum Emitted {
    /// Nothing to send, position unchanged.
    Nothing,
    /// Records to send; afterwards the source stands at the given position (if any).
    Records(Option<PgPosition>),
}

impl EventSource {
    pub fn new(config: Arc<PostgresConnectorConfig>, resume: Option<PgPosition>) -> EventSource {
        let modes = Modes {
            decimal: config.decimal_handling_mode,
            binary: config.binary_handling_mode,
            time_precision: config.time_precision_mode,
            interval: config.interval_handling_mode,
            hstore: config.hstore_handling_mode,
            money_fraction_digits: config.money_fraction_digits,
            unavailable_placeholder: config.unavailable_value_placeholder.as_str().into(),
        };
        let source_schema = Arc::new(source_schema());
        let prefix = config.topic_prefix.clone();
        let message_table = Arc::new(message_table(&prefix, &source_schema));
        EventSource {
            info: SourceInfo {
                version: concat!(env!("CARGO_PKG_VERSION"), "-sluice").to_string(),
                prefix,
                db: config.database_dbname.clone(),
            },
            tx_topic: config
                .provide_transaction_metadata
                .then(|| TransactionTopic::new(&config.transaction_topic())),
            modes,
            source_schema,
            tables: HashMap::new(),
            types: TypeCache::default(),
            tx: None,
            message_table,
            last_commit_lsn: None,
            position: resume.clone().unwrap_or_default(),
            signals: Vec::new(),
            resume,
            config,
        }
    }

    pub fn position(&self) -> PgPosition {
        self.position.clone()
    }

    /// Signals inserted into the signalling table since the last call.
    pub fn take_signals(&mut self) -> Vec<super::incremental::Signal> {
        std::mem::take(&mut self.signals)
    }

    /// No transaction is open: every message received so far is fully handled.
    pub fn is_idle(&self) -> bool {
        self.tx.is_none()
    }

    /// The server has sent everything before `wal_end` and nothing of it is pending here:
    /// move the restart point there (`None` when it does not move).
    pub fn advance_idle(&mut self, wal_end: u64) -> Option<PgPosition> {
        if !self.is_idle() || wal_end <= self.position.lsn {
            return None;
        }
        self.position.lsn = wal_end;
        self.position.lsn_proc = wal_end;
        Some(self.position.clone())
    }

    /// Handle one pgoutput message that arrived at `lsn`, appending records to `out`.
    pub async fn handle(
        &mut self,
        message: pgoutput::Message,
        lsn: u64,
        sql: &tokio_postgres::Client,
        out: &mut Vec<Record>,
    ) -> Result<Emitted, EventError> {
        use pgoutput::Message as M;
        match message {
            M::Begin(b) => {
                let skip = self
                    .resume
                    .as_ref()
                    .is_some_and(|r| r.covers_transaction(b.final_lsn));
                self.tx = Some(TxState {
                    xid: b.xid,
                    commit_lsn: b.final_lsn,
                    commit_ts_us: b.commit_ts + PG_EPOCH_OFFSET_US,
                    id: format!("{}:{}", b.xid, b.final_lsn).into(),
                    begun: false,
                    total: 0,
                    per_collection: Vec::new(),
                    skip,
                });
                Ok(Emitted::Nothing)
            }
            M::Commit(c) => {
                let Some(tx) = self.tx.take() else {
                    return Ok(Emitted::Nothing);
                };
                if tx.begun {
                    if let Some(topic) = &self.tx_topic {
                        out.push(topic.end(&tx.id, tx.commit_ts_us / 1000, &tx.per_collection));
                    }
                }
                self.last_commit_lsn = Some(c.end_lsn);
                if self
                    .resume
                    .as_ref()
                    .is_some_and(|r| c.end_lsn >= r.lsn && r.lsn_proc <= c.end_lsn)
                {
                    self.resume = None;
                }
                self.position = PgPosition {
                    lsn: c.end_lsn.max(self.position.lsn),
                    lsn_proc: c.end_lsn.max(self.position.lsn),
                    lsn_commit: c.commit_lsn,
                    tx_id: Some(tx.xid),
                    ts_usec: tx.commit_ts_us,
                    snapshot: None,
                    incremental: None,
                };
                Ok(Emitted::Records(Some(self.position.clone())))
            }
            M::Relation(r) => {
                self.relation(r, sql).await?;
                Ok(Emitted::Nothing)
            }
            M::Insert(i) => self.change(
                Op::Create,
                i.relation_id,
                None,
                false,
                Some(&i.new),
                lsn,
                out,
            ),
            M::Update(u) => {
                let (old, key_only) = match (&u.old, &u.key) {
                    (Some(old), _) => (Some(old), false),
                    (None, Some(key)) => (Some(key), true),
                    (None, None) => (None, false),
                };
                self.change(
                    Op::Update,
                    u.relation_id,
                    old,
                    key_only,
                    Some(&u.new),
                    lsn,
                    out,
                )
            }
            M::Delete(d) => {
                let (old, key_only) = match (&d.old, &d.key) {
                    (Some(old), _) => (Some(old), false),
                    (None, Some(key)) => (Some(key), true),
                    (None, None) => (None, true),
                };
                self.change(Op::Delete, d.relation_id, old, key_only, None, lsn, out)
            }
            M::Truncate(t) => {
                if self.config.skipped_operations.skips(Operation::Truncate) || self.skipping(lsn) {
                    return Ok(Emitted::Nothing);
                }
                for relation_id in &t.relation_ids {
                    let Some(table) = self.tables.get(relation_id).cloned().flatten() else {
                        continue;
                    };
                    let event = self.event(Op::Truncate, &table, None, None, None, lsn);
                    self.emit(event, &table, false, out);
                }
                Ok(self.after_change(lsn))
            }
            M::Message(m) => {
                if !self.config.filters().include_message_prefix(&m.prefix) || self.skipping(lsn) {
                    return Ok(Emitted::Nothing);
                }
                out.push(self.message_record(&m, lsn));
                Ok(if m.flags & 1 == 1 {
                    self.after_change(lsn)
                } else {
                    Emitted::Records(None)
                })
            }
            M::Origin(_) | M::Type(_) => Ok(Emitted::Nothing),
            // Sluice does not ask for streamed or two-phase transactions (see `connector`), so
            // these arrive only from a misconfigured server; ignoring them loses nothing
            // because the commit of such a transaction is decoded again as a normal one.
            M::StreamStart(_)
            | M::StreamStop
            | M::StreamCommit(_)
            | M::StreamAbort(_)
            | M::BeginPrepare(_)
            | M::Prepare(_)
            | M::CommitPrepared(_)
            | M::RollbackPrepared(_)
            | M::StreamPrepare(_) => Ok(Emitted::Nothing),
        }
    }

    /// Whether the change at `lsn` of the open transaction was delivered before a restart.
    fn skipping(&self, lsn: u64) -> bool {
        match &self.tx {
            Some(tx) => {
                tx.skip
                    || self
                        .resume
                        .as_ref()
                        .is_some_and(|r| r.covers_change(tx.xid, lsn))
            }
            None => false,
        }
    }

    fn after_change(&mut self, lsn: u64) -> Emitted {
        if let Some(tx) = &self.tx {
            self.position = PgPosition {
                lsn: self.position.lsn,
                lsn_proc: lsn,
                lsn_commit: tx.commit_lsn,
                tx_id: Some(tx.xid),
                ts_usec: tx.commit_ts_us,
                snapshot: None,
                incremental: None,
            };
            Emitted::Records(Some(self.position.clone()))
        } else {
            Emitted::Records(None)
        }
    }

    /// Load a table's shape from the catalog (as a `Relation` message would describe it) so
    /// the snapshot can map its rows before the stream has said anything about it.
    pub async fn capture_table(
        &mut self,
        sql: &tokio_postgres::Client,
        relation_id: u32,
        schema: &str,
        table: &str,
    ) -> Result<Option<Arc<CapturedTable>>, EventError> {
        let rows = sql
            .query(
                "SELECT attname::text, atttypid, atttypmod FROM pg_attribute
                  WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
                  ORDER BY attnum",
                &[&relation_id],
            )
            .await
            .map_err(|source| EventError::Catalog {
                table: format!("{schema}.{table}"),
                source,
            })?;
        let relation = pgoutput::Relation {
            xid: None,
            id: relation_id,
            namespace: schema.to_string(),
            name: table.to_string(),
            replica_identity: pgoutput::ReplicaIdentity::Default,
            columns: rows
                .iter()
                .map(|r| pgoutput::RelationColumn {
                    flags: 0,
                    name: r.get(0),
                    type_oid: r.get(1),
                    type_modifier: r.get(2),
                })
                .collect(),
        };
        self.relation(relation, sql).await?;
        Ok(self.tables.get(&relation_id).cloned().flatten())
    }

    /// The mapper snapshot readers use, for a snapshot consistent at `lsn`.
    pub fn snapshot_mapper(&self, lsn: u64, xid: Option<u32>, ts_us: i64) -> SnapshotMapper {
        SnapshotMapper {
            info: self.info.clone(),
            modes: self.modes.clone(),
            lsn,
            xid,
            ts_us,
        }
    }

    async fn relation(
        &mut self,
        r: pgoutput::Relation,
        sql: &tokio_postgres::Client,
    ) -> Result<(), EventError> {
        let filters = self.config.filters();
        let qualified = format!("{}.{}", r.namespace, r.name);
        let signal = self.config.signal_data_collection.as_deref() == Some(qualified.as_str());
        let emit = filters.include_table(&r.namespace, &r.name);
        if !emit && !signal {
            self.tables.insert(r.id, None);
            return Ok(());
        }
        let info = catalog::load_table(sql, r.id, &mut self.types)
            .await
            .map_err(|source| EventError::Catalog {
                table: qualified.clone(),
                source,
            })?;
        let mut table = self.capture(&r, info.as_ref());
        table.emit = emit;
        table.signal = signal;
        tracing::info!(table = %qualified, topic = %table.schema.topic, "table schema loaded");
        self.tables.insert(r.id, Some(Arc::new(table)));
        Ok(())
    }

    fn capture(&self, r: &pgoutput::Relation, info: Option<&TableInfo>) -> CapturedTable {
        let filters = self.config.filters();
        let topic = self.config.table_topic(&r.namespace, &r.name);
        let mut columns = Vec::with_capacity(r.columns.len());
        let mut value_fields = Vec::new();
        let mut key_fields = Vec::new();
        let key_names: Vec<&str> = match info {
            Some(i) => i.key_columns.iter().map(String::as_str).collect(),
            None => Vec::new(),
        };
        let mut key_slots: Vec<Option<(usize, Field)>> = vec![None; key_names.len()];
        for rc in &r.columns {
            let ci = info.and_then(|i| i.columns.iter().find(|c| c.name == rc.name));
            let ty = match ci {
                Some(c) => c.ty.clone(),
                None => ColumnType {
                    pg: sluice_decoders::pgvalue::PgType::from_builtin_oid(rc.type_oid)
                        .unwrap_or(sluice_decoders::pgvalue::PgType::Unknown),
                    typmod: rc.type_modifier,
                    enum_labels: Vec::new(),
                    type_name: format!("oid {}", rc.type_oid),
                },
            };
            let not_null = ci.is_some_and(|c| c.not_null);
            let mut field_schema = mapping::schema(&ty, &self.modes).optional(!not_null);
            if let Some(literal) = ci.and_then(|c| c.default_literal.as_deref()) {
                if let Ok(v) = decode_text(&ty.pg, literal.as_bytes()) {
                    let default = mapping::value(&ty, &self.modes, v);
                    if !default.is_null() {
                        field_schema = field_schema.with_default(default);
                    }
                }
            }
            if matches!(ty.pg, sluice_decoders::pgvalue::PgType::Unknown) {
                tracing::warn!(
                    column = %format!("{}.{}.{}", r.namespace, r.name, rc.name),
                    type_name = %ty.type_name,
                    "column type has no Debezium mapping; its text form is emitted as a string"
                );
            }
            let field_schema = Arc::new(field_schema);
            let included = filters.include_column(&r.namespace, &r.name, &rc.name);
            let field = included.then(|| {
                value_fields.push(Field {
                    name: rc.name.clone(),
                    schema: field_schema.clone(),
                });
                value_fields.len() - 1
            });
            let key = key_names.iter().position(|k| *k == rc.name);
            if let Some(k) = key {
                let mut ks = (*field_schema).clone();
                ks.optional = false;
                ks.default = None;
                key_slots[k] = Some((k, Field::new(rc.name.clone(), ks)));
            }
            columns.push(CapturedColumn {
                name: rc.name.clone(),
                ty,
                field_schema,
                field,
                key,
            });
        }
        for (_, f) in key_slots.into_iter().flatten() {
            key_fields.push(f);
        }
        let key_count = key_fields.len();
        let field_count = value_fields.len();
        let schema = TableSchema::new(
            &topic,
            &format!("{}.{}", r.namespace, r.name),
            (key_count > 0).then_some(key_fields),
            value_fields,
            &self.source_schema,
        );
        CapturedTable {
            schema_name: r.namespace.clone(),
            table_name: r.name.clone(),
            schema: Arc::new(schema),
            columns,
            field_count,
            key_count,
            emit: true,
            signal: false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn change(
        &mut self,
        op: Op,
        relation_id: u32,
        old: Option<&TupleData>,
        old_key_only: bool,
        new: Option<&TupleData>,
        lsn: u64,
        out: &mut Vec<Record>,
    ) -> Result<Emitted, EventError> {
        let table = match self.tables.get(&relation_id) {
            Some(Some(t)) => t.clone(),
            Some(None) => return Ok(Emitted::Nothing),
            None => {
                return Err(EventError::UnknownRelation {
                    relation_id,
                    lsn: super::replication::format_lsn(lsn),
                })
            }
        };
        if self.skipping(lsn) {
            return Ok(Emitted::Nothing);
        }
        let config = self.config.clone();
        let skipped = |o: Operation| config.skipped_operations.skips(o);
        let before = old
            .map(|t| row_image(&table, &self.modes, t, old_key_only, None, lsn))
            .transpose()?;
        let after = new
            .map(|t| {
                row_image(
                    &table,
                    &self.modes,
                    t,
                    false,
                    before.as_ref().map(|b| &b.0),
                    lsn,
                )
            })
            .transpose()?;
        if table.signal && op == Op::Create {
            if let Some((row, _)) = &after {
                if let Some(signal) = read_signal(&table, row) {
                    self.signals.push(signal);
                }
            }
        }
        if !table.emit {
            return Ok(self.after_change(lsn));
        }
        let before_key = before.as_ref().and_then(|b| b.1.clone());
        let after_key = after.as_ref().and_then(|a| a.1.clone());
        match op {
            Op::Create => {
                if !skipped(Operation::Create) {
                    let (row, key) = after.map_or((None, None), |(r, k)| (Some(r), k));
                    let event = self.event(Op::Create, &table, key, None, row, lsn);
                    self.emit(event, &table, false, out);
                }
            }
            Op::Update => {
                let key_changed =
                    before.is_some() && table.key_count > 0 && before_key != after_key;
                if key_changed {
                    // Debezium: a primary-key change is a delete of the old key (+ tombstone)
                    // and a create of the new one.
                    if !skipped(Operation::Delete) {
                        let event = self.event(
                            Op::Delete,
                            &table,
                            before_key,
                            before.map(|b| b.0),
                            None,
                            lsn,
                        );
                        self.emit(event, &table, self.config.tombstones_on_delete, out);
                    }
                    if !skipped(Operation::Create) {
                        let event = self.event(
                            Op::Create,
                            &table,
                            after_key,
                            None,
                            after.map(|a| a.0),
                            lsn,
                        );
                        self.emit(event, &table, false, out);
                    }
                } else if !skipped(Operation::Update) {
                    // Before images exist only with REPLICA IDENTITY FULL (or a key change).
                    let before_row = if old_key_only {
                        None
                    } else {
                        before.map(|b| b.0)
                    };
                    let event = self.event(
                        Op::Update,
                        &table,
                        after_key,
                        before_row,
                        after.map(|a| a.0),
                        lsn,
                    );
                    self.emit(event, &table, false, out);
                }
            }
            Op::Delete => {
                if !skipped(Operation::Delete) {
                    let event = self.event(
                        Op::Delete,
                        &table,
                        before_key,
                        before.map(|b| b.0),
                        None,
                        lsn,
                    );
                    self.emit(event, &table, self.config.tombstones_on_delete, out);
                }
            }
            Op::Read | Op::Truncate | Op::Message => {}
        }
        Ok(self.after_change(lsn))
    }

    fn event(
        &mut self,
        op: Op,
        table: &Arc<CapturedTable>,
        key: Option<Value>,
        before: Option<Value>,
        after: Option<Value>,
        lsn: u64,
    ) -> ChangeEvent {
        let (xid, ts_us) = self
            .tx
            .as_ref()
            .map_or((None, 0), |tx| (Some(tx.xid), tx.commit_ts_us));
        let source = self.source_value(&table.schema_name, &table.table_name, xid, ts_us, lsn);
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
                out.push(topic.begin(&tx.id, tx.commit_ts_us / 1000));
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

    fn source_value(
        &self,
        schema: &str,
        table: &str,
        xid: Option<u32>,
        ts_us: i64,
        lsn: u64,
    ) -> Value {
        self.info.value(
            "false",
            self.last_commit_lsn,
            schema,
            table,
            xid,
            ts_us,
            lsn,
        )
    }

    fn message_record(&self, m: &pgoutput::LogicalMessage, lsn: u64) -> Record {
        let (xid, ts_us) = self.tx.as_ref().map_or((None, Clock::now().us()), |tx| {
            (Some(tx.xid), tx.commit_ts_us)
        });
        let source = self.source_value("", "", xid, ts_us, lsn);
        let clock = Clock::now();
        let table = &self.message_table;
        Record {
            topic: table.topic.clone(),
            key_schema: table.key_schema.clone(),
            key: Some(Value::Struct(vec![Value::String(m.prefix.clone())])),
            value_schema: Some(table.envelope_schema.clone()),
            value: Some(Value::Struct(vec![
                Value::String("m".into()),
                Value::Int64(clock.ms()),
                source,
                Value::Struct(vec![
                    Value::String(m.prefix.clone()),
                    Value::Bytes(m.content.to_vec()),
                ]),
            ])),
            headers: Vec::new(),
            timestamp_ms: Some(clock.ms()),
        }
    }
}

/// A row image as the value struct, and the key struct taken from it. Shared by the stream
/// and the snapshot readers, so both render every type the same way.
pub fn row_image(
    table: &CapturedTable,
    modes: &Modes,
    tuple: &TupleData,
    key_only: bool,
    previous: Option<&Value>,
    lsn: u64,
) -> Result<(Value, Option<Value>), EventError> {
    row_image_into(
        table,
        modes,
        tuple,
        key_only,
        previous,
        lsn,
        Vec::new(),
        Vec::new(),
    )
}

/// [`row_image`] into the vectors of a previous image (a refilled snapshot record), which
/// saves their allocations.
#[allow(clippy::too_many_arguments)]
fn row_image_into(
    table: &CapturedTable,
    modes: &Modes,
    tuple: &TupleData,
    key_only: bool,
    previous: Option<&Value>,
    lsn: u64,
    mut values: Vec<Value>,
    mut key: Vec<Value>,
) -> Result<(Value, Option<Value>), EventError> {
    values.clear();
    values.resize(table.field_count, Value::Null);
    key.clear();
    key.resize(table.key_count, Value::Null);
    for (i, column) in table.columns.iter().enumerate() {
        if column.field.is_none() && column.key.is_none() {
            continue;
        }
        let raw = tuple.0.get(i).unwrap_or(&ColumnValue::Null);
        let v = match raw {
            ColumnValue::Null
                if key_only && column.key.is_none() && !column.field_schema.optional =>
            {
                mapping::absent_required_value(&column.field_schema)
            }
            ColumnValue::Null => Value::Null,
            ColumnValue::UnchangedToast => match (previous, column.field) {
                // With REPLICA IDENTITY FULL the old image carries the real value.
                (Some(Value::Struct(prev)), Some(f))
                    if !matches!(prev.get(f), None | Some(Value::Null)) =>
                {
                    prev[f].clone()
                }
                _ => mapping::unavailable_value(&column.field_schema, modes),
            },
            ColumnValue::Text(bytes) => {
                let decoded = decode_text(&column.ty.pg, bytes).map_err(|source| {
                    EventError::Value(
                        Box::new(ColumnContext {
                            column: format!(
                                "{}.{}.{}",
                                table.schema_name, table.table_name, column.name
                            ),
                            type_name: column.ty.type_name.clone(),
                            lsn: super::replication::format_lsn(lsn),
                        }),
                        source,
                    )
                })?;
                mapping::value(&column.ty, modes, decoded)
            }
            ColumnValue::Binary(_) => {
                return Err(EventError::BinaryValue {
                    table: format!("{}.{}", table.schema_name, table.table_name),
                    column: column.name.clone(),
                    lsn: super::replication::format_lsn(lsn),
                })
            }
        };
        if let Some(k) = column.key {
            key[k] = v.clone();
        }
        if let Some(f) = column.field {
            values[f] = v;
        }
    }
    let key = (table.key_count > 0).then_some(Value::Struct(key));
    Ok((Value::Struct(values), key))
}

/// A Debezium signal row (`id`, `type`, `data` columns of the signalling table).
fn read_signal(table: &CapturedTable, row: &Value) -> Option<super::incremental::Signal> {
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
    Some(super::incremental::Signal {
        id: text("id")?,
        kind: text("type")?,
        data: text("data"),
    })
}

/// The connector-wide part of the `source` block.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub version: String,
    pub prefix: String,
    pub db: String,
}

impl SourceInfo {
    /// `io.debezium.connector.postgresql.Source` for one event.
    #[allow(clippy::too_many_arguments)]
    pub fn value(
        &self,
        snapshot: &str,
        last_commit_lsn: Option<u64>,
        schema: &str,
        table: &str,
        xid: Option<u32>,
        ts_us: i64,
        lsn: u64,
    ) -> Value {
        // `["<last commit lsn>","<lsn>"]` (or `[null,"<lsn>"]`), built in one allocation: this
        // runs once per event.
        let mut sequence = String::with_capacity(48);
        let mut digits = itoa::Buffer::new();
        match last_commit_lsn {
            Some(l) => {
                sequence.push_str("[\"");
                sequence.push_str(digits.format(l));
                sequence.push_str("\",\"");
            }
            None => sequence.push_str("[null,\""),
        }
        sequence.push_str(digits.format(lsn));
        sequence.push_str("\"]");
        Value::Struct(vec![
            Value::String(self.version.clone()),
            Value::String("postgresql".into()),
            Value::String(self.prefix.clone()),
            Value::Int64(ts_us / 1000),
            Value::String(snapshot.into()),
            Value::String(self.db.clone()),
            Value::String(sequence),
            Value::Int64(ts_us),
            Value::Int64(ts_us.saturating_mul(1000)),
            Value::String(schema.to_string()),
            Value::String(table.to_string()),
            xid.map_or(Value::Null, |x| Value::Int64(i64::from(x))),
            Value::Int64(lsn as i64),
            Value::Null,
            Value::Null,
            Value::Null,
        ])
    }
}

/// Index of `snapshot` in the source struct, for patching markers into snapshot records.
const SOURCE_SNAPSHOT_FIELD: usize = 4;

/// Turns rows read by snapshot readers into `op: "r"` records. Cheap to clone into each
/// reader task.
#[derive(Debug, Clone)]
pub struct SnapshotMapper {
    pub info: SourceInfo,
    pub modes: Modes,
    /// The consistent point: streaming starts here.
    pub lsn: u64,
    pub xid: Option<u32>,
    pub ts_us: i64,
}

impl SnapshotMapper {
    /// A read event for one row (marker `true`; see [`set_snapshot_marker`]).
    pub fn record(&self, table: &CapturedTable, tuple: &TupleData) -> Result<Record, EventError> {
        let (after, key) = row_image(table, &self.modes, tuple, false, None, self.lsn)?;
        let source = self.info.value(
            "true",
            None,
            &table.schema_name,
            &table.table_name,
            self.xid,
            self.ts_us,
            self.lsn,
        );
        Ok(ChangeEvent {
            op: Op::Read,
            table: table.schema.clone(),
            key,
            before: None,
            after: Some(after),
            source,
            transaction: None,
            clock: Clock::now(),
        }
        .into_record())
    }

    /// Turn `record`, made by [`SnapshotMapper::record`] for a row of the same table, into
    /// the record of another row: the same record as [`SnapshotMapper::record`] would make,
    /// but the source block (about ten Strings) is kept instead of rebuilt per row.
    pub fn refill(
        &self,
        table: &CapturedTable,
        tuple: &TupleData,
        record: &mut Record,
    ) -> Result<(), EventError> {
        let (values, key) = ChangeEvent::take_refill_images(record);
        let (after, key) = row_image_into(
            table,
            &self.modes,
            tuple,
            false,
            None,
            self.lsn,
            values,
            key,
        )?;
        ChangeEvent::refill_record(record, key, after, Clock::now());
        Ok(())
    }
}

/// Set `source.snapshot` of a snapshot record.
pub fn set_snapshot_marker(record: &mut Record, marker: &str) {
    if let Some(Value::Struct(envelope)) = record.value.as_mut() {
        if let Some(Value::Struct(source)) = envelope.get_mut(2) {
            match source.get_mut(SOURCE_SNAPSHOT_FIELD) {
                // Most rows keep the marker they were mapped with: no new String per row.
                Some(Value::String(current)) if current == marker => {}
                Some(slot) => *slot = Value::String(marker.to_string()),
                None => {}
            }
        }
    }
}

/// `io.debezium.connector.postgresql.Source`.
fn source_schema() -> Schema {
    let s = || Schema::new(SchemaType::String);
    let i64o = || Schema::new(SchemaType::Int64).optional(true);
    Schema::structure(vec![
        Field::new("version", s()),
        Field::new("connector", s()),
        Field::new("name", s()),
        Field::new("ts_ms", Schema::new(SchemaType::Int64)),
        Field::new(
            "snapshot",
            s().optional(true)
                .named("io.debezium.data.Enum")
                .version(1)
                .param("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental")
                .with_default(Value::String("false".into())),
        ),
        Field::new("db", s()),
        Field::new("sequence", s().optional(true)),
        Field::new("ts_us", i64o()),
        Field::new("ts_ns", i64o()),
        Field::new("schema", s()),
        Field::new("table", s()),
        Field::new("txId", i64o()),
        Field::new("lsn", i64o()),
        Field::new("xmin", i64o()),
        Field::new("origin", s().optional(true)),
        Field::new("origin_lsn", i64o()),
    ])
    .named("io.debezium.connector.postgresql.Source")
    .version(1)
}

/// Debezium's logical-decoding message records on `<prefix>.message`.
fn message_table(prefix: &str, source_schema: &Arc<Schema>) -> TableSchema {
    let topic = format!("{prefix}.message");
    let key = vec![Field::new(
        "prefix",
        Schema::new(SchemaType::String).optional(true),
    )];
    let mut t = TableSchema::new(&topic, "message", Some(key), Vec::new(), source_schema);
    let envelope = Schema::structure(vec![
        Field::new("op", Schema::new(SchemaType::String)),
        Field::new("ts_ms", Schema::new(SchemaType::Int64).optional(true)),
        Field {
            name: "source".into(),
            schema: source_schema.clone(),
        },
        Field::new(
            "message",
            Schema::structure(vec![
                Field::new("prefix", Schema::new(SchemaType::String).optional(true)),
                Field::new("content", Schema::new(SchemaType::Bytes).optional(true)),
            ])
            .named("io.debezium.connector.postgresql.Message")
            .optional(true),
        ),
    ])
    .named("io.debezium.connector.postgresql.MessageValue");
    t.key_schema = Some(Arc::new(
        Schema::structure(vec![Field::new(
            "prefix",
            Schema::new(SchemaType::String).optional(true),
        )])
        .named("io.debezium.connector.postgresql.MessageKey"),
    ));
    t.envelope_schema = Arc::new(envelope);
    t
}
