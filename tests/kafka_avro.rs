//! Postgres → `sluice standalone` → Kafka with Avro and a Schema Registry → a consumer Sluice
//! did not write: Python's `confluent-kafka` reads the topic and `fastavro` decodes every
//! record with the schema the registry holds for the id in its header. What it decodes must
//! be the logical content of the JSON converter's output for the same workload (a second
//! Sluice process on its own slot, writing JSON to a file).
//!
//! ```text
//!            ┌─ sluice (Avro, registry) ──> tansu ──> python: confluent-kafka + fastavro ─┐
//! Postgres ──┤                                                                             ├─ equal
//!            └─ sluice (JSON, no schemas) ──> file ────────────────────────────────────────┘
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use sluice_testcontainers::kafka::KafkaBroker;
use sluice_testcontainers::{PgServer, SchemaRegistry};

use crate::support::process::{events_path, file_worker_props, pg_connector_props, SluiceProcess};
use crate::support::{read_sink, test_python, wait_slot_active};

const SCHEMA: &str = "CREATE TABLE items (
    id serial PRIMARY KEY,
    name text NOT NULL,
    note text,
    qty int,
    price numeric(10,2),
    seen timestamp,
    flag boolean NOT NULL DEFAULT true,
    blob bytea
);
INSERT INTO items (name, note, qty, price, seen, blob)
SELECT 'snap' || g, CASE WHEN g % 2 = 0 THEN NULL ELSE 'n' || g END, g, g * 1.25,
       '2021-01-02 03:04:05.678901'::timestamp + g * interval '1 minute', '\\x00ff'::bytea
FROM generate_series(1, 20) g;";

const WORKLOAD: &str = "
INSERT INTO items (name, qty, price, seen) VALUES ('a', 1, 9.99, '2022-03-04 05:06:07');
UPDATE items SET qty = qty + 100, note = 'changed' WHERE id <= 5;
DELETE FROM items WHERE id IN (6, 7);
INSERT INTO items (name, qty, price, flag, blob) SELECT 'bulk' || g, g, -g * 0.5, false, '\\x0102'::bytea FROM generate_series(1, 50) g;
UPDATE items SET price = 12345678.91 WHERE name = 'a';
INSERT INTO items (name) VALUES ('sentinel');";

/// Reads `topic` from the start until `expected` records arrived; prints one JSON line per
/// record: `{"key": …, "value": …}`, each decoded with the registry schema its header names
/// (decimals as strings, bytes as base64, null for a tombstone).
const CONSUMER: &str = r#"
import base64, decimal, io, json, struct, sys, time, urllib.request
import fastavro
from confluent_kafka import Consumer, TopicPartition

bootstrap, registry, topic, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
schemas = {}

def schema(schema_id):
    if schema_id not in schemas:
        with urllib.request.urlopen(f"{registry}/schemas/ids/{schema_id}") as r:
            body = json.load(r)
        schemas[schema_id] = fastavro.parse_schema(json.loads(body["schema"]))
    return schemas[schema_id]

def decode(data):
    if data is None:
        return None
    if data[0] != 0:
        sys.exit(f"record without the Confluent magic byte: {data[:8]!r}")
    schema_id = struct.unpack(">I", data[1:5])[0]
    return plain(fastavro.schemaless_reader(io.BytesIO(data[5:]), schema(schema_id)))

def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    return v

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": f"sluice-python-check-{time.time_ns()}",
    "enable.auto.commit": False,
})
consumer.assign([TopicPartition(topic, 0, 0)])
out = []
deadline = time.time() + 60
while len(out) < expected and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None:
        continue
    if m.error():
        sys.exit(f"consumer error: {m.error()}")
    out.append({"key": decode(m.key()), "value": decode(m.value())})
consumer.close()
if len(out) != expected:
    sys.exit(f"read {len(out)} records from {topic}, expected {expected}")
for r in out:
    print(json.dumps(r, sort_keys=True))
"#;

/// The unscaled big-endian two's-complement bytes of a Connect Decimal (base64 in JSON) as a
/// decimal string with `scale` digits after the point, as Python's `str(Decimal)` prints it.
fn decimal_string(b64: &str, scale: u32) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("decimal bytes are base64");
    let mut unscaled: i128 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    for b in bytes {
        unscaled = (unscaled << 8) | i128::from(b);
    }
    let sign = if unscaled < 0 { "-" } else { "" };
    let digits = format!(
        "{:0width$}",
        unscaled.unsigned_abs(),
        width = scale as usize + 1
    );
    let (int, frac) = digits.split_at(digits.len() - scale as usize);
    format!("{sign}{int}.{frac}")
}

