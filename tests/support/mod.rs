//! Shared helpers of the end-to-end tests: SQL scripts, waiting on conditions, reading sinks.

#![allow(dead_code)]

pub mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `../shared` beside the repository (present on developer machines and in CI).
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Split a SQL script into statements (`;` at the end of a statement, outside quotes and
/// comments), so that each runs as its own autocommit statement like psql does.
pub fn split_sql(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                    cur.push('\n');
                }
                ';' => {
                    if !cur.trim().is_empty() {
                        out.push(cur.trim().to_string());
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Run each statement of a script on its own.
pub async fn run_script(
    client: &tokio_postgres::Client,
    script: &str,
) -> Result<(), tokio_postgres::Error> {
    for statement in split_sql(script) {
        client.batch_execute(&statement).await?;
    }
    Ok(())
}

/// Poll `check` until it returns `Some` or `timeout` passes.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The records of a file sink: (topic, key, value).
pub fn read_sink(path: &Path) -> Vec<(String, Value, Value)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| l.ends_with('}'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            (
                v["topic"].as_str().unwrap_or_default().to_string(),
                v["key"].clone(),
                v["value"].clone(),
            )
        })
        .collect()
}

/// Wait until the replication slot is active (the connector is streaming).
pub async fn wait_slot_active(client: &tokio_postgres::Client, slot: &str) {
    wait_for(
        Duration::from_secs(60),
        "the replication slot to become active",
        || async {
            client
                .query_opt(
                    "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active",
                    &[&slot],
                )
                .await
                .ok()
                .flatten()
                .map(|_| ())
        },
    )
    .await;
}

/// A string map from `key=value` pairs.
pub fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Run a worker in this process with one connector and no REST API (unless `worker` sets
/// `listeners`); stops when `stop` is cancelled.
pub fn spawn_worker(
    mut worker: BTreeMap<String, String>,
    connector: BTreeMap<String, String>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<Result<(), sluice::worker::WorkerError>> {
    worker.entry("listeners".into()).or_default();
    let connectors = vec![connector];
    let (worker, _) = sluice::worker::parse_configs(&worker, &connectors).expect("valid config");
    tokio::spawn(sluice::worker::run(
        worker,
        connectors,
        stop,
        sluice::worker::RunOptions::default(),
    ))
}

/// The Python with the third-party clients the tests use (`confluent-kafka`, `fastavro`,
/// `kafka-connect-py`): `SLUICE_TEST_PYTHON` (set by `.ci/run`), else the venv `.ci/run`
/// creates in `~/.cache/sluice/venv`. Panics with the commands that create it when neither
/// has them.
pub fn test_python() -> PathBuf {
    let candidates = std::env::var_os("SLUICE_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/sluice/venv/bin/python")),
        );
    for python in candidates {
        let ok = std::process::Command::new(&python)
            .args(["-c", "import confluent_kafka, fastavro, kafka_connect"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python;
        }
    }
    panic!(
        "no Python with confluent-kafka, fastavro and kafka-connect-py: run .ci/run once, or \
         python3 -m venv ~/.cache/sluice/venv && ~/.cache/sluice/venv/bin/pip install \
         confluent-kafka==2.16.1 fastavro==1.13.1 kafka-connect-py==1.0.0 \
         (or point SLUICE_TEST_PYTHON at a python that has them)"
    );
}
