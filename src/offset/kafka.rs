//! Offsets in Kafka, as Kafka Connect keeps them (`offset.storage.topic`): every change is
//! one record of the compacted offsets topic, written and acknowledged before `commit`
//! returns; the table is rebuilt from the topic at start.

use serde_json::Value as Json;
use sluice_sinks::kafka::offsets::{OffsetRecord, OffsetTopic};

use super::{Durability, OffsetError, OffsetTable, TableOffsetStore};

/// Offsets in `offset.storage.topic`.
pub type KafkaOffsetStore = TableOffsetStore<OffsetTopicWriter>;

/// Writes each change to the offsets topic.
pub struct OffsetTopicWriter(OffsetTopic);

impl KafkaOffsetStore {
    /// A store over `topic` holding the `records` read from it at start (the last record of a
    /// key wins; a null value removes the key). Records whose key is not Connect's
    /// `["<connector>",{partition}]` JSON are skipped with a warning.
    pub fn from_topic(topic: OffsetTopic, records: Vec<OffsetRecord>) -> KafkaOffsetStore {
        let mut table = OffsetTable::default();
        let mut skipped = 0usize;
        for (key, value) in records {
            let key: Option<Json> = serde_json::from_slice(&key).ok().filter(|k: &Json| {
                matches!(k.as_array().map(Vec::as_slice), Some([Json::String(_), _]))
            });
            let value = match value {
                None => Some(None),
                Some(v) => serde_json::from_slice::<Json>(&v)
                    .ok()
                    .filter(Json::is_object)
                    .map(Some),
            };
            match (key, value) {
                (Some(key), Some(value)) => table.put_key(key, value),
                _ => skipped += 1,
            }
        }
        if skipped > 0 {
            tracing::warn!(
                topic = topic.topic(),
                skipped,
                "offset records that are not Kafka Connect source offsets were skipped"
            );
        }
        TableOffsetStore::with_entries(table, OffsetTopicWriter(topic))
    }
}

impl Durability for OffsetTopicWriter {
    fn persist(
        &mut self,
        _: &OffsetTable,
        key: &Json,
        value: Option<&Json>,
    ) -> Result<(), OffsetError> {
        let key_bytes = serde_json::to_vec(key).unwrap_or_default();
        let value_bytes = value.map(|v| serde_json::to_vec(v).unwrap_or_default());
        let write = || self.0.write(key_bytes, value_bytes);
        // Blocking: keep the runtime's other tasks running meanwhile where that is possible.
        let result = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write)
            }
            _ => write(),
        };
        result.map_err(|e| OffsetError::Write {
            path: format!("kafka topic {}", self.0.topic()).into(),
            source: std::io::Error::other(crate::postgres::connector::error_chain(&e)),
        })
    }
}
