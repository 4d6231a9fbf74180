//! pgvalue: Postgres **text-format** values into typed Rust values.
//!
//! This module owns the output formats of a session configured the way the
//! connector configures it (`DateStyle=ISO, MDY`, `IntervalStyle=postgres`,
//! `TimeZone=UTC`, `extra_float_digits=3`, `bytea_output=hex`), for the
//! built-in types plus the common extension types (citext, hstore, ltree)
//! and enums. The same text comes from pgoutput tuples and from snapshot
//! `COPY ... TO STDOUT`, so both paths share [`decode_text`]. Parsing is
//! lenient where that is cheap (any numeric UTC offset, `true`/`false`,
//! legacy escape-format bytea, `postgres_verbose` intervals), and
//! every failure is a [`DecodeError::InvalidValue`] naming the type and the
//! byte offset, never the value itself.
//!
//! ```text
//!  ColumnValue::Text(bytes) + PgType (from the Relation's type oid)
//!        └──► decode_text ──► PgValue
//! ```

mod datetime;
mod numeric;

use datetime::Scan;
pub use numeric::{Decimal, PgNumeric};

pub use crate::DecodeError;

/// Nesting deeper than this is rejected (Postgres allows 6 dimensions).
const MAX_ARRAY_DEPTH: usize = 16;

/// The Postgres type of a column, as far as decoding its text is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Varchar,
    Bpchar,
    Name,
    /// The single-byte `"char"` type.
    Char,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    Xml,
    Inet,
    Cidr,
    Macaddr,
    Macaddr8,
    Money,
    Bit,
    Varbit,
    Oid,
    Point,
    Ltree,
    Hstore,
    Citext,
    Enum,
    /// One-dimensional (or flattened) array of the element type.
    Array(Box<PgType>),
    /// Anything else: decoded as text.
    Unknown,
}

impl PgType {
    /// The type for a built-in type OID (scalars and their array types).
    /// Extension types (citext, hstore, ltree) and enums have per-database
    /// OIDs: resolve them by name with [`PgType::from_extension_name`] or
    /// from the `Type` message.
    pub fn from_builtin_oid(oid: u32) -> Option<PgType> {
        use PgType::*;
        let scalar = match oid {
            16 => Bool,
            17 => Bytea,
            18 => Char,
            19 => Name,
            20 => Int8,
            21 => Int2,
            23 => Int4,
            25 => Text,
            26 => Oid,
            114 => Json,
            142 => Xml,
            600 => Point,
            650 => Cidr,
            700 => Float4,
            701 => Float8,
            705 => Unknown,
            774 => Macaddr8,
            790 => Money,
            829 => Macaddr,
            869 => Inet,
            1042 => Bpchar,
            1043 => Varchar,
            1082 => Date,
            1083 => Time,
            1114 => Timestamp,
            1184 => TimestampTz,
            1186 => Interval,
            1266 => TimeTz,
            1560 => Bit,
            1562 => Varbit,
            1700 => Numeric,
            2950 => Uuid,
            3802 => Jsonb,
            _ => {
                let element = match oid {
                    1000 => Bool,
                    1001 => Bytea,
                    1002 => Char,
                    1003 => Name,
                    1005 => Int2,
                    1007 => Int4,
                    1009 => Text,
                    1014 => Bpchar,
                    1015 => Varchar,
                    1016 => Int8,
                    1017 => Point,
                    1021 => Float4,
                    1022 => Float8,
                    1028 => Oid,
                    1040 => Macaddr,
                    1041 => Inet,
                    651 => Cidr,
                    775 => Macaddr8,
                    791 => Money,
                    143 => Xml,
                    199 => Json,
                    3807 => Jsonb,
                    1115 => Timestamp,
                    1182 => Date,
                    1183 => Time,
                    1185 => TimestampTz,
                    1187 => Interval,
                    1231 => Numeric,
                    1270 => TimeTz,
                    1561 => Bit,
                    1563 => Varbit,
                    2951 => Uuid,
                    _ => return None,
                };
                return Some(Array(Box::new(element)));
            }
        };
        Some(scalar)
    }

    /// Extension types whose OIDs differ per database, by `pg_type.typname`
    /// (arrays as `_name`).
    pub fn from_extension_name(name: &str) -> Option<PgType> {
        match name {
            "citext" => Some(PgType::Citext),
            "hstore" => Some(PgType::Hstore),
            "ltree" => Some(PgType::Ltree),
            _ => name
                .strip_prefix('_')
                .and_then(PgType::from_extension_name)
                .filter(|t| !matches!(t, PgType::Array(_)))
                .map(|t| PgType::Array(Box::new(t))),
        }
    }

