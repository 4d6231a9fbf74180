//! [`KafkaSinkConfig`]: Kafka Connect worker keys in, librdkafka producer properties out.
//!
//! ```text
//! Sluice defaults (acks=all, idempotence, murmur2, no delivery timeout, 32 MiB buffer)
//!   < bootstrap.servers, security.protocol, ssl.*, sasl.*   (worker level)
//!   < producer.*                                            (worker level)
//!   < producer.override.*                                   (connector level, see with_overrides)
//!   ──Java client names translated (buffer.memory, max.request.size, sasl.jaas.config,
//!     ssl.truststore.*, ...)──> librdkafka properties, each checked by librdkafka itself
//! ```
//!
//! Kafka Connect hands a source task's producer only the `producer.*` keys; Sluice also
//! applies the worker's top-level `security.protocol`, `ssl.*` and `sasl.*` first, because in
//! exactly-once mode the same producer writes the offsets topic (which Connect reaches with
//! the top-level keys). A `producer.`-prefixed key always wins.
//!
//! Java names that librdkafka spells differently are translated; Java-only keys
//! (serializers, interceptors, JMX, ...) are ignored with a warning; every other key is passed
//! to librdkafka as it is, so librdkafka's own names (`queue.buffering.max.messages`,
//! `sticky.partitioning.linger.ms`, ...) work too.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;
use sluice_config::{ConfigErrors, KeyError, Warning};

use super::topics::TopicCreation;

/// `bootstrap.servers`: the Kafka cluster, `host:port[,host:port...]`. Required.
pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
/// `producer.`: keys of the source tasks' producer.
pub const PRODUCER_PREFIX: &str = "producer.";
/// `producer.override.`: per-connector producer keys (Kafka Connect's client overrides).
pub const PRODUCER_OVERRIDE_PREFIX: &str = "producer.override.";
/// `exactly.once.source.support`: `disabled`, `preparing` or `enabled` (KIP-618).
pub const EXACTLY_ONCE_SOURCE_SUPPORT: &str = "exactly.once.source.support";
/// `group.id`: names transactional ids (`<group.id>-<connector>-<task>`), as Kafka Connect does.
pub const GROUP_ID: &str = "group.id";
/// `transactional.id`: Sluice extension; one fixed transactional id instead of the derived one.
pub const TRANSACTIONAL_ID: &str = "transactional.id";
/// `topic.creation.enable`: whether `topic.creation.*` rules create topics.
pub const TOPIC_CREATION_ENABLE: &str = "topic.creation.enable";
/// `offset.storage.topic`: where exactly-once offset records go.
pub const OFFSET_STORAGE_TOPIC: &str = "offset.storage.topic";
/// `offset.storage.partitions`.
pub const OFFSET_STORAGE_PARTITIONS: &str = "offset.storage.partitions";
/// `offset.storage.replication.factor`.
pub const OFFSET_STORAGE_REPLICATION_FACTOR: &str = "offset.storage.replication.factor";

/// Default of `buffer.memory` (librdkafka `queue.buffering.max.kbytes`): Kafka's own default,
/// 32 MiB. librdkafka's default (1 GiB) is far more memory than a CDC pipeline should hold;
/// when the queue is full `send` waits (backpressure).
pub const DEFAULT_BUFFER_MEMORY_BYTES: u64 = 32 << 20;
/// Default of `group.id` when the worker file has none (standalone workers).
pub const DEFAULT_GROUP_ID: &str = "sluice";
/// Default of `offset.storage.partitions`, as in Kafka Connect.
pub const DEFAULT_OFFSET_STORAGE_PARTITIONS: i32 = 25;
/// Default of `offset.storage.replication.factor`, as in Kafka Connect.
pub const DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR: i32 = 3;
/// Default of `topic.creation.enable`.
pub const DEFAULT_TOPIC_CREATION_ENABLE: bool = true;
/// librdkafka's default `message.max.bytes`.
const LIBRDKAFKA_DEFAULT_MESSAGE_MAX_BYTES: u64 = 1_000_000;
/// librdkafka's default `transaction.timeout.ms`.
const LIBRDKAFKA_DEFAULT_TRANSACTION_TIMEOUT_MS: u64 = 60_000;

/// Producer properties Sluice sets unless the worker file says otherwise.
///
/// - `acks=all`, `enable.idempotence=true`: a delivery report means every in-sync replica
///   has the record, and retries neither duplicate nor reorder records of a partition.
/// - `partitioner=murmur2_random`: keyed records land in the partition Kafka's Java
///   producer (and so Debezium on Kafka Connect) would choose; librdkafka's own default
///   hashes differently, which would split a key's history across partitions after a
///   migration from Debezium.
/// - `message.timeout.ms=0` (non-transactional only, set in [`KafkaSinkConfig::producer_properties`]):
///   deliveries never time out; a broker outage is waited out. Kafka Connect does the same for
///   source tasks (`delivery.timeout.ms=Integer.MAX_VALUE`).
const DEFAULTS: &[(&str, &str)] = &[
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("max.in.flight.requests.per.connection", "5"),
    ("partitioner", "murmur2_random"),
    ("client.id", "sluice-producer"),
];

