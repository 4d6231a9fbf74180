//! [`PgServer`]: a throwaway Postgres cluster run as a local process, or a running server
//! named by `SLUICE_TEST_PG_URL`.
//!
//! ```text
//! temp dir (owned by OS user `postgres` when we are root)
//! ├── data/          initdb --no-sync, then our postgresql.conf / pg_hba.conf
//! ├── socket/        unix socket: readiness polling and setup run over it (trust)
//! ├── tls/           ca.crt, server.crt, server.key (0600)   only with `tls: true`
//! └── postgres.log   server stdout + stderr; its tail goes into start errors
//! ```
//!
//! Tests connect over TCP on 127.0.0.1 with the configured [`PgAuth`]; the port is a free
//! one picked per start attempt, and a start that loses the race for it is retried on
//! another.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio_postgres::config::Host;
use tokio_postgres::NoTls;

use crate::local::{lock, percent_encode, pick_port, run_blocking};
use crate::os::{self, Signal};
use crate::{binaries, names, tls, Error};

/// Env var with the url of a running server that [`PgServer::start`] uses instead of
/// spawning one, e.g. `postgres://postgres@127.0.0.1:5433/postgres`.
pub const PG_URL_ENV: &str = "SLUICE_TEST_PG_URL";

/// The superuser initdb creates and tests connect as.
const SUPERUSER: &str = "postgres";
/// The unprivileged OS user Postgres runs as when we are root (initdb refuses root).
const OS_USER: &str = "postgres";
/// How long a start may take before it is reported as hung; generous for a 2-core
/// machine running many tests at once.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fast / immediate shutdown may take before we escalate.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between readiness / exit checks (a poll on a condition, not a wait for time).
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Start attempts on fresh ports when another process took the one we picked.
const PORT_ATTEMPTS: u32 = 10;
/// Lines of the server log put into start errors.
const LOG_TAIL_LINES: usize = 40;
/// Longest unix socket path (sun_path is 108 bytes, minus room for `/.s.PGSQL.65535`).
const MAX_SOCKET_DIR_BYTES: usize = 90;

/// How TCP connections (including `replication` connections) authenticate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PgAuth {
    /// No password checked.
    #[default]
    Trust,
    /// `md5` in pg_hba.conf; the password is stored as md5.
    Md5,
    /// `scram-sha-256` in pg_hba.conf; the password is stored as SCRAM.
    ScramSha256,
}

impl PgAuth {
    fn hba_method(self) -> &'static str {
        match self {
            PgAuth::Trust => "trust",
            PgAuth::Md5 => "md5",
            PgAuth::ScramSha256 => "scram-sha-256",
        }
    }

    fn password_encryption(self) -> &'static str {
        match self {
            PgAuth::Md5 => "md5",
            PgAuth::Trust | PgAuth::ScramSha256 => "scram-sha-256",
        }
    }
}

/// How to start a [`PgServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// Authentication of TCP connections. Default [`PgAuth::Trust`].
    pub auth: PgAuth,
    /// Password of the `postgres` superuser. Default `"postgres"`.
    pub password: String,
    /// `wal_level`. Default `"logical"`.
    pub wal_level: String,
    /// Serve TLS with a certificate signed by a throwaway CA ([`PgServer::ca_cert_path`]).
    /// Plain connections stay allowed. Default `false`.
    pub tls: bool,
    /// More `postgresql.conf` settings, written after (and so overriding) ours.
    pub extra_conf: Vec<(String, String)>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            auth: PgAuth::Trust,
            password: "postgres".to_owned(),
            wal_level: "logical".to_owned(),
            tls: false,
            extra_conf: Vec::new(),
        }
    }
}

/// A Postgres server for one test (or a few): a throwaway local cluster, or the running
/// server named by [`PG_URL_ENV`].
///
/// Give each test its own database ([`PgServer::create_database`]) and slot / publication
/// names ([`PgServer::unique_name`]) so tests can share a server and run in parallel.
/// Dropping a local server shuts it down immediately and removes its files; dropping an
/// external one drops the databases it created (best effort).
pub struct PgServer {
    host: String,
    port: u16,
    user: String,
    password: String,
    /// Connection settings without a database; [`PgServer::config`] adds one.
    base_config: tokio_postgres::Config,
    backend: Backend,
}

enum Backend {
    Local(LocalCluster),
    External(ExternalServer),
}

