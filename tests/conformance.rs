//! The recorded Debezium 3.6.3 workload (`../shared/conformance/postgres/`) replayed through
//! Sluice must give the same events.
//!
//! Normalised, because they cannot match between two runs (see the conformance README):
//! `ts_ms`/`ts_us`/`ts_ns` (top level and `source`: clocks), `source.version` (Sluice's own
//! version), `source.txId`/`lsn`/`sequence`/`xmin` (WAL positions of another server),
//! `transaction.id` and the transaction topic's keys, ids and `ts_ms` (made of txId and LSN).
//! Everything else — topics, keys, schemas (field order included), values, tombstones, the
//! order of events (snapshot included: with one snapshot thread Sluice reads tables in
//! Debezium's order, the include list's) — must be identical.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sluice_testcontainers::PgServer;
use tokio_util::sync::CancellationToken;

use crate::support::{props, read_sink, run_script, shared_dir, wait_for, wait_slot_active};

const VOLATILE: &str = "<volatile>";

fn normalize_payload(p: &mut Value) {
    let Some(obj) = p.as_object_mut() else { return };
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        if obj.get(k).is_some_and(|v| !v.is_null()) {
            obj.insert(k.into(), VOLATILE.into());
        }
    }
    if let Some(src) = obj.get_mut("source").and_then(Value::as_object_mut) {
        for k in [
            "ts_ms", "ts_us", "ts_ns", "txId", "lsn", "sequence", "xmin", "version",
        ] {
            if src.get(k).is_some_and(|v| !v.is_null()) {
                src.insert(k.into(), VOLATILE.into());
            }
        }
    }
    if let Some(tx) = obj.get_mut("transaction").and_then(Value::as_object_mut) {
        if tx.contains_key("id") {
            tx.insert("id".into(), VOLATILE.into());
        }
    }
    if obj.contains_key("status") && obj.contains_key("id") {
        obj.insert("id".into(), VOLATILE.into());
    }
}

fn normalize(topic: &str, mut key: Value, mut value: Value) -> String {
    let payload = if value.get("schema").is_some() && value.get("payload").is_some() {
        &mut value["payload"]
    } else {
        &mut value
    };
    normalize_payload(payload);
    if topic.ends_with(".transaction") {
        key = VOLATILE.into();
    }
    serde_json::json!({"destination": topic, "key": key, "value": value}).to_string()
}

fn properties(path: &Path) -> BTreeMap<String, String> {
    sluice_config::properties::parse(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_default()
}

async fn replay(variant: &str) {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    let dir = shared_dir().join("conformance/postgres");
    if !dir.exists() {
        eprintln!("skipping: {} is absent", dir.display());
        return;
    }
    let golden_path = dir.join(format!("pg-{variant}.jsonl"));
    let mut recorded = props(&[]);
    recorded.extend(properties(&dir.join(format!("pg-{variant}.properties"))));

    let server = PgServer::start().expect("start postgres");
    let admin = server.connect("postgres").await.expect("connect");
    // The recording's database is called "anchor", and `source.db` must match.
    admin
        .batch_execute("CREATE DATABASE anchor")
        .await
        .expect("create database");
    let client = server.connect("anchor").await.expect("connect anchor");
    run_script(
        &client,
        &std::fs::read_to_string(dir.join("schema-pg.sql")).expect("schema"),
    )
    .await
    .expect("load schema");

    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("events.jsonl");
    let schemas = recorded
        .get("converter.schemas.enable")
        .cloned()
        .unwrap_or("true".into());
    let worker = props(&[
        ("sink", "file"),
        ("sink.file.path", out.to_str().unwrap_or_default()),
        (
            "offset.storage.file.filename",
            work.path().join("offsets.dat").to_str().unwrap_or_default(),
        ),
        ("offset.flush.interval.ms", "500"),
        ("key.converter.schemas.enable", &schemas),
        ("value.converter.schemas.enable", &schemas),
    ]);
    let mut connector = recorded.clone();
    for (k, v) in [
        ("database.hostname", server.host().to_string()),
        ("database.port", server.port().to_string()),
        ("database.user", server.user().to_string()),
        ("database.password", server.password().to_string()),
    ] {
        connector.insert(k.into(), v);
    }
    let stop = CancellationToken::new();
    let task = crate::support::spawn_worker(worker, connector, stop.clone());
    wait_slot_active(
        &client,
        recorded
            .get("slot.name")
            .map_or("dbz_anchor", String::as_str),
    )
    .await;
    // Like the recording's runner: the workload starts once the snapshot is in the sink
    // (a TRUNCATE racing the snapshot would legitimately move rows from it to the stream).
    let golden_snapshot = std::fs::read_to_string(&golden_path)
        .unwrap_or_default()
        .matches("\"op\":\"r\"")
        .count();
    assert!(golden_snapshot > 0, "the recording has snapshot events");
    wait_for(Duration::from_secs(60), "the snapshot events", || {
        let n = read_sink(&out)
            .iter()
            .filter(|(_, _, v)| {
                v.get("payload")
                    .unwrap_or(v)
                    .get("op")
                    .and_then(Value::as_str)
                    == Some("r")
            })
            .count();
        async move { (n >= golden_snapshot).then_some(()) }
    })
    .await;

    run_script(
        &client,
        &std::fs::read_to_string(dir.join("workload-pg.sql")).expect("workload"),
    )
    .await
    .expect("apply workload");

    let golden: Vec<String> = std::fs::read_to_string(&golden_path)
        .expect("golden file")
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
    let ours: Vec<String> = wait_for(Duration::from_secs(60), "all streamed events", || {
        let records = read_sink(&out);
        async move {
            (records.len() >= expected).then(|| {
                records
                    .into_iter()
                    .map(|(topic, key, value)| normalize(&topic, key, value))
                    .collect::<Vec<_>>()
            })
        }
    })
    .await;
    // Nothing more may arrive: settle briefly, then compare everything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ours_final: Vec<String> = read_sink(&out)
        .into_iter()
        .map(|(topic, key, value)| normalize(&topic, key, value))
        .collect();
    stop.cancel();
    task.await.expect("join").expect("connector ran cleanly");
    assert_eq!(
        ours_final.len(),
        ours.len(),
        "unexpected extra events after the workload"
    );
    for (i, (a, b)) in ours_final.iter().zip(&golden).enumerate() {
        assert_eq!(
            a, b,
            "variant {variant}: streamed event {i} differs\n ours:     {a}\n debezium: {b}"
        );
    }
    assert_eq!(
        ours_final.len(),
        golden.len(),
        "variant {variant}: event count"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_schemas() {
    replay("schemas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_noschemas() {
    replay("noschemas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_txmeta() {
    replay("txmeta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_decimal_double() {
    replay("decimal-double").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_altmodes() {
    replay("altmodes").await;
}
