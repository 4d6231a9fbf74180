//! Debezium's outbox event router, `io.debezium.transforms.outbox.EventRouter`: each row
//! inserted into an outbox table becomes one event on a topic chosen by one of its columns.
//!
//! ```text
//! outbox row {id, aggregatetype, aggregateid, type, payload, ...} (op c or r)
//!   topic   = route.topic.replacement applied to aggregatetype  (default outbox.event.<type>)
//!   key     = aggregateid (with its column schema)
//!   value   = payload, or {payload, <envelope columns>} when columns are placed in the envelope
//!   headers = id, <header columns>;  timestamp = table.field.event.timestamp or the event ts_ms
//! deletes and tombstones are dropped; updates follow table.op.invalid.behavior
//! ```
//! With `table.expand.json.payload` a JSON text payload becomes a struct whose schema is inferred
//! from the document, as Debezium's `JsonSchemaData` does.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value as Json;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{get_field, header_string, kind};
use super::java::{self, Replacement};
use super::{Props, SmtError, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Header,
    Envelope,
}

#[derive(Debug, Clone)]
struct Additional {
    field: String,
    placement: Placement,
    alias: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnUpdate {
    Warn,
    Error,
    Fatal,
}

pub(crate) fn build(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let mut additional = Vec::new();
    for spec in p.list("table.fields.additional.placement") {
        let parts: Vec<&str> = spec.split(':').map(str::trim).collect();
        let key = p.key("table.fields.additional.placement");
        let (field, placement, alias) = match parts.as_slice() {
            [f, pl] => (*f, *pl, *f),
            [f, pl, a] => (*f, *pl, *a),
            _ => {
                p.error(
                    "table.fields.additional.placement",
                    format!("invalid entry \"{spec}\" in {key}: expected column:placement or column:placement:alias"),
                );
                return None;
            }
        };
        let placement = match placement.to_ascii_lowercase().as_str() {
            "header" => Placement::Header,
            "envelope" => Placement::Envelope,
            "partition" => {
                p.error(
                    "table.fields.additional.placement",
                    format!("placement partition in {key} is not supported: Sluice leaves partitioning to the sink; use header or envelope"),
                );
                return None;
            }
            other => {
                p.error(
                    "table.fields.additional.placement",
                    format!("invalid placement \"{other}\" in {key}: expected header or envelope"),
                );
                return None;
            }
        };
        additional.push(Additional {
            field: field.to_string(),
            placement,
            alias: alias.to_string(),
        });
    }
    let regex = p.regex("route.topic.regex", true)?;
    let replacement_text = p.string("route.topic.replacement");
    let replacement = match Replacement::parse(&replacement_text, &regex) {
        Ok(r) => r,
        Err(e) => {
            let key = p.key("route.topic.replacement");
            p.error(
                "route.topic.replacement",
                format!("invalid replacement in {key}: {e}"),
            );
            return None;
        }
    };
    let on_update = match p
        .get("table.op.invalid.behavior")
        .unwrap_or("warn")
        .to_ascii_lowercase()
        .as_str()
    {
        "error" => OnUpdate::Error,
        "fatal" => OnUpdate::Fatal,
        _ => OnUpdate::Warn,
    };
    Some(Box::new(EventRouter {
        id: p.string("table.field.event.id"),
        key: p.non_blank("table.field.event.key"),
        payload: p.string("table.field.event.payload"),
        timestamp: p.non_blank("table.field.event.timestamp"),
        schema_version: p.non_blank("table.field.event.schema.version"),
        route_by: p.string("route.by.field"),
        regex,
        replacement,
        tombstone_on_empty: p.bool("route.tombstone.on.empty.payload"),
        on_update,
        expand_json: p.bool("table.expand.json.payload"),
        json_nulls_as_bytes: p
            .get("table.json.payload.null.behavior")
            .is_some_and(|v| v.eq_ignore_ascii_case("optional_bytes")),
        error_on_missing: p.bool("table.fields.additional.error.on.missing"),
        envelope_fields: additional
            .iter()
            .any(|a| a.placement == Placement::Envelope),
        additional,
        value_schemas: SchemaCache::default(),
    }))
}

struct EventRouter {
    id: String,
    key: Option<String>,
    payload: String,
    timestamp: Option<String>,
    schema_version: Option<String>,
    route_by: String,
    regex: Regex,
    replacement: Replacement,
    tombstone_on_empty: bool,
    on_update: OnUpdate,
    expand_json: bool,
    json_nulls_as_bytes: bool,
    error_on_missing: bool,
    additional: Vec<Additional>,
    envelope_fields: bool,
    /// The value struct schema per payload schema, routing value and schema version.
    value_schemas: SchemaCache<Arc<Schema>, (String, Option<i32>)>,
}

/// A field of the outbox row: its schema and value.
fn column<'a>(
    row_schema: &'a Schema,
    row: &'a Value,
    name: &str,
) -> Option<(&'a Arc<Schema>, &'a Value)> {
    let i = row_schema.field_index(name)?;
    let value = get_field(row_schema, row, name).unwrap_or(&Value::Null);
    Some((&row_schema.fields[i].schema, value))
}

