//! The transforms end to end through [`TransformChain`], with the inputs and outputs of the
//! examples in Kafka's and Debezium's documentation, compared as the JsonConverter writes them.

use std::sync::Arc;

use serde_json::json;

use super::testing::*;
use super::*;
use crate::connect::{Field, Record, Schema, SchemaType, Value};
use crate::envelope::Op;

fn record(topic: &str, schema: Schema, value: Value) -> Record {
    Record {
        topic: topic.into(),
        key_schema: None,
        key: None,
        value_schema: Some(Arc::new(schema)),
        value: Some(value),
        headers: Vec::new(),
        timestamp_ms: Some(1_511_481_600_000), // 2017-11-24T00:00:00Z
    }
}

fn int32() -> Schema {
    Schema::new(SchemaType::Int32)
}

fn string() -> Schema {
    Schema::new(SchemaType::String)
}

// ---------------------------------------------------------------- Kafka Connect transforms

#[test]
fn jdbc_example_value_to_key_then_extract_field_key() {
    // The JDBC source connector example: the key becomes the CUSTOMER_ID value, with its schema.
    for (insert, extract) in [
        (
            "org.apache.kafka.connect.transforms.ValueToKey",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("ValueToKey", "ExtractField$Key"),
    ] {
        let mut c = chain(&[
            ("transforms", "InsertKey,ExtractId"),
            ("transforms.InsertKey.type", insert),
            ("transforms.InsertKey.fields", "CUSTOMER_ID"),
            ("transforms.ExtractId.type", extract),
            ("transforms.ExtractId.field", "CUSTOMER_ID"),
        ]);
        let schema = Schema::structure(vec![
            Field::new("CUSTOMER_ID", int32()),
            Field::new("NAME", string()),
        ])
        .named("customers");
        let r = record(
            "mysql-customers",
            schema,
            Value::Struct(vec![Value::Int32(42), s("Ann")]),
        );
        let out = run(&mut c, r).expect("kept");
        assert_eq!(out.key, Some(Value::Int32(42)));
        assert_eq!(
            json(out.key_schema.as_ref(), out.key.as_ref()),
            json!({"schema": {"type": "int32", "optional": false}, "payload": 42})
        );
        assert_eq!(value_json(&out), json!({"CUSTOMER_ID": 42, "NAME": "Ann"}));
    }
}

#[test]
fn value_to_key_builds_an_unnamed_struct_key() {
    let mut c = chain(&[
        ("transforms", "unwrap,k"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        ("transforms.k.type", "ValueToKey"),
        ("transforms.k.fields", "id,email"),
    ]);
    let out = run(
        &mut c,
        event(
            &customers(),
            Op::Create,
            s("x"),
            None,
            Some(customer(1, "A", "B", "a@b")),
        ),
    )
    .expect("kept");
    assert_eq!(
        json(out.key_schema.as_ref(), out.key.as_ref()),
        json!({"schema": {"type": "struct", "optional": false, "fields": [
            {"type": "int32", "optional": false, "field": "id"},
            {"type": "string", "optional": true, "field": "email"}]},
            "payload": {"id": 1, "email": "a@b"}})
    );
}

#[test]
fn insert_field_adds_topic_timestamp_and_static_fields() {
    let mut c = chain(&[
        ("transforms", "InsertSource"),
        (
            "transforms.InsertSource.type",
            "org.apache.kafka.connect.transforms.InsertField$Value",
        ),
        ("transforms.InsertSource.static.field", "data_source"),
        ("transforms.InsertSource.static.value", "test-file-source"),
        ("transforms.InsertSource.topic.field", "topic!"),
        ("transforms.InsertSource.timestamp.field", "ts"),
    ]);
    let schema = Schema::structure(vec![Field::new("line", string())])
        .named("lines")
        .optional(true);
    let out = run(
        &mut c,
        record("t1", schema, Value::Struct(vec![s("hello")])),
    )
    .expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(
        j["schema"],
        json!({"type": "struct", "optional": false, "name": "lines", "fields": [
            {"type": "string", "optional": false, "field": "line"},
            {"type": "string", "optional": false, "field": "topic"},
            {"type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1, "field": "ts"},
            {"type": "string", "optional": true, "field": "data_source"}]})
    );
    assert_eq!(
        j["payload"],
        json!({"line": "hello", "topic": "t1", "ts": 1_511_481_600_000_i64, "data_source": "test-file-source"})
    );
    // Tombstones pass untouched; offset.field is a sink-only setting.
    let tomb = Record {
        value: None,
        value_schema: None,
        ..record("t1", string(), s("x"))
    };
    assert!(run(&mut c, tomb).expect("kept").value.is_none());
    let err = TransformChain::from_props(&props(&[
        ("transforms", "i"),
        ("transforms.i.type", "InsertField$Value"),
        ("transforms.i.offset.field", "offset"),
    ]))
    .err()
    .expect("rejected");
    assert!(err.for_key("transforms.i.offset.field").is_some(), "{err}");
}

#[test]
fn replace_field_excludes_includes_and_renames() {
    let schema = Schema::structure(vec![
        Field::new("foo", string()),
        Field::new("bar", int32()),
        Field::new("c3", string().optional(true).with_default(s("dflt"))),
    ])
    .named("v");
    let value = Value::Struct(vec![s("x"), Value::Int32(1), Value::Null]);
    let mut c = chain(&[
        ("transforms", "r"),
        (
            "transforms.r.type",
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
        ),
        ("transforms.r.renames", "foo:c1,bar:c2"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    // replace.null.with.default: the null c3 takes its default.
    assert_eq!(value_json(&out), json!({"c1": "x", "c2": 1, "c3": "dflt"}));
    let mut c = chain(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.exclude", "bar"),
        ("transforms.r.replace.null.with.default", "false"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    assert_eq!(out.value, Some(Value::Struct(vec![s("x"), Value::Null])));
    // The deprecated names still work; the new ones win when both are set.
    let mut c = chain(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.whitelist", "foo"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    assert_eq!(value_json(&out), json!({"foo": "x"}));
    let mut c = chain(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.include", "foo,bar"),
        ("transforms.r.blacklist", "foo"),
        ("transforms.r.exclude", "bar"),
    ]);
    let out = run(&mut c, record("t", schema, value)).expect("kept");
    assert_eq!(value_json(&out), json!({"foo": "x"}));
    assert!(TransformChain::from_props(&props(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.renames", "foo"),
    ]))
    .is_err());
}

#[test]
fn mask_field_uses_empty_values_or_a_replacement() {
    let schema = Schema::structure(vec![
        Field::new("string_field", string()),
        Field::new("int_field", int32()),
        Field::new("keep", string()),
        Field::new("null_field", string().optional(true)),
    ]);
    let value = Value::Struct(vec![s("foo"), Value::Int32(42), s("k"), Value::Null]);
    let mut c = chain(&[
        ("transforms", "m"),
        (
            "transforms.m.type",
            "org.apache.kafka.connect.transforms.MaskField$Value",
        ),
        ("transforms.m.fields", "string_field,int_field,null_field"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    assert_eq!(
        value_json(&out),
        json!({"string_field": "", "int_field": 0, "keep": "k", "null_field": null})
    );
    let mut c = chain(&[
        ("transforms", "m"),
        ("transforms.m.type", "MaskField$Value"),
        ("transforms.m.fields", "string_field"),
        ("transforms.m.replacement", "<redacted>"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    assert_eq!(value_json(&out)["string_field"], "<redacted>");
    // A replacement that is not a number cannot mask a number field.
    let mut c = chain(&[
        ("transforms", "m"),
        ("transforms.m.type", "MaskField$Value"),
        ("transforms.m.fields", "int_field"),
        ("transforms.m.replacement", "abc"),
    ]);
    let err = c.apply(record("t", schema, value)).expect_err("fails");
    assert!(err.message.contains("int_field"), "{err}");
}

#[test]
fn extract_field_v1_and_nested_v2() {
    let inner = Schema::structure(vec![Field::new("id", int32()), Field::new("a.b", string())])
        .optional(true);
    let schema = Schema::structure(vec![
        Field::new("after", inner),
        Field::new("after.id", string()),
    ]);
    let value = Value::Struct(vec![
        Value::Struct(vec![Value::Int32(7), s("dotted")]),
        s("literal"),
    ]);
    let mut v1 = chain(&[
        ("transforms", "e"),
        ("transforms.e.type", "ExtractField$Value"),
        ("transforms.e.field", "after.id"),
    ]);
    assert_eq!(
        run(&mut v1, record("t", schema.clone(), value.clone()))
            .expect("kept")
            .value,
        Some(s("literal"))
    );
    let mut v2 = chain(&[
        ("transforms", "e"),
        ("transforms.e.type", "ExtractField$Value"),
        ("transforms.e.field", "after.id"),
        ("transforms.e.field.syntax.version", "V2"),
    ]);
    let out = run(&mut v2, record("t", schema.clone(), value.clone())).expect("kept");
    assert_eq!(
        json(out.value_schema.as_ref(), out.value.as_ref()),
        json!({"schema": {"type": "int32", "optional": false}, "payload": 7})
    );
    let mut quoted = chain(&[
        ("transforms", "e"),
        ("transforms.e.type", "ExtractField$Value"),
        ("transforms.e.field", "after.`a.b`"),
        ("transforms.e.field.syntax.version", "v2"),
    ]);
    assert_eq!(
        run(&mut quoted, record("t", schema.clone(), value))
            .expect("kept")
            .value,
        Some(s("dotted"))
    );
    // A null parent struct gives null; an unknown field is an error.
    let out = run(
        &mut v2,
        record(
            "t",
            schema.clone(),
            Value::Struct(vec![Value::Null, s("x")]),
        ),
    )
    .expect("kept");
    assert_eq!(out.value, None);
    let mut unknown = chain(&[
        ("transforms", "e"),
        ("transforms.e.type", "ExtractField$Value"),
        ("transforms.e.field", "nope"),
    ]);
    let err = unknown
        .apply(record(
            "t",
            schema,
            Value::Struct(vec![Value::Null, s("x")]),
        ))
        .expect_err("fails");
    assert!(err.message.contains("unknown field nope"), "{err}");
}

#[test]
fn hoist_field_wraps_the_value() {
    let mut c = chain(&[
        ("transforms", "h"),
        (
            "transforms.h.type",
            "org.apache.kafka.connect.transforms.HoistField$Value",
        ),
        ("transforms.h.field", "field1"),
    ]);
    let out = run(&mut c, record("t", int32(), Value::Int32(42))).expect("kept");
    assert_eq!(
        json(out.value_schema.as_ref(), out.value.as_ref()),
        json!({"schema": {"type": "struct", "optional": false, "fields": [{"type": "int32", "optional": false, "field": "field1"}]}, "payload": {"field1": 42}})
    );
    let schemaless = Record {
        value_schema: None,
        ..record("t", int32(), Value::Int32(42))
    };
    let out = run(&mut c, schemaless).expect("kept");
    assert_eq!(
        out.value,
        Some(Value::Map(vec![(s("field1"), Value::Int32(42))]))
    );
}

#[test]
fn flatten_joins_nested_names() {
    let name = Schema::structure(vec![
        Field::new("first", string()),
        Field::new("middle", string().optional(true)),
        Field::new("last", string()),
    ]);
    let content = Schema::structure(vec![Field::new("id", int32()), Field::new("name", name)]);
    let schema = Schema::structure(vec![Field::new("content", content)]).named("doc");
    let value = Value::Struct(vec![Value::Struct(vec![
        Value::Int32(42),
        Value::Struct(vec![s("David"), Value::Null, s("Wong")]),
    ])]);
    let mut c = chain(&[
        ("transforms", "f"),
        (
            "transforms.f.type",
            "org.apache.kafka.connect.transforms.Flatten$Value",
        ),
        ("transforms.f.delimiter", "_"),
    ]);
    let out = run(&mut c, record("t", schema, value)).expect("kept");
    assert_eq!(
        value_json(&out),
        json!({"content_id": 42, "content_name_first": "David", "content_name_middle": null, "content_name_last": "Wong"})
    );
    // A Debezium envelope: nested optional structs make their leaves optional.
    let mut c = chain(&[("transforms", "f"), ("transforms.f.type", "Flatten$Value")]);
    let out = run(
        &mut c,
        event(
            &customers(),
            Op::Create,
            s("k"),
            None,
            Some(customer(1, "A", "B", "e")),
        ),
    )
    .expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(j["payload"]["after.first_name"], "A");
    assert_eq!(j["payload"]["before.id"], json!(null));
    assert_eq!(j["payload"]["source.table"], "customers");
    assert_eq!(j["payload"]["op"], "c");
    let first = &j["schema"]["fields"][0];
    assert_eq!(
        first,
        &json!({"type": "int32", "optional": true, "field": "before.id"})
    );
    assert_eq!(
        j["schema"]["name"],
        "dbserver1.inventory.customers.Envelope"
    );
}

#[test]
fn cast_fields_and_whole_values() {
    let schema = Schema::structure(vec![
        Field::new("id", int32()),
        Field::new(
            "score",
            Schema::new(SchemaType::Float32)
                .optional(true)
                .with_default(Value::Float32(1.5)),
        ),
        Field::new("flag", string()),
        Field::new("other", string()),
    ]);
    let value = Value::Struct(vec![
        Value::Int32(300),
        Value::Float32(2.5),
        s("true"),
        s("o"),
    ]);
    let mut c = chain(&[
        ("transforms", "c"),
        (
            "transforms.c.type",
            "org.apache.kafka.connect.transforms.Cast$Value",
        ),
        ("transforms.c.spec", "id:string,score:float64,flag:boolean"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(
        j["payload"],
        json!({"id": "300", "score": 2.5, "flag": true, "other": "o"})
    );
    assert_eq!(
        j["schema"]["fields"][1],
        json!({"type": "double", "optional": true, "default": 1.5, "field": "score"})
    );
    let mut whole = chain(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Value"),
        ("transforms.c.spec", "int8"),
    ]);
    let out = run(&mut whole, record("t", int32(), Value::Int32(300))).expect("kept");
    assert_eq!(out.value, Some(Value::Int8(44)));
    for bad in ["id:int128", "int8,id:int32", "a:b:c"] {
        let err = TransformChain::from_props(&props(&[
            ("transforms", "c"),
            ("transforms.c.type", "Cast$Value"),
            ("transforms.c.spec", bad),
        ]))
        .err()
        .expect("rejected");
        assert!(err.for_key("transforms.c.spec").is_some(), "{bad}: {err}");
    }
}

#[test]
fn timestamp_converter_between_types() {
    let ts = Schema::new(SchemaType::Int64)
        .named("org.apache.kafka.connect.data.Timestamp")
        .version(1);
    let schema = Schema::structure(vec![Field::new("timestamp", ts), Field::new("n", int32())]);
    let value = Value::Struct(vec![Value::Int64(1_511_512_496_789), Value::Int32(1)]);
    let mut c = chain(&[
        ("transforms", "TimestampConverter"),
        (
            "transforms.TimestampConverter.type",
            "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        ),
        ("transforms.TimestampConverter.field", "timestamp"),
        ("transforms.TimestampConverter.target.type", "string"),
        ("transforms.TimestampConverter.format", "yyyy-MM-dd"),
    ]);
    let out = run(&mut c, record("t", schema.clone(), value.clone())).expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(j["payload"], json!({"timestamp": "2017-11-24", "n": 1}));
    assert_eq!(
        j["schema"]["fields"][0],
        json!({"type": "string", "optional": false, "field": "timestamp"})
    );
    // string -> Timestamp, unix (microseconds) -> Date, Timestamp -> unix seconds.
    let mut parse = chain(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.target.type", "Timestamp"),
        ("transforms.t.format", "yyyy-MM-dd HH:mm:ss.SSS"),
    ]);
    let out = run(
        &mut parse,
        record("t", string(), s("2017-11-24 08:34:56.789")),
    )
    .expect("kept");
    assert_eq!(out.value, Some(Value::Int64(1_511_512_496_789)));
    assert_eq!(
        out.value_schema.as_ref().and_then(|s| s.name.as_deref()),
        Some("org.apache.kafka.connect.data.Timestamp")
    );
    let mut micros = chain(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.target.type", "Date"),
        ("transforms.t.unix.precision", "microseconds"),
    ]);
    let out = run(
        &mut micros,
        record(
            "t",
            Schema::new(SchemaType::Int64),
            Value::Int64(1_511_512_496_789_123),
        ),
    )
    .expect("kept");
    assert_eq!(out.value, Some(Value::Int32(17_494)));
    let mut secs = chain(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.field", "timestamp"),
        ("transforms.t.target.type", "unix"),
        ("transforms.t.unix.precision", "seconds"),
    ]);
    let out = run(&mut secs, record("t", schema, value)).expect("kept");
    assert_eq!(
        value_json(&out),
        json!({"timestamp": 1_511_512_496, "n": 1})
    );
    let err = TransformChain::from_props(&props(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.target.type", "string"),
    ]))
    .err()
    .expect("format required");
    assert!(err.for_key("transforms.t.format").is_some(), "{err}");
}

#[test]
fn regex_and_timestamp_routers() {
    let mut c = chain(&[
        ("transforms", "dropPrefix"),
        (
            "transforms.dropPrefix.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        (
            "transforms.dropPrefix.regex",
            "dbserver1\\.inventory\\.(.*)",
        ),
        ("transforms.dropPrefix.replacement", "$1"),
    ]);
    let out = run(
        &mut c,
        event(
            &customers(),
            Op::Create,
            s("k"),
            None,
            Some(customer(1, "a", "b", "c")),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "customers");
    // No whole-string match: the topic stays.
    let out = run(&mut c, record("other.topic", int32(), Value::Int32(1))).expect("kept");
    assert_eq!(&*out.topic, "other.topic");
    let mut c = chain(&[
        ("transforms", "TimestampRouter"),
        (
            "transforms.TimestampRouter.type",
            "org.apache.kafka.connect.transforms.TimestampRouter",
        ),
        (
            "transforms.TimestampRouter.topic.format",
            "foo-${topic}-${timestamp}",
        ),
        ("transforms.TimestampRouter.timestamp.format", "yyyyMM"),
    ]);
    let out = run(&mut c, record("test", int32(), Value::Int32(1))).expect("kept");
    assert_eq!(&*out.topic, "foo-test-201711");
    let err = c
        .apply(tombstone(&customers(), customer(1, "a", "b", "c")))
        .expect_err("no timestamp");
    assert!(err.message.contains("timestamp"), "{err}");
    assert!(TransformChain::from_props(&props(&[
        ("transforms", "r"),
        ("transforms.r.type", "RegexRouter"),
        ("transforms.r.regex", "(a)"),
        ("transforms.r.replacement", "$2"),
    ]))
    .is_err());
}

#[test]
fn filter_with_predicates_and_negate() {
    // Kafka's documentation: drop records of topic foo; extract other_field unless the record
    // has header bar.
    let mut c = chain(&[
        ("transforms", "Filter,Extract"),
        (
            "transforms.Filter.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.Filter.predicate", "IsFoo"),
        (
            "transforms.Extract.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("transforms.Extract.field", "other_field"),
        ("transforms.Extract.predicate", "HasBar"),
        ("transforms.Extract.negate", "true"),
        ("predicates", "IsFoo,HasBar"),
        (
            "predicates.IsFoo.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.IsFoo.pattern", "foo"),
        (
            "predicates.HasBar.type",
            "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        ),
        ("predicates.HasBar.name", "bar"),
    ]);
    let key_schema = Arc::new(Schema::structure(vec![Field::new("other_field", int32())]));
    let keyed = |topic: &str, headers: Vec<(String, Option<String>)>| Record {
        key_schema: Some(key_schema.clone()),
        key: Some(Value::Struct(vec![Value::Int32(5)])),
        headers,
        ..record(topic, int32(), Value::Int32(1))
    };
    assert!(run(&mut c, keyed("foo", vec![])).is_none());
    // The pattern must match the whole topic.
    let out = run(&mut c, keyed("foobar", vec![])).expect("kept");
    assert_eq!(out.key, Some(Value::Int32(5)));
    let out = run(&mut c, keyed("baz", vec![("bar".into(), Some("1".into()))])).expect("kept");
    assert_eq!(out.key, Some(Value::Struct(vec![Value::Int32(5)])));
}

#[test]
fn record_is_tombstone_predicate_lets_tombstones_skip_a_transform() {
    let mut c = chain(&[
        ("transforms", "unwrap,key"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        (
            "transforms.unwrap.delete.tombstone.handling.mode",
            "rewrite-with-tombstone",
        ),
        ("transforms.key.type", "ValueToKey"),
        ("transforms.key.fields", "id"),
        ("transforms.key.predicate", "isTombstone"),
        ("transforms.key.negate", "true"),
        ("predicates", "isTombstone"),
        ("predicates.isTombstone.type", "RecordIsTombstone"),
    ]);
    let t = customers();
    let out = run(&mut c, tombstone(&t, Value::Struct(vec![Value::Int32(1)]))).expect("kept");
    assert_eq!(out.key, Some(Value::Struct(vec![Value::Int32(1)])));
    assert!(out.value.is_none());
    let out = run(
        &mut c,
        event(
            &t,
            Op::Delete,
            Value::Struct(vec![Value::Int32(1)]),
            Some(customer(1, "a", "b", "c")),
            None,
        ),
    )
    .expect("kept");
    assert_eq!(key_json(&out), json!({"id": 1}));
    assert_eq!(value_json(&out)["__deleted"], "true");
}

#[test]
fn header_from_insert_header_and_drop_headers() {
    let schema = Schema::structure(vec![
        Field::new("id", int32()),
        Field::new("ts", Schema::new(SchemaType::Int64)),
        Field::new("name", string()),
    ])
    .named("v");
    let value = Value::Struct(vec![Value::Int32(7), Value::Int64(99), s("n")]);
    let mut c = chain(&[
        ("transforms", "moveFieldsToHeaders,insertAppId,dropUnwanted"),
        (
            "transforms.moveFieldsToHeaders.type",
            "org.apache.kafka.connect.transforms.HeaderFrom$Value",
        ),
        ("transforms.moveFieldsToHeaders.fields", "id,ts"),
        ("transforms.moveFieldsToHeaders.headers", "record_id,ts"),
        ("transforms.moveFieldsToHeaders.operation", "move"),
        (
            "transforms.insertAppId.type",
            "org.apache.kafka.connect.transforms.InsertHeader",
        ),
        ("transforms.insertAppId.header", "app.id"),
        ("transforms.insertAppId.value.literal", "best-app-ever"),
        (
            "transforms.dropUnwanted.type",
            "org.apache.kafka.connect.transforms.DropHeaders",
        ),
        ("transforms.dropUnwanted.headers", "unwanted,ts"),
    ]);
    let mut r = record("t", schema.clone(), value.clone());
    r.headers.push(("unwanted".into(), Some("x".into())));
    let out = run(&mut c, r).expect("kept");
    assert_eq!(value_json(&out), json!({"name": "n"}));
    assert_eq!(
        out.value_schema.as_ref().and_then(|s| s.name.as_deref()),
        Some("v")
    );
    assert_eq!(
        out.headers,
        vec![
            ("record_id".to_string(), Some("7".to_string())),
            ("app.id".to_string(), Some("best-app-ever".to_string()))
        ]
    );
    let mut copy = chain(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "name"),
        ("transforms.h.headers", "n"),
        ("transforms.h.operation", "copy"),
    ]);
    let out = run(&mut copy, record("t", schema, value)).expect("kept");
    assert_eq!(value_json(&out), json!({"id": 7, "ts": 99, "name": "n"}));
    assert_eq!(header(&out, "n"), Some("n"));
    assert!(TransformChain::from_props(&props(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "a,b"),
        ("transforms.h.headers", "a"),
        ("transforms.h.operation", "copy"),
    ]))
    .is_err());
}

#[test]
fn set_schema_metadata_renames_and_versions() {
    let mut c = chain(&[
        ("transforms", "s"),
        (
            "transforms.s.type",
            "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
        ),
        ("transforms.s.schema.name", "order-value"),
        ("transforms.s.schema.version", "2"),
    ]);
    let schema = Schema::structure(vec![Field::new("id", int32())])
        .named("old")
        .optional(true);
    let out = run(
        &mut c,
        record("t", schema, Value::Struct(vec![Value::Int32(1)])),
    )
    .expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(j["schema"]["name"], "order-value");
    assert_eq!(j["schema"]["version"], 2);
    assert_eq!(j["schema"]["optional"], true);
    let err = c
        .apply(tombstone(&customers(), Value::Null))
        .expect_err("needs a schema");
    assert!(err.message.contains("RecordIsTombstone"), "{err}");
    assert!(TransformChain::from_props(&props(&[
        ("transforms", "s"),
        ("transforms.s.type", "SetSchemaMetadata$Value"),
    ]))
    .is_err());
}

// ---------------------------------------------------------------- ExtractNewRecordState

fn unwrap(extra: &[(&str, &str)]) -> TransformChain {
    let mut pairs = vec![
        ("transforms", "unwrap"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, *v)));
    chain(&pairs)
}

fn key(id: i32) -> Value {
    Value::Struct(vec![Value::Int32(id)])
}

#[test]
fn unwrap_create_update_delete_tombstone_by_mode() {
    let t = customers();
    let anne = customer(1004, "Anne", "Kretchmar", "annek@noanswer.org");
    let anne2 = customer(1004, "Anne Marie", "Kretchmar", "annek@noanswer.org");
    let create = || event(&t, Op::Create, key(1004), None, Some(anne.clone()));
    let update = || {
        event(
            &t,
            Op::Update,
            key(1004),
            Some(anne.clone()),
            Some(anne2.clone()),
        )
    };
    let delete = || event(&t, Op::Delete, key(1004), Some(anne2.clone()), None);
    let tomb = || tombstone(&t, key(1004));
    let row = json!({"id": 1004, "first_name": "Anne", "last_name": "Kretchmar", "email": "annek@noanswer.org"});

    // Default (tombstone): the row alone; a delete becomes a null value, tombstones go.
    let mut c = unwrap(&[]);
    let out = run(&mut c, create()).expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(j["payload"], row);
    assert_eq!(j["schema"]["name"], "dbserver1.inventory.customers.Value");
    assert_eq!(j["schema"]["optional"], true);
    assert_eq!(
        value_json(&run(&mut c, update()).expect("kept"))["first_name"],
        "Anne Marie"
    );
    let out = run(&mut c, delete()).expect("kept");
    assert!(out.value.is_none());
    assert_eq!(
        out.value_schema.as_ref().and_then(|s| s.name.as_deref()),
        Some("dbserver1.inventory.customers.Value")
    );
    assert_eq!(out.key, Some(key(1004)));
    assert!(run(&mut c, tomb()).is_none());

    let mut c = unwrap(&[("transforms.unwrap.delete.tombstone.handling.mode", "drop")]);
    assert!(run(&mut c, delete()).is_none());
    assert!(run(&mut c, tomb()).is_none());
    assert!(run(&mut c, create()).is_some());

    let mut c = unwrap(&[(
        "transforms.unwrap.delete.tombstone.handling.mode",
        "rewrite",
    )]);
    let out = run(&mut c, delete()).expect("kept");
    assert_eq!(
        value_json(&out),
        json!({"id": 1004, "first_name": "Anne Marie", "last_name": "Kretchmar", "email": "annek@noanswer.org", "__deleted": "true"})
    );
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(
        j["schema"]["fields"][4],
        json!({"type": "string", "optional": true, "field": "__deleted"})
    );
    assert_eq!(
        j["schema"]["optional"], false,
        "InsertField's copySchemaBasics drops optional"
    );
    assert_eq!(
        value_json(&run(&mut c, create()).expect("kept"))["__deleted"],
        "false"
    );
    assert!(run(&mut c, tomb()).is_none());

    let mut c = unwrap(&[(
        "transforms.unwrap.delete.tombstone.handling.mode",
        "rewrite-with-tombstone",
    )]);
    assert_eq!(
        value_json(&run(&mut c, delete()).expect("kept"))["__deleted"],
        "true"
    );
    let out = run(&mut c, tomb()).expect("kept");
    assert!(out.value.is_none() && out.value_schema.is_none());

    let mut c = unwrap(&[(
        "transforms.unwrap.delete.tombstone.handling.mode",
        "delete-to-tombstone",
    )]);
    let out = run(&mut c, delete()).expect("kept");
    assert!(out.value.is_none() && out.value_schema.is_none());
    assert_eq!(out.key, Some(key(1004)));
    assert!(run(&mut c, tomb()).is_none());

    // The deprecated keys still select the old behaviour.
    let mut c = unwrap(&[
        ("transforms.unwrap.drop.tombstones", "false"),
        ("transforms.unwrap.delete.handling.mode", "rewrite"),
    ]);
    assert_eq!(
        value_json(&run(&mut c, delete()).expect("kept"))["__deleted"],
        "true"
    );
    assert!(run(&mut c, tomb()).is_some());
}

#[test]
fn unwrap_adds_fields_and_headers() {
    let t = customers();
    let mut c = unwrap(&[
        ("transforms.unwrap.add.fields", "op,table,lsn,source.ts_ms"),
        ("transforms.unwrap.add.headers", "db"),
        (
            "transforms.unwrap.delete.tombstone.handling.mode",
            "rewrite",
        ),
    ]);
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "A", "B", "e")),
        ),
    )
    .expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(
        j["payload"],
        json!({"id": 1, "first_name": "A", "last_name": "B", "email": "e",
               "__op": "c", "__table": "customers", "__lsn": 33_000_000, "__source_ts_ms": 1_700_000_000_000_i64,
               "__deleted": "false"})
    );
    let fields = &j["schema"]["fields"];
    assert_eq!(
        fields[4],
        json!({"type": "string", "optional": true, "field": "__op"})
    );
    assert_eq!(
        fields[7],
        json!({"type": "int64", "optional": true, "field": "__source_ts_ms"})
    );
    assert_eq!(header(&out, "__db"), Some("postgres"));
    // Deletes get the metadata too when rewritten.
    let out = run(
        &mut c,
        event(
            &t,
            Op::Delete,
            key(1),
            Some(customer(1, "A", "B", "e")),
            None,
        ),
    )
    .expect("kept");
    assert_eq!(value_json(&out)["__op"], "d");
    assert_eq!(value_json(&out)["__deleted"], "true");

    // Renamed fields, a transaction field, a custom prefix, and the op header of a tombstone.
    let mut c = unwrap(&[
        (
            "transforms.unwrap.add.fields",
            "source.ts_ms:EVENT_TIMESTAMP,id",
        ),
        ("transforms.unwrap.add.fields.prefix", "meta_"),
        ("transforms.unwrap.add.headers", "op,source.table:tbl"),
        (
            "transforms.unwrap.delete.tombstone.handling.mode",
            "rewrite-with-tombstone",
        ),
    ]);
    let out = run(
        &mut c,
        event(
            &t,
            Op::Update,
            key(1),
            Some(customer(1, "A", "B", "e")),
            Some(customer(1, "A", "C", "e")),
        ),
    )
    .expect("kept");
    let v = value_json(&out);
    assert_eq!(v["meta_EVENT_TIMESTAMP"], 1_700_000_000_000_i64);
    assert_eq!(v["meta_id"], "555:33000000");
    assert_eq!(header(&out, "__op"), Some("u"));
    assert_eq!(header(&out, "__tbl"), Some("customers"));
    let out = run(&mut c, tombstone(&t, key(1))).expect("kept");
    assert_eq!(
        out.headers,
        vec![("__op".to_string(), Some("d".to_string()))]
    );
}

#[test]
fn unwrap_routes_by_field_and_passes_other_records() {
    let t = customers();
    let mut c = unwrap(&[("transforms.unwrap.route.by.field", "last_name")]);
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "A", "Thomas", "e")),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "Thomas");
    let out = run(
        &mut c,
        event(
            &t,
            Op::Delete,
            key(1),
            Some(customer(1, "A", "Walker", "e")),
            None,
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "Walker");
    // Truncates are dropped; heartbeats (not an envelope) pass unchanged.
    assert!(run(&mut c, event(&t, Op::Truncate, key(1), None, None)).is_none());
    let hb = crate::envelope::HeartbeatTopic::new("__debezium-heartbeat.dbserver1", "dbserver1");
    let out = run(&mut c, hb.record(crate::envelope::Clock { ns: 1 })).expect("kept");
    assert_eq!(&*out.topic, "__debezium-heartbeat.dbserver1");
}

#[test]
fn derived_schemas_are_built_once_per_input_schema() {
    let t = customers();
    let mut c = unwrap(&[("transforms.unwrap.add.fields", "op")]);
    let a = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "A", "B", "e")),
        ),
    )
    .expect("kept");
    let b = run(
        &mut c,
        event(
            &t,
            Op::Update,
            key(2),
            Some(customer(2, "A", "B", "e")),
            Some(customer(2, "C", "D", "e")),
        ),
    )
    .expect("kept");
    let (sa, sb) = (
        a.value_schema.expect("schema"),
        b.value_schema.expect("schema"),
    );
    assert!(Arc::ptr_eq(&sa, &sb));
}

// ---------------------------------------------------------------- ByLogicalTableRouter

#[test]
fn logical_table_router_merges_shards() {
    let shard = |n: i32| {
        Arc::new(crate::envelope::TableSchema::new(
            &format!("myserver.mydb.customers_shard{n}"),
            &format!("mydb.customers_shard{n}"),
            Some(vec![Field::new("id", int32())]),
            vec![Field::new("id", int32()), Field::new("name", string())],
            &source_schema(),
        ))
    };
    let mut c = chain(&[
        ("transforms", "Reroute"),
        (
            "transforms.Reroute.type",
            "io.debezium.transforms.ByLogicalTableRouter",
        ),
        ("transforms.Reroute.topic.regex", "(.*)customers_shard(.*)"),
        (
            "transforms.Reroute.topic.replacement",
            "$1customers_all_shards",
        ),
    ]);
    let (s1, s2) = (shard(1), shard(2));
    let row = |id| Value::Struct(vec![Value::Int32(id), s("x")]);
    let a = run(&mut c, event(&s1, Op::Create, key(1), None, Some(row(1)))).expect("kept");
    let b = run(&mut c, event(&s2, Op::Create, key(1), None, Some(row(1)))).expect("kept");
    assert_eq!(&*a.topic, "myserver.mydb.customers_all_shards");
    let ka = json(a.key_schema.as_ref(), a.key.as_ref());
    assert_eq!(
        ka,
        json!({"schema": {"type": "struct", "optional": false, "name": "myserver.mydb.customers_all_shards.Key", "fields": [
            {"type": "int32", "optional": false, "field": "id"},
            {"type": "string", "optional": false, "field": "__dbz__physicalTableIdentifier"}]},
            "payload": {"id": 1, "__dbz__physicalTableIdentifier": "myserver.mydb.customers_shard1"}})
    );
    assert_eq!(
        key_json(&b)["__dbz__physicalTableIdentifier"],
        "myserver.mydb.customers_shard2"
    );
    let va = json(a.value_schema.as_ref(), a.value.as_ref());
    assert_eq!(
        va["schema"]["name"],
        "myserver.mydb.customers_all_shards.Envelope"
    );
    assert_eq!(
        va["schema"]["fields"][1]["name"],
        "myserver.mydb.customers_all_shards.Value"
    );
    assert_eq!(va["payload"]["after"], json!({"id": 1, "name": "x"}));
    // Both shards get the same new schemas, each built once per input schema.
    assert_eq!(a.value_schema, b.value_schema);
    let a2 = run(
        &mut c,
        event(&s1, Op::Update, key(1), Some(row(1)), Some(row(1))),
    )
    .expect("kept");
    assert!(Arc::ptr_eq(
        a.value_schema.as_ref().expect("s"),
        a2.value_schema.as_ref().expect("s")
    ));
    assert!(Arc::ptr_eq(
        a.key_schema.as_ref().expect("s"),
        a2.key_schema.as_ref().expect("s")
    ));
    // Tombstones are rerouted with the new key; the identifier can come from key.field.regex.
    let mut c = chain(&[
        ("transforms", "Reroute"),
        ("transforms.Reroute.type", "ByLogicalTableRouter"),
        ("transforms.Reroute.topic.regex", "(.*)customers_shard(.*)"),
        (
            "transforms.Reroute.topic.replacement",
            "$1customers_all_shards",
        ),
        (
            "transforms.Reroute.key.field.regex",
            "(.*)customers_shard(.*)",
        ),
        ("transforms.Reroute.key.field.replacement", "$2"),
        ("transforms.Reroute.key.field.name", "shard_id"),
    ]);
    let out = run(&mut c, tombstone(&s2, key(9))).expect("kept");
    assert_eq!(&*out.topic, "myserver.mydb.customers_all_shards");
    assert_eq!(key_json(&out), json!({"id": 9, "shard_id": "2"}));
    assert!(out.value.is_none());
}

// ---------------------------------------------------------------- outbox EventRouter

fn outbox_table() -> Arc<crate::envelope::TableSchema> {
    let st = || string();
    Arc::new(crate::envelope::TableSchema::new(
        "dbserver1.inventory.outboxevent",
        "inventory.outboxevent",
        Some(vec![Field::new(
            "id",
            st().named("io.debezium.data.Uuid").version(1),
        )]),
        vec![
            Field::new("id", st().named("io.debezium.data.Uuid").version(1)),
            Field::new("aggregatetype", st()),
            Field::new("aggregateid", st()),
            Field::new("type", st()),
            Field::new(
                "timestamp",
                Schema::new(SchemaType::Int64)
                    .named("io.debezium.time.MicroTimestamp")
                    .version(1),
            ),
            Field::new(
                "payload",
                st().optional(true)
                    .named("io.debezium.data.Json")
                    .version(1),
            ),
            Field::new("tenant", st().optional(true)),
        ],
        &source_schema(),
    ))
}

const EVENT_ID: &str = "406c07f3-26f0-4eea-a50c-109940064b8f";
const ORDER: &str = r#"{"id":1,"customerId":123,"orderDate":"2019-01-31T12:13:01","lineItems":[{"id":1,"item":"Debezium in Action","quantity":2,"totalPrice":39.98,"status":"ENTERED"}]}"#;

fn outbox_row(payload: Option<&str>) -> Value {
    Value::Struct(vec![
        s(EVENT_ID),
        s("Order"),
        s("1"),
        s("OrderCreated"),
        Value::Int64(1_548_936_781_123_456),
        payload.map_or(Value::Null, s),
        s("acme"),
    ])
}

fn outbox(extra: &[(&str, &str)]) -> TransformChain {
    let mut pairs = vec![
        ("transforms", "outbox"),
        (
            "transforms.outbox.type",
            "io.debezium.transforms.outbox.EventRouter",
        ),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, *v)));
    chain(&pairs)
}

