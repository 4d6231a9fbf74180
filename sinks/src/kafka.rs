//! The Kafka sink: records into a Kafka cluster through librdkafka, with delivery reports as
//! the acknowledgements that drive offset commits.
//!
//! ```text
//! send(batch) ──first record for a topic──> metadata lookup; CreateTopics if missing (rules)
//!   │
//!   ├─ plain:         produce each record ──> librdkafka queue (bounded) ──> brokers
//!   │                   queue full: wait for a delivery report, retry     │
//!   │                 BatchAck <── one delivery report per record <──────-┘
//!   │                   last record settled ──> Delivery resolves (Ok | Rejected | Kafka)
//!   │
//!   └─ transactional: bounded channel ──> transaction thread:
//!                       begin ─ produce batch (offset record last) ─ commit ──> Delivery
//!                       abortable failure: abort, back off, run the same batch again
//! ```
//!
//! # Guarantees
//! - **Order**: records are produced in batch order by one idempotent producer
//!   (`enable.idempotence=true`, `acks=all`), keyed with murmur2 like Kafka's Java producer,
//!   so the records of one key stay in one partition, in order, without duplicates from
//!   retries.
//! - **Acknowledgement**: a batch's [`Delivery`] resolves `Ok` only once every record of it
//!   was acknowledged by all in-sync replicas (or, transactional, once its transaction
//!   committed). [`Sink::sync`] has nothing to add: acknowledged records are already durable.
//! - **Backpressure, not loss**: librdkafka's queue is bounded (`buffer.memory`, default
//!   32 MiB; `queue.buffering.max.messages`). When it is full, `send` waits for delivery
//!   reports to free room; nothing is dropped. Deliveries never time out
//!   (`message.timeout.ms=0`, as Kafka Connect sets `delivery.timeout.ms` to
//!   `Integer.MAX_VALUE` for source tasks): while brokers are down, records wait in the queue,
//!   `send` waits once it is full, and everything is delivered when the brokers return. A
//!   worker file that sets `producer.delivery.timeout.ms` gets transient
//!   [`SinkError::Kafka`] failures after that time instead (nothing lost: the pipeline
//!   re-sends from the last committed offset). In transactional mode deliveries are bounded
//!   by `transaction.timeout.ms` (librdkafka requires it); a transaction that fails for a
//!   transient reason is aborted and the same batch retried until it commits.
//! - **Records that can never be delivered** (too large, not authorised, unknown topic,
//!   invalid for a compacted topic) fail the Delivery with [`SinkError::Rejected`], which
//!   carries the records and says what to change ([`crate::SinkErrorClass::Definite`]: the pipeline
//!   may dead-letter them).
//! - **Cancellation**: dropping a pending `send` leaves the records already queued to be
//!   delivered, unacknowledged (at-least-once: they are re-sent after a restart).
//!
//! # Sharing
//! A [`KafkaSink`] is cheap to clone; clones share one producer (one connection pool, one
//! queue) and the cache of existing topics. [`KafkaSink::for_connector`] gives a connector
//! its own `topic.creation.*` rules over the same producer. A transactional sink
//! ([`KafkaSink::transactional`]) has a transactional id of its own: build one per connector
//! task, as Kafka Connect does.

pub mod config;
pub mod offsets;
pub mod topics;
mod transaction;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use sluice_config::{ConfigErrors, Warning};

pub use config::{ExactlyOnceSupport, KafkaSinkConfig, OffsetStorageTopic};
pub use topics::{TopicCreation, TopicSpec};

use crate::{
    Delivery, DeliveryHandle, RejectedRecord, RejectedRecords, Rejection, Sink, SinkError,
    SinkRecord,
};

/// How long to wait for a freed queue slot before trying again anyway. Delivery reports wake
/// waiters at once; this only covers room freed without one (librdkafka frees a record's
/// memory just after its report).
const QUEUE_FULL_RECHECK: Duration = Duration::from_millis(10);
/// First wait before retrying a topic creation or a transaction that failed transiently.
const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between such retries.
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one CreateTopics request may take before it is retried.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends records to Kafka. See the module docs for the guarantees.
#[derive(Clone)]
pub struct KafkaSink {
    shared: Arc<Shared>,
    creation: Arc<TopicCreation>,
    /// Topics this handle has already seen (known to exist, created, or not ours to create).
    checked: HashSet<Arc<str>>,
    /// Set in transactional mode: batches go to the transaction thread.
    transactions: Option<tokio::sync::mpsc::Sender<transaction::Batch>>,
}

