//! Incremental snapshots triggered through Debezium's signalling table, while streaming and a
//! writer keep changing the same rows: replaying the captured events must rebuild the table.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use sluice_testcontainers::PgServer;
use tokio_util::sync::CancellationToken;

use crate::support::process::pg_connector_props;
use crate::support::{props, read_sink, wait_for, wait_slot_active};

const ROWS: i64 = 20_000;

/// Replay events of topic `topic` (payload only) into id → v.
fn replay(records: &[(String, Value, Value)], topic: &str) -> BTreeMap<i64, i64> {
    let mut state = BTreeMap::new();
    for (t, _, v) in records {
        if t != topic || v.is_null() {
            continue;
        }
        match v["op"].as_str() {
            Some("r" | "c" | "u") => {
                if let (Some(id), Some(val)) = (v["after"]["id"].as_i64(), v["after"]["v"].as_i64())
                {
                    state.insert(id, val);
                }
            }
            Some("d") => {
                if let Some(id) = v["before"]["id"].as_i64() {
                    state.remove(&id);
                }
            }
            _ => {}
        }
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_snapshot_reconciles_with_concurrent_writes() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("inc").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute(&format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL);
             INSERT INTO t SELECT g, 0 FROM generate_series(1, {ROWS}) g;
             CREATE TABLE signals (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048));
             CREATE TABLE done (id int PRIMARY KEY);"
        ))
        .await
        .expect("schema");
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("events.jsonl");
    let slot = PgServer::unique_name("inc");
    let worker = props(&[
        ("sink", "file"),
        ("sink.file.path", out.to_str().unwrap_or_default()),
        (
            "offset.storage.file.filename",
            work.path().join("offsets").to_str().unwrap_or_default(),
        ),
        ("offset.flush.interval.ms", "200"),
        ("value.converter.schemas.enable", "false"),
        ("key.converter.schemas.enable", "false"),
    ]);
    let mut connector = pg_connector_props(&server, &db, &slot, &slot, "inc");
    connector.insert("name".into(), "inc".into());
    connector.extend(props(&[
        ("table.include.list", "public.t,public.done"),
        ("signal.data.collection", "public.signals"),
        ("incremental.snapshot.chunk.size", "700"),
    ]));
    let stop = CancellationToken::new();
    let task = crate::support::spawn_worker(worker, connector, stop.clone());
    wait_slot_active(&client, &slot).await;

    // A writer changes the same keys while the incremental snapshot runs: updates, deletes,
    // inserts and primary-key changes.
    let writer_client = server.connect(&db).await.expect("connect writer");
    let writer = tokio::spawn(async move {
        for i in 0..600i64 {
            let id = (i * 7919) % ROWS + 1;
            let sql = match i % 4 {
                0 => format!("UPDATE t SET v = v + 1 WHERE id = {id}"),
                1 => format!("DELETE FROM t WHERE id = {id}"),
                2 => format!(
                    "INSERT INTO t VALUES ({}, 7) ON CONFLICT (id) DO UPDATE SET v = 8",
                    ROWS + i
                ),
                _ => format!("UPDATE t SET id = id + 1000000 WHERE id = {id}"),
            };
            writer_client.batch_execute(&sql).await.expect("write");
            if i == 20 {
                writer_client
                    .batch_execute(
                        "INSERT INTO signals VALUES ('sig-1', 'execute-snapshot', '{\"data-collections\": [\"public.t\"], \"type\": \"incremental\"}')",
                    )
                    .await
                    .expect("signal");
            }
        }
    });
    writer.await.expect("writer");
    // The snapshot must finish; then a marker row tells that the stream is drained.
    wait_for(
        Duration::from_secs(120),
        "the incremental snapshot to finish",
        || {
            let records = read_sink(&out);
            let offsets =
                std::fs::read_to_string(out.with_file_name("offsets")).unwrap_or_default();
            async move {
                let r = records.iter().filter(|(_, _, v)| v["op"] == "r").count();
                // Done once rows were read and the committed offset no longer carries the state.
                (r > 0 && offsets.contains("lsn") && !offsets.contains("incremental_snapshot"))
                    .then_some(())
            }
        },
    )
    .await;
    client
        .batch_execute("INSERT INTO done VALUES (1)")
        .await
        .expect("done marker");
    let records = wait_for(Duration::from_secs(60), "the done marker", || {
        let records = read_sink(&out);
        async move {
            records
                .iter()
                .any(|(t, _, _)| t == "inc.public.done")
                .then_some(records)
        }
    })
    .await;
    stop.cancel();
    task.await.expect("join").expect("clean stop");

    let expected: BTreeMap<i64, i64> = client
        .query("SELECT id, v FROM t", &[])
        .await
        .expect("final state")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let reads: Vec<&(String, Value, Value)> =
        records.iter().filter(|(_, _, v)| v["op"] == "r").collect();
    assert!(!reads.is_empty(), "the incremental snapshot emitted rows");
    assert!(
        reads
            .iter()
            .all(|(_, _, v)| v["source"]["snapshot"] == "incremental"),
        "incremental rows are marked as such"
    );
    let mut ids: Vec<i64> = reads
        .iter()
        .filter_map(|(_, _, v)| v["after"]["id"].as_i64())
        .collect();
    ids.sort_unstable();
    let read = ids.len();
    ids.dedup();
    assert_eq!(
        ids.len(),
        read,
        "no row is read twice by the incremental snapshot"
    );
    assert!(
        !records
            .iter()
            .any(|(t, _, v)| t == "inc.message" || v["message"]["prefix"] == "sluice.watermark"),
        "watermarks are never emitted"
    );
    let rebuilt = replay(&records, "inc.public.t");
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| rebuilt.get(k) != Some(v))
        .take(5)
        .collect();
    let extra: Vec<_> = rebuilt
        .keys()
        .filter(|k| !expected.contains_key(k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "rebuilt state differs: missing/different {missing:?}, extra {extra:?}"
    );
    assert_eq!(rebuilt.len(), expected.len());
}

