//! The worker config: what Kafka Connect keeps in `connect-standalone.properties` (offset
//! storage, converters) plus Sluice's sink choice. Kafka cluster keys (`bootstrap.servers`,
//! `group.id`, `rest.*`, ...) are accepted and kept raw in `extra` so an existing worker file
//! loads without warnings.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::error::{ConfigErrors, KeyError, Warning};
use crate::keys::{config_enum, Choice, KeyReader, KnownKeys};

/// `offset.storage.file.filename`.
pub const OFFSET_STORAGE_FILE_FILENAME: &str = "offset.storage.file.filename";
/// `offset.flush.interval.ms`.
pub const OFFSET_FLUSH_INTERVAL_MS: &str = "offset.flush.interval.ms";
/// `key.converter`.
pub const KEY_CONVERTER: &str = "key.converter";
/// `value.converter`.
pub const VALUE_CONVERTER: &str = "value.converter";
/// `key.converter.schemas.enable`.
pub const KEY_CONVERTER_SCHEMAS_ENABLE: &str = "key.converter.schemas.enable";
/// `value.converter.schemas.enable`.
pub const VALUE_CONVERTER_SCHEMAS_ENABLE: &str = "value.converter.schemas.enable";
/// `sink`.
pub const SINK: &str = "sink";
/// `sink.file.path`.
pub const SINK_FILE_PATH: &str = "sink.file.path";

/// `listeners`: where the REST API listens.
pub const LISTENERS: &str = "listeners";
/// `rest.advertised.host.name`.
pub const REST_ADVERTISED_HOST_NAME: &str = "rest.advertised.host.name";
/// `rest.advertised.port`.
pub const REST_ADVERTISED_PORT: &str = "rest.advertised.port";
/// `rest.advertised.listener`.
pub const REST_ADVERTISED_LISTENER: &str = "rest.advertised.listener";
/// `config.storage.file.filename` (Sluice): where connectors created through the REST API are
/// kept in standalone mode.
pub const CONFIG_STORAGE_FILE_FILENAME: &str = "config.storage.file.filename";
/// `rest.basic.auth.credentials.file` (Sluice): `user: password` lines, as the
/// `PropertyFileLoginModule` file of Connect's basic-auth extension.
pub const REST_BASIC_AUTH_CREDENTIALS_FILE: &str = "rest.basic.auth.credentials.file";
/// `listeners.https.ssl.keystore.location`: a PEM file with the private key and certificate
/// chain (KIP-651's PEM keystore) for an `https://` listener.
pub const LISTENERS_HTTPS_KEYSTORE_LOCATION: &str = "listeners.https.ssl.keystore.location";
/// `ssl.keystore.location`: used for `https://` listeners without a `listeners.https.` one.
pub const SSL_KEYSTORE_LOCATION: &str = "ssl.keystore.location";

/// Default of `listeners`: Kafka Connect's.
pub const DEFAULT_LISTENERS: &str = "http://127.0.0.1:8083";

/// Default of `offset.flush.interval.ms`: Kafka Connect commits offsets every minute.
pub const DEFAULT_OFFSET_FLUSH_INTERVAL_MS: u64 = 60_000;
/// Default of `key.converter` / `value.converter`.
pub const DEFAULT_CONVERTER: ConverterClass = ConverterClass::Json;
/// Default of `*.converter.schemas.enable`: Kafka's `JsonConverter` embeds schemas.
pub const DEFAULT_SCHEMAS_ENABLE: bool = true;
/// Default of `sink`: print records to standard output.
pub const DEFAULT_SINK: SinkKind = SinkKind::Stdout;

/// A Kafka Connect converter class, named by its fully qualified or simple class name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConverterClass {
    /// `org.apache.kafka.connect.json.JsonConverter`.
    Json,
    /// `org.apache.kafka.connect.storage.StringConverter`.
    String,
    /// `io.confluent.connect.avro.AvroConverter` (accepted here; serialisation comes later).
    Avro,
}

