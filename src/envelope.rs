//! The Debezium change-event envelope, shared by every log-based connector.
//!
//! ```text
//! key   = <topic>.Key   { primary-key columns }                      (none without a key)
//! value = <topic>.Envelope v2 { before: <topic>.Value?, after: <topic>.Value?, source,
//!                              transaction: event.block?, op, ts_ms?, ts_us?, ts_ns? }
//! ```
//! A connector supplies the per-table `Value`/`Key` schemas and its own `source` block; this
//! module assembles the rest exactly as Debezium 3.x does, including the transaction topic's
//! BEGIN/END records (`provide.transaction.metadata`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::connect::{Field, Record, Schema, SchemaType, Value};

/// Debezium's `op` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
    Truncate,
    Message,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
            Op::Message => "m",
        }
    }

    /// The letter `skipped.operations` uses for this op (`None`: never skipped).
    pub fn skip_code(self) -> Option<char> {
        match self {
            Op::Create => Some('c'),
            Op::Update => Some('u'),
            Op::Delete => Some('d'),
            Op::Truncate => Some('t'),
            Op::Read | Op::Message => None,
        }
    }
}

/// The schemas of one captured table, built once per table shape and shared by its events.
#[derive(Debug)]
pub struct TableSchema {
    pub topic: Arc<str>,
    /// `schema.table` (Postgres) or `db.table` (MySQL): the `data_collection` name.
    pub data_collection: Arc<str>,
    pub key_schema: Option<Arc<Schema>>,
    pub value_schema: Arc<Schema>,
    pub envelope_schema: Arc<Schema>,
}

impl TableSchema {
    pub fn new(
        topic: &str,
        data_collection: &str,
        key_fields: Option<Vec<Field>>,
        value_fields: Vec<Field>,
        source_schema: &Arc<Schema>,
    ) -> TableSchema {
        let key_schema = key_fields
            .filter(|f| !f.is_empty())
            .map(|fields| Arc::new(Schema::structure(fields).named(format!("{topic}.Key"))));
        let value_schema = Arc::new(
            Schema::structure(value_fields)
                .named(format!("{topic}.Value"))
                .optional(true),
        );
        let envelope_schema = Arc::new(envelope_schema(topic, &value_schema, source_schema));
        TableSchema {
            topic: topic.into(),
            data_collection: data_collection.into(),
            key_schema,
            value_schema,
            envelope_schema,
        }
    }
}

/// `<topic>.Envelope`, version 2.
pub fn envelope_schema(
    topic: &str,
    value_schema: &Arc<Schema>,
    source_schema: &Arc<Schema>,
) -> Schema {
    let optional_i64 = || Schema::new(SchemaType::Int64).optional(true);
    Schema::structure(vec![
        Field {
            name: "before".into(),
            schema: value_schema.clone(),
        },
        Field {
            name: "after".into(),
            schema: value_schema.clone(),
        },
        Field {
            name: "source".into(),
            schema: source_schema.clone(),
        },
        Field::new("transaction", transaction_block_schema()),
        Field::new("op", Schema::new(SchemaType::String)),
        Field::new("ts_ms", optional_i64()),
        Field::new("ts_us", optional_i64()),
        Field::new("ts_ns", optional_i64()),
    ])
    .named(format!("{topic}.Envelope"))
    .version(2)
}

/// The `transaction` block of an event (`event.block`).
pub fn transaction_block_schema() -> Schema {
    Schema::structure(vec![
        Field::new("id", Schema::new(SchemaType::String)),
        Field::new("total_order", Schema::new(SchemaType::Int64)),
        Field::new("data_collection_order", Schema::new(SchemaType::Int64)),
    ])
    .optional(true)
    .named("event.block")
    .version(1)
}

/// Where an event stands in its transaction (`provide.transaction.metadata`).
#[derive(Debug, Clone)]
pub struct TxBlock {
    pub id: Arc<str>,
    pub total_order: i64,
    pub data_collection_order: i64,
}

/// The connector clock, for the envelope's top-level `ts_*` fields.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub ns: i64,
}

impl Clock {
    pub fn now() -> Clock {
        let ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Clock { ns }
    }

    pub fn ms(self) -> i64 {
        self.ns / 1_000_000
    }

    pub fn us(self) -> i64 {
        self.ns / 1_000
    }
}

/// Positions in the envelope struct built by [`ChangeEvent::into_record`].
const ENVELOPE_AFTER: usize = 1;
const ENVELOPE_TS_MS: usize = 5;
const ENVELOPE_TS_US: usize = 6;
const ENVELOPE_TS_NS: usize = 7;

/// Envelope fields that [`ChangeEvent::refill_record`] leaves as they are (`before`, `source`,
/// `transaction`, `op`): a converter may reuse their rendering
/// ([`crate::converter::Converter::convert_refilled`]).
pub const ENVELOPE_KEPT_ON_REFILL: [usize; 4] = [0, 2, 3, 4];

