//! The Postgres connector (`io.debezium.connector.postgresql.PostgresConnector`): logical
//! replication with pgoutput, turned into Debezium change events.
//!
//! ```text
//! replication (wire) ─> decoders::pgoutput ─> source (Debezium mapping) ─> pipeline ─> sink
//!        ^                                        catalog (SQL)                 │
//!        └──────────── flush LSN = committed offset <──────── acks ────────────┘
//! ```

pub mod catalog;
pub mod connector;
pub mod incremental;
pub mod mapping;
pub mod position;
pub mod replication;
pub mod snapshot;
pub mod source;
pub mod sql;
pub mod tls;