#[test]
fn outbox_routes_an_inserted_event() {
    let t = outbox_table();
    let key_id = Value::Struct(vec![s(EVENT_ID)]);
    let mut c = outbox(&[]);
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key_id.clone(),
            None,
            Some(outbox_row(Some(ORDER))),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "outbox.event.Order");
    assert_eq!(
        json(out.key_schema.as_ref(), out.key.as_ref()),
        json!({"schema": {"type": "string", "optional": false}, "payload": "1"})
    );
    assert_eq!(out.value, Some(s(ORDER)));
    assert_eq!(
        out.value_schema.as_ref().and_then(|s| s.name.as_deref()),
        Some("io.debezium.data.Json")
    );
    assert_eq!(header(&out, "id"), Some(EVENT_ID));
    assert_eq!(
        out.timestamp_ms,
        Some(1_700_000_000_500),
        "the event's ts_ms"
    );
    // Snapshot reads are routed too; updates, deletes and tombstones are not.
    assert!(run(
        &mut c,
        event(
            &t,
            Op::Read,
            key_id.clone(),
            None,
            Some(outbox_row(Some(ORDER)))
        )
    )
    .is_some());
    assert!(run(
        &mut c,
        event(
            &t,
            Op::Update,
            key_id.clone(),
            Some(outbox_row(Some(ORDER))),
            Some(outbox_row(Some(ORDER)))
        )
    )
    .is_none());
    assert!(run(
        &mut c,
        event(
            &t,
            Op::Delete,
            key_id.clone(),
            Some(outbox_row(Some(ORDER))),
            None
        )
    )
    .is_none());
    assert!(run(&mut c, tombstone(&t, key_id.clone())).is_none());
    let mut fatal = outbox(&[("transforms.outbox.table.op.invalid.behavior", "fatal")]);
    let err = fatal
        .apply(event(
            &t,
            Op::Update,
            key_id,
            Some(outbox_row(Some(ORDER))),
            Some(outbox_row(Some(ORDER))),
        ))
        .expect_err("fatal");
    assert!(
        err.to_string()
            .contains("transform outbox (io.debezium.transforms.outbox.EventRouter)"),
        "{err}"
    );
}

