//! MySQL / MariaDB column types → Kafka Connect schemas and values, as Debezium's MySQL
//! connector maps them, under every handling mode.
//!
//! ```text
//! binlog row (mysql_common BinlogValue) ─┐
//!                                        ├─> Raw (one normal form) ─> value(column, modes) ─> Value
//! snapshot row (text protocol bytes) ────┘
//! ```
//! Both paths meet in [`Raw`], so a row read by the snapshot and the same row read from the
//! binlog give the same `after` image. The binlog carries no signedness on MariaDB (and on
//! MySQL only with `binlog_row_metadata=FULL`): integers are re-read as unsigned here when
//! the table definition says so.

use base64::Engine as _;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value as MyValue;
use sluice_config::mysql::BigintUnsignedHandlingMode;
use sluice_config::{BinaryHandlingMode, DecimalHandlingMode, TimePrecisionMode};
use sluice_decoders::pgvalue::Decimal;

use crate::connect::{Schema, SchemaType, Value};

/// The handling modes that shape values.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    pub decimal: DecimalHandlingMode,
    pub binary: BinaryHandlingMode,
    pub time_precision: TimePrecisionMode,
    pub bigint_unsigned: BigintUnsignedHandlingMode,
}

/// A column type as far as the mapping cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// TINYINT, SMALLINT, MEDIUMINT, INT, BIGINT: byte width.
    Int {
        bytes: u8,
        unsigned: bool,
    },
    /// BOOL / BOOLEAN written as such; TINYINT(1) stays `Int` (Debezium: INT16).
    Decimal {
        precision: u32,
        scale: u32,
    },
    Float,
    Double,
    /// BIT(n).
    Bit(u32),
    /// CHAR, VARCHAR, TEXT family; `latin1` charsets are decoded byte by byte.
    Text {
        latin1: bool,
    },
    /// BINARY, VARBINARY, BLOB family.
    Binary,
    Date,
    /// TIME(fsp).
    Time(u32),
    /// DATETIME(fsp).
    DateTime(u32),
    /// TIMESTAMP(fsp).
    Timestamp(u32),
    Year,
    Enum(Vec<String>),
    Set(Vec<String>),
    /// MySQL JSON (MariaDB's JSON is LONGTEXT and maps as text).
    Json,
    /// GEOMETRY and other types without a mapping here: the raw bytes.
    Other(String),
}

impl Kind {
    /// From a column definition's parts (`type_name` is the upper-case base type).
    pub fn from_definition(
        type_name: &str,
        length: Option<u64>,
        scale: Option<u32>,
        unsigned: bool,
        charset: Option<&str>,
        enum_values: &[String],
    ) -> Kind {
        let fsp = || scale.or(length.map(|l| l as u32)).unwrap_or(0).min(6);
        let latin1 = charset.is_some_and(|c| c.to_ascii_lowercase().starts_with("latin1"));
        match type_name {
            "TINYINT" => Kind::Int { bytes: 1, unsigned },
            "BOOL" | "BOOLEAN" => Kind::Int {
                bytes: 1,
                unsigned: false,
            },
            "SMALLINT" => Kind::Int { bytes: 2, unsigned },
            "MEDIUMINT" => Kind::Int { bytes: 3, unsigned },
            "INT" | "INTEGER" => Kind::Int { bytes: 4, unsigned },
            "BIGINT" => Kind::Int { bytes: 8, unsigned },
            "SERIAL" => Kind::Int {
                bytes: 8,
                unsigned: true,
            },
            "DECIMAL" | "NUMERIC" | "DEC" | "FIXED" => Kind::Decimal {
                precision: length.map_or(10, |l| l as u32),
                scale: scale.unwrap_or(0),
            },
            "FLOAT" => Kind::Float,
            "DOUBLE" | "REAL" | "DOUBLE PRECISION" => Kind::Double,
            "BIT" => Kind::Bit(length.map_or(1, |l| l as u32)),
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "NCHAR"
            | "NVARCHAR" | "CHARACTER" | "LONG" => {
                if charset.is_some_and(|c| c.eq_ignore_ascii_case("binary")) {
                    Kind::Binary
                } else {
                    Kind::Text { latin1 }
                }
            }
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                Kind::Binary
            }
            "DATE" => Kind::Date,
            "TIME" => Kind::Time(fsp()),
            "DATETIME" => Kind::DateTime(fsp()),
            "TIMESTAMP" => Kind::Timestamp(fsp()),
            "YEAR" => Kind::Year,
            "ENUM" => Kind::Enum(enum_values.to_vec()),
            "SET" => Kind::Set(enum_values.to_vec()),
            "JSON" => Kind::Json,
            other => Kind::Other(other.to_owned()),
        }
    }
}