impl ConverterClass {
    /// Fully qualified class names, in the order of the variants.
    pub const CLASS_NAMES: &'static [&'static str] = &[
        "org.apache.kafka.connect.json.JsonConverter",
        "org.apache.kafka.connect.storage.StringConverter",
        "io.confluent.connect.avro.AvroConverter",
    ];

    /// The fully qualified Java class name.
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Json => Self::CLASS_NAMES[0],
            Self::String => Self::CLASS_NAMES[1],
            Self::Avro => Self::CLASS_NAMES[2],
        }
    }

    /// Parses a fully qualified or simple class name. Case-sensitive, as Java class names are.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        [Self::Json, Self::String, Self::Avro]
            .into_iter()
            .find(|c| {
                let full = c.class_name();
                value == full || full.rsplit('.').next() == Some(value)
            })
    }
}

impl fmt::Display for ConverterClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}

impl Choice for ConverterClass {
    fn allowed() -> &'static [&'static str] {
        Self::CLASS_NAMES
    }
    fn parse_value(value: &str) -> Option<Self> {
        Self::parse(value)
    }
}

config_enum! {
    /// Where serialised records go (`sink`).
    pub enum SinkKind {
        /// Append one JSON line per record to `sink.file.path`.
        File => "file",
        /// One line per record on standard output.
        Stdout => "stdout",
        /// Produce to the Kafka cluster at `bootstrap.servers` (the default when that key is
        /// set and `sink` is not).
        Kafka => "kafka",
    }
}

/// One REST listener (`http://host:port` or `https://host:port`; port 0 picks a free one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Parses Kafka Connect's `listeners`: a comma-separated list of `protocol://host:port`;
/// an empty host means every interface, as in Connect.
pub fn parse_listeners(text: &str) -> Result<Vec<Listener>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || {
            format!("invalid listener \"{item}\" in {LISTENERS}: expected http://host:port or https://host:port, e.g. {DEFAULT_LISTENERS}")
        };
        let (scheme, rest) = item.split_once("://").ok_or_else(bad)?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(bad()),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, p) = v6.split_once("]:").ok_or_else(bad)?;
            (h.to_string(), p)
        } else {
            let (h, p) = rest.rsplit_once(':').ok_or_else(bad)?;
            (h.to_string(), p)
        };
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = if host.is_empty() {
            "0.0.0.0".to_string()
        } else {
            host
        };
        out.push(Listener { https, host, port });
    }
    Ok(out)
}

/// Worker-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `offset.storage.file.filename`: where source offsets are kept; `None` keeps them in
    /// memory only.
    pub offset_storage_file_filename: Option<PathBuf>,
    /// `offset.flush.interval.ms`.
    pub offset_flush_interval_ms: u64,
    /// `key.converter`.
    pub key_converter: ConverterClass,
    /// `value.converter`.
    pub value_converter: ConverterClass,
    /// `key.converter.schemas.enable`.
    pub key_converter_schemas_enable: bool,
    /// `value.converter.schemas.enable`.
    pub value_converter_schemas_enable: bool,
    /// `sink`.
    pub sink: SinkKind,
    /// `sink.file.path`; always `Some` when `sink` is [`SinkKind::File`].
    pub sink_file_path: Option<PathBuf>,
    /// `listeners`: the REST API's listeners; empty (`listeners=`) turns the REST API off.
    pub listeners: Vec<Listener>,
    /// `rest.advertised.host.name` / `rest.advertised.port` / `rest.advertised.listener`: how
    /// this worker names itself in statuses (`worker_id`).
    pub rest_advertised_host_name: Option<String>,
    pub rest_advertised_port: Option<u16>,
    pub rest_advertised_listener: Option<String>,
    /// `config.storage.file.filename`: where connector configs are kept across restarts.
    pub config_storage_file_filename: Option<PathBuf>,
    /// `rest.basic.auth.credentials.file`.
    pub rest_basic_auth_credentials_file: Option<PathBuf>,
    /// The PEM key + certificate chain for `https://` listeners.
    pub rest_tls_keystore_location: Option<PathBuf>,
    /// Known Kafka Connect worker keys Sluice does not use (yet), kept as written, e.g.
    /// `bootstrap.servers` or `key.converter.schema.registry.url`.
    pub extra: BTreeMap<String, String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            offset_storage_file_filename: None,
            offset_flush_interval_ms: DEFAULT_OFFSET_FLUSH_INTERVAL_MS,
            key_converter: DEFAULT_CONVERTER,
            value_converter: DEFAULT_CONVERTER,
            key_converter_schemas_enable: DEFAULT_SCHEMAS_ENABLE,
            value_converter_schemas_enable: DEFAULT_SCHEMAS_ENABLE,
            sink: DEFAULT_SINK,
            sink_file_path: None,
            listeners: vec![Listener {
                https: false,
                host: "127.0.0.1".into(),
                port: 8083,
            }],
            rest_advertised_host_name: None,
            rest_advertised_port: None,
            rest_advertised_listener: None,
            config_storage_file_filename: None,
            rest_basic_auth_credentials_file: None,
            rest_tls_keystore_location: None,
            extra: BTreeMap::new(),
        }
    }
}

