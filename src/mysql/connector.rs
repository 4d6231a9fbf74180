//! The MySQL / MariaDB connector task: prerequisites, schema, snapshot, and the binlog loop.
//!
//! ```text
//!             ┌──────────────── select! (biased) ─────────────────┐
//! shutdown ──>│ 1. stop: drain, commit, close                       │
//! deliveries >│ 2. ack → AckTracker (pipeline)                      │
//! timers ────>│ 3. close batch / commit offsets / heartbeat record  │
//! binlog ────>│ 4. event → EventSource → records + positions        │ (only while the pipeline
//!             └─────────────────────────────────────────────────────┘  accepts: backpressure)
//! ```
//! The binlog position is committed only from acknowledged records; a restart opens the
//! stream after the committed GTIDs (or at the committed file:pos) and skips the rows of
//! the transaction in progress that were already delivered. Transient failures (connection
//! lost, server restarting) are retried with backoff from the last position handed to the
//! sink; everything else stops the task with a message that says what to fix.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use mysql_async::binlog::events::{Event, EventData};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Opts, OptsBuilder, SslOpts};
use sluice_config::mysql::{Flavor as ConfigFlavor, MySqlSnapshotLockingMode, MySqlSnapshotMode};
use sluice_config::MySqlConnectorConfig;
use sluice_decoders::binlog::mariadb::{GtidPosition, MariaDbEvent};
use sluice_decoders::binlog::mysql::{GtidSet, Uuid};
use sluice_sinks::Sink;
use sluice_snapshot::incremental::IncrementalState;
use sluice_snapshot::marker::Marker;
use sluice_snapshot::state::SnapshotState;
use tokio_util::sync::CancellationToken;

use super::catalog::{self, quote_ident};
use super::handshake::{self, Flavor, MariaDbDump, MariaDbStart};
use super::history::{FileSchemaHistory, GtidOrder, HistoryError};
use super::incremental::Incremental;
use super::mapping;
use super::position::MySqlPosition;
use super::schema::Schema;
use super::schema::TableChange;
use super::source::{CapturedTable, EventAt, EventError, EventSource, Gtids, SourceFields};
use crate::connect::{Record, Value};
use crate::envelope::{ChangeEvent, Clock, HeartbeatTopic, Op};
use crate::herder::{PreparedTask, TaskParts};
use crate::pipeline::{Pipeline, PipelineError, PipelineLimits};
use crate::postgres::connector::{error_chain, ErrorClass, TaskSettings};

/// Binlog event type codes used here (`mysql_common` has them as an enum we also match).
const HEARTBEAT_EVENT: u8 = 27;
const ROTATE_EVENT: u8 = 4;
/// How often the server sends a heartbeat while it has nothing for us, when
/// `heartbeat.interval.ms` does not ask for more often: lets a dead connection be noticed.
const SERVER_HEARTBEAT: Duration = Duration::from_secs(10);
/// Events handled in one turn of the loop before timers and acks are looked at.
const INPUT_BURST: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("cannot connect to {flavor} at {addr} as user {user}{}", connect_fix(.source))]
    Connect {
        flavor: &'static str,
        addr: String,
        user: String,
        #[source]
        source: Box<mysql_async::Error>,
    },
    #[error("{0}")]
    Prerequisite(String),
    #[error("{what}")]
    Sql {
        what: String,
        #[source]
        source: Box<mysql_async::Error>,
    },
    #[error(transparent)]
    Handshake(Box<handshake::HandshakeError>),
    #[error("reading the binlog failed at {position}{}", stream_fix(.source))]
    Stream {
        position: String,
        #[source]
        source: Box<mysql_async::Error>,
    },
    #[error("the binlog stream ended at {position}: the server closed the connection")]
    Closed { position: String },
    #[error("cannot parse the binlog event of type {event_type} at {position}: {reason}")]
    Decode {
        event_type: u8,
        position: String,
        reason: String,
    },
    #[error("stored offset has gtids \"{gtids}\" that cannot be parsed: fix or delete the connector's offset")]
    BadOffset { gtids: String },
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("snapshot of table {table} failed: {reason}")]
    SnapshotRow { table: String, reason: String },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl From<handshake::HandshakeError> for ConnectorError {
    fn from(e: handshake::HandshakeError) -> Self {
        ConnectorError::Handshake(Box::new(e))
    }
}

fn connect_fix(source: &mysql_async::Error) -> &'static str {
    if let mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) = source
    {
        return ": the server does not offer TLS; enable it on the server (ssl_cert/ssl_key) or set database.ssl.mode=preferred or disabled";
    }
    let tls_failed = match source {
        mysql_async::Error::Io(mysql_async::IoError::Tls(_)) => true,
        // rustls reports a rejected certificate as an I/O error around its own.
        mysql_async::Error::Io(mysql_async::IoError::Io(e)) => e
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    };
    if tls_failed {
        return ": the TLS handshake failed; check database.ssl.mode and that database.ssl.truststore (PEM) holds the CA of the server's certificate";
    }
    match server_code(source) {
        Some(1045) => ": access denied; check database.user and database.password",
        Some(1044) => ": the user may not access this database; grant it the privileges",
        Some(1130) => {
            ": the server does not accept this user from this host; create the user for this host"
        }
        _ => "",
    }
}

fn stream_fix(source: &mysql_async::Error) -> &'static str {
    const SAME_ID: &str = ": another replica or connector of this server already streams with this server id; give each connector its own database.server.id";
    // MariaDB: ER_SLAVE_SAME_ID; MySQL: 1236 with a message naming the server id.
    let same_id = match source {
        mysql_async::Error::Server(e) => {
            e.code == 4052 || e.message.contains("same server_uuid/server_id")
        }
        _ => false,
    };
    if same_id {
        return SAME_ID;
    }
    match server_code(source) {
        Some(1236) => ": the server no longer has this binlog position (purged, or a GTID it never had); set snapshot.mode=when_needed to take a new snapshot, or delete the connector's offset",
        Some(1227) | Some(1045) | Some(1142) => ": the user needs the REPLICATION SLAVE privilege (GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ...)",
        _ => "",
    }
}

fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

fn mysql_class(e: &mysql_async::Error) -> ErrorClass {
    match e {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => ErrorClass::Transient,
        mysql_async::Error::Server(s) => match s.code {
            // Access denied, unknown database, no privilege, purged binlog.
            1044 | 1045 | 1049 | 1130 | 1142 | 1227 | 1236 => ErrorClass::Config,
            // Lock wait timeout, deadlock, too many connections, shutdown in progress.
            1205 | 1213 | 1040 | 1053 | 2013 | 2006 => ErrorClass::Transient,
            _ => ErrorClass::Config,
        },
        mysql_async::Error::Url(_) | mysql_async::Error::Other(_) => ErrorClass::Config,
    }
}

