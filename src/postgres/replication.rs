//! The Postgres logical-replication client: a connection in `replication=database` mode
//! speaking the wire protocol directly (tokio-postgres cannot enter COPY BOTH), with the
//! replication commands sluice needs and a cancel-safe stream of WAL messages.
//!
//! ```text
//!   connect ──> startup + auth (trust | password | md5 | SCRAM-SHA-256[-PLUS])
//!      │        over PgStream (plain or TLS, see `tls`)
//!      ├─ simple_query / IDENTIFY_SYSTEM / CREATE_REPLICATION_SLOT
//!      └─ START_REPLICATION ──> ReplicationStream (COPY BOTH)
//!                                 server ──CopyData 'w' XLogData / 'k' keepalive──> next_message
//!                                 client <──CopyData 'r' standby status──────────── send_standby_status
//! ```
//!
//! Frames are cut from one growing read buffer; an XLogData payload is a `Bytes` slice of
//! its frame, never copied. Reading only ever appends to the buffer and parsing is
//! synchronous, so dropping a `next_message` future (e.g. in `tokio::select!`) loses nothing.

use super::sql::{quote_ident, quote_literal};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::backend::{DataRowBody, ErrorFields, Header, Message};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tls::{self, PgStream};

/// Microseconds between the Unix epoch and the Postgres epoch (2000-01-01 00:00:00 UTC).
const POSTGRES_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Initial read-buffer size; it grows on demand for larger frames.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Sanity bound on one backend frame. Postgres caps messages at 1 GiB; anything larger
/// means the byte stream is out of step.
const MAX_FRAME_BYTES: usize = (1 << 30) + 1024;

/// libpq `sslmode`. See the module docs of [`super::tls`] for what each checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

impl std::str::FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "disable" => Ok(SslMode::Disable),
            "prefer" | "allow" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" | "verify_ca" => Ok(SslMode::VerifyCa),
            "verify-full" | "verify_full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "unknown sslmode {other:?}; use disable, prefer, require, verify-ca or verify-full"
            )),
        }
    }
}

/// Where and how to connect. `Debug` never shows the password.
#[derive(Clone)]
pub struct ConnectParams {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub application_name: String,
    /// Extra startup parameters (run-time settings), e.g. `("DateStyle", "ISO")`.
    pub options: Vec<(String, String)>,
    /// Bound on TCP connect + TLS + authentication; zero means no bound.
    pub connect_timeout: Duration,
}

impl ConnectParams {
    /// `host:port`, as named in error messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[hidden]"))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("sslcert", &self.sslcert)
            .field("sslkey", &self.sslkey)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Errors of the replication client (and of [`super::tls::connect_sql`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error(
        "i/o error on the postgres connection to {addr}; check that the server is up and reachable"
    )]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("tls with postgres at {addr}: {reason}")]
    Tls {
        addr: String,
        reason: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An ErrorResponse from the server. `detail` is kept out of `Display` because it can
    /// carry row values.
    #[error("db error: {severity}: {message} (SQLSTATE {code}){}", hint_suffix(.hint))]
    Server {
        severity: String,
        code: String,
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
    #[error("postgres protocol error: {0}")]
    Protocol(String),
    /// The connection parameters cannot work (no password for a password method,
    /// invalid slot name, unsupported authentication method).
    #[error("{0}")]
    Config(String),
    #[error("connecting to postgres at {addr} timed out after {timeout:?}; check host, port and firewall, or raise the connect timeout")]
    ConnectTimeout { addr: String, timeout: Duration },
    /// The server closed the connection (or ended the replication stream) unexpectedly.
    #[error("the postgres server closed the connection; check the server log for a restart, failover or pg_terminate_backend")]
    Closed,
    /// A tokio-postgres (non-replication) connection failed outside the server's control.
    #[error("postgres connection to {addr} failed")]
    Client {
        addr: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) => format!("; hint: {hint}"),
        None => String::new(),
    }
}

impl ReplicationError {
    /// The SQLSTATE of a server error.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            ReplicationError::Server { code, .. } => Some(code),
            ReplicationError::Io { .. }
            | ReplicationError::Tls { .. }
            | ReplicationError::Protocol(_)
            | ReplicationError::Config(_)
            | ReplicationError::ConnectTimeout { .. }
            | ReplicationError::Closed => None,
            ReplicationError::Client { source, .. } => source.code().map(|c| c.code()),
        }
    }

    /// Whether retrying (with backoff) can succeed without anyone changing anything:
    /// network trouble, server shutdown/restart, resource exhaustion. Authentication,
    /// missing objects, a slot in use by another connection and TLS/config problems are not.
    pub fn is_transient(&self) -> bool {
        match self {
            ReplicationError::Io { .. }
            | ReplicationError::Closed
            | ReplicationError::ConnectTimeout { .. } => true,
            ReplicationError::Tls { .. }
            | ReplicationError::Protocol(_)
            | ReplicationError::Config(_) => false,
            ReplicationError::Server { code, .. } => sqlstate_is_transient(code),
            ReplicationError::Client { source, .. } => match source.code() {
                Some(code) => sqlstate_is_transient(code.code()),
                // Not from the server: I/O, closed connection or timeout.
                None => true,
            },
        }
    }

    pub(crate) fn from_tokio_postgres(error: tokio_postgres::Error, addr: &str) -> Self {
        if let Some(db) = error.as_db_error() {
            return ReplicationError::Server {
                severity: db.severity().to_owned(),
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
                detail: db.detail().map(str::to_owned),
                hint: db.hint().map(str::to_owned),
            };
        }
        // A TLS failure from our connector: surface it as such rather than as a generic
        // client error, so that it is classified as configuration.
        let mut cause = std::error::Error::source(&error);
        while let Some(e) = cause {
            if let Some(ReplicationError::Tls { addr, reason, .. }) = e.downcast_ref() {
                return ReplicationError::Tls {
                    addr: addr.clone(),
                    reason: reason.clone(),
                    source: Some(Box::new(error)),
                };
            }
            cause = e.source();
        }
        ReplicationError::Client {
            addr: addr.to_owned(),
            source: error,
        }
    }
}

