//! The Kafka sink against a real broker process (tansu, started by `sluice-testcontainers`;
//! or the broker named by `SLUICE_TEST_KAFKA_BOOTSTRAP`).
//!
//! ```text
//! KafkaSink --produce (idempotent, acks=all)--> tansu --fetch--> rdkafka consumer
//!    └── topic.creation.* rules --CreateTopics--┘        test: key, value, headers, order per key
//! ```
//! Transactions and broker outages are tested against librdkafka's mock cluster in the
//! `sluice-sinks` crate (tansu has no transactions, and its memory storage does not survive a
//! restart).

use std::collections::{BTreeMap, HashMap};

use sluice_sinks::{KafkaSink, KafkaSinkConfig, Sink, SinkRecord};
use sluice_testcontainers::kafka::{partition_count, read_topic, Isolation, KafkaBroker};

type TestResult = anyhow::Result<()>;

fn worker(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Kafka's Java `Utils.murmur2` (its default partitioner for keyed records).
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    const M: u32 = 0x5bd1e995;
    let mut h: u32 = 0x9747b28c ^ (key.len() as u32);
    let chunks = key.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
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
    ((h as i32) & 0x7fff_ffff) % partitions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_sink_delivers_every_record_to_a_real_broker() -> TestResult {
    let broker = KafkaBroker::start()?;
    let orders = KafkaBroker::unique_topic("orders");
    let customers = KafkaBroker::unique_topic("customers");
    let (config, warnings) = KafkaSinkConfig::from_worker(&worker(&[
        ("bootstrap.servers", broker.bootstrap_servers()),
        ("producer.linger.ms", "5"),
        ("producer.compression.type", "zstd"),
    ]))?;
    assert!(warnings.is_empty(), "{warnings:?}");
    let shared = KafkaSink::new(&config)?;
    // Topic creation as a connector config asks for it (Kafka Connect's KIP-158 keys): the
    // customers topic falls into the "small" group, everything else into the default group.
    let (mut sink, warnings) = shared.for_connector(&worker(&[
        ("topic.creation.groups", "small"),
        ("topic.creation.default.partitions", "3"),
        ("topic.creation.default.replication.factor", "1"),
        ("topic.creation.small.include", customers.as_str()),
        ("topic.creation.small.partitions", "1"),
    ]))?;
    assert!(warnings.is_empty(), "{warnings:?}");

    const BATCHES: usize = 8;
    const PER_BATCH: usize = 40;
    let mut deliveries = Vec::new();
    let mut sent: HashMap<String, Vec<SinkRecord>> = HashMap::new();
    for b in 0..BATCHES {
        let mut records = Vec::new();
        for i in 0..PER_BATCH {
            let n = b * PER_BATCH + i;
            let topic = if i % 4 == 0 { &customers } else { &orders };
            let value = if n % 17 == 16 {
                None // a tombstone
            } else {
                Some(format!(r#"{{"n":{n},"payload":"{}"}}"#, "x".repeat(n % 50)).into_bytes())
            };
            let record = SinkRecord {
                topic: topic.as_str().into(),
                key: Some(format!(r#"{{"id":{}}}"#, n % 11).into_bytes()),
                value,
                headers: vec![
                    ("__op".to_string(), Some(b"u".to_vec())),
                    ("n".to_string(), Some(n.to_string().into_bytes())),
                    ("empty".to_string(), None),
                ],
                timestamp_ms: Some(1_700_000_000_000 + n as i64),
            };
            sent.entry(topic.clone()).or_default().push(record.clone());
            records.push(record);
        }
        deliveries.push(sink.send(records).await?);
    }
    for delivery in deliveries {
        delivery.await?;
    }
    sink.sync().await?;

    assert_eq!(partition_count(broker.bootstrap_servers(), &orders)?, 3);
    assert_eq!(partition_count(broker.bootstrap_servers(), &customers)?, 1);

    for (topic, expected) in &sent {
        let partitions = partition_count(broker.bootstrap_servers(), topic)? as i32;
        let read = read_topic(
            broker.bootstrap_servers(),
            topic,
            expected.len(),
            Isolation::ReadUncommitted,
        )
        .await?;
        // Per key: every record, in send order, in the partition Kafka's Java producer picks.
        let mut expected_by_key: HashMap<Vec<u8>, Vec<&SinkRecord>> = HashMap::new();
        for r in expected {
            expected_by_key
                .entry(r.key.clone().unwrap_or_default())
                .or_default()
                .push(r);
        }
        let mut read_by_key: HashMap<Vec<u8>, Vec<_>> = HashMap::new();
        for r in &read {
            read_by_key
                .entry(r.key.clone().unwrap_or_default())
                .or_default()
                .push(r);
        }
        assert_eq!(read_by_key.len(), expected_by_key.len(), "topic {topic}");
        for (key, want) in &expected_by_key {
            let got = &read_by_key[key];
            assert_eq!(got.len(), want.len(), "topic {topic}");
            for (g, w) in got.iter().zip(want) {
                assert_eq!(
                    g.partition,
                    java_partition(key, partitions),
                    "topic {topic}"
                );
                assert_eq!(g.value, w.value, "topic {topic}");
                assert_eq!(g.headers, w.headers, "topic {topic}");
                assert_eq!(g.timestamp_ms, w.timestamp_ms, "topic {topic}");
            }
        }
    }
    Ok(())
}
