//! `io.confluent.connect.avro.AvroConverter`: Connect values as Avro binary in Confluent's wire
//! format, with schemas registered in a Schema Registry.
//!
//! ```text
//!                      hot path (per record)                          slow path (new schema)
//! convert(topic, schema, value)                              register(topic, schema)
//!   ├─ cache[Arc ptr] → schema id for this topic ──hit──┐      ├─ Avro schema (AvroData rules)
//!   └─ miss → NeedsRegistration ─────────────────────────┼────> ├─ subject (name strategy)
//!                                                       │      └─ POST /subjects/{s}/versions
//!   out = 0x00 | id (4 bytes, big-endian) | Avro binary <┘         (or lookup / latest)
//! ```
//! The Avro schema of a Connect schema is built once per `Arc<Schema>` (see [`schema`]); the
//! value is then encoded straight from the Connect [`Value`] into the output buffer, with no
//! intermediate Avro value. Registration is a network call, so [`Converter::convert`] never
//! makes it: it answers [`ConvertError::NeedsRegistration`] and the pipeline awaits
//! [`Converter::register`] before converting again. The answer of the registry is kept per
//! (subject, schema text), so a schema rebuilt as a new `Arc` (a reconnect, a new table with
//! the same shape) does not call the registry again.
//!
//! Like Confluent's converter: a null value (or a tombstone) gives a null record; a null
//! struct field with a default is written as the default (`Struct.get`), unless
//! `ignore.default.for.nullables=true` and the field is optional; subjects follow
//! `key.subject.name.strategy` / `value.subject.name.strategy` (TopicNameStrategy by default:
//! `<topic>-key`, `<topic>-value`).

mod registry;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sluice_config::Secret;

use super::{ConvertError, Converter, RegisterFuture};
use crate::connect::{Schema, SchemaType, Value};
use registry::Registry;
pub use registry::REQUEST_TIMEOUT;
pub use schema::{AvroDataOptions, AvroSchema};

/// `schema.registry.url`: one URL or a comma-separated list (tried in order). Required.
pub const SCHEMA_REGISTRY_URL: &str = "schema.registry.url";
/// `basic.auth.credentials.source`: `URL` (default; credentials in the URL's user info) or
/// `USER_INFO` (from `basic.auth.user.info`).
pub const BASIC_AUTH_CREDENTIALS_SOURCE: &str = "basic.auth.credentials.source";
/// `basic.auth.user.info`: `user:password`, used with `USER_INFO`.
pub const BASIC_AUTH_USER_INFO: &str = "basic.auth.user.info";
/// The older spelling of [`BASIC_AUTH_USER_INFO`].
pub const SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: &str = "schema.registry.basic.auth.user.info";
/// `auto.register.schemas` (default true): register new schemas; false looks them up only.
pub const AUTO_REGISTER_SCHEMAS: &str = "auto.register.schemas";
/// `use.latest.version` (default false; only with `auto.register.schemas=false`).
pub const USE_LATEST_VERSION: &str = "use.latest.version";
/// `key.subject.name.strategy`.
pub const KEY_SUBJECT_NAME_STRATEGY: &str = "key.subject.name.strategy";
/// `value.subject.name.strategy`.
pub const VALUE_SUBJECT_NAME_STRATEGY: &str = "value.subject.name.strategy";
/// `connect.meta.data` (default true).
pub const CONNECT_META_DATA: &str = "connect.meta.data";
/// `enhanced.avro.schema.support` (default false).
pub const ENHANCED_AVRO_SCHEMA_SUPPORT: &str = "enhanced.avro.schema.support";
/// `scrub.invalid.names` (default false).
pub const SCRUB_INVALID_NAMES: &str = "scrub.invalid.names";
/// `allow.optional.map.keys` (default false).
pub const ALLOW_OPTIONAL_MAP_KEYS: &str = "allow.optional.map.keys";
/// `ignore.default.for.nullables` (default false).
pub const IGNORE_DEFAULT_FOR_NULLABLES: &str = "ignore.default.for.nullables";
/// `schemas.cache.config` (default 1000): schemas kept converted.
pub const SCHEMAS_CACHE_CONFIG: &str = "schemas.cache.config";
/// Default of [`SCHEMAS_CACHE_CONFIG`] (as AvroData's).
pub const DEFAULT_SCHEMAS_CACHE_SIZE: usize = 1000;

