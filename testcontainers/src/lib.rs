//! Throwaway real servers for tests, started as local processes (there is no Docker
//! on the machines this project runs on).
//!
//! ```text
//! PgServer::start() --> find binaries --> temp dir (data, socket, log, tls)
//!     --> initdb --> postgresql.conf / pg_hba.conf --> postgres -p <free port>
//!     --> poll a connection until ready --> set the superuser password
//! drop(PgServer) --> SIGQUIT (immediate) --> reap --> remove the temp dir
//! ```
//!
//! Every server has its own temp dir and loopback port, and [`PgServer::unique_name`]
//! gives every test its own database / slot / publication names, so tests run in
//! parallel as threads (`cargo test`) or processes (`cargo nextest`).
//!
//! [`reconcile`] rebuilds a table from its change events and compares it with the real table.
//!
//! [`MariaDbServer`] does the same for MariaDB (`mariadbd` from a shared
//! `mariadb-install-db` template datadir, copied per server).
//!
//! Set `SLUICE_TEST_PG_URL` / `SLUICE_TEST_MARIADB_URL` to reuse a running server instead
//! of spawning one.

mod binaries;
mod error;
pub mod kafka;
mod local;
mod mariadb;
mod names;
mod os;
mod postgres;
pub mod reconcile;
mod schema_registry;
pub mod tls;

pub use error::Error;
pub use mariadb::{
    MariaDbOptions, MariaDbServer, LIMITED_PASSWORD, LIMITED_USER, MARIADB_BINDIR_ENV,
    MARIADB_URL_ENV,
};
pub use postgres::{PgAuth, PgOptions, PgServer, PG_URL_ENV};
pub use reconcile::{diff, from_table, ReconcileError, TableState};
pub use schema_registry::{
    Compatibility, InjectedFailure, SchemaRegistry, SchemaRegistryOptions,
    SCHEMA_REGISTRY_CONTENT_TYPE,
};
