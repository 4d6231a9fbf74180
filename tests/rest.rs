//! The Kafka Connect REST API driven by a client Sluice did not write: `curl`, with the calls
//! of Kafka Connect's and Debezium's documented examples, against `sluice standalone` and a
//! throwaway Postgres.
//!
//! ```text
//! curl ──HTTP──> sluice standalone (REST API, no connector files) ──> Postgres slot ──> file sink
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_testcontainers::PgServer;

use crate::support::process::{events_path, file_worker_props, pg_connector_props, SluiceProcess};
use crate::support::{read_sink, wait_for, wait_slot_active};

/// One HTTP exchange through curl: (status, body as JSON or `Value::String` when not JSON).
struct Reply {
    status: u16,
    body: Value,
}

/// Extra curl arguments (TLS trust, credentials).
#[derive(Clone, Default)]
struct Client {
    base: String,
    args: Vec<String>,
}

impl Client {
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-S", "-X", method, "-w", "\n%{http_code}"])
            .args(&self.args)
            .arg("-H")
            .arg("Accept: application/json");
        if let Some(body) = body {
            cmd.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                body,
            ]);
        }
        cmd.arg(format!("{}{path}", self.base));
        let out = cmd.output().expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
        let status = code.trim().parse().unwrap_or_else(|_| {
            panic!(
                "curl {method} {path}: no status ({})",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
        Reply { status, body }
    }

    fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }
}

/// The REST address the process logged ("REST API listening on http://127.0.0.1:PORT").
async fn rest_base(process: &mut SluiceProcess) -> String {
    wait_for(Duration::from_secs(60), "the REST API to listen", || {
        let text = process.stderr_text();
        let found = text.lines().find_map(|l| {
            l.split_once("REST API listening on ")
                .map(|(_, url)| url.trim().to_string())
        });
        if found.is_none() {
            assert!(process.is_running(), "sluice exited:\n{text}");
        }
        async move { found }
    })
    .await
}

fn worker_with_rest(dir: &Path) -> BTreeMap<String, String> {
    let mut w = file_worker_props(dir, false);
    w.insert("listeners".into(), "http://127.0.0.1:0".into());
    w
}

async fn wait_state(client: &Client, name: &str, connector: &str, task: Option<&str>) -> Value {
    wait_for(
        Duration::from_secs(60),
        &format!("{name} to be {connector}/{task:?}"),
        || {
            let reply = client.get(&format!("/connectors/{name}/status"));
            let ok = reply.status == 200
                && reply.body["connector"]["state"] == connector
                && match task {
                    Some(t) => reply.body["tasks"][0]["state"] == t,
                    None => reply.body["tasks"].as_array().is_some_and(Vec::is_empty),
                };
            async move { ok.then_some(reply.body) }
        },
    )
    .await
}

/// Rows of `customers` in the sink by id, with how often each arrived.
fn ids_in_sink(dir: &Path) -> BTreeMap<i64, usize> {
    let mut ids = BTreeMap::new();
    for (_, _, value) in read_sink(&events_path(dir)) {
        if let Some(id) = value["after"]["id"].as_i64() {
            *ids.entry(id).or_default() += 1;
        }
    }
    ids
}

async fn wait_ids(dir: &Path, want: &[i64]) {
    wait_for(Duration::from_secs(60), "rows in the sink", || {
        let ids = ids_in_sink(dir);
        let ok = want.iter().all(|id| ids.contains_key(id));
        async move { ok.then_some(()) }
    })
    .await;
    let ids = ids_in_sink(dir);
    assert!(
        ids.values().all(|n| *n == 1),
        "a row arrived more than once: {ids:?}"
    );
}

fn connector_json(name: &str, config: &BTreeMap<String, String>) -> String {
    json!({"name": name, "config": config}).to_string()
}

