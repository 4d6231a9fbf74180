//! `org.apache.kafka.connect.json.JsonConverter`, byte for byte.
//!
//! With `schemas.enable=true` a value becomes `{"schema":<schema>,"payload":<payload>}`, else the
//! payload alone. The schema part is the same for every record of a table, so it is rendered once
//! per `Arc<Schema>` and cached; the payload is written straight into the output buffer.
//! Number and string rendering follows Jackson as Kafka configures it: doubles and floats as Java's
//! `Double.toString`/`Float.toString`, non-finite numbers quoted, non-ASCII text as raw UTF-8.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use base64::Engine as _;

use super::{ConvertError, Converter};
use crate::connect::{Schema, SchemaType, Value};

/// The JSON converter. Cheap to create; holds a cache of what is rendered once per schema.
pub struct JsonConverter {
    schemas_enable: bool,
    /// Per-schema renderings, keyed by the schema's address; the `Arc` inside keeps the
    /// address from being reused while the entry lives.
    schema_cache: HashMap<usize, CachedSchema>,
    /// What [`Converter::convert_refilled`] rendered of the kept fields, for the next call.
    refilled: Option<Refilled>,
}

/// The rendered kept fields of the last refilled record.
struct Refilled {
    /// The schema, compared by address (held so that the address is not reused).
    schema: Arc<Schema>,
    kept: Vec<usize>,
    /// Per top-level field: its rendered value when it is kept.
    fields: Vec<Option<Box<[u8]>>>,
}

/// What a schema contributes to every record that uses it, rendered once.
struct CachedSchema {
    _schema: Arc<Schema>,
    /// The schema as JSON (written with `schemas.enable=true`).
    json: Box<[u8]>,
    /// The field-name prefixes of a struct schema (`None` for other schemas).
    names: Option<FieldNames>,
}

/// The field names of a struct schema as they open each field of its payload (`"id":`, then
/// `,"name":` with the separator), and the same for fields that are structs themselves: a
/// payload then costs one copy per field name instead of escaping it per field per record.
struct FieldNames {
    prefixes: Vec<Box<[u8]>>,
    /// Per field: its own names when the field is a struct.
    nested: Vec<Option<FieldNames>>,
}

impl FieldNames {
    fn of(schema: &Schema) -> Option<FieldNames> {
        if schema.ty != SchemaType::Struct {
            return None;
        }
        let mut prefixes = Vec::with_capacity(schema.fields.len());
        let mut nested = Vec::with_capacity(schema.fields.len());
        for (i, f) in schema.fields.iter().enumerate() {
            let mut p = Vec::with_capacity(f.name.len() + 4);
            if i > 0 {
                p.push(b',');
            }
            write_str(&mut p, &f.name);
            p.push(b':');
            prefixes.push(p.into_boxed_slice());
            nested.push(FieldNames::of(&f.schema));
        }
        Some(FieldNames { prefixes, nested })
    }
}

/// Schemas kept rendered at most; past it the cache starts over (schemas are per table and
/// per schema change, so this only trips on heavy DDL churn).
const SCHEMA_CACHE_MAX: usize = 4096;

impl JsonConverter {
    pub fn new(schemas_enable: bool) -> JsonConverter {
        JsonConverter {
            schemas_enable,
            schema_cache: HashMap::new(),
            refilled: None,
        }
    }

    fn cached(&mut self, schema: &Arc<Schema>) -> &CachedSchema {
        let key = Arc::as_ptr(schema) as usize;
        if self.schema_cache.len() >= SCHEMA_CACHE_MAX && !self.schema_cache.contains_key(&key) {
            self.schema_cache.clear();
        }
        self.schema_cache.entry(key).or_insert_with(|| {
            let mut json = Vec::with_capacity(1024);
            write_schema(&mut json, schema, None);
            CachedSchema {
                _schema: schema.clone(),
                json: json.into_boxed_slice(),
                names: FieldNames::of(schema),
            }
        })
    }
}

