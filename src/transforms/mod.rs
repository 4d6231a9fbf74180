//! Single Message Transforms: Kafka Connect's and Debezium's record transforms and predicates,
//! applied to each [`Record`] between the source and the converters, so that JSON and Avro
//! output both see the transformed record and any schema a transform derives.
//!
//! ```text
//! source ─ Record ─> TransformChain [stage 1 ─> stage 2 ─> ...] ─ Record | dropped ─> converters
//!                         │ stage = predicate? (negate?) ─> transform
//!                         └ failure: errors.tolerance=none ─> TransformError (task fails)
//!                                    errors.tolerance=all  ─> record skipped (+ errors.log.*)
//! ```
//! A connector's `transforms`, `transforms.<alias>.*`, `predicates`, `predicates.<alias>.*` and
//! `errors.*` keys are read by [`sluice_config::transforms`]; this module builds the runnable
//! chain from them ([`TransformChain::from_props`]). Transforms that derive a schema build it once
//! per distinct input schema ([`cache`]), so the per-record cost is copying values.
//!
//! Contract of [`Transform`]: one record in, zero or one record out, in order; it may keep
//! per-schema caches but no per-record state; a failure is definite (the same record fails
//! again) and its message never contains row values.

mod cache;
mod cast;
mod data;
mod expression;
mod extract_new_record_state;
mod field;
mod header;
mod java;
mod outbox;
mod predicate;
mod route;
mod timestamp;

use std::collections::BTreeMap;

pub use sluice_config::transforms::{ConfigKeyInfo, PluginInfo};
use sluice_config::transforms::{
    ErrorHandling, ErrorTolerance, PluginDef, PluginType, PredicateSpec, TransformSpec,
    TransformsConfig,
};
use sluice_config::{ConfigErrors, KeyError};

use crate::connect::Record;

/// A transform failed on a record. Definite: the same record fails again.
#[derive(Debug, thiserror::Error)]
#[error("transform {alias} ({class}) failed on a record of topic {topic}: {message}")]
pub struct TransformError {
    /// The alias in `transforms`.
    pub alias: String,
    /// The transformation class.
    pub class: &'static str,
    /// The topic of the record as the failing transform received it.
    pub topic: String,
    /// What went wrong; never contains row values.
    pub message: String,
}

/// Why one transform could not handle one record (no row values in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmtError(pub String);

impl SmtError {
    pub(crate) fn new(message: impl Into<String>) -> SmtError {
        SmtError(message.into())
    }
}

/// One configured transformation (Connect's `Transformation.apply`).
pub(crate) trait Transform: Send {
    /// The record transformed, or `None` to drop it.
    fn apply(&mut self, record: Record) -> Result<Option<Record>, SmtError>;
}

/// One configured predicate (Connect's `Predicate.test`).
pub(crate) trait Predicate: Send {
    fn test(&self, record: &Record) -> bool;
}

/// One entry of `transforms`.
struct Stage {
    alias: String,
    class: &'static str,
    transform: Box<dyn Transform>,
    /// Index into [`TransformChain::predicates`].
    predicate: Option<usize>,
    negate: bool,
}

/// The connector's `transforms` list, applied in order.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
    predicates: Vec<Box<dyn Predicate>>,
    errors: ErrorHandling,
    skipped: u64,
}