/// The value schema of a column of `kind` (optionality and default are the caller's).
pub fn schema(kind: &Kind, modes: &Modes) -> Schema {
    use SchemaType as T;
    let connect = matches!(modes.time_precision, TimePrecisionMode::Connect);
    match kind {
        Kind::Int { bytes, unsigned } => match (bytes, unsigned) {
            (1, _) | (2, false) => Schema::new(T::Int16),
            (2, true) | (3, _) | (4, false) => Schema::new(T::Int32),
            (4, true) | (8, false) => Schema::new(T::Int64),
            _ => match modes.bigint_unsigned {
                BigintUnsignedHandlingMode::Long => Schema::new(T::Int64),
                BigintUnsignedHandlingMode::Precise => decimal_schema(20, 0),
            },
        },
        Kind::Decimal { precision, scale } => match modes.decimal {
            DecimalHandlingMode::Precise => decimal_schema(*precision, *scale),
            DecimalHandlingMode::Double => Schema::new(T::Float64),
            DecimalHandlingMode::String => Schema::new(T::String),
        },
        Kind::Float => Schema::new(T::Float32),
        Kind::Double => Schema::new(T::Float64),
        Kind::Bit(1) => Schema::new(T::Boolean),
        Kind::Bit(n) => logical(T::Bytes, "io.debezium.data.Bits").param("length", n.to_string()),
        Kind::Text { .. } | Kind::Other(_) => Schema::new(T::String),
        Kind::Binary => match modes.binary {
            BinaryHandlingMode::Bytes => Schema::new(T::Bytes),
            _ => Schema::new(T::String),
        },
        Kind::Date if connect => logical(T::Int32, "org.apache.kafka.connect.data.Date"),
        Kind::Date => logical(T::Int32, "io.debezium.time.Date"),
        Kind::Time(_) if connect => logical(T::Int32, "org.apache.kafka.connect.data.Time"),
        Kind::Time(_) => logical(T::Int64, "io.debezium.time.MicroTime"),
        Kind::DateTime(_) if connect => {
            logical(T::Int64, "org.apache.kafka.connect.data.Timestamp")
        }
        Kind::DateTime(fsp) if *fsp <= 3 => logical(T::Int64, "io.debezium.time.Timestamp"),
        Kind::DateTime(_) => logical(T::Int64, "io.debezium.time.MicroTimestamp"),
        Kind::Timestamp(_) => logical(T::String, "io.debezium.time.ZonedTimestamp"),
        Kind::Year => logical(T::Int32, "io.debezium.time.Year"),
        Kind::Enum(values) => {
            logical(T::String, "io.debezium.data.Enum").param("allowed", values.join(","))
        }
        Kind::Set(values) => {
            logical(T::String, "io.debezium.data.EnumSet").param("allowed", values.join(","))
        }
        Kind::Json => logical(T::String, "io.debezium.data.Json"),
    }
}

fn logical(ty: SchemaType, name: &str) -> Schema {
    Schema::new(ty).named(name).version(1)
}

fn decimal_schema(precision: u32, scale: u32) -> Schema {
    Schema::new(SchemaType::Bytes)
        .named("org.apache.kafka.connect.data.Decimal")
        .version(1)
        .param("scale", scale.to_string())
        .param("connect.decimal.precision", precision.to_string())
}

/// One column value in a form shared by the binlog and the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Null,
    Signed(i64),
    Unsigned(u64),
    Float(f32),
    Double(f64),
    /// Decimal text (`-12.50`).
    Decimal(String),
    /// Text or binary bytes as stored.
    Bytes(Vec<u8>),
    /// BIT value, most significant byte first.
    Bits(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds (may be negative or above a day).
    Time(i64),
    /// Microseconds since 1970-01-01 00:00 of the wall-clock value (DATETIME).
    DateTime(i64),
    /// Microseconds since the epoch, UTC (TIMESTAMP).
    Timestamp(i64),
    Year(i32),
    /// ENUM or SET rendered as text.
    Label(String),
    /// JSON text.
    Json(String),
}

