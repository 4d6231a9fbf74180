//! Debezium's `io.debezium.transforms.ExtractNewRecordState` ("unwrap"): the change event
//! envelope replaced by the row state, with delete and tombstone handling, envelope metadata
//! added as fields (`add.fields`) or headers (`add.headers`), and routing by a row field.
//!
//! ```text
//! envelope {before, after, source, op, ts_ms, ...}
//!   c / u / r ─> after  (+ __op, __source_ts_ms, ... ) (+ __deleted=false when rewriting)
//!   d         ─> drop | null value (tombstone) | tombstone | before + __deleted=true
//!   t         ─> dropped
//! tombstone   ─> kept only by rewrite-with-tombstone
//! anything else (heartbeats, messages, transaction records) passes unchanged
//! ```
//! The output schema is derived once per envelope schema: the row schema (`<topic>.Value`),
//! extended by the added fields, whose schemas are the envelope fields' made optional.

use std::sync::Arc;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{copy_struct_basics, field_value, header_string, kind};
use super::{Props, SmtError, Transform};

/// What happens to a delete event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletes {
    Drop,
    /// The value becomes null, the schema stays the row schema (`tombstone` mode).
    NullValue,
    /// Value and schema become null (`delete-to-tombstone`).
    Tombstone,
    /// The `before` image with `__deleted=true`.
    Rewrite,
}

/// A field named in `add.fields` / `add.headers`.
#[derive(Debug, Clone)]
struct FieldRef {
    /// `source`, `transaction`, or `None` for top-level envelope fields.
    parent: Option<String>,
    field: String,
    /// The added field or header name, prefix included.
    name: String,
}

impl FieldRef {
    fn parse(prefix: &str, spec: &str) -> Result<FieldRef, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() > 2 {
            return Err(format!(
                "unexpected field name \"{spec}\": expected field or field:new_name"
            ));
        }
        let path: Vec<&str> = parts[0].split('.').collect();
        let (parent, field) = match path.as_slice() {
            [field] => (default_parent(field), field.to_string()),
            [parent, field, ..] => (Some(parent.to_string()), field.to_string()),
            [] => return Err(format!("empty field name in \"{spec}\"")),
        };
        let name = match parts.get(1) {
            Some(new) => format!("{prefix}{new}"),
            None if path.len() == 1 => format!("{prefix}{field}"),
            None => format!("{prefix}{}_{field}", parent.as_deref().unwrap_or("")),
        };
        Ok(FieldRef {
            parent,
            field,
            name,
        })
    }
}

/// Where an unqualified field lives in the envelope.
fn default_parent(field: &str) -> Option<String> {
    match field {
        "id" | "total_order" | "data_collection_order" => Some("transaction".into()),
        "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
        "updateDescription" => Some("updateDescription".into()),
        _ => Some("source".into()),
    }
}

/// Where a referenced field's value is in an envelope struct.
#[derive(Debug, Clone, Copy)]
enum Loc {
    Top(usize),
    Nested(usize, usize),
}

impl Loc {
    fn get(self, envelope: &[Value]) -> Option<&Value> {
        match self {
            Loc::Top(i) => envelope.get(i),
            Loc::Nested(p, i) => match envelope.get(p) {
                Some(Value::Struct(inner)) => inner.get(i),
                _ => None,
            },
        }
    }
}

/// A reference resolved against an envelope schema: name, optional schema and location.
#[derive(Debug, Clone)]
struct Resolved {
    name: String,
    schema: Arc<Schema>,
    loc: Loc,
}

fn resolve(refs: &[FieldRef], envelope: &Schema) -> Vec<Resolved> {
    let mut out = Vec::new();
    for r in refs {
        let nested = r.parent.as_ref().and_then(|p| {
            let pi = envelope.field_index(p)?;
            let parent = &envelope.fields[pi].schema;
            let fi = parent
                .field_index(&r.field)
                .filter(|_| parent.ty == SchemaType::Struct)?;
            Some((Loc::Nested(pi, fi), parent.fields[fi].schema.clone()))
        });
        let found = match (&r.parent, nested) {
            (_, Some(found)) => Some(found),
            // Not in its struct (or top-level): maybe a field another transform added on top.
            _ => envelope
                .field_index(&r.field)
                .map(|i| (Loc::Top(i), envelope.fields[i].schema.clone())),
        };
        if let Some((loc, schema)) = found {
            let optional = Schema {
                optional: true,
                default: None,
                ..(*schema).clone()
            };
            out.push(Resolved {
                name: r.name.clone(),
                schema: Arc::new(optional),
                loc,
            });
        }
    }
    out
}

