//! What transforms share about records and Connect data: which side of a record a `$Key` /
//! `$Value` variant works on, struct field access with Connect's default-value rule, Connect's
//! logical type names, and `Values.convertToString` (the text a header value becomes with the
//! default `SimpleHeaderConverter`, since [`Record`] headers are strings).

use std::sync::Arc;

use base64::Engine as _;

use crate::connect::{Record, Schema, Value};

use super::java;

/// `org.apache.kafka.connect.data.Timestamp`: int64 milliseconds since the epoch.
pub(crate) const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// `org.apache.kafka.connect.data.Date`: int32 days since the epoch.
pub(crate) const DATE: &str = "org.apache.kafka.connect.data.Date";
/// `org.apache.kafka.connect.data.Time`: int32 milliseconds since midnight.
pub(crate) const TIME: &str = "org.apache.kafka.connect.data.Time";
/// `org.apache.kafka.connect.data.Decimal`: bytes (two's complement unscaled value) + `scale`.
pub(crate) const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";

pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// The part of a record a `$Key` or `$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

impl Side {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Key => "key",
            Side::Value => "value",
        }
    }

    pub(crate) fn schema(self, r: &Record) -> Option<&Arc<Schema>> {
        match self {
            Side::Key => r.key_schema.as_ref(),
            Side::Value => r.value_schema.as_ref(),
        }
    }

    /// The key or value; `None` when it is null.
    pub(crate) fn value(self, r: &Record) -> Option<&Value> {
        match self {
            Side::Key => r.key.as_ref(),
            Side::Value => r.value.as_ref(),
        }
        .filter(|v| !v.is_null())
    }

    /// Takes the schema and value out of the record (a null value as `None`).
    pub(crate) fn take(self, r: &mut Record) -> (Option<Arc<Schema>>, Option<Value>) {
        let (schema, value) = match self {
            Side::Key => (r.key_schema.take(), r.key.take()),
            Side::Value => (r.value_schema.take(), r.value.take()),
        };
        (schema, value.filter(|v| !v.is_null()))
    }

    pub(crate) fn set(self, r: &mut Record, schema: Option<Arc<Schema>>, value: Option<Value>) {
        match self {
            Side::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Side::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
    }
}

/// A struct's field value as Connect's `Struct.get` returns it: a null replaced by the field
/// schema's default when `replace_null` (`replace.null.with.default`).
pub(crate) fn field_value(value: Value, schema: &Schema, replace_null: bool) -> Value {
    match (&value, &schema.default) {
        (Value::Null, Some(default)) if replace_null => default.clone(),
        _ => value,
    }
}

/// The values of a struct, one per field of `schema` (a short struct is padded with nulls).
pub(crate) fn struct_values(value: Value, schema: &Schema) -> Result<Vec<Value>, String> {
    match value {
        Value::Struct(mut values) => {
            if values.len() > schema.fields.len() {
                return Err(format!(
                    "the struct has {} values but its schema {} fields",
                    values.len(),
                    schema.fields.len()
                ));
            }
            values.resize(schema.fields.len(), Value::Null);
            Ok(values)
        }
        other => Err(format!("expected a struct, found {}", kind(&other))),
    }
}

/// A borrowed field of a struct value by name.
pub(crate) fn get_field<'v>(schema: &Schema, value: &'v Value, name: &str) -> Option<&'v Value> {
    let i = schema.field_index(name)?;
    match value {
        Value::Struct(values) => values.get(i),
        _ => None,
    }
}

/// A borrowed entry of a schemaless map by string key.
pub(crate) fn map_get<'v>(entries: &'v [(Value, Value)], name: &str) -> Option<&'v Value> {
    entries.iter().find_map(|(k, v)| match k {
        Value::String(s) if s == name => Some(v),
        _ => None,
    })
}

/// A short name of the value's kind, for messages (never the value itself).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int8(_) => "int8",
        Value::Int16(_) => "int16",
        Value::Int32(_) => "int32",
        Value::Int64(_) => "int64",
        Value::Float32(_) => "float32",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Struct(_) => "struct",
    }
}

/// How a schema is named in messages: its logical name if any, else its type.
pub(crate) fn describe(schema: &Schema) -> String {
    match &schema.name {
        Some(n) => format!("{} ({n})", schema.ty.json_name()),
        None => schema.ty.json_name().to_string(),
    }
}

/// The struct schema Connect's `SchemaUtil.copySchemaBasics(schema, SchemaBuilder.struct())`
/// starts from: name, version, doc and parameters kept; not optional, no default, no fields.
pub(crate) fn copy_struct_basics(schema: &Schema) -> Schema {
    Schema {
        name: schema.name.clone(),
        version: schema.version,
        doc: schema.doc.clone(),
        parameters: schema.parameters.clone(),
        ..Schema::structure(Vec::new())
    }
}

/// The unscaled value and scale of a Connect `Decimal`, when it fits in 128 bits.
pub(crate) fn decimal_parts(schema: &Schema, bytes: &[u8]) -> Result<(i128, u32), String> {
    let scale: u32 = schema
        .parameter("scale")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "the Decimal schema has no valid scale parameter".to_string())?;
    if bytes.len() > 16 {
        return Err("the decimal has more than 38 digits, which Sluice cannot convert".into());
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut unscaled: i128 = if negative { -1 } else { 0 };
    for b in bytes {
        unscaled = (unscaled << 8) | i128::from(*b);
    }
    Ok((unscaled, scale))
}