/// Why a value could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct RawError {
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> RawError {
    RawError {
        reason: reason.into(),
    }
}

/// A binlog row value of a column of `kind`.
pub fn from_binlog(kind: &Kind, value: Option<&BinlogValue<'_>>) -> Result<Raw, RawError> {
    let value = match value {
        None | Some(BinlogValue::Value(MyValue::NULL)) => return Ok(Raw::Null),
        Some(BinlogValue::Jsonb(j)) => {
            let json = serde_json::Value::try_from(j.clone())
                .map_err(|e| bad(format!("invalid binary JSON: {e}")))?;
            return Ok(Raw::Json(json.to_string()));
        }
        Some(BinlogValue::JsonDiff(_)) => {
            return Err(bad(
                "partial JSON update (binlog_row_value_options=PARTIAL_JSON): set binlog_row_value_options='' on the server",
            ))
        }
        Some(BinlogValue::Value(v)) => v,
    };
    Ok(match (kind, value) {
        (Kind::Int { bytes, unsigned }, MyValue::Int(i)) => {
            if *unsigned {
                let mask: u64 = match bytes {
                    1 => 0xff,
                    2 => 0xffff,
                    3 => 0xff_ffff,
                    4 => 0xffff_ffff,
                    _ => u64::MAX,
                };
                Raw::Unsigned(*i as u64 & mask)
            } else {
                Raw::Signed(*i)
            }
        }
        (Kind::Int { .. }, MyValue::UInt(u)) => Raw::Unsigned(*u),
        (Kind::Float, MyValue::Float(f)) => Raw::Float(*f),
        (Kind::Float, MyValue::Double(f)) => Raw::Float(*f as f32),
        (Kind::Double, MyValue::Double(f)) => Raw::Double(*f),
        (Kind::Double, MyValue::Float(f)) => Raw::Double(f64::from(*f)),
        (Kind::Decimal { .. }, MyValue::Bytes(b)) => Raw::Decimal(utf8(b)?),
        (Kind::Bit(_), MyValue::Bytes(b)) => Raw::Bits(b.clone()),
        (Kind::Text { .. } | Kind::Binary | Kind::Other(_), MyValue::Bytes(b)) => {
            Raw::Bytes(b.clone())
        }
        (Kind::Json, MyValue::Bytes(b)) => Raw::Json(utf8(b)?),
        (Kind::Date, MyValue::Date(y, m, d, ..)) => date(*y, *m, *d)?,
        (Kind::DateTime(_), MyValue::Date(y, mo, d, h, mi, s, us)) => {
            datetime(*y, *mo, *d, *h, *mi, *s, *us)?
        }
        (Kind::Time(_), MyValue::Time(neg, days, h, m, s, us)) => {
            let total = ((i64::from(*days) * 24 + i64::from(*h)) * 60 + i64::from(*m)) * 60
                + i64::from(*s);
            let us = total * 1_000_000 + i64::from(*us);
            Raw::Time(if *neg { -us } else { us })
        }
        // TIMESTAMP2: "seconds[.micros]" since the epoch, UTC; old TIMESTAMP: seconds.
        (Kind::Timestamp(_), MyValue::Bytes(b)) => {
            let text = utf8(b)?;
            let (secs, frac) = text.split_once('.').unwrap_or((&text, ""));
            let secs: i64 = secs.parse().map_err(|_| bad(format!("timestamp {text}")))?;
            Raw::Timestamp(secs * 1_000_000 + fraction_micros(frac)?)
        }
        (Kind::Timestamp(_), MyValue::Int(secs)) => Raw::Timestamp(secs * 1_000_000),
        (Kind::Year, MyValue::Bytes(b)) => {
            let year: i32 = utf8(b)?.parse().map_err(|_| bad("year"))?;
            // mysql_common renders the stored 0 (YEAR 0000) as 1900.
            Raw::Year(if year == 1900 { 0 } else { year })
        }
        (Kind::Year, MyValue::Int(y)) => Raw::Year(*y as i32),
        (Kind::Enum(values), MyValue::Int(index)) => Raw::Label(
            usize::try_from(*index)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| values.get(i))
                .cloned()
                .unwrap_or_default(),
        ),
        (Kind::Set(values), MyValue::Bytes(mask)) => {
            let labels: Vec<&str> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| mask.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
                .map(|(_, v)| v.as_str())
                .collect();
            Raw::Label(labels.join(","))
        }
        (kind, value) => {
            return Err(bad(format!(
                "binlog value {value:?} does not fit the column type {kind:?}: the table definition and the binlog disagree (was the table changed by DDL that was not captured?)"
            )))
        }
    })
}

