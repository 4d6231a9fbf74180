//! Sinks: where serialised records go, and the acknowledgements that come back.
//!
//! ```text
//! pipeline --send(batch)--> Sink --(writer task / producer)--> destination
//!    ^                                                          |
//!    '----------------- Delivery resolves (durable) <-----------'
//! ```
//! A sink sees only [`SinkRecord`]s (topic, key bytes, value bytes, headers), never change events.
//!
//! # Contract of [`Sink`]
//! - **Ordering**: records of one batch are written in order, and batches in the order they were
//!   sent. Deliveries may *resolve* out of order (a Kafka sink's batches complete independently);
//!   the pipeline's ordered ack tracker only commits the highest contiguous acknowledged batch.
//! - **Delivery guarantee**: a [`Delivery`] resolves `Ok` only once every record of its batch has
//!   been handed to the destination durably enough to survive the death of this process (the file
//!   sink: written to the OS; [`Sink::sync`] adds an fsync barrier before offsets are committed;
//!   the Kafka sink: acknowledged by every in-sync replica, or committed in a transaction).
//!   An `Err` delivery means some record of the batch may be missing: the pipeline must not commit
//!   past it.
//! - **Backpressure**: `send` waits while the sink's bounded queue is full; it never buffers
//!   without bound. A full queue is backpressure, not an error.
//! - **Cancellation**: dropping a pending `send` future drops that batch unsent (it was never
//!   acknowledged, so its position is never committed).

pub mod file;
pub mod kafka;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use file::{Embed, FileSink, FileSinkOptions};
pub use kafka::{KafkaSink, KafkaSinkConfig};

/// One serialised record, as a converter produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    pub topic: Arc<str>,
    /// `None`: a null key.
    pub key: Option<Vec<u8>>,
    /// `None`: a tombstone.
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp_ms: Option<i64>,
}

/// A sink failed; nothing that failed was acknowledged. [`SinkError::class`] says how the
/// pipeline handles it.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot write to {path}: check that the directory exists and is writable")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the sink's writer stopped unexpectedly; records after the last acknowledgement will be re-sent on restart")]
    Closed,
    /// The destination will never accept these records as they are (too large, not
    /// authorised, topic missing, invalid). Every *other* record of the batch was
    /// acknowledged, so with `errors.tolerance=all` the pipeline may write these to the
    /// dead-letter topic (`errors.deadletterqueue.topic.name`) and count the batch as
    /// delivered; otherwise it must stop.
    #[error(
        "{} record(s) of the batch can never be delivered; the first: {}; to skip such records \
         instead of stopping, set errors.tolerance=all on the connector (and \
         errors.deadletterqueue.topic.name to keep them in a dead letter topic)",
        .0.len(), .0.first_message()
    )]
    Rejected(RejectedRecords),
    /// Kafka did not acknowledge records (broker unreachable past a configured timeout, a
    /// purged queue at shutdown, a retriable broker error that ran out of retries).
    #[error("kafka did not acknowledge records for topic {topic}; they will be re-sent from the last committed offset")]
    Kafka {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// The Kafka setup must change (configuration, ACLs, a topic that cannot be created).
    #[error("{message}")]
    KafkaSetup {
        /// Lowercase, names the object and what to change.
        message: String,
        #[source]
        source: Option<rdkafka::error::KafkaError>,
    },
    /// The producer can no longer be used (fenced by another producer with the same
    /// transactional id, or an unrecoverable idempotence error); the sink must be rebuilt.
    #[error("the kafka producer failed and cannot continue: {reason}")]
    KafkaFatal { reason: String },
}

/// How the pipeline handles a [`SinkError`] (one exhaustive classification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkErrorClass {
    /// Restart the task with backoff and resume from the last committed offset.
    Transient,
    /// These records can never be delivered: dead-letter them (`errors.tolerance=all`) or stop.
    Definite,
    /// The configuration or the cluster setup must change (or the sink be rebuilt): stop and
    /// report.
    Config,
}

impl SinkError {
    pub fn class(&self) -> SinkErrorClass {
        match self {
            SinkError::Io { .. } | SinkError::Closed | SinkError::Kafka { .. } => {
                SinkErrorClass::Transient
            }
            SinkError::Rejected(_) => SinkErrorClass::Definite,
            SinkError::KafkaSetup { .. } | SinkError::KafkaFatal { .. } => SinkErrorClass::Config,
        }
    }
}

/// Why a destination refuses a record for good. The messages say what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error(
        "the record is {bytes} bytes, more than the producer's message.max.bytes or the \
         topic's max.message.bytes allows: raise producer.max.request.size in the worker config \
         and max.message.bytes on the topic (and the brokers' message.max.bytes)"
    )]
    TooLarge { bytes: usize },
    #[error(
        "the worker's principal is not authorised to write to the topic: grant it WRITE (and \
         DESCRIBE) on the topic, e.g. kafka-acls --add --allow-principal User:<worker> \
         --operation Write --topic <topic>"
    )]
    NotAuthorized,
    #[error(
        "the topic does not exist and was not created: create it, or give the connector \
         topic.creation.default.partitions and topic.creation.default.replication.factor \
         (or enable auto.create.topics.enable on the brokers)"
    )]
    UnknownTopic,
    #[error(
        "the broker refused the record as invalid ({code}); a compacted topic \
         (cleanup.policy=compact) refuses records without a key"
    )]
    Invalid { code: String },
}