#[test]
fn outbox_places_additional_fields_and_expands_json() {
    let t = outbox_table();
    let key_id = Value::Struct(vec![s(EVENT_ID)]);
    let mut c = outbox(&[
        (
            "transforms.outbox.table.fields.additional.placement",
            "type:envelope:eventType,tenant:header",
        ),
        ("transforms.outbox.table.field.event.timestamp", "timestamp"),
        (
            "transforms.outbox.route.topic.replacement",
            "${routedByValue}.events",
        ),
    ]);
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key_id.clone(),
            None,
            Some(outbox_row(Some(ORDER))),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "Order.events");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(
        j["schema"]["name"],
        "dbserver1.inventory.outboxevent.Order.Value"
    );
    assert_eq!(
        j["payload"],
        json!({"payload": ORDER, "eventType": "OrderCreated"})
    );
    assert_eq!(header(&out, "tenant"), Some("acme"));
    assert_eq!(out.timestamp_ms, Some(1_548_936_781_123));

    let mut c = outbox(&[("transforms.outbox.table.expand.json.payload", "true")]);
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key_id.clone(),
            None,
            Some(outbox_row(Some(ORDER))),
        ),
    )
    .expect("kept");
    let j = json(out.value_schema.as_ref(), out.value.as_ref());
    assert_eq!(
        j["payload"],
        serde_json::from_str::<serde_json::Value>(ORDER).expect("json")
    );
    assert_eq!(j["schema"]["name"], "payload");
    assert_eq!(
        j["schema"]["fields"][1],
        json!({"type": "int32", "optional": true, "field": "customerId"})
    );
    let items = &j["schema"]["fields"][3];
    assert_eq!(items["type"], "array");
    assert_eq!(items["items"]["name"], "payload.lineItems");
    assert_eq!(
        items["items"]["fields"][3],
        json!({"type": "double", "optional": true, "field": "totalPrice"})
    );
    // Not JSON: the payload stays a string.
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key_id.clone(),
            None,
            Some(outbox_row(Some("plain text"))),
        ),
    )
    .expect("kept");
    assert_eq!(out.value, Some(s("plain text")));

    let mut c = outbox(&[("transforms.outbox.route.tombstone.on.empty.payload", "true")]);
    let out = run(
        &mut c,
        event(&t, Op::Create, key_id, None, Some(outbox_row(None))),
    )
    .expect("kept");
    assert!(out.value.is_none() && out.value_schema.is_none());
    assert_eq!(out.key, Some(s("1")));
}