/// The Confluent wire format's first byte.
const MAGIC_BYTE: u8 = 0;

/// How a subject is named (`*.subject.name.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (default).
    TopicName,
    /// The record's full name.
    RecordName,
    /// `<topic>-<record full name>`.
    TopicRecordName,
}

impl SubjectNameStrategy {
    fn parse(class: &str) -> Option<SubjectNameStrategy> {
        let simple = class.rsplit('.').next().unwrap_or(class);
        match simple {
            "TopicNameStrategy" => Some(SubjectNameStrategy::TopicName),
            "RecordNameStrategy" => Some(SubjectNameStrategy::RecordName),
            "TopicRecordNameStrategy" => Some(SubjectNameStrategy::TopicRecordName),
            _ => None,
        }
    }

    /// The subject of a key or value schema on `topic`.
    pub fn subject(self, topic: &str, is_key: bool, record_name: &str) -> String {
        match self {
            SubjectNameStrategy::TopicName => {
                format!("{topic}-{}", if is_key { "key" } else { "value" })
            }
            SubjectNameStrategy::RecordName => record_name.to_string(),
            SubjectNameStrategy::TopicRecordName => format!("{topic}-{record_name}"),
        }
    }

    fn uses_topic(self) -> bool {
        !matches!(self, SubjectNameStrategy::RecordName)
    }
}

/// The converter's settings, from its own properties (`key.converter.*` / `value.converter.*`
/// with the prefix stripped, as Kafka Connect hands them to `configure`).
#[derive(Debug, Clone)]
pub struct AvroConverterConfig {
    pub is_key: bool,
    /// Registry URLs, without user info.
    pub urls: Vec<String>,
    pub basic_auth: Option<(String, Secret)>,
    pub auto_register_schemas: bool,
    pub use_latest_version: bool,
    pub subject_name_strategy: SubjectNameStrategy,
    pub data: AvroDataOptions,
    pub ignore_default_for_nullables: bool,
    pub schemas_cache_size: usize,
}