/// Java-client keys with no librdkafka equivalent: accepted (a Kafka Connect worker file
/// loads unchanged) and ignored with a warning.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "interceptor.classes",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "auto.include.jmx.reporter",
    "enable.metrics.push",
    "max.block.ms",
    "client.dns.lookup",
    "metadata.max.idle.ms",
    "metadata.recovery.strategy",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "partitioner.ignore.keys",
    "socket.connection.setup.timeout.max.ms",
    "security.providers",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.provider",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "ssl.cipher.suites",
    "ssl.truststore.password",
    "sasl.login.class",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
    "transaction.two.phase.commit.enable",
    // Server-side TLS / SASL keys a worker file may carry at top level for its REST listener.
    "ssl.client.auth",
    "ssl.principal.mapping.rules",
    "sasl.enabled.mechanisms",
    "sasl.server.callback.handler.class",
];

/// Keys that reach the admin client too (topic creation connects like the producer).
const CONNECTION_PREFIXES: &[&str] = &[
    "bootstrap.servers",
    "security.protocol",
    "ssl.",
    "ssl_",
    "sasl.",
    "enable.ssl.",
    "enable.sasl.",
    "socket.",
    "broker.address.",
    "client.id",
    "client.rack",
    "reconnect.backoff.",
    "connections.max.idle.ms",
    "metadata.max.age.ms",
    "topic.metadata.",
    "api.version.",
    "broker.version.fallback",
    "https.",
    "debug",
];

/// `exactly.once.source.support` (KIP-618).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    /// Plain idempotent producer; at-least-once delivery.
    Disabled,
    /// Kafka Connect's rolling-upgrade step; behaves as `disabled` here.
    Preparing,
    /// One Kafka transaction per batch, offset record included ([`super::KafkaSink::transactional`]).
    Enabled,
}

impl ExactlyOnceSupport {
    fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(Self::Disabled),
            "preparing" => Some(Self::Preparing),
            "enabled" => Some(Self::Enabled),
            _ => None,
        }
    }
}

/// The exactly-once offsets topic and how to create it when it is missing (compacted, like
/// Kafka Connect's `offset.storage.topic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetStorageTopic {
    /// `offset.storage.topic`.
    pub name: String,
    /// `offset.storage.partitions` (-1: the broker's default).
    pub partitions: i32,
    /// `offset.storage.replication.factor` (-1: the broker's default).
    pub replication_factor: i32,
}

/// The Kafka sink's settings, parsed from a worker property map. Build one with
/// [`KafkaSinkConfig::from_worker`]; [`super::KafkaSink::new`] takes it.
#[derive(Clone)]
pub struct KafkaSinkConfig {
    /// `bootstrap.servers` as the producer uses it.
    pub bootstrap_servers: String,
    /// `exactly.once.source.support`.
    pub exactly_once: ExactlyOnceSupport,
    /// `group.id`, or [`DEFAULT_GROUP_ID`].
    pub group_id: String,
    /// `transactional.id` when the worker file fixes one.
    pub transactional_id: Option<String>,
    /// `topic.creation.enable`.
    pub topic_creation_enable: bool,
    /// `topic.creation.*` in the worker file: the rules for connectors that have none.
    pub topic_creation: TopicCreation,
    /// `offset.storage.topic` and its creation settings.
    pub offset_storage: Option<OffsetStorageTopic>,
    /// librdkafka producer properties (defaults applied, Java names translated). Secrets
    /// included: never print them ([`fmt::Debug`] hides them).
    properties: BTreeMap<String, String>,
    /// For each librdkafka property, the worker key it came from (for error messages).
    origins: BTreeMap<String, String>,
}

impl fmt::Debug for KafkaSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret(k) { "[hidden]" } else { v.as_str() };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaSinkConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("exactly_once", &self.exactly_once)
            .field("group_id", &self.group_id)
            .field("transactional_id", &self.transactional_id)
            .field("topic_creation_enable", &self.topic_creation_enable)
            .field("topic_creation", &self.topic_creation)
            .field("offset_storage", &self.offset_storage)
            .field("properties", &properties)
            .finish()
    }
}

/// Whether a property holds a secret (its value never reaches logs or messages).
pub(crate) fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("jaas")
        || key == "ssl.key.pem"
        || key == "ssl_key"
        || key == "ssl.keystore.key"
        || key == "sasl.oauthbearer.config"
}

/// Reads and records errors and warnings for one map.
struct Reader {
    errors: Vec<KeyError>,
    warnings: Vec<Warning>,
}

impl Reader {
    fn error(&mut self, key: &str, message: String) {
        self.errors.push(KeyError {
            key: key.to_string(),
            message,
        });
    }

    fn warn(&mut self, key: &str, message: String) {
        self.warnings.push(Warning {
            key: key.to_string(),
            message,
        });
    }

