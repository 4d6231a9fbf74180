//! The pipeline's error handling with a sink whose deliveries the test completes by hand: a
//! batch with refused records is acknowledged only once their dead letter write is.

use std::sync::{Arc, Mutex};

use futures::FutureExt as _;
use serde_json::{json, Map, Value as Json};
use sluice_config::transforms::TransformsConfig;
use sluice_sinks::{
    Delivery, DeliveryHandle, RejectedRecord, RejectedRecords, Rejection, Sink, SinkError,
    SinkRecord,
};
use tokio_util::sync::CancellationToken;

use super::{Pipeline, PipelineError, PipelineLimits, Position};
use crate::connect::{Record, Value};
use crate::converter::string::StringConverter;
use crate::offset::MemoryOffsetStore;

#[derive(Debug, Clone, PartialEq)]
struct Pos(u64);

impl Position for Pos {
    fn to_offset(&self) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("pos".into(), json!(self.0));
        m
    }
}

/// A sent batch and the handle of its delivery (taken when completed).
type Sent = (Vec<SinkRecord>, Option<DeliveryHandle>);

/// Keeps every batch and the handle of its delivery, for the test to complete.
#[derive(Clone, Default)]
struct Manual {
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Manual {
    fn batch(&self, i: usize) -> Vec<SinkRecord> {
        self.sent.lock().expect("lock")[i].0.clone()
    }

    fn complete(&self, i: usize, result: Result<(), SinkError>) {
        let handle = self.sent.lock().expect("lock")[i].1.take();
        handle.expect("a pending delivery").complete(result);
    }

    fn batches(&self) -> usize {
        self.sent.lock().expect("lock").len()
    }
}

impl Sink for Manual {
    async fn send(&mut self, records: Vec<SinkRecord>) -> Result<Delivery, SinkError> {
        let (handle, delivery) = Delivery::pending();
        self.sent
            .lock()
            .expect("lock")
            .push((records, Some(handle)));
        Ok(delivery)
    }