struct ExternalServer {
    /// Database of the url: where `CREATE DATABASE` / `DROP DATABASE` run.
    admin_db: String,
    /// Query string of the url (`?sslmode=...`), kept by [`PgServer::url`].
    query: String,
    created: Mutex<Vec<String>>,
}

struct LocalCluster {
    bindir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    ca_cert: Option<PathBuf>,
    /// Uid / gid to run as (we are root); `None`: as ourselves.
    run_as: Option<(u32, u32)>,
    /// The postmaster; `None` while stopped.
    child: Mutex<Option<Child>>,
    /// Last field: removed after the server is stopped.
    temp: TempDir,
}

impl PgServer {
    /// A server with default options: the one named by `SLUICE_TEST_PG_URL` if set, else a
    /// new local cluster. Blocking (a few seconds for initdb); fine to call in async tests.
    pub fn start() -> Result<PgServer, Error> {
        Self::start_with(PgOptions::default())
    }

    /// A new local cluster with `opts`. With default options `SLUICE_TEST_PG_URL` is
    /// honoured as in [`PgServer::start`]; other options (auth, TLS, settings) need a server
    /// of our own, so they always spawn one.
    pub fn start_with(opts: PgOptions) -> Result<PgServer, Error> {
        if opts == PgOptions::default() {
            if let Some(url) = std::env::var(PG_URL_ENV)
                .ok()
                .filter(|u| !u.trim().is_empty())
            {
                return Self::from_url(url.trim());
            }
        }
        Self::spawn(opts)
    }

    /// Always `127.0.0.1` for a local server.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres` for a local server.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://user:pass@host:port/db` (user and password percent-encoded).
    pub fn url(&self, db: &str) -> String {
        let mut url = format!("postgres://{}", percent_encode(&self.user));
        if !self.password.is_empty() {
            let _ = write!(url, ":{}", percent_encode(&self.password));
        }
        let _ = write!(url, "@{}:{}/{}", self.host, self.port, percent_encode(db));
        if let Backend::External(ext) = &self.backend {
            if !ext.query.is_empty() {
                let _ = write!(url, "?{}", ext.query);
            }
        }
        url
    }

    /// Connection settings for `db` (for options [`PgServer::url`] can't express).
    pub fn config(&self, db: &str) -> tokio_postgres::Config {
        let mut config = self.base_config.clone();
        config.dbname(db);
        config
    }