impl JsonConverter {
    /// [`Converter::convert`], reusing the kept fields of the last refilled record when
    /// `kept` is not empty (see [`Converter::convert_refilled`]).
    fn render(
        &mut self,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        kept: &[usize],
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        if schema.is_none() && value.is_none() {
            return Ok(false);
        }
        let null = Value::Null;
        let value = value.unwrap_or(&null);
        let schemas_enable = self.schemas_enable;
        let mut refilled = self.refilled.take();
        let cached = schema.map(|s| (&**s, self.cached(s)));
        if schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match cached {
                Some((_, c)) => out.extend_from_slice(&c.json),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
        }
        match (schema, cached, value) {
            (
                Some(arc),
                Some((
                    s,
                    CachedSchema {
                        names: Some(names), ..
                    },
                )),
                Value::Struct(values),
            ) if !kept.is_empty() && values.len() == s.fields.len() => {
                let mut reuse = match refilled.take() {
                    Some(r) if std::ptr::eq(&*r.schema, s) && r.kept == kept => r,
                    _ => Refilled {
                        schema: arc.clone(),
                        kept: kept.to_vec(),
                        fields: vec![None; values.len()],
                    },
                };
                write_refilled(out, s, values, names, &mut reuse)?;
                refilled = Some(reuse);
            }
            (
                _,
                Some((
                    s,
                    CachedSchema {
                        names: Some(names), ..
                    },
                )),
                _,
            ) => write_struct(out, s, value, names, "")?,
            _ => write_value(out, schema.map(|s| &**s), value, "")?,
        }
        if schemas_enable {
            out.push(b'}');
        }
        // Only a call that succeeded leaves its kept fields for the next one.
        self.refilled = refilled.filter(|_| !kept.is_empty());
        Ok(true)
    }
}

impl Converter for JsonConverter {
    fn convert(
        &mut self,
        _topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        self.render(schema, value, &[], out)
    }

    fn convert_refilled(
        &mut self,
        _topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        kept: &[usize],
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        self.render(schema, value, kept, out)
    }

    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.json.JsonConverter"
    }

    fn output_is_json(&self) -> bool {
        true
    }

    fn fork(&self) -> Option<Box<dyn Converter>> {
        Some(Box::new(JsonConverter::new(self.schemas_enable)))
    }
}

/// Render a schema as JsonConverter's `asJsonSchema` does, with `"field"` last when given.
pub fn write_schema(out: &mut Vec<u8>, schema: &Schema, field: Option<&str>) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(schema.ty.json_name().as_bytes());
    out.push(b'"');
    match schema.ty {
        SchemaType::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, f) in schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema(out, &f.schema, Some(&f.name));
            }
            out.push(b']');
        }
        SchemaType::Array => {
            if let Some(items) = &schema.items {
                out.extend_from_slice(b",\"items\":");
                write_schema(out, items, None);
            }
        }
        SchemaType::Map => {
            if let (Some(keys), Some(values)) = (&schema.keys, &schema.items) {
                out.extend_from_slice(b",\"keys\":");
                write_schema(out, keys, None);
                out.extend_from_slice(b",\"values\":");
                write_schema(out, values, None);
            }
        }
        _ => {}
    }
    out.extend_from_slice(if schema.optional {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(name) = &schema.name {
        out.extend_from_slice(b",\"name\":");
        write_str(out, name);
    }
    if let Some(version) = schema.version {
        let _ = write!(out, ",\"version\":{version}");
    }
    if let Some(doc) = &schema.doc {
        out.extend_from_slice(b",\"doc\":");
        write_str(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            write_str(out, v);
        }
        out.push(b'}');
    }
    if let Some(default) = &schema.default {
        out.extend_from_slice(b",\"default\":");
        // A default that does not fit its schema is dropped rather than failing every record.
        let mark = out.len();
        if write_value(out, Some(schema), default, "default").is_err() {
            out.truncate(mark - b",\"default\":".len());
        }
    }
    if let Some(field) = field {
        out.extend_from_slice(b",\"field\":");
        write_str(out, field);
    }
    out.push(b'}');
}

/// Render a payload value under its schema (or schemaless, inferring from the value).
pub fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    field: &str,
) -> Result<(), ConvertError> {
    match value {
        Value::Null => {
            if let Some(s) = schema {
                if !s.optional {
                    if let Some(default) = &s.default {
                        return write_value(out, Some(s), default, field);
                    }
                }
            }
            out.extend_from_slice(b"null");
        }
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => write_int(out, i64::from(*v)),
        Value::Int16(v) => write_int(out, i64::from(*v)),
        Value::Int32(v) => write_int(out, i64::from(*v)),
        Value::Int64(v) => write_int(out, *v),
        Value::Float32(v) => write_java_float(out, *v),
        Value::Float64(v) => write_java_double(out, *v),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            out.push(b'"');
            let engine = &base64::engine::general_purpose::STANDARD;
            let start = out.len();
            out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
            let written = engine
                .encode_slice(b, &mut out[start..])
                .map_err(|_| mismatch(field, "bytes"))?;
            out.truncate(start + written);
            out.push(b'"');
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, item, field)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.keys.as_deref());
            let value_schema = schema.and_then(|s| s.items.as_deref());
            let string_keys = match key_schema {
                Some(k) => k.ty == SchemaType::String,
                None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
            };
            if string_keys {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match k {
                        Value::String(s) => write_str(out, s),
                        _ => return Err(mismatch(field, "string map key")),
                    }
                    out.push(b':');
                    write_value(out, value_schema, v, field)?;
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    write_value(out, key_schema, k, field)?;
                    out.push(b',');
                    write_value(out, value_schema, v, field)?;
                    out.push(b']');
                }
                out.push(b']');
            }
        }
        Value::Struct(values) => {
            let schema = match schema {
                Some(s) if s.ty == SchemaType::Struct => s,
                _ => return Err(mismatch(field, "a struct schema")),
            };
            if values.len() != schema.fields.len() {
                return Err(mismatch(field, "one value per struct field"));
            }
            out.push(b'{');
            for (i, (f, v)) in schema.fields.iter().zip(values).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &f.name);
                out.push(b':');
                write_value(out, Some(&f.schema), v, &f.name)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// [`write_value`] for a struct schema whose field names are pre-rendered; the same bytes.