impl ConnectorError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Connect { source, .. }
            | ConnectorError::Sql { source, .. }
            | ConnectorError::Stream { source, .. } => mysql_class(source),
            ConnectorError::Handshake(h) => match h.as_ref() {
                handshake::HandshakeError::Statement { source, .. }
                | handshake::HandshakeError::Dump { source, .. } => mysql_class(source),
            },
            ConnectorError::Closed { .. } => ErrorClass::Transient,
            ConnectorError::Prerequisite(_)
            | ConnectorError::BadOffset { .. }
            | ConnectorError::History(_) => ErrorClass::Config,
            ConnectorError::Decode { .. }
            | ConnectorError::Event(_)
            | ConnectorError::SnapshotRow { .. } => ErrorClass::Definite,
            ConnectorError::Pipeline(PipelineError::Sink(_)) => ErrorClass::Transient,
            ConnectorError::Pipeline(PipelineError::Convert { source, .. }) => match source.class()
            {
                crate::converter::ConvertErrorClass::Transient => ErrorClass::Transient,
                crate::converter::ConvertErrorClass::Definite => ErrorClass::Definite,
                crate::converter::ConvertErrorClass::Config => ErrorClass::Config,
            },
            ConnectorError::Pipeline(PipelineError::Transform(_)) => ErrorClass::Definite,
            ConnectorError::Pipeline(PipelineError::Offsets(_)) => ErrorClass::Config,
            ConnectorError::Pipeline(PipelineError::DeadLetter { .. }) => ErrorClass::Definite,
            ConnectorError::Pipeline(PipelineError::RejectedInTransaction(_)) => ErrorClass::Config,
        }
    }
}

/// The task of a MySQL / MariaDB connector: one pipeline under the source partition
/// `{"server": <topic.prefix>}`, as Debezium's.
pub fn prepare(config: MySqlConnectorConfig, parts: TaskParts) -> PreparedTask {
    let limits = PipelineLimits {
        max_batch_records: config.max_batch_size.max(1) as usize,
        max_in_flight: (config.max_queue_size / config.max_batch_size.max(1)).clamp(2, 64) as usize,
        ..PipelineLimits::default()
    };
    let partition = serde_json::json!({"server": config.topic_prefix});
    let (mut pipeline, settings) = parts.pipeline::<MySqlPosition>(partition.clone(), limits);
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
    config: Arc<MySqlConnectorConfig>,
    pipeline: &mut Pipeline<S, MySqlPosition>,
    settings: &TaskSettings,
    shutdown: &CancellationToken,
) -> Result<(), ConnectorError> {
    let stored = pipeline
        .load_offset()?
        .as_ref()
        .and_then(MySqlPosition::from_offset);
    if let Some(p) = &stored {
        tracing::info!(position = %crate::pipeline::Position::describe(p), event = p.event, row = p.row, "resuming from stored offset");
    }
    let mut failures: u32 = 0;
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
        let _ = tokio::time::timeout(Duration::from_secs(10), pipeline.drain()).await;
        let _ = pipeline.commit().await;
        let class = err.class();
        if !matches!(class, ErrorClass::Transient) {
            return Err(err);
        }
        if pipeline.last_position() != resume.as_ref() {
            failures = 0;
        }
        failures += 1;
        let max = config.errors_max_retries;
        if max >= 0 && failures > max as u32 {
            return Err(err);
        }
        let cap = config.retriable_restart_connector_wait_ms.max(100);
        let delay = Duration::from_millis(250u64.saturating_mul(1 << failures.min(10)).min(cap));
        tracing::warn!(error = %error_chain(&err), retry_in_ms = delay.as_millis() as u64, "connector failed; retrying");
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

fn flavor_name(config: &MySqlConnectorConfig) -> &'static str {
    match config.flavor {
        ConfigFlavor::MySql => "mysql",
        ConfigFlavor::MariaDb => "mariadb",
    }
}

/// Connection settings for a connection of the connector (no database selected).
pub fn opts(config: &MySqlConnectorConfig) -> Opts {
    opts_with_tls(config, ssl_opts(config))
}

/// TLS per `database.ssl.mode`, as Debezium's MySQL connector reads it:
///
/// | mode | TLS | chain checked | host name checked |
/// |---|---|---|---|
/// | `disabled` | no | | |
/// | `preferred` | if the server offers it | no | no |
/// | `required` | yes | no | no |
/// | `verify_ca` | yes | yes | no |
/// | `verify_identity` | yes | yes | yes |
///
/// The chain is checked against `database.ssl.truststore` (PEM) when set, else against the
/// built-in web PKI roots.
fn ssl_opts(config: &MySqlConnectorConfig) -> Option<SslOpts> {
    use sluice_config::mysql::MySqlSslMode as M;
    let trusted = || {
        let opts = SslOpts::default();
        match &config.database_ssl_truststore {
            Some(path) => opts
                .with_root_certs(vec![path.clone().into()])
                .with_disable_built_in_roots(true),
            None => opts,
        }
    };
    match config.database_ssl_mode {
        M::Disabled => None,
        M::Preferred | M::Required => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        M::VerifyCa => Some(trusted().with_danger_skip_domain_validation(true)),
        M::VerifyIdentity => Some(trusted()),
    }
}

fn opts_with_tls(config: &MySqlConnectorConfig, ssl: Option<SslOpts>) -> Opts {
    OptsBuilder::default()
        .ssl_opts(ssl)
        .ip_or_hostname(config.database_hostname.clone())
        .tcp_port(config.database_port)
        .user(Some(config.database_user.clone()))
        .pass(
            config
                .database_password
                .as_ref()
                .map(|p| p.expose().to_owned()),
        )
        .prefer_socket(false)
        .init(vec!["SET time_zone = '+00:00'".to_owned()])
        .into()
}

async fn connect(config: &MySqlConnectorConfig) -> Result<Conn, ConnectorError> {
    let timeout = Duration::from_millis(config.connect_timeout_ms);
    let addr = format!("{}:{}", config.database_hostname, config.database_port);
    let err = |source: mysql_async::Error| ConnectorError::Connect {
        flavor: flavor_name(config),
        addr: addr.clone(),
        user: config.database_user.clone(),
        source: Box::new(source),
    };
    let attempt = tokio::time::timeout(timeout, Conn::new(opts(config))).await;
    // `preferred`: a server without TLS is connected to in the clear.
    let attempt = match attempt {
        Ok(Err(mysql_async::Error::Driver(
            mysql_async::DriverError::NoClientSslFlagFromServer,
        ))) if config.database_ssl_mode == sluice_config::mysql::MySqlSslMode::Preferred => {
            tracing::info!(addr = %addr, "the server offers no TLS; connecting without it (database.ssl.mode=preferred)");
            tokio::time::timeout(timeout, Conn::new(opts_with_tls(config, None))).await
        }
        other => other,
    };
    match attempt {
        Ok(result) => result.map_err(err),
        Err(_) => Err(err(mysql_async::Error::Io(mysql_async::IoError::Io(
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out (connect.timeout.ms)",
            ),
        )))),
    }
}

fn sql_err(what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> ConnectorError {
    let what = what.into();
    move |source| ConnectorError::Sql {
        what,
        source: Box::new(source),
    }
}

/// What the server is and how its binlog is set up.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub flavor: Flavor,
    pub version: String,
    pub checksum: bool,
    pub gtid_mode: bool,
}

