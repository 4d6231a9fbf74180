//! Offsets: the ordered acknowledgement tracker and the offset stores.
//!
//! ```text
//! batch sent ──register(position)──> AckTracker ──ack(seq) (any order)──> Committable
//!                                                                            │
//!                          OffsetStore::commit(Committable) <────────────────┘
//! ```
//! Only the tracker can create a [`Committable`]: it is the position of the highest *contiguous*
//! acknowledged entry, never the maximum of the acknowledged ones, so a batch that is still in
//! flight (or failed) holds every later position back. The store accepts nothing else.
//!
//! Offsets are kept as Kafka Connect keeps them: a source partition (`{"server":"<prefix>"}` for
//! Debezium's connectors) and a source offset object, both JSON, under the connector's name.

pub mod kafka;

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

/// A position the tracker has proven safe to commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Committable<P>(P);

impl<P> Committable<P> {
    pub fn position(&self) -> &P {
        &self.0
    }

    pub fn into_position(self) -> P {
        self.0
    }

    /// The same committable position in another representation (e.g. as a source offset).
    pub fn map<Q>(self, f: impl FnOnce(P) -> Q) -> Committable<Q> {
        Committable(f(self.0))
    }

    /// The same committable position as several parts (e.g. one source offset per source
    /// partition, keyed by it, for a source that reads several tables independently).
    pub fn split<K, Q>(self, f: impl FnOnce(P) -> Vec<(K, Q)>) -> Vec<(K, Committable<Q>)> {
        f(self.0)
            .into_iter()
            .map(|(k, q)| (k, Committable(q)))
            .collect()
    }
}

/// Tracks entries (sent batches, or position markers with no records) in send order.
#[derive(Debug)]
pub struct AckTracker<P> {
    /// Sequence number of `entries[0]`.
    front_seq: u64,
    /// (acknowledged, position reached once this entry and all before it are acknowledged)
    entries: VecDeque<(bool, Option<P>)>,
}

impl<P> Default for AckTracker<P> {
    fn default() -> Self {
        AckTracker {
            front_seq: 0,
            entries: VecDeque::new(),
        }
    }
}

impl<P> AckTracker<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register the next entry; returns its sequence number. `position` is what becomes
    /// committable once it and everything before it are acknowledged (`None`: no new position).
    pub fn register(&mut self, position: Option<P>) -> u64 {
        let seq = self.front_seq + self.entries.len() as u64;
        self.entries.push_back((false, position));
        seq
    }

    /// Acknowledge entry `seq`. Unknown or repeated sequence numbers are ignored.
    pub fn ack(&mut self, seq: u64) {
        if let Some(offset) = seq.checked_sub(self.front_seq) {
            if let Some(entry) = self.entries.get_mut(offset as usize) {
                entry.0 = true;
            }
        }
    }

    /// Entries registered and not yet acknowledged (in order).
    pub fn in_flight(&self) -> usize {
        self.entries.len()
    }

    /// Pop the contiguous acknowledged prefix; the latest position in it, if any.
    pub fn take_committable(&mut self) -> Option<Committable<P>> {
        let mut latest = None;
        while let Some((true, _)) = self.entries.front() {
            if let Some((_, position)) = self.entries.pop_front() {
                self.front_seq += 1;
                if position.is_some() {
                    latest = position;
                }
            }
        }
        latest.map(Committable)
    }
}

/// An offset store failed; the pipeline stops rather than run on without saving progress.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    #[error("cannot read offsets from {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write offsets to {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Stored offsets of one connector: `(source partition, source offset)`.
pub type PartitionOffsets = Vec<(Json, Map<String, Json>)>;

/// Where source offsets live.
///
/// Contract: `commit` is atomic (after a crash, `load` returns either the previous or the new
/// offset, never a mix) and durable when it returns. Offsets only come from a [`Committable`].
pub trait OffsetStore: Send {
    fn load(
        &self,
        connector: &str,
        partition: &Json,
    ) -> Result<Option<Map<String, Json>>, OffsetError>;
    fn commit(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Committable<Map<String, Json>>,
    ) -> Result<(), OffsetError>;

    /// Every stored `(partition, offset)` of `connector`, in the order they were first stored.
    fn list(&self, connector: &str) -> Result<PartitionOffsets, OffsetError>;

