//! Kafka Connect's field transforms, on the record key (`$Key`) or value (`$Value`):
//! `InsertField`, `ReplaceField`, `MaskField`, `ValueToKey`, `ExtractField`, `HoistField`,
//! `Flatten` and `SetSchemaMetadata`.
//!
//! ```text
//! input schema ──(once, cached)──> output schema + field plan (indices, masks, ...)
//! input struct ──(per record: move values by the plan)──> output struct
//! ```
//! As in Connect, a derived struct schema keeps the input's name, version, doc and parameters
//! but not its optionality (`SchemaUtil.copySchemaBasics`), and copied field values follow
//! `replace.null.with.default` (Connect's `Struct.get` returns a field's default for a null).

use std::sync::Arc;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{
    self, copy_struct_basics, decimal_bytes, field_value, kind, struct_values, Side, DATE, DECIMAL,
    TIME, TIMESTAMP,
};
use super::{Props, SmtError, Transform};

/// `Requirements.requireStruct` failing: what the transform needs and what it got.
fn need_struct(class: &str, side: Side, found: &str) -> SmtError {
    SmtError::new(format!(
        "{class} needs a struct {side} (with a schema) or a map (without one), found {found}",
        side = side.name()
    ))
}

/// A field to insert: `name`, `name?` (optional, the default) or `name!` (required).
#[derive(Debug, Clone)]
struct Insertion {
    name: String,
    optional: bool,
}

impl Insertion {
    fn parse(spec: Option<String>) -> Option<Insertion> {
        let spec = spec?;
        if let Some(name) = spec.strip_suffix('?') {
            return Some(Insertion {
                name: name.to_string(),
                optional: true,
            });
        }
        if let Some(name) = spec.strip_suffix('!') {
            return Some(Insertion {
                name: name.to_string(),
                optional: false,
            });
        }
        Some(Insertion {
            name: spec,
            optional: true,
        })
    }
}

