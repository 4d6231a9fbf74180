//! MySQL and MariaDB binlog capture (Debezium's MySQL and MariaDB connectors).
//!
//! ```text
//! handshake ──> binlog stream ──> source (TABLE_MAP + rows → envelope records, GTIDs, XID)
//!                    │                 └── schema (DDL → table shapes) ── history (file)
//! connector: checks, consistent snapshot (+ incremental, signals), the streaming loop,
//!            positions (file/pos/gtids/event/row) committed after the sink acknowledged
//! ```
//! The event decoders live in `sluice_decoders::binlog` (MariaDB's own events) and
//! `mysql_common`; column values are mapped in [`mapping`].

pub mod catalog;
pub mod connector;
pub mod handshake;
pub mod history;
pub mod incremental;
pub mod mapping;
pub mod position;
pub mod schema;
pub mod schema_change;
pub mod source;
