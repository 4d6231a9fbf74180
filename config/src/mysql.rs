//! The Debezium MySQL and MariaDB connector config (Debezium 3.x property names, defaults and
//! allowed values), typed. One struct serves both classes; [`MySqlConnectorConfig::flavor`]
//! says which one was asked for (`source.connector` is `mysql` or `mariadb`).
//!
//! Shared with the Postgres config: the handling-mode enums, `skipped.operations`, the
//! filter lists (`database.include.list` plays the part of `schema.include.list`), the
//! known-key lists. Differences from Debezium, each deliberate:
//! - `database.server.id` defaults to a stable number derived from the connector name
//!   (Debezium picks a random one in 5400..6400 at every start; a stable one keeps a
//!   restarted connector from leaving a stale replica registration behind).
//! - Filter regular expressions use Rust syntax (see [`crate::filters`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{ConfigErrors, KeyError, Warning};
use crate::filters::{read_pair, Filters, NameFilter};
use crate::keys::{config_enum, KeyReader, KnownKeys};
use crate::postgres::{
    is_valid_topic_name, BinaryHandlingMode, DecimalHandlingMode,
    EventProcessingFailureHandlingMode, SkippedOperations, TimePrecisionMode, KNOWN_EXACT,
    KNOWN_PREFIXES, RENAMED,
};
use crate::secret::Secret;

/// Fully qualified class name of Debezium's MySQL connector.
pub const MYSQL_CONNECTOR_CLASS: &str = "io.debezium.connector.mysql.MySqlConnector";
/// Fully qualified class name of Debezium's MariaDB connector.
pub const MARIADB_CONNECTOR_CLASS: &str = "io.debezium.connector.mariadb.MariaDbConnector";

/// Default of `database.port`.
pub const DEFAULT_DATABASE_PORT: u16 = 3306;
/// Lowest `database.server.id` derived from the connector name (Debezium's random range).
pub const DERIVED_SERVER_ID_BASE: u32 = 5400;
/// Size of the derived `database.server.id` range.
pub const DERIVED_SERVER_ID_RANGE: u32 = 1000;
/// Default of `include.schema.changes`.
pub const DEFAULT_INCLUDE_SCHEMA_CHANGES: bool = true;
/// Default of `connect.timeout.ms`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 30_000;
/// Default of `snapshot.fetch.size`: rows per snapshot chunk.
pub const DEFAULT_SNAPSHOT_FETCH_SIZE: u32 = 10_240;
/// Default of `max.batch.size`.
pub const DEFAULT_MAX_BATCH_SIZE: u32 = 2048;
/// Default of `max.queue.size`.
pub const DEFAULT_MAX_QUEUE_SIZE: u32 = 8192;
/// Default of `heartbeat.interval.ms`: 0 turns heartbeats off.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 0;
/// Default of `retriable.restart.connector.wait.ms`.
pub const DEFAULT_RETRIABLE_RESTART_CONNECTOR_WAIT_MS: u64 = 10_000;
/// Default of `errors.max.retries`: -1 retries retriable errors forever.
pub const DEFAULT_ERRORS_MAX_RETRIES: i32 = -1;
/// Default of `incremental.snapshot.chunk.size`.
pub const DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE: u32 = 1024;
/// Databases that are never captured (Debezium's built-in list for MySQL).
pub const BUILTIN_DATABASES: &[&str] =
    &["mysql", "performance_schema", "sys", "information_schema"];

/// MySQL or MariaDB: which Debezium connector class the config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MySql,
    MariaDb,
}

impl Flavor {
    /// `source.connector` of this connector's events.
    pub fn connector_name(self) -> &'static str {
        match self {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }

    /// The fully qualified class name.
    pub fn class(self) -> &'static str {
        match self {
            Flavor::MySql => MYSQL_CONNECTOR_CLASS,
            Flavor::MariaDb => MARIADB_CONNECTOR_CLASS,
        }
    }
}

/// The flavor `class` selects, if it names the MySQL or the MariaDB connector.
pub fn mysql_flavor_of_class(class: &str) -> Option<Flavor> {
    let class = class.trim();
    if class == MYSQL_CONNECTOR_CLASS
        || class == "MySqlConnector"
        || class.eq_ignore_ascii_case("mysql")
    {
        Some(Flavor::MySql)
    } else if class == MARIADB_CONNECTOR_CLASS
        || class == "MariaDbConnector"
        || class.eq_ignore_ascii_case("mariadb")
    {
        Some(Flavor::MariaDb)
    } else {
        None
    }
}