fn sqlstate_is_transient(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
        || code.starts_with("08")
        || code.starts_with("53")
}

/// Result of `IDENTIFY_SYSTEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifySystem {
    pub systemid: String,
    pub timeline: u32,
    pub xlogpos: u64,
    pub dbname: Option<String>,
}

/// What `CREATE_REPLICATION_SLOT` does with the slot's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotSnapshot {
    /// Export it for `SET TRANSACTION SNAPSHOT` in other sessions (valid until the next
    /// command on this connection).
    Export,
    /// No snapshot.
    NoExport,
    /// Use it in the current transaction of this connection (which must be
    /// `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`).
    Use,
}

/// Result of `CREATE_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSlot {
    pub slot_name: String,
    pub consistent_point: u64,
    pub snapshot_name: Option<String>,
}

/// One message of the replication stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationMessage {
    /// WAL data; `data` is the output plugin's message (pgoutput: first byte is the tag).
    XLogData {
        wal_start: u64,
        wal_end: u64,
        /// Microseconds since 2000-01-01 UTC.
        server_time: i64,
        data: Bytes,
    },
    /// Primary keepalive; answer with a standby status update when `reply_requested`.
    Keepalive {
        wal_end: u64,
        server_time: i64,
        reply_requested: bool,
    },
}

/// A frame from the server, after ParameterStatus and NoticeResponse were handled.
enum Frame {
    Message(Message),
    /// CopyBothResponse ('W'), which postgres-protocol does not parse.
    CopyBoth,
}

/// The framed connection shared by the command phase and the streaming phase.
struct Wire {
    stream: PgStream,
    read_buf: BytesMut,
    /// Frames not yet written; `write_all_buf` consumes it as it goes, so an interrupted
    /// flush leaves the remainder for the next one instead of a torn frame.
    write_buf: BytesMut,
    addr: String,
    parameters: HashMap<String, String>,
}

impl Wire {
    fn new(stream: PgStream, addr: String) -> Self {
        Wire {
            stream,
            read_buf: BytesMut::with_capacity(READ_BUFFER_BYTES),
            write_buf: BytesMut::with_capacity(1024),
            addr,
            parameters: HashMap::new(),
        }
    }

    fn io_error(&self, source: std::io::Error) -> ReplicationError {
        ReplicationError::Io {
            addr: self.addr.clone(),
            source,
        }
    }

    async fn flush(&mut self) -> Result<(), ReplicationError> {
        if let Err(e) = self.stream.write_all_buf(&mut self.write_buf).await {
            return Err(self.io_error(e));
        }
        self.stream.flush().await.map_err(|e| self.io_error(e))
    }

