//! Kafka Connect's error handling (`errors.tolerance`, `errors.retry.*`, `errors.log.*`,
//! `errors.deadletterqueue.*`) on real data: records a real broker refuses, a column the Avro
//! converter cannot write, and a Schema Registry that fails and heals.
//!
//! ```text
//! Postgres ──> sluice ──> tansu broker: <prefix>.public.kept        (topic exists)
//!                     ├─> <prefix>.public.orphan (no topic: refused) ──> <prefix>-dlq
//!                     └─> REST status / offsets / metrics
//! Postgres ──> pipeline (Avro converter + registry double) ──> capture sink (+ dead letters)
//! ```
//! tansu does not enforce `max.message.bytes` (a 5000-byte record is accepted by a topic
//! created with `max.message.bytes=1000`), so the record refused for good here is one for a
//! topic that does not exist and is not created: the same `Rejected` path a too-large record
//! takes (the Kafka sink's own tests cover the too-large classification).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sluice::converter::avro::{AvroConverter, SCHEMA_REGISTRY_URL};
use sluice::offset::MemoryOffsetStore;
use sluice::pipeline::{Pipeline, PipelineError, PipelineLimits};
use sluice::postgres::connector::{run, ConnectorError, TaskSettings};
use sluice_config::transforms::TransformsConfig;
use sluice_config::ConnectorConfig;
use sluice_sinks::{Delivery, Sink, SinkError, SinkRecord};
use sluice_testcontainers::kafka::{read_topic, Isolation, KafkaBroker, ReadRecord};
use sluice_testcontainers::{InjectedFailure, PgServer, SchemaRegistry};
use tokio_util::sync::CancellationToken;

use crate::support::process::{pg_connector_props, SluiceProcess};
use crate::support::{props, wait_for, wait_slot_active};

const WAIT: Duration = Duration::from_secs(60);

/// A value no log line may contain (it is a row value).
const SECRET: &str = "s3cr3t-row-value";

/// The REST address the process logged.
async fn rest_base(process: &mut SluiceProcess) -> String {
    wait_for(WAIT, "the REST API to listen", || {
        let text = process.stderr_text();
        let found = text.lines().find_map(|l| {
            l.split_once("REST API listening on ")
                .map(|(_, url)| url.trim().to_string())
        });
        if found.is_none() {
            assert!(process.is_running(), "sluice exited:\n{text}");
        }
        async move { found }
    })
    .await
}

/// GET through curl: the body as text.
fn get_text(url: &str) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", "-S", "-f", url])
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "GET {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn get_json(url: &str) -> Value {
    serde_json::from_str(&get_text(url)).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// A worker writing schemaless JSON to `bootstrap`, offsets in a file in `dir`, with the REST
/// API on a free port. No topic creation rules: a topic that does not exist stays missing.
fn kafka_worker(bootstrap: &str, dir: &std::path::Path) -> BTreeMap<String, String> {
    let offsets = dir.join("offsets.dat").display().to_string();
    props(&[
        ("bootstrap.servers", bootstrap),
        ("offset.storage.file.filename", &offsets),
        ("offset.flush.interval.ms", "200"),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("key.converter.schemas.enable", "false"),
        ("value.converter.schemas.enable", "false"),
        ("producer.reconnect.backoff.max.ms", "200"),
        // A produce to a missing topic fails after this (librdkafka's default is 30 s).
        ("producer.topic.metadata.propagation.max.ms", "1000"),
        ("listeners", "http://127.0.0.1:0"),
    ])
}

struct KafkaSetup {
    _server: PgServer,
    client: tokio_postgres::Client,
    kafka: KafkaBroker,
    slot: String,
    prefix: String,
    connector: BTreeMap<String, String>,
    dir: tempfile::TempDir,
}

/// Postgres with `kept` (its topic exists) and `orphan` (no topic), and a tansu broker.
async fn kafka_setup(name: &str) -> KafkaSetup {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database(name).await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute(
            "CREATE TABLE kept (id int PRIMARY KEY, note text);
             CREATE TABLE orphan (id int PRIMARY KEY, note text);",
        )
        .await
        .expect("tables");
    let kafka = KafkaBroker::start().expect("start the kafka broker");
    let slot = PgServer::unique_name(name);
    let prefix = slot.replace('_', "-");
    kafka
        .create_topic(&format!("{prefix}.public.kept"), 1)
        .await
        .expect("create the kept topic");
    let connector = pg_connector_props(&server, &db, &slot, &slot, &prefix);
    KafkaSetup {
        _server: server,
        client,
        kafka,
        slot,
        prefix,
        connector,
        dir: tempfile::tempdir().expect("temp dir"),
    }
}