/// Debezium's blocking snapshot: the signal stops streaming while the table is read whole
/// (`op: r`, markers `first` … `last`), then the stream goes on; every row and every later
/// change arrives, and the rows read come after the signal's own change in the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_snapshot_signal_reads_tables_then_streaming_resumes() {
    const N: i64 = 2_500;
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("blk").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute(&format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL);
             INSERT INTO t SELECT g, g FROM generate_series(1, {N}) g;
             CREATE TABLE signals (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048));"
        ))
        .await
        .expect("schema");
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("events.jsonl");
    let slot = PgServer::unique_name("blk");
    let worker = props(&[
        ("sink", "file"),
        ("sink.file.path", out.to_str().unwrap_or_default()),
        (
            "offset.storage.file.filename",
            work.path().join("offsets").to_str().unwrap_or_default(),
        ),
        ("offset.flush.interval.ms", "200"),
        ("value.converter.schemas.enable", "false"),
        ("key.converter.schemas.enable", "false"),
    ]);
    let mut connector = pg_connector_props(&server, &db, &slot, &slot, "blk");
    connector.extend(props(&[
        ("table.include.list", "public.t"),
        ("signal.data.collection", "public.signals"),
        ("incremental.snapshot.chunk.size", "1000"),
    ]));
    let stop = CancellationToken::new();
    let task = crate::support::spawn_worker(worker, connector, stop.clone());
    wait_slot_active(&client, &slot).await;

    client
        .batch_execute(
            "UPDATE t SET v = -1 WHERE id = 1;
             INSERT INTO signals VALUES ('blk-1', 'execute-snapshot', '{\"data-collections\": [\"public.t\"], \"type\": \"blocking\"}');
             UPDATE t SET v = -2 WHERE id = 2;",
        )
        .await
        .expect("signal");
    let records = wait_for(
        Duration::from_secs(120),
        "the blocking snapshot and the update after it",
        || {
            let records = read_sink(&out);
            async move {
                let snapshot_rows = records.iter().filter(|(_, _, v)| v["op"] == "r").count();
                let after = records
                    .iter()
                    .any(|(_, _, v)| v["op"] == "u" && v["after"]["v"] == -2);
                (snapshot_rows as i64 >= N && after).then_some(records)
            }
        },
    )
    .await;
    stop.cancel();
    task.await.expect("join").expect("worker");

    let topic = "blk.public.t";
    let ops: Vec<(&str, i64)> = records
        .iter()
        .filter(|(t, _, _)| t == topic)
        .filter_map(|(_, _, v)| Some((v["op"].as_str()?, v["after"]["id"].as_i64()?)))
        .collect();
    let snapshot: Vec<&(String, Value, Value)> = records
        .iter()
        .filter(|(t, _, v)| t == topic && v["op"] == "r")
        .collect();
    assert_eq!(snapshot.len() as i64, N, "every row read once");
    let markers: Vec<&str> = snapshot
        .iter()
        .filter_map(|(_, _, v)| v["source"]["snapshot"].as_str())
        .collect();
    assert_eq!(markers.first(), Some(&"first"));
    assert_eq!(markers.last(), Some(&"last"));
    assert!(markers[1..markers.len() - 1].iter().all(|m| *m == "true"));
    let ids: Vec<i64> = snapshot
        .iter()
        .filter_map(|(_, _, v)| v["after"]["id"].as_i64())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "rows in key order");
    // Streaming stopped at the signal: the update before it comes first, the one after it
    // last; the snapshot already holds the first update's value.
    let first_r = ops
        .iter()
        .position(|(op, _)| *op == "r")
        .unwrap_or(usize::MAX);
    let before = ops
        .iter()
        .position(|(op, id)| *op == "u" && *id == 1)
        .unwrap_or(usize::MAX);
    let after = ops
        .iter()
        .rposition(|(op, id)| *op == "u" && *id == 2)
        .unwrap_or(0);
    assert!(
        before < first_r,
        "the change before the signal precedes the snapshot"
    );
    assert!(
        after > first_r,
        "the change after the signal follows the snapshot"
    );
    assert_eq!(
        snapshot[0].2["after"]["v"], -1,
        "the snapshot reads the table as of now"
    );
    let state = replay(&records, topic);
    assert_eq!(state.len() as i64, N);
    assert_eq!(state.get(&2), Some(&-2));
}