/// Check what the connector needs from the server, with the fix in each message.
pub async fn check_prerequisites(
    conn: &mut Conn,
    config: &MySqlConnectorConfig,
) -> Result<ServerInfo, ConnectorError> {
    let (flavor, version) = handshake::detect_flavor(conn).await?;
    let addr = format!("{}:{}", config.database_hostname, config.database_port);
    type Settings = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let settings: Option<Settings> = conn
        .query_first(
            "SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image, @@global.binlog_checksum",
        )
        .await
        .map_err(sql_err("reading the binlog settings (log_bin, binlog_format, binlog_row_image)"))?;
    let (log_bin, format, image, checksum) = settings.unwrap_or_default();
    let log_bin = log_bin.unwrap_or_default();
    if !(log_bin == "1" || log_bin.eq_ignore_ascii_case("ON")) {
        return Err(ConnectorError::Prerequisite(format!(
            "the binary log is off on {addr} (log_bin=OFF): start the server with --log-bin (and binlog_format=ROW, binlog_row_image=FULL)"
        )));
    }
    let format = format.unwrap_or_default();
    if !format.eq_ignore_ascii_case("ROW") {
        return Err(ConnectorError::Prerequisite(format!(
            "binlog_format is {format} on {addr}: change capture needs row events; run SET GLOBAL binlog_format = 'ROW' (and put binlog_format=ROW in the server's config)"
        )));
    }
    let image = image.unwrap_or_default();
    if !image.eq_ignore_ascii_case("FULL") {
        return Err(ConnectorError::Prerequisite(format!(
            "binlog_row_image is {image} on {addr}: change events need complete row images; run SET GLOBAL binlog_row_image = 'FULL' (and put binlog_row_image=FULL in the server's config)"
        )));
    }
    let checksum = !checksum.unwrap_or_default().eq_ignore_ascii_case("NONE");
    // REPLICATION CLIENT (BINLOG MONITOR on MariaDB): needed to read the binlog position.
    if let Err(source) = conn.query_drop(master_status_sql(flavor, &version)).await {
        return match server_code(&source) {
            Some(1227) | Some(1045) | Some(1142) => Err(ConnectorError::Prerequisite(format!(
                "user {} may not read the binlog position on {addr}: run GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user (MariaDB also accepts BINLOG MONITOR, REPLICATION SLAVE)",
                config.database_user
            ))),
            _ => Err(ConnectorError::Sql {
                what: "reading the binlog position".into(),
                source: Box::new(source),
            }),
        };
    }
    let grants: Vec<String> = conn
        .query("SHOW GRANTS FOR CURRENT_USER()")
        .await
        .map_err(sql_err("reading the user's grants"))?;
    let upper: Vec<String> = grants.iter().map(|g| g.to_ascii_uppercase()).collect();
    let may_replicate = upper.iter().any(|g| {
        g.contains("ALL PRIVILEGES ON *.*")
            || g.contains("REPLICATION SLAVE")
            || g.contains("REPLICATION REPLICA")
    });
    if !may_replicate {
        return Err(ConnectorError::Prerequisite(format!(
            "user {} lacks the REPLICATION SLAVE privilege on {addr}: run GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user",
            config.database_user
        )));
    }
    let gtid_mode = match flavor {
        Flavor::MariaDb => true,
        Flavor::MySql => {
            let mode: Option<String> = conn
                .query_first("SELECT @@global.gtid_mode")
                .await
                .map_err(sql_err("reading gtid_mode"))?;
            mode.is_some_and(|m| m.eq_ignore_ascii_case("ON"))
        }
    };
    Ok(ServerInfo {
        flavor,
        version,
        checksum,
        gtid_mode,
    })
}

/// `SHOW MASTER STATUS`, or `SHOW BINARY LOG STATUS` on MySQL 8.4 and later.
fn master_status_sql(flavor: Flavor, version: &str) -> &'static str {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if flavor == Flavor::MySql && (major, minor) >= (8, 4) {
        "SHOW BINARY LOG STATUS"
    } else {
        "SHOW MASTER STATUS"
    }
}

/// The server's current binlog end and GTIDs.
async fn current_position(
    conn: &mut Conn,
    info: &ServerInfo,
) -> Result<MySqlPosition, ConnectorError> {
    let row: Option<mysql_async::Row> = conn
        .query_first(master_status_sql(info.flavor, &info.version))
        .await
        .map_err(sql_err("reading the binlog position"))?;
    let row = row.ok_or_else(|| {
        ConnectorError::Prerequisite("SHOW MASTER STATUS returned nothing: is log_bin on?".into())
    })?;
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or(4);
    let gtids = match info.flavor {
        Flavor::MariaDb => {
            let g: Option<String> = conn
                .query_first("SELECT @@global.gtid_binlog_pos")
                .await
                .map_err(sql_err("reading gtid_binlog_pos"))?;
            Some(g.unwrap_or_default())
        }
        Flavor::MySql if info.gtid_mode => {
            let set: Option<String> = row.get(4);
            Some(set.unwrap_or_default().replace(['\n', ' '], ""))
        }
        Flavor::MySql => None,
    };
    let server_id: Option<u32> = conn
        .query_first("SELECT @@server_id")
        .await
        .map_err(sql_err("reading server_id"))?;
    Ok(MySqlPosition {
        file,
        pos,
        event: 0,
        row: 0,
        gtids,
        ts_sec: 0,
        server_id: server_id.unwrap_or(0),
        snapshot: None,
        incremental: None,
    })
}

fn gtids_of(position: &MySqlPosition, flavor: Flavor) -> Result<Option<Gtids>, ConnectorError> {
    let Some(text) = &position.gtids else {
        return Ok(None);
    };
    let bad = || ConnectorError::BadOffset {
        gtids: text.clone(),
    };
    Ok(Some(match flavor {
        Flavor::MariaDb => Gtids::MariaDb(if text.trim().is_empty() {
            GtidPosition::new()
        } else {
            GtidPosition::parse(text).map_err(|_| bad())?
        }),
        Flavor::MySql => Gtids::MySql(if text.trim().is_empty() {
            GtidSet::new()
        } else {
            GtidSet::parse(text).map_err(|_| bad())?
        }),
    }))
}

/// Read the definitions of `tables` into `schema` (`SHOW CREATE TABLE`, as Debezium does).
async fn load_schema(
    conn: &mut Conn,
    schema: &mut Schema,
    tables: &[(String, String)],
) -> Result<Vec<SchemaStatement>, ConnectorError> {
    let mut statements = Vec::with_capacity(tables.len());
    for (db, table) in tables {
        statements.extend(load_table(conn, schema, db, table).await?);
    }
    Ok(statements)
}

/// Key column values of a snapshot row as text (resumable snapshot state).
type KeyText = Option<Vec<Option<String>>>;

/// A `SHOW CREATE TABLE` applied to the schema: (database, ddl, what it changed).
type SchemaStatement = (String, String, Vec<TableChange>);

async fn load_table(
    conn: &mut Conn,
    schema: &mut Schema,
    db: &str,
    table: &str,
) -> Result<Option<SchemaStatement>, ConnectorError> {
    let ddl = catalog::show_create_table(conn, db, table)
        .await
        .map_err(sql_err(format!("SHOW CREATE TABLE {db}.{table}")))?;
    match schema.apply(db, &ddl) {
        Ok(changes) => return Ok(Some((db.to_owned(), ddl, changes))),
        Err(e) => {
            tracing::warn!(table = %format!("{db}.{table}"), error = %e, "cannot parse SHOW CREATE TABLE; reading the table from information_schema");
        }
    }
    if schema.table(db, table).is_none() {
        if let Some(def) = catalog::load_table_def(conn, db, table)
            .await
            .map_err(sql_err(format!("reading the columns of {db}.{table}")))?
        {
            let def = schema.insert_table(def);
            return Ok(Some((db.to_owned(), ddl, vec![TableChange::Create(def)])));
        }
    }
    Ok(None)
}

/// Record the schema read from the server at `position` in the history.
fn record_schema(
    history: Option<&mut FileSchemaHistory>,
    config: &MySqlConnectorConfig,
    position: &MySqlPosition,
    statements: &[SchemaStatement],
) -> Result<(), ConnectorError> {
    let Some(history) = history else {
        return Ok(());
    };
    for (db, ddl, changes) in statements {
        history.record(&super::history::HistoryRecord {
            server: config.topic_prefix.clone(),
            position: crate::pipeline::Position::to_offset(&MySqlPosition {
                snapshot: None,
                ..position.clone()
            }),
            ts_ms: Clock::now().ms(),
            database_name: db.clone(),
            ddl: ddl.clone(),
            table_changes: changes.clone(),
        })?;
    }
    Ok(())
}