impl TransformChain {
    /// No transforms: every record passes unchanged.
    pub fn empty() -> TransformChain {
        TransformChain::default()
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Builds the chain from a connector's raw keys (`transforms*`, `predicates*`, `errors.*`;
    /// other keys are ignored). Every bad key is reported, named in full
    /// (`transforms.<alias>.<key>`).
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<TransformChain, ConfigErrors> {
        let (chain, errors) = build(props);
        match chain {
            Some(chain) if errors.is_empty() => Ok(chain),
            _ => Err(ConfigErrors { errors }),
        }
    }

    /// The connector's `errors.*` keys (they apply to the converters and the sink too).
    pub fn error_handling(&self) -> &ErrorHandling {
        &self.errors
    }

    /// Records skipped so far because a transform failed with `errors.tolerance=all`.
    pub fn skipped_records(&self) -> u64 {
        self.skipped
    }

    /// Apply every transform in order; `Ok(None)` when one of them dropped the record (or failed
    /// on it with `errors.tolerance=all`).
    pub fn apply(&mut self, mut record: Record) -> Result<Option<Record>, TransformError> {
        for stage in &mut self.stages {
            if let Some(p) = stage.predicate {
                let matched = self.predicates.get(p).is_some_and(|p| p.test(&record));
                if matched == stage.negate {
                    continue;
                }
            }
            let log_record = (self.errors.tolerance == ErrorTolerance::All
                && self.errors.log_enable
                && self.errors.log_include_messages)
                .then(|| record.clone());
            let topic = record.topic.clone();
            match stage.transform.apply(record) {
                Ok(Some(next)) => record = next,
                Ok(None) => return Ok(None),
                Err(SmtError(message)) => {
                    let error = TransformError {
                        alias: stage.alias.clone(),
                        class: stage.class,
                        topic: topic.to_string(),
                        message,
                    };
                    match self.errors.tolerance {
                        ErrorTolerance::None => return Err(error),
                        ErrorTolerance::All => {
                            self.skipped += 1;
                            if self.errors.log_enable {
                                match log_record {
                                    Some(r) => tracing::error!(
                                        alias = %error.alias,
                                        class = error.class,
                                        topic = %error.topic,
                                        key = ?r.key,
                                        value = ?r.value,
                                        headers = ?r.headers,
                                        "{error}; record skipped (errors.tolerance=all)"
                                    ),
                                    None => tracing::error!(
                                        alias = %error.alias,
                                        class = error.class,
                                        topic = %error.topic,
                                        "{error}; record skipped (errors.tolerance=all)"
                                    ),
                                }
                            }
                            return Ok(None);
                        }
                    }
                }
            }
        }
        Ok(Some(record))
    }
}

/// Every error in the transform, predicate and `errors.*` keys of `props`, including those only
/// found when building each transform (a bad regex, cast spec, expression, ...); empty when valid.
pub fn validate(props: &BTreeMap<String, String>) -> Vec<KeyError> {
    build(props).1
}

/// The transformations and predicates Sluice runs, for `GET /connector-plugins?connectorsOnly=false`.
pub fn plugins() -> Vec<PluginInfo> {
    sluice_config::transforms::plugins()
}

/// The config keys of the transformation or predicate called `name` (a class or a Connect
/// alias), for `GET /connector-plugins/{plugin}/config`.
pub fn plugin_config(name: &str) -> Option<Vec<ConfigKeyInfo>> {
    [PluginType::Transformation, PluginType::Predicate]
        .into_iter()
        .find_map(|t| sluice_config::transforms::resolve(t, name).ok())
        .map(PluginDef::config_keys)
}

/// The chain (when every transform and predicate could be built) and all errors.
fn build(props: &BTreeMap<String, String>) -> (Option<TransformChain>, Vec<KeyError>) {
    let (config, mut errors) = TransformsConfig::parse(props);
    let mut predicates: Vec<Box<dyn Predicate>> = Vec::new();
    let mut predicate_index = BTreeMap::new();
    let mut complete = true;
    for spec in &config.predicates {
        let mut p = Props::predicate(spec);
        let built = predicate::build(spec.plugin.class, &mut p);
        errors.append(&mut p.errors);
        match built {
            Some(built) => {
                predicate_index.insert(spec.alias.clone(), predicates.len());
                predicates.push(built);
            }
            None => complete = false,
        }
    }
    let mut stages = Vec::new();
    for spec in &config.transforms {
        let mut p = Props::transform(spec);
        let built = build_transform(spec.plugin.class, &mut p);
        errors.append(&mut p.errors);
        let Some(transform) = built else {
            complete = false;
            continue;
        };
        let predicate = match &spec.predicate {
            Some(alias) => match predicate_index.get(alias) {
                Some(i) => Some(*i),
                None => {
                    complete = false;
                    None
                }
            },
            None => None,
        };
        stages.push(Stage {
            alias: spec.alias.clone(),
            class: spec.plugin.class,
            transform,
            predicate,
            negate: spec.negate,
        });
    }
    let chain = complete.then_some(TransformChain {
        stages,
        predicates,
        errors: config.errors,
        skipped: 0,
    });
    (chain, errors)
}

/// The transformation named by its fully qualified `class`; `None` after recording errors.
fn build_transform(class: &str, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    const KAFKA: &str = "org.apache.kafka.connect.transforms.";
    if let Some(name) = class.strip_prefix(KAFKA) {
        let (base, side) = match name.split_once('$') {
            Some((base, "Key")) => (base, data::Side::Key),
            Some((base, _)) => (base, data::Side::Value),
            None => (name, data::Side::Value),
        };
        return match base {
            "InsertField" => field::insert_field(side, p),
            "ReplaceField" => field::replace_field(side, p),
            "MaskField" => field::mask_field(side, p),
            "ValueToKey" => field::value_to_key(p),
            "ExtractField" => field::extract_field(side, p),
            "HoistField" => field::hoist_field(side, p),
            "Flatten" => field::flatten(side, p),
            "SetSchemaMetadata" => field::set_schema_metadata(side, p),
            "Cast" => cast::cast(side, p),
            "TimestampConverter" => timestamp::timestamp_converter(side, p),
            "RegexRouter" => route::regex_router(p),
            "TimestampRouter" => route::timestamp_router(p),
            "Filter" => Some(Box::new(route::DropAll)),
            "HeaderFrom" => header::header_from(side, p),
            "InsertHeader" => header::insert_header(p),
            "DropHeaders" => header::drop_headers(p),
            _ => p.unsupported(class),
        };
    }
    match class {
        "io.debezium.transforms.ExtractNewRecordState" => extract_new_record_state::build(p),
        "io.debezium.transforms.ByLogicalTableRouter" => route::by_logical_table_router(p),
        "io.debezium.transforms.outbox.EventRouter" => outbox::build(p),
        "io.debezium.transforms.Filter" => expression::filter(p),
        "io.debezium.transforms.ContentBasedRouter" => expression::content_based_router(p),
        _ => p.unsupported(class),
    }
}

/// The settings of one transform or predicate, typed, with defaults from its catalog entry;
/// errors name the full connector key.
pub(crate) struct Props<'a> {
    /// `transforms.<alias>.` or `predicates.<alias>.`
    prefix: String,
    plugin: &'static PluginDef,
    values: &'a BTreeMap<String, String>,
    pub(crate) errors: Vec<KeyError>,
}

