//! Bad input end to end: the real `sluice` binary is run against each kind of mistake a user
//! makes (config files, config values, credentials, server setup, permissions, a busy slot,
//! a column type without a mapping) and must exit by itself with one `error:` line that names
//! the object and says what to fix: exit code 2 for configuration, 1 for a connector that
//! failed at run time. It never panics and never prints the password.
//!
//! ```text
//! files in a temp dir ──> sluice standalone worker connector ──> exit code + stdout + stderr
//!                                    │ (timeout: a hang fails the test)
//!                                    └──> throwaway postgres (testcontainers)
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice::postgres::replication::{
    publication_names_option, ConnectParams, ReplicationConnection, SlotSnapshot, SslMode,
};
use sluice_testcontainers::{PgAuth, PgOptions, PgServer};

use crate::support::process::{events_path, file_worker_props, pg_connector_props, SluiceProcess};
use crate::support::{props, read_sink, wait_for, wait_slot_active};

/// A bad-input run must end by itself well within this; a hang fails the test.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on waits for a running process to reach a state.
const WAIT: Duration = Duration::from_secs(60);
/// Exit code of a configuration error (`WorkerError::exit_code`).
const EXIT_CONFIG: i32 = 2;
/// Exit code of a connector that failed at run time.
const EXIT_RUNTIME: i32 = 1;
/// A password that must never show up in the output.
const PASSWORD: &str = "Sluice-S3cret-pw";

/// How a finished run ended.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// The lines the binary itself wrote as its final error (not tracing log lines).
    fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    /// Asserts the shared promises of a bad-input run and returns the single `error:` line
    /// (with the lines that continue it, for multi-line config reports).
    fn expect_error(&self, code: i32, secrets: &[&str]) -> String {
        let all = format!("{}\n{}", self.stdout, self.stderr);
        assert!(
            !all.contains("panicked"),
            "sluice panicked; stderr:\n{}",
            self.stderr
        );
        for secret in secrets {
            assert!(
                !all.contains(secret),
                "the password appears in the output:\n{all}"
            );
        }
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}; stderr:\n{}",
            self.stderr
        );
        let lines = self.error_lines();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one `error:` line; stderr:\n{}",
            self.stderr
        );
        // The error and whatever follows it (a config report lists one key per line).
        let start = self
            .stderr
            .find(&format!("\n{}", lines[0]))
            .map_or(0, |i| i + 1);
        let text = self.stderr[start..].trim_end().to_string();
        eprintln!("user sees: {text}");
        text
    }
}

