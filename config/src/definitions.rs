//! Config definitions for the REST API: what Kafka Connect's `ConfigDef` says about each key
//! (type, default, importance, documentation, group), for `GET /connector-plugins/{plugin}/config`
//! and `PUT /connector-plugins/{plugin}/config/validate`. Validation itself stays in the typed
//! parsers; this table only describes keys.

/// One key's definition, as Connect's `ConfigKeyInfo` shows it.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    pub name: &'static str,
    /// `STRING`, `INT`, `LONG`, `BOOLEAN`, `PASSWORD`, `LIST`, `CLASS`, `DOUBLE`.
    pub ty: &'static str,
    pub required: bool,
    /// As Connect prints it (`None`: no default).
    pub default: Option<&'static str>,
    /// `HIGH`, `MEDIUM`, `LOW`.
    pub importance: &'static str,
    pub group: &'static str,
    pub documentation: &'static str,
}

const fn key(
    name: &'static str,
    ty: &'static str,
    default: Option<&'static str>,
    importance: &'static str,
    group: &'static str,
    documentation: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        ty,
        required: false,
        default,
        importance,
        group,
        documentation,
    }
}

const fn required(
    name: &'static str,
    ty: &'static str,
    importance: &'static str,
    group: &'static str,
    documentation: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        ty,
        required: true,
        default: None,
        importance,
        group,
        documentation,
    }
}

/// Keys every Kafka Connect connector has (`ConnectorConfig`).
pub const CONNECT_COMMON: &[KeyDef] = &[
    required(
        "name",
        "STRING",
        "HIGH",
        "Common",
        "Globally unique name to use for this connector.",
    ),
    required(
        "connector.class",
        "STRING",
        "HIGH",
        "Common",
        "Name or alias of the class for this connector.",
    ),
    key(
        "tasks.max",
        "INT",
        Some("1"),
        "HIGH",
        "Common",
        "Maximum number of tasks to use for this connector; Sluice's log-based connectors run one.",
    ),
    key(
        "key.converter",
        "CLASS",
        None,
        "LOW",
        "Common",
        "Converter class for record keys; overrides the worker's.",
    ),
    key(
        "value.converter",
        "CLASS",
        None,
        "LOW",
        "Common",
        "Converter class for record values; overrides the worker's.",
    ),
    key(
        "header.converter",
        "CLASS",
        None,
        "LOW",
        "Common",
        "HeaderConverter class for record headers.",
    ),
    key(
        "transforms",
        "LIST",
        Some(""),
        "LOW",
        "Transforms",
        "Aliases for the transformations to apply to records, in order.",
    ),
    key(
        "predicates",
        "LIST",
        Some(""),
        "LOW",
        "Predicates",
        "Aliases for the predicates used by transformations.",
    ),
    key(
        "errors.retry.timeout",
        "LONG",
        Some("0"),
        "MEDIUM",
        "Error Handling",
        "Maximum milliseconds a failed operation is retried; -1 retries forever.",
    ),
    key(
        "errors.retry.delay.max.ms",
        "LONG",
        Some("60000"),
        "MEDIUM",
        "Error Handling",
        "Maximum milliseconds between retries.",
    ),
    key(
        "errors.tolerance",
        "STRING",
        Some("none"),
        "MEDIUM",
        "Error Handling",
        "none: an error fails the task; all: problematic records are skipped.",
    ),
    key(
        "errors.log.enable",
        "BOOLEAN",
        Some("false"),
        "MEDIUM",
        "Error Handling",
        "Log each error and the failed operation.",
    ),
    key(
        "errors.log.include.messages",
        "BOOLEAN",
        Some("false"),
        "MEDIUM",
        "Error Handling",
        "Include the failed record in the log (values may be sensitive).",
    ),
    key(
        "errors.deadletterqueue.topic.name",
        "STRING",
        Some(""),
        "MEDIUM",
        "Error Handling",
        "With errors.tolerance=all: the topic that records the converters or the Kafka brokers refuse go to (empty: none).",
    ),
    key(
        "errors.deadletterqueue.topic.replication.factor",
        "INT",
        Some("3"),
        "MEDIUM",
        "Error Handling",
        "Replication factor of the dead letter queue topic when Sluice creates it (-1: the brokers' default).",
    ),
    key(
        "errors.deadletterqueue.context.headers.enable",
        "BOOLEAN",
        Some("false"),
        "MEDIUM",
        "Error Handling",
        "Add __connect.errors.* headers with the failure's context to dead-lettered records.",
    ),
];

