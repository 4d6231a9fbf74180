//! Postgres column types and values → Connect schemas and values, as Debezium's Postgres
//! connector maps them under its handling modes.
//!
//! ```text
//! pgoutput text bytes --decoders::pgvalue::decode_text--> PgValue --ColumnMapping::value--> Value
//! column type (catalog) + modes -------------------------> ColumnMapping::schema ---------> Schema
//! ```
//! The one place where Postgres semantics become Debezium semantics. Types without a Debezium
//! mapping fall back to their text form as an optional string (documented in the README).

use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use sluice_config::{
    BinaryHandlingMode, DecimalHandlingMode, HstoreHandlingMode, IntervalHandlingMode,
    TimePrecisionMode,
};
use sluice_decoders::pgvalue::{Decimal, PgDate, PgNumeric, PgTimestamp, PgType, PgValue};

use crate::connect::{Field, Schema, SchemaType, Value};

/// The handling modes that shape values (from the connector config).
#[derive(Debug, Clone)]
pub struct Modes {
    pub decimal: DecimalHandlingMode,
    pub binary: BinaryHandlingMode,
    pub time_precision: TimePrecisionMode,
    pub interval: IntervalHandlingMode,
    pub hstore: HstoreHandlingMode,
    pub money_fraction_digits: u32,
    pub unavailable_placeholder: Arc<str>,
}

/// A column's resolved type: domains resolved to their base type, enum labels loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub pg: PgType,
    /// The attribute's type modifier (precision/scale/length), `-1` when none.
    pub typmod: i32,
    /// Enum labels (for `Enum` and arrays of enums), in sort order.
    pub enum_labels: Vec<String>,
    /// The type's own name, for messages and the string fallback.
    pub type_name: String,
}

const MICROS_PER_DAY: f64 = 86_400_000_000.0;
const DAYS_PER_MONTH_AVG: f64 = 30.4375;

/// `timestamp 'infinity'` / `'-infinity'` in µs: pgjdbc's `PGStatement.DATE_POSITIVE_INFINITY` /
/// `DATE_NEGATIVE_INFINITY`, which Debezium emits as they are ("Temporal types" in Debezium's
/// Postgres connector documentation). The millisecond types carry these divided by 1000.
const TIMESTAMP_POS_INFINITY_MICROS: i64 = 9_223_372_036_825_200_000;
const TIMESTAMP_NEG_INFINITY_MICROS: i64 = -9_223_372_036_832_400_000;
/// `date 'infinity'` / `'-infinity'` in days since the epoch, as Debezium emits them: its
/// `PostgresValueConverter.POSITIVE_INFINITY_LOCAL_DATE` (`-5877611-06-21`) and
/// `NEGATIVE_INFINITY_LOCAL_DATE` (`-5877611-06-22`), i.e. Postgres' `DATEVAL_NOEND` /
/// `DATEVAL_NOBEGIN` moved to the Unix epoch with 32-bit wrap-around. Yes, positive infinity is
/// the smaller number.
const DATE_POS_INFINITY_DAYS: i32 = -2_147_472_692;
const DATE_NEG_INFINITY_DAYS: i32 = -2_147_472_691;

impl ColumnType {
    /// Precision and scale of a `numeric(p,s)` column.
    fn numeric_precision_scale(&self) -> Option<(u32, u32)> {
        if self.typmod < 4 {
            return None;
        }
        let m = (self.typmod - 4) as u32;
        Some(((m >> 16) & 0xffff, m & 0xffff))
    }

    /// Fractional-second precision of time/timestamp columns (default 6).
    fn time_precision(&self) -> u32 {
        if self.typmod >= 0 {
            (self.typmod as u32).min(6)
        } else {
            6
        }
    }

    fn element(&self, pg: &PgType) -> ColumnType {
        ColumnType {
            pg: pg.clone(),
            typmod: self.typmod,
            enum_labels: self.enum_labels.clone(),
            type_name: self.type_name.trim_start_matches('_').to_string(),
        }
    }
}