impl EventRouter {
    fn event_timestamp(
        &self,
        envelope_schema: &Schema,
        envelope: &Value,
        row_schema: &Schema,
        row: &Value,
    ) -> Result<Option<i64>, SmtError> {
        let envelope_ts = match get_field(envelope_schema, envelope, "ts_ms") {
            Some(Value::Int64(v)) => Some(*v),
            _ => None,
        };
        let Some(field) = &self.timestamp else {
            return Ok(envelope_ts);
        };
        let Some((schema, value)) = column(row_schema, row, field) else {
            return Err(SmtError::new(format!(
                "unable to find timestamp field {field} in the outbox row"
            )));
        };
        let v = match value {
            Value::Null => return Ok(envelope_ts),
            Value::Int64(v) => *v,
            other => {
                return Err(SmtError::new(format!(
                    "timestamp field {field} must be an int64 timestamp, found {}",
                    kind(other)
                )))
            }
        };
        match schema.name.as_deref() {
            Some("io.debezium.time.Timestamp") | Some("org.apache.kafka.connect.data.Timestamp") => Ok(Some(v)),
            Some("io.debezium.time.MicroTimestamp") => Ok(Some(v / 1_000)),
            Some("io.debezium.time.NanoTimestamp") => Ok(Some(v / 1_000_000)),
            Some(other) => Err(SmtError::new(format!(
                "unsupported field type {other} for the event timestamp {field}"
            ))),
            None => Err(SmtError::new(format!(
                "unsupported field type {} (without logical schema name) for the event timestamp {field}",
                schema.ty.json_name()
            ))),
        }
    }
}

