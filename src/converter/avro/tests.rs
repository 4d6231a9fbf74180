//! The Avro converter against published Confluent/Debezium Avro schemas, against `apache-avro`
//! as the reference decoder, and against the Schema Registry double over real HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value as Json};
use sluice_testcontainers::{
    Compatibility, InjectedFailure, SchemaRegistry, SchemaRegistryOptions,
};

use super::schema::{from_connect, scrub_name, AvroDataOptions};
use super::*;
use crate::connect::{Field, Schema, SchemaType, Value};
use crate::converter::json::JsonConverter;
use crate::converter::{ConvertErrorClass, Converter};
use crate::envelope::TableSchema;

fn avro(schema: &Schema) -> String {
    match from_connect(schema, &AvroDataOptions::default()) {
        Ok(a) => a.json,
        Err(e) => panic!("no Avro schema: {e}"),
    }
}

fn s(ty: SchemaType) -> Schema {
    Schema::new(ty)
}

/// Debezium 2.x's `io.debezium.connector.postgresql.Source` (no version, no origin fields), as
/// in the published schema below.
fn source_schema_v2() -> Schema {
    let i64o = || s(SchemaType::Int64).optional(true);
    Schema::structure(vec![
        Field::new("version", s(SchemaType::String)),
        Field::new("connector", s(SchemaType::String)),
        Field::new("name", s(SchemaType::String)),
        Field::new("ts_ms", s(SchemaType::Int64)),
        Field::new(
            "snapshot",
            s(SchemaType::String)
                .optional(true)
                .named("io.debezium.data.Enum")
                .version(1)
                .param("allowed", "true,last,false,incremental")
                .with_default(Value::String("false".into())),
        ),
        Field::new("db", s(SchemaType::String)),
        Field::new("sequence", s(SchemaType::String).optional(true)),
        Field::new("ts_us", i64o()),
        Field::new("ts_ns", i64o()),
        Field::new("schema", s(SchemaType::String)),
        Field::new("table", s(SchemaType::String)),
        Field::new("txId", i64o()),
        Field::new("lsn", i64o()),
        Field::new("xmin", i64o()),
    ])
    .named("io.debezium.connector.postgresql.Source")
}

fn micro_timestamp() -> Schema {
    s(SchemaType::Int64)
        .named("io.debezium.time.MicroTimestamp")
        .version(1)
}

fn users_table() -> TableSchema {
    let source = Arc::new(source_schema_v2());
    TableSchema::new(
        "demo.public.users",
        "public.users",
        Some(vec![Field::new(
            "id",
            s(SchemaType::Int32).with_default(Value::Int32(0)),
        )]),
        vec![
            Field::new("id", s(SchemaType::Int32).with_default(Value::Int32(0))),
            Field::new("user_id", s(SchemaType::String)),
            Field::new("email", s(SchemaType::String).optional(true)),
            Field::new("country", s(SchemaType::String).optional(true)),
            Field::new(
                "created_at",
                micro_timestamp()
                    .optional(true)
                    .with_default(Value::Int64(0)),
            ),
            Field::new(
                "updated_at",
                micro_timestamp()
                    .optional(true)
                    .with_default(Value::Int64(0)),
            ),
        ],
        &source,
    )
}

/// The value schema Confluent's AvroConverter registered for a Debezium (2.x) Postgres table
/// `public.users` (`id serial`, `user_id text not null`, `email`/`country` text,
/// `created_at`/`updated_at timestamp default now()`), as published in a public project's
/// schema fixtures. Byte for byte what Avro Java printed.
const PUBLISHED_USERS_ENVELOPE: &str = r#"{"type":"record","name":"Envelope","namespace":"demo.public.users","fields":[{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":{"type":"int","connect.default":0},"default":0},{"name":"user_id","type":"string"},{"name":"email","type":["null","string"],"default":null},{"name":"country","type":["null","string"],"default":null},{"name":"created_at","type":[{"type":"long","connect.version":1,"connect.default":0,"connect.name":"io.debezium.time.MicroTimestamp"},"null"],"default":0},{"name":"updated_at","type":[{"type":"long","connect.version":1,"connect.default":0,"connect.name":"io.debezium.time.MicroTimestamp"},"null"],"default":0}],"connect.name":"demo.public.users.Value"}],"default":null},{"name":"after","type":["null","Value"],"default":null},{"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[{"name":"version","type":"string"},{"name":"connector","type":"string"},{"name":"name","type":"string"},{"name":"ts_ms","type":"long"},{"name":"snapshot","type":[{"type":"string","connect.version":1,"connect.parameters":{"allowed":"true,last,false,incremental"},"connect.default":"false","connect.name":"io.debezium.data.Enum"},"null"],"default":"false"},{"name":"db","type":"string"},{"name":"sequence","type":["null","string"],"default":null},{"name":"ts_us","type":["null","long"],"default":null},{"name":"ts_ns","type":["null","long"],"default":null},{"name":"schema","type":"string"},{"name":"table","type":"string"},{"name":"txId","type":["null","long"],"default":null},{"name":"lsn","type":["null","long"],"default":null},{"name":"xmin","type":["null","long"],"default":null}],"connect.name":"io.debezium.connector.postgresql.Source"}},{"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","fields":[{"name":"id","type":"string"},{"name":"total_order","type":"long"},{"name":"data_collection_order","type":"long"}],"connect.version":1,"connect.name":"event.block"}],"default":null},{"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"],"default":null},{"name":"ts_us","type":["null","long"],"default":null},{"name":"ts_ns","type":["null","long"],"default":null}],"connect.version":2,"connect.name":"demo.public.users.Envelope"}"#;

