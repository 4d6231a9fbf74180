//! MySQL and MariaDB binlog capture. So far: the replica handshake that opens a binlog
//! stream ([`handshake`]); the in-memory table schema kept current from the binlog's DDL
//! ([`schema`]), its persisted history ([`history`]) and schema change events
//! ([`schema_change`]); the event decoders live in `sluice_decoders::binlog` and
//! `mysql_common`.

pub mod handshake;
pub mod history;
pub mod schema;
pub mod schema_change;