    /// Short type name used in error messages.
    pub fn name(&self) -> &'static str {
        use PgType::*;
        match self {
            Bool => "bool",
            Int2 => "int2",
            Int4 => "int4",
            Int8 => "int8",
            Float4 => "float4",
            Float8 => "float8",
            Numeric => "numeric",
            Text => "text",
            Varchar => "varchar",
            Bpchar => "bpchar",
            Name => "name",
            Char => "char",
            Bytea => "bytea",
            Date => "date",
            Time => "time",
            TimeTz => "timetz",
            Timestamp => "timestamp",
            TimestampTz => "timestamptz",
            Interval => "interval",
            Uuid => "uuid",
            Json => "json",
            Jsonb => "jsonb",
            Xml => "xml",
            Inet => "inet",
            Cidr => "cidr",
            Macaddr => "macaddr",
            Macaddr8 => "macaddr8",
            Money => "money",
            Bit => "bit",
            Varbit => "varbit",
            Oid => "oid",
            Point => "point",
            Ltree => "ltree",
            Hstore => "hstore",
            Citext => "citext",
            Enum => "enum",
            Array(_) => "array",
            Unknown => "unknown",
        }
    }
}

/// A decoded value. Types without a richer representation keep their text.
#[derive(Debug, Clone, PartialEq)]
pub enum PgValue {
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    Numeric(PgNumeric),
    /// text, varchar, bpchar (padding kept), name, "char", citext, enum label,
    /// xml, inet, cidr, macaddr, macaddr8, bit/varbit (`0101`), ltree,
    /// json/jsonb (as sent), uuid, unknown.
    Text(String),
    Oid(u32),
    Bytea(Vec<u8>),
    Date(PgDate),
    /// Microseconds since midnight; `24:00:00` is 86 400 000 000.
    Time(i64),
    TimeTz {
        micros: i64,
        /// Seconds east of UTC (`+05:30` is 19800).
        offset_seconds: i32,
    },
    /// Wall-clock microseconds since 1970-01-01 00:00:00, read as if UTC.
    Timestamp(PgTimestamp),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz(PgTimestamp),
    /// `infinity` / `-infinity` (Postgres 17) are all fields `MAX` / `MIN`.
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// Currency symbols and grouping stripped; scale as printed (2 for `$`).
    Money(PgNumeric),
    Point {
        x: f64,
        y: f64,
    },
    /// Pairs in the order printed; `None` for a NULL value.
    Hstore(Vec<(String, Option<String>)>),
    /// Elements in row-major order; multi-dimensional arrays are flattened
    /// and their bounds discarded. `None` is a NULL element.
    Array(Vec<Option<PgValue>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgDate {
    /// Days since 1970-01-01 (negative before).
    Days(i32),
    PosInfinity,
    NegInfinity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgTimestamp {
    Micros(i64),
    PosInfinity,
    NegInfinity,
}

fn invalid(ty: &PgType, offset: usize, reason: &'static str) -> DecodeError {
    DecodeError::InvalidValue {
        offset,
        pg_type: ty.name(),
        reason,
    }
}

fn utf8<'a>(ty: &PgType, text: &'a [u8]) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(text).map_err(|e| invalid(ty, e.valid_up_to(), "invalid utf-8"))
}

/// Decode one non-NULL column value in Postgres text format.
pub fn decode_text(ty: &PgType, text: &[u8]) -> Result<PgValue, DecodeError> {
    use PgType as T;
    match ty {
        T::Bool => match text {
            b"t" | b"true" => Ok(PgValue::Bool(true)),
            b"f" | b"false" => Ok(PgValue::Bool(false)),
            _ => Err(invalid(ty, 0, "expected 't' or 'f'")),
        },
        T::Int2 => parse_int(ty, text).map(PgValue::Int2),
        T::Int4 => parse_int(ty, text).map(PgValue::Int4),
        T::Int8 => parse_int(ty, text).map(PgValue::Int8),
        T::Oid => parse_int(ty, text).map(PgValue::Oid),
        T::Float4 => parse_float::<f32>(ty, text).map(PgValue::Float4),
        T::Float8 => parse_float::<f64>(ty, text).map(PgValue::Float8),
        T::Numeric => PgNumeric::parse(utf8(ty, text)?).map(PgValue::Numeric),
        T::Text
        | T::Varchar
        | T::Bpchar
        | T::Name
        | T::Char
        | T::Uuid
        | T::Json
        | T::Jsonb
        | T::Xml
        | T::Inet
        | T::Cidr
        | T::Macaddr
        | T::Macaddr8
        | T::Bit
        | T::Varbit
        | T::Ltree
        | T::Citext
        | T::Enum
        | T::Unknown => utf8(ty, text).map(|s| PgValue::Text(s.to_owned())),
        T::Bytea => bytea(text).map(PgValue::Bytea),
        T::Date => datetime::date(text),
        T::Time => datetime::time(text),
        T::TimeTz => datetime::timetz(text),
        T::Timestamp => datetime::timestamp(text, false),
        T::TimestampTz => datetime::timestamp(text, true),
        T::Interval => datetime::interval(text),
        T::Money => money(text).map(PgValue::Money),
        T::Point => point(text),
        T::Hstore => hstore(text).map(PgValue::Hstore),
        T::Array(element) => array(element, text).map(PgValue::Array),
    }
}

fn parse_int<I: std::str::FromStr>(ty: &PgType, text: &[u8]) -> Result<I, DecodeError> {
    utf8(ty, text)?
        .parse::<I>()
        .map_err(|_| invalid(ty, 0, "not an integer in range"))
}

fn parse_float<F: std::str::FromStr>(ty: &PgType, text: &[u8]) -> Result<F, DecodeError> {
    let s = utf8(ty, text)?;
    // The standard parser also takes "inf"/"infinity"/"nan" in any case,
    // which covers Postgres's "Infinity", "-Infinity" and "NaN".
    s.parse::<F>()
        .map_err(|_| invalid(ty, 0, "not a floating-point number"))
}

/// `\x` hex (`bytea_output=hex`), else the legacy escape format.
fn bytea(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let ty = &PgType::Bytea;
    if let Some(hex) = text.strip_prefix(b"\\x") {
        let nibble = |c: u8, at: usize| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(invalid(ty, at, "expected a hex digit")),
        };
        if hex.len() % 2 != 0 {
            return Err(invalid(ty, text.len(), "odd number of hex digits"));
        }
        let mut out = Vec::with_capacity(hex.len() / 2);
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let at = 2 + 2 * i;
            let &[hi, lo] = pair else {
                return Err(invalid(ty, at, "expected a hex digit"));
            };
            out.push(nibble(hi, at)? << 4 | nibble(lo, at + 1)?);
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        match text.get(i + 1..i + 4) {
            _ if text.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(&[a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) => {
                out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
                i += 4;
            }
            _ => return Err(invalid(ty, i, "invalid escape sequence")),
        }
    }
    Ok(out)
}

/// Lenient money: sign from `-` or `(...)`, digits and `.` kept, every
/// currency symbol and group separator dropped. Assumes `.` as the decimal
/// point (lc_monetary C or en_*).
fn money(text: &[u8]) -> Result<PgNumeric, DecodeError> {
    let ty = &PgType::Money;
    let s = utf8(ty, text)?;
    let negative = s.contains('-') || s.contains('(');
    let mut plain = String::with_capacity(s.len() + 1);
    if negative {
        plain.push('-');
    }
    plain.extend(s.chars().filter(|c| c.is_ascii_digit() || *c == '.'));
    if !plain.bytes().any(|b| b.is_ascii_digit()) {
        return Err(invalid(ty, 0, "no digits in money value"));
    }
    Decimal::parse(&plain)
        .map(PgNumeric::Finite)
        .map_err(|_| invalid(ty, 0, "not a money amount"))
}

/// `(x,y)`
fn point(text: &[u8]) -> Result<PgValue, DecodeError> {
    let ty = &PgType::Point;
    let s = utf8(ty, text)?;
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| invalid(ty, 0, "expected '(x,y)'"))?;
    let (x, y) = inner
        .split_once(',')
        .ok_or_else(|| invalid(ty, 1, "expected ',' between coordinates"))?;
    let coord = |c: &str| {
        c.trim()
            .parse::<f64>()
            .map_err(|_| invalid(ty, 1, "coordinate is not a number"))
    };
    Ok(PgValue::Point {
        x: coord(x)?,
        y: coord(y)?,
    })
}

