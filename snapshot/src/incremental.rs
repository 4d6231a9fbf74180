//! Incremental snapshots with the DBLog watermark algorithm, database-agnostic parts.
//!
//! ```text
//! low watermark ─┐  chunk read (SELECT … WHERE key > last ORDER BY key LIMIT n)   ┌─ high watermark
//!                ▼                                                                 ▼
//! stream: … LOW … change(k1) … change(k7) … HIGH …
//!               window open: a stream change for a key in the chunk drops that
//!               row (the stream's version is as new or newer); at HIGH the rest
//!               of the chunk is emitted, then the next chunk starts.
//! ```
//! Correctness comes only from the order of the watermarks in the log, never from timing.
//! [`IncrementalState`] is part of the committed source offset, so a restart re-reads the
//! chunk that was in flight (with new watermarks) and goes on from there.
//!
//! The same machinery finishes an *initial* snapshot that a crash interrupted after its
//! exported snapshot was gone ([`IncrementalState::resume_initial`]): streaming restarts at
//! the snapshot's consistent point and the tables left are read in windows from where each
//! one stopped, so a row read after the restart never overtakes a change older than it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::state::SnapshotState;

use serde::{Deserialize, Serialize};

/// Where an incremental snapshot stands; serialised into the source offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncrementalState {
    /// The id of the signal that started it.
    pub id: String,
    /// Tables still to read, the current one first.
    pub tables: Vec<String>,
    /// Key of the last row of the last completed chunk of the current table.
    pub last_key: Option<Vec<Option<String>>>,
    /// `additional-conditions` per table (a SQL filter).
    pub conditions: BTreeMap<String, String>,
    pub paused: bool,
    /// Chunks completed so far (names the watermarks).
    pub chunks: u64,
    /// Where tables after the current one start (the last key an interrupted initial snapshot
    /// delivered); a table without an entry starts at its beginning.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub start_keys: BTreeMap<String, Vec<Option<String>>>,
    /// Tables that finish an interrupted initial snapshot: their rows carry the initial
    /// snapshot's markers (`true`, and `last` on the final one), not `incremental`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub initial: BTreeSet<String>,
}

impl IncrementalState {
    pub fn new(id: &str, tables: Vec<String>, conditions: BTreeMap<String, String>) -> Self {
        IncrementalState {
            id: id.to_string(),
            tables,
            last_key: None,
            conditions,
            paused: false,
            chunks: 0,
            start_keys: BTreeMap::new(),
            initial: BTreeSet::new(),
        }
    }

    /// The tables `tables` of an interrupted initial snapshot, each resuming after the last
    /// key `state` records as delivered.
    pub fn resume_initial(id: &str, state: &SnapshotState, tables: &[String]) -> Self {
        let mut start_keys: BTreeMap<String, Vec<Option<String>>> = tables
            .iter()
            .filter_map(|t| {
                let key = state.progress.get(t)?.last_key.clone()?;
                Some((t.clone(), key))
            })
            .collect();
        IncrementalState {
            last_key: tables.first().and_then(|t| start_keys.remove(t)),
            start_keys,
            initial: tables.iter().cloned().collect(),
            ..IncrementalState::new(id, tables.to_vec(), BTreeMap::new())
        }
    }

    /// Queue the tables of `other` after this snapshot's (a table already queued keeps its
    /// place and its start).
    pub fn append(&mut self, other: IncrementalState) {
        let was_empty = self.tables.is_empty();
        for t in other.tables {
            if !self.tables.contains(&t) {
                if let Some(k) = other.start_keys.get(&t) {
                    self.start_keys.insert(t.clone(), k.clone());
                }
                if other.initial.contains(&t) {
                    self.initial.insert(t.clone());
                }
                self.tables.push(t);
            }
        }
        self.conditions.extend(other.conditions);
        if was_empty {
            self.last_key = self.next_start();
        }
    }

    /// An `execute-snapshot` signal for `tables`: a new snapshot, or its tables queued after
    /// the one running.
    pub fn request(
        state: &mut Option<IncrementalState>,
        id: &str,
        tables: Vec<String>,
        conditions: BTreeMap<String, String>,
    ) {
        match state {
            Some(s) if !s.is_done() => {
                for t in tables {
                    if !s.tables.contains(&t) {
                        s.tables.push(t);
                    }
                }
                s.conditions.extend(conditions);
            }
            _ => *state = Some(IncrementalState::new(id, tables, conditions)),
        }
    }

    /// A `stop-snapshot` signal: drop `tables` (all of them when empty), and the snapshot
    /// when nothing is left.
    pub fn stop(state: &mut Option<IncrementalState>, tables: &[String]) {
        match (state.as_mut(), tables.is_empty()) {
            (Some(s), false) => s.remove_tables(tables),
            _ => *state = None,
        }
        if state.as_ref().is_some_and(IncrementalState::is_done) {
            *state = None;
        }
    }