/// The Connect schema of a column (not yet optional/defaulted; the caller sets those).
pub fn schema(ty: &ColumnType, modes: &Modes) -> Schema {
    use SchemaType as T;
    match &ty.pg {
        PgType::Bool => Schema::new(T::Boolean),
        PgType::Int2 => Schema::new(T::Int16),
        PgType::Int4 => Schema::new(T::Int32),
        PgType::Int8 | PgType::Oid => Schema::new(T::Int64),
        PgType::Float4 => Schema::new(T::Float32),
        PgType::Float8 => Schema::new(T::Float64),
        PgType::Numeric => match modes.decimal {
            DecimalHandlingMode::Double => Schema::new(T::Float64),
            DecimalHandlingMode::String => Schema::new(T::String),
            DecimalHandlingMode::Precise => match ty.numeric_precision_scale() {
                Some((p, s)) => decimal_schema(s).param("connect.decimal.precision", p.to_string()),
                None => variable_scale_decimal_schema(),
            },
        },
        PgType::Money => match modes.decimal {
            DecimalHandlingMode::Double => Schema::new(T::Float64),
            DecimalHandlingMode::String => Schema::new(T::String),
            DecimalHandlingMode::Precise => decimal_schema(modes.money_fraction_digits),
        },
        PgType::Bytea => match modes.binary {
            BinaryHandlingMode::Bytes => Schema::new(T::Bytes),
            _ => Schema::new(T::String),
        },
        PgType::Date => match modes.time_precision {
            TimePrecisionMode::Connect => logical(T::Int32, "org.apache.kafka.connect.data.Date"),
            _ => logical(T::Int32, "io.debezium.time.Date"),
        },
        PgType::Time => match modes.time_precision {
            TimePrecisionMode::Connect => logical(T::Int32, "org.apache.kafka.connect.data.Time"),
            TimePrecisionMode::Adaptive if ty.time_precision() <= 3 => {
                logical(T::Int32, "io.debezium.time.Time")
            }
            _ => logical(T::Int64, "io.debezium.time.MicroTime"),
        },
        PgType::TimeTz => logical(T::String, "io.debezium.time.ZonedTime"),
        PgType::Timestamp => match modes.time_precision {
            TimePrecisionMode::Connect => {
                logical(T::Int64, "org.apache.kafka.connect.data.Timestamp")
            }
            _ if ty.time_precision() <= 3 => logical(T::Int64, "io.debezium.time.Timestamp"),
            _ => logical(T::Int64, "io.debezium.time.MicroTimestamp"),
        },
        PgType::TimestampTz => logical(T::String, "io.debezium.time.ZonedTimestamp"),
        PgType::Interval => match modes.interval {
            IntervalHandlingMode::Numeric => logical(T::Int64, "io.debezium.time.MicroDuration"),
            IntervalHandlingMode::String => logical(T::String, "io.debezium.time.Interval"),
        },
        PgType::Uuid => logical(T::String, "io.debezium.data.Uuid"),
        PgType::Json | PgType::Jsonb => logical(T::String, "io.debezium.data.Json"),
        PgType::Xml => logical(T::String, "io.debezium.data.Xml"),
        PgType::Ltree => logical(T::String, "io.debezium.data.Ltree"),
        PgType::Enum => {
            logical(T::String, "io.debezium.data.Enum").param("allowed", ty.enum_labels.join(","))
        }
        PgType::Bit | PgType::Varbit => {
            // Debezium: `column.length() > 1 ? Bits : boolean`, for BIT and VARBIT alike.
            if ty.typmod == 1 {
                Schema::new(T::Boolean)
            } else {
                let length = if ty.typmod > 0 { ty.typmod } else { i32::MAX };
                logical(T::Bytes, "io.debezium.data.Bits").param("length", length.to_string())
            }
        }
        PgType::Point => Schema::structure(vec![
            Field::new("x", Schema::new(T::Float64)),
            Field::new("y", Schema::new(T::Float64)),
            Field::new("wkb", Schema::new(T::Bytes).optional(true)),
            Field::new("srid", Schema::new(T::Int32).optional(true)),
        ])
        .named("io.debezium.data.geometry.Point")
        .version(1)
        .doc("Geometry (POINT)"),
        PgType::Hstore => match modes.hstore {
            HstoreHandlingMode::Json => logical(T::String, "io.debezium.data.Json"),
            HstoreHandlingMode::Map => Schema::map(
                Schema::new(T::String),
                Schema::new(T::String).optional(true),
            ),
        },
        // Debezium builds enum arrays with a required element schema
        // (`SchemaBuilder.array(Enum.builder(..))`), every other array with an optional one.
        PgType::Array(element) => Schema::array(
            schema(&ty.element(element), modes).optional(!matches!(**element, PgType::Enum)),
        ),
        PgType::Text
        | PgType::Varchar
        | PgType::Bpchar
        | PgType::Name
        | PgType::Char
        | PgType::Citext
        | PgType::Inet
        | PgType::Cidr
        | PgType::Macaddr
        | PgType::Macaddr8
        | PgType::Unknown => Schema::new(T::String),
    }
}

