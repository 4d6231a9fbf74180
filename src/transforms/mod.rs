//! Single Message Transforms: Kafka Connect's and Debezium's record transforms and predicates,
//! applied to each [`Record`] between the source and the converters.
//!
//! ```text
//! source ─ Record ─> TransformChain [t1 ─> t2 ─> ...] ─ Record | dropped ─> converters
//! ```

use crate::connect::Record;

/// A transform failed on a record. Definite: the same record fails again.
#[derive(Debug, thiserror::Error)]
#[error("transform {alias} failed: {message}")]
pub struct TransformError {
    pub alias: String,
    pub message: String,
}

/// The connector's `transforms` list, applied in order.
#[derive(Default)]
pub struct TransformChain {}

impl TransformChain {
    /// The chain a connector's `transforms` / `predicates` keys describe.
    pub fn from_props(
        _props: &std::collections::BTreeMap<String, String>,
    ) -> Result<TransformChain, sluice_config::ConfigErrors> {
        Ok(TransformChain::empty())
    }

    /// No transforms: every record passes unchanged.
    pub fn empty() -> TransformChain {
        TransformChain {}
    }

    pub fn is_empty(&self) -> bool {
        true
    }

    /// Apply every transform in order; `Ok(None)` when one of them dropped the record.
    pub fn apply(&mut self, record: Record) -> Result<Option<Record>, TransformError> {
        Ok(Some(record))
    }
}

/// A transform or predicate class Sluice offers (`GET /connector-plugins?connectorsOnly=false`).
pub struct PluginInfo {
    pub class: &'static str,
    /// `transformation` or `predicate`.
    pub ty: &'static str,
    pub config: Vec<sluice_config::definitions::KeyDef>,
}

/// Every transform and predicate class.
pub fn plugins() -> Vec<PluginInfo> {
    Vec::new()
}
