//! Database-agnostic snapshot planning: keyset chunks, parallel readers, watermark
//! de-duplication for incremental snapshots and resumable snapshot state.
//!
//! Skeleton only: the Postgres CDC foundation streams from the replication slot; the
//! snapshot issue fills this crate in so that the Postgres and MySQL connectors share it.