fn write_struct(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    names: &FieldNames,
    field: &str,
) -> Result<(), ConvertError> {
    let Value::Struct(values) = value else {
        // Null (or the schema's default) and mismatches: the general path decides.
        return write_value(out, Some(schema), value, field);
    };
    if values.len() != schema.fields.len() {
        return Err(mismatch(field, "one value per struct field"));
    }
    out.push(b'{');
    for (((f, v), prefix), nested) in schema
        .fields
        .iter()
        .zip(values)
        .zip(&names.prefixes)
        .zip(&names.nested)
    {
        out.extend_from_slice(prefix);
        match nested {
            Some(n) => write_struct(out, &f.schema, v, n, &f.name)?,
            None => write_value(out, Some(&f.schema), v, &f.name)?,
        }
    }
    out.push(b'}');
    Ok(())
}

/// [`write_struct`] of a top-level struct value, copying the kept fields rendered for the
/// previous record from `refilled` and saving those it renders now.
fn write_refilled(
    out: &mut Vec<u8>,
    schema: &Schema,
    values: &[Value],
    names: &FieldNames,
    refilled: &mut Refilled,
) -> Result<(), ConvertError> {
    out.push(b'{');
    for (i, (((f, v), prefix), nested)) in schema
        .fields
        .iter()
        .zip(values)
        .zip(&names.prefixes)
        .zip(&names.nested)
        .enumerate()
    {
        out.extend_from_slice(prefix);
        if let Some(Some(rendered)) = refilled.fields.get(i) {
            out.extend_from_slice(rendered);
            continue;
        }
        let start = out.len();
        match nested {
            Some(n) => write_struct(out, &f.schema, v, n, &f.name)?,
            None => write_value(out, Some(&f.schema), v, &f.name)?,
        }
        if refilled.kept.contains(&i) {
            if let (Some(slot), Some(rendered)) = (refilled.fields.get_mut(i), out.get(start..)) {
                *slot = Some(rendered.into());
            }
        }
    }
    out.push(b'}');
    Ok(())
}