/// What all clones of a sink share.
pub(crate) struct Shared {
    producer: ThreadedProducer<SinkContext>,
    admin: AdminClient<LogContext>,
    /// Topics known to exist on the cluster.
    existing: Mutex<HashSet<Arc<str>>>,
    topic_creation_enable: bool,
    offset_storage: Option<OffsetStorageTopic>,
    transactional_id: Option<String>,
    bootstrap_servers: String,
}

impl KafkaSink {
    /// A non-transactional sink (`exactly.once.source.support` other than `enabled`), to be
    /// shared by every connector of the worker. Connects lazily: a cluster that is down now is
    /// waited for by `send`.
    pub fn new(config: &KafkaSinkConfig) -> Result<KafkaSink, SinkError> {
        Self::build(config, None)
    }

    /// A transactional sink for one connector task (`exactly.once.source.support=enabled`):
    /// every `send` is one Kafka transaction (begin, produce the batch, commit), so a batch
    /// whose last record is the offset record (topic `offset.storage.topic`, key
    /// `["<connector>",{partition}]`) commits records and offset atomically (KIP-618). The
    /// transactional id is [`KafkaSinkConfig::transactional_id_for`]; a second sink with the
    /// same id fences this one (its sends then fail with [`SinkError::KafkaFatal`]).
    pub fn transactional(
        config: &KafkaSinkConfig,
        connector: &str,
        task: u32,
    ) -> Result<KafkaSink, SinkError> {
        Self::build(config, Some(config.transactional_id_for(connector, task)))
    }

    fn build(
        config: &KafkaSinkConfig,
        transactional_id: Option<String>,
    ) -> Result<KafkaSink, SinkError> {
        let setup_error = |what: &str, source: KafkaError| SinkError::KafkaSetup {
            message: format!(
                "cannot create the kafka {what} for {}: check bootstrap.servers and the \
                 worker's producer.*, security.protocol, ssl.* and sasl.* keys",
                config.bootstrap_servers
            ),
            source: Some(source),
        };
        let producer: ThreadedProducer<SinkContext> = config
            .producer_properties(transactional_id.as_deref())
            .create_with_context(SinkContext::default())
            .map_err(|e| setup_error("producer", e))?;
        let admin: AdminClient<LogContext> = config
            .admin_properties()
            .create_with_context(LogContext)
            .map_err(|e| setup_error("admin client", e))?;
        let shared = Arc::new(Shared {
            producer,
            admin,
            existing: Mutex::new(HashSet::new()),
            topic_creation_enable: config.topic_creation_enable,
            offset_storage: config.offset_storage.clone(),
            transactional_id: transactional_id.clone(),
            bootstrap_servers: config.bootstrap_servers.clone(),
        });
        let transactions = match transactional_id {
            Some(id) => Some(transaction::spawn(
                Arc::clone(&shared),
                id,
                config.transaction_timeout(),
            )?),
            None => None,
        };
        Ok(KafkaSink {
            shared,
            creation: Arc::new(config.topic_creation.clone()),
            checked: HashSet::new(),
            transactions,
        })
    }

    /// A handle for one connector over the same producer, with the connector's own
    /// `topic.creation.*` rules when its config has any (else the worker's). Kafka Connect
    /// reads these rules from the connector config.
    pub fn for_connector(
        &self,
        connector: &BTreeMap<String, String>,
    ) -> Result<(KafkaSink, Vec<Warning>), ConfigErrors> {
        if !TopicCreation::has_rules(connector) {
            return Ok((self.clone(), Vec::new()));
        }
        let (rules, warnings) = TopicCreation::from_map(connector)?;
        Ok((self.with_topic_creation(rules), warnings))
    }

    /// A handle over the same producer that creates topics by `rules`.
    pub fn with_topic_creation(&self, rules: TopicCreation) -> KafkaSink {
        KafkaSink {
            shared: Arc::clone(&self.shared),
            creation: Arc::new(rules),
            checked: HashSet::new(),
            transactions: self.transactions.clone(),
        }
    }

