//! What happens to a record that fails on its way to the sink: Kafka Connect's `errors.*`
//! keys, applied to the converters and to records the sink refuses for good.
//!
//! ```text
//! converter ──transient (registry down)──> retried with backoff: 300 ms, doubling up to
//!     │                                    errors.retry.delay.max.ms, for errors.retry.timeout
//!     │ definite, or still failing
//!     v
//! errors.tolerance=none ──> the task fails (as does a config error, whatever the tolerance)
//! errors.tolerance=all  ──> record skipped: counted, logged (errors.log.*), and written to
//!                           errors.deadletterqueue.topic.name when set
//! sink: Rejected ─────────> the same; the batch counts as delivered once the dead letter
//!                           write is acknowledged, so its position is committed only then
//! ```
//! Nothing here runs while records succeed: the retry clock starts at the first failure, and
//! dead-letter records are built only for failed ones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_config::transforms::{DeadLetterQueueConfig, ErrorHandling, ErrorTolerance};
use sluice_sinks::{Rejection, SinkRecord};
use tokio_util::sync::CancellationToken;

use crate::connect::Record;
use crate::converter::json::JsonConverter;
use crate::converter::{ConvertError, Converter};

/// First wait before a failed operation is retried (Kafka Connect's `RETRIES_DELAY_MIN_MS`).
pub(super) const RETRY_DELAY_MIN: Duration = Duration::from_millis(300);

/// The task id Sluice gives every connector's single task.
const TASK_ID: &str = "0";

/// Kafka Connect's processing stages, as `__connect.errors.stage` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    KeyConverter,
    ValueConverter,
    KafkaProduce,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
        }
    }
}

/// How long and how often a transient failure is retried.
#[derive(Debug, Clone)]
pub(super) struct RetryPolicy {
    /// `None`: forever (`errors.retry.timeout=-1`); zero: no retry.
    timeout: Option<Duration>,
    delay_max: Duration,
    /// Ends a retry loop early when the task stops.
    shutdown: CancellationToken,
}

impl RetryPolicy {
    pub(super) fn new(errors: &ErrorHandling, shutdown: CancellationToken) -> RetryPolicy {
        RetryPolicy {
            timeout: u64::try_from(errors.retry_timeout_ms)
                .ok()
                .map(Duration::from_millis),
            delay_max: Duration::from_millis(errors.retry_delay_max_ms.max(1)),
            shutdown,
        }
    }

    pub(super) fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Whether a transient failure is retried at all.
    #[inline]
    pub(super) fn retries(&self) -> bool {
        self.timeout != Some(Duration::ZERO)
    }

    /// Waits before retry `attempt` (1, 2, ...) of an operation that first failed at
    /// `started`; `false` when the time is up or the task stops (then give up).
    pub(super) async fn wait(&self, started: Instant, attempt: u32) -> bool {
        let delay = RETRY_DELAY_MIN
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.delay_max);
        let delay = match self.timeout {
            None => delay,
            Some(timeout) => {
                let left = timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return false;
                }
                delay.min(left)
            }
        };
        tokio::select! {
            biased;
            // The task stops: give up now rather than after the retries.
            _ = self.shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    pub(super) fn delay_ms(&self, attempt: u32) -> u64 {
        RETRY_DELAY_MIN
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.delay_max)
            .as_millis() as u64
    }
}

/// One failure to report (log, dead letter headers).
pub(super) struct Failure<'a> {
    pub stage: Stage,
    /// The Connect class that failed (`__connect.errors.class.name`).
    pub class_name: &'a str,
    /// The Java exception class Connect would report (`__connect.errors.exception.class.name`).
    pub exception_class: &'static str,
    /// The error and its causes, outermost first.
    pub message: String,
}