    /// A plain (no TLS) client of `db`; its connection task is spawned on the current
    /// tokio runtime (call inside one).
    pub async fn connect(&self, db: &str) -> Result<tokio_postgres::Client, Error> {
        let (client, connection) =
            self.config(db)
                .connect(NoTls)
                .await
                .map_err(|source| Error::Postgres {
                    action: format!("connect to database {db}"),
                    url: self.redacted_url(db),
                    source,
                })?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "test postgres connection closed with an error");
            }
        });
        Ok(client)
    }

    /// Creates a database named `prefix` + pid + counter + random (see
    /// [`PgServer::unique_name`]) and returns the name.
    pub async fn create_database(&self, prefix: &str) -> Result<String, Error> {
        let name = Self::unique_name(prefix);
        let client = self.connect(self.admin_db()).await?;
        client
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .await
            .map_err(|source| Error::Postgres {
                action: format!("create database {name}"),
                url: self.redacted_url(self.admin_db()),
                source,
            })?;
        if let Backend::External(ext) = &self.backend {
            lock(&ext.created).push(name.clone());
        }
        Ok(name)
    }

    /// A name for a slot, publication, table or database no other test uses: `prefix`
    /// lowercased to `[a-z0-9_]`, then `_<pid>_<counter>_<random>`; at most 63 bytes.
    pub fn unique_name(prefix: &str) -> String {
        names::unique_name(prefix)
    }

    /// With `tls: true`: the PEM file of the CA that signed the server certificate (SAN
    /// `localhost` and `127.0.0.1`), for `sslmode=verify-full` clients.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.local().and_then(|local| local.ca_cert.as_deref())
    }

    /// Fast shutdown (clients are disconnected), waiting until the server has exited; the
    /// data dir is kept for [`PgServer::start_again`]. Stopping a stopped server is a no-op.
    pub fn stop(&self) -> Result<(), Error> {
        let local = self.local_or_unsupported("stop")?;
        let mut child = lock(&local.child);
        if let Some(running) = child.as_mut() {
            local.shutdown(running, Signal::Fast)?;
        }
        *child = None;
        Ok(())
    }

    /// Starts a stopped server again on the same port and data dir, waiting until it
    /// accepts connections. A no-op while it runs.
    pub fn start_again(&self) -> Result<(), Error> {
        let local = self.local_or_unsupported("start_again")?;
        let mut child = lock(&local.child);
        if let Some(running) = child.as_mut() {
            if running.try_wait().ok().flatten().is_none() {
                return Ok(());
            }
        }
        // Crashed or stopped: forget the old process before trying again.
        *child = None;
        *child = Some(local.start_on(self.port, None)?);
        Ok(())
    }

    /// Whether this is the server of `SLUICE_TEST_PG_URL` rather than one we spawned.
    pub fn is_external(&self) -> bool {
        matches!(self.backend, Backend::External(_))
    }

    /// Local server: the directory of its binaries (`pg_recvlogical`, `pg_dump`, ...).
    pub fn bin_dir(&self) -> Option<&Path> {
        self.local().map(|local| local.bindir.as_path())
    }

    /// Local server: the temp dir holding data, socket, log and certificates.
    pub fn temp_dir(&self) -> Option<&Path> {
        self.local().map(|local| local.temp.path())
    }

    /// Local server: the data directory.
    pub fn data_dir(&self) -> Option<&Path> {
        self.local().map(|local| local.data_dir.as_path())
    }

    /// Local server: the directory of its unix socket (trust auth).
    pub fn socket_dir(&self) -> Option<&Path> {
        self.local().map(|local| local.socket_dir.as_path())
    }

    /// Local server: the server log.
    pub fn log_path(&self) -> Option<&Path> {
        self.local().map(|local| local.log_path.as_path())
    }

    /// Local server: the postmaster pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        let local = self.local()?;
        let child = lock(&local.child);
        child.as_ref().map(Child::id)
    }

    fn local(&self) -> Option<&LocalCluster> {
        match &self.backend {
            Backend::Local(local) => Some(local),
            Backend::External(_) => None,
        }
    }

    fn local_or_unsupported(&self, operation: &'static str) -> Result<&LocalCluster, Error> {
        self.local().ok_or(Error::UnsupportedExternal { operation })
    }

    fn admin_db(&self) -> &str {
        match &self.backend {
            Backend::Local(_) => "postgres",
            Backend::External(ext) => &ext.admin_db,
        }
    }

    fn redacted_url(&self, db: &str) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            percent_encode(&self.user),
            self.host,
            self.port,
            percent_encode(db)
        )
    }

    /// A server that is already running at `url` (what `SLUICE_TEST_PG_URL` does): nothing is
    /// spawned; [`PgServer::stop`] and [`PgServer::start_again`] are unsupported and drop
    /// only drops the databases [`PgServer::create_database`] made.
    pub fn from_url(url: &str) -> Result<PgServer, Error> {
        let config =
            tokio_postgres::Config::from_str(url).map_err(|source| Error::InvalidUrl { source })?;
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.to_string_lossy().into_owned(),
            None => "localhost".to_owned(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or(SUPERUSER).to_owned();
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let admin_db = config.get_dbname().unwrap_or(&user).to_owned();
        let query = url
            .split_once('?')
            .map(|(_, q)| q.to_owned())
            .unwrap_or_default();
        Ok(PgServer {
            host,
            port,
            user,
            password,
            base_config: config,
            backend: Backend::External(ExternalServer {
                admin_db,
                query,
                created: Mutex::new(Vec::new()),
            }),
        })
    }

    fn spawn(opts: PgOptions) -> Result<PgServer, Error> {
        let bindir = binaries::find_bindir()?;
        let run_as = if os::is_root() {
            let user = os::lookup_user(OS_USER)
                .map_err(|source| Error::Io {
                    action: "look up the OS user `postgres` in",
                    path: PathBuf::from("/etc/passwd"),
                    source,
                })?
                .ok_or_else(|| Error::OsUserNotFound {
                    user: OS_USER.to_owned(),
                })?;
            Some(user)
        } else {
            None
        };
        let temp = make_temp_dir(run_as.is_some())?;
        let root = temp.path().to_path_buf();
        let local = LocalCluster {
            data_dir: root.join("data"),
            socket_dir: root.join("socket"),
            log_path: root.join("postgres.log"),
            ca_cert: opts.tls.then(|| root.join("tls").join("ca.crt")),
            bindir,
            run_as,
            child: Mutex::new(None),
            temp,
        };
        local.chown(&root)?;
        local.create_dir(&local.socket_dir)?;
        local.initdb()?;
        local.write_config(&opts)?;

        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = pick_port().map_err(|source| Error::Io {
                action: "bind a free port on",
                path: PathBuf::from("127.0.0.1"),
                source,
            })?;
            match local.start_on(port, Some(&opts.password)) {
                Ok(child) => {
                    *lock(&local.child) = Some(child);
                    let mut base_config = tokio_postgres::Config::new();
                    base_config
                        .host("127.0.0.1")
                        .port(port)
                        .user(SUPERUSER)
                        .password(opts.password.as_str())
                        .connect_timeout(Duration::from_secs(10));
                    tracing::debug!(port, dir = %local.temp.path().display(), "test postgres started");
                    return Ok(PgServer {
                        host: "127.0.0.1".to_owned(),
                        port,
                        user: SUPERUSER.to_owned(),
                        password: opts.password,
                        base_config,
                        backend: Backend::Local(local),
                    });
                }
                Err(Error::Exited { log_tail, .. }) if is_port_conflict(&log_tail) => {
                    tracing::debug!(port, "test postgres lost the race for its port; retrying");
                    last_error = Some(log_tail);
                }
                Err(error) => return Err(error),
            }
        }
        Err(Error::NoFreePort {
            attempts: PORT_ATTEMPTS,
            log_tail: last_error.unwrap_or_default(),
        })
    }
}

