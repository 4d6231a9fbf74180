//! The Debezium Postgres connector config (Debezium 3.x property names, defaults and
//! allowed values), typed.
//!
//! Differences from Debezium, each deliberate:
//! - `plugin.name` defaults to `pgoutput` and accepts nothing else; Sluice has no
//!   `decoderbufs` decoder (Debezium's default), so that value is an error that says so.
//! - Filter regular expressions use Rust syntax (see [`crate::filters`]).
//! - `slot.stream.params` entries that are not `key=value` give a warning, as in Debezium.
//!
//! Keys Debezium or Kafka Connect define that Sluice does not act on yet (`transforms*`,
//! `signal.*`, `snapshot.fetch.size`, `errors.*`, converter overrides, embedded-engine keys
//! such as `offset.storage` ...) are accepted and kept raw in
//! [`PostgresConnectorConfig::extra`]; anything else is a [`Warning`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::error::{ConfigErrors, KeyError, Warning};
use crate::filters::Filters;
use crate::keys::{config_enum, KeyReader, KnownKeys};
use crate::secret::Secret;

/// Fully qualified class name of Debezium's Postgres connector.
pub const POSTGRES_CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// Every spelling of `connector.class` that selects the Postgres connector.
pub const POSTGRES_CONNECTOR_CLASS_ALIASES: &[&str] = &[
    POSTGRES_CONNECTOR_CLASS,
    "PostgresConnector",
    "postgres",
    "postgresql",
];

/// Default of `tasks.max`. The Postgres connector always runs one task.
pub const DEFAULT_TASKS_MAX: u32 = 1;
/// Default of `database.port`.
pub const DEFAULT_DATABASE_PORT: u16 = 5432;
/// Default of `database.sslmode` (Debezium's; libpq's too).
pub const DEFAULT_SSL_MODE: SslMode = SslMode::Prefer;
/// Default of `database.tcpKeepAlive`.
pub const DEFAULT_TCP_KEEP_ALIVE: bool = true;
/// Default of `slot.name`.
pub const DEFAULT_SLOT_NAME: &str = "debezium";
/// Default of `slot.drop.on.stop`: keep the slot so a restart resumes where it stopped.
pub const DEFAULT_SLOT_DROP_ON_STOP: bool = false;
/// Default of `slot.max.retries`: attempts to acquire a busy replication slot.
pub const DEFAULT_SLOT_MAX_RETRIES: u32 = 6;
/// Default of `slot.retry.delay.ms`: wait between slot acquisition attempts.
pub const DEFAULT_SLOT_RETRY_DELAY_MS: u64 = 10_000;
/// Default of `publication.name`.
pub const DEFAULT_PUBLICATION_NAME: &str = "dbz_publication";
/// Default of `publication.autocreate.mode`.
pub const DEFAULT_PUBLICATION_AUTOCREATE_MODE: PublicationAutocreateMode =
    PublicationAutocreateMode::AllTables;
/// The only `plugin.name` Sluice decodes.
pub const PLUGIN_NAME_PGOUTPUT: &str = "pgoutput";
/// Default of `tombstones.on.delete`: a delete is followed by a null-value record.
pub const DEFAULT_TOMBSTONES_ON_DELETE: bool = true;
/// Default of `heartbeat.interval.ms`: 0 turns heartbeats off.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 0;
/// Default of `topic.heartbeat.prefix`.
pub const DEFAULT_TOPIC_HEARTBEAT_PREFIX: &str = "__debezium-heartbeat";
/// Default of `topic.transaction`: suffix of the transaction metadata topic.
pub const DEFAULT_TOPIC_TRANSACTION: &str = "transaction";
/// Default of `topic.delimiter`: joins prefix, schema and table into a topic name.
pub const DEFAULT_TOPIC_DELIMITER: &str = ".";
/// Default of `decimal.handling.mode`.
pub const DEFAULT_DECIMAL_HANDLING_MODE: DecimalHandlingMode = DecimalHandlingMode::Precise;
/// Default of `binary.handling.mode`.
pub const DEFAULT_BINARY_HANDLING_MODE: BinaryHandlingMode = BinaryHandlingMode::Bytes;
/// Default of `time.precision.mode`.
pub const DEFAULT_TIME_PRECISION_MODE: TimePrecisionMode = TimePrecisionMode::Adaptive;
/// Default of `interval.handling.mode`.
pub const DEFAULT_INTERVAL_HANDLING_MODE: IntervalHandlingMode = IntervalHandlingMode::Numeric;
/// Default of `hstore.handling.mode`.
pub const DEFAULT_HSTORE_HANDLING_MODE: HstoreHandlingMode = HstoreHandlingMode::Json;
/// Default of `money.fraction.digits`.
pub const DEFAULT_MONEY_FRACTION_DIGITS: u32 = 2;
/// Default of `unavailable.value.placeholder`: stands in for unchanged TOASTed values.
pub const DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER: &str = "__debezium_unavailable_value";
/// Default of `include.unknown.datatypes`.
pub const DEFAULT_INCLUDE_UNKNOWN_DATATYPES: bool = false;
/// Default of `provide.transaction.metadata`.
pub const DEFAULT_PROVIDE_TRANSACTION_METADATA: bool = false;
/// Default of `snapshot.max.threads`: one reader, tables in order (like Debezium).
pub const DEFAULT_SNAPSHOT_MAX_THREADS: u32 = 1;
/// Default of `incremental.snapshot.chunk.size` (Debezium's).
pub const DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE: u32 = 1024;
/// Default of `snapshot.lock.timeout.ms`.
pub const DEFAULT_SNAPSHOT_LOCK_TIMEOUT_MS: u64 = 10_000;
/// Default of `snapshot.fetch.size`: rows per snapshot chunk.
pub const DEFAULT_SNAPSHOT_FETCH_SIZE: u32 = 10_240;

/// Default of `snapshot.mode`.
pub const DEFAULT_SNAPSHOT_MODE: SnapshotMode = SnapshotMode::Initial;
/// Default of `max.batch.size`: events per batch handed downstream.
pub const DEFAULT_MAX_BATCH_SIZE: u32 = 2048;
/// Default of `max.queue.size`: events buffered between reader and pipeline.
pub const DEFAULT_MAX_QUEUE_SIZE: u32 = 8192;
/// Default of `max.queue.size.in.bytes`: 0 means the queue is bounded by count only.
pub const DEFAULT_MAX_QUEUE_SIZE_IN_BYTES: u64 = 0;
/// Default of `poll.interval.ms`: wait for new events when the queue is empty.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 500;
/// Default of `status.update.interval.ms`: standby status updates to the server.
pub const DEFAULT_STATUS_UPDATE_INTERVAL_MS: u64 = 10_000;
/// Default of `flush.lsn.source`: confirm processed LSNs to the slot.
pub const DEFAULT_FLUSH_LSN_SOURCE: bool = true;
/// Default of `retriable.restart.connector.wait.ms`.
pub const DEFAULT_RETRIABLE_RESTART_CONNECTOR_WAIT_MS: u64 = 10_000;
/// Default of `errors.max.retries`: -1 retries retriable errors forever.
pub const DEFAULT_ERRORS_MAX_RETRIES: i32 = -1;
/// Default of `xmin.fetch.interval.ms`: 0 disables xmin tracking.
pub const DEFAULT_XMIN_FETCH_INTERVAL_MS: u64 = 0;
/// Default of `event.processing.failure.handling.mode`.
pub const DEFAULT_EVENT_PROCESSING_FAILURE_HANDLING_MODE: EventProcessingFailureHandlingMode =
    EventProcessingFailureHandlingMode::Fail;