/// One change event, before conversion: everything a record needs.
#[derive(Debug)]
pub struct ChangeEvent {
    pub op: Op,
    pub table: Arc<TableSchema>,
    pub key: Option<Value>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub source: Value,
    pub transaction: Option<TxBlock>,
    pub clock: Clock,
}

impl ChangeEvent {
    /// The envelope record for this event.
    pub fn into_record(self) -> Record {
        let transaction = match self.transaction {
            Some(tx) => Value::Struct(vec![
                Value::String(tx.id.to_string()),
                Value::Int64(tx.total_order),
                Value::Int64(tx.data_collection_order),
            ]),
            None => Value::Null,
        };
        let value = Value::Struct(vec![
            self.before.unwrap_or(Value::Null),
            self.after.unwrap_or(Value::Null),
            self.source,
            transaction,
            Value::String(self.op.code().to_string()),
            Value::Int64(self.clock.ms()),
            Value::Int64(self.clock.us()),
            Value::Int64(self.clock.ns),
        ]);
        Record {
            topic: self.table.topic.clone(),
            key_schema: self.table.key_schema.clone(),
            key: self.key,
            value_schema: Some(self.table.envelope_schema.clone()),
            value: Some(value),
            headers: Vec::new(),
            timestamp_ms: Some(self.clock.ms()),
        }
    }

    /// Give a record made by [`ChangeEvent::into_record`] the key, `after` image and clock of
    /// another event of the same table and op, keeping the rest (source block, schemas): the
    /// same record as building it anew, without rebuilding the unchanged fields. Snapshot
    /// readers refill one record per table instead of allocating a source block per row.
    pub fn refill_record(record: &mut Record, key: Option<Value>, after: Value, clock: Clock) {
        record.key = key;
        record.timestamp_ms = Some(clock.ms());
        if let Some(Value::Struct(fields)) = record.value.as_mut() {
            for (i, v) in [
                (ENVELOPE_AFTER, after),
                (ENVELOPE_TS_MS, Value::Int64(clock.ms())),
                (ENVELOPE_TS_US, Value::Int64(clock.us())),
                (ENVELOPE_TS_NS, Value::Int64(clock.ns)),
            ] {
                if let Some(slot) = fields.get_mut(i) {
                    *slot = v;
                }
            }
        }
    }