/// `InsertField$Key` / `InsertField$Value`.
pub(crate) fn insert_field(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    if p.get("offset.field").is_some() {
        let key = p.key("offset.field");
        p.error(
            "offset.field",
            format!("{key} applies to sink connectors only: records of a source connector have no Kafka offset; remove it"),
        );
        return None;
    }
    Some(Box::new(InsertField {
        side,
        inserts: Inserts {
            topic: Insertion::parse(p.non_blank("topic.field")),
            partition: Insertion::parse(p.non_blank("partition.field")),
            timestamp: Insertion::parse(p.non_blank("timestamp.field")),
            static_field: Insertion::parse(p.non_blank("static.field")),
            static_value: p.get("static.value").map(str::to_string),
        },
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct InsertField {
    side: Side,
    inserts: Inserts,
    replace_null: bool,
    cache: SchemaCache<Arc<Schema>>,
}

/// What `InsertField` adds.
struct Inserts {
    topic: Option<Insertion>,
    partition: Option<Insertion>,
    timestamp: Option<Insertion>,
    static_field: Option<Insertion>,
    static_value: Option<String>,
}

impl Inserts {
    fn updated_schema(&self, schema: &Schema) -> Schema {
        let mut out = copy_struct_basics(schema);
        out.fields = schema.fields.clone();
        let opt = |ty: SchemaType, i: &Insertion| Schema::new(ty).optional(i.optional);
        if let Some(i) = &self.topic {
            out.fields
                .push(Field::new(i.name.clone(), opt(SchemaType::String, i)));
        }
        if let Some(i) = &self.partition {
            out.fields
                .push(Field::new(i.name.clone(), opt(SchemaType::Int32, i)));
        }
        if let Some(i) = &self.timestamp {
            let ts = opt(SchemaType::Int64, i).named(TIMESTAMP).version(1);
            out.fields.push(Field::new(i.name.clone(), ts));
        }
        if let Some(i) = &self.static_field {
            out.fields
                .push(Field::new(i.name.clone(), opt(SchemaType::String, i)));
        }
        out
    }

    /// The inserted `(name, value)` pairs for this record, in schema order.
    fn inserted(&self, r: &Record) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some(i) = &self.topic {
            out.push((i.name.clone(), Value::String(r.topic.to_string())));
        }
        if let Some(i) = &self.partition {
            // A source record has no partition until the producer assigns one.
            out.push((i.name.clone(), Value::Null));
        }
        if let Some(i) = &self.timestamp {
            out.push((
                i.name.clone(),
                r.timestamp_ms.map_or(Value::Null, Value::Int64),
            ));
        }
        if let Some(i) = &self.static_field {
            let v = self
                .static_value
                .as_ref()
                .map_or(Value::Null, |s| Value::String(s.clone()));
            out.push((i.name.clone(), v));
        }
        out
    }
}

impl Transform for InsertField {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if self.side.value(&r).is_none() {
            return Ok(Some(r));
        }
        let inserted = self.inserts.inserted(&r);
        let (schema, value) = self.side.take(&mut r);
        let Some(value) = value else {
            return Ok(Some(r));
        };
        match schema {
            None => {
                let Value::Map(mut entries) = value else {
                    return Err(need_struct("InsertField", self.side, kind(&value)));
                };
                for (name, v) in inserted {
                    // Connect puts into a HashMap: a missing value is not inserted.
                    if v.is_null() {
                        continue;
                    }
                    map_put(&mut entries, name, v);
                }
                self.side.set(&mut r, None, Some(Value::Map(entries)));
            }
            Some(schema) => {
                if schema.ty != SchemaType::Struct {
                    return Err(need_struct(
                        "InsertField",
                        self.side,
                        &data::describe(&schema),
                    ));
                }
                let updated = self
                    .cache
                    .get_or_try(&schema, (), |s| {
                        Ok::<_, SmtError>(Arc::new(self.inserts.updated_schema(s)))
                    })?
                    .clone();
                let values = struct_values(value, &schema).map_err(SmtError)?;
                let mut out: Vec<Value> = values
                    .into_iter()
                    .zip(&schema.fields)
                    .map(|(v, f)| field_value(v, &f.schema, self.replace_null))
                    .collect();
                out.extend(inserted.into_iter().map(|(_, v)| v));
                self.side
                    .set(&mut r, Some(updated), Some(Value::Struct(out)));
            }
        }
        Ok(Some(r))
    }
}

/// Sets `name` in a schemaless map, replacing an existing entry.
fn map_put(entries: &mut Vec<(Value, Value)>, name: String, v: Value) {
    match entries
        .iter_mut()
        .find(|(k, _)| matches!(k, Value::String(s) if *s == name))
    {
        Some(entry) => entry.1 = v,
        None => entries.push((Value::String(name), v)),
    }
}

/// `ReplaceField$Key` / `ReplaceField$Value`.
pub(crate) fn replace_field(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    // The old names apply only when the new ones are not set (ConfigUtils.translateDeprecatedConfigs).
    let exclude = if p.is_set("exclude") || !p.is_set("blacklist") {
        p.list("exclude")
    } else {
        p.list("blacklist")
    };
    let include = if p.is_set("include") || !p.is_set("whitelist") {
        p.list("include")
    } else {
        p.list("whitelist")
    };
    let mut renames = Vec::new();
    for pair in p.list("renames") {
        match pair.split(':').collect::<Vec<_>>().as_slice() {
            [from, to] if !from.is_empty() && !to.is_empty() => {
                renames.push((from.to_string(), to.to_string()))
            }
            _ => {
                let key = p.key("renames");
                p.error(
                    "renames",
                    format!("invalid rename mapping \"{pair}\" in {key}: expected old:new pairs separated by commas"),
                );
                return None;
            }
        }
    }
    Some(Box::new(ReplaceField {
        side,
        selection: Selection {
            exclude,
            include,
            renames,
        },
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct ReplaceField {
    side: Side,
    selection: Selection,
    replace_null: bool,
    /// The output schema and, per output field, the input field index.
    cache: SchemaCache<(Arc<Schema>, Vec<usize>)>,
}

/// Which fields `ReplaceField` keeps and how it names them.
struct Selection {
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
}

impl Selection {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'n>(&'n self, name: &'n str) -> &'n str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
    }
}

impl Transform for ReplaceField {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if self.side.value(&r).is_none() {
            return Ok(Some(r));
        }
        let (schema, value) = self.side.take(&mut r);
        let Some(value) = value else {
            return Ok(Some(r));
        };
        match schema {
            None => {
                let Value::Map(entries) = value else {
                    return Err(need_struct("ReplaceField", self.side, kind(&value)));
                };
                let out = entries
                    .into_iter()
                    .filter_map(|(k, v)| match k {
                        Value::String(name) if self.selection.keep(&name) => {
                            Some((Value::String(self.selection.renamed(&name).to_string()), v))
                        }
                        Value::String(_) => None,
                        other => Some((other, v)),
                    })
                    .collect();
                self.side.set(&mut r, None, Some(Value::Map(out)));
            }
            Some(schema) => {
                if schema.ty != SchemaType::Struct {
                    return Err(need_struct(
                        "ReplaceField",
                        self.side,
                        &data::describe(&schema),
                    ));
                }
                let this = &self.selection;
                let plan = self.cache.get_or_try(&schema, (), |s| {
                    let mut out = copy_struct_basics(s);
                    let mut picks = Vec::new();
                    for (i, f) in s.fields.iter().enumerate() {
                        if this.keep(&f.name) {
                            let name = this.renamed(&f.name).to_string();
                            if out.field_index(&name).is_some() {
                                return Err(SmtError::new(format!(
                                    "renaming gives two fields called {name}"
                                )));
                            }
                            out.fields.push(Field {
                                name,
                                schema: f.schema.clone(),
                            });
                            picks.push(i);
                        }
                    }
                    Ok((Arc::new(out), picks))
                });
                let (updated, picks) = match plan {
                    Ok((s, p)) => (s.clone(), p.clone()),
                    Err(e) => return Err(e),
                };
                let mut values = struct_values(value, &schema).map_err(SmtError)?;
                let out = picks
                    .iter()
                    .map(|&i| {
                        let v = std::mem::replace(&mut values[i], Value::Null);
                        field_value(v, &schema.fields[i].schema, self.replace_null)
                    })
                    .collect();
                self.side
                    .set(&mut r, Some(updated), Some(Value::Struct(out)));
            }
        }
        Ok(Some(r))
    }
}

/// `MaskField$Key` / `MaskField$Value`.
pub(crate) fn mask_field(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let replacement = p.get("replacement").map(str::to_string);
    if replacement.as_deref() == Some("") {
        let key = p.key("replacement");
        p.error(
            "replacement",
            format!(
                "{key} must not be empty: leave it unset to mask with the empty value of each type"
            ),
        );
        return None;
    }
    Some(Box::new(MaskField {
        side,
        fields: p.list("fields"),
        replacement,
        cache: SchemaCache::default(),
    }))
}

struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    /// Per masked field of a schema: its index and the mask (or why it cannot be masked).
    cache: SchemaCache<Vec<(usize, Result<Value, String>)>>,
}

/// The value a field of `schema` is masked with.
fn mask_for(schema: &Schema, replacement: Option<&str>, field: &str) -> Result<Value, String> {
    let logical = schema.name.as_deref();
    let Some(text) = replacement else {
        return Ok(match (schema.ty, logical) {
            (SchemaType::Bytes, Some(DECIMAL)) => Value::Bytes(decimal_bytes(0)),
            (SchemaType::Int32, Some(DATE | TIME)) | (SchemaType::Int32, _) => Value::Int32(0),
            (SchemaType::Int64, _) => Value::Int64(0),
            (SchemaType::Boolean, _) => Value::Boolean(false),
            (SchemaType::Int8, _) => Value::Int8(0),
            (SchemaType::Int16, _) => Value::Int16(0),
            (SchemaType::Float32, _) => Value::Float32(0.0),
            (SchemaType::Float64, _) => Value::Float64(0.0),
            (SchemaType::String, _) => Value::String(String::new()),
            (SchemaType::Array, _) => Value::Array(Vec::new()),
            (SchemaType::Map, _) => Value::Map(Vec::new()),
            (SchemaType::Bytes | SchemaType::Struct, _) => {
                return Err(format!(
                    "field {field} of type {} cannot be masked",
                    data::describe(schema)
                ))
            }
        });
    };
    let bad = |ty: &str| format!("the replacement for field {field} is not a valid {ty}");
    let t = text.trim();
    Ok(match (schema.ty, logical) {
        (SchemaType::Bytes, Some(DECIMAL)) => {
            let scale: u32 = schema
                .parameter("scale")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let unscaled = parse_decimal(t, scale).ok_or_else(|| bad("decimal"))?;
            Value::Bytes(decimal_bytes(unscaled))
        }
        (_, Some(DATE | TIME | TIMESTAMP)) => {
            return Err(format!(
                "field {field} of type {} cannot be masked with a replacement",
                data::describe(schema)
            ))
        }
        (SchemaType::Int8, _) => Value::Int8(t.parse().map_err(|_| bad("int8"))?),
        (SchemaType::Int16, _) => Value::Int16(t.parse().map_err(|_| bad("int16"))?),
        (SchemaType::Int32, _) => Value::Int32(t.parse().map_err(|_| bad("int32"))?),
        (SchemaType::Int64, _) => Value::Int64(t.parse().map_err(|_| bad("int64"))?),
        (SchemaType::Float32, _) => Value::Float32(t.parse().map_err(|_| bad("float32"))?),
        (SchemaType::Float64, _) => Value::Float64(t.parse().map_err(|_| bad("float64"))?),
        (SchemaType::String, _) => Value::String(text.to_string()),
        _ => {
            return Err(format!(
                "field {field} of type {} cannot be masked with a replacement",
                data::describe(schema)
            ))
        }
    })
}

/// `text` as an unscaled value at `scale` (`new BigDecimal(text)` rescaled).
pub(crate) fn parse_decimal(text: &str, scale: u32) -> Option<i128> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = scale as usize;
    let mut digits = String::from(int);
    let frac_taken: String = frac
        .chars()
        .chain(std::iter::repeat('0'))
        .take(scale)
        .collect();
    // Digits beyond the scale would need rounding; Connect rejects them too (ArithmeticException).
    if frac.len() > scale && frac[scale..].bytes().any(|b| b != b'0') {
        return None;
    }
    digits.push_str(&frac_taken);
    let v: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

impl Transform for MaskField {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if self.side.value(&r).is_none() {
            return Ok(Some(r));
        }
        let (schema, value) = self.side.take(&mut r);
        let Some(value) = value else {
            return Ok(Some(r));
        };
        match schema {
            None => {
                let Value::Map(mut entries) = value else {
                    return Err(need_struct("MaskField", self.side, kind(&value)));
                };
                for (k, v) in &mut entries {
                    let Value::String(name) = k else { continue };
                    if !self.fields.contains(name) || v.is_null() {
                        continue;
                    }
                    *v = mask_schemaless(v, self.replacement.as_deref(), name).map_err(SmtError)?;
                }
                self.side.set(&mut r, None, Some(Value::Map(entries)));
            }
            Some(schema) => {
                if schema.ty != SchemaType::Struct {
                    return Err(need_struct(
                        "MaskField",
                        self.side,
                        &data::describe(&schema),
                    ));
                }
                let (fields, replacement) = (&self.fields, self.replacement.as_deref());
                let masks = self.cache.get_or_try(&schema, (), |s| {
                    Ok::<_, SmtError>(
                        s.fields
                            .iter()
                            .enumerate()
                            .filter(|(_, f)| fields.contains(&f.name))
                            .map(|(i, f)| (i, mask_for(&f.schema, replacement, &f.name)))
                            .collect(),
                    )
                })?;
                let mut values = struct_values(value, &schema).map_err(SmtError)?;
                for (i, mask) in masks {
                    if values[*i].is_null() {
                        continue;
                    }
                    values[*i] = mask.clone().map_err(SmtError)?;
                }
                self.side
                    .set(&mut r, Some(schema), Some(Value::Struct(values)));
            }
        }
        Ok(Some(r))
    }
}

/// The mask of a schemaless value, by the value's own type.
fn mask_schemaless(v: &Value, replacement: Option<&str>, field: &str) -> Result<Value, String> {
    let ty = match v {
        Value::Boolean(_) => SchemaType::Boolean,
        Value::Int8(_) => SchemaType::Int8,
        Value::Int16(_) => SchemaType::Int16,
        Value::Int32(_) => SchemaType::Int32,
        Value::Int64(_) => SchemaType::Int64,
        Value::Float32(_) => SchemaType::Float32,
        Value::Float64(_) => SchemaType::Float64,
        Value::String(_) => SchemaType::String,
        Value::Array(_) => SchemaType::Array,
        Value::Map(_) => SchemaType::Map,
        Value::Bytes(_) | Value::Struct(_) | Value::Null => SchemaType::Struct,
    };
    mask_for(&Schema::new(ty), replacement, field)
}

/// `ValueToKey`.
pub(crate) fn value_to_key(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(ValueToKey {
        fields: p.list("fields"),
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct ValueToKey {
    fields: Vec<String>,
    replace_null: bool,
    /// The key schema and the value field index of each key field.
    cache: SchemaCache<(Arc<Schema>, Vec<usize>)>,
}

impl Transform for ValueToKey {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let Some(value) = r.value.as_ref().filter(|v| !v.is_null()) else {
            return Err(SmtError::new(
                "ValueToKey needs a struct value, found null (a tombstone?): apply it with a \
                 RecordIsTombstone predicate and negate=true to pass tombstones through",
            ));
        };
        match &r.value_schema {
            None => {
                let Value::Map(entries) = value else {
                    return Err(need_struct("ValueToKey", Side::Value, kind(value)));
                };
                let key = self
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            Value::String(f.clone()),
                            data::map_get(entries, f).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                r.key_schema = None;
                r.key = Some(Value::Map(key));
            }
            Some(schema) => {
                if schema.ty != SchemaType::Struct {
                    return Err(need_struct(
                        "ValueToKey",
                        Side::Value,
                        &data::describe(schema),
                    ));
                }
                let fields = &self.fields;
                let (key_schema, picks) = self.cache.get_or_try(schema, (), |s| {
                    let mut key_fields = Vec::new();
                    let mut picks = Vec::new();
                    for name in fields {
                        let i = s.field_index(name).ok_or_else(|| {
                            SmtError::new(format!(
                                "field {name} does not exist in the value schema"
                            ))
                        })?;
                        key_fields.push(s.fields[i].clone());
                        picks.push(i);
                    }
                    Ok::<_, SmtError>((Arc::new(Schema::structure(key_fields)), picks))
                })?;
                let Value::Struct(values) = value else {
                    return Err(need_struct("ValueToKey", Side::Value, kind(value)));
                };
                let key = picks
                    .iter()
                    .map(|&i| {
                        let v = values.get(i).cloned().unwrap_or(Value::Null);
                        field_value(v, &schema.fields[i].schema, self.replace_null)
                    })
                    .collect();
                r.key_schema = Some(key_schema.clone());
                r.key = Some(Value::Struct(key));
            }
        }
        Ok(Some(r))
    }
}

/// Splits a `field.syntax.version=V2` path: dots separate steps; a step in backticks may
/// contain dots, and `` \` `` is a literal backtick inside it (KIP-821).
pub(crate) fn field_path_v2(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            let start = i;
            while i < chars.len() && chars[i] != '.' {
                i += 1;
            }
            steps.push(chars[start..i].iter().collect());
            i += 1;
            continue;
        }
        let open = i;
        i += 1;
        let mut field = String::new();
        loop {
            let Some(close) = (i..chars.len()).find(|&j| chars[j] == '`') else {
                return Err(format!(
                    "incomplete backtick pair in path {path}: escape the backtick at position {open} with a backslash"
                ));
            };
            let escaped = chars[close - 1] == '\\';
            if close == chars.len() - 1 {
                if escaped {
                    return Err(format!(
                        "incomplete backtick pair in path {path}: escape the backtick at position {open} with a backslash"
                    ));
                }
                field.extend(&chars[i..close]);
                steps.push(std::mem::take(&mut field));
                i = close + 1;
                break;
            }
            if chars[close + 1] != '.' {
                field.extend(&chars[i..=close]);
                i = close + 1;
                continue;
            }
            if escaped {
                field.extend(&chars[i..close - 1]);
                field.push('`');
                i = close + 1;
                continue;
            }
            field.extend(&chars[i..close]);
            steps.push(std::mem::take(&mut field));
            i = close + 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

/// `ExtractField$Key` / `ExtractField$Value`.
pub(crate) fn extract_field(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let field = p.string("field");
    let v2 = p
        .get("field.syntax.version")
        .is_some_and(|v| v.eq_ignore_ascii_case("V2"));
    let path = if v2 {
        match field_path_v2(&field) {
            Ok(steps) => steps,
            Err(e) => {
                p.error("field", e);
                return None;
            }
        }
    } else {
        vec![field.clone()]
    };
    Some(Box::new(ExtractField {
        side,
        original: field,
        path,
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct ExtractField {
    side: Side,
    original: String,
    path: Vec<String>,
    replace_null: bool,
    /// The extracted field's schema and the index path to it.
    cache: SchemaCache<(Arc<Schema>, Vec<usize>)>,
}

impl Transform for ExtractField {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let (schema, value) = self.side.take(&mut r);
        match schema {
            None => {
                let extracted = match value {
                    None => None,
                    Some(Value::Map(entries)) => Some(map_path(entries, &self.path)),
                    Some(other) => {
                        return Err(need_struct("ExtractField", self.side, kind(&other)))
                    }
                };
                self.side.set(&mut r, None, extracted);
            }
            Some(schema) => {
                if schema.ty != SchemaType::Struct {
                    return Err(need_struct(
                        "ExtractField",
                        self.side,
                        &data::describe(&schema),
                    ));
                }
                let (path, original) = (&self.path, &self.original);
                let (field_schema, indices) = self.cache.get_or_try(&schema, (), |s| {
                    let mut current: &Arc<Schema> = s;
                    let mut indices = Vec::new();
                    for step in path {
                        let i = current
                            .field_index(step)
                            .filter(|_| current.ty == SchemaType::Struct);
                        let Some(i) = i else {
                            return Err(SmtError::new(format!(
                                "unknown field {original} in the {} schema",
                                self.side.name()
                            )));
                        };
                        indices.push(i);
                        current = &current.fields[i].schema;
                    }
                    Ok((current.clone(), indices))
                })?;
                let mut current_schema: &Schema = &schema;
                let mut current = value.unwrap_or(Value::Null);
                for &i in indices {
                    current = match current {
                        Value::Struct(mut values) if i < values.len() => {
                            let f = &current_schema.fields[i];
                            let v = std::mem::replace(&mut values[i], Value::Null);
                            current_schema = f.schema.as_ref();
                            field_value(v, &f.schema, self.replace_null)
                        }
                        Value::Null => Value::Null,
                        other => {
                            return Err(SmtError::new(format!(
                                "field {} is not a struct along the path, found {}",
                                self.original,
                                kind(&other)
                            )))
                        }
                    };
                }
                let extracted = Some(current).filter(|v| !v.is_null());
                let field_schema = field_schema.clone();
                self.side.set(&mut r, Some(field_schema), extracted);
            }
        }
        Ok(Some(r))
    }
}

fn map_path(entries: Vec<(Value, Value)>, path: &[String]) -> Value {
    let mut current = Value::Map(entries);
    for step in path {
        current = match current {
            Value::Map(entries) => entries
                .into_iter()
                .find_map(|(k, v)| matches!(&k, Value::String(s) if s == step).then_some(v))
                .unwrap_or(Value::Null),
            _ => return Value::Null,
        };
    }
    current
}

/// `HoistField$Key` / `HoistField$Value`.
pub(crate) fn hoist_field(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(HoistField {
        side,
        field: p.string("field"),
        cache: SchemaCache::default(),
    }))
}

struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache<Arc<Schema>>,
}

impl Transform for HoistField {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let (schema, value) = self.side.take(&mut r);
        match schema {
            None => {
                let entries = vec![(
                    Value::String(self.field.clone()),
                    value.unwrap_or(Value::Null),
                )];
                self.side.set(&mut r, None, Some(Value::Map(entries)));
            }
            Some(schema) => {
                if value.is_none() && !schema.optional {
                    return Err(SmtError::new(format!(
                        "null {} for a required schema cannot be hoisted into field {}",
                        self.side.name(),
                        self.field
                    )));
                }
                let name = &self.field;
                let updated = self
                    .cache
                    .get_or_try(&schema, (), |s| {
                        Ok::<_, SmtError>(Arc::new(Schema::structure(vec![Field {
                            name: name.clone(),
                            schema: s.clone(),
                        }])))
                    })?
                    .clone();
                let v = Value::Struct(vec![value.unwrap_or(Value::Null)]);
                self.side.set(&mut r, Some(updated), Some(v));
            }
        }
        Ok(Some(r))
    }
}

/// `Flatten$Key` / `Flatten$Value`.
pub(crate) fn flatten(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(Flatten {
        side,
        delimiter: p.string("delimiter"),
        cache: SchemaCache::default(),
    }))
}

struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache<Arc<Schema>>,
}

/// Flattened field names.
struct Delimiter<'d>(&'d str);

impl Delimiter<'_> {
    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.0)
        }
    }

    /// Adds the leaves of `schema` to `out` (Connect's `buildUpdatedSchema`).
    fn add_fields(
        &self,
        schema: &Schema,
        prefix: &str,
        optional: bool,
        parent_default: Option<&Value>,
        out: &mut Schema,
    ) -> Result<(), SmtError> {
        for (i, f) in schema.fields.iter().enumerate() {
            let name = self.name(prefix, &f.name);
            let field_optional = optional || f.schema.optional;
            let default = f.schema.default.clone().or_else(|| match parent_default {
                Some(Value::Struct(values)) => values.get(i).cloned().filter(|v| !v.is_null()),
                _ => None,
            });
            if f.schema.ty == SchemaType::Struct {
                self.add_fields(&f.schema, &name, field_optional, default.as_ref(), out)?;
                continue;
            }
            if out.field_index(&name).is_some() {
                return Err(SmtError::new(format!(
                    "flattening gives two fields called {name}: choose another delimiter"
                )));
            }
            let mut leaf = Schema {
                optional: field_optional,
                default,
                ..(*f.schema).clone()
            };
            if leaf.ty != SchemaType::Array && leaf.ty != SchemaType::Map {
                leaf.items = None;
                leaf.keys = None;
            }
            out.fields.push(Field {
                name,
                schema: Arc::new(leaf),
            });
        }
        Ok(())
    }
}

