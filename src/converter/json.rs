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

/// The JSON converter. Cheap to create; holds a cache of rendered schemas.
pub struct JsonConverter {
    schemas_enable: bool,
    /// Rendered schema JSON, keyed by the schema's address; the `Arc` keeps the address alive.
    schema_cache: HashMap<usize, (Arc<Schema>, Arc<str>)>,
}

impl JsonConverter {
    pub fn new(schemas_enable: bool) -> JsonConverter {
        JsonConverter {
            schemas_enable,
            schema_cache: HashMap::new(),
        }
    }

    fn schema_json(&mut self, schema: &Arc<Schema>) -> Arc<str> {
        let key = Arc::as_ptr(schema) as usize;
        if let Some((_, json)) = self.schema_cache.get(&key) {
            return json.clone();
        }
        if self.schema_cache.len() > 4096 {
            self.schema_cache.clear();
        }
        let mut out = Vec::with_capacity(1024);
        write_schema(&mut out, schema, None);
        let json: Arc<str> = String::from_utf8_lossy(&out).into();
        self.schema_cache
            .insert(key, (schema.clone(), json.clone()));
        json
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
        out.clear();
        if schema.is_none() && value.is_none() {
            return Ok(false);
        }
        let null = Value::Null;
        let value = value.unwrap_or(&null);
        if self.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => {
                    let json = self.schema_json(s);
                    out.extend_from_slice(json.as_bytes());
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            write_value(out, schema.map(|s| &**s), value, "")?;
            out.push(b'}');
        } else {
            write_value(out, schema.map(|s| &**s), value, "")?;
        }
        Ok(true)
    }

    fn output_is_json(&self) -> bool {
        true
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

fn mismatch(field: &str, expected: &'static str) -> ConvertError {
    ConvertError::SchemaMismatch {
        field: field.to_string(),
        expected,
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa_buf(v);
    out.extend_from_slice(buf.as_bytes_mut());
}

struct IntBuf {
    bytes: [u8; 20],
    start: usize,
}

impl IntBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn itoa_buf(v: i64) -> IntBuf {
    let mut bytes = [0u8; 20];
    let mut pos = bytes.len();
    let negative = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        pos -= 1;
        bytes[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        pos -= 1;
        bytes[pos] = b'-';
    }
    IntBuf { bytes, start: pos }
}

/// A JSON string literal, escaped as Jackson escapes: quotes, backslash and control characters;
/// everything else (including non-ASCII) written as is.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04X}", b);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

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
