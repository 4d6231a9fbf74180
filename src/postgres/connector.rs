//! The Postgres connector task: prerequisites, publication, slot, and the streaming loop.
//!
//! ```text
//!             ┌──────────────── select! (biased) ─────────────────┐
//! shutdown ──>│ 1. stop: drain, commit, final status, close         │
//! deliveries >│ 2. ack → AckTracker (pipeline)                      │
//! timers ────>│ 3. close batch / commit offsets + flush LSN / status│
//! WAL ───────>│ 4. XLogData → decoder → EventSource → pipeline      │ (only while the pipeline
//!             └─────────────────────────────────────────────────────┘  accepts: backpressure)
//! ```
//! The flush LSN reported to the server is always a committed offset, so the server keeps every
//! WAL segment that a restart may still need. Transient failures (connection lost, server
//! restarting, slot briefly held by a dying process) are retried with backoff from the last
//! position handed to the sink; everything else stops the task with a message that says what
//! to fix.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use sluice_config::{PostgresConnectorConfig, PublicationAutocreateMode};
use sluice_decoders::pgoutput::{Decoder, Message};
use sluice_sinks::Sink;
use tokio_util::sync::CancellationToken;

use super::incremental::{blocking_request, blocking_snapshot, Incremental, WATERMARK_PREFIX};
use super::position::PgPosition;
use super::replication::{
    format_lsn, publication_names_option, ConnectParams, CreatedSlot, ReplicationConnection,
    ReplicationError, ReplicationMessage, ReplicationStream, SlotSnapshot, SslMode,
};
use super::snapshot;
use super::source::{Emitted, EventError, EventSource};
use super::sql::quote_ident;
use super::tls::connect_sql;
use crate::connect::Record;
use crate::envelope::{Clock, HeartbeatTopic};
use crate::herder::{PreparedTask, TaskParts};
use crate::pipeline::{Pipeline, PipelineError, PipelineLimits};
use sluice_snapshot::incremental::IncrementalState;
use sluice_snapshot::state::SnapshotState;

/// How a failure is handled (one exhaustive classification, see [`ConnectorError::class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retry with backoff and resume from the last position.
    Transient,
    /// The data or the server state is wrong; retrying cannot help.
    Definite,
    /// The configuration or the database setup must change.
    Config,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("cannot connect to postgres at {addr} (database {db}, user {user}){}", connect_fix(.source))]
    Connect {
        addr: String,
        db: String,
        user: String,
        #[source]
        source: Box<ReplicationError>,
    },
    #[error("{0}")]
    Prerequisite(String),
    #[error("{what}")]
    Sql {
        what: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("replication slot {slot} is in use by {}: stop the other consumer of this slot or set a different slot.name", slot_holder(.pid))]
    SlotInUse {
        slot: String,
        /// The backend holding the slot; 0 when the server did not say.
        pid: i32,
    },
    #[error("replication from slot {slot} failed at LSN {lsn}")]
    Stream {
        slot: String,
        lsn: String,
        #[source]
        source: Box<ReplicationError>,
    },
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Snapshot(#[from] super::snapshot::SnapshotError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// What to change when the server refuses the connection itself (the server's message follows
/// in the cause).
fn connect_fix(source: &ReplicationError) -> &'static str {
    match source.sqlstate() {
        Some("28P01") => ": check database.user and database.password",
        Some("28000") => ": the server refuses this user from this host; check database.user and the server's pg_hba.conf",
        Some("3D000") => ": check database.dbname or create the database",
        Some("42501") => ": grant CONNECT on the database to this user",
        _ => "",
    }
}

fn slot_holder(pid: &i32) -> String {
    match pid {
        0 => "another process".to_owned(),
        pid => format!("process {pid}"),
    }
}

