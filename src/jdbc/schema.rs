//! Columns and rows as kafka-connect-jdbc shapes them: the value is a struct named after the
//! table (unnamed in query mode), nullable columns are optional fields, and SQL types map to
//! Connect types as kafka-connect-jdbc's generic dialect maps them.
//!
//! ```text
//! database text ──(per database)──> Cell ──(FieldRep, from Kind + numeric.mapping)──> Value
//! ```
//! | SQL | Connect |
//! |---|---|
//! | boolean, bit(1), tinyint(1) | boolean |
//! | smallint / integer / bigint (tinyint: int8) | int16 / int32 / int64 |
//! | real / double precision | float / double |
//! | numeric, decimal | `Decimal` (bytes, `scale`); with `numeric.mapping` on NUMERIC: ints or double |
//! | date / time / timestamp(tz) | `Date` / `Time` / `Timestamp` (ms) |
//! | bytea, binary, varbinary, blob | bytes |
//! | everything else (text, uuid, json, enum, interval, arrays, ...) | string (as the database prints it) |

use std::sync::Arc;

use sluice_config::jdbc::NumericMapping;
use sluice_decoders::pgvalue::Decimal;

use crate::connect::{Field, Schema, SchemaType, Value};

/// Connect's logical type names.
const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
const DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";

/// Integer precisions that fit a Connect integer type (kafka-connect-jdbc's bound).
const MAX_INTEGER_TYPE_PRECISION: u32 = 18;

/// The SQL type of a column, as far as the mapping cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// `numeric`: the JDBC type is NUMERIC (where `numeric.mapping` applies), not DECIMAL.
    /// `precision` 0 and `scale` `None`: unconstrained.
    Decimal {
        precision: u32,
        scale: Option<u32>,
        numeric: bool,
    },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            Kind::Int8
                | Kind::Int16
                | Kind::Int32
                | Kind::Int64
                | Kind::Decimal { scale: Some(0), .. }
        )
    }
}

/// One column of a table or query result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
    /// The database's name for the type, for error messages.
    pub db_type: String,
}

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRep {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Decimal(u32),
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
}

fn integer_rep(precision: u32) -> FieldRep {
    match precision {
        p if p > 9 => FieldRep::Int64,
        p if p > 4 => FieldRep::Int32,
        p if p > 2 => FieldRep::Int16,
        _ => FieldRep::Int8,
    }
}

/// The representation kafka-connect-jdbc picks for `kind` under `numeric.mapping`.
pub fn rep(kind: &Kind, mapping: NumericMapping) -> FieldRep {
    match kind {
        Kind::Bool => FieldRep::Bool,
        Kind::Int8 => FieldRep::Int8,
        Kind::Int16 => FieldRep::Int16,
        Kind::Int32 => FieldRep::Int32,
        Kind::Int64 => FieldRep::Int64,
        Kind::Float32 => FieldRep::Float32,
        Kind::Float64 => FieldRep::Float64,
        Kind::String => FieldRep::String,
        Kind::Bytes => FieldRep::Bytes,
        Kind::Date => FieldRep::Date,
        Kind::Time => FieldRep::Time,
        Kind::Timestamp => FieldRep::Timestamp,
        Kind::Decimal {
            precision,
            scale,
            numeric,
        } => {
            let scale_or_zero = scale.unwrap_or(0);
            let known = *precision > 0;
            if *numeric {
                match mapping {
                    NumericMapping::None => {}
                    NumericMapping::PrecisionOnly => {
                        if known && *scale == Some(0) && *precision <= MAX_INTEGER_TYPE_PRECISION {
                            return integer_rep(*precision);
                        }
                    }
                    NumericMapping::BestFit => {
                        if known && *precision <= MAX_INTEGER_TYPE_PRECISION {
                            match scale {
                                Some(0) => return integer_rep(*precision),
                                Some(_) => return FieldRep::Float64,
                                None => {}
                            }
                        }
                    }
                    NumericMapping::BestFitEagerDouble => match scale {
                        Some(0) if known && *precision <= MAX_INTEGER_TYPE_PRECISION => {
                            return integer_rep(*precision)
                        }
                        Some(0) => {}
                        _ => return FieldRep::Float64,
                    },
                }
            }
            FieldRep::Decimal(scale_or_zero)
        }
    }
}