    fn int(&mut self, map: &BTreeMap<String, String>, key: &str, default: i64) -> i64 {
        match map.get(key) {
            None => default,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) => n,
                Err(_) => {
                    self.error(
                        key,
                        format!("invalid value \"{v}\" for {key}: expected an integer"),
                    );
                    default
                }
            },
        }
    }

    fn bool(&mut self, map: &BTreeMap<String, String>, key: &str, default: bool) -> bool {
        match map.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => default,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => {
                self.error(
                    key,
                    format!("invalid value \"{v}\" for {key}: expected true or false"),
                );
                default
            }
        }
    }
}

/// A Java-client property after merging the levels: its value and the worker key it came from.
#[derive(Clone)]
struct JavaProperty {
    value: String,
    origin: String,
}

impl KafkaSinkConfig {
    /// Parses the sink's keys out of a worker property map (the raw map, before
    /// `WorkerConfig` drops what it does not know). Every bad key is reported, each with the
    /// worker key to fix. Keys that are not the sink's are ignored silently.
    pub fn from_worker(
        map: &BTreeMap<String, String>,
    ) -> Result<(KafkaSinkConfig, Vec<Warning>), ConfigErrors> {
        let mut r = Reader {
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let exactly_once = match map.get(EXACTLY_ONCE_SOURCE_SUPPORT) {
            None => ExactlyOnceSupport::Disabled,
            Some(v) => ExactlyOnceSupport::parse(v).unwrap_or_else(|| {
                r.error(
                    EXACTLY_ONCE_SOURCE_SUPPORT,
                    format!(
                        "invalid value \"{v}\" for {EXACTLY_ONCE_SOURCE_SUPPORT}: expected one of \
                         disabled, preparing, enabled"
                    ),
                );
                ExactlyOnceSupport::Disabled
            }),
        };
        let group_id = map
            .get(GROUP_ID)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_GROUP_ID.to_string());
        let transactional_id = map
            .get(TRANSACTIONAL_ID)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let topic_creation_enable =
            r.bool(map, TOPIC_CREATION_ENABLE, DEFAULT_TOPIC_CREATION_ENABLE);
        let offset_storage = map
            .get(OFFSET_STORAGE_TOPIC)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|name| OffsetStorageTopic {
                name,
                partitions: topic_size(
                    &mut r,
                    map,
                    OFFSET_STORAGE_PARTITIONS,
                    DEFAULT_OFFSET_STORAGE_PARTITIONS,
                ),
                replication_factor: topic_size(
                    &mut r,
                    map,
                    OFFSET_STORAGE_REPLICATION_FACTOR,
                    DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR,
                ),
            });
        if exactly_once == ExactlyOnceSupport::Enabled && offset_storage.is_none() {
            r.warn(
                OFFSET_STORAGE_TOPIC,
                format!(
                    "{EXACTLY_ONCE_SOURCE_SUPPORT}=enabled without {OFFSET_STORAGE_TOPIC}: \
                     set it so offsets are written in the same transaction as the records"
                ),
            );
        }
        let topic_creation = match TopicCreation::from_map(map) {
            Ok((rules, warnings)) => {
                r.warnings.extend(warnings);
                rules
            }
            Err(errors) => {
                r.errors.extend(errors);
                TopicCreation::none()
            }
        };

        // Merge the levels: top-level connection keys, then producer.*, then producer.override.*.
        let mut java: BTreeMap<String, JavaProperty> = BTreeMap::new();
        for (key, value) in map {
            if key == BOOTSTRAP_SERVERS
                || key == "security.protocol"
                || key.starts_with("ssl.")
                || key.starts_with("sasl.")
            {
                java.insert(
                    key.clone(),
                    JavaProperty {
                        value: value.clone(),
                        origin: key.clone(),
                    },
                );
            }
        }
        merge_prefixed(
            &mut java,
            map,
            PRODUCER_PREFIX,
            Some(PRODUCER_OVERRIDE_PREFIX),
        );
        merge_prefixed(&mut java, map, PRODUCER_OVERRIDE_PREFIX, None);

        let bootstrap_servers = match java.get(BOOTSTRAP_SERVERS) {
            Some(p) if !p.value.trim().is_empty() => p.value.trim().to_string(),
            _ => {
                r.error(
                    BOOTSTRAP_SERVERS,
                    format!(
                        "missing required key {BOOTSTRAP_SERVERS}: the Kafka sink needs the \
                         brokers to connect to, e.g. {BOOTSTRAP_SERVERS}=localhost:9092"
                    ),
                );
                String::new()
            }
        };

