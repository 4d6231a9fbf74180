//! The data path from a source task to a sink, and the acknowledgements back.
//!
//! ```text
//! source task ──push(Record)──> [transforms] ──converters──> batch ──Sink::send──> sink
//!      ^   set_position(P) closes "everything pushed so far" at P          │
//!      │                                                                   │ Delivery
//!      └── commit() ── OffsetStore <── AckTracker (highest contiguous) <───┘
//! ```
//! Batches close on record count, bytes, or age; at most `max_in_flight` batches are
//! unacknowledged at once, after which [`Pipeline::can_accept`] is false and the source must
//! stop reading its log: backpressure reaches the replication reader instead of memory.
//!
//! Records a converter or the sink can never write follow the connector's `errors.*` keys
//! ([`errors`]): retried while the failure is transient, then the task fails
//! (`errors.tolerance=none`) or the record is skipped and, with
//! `errors.deadletterqueue.topic.name`, written to that topic. A batch whose refused records
//! go to the dead letter queue is acknowledged only once that write is.

mod errors;
#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{Future, StreamExt};
use serde_json::{Map, Value as Json};
use sluice_sinks::{Sink, SinkError, SinkRecord};

use std::sync::Arc;

use sluice_config::transforms::ErrorHandling;
use tokio_util::sync::CancellationToken;

use crate::connect::Record;
use crate::converter::{ConvertError, Converter};
use crate::metrics::ConnectorMetrics;
use crate::offset::{AckTracker, Committable, OffsetError, OffsetStore};
use crate::transforms::{TransformChain, TransformError};
use errors::{Failure, RetryPolicy, Stage};

/// A source position that can be stored as a Kafka Connect source offset.
pub trait Position: Clone + Send + 'static {
    fn to_offset(&self) -> Map<String, Json>;

    /// Every `(source partition, source offset)` this position commits. Most sources have one
    /// partition, the pipeline's (`partition`); a source that reads several tables on their
    /// own (the JDBC source: one partition per table) returns one pair per table it has read.
    fn offsets(&self, partition: &Json) -> Vec<(Json, Map<String, Json>)> {
        vec![(partition.clone(), self.to_offset())]
    }

    /// When the source committed the change at this position (for "milliseconds behind
    /// source"); `None` when unknown.
    fn source_ts_ms(&self) -> Option<i64> {
        None
    }

    /// A short human-readable form for logs and metrics (e.g. an LSN, `file:pos`).
    fn describe(&self) -> String {
        Json::Object(self.to_offset()).to_string()
    }
}

/// Sizes of the data path.
#[derive(Debug, Clone)]
pub struct PipelineLimits {
    /// A batch closes at this many records (`max.batch.size`).
    pub max_batch_records: usize,
    /// ... or at this many bytes of serialised keys and values.
    pub max_batch_bytes: usize,
    /// ... or when its first record is this old.
    pub linger: Duration,
    /// Unacknowledged batches before the source is paused.
    pub max_in_flight: usize,
}

impl Default for PipelineLimits {
    fn default() -> Self {
        PipelineLimits {
            max_batch_records: 2048,
            max_batch_bytes: 4 << 20,
            linger: Duration::from_millis(20),
            max_in_flight: 8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("converter failed for a record on topic {topic}")]
    Convert {
        topic: String,
        #[source]
        source: ConvertError,
    },
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error("sink failed")]
    Sink(#[from] SinkError),
    #[error(
        "cannot write {records} refused record(s) to the dead letter queue topic {topic}; \
         nothing after them is committed: check that the topic can be created or written to"
    )]
    DeadLetter {
        topic: Arc<str>,
        records: usize,
        #[source]
        source: Box<SinkError>,
    },
    #[error(
        "{} record(s) were refused inside a transaction (exactly.once.source.support=enabled), \
         so the rest of the batch was not written either; the dead letter queue cannot be used \
         with exactly-once delivery: fix the cause or turn exactly-once support off; the first: {}",
        .0.len(), .0.records.first().map(ToString::to_string).unwrap_or_default()
    )]
    RejectedInTransaction(Box<sluice_sinks::RejectedRecords>),
    #[error("offset store failed")]
    Offsets(#[from] OffsetError),
}