impl ConnectorError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Connect { source, .. } | ConnectorError::Stream { source, .. } => {
                if source.is_transient() {
                    ErrorClass::Transient
                } else {
                    ErrorClass::Config
                }
            }
            ConnectorError::Prerequisite(_) => ErrorClass::Config,
            ConnectorError::Sql { source, .. } => sql_class(source),
            ConnectorError::SlotInUse { .. } => ErrorClass::Transient,
            ConnectorError::Event(EventError::Catalog { source, .. }) => sql_class(source),
            ConnectorError::Event(
                EventError::Decode { .. }
                | EventError::Value { .. }
                | EventError::BinaryValue { .. }
                | EventError::UnknownRelation { .. },
            ) => ErrorClass::Definite,
            ConnectorError::Snapshot(e) => match e {
                super::snapshot::SnapshotError::Read { source, .. } => sql_class(source),
                super::snapshot::SnapshotError::Lock { .. } => ErrorClass::Transient,
                super::snapshot::SnapshotError::Connect(source) => {
                    if source.is_transient() {
                        ErrorClass::Transient
                    } else {
                        ErrorClass::Config
                    }
                }
                super::snapshot::SnapshotError::Shape { .. } => ErrorClass::Definite,
                super::snapshot::SnapshotError::Event(_) => ErrorClass::Definite,
                // A panic in the conversion code: the same rows would fail again.
                super::snapshot::SnapshotError::Task { .. } => ErrorClass::Definite,
            },
            ConnectorError::Pipeline(PipelineError::Sink(e)) => match e.class() {
                sluice_sinks::SinkErrorClass::Transient => ErrorClass::Transient,
                // Records the destination refuses for good (errors.tolerance=none).
                sluice_sinks::SinkErrorClass::Definite => ErrorClass::Definite,
                sluice_sinks::SinkErrorClass::Config => ErrorClass::Config,
            },
            ConnectorError::Pipeline(PipelineError::DeadLetter { .. }) => ErrorClass::Definite,
            ConnectorError::Pipeline(PipelineError::RejectedInTransaction(_)) => ErrorClass::Config,
            ConnectorError::Pipeline(PipelineError::Convert { source, .. }) => match source.class()
            {
                crate::converter::ConvertErrorClass::Transient => ErrorClass::Transient,
                crate::converter::ConvertErrorClass::Definite => ErrorClass::Definite,
                crate::converter::ConvertErrorClass::Config => ErrorClass::Config,
            },
            ConnectorError::Pipeline(PipelineError::Transform(_)) => ErrorClass::Definite,
            ConnectorError::Pipeline(PipelineError::Offsets(_)) => ErrorClass::Config,
        }
    }
}

fn sql_class(e: &tokio_postgres::Error) -> ErrorClass {
    match e.code() {
        None => ErrorClass::Transient,
        Some(code) => {
            let c = code.code();
            if c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P")
                || c == "40001"
                || c == "40P01"
            {
                ErrorClass::Transient
            } else {
                ErrorClass::Config
            }
        }
    }
}

/// Worker-level settings the task needs.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    /// `offset.flush.interval.ms`.
    pub offset_flush_interval: Duration,
}

/// The task of a Postgres connector: one pipeline under the source partition
/// `{"server": <topic.prefix>}`, as Debezium's.
pub fn prepare(config: PostgresConnectorConfig, parts: TaskParts) -> PreparedTask {
    let limits = PipelineLimits {
        max_batch_records: config.max_batch_size.max(1) as usize,
        max_in_flight: (config.max_queue_size / config.max_batch_size.max(1)).clamp(2, 64) as usize,
        ..PipelineLimits::default()
    };
    let partition = serde_json::json!({"server": config.topic_prefix});
    let (mut pipeline, settings) = parts.pipeline::<PgPosition>(partition.clone(), limits);
    let config = Arc::new(config);
    PreparedTask {
        partition,
        run: Box::new(move |token| {
            Box::pin(async move {
                run(config, &mut pipeline, &settings, &token)
                    .await
                    .map_err(Into::into)
            })
        }),
    }
}

/// Run the connector until `shutdown` fires or a non-transient error occurs.
pub async fn run<S: Sink>(
    config: Arc<PostgresConnectorConfig>,
    pipeline: &mut Pipeline<S, PgPosition>,
    settings: &TaskSettings,
    shutdown: &CancellationToken,
) -> Result<(), ConnectorError> {
    let stored = pipeline
        .load_offset()?
        .as_ref()
        .and_then(PgPosition::from_offset);
    if let Some(p) = &stored {
        tracing::info!(lsn = %format_lsn(p.lsn), lsn_proc = %format_lsn(p.lsn_proc), "resuming from stored offset");
    }
    let mut failures: u32 = 0;
    let mut slot_busy: u32 = 0;
    let mut first_attempt = true;
    loop {
        let resume = pipeline.last_position().cloned().or_else(|| stored.clone());
        let result = stream_once(
            &config,
            pipeline,
            settings,
            shutdown,
            resume.clone(),
            first_attempt,
        )
        .await;
        first_attempt = false;
        let err = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        // Keep what was already sent: wait for its acknowledgements and commit them.
        let _ = tokio::time::timeout(Duration::from_secs(10), pipeline.drain()).await;
        let _ = pipeline.commit().await;
        let class = err.class();
        let (retry, delay) = match (&err, class) {
            (ConnectorError::SlotInUse { .. }, _) => {
                slot_busy += 1;
                (
                    slot_busy <= config.slot_max_retries,
                    Duration::from_millis(config.slot_retry_delay_ms),
                )
            }
            (_, ErrorClass::Transient) => {
                failures += 1;
                let max = config.errors_max_retries;
                let allowed = max < 0 || failures <= max as u32;
                let cap = config.retriable_restart_connector_wait_ms.max(100);
                let backoff = 250u64.saturating_mul(1 << failures.min(10)).min(cap);
                (allowed, Duration::from_millis(backoff))
            }
            (_, ErrorClass::Definite | ErrorClass::Config) => (false, Duration::ZERO),
        };
        if !retry {
            return Err(err);
        }
        tracing::warn!(error = %error_chain(&err), retry_in_ms = delay.as_millis() as u64, "connector failed; retrying");
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
        if matches!(class, ErrorClass::Transient)
            && !matches!(err, ConnectorError::SlotInUse { .. })
        {
            // A stream that got going counts as recovery: reset the budget on progress.
            if pipeline.last_position() != resume.as_ref() {
                failures = 0;
            }
        }
    }
}