/// Whether to snapshot now.
fn wants_snapshot(
    config: &MySqlConnectorConfig,
    resume: Option<&MySqlPosition>,
    first_attempt: bool,
) -> bool {
    let in_progress = resume.is_some_and(|p| p.snapshot.is_some());
    match config.snapshot_mode {
        MySqlSnapshotMode::Always => first_attempt || in_progress,
        MySqlSnapshotMode::Initial
        | MySqlSnapshotMode::InitialOnly
        | MySqlSnapshotMode::WhenNeeded => resume.is_none() || in_progress,
        MySqlSnapshotMode::NoData | MySqlSnapshotMode::Recovery => false,
    }
}

#[allow(clippy::too_many_arguments)]
async fn stream_once<S: Sink>(
    config: &Arc<MySqlConnectorConfig>,
    pipeline: &mut Pipeline<S, MySqlPosition>,
    settings: &TaskSettings,
    shutdown: &CancellationToken,
    resume: Option<MySqlPosition>,
    first_attempt: bool,
) -> Result<(), ConnectorError> {
    let mut conn = connect(config).await?;
    let info = check_prerequisites(&mut conn, config).await?;
    let tables = catalog::captured_tables(&mut conn, config)
        .await
        .map_err(sql_err("listing the captured tables"))?;
    let mut schema = Schema::new();
    let mut resume = resume;
    let history_path = config.schema_history_file.clone();
    if config.snapshot_mode == MySqlSnapshotMode::Recovery && first_attempt {
        // Rebuild the history from the server's current schemas.
        if let Some(path) = &history_path {
            if path.exists() {
                std::fs::write(path, b"").map_err(|source| {
                    ConnectorError::History(HistoryError::Io {
                        path: path.clone(),
                        action: "emptying for snapshot.mode=recovery",
                        source,
                    })
                })?;
            }
        }
    }
    let mut history = match &history_path {
        Some(path) => Some(FileSchemaHistory::open(path)?),
        None => None,
    };
    let mut recovered = false;
    if let (Some(path), Some(p)) = (&history_path, &resume) {
        if p.snapshot.is_none() && FileSchemaHistory::exists(path)? {
            let r = FileSchemaHistory::recover(
                path,
                &crate::pipeline::Position::to_offset(p),
                &GtidOrder,
            )?;
            tracing::info!(
                replayed = r.replayed,
                after_offset = r.after_offset,
                "schema history recovered"
            );
            schema = r.schema;
            recovered = true;
        }
    }
    if config.snapshot_mode == MySqlSnapshotMode::WhenNeeded {
        if let Some(p) = &resume {
            if !binlog_still_there(&mut conn, p).await? {
                tracing::warn!(position = %crate::pipeline::Position::describe(p), "the stored binlog position is gone from the server; snapshot.mode=when_needed takes a new snapshot");
                resume = None;
                recovered = false;
                schema = Schema::new();
            }
        }
    }
    let start = if wants_snapshot(config, resume.as_ref(), first_attempt) {
        let Some((start, statements)) = snapshot(
            config,
            &info,
            pipeline,
            settings,
            shutdown,
            &tables,
            resume.as_ref(),
            &mut schema,
        )
        .await?
        else {
            return Ok(());
        };
        record_schema(history.as_mut(), config, &start, &statements)?;
        if config.snapshot_mode == MySqlSnapshotMode::InitialOnly {
            pipeline.drain().await?;
            pipeline.commit().await?;
            tracing::info!("snapshot.mode=initial_only: snapshot complete, not streaming");
            return Ok(());
        }
        start
    } else {
        let start = match resume {
            Some(p) => p,
            None => {
                let p = current_position(&mut conn, &info).await?;
                pipeline.set_position(p.clone());
                p
            }
        };
        if !recovered {
            let statements = load_schema(&mut conn, &mut schema, &tables).await?;
            record_schema(history.as_mut(), config, &start, &statements)?;
        }
        start
    };
    stream(
        config, &info, conn, pipeline, settings, shutdown, start, schema, history,
    )
    .await
}

/// Whether the server still has the binlog a stored position needs.
async fn binlog_still_there(
    conn: &mut Conn,
    position: &MySqlPosition,
) -> Result<bool, ConnectorError> {
    let files: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(sql_err("listing the binary logs (SHOW BINARY LOGS)"))?;
    let names: Vec<String> = files.iter().filter_map(|r| r.get(0)).collect();
    Ok(names.contains(&position.file))
}

