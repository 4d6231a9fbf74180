//! The transaction thread of a transactional [`super::KafkaSink`] (KIP-618 exactly-once).
//!
//! ```text
//! send(batch) --bounded channel--> thread: init_transactions (once)
//!                                    begin ─ produce every record ─ commit ──> Delivery(Ok)
//!                                    │ abortable / transient failure:
//!                                    └─ abort ─ back off ─ same batch again (nothing of the
//!                                       aborted attempt is visible to read_committed readers)
//!                                    rejected record: abort ──> Delivery(Rejected, none delivered)
//!                                    fenced / fatal: Delivery(KafkaFatal), and every later one
//! ```
//! librdkafka's transactional calls block, so they run on a thread of their own rather than
//! on the async runtime. One transaction is open at a time; the channel holds at most
//! [`QUEUE_BATCHES`] more batches, after which `send` waits.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;

use super::{BatchAck, Failure, Shared, RETRY_BACKOFF_MAX, RETRY_BACKOFF_MIN};
use crate::{DeliveryHandle, SinkError, SinkRecord};

/// Batches queued for the transaction thread before `send` waits.
pub(crate) const QUEUE_BATCHES: usize = 2;

/// One batch for the transaction thread.
pub(crate) struct Batch {
    pub(crate) records: Vec<SinkRecord>,
    pub(crate) handle: DeliveryHandle,
}

/// What to do after a failed attempt.
enum Step {
    /// Back off and run the whole batch again in a new transaction.
    Retry(SinkError),
    /// Resolve the delivery with this error.
    Fail(SinkError),
}

pub(crate) fn spawn(
    shared: Arc<Shared>,
    transactional_id: String,
    transaction_timeout: Duration,
) -> Result<tokio::sync::mpsc::Sender<Batch>, SinkError> {
    let (tx, rx) = tokio::sync::mpsc::channel(QUEUE_BATCHES);
    let writer = Writer {
        shared,
        transactional_id,
        // A blocking call may take up to the transaction timeout; past that the coordinator
        // aborts the transaction anyway.
        call_timeout: transaction_timeout,
        initialized: false,
        broken: None,
        topics: String::new(),
    };
    std::thread::Builder::new()
        .name("sluice-kafka-txn".into())
        .spawn(move || writer.run(rx))
        .map_err(|source| SinkError::Io {
            path: "kafka transaction thread".into(),
            source,
        })?;
    Ok(tx)
}

struct Writer {
    shared: Arc<Shared>,
    transactional_id: String,
    call_timeout: Duration,
    initialized: bool,
    /// Set once the producer is unusable: every later batch fails with it.
    broken: Option<String>,
    /// The topics of the batch being written, for error messages.
    topics: String,
}

impl Writer {
    fn run(mut self, mut rx: tokio::sync::mpsc::Receiver<Batch>) {
        while let Some(batch) = rx.blocking_recv() {
            let result = match &self.broken {
                Some(reason) => Err(SinkError::KafkaFatal {
                    reason: reason.clone(),
                }),
                None => self.write(&batch),
            };
            if let Err(SinkError::KafkaFatal { reason }) = &result {
                self.broken = Some(reason.clone());
            }
            batch.handle.complete(result);
        }
    }