        let mut config = KafkaSinkConfig {
            bootstrap_servers,
            exactly_once,
            group_id,
            transactional_id,
            topic_creation_enable,
            topic_creation,
            offset_storage,
            properties: BTreeMap::new(),
            origins: BTreeMap::new(),
        };
        for (key, value) in DEFAULTS {
            config.set(key, value, "(sluice default)");
        }
        config.set(
            "queue.buffering.max.kbytes",
            &(DEFAULT_BUFFER_MEMORY_BYTES / 1024).to_string(),
            "(sluice default)",
        );
        translate_all(&mut config, &java, &mut r);
        config.check(&mut r);
        if r.errors.is_empty() {
            Ok((config, r.warnings))
        } else {
            Err(ConfigErrors { errors: r.errors })
        }
    }

    /// This config with a connector's `producer.override.*` keys applied (Kafka Connect's
    /// per-connector client overrides). A shared [`super::KafkaSink`] has one producer, so
    /// a connector with overrides needs a sink of its own built from the returned config.
    pub fn with_overrides(
        &self,
        connector: &BTreeMap<String, String>,
    ) -> Result<(KafkaSinkConfig, Vec<Warning>), ConfigErrors> {
        let mut r = Reader {
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let mut java = BTreeMap::new();
        merge_prefixed(&mut java, connector, PRODUCER_OVERRIDE_PREFIX, None);
        let mut config = self.clone();
        translate_all(&mut config, &java, &mut r);
        if let Some(p) = java.get(BOOTSTRAP_SERVERS) {
            config.bootstrap_servers = p.value.trim().to_string();
        }
        config.check(&mut r);
        if r.errors.is_empty() {
            Ok((config, r.warnings))
        } else {
            Err(ConfigErrors { errors: r.errors })
        }
    }

    /// Whether `exactly.once.source.support=enabled`: build the sink with
    /// [`super::KafkaSink::transactional`].
    pub fn is_exactly_once(&self) -> bool {
        self.exactly_once == ExactlyOnceSupport::Enabled
    }

    /// The transactional id of a connector task: `transactional.id` if the worker file sets
    /// one, else `<group.id>-<connector>-<task>` as Kafka Connect names it (KIP-618).
    pub fn transactional_id_for(&self, connector: &str, task: u32) -> String {
        self.transactional_id
            .clone()
            .unwrap_or_else(|| format!("{}-{connector}-{task}", self.group_id))
    }

    /// A librdkafka property as the producer will get it (secrets included).
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// The worker key a librdkafka property came from, e.g. `producer.max.request.size` for
    /// `message.max.bytes`.
    pub fn origin(&self, key: &str) -> Option<&str> {
        self.origins.get(key).map(String::as_str)
    }

    /// Sets a librdkafka property directly (tests and tools; worker files go through
    /// [`KafkaSinkConfig::from_worker`]).
    pub fn set_property(&mut self, key: &str, value: &str) {
        self.set(key, value, key);
    }

    /// The transaction timeout the producer will use.
    pub(crate) fn transaction_timeout(&self) -> Duration {
        let ms = self
            .property("transaction.timeout.ms")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(LIBRDKAFKA_DEFAULT_TRANSACTION_TIMEOUT_MS);
        Duration::from_millis(ms)
    }

    /// Properties for the producer; `transactional_id` makes it transactional.
    pub(crate) fn producer_properties(&self, transactional_id: Option<&str>) -> ClientConfig {
        let mut client = ClientConfig::new();
        for (key, value) in &self.properties {
            client.set(key, value);
        }
        match transactional_id {
            Some(id) => {
                client.set("transactional.id", id);
            }
            None => {
                if self.property("message.timeout.ms").is_none() {
                    // Never give up on a delivery: broker outages are waited out (backpressure).
                    client.set("message.timeout.ms", "0");
                }
            }
        }
        client
    }

    /// Properties for the admin client that creates topics: the connection settings only.
    pub(crate) fn admin_properties(&self) -> ClientConfig {
        let mut client = ClientConfig::new();
        for (key, value) in &self.properties {
            if CONNECTION_PREFIXES.iter().any(|p| key.starts_with(p)) {
                client.set(key, value);
            }
        }
        // Looking a topic up must not make a broker with auto.create.topics.enable create it
        // with its defaults instead of by the topic.creation rules.
        client.set("allow.auto.create.topics", "false");
        client
    }

    fn set(&mut self, key: &str, value: &str, origin: &str) {
        self.properties.insert(key.to_string(), value.to_string());
        self.origins.insert(key.to_string(), origin.to_string());
    }

    /// Checks every property with librdkafka itself, then the combinations.
    fn check(&mut self, r: &mut Reader) {
        let mut unknown = Vec::new();
        for (key, value) in &self.properties {
            let mut one = ClientConfig::new();
            one.set(key, value);
            let Err(e) = one.create_native_config() else {
                continue;
            };
            let origin = self.origins.get(key).map_or(key.as_str(), String::as_str);
            if let KafkaError::ClientConfig(RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN, ..) = e {
                // Like Kafka's Java clients, which warn about a supplied config they do not
                // know, an unknown key does not stop the worker.
                r.warn(
                    origin,
                    format!(
                        "{origin} is neither a Kafka producer setting Sluice translates nor a \
                         librdkafka property: ignored"
                    ),
                );
                unknown.push(key.clone());
                continue;
            }
            let via = if origin == key {
                String::new()
            } else {
                format!(" (librdkafka property {key})")
            };
            let detail = match &e {
                KafkaError::ClientConfig(_, description, _, _) if !is_secret(key) => {
                    format!(": {description}")
                }
                _ => String::new(),
            };
            r.error(origin, format!("invalid value for {origin}{via}{detail}"));
        }
        for key in unknown {
            self.properties.remove(&key);
            self.origins.remove(&key);
        }
        let message_max = self
            .property("message.max.bytes")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(LIBRDKAFKA_DEFAULT_MESSAGE_MAX_BYTES);
        let buffer_kbytes = self
            .property("queue.buffering.max.kbytes")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(kbytes) = buffer_kbytes {
            if message_max > kbytes.saturating_mul(1024) {
                let origin = self
                    .origin("queue.buffering.max.kbytes")
                    .unwrap_or("producer.buffer.memory")
                    .to_string();
                r.error(
                    &origin,
                    format!(
                        "{origin} ({} bytes) is smaller than the largest record the producer \
                         accepts ({message_max} bytes, max.request.size): a record that large \
                         could never be queued; raise producer.buffer.memory or lower \
                         producer.max.request.size",
                        kbytes.saturating_mul(1024)
                    ),
                );
            }
        }
        let transactional = self.exactly_once == ExactlyOnceSupport::Enabled;
        if transactional {
            for (key, bad, why) in [
                (
                    "enable.idempotence",
                    "false",
                    "transactions need the idempotent producer",
                ),
                ("acks", "1", "transactions need acks=all"),
                ("acks", "0", "transactions need acks=all"),
            ] {
                if self
                    .property(key)
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case(bad))
                {
                    let origin = self.origin(key).unwrap_or(key).to_string();
                    r.error(
                        &origin,
                        format!(
                            "{origin}={bad} conflicts with {EXACTLY_ONCE_SOURCE_SUPPORT}=enabled: \
                             {why}; remove {origin}"
                        ),
                    );
                }
            }
            if let Some(ms) = self
                .property("message.timeout.ms")
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                let txn = self.transaction_timeout().as_millis();
                if ms == 0 || u128::from(ms) > txn {
                    let origin = self
                        .origin("message.timeout.ms")
                        .unwrap_or("message.timeout.ms")
                        .to_string();
                    r.error(
                        &origin,
                        format!(
                            "{origin}={ms} must be between 1 and transaction.timeout.ms ({txn}) \
                             with {EXACTLY_ONCE_SOURCE_SUPPORT}=enabled: remove it (it then \
                             follows the transaction timeout)"
                        ),
                    );
                }
            }
        } else {
            if self
                .property("enable.idempotence")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
            {
                let origin = self
                    .origin("enable.idempotence")
                    .unwrap_or("enable.idempotence")
                    .to_string();
                r.warn(
                    &origin,
                    format!(
                        "{origin}=false: a retried send can duplicate or reorder records of a \
                         key; remove it to keep per-key order"
                    ),
                );
            }
            if self
                .property("acks")
                .is_some_and(|v| !matches!(v.trim(), "all" | "-1"))
            {
                let origin = self.origin("acks").unwrap_or("acks").to_string();
                r.warn(
                    &origin,
                    format!(
                        "{origin} is not all: acknowledged records can be lost when a partition \
                         leader fails, and offsets would be committed past them; use acks=all"
                    ),
                );
            }
        }
    }
}