    /// The window of a chunk of the current table closed: the chunk ended at `last_key`, and
    /// was the table's last when `last_chunk`. A finished snapshot leaves `state` empty.
    /// Returns whether this window ended an interrupted initial snapshot (its final row is then
    /// the snapshot's `last`).
    pub fn window_closed(
        state: &mut Option<IncrementalState>,
        last_key: Option<Vec<Option<String>>>,
        last_chunk: bool,
    ) -> bool {
        let Some(s) = state.as_mut() else {
            return false;
        };
        let initial = s.current_is_initial();
        s.chunk_done(last_key);
        let mut ends_initial = false;
        if last_chunk {
            s.table_done();
            if initial && s.initial.is_empty() {
                tracing::info!(id = %s.id, "the interrupted initial snapshot is complete");
                ends_initial = true;
            }
        }
        if s.is_done() {
            tracing::info!(id = %s.id, "incremental snapshot done");
            *state = None;
        }
        ends_initial
    }

    /// `next` queued after the snapshot `running` (if one is), as one state.
    pub fn after(running: Option<&IncrementalState>, next: IncrementalState) -> IncrementalState {
        match running {
            Some(running) => {
                let mut running = running.clone();
                running.append(next);
                running
            }
            None => next,
        }
    }

    /// Whether rows of the current table finish an interrupted initial snapshot.
    pub fn current_is_initial(&self) -> bool {
        self.current_table()
            .is_some_and(|t| self.initial.contains(t))
    }

    /// The start key of the current table (taken out of `start_keys`).
    fn next_start(&mut self) -> Option<Vec<Option<String>>> {
        let current = self.tables.first()?.clone();
        self.start_keys.remove(&current)
    }

    pub fn current_table(&self) -> Option<&str> {
        self.tables.first().map(String::as_str)
    }

    pub fn is_done(&self) -> bool {
        self.tables.is_empty()
    }

    /// A chunk of the current table was emitted; it ended at `last_key`.
    pub fn chunk_done(&mut self, last_key: Option<Vec<Option<String>>>) {
        self.chunks += 1;
        if last_key.is_some() {
            self.last_key = last_key;
        }
    }

    /// The current table has no more rows: move to the next one.
    pub fn table_done(&mut self) {
        if !self.tables.is_empty() {
            let done = self.tables.remove(0);
            self.initial.remove(&done);
        }
        self.last_key = self.next_start();
    }

    /// Drop tables from the snapshot (`stop-snapshot` with data collections).
    pub fn remove_tables(&mut self, tables: &[String]) {
        let current = self.current_table().map(str::to_string);
        self.tables.retain(|t| !tables.contains(t));
        self.start_keys.retain(|t, _| !tables.contains(t));
        self.initial.retain(|t| !tables.contains(t));
        if self.current_table().map(str::to_string) != current {
            self.last_key = self.next_start();
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_json(v: &serde_json::Value) -> Option<IncrementalState> {
        serde_json::from_value(v.clone()).ok()
    }
}

/// A value that differs between processes and between calls in one process: it keeps a
/// chunk's watermarks apart from those of a chunk a restart abandoned, which the log may
/// still replay.
pub fn watermark_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static READS: AtomicU64 = AtomicU64::new(0);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{:x}.{}.{}",
        started,
        std::process::id(),
        READS.fetch_add(1, Ordering::Relaxed)
    )
}

/// The rows of one chunk between its watermarks.
#[derive(Debug)]
pub struct Window<R> {
    rows: Vec<Option<R>>,
    by_key: HashMap<String, usize>,
    open: bool,
}

impl<R> Window<R> {
    /// A chunk read after its low watermark was written; closed until that watermark is seen
    /// in the stream.
    pub fn new(rows: Vec<(String, R)>) -> Window<R> {
        let mut by_key = HashMap::with_capacity(rows.len());
        let mut out = Vec::with_capacity(rows.len());
        for (i, (key, row)) in rows.into_iter().enumerate() {
            by_key.insert(key, i);
            out.push(Some(row));
        }
        Window {
            rows: out,
            by_key,
            open: false,
        }
    }