impl Transform for EventRouter {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let Some(envelope) = r.value.take().filter(|v| !v.is_null()) else {
            tracing::debug!(topic = %r.topic, "tombstone ignored by the outbox event router");
            return Ok(None);
        };
        let envelope_schema = match &r.value_schema {
            Some(s) if s.name.as_deref().is_some_and(|n| n.ends_with(".Envelope")) => s.clone(),
            _ => {
                r.value = Some(envelope);
                return Ok(Some(r));
            }
        };
        let op = match get_field(&envelope_schema, &envelope, "op") {
            Some(Value::String(op)) => op.clone(),
            _ => return Err(SmtError::new("the change event has no op")),
        };
        match op.as_str() {
            "d" => return Ok(None),
            "u" => match self.on_update {
                OnUpdate::Warn => {
                    tracing::warn!(topic = %r.topic, "unexpected update of an outbox row ignored: outbox rows are inserted, then deleted");
                    return Ok(None);
                }
                OnUpdate::Error => {
                    tracing::error!(topic = %r.topic, "unexpected update of an outbox row ignored: outbox rows are inserted, then deleted");
                    return Ok(None);
                }
                OnUpdate::Fatal => {
                    return Err(SmtError::new(
                        "unexpected update of an outbox row (table.op.invalid.behavior=fatal)",
                    ))
                }
            },
            _ => {}
        }
        let Some(after_index) = envelope_schema.field_index("after") else {
            return Err(SmtError::new("the envelope schema has no after field"));
        };
        let row_schema = envelope_schema.fields[after_index].schema.clone();
        let row = match get_field(&envelope_schema, &envelope, "after") {
            Some(row @ Value::Struct(_)) => row,
            _ => {
                return Err(SmtError::new(format!(
                    "the {op} event has no after image to read the outbox row from"
                )))
            }
        };
        let Some((payload_schema, payload)) = column(&row_schema, row, &self.payload) else {
            return Err(SmtError::new(format!(
                "unable to find payload field {} in the outbox row",
                self.payload
            )));
        };
        let mut payload_schema = payload_schema.clone();
        let mut payload = payload.clone();
        let timestamp = self.event_timestamp(&envelope_schema, &envelope, &row_schema, row)?;
        let Some((id_schema, id)) = column(&row_schema, row, &self.id) else {
            return Err(SmtError::new(format!(
                "unable to find event-id field {} in the outbox row",
                self.id
            )));
        };
        r.headers
            .push(("id".into(), header_string(Some(id_schema.as_ref()), id)));
        if self.expand_json {
            match &payload {
                Value::String(text) => {
                    match expand_json(&self.payload, text, self.json_nulls_as_bytes) {
                        Ok(Some((schema, value))) => {
                            payload_schema = Arc::new(schema);
                            payload = value;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(topic = %r.topic, "JSON expansion of the outbox payload failed: {e}")
                        }
                    }
                }
                other => tracing::warn!(
                    topic = %r.topic,
                    "table.expand.json.payload is set but the payload is {}, not a string",
                    kind(other)
                ),
            }
        }
        let routed = match column(&row_schema, row, &self.route_by) {
            Some((_, Value::String(s))) => s.clone(),
            Some((_, other)) => {
                return Err(SmtError::new(format!(
                    "route.by.field {} must be a non-null string column, found {}",
                    self.route_by,
                    kind(other)
                )))
            }
            None => {
                return Err(SmtError::new(format!(
                    "route.by.field {} is not a column of the outbox table",
                    self.route_by
                )))
            }
        };
        let version = match &self.schema_version {
            None => None,
            Some(field) => match column(&row_schema, row, field) {
                Some((_, Value::Int32(v))) => Some(*v),
                Some((_, Value::Null)) | None => None,
                Some((_, other)) => {
                    return Err(SmtError::new(format!(
                    "table.field.event.schema.version {field} must be an int32 column, found {}",
                    kind(other)
                )))
                }
            },
        };
        let mut envelope_values = Vec::new();
        for a in &self.additional {
            let Some((schema, value)) = column(&row_schema, row, &a.field) else {
                if self.error_on_missing {
                    return Err(SmtError::new(format!(
                        "additional field {} is not a column of the outbox table",
                        a.field
                    )));
                }
                continue;
            };
            match a.placement {
                Placement::Envelope => envelope_values.push(value.clone()),
                Placement::Header => r
                    .headers
                    .push((a.alias.clone(), header_string(Some(schema.as_ref()), value))),
            }
        }
        let empty = match &payload {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        };
        let (value_schema, value) = if empty && self.tombstone_on_empty {
            (None, None)
        } else if !self.envelope_fields {
            (Some(payload_schema), Some(payload))
        } else {
            let maker = ValueSchemaMaker {
                additional: &self.additional,
                error_on_missing: self.error_on_missing,
            };
            let schema = if self.expand_json {
                // Inferred payload schemas are new per record: nothing to cache.
                maker.make(&payload_schema, &row_schema, &routed, version)?
            } else {
                let key = (routed.clone(), version);
                self.value_schemas
                    .get_or_try(&payload_schema, key, |p| {
                        maker.make(p, &row_schema, &routed, version)
                    })?
                    .clone()
            };
            let mut values = vec![payload];
            values.extend(envelope_values);
            values.resize(schema.fields.len(), Value::Null);
            (Some(schema), Some(Value::Struct(values)))
        };
        let key = self.key.as_ref().and_then(|k| column(&row_schema, row, k));
        let (key_schema, key_value) = match key {
            Some((s, v)) => (s.clone(), v.clone()),
            None => (Arc::new(Schema::new(SchemaType::String)), Value::Null),
        };
        let topic = java::replace_whole(&self.regex, &self.replacement, &routed).unwrap_or(routed);
        Ok(Some(Record {
            topic: topic.into(),
            key_schema: Some(key_schema),
            key: Some(key_value).filter(|v| !v.is_null()),
            value_schema,
            value,
            headers: r.headers,
            timestamp_ms: timestamp,
        }))
    }
}