fn mismatch(field: &str, expected: &'static str) -> ConvertError {
    ConvertError::SchemaMismatch {
        field: field.to_string(),
        expected,
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A JSON string literal, escaped as Jackson escapes: quotes, backslash and control characters;
/// everything else (including non-ASCII) written as is.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s.as_bytes();
    // Runs with nothing to escape (nearly all text) are copied whole.
    while let Some(i) = rest.iter().position(|&b| ESCAPE[usize::from(b)] != 0) {
        let (run, tail) = rest.split_at(i);
        out.extend_from_slice(run);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        match ESCAPE[usize::from(b)] {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0xf)],
            ]),
            short => out.extend_from_slice(&[b'\\', short]),
        }
        rest = tail;
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Per byte: 0 when it is written as is, else the letter after the backslash (`u` for
/// `\u00XX`). Jackson escapes `"`, `\` and the C0 controls, nothing else.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t
};

/// Java's `Double.toString` as Jackson writes it (non-finite values quoted).
pub fn write_java_double(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(non_finite(v.is_nan(), v > 0.0));
        return;
    }
    let abs = v.abs();
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
    } else if (1e-3..1e7).contains(&abs) {
        let s = format!("{v}");
        out.extend_from_slice(s.as_bytes());
        if !s.contains('.') {
            out.extend_from_slice(b".0");
        }
    } else {
        java_scientific(out, &format!("{v:e}"));
    }
}

/// Java's `Float.toString` as Jackson writes it.
pub fn write_java_float(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        out.extend_from_slice(non_finite(v.is_nan(), v > 0.0));
        return;
    }
    let abs = v.abs();
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
    } else if (1e-3..1e7).contains(&abs) {
        let s = format!("{v}");
        out.extend_from_slice(s.as_bytes());
        if !s.contains('.') {
            out.extend_from_slice(b".0");
        }
    } else {
        java_scientific(out, &format!("{v:e}"));
    }
}

fn non_finite(nan: bool, positive: bool) -> &'static [u8] {
    if nan {
        b"\"NaN\""
    } else if positive {
        b"\"Infinity\""
    } else {
        b"\"-Infinity\""
    }
}

