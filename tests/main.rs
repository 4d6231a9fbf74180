//! End-to-end tests of the `sluice` crate against real throwaway servers
//! (started by `sluice-testcontainers`). One test binary keeps link time down.

mod avro;
mod bad_input;
mod conformance;
mod errors;
mod faults;
mod incremental;
mod jdbc;
mod kafka_avro;
mod kafka_sink;
mod kafka_worker;
mod mariadb_binlog;
mod messages;
mod mysql;
mod mysql_schema;
mod replication;
mod rest;
mod snapshot;
mod support;
mod third_party_client;
mod types;
