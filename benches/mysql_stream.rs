//! End-to-end binlog streaming throughput: MariaDB binlog -> Sluice -> JSON lines in a file,
//! as a ratio of `mariadb-binlog --read-from-remote-server --verbose` reading the same binlog
//! range in the same run (the ceiling: the server's own client decoding every row).
//!
//! ```text
//! throwaway MariaDB (ROW, FULL)
//!   CREATE TABLE bench; START = (file, pos, gtid_binlog_pos)
//!   N rows, one autocommit INSERT ... SELECT FROM seq_1_to_BATCH per BATCH rows; END = position
//!   ceiling: mariadb-binlog --read-from-remote-server --verbose --start/stop-position > /dev/null
//!   sluice standalone (offset preset to START, snapshot.mode=no_data), schemas on / off,
//!          until its file holds N lines, then SIGTERM
//! ```
//! Wall time runs from spawn to done, CPU comes from `wait4` of each child, peak RSS is the
//! child's own `VmHWM` read until it exits (`wait4`'s `ru_maxrss` would include this
//! process's peak: see `measure::Exit::maxrss_kb`).
//! Run: `cargo bench --bench mysql_stream`. Env: `N` (default 200000), `BATCH` (default 1000),
//! `SLUICE_BIN` (bench another binary).
#![allow(unsafe_code)] // wait4 / kill on our own children, nothing else

mod measure;
use measure::*;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sluice_testcontainers::MariaDbServer;

type BoxError = Box<dyn std::error::Error>;

const CONSUMER_TIMEOUT: Duration = Duration::from_secs(600);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

struct Measured {
    label: String,
    wall: Duration,
    cpu: Duration,
    rss_mb: f64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sluice_bin() -> PathBuf {
    std::env::var_os("SLUICE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")))
}

fn main() -> Result<(), BoxError> {
    let n = env_u64("N", 200_000);
    let batch = env_u64("BATCH", 1000).max(1);
    println!("load before: {}", busy_report());
    let server = MariaDbServer::start()?;
    let rt = tokio::runtime::Runtime::new()?;
    let db = rt.block_on(server.create_database("bench"))?;
    let (start, end) = rt.block_on(async {
        let mut conn = server.connect(&db).await?;
        conn.query_drop(
            "CREATE TABLE bench (id BIGINT PRIMARY KEY, k INT, v VARCHAR(64), ts DATETIME(6), amount DECIMAL(10,2))",
        )
        .await?;
        let start = position(&mut conn).await?;
        let mut next = 0u64;
        while next < n {
            let rows = batch.min(n - next);
            conn.query_drop(format!(
                "INSERT INTO bench SELECT {next} + seq, seq % 100, CONCAT('value ', seq), '2024-01-02 03:04:05.123456', seq / 7 FROM seq_1_to_{rows}"
            ))
            .await?;
            next += rows;
        }
        let end = position(&mut conn).await?;
        Ok::<_, BoxError>((start, end))
    })?;
    println!(
        "N={n} BATCH={batch}: binlog {}:{} .. {}:{}",
        start.0, start.1, end.0, end.1
    );
    if start.0 != end.0 {
        return Err("the rows span several binlog files; lower N".into());
    }
    let mut results = Vec::new();
    results.push(ceiling(&server, &start, &end)?);
    for schemas in [true, false] {
        results.push(run_sluice(&server, &db, &start, schemas, n)?);
    }
    println!("load after: {}", busy_report());
    let ceiling_eps = n as f64 / results[0].wall.as_secs_f64();
    println!("| consumer | wall s | events/s | ratio | CPU s | peak RSS MB |");
    println!("|---|---|---|---|---|---|");
    for m in &results {
        let eps = n as f64 / m.wall.as_secs_f64();
        println!(
            "| {} | {:.2} | {} | {:.2} | {:.2} | {:.0} |",
            m.label,
            m.wall.as_secs_f64(),
            thousands(eps),
            eps / ceiling_eps,
            m.cpu.as_secs_f64(),
            m.rss_mb
        );
    }
    Ok(())
}

/// `(file, pos, gtid_binlog_pos)` of the binlog end.
async fn position(conn: &mut mysql_async::Conn) -> Result<(String, u64, String), BoxError> {
    let row: Option<mysql_async::Row> = conn.query_first("SHOW MASTER STATUS").await?;
    let row = row.ok_or("SHOW MASTER STATUS returned nothing")?;
    let gtid: Option<String> = conn.query_first("SELECT @@gtid_binlog_pos").await?;
    Ok((
        row.get(0).ok_or("file")?,
        row.get(1).ok_or("pos")?,
        gtid.unwrap_or_default(),
    ))
}