/// Appends the leaf values of a struct of `schema` (all null when the struct is null).
fn flatten_values(schema: &Schema, value: Value, out: &mut Vec<Value>) {
    let values = match value {
        Value::Struct(values) => values,
        _ => Vec::new(),
    };
    let mut values = values.into_iter();
    for f in &schema.fields {
        let v = values.next().unwrap_or(Value::Null);
        if f.schema.ty == SchemaType::Struct {
            flatten_values(&f.schema, v, out);
        } else {
            out.push(field_value(v, &f.schema, true));
        }
    }
}

fn flatten_map(
    delimiter: &str,
    prefix: &str,
    entries: Vec<(Value, Value)>,
    out: &mut Vec<(Value, Value)>,
) {
    for (k, v) in entries {
        let key = match &k {
            Value::String(s) => s.clone(),
            _ => continue,
        };
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}{delimiter}{key}")
        };
        match v {
            Value::Map(inner) => flatten_map(delimiter, &name, inner, out),
            other => out.push((Value::String(name), other)),
        }
    }
}

impl Transform for Flatten {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if self.side.value(&r).is_none() {
            return Ok(Some(r));
        }
        let (schema, value) = self.side.take(&mut r);
        let Some(value) = value else {
            return Ok(Some(r));
        };
        match schema {
            None => {
                let Value::Map(entries) = value else {
                    return Err(need_struct("Flatten", self.side, kind(&value)));
                };
                let mut out = Vec::new();
                flatten_map(&self.delimiter, "", entries, &mut out);
                self.side.set(&mut r, None, Some(Value::Map(out)));
            }
            Some(schema) => {
                if schema.ty != SchemaType::Struct {
                    return Err(need_struct("Flatten", self.side, &data::describe(&schema)));
                }
                let this = Delimiter(&self.delimiter);
                let updated = match self.cache.get_or_try(&schema, (), |s| {
                    let mut out = copy_struct_basics(s);
                    this.add_fields(s, "", s.optional, s.default.as_ref(), &mut out)?;
                    Ok::<_, SmtError>(Arc::new(out))
                }) {
                    Ok(s) => s.clone(),
                    Err(e) => return Err(e),
                };
                let mut out = Vec::with_capacity(updated.fields.len());
                flatten_values(&schema, value, &mut out);
                self.side
                    .set(&mut r, Some(updated), Some(Value::Struct(out)));
            }
        }
        Ok(Some(r))
    }
}