#[test]
fn debezium_envelope_matches_the_published_confluent_schema() {
    let table = users_table();
    assert_eq!(avro(&table.envelope_schema), PUBLISHED_USERS_ENVELOPE);
    let key = table.key_schema.as_deref().map(avro);
    assert_eq!(
        key.as_deref(),
        Some(
            r#"{"type":"record","name":"Key","namespace":"demo.public.users","fields":[{"name":"id","type":{"type":"int","connect.default":0},"default":0}],"connect.name":"demo.public.users.Key"}"#
        )
    );
    // The registry's own parser (apache-avro here) accepts it, `after` resolving to `Value`.
    let parsed = apache_avro::Schema::parse_str(&avro(&table.envelope_schema));
    assert!(parsed.is_ok(), "{parsed:?}");
}

#[test]
fn logical_types_as_avro_data_writes_them() {
    let decimal = |scale: &str| {
        s(SchemaType::Bytes)
            .named("org.apache.kafka.connect.data.Decimal")
            .version(1)
            .param("scale", scale)
    };
    let cases: Vec<(Schema, &str)> = vec![
        // numeric(10,2): Debezium adds the precision parameter.
        (
            decimal("2").param("connect.decimal.precision", "10"),
            r#"{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}"#,
        ),
        // money: no precision parameter, AvroData's default 64.
        (
            decimal("2"),
            r#"{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}"#,
        ),
        (
            s(SchemaType::Int32)
                .named("org.apache.kafka.connect.data.Date")
                .version(1),
            r#"{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}"#,
        ),
        (
            s(SchemaType::Int32)
                .named("org.apache.kafka.connect.data.Time")
                .version(1),
            r#"{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}"#,
        ),
        (
            s(SchemaType::Int64)
                .named("org.apache.kafka.connect.data.Timestamp")
                .version(1),
            r#"{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}"#,
        ),
        (
            micro_timestamp(),
            r#"{"type":"long","connect.version":1,"connect.name":"io.debezium.time.MicroTimestamp"}"#,
        ),
        (
            s(SchemaType::String)
                .named("io.debezium.time.ZonedTimestamp")
                .version(1),
            r#"{"type":"string","connect.version":1,"connect.name":"io.debezium.time.ZonedTimestamp"}"#,
        ),
        (
            s(SchemaType::Int16),
            r#"{"type":"int","connect.type":"int16"}"#,
        ),
        (
            s(SchemaType::Int8),
            r#"{"type":"int","connect.type":"int8"}"#,
        ),
        (
            s(SchemaType::Int16).optional(true),
            r#"["null",{"type":"int","connect.type":"int16"}]"#,
        ),
        (
            s(SchemaType::Bytes)
                .named("io.debezium.data.Bits")
                .version(1)
                .param("length", "8"),
            r#"{"type":"bytes","connect.version":1,"connect.parameters":{"length":"8"},"connect.name":"io.debezium.data.Bits"}"#,
        ),
        // A column comment (include.schema.comments) is connect.doc, not Avro's doc.
        (
            s(SchemaType::String).doc("the customer's name"),
            r#"{"type":"string","connect.doc":"the customer's name"}"#,
        ),
        (
            s(SchemaType::Float32).with_default(Value::Float32(1.1)),
            r#"{"type":"float","connect.default":1.1}"#,
        ),
    ];
    for (schema, expected) in cases {
        assert_eq!(avro(&schema), expected, "{schema:?}");
    }
}

#[test]
fn variable_scale_decimal_point_and_collections() {
    let vsd = Schema::structure(vec![
        Field::new("scale", s(SchemaType::Int32)),
        Field::new("value", s(SchemaType::Bytes)),
    ])
    .named("io.debezium.data.VariableScaleDecimal")
    .version(1)
    .doc("Variable scaled decimal");
    let value = Schema::structure(vec![
        Field::new("n1", vsd.clone().optional(true)),
        Field::new("n2", vsd),
        Field::new(
            "tags",
            Schema::array(s(SchemaType::String).optional(true)).optional(true),
        ),
        Field::new(
            "attrs",
            Schema::map(s(SchemaType::String), s(SchemaType::String).optional(true)).optional(true),
        ),
        Field::new(
            "counts",
            Schema::map(s(SchemaType::Int32), s(SchemaType::Int64)),
        ),
        Field::new(
            "flag",
            s(SchemaType::Boolean).with_default(Value::Boolean(true)),
        ),
    ])
    .named("srv.public.t.Value")
    .optional(true);
    assert_eq!(
        avro(&value),
        concat!(
            r#"["null",{"type":"record","name":"Value","namespace":"srv.public.t","fields":["#,
            // The first use defines the record (in its own namespace), the second refers to it
            // by full name from another namespace.
            r#"{"name":"n1","type":["null",{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data","fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}],"connect.doc":"Variable scaled decimal","connect.version":1,"connect.name":"io.debezium.data.VariableScaleDecimal"}],"default":null},"#,
            r#"{"name":"n2","type":"io.debezium.data.VariableScaleDecimal"},"#,
            r#"{"name":"tags","type":["null",{"type":"array","items":["null","string"]}],"default":null},"#,
            r#"{"name":"attrs","type":["null",{"type":"map","values":["null","string"]}],"default":null},"#,
            // Keys Avro maps cannot have: an array of key/value records.
            r#"{"name":"counts","type":{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"long"}]}}},"#,
            r#"{"name":"flag","type":{"type":"boolean","connect.default":true},"default":true}"#,
            r#"],"connect.name":"srv.public.t.Value"}]"#,
        )
    );
    assert!(apache_avro::Schema::parse_str(&avro(&value)).is_ok());
}

