//! Kafka Connect's offset topic (`offset.storage.topic`): source offsets as records of a
//! compacted topic. Key `["<connector>",{<source partition>}]`, value the source offset, both
//! JSON without a schema (Connect's internal converter); the last record of a key wins and a
//! null value deletes the key.
//!
//! ```text
//! open:  ensure topic (compacted) ──> read every partition to its end (read_committed)
//! write: produce one record ──> wait for its acknowledgement (acks=all)
//! ```
//! Reading uses `read_committed`, so offsets written inside an aborted exactly-once
//! transaction are never seen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::{KafkaSink, KafkaSinkConfig, TopicCreation};
use crate::{SinkError, SinkRecord};

/// How long reading the offsets topic at start may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one offset write may wait for its acknowledgement.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a blocked write checks its acknowledgement.
const WRITE_POLL: Duration = Duration::from_millis(2);

/// One record of the offsets topic: `(key, value)`, `None` value = deleted.
pub type OffsetRecord = (Vec<u8>, Option<Vec<u8>>);

/// The offsets topic of a worker.
#[derive(Clone)]
pub struct OffsetTopic {
    topic: Arc<str>,
    sink: KafkaSink,
}

impl OffsetTopic {
    /// Creates the topic when it is missing (compacted, `offset.storage.partitions`,
    /// `offset.storage.replication.factor`) and reads every record in it, oldest first per
    /// partition. `config.offset_storage` must be set.
    pub async fn open(
        config: &KafkaSinkConfig,
    ) -> Result<(OffsetTopic, Vec<OffsetRecord>), SinkError> {
        let topic: Arc<str> = match &config.offset_storage {
            Some(o) => o.name.as_str().into(),
            None => {
                return Err(SinkError::KafkaSetup {
                    message: "offsets in kafka need offset.storage.topic in the worker config"
                        .into(),
                    source: None,
                })
            }
        };
        // A producer of its own: the records' producer may be transactional.
        let mut plain = config.clone();
        plain.exactly_once = super::ExactlyOnceSupport::Disabled;
        let sink = KafkaSink::new(&plain)?.with_topic_creation(TopicCreation::none());
        super::Shared::ensure_topic(&sink.shared, &topic, &sink.creation).await?;
        let records = {
            let config = config.clone();
            let topic = Arc::clone(&topic);
            tokio::task::spawn_blocking(move || read_all(&config, &topic))
                .await
                .map_err(|e| SinkError::KafkaSetup {
                    message: format!("reading the offsets topic stopped: {e}"),
                    source: None,
                })??
        };
        Ok((OffsetTopic { topic, sink }, records))
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one offset record and waits until every in-sync replica has it. Blocks the
    /// calling thread (offset writes are small and rare: once per commit interval).
    pub fn write(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<(), SinkError> {
        let record = SinkRecord {
            topic: Arc::clone(&self.topic),
            key: Some(key),
            value,
            headers: Vec::new(),
            timestamp_ms: None,
        };
        let mut delivery = self.sink.shared.send_blocking(&record);
        let deadline = Instant::now() + WRITE_TIMEOUT;
        loop {
            if let Some(result) = (&mut delivery).now_or_never() {
                return result;
            }
            if Instant::now() >= deadline {
                return Err(SinkError::KafkaSetup {
                    message: format!(
                        "kafka did not acknowledge the offset record on {} within {}s: check \
                         that the brokers are up and the worker may write to the topic",
                        self.topic,
                        WRITE_TIMEOUT.as_secs()
                    ),
                    source: None,
                });
            }
            std::thread::sleep(WRITE_POLL);
        }
    }
}

/// The reader's client context: the end of a partition is how reading stops, not an error
/// worth a log line.
struct QuietEof;

impl ClientContext for QuietEof {
    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        );
        if !eof {
            tracing::warn!("kafka offsets reader: {error}: {reason}");
        }
    }
}

impl ConsumerContext for QuietEof {}

/// Every record of `topic`, read with `read_committed` until each partition reports its end.
fn read_all(config: &KafkaSinkConfig, topic: &str) -> Result<Vec<OffsetRecord>, SinkError> {
    let setup = |what: &str, source: KafkaError| SinkError::KafkaSetup {
        message: format!(
            "cannot {what} the offsets topic {topic} at {}: check bootstrap.servers and that \
             the worker may read the topic",
            config.bootstrap_servers
        ),
        source: Some(source),
    };
    let mut client: ClientConfig = config.admin_properties();
    client
        .set(
            "group.id",
            format!("{}-offsets-reader-{}", config.group_id, std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed");
    let consumer: BaseConsumer<QuietEof> = client
        .create_with_context(QuietEof)
        .map_err(|e| setup("connect to", e))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), READ_TIMEOUT)
        .map_err(|e| setup("describe", e))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len());
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        let p = i32::try_from(p).unwrap_or(i32::MAX);
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .map_err(|e| setup("assign", e))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| setup("assign", e))?;
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut at_end = vec![false; partitions];
    let mut records = Vec::new();
    while at_end.iter().any(|e| !e) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(SinkError::KafkaSetup {
                message: format!(
                    "reading the offsets topic {topic} did not reach its end within {}s",
                    READ_TIMEOUT.as_secs()
                ),
                source: None,
            });
        }
        match consumer.poll(left.min(Duration::from_millis(200))) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                if let Some(end) = usize::try_from(p).ok().and_then(|p| at_end.get_mut(p)) {
                    *end = true;
                }
            }
            Some(Err(e)) => return Err(setup("read", e)),
            Some(Ok(message)) => {
                if let Some(end) = usize::try_from(message.partition())
                    .ok()
                    .and_then(|p| at_end.get_mut(p))
                {
                    *end = false;
                }
                if let Some(key) = message.key() {
                    records.push((key.to_vec(), message.payload().map(<[u8]>::to_vec)));
                }
            }
        }
    }
    Ok(records)
}
