//! [`MariaDbServer`]: a throwaway MariaDB server run as a local `mariadbd` process, or a
//! running server named by `SLUICE_TEST_MARIADB_URL`.
//!
//! ```text
//! $TMPDIR/sluice-mariadb-template-v<N>-<uid>-<version hash>/   mariadb-install-db, once
//!     (shared by every test process of this user and server version; built in a
//!      temp dir and renamed into place, so a half-built template is never seen)
//!          │ copied (~0.2s instead of ~4s of install)
//!          ▼
//! temp dir sluice-mariadb-XXXX/
//! ├── data/            datadir; binlog.000001, binlog.index, ... live here
//! ├── mariadbd.sock    unix socket: readiness polling, setup and shutdown run over it
//! ├── mariadbd.pid
//! └── mariadbd.log     server stdout + stderr (the error log); its tail goes into errors
//! ```
//!
//! Tests connect over TCP on 127.0.0.1 as `root` with [`MariaDbOptions::password`]; the
//! port is a free one picked per start attempt, and a start that loses the race for it is
//! retried on another. The machine's own MariaDB (port 3306, /run/mysqld) is never
//! touched: every path and the port are passed on the command line with `--no-defaults`.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use tempfile::TempDir;

use crate::local::{lock, percent_encode, pick_port, run_blocking};
use crate::os::{self, Signal};
use crate::{names, Error};

/// Env var with the url of a running server that [`MariaDbServer::start`] uses instead of
/// spawning one, e.g. `mysql://root:secret@127.0.0.1:3307/mysql`. The server must have
/// `log_bin` on with `binlog_format=ROW` for binlog tests.
pub const MARIADB_URL_ENV: &str = "SLUICE_TEST_MARIADB_URL";

/// Env var naming a directory holding `mariadbd` (and `mariadb-install-db`); wins over the
/// search.
pub const MARIADB_BINDIR_ENV: &str = "SLUICE_MARIADB_BINDIR";

/// The account tests connect as; `mariadb-install-db` creates it with every privilege.
const SUPERUSER: &str = "root";
/// The account [`MariaDbOptions::limited_user`] creates: it may read tables but lacks
/// `REPLICATION SLAVE`, `REPLICATION CLIENT` / `BINLOG MONITOR` and `SUPER`.
pub const LIMITED_USER: &str = "sluice_limited";
/// Password of [`LIMITED_USER`].
pub const LIMITED_PASSWORD: &str = "limited";
/// Bumped whenever the install arguments change, so an old template is not reused.
const TEMPLATE_FORMAT: u32 = 1;
/// Marker written into a template datadir once `mariadb-install-db` has succeeded.
const TEMPLATE_MARKER: &str = "sluice-template-complete";
/// InnoDB sizing used at install and at every start: small, so a copy is cheap and many
/// servers fit in memory at once. The redo log size is fixed at install time.
const INNODB_ARGS: [&str; 3] = [
    "--innodb-log-file-size=4M",
    "--innodb-buffer-pool-size=32M",
    // Kernel AIO contexts are a machine-wide limit that parallel servers exhaust.
    "--innodb-use-native-aio=0",
];
/// How long a start may take before it is reported as hung; generous for a 2-core
/// machine running many tests at once.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a `SHUTDOWN` may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between readiness / exit checks (a poll on a condition, not a wait for time).
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Start attempts on fresh ports when another process took the one we picked.
const PORT_ATTEMPTS: u32 = 10;
/// Lines of the server log put into start errors.
const LOG_TAIL_LINES: usize = 40;
/// Longest unix socket path we create (sun_path is 108 bytes).
const MAX_SOCKET_PATH_BYTES: usize = 100;

