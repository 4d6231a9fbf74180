//! The JDBC source connector (`io.confluent.connect.jdbc.JdbcSourceConnector`) end to end: the
//! real `sluice` binary polling a throwaway Postgres and MariaDB in every mode, restarts that
//! resume from the stored offsets, the late-commit case of the timestamp modes, bad input, and
//! the Kafka Connect talk's example both as a connector file and POSTed to the REST API.
//!
//! ```text
//! test ──SQL──> Postgres / MariaDB <──polls── sluice standalone ──> file sink (topic, key, value)
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use sluice_testcontainers::{MariaDbServer, PgServer};

use crate::support::process::{events_path, file_worker_props, SluiceProcess};
use crate::support::{read_sink, wait_for};

/// Bound on any single wait; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(90);

/// A SQL session on either database.
enum Db {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

impl Db {
    async fn exec(&mut self, sql: &str) {
        match self {
            Db::Pg(c) => c
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Db::My(c) => c
                .query_drop(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }
}

/// A throwaway database of either kind, with its JDBC URL.
struct Target {
    url: String,
    user: String,
    password: String,
    _pg: Option<PgServer>,
    _my: Option<MariaDbServer>,
}

async fn postgres() -> (Target, Db, Db) {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("jdbc").await.expect("db");
    let a = server.connect(&db).await.expect("connect");
    let b = server.connect(&db).await.expect("connect");
    let target = Target {
        url: format!(
            "jdbc:postgresql://{}:{}/{db}?sslmode=disable",
            server.host(),
            server.port()
        ),
        user: server.user().to_string(),
        password: server.password().to_string(),
        _pg: Some(server),
        _my: None,
    };
    (target, Db::Pg(a), Db::Pg(b))
}

async fn mariadb() -> (Target, Db, Db) {
    let server = MariaDbServer::start().expect("start mariadb");
    let db = server.create_database("jdbc").await.expect("db");
    let a = server.connect(&db).await.expect("connect");
    let b = server.connect(&db).await.expect("connect");
    let target = Target {
        url: format!("jdbc:mariadb://{}:{}/{db}", server.host(), server.port()),
        user: server.user().to_string(),
        password: server.password().to_string(),
        _pg: None,
        _my: Some(server),
    };
    (target, Db::My(a), Db::My(b))
}

/// A JDBC source connector on `target` with short polls, plus `extra`.
fn connector(target: &Target, name: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = [
        ("name", name),
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        ),
        ("connection.url", target.url.as_str()),
        ("connection.user", target.user.as_str()),
        ("connection.password", target.password.as_str()),
        ("poll.interval.ms", "100"),
        ("connection.attempts", "2"),
        ("connection.backoff.ms", "200"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if target.password.is_empty() {
        m.remove("connection.password");
    }
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// Values on `topic`, in sink order.
fn values_on(dir: &Path, topic: &str) -> Vec<Value> {
    read_sink(&events_path(dir))
        .into_iter()
        .filter(|(t, _, _)| t == topic)
        .map(|(_, _, v)| v)
        .collect()
}

/// `(id, name)` of every record on `topic`, with how often each arrived.
fn rows_on(dir: &Path, topic: &str) -> BTreeMap<(i64, String), usize> {
    let mut out = BTreeMap::new();
    for v in values_on(dir, topic) {
        let id = v["id"].as_i64().unwrap_or(-1);
        let name = v["name"].as_str().unwrap_or("").to_string();
        *out.entry((id, name)).or_default() += 1;
    }
    out
}

async fn wait_rows(process: &mut SluiceProcess, dir: &Path, topic: &str, want: &[(i64, &str)]) {
    let what = format!("{want:?} on {topic}");
    wait_for(WAIT, &what, || {
        let rows = rows_on(dir, topic);
        let ok = want
            .iter()
            .all(|(id, name)| rows.contains_key(&(*id, name.to_string())));
        if !ok && !process.is_running() {
            panic!("sluice exited:\n{}", process.stderr_text());
        }
        async move { ok.then_some(()) }
    })
    .await;
}

const TABLE: &str = "(id INT NOT NULL PRIMARY KEY, name VARCHAR(50), ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))";

/// Every mode on one database: inserts and updates between polls arrive; a restart resumes
/// the incrementing modes with no missed and no repeated rows.
async fn every_mode(target: Target, mut sql: Db) {
    for t in ["bulk_t", "inc_t", "ts_t", "tsinc_t"] {
        sql.exec(&format!("CREATE TABLE {t} {TABLE}")).await;
        sql.exec(&format!(
            "INSERT INTO {t} (id, name) VALUES (1, 'a'), (2, 'b')"
        ))
        .await;
    }
    let connectors = vec![
        connector(
            &target,
            "bulk",
            &[
                ("mode", "bulk"),
                ("table.whitelist", "bulk_t"),
                ("topic.prefix", "m-"),
            ],
        ),
        connector(
            &target,
            "inc",
            &[
                ("mode", "incrementing"),
                ("incrementing.column.name", "id"),
                ("table.whitelist", "inc_t"),
                ("topic.prefix", "m-"),
            ],
        ),
        connector(
            &target,
            "ts",
            &[
                ("mode", "timestamp"),
                ("timestamp.column.name", "ts"),
                ("table.whitelist", "ts_t"),
                ("topic.prefix", "m-"),
            ],
        ),
        connector(
            &target,
            "tsinc",
            &[
                ("mode", "timestamp+incrementing"),
                ("timestamp.column.name", "ts"),
                ("incrementing.column.name", "id"),
                ("table.whitelist", "tsinc_t"),
                ("topic.prefix", "m-"),
            ],
        ),
        // Every other table, found again every 200 ms: a table created later is polled.
        connector(
            &target,
            "discover",
            &[
                ("mode", "incrementing"),
                ("incrementing.column.name", "id"),
                ("table.blacklist", "bulk_t,inc_t,ts_t,tsinc_t"),
                ("table.poll.interval.ms", "200"),
                ("topic.prefix", "all-"),
            ],
        ),
    ];
    let dir = tempfile::tempdir().expect("dir");
    let worker = file_worker_props(dir.path(), false);
    let mut process = SluiceProcess::spawn_many(&worker, &connectors);
    let d = dir.path();
    for t in ["bulk_t", "inc_t", "ts_t", "tsinc_t"] {
        wait_rows(&mut process, d, &format!("m-{t}"), &[(1, "a"), (2, "b")]).await;
    }
    // The record shape: a struct named after the table, kafka-connect-jdbc's types.
    let first = values_on(d, "m-inc_t")[0].clone();
    assert_eq!(first["id"], 1, "{first}");
    assert!(
        first["ts"].is_i64(),
        "Timestamp is epoch milliseconds: {first}"
    );

    // Inserts and updates between polls.
    for t in ["bulk_t", "inc_t", "ts_t", "tsinc_t"] {
        sql.exec(&format!("INSERT INTO {t} (id, name) VALUES (3, 'c')"))
            .await;
        sql.exec(&format!(
            "UPDATE {t} SET name = 'b2', ts = CURRENT_TIMESTAMP(6) WHERE id = 2"
        ))
        .await;
    }
    for t in ["bulk_t", "ts_t", "tsinc_t"] {
        wait_rows(&mut process, d, &format!("m-{t}"), &[(3, "c"), (2, "b2")]).await;
    }
    // Incrementing mode sees new rows only (as kafka-connect-jdbc): id 3, not the update.
    wait_rows(&mut process, d, "m-inc_t", &[(3, "c")]).await;
    let ts = rows_on(d, "m-ts_t");
    assert!(ts.values().all(|n| *n == 1), "repeated rows: {ts:?}");
    assert_eq!(ts.len(), 4, "{ts:?}");
    // A table created while running is noticed.
    sql.exec(&format!("CREATE TABLE new_t {TABLE}")).await;
    sql.exec("INSERT INTO new_t (id, name) VALUES (1, 'new')")
        .await;
    wait_rows(&mut process, d, "all-new_t", &[(1, "new")]).await;
    // ... and a dropped one is forgotten, not an error.
    sql.exec("DROP TABLE new_t").await;
    sql.exec(&format!("CREATE TABLE new2_t {TABLE}")).await;
    sql.exec("INSERT INTO new2_t (id, name) VALUES (1, 'new2')")
        .await;
    wait_rows(&mut process, d, "all-new2_t", &[(1, "new2")]).await;

    // Restart: rows written while Sluice is down arrive once; nothing before repeats.
    let status = process.sigterm_and_wait();
    assert!(status.success(), "{}", process.stderr_text());
    for t in ["inc_t", "tsinc_t"] {
        sql.exec(&format!(
            "INSERT INTO {t} (id, name) VALUES (4, 'd'), (5, 'e')"
        ))
        .await;
    }
    let mut process = SluiceProcess::spawn_many(&worker, &connectors);
    for t in ["inc_t", "tsinc_t"] {
        wait_rows(&mut process, d, &format!("m-{t}"), &[(4, "d"), (5, "e")]).await;
    }
    // A marker row written after the restart's catch-up: once it arrived, every poll before
    // it has delivered what it would.
    for t in ["inc_t", "tsinc_t"] {
        sql.exec(&format!("INSERT INTO {t} (id, name) VALUES (6, 'f')"))
            .await;
        wait_rows(&mut process, d, &format!("m-{t}"), &[(6, "f")]).await;
    }
    let inc = rows_on(d, "m-inc_t");
    let want_inc: Vec<(i64, String)> = [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (6, "f")]
        .iter()
        .map(|(i, n)| (*i, n.to_string()))
        .collect();
    assert_eq!(inc.keys().cloned().collect::<Vec<_>>(), want_inc, "{inc:?}");
    assert!(inc.values().all(|n| *n == 1), "repeated rows: {inc:?}");
    let tsinc = rows_on(d, "m-tsinc_t");
    assert!(tsinc.values().all(|n| *n == 1), "repeated rows: {tsinc:?}");
    assert_eq!(
        tsinc.len(),
        7,
        "every insert and the update once: {tsinc:?}"
    );
    process.sigterm_and_wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_mode_and_restart() {
    let (target, sql, _) = postgres().await;
    every_mode(target, sql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_every_mode_and_restart() {
    let (target, sql, _) = mariadb().await;
    every_mode(target, sql).await;
}

/// A transaction that commits after a later one, with an earlier timestamp: without a delay
/// the poll passes its timestamp first and the row is lost (the control); with
/// `timestamp.delay.interval.ms` covering the time it stayed open, it arrives.
async fn late_commit(target: Target, mut sql: Db, mut other: Db, begin: &str) {
    for t in ["late_nodelay", "late_delay"] {
        sql.exec(&format!("CREATE TABLE {t} {TABLE}")).await;
    }
    let connectors: Vec<_> = [("late_nodelay", "0"), ("late_delay", "3000")]
        .iter()
        .map(|(t, delay)| {
            connector(
                &target,
                t,
                &[
                    ("mode", "timestamp"),
                    ("timestamp.column.name", "ts"),
                    ("timestamp.delay.interval.ms", delay),
                    ("table.whitelist", t),
                    ("topic.prefix", "late-"),
                ],
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let mut process = SluiceProcess::spawn_many(&file_worker_props(d, false), &connectors);
    for t in ["late_nodelay", "late_delay"] {
        // Wait until the connector polls (a first row arrives).
        sql.exec(&format!("INSERT INTO {t} (id, name) VALUES (0, 'start')"))
            .await;
        wait_rows(&mut process, d, &format!("late-{t}"), &[(0, "start")]).await;
    }
    // Control, no delay: the early transaction's row is missed.
    other.exec(begin).await;
    other
        .exec("INSERT INTO late_nodelay (id, name) VALUES (1, 'early')")
        .await;
    sql.exec("INSERT INTO late_nodelay (id, name) VALUES (2, 'later')")
        .await;
    wait_rows(&mut process, d, "late-late_nodelay", &[(2, "later")]).await;
    other.exec("COMMIT").await;
    sql.exec("INSERT INTO late_nodelay (id, name) VALUES (3, 'after')")
        .await;
    wait_rows(&mut process, d, "late-late_nodelay", &[(3, "after")]).await;
    assert!(
        !rows_on(d, "late-late_nodelay").contains_key(&(1, "early".into())),
        "the control should miss the late commit: {:?}\n{}",
        values_on(d, "late-late_nodelay"),
        process.stderr_text()
    );
    // With the delay: the same sequence delivers both rows.
    other.exec(begin).await;
    other
        .exec("INSERT INTO late_delay (id, name) VALUES (1, 'early')")
        .await;
    sql.exec("INSERT INTO late_delay (id, name) VALUES (2, 'later')")
        .await;
    other.exec("COMMIT").await;
    wait_rows(
        &mut process,
        d,
        "late-late_delay",
        &[(1, "early"), (2, "later")],
    )
    .await;
    process.sigterm_and_wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_late_commit_is_covered_by_the_delay() {
    let (target, sql, other) = postgres().await;
    late_commit(target, sql, other, "BEGIN").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_late_commit_is_covered_by_the_delay() {
    let (target, sql, other) = mariadb().await;
    late_commit(target, sql, other, "START TRANSACTION").await;
}

/// Bad input: each stops the connector with one error naming the table and the column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_table_and_column() {
    let (target, mut sql, _) = postgres().await;
    sql.exec("CREATE TABLE orders (id INT NOT NULL, maybe INT, ts TIMESTAMP)")
        .await;
    /// Connector keys, and what the error must say.
    type Case = (Vec<(&'static str, &'static str)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("mode", "incrementing"),
                ("incrementing.column.name", "no_such"),
                ("table.whitelist", "orders"),
            ],
            vec![
                "public.orders has no column no_such",
                "incrementing.column.name",
            ],
        ),
        (
            vec![
                ("mode", "incrementing"),
                ("incrementing.column.name", "maybe"),
                ("table.whitelist", "orders"),
            ],
            vec![
                "public.orders, column maybe is nullable",
                "validate.non.null=false",
            ],
        ),
        (
            vec![
                ("mode", "timestamp"),
                ("timestamp.column.name", "ts"),
                ("table.whitelist", "orders"),
            ],
            vec!["public.orders, column(s) ts nullable"],
        ),
        (
            vec![
                ("mode", "incrementing"),
                ("incrementing.column.name", "id"),
                ("query", "SELECT * FROM no_such_table"),
            ],
            vec!["the query failed", "no_such_table"],
        ),
        (
            vec![("mode", "bulk"), ("connection.user", "no_such_user")],
            vec!["cannot connect to", "after 2 attempt(s)", "connection.user"],
        ),
    ];
    for (i, (extra, want)) in cases.into_iter().enumerate() {
        let mut extra = extra;
        extra.push(("topic.prefix", "bad-"));
        let name = format!("bad{i}");
        let config = connector(&target, &name, &extra);
        let dir = tempfile::tempdir().expect("dir");
        let mut process = SluiceProcess::spawn(&file_worker_props(dir.path(), false), &config);
        let status = process
            .wait_exit(WAIT)
            .unwrap_or_else(|| panic!("case {i}: sluice kept running:\n{}", process.stderr_text()));
        assert!(!status.success(), "case {i} should fail");
        let stderr = process.stderr_text();
        for w in want {
            assert!(stderr.contains(w), "case {i}: no {w:?} in:\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "case {i}: {stderr}");
    }
}

/// The talk's table, with upper-case names as Oracle had them.
async fn orders(sql: &mut Db) {
    sql.exec(
        "CREATE TABLE \"ORDERS\" (\"ORDER_ID\" INT NOT NULL PRIMARY KEY, \"CUSTOMER_ID\" INT NOT NULL, \"ORDER_TOTAL\" NUMERIC(10,2))",
    )
    .await;
    sql.exec("INSERT INTO \"ORDERS\" VALUES (1, 42, 10.50), (2, 7, 3.00)")
        .await;
}

/// The talk's connector config, with this test's URL and the short table name.
fn talk_config(target: &Target) -> BTreeMap<String, String> {
    let mut m = connector(
        target,
        "jdbc_source_oracle_soe_orders",
        &[
            ("connector.class", "JdbcSourceConnector"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "ORDER_ID"),
            ("table.whitelist", "ORDERS"),
            ("topic.prefix", "soe2-"),
            ("transforms", "InsertKey,ExtractId"),
            (
                "transforms.InsertKey.type",
                "org.apache.kafka.connect.transforms.ValueToKey",
            ),
            ("transforms.InsertKey.fields", "CUSTOMER_ID"),
            (
                "transforms.ExtractId.type",
                "org.apache.kafka.connect.transforms.ExtractField$Key",
            ),
            ("transforms.ExtractId.field", "CUSTOMER_ID"),
        ],
    );
    m.remove("poll.interval.ms");
    m.insert("poll.interval.ms".into(), "200".into());
    m
}

/// `(key, ORDER_ID)` of the records on soe2-ORDERS.
async fn wait_talk_records(process: &mut SluiceProcess, dir: &Path) -> Vec<(Value, Value)> {
    wait_for(WAIT, "two records on soe2-ORDERS", || {
        let records: Vec<(Value, Value)> = read_sink(&events_path(dir))
            .into_iter()
            .filter(|(t, _, _)| t == "soe2-ORDERS")
            .map(|(_, k, v)| (k, v))
            .collect();
        if records.len() < 2 && !process.is_running() {
            panic!("sluice exited:\n{}", process.stderr_text());
        }
        async move { (records.len() >= 2).then_some(records) }
    })
    .await
}

fn assert_talk_records(records: &[(Value, Value)]) {
    let keys: Vec<(Value, Value)> = records
        .iter()
        .map(|(k, v)| (k.clone(), v["ORDER_ID"].clone()))
        .collect();
    assert_eq!(
        keys,
        vec![(json!(42), json!(1)), (json!(7), json!(2))],
        "{records:?}"
    );
    // The value is the row; ORDER_TOTAL is a Connect Decimal (base64 of the unscaled bytes).
    assert_eq!(records[0].1["CUSTOMER_ID"], 42);
    assert_eq!(
        records[0].1["ORDER_TOTAL"], "BBo=",
        "10.50 at scale 2 is 1050 = 0x041a"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_example_standalone_and_rest() {
    let (target, mut sql, _) = postgres().await;
    orders(&mut sql).await;
    let config = talk_config(&target);

    // As a connector file given to `sluice standalone`.
    let dir = tempfile::tempdir().expect("dir");
    let mut process = SluiceProcess::spawn(&file_worker_props(dir.path(), false), &config);
    let records = wait_talk_records(&mut process, dir.path()).await;
    assert_talk_records(&records);
    process.sigterm_and_wait();

    // POSTed to the REST API of a worker without connector files.
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = file_worker_props(dir.path(), false);
    worker.insert("listeners".into(), "http://127.0.0.1:0".into());
    let mut process = SluiceProcess::spawn_many(&worker, &[]);
    let base = wait_for(WAIT, "the REST API to listen", || {
        let text = process.stderr_text();
        let found = text.lines().find_map(|l| {
            l.split_once("REST API listening on ")
                .map(|(_, url)| url.trim().to_string())
        });
        async move { found }
    })
    .await;
    let mut body_config = config.clone();
    let name = body_config.remove("name").expect("name");
    let body = json!({"name": name, "config": body_config}).to_string();
    let out = Command::new("curl")
        .args(["-s", "-S", "-X", "POST", "-w", "\n%{http_code}"])
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &body,
        ])
        .arg(format!("{base}/connectors"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.trim_end().ends_with("201"), "POST /connectors: {text}");
    let plugins = Command::new("curl")
        .args(["-s", &format!("{base}/connector-plugins")])
        .output()
        .expect("curl");
    assert!(
        String::from_utf8_lossy(&plugins.stdout)
            .contains("io.confluent.connect.jdbc.JdbcSourceConnector"),
        "the plugin list names the JDBC source"
    );
    let records = wait_talk_records(&mut process, dir.path()).await;
    assert_talk_records(&records);
    // Offsets as kafka-connect-jdbc stores them: one partition per table.
    let url = format!("{base}/connectors/{name}/offsets");
    let offsets = wait_for(WAIT, "the committed offset", || {
        let out = Command::new("curl")
            .args(["-s", &url])
            .output()
            .expect("curl");
        let body: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let ok = body["offsets"][0]["offset"]["incrementing"] == 2;
        async move { ok.then_some(body) }
    })
    .await;
    assert_eq!(
        offsets["offsets"][0]["partition"],
        json!({"protocol": "1", "table": "public.ORDERS"}),
        "{offsets}"
    );
    process.sigterm_and_wait();
}

/// The field of `name` in a record's `schema`.
fn field<'a>(record: &'a Value, name: &str) -> &'a Value {
    record["schema"]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["field"] == name))
        .unwrap_or_else(|| panic!("no field {name} in {record}"))
}

/// Types as kafka-connect-jdbc maps them (with `numeric.mapping=best_fit`), a custom query with
/// a suffix (topic = `topic.prefix`, unnamed struct), and `timestamp.initial=-1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_types_query_and_timestamp_initial() {
    let (target, mut sql, _) = postgres().await;
    sql.exec(
        "CREATE TABLE typed (id INT NOT NULL PRIMARY KEY, small SMALLINT, big BIGINT, flag BOOLEAN, \
         price NUMERIC(10,2), qty NUMERIC(9,0), exact NUMERIC(30,4), ratio REAL, dbl DOUBLE PRECISION, \
         d DATE, t TIME(3), ts TIMESTAMP(3) NOT NULL, tstz TIMESTAMPTZ, raw BYTEA, note TEXT, uid UUID)",
    )
    .await;
    sql.exec(
        "INSERT INTO typed VALUES \
         (1, 7, 9000000000, true, 12.34, 123456789, 1.5, 0.5, 2.25, '2024-02-29', '12:34:56.789', \
          '2024-02-29 12:00:00.123', '2024-02-29 12:00:00.123+01', '\\x00ff', 'n', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
         (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-03-01 00:00:00', NULL, NULL, NULL, NULL)",
    )
    .await;
    let connectors = vec![
        connector(
            &target,
            "types",
            &[
                ("mode", "bulk"),
                ("table.whitelist", "typed"),
                ("numeric.mapping", "best_fit"),
                ("topic.prefix", "ty-"),
            ],
        ),
        connector(
            &target,
            "query",
            &[
                ("mode", "incrementing"),
                ("incrementing.column.name", "id"),
                (
                    "query",
                    "SELECT o.id, o.note FROM typed o WHERE o.note IS NOT NULL",
                ),
                ("query.suffix", "LIMIT 1000"),
                ("topic.prefix", "q-topic"),
            ],
        ),
        connector(
            &target,
            "initial",
            &[
                ("mode", "timestamp"),
                ("timestamp.column.name", "ts"),
                ("timestamp.initial", "-1"),
                ("table.whitelist", "typed"),
                ("topic.prefix", "init-"),
            ],
        ),
    ];
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let mut process = SluiceProcess::spawn_many(&file_worker_props(d, true), &connectors);
    let records = wait_for(WAIT, "records on ty-typed and q-topic", || {
        let sink = read_sink(&events_path(d));
        let typed: Vec<Value> = sink
            .iter()
            .filter(|(t, _, _)| t == "ty-typed")
            .map(|(_, _, v)| v.clone())
            .collect();
        let query: Vec<Value> = sink
            .iter()
            .filter(|(t, _, _)| t == "q-topic")
            .map(|(_, _, v)| v.clone())
            .collect();
        if !process.is_running() {
            panic!("sluice exited:\n{}", process.stderr_text());
        }
        async move { (typed.len() >= 2 && !query.is_empty()).then_some((typed, query)) }
    })
    .await;
    let (typed, query) = records;
    let r = &typed[0];
    assert_eq!(r["schema"]["name"], "typed", "{r}");
    let expect = [
        ("id", json!({"type": "int32", "optional": false})),
        ("small", json!({"type": "int16", "optional": true})),
        ("big", json!({"type": "int64", "optional": true})),
        ("flag", json!({"type": "boolean", "optional": true})),
        ("price", json!({"type": "double", "optional": true})),
        ("qty", json!({"type": "int32", "optional": true})),
        ("ratio", json!({"type": "float", "optional": true})),
        ("dbl", json!({"type": "double", "optional": true})),
        ("raw", json!({"type": "bytes", "optional": true})),
        ("note", json!({"type": "string", "optional": true})),
        ("uid", json!({"type": "string", "optional": true})),
    ];
    for (name, want) in expect {
        let f = field(r, name);
        assert_eq!(f["type"], want["type"], "{name}: {f}");
        assert_eq!(f["optional"], want["optional"], "{name}: {f}");
    }
    for (name, logical) in [
        ("exact", "org.apache.kafka.connect.data.Decimal"),
        ("d", "org.apache.kafka.connect.data.Date"),
        ("t", "org.apache.kafka.connect.data.Time"),
        ("ts", "org.apache.kafka.connect.data.Timestamp"),
        ("tstz", "org.apache.kafka.connect.data.Timestamp"),
    ] {
        assert_eq!(field(r, name)["name"], logical, "{name}");
    }
    assert_eq!(field(r, "exact")["parameters"]["scale"], "4");
    assert_eq!(field(r, "ts")["optional"], false);
    let p = &r["payload"];
    assert_eq!(p["id"], 1);
    assert_eq!(p["big"], 9_000_000_000i64);
    assert_eq!(p["flag"], true);
    assert_eq!(p["price"], 12.34);
    assert_eq!(p["qty"], 123_456_789);
    assert_eq!(p["exact"], "Opg=", "1.5000 at scale 4 is 15000 = 0x3a98");
    assert_eq!(p["d"], 19_782);
    assert_eq!(p["t"], 45_296_789);
    assert_eq!(p["ts"], 1_709_208_000_123i64);
    assert_eq!(
        p["tstz"], 1_709_204_400_123i64,
        "+01 is an hour earlier in UTC"
    );
    assert_eq!(p["raw"], "AP8=");
    assert_eq!(p["uid"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    let nulls = &typed[1]["payload"];
    assert!(nulls["small"].is_null() && nulls["d"].is_null(), "{nulls}");

    // The query: one topic, an unnamed struct of its columns.
    let q = &query[0];
    assert!(q["schema"]["name"].is_null(), "{q}");
    assert_eq!(q["payload"], json!({"id": 1, "note": "n"}));

    // timestamp.initial=-1: the old rows are skipped, a new one arrives.
    sql.exec("INSERT INTO typed (id, ts, note) VALUES (3, CURRENT_TIMESTAMP(3), 'new')")
        .await;
    let init = wait_for(WAIT, "the new row on init-typed", || {
        let ids: Vec<Value> = read_sink(&events_path(d))
            .into_iter()
            .filter(|(t, _, _)| t == "init-typed")
            .map(|(_, _, v)| v["payload"]["id"].clone())
            .collect();
        async move { (!ids.is_empty()).then_some(ids) }
    })
    .await;
    assert_eq!(init, vec![json!(3)]);
    process.sigterm_and_wait();
}

/// MySQL/MariaDB types as kafka-connect-jdbc maps them: TINYINT(1) is boolean, DECIMAL stays a
/// Decimal under `numeric.mapping` (it is JDBC DECIMAL, not NUMERIC), an unsigned BIGINT keeps
/// every value as a Decimal, binary strings are bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_types() {
    let (target, mut sql, _) = mariadb().await;
    sql.exec(
        "CREATE TABLE typed (id INT NOT NULL PRIMARY KEY, tiny TINYINT, flag TINYINT(1), small SMALLINT, \
         big BIGINT, ubig BIGINT UNSIGNED, price DECIMAL(10,2), ratio FLOAT, dbl DOUBLE, d DATE, t TIME(3), \
         ts DATETIME(3) NOT NULL, tsz TIMESTAMP(3) NULL, raw VARBINARY(10), note TEXT, e ENUM('x','y'))",
    )
    .await;
    sql.exec(
        "INSERT INTO typed VALUES (1, -5, 1, 300, 9000000000, 18446744073709551615, 12.34, 0.5, 2.25, \
         '2024-02-29', '12:34:56.789', '2024-02-29 12:00:00.123', '2024-02-29 12:00:00.123', 0x00ff, 'n', 'y')",
    )
    .await;
    let config = connector(
        &target,
        "types",
        &[
            ("mode", "bulk"),
            ("table.whitelist", "typed"),
            ("numeric.mapping", "best_fit"),
            ("topic.prefix", "ty-"),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let mut process = SluiceProcess::spawn(&file_worker_props(d, true), &config);
    let r = wait_for(WAIT, "a record on ty-typed", || {
        let first = read_sink(&events_path(d))
            .into_iter()
            .find(|(t, _, _)| t == "ty-typed")
            .map(|(_, _, v)| v);
        if first.is_none() && !process.is_running() {
            panic!("sluice exited:\n{}", process.stderr_text());
        }
        async move { first }
    })
    .await;
    assert_eq!(r["schema"]["name"], "typed", "{r}");
    for (name, ty, optional) in [
        ("id", "int32", false),
        ("tiny", "int8", true),
        ("flag", "boolean", true),
        ("small", "int16", true),
        ("big", "int64", true),
        ("ratio", "float", true),
        ("dbl", "double", true),
        ("raw", "bytes", true),
        ("note", "string", true),
        ("e", "string", true),
    ] {
        let f = field(&r, name);
        assert_eq!(
            (f["type"].clone(), f["optional"].clone()),
            (json!(ty), json!(optional)),
            "{name}: {f}"
        );
    }
    for (name, logical) in [
        ("ubig", "org.apache.kafka.connect.data.Decimal"),
        ("price", "org.apache.kafka.connect.data.Decimal"),
        ("d", "org.apache.kafka.connect.data.Date"),
        ("t", "org.apache.kafka.connect.data.Time"),
        ("ts", "org.apache.kafka.connect.data.Timestamp"),
        ("tsz", "org.apache.kafka.connect.data.Timestamp"),
    ] {
        assert_eq!(field(&r, name)["name"], logical, "{name}");
    }
    assert_eq!(field(&r, "price")["parameters"]["scale"], "2");
    let p = &r["payload"];
    assert_eq!(p["tiny"], -5);
    assert_eq!(p["flag"], true);
    assert_eq!(p["ubig"], "AP//////////");
    assert_eq!(p["price"], "BNI=");
    assert_eq!(p["d"], 19_782);
    assert_eq!(p["t"], 45_296_789);
    assert_eq!(p["ts"], 1_709_208_000_123i64);
    assert_eq!(p["tsz"], 1_709_208_000_123i64);
    assert_eq!(p["raw"], "AP8=");
    assert_eq!(p["e"], "y");
    process.sigterm_and_wait();
}