    /// Records (and requests) librdkafka holds that are not acknowledged yet: bounded by
    /// `queue.buffering.max.messages` / `buffer.memory`.
    pub fn queued_records(&self) -> usize {
        usize::try_from(self.shared.producer.in_flight_count()).unwrap_or(0)
    }

    /// The transactional id, in transactional mode.
    pub fn transactional_id(&self) -> Option<&str> {
        self.shared.transactional_id.as_deref()
    }

    /// Creates (by the rules) the topics of `records` this handle has not seen yet.
    async fn ensure_topics(&mut self, records: &[SinkRecord]) -> Result<(), SinkError> {
        let mut previous: Option<&Arc<str>> = None;
        for record in records {
            if previous.is_some_and(|p| Arc::ptr_eq(p, &record.topic) || **p == *record.topic) {
                continue;
            }
            previous = Some(&record.topic);
            if self.checked.contains(&record.topic) {
                continue;
            }
            Shared::ensure_topic(&self.shared, &record.topic, &self.creation).await?;
            self.checked.insert(Arc::clone(&record.topic));
        }
        Ok(())
    }
}

impl Sink for KafkaSink {
    async fn send(&mut self, records: Vec<SinkRecord>) -> Result<Delivery, SinkError> {
        self.ensure_topics(&records).await?;
        match &self.transactions {
            Some(tx) if !records.is_empty() => {
                let (handle, delivery) = Delivery::pending();
                tx.send(transaction::Batch { records, handle })
                    .await
                    .map_err(|_| SinkError::Closed)?;
                Ok(delivery)
            }
            _ => Ok(self.shared.send_plain(records).await),
        }
    }

    async fn sync(&mut self) -> Result<(), SinkError> {
        // Delivery reports with acks=all are already durable on every in-sync replica.
        match self.shared.fatal_error() {
            Some(reason) => Err(SinkError::KafkaFatal { reason }),
            None => Ok(()),
        }
    }
}

impl Shared {
    /// Produces a batch without a transaction; the Delivery resolves from delivery reports.
    async fn send_plain(&self, records: Vec<SinkRecord>) -> Delivery {
        let (handle, delivery) = Delivery::pending();
        if records.is_empty() {
            handle.complete(Ok(()));
            return delivery;
        }
        // One extra count keeps the batch open until every record is queued (delivery reports
        // of early records arrive while later ones are still being produced).
        let ack = BatchAck::new(records.len() + 1, Some(handle));
        for (i, record) in records.iter().enumerate() {
            match self.enqueue(record, &ack).await {
                Ok(()) => {}
                Err(failure) => {
                    let stop = !matches!(failure, Failure::Rejected(_));
                    ack.fail(failure);
                    if stop {
                        // The producer cannot take records now: the batch fails as a whole.
                        ack.settle(records.len() - i);
                        break;
                    }
                    ack.settle(1);
                }
            }
        }
        ack.settle(1);
        delivery
    }

