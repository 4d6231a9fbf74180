//! Transforms that change where a record goes: Kafka's `RegexRouter`, `TimestampRouter` and
//! `Filter` (drop everything, for use with a predicate), and Debezium's `ByLogicalTableRouter`,
//! which merges the topics of sharded tables into one and keeps keys unique across them.
//!
//! ```text
//! ByLogicalTableRouter: topic db1.inv.orders ─(topic.regex/topic.replacement)─> all.orders
//!   key   {id}                 ─> all.orders.Key {id, __dbz__physicalTableIdentifier}
//!   value db1.inv.orders.Envelope {before/after: db1...Value} ─> all.orders.Envelope {... all.orders.Value}
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{kind, struct_values};
use super::java::{self, DatePattern, Replacement};
use super::{Props, SmtError, Transform};

/// Kafka's `Filter`: drops every record it is applied to.
pub(crate) struct DropAll;

impl Transform for DropAll {
    fn apply(&mut self, _record: Record) -> Result<Option<Record>, SmtError> {
        Ok(None)
    }
}

/// A compiled `regex` + `replacement` pair.
fn regex_and_replacement(
    p: &mut Props<'_>,
    regex_key: &str,
    replacement_key: &str,
) -> Option<(Regex, Replacement)> {
    let regex = p.regex(regex_key, true)?;
    let text = p.string(replacement_key);
    match Replacement::parse(&text, &regex) {
        Ok(r) => Some((regex, r)),
        Err(e) => {
            let key = p.key(replacement_key);
            p.error(
                replacement_key,
                format!("invalid replacement in {key}: {e}"),
            );
            None
        }
    }
}

/// Topic names already routed, so each distinct topic is matched once.
#[derive(Default)]
struct TopicMemo {
    routed: HashMap<Arc<str>, Option<Arc<str>>>,
}

impl TopicMemo {
    fn route(
        &mut self,
        topic: &Arc<str>,
        regex: &Regex,
        replacement: &Replacement,
    ) -> Option<Arc<str>> {
        if let Some(hit) = self.routed.get(topic) {
            return hit.clone();
        }
        if self.routed.len() >= 4096 {
            self.routed.clear();
        }
        let routed: Option<Arc<str>> =
            java::replace_whole(regex, replacement, topic).map(Arc::from);
        self.routed.insert(topic.clone(), routed.clone());
        routed
    }
}

/// `RegexRouter`.
pub(crate) fn regex_router(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let (regex, replacement) = regex_and_replacement(p, "regex", "replacement")?;
    Some(Box::new(RegexRouter {
        regex,
        replacement,
        memo: TopicMemo::default(),
    }))
}

struct RegexRouter {
    regex: Regex,
    replacement: Replacement,
    memo: TopicMemo,
}

impl Transform for RegexRouter {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if let Some(topic) = self.memo.route(&r.topic, &self.regex, &self.replacement) {
            r.topic = topic;
        }
        Ok(Some(r))
    }
}

/// `TimestampRouter`.
pub(crate) fn timestamp_router(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let pattern = p.string("timestamp.format");
    let format = match DatePattern::parse(&pattern) {
        Ok(f) => f,
        Err(e) => {
            let key = p.key("timestamp.format");
            p.error(
                "timestamp.format",
                format!("invalid date pattern in {key}: {e}"),
            );
            return None;
        }
    };
    Some(Box::new(TimestampRouter {
        topic_format: p.string("topic.format"),
        format,
    }))
}

struct TimestampRouter {
    topic_format: String,
    format: DatePattern,
}

impl Transform for TimestampRouter {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let Some(ts) = r.timestamp_ms else {
            return Err(SmtError::new(
                "TimestampRouter needs the record timestamp, and this record has none (tombstones have none)",
            ));
        };
        let topic = self
            .topic_format
            .replace("${topic}", &r.topic)
            .replace("${timestamp}", &self.format.format(ts));
        r.topic = topic.into();
        Ok(Some(r))
    }
}

/// Debezium's `schema.name.adjustment.mode` for names derived from topics.
#[derive(Debug, Clone, Copy)]
enum NameAdjustment {
    None,
    Avro,
    AvroUnicode,
}

impl NameAdjustment {
    fn adjust(self, name: &str) -> String {
        match self {
            NameAdjustment::None => name.to_string(),
            NameAdjustment::Avro | NameAdjustment::AvroUnicode => {
                let mut out = String::with_capacity(name.len());
                for (i, c) in name.chars().enumerate() {
                    let valid = c == '_'
                        || c == '.'
                        || c.is_ascii_alphabetic()
                        || (i > 0 && c.is_ascii_digit());
                    if valid {
                        out.push(c);
                    } else if matches!(self, NameAdjustment::AvroUnicode) {
                        out.push_str(&format!("_u{:04x}", u32::from(c)));
                    } else {
                        out.push('_');
                    }
                }
                out
            }
        }
    }
}

