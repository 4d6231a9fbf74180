//! The Kafka sink against librdkafka's mock cluster (in-process brokers that can be taken
//! down, and that support idempotent and transactional producers). The end-to-end test
//! against a real broker process is `tests/kafka_sink.rs` of the `sluice` package.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use sluice_testcontainers::kafka::{read_topic, Isolation, MockKafka, ReadRecord};

use super::*;
use crate::SinkErrorClass;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn sink_config(bootstrap: &str, extra: &[(&str, &str)]) -> KafkaSinkConfig {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut map: BTreeMap<String, String> = BTreeMap::from([
        ("bootstrap.servers".to_string(), bootstrap.to_string()),
        // Reconnect quickly after a broker comes back (librdkafka's default backs off to 10s).
        (
            "producer.reconnect.backoff.max.ms".to_string(),
            "200".to_string(),
        ),
    ]);
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    match KafkaSinkConfig::from_worker(&map) {
        Ok((config, _)) => config,
        Err(e) => panic!("test config is invalid: {e}"),
    }
}

fn record(
    topic: &str,
    key: &str,
    value: String,
    headers: Vec<(String, Option<Vec<u8>>)>,
) -> SinkRecord {
    SinkRecord {
        topic: topic.into(),
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.into_bytes()),
        headers,
        timestamp_ms: None,
    }
}

/// Kafka's Java `Utils.murmur2`, which its default partitioner uses for keyed records.
fn java_murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1e995;
    let mut h: u32 = 0x9747b28c ^ (data.len() as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (java_murmur2(key) & 0x7fff_ffff) % partitions
}

/// Per key, the values in offset order; asserts each key stayed in one partition.
fn values_by_key(records: &[ReadRecord]) -> HashMap<Vec<u8>, (i32, Vec<String>)> {
    let mut by_key: HashMap<Vec<u8>, (i32, Vec<String>)> = HashMap::new();
    for r in records {
        let key = r.key.clone().unwrap_or_default();
        let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
        let entry = by_key
            .entry(key.clone())
            .or_insert((r.partition, Vec::new()));
        assert_eq!(
            entry.0,
            r.partition,
            "key {} is in two partitions",
            String::from_utf8_lossy(&key)
        );
        entry.1.push(value);
    }
    by_key
}