    /// Hands one record to librdkafka, waiting while its queue is full.
    async fn enqueue(&self, record: &SinkRecord, ack: &Arc<BatchAck>) -> Result<(), Failure> {
        let space = &self.producer.context().space;
        let mut base = base_record(record, Arc::clone(ack));
        loop {
            let notified = space.notify.notified();
            tokio::pin!(notified);
            // Registered before the attempt, so a report that frees room right after a
            // failed attempt still wakes us.
            notified.as_mut().enable();
            let _waiting = space.waiting();
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    base = back;
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep(QUEUE_FULL_RECHECK) => {}
                    }
                }
                Err((error, _)) => return Err(self.local_failure(error, record)),
            }
        }
    }

    /// Produces one record without a transaction, blocking while the queue is full.
    pub(crate) fn send_blocking(&self, record: &SinkRecord) -> Delivery {
        let (handle, delivery) = Delivery::pending();
        let ack = BatchAck::new(2, Some(handle));
        if let Err(failure) = self.enqueue_blocking(record, &ack) {
            ack.fail(failure);
            ack.settle(1);
        }
        ack.settle(1);
        delivery
    }

    /// [`Shared::enqueue`] for the transaction thread (blocking).
    fn enqueue_blocking(&self, record: &SinkRecord, ack: &Arc<BatchAck>) -> Result<(), Failure> {
        let space = &self.producer.context().space;
        let mut base = base_record(record, Arc::clone(ack));
        loop {
            let seen = space.generation();
            let _waiting = space.waiting();
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    base = back;
                    space.wait_blocking(seen, QUEUE_FULL_RECHECK);
                }
                Err((error, _)) => return Err(self.local_failure(error, record)),
            }
        }
    }

    /// Classifies an error librdkafka returned when a record was handed to it.
    fn local_failure(&self, error: KafkaError, record: &SinkRecord) -> Failure {
        let rejected = |reason| {
            Failure::Rejected(Box::new(RejectedRecord {
                record: record.clone(),
                reason,
            }))
        };
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::MessageSizeTooLarge) => rejected(Rejection::TooLarge {
                bytes: record_bytes(record),
            }),
            Some(RDKafkaErrorCode::UnknownTopic) => rejected(Rejection::UnknownTopic),
            Some(RDKafkaErrorCode::Fatal) => Failure::Fatal(
                self.fatal_error()
                    .unwrap_or_else(|| "librdkafka reported a fatal error".to_string()),
            ),
            _ if matches!(error, KafkaError::Nul(_)) => rejected(Rejection::Invalid {
                code: "the topic name contains a NUL byte".to_string(),
            }),
            _ => Failure::Transient {
                topic: record.topic.to_string(),
                error,
            },
        }
    }

    fn fatal_error(&self) -> Option<String> {
        self.producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{reason} ({code})"))
    }

    /// Makes sure `topic` exists when these rules (or the offsets topic settings) say Sluice
    /// creates it: a metadata lookup first (existing topics are never altered), then
    /// CreateTopics. Retries transient failures (brokers down) until it succeeds.
    async fn ensure_topic(
        shared: &Arc<Shared>,
        topic: &Arc<str>,
        rules: &TopicCreation,
    ) -> Result<(), SinkError> {
        if lock(&shared.existing).contains(topic) {
            return Ok(());
        }
        let Some((source, spec)) = shared.creation_spec(topic, rules) else {
            return Ok(());
        };
        let mut backoff = RETRY_BACKOFF_MIN;
        loop {
            let lookup = {
                let shared = Arc::clone(shared);
                let name = topic.to_string();
                tokio::task::spawn_blocking(move || shared.topic_exists(&name))
                    .await
                    .map_err(|_| SinkError::Closed)?
            };
            match lookup {
                Ok(true) => break,
                Ok(false) => {
                    shared.create_topic(topic, &source, &spec).await?;
                    break;
                }
                Err(error) => {
                    tracing::warn!(
                        topic = &**topic,
                        %error,
                        retry_in_ms = backoff.as_millis() as u64,
                        "cannot look up kafka topic yet; retrying"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
                }
            }
        }
        lock(&shared.existing).insert(Arc::clone(topic));
        Ok(())
    }

    /// Whether the cluster has `topic` (blocking metadata request; the admin client never
    /// asks brokers to auto-create topics).
    fn topic_exists(&self, topic: &str) -> Result<bool, KafkaError> {
        let metadata = self
            .admin
            .inner()
            .fetch_metadata(Some(topic), ADMIN_TIMEOUT)?;
        Ok(metadata
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()))
    }

    /// How `topic` would be created, and which settings say so; `None`: not by Sluice.
    fn creation_spec(&self, topic: &str, rules: &TopicCreation) -> Option<(String, TopicSpec)> {
        let offsets = self
            .offset_storage
            .as_ref()
            .filter(|o| o.name == topic)
            .map(|o| {
                let spec = TopicSpec {
                    partitions: o.partitions,
                    replication_factor: o.replication_factor,
                    configs: BTreeMap::from([(
                        "cleanup.policy".to_string(),
                        "compact".to_string(),
                    )]),
                };
                ("offset.storage".to_string(), spec)
            });
        offsets.or_else(|| {
            self.topic_creation_enable
                .then(|| rules.spec_for(topic))
                .flatten()
                .map(|(group, spec)| (format!("topic.creation.{group}"), spec.clone()))
        })
    }

    async fn create_topic(
        &self,
        topic: &str,
        source: &str,
        spec: &TopicSpec,
    ) -> Result<(), SinkError> {
        let mut backoff = RETRY_BACKOFF_MIN;
        loop {
            let mut new_topic = NewTopic::new(
                topic,
                spec.partitions,
                TopicReplication::Fixed(spec.replication_factor),
            );
            for (key, value) in &spec.configs {
                new_topic = new_topic.set(key, value);
            }
            let options = AdminOptions::new()
                .request_timeout(Some(ADMIN_TIMEOUT))
                .operation_timeout(Some(ADMIN_TIMEOUT));
            let outcome = self.admin.create_topics([&new_topic], &options).await;
            let code = match outcome {
                Ok(results) => match results.into_iter().next() {
                    Some(Ok(_)) => {
                        tracing::info!(
                            topic,
                            rules = source,
                            partitions = spec.partitions,
                            replication_factor = spec.replication_factor,
                            "created kafka topic"
                        );
                        return Ok(());
                    }
                    Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => return Ok(()),
                    Some(Err((_, code))) => Some(code),
                    None => None,
                },
                Err(KafkaError::AdminOpCreation(reason)) => {
                    return Err(SinkError::KafkaSetup {
                        message: format!(
                            "cannot create topic {topic}: the request is invalid ({reason}); \
                             check the {source}.* settings"
                        ),
                        source: None,
                    })
                }
                Err(error) => {
                    tracing::warn!(topic, %error, "kafka CreateTopics request failed");
                    error.rdkafka_error_code()
                }
            };
            if let Some(fix) = code.and_then(|c| creation_fix(c, source)) {
                return Err(SinkError::KafkaSetup {
                    message: format!(
                        "cannot create topic {topic} on {} ({}): {fix}",
                        self.bootstrap_servers,
                        code.map(|c| c.to_string()).unwrap_or_default()
                    ),
                    source: None,
                });
            }
            tracing::warn!(
                topic,
                error = code.map(|c| c.to_string()).unwrap_or_default(),
                retry_in_ms = backoff.as_millis() as u64,
                "cannot create kafka topic yet; retrying"
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
        }
    }
}