impl Failure<'_> {
    pub(super) fn converter(
        stage: Stage,
        converter: &dyn Converter,
        error: &ConvertError,
    ) -> Failure<'static> {
        Failure {
            stage,
            class_name: converter.class_name(),
            exception_class: match error {
                ConvertError::RegistryUnreachable { .. } | ConvertError::Registry { .. } => {
                    "org.apache.kafka.common.errors.SerializationException"
                }
                ConvertError::SchemaMismatch { .. }
                | ConvertError::AvroSchema { .. }
                | ConvertError::NeedsRegistration { .. } => {
                    "org.apache.kafka.connect.errors.DataException"
                }
            },
            message: crate::postgres::connector::error_chain(error),
        }
    }

    pub(super) fn rejected(reason: &Rejection, topic: &str) -> Failure<'static> {
        Failure {
            stage: Stage::KafkaProduce,
            class_name: "org.apache.kafka.connect.runtime.WorkerSourceTask",
            exception_class: match reason {
                Rejection::TooLarge { .. } => {
                    "org.apache.kafka.common.errors.RecordTooLargeException"
                }
                Rejection::NotAuthorized => {
                    "org.apache.kafka.common.errors.TopicAuthorizationException"
                }
                Rejection::UnknownTopic => {
                    "org.apache.kafka.common.errors.UnknownTopicOrPartitionException"
                }
                Rejection::Invalid { .. } => {
                    "org.apache.kafka.common.errors.InvalidRecordException"
                }
            },
            message: format!("a record for topic {topic}: {reason}"),
        }
    }
}

/// Whether a failure of this tolerance is skipped.
pub(super) fn tolerated(errors: &ErrorHandling) -> bool {
    errors.tolerance == ErrorTolerance::All
}

/// `errors.log.enable`: one log line per skipped record; its contents only with
/// `errors.log.include.messages` (they may hold personal data, so never by default).
pub(super) fn log_skipped(
    errors: &ErrorHandling,
    connector: &str,
    topic: &str,
    failure: &Failure<'_>,
    contents: impl FnOnce() -> String,
) {
    if !errors.log_enable {
        return;
    }
    if errors.log_include_messages {
        tracing::error!(
            connector,
            task = TASK_ID,
            stage = failure.stage.as_str(),
            class = failure.class_name,
            topic,
            record = %contents(),
            "error in stage {} ({}): {}; record skipped (errors.tolerance=all)",
            failure.stage.as_str(),
            failure.class_name,
            failure.message
        );
    } else {
        tracing::error!(
            connector,
            task = TASK_ID,
            stage = failure.stage.as_str(),
            class = failure.class_name,
            topic,
            "error in stage {} ({}): {}; record skipped (errors.tolerance=all)",
            failure.stage.as_str(),
            failure.class_name,
            failure.message
        );
    }
}

/// A source record's contents for `errors.log.include.messages`.
pub(super) fn describe_record(record: &Record) -> String {
    format!(
        "key={:?} value={:?} headers={:?}",
        record.key, record.value, record.headers
    )
}

/// A sink record's contents for `errors.log.include.messages` (bytes shown lossily as text).
pub(super) fn describe_sink_record(record: &SinkRecord) -> String {
    fn text(b: &Option<Vec<u8>>) -> Option<std::borrow::Cow<'_, str>> {
        b.as_deref().map(String::from_utf8_lossy)
    }
    format!(
        "key={:?} value={:?} headers={:?}",
        text(&record.key),
        text(&record.value),
        record
            .headers
            .iter()
            .map(|(k, v)| (k, text(v)))
            .collect::<Vec<_>>()
    )
}

/// The record written to the dead letter queue for `original`: the same key, value, headers
/// and timestamp on `dlq.topic`, plus Connect's `__connect.errors.*` context headers when
/// `errors.deadletterqueue.context.headers.enable` is on. A source record has no Kafka
/// partition or offset yet: both headers say -1.
pub(super) fn dead_letter_record(
    dlq: &DeadLetterQueueConfig,
    dlq_topic: &Arc<str>,
    connector: &str,
    mut original: SinkRecord,
    failure: &Failure<'_>,
) -> SinkRecord {
    if dlq.context_headers {
        let original_topic = original.topic.to_string();
        let mut add = |name: &str, value: &str| {
            original.headers.push((
                format!("__connect.errors.{name}"),
                Some(value.as_bytes().to_vec()),
            ));
        };
        add("topic", &original_topic);
        add("partition", "-1");
        add("offset", "-1");
        add("connector.name", connector);
        add("task.id", TASK_ID);
        add("stage", failure.stage.as_str());
        add("class.name", failure.class_name);
        add("exception.class.name", failure.exception_class);
        add("exception.message", &failure.message);
        // Rust keeps no stack trace of a returned error: the chain of causes stands in for it.
        add(
            "exception.stacktrace",
            &format!("{}: {}", failure.exception_class, failure.message),
        );
    }
    original.topic = Arc::clone(dlq_topic);
    original
}

