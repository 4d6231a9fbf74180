//! The first byte picks a Postgres type (scalar or array of it), the rest is
//! its text: errors are fine, panics are not. Finite numerics also go
//! through every Decimal conversion.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_decoders::pgvalue::{decode_text, PgNumeric, PgType, PgValue};

const TYPES: [PgType; 22] = [
    PgType::Bool,
    PgType::Int2,
    PgType::Int4,
    PgType::Int8,
    PgType::Float4,
    PgType::Float8,
    PgType::Numeric,
    PgType::Text,
    PgType::Bytea,
    PgType::Date,
    PgType::Time,
    PgType::TimeTz,
    PgType::Timestamp,
    PgType::TimestampTz,
    PgType::Interval,
    PgType::Money,
    PgType::Point,
    PgType::Hstore,
    PgType::Oid,
    PgType::Uuid,
    PgType::Jsonb,
    PgType::Unknown,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let scalar = TYPES[usize::from(selector) % TYPES.len()].clone();
    let ty = if selector >= 128 {
        PgType::Array(Box::new(scalar))
    } else {
        scalar
    };
    if let Ok(PgValue::Numeric(PgNumeric::Finite(d)) | PgValue::Money(PgNumeric::Finite(d))) =
        decode_text(&ty, text)
    {
        let _ = d.to_unscaled_be_bytes();
        let _ = d.to_f64();
        let _ = d.to_plain_string();
        let _ = d.rescale(d.scale().saturating_sub(1));
        let _ = d.rescale(d.scale().saturating_add(1).min(1000));
    }
});