fn logical(ty: SchemaType, name: &str) -> Schema {
    Schema::new(ty).named(name).version(1)
}

fn decimal_schema(scale: u32) -> Schema {
    Schema::new(SchemaType::Bytes)
        .named("org.apache.kafka.connect.data.Decimal")
        .version(1)
        .param("scale", scale.to_string())
}

fn variable_scale_decimal_schema() -> Schema {
    Schema::structure(vec![
        Field::new("scale", Schema::new(SchemaType::Int32)),
        Field::new("value", Schema::new(SchemaType::Bytes)),
    ])
    .named("io.debezium.data.VariableScaleDecimal")
    .version(1)
    .doc("Variable scaled decimal")
}

/// A decoded value under the column's schema.
pub fn value(ty: &ColumnType, modes: &Modes, v: PgValue) -> Value {
    match (v, &ty.pg) {
        (PgValue::Bool(b), PgType::Bit) => Value::Boolean(b),
        (PgValue::Bool(b), _) => Value::Boolean(b),
        (PgValue::Int2(i), _) => Value::Int16(i),
        (PgValue::Int4(i), _) => Value::Int32(i),
        (PgValue::Int8(i), _) => Value::Int64(i),
        (PgValue::Oid(o), _) => Value::Int64(i64::from(o)),
        (PgValue::Float4(f), _) => Value::Float32(f),
        (PgValue::Float8(f), _) => Value::Float64(f),
        (PgValue::Numeric(n), _) => {
            numeric_value(&n, ty.numeric_precision_scale().map(|(_, s)| s), modes)
        }
        (PgValue::Money(n), _) => money_value(&n, modes),
        (PgValue::Bytea(b), _) => binary_value(b, modes),
        (PgValue::Date(d), _) => Value::Int32(match d {
            PgDate::Days(days) => days,
            PgDate::PosInfinity => DATE_POS_INFINITY_DAYS,
            PgDate::NegInfinity => DATE_NEG_INFINITY_DAYS,
        }),
        (PgValue::Time(us), _) => match modes.time_precision {
            TimePrecisionMode::Connect => Value::Int32((us.div_euclid(1000)) as i32),
            TimePrecisionMode::Adaptive if ty.time_precision() <= 3 => {
                Value::Int32((us.div_euclid(1000)) as i32)
            }
            _ => Value::Int64(us),
        },
        (
            PgValue::TimeTz {
                micros,
                offset_seconds,
            },
            _,
        ) => {
            let utc = (micros - i64::from(offset_seconds) * 1_000_000).rem_euclid(86_400_000_000);
            let mut s = String::with_capacity(20);
            push_time_of_day(&mut s, utc, None);
            s.push('Z');
            Value::String(s)
        }
        (PgValue::Timestamp(ts), _) => {
            let us = match ts {
                PgTimestamp::Micros(us) => us,
                PgTimestamp::PosInfinity => TIMESTAMP_POS_INFINITY_MICROS,
                PgTimestamp::NegInfinity => TIMESTAMP_NEG_INFINITY_MICROS,
            };
            let millis = matches!(modes.time_precision, TimePrecisionMode::Connect)
                || ty.time_precision() <= 3;
            if millis {
                Value::Int64(us.div_euclid(1000))
            } else {
                Value::Int64(us)
            }
        }
        (PgValue::TimestampTz(ts), _) => Value::String(match ts {
            PgTimestamp::Micros(us) => format_zoned_timestamp(us, ty.time_precision()),
            PgTimestamp::PosInfinity => "infinity".into(),
            PgTimestamp::NegInfinity => "-infinity".into(),
        }),
        (
            PgValue::Interval {
                months,
                days,
                micros,
            },
            _,
        ) => match modes.interval {
            IntervalHandlingMode::Numeric => {
                let total = f64::from(months) * DAYS_PER_MONTH_AVG * MICROS_PER_DAY
                    + f64::from(days) * MICROS_PER_DAY
                    + micros as f64;
                Value::Int64(total.round() as i64)
            }
            IntervalHandlingMode::String => Value::String(iso_interval(months, days, micros)),
        },
        (PgValue::Text(s), PgType::Bit | PgType::Varbit) if ty.typmod == 1 => {
            Value::Boolean(s.contains('1'))
        }
        (PgValue::Text(s), PgType::Bit | PgType::Varbit) => Value::Bytes(bits_to_bytes(&s)),
        (PgValue::Text(s), _) => Value::String(s),
        (PgValue::Point { x, y }, _) => {
            let mut wkb = Vec::with_capacity(21);
            wkb.push(1u8);
            wkb.extend_from_slice(&1u32.to_le_bytes());
            wkb.extend_from_slice(&x.to_le_bytes());
            wkb.extend_from_slice(&y.to_le_bytes());
            Value::Struct(vec![
                Value::Float64(x),
                Value::Float64(y),
                Value::Bytes(wkb),
                Value::Null,
            ])
        }
        (PgValue::Hstore(pairs), _) => match modes.hstore {
            HstoreHandlingMode::Json => {
                let map: serde_json::Map<String, serde_json::Value> = pairs
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            v.map_or(serde_json::Value::Null, serde_json::Value::String),
                        )
                    })
                    .collect();
                Value::String(serde_json::Value::Object(map).to_string())
            }
            HstoreHandlingMode::Map => Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Value::String(k), v.map_or(Value::Null, Value::String)))
                    .collect(),
            ),
        },
        (PgValue::Array(items), pg) => {
            let element = match pg {
                PgType::Array(e) => ty.element(e),
                _ => ty.clone(),
            };
            Value::Array(
                items
                    .into_iter()
                    .map(|item| item.map_or(Value::Null, |v| value(&element, modes, v)))
                    .collect(),
            )
        }
    }
}