#[test]
fn metadata_off_names_and_errors() {
    let schema = Schema::structure(vec![
        Field::new("my-col", s(SchemaType::String).doc("d").optional(true)),
        Field::new("2nd", s(SchemaType::Int32)),
    ])
    .named("my-server.public.t.Value")
    .version(3);
    // Avro names cannot hold '-' or start with a digit: AvroData fails unless scrubbing.
    let err = from_connect(&schema, &AvroDataOptions::default()).err();
    assert!(err.is_some_and(|e| e.contains("`my-col` is not a valid Avro name")));
    let scrub = AvroDataOptions {
        scrub_invalid_names: true,
        ..AvroDataOptions::default()
    };
    assert_eq!(
        from_connect(&schema, &scrub).map(|a| a.json),
        Ok(r#"{"type":"record","name":"Value","namespace":"my_server.public.t","fields":[{"name":"my_col","type":["null",{"type":"string","connect.doc":"d"}],"default":null},{"name":"x2nd","type":"int"}],"connect.version":3,"connect.name":"my-server.public.t.Value"}"#.to_string())
    );
    let bare = AvroDataOptions {
        connect_meta_data: false,
        scrub_invalid_names: true,
        ..AvroDataOptions::default()
    };
    assert_eq!(
        from_connect(&schema, &bare).map(|a| a.json),
        Ok(r#"{"type":"record","name":"Value","namespace":"my_server.public.t","fields":[{"name":"my_col","type":["null","string"],"default":null},{"name":"x2nd","type":"int"}]}"#.to_string())
    );
    assert_eq!(scrub_name("a b"), "a_b");
    assert_eq!(scrub_name("é"), "_C3_A9");
    assert_eq!(scrub_name("ok_name"), "ok_name");
    // Unnamed structs get AvroData's default names.
    let unnamed = Schema::structure(vec![
        Field::new(
            "a",
            Schema::structure(vec![Field::new("x", s(SchemaType::Int32))]),
        ),
        Field::new(
            "b",
            Schema::structure(vec![Field::new("y", s(SchemaType::Int32))]),
        ),
    ]);
    assert_eq!(
        avro(&unnamed),
        r#"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"a","type":{"type":"record","name":"ConnectDefault2","fields":[{"name":"x","type":"int"}]}},{"name":"b","type":{"type":"record","name":"ConnectDefault3","fields":[{"name":"y","type":"int"}]}}]}"#
    );
    // Two different schemas under one name cannot both be defined in Avro.
    let clash = Schema::structure(vec![
        Field::new(
            "a",
            Schema::structure(vec![Field::new("x", s(SchemaType::Int32))]).named("n.S"),
        ),
        Field::new(
            "b",
            Schema::structure(vec![Field::new("y", s(SchemaType::Int32))]).named("n.S"),
        ),
    ])
    .named("n.T");
    assert!(from_connect(&clash, &AvroDataOptions::default())
        .err()
        .is_some_and(|e| e.contains("n.S")));
}

#[test]
fn wire_format_and_binary_encoding() {
    let mut out = Vec::new();
    for (v, bytes) in [
        (0i64, vec![0u8]),
        (-1, vec![1]),
        (1, vec![2]),
        (-64, vec![0x7f]),
        (64, vec![0x80, 0x01]),
        (
            i64::MAX,
            vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
        (
            i64::MIN,
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
    ] {
        out.clear();
        write_long(&mut out, v);
        assert_eq!(out, bytes, "{v}");
    }
}

// ---- against the Schema Registry double ----

fn props(registry: &SchemaRegistry, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    p.entry(SCHEMA_REGISTRY_URL.to_string())
        .or_insert_with(|| registry.url().to_string());
    p
}

fn converter(registry: &SchemaRegistry, is_key: bool, extra: &[(&str, &str)]) -> AvroConverter {
    match AvroConverter::from_props(is_key, &props(registry, extra)) {
        Ok(c) => c,
        Err(e) => panic!("converter config: {e:?}"),
    }
}

/// What the pipeline does: convert, and on `NeedsRegistration` register and convert again.
async fn convert(
    c: &mut AvroConverter,
    topic: &str,
    schema: &Arc<Schema>,
    value: &Value,
) -> Result<Vec<u8>, ConvertError> {
    let mut out = Vec::new();
    match c.convert(topic, Some(schema), Some(value), &mut out) {
        Err(ConvertError::NeedsRegistration { .. }) => {
            c.register(topic, Some(schema)).await?;
            c.convert(topic, Some(schema), Some(value), &mut out)?;
        }
        other => {
            other?;
        }
    }
    Ok(out)
}

/// `GET /schemas/ids/{id}` on the registry, over HTTP.
async fn fetch_schema(registry: &SchemaRegistry, id: u32) -> String {
    let url = format!("{}/schemas/ids/{id}", registry.url());
    let client = registry::tls_config()
        .ok()
        .and_then(|tls| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .build()
                .ok()
        })
        .expect("an HTTP client");
    let body: Json = match client.get(&url).send().await {
        Ok(r) => r.json().await.unwrap_or(Json::Null),
        Err(e) => panic!("GET {url}: {e}"),
    };
    body["schema"].as_str().unwrap_or_default().to_string()
}

/// Decode a Confluent-framed record with apache-avro and the schema the registry holds.
async fn decode(registry: &SchemaRegistry, bytes: &[u8]) -> apache_avro::types::Value {
    assert_eq!(bytes.first(), Some(&0), "magic byte");
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let text = fetch_schema(registry, id).await;
    let schema = apache_avro::Schema::parse_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mut rest = &bytes[5..];
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .and_then(|reader| reader.read_value(&mut rest))
        .unwrap_or_else(|e| panic!("decode: {e}"));
    assert!(rest.is_empty(), "{} bytes left after the datum", rest.len());
    value
}

/// An Avro value as the JSON converter (schemas.enable=false) would write the same data.
fn avro_to_json(v: &apache_avro::types::Value) -> Json {
    use apache_avro::types::Value as A;
    let b64 = |b: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(b));
    match v {
        A::Null => Json::Null,
        A::Boolean(b) => json!(b),
        A::Int(i) | A::Date(i) | A::TimeMillis(i) => json!(i),
        A::Long(l) | A::TimestampMillis(l) | A::TimeMicros(l) | A::TimestampMicros(l) => json!(l),
        // Java prints a float as its shortest decimal form.
        A::Float(f) => json!(format!("{f}").parse::<f64>().unwrap_or(f64::NAN)),
        A::Double(d) => json!(d),
        A::Bytes(b) | A::Fixed(_, b) => b64(b),
        A::Decimal(d) => b64(&Vec::<u8>::try_from(d).unwrap_or_default()),
        A::String(s) | A::Enum(_, s) => json!(s),
        A::Union(_, inner) => avro_to_json(inner),
        A::Array(items) => Json::Array(items.iter().map(avro_to_json).collect()),
        A::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), avro_to_json(v)))
                .collect(),
        ),
        A::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), avro_to_json(v)))
                .collect(),
        ),
        other => panic!("unexpected Avro value {other:?}"),
    }
}

