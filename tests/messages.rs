//! Logical decoding messages (`pg_logical_emit_message`) become Debezium `op: "m"` records on
//! `<prefix>.message`, filtered by `message.prefix.include.list`.

use std::time::Duration;

use serde_json::Value;
use sluice_testcontainers::PgServer;
use tokio_util::sync::CancellationToken;

use crate::support::process::pg_connector_props;
use crate::support::{props, read_sink, wait_for, wait_slot_active};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_messages_become_m_records() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("msg").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .expect("table");
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("events.jsonl");
    let slot = PgServer::unique_name("msg");
    let worker = props(&[
        ("sink", "file"),
        ("sink.file.path", out.to_str().unwrap_or_default()),
        ("value.converter.schemas.enable", "false"),
        ("key.converter.schemas.enable", "false"),
    ]);
    let mut connector = pg_connector_props(&server, &db, &slot, &slot, "m");
    connector.insert("name".into(), "msg".into());
    connector.extend(props(&[
        ("table.include.list", "public.t"),
        ("message.prefix.include.list", "app.*"),
    ]));
    let stop = CancellationToken::new();
    let task = crate::support::spawn_worker(worker, connector, stop.clone());
    wait_slot_active(&client, &slot).await;
    client
        .batch_execute(
            "BEGIN;
             INSERT INTO t VALUES (1);
             SELECT pg_logical_emit_message(true, 'app.audit', 'in a transaction');
             COMMIT;
             SELECT pg_logical_emit_message(false, 'app.ping', 'outside');
             SELECT pg_logical_emit_message(true, 'other', 'filtered out');
             INSERT INTO t VALUES (2);",
        )
        .await
        .expect("workload");
    let records = wait_for(Duration::from_secs(30), "the events", || {
        let r = read_sink(&out);
        async move { (r.len() >= 4).then_some(r) }
    })
    .await;
    stop.cancel();
    task.await.expect("join").expect("clean stop");
    let messages: Vec<&(String, Value, Value)> = records
        .iter()
        .filter(|(t, _, _)| t == "m.message")
        .collect();
    assert_eq!(
        messages.len(),
        2,
        "two messages pass the prefix filter: {records:?}"
    );
    let (_, key, value) = messages[0];
    assert_eq!(key, &serde_json::json!({"prefix": "app.audit"}));
    assert_eq!(value["op"], "m");
    assert_eq!(value["message"]["prefix"], "app.audit");
    // base64 of the content bytes, as JsonConverter writes bytes
    assert_eq!(value["message"]["content"], "aW4gYSB0cmFuc2FjdGlvbg==");
    assert!(
        value["source"]["txId"].is_i64(),
        "a transactional message carries its txId"
    );
    let (_, _, ping) = messages[1];
    assert_eq!(ping["message"]["prefix"], "app.ping");
    assert!(
        ping["source"]["txId"].is_null(),
        "a non-transactional message has no txId"
    );
    assert!(!records
        .iter()
        .any(|(_, _, v)| v["message"]["prefix"] == "other"));
    let rows: Vec<i64> = records
        .iter()
        .filter(|(t, _, _)| t == "m.public.t")
        .filter_map(|(_, _, v)| v["after"]["id"].as_i64())
        .collect();
    assert_eq!(rows, vec![1, 2]);
}