/// The Connect schema of one field.
pub fn field_schema(rep: FieldRep, optional: bool) -> Schema {
    let logical = |ty, name: &str| Schema::new(ty).named(name).version(1);
    let s = match rep {
        FieldRep::Bool => Schema::new(SchemaType::Boolean),
        FieldRep::Int8 => Schema::new(SchemaType::Int8),
        FieldRep::Int16 => Schema::new(SchemaType::Int16),
        FieldRep::Int32 => Schema::new(SchemaType::Int32),
        FieldRep::Int64 => Schema::new(SchemaType::Int64),
        FieldRep::Float32 => Schema::new(SchemaType::Float32),
        FieldRep::Float64 => Schema::new(SchemaType::Float64),
        FieldRep::Decimal(scale) => {
            logical(SchemaType::Bytes, DECIMAL).param("scale", scale.to_string())
        }
        FieldRep::String => Schema::new(SchemaType::String),
        FieldRep::Bytes => Schema::new(SchemaType::Bytes),
        FieldRep::Date => logical(SchemaType::Int32, DATE),
        FieldRep::Time => logical(SchemaType::Int32, TIME),
        FieldRep::Timestamp => logical(SchemaType::Int64, TIMESTAMP),
    };
    s.optional(optional)
}

/// The value schema of a table (named after it) or of a query result (`name` = `None`), and
/// how each column is written.
pub struct RowShape {
    pub schema: Arc<Schema>,
    pub reps: Vec<FieldRep>,
    pub columns: Vec<Column>,
}

impl RowShape {
    pub fn new(name: Option<&str>, columns: Vec<Column>, mapping: NumericMapping) -> RowShape {
        let reps: Vec<FieldRep> = columns.iter().map(|c| rep(&c.kind, mapping)).collect();
        let fields = columns
            .iter()
            .zip(&reps)
            .map(|(c, r)| Field::new(c.name.clone(), field_schema(*r, c.nullable)))
            .collect();
        let mut schema = Schema::structure(fields);
        if let Some(name) = name {
            schema = schema.named(name);
        }
        RowShape {
            schema: Arc::new(schema),
            reps,
            columns,
        }
    }
}

/// A column value decoded from the database's text, before its Connect representation.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Dec(Decimal),
    Text(String),
    Bytes(Vec<u8>),
    /// Days since the epoch.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
}

impl Cell {
    /// The value as an incrementing offset.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Dec(d) if d.scale() == 0 || d.strip_trailing_zeros().scale() == 0 => {
                d.strip_trailing_zeros().to_plain_string().parse().ok()
            }
            _ => None,
        }
    }
}

/// Why a value cannot be written under its column's representation.
pub type ValueError = &'static str;

fn int_in<T: TryFrom<i64>>(i: i64) -> Result<T, ValueError> {
    T::try_from(i).map_err(|_| "the value is out of range for the column's Connect integer type")
}

fn decimal_to_int(d: &Decimal) -> Result<i64, ValueError> {
    let r = d.rescale(0);
    r.to_plain_string()
        .parse()
        .map_err(|_| "the value is out of range for a Connect int64")
}