fn header(record: &ReadRecord, name: &str) -> Option<String> {
    record
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
        .map(|v| String::from_utf8_lossy(v).to_string())
}

fn json_of(bytes: &Option<Vec<u8>>) -> Value {
    serde_json::from_slice(bytes.as_deref().unwrap_or_default()).unwrap_or(Value::Null)
}

/// `errors.tolerance=all` with a dead letter queue: the record Kafka refuses lands in the dead
/// letter topic with Connect's context headers, the records before and after it arrive, the
/// committed offset moves past it, and the log names the failure without the row's values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_record_goes_to_the_dead_letter_queue_and_offsets_move_on() {
    let mut s = kafka_setup("dlq").await;
    let dlq = format!("{}-dlq", s.prefix);
    s.connector.extend(props(&[
        ("errors.tolerance", "all"),
        ("errors.log.enable", "true"),
        ("errors.deadletterqueue.topic.name", &dlq),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ]));
    let bootstrap = s.kafka.bootstrap_servers().to_string();
    let mut sluice = SluiceProcess::spawn(&kafka_worker(&bootstrap, s.dir.path()), &s.connector);
    let base = rest_base(&mut sluice).await;
    wait_slot_active(&s.client, &s.slot).await;

    s.client
        .batch_execute(&format!(
            "INSERT INTO kept VALUES (1, 'before');
             INSERT INTO orphan VALUES (7, '{SECRET}');"
        ))
        .await
        .expect("insert");
    // The dead letter topic is created when the first refused record comes back.
    let connector_label = format!("{{connector=\"{}\"}}", s.prefix);
    let dead_lettered = format!("sluice_connector_dead_letter_records_total{connector_label} 1");
    wait_for(WAIT, "the refused record to be dead-lettered", || {
        let done = get_text(&format!("{base}/metrics")).contains(&dead_lettered);
        async move { done.then_some(()) }
    })
    .await;
    let dead = read_topic(&bootstrap, &dlq, 1, Isolation::ReadUncommitted)
        .await
        .unwrap_or_else(|e| panic!("the dead letter topic: {e}\n{}", sluice.stderr_text()));
    // Records after the refused one still arrive.
    s.client
        .batch_execute("INSERT INTO kept VALUES (2, 'after');")
        .await
        .expect("insert after");
    let after_lsn: String = s
        .client
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .await
        .expect("lsn")
        .get(0);
    let kept = read_topic(
        &bootstrap,
        &format!("{}.public.kept", s.prefix),
        2,
        Isolation::ReadUncommitted,
    )
    .await
    .unwrap_or_else(|e| panic!("the kept topic: {e}\n{}", sluice.stderr_text()));
    let kept_ids: Vec<Value> = kept
        .iter()
        .map(|r| json_of(&r.value)["after"]["id"].clone())
        .collect();
    assert_eq!(kept_ids, [json!(1), json!(2)]);

    // The dead letter: the original key and value, and where and why it failed.
    let d = &dead[0];
    assert_eq!(json_of(&d.key), json!({"id": 7}));
    let value = json_of(&d.value);
    assert_eq!(value["after"], json!({"id": 7, "note": SECRET}));
    assert_eq!(value["op"], "c");
    let orphan_topic = format!("{}.public.orphan", s.prefix);
    assert_eq!(header(d, "__connect.errors.topic"), Some(orphan_topic));
    assert_eq!(
        header(d, "__connect.errors.partition").as_deref(),
        Some("-1")
    );
    assert_eq!(header(d, "__connect.errors.offset").as_deref(), Some("-1"));
    assert_eq!(
        header(d, "__connect.errors.connector.name"),
        Some(s.prefix.clone())
    );
    assert_eq!(header(d, "__connect.errors.task.id").as_deref(), Some("0"));
    assert_eq!(
        header(d, "__connect.errors.stage").as_deref(),
        Some("KAFKA_PRODUCE")
    );
    assert_eq!(
        header(d, "__connect.errors.exception.class.name").as_deref(),
        Some("org.apache.kafka.common.errors.UnknownTopicOrPartitionException")
    );
    let message = header(d, "__connect.errors.exception.message").unwrap_or_default();
    assert!(message.contains("does not exist"), "{message}");
    assert!(header(d, "__connect.errors.exception.stacktrace").is_some());
    assert!(header(d, "__connect.errors.class.name").is_some());

    // The position after the refused record is committed: the slot's flush LSN follows it.
    wait_for(
        WAIT,
        "the committed position to pass the refused record",
        || {
            let client = &s.client;
            let slot = &s.slot;
            let lsn = &after_lsn;
            async move {
                client
                    .query_one(
                        "SELECT confirmed_flush_lsn >= $2::text::pg_lsn FROM pg_replication_slots \
                     WHERE slot_name = $1",
                        &[slot, lsn],
                    )
                    .await
                    .ok()
                    .and_then(|row| row.get::<_, Option<bool>>(0))
                    .filter(|passed| *passed)
            }
        },
    )
    .await;
    let status = get_json(&format!("{base}/connectors/{}/status", s.prefix));
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let metrics = get_text(&format!("{base}/metrics"));
    assert!(
        metrics.contains(&format!(
            "sluice_connector_records_skipped_total{connector_label} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "sluice_connector_dead_letter_records_total{connector_label} 1"
        )),
        "{metrics}"
    );
    let log = sluice.stderr_text();
    assert!(
        log.contains("KAFKA_PRODUCE") && log.contains("record skipped"),
        "errors.log.enable=true logs the skipped record:\n{log}"
    );
    assert!(
        !log.contains(SECRET),
        "row values reached the log without errors.log.include.messages:\n{log}"
    );
    sluice.sigterm_and_wait();
}