fn json_payload(schema: &Arc<Schema>, value: &Value) -> Json {
    let mut out = Vec::new();
    let mut c = JsonConverter::new(false);
    assert!(matches!(
        c.convert("t", Some(schema), Some(value), &mut out),
        Ok(true)
    ));
    serde_json::from_slice(&out).unwrap_or(Json::Null)
}

/// A Debezium-like table with one column of each kind Debezium's Postgres connector maps.
fn rich_table() -> (Arc<Schema>, Arc<Schema>) {
    let vsd = Schema::structure(vec![
        Field::new("scale", s(SchemaType::Int32)),
        Field::new("value", s(SchemaType::Bytes)),
    ])
    .named("io.debezium.data.VariableScaleDecimal")
    .version(1)
    .doc("Variable scaled decimal");
    let value_fields = vec![
        Field::new("id", s(SchemaType::Int32)),
        Field::new("small", s(SchemaType::Int16).optional(true)),
        Field::new("big", s(SchemaType::Int64).optional(true)),
        Field::new("name", s(SchemaType::String)),
        Field::new("note", s(SchemaType::String).optional(true)),
        Field::new(
            "active",
            s(SchemaType::Boolean).with_default(Value::Boolean(true)),
        ),
        Field::new("ratio", s(SchemaType::Float32).optional(true)),
        Field::new("score", s(SchemaType::Float64).optional(true)),
        Field::new(
            "price",
            s(SchemaType::Bytes)
                .named("org.apache.kafka.connect.data.Decimal")
                .version(1)
                .param("scale", "2")
                .param("connect.decimal.precision", "10")
                .optional(true),
        ),
        Field::new("amount", vsd.optional(true)),
        Field::new(
            "born",
            s(SchemaType::Int32)
                .named("io.debezium.time.Date")
                .version(1)
                .optional(true),
        ),
        Field::new("seen", micro_timestamp().optional(true)),
        Field::new(
            "day",
            s(SchemaType::Int32)
                .named("org.apache.kafka.connect.data.Date")
                .version(1)
                .optional(true),
        ),
        Field::new(
            "at",
            s(SchemaType::Int64)
                .named("org.apache.kafka.connect.data.Timestamp")
                .version(1)
                .optional(true),
        ),
        Field::new("blob", s(SchemaType::Bytes).optional(true)),
        Field::new(
            "tags",
            Schema::array(s(SchemaType::String).optional(true)).optional(true),
        ),
        Field::new(
            "attrs",
            Schema::map(s(SchemaType::String), s(SchemaType::String).optional(true)).optional(true),
        ),
    ];
    let source = Arc::new(source_schema_v2());
    let table = TableSchema::new(
        "srv.public.rich",
        "public.rich",
        Some(vec![Field::new("id", s(SchemaType::Int32))]),
        value_fields,
        &source,
    );
    let key = table
        .key_schema
        .clone()
        .unwrap_or_else(|| Arc::new(s(SchemaType::Int32)));
    (key, table.envelope_schema.clone())
}

fn rich_row(id: i32) -> Value {
    Value::Struct(vec![
        Value::Int32(id),
        Value::Int16(-7),
        Value::Int64(i64::MIN + 1),
        Value::String("Zoë \"quoted\"".into()),
        Value::Null,
        Value::Boolean(false),
        Value::Float32(1.1),
        Value::Float64(-2.5e-10),
        Value::Bytes(vec![0x30, 0x39]), // 123.45
        Value::Struct(vec![Value::Int32(3), Value::Bytes(vec![0xff, 0x85])]),
        Value::Int32(-3650),
        Value::Int64(1_700_000_000_123_456),
        Value::Int32(19_000),
        Value::Int64(1_700_000_000_123),
        Value::Bytes(vec![0, 1, 2, 254, 255]),
        Value::Array(vec![
            Value::String("a".into()),
            Value::Null,
            Value::String("".into()),
        ]),
        Value::Map(vec![
            (Value::String("k1".into()), Value::String("v1".into())),
            (Value::String("k2".into()), Value::Null),
        ]),
    ])
}