    /// Next frame. Cancel-safe: bytes read are kept in `read_buf` until a whole frame is
    /// there, and frame parsing does not await.
    async fn read_frame(&mut self) -> Result<Frame, ReplicationError> {
        loop {
            if let Some(frame) = self.try_parse()? {
                return Ok(frame);
            }
            if self.read_buf.capacity() - self.read_buf.len() < 4096 {
                self.read_buf.reserve(READ_BUFFER_BYTES);
            }
            match self.stream.read_buf(&mut self.read_buf).await {
                Ok(0) => {
                    tracing::debug!(addr = %self.addr, "postgres closed the connection");
                    return Err(ReplicationError::Closed);
                }
                Ok(_) => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn try_parse(&mut self) -> Result<Option<Frame>, ReplicationError> {
        loop {
            let header = Header::parse(&self.read_buf).map_err(|e| {
                ReplicationError::Protocol(format!("bad frame header from {}: {e}", self.addr))
            })?;
            let Some(header) = header else {
                return Ok(None);
            };
            // Checked by Header::parse: len >= 4.
            let frame_len = header.len() as usize + 1;
            if frame_len > MAX_FRAME_BYTES {
                return Err(ReplicationError::Protocol(format!(
                    "frame of {frame_len} bytes from {} exceeds the 1 GiB protocol limit; the \
                     stream is out of step",
                    self.addr
                )));
            }
            if header.tag() == b'W' {
                if self.read_buf.len() < frame_len {
                    self.read_buf.reserve(frame_len - self.read_buf.len());
                    return Ok(None);
                }
                self.read_buf.advance(frame_len);
                return Ok(Some(Frame::CopyBoth));
            }
            if header.tag() == b'v' {
                // NegotiateProtocolVersion: we only ask for 3.0 with no _pq_ options, so
                // the server can only be telling us about an unknown startup option.
                if self.read_buf.len() < frame_len {
                    self.read_buf.reserve(frame_len - self.read_buf.len());
                    return Ok(None);
                }
                self.read_buf.advance(frame_len);
                tracing::debug!(addr = %self.addr, "server sent NegotiateProtocolVersion");
                continue;
            }
            let message = Message::parse(&mut self.read_buf).map_err(|e| {
                ReplicationError::Protocol(format!("bad message from {}: {e}", self.addr))
            })?;
            match message {
                None => return Ok(None),
                Some(Message::ParameterStatus(body)) => {
                    if let (Ok(name), Ok(value)) = (body.name(), body.value()) {
                        self.parameters.insert(name.to_owned(), value.to_owned());
                    }
                }
                Some(Message::NoticeResponse(body)) => {
                    let notice = parse_error_fields(body.fields());
                    if let ReplicationError::Server {
                        severity,
                        code,
                        message,
                        ..
                    } = notice
                    {
                        tracing::info!(addr = %self.addr, %severity, %code, %message, "postgres notice");
                    }
                }
                Some(message) => return Ok(Some(Frame::Message(message))),
            }
        }
    }
}

fn parse_error_fields(mut fields: ErrorFields<'_>) -> ReplicationError {
    let mut severity = None;
    let mut localized_severity = None;
    let mut code = String::new();
    let mut message = String::new();
    let mut detail = None;
    let mut hint = None;
    while let Ok(Some(field)) = fields.next() {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'V' => severity = Some(value),
            b'S' => localized_severity = Some(value),
            b'C' => code = value,
            b'M' => message = value,
            b'D' => detail = Some(value),
            b'H' => hint = Some(value),
            _ => {}
        }
    }
    ReplicationError::Server {
        severity: severity
            .or(localized_severity)
            .unwrap_or_else(|| "ERROR".to_owned()),
        code,
        message,
        detail,
        hint,
    }
}

fn unexpected(addr: &str, during: &str, message: &Frame) -> ReplicationError {
    let name = match message {
        Frame::CopyBoth => "CopyBothResponse",
        Frame::Message(m) => match m {
            Message::AuthenticationOk => "AuthenticationOk",
            Message::BackendKeyData(_) => "BackendKeyData",
            Message::CommandComplete(_) => "CommandComplete",
            Message::CopyData(_) => "CopyData",
            Message::CopyDone => "CopyDone",
            Message::CopyInResponse(_) => "CopyInResponse",
            Message::CopyOutResponse(_) => "CopyOutResponse",
            Message::DataRow(_) => "DataRow",
            Message::EmptyQueryResponse => "EmptyQueryResponse",
            Message::ReadyForQuery(_) => "ReadyForQuery",
            Message::RowDescription(_) => "RowDescription",
            _ => "another message",
        },
    };
    ReplicationError::Protocol(format!("unexpected {name} from {addr} during {during}"))
}

/// A connection in `replication=database` mode, before streaming.
pub struct ReplicationConnection {
    wire: Wire,
    backend_pid: Option<i32>,
}

impl fmt::Debug for ReplicationConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicationConnection")
            .field("addr", &self.wire.addr)
            .field("backend_pid", &self.backend_pid)
            .finish_non_exhaustive()
    }
}

impl ReplicationConnection {
    /// Connects, negotiates TLS per `sslmode`, authenticates and waits for the server to be
    /// ready. The whole sequence is bounded by `connect_timeout`.
    pub async fn connect(params: &ConnectParams) -> Result<Self, ReplicationError> {
        let addr = params.addr();
        if params.connect_timeout.is_zero() {
            return Self::connect_inner(params, addr).await;
        }
        match tokio::time::timeout(
            params.connect_timeout,
            Self::connect_inner(params, addr.clone()),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(ReplicationError::ConnectTimeout {
                addr,
                timeout: params.connect_timeout,
            }),
        }
    }