/// Without `errors.tolerance=all` a refused record fails the connector; its status says what
/// to change, and nothing after the record is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_record_fails_the_connector_without_tolerance() {
    let s = kafka_setup("nodlq").await;
    let bootstrap = s.kafka.bootstrap_servers().to_string();
    let mut sluice = SluiceProcess::spawn(&kafka_worker(&bootstrap, s.dir.path()), &s.connector);
    let base = rest_base(&mut sluice).await;
    wait_slot_active(&s.client, &s.slot).await;
    s.client
        .batch_execute(&format!("INSERT INTO orphan VALUES (7, '{SECRET}');"))
        .await
        .expect("insert");
    let after_lsn: String = s
        .client
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .await
        .expect("lsn")
        .get(0);
    let status_url = format!("{base}/connectors/{}/status", s.prefix);
    let status = wait_for(WAIT, "the connector to fail", || {
        let url = status_url.clone();
        async move {
            let status = get_json(&url);
            (status["tasks"][0]["state"] == "FAILED").then_some(status)
        }
    })
    .await;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    let orphan_topic = format!("{}.public.orphan", s.prefix);
    assert!(trace.contains(&orphan_topic), "{trace}");
    assert!(
        trace.contains("topic.creation.default.partitions"),
        "the trace says how to get the topic created: {trace}"
    );
    assert!(
        trace.contains("errors.tolerance=all"),
        "the trace names the dead letter queue: {trace}"
    );
    assert!(!trace.contains(SECRET), "{trace}");
    // Nothing at or after the refused record was committed: it is read again after a restart.
    let committed_past: Option<bool> = s
        .client
        .query_one(
            "SELECT confirmed_flush_lsn >= $2::text::pg_lsn FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[&s.slot, &after_lsn],
        )
        .await
        .expect("slot")
        .get(0);
    let offsets = get_text(&format!("{base}/connectors/{}/offsets", s.prefix));
    let slot_row = s
        .client
        .query_one(
            "SELECT confirmed_flush_lsn::text, restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&s.slot],
        )
        .await
        .expect("slot");
    let flushed: Option<String> = slot_row.get(0);
    assert_ne!(
        committed_past,
        Some(true),
        "the refused record's position was committed: slot at {flushed:?}, insert ended at {after_lsn}, offsets {offsets}\n{}",
        sluice.stderr_text()
    );
    sluice.sigterm_and_wait();
}

/// Keeps every record, acknowledged at once.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<SinkRecord>>>);

