//! The standalone worker: connector configs in, one task per connector, a shared sink and
//! offset store, and an orderly stop.
//!
//! ```text
//! worker.properties ─> WorkerConfig ─┬─> sink (file | stdout) ─────────────┐
//!                                    ├─> offset store (file | memory) ─────┤ shared
//!                                    └─> REST API (listeners) ──┐          │
//! connector files ──> ConnectorConfig ──> Herder <──────────────┘          │
//!                                           └─> task per connector: Pipeline
//! SIGTERM / SIGINT ──> CancellationToken ──> every task drains, commits, exits
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice_config::{ConfigErrors, ConnectorConfig, ConverterClass, SinkKind, WorkerConfig};
use sluice_sinks::kafka::offsets::OffsetTopic;
use sluice_sinks::{AnySink, Embed, FileSink, FileSinkOptions, KafkaSink, KafkaSinkConfig};
use tokio_util::sync::CancellationToken;

use crate::herder::{Herder, HerderError, SharedOffsetStore, TargetState, WorkerContext};
use crate::offset::kafka::KafkaOffsetStore;
use crate::offset::{FileOffsetStore, MemoryOffsetStore, OffsetStore};
use crate::postgres::connector::{error_chain, TaskSettings};
use crate::rest::{self, LogControl};

/// Why the worker could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid {what}: {}", config_report(errors))]
    Config { what: String, errors: ConfigErrors },
    #[error("{0}")]
    Setup(String),
    #[error("connector {name} failed: {message}")]
    Connector { name: String, message: String },
}

/// One error on the same line; several as a count and then one indented line per key, so
/// that all of them can be fixed in one pass.
fn config_report(errors: &ConfigErrors) -> String {
    match errors.errors.as_slice() {
        [one] => one.message.clone(),
        many => many
            .iter()
            .fold(format!("{} errors", many.len()), |mut s, e| {
                s.push_str("\n  ");
                s.push_str(&e.message);
                s
            }),
    }
}

impl WorkerError {
    /// Process exit code: 2 for configuration problems, 1 for runtime failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            WorkerError::Config { .. } | WorkerError::Setup(_) => 2,
            WorkerError::Connector { .. } => 1,
        }
    }
}

/// Parse and validate everything before any connection is made.
pub fn parse_configs(
    worker: &BTreeMap<String, String>,
    connectors: &[BTreeMap<String, String>],
) -> Result<(WorkerConfig, Vec<ConnectorConfig>), WorkerError> {
    let (worker_config, warnings) =
        WorkerConfig::from_map(worker).map_err(|errors| WorkerError::Config {
            what: "worker configuration".into(),
            errors,
        })?;
    for w in warnings {
        tracing::warn!(key = %w.key, "{}", w.message);
    }
    let mut parsed = Vec::new();
    for map in connectors {
        let name = map.get("name").cloned().unwrap_or_default();
        let (config, warnings) =
            ConnectorConfig::from_map(map).map_err(|errors| WorkerError::Config {
                what: format!("connector configuration {name}"),
                errors,
            })?;
        for w in warnings {
            tracing::warn!(connector = %name, key = %w.key, "{}", w.message);
        }
        parsed.push(config);
    }
    let mut names: Vec<&str> = parsed.iter().map(ConnectorConfig::name).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(WorkerError::Setup(format!(
            "two connector files use the name {}: connector names must be unique",
            w[0]
        )));
    }
    Ok((worker_config, parsed))
}

/// Called with the REST API's bound addresses (`(https, address)`) once it listens.
pub type OnListening = Arc<dyn Fn(&[(bool, std::net::SocketAddr)]) + Send + Sync>;

/// What the binary adds to a worker run.
#[derive(Default, Clone)]
pub struct RunOptions {
    /// Runtime log levels for `/admin/loggers`.
    pub log_control: Option<Arc<dyn LogControl>>,
    /// Called with the REST API's bound addresses once it listens.
    pub on_listening: Option<OnListening>,
}