fn ceiling(
    server: &MariaDbServer,
    start: &(String, u64, String),
    end: &(String, u64, String),
) -> Result<Measured, BoxError> {
    let bin = ["mariadb-binlog", "mysqlbinlog"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
        .ok_or("mariadb-binlog is not installed")?;
    let started = Instant::now();
    let child = Command::new(bin)
        .args([
            "--read-from-remote-server",
            "--verbose",
            &format!("--host={}", server.host()),
            &format!("--port={}", server.port()),
            &format!("--user={}", server.user()),
            &format!("--password={}", server.password()),
            &format!("--start-position={}", start.1),
            &format!("--stop-position={}", end.1),
            &start.0,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let exit = wait4_until(child.id(), Instant::now() + CONSUMER_TIMEOUT)
        .ok_or("mariadb-binlog did not finish")?;
    if exit.status != 0 {
        return Err(format!("{bin} failed with status {}", exit.status).into());
    }
    Ok(Measured {
        label: format!("ceiling: {bin} --read-from-remote-server --verbose > /dev/null"),
        wall: started.elapsed(),
        cpu: exit.cpu,
        rss_mb: exit.peak_rss_kb() as f64 / 1024.0,
    })
}

fn run_sluice(
    server: &MariaDbServer,
    db: &str,
    start: &(String, u64, String),
    schemas: bool,
    n: u64,
) -> Result<Measured, BoxError> {
    let dir = tempfile::Builder::new()
        .prefix("bench-mysql-stream-")
        .tempdir()?;
    let events = dir.path().join("events.jsonl");
    let offsets = dir.path().join("offsets.dat");
    let name = "bench-mysql";
    // The connector starts where the rows start: a stored offset at START.
    let offset = serde_json::json!([{
        "key": [name, {"server": "bench"}],
        "value": {"file": start.0, "pos": start.1, "gtids": start.2, "ts_sec": 0, "server_id": 0}
    }]);
    std::fs::write(&offsets, offset.to_string())?;
    let worker = dir.path().join("worker.properties");
    std::fs::write(
        &worker,
        format!(
            "sink=file\nsink.file.path={}\noffset.storage.file.filename={}\noffset.flush.interval.ms=1000\nkey.converter.schemas.enable={schemas}\nvalue.converter.schemas.enable={schemas}\nlisteners=\n",
            events.display(),
            offsets.display()
        ),
    )?;
    let connector = dir.path().join("connector.properties");
    std::fs::write(
        &connector,
        format!(
            "name={name}\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\ndatabase.hostname={}\ndatabase.port={}\ndatabase.user={}\ndatabase.password={}\ndatabase.server.id={}\ntopic.prefix=bench\ndatabase.include.list={db}\nsnapshot.mode=no_data\n",
            server.host(),
            server.port(),
            server.user(),
            server.password(),
            4_100_000_000u32 + u32::from(schemas),
        ),
    )?;
    let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
    let started = Instant::now();
    let child = Command::new(sluice_bin())
        .arg("standalone")
        .arg(&worker)
        .arg(&connector)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()?;
    let pid = child.id();
    let deadline = Instant::now() + CONSUMER_TIMEOUT;
    // Counted as the file grows (reading it whole on every poll would cost this process CPU
    // and, as its own peak RSS, show up in the next child's `ru_maxrss`).
    let mut counter = LineCounter::default();
    loop {
        counter.poll(&events)?;
        if counter.lines >= n {
            break;
        }
        if Instant::now() > deadline || wait4_nohang(pid).is_some() {
            return Err(format!(
                "sluice delivered {} of {n}: {}",
                counter.lines,
                tail(&dir.path().join("stderr.log"), 20)
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = started.elapsed();
    signal(pid, libc::SIGTERM);
    let exit = wait4_until(pid, Instant::now() + STOP_TIMEOUT).ok_or("sluice did not stop")?;
    counter.poll(&events)?;
    let lines = counter.lines;
    if lines != n {
        println!("WARNING: sluice file holds {lines} lines, expected {n}");
    }
    Ok(Measured {
        label: format!(
            "sluice JSON schemas {} → file",
            if schemas { "on" } else { "off" }
        ),
        wall,
        cpu: exit.cpu,
        rss_mb: exit.peak_rss_kb() as f64 / 1024.0,
    })
}