// ---------------------------------------------------------------- Filter / ContentBasedRouter

fn scripted(class: &str, key: &str, expression: &str, extra: &[(&str, &str)]) -> TransformChain {
    let mut pairs = vec![
        ("transforms", "script"),
        ("transforms.script.type", class),
        ("transforms.script.language", "jsr223.groovy"),
        (key, expression),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, *v)));
    chain(&pairs)
}

#[test]
fn filter_keeps_records_matching_the_documented_conditions() {
    let t = customers();
    let update = |id| {
        event(
            &t,
            Op::Update,
            key(id),
            Some(customer(id, "a", "b", "c")),
            Some(customer(id, "a", "x", "c")),
        )
    };
    for condition in [
        "value.op == 'u' && value.before.id == 2",
        "value.get('op') == 'u' && value.get('before').get('id') == 2",
    ] {
        let mut c = scripted(
            "io.debezium.transforms.Filter",
            "transforms.script.condition",
            condition,
            &[],
        );
        assert!(run(&mut c, update(2)).is_some(), "{condition}");
        assert!(run(&mut c, update(3)).is_none(), "{condition}");
        assert!(run(
            &mut c,
            event(
                &t,
                Op::Create,
                key(2),
                None,
                Some(customer(2, "a", "b", "c"))
            )
        )
        .is_none());
        // Tombstones are kept by default (null.handling.mode=keep).
        assert!(run(&mut c, tombstone(&t, key(2))).is_some());
    }
    let cond = "transforms.script.condition";
    let mut drop_nulls = scripted(
        "io.debezium.transforms.Filter",
        cond,
        "true",
        &[("transforms.script.null.handling.mode", "drop")],
    );
    assert!(run(&mut drop_nulls, tombstone(&t, key(2))).is_none());
    let mut evaluate = scripted(
        "io.debezium.transforms.Filter",
        cond,
        "value == null && key.id == 2",
        &[("transforms.script.null.handling.mode", "evaluate")],
    );
    assert!(run(&mut evaluate, tombstone(&t, key(2))).is_some());
    assert!(run(&mut evaluate, tombstone(&t, key(3))).is_none());
    // topic.regex limits the filter to matching topics.
    let mut only = scripted(
        "io.debezium.transforms.Filter",
        cond,
        "false",
        &[("transforms.script.topic.regex", "other\\..*")],
    );
    assert!(run(&mut only, update(1)).is_some());
    // Schemas, topic and headers are bound too.
    let mut c = scripted(
        "io.debezium.transforms.Filter",
        cond,
        "valueSchema.name.endsWith('.Envelope') && topic.startsWith('dbserver1') && 'tenant' in header && header.tenant.value == 'acme' && value.after.last_name in ['x', 'y']",
        &[],
    );
    let mut r = update(1);
    assert!(run(&mut c, r.clone()).is_none());
    r.headers.push(("tenant".into(), Some("acme".into())));
    assert!(run(&mut c, r).is_some());
    // A non-boolean result fails the record; the message carries no row values.
    let mut c = scripted(
        "io.debezium.transforms.Filter",
        cond,
        "value.after.last_name",
        &[],
    );
    let err = c.apply(update(1)).expect_err("not a boolean");
    assert!(err.message.contains("not a boolean"), "{err}");
    assert!(!err.to_string().contains("\"x\""), "{err}");
}