/// Everything derived from one envelope schema.
struct Plan {
    before: usize,
    after: usize,
    /// The row schema (`after`'s), for deletes in `tombstone` mode.
    row: Arc<Schema>,
    /// Output schemas for create/update (from `after`) and rewritten deletes (from `before`).
    after_out: Arc<Schema>,
    before_out: Arc<Schema>,
    fields: Vec<Resolved>,
    headers: Vec<Resolved>,
}

pub(crate) fn build(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let (deletes, keep_tombstones) = if p.is_set("delete.tombstone.handling.mode")
        || !(p.is_set("drop.tombstones") || p.is_set("delete.handling.mode"))
    {
        match p
            .get("delete.tombstone.handling.mode")
            .unwrap_or("tombstone")
            .to_ascii_lowercase()
            .as_str()
        {
            "drop" => (Deletes::Drop, false),
            "rewrite" => (Deletes::Rewrite, false),
            "rewrite-with-tombstone" => (Deletes::Rewrite, true),
            "delete-to-tombstone" => (Deletes::Tombstone, false),
            _ => (Deletes::NullValue, false),
        }
    } else {
        // The keys Debezium replaced by delete.tombstone.handling.mode in 2.5.
        let deletes = match p
            .get("delete.handling.mode")
            .unwrap_or("drop")
            .to_ascii_lowercase()
            .as_str()
        {
            "rewrite" => Deletes::Rewrite,
            "none" => Deletes::NullValue,
            _ => Deletes::Drop,
        };
        let drop_tombstones = !p.is_set("drop.tombstones") || p.bool("drop.tombstones");
        tracing::warn!(
            "drop.tombstones and delete.handling.mode are deprecated: use delete.tombstone.handling.mode"
        );
        (deletes, !drop_tombstones)
    };
    let mut refs = |key: &str, prefix_key: &str| -> Option<Vec<FieldRef>> {
        let prefix = p.string(prefix_key);
        let mut out = Vec::new();
        for spec in p.list(key) {
            match FieldRef::parse(&prefix, &spec) {
                Ok(r) => out.push(r),
                Err(e) => {
                    let full = p.key(key);
                    p.error(key, format!("{full}: {e}"));
                    return None;
                }
            }
        }
        Some(out)
    };
    let fields = refs("add.fields", "add.fields.prefix")?;
    let headers = refs("add.headers", "add.headers.prefix")?;
    Some(Box::new(ExtractNewRecordState {
        settings: Settings {
            deletes,
            keep_tombstones,
            fields,
            headers,
            route_by_field: p.non_blank("route.by.field"),
            drop_fields_header: p.non_blank("drop.fields.header.name"),
            drop_fields_from_key: p.bool("drop.fields.from.key"),
            drop_keep_compatible: p.bool("drop.fields.keep.schema.compatible"),
            replace_null: p.bool("replace.null.with.default"),
        },
        plans: SchemaCache::default(),
        dropped: SchemaCache::default(),
    }))
}

struct ExtractNewRecordState {
    settings: Settings,
    plans: SchemaCache<Plan>,
    /// Schemas without the fields a drop-fields header names, per schema and field list.
    dropped: SchemaCache<(Arc<Schema>, Vec<usize>), String>,
}

struct Settings {
    deletes: Deletes,
    keep_tombstones: bool,
    fields: Vec<FieldRef>,
    headers: Vec<FieldRef>,
    route_by_field: Option<String>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    drop_keep_compatible: bool,
    replace_null: bool,
}

impl Settings {
    fn rewrite(&self) -> bool {
        self.deletes == Deletes::Rewrite
    }