/// `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`.
pub(crate) fn set_schema_metadata(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let name = p.non_blank("schema.name");
    let version = p.int("schema.version");
    if name.is_none() && version.is_none() {
        let (n, v) = (p.key("schema.name"), p.key("schema.version"));
        p.error(
            "schema.name",
            format!("neither {n} nor {v} is set: set at least one"),
        );
        return None;
    }
    Some(Box::new(SetSchemaMetadata {
        side,
        name,
        version,
        cache: SchemaCache::default(),
    }))
}

struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    cache: SchemaCache<Arc<Schema>>,
}

impl Transform for SetSchemaMetadata {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let Some(schema) = self.side.schema(&r) else {
            return Err(SmtError::new(format!(
                "SetSchemaMetadata needs a {side} schema, and this record has none (a tombstone?): \
                 apply it with a RecordIsTombstone predicate and negate=true to pass tombstones through",
                side = self.side.name()
            )));
        };
        let (name, version) = (&self.name, self.version);
        let updated = self
            .cache
            .get_or_try(schema, (), |s| {
                let mut out = (**s).clone();
                if let Some(n) = name {
                    out.name = Some(n.clone());
                }
                if let Some(v) = version {
                    out.version = Some(v);
                }
                Ok::<_, SmtError>(Arc::new(out))
            })?
            .clone();
        match self.side {
            Side::Key => r.key_schema = Some(updated),
            Side::Value => r.value_schema = Some(updated),
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_paths() {
        assert_eq!(
            field_path_v2("a.b.c"),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(field_path_v2("`a.b`.c"), Ok(vec!["a.b".into(), "c".into()]));
        assert_eq!(field_path_v2("a.`b.c`"), Ok(vec!["a".into(), "b.c".into()]));
        assert_eq!(
            field_path_v2("`a\\`.b`.c"),
            Ok(vec!["a`.b".into(), "c".into()])
        );
        assert_eq!(field_path_v2("a."), Ok(vec!["a".into(), "".into()]));
        assert!(field_path_v2("`a.b").is_err());
    }

    #[test]
    fn decimal_text() {
        assert_eq!(parse_decimal("1.5", 2), Some(150));
        assert_eq!(parse_decimal("-0.01", 2), Some(-1));
        assert_eq!(parse_decimal("3", 0), Some(3));
        assert_eq!(parse_decimal("1.234", 2), None);
        assert_eq!(parse_decimal("x", 2), None);
    }
}