fn numeric_value(n: &PgNumeric, column_scale: Option<u32>, modes: &Modes) -> Value {
    match modes.decimal {
        DecimalHandlingMode::Double => Value::Float64(match n {
            PgNumeric::NaN => f64::NAN,
            PgNumeric::PosInfinity => f64::INFINITY,
            PgNumeric::NegInfinity => f64::NEG_INFINITY,
            PgNumeric::Finite(d) => d.to_f64(),
        }),
        // Debezium's `BigDecimal.toString()` (not `toPlainString()`): `1E-7` for 0.0000001.
        DecimalHandlingMode::String => Value::String(match n {
            PgNumeric::NaN => "NaN".into(),
            PgNumeric::PosInfinity => "Infinity".into(),
            PgNumeric::NegInfinity => "-Infinity".into(),
            PgNumeric::Finite(d) => match column_scale {
                Some(scale) => d.rescale(scale).to_java_string(),
                None => d.to_java_string(),
            },
        }),
        // Connect's Decimal cannot carry NaN or infinities: they become null, as in Debezium.
        DecimalHandlingMode::Precise => match n {
            PgNumeric::Finite(d) => match column_scale {
                Some(scale) => Value::Bytes(d.rescale(scale).to_unscaled_be_bytes()),
                None => variable_scale(d),
            },
            _ => Value::Null,
        },
    }
}

