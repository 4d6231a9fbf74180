//! Kafka Connect's `Cast$Key` / `Cast$Value`: fields (or the whole key/value) cast to another
//! primitive type with Java's conversion rules — narrowing integers wrap, floating point to
//! integer truncates and saturates, numbers to boolean are "not zero", strings parse, and
//! values become text as Java's `toString` writes them (bytes as base64, Connect dates in ISO
//! 8601). The cast schema keeps the field's optionality and casts its default.

use std::sync::Arc;

use base64::Engine as _;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{
    self, copy_struct_basics, decimal_parts, decimal_string, field_value, kind, struct_values,
    Side, DATE, DECIMAL, MILLIS_PER_DAY, TIME, TIMESTAMP,
};
use super::{java, Props, SmtError, Transform};

/// `Cast$Key` / `Cast$Value`.
pub(crate) fn cast(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let entries = p.list("spec");
    let mut fields = Vec::new();
    let mut whole = None;
    for entry in &entries {
        let (field, ty) = match entry.split(':').collect::<Vec<_>>().as_slice() {
            [ty] => (None, *ty),
            [field, ty] => (Some(field.trim().to_string()), *ty),
            _ => {
                let key = p.key("spec");
                p.error(
                    "spec",
                    format!(
                        "invalid cast mapping \"{entry}\" in {key}: expected field:type or type"
                    ),
                );
                return None;
            }
        };
        let Some(ty) = target_type(ty) else {
            let key = p.key("spec");
            p.error(
                "spec",
                format!("invalid type \"{}\" in {key}: expected one of int8, int16, int32, int64, float32, float64, boolean, string", ty.trim()),
            );
            return None;
        };
        match field {
            Some(f) => fields.push((f, ty)),
            None => whole = Some(ty),
        }
    }
    if whole.is_some() && entries.len() > 1 {
        let key = p.key("spec");
        p.error(
            "spec",
            format!("{key} casts the whole value and may then list only that one type"),
        );
        return None;
    }
    Some(Box::new(Cast {
        side,
        fields,
        whole,
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

fn target_type(name: &str) -> Option<SchemaType> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "int8" => SchemaType::Int8,
        "int16" => SchemaType::Int16,
        "int32" => SchemaType::Int32,
        "int64" => SchemaType::Int64,
        "float32" => SchemaType::Float32,
        "float64" => SchemaType::Float64,
        "boolean" => SchemaType::Boolean,
        "string" => SchemaType::String,
        _ => return None,
    })
}

struct Cast {
    side: Side,
    fields: Vec<(String, SchemaType)>,
    whole: Option<SchemaType>,
    replace_null: bool,
    /// The cast schema and, per field, the target type when the field is cast.
    cache: SchemaCache<(Arc<Schema>, Vec<Option<SchemaType>>)>,
}

/// The schema of a value cast to `target` from `source`.
fn cast_schema(source: &Schema, target: SchemaType) -> Result<Schema, String> {
    check_input(source)?;
    let mut out = Schema::new(target).optional(source.optional);
    if let Some(default) = &source.default {
        out.default = Some(cast_value(Some(source), default.clone(), target)?);
    }
    Ok(out)
}

fn check_input(schema: &Schema) -> Result<(), String> {
    match schema.ty {
        SchemaType::Array | SchemaType::Map | SchemaType::Struct => Err(format!(
            "Cast does not cast from {}: supported are the primitive types",
            data::describe(schema)
        )),
        _ => Ok(()),
    }
}

/// A value on its way to the target type.
enum Scalar {
    Int(i64),
    Float(f64),
    Decimal(i128, u32),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

/// `castValueToType`: `value` (of `schema`, when known) as `target`.
pub(crate) fn cast_value(
    schema: Option<&Schema>,
    value: Value,
    target: SchemaType,
) -> Result<Value, String> {
    let logical = schema.and_then(|s| s.name.as_deref());
    let scalar = match value {
        Value::Null => return Ok(Value::Null),
        Value::Boolean(b) => Scalar::Bool(b),
        Value::Int8(v) => Scalar::Int(v.into()),
        Value::Int16(v) => Scalar::Int(v.into()),
        Value::Int32(v) => match (logical, target) {
            (Some(DATE), SchemaType::String) => {
                Scalar::Text(java::format_timestamp(i64::from(v) * MILLIS_PER_DAY))
            }
            (Some(TIME), SchemaType::String) => Scalar::Text(java::format_timestamp(v.into())),
            _ => Scalar::Int(v.into()),
        },
        Value::Int64(v) => match (logical, target) {
            (Some(TIMESTAMP), SchemaType::String) => Scalar::Text(java::format_timestamp(v)),
            _ => Scalar::Int(v),
        },
        Value::Float32(v) => match target {
            SchemaType::String => Scalar::Text(java::float_to_string(v)),
            _ => Scalar::Float(v.into()),
        },
        Value::Float64(v) => Scalar::Float(v),
        Value::String(s) => Scalar::Text(s),
        Value::Bytes(b) => match (logical, schema) {
            (Some(DECIMAL), Some(s)) => {
                let (u, scale) = decimal_parts(s, &b)?;
                Scalar::Decimal(u, scale)
            }
            _ => Scalar::Bytes(b),
        },
        other => {
            return Err(format!("Cast does not cast from {}", kind(&other)));
        }
    };
    let out_of_range = || format!("the value is out of range for {}", target.json_name());
    let unparsable = || format!("the text is not a valid {}", target.json_name());
    // Java's Number.longValue / doubleValue of each input.
    let as_long = |s: &Scalar| -> Option<i64> {
        match *s {
            Scalar::Int(v) => Some(v),
            Scalar::Float(f) => Some(f as i64),
            Scalar::Decimal(u, scale) => Some(truncate(u, scale) as i64),
            Scalar::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    };
    // Java's intValue(): floating point saturates at 32 bits first.
    let as_int = |s: &Scalar| -> Option<i32> {
        match *s {
            Scalar::Float(f) => Some(f as i32),
            _ => as_long(s).map(|v| v as i32),
        }
    };
    let as_double = |s: &Scalar| -> Option<f64> {
        match *s {
            Scalar::Int(v) => Some(v as f64),
            Scalar::Float(f) => Some(f),
            Scalar::Decimal(u, scale) => decimal_string(u, scale).parse().ok(),
            Scalar::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    };
    let unsupported = || "Cast casts bytes only to string".to_string();
    Ok(match target {
        SchemaType::Int8 => Value::Int8(match &scalar {
            Scalar::Text(t) => t.parse().map_err(|_| unparsable())?,
            s => as_int(s).ok_or_else(unsupported)? as i8,
        }),
        SchemaType::Int16 => Value::Int16(match &scalar {
            Scalar::Text(t) => t.parse().map_err(|_| unparsable())?,
            s => as_int(s).ok_or_else(unsupported)? as i16,
        }),
        SchemaType::Int32 => Value::Int32(match &scalar {
            Scalar::Text(t) => t.parse().map_err(|_| unparsable())?,
            s => as_int(s).ok_or_else(unsupported)?,
        }),
        SchemaType::Int64 => Value::Int64(match &scalar {
            Scalar::Text(t) => t.parse().map_err(|_| unparsable())?,
            s => as_long(s).ok_or_else(unsupported)?,
        }),
        SchemaType::Float32 => Value::Float32(match &scalar {
            Scalar::Text(t) => t.trim().parse().map_err(|_| unparsable())?,
            s => as_double(s).ok_or_else(unsupported)? as f32,
        }),
        SchemaType::Float64 => Value::Float64(match &scalar {
            Scalar::Text(t) => t.trim().parse().map_err(|_| unparsable())?,
            s => as_double(s).ok_or_else(unsupported)?,
        }),
        SchemaType::Boolean => Value::Boolean(match &scalar {
            Scalar::Text(t) => t.eq_ignore_ascii_case("true"),
            Scalar::Bool(b) => *b,
            s => as_long(s).ok_or_else(unsupported)? != 0,
        }),
        SchemaType::String => Value::String(match scalar {
            Scalar::Int(v) => v.to_string(),
            Scalar::Float(f) => java::double_to_string(f),
            Scalar::Decimal(u, scale) => decimal_string(u, scale),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Text(t) => t,
            Scalar::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        }),
        SchemaType::Bytes | SchemaType::Array | SchemaType::Map | SchemaType::Struct => {
            return Err(out_of_range())
        }
    })
}

/// The integer part of a decimal, truncated toward zero.
fn truncate(unscaled: i128, scale: u32) -> i128 {
    unscaled / 10_i128.checked_pow(scale).unwrap_or(i128::MAX)
}

impl Transform for Cast {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if self.side.value(&r).is_none() {
            return Ok(Some(r));
        }
        let (schema, value) = self.side.take(&mut r);
        let Some(value) = value else {
            return Ok(Some(r));
        };
        match (schema, self.whole) {
            (None, Some(target)) => {
                let v = cast_value(None, value, target).map_err(SmtError)?;
                self.side.set(&mut r, None, Some(v));
            }
            (None, None) => {
                let Value::Map(mut entries) = value else {
                    return Err(SmtError::new(format!(
                        "Cast needs a map {} without a schema, found {}",
                        self.side.name(),
                        kind(&value)
                    )));
                };
                for (k, v) in &mut entries {
                    let Value::String(name) = k else { continue };
                    if let Some((_, target)) = self.fields.iter().find(|(f, _)| f == name) {
                        let taken = std::mem::replace(v, Value::Null);
                        *v = cast_value(None, taken, *target)
                            .map_err(|e| SmtError::new(format!("field {name}: {e}")))?;
                    }
                }
                self.side.set(&mut r, None, Some(Value::Map(entries)));
            }
            (Some(schema), Some(target)) => {
                let (updated, _) = self
                    .cache
                    .get_or_try(&schema, (), |s| {
                        cast_schema(s, target)
                            .map(|c| (Arc::new(c), Vec::new()))
                            .map_err(SmtError)
                    })?
                    .clone();
                let v = cast_value(Some(schema.as_ref()), value, target).map_err(SmtError)?;
                self.side.set(&mut r, Some(updated), Some(v));
            }
            (Some(schema), None) => {
                if schema.ty != SchemaType::Struct {
                    return Err(SmtError::new(format!(
                        "Cast with field:type entries needs a struct {}, found {}",
                        self.side.name(),
                        data::describe(&schema)
                    )));
                }
                let fields = &self.fields;
                let (updated, targets) = self.cache.get_or_try(&schema, (), |s| {
                    let mut out = copy_struct_basics(s);
                    let mut targets = Vec::with_capacity(s.fields.len());
                    for f in &s.fields {
                        match fields.iter().find(|(name, _)| *name == f.name) {
                            Some((_, target)) => {
                                let cast = cast_schema(&f.schema, *target)
                                    .map_err(|e| SmtError::new(format!("field {}: {e}", f.name)))?;
                                out.fields.push(Field::new(f.name.clone(), cast));
                                targets.push(Some(*target));
                            }
                            None => {
                                out.fields.push(f.clone());
                                targets.push(None);
                            }
                        }
                    }
                    Ok::<_, SmtError>((Arc::new(out), targets))
                })?;
                let values = struct_values(value, &schema).map_err(SmtError)?;
                let mut out = Vec::with_capacity(values.len());
                for ((v, f), target) in values.into_iter().zip(&schema.fields).zip(targets) {
                    let v = field_value(v, &f.schema, self.replace_null);
                    out.push(match target {
                        Some(t) => cast_value(Some(f.schema.as_ref()), v, *t)
                            .map_err(|e| SmtError::new(format!("field {}: {e}", f.name)))?,
                        None => v,
                    });
                }
                let updated = updated.clone();
                self.side
                    .set(&mut r, Some(updated), Some(Value::Struct(out)));
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_conversions() {
        let c = |v: Value, t| cast_value(None, v, t);
        assert_eq!(c(Value::Int32(300), SchemaType::Int8), Ok(Value::Int8(44)));
        assert_eq!(
            c(Value::Float64(1e20), SchemaType::Int32),
            Ok(Value::Int32(i32::MAX))
        );
        assert_eq!(
            c(Value::Float64(-3.9), SchemaType::Int64),
            Ok(Value::Int64(-3))
        );
        assert_eq!(
            c(Value::Float64(300.7), SchemaType::Int8),
            Ok(Value::Int8(44))
        );
        assert_eq!(
            c(Value::Float64(0.5), SchemaType::Boolean),
            Ok(Value::Boolean(false))
        );
        assert_eq!(
            c(Value::Int8(2), SchemaType::Boolean),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            c(Value::Boolean(true), SchemaType::Int32),
            Ok(Value::Int32(1))
        );
        assert_eq!(
            c(Value::String("TRUE".into()), SchemaType::Boolean),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            c(Value::String("yes".into()), SchemaType::Boolean),
            Ok(Value::Boolean(false))
        );
        assert_eq!(
            c(Value::String(" 2.5".into()), SchemaType::Float64),
            Ok(Value::Float64(2.5))
        );
        assert!(c(Value::String("128".into()), SchemaType::Int8).is_err());
        assert_eq!(
            c(Value::Float64(1.0), SchemaType::String),
            Ok(Value::String("1.0".into()))
        );
        assert_eq!(
            c(Value::Float32(0.1), SchemaType::String),
            Ok(Value::String("0.1".into()))
        );
        assert_eq!(
            c(Value::Bytes(vec![1, 2, 3]), SchemaType::String),
            Ok(Value::String("AQID".into()))
        );
        assert!(c(Value::Bytes(vec![1]), SchemaType::Int32).is_err());
        let dec = Schema::new(SchemaType::Bytes)
            .named(DECIMAL)
            .param("scale", "2");
        let v = Value::Bytes(data::decimal_bytes(-12345));
        assert_eq!(
            cast_value(Some(&dec), v.clone(), SchemaType::Int32),
            Ok(Value::Int32(-123))
        );
        assert_eq!(
            cast_value(Some(&dec), v.clone(), SchemaType::Float64),
            Ok(Value::Float64(-123.45))
        );
        assert_eq!(
            cast_value(Some(&dec), v, SchemaType::String),
            Ok(Value::String("-123.45".into()))
        );
        let ts = Schema::new(SchemaType::Int64).named(TIMESTAMP);
        assert_eq!(
            cast_value(
                Some(&ts),
                Value::Int64(1_700_000_000_123),
                SchemaType::String
            ),
            Ok(Value::String("2023-11-14T22:13:20.123Z".into()))
        );
        assert_eq!(
            cast_value(
                Some(&ts),
                Value::Int64(1_700_000_000_123),
                SchemaType::Int64
            ),
            Ok(Value::Int64(1_700_000_000_123))
        );
    }
}