    /// Runs the batch in transactions until one commits or the failure is definite.
    fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut topics: Vec<&str> = batch.records.iter().map(|r| &*r.topic).collect();
        topics.sort_unstable();
        topics.dedup();
        self.topics = format!(
            "{} (transactional id {})",
            topics.join(", "),
            self.transactional_id
        );
        let mut backoff = RETRY_BACKOFF_MIN;
        loop {
            match self.attempt(&batch.records) {
                Ok(()) => return Ok(()),
                Err(Step::Fail(error)) => return Err(error),
                Err(Step::Retry(error)) => {
                    if batch.handle.is_abandoned() {
                        // Nobody waits for this batch any more (the pipeline stopped).
                        return Err(error);
                    }
                    tracing::warn!(
                        transactional_id = %self.transactional_id,
                        error = %error,
                        retry_in_ms = backoff.as_millis() as u64,
                        "kafka transaction failed; retrying the batch"
                    );
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
                }
            }
        }
    }

    fn attempt(&mut self, records: &[SinkRecord]) -> Result<(), Step> {
        let producer = &self.shared.producer;
        if !self.initialized {
            producer
                .init_transactions(self.call_timeout)
                .map_err(|e| self.step(e, "initialise transactions"))?;
            self.initialized = true;
        }
        producer
            .begin_transaction()
            .map_err(|e| self.step(e, "begin a transaction"))?;
        let ack = BatchAck::new(records.len(), None);
        for record in records {
            if let Err(failure) = self.shared.enqueue_blocking(record, &ack) {
                let stop = !matches!(failure, Failure::Rejected(_));
                ack.fail(failure);
                if stop {
                    break;
                }
            }
        }
        if ack.has_failure() {
            // A record could not even be queued: nothing of this transaction may commit.
            self.abort()?;
            return Err(self.after_abort(&ack, None));
        }
        loop {
            match producer.commit_transaction(self.call_timeout) {
                Ok(()) => {
                    return ack.take_result(true).map_err(Step::Fail);
                }
                Err(KafkaError::Transaction(e)) if e.is_retriable() => {
                    // Commit outcome unknown (e.g. timed out): calling it again is how
                    // librdkafka resolves it.
                    tracing::warn!(
                        transactional_id = %self.transactional_id,
                        error = %e,
                        "kafka transaction commit not confirmed yet; retrying the commit"
                    );
                }
                Err(KafkaError::Transaction(e)) if e.txn_requires_abort() => {
                    self.abort()?;
                    return Err(self.after_abort(&ack, Some(KafkaError::Transaction(e))));
                }
                Err(other) => return Err(self.step(other, "commit a transaction")),
            }
        }
    }

    /// Aborts the open transaction, retrying while the outcome is unknown.
    fn abort(&mut self) -> Result<(), Step> {
        loop {
            match self.shared.producer.abort_transaction(self.call_timeout) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Transaction(e)) if e.is_retriable() => {}
                Err(other) => {
                    // The producer is in a state no retry fixes.
                    let reason = format!(
                        "cannot abort a kafka transaction of transactional id {}: {other}",
                        self.transactional_id
                    );
                    return Err(Step::Fail(SinkError::KafkaFatal { reason }));
                }
            }
        }
    }

    /// The step after an aborted transaction: rejected records fail the batch (none of it
    /// was written); anything else is retried.
    fn after_abort(&self, ack: &BatchAck, cause: Option<KafkaError>) -> Step {
        match ack.take_result(false) {
            Err(
                error @ (SinkError::Rejected(_)
                | SinkError::KafkaFatal { .. }
                | SinkError::KafkaSetup { .. }),
            ) => Step::Fail(error),
            Err(error) => Step::Retry(error),
            Ok(()) => Step::Retry(SinkError::Kafka {
                topic: self.topics.clone(),
                source: cause.unwrap_or(KafkaError::MessageProduction(RDKafkaErrorCode::Fail)),
            }),
        }
    }

    /// Classifies a failed transactional call.
    fn step(&self, error: KafkaError, action: &str) -> Step {
        let KafkaError::Transaction(e) = &error else {
            return Step::Retry(SinkError::Kafka {
                topic: self.topics.clone(),
                source: error,
            });
        };
        if e.is_fatal() {
            let fenced = matches!(
                e.code(),
                RDKafkaErrorCode::ProducerFenced
                    | RDKafkaErrorCode::InvalidProducerEpoch
                    | RDKafkaErrorCode::Fenced
            );
            let reason = if fenced {
                format!(
                    "the producer with transactional id {} was fenced while trying to {action}: \
                     another task with the same id took over (a second worker running the same \
                     connector, or a restart of this one); stop the other one or give this \
                     worker its own group.id",
                    self.transactional_id
                )
            } else {
                format!(
                    "cannot {action} for transactional id {}: {}",
                    self.transactional_id,
                    e.string()
                )
            };
            return Step::Fail(SinkError::KafkaFatal { reason });
        }
        if matches!(
            e.code(),
            RDKafkaErrorCode::TransactionalIdAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
        ) {
            return Step::Fail(SinkError::KafkaSetup {
                message: format!(
                    "the worker's principal may not use transactional id {}: grant it WRITE and \
                     DESCRIBE on that transactional id (and IDEMPOTENT_WRITE on the cluster)",
                    self.transactional_id
                ),
                source: Some(error.clone()),
            });
        }
        Step::Retry(SinkError::Kafka {
            topic: self.topics.clone(),
            source: error,
        })
    }
}