/// How to start a [`MariaDbServer`]. The defaults are what a binlog connector needs; each
/// field can be set to something a connector must reject, for bad-input tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MariaDbOptions {
    /// Password of `root`. Default `"mariadb"`.
    pub password: String,
    /// `--log-bin` (binlog files `binlog.NNNNNN` in the datadir). Default `true`.
    pub log_bin: bool,
    /// `binlog_format`. Default `"ROW"`.
    pub binlog_format: String,
    /// `binlog_row_image`. Default `"FULL"`.
    pub binlog_row_image: String,
    /// `binlog_checksum`. Default `"CRC32"`.
    pub binlog_checksum: String,
    /// `server_id`; `None` (default) picks one no other server of this process has.
    pub server_id: Option<u32>,
    /// Also create [`LIMITED_USER`] / [`LIMITED_PASSWORD`] without replication
    /// privileges. Default `false`.
    pub limited_user: bool,
    /// More `mariadbd` arguments (`--name=value`), passed after (and so overriding) ours.
    pub extra_args: Vec<String>,
    /// TLS with a throwaway CA ([`MariaDbServer::ca_cert_path`]); the server certificate
    /// names `localhost` and `127.0.0.1`. Default `false`.
    pub tls: bool,
}

impl Default for MariaDbOptions {
    fn default() -> Self {
        MariaDbOptions {
            password: "mariadb".to_owned(),
            log_bin: true,
            binlog_format: "ROW".to_owned(),
            binlog_row_image: "FULL".to_owned(),
            binlog_checksum: "CRC32".to_owned(),
            server_id: None,
            limited_user: false,
            extra_args: Vec::new(),
            tls: false,
        }
    }
}

/// A MariaDB server for one test (or a few): a throwaway local `mariadbd`, or the running
/// server named by [`MARIADB_URL_ENV`].
///
/// Give each test its own database ([`MariaDbServer::create_database`]) and table names
/// ([`MariaDbServer::unique_name`]) so tests can share a server and run in parallel; a
/// binlog reader also needs a replica `server_id` of its own. Dropping a local server
/// kills it and removes its files; dropping an external one drops the databases it
/// created (best effort).
pub struct MariaDbServer {
    host: String,
    port: u16,
    user: String,
    password: String,
    /// Connection settings without a database; [`MariaDbServer::opts`] adds one.
    base_opts: Opts,
    backend: Backend,
}

enum Backend {
    Local(Box<LocalServer>),
    External(ExternalServer),
}

struct ExternalServer {
    created: Mutex<Vec<String>>,
}

struct LocalServer {
    mariadbd: PathBuf,
    data_dir: PathBuf,
    socket_path: PathBuf,
    pid_path: PathBuf,
    log_path: PathBuf,
    server_id: u32,
    limited_user: bool,
    /// With `tls: true`: the CA that signed the server certificate.
    ca_cert: Option<PathBuf>,
    /// The full `mariadbd` argument list except `--port`.
    args: Vec<String>,
    /// The server; `None` while stopped.
    child: Mutex<Option<Child>>,
    /// Last field: removed after the server is stopped.
    temp: TempDir,
}

impl MariaDbServer {
    /// A server with default options: the one named by `SLUICE_TEST_MARIADB_URL` if set,
    /// else a new local one. Blocking (about a second; the first server of a machine also
    /// builds the shared template, ~5s); fine to call in async tests.
    pub fn start() -> Result<MariaDbServer, Error> {
        Self::start_with(MariaDbOptions::default())
    }

    /// A new local server with `opts`. With default options `SLUICE_TEST_MARIADB_URL` is
    /// honoured as in [`MariaDbServer::start`]; other options need a server of our own, so
    /// they always spawn one.
    pub fn start_with(opts: MariaDbOptions) -> Result<MariaDbServer, Error> {
        if opts == MariaDbOptions::default() {
            if let Some(url) = std::env::var(MARIADB_URL_ENV)
                .ok()
                .filter(|u| !u.trim().is_empty())
            {
                return Self::from_url(url.trim());
            }
        }
        Self::spawn(opts)
    }

