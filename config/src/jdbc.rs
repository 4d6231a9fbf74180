//! The JDBC source connector config (Confluent's kafka-connect-jdbc `JdbcSourceConnector`
//! property names, defaults and allowed values), typed.
//!
//! Differences from kafka-connect-jdbc, each deliberate:
//! - `connection.url` is parsed, not handed to a JDBC driver: `jdbc:postgresql://`,
//!   `jdbc:mysql://`, `jdbc:mariadb://` and the plain `postgres://` / `postgresql://` /
//!   `mysql://` / `mariadb://` URLs. Credentials in the URL are used when
//!   `connection.user` / `connection.password` are not set.
//! - Table lists are exact names (`table` or `schema.table`), as in kafka-connect-jdbc.
//! - `incrementing.column.name` is required in the incrementing modes (kafka-connect-jdbc
//!   guesses an auto-increment column when it is empty; guessing wrong loses rows silently).

use std::collections::BTreeMap;

use crate::error::{ConfigErrors, Warning};
use crate::keys::{config_enum, KeyReader, KnownKeys};
use crate::secret::Secret;

/// Fully qualified class name of Confluent's JDBC source connector.
pub const JDBC_SOURCE_CONNECTOR_CLASS: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
/// Every spelling of `connector.class` that selects it (Connect's plugin aliases).
pub const JDBC_SOURCE_CONNECTOR_CLASS_ALIASES: &[&str] = &[
    JDBC_SOURCE_CONNECTOR_CLASS,
    "JdbcSourceConnector",
    "JdbcSource",
];

/// Whether `class` names the JDBC source connector.
pub fn is_jdbc_source_class(class: &str) -> bool {
    JDBC_SOURCE_CONNECTOR_CLASS_ALIASES.contains(&class.trim())
}

/// Default of `connection.attempts`.
pub const DEFAULT_CONNECTION_ATTEMPTS: u32 = 3;
/// Default of `connection.backoff.ms`.
pub const DEFAULT_CONNECTION_BACKOFF_MS: u64 = 10_000;
/// Default of `poll.interval.ms`: how often each table is polled.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 5_000;
/// Default of `batch.max.rows`.
pub const DEFAULT_BATCH_MAX_ROWS: u32 = 100;
/// Default of `table.poll.interval.ms`: how often the table list is refreshed.
pub const DEFAULT_TABLE_POLL_INTERVAL_MS: u64 = 60_000;
/// Default of `timestamp.delay.interval.ms`.
pub const DEFAULT_TIMESTAMP_DELAY_INTERVAL_MS: u64 = 0;
/// Default of `validate.non.null`.
pub const DEFAULT_VALIDATE_NON_NULL: bool = true;
/// Default of `db.timezone`.
pub const DEFAULT_DB_TIMEZONE: &str = "UTC";
/// Default of `table.types`.
pub const DEFAULT_TABLE_TYPES: &str = "TABLE";

config_enum! {
    /// `mode`: how new and changed rows are found.
    pub enum JdbcMode {
        /// The whole table (or query result) on every poll.
        Bulk => "bulk",
        /// Rows whose incrementing column is above the stored value.
        Incrementing => "incrementing",
        /// Rows whose timestamp is above the stored value (and below now - delay).
        Timestamp => "timestamp",
        /// Both: (timestamp, incrementing) above the stored pair.
        TimestampIncrementing => "timestamp+incrementing",
    }
}

config_enum! {
    /// `numeric.mapping`.
    pub enum NumericMapping {
        /// NUMERIC/DECIMAL as Connect `Decimal` (bytes).
        None => "none",
        /// NUMERIC(p,0) with small p as integers; the rest as `Decimal`.
        PrecisionOnly => "precision_only",
        /// Integers where the precision fits, FLOAT64 where a scale is given.
        BestFit => "best_fit",
        /// `best_fit`, and NUMERIC without precision/scale also to FLOAT64.
        BestFitEagerDouble => "best_fit_eager_double",
    }
}

config_enum! {
    /// `quote.sql.identifiers`.
    pub enum QuoteIdentifiers {
        Always => "always",
        Never => "never",
    }
}