#[test]
fn content_based_router_uses_the_topic_expression() {
    let t = customers();
    let expr = "value.op == 'r' ? topic + '.snapshot' : value.op == 'c' ? topic + '.created' : value.op == 'u' ? topic + '.updated' : value.op == 'd' ? topic + '.deleted' : topic";
    let mut c = scripted(
        "io.debezium.transforms.ContentBasedRouter",
        "transforms.script.topic.expression",
        expr,
        &[],
    );
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "a", "b", "c")),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "dbserver1.inventory.customers.created");
    let out = run(
        &mut c,
        event(
            &t,
            Op::Delete,
            key(1),
            Some(customer(1, "a", "b", "c")),
            None,
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "dbserver1.inventory.customers.deleted");
    let mut c = scripted(
        "io.debezium.transforms.ContentBasedRouter",
        "transforms.script.topic.expression",
        "value.op in ['c','u','d'] && value.after != null && value.after.last_name == 'Thomas' ? 'thomas_customers' : null",
        &[],
    );
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "a", "Thomas", "c")),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "thomas_customers");
    let out = run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "a", "b", "c")),
        ),
    )
    .expect("kept");
    assert_eq!(&*out.topic, "dbserver1.inventory.customers");
}

#[test]
fn scripted_transform_config_errors() {
    let base = |language: &str, condition: &str| {
        props(&[
            ("transforms", "f"),
            ("transforms.f.type", "io.debezium.transforms.Filter"),
            ("transforms.f.language", language),
            ("transforms.f.condition", condition),
        ])
    };
    let err = TransformChain::from_props(&base("groovy", "true"))
        .err()
        .expect("language");
    assert!(err.for_key("transforms.f.language").is_some(), "{err}");
    let err = TransformChain::from_props(&base("jsr223.groovy", "value.op == "))
        .err()
        .expect("syntax");
    assert!(err.for_key("transforms.f.condition").is_some(), "{err}");
    assert!(TransformChain::from_props(&base("cel", "true")).is_ok());
    assert!(TransformChain::from_props(&base("jsr223.graal.js", "value.op == 'c'")).is_ok());
}

