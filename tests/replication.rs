//! Replication protocol tests (written with the replication client): authentication
//! methods, TLS modes, replication commands and pgoutput streaming against throwaway
//! Postgres servers from `sluice-testcontainers`.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use bytes::Bytes;
use sluice::postgres::replication::{
    format_lsn, parse_lsn, publication_names_option, ConnectParams, ReplicationConnection,
    ReplicationError, ReplicationMessage, ReplicationStream, SlotSnapshot, SslMode,
};
use sluice::postgres::tls::connect_sql;
use sluice_testcontainers::{PgAuth, PgOptions, PgServer};

/// Bound on any single wait in these tests; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(60);

fn params(server: &PgServer, db: &str) -> ConnectParams {
    ConnectParams {
        host: server.host().to_owned(),
        port: server.port(),
        user: server.user().to_owned(),
        password: Some(server.password().to_owned()),
        dbname: db.to_owned(),
        sslmode: SslMode::Disable,
        sslrootcert: None,
        sslcert: None,
        sslkey: None,
        application_name: "sluice-test".to_owned(),
        options: vec![("DateStyle".to_owned(), "ISO".to_owned())],
        connect_timeout: Duration::from_secs(30),
    }
}

/// The newest pgoutput protocol version the server speaks.
fn max_proto_version(server_version_num: u32) -> u32 {
    match server_version_num {
        160_000.. => 4,
        150_000.. => 3,
        140_000.. => 2,
        _ => 1,
    }
}

/// Asserts that `params` can open a replication connection and run IDENTIFY_SYSTEM.
async fn assert_connects(params: &ConnectParams) -> Result<()> {
    let mut conn = ReplicationConnection::connect(params)
        .await
        .with_context(|| format!("connect with sslmode={}", params.sslmode))?;
    let system = conn.identify_system().await?;
    ensure!(system.dbname.as_deref() == Some(params.dbname.as_str()));
    conn.close().await?;
    Ok(())
}

fn expect_server_error(
    result: Result<ReplicationConnection, ReplicationError>,
    code: &str,
) -> Result<ReplicationError> {
    match result {
        Ok(_) => bail!("connection succeeded but SQLSTATE {code} was expected"),
        Err(e) => {
            ensure!(
                e.sqlstate() == Some(code),
                "expected SQLSTATE {code}, got {e:?}"
            );
            Ok(e)
        }
    }
}