    fn plan(&self, envelope: &Arc<Schema>) -> Result<Plan, SmtError> {
        let index = |name: &str| {
            envelope
                .field_index(name)
                .ok_or_else(|| SmtError::new(format!("the envelope schema has no {name} field")))
        };
        let (before, after) = (index("before")?, index("after")?);
        let fields = resolve(&self.fields, envelope);
        let headers = resolve(&self.headers, envelope);
        let out = |row: &Arc<Schema>| -> Arc<Schema> {
            if fields.is_empty() && !self.rewrite() {
                return row.clone();
            }
            let mut out = copy_struct_basics(row);
            out.fields = row.fields.clone();
            for f in &fields {
                out.fields.push(Field {
                    name: f.name.clone(),
                    schema: f.schema.clone(),
                });
            }
            if self.rewrite() {
                out.fields.push(Field::new(
                    "__deleted",
                    Schema::new(SchemaType::String).optional(true),
                ));
            }
            Arc::new(out)
        };
        let row = envelope.fields[after].schema.clone();
        Ok(Plan {
            before,
            after,
            after_out: out(&row),
            before_out: out(&envelope.fields[before].schema),
            row,
            fields,
            headers,
        })
    }

    /// `row` + the added fields (+ `__deleted`).
    fn extend(
        &self,
        plan: &Plan,
        row_schema: &Schema,
        row: Value,
        envelope: &[Value],
        deleted: &str,
    ) -> Result<Value, SmtError> {
        if plan.fields.is_empty() && !self.rewrite() {
            return Ok(row);
        }
        let Value::Struct(mut values) = row else {
            return Err(SmtError::new(format!(
                "the row image is {}, not a struct",
                kind(&row)
            )));
        };
        values.resize(row_schema.fields.len(), Value::Null);
        if self.rewrite() && self.replace_null {
            // Rewriting goes through Connect's InsertField, whose Struct.get gives defaults.
            for (v, f) in values.iter_mut().zip(&row_schema.fields) {
                if v.is_null() {
                    *v = field_value(Value::Null, &f.schema, true);
                }
            }
        }
        for f in &plan.fields {
            values.push(f.loc.get(envelope).cloned().unwrap_or(Value::Null));
        }
        if self.rewrite() {
            values.push(Value::String(deleted.to_string()));
        }
        Ok(Value::Struct(values))
    }