// ---------------------------------------------------------------- errors and config

#[test]
fn errors_tolerance_none_fails_with_alias_and_class() {
    let mut c = chain(&[
        ("transforms", "InsertKey"),
        ("transforms.InsertKey.type", "ValueToKey"),
        ("transforms.InsertKey.fields", "id"),
    ]);
    let err = c.apply(tombstone(&customers(), key(1))).expect_err("fails");
    assert_eq!(err.alias, "InsertKey");
    assert_eq!(err.class, "org.apache.kafka.connect.transforms.ValueToKey");
    let text = err.to_string();
    assert!(text.starts_with("transform InsertKey (org.apache.kafka.connect.transforms.ValueToKey) failed on a record of topic dbserver1.inventory.customers:"), "{text}");
}

#[test]
fn errors_tolerance_all_skips_failed_records() {
    let mut c = chain(&[
        ("transforms", "InsertKey"),
        ("transforms.InsertKey.type", "ValueToKey"),
        ("transforms.InsertKey.fields", "nope"),
        ("errors.tolerance", "all"),
        ("errors.log.enable", "true"),
        ("errors.log.include.messages", "true"),
    ]);
    let t = customers();
    assert!(run(
        &mut c,
        event(
            &t,
            Op::Create,
            key(1),
            None,
            Some(customer(1, "a", "b", "c"))
        )
    )
    .is_none());
    assert!(run(&mut c, tombstone(&t, key(1))).is_none());
    assert_eq!(c.skipped_records(), 2);
}