/// What to change when CreateTopics fails for good; `None` for errors worth retrying.
fn creation_fix(code: RDKafkaErrorCode, source: &str) -> Option<String> {
    match code {
        RDKafkaErrorCode::TopicAuthorizationFailed
        | RDKafkaErrorCode::ClusterAuthorizationFailed => Some(
            "the worker's principal may not create topics: grant it CREATE on the cluster or \
             the topic, or create the topic beforehand"
                .to_string(),
        ),
        RDKafkaErrorCode::InvalidReplicationFactor => Some(format!(
            "the replication factor is larger than the number of brokers: lower \
             {source}.replication.factor (-1 for the broker's default)"
        )),
        RDKafkaErrorCode::InvalidPartitions => Some(format!(
            "check {source}.partitions (-1 for the broker's default)"
        )),
        RDKafkaErrorCode::InvalidConfig | RDKafkaErrorCode::PolicyViolation => Some(format!(
            "the brokers refuse the topic settings: check the topic configs in {source}.*"
        )),
        RDKafkaErrorCode::InvalidTopic => Some(
            "the topic name is not valid for kafka (at most 249 characters of [a-zA-Z0-9._-]): \
             change topic.prefix or use a topic-routing transform"
                .to_string(),
        ),
        RDKafkaErrorCode::UnsupportedVersion => Some(
            "the brokers do not support creating topics with these settings: create the topic \
             beforehand"
                .to_string(),
        ),
        _ => None,
    }
}

fn record_bytes(record: &SinkRecord) -> usize {
    record.key.as_ref().map_or(0, Vec::len)
        + record.value.as_ref().map_or(0, Vec::len)
        + record
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum::<usize>()
}

fn base_record<'a>(
    record: &'a SinkRecord,
    ack: Arc<BatchAck>,
) -> BaseRecord<'a, [u8], [u8], Arc<BatchAck>> {
    let mut base = BaseRecord::with_opaque_to(&record.topic, ack);
    if let Some(key) = &record.key {
        base = base.key(key.as_slice());
    }
    if let Some(value) = &record.value {
        base = base.payload(value.as_slice());
    }
    if let Some(ts) = record.timestamp_ms {
        base = base.timestamp(ts);
    }
    if !record.headers.is_empty() {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        base = base.headers(headers);
    }
    base
}

