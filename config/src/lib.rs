//! Typed Sluice configuration: Debezium and Kafka Connect property names in, validated
//! structs out, so a Debezium user brings their connector and worker files unchanged.
//!
//! ```text
//! file --load_connector_file / load_worker_file--> BTreeMap<String, String>
//!      --ConnectorConfig::from_map / WorkerConfig::from_map--> typed config + Warnings
//!                                                         \--> ConfigErrors (every bad key)
//! ```
//!
//! - [`properties`]: a `java.util.Properties`-compatible parser.
//! - [`WorkerConfig`]: offsets, converters, sink.
//! - [`PostgresConnectorConfig`]: Debezium's Postgres connector, with [`Filters`].
//! - [`ConnectorConfig`]: dispatch on `connector.class`.
//! - [`TransformsConfig`]: the `transforms`, `predicates` and `errors.*` keys, and the catalog
//!   of transformation and predicate plugins.
//!
//! Unknown keys are warnings, not errors, because Debezium ignores them; known keys Sluice
//! does not act on yet are kept raw in each config's `extra` map.

mod connector;
pub mod definitions;
mod error;
mod file;
pub mod filters;
pub mod jdbc;
mod keys;
pub mod mysql;
pub mod postgres;
pub mod properties;
mod secret;
pub mod transforms;
pub mod worker;

pub use connector::{ConnectorConfig, SUPPORTED_CONNECTOR_CLASSES};
pub use error::{ConfigErrors, KeyError, Warning};
pub use file::{load_connector_file, load_worker_file, ConfigError, ConnectorFile};
pub use filters::{Filters, NameFilter};
pub use mysql::MySqlConnectorConfig;
pub use postgres::{
    BinaryHandlingMode, DecimalHandlingMode, EventProcessingFailureHandlingMode,
    HstoreHandlingMode, IntervalHandlingMode, Operation, PostgresConnectorConfig,
    PublicationAutocreateMode, SkippedOperations, SnapshotLockingMode, SnapshotMode, SslMode,
    TimePrecisionMode,
};
pub use properties::PropertiesError;
pub use secret::{is_secret_key, Secret, HIDDEN};
pub use transforms::TransformsConfig;
pub use worker::{ConverterClass, Listener, SinkKind, WorkerConfig};

#[cfg(test)]
mod examples_tests;