/// The part of a change event both converters must agree on: key, op, before, after, and
/// where it came from (not the processing times or the slot-dependent snapshot LSN).
fn logical(key: &Value, value: &Value) -> Value {
    let row = |r: &Value| -> Value {
        let mut r = r.clone();
        if let Some(price) = r.get("price").and_then(Value::as_str).map(str::to_string) {
            if !price.contains('.') {
                r["price"] = json!(decimal_string(&price, 2));
            }
        }
        r
    };
    if value.is_null() {
        return json!({"key": key, "tombstone": true});
    }
    json!({
        "key": key,
        "op": value["op"],
        "before": row(&value["before"]),
        "after": row(&value["after"]),
        "table": value["source"]["table"],
        "snapshot": value["source"]["snapshot"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_avro_read_by_python_matches_the_json_converter() {
    let python = test_python();
    let server = PgServer::start().expect("start postgres");
    let db = server
        .create_database("kafka_avro")
        .await
        .expect("database");
    let client = server.connect(&db).await.expect("connect");
    client.batch_execute(SCHEMA).await.expect("schema");
    let broker = KafkaBroker::start().expect("start the kafka broker (tansu)");
    let registry = SchemaRegistry::start().expect("registry double");
    let prefix = format!("kavro{}", std::process::id());
    let topic = format!("{prefix}.public.items");

    let connector = |slot: &str| {
        let mut c = pg_connector_props(&server, &db, slot, slot, &prefix);
        c.insert("table.include.list".into(), "public.items".into());
        c.insert("snapshot.mode".into(), "initial".into());
        c
    };
    let avro_slot = PgServer::unique_name("kavro_avro");
    let json_slot = PgServer::unique_name("kavro_json");
    let work = tempfile::tempdir().expect("tempdir");
    let mut avro_worker: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("bootstrap.servers", broker.bootstrap_servers()),
        ("key.converter", "io.confluent.connect.avro.AvroConverter"),
        ("value.converter", "io.confluent.connect.avro.AvroConverter"),
        ("key.converter.schema.registry.url", registry.url()),
        ("value.converter.schema.registry.url", registry.url()),
        ("topic.creation.default.partitions", "1"),
        ("topic.creation.default.replication.factor", "1"),
        ("listeners", ""),
    ] {
        avro_worker.insert(k.into(), v.into());
    }
    avro_worker.insert(
        "offset.storage.file.filename".into(),
        work.path().join("avro.offsets").display().to_string(),
    );
    let json_worker = file_worker_props(work.path(), false);

    let mut avro = SluiceProcess::spawn(&avro_worker, &connector(&avro_slot));
    let mut json = SluiceProcess::spawn(&json_worker, &connector(&json_slot));
    wait_slot_active(&client, &avro_slot).await;
    wait_slot_active(&client, &json_slot).await;
    client.batch_execute(WORKLOAD).await.expect("workload");

    // The JSON side first: it tells how many records to expect.
    let started = Instant::now();
    let json_records = loop {
        let records = read_sink(&events_path(work.path()));
        let done = records
            .iter()
            .any(|(_, _, v)| v["after"]["name"] == "sentinel");
        if done {
            break records;
        }
        assert!(
            json.is_running() && avro.is_running(),
            "a sluice process exited:\nJSON: {}\nAvro: {}",
            json.stderr_text(),
            avro.stderr_text()
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the JSON worker did not deliver the workload:\n{}",
            json.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let expected: Vec<Value> = json_records
        .iter()
        .filter(|(t, _, _)| *t == topic)
        .map(|(_, k, v)| logical(k, v))
        .collect();

    let script = work.path().join("consume.py");
    std::fs::write(&script, CONSUMER).expect("write the consumer script");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(broker.bootstrap_servers())
        .arg(registry.url())
        .arg(&topic)
        .arg(expected.len().to_string())
        .output()
        .await
        .expect("run the python consumer");
    assert!(
        output.status.success(),
        "python consumer failed: {}\nsluice (avro) stderr:\n{}",
        String::from_utf8_lossy(&output.stderr),
        avro.stderr_text()
    );
    let decoded: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line from the consumer"))
        .map(|r| logical(&r["key"], &r["value"]))
        .collect();

    // Snapshot rows may come in another order; streamed changes in commit order.
    let split = |records: &[Value]| -> (Vec<Value>, Vec<Value>) {
        let (mut snap, stream): (Vec<Value>, Vec<Value>) =
            records.iter().cloned().partition(|r| r["op"] == "r");
        snap.sort_by_key(|r| r["key"].to_string());
        (snap, stream)
    };
    let (want_snap, want_stream) = split(&expected);
    let (got_snap, got_stream) = split(&decoded);
    assert_eq!(want_snap.len(), 20, "snapshot rows");
    assert_eq!(got_snap, want_snap, "snapshot records differ");
    assert_eq!(got_stream.len(), want_stream.len(), "streamed record count");
    for (i, (got, want)) in got_stream.iter().zip(&want_stream).enumerate() {
        assert_eq!(got, want, "streamed record {i} differs");
    }
    assert!(
        registry.subjects().contains(&format!("{topic}-value")),
        "value schema registered under TopicNameStrategy: {:?}",
        registry.subjects()
    );
    for p in [&mut avro, &mut json] {
        let status = p.sigterm_and_wait();
        assert!(status.success(), "exit {status:?}\n{}", p.stderr_text());
    }
    eprintln!(
        "kafka avro: {} records decoded by python (confluent-kafka + fastavro) equal the JSON converter's",
        decoded.len()
    );
}