/// A topic size key: a positive number or -1 (the broker's default).
fn topic_size(r: &mut Reader, map: &BTreeMap<String, String>, key: &str, default: i32) -> i32 {
    let value = r.int(map, key, i64::from(default));
    match i32::try_from(value) {
        Ok(n) if n == -1 || n >= 1 => n,
        _ => {
            r.error(
                key,
                format!(
                    "invalid value \"{value}\" for {key}: expected a positive number, or -1 for \
                     the broker's default"
                ),
            );
            default
        }
    }
}

/// Copies `prefix`-ed keys (minus the prefix) into `java`, skipping `skip`-ed ones.
fn merge_prefixed(
    java: &mut BTreeMap<String, JavaProperty>,
    map: &BTreeMap<String, String>,
    prefix: &str,
    skip: Option<&str>,
) {
    for (key, value) in map {
        if skip.is_some_and(|s| key.starts_with(s)) {
            continue;
        }
        if let Some(name) = key.strip_prefix(prefix) {
            if !name.is_empty() {
                java.insert(
                    name.to_string(),
                    JavaProperty {
                        value: value.clone(),
                        origin: key.clone(),
                    },
                );
            }
        }
    }
}

/// Translates merged Java-client properties into librdkafka ones on `config`.
fn translate_all(
    config: &mut KafkaSinkConfig,
    java: &BTreeMap<String, JavaProperty>,
    r: &mut Reader,
) {
    for (name, p) in java {
        let value = p.value.trim();
        let origin = p.origin.as_str();
        match name.as_str() {
            "buffer.memory" => match value.parse::<u64>() {
                Ok(bytes) if bytes >= 1024 => {
                    config.set(
                        "queue.buffering.max.kbytes",
                        &bytes.div_ceil(1024).to_string(),
                        origin,
                    );
                }
                _ => r.error(
                    origin,
                    format!(
                        "invalid value \"{value}\" for {origin}: expected a number of bytes, at \
                         least 1024"
                    ),
                ),
            },
            "max.request.size" => config.set("message.max.bytes", value, origin),
            "receive.buffer.bytes" | "send.buffer.bytes" => {
                // Java's -1 (the OS default) is librdkafka's 0.
                let v = if value == "-1" { "0" } else { value };
                config.set(&format!("socket.{name}"), v, origin);
            }
            "sasl.mechanism" => config.set("sasl.mechanisms", value, origin),
            "sasl.jaas.config" => jaas(config, value, origin, r),
            "ssl.truststore.location" => {
                let kind = store_type(java, "ssl.truststore.type", value);
                if kind.eq_ignore_ascii_case("PEM") {
                    config.set("ssl.ca.location", value, origin);
                } else {
                    r.error(
                        origin,
                        format!(
                            "{origin}: a {kind} truststore cannot be read by librdkafka: export \
                             the CA certificates as PEM and set {origin} to that file with \
                             ssl.truststore.type=PEM (or set ssl.ca.location)"
                        ),
                    );
                }
            }
            "ssl.keystore.location" => {
                let kind = store_type(java, "ssl.keystore.type", value);
                if kind.eq_ignore_ascii_case("PKCS12") {
                    config.set("ssl.keystore.location", value, origin);
                } else if kind.eq_ignore_ascii_case("PEM") {
                    // One PEM file with the key and the certificate chain.
                    config.set("ssl.key.location", value, origin);
                    config.set("ssl.certificate.location", value, origin);
                } else {
                    r.error(
                        origin,
                        format!(
                            "{origin}: a {kind} keystore cannot be read by librdkafka: convert it \
                             to PKCS12 (keytool -importkeystore -deststoretype PKCS12) and set \
                             ssl.keystore.type=PKCS12, or use PEM files"
                        ),
                    );
                }
            }
            "ssl.truststore.type" | "ssl.keystore.type" => {}
            "ssl.truststore.certificates" => config.set("ssl.ca.pem", value, origin),
            "ssl.keystore.key" => config.set("ssl.key.pem", value, origin),
            "ssl.keystore.certificate.chain" => config.set("ssl.certificate.pem", value, origin),
            // librdkafka's alias; one name keeps the checks simple.
            "delivery.timeout.ms" => config.set("message.timeout.ms", value, origin),
            "ssl.endpoint.identification.algorithm" => {
                let v = if value.is_empty() { "none" } else { value };
                config.set(name, v, origin);
            }
            "security.protocol" => config.set(name, &value.to_ascii_lowercase(), origin),
            "compression.gzip.level" | "compression.lz4.level" | "compression.zstd.level" => {
                config.set("compression.level", value, origin);
            }
            "partitioner.class" => {
                if !value.ends_with(".DefaultPartitioner")
                    && !value.ends_with(".BuiltInPartitioner")
                {
                    r.warn(
                        origin,
                        format!(
                            "{origin}={value} is a Java class and is ignored: Sluice places \
                             keyed records like Kafka's default partitioner (murmur2); set \
                             producer.partitioner to choose another librdkafka partitioner"
                        ),
                    );
                }
            }
            "transactional.id" => r.warn(
                origin,
                format!(
                    "{origin} is ignored: the transactional id is derived from group.id, the \
                     connector and the task (or set the worker key transactional.id)"
                ),
            ),
            n if JAVA_ONLY.contains(&n) => r.warn(
                origin,
                format!("{origin} has no librdkafka equivalent and is ignored"),
            ),
            _ => config.set(name, value, origin),
        }
    }
}