config_enum! {
    /// `database.sslmode`, as libpq and the Postgres JDBC driver spell it.
    pub enum SslMode {
        /// No TLS.
        Disable => "disable",
        /// Plain first, TLS if the server insists. Debezium accepts it, so Sluice does.
        Allow => "allow",
        /// TLS when the server offers it, plain otherwise.
        Prefer => "prefer",
        /// TLS, without certificate verification.
        Require => "require",
        /// TLS, server certificate checked against the CA.
        VerifyCa => "verify-ca",
        /// TLS, CA and host name checked.
        VerifyFull => "verify-full",
    }
}

config_enum! {
    /// `publication.autocreate.mode`: whether and how the connector creates its publication.
    pub enum PublicationAutocreateMode {
        /// `CREATE PUBLICATION .. FOR ALL TABLES` if it does not exist.
        AllTables => "all_tables",
        /// Never create it; it must exist.
        Disabled => "disabled",
        /// Create or update it for the tables the filters select.
        Filtered => "filtered",
        /// Create it with no tables (tables are added by the user).
        NoTables => "no_tables",
    }
}

config_enum! {
    /// `decimal.handling.mode`: how `NUMERIC`/`DECIMAL` (and `MONEY`) values are emitted.
    pub enum DecimalHandlingMode {
        /// `org.apache.kafka.connect.data.Decimal` (or `VariableScaleDecimal`).
        Precise => "precise",
        /// A 64-bit float; may lose precision.
        Double => "double",
        /// A string of the exact value.
        String => "string",
    }
}

config_enum! {
    /// `binary.handling.mode`: how `BYTEA` values are emitted.
    pub enum BinaryHandlingMode {
        /// Raw bytes.
        Bytes => "bytes",
        /// Base64 string.
        Base64 => "base64",
        /// URL-safe base64 string.
        Base64UrlSafe => "base64-url-safe",
        /// Hexadecimal string.
        Hex => "hex",
    }
}

config_enum! {
    /// `time.precision.mode`: how temporal values are emitted.
    pub enum TimePrecisionMode {
        /// Debezium `io.debezium.time.*` types matching the column precision.
        Adaptive => "adaptive",
        /// As `adaptive`, but `TIME` always as microseconds.
        AdaptiveTimeMicroseconds => "adaptive_time_microseconds",
        /// Kafka Connect logical types (millisecond precision).
        Connect => "connect",
    }
}

config_enum! {
    /// `interval.handling.mode`: how `INTERVAL` values are emitted.
    pub enum IntervalHandlingMode {
        /// Approximate microseconds (`io.debezium.time.MicroDuration`).
        Numeric => "numeric",
        /// ISO 8601 string (`io.debezium.time.Interval`).
        String => "string",
    }
}

config_enum! {
    /// `hstore.handling.mode`: how `HSTORE` values are emitted.
    pub enum HstoreHandlingMode {
        /// A JSON string.
        Json => "json",
        /// A map of strings.
        Map => "map",
    }
}

config_enum! {
    /// `snapshot.mode`: when the connector copies existing rows.
    pub enum SnapshotMode {
        /// Snapshot when no offset exists, then stream.
        Initial => "initial",
        /// Snapshot when no offset exists, then stop.
        InitialOnly => "initial_only",
        /// Never snapshot data; stream only (`never` is Debezium's older name).
        NoData => "no_data" | "never",
        /// Snapshot when no offset exists or the offset's position is gone from the slot.
        WhenNeeded => "when_needed",
        /// Snapshot at every start, then stream.
        Always => "always",
        /// Rebuild lost schema history; for Postgres it behaves like `no_data`.
        Recovery => "recovery",
        /// Decided by the `snapshot.mode.configuration.based.*` keys.
        ConfigurationBased => "configuration_based",
        /// Decided by a custom snapshotter named by `snapshot.mode.custom.name`.
        Custom => "custom",
    }
}

config_enum! {
    /// `event.processing.failure.handling.mode`: what to do with an event that cannot be
    /// processed.
    pub enum EventProcessingFailureHandlingMode {
        /// Stop the connector.
        Fail => "fail",
        /// Log and skip the event.
        Warn => "warn",
        /// Skip the event silently (`ignore` is Debezium's deprecated alias).
        Skip => "skip" | "ignore",
    }
}

config_enum! {
    /// `snapshot.locking.mode`: table locks held while the snapshot reads.
    pub enum SnapshotLockingMode {
        /// `LOCK TABLE … IN ACCESS SHARE MODE` on every snapshotted table for the whole
        /// snapshot: TRUNCATE, DROP and most ALTER TABLE wait until it is done.
        Shared => "shared",
        /// No locks: a TRUNCATE during the snapshot can hide rows from it.
        None => "none",
    }
}

config_enum! {
    /// An operation that `skipped.operations` can drop.
    pub enum Operation {
        /// `c`: insert.
        Create => "c",
        /// `u`: update.
        Update => "u",
        /// `d`: delete.
        Delete => "d",
        /// `t`: truncate.
        Truncate => "t",
    }
}

/// `skipped.operations`: operations whose events are not emitted. Default `t` (truncates
/// are skipped); `none` skips nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedOperations(BTreeSet<Operation>);

impl SkippedOperations {
    /// Skips nothing (`skipped.operations=none`).
    pub fn none() -> Self {
        Self(BTreeSet::new())
    }

    /// Whether events of `op` are dropped.
    pub fn skips(&self, op: Operation) -> bool {
        self.0.contains(&op)
    }

    /// The skipped operations.
    pub fn iter(&self) -> impl Iterator<Item = Operation> + '_ {
        self.0.iter().copied()
    }

    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        if value.trim().eq_ignore_ascii_case("none") {
            return Ok(Self::none());
        }
        let mut ops = BTreeSet::new();
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            ops.insert(Operation::parse(part).ok_or_else(|| part.to_owned())?);
        }
        Ok(Self(ops))
    }
}

impl Default for SkippedOperations {
    fn default() -> Self {
        Self([Operation::Truncate].into_iter().collect())
    }
}