/// What a pending delivery carries: a batch, or the dead-lettered records of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carries {
    Batch,
    /// The records of a batch the sink refused, on their way to the dead letter queue
    /// (`records` of them).
    DeadLetters {
        records: usize,
    },
}

type DeliveryFuture = Pin<Box<dyn Future<Output = (u64, Carries, Result<(), SinkError>)> + Send>>;

/// Sends records to the dead letter queue and waits for their acknowledgement.
type SendDeadLetters = Box<
    dyn Fn(Vec<SinkRecord>) -> Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send>> + Send,
>;

/// One connector task's data path. `S` is the sink, `P` the source's position type.
pub struct Pipeline<S: Sink, P: Position> {
    connector: String,
    partition: Json,
    key_converter: Box<dyn Converter>,
    value_converter: Box<dyn Converter>,
    transforms: TransformChain,
    sink: S,
    store: Box<dyn OffsetStore>,
    limits: PipelineLimits,
    tracker: AckTracker<P>,
    deliveries: FuturesUnordered<DeliveryFuture>,
    batch: Vec<SinkRecord>,
    batch_bytes: usize,
    batch_started: Option<Instant>,
    /// Position reached by everything pushed so far, not yet attached to a batch.
    pending_position: Option<P>,
    /// The latest position pushed (acknowledged or not).
    last_position: Option<P>,
    /// The latest position acknowledged but not yet written to the store.
    acked_position: Option<Committable<P>>,
    /// The latest position written to the store.
    committed_position: Option<P>,
    /// Converter output buffers; a filled one moves into the record and a fresh one of about
    /// the same size takes its place (no copy). Keys and values apart: their sizes differ.
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    records_sent: u64,
    metrics: Arc<ConnectorMetrics>,
    /// Pushed / dropped by a transform since the last batch (counted per batch, not per event).
    pushed: u64,
    filtered: u64,
    /// Exactly-once: the offsets topic; each batch then ends with the offset records of its
    /// position, so a transactional sink commits records and offsets together (KIP-618).
    offsets_in_batches: Option<Arc<str>>,
    /// The connector's `errors.*` keys.
    errors: ErrorHandling,
    retry: RetryPolicy,
    /// Where dead-lettered records are sent (a handle of the sink that creates the dead letter
    /// topic by its own rules), and the topic; `Some` only with `errors.tolerance=all` and a
    /// dead letter topic.
    dead_letter: Option<(SendDeadLetters, Arc<str>)>,
    /// Records a converter failed on, for the dead letter queue with the next batch.
    dead_letters: Vec<SinkRecord>,
}