/// Debezium's Postgres connector keys that Sluice acts on.
pub const POSTGRES: &[KeyDef] = &[
    required("topic.prefix", "STRING", "HIGH", "Connector", "Topic prefix naming this database server; the namespace of every topic and schema."),
    required("database.hostname", "STRING", "HIGH", "Connection", "Resolvable hostname or IP address of the Postgres server."),
    key("database.port", "INT", Some("5432"), "HIGH", "Connection", "Port of the Postgres server."),
    required("database.user", "STRING", "HIGH", "Connection", "Name of the database user to connect as (needs REPLICATION)."),
    key("database.password", "PASSWORD", None, "HIGH", "Connection", "Password of the database user."),
    required("database.dbname", "STRING", "HIGH", "Connection", "Name of the database to capture."),
    key("database.sslmode", "STRING", Some("prefer"), "MEDIUM", "Connection", "disable, prefer, require, verify-ca or verify-full."),
    key("database.sslrootcert", "STRING", None, "MEDIUM", "Connection", "File with the root certificate(s) the server's certificate is checked against."),
    key("database.sslcert", "STRING", None, "MEDIUM", "Connection", "File with the client's SSL certificate."),
    key("database.sslkey", "STRING", None, "MEDIUM", "Connection", "File with the client's SSL private key."),
    key("database.sslpassword", "PASSWORD", None, "MEDIUM", "Connection", "Password of the client's SSL private key."),
    key("plugin.name", "STRING", Some("pgoutput"), "MEDIUM", "Connection", "Logical decoding plugin; Sluice supports pgoutput."),
    key("slot.name", "STRING", Some("debezium"), "MEDIUM", "Connection", "Name of the logical replication slot."),
    key("slot.drop.on.stop", "BOOLEAN", Some("false"), "LOW", "Connection", "Drop the slot when the connector stops cleanly."),
    key("slot.stream.params", "STRING", None, "LOW", "Connection", "Extra parameters for the replication stream, separated by ';'."),
    key("slot.max.retries", "INT", Some("6"), "LOW", "Connection", "How often to retry creating a slot that is in use."),
    key("slot.retry.delay.ms", "LONG", Some("10000"), "LOW", "Connection", "Milliseconds between slot creation retries."),
    key("publication.name", "STRING", Some("dbz_publication"), "MEDIUM", "Connection", "Name of the publication to stream from."),
    key("publication.autocreate.mode", "STRING", Some("all_tables"), "MEDIUM", "Connection", "all_tables, disabled, filtered or no_tables."),
    key("schema.include.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of schemas to capture."),
    key("schema.exclude.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of schemas not to capture."),
    key("table.include.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of fully-qualified tables (schema.table) to capture."),
    key("table.exclude.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of fully-qualified tables not to capture."),
    key("column.include.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of fully-qualified columns to include."),
    key("column.exclude.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of fully-qualified columns to exclude."),
    key("message.key.columns", "STRING", None, "LOW", "Events", "Custom key columns per table: <table>:<col>,<col>;..."),
    key("tombstones.on.delete", "BOOLEAN", Some("true"), "MEDIUM", "Events", "Emit a tombstone after each delete event."),
    key("skipped.operations", "LIST", Some("t"), "LOW", "Events", "Operations not to emit: c, u, d, t, or none."),
    key("provide.transaction.metadata", "BOOLEAN", Some("false"), "LOW", "Events", "Emit transaction BEGIN/END events and the transaction block."),
    key("decimal.handling.mode", "STRING", Some("precise"), "MEDIUM", "Events", "precise, double or string."),
    key("binary.handling.mode", "STRING", Some("bytes"), "LOW", "Events", "bytes, base64, base64-url-safe or hex."),
    key("time.precision.mode", "STRING", Some("adaptive"), "MEDIUM", "Events", "adaptive, adaptive_time_microseconds or connect."),
    key("interval.handling.mode", "STRING", Some("numeric"), "LOW", "Events", "numeric or string."),
    key("hstore.handling.mode", "STRING", Some("json"), "LOW", "Events", "json or map."),
    key("money.fraction.digits", "INT", Some("2"), "LOW", "Events", "Fraction digits of money values with decimal.handling.mode=precise."),
    key("include.unknown.datatypes", "BOOLEAN", Some("false"), "LOW", "Events", "Emit columns of types without a mapping (as strings)."),
    key("unavailable.value.placeholder", "STRING", Some("__debezium_unavailable_value"), "LOW", "Events", "Value of unchanged TOASTed columns."),
    key("topic.delimiter", "STRING", Some("."), "LOW", "Events", "Delimiter between topic name parts."),
    key("topic.heartbeat.prefix", "STRING", Some("__debezium-heartbeat"), "LOW", "Events", "Prefix of the heartbeat topic."),
    key("topic.transaction", "STRING", Some("transaction"), "LOW", "Events", "Suffix of the transaction metadata topic."),
    key("heartbeat.interval.ms", "INT", Some("0"), "MEDIUM", "Events", "Milliseconds between heartbeat messages; 0 disables them."),
    key("heartbeat.action.query", "STRING", None, "LOW", "Events", "A statement run on the source at each heartbeat."),
    key("snapshot.mode", "STRING", Some("initial"), "HIGH", "Snapshot", "initial, initial_only, no_data, when_needed, always or recovery."),
    key("snapshot.include.collection.list", "LIST", None, "MEDIUM", "Snapshot", "Regular expressions of tables to include in the snapshot."),
    key("snapshot.select.statement.overrides", "LIST", None, "LOW", "Snapshot", "Tables whose snapshot SELECT is overridden by snapshot.select.statement.overrides.<table>."),
    key("snapshot.max.threads", "INT", Some("1"), "MEDIUM", "Snapshot", "Threads reading snapshot chunks in parallel."),
    key("snapshot.fetch.size", "INT", Some("10240"), "LOW", "Snapshot", "Rows fetched per round trip during a snapshot."),
    key("snapshot.locking.mode", "STRING", Some("none"), "LOW", "Snapshot", "shared or none."),
    key("snapshot.lock.timeout.ms", "LONG", Some("10000"), "LOW", "Snapshot", "Milliseconds to wait for table locks."),
    key("signal.data.collection", "STRING", None, "MEDIUM", "Snapshot", "The signal table (schema.table) for ad hoc snapshots."),
    key("incremental.snapshot.chunk.size", "INT", Some("1024"), "MEDIUM", "Snapshot", "Rows per incremental snapshot chunk."),
    key("max.batch.size", "INT", Some("2048"), "MEDIUM", "Performance", "Maximum records per batch."),
    key("max.queue.size", "INT", Some("8192"), "MEDIUM", "Performance", "Maximum records queued before the log reader waits."),
    key("poll.interval.ms", "LONG", Some("500"), "LOW", "Performance", "Milliseconds to wait for new events when none are available."),
    key("status.update.interval.ms", "INT", Some("10000"), "LOW", "Performance", "Milliseconds between status updates to the server."),
    key("flush.lsn.source", "BOOLEAN", Some("true"), "LOW", "Connection", "Confirm processed LSNs to the slot."),
    key("errors.max.retries", "INT", Some("-1"), "LOW", "Error Handling", "Retries of retriable errors before failing; -1 retries forever."),
    key("retriable.restart.connector.wait.ms", "LONG", Some("10000"), "LOW", "Error Handling", "Milliseconds before restarting after a retriable error."),
    key("event.processing.failure.handling.mode", "STRING", Some("fail"), "LOW", "Error Handling", "fail, warn or skip."),
];

