//! The MySQL / MariaDB binlog connector end to end against throwaway MariaDB servers:
//! the recorded Debezium workload (`../shared/conformance/mariadb/`), streaming, restarts
//! without loss or duplicates, and the errors for servers and users it cannot work with.
//!
//! Conformance normalises what the README lists for MariaDB and nothing else: `ts_*`
//! (top level and `source`), `source.version`, `file`, `pos`, `row`, `thread`, `server_id`,
//! `gtid`, and transaction ids.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde_json::Value;
use sluice_testcontainers::{MariaDbOptions, MariaDbServer};
use tokio_util::sync::CancellationToken;

use crate::support::{props, read_sink, shared_dir, split_sql, wait_for};

const VOLATILE: &str = "<volatile>";
const WAIT: Duration = Duration::from_secs(90);

fn normalize_payload(p: &mut Value) {
    let Some(obj) = p.as_object_mut() else { return };
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        if obj.get(k).is_some_and(|v| !v.is_null()) {
            obj.insert(k.into(), VOLATILE.into());
        }
    }
    if let Some(src) = obj.get_mut("source").and_then(Value::as_object_mut) {
        for k in [
            "ts_ms",
            "ts_us",
            "ts_ns",
            "version",
            "file",
            "pos",
            "row",
            "thread",
            "server_id",
            "gtid",
            "sequence",
        ] {
            // `gtid`: the recordings ran without MariaDB GTID support, so theirs is null.
            if src.get(k).is_some_and(|v| !v.is_null()) || k == "gtid" {
                src.insert(k.into(), VOLATILE.into());
            }
        }
    }
    if let Some(tx) = obj.get_mut("transaction").and_then(Value::as_object_mut) {
        if tx.contains_key("id") {
            tx.insert("id".into(), VOLATILE.into());
        }
    }
}

fn normalize(topic: &str, key: Value, mut value: Value) -> String {
    let payload = if value.get("schema").is_some() && value.get("payload").is_some() {
        &mut value["payload"]
    } else {
        &mut value
    };
    normalize_payload(payload);
    serde_json::json!({"destination": topic, "key": key, "value": value}).to_string()
}