fn envelope(before: Value, after: Value, op: &str) -> Value {
    Value::Struct(vec![
        before,
        after,
        Value::Struct(vec![
            Value::String("3.0.0.Final".into()),
            Value::String("postgresql".into()),
            Value::String("srv".into()),
            Value::Int64(1_700_000_000_000),
            Value::String("false".into()),
            Value::String("db".into()),
            Value::String("[null,\"24023128\"]".into()),
            Value::Int64(1_700_000_000_000_000),
            Value::Int64(1_700_000_000_000_000_000),
            Value::String("public".into()),
            Value::String("rich".into()),
            Value::Int64(555),
            Value::Int64(24_023_128),
            Value::Null,
        ]),
        Value::Struct(vec![
            Value::String("555:24023128".into()),
            Value::Int64(3),
            Value::Int64(1),
        ]),
        Value::String(op.into()),
        Value::Int64(1_700_000_000_142),
        Value::Null,
        Value::Null,
    ])
}

#[tokio::test]
async fn round_trip_through_the_registry_matches_the_json_converter() {
    let registry = SchemaRegistry::start().expect("registry double");
    let (key_schema, value_schema) = rich_table();
    let mut keys = converter(&registry, true, &[]);
    let mut values = converter(&registry, false, &[]);
    let topic = "srv.public.rich";
    for (i, value) in [
        envelope(Value::Null, rich_row(1), "c"),
        envelope(rich_row(1), rich_row(2), "u"),
        envelope(rich_row(2), Value::Null, "d"),
    ]
    .into_iter()
    .enumerate()
    {
        let key = Value::Struct(vec![Value::Int32(i as i32)]);
        let key_bytes = convert(&mut keys, topic, &key_schema, &key)
            .await
            .expect("key");
        let value_bytes = convert(&mut values, topic, &value_schema, &value)
            .await
            .expect("value");
        assert_eq!(
            avro_to_json(&decode(&registry, &key_bytes).await),
            json_payload(&key_schema, &key)
        );
        assert_eq!(
            avro_to_json(&decode(&registry, &value_bytes).await),
            json_payload(&value_schema, &value),
            "record {i}"
        );
    }
    assert_eq!(
        registry.subjects(),
        vec!["srv.public.rich-key", "srv.public.rich-value"]
    );
    // What the registry holds is exactly the generated schema.
    let ids = registry.versions("srv.public.rich-value");
    assert_eq!(ids.len(), 1);
    let held = fetch_schema(&registry, ids[0]).await;
    assert_eq!(
        Some(held),
        from_connect(&value_schema, &AvroDataOptions::default())
            .ok()
            .map(|a| a.json)
    );
}

#[tokio::test]
async fn nulls_defaults_and_non_string_map_keys() {
    let registry = SchemaRegistry::start().expect("registry double");
    let schema = Arc::new(
        Schema::structure(vec![
            Field::new("req", s(SchemaType::Int32).with_default(Value::Int32(5))),
            Field::new(
                "opt",
                s(SchemaType::String)
                    .optional(true)
                    .with_default(Value::String("dflt".into())),
            ),
            Field::new("plain", s(SchemaType::String).optional(true)),
            Field::new(
                "counts",
                Schema::map(s(SchemaType::Int32), s(SchemaType::Int64)),
            ),
            Field::new("nested", Schema::array(Schema::array(s(SchemaType::Int8)))),
        ])
        .named("n.Rec"),
    );
    let value = Value::Struct(vec![
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Map(vec![
            (Value::Int32(-1), Value::Int64(10)),
            (Value::Int32(2), Value::Int64(20)),
        ]),
        Value::Array(vec![
            Value::Array(vec![Value::Int8(-128), Value::Int8(127)]),
            Value::Array(vec![]),
        ]),
    ]);
    let mut c = converter(&registry, false, &[]);
    let bytes = convert(&mut c, "t", &schema, &value)
        .await
        .expect("convert");
    use apache_avro::types::Value as A;
    let entry = |k: i32, v: i64| {
        A::Record(vec![
            ("key".into(), A::Int(k)),
            ("value".into(), A::Long(v)),
        ])
    };
    assert_eq!(
        decode(&registry, &bytes).await,
        A::Record(vec![
            // Connect's Struct.get: null reads as the default, optional or not.
            ("req".into(), A::Int(5)),
            (
                "opt".into(),
                A::Union(0, Box::new(A::String("dflt".into())))
            ),
            ("plain".into(), A::Union(0, Box::new(A::Null))),
            ("counts".into(), A::Array(vec![entry(-1, 10), entry(2, 20)])),
            (
                "nested".into(),
                A::Array(vec![
                    A::Array(vec![A::Int(-128), A::Int(127)]),
                    A::Array(vec![])
                ])
            ),
        ])
    );
    // ignore.default.for.nullables=true keeps the null of an optional field.
    let mut c = converter(&registry, false, &[(IGNORE_DEFAULT_FOR_NULLABLES, "true")]);
    let bytes = convert(&mut c, "t", &schema, &value)
        .await
        .expect("convert");
    match decode(&registry, &bytes).await {
        A::Record(fields) => {
            assert_eq!(fields[0].1, A::Int(5));
            assert_eq!(fields[1].1, A::Union(1, Box::new(A::Null)));
        }
        other => panic!("{other:?}"),
    }
    // A null value (tombstone) is a null record; a value that does not fit fails.
    let mut out = vec![1];
    assert!(matches!(
        c.convert("t", Some(&schema), None, &mut out),
        Ok(false)
    ));
    assert!(out.is_empty());
    let bad = Value::Struct(vec![Value::String("x".into())]);
    assert!(matches!(
        c.convert("t", Some(&schema), Some(&bad), &mut out),
        Err(ConvertError::SchemaMismatch { .. })
    ));
}

