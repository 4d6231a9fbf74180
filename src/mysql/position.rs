//! Where the binlog connector stands, stored as Debezium's MySQL connector stores it, and
//! how a restart skips what was already delivered.
//!
//! ```text
//! offset = { file, pos:   restart point: the start of the transaction in progress, or the
//!                         next event when no transaction is open,
//!            gtids:       GTIDs of every transaction delivered completely (MariaDB
//!                         `domain-server-seq,...`, MySQL `uuid:1-5,...`),
//!            event:       rows events of the transaction at `pos` delivered completely,
//!            row:         rows of the next rows event delivered,
//!            ts_sec, server_id, snapshot }
//! ```
//! A restart opens the stream after `gtids` (GTID mode) or at `file:pos`; the transaction
//! in progress then arrives again from its start, and its first `event` rows events plus
//! `row` rows of the next one are skipped. A crash at any point therefore repeats nothing
//! acknowledged, and the unacknowledged tail is sent again.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};
use sluice_snapshot::incremental::IncrementalState;
use sluice_snapshot::state::SnapshotState;

use crate::pipeline::Position;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MySqlPosition {
    pub file: String,
    pub pos: u64,
    /// Rows events of the transaction starting at `pos` already delivered completely.
    pub event: u64,
    /// Rows of the following rows event already delivered.
    pub row: u64,
    /// GTIDs of the completely delivered transactions (text form; `None`: GTIDs off).
    pub gtids: Option<String>,
    /// Commit time of the last transaction, seconds since the epoch.
    pub ts_sec: i64,
    pub server_id: u32,
    /// An initial snapshot in progress (`file:pos`/`gtids` are its consistent point, where
    /// streaming will start) and which tables and chunks are already delivered.
    pub snapshot: Option<Arc<SnapshotState>>,
    /// An incremental snapshot in progress (tables left, last emitted chunk).
    pub incremental: Option<Arc<IncrementalState>>,
}

impl Position for MySqlPosition {
    fn source_ts_ms(&self) -> Option<i64> {
        (self.ts_sec > 0).then_some(self.ts_sec * 1000)
    }

    fn describe(&self) -> String {
        match &self.gtids {
            Some(g) if !g.is_empty() => format!("{}:{} (gtids {g})", self.file, self.pos),
            _ => format!("{}:{}", self.file, self.pos),
        }
    }

    fn to_offset(&self) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("file".into(), json!(self.file));
        m.insert("pos".into(), json!(self.pos));
        if self.event > 0 {
            m.insert("event".into(), json!(self.event));
        }
        if self.row > 0 {
            m.insert("row".into(), json!(self.row));
        }
        if let Some(g) = &self.gtids {
            m.insert("gtids".into(), json!(g));
        }
        m.insert("ts_sec".into(), json!(self.ts_sec));
        m.insert("server_id".into(), json!(self.server_id));
        if let Some(state) = &self.snapshot {
            m.insert("snapshot".into(), json!(true));
            m.insert("sluice_snapshot".into(), state.to_json());
        }
        if let Some(state) = &self.incremental {
            m.insert("incremental_snapshot".into(), state.to_json());
        }
        m
    }
}

impl MySqlPosition {
    /// Read back a stored offset; `None` when it is not one of ours.
    pub fn from_offset(offset: &Map<String, Json>) -> Option<MySqlPosition> {
        let file = offset.get("file")?.as_str()?.to_owned();
        let pos = offset.get("pos")?.as_u64()?;
        let snapshot_flag = offset.get("snapshot").is_some_and(|v| {
            v.as_bool() == Some(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
        });
        Some(MySqlPosition {
            file,
            pos,
            event: offset.get("event").and_then(Json::as_u64).unwrap_or(0),
            row: offset.get("row").and_then(Json::as_u64).unwrap_or(0),
            gtids: offset
                .get("gtids")
                .and_then(Json::as_str)
                .map(str::to_owned),
            ts_sec: offset.get("ts_sec").and_then(Json::as_i64).unwrap_or(0),
            server_id: offset
                .get("server_id")
                .and_then(Json::as_u64)
                .and_then(|s| u32::try_from(s).ok())
                .unwrap_or(0),
            snapshot: match offset.get("sluice_snapshot") {
                Some(state) => SnapshotState::from_json(state).map(Arc::new),
                // A Debezium offset written during its snapshot: no progress we can use,
                // so the snapshot starts over.
                None if snapshot_flag => Some(Arc::new(SnapshotState::default())),
                None => None,
            },
            incremental: offset
                .get("incremental_snapshot")
                .and_then(IncrementalState::from_json)
                .map(Arc::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_round_trips() {
        let p = MySqlPosition {
            file: "binlog.000003".into(),
            pos: 1234,
            event: 2,
            row: 5,
            gtids: Some("0-1-17".into()),
            ts_sec: 1_700_000_000,
            server_id: 1,
            snapshot: None,
            incremental: None,
        };
        let offset = p.to_offset();
        assert_eq!(offset["file"], "binlog.000003");
        assert_eq!(offset["event"], 2);
        assert_eq!(MySqlPosition::from_offset(&offset).as_ref(), Some(&p));
        let at_boundary = MySqlPosition {
            event: 0,
            row: 0,
            ..p
        };
        let offset = at_boundary.to_offset();
        assert!(!offset.contains_key("event") && !offset.contains_key("row"));
        assert_eq!(
            MySqlPosition::from_offset(&offset).as_ref(),
            Some(&at_boundary)
        );
    }

    #[test]
    fn debezium_offset_is_read() {
        let offset: Map<String, Json> = serde_json::from_str(
            r#"{"ts_sec":1795461460,"file":"mariadb-bin.000001","pos":9592,"row":1,"server_id":1,"event":2}"#,
        )
        .expect("json");
        let p = MySqlPosition::from_offset(&offset).expect("ours");
        assert_eq!(
            (p.file.as_str(), p.pos, p.event, p.row),
            ("mariadb-bin.000001", 9592, 2, 1)
        );
        assert!(p.gtids.is_none() && p.snapshot.is_none());
    }
}