impl AvroConverterConfig {
    /// Parse the converter's properties. Errors are per key (without the converter prefix).
    /// Keys the converter does not know are ignored, as Kafka Connect's converters ignore them.
    pub fn from_props(
        is_key: bool,
        props: &BTreeMap<String, String>,
    ) -> Result<AvroConverterConfig, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut flag = |key: &str, default: bool| match props.get(key).map(|v| v.trim()) {
            None => default,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                errors.push((
                    key.to_string(),
                    format!("expected true or false, got `{v}`"),
                ));
                default
            }
        };
        let auto_register_schemas = flag(AUTO_REGISTER_SCHEMAS, true);
        let use_latest_version = flag(USE_LATEST_VERSION, false);
        let data = AvroDataOptions {
            connect_meta_data: flag(CONNECT_META_DATA, true),
            scrub_invalid_names: flag(SCRUB_INVALID_NAMES, false),
            allow_optional_map_keys: flag(ALLOW_OPTIONAL_MAP_KEYS, false),
            enhanced_avro_schema_support: flag(ENHANCED_AVRO_SCHEMA_SUPPORT, false),
        };
        let ignore_default_for_nullables = flag(IGNORE_DEFAULT_FOR_NULLABLES, false);

        let strategy_key = if is_key {
            KEY_SUBJECT_NAME_STRATEGY
        } else {
            VALUE_SUBJECT_NAME_STRATEGY
        };
        let subject_name_strategy = match props.get(strategy_key) {
            None => SubjectNameStrategy::TopicName,
            Some(v) => SubjectNameStrategy::parse(v.trim()).unwrap_or_else(|| {
                errors.push((
                    strategy_key.to_string(),
                    format!(
                        "unknown subject name strategy `{v}`: use io.confluent.kafka.serializers.subject.TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy"
                    ),
                ));
                SubjectNameStrategy::TopicName
            }),
        };
        let schemas_cache_size = match props.get(SCHEMAS_CACHE_CONFIG) {
            None => DEFAULT_SCHEMAS_CACHE_SIZE,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| {
                    errors.push((
                        SCHEMAS_CACHE_CONFIG.to_string(),
                        format!("expected a positive number of schemas, got `{v}`"),
                    ));
                    DEFAULT_SCHEMAS_CACHE_SIZE
                }),
        };

        let mut urls = Vec::new();
        let mut url_user_info = None;
        match props.get(SCHEMA_REGISTRY_URL).map(|v| v.trim()) {
            None | Some("") => errors.push((
                SCHEMA_REGISTRY_URL.to_string(),
                "missing required key: the Avro converter needs the schema registry's URL, e.g. http://localhost:8081".to_string(),
            )),
            Some(list) => {
                for url in list.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                    match split_user_info(url) {
                        Some((plain, info)) => {
                            if url_user_info.is_none() {
                                url_user_info = info;
                            }
                            urls.push(plain);
                        }
                        None => errors.push((
                            SCHEMA_REGISTRY_URL.to_string(),
                            format!("`{}` is not an http:// or https:// URL", redact_user_info(url)),
                        )),
                    }
                }
            }
        }

        let user_info = props
            .get(BASIC_AUTH_USER_INFO)
            .or_else(|| props.get(SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO));
        let source = props
            .get(BASIC_AUTH_CREDENTIALS_SOURCE)
            .map(|s| s.trim().to_ascii_uppercase());
        let basic_auth = match source.as_deref() {
            None | Some("URL") => {
                if user_info.is_some() {
                    tracing::warn!(
                        "{BASIC_AUTH_USER_INFO} is set but {BASIC_AUTH_CREDENTIALS_SOURCE} is not USER_INFO: it is not used (as with Confluent's converter)"
                    );
                }
                url_user_info.map(|info| split_credentials(&info))
            }
            Some("USER_INFO") => match user_info {
                Some(info) if info.contains(':') => Some(split_credentials(info)),
                _ => {
                    errors.push((
                        BASIC_AUTH_USER_INFO.to_string(),
                        format!("{BASIC_AUTH_CREDENTIALS_SOURCE}=USER_INFO needs {BASIC_AUTH_USER_INFO}=<user>:<password>"),
                    ));
                    None
                }
            },
            Some(other) => {
                errors.push((
                    BASIC_AUTH_CREDENTIALS_SOURCE.to_string(),
                    format!("`{other}` is not supported: use URL or USER_INFO"),
                ));
                None
            }
        };
        if errors.is_empty() {
            Ok(AvroConverterConfig {
                is_key,
                urls,
                basic_auth,
                auto_register_schemas,
                use_latest_version,
                subject_name_strategy,
                data,
                ignore_default_for_nullables,
                schemas_cache_size,
            })
        } else {
            Err(errors)
        }
    }
}

/// `(url without user info, percent-decoded user info)`; `None` when not an http(s) URL.
fn split_user_info(url: &str) -> Option<(String, Option<String>)> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (info, host) = match authority.rsplit_once('@') {
        Some((info, host)) => (Some(percent_decode(info)), host),
        None => (None, authority),
    };
    if host.is_empty() {
        return None;
    }
    let path = path.trim_end_matches('/');
    Some((format!("{scheme}://{host}{path}"), info))
}