/// A record a converter failed on, as it goes to the dead letter queue: the sides that were
/// converted as they are, the others as schemaless JSON (the Connect value without its
/// schema), so the record can still be read and replayed.
pub(super) fn unconverted(record: &Record, key: Option<Option<Vec<u8>>>) -> SinkRecord {
    let mut json = JsonConverter::new(false);
    let mut as_json = |schema, value| {
        let mut out = Vec::new();
        match json.convert(&record.topic, schema, value, &mut out) {
            Ok(true) => Some(out),
            Ok(false) | Err(_) => None,
        }
    };
    let key = match key {
        Some(key) => key,
        None => as_json(record.key_schema.as_ref(), record.key.as_ref()),
    };
    let value = as_json(record.value_schema.as_ref(), record.value.as_ref());
    SinkRecord {
        topic: Arc::clone(&record.topic),
        key,
        value,
        headers: record
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_ref().map(|v| v.as_bytes().to_vec())))
            .collect(),
        timestamp_ms: record.timestamp_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(timeout_ms: i64, delay_max_ms: u64) -> RetryPolicy {
        let errors = ErrorHandling {
            retry_timeout_ms: timeout_ms,
            retry_delay_max_ms: delay_max_ms,
            ..ErrorHandling::default()
        };
        RetryPolicy::new(&errors, CancellationToken::new())
    }

    #[test]
    fn backoff_doubles_from_300ms_up_to_the_maximum() {
        let p = policy(-1, 2000);
        let delays: Vec<u64> = (1..=6).map(|a| p.delay_ms(a)).collect();
        assert_eq!(delays, [300, 600, 1200, 2000, 2000, 2000]);
        assert!(p.retries());
        assert!(!policy(0, 60_000).retries());
    }

    #[tokio::test]
    async fn retries_stop_at_the_timeout_or_at_shutdown() {
        let p = policy(1000, 60_000);
        let started = Instant::now();
        // 300 ms, 600 ms, then what is left of the second; then the time is up.
        let mut attempts = 0;
        while p.wait(started, attempts + 1).await {
            attempts += 1;
            assert!(attempts < 10, "the timeout must end the retries");
        }
        assert!(attempts >= 1);
        assert!(started.elapsed() >= Duration::from_millis(1000));
        let forever = policy(-1, 60_000);
        forever.shutdown.cancel();
        assert!(!forever.wait(Instant::now(), 1).await);
    }

    #[test]
    fn context_headers_follow_kafka_connect() {
        let dlq = DeadLetterQueueConfig {
            topic: "dlq".into(),
            replication_factor: 1,
            context_headers: true,
        };
        let original = SinkRecord {
            topic: Arc::from("db.public.t"),
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            headers: vec![("h".into(), Some(b"1".to_vec()))],
            timestamp_ms: Some(5),
        };
        let failure = Failure::rejected(&Rejection::TooLarge { bytes: 10 }, "db.public.t");
        let r = dead_letter_record(&dlq, &Arc::from("dlq"), "c1", original, &failure);
        assert_eq!(&*r.topic, "dlq");
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v"[..]));
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8(v).expect("utf-8"))
        };
        assert_eq!(header("h").as_deref(), Some("1"));
        assert_eq!(
            header("__connect.errors.topic").as_deref(),
            Some("db.public.t")
        );
        assert_eq!(header("__connect.errors.partition").as_deref(), Some("-1"));
        assert_eq!(
            header("__connect.errors.stage").as_deref(),
            Some("KAFKA_PRODUCE")
        );
        assert_eq!(
            header("__connect.errors.connector.name").as_deref(),
            Some("c1")
        );
        assert_eq!(
            header("__connect.errors.exception.class.name").as_deref(),
            Some("org.apache.kafka.common.errors.RecordTooLargeException")
        );
        assert!(
            header("__connect.errors.exception.message").is_some_and(|m| m.contains("10 bytes"))
        );
        assert_eq!(r.headers.len(), 11);
    }
}
