//! Initial-snapshot throughput: a Postgres table -> Sluice (`snapshot.mode=initial_only`) ->
//! JSON lines in a file, as a ratio of `COPY (SELECT * FROM bench) TO STDOUT` of the same table
//! on the same server in the same run (the ceiling, STYLE habit 24).
//!
//! ```text
//! throwaway Postgres
//!   CREATE TABLE bench (id bigint PK, k int, v text, ts timestamptz, amount numeric(10,2))
//!   N rows (INSERT ... generate_series), VACUUM ANALYZE, one warm-up scan; PUBLICATION
//!   per round:
//!     COPY (SELECT * FROM bench) TO STDOUT, drained by tokio-postgres   (ceiling)
//!     sluice standalone, initial_only, schemas off/on x snapshot.max.threads 1/2
//!        -> events.jsonl; the process exits once the snapshot is committed
//! ```
//!
//! Wall time runs from spawn to exit for Sluice (process start-up, slot creation and the
//! exported snapshot included) and from the query to the last COPY byte for the ceiling. CPU
//! (user + sys) and peak RSS (`ru_maxrss`) come from `wait4` of each Sluice child; the ceiling's
//! CPU is the server's work, not measured here.
//!
//! Run: `cargo bench --bench pg_snapshot`. Env: `N` (rows, default 5000000), `RUNS` (rounds,
//! each with its own ceiling, default 1), `THREADS` (comma list of `snapshot.max.threads`,
//! default `1,2`), `SCHEMAS` (`off,on` by default), `SLUICE_BIN`, `SLUICE_TEST_PG_URL`,
//! `PERF_DIR` / `PERF_FREQ` (perf record each Sluice run), `BENCH_KEEP` (keep the files).
//! The table also goes to `target/bench-pg-snapshot.md`.
#![allow(unsafe_code)] // wait4 / kill on our own children, nothing else

mod measure;
use measure::*;

use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{pin_mut, StreamExt};
use sluice_testcontainers::{PgOptions, PgServer, PG_URL_ENV};

type BoxError = Box<dyn std::error::Error>;

/// How long one Sluice snapshot may take before the run is called failed.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(1800);
/// Rows per `INSERT ... generate_series` while filling the table.
const INSERT_CHUNK: u64 = 500_000;
/// The issue's target: snapshot rows/s at least this share of COPY's.
const TARGET_RATIO: f64 = 0.5;

fn main() {
    if let Err(e) = run() {
        eprintln!("pg_snapshot bench failed: {e}");
        std::process::exit(1);
    }
}

/// What one reader of the table cost.
struct Measured {
    label: String,
    wall: Duration,
    rows: u64,
    /// Bytes delivered (COPY text, or Sluice's output file).
    bytes: u64,
    /// `None` for the in-process ceiling.
    maxrss_kb: Option<u64>,
    cpu: Option<Duration>,
}

impl Measured {
    fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.wall.as_secs_f64()
    }
}

fn env_u64(name: &str, default: u64) -> Result<u64, BoxError> {
    match std::env::var(name) {
        Ok(v) => Ok(v
            .trim()
            .parse()
            .map_err(|e| format!("env {name}={v:?}: {e}"))?),
        Err(_) => Ok(default),
    }
}