/// The MySQL and MariaDB connectors' keys (Debezium's names, defaults and groups).
#[rustfmt::skip]
pub const MYSQL: &[KeyDef] = &[
    required("database.hostname", "STRING", "HIGH", "Connection", "Host name or address of the MySQL/MariaDB server."),
    key("database.port", "INT", Some("3306"), "HIGH", "Connection", "Port of the server."),
    required("database.user", "STRING", "HIGH", "Connection", "User with REPLICATION SLAVE, REPLICATION CLIENT and SELECT."),
    key("database.password", "PASSWORD", None, "HIGH", "Connection", "Password of database.user."),
    key("database.server.id", "LONG", None, "HIGH", "Connection", "This connector's replica server_id, unique among the server's replicas (default: derived from the connector name)."),
    key("database.ssl.mode", "STRING", Some("disabled"), "MEDIUM", "Connection", "disabled, preferred, required, verify_ca or verify_identity."),
    key("database.ssl.truststore", "STRING", None, "LOW", "Connection", "PEM file of the CA certificates for verify_ca and verify_identity."),
    key("connect.timeout.ms", "LONG", Some("30000"), "LOW", "Connection", "Milliseconds to wait for a connection."),
    required("topic.prefix", "STRING", "HIGH", "Connection", "Prefix of every topic name; schema change events go to this topic."),
    key("database.include.list", "LIST", None, "HIGH", "Filters", "Regular expressions of databases to capture."),
    key("database.exclude.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of databases not to capture."),
    key("table.include.list", "LIST", None, "HIGH", "Filters", "Regular expressions of tables (db.table) to capture."),
    key("table.exclude.list", "LIST", None, "MEDIUM", "Filters", "Regular expressions of tables not to capture."),
    key("column.include.list", "LIST", None, "LOW", "Filters", "Regular expressions of columns (db.table.column) to keep."),
    key("column.exclude.list", "LIST", None, "LOW", "Filters", "Regular expressions of columns to drop."),
    key("gtid.source.includes", "LIST", None, "LOW", "Filters", "GTID sources (server UUIDs, MariaDB domain-server) whose GTIDs are kept in offsets."),
    key("gtid.source.excludes", "LIST", None, "LOW", "Filters", "GTID sources whose GTIDs are left out of offsets."),
    key("decimal.handling.mode", "STRING", Some("precise"), "MEDIUM", "Events", "precise, double or string."),
    key("time.precision.mode", "STRING", Some("adaptive_time_microseconds"), "MEDIUM", "Events", "adaptive_time_microseconds or connect."),
    key("binary.handling.mode", "STRING", Some("bytes"), "LOW", "Events", "bytes, base64, base64-url-safe or hex."),
    key("bigint.unsigned.handling.mode", "STRING", Some("long"), "LOW", "Events", "long or precise."),
    key("tombstones.on.delete", "BOOLEAN", Some("true"), "MEDIUM", "Events", "Emit a tombstone after each delete."),
    key("skipped.operations", "LIST", Some("t"), "LOW", "Events", "Operations not to emit: c, u, d, t, none."),
    key("include.schema.changes", "BOOLEAN", Some("true"), "MEDIUM", "Events", "Emit schema change events to the topic.prefix topic."),
    key("include.query", "BOOLEAN", Some("false"), "LOW", "Events", "The statement behind each row event in source.query (needs binlog_annotate_row_events / binlog_rows_query_log_events)."),
    key("provide.transaction.metadata", "BOOLEAN", Some("false"), "LOW", "Events", "Emit BEGIN/END transaction events."),
    key("heartbeat.interval.ms", "INT", Some("0"), "MEDIUM", "Events", "Milliseconds between heartbeat messages; 0 disables them."),
    key("snapshot.mode", "STRING", Some("initial"), "HIGH", "Snapshot", "initial, initial_only, no_data, when_needed, always or recovery."),
    key("snapshot.locking.mode", "STRING", Some("minimal"), "MEDIUM", "Snapshot", "minimal, extended or none."),
    key("snapshot.max.threads", "INT", Some("1"), "MEDIUM", "Snapshot", "Readers of the consistent snapshot."),
    key("snapshot.fetch.size", "INT", Some("10240"), "LOW", "Snapshot", "Rows per snapshot chunk."),
    key("signal.data.collection", "STRING", None, "MEDIUM", "Snapshot", "The signal table (db.table) for incremental snapshots; also holds the watermarks."),
    key("incremental.snapshot.chunk.size", "INT", Some("1024"), "MEDIUM", "Snapshot", "Rows per incremental snapshot chunk."),
    key("schema.history.internal.file.filename", "STRING", None, "HIGH", "History", "File of the schema history (DDL applied to the in-memory schema)."),
    key("inconsistent.schema.handling.mode", "STRING", Some("fail"), "LOW", "History", "fail, warn or skip: a row event of a table whose shape the history does not know."),
    key("event.deserialization.failure.handling.mode", "STRING", Some("fail"), "LOW", "Error Handling", "fail, warn or skip: a binlog event that cannot be decoded."),
    key("max.batch.size", "INT", Some("2048"), "MEDIUM", "Performance", "Maximum records per batch."),
    key("max.queue.size", "INT", Some("8192"), "MEDIUM", "Performance", "Maximum records queued before the binlog reader waits."),
    key("errors.max.retries", "INT", Some("-1"), "LOW", "Error Handling", "Retries of retriable errors before failing; -1 retries forever."),
    key("retriable.restart.connector.wait.ms", "LONG", Some("10000"), "LOW", "Error Handling", "Milliseconds before restarting after a retriable error."),
];