/// The declared type of a key or trust store, else guessed from the file name, else Java's
/// default (JKS).
fn store_type(java: &BTreeMap<String, JavaProperty>, type_key: &str, location: &str) -> String {
    if let Some(p) = java.get(type_key) {
        return p.value.trim().to_string();
    }
    let lower = location.to_ascii_lowercase();
    if lower.ends_with(".pem") || lower.ends_with(".crt") {
        "PEM".to_string()
    } else if lower.ends_with(".p12") || lower.ends_with(".pfx") {
        "PKCS12".to_string()
    } else {
        "JKS".to_string()
    }
}

/// `sasl.jaas.config`: `<LoginModule class> <flag> key="value" ...;` into librdkafka's
/// username / password (PLAIN, SCRAM) or keytab / principal (Kerberos).
fn jaas(config: &mut KafkaSinkConfig, value: &str, origin: &str, r: &mut Reader) {
    let Some((module, options)) = parse_jaas(value) else {
        r.error(
            origin,
            format!(
                "cannot parse {origin}: expected `<LoginModule class> required key=\"value\" ...;`"
            ),
        );
        return;
    };
    let get = |k: &str| {
        options
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    if module.ends_with(".PlainLoginModule") || module.ends_with(".ScramLoginModule") {
        match (get("username"), get("password")) {
            (Some(user), Some(password)) => {
                config.set("sasl.username", user, origin);
                config.set("sasl.password", password, origin);
            }
            _ => r.error(
                origin,
                format!("{origin}: {module} needs username=\"...\" and password=\"...\""),
            ),
        }
    } else if module.ends_with(".Krb5LoginModule") {
        if let Some(keytab) = get("keyTab") {
            config.set("sasl.kerberos.keytab", keytab, origin);
        }
        if let Some(principal) = get("principal") {
            config.set("sasl.kerberos.principal", principal, origin);
        }
    } else {
        r.error(
            origin,
            format!(
                "{origin}: login module {module} is not supported: set the librdkafka keys \
                 directly (producer.sasl.username / producer.sasl.password, or \
                 producer.sasl.oauthbearer.*)"
            ),
        );
    }
}

/// Splits a JAAS line into the module class and its `key=value` options (values may be
/// double-quoted with backslash escapes).
fn parse_jaas(text: &str) -> Option<(String, Vec<(String, String)>)> {
    let text = text.trim().trim_end_matches(';').trim();
    let mut chars = text.chars().peekable();
    let word = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut w = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '=' {
                break;
            }
            w.push(c);
            chars.next();
        }
        w
    };
    let module = word(&mut chars);
    let flag = word(&mut chars);
    if module.is_empty() || flag.is_empty() {
        return None;
    }
    let mut options = Vec::new();
    loop {
        let key = word(&mut chars);
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        options.push((key, value));
    }
    Some((module, options))
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

    fn config(pairs: &[(&str, &str)]) -> KafkaSinkConfig {
        match KafkaSinkConfig::from_worker(&map(pairs)) {
            Ok((c, _)) => c,
            Err(e) => panic!("expected a valid config: {e}"),
        }
    }

    #[test]
    fn defaults_are_safe_for_cdc() {
        let c = config(&[("bootstrap.servers", "k1:9092,k2:9092")]);
        assert_eq!(c.bootstrap_servers, "k1:9092,k2:9092");
        assert_eq!(c.property("acks"), Some("all"));
        assert_eq!(c.property("enable.idempotence"), Some("true"));
        assert_eq!(c.property("partitioner"), Some("murmur2_random"));
        assert_eq!(c.property("queue.buffering.max.kbytes"), Some("32768"));
        assert_eq!(c.exactly_once, ExactlyOnceSupport::Disabled);
        assert_eq!(c.group_id, "sluice");
        let producer = c.producer_properties(None);
        assert_eq!(producer.get("message.timeout.ms"), Some("0"));
        let txn = c.producer_properties(Some("g-c-0"));
        assert_eq!(txn.get("message.timeout.ms"), None);
        assert_eq!(txn.get("transactional.id"), Some("g-c-0"));
    }

    #[test]
    fn missing_bootstrap_servers_is_a_key_error() {
        let errors = KafkaSinkConfig::from_worker(&map(&[]))
            .err()
            .map(|e| e.errors)
            .unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "bootstrap.servers");
        assert!(errors[0].message.contains("missing required key"));
    }

    #[test]
    fn java_names_are_translated_and_levels_merge() {
        let c = config(&[
            ("bootstrap.servers", "worker:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="cdc" password="p\"w";"#,
            ),
            ("ssl.truststore.location", "/etc/kafka/ca.pem"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.endpoint.identification.algorithm", ""),
            ("producer.buffer.memory", "1048576"),
            ("producer.max.request.size", "524288"),
            ("producer.compression.type", "zstd"),
            ("producer.linger.ms", "20"),
            ("producer.sasl.mechanism", "PLAIN"),
            ("producer.override.linger.ms", "50"),
        ]);
        assert_eq!(c.property("security.protocol"), Some("sasl_ssl"));
        assert_eq!(c.property("sasl.mechanisms"), Some("PLAIN"));
        assert_eq!(c.origin("sasl.mechanisms"), Some("producer.sasl.mechanism"));
        assert_eq!(c.property("sasl.username"), Some("cdc"));
        assert_eq!(c.property("sasl.password"), Some("p\"w"));
        assert_eq!(c.property("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
        assert_eq!(
            c.property("ssl.endpoint.identification.algorithm"),
            Some("none")
        );
        assert_eq!(c.property("queue.buffering.max.kbytes"), Some("1024"));
        assert_eq!(c.property("message.max.bytes"), Some("524288"));
        assert_eq!(
            c.origin("message.max.bytes"),
            Some("producer.max.request.size")
        );
        assert_eq!(c.property("compression.type"), Some("zstd"));
        assert_eq!(c.property("linger.ms"), Some("50"));
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("p\\\"w") && !debug.contains("p\"w"),
            "{debug}"
        );
        assert!(debug.contains("[hidden]"));
    }

    #[test]
    fn librdkafka_rejects_bad_values_per_key() {
        let errors = KafkaSinkConfig::from_worker(&map(&[
            ("bootstrap.servers", "k:9092"),
            ("producer.compression.type", "brotli"),
            ("producer.acks", "some"),
            ("producer.no.such.property", "1"),
            ("ssl.truststore.location", "/etc/kafka/truststore.jks"),
        ]))
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert!(keys.contains(&"producer.compression.type"), "{errors:?}");
        assert!(keys.contains(&"producer.acks"), "{errors:?}");
        assert!(keys.contains(&"ssl.truststore.location"), "{errors:?}");
        let jks = errors
            .iter()
            .find(|e| e.key == "ssl.truststore.location")
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert!(
            jks.contains("JKS truststore") && jks.contains("PEM"),
            "{jks}"
        );
        // An unknown key is a warning, as with Kafka's Java clients, and is not passed on.
        let (c, warnings) = KafkaSinkConfig::from_worker(&map(&[
            ("bootstrap.servers", "k:9092"),
            ("producer.no.such.property", "1"),
        ]))
        .expect("valid");
        assert_eq!(c.property("no.such.property"), None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].key, "producer.no.such.property");
    }

    #[test]
    fn record_limit_must_fit_the_buffer() {
        let errors = KafkaSinkConfig::from_worker(&map(&[
            ("bootstrap.servers", "k:9092"),
            ("producer.buffer.memory", "65536"),
            ("producer.max.request.size", "1048576"),
        ]))
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, "producer.buffer.memory");
    }

    #[test]
    fn java_only_keys_warn_and_unsafe_settings_warn() {
        let (c, warnings) = KafkaSinkConfig::from_worker(&map(&[
            ("bootstrap.servers", "k:9092"),
            (
                "producer.key.serializer",
                "org.apache.kafka.common.serialization.ByteArraySerializer",
            ),
            ("producer.acks", "1"),
            ("producer.max.block.ms", "1000"),
        ]))
        .expect("valid");
        assert_eq!(c.property("acks"), Some("1"));
        assert_eq!(c.property("key.serializer"), None);
        let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "producer.key.serializer",
                "producer.max.block.ms",
                "producer.acks"
            ]
        );
    }

    #[test]
    fn exactly_once_settings() {
        let c = config(&[
            ("bootstrap.servers", "k:9092"),
            ("exactly.once.source.support", "ENABLED"),
            ("group.id", "connect-cluster"),
            ("offset.storage.topic", "connect-offsets"),
            ("offset.storage.replication.factor", "1"),
        ]);
        assert!(c.is_exactly_once());
        assert_eq!(
            c.transactional_id_for("inventory", 0),
            "connect-cluster-inventory-0"
        );
        assert_eq!(
            c.offset_storage,
            Some(OffsetStorageTopic {
                name: "connect-offsets".into(),
                partitions: 25,
                replication_factor: 1,
            })
        );
        let errors = KafkaSinkConfig::from_worker(&map(&[
            ("bootstrap.servers", "k:9092"),
            ("exactly.once.source.support", "enabled"),
            ("producer.enable.idempotence", "false"),
            ("producer.delivery.timeout.ms", "0"),
            ("offset.storage.topic", "offsets"),
            ("offset.storage.partitions", "0"),
        ]))
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
        let mut keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "offset.storage.partitions",
                "producer.delivery.timeout.ms",
                "producer.enable.idempotence"
            ],
            "{errors:?}"
        );
        let bad = KafkaSinkConfig::from_worker(&map(&[
            ("bootstrap.servers", "k:9092"),
            ("exactly.once.source.support", "maybe"),
        ]))
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].key, "exactly.once.source.support");
    }

    #[test]
    fn connector_overrides_apply_last() {
        let base = config(&[("bootstrap.servers", "k:9092"), ("producer.linger.ms", "5")]);
        let (c, _) = base
            .with_overrides(&map(&[
                ("producer.override.linger.ms", "100"),
                ("producer.override.compression.type", "lz4"),
                ("name", "inventory"),
            ]))
            .expect("valid");
        assert_eq!(c.property("linger.ms"), Some("100"));
        assert_eq!(c.property("compression.type"), Some("lz4"));
        assert_eq!(base.property("linger.ms"), Some("5"));
    }

    #[test]
    fn jaas_parsing() {
        let (module, options) = parse_jaas(
            "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
             keyTab=\"/etc/k.keytab\" principal=\"cdc@EXAMPLE.COM\";",
        )
        .expect("parses");
        assert_eq!(module, "com.sun.security.auth.module.Krb5LoginModule");
        assert_eq!(
            options,
            vec![
                ("useKeyTab".to_string(), "true".to_string()),
                ("keyTab".to_string(), "/etc/k.keytab".to_string()),
                ("principal".to_string(), "cdc@EXAMPLE.COM".to_string()),
            ]
        );
        assert!(parse_jaas("Module").is_none());
        assert!(parse_jaas("Module required user=\"unterminated").is_none());
    }
}
