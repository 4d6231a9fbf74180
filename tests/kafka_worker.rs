//! `sluice standalone` writing to Kafka (the worker's `bootstrap.servers`), with offsets in
//! Kafka (`offset.storage.topic`), against a real broker process (tansu) and librdkafka's
//! mock cluster.
//!
//! ```text
//! Postgres ──> sluice (process, killed -9 again and again) ──> broker ──> rdkafka consumer
//!                  └── offsets topic (compacted) <── read back at every start
//! ```
//! What each broker covers: tansu is a real Kafka-protocol broker in its own process (it
//! keeps its memory storage while only sluice is killed or while it is frozen with SIGSTOP),
//! so the kill -9 loop with offsets in Kafka and the 30 s broker outage run there. tansu has
//! no transactions, so exactly-once mode runs against the mock cluster, which has transactions but writes no transaction markers: a
//! `read_committed` reader there still sees the records of aborted transactions, so "each
//! change exactly once" cannot be observed on either broker; the mock run checks that
//! nothing is lost with transactions on (read uncommitted: the mock never ends the open
//! transaction of a killed producer, which would stop a `read_committed` reader there).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::Value;
use sluice_testcontainers::kafka::{read_topic, Isolation, KafkaBroker, MockKafka};
use tokio_util::sync::CancellationToken;

use crate::faults::{
    compare, dedup, event_of, setup, write_paced, write_until, Change, Event, T_SQL, WAIT,
};
use crate::support::process::SluiceProcess;
use crate::support::wait_slot_active;

