//! The one error type of this crate. Messages are lowercase and say what to do.

use std::path::PathBuf;
use std::process::ExitStatus;

/// Why a throwaway server could not be started, reached or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Postgres server binaries on this machine.
    #[error(
        "postgres server binaries (initdb, postgres) not found: install the Debian package \
         `postgresql` (searched PATH, `pg_config --bindir`, /usr/lib/postgresql/*/bin; \
         or set SLUICE_PG_BINDIR)"
    )]
    BinariesNotFound,

    /// Running as root, but there is no unprivileged OS user to run Postgres as.
    #[error(
        "postgres refuses to run as root and the OS user `{user}` does not exist: \
         install the Debian package `postgresql` (it creates the user) or run tests as non-root"
    )]
    OsUserNotFound { user: String },

    /// A file-system or process operation failed.
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `initdb` (or another helper program) exited with an error.
    #[error("`{program}` failed with {status}; its output:\n{output}")]
    Command {
        program: String,
        status: ExitStatus,
        output: String,
    },

    /// The server process exited while starting.
    #[error("postgres exited with {status} while starting on port {port}; log tail:\n{log_tail}")]
    Exited {
        port: u16,
        status: ExitStatus,
        log_tail: String,
    },

    /// The server did not accept connections in time.
    #[error(
        "postgres on port {port} did not accept connections within {timeout_s}s \
         (machine overloaded? run fewer tests at once); log tail:\n{log_tail}"
    )]
    StartTimeout {
        port: u16,
        timeout_s: u64,
        log_tail: String,
    },

    /// The server did not shut down in time.
    #[error("postgres (pid {pid}) did not stop within {timeout_s}s")]
    StopTimeout { pid: u32, timeout_s: u64 },

    /// No free loopback port could be bound after several tries.
    #[error("no free port on 127.0.0.1 after {attempts} attempts; last log tail:\n{log_tail}")]
    NoFreePort { attempts: u32, log_tail: String },

    /// Generating the test CA or server certificate failed.
    #[error("could not generate the test TLS certificates")]
    Tls(#[source] rcgen::Error),

    /// The external server URL could not be parsed.
    #[error(
        "invalid postgres url (check SLUICE_TEST_PG_URL): expected \
         postgres://user:pass@host:port/db"
    )]
    InvalidUrl {
        #[source]
        source: tokio_postgres::Error,
    },

    /// A SQL statement or connection to the server failed.
    #[error("could not {action} on {url}")]
    Postgres {
        action: String,
        /// Server url without the password.
        url: String,
        #[source]
        source: tokio_postgres::Error,
    },

    /// The operation needs a server this crate spawned.
    #[error(
        "{operation} is unsupported for an external server (SLUICE_TEST_PG_URL is set): \
         unset it to let the test spawn its own server"
    )]
    UnsupportedExternal { operation: &'static str },

    /// No MariaDB server binaries on this machine.
    #[error(
        "mariadb server binaries (mariadbd, mariadb-install-db) not found: install the Debian \
         package `mariadb-server` (searched $SLUICE_MARIADB_BINDIR, PATH, /usr/sbin, /usr/bin)"
    )]
    MariaDbBinariesNotFound,

    /// The MariaDB server process exited while starting.
    #[error("mariadbd exited with {status} while starting on port {port}; log tail:\n{log_tail}")]
    MariaDbExited {
        port: u16,
        status: ExitStatus,
        log_tail: String,
    },

    /// The MariaDB server did not accept connections in time.
    #[error(
        "mariadbd on port {port} did not accept connections within {timeout_s}s \
         (machine overloaded? run fewer tests at once); log tail:\n{log_tail}"
    )]
    MariaDbStartTimeout {
        port: u16,
        timeout_s: u64,
        log_tail: String,
    },

    /// The MariaDB server did not shut down in time, even after SIGKILL.
    #[error("mariadbd (pid {pid}) did not stop within {timeout_s}s")]
    MariaDbStopTimeout { pid: u32, timeout_s: u64 },

    /// The external MariaDB url could not be parsed.
    #[error(
        "invalid mariadb url (check SLUICE_TEST_MARIADB_URL): expected \
         mysql://user:pass@host:port/db"
    )]
    InvalidMariaDbUrl {
        #[source]
        source: mysql_async::UrlError,
    },

    /// A SQL statement or connection to the MariaDB server failed.
    #[error("could not {action} on {url}")]
    MariaDb {
        action: String,
        /// Server url without the password.
        url: String,
        /// Boxed: `mysql_async::Error` is large and would bloat every `Result` here.
        #[source]
        source: Box<mysql_async::Error>,
    },

    /// The operation needs a MariaDB server this crate spawned.
    #[error(
        "{operation} is unsupported for an external server (SLUICE_TEST_MARIADB_URL is set): \
         unset it to let the test spawn its own server"
    )]
    MariaDbUnsupportedExternal { operation: &'static str },

    /// The tansu Kafka broker is not installed.
    #[error(
        "the tansu kafka broker is not installed: run `cargo install tansu --version 0.6.0 \
         --features dynostore --locked` (searched $SLUICE_TANSU_BIN, PATH, $CARGO_HOME/bin, \
         ~/.cargo/bin), or set SLUICE_TEST_KAFKA_BOOTSTRAP to a running broker"
    )]
    TansuNotFound,

    /// The tansu broker exited while starting.
    #[error("tansu exited with {status} while starting on port {port}; log tail:\n{log_tail}")]
    KafkaExited {
        port: u16,
        status: ExitStatus,
        log_tail: String,
    },

    /// The tansu broker did not accept connections in time.
    #[error(
        "tansu on port {port} did not accept connections within {timeout_s}s \
         (machine overloaded? run fewer tests at once); log tail:\n{log_tail}"
    )]
    KafkaStartTimeout {
        port: u16,
        timeout_s: u64,
        log_tail: String,
    },

    /// A Kafka client operation against a test broker failed.
    #[error("could not {action} on kafka at {bootstrap}")]
    Kafka {
        action: String,
        bootstrap: String,
        #[source]
        source: Box<rdkafka::error::KafkaError>,
    },

    /// Reading a topic back did not find the records expected.
    #[error(
        "topic {topic} holds {got} record(s) where {expected} were expected \
         (missing records, duplicates, or a slow broker)"
    )]
    KafkaRead {
        topic: String,
        expected: usize,
        got: usize,
    },

    /// The operation needs a broker this crate spawned.
    #[error(
        "{operation} is unsupported for an external kafka broker (SLUICE_TEST_KAFKA_BOOTSTRAP \
         is set): unset it to let the test spawn its own broker"
    )]
    KafkaUnsupportedExternal { operation: &'static str },

    /// The Schema Registry test double could not start.
    #[error("could not {action}")]
    SchemaRegistry {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
}