fn redact_user_info(url: &str) -> String {
    match split_user_info(url) {
        Some((plain, Some(_))) => plain,
        _ => match url.rsplit_once('@') {
            Some((_, host)) => format!("[hidden]@{host}"),
            None => url.to_string(),
        },
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn split_credentials(info: &str) -> (String, Secret) {
    match info.split_once(':') {
        Some((user, password)) => (user.to_string(), Secret::new(password)),
        None => (info.to_string(), Secret::new("")),
    }
}

/// What the converter keeps per `Arc<Schema>` it has seen.
struct Entry {
    /// Keeps the address (the cache key) from being reused while the entry lives.
    _schema: Arc<Schema>,
    avro: Arc<AvroSchema>,
    /// Schema id per topic (one entry under "" when the subject does not depend on the topic).
    ids: Vec<(Box<str>, u32)>,
}

/// The Avro converter. One per key or value side of a connector task.
pub struct AvroConverter {
    config: AvroConverterConfig,
    registry: Registry,
    /// By schema address.
    entries: HashMap<usize, Entry>,
    /// What the registry answered: subject → schema text → id.
    ids: HashMap<String, HashMap<Arc<str>, u32>>,
}

impl std::fmt::Debug for AvroConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroConverter")
            .field("is_key", &self.config.is_key)
            .field("registry", &self.registry)
            .field("schemas", &self.entries.len())
            .finish()
    }
}

impl AvroConverter {
    pub fn new(config: AvroConverterConfig) -> Result<AvroConverter, String> {
        let registry = Registry::new(
            &config.urls,
            config
                .basic_auth
                .as_ref()
                .map(|(user, password)| (user.as_str(), password)),
        )?;
        Ok(AvroConverter {
            config,
            registry,
            entries: HashMap::new(),
            ids: HashMap::new(),
        })
    }

    /// The converter for a key (`is_key`) or value side, from its own properties. Errors name
    /// the key (without the `key.converter.` / `value.converter.` prefix).
    pub fn from_props(
        is_key: bool,
        props: &BTreeMap<String, String>,
    ) -> Result<AvroConverter, Vec<(String, String)>> {
        let config = AvroConverterConfig::from_props(is_key, props)?;
        AvroConverter::new(config).map_err(|e| vec![(SCHEMA_REGISTRY_URL.to_string(), e)])
    }

    pub fn config(&self) -> &AvroConverterConfig {
        &self.config
    }

    /// The entry of `schema`, building its Avro schema on first sight.
    fn entry(&mut self, topic: &str, schema: &Arc<Schema>) -> Result<&mut Entry, ConvertError> {
        let key = Arc::as_ptr(schema) as usize;
        if !self.entries.contains_key(&key) {
            let avro = schema::from_connect(schema, &self.config.data).map_err(|reason| {
                ConvertError::AvroSchema {
                    topic: topic.to_string(),
                    reason,
                }
            })?;
            if self.entries.len() >= self.config.schemas_cache_size {
                // Schemas are per table and per schema change: this only trips on DDL churn.
                self.entries.clear();
            }
            self.entries.insert(
                key,
                Entry {
                    _schema: schema.clone(),
                    avro: Arc::new(avro),
                    ids: Vec::new(),
                },
            );
        }
        self.entries
            .get_mut(&key)
            .ok_or_else(|| ConvertError::NeedsRegistration {
                topic: topic.to_string(),
            })
    }

    fn subject(&self, topic: &str, avro: &AvroSchema) -> String {
        self.config
            .subject_name_strategy
            .subject(topic, self.config.is_key, &avro.record_name)
    }

