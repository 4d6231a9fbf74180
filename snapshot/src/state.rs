//! Resumable snapshot state: per table, whether it is done and the key of the last row of the
//! last chunk handed to the pipeline. It travels inside the committed source offset, so after
//! a crash each table resumes after its last acknowledged chunk.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Progress of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableProgress {
    /// Every row has been handed over.
    pub done: bool,
    /// Text form of the key columns of the last row handed over (`None`: nothing yet). A key
    /// column value may be SQL NULL for tables keyed by a unique index over nullable columns.
    pub last_key: Option<Vec<Option<String>>>,
    /// Rows handed over so far.
    pub rows: u64,
}

/// The state of a whole snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// Tables in snapshot order (`schema.table` or `db.table`).
    pub tables: Vec<String>,
    pub progress: BTreeMap<String, TableProgress>,
}

impl SnapshotState {
    pub fn new(tables: Vec<String>) -> SnapshotState {
        SnapshotState {
            progress: tables
                .iter()
                .map(|t| (t.clone(), TableProgress::default()))
                .collect(),
            tables,
        }
    }

    /// Record that one row with key `key` was handed over (rows are handed over in key order
    /// within a table).
    pub fn row_delivered(&mut self, table: &str, key: Option<Vec<Option<String>>>) {
        let p = self.progress.entry(table.to_string()).or_default();
        if key.is_some() {
            p.last_key = key;
        }
        p.rows += 1;
    }

    /// Record that a chunk ending at `last_key` with `rows` rows was handed over.
    pub fn chunk_done(&mut self, table: &str, last_key: Option<Vec<Option<String>>>, rows: u64) {
        let p = self.progress.entry(table.to_string()).or_default();
        if last_key.is_some() {
            p.last_key = last_key;
        }
        p.rows += rows;
    }

    pub fn table_done(&mut self, table: &str) {
        self.progress.entry(table.to_string()).or_default().done = true;
    }

    pub fn is_complete(&self) -> bool {
        self.tables
            .iter()
            .all(|t| self.progress.get(t).is_some_and(|p| p.done))
    }

    /// Tables not finished yet, in snapshot order.
    pub fn pending(&self) -> impl Iterator<Item = (&str, Option<&TableProgress>)> {
        self.tables
            .iter()
            .filter(|t| !self.progress.get(*t).is_some_and(|p| p.done))
            .map(|t| (t.as_str(), self.progress.get(t)))
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_json(v: &serde_json::Value) -> Option<SnapshotState> {
        serde_json::from_value(v.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_after_the_last_chunk() {
        let mut s = SnapshotState::new(vec!["a".into(), "b".into()]);
        s.chunk_done("a", Some(vec![Some("10".into())]), 10);
        s.chunk_done("a", Some(vec![Some("20".into())]), 10);
        s.table_done("a");
        s.chunk_done("b", Some(vec![Some("5".into())]), 5);
        let back = SnapshotState::from_json(&s.to_json()).unwrap_or_default();
        assert_eq!(back, s);
        let pending: Vec<_> = back
            .pending()
            .map(|(t, p)| (t.to_string(), p.cloned()))
            .collect();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].0, "b");
        assert_eq!(
            pending[0].1.as_ref().and_then(|p| p.last_key.clone()),
            Some(vec![Some("5".to_string())])
        );
        assert!(!back.is_complete());
    }
}