impl std::fmt::Debug for PgServer {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("external", &self.is_external())
            .field("temp_dir", &self.temp_dir())
            .finish_non_exhaustive()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        match &self.backend {
            Backend::Local(local) => {
                let mut child = lock(&local.child);
                if let Some(running) = child.as_mut() {
                    if let Err(error) = local.shutdown(running, Signal::Immediate) {
                        tracing::warn!(%error, "could not stop test postgres");
                    }
                }
                *child = None;
                // `local.temp` is removed when the fields drop, after the server exited.
            }
            Backend::External(ext) => {
                let created = std::mem::take(&mut *lock(&ext.created));
                if created.is_empty() {
                    return;
                }
                let config = self.config(&ext.admin_db);
                let dropped = run_blocking(async move {
                    let (client, connection) = config.connect(NoTls).await?;
                    tokio::spawn(connection);
                    for db in created {
                        let db = quote_ident(&db);
                        let forced = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                            .await;
                        if forced.is_err() {
                            // WITH (FORCE) is Postgres 13+.
                            client
                                .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
                                .await?;
                        }
                    }
                    Ok::<(), tokio_postgres::Error>(())
                });
                match dropped {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "could not drop test databases on the external server")
                    }
                    Err(error) => tracing::warn!(%error, "could not drop test databases"),
                }
            }
        }
    }
}

