//! Database-agnostic snapshot machinery, shared by the log-based connectors.
//!
//! ```text
//! plan (tables in include-list order) ──> readers (keyset chunks, parallel) ──> merge
//!        │                                                                      │
//!        └── SnapshotState (per-table progress) <── chunk done, in pipeline order ┘
//!                          └──> part of the committed source offset: a restart resumes
//!                               each table after its last completed chunk
//! ```
//! - [`state`]: what has been read, serialisable into the source offset.
//! - [`marker`]: Debezium's `source.snapshot` values (`first`, `true`, `last`, …) with the
//!   one-record look-ahead they need.
//! - [`progress`]: rows done / estimated, rows per second, ETA, for logs and status.
//! - [`order`]: the order in which tables are read (Debezium's: the include list's order).

pub mod incremental;
pub mod marker;
pub mod order;
pub mod progress;
pub mod state;