/// Debezium strips trailing zeros before building a `VariableScaleDecimal` (`1.50` → scale 1).
fn variable_scale(d: &Decimal) -> Value {
    let d = d.strip_trailing_zeros();
    Value::Struct(vec![
        Value::Int32(d.scale() as i32),
        Value::Bytes(d.to_unscaled_be_bytes()),
    ])
}

/// Debezium reads money through pgjdbc's `PGmoney`, a `double`: `string` mode prints that double
/// with Java's `Double.toString` (`1234.5`, not `1234.50`); `precise` rescales it to
/// `money.fraction.digits` (half-up) and `double` passes it on.
fn money_value(n: &PgNumeric, modes: &Modes) -> Value {
    match (modes.decimal, n) {
        (DecimalHandlingMode::String, PgNumeric::Finite(d)) => {
            let mut out = Vec::new();
            crate::converter::json::write_java_double(&mut out, d.to_f64());
            Value::String(String::from_utf8(out).unwrap_or_default())
        }
        _ => numeric_value(n, Some(modes.money_fraction_digits), modes),
    }
}

fn binary_value(b: Vec<u8>, modes: &Modes) -> Value {
    match modes.binary {
        BinaryHandlingMode::Bytes => Value::Bytes(b),
        BinaryHandlingMode::Base64 => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        BinaryHandlingMode::Base64UrlSafe => {
            Value::String(base64::engine::general_purpose::URL_SAFE.encode(b))
        }
        BinaryHandlingMode::Hex => {
            let mut s = String::with_capacity(b.len() * 2);
            for byte in b {
                s.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
                s.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
            }
            Value::String(s)
        }
    }
}