/// The Debezium Postgres connector config.
#[derive(Debug, Clone)]
pub struct PostgresConnectorConfig {
    /// `name`: the connector name; also the key under which offsets are stored.
    pub name: String,
    /// `tasks.max` (accepted for compatibility; one task always runs).
    pub tasks_max: u32,
    /// `database.hostname`.
    pub database_hostname: String,
    /// `database.port`.
    pub database_port: u16,
    /// `database.user`.
    pub database_user: String,
    /// `database.password`.
    pub database_password: Option<Secret>,
    /// `database.dbname`.
    pub database_dbname: String,
    /// `database.sslmode`.
    pub database_sslmode: SslMode,
    /// `database.sslrootcert`: CA certificate(s) for `verify-ca` / `verify-full`.
    pub database_sslrootcert: Option<PathBuf>,
    /// `database.sslcert`: client certificate.
    pub database_sslcert: Option<PathBuf>,
    /// `database.sslkey`: client private key.
    pub database_sslkey: Option<PathBuf>,
    /// `database.sslpassword`: passphrase of `database.sslkey`.
    pub database_sslpassword: Option<Secret>,
    /// `database.tcpKeepAlive`.
    pub database_tcp_keep_alive: bool,
    /// `database.initial.statements`, split at `;` (`;;` is a literal semicolon).
    pub database_initial_statements: Vec<String>,
    /// `topic.prefix`: first part of every topic name.
    pub topic_prefix: String,
    /// `topic.delimiter`.
    pub topic_delimiter: String,
    /// `slot.name`.
    pub slot_name: String,
    /// `slot.drop.on.stop`.
    pub slot_drop_on_stop: bool,
    /// `slot.max.retries`.
    pub slot_max_retries: u32,
    /// `slot.retry.delay.ms`.
    pub slot_retry_delay_ms: u64,
    /// `slot.stream.params`: extra `key=value` options for `START_REPLICATION`, in order.
    pub slot_stream_params: Vec<(String, String)>,
    /// `publication.name`.
    pub publication_name: String,
    /// `publication.autocreate.mode`.
    pub publication_autocreate_mode: PublicationAutocreateMode,
    /// Capture filters; see [`PostgresConnectorConfig::filters`].
    filters: Filters,
    /// `tombstones.on.delete`.
    pub tombstones_on_delete: bool,
    /// `skipped.operations`.
    pub skipped_operations: SkippedOperations,
    /// `heartbeat.interval.ms` (0 = off).
    pub heartbeat_interval_ms: u64,
    /// `heartbeat.action.query`: SQL run on the source at each heartbeat.
    pub heartbeat_action_query: Option<String>,
    /// `topic.heartbeat.prefix`.
    pub topic_heartbeat_prefix: String,
    /// `topic.transaction`.
    pub topic_transaction: String,
    /// `decimal.handling.mode`.
    pub decimal_handling_mode: DecimalHandlingMode,
    /// `binary.handling.mode`.
    pub binary_handling_mode: BinaryHandlingMode,
    /// `time.precision.mode`.
    pub time_precision_mode: TimePrecisionMode,
    /// `interval.handling.mode`.
    pub interval_handling_mode: IntervalHandlingMode,
    /// `hstore.handling.mode`.
    pub hstore_handling_mode: HstoreHandlingMode,
    /// `money.fraction.digits`.
    pub money_fraction_digits: u32,
    /// `unavailable.value.placeholder` (a `hex:` prefix means hex-encoded bytes, as in
    /// Debezium; kept verbatim here).
    pub unavailable_value_placeholder: String,
    /// `include.unknown.datatypes`.
    pub include_unknown_datatypes: bool,
    /// `provide.transaction.metadata`.
    pub provide_transaction_metadata: bool,
    /// `snapshot.mode`.
    pub snapshot_mode: SnapshotMode,
    /// `snapshot.max.threads`: tables read in parallel during a snapshot.
    pub snapshot_max_threads: u32,
    /// `snapshot.fetch.size`: rows per snapshot chunk.
    pub snapshot_fetch_size: u32,
    /// `snapshot.include.collection.list`: the subset of captured tables to snapshot.
    pub snapshot_include_collection_list: crate::NameFilter,
    /// `snapshot.select.statement.overrides.<schema.table>`: the SELECT used for that table.
    pub snapshot_select_statement_overrides: BTreeMap<String, String>,
    /// `signal.data.collection`: the signalling table (`schema.table`), if any.
    pub signal_data_collection: Option<String>,
    /// `incremental.snapshot.chunk.size`: rows per incremental snapshot chunk.
    pub incremental_snapshot_chunk_size: u32,
    /// `snapshot.locking.mode`.
    pub snapshot_locking_mode: SnapshotLockingMode,
    /// `snapshot.lock.timeout.ms`: how long the snapshot waits for its table locks.
    pub snapshot_lock_timeout_ms: u64,
    /// `max.batch.size`.
    pub max_batch_size: u32,
    /// `max.queue.size` (always greater than `max.batch.size`).
    pub max_queue_size: u32,
    /// `max.queue.size.in.bytes` (0 = no byte bound).
    pub max_queue_size_in_bytes: u64,
    /// `poll.interval.ms`.
    pub poll_interval_ms: u64,
    /// `status.update.interval.ms`.
    pub status_update_interval_ms: u64,
    /// `flush.lsn.source`, or derived from `lsn.flush.mode` (`manual` = false) when set.
    pub flush_lsn_source: bool,
    /// `retriable.restart.connector.wait.ms`.
    pub retriable_restart_connector_wait_ms: u64,
    /// `errors.max.retries` (-1 = unlimited, 0 = none).
    pub errors_max_retries: i32,
    /// `xmin.fetch.interval.ms` (0 = off).
    pub xmin_fetch_interval_ms: u64,
    /// `event.processing.failure.handling.mode`.
    pub event_processing_failure_handling_mode: EventProcessingFailureHandlingMode,
    /// Known keys kept as written: Kafka Connect connector keys (`transforms*`,
    /// `predicates*`, `key.converter*`, `errors.*`, ...), Debezium keys Sluice does not act
    /// on yet (`signal.*`, `snapshot.*` besides `snapshot.mode`, ...), and embedded-engine
    /// keys (`offset.storage*`, `offset.flush.interval.ms`, `converter.*`).
    pub extra: BTreeMap<String, String>,
}

/// Keys accepted and kept raw in `extra`.
pub(crate) const KNOWN_EXACT: &[&str] = &[
    // Kafka Connect connector-level keys.
    "key.converter",
    "value.converter",
    "header.converter",
    "transforms",
    "predicates",
    "config.action.reload",
    "exactly.once.support",
    "transaction.boundary",
    "transaction.boundary.interval.ms",
    "offsets.storage.topic",
    "tasks.max.enforce",
    "converters",
    // Debezium keys not typed here (yet).
    "database.sslfactory",
    "database.query.timeout.ms",
    "schema.refresh.mode",
    "schema.name.adjustment.mode",
    "field.name.adjustment.mode",
    "replica.identity.autoset.values",
    "publish.via.partition.root",
    "slot.failover",
    "offset.mismatch.strategy",
    "lsn.flush.timeout.ms",
    "lsn.flush.timeout.action",
    "read.only",
    "column.propagate.source.type",
    "datatype.propagate.source.type",
    "message.key.columns",
    "include.schema.comments",
    "topic.naming.strategy",
    "topic.cache.size",
    "custom.metric.tags",
    "post.processors",
    "sourceinfo.struct.maker",
    "event.converting.failure.handling.mode",
    "extended.headers.enabled",
    "skip.messages.without.change",
    "query.fetch.size",
    "streaming.delay.ms",
    "executor.shutdown.timeout.ms",
    // Embedded-engine / Debezium Server keys that sit beside connector keys.
    "offset.storage",
    "offset.flush.interval.ms",
    "offset.flush.timeout.ms",
];

/// Key prefixes accepted and kept raw in `extra`.
pub(crate) const KNOWN_PREFIXES: &[&str] = &[
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "transforms.",
    "predicates.",
    "errors.",
    "topic.creation.",
    "producer.override.",
    "consumer.override.",
    "admin.override.",
    "snapshot.",
    "signal.",
    "incremental.snapshot.",
    "notification.",
    "column.mask.",
    "column.truncate.",
    "guardrail.",
    "openlineage.",
    "offset.storage.",
    "converter.",
    "internal.",
];