/// A value of the text protocol (snapshot SELECT with `time_zone='+00:00'`).
pub fn from_text(kind: &Kind, text: Option<&[u8]>) -> Result<Raw, RawError> {
    let Some(bytes) = text else {
        return Ok(Raw::Null);
    };
    let s = || std::str::from_utf8(bytes).map_err(|_| bad("not utf-8"));
    Ok(match kind {
        Kind::Int { unsigned: true, .. } => Raw::Unsigned(
            s()?.parse()
                .map_err(|_| bad(format!("integer {}", String::from_utf8_lossy(bytes))))?,
        ),
        Kind::Int { .. } => Raw::Signed(
            s()?.parse()
                .map_err(|_| bad(format!("integer {}", String::from_utf8_lossy(bytes))))?,
        ),
        Kind::Float => Raw::Float(s()?.parse().map_err(|_| bad("float"))?),
        Kind::Double => Raw::Double(s()?.parse().map_err(|_| bad("double"))?),
        Kind::Decimal { .. } => Raw::Decimal(s()?.to_owned()),
        Kind::Bit(_) => Raw::Bits(bytes.to_vec()),
        Kind::Text { .. } | Kind::Binary | Kind::Other(_) => Raw::Bytes(bytes.to_vec()),
        Kind::Json => Raw::Json(s()?.to_owned()),
        Kind::Date => {
            let (y, m, d) = parse_date(s()?)?;
            date(y, m, d)?
        }
        Kind::DateTime(_) | Kind::Timestamp(_) => {
            let text = s()?;
            let (day, time) = text.split_once(' ').unwrap_or((text, "00:00:00"));
            let (y, mo, d) = parse_date(day)?;
            let us = parse_time(time)?;
            let (h, mi, sec, frac) = (
                (us / 3_600_000_000) as u8,
                ((us / 60_000_000) % 60) as u8,
                ((us / 1_000_000) % 60) as u8,
                (us % 1_000_000) as u32,
            );
            match datetime(y, mo, d, h, mi, sec, frac)? {
                Raw::DateTime(v) if matches!(kind, Kind::Timestamp(_)) => Raw::Timestamp(v),
                other => other,
            }
        }
        Kind::Time(_) => Raw::Time(parse_time(s()?)?),
        Kind::Year => Raw::Year(s()?.parse().map_err(|_| bad("year"))?),
        Kind::Enum(_) | Kind::Set(_) => Raw::Label(s()?.to_owned()),
    })
}