    async fn connect_inner(params: &ConnectParams, addr: String) -> Result<Self, ReplicationError> {
        let host = params
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&params.host);
        let tcp = TcpStream::connect((host, params.port))
            .await
            .map_err(|source| ReplicationError::Io {
                addr: addr.clone(),
                source,
            })?;
        // Standby status updates are tiny and latency matters for the flush position.
        let _ = tcp.set_nodelay(true);
        let stream = tls::negotiate(tcp, params, &addr).await?;
        let mut conn = ReplicationConnection {
            wire: Wire::new(stream, addr),
            backend_pid: None,
        };
        conn.startup(params).await?;
        Ok(conn)
    }

    async fn startup(&mut self, params: &ConnectParams) -> Result<(), ReplicationError> {
        let mut startup: Vec<(&str, &str)> = vec![
            ("user", &params.user),
            ("database", &params.dbname),
            ("replication", "database"),
            ("client_encoding", "UTF8"),
        ];
        if !params.application_name.is_empty() {
            startup.push(("application_name", &params.application_name));
        }
        for (name, value) in &params.options {
            if matches!(name.as_str(), "user" | "database" | "replication") {
                return Err(ReplicationError::Config(format!(
                    "startup option {name:?} cannot be overridden; set it through the \
                     connection settings instead"
                )));
            }
            match startup.iter_mut().find(|(n, _)| n == name) {
                Some(entry) => entry.1 = value,
                None => startup.push((name, value)),
            }
        }
        frontend::startup_message(startup.iter().copied(), &mut self.wire.write_buf).map_err(
            |e| ReplicationError::Protocol(format!("cannot encode startup message: {e}")),
        )?;
        self.wire.flush().await?;
        self.authenticate(params).await?;
        loop {
            match self.wire.read_frame().await? {
                Frame::Message(Message::BackendKeyData(body)) => {
                    self.backend_pid = Some(body.process_id());
                }
                Frame::Message(Message::ReadyForQuery(_)) => return Ok(()),
                Frame::Message(Message::ErrorResponse(body)) => {
                    return Err(parse_error_fields(body.fields()))
                }
                other => return Err(unexpected(&self.wire.addr, "startup", &other)),
            }
        }
    }

    fn password<'a>(
        &self,
        params: &'a ConnectParams,
        method: &str,
    ) -> Result<&'a str, ReplicationError> {
        params.password.as_deref().ok_or_else(|| {
            ReplicationError::Config(format!(
                "postgres at {} asks user {:?} for a password ({method}) but none is \
                 configured; set the database password",
                self.wire.addr, params.user
            ))
        })
    }

    async fn authenticate(&mut self, params: &ConnectParams) -> Result<(), ReplicationError> {
        let addr = self.wire.addr.clone();
        let encode_err = |e: std::io::Error| {
            ReplicationError::Protocol(format!("cannot encode auth message: {e}"))
        };
        loop {
            let frame = self.wire.read_frame().await?;
            let Frame::Message(message) = frame else {
                return Err(unexpected(&addr, "authentication", &frame));
            };
            match message {
                Message::AuthenticationOk => return Ok(()),
                Message::AuthenticationCleartextPassword => {
                    let password = self.password(params, "cleartext")?;
                    frontend::password_message(password.as_bytes(), &mut self.wire.write_buf)
                        .map_err(encode_err)?;
                    self.wire.flush().await?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let password = self.password(params, "md5")?;
                    let hash = postgres_protocol::authentication::md5_hash(
                        params.user.as_bytes(),
                        password.as_bytes(),
                        body.salt(),
                    );
                    frontend::password_message(hash.as_bytes(), &mut self.wire.write_buf)
                        .map_err(encode_err)?;
                    self.wire.flush().await?;
                }
                Message::AuthenticationSasl(body) => {
                    let password = self.password(params, "scram-sha-256")?.to_owned();
                    self.scram(&password, body.mechanisms()).await?;
                }
                Message::ErrorResponse(body) => return Err(parse_error_fields(body.fields())),
                Message::AuthenticationKerberosV5
                | Message::AuthenticationScmCredential
                | Message::AuthenticationGss
                | Message::AuthenticationSspi => {
                    return Err(ReplicationError::Config(format!(
                        "postgres at {addr} asks for gss/sspi/kerberos authentication, which \
                         sluice does not support; allow scram-sha-256 or md5 for this user in \
                         pg_hba.conf"
                    )))
                }
                other => return Err(unexpected(&addr, "authentication", &Frame::Message(other))),
            }
        }
    }

    async fn scram(
        &mut self,
        password: &str,
        mut mechanisms: postgres_protocol::message::backend::SaslMechanisms<'_>,
    ) -> Result<(), ReplicationError> {
        let addr = self.wire.addr.clone();
        let mut plain = false;
        let mut plus = false;
        while let Some(mechanism) = mechanisms.next().map_err(|e| {
            ReplicationError::Protocol(format!("bad sasl mechanism list from {addr}: {e}"))
        })? {
            match mechanism {
                "SCRAM-SHA-256" => plain = true,
                "SCRAM-SHA-256-PLUS" => plus = true,
                _ => {}
            }
        }
        let binding = self.wire.stream.channel_binding();
        let (mechanism, channel_binding) = match binding {
            Some(hash) if plus => (
                "SCRAM-SHA-256-PLUS",
                ChannelBinding::tls_server_end_point(hash),
            ),
            // We could bind but the server did not offer it: 'y' lets it detect a downgrade.
            Some(_) if plain => ("SCRAM-SHA-256", ChannelBinding::unrequested()),
            None if plain => ("SCRAM-SHA-256", ChannelBinding::unsupported()),
            _ => {
                return Err(ReplicationError::Config(format!(
                    "postgres at {addr} offers no sasl mechanism sluice supports \
                     (SCRAM-SHA-256); allow scram-sha-256 or md5 for this user in pg_hba.conf"
                )))
            }
        };
        let mut scram = ScramSha256::new(password.as_bytes(), channel_binding);
        let encode_err = |e: std::io::Error| {
            ReplicationError::Protocol(format!("cannot encode sasl message: {e}"))
        };
        frontend::sasl_initial_response(mechanism, scram.message(), &mut self.wire.write_buf)
            .map_err(encode_err)?;
        self.wire.flush().await?;

        let scram_err = |e: std::io::Error| {
            ReplicationError::Protocol(format!("scram exchange with {addr} failed: {e}"))
        };
        match self.wire.read_frame().await? {
            Frame::Message(Message::AuthenticationSaslContinue(body)) => {
                scram.update(body.data()).map_err(scram_err)?;
            }
            Frame::Message(Message::ErrorResponse(body)) => {
                return Err(parse_error_fields(body.fields()))
            }
            other => return Err(unexpected(&addr, "scram authentication", &other)),
        }
        frontend::sasl_response(scram.message(), &mut self.wire.write_buf).map_err(encode_err)?;
        self.wire.flush().await?;
        match self.wire.read_frame().await? {
            Frame::Message(Message::AuthenticationSaslFinal(body)) => {
                // Verifies the server signature: the server knew the password too.
                scram.finish(body.data()).map_err(scram_err)?;
                Ok(())
            }
            Frame::Message(Message::ErrorResponse(body)) => Err(parse_error_fields(body.fields())),
            other => Err(unexpected(&addr, "scram authentication", &other)),
        }
    }

    /// A ParameterStatus value reported by the server (`server_version`, `TimeZone`, ...).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.wire.parameters.get(name).map(String::as_str)
    }

    /// `server_version` as a number like `server_version_num` (e.g. 150019, 90624).
    pub fn server_version_num(&self) -> Option<u32> {
        parse_server_version(self.parameter("server_version")?)
    }

    /// The backend process id, for `pg_terminate_backend` or logs.
    pub fn backend_pid(&self) -> Option<i32> {
        self.backend_pid
    }

    /// Runs `sql` with the simple-query protocol and returns the text rows of the last
    /// statement's result (empty when it returned none). On an error the connection is
    /// left ready for the next command.
    pub async fn simple_query(
        &mut self,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>, ReplicationError> {
        frontend::query(sql, &mut self.wire.write_buf)
            .map_err(|e| ReplicationError::Protocol(format!("cannot encode query: {e}")))?;
        self.wire.flush().await?;
        let mut current = Vec::new();
        let mut last = Vec::new();
        let mut error = None;
        loop {
            let frame = self.wire.read_frame().await?;
            let Frame::Message(message) = frame else {
                return Err(unexpected(&self.wire.addr, "a simple query", &frame));
            };
            match message {
                Message::RowDescription(_) => current.clear(),
                Message::DataRow(body) => current.push(data_row(&body, &self.wire.addr)?),
                Message::CommandComplete(_) | Message::EmptyQueryResponse => {
                    last = std::mem::take(&mut current);
                }
                Message::ErrorResponse(body) => error = Some(parse_error_fields(body.fields())),
                Message::ReadyForQuery(_) => {
                    return match error {
                        Some(error) => Err(error),
                        None => Ok(last),
                    }
                }
                Message::CopyInResponse(_) => {
                    frontend::copy_fail("sluice does not send COPY data", &mut self.wire.write_buf)
                        .map_err(|e| ReplicationError::Protocol(format!("cannot encode: {e}")))?;
                    self.wire.flush().await?;
                }
                other => {
                    let error =
                        unexpected(&self.wire.addr, "a simple query", &Frame::Message(other));
                    return Err(error);
                }
            }
        }
    }

    /// `IDENTIFY_SYSTEM`.
    pub async fn identify_system(&mut self) -> Result<IdentifySystem, ReplicationError> {
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let row = single_row(&rows, 4, "IDENTIFY_SYSTEM", &self.wire.addr)?;
        let systemid = row[0].clone().unwrap_or_default();
        let timeline = row[1]
            .as_deref()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad_field("IDENTIFY_SYSTEM", "timeline", &row[1]))?;
        let xlogpos = row[2]
            .as_deref()
            .and_then(parse_lsn)
            .ok_or_else(|| bad_field("IDENTIFY_SYSTEM", "xlogpos", &row[2]))?;
        Ok(IdentifySystem {
            systemid,
            timeline,
            xlogpos,
            dbname: row[3].clone(),
        })
    }

    /// `CREATE_REPLICATION_SLOT slot LOGICAL plugin`, in the syntax of the server's version.
    pub async fn create_logical_slot(
        &mut self,
        slot: &str,
        plugin: &str,
        snapshot: SlotSnapshot,
    ) -> Result<CreatedSlot, ReplicationError> {
        validate_slot_name(slot)?;
        let version = self.server_version_num().unwrap_or(0);
        let sql = create_slot_sql(slot, plugin, snapshot, version);
        let rows = self.simple_query(&sql).await?;
        let row = single_row(&rows, 3, "CREATE_REPLICATION_SLOT", &self.wire.addr)?;
        let consistent_point = row[1]
            .as_deref()
            .and_then(parse_lsn)
            .ok_or_else(|| bad_field("CREATE_REPLICATION_SLOT", "consistent_point", &row[1]))?;
        Ok(CreatedSlot {
            slot_name: row[0].clone().unwrap_or_else(|| slot.to_owned()),
            consistent_point,
            snapshot_name: row[2].clone(),
        })
    }

    /// `START_REPLICATION SLOT slot LOGICAL lsn (options)` and switch to streaming.
    ///
    /// Option values are quoted here; `publication_names` must already be a list of
    /// quoted identifiers (see [`publication_names_option`]).
    pub async fn start_logical_replication(
        mut self,
        slot: &str,
        start_lsn: u64,
        options: &[(String, String)],
    ) -> Result<ReplicationStream, ReplicationError> {
        validate_slot_name(slot)?;
        let sql = start_replication_sql(slot, start_lsn, options)?;
        frontend::query(&sql, &mut self.wire.write_buf)
            .map_err(|e| ReplicationError::Protocol(format!("cannot encode query: {e}")))?;
        self.wire.flush().await?;
        match self.wire.read_frame().await? {
            Frame::CopyBoth => Ok(ReplicationStream {
                wire: self.wire,
                slot: slot.to_owned(),
                state: StreamState::Streaming,
            }),
            // The connection is dropped with `self`, so no need to read on to ReadyForQuery.
            Frame::Message(Message::ErrorResponse(body)) => Err(parse_error_fields(body.fields())),
            other => Err(unexpected(
                &self.wire.addr,
                &format!("START_REPLICATION of slot {slot}"),
                &other,
            )),
        }
    }

    /// Sends Terminate and closes the connection.
    pub async fn close(mut self) -> Result<(), ReplicationError> {
        frontend::terminate(&mut self.wire.write_buf);
        self.wire.flush().await?;
        let _ = self.wire.stream.shutdown().await;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamState {
    Streaming,
    /// The server sent CopyDone; it waits for ours.
    ServerDone,
    /// The server sent an ErrorResponse and left COPY mode.
    Failed,
    /// The connection failed or fell out of step; nothing more can be exchanged.
    Broken,
}

/// The COPY BOTH phase of a replication connection.
pub struct ReplicationStream {
    wire: Wire,
    slot: String,
    state: StreamState,
}

impl fmt::Debug for ReplicationStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicationStream")
            .field("addr", &self.wire.addr)
            .field("slot", &self.slot)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ReplicationStream {
    /// The next XLogData or keepalive; `Ok(None)` once the server ended COPY cleanly.
    ///
    /// Cancel-safe: a future dropped before completion loses no data.
    pub async fn next_message(&mut self) -> Result<Option<ReplicationMessage>, ReplicationError> {
        if self.state != StreamState::Streaming {
            return Ok(None);
        }
        let frame = match self.wire.read_frame().await {
            Ok(frame) => frame,
            Err(e) => {
                self.state = StreamState::Broken;
                return Err(e);
            }
        };
        match frame {
            Frame::Message(Message::CopyData(body)) => {
                self.decode_copy_data(body.into_bytes()).map(Some)
            }
            Frame::Message(Message::CopyDone) => {
                self.state = StreamState::ServerDone;
                Ok(None)
            }
            // A walsender that is shut down (`pg_ctl stop`, fast or smart) ends the stream with
            // CommandComplete and no CopyDone, then exits (walsender.c `WalSndDone`): the
            // server went away, which is not a protocol violation.
            Frame::Message(Message::CommandComplete(_)) => {
                self.state = StreamState::Broken;
                Ok(None)
            }
            Frame::Message(Message::ErrorResponse(body)) => {
                self.state = StreamState::Failed;
                Err(parse_error_fields(body.fields()))
            }
            other => {
                self.state = StreamState::Broken;
                Err(unexpected(
                    &self.wire.addr,
                    &format!("replication from slot {}", self.slot),
                    &other,
                ))
            }
        }
    }

    fn decode_copy_data(&self, data: Bytes) -> Result<ReplicationMessage, ReplicationError> {
        let short = || {
            ReplicationError::Protocol(format!(
                "truncated replication message ({} bytes) from {} on slot {}",
                data.len(),
                self.wire.addr,
                self.slot
            ))
        };
        match data.first() {
            Some(b'w') => {
                let mut header = data.get(1..25).ok_or_else(short)?;
                let wal_start = header.get_u64();
                let wal_end = header.get_u64();
                let server_time = header.get_i64();
                Ok(ReplicationMessage::XLogData {
                    wal_start,
                    wal_end,
                    server_time,
                    data: data.slice(25..),
                })
            }
            Some(b'k') => {
                let mut body = data.get(1..18).ok_or_else(short)?;
                let wal_end = body.get_u64();
                let server_time = body.get_i64();
                let reply_requested = body.get_u8() != 0;
                Ok(ReplicationMessage::Keepalive {
                    wal_end,
                    server_time,
                    reply_requested,
                })
            }
            Some(tag) => Err(ReplicationError::Protocol(format!(
                "unknown replication message tag {:?} from {} on slot {}",
                char::from(*tag),
                self.wire.addr,
                self.slot
            ))),
            None => Err(short()),
        }
    }

    /// Standby status update ('r'): positions received, durably handled, and applied.
    /// `flush_lsn` is what the server may recycle WAL up to (`confirmed_flush_lsn`).
    pub async fn send_standby_status(
        &mut self,
        write_lsn: u64,
        flush_lsn: u64,
        apply_lsn: u64,
        reply_requested: bool,
    ) -> Result<(), ReplicationError> {
        let mut body = [0u8; 34];
        let mut cursor = &mut body[..];
        cursor.put_u8(b'r');
        cursor.put_u64(write_lsn);
        cursor.put_u64(flush_lsn);
        cursor.put_u64(apply_lsn);
        cursor.put_i64(postgres_now_micros());
        cursor.put_u8(u8::from(reply_requested));
        frontend::CopyData::new(&body[..])
            .map_err(|e| ReplicationError::Protocol(format!("cannot encode status: {e}")))?
            .write(&mut self.wire.write_buf);
        self.wire.flush().await
    }

    /// Ends streaming: CopyDone, drain what the server still sends up to ReadyForQuery,
    /// then Terminate.
    pub async fn close(mut self) -> Result<(), ReplicationError> {
        match self.state {
            StreamState::Broken => return Ok(()),
            StreamState::Failed => {}
            StreamState::Streaming | StreamState::ServerDone => {
                frontend::copy_done(&mut self.wire.write_buf);
                self.wire.flush().await?;
            }
        }
        let mut result = Ok(());
        loop {
            match self.wire.read_frame().await {
                Ok(Frame::Message(Message::ReadyForQuery(_))) => break,
                Ok(Frame::Message(Message::ErrorResponse(body))) => {
                    result = Err(parse_error_fields(body.fields()));
                }
                // In-flight WAL, the server's CopyDone, CommandComplete, result sets.
                Ok(_) => {}
                Err(ReplicationError::Closed) => return result,
                Err(e) => return Err(e),
            }
        }
        frontend::terminate(&mut self.wire.write_buf);
        self.wire.flush().await?;
        let _ = self.wire.stream.shutdown().await;
        result
    }
}

fn postgres_now_micros() -> i64 {
    let unix_micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    unix_micros - POSTGRES_EPOCH_OFFSET_MICROS
}

fn data_row(body: &DataRowBody, addr: &str) -> Result<Vec<Option<String>>, ReplicationError> {
    let buffer = body.buffer();
    let mut ranges = body.ranges();
    let mut row = Vec::new();
    while let Some(range) = ranges
        .next()
        .map_err(|e| ReplicationError::Protocol(format!("bad DataRow from {addr}: {e}")))?
    {
        row.push(match range {
            Some(range) => {
                let bytes = buffer.get(range).ok_or_else(|| {
                    ReplicationError::Protocol(format!("DataRow column out of bounds from {addr}"))
                })?;
                Some(String::from_utf8_lossy(bytes).into_owned())
            }
            None => None,
        });
    }
    Ok(row)
}

fn single_row<'a>(
    rows: &'a [Vec<Option<String>>],
    min_columns: usize,
    command: &str,
    addr: &str,
) -> Result<&'a [Option<String>], ReplicationError> {
    match rows {
        [row] if row.len() >= min_columns => Ok(row),
        _ => Err(ReplicationError::Protocol(format!(
            "{command} on {addr} returned {} rows instead of one with {min_columns} columns",
            rows.len()
        ))),
    }
}

