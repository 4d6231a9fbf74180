//! Kafka Connect's `TimestampConverter$Key` / `TimestampConverter$Value`: a field (or the whole
//! key/value) converted between unix numbers (`unix.precision`), text (`format`, a
//! `SimpleDateFormat` pattern in UTC) and Connect's `Date`, `Time` and `Timestamp` types, through
//! milliseconds since the epoch.
//!
//! The input type comes from the schema: a Connect `Timestamp`/`Date`/`Time` logical type, a
//! string, or an int64 (unix). Debezium's own time types (`io.debezium.time.MicroTimestamp`,
//! ...) are int64s to it, as in Connect: set `unix.precision` to read them.

use std::sync::Arc;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::cache::SchemaCache;
use super::data::{
    self, copy_struct_basics, field_value, kind, struct_values, Side, DATE, MILLIS_PER_DAY, TIME,
    TIMESTAMP,
};
use super::java::DatePattern;
use super::{Props, SmtError, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

/// `TimestampConverter$Key` / `TimestampConverter$Value`.
pub(crate) fn timestamp_converter(side: Side, p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    let target = match p.get("target.type").unwrap_or("") {
        "string" => Kind::String,
        "unix" => Kind::Unix,
        "Date" => Kind::Date,
        "Time" => Kind::Time,
        _ => Kind::Timestamp,
    };
    let format_text = p.string("format");
    let format = if format_text.trim().is_empty() {
        if target == Kind::String {
            let key = p.key("format");
            p.error(
                "format",
                format!(
                    "{key} is required when target.type is string: give a SimpleDateFormat pattern"
                ),
            );
            return None;
        }
        None
    } else {
        match DatePattern::parse(&format_text) {
            Ok(f) => Some(f),
            Err(e) => {
                let key = p.key("format");
                p.error("format", format!("invalid date pattern in {key}: {e}"));
                return None;
            }
        }
    };
    let precision = match p.get("unix.precision").unwrap_or("milliseconds") {
        "seconds" => Precision::Seconds,
        "microseconds" => Precision::Micros,
        "nanoseconds" => Precision::Nanos,
        _ => Precision::Millis,
    };
    Some(Box::new(TimestampConverter {
        side,
        field: p.string("field"),
        target,
        format,
        precision,
        replace_null: p.bool("replace.null.with.default"),
        cache: SchemaCache::default(),
    }))
}

struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DatePattern>,
    precision: Precision,
    replace_null: bool,
    /// The converted schema, the converted field's index and its input kind.
    cache: SchemaCache<(Arc<Schema>, Option<usize>, Kind)>,
}

fn input_kind(schema: &Schema) -> Result<Kind, SmtError> {
    Ok(match (schema.name.as_deref(), schema.ty) {
        (Some(TIMESTAMP), _) => Kind::Timestamp,
        (Some(DATE), _) => Kind::Date,
        (Some(TIME), _) => Kind::Time,
        (_, SchemaType::String) => Kind::String,
        (_, SchemaType::Int64) => Kind::Unix,
        _ => {
            return Err(SmtError::new(format!(
                "schema {} is not a timestamp type TimestampConverter knows (Timestamp, Date, Time, string, int64)",
                data::describe(schema)
            )))
        }
    })
}

fn kind_schema(kind: Kind, optional: bool) -> Schema {
    match kind {
        Kind::String => Schema::new(SchemaType::String),
        Kind::Unix => Schema::new(SchemaType::Int64),
        Kind::Date => Schema::new(SchemaType::Int32).named(DATE).version(1),
        Kind::Time => Schema::new(SchemaType::Int32).named(TIME).version(1),
        Kind::Timestamp => Schema::new(SchemaType::Int64).named(TIMESTAMP).version(1),
    }
    .optional(optional)
}