/// `error: cause: cause` on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

/// Connection settings from the connector config. The session settings fix the text formats
/// that the value decoders read.
pub fn connect_params(config: &PostgresConnectorConfig) -> ConnectParams {
    ConnectParams {
        host: config.database_hostname.clone(),
        port: config.database_port,
        user: config.database_user.clone(),
        password: config
            .database_password
            .as_ref()
            .map(|s| s.expose().to_string()),
        dbname: config.database_dbname.clone(),
        sslmode: match config.database_sslmode {
            sluice_config::SslMode::Disable => SslMode::Disable,
            // libpq's `allow` tries plain first; TLS-if-offered is the closest we have.
            sluice_config::SslMode::Allow | sluice_config::SslMode::Prefer => SslMode::Prefer,
            sluice_config::SslMode::Require => SslMode::Require,
            sluice_config::SslMode::VerifyCa => SslMode::VerifyCa,
            sluice_config::SslMode::VerifyFull => SslMode::VerifyFull,
        },
        sslrootcert: config.database_sslrootcert.clone(),
        sslcert: config.database_sslcert.clone(),
        sslkey: config.database_sslkey.clone(),
        application_name: format!("sluice-{}", config.name),
        options: vec![
            ("DateStyle".into(), "ISO, MDY".into()),
            ("IntervalStyle".into(), "postgres".into()),
            ("TimeZone".into(), "UTC".into()),
            ("extra_float_digits".into(), "3".into()),
            ("bytea_output".into(), "hex".into()),
        ],
        connect_timeout: Duration::from_secs(30),
    }
}

