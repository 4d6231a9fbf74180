//! The standalone herder: the connectors of one worker, their lifecycle and their statuses,
//! as Kafka Connect's `StandaloneHerder` keeps them.
//!
//! ```text
//! CLI connector files ─┐                       ┌─> task (one per connector): Pipeline + source
//! REST API requests ───┼─> Herder (one lock) ──┼─> status: RUNNING | PAUSED | STOPPED | FAILED ...
//! config file (restart)┘        │              └─> metrics
//!                               └─> config file (every change, atomically)
//! ```
//! Each connector has a *target state* (started, paused, stopped), which is what the user asked
//! for and what is persisted, and a *status*, which is what is happening. A task is stopped by
//! cancelling its token: it delivers what is in flight, commits its offsets and ends, so pause,
//! stop, restart, a config change and deletion never lose or repeat records. Pause and stop
//! differ as in Connect: a paused connector keeps its offsets fixed but still counts as
//! assigned; only a stopped one may have its offsets altered (KIP-875).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value as Json};
use sluice_config::{ConfigErrors, ConnectorConfig, ConverterClass, KeyError, WorkerConfig};
use sluice_sinks::{AnySink, KafkaSink, KafkaSinkConfig};
use tokio_util::sync::CancellationToken;

use crate::converter::{self, Converter};
use crate::metrics::ConnectorMetrics;
use crate::offset::{OffsetError, OffsetStore};
use crate::pipeline::{Pipeline, PipelineLimits};
use crate::postgres::connector::{self, error_chain, TaskSettings};
use crate::transforms::TransformChain;

/// What the user asked a connector to be (persisted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    fn parse(s: &str) -> Option<TargetState> {
        match s {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// A connector config saved by an earlier run, with its target state.
pub type SavedConnector = (BTreeMap<String, String>, TargetState);

/// Offset changes for `alter_offsets`: `(partition, new offset or None to remove)`.
pub type OffsetChanges = Vec<(Json, Option<Map<String, Json>>)>;

/// Connect's connector and task states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }
}

/// A state and, when failed, the failure's message chain (Connect's `trace`).
#[derive(Debug, Clone)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
}

impl Status {
    fn new(state: State) -> Status {
        Status { state, trace: None }
    }
}