/// A record as librdkafka reports it back (for the dead-letter path).
fn record_of(message: &BorrowedMessage<'_>) -> SinkRecord {
    SinkRecord {
        topic: message.topic().into(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers: message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default(),
        timestamp_ms: message.timestamp().to_millis(),
    }
}

/// Why one record of a batch was not delivered.
pub(crate) enum Failure {
    /// Never deliverable as it is.
    Rejected(Box<RejectedRecord>),
    /// Not acknowledged this time.
    Transient { topic: String, error: KafkaError },
    /// The setup must change (ACLs for idempotent / transactional writes).
    Setup { message: String, error: KafkaError },
    /// The producer is unusable.
    Fatal(String),
}

impl Failure {
    fn into_error(self) -> SinkError {
        match self {
            Failure::Rejected(record) => SinkError::Rejected(RejectedRecords {
                records: vec![*record],
                others_delivered: false,
            }),
            Failure::Transient { topic, error } => SinkError::Kafka {
                topic,
                source: error,
            },
            Failure::Setup { message, error } => SinkError::KafkaSetup {
                message,
                source: Some(error),
            },
            Failure::Fatal(reason) => SinkError::KafkaFatal { reason },
        }
    }
}

/// Classifies a failed delivery report.
fn delivery_failure(
    error: &KafkaError,
    message: &BorrowedMessage<'_>,
    fatal: Option<String>,
) -> Failure {
    let rejected = |reason| {
        let record = record_of(message);
        let reason = match reason {
            Rejection::TooLarge { .. } => Rejection::TooLarge {
                bytes: record_bytes(&record),
            },
            other => other,
        };
        Failure::Rejected(Box::new(RejectedRecord { record, reason }))
    };
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::MessageBatchTooLarge) => {
            rejected(Rejection::TooLarge { bytes: 0 })
        }
        Some(RDKafkaErrorCode::TopicAuthorizationFailed) => rejected(Rejection::NotAuthorized),
        // librdkafka keeps retrying a produce to a topic that is still propagating; a report
        // with this code comes after topic.metadata.propagation.max.ms, when the cluster
        // still does not know the topic.
        Some(RDKafkaErrorCode::UnknownTopic | RDKafkaErrorCode::UnknownTopicOrPartition) => {
            rejected(Rejection::UnknownTopic)
        }
        Some(code @ (RDKafkaErrorCode::InvalidRecord | RDKafkaErrorCode::InvalidMessage)) => {
            rejected(Rejection::Invalid {
                code: code.to_string(),
            })
        }
        Some(
            RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::TransactionalIdAuthorizationFailed,
        ) => Failure::Setup {
            message: format!(
                "the worker's principal may not write idempotently or transactionally (topic \
                 {}): grant it IDEMPOTENT_WRITE on the cluster (and WRITE/DESCRIBE on its \
                 transactional id in exactly-once mode)",
                message.topic()
            ),
            error: error.clone(),
        },
        Some(RDKafkaErrorCode::Fatal) => {
            Failure::Fatal(fatal.unwrap_or_else(|| "librdkafka reported a fatal error".to_string()))
        }
        _ => Failure::Transient {
            topic: message.topic().to_string(),
            error: error.clone(),
        },
    }
}

/// The delivery state of one batch, shared by the delivery reports of its records.
pub(crate) struct BatchAck {
    remaining: AtomicUsize,
    outcome: Mutex<Outcome>,
    /// Completed when `remaining` reaches zero; `None` when the transaction thread resolves
    /// the batch itself.
    handle: Mutex<Option<DeliveryHandle>>,
}

#[derive(Default)]
struct Outcome {
    rejected: Vec<RejectedRecord>,
    /// The first failure that is not a rejection.
    error: Option<Failure>,
}

impl BatchAck {
    pub(crate) fn new(count: usize, handle: Option<DeliveryHandle>) -> Arc<BatchAck> {
        Arc::new(BatchAck {
            remaining: AtomicUsize::new(count),
            outcome: Mutex::new(Outcome::default()),
            handle: Mutex::new(handle),
        })
    }

