//! `org.apache.kafka.connect.storage.StringConverter`: the value's `toString()`.
//!
//! Strings pass through; other values are rendered the way Connect's Java objects print
//! themselves (`Struct{id=1,name=Alice}`), which is what a Kafka Connect user sees with this
//! converter.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{ConvertError, Converter};
use crate::connect::{Schema, Value};

pub struct StringConverter;

impl Converter for StringConverter {
    fn convert(
        &mut self,
        _topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        let Some(value) = value else { return Ok(false) };
        if value.is_null() {
            return Ok(false);
        }
        let mut s = String::new();
        render(&mut s, schema.map(|s| &**s), value);
        out.extend_from_slice(s.as_bytes());
        Ok(true)
    }

    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.storage.StringConverter"
    }

    fn output_is_json(&self) -> bool {
        false
    }

    fn fork(&self) -> Option<Box<dyn Converter>> {
        Some(Box::new(StringConverter))
    }
}

fn render(out: &mut String, schema: Option<&Schema>, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int8(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int16(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int32(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int64(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Float32(v) => {
            let mut b = Vec::new();
            super::json::write_java_float(&mut b, *v);
            out.push_str(&String::from_utf8_lossy(&b));
        }
        Value::Float64(v) => {
            let mut b = Vec::new();
            super::json::write_java_double(&mut b, *v);
            out.push_str(&String::from_utf8_lossy(&b));
        }
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            let _ = write!(out, "{b:?}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(out, schema.and_then(|s| s.items.as_deref()), item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(out, schema.and_then(|s| s.keys.as_deref()), k);
                out.push('=');
                render(out, schema.and_then(|s| s.items.as_deref()), v);
            }
            out.push('}');
        }
        Value::Struct(values) => {
            out.push_str("Struct{");
            let mut first = true;
            if let Some(schema) = schema {
                for (f, v) in schema.fields.iter().zip(values) {
                    if v.is_null() {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&f.name);
                    out.push('=');
                    render(out, Some(&f.schema), v);
                }
            }
            out.push('}');
        }
    }
}