/// The initial snapshot: consistent with the binlog position it returns. `None` when
/// shutdown interrupted it.
#[allow(clippy::too_many_arguments)]
async fn snapshot<S: Sink>(
    config: &Arc<MySqlConnectorConfig>,
    info: &ServerInfo,
    pipeline: &mut Pipeline<S, MySqlPosition>,
    settings: &TaskSettings,
    shutdown: &CancellationToken,
    tables: &[(String, String)],
    resume: Option<&MySqlPosition>,
    schema: &mut Schema,
) -> Result<Option<(MySqlPosition, Vec<SchemaStatement>)>, ConnectorError> {
    let mut conn = connect(config).await?;
    // Global read lock only while the position and the schemas are read (minimal).
    let lock = !matches!(config.snapshot_locking_mode, MySqlSnapshotLockingMode::None);
    let mut locked = false;
    if lock {
        match conn.query_drop("FLUSH TABLES WITH READ LOCK").await {
            Ok(()) => locked = true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the global read lock (needs RELOAD); the snapshot runs without it, so DDL during the snapshot is not allowed");
            }
        }
    }
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(sql_err("setting the snapshot isolation level"))?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .map_err(sql_err("starting the consistent snapshot"))?;
    // More readers see the same data when their snapshots start while the lock is held.
    let threads = if locked {
        config.snapshot_max_threads.max(1) as usize
    } else {
        1
    };
    let mut extra_readers = Vec::new();
    for _ in 1..threads.min(tables.len().max(1)) {
        let mut reader = connect(config).await?;
        reader
            .query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(sql_err("setting the snapshot isolation level"))?;
        reader
            .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .map_err(sql_err("starting the consistent snapshot"))?;
        extra_readers.push(reader);
    }
    let here = current_position(&mut conn, info).await?;
    let statements = load_schema(&mut conn, schema, tables).await?;
    if locked && config.snapshot_locking_mode != MySqlSnapshotLockingMode::Extended {
        conn.query_drop("UNLOCK TABLES")
            .await
            .map_err(sql_err("releasing the global read lock"))?;
    }
    // A resumed snapshot keeps its original streaming start: changes since then are
    // streamed, so rows read from this newer snapshot are never older than the stream.
    let (start, mut state) = match resume.and_then(|p| p.snapshot.as_ref().map(|s| (p, s))) {
        Some((p, s)) if !s.tables.is_empty() => (
            MySqlPosition {
                snapshot: None,
                ..p.clone()
            },
            (**s).clone(),
        ),
        _ => (here, SnapshotState::default()),
    };
    let mut order: Vec<String> = tables.iter().map(|(d, t)| format!("{d}.{t}")).collect();
    let filter = &config.filters().table;
    let patterns = filter.patterns().len();
    sluice_snapshot::order::include_list_order(&mut order, patterns, |i, t| {
        filter.include_pattern_matches(i, t)
    });
    if state.tables.is_empty() {
        state = SnapshotState::new(order.clone());
    }
    let snapshot_position = |state: Option<SnapshotState>| MySqlPosition {
        snapshot: state.map(Arc::new),
        ..start.clone()
    };
    pipeline.set_position(snapshot_position(Some(state.clone())));
    pipeline.drain().await?;
    pipeline.commit().await?;

    let mut source = EventSource::new(config.clone(), schema.clone(), start.clone(), None);
    let started: Vec<usize> = state
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| state.progress.get(*t).is_some_and(|p| p.rows > 0 || p.done))
        .map(|(i, _)| i)
        .collect();
    let resumed = !started.is_empty();
    let mut marker: Marker<(Record, KeyText)> = if resumed {
        Marker::resumed(state.tables.len(), started)
    } else {
        Marker::new(state.tables.len())
    };
    let ts_ms = Clock::now().ms() / 1000 * 1000;
    let mut clock = CommitClock {
        every: settings.offset_flush_interval,
        last: std::time::Instant::now(),
    };
    let mut last_held: Option<(usize, Record, KeyText)> = None;
    let table_names = state.tables.clone();
    // Every reader reads its tables in a transaction opened while the global read lock was
    // held (all see the same data); without the lock one reader does everything.
    let mut readers = vec![conn];
    readers.extend(extra_readers);
    let mut work: Vec<Vec<TableJob>> = (0..readers.len()).map(|_| Vec::new()).collect();
    let mut next_reader = 0;
    // A resumed snapshot's own consistent read is gone: with a signalling table to hold the
    // watermarks, its keyed tables finish in watermark windows while streaming from `start`
    // (unless nothing streams); the others are read now.
    let windowed_resume = resume.is_some_and(|p| p.snapshot.is_some())
        && config.signal_data_collection.is_some()
        && config.snapshot_mode != MySqlSnapshotMode::InitialOnly;
    let mut windowed: Vec<String> = Vec::new();
    for (index, name) in table_names.iter().enumerate() {
        let progress = state.progress.get(name).cloned().unwrap_or_default();
        if progress.done {
            continue;
        }
        let captured = name
            .split_once('.')
            .and_then(|(db, table)| source.captured(db, table));
        let Some(captured) = captured else {
            state.table_done(name);
            continue;
        };
        if windowed_resume && !captured.key_columns().is_empty() {
            windowed.push(name.clone());
            continue;
        }
        work[next_reader].push(TableJob {
            index,
            name: name.clone(),
            table: captured,
            after: progress.last_key.clone(),
        });
        next_reader = (next_reader + 1) % work.len();
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<SnapshotMsg>(1024);
    let mut tasks = tokio::task::JoinSet::new();
    let reader_ctx = ReaderCtx {
        modes: source.modes,
        info: source.info().clone(),
        start: start.clone(),
        ts_ms,
        fetch: config.snapshot_fetch_size,
    };
    for (conn, jobs) in readers.into_iter().zip(work) {
        let tx = tx.clone();
        let ctx = reader_ctx.clone();
        tasks.spawn(async move {
            let mut conn = conn;
            if let Err(e) = read_tables(&mut conn, jobs, &ctx, &tx).await {
                let _ = tx.send(SnapshotMsg::Failed(e)).await;
            }
            // Ends the snapshot transaction (and an extended lock with the session).
            let _ = conn.disconnect().await;
        });
    }
    drop(tx);
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => {
                tasks.abort_all();
                pipeline.drain().await?;
                pipeline.commit().await?;
                return Ok(None);
            }
            msg = rx.recv() => msg,
        };
        match msg {
            None => break,
            Some(SnapshotMsg::Failed(e)) => return Err(e),
            Some(SnapshotMsg::Row(index, record, key_text)) => {
                if let Some((prev, marked)) = marker.push(index, (record, key_text)) {
                    // A later record exists: the held record was not the snapshot's last.
                    release_held(
                        pipeline,
                        &mut state,
                        &table_names,
                        last_held.take(),
                        &start,
                        &mut clock,
                    )
                    .await?;
                    emit_snapshot(
                        pipeline,
                        &mut state,
                        &table_names,
                        index,
                        prev,
                        marked,
                        &start,
                        &mut clock,
                    )
                    .await?;
                }
            }
            Some(SnapshotMsg::TableDone(index)) => match marker.finish_table(index) {
                Some((held, marked)) => {
                    // The newest finished table's last record is held back: only the end
                    // of the snapshot tells whether it is the `last` one.
                    release_held(
                        pipeline,
                        &mut state,
                        &table_names,
                        last_held.take(),
                        &start,
                        &mut clock,
                    )
                    .await?;
                    last_held = Some((index, set_marker(held.0, marked.as_str()), held.1));
                }
                None => state.table_done(&table_names[index]),
            },
        }
    }
    // The held record ends the snapshot unless tables are left to the windows.
    let held = last_held.take().map(|(i, r, k)| {
        (
            i,
            if windowed.is_empty() {
                set_marker(r, "last")
            } else {
                r
            },
            k,
        )
    });
    release_held(pipeline, &mut state, &table_names, held, &start, &mut clock).await?;
    while tasks.join_next().await.is_some() {}
    let mut done = snapshot_position(None);
    if !windowed.is_empty() {
        let id = format!("initial-{}-{}", start.file, start.pos);
        let finish = IncrementalState::resume_initial(&id, &state, &windowed);
        let incremental = IncrementalState::after(start.incremental.as_deref(), finish);
        tracing::info!(tables = ?windowed, "no consistent read to resume the snapshot with: these tables are read in watermark windows while streaming");
        done.incremental = Some(Arc::new(incremental));
    }
    pipeline.set_position(done.clone());
    pipeline.drain().await?;
    pipeline.commit().await?;
    tracing::info!(tables = table_names.len(), "snapshot complete");
    Ok(Some((done, statements)))
}

/// One table for a snapshot reader: its index in snapshot order, where to resume.
struct TableJob {
    index: usize,
    name: String,
    table: Arc<CapturedTable>,
    after: KeyText,
}

/// What a snapshot reader hands to the pipeline side.
enum SnapshotMsg {
    Row(usize, Record, KeyText),
    TableDone(usize),
    Failed(ConnectorError),
}

/// What every snapshot reader needs to map rows.
#[derive(Clone)]
struct ReaderCtx {
    modes: mapping::Modes,
    info: super::source::SourceInfo,
    start: MySqlPosition,
    ts_ms: i64,
    fetch: u32,
}