impl TimestampConverter {
    /// Milliseconds since the epoch of `value`, read as `kind`.
    fn to_millis(&self, kind: Kind, value: &Value) -> Result<i64, SmtError> {
        let wrong = || {
            SmtError::new(format!(
                "expected a {} timestamp value, found {}",
                match kind {
                    Kind::String => "string",
                    Kind::Unix => "unix (int64)",
                    Kind::Date => "Date (int32)",
                    Kind::Time => "Time (int32)",
                    Kind::Timestamp => "Timestamp (int64)",
                },
                data::kind(value)
            ))
        };
        match (kind, value) {
            (Kind::String, Value::String(s)) => {
                let Some(format) = &self.format else {
                    return Err(SmtError::new(
                        "TimestampConverter needs format to read string timestamps",
                    ));
                };
                format.parse_millis(s).map_err(SmtError)
            }
            (Kind::Unix, Value::Int64(v)) => Ok(match self.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Millis => *v,
                Precision::Micros => v / 1000,
                Precision::Nanos => v / 1_000_000,
            }),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(*ms),
            _ => Err(wrong()),
        }
    }

    fn to_target(&self, ms: i64) -> Result<Value, SmtError> {
        Ok(match self.target {
            Kind::String => match &self.format {
                Some(f) => Value::String(f.format(ms)),
                None => {
                    return Err(SmtError::new(
                        "TimestampConverter needs format to write strings",
                    ))
                }
            },
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms / 1000,
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(
                i32::try_from(ms.div_euclid(MILLIS_PER_DAY))
                    .map_err(|_| SmtError::new("the date is out of range for a Connect Date"))?,
            ),
            Kind::Time => Value::Int32(ms.rem_euclid(MILLIS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(ms),
        })
    }

    fn convert(&self, kind: Kind, value: Value) -> Result<Value, SmtError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let ms = self.to_millis(kind, &value)?;
        self.to_target(ms)
    }
}

impl Transform for TimestampConverter {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        let (schema, value) = self.side.take(&mut r);
        match schema {
            None => {
                let Some(value) = value else {
                    self.side.set(&mut r, None, None);
                    return Ok(Some(r));
                };
                let schemaless_kind = |v: &Value| match v {
                    Value::String(_) => Ok(Kind::String),
                    Value::Int64(_) => Ok(Kind::Unix),
                    other => Err(SmtError::new(format!(
                        "a schemaless timestamp must be a string or an int64, found {}",
                        kind(other)
                    ))),
                };
                let out = if self.field.is_empty() {
                    let k = schemaless_kind(&value)?;
                    self.convert(k, value)?
                } else {
                    let Value::Map(mut entries) = value else {
                        return Err(SmtError::new(format!(
                            "TimestampConverter needs a map {} without a schema, found {}",
                            self.side.name(),
                            kind(&value)
                        )));
                    };
                    for (k, v) in &mut entries {
                        if matches!(k, Value::String(s) if *s == self.field) && !v.is_null() {
                            let taken = std::mem::replace(v, Value::Null);
                            let kd = schemaless_kind(&taken)?;
                            *v = self.convert(kd, taken)?;
                        }
                    }
                    Value::Map(entries)
                };
                self.side.set(&mut r, None, Some(out));
            }
            Some(schema) => {
                let (field, target) = (&self.field, self.target);
                let (updated, index, input) = self
                    .cache
                    .get_or_try(&schema, (), |s| {
                        if field.is_empty() {
                            let k = input_kind(s)?;
                            return Ok((Arc::new(kind_schema(target, s.optional)), None, k));
                        }
                        if s.ty != SchemaType::Struct {
                            return Err(SmtError::new(format!(
                                "TimestampConverter with field {field} needs a struct schema, found {}",
                                data::describe(s)
                            )));
                        }
                        let i = s.field_index(field).ok_or_else(|| {
                            SmtError::new(format!("field {field} does not exist in the schema"))
                        })?;
                        let k = input_kind(&s.fields[i].schema)?;
                        let mut out = copy_struct_basics(s);
                        for (j, f) in s.fields.iter().enumerate() {
                            if j == i {
                                out.fields.push(Field::new(
                                    f.name.clone(),
                                    kind_schema(target, f.schema.optional),
                                ));
                            } else {
                                out.fields.push(f.clone());
                            }
                        }
                        Ok((Arc::new(out), Some(i), k))
                    })?
                    .clone();
                let out = match (index, value) {
                    (_, None) => None,
                    (None, Some(v)) => Some(self.convert(input, v)?),
                    (Some(i), Some(v)) => {
                        let values = struct_values(v, &schema).map_err(SmtError)?;
                        let mut out = Vec::with_capacity(values.len());
                        for (j, (v, f)) in values.into_iter().zip(&schema.fields).enumerate() {
                            let v = field_value(v, &f.schema, self.replace_null);
                            out.push(if j == i { self.convert(input, v)? } else { v });
                        }
                        Some(Value::Struct(out))
                    }
                };
                self.side.set(&mut r, Some(updated), out);
            }
        }
        Ok(Some(r))
    }
}