/// One record a destination refused for good, kept whole for the dead-letter path.
#[derive(Clone, PartialEq)]
pub struct RejectedRecord {
    pub record: SinkRecord,
    pub reason: Rejection,
}

/// Record contents never reach logs: only the topic, the sizes and the reason.
impl fmt::Debug for RejectedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RejectedRecord")
            .field("topic", &self.record.topic)
            .field("key_bytes", &self.record.key.as_ref().map(Vec::len))
            .field("value_bytes", &self.record.value.as_ref().map(Vec::len))
            .field("reason", &self.reason)
            .finish()
    }
}

impl fmt::Display for RejectedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a record for topic {}: {}",
            self.record.topic, self.reason
        )
    }
}

/// The records of one batch a destination refused for good (never empty).
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecords {
    pub records: Vec<RejectedRecord>,
    /// `true`: every other record of the batch was acknowledged (dead-letter these and count
    /// the batch as delivered). `false`: nothing of the batch was written (a transactional
    /// sink aborted the transaction): dead-letter these and send the rest again.
    pub others_delivered: bool,
}

impl RejectedRecords {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn first_message(&self) -> String {
        self.records
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

/// Completion of one sent batch; resolves when the batch is durable (or failed).
#[must_use = "a delivery must be awaited before its position may be committed"]
pub struct Delivery(tokio::sync::oneshot::Receiver<Result<(), SinkError>>);

impl Delivery {
    /// A delivery and the handle that completes it.
    pub fn pending() -> (DeliveryHandle, Delivery) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (DeliveryHandle(tx), Delivery(rx))
    }
}

impl Future for Delivery {
    type Output = Result<(), SinkError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) => Poll::Ready(Err(SinkError::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The writer's side of a [`Delivery`].
pub struct DeliveryHandle(tokio::sync::oneshot::Sender<Result<(), SinkError>>);

impl DeliveryHandle {
    pub fn complete(self, result: Result<(), SinkError>) {
        // The pipeline may have stopped waiting (shutdown); nothing to do then.
        let _ = self.0.send(result);
    }

    /// Whether nobody waits for this delivery any more (its [`Delivery`] was dropped), so a
    /// writer may stop retrying it.
    pub fn is_abandoned(&self) -> bool {
        self.0.is_closed()
    }
}

/// Where records go. See the module docs for the contract.
pub trait Sink: Send {
    /// Queue a batch; waits while the sink is full. The batch is acknowledged through the
    /// returned [`Delivery`].
    fn send(
        &mut self,
        records: Vec<SinkRecord>,
    ) -> impl Future<Output = Result<Delivery, SinkError>> + Send;

    /// Durability barrier: returns once everything delivered so far survives a machine crash.
    /// Called before offsets are committed.
    fn sync(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// The sink a worker writes to, chosen by its config: the file/stdout sink or Kafka.
#[derive(Clone)]
pub enum AnySink {
    File(FileSink),
    Kafka(KafkaSink),
}

impl AnySink {
    /// A handle that writes a connector's dead letter queue
    /// (`errors.deadletterqueue.topic.name`): for Kafka, over the same producer, creating a
    /// missing topic with one partition and `replication_factor` (-1: the brokers' default), as
    /// Kafka Connect creates its dead letter topics; the file sink writes them like any record.
    pub fn for_dead_letter_queue(&self, replication_factor: i16) -> AnySink {
        match self {
            AnySink::File(sink) => AnySink::File(sink.clone()),
            AnySink::Kafka(sink) => {
                let rules = std::collections::BTreeMap::from([
                    (
                        "topic.creation.default.partitions".to_string(),
                        "1".to_string(),
                    ),
                    (
                        "topic.creation.default.replication.factor".to_string(),
                        replication_factor.to_string(),
                    ),
                ]);
                let rules = kafka::TopicCreation::from_map(&rules)
                    .map(|(rules, _)| rules)
                    .unwrap_or_else(|_| kafka::TopicCreation::none());
                AnySink::Kafka(sink.with_topic_creation(rules))
            }
        }
    }
}

impl Sink for AnySink {
    async fn send(&mut self, records: Vec<SinkRecord>) -> Result<Delivery, SinkError> {
        match self {
            AnySink::File(sink) => sink.send(records).await,
            AnySink::Kafka(sink) => sink.send(records).await,
        }
    }

    async fn sync(&mut self) -> Result<(), SinkError> {
        match self {
            AnySink::File(sink) => sink.sync().await,
            AnySink::Kafka(sink) => sink.sync().await,
        }
    }
}
