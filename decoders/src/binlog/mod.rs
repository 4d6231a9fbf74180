//! Binlog pieces `mysql_common` does not cover: MariaDB's own events, MariaDB GTID
//! positions, MySQL GTID sets in text and binary form, and the raw event frame (header,
//! CRC32, binlog files) for bytes that do not come through `mysql_async`.
//!
//! ```text
//! mysql_async BinlogStream ──Event──┬─ standard types (TABLE_MAP, *_ROWS, QUERY, XID, ROTATE,
//!   (header + body, CRC removed)    │   FORMAT_DESCRIPTION, MySQL GTID, ...) ─► mysql_common
//!                                   └─ read_data() == Ok(None): MariaDB 160..=163
//!                                        └─► mariadb::MariaDbEvent::decode(type, body)
//! binlog file / raw packet ─► header::file_events / header::RawEvent::split ─► same decoders
//! ```
//!
//! # How `mysql_async` hands over MariaDB events
//!
//! `mysql_async` 0.37 (`mysql_common` 0.37) reads every event into a
//! `mysql_common::binlog::events::Event` whatever its type: the header is parsed, the
//! trailing CRC32 is cut off according to the stream's FORMAT_DESCRIPTION (it is not
//! verified), and the body is kept as bytes. For a type it does not know, such as
//! MariaDB's 160 to 163, `Event::header().event_type()` is an `Err(UnknownEventType)`,
//! `Event::read_data()` returns `Ok(None)`, and `Event::data()` is exactly the body that
//! [`mariadb::MariaDbEvent::decode`] takes (with `event_type_raw()` as the type). No
//! error is raised and the stream continues. MariaDB's compressed events (165 to 171,
//! `log_bin_compress=ON`) arrive the same way and cannot be decoded by either crate: a
//! connector must reject them by type.
//!
//! # Talking to a MariaDB server as a replica
//!
//! What the server expects before COM_BINLOG_DUMP, and what it does with it
//! (MariaDB sql/sql_repl.cc, checked against 10.11), is documented and implemented in
//! the `sluice::mysql::handshake` module of the service crate, which performs it with
//! `mysql_async`. In short: `SET @mariadb_slave_capability=4` (else GTID, GTID_LIST and
//! BINLOG_CHECKPOINT events are rewritten into dummy events for an "old" replica), then
//! for GTID positioning `SET @slave_connect_state='<GtidPosition>'` (the file name and
//! position of COM_BINLOG_DUMP are then ignored), `@master_binlog_checksum` so the server
//! accepts a checksum-aware replica, and `@master_heartbeat_period` in nanoseconds.

mod cursor;
pub mod header;
pub mod mariadb;
pub mod mysql;