/// Runs `sluice ARGS...` to completion (killed after [`RUN_TIMEOUT`], which fails the test).
async fn run_sluice<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args(&args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "info");
    }
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("sluice {args:?} did not exit within {RUN_TIMEOUT:?}"))
        .expect("run the sluice binary");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `key=value` lines (the tests' values need no escaping).
fn properties_text(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// Writes `name` with `content` into `dir`.
fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// Runs `sluice standalone` with these maps written as `.properties` files.
async fn run_standalone(
    worker: &BTreeMap<String, String>,
    connector: &BTreeMap<String, String>,
) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = write(dir.path(), "worker.properties", &properties_text(worker));
    let c = write(
        dir.path(),
        "connector.properties",
        &properties_text(connector),
    );
    run_sluice([OsString::from("standalone"), w.into(), c.into()]).await
}

/// A worker whose sink and offsets live in `dir`.
fn worker_in(dir: &Path) -> BTreeMap<String, String> {
    file_worker_props(dir, false)
}

/// A connector for `db` with fresh slot / publication names.
fn connector_for(server: &PgServer, db: &str) -> BTreeMap<String, String> {
    pg_connector_props(
        server,
        db,
        &PgServer::unique_name("bad_slot"),
        &PgServer::unique_name("bad_pub"),
        &PgServer::unique_name("bad"),
    )
}

/// A server that checks passwords, with [`PASSWORD`] for the superuser.
fn password_server(auth: PgAuth) -> PgServer {
    PgServer::start_with(PgOptions {
        auth,
        password: PASSWORD.to_owned(),
        ..PgOptions::default()
    })
    .expect("start postgres")
}

async fn wrong_password(auth: PgAuth) {
    let server = password_server(auth);
    if server.is_external() {
        eprintln!("skipping: the password of an external server is not ours to choose");
        return;
    }
    let db = server.create_database("bad_pw").await.expect("database");
    let work = tempfile::tempdir().expect("tempdir");
    let mut connector = connector_for(&server, &db);
    let wrong = "Wr0ng-Pa55word";
    connector.insert("database.password".into(), wrong.into());
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_RUNTIME, &[wrong, PASSWORD]);
    let addr = format!("{}:{}", server.host(), server.port());
    assert!(e.contains(&addr), "{e}");
    assert!(e.contains(&format!("user {}", server.user())), "{e}");
    assert!(
        e.contains("check database.user and database.password"),
        "{e}"
    );
    assert!(e.contains("password authentication failed"), "{e}");
    // Said once: not also as a log line.
    assert_eq!(
        out.stderr.matches("password authentication failed").count(),
        1,
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn wrong_password_scram() {
    wrong_password(PgAuth::ScramSha256).await;
}

#[tokio::test]
async fn wrong_password_md5() {
    wrong_password(PgAuth::Md5).await;
}

#[tokio::test]
async fn missing_database() {
    let server = PgServer::start().expect("start postgres");
    let work = tempfile::tempdir().expect("tempdir");
    let db = PgServer::unique_name("no_such_db");
    let connector = connector_for(&server, &db);
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_RUNTIME, &[]);
    assert!(e.contains(&format!("(database {db}, user ")), "{e}");
    assert!(
        e.contains("check database.dbname or create the database"),
        "{e}"
    );
    assert!(
        e.contains(&format!("database \"{db}\" does not exist")),
        "{e}"
    );
}

#[tokio::test]
async fn wal_level_not_logical() {
    let server = PgServer::start_with(PgOptions {
        wal_level: "replica".into(),
        ..PgOptions::default()
    })
    .expect("start postgres");
    if server.is_external() {
        eprintln!("skipping: an external server's wal_level is not ours to choose");
        return;
    }
    let db = server.create_database("bad_wal").await.expect("database");
    let work = tempfile::tempdir().expect("tempdir");
    let out = run_standalone(&worker_in(work.path()), &connector_for(&server, &db)).await;
    let e = out.expect_error(EXIT_RUNTIME, &[]);
    assert!(e.contains("wal_level is replica"), "{e}");
    assert!(e.contains("wal_level=logical"), "{e}");
    assert!(e.contains("restart postgres"), "{e}");
}

#[tokio::test]
async fn missing_permissions() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("bad_perm").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    let plain = PgServer::unique_name("nope");
    let repl = PgServer::unique_name("repl_only");
    client
        .batch_execute(&format!(
            "CREATE TABLE owned_by_admin (id int PRIMARY KEY);
             CREATE ROLE {plain} LOGIN PASSWORD 'x';
             CREATE ROLE {repl} LOGIN REPLICATION PASSWORD 'x';
             GRANT SELECT ON owned_by_admin TO {plain}, {repl};
             GRANT CREATE ON DATABASE \"{db}\" TO {repl};"
        ))
        .await
        .expect("roles");
    let work = tempfile::tempdir().expect("tempdir");

    // A role without REPLICATION.
    let mut connector = connector_for(&server, &db);
    connector.insert("database.user".into(), plain.clone());
    connector.insert("database.password".into(), "x".into());
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_RUNTIME, &[]);
    assert!(
        e.contains(&format!("user {plain} may not use replication")),
        "{e}"
    );
    assert!(
        e.contains(&format!("ALTER ROLE \"{plain}\" REPLICATION")),
        "{e}"
    );

    // REPLICATION, but no right to publish a table it does not own.
    let mut connector = connector_for(&server, &db);
    let publication = connector["publication.name"].clone();
    connector.insert("database.user".into(), repl.clone());
    connector.insert("database.password".into(), "x".into());
    connector.insert("table.include.list".into(), "public.owned_by_admin".into());
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_RUNTIME, &[]);
    assert!(
        e.contains(&format!(
            "configuring publication {publication}: user {repl} may not create or alter it"
        )),
        "{e}"
    );
    assert!(
        e.contains("set publication.autocreate.mode=disabled"),
        "{e}"
    );
    assert!(e.contains("must be owner of table owned_by_admin"), "{e}");
}

