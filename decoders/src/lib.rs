//! Pure decoders: database bytes in, typed change model out.
//!
//! ```text
//! replication frame (Bytes) --pgoutput::Decoder--> pgoutput::Message
//!     TupleData column (text) --pgvalue::decode_text--> pgvalue::PgValue
//! MariaDB event body --binlog::mariadb::MariaDbEvent::decode--> Gtid / GtidList / ...
//! ```
//!
//! Nothing here does I/O or spawns tasks, and nothing panics on input: every
//! failure is a [`DecodeError`] carrying the byte offset where decoding stopped.
//! Each entry point has a cargo-fuzz target under `decoders/fuzz/` (its own
//! workspace; seed corpus of real pgoutput bytes captured from Postgres 15):
//! `cd decoders/fuzz && cargo +nightly fuzz run pgoutput` (or `pgvalue`).

pub mod binlog;
mod error;
pub mod pgoutput;
pub mod pgvalue;

pub use error::DecodeError;

#[cfg(test)]
mod captured_tests;