/// Convert one key or value; registers its schema first when the converter asks for that.
/// A transient failure (the schema registry down) is retried by `retry`
/// (`errors.retry.timeout`); the clock starts only when something fails.
async fn convert(
    converter: &mut dyn Converter,
    topic: &str,
    schema: Option<&std::sync::Arc<crate::connect::Schema>>,
    value: Option<&crate::connect::Value>,
    buf: &mut Vec<u8>,
    retry: &RetryPolicy,
    metrics: &ConnectorMetrics,
) -> Result<Option<Vec<u8>>, ConvertError> {
    let mut error = match convert_once(converter, topic, schema, value, buf).await {
        Ok(filled) => return Ok(filled.then(|| take_filled(buf))),
        Err(e) => e,
    };
    if !error.is_transient() || !retry.retries() {
        return Err(error);
    }
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        tracing::warn!(
            topic,
            attempt,
            retry_in_ms = retry.delay_ms(attempt),
            "{}; retrying (errors.retry.timeout)",
            crate::postgres::connector::error_chain(&error)
        );
        metrics.error();
        if !retry.wait(started, attempt).await {
            return Err(error);
        }
        match convert_once(converter, topic, schema, value, buf).await {
            Ok(filled) => return Ok(filled.then(|| take_filled(buf))),
            Err(e) if e.is_transient() => error = e,
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
}

async fn convert_once(
    converter: &mut dyn Converter,
    topic: &str,
    schema: Option<&std::sync::Arc<crate::connect::Schema>>,
    value: Option<&crate::connect::Value>,
    buf: &mut Vec<u8>,
) -> Result<bool, ConvertError> {
    match converter.convert(topic, schema, value, buf) {
        Err(ConvertError::NeedsRegistration { .. }) => {
            converter.register(topic, schema).await?;
            converter.convert(topic, schema, value, buf)
        }
        other => other,
    }
}

/// Take a converter's output out of `buf`, leaving a fresh buffer with room for a record of
/// the same size (plus some slack, so the next one rarely reallocates).
pub(crate) fn take_filled(buf: &mut Vec<u8>) -> Vec<u8> {
    let room = buf.len() + buf.len() / 8 + 64;
    std::mem::replace(buf, Vec::with_capacity(room))
}

impl<S: Sink, P: Position> Pipeline<S, P> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        connector: &str,
        partition: Json,
        key_converter: Box<dyn Converter>,
        value_converter: Box<dyn Converter>,
        sink: S,
        store: Box<dyn OffsetStore>,
        limits: PipelineLimits,
    ) -> Self {
        Pipeline {
            connector: connector.to_string(),
            partition,
            key_converter,
            value_converter,
            transforms: TransformChain::empty(),
            sink,
            store,
            limits,
            tracker: AckTracker::new(),
            deliveries: FuturesUnordered::new(),
            batch: Vec::new(),
            batch_bytes: 0,
            batch_started: None,
            pending_position: None,
            last_position: None,
            acked_position: None,
            committed_position: None,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
            records_sent: 0,
            metrics: ConnectorMetrics::new(),
            pushed: 0,
            filtered: 0,
            offsets_in_batches: None,
            errors: ErrorHandling::default(),
            retry: RetryPolicy::new(&ErrorHandling::default(), CancellationToken::new()),
            dead_letter: None,
            dead_letters: Vec::new(),
        }
    }

    /// Handle failed records by the connector's `errors.*` keys (taken from its transform
    /// chain by [`Pipeline::with_transforms`]); `shutdown` ends retries when the task stops.
    /// `dead_letter_sink` writes the dead letter queue when
    /// `errors.deadletterqueue.topic.name` is set (with `errors.tolerance=all`).
    pub fn with_error_handling(
        mut self,
        errors: ErrorHandling,
        shutdown: CancellationToken,
        dead_letter_sink: Option<S>,
    ) -> Self
    where
        S: Clone + 'static,
    {
        self.retry = RetryPolicy::new(&errors, shutdown);
        self.dead_letter = match (&errors.dead_letter_queue, dead_letter_sink) {
            (Some(dlq), Some(sink)) if errors::tolerated(&errors) => {
                // Each send runs inside a delivery future (so `next_ack` stays cancel-safe)
                // on a handle of its own.
                let send: SendDeadLetters = Box::new(move |records| {
                    let mut sink = sink.clone();
                    Box::pin(async move { sink.send(records).await?.await })
                });
                Some((send, Arc::from(dlq.topic.as_str())))
            }
            _ => None,
        };
        self.errors = errors;
        self
    }

    /// End every batch with its position's offset records for `topic` (the worker's
    /// `offset.storage.topic`), for a transactional sink (`exactly.once.source.support`).
    pub fn with_offsets_in_batches(mut self, topic: Arc<str>) -> Self {
        self.offsets_in_batches = Some(topic);
        self
    }

    /// The offset stored for this connector's partition.
    pub fn load_offset(&self) -> Result<Option<Map<String, Json>>, PipelineError> {
        Ok(self.store.load(&self.connector, &self.partition)?)
    }

    /// The offset stored for another source partition of this connector (see
    /// [`Position::offsets`]).
    pub fn load_offset_of(
        &self,
        partition: &Json,
    ) -> Result<Option<Map<String, Json>>, PipelineError> {
        Ok(self.store.load(&self.connector, partition)?)
    }

    /// Apply `transforms` (the connector's SMTs) to every record pushed from now on, and
    /// handle failed records by the connector's `errors.*` keys the chain was built with.
    pub fn with_transforms(mut self, transforms: TransformChain) -> Self {
        self.errors = transforms.error_handling().clone();
        self.retry = RetryPolicy::new(&self.errors, self.retry.shutdown().clone());
        self.transforms = transforms;
        self
    }

    /// Report this pipeline's numbers into `metrics` (shared with the REST API).
    pub fn with_metrics(mut self, metrics: Arc<ConnectorMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> &Arc<ConnectorMetrics> {
        &self.metrics
    }

    /// Transform, convert and append one record to the open batch. Completes at once unless a
    /// converter must first register a new schema.
    pub async fn push(&mut self, record: Record) -> Result<(), PipelineError> {
        self.pushed += 1;
        let record = if self.transforms.is_empty() {
            record
        } else {
            let skipped = self.transforms.skipped_records();
            match self.transforms.apply(record)? {
                Some(record) => record,
                None => {
                    self.filtered += 1;
                    // A transform failed on it under errors.tolerance=all (not a filter).
                    let failed = self.transforms.skipped_records() - skipped;
                    if failed > 0 {
                        self.metrics.records_skipped(failed);
                    }
                    return Ok(());
                }
            }
        };
        let key = match convert(
            &mut *self.key_converter,
            &record.topic,
            record.key_schema.as_ref(),
            record.key.as_ref(),
            &mut self.key_buf,
            &self.retry,
            &self.metrics,
        )
        .await
        {
            Ok(key) => key,
            Err(e) => return self.convert_failed(record, Stage::KeyConverter, None, e),
        };
        let value = match convert(
            &mut *self.value_converter,
            &record.topic,
            record.value_schema.as_ref(),
            record.value.as_ref(),
            &mut self.value_buf,
            &self.retry,
            &self.metrics,
        )
        .await
        {
            Ok(value) => value,
            Err(e) => return self.convert_failed(record, Stage::ValueConverter, Some(key), e),
        };
        self.batch_bytes += key.as_ref().map_or(0, Vec::len) + value.as_ref().map_or(0, Vec::len);
        let headers = record
            .headers
            .into_iter()
            .map(|(k, v)| (k, v.map(String::into_bytes)))
            .collect();
        self.batch.push(SinkRecord {
            topic: record.topic,
            key,
            value,
            headers,
            timestamp_ms: record.timestamp_ms,
        });
        self.batch_started.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Copies of the key and value converters for a source that converts records on its own
    /// tasks and hands them over with [`Pipeline::push_converted`] (the snapshot readers, so
    /// that conversion runs in parallel). `None` when the connector has transforms (they must
    /// see the records first) or a converter cannot be copied (see [`Converter::fork`]).
    pub fn fork_converters(&self) -> Option<(Box<dyn Converter>, Box<dyn Converter>)> {
        if !self.transforms.is_empty() {
            return None;
        }
        Some((self.key_converter.fork()?, self.value_converter.fork()?))
    }

    /// Append a record converted by [`Pipeline::fork_converters`]' converters to the open
    /// batch, as [`Pipeline::push`] would have converted it.
    pub fn push_converted(&mut self, record: SinkRecord) {
        self.pushed += 1;
        self.batch_bytes +=
            record.key.as_ref().map_or(0, Vec::len) + record.value.as_ref().map_or(0, Vec::len);
        self.batch.push(record);
        self.batch_started.get_or_insert_with(Instant::now);
    }

    /// A converter failed on `record` for good (or past `errors.retry.timeout`): the task fails,
    /// or with `errors.tolerance=all` the record is skipped (and dead-lettered). A converter
    /// whose configuration is wrong fails the task whatever the tolerance: it would skip
    /// every record.
    #[cold]
    fn convert_failed(
        &mut self,
        record: Record,
        stage: Stage,
        key: Option<Option<Vec<u8>>>,
        error: ConvertError,
    ) -> Result<(), PipelineError> {
        let config_error = error.class() == crate::converter::ConvertErrorClass::Config;
        if config_error || !errors::tolerated(&self.errors) {
            return Err(PipelineError::Convert {
                topic: record.topic.to_string(),
                source: error,
            });
        }
        let converter = match stage {
            Stage::KeyConverter => &*self.key_converter,
            _ => &*self.value_converter,
        };
        let failure = Failure::converter(stage, converter, &error);
        self.metrics.records_skipped(1);
        self.filtered += 1;
        errors::log_skipped(
            &self.errors,
            &self.connector,
            &record.topic,
            &failure,
            || errors::describe_record(&record),
        );
        if let (Some((_, topic)), Some(dlq)) = (&self.dead_letter, &self.errors.dead_letter_queue) {
            let original = errors::unconverted(&record, key);
            self.dead_letters.push(errors::dead_letter_record(
                dlq,
                topic,
                &self.connector,
                original,
                &failure,
            ));
        }
        Ok(())
    }

    /// Everything pushed so far reaches `position` once delivered.
    pub fn set_position(&mut self, position: P) {
        self.pending_position = Some(position);
    }

    /// Whether the open batch should be sent now (full by records or bytes).
    pub fn batch_full(&self) -> bool {
        self.batch.len() >= self.limits.max_batch_records
            || self.batch_bytes >= self.limits.max_batch_bytes
    }

    /// When the open batch must be sent at the latest (`None`: nothing is open).
    pub fn batch_deadline(&self) -> Option<tokio::time::Instant> {
        if self.batch.is_empty() && self.pending_position.is_none() {
            return None;
        }
        let started = self.batch_started.unwrap_or_else(Instant::now);
        Some(tokio::time::Instant::from_std(started + self.limits.linger))
    }

    /// Whether the source may read more input (fewer than `max_in_flight` unacknowledged batches).
    pub fn can_accept(&self) -> bool {
        self.tracker.in_flight() < self.limits.max_in_flight
    }

    pub fn has_in_flight(&self) -> bool {
        !self.deliveries.is_empty()
    }

    /// The latest position pushed, delivered or not: where a reconnecting source resumes.
    pub fn last_position(&self) -> Option<&P> {
        self.last_position
            .as_ref()
            .or(self.committed_position.as_ref())
    }

    pub fn records_sent(&self) -> u64 {
        self.records_sent
    }

    /// Send the open batch (a batch with no records but a new position is a marker that is
    /// acknowledged at once, in order).
    pub async fn flush_batch(&mut self) -> Result<(), PipelineError> {
        if !self.dead_letters.is_empty() {
            self.send_dead_letters();
        }
        let position = self.pending_position.take();
        if self.batch.is_empty() && position.is_none() {
            return Ok(());
        }
        if let Some(p) = &position {
            if let Some(ts) = p.source_ts_ms() {
                self.metrics
                    .set_millis_behind_source(crate::envelope::Clock::now().ms() - ts);
            }
        }
        if position.is_some() {
            self.last_position.clone_from(&position);
        }
        if let (Some(topic), Some(p)) = (&self.offsets_in_batches, &position) {
            for (partition, offset) in p.offsets(&self.partition) {
                let key = Json::Array(vec![Json::String(self.connector.clone()), partition]);
                self.batch.push(SinkRecord {
                    topic: Arc::clone(topic),
                    key: Some(serde_json::to_vec(&key).unwrap_or_default()),
                    value: Some(serde_json::to_vec(&offset).unwrap_or_default()),
                    headers: Vec::new(),
                    timestamp_ms: None,
                });
            }
        }
        let seq = self.tracker.register(position);
        let records = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        self.batch_started = None;
        self.records_sent += records.len() as u64;
        self.metrics
            .add_events_seen(std::mem::take(&mut self.pushed));
        self.metrics
            .add_events_filtered(std::mem::take(&mut self.filtered));
        self.metrics.batch_sent(records.iter().map(|r| &r.topic));
        self.metrics.set_batches_in_flight(self.tracker.in_flight());
        if records.is_empty() {
            self.deliveries
                .push(Box::pin(async move { (seq, Carries::Batch, Ok(())) }));
        } else {
            let delivery = self.sink.send(records).await?;
            self.deliveries.push(Box::pin(
                async move { (seq, Carries::Batch, delivery.await) },
            ));
        }
        Ok(())
    }

    /// Send the records converters failed on to the dead letter queue, as a batch of its own
    /// ahead of the open one, so that the open batch's position is committed only after
    /// they are acknowledged.
    #[cold]
    fn send_dead_letters(&mut self) {
        let records = std::mem::take(&mut self.dead_letters);
        let Some((send, _)) = &self.dead_letter else {
            return;
        };
        let count = records.len();
        let seq = self.tracker.register(None);
        self.metrics.dead_lettered(count as u64);
        let sent = send(records);
        self.deliveries.push(Box::pin(async move {
            (seq, Carries::DeadLetters { records: count }, sent.await)
        }));
    }

    /// Wait for the next delivery (cancel-safe). A failed delivery is an error: nothing after it
    /// may be committed. Records the sink refused for good are skipped (and dead-lettered)
    /// under `errors.tolerance=all`.
    pub async fn next_ack(&mut self) -> Result<(), PipelineError> {
        match self.deliveries.next().await {
            Some((seq, _, Ok(()))) => {
                self.ack(seq);
                Ok(())
            }
            Some((seq, Carries::Batch, Err(SinkError::Rejected(rejected))))
                if errors::tolerated(&self.errors) =>
            {
                self.rejected(seq, rejected)
            }
            Some((_, Carries::DeadLetters { records }, Err(source))) => {
                Err(PipelineError::DeadLetter {
                    topic: self
                        .dead_letter
                        .as_ref()
                        .map_or_else(|| Arc::from(""), |(_, t)| Arc::clone(t)),
                    records,
                    source: Box::new(source),
                })
            }
            Some((_, Carries::Batch, Err(e))) => Err(e.into()),
            None => std::future::pending().await,
        }
    }

    fn ack(&mut self, seq: u64) {
        self.tracker.ack(seq);
        self.metrics.set_batches_in_flight(self.tracker.in_flight());
        if let Some(c) = self.tracker.take_committable() {
            self.acked_position = Some(c);
        }
    }

    /// Batch `seq` was written except for `rejected` (`errors.tolerance=all`): skip them, as
    /// Kafka Connect skips records its producer fails on, and write them to the dead letter
    /// queue when there is one; the batch is acknowledged once that write is.
    #[cold]
    fn rejected(
        &mut self,
        seq: u64,
        rejected: sluice_sinks::RejectedRecords,
    ) -> Result<(), PipelineError> {
        if !rejected.others_delivered {
            return Err(PipelineError::RejectedInTransaction(Box::new(rejected)));
        }
        self.metrics.records_skipped(rejected.len() as u64);
        let mut dead_letters = Vec::new();
        for r in rejected.records {
            let failure = Failure::rejected(&r.reason, &r.record.topic);
            errors::log_skipped(
                &self.errors,
                &self.connector,
                &r.record.topic,
                &failure,
                || errors::describe_sink_record(&r.record),
            );
            if let (Some((_, topic)), Some(dlq)) =
                (&self.dead_letter, &self.errors.dead_letter_queue)
            {
                dead_letters.push(errors::dead_letter_record(
                    dlq,
                    topic,
                    &self.connector,
                    r.record,
                    &failure,
                ));
            }
        }
        let Some((send, _)) = &self.dead_letter else {
            self.ack(seq);
            return Ok(());
        };
        let count = dead_letters.len();
        self.metrics.dead_lettered(count as u64);
        let sent = send(dead_letters);
        self.deliveries.push(Box::pin(async move {
            (seq, Carries::DeadLetters { records: count }, sent.await)
        }));
        Ok(())
    }

    /// Wait until everything sent so far is acknowledged.
    pub async fn drain(&mut self) -> Result<(), PipelineError> {
        self.flush_batch().await?;
        while self.has_in_flight() {
            self.next_ack().await?;
        }
        Ok(())
    }

    /// Make acknowledged records durable and store their position. Returns the position now
    /// committed, if it moved.
    pub async fn commit(&mut self) -> Result<Option<P>, PipelineError> {
        let Some(committable) = self.acked_position.take() else {
            return Ok(None);
        };
        self.sink.sync().await?;
        let position = committable.position().clone();
        let partition = &self.partition;
        for (part, offset) in committable.split(|p| p.offsets(partition)) {
            self.store.commit(&self.connector, &part, offset)?;
        }
        self.metrics.committed(position.describe());
        self.committed_position = Some(position.clone());
        Ok(Some(position))
    }

    pub fn committed_position(&self) -> Option<&P> {
        self.committed_position.as_ref()
    }
}