    /// Routes by a string field of `row`: a blank or null value keeps the topic.
    fn route(
        &self,
        topic: &mut Arc<str>,
        row_schema: &Schema,
        row: &Value,
    ) -> Result<(), SmtError> {
        let Some(field) = &self.route_by_field else {
            return Ok(());
        };
        let Some(i) = row_schema.field_index(field) else {
            return Err(SmtError::new(format!(
                "route.by.field {field} is not a field of the row"
            )));
        };
        if let Value::Struct(values) = row {
            match values.get(i) {
                Some(Value::String(t)) if !t.trim().is_empty() => *topic = t.as_str().into(),
                Some(Value::String(_)) | Some(Value::Null) | None => {}
                Some(other) => {
                    return Err(SmtError::new(format!(
                        "route.by.field {field} must be a string field, found {}",
                        kind(other)
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Removes the fields listed in the drop-fields header from the value (and key).
fn drop_fields(
    settings: &Settings,
    cache: &mut SchemaCache<(Arc<Schema>, Vec<usize>), String>,
    r: &mut Record,
) {
    let Some(header) = &settings.drop_fields_header else {
        return;
    };
    let Some(list) = r
        .headers
        .iter()
        .find(|(k, _)| k == header)
        .and_then(|(_, v)| v.as_deref())
        .map(parse_header_list)
    else {
        return;
    };
    if list.is_empty() {
        return;
    }
    let joined = list.join(",");
    let keep_compatible = settings.drop_keep_compatible;
    let mut without = |schema: Arc<Schema>, value: Value| -> (Arc<Schema>, Value) {
        if schema.ty != SchemaType::Struct {
            return (schema, value);
        }
        let Ok((out, keep)) = cache.get_or_try(&schema, joined.clone(), |s| {
            let mut out = copy_struct_basics(s);
            let mut keep = Vec::new();
            for (i, f) in s.fields.iter().enumerate() {
                let drop = list.contains(&f.name) && (!keep_compatible || f.schema.optional);
                if !drop {
                    out.fields.push(f.clone());
                    keep.push(i);
                }
            }
            Ok::<_, ()>((Arc::new(out), keep))
        }) else {
            return (schema, value);
        };
        let Value::Struct(mut values) = value else {
            return (schema, value);
        };
        values.resize(schema.fields.len(), Value::Null);
        let kept = keep
            .iter()
            .map(|&i| std::mem::replace(&mut values[i], Value::Null))
            .collect();
        (out.clone(), Value::Struct(kept))
    };
    if settings.drop_fields_from_key {
        if let (Some(schema), Some(value)) = (r.key_schema.take(), r.key.take()) {
            let (s, v) = without(schema, value);
            r.key_schema = Some(s);
            r.key = Some(v);
        }
    }
    if let (Some(schema), Some(value)) = (r.value_schema.take(), r.value.take()) {
        let (s, v) = without(schema, value);
        r.value_schema = Some(s);
        r.value = Some(v);
    }
}

/// A header holding a list of field names, as `Values.convertToString` writes a list
/// (`["a","b"]`) or as plain `a,b`.
fn parse_header_list(text: &str) -> Vec<String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Transform for ExtractNewRecordState {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let settings = &self.settings;
        if !matches!(&r.value, Some(v) if !v.is_null()) {
            if !settings.keep_tombstones {
                return Ok(None);
            }
            for h in &settings.headers {
                if h.field == "op" && h.parent.is_none() {
                    r.headers.push((h.name.clone(), Some("d".to_string())));
                }
            }
            return Ok(Some(r));
        }
        let envelope_schema = match &r.value_schema {
            Some(s) if s.name.as_deref().is_some_and(|n| n.ends_with(".Envelope")) => s.clone(),
            _ => return Ok(Some(r)),
        };
        let envelope = match r.value.take() {
            Some(Value::Struct(values)) => values,
            other => {
                return Err(SmtError::new(format!(
                    "the envelope value is {}, not a struct",
                    other.as_ref().map_or("null", kind)
                )))
            }
        };
        let plan = self
            .plans
            .get_or_try(&envelope_schema, (), |s| settings.plan(s))?;
        for h in &plan.headers {
            if let Some(v) = h.loc.get(&envelope) {
                r.headers
                    .push((h.name.clone(), header_string(Some(h.schema.as_ref()), v)));
            }
        }
        let mut envelope = envelope;
        let mut take = |i: usize| {
            envelope
                .get_mut(i)
                .map(|v| std::mem::replace(v, Value::Null))
                .filter(|v| !v.is_null())
        };
        let (before, after) = (take(plan.before), take(plan.after));
        match (before, after) {
            // Truncate (or anything else without a row image).
            (None, None) => Ok(None),
            (Some(before), None) => {
                let before_schema = &envelope_schema.fields[plan.before].schema;
                settings.route(&mut r.topic, before_schema, &before)?;
                match settings.deletes {
                    Deletes::Drop => Ok(None),
                    Deletes::NullValue => {
                        r.value_schema = Some(plan.row.clone());
                        r.value = None;
                        Ok(Some(r))
                    }
                    Deletes::Tombstone => {
                        r.value_schema = None;
                        r.value = None;
                        Ok(Some(r))
                    }
                    Deletes::Rewrite => {
                        let v = settings.extend(plan, before_schema, before, &envelope, "true")?;
                        r.value_schema = Some(plan.before_out.clone());
                        r.value = Some(v);
                        drop_fields(settings, &mut self.dropped, &mut r);
                        Ok(Some(r))
                    }
                }
            }
            (_, Some(after)) => {
                let after_schema = &envelope_schema.fields[plan.after].schema;
                settings.route(&mut r.topic, after_schema, &after)?;
                let v = settings.extend(plan, after_schema, after, &envelope, "false")?;
                r.value_schema = Some(plan.after_out.clone());
                r.value = Some(v);
                drop_fields(settings, &mut self.dropped, &mut r);
                Ok(Some(r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_references_are_named_like_debezium() {
        let r = |s| FieldRef::parse("__", s).expect("valid");
        let op = r("op");
        assert_eq!(
            (op.parent.as_deref(), op.field.as_str(), op.name.as_str()),
            (None, "op", "__op")
        );
        let lsn = r("lsn");
        assert_eq!(
            (lsn.parent.as_deref(), lsn.name.as_str()),
            (Some("source"), "__lsn")
        );
        let ts = r("source.ts_ms");
        assert_eq!(
            (ts.parent.as_deref(), ts.name.as_str()),
            (Some("source"), "__source_ts_ms")
        );
        let renamed = r("source.ts_ms:EVENT_TIMESTAMP");
        assert_eq!(renamed.name, "__EVENT_TIMESTAMP");
        let tx = r("id");
        assert_eq!(tx.parent.as_deref(), Some("transaction"));
        assert!(FieldRef::parse("__", "a:b:c").is_err());
        assert_eq!(parse_header_list("[\"a\",\"b\"]"), vec!["a", "b"]);
    }
}