    /// The low watermark went by: from now on stream changes supersede chunk rows.
    pub fn open(&mut self) {
        self.open = true;
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// A stream change for `key`: its chunk row (if any) is stale.
    pub fn observe(&mut self, key: &str) {
        if !self.open {
            return;
        }
        if let Some(i) = self.by_key.remove(key) {
            if let Some(slot) = self.rows.get_mut(i) {
                *slot = None;
            }
        }
    }

    /// The high watermark went by: the chunk rows no change superseded, in key order.
    pub fn close(self) -> Vec<R> {
        self.rows.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_changes_inside_the_window_win() {
        let mut w = Window::new(vec![
            ("1".to_string(), 'a'),
            ("2".into(), 'b'),
            ("3".into(), 'c'),
        ]);
        w.observe("2"); // before the low watermark: the chunk read already saw it
        w.open();
        w.observe("3");
        w.observe("9");
        assert_eq!(w.close(), vec!['a', 'b']);
    }

    #[test]
    fn state_walks_tables_and_chunks() {
        let mut s = IncrementalState::new("sig-1", vec!["a".into(), "b".into()], BTreeMap::new());
        s.chunk_done(Some(vec![Some("10".into())]));
        assert_eq!(s.current_table(), Some("a"));
        s.table_done();
        assert_eq!((s.current_table(), s.last_key.clone()), (Some("b"), None));
        let back = IncrementalState::from_json(&s.to_json()).unwrap_or_default();
        assert_eq!(back, s);
        s.remove_tables(&["b".into()]);
        assert!(s.is_done());
    }

    #[test]
    fn an_interrupted_initial_snapshot_resumes_each_table_after_its_last_key() {
        let mut initial = SnapshotState::new(vec!["a".into(), "b".into(), "c".into()]);
        initial.chunk_done("a", Some(vec![Some("7".into())]), 7);
        initial.table_done("a");
        initial.chunk_done("b", Some(vec![Some("3".into())]), 3);
        initial.chunk_done("c", Some(vec![Some("9".into())]), 9);
        let pending: Vec<String> = initial.pending().map(|(t, _)| t.to_string()).collect();
        assert_eq!(pending, vec!["b".to_string(), "c".to_string()]);
        let mut s = IncrementalState::resume_initial("resume", &initial, &pending);
        let back = IncrementalState::from_json(&s.to_json()).unwrap_or_default();
        assert_eq!(back, s);
        assert_eq!(s.current_table(), Some("b"));
        assert_eq!(s.last_key, Some(vec![Some("3".to_string())]));
        assert!(s.current_is_initial());
        s.chunk_done(Some(vec![Some("5".into())]));
        s.table_done();
        assert_eq!(s.current_table(), Some("c"));
        assert_eq!(s.last_key, Some(vec![Some("9".to_string())]));
        // A signal's tables queue behind it, without the initial markers.
        s.append(IncrementalState::new(
            "sig",
            vec!["d".into()],
            BTreeMap::new(),
        ));
        s.table_done();
        assert_eq!((s.current_table(), s.last_key.clone()), (Some("d"), None));
        assert!(!s.current_is_initial());
        assert!(s.initial.is_empty());
    }

    #[test]
    fn signals_queue_and_stop_tables() {
        let mut state = None;
        IncrementalState::request(&mut state, "s1", vec!["a".into()], BTreeMap::new());
        let conditions = BTreeMap::from([("b".to_string(), "x > 1".to_string())]);
        IncrementalState::request(&mut state, "s2", vec!["a".into(), "b".into()], conditions);
        let s = state.clone().unwrap_or_default();
        assert_eq!(
            (s.id.as_str(), s.tables.len(), s.conditions.len()),
            ("s1", 2, 1)
        );
        IncrementalState::stop(&mut state, &["a".to_string()]);
        assert_eq!(state.as_ref().and_then(|s| s.current_table()), Some("b"));
        IncrementalState::stop(&mut state, &[]);
        assert!(state.is_none());
    }

    #[test]
    fn the_last_window_of_a_resumed_initial_snapshot_ends_it() {
        let mut initial = SnapshotState::new(vec!["a".into()]);
        initial.chunk_done("a", Some(vec![Some("3".into())]), 3);
        let mut state = Some(IncrementalState::resume_initial(
            "r",
            &initial,
            &["a".into()],
        ));
        assert!(!IncrementalState::window_closed(
            &mut state,
            Some(vec![Some("9".into())]),
            false
        ));
        assert_eq!(
            state.as_ref().and_then(|s| s.last_key.clone()),
            Some(vec![Some("9".to_string())])
        );
        assert!(IncrementalState::window_closed(&mut state, None, true));
        assert!(state.is_none());
    }

    #[test]
    fn state_without_the_new_fields_still_reads() {
        let old = serde_json::json!({"id": "x", "tables": ["a"], "last_key": null,
            "conditions": {}, "paused": false, "chunks": 2});
        let s = IncrementalState::from_json(&old).unwrap_or_default();
        assert_eq!((s.id.as_str(), s.chunks, s.initial.len()), ("x", 2, 0));
    }
}