fn bad_field(command: &str, field: &str, value: &Option<String>) -> ReplicationError {
    ReplicationError::Protocol(format!("{command} returned an invalid {field}: {value:?}"))
}

fn validate_slot_name(slot: &str) -> Result<(), ReplicationError> {
    let valid = !slot.is_empty()
        && slot.len() <= 63
        && slot
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ReplicationError::Config(format!(
            "invalid replication slot name {slot:?}: use 1 to 63 lower-case letters, digits \
             and underscores"
        )))
    }
}

/// The `publication_names` value for pgoutput: each name as a quoted identifier,
/// comma-separated (the whole is then quoted as a literal by `start_logical_replication`).
pub fn publication_names_option(publications: &[&str]) -> String {
    publications
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join(",")
}

fn create_slot_sql(slot: &str, plugin: &str, snapshot: SlotSnapshot, version: u32) -> String {
    let (slot, plugin) = (quote_ident(slot), quote_ident(plugin));
    if version >= 150_000 {
        let snapshot = match snapshot {
            SlotSnapshot::Export => "export",
            SlotSnapshot::NoExport => "nothing",
            SlotSnapshot::Use => "use",
        };
        format!("CREATE_REPLICATION_SLOT {slot} LOGICAL {plugin} (SNAPSHOT '{snapshot}')")
    } else {
        let snapshot = match snapshot {
            SlotSnapshot::Export => "EXPORT_SNAPSHOT",
            SlotSnapshot::NoExport => "NOEXPORT_SNAPSHOT",
            SlotSnapshot::Use => "USE_SNAPSHOT",
        };
        format!("CREATE_REPLICATION_SLOT {slot} LOGICAL {plugin} {snapshot}")
    }
}