impl<'a> Props<'a> {
    fn transform(spec: &'a TransformSpec) -> Props<'a> {
        Props {
            prefix: format!("transforms.{}.", spec.alias),
            plugin: spec.plugin,
            values: &spec.props,
            errors: Vec::new(),
        }
    }

    fn predicate(spec: &'a PredicateSpec) -> Props<'a> {
        Props {
            prefix: format!("predicates.{}.", spec.alias),
            plugin: spec.plugin,
            values: &spec.props,
            errors: Vec::new(),
        }
    }

    /// The full connector key of setting `name`.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The value set, else the catalog default; `None` when neither.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(v) => Some(v.as_str()),
            None => match self.plugin.key(name).map(|k| k.default) {
                Some(sluice_config::transforms::KeyDefault::Value(v)) => Some(v),
                _ => None,
            },
        }
    }

    /// Whether the user wrote the key.
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// [`Props::get`], empty when unset.
    pub(crate) fn string(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_string()
    }

    /// A non-blank string, or `None`.
    pub(crate) fn non_blank(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// A boolean (already checked by the config crate).
    pub(crate) fn bool(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        sluice_config::transforms::list(self.get(name).unwrap_or(""))
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub(crate) fn int(&self, name: &str) -> Option<i32> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// Records an error on setting `name`.
    pub(crate) fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(KeyError {
            key: self.key(name),
            message: message.into(),
        });
    }

    /// A Java regular expression from setting `name`, compiled to match whole strings when
    /// `whole` (Java's `Matcher.matches`).
    pub(crate) fn regex(&mut self, name: &str, whole: bool) -> Option<regex::Regex> {
        let pattern = self.get(name)?.to_string();
        match java::regex(&pattern, whole) {
            Ok(r) => Some(r),
            Err(e) => {
                let key = self.key(name);
                self.error(name, format!("invalid regular expression for {key}: {e}"));
                None
            }
        }
    }

    fn unsupported<T>(&mut self, class: &str) -> Option<T> {
        self.errors.push(KeyError {
            key: format!("{}type", self.prefix),
            message: format!("{class} is listed but not implemented by Sluice"),
        });
        None
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
