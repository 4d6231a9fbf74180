//! Where the Postgres connector stands in the WAL, and how it resumes.
//!
//! ```text
//! offset = { lsn:        end of the last transaction delivered completely (restart + flush LSN),
//!            lsn_proc:   LSN of the last change delivered,
//!            lsn_commit: commit LSN of the transaction lsn_proc belongs to,
//!            txId, ts_usec }
//! ```
//! After a restart the server replays from its slot position (never before `lsn`). A transaction
//! whose commit LSN is below `lsn` was delivered whole and is skipped; in transaction `txId`
//! every change at or below `lsn_proc` was delivered and is skipped. So a crash at any point
//! repeats nothing that was acknowledged, and the unacknowledged tail is sent again.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};
use sluice_snapshot::incremental::IncrementalState;
use sluice_snapshot::state::SnapshotState;

use crate::pipeline::Position;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PgPosition {
    /// End LSN of the last completely delivered transaction (the flush LSN for the server).
    pub lsn: u64,
    /// LSN of the last delivered change (= `lsn` at a transaction boundary).
    pub lsn_proc: u64,
    /// Commit LSN of the transaction of `lsn_proc`.
    pub lsn_commit: u64,
    pub tx_id: Option<u32>,
    /// Commit time of that transaction, µs since the Unix epoch.
    pub ts_usec: i64,
    /// An initial snapshot in progress (`lsn` is then its consistent point, where streaming
    /// will start): which tables and chunks are already delivered.
    pub snapshot: Option<Arc<SnapshotState>>,
    /// An incremental snapshot in progress (tables left, last emitted chunk).
    pub incremental: Option<Arc<IncrementalState>>,
}

impl Position for PgPosition {
    fn source_ts_ms(&self) -> Option<i64> {
        (self.ts_usec > 0).then_some(self.ts_usec / 1000)
    }

    fn describe(&self) -> String {
        crate::postgres::replication::format_lsn(self.lsn)
    }

    fn to_offset(&self) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("lsn".into(), json!(self.lsn));
        m.insert("lsn_proc".into(), json!(self.lsn_proc));
        m.insert("lsn_commit".into(), json!(self.lsn_commit));
        m.insert("txId".into(), self.tx_id.map_or(Json::Null, |x| json!(x)));
        m.insert("ts_usec".into(), json!(self.ts_usec));
        if let Some(state) = &self.snapshot {
            // Debezium's keys for "a snapshot is in progress", plus Sluice's resumable state.
            m.insert("snapshot".into(), json!("INITIAL"));
            m.insert("last_snapshot_record".into(), json!(false));
            m.insert("sluice_snapshot".into(), state.to_json());
        }
        if let Some(state) = &self.incremental {
            m.insert("incremental_snapshot".into(), state.to_json());
        }
        m
    }
}

impl PgPosition {
    /// Read back a stored offset; `None` when it is not one of ours (then the slot decides).
    pub fn from_offset(offset: &Map<String, Json>) -> Option<PgPosition> {
        let lsn = offset.get("lsn")?.as_u64()?;
        Some(PgPosition {
            lsn,
            lsn_proc: offset.get("lsn_proc").and_then(Json::as_u64).unwrap_or(lsn),
            lsn_commit: offset
                .get("lsn_commit")
                .and_then(Json::as_u64)
                .unwrap_or(lsn),
            tx_id: offset
                .get("txId")
                .and_then(Json::as_u64)
                .and_then(|x| u32::try_from(x).ok()),
            ts_usec: offset.get("ts_usec").and_then(Json::as_i64).unwrap_or(0),
            snapshot: offset
                .get("sluice_snapshot")
                .and_then(SnapshotState::from_json)
                .map(Arc::new),
            incremental: offset
                .get("incremental_snapshot")
                .and_then(IncrementalState::from_json)
                .map(Arc::new),
        })
    }

    /// Whether the transaction with this commit LSN was already delivered whole.
    pub fn covers_transaction(&self, commit_lsn: u64) -> bool {
        commit_lsn < self.lsn
    }

    /// Whether the change at `lsn` in transaction `xid` was already delivered.
    pub fn covers_change(&self, xid: u32, lsn: u64) -> bool {
        self.tx_id == Some(xid) && lsn <= self.lsn_proc && self.lsn_proc > self.lsn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_round_trips() {
        let p = PgPosition {
            lsn: 100,
            lsn_proc: 150,
            lsn_commit: 300,
            tx_id: Some(7),
            ts_usec: 1,
            snapshot: None,
            incremental: None,
        };
        assert_eq!(PgPosition::from_offset(&p.to_offset()).as_ref(), Some(&p));
        assert!(p.covers_change(7, 150));
        assert!(!p.covers_change(7, 151));
        assert!(
            !p.covers_change(8, 120),
            "another transaction's change is never skipped"
        );
        assert!(p.covers_transaction(99));
        assert!(!p.covers_transaction(300));
    }
}