/// A worker writing JSON (no schemas) to the cluster at `bootstrap`, offsets in
/// `offsets_topic`, topics created with one partition and replication factor 1.
fn kafka_worker(bootstrap: &str, offsets_topic: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("bootstrap.servers", bootstrap),
        ("offset.storage.topic", offsets_topic),
        ("offset.storage.partitions", "1"),
        ("offset.storage.replication.factor", "1"),
        ("offset.flush.interval.ms", "200"),
        ("topic.creation.default.partitions", "1"),
        ("topic.creation.default.replication.factor", "1"),
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
        // Reconnect quickly after a broker comes back (librdkafka backs off up to 10 s).
        ("producer.reconnect.backoff.max.ms", "200"),
        ("listeners", ""),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// The change events on `topic` (tombstones left out), in offset order.
fn kafka_events(records: &[sluice_testcontainers::kafka::ReadRecord]) -> Vec<Event> {
    records
        .iter()
        .filter_map(|r| {
            let key: Value = serde_json::from_slice(r.key.as_deref()?).ok()?;
            let value: Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
            event_of(&key, &value)
        })
        .collect()
}

/// Tombstones follow deletes: the records a change list produces on the topic at least.
fn records_for(committed: &[Change]) -> usize {
    committed.len() + committed.iter().filter(|c| c.0 == 'd').count()
}

/// Reads `topic` until it holds at least the records for `committed` and they match it (per
/// key, in order, after de-duplication); returns the events read.
async fn wait_topic_matches(
    bootstrap: &str,
    topic: &str,
    committed: &[Change],
    sluice: &mut SluiceProcess,
    isolation: Isolation,
) -> Vec<Event> {
    let started = Instant::now();
    let mut last;
    loop {
        assert!(
            sluice.is_running(),
            "sluice exited: {:?}\n{}",
            sluice.exit_status(),
            sluice.stderr_text()
        );
        // read_topic wants an exact count; everything present is at least this many.
        let mut expected = records_for(committed);
        loop {
            match read_topic(bootstrap, topic, expected, isolation).await {
                Ok(records) => {
                    let events = kafka_events(&records);
                    match compare(committed, &events) {
                        Ok(()) => return events,
                        Err(e) => {
                            last = e;
                            break;
                        }
                    }
                }
                Err(sluice_testcontainers::Error::KafkaRead { got, .. }) if got > expected => {
                    expected = got;
                }
                Err(e) => {
                    last = e.to_string();
                    break;
                }
            }
        }
        assert!(
            started.elapsed() < WAIT,
            "topic {topic} does not match what was committed after {WAIT:?}: {last}\nsluice stderr:\n{}",
            sluice.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// kill -9 at random moments, 20 times, while a writer commits; offsets live in the offsets
/// topic. Then one clean run: every committed change is in Kafka, in order per key.
async fn kill9_loop(
    bootstrap: &str,
    name: &str,
    offsets_topic: &str,
    extra_worker: &[(&str, &str)],
    isolation: Isolation,
    pause: Duration,
) {
    let seed: u64 = std::env::var("SLUICE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_4afa);
    eprintln!("{name}: seed {seed} (set SLUICE_FAULT_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let s = setup(name, T_SQL).await;
    let topic = format!("{}.public.t", s.prefix);
    let mut worker = kafka_worker(bootstrap, offsets_topic);
    for (k, v) in extra_worker {
        worker.insert(k.to_string(), v.to_string());
    }
    let connector = s.connector();
    let writer_client = s.server.connect(&s.db).await.expect("connect writer");
    let stop = CancellationToken::new();
    let writer = tokio::spawn(write_paced(writer_client, stop.clone(), pause));

    const ITERATIONS: usize = 20;
    let started = Instant::now();
    let mut streamed = 0;
    let mut last_stderr = String::new();
    for i in 0..ITERATIONS {
        let mut sluice = SluiceProcess::spawn(&worker, &connector);
        // Not a wait for a condition: the random moment of the crash is the point.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(800..=2500))).await;
        assert!(
            sluice.is_running(),
            "iteration {i}: sluice exited before the kill: {:?}\n{}",
            sluice.exit_status(),
            sluice.stderr_text()
        );
        sluice.kill9();
        last_stderr = sluice.stderr_text();
        if last_stderr.contains("streaming started") {
            streamed += 1;
        }
    }
    stop.cancel();
    let committed = writer.await.expect("writer");
    assert!(
        streamed >= ITERATIONS / 2,
        "only {streamed} of {ITERATIONS} runs got to stream; the last one said:\n{last_stderr}"
    );

    let mut sluice = SluiceProcess::spawn(&worker, &connector);
    let events = wait_topic_matches(bootstrap, &topic, &committed, &mut sluice, isolation).await;
    let status = sluice.sigterm_and_wait();
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        sluice.stderr_text()
    );
    assert!(
        sluice.stderr_text().contains("offsets read from kafka"),
        "offsets were not read from the offsets topic:\n{}",
        sluice.stderr_text()
    );
    eprintln!(
        "{name}: {ITERATIONS} kills ({streamed} while streaming), {} committed changes, {} change events in kafka ({} re-delivered), {:?}",
        committed.len(),
        events.len(),
        events.len() - dedup(&events).len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_worker_kill9_loop_with_offsets_in_kafka() {
    let broker = KafkaBroker::start().expect("start the kafka broker (tansu)");
    let offsets_topic = KafkaBroker::unique_topic("kafka-kill9-offsets");
    kill9_loop(
        broker.bootstrap_servers(),
        "kafka_kill9",
        &offsets_topic,
        &[],
        Isolation::ReadCommitted,
        Duration::from_millis(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_worker_exactly_once_kill9_loop_loses_nothing() {
    let kafka = MockKafka::start(1).expect("start the mock cluster");
    // The mock cluster has no CreateTopics: the topics exist up front.
    let offsets_topic = KafkaBroker::unique_topic("kafka-eos-offsets");
    kafka
        .create_topic(&offsets_topic, 1)
        .expect("offsets topic");
    kafka
        .create_topic("kafka_eos_kill9.public.t", 1)
        .expect("data topic");
    kill9_loop(
        &kafka.bootstrap_servers(),
        "kafka_eos_kill9",
        &offsets_topic,
        &[("exactly.once.source.support", "enabled")],
        // The mock never ends the transactions of a killed producer, so a read_committed
        // reader would stop at the first one for good.
        Isolation::ReadUncommitted,
        // The mock serves fetches slowly: fewer changes, so reading them back stays quick.
        Duration::from_millis(25),
    )
    .await;
}

/// The broker frozen for 30 s (SIGSTOP: it answers nothing, keeps its data) while changes
/// keep coming: the connector waits with bounded memory, and once the broker runs again it
/// delivers everything, by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_worker_broker_outage_recovers_without_loss() {
    let outage = Duration::from_secs(
        std::env::var("SLUICE_TEST_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    const CEILING_BYTES: u64 = 150 << 20;
    let broker = KafkaBroker::start().expect("start the kafka broker (tansu)");
    let bootstrap = broker.bootstrap_servers();
    let s = setup("kafka_outage", T_SQL).await;
    let offsets_topic = KafkaBroker::unique_topic("kafka-outage-offsets");
    let topic = format!("{}.public.t", s.prefix);
    let worker = kafka_worker(bootstrap, &offsets_topic);
    let mut sluice = SluiceProcess::spawn(&worker, &s.connector());
    wait_slot_active(&s.client, &s.slot).await;

    let writer_client = s.server.connect(&s.db).await.expect("connect writer");
    let stop = CancellationToken::new();
    let writer = tokio::spawn(write_until(writer_client, stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.pause().expect("freeze the broker");
    let down_at = Instant::now();
    while down_at.elapsed() < outage {
        assert!(
            sluice.is_running(),
            "sluice exited during the outage: {:?}\n{}",
            sluice.exit_status(),
            sluice.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    broker.resume().expect("resume the broker");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    let committed = writer.await.expect("writer");
    let events = wait_topic_matches(
        bootstrap,
        &topic,
        &committed,
        &mut sluice,
        Isolation::ReadCommitted,
    )
    .await;
    let peak = sluice.peak_rss_bytes();
    let status = sluice.sigterm_and_wait();
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        sluice.stderr_text()
    );
    assert!(
        peak < CEILING_BYTES,
        "peak RSS {} MiB during a {outage:?} outage (limit {} MiB)",
        peak >> 20,
        CEILING_BYTES >> 20
    );
    eprintln!(
        "kafka outage of {outage:?}: {} committed changes, {} change events in kafka ({} re-delivered), peak RSS {} MiB",
        committed.len(),
        events.len(),
        events.len() - dedup(&events).len(),
        peak >> 20
    );
}
