//! `sluice demo`: the main job on an embedded default. Starts a throwaway Postgres (from the
//! machine's own binaries), streams a table into the file sink, makes a few changes and prints
//! the change events as they arrive.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sluice::worker::{self, WorkerError};
use sluice_testcontainers::PgServer;
use tokio_util::sync::CancellationToken;

const CHANGES: &str = "
INSERT INTO customers VALUES (1, 'Alice', 'alice@example.com'), (2, 'Bob', NULL);
UPDATE customers SET email = 'bob@example.com' WHERE id = 2;
DELETE FROM customers WHERE id = 1;
";

pub async fn run(out: &Path, follow: bool, shutdown: CancellationToken) -> Result<(), WorkerError> {
    let setup =
        |what: &str, e: &dyn std::error::Error| WorkerError::Setup(format!("demo: {what}: {e}"));
    eprintln!("demo: starting a throwaway Postgres (initdb + postgres from this machine)…");
    let server = tokio::task::spawn_blocking(PgServer::start)
        .await
        .map_err(|e| setup("starting postgres", &e))?
        .map_err(|e| setup("starting postgres", &e))?;
    let db = server
        .create_database("demo")
        .await
        .map_err(|e| setup("creating a database", &e))?;
    let client = server
        .connect(&db)
        .await
        .map_err(|e| setup("connecting", &e))?;
    client
        .batch_execute(
            "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text)",
        )
        .await
        .map_err(|e| setup("creating the demo table", &e))?;
    let _ = std::fs::remove_file(out);
    let offsets =
        std::env::temp_dir().join(format!("sluice-demo-offsets-{}.dat", std::process::id()));
    let worker_map: BTreeMap<String, String> = [
        ("sink", "file".to_string()),
        ("sink.file.path", out.display().to_string()),
        (
            "offset.storage.file.filename",
            offsets.display().to_string(),
        ),
        ("offset.flush.interval.ms", "1000".to_string()),
        ("value.converter.schemas.enable", "false".to_string()),
        ("key.converter.schemas.enable", "false".to_string()),
        // The demo serves no REST API (port 8083 may be taken by a real worker).
        ("listeners", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let connector_map: BTreeMap<String, String> = [
        ("name", "demo".to_string()),
        (
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector".to_string(),
        ),
        ("database.hostname", server.host().to_string()),
        ("database.port", server.port().to_string()),
        ("database.user", server.user().to_string()),
        ("database.password", server.password().to_string()),
        ("database.dbname", db.clone()),
        ("topic.prefix", "demo".to_string()),
        ("slot.name", "sluice_demo".to_string()),
        ("publication.autocreate.mode", "filtered".to_string()),
        ("table.include.list", "public.customers".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let connector_maps = vec![connector_map];
    let (worker_config, _) = worker::parse_configs(&worker_map, &connector_maps)?;
    let stop = shutdown.child_token();
    let task = tokio::spawn(worker::run(
        worker_config,
        connector_maps,
        stop.clone(),
        worker::RunOptions::default(),
    ));
    // The offsets file's sibling keeps the demo's connector config; leave nothing behind.
    let saved_configs = offsets.with_file_name(format!(
        "{}.connectors.json",
        offsets.file_name().unwrap_or_default().to_string_lossy()
    ));
    // Wait until streaming is set up (the slot exists and is active) before changing data.
    let started = Instant::now();
    loop {
        let active = client
            .query_opt(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_demo' AND active",
                &[],
            )
            .await
            .map_err(|e| setup("watching the slot", &e))?;
        if active.is_some() {
            break;
        }
        if task.is_finished() || started.elapsed() > Duration::from_secs(30) {
            stop.cancel();
            return task
                .await
                .map_err(|e| setup("connector task", &e))?
                .and(Err(WorkerError::Setup(
                    "demo: the connector did not start streaming within 30 s".into(),
                )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("demo: streaming; applying:{CHANGES}");
    client
        .batch_execute(CHANGES)
        .await
        .map_err(|e| setup("applying changes", &e))?;
    // 2 inserts, 1 update, 1 delete + its tombstone.
    let expected = 5;
    let started = Instant::now();
    let mut printed = 0;
    while started.elapsed() < Duration::from_secs(30) {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        for line in text.lines().skip(printed) {
            println!("{line}");
            printed += 1;
        }
        if printed >= expected || task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("demo: {printed} records in {}", out.display());
    if follow {
        eprintln!(
            "demo: still streaming; change data with: psql '{}' (Ctrl-C to stop)",
            server.url(&db)
        );
        shutdown.cancelled().await;
    }
    stop.cancel();
    let result = task.await.map_err(|e| setup("connector task", &e))?;
    let _ = std::fs::remove_file(&offsets);
    let _ = std::fs::remove_file(&saved_configs);
    result?;
    if printed < expected {
        return Err(WorkerError::Setup(format!(
            "demo: expected {expected} records, saw {printed}"
        )));
    }
    Ok(())
}