/// A bit string (`'0101'`, first character = most significant) as Java's `BitSet.toByteArray()`:
/// little-endian, trailing zero bytes dropped.
fn bits_to_bytes(bits: &str) -> Vec<u8> {
    let chars: Vec<u8> = bits.bytes().collect();
    let n = chars.len();
    let mut out = vec![0u8; n.div_ceil(8)];
    for (i, c) in chars.iter().enumerate() {
        if *c == b'1' {
            let bit = n - 1 - i;
            out[bit / 8] |= 1 << (bit % 8);
        }
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// `HH:MM:SS[.fraction]` for µs since midnight; `digits` fixes the fraction width, `None` trims.
/// Runs once per time value per row: digits go one by one into a String sized once by the
/// caller, rather than through several `format!`s.
fn push_time_of_day(s: &mut String, us: i64, digits: Option<u32>) {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    if us < 0 {
        // Not produced by the callers (they pass a time of day); kept as it always printed.
        let _ = write!(
            s,
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        let f = format!("{frac:06}");
        match digits {
            Some(0) => {}
            Some(d) => {
                s.push('.');
                s.push_str(f.get(..d.min(6) as usize).unwrap_or(&f));
            }
            None if frac != 0 => {
                s.push('.');
                s.push_str(f.trim_end_matches('0'));
            }
            None => {}
        }
        return;
    }
    push_padded(s, secs / 3600, 2);
    s.push(':');
    push_padded(s, (secs / 60) % 60, 2);
    s.push(':');
    push_padded(s, secs % 60, 2);
    let width = match digits {
        Some(d) => d.min(6) as usize,
        None if frac != 0 => 6,
        None => 0,
    };
    if width == 0 {
        return;
    }
    let mut f = [b'0'; 6];
    fill_digits(&mut f, frac.unsigned_abs());
    let mut end = width;
    if digits.is_none() {
        while end > 0 && f[end - 1] == b'0' {
            end -= 1;
        }
    }
    s.push('.');
    s.extend(f[..end].iter().map(|&b| char::from(b)));
}

/// `v` in decimal, at least `width` digits (zero-padded), for `v >= 0`.
fn push_padded(s: &mut String, v: i64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(v);
    for _ in digits.len()..width {
        s.push('0');
    }
    s.push_str(digits);
}

/// The low `out.len()` decimal digits of `v`, zero-padded, into `out`.
fn fill_digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `2024-01-02T01:04:05.123456Z`: UTC, with the column's fractional precision.
fn format_zoned_timestamp(us: i64, precision: u32) -> String {
    let days = us.div_euclid(86_400_000_000);
    let time = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let mut s = String::with_capacity(32);
    if (0..=9999).contains(&y) {
        push_padded(&mut s, y, 4);
    } else {
        let _ = write!(s, "{y:+05}");
    }
    s.push('-');
    push_padded(&mut s, i64::from(m), 2);
    s.push('-');
    push_padded(&mut s, i64::from(d), 2);
    s.push('T');
    push_time_of_day(&mut s, time, Some(precision));
    s.push('Z');
    s
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Debezium's `io.debezium.time.Interval`: `P<y>Y<m>M<d>DT<h>H<m>M<s>S`.
fn iso_interval(months: i32, days: i32, micros: i64) -> String {
    let years = months / 12;
    let months = months % 12;
    let hours = micros / 3_600_000_000;
    let minutes = (micros / 60_000_000) % 60;
    let sec_micros = micros % 60_000_000;
    let seconds = if sec_micros % 1_000_000 == 0 {
        format!("{}", sec_micros / 1_000_000)
    } else {
        let s = format!("{:.6}", sec_micros as f64 / 1_000_000.0);
        s.trim_end_matches('0').to_string()
    };
    format!("P{years}Y{months}M{days}DT{hours}H{minutes}M{seconds}S")
}

/// The value Debezium puts in a required column that the event does not carry (a key-only
/// `before` image): the column default if any, else the type's empty value.
pub fn absent_required_value(schema: &Schema) -> Value {
    if let Some(default) = &schema.default {
        return default.clone();
    }
    match schema.ty {
        SchemaType::Boolean => Value::Boolean(false),
        SchemaType::Int8 => Value::Int8(0),
        SchemaType::Int16 => Value::Int16(0),
        SchemaType::Int32 => Value::Int32(0),
        SchemaType::Int64 => Value::Int64(0),
        SchemaType::Float32 => Value::Float32(0.0),
        SchemaType::Float64 => Value::Float64(0.0),
        SchemaType::String => Value::String(String::new()),
        SchemaType::Bytes => Value::Bytes(Vec::new()),
        SchemaType::Array => Value::Array(Vec::new()),
        SchemaType::Map => Value::Map(Vec::new()),
        SchemaType::Struct => Value::Struct(
            schema
                .fields
                .iter()
                .map(|f| absent_required_value(&f.schema))
                .collect(),
        ),
    }
}

/// Debezium's placeholder for an unchanged TOASTed value, under the column's schema
/// (`unavailable.value.placeholder`). Types that cannot carry it get null.
pub fn unavailable_value(schema: &Schema, modes: &Modes) -> Value {
    match schema.ty {
        SchemaType::String => Value::String(modes.unavailable_placeholder.to_string()),
        SchemaType::Bytes => Value::Bytes(modes.unavailable_placeholder.as_bytes().to_vec()),
        SchemaType::Array => match schema.items.as_deref() {
            Some(items) if matches!(items.ty, SchemaType::String | SchemaType::Bytes) => {
                Value::Array(vec![unavailable_value(items, modes)])
            }
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes() -> Modes {
        Modes {
            decimal: DecimalHandlingMode::Precise,
            binary: BinaryHandlingMode::Bytes,
            time_precision: TimePrecisionMode::Adaptive,
            interval: IntervalHandlingMode::Numeric,
            hstore: HstoreHandlingMode::Json,
            money_fraction_digits: 2,
            unavailable_placeholder: "__debezium_unavailable_value".into(),
        }
    }

    #[test]
    fn interval_as_debezium_renders_it() {
        let micros = ((4 * 60 + 5) * 60 + 6) * 1_000_000 + 500_000;
        let ty = ColumnType {
            pg: PgType::Interval,
            typmod: -1,
            enum_labels: vec![],
            type_name: "interval".into(),
        };
        let v = PgValue::Interval {
            months: 14,
            days: 3,
            micros,
        };
        assert_eq!(
            value(&ty, &modes(), v.clone()),
            Value::Int64(37_091_106_500_000)
        );
        let mut m = modes();
        m.interval = IntervalHandlingMode::String;
        assert_eq!(value(&ty, &m, v), Value::String("P1Y2M3DT4H5M6.5S".into()));
    }

    #[test]
    fn zoned_timestamp_is_utc_with_six_digits() {
        assert_eq!(
            format_zoned_timestamp(1_704_157_445_123_456, 6),
            "2024-01-02T01:04:05.123456Z"
        );
        assert_eq!(format_zoned_timestamp(0, 6), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_zoned_timestamp(946_684_799_999_999, 6),
            "1999-12-31T23:59:59.999999Z"
        );
    }

    /// The `format!` rendering these functions replaced, kept as the reference.
    fn reference_time_of_day(us: i64, digits: Option<u32>) -> String {
        let secs = us / 1_000_000;
        let frac = us % 1_000_000;
        let mut s = format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        match digits {
            Some(0) => {}
            Some(d) => {
                let f = format!("{frac:06}");
                s.push('.');
                s.push_str(&f[..d.min(6) as usize]);
            }
            None if frac != 0 => {
                let f = format!("{frac:06}");
                s.push('.');
                s.push_str(f.trim_end_matches('0'));
            }
            None => {}
        }
        s
    }

    fn reference_zoned(us: i64, precision: u32) -> String {
        let days = us.div_euclid(86_400_000_000);
        let time = us.rem_euclid(86_400_000_000);
        let (y, m, d) = civil_from_days(days);
        let date = if (0..=9999).contains(&y) {
            format!("{y:04}-{m:02}-{d:02}")
        } else {
            format!("{y:+05}-{m:02}-{d:02}")
        };
        format!("{date}T{}Z", reference_time_of_day(time, Some(precision)))
    }

    #[test]
    fn time_rendering_matches_the_format_reference() {
        let mut rng_state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state
        };
        let mut samples: Vec<i64> = vec![
            0,
            1,
            999_999,
            1_000_000,
            86_399_999_999,
            86_400_000_000,
            -1,
            -1_500_000,
            TIMESTAMP_POS_INFINITY_MICROS,
            TIMESTAMP_NEG_INFINITY_MICROS,
            -62_135_596_800_000_000, // 0001-01-01
            -62_167_219_200_000_001, // just before year 0
            253_402_300_800_000_000, // 10000-01-01
        ];
        for _ in 0..20_000 {
            samples.push((next() % 20_000_000_000_000_000) as i64 - 10_000_000_000_000_000);
            samples.push((next() % 86_400_000_000) as i64);
        }
        for &us in &samples {
            for p in 0..=7 {
                assert_eq!(
                    format_zoned_timestamp(us, p),
                    reference_zoned(us, p),
                    "{us} {p}"
                );
            }
            for digits in [None, Some(0), Some(3), Some(6)] {
                let mut s = String::new();
                push_time_of_day(&mut s, us, digits);
                assert_eq!(s, reference_time_of_day(us, digits), "{us} {digits:?}");
            }
        }
    }

    #[test]
    fn bits_are_little_endian_like_bitset() {
        assert_eq!(bits_to_bytes("10100101"), vec![0xa5]);
        assert_eq!(bits_to_bytes("100000000"), vec![0x00, 0x01]);
        assert_eq!(bits_to_bytes("0000"), Vec::<u8>::new());
    }
}