fn run() -> Result<(), BoxError> {
    let n = env_u64("N", 5_000_000)?;
    let rounds = env_u64("RUNS", 1)?.max(1) as usize;
    let threads: Vec<u32> = std::env::var("THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|t| t.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("env THREADS: {e}"))?;
    let schemas: Vec<bool> = std::env::var("SCHEMAS")
        .unwrap_or_else(|_| "off,on".into())
        .split(',')
        .map(|s| match s.trim() {
            "on" => Ok(true),
            "off" => Ok(false),
            other => Err(format!("env SCHEMAS: {other:?} is neither on nor off")),
        })
        .collect::<Result<_, _>>()?;
    let sluice_bin = sluice_bin();
    if !sluice_bin.is_file() {
        return Err(format!(
            "sluice binary {} missing: run `cargo build --release --bin sluice`",
            sluice_bin.display()
        )
        .into());
    }
    let load_start = busy_report();
    eprintln!("pg_snapshot: N={n}; {load_start}");

    let server = start_server()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let db = rt.block_on(server.create_database("bench_pg_snapshot"))?;
    let publication = PgServer::unique_name("bench_pub");
    let (insert_s, table_mb) = rt.block_on(async {
        let client = server.connect(&db).await?;
        client
            .batch_execute(&format!(
                "CREATE TABLE bench (id bigint PRIMARY KEY, k int NOT NULL, v text NOT NULL, \
                 ts timestamptz NOT NULL, amount numeric(10,2) NOT NULL); \
                 CREATE PUBLICATION {publication} FOR TABLE bench;"
            ))
            .await?;
        let t0 = Instant::now();
        let mut first = 1u64;
        while first <= n {
            let last = (first + INSERT_CHUNK - 1).min(n);
            client
                .batch_execute(&format!(
                    "INSERT INTO bench SELECT g, g % 1000, md5(g::text), \
                     timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', \
                     (g % 100000) / 100.0 FROM generate_series({first}, {last}) AS g"
                ))
                .await?;
            first = last + 1;
        }
        // Hint bits and visibility map set now, so neither reader pays for them.
        client.batch_execute("VACUUM ANALYZE bench").await?;
        let insert_s = t0.elapsed().as_secs_f64();
        let bytes: i64 = client
            .query_one("SELECT pg_total_relation_size('bench')", &[])
            .await?
            .get(0);
        // Warm the cache: both readers find the table in shared buffers / page cache.
        client.batch_execute("SELECT count(*) FROM bench").await?;
        Ok::<_, BoxError>((insert_s, bytes as f64 / 1e6))
    })?;
    eprintln!("pg_snapshot: {n} rows ({table_mb:.0} MB with index) in {insert_s:.1} s");

    let mut warnings = Vec::new();
    let mut rounds_measured: Vec<Vec<Measured>> = Vec::new();
    for round in 0..rounds {
        let suffix = if rounds > 1 {
            format!(" (run {})", round + 1)
        } else {
            String::new()
        };
        let mut row = Vec::new();
        let mut ceiling = rt.block_on(run_copy(&server, &db, n))?;
        ceiling.label.push_str(&suffix);
        eprintln!(
            "pg_snapshot: {}: {:.2} s",
            ceiling.label,
            ceiling.wall.as_secs_f64()
        );
        row.push(ceiling);
        for &on in &schemas {
            for &t in &threads {
                let label = format!(
                    "Sluice initial_only, JSON schemas {}, snapshot.max.threads={t} → file{suffix}",
                    if on { "on" } else { "off" }
                );
                let slot = PgServer::unique_name("bench_snap");
                let (m, lines) = run_sluice(
                    &sluice_bin,
                    &server,
                    &db,
                    &slot,
                    &publication,
                    on,
                    t,
                    n,
                    label,
                )?;
                eprintln!("pg_snapshot: {}: {:.2} s", m.label, m.wall.as_secs_f64());
                if lines != n {
                    warnings.push(format!(
                        "WARNING: {}: {lines} lines in the output file, expected {n}",
                        m.label
                    ));
                }
                rt.block_on(async {
                    let client = server.connect(&db).await?;
                    client
                        .execute(
                            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                             WHERE slot_name = $1::text",
                            &[&slot],
                        )
                        .await?;
                    Ok::<_, BoxError>(())
                })?;
                row.push(m);
            }
        }
        rounds_measured.push(row);
    }
    let load_end = busy_report();

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# pg_snapshot bench {}\n\n{}; {}; N={n} rows ({table_mb:.0} MB table + index); \
         {} CPU cores\n",
        utc_now(),
        command_line(&sluice_bin, &["--version"]).unwrap_or_else(|| "sluice".into()),
        rt.block_on(async {
            let client = server.connect(&db).await?;
            let v: String = client.query_one("SELECT version()", &[]).await?.get(0);
            Ok::<_, BoxError>(v.split(" on ").next().unwrap_or("").to_owned())
        })
        .unwrap_or_default(),
        std::thread::available_parallelism().map_or(0, |p| p.get()),
    );
    md.push_str(
        "| reader | wall s | rows/s | ratio vs COPY | MB written | peak RSS MB | CPU s |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in &rounds_measured {
        let ceiling = row[0].rows_per_s();
        for m in row {
            let _ = writeln!(
                md,
                "| {} | {:.2} | {} | {:.2} | {:.0} | {} | {} |",
                m.label,
                m.wall.as_secs_f64(),
                thousands(m.rows_per_s()),
                m.rows_per_s() / ceiling,
                m.bytes as f64 / 1e6,
                m.maxrss_kb
                    .map_or_else(|| "—".into(), |kb| format!("{:.0}", kb as f64 / 1024.0)),
                m.cpu
                    .map_or_else(|| "—".into(), |c| format!("{:.2}", c.as_secs_f64())),
            );
        }
    }
    if rounds > 1 {
        for i in 1..rounds_measured[0].len() {
            let mut ratios: Vec<f64> = rounds_measured
                .iter()
                .map(|row| row[i].rows_per_s() / row[0].rows_per_s())
                .collect();
            ratios.sort_by(f64::total_cmp);
            let name = rounds_measured[0][i]
                .label
                .trim_end_matches(" (run 1)")
                .to_owned();
            let _ = writeln!(
                md,
                "| {name}: median ratio of {rounds} runs | | | {:.2} | | | |",
                ratios[ratios.len() / 2]
            );
        }
    }
    let _ = writeln!(
        md,
        "\nTarget: ratio ≥ {TARGET_RATIO}. Wall: Sluice from spawn to exit (start-up, slot with \
         exported snapshot, snapshot, final commit); COPY from the query to its last byte, \
         drained by tokio-postgres in the bench process. Ratio: rows/s ÷ the COPY row of the \
         same round.\n\nAt start: {load_start}\n\nAt end: {load_end}"
    );
    for w in &warnings {
        let _ = writeln!(md, "\n{w}");
    }
    print!("{md}");
    let out = target_dir().join("bench-pg-snapshot.md");
    match std::fs::create_dir_all(target_dir()).and_then(|()| std::fs::write(&out, &md)) {
        Ok(()) => eprintln!("pg_snapshot: table written to {}", out.display()),
        Err(e) => eprintln!("pg_snapshot: cannot write {}: {e}", out.display()),
    }
    Ok(())
}

