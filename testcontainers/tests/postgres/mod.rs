//! `PgServer`: start, auth, TLS, restart, cleanup, external servers.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use sluice_testcontainers::{Error, PgAuth, PgOptions, PgServer};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

async fn show(server: &PgServer, db: &str, setting: &str) -> Result<String> {
    let client = server.connect(db).await?;
    let row = client.query_one(&format!("SHOW {setting}"), &[]).await?;
    Ok(row.get(0))
}

fn process_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; an unreaped one would be a zombie ("Z").
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test]
async fn two_servers_start_in_parallel_with_logical_decoding() -> Result<()> {
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(PgServer::start);
        let b = scope.spawn(PgServer::start);
        (a.join(), b.join())
    });
    let a = a.expect("thread a")?;
    let b = b.expect("thread b")?;
    if !a.is_external() {
        assert_ne!(a.port(), b.port());
    }

    for server in [&a, &b] {
        let db = server.create_database("Parallel-Test").await?;
        assert!(db.starts_with("parallel_test_"), "{db}");
        assert_eq!(show(server, &db, "wal_level").await?, "logical");
        if !server.is_external() {
            assert_eq!(show(server, &db, "timezone").await?, "UTC");
        }

        let client = server.connect(&db).await?;
        let slot = PgServer::unique_name("slot");
        let row = client
            .query_one(
                "SELECT slot_name::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .await?;
        assert_eq!(row.get::<_, String>(0), slot);
        client
            .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
            .await?;

        // The url works with a plain tokio-postgres connect.
        let (client, connection) = tokio_postgres::connect(&server.url(&db), NoTls).await?;
        tokio::spawn(connection);
        let one: i32 = client.query_one("SELECT 1", &[]).await?.get(0);
        assert_eq!(one, 1);
    }
    Ok(())
}

async fn check_password_auth(auth: PgAuth, stored_prefix: &str) -> Result<()> {
    let password = "it's a s3cret: @/?";
    let server = PgServer::start_with(PgOptions {
        auth,
        password: password.to_owned(),
        ..PgOptions::default()
    })?;
    assert_eq!(server.password(), password);

    // Right password, through the helper and through the (percent-encoded) url.
    let client = server.connect("postgres").await?;
    let (url_client, connection) = tokio_postgres::connect(&server.url("postgres"), NoTls).await?;
    tokio::spawn(connection);
    url_client.simple_query("SELECT 1").await?;

    let stored: String = client
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'",
            &[],
        )
        .await?
        .get(0);
    ensure!(
        stored.starts_with(stored_prefix),
        "password stored as {}",
        &stored[..stored.len().min(14)]
    );

    for wrong in ["wrong", ""] {
        let mut config = server.config("postgres");
        config.password(wrong);
        let error = config
            .connect(NoTls)
            .await
            .err()
            .context("a wrong password was accepted")?;
        // An empty password is refused by the client before the server checks it.
        if !wrong.is_empty() {
            assert_eq!(error.code(), Some(&SqlState::INVALID_PASSWORD), "{error}");
        }
    }

    // Replication connections use the same method (pg_hba `replication` line).
    let hba: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_hba_file_rules \
             WHERE 'replication' = ANY(database) AND type = 'host' AND auth_method = $1",
            &[&if matches!(auth, PgAuth::Md5) {
                "md5"
            } else {
                "scram-sha-256"
            }],
        )
        .await?
        .get(0);
    assert_eq!(hba, 1);
    Ok(())
}

#[tokio::test]
async fn md5_server_checks_the_password() -> Result<()> {
    check_password_auth(PgAuth::Md5, "md5").await
}

#[tokio::test]
async fn scram_server_checks_the_password() -> Result<()> {
    check_password_auth(PgAuth::ScramSha256, "SCRAM-SHA-256$").await
}