/// Rust's `1.5e10` → Java's `1.5E10`; `1e-5` → `1.0E-5`.
fn java_scientific(out: &mut Vec<u8>, rust: &str) {
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust, "0"));
    out.extend_from_slice(mantissa.as_bytes());
    if !mantissa.contains('.') {
        out.extend_from_slice(b".0");
    }
    out.push(b'E');
    out.extend_from_slice(exponent.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::Field;

    fn render_double(v: f64) -> String {
        let mut out = Vec::new();
        write_java_double(&mut out, v);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn doubles_follow_java() {
        assert_eq!(render_double(1.2345678901234567), "1.2345678901234567");
        assert_eq!(render_double(5.0), "5.0");
        assert_eq!(
            render_double(1.2345678901234567e19),
            "1.2345678901234567E19"
        );
        assert_eq!(render_double(1e-5), "1.0E-5");
        assert_eq!(render_double(12345678.91), "1.234567891E7");
        assert_eq!(render_double(f64::NAN), "\"NaN\"");
        assert_eq!(render_double(-0.0), "-0.0");
    }

    #[test]
    fn strings_escape_like_jackson() {
        let mut out = Vec::new();
        write_str(&mut out, "hello \"world\" \\ ünïcødé ✓\n\u{1}");
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "\"hello \\\"world\\\" \\\\ ünïcødé ✓\\n\\u0001\""
        );
    }

    #[test]
    fn every_control_and_ascii_byte_escapes_like_jackson() {
        for b in 0u8..0x80 {
            let s = format!("a{}b", char::from(b));
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let escaped = match b {
                b'"' => "\\\"".to_string(),
                b'\\' => "\\\\".to_string(),
                b'\n' => "\\n".to_string(),
                b'\r' => "\\r".to_string(),
                b'\t' => "\\t".to_string(),
                0x08 => "\\b".to_string(),
                0x0c => "\\f".to_string(),
                0..=0x1f => format!("\\u{b:04X}"),
                _ => char::from(b).to_string(),
            };
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("\"a{escaped}b\""),
                "byte {b:#x}"
            );
        }
    }

    #[test]
    fn pre_rendered_field_names_give_the_same_bytes() {
        let inner = Schema::structure(vec![
            Field::new("x\"y", Schema::new(SchemaType::Int64)),
            Field::new("s", Schema::new(SchemaType::String).optional(true)),
        ])
        .optional(true);
        let schema = Arc::new(Schema::structure(vec![
            Field::new("before", inner.clone()),
            Field::new("after", inner),
            Field::new("op", Schema::new(SchemaType::String)),
        ]));
        let value = Value::Struct(vec![
            Value::Null,
            Value::Struct(vec![Value::Int64(-42), Value::String("t\u{1}".into())]),
            Value::String("c".into()),
        ]);
        let mut general = Vec::new();
        assert!(write_value(&mut general, Some(&schema), &value, "").is_ok());
        let mut out = Vec::new();
        let mut c = JsonConverter::new(false);
        assert!(c
            .convert("t", Some(&schema), Some(&value), &mut out)
            .unwrap_or(false));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&general)
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"before":null,"after":{"x\"y":-42,"s":"t\u0001"},"op":"c"}"#
        );
        // A value that does not fit its schema still fails.
        let short = Value::Struct(vec![Value::Null]);
        assert!(c
            .convert("t", Some(&schema), Some(&short), &mut out)
            .is_err());
    }

    #[test]
    fn refilled_records_render_as_converted_ones() {
        let source = Schema::structure(vec![
            Field::new("name", Schema::new(SchemaType::String)),
            Field::new("lsn", Schema::new(SchemaType::Int64)),
        ]);
        let envelope = |s: &Schema| {
            Arc::new(Schema::structure(vec![
                Field::new("after", Schema::new(SchemaType::Int64).optional(true)),
                Field::new("source", s.clone()),
                Field::new("ts", Schema::new(SchemaType::Int64)),
            ]))
        };
        let schema = envelope(&source);
        let other = envelope(&source);
        let value = |after: i64, name: &str, ts: i64| {
            Value::Struct(vec![
                Value::Int64(after),
                Value::Struct(vec![Value::String(name.into()), Value::Int64(7)]),
                Value::Int64(ts),
            ])
        };
        for schemas in [false, true] {
            let mut plain = JsonConverter::new(schemas);
            let mut refilled = JsonConverter::new(schemas);
            let (mut want, mut got) = (Vec::new(), Vec::new());
            // A run of refills, a new schema, a record that is not a refill, a failure.
            let steps: [(&Arc<Schema>, Value, &[usize]); 6] = [
                (&schema, value(1, "a\"b", 10), &[1]),
                (&schema, value(2, "a\"b", 11), &[1]),
                (&other, value(3, "c", 12), &[1]),
                (&other, value(4, "d", 13), &[]),
                (&other, Value::Struct(vec![Value::Null]), &[1]),
                (&other, value(5, "e", 14), &[1]),
            ];
            for (schema, value, kept) in steps {
                let a = plain.convert("t", Some(schema), Some(&value), &mut want);
                let b = refilled.convert_refilled("t", Some(schema), Some(&value), kept, &mut got);
                assert_eq!(a.is_ok(), b.is_ok());
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want)
                );
            }
            // The kept field really is reused: a changed kept field keeps its old rendering,
            // which is why callers only name fields that did not change.
            let mut stale = Vec::new();
            let changed = value(6, "changed", 15);
            assert!(refilled
                .convert_refilled("t", Some(&other), Some(&changed), &[1], &mut stale)
                .is_ok());
            assert!(String::from_utf8_lossy(&stale).contains("\"e\""));
        }
    }

    #[test]
    fn schema_field_order_matches_connect() {
        let schema = Schema::structure(vec![
            Field::new("id", Schema::new(SchemaType::Int32)),
            Field::new(
                "active",
                Schema::new(SchemaType::Boolean).with_default(Value::Boolean(true)),
            ),
            Field::new(
                "snapshot",
                Schema::new(SchemaType::String)
                    .optional(true)
                    .named("io.debezium.data.Enum")
                    .version(1)
                    .param("allowed", "true,false")
                    .with_default(Value::String("false".into())),
            ),
        ])
        .named("x.Key");
        let mut out = Vec::new();
        write_schema(&mut out, &schema, None);
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"boolean","optional":false,"default":true,"field":"active"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,false"},"default":"false","field":"snapshot"}],"optional":false,"name":"x.Key"}"#
        );
    }

    #[test]
    fn null_key_and_value_give_null() {
        let mut c = JsonConverter::new(true);
        let mut out = Vec::new();
        assert!(!c.convert("t", None, None, &mut out).unwrap_or(true));
    }
}