/// A double-quoted string with backslash escapes, into `out`; the scanner
/// is on the opening quote.
fn quoted(sc: &mut Scan<'_>, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    sc.expect(b'"', "expected '\"'")?;
    loop {
        match sc.peek() {
            None => return Err(sc.err("unterminated quoted string")),
            Some(b'"') => {
                sc.pos += 1;
                return Ok(());
            }
            Some(b'\\') => {
                let Some(c) = sc.peek_at(1) else {
                    return Err(sc.err("unterminated escape"));
                };
                out.push(c);
                sc.pos += 2;
            }
            Some(c) => {
                out.push(c);
                sc.pos += 1;
            }
        }
    }
}

fn owned_utf8(sc: &Scan<'_>, bytes: Vec<u8>) -> Result<String, DecodeError> {
    String::from_utf8(bytes).map_err(|_| sc.err("invalid utf-8"))
}

/// `"key"=>"value", "key2"=>NULL`; unquoted keys and values are accepted.
fn hstore(text: &[u8]) -> Result<Vec<(String, Option<String>)>, DecodeError> {
    let mut sc = Scan::new(text, "hstore");
    let mut pairs = Vec::new();
    // Returns the token and whether it was quoted.
    let token = |sc: &mut Scan<'_>| -> Result<(Vec<u8>, bool), DecodeError> {
        let mut out = Vec::new();
        if sc.peek() == Some(b'"') {
            quoted(sc, &mut out)?;
            return Ok((out, true));
        }
        while let Some(c) = sc.peek() {
            if c.is_ascii_whitespace() || c == b',' || c == b'=' {
                break;
            }
            if c == b'\\' {
                let Some(e) = sc.peek_at(1) else {
                    return Err(sc.err("unterminated escape"));
                };
                out.push(e);
                sc.pos += 2;
            } else {
                out.push(c);
                sc.pos += 1;
            }
        }
        if out.is_empty() {
            return Err(sc.err("expected a key or value"));
        }
        Ok((out, false))
    };
    sc.skip_ws();
    while !sc.done() {
        let (key, _) = token(&mut sc)?;
        let key = owned_utf8(&sc, key)?;
        sc.skip_ws();
        if !sc.eat_str(b"=>") {
            return Err(sc.err("expected '=>'"));
        }
        sc.skip_ws();
        let (value, was_quoted) = token(&mut sc)?;
        let value = if !was_quoted && value.eq_ignore_ascii_case(b"NULL") {
            None
        } else {
            Some(owned_utf8(&sc, value)?)
        };
        pairs.push((key, value));
        sc.skip_ws();
        if sc.eat(b',') {
            sc.skip_ws();
            if sc.done() {
                return Err(sc.err("expected a key after ','"));
            }
        } else {
            sc.end()?;
        }
    }
    Ok(pairs)
}