/// The ceiling: `COPY (SELECT * FROM bench) TO STDOUT` (text), every byte read and dropped.
async fn run_copy(server: &PgServer, db: &str, n: u64) -> Result<Measured, BoxError> {
    let client = server.connect(db).await?;
    let t0 = Instant::now();
    let stream = client
        .copy_out("COPY (SELECT * FROM bench) TO STDOUT")
        .await?;
    pin_mut!(stream);
    let mut bytes = 0u64;
    let mut rows = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        rows += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let wall = t0.elapsed();
    if rows != n {
        return Err(format!("COPY returned {rows} rows, expected {n}").into());
    }
    Ok(Measured {
        label: "COPY (SELECT * FROM bench) TO STDOUT → tokio-postgres, dropped (ceiling)".into(),
        wall,
        rows,
        bytes,
        maxrss_kb: None,
        cpu: None,
    })
}

/// Runs `sluice standalone` with `snapshot.mode=initial_only` until it exits. Returns the
/// measurement and the output file's line count.
#[allow(clippy::too_many_arguments)]
fn run_sluice(
    bin: &Path,
    server: &PgServer,
    db: &str,
    slot: &str,
    publication: &str,
    schemas: bool,
    threads: u32,
    n: u64,
    label: String,
) -> Result<(Measured, u64), BoxError> {
    let dir = tempfile::Builder::new()
        .prefix("bench-pg-snapshot-")
        .tempdir()?;
    let events = dir.path().join("events.jsonl");
    let worker = format!(
        "listeners=\nsink=file\nsink.file.path={}\noffset.storage.file.filename={}\n\
         offset.flush.interval.ms=1000\nkey.converter.schemas.enable={schemas}\n\
         value.converter.schemas.enable={schemas}\n",
        events.display(),
        dir.path().join("offsets.dat").display(),
    );
    let connector = format!(
        "name=bench-pg-snapshot\n\
         connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         database.hostname={}\ndatabase.port={}\ndatabase.user={}\ndatabase.password={}\n\
         database.dbname={db}\ntopic.prefix=bench\nplugin.name=pgoutput\nslot.name={slot}\n\
         publication.name={publication}\npublication.autocreate.mode=disabled\n\
         table.include.list=public.bench\nsnapshot.mode=initial_only\n\
         snapshot.max.threads={threads}\n",
        server.host(),
        server.port(),
        server.user(),
        server.password(),
    );
    let worker_path = dir.path().join("worker.properties");
    let connector_path = dir.path().join("connector.properties");
    std::fs::write(&worker_path, worker)?;
    std::fs::write(&connector_path, connector)?;
    let stderr_path = dir.path().join("stderr.log");
    let mut cmd = Command::new(bin);
    cmd.arg("standalone")
        .arg(&worker_path)
        .arg(&connector_path)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path)?);
    let t0 = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id();
    let perf = perf_attach(pid, &label)?;
    let Some(exit) = wait4_until(pid, t0 + SNAPSHOT_TIMEOUT) else {
        signal(pid, libc::SIGKILL);
        let _ = wait4_until(pid, Instant::now() + Duration::from_secs(60));
        return Err(format!(
            "{label}: no exit after {SNAPSHOT_TIMEOUT:?}; stderr:\n{}",
            tail(&stderr_path, 20)
        )
        .into());
    };
    let wall = t0.elapsed();
    if exit.status != 0 {
        return Err(format!(
            "{label}: sluice exited with wait status {}; stderr:\n{}",
            exit.status,
            tail(&stderr_path, 20)
        )
        .into());
    }
    if let Some(mut perf) = perf {
        let _ = perf.wait();
    }
    let (lines, bytes) = count_lines(&events)?;
    if std::env::var_os("BENCH_KEEP").is_some() {
        let kept = dir.keep();
        eprintln!("pg_snapshot: {label}: files kept in {}", kept.display());
    }
    Ok((
        Measured {
            label,
            wall,
            rows: n,
            bytes,
            maxrss_kb: Some(exit.maxrss_kb),
            cpu: Some(exit.cpu),
        },
        lines,
    ))
}