fn start_replication_sql(
    slot: &str,
    start_lsn: u64,
    options: &[(String, String)],
) -> Result<String, ReplicationError> {
    let mut sql = format!(
        "START_REPLICATION SLOT {} LOGICAL {}",
        quote_ident(slot),
        format_lsn(start_lsn)
    );
    if !options.is_empty() {
        let mut rendered = Vec::with_capacity(options.len());
        for (name, value) in options {
            if name.is_empty() || name.contains('\0') || value.contains('\0') {
                return Err(ReplicationError::Config(format!(
                    "invalid replication option {name:?} for slot {slot}"
                )));
            }
            rendered.push(format!("{} {}", quote_ident(name), quote_literal(value)));
        }
        sql.push_str(" (");
        sql.push_str(&rendered.join(", "));
        sql.push(')');
    }
    Ok(sql)
}

fn parse_server_version(version: &str) -> Option<u32> {
    // "15.4 (Debian 15.4-1.pgdg120+1)", "16beta1", "9.6.24", "17devel"
    let numeric: String = version
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = numeric.split('.').filter(|p| !p.is_empty());
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if major >= 10 {
        Some(major * 10_000 + minor)
    } else {
        let patch: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        Some(major * 10_000 + minor * 100 + patch)
    }
}

/// Formats an LSN the Postgres way: `16/B374D848`.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Parses `16/B374D848` (either case); `None` if malformed.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (high, low) = s.trim().split_once('/')?;
    let valid = |p: &str| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid(high) || !valid(low) {
        return None;
    }
    let high = u32::from_str_radix(high, 16).ok()?;
    let low = u32::from_str_radix(low, 16).ok()?;
    Some((u64::from(high) << 32) | u64::from(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_round_trip() {
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(format_lsn(0), "0/0");
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("16/b374d848"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn(&format_lsn(u64::MAX)), Some(u64::MAX));
        for bad in [
            "",
            "/",
            "1/",
            "/1",
            "1",
            "g/1",
            "1/123456789",
            "1/2/3",
            "-1/2",
        ] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
    }

    #[test]
    fn server_versions() {
        assert_eq!(
            parse_server_version("15.19 (Debian 15.19-0+deb12u1)"),
            Some(150019)
        );
        assert_eq!(parse_server_version("16beta1"), Some(160000));
        assert_eq!(parse_server_version("9.6.24"), Some(90624));
        assert_eq!(parse_server_version("10.5"), Some(100005));
        assert_eq!(parse_server_version("17devel"), Some(170000));
        assert_eq!(parse_server_version("x"), None);
    }

    #[test]
    fn command_syntax() {
        assert_eq!(
            create_slot_sql("s1", "pgoutput", SlotSnapshot::NoExport, 150004),
            r#"CREATE_REPLICATION_SLOT "s1" LOGICAL "pgoutput" (SNAPSHOT 'nothing')"#
        );
        assert_eq!(
            create_slot_sql("s1", "pgoutput", SlotSnapshot::Export, 140010),
            r#"CREATE_REPLICATION_SLOT "s1" LOGICAL "pgoutput" EXPORT_SNAPSHOT"#
        );
        let options = vec![
            ("proto_version".to_owned(), "1".to_owned()),
            (
                "publication_names".to_owned(),
                publication_names_option(&["a", "we'ird\"p"]),
            ),
        ];
        assert_eq!(
            start_replication_sql("s1", 0x1_0000_0002, &options).ok(),
            Some(
                r#"START_REPLICATION SLOT "s1" LOGICAL 1/2 ("proto_version" '1', "publication_names" '"a","we''ird""p"')"#
                    .to_owned()
            )
        );
        assert!(validate_slot_name("Bad-Name").is_err());
        assert!(validate_slot_name("good_1").is_ok());
    }

    #[test]
    fn error_display_and_classification() {
        let err = ReplicationError::Server {
            severity: "FATAL".into(),
            code: "28P01".into(),
            message: "password authentication failed for user \"u\"".into(),
            detail: Some("secret row value".into()),
            hint: None,
        };
        assert_eq!(
            err.to_string(),
            "db error: FATAL: password authentication failed for user \"u\" (SQLSTATE 28P01)"
        );
        assert!(!err.is_transient());
        assert_eq!(err.sqlstate(), Some("28P01"));
        let server = |code: &str| ReplicationError::Server {
            severity: "ERROR".into(),
            code: code.into(),
            message: String::new(),
            detail: None,
            hint: Some("do x".into()),
        };
        assert!(server("57P01").is_transient());
        assert!(server("08006").is_transient());
        assert!(server("53300").is_transient());
        assert!(!server("55006").is_transient());
        assert!(!server("42704").is_transient());
        assert!(server("42704").to_string().ends_with("; hint: do x"));
    }

    #[test]
    fn debug_hides_password() {
        let params = ConnectParams {
            host: "h".into(),
            port: 1,
            user: "u".into(),
            password: Some("hunter2".into()),
            dbname: "d".into(),
            sslmode: SslMode::Disable,
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            application_name: String::new(),
            options: vec![],
            connect_timeout: Duration::from_secs(1),
        };
        let debug = format!("{params:?}");
        assert!(!debug.contains("hunter2"));
        assert!(debug.contains("[hidden]"));
    }
}
