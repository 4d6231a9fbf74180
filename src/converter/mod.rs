//! Converters: Connect [`Record`](crate::connect::Record) keys and values → bytes for the sink.
//!
//! ```text
//! Record { key_schema, key, value_schema, value } --Converter--> SinkRecord { key bytes, value bytes }
//! ```
//! The contract of [`Converter`]: `None` in (no schema and no value) gives `None` out (Kafka
//! Connect writes a null key / a tombstone); the output for a given schema and value is a pure
//! function of them and of the converter's settings, so it may be cached per schema.

pub mod avro;
pub mod json;
pub mod string;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::connect::{Schema, Value};

/// What [`Converter::register`] returns: boxed, because it runs only on the rare path where a
/// schema is new to the converter.
pub type RegisterFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ConvertError>> + Send + 'a>>;

/// A converter failed to serialise a value, or to register its schema. See
/// [`ConvertError::class`] for which failures a retry can cure.
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
    /// The Connect schema has no Avro form (or the value came without a schema).
    #[error("the schema for topic {topic} cannot be written as Avro: {reason}")]
    AvroSchema { topic: String, reason: String },
    /// The schema registry answered with an error: its `error_code` and `message` as sent
    /// (`error_code` 0 when the answer had none).
    #[error(
        "schema registry {url} failed to {operation} for subject {subject}: error_code {error_code}: {message}{}",
        registry_hint(*.status, *.error_code)
    )]
    Registry {
        url: String,
        subject: String,
        operation: &'static str,
        /// The HTTP status, when known.
        status: Option<u16>,
        error_code: u32,
        message: String,
    },
    /// The schema registry could not be reached or did not answer in time.
    #[error(
        "could not reach the schema registry at {url} to {operation} for subject {subject}: check schema.registry.url and that the registry is running"
    )]
    RegistryUnreachable {
        url: String,
        subject: String,
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What to do about a registry error, by its status / Confluent error code.
fn registry_hint(status: Option<u16>, error_code: u32) -> &'static str {
    match (status, error_code) {
        (_, 409) | (Some(409), _) => {
            " (the schema breaks the subject's compatibility level: change the table back, or the \
             subject's level with PUT /config/<subject>)"
        }
        (_, 42201) => " (the registry refuses this Avro schema)",
        (_, 40401) | (_, 40403) => {
            " (with auto.register.schemas=false the schema must be registered beforehand)"
        }
        (Some(401) | Some(403), _) => {
            " (check basic.auth.credentials.source and basic.auth.user.info)"
        }
        _ => "",
    }
}

/// How a [`ConvertError`] is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertErrorClass {
    /// Retry later (registry down, overloaded, timed out).
    Transient,
    /// This record or schema cannot be written as is (incompatible or invalid schema, value
    /// that does not match its schema).
    Definite,
    /// The converter's configuration must change (credentials, subject not registered while
    /// auto-registration is off).
    Config,
}

impl ConvertError {
    /// One exhaustive classification of converter failures.
    pub fn class(&self) -> ConvertErrorClass {
        match self {
            ConvertError::SchemaMismatch { .. } | ConvertError::AvroSchema { .. } => {
                ConvertErrorClass::Definite
            }
            // Only seen if a converter asks twice in a row; the pipeline retries once.
            ConvertError::NeedsRegistration { .. } => ConvertErrorClass::Transient,
            ConvertError::RegistryUnreachable { .. } => ConvertErrorClass::Transient,
            ConvertError::Registry {
                status, error_code, ..
            } => match (status, error_code) {
                (Some(s), _) if *s >= 500 || *s == 408 || *s == 429 => ConvertErrorClass::Transient,
                (_, c) if *c >= 50_000 => ConvertErrorClass::Transient,
                (Some(401 | 403), _) | (_, 40401 | 40403) => ConvertErrorClass::Config,
                _ => ConvertErrorClass::Definite,
            },
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        self.class() == ConvertErrorClass::Transient
    }
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

    /// [`Converter::convert`] of a record refilled row after row (the snapshot readers refill
    /// one envelope per table): `value` is a struct whose top-level fields at the indexes in
    /// `kept` equal those of the value given to the previous call of this method on this
    /// converter, if that call had the same schema (same `Arc`) and the same `kept`. The
    /// caller passes an empty `kept` for a record that is not such a refill. The output is
    /// the same as `convert`'s; a converter may reuse what it rendered for the kept fields
    /// (the JSON converter keeps the bytes of the unchanged `source` block).
    fn convert_refilled(
        &mut self,
        topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        _kept: &[usize],
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        self.convert(topic, schema, value, out)
    }

    /// Whether the output is JSON text (the file sink embeds it as JSON rather than as a string).
    fn output_is_json(&self) -> bool;

    /// The Kafka Connect class this converter stands for (`__connect.errors.class.name` of a
    /// dead-lettered record).
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.storage.Converter"
    }

    /// An independent converter with the same settings, for a source that converts on its
    /// own tasks (the snapshot readers convert rows in parallel). Only for converters whose
    /// output is a pure function of schema and value and that never need
    /// [`Converter::register`]; `None` (the default) keeps conversion in the pipeline.
    fn fork(&self) -> Option<Box<dyn Converter>> {
        None
    }

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

/// The properties of one converter: the keys under `prefix` (`key.converter.` /
/// `value.converter.`) with the prefix stripped, as Kafka Connect passes them to `configure`.
pub fn converter_props(all: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    all.range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
        .collect()
}

/// Build a key (`is_key`) or value converter from its class and its own properties (see
/// [`converter_props`]). Errors name the full key (`value.converter.schema.registry.url: ...`),
/// one per line.
pub fn from_config(
    class: &sluice_config::ConverterClass,
    is_key: bool,
    props: &BTreeMap<String, String>,
) -> Result<Box<dyn Converter>, String> {
    let prefix = if is_key {
        "key.converter."
    } else {
        "value.converter."
    };
    match class {
        sluice_config::ConverterClass::Json => {
            let schemas_enable = match props.get("schemas.enable").map(|v| v.trim()) {
                None => true,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    return Err(format!(
                        "{prefix}schemas.enable: expected true or false, got `{v}`"
                    ))
                }
            };
            Ok(Box::new(json::JsonConverter::new(schemas_enable)))
        }
        sluice_config::ConverterClass::String => Ok(Box::new(string::StringConverter)),
        sluice_config::ConverterClass::Avro => avro::AvroConverter::from_props(is_key, props)
            .map(|c| Box::new(c) as Box<dyn Converter>)
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|(key, message)| format!("{prefix}{key}: {message}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
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
            "io.confluent.connect.avro.AvroConverter needs its settings (schema.registry.url): build it with converter::from_config"
                .to_string(),
        ),
    }
}