impl Capture {
    fn records(&self) -> Vec<SinkRecord> {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

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

type Task = tokio::task::JoinHandle<(
    Result<(), ConnectorError>,
    Pipeline<Capture, sluice::postgres::position::PgPosition>,
)>;

/// A Postgres connector for `db` through the Avro converter (registry double) into `sink`,
/// with `errors` added to its config (the `errors.*` keys and Debezium's).
fn avro_pipeline(
    server: &PgServer,
    db: &str,
    slot: &str,
    registry: &SchemaRegistry,
    errors: &[(&str, &str)],
    sink: &Capture,
    stop: &CancellationToken,
) -> Task {
    let mut connector = pg_connector_props(server, db, slot, slot, "av");
    connector.extend(props(errors));
    let errors = TransformsConfig::from_map(&connector)
        .expect("valid errors.* keys")
        .errors;
    let (_, connectors) =
        sluice::worker::parse_configs(&Default::default(), &[connector]).expect("valid config");
    let Some(ConnectorConfig::Postgres(pg)) = connectors.into_iter().next() else {
        panic!("a postgres connector");
    };
    let converter_props = props(&[(SCHEMA_REGISTRY_URL, registry.url())]);
    let key = AvroConverter::from_props(true, &converter_props).expect("key converter");
    let value = AvroConverter::from_props(false, &converter_props).expect("value converter");
    let mut pipeline = Pipeline::new(
        "av",
        json!({"server": "av"}),
        Box::new(key),
        Box::new(value),
        sink.clone(),
        Box::new(MemoryOffsetStore::default()),
        PipelineLimits::default(),
    )
    .with_error_handling(errors, stop.clone(), Some(sink.clone()));
    let stop = stop.clone();
    tokio::spawn(async move {
        let settings = TaskSettings {
            offset_flush_interval: Duration::from_millis(100),
        };
        let result = run(Arc::new(pg), &mut pipeline, &settings, &stop).await;
        (result, pipeline)
    })
}

/// A column whose name Avro cannot carry (Debezium's default `field.name.adjustment.mode` is
/// `none`) makes the Avro converter fail for good on that table. With `errors.tolerance=all`
/// its records are skipped and dead-lettered (value as schemaless JSON, key as converted),
/// the other table's records go on, and the position is committed past them; without
/// tolerance the connector fails saying what to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_converter_failure_is_skipped_with_tolerance_all() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("avroerr").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute(
            "CREATE TABLE good (id int PRIMARY KEY, name text);
             CREATE TABLE bad (id int PRIMARY KEY, \"unit-price\" int);",
        )
        .await
        .expect("tables");
    let registry = SchemaRegistry::start().expect("registry double");

    // errors.tolerance=none (the default): the connector fails and names the fix.
    let slot = PgServer::unique_name("avroerr_none");
    let sink = Capture::default();
    let stop = CancellationToken::new();
    let task = avro_pipeline(&server, &db, &slot, &registry, &[], &sink, &stop);
    wait_slot_active(&client, &slot).await;
    client
        .batch_execute("INSERT INTO bad VALUES (1, 10);")
        .await
        .expect("insert");
    let (result, _) = tokio::time::timeout(WAIT, task)
        .await
        .expect("the connector fails in time")
        .expect("join");
    let error = result.expect_err("an Avro-invalid column fails the connector");
    let message = sluice::postgres::connector::error_chain(&error);
    assert!(
        matches!(
            error,
            ConnectorError::Pipeline(PipelineError::Convert { .. })
        ),
        "{message}"
    );
    assert!(message.contains("unit-price"), "{message}");
    assert!(
        message.contains("field.name.adjustment.mode=avro"),
        "{message}"
    );

    // errors.tolerance=all with a dead letter queue.
    let slot = PgServer::unique_name("avroerr_all");
    let sink = Capture::default();
    let stop = CancellationToken::new();
    let task = avro_pipeline(
        &server,
        &db,
        &slot,
        &registry,
        &[
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "av-dlq"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
        &sink,
        &stop,
    );
    wait_slot_active(&client, &slot).await;
    client
        .batch_execute(
            "INSERT INTO good VALUES (1, 'one');
             INSERT INTO bad VALUES (2, 20);
             INSERT INTO bad VALUES (3, 30);
             INSERT INTO good VALUES (4, 'four');",
        )
        .await
        .expect("insert");
    let end_lsn: String = client
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .await
        .expect("lsn")
        .get(0);
    wait_for(WAIT, "two good records and two dead letters", || {
        let n = sink.records().len();
        async move { (n >= 4).then_some(()) }
    })
    .await;
    wait_for(
        WAIT,
        "the position to be committed past the bad rows",
        || {
            let client = &client;
            let slot = &slot;
            let lsn = &end_lsn;
            async move {
                client
                    .query_one(
                        "SELECT confirmed_flush_lsn >= $2::text::pg_lsn FROM pg_replication_slots \
                     WHERE slot_name = $1",
                        &[slot, lsn],
                    )
                    .await
                    .ok()
                    .and_then(|row| row.get::<_, Option<bool>>(0))
                    .filter(|passed| *passed)
            }
        },
    )
    .await;
    stop.cancel();
    let (result, pipeline) = task.await.expect("join");
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(pipeline.metrics().skipped(), 2);

    let records = sink.records();
    let good: Vec<&SinkRecord> = records
        .iter()
        .filter(|r| &*r.topic == "av.public.good")
        .collect();
    let dead: Vec<&SinkRecord> = records.iter().filter(|r| &*r.topic == "av-dlq").collect();
    assert_eq!(good.len(), 2, "{records:?}");
    assert_eq!(dead.len(), 2, "{records:?}");
    assert_eq!(records.len(), 4, "{records:?}");
    // Good records are Avro (magic byte 0).
    assert!(good
        .iter()
        .all(|r| r.value.as_deref().is_some_and(|v| v[0] == 0)));
    for (d, id) in dead.iter().zip([2, 3]) {
        // The key converted (Avro); the value as schemaless JSON.
        assert_eq!(d.key.as_deref().map(|k| k[0]), Some(0));
        let value: Value =
            serde_json::from_slice(d.value.as_deref().unwrap_or_default()).expect("JSON value");
        assert_eq!(value["after"], json!({"id": id, "unit-price": id * 10}));
        let header = |name: &str| {
            d.headers
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.as_deref())
                .map(|v| String::from_utf8_lossy(v).to_string())
        };
        assert_eq!(
            header("__connect.errors.stage").as_deref(),
            Some("VALUE_CONVERTER")
        );
        assert_eq!(
            header("__connect.errors.class.name").as_deref(),
            Some("io.confluent.connect.avro.AvroConverter")
        );
        assert_eq!(
            header("__connect.errors.exception.class.name").as_deref(),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        assert_eq!(
            header("__connect.errors.topic").as_deref(),
            Some("av.public.bad")
        );
        assert!(
            header("__connect.errors.exception.message").is_some_and(|m| m.contains("unit-price"))
        );
    }
}

/// A Schema Registry that fails (HTTP 500, error 50001) is retried for
/// `errors.retry.timeout` with backoff, and the record goes through once it heals: nothing is
/// skipped. With no retries (`errors.retry.timeout=0`, the default) the same failure fails
/// the connector at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_registry_failures_are_retried_until_it_heals() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("retry").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute("CREATE TABLE good (id int PRIMARY KEY, name text);")
        .await
        .expect("table");
    let registry = SchemaRegistry::start().expect("registry double");

    let slot = PgServer::unique_name("retry_on");
    let sink = Capture::default();
    let stop = CancellationToken::new();
    let task = avro_pipeline(
        &server,
        &db,
        &slot,
        &registry,
        &[
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "1000"),
        ],
        &sink,
        &stop,
    );
    wait_slot_active(&client, &slot).await;
    registry.fail_requests(Some(InjectedFailure::backend_error()));
    let before = registry.request_count();
    client
        .batch_execute("INSERT INTO good VALUES (1, 'one');")
        .await
        .expect("insert");
    // Wait for the first try and at least two retries, then heal.
    wait_for(WAIT, "the converter to retry the registry", || {
        let n = registry.request_count();
        async move { (n >= before + 3).then_some(()) }
    })
    .await;
    assert!(
        sink.records().is_empty(),
        "nothing passes while the registry fails"
    );
    registry.fail_requests(None);
    wait_for(WAIT, "the record after the registry healed", || {
        let n = sink.records().len();
        async move { (n >= 1).then_some(()) }
    })
    .await;
    stop.cancel();
    let (result, pipeline) = task.await.expect("join");
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(pipeline.metrics().skipped(), 0);
    assert!(pipeline.metrics().errors() >= 2, "retries count as errors");
    let records = sink.records();
    assert_eq!(records.len(), 1);
    assert_eq!(&*records[0].topic, "av.public.good");

    // No retries: the transient failure fails the connector (which may then be restarted).
    let slot = PgServer::unique_name("retry_off");
    let sink = Capture::default();
    let stop = CancellationToken::new();
    let task = avro_pipeline(
        &server,
        &db,
        &slot,
        &registry,
        &[("errors.max.retries", "0")],
        &sink,
        &stop,
    );
    wait_slot_active(&client, &slot).await;
    registry.fail_requests(Some(InjectedFailure::backend_error()));
    client
        .batch_execute("INSERT INTO good VALUES (2, 'two');")
        .await
        .expect("insert");
    let (result, _) = tokio::time::timeout(WAIT, task)
        .await
        .expect("the connector fails in time")
        .expect("join");
    let error = result.expect_err("a failing registry without retries fails the connector");
    let message = sluice::postgres::connector::error_chain(&error);
    assert!(message.contains("50001"), "{message}");
    stop.cancel();
}