/// Why a herder operation was refused; each maps to one HTTP status in the REST API.
#[derive(Debug, thiserror::Error)]
pub enum HerderError {
    #[error("Connector {0} not found")]
    NotFound(String),
    #[error("Connector {0} already exists")]
    AlreadyExists(String),
    #[error("Task {task} not found for connector {connector}")]
    TaskNotFound { connector: String, task: u32 },
    #[error("{message}")]
    Invalid {
        message: String,
        errors: Vec<KeyError>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("offset store failed: {}", error_chain(.0))]
    Offsets(#[from] OffsetError),
    #[error("cannot save connector configs to {path}: {source}")]
    Persist {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Everything a task needs from its worker.
#[derive(Clone)]
pub struct WorkerContext {
    pub worker: Arc<WorkerConfig>,
    pub sink: AnySink,
    /// The Kafka sink's settings, when the worker writes to Kafka.
    pub kafka: Option<Arc<KafkaSinkConfig>>,
    pub store: SharedOffsetStore,
    pub settings: TaskSettings,
}

/// One offset store shared by every connector of the worker.
#[derive(Clone)]
pub struct SharedOffsetStore(pub Arc<Mutex<Box<dyn OffsetStore>>>);

impl SharedOffsetStore {
    pub fn new(store: Box<dyn OffsetStore>) -> SharedOffsetStore {
        SharedOffsetStore(Arc::new(Mutex::new(store)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Box<dyn OffsetStore>) -> T) -> T {
        match self.0.lock() {
            Ok(mut store) => f(&mut store),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl OffsetStore for SharedOffsetStore {
    fn load(
        &self,
        connector: &str,
        partition: &Json,
    ) -> Result<Option<Map<String, Json>>, OffsetError> {
        self.with(|s| s.load(connector, partition))
    }

    fn commit(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: crate::offset::Committable<Map<String, Json>>,
    ) -> Result<(), OffsetError> {
        self.with(|s| s.commit(connector, partition, offset))
    }

    fn list(&self, connector: &str) -> Result<crate::offset::PartitionOffsets, OffsetError> {
        self.with(|s| s.list(connector))
    }

    fn alter(
        &mut self,
        connector: &str,
        partition: &Json,
        offset: Option<Map<String, Json>>,
    ) -> Result<(), OffsetError> {
        self.with(|s| s.alter(connector, partition, offset))
    }
}

struct Task {
    cancel: CancellationToken,
    join: tokio::task::JoinHandle<()>,
}

struct Entry {
    config: BTreeMap<String, String>,
    target: TargetState,
    connector_status: Status,
    task_status: Arc<Mutex<Status>>,
    task: Option<Task>,
    metrics: Arc<ConnectorMetrics>,
    /// The typed config of the running task (the topics prefix is the source partition).
    partition: Option<Json>,
}

/// A task ended by itself: failed, or finished its work (e.g. `snapshot.mode=initial_only`).
#[derive(Debug)]
pub struct TaskEnded {
    pub connector: String,
    pub failure: Option<String>,
}

/// The connectors of this worker. Cheap to clone; every clone is the same herder.
#[derive(Clone)]
pub struct Herder {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: WorkerContext,
    connectors: tokio::sync::Mutex<BTreeMap<String, Entry>>,
    config_file: Option<PathBuf>,
    worker_id: String,
    shutdown: CancellationToken,
    ended: tokio::sync::mpsc::UnboundedSender<TaskEnded>,
    /// Log task failures here (REST API on); otherwise the worker reports them as it stops.
    log_failures: bool,
}

/// A snapshot of one connector for the REST API.
#[derive(Debug, Clone)]
pub struct ConnectorView {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub connector: Status,
    pub task: Status,
    pub target: TargetState,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Herder {
    /// A herder with no connectors yet; `ended` receives every task that stops by itself.
    pub fn new(
        ctx: WorkerContext,
        config_file: Option<PathBuf>,
        worker_id: String,
        shutdown: CancellationToken,
        log_failures: bool,
    ) -> (Herder, tokio::sync::mpsc::UnboundedReceiver<TaskEnded>) {
        let (ended, rx) = tokio::sync::mpsc::unbounded_channel();
        let herder = Herder {
            inner: Arc::new(Inner {
                ctx,
                connectors: tokio::sync::Mutex::new(BTreeMap::new()),
                config_file,
                worker_id,
                shutdown,
                ended,
                log_failures,
            }),
        };
        (herder, rx)
    }

    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    pub fn worker_config(&self) -> &WorkerConfig {
        &self.inner.ctx.worker
    }

    /// Connectors saved by an earlier run (`config.storage.file.filename`), with their target
    /// states. A missing file is an empty list.
    pub fn load_saved(&self) -> Result<Vec<SavedConnector>, String> {
        let Some(path) = &self.inner.config_file else {
            return Ok(Vec::new());
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let bad = |why: &str| {
            format!(
                "{} is not a Sluice connector config file ({why}); move it away to start without the connectors it held",
                path.display()
            )
        };
        let json: Json = serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
        let connectors = json
            .get("connectors")
            .and_then(Json::as_object)
            .ok_or_else(|| bad("no \"connectors\" object"))?;
        let mut out = Vec::new();
        for (name, entry) in connectors {
            let config = entry
                .get("config")
                .and_then(Json::as_object)
                .ok_or_else(|| bad(&format!("connector {name} has no config")))?;
            let mut map: BTreeMap<String, String> = config
                .iter()
                .map(|(k, v)| (k.clone(), json_to_config_string(v)))
                .collect();
            map.insert("name".into(), name.clone());
            let target = entry
                .get("target_state")
                .and_then(Json::as_str)
                .and_then(TargetState::parse)
                .unwrap_or(TargetState::Started);
            out.push((map, target));
        }
        Ok(out)
    }

    fn persist(&self, connectors: &BTreeMap<String, Entry>) -> Result<(), HerderError> {
        let Some(path) = &self.inner.config_file else {
            return Ok(());
        };
        let mut body = Map::new();
        for (name, e) in connectors {
            body.insert(
                name.clone(),
                json!({"config": e.config, "target_state": e.target.as_str()}),
            );
        }
        serde_json::to_vec_pretty(&json!({ "connectors": body }))
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|t| write_atomically(path, &t))
            .map_err(|source| HerderError::Persist {
                path: path.clone(),
                source,
            })
    }

    /// Create a connector (`POST /connectors`, a CLI file). `replace`: update it if it exists
    /// (what `PUT /connectors/{name}/config` and the CLI do). Returns whether it was created.
    pub async fn put(
        &self,
        mut config: BTreeMap<String, String>,
        replace: bool,
        target: TargetState,
    ) -> Result<bool, HerderError> {
        let name = config.get("name").cloned().unwrap_or_default();
        if name.trim().is_empty() {
            return Err(HerderError::BadRequest(
                "Connector name cannot be empty: set \"name\"".into(),
            ));
        }
        config.insert("name".into(), name.clone());
        let mut connectors = self.inner.connectors.lock().await;
        if let Some(existing) = connectors.get(&name).filter(|_| replace) {
            // A config read back through the API has its secrets masked: a masked value
            // sent back means "unchanged".
            for (k, v) in config.iter_mut() {
                if v == sluice_config::HIDDEN && sluice_config::is_secret_key(k) {
                    if let Some(old) = existing.config.get(k) {
                        v.clone_from(old);
                    }
                }
            }
        }
        validate_connector(&config)?;
        let created = match connectors.get_mut(&name) {
            Some(_) if !replace => return Err(HerderError::AlreadyExists(name)),
            Some(entry) => {
                let old = entry.task.take();
                entry.config = config;
                stop_task(old).await;
                false
            }
            None => {
                connectors.insert(
                    name.clone(),
                    Entry {
                        config,
                        target,
                        connector_status: Status::new(State::Unassigned),
                        task_status: Arc::new(Mutex::new(Status::new(State::Unassigned))),
                        task: None,
                        metrics: ConnectorMetrics::new(),
                        partition: None,
                    },
                );
                true
            }
        };
        self.persist(&connectors)?;
        if let Some(entry) = connectors.get_mut(&name) {
            self.apply_target(&name, entry);
        }
        Ok(created)
    }

    /// Start, or mark paused/stopped, according to the entry's target state.
    fn apply_target(&self, name: &str, entry: &mut Entry) {
        match entry.target {
            TargetState::Started => self.start_task(name, entry),
            TargetState::Paused => {
                entry.connector_status = Status::new(State::Paused);
                *lock(&entry.task_status) = Status::new(State::Paused);
            }
            TargetState::Stopped => {
                entry.connector_status = Status::new(State::Stopped);
                *lock(&entry.task_status) = Status::new(State::Unassigned);
            }
        }
    }

    fn start_task(&self, name: &str, entry: &mut Entry) {
        let cancel = self.inner.shutdown.child_token();
        let prepared = match prepare_task(
            &self.inner.ctx,
            name,
            &entry.config,
            &entry.metrics,
            &cancel,
        ) {
            Ok(p) => p,
            Err(message) => {
                if self.inner.log_failures {
                    tracing::error!(connector = %name, "{message}");
                }
                let _ = self.inner.ended.send(TaskEnded {
                    connector: name.to_string(),
                    failure: Some(message.clone()),
                });
                entry.connector_status = Status {
                    state: State::Failed,
                    trace: Some(message),
                };
                *lock(&entry.task_status) = Status::new(State::Unassigned);
                entry.metrics.error();
                return;
            }
        };
        entry.connector_status = Status::new(State::Running);
        entry.partition = Some(prepared.partition.clone());
        *lock(&entry.task_status) = Status::new(State::Running);
        let status = entry.task_status.clone();
        let metrics = entry.metrics.clone();
        let ended = self.inner.ended.clone();
        let log_failures = self.inner.log_failures;
        let name = name.to_string();
        let span = tracing::info_span!("connector", name = %name);
        let token = cancel.clone();
        metrics.set_task_running(true);
        let join = tokio::spawn(tracing::Instrument::instrument(
            async move {
                tracing::info!("connector starting");
                let result = (prepared.run)(token.clone()).await;
                metrics.set_task_running(false);
                let failure = match result {
                    Ok(()) if token.is_cancelled() => return,
                    Ok(()) => {
                        tracing::info!("connector finished its work");
                        *lock(&status) = Status::new(State::Unassigned);
                        None
                    }
                    Err(e) => {
                        let message = error_chain(&*e);
                        if log_failures {
                            tracing::error!("{message}");
                        }
                        metrics.error();
                        *lock(&status) = Status {
                            state: State::Failed,
                            trace: Some(message.clone()),
                        };
                        Some(message)
                    }
                };
                let _ = ended.send(TaskEnded {
                    connector: name,
                    failure,
                });
            },
            span,
        ));
        entry.task = Some(Task { cancel, join });
    }

    async fn with_entry<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Entry) -> T,
    ) -> Result<T, HerderError> {
        let mut connectors = self.inner.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        Ok(f(entry))
    }

    /// Change the target state; stops the running task (it drains and commits) when leaving
    /// STARTED, starts it when entering STARTED.
    pub async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let mut connectors = self.inner.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        let was = entry.target;
        entry.target = target;
        let running = entry.task.as_ref().is_some_and(|t| !t.join.is_finished());
        if target != TargetState::Started || !running || was != TargetState::Started {
            let old = entry.task.take();
            stop_task(old).await;
            self.apply_target(name, entry);
        }
        self.persist(&connectors)?;
        Ok(())
    }

    /// Restart the connector; with `include_tasks`, its task too (`only_failed`: only if it
    /// failed). Returns the status to report (Connect's 202 body) when tasks are included.
    pub async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), HerderError> {
        let mut connectors = self.inner.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        if entry.target != TargetState::Started {
            return Ok(());
        }
        let connector_failed = entry.connector_status.state == State::Failed;
        let task_failed = lock(&entry.task_status).state == State::Failed;
        let restart_connector = !only_failed || connector_failed;
        let restart_task = connector_failed
            || (include_tasks && (!only_failed || task_failed))
            || entry.task.is_none();
        if restart_connector || restart_task {
            if restart_task {
                *lock(&entry.task_status) = Status::new(State::Restarting);
                let old = entry.task.take();
                stop_task(old).await;
                self.start_task(name, entry);
            } else if connector_failed {
                self.start_task(name, entry);
            }
        }
        Ok(())
    }

    /// Restart the connector's task `task` (Sluice runs one task per connector: id 0).
    pub async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let mut connectors = self.inner.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        if task != 0 || entry.target != TargetState::Started {
            return Err(HerderError::TaskNotFound {
                connector: name.to_string(),
                task,
            });
        }
        *lock(&entry.task_status) = Status::new(State::Restarting);
        let old = entry.task.take();
        stop_task(old).await;
        self.start_task(name, entry);
        Ok(())
    }

    /// Delete a connector: its task stops (drains, commits); its offsets stay, as in Connect.
    pub async fn delete(&self, name: &str) -> Result<(), HerderError> {
        let mut connectors = self.inner.connectors.lock().await;
        let mut entry = connectors
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        stop_task(entry.task.take()).await;
        self.persist(&connectors)?;
        Ok(())
    }

    pub async fn names(&self) -> Vec<String> {
        self.inner.connectors.lock().await.keys().cloned().collect()
    }

    pub async fn view(&self, name: &str) -> Result<ConnectorView, HerderError> {
        self.with_entry(name, |e| view(name, e)).await
    }

    pub async fn views(&self) -> Vec<ConnectorView> {
        let connectors = self.inner.connectors.lock().await;
        connectors.iter().map(|(n, e)| view(n, e)).collect()
    }

    pub async fn metrics(&self) -> Vec<(String, Arc<ConnectorMetrics>)> {
        let connectors = self.inner.connectors.lock().await;
        connectors
            .iter()
            .map(|(n, e)| (n.clone(), e.metrics.clone()))
            .collect()
    }

    pub async fn connector_metrics(
        &self,
        name: &str,
    ) -> Result<Arc<ConnectorMetrics>, HerderError> {
        self.with_entry(name, |e| e.metrics.clone()).await
    }

    /// The stored offsets of a connector (`GET /connectors/{name}/offsets`).
    pub async fn offsets(
        &self,
        name: &str,
    ) -> Result<crate::offset::PartitionOffsets, HerderError> {
        self.with_entry(name, |_| ()).await?;
        Ok(self.inner.ctx.store.list(name)?)
    }

    /// Alter (`Some`) or reset (`None` for all) a stopped connector's offsets (KIP-875).
    pub async fn alter_offsets(
        &self,
        name: &str,
        changes: Option<OffsetChanges>,
    ) -> Result<(), HerderError> {
        let connectors = self.inner.connectors.lock().await;
        let entry = connectors
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        if entry.target != TargetState::Stopped
            || entry.task.as_ref().is_some_and(|t| !t.join.is_finished())
        {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        let mut store = self.inner.ctx.store.clone();
        match changes {
            Some(changes) => {
                for (partition, offset) in changes {
                    store.alter(name, &partition, offset)?;
                }
            }
            None => {
                for (partition, _) in store.list(name)? {
                    store.alter(name, &partition, None)?;
                }
            }
        }
        Ok(())
    }

    /// Stop every task (they drain and commit) and wait for them.
    pub async fn stop_all(&self) {
        let mut connectors = self.inner.connectors.lock().await;
        let tasks: Vec<Task> = connectors
            .values_mut()
            .filter_map(|e| e.task.take())
            .collect();
        for t in &tasks {
            t.cancel.cancel();
        }
        for t in tasks {
            let _ = t.join.await;
        }
    }

    /// Whether any connector's task is still running.
    pub async fn any_running(&self) -> bool {
        let connectors = self.inner.connectors.lock().await;
        connectors
            .values()
            .any(|e| e.task.as_ref().is_some_and(|t| !t.join.is_finished()))
    }
}

fn view(name: &str, e: &Entry) -> ConnectorView {
    ConnectorView {
        name: name.to_string(),
        config: e.config.clone(),
        connector: e.connector_status.clone(),
        task: lock(&e.task_status).clone(),
        target: e.target,
    }
}

async fn stop_task(task: Option<Task>) {
    if let Some(t) = task {
        t.cancel.cancel();
        let _ = t.join.await;
    }
}

/// Parse and validate a connector config as the REST API and the CLI take it.
pub fn validate_connector(config: &BTreeMap<String, String>) -> Result<(), HerderError> {
    let mut errors = Vec::new();
    if let Err(e) = ConnectorConfig::from_map(config) {
        errors.extend(e.errors);
    }
    if let Err(e) = TransformChain::from_props(config) {
        errors.extend(e.errors);
    }
    if errors.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        errors.len()
    );
    for e in &errors {
        message.push('\n');
        message.push_str(&e.message);
    }
    message.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    Err(HerderError::Invalid { message, errors })
}

/// What a connector task's future returns: `Ok` when it stopped (cancelled) or finished its
/// work, else the error that ended it.
pub type TaskResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A connector task, built and ready to run.
pub struct PreparedTask {
    /// The source partition of the connector's offsets (the main one, for sources with
    /// several).
    pub partition: Json,
    /// Runs the task until the token is cancelled (then drains and commits) or it ends.
    pub run: Box<dyn FnOnce(CancellationToken) -> TaskFuture + Send>,
}

/// A running connector task.
pub type TaskFuture = std::pin::Pin<Box<dyn std::future::Future<Output = TaskResult> + Send>>;

/// What every connector task gets from its worker and its config, whatever the source.
pub struct TaskParts {
    pub name: String,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub transforms: TransformChain,
    pub sink: AnySink,
    pub store: SharedOffsetStore,
    pub settings: TaskSettings,
    pub metrics: Arc<ConnectorMetrics>,
    /// Exactly-once: the offsets topic the pipeline writes into each transaction.
    pub offsets_in_batches: Option<Arc<str>>,
    /// Cancelled when the task stops (ends `errors.retry.timeout` retries early).
    pub shutdown: CancellationToken,
    /// Writes `errors.deadletterqueue.topic.name`, when the connector has one.
    pub dead_letter_sink: Option<AnySink>,
}

impl TaskParts {
    /// The task's data path, committing offsets under `partition`.
    pub fn pipeline<P: crate::pipeline::Position>(
        self,
        partition: Json,
        limits: PipelineLimits,
    ) -> (Pipeline<AnySink, P>, TaskSettings) {
        let errors = self.transforms.error_handling().clone();
        let pipeline = Pipeline::new(
            &self.name,
            partition,
            self.key_converter,
            self.value_converter,
            self.sink,
            Box::new(self.store),
            limits,
        )
        .with_transforms(self.transforms)
        .with_metrics(self.metrics);
        let pipeline = pipeline.with_error_handling(errors, self.shutdown, self.dead_letter_sink);
        let pipeline = match self.offsets_in_batches {
            Some(topic) => pipeline.with_offsets_in_batches(topic),
            None => pipeline,
        };
        (pipeline, self.settings)
    }
}

/// The key or value converter: the connector's `key.converter` / `value.converter` override
/// with its own `key.converter.*` settings if it names one, else the worker's, configured as
/// Kafka Connect configures converters (the prefix stripped).
fn converter_for(
    worker: &WorkerConfig,
    connector: &BTreeMap<String, String>,
    is_key: bool,
) -> Result<Box<dyn Converter>, String> {
    let prefix = if is_key {
        "key.converter"
    } else {
        "value.converter"
    };
    let settings_prefix = format!("{prefix}.");
    match connector.get(prefix) {
        Some(name) => {
            let class = ConverterClass::parse(name).ok_or_else(|| {
                format!(
                    "unsupported {prefix} \"{name}\": expected one of {}",
                    ConverterClass::CLASS_NAMES.join(", ")
                )
            })?;
            let props = converter::converter_props(connector, &settings_prefix);
            converter::from_config(&class, is_key, &props)
        }
        None => {
            let (class, schemas_enable) = if is_key {
                (worker.key_converter, worker.key_converter_schemas_enable)
            } else {
                (
                    worker.value_converter,
                    worker.value_converter_schemas_enable,
                )
            };
            let mut props = converter::converter_props(&worker.extra, &settings_prefix);
            props.insert("schemas.enable".into(), schemas_enable.to_string());
            converter::from_config(&class, is_key, &props)
        }
    }
}

fn prepare_task(
    ctx: &WorkerContext,
    name: &str,
    raw: &BTreeMap<String, String>,
    metrics: &Arc<ConnectorMetrics>,
    shutdown: &CancellationToken,
) -> Result<PreparedTask, String> {
    let (config, _) = ConnectorConfig::from_map(raw).map_err(|e| config_report(&e))?;
    let transforms = TransformChain::from_props(raw).map_err(|e| config_report(&e))?;
    let dead_letter_sink = transforms
        .error_handling()
        .dead_letter_queue
        .as_ref()
        .map(|dlq| ctx.sink.for_dead_letter_queue(dlq.replication_factor));
    let parts = TaskParts {
        name: name.to_string(),
        key_converter: converter_for(&ctx.worker, raw, true)?,
        value_converter: converter_for(&ctx.worker, raw, false)?,
        transforms,
        sink: sink_for(ctx, name, raw)?,
        store: ctx.store.clone(),
        settings: ctx.settings.clone(),
        metrics: metrics.clone(),
        offsets_in_batches: ctx
            .kafka
            .as_ref()
            .filter(|k| k.is_exactly_once())
            .and_then(|k| k.offset_storage.as_ref())
            .map(|o| Arc::from(o.name.as_str())),
        shutdown: shutdown.clone(),
        dead_letter_sink,
    };
    match config {
        ConnectorConfig::Postgres(pg) => Ok(connector::prepare(pg, parts)),
        ConnectorConfig::Jdbc(c) => Ok(crate::jdbc::prepare(c, parts)),
        ConnectorConfig::MySql(my) => Ok(crate::mysql::connector::prepare(my, parts)),
    }
}

/// The connector's sink: the worker's, with the connector's own `topic.creation.*` rules for
/// Kafka; with exactly-once support, a transactional producer of the task's own.
fn sink_for(
    ctx: &WorkerContext,
    name: &str,
    raw: &BTreeMap<String, String>,
) -> Result<AnySink, String> {
    match &ctx.sink {
        AnySink::File(sink) => Ok(AnySink::File(sink.clone())),
        AnySink::Kafka(shared) => {
            let transactional = match ctx.kafka.as_deref().filter(|k| k.is_exactly_once()) {
                Some(config) => {
                    Some(KafkaSink::transactional(config, name, 0).map_err(|e| error_chain(&e))?)
                }
                None => None,
            };
            let sink = transactional.as_ref().unwrap_or(shared);
            let (sink, warnings) = sink.for_connector(raw).map_err(|e| config_report(&e))?;
            for w in warnings {
                tracing::warn!("{}", w.message);
            }
            Ok(AnySink::Kafka(sink))
        }
    }
}

/// One error on the same line; several as a count and then one indented line per key.
pub fn config_report(errors: &ConfigErrors) -> String {
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

/// Connect accepts JSON numbers and booleans in configs and stores them as strings.
pub fn json_to_config_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