    /// A server that is already running at `url` (what `SLUICE_TEST_MARIADB_URL` does):
    /// nothing is spawned; [`MariaDbServer::stop`], [`MariaDbServer::kill`] and
    /// [`MariaDbServer::start_again`] are unsupported and drop only drops the databases
    /// [`MariaDbServer::create_database`] made.
    pub fn from_url(url: &str) -> Result<MariaDbServer, Error> {
        let opts = Opts::from_url(url).map_err(|source| Error::InvalidMariaDbUrl { source })?;
        let base_opts: Opts = OptsBuilder::from_opts(opts.clone())
            .db_name(None::<String>)
            .into();
        Ok(MariaDbServer {
            host: opts.ip_or_hostname().to_owned(),
            port: opts.tcp_port(),
            user: opts.user().unwrap_or(SUPERUSER).to_owned(),
            password: opts.pass().unwrap_or_default().to_owned(),
            base_opts,
            backend: Backend::External(ExternalServer {
                created: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Always `127.0.0.1` for a local server.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `root` for a local server.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// Local server: its `server_id` (a replica must use another one).
    pub fn server_id(&self) -> Option<u32> {
        self.local().map(|local| local.server_id)
    }

    /// `mysql://user:pass@host:port/db` (user and password percent-encoded).
    pub fn url(&self, db: &str) -> String {
        self.url_as(&self.user, &self.password, db)
    }

    /// [`MariaDbServer::url`] for another account (e.g. [`LIMITED_USER`]).
    pub fn url_as(&self, user: &str, password: &str, db: &str) -> String {
        let mut url = format!("mysql://{}", percent_encode(user));
        if !password.is_empty() {
            let _ = write!(url, ":{}", percent_encode(password));
        }
        let _ = write!(url, "@{}:{}/{}", self.host, self.port, percent_encode(db));
        url
    }

    /// Connection settings for `db` over TCP (never silently switched to the unix socket,
    /// so tests exercise what a connector does).
    pub fn opts(&self, db: &str) -> Opts {
        OptsBuilder::from_opts(self.base_opts.clone())
            .db_name(Some(db))
            .into()
    }

    /// [`MariaDbServer::opts`] for another account (e.g. [`LIMITED_USER`]).
    pub fn opts_as(&self, user: &str, password: &str, db: &str) -> Opts {
        OptsBuilder::from_opts(self.opts(db))
            .user(Some(user))
            .pass(Some(password))
            .into()
    }

    /// A connection to `db` as the superuser (call inside a tokio runtime).
    pub async fn connect(&self, db: &str) -> Result<Conn, Error> {
        Conn::new(self.opts(db))
            .await
            .map_err(|source| Error::MariaDb {
                action: format!("connect to database {db}"),
                url: self.redacted_url(db),
                source: Box::new(source),
            })
    }

    /// With [`MariaDbOptions::limited_user`]: the account without replication privileges.
    pub fn limited_user(&self) -> Option<(&str, &str)> {
        self.local()
            .filter(|local| local.limited_user)
            .map(|_| (LIMITED_USER, LIMITED_PASSWORD))
    }

    /// Creates a database named `prefix` + pid + counter + random (see
    /// [`MariaDbServer::unique_name`]) and returns the name.
    pub async fn create_database(&self, prefix: &str) -> Result<String, Error> {
        let name = Self::unique_name(prefix);
        let mut conn = self.connect("mysql").await?;
        let created = conn
            .query_drop(format!("CREATE DATABASE {}", quote_ident(&name)))
            .await;
        let _ = conn.disconnect().await;
        created.map_err(|source| Error::MariaDb {
            action: format!("create database {name}"),
            url: self.redacted_url("mysql"),
            source: Box::new(source),
        })?;
        if let Backend::External(ext) = &self.backend {
            lock(&ext.created).push(name.clone());
        }
        Ok(name)
    }

    /// A name for a database or table no other test uses: `prefix` lowercased to
    /// `[a-z0-9_]`, then `_<pid>_<counter>_<random>`; at most 63 bytes (MariaDB allows 64).
    pub fn unique_name(prefix: &str) -> String {
        names::unique_name(prefix)
    }

    /// Clean shutdown (`SHUTDOWN` over the unix socket), waiting until the server has
    /// exited; the datadir and binlogs are kept for [`MariaDbServer::start_again`].
    /// Stopping a stopped server is a no-op.
    pub fn stop(&self) -> Result<(), Error> {
        let local = self.local_or_unsupported("stop")?;
        let mut child = lock(&local.child);
        if let Some(running) = child.as_mut() {
            local.shutdown(running, Some(&self.password))?;
        }
        *child = None;
        Ok(())
    }

    /// `kill -9`: the server dies without flushing anything, as in a crash. The datadir is
    /// kept, so [`MariaDbServer::start_again`] runs crash recovery (InnoDB redo, binlog
    /// recovery of the last file). Killing a stopped server is a no-op.
    pub fn kill(&self) -> Result<(), Error> {
        let local = self.local_or_unsupported("kill")?;
        let mut child = lock(&local.child);
        if let Some(running) = child.as_mut() {
            local.shutdown(running, None)?;
        }
        *child = None;
        Ok(())
    }

    /// Starts a stopped (or killed) server again on the same port and datadir, waiting
    /// until it accepts connections. A no-op while it runs.
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
        *child = Some(local.start_on(self.port, &self.password, false)?);
        Ok(())
    }

    /// Whether this is the server of `SLUICE_TEST_MARIADB_URL` rather than one we spawned.
    pub fn is_external(&self) -> bool {
        matches!(self.backend, Backend::External(_))
    }

    /// Local server: the temp dir holding datadir, socket and log.
    pub fn temp_dir(&self) -> Option<&Path> {
        self.local().map(|local| local.temp.path())
    }

    /// Local server: the datadir (binlog files `binlog.NNNNNN` are in it).
    pub fn data_dir(&self) -> Option<&Path> {
        self.local().map(|local| local.data_dir.as_path())
    }

    /// Local server: the path of binlog file `name` (as `SHOW BINARY LOGS` names it).
    pub fn binlog_path(&self, name: &str) -> Option<PathBuf> {
        self.data_dir().map(|dir| dir.join(name))
    }

    /// Local server: its unix socket (the superuser authenticates with the password).
    pub fn socket_path(&self) -> Option<&Path> {
        self.local().map(|local| local.socket_path.as_path())
    }

    /// Local server: the server log (`mariadbd` stdout and stderr).
    pub fn log_path(&self) -> Option<&Path> {
        self.local().map(|local| local.log_path.as_path())
    }

    /// Local server: the `mariadbd` pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        let local = self.local()?;
        let child = lock(&local.child);
        child.as_ref().map(Child::id)
    }

    /// With `tls: true`: the PEM file of the CA that signed the server certificate.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.local().and_then(|local| local.ca_cert.as_deref())
    }

    fn local(&self) -> Option<&LocalServer> {
        match &self.backend {
            Backend::Local(local) => Some(local),
            Backend::External(_) => None,
        }
    }

    fn local_or_unsupported(&self, operation: &'static str) -> Result<&LocalServer, Error> {
        self.local()
            .ok_or(Error::MariaDbUnsupportedExternal { operation })
    }

    fn redacted_url(&self, db: &str) -> String {
        format!(
            "mysql://{}@{}:{}/{}",
            percent_encode(&self.user),
            self.host,
            self.port,
            percent_encode(db)
        )
    }

    fn spawn(opts: MariaDbOptions) -> Result<MariaDbServer, Error> {
        let mariadbd = find_program("mariadbd", &["/usr/sbin", "/usr/bin", "/usr/local/sbin"])?;
        let template = template_datadir(&mariadbd)?;
        let temp = make_temp_dir()?;
        let root = temp.path().to_path_buf();
        let data_dir = root.join("data");
        copy_dir(&template, &data_dir)?;

        let server_id = opts.server_id.unwrap_or_else(unique_server_id);
        let socket_path = root.join("mariadbd.sock");
        let pid_path = root.join("mariadbd.pid");
        let mut args = vec![
            // Must come first: ignore /etc/mysql and ~/.my.cnf (the machine's own server).
            "--no-defaults".to_owned(),
            format!("--datadir={}", data_dir.display()),
            format!("--socket={}", socket_path.display()),
            format!("--pid-file={}", pid_path.display()),
            format!("--tmpdir={}", root.display()),
            "--bind-address=127.0.0.1".to_owned(),
            "--skip-name-resolve".to_owned(),
            format!("--server-id={server_id}"),
            format!("--binlog-format={}", opts.binlog_format),
            format!("--binlog-row-image={}", opts.binlog_row_image),
            format!("--binlog-checksum={}", opts.binlog_checksum),
            "--character-set-server=utf8mb4".to_owned(),
            "--collation-server=utf8mb4_general_ci".to_owned(),
            "--default-time-zone=+00:00".to_owned(),
            "--max-connections=200".to_owned(),
            // Throwaway data: never wait for the disk.
            "--sync-binlog=0".to_owned(),
            // 2: written to the OS at commit, so a killed server loses nothing (kill()).
            "--innodb-flush-log-at-trx-commit=2".to_owned(),
            "--innodb-doublewrite=0".to_owned(),
        ];
        if opts.log_bin {
            args.push(format!("--log-bin={}", data_dir.join("binlog").display()));
        }
        args.extend(INNODB_ARGS.iter().map(|&arg| arg.to_owned()));
        if os::is_root() {
            // mariadbd refuses to run as root unless told to.
            args.push("--user=root".to_owned());
        }
        let ca_cert = if opts.tls {
            let dir = root.join("tls");
            let io = |action: &'static str, path: &Path| {
                let path = path.to_path_buf();
                move |source| Error::Io {
                    action,
                    path,
                    source,
                }
            };
            std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
            let certs = crate::tls::generate()?;
            let ca = dir.join("ca.crt");
            let cert = dir.join("server.crt");
            let key = dir.join("server.key");
            for (path, pem) in [
                (&ca, &certs.ca_cert_pem),
                (&cert, &certs.server_cert_pem),
                (&key, &certs.server_key_pem),
            ] {
                std::fs::write(path, pem).map_err(io("write", path))?;
            }
            args.push(format!("--ssl-ca={}", ca.display()));
            args.push(format!("--ssl-cert={}", cert.display()));
            args.push(format!("--ssl-key={}", key.display()));
            Some(ca)
        } else {
            None
        };
        args.extend(opts.extra_args.iter().cloned());

        let local = LocalServer {
            mariadbd,
            data_dir,
            socket_path,
            pid_path,
            log_path: root.join("mariadbd.log"),
            server_id,
            limited_user: opts.limited_user,
            ca_cert,
            args,
            child: Mutex::new(None),
            temp,
        };

        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = pick_port().map_err(|source| Error::Io {
                action: "bind a free port on",
                path: PathBuf::from("127.0.0.1"),
                source,
            })?;
            match local.start_on(port, &opts.password, true) {
                Ok(child) => {
                    *lock(&local.child) = Some(child);
                    let base_opts: Opts = OptsBuilder::default()
                        .ip_or_hostname("127.0.0.1")
                        .tcp_port(port)
                        .user(Some(SUPERUSER))
                        .pass(Some(opts.password.as_str()))
                        .prefer_socket(false)
                        .into();
                    tracing::debug!(port, dir = %local.temp.path().display(), "test mariadb started");
                    return Ok(MariaDbServer {
                        host: "127.0.0.1".to_owned(),
                        port,
                        user: SUPERUSER.to_owned(),
                        password: opts.password,
                        base_opts,
                        backend: Backend::Local(Box::new(local)),
                    });
                }
                Err(Error::MariaDbExited { log_tail, .. }) if is_port_conflict(&log_tail) => {
                    tracing::debug!(port, "test mariadb lost the race for its port; retrying");
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

impl std::fmt::Debug for MariaDbServer {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaDbServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("external", &self.is_external())
            .field("temp_dir", &self.temp_dir())
            .finish_non_exhaustive()
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        match &self.backend {
            Backend::Local(local) => {
                let mut child = lock(&local.child);
                if let Some(running) = child.as_mut() {
                    // Its files are removed next: no need for a clean shutdown.
                    if let Err(error) = local.shutdown(running, None) {
                        tracing::warn!(%error, "could not stop test mariadb");
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
                let opts = self.opts("mysql");
                let dropped = run_blocking(async move {
                    let mut conn = Conn::new(opts).await?;
                    for db in created {
                        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&db)))
                            .await?;
                    }
                    conn.disconnect().await
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

impl LocalServer {
    /// Spawns `mariadbd` on `port` and waits until it accepts connections over its unix
    /// socket. On the `first` start, `root` has no password yet: set it (and create the
    /// limited user); later starts log in with `password`.
    fn start_on(&self, port: u16, password: &str, first: bool) -> Result<Child, Error> {
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
        // A pid file left by a killed server would make this one refuse to start.
        let _ = fs::remove_file(&self.pid_path);
        let mut child = Command::new(&self.mariadbd)
            .args(&self.args)
            .arg(format!("--port={port}"))
            .current_dir(self.temp.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| Error::Io {
                action: "run",
                path: self.mariadbd.clone(),
                source,
            })?;

        match self.wait_ready(&mut child, password, first) {
            Ok(()) => Ok(child),
            Err(error) => {
                // Don't leave a half-started server behind.
                let _ = self.shutdown(&mut child, None);
                Err(match error {
                    ReadyError::Exited(status) => Error::MariaDbExited {
                        port,
                        status,
                        log_tail: self.log_tail(log_start),
                    },
                    ReadyError::Timeout => Error::MariaDbStartTimeout {
                        port,
                        timeout_s: READY_TIMEOUT.as_secs(),
                        log_tail: self.log_tail(log_start),
                    },
                    ReadyError::Setup(action, source) => Error::MariaDb {
                        action: action.to_owned(),
                        url: format!("unix socket {}", self.socket_path.display()),
                        source: Box::new(source),
                    },
                    ReadyError::Io(source) => Error::Io {
                        action: "wait for",
                        path: self.mariadbd.clone(),
                        source,
                    },
                })
            }
        }
    }

    fn socket_opts(&self, password: Option<&str>) -> Opts {
        OptsBuilder::default()
            .socket(Some(self.socket_path.display().to_string()))
            .user(Some(SUPERUSER))
            .pass(password)
            .db_name(Some("mysql"))
            .into()
    }

    /// Polls a unix-socket connection until one succeeds, the child exits or
    /// [`READY_TIMEOUT`] passes; then runs the first-start setup.
    fn wait_ready(&self, child: &mut Child, password: &str, first: bool) -> Result<(), ReadyError> {
        let opts = self.socket_opts((!first).then_some(password));
        let limited_user = self.limited_user;
        let deadline = Instant::now() + READY_TIMEOUT;
        run_blocking(async move {
            let mut conn = loop {
                if let Some(status) = child.try_wait()? {
                    return Err(ReadyError::Exited(status));
                }
                // The socket appears only once the server listens; no connect before it.
                if self.socket_path.exists() {
                    if let Ok(conn) = Conn::new(opts.clone()).await {
                        break conn;
                    }
                }
                if Instant::now() >= deadline {
                    return Err(ReadyError::Timeout);
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            };
            if first {
                setup_accounts(&mut conn, password, limited_user).await?;
            }
            let _ = conn.disconnect().await;
            Ok(())
        })
        .map_err(ReadyError::Io)?
    }

    /// With `password`: `SHUTDOWN` over the socket and wait for the exit, killing the
    /// server if that fails or takes longer than [`STOP_TIMEOUT`]. Without: `kill -9`.
    fn shutdown(&self, child: &mut Child, password: Option<&str>) -> Result<(), Error> {
        let pid = child.id();
        let io_error = |source| Error::Io {
            action: "stop",
            path: self.data_dir.clone(),
            source,
        };
        if child.try_wait().map_err(io_error)?.is_some() {
            return Ok(());
        }
        if let Some(password) = password {
            let opts = self.socket_opts(Some(password));
            let sent = run_blocking(async move {
                let mut conn = Conn::new(opts).await?;
                // The server closes the connection while answering; the error is expected.
                let _ = conn.query_drop("SHUTDOWN").await;
                Ok::<(), mysql_async::Error>(())
            });
            match sent {
                Ok(Ok(())) => {
                    let deadline = Instant::now() + STOP_TIMEOUT;
                    while Instant::now() < deadline {
                        if child.try_wait().map_err(io_error)?.is_some() {
                            return Ok(());
                        }
                        std::thread::sleep(POLL_INTERVAL);
                    }
                    tracing::warn!(pid, "test mariadb did not shut down in time; killing it");
                }
                Ok(Err(error)) => {
                    tracing::warn!(pid, %error, "could not send SHUTDOWN to test mariadb; killing it")
                }
                Err(error) => {
                    tracing::warn!(pid, %error, "could not send SHUTDOWN to test mariadb; killing it")
                }
            }
        }
        if let Err(error) = os::signal(pid, Signal::Kill) {
            if error.raw_os_error() != Some(libc::ESRCH) {
                return Err(io_error(error));
            }
        }
        // SIGKILL cannot be ignored; a wait that never returns means a kernel problem.
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if child.try_wait().map_err(io_error)?.is_some() {
                return Ok(());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        Err(Error::MariaDbStopTimeout {
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

/// First start: give every `root` account the password, and create the limited user.
async fn setup_accounts(
    conn: &mut Conn,
    password: &str,
    limited_user: bool,
) -> Result<(), ReadyError> {
    let setup = |action: &'static str| move |error| ReadyError::Setup(action, error);
    let hosts: Vec<String> = conn
        // Entries for the machine's host name are inert under --skip-name-resolve (and
        // ALTER USER refuses them).
        .query(
            "SELECT Host FROM mysql.user WHERE User = 'root' \
             AND Host IN ('localhost', '127.0.0.1', '::1', '%')",
        )
        .await
        .map_err(setup("list the root accounts"))?;
    for host in hosts {
        conn.query_drop(format!(
            "ALTER USER 'root'@{} IDENTIFIED BY {}",
            quote_literal(&host),
            quote_literal(password)
        ))
        .await
        .map_err(setup("set the root password"))?;
    }
    if limited_user {
        // Enough to snapshot tables, nothing to read the binlog with.
        conn.query_drop(format!(
            "CREATE USER '{LIMITED_USER}'@'%' IDENTIFIED BY {}; \
             GRANT SELECT, RELOAD, SHOW DATABASES, SHOW VIEW, LOCK TABLES ON *.* \
             TO '{LIMITED_USER}'@'%'",
            quote_literal(LIMITED_PASSWORD)
        ))
        .await
        .map_err(setup("create the limited user"))?;
    }
    Ok(())
}

enum ReadyError {
    Exited(std::process::ExitStatus),
    Timeout,
    Setup(&'static str, mysql_async::Error),
    Io(io::Error),
}

impl From<io::Error> for ReadyError {
    fn from(error: io::Error) -> Self {
        ReadyError::Io(error)
    }
}

fn is_port_conflict(log_tail: &str) -> bool {
    log_tail.contains("Address already in use") || log_tail.contains("Can't start server: Bind")
}

/// `name` in `$SLUICE_MARIADB_BINDIR`, then `PATH`, then `fallback_dirs`.
fn find_program(name: &str, fallback_dirs: &[&str]) -> Result<PathBuf, Error> {
    let from_env = std::env::var_os(MARIADB_BINDIR_ENV).map(PathBuf::from);
    let from_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    from_env
        .into_iter()
        .chain(from_path)
        .chain(fallback_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .ok_or(Error::MariaDbBinariesNotFound)
}

/// The datadir `mariadb-install-db` made for this user and server version, built on first
/// use. Shared by all processes: it is only ever copied, never run on.
fn template_datadir(mariadbd: &Path) -> Result<PathBuf, Error> {
    // One install per process at a time; other processes race through the rename below.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = lock(&BUILDING);

    let version = Command::new(mariadbd)
        .args(["--no-defaults", "--version"])
        .output()
        .map_err(|source| Error::Io {
            action: "run",
            path: mariadbd.to_path_buf(),
            source,
        })?;
    let mut hasher = DefaultHasher::new();
    version.stdout.hash(&mut hasher);
    mariadbd.hash(&mut hasher);
    let base = temp_base();
    let template = base.join(format!(
        "sluice-mariadb-template-v{TEMPLATE_FORMAT}-{}-{:016x}",
        effective_uid(),
        hasher.finish()
    ));
    if template.join(TEMPLATE_MARKER).is_file() {
        return Ok(template);
    }

    let install_db = find_program("mariadb-install-db", &["/usr/bin", "/usr/local/bin"])?;
    let staging = tempfile::Builder::new()
        .prefix("sluice-mariadb-install-")
        .tempdir_in(&base)
        .map_err(|source| Error::Io {
            action: "create a temp dir in",
            path: base.clone(),
            source,
        })?;
    let data = staging.path().join("data");
    let mut command = Command::new(&install_db);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ])
        .args(INNODB_ARGS)
        .current_dir(staging.path())
        .stdin(Stdio::null());
    if os::is_root() {
        command.arg("--user=root");
    }
    let output = command.output().map_err(|source| Error::Io {
        action: "run",
        path: install_db.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::Command {
            program: install_db.display().to_string(),
            status: output.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    fs::write(data.join(TEMPLATE_MARKER), b"").map_err(|source| Error::Io {
        action: "write",
        path: data.join(TEMPLATE_MARKER),
        source,
    })?;
    match fs::rename(&data, &template) {
        Ok(()) => Ok(template),
        // Another process finished first; its template is as good as ours.
        Err(_) if template.join(TEMPLATE_MARKER).is_file() => Ok(template),
        Err(source) => Err(Error::Io {
            action: "move the installed template datadir to",
            path: template,
            source,
        }),
    }
}

/// Our effective uid (the owner of `/proc/self`), to keep templates of different users
/// apart; 0 if unknown.
fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|meta| meta.uid())
        .unwrap_or(0)
}

/// Copies the directory tree `from` to the new directory `to` (files and directories only:
/// a datadir has nothing else).
fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    fs::create_dir(to).map_err(io_error("create", to))?;
    for entry in fs::read_dir(from).map_err(io_error("read", from))? {
        let entry = entry.map_err(io_error("read", from))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(io_error("stat", &source))?
            .is_dir()
        {
            copy_dir(&source, &target)?;
        } else {
            fs::copy(&source, &target).map_err(io_error("copy", &source))?;
        }
    }
    Ok(())
}

/// `$TMPDIR`, or `/tmp` when the socket path would not fit in sun_path.
fn temp_base() -> PathBuf {
    let preferred = std::env::temp_dir();
    if preferred.as_os_str().len() + 40 <= MAX_SOCKET_PATH_BYTES {
        preferred
    } else {
        PathBuf::from("/tmp")
    }
}

fn make_temp_dir() -> Result<TempDir, Error> {
    let base = temp_base();
    tempfile::Builder::new()
        .prefix("sluice-mariadb-")
        .tempdir_in(&base)
        .map_err(|source| Error::Io {
            action: "create a temp dir in",
            path: base,
            source,
        })
}

/// A `server_id` no other server of this process got: pid in the high bits, a counter in
/// the low ones (never 0, which disables binary logging for replication).
fn unique_server_id() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x3ff;
    ((std::process::id() & 0xf_ffff) << 10 | counter).max(1)
}

/// A SQL string literal (NO_BACKSLASH_ESCAPES is off by default, so escape `\` too).
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_literal("it's a \\"), "'it''s a \\\\'");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(percent_encode("p@ss:w/rd"), "p%40ss%3Aw%2Frd");
    }

    #[test]
    fn port_conflict_is_recognised() {
        assert!(is_port_conflict(
            "[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use"
        ));
        assert!(!is_port_conflict("[ERROR] Aborting"));
    }

    #[test]
    fn server_ids_are_unique_and_non_zero() {
        let a = unique_server_id();
        let b = unique_server_id();
        assert_ne!(a, b);
        assert!(a > 0 && b > 0);
    }
}