/// The `{payload, <envelope columns>}` value schema, named after the row schema with the
/// routing value inserted before its last part (`<routed>.Value`).
struct ValueSchemaMaker<'a> {
    additional: &'a [Additional],
    error_on_missing: bool,
}

impl ValueSchemaMaker<'_> {
    fn make(
        &self,
        payload: &Arc<Schema>,
        row_schema: &Schema,
        routed: &str,
        version: Option<i32>,
    ) -> Result<Arc<Schema>, SmtError> {
        let name = match &row_schema.name {
            Some(original) => match original.rfind('.') {
                Some(dot) => format!("{}{routed}.{}", &original[..=dot], &original[dot + 1..]),
                None => format!("{routed}.{original}"),
            },
            None => routed.to_string(),
        };
        let mut fields = vec![Field {
            name: "payload".into(),
            schema: payload.clone(),
        }];
        for a in self
            .additional
            .iter()
            .filter(|a| a.placement == Placement::Envelope)
        {
            match row_schema.field_index(&a.field) {
                Some(i) => fields.push(Field {
                    name: a.alias.clone(),
                    schema: row_schema.fields[i].schema.clone(),
                }),
                None if self.error_on_missing => {
                    return Err(SmtError::new(format!(
                        "additional field {} is not a column of the outbox table",
                        a.field
                    )))
                }
                None => {}
            }
        }
        let mut schema = Schema::structure(fields).named(name);
        schema.version = version;
        Ok(Arc::new(schema))
    }
}

/// A JSON object payload as a struct with an inferred schema; `Ok(None)` when the text is not
/// an object (kept as a string, as Debezium does).
fn expand_json(
    name: &str,
    text: &str,
    nulls_as_bytes: bool,
) -> Result<Option<(Schema, Value)>, String> {
    if !text.starts_with('{') && !text.starts_with('[') {
        return Err("the payload does not start with { or [".into());
    }
    let doc: Json =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {}", e.classify_name()))?;
    if !doc.is_object() {
        return Err("only a JSON object payload can become a struct".into());
    }
    let infer = Inference { nulls_as_bytes };
    let Some(schema) = infer.schema(name, &doc)? else {
        return Ok(None);
    };
    let value = json_value(&doc, &schema);
    Ok(Some((schema, value)))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "data error",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
    }
}

/// `JsonSchemaData.toConnectSchema`.
struct Inference {
    nulls_as_bytes: bool,
}

fn number_schema(n: &serde_json::Number) -> SchemaType {
    match n.as_i64() {
        Some(v) if i32::try_from(v).is_ok() => SchemaType::Int32,
        Some(_) => SchemaType::Int64,
        None => SchemaType::Float64,
    }
}