const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";

/// Worker keys accepted and kept raw.
const KNOWN_EXACT: &[&str] = &[
    BOOTSTRAP_SERVERS,
    "admin.listeners",
    "plugin.path",
    "plugin.discovery",
    "group.id",
    "client.id",
    "offset.storage",
    "offset.flush.timeout.ms",
    "header.converter",
    "connector.client.config.override.policy",
    "task.shutdown.graceful.timeout.ms",
    "metric.reporters",
    "auto.include.jmx.reporter",
    "topic.creation.enable",
    "exactly.once.source.support",
    "response.http.headers.config",
    "scheduled.rebalance.max.delay.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
    "worker.sync.timeout.ms",
    "worker.unsync.backoff.ms",
    "connections.max.idle.ms",
    "receive.buffer.bytes",
    "send.buffer.bytes",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "metadata.max.age.ms",
    "metadata.recovery.strategy",
    "client.dns.lookup",
    "security.protocol",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "socket.connection.setup.timeout.ms",
    "socket.connection.setup.timeout.max.ms",
    "config.providers",
];

/// Worker key prefixes accepted and kept raw.
const KNOWN_PREFIXES: &[&str] = &[
    "rest.",
    "listeners.",
    "admin.listeners.",
    "config.storage.",
    "status.storage.",
    "offset.storage.",
    "topic.creation.",
    "transaction.",
    "exactly.once.",
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "internal.",
    "ssl.",
    "sasl.",
    "metrics.",
    "config.providers.",
    "inter.worker.",
    "reconnect.backoff.",
];