#[tokio::test]
async fn malformed_config_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = write(dir.path(), "worker.properties", "sink=stdout\n");
    let good_connector = write(
        dir.path(),
        "good.properties",
        "name=c\nconnector.class=postgres\ndatabase.hostname=127.0.0.1\ndatabase.user=u\ndatabase.dbname=d\ntopic.prefix=p\n",
    );

    // Invalid JSON: file, line and column.
    let json = write(
        dir.path(),
        "connector.json",
        "{\n  \"name\": \"c\",\n  \"config\": {\"topic.prefix\": }\n}\n",
    );
    let out = run_sluice([
        OsString::from("standalone"),
        worker.clone().into(),
        json.clone().into(),
    ])
    .await;
    let e = out.expect_error(EXIT_CONFIG, &[]);
    assert!(
        e.contains(&format!(
            "invalid json in {}: expected value at line 3 column 30",
            json.display()
        )),
        "{e}"
    );

    // A `.properties` worker with a bad `\u` escape: file and line.
    let bad_worker = write(
        dir.path(),
        "bad-worker.properties",
        "sink=file\nsink.file.path=/tmp/x\\u00G1\n",
    );
    let out = run_sluice([
        OsString::from("standalone"),
        bad_worker.clone().into(),
        good_connector.clone().into(),
    ])
    .await;
    let e = out.expect_error(EXIT_CONFIG, &[]);
    assert!(
        e.contains(&format!(
            "invalid properties file {}: line 2: malformed \\uXXXX escape",
            bad_worker.display()
        )),
        "{e}"
    );
    assert!(e.contains("four hex digits"), "{e}");
    assert_eq!(e.matches("line 2").count(), 1, "said once: {e}");

    // Missing files, worker or connector.
    let missing = dir.path().join("no-such-connector.json");
    let out = run_sluice([
        OsString::from("standalone"),
        worker.clone().into(),
        missing.clone().into(),
    ])
    .await;
    let e = out.expect_error(EXIT_CONFIG, &[]);
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert!(e.contains("No such file"), "{e}");
    let missing = dir.path().join("no-such-worker.properties");
    let out = run_sluice([
        OsString::from("standalone"),
        missing.clone().into(),
        good_connector.into(),
    ])
    .await;
    let e = out.expect_error(EXIT_CONFIG, &[]);
    assert!(e.contains(&missing.display().to_string()), "{e}");
}

#[tokio::test]
async fn invalid_values_stop_before_connecting() {
    // Something listens here, so a connection attempt would be seen; nothing answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port().to_string();
    let work = tempfile::tempdir().expect("tempdir");
    let mut connector = props(&[
        ("name", "bad-values"),
        (
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        ),
        ("database.hostname", "127.0.0.1"),
        ("database.port", &port),
        ("database.user", "postgres"),
        ("database.password", PASSWORD),
        ("database.dbname", "postgres"),
        ("topic.prefix", "bad"),
        ("decimal.handling.mode", "precize"),
    ]);
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_CONFIG, &[PASSWORD]);
    assert_eq!(
        e,
        "error: invalid connector configuration bad-values: invalid value \"precize\" for decimal.handling.mode: expected one of precise, double, string"
    );

    // Several bad keys: every one is reported in the same run.
    connector.insert("time.precision.mode".into(), "nanos".into());
    connector.insert("database.port".into(), "54x2".into());
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_CONFIG, &[PASSWORD]);
    assert!(
        e.starts_with("error: invalid connector configuration bad-values: 3 errors\n"),
        "{e}"
    );
    // One indented line per key.
    for key in [
        "database.port",
        "decimal.handling.mode",
        "time.precision.mode",
    ] {
        assert!(
            e.lines()
                .any(|l| l.starts_with("  invalid value") && l.contains(key)),
            "{key} missing from: {e}"
        );
    }
    assert!(e.contains("adaptive_time_microseconds"), "{e}");

    // A bad worker value too.
    let mut worker = worker_in(work.path());
    worker.insert("sink".into(), "kinesis".into());
    let out = run_standalone(&worker, &connector).await;
    let e = out.expect_error(EXIT_CONFIG, &[]);
    assert_eq!(
        e,
        "error: invalid worker configuration: invalid value \"kinesis\" for sink: expected one of file, stdout, kafka"
    );

    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("sluice connected (from {from}) despite an invalid config"),
        Err(e) => panic!("accept: {e}"),
    }
}

