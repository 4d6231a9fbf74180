//! What a transform derives from an input schema, computed once per distinct schema.
//!
//! Records of one table share one `Arc<Schema>`, and a transform that derives a schema hands
//! the same derived `Arc` to every record, so the next transform's cache hits as well. Entries
//! are keyed by the schema's address and hold the `Arc`, so an address cannot be reused by
//! another schema while its entry lives.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use crate::connect::Schema;

/// Distinct input schemas kept at most; past it the cache starts over (schemas are per table
/// and per schema change, so this only trips on heavy DDL churn).
const MAX_ENTRIES: usize = 1024;

/// Derived data per input schema (and an optional extra key, e.g. the target topic).
pub(crate) struct SchemaCache<V, K = ()> {
    entries: HashMap<(usize, K), (Arc<Schema>, V)>,
}

impl<V, K: Hash + Eq> Default for SchemaCache<V, K> {
    fn default() -> Self {
        SchemaCache {
            entries: HashMap::new(),
        }
    }
}

impl<V, K: Hash + Eq> SchemaCache<V, K> {
    /// The entry for `schema` and `extra`, made by `make` on first use.
    pub(crate) fn get_or_try<E>(
        &mut self,
        schema: &Arc<Schema>,
        extra: K,
        make: impl FnOnce(&Arc<Schema>) -> Result<V, E>,
    ) -> Result<&V, E> {
        let key = (Arc::as_ptr(schema) as usize, extra);
        if self.entries.len() >= MAX_ENTRIES && !self.entries.contains_key(&key) {
            self.entries.clear();
        }
        match self.entries.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(&e.into_mut().1),
            std::collections::hash_map::Entry::Vacant(e) => {
                let value = make(schema)?;
                Ok(&e.insert((schema.clone(), value)).1)
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::SchemaType;

    #[test]
    fn derives_once_per_schema() {
        let mut cache: SchemaCache<usize> = SchemaCache::default();
        let a = Arc::new(Schema::new(SchemaType::Int32));
        let b = Arc::new(Schema::new(SchemaType::Int32));
        let mut calls = 0;
        for s in [&a, &a, &b, &a, &b] {
            let v = cache
                .get_or_try(s, (), |_| {
                    calls += 1;
                    Ok::<_, ()>(calls)
                })
                .copied();
            assert!(v.is_ok());
        }
        assert_eq!(calls, 2);
        assert_eq!(cache.len(), 2);
    }
}