    async fn sync(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

fn pipeline(errors: &[(&str, &str)], sink: &Manual) -> Pipeline<Manual, Pos> {
    let map = errors
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let errors = TransformsConfig::from_map(&map).expect("valid").errors;
    Pipeline::new(
        "c",
        json!({"server": "c"}),
        Box::new(StringConverter),
        Box::new(StringConverter),
        sink.clone(),
        Box::new(MemoryOffsetStore::default()),
        PipelineLimits::default(),
    )
    .with_error_handling(errors, CancellationToken::new(), Some(sink.clone()))
}

fn record(value: &str) -> Record {
    Record {
        topic: Arc::from("db.public.t"),
        key_schema: None,
        key: Some(Value::String("k".into())),
        value_schema: None,
        value: Some(Value::String(value.into())),
        headers: Vec::new(),
        timestamp_ms: None,
    }
}

fn refused(batch: &[SinkRecord]) -> SinkError {
    SinkError::Rejected(RejectedRecords {
        records: vec![RejectedRecord {
            record: batch[0].clone(),
            reason: Rejection::TooLarge { bytes: 5000 },
        }],
        others_delivered: true,
    })
}

const DLQ: &[(&str, &str)] = &[
    ("errors.tolerance", "all"),
    ("errors.deadletterqueue.topic.name", "dlq"),
    ("errors.deadletterqueue.context.headers.enable", "true"),
];

#[tokio::test]
async fn refused_batch_is_committed_only_after_its_dead_letters_are_acknowledged() {
    let sink = Manual::default();
    let mut p = pipeline(DLQ, &sink);
    p.push(record("big")).await.expect("push");
    p.push(record("small")).await.expect("push");
    p.set_position(Pos(1));
    p.flush_batch().await.expect("flush");
    sink.complete(0, Err(refused(&sink.batch(0)[..1])));
    p.next_ack().await.expect("a refusal is tolerated");
    assert!(p.commit().await.expect("commit").is_none());
    // The dead letter write goes out and is not acknowledged yet: nothing is committed.
    assert!(p.next_ack().now_or_never().is_none());
    assert_eq!(sink.batches(), 2);
    let dead = sink.batch(1);
    assert_eq!(dead.len(), 1);
    assert_eq!(&*dead[0].topic, "dlq");
    assert_eq!(dead[0].value.as_deref(), Some(&b"big"[..]));
    assert!(dead[0]
        .headers
        .iter()
        .any(|(k, v)| k == "__connect.errors.topic" && v.as_deref() == Some(&b"db.public.t"[..])));
    assert!(p.commit().await.expect("commit").is_none());
    sink.complete(1, Ok(()));
    p.next_ack().await.expect("dead letters acknowledged");
    assert_eq!(p.commit().await.expect("commit"), Some(Pos(1)));
    assert_eq!(p.metrics().skipped(), 1);
}

#[tokio::test]
async fn failed_dead_letter_write_fails_the_task_and_commits_nothing() {
    let sink = Manual::default();
    let mut p = pipeline(DLQ, &sink);
    p.push(record("big")).await.expect("push");
    p.set_position(Pos(1));
    p.flush_batch().await.expect("flush");
    sink.complete(0, Err(refused(&sink.batch(0))));
    p.next_ack().await.expect("a refusal is tolerated");
    assert!(p.next_ack().now_or_never().is_none());
    sink.complete(1, Err(SinkError::Closed));
    let error = p
        .next_ack()
        .await
        .expect_err("the dead letter write failed");
    assert!(matches!(
        error,
        PipelineError::DeadLetter { records: 1, .. }
    ));
    assert!(error.to_string().contains("dlq"), "{error}");
    assert!(p.commit().await.expect("commit").is_none());
}

#[tokio::test]
async fn refusal_without_tolerance_fails_and_with_tolerance_alone_is_skipped() {
    let sink = Manual::default();
    let mut p = pipeline(&[], &sink);
    p.push(record("big")).await.expect("push");
    p.set_position(Pos(1));
    p.flush_batch().await.expect("flush");
    sink.complete(0, Err(refused(&sink.batch(0))));
    let error = p.next_ack().await.expect_err("errors.tolerance=none");
    assert!(matches!(error, PipelineError::Sink(SinkError::Rejected(_))));
    assert!(p.commit().await.expect("commit").is_none());

    // errors.tolerance=all without a dead letter topic: skipped, as Kafka Connect skips
    // records its producer fails on; the position moves on.
    let sink = Manual::default();
    let mut p = pipeline(&[("errors.tolerance", "all")], &sink);
    p.push(record("big")).await.expect("push");
    p.set_position(Pos(1));
    p.flush_batch().await.expect("flush");
    sink.complete(0, Err(refused(&sink.batch(0))));
    p.next_ack().await.expect("tolerated");
    assert_eq!(sink.batches(), 1, "no dead letter topic, nothing more sent");
    assert_eq!(p.commit().await.expect("commit"), Some(Pos(1)));
}

#[tokio::test]
async fn refusal_inside_a_transaction_is_reported() {
    let sink = Manual::default();
    let mut p = pipeline(DLQ, &sink);
    p.push(record("big")).await.expect("push");
    p.set_position(Pos(1));
    p.flush_batch().await.expect("flush");
    let batch = sink.batch(0);
    sink.complete(
        0,
        Err(SinkError::Rejected(RejectedRecords {
            records: vec![RejectedRecord {
                record: batch[0].clone(),
                reason: Rejection::TooLarge { bytes: 5000 },
            }],
            others_delivered: false,
        })),
    );
    let error = p
        .next_ack()
        .await
        .expect_err("not supported in a transaction");
    assert!(
        error.to_string().contains("exactly.once.source.support"),
        "{error}"
    );
    assert!(p.commit().await.expect("commit").is_none());
}