impl WorkerConfig {
    /// Parses and validates a worker property map.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let mut r = KeyReader::new(map);
        let offset_storage_file_filename = r.path(OFFSET_STORAGE_FILE_FILENAME);
        let offset_flush_interval_ms = r.int(
            OFFSET_FLUSH_INTERVAL_MS,
            DEFAULT_OFFSET_FLUSH_INTERVAL_MS,
            0,
            i64::MAX,
        );
        let key_converter = r.choice(KEY_CONVERTER, DEFAULT_CONVERTER);
        let value_converter = r.choice(VALUE_CONVERTER, DEFAULT_CONVERTER);
        let key_converter_schemas_enable =
            r.bool(KEY_CONVERTER_SCHEMAS_ENABLE, DEFAULT_SCHEMAS_ENABLE);
        let value_converter_schemas_enable =
            r.bool(VALUE_CONVERTER_SCHEMAS_ENABLE, DEFAULT_SCHEMAS_ENABLE);
        // Kafka Connect's workers always write to Kafka; here a worker does when it names a
        // cluster, unless `sink` says otherwise.
        let sink = if map.contains_key(SINK) || !map.contains_key(BOOTSTRAP_SERVERS) {
            r.choice(SINK, DEFAULT_SINK)
        } else {
            SinkKind::Kafka
        };
        let sink_file_path = r.path(SINK_FILE_PATH);
        match sink {
            SinkKind::Kafka
                if map
                    .get(BOOTSTRAP_SERVERS)
                    .is_none_or(|v| v.trim().is_empty()) =>
            {
                r.error(
                    BOOTSTRAP_SERVERS,
                    format!("missing required key {BOOTSTRAP_SERVERS}: sink=kafka needs the Kafka cluster's host:port list"),
                )
            }
            SinkKind::File if sink_file_path.is_none() && !r.has_error(SINK) => r.error(
                SINK_FILE_PATH,
                format!("missing required key {SINK_FILE_PATH}: sink=file needs the path of the file to append records to"),
            ),
            SinkKind::Stdout if sink_file_path.is_some() => r.warn(
                SINK_FILE_PATH,
                format!("{SINK_FILE_PATH} has no effect unless sink=file"),
            ),
            _ => {}
        }
        // Read through the reader (so the key counts as known), but an empty value is
        // meaningful here: no REST API.
        let _ = r.raw(LISTENERS);
        let listeners = match map.get(LISTENERS).map(|v| v.trim()) {
            None => parse_listeners(DEFAULT_LISTENERS).unwrap_or_default(),
            Some(text) => match parse_listeners(text) {
                Ok(l) => l,
                Err(message) => {
                    r.error(LISTENERS, message);
                    Vec::new()
                }
            },
        };
        let rest_advertised_host_name = r.string(REST_ADVERTISED_HOST_NAME);
        let rest_advertised_port = r
            .raw(REST_ADVERTISED_PORT)
            .map(|p| p.trim().parse::<u16>().map_err(|_| p.to_string()));
        let rest_advertised_port = match rest_advertised_port {
            Some(Ok(p)) => Some(p),
            Some(Err(p)) => {
                r.error(
                    REST_ADVERTISED_PORT,
                    format!("invalid value \"{p}\" for {REST_ADVERTISED_PORT}: expected a port number (0-65535)"),
                );
                None
            }
            None => None,
        };
        let rest_advertised_listener = r.string(REST_ADVERTISED_LISTENER);
        let config_storage_file_filename = r.path(CONFIG_STORAGE_FILE_FILENAME);
        let rest_basic_auth_credentials_file = r.path(REST_BASIC_AUTH_CREDENTIALS_FILE);
        let rest_tls_keystore_location = r
            .path(LISTENERS_HTTPS_KEYSTORE_LOCATION)
            .or_else(|| r.path(SSL_KEYSTORE_LOCATION));
        if listeners.iter().any(|l| l.https) && rest_tls_keystore_location.is_none() {
            r.error(
                LISTENERS_HTTPS_KEYSTORE_LOCATION,
                format!("an https:// listener needs {LISTENERS_HTTPS_KEYSTORE_LOCATION} (or {SSL_KEYSTORE_LOCATION}): a PEM file with the private key and the certificate chain"),
            );
        }
        let known = KnownKeys {
            exact: KNOWN_EXACT,
            prefixes: KNOWN_PREFIXES,
            dynamic_prefixes: Vec::new(),
            renamed: &[],
        };
        let (extra, warnings) = r.finish(&known)?;
        Ok((
            Self {
                offset_storage_file_filename,
                offset_flush_interval_ms,
                key_converter,
                value_converter,
                key_converter_schemas_enable,
                value_converter_schemas_enable,
                sink,
                sink_file_path,
                listeners,
                rest_advertised_host_name,
                rest_advertised_port,
                rest_advertised_listener,
                config_storage_file_filename,
                rest_basic_auth_credentials_file,
                rest_tls_keystore_location,
                extra,
            },
            warnings,
        ))
    }

    /// All errors in `map`, empty when it is valid.
    pub fn validate(map: &BTreeMap<String, String>) -> Vec<KeyError> {
        Self::from_map(map)
            .err()
            .map(|e| e.errors)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn listeners_default_list_and_off() {
        let (c, _) = WorkerConfig::from_map(&BTreeMap::new()).expect("valid");
        assert_eq!(c.listeners[0].to_string(), DEFAULT_LISTENERS);
        let (c, _) = WorkerConfig::from_map(&map(&[("listeners", "")])).expect("valid");
        assert!(c.listeners.is_empty());
        let (c, _) = WorkerConfig::from_map(&map(&[
            ("listeners", "http://0.0.0.0:8083, https://[::1]:0"),
            (
                "listeners.https.ssl.keystore.location",
                "/etc/sluice/rest.pem",
            ),
        ]))
        .expect("valid");
        assert_eq!(c.listeners.len(), 2);
        assert!(c.listeners[1].https);
        assert_eq!(c.listeners[1].host, "::1");
        let errors = WorkerConfig::validate(&map(&[("listeners", "tcp://x:1")]));
        assert_eq!(errors[0].key, "listeners");
        let errors = WorkerConfig::validate(&map(&[("listeners", "https://127.0.0.1:8443")]));
        assert_eq!(errors[0].key, "listeners.https.ssl.keystore.location");
    }

    #[test]
    fn defaults() {
        let (config, warnings) = WorkerConfig::from_map(&BTreeMap::new()).expect("valid");
        assert_eq!(config, WorkerConfig::default());
        assert!(warnings.is_empty());
    }

    #[test]
    fn full_and_simple_class_names() {
        let (c, _) = WorkerConfig::from_map(&map(&[
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("value.converter", "AvroConverter"),
        ]))
        .expect("valid");
        assert_eq!(c.key_converter, ConverterClass::String);
        assert_eq!(c.value_converter, ConverterClass::Avro);
        assert_eq!(
            ConverterClass::parse("JsonConverter"),
            Some(ConverterClass::Json)
        );
        assert_eq!(ConverterClass::parse("jsonconverter"), None);
    }

    #[test]
    fn invalid_converter_lists_classes() {
        let errors = WorkerConfig::validate(&map(&[("value.converter", "com.example.Protobuf")]));
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "invalid value \"com.example.Protobuf\" for value.converter: expected one of \
             org.apache.kafka.connect.json.JsonConverter, org.apache.kafka.connect.storage.StringConverter, \
             io.confluent.connect.avro.AvroConverter"
        );
    }

    #[test]
    fn invalid_sink_and_bool_and_number() {
        let errors = WorkerConfig::validate(&map(&[
            ("sink", "s3"),
            ("key.converter.schemas.enable", "yes"),
            ("offset.flush.interval.ms", "-5"),
        ]));
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "invalid value \"-5\" for offset.flush.interval.ms: expected a non-negative integer",
                "invalid value \"yes\" for key.converter.schemas.enable: expected true or false",
                "invalid value \"s3\" for sink: expected one of file, stdout, kafka",
            ]
        );
        let errors = WorkerConfig::validate(&map(&[("sink", "kafka")]));
        assert_eq!(
            errors[0].message,
            "missing required key bootstrap.servers: sink=kafka needs the Kafka cluster's host:port list"
        );
        let (c, _) =
            WorkerConfig::from_map(&map(&[("bootstrap.servers", "k:9092")])).expect("valid");
        assert_eq!(
            c.sink,
            SinkKind::Kafka,
            "bootstrap.servers alone selects kafka"
        );
        let (c, _) =
            WorkerConfig::from_map(&map(&[("bootstrap.servers", "k:9092"), ("sink", "stdout")]))
                .expect("valid");
        assert_eq!(c.sink, SinkKind::Stdout, "an explicit sink wins");
    }

    #[test]
    fn file_sink_needs_path() {
        let errors = WorkerConfig::validate(&map(&[("sink", "file")]));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "sink.file.path");
        assert!(errors[0]
            .message
            .starts_with("missing required key sink.file.path"));
        let (c, _) =
            WorkerConfig::from_map(&map(&[("sink", "FILE"), ("sink.file.path", "/tmp/x")]))
                .expect("valid");
        assert_eq!(c.sink, SinkKind::File);
        assert_eq!(c.sink_file_path, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn kafka_keys_are_known_and_unknown_keys_warn() {
        let (c, warnings) = WorkerConfig::from_map(&map(&[
            ("bootstrap.servers", "localhost:9092"),
            ("rest.port", "8083"),
            ("producer.linger.ms", "5"),
            ("config.storage.topic", "configs"),
            (
                "value.converter.schema.registry.url",
                "http://localhost:8081",
            ),
            ("offset.storage.topic", "offsets"),
            ("sink.flie.path", "/tmp/x"),
            ("frobnicate", "1"),
        ]))
        .expect("valid");
        assert_eq!(c.extra.len(), 6);
        assert_eq!(c.extra["bootstrap.servers"], "localhost:9092");
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "unknown key frobnicate: ignored",
                "unknown key sink.flie.path: ignored; did you mean sink.file.path?",
            ]
        );
    }
}