#[tokio::test]
async fn trust_auth_and_identify_system() -> Result<()> {
    let server = PgServer::start()?;
    let db = server.create_database("repl_trust").await?;
    let mut params = params(&server, &db);
    if !server.is_external() {
        // Trust: no password is needed at all.
        params.password = None;
    }
    let mut conn = ReplicationConnection::connect(&params).await?;
    let version = conn
        .server_version_num()
        .context("server_version reported")?;
    ensure!(version >= 100_000, "server_version_num {version}");
    ensure!(conn
        .parameter("DateStyle")
        .is_some_and(|d| d.starts_with("ISO")));
    ensure!(conn.parameter("application_name") == Some("sluice-test"));

    let system = conn.identify_system().await?;
    ensure!(!system.systemid.is_empty() && system.systemid.bytes().all(|b| b.is_ascii_digit()));
    ensure!(system.timeline >= 1);
    ensure!(system.xlogpos > 0);
    ensure!(system.dbname.as_deref() == Some(db.as_str()));
    ensure!(parse_lsn(&format_lsn(system.xlogpos)) == Some(system.xlogpos));

    // SQL works in replication=database mode; an error leaves the connection usable.
    let rows = conn
        .simple_query("SELECT 1, NULL::text; SELECT 'two', 'x'")
        .await?;
    ensure!(
        rows == vec![vec![Some("two".to_owned()), Some("x".to_owned())]],
        "{rows:?}"
    );
    let err = conn
        .simple_query("SELECT * FROM no_such_table")
        .await
        .err()
        .context("error")?;
    ensure!(
        err.sqlstate() == Some("42P01") && !err.is_transient(),
        "{err:?}"
    );
    let rows = conn.simple_query("SHOW wal_level").await?;
    ensure!(rows == vec![vec![Some("logical".to_owned())]], "{rows:?}");
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn md5_auth_and_wrong_password() -> Result<()> {
    let server = PgServer::start_with(PgOptions {
        auth: PgAuth::Md5,
        password: "md5 secret".to_owned(),
        ..Default::default()
    })?;
    let db = server.create_database("repl_md5").await?;
    assert_connects(&params(&server, &db)).await?;

    let mut wrong = params(&server, &db);
    wrong.password = Some("not it".to_owned());
    let err = expect_server_error(ReplicationConnection::connect(&wrong).await, "28P01")?;
    ensure!(!err.is_transient());
    ensure!(
        err.to_string().contains("password authentication failed"),
        "{err}"
    );
    ensure!(
        !format!("{err} {err:?}").contains("not it"),
        "password leaked: {err:?}"
    );

    let mut missing = params(&server, &db);
    missing.password = None;
    let err = ReplicationConnection::connect(&missing)
        .await
        .err()
        .context("no password")?;
    ensure!(
        matches!(err, ReplicationError::Config(_)) && !err.is_transient(),
        "{err:?}"
    );
    ensure!(err.to_string().contains("password"), "{err}");
    Ok(())
}

#[tokio::test]
async fn scram_auth_and_wrong_password() -> Result<()> {
    let server = PgServer::start_with(PgOptions {
        auth: PgAuth::ScramSha256,
        password: "scräm secret".to_owned(),
        ..Default::default()
    })?;
    let db = server.create_database("repl_scram").await?;
    assert_connects(&params(&server, &db)).await?;

    let mut wrong = params(&server, &db);
    wrong.password = Some("not it".to_owned());
    let err = expect_server_error(ReplicationConnection::connect(&wrong).await, "28P01")?;
    ensure!(!err.is_transient());
    ensure!(err.to_string().contains("(SQLSTATE 28P01)"), "{err}");

    // The SQL helper authenticates the same way.
    let client = connect_sql(&params(&server, &db)).await?;
    let row = client.query_one("SELECT current_database()", &[]).await?;
    ensure!(row.get::<_, String>(0) == db);
    let err = connect_sql(&wrong).await.err().context("wrong password")?;
    ensure!(
        err.sqlstate() == Some("28P01") && !err.is_transient(),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn tls_modes() -> Result<()> {
    let opts = PgOptions {
        auth: PgAuth::ScramSha256,
        password: "tls secret".to_owned(),
        tls: true,
        ..Default::default()
    };
    let server = PgServer::start_with(opts.clone())?;
    let other = PgServer::start_with(opts)?;
    let ca = server.ca_cert_path().context("server has a ca")?.to_owned();
    let wrong_ca = other
        .ca_cert_path()
        .context("other server has a ca")?
        .to_owned();
    let db = server.create_database("repl_tls").await?;
    let base = params(&server, &db);

    for mode in [SslMode::Prefer, SslMode::Require] {
        assert_connects(&ConnectParams {
            sslmode: mode,
            ..base.clone()
        })
        .await?;
    }
    let verified = |mode, host: &str| ConnectParams {
        sslmode: mode,
        sslrootcert: Some(ca.clone()),
        host: host.to_owned(),
        ..base.clone()
    };
    assert_connects(&verified(SslMode::VerifyCa, "127.0.0.1")).await?;
    assert_connects(&verified(SslMode::VerifyFull, "127.0.0.1")).await?;
    assert_connects(&verified(SslMode::VerifyFull, "localhost")).await?;

    // The replication connection really is encrypted (SCRAM ran over it, with channel
    // binding when the server offers SCRAM-SHA-256-PLUS).
    let mut conn =
        ReplicationConnection::connect(&verified(SslMode::VerifyFull, "127.0.0.1")).await?;
    let rows = conn
        .simple_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .await?;
    ensure!(rows == vec![vec![Some("t".to_owned())]], "{rows:?}");
    conn.close().await?;

    // So is the SQL helper's.
    let client = connect_sql(&verified(SslMode::VerifyFull, "localhost")).await?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    ensure!(row.get::<_, bool>(0));

    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let wrong = ConnectParams {
            sslmode: mode,
            sslrootcert: Some(wrong_ca.clone()),
            ..base.clone()
        };
        let err = ReplicationConnection::connect(&wrong)
            .await
            .err()
            .context("wrong ca")?;
        ensure!(
            matches!(err, ReplicationError::Tls { .. }) && !err.is_transient(),
            "{err:?}"
        );
        let text = err.to_string();
        ensure!(
            text.contains("not signed by a trusted ca") && text.contains("sslrootcert"),
            "{text}"
        );
        ensure!(text.contains(&base.addr()), "{text}");

        let err = connect_sql(&wrong).await.err().context("wrong ca, sql")?;
        ensure!(
            matches!(err, ReplicationError::Tls { .. }) && !err.is_transient(),
            "{err:?}"
        );
    }
    // Without sslrootcert the public web roots are used, which do not know the test ca.
    let err = ReplicationConnection::connect(&ConnectParams {
        sslmode: SslMode::VerifyFull,
        ..base.clone()
    })
    .await
    .err()
    .context("web roots")?;
    ensure!(matches!(err, ReplicationError::Tls { .. }), "{err:?}");

    // A plain server refuses TLS: `require` fails clearly, `prefer` falls back.
    let plain = PgServer::start_with(PgOptions::default())?;
    let plain_db = plain.create_database("repl_notls").await?;
    let plain_params = params(&plain, &plain_db);
    assert_connects(&ConnectParams {
        sslmode: SslMode::Prefer,
        ..plain_params.clone()
    })
    .await?;
    let err = ReplicationConnection::connect(&ConnectParams {
        sslmode: SslMode::Require,
        ..plain_params
    })
    .await
    .err()
    .context("require against a plain server")?;
    ensure!(matches!(err, ReplicationError::Tls { .. }), "{err:?}");
    Ok(())
}

/// One pgoutput message: its tag and the XLogData header it came with.
#[derive(Debug)]
struct Received {
    tag: u8,
    wal_end: u64,
    data: Bytes,
}

/// Reads until `commits` transactions have committed, answering keepalives.
async fn read_transactions(
    stream: &mut ReplicationStream,
    commits: usize,
) -> Result<Vec<Received>> {
    let mut out = Vec::new();
    let mut seen = 0;
    while seen < commits {
        let message = tokio::time::timeout(WAIT, stream.next_message())
            .await
            .context("waiting for replication messages")??
            .context("stream ended early")?;
        match message {
            ReplicationMessage::XLogData { wal_end, data, .. } => {
                let tag = *data.first().context("empty XLogData")?;
                if tag == b'C' {
                    seen += 1;
                }
                out.push(Received { tag, wal_end, data });
            }
            ReplicationMessage::Keepalive {
                wal_end,
                reply_requested: true,
                ..
            } => {
                stream.send_standby_status(wal_end, 0, 0, false).await?;
            }
            ReplicationMessage::Keepalive { .. } => {}
        }
    }
    Ok(out)
}

/// Database, table, publication and slot for a streaming test.
async fn streaming_setup(
    server: &PgServer,
) -> Result<(ConnectParams, tokio_postgres::Client, String, String)> {
    let db = server.create_database("repl_stream").await?;
    let params = params(server, &db);
    let sql = connect_sql(&params).await?;
    let publication = PgServer::unique_name("pub");
    sql.batch_execute(&format!(
        "CREATE TABLE items (id int PRIMARY KEY, name text);
         CREATE PUBLICATION {publication} FOR TABLE items;"
    ))
    .await?;
    let slot = PgServer::unique_name("slot");
    let mut conn = ReplicationConnection::connect(&params).await?;
    let created = conn
        .create_logical_slot(&slot, "pgoutput", SlotSnapshot::NoExport)
        .await?;
    ensure!(
        created.slot_name == slot && created.consistent_point > 0,
        "{created:?}"
    );
    ensure!(created.snapshot_name.is_none(), "{created:?}");
    conn.close().await?;
    Ok((params, sql, publication, slot))
}

async fn start(
    params: &ConnectParams,
    slot: &str,
    publication: &str,
    proto: u32,
) -> Result<ReplicationStream> {
    let conn = ReplicationConnection::connect(params).await?;
    let options = vec![
        ("proto_version".to_owned(), proto.to_string()),
        (
            "publication_names".to_owned(),
            publication_names_option(&[publication]),
        ),
        ("messages".to_owned(), "true".to_owned()),
    ];
    Ok(conn.start_logical_replication(slot, 0, &options).await?)
}

async fn confirmed_flush_lsn(sql: &tokio_postgres::Client, slot: &str) -> Result<Option<u64>> {
    let row = sql
        .query_one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await?;
    Ok(row
        .get::<_, Option<String>>(0)
        .as_deref()
        .and_then(parse_lsn))
}

#[tokio::test]
async fn streams_pgoutput_and_confirms_flush() -> Result<()> {
    let server = PgServer::start()?;
    let (params, sql, publication, slot) = streaming_setup(&server).await?;
    sql.batch_execute(
        "BEGIN;
         INSERT INTO items VALUES (1, 'one'), (2, 'two');
         SELECT pg_logical_emit_message(true, 'sluice', 'hello');
         COMMIT;",
    )
    .await?;
    let before = confirmed_flush_lsn(&sql, &slot)
        .await?
        .context("slot has a flush lsn")?;

    let version = ReplicationConnection::connect(&params)
        .await?
        .server_version_num()
        .context("version")?;
    // Nothing is confirmed yet, so every protocol version replays the same transaction.
    let mut commit_end = 0;
    for proto in 1..=max_proto_version(version) {
        let mut stream = start(&params, &slot, &publication, proto).await?;
        let received = read_transactions(&mut stream, 1).await?;
        let tags: Vec<u8> = received.iter().map(|r| r.tag).collect();
        ensure!(
            tags == b"BRIIMC",
            "proto {proto}: tags {:?}",
            String::from_utf8_lossy(&tags)
        );
        let insert = &received[2].data;
        ensure!(
            insert.windows(3).any(|w| w == b"one"),
            "proto {proto}: insert {insert:?}"
        );
        commit_end = received.last().map(|r| r.wal_end).unwrap_or_default();
        stream.close().await?;
    }
    ensure!(
        commit_end > before,
        "commit end {} <= {}",
        format_lsn(commit_end),
        format_lsn(before)
    );

    // Confirm the transaction; the server records it as the slot's confirmed flush.
    let mut stream = start(&params, &slot, &publication, 1).await?;
    read_transactions(&mut stream, 1).await?;
    stream
        .send_standby_status(commit_end, commit_end, commit_end, false)
        .await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let flushed = confirmed_flush_lsn(&sql, &slot).await?.unwrap_or(0);
        if flushed >= commit_end {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "confirmed_flush_lsn stuck at {}",
            format_lsn(flushed)
        );
        // Standby status is applied asynchronously by the walsender; poll the condition.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.close().await?;

    // Restarting from the slot skips what was confirmed.
    sql.batch_execute("INSERT INTO items VALUES (3, 'three')")
        .await?;
    let mut stream = start(&params, &slot, &publication, 1).await?;
    let received = read_transactions(&mut stream, 1).await?;
    let inserts: Vec<&Received> = received.iter().filter(|r| r.tag == b'I').collect();
    ensure!(
        inserts.len() == 1 && inserts[0].data.windows(5).any(|w| w == b"three"),
        "{received:?}"
    );
    stream.close().await?;
    Ok(())
}

#[tokio::test]
async fn next_message_is_cancel_safe() -> Result<()> {
    const ROWS: usize = 3000;
    let server = PgServer::start()?;
    let (params, sql, publication, slot) = streaming_setup(&server).await?;
    sql.batch_execute(&format!(
        "INSERT INTO items SELECT g, repeat('x', 500) || g FROM generate_series(1, {ROWS}) g"
    ))
    .await?;
    let mut stream = start(&params, &slot, &publication, 1).await?;
    let mut inserts = 0;
    let mut cancelled = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {inserts} inserts"
        );
        tokio::select! {
            biased;
            message = stream.next_message() => match message?.context("stream ended")? {
                ReplicationMessage::XLogData { data, .. } => match data.first() {
                    Some(b'I') => inserts += 1,
                    Some(b'C') => break,
                    _ => {}
                },
                ReplicationMessage::Keepalive { .. } => {}
            },
            // Drops the pending next_message future at arbitrary points.
            _ = tokio::task::yield_now() => cancelled += 1,
        }
    }
    ensure!(inserts == ROWS, "{inserts} inserts");
    ensure!(cancelled > 0, "the read was never interrupted");
    stream.close().await?;
    Ok(())
}

#[tokio::test]
async fn active_slot_is_55006_and_close_releases_it() -> Result<()> {
    let server = PgServer::start()?;
    let (params, sql, publication, slot) = streaming_setup(&server).await?;
    let first = start(&params, &slot, &publication, 1).await?;

    let err = start(&params, &slot, &publication, 1)
        .await
        .err()
        .context("second start")?;
    let err = err.downcast::<ReplicationError>()?;
    ensure!(
        err.sqlstate() == Some("55006") && !err.is_transient(),
        "{err:?}"
    );
    ensure!(err.to_string().contains(&slot), "{err}");

    // A missing slot is a definite error too.
    let err = start(&params, "no_such_slot", &publication, 1)
        .await
        .err()
        .context("missing")?;
    let err = err.downcast::<ReplicationError>()?;
    ensure!(
        err.sqlstate() == Some("42704") && !err.is_transient(),
        "{err:?}"
    );

    first.close().await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let row = sql
            .query_one(
                "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await?;
        if !row.get::<_, bool>(0) {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "slot still active after close"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = start(&params, &slot, &publication, 1).await?;
    again.close().await?;
    Ok(())
}