fn column_table(extra: Option<Field>) -> Arc<Schema> {
    let mut fields = vec![
        Field::new("id", s(SchemaType::Int32)),
        Field::new("name", s(SchemaType::String).optional(true)),
    ];
    fields.extend(extra);
    let source = Arc::new(source_schema_v2());
    TableSchema::new("srv.public.evo", "public.evo", None, fields, &source).envelope_schema
}

fn evo_value(schema: &Schema, id: i32) -> Value {
    let Some(after) = schema.fields.get(1).map(|f| f.schema.fields.len()) else {
        return Value::Null;
    };
    let mut row = vec![Value::Int32(id), Value::String("n".into())];
    row.resize(after, Value::String("extra".into()));
    envelope(Value::Null, Value::Struct(row), "c")
}

#[tokio::test]
async fn schema_evolution_registers_versions_and_surfaces_incompatibility() {
    let registry = SchemaRegistry::start().expect("registry double");
    let mut c = converter(&registry, false, &[]);
    let topic = "srv.public.evo";
    let v1 = column_table(None);
    let first = convert(&mut c, topic, &v1, &evo_value(&v1, 1))
        .await
        .expect("v1");
    // A new optional column: a new version of the same subject, before the first record.
    let v2 = column_table(Some(Field::new(
        "extra",
        s(SchemaType::String).optional(true),
    )));
    let requests = registry.request_count();
    let second = convert(&mut c, topic, &v2, &evo_value(&v2, 2))
        .await
        .expect("v2");
    assert_eq!(registry.request_count(), requests + 1, "one registration");
    assert_eq!(registry.subjects(), vec!["srv.public.evo-value"]);
    let ids = registry.versions("srv.public.evo-value");
    assert_eq!(ids.len(), 2);
    assert_eq!(first[1..5], ids[0].to_be_bytes());
    assert_eq!(second[1..5], ids[1].to_be_bytes());
    // Records of the old shape still encode with the old id, without a registry call.
    let again = convert(&mut c, topic, &v1, &evo_value(&v1, 3))
        .await
        .expect("v1 again");
    assert_eq!(again[1..5], ids[0].to_be_bytes());
    assert_eq!(registry.request_count(), requests + 1);
    // A required column without a default cannot read old records: BACKWARD refuses it.
    let v3 = column_table(Some(Field::new("extra", s(SchemaType::String))));
    let err = convert(&mut c, topic, &v3, &evo_value(&v3, 4)).await.err();
    let Some(err) = err else {
        panic!("incompatible schema accepted")
    };
    match &err {
        ConvertError::Registry {
            error_code,
            message,
            status,
            subject,
            ..
        } => {
            assert_eq!((*error_code, *status), (409, Some(409)));
            assert_eq!(subject, "srv.public.evo-value");
            assert!(
                message.starts_with("Schema being registered is incompatible with an earlier schema for subject \"srv.public.evo-value\""),
                "{message}"
            );
            // As Avro Java reports it: the old `before` record is a union branch the new
            // union cannot read.
            assert!(
                message.contains("errorType:'MISSING_UNION_BRANCH'"),
                "{message}"
            );
            assert!(message.contains("at path '/fields/0/type/1'"), "{message}");
        }
        other => panic!("expected the registry's refusal, got {other:?}"),
    }
    assert_eq!(err.class(), ConvertErrorClass::Definite);
    let text = err.to_string();
    assert!(text.contains("error_code 409"), "{text}");
    assert!(text.contains("compatibility level"), "{text}");
    // With the subject set to NONE the same schema goes through.
    registry.set_subject_compatibility("srv.public.evo-value", Some(Compatibility::None));
    assert!(convert(&mut c, topic, &v3, &evo_value(&v3, 5))
        .await
        .is_ok());
}

#[tokio::test]
async fn cache_identity_and_rebuilt_schemas() {
    let registry = SchemaRegistry::start().expect("registry double");
    let mut c = converter(&registry, false, &[]);
    let schema = column_table(None);
    let value = evo_value(&schema, 1);
    let a = convert(&mut c, "srv.public.evo", &schema, &value)
        .await
        .expect("first");
    let requests = registry.request_count();
    // The same schema rebuilt as a new Arc (a reconnect): no registry call, same bytes.
    let rebuilt = Arc::new((*schema).clone());
    let mut out = Vec::new();
    assert!(matches!(
        c.convert("srv.public.evo", Some(&rebuilt), Some(&value), &mut out),
        Ok(true)
    ));
    assert_eq!(out, a);
    assert_eq!(registry.request_count(), requests);
    // Another topic with TopicNameStrategy is another subject: registration needed.
    assert!(matches!(
        c.convert("other", Some(&schema), Some(&value), &mut out),
        Err(ConvertError::NeedsRegistration { .. })
    ));
    let b = convert(&mut c, "other", &schema, &value)
        .await
        .expect("other topic");
    assert_eq!(a[1..5], b[1..5], "the same schema keeps its global id");
    assert_eq!(
        registry.subjects(),
        vec!["other-value", "srv.public.evo-value"]
    );
}