/// The Connect value of `raw` for a column of `kind`.
pub fn value(kind: &Kind, modes: &Modes, raw: Raw) -> Value {
    let connect = matches!(modes.time_precision, TimePrecisionMode::Connect);
    match (kind, raw) {
        (_, Raw::Null) => Value::Null,
        (Kind::Int { bytes, unsigned }, raw) => {
            let n: i128 = match raw {
                Raw::Signed(i) => i128::from(i),
                Raw::Unsigned(u) => i128::from(u),
                _ => 0,
            };
            match (bytes, unsigned) {
                (1, _) | (2, false) => Value::Int16(n as i16),
                (2, true) | (3, _) | (4, false) => Value::Int32(n as i32),
                (4, true) | (8, false) => Value::Int64(n as i64),
                _ => match modes.bigint_unsigned {
                    // Debezium wraps values above i64::MAX (18446744073709551615 -> -1).
                    BigintUnsignedHandlingMode::Long => Value::Int64(n as u64 as i64),
                    BigintUnsignedHandlingMode::Precise => Value::Bytes(unscaled_bytes(n)),
                },
            }
        }
        (Kind::Decimal { scale, .. }, Raw::Decimal(text)) => match Decimal::parse(&text) {
            Ok(d) => match modes.decimal {
                DecimalHandlingMode::Precise => {
                    Value::Bytes(d.rescale(*scale).to_unscaled_be_bytes())
                }
                DecimalHandlingMode::Double => Value::Float64(d.to_f64()),
                // Debezium's MySQL connector prints `toPlainString()` (`-0.0000000001`, not `-1E-10`).
                DecimalHandlingMode::String => Value::String(d.rescale(*scale).to_plain_string()),
            },
            Err(_) => Value::Null,
        },
        (Kind::Float, Raw::Float(f)) => Value::Float32(f),
        (Kind::Float, Raw::Double(f)) => Value::Float32(f as f32),
        (Kind::Double, Raw::Double(f)) => Value::Float64(f),
        (Kind::Double, Raw::Float(f)) => Value::Float64(f64::from(f)),
        (Kind::Bit(1), Raw::Bits(b)) => Value::Boolean(b.iter().any(|x| *x != 0)),
        (Kind::Bit(n), Raw::Bits(mut b)) => {
            // Most significant byte first on the wire; Debezium emits little-endian bytes.
            let len = (*n as usize).div_ceil(8);
            while b.len() < len {
                b.insert(0, 0);
            }
            b.reverse();
            Value::Bytes(b)
        }
        (Kind::Text { latin1 }, Raw::Bytes(b)) => Value::String(text(*latin1, b)),
        (Kind::Binary | Kind::Other(_), Raw::Bytes(b)) => binary_value(b, modes),
        (Kind::Json, Raw::Json(s)) => Value::String(s),
        (Kind::Json, Raw::Bytes(b)) => Value::String(text(false, b)),
        (Kind::Date, Raw::Date(days)) => Value::Int32(days),
        (Kind::Time(_), Raw::Time(us)) if connect => Value::Int32((us / 1000) as i32),
        (Kind::Time(_), Raw::Time(us)) => Value::Int64(us),
        (Kind::DateTime(_), Raw::DateTime(us)) if connect => Value::Int64(us.div_euclid(1000)),
        (Kind::DateTime(fsp), Raw::DateTime(us)) if *fsp <= 3 => Value::Int64(us.div_euclid(1000)),
        (Kind::DateTime(_), Raw::DateTime(us)) => Value::Int64(us),
        (Kind::Timestamp(fsp), Raw::Timestamp(us)) => Value::String(zoned(us, *fsp)),
        (Kind::Year, Raw::Year(y)) => Value::Int32(y),
        (Kind::Enum(_) | Kind::Set(_), Raw::Label(s)) => Value::String(s),
        (Kind::Text { .. }, Raw::Label(s)) => Value::String(s),
        // Mismatches were rejected when the Raw was made; anything left is a null.
        _ => Value::Null,
    }
}

fn text(latin1: bool, b: Vec<u8>) -> String {
    if latin1 {
        b.into_iter().map(char::from).collect()
    } else {
        match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
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

/// Java `BigInteger.toByteArray()`: minimal two's complement, big-endian.
fn unscaled_bytes(n: i128) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// `YYYY-MM-DDTHH:MM:SS[.f{fsp}]Z`, as Debezium's ZonedTimestamp with the column's precision.
fn zoned(us: i64, fsp: u32) -> String {
    let days = us.div_euclid(86_400_000_000);
    let in_day = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let secs = in_day / 1_000_000;
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if fsp > 0 {
        let frac = format!("{:06}", in_day % 1_000_000);
        s.push('.');
        s.push_str(&frac[..fsp.min(6) as usize]);
    }
    s.push('Z');
    s
}

fn utf8(b: &[u8]) -> Result<String, RawError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("not utf-8"))
}

fn fraction_micros(frac: &str) -> Result<i64, RawError> {
    if frac.is_empty() {
        return Ok(0);
    }
    let digits: String = frac.chars().take(6).collect();
    let n: i64 = digits
        .parse()
        .map_err(|_| bad(format!("fraction {frac}")))?;
    Ok(n * 10i64.pow(6 - digits.len() as u32))
}

fn parse_date(s: &str) -> Result<(u16, u8, u8), RawError> {
    let mut parts = s.splitn(3, '-');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| bad(format!("date {s}")))
    };
    Ok((next()?, next()? as u8, next()? as u8))
}

/// `[-]HHH:MM:SS[.ffffff]` → microseconds.
fn parse_time(s: &str) -> Result<i64, RawError> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (hms, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut parts = hms.splitn(3, ':');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or_else(|| bad(format!("time {s}")))
    };
    let us = ((next()? * 60 + next()?) * 60 + next()?) * 1_000_000 + fraction_micros(frac)?;
    Ok(if neg { -us } else { us })
}