/// Pre-2.0 Debezium names and what replaced them.
pub(crate) const RENAMED: &[(&str, &str)] = &[
    (
        "database.server.name",
        "debezium 2.0 replaced it with topic.prefix",
    ),
    (
        "table.whitelist",
        "debezium renamed it to table.include.list",
    ),
    (
        "table.blacklist",
        "debezium renamed it to table.exclude.list",
    ),
    (
        "schema.whitelist",
        "debezium renamed it to schema.include.list",
    ),
    (
        "schema.blacklist",
        "debezium renamed it to schema.exclude.list",
    ),
    (
        "column.whitelist",
        "debezium renamed it to column.include.list",
    ),
    (
        "column.blacklist",
        "debezium renamed it to column.exclude.list",
    ),
    (
        "heartbeat.topics.prefix",
        "debezium renamed it to topic.heartbeat.prefix",
    ),
    (
        "transaction.topic",
        "debezium renamed it to topic.transaction",
    ),
];

impl PostgresConnectorConfig {
    /// Parses and validates a connector property map (with `name` and `connector.class`).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let mut r = KeyReader::new(map);

        let name = r.required("name", "give the connector a unique name");
        match r.raw("connector.class") {
            None => r.error(
                "connector.class",
                format!("missing required key connector.class: set it to {POSTGRES_CONNECTOR_CLASS}"),
            ),
            Some(class) if !is_postgres_class(class) => r.error(
                "connector.class",
                format!(
                    "invalid value \"{class}\" for connector.class: expected {POSTGRES_CONNECTOR_CLASS}"
                ),
            ),
            Some(_) => {}
        }
        let tasks_max = r.int("tasks.max", DEFAULT_TASKS_MAX, 1, i64::from(i32::MAX));
        if tasks_max > 1 {
            r.warn(
                "tasks.max",
                format!("tasks.max={tasks_max} has no effect: the postgres connector always runs one task"),
            );
        }

        let database_hostname = r.required(
            "database.hostname",
            "set it to the host name or ip address of the postgres server",
        );
        let database_port = r.int("database.port", DEFAULT_DATABASE_PORT, 1, 65_535);
        let database_user = r.required(
            "database.user",
            "set it to a postgres role with the replication attribute",
        );
        let database_password = r.secret("database.password");
        let database_dbname = r.required(
            "database.dbname",
            "set it to the name of the database to capture",
        );
        let database_sslmode = r.choice("database.sslmode", DEFAULT_SSL_MODE);
        let database_sslrootcert = r.path("database.sslrootcert");
        let database_sslcert = r.path("database.sslcert");
        let database_sslkey = r.path("database.sslkey");
        let database_sslpassword = r.secret("database.sslpassword");
        let database_tcp_keep_alive = r.bool("database.tcpKeepAlive", DEFAULT_TCP_KEEP_ALIVE);
        let database_initial_statements = r
            .raw("database.initial.statements")
            .map(split_statements)
            .unwrap_or_default();

        let topic_prefix = r.required(
            "topic.prefix",
            if map.contains_key("database.server.name") {
                "debezium 2.0 replaced database.server.name with topic.prefix; rename the key"
            } else {
                "set it to the prefix of every topic name, e.g. the logical server name"
            },
        );
        if !topic_prefix.is_empty() && !is_valid_topic_name(&topic_prefix) {
            r.error(
                "topic.prefix",
                format!(
                    "invalid value \"{topic_prefix}\" for topic.prefix: use only letters, digits, '.', '_' and '-'"
                ),
            );
        }
        let topic_delimiter = r.string_or("topic.delimiter", DEFAULT_TOPIC_DELIMITER);

        let slot_name = r.string_or("slot.name", DEFAULT_SLOT_NAME);
        if !is_valid_slot_name(&slot_name) {
            r.error(
                "slot.name",
                format!(
                    "invalid value \"{slot_name}\" for slot.name: a replication slot name has 1 to 63 lowercase letters, digits and underscores"
                ),
            );
        }
        let slot_drop_on_stop = r.bool("slot.drop.on.stop", DEFAULT_SLOT_DROP_ON_STOP);
        let slot_max_retries = r.int(
            "slot.max.retries",
            DEFAULT_SLOT_MAX_RETRIES,
            0,
            i64::from(i32::MAX),
        );
        let slot_retry_delay_ms = r.int(
            "slot.retry.delay.ms",
            DEFAULT_SLOT_RETRY_DELAY_MS,
            0,
            i64::MAX,
        );
        let slot_stream_params = match r.raw("slot.stream.params") {
            Some(raw) => {
                let (params, bad) = split_stream_params(raw);
                for entry in bad {
                    r.warn(
                        "slot.stream.params",
                        format!(
                            "slot.stream.params entry \"{entry}\" is not key=value and is ignored"
                        ),
                    );
                }
                params
            }
            None => Vec::new(),
        };
        let publication_name = r.string_or("publication.name", DEFAULT_PUBLICATION_NAME);
        let publication_autocreate_mode = r.choice(
            "publication.autocreate.mode",
            DEFAULT_PUBLICATION_AUTOCREATE_MODE,
        );
        match r.raw("plugin.name") {
            Some(p) if p.eq_ignore_ascii_case(PLUGIN_NAME_PGOUTPUT) => {}
            Some(p) if p.eq_ignore_ascii_case("decoderbufs") => r.error(
                "plugin.name",
                "plugin.name=decoderbufs is not supported: sluice only decodes pgoutput; set plugin.name=pgoutput",
            ),
            Some(p) => r.error(
                "plugin.name",
                format!("invalid value \"{p}\" for plugin.name: sluice only supports pgoutput"),
            ),
            None => {}
        }

        let filters = Filters::read(&mut r);

        let tombstones_on_delete = r.bool("tombstones.on.delete", DEFAULT_TOMBSTONES_ON_DELETE);
        let skipped_operations = match r.raw("skipped.operations") {
            None => SkippedOperations::default(),
            Some(raw) => SkippedOperations::parse(raw).unwrap_or_else(|bad| {
                r.error(
                    "skipped.operations",
                    format!(
                        "invalid operation \"{bad}\" in skipped.operations: expected a comma-separated list of c, u, d, t, or none"
                    ),
                );
                SkippedOperations::default()
            }),
        };
        let heartbeat_interval_ms = r.int(
            "heartbeat.interval.ms",
            DEFAULT_HEARTBEAT_INTERVAL_MS,
            0,
            i64::MAX,
        );
        let heartbeat_action_query = r.string("heartbeat.action.query");
        if heartbeat_action_query.is_some() && heartbeat_interval_ms == 0 {
            r.warn(
                "heartbeat.action.query",
                "heartbeat.action.query has no effect while heartbeat.interval.ms is 0: set heartbeat.interval.ms to enable heartbeats",
            );
        }
        let topic_heartbeat_prefix =
            r.string_or("topic.heartbeat.prefix", DEFAULT_TOPIC_HEARTBEAT_PREFIX);
        let topic_transaction = r.string_or("topic.transaction", DEFAULT_TOPIC_TRANSACTION);