/// The Connect value of `cell` under `rep`.
pub fn value(rep: FieldRep, cell: Cell) -> Result<Value, ValueError> {
    Ok(match (rep, cell) {
        (_, Cell::Null) => Value::Null,
        (FieldRep::Bool, Cell::Bool(b)) => Value::Boolean(b),
        (FieldRep::Bool, Cell::Int(i)) => Value::Boolean(i != 0),
        (FieldRep::Int8, Cell::Int(i)) => Value::Int8(int_in(i)?),
        (FieldRep::Int16, Cell::Int(i)) => Value::Int16(int_in(i)?),
        (FieldRep::Int32, Cell::Int(i)) => Value::Int32(int_in(i)?),
        (FieldRep::Int64, Cell::Int(i)) => Value::Int64(i),
        (FieldRep::Int8, Cell::Dec(d)) => Value::Int8(int_in(decimal_to_int(&d)?)?),
        (FieldRep::Int16, Cell::Dec(d)) => Value::Int16(int_in(decimal_to_int(&d)?)?),
        (FieldRep::Int32, Cell::Dec(d)) => Value::Int32(int_in(decimal_to_int(&d)?)?),
        (FieldRep::Int64, Cell::Dec(d)) => Value::Int64(decimal_to_int(&d)?),
        (FieldRep::Float32, Cell::Float(f)) => Value::Float32(f as f32),
        (FieldRep::Float64, Cell::Float(f)) => Value::Float64(f),
        (FieldRep::Float64, Cell::Dec(d)) => Value::Float64(d.to_f64()),
        (FieldRep::Float64, Cell::Int(i)) => Value::Float64(i as f64),
        (FieldRep::Decimal(scale), Cell::Dec(d)) => {
            if d.strip_trailing_zeros().scale() > scale {
                return Err("the value has more fraction digits than the column's scale; declare the column NUMERIC(p,s) or set numeric.mapping=best_fit_eager_double");
            }
            Value::Bytes(d.rescale(scale).to_unscaled_be_bytes())
        }
        (FieldRep::Decimal(scale), Cell::Int(i)) => {
            let d = Decimal::parse(&i.to_string()).map_err(|_| "not a decimal")?;
            Value::Bytes(d.rescale(scale).to_unscaled_be_bytes())
        }
        (FieldRep::String, Cell::Text(s)) => Value::String(s),
        (FieldRep::Bytes, Cell::Bytes(b)) => Value::Bytes(b),
        (FieldRep::Bytes, Cell::Text(s)) => Value::Bytes(s.into_bytes()),
        (FieldRep::Date, Cell::Date(d)) => Value::Int32(d),
        (FieldRep::Time, Cell::Time(us)) => Value::Int32(int_in(us.div_euclid(1000))?),
        (FieldRep::Timestamp, Cell::Timestamp(us)) => Value::Int64(us.div_euclid(1000)),
        _ => return Err("the database sent a value of an unexpected type for the column"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(precision: u32, scale: Option<u32>) -> Kind {
        Kind::Decimal {
            precision,
            scale,
            numeric: true,
        }
    }

    #[test]
    fn numeric_mapping_follows_kafka_connect_jdbc() {
        use NumericMapping::*;
        assert_eq!(
            rep(&numeric(5, Some(2)), NumericMapping::None),
            FieldRep::Decimal(2)
        );
        assert_eq!(rep(&numeric(10, Some(0)), PrecisionOnly), FieldRep::Int64);
        assert_eq!(rep(&numeric(4, Some(0)), PrecisionOnly), FieldRep::Int16);
        assert_eq!(rep(&numeric(2, Some(0)), PrecisionOnly), FieldRep::Int8);
        assert_eq!(
            rep(&numeric(5, Some(2)), PrecisionOnly),
            FieldRep::Decimal(2)
        );
        assert_eq!(rep(&numeric(5, Some(2)), BestFit), FieldRep::Float64);
        assert_eq!(rep(&numeric(9, Some(0)), BestFit), FieldRep::Int32);
        assert_eq!(rep(&numeric(30, Some(2)), BestFit), FieldRep::Decimal(2));
        assert_eq!(
            rep(&numeric(30, Some(2)), BestFitEagerDouble),
            FieldRep::Float64
        );
        assert_eq!(
            rep(&numeric(0, Option::None), BestFit),
            FieldRep::Decimal(0)
        );
        assert_eq!(
            rep(&numeric(0, Option::None), BestFitEagerDouble),
            FieldRep::Float64
        );
        // MySQL's DECIMAL is JDBC DECIMAL: numeric.mapping leaves it alone.
        let decimal = Kind::Decimal {
            precision: 10,
            scale: Some(0),
            numeric: false,
        };
        assert_eq!(rep(&decimal, BestFit), FieldRep::Decimal(0));
    }

    #[test]
    fn values_keep_their_precision_or_fail() {
        let d = |s: &str| Cell::Dec(Decimal::parse(s).expect("decimal"));
        assert_eq!(
            value(FieldRep::Decimal(2), d("1.5")),
            Ok(Value::Bytes(vec![0, 150]))
        );
        assert!(value(FieldRep::Decimal(0), d("1.5")).is_err());
        assert_eq!(value(FieldRep::Int16, d("300")), Ok(Value::Int16(300)));
        assert!(value(FieldRep::Int8, d("300")).is_err());
        assert_eq!(
            value(FieldRep::Timestamp, Cell::Timestamp(1_500)),
            Ok(Value::Int64(1))
        );
        assert_eq!(
            value(FieldRep::Timestamp, Cell::Timestamp(-1)),
            Ok(Value::Int64(-1))
        );
        assert_eq!(value(FieldRep::String, Cell::Null), Ok(Value::Null));
        assert_eq!(d("42.000").as_i64(), Some(42));
        assert_eq!(d("42.5").as_i64(), None);
    }

    #[test]
    fn struct_is_named_after_the_table_with_optional_nullable_fields() {
        let shape = RowShape::new(
            Some("ORDERS"),
            vec![
                Column {
                    name: "ORDER_ID".into(),
                    kind: Kind::Int32,
                    nullable: false,
                    db_type: "int4".into(),
                },
                Column {
                    name: "NOTE".into(),
                    kind: Kind::String,
                    nullable: true,
                    db_type: "text".into(),
                },
            ],
            NumericMapping::None,
        );
        assert_eq!(shape.schema.name.as_deref(), Some("ORDERS"));
        assert!(!shape.schema.fields[0].schema.optional);
        assert!(shape.schema.fields[1].schema.optional);
    }
}
