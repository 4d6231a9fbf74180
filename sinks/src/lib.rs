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
//!   sink: written to the OS; [`Sink::sync`] adds an fsync barrier before offsets are committed).
//!   An `Err` delivery means some record of the batch may be missing: the pipeline must not commit
//!   past it.
//! - **Backpressure**: `send` waits while the sink's bounded queue is full; it never buffers
//!   without bound. A full queue is backpressure, not an error.
//! - **Cancellation**: dropping a pending `send` future drops that batch unsent (it was never
//!   acknowledged, so its position is never committed).

pub mod file;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use file::{Embed, FileSink, FileSinkOptions};

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

/// A sink failed. `Io` and `Closed` are transient for the pipeline (restart and resume from the
/// last committed offset); nothing that failed was acknowledged.
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
