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

// ---------------------------------------------------------------- streaming and restarts

use crate::support::process::{events_path, file_worker_props, offsets_path, SluiceProcess};

/// One change event of the sink: where it came from and what it says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Change {
    gtid: String,
    pos: i64,
    row: i64,
    op: String,
    id: i64,
    v: Option<i64>,
}

fn sink_changes(dir: &Path) -> Vec<Change> {
    read_sink(&events_path(dir))
        .into_iter()
        .filter_map(|(_topic, key, value)| {
            let p = value.get("payload").unwrap_or(&value);
            let op = p.get("op")?.as_str()?.to_owned();
            let key = key.get("payload").unwrap_or(&key);
            let row = if op == "d" { &p["before"] } else { &p["after"] };
            Some(Change {
                gtid: p["source"]["gtid"].as_str().unwrap_or_default().to_owned(),
                pos: p["source"]["pos"].as_i64().unwrap_or(-1),
                row: p["source"]["row"].as_i64().unwrap_or(-1),
                op,
                id: key["id"].as_i64()?,
                v: row["v"].as_i64(),
            })
        })
        .collect()
}

struct Setup {
    server: MariaDbServer,
    db: String,
    work: tempfile::TempDir,
    server_id: u32,
}

impl Setup {
    async fn new(prefix: &str) -> Setup {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info")
            .try_init();
        let server = MariaDbServer::start().expect("start mariadb");
        let db = server.create_database(prefix).await.expect("database");
        let mut conn = server.connect(&db).await.expect("connect");
        conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
            .await
            .expect("create table");
        Setup {
            server,
            db,
            work: tempfile::tempdir().expect("tempdir"),
            server_id: replica_id(),
        }
    }

    fn connector(&self, snapshot_mode: &str) -> BTreeMap<String, String> {
        let mut c = props(&[
            ("name", "maria-test"),
            (
                "connector.class",
                "io.debezium.connector.mariadb.MariaDbConnector",
            ),
            ("topic.prefix", "maria"),
            ("snapshot.mode", snapshot_mode),
            ("max.batch.size", "16"),
            ("max.queue.size", "64"),
        ]);
        connect_keys(&self.server, &mut c);
        c.insert("database.server.id".into(), self.server_id.to_string());
        c.insert("database.include.list".into(), self.db.clone());
        c
    }

    fn spawn(&self, snapshot_mode: &str) -> SluiceProcess {
        SluiceProcess::spawn(
            &file_worker_props(self.work.path(), false),
            &self.connector(snapshot_mode),
        )
    }

    async fn conn(&self) -> Conn {
        self.server.connect(&self.db).await.expect("connect")
    }