impl Inference {
    fn schema(&self, key: &str, node: &Json) -> Result<Option<Schema>, String> {
        Ok(Some(match node {
            Json::String(_) => Schema::new(SchemaType::String).optional(true),
            Json::Bool(_) => Schema::new(SchemaType::Boolean).optional(true),
            Json::Number(n) => Schema::new(number_schema(n)).optional(true),
            Json::Array(items) => {
                if items.is_empty() {
                    return Ok(None);
                }
                let Some(element) = self.array_element(key, items)? else {
                    return Ok(None);
                };
                Schema::array(element).optional(true)
            }
            Json::Object(entries) => {
                let mut fields: Vec<Field> = Vec::new();
                for (name, child) in entries {
                    let child_key = format!("{key}.{name}");
                    if let Some(s) = self.schema(&child_key, child)? {
                        if !fields.iter().any(|f| f.name == *name) {
                            fields.push(Field::new(name.clone(), s));
                        }
                    }
                }
                Schema::structure(fields).named(key).optional(true)
            }
            Json::Null => {
                if self.nulls_as_bytes {
                    Schema::new(SchemaType::Bytes).optional(true)
                } else {
                    return Ok(None);
                }
            }
        }))
    }

    fn array_element(&self, key: &str, items: &[Json]) -> Result<Option<Schema>, String> {
        let mut reference: Option<&Json> = None;
        for item in items.iter().filter(|i| !i.is_null()) {
            match reference {
                None => reference = Some(item),
                Some(r) => {
                    let same = std::mem::discriminant(r) == std::mem::discriminant(item)
                        && match (r, item) {
                            (Json::Number(a), Json::Number(b)) => {
                                number_schema(a) == number_schema(b)
                            }
                            _ => true,
                        };
                    if !same {
                        return Err("the payload has an array whose elements differ in type".into());
                    }
                }
            }
        }
        let Some(sample) = reference else {
            return Ok(None);
        };
        if !sample.is_object() {
            return self.schema(key, sample);
        }
        // Objects: the union of their fields, first seen first.
        let mut merged: Option<Schema> = None;
        for item in items.iter().filter(|i| i.is_object()) {
            let Some(s) = self.schema(key, item)? else {
                continue;
            };
            merged = Some(match merged {
                None => s,
                Some(mut m) => {
                    for f in s.fields {
                        match m.field_index(&f.name) {
                            None => m.fields.push(f),
                            Some(i)
                                if m.fields[i].schema.ty == SchemaType::Bytes
                                    && f.schema.ty != SchemaType::Bytes =>
                            {
                                m.fields[i] = f
                            }
                            Some(_) => {}
                        }
                    }
                    m
                }
            });
        }
        Ok(merged)
    }
}

/// `JsonSchemaData.toConnectData`: the document's values under the inferred schema.
fn json_value(node: &Json, schema: &Schema) -> Value {
    match (node, schema.ty) {
        (Json::Null, _) => Value::Null,
        (Json::String(s), _) => Value::String(s.clone()),
        (Json::Bool(b), _) => Value::Boolean(*b),
        (Json::Number(n), SchemaType::Int32) => n
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .map_or(Value::Null, Value::Int32),
        (Json::Number(n), SchemaType::Int64) => n.as_i64().map_or(Value::Null, Value::Int64),
        (Json::Number(n), _) => n.as_f64().map_or(Value::Null, Value::Float64),
        (Json::Array(items), _) => {
            let item_schema = schema.items.as_deref();
            Value::Array(
                items
                    .iter()
                    .map(|i| item_schema.map_or(Value::Null, |s| json_value(i, s)))
                    .collect(),
            )
        }
        (Json::Object(entries), SchemaType::Struct) => Value::Struct(
            schema
                .fields
                .iter()
                .map(|f| {
                    entries
                        .get(&f.name)
                        .map_or(Value::Null, |v| json_value(v, &f.schema))
                })
                .collect(),
        ),
        (Json::Object(_), _) => Value::Null,
    }
}