#[tokio::test]
async fn slot_in_use_by_another_process() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("bad_slot").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .expect("table");
    let mut connector = connector_for(&server, &db);
    let slot = connector["slot.name"].clone();
    let publication = connector["publication.name"].clone();
    client
        .batch_execute(&format!("CREATE PUBLICATION {publication} FOR TABLE t"))
        .await
        .expect("publication");

    // Another consumer holds the slot.
    let params = ConnectParams {
        host: server.host().to_owned(),
        port: server.port(),
        user: server.user().to_owned(),
        password: Some(server.password().to_owned()),
        dbname: db.clone(),
        sslmode: SslMode::Disable,
        sslrootcert: None,
        sslcert: None,
        sslkey: None,
        application_name: "other-consumer".to_owned(),
        options: Vec::new(),
        connect_timeout: Duration::from_secs(30),
    };
    let mut holder = ReplicationConnection::connect(&params)
        .await
        .expect("replication connection");
    let holder_pid = holder.backend_pid().expect("backend pid");
    holder
        .create_logical_slot(&slot, "pgoutput", SlotSnapshot::NoExport)
        .await
        .expect("create slot");
    let stream = holder
        .start_logical_replication(
            &slot,
            0,
            &[
                ("proto_version".to_owned(), "1".to_owned()),
                (
                    "publication_names".to_owned(),
                    publication_names_option(&[publication.as_str()]),
                ),
            ],
        )
        .await
        .expect("start replication");
    wait_slot_active(&client, &slot).await;

    connector.insert("slot.max.retries".into(), "2".into());
    connector.insert("slot.retry.delay.ms".into(), "200".into());
    let work = tempfile::tempdir().expect("tempdir");
    let out = run_standalone(&worker_in(work.path()), &connector).await;
    let e = out.expect_error(EXIT_RUNTIME, &[]);
    assert!(
        e.contains(&format!(
            "replication slot {slot} is in use by process {holder_pid}"
        )),
        "{e}"
    );
    assert!(e.contains("stop the other consumer"), "{e}");
    assert!(e.contains("slot.name"), "{e}");
    // It retried as configured before giving up.
    assert_eq!(
        out.stderr.matches("retrying").count(),
        2,
        "stderr:\n{}",
        out.stderr
    );
    drop(stream);
}

#[tokio::test]
async fn help_explains_the_files_and_the_stop() {
    for args in [vec!["--help"], vec!["standalone", "--help"]] {
        let out = run_sluice(args.iter().copied()).await;
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        if args.len() == 1 {
            assert!(out.stdout.contains("standalone"), "{}", out.stdout);
            continue;
        }
        for needle in [
            "offset.storage.file.filename",
            "sink.file.path",
            "connector.class",
            "topic.prefix",
            "SIGTERM",
            "unknown key is a warning",
            "Exit codes",
        ] {
            assert!(
                out.stdout.contains(needle),
                "`sluice {}` lacks {needle}:\n{}",
                args.join(" "),
                out.stdout
            );
        }
    }
}