    async fn wait_count(&self, n: usize, sluice: &mut SluiceProcess) -> Vec<Change> {
        let dir = self.work.path();
        let started = std::time::Instant::now();
        loop {
            let changes = sink_changes(dir);
            if changes.len() >= n {
                return changes;
            }
            assert!(
                sluice.is_running(),
                "sluice exited: {:?}\n{}",
                sluice.exit_status(),
                sluice.stderr_text()
            );
            assert!(
                started.elapsed() < WAIT,
                "timed out waiting for {n} changes (have {})\n{}",
                changes.len(),
                sluice.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Inserts, updates, deletes and a primary-key change arrive as Debezium's MariaDB connector
/// sends them; SIGTERM commits; a restart repeats nothing and loses nothing, also when the
/// stop fell in the middle of a large transaction (the `event`/`row` counters of the offset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_stream_and_restart_mid_transaction_repeats_nothing() {
    let s = Setup::new("mystream").await;
    let mut conn = s.conn().await;
    conn.query_drop("INSERT INTO t VALUES (1, 10), (2, 20)")
        .await
        .expect("insert");
    let mut sluice = s.spawn("initial");
    let snap = s.wait_count(2, &mut sluice).await;
    assert!(snap.iter().all(|c| c.op == "r"), "{snap:?}");
    conn.query_drop("INSERT INTO t VALUES (3, 30)")
        .await
        .expect("insert");
    conn.query_drop("UPDATE t SET v = 11 WHERE id = 1")
        .await
        .expect("update");
    conn.query_drop("DELETE FROM t WHERE id = 2")
        .await
        .expect("delete");
    conn.query_drop("UPDATE t SET id = 4 WHERE id = 3")
        .await
        .expect("key change");
    let changes = s.wait_count(7, &mut sluice).await;
    let ops: Vec<(&str, i64)> = changes[2..].iter().map(|c| (c.op.as_str(), c.id)).collect();
    assert_eq!(ops, [("c", 3), ("u", 1), ("d", 2), ("d", 3), ("c", 4)]);
    let raw = read_sink(&events_path(s.work.path()));
    let tombstones = raw.iter().filter(|(_, _, v)| v.is_null()).count();
    assert_eq!(tombstones, 2, "a tombstone after each delete");
    let source = &raw.last().expect("records").2["source"];
    assert_eq!(source["connector"], "mariadb");
    assert!(
        source["gtid"].as_str().is_some_and(|g| g.starts_with("0-")),
        "{source}"
    );

    // Stop at a transaction boundary: the offset has no event/row counters.
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let boundary = std::fs::read_to_string(offsets_path(s.work.path())).expect("offsets");
    assert!(!boundary.contains("\"row\""), "{boundary}");

    // One statement, one transaction, many rows events, written while the connector is off.
    const BIG: i64 = 5_000;
    conn.query_drop(format!(
        "SET STATEMENT max_recursive_iterations = 1000000 FOR INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 100 UNION ALL SELECT n + 1 FROM s WHERE n < {}) SELECT n, n FROM s",
        99 + BIG
    ))
    .await
    .expect("big insert");
    let mut sluice = s.spawn("initial");
    let all = s.wait_count((7 + BIG) as usize, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let mut counts: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for c in &all {
        *counts
            .entry((c.gtid.clone(), c.op.clone(), c.id))
            .or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered twice: {:?}",
        &repeated[..repeated.len().min(5)]
    );
    let big: Vec<&Change> = all.iter().filter(|c| c.id >= 100).collect();
    assert_eq!(
        big.len() as i64,
        BIG,
        "every row of the big transaction once"
    );
    assert!(big.windows(2).all(|w| w[0].id < w[1].id), "in binlog order");

    // A crash that had delivered 2 rows events and 3 rows of the third: the offset says
    // so (`event`, `row`) and a restart must send exactly the rest.
    let mut events: Vec<i64> = big.iter().map(|c| c.pos).collect();
    events.dedup();
    assert!(
        events.len() > 3,
        "the big insert spans {} rows events",
        events.len()
    );
    let (skip_events, skip_rows) = (2usize, 3i64);
    let expected: Vec<i64> = big
        .iter()
        .filter(|c| {
            let e = events.iter().position(|p| *p == c.pos).unwrap_or(0);
            e > skip_events || (e == skip_events && c.row >= skip_rows)
        })
        .map(|c| c.id)
        .collect();
    let mut stored: Value = serde_json::from_str(&boundary).expect("offsets json");
    stored[0]["value"]["event"] = skip_events.into();
    stored[0]["value"]["row"] = skip_rows.into();
    std::fs::write(offsets_path(s.work.path()), stored.to_string()).expect("write offsets");
    std::fs::write(events_path(s.work.path()), "").expect("clear sink");
    let mut sluice = s.spawn("initial");
    let resumed = s.wait_count(expected.len(), &mut sluice).await;
    conn.query_drop("INSERT INTO t VALUES (5, 50)")
        .await
        .expect("insert after restart");
    let resumed_all = s.wait_count(expected.len() + 1, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let ids: Vec<i64> = resumed.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(
        ids, expected,
        "the resumed transaction starts exactly after the delivered rows"
    );
    assert_eq!(resumed_all.last().map(|c| c.id), Some(5));
}

/// kill -9 while transactions stream; every restart resumes from the committed offset and
/// in the end every committed change is in the sink (re-deliveries only of what had not
/// been committed as an offset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_kill9_restarts_lose_nothing() {
    let s = Setup::new("mykill").await;
    let mut sluice = s.spawn("no_data");
    let mut conn = s.conn().await;
    // Wait until the connector streams (it committed its starting offset).
    wait_for(WAIT, "the first offset", || {
        let ok = offsets_path(s.work.path()).exists();
        async move { ok.then_some(()) }
    })
    .await;
    let mut next = 1;
    for round in 0..4 {
        // Counted before this round's inserts: the kill comes once at least one of them
        // arrived (all of them may have, in a fast build).
        let have = sink_changes(s.work.path()).len();
        for _ in 0..5 {
            let ids: Vec<String> = (next..next + 200)
                .map(|i| format!("({i}, {round})"))
                .collect();
            conn.query_drop(format!("INSERT INTO t VALUES {}", ids.join(",")))
                .await
                .expect("insert");
            next += 200;
        }
        s.wait_count(have + 1, &mut sluice).await;
        sluice.kill9();
        sluice = s.spawn("no_data");
    }
    let all = s.wait_count((next - 1) as usize, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let ids: std::collections::BTreeSet<i64> = all.iter().map(|c| c.id).collect();
    assert_eq!(ids.len() as i64, next - 1, "every inserted row arrived");
    eprintln!("kill9: {} events for {} rows", all.len(), next - 1);
}

// ---------------------------------------------------------------- bad input

/// Runs the binary against `server` with `connector` changes; it must exit 1 with one
/// `error:` line containing every `expected` fragment.
async fn expect_failure(server: &MariaDbServer, changes: &[(&str, &str)], expected: &[&str]) {
    let work = tempfile::tempdir().expect("tempdir");
    let mut connector = props(&[
        ("name", "maria-bad"),
        (
            "connector.class",
            "io.debezium.connector.mariadb.MariaDbConnector",
        ),
        ("topic.prefix", "maria"),
        ("snapshot.mode", "no_data"),
        ("errors.max.retries", "0"),
    ]);
    connect_keys(server, &mut connector);
    for (k, v) in changes {
        connector.insert((*k).to_owned(), (*v).to_owned());
    }
    let mut sluice = SluiceProcess::spawn(&file_worker_props(work.path(), false), &connector);
    let status = sluice.wait_exit(WAIT);
    let stderr = sluice.stderr_text();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for fragment in expected {
        assert!(
            errors[0].contains(fragment),
            "`{fragment}` not in: {}",
            errors[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_bad_input_is_one_clear_error() {
    let server = MariaDbServer::start_with(MariaDbOptions {
        limited_user: true,
        ..MariaDbOptions::default()
    })
    .expect("start");
    expect_failure(
        &server,
        &[("database.password", "wrong-password")],
        &["access denied", "database.password"],
    )
    .await;
    let (user, password) = server.limited_user().expect("limited user");
    expect_failure(
        &server,
        &[("database.user", user), ("database.password", password)],
        &[user, "REPLICATION"],
    )
    .await;
    for (options, expected) in [
        (
            MariaDbOptions {
                log_bin: false,
                ..MariaDbOptions::default()
            },
            "log_bin",
        ),
        (
            MariaDbOptions {
                binlog_format: "STATEMENT".into(),
                ..MariaDbOptions::default()
            },
            "binlog_format is STATEMENT",
        ),
        (
            MariaDbOptions {
                binlog_row_image: "MINIMAL".into(),
                ..MariaDbOptions::default()
            },
            "binlog_row_image is MINIMAL",
        ),
    ] {
        let server = MariaDbServer::start_with(options).expect("start");
        expect_failure(&server, &[], &[expected]).await;
    }
}

/// A stored position the server has purged: a clear error that says what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_purged_position_is_a_clear_error() {
    let s = Setup::new("mypurge").await;
    let mut sluice = s.spawn("no_data");
    let mut conn = s.conn().await;
    wait_for(WAIT, "the first offset", || {
        let ok = offsets_path(s.work.path()).exists();
        async move { ok.then_some(()) }
    })
    .await;
    conn.query_drop("INSERT INTO t VALUES (1, 1)")
        .await
        .expect("insert");
    s.wait_count(1, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
    for i in 2..5 {
        conn.query_drop(format!("INSERT INTO t VALUES ({i}, {i})"))
            .await
            .expect("insert");
        conn.query_drop("FLUSH BINARY LOGS").await.expect("flush");
    }
    // A file is purged only once InnoDB no longer needs it (its binlog checkpoint): retry.
    let started = std::time::Instant::now();
    loop {
        conn.query_drop("PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY")
            .await
            .expect("purge");
        let logs: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.expect("logs");
        let first: Option<String> = logs.first().and_then(|r| r.get(0));
        if logs.len() == 1 {
            eprintln!("binlogs left: {first:?}");
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the binlogs were not purged: {first:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut connector = s.connector("no_data");
    connector.insert("errors.max.retries".into(), "0".into());
    let mut sluice = SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &connector);
    let status = sluice.wait_exit(WAIT);
    let stderr = sluice.stderr_text();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error:") && l.contains("snapshot.mode=when_needed")),
        "{stderr}"
    );
    // What the message proposes: when_needed takes a new snapshot and streams on.
    std::fs::write(events_path(s.work.path()), "").expect("clear sink");
    let mut sluice = s.spawn("when_needed");
    let snap = s.wait_count(4, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
    let ids: Vec<(String, i64)> = snap.iter().map(|c| (c.op.clone(), c.id)).collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4].map(|i| ("r".to_owned(), i)),
        "a new snapshot of every row"
    );
}

/// DDL in the binlog: rows before an ALTER decode with the old shape, rows after with the
/// new one, also across a restart that happens between them (the schema history is replayed
/// up to the committed offset); schema change events go to `<topic.prefix>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_ddl_history_keeps_row_shapes_across_restarts() {
    let s = Setup::new("myddl").await;
    let history = s.work.path().join("history.dat");
    let spawn = || {
        let mut c = s.connector("no_data");
        c.insert(
            "schema.history.internal.file.filename".into(),
            history.to_string_lossy().into_owned(),
        );
        c.insert("include.schema.changes".into(), "true".into());
        SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &c)
    };
    let mut sluice = spawn();
    wait_for(WAIT, "the first offset", || {
        let ok = offsets_path(s.work.path()).exists();
        async move { ok.then_some(()) }
    })
    .await;
    let mut conn = s.conn().await;
    conn.query_drop("INSERT INTO t VALUES (1, 1)")
        .await
        .expect("insert");
    conn.query_drop("ALTER TABLE t ADD COLUMN w VARCHAR(10) DEFAULT 'x'")
        .await
        .expect("alter");
    conn.query_drop("INSERT INTO t VALUES (2, 2, 'two')")
        .await
        .expect("insert");
    s.wait_count(2, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
    // While the connector is off: a row of the current shape, then another change of shape.
    conn.query_drop("INSERT INTO t VALUES (3, 3, 'three')")
        .await
        .expect("insert");
    conn.query_drop("ALTER TABLE t DROP COLUMN v")
        .await
        .expect("alter");
    conn.query_drop("INSERT INTO t VALUES (4, 'four')")
        .await
        .expect("insert");
    let mut sluice = spawn();
    s.wait_count(4, &mut sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());

    let records = read_sink(&events_path(s.work.path()));
    let afters: Vec<Value> = records
        .iter()
        .filter(|(topic, _, _)| topic.ends_with(".t"))
        .map(|(_, _, v)| v["after"].clone())
        .collect();
    assert_eq!(
        afters,
        [
            serde_json::json!({"id": 1, "v": 1}),
            serde_json::json!({"id": 2, "v": 2, "w": "two"}),
            serde_json::json!({"id": 3, "v": 3, "w": "three"}),
            serde_json::json!({"id": 4, "w": "four"}),
        ]
    );
    let ddl: Vec<String> = records
        .iter()
        .filter(|(topic, _, _)| topic == "maria")
        .map(|(_, _, v)| v["ddl"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        ddl,
        [
            "ALTER TABLE t ADD COLUMN w VARCHAR(10) DEFAULT 'x'",
            "ALTER TABLE t DROP COLUMN v"
        ],
        "schema change events"
    );
}

/// kill -9 during the initial snapshot: the restart resumes after the last committed chunk
/// (it does not start the tables over) and in the end every row is there.
async fn snapshot_resume_after_kill9(signal_table: bool) {
    // Enough rows that the snapshot (chunks of 200, progress committed every 20 ms) is still
    // running when the test sees its first committed chunk, even in a release build.
    const ROWS: i64 = 200_000;
    let s = Setup::new(if signal_table { "mysnapw" } else { "mysnap" }).await;
    let mut conn = s.conn().await;
    if signal_table {
        conn.query_drop(
            "CREATE TABLE signals (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT)",
        )
        .await
        .expect("signal table");
    }
    conn.query_drop(format!(
        "SET STATEMENT max_recursive_iterations = 1000000 FOR INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n, n FROM s"
    ))
    .await
    .expect("rows");
    let spawn = || {
        let mut c = s.connector("initial");
        c.insert("snapshot.fetch.size".into(), "200".into());
        if signal_table {
            c.insert("signal.data.collection".into(), format!("{}.signals", s.db));
        }
        let mut worker = file_worker_props(s.work.path(), false);
        worker.insert("offset.flush.interval.ms".into(), "20".into());
        SluiceProcess::spawn(&worker, &c)
    };
    let mut sluice = spawn();
    let offsets = offsets_path(s.work.path());
    wait_for(WAIT, "a committed snapshot chunk", || {
        let text = std::fs::read_to_string(&offsets).unwrap_or_default();
        async move { text.contains("\"last_key\": [").then_some(()) }
    })
    .await;
    sluice.kill9();
    let before = sink_changes(s.work.path()).len();
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&offsets).expect("offsets")).expect("json");
    let progress = &stored[0]["value"]["sluice_snapshot"]["progress"];
    let resumed_after: i64 = progress[format!("{}.t", s.db)]["last_key"][0]
        .as_str()
        .and_then(|k| k.parse().ok())
        .expect("a last key");
    let mut sluice = spawn();
    s.wait_count(before + 1, &mut sluice).await;
    let all = wait_for(WAIT, "every row", || {
        let changes = sink_changes(s.work.path());
        let ids: std::collections::BTreeSet<i64> = changes.iter().map(|c| c.id).collect();
        assert!(
            sluice.is_running(),
            "sluice exited:\n{}",
            sluice.stderr_text()
        );
        async move { (ids.len() as i64 == ROWS).then_some(changes) }
    })
    .await;
    // With a signalling table the rest is read in watermark windows while streaming (the
    // restart has no consistent read to go on with); without one, read before streaming.
    assert_eq!(
        sluice.stderr_text().contains("watermark windows"),
        signal_table,
        "{}",
        sluice.stderr_text()
    );
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
    let first_after_restart = all[before].id;
    assert_eq!(
        first_after_restart,
        resumed_after + 1,
        "the resumed snapshot starts after the committed chunk"
    );
    assert!(all.iter().all(|c| c.op == "r"));
    eprintln!(
        "snapshot kill -9 (signal table: {signal_table}): {before} rows before the kill, resumed after id {resumed_after}, {} records for {ROWS} rows",
        all.len()
    );
}

/// kill -9 in the middle of the snapshot: the restart resumes after the last committed chunk
/// and every row arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_snapshot_resumes_after_kill9() {
    snapshot_resume_after_kill9(false).await;
}

/// The same with a signalling table: the rest of the snapshot is read in watermark windows
/// while streaming from the snapshot's binlog position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_snapshot_resumes_after_kill9_in_windows() {
    snapshot_resume_after_kill9(true).await;
}

/// `heartbeat.interval.ms`: heartbeat records while the captured tables are quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_heartbeats_while_idle() {
    let s = Setup::new("myheart").await;
    let mut c = s.connector("no_data");
    c.insert("heartbeat.interval.ms".into(), "100".into());
    let mut sluice = SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &c);
    let records = wait_for(WAIT, "three heartbeats", || {
        let r = read_sink(&events_path(s.work.path()));
        let n = r
            .iter()
            .filter(|(t, _, _)| t == "__debezium-heartbeat.maria")
            .count();
        async move { (n >= 3).then_some(r) }
    })
    .await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
    let (_, key, value) = &records[0];
    assert_eq!(key["serverName"], "maria");
    assert!(value["ts_ms"].as_i64().is_some_and(|t| t > 0), "{value}");
}

/// Debezium's `execute-snapshot` signal (signal.data.collection): the table is read again in
/// chunks between watermarks while streaming continues; rows come as `op: r` with
/// `source.snapshot = incremental`, and a row changed during its chunk's window is not sent
/// stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_incremental_snapshot_on_signal() {
    const ROWS: i64 = 95;
    let s = Setup::new("myincr").await;
    let mut conn = s.conn().await;
    conn.query_drop(
        "CREATE TABLE signals (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT)",
    )
    .await
    .expect("signal table");
    let values: Vec<String> = (1..=ROWS).map(|i| format!("({i}, {i})")).collect();
    conn.query_drop(format!("INSERT INTO t VALUES {}", values.join(",")))
        .await
        .expect("rows");
    let mut c = s.connector("no_data");
    c.insert("signal.data.collection".into(), format!("{}.signals", s.db));
    c.insert("incremental.snapshot.chunk.size".into(), "10".into());
    let mut sluice = SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &c);
    wait_for(WAIT, "the first offset", || {
        let ok = offsets_path(s.work.path()).exists();
        async move { ok.then_some(()) }
    })
    .await;
    conn.query_drop(format!(
        "INSERT INTO signals VALUES ('sig-1', 'execute-snapshot', '{{\"data-collections\": [\"{}.t\"], \"type\": \"incremental\"}}')",
        s.db
    ))
    .await
    .expect("signal");
    conn.query_drop("UPDATE t SET v = 1000 WHERE id = 50")
        .await
        .expect("update");
    let changes = wait_for(WAIT, "every row of the incremental snapshot", || {
        let changes = sink_changes(s.work.path());
        let ids: std::collections::BTreeSet<i64> = changes
            .iter()
            .filter(|c| c.op == "r")
            .map(|c| c.id)
            .collect();
        let updated = changes.iter().any(|c| c.op == "u" && c.id == 50);
        async move { (updated && ids.len() as i64 >= ROWS - 1).then_some(changes) }
    })
    .await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
    let records = read_sink(&events_path(s.work.path()));
    for (topic, _, value) in &records {
        if topic.ends_with(".t") && value["op"] == "r" {
            assert_eq!(value["source"]["snapshot"], "incremental", "{value}");
        }
    }
    // Row 50 is either read after its update (v = 1000) or dropped from its window because
    // the update superseded it; never sent with the old value after the update.
    let update_at = changes
        .iter()
        .position(|c| c.op == "u" && c.id == 50)
        .expect("the update");
    for (i, c) in changes.iter().enumerate() {
        if c.op == "r" && c.id == 50 && i > update_at {
            assert_eq!(c.v, Some(1000), "a stale snapshot row after the update");
        }
    }
    let read: std::collections::BTreeSet<i64> = changes
        .iter()
        .filter(|c| c.op == "r")
        .map(|c| c.id)
        .collect();
    for id in 1..=ROWS {
        assert!(read.contains(&id) || id == 50, "row {id} missing");
    }
}

/// `snapshot.max.threads`: tables read by several readers whose transactions started under
/// the same global read lock; every row once, one `first` and one `last` marker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_parallel_snapshot_reads_every_row_once() {
    let s = Setup::new("mypar").await;
    let mut conn = s.conn().await;
    for (table, rows) in [("t", 700), ("t2", 450), ("t3", 0), ("t4", 333)] {
        if table != "t" {
            conn.query_drop(format!("CREATE TABLE {table} (id INT PRIMARY KEY, v INT)"))
                .await
                .expect("table");
        }
        if rows > 0 {
            let values: Vec<String> = (1..=rows).map(|i| format!("({i}, {i})")).collect();
            conn.query_drop(format!("INSERT INTO {table} VALUES {}", values.join(",")))
                .await
                .expect("rows");
        }
    }
    let mut c = s.connector("initial_only");
    c.insert("snapshot.max.threads".into(), "3".into());
    c.insert("snapshot.fetch.size".into(), "100".into());
    let mut sluice = SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &c);
    let status = sluice.wait_exit(WAIT).expect("initial_only ends by itself");
    assert!(status.success(), "{}", sluice.stderr_text());
    let records = read_sink(&events_path(s.work.path()));
    assert_eq!(records.len(), 700 + 450 + 333);
    let mut seen = std::collections::BTreeSet::new();
    for (topic, key, _) in &records {
        assert!(
            seen.insert((topic.clone(), key["id"].as_i64())),
            "{topic} {key} twice"
        );
    }
    let markers: Vec<&str> = records
        .iter()
        .map(|(_, _, v)| v["source"]["snapshot"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(markers.iter().filter(|m| **m == "first").count(), 1);
    assert_eq!(markers.first(), Some(&"first"));
    assert_eq!(markers.last(), Some(&"last"));
    assert_eq!(markers.iter().filter(|m| **m == "last").count(), 1);
}

/// `database.ssl.mode` against a server with TLS and an account that may only connect over
/// TLS: `disabled` is refused by the server, `required`, `verify_ca` and `verify_identity`
/// (the server's CA in `database.ssl.truststore`) capture rows, and `verify_identity`
/// against another CA fails with one error that names the truststore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_tls_modes() {
    let server = MariaDbServer::start_with(MariaDbOptions {
        tls: true,
        ..MariaDbOptions::default()
    })
    .expect("start mariadb with TLS");
    let ca = server.ca_cert_path().expect("a CA").to_path_buf();
    let db = server.create_database("mytls").await.expect("database");
    let mut conn = server.connect(&db).await.expect("connect");
    run_sql(
        &mut conn,
        "CREATE USER 'tls_only'@'%' IDENTIFIED BY 'tls-only-pw' REQUIRE SSL;
         GRANT ALL ON *.* TO 'tls_only'@'%';
         CREATE TABLE t (id INT PRIMARY KEY, v INT);
         INSERT INTO t VALUES (1, 10), (2, 20)",
    )
    .await;
    let user = [
        ("database.user", "tls_only"),
        ("database.password", "tls-only-pw"),
    ];
    let with = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        user.iter()
            .map(|(k, v)| (*k, v.to_string()))
            .chain(extra.iter().cloned())
            .collect()
    };

    let changes = with(&[("database.ssl.mode", "disabled".into())]);
    let refs: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (*k, v.as_str())).collect();
    expect_failure(&server, &refs, &["access denied"]).await;

    let other_ca = sluice_testcontainers::tls::generate().expect("another CA");
    let work = tempfile::tempdir().expect("tempdir");
    let other_ca_path = work.path().join("other-ca.crt");
    std::fs::write(&other_ca_path, other_ca.ca_cert_pem).expect("write the other CA");
    let changes = with(&[
        ("database.ssl.mode", "verify_identity".into()),
        (
            "database.ssl.truststore",
            other_ca_path.display().to_string(),
        ),
    ]);
    let refs: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (*k, v.as_str())).collect();
    expect_failure(&server, &refs, &["TLS", "database.ssl.truststore"]).await;

    for (mode, truststore) in [
        ("required", None),
        ("verify_ca", Some(&ca)),
        ("verify_identity", Some(&ca)),
    ] {
        let work = tempfile::tempdir().expect("tempdir");
        let mut connector = props(&[
            ("name", "maria-tls"),
            (
                "connector.class",
                "io.debezium.connector.mariadb.MariaDbConnector",
            ),
            ("topic.prefix", "maria"),
            ("snapshot.mode", "initial"),
            ("errors.max.retries", "0"),
        ]);
        connect_keys(&server, &mut connector);
        let mut extra = vec![("database.ssl.mode", mode.to_string())];
        if let Some(path) = truststore {
            extra.push(("database.ssl.truststore", path.display().to_string()));
        }
        for (k, v) in with(&extra) {
            connector.insert(k.to_owned(), v);
        }
        connector.insert("table.include.list".into(), format!("{db}.t"));
        let mut sluice = SluiceProcess::spawn(&file_worker_props(work.path(), false), &connector);
        let ids = wait_for(WAIT, &format!("the snapshot over TLS ({mode})"), || {
            let running = sluice.is_running();
            let stderr = if running {
                String::new()
            } else {
                sluice.stderr_text()
            };
            let ids: Vec<i64> = read_sink(&events_path(work.path()))
                .iter()
                .filter_map(|(_, _, v)| v["after"]["id"].as_i64())
                .collect();
            assert!(running, "{mode}: sluice exited:\n{stderr}");
            async move { (ids.len() >= 2).then_some(ids) }
        })
        .await;
        assert_eq!(ids, vec![1, 2], "{mode}");
        let status = sluice.sigterm_and_wait();
        assert!(status.success(), "{mode}: {}", sluice.stderr_text());
    }

    // A server without TLS: `required` names the fix; `preferred` connects in the clear.
    let plain = MariaDbServer::start_with(MariaDbOptions::default()).expect("start mariadb");
    expect_failure(
        &plain,
        &[("database.ssl.mode", "required")],
        &["does not offer TLS", "database.ssl.mode"],
    )
    .await;
    let s = Setup::new("mytlspref").await;
    let mut c = s.connector("no_data");
    c.insert("database.ssl.mode".into(), "preferred".into());
    let mut sluice = SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &c);
    wait_for(WAIT, "streaming without TLS (preferred)", || {
        let text = sluice.stderr_text();
        assert!(sluice.is_running(), "{text}");
        async move { text.contains("binlog streaming started").then_some(()) }
    })
    .await;
    assert!(sluice.stderr_text().contains("connecting without it"));
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{}", sluice.stderr_text());
}