#[test]
fn config_errors_name_the_key() {
    let err = TransformChain::from_props(&props(&[
        ("transforms", "a,b,c,d"),
        (
            "transforms.a.type",
            "org.apache.kafka.connect.transforms.ValueToKy",
        ),
        (
            "transforms.b.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.b.regex", "(unclosed"),
        ("transforms.b.replacement", "x"),
        ("transforms.c.type", "ExtractField$Value"),
        ("transforms.d.type", "ValueToKey"),
        ("transforms.d.fields", "id"),
        ("transforms.d.predicate", "missing"),
        ("predicates", "p"),
        ("predicates.p.type", "TopicNameMatches"),
        ("predicates.p.pattern", "a(?=b)"),
    ]))
    .err()
    .expect("invalid");
    let a = err.for_key("transforms.a.type").expect("unknown class");
    assert!(
        a.message
            .contains("did you mean org.apache.kafka.connect.transforms.ValueToKey"),
        "{a}"
    );
    assert!(err.for_key("transforms.b.regex").is_some(), "{err}");
    assert!(err
        .for_key("transforms.c.field")
        .expect("missing")
        .message
        .starts_with("missing required key transforms.c.field"));
    assert!(err
        .for_key("transforms.d.predicate")
        .expect("undefined")
        .message
        .contains("not defined"));
    assert!(err
        .for_key("predicates.p.pattern")
        .expect("look-ahead")
        .message
        .contains("look-ahead"));
    assert_eq!(
        validate(&props(&[
            ("transforms", "x"),
            ("transforms.x.type", "RegexRouter"),
            ("transforms.x.regex", "["),
            ("transforms.x.replacement", "y")
        ]))
        .len(),
        1
    );
    assert!(validate(&props(&[("name", "c"), ("connector.class", "x")])).is_empty());
    assert!(TransformChain::from_props(&props(&[]))
        .expect("empty")
        .is_empty());
}