fn properties(path: &Path) -> BTreeMap<String, String> {
    sluice_config::properties::parse(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_default()
}

async fn run_sql(conn: &mut Conn, script: &str) {
    for statement in split_sql(script) {
        conn.query_drop(&statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

fn worker(out: &Path, offsets: &Path, schemas: &str) -> BTreeMap<String, String> {
    props(&[
        ("sink", "file"),
        ("sink.file.path", out.to_str().unwrap_or_default()),
        (
            "offset.storage.file.filename",
            offsets.to_str().unwrap_or_default(),
        ),
        ("offset.flush.interval.ms", "200"),
        ("key.converter.schemas.enable", schemas),
        ("value.converter.schemas.enable", schemas),
    ])
}

fn connect_keys(server: &MariaDbServer, connector: &mut BTreeMap<String, String>) {
    for (k, v) in [
        ("database.hostname", server.host().to_string()),
        ("database.port", server.port().to_string()),
        ("database.user", server.user().to_string()),
        ("database.password", server.password().to_string()),
        ("database.server.id", replica_id().to_string()),
    ] {
        connector.insert(k.into(), v);
    }
}

/// A replica `server_id` no other connector of this process uses.
fn replica_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    3_000_000_000 + (std::process::id() % 1000) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn op_of(v: &Value) -> Option<&str> {
    v.get("payload")
        .unwrap_or(v)
        .get("op")
        .and_then(Value::as_str)
}

async fn replay(variant: &str) {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    let dir = shared_dir().join("conformance/mariadb");
    if !dir.exists() {
        eprintln!("skipping: {} is absent", dir.display());
        return;
    }
    let golden_path = dir.join(format!("mariadb-{variant}.jsonl"));
    let recorded = properties(&dir.join(format!("mariadb-{variant}.properties")));
    // The recordings' database is `anchor`: a server of our own, not a shared one.
    let server = MariaDbServer::start_with(MariaDbOptions {
        extra_args: vec!["--plugin-load-add=ha_sequence".to_owned()],
        ..MariaDbOptions::default()
    })
    .or_else(|_| MariaDbServer::start_with(MariaDbOptions::default()))
    .expect("start mariadb");
    let mut admin = server.connect("mysql").await.expect("connect");
    run_sql(
        &mut admin,
        &std::fs::read_to_string(dir.join("schema-mariadb.sql")).expect("schema"),
    )
    .await;

    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("events.jsonl");
    let schemas = recorded
        .get("converter.schemas.enable")
        .cloned()
        .unwrap_or("true".into());
    let mut connector = recorded.clone();
    connect_keys(&server, &mut connector);
    connector.insert(
        "schema.history.internal.file.filename".into(),
        work.path()
            .join("history.dat")
            .to_string_lossy()
            .into_owned(),
    );
    let stop = CancellationToken::new();
    let task = crate::support::spawn_worker(
        worker(&out, &work.path().join("offsets.dat"), &schemas),
        connector,
        stop.clone(),
    );
    let golden_text = std::fs::read_to_string(&golden_path).expect("golden file");
    let golden_snapshot = golden_text.matches("\"op\":\"r\"").count();
    wait_for(WAIT, "the snapshot events", || {
        let n = read_sink(&out)
            .iter()
            .filter(|(_, _, v)| op_of(v) == Some("r"))
            .count();
        async move { (n >= golden_snapshot).then_some(()) }
    })
    .await;
    let mut conn = server.connect("anchor").await.expect("connect anchor");
    run_sql(
        &mut conn,
        &std::fs::read_to_string(dir.join("workload-mariadb.sql")).expect("workload"),
    )
    .await;

    let golden: Vec<String> = golden_text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|l| {
            normalize(
                l["destination"].as_str().unwrap_or_default(),
                l["key"].clone(),
                l["value"].clone(),
            )
        })
        .collect();
    let expected = golden.len();
    wait_for(WAIT, "the sentinel event", || {
        let done = read_sink(&out)
            .iter()
            .any(|(topic, _, _)| topic.ends_with("dbz_sentinel"));
        async move { done.then_some(()) }
    })
    .await;
    let records = read_sink(&out);
    let tx_topic = "maria.transaction";
    let txmeta = recorded
        .get("provide.transaction.metadata")
        .is_some_and(|v| v == "true");
    if txmeta {
        // The recording's Debezium ran the MySQL class against MariaDB and could not read
        // MariaDB GTIDs, so it emitted no transaction metadata (see the conformance README).
        // Sluice does: check it is well-formed, then compare the rest.
        let begins = records
            .iter()
            .filter(|(t, _, v)| t == tx_topic && v["status"] == "BEGIN")
            .count();
        let ends = records
            .iter()
            .filter(|(t, _, v)| t == tx_topic && v["status"] == "END")
            .count();
        assert!(begins > 0 && begins == ends, "BEGIN {begins} / END {ends}");
        for (topic, _, value) in &records {
            if topic != tx_topic && op_of(value).is_some_and(|op| op != "r") {
                let block = &value.get("payload").unwrap_or(value)["transaction"];
                assert!(
                    block["total_order"].as_i64().is_some_and(|n| n > 0),
                    "{value}"
                );
            }
        }
    }
    let ours: Vec<String> = records
        .into_iter()
        .filter(|(topic, _, _)| !(txmeta && topic == tx_topic))
        .map(|(topic, key, mut value)| {
            if txmeta {
                let payload = if value.get("payload").is_some() {
                    &mut value["payload"]
                } else {
                    &mut value
                };
                if let Some(p) = payload.as_object_mut() {
                    if p.contains_key("transaction") {
                        p.insert("transaction".into(), Value::Null);
                    }
                }
            }
            normalize(&topic, key, value)
        })
        .collect();
    stop.cancel();
    task.await.expect("join").expect("connector ran cleanly");
    for (i, (a, b)) in ours.iter().zip(&golden).enumerate() {
        assert_eq!(
            a, b,
            "variant {variant}: event {i} differs\n ours:     {a}\n debezium: {b}"
        );
    }
    assert_eq!(ours.len(), expected, "variant {variant}: event count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_conformance_schemas() {
    replay("schemas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_conformance_noschemas() {
    replay("noschemas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_conformance_txmeta() {
    replay("txmeta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_conformance_decimal_double() {
    replay("decimal-double").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_conformance_altmodes() {
    replay("altmodes").await;
}