/// The JDBC source connector's keys (kafka-connect-jdbc's names, defaults and groups).
#[rustfmt::skip]
pub const JDBC_SOURCE: &[KeyDef] = &[
    required("connection.url", "STRING", "HIGH", "Database", "JDBC connection URL: jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb:// (also postgres:// and mysql:// URLs)."),
    key("connection.user", "STRING", None, "HIGH", "Database", "JDBC connection user."),
    key("connection.password", "PASSWORD", None, "HIGH", "Database", "JDBC connection password."),
    key("connection.attempts", "INT", Some("3"), "LOW", "Database", "Maximum number of attempts to connect."),
    key("connection.backoff.ms", "LONG", Some("10000"), "LOW", "Database", "Backoff time in milliseconds between connection attempts."),
    key("table.whitelist", "LIST", Some(""), "MEDIUM", "Database", "Tables to copy (table or schema.table); all tables when empty. Alias: table.include.list."),
    key("table.blacklist", "LIST", Some(""), "MEDIUM", "Database", "Tables not to copy. Alias: table.exclude.list."),
    key("catalog.pattern", "STRING", None, "MEDIUM", "Database", "Catalog (MySQL database) pattern to fetch table metadata from (SQL LIKE)."),
    key("schema.pattern", "STRING", None, "MEDIUM", "Database", "Schema pattern to fetch table metadata from (SQL LIKE)."),
    key("numeric.mapping", "STRING", Some("none"), "LOW", "Database", "none, precision_only, best_fit or best_fit_eager_double: how NUMERIC columns map to Connect types."),
    key("db.timezone", "STRING", Some("UTC"), "MEDIUM", "Database", "Time zone of timestamp columns without a time zone (Sluice reads them as UTC)."),
    key("quote.sql.identifiers", "STRING", Some("always"), "MEDIUM", "Database", "always or never: quote table and column names in SQL."),
    key("mode", "STRING", None, "HIGH", "Mode", "bulk, incrementing, timestamp or timestamp+incrementing: how new and changed rows are found."),
    key("incrementing.column.name", "STRING", Some(""), "MEDIUM", "Mode", "A strictly increasing, non-null integer column."),
    key("timestamp.column.name", "LIST", Some(""), "MEDIUM", "Mode", "Timestamp columns, the first non-null one used (COALESCE)."),
    key("timestamp.initial", "LONG", None, "LOW", "Mode", "Epoch milliseconds to start from when no offset is stored; -1 for the current time."),
    key("validate.non.null", "BOOLEAN", Some("true"), "LOW", "Mode", "Fail when the incrementing or timestamp columns are nullable."),
    key("query", "STRING", Some(""), "MEDIUM", "Mode", "A custom query to poll instead of tables; the mode's WHERE clause is applied around it."),
    key("query.suffix", "STRING", Some(""), "LOW", "Mode", "Text appended to every query."),
    key("table.types", "LIST", Some("TABLE"), "LOW", "Connector", "TABLE, VIEW, MATERIALIZED VIEW, FOREIGN TABLE, PARTITIONED TABLE, SYSTEM VIEW."),
    key("poll.interval.ms", "INT", Some("5000"), "HIGH", "Connector", "Milliseconds between polls of each table."),
    key("batch.max.rows", "INT", Some("100"), "LOW", "Connector", "Rows per batch handed to the sink."),
    key("table.poll.interval.ms", "LONG", Some("60000"), "LOW", "Connector", "Milliseconds between checks for added or dropped tables."),
    required("topic.prefix", "STRING", "HIGH", "Connector", "Prefix of the topic names: <topic.prefix><table>, or the whole topic with query."),
    key("timestamp.delay.interval.ms", "LONG", Some("0"), "HIGH", "Connector", "How long after a row's timestamp it is read, so transactions with earlier timestamps have committed."),
];

