//! The Kafka Connect REST API driven by a third-party client, unchanged: PyPI's
//! `kafka-connect-py` (1.0.0), in `tests/python/kafka_connect_py_lifecycle.py`, against
//! `sluice standalone` and a throwaway Postgres.
//!
//! ```text
//! python (kafka-connect-py + urllib for offsets) ──HTTP──> sluice standalone ──> file sink
//!        └── JSON transcript on stdout ──> checked again here
//! ```
//! The Python comes from `SLUICE_TEST_PYTHON` (set by `.ci/run`, which creates the venv), else
//! `~/.cache/sluice/venv/bin/python`; without either the test fails and says how to make one.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_testcontainers::PgServer;

use crate::support::process::{events_path, file_worker_props, pg_connector_props, SluiceProcess};
use crate::support::{read_sink, wait_for};

/// The packages the script imports.
const PYTHON_CHECK: &str = "import kafka_connect, requests";

/// A Python with kafka-connect-py, or a panic that says how to get one.
fn python() -> PathBuf {
    let home_venv =
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sluice/venv/bin/python"));
    let candidates: Vec<PathBuf> = std::env::var_os("SLUICE_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(home_venv)
        .collect();
    let mut tried = Vec::new();
    for python in &candidates {
        match Command::new(python).args(["-c", PYTHON_CHECK]).output() {
            Ok(out) if out.status.success() => return python.clone(),
            Ok(out) => tried.push(format!(
                "{}: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => tried.push(format!("{}: {e}", python.display())),
        }
    }
    panic!(
        "no Python with kafka-connect-py for the third-party client test (tried: {}).\n\
         Run .ci/run, which creates the venv, or create it by hand:\n  \
         python3 -m venv ~/.cache/sluice/venv && ~/.cache/sluice/venv/bin/pip install \
         confluent-kafka==2.16.1 fastavro==1.13.1 kafka-connect-py==1.0.0\n\
         then set SLUICE_TEST_PYTHON=~/.cache/sluice/venv/bin/python",
        if tried.is_empty() {
            "SLUICE_TEST_PYTHON and HOME are unset".to_string()
        } else {
            tried.join("; ")
        }
    );
}

/// The REST address the process logged.
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

/// Create, list, status, pause, resume, stop, offsets get/alter/reset, restart, validate and
/// delete through kafka-connect-py (offsets through urllib: the library has no such calls).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_connect_py_drives_the_rest_api() {
    let python = python();
    let server = PgServer::start().expect("postgres");
    let db = server.create_database("pyclient").await.expect("db");
    let sql = server.connect(&db).await.expect("connect");
    sql.batch_execute(
        "CREATE TABLE customers (id int PRIMARY KEY, name text);
         INSERT INTO customers VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    )
    .await
    .expect("table");
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = file_worker_props(dir.path(), false);
    worker.insert("listeners".into(), "http://127.0.0.1:0".into());
    let mut sluice = SluiceProcess::spawn_many(&worker, &[]);
    let base = rest_base(&mut sluice).await;

    let name = "py-inventory";
    let slot = PgServer::unique_name("pyclient");
    let mut config = pg_connector_props(&server, &db, &slot, &slot, "pyinv");
    config.remove("name");
    config.insert("snapshot.mode".into(), "initial".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python/kafka_connect_py_lifecycle.py");
    let out = tokio::task::spawn_blocking({
        let config = serde_json::to_string(&config).expect("config JSON");
        let events = events_path(dir.path());
        let base = base.clone();
        move || {
            Command::new(&python)
                .arg(&script)
                .env("SLUICE_REST_URL", &base)
                .env("SLUICE_CONNECTOR", name)
                .env("SLUICE_CONFIG", config)
                .env("SLUICE_EVENTS", events)
                .env("SLUICE_SNAPSHOT_IDS", "1,2,3")
                .output()
                .expect("run the python client")
        }
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the kafka-connect-py script failed ({}):\n{stderr}\n--- sluice:\n{}",
        out.status,
        sluice.stderr_text()
    );

    // The script checked every answer; check the transcript it printed once more.
    let transcript: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the script's transcript is not JSON ({e}): {stdout}"));
    assert!(transcript["cluster"]["version"].is_string(), "{transcript}");
    assert!(
        transcript["validate_error_count"].as_u64() >= Some(1),
        "{transcript}"
    );
    assert_eq!(transcript["created"]["name"], name);
    assert_eq!(
        transcript["created"]["tasks"],
        json!([{"connector": name, "task": 0}])
    );
    assert_eq!(
        transcript["offsets"]["offsets"][0]["partition"],
        json!({"server": "pyinv"})
    );
    let lsn = transcript["offsets"]["offsets"][0]["offset"]["lsn"]
        .as_u64()
        .expect("an lsn");
    assert_eq!(
        transcript["altered"]["offsets"][0]["offset"]["lsn"].as_u64(),
        Some(lsn - 1)
    );
    assert_eq!(transcript["reset"], json!({"offsets": []}));
    assert_eq!(transcript["sink_ids"], json!([1, 2, 3]), "{transcript}");

    // Each snapshot row arrived exactly once, through pause, restarts and the stop.
    let mut ids: Vec<i64> = read_sink(&events_path(dir.path()))
        .iter()
        .filter_map(|(_, _, value)| value["after"]["id"].as_i64())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3]);
    let listed = Command::new("curl")
        .args(["-s", "-S", &format!("{base}/connectors")])
        .output()
        .expect("curl");
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).ok(),
        Some(json!([])),
        "the deleted connector is gone"
    );
    sluice.sigterm_and_wait();
}