/// The database product a `connection.url` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JdbcDatabase {
    Postgres,
    /// MySQL or MariaDB (one wire protocol).
    MySql,
}

/// A parsed `connection.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub database: JdbcDatabase,
    pub host: String,
    pub port: u16,
    /// The database (catalog) name; may be empty for MySQL (then tables need a schema pattern).
    pub dbname: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// Query parameters other than user/password (e.g. `sslmode`), as written.
    pub params: BTreeMap<String, String>,
}

/// Parses `jdbc:postgresql://host:port/db?user=u&password=p`, `postgres://u:p@host/db`, ...
pub fn parse_jdbc_url(url: &str) -> Result<JdbcUrl, String> {
    let bad = |why: &str| {
        format!(
            "invalid connection.url ({why}): expected jdbc:postgresql://host:port/database, jdbc:mysql://host:port/database or jdbc:mariadb://host:port/database"
        )
    };
    let url = url.trim();
    let rest = url.strip_prefix("jdbc:").unwrap_or(url);
    let (scheme, rest) = rest.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let database = match scheme.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => JdbcDatabase::Postgres,
        "mysql" | "mariadb" => JdbcDatabase::MySql,
        other => return Err(bad(&format!("unsupported database \"{other}\""))),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, q),
        None => (rest, ""),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, p),
        None => (before_query, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    // A JDBC URL may list several hosts; the first is used.
    let hostport = hostport.split(',').next().unwrap_or("");
    let default_port = match database {
        JdbcDatabase::Postgres => 5432,
        JdbcDatabase::MySql => 3306,
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, rest) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed [ in the host"))?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad("port is not a number"))?,
            None => default_port,
        };
        (h.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse().map_err(|_| bad("port is not a number"))?,
            ),
            None => (hostport.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let mut user = None;
    let mut password = None;
    if let Some(info) = userinfo {
        let (u, p) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        user = Some(percent_decode(u));
        password = p.map(|p| Secret::new(percent_decode(p)));
    }
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "user" => user = Some(percent_decode(v)),
            "password" => password = Some(Secret::new(percent_decode(v))),
            _ => {
                params.insert(k.to_string(), percent_decode(v));
            }
        }
    }
    Ok(JdbcUrl {
        database,
        host,
        port,
        dbname: percent_decode(path.trim_end_matches('/')),
        user,
        password,
        params,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The JDBC source connector's settings.
#[derive(Debug, Clone)]
pub struct JdbcSourceConfig {
    pub name: String,
    pub url: JdbcUrl,
    /// `connection.user` (else the URL's).
    pub user: Option<String>,
    /// `connection.password` (else the URL's).
    pub password: Option<Secret>,
    pub connection_attempts: u32,
    pub connection_backoff_ms: u64,
    pub mode: JdbcMode,
    /// `incrementing.column.name`.
    pub incrementing_column: Option<String>,
    /// `timestamp.column.name`: a list, tried in order with COALESCE.
    pub timestamp_columns: Vec<String>,
    pub timestamp_delay_interval_ms: u64,
    /// `timestamp.initial`: epoch ms to start from; `-1` means "now" (only new rows).
    pub timestamp_initial: Option<i64>,
    pub validate_non_null: bool,
    /// `query`: custom query mode (one "table", topic = `topic.prefix`).
    pub query: Option<String>,
    pub query_suffix: Option<String>,
    /// `table.whitelist` / `table.include.list` (exact names, `schema.table` or `table`).
    pub table_include: Vec<String>,
    /// `table.blacklist` / `table.exclude.list`.
    pub table_exclude: Vec<String>,
    pub table_types: Vec<String>,
    /// `schema.pattern`: a SQL LIKE pattern; `None` = the connection's default schema(s).
    pub schema_pattern: Option<String>,
    /// `catalog.pattern`: a SQL LIKE pattern on the database (MySQL) name.
    pub catalog_pattern: Option<String>,
    pub topic_prefix: String,
    pub poll_interval_ms: u64,
    pub batch_max_rows: u32,
    pub table_poll_interval_ms: u64,
    pub numeric_mapping: NumericMapping,
    pub db_timezone: String,
    pub quote_sql_identifiers: QuoteIdentifiers,
    pub tasks_max: u32,
    /// Known Kafka Connect keys kept as written (`transforms*`, converters, `errors.*`, ...).
    pub extra: BTreeMap<String, String>,
}

const KNOWN_EXACT: &[&str] = &[
    "key.converter",
    "value.converter",
    "header.converter",
    "transforms",
    "predicates",
    "dialect.name",
    "numeric.precision.mapping",
    "timestamp.granularity",
    "table.monitoring.startup.polling.limit.ms",
    "transaction.isolation.mode",
    "db.timezone",
    "connection.attempts",
];

const KNOWN_PREFIXES: &[&str] = &[
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "transforms.",
    "predicates.",
    "errors.",
    "producer.override.",
    "topic.creation.",
    "exactly.once.",
    "offsets.storage.",
];

fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl JdbcSourceConfig {
    /// Parses and validates a connector property map (with `name` and `connector.class`).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let mut r = KeyReader::new(map);
        let name = r.required("name", "give the connector a unique name");
        match r.raw("connector.class") {
            Some(class) if !is_jdbc_source_class(class) => r.error(
                "connector.class",
                format!("unsupported connector.class \"{class}\": expected {JDBC_SOURCE_CONNECTOR_CLASS}"),
            ),
            _ => {}
        }
        let url_text = r.required(
            "connection.url",
            "set it to the database's JDBC URL, e.g. jdbc:postgresql://localhost:5432/mydb",
        );
        let url = if url_text.is_empty() {
            None
        } else {
            match parse_jdbc_url(&url_text) {
                Ok(u) => Some(u),
                Err(message) => {
                    r.error("connection.url", message);
                    None
                }
            }
        };
        let user = r.string("connection.user");
        let password = r.secret("connection.password");
        let connection_attempts = r.int(
            "connection.attempts",
            DEFAULT_CONNECTION_ATTEMPTS,
            1,
            i32::MAX as i64,
        );
        let connection_backoff_ms = r.int(
            "connection.backoff.ms",
            DEFAULT_CONNECTION_BACKOFF_MS,
            0,
            i64::MAX,
        );
        let mode = match r.raw("mode") {
            None => {
                r.error(
                    "mode",
                    "missing required key mode: set it to bulk, incrementing, timestamp or timestamp+incrementing",
                );
                JdbcMode::Bulk
            }
            Some(_) => r.choice("mode", JdbcMode::Bulk),
        };
        let incrementing_column = r.string("incrementing.column.name");
        let timestamp_columns = list(r.raw("timestamp.column.name"));
        let timestamp_delay_interval_ms = r.int(
            "timestamp.delay.interval.ms",
            DEFAULT_TIMESTAMP_DELAY_INTERVAL_MS,
            0,
            i64::MAX,
        );
        let timestamp_initial = match r.raw("timestamp.initial") {
            None => None,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= -1 => Some(n),
                _ => {
                    r.error(
                        "timestamp.initial",
                        format!("invalid value \"{v}\" for timestamp.initial: expected epoch milliseconds, or -1 for the current time"),
                    );
                    None
                }
            },
        };
        let validate_non_null = r.bool("validate.non.null", DEFAULT_VALIDATE_NON_NULL);
        let query = r.string("query");
        let query_suffix = r.string("query.suffix");
        let whitelist = r.raw("table.whitelist");
        let include = r.raw("table.include.list");
        let blacklist = r.raw("table.blacklist");
        let exclude = r.raw("table.exclude.list");
        let table_include = list(include.or(whitelist));
        let table_exclude = list(exclude.or(blacklist));
        if !table_include.is_empty() && !table_exclude.is_empty() {
            r.error(
                "table.whitelist",
                "table.whitelist (table.include.list) and table.blacklist (table.exclude.list) cannot both be set: keep one",
            );
        }
        if query.is_some() && (!table_include.is_empty() || !table_exclude.is_empty()) {
            r.error(
                "query",
                "query cannot be combined with table.whitelist / table.blacklist: a custom query reads one result set",
            );
        }
        let table_types = {
            let t = list(r.raw("table.types"));
            if t.is_empty() {
                vec![DEFAULT_TABLE_TYPES.to_string()]
            } else {
                t.into_iter().map(|s| s.to_ascii_uppercase()).collect()
            }
        };
        let schema_pattern = r.string("schema.pattern");
        let catalog_pattern = r.string("catalog.pattern");
        let topic_prefix = r.required(
            "topic.prefix",
            "set the prefix of the topic names (<topic.prefix><table>, or the whole topic name with query)",
        );
        let poll_interval_ms = r.int("poll.interval.ms", DEFAULT_POLL_INTERVAL_MS, 1, i64::MAX);
        let batch_max_rows = r.int("batch.max.rows", DEFAULT_BATCH_MAX_ROWS, 1, i32::MAX as i64);
        let table_poll_interval_ms = r.int(
            "table.poll.interval.ms",
            DEFAULT_TABLE_POLL_INTERVAL_MS,
            1,
            i64::MAX,
        );
        let numeric_mapping = r.choice("numeric.mapping", NumericMapping::None);
        let db_timezone = r.string_or("db.timezone", DEFAULT_DB_TIMEZONE);
        if !db_timezone.eq_ignore_ascii_case("UTC") && !db_timezone.eq_ignore_ascii_case("Z") {
            r.warn(
                "db.timezone",
                format!("db.timezone={db_timezone}: Sluice reads timestamps in the database session's time zone set to {db_timezone}; only names the database knows are accepted"),
            );
        }
        let quote_sql_identifiers = r.choice("quote.sql.identifiers", QuoteIdentifiers::Always);
        let tasks_max = r.int("tasks.max", 1u32, 1, i32::MAX as i64);
        match mode {
            JdbcMode::Incrementing | JdbcMode::TimestampIncrementing
                if incrementing_column.is_none() && !r.has_error("mode") =>
            {
                r.error(
                    "incrementing.column.name",
                    format!("missing required key incrementing.column.name: mode={} needs the name of a strictly increasing, non-null column (e.g. an auto-increment id)", mode.as_str()),
                )
            }
            _ => {}
        }
        match mode {
            JdbcMode::Timestamp | JdbcMode::TimestampIncrementing
                if timestamp_columns.is_empty() && !r.has_error("mode") =>
            {
                r.error(
                    "timestamp.column.name",
                    format!("missing required key timestamp.column.name: mode={} needs one or more timestamp columns (the first non-null is used)", mode.as_str()),
                )
            }
            _ => {}
        }
        let known = KnownKeys {
            exact: KNOWN_EXACT,
            prefixes: KNOWN_PREFIXES,
            dynamic_prefixes: Vec::new(),
            renamed: &[],
        };
        let (extra, warnings) = r.finish(&known)?;
        // Without a URL an error was recorded above and `finish` returned it.
        let url = url.ok_or_else(|| ConfigErrors {
            errors: vec![crate::KeyError {
                key: "connection.url".into(),
                message: "missing required key connection.url".into(),
            }],
        })?;
        Ok((
            JdbcSourceConfig {
                name,
                url,
                user,
                password,
                connection_attempts,
                connection_backoff_ms,
                mode,
                incrementing_column,
                timestamp_columns,
                timestamp_delay_interval_ms,
                timestamp_initial,
                validate_non_null,
                query,
                query_suffix,
                table_include,
                table_exclude,
                table_types,
                schema_pattern,
                catalog_pattern,
                topic_prefix,
                poll_interval_ms,
                batch_max_rows,
                table_poll_interval_ms,
                numeric_mapping,
                db_timezone,
                quote_sql_identifiers,
                tasks_max,
                extra,
            },
            warnings,
        ))
    }

    /// The user to connect as: `connection.user`, else the URL's.
    pub fn effective_user(&self) -> Option<&str> {
        self.user.as_deref().or(self.url.user.as_deref())
    }

    /// The password: `connection.password`, else the URL's.
    pub fn effective_password(&self) -> Option<&Secret> {
        self.password.as_ref().or(self.url.password.as_ref())
    }

    /// Whether a table (`schema.table` or bare `table`) is captured by the include/exclude lists.
    pub fn include_table(&self, schema: &str, table: &str) -> bool {
        let qualified = format!("{schema}.{table}");
        let matches = |names: &[String]| {
            names
                .iter()
                .any(|n| n == table || *n == qualified || n.ends_with(&format!(".{qualified}")))
        };
        if !self.table_include.is_empty() {
            return matches(&self.table_include);
        }
        !matches(&self.table_exclude)
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
    fn parses_jdbc_and_plain_urls() {
        let u = parse_jdbc_url(
            "jdbc:postgresql://db.example:6543/shop?user=app&password=p%40ss&sslmode=require",
        )
        .expect("valid");
        assert_eq!(u.database, JdbcDatabase::Postgres);
        assert_eq!(
            (u.host.as_str(), u.port, u.dbname.as_str()),
            ("db.example", 6543, "shop")
        );
        assert_eq!(u.user.as_deref(), Some("app"));
        assert_eq!(u.password.as_ref().map(Secret::expose), Some("p@ss"));
        assert_eq!(u.params.get("sslmode").map(String::as_str), Some("require"));
        let m = parse_jdbc_url("jdbc:mariadb://127.0.0.1/soe").expect("valid");
        assert_eq!((m.database, m.port), (JdbcDatabase::MySql, 3306));
        let p = parse_jdbc_url("postgres://u:pw@[::1]:5433/d").expect("valid");
        assert_eq!((p.host.as_str(), p.port), ("::1", 5433));
        assert_eq!(p.password.as_ref().map(Secret::expose), Some("pw"));
        assert!(parse_jdbc_url("jdbc:oracle:thin:@host:1521:orcl")
            .unwrap_err()
            .contains("connection.url"));
        assert!(parse_jdbc_url("jdbc:mysql://:3306/x").is_err());
    }

    #[test]
    fn the_talks_example_parses() {
        let (c, warnings) = JdbcSourceConfig::from_map(&map(&[
            ("name", "jdbc_source_oracle_soe_orders"),
            ("connector.class", "JdbcSourceConnector"),
            ("connection.url", "jdbc:postgresql://localhost:5432/soe"),
            ("connection.user", "soe"),
            ("connection.password", "soe"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "ORDER_ID"),
            ("table.whitelist", "ORDERS"),
            ("topic.prefix", "soe2-"),
            ("transforms", "InsertKey,ExtractId"),
            (
                "transforms.InsertKey.type",
                "org.apache.kafka.connect.transforms.ValueToKey",
            ),
            ("transforms.InsertKey.fields", "CUSTOMER_ID"),
            (
                "transforms.ExtractId.type",
                "org.apache.kafka.connect.transforms.ExtractField$Key",
            ),
            ("transforms.ExtractId.field", "CUSTOMER_ID"),
        ]))
        .expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.mode, JdbcMode::Incrementing);
        assert_eq!(c.incrementing_column.as_deref(), Some("ORDER_ID"));
        assert_eq!(c.table_include, vec!["ORDERS"]);
        assert!(c.include_table("public", "ORDERS"));
        assert!(!c.include_table("public", "CUSTOMERS"));
        assert_eq!(c.batch_max_rows, 100);
        assert_eq!(c.poll_interval_ms, 5000);
    }

    #[test]
    fn mode_requirements_are_per_key_errors() {
        let errors = JdbcSourceConfig::from_map(&map(&[
            ("name", "j"),
            ("connector.class", "JdbcSource"),
            ("connection.url", "jdbc:mysql://h/db"),
            ("mode", "timestamp+incrementing"),
            ("topic.prefix", "t-"),
            ("table.whitelist", "a"),
            ("table.blacklist", "b"),
        ]))
        .expect_err("invalid");
        let keys: Vec<_> = errors.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "table.whitelist",
                "incrementing.column.name",
                "timestamp.column.name"
            ]
        );
        let errors = JdbcSourceConfig::from_map(&map(&[
            ("name", "j"),
            ("connector.class", "JdbcSource"),
            ("connection.url", "jdbc:mysql://h/db"),
            ("mode", "sometimes"),
            ("topic.prefix", "t-"),
        ]))
        .expect_err("invalid");
        assert_eq!(errors.errors[0].key, "mode");
        assert!(errors.errors[0].message.contains("timestamp+incrementing"));
    }
}
