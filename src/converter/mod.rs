//! Converters: Connect [`Record`](crate::connect::Record) keys and values → bytes for the sink.
//!
//! ```text
//! Record { key_schema, key, value_schema, value } --Converter--> SinkRecord { key bytes, value bytes }
//! ```
//! The contract of [`Converter`]: `None` in (no schema and no value) gives `None` out (Kafka
//! Connect writes a null key / a tombstone); the output for a given schema and value is a pure
//! function of them and of the converter's settings, so it may be cached per schema.

pub mod json;
pub mod string;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::connect::{Schema, Value};

/// What [`Converter::register`] returns: boxed, because it runs only on the rare path where a
/// schema is new to the converter.
pub type RegisterFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ConvertError>> + Send + 'a>>;

/// A converter failed to serialise a value. Definite: retrying the same value cannot succeed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("value does not match its schema for field `{field}`: expected {expected}")]
    SchemaMismatch {
        field: String,
        expected: &'static str,
    },
    /// Not a failure: the converter must first register `schema` (a network call) through
    /// [`Converter::register`]; the pipeline does that and converts again.
    #[error("the schema for topic {topic} is not registered yet")]
    NeedsRegistration { topic: String },
}

/// Kafka Connect's `Converter.fromConnectData`.
pub trait Converter: Send {
    /// Serialise one key or value. `out` is cleared and filled; returns `false` for a null result.
    fn convert(
        &mut self,
        topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError>;

    /// Whether the output is JSON text (the file sink embeds it as JSON rather than as a string).
    fn output_is_json(&self) -> bool;

    /// Make `schema` known to the converter (e.g. register it with a schema registry) after
    /// [`Converter::convert`] answered [`ConvertError::NeedsRegistration`] for it. Converters
    /// that never answer that keep this default.
    fn register<'a>(
        &'a mut self,
        _topic: &'a str,
        _schema: Option<&'a Arc<Schema>>,
    ) -> RegisterFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// Build the converter named by a worker's or connector's `*.converter` setting.
pub fn from_class(
    class: &sluice_config::ConverterClass,
    schemas_enable: bool,
) -> Result<Box<dyn Converter>, String> {
    match class {
        sluice_config::ConverterClass::Json => Ok(Box::new(json::JsonConverter::new(schemas_enable))),
        sluice_config::ConverterClass::String => Ok(Box::new(string::StringConverter)),
        sluice_config::ConverterClass::Avro => Err(
            "io.confluent.connect.avro.AvroConverter is not available yet: use org.apache.kafka.connect.json.JsonConverter"
                .to_string(),
        ),
    }
}