/// Two connectors with the same `database.server.id`: the server lets only one replica of
/// that id stream. The one pushed out stops with one error that names the key to change,
/// rather than the two taking the stream from each other for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_duplicate_server_id_is_a_clear_error() {
    let s = Setup::new("mydupid").await;
    let first_work = tempfile::tempdir().expect("tempdir");
    let mut c = s.connector("no_data");
    c.insert("errors.max.retries".into(), "2".into());
    c.insert("retriable.restart.connector.wait.ms".into(), "200".into());
    let mut first = SluiceProcess::spawn(&file_worker_props(first_work.path(), false), &c);
    wait_for(WAIT, "the first connector streaming", || {
        let text = first.stderr_text();
        assert!(first.is_running(), "{text}");
        async move { text.contains("binlog streaming started").then_some(()) }
    })
    .await;
    let mut second = SluiceProcess::spawn(&file_worker_props(s.work.path(), false), &c);
    let mut conn = s.conn().await;
    let started = std::time::Instant::now();
    // Writes keep both streams busy until one of them gives up.
    let mut id = 0;
    let (loser, winner) = loop {
        id += 1;
        conn.query_drop(format!("INSERT INTO t VALUES ({id}, 1)"))
            .await
            .expect("insert");
        if !first.is_running() {
            break (&mut first, &mut second);
        }
        if !second.is_running() {
            break (&mut second, &mut first);
        }
        assert!(
            started.elapsed() < WAIT,
            "both connectors with server id {} still run:\n{}\n---\n{}",
            s.server_id,
            first.stderr_text(),
            second.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = loser.stderr_text();
    eprintln!("{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].contains("database.server.id"), "{}", errors[0]);
    assert!(!text.contains("panicked"), "{text}");
    let status = winner.sigterm_and_wait();
    assert!(status.success(), "{}", winner.stderr_text());
}