/// Read `jobs` in key-ordered chunks, one table after the other.
async fn read_tables(
    conn: &mut Conn,
    jobs: Vec<TableJob>,
    ctx: &ReaderCtx,
    tx: &tokio::sync::mpsc::Sender<SnapshotMsg>,
) -> Result<(), ConnectorError> {
    for job in jobs {
        let Some((db, table)) = job.name.split_once('.') else {
            continue;
        };
        let mut last_key = job.after.clone();
        loop {
            let sql = chunk_sql(&job.table, db, table, last_key.as_ref(), ctx.fetch);
            let rows: Vec<mysql_async::Row> = conn.query(sql).await.map_err(sql_err(format!(
                "reading table {} for the snapshot",
                job.name
            )))?;
            let count = rows.len();
            for row in rows {
                let (record, key_text) = snapshot_record(
                    &ctx.modes, &ctx.info, &job.table, &row, &ctx.start, ctx.ts_ms,
                )?;
                if key_text.is_some() {
                    last_key.clone_from(&key_text);
                }
                if tx
                    .send(SnapshotMsg::Row(job.index, record, key_text))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
            if count < ctx.fetch as usize || job.table.key_columns().is_empty() {
                break;
            }
        }
        if tx.send(SnapshotMsg::TableDone(job.index)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn emit_snapshot<S: Sink>(
    pipeline: &mut Pipeline<S, MySqlPosition>,
    state: &mut SnapshotState,
    names: &[String],
    index: usize,
    held: (Record, KeyText),
    marker: sluice_snapshot::marker::SnapshotMarker,
    start: &MySqlPosition,
    clock: &mut CommitClock,
) -> Result<(), ConnectorError> {
    let record = set_marker(held.0, marker.as_str());
    emit_one(pipeline, state, &names[index], record, held.1, start, clock).await
}

/// Deliver the held-back last record of a finished table, if any, and mark the table done.
async fn release_held<S: Sink>(
    pipeline: &mut Pipeline<S, MySqlPosition>,
    state: &mut SnapshotState,
    table_names: &[String],
    held: Option<(usize, Record, KeyText)>,
    start: &MySqlPosition,
    clock: &mut CommitClock,
) -> Result<(), ConnectorError> {
    if let Some((i, record, key)) = held {
        emit_one(pipeline, state, &table_names[i], record, key, start, clock).await?;
        state.table_done(&table_names[i]);
    }
    Ok(())
}

async fn emit_one<S: Sink>(
    pipeline: &mut Pipeline<S, MySqlPosition>,
    state: &mut SnapshotState,
    table: &str,
    record: Record,
    key: KeyText,
    start: &MySqlPosition,
    clock: &mut CommitClock,
) -> Result<(), ConnectorError> {
    pipeline.push(record).await?;
    state.row_delivered(table, key);
    if pipeline.batch_full() {
        pipeline.set_position(MySqlPosition {
            snapshot: Some(Arc::new(state.clone())),
            ..start.clone()
        });
        pipeline.flush_batch().await?;
        // Backpressure: no more reading while the sink has too much unacknowledged.
        while !pipeline.can_accept() {
            pipeline.next_ack().await?;
        }
        // The acknowledged progress is committed as the snapshot goes, so a restart resumes
        // after the last committed chunk rather than from the start.
        if clock.last.elapsed() >= clock.every {
            while let Some(ack) = pipeline.next_ack().now_or_never() {
                ack?;
            }
            pipeline.commit().await?;
            clock.last = std::time::Instant::now();
        }
    }
    Ok(())
}

/// When the snapshot last committed its acknowledged progress (`offset.flush.interval.ms`).
struct CommitClock {
    every: Duration,
    last: std::time::Instant,
}

fn set_marker(mut record: Record, marker: &str) -> Record {
    if let Some(Value::Struct(envelope)) = record.value.as_mut() {
        if let Some(Value::Struct(source)) = envelope.get_mut(2) {
            if let Some(slot) = source.get_mut(super::source::SOURCE_SNAPSHOT_FIELD) {
                *slot = Value::String(marker.to_owned());
            }
        }
    }
    record
}

/// `SELECT cols FROM db.t WHERE (k1, k2) > (?, ?) ORDER BY k1, k2 LIMIT n`.
fn chunk_sql(
    table: &CapturedTable,
    db: &str,
    name: &str,
    after: Option<&Vec<Option<String>>>,
    limit: u32,
) -> String {
    let cols: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let keys: Vec<String> = table.key_columns().iter().map(|k| quote_ident(k)).collect();
    let mut sql = format!(
        "SELECT {} FROM {}.{}",
        cols.join(", "),
        quote_ident(db),
        quote_ident(name)
    );
    if keys.is_empty() {
        return sql;
    }
    if let Some(values) = after {
        let literals: Vec<String> = values
            .iter()
            .map(|v| match v {
                Some(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
                None => "NULL".to_owned(),
            })
            .collect();
        sql.push_str(&format!(
            " WHERE ({}) > ({})",
            keys.join(", "),
            literals.join(", ")
        ));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", keys.join(", ")));
    sql
}

/// One snapshot row as a read record, and its key values as text (for resuming).
pub(crate) fn snapshot_record(
    modes: &mapping::Modes,
    info: &super::source::SourceInfo,
    table: &CapturedTable,
    row: &mysql_async::Row,
    start: &MySqlPosition,
    ts_ms: i64,
) -> Result<(Record, KeyText), ConnectorError> {
    let cell = |i: usize| -> Option<Vec<u8>> {
        match row.as_ref(i) {
            Some(mysql_async::Value::Bytes(b)) => Some(b.clone()),
            Some(mysql_async::Value::NULL) | None => None,
            Some(other) => Some(other.as_sql(true).into_bytes()),
        }
    };
    let (after, key) = table
        .row_image(modes, |i, kind| {
            mapping::from_text(kind, cell(i).as_deref())
        })
        .map_err(|(column, e)| ConnectorError::SnapshotRow {
            table: format!("{}.{}", table.database, table.name),
            reason: format!("column {column}: {e}"),
        })?;
    let key_text = {
        let names = table.key_columns();
        if names.is_empty() {
            None
        } else {
            Some(
                names
                    .iter()
                    .map(|k| {
                        let i = table.columns.iter().position(|c| c.name == *k)?;
                        cell(i).map(|b| String::from_utf8_lossy(&b).into_owned())
                    })
                    .collect(),
            )
        }
    };
    let source_value = info.value(&SourceFields {
        snapshot: "true",
        ts_ms,
        db: &table.database,
        table: Some(&table.name),
        server_id: 0,
        gtid: None,
        file: &start.file,
        pos: start.pos,
        row: 0,
        thread: None,
        query: None,
    });
    let record = ChangeEvent {
        op: Op::Read,
        table: table.schema.clone(),
        key,
        before: None,
        after: Some(after),
        source: source_value,
        transaction: None,
        clock: Clock::now(),
    }
    .into_record();
    Ok((record, key_text))
}

/// Open the binlog stream at `start`.
async fn open_stream(
    config: &MySqlConnectorConfig,
    info: &ServerInfo,
    conn: Conn,
    start: &MySqlPosition,
) -> Result<BinlogStream, ConnectorError> {
    let heartbeat = if config.heartbeat_interval_ms > 0 {
        Duration::from_millis(config.heartbeat_interval_ms).min(SERVER_HEARTBEAT)
    } else {
        SERVER_HEARTBEAT
    };
    match info.flavor {
        Flavor::MariaDb => {
            let start_at = match &start.gtids {
                Some(g) => MariaDbStart::Gtid(if g.trim().is_empty() {
                    GtidPosition::new()
                } else {
                    GtidPosition::parse(g)
                        .map_err(|_| ConnectorError::BadOffset { gtids: g.clone() })?
                }),
                None => MariaDbStart::File {
                    name: start.file.clone(),
                    pos: start.pos,
                },
            };
            let dump = MariaDbDump {
                replica_server_id: config.database_server_id,
                start: start_at,
                heartbeat_period: Some(heartbeat),
                gtid_strict_mode: false,
                non_blocking: false,
            };
            Ok(handshake::open_mariadb_stream(conn, &dump).await?)
        }
        Flavor::MySql => {
            let mut conn = conn;
            let nanos = u64::try_from(heartbeat.as_nanos()).unwrap_or(u64::MAX);
            conn.query_drop(format!("SET @master_heartbeat_period={nanos}"))
                .await
                .map_err(sql_err("setting the heartbeat period"))?;
            let request = match (&start.gtids, info.gtid_mode) {
                (Some(g), true) => {
                    let set = GtidSet::parse(g)
                        .map_err(|_| ConnectorError::BadOffset { gtids: g.clone() })?;
                    handshake::mysql_gtid_request(config.database_server_id, &set)
                }
                _ => BinlogStreamRequest::new(config.database_server_id)
                    .with_filename(start.file.as_bytes())
                    .with_pos(start.pos),
            };
            conn.get_binlog_stream(request).await.map_err(|source| {
                ConnectorError::from(handshake::HandshakeError::Dump {
                    server_id: config.database_server_id,
                    source,
                })
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn stream<S: Sink>(
    config: &Arc<MySqlConnectorConfig>,
    info: &ServerInfo,
    mut sql: Conn,
    pipeline: &mut Pipeline<S, MySqlPosition>,
    settings: &TaskSettings,
    shutdown: &CancellationToken,
    start: MySqlPosition,
    schema: Schema,
    history: Option<FileSchemaHistory>,
) -> Result<(), ConnectorError> {
    let gtids = gtids_of(&start, info.flavor)?;
    let dump_conn = connect(config).await?;
    let mut binlog = open_stream(config, info, dump_conn, &start).await?;
    tracing::info!(position = %crate::pipeline::Position::describe(&start), server_id = config.database_server_id, "binlog streaming started");
    let mut source =
        EventSource::new(config.clone(), schema, start.clone(), gtids).with_history(history);
    let mut state = StreamState {
        checksum: info.checksum,
        records: Vec::with_capacity(16),
        marks: Vec::new(),
        incremental: Incremental::resume(start.incremental.as_deref().cloned()),
        payload_at: None,
    };
    let mut commit_timer = tokio::time::interval(settings.offset_flush_interval);
    commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let heartbeat = (config.heartbeat_interval_ms > 0)
        .then(|| HeartbeatTopic::new(&config.heartbeat_topic(), &config.topic_prefix));
    let mut heartbeat_timer =
        tokio::time::interval(Duration::from_millis(config.heartbeat_interval_ms.max(1)));
    heartbeat_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = pipeline.batch_deadline();
        tokio::select! {
            biased;
            // 1. Shutdown: deliver what was handed over, commit it, close.
            _ = shutdown.cancelled() => {
                pipeline.drain().await?;
                pipeline.commit().await?;
                let _ = tokio::time::timeout(Duration::from_secs(5), binlog.close()).await;
                return Ok(());
            }
            // 2. Timers, before the acknowledgements (a busy stream keeps those ready).
            _ = sleep_until(deadline), if deadline.is_some() => pipeline.flush_batch().await?,
            _ = commit_timer.tick() => { pipeline.commit().await?; }
            // 3. Acknowledgements drain before new input.
            ack = pipeline.next_ack(), if pipeline.has_in_flight() => ack?,
            _ = heartbeat_timer.tick(), if heartbeat.is_some() => {
                if let Some(h) = &heartbeat {
                    pipeline.push(h.record(Clock::now())).await?;
                    if source.is_idle() {
                        pipeline.set_position(state.incremental.attach(source.position()));
                    }
                }
            }
            // An incremental snapshot chunk, read between two watermarks, when none is in flight.
            _ = std::future::ready(()), if state.incremental.wants_chunk() && pipeline.can_accept() => {
                let signal_table = config.signal_data_collection.clone().unwrap_or_default();
                let at = source.position();
                // Windows that finish an interrupted initial snapshot read snapshot.fetch.size
                // rows (when larger than an incremental chunk).
                let chunk_size = if state.incremental.reading_initial() {
                    config.incremental_snapshot_chunk_size.max(config.snapshot_fetch_size)
                } else {
                    config.incremental_snapshot_chunk_size
                };
                if state
                    .incremental
                    .read_chunk(&mut sql, &mut source, &signal_table, &at, chunk_size)
                    .await?
                {
                    pipeline.set_position(state.incremental.attach(source.position()));
                }
            }
            // 4. New input, only while the pipeline has room.
            event = binlog.next(), if pipeline.can_accept() => {
                let mut next = Some(event);
                let mut budget = INPUT_BURST;
                while let Some(event) = next.take() {
                    let event = match event {
                        None => return Err(ConnectorError::Closed { position: crate::pipeline::Position::describe(&source.position()) }),
                        Some(Err(e)) => return Err(ConnectorError::Stream { position: crate::pipeline::Position::describe(&source.position()), source: Box::new(e) }),
                        Some(Ok(event)) => event,
                    };
                    handle_event(config, &event, &mut source, &mut state, &mut sql, pipeline).await?;
                    handle_signals(config, &mut source, &mut state, pipeline).await?;
                    budget -= 1;
                    if budget > 0 && pipeline.can_accept() {
                        next = binlog.next().now_or_never();
                    }
                }
                if pipeline.batch_full() {
                    pipeline.flush_batch().await?;
                }
            }
        }
    }
}

struct StreamState {
    checksum: bool,
    records: Vec<Record>,
    marks: Vec<(usize, MySqlPosition)>,
    incremental: Incremental,
    /// The TRANSACTION_PAYLOAD event whose inner events are arriving.
    payload_at: Option<EventAt>,
}

/// Push `state.records`, closing each row's records under the position after it. A full
/// batch is sent at the first row boundary: one rows event can carry thousands of rows, and a
/// burst of events tens of thousands, so waiting for the end of the burst would let batches
/// (and with `max_in_flight` of them, memory) grow with the input instead of the batch limits.
async fn flush_records<S: Sink>(
    state: &mut StreamState,
    pipeline: &mut Pipeline<S, MySqlPosition>,
    end: Option<MySqlPosition>,
) -> Result<(), ConnectorError> {
    let mut marks = std::mem::take(&mut state.marks).into_iter().peekable();
    for (i, record) in state.records.drain(..).enumerate() {
        state.incremental.observe(&record);
        pipeline.push(record).await?;
        // `<=`: a row that produced nothing before the first record is marked at 0.
        let mut row_closed = false;
        while let Some((_, position)) = marks.next_if(|(at, _)| *at <= i + 1) {
            pipeline.set_position(state.incremental.attach(position));
            row_closed = true;
        }
        if row_closed && pipeline.batch_full() {
            pipeline.flush_batch().await?;
        }
    }
    // Marks after the last record (rows that produced nothing: skipped operations).
    for (_, position) in marks {
        pipeline.set_position(state.incremental.attach(position));
    }
    if let Some(p) = end {
        pipeline.set_position(state.incremental.attach(p));
    }
    Ok(())
}

/// Signals read from the signalling table: watermarks close chunk windows, the rest
/// drive the incremental snapshot.
async fn handle_signals<S: Sink>(
    config: &MySqlConnectorConfig,
    source: &mut EventSource,
    state: &mut StreamState,
    pipeline: &mut Pipeline<S, MySqlPosition>,
) -> Result<(), ConnectorError> {
    for signal in source.take_signals() {
        if let Some(rows) = state.incremental.on_watermark(&signal) {
            for row in rows {
                pipeline.push(row).await?;
            }
            pipeline.set_position(state.incremental.attach(source.position()));
            continue;
        }
        let captured = |t: &str| {
            t.split_once('.')
                .is_some_and(|(d, t)| config.include_table(d, t))
        };
        if state.incremental.on_signal(&signal, captured) {
            pipeline.set_position(state.incremental.attach(source.position()));
        }
    }
    Ok(())
}

async fn handle_event<S: Sink>(
    config: &Arc<MySqlConnectorConfig>,
    event: &Event,
    source: &mut EventSource,
    state: &mut StreamState,
    sql: &mut Conn,
    pipeline: &mut Pipeline<S, MySqlPosition>,
) -> Result<(), ConnectorError> {
    let header = event.header();
    let next = u64::from(header.log_pos());
    let at = match state.payload_at {
        // An event from inside a TRANSACTION_PAYLOAD has no position of its own.
        Some(payload) if next == 0 => payload,
        _ => {
            state.payload_at = None;
            EventAt {
                pos: next.saturating_sub(u64::from(header.event_size())),
                next,
                timestamp: header.timestamp(),
                server_id: header.server_id(),
            }
        }
    };
    let raw_type = header.event_type_raw();
    let decode_err = |reason: String| ConnectorError::Decode {
        event_type: raw_type,
        position: crate::pipeline::Position::describe(&source.position()),
        reason,
    };
    if raw_type == ROTATE_EVENT {
        // The fake ROTATE comes before FORMAT_DESCRIPTION: its CRC32 is still in `data()`.
        let data = event.data();
        let mut name = data.get(8..).unwrap_or_default();
        if state.checksum && event.checksum().is_none() && name.len() >= 4 {
            name = &name[..name.len() - 4];
        }
        let pos = data
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(4, u64::from_le_bytes);
        source.rotate(String::from_utf8_lossy(name).into_owned(), pos);
        return Ok(());
    }
    if raw_type == HEARTBEAT_EVENT {
        if let Some(p) = source.heartbeat(next) {
            if !pipeline.has_in_flight() {
                pipeline.set_position(p);
            }
        }
        return Ok(());
    }
    let data = match event.read_data() {
        Ok(d) => d,
        Err(e) => {
            let error = decode_err(e.to_string());
            return match config.event_deserialization_failure_handling_mode {
                sluice_config::EventProcessingFailureHandlingMode::Fail => Err(error),
                sluice_config::EventProcessingFailureHandlingMode::Warn => {
                    tracing::warn!(error = %error, "binlog event skipped (event.deserialization.failure.handling.mode=warn)");
                    Ok(())
                }
                sluice_config::EventProcessingFailureHandlingMode::Skip => Ok(()),
            };
        }
    };
    match data {
        None => match MariaDbEvent::decode(raw_type, event.data())
            .map_err(|e| decode_err(e.to_string()))?
        {
            Some(MariaDbEvent::Gtid(g)) => {
                source.mariadb_gtid(g.gtid(header.server_id()), g.is_standalone(), at);
            }
            Some(MariaDbEvent::AnnotateRows(a)) => source.rows_query(a.query_lossy().into_owned()),
            Some(MariaDbEvent::GtidList(_)) | Some(MariaDbEvent::BinlogCheckpoint(_)) | None => {}
        },
        Some(EventData::QueryEvent(q)) => {
            let schema = q.schema().into_owned();
            let query = q.query().into_owned();
            if let Some(end) =
                source.query(&schema, &query, q.thread_id(), at, &mut state.records)?
            {
                flush_records(state, pipeline, Some(end)).await?;
            }
        }
        Some(EventData::XidEvent(_)) => {
            let end = source.commit(at, &mut state.records)?;
            flush_records(state, pipeline, end).await?;
        }
        Some(EventData::TableMapEvent(tme)) => {
            let (db, table) = (
                tme.database_name().into_owned(),
                tme.table_name().into_owned(),
            );
            if config.include_table(&db, &table) && source.schema.table(&db, &table).is_none() {
                // A table the schema has not seen (created while we did not look).
                load_table(sql, &mut source.schema, &db, &table).await?;
            }
            source.table_map(tme.into_owned());
        }
        Some(EventData::RowsEvent(rows)) => {
            let marks = &mut state.marks;
            source.rows(&rows, at, &mut state.records, |out, p| {
                marks.push((out.len(), p))
            })?;
            flush_records(state, pipeline, None).await?;
        }
        Some(EventData::RowsQueryEvent(q)) => source.rows_query(q.query().into_owned()),
        Some(EventData::GtidEvent(g)) => source.mysql_gtid(Uuid(g.sid()), g.gno(), at),
        Some(EventData::AnonymousGtidEvent(_)) => source.anonymous_gtid(at),
        // MySQL binlog_transaction_compression: `BinlogStream` yields the payload event,
        // then the events inside it (positioned at the payload event: see `payload_at`).
        Some(EventData::TransactionPayloadEvent(_)) => state.payload_at = Some(at),
        Some(_) => {}
    }
    Ok(())
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use sluice_sinks::{Delivery, SinkError, SinkRecord};

    use super::*;
    use crate::converter::string::StringConverter;
    use crate::offset::MemoryOffsetStore;

    /// Keeps the size of every batch sent and acknowledges it at once.
    #[derive(Clone, Default)]
    struct Sizes(Arc<Mutex<Vec<usize>>>);

    impl Sink for Sizes {
        async fn send(&mut self, records: Vec<SinkRecord>) -> Result<Delivery, SinkError> {
            self.0.lock().expect("lock").push(records.len());
            let (handle, delivery) = Delivery::pending();
            handle.complete(Ok(()));
            Ok(delivery)
        }

        async fn sync(&mut self) -> Result<(), SinkError> {
            Ok(())
        }
    }

    fn record(i: usize) -> Record {
        Record {
            topic: Arc::from("p.db.t"),
            key_schema: None,
            key: Some(Value::String(format!("k{i}"))),
            value_schema: None,
            value: Some(Value::String(format!("v{i}"))),
            headers: Vec::new(),
            timestamp_ms: None,
        }
    }

    fn at_row(row: u64) -> MySqlPosition {
        MySqlPosition {
            file: "binlog.000001".into(),
            pos: 100,
            event: 0,
            row,
            ..MySqlPosition::default()
        }
    }

    /// One rows event with many rows: full batches go out at row boundaries while its records
    /// are pushed, each closed under the position after its last row, instead of one batch
    /// as large as the event (or a whole burst of events).
    #[tokio::test]
    async fn a_large_rows_event_is_sent_in_batches_of_the_limit() {
        let sink = Sizes::default();
        let mut pipeline: Pipeline<Sizes, MySqlPosition> = Pipeline::new(
            "c",
            serde_json::json!({"server": "p"}),
            Box::new(StringConverter),
            Box::new(StringConverter),
            sink.clone(),
            Box::new(MemoryOffsetStore::default()),
            PipelineLimits {
                max_batch_records: 10,
                ..PipelineLimits::default()
            },
        );
        let mut state = StreamState {
            checksum: true,
            records: Vec::new(),
            marks: Vec::new(),
            incremental: Incremental::resume(None),
            payload_at: None,
        };
        // 35 rows: the first produces nothing (a skipped operation: marked at 0), then one
        // delete + tombstone per row.
        state.marks.push((0, at_row(1)));
        for row in 2..=35u64 {
            state.records.push(record(state.records.len()));
            state.records.push(record(state.records.len()));
            state.marks.push((state.records.len(), at_row(row)));
        }
        flush_records(&mut state, &mut pipeline, None)
            .await
            .expect("pushed");
        assert_eq!(*sink.0.lock().expect("lock"), vec![10, 10, 10, 10, 10, 10]);
        while pipeline.has_in_flight() {
            pipeline.next_ack().await.expect("ack");
        }
        let committed = pipeline
            .commit()
            .await
            .expect("commit")
            .expect("a position");
        // The last full batch ends with row 31 (records 59 and 60).
        assert_eq!(committed.row, 31);
        pipeline.drain().await.expect("drain");
        assert_eq!(
            *sink.0.lock().expect("lock"),
            vec![10, 10, 10, 10, 10, 10, 8]
        );
        let committed = pipeline
            .commit()
            .await
            .expect("commit")
            .expect("a position");
        assert_eq!(committed.row, 35);
    }
}