#[tokio::test]
async fn subject_name_strategies() {
    let registry = SchemaRegistry::start().expect("registry double");
    let schema = column_table(None);
    let value = evo_value(&schema, 1);
    let strategy = "io.confluent.kafka.serializers.subject.RecordNameStrategy";
    let mut c = converter(&registry, false, &[(VALUE_SUBJECT_NAME_STRATEGY, strategy)]);
    convert(&mut c, "t1", &schema, &value).await.expect("t1");
    // The subject does not depend on the topic: a second topic needs no registration.
    let mut out = Vec::new();
    assert!(matches!(
        c.convert("t2", Some(&schema), Some(&value), &mut out),
        Ok(true)
    ));
    let mut c = converter(
        &registry,
        false,
        &[(VALUE_SUBJECT_NAME_STRATEGY, "TopicRecordNameStrategy")],
    );
    convert(&mut c, "t1", &schema, &value).await.expect("t1");
    // A key converter reads key.subject.name.strategy, not the value one.
    let key_schema = Arc::new(
        Schema::structure(vec![Field::new("id", s(SchemaType::Int32))]).named("srv.public.evo.Key"),
    );
    let key = Value::Struct(vec![Value::Int32(1)]);
    let mut k = converter(&registry, true, &[(VALUE_SUBJECT_NAME_STRATEGY, strategy)]);
    convert(&mut k, "t1", &key_schema, &key).await.expect("key");
    assert_eq!(
        registry.subjects(),
        vec![
            "srv.public.evo.Envelope",
            "t1-key",
            "t1-srv.public.evo.Envelope"
        ]
    );
}