        let decimal_handling_mode =
            r.choice("decimal.handling.mode", DEFAULT_DECIMAL_HANDLING_MODE);
        let binary_handling_mode = r.choice("binary.handling.mode", DEFAULT_BINARY_HANDLING_MODE);
        let time_precision_mode = match r.raw("time.precision.mode") {
            Some(v @ ("isostring" | "microseconds" | "nanoseconds")) => {
                r.error(
                    "time.precision.mode",
                    format!(
                        "time.precision.mode={v} is not supported by sluice yet: use one of {}",
                        TimePrecisionMode::VALUES.join(", ")
                    ),
                );
                DEFAULT_TIME_PRECISION_MODE
            }
            _ => r.choice("time.precision.mode", DEFAULT_TIME_PRECISION_MODE),
        };
        let interval_handling_mode =
            r.choice("interval.handling.mode", DEFAULT_INTERVAL_HANDLING_MODE);
        let hstore_handling_mode = r.choice("hstore.handling.mode", DEFAULT_HSTORE_HANDLING_MODE);
        let money_fraction_digits = r.int(
            "money.fraction.digits",
            DEFAULT_MONEY_FRACTION_DIGITS,
            0,
            i64::from(i16::MAX),
        );
        let unavailable_value_placeholder = r.string_or(
            "unavailable.value.placeholder",
            DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER,
        );
        let include_unknown_datatypes = r.bool(
            "include.unknown.datatypes",
            DEFAULT_INCLUDE_UNKNOWN_DATATYPES,
        );
        let provide_transaction_metadata = r.bool(
            "provide.transaction.metadata",
            DEFAULT_PROVIDE_TRANSACTION_METADATA,
        );

        let snapshot_mode = r.choice("snapshot.mode", DEFAULT_SNAPSHOT_MODE);
        if snapshot_mode == SnapshotMode::Custom && r.peek("snapshot.mode.custom.name").is_none() {
            r.error(
                "snapshot.mode.custom.name",
                "missing required key snapshot.mode.custom.name: snapshot.mode=custom needs the name of the snapshotter",
            );
        }

