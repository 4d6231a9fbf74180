//! The MySQL and MariaDB connector (`io.debezium.connector.mysql.MySqlConnector`,
//! `io.debezium.connector.mariadb.MariaDbConnector`): the binlog read as a replica, turned
//! into Debezium change events.
//!
//! ```text
//! binlog (replica stream, handshake) ─> mysql_common / decoders::binlog ─> source (Debezium
//!      ^                                   schema (DDL history) ──┘        mapping) ─> pipeline
//!      └──────────── restart point = committed offset (gtids / file:pos) <── acks ───┘
//! ```

pub mod catalog;
pub mod connector;
pub mod handshake;
pub mod mapping;
pub mod position;
pub mod schema;
pub mod source;