fn sql_err(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> ConnectorError {
    let what = what.into();
    move |source| ConnectorError::Sql { what, source }
}

/// Check what the connector needs from the server, with the fix in each message.
async fn check_prerequisites(
    sql: &tokio_postgres::Client,
    config: &PostgresConnectorConfig,
) -> Result<(), ConnectorError> {
    let wal_level: String = sql
        .query_one("SHOW wal_level", &[])
        .await
        .map_err(sql_err("reading wal_level"))?
        .get(0);
    if wal_level != "logical" {
        return Err(ConnectorError::Prerequisite(format!(
            "wal_level is {wal_level} on {}:{}: logical decoding needs wal_level=logical; set it in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart postgres",
            config.database_hostname, config.database_port
        )));
    }
    let row = sql
        .query_one(
            "SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(sql_err("reading the role's attributes"))?;
    let (superuser, replication): (bool, bool) = (row.get(0), row.get(1));
    if !superuser && !replication {
        return Err(ConnectorError::Prerequisite(format!(
            "user {} may not use replication: run ALTER ROLE \"{}\" REPLICATION (and grant SELECT on the captured tables)",
            config.database_user, config.database_user
        )));
    }
    Ok(())
}

/// Create or update the publication as `publication.autocreate.mode` says.
async fn ensure_publication(
    sql: &tokio_postgres::Client,
    config: &PostgresConnectorConfig,
) -> Result<(), ConnectorError> {
    let name = &config.publication_name;
    let existing = sql
        .query_opt(
            "SELECT puballtables FROM pg_publication WHERE pubname = $1",
            &[name],
        )
        .await
        .map_err(sql_err(format!("looking up publication {name}")))?;
    let quoted = quote_ident(name);
    let statement = match (config.publication_autocreate_mode, existing) {
        (PublicationAutocreateMode::Disabled, None) => {
            return Err(ConnectorError::Prerequisite(format!(
                "publication {name} does not exist and publication.autocreate.mode=disabled: create it (CREATE PUBLICATION {quoted} FOR TABLE …) or set publication.autocreate.mode=filtered"
            )))
        }
        (PublicationAutocreateMode::Disabled | PublicationAutocreateMode::AllTables | PublicationAutocreateMode::NoTables, Some(_)) => return Ok(()),
        (PublicationAutocreateMode::AllTables, None) => format!("CREATE PUBLICATION {quoted} FOR ALL TABLES"),
        (PublicationAutocreateMode::NoTables, None) => format!("CREATE PUBLICATION {quoted}"),
        (PublicationAutocreateMode::Filtered, existing) => {
            let tables = captured_tables(sql, config).await?;
            if tables.is_empty() {
                return Err(ConnectorError::Prerequisite(format!(
                    "no table in database {} matches table.include.list / schema.include.list: check the filters (publication.autocreate.mode=filtered needs at least one table)",
                    config.database_dbname
                )));
            }
            let list = tables.join(", ");
            match existing {
                None => format!("CREATE PUBLICATION {quoted} FOR TABLE {list}"),
                Some(row) if row.get::<_, bool>(0) => return Ok(()),
                Some(_) => format!("ALTER PUBLICATION {quoted} SET TABLE {list}"),
            }
        }
    };
    tracing::info!(publication = %name, statement = %statement, "configuring publication");
    sql.batch_execute(&statement).await.map_err(|source| {
        let hint = match source.code().map(|c| c.code()) {
            Some("42501") => format!(
                ": user {} may not create or alter it (only a superuser or the owner of every published table may); have one of them create it and set publication.autocreate.mode=disabled",
                config.database_user
            ),
            _ => String::new(),
        };
        ConnectorError::Sql {
            what: format!("configuring publication {name}{hint}"),
            source,
        }
    })
}

/// The ordinary tables the filters admit, as quoted `schema.table`.
async fn captured_tables(
    sql: &tokio_postgres::Client,
    config: &PostgresConnectorConfig,
) -> Result<Vec<String>, ConnectorError> {
    let rows = sql
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
              ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(sql_err("listing tables"))?;
    let filters = config.filters();
    let signal = config.signal_data_collection.as_deref();
    Ok(rows
        .iter()
        .filter_map(|r| {
            let (schema, table): (String, String) = (r.get(0), r.get(1));
            // The signalling table is published too, so its signals reach the stream.
            let is_signal = signal == Some(format!("{schema}.{table}").as_str());
            (filters.include_table(&schema, &table) || is_signal)
                .then(|| format!("{}.{}", quote_ident(&schema), quote_ident(&table)))
        })
        .collect())
}

/// Make sure the slot exists and is free.
async fn ensure_slot(
    sql: &tokio_postgres::Client,
    repl: &mut ReplicationConnection,
    config: &PostgresConnectorConfig,
    export_snapshot: bool,
) -> Result<Option<CreatedSlot>, ConnectorError> {
    let slot = &config.slot_name;
    let row = sql
        .query_opt(
            "SELECT plugin::text, active, active_pid, database::text FROM pg_replication_slots WHERE slot_name = $1",
            &[slot],
        )
        .await
        .map_err(sql_err(format!("looking up replication slot {slot}")))?;
    match row {
        Some(row) => {
            let plugin: Option<String> = row.get(0);
            let active: bool = row.get(1);
            let pid: Option<i32> = row.get(2);
            let database: Option<String> = row.get(3);
            if plugin.as_deref() != Some("pgoutput") {
                return Err(ConnectorError::Prerequisite(format!(
                    "replication slot {slot} uses plugin {}, not pgoutput: drop it (SELECT pg_drop_replication_slot('{slot}')) or set a different slot.name",
                    plugin.as_deref().unwrap_or("(physical)")
                )));
            }
            if database.as_deref() != Some(config.database_dbname.as_str()) {
                return Err(ConnectorError::Prerequisite(format!(
                    "replication slot {slot} belongs to database {}, not {}: set a different slot.name",
                    database.as_deref().unwrap_or("?"),
                    config.database_dbname
                )));
            }
            if active {
                return Err(ConnectorError::SlotInUse {
                    slot: slot.clone(),
                    pid: pid.unwrap_or(0),
                });
            }
            Ok(None)
        }
        None => {
            tracing::info!(slot = %slot, "creating replication slot");
            let snapshot = if export_snapshot {
                SlotSnapshot::Export
            } else {
                SlotSnapshot::NoExport
            };
            match repl.create_logical_slot(slot, "pgoutput", snapshot).await {
                Ok(created) => {
                    tracing::info!(slot = %slot, consistent_point = %format_lsn(created.consistent_point), "replication slot created");
                    Ok(Some(created))
                }
                // Created concurrently by another process: use it.
                Err(e) if e.sqlstate() == Some("42710") => Ok(None),
                Err(source) => Err(ConnectorError::Stream {
                    slot: slot.clone(),
                    lsn: "-".into(),
                    source: Box::new(source),
                }),
            }
        }
    }
}

/// Whether this start needs a snapshot, by `snapshot.mode` and the stored offset.
#[derive(Debug)]
enum SnapshotNeed {
    None,
    /// A new snapshot; consistent with the stream when the slot is created now.
    Fresh,
    /// Finish an interrupted snapshot.
    Resume(SnapshotState),
}

fn snapshot_need(
    config: &PostgresConnectorConfig,
    resume: Option<&PgPosition>,
    first_attempt: bool,
    slot_exists: bool,
) -> Result<SnapshotNeed, ConnectorError> {
    use sluice_config::SnapshotMode as M;
    if let Some(state) = resume.and_then(|p| p.snapshot.as_ref()) {
        if !state.is_complete() {
            if slot_exists {
                return Ok(SnapshotNeed::Resume((**state).clone()));
            }
            // Streaming would have to start at the snapshot's consistent point, which only
            // the slot kept.
            tracing::warn!(slot = %config.slot_name, "the replication slot of the interrupted snapshot is gone: the snapshot starts over");
            return Ok(SnapshotNeed::Fresh);
        }
    }
    if let (Some(p), false) = (resume, slot_exists) {
        // The stored position is in WAL that no slot keeps any more: streaming from a new slot
        // would skip every change since then.
        match config.snapshot_mode {
            M::WhenNeeded | M::Always => {
                tracing::warn!(slot = %config.slot_name, offset = %format_lsn(p.lsn), "the replication slot is gone: the changes after the stored offset cannot be streamed; taking a new snapshot (snapshot.mode={})", config.snapshot_mode);
                return Ok(SnapshotNeed::Fresh);
            }
            M::InitialOnly => return Ok(SnapshotNeed::None),
            _ => {
                return Err(ConnectorError::Prerequisite(format!(
                    "replication slot {} does not exist, but the connector's stored offset is at LSN {}: the changes since then are no longer available. Set snapshot.mode=when_needed to take a new snapshot, or delete the connector's offsets (DELETE /connectors/{{name}}/offsets on a stopped connector) to stream from now on",
                    config.slot_name,
                    format_lsn(p.lsn)
                )));
            }
        }
    }
    Ok(match config.snapshot_mode {
        M::Initial | M::InitialOnly | M::WhenNeeded if resume.is_none() => SnapshotNeed::Fresh,
        M::Always if first_attempt => SnapshotNeed::Fresh,
        M::Initial | M::InitialOnly | M::WhenNeeded | M::Always | M::NoData => SnapshotNeed::None,
        M::Recovery | M::ConfigurationBased | M::Custom => {
            if first_attempt {
                tracing::warn!(snapshot_mode = %config.snapshot_mode, "this snapshot.mode is not supported for Postgres by Sluice; streaming without a snapshot");
            }
            SnapshotNeed::None
        }
    })
}

/// The snapshot to run, if any: (state, consistent point, exported snapshot name).
async fn prepare_snapshot(
    sql: &tokio_postgres::Client,
    config: &PostgresConnectorConfig,
    need: SnapshotNeed,
    resume: Option<&PgPosition>,
    created: Option<CreatedSlot>,
) -> Result<Option<(SnapshotState, u64, Option<String>)>, ConnectorError> {
    match need {
        SnapshotNeed::None => Ok(None),
        SnapshotNeed::Resume(state) => {
            let consistent = resume.map_or(0, |p| p.lsn);
            tracing::info!(consistent_point = %format_lsn(consistent), "resuming the interrupted snapshot after its last delivered chunks");
            Ok(Some((state, consistent, None)))
        }
        SnapshotNeed::Fresh => match created {
            Some(CreatedSlot {
                consistent_point,
                snapshot_name: Some(name),
                ..
            }) => Ok(Some((
                SnapshotState::default(),
                consistent_point,
                Some(name),
            ))),
            _ => {
                // The slot existed already: no exported snapshot can match its position. Read
                // the tables now and stream from the slot: replaying the events in order gives
                // the right final state, but changes between the slot's position and now
                // may appear twice.
                let row = sql
                    .query_one(
                        "SELECT COALESCE(confirmed_flush_lsn, restart_lsn)::text FROM pg_replication_slots WHERE slot_name = $1",
                        &[&config.slot_name],
                    )
                    .await
                    .map_err(sql_err("reading the slot position"))?;
                let lsn: Option<String> = row.get(0);
                let consistent = lsn
                    .as_deref()
                    .and_then(super::replication::parse_lsn)
                    .unwrap_or(0);
                tracing::warn!(slot = %config.slot_name, "the replication slot already existed, so no snapshot can be exported at its position: tables with a key are read in watermark windows while streaming from the slot, tables without one before streaming (their rows changed meanwhile may be emitted twice)");
                Ok(Some((SnapshotState::default(), consistent, None)))
            }
        },
    }
}

/// The transaction id snapshot records report as `source.txId`.
async fn snapshot_xid(
    sql: &tokio_postgres::Client,
    exported: Option<&str>,
) -> Result<Option<u32>, ConnectorError> {
    let begin = match exported {
        Some(name) => format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            name.replace('\'', "''")
        ),
        None => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string(),
    };
    sql.batch_execute(&begin)
        .await
        .map_err(sql_err("opening the snapshot"))?;
    let row = sql
        .query_one("SELECT txid_snapshot_xmin(txid_current_snapshot())", &[])
        .await
        .map_err(sql_err("reading the snapshot's transaction id"))?;
    sql.batch_execute("COMMIT")
        .await
        .map_err(sql_err("closing the snapshot"))?;
    let xmin: i64 = row.get(0);
    Ok(u32::try_from(xmin & 0xffff_ffff).ok())
}

fn proto_version(server_version_num: Option<u32>) -> u32 {
    match server_version_num.unwrap_or(0) {
        v if v >= 160000 => 4,
        v if v >= 150000 => 3,
        v if v >= 140000 => 2,
        _ => 1,
    }
}

struct StreamState {
    stream: ReplicationStream,
    slot: String,
    /// Highest WAL position received from the server.
    received: u64,
    /// The flush LSN last reported.
    flushed: u64,
}

impl StreamState {
    async fn status(&mut self, flush: u64, reply: bool) -> Result<(), ConnectorError> {
        self.flushed = self.flushed.max(flush);
        let write = self.received.max(self.flushed);
        let flushed = self.flushed;
        self.stream
            .send_standby_status(write, flushed, flushed, reply)
            .await
            .map_err(|source| ConnectorError::Stream {
                slot: self.slot.clone(),
                lsn: format_lsn(self.received),
                source: Box::new(source),
            })
    }
}

async fn stream_once<S: Sink>(
    config: &Arc<PostgresConnectorConfig>,
    pipeline: &mut Pipeline<S, PgPosition>,
    settings: &TaskSettings,
    shutdown: &CancellationToken,
    resume: Option<PgPosition>,
    first_attempt: bool,
) -> Result<(), ConnectorError> {
    let params = connect_params(config);
    let connect_err = |source| ConnectorError::Connect {
        addr: params.addr(),
        db: params.dbname.clone(),
        user: params.user.clone(),
        source: Box::new(source),
    };
    let sql = connect_sql(&params).await.map_err(connect_err)?;
    check_prerequisites(&sql, config).await?;
    ensure_publication(&sql, config).await?;
    let mut repl = ReplicationConnection::connect(&params)
        .await
        .map_err(connect_err)?;
    let slot_exists = sql
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&config.slot_name],
        )
        .await
        .map_err(sql_err(format!(
            "looking up replication slot {}",
            config.slot_name
        )))?
        .is_some();
    let need = snapshot_need(config, resume.as_ref(), first_attempt, slot_exists)?;
    let created = ensure_slot(&sql, &mut repl, config, matches!(need, SnapshotNeed::Fresh)).await?;
    let mut source = EventSource::new(config.clone(), resume.clone());
    let mut resume = resume;
    if let Some((state, consistent, exported)) =
        prepare_snapshot(&sql, config, need, resume.as_ref(), created).await?
    {
        let snapshot_position = |state: Option<Arc<SnapshotState>>| PgPosition {
            lsn: consistent,
            lsn_proc: consistent,
            lsn_commit: consistent,
            tx_id: None,
            ts_usec: 0,
            snapshot: state,
            incremental: None,
        };
        // Without an exported snapshot (an interrupted snapshot's is gone; a slot that
        // already existed has none) the keyed tables are read in watermark windows while
        // streaming from the consistent point, unless nothing streams.
        let windowed_resume = exported.is_none()
            && !matches!(
                config.snapshot_mode,
                sluice_config::SnapshotMode::InitialOnly
            );
        let plans = snapshot::plan(&sql, config, &mut source, &state).await?;
        let state = if state.tables.is_empty() {
            SnapshotState::new(plans.iter().map(|p| p.name.clone()).collect())
        } else {
            state
        };
        // Tables read now (all of them, unless a windowed resume) and the pending tables
        // left to the windows.
        let plans: Vec<_> = plans
            .into_iter()
            .filter(|p| !(windowed_resume && p.keyed()))
            .collect();
        let windowed: Vec<String> = state
            .pending()
            .map(|(t, _)| t.to_string())
            .filter(|t| windowed_resume && !plans.iter().any(|p| p.name == *t))
            .collect();
        // Their start keys, before the run below takes the state.
        let finish = (!windowed.is_empty()).then(|| {
            let id = format!("initial-{}", format_lsn(consistent));
            IncrementalState::resume_initial(&id, &state, &windowed)
        });
        // Record that a snapshot is under way (and where streaming will start) before reading,
        // so that a crash from here on resumes it instead of starting over.
        pipeline.set_position(snapshot_position(Some(Arc::new(state.clone()))));
        pipeline.drain().await?;
        pipeline.commit().await?;
        let xid = snapshot_xid(&sql, exported.as_deref()).await?;
        let mapper = source.snapshot_mapper(consistent, xid, crate::envelope::Clock::now().us());
        let completed = plans.is_empty()
            || snapshot::run(
                config,
                &params,
                exported,
                plans,
                state,
                mapper,
                pipeline,
                settings.offset_flush_interval,
                shutdown,
            )
            .await?;
        if !completed {
            pipeline.drain().await?;
            pipeline.commit().await?;
            return Ok(());
        }
        let mut done = snapshot_position(None);
        if let Some(finish) = finish {
            tracing::info!(tables = ?windowed, consistent_point = %format_lsn(consistent), "no exported snapshot: these tables are read in watermark windows while streaming from the consistent point");
            let running = resume.as_ref().and_then(|p| p.incremental.as_deref());
            done.incremental = Some(Arc::new(IncrementalState::after(running, finish)));
            // Committed before streaming: from here on a restart goes on with the windows.
            pipeline.set_position(done.clone());
            pipeline.drain().await?;
            pipeline.commit().await?;
        }
        pipeline.set_position(done.clone());
        if matches!(
            config.snapshot_mode,
            sluice_config::SnapshotMode::InitialOnly
        ) {
            pipeline.drain().await?;
            pipeline.commit().await?;
            tracing::info!("snapshot.mode=initial_only: snapshot complete, not streaming");
            return Ok(());
        }
        source = EventSource::new(config.clone(), Some(done.clone()));
        resume = Some(done);
    }
    let proto = proto_version(repl.server_version_num());
    let mut options = vec![
        ("proto_version".to_string(), proto.to_string()),
        (
            "publication_names".to_string(),
            publication_names_option(&[config.publication_name.as_str()]),
        ),
    ];
    if repl.server_version_num().unwrap_or(0) >= 140000 {
        options.push(("messages".to_string(), "true".to_string()));
    }
    options.extend(config.slot_stream_params.iter().cloned());
    let start_lsn = resume.as_ref().map_or(0, |p| p.lsn);
    let stream = repl
        .start_logical_replication(&config.slot_name, start_lsn, &options)
        .await
        .map_err(|source| match source.sqlstate() {
            Some("55006") => ConnectorError::SlotInUse {
                slot: config.slot_name.clone(),
                pid: 0,
            },
            _ => ConnectorError::Stream {
                slot: config.slot_name.clone(),
                lsn: format_lsn(start_lsn),
                source: Box::new(source),
            },
        })?;
    tracing::info!(slot = %config.slot_name, proto_version = proto, start = %format_lsn(start_lsn), "streaming started");
    let mut state = StreamState {
        stream,
        slot: config.slot_name.clone(),
        received: start_lsn,
        flushed: pipeline.committed_position().map_or(start_lsn, |p| p.lsn),
    };
    let mut decoder = Decoder::new(proto);
    let mut incremental = Incremental::resume(
        resume
            .as_ref()
            .and_then(|p| p.incremental.as_deref().cloned()),
    );
    let mut records: Vec<Record> = Vec::with_capacity(16);
    let mut commit_timer = tokio::time::interval(settings.offset_flush_interval);
    commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status_timer = tokio::time::interval(Duration::from_millis(
        config.status_update_interval_ms.max(100),
    ));
    status_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let heartbeat = (config.heartbeat_interval_ms > 0)
        .then(|| HeartbeatTopic::new(&config.heartbeat_topic(), &config.topic_prefix));
    let mut heartbeat_timer =
        tokio::time::interval(Duration::from_millis(config.heartbeat_interval_ms.max(1)));
    heartbeat_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = pipeline.batch_deadline();
        tokio::select! {
            biased;
            // 1. Shutdown: deliver what was handed over, commit it, tell the server, close.
            _ = shutdown.cancelled() => {
                pipeline.drain().await?;
                if let Some(p) = pipeline.commit().await? {
                    state.status(p.lsn, false).await?;
                }
                let _ = tokio::time::timeout(Duration::from_secs(5), state.stream.close()).await;
                return Ok(());
            }
            // 2. Timers: close a lingering batch, commit offsets (before the acknowledgements,
            //    which a busy stream keeps ready all the time), keep the server informed.
            _ = sleep_until(deadline), if deadline.is_some() => pipeline.flush_batch().await?,
            _ = commit_timer.tick() => {
                if let Some(p) = pipeline.commit().await? {
                    state.status(p.lsn, false).await?;
                }
            }
            // 3. Acknowledgements drain before new input.
            ack = pipeline.next_ack(), if pipeline.has_in_flight() => ack?,
            _ = heartbeat_timer.tick(), if heartbeat.is_some() => {
                if let Some(query) = &config.heartbeat_action_query {
                    sql.batch_execute(query).await.map_err(sql_err(format!(
                        "heartbeat.action.query failed ({query}); fix the statement or the user's rights"
                    )))?;
                }
                if let Some(h) = &heartbeat {
                    pipeline.push(h.record(Clock::now())).await?;
                    if source.is_idle() {
                        pipeline.set_position(incremental.attach(source.position()));
                    }
                }
            }
            _ = status_timer.tick() => {
                let flush = pipeline.committed_position().map_or(state.flushed, |p| p.lsn);
                state.status(flush, false).await?;
            }
            // An incremental snapshot chunk, read between two watermarks, when none is in flight.
            _ = std::future::ready(()), if incremental.wants_chunk() && pipeline.can_accept() => {
                let mapper = source.snapshot_mapper(state.received, None, Clock::now().us());
                // The windows that finish an interrupted initial snapshot read snapshot.fetch.size
                // rows (when larger than an incremental chunk).
                let chunk_size = if incremental.reading_initial() {
                    config.incremental_snapshot_chunk_size.max(config.snapshot_fetch_size)
                } else {
                    config.incremental_snapshot_chunk_size
                };
                if incremental
                    .read_chunk(&sql, &mut source, &mapper, chunk_size)
                    .await?
                {
                    pipeline.set_position(incremental.attach(source.position()));
                }
            }
            // 4. New input, only while the pipeline has room. Messages that are already
            //    buffered are handled in a burst, so timers and acks are looked at once per
            //    burst rather than once per message.
            message = state.stream.next_message(), if pipeline.can_accept() => {
                let mut next = Some(message);
                let mut budget = INPUT_BURST;
                while let Some(message) = next.take() {
                    handle_message(config, message, &mut state, &mut decoder, &mut source, &sql, &mut records, pipeline, &mut incremental).await?;
                    budget -= 1;
                    if budget > 0 && pipeline.can_accept() {
                        // `next_message` is cancel-safe: a pending poll loses nothing.
                        next = state.stream.next_message().now_or_never();
                    }
                }
            }
        }
    }
}

