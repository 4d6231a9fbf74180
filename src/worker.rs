//! The standalone worker: connector configs in, one task per connector, a shared sink and
//! offset store, and an orderly stop.
//!
//! ```text
//! worker.properties ─> WorkerConfig ─┬─> sink (file | stdout) ─────────────┐
//!                                    └─> offset store (file | memory) ─────┤ shared
//! connector files ──> ConnectorConfig ──> task per connector: Pipeline ────┘
//! SIGTERM / SIGINT ──> CancellationToken ──> every task drains, commits, exits
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value as Json};
use sluice_config::{ConfigErrors, ConnectorConfig, ConverterClass, SinkKind, WorkerConfig};
use sluice_sinks::{Embed, FileSink, FileSinkOptions};
use tokio_util::sync::CancellationToken;

use crate::converter;
use crate::offset::{Committable, FileOffsetStore, MemoryOffsetStore, OffsetError, OffsetStore};
use crate::pipeline::{Pipeline, PipelineLimits};
use crate::postgres::connector::{self, error_chain, TaskSettings};

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

/// One offset store shared by every connector of the worker.
#[derive(Clone)]
struct SharedOffsetStore(Arc<Mutex<Box<dyn OffsetStore>>>);

impl OffsetStore for SharedOffsetStore {
    fn load(
        &self,
        connector: &str,
        partition: &Json,
    ) -> Result<Option<Map<String, Json>>, OffsetError> {
        match self.0.lock() {
            Ok(store) => store.load(connector, partition),
            Err(poisoned) => poisoned.into_inner().load(connector, partition),
        }
    }

    fn commit(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Committable<Map<String, Json>>,
    ) -> Result<(), OffsetError> {
        match self.0.lock() {
            Ok(mut store) => store.commit(connector, partition, offset),
            Err(poisoned) => poisoned.into_inner().commit(connector, partition, offset),
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

/// Run the connectors until `shutdown` fires (Ok) or one of them fails (Err).
pub async fn run(
    worker: WorkerConfig,
    connectors: Vec<ConnectorConfig>,
    shutdown: CancellationToken,
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
    let path = match worker.sink {
        SinkKind::File => Some(worker.sink_file_path.clone().ok_or_else(|| {
            WorkerError::Setup(
                "sink=file needs sink.file.path: set it in the worker properties".into(),
            )
        })?),
        SinkKind::Stdout => None,
    };
    let sink = FileSink::open(FileSinkOptions {
        path,
        key: embed(key_conv_class),
        value: embed(value_conv_class),
    })
    .map_err(|e| WorkerError::Setup(error_chain(&e)))?;
    let store: Box<dyn OffsetStore> = match &worker.offset_storage_file_filename {
        Some(path) => {
            Box::new(FileOffsetStore::open(path).map_err(|e| WorkerError::Setup(error_chain(&e)))?)
        }
        None => {
            tracing::warn!("no offset.storage.file.filename: offsets are kept in memory only; a restart resumes from the replication slot's position");
            Box::new(MemoryOffsetStore::default())
        }
    };
    let store = SharedOffsetStore(Arc::new(Mutex::new(store)));
    let settings = TaskSettings {
        offset_flush_interval: Duration::from_millis(worker.offset_flush_interval_ms.max(1)),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for config in connectors {
        let name = config.name().to_string();
        let key_converter =
            converter::from_class(&key_conv_class, worker.key_converter_schemas_enable)
                .map_err(WorkerError::Setup)?;
        let value_converter =
            converter::from_class(&value_conv_class, worker.value_converter_schemas_enable)
                .map_err(WorkerError::Setup)?;
        let ConnectorConfig::Postgres(pg) = config;
        let limits = PipelineLimits {
            max_batch_records: pg.max_batch_size.max(1) as usize,
            max_in_flight: (pg.max_queue_size / pg.max_batch_size.max(1)).clamp(2, 64) as usize,
            ..PipelineLimits::default()
        };
        let partition = serde_json::json!({"server": pg.topic_prefix});
        let mut pipeline = Pipeline::new(
            &name,
            partition,
            key_converter,
            value_converter,
            sink.clone(),
            Box::new(store.clone()),
            limits,
        );
        let settings = settings.clone();
        let shutdown = shutdown.clone();
        let pg = Arc::new(pg);
        let span = tracing::info_span!("connector", name = %name);
        tasks.spawn(tracing::Instrument::instrument(
            async move {
                tracing::info!("connector starting");
                let result = connector::run(pg, &mut pipeline, &settings, &shutdown).await;
                (name, result.map_err(|e| error_chain(&e)))
            },
            span,
        ));
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((name, Ok(()))) => tracing::info!(connector = %name, "connector stopped"),
            Ok((name, Err(message))) => {
                // The first failure is what the process reports as it exits; log only the
                // others, so that each failure is shown once.
                match failure {
                    None => failure = Some(WorkerError::Connector { name, message }),
                    Some(_) => tracing::error!(connector = %name, "{message}"),
                }
                shutdown.cancel();
            }
            Err(e) => {
                failure.get_or_insert(WorkerError::Connector {
                    name: "?".into(),
                    message: format!("task ended abnormally: {e}"),
                });
                shutdown.cancel();
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