#[test]
fn plugin_catalog() {
    let classes: Vec<&str> = plugins().iter().map(|p| p.class).collect();
    for c in [
        "org.apache.kafka.connect.transforms.ExtractField$Key",
        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        "io.debezium.transforms.ExtractNewRecordState",
        "io.debezium.transforms.ContentBasedRouter",
    ] {
        assert!(classes.contains(&c), "{c}");
    }
    let keys = plugin_config("RegexRouter").expect("known");
    assert_eq!(
        keys.iter().map(|k| k.name).collect::<Vec<_>>(),
        ["regex", "replacement"]
    );
    let unwrap = plugin_config("io.debezium.transforms.ExtractNewRecordState").expect("known");
    let mode = unwrap
        .iter()
        .find(|k| k.name == "delete.tombstone.handling.mode")
        .expect("key");
    assert_eq!(mode.default_value, Some("tombstone"));
    assert!(plugin_config("NoSuchThing").is_none());
    // Every catalogued transformation and predicate can be built from its defaults plus
    // its required keys.
    for p in sluice_config::transforms::PLUGINS {
        let (prefix, list) = match p.plugin_type {
            sluice_config::transforms::PluginType::Transformation => ("transforms", "transforms"),
            sluice_config::transforms::PluginType::Predicate => ("predicates", "predicates"),
        };
        let mut map = props(&[(list, "x")]);
        map.insert(format!("{prefix}.x.type"), p.class.to_string());
        for k in p
            .keys
            .iter()
            .filter(|k| k.default == sluice_config::transforms::KeyDefault::Required)
        {
            let v = match (p.simple_name(), k.name) {
                (_, "target.type") => "Timestamp",
                (_, "operation") => "copy",
                (_, "language") => "cel",
                (_, "condition") => "true",
                (_, "topic.expression") => "topic",
                (_, "spec") => "int32",
                (_, "regex" | "topic.regex" | "pattern") => "(.*)",
                (_, "replacement" | "topic.replacement") => "$1",
                _ => "f",
            };
            map.insert(format!("{prefix}.x.{}", k.name), v.to_string());
        }
        if p.simple_name().starts_with("SetSchemaMetadata") {
            map.insert("transforms.x.schema.name".into(), "n".into());
        }
        assert!(
            TransformChain::from_props(&map).is_ok(),
            "{}: {:?}",
            p.class,
            TransformChain::from_props(&map).err()
        );
    }
}