/// Array literal: `{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}` (flattened),
/// `[0:1]={1,2}` (bounds skipped). Only an unquoted `NULL` is a NULL element.
fn array(element: &PgType, text: &[u8]) -> Result<Vec<Option<PgValue>>, DecodeError> {
    let mut sc = Scan::new(text, "array");
    sc.skip_ws();
    if sc.peek() == Some(b'[') {
        while !sc.eat(b'=') {
            if sc.done() {
                return Err(sc.err("expected '=' after array bounds"));
            }
            sc.pos += 1;
        }
    }
    sc.skip_ws();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    array_level(element, &mut sc, &mut out, &mut buf, 0)?;
    sc.skip_ws();
    sc.end()?;
    Ok(out)
}

fn array_level(
    element: &PgType,
    sc: &mut Scan<'_>,
    out: &mut Vec<Option<PgValue>>,
    buf: &mut Vec<u8>,
    depth: usize,
) -> Result<(), DecodeError> {
    if depth >= MAX_ARRAY_DEPTH {
        return Err(sc.err("array nested too deeply"));
    }
    sc.expect(b'{', "expected '{'")?;
    sc.skip_ws();
    if sc.eat(b'}') {
        return Ok(());
    }
    loop {
        sc.skip_ws();
        let start = sc.pos;
        match sc.peek() {
            Some(b'{') => array_level(element, sc, out, buf, depth + 1)?,
            Some(b'"') => {
                buf.clear();
                quoted(sc, buf)?;
                out.push(Some(array_element(element, buf, start)?));
            }
            _ => {
                buf.clear();
                let mut escaped = false;
                // Length of buf up to its last non-whitespace or escaped byte.
                let mut keep = 0;
                while let Some(c) = sc.peek() {
                    if c == b',' || c == b'}' {
                        break;
                    }
                    if matches!(c, b'{' | b'"') {
                        return Err(sc.err("unexpected character in unquoted element"));
                    }
                    if c == b'\\' {
                        let Some(e) = sc.peek_at(1) else {
                            return Err(sc.err("unterminated escape"));
                        };
                        buf.push(e);
                        escaped = true;
                        keep = buf.len();
                        sc.pos += 2;
                    } else {
                        buf.push(c);
                        if !c.is_ascii_whitespace() {
                            keep = buf.len();
                        }
                        sc.pos += 1;
                    }
                }
                buf.truncate(keep);
                if buf.is_empty() {
                    return Err(sc.err("empty array element"));
                }
                if !escaped && buf.eq_ignore_ascii_case(b"NULL") {
                    out.push(None);
                } else {
                    out.push(Some(array_element(element, buf, start)?));
                }
            }
        }
        sc.skip_ws();
        if sc.eat(b'}') {
            return Ok(());
        }
        sc.expect(b',', "expected ',' or '}'")?;
    }
}

/// Decode one element; its error offset is moved to the element's position
/// in the whole literal (exact unless the element contained escapes).
fn array_element(element: &PgType, text: &[u8], start: usize) -> Result<PgValue, DecodeError> {
    decode_text(element, text).map_err(|e| match e {
        DecodeError::InvalidValue {
            offset,
            pg_type,
            reason,
        } => DecodeError::InvalidValue {
            offset: start + offset,
            pg_type,
            reason,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests;