        let snapshot_max_threads =
            r.int("snapshot.max.threads", DEFAULT_SNAPSHOT_MAX_THREADS, 1, 256);
        let snapshot_fetch_size = r.int(
            "snapshot.fetch.size",
            DEFAULT_SNAPSHOT_FETCH_SIZE,
            1,
            i64::from(i32::MAX),
        );
        let signal_data_collection = r.string("signal.data.collection");
        if let Some(table) = &signal_data_collection {
            if table.split('.').count() != 2 {
                r.error(
                    "signal.data.collection",
                    format!("invalid value \"{table}\" for signal.data.collection: expected schema.table"),
                );
            }
        }
        let incremental_snapshot_chunk_size = r.int(
            "incremental.snapshot.chunk.size",
            DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE,
            1,
            i64::from(i32::MAX),
        );
        let snapshot_locking_mode = r.choice("snapshot.locking.mode", SnapshotLockingMode::Shared);
        let snapshot_lock_timeout_ms = r.int(
            "snapshot.lock.timeout.ms",
            DEFAULT_SNAPSHOT_LOCK_TIMEOUT_MS,
            0,
            i64::MAX,
        );
        let snapshot_include_collection_list =
            crate::filters::read_include(&mut r, "snapshot.include.collection.list");
        let mut snapshot_select_statement_overrides = BTreeMap::new();
        if let Some(list) = r.raw("snapshot.select.statement.overrides") {
            for table in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let key = format!("snapshot.select.statement.overrides.{table}");
                match r.peek(&key) {
                    Some(sql) => {
                        snapshot_select_statement_overrides.insert(table.to_string(), sql.to_string());
                    }
                    None => r.error(
                        "snapshot.select.statement.overrides",
                        format!("table {table} is listed in snapshot.select.statement.overrides but {key} is missing: add the SELECT statement for it"),
                    ),
                }
            }
        }

        let max_batch_size = r.int(
            "max.batch.size",
            DEFAULT_MAX_BATCH_SIZE,
            1,
            i64::from(i32::MAX),
        );
        let max_queue_size = r.int(
            "max.queue.size",
            DEFAULT_MAX_QUEUE_SIZE,
            1,
            i64::from(i32::MAX),
        );
        if max_queue_size <= max_batch_size
            && !r.has_error("max.queue.size")
            && !r.has_error("max.batch.size")
        {
            r.error(
                "max.queue.size",
                format!(
                    "invalid value \"{max_queue_size}\" for max.queue.size: it must be greater than max.batch.size ({max_batch_size})"
                ),
            );
        }
        let max_queue_size_in_bytes = r.int(
            "max.queue.size.in.bytes",
            DEFAULT_MAX_QUEUE_SIZE_IN_BYTES,
            0,
            i64::MAX,
        );
        let poll_interval_ms = r.int("poll.interval.ms", DEFAULT_POLL_INTERVAL_MS, 1, i64::MAX);
        let status_update_interval_ms = r.int(
            "status.update.interval.ms",
            DEFAULT_STATUS_UPDATE_INTERVAL_MS,
            1,
            i64::from(i32::MAX),
        );
        let flush_lsn_source_setting = r.bool("flush.lsn.source", DEFAULT_FLUSH_LSN_SOURCE);
        let flush_lsn_source = match r.raw("lsn.flush.mode") {
            None => flush_lsn_source_setting,
            Some(m) if m.eq_ignore_ascii_case("connector") => true,
            Some(m) if m.eq_ignore_ascii_case("connector_and_driver") => true,
            Some(m) if m.eq_ignore_ascii_case("manual") => false,
            Some(m) => {
                r.error(
                    "lsn.flush.mode",
                    format!(
                        "invalid value \"{m}\" for lsn.flush.mode: expected one of connector, manual, connector_and_driver"
                    ),
                );
                flush_lsn_source_setting
            }
        };
        let retriable_restart_connector_wait_ms = r.int(
            "retriable.restart.connector.wait.ms",
            DEFAULT_RETRIABLE_RESTART_CONNECTOR_WAIT_MS,
            0,
            i64::MAX,
        );
        let errors_max_retries = r.int(
            "errors.max.retries",
            DEFAULT_ERRORS_MAX_RETRIES,
            -1,
            i64::from(i32::MAX),
        );
        let xmin_fetch_interval_ms = r.int(
            "xmin.fetch.interval.ms",
            DEFAULT_XMIN_FETCH_INTERVAL_MS,
            0,
            i64::MAX,
        );
        let event_processing_failure_handling_mode = r.choice(
            "event.processing.failure.handling.mode",
            DEFAULT_EVENT_PROCESSING_FAILURE_HANDLING_MODE,
        );

        // Custom converters (`converters=isbn`) own the `isbn.*` keys.
        let dynamic_prefixes = r
            .peek("converters")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| format!("{n}."))
                    .collect()
            })
            .unwrap_or_default();
        let known = KnownKeys {
            exact: KNOWN_EXACT,
            prefixes: KNOWN_PREFIXES,
            dynamic_prefixes,
            renamed: RENAMED,
        };
        let (extra, warnings) = r.finish(&known)?;

        Ok((
            Self {
                name,
                tasks_max,
                database_hostname,
                database_port,
                database_user,
                database_password,
                database_dbname,
                database_sslmode,
                database_sslrootcert,
                database_sslcert,
                database_sslkey,
                database_sslpassword,
                database_tcp_keep_alive,
                database_initial_statements,
                topic_prefix,
                topic_delimiter,
                slot_name,
                slot_drop_on_stop,
                slot_max_retries,
                slot_retry_delay_ms,
                slot_stream_params,
                publication_name,
                publication_autocreate_mode,
                filters,
                tombstones_on_delete,
                skipped_operations,
                heartbeat_interval_ms,
                heartbeat_action_query,
                topic_heartbeat_prefix,
                topic_transaction,
                decimal_handling_mode,
                binary_handling_mode,
                time_precision_mode,
                interval_handling_mode,
                hstore_handling_mode,
                money_fraction_digits,
                unavailable_value_placeholder,
                include_unknown_datatypes,
                provide_transaction_metadata,
                snapshot_mode,
                snapshot_max_threads,
                snapshot_fetch_size,
                snapshot_include_collection_list,
                snapshot_select_statement_overrides,
                signal_data_collection,
                incremental_snapshot_chunk_size,
                snapshot_locking_mode,
                snapshot_lock_timeout_ms,
                max_batch_size,
                max_queue_size,
                max_queue_size_in_bytes,
                poll_interval_ms,
                status_update_interval_ms,
                flush_lsn_source,
                retriable_restart_connector_wait_ms,
                errors_max_retries,
                xmin_fetch_interval_ms,
                event_processing_failure_handling_mode,
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

    /// Which schemas, tables, columns and message prefixes are captured.
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// The topic for a table's change events: `{prefix}{delimiter}{schema}{delimiter}{table}`.
    pub fn table_topic(&self, schema: &str, table: &str) -> String {
        let d = &self.topic_delimiter;
        format!("{}{d}{schema}{d}{table}", self.topic_prefix)
    }

    /// The heartbeat topic: `{topic.heartbeat.prefix}{delimiter}{topic.prefix}`.
    pub fn heartbeat_topic(&self) -> String {
        format!(
            "{}{}{}",
            self.topic_heartbeat_prefix, self.topic_delimiter, self.topic_prefix
        )
    }

    /// The transaction metadata topic: `{topic.prefix}{delimiter}{topic.transaction}`.
    pub fn transaction_topic(&self) -> String {
        format!(
            "{}{}{}",
            self.topic_prefix, self.topic_delimiter, self.topic_transaction
        )
    }
}

/// Whether `class` selects the Postgres connector.
pub fn is_postgres_class(class: &str) -> bool {
    let class = class.trim();
    class == POSTGRES_CONNECTOR_CLASS
        || class == "PostgresConnector"
        || class.eq_ignore_ascii_case("postgres")
        || class.eq_ignore_ascii_case("postgresql")
}

/// Kafka topic name characters, which Debezium also requires of `topic.prefix`.
pub(crate) fn is_valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Postgres's own rule for replication slot names.
fn is_valid_slot_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Splits `database.initial.statements` at `;`, where `;;` stands for a literal `;`.
fn split_statements(raw: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ';' {
            if chars.peek() == Some(&';') {
                chars.next();
                current.push(';');
            } else {
                statements.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    statements.push(current);
    statements
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Splits `slot.stream.params` (`a=1;b=2`) into pairs, returning the malformed entries too.
fn split_stream_params(raw: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut params = Vec::new();
    let mut bad = Vec::new();
    for entry in raw.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.contains('=') => {
                params.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            _ => bad.push(entry.to_owned()),
        }
    }
    (params, bad)
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

    fn minimal() -> BTreeMap<String, String> {
        map(&[
            ("name", "inventory"),
            ("connector.class", POSTGRES_CONNECTOR_CLASS),
            ("database.hostname", "127.0.0.1"),
            ("database.user", "postgres"),
            ("database.dbname", "test"),
            ("topic.prefix", "sluice"),
        ])
    }

    fn with(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut m = minimal();
        m.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        m
    }

    fn messages(m: &BTreeMap<String, String>) -> Vec<String> {
        PostgresConnectorConfig::validate(m)
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn minimal_config_gets_debezium_defaults() {
        let (c, warnings) = PostgresConnectorConfig::from_map(&minimal()).expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.name, "inventory");
        assert_eq!(c.tasks_max, DEFAULT_TASKS_MAX);
        assert_eq!(c.database_port, 5432);
        assert_eq!(c.database_password, None);
        assert_eq!(c.database_sslmode, SslMode::Prefer);
        assert!(c.database_tcp_keep_alive);
        assert_eq!(c.slot_name, "debezium");
        assert!(!c.slot_drop_on_stop);
        assert_eq!(c.slot_max_retries, 6);
        assert_eq!(c.slot_retry_delay_ms, 10_000);
        assert_eq!(c.publication_name, "dbz_publication");
        assert_eq!(
            c.publication_autocreate_mode,
            PublicationAutocreateMode::AllTables
        );
        assert!(c.tombstones_on_delete);
        assert!(c.skipped_operations.skips(Operation::Truncate));
        assert!(!c.skipped_operations.skips(Operation::Delete));
        assert_eq!(c.heartbeat_interval_ms, 0);
        assert_eq!(c.topic_heartbeat_prefix, "__debezium-heartbeat");
        assert_eq!(c.topic_transaction, "transaction");
        assert_eq!(c.decimal_handling_mode, DecimalHandlingMode::Precise);
        assert_eq!(c.binary_handling_mode, BinaryHandlingMode::Bytes);
        assert_eq!(c.time_precision_mode, TimePrecisionMode::Adaptive);
        assert_eq!(c.interval_handling_mode, IntervalHandlingMode::Numeric);
        assert_eq!(c.hstore_handling_mode, HstoreHandlingMode::Json);
        assert_eq!(c.money_fraction_digits, 2);
        assert_eq!(
            c.unavailable_value_placeholder,
            "__debezium_unavailable_value"
        );
        assert!(!c.include_unknown_datatypes);
        assert!(!c.provide_transaction_metadata);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.max_batch_size, 2048);
        assert_eq!(c.max_queue_size, 8192);
        assert_eq!(c.max_queue_size_in_bytes, 0);
        assert_eq!(c.poll_interval_ms, 500);
        assert_eq!(c.status_update_interval_ms, 10_000);
        assert!(c.flush_lsn_source);
        assert_eq!(c.retriable_restart_connector_wait_ms, 10_000);
        assert_eq!(c.errors_max_retries, -1);
        assert_eq!(c.xmin_fetch_interval_ms, 0);
        assert_eq!(
            c.event_processing_failure_handling_mode,
            EventProcessingFailureHandlingMode::Fail
        );
        assert!(c.filters().include_table("public", "t"));
        assert_eq!(c.table_topic("public", "orders"), "sluice.public.orders");
        assert_eq!(c.heartbeat_topic(), "__debezium-heartbeat.sluice");
        assert_eq!(c.transaction_topic(), "sluice.transaction");
    }

    #[test]
    fn every_typed_key_is_read() {
        let (c, warnings) = PostgresConnectorConfig::from_map(&with(&[
            ("tasks.max", "1"),
            ("database.port", "5433"),
            ("database.password", " secret "),
            ("database.sslmode", "verify-full"),
            ("database.sslrootcert", "/certs/ca.pem"),
            ("database.sslcert", "/certs/client.pem"),
            ("database.sslkey", "/certs/client.key"),
            ("database.sslpassword", "keypass"),
            ("database.tcpKeepAlive", "false"),
            (
                "database.initial.statements",
                "SET a = 1;SELECT ';;';  ;SET b=2",
            ),
            ("slot.name", "my_slot_1"),
            ("slot.drop.on.stop", "TRUE"),
            ("slot.max.retries", "3"),
            ("slot.retry.delay.ms", "250"),
            (
                "slot.stream.params",
                "add-tables=public.a,public.b;include-lsn=true",
            ),
            ("publication.name", "pub"),
            ("publication.autocreate.mode", "no_tables"),
            ("plugin.name", "PGOUTPUT"),
            ("tombstones.on.delete", "false"),
            ("skipped.operations", "c, u"),
            ("heartbeat.interval.ms", "1000"),
            ("heartbeat.action.query", "UPDATE hb SET ts = now()"),
            ("topic.heartbeat.prefix", "hb"),
            ("topic.transaction", "tx"),
            ("decimal.handling.mode", "STRING"),
            ("binary.handling.mode", "base64-url-safe"),
            ("time.precision.mode", "adaptive_time_microseconds"),
            ("interval.handling.mode", "string"),
            ("hstore.handling.mode", "map"),
            ("money.fraction.digits", "4"),
            ("unavailable.value.placeholder", "hex:00"),
            ("include.unknown.datatypes", "true"),
            ("provide.transaction.metadata", "true"),
            ("snapshot.mode", "never"),
            ("max.batch.size", "10"),
            ("max.queue.size", "20"),
            ("max.queue.size.in.bytes", "1048576"),
            ("poll.interval.ms", "100"),
            ("status.update.interval.ms", "1000"),
            ("flush.lsn.source", "false"),
            ("retriable.restart.connector.wait.ms", "1"),
            ("errors.max.retries", "5"),
            ("xmin.fetch.interval.ms", "60000"),
            ("event.processing.failure.handling.mode", "ignore"),
        ]))
        .expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.database_port, 5433);
        assert_eq!(
            c.database_password.as_ref().map(Secret::expose),
            Some(" secret ")
        );
        assert_eq!(c.database_sslmode, SslMode::VerifyFull);
        assert_eq!(c.database_sslrootcert, Some(PathBuf::from("/certs/ca.pem")));
        assert_eq!(c.database_sslcert, Some(PathBuf::from("/certs/client.pem")));
        assert_eq!(c.database_sslkey, Some(PathBuf::from("/certs/client.key")));
        assert_eq!(
            c.database_sslpassword.as_ref().map(Secret::expose),
            Some("keypass")
        );
        assert!(!c.database_tcp_keep_alive);
        assert_eq!(
            c.database_initial_statements,
            vec!["SET a = 1", "SELECT ';'", "SET b=2"]
        );
        assert_eq!(c.slot_name, "my_slot_1");
        assert!(c.slot_drop_on_stop);
        assert_eq!(c.slot_max_retries, 3);
        assert_eq!(c.slot_retry_delay_ms, 250);
        assert_eq!(
            c.slot_stream_params,
            vec![
                ("add-tables".to_owned(), "public.a,public.b".to_owned()),
                ("include-lsn".to_owned(), "true".to_owned())
            ]
        );
        assert_eq!(c.publication_name, "pub");
        assert_eq!(
            c.publication_autocreate_mode,
            PublicationAutocreateMode::NoTables
        );
        assert!(!c.tombstones_on_delete);
        assert_eq!(
            c.skipped_operations.iter().collect::<Vec<_>>(),
            vec![Operation::Create, Operation::Update]
        );
        assert_eq!(c.heartbeat_interval_ms, 1000);
        assert_eq!(
            c.heartbeat_action_query.as_deref(),
            Some("UPDATE hb SET ts = now()")
        );
        assert_eq!(c.topic_heartbeat_prefix, "hb");
        assert_eq!(c.topic_transaction, "tx");
        assert_eq!(c.decimal_handling_mode, DecimalHandlingMode::String);
        assert_eq!(c.binary_handling_mode, BinaryHandlingMode::Base64UrlSafe);
        assert_eq!(
            c.time_precision_mode,
            TimePrecisionMode::AdaptiveTimeMicroseconds
        );
        assert_eq!(c.interval_handling_mode, IntervalHandlingMode::String);
        assert_eq!(c.hstore_handling_mode, HstoreHandlingMode::Map);
        assert_eq!(c.money_fraction_digits, 4);
        assert_eq!(c.unavailable_value_placeholder, "hex:00");
        assert!(c.include_unknown_datatypes);
        assert!(c.provide_transaction_metadata);
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
        assert_eq!(c.max_batch_size, 10);
        assert_eq!(c.max_queue_size, 20);
        assert_eq!(c.max_queue_size_in_bytes, 1_048_576);
        assert_eq!(c.poll_interval_ms, 100);
        assert_eq!(c.status_update_interval_ms, 1000);
        assert!(!c.flush_lsn_source);
        assert_eq!(c.retriable_restart_connector_wait_ms, 1);
        assert_eq!(c.errors_max_retries, 5);
        assert_eq!(c.xmin_fetch_interval_ms, 60_000);
        assert_eq!(
            c.event_processing_failure_handling_mode,
            EventProcessingFailureHandlingMode::Skip
        );
    }

    #[test]
    fn short_connector_class_names() {
        for class in POSTGRES_CONNECTOR_CLASS_ALIASES {
            let m = with(&[("connector.class", class)]);
            assert!(PostgresConnectorConfig::validate(&m).is_empty(), "{class}");
        }
        assert_eq!(
            messages(&with(&[("connector.class", "io.debezium.connector.mysql.MySqlConnector")])),
            vec![format!(
                "invalid value \"io.debezium.connector.mysql.MySqlConnector\" for connector.class: expected {POSTGRES_CONNECTOR_CLASS}"
            )]
        );
    }

    #[test]
    fn missing_required_keys_are_all_reported() {
        let errors = PostgresConnectorConfig::validate(&BTreeMap::new());
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "name",
                "connector.class",
                "database.hostname",
                "database.user",
                "database.dbname",
                "topic.prefix"
            ]
        );
        for e in &errors {
            assert!(
                e.message
                    .starts_with(&format!("missing required key {}: ", e.key)),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn blank_required_value_counts_as_missing() {
        assert_eq!(
            messages(&with(&[("database.hostname", "   ")])),
            vec!["missing required key database.hostname: set it to the host name or ip address of the postgres server"]
        );
    }

    #[test]
    fn old_server_name_key_gets_a_hint() {
        let mut m = minimal();
        m.remove("topic.prefix");
        m.insert("database.server.name".into(), "dbserver1".into());
        let err = PostgresConnectorConfig::from_map(&m).expect_err("missing prefix");
        assert_eq!(
            err.errors[0].message,
            "missing required key topic.prefix: debezium 2.0 replaced database.server.name with topic.prefix; rename the key"
        );
    }

    #[test]
    fn each_enum_reports_allowed_values() {
        let cases = [
            ("database.sslmode", "on", "disable, allow, prefer, require, verify-ca, verify-full"),
            ("publication.autocreate.mode", "all", "all_tables, disabled, filtered, no_tables"),
            ("decimal.handling.mode", "precize", "precise, double, string"),
            ("binary.handling.mode", "base32", "bytes, base64, base64-url-safe, hex"),
            ("time.precision.mode", "micro", "adaptive, adaptive_time_microseconds, connect"),
            ("interval.handling.mode", "iso", "numeric, string"),
            ("hstore.handling.mode", "text", "json, map"),
            (
                "snapshot.mode",
                "sometimes",
                "initial, initial_only, no_data, when_needed, always, recovery, configuration_based, custom",
            ),
            ("event.processing.failure.handling.mode", "panic", "fail, warn, skip"),
        ];
        for (key, bad, allowed) in cases {
            assert_eq!(
                messages(&with(&[(key, bad)])),
                vec![format!(
                    "invalid value \"{bad}\" for {key}: expected one of {allowed}"
                )],
            );
        }
        assert_eq!(
            messages(&with(&[("decimal.handling.mode", "precize")])),
            vec!["invalid value \"precize\" for decimal.handling.mode: expected one of precise, double, string"]
        );
    }

    #[test]
    fn unsupported_debezium_values_say_so() {
        assert_eq!(
            messages(&with(&[("plugin.name", "decoderbufs")])),
            vec!["plugin.name=decoderbufs is not supported: sluice only decodes pgoutput; set plugin.name=pgoutput"]
        );
        assert_eq!(
            messages(&with(&[("plugin.name", "wal2json")])),
            vec!["invalid value \"wal2json\" for plugin.name: sluice only supports pgoutput"]
        );
        assert_eq!(
            messages(&with(&[("time.precision.mode", "isostring")])),
            vec!["time.precision.mode=isostring is not supported by sluice yet: use one of adaptive, adaptive_time_microseconds, connect"]
        );
    }

    #[test]
    fn number_errors_name_key_and_value() {
        assert_eq!(
            messages(&with(&[
                ("database.port", "70000"),
                ("slot.max.retries", "-1"),
                ("poll.interval.ms", "0"),
                ("max.batch.size", "lots"),
                ("errors.max.retries", "-2"),
            ])),
            vec![
                "invalid value \"70000\" for database.port: expected an integer between 1 and 65535",
                "invalid value \"-1\" for slot.max.retries: expected an integer between 0 and 2147483647",
                "invalid value \"lots\" for max.batch.size: expected an integer between 1 and 2147483647",
                "invalid value \"0\" for poll.interval.ms: expected a positive integer",
                "invalid value \"-2\" for errors.max.retries: expected an integer between -1 and 2147483647",
            ]
        );
    }

    #[test]
    fn queue_must_exceed_batch() {
        assert_eq!(
            messages(&with(&[("max.batch.size", "100"), ("max.queue.size", "100")])),
            vec!["invalid value \"100\" for max.queue.size: it must be greater than max.batch.size (100)"]
        );
    }

    #[test]
    fn slot_and_topic_names_are_validated() {
        assert_eq!(
            messages(&with(&[("slot.name", "My-Slot"), ("topic.prefix", "my prefix")])),
            vec![
                "invalid value \"my prefix\" for topic.prefix: use only letters, digits, '.', '_' and '-'",
                "invalid value \"My-Slot\" for slot.name: a replication slot name has 1 to 63 lowercase letters, digits and underscores",
            ]
        );
        let long = "a".repeat(64);
        assert_eq!(messages(&with(&[("slot.name", &long)])).len(), 1);
        assert!(messages(&with(&[("slot.name", &long[..63])])).is_empty());
    }

    #[test]
    fn skipped_operations_values() {
        let (c, _) = PostgresConnectorConfig::from_map(&with(&[("skipped.operations", "none")]))
            .expect("valid");
        assert_eq!(c.skipped_operations, SkippedOperations::none());
        assert_eq!(
            messages(&with(&[("skipped.operations", "c,x")])),
            vec!["invalid operation \"x\" in skipped.operations: expected a comma-separated list of c, u, d, t, or none"]
        );
    }

    #[test]
    fn custom_snapshot_needs_a_name() {
        assert_eq!(
            messages(&with(&[("snapshot.mode", "custom")])),
            vec!["missing required key snapshot.mode.custom.name: snapshot.mode=custom needs the name of the snapshotter"]
        );
        assert!(messages(&with(&[
            ("snapshot.mode", "custom"),
            ("snapshot.mode.custom.name", "mine")
        ]))
        .is_empty());
    }

    #[test]
    fn lsn_flush_mode_overrides_flush_lsn_source() {
        let (c, _) = PostgresConnectorConfig::from_map(&with(&[("lsn.flush.mode", "manual")]))
            .expect("valid");
        assert!(!c.flush_lsn_source);
    }

    #[test]
    fn unknown_keys_warn_and_known_keys_are_kept() {
        let (c, warnings) = PostgresConnectorConfig::from_map(&with(&[
            ("transforms", "unwrap"),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            ("converters", "isbn"),
            ("isbn.type", "com.example.IsbnConverter"),
            ("signal.data.collection", "public.signals"),
            ("snapshot.fetch.size", "1000"),
            ("snapshot.delay.ms", "5"),
            ("incremental.snapshot.allow.schema.changes", "false"),
            ("key.converter.schemas.enable", "false"),
            (
                "offset.storage",
                "org.apache.kafka.connect.storage.FileOffsetBackingStore",
            ),
            ("converter.schemas.enable", "true"),
            ("errors.log.enable", "true"),
            ("table.whitelist", "public.a"),
            ("decimal.handling.mod", "string"),
            ("totally.unknown", "1"),
        ]))
        .expect("valid");
        // snapshot.fetch.size and signal.data.collection are typed; the other known keys are
        // kept raw.
        assert_eq!(c.snapshot_fetch_size, 1000);
        assert_eq!(c.signal_data_collection.as_deref(), Some("public.signals"));
        assert!(!c.extra.contains_key("snapshot.fetch.size"));
        assert_eq!(c.extra.len(), 10, "{:?}", c.extra);
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "unknown key decimal.handling.mod: ignored; did you mean decimal.handling.mode?",
                "unknown key table.whitelist: debezium renamed it to table.include.list; the value is ignored",
                "unknown key totally.unknown: ignored",
            ]
        );
    }

    #[test]
    fn other_warnings() {
        let (_, warnings) = PostgresConnectorConfig::from_map(&with(&[
            ("tasks.max", "4"),
            ("heartbeat.action.query", "SELECT 1"),
            ("slot.stream.params", "ok=1;broken"),
        ]))
        .expect("valid");
        let keys: Vec<_> = warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["tasks.max", "slot.stream.params", "heartbeat.action.query"]
        );
    }

    #[test]
    fn secrets_never_printed() {
        let m = with(&[
            ("database.password", "pa55w0rd-value"),
            ("database.sslpassword", "key-pa55-value"),
        ]);
        let (c, _) = PostgresConnectorConfig::from_map(&m).expect("valid");
        let debug = format!("{c:?}");
        assert!(!debug.contains("pa55w0rd-value"));
        assert!(!debug.contains("key-pa55-value"));
        assert!(debug.contains("[hidden]"));
        // Errors elsewhere in the config do not leak the password either.
        let bad = with(&[
            ("database.password", "pa55w0rd-value"),
            ("database.port", "x"),
        ]);
        let err = PostgresConnectorConfig::from_map(&bad).expect_err("bad port");
        assert!(!format!("{err} {err:?}").contains("pa55w0rd-value"));
    }

    #[test]
    fn filters_are_exposed() {
        let (c, _) =
            PostgresConnectorConfig::from_map(&with(&[("table.include.list", "public.*")]))
                .expect("valid");
        assert!(c.filters().include_table("public", "x"));
        assert!(!c.filters().include_table("other", "x"));
    }

    #[test]
    fn enum_round_trip() {
        for v in SnapshotMode::VALUES {
            let parsed = SnapshotMode::parse(v).expect("valid");
            assert_eq!(parsed.as_str(), *v);
            assert_eq!(parsed.to_string(), *v);
        }
        assert_eq!(SslMode::parse(" Verify-CA "), Some(SslMode::VerifyCa));
    }
}