fn date(y: u16, m: u8, d: u8) -> Result<Raw, RawError> {
    if m == 0 || d == 0 {
        // Zero dates ('0000-00-00') have no calendar day: Debezium emits null.
        return Ok(Raw::Null);
    }
    Ok(Raw::Date(
        days_from_civil(i64::from(y), u32::from(m), u32::from(d)) as i32,
    ))
}

fn datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> Result<Raw, RawError> {
    if mo == 0 || d == 0 {
        return Ok(Raw::Null);
    }
    let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    Ok(Raw::DateTime(secs * 1_000_000 + i64::from(us)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes() -> Modes {
        Modes {
            decimal: DecimalHandlingMode::Precise,
            binary: BinaryHandlingMode::Bytes,
            time_precision: TimePrecisionMode::AdaptiveTimeMicroseconds,
            bigint_unsigned: BigintUnsignedHandlingMode::Long,
        }
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(2024, 2, 29), 19782);
        assert_eq!(days_from_civil(1900, 1, 1), -25567);
        assert_eq!(civil_from_days(19782), (2024, 2, 29));
        assert_eq!(zoned(1_704_164_645_123_000, 3), "2024-01-02T03:04:05.123Z");
        assert_eq!(zoned(1_000_000, 3), "1970-01-01T00:00:01.000Z");
        assert_eq!(zoned(0, 0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn unsigned_integers_are_reread_from_signed_binlog_values() {
        let kind = Kind::Int {
            bytes: 4,
            unsigned: true,
        };
        let raw = from_binlog(&kind, Some(&BinlogValue::Value(MyValue::Int(-1)))).expect("decodes");
        assert_eq!(value(&kind, &modes(), raw), Value::Int64(4_294_967_295));
        let big = Kind::Int {
            bytes: 8,
            unsigned: true,
        };
        let raw = from_binlog(&big, Some(&BinlogValue::Value(MyValue::Int(-1)))).expect("decodes");
        assert_eq!(value(&big, &modes(), raw.clone()), Value::Int64(-1));
        let precise = Modes {
            bigint_unsigned: BigintUnsignedHandlingMode::Precise,
            ..modes()
        };
        assert_eq!(
            value(&big, &precise, raw),
            Value::Bytes(vec![0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        );
    }

    #[test]
    fn text_and_binlog_agree() {
        let cases: Vec<(Kind, MyValue, &str)> = vec![
            (
                Kind::DateTime(6),
                MyValue::Date(2024, 1, 2, 3, 4, 5, 123_456),
                "2024-01-02 03:04:05.123456",
            ),
            (
                Kind::Time(3),
                MyValue::Time(false, 0, 13, 14, 15, 500_000),
                "13:14:15.500",
            ),
            (
                Kind::Date,
                MyValue::Date(1900, 1, 1, 0, 0, 0, 0),
                "1900-01-01",
            ),
            (
                Kind::Decimal {
                    precision: 10,
                    scale: 2,
                },
                MyValue::Bytes(b"-99999999.99".to_vec()),
                "-99999999.99",
            ),
            (
                Kind::Timestamp(3),
                MyValue::Bytes(b"1704164645.123000".to_vec()),
                "2024-01-02 03:04:05.123",
            ),
        ];
        for (kind, binlog, text) in cases {
            let a = from_binlog(&kind, Some(&BinlogValue::Value(binlog))).expect("decodes");
            let b = from_text(&kind, Some(text.as_bytes())).expect("decodes");
            assert_eq!(
                value(&kind, &modes(), a),
                value(&kind, &modes(), b),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn enum_set_and_bits() {
        let e = Kind::Enum(vec!["sad".into(), "ok".into(), "happy".into()]);
        let raw = from_binlog(&e, Some(&BinlogValue::Value(MyValue::Int(3)))).expect("decodes");
        assert_eq!(value(&e, &modes(), raw), Value::String("happy".into()));
        let s = Kind::Set(vec!["a".into(), "b".into(), "c".into()]);
        let raw =
            from_binlog(&s, Some(&BinlogValue::Value(MyValue::Bytes(vec![5])))).expect("decodes");
        assert_eq!(value(&s, &modes(), raw), Value::String("a,c".into()));
        let bits = Kind::Bit(16);
        let raw = from_binlog(&bits, Some(&BinlogValue::Value(MyValue::Bytes(vec![1, 2]))))
            .expect("decodes");
        assert_eq!(value(&bits, &modes(), raw), Value::Bytes(vec![2, 1]));
    }
}