/// Debezium's `ByLogicalTableRouter`.
pub(crate) fn by_logical_table_router(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let topic = regex_and_replacement(p, "topic.regex", "topic.replacement");
    let key_regex = match p.non_blank("key.field.regex") {
        None => None,
        Some(_) => {
            if p.non_blank("key.field.replacement").is_none() {
                let (k, r) = (p.key("key.field.replacement"), p.key("key.field.regex"));
                p.error(
                    "key.field.replacement",
                    format!("{k} must be non-empty when {r} is set"),
                );
                return None;
            }
            Some(regex_and_replacement(
                p,
                "key.field.regex",
                "key.field.replacement",
            )?)
        }
    };
    let (topic_regex, topic_replacement) = topic?;
    let adjustment = match p.get("schema.name.adjustment.mode").unwrap_or("none") {
        m if m.eq_ignore_ascii_case("avro") => NameAdjustment::Avro,
        m if m.eq_ignore_ascii_case("avro_unicode") => NameAdjustment::AvroUnicode,
        _ => NameAdjustment::None,
    };
    Some(Box::new(ByLogicalTableRouter {
        topic_regex,
        topic_replacement,
        key_regex,
        key_enforce_uniqueness: p.bool("key.enforce.uniqueness"),
        key_field_name: p.string("key.field.name"),
        adjustment,
        topics: TopicMemo::default(),
        key_ids: TopicMemo::default(),
        key_schemas: SchemaCache::default(),
        envelope_schemas: SchemaCache::default(),
    }))
}

struct ByLogicalTableRouter {
    topic_regex: Regex,
    topic_replacement: Replacement,
    key_regex: Option<(Regex, Replacement)>,
    key_enforce_uniqueness: bool,
    key_field_name: String,
    adjustment: NameAdjustment,
    topics: TopicMemo,
    key_ids: TopicMemo,
    key_schemas: SchemaCache<Arc<Schema>, Arc<str>>,
    /// The new envelope schema and the new row (`before`/`after`) schema.
    envelope_schemas: SchemaCache<(Arc<Schema>, Arc<Schema>), Arc<str>>,
}

/// A copy of `source` under another name: version, doc, parameters, optionality and fields kept.
fn renamed(source: &Schema, name: String) -> Schema {
    Schema {
        name: Some(name),
        default: None,
        ..source.clone()
    }
}

impl Transform for ByLogicalTableRouter {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let old_topic = r.topic.clone();
        let Some(new_topic) =
            self.topics
                .route(&old_topic, &self.topic_regex, &self.topic_replacement)
        else {
            return Ok(Some(r));
        };
        if new_topic.is_empty() {
            tracing::warn!(topic = %old_topic, "topic.regex routing gave an empty topic name; the record keeps its topic");
            return Ok(Some(r));
        }
        // The key, when there is one, gains the physical table's identifier.
        match (r.key.take().filter(|k| !k.is_null()), r.key_schema.take()) {
            (Some(key), Some(key_schema)) => {
                if key_schema.ty != SchemaType::Struct {
                    return Err(SmtError::new(format!(
                        "ByLogicalTableRouter needs a struct key, found {}",
                        key_schema.ty.json_name()
                    )));
                }
                let (enforce, field_name, adjustment) = (
                    self.key_enforce_uniqueness,
                    &self.key_field_name,
                    self.adjustment,
                );
                let new_key_schema = self
                    .key_schemas
                    .get_or_try(&key_schema, new_topic.clone(), |s| {
                        let mut out = renamed(s, adjustment.adjust(&format!("{new_topic}.Key")));
                        if enforce {
                            out.fields.push(Field::new(
                                field_name.clone(),
                                Schema::new(SchemaType::String),
                            ));
                        }
                        Ok::<_, SmtError>(Arc::new(out))
                    })?
                    .clone();
                let mut values = struct_values(key, &key_schema).map_err(SmtError)?;
                if self.key_enforce_uniqueness {
                    let id = match &self.key_regex {
                        Some((regex, replacement)) => self
                            .key_ids
                            .route(&old_topic, regex, replacement)
                            .unwrap_or_else(|| old_topic.clone()),
                        None => old_topic.clone(),
                    };
                    values.push(Value::String(id.to_string()));
                }
                r.key_schema = Some(new_key_schema);
                r.key = Some(Value::Struct(values));
            }
            (Some(_), None) => {
                return Err(SmtError::new(
                    "ByLogicalTableRouter needs a struct key with a schema, and this key has none",
                ))
            }
            // A table without a primary key: no key, and (as in Debezium) no key schema.
            (None, _) => {}
        }
        r.topic = new_topic.clone();
        let is_envelope = r.value.as_ref().is_some_and(|v| !v.is_null())
            && r.value_schema
                .as_ref()
                .and_then(|s| s.name.as_deref())
                .is_some_and(|n| n.ends_with(".Envelope"));
        if !is_envelope {
            // Tombstones, heartbeats, transaction and schema change records keep their value.
            return Ok(Some(r));
        }
        let (Some(schema), Some(value)) = (r.value_schema.take(), r.value.take()) else {
            return Ok(Some(r));
        };
        let adjustment = self.adjustment;
        let (new_schema, _) = self
            .envelope_schemas
            .get_or_try(&schema, new_topic.clone(), |s| {
                let row = s
                    .field_index("before")
                    .map(|i| s.fields[i].schema.clone())
                    .ok_or_else(|| SmtError::new("the envelope schema has no before field"))?;
                let row = Arc::new(renamed(
                    &row,
                    adjustment.adjust(&format!("{new_topic}.Value")),
                ));
                let mut envelope = renamed(s, adjustment.adjust(&format!("{new_topic}.Envelope")));
                for f in &mut envelope.fields {
                    if f.name == "before" || f.name == "after" {
                        f.schema = row.clone();
                    }
                }
                Ok::<_, SmtError>((Arc::new(envelope), row))
            })?
            .clone();
        if !matches!(value, Value::Struct(_)) {
            return Err(SmtError::new(format!(
                "ByLogicalTableRouter expected a struct envelope, found {}",
                kind(&value)
            )));
        }
        // Struct values are positional: only the schemas change.
        r.value_schema = Some(new_schema);
        r.value = Some(value);
        Ok(Some(r))
    }
}