    pub(crate) fn fail(&self, failure: Failure) {
        let mut outcome = lock(&self.outcome);
        match failure {
            Failure::Rejected(record) => outcome.rejected.push(*record),
            other => {
                let worse = match (&outcome.error, &other) {
                    (None, _) => true,
                    // A fatal or setup failure explains the batch better than a transient one.
                    (
                        Some(Failure::Transient { .. }),
                        Failure::Fatal(_) | Failure::Setup { .. },
                    ) => true,
                    _ => false,
                };
                if worse {
                    outcome.error = Some(other);
                }
            }
        }
    }

    /// `n` more records are settled; the last one completes the delivery.
    pub(crate) fn settle(&self, n: usize) {
        if self.remaining.fetch_sub(n, Ordering::AcqRel) == n {
            if let Some(handle) = lock(&self.handle).take() {
                handle.complete(self.take_result(true));
            }
        }
    }

    pub(crate) fn has_failure(&self) -> bool {
        let outcome = lock(&self.outcome);
        outcome.error.is_some() || !outcome.rejected.is_empty()
    }

    /// The batch's result. A transient failure wins over rejections when the other records
    /// were meant to be delivered (`others_delivered`), because then not every other record
    /// is known to be acknowledged; a fatal or setup failure always wins.
    pub(crate) fn take_result(&self, others_delivered: bool) -> Result<(), SinkError> {
        let mut outcome = lock(&self.outcome);
        let rejected = std::mem::take(&mut outcome.rejected);
        match outcome.error.take() {
            Some(f @ (Failure::Fatal(_) | Failure::Setup { .. })) => Err(f.into_error()),
            Some(f @ Failure::Transient { .. }) if others_delivered || rejected.is_empty() => {
                Err(f.into_error())
            }
            Some(f @ Failure::Rejected(_)) => Err(f.into_error()),
            _ if !rejected.is_empty() => Err(SinkError::Rejected(RejectedRecords {
                records: rejected,
                others_delivered,
            })),
            _ => Ok(()),
        }
    }
}

/// Wakes producers waiting for room in librdkafka's queue.
#[derive(Default)]
pub(crate) struct QueueSpace {
    /// Producers waiting now; delivery reports notify only when there are some.
    waiting: AtomicUsize,
    /// Async waiters.
    notify: tokio::sync::Notify,
    /// Blocking waiters (the transaction thread).
    generation: Mutex<u64>,
    freed: Condvar,
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl QueueSpace {
    fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(&self.waiting)
    }

    fn generation(&self) -> u64 {
        *lock(&self.generation)
    }

    fn wait_blocking(&self, seen: u64, timeout: Duration) {
        let guard = lock(&self.generation);
        let _ = self
            .freed
            .wait_timeout_while(guard, timeout, |g| *g == seen)
            .map_err(PoisonError::into_inner);
    }

    fn freed(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
            *lock(&self.generation) += 1;
            self.freed.notify_all();
        }
    }
}

/// Forwards librdkafka's log lines to tracing.
fn forward_log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

/// The admin client's context: logs only.
pub(crate) struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(target: "librdkafka", %error, reason, "kafka admin client error");
    }
}

/// The producer's context: delivery reports settle batches and wake queue waiters.
#[derive(Default)]
pub(crate) struct SinkContext {
    space: QueueSpace,
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Fatal) => {
                tracing::error!(target: "librdkafka", reason, "kafka producer failed fatally")
            }
            // Brokers going away is what backpressure is for; say it without alarm.
            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure) => {
                tracing::warn!(target: "librdkafka", reason, "kafka brokers unreachable; records wait in the queue")
            }
            _ => tracing::warn!(target: "librdkafka", %error, reason, "kafka producer error"),
        }
    }
}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = Arc<BatchAck>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Arc<BatchAck>) {
        if let Err((error, message)) = result {
            // A fatal error's reason is fetched from the client, which the context cannot
            // reach; the batch reports librdkafka's own text for it instead.
            let fatal = matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::Fatal))
                .then(|| error.to_string());
            ack.fail(delivery_failure(error, message, fatal));
        }
        ack.settle(1);
        self.space.freed();
    }
}

#[cfg(test)]
mod tests;