    fn topic_key<'t>(&self, topic: &'t str) -> &'t str {
        if self.config.subject_name_strategy.uses_topic() {
            topic
        } else {
            ""
        }
    }

    /// The schema id for `schema` on `topic` if the registry already answered for it.
    fn known_id(&mut self, topic: &str, schema: &Arc<Schema>) -> Result<Option<u32>, ConvertError> {
        let topic_key = self.topic_key(topic);
        let avro = self.entry(topic, schema)?.avro.clone();
        let subject = self.subject(topic, &avro);
        let Some(id) = self
            .ids
            .get(&subject)
            .and_then(|by_text| by_text.get(avro.json.as_str()))
            .copied()
        else {
            return Ok(None);
        };
        let entry = self.entry(topic, schema)?;
        if !entry.ids.iter().any(|(t, _)| **t == *topic_key) {
            entry.ids.push((topic_key.into(), id));
        }
        Ok(Some(id))
    }

    async fn register_schema(
        &mut self,
        topic: &str,
        schema: &Arc<Schema>,
    ) -> Result<(), ConvertError> {
        if self.known_id(topic, schema)?.is_some() {
            return Ok(());
        }
        let avro = self.entry(topic, schema)?.avro.clone();
        let subject = self.subject(topic, &avro);
        let id = if self.config.auto_register_schemas {
            self.registry.register(&subject, &avro.json).await?
        } else if self.config.use_latest_version {
            let (id, latest) = self.registry.latest(&subject).await?;
            if !same_schema(&latest, &avro.json) {
                return Err(ConvertError::Registry {
                    url: self.config.urls.join(","),
                    subject,
                    operation: "use the latest schema",
                    status: None,
                    error_code: 0,
                    message: "the latest version differs from the record's schema; Sluice writes records with their own schema only (set auto.register.schemas=true, or register the record's schema)".into(),
                });
            }
            id
        } else {
            self.registry.lookup(&subject, &avro.json).await?
        };
        tracing::debug!(%subject, id, "schema registered");
        self.ids
            .entry(subject)
            .or_default()
            .insert(avro.json.as_str().into(), id);
        if self.known_id(topic, schema)?.is_none() {
            return Err(ConvertError::NeedsRegistration {
                topic: topic.to_string(),
            });
        }
        Ok(())
    }
}

/// Schema texts equal as JSON (key order aside).
fn same_schema(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Converter for AvroConverter {
    fn convert(
        &mut self,
        topic: &str,
        schema: Option<&Arc<Schema>>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        let value = match value {
            None | Some(Value::Null) => return Ok(false),
            Some(v) => v,
        };
        let Some(schema) = schema else {
            return Err(ConvertError::AvroSchema {
                topic: topic.to_string(),
                reason: "the value has no schema; the Avro converter needs one".into(),
            });
        };
        let topic_key = self.topic_key(topic);
        let cached = self
            .entries
            .get(&(Arc::as_ptr(schema) as usize))
            .and_then(|e| e.ids.iter().find(|(t, _)| **t == *topic_key))
            .map(|(_, id)| *id);
        let id = match cached {
            Some(id) => id,
            None => match self.known_id(topic, schema)? {
                Some(id) => id,
                None => {
                    return Err(ConvertError::NeedsRegistration {
                        topic: topic.to_string(),
                    })
                }
            },
        };
        out.push(MAGIC_BYTE);
        out.extend_from_slice(&id.to_be_bytes());
        let encoder = Encoder {
            data: &self.config.data,
            ignore_default_for_nullables: self.config.ignore_default_for_nullables,
        };
        encoder.value(schema, value, out, "")?;
        Ok(true)
    }

    fn class_name(&self) -> &'static str {
        "io.confluent.connect.avro.AvroConverter"
    }

    fn output_is_json(&self) -> bool {
        false
    }

    fn register<'a>(
        &'a mut self,
        topic: &'a str,
        schema: Option<&'a Arc<Schema>>,
    ) -> RegisterFuture<'a> {
        Box::pin(async move {
            match schema {
                Some(schema) => self.register_schema(topic, schema).await,
                None => Ok(()),
            }
        })
    }
}

/// Avro binary straight from Connect values, under the Avro schema AvroData makes of their
/// Connect schema (same union order, same map representation).
struct Encoder<'a> {
    data: &'a AvroDataOptions,
    ignore_default_for_nullables: bool,
}

/// Avro `long`/`int`: zig-zag, then base-128 varint.
#[inline]
fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    if z < 0x80 {
        out.push(z as u8);
        return;
    }
    let mut buf = [0u8; 10];
    let mut n = 0;
    while z >= 0x80 {
        buf[n] = (z as u8) | 0x80;
        z >>= 7;
        n += 1;
    }
    buf[n] = z as u8;
    out.extend_from_slice(&buf[..=n]);
}

#[inline]
fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn mismatch(field: &str, expected: &'static str) -> ConvertError {
    ConvertError::SchemaMismatch {
        field: field.to_string(),
        expected,
    }
}