/// An unknown key only warns (the run goes on), and a column type with no Debezium mapping
/// streams as its text form instead of failing the connector.
#[tokio::test]
async fn unknown_key_warns_and_unmapped_types_stream_as_text() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("bad_types").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute("CREATE TABLE odd (id int PRIMARY KEY, doc tsvector, area box)")
        .await
        .expect("table");
    let work = tempfile::tempdir().expect("tempdir");
    let mut connector = connector_for(&server, &db);
    let slot = connector["slot.name"].clone();
    let host = connector["database.hostname"].clone();
    connector.insert("databse.hostname".into(), host);
    let mut sluice = SluiceProcess::spawn(&worker_in(work.path()), &connector);
    wait_slot_active(&client, &slot).await;
    let stderr = sluice.stderr_text();
    assert!(
        stderr.contains("unknown key databse.hostname: ignored; did you mean database.hostname?"),
        "{stderr}"
    );

    client
        .batch_execute("INSERT INTO odd VALUES (1, 'fat cat', '((0,0),(1,1))')")
        .await
        .expect("insert");
    let events = events_path(work.path());
    let value = wait_for(WAIT, "the insert event", || async {
        read_sink(&events)
            .into_iter()
            .find(|(topic, _, _)| topic.ends_with(".odd"))
            .map(|(_, _, v)| v)
    })
    .await;
    assert_eq!(value["after"]["doc"], "'cat' 'fat'", "{value}");
    assert_eq!(value["after"]["area"], "(1,1),(0,0)", "{value}");
    let status = sluice.sigterm_and_wait();
    let stderr = sluice.stderr_text();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "{status}: {stderr}");
}

/// The connector's slot was dropped while its offset stayed: streaming from a new slot would
/// skip every change since the offset. `initial` stops with one error naming the fix;
/// `when_needed` takes a new snapshot, which has the change the stream lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_dropped_under_a_stored_offset() {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database("gone_slot").await.expect("database");
    let client = server.connect(&db).await.expect("connect");
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
        .await
        .expect("table");
    let mut connector = connector_for(&server, &db);
    connector.insert("snapshot.mode".into(), "initial".into());
    let slot = connector["slot.name"].clone();
    let work = tempfile::tempdir().expect("tempdir");
    let worker = worker_in(work.path());
    let ids = |op: &'static str| {
        read_sink(&events_path(work.path()))
            .into_iter()
            .filter(move |(_, _, v)| v["op"] == op)
            .filter_map(|(_, _, v)| v["after"]["id"].as_i64())
            .collect::<Vec<_>>()
    };
    let mut sluice = SluiceProcess::spawn(&worker, &connector);
    wait_slot_active(&client, &slot).await;
    client
        .batch_execute("INSERT INTO t VALUES (4)")
        .await
        .expect("insert 4");
    wait_for(WAIT, "the insert of 4 in the sink", || {
        let created = ids("c");
        async move { created.contains(&4).then_some(()) }
    })
    .await;
    assert!(
        sluice.sigterm_and_wait().success(),
        "{}",
        sluice.stderr_text()
    );
    assert_eq!(ids("r").len(), 3, "the first snapshot");

    client
        .execute("SELECT pg_drop_replication_slot($1::text)", &[&slot])
        .await
        .expect("drop the slot");
    client
        .batch_execute("INSERT INTO t VALUES (5)")
        .await
        .expect("insert 5");

    let out = run_standalone(&worker, &connector).await;
    let e = out.expect_error(EXIT_RUNTIME, &[]);
    assert!(
        e.contains(&format!("replication slot {slot} does not exist")),
        "{e}"
    );
    assert!(e.contains("snapshot.mode=when_needed"), "{e}");
    assert!(!ids("c").contains(&5) && !ids("r").contains(&5));

    connector.insert("snapshot.mode".into(), "when_needed".into());
    let mut sluice = SluiceProcess::spawn(&worker, &connector);
    wait_for(WAIT, "a new snapshot with row 5", || {
        let read = ids("r");
        async move { read.contains(&5).then_some(()) }
    })
    .await;
    let mut read = ids("r");
    read.sort_unstable();
    assert_eq!(read, vec![1, 1, 2, 2, 3, 3, 4, 5], "both snapshots");
    assert!(
        sluice.sigterm_and_wait().success(),
        "{}",
        sluice.stderr_text()
    );
}
