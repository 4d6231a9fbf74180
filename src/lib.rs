//! Sluice: change data capture from database transaction logs into Debezium-compatible change
//! events, driven like Kafka Connect.
//!
//! ```text
//! reader (I/O) ─> decoders ─> mapping ─> ChangeEvent ─> converter ─> SinkRecord ─> sink
//!                                                                             │ delivery
//!   source feedback (pg flush LSN) <── offset store <── ordered ack tracker <─┘
//! ```

pub mod cli;
pub mod connect;
pub mod converter;
pub mod envelope;
pub mod herder;
pub mod jdbc;
pub mod metrics;
pub mod mysql;
pub mod offset;
pub mod pipeline;
pub mod postgres;
pub mod rest;
pub mod transforms;
pub mod worker;