/// Messages handled in one turn of the streaming loop before timers and acks are polled.
const INPUT_BURST: usize = 256;

/// Handle one message from the replication stream.
#[allow(clippy::too_many_arguments)]
async fn handle_message<S: Sink>(
    config: &PostgresConnectorConfig,
    message: Result<Option<ReplicationMessage>, ReplicationError>,
    state: &mut StreamState,
    decoder: &mut Decoder,
    source: &mut EventSource,
    sql: &tokio_postgres::Client,
    records: &mut Vec<Record>,
    pipeline: &mut Pipeline<S, PgPosition>,
    incremental: &mut Incremental,
) -> Result<(), ConnectorError> {
    let message = message.map_err(|source| ConnectorError::Stream {
        slot: config.slot_name.clone(),
        lsn: format_lsn(state.received),
        source: Box::new(source),
    })?;
    match message {
        None => Err(ConnectorError::Stream {
            slot: config.slot_name.clone(),
            lsn: format_lsn(state.received),
            source: Box::new(ReplicationError::Closed),
        }),
        Some(ReplicationMessage::Keepalive {
            wal_end,
            reply_requested,
            ..
        }) => {
            state.received = state.received.max(wal_end);
            if source.is_idle() && !pipeline.has_in_flight() {
                // Everything sent before wal_end has been handled: let the slot move on even
                // when nothing is captured (no WAL piles up on the server).
                if let Some(p) = source.advance_idle(wal_end) {
                    pipeline.set_position(incremental.attach(p));
                }
            }
            let flush = pipeline
                .committed_position()
                .map_or(state.flushed, |p| p.lsn);
            pipeline
                .metrics()
                .set_slot_lag_bytes(wal_end.saturating_sub(flush));
            if reply_requested {
                state.status(flush, false).await?;
            }
            Ok(())
        }
        Some(ReplicationMessage::XLogData {
            wal_start,
            wal_end,
            data,
            ..
        }) => {
            state.received = state.received.max(wal_end);
            let message = decoder.decode(data).map_err(|source| EventError::Decode {
                lsn: format_lsn(wal_start),
                source,
            })?;
            if let Message::Message(m) = &message {
                if m.prefix == WATERMARK_PREFIX {
                    // An incremental snapshot's watermark: it opens or closes a chunk's window.
                    if let Some(rows) = incremental.on_watermark(&m.content) {
                        for row in rows {
                            pipeline.push(row).await?;
                        }
                        pipeline.set_position(incremental.attach(source.position()));
                    }
                    return Ok(());
                }
            }
            if let Emitted::Records(position) =
                source.handle(message, wal_start, sql, records).await?
            {
                for record in records.drain(..) {
                    incremental.observe(&record);
                    pipeline.push(record).await?;
                }
                if let Some(p) = position {
                    pipeline.set_position(incremental.attach(p));
                }
            }
            for signal in source.take_signals() {
                let captured = |t: &str| {
                    t.split_once('.')
                        .is_some_and(|(s, t)| config.filters().include_table(s, t))
                };
                if incremental.on_signal(&signal, captured) {
                    pipeline.set_position(incremental.attach(source.position()));
                }
                if let Some((tables, conditions)) = blocking_request(&signal, captured) {
                    tracing::info!(signal = %signal.id, tables = ?tables, "blocking snapshot: streaming waits until it is done");
                    let mapper = source.snapshot_mapper(state.received, None, Clock::now().us());
                    let rows = blocking_snapshot(
                        sql,
                        source,
                        &mapper,
                        &tables,
                        &conditions,
                        config.incremental_snapshot_chunk_size,
                        pipeline,
                    )
                    .await?;
                    tracing::info!(signal = %signal.id, rows, "blocking snapshot done; streaming resumes");
                }
            }
            if pipeline.batch_full() {
                pipeline.flush_batch().await?;
            }
            Ok(())
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