#[tokio::test]
async fn tls_server_serves_a_certificate_signed_by_its_ca() -> Result<()> {
    let server = PgServer::start_with(PgOptions {
        tls: true,
        extra_conf: vec![("work_mem".to_owned(), "8MB".to_owned())],
        ..PgOptions::default()
    })?;
    assert_eq!(show(&server, "postgres", "ssl").await?, "on");
    assert_eq!(show(&server, "postgres", "work_mem").await?, "8MB");
    let ca = server.ca_cert_path().context("tls server without a CA")?;
    assert!(ca.is_file());

    // libpq checks the chain and the SAN for both the DNS name and the IP address.
    let psql = server.bin_dir().context("no bin dir")?.join("psql");
    if !psql.is_file() {
        eprintln!(
            "skipping the psql verify-full check: {} missing",
            psql.display()
        );
        return Ok(());
    }
    for host in ["localhost", "127.0.0.1"] {
        let out = Command::new(&psql)
            .arg(format!(
                "host={host} port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
                server.port(),
                ca.display()
            ))
            .args(["-XtAc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"])
            .env_remove("PGSSLMODE")
            .output()?;
        ensure!(
            out.status.success(),
            "psql to {host} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "t");
    }
    Ok(())
}

#[tokio::test]
async fn stop_and_start_again_keep_port_and_data() -> Result<()> {
    let server = PgServer::start_with(PgOptions {
        auth: PgAuth::ScramSha256,
        ..PgOptions::default()
    })?;
    let db = server.create_database("restart").await?;
    let client = server.connect(&db).await?;
    client
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
        .await?;
    let port = server.port();

    server.stop()?;
    assert!(server.pid().is_none());
    assert!(client.simple_query("SELECT 1").await.is_err());
    assert!(server.connect(&db).await.is_err());
    server.stop()?; // stopping twice is a no-op

    server.start_again()?;
    server.start_again()?; // and so is starting a running server
    assert_eq!(server.port(), port);
    let client = server.connect(&db).await?;
    let count: i64 = client
        .query_one("SELECT count(*) FROM t", &[])
        .await?
        .get(0);
    assert_eq!(count, 2);
    Ok(())
}

#[tokio::test]
async fn drop_stops_the_server_and_removes_its_files() -> Result<()> {
    let server = PgServer::start()?;
    if server.is_external() {
        return Ok(());
    }
    let dir = server.temp_dir().context("no temp dir")?.to_path_buf();
    let pid = server.pid().context("no pid")?;
    let client = server.connect("postgres").await?;
    let backend_pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);
    let backend_pid = u32::try_from(backend_pid)?;
    assert!(dir.join("data").join("PG_VERSION").is_file());
    assert!(process_alive(pid) && process_alive(backend_pid));

    drop(server);
    assert!(!Path::new(&dir).exists(), "{} left behind", dir.display());
    assert!(!process_alive(pid), "postmaster {pid} still running");
    assert!(
        !process_alive(backend_pid),
        "backend {backend_pid} still running"
    );
    Ok(())
}

#[tokio::test]
async fn external_server_is_used_not_managed() -> Result<()> {
    let owner = PgServer::start_with(PgOptions {
        auth: PgAuth::Md5,
        ..PgOptions::default()
    })?;
    let external = PgServer::from_url(&format!("{}?application_name=ext", owner.url("postgres")))?;
    assert!(external.is_external());
    assert_eq!(external.port(), owner.port());
    assert_eq!(external.password(), owner.password());
    assert!(external.url("x").ends_with("/x?application_name=ext"));
    assert!(external.ca_cert_path().is_none() && external.temp_dir().is_none());

    let db = external.create_database("ext").await?;
    let app: String = external
        .connect(&db)
        .await?
        .query_one("SHOW application_name", &[])
        .await?
        .get(0);
    assert_eq!(app, "ext");

    for result in [external.stop(), external.start_again()] {
        let error = result
            .err()
            .context("stop/start_again on an external server")?;
        assert!(matches!(error, Error::UnsupportedExternal { .. }));
        assert!(error
            .to_string()
            .contains("unsupported for an external server"));
    }

    drop(external);
    let exists: bool = owner
        .connect("postgres")
        .await?
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)",
            &[&db],
        )
        .await?
        .get(0);
    assert!(
        !exists,
        "database {db} created through the external server was not dropped"
    );
    Ok(())
}

#[test]
fn start_works_without_a_runtime() -> Result<()> {
    let server = PgServer::start_with(PgOptions {
        wal_level: "replica".to_owned(),
        ..PgOptions::default()
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    assert_eq!(
        runtime.block_on(show(&server, "postgres", "wal_level"))?,
        "replica"
    );
    Ok(())
}

#[test]
fn missing_binaries_error_says_what_to_install() {
    let message = Error::BinariesNotFound.to_string();
    assert!(
        message.contains("install the Debian package `postgresql`"),
        "{message}"
    );
}

#[test]
fn start_again_on_a_taken_port_reports_the_conflict() -> Result<()> {
    let server = PgServer::start()?;
    if server.is_external() {
        return Ok(());
    }
    server.stop()?;
    // What a parallel test that won the race for the port looks like; a fresh start retries
    // on another port when it sees this, a restart must keep its port and so reports it.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", server.port()))?;
    let error = server
        .start_again()
        .err()
        .context("started on a taken port")?;
    let Error::Exited { log_tail, .. } = &error else {
        anyhow::bail!("unexpected error: {error}");
    };
    assert!(log_tail.contains("Address already in use"), "{log_tail}");
    assert!(server.pid().is_none());

    drop(squatter);
    server.start_again()?;
    assert!(server.pid().is_some());
    Ok(())
}

#[test]
fn debug_hides_the_password() -> Result<()> {
    let server = PgServer::start_with(PgOptions {
        auth: PgAuth::Md5,
        password: "hunter2-secret".to_owned(),
        ..PgOptions::default()
    })?;
    let debug = format!("{server:?}");
    assert!(debug.contains(&server.port().to_string()), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
    Ok(())
}