/// The file connector configs are kept in (with the REST API on): `config.storage.file.filename`,
/// else beside the offsets (`<offsets file>.connectors.json`), else nowhere (REST-created
/// connectors are lost on exit, as with Connect's standalone worker).
fn config_file(worker: &WorkerConfig) -> Option<PathBuf> {
    worker.config_storage_file_filename.clone().or_else(|| {
        worker.offset_storage_file_filename.as_ref().map(|p| {
            let mut name = p.file_name().unwrap_or_default().to_os_string();
            name.push(".connectors.json");
            p.with_file_name(name)
        })
    })
}

/// Run the worker until `shutdown` fires: the connectors saved by an earlier run, then the
/// given ones (created or updated), and the REST API on `listeners`.
///
/// With the REST API on, a failed connector stays FAILED for the API to report and restart,
/// as in Kafka Connect. With it off (`listeners=` empty), nobody could see that status, so the
/// first failure stops the worker with that error, and the worker ends once every connector
/// has finished its work (e.g. `snapshot.mode=initial_only`).
pub async fn run(
    worker: WorkerConfig,
    connectors: Vec<BTreeMap<String, String>>,
    shutdown: CancellationToken,
    options: RunOptions,
) -> Result<(), WorkerError> {
    let key_conv_class = worker.key_converter;
    let value_conv_class = worker.value_converter;
    let embed = |c: ConverterClass| {
        if matches!(c, ConverterClass::Json) {
            Embed::Json
        } else {
            Embed::Text
        }
    };
    let kafka_config = match worker.sink {
        SinkKind::Kafka => {
            let (config, warnings) =
                KafkaSinkConfig::from_worker(&worker.extra).map_err(|errors| {
                    WorkerError::Config {
                        what: "worker configuration".into(),
                        errors,
                    }
                })?;
            for w in warnings {
                tracing::warn!("{}", w.message);
            }
            Some(config)
        }
        _ => None,
    };
    let sink = match &kafka_config {
        Some(config) => {
            AnySink::Kafka(KafkaSink::new(config).map_err(|e| WorkerError::Setup(error_chain(&e)))?)
        }
        None => {
            let path = match worker.sink {
                SinkKind::File => Some(worker.sink_file_path.clone().ok_or_else(|| {
                    WorkerError::Setup(
                        "sink=file needs sink.file.path: set it in the worker properties".into(),
                    )
                })?),
                _ => None,
            };
            AnySink::File(
                FileSink::open(FileSinkOptions {
                    path,
                    key: embed(key_conv_class),
                    value: embed(value_conv_class),
                })
                .map_err(|e| WorkerError::Setup(error_chain(&e)))?,
            )
        }
    };
    let offset_topic = kafka_config.as_ref().filter(|c| c.offset_storage.is_some());
    let store: Box<dyn OffsetStore> = match (&worker.offset_storage_file_filename, offset_topic) {
        (file, Some(config)) => {
            if file.is_some() {
                tracing::warn!("offset.storage.topic is set: offsets are kept in Kafka, and offset.storage.file.filename is not used");
            }
            let (topic, records) = OffsetTopic::open(config)
                .await
                .map_err(|e| WorkerError::Setup(error_chain(&e)))?;
            tracing::info!(
                topic = topic.topic(),
                records = records.len(),
                "offsets read from kafka"
            );
            Box::new(KafkaOffsetStore::from_topic(topic, records))
        }
        (Some(path), None) => {
            Box::new(FileOffsetStore::open(path).map_err(|e| WorkerError::Setup(error_chain(&e)))?)
        }
        (None, None) => {
            tracing::warn!("no offset.storage.file.filename: offsets are kept in memory only; a restart resumes from the replication slot's position");
            Box::new(MemoryOffsetStore::default())
        }
    };
    let settings = TaskSettings {
        offset_flush_interval: Duration::from_millis(worker.offset_flush_interval_ms.max(1)),
    };
    let rest_on = !worker.listeners.is_empty();
    let credentials = match &worker.rest_basic_auth_credentials_file {
        Some(path) => Some(rest::load_credentials(path).map_err(WorkerError::Setup)?),
        None => None,
    };
    let tls = match (
        &worker.rest_tls_keystore_location,
        worker.listeners.iter().any(|l| l.https),
    ) {
        (Some(path), true) => {
            Some(rest::tls_server::server_config(path).map_err(WorkerError::Setup)?)
        }
        _ => None,
    };
    let worker_id = worker_id(&worker);
    // Without a REST API the connectors are exactly the files given: nothing to keep.
    let config_file = if rest_on { config_file(&worker) } else { None };
    let listeners = worker.listeners.clone();
    let ctx = WorkerContext {
        worker: Arc::new(worker),
        sink,
        kafka: kafka_config.map(Arc::new),
        store: SharedOffsetStore::new(store),
        settings,
    };
    let (herder, mut ended) = Herder::new(ctx, config_file, worker_id, shutdown.clone(), rest_on);
    for (config, target) in herder.load_saved().map_err(WorkerError::Setup)? {
        let name = config.get("name").cloned().unwrap_or_default();
        if let Err(e) = herder.put(config, true, target).await {
            tracing::error!(connector = %name, "saved connector not started: {e}");
        }
    }
    for config in connectors {
        let name = config.get("name").cloned().unwrap_or_default();
        herder
            .put(config, true, TargetState::Started)
            .await
            .map_err(|e| match e {
                HerderError::Invalid { errors, .. } => WorkerError::Config {
                    what: format!("connector configuration {name}"),
                    errors: ConfigErrors { errors },
                },
                other => WorkerError::Setup(other.to_string()),
            })?;
    }
    if rest_on {
        let router = rest::router(herder.clone(), options.log_control.clone(), credentials);
        let bound = rest::serve(router, &listeners, tls, shutdown.clone())
            .await
            .map_err(WorkerError::Setup)?;
        for (https, addr) in &bound {
            let scheme = if *https { "https" } else { "http" };
            tracing::info!("REST API listening on {scheme}://{addr}");
        }
        if let Some(f) = &options.on_listening {
            f(&bound);
        }
    }
    let mut failure = None;
    let mut finished = 0;
    loop {
        tokio::select! {
            biased;
            // Stop requested: every task drains and commits below.
            _ = shutdown.cancelled() => break,
            // A task ended by itself (failed, or finished its work).
            Some(end) = ended.recv() => {
                if rest_on {
                    continue;
                }
                if let Some(message) = end.failure {
                    match failure {
                        // The first failure is what the process reports as it exits; log only
                        // the others, so that each failure is shown once.
                        None => failure = Some(WorkerError::Connector { name: end.connector, message }),
                        Some(_) => tracing::error!(connector = %end.connector, "{message}"),
                    }
                    shutdown.cancel();
                } else {
                    tracing::info!(connector = %end.connector, "connector stopped");
                }
                // Without a REST API nothing restarts a task: the worker is done once every
                // connector's task has ended (counted, since a task reports its end just
                // before its future completes).
                finished += 1;
                if finished >= herder.names().await.len() {
                    break;
                }
            }
        }
    }
    herder.stop_all().await;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Connect's `worker_id`: the advertised (or listening) host and port.
fn worker_id(worker: &WorkerConfig) -> String {
    let listener = worker
        .rest_advertised_listener
        .as_deref()
        .and_then(|scheme| {
            worker
                .listeners
                .iter()
                .find(|l| (scheme == "https") == l.https)
        })
        .or_else(|| worker.listeners.first());
    let host = worker
        .rest_advertised_host_name
        .clone()
        .or_else(|| listener.map(|l| l.host.clone()))
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = worker
        .rest_advertised_port
        .or_else(|| listener.map(|l| l.port))
        .unwrap_or(8083);
    format!("{host}:{port}")
}