config_enum! {
    /// `database.ssl.mode`, as Debezium's MySQL connector spells it.
    pub enum MySqlSslMode {
        /// No TLS.
        Disabled => "disabled",
        /// TLS when the server offers it.
        Preferred => "preferred",
        /// TLS, no certificate checks.
        Required => "required",
        /// TLS, server certificate checked against the CA.
        VerifyCa => "verify_ca",
        /// TLS, CA and host name checked.
        VerifyIdentity => "verify_identity",
    }
}

config_enum! {
    /// `snapshot.mode` of the MySQL connector.
    pub enum MySqlSnapshotMode {
        /// Snapshot when no offset exists, then stream.
        Initial => "initial",
        /// Snapshot when no offset exists, then stop.
        InitialOnly => "initial_only",
        /// Only the schemas, no rows; then stream (`schema_only`, `never`: older names).
        NoData => "no_data" | "schema_only" | "never",
        /// Snapshot when there is no offset or its binlog position is gone.
        WhenNeeded => "when_needed",
        /// Snapshot at every start, then stream.
        Always => "always",
        /// Rebuild a lost schema history from the current schemas, then stream.
        Recovery => "recovery" | "schema_only_recovery",
    }
}

config_enum! {
    /// `snapshot.locking.mode`: the global read lock a snapshot takes.
    pub enum MySqlSnapshotLockingMode {
        /// `FLUSH TABLES WITH READ LOCK` only while the binlog position and schemas are read.
        Minimal => "minimal",
        /// As `minimal`, with `LOCK TABLES FOR BACKUP` (Percona); treated as `minimal`.
        MinimalPercona => "minimal_percona",
        /// The global read lock for the whole snapshot.
        Extended => "extended",
        /// No lock: safe only when no DDL runs during the snapshot.
        None => "none",
    }
}

config_enum! {
    /// `bigint.unsigned.handling.mode`.
    pub enum BigintUnsignedHandlingMode {
        /// INT64; values above 2^63-1 wrap (as in Debezium).
        Long => "long",
        /// `org.apache.kafka.connect.data.Decimal` with scale 0.
        Precise => "precise",
    }
}