/// The two's complement big-endian bytes of `unscaled`, as short as Java's `BigInteger`.
pub(crate) fn decimal_bytes(unscaled: i128) -> Vec<u8> {
    let all = unscaled.to_be_bytes();
    let mut start = 0;
    while start < all.len() - 1 {
        let (b, next) = (all[start], all[start + 1]);
        let redundant = (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    all[start..].to_vec()
}

/// Java's `BigDecimal.toString` of `unscaled` × 10^-`scale`.
pub(crate) fn decimal_string(unscaled: i128, scale: u32) -> String {
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = i64::from(scale);
    let adjusted = digits.len() as i64 - 1 - scale;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if adjusted >= -6 {
        // Plain notation.
        let point = digits.len() as i64 - scale;
        if point > 0 {
            let (int, frac) = digits.split_at(point as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else {
            out.push_str("0.");
            for _ in 0..(-point) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        // Scientific notation, as BigDecimal does for small magnitudes.
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('E');
        out.push_str(&adjusted.to_string());
    }
    out
}

/// `Values.convertToString(schema, value)`: the text of a header value written by Kafka's
/// `SimpleHeaderConverter`. `None` for null.
pub(crate) fn header_string(schema: Option<&Schema>, value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let mut out = String::new();
    append(&mut out, schema, value, false);
    Some(out)
}

fn append(out: &mut String, schema: Option<&Schema>, value: &Value, embedded: bool) {
    let logical = schema.and_then(|s| s.name.as_deref());
    match value {
        Value::Null => out.push_str("null"),
        Value::String(s) => {
            if embedded {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => match logical {
            Some(DATE) => out.push_str(&java::format_date(i64::from(*v) * MILLIS_PER_DAY)),
            Some(TIME) => out.push_str(&java::format_time(i64::from(*v))),
            _ => out.push_str(&v.to_string()),
        },
        Value::Int64(v) => match logical {
            Some(TIMESTAMP) => out.push_str(&java::format_timestamp(*v)),
            _ => out.push_str(&v.to_string()),
        },
        Value::Float32(v) => out.push_str(&java::float_to_string(*v)),
        Value::Float64(v) => out.push_str(&java::double_to_string(*v)),
        Value::Bytes(b) => match (logical, schema) {
            (Some(DECIMAL), Some(s)) => match decimal_parts(s, b) {
                Ok((u, scale)) => out.push_str(&decimal_string(u, scale)),
                Err(_) => out.push_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            },
            _ => out.push_str(&base64::engine::general_purpose::STANDARD.encode(b)),
        },
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, item_schema, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let ks = schema.and_then(|s| s.keys.as_deref());
            let vs = schema.and_then(|s| s.items.as_deref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, ks, k, true);
                out.push(':');
                append(out, vs, v, true);
            }
            out.push('}');
        }
        Value::Struct(values) => {
            out.push('{');
            if let Some(s) = schema {
                for (i, (f, v)) in s.fields.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    append(out, None, &Value::String(f.name.clone()), true);
                    out.push(':');
                    append(out, Some(f.schema.as_ref()), v, true);
                }
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::{Field, SchemaType};

    #[test]
    fn decimals_round_trip_like_big_decimal() {
        let s = Schema::new(SchemaType::Bytes)
            .named(DECIMAL)
            .param("scale", "2");
        for (unscaled, text) in [
            (12345_i128, "123.45"),
            (-5, "-0.05"),
            (0, "0.00"),
            (-12345, "-123.45"),
            (i128::from(i64::MAX), "92233720368547758.07"),
        ] {
            let bytes = decimal_bytes(unscaled);
            assert_eq!(decimal_parts(&s, &bytes), Ok((unscaled, 2)));
            assert_eq!(decimal_string(unscaled, 2), text);
        }
        assert_eq!(decimal_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_bytes(-129), vec![0xff, 0x7f]);
        assert_eq!(decimal_bytes(-1), vec![0xff]);
        assert_eq!(decimal_string(1, 8), "1E-8");
        assert_eq!(decimal_string(123, 0), "123");
    }

    #[test]
    fn header_strings_follow_values_convert_to_string() {
        let s = Schema::structure(vec![
            Field::new("id", Schema::new(SchemaType::Int32)),
            Field::new("name", Schema::new(SchemaType::String)),
        ]);
        let v = Value::Struct(vec![Value::Int32(7), Value::String("a\"b".into())]);
        assert_eq!(
            header_string(Some(&s), &v).as_deref(),
            Some("{\"id\":7,\"name\":\"a\\\"b\"}")
        );
        assert_eq!(
            header_string(None, &Value::String("x".into())).as_deref(),
            Some("x")
        );
        assert_eq!(
            header_string(None, &Value::Float64(1.0)).as_deref(),
            Some("1.0")
        );
        assert_eq!(header_string(None, &Value::Null), None);
        let ts = Schema::new(SchemaType::Int64).named(TIMESTAMP);
        assert_eq!(
            header_string(Some(&ts), &Value::Int64(1_700_000_000_123)).as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
    }
}