/// (newlines, bytes) of a file; (0, 0) when it does not exist.
fn count_lines(path: &Path) -> Result<(u64, u64), BoxError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e.into()),
    };
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let got = file.read(&mut buf)?;
        if got == 0 {
            return Ok((lines, bytes));
        }
        bytes += got as u64;
        lines += buf[..got].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// `env!("CARGO_BIN_EXE_sluice")` is the release binary under `cargo bench`; `SLUICE_BIN`
/// overrides it.
fn sluice_bin() -> PathBuf {
    std::env::var_os("SLUICE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// A throwaway server, or the one named by `SLUICE_TEST_PG_URL`.
fn start_server() -> Result<PgServer, BoxError> {
    if let Some(url) = std::env::var(PG_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(PgServer::from_url(url.trim())?);
    }
    Ok(PgServer::start_with(PgOptions {
        extra_conf: vec![
            ("max_wal_size".into(), "4GB".into()),
            ("shared_buffers".into(), "512MB".into()),
            ("max_replication_slots".into(), "10".into()),
            ("max_wal_senders".into(), "10".into()),
        ],
        ..Default::default()
    })?)
}
/// With `PERF_DIR` set: `perf record` (DWARF call graphs) attached to `pid`, writing
/// `$PERF_DIR/<label>.data`. It slows the consumer: use it for profiles, not for the table.
fn perf_attach(pid: u32, label: &str) -> Result<Option<std::process::Child>, BoxError> {
    let Some(dir) = std::env::var_os("PERF_DIR") else {
        return Ok(None);
    };
    let name: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let out = Path::new(&dir).join(format!("{name}.data"));
    std::fs::create_dir_all(&dir)?;
    let freq = std::env::var("PERF_FREQ").unwrap_or_else(|_| "999".into());
    let child = Command::new("perf")
        .args(["record", "-F", &freq, "--call-graph", "dwarf,32768", "-o"])
        .arg(&out)
        .args(["-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    eprintln!("pg_snapshot: perf recording {label} into {}", out.display());
    Ok(Some(child))
}