    /// The vectors of a record's `after` image and key struct, emptied, for the next
    /// [`ChangeEvent::refill_record`] of the record to build its images in (empty vectors
    /// when the record has no such structs).
    pub fn take_refill_images(record: &mut Record) -> (Vec<Value>, Vec<Value>) {
        let after = match record.value.as_mut() {
            Some(Value::Struct(fields)) => match fields.get_mut(ENVELOPE_AFTER) {
                Some(Value::Struct(after)) => std::mem::take(after),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let key = match record.key.as_mut() {
            Some(Value::Struct(key)) => std::mem::take(key),
            _ => Vec::new(),
        };
        (after, key)
    }

    /// The tombstone that follows a delete (`tombstones.on.delete`).
    pub fn tombstone(table: &TableSchema, key: Option<Value>) -> Record {
        Record {
            topic: table.topic.clone(),
            key_schema: table.key_schema.clone(),
            key,
            value_schema: None,
            value: None,
            headers: Vec::new(),
            timestamp_ms: None,
        }
    }
}

/// Schemas of the `<prefix>.transaction` topic's records.
#[derive(Debug)]
pub struct TransactionTopic {
    pub topic: Arc<str>,
    key_schema: Arc<Schema>,
    value_schema: Arc<Schema>,
}

impl TransactionTopic {
    pub fn new(topic: &str) -> TransactionTopic {
        let key_schema = Schema::structure(vec![Field::new("id", Schema::new(SchemaType::String))])
            .named("io.debezium.connector.common.TransactionMetadataKey");
        let collection = Schema::structure(vec![
            Field::new("data_collection", Schema::new(SchemaType::String)),
            Field::new("event_count", Schema::new(SchemaType::Int64)),
        ])
        .named("io.debezium.connector.common.TransactionMetadataCollection");
        let value_schema = Schema::structure(vec![
            Field::new("status", Schema::new(SchemaType::String)),
            Field::new("id", Schema::new(SchemaType::String)),
            Field::new("event_count", Schema::new(SchemaType::Int64).optional(true)),
            Field::new("data_collections", Schema::array(collection).optional(true)),
            Field::new("ts_ms", Schema::new(SchemaType::Int64)),
        ])
        .named("io.debezium.connector.common.TransactionMetadataValue");
        TransactionTopic {
            topic: topic.into(),
            key_schema: Arc::new(key_schema),
            value_schema: Arc::new(value_schema),
        }
    }

    /// A BEGIN record.
    pub fn begin(&self, id: &str, ts_ms: i64) -> Record {
        self.record(id, "BEGIN", Value::Null, Value::Null, ts_ms)
    }

    /// An END record with the per-collection event counts, in first-seen order.
    pub fn end(&self, id: &str, ts_ms: i64, counts: &[(Arc<str>, i64)]) -> Record {
        let total: i64 = counts.iter().map(|(_, n)| n).sum();
        let collections = counts
            .iter()
            .map(|(c, n)| Value::Struct(vec![Value::String(c.to_string()), Value::Int64(*n)]))
            .collect();
        self.record(
            id,
            "END",
            Value::Int64(total),
            Value::Array(collections),
            ts_ms,
        )
    }

    fn record(
        &self,
        id: &str,
        status: &str,
        count: Value,
        collections: Value,
        ts_ms: i64,
    ) -> Record {
        Record {
            topic: self.topic.clone(),
            key_schema: Some(self.key_schema.clone()),
            key: Some(Value::Struct(vec![Value::String(id.to_string())])),
            value_schema: Some(self.value_schema.clone()),
            value: Some(Value::Struct(vec![
                Value::String(status.to_string()),
                Value::String(id.to_string()),
                count,
                collections,
                Value::Int64(ts_ms),
            ])),
            headers: Vec::new(),
            timestamp_ms: Some(ts_ms),
        }
    }
}

/// Debezium's heartbeat records (`heartbeat.interval.ms`) on `<topic.heartbeat.prefix>.<prefix>`:
/// key `{serverName}`, value `{ts_ms}`. They carry the source position forward while the
/// captured tables are quiet.
#[derive(Debug)]
pub struct HeartbeatTopic {
    pub topic: Arc<str>,
    server_name: String,
    key_schema: Arc<Schema>,
    value_schema: Arc<Schema>,
}

impl HeartbeatTopic {
    pub fn new(topic: &str, server_name: &str) -> HeartbeatTopic {
        HeartbeatTopic {
            topic: topic.into(),
            server_name: server_name.to_string(),
            key_schema: Arc::new(
                Schema::structure(vec![Field::new(
                    "serverName",
                    Schema::new(SchemaType::String),
                )])
                .named("io.debezium.connector.common.ServerNameKey"),
            ),
            value_schema: Arc::new(
                Schema::structure(vec![Field::new("ts_ms", Schema::new(SchemaType::Int64))])
                    .named("io.debezium.connector.common.Heartbeat"),
            ),
        }
    }

    pub fn record(&self, clock: Clock) -> Record {
        Record {
            topic: self.topic.clone(),
            key_schema: Some(self.key_schema.clone()),
            key: Some(Value::Struct(vec![Value::String(self.server_name.clone())])),
            value_schema: Some(self.value_schema.clone()),
            value: Some(Value::Struct(vec![Value::Int64(clock.ms())])),
            headers: Vec::new(),
            timestamp_ms: Some(clock.ms()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_event(table: &Arc<TableSchema>, id: i32, name: &str, clock: Clock) -> ChangeEvent {
        ChangeEvent {
            op: Op::Read,
            table: table.clone(),
            key: Some(Value::Struct(vec![Value::Int32(id)])),
            before: None,
            after: Some(Value::Struct(vec![
                Value::Int32(id),
                Value::String(name.into()),
            ])),
            source: Value::Struct(vec![Value::String("true".into())]),
            transaction: None,
            clock,
        }
    }

    #[test]
    fn a_refilled_record_equals_a_new_one() {
        let source = Arc::new(Schema::structure(vec![Field::new(
            "snapshot",
            Schema::new(SchemaType::String),
        )]));
        let table = Arc::new(TableSchema::new(
            "p.public.t",
            "public.t",
            Some(vec![Field::new("id", Schema::new(SchemaType::Int32))]),
            vec![
                Field::new("id", Schema::new(SchemaType::Int32)),
                Field::new("name", Schema::new(SchemaType::String)),
            ],
            &source,
        ));
        let mut reused = read_event(&table, 1, "a", Clock { ns: 1_000_000_123 }).into_record();
        let second = read_event(&table, 2, "b", Clock { ns: 2_000_456_789 });
        ChangeEvent::refill_record(
            &mut reused,
            second.key.clone(),
            second.after.clone().unwrap_or(Value::Null),
            second.clock,
        );
        let fresh = second.into_record();
        assert_eq!(reused.key, fresh.key);
        assert_eq!(reused.value, fresh.value);
        assert_eq!(reused.timestamp_ms, fresh.timestamp_ms);
        assert_eq!(reused.topic, fresh.topic);
    }
}
