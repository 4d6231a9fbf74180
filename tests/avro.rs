//! Real Debezium events from a real Postgres through the Avro converter: snapshot and streamed
//! rows of many column types, then a column added mid-stream. Each record is decoded with
//! `apache-avro` using the schema the registry double holds for the id in its header, and must
//! equal what the JSON converter makes of the same record.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value as Json};
use sluice::connect::{Schema, Value};
use sluice::converter::avro::{AvroConverter, SCHEMA_REGISTRY_URL};
use sluice::converter::json::JsonConverter;
use sluice::converter::{ConvertError, Converter, RegisterFuture};
use sluice::offset::MemoryOffsetStore;
use sluice::pipeline::{Pipeline, PipelineLimits};
use sluice::postgres::connector::{run, TaskSettings};
use sluice_config::ConnectorConfig;
use sluice_sinks::{Delivery, Sink, SinkError, SinkRecord};
use sluice_testcontainers::{PgServer, SchemaRegistry};
use tokio_util::sync::CancellationToken;

use crate::support::process::pg_connector_props;
use crate::support::{props, wait_for, wait_slot_active};

/// The JSON converter's output of every record (`None`: a null key or value).
type JsonLog = Arc<Mutex<Vec<Option<Vec<u8>>>>>;

/// The Avro converter, with the JSON converter's output of every record kept aside.
struct Tee {
    avro: AvroConverter,
    json: JsonConverter,
    seen: JsonLog,
}

impl Converter for Tee {
    fn convert(
        &mut self,
        topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        let filled = self.avro.convert(topic, schema, value, out)?;
        let mut json = Vec::new();
        let json_filled = self.json.convert(topic, schema, value, &mut json)?;
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(json_filled.then_some(json));
        }
        Ok(filled)
    }

    fn output_is_json(&self) -> bool {
        false
    }

    fn register<'a>(
        &'a mut self,
        topic: &'a str,
        schema: Option<&'a Arc<Schema>>,
    ) -> RegisterFuture<'a> {
        self.avro.register(topic, schema)
    }
}

/// Keeps every record, acknowledged at once.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<SinkRecord>>>);

impl Sink for Capture {
    async fn send(&mut self, records: Vec<SinkRecord>) -> Result<Delivery, SinkError> {
        if let Ok(mut all) = self.0.lock() {
            all.extend(records);
        }
        let (handle, delivery) = Delivery::pending();
        handle.complete(Ok(()));
        Ok(delivery)
    }