impl LocalCluster {
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bindir.join(program));
        command.current_dir(self.temp.path()).stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            // std drops supplementary groups too when we are root.
            command.uid(uid).gid(gid);
        }
        command
    }

    fn chown(&self, path: &Path) -> Result<(), Error> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|source| Error::Io {
                action: "chown to the OS user `postgres`",
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    fn create_dir(&self, path: &Path) -> Result<(), Error> {
        fs::create_dir(path).map_err(|source| Error::Io {
            action: "create",
            path: path.to_path_buf(),
            source,
        })?;
        self.chown(path)
    }

    fn write_file(&self, path: &Path, contents: &str, mode: u32) -> Result<(), Error> {
        let io_error = |action| {
            move |source| Error::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        fs::write(path, contents).map_err(io_error("write"))?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(io_error("set permissions of"))?;
        self.chown(path)
    }

    fn initdb(&self) -> Result<(), Error> {
        let program = self.bindir.join("initdb");
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .map_err(|source| Error::Io {
                action: "run",
                path: program.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(Error::Command {
                program: program.display().to_string(),
                status: output.status,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        Ok(())
    }

    fn write_config(&self, opts: &PgOptions) -> Result<(), Error> {
        let mut settings: Vec<(String, String)> = [
            ("listen_addresses", "127.0.0.1"),
            ("wal_level", opts.wal_level.as_str()),
            ("max_replication_slots", "20"),
            ("max_wal_senders", "20"),
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("shared_buffers", "32MB"),
            ("max_connections", "100"),
            ("timezone", "UTC"),
            ("log_timezone", "UTC"),
            ("log_min_messages", "warning"),
            ("password_encryption", opts.auth.password_encryption()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        settings.push((
            "unix_socket_directories".to_owned(),
            self.socket_dir.display().to_string(),
        ));

        if opts.tls {
            let tls_dir = self.temp.path().join("tls");
            self.create_dir(&tls_dir)?;
            let certs = tls::generate()?;
            let ca = tls_dir.join("ca.crt");
            let cert = tls_dir.join("server.crt");
            let key = tls_dir.join("server.key");
            self.write_file(&ca, &certs.ca_cert_pem, 0o644)?;
            self.write_file(&cert, &certs.server_cert_pem, 0o644)?;
            // Postgres refuses a key readable by others.
            self.write_file(&key, &certs.server_key_pem, 0o600)?;
            settings.push(("ssl".to_owned(), "on".to_owned()));
            settings.push(("ssl_cert_file".to_owned(), cert.display().to_string()));
            settings.push(("ssl_key_file".to_owned(), key.display().to_string()));
            settings.push(("ssl_ca_file".to_owned(), ca.display().to_string()));
        }
        settings.extend(opts.extra_conf.iter().cloned());

        let mut conf = String::from("\n# sluice-testcontainers\n");
        for (key, value) in &settings {
            let _ = writeln!(conf, "{key} = {}", quote_literal(value));
        }
        let conf_path = self.data_dir.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf_path)
            .and_then(|mut file| io::Write::write_all(&mut file, conf.as_bytes()))
            .map_err(|source| Error::Io {
                action: "append settings to",
                path: conf_path.clone(),
                source,
            })?;

        let method = opts.auth.hba_method();
        let hba = format!(
            "# sluice-testcontainers: unix socket for setup, TCP with the chosen auth\n\
             local all all trust\n\
             local replication all trust\n\
             host all all 127.0.0.1/32 {method}\n\
             host replication all 127.0.0.1/32 {method}\n"
        );
        self.write_file(&self.data_dir.join("pg_hba.conf"), &hba, 0o600)
    }

    /// Spawns the postmaster on `port` and waits until it accepts connections; with
    /// `password`, sets the superuser password (first start only).
    fn start_on(&self, port: u16, password: Option<&str>) -> Result<Child, Error> {
        let log_error = |source| Error::Io {
            action: "open the server log",
            path: self.log_path.clone(),
            source,
        };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(log_error)?;
        let log_start = log.metadata().map_err(log_error)?.len();
        let log_err = log.try_clone().map_err(log_error)?;
        let program = self.bindir.join("postgres");
        let mut child = self
            .command("postgres")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-p")
            .arg(port.to_string())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| Error::Io {
                action: "run",
                path: program,
                source,
            })?;

        match self.wait_ready(&mut child, port, password) {
            Ok(()) => Ok(child),
            Err(error) => {
                // Don't leave a half-started server behind.
                let _ = self.shutdown(&mut child, Signal::Immediate);
                Err(match error {
                    ReadyError::Exited(status) => Error::Exited {
                        port,
                        status,
                        log_tail: self.log_tail(log_start),
                    },
                    ReadyError::Timeout => Error::StartTimeout {
                        port,
                        timeout_s: READY_TIMEOUT.as_secs(),
                        log_tail: self.log_tail(log_start),
                    },
                    ReadyError::Setup(source) => Error::Postgres {
                        action: "set the superuser password".to_owned(),
                        url: format!("unix socket {}", self.socket_dir.display()),
                        source,
                    },
                    ReadyError::Io(source) => Error::Io {
                        action: "wait for",
                        path: self.bindir.join("postgres"),
                        source,
                    },
                })
            }
        }
    }

    /// Polls a unix-socket connection (trust) until one succeeds, the child exits or
    /// [`READY_TIMEOUT`] passes.
    fn wait_ready(
        &self,
        child: &mut Child,
        port: u16,
        password: Option<&str>,
    ) -> Result<(), ReadyError> {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.socket_dir)
            .port(port)
            .user(SUPERUSER)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        let deadline = Instant::now() + READY_TIMEOUT;
        run_blocking(async move {
            let client = loop {
                if let Some(status) = child.try_wait()? {
                    return Err(ReadyError::Exited(status));
                }
                match config.connect(NoTls).await {
                    Ok((client, connection)) => {
                        tokio::spawn(connection);
                        break client;
                    }
                    Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(POLL_INTERVAL).await;
                    }
                    Err(_) => return Err(ReadyError::Timeout),
                }
            };
            if let Some(password) = password {
                // Stored with the server's password_encryption (md5 or SCRAM).
                client
                    .batch_execute(&format!(
                        "ALTER ROLE {SUPERUSER} PASSWORD {}",
                        quote_literal(password)
                    ))
                    .await
                    .map_err(ReadyError::Setup)?;
            }
            Ok(())
        })
        .map_err(ReadyError::Io)?
    }

    /// Sends `signal` and waits for the exit; escalates to SIGQUIT, then SIGKILL, if the
    /// server takes longer than [`STOP_TIMEOUT`].
    fn shutdown(&self, child: &mut Child, signal: Signal) -> Result<(), Error> {
        let pid = child.id();
        let io_error = |source| Error::Io {
            action: "stop",
            path: self.data_dir.clone(),
            source,
        };
        let escalation: &[Signal] = match signal {
            Signal::Fast => &[Signal::Fast, Signal::Immediate, Signal::Kill],
            Signal::Immediate => &[Signal::Immediate, Signal::Kill],
            Signal::Kill => &[Signal::Kill],
        };
        for &signal in escalation {
            if child.try_wait().map_err(io_error)?.is_some() {
                return Ok(());
            }
            if let Err(error) = os::signal(pid, signal) {
                if error.raw_os_error() != Some(libc::ESRCH) {
                    return Err(io_error(error));
                }
            }
            if matches!(signal, Signal::Kill) {
                child.wait().map_err(io_error)?;
                return Ok(());
            }
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if child.try_wait().map_err(io_error)?.is_some() {
                    return Ok(());
                }
                std::thread::sleep(POLL_INTERVAL);
            }
            tracing::warn!(
                pid,
                ?signal,
                "test postgres did not stop in time; escalating"
            );
        }
        Err(Error::StopTimeout {
            pid,
            timeout_s: STOP_TIMEOUT.as_secs(),
        })
    }

    /// The last [`LOG_TAIL_LINES`] lines written to the log since byte `from`.
    fn log_tail(&self, from: u64) -> String {
        let mut text = String::new();
        let read = File::open(&self.log_path).and_then(|mut file| {
            file.seek(SeekFrom::Start(from))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            text = String::from_utf8_lossy(&bytes).into_owned();
            Ok(())
        });
        if let Err(error) = read {
            return format!("(could not read {}: {error})", self.log_path.display());
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

enum ReadyError {
    Exited(std::process::ExitStatus),
    Timeout,
    Setup(tokio_postgres::Error),
    Io(io::Error),
}

impl From<io::Error> for ReadyError {
    fn from(error: io::Error) -> Self {
        ReadyError::Io(error)
    }
}

fn is_port_conflict(log_tail: &str) -> bool {
    log_tail.contains("Address already in use")
        || log_tail.contains("could not create any TCP/IP sockets")
}

/// A temp dir for a cluster. Run as another user, Postgres must be able to reach it, and
/// the socket path must fit in sun_path; when `$TMPDIR` fails either, `/tmp` is used.
fn make_temp_dir(other_user: bool) -> Result<TempDir, Error> {
    let preferred = std::env::temp_dir();
    let usable = preferred.as_os_str().len() + 40 <= MAX_SOCKET_DIR_BYTES
        && (!other_user || reachable_by_others(&preferred));
    let base = if usable {
        preferred
    } else {
        PathBuf::from("/tmp")
    };
    tempfile::Builder::new()
        .prefix("sluice-pg-")
        .tempdir_in(&base)
        .map_err(|source| Error::Io {
            action: "create a temp dir in",
            path: base,
            source,
        })
}

/// Every ancestor of `dir` is searchable by other users.
fn reachable_by_others(dir: &Path) -> bool {
    dir.ancestors().all(|dir| {
        fs::metadata(dir)
            .map(|meta| meta.permissions().mode() & 0o001 != 0)
            .unwrap_or(false)
    })
}

/// A SQL / postgresql.conf string literal.
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn port_conflict_is_recognised() {
        assert!(is_port_conflict(
            "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use"
        ));
        assert!(!is_port_conflict(
            "FATAL:  data directory has wrong ownership"
        ));
    }
}