impl Encoder<'_> {
    fn value(
        &self,
        schema: &Schema,
        value: &Value,
        out: &mut Vec<u8>,
        field: &str,
    ) -> Result<(), ConvertError> {
        if schema.optional {
            let null_first = schema::null_first(schema);
            if value.is_null() {
                out.push(if null_first { 0 } else { 2 });
                return Ok(());
            }
            // Union branch index 1 / 0 (zig-zag: 2 / 0).
            out.push(if null_first { 2 } else { 0 });
        } else if value.is_null() {
            return Err(mismatch(field, "a value (the schema is not optional)"));
        }
        match (schema.ty, value) {
            (SchemaType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
            (SchemaType::Int8, Value::Int8(v)) => write_long(out, i64::from(*v)),
            (SchemaType::Int16, Value::Int16(v)) => write_long(out, i64::from(*v)),
            (SchemaType::Int32, Value::Int32(v)) => write_long(out, i64::from(*v)),
            (SchemaType::Int64, Value::Int64(v)) => write_long(out, *v),
            (SchemaType::Float32, Value::Float32(v)) => out.extend_from_slice(&v.to_le_bytes()),
            (SchemaType::Float64, Value::Float64(v)) => out.extend_from_slice(&v.to_le_bytes()),
            (SchemaType::String, Value::String(s)) => write_bytes(out, s.as_bytes()),
            // Decimal values are already the unscaled two's-complement bytes Avro wants.
            (SchemaType::Bytes, Value::Bytes(b)) => write_bytes(out, b),
            (SchemaType::Struct, Value::Struct(values)) => {
                if values.len() != schema.fields.len() {
                    return Err(mismatch(field, "one value per struct field"));
                }
                for (f, v) in schema.fields.iter().zip(values) {
                    let v = match (v, &f.schema.default) {
                        (Value::Null, Some(d))
                            if !(self.ignore_default_for_nullables && f.schema.optional) =>
                        {
                            d
                        }
                        _ => v,
                    };
                    self.value(&f.schema, v, out, &f.name)?;
                }
            }
            (SchemaType::Array, Value::Array(items)) => {
                let item_schema = schema
                    .items
                    .as_deref()
                    .ok_or_else(|| mismatch(field, "an array schema with items"))?;
                if !items.is_empty() {
                    write_long(out, items.len() as i64);
                    for item in items {
                        self.value(item_schema, item, out, field)?;
                    }
                }
                out.push(0);
            }
            (SchemaType::Map, Value::Map(entries)) => {
                let (Some(key_schema), Some(value_schema)) =
                    (schema.keys.as_deref(), schema.items.as_deref())
                else {
                    return Err(mismatch(field, "a map schema with key and value schemas"));
                };
                let string_keyed = self.data.string_keyed(schema);
                if !entries.is_empty() {
                    write_long(out, entries.len() as i64);
                    for (k, v) in entries {
                        if string_keyed {
                            match k {
                                Value::String(k) => write_bytes(out, k.as_bytes()),
                                _ => return Err(mismatch(field, "a string map key")),
                            }
                        } else {
                            // A MapEntry record: key, then value.
                            self.value(key_schema, k, out, field)?;
                        }
                        self.value(value_schema, v, out, field)?;
                    }
                }
                out.push(0);
            }
            (ty, _) => return Err(mismatch(field, expected_value(ty))),
        }
        Ok(())
    }
}

fn expected_value(ty: SchemaType) -> &'static str {
    match ty {
        SchemaType::Int8 => "an int8 value",
        SchemaType::Int16 => "an int16 value",
        SchemaType::Int32 => "an int32 value",
        SchemaType::Int64 => "an int64 value",
        SchemaType::Float32 => "a float32 value",
        SchemaType::Float64 => "a float64 value",
        SchemaType::Boolean => "a boolean value",
        SchemaType::String => "a string value",
        SchemaType::Bytes => "a bytes value",
        SchemaType::Array => "an array value",
        SchemaType::Map => "a map value",
        SchemaType::Struct => "a struct value",
    }
}

#[cfg(test)]
mod tests;