/// The Debezium MySQL / MariaDB connector config.
#[derive(Debug, Clone)]
pub struct MySqlConnectorConfig {
    /// `name`.
    pub name: String,
    /// Which class was configured.
    pub flavor: Flavor,
    /// `database.hostname`.
    pub database_hostname: String,
    /// `database.port`.
    pub database_port: u16,
    /// `database.user`.
    pub database_user: String,
    /// `database.password`.
    pub database_password: Option<Secret>,
    /// `database.server.id`: our id as a replica.
    pub database_server_id: u32,
    /// `database.ssl.mode`.
    pub database_ssl_mode: MySqlSslMode,
    /// `database.ssl.truststore`: the CA certificates (PEM) that `verify_ca` and
    /// `verify_identity` check the server against; unset: the built-in web PKI roots.
    pub database_ssl_truststore: Option<std::path::PathBuf>,
    /// `connect.timeout.ms`.
    pub connect_timeout_ms: u64,
    /// `topic.prefix`.
    pub topic_prefix: String,
    /// `topic.delimiter`.
    pub topic_delimiter: String,
    /// `database.*` / `table.*` / `column.*` lists; the schema filter holds the databases.
    filters: Filters,
    /// `tombstones.on.delete`.
    pub tombstones_on_delete: bool,
    /// `skipped.operations`.
    pub skipped_operations: SkippedOperations,
    /// `heartbeat.interval.ms` (0 = off).
    pub heartbeat_interval_ms: u64,
    /// `topic.heartbeat.prefix`.
    pub topic_heartbeat_prefix: String,
    /// `topic.transaction`.
    pub topic_transaction: String,
    /// `provide.transaction.metadata`.
    pub provide_transaction_metadata: bool,
    /// `decimal.handling.mode`.
    pub decimal_handling_mode: DecimalHandlingMode,
    /// `binary.handling.mode`.
    pub binary_handling_mode: BinaryHandlingMode,
    /// `time.precision.mode`.
    pub time_precision_mode: TimePrecisionMode,
    /// `bigint.unsigned.handling.mode`.
    pub bigint_unsigned_handling_mode: BigintUnsignedHandlingMode,
    /// `include.schema.changes`: schema change events on `<topic.prefix>`.
    pub include_schema_changes: bool,
    /// `include.query`: the statement in `source.query` (MySQL `binlog_rows_query_log_events`,
    /// MariaDB `binlog_annotate_row_events`).
    pub include_query: bool,
    /// `schema.history.internal.file.filename`.
    pub schema_history_file: Option<PathBuf>,
    /// `gtid.source.includes` / `gtid.source.excludes` (server UUIDs or MariaDB domain ids).
    pub gtid_source: NameFilter,
    /// `event.deserialization.failure.handling.mode`.
    pub event_deserialization_failure_handling_mode: EventProcessingFailureHandlingMode,
    /// `inconsistent.schema.handling.mode`.
    pub inconsistent_schema_handling_mode: EventProcessingFailureHandlingMode,
    /// `snapshot.mode`.
    pub snapshot_mode: MySqlSnapshotMode,
    /// `snapshot.locking.mode`.
    pub snapshot_locking_mode: MySqlSnapshotLockingMode,
    /// `snapshot.fetch.size`: rows per snapshot chunk.
    pub snapshot_fetch_size: u32,
    /// `snapshot.max.threads`.
    pub snapshot_max_threads: u32,
    /// `signal.data.collection` (`db.table`).
    pub signal_data_collection: Option<String>,
    /// `incremental.snapshot.chunk.size`.
    pub incremental_snapshot_chunk_size: u32,
    /// `max.batch.size`.
    pub max_batch_size: u32,
    /// `max.queue.size`.
    pub max_queue_size: u32,
    /// `retriable.restart.connector.wait.ms`.
    pub retriable_restart_connector_wait_ms: u64,
    /// `errors.max.retries`.
    pub errors_max_retries: i32,
    /// Known keys kept as written.
    pub extra: BTreeMap<String, String>,
}

/// MySQL-only keys accepted and kept raw.
const MYSQL_KNOWN_EXACT: &[&str] = &[
    "database.jdbc.driver",
    "database.protocol",
    "database.ssl.truststore.password",
    "connect.keep.alive",
    "connect.keep.alive.interval.ms",
    "table.ignore.builtin",
    "min.row.count.to.stream.results",
    "binlog.buffer.size",
    "enable.time.adjuster",
    "use.nongraceful.disconnect",
    "database.initial.statements",
    "include.schema.comments",
    "heartbeat.action.query",
];