    /// An administrator's change (KIP-875's `PATCH`/`DELETE /connectors/{name}/offsets`), only
    /// made while the connector is stopped: `Some` replaces the partition's offset, `None`
    /// removes it. Same atomicity and durability as `commit`.
    fn alter(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Option<Map<String, Json>>,
    ) -> Result<(), OffsetError>;
}

/// Offsets by `["<connector>", {<partition>}]`, in insertion order.
#[derive(Debug, Default)]
pub struct OffsetTable(Vec<(Json, Json)>);

impl OffsetTable {
    pub(crate) fn key(connector: &str, partition: &Json) -> Json {
        Json::Array(vec![Json::String(connector.to_string()), partition.clone()])
    }

    fn get(&self, connector: &str, partition: &Json) -> Option<Map<String, Json>> {
        let key = Self::key(connector, partition);
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_object().cloned())
    }

    /// Sets (`Some`) or removes (`None`) the value of `key`.
    pub(crate) fn put_key(&mut self, key: Json, value: Option<Json>) {
        let position = self.0.iter().position(|(k, _)| *k == key);
        match (position, value) {
            (Some(i), Some(value)) => self.0[i].1 = value,
            (None, Some(value)) => self.0.push((key, value)),
            (Some(i), None) => {
                self.0.remove(i);
            }
            (None, None) => {}
        }
    }

    fn list(&self, connector: &str) -> PartitionOffsets {
        self.0
            .iter()
            .filter_map(|(k, v)| match (k.as_array().map(Vec::as_slice), v) {
                (Some([Json::String(c), partition]), Json::Object(offset)) if c == connector => {
                    Some((partition.clone(), offset.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// How a [`TableOffsetStore`] makes a change durable.
pub trait Durability: Send {
    /// Called once `key` was set to `value` (`None`: removed) in `table`; returns once the
    /// change survives a crash.
    fn persist(
        &mut self,
        table: &OffsetTable,
        key: &Json,
        value: Option<&Json>,
    ) -> Result<(), OffsetError>;
}

/// Offsets held in memory as a table and made durable by `D` on every change.
#[derive(Default)]
pub struct TableOffsetStore<D> {
    entries: OffsetTable,
    durability: D,
}

impl<D: Durability> TableOffsetStore<D> {
    pub(crate) fn with_entries(entries: OffsetTable, durability: D) -> Self {
        TableOffsetStore {
            entries,
            durability,
        }
    }

    fn change(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Option<Map<String, Json>>,
    ) -> Result<(), OffsetError> {
        let key = OffsetTable::key(connector, partition);
        let value = offset.map(Json::Object);
        self.entries.put_key(key.clone(), value.clone());
        self.durability.persist(&self.entries, &key, value.as_ref())
    }
}

impl<D: Durability> OffsetStore for TableOffsetStore<D> {
    fn load(
        &self,
        connector: &str,
        partition: &Json,
    ) -> Result<Option<Map<String, Json>>, OffsetError> {
        Ok(self.entries.get(connector, partition))
    }

    fn commit(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Committable<Map<String, Json>>,
    ) -> Result<(), OffsetError> {
        self.change(connector, partition, Some(offset.into_position()))
    }

    fn list(&self, connector: &str) -> Result<PartitionOffsets, OffsetError> {
        Ok(self.entries.list(connector))
    }

    fn alter(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Option<Map<String, Json>>,
    ) -> Result<(), OffsetError> {
        self.change(connector, partition, offset)
    }
}

/// Offsets kept in memory only (no `offset.storage.file.filename`): progress is lost on exit,
/// and the replication slot's own position is where a restart resumes.
pub type MemoryOffsetStore = TableOffsetStore<()>;

impl Durability for () {
    fn persist(&mut self, _: &OffsetTable, _: &Json, _: Option<&Json>) -> Result<(), OffsetError> {
        Ok(())
    }
}

/// Kafka Connect's `FileOffsetBackingStore` idea with readable content: a JSON array of
/// `{"key": ["<connector>", {<partition>}], "value": {<offset>}}`, replaced atomically
/// (write to a temporary file, fsync, rename, fsync the directory).
pub type FileOffsetStore = TableOffsetStore<OffsetFile>;

/// The file of a [`FileOffsetStore`].
pub struct OffsetFile {
    path: PathBuf,
}

impl FileOffsetStore {
    /// Open the store; a missing file is an empty store.
    pub fn open(path: &Path) -> Result<FileOffsetStore, OffsetError> {
        let entries = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Vec::new(),
            Ok(bytes) => {
                let parsed: Json = serde_json::from_slice(&bytes).map_err(|e| OffsetError::Read {
                    path: path.to_path_buf(),
                    reason: format!("not a Sluice offset file ({e}); move it away to start from the slot's position"),
                })?;
                parse_entries(parsed).ok_or_else(|| OffsetError::Read {
                    path: path.to_path_buf(),
                    reason: "expected a JSON array of {\"key\":…,\"value\":…} entries".into(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(OffsetError::Read {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        Ok(TableOffsetStore::with_entries(
            OffsetTable(entries),
            OffsetFile {
                path: path.to_path_buf(),
            },
        ))
    }
}

impl Durability for OffsetFile {
    fn persist(
        &mut self,
        table: &OffsetTable,
        _: &Json,
        _: Option<&Json>,
    ) -> Result<(), OffsetError> {
        let err = |source| OffsetError::Write {
            path: self.path.clone(),
            source,
        };
        let body: Vec<Json> = table
            .0
            .iter()
            .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
            .collect();
        let text = serde_json::to_vec_pretty(&body).map_err(|e| err(std::io::Error::other(e)))?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        tmp.write_all(&text).map_err(err)?;
        tmp.as_file().sync_data().map_err(err)?;
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn parse_entries(parsed: Json) -> Option<Vec<(Json, Json)>> {
    let mut entries = Vec::new();
    for item in parsed.as_array()? {
        let key = item.get("key")?.clone();
        let value = item.get("value")?.clone();
        entries.push((key, value));
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_the_contiguous_prefix() {
        let mut t = AckTracker::new();
        let a = t.register(Some(10));
        let b = t.register(None);
        let c = t.register(Some(30));
        let d = t.register(Some(40));
        t.ack(c);
        t.ack(d);
        assert_eq!(t.take_committable(), None, "b and a still in flight");
        t.ack(b);
        assert_eq!(t.take_committable(), None, "a still in flight");
        t.ack(a);
        assert_eq!(t.take_committable().map(|c| *c.position()), Some(40));
        assert_eq!(t.in_flight(), 0);
        t.ack(a); // repeated ack of a popped entry is ignored
        assert_eq!(t.take_committable(), None);
    }

    #[test]
    fn out_of_order_acks_never_move_backwards() {
        // Many permutations of acks: the committed position only grows and ends at the last one.
        for seed in 0..200u64 {
            let mut t = AckTracker::new();
            let seqs: Vec<u64> = (0..20).map(|i| t.register(Some(i))).collect();
            let mut order = seqs.clone();
            let mut x = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for i in (1..order.len()).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                order.swap(i, (x >> 33) as usize % (i + 1));
            }
            let mut last = None;
            for s in order {
                t.ack(s);
                if let Some(c) = t.take_committable() {
                    let p = *c.position();
                    assert!(last.is_none_or(|l| p > l));
                    last = Some(p);
                }
            }
            assert_eq!(last, Some(19));
        }
    }

    #[test]
    fn file_store_round_trips_and_replaces() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("offsets.dat");
        let partition = serde_json::json!({"server": "pg"});
        let mut store = FileOffsetStore::open(&path)?;
        assert_eq!(store.load("c", &partition)?, None);
        let mut t = AckTracker::new();
        for lsn in [1, 2] {
            let seq = t.register(Some(
                serde_json::json!({"lsn": lsn})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ));
            t.ack(seq);
            if let Some(c) = t.take_committable() {
                store.commit("c", &partition, c)?;
            }
        }
        let reopened = FileOffsetStore::open(&path)?;
        assert_eq!(
            reopened
                .load("c", &partition)?
                .and_then(|m| m.get("lsn").cloned()),
            Some(serde_json::json!(2))
        );
        Ok(())
    }

    #[test]
    fn corrupt_file_is_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("offsets.dat");
        std::fs::write(&path, b"\xac\xed\x00\x05 java serialized")?;
        let err = FileOffsetStore::open(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("offsets.dat") && err.contains("move it away"),
            "{err}"
        );
        Ok(())
    }
}
