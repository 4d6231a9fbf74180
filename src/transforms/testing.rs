//! Test helpers: Debezium-shaped change events built with the real envelope code, chains from
//! property lists, and the JSON the JsonConverter writes for a record (to compare with the
//! examples in Kafka's and Debezium's documentation).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use super::TransformChain;
use crate::connect::{Field, Record, Schema, SchemaType, Value};
use crate::converter::json::JsonConverter;
use crate::converter::Converter;
use crate::envelope::{ChangeEvent, Clock, Op, TableSchema, TxBlock};

pub(crate) fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(crate) fn chain(pairs: &[(&str, &str)]) -> TransformChain {
    match TransformChain::from_props(&props(pairs)) {
        Ok(c) => c,
        Err(e) => panic!("invalid transform config: {e}"),
    }
}

/// Applies `chain`, expecting success.
pub(crate) fn run(chain: &mut TransformChain, r: Record) -> Option<Record> {
    match chain.apply(r) {
        Ok(out) => out,
        Err(e) => panic!("transform failed: {e}"),
    }
}

/// `{"schema":..., "payload":...}` as the JsonConverter (schemas.enable=true) writes it.
pub(crate) fn json(schema: Option<&Arc<Schema>>, value: Option<&Value>) -> Json {
    let mut c = JsonConverter::new(true);
    let mut out = Vec::new();
    match c.convert("t", schema, value, &mut out) {
        Ok(true) => serde_json::from_slice(&out).unwrap_or(Json::Null),
        Ok(false) => Json::Null,
        Err(e) => panic!("converter failed: {e}"),
    }
}

/// The payload part of [`json`].
pub(crate) fn payload(schema: Option<&Arc<Schema>>, value: Option<&Value>) -> Json {
    json(schema, value)["payload"].clone()
}

pub(crate) fn value_json(r: &Record) -> Json {
    payload(r.value_schema.as_ref(), r.value.as_ref())
}

pub(crate) fn key_json(r: &Record) -> Json {
    payload(r.key_schema.as_ref(), r.key.as_ref())
}

pub(crate) fn header<'r>(r: &'r Record, name: &str) -> Option<&'r str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
}

pub(crate) fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// A Postgres-like `source` block schema (the fields ExtractNewRecordState tests read).
pub(crate) fn source_schema() -> Arc<Schema> {
    let st = || Schema::new(SchemaType::String);
    let i64o = || Schema::new(SchemaType::Int64).optional(true);
    Arc::new(
        Schema::structure(vec![
            Field::new("version", st()),
            Field::new("connector", st()),
            Field::new("name", st()),
            Field::new("ts_ms", Schema::new(SchemaType::Int64)),
            Field::new("snapshot", st().optional(true)),
            Field::new("db", st()),
            Field::new("schema", st()),
            Field::new("table", st()),
            Field::new("txId", i64o()),
            Field::new("lsn", i64o()),
        ])
        .named("io.debezium.connector.postgresql.Source"),
    )
}

pub(crate) fn source_value(table: &str, ts_ms: i64, lsn: i64) -> Value {
    Value::Struct(vec![
        s("3.0.0.Final"),
        s("postgresql"),
        s("dbserver1"),
        Value::Int64(ts_ms),
        s("false"),
        s("postgres"),
        s("inventory"),
        s(table),
        Value::Int64(555),
        Value::Int64(lsn),
    ])
}

/// `dbserver1.inventory.customers`: id int32 (key), first_name, last_name, email.
pub(crate) fn customers() -> Arc<TableSchema> {
    let st = || Schema::new(SchemaType::String);
    Arc::new(TableSchema::new(
        "dbserver1.inventory.customers",
        "inventory.customers",
        Some(vec![Field::new("id", Schema::new(SchemaType::Int32))]),
        vec![
            Field::new("id", Schema::new(SchemaType::Int32)),
            Field::new("first_name", st()),
            Field::new("last_name", st()),
            Field::new("email", st().optional(true)),
        ],
        &source_schema(),
    ))
}

pub(crate) fn customer(id: i32, first: &str, last: &str, email: &str) -> Value {
    Value::Struct(vec![Value::Int32(id), s(first), s(last), s(email)])
}

/// A change event of `table` as the connector hands it to the transforms.
pub(crate) fn event(
    table: &Arc<TableSchema>,
    op: Op,
    key: Value,
    before: Option<Value>,
    after: Option<Value>,
) -> Record {
    ChangeEvent {
        op,
        table: table.clone(),
        key: Some(key),
        before,
        after,
        source: source_value("customers", 1_700_000_000_000, 33_000_000),
        transaction: Some(TxBlock {
            id: "555:33000000".into(),
            total_order: 1,
            data_collection_order: 1,
        }),
        clock: Clock {
            ns: 1_700_000_000_500_000_000,
        },
    }
    .into_record()
}

pub(crate) fn tombstone(table: &Arc<TableSchema>, key: Value) -> Record {
    ChangeEvent::tombstone(table, Some(key))
}