impl MySqlConnectorConfig {
    /// Parses and validates a connector property map (with `name` and `connector.class`).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let mut r = KeyReader::new(map);
        let name = r.required("name", "give the connector a unique name");
        let flavor = match r.raw("connector.class") {
            Some(class) => mysql_flavor_of_class(class).unwrap_or_else(|| {
                r.error(
                    "connector.class",
                    format!("invalid value \"{class}\" for connector.class: expected {MYSQL_CONNECTOR_CLASS} or {MARIADB_CONNECTOR_CLASS}"),
                );
                Flavor::MySql
            }),
            None => {
                r.error("connector.class", format!("missing required key connector.class: set it to {MYSQL_CONNECTOR_CLASS} or {MARIADB_CONNECTOR_CLASS}"));
                Flavor::MySql
            }
        };
        let tasks_max: u32 = r.int("tasks.max", 1, 1, i64::from(i32::MAX));
        if tasks_max > 1 {
            r.warn(
                "tasks.max",
                format!("tasks.max={tasks_max} has no effect: the binlog connector always runs one task"),
            );
        }
        let database_hostname = r.required(
            "database.hostname",
            "set it to the host name or ip address of the server",
        );
        let database_port = r.int("database.port", DEFAULT_DATABASE_PORT, 1, 65_535);
        let database_user = r.required(
            "database.user",
            "set it to a user with REPLICATION SLAVE, REPLICATION CLIENT and SELECT",
        );
        let database_password = r.secret("database.password");
        let derived_id = DERIVED_SERVER_ID_BASE + stable_hash(&name) % DERIVED_SERVER_ID_RANGE;
        let database_server_id = r.int("database.server.id", derived_id, 1, i64::from(u32::MAX));
        let database_ssl_mode = r.choice("database.ssl.mode", MySqlSslMode::Disabled);
        let database_ssl_truststore = r.path("database.ssl.truststore");
        for key in ["database.ssl.keystore", "database.ssl.keystore.password"] {
            if r.string(key).is_some() {
                r.error(
                    key,
                    "client certificates are not supported by sluice yet: remove it and authenticate with database.user/database.password (over TLS with database.ssl.mode)",
                );
            }
        }
        let connect_timeout_ms = r.int(
            "connect.timeout.ms",
            DEFAULT_CONNECT_TIMEOUT_MS,
            1,
            i64::MAX,
        );
        let topic_prefix = r.required(
            "topic.prefix",
            "set it to the prefix of every topic name, e.g. the logical server name",
        );
        if !topic_prefix.is_empty() && !is_valid_topic_name(&topic_prefix) {
            r.error(
                "topic.prefix",
                format!("invalid value \"{topic_prefix}\" for topic.prefix: use only letters, digits, '.', '_' and '-'"),
            );
        }
        let topic_delimiter = r.string_or("topic.delimiter", ".");
        let filters = Filters {
            schema: read_pair(&mut r, "database.include.list", "database.exclude.list"),
            table: read_pair(&mut r, "table.include.list", "table.exclude.list"),
            column: read_pair(&mut r, "column.include.list", "column.exclude.list"),
            message_prefix: NameFilter::All,
            // The Postgres built-ins mean nothing here; see `include_table`.
            ignore_builtin: false,
        };
        let tombstones_on_delete = r.bool("tombstones.on.delete", true);
        let skipped_operations = match r.raw("skipped.operations") {
            None => SkippedOperations::default(),
            Some(raw) => SkippedOperations::parse(raw).unwrap_or_else(|bad| {
                r.error(
                    "skipped.operations",
                    format!("invalid operation \"{bad}\" in skipped.operations: expected a comma-separated list of c, u, d, t, or none"),
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
        let topic_heartbeat_prefix = r.string_or("topic.heartbeat.prefix", "__debezium-heartbeat");
        let topic_transaction = r.string_or("topic.transaction", "transaction");
        let provide_transaction_metadata = r.bool("provide.transaction.metadata", false);
        let decimal_handling_mode = r.choice("decimal.handling.mode", DecimalHandlingMode::Precise);
        let binary_handling_mode = r.choice("binary.handling.mode", BinaryHandlingMode::Bytes);
        let time_precision_mode = match r.raw("time.precision.mode") {
            Some(v) if v.trim().eq_ignore_ascii_case("adaptive") => {
                r.error(
                    "time.precision.mode",
                    "time.precision.mode=adaptive is not supported by the mysql connector (as in debezium): use adaptive_time_microseconds or connect",
                );
                TimePrecisionMode::AdaptiveTimeMicroseconds
            }
            _ => r.choice(
                "time.precision.mode",
                TimePrecisionMode::AdaptiveTimeMicroseconds,
            ),
        };
        let bigint_unsigned_handling_mode = r.choice(
            "bigint.unsigned.handling.mode",
            BigintUnsignedHandlingMode::Long,
        );
        let include_schema_changes =
            r.bool("include.schema.changes", DEFAULT_INCLUDE_SCHEMA_CHANGES);
        let include_query = r.bool("include.query", false);
        let schema_history_file = r.path("schema.history.internal.file.filename");
        if let Some(class) = r.raw("schema.history.internal") {
            if !class.ends_with("FileSchemaHistory") && !class.ends_with("MemorySchemaHistory") {
                r.error(
                    "schema.history.internal",
                    format!("schema.history.internal={class} is not supported: use io.debezium.storage.file.history.FileSchemaHistory with schema.history.internal.file.filename"),
                );
            }
        }
        let gtid_source = read_pair(&mut r, "gtid.source.includes", "gtid.source.excludes");
        let event_deserialization_failure_handling_mode = r.choice(
            "event.deserialization.failure.handling.mode",
            EventProcessingFailureHandlingMode::Fail,
        );
        let inconsistent_schema_handling_mode = r.choice(
            "inconsistent.schema.handling.mode",
            EventProcessingFailureHandlingMode::Fail,
        );
        let snapshot_mode = r.choice("snapshot.mode", MySqlSnapshotMode::Initial);
        let snapshot_locking_mode =
            r.choice("snapshot.locking.mode", MySqlSnapshotLockingMode::Minimal);
        let snapshot_fetch_size = r.int(
            "snapshot.fetch.size",
            DEFAULT_SNAPSHOT_FETCH_SIZE,
            1,
            i64::from(i32::MAX),
        );
        let snapshot_max_threads = r.int("snapshot.max.threads", 1, 1, 256);
        let signal_data_collection = r.string("signal.data.collection");
        if let Some(table) = &signal_data_collection {
            if table.split('.').count() != 2 {
                r.error(
                    "signal.data.collection",
                    format!("invalid value \"{table}\" for signal.data.collection: expected database.table"),
                );
            }
        }
        let incremental_snapshot_chunk_size = r.int(
            "incremental.snapshot.chunk.size",
            DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE,
            1,
            i64::from(i32::MAX),
        );
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
                format!("invalid value \"{max_queue_size}\" for max.queue.size: it must be greater than max.batch.size ({max_batch_size})"),
            );
        }
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
        let exact: Vec<&str> = KNOWN_EXACT
            .iter()
            .chain(MYSQL_KNOWN_EXACT)
            .copied()
            .collect();
        let mut prefixes: Vec<&str> = KNOWN_PREFIXES.to_vec();
        prefixes.push("schema.history.internal.");
        prefixes.push("database.history.");
        let known = KnownKeys {
            exact: &exact,
            prefixes: &prefixes,
            dynamic_prefixes: Vec::new(),
            renamed: RENAMED,
        };
        let (extra, warnings) = r.finish(&known)?;
        Ok((
            Self {
                name,
                flavor,
                database_hostname,
                database_port,
                database_user,
                database_password,
                database_server_id,
                database_ssl_mode,
                database_ssl_truststore,
                connect_timeout_ms,
                topic_prefix,
                topic_delimiter,
                filters,
                tombstones_on_delete,
                skipped_operations,
                heartbeat_interval_ms,
                topic_heartbeat_prefix,
                topic_transaction,
                provide_transaction_metadata,
                decimal_handling_mode,
                binary_handling_mode,
                time_precision_mode,
                bigint_unsigned_handling_mode,
                include_schema_changes,
                include_query,
                schema_history_file,
                gtid_source,
                event_deserialization_failure_handling_mode,
                inconsistent_schema_handling_mode,
                snapshot_mode,
                snapshot_locking_mode,
                snapshot_fetch_size,
                snapshot_max_threads,
                signal_data_collection,
                incremental_snapshot_chunk_size,
                max_batch_size,
                max_queue_size,
                retriable_restart_connector_wait_ms,
                errors_max_retries,
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

    /// The filter lists (the schema filter holds `database.*.list`).
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Whether changes of `database.table` are captured (never the built-in databases).
    pub fn include_table(&self, database: &str, table: &str) -> bool {
        !is_builtin_database(database) && self.filters.include_table(database, table)
    }

    /// Whether any table of `database` can be captured.
    pub fn include_database(&self, database: &str) -> bool {
        !is_builtin_database(database) && self.filters.schema.admits(database)
    }

    /// Whether `column` of `database.table` appears in change events.
    pub fn include_column(&self, database: &str, table: &str, column: &str) -> bool {
        self.filters.include_column(database, table, column)
    }

    /// The topic of a table: `{prefix}{delimiter}{database}{delimiter}{table}`.
    pub fn table_topic(&self, database: &str, table: &str) -> String {
        let d = &self.topic_delimiter;
        format!("{}{d}{database}{d}{table}", self.topic_prefix)
    }

    /// `{topic.heartbeat.prefix}{delimiter}{topic.prefix}`.
    pub fn heartbeat_topic(&self) -> String {
        format!(
            "{}{}{}",
            self.topic_heartbeat_prefix, self.topic_delimiter, self.topic_prefix
        )
    }

    /// `{topic.prefix}{delimiter}{topic.transaction}`.
    pub fn transaction_topic(&self) -> String {
        format!(
            "{}{}{}",
            self.topic_prefix, self.topic_delimiter, self.topic_transaction
        )
    }

    /// Whether a GTID source (server UUID, or MariaDB domain id) is followed.
    pub fn include_gtid_source(&self, source: &str) -> bool {
        self.gtid_source.admits(source)
    }
}

/// `mysql`, `performance_schema`, `sys`, `information_schema` (any case).
pub fn is_builtin_database(database: &str) -> bool {
    BUILTIN_DATABASES
        .iter()
        .any(|b| b.eq_ignore_ascii_case(database))
}

/// FNV-1a: the same number for the same name on every machine and release.
fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
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

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("name", "c"),
            ("connector.class", MYSQL_CONNECTOR_CLASS),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("topic.prefix", "p"),
        ]
    }

    #[test]
    fn defaults_and_flavors() {
        let (c, warnings) = MySqlConnectorConfig::from_map(&map(&base())).expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.flavor, Flavor::MySql);
        assert_eq!(c.database_port, 3306);
        assert!((5400..6400).contains(&c.database_server_id));
        assert_eq!(
            c.time_precision_mode,
            TimePrecisionMode::AdaptiveTimeMicroseconds
        );
        assert!(c.include_schema_changes);
        assert_eq!(c.table_topic("db", "t"), "p.db.t");
        let mut m = base();
        m[1] = ("connector.class", "mariadb");
        m.push(("snapshot.mode", "schema_only"));
        m.push(("bigint.unsigned.handling.mode", "precise"));
        let (c, _) = MySqlConnectorConfig::from_map(&map(&m)).expect("valid");
        assert_eq!(c.flavor, Flavor::MariaDb);
        assert_eq!(c.flavor.connector_name(), "mariadb");
        assert_eq!(c.snapshot_mode, MySqlSnapshotMode::NoData);
        assert_eq!(
            c.bigint_unsigned_handling_mode,
            BigintUnsignedHandlingMode::Precise
        );
    }

    #[test]
    fn filters_use_databases_and_skip_builtins() {
        let mut m = base();
        m.push(("database.include.list", "shop.*"));
        m.push(("table.exclude.list", "shop1\\.secret"));
        let (c, _) = MySqlConnectorConfig::from_map(&map(&m)).expect("valid");
        assert!(c.include_table("shop1", "orders"));
        assert!(!c.include_table("shop1", "secret"));
        assert!(!c.include_table("other", "orders"));
        let (c, _) = MySqlConnectorConfig::from_map(&map(&base())).expect("valid");
        assert!(!c.include_table("mysql", "user"));
        assert!(!c.include_table("INFORMATION_SCHEMA", "tables"));
        assert!(c.include_table("app", "t"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut m = base();
        m.push(("snapshot.mode", "sometimes"));
        m.push(("database.server.id", "0"));
        m.push(("time.precision.mode", "adaptive"));
        m.push(("database.ssl.mode", "verify_all"));
        m.push(("database.ssl.keystore", "/etc/client.p12"));
        m.push(("bigint.unsigned.handling.mode", "huge"));
        let errors = MySqlConnectorConfig::validate(&map(&m));
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        for key in [
            "snapshot.mode",
            "database.server.id",
            "time.precision.mode",
            "database.ssl.mode",
            "database.ssl.keystore",
            "bigint.unsigned.handling.mode",
        ] {
            assert!(keys.contains(&key), "{key} not in {errors:?}");
        }
        let errors = MySqlConnectorConfig::validate(&map(&[("connector.class", "mysql")]));
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            ["name", "database.hostname", "database.user", "topic.prefix"]
        );
    }

    #[test]
    fn history_keys_are_known() {
        let mut m = base();
        m.push((
            "schema.history.internal",
            "io.debezium.storage.file.history.FileSchemaHistory",
        ));
        m.push(("schema.history.internal.file.filename", "/tmp/h.dat"));
        m.push(("offset.storage", "x"));
        let (c, warnings) = MySqlConnectorConfig::from_map(&map(&m)).expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.schema_history_file, Some(PathBuf::from("/tmp/h.dat")));
    }
}
