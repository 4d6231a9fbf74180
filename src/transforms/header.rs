//! Kafka Connect's header transforms: `HeaderFrom$Key` / `HeaderFrom$Value` (fields moved or
//! copied into headers), `InsertHeader` and `DropHeaders`.
//!
//! [`Record`] headers are text, as Kafka's default `SimpleHeaderConverter` writes them: a field
//! value becomes a header through [`header_string`] (`Values.convertToString`), so what reaches
//! Kafka is the same bytes Connect would send.

use std::sync::Arc;

use crate::connect::{Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{self, copy_struct_basics, field_value, header_string, kind, map_get, Side};
use super::{Props, SmtError, Transform};

/// `HeaderFrom$Key` / `HeaderFrom$Value`.
pub(crate) fn header_from(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let fields = p.list("fields");
    let headers = p.list("headers");
    if fields.len() != headers.len() {
        let (f, h) = (p.key("fields"), p.key("headers"));
        p.error(
            "headers",
            format!("{h} must name as many headers as {f} names fields"),
        );
        return None;
    }
    Some(Box::new(HeaderFrom {
        side,
        pairs: fields.into_iter().zip(headers).collect(),
        moving: p.get("operation") == Some("move"),
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct HeaderFrom {
    side: Side,
    /// (field, header) in configuration order.
    pairs: Vec<(String, String)>,
    moving: bool,
    replace_null: bool,
    /// Per schema: each pair's field index, and (for `move`) the schema without them and the
    /// indices of the fields it keeps.
    cache: SchemaCache<(Vec<usize>, Option<Moved>)>,
}

/// The schema left after `move`, and the input index of each field it keeps.
type Moved = (Arc<Schema>, Vec<usize>);

impl Transform for HeaderFrom {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let operation = if self.moving { "move" } else { "copy" };
        let (schema, value) = self.side.take(&mut r);
        match schema {
            None => {
                let Some(Value::Map(entries)) = value else {
                    return Err(SmtError::new(format!(
                        "HeaderFrom ({operation}) needs a map {} without a schema, found {}",
                        self.side.name(),
                        value.as_ref().map_or("null", kind)
                    )));
                };
                for (field, header) in &self.pairs {
                    let v = map_get(&entries, field).cloned().unwrap_or(Value::Null);
                    r.headers.push((header.clone(), header_string(None, &v)));
                }
                let entries = if self.moving {
                    entries
                        .into_iter()
                        .filter(|(k, _)| {
                            !matches!(k, Value::String(s) if self.pairs.iter().any(|(f, _)| f == s))
                        })
                        .collect()
                } else {
                    entries
                };
                self.side.set(&mut r, None, Some(Value::Map(entries)));
            }
            Some(schema) => {
                let Some(value) = value else {
                    return Err(SmtError::new(format!(
                        "HeaderFrom ({operation}) needs a struct {}, found null",
                        self.side.name()
                    )));
                };
                if schema.ty != SchemaType::Struct {
                    return Err(SmtError::new(format!(
                        "HeaderFrom needs a struct {}, found {}",
                        self.side.name(),
                        data::describe(&schema)
                    )));
                }
                let (pairs, moving) = (&self.pairs, self.moving);
                let (indices, moved) = self.cache.get_or_try(&schema, (), |s| {
                    let mut indices = Vec::new();
                    for (field, _) in pairs {
                        indices.push(s.field_index(field).ok_or_else(|| {
                            SmtError::new(format!("field {field} does not exist in the schema"))
                        })?);
                    }
                    let moved = moving.then(|| {
                        let mut out = copy_struct_basics(s);
                        let mut keep = Vec::new();
                        for (i, f) in s.fields.iter().enumerate() {
                            if !indices.contains(&i) {
                                out.fields.push(f.clone());
                                keep.push(i);
                            }
                        }
                        (Arc::new(out), keep)
                    });
                    Ok::<_, SmtError>((indices, moved))
                })?;
                let Value::Struct(mut values) = value else {
                    return Err(SmtError::new(format!(
                        "HeaderFrom needs a struct {}, found {}",
                        self.side.name(),
                        kind(&value)
                    )));
                };
                values.resize(schema.fields.len(), Value::Null);
                for ((_, header), &i) in self.pairs.iter().zip(indices.iter()) {
                    let f = &schema.fields[i];
                    let v = field_value(values[i].clone(), &f.schema, self.replace_null);
                    r.headers
                        .push((header.clone(), header_string(Some(f.schema.as_ref()), &v)));
                }
                match moved {
                    None => self
                        .side
                        .set(&mut r, Some(schema), Some(Value::Struct(values))),
                    Some((moved_schema, keep)) => {
                        let out = keep
                            .iter()
                            .map(|&i| {
                                let v = std::mem::replace(&mut values[i], Value::Null);
                                field_value(v, &schema.fields[i].schema, self.replace_null)
                            })
                            .collect();
                        let moved_schema = moved_schema.clone();
                        self.side
                            .set(&mut r, Some(moved_schema), Some(Value::Struct(out)));
                    }
                }
            }
        }
        Ok(Some(r))
    }
}

/// `InsertHeader`.
pub(crate) fn insert_header(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(InsertHeader {
        header: p.string("header"),
        value: p.string("value.literal"),
    }))
}

struct InsertHeader {
    header: String,
    value: String,
}

impl Transform for InsertHeader {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        r.headers
            .push((self.header.clone(), Some(self.value.clone())));
        Ok(Some(r))
    }
}

/// `DropHeaders`.
pub(crate) fn drop_headers(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(DropHeaders {
        headers: p.list("headers"),
    }))
}

struct DropHeaders {
    headers: Vec<String>,
}

impl Transform for DropHeaders {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        r.headers.retain(|(name, _)| !self.headers.contains(name));
        Ok(Some(r))
    }
}