/// Every definition for a connector class, common keys first (`None`: unknown class).
pub fn connector_definitions(class: &str) -> Option<Vec<KeyDef>> {
    if crate::postgres::is_postgres_class(class) {
        return Some(CONNECT_COMMON.iter().chain(POSTGRES).copied().collect());
    }
    if crate::jdbc::is_jdbc_source_class(class) {
        return Some(CONNECT_COMMON.iter().chain(JDBC_SOURCE).copied().collect());
    }
    if crate::mysql::mysql_flavor_of_class(class).is_some() {
        return Some(CONNECT_COMMON.iter().chain(MYSQL).copied().collect());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_types_known() {
        let defs = connector_definitions("postgres").expect("postgres");
        let mut names: Vec<_> = defs.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate key definitions");
        for d in &defs {
            assert!(
                ["STRING", "INT", "LONG", "BOOLEAN", "PASSWORD", "LIST", "CLASS", "DOUBLE"]
                    .contains(&d.ty),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn every_jdbc_definition_is_a_key_the_parser_knows() {
        let defs = connector_definitions("JdbcSource").expect("jdbc");
        let mut names: Vec<_> = defs.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate key definitions");
        for d in JDBC_SOURCE {
            let mut map = std::collections::BTreeMap::new();
            for (k, v) in [
                ("name", "n"),
                ("connector.class", "JdbcSourceConnector"),
                ("connection.url", "jdbc:postgresql://h/d"),
                ("mode", "bulk"),
                ("topic.prefix", "p"),
            ] {
                map.insert(k.to_string(), v.to_string());
            }
            map.insert(d.name.to_string(), d.default.unwrap_or("1").to_string());
            if let Ok((_, warnings)) = crate::ConnectorConfig::from_map(&map) {
                assert!(
                    warnings.iter().all(|w| w.key != d.name),
                    "{} is defined but unknown to the parser",
                    d.name
                );
            }
        }
    }

    #[test]
    fn every_mysql_definition_is_a_key_the_parser_knows() {
        let defs = connector_definitions("mariadb").expect("mariadb");
        let mut names: Vec<_> = defs.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate key definitions");
        for d in MYSQL {
            let mut map = std::collections::BTreeMap::new();
            for (k, v) in [
                ("name", "n"),
                ("connector.class", "mysql"),
                ("database.hostname", "h"),
                ("database.user", "u"),
                ("topic.prefix", "p"),
            ] {
                map.insert(k.to_string(), v.to_string());
            }
            let sample = match d.name {
                "signal.data.collection" => "app.signals",
                _ => "1",
            };
            map.insert(d.name.to_string(), d.default.unwrap_or(sample).to_string());
            let (_, warnings) = crate::ConnectorConfig::from_map(&map)
                .unwrap_or_else(|e| panic!("{}={:?}: {e:?}", d.name, d.default));
            assert!(
                warnings.iter().all(|w| w.key != d.name),
                "{} is defined but unknown to the parser",
                d.name
            );
        }
    }

    #[test]
    fn every_postgres_definition_is_a_key_the_parser_knows() {
        // A definition the parser would warn about as unknown is a lie in the REST API.
        for d in POSTGRES {
            let mut map = std::collections::BTreeMap::new();
            for (k, v) in [
                ("name", "n"),
                ("connector.class", "postgres"),
                ("database.hostname", "h"),
                ("database.user", "u"),
                ("database.dbname", "d"),
                ("topic.prefix", "p"),
            ] {
                map.insert(k.to_string(), v.to_string());
            }
            if let Some(default) = d.default {
                map.insert(d.name.to_string(), default.to_string());
            }
            if let Ok((_, warnings)) = crate::ConnectorConfig::from_map(&map) {
                assert!(
                    warnings.iter().all(|w| w.key != d.name),
                    "{} is defined but unknown to the parser",
                    d.name
                );
            }
        }
    }
}