#[tokio::test]
async fn lookup_only_and_latest_version() {
    let registry = SchemaRegistry::start().expect("registry double");
    let schema = column_table(None);
    let value = evo_value(&schema, 1);
    let mut lookup = converter(&registry, false, &[(AUTO_REGISTER_SCHEMAS, "false")]);
    let err = convert(&mut lookup, "t", &schema, &value).await.err();
    assert!(
        matches!(
            &err,
            Some(ConvertError::Registry {
                error_code: 40401,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.map(|e| e.class()), Some(ConvertErrorClass::Config));
    assert!(registry.subjects().is_empty(), "lookup registers nothing");
    let mut auto = converter(&registry, false, &[]);
    let registered = convert(&mut auto, "t", &schema, &value)
        .await
        .expect("register");
    let found = convert(&mut lookup, "t", &schema, &value)
        .await
        .expect("lookup");
    assert_eq!(registered, found);
    // use.latest.version: the latest version must be the record's schema.
    let mut latest = converter(
        &registry,
        false,
        &[
            (AUTO_REGISTER_SCHEMAS, "false"),
            (USE_LATEST_VERSION, "true"),
        ],
    );
    assert_eq!(
        convert(&mut latest, "t", &schema, &value).await.ok(),
        Some(registered)
    );
    let v2 = column_table(Some(Field::new(
        "extra",
        s(SchemaType::String).optional(true),
    )));
    let err = convert(&mut latest, "t", &v2, &evo_value(&v2, 2))
        .await
        .err();
    assert!(
        matches!(err, Some(ConvertError::Registry { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn basic_auth_from_user_info_and_url() {
    let registry = SchemaRegistry::start_with(SchemaRegistryOptions {
        basic_auth: Some(("fred".into(), "p@ss:word".into())),
    })
    .expect("registry double");
    let schema = column_table(None);
    let value = evo_value(&schema, 1);
    let mut c = converter(
        &registry,
        false,
        &[
            (BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO"),
            (BASIC_AUTH_USER_INFO, "fred:p@ss:word"),
        ],
    );
    assert!(convert(&mut c, "t", &schema, &value).await.is_ok());
    let with_info = registry
        .url()
        .replace("http://", "http://fred:p%40ss%3Aword@");
    let mut c = converter(
        &registry,
        false,
        &[(SCHEMA_REGISTRY_URL, with_info.as_str())],
    );
    assert!(convert(&mut c, "t2", &schema, &value).await.is_ok());
    // Wrong credentials: the registry's 401, classified as configuration.
    let mut c = converter(
        &registry,
        false,
        &[
            (BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO"),
            (SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, "fred:nope"),
        ],
    );
    let err = convert(&mut c, "t3", &schema, &value).await.err();
    assert!(
        matches!(
            &err,
            Some(ConvertError::Registry {
                error_code: 401,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.map(|e| e.class()), Some(ConvertErrorClass::Config));
    // No credentials at all.
    let mut c = converter(&registry, false, &[]);
    let err = convert(&mut c, "t4", &schema, &value).await.err();
    assert!(
        matches!(
            &err,
            Some(ConvertError::Registry {
                error_code: 401,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(registry.subjects(), vec!["t-value", "t2-value"]);
}

#[tokio::test]
async fn registry_down_or_failing_is_transient() {
    let registry = SchemaRegistry::start().expect("registry double");
    let schema = column_table(None);
    let value = evo_value(&schema, 1);
    registry.fail_requests(Some(InjectedFailure::backend_error()));
    let mut c = converter(&registry, false, &[]);
    let err = convert(&mut c, "t", &schema, &value).await.err();
    assert!(
        matches!(
            &err,
            Some(ConvertError::Registry {
                error_code: 50001,
                status: Some(500),
                ..
            })
        ),
        "{err:?}"
    );
    assert!(err.is_some_and(|e| e.is_transient()));
    registry.fail_requests(None);
    assert!(
        convert(&mut c, "t", &schema, &value).await.is_ok(),
        "recovers"
    );
    let url = registry.url().to_string();
    drop(registry);
    let mut c = converter_at(&url);
    let err = convert(&mut c, "t", &schema, &value).await.err();
    assert!(
        matches!(&err, Some(ConvertError::RegistryUnreachable { .. })),
        "{err:?}"
    );
    assert!(err.is_some_and(|e| e.is_transient()));
}

fn converter_at(url: &str) -> AvroConverter {
    let mut p = BTreeMap::new();
    p.insert(SCHEMA_REGISTRY_URL.to_string(), url.to_string());
    match AvroConverter::from_props(false, &p) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn config_errors_name_their_keys() {
    let errors = |p: &[(&str, &str)]| {
        let map: BTreeMap<String, String> = p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AvroConverterConfig::from_props(false, &map)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    assert_eq!(errors(&[]), vec![SCHEMA_REGISTRY_URL]);
    assert_eq!(
        errors(&[(SCHEMA_REGISTRY_URL, "localhost:8081")]),
        vec![SCHEMA_REGISTRY_URL]
    );
    assert_eq!(
        errors(&[
            (SCHEMA_REGISTRY_URL, "http://r:8081"),
            (AUTO_REGISTER_SCHEMAS, "yes"),
            (VALUE_SUBJECT_NAME_STRATEGY, "Nope"),
            (BASIC_AUTH_CREDENTIALS_SOURCE, "SASL_INHERIT"),
        ]),
        vec![
            AUTO_REGISTER_SCHEMAS,
            VALUE_SUBJECT_NAME_STRATEGY,
            BASIC_AUTH_CREDENTIALS_SOURCE
        ]
    );
    assert_eq!(
        errors(&[
            (SCHEMA_REGISTRY_URL, "http://r:8081"),
            (BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO")
        ]),
        vec![BASIC_AUTH_USER_INFO]
    );
    let map: BTreeMap<String, String> = [
        (SCHEMA_REGISTRY_URL, " https://u:p%3A1@a:1/ , http://b:2 "),
        (
            KEY_SUBJECT_NAME_STRATEGY,
            "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = AvroConverterConfig::from_props(true, &map).ok();
    assert_eq!(
        config.as_ref().map(|c| c.urls.clone()),
        Some(vec!["https://a:1".to_string(), "http://b:2".to_string()])
    );
    assert_eq!(
        config.as_ref().and_then(|c| c
            .basic_auth
            .as_ref()
            .map(|(u, p)| (u.clone(), p.expose().to_string()))),
        Some(("u".to_string(), "p:1".to_string()))
    );
    assert_eq!(
        config.map(|c| c.subject_name_strategy),
        Some(SubjectNameStrategy::RecordName)
    );
    // Through the converter factory, errors carry the converter prefix.
    let err = crate::converter::from_config(
        &sluice_config::ConverterClass::Avro,
        false,
        &BTreeMap::new(),
    )
    .err();
    assert!(err.is_some_and(
        |e| e.starts_with("value.converter.schema.registry.url: missing required key")
    ));
}

/// Records per second of the Avro and JSON converters on a typical envelope (release build):
/// `cargo test --release -p sluice --lib avro::tests::throughput -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn throughput() {
    let registry = SchemaRegistry::start().expect("registry double");
    let (key_schema, value_schema) = rich_table();
    let value = envelope(Value::Null, rich_row(1), "c");
    let key = Value::Struct(vec![Value::Int32(1)]);
    let mut avro_values = converter(&registry, false, &[]);
    let mut avro_keys = converter(&registry, true, &[]);
    convert(&mut avro_values, "t", &value_schema, &value)
        .await
        .expect("register");
    convert(&mut avro_keys, "t", &key_schema, &key)
        .await
        .expect("register");
    let mut json_values = JsonConverter::new(true);
    let mut json_keys = JsonConverter::new(true);
    let n = 300_000;
    let mut out = Vec::with_capacity(4096);
    let mut bytes = [0usize; 2];
    let mut run = |keys: &mut dyn Converter, values: &mut dyn Converter, slot: usize| {
        let start = std::time::Instant::now();
        for _ in 0..n {
            let _ = keys.convert("t", Some(&key_schema), Some(&key), &mut out);
            let _ = values.convert("t", Some(&value_schema), Some(&value), &mut out);
            bytes[slot] = out.len();
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let avro_rate = run(&mut avro_keys, &mut avro_values, 0);
    let json_rate = run(&mut json_keys, &mut json_values, 1);
    // apache-avro's own encoder from its Value model, for scale (conversion not included).
    let parsed = apache_avro::Schema::parse_str(&fetch_schema(&registry, 1).await);
    let reference = match &parsed {
        Ok(schema) => {
            let mut buf = Vec::new();
            assert!(matches!(
                avro_values.convert("t", Some(&value_schema), Some(&value), &mut buf),
                Ok(true)
            ));
            let mut rest = &buf[5..];
            let avro_value = apache_avro::reader::datum::GenericDatumReader::builder(schema)
                .build()
                .and_then(|reader| reader.read_value(&mut rest))
                .ok();
            let writer = apache_avro::writer::datum::GenericDatumWriter::builder(schema)
                .validate(false)
                .build()
                .ok();
            avro_value.zip(writer).map(|(v, writer)| {
                let mut sink = Vec::with_capacity(4096);
                let start = std::time::Instant::now();
                for _ in 0..n {
                    sink.clear();
                    let _ = writer.write_value_ref(&mut sink, &v);
                }
                n as f64 / start.elapsed().as_secs_f64()
            })
        }
        Err(_) => None,
    };
    println!(
        "avro converter: {avro_rate:.0} records/s ({} value bytes); json converter (schemas.enable=true): {json_rate:.0} records/s ({} value bytes); ratio avro/json {:.2}; apache-avro GenericDatumWriter (value only, from its own Value, no validation): {}",
        bytes[0],
        bytes[1],
        avro_rate / json_rate,
        reference.map(|r| format!("{r:.0} records/s")).unwrap_or_else(|| "n/a".into())
    );
}
