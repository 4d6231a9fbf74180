//! Picks the connector config type from `connector.class`.

use std::collections::BTreeMap;

use crate::error::{ConfigErrors, KeyError, Warning};
use crate::jdbc::{is_jdbc_source_class, JdbcSourceConfig, JDBC_SOURCE_CONNECTOR_CLASS};
use crate::mysql::{
    mysql_flavor_of_class, MySqlConnectorConfig, MARIADB_CONNECTOR_CLASS, MYSQL_CONNECTOR_CLASS,
};
use crate::postgres::{is_postgres_class, PostgresConnectorConfig, POSTGRES_CONNECTOR_CLASS};

/// `connector.class` values Sluice can run, fully qualified.
pub const SUPPORTED_CONNECTOR_CLASSES: &[&str] = &[
    POSTGRES_CONNECTOR_CLASS,
    JDBC_SOURCE_CONNECTOR_CLASS,
    MYSQL_CONNECTOR_CLASS,
    MARIADB_CONNECTOR_CLASS,
];

/// A parsed connector config of any supported kind.
// Parsed once per connector start: the variants' size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ConnectorConfig {
    /// `io.debezium.connector.postgresql.PostgresConnector`.
    Postgres(PostgresConnectorConfig),
    /// `io.confluent.connect.jdbc.JdbcSourceConnector`: query-based polling.
    Jdbc(JdbcSourceConfig),
    /// `io.debezium.connector.mysql.MySqlConnector` or
    /// `io.debezium.connector.mariadb.MariaDbConnector` (see `MySqlConnectorConfig::flavor`).
    MySql(MySqlConnectorConfig),
}

impl ConnectorConfig {
    /// Parses `map` with the config type its `connector.class` names.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<(Self, Vec<Warning>), ConfigErrors> {
        let class = map.get("connector.class").map(|c| c.trim()).unwrap_or("");
        if class.is_empty() {
            return Err(single(
                "connector.class",
                format!(
                    "missing required key connector.class: set it to one of {}",
                    SUPPORTED_CONNECTOR_CLASSES.join(", ")
                ),
            ));
        }
        if is_postgres_class(class) {
            let (config, warnings) = PostgresConnectorConfig::from_map(map)?;
            return Ok((Self::Postgres(config), warnings));
        }
        if mysql_flavor_of_class(class).is_some() {
            let (config, warnings) = MySqlConnectorConfig::from_map(map)?;
            return Ok((Self::MySql(config), warnings));
        }
        if is_jdbc_source_class(class) {
            let (config, warnings) = JdbcSourceConfig::from_map(map)?;
            return Ok((Self::Jdbc(config), warnings));
        }
        Err(single(
            "connector.class",
            format!(
                "unsupported connector.class \"{class}\": expected one of {}",
                SUPPORTED_CONNECTOR_CLASSES.join(", ")
            ),
        ))
    }

    /// All errors in `map`, empty when it is valid.
    pub fn validate(map: &BTreeMap<String, String>) -> Vec<KeyError> {
        Self::from_map(map)
            .err()
            .map(|e| e.errors)
            .unwrap_or_default()
    }

    /// The connector's `name`.
    pub fn name(&self) -> &str {
        match self {
            Self::Postgres(c) => &c.name,
            Self::Jdbc(c) => &c.name,
            Self::MySql(c) => &c.name,
        }
    }

    /// The fully qualified `connector.class`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Postgres(_) => POSTGRES_CONNECTOR_CLASS,
            Self::Jdbc(_) => JDBC_SOURCE_CONNECTOR_CLASS,
            Self::MySql(c) => c.flavor.class(),
        }
    }
}

fn single(key: &str, message: String) -> ConfigErrors {
    ConfigErrors {
        errors: vec![KeyError {
            key: key.to_owned(),
            message,
        }],
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
    fn dispatches_on_class() {
        let m = map(&[
            ("name", "c"),
            ("connector.class", "postgres"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.dbname", "d"),
            ("topic.prefix", "p"),
        ]);
        let (c, _) = ConnectorConfig::from_map(&m).expect("valid");
        assert_eq!(c.name(), "c");
        assert_eq!(c.class(), POSTGRES_CONNECTOR_CLASS);
        assert!(matches!(c, ConnectorConfig::Postgres(_)));
    }

    #[test]
    fn jdbc_aliases_dispatch_to_the_jdbc_source() {
        for class in [
            "io.confluent.connect.jdbc.JdbcSourceConnector",
            "JdbcSourceConnector",
            "JdbcSource",
        ] {
            let m = map(&[
                ("name", "j"),
                ("connector.class", class),
                ("connection.url", "jdbc:mariadb://h:3306/soe"),
                ("mode", "bulk"),
                ("topic.prefix", "t-"),
            ]);
            let (c, _) = ConnectorConfig::from_map(&m).expect("valid");
            assert_eq!(c.class(), JDBC_SOURCE_CONNECTOR_CLASS);
            assert_eq!(c.name(), "j");
            assert!(matches!(c, ConnectorConfig::Jdbc(_)));
        }
    }

    #[test]
    fn unknown_or_missing_class_lists_supported() {
        let errors = ConnectorConfig::validate(&map(&[(
            "connector.class",
            "io.debezium.connector.mongodb.MongoDbConnector",
        )]));
        assert_eq!(
            errors[0].message,
            "unsupported connector.class \"io.debezium.connector.mongodb.MongoDbConnector\": expected one of io.debezium.connector.postgresql.PostgresConnector, io.confluent.connect.jdbc.JdbcSourceConnector, io.debezium.connector.mysql.MySqlConnector, io.debezium.connector.mariadb.MariaDbConnector"
        );
        let errors = ConnectorConfig::validate(&BTreeMap::new());
        assert_eq!(errors[0].key, "connector.class");
        assert!(errors[0]
            .message
            .starts_with("missing required key connector.class"));
    }

    #[test]
    fn postgres_errors_pass_through() {
        let errors = ConnectorConfig::validate(&map(&[("connector.class", "postgresql")]));
        assert_eq!(errors.len(), 5);
    }
}