/// Create, list, status, pause, resume, stop, offsets get/alter/reset, restart, validate,
/// config get/put/patch, topics, metrics, loggers and delete — then a worker restart that brings
/// the REST-created connector back without repeating rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_lifecycle_with_curl() {
    let server = PgServer::start().expect("postgres");
    let db = server.create_database("rest").await.expect("db");
    let sql = server.connect(&db).await.expect("connect");
    sql.batch_execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
        .await
        .expect("table");
    let dir = tempfile::tempdir().expect("dir");
    let worker = worker_with_rest(dir.path());
    let mut process = SluiceProcess::spawn_many(&worker, &[]);
    let client = Client {
        base: rest_base(&mut process).await,
        args: Vec::new(),
    };

    let root = client.get("/");
    assert_eq!(root.status, 200);
    assert!(root.body["version"].is_string(), "{}", root.body);
    assert_eq!(client.get("/connectors").body, json!([]));

    // Bad input: each a clear Connect error; the server stays up.
    let malformed = client.call(
        "POST",
        "/connectors",
        Some("{\"name\": \"x\", \"config\": {"),
    );
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(malformed.body["error_code"], 400);
    let unknown_class = client.call(
        "POST",
        "/connectors",
        Some(r#"{"name":"x","config":{"connector.class":"com.example.NoSuchConnector"}}"#),
    );
    assert_eq!(unknown_class.status, 400, "{}", unknown_class.body);
    assert!(
        unknown_class.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("connector.class") && m.contains("NoSuchConnector")),
        "{}",
        unknown_class.body
    );
    let missing = client.get("/connectors/nope/status");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error_code"], 404);
    assert_eq!(
        missing.body["message"], "Connector nope not found",
        "{}",
        missing.body
    );
    assert_eq!(client.get("/no/such/path").status, 404);

    let name = "inventory-connector";
    let slot = PgServer::unique_name("rest_slot");
    let publication = PgServer::unique_name("rest_pub");
    let mut config = pg_connector_props(&server, &db, &slot, &publication, "rest");
    config.remove("name");
    let mut invalid = config.clone();
    invalid.insert("database.port".into(), "not-a-port".into());
    let rejected = client.call("POST", "/connectors", Some(&connector_json(name, &invalid)));
    assert_eq!(rejected.status, 400, "{}", rejected.body);
    assert!(
        rejected.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("database.port")),
        "{}",
        rejected.body
    );

    let mut no_such_transform = config.clone();
    no_such_transform.insert("transforms".into(), "route".into());
    no_such_transform.insert(
        "transforms.route.type".into(),
        "com.example.NoSuchTransform".into(),
    );
    let rejected = client.call(
        "POST",
        "/connectors",
        Some(&connector_json(name, &no_such_transform)),
    );
    assert_eq!(rejected.status, 400, "{}", rejected.body);
    assert!(
        rejected.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("transforms.route.type")),
        "{}",
        rejected.body
    );

    let created = client.call("POST", "/connectors", Some(&connector_json(name, &config)));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["name"], name);
    assert_eq!(created.body["type"], "source");
    assert_eq!(created.body["config"]["database.password"], "[hidden]");
    assert_eq!(
        created.body["tasks"],
        json!([{"connector": name, "task": 0}])
    );
    let again = client.call("POST", "/connectors", Some(&connector_json(name, &config)));
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["error_code"], 409);

    let status = wait_state(&client, name, "RUNNING", Some("RUNNING")).await;
    assert_eq!(status["type"], "source");
    assert!(status["connector"]["worker_id"].is_string());
    wait_slot_active(&sql, &slot).await;
    sql.batch_execute("INSERT INTO customers VALUES (1, 'one')")
        .await
        .expect("insert");
    wait_ids(dir.path(), &[1]).await;

    assert_eq!(client.get("/connectors").body, json!([name]));
    let expanded = client.get("/connectors?expand=status&expand=info");
    assert_eq!(
        expanded.body[name]["status"]["connector"]["state"],
        "RUNNING"
    );
    assert_eq!(
        expanded.body[name]["info"]["config"]["topic.prefix"],
        "rest"
    );
    let tasks = client.get(&format!("/connectors/{name}/tasks"));
    assert_eq!(tasks.body[0]["id"], json!({"connector": name, "task": 0}));
    assert_eq!(
        client
            .get(&format!("/connectors/{name}/tasks/0/status"))
            .body["state"],
        "RUNNING"
    );
    assert_eq!(
        client
            .get(&format!("/connectors/{name}/tasks/7/status"))
            .status,
        404
    );
    let topics = client.get(&format!("/connectors/{name}/topics"));
    assert_eq!(
        topics.body[name]["topics"],
        json!(["rest.public.customers"]),
        "{}",
        topics.body
    );

    // Pause: the task delivers what it has and stops; rows written meanwhile arrive once
    // after resume.
    assert_eq!(
        client
            .call("PUT", &format!("/connectors/{name}/pause"), None)
            .status,
        202
    );
    wait_state(&client, name, "PAUSED", Some("PAUSED")).await;
    sql.batch_execute("INSERT INTO customers VALUES (2, 'two')")
        .await
        .expect("insert");
    assert_eq!(
        client
            .call("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    wait_state(&client, name, "RUNNING", Some("RUNNING")).await;
    wait_ids(dir.path(), &[1, 2]).await;

    // Offsets can only change while STOPPED (KIP-875).
    let early = client.call(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(r#"{"offsets":[{"partition":{"server":"rest"},"offset":{"lsn":1}}]}"#),
    );
    assert_eq!(early.status, 400, "{}", early.body);
    assert!(early.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("STOPPED")));
    assert_eq!(
        client
            .call("PUT", &format!("/connectors/{name}/stop"), None)
            .status,
        204
    );
    wait_state(&client, name, "STOPPED", None).await;
    let offsets = client.get(&format!("/connectors/{name}/offsets"));
    assert_eq!(offsets.status, 200);
    assert_eq!(
        offsets.body["offsets"][0]["partition"],
        json!({"server": "rest"})
    );
    let stored = offsets.body["offsets"][0]["offset"].clone();
    assert!(stored["lsn"].as_u64().is_some_and(|l| l > 0), "{stored}");
    let altered = client.call(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(
            &json!({"offsets": [{"partition": {"server": "rest"}, "offset": stored}]}).to_string(),
        ),
    );
    assert_eq!(altered.status, 200, "{}", altered.body);
    assert_eq!(
        altered.body["message"],
        "The offsets for this connector have been altered successfully"
    );
    assert_eq!(
        client.get(&format!("/connectors/{name}/offsets")).body["offsets"][0]["offset"],
        stored
    );
    let reset = client.call("DELETE", &format!("/connectors/{name}/offsets"), None);
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(
        client.get(&format!("/connectors/{name}/offsets")).body,
        json!({"offsets": []})
    );
    // Put the offset back so that the resumed connector starts where it stopped.
    let restored = client.call(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(
            &json!({"offsets": [{"partition": {"server": "rest"}, "offset": stored}]}).to_string(),
        ),
    );
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(
        client
            .call("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    wait_state(&client, name, "RUNNING", Some("RUNNING")).await;

    // Restarts.
    let restart = client.call(
        "POST",
        &format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=false"),
        None,
    );
    assert_eq!(restart.status, 202, "{}", restart.body);
    assert_eq!(restart.body["name"], name);
    assert_eq!(
        client
            .call("POST", &format!("/connectors/{name}/restart"), None)
            .status,
        204
    );
    assert_eq!(
        client
            .call("POST", &format!("/connectors/{name}/tasks/0/restart"), None)
            .status,
        204
    );
    assert_eq!(
        client
            .call("POST", &format!("/connectors/{name}/tasks/3/restart"), None)
            .status,
        404
    );
    wait_state(&client, name, "RUNNING", Some("RUNNING")).await;

    // Config: GET masks the password; PUT of what GET returned keeps the real one; PATCH merges.
    let got = client.get(&format!("/connectors/{name}/config"));
    assert_eq!(got.body["database.password"], "[hidden]");
    let put = client.call(
        "PUT",
        &format!("/connectors/{name}/config"),
        Some(&got.body.to_string()),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let patched = client.call(
        "PATCH",
        &format!("/connectors/{name}/config"),
        Some(r#"{"tombstones.on.delete":"false","heartbeat.interval.ms":null}"#),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["config"]["tombstones.on.delete"], "false");
    wait_state(&client, name, "RUNNING", Some("RUNNING")).await;
    wait_slot_active(&sql, &slot).await;
    sql.batch_execute("INSERT INTO customers VALUES (3, 'three')")
        .await
        .expect("insert");
    wait_ids(dir.path(), &[1, 2, 3]).await;

    // Plugins and validation.
    let plugins = client.get("/connector-plugins");
    assert!(plugins.body.as_array().is_some_and(|p| p.iter().any(|p| {
        p["class"] == "io.debezium.connector.postgresql.PostgresConnector" && p["type"] == "source"
    })));
    let defs = client.get("/connector-plugins/PostgresConnector/config");
    assert!(defs.body.as_array().is_some_and(|d| d
        .iter()
        .any(|d| d["name"] == "topic.prefix" && d["required"] == true)));
    invalid.insert("name".into(), "to-validate".into());
    let validated = client.call(
        "PUT",
        "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate",
        Some(&json!(invalid).to_string()),
    );
    assert_eq!(validated.status, 200, "{}", validated.body);
    assert_eq!(validated.body["error_count"], 1, "{}", validated.body);
    let port = validated.body["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["value"]["name"] == "database.port"))
        .cloned()
        .expect("database.port in configs");
    assert!(port["value"]["errors"][0]
        .as_str()
        .is_some_and(|e| e.contains("not-a-port")));
    let password = validated.body["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["value"]["name"] == "database.password"))
        .cloned()
        .expect("database.password in configs");
    assert_eq!(password["value"]["value"], "[hidden]");
    // The MariaDB connector's keys, with an error on the key that is wrong.
    let maria = client.call(
        "PUT",
        "/connector-plugins/MariaDbConnector/config/validate",
        Some(
            &json!({
                "name": "maria-to-validate",
                "database.hostname": "127.0.0.1",
                "database.user": "u",
                "topic.prefix": "m",
                "database.ssl.mode": "sometimes",
            })
            .to_string(),
        ),
    );
    assert_eq!(maria.status, 200, "{}", maria.body);
    assert_eq!(maria.body["error_count"], 1, "{}", maria.body);
    let ssl = maria.body["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["value"]["name"] == "database.ssl.mode"))
        .cloned()
        .expect("database.ssl.mode in configs");
    assert!(ssl["value"]["errors"][0]
        .as_str()
        .is_some_and(|e| e.contains("sometimes")));
    assert!(plugins.body.as_array().is_some_and(|p| p
        .iter()
        .any(|p| p["class"] == "io.debezium.connector.mysql.MySqlConnector")));

    // Metrics and loggers.
    let metrics = client.get("/metrics");
    let text = metrics.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains(&format!(
            "sluice_connector_topic_records_total{{connector=\"{name}\",topic=\"rest.public.customers\"}}"
        )),
        "{text}"
    );
    assert!(text.contains("sluice_postgres_slot_lag_bytes"), "{text}");
    let loggers = client.get("/admin/loggers");
    assert_eq!(loggers.body["root"]["level"], "INFO", "{}", loggers.body);
    let set = client.call(
        "PUT",
        "/admin/loggers/io.debezium",
        Some(r#"{"level":"DEBUG"}"#),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        client.get("/admin/loggers/io.debezium").body["level"],
        "DEBUG"
    );
    let bad_level = client.call("PUT", "/admin/loggers/root", Some(r#"{"level":"LOUD"}"#));
    assert_eq!(bad_level.status, 400);

    // A worker restart brings the connector back (its config was saved) and repeats nothing.
    let status = process.sigterm_and_wait();
    assert!(status.success(), "{}", process.stderr_text());
    let mut process = SluiceProcess::spawn_many(&worker, &[]);
    let client = Client {
        base: rest_base(&mut process).await,
        args: Vec::new(),
    };
    assert_eq!(client.get("/connectors").body, json!([name]));
    wait_state(&client, name, "RUNNING", Some("RUNNING")).await;
    wait_slot_active(&sql, &slot).await;
    sql.batch_execute("INSERT INTO customers VALUES (4, 'four')")
        .await
        .expect("insert");
    wait_ids(dir.path(), &[1, 2, 3, 4]).await;

    assert_eq!(
        client
            .call("DELETE", &format!("/connectors/{name}"), None)
            .status,
        204
    );
    assert_eq!(client.get(&format!("/connectors/{name}")).status, 404);
    assert_eq!(client.get("/connectors").body, json!([]));
    let status = process.sigterm_and_wait();
    assert!(status.success(), "{}", process.stderr_text());
    assert!(
        !process.stderr_text().contains(server.password()) || server.password().is_empty(),
        "the password reached the log"
    );
}

/// A connector that fails (wrong password) is FAILED with its trace; the worker and the other
/// connector keep running; a restart after fixing the config recovers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_connector_is_reported_and_others_keep_running() {
    let server = PgServer::start_with(sluice_testcontainers::PgOptions {
        auth: sluice_testcontainers::PgAuth::ScramSha256,
        password: "right-password".into(),
        ..Default::default()
    })
    .expect("postgres");
    let db = server.create_database("restfail").await.expect("db");
    let sql = server.connect(&db).await.expect("connect");
    sql.batch_execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
        .await
        .expect("table");
    let dir = tempfile::tempdir().expect("dir");
    let mut good = pg_connector_props(
        &server,
        &db,
        &PgServer::unique_name("good_slot"),
        &PgServer::unique_name("good_pub"),
        "good",
    );
    good.insert("name".into(), "good".into());
    let mut process = SluiceProcess::spawn_many(&worker_with_rest(dir.path()), &[good]);
    let client = Client {
        base: rest_base(&mut process).await,
        args: Vec::new(),
    };
    let mut bad = pg_connector_props(
        &server,
        &db,
        &PgServer::unique_name("bad_slot"),
        &PgServer::unique_name("bad_pub"),
        "bad",
    );
    bad.remove("name");
    bad.insert("database.password".into(), "wrong-password".into());
    let created = client.call("POST", "/connectors", Some(&connector_json("bad", &bad)));
    assert_eq!(created.status, 201, "{}", created.body);
    let status = wait_state(&client, "bad", "RUNNING", Some("FAILED")).await;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("password"), "{trace}");
    assert!(!trace.contains("wrong-password"), "{trace}");
    wait_state(&client, "good", "RUNNING", Some("RUNNING")).await;
    sql.batch_execute("INSERT INTO customers VALUES (1, 'one')")
        .await
        .expect("insert");
    wait_ids(dir.path(), &[1]).await;

    // Fix the password with PATCH: the connector restarts with the new config.
    let patched = client.call(
        "PATCH",
        "/connectors/bad/config",
        Some(r#"{"database.password":"right-password"}"#),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    wait_state(&client, "bad", "RUNNING", Some("RUNNING")).await;
    assert!(process.is_running());
    let status = process.sigterm_and_wait();
    assert!(status.success(), "{}", process.stderr_text());
    assert!(!process.stderr_text().contains("right-password"));
}

/// HTTPS listener with a PEM keystore and HTTP basic authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_basic_auth() {
    let dir = tempfile::tempdir().expect("dir");
    let certs = sluice_testcontainers::tls::generate().expect("certs");
    let keystore = dir.path().join("rest.pem");
    std::fs::write(
        &keystore,
        format!("{}{}", certs.server_key_pem, certs.server_cert_pem),
    )
    .expect("keystore");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &certs.ca_cert_pem).expect("ca");
    let credentials = dir.path().join("credentials.properties");
    std::fs::write(&credentials, "# user: password\nadmin: s3cret\n").expect("credentials");
    let mut worker = file_worker_props(dir.path(), false);
    worker.insert("listeners".into(), "https://127.0.0.1:0".into());
    worker.insert(
        "listeners.https.ssl.keystore.location".into(),
        keystore.display().to_string(),
    );
    worker.insert(
        "rest.basic.auth.credentials.file".into(),
        credentials.display().to_string(),
    );
    let mut process = SluiceProcess::spawn_many(&worker, &[]);
    let base = rest_base(&mut process).await;
    assert!(base.starts_with("https://"), "{base}");
    let anonymous = Client {
        base: base.clone(),
        args: vec!["--cacert".into(), ca.display().to_string()],
    };
    let denied = anonymous.get("/connectors");
    assert_eq!(denied.status, 401, "{}", denied.body);
    assert_eq!(denied.body["error_code"], 401);
    let wrong = Client {
        base: base.clone(),
        args: vec![
            "--cacert".into(),
            ca.display().to_string(),
            "-u".into(),
            "admin:nope".into(),
        ],
    };
    assert_eq!(wrong.get("/connectors").status, 401);
    let admin = Client {
        base,
        args: vec![
            "--cacert".into(),
            ca.display().to_string(),
            "-u".into(),
            "admin:s3cret".into(),
        ],
    };
    let listed = admin.get("/connectors");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body, json!([]));
    let status = process.sigterm_and_wait();
    assert!(status.success(), "{}", process.stderr_text());
}