/// Polls `condition` until it holds (a wait on a condition, with a generous deadline).
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn java_murmur2_matches_kafka_test_vectors() {
    // From Kafka's UtilsTest.testMurmur2.
    assert_eq!(java_murmur2(b"21"), -973932308);
    assert_eq!(java_murmur2(b"foobar"), -790332482);
    assert_eq!(java_murmur2(b"a-little-bit-long-string"), -985981536);
    assert_eq!(java_murmur2(b"a-little-bit-longer-string"), -1486304829);
    assert_eq!(
        java_murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
        -58897971
    );
    assert_eq!(java_murmur2(b"abc"), 479470107);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_acknowledged_and_keys_keep_order_partition_and_headers() -> TestResult {
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("pg.public.orders", 4)?;
    let mut sink = KafkaSink::new(&sink_config(&bootstrap, &[]))?;

    const BATCHES: usize = 6;
    const PER_BATCH: usize = 50;
    let mut deliveries = Vec::new();
    for b in 0..BATCHES {
        let records = (0..PER_BATCH)
            .map(|i| {
                let n = b * PER_BATCH + i;
                let mut r = record(
                    "pg.public.orders",
                    &format!("{{\"id\":{}}}", n % 13),
                    format!("{n:05}"),
                    vec![
                        ("__debezium.op".to_string(), Some(b"c".to_vec())),
                        ("null-header".to_string(), None),
                        ("seq".to_string(), Some(n.to_string().into_bytes())),
                    ],
                );
                r.timestamp_ms = Some(1_700_000_000_000 + n as i64);
                r
            })
            .collect();
        deliveries.push(sink.send(records).await?);
    }
    for delivery in deliveries {
        delivery.await?;
    }
    sink.sync().await?;

    let read = read_topic(
        &bootstrap,
        "pg.public.orders",
        BATCHES * PER_BATCH,
        Isolation::ReadUncommitted,
    )
    .await?;
    for r in &read {
        let n: usize = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).parse()?;
        assert_eq!(
            r.headers,
            vec![
                ("__debezium.op".to_string(), Some(b"c".to_vec())),
                ("null-header".to_string(), None),
                ("seq".to_string(), Some(n.to_string().into_bytes())),
            ]
        );
        assert_eq!(r.timestamp_ms, Some(1_700_000_000_000 + n as i64));
    }
    let by_key = values_by_key(&read);
    assert_eq!(by_key.len(), 13);
    for (key, (partition, values)) in &by_key {
        // Same partition as Kafka's Java producer would choose (murmur2).
        assert_eq!(
            *partition,
            java_partition(key, 4),
            "key {}",
            String::from_utf8_lossy(key)
        );
        // In send order.
        let mut sorted = values.clone();
        sorted.sort();
        assert_eq!(values, &sorted);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_blocks_sends_then_delivers_everything() -> TestResult {
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("cdc", 2)?;
    const QUEUE_LIMIT: usize = 100;
    let config = sink_config(
        &bootstrap,
        &[("producer.queue.buffering.max.messages", "100")],
    );
    let sink = KafkaSink::new(&config)?;
    let probe = sink.clone();

    kafka.all_down()?;
    const BATCHES: usize = 30;
    const PER_BATCH: usize = 10;
    let sent = Arc::new(AtomicUsize::new(0));
    let resolved = Arc::new(AtomicUsize::new(0));
    let task = {
        let sent = Arc::clone(&sent);
        let resolved = Arc::clone(&resolved);
        let mut sink = sink;
        tokio::spawn(async move {
            let mut deliveries = Vec::new();
            for b in 0..BATCHES {
                let records = (0..PER_BATCH)
                    .map(|i| {
                        record(
                            "cdc",
                            &format!("k{}", i % 3),
                            format!("{:04}", b * PER_BATCH + i),
                            vec![],
                        )
                    })
                    .collect();
                let delivery = sink.send(records).await?;
                sent.fetch_add(1, Ordering::SeqCst);
                let resolved = Arc::clone(&resolved);
                deliveries.push(tokio::spawn(async move {
                    let result = delivery.await;
                    resolved.fetch_add(1, Ordering::SeqCst);
                    result
                }));
            }
            for d in deliveries {
                d.await.map_err(|_| SinkError::Closed)??;
            }
            Ok::<(), SinkError>(())
        })
    };

    // The queue fills up to its limit and no further: send waits (backpressure).
    wait_for("the producer queue to fill", || {
        probe.queued_records() >= QUEUE_LIMIT
    })
    .await;
    assert!(
        sent.load(Ordering::SeqCst) < BATCHES,
        "every batch was accepted although the broker is down and the queue is full"
    );
    assert!(
        probe.queued_records() <= QUEUE_LIMIT + 10,
        "queue grew past its limit: {}",
        probe.queued_records()
    );
    assert_eq!(
        resolved.load(Ordering::SeqCst),
        0,
        "a delivery resolved while the broker was down"
    );

    kafka.all_up()?;
    task.await??;
    assert_eq!(sent.load(Ordering::SeqCst), BATCHES);

    let read = read_topic(
        &bootstrap,
        "cdc",
        BATCHES * PER_BATCH,
        Isolation::ReadUncommitted,
    )
    .await?;
    let by_key = values_by_key(&read);
    let mut all: Vec<String> = Vec::new();
    for (_, (_, values)) in by_key {
        let mut sorted = values.clone();
        sorted.sort();
        assert_eq!(values, sorted, "a key's records are out of order");
        all.extend(values);
    }
    all.sort();
    let expected: Vec<String> = (0..BATCHES * PER_BATCH)
        .map(|n| format!("{n:04}"))
        .collect();
    assert_eq!(all, expected, "records lost or duplicated");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_record_fails_the_delivery_with_a_clear_error() -> TestResult {
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("big", 1)?;
    let mut sink = KafkaSink::new(&sink_config(
        &bootstrap,
        &[("producer.max.request.size", "2000")],
    ))?;
    let batch = vec![
        record("big", "a", "small-1".into(), vec![]),
        record("big", "b", "x".repeat(5000), vec![]),
        record("big", "c", "small-2".into(), vec![]),
    ];
    let error = match sink.send(batch).await?.await {
        Ok(()) => panic!("a 5000-byte record was accepted with max.request.size=2000"),
        Err(e) => e,
    };
    assert_eq!(error.class(), SinkErrorClass::Definite);
    let message = error.to_string();
    assert!(message.contains("topic big"), "{message}");
    assert!(message.contains("producer.max.request.size"), "{message}");
    let SinkError::Rejected(rejected) = error else {
        panic!("expected a rejection, got {message}");
    };
    assert!(rejected.others_delivered);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected.records[0].record.key.as_deref(), Some(&b"b"[..]));
    assert!(matches!(rejected.records[0].reason, Rejection::TooLarge { bytes } if bytes >= 5000));
    // The rest of the batch was delivered.
    let read = read_topic(&bootstrap, "big", 2, Isolation::ReadUncommitted).await?;
    let values: Vec<_> = read
        .iter()
        .map(|r| r.value.clone().unwrap_or_default())
        .collect();
    assert_eq!(values, vec![b"small-1".to_vec(), b"small-2".to_vec()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_refusal_names_the_topic_and_the_fix() -> TestResult {
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("secret", 1)?;
    let mut sink = KafkaSink::new(&sink_config(&bootstrap, &[]))?;
    // A first batch connects the producer (idempotent producer id) before the refusal.
    sink.send(vec![record("secret", "k", "before".into(), vec![])])
        .await?
        .await?;
    kafka.fail_requests(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    let error = match sink
        .send(vec![record("secret", "k", "refused".into(), vec![])])
        .await?
        .await
    {
        Ok(()) => panic!("the broker refused the record but the delivery succeeded"),
        Err(e) => e,
    };
    let message = error.to_string();
    assert_eq!(error.class(), SinkErrorClass::Definite, "{message}");
    assert!(message.contains("topic secret"), "{message}");
    assert!(message.contains("grant it WRITE"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_sink_commits_each_batch_with_its_offset_record() -> TestResult {
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("pg.public.t", 2)?;
    kafka.create_topic("connect-offsets", 1)?;
    let config = sink_config(
        &bootstrap,
        &[
            ("exactly.once.source.support", "enabled"),
            ("group.id", "cluster-a"),
            ("offset.storage.topic", "connect-offsets"),
        ],
    );
    let mut sink = KafkaSink::transactional(&config, "inventory", 0)?;
    assert_eq!(sink.transactional_id(), Some("cluster-a-inventory-0"));

    let batch = |b: usize| -> Vec<SinkRecord> {
        let mut records: Vec<SinkRecord> = (0..20)
            .map(|i| {
                record(
                    "pg.public.t",
                    &format!("k{}", i % 4),
                    format!("{b}-{i:02}"),
                    vec![],
                )
            })
            .collect();
        records.push(SinkRecord {
            topic: "connect-offsets".into(),
            key: Some(br#"["inventory",{"server":"pg"}]"#.to_vec()),
            value: Some(format!(r#"{{"lsn":{b}}}"#).into_bytes()),
            headers: vec![],
            timestamp_ms: None,
        });
        records
    };
    for b in 0..3 {
        sink.send(batch(b)).await?.await?;
    }

    // The commit of batch 3 fails in a way that needs an abort: the sink aborts and runs the
    // whole batch again in a new transaction, and only then acknowledges it.
    kafka.fail_requests(
        RDKafkaApiKey::EndTxn,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID],
    );
    sink.send(batch(3)).await?.await?;

    // The mock cluster writes no transaction markers, so the aborted attempt stays visible
    // here (a real broker hides it from read_committed readers): batch 3 appears twice.
    let offsets = read_topic(&bootstrap, "connect-offsets", 5, Isolation::ReadUncommitted).await?;
    let values: Vec<String> = offsets
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    assert_eq!(
        values,
        vec![
            r#"{"lsn":0}"#,
            r#"{"lsn":1}"#,
            r#"{"lsn":2}"#,
            r#"{"lsn":3}"#,
            r#"{"lsn":3}"#
        ]
    );
    read_topic(
        &bootstrap,
        "pg.public.t",
        5 * 20,
        Isolation::ReadUncommitted,
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_sink_rejects_a_too_large_record_without_committing() -> TestResult {
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("t", 1)?;
    let config = sink_config(
        &bootstrap,
        &[
            ("exactly.once.source.support", "enabled"),
            ("producer.max.request.size", "2000"),
        ],
    );
    let mut sink = KafkaSink::transactional(&config, "c", 0)?;
    let error = match sink
        .send(vec![
            record("t", "a", "fine".into(), vec![]),
            record("t", "b", "x".repeat(5000), vec![]),
        ])
        .await?
        .await
    {
        Ok(()) => panic!("a too-large record was committed"),
        Err(e) => e,
    };
    let SinkError::Rejected(rejected) = &error else {
        panic!("expected a rejection, got {error}");
    };
    assert!(
        !rejected.others_delivered,
        "the transaction must have been aborted"
    );
    assert_eq!(rejected.len(), 1);
    // The sink is still usable: the next batch commits.
    sink.send(vec![record("t", "a", "after".into(), vec![])])
        .await?
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_producer_fails_for_good_with_a_clear_error() -> TestResult {
    // The mock cluster does not fence a second producer with the same transactional id by
    // itself, so the broker's answer to a fenced producer is injected.
    let kafka = MockKafka::start(1)?;
    let bootstrap = kafka.bootstrap_servers();
    kafka.create_topic("t", 1)?;
    let config = sink_config(&bootstrap, &[("exactly.once.source.support", "enabled")]);
    let mut sink = KafkaSink::transactional(&config, "c", 0)?;
    sink.send(vec![record("t", "a", "1".into(), vec![])])
        .await?
        .await?;
    kafka.fail_requests(
        RDKafkaApiKey::EndTxn,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_PRODUCER_FENCED],
    );
    let error = match sink
        .send(vec![record("t", "a", "2".into(), vec![])])
        .await?
        .await
    {
        Ok(()) => panic!("a fenced producer committed"),
        Err(e) => e,
    };
    assert_eq!(error.class(), SinkErrorClass::Config, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("sluice-c-0") && message.contains("fenced"),
        "{message}"
    );
    // Every later batch fails the same way instead of hanging.
    let later = sink
        .send(vec![record("t", "a", "3".into(), vec![])])
        .await?
        .await;
    assert!(
        matches!(later, Err(SinkError::KafkaFatal { .. })),
        "{later:?}"
    );
    Ok(())
}