    async fn sync(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

fn tee(registry: &SchemaRegistry, is_key: bool) -> (Tee, JsonLog) {
    let config = props(&[(SCHEMA_REGISTRY_URL, registry.url())]);
    let avro = AvroConverter::from_props(is_key, &config).expect("avro converter config");
    let seen = Arc::new(Mutex::new(Vec::new()));
    (
        Tee {
            avro,
            json: JsonConverter::new(false),
            seen: seen.clone(),
        },
        seen,
    )
}

async fn fetch_schema(registry: &SchemaRegistry, id: u32) -> apache_avro::Schema {
    let text = registry
        .schema(id)
        .unwrap_or_else(|| panic!("schema {id} is not in the registry"));
    apache_avro::Schema::parse_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn avro_to_json(v: &apache_avro::types::Value) -> Json {
    use apache_avro::types::Value as A;
    let b64 = |b: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(b));
    match v {
        A::Null => Json::Null,
        A::Boolean(b) => json!(b),
        A::Int(i) | A::Date(i) | A::TimeMillis(i) => json!(i),
        A::Long(l) | A::TimestampMillis(l) | A::TimeMicros(l) | A::TimestampMicros(l) => json!(l),
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

async fn decode(registry: &SchemaRegistry, bytes: &[u8]) -> (u32, Json) {
    assert_eq!(bytes.first(), Some(&0), "magic byte");
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let schema = fetch_schema(registry, id).await;
    let mut rest = &bytes[5..];
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .and_then(|reader| reader.read_value(&mut rest))
        .unwrap_or_else(|e| panic!("decode with schema {id}: {e}"));
    assert!(rest.is_empty(), "bytes left after the datum");
    (id, avro_to_json(&value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_through_the_avro_converter() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("avro").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute(
            "CREATE TABLE items (
                id serial PRIMARY KEY,
                name text NOT NULL,
                note text,
                qty smallint,
                big bigint,
                ratio real,
                score double precision,
                price numeric(10,2),
                amount numeric,
                cash money,
                born date,
                seen timestamp,
                seen_tz timestamptz,
                at time,
                flag boolean NOT NULL DEFAULT true,
                blob bytea,
                uid uuid,
                doc jsonb,
                tags text[]
            );
            INSERT INTO items (name, note, qty, big, ratio, score, price, amount, cash, born, seen,
                               seen_tz, at, blob, uid, doc, tags)
            VALUES ('snap', NULL, 7, -9000000000, 1.5, 2.25, 12.34, 0.000123, 5.5, '2020-02-29',
                    '2021-01-02 03:04:05.678901', '2021-01-02 03:04:05+02', '12:34:56.789',
                    '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, 2]}',
                    ARRAY['x', NULL, 'z']);",
        )
        .await
        .expect("table");
    let registry = SchemaRegistry::start().expect("registry double");
    let slot = PgServer::unique_name("avro");
    let mut connector = pg_connector_props(&server, &db, &slot, &slot, "av");
    connector.extend(props(&[
        ("table.include.list", "public.items"),
        ("snapshot.mode", "initial"),
    ]));
    let (_, connectors) =
        sluice::worker::parse_configs(&Default::default(), &[connector]).expect("valid config");
    let Some(ConnectorConfig::Postgres(pg)) = connectors.into_iter().next() else {
        panic!("a postgres connector");
    };
    let (key_tee, keys_json) = tee(&registry, true);
    let (value_tee, values_json) = tee(&registry, false);
    let capture = Capture::default();
    let mut pipeline = Pipeline::new(
        "avro",
        json!({"server": "av"}),
        Box::new(key_tee),
        Box::new(value_tee),
        capture.clone(),
        Box::new(MemoryOffsetStore::default()),
        PipelineLimits::default(),
    );
    let stop = CancellationToken::new();
    let task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let settings = TaskSettings {
                offset_flush_interval: Duration::from_millis(100),
            };
            run(Arc::new(pg), &mut pipeline, &settings, &stop).await
        })
    };
    wait_slot_active(&client, &slot).await;
    // The snapshot row first: a reader that reads after the ALTER TABLE below sees the new
    // column in the catalog (catalogs are not read under the exported snapshot), and its row
    // would register the second schema version before the stream's first.
    wait_for(Duration::from_secs(60), "the snapshot row", || {
        let n = capture.0.lock().map(|r| r.len()).unwrap_or(0);
        async move { (n >= 1).then_some(()) }
    })
    .await;
    client
        .batch_execute(
            "INSERT INTO items (name, note, qty, price, amount, born, tags)
                 VALUES ('streamed', 'n\"q', -1, -0.01, -12345678901234567890.5, '1960-01-01', '{}');
             UPDATE items SET note = 'changed', score = 'NaN' WHERE name = 'snap';
             ALTER TABLE items ADD COLUMN extra text;
             INSERT INTO items (name, extra) VALUES ('after ddl', 'new column');
             DELETE FROM items WHERE name = 'streamed';",
        )
        .await
        .expect("workload");
    // snapshot read + insert + update + insert + delete (+ its tombstone)
    wait_for(Duration::from_secs(60), "the Avro records", || {
        let n = capture.0.lock().map(|r| r.len()).unwrap_or(0);
        async move { (n >= 6).then_some(()) }
    })
    .await;
    stop.cancel();
    let result = task.await.expect("join");
    assert!(result.is_ok(), "connector: {result:?}");

    let records = capture.0.lock().map(|r| r.clone()).unwrap_or_default();
    let keys_json = keys_json.lock().map(|j| j.clone()).unwrap_or_default();
    let values_json = values_json.lock().map(|j| j.clone()).unwrap_or_default();
    assert_eq!(records.len(), keys_json.len());
    assert_eq!(records.len(), values_json.len());
    let mut value_ids = Vec::new();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(&*r.topic, "av.public.items");
        let key = r.key.as_deref().expect("every record has a key");
        let (_, key_avro) = decode(&registry, key).await;
        let key_json: Json =
            serde_json::from_slice(keys_json[i].as_deref().unwrap_or_default()).expect("json key");
        assert_eq!(key_avro, key_json, "key of record {i}");
        match (&r.value, &values_json[i]) {
            (Some(bytes), Some(json_bytes)) => {
                let (id, value) = decode(&registry, bytes).await;
                let mut expected: Json = serde_json::from_slice(json_bytes).expect("json value");
                // The JSON converter quotes a NaN double; Avro carries a real NaN, which
                // serde_json can only hold as null.
                for side in ["before", "after"] {
                    if expected[side]["score"] == json!("NaN") {
                        expected[side]["score"] = Json::Null;
                    }
                }
                assert_eq!(value, expected, "value of record {i}");
                value_ids.push((value["op"].as_str().unwrap_or_default().to_string(), id));
            }
            (None, None) => value_ids.push(("tombstone".into(), 0)),
            other => panic!("record {i}: avro and json disagree on null: {other:?}"),
        }
    }
    // One subject per side; the added column made a second value version, used from the
    // first record that has it on.
    assert_eq!(
        registry.subjects(),
        vec!["av.public.items-key", "av.public.items-value"]
    );
    let versions = registry.versions("av.public.items-value");
    assert_eq!(versions.len(), 2, "{value_ids:?}");
    let ops: Vec<&str> = value_ids.iter().map(|(op, _)| op.as_str()).collect();
    assert_eq!(ops, vec!["r", "c", "u", "c", "d", "tombstone"]);
    assert_eq!(value_ids[0].1, versions[0]);
    assert_eq!(value_ids[2].1, versions[0]);
    assert_eq!(value_ids[3].1, versions[1], "the insert after ADD COLUMN");
}
