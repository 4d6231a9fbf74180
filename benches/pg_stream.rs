//! End-to-end streaming throughput: Postgres logical replication -> Sluice -> JSON lines in a
//! file, as a ratio of `pg_recvlogical` draining the same WAL range in the same run (the
//! ceiling), in the shape of `../shared/anchors/debezium/bench-pg.sh` so the numbers line up
//! with the recorded Debezium ones.
//!
//! ```text
//! throwaway Postgres (max_wal_size=1GB)
//!   CREATE TABLE bench, PUBLICATION, 3 pgoutput slots   <- slots exist before any row
//!   N rows, one autocommit INSERT ... generate_series per BATCH rows; END = pg_current_wal_lsn()
//!   CHECKPOINT
//!   slot 1: pg_recvlogical --endpos END -f /dev/null           (ceiling)
//!   slot 2: sluice standalone, JSON schemas on  -> events.jsonl (until N lines, then SIGTERM)
//!   slot 3: sluice standalone, JSON schemas off -> events.jsonl
//!   slot 4: sluice standalone, Avro + Schema Registry -> Kafka (tansu)   (when tansu is found)
//! ```
//! The Kafka run ends when a consumer in the bench process has read N records from the
//! topic; that consumer and the broker share the machine with Sluice (a conservative
//! measurement: end to end, broker included). The registry is the test double of
//! `sluice-testcontainers` (it is asked once per schema).
//!
//! Wall time runs from spawn to the moment the consumer is done (pg_recvlogical exits at END;
//! Sluice's file holds N lines). CPU (user + sys) and peak RSS (`ru_maxrss`) come from `wait4`
//! of each child, so process start-up is included for every consumer alike.
//!
//! Run: `cargo bench --bench pg_stream`. Env: `N` (default 200000), `BATCH` (default 1000),
//! `RUNS` (rounds of the three consumers over the same WAL, default 1; each round has its own
//! slots and its own ceiling), `SLUICE_BIN` (bench another binary), `KAFKA=0` (skip the Kafka run), `SLUICE_TEST_PG_URL` (a
//! running server, whose `max_wal_size` you sized yourself), `PERF_DIR` (attach `perf record`
//! to each Sluice run, `PERF_FREQ` Hz, default 999: for profiles only, it slows them), `BENCH_KEEP` (keep Sluice's files).
//! The table also goes to `target/bench-pg-stream.md`.
#![allow(unsafe_code)] // wait4 / kill on our own children, nothing else

mod measure;
use measure::*;

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sluice_testcontainers::kafka::KafkaBroker;
use sluice_testcontainers::{PgOptions, PgServer, SchemaRegistry, PG_URL_ENV};

type BoxError = Box<dyn std::error::Error>;

/// How long one consumer may take to deliver N events before the run is called failed.
const CONSUMER_TIMEOUT: Duration = Duration::from_secs(600);
/// How long Sluice gets after SIGTERM to deliver, commit offsets and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between polls of Sluice's output file when nothing new has arrived; small against
/// the ~2 s runs, cheap in CPU (one read(2) per poll).
const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// The Debezium 3.6.3 run recorded in `../shared/anchors/debezium/README.md`
/// (`results/bench-pg-20261123T190800Z.md`, run 1), with the pg_recvlogical pgoutput ceiling
/// of that same run, so its ratio is computed like ours.
const RECORDED_CEILING_EPS: f64 = 122_699.0;
/// (label, wall s, events/s, peak RSS MB, CPU s)
const RECORDED_DEBEZIUM: [(&str, f64, f64, f64, f64); 2] = [
    (
        "Debezium 3.6.3 JSON schemas on → file (recorded, not run here)",
        13.26,
        15_086.0,
        1327.0,
        25.0,
    ),
    (
        "Debezium 3.6.3 JSON schemas off → file (recorded, not run here)",
        10.46,
        19_115.0,
        902.0,
        19.9,
    ),
];

fn main() {
    if let Err(e) = run() {
        eprintln!("pg_stream bench failed: {e}");
        std::process::exit(1);
    }
}

/// What one consumer cost.
struct Measured {
    label: String,
    wall: Duration,
    events: u64,
    maxrss_kb: u64,
    cpu: Duration,
}

impl Measured {
    fn events_per_s(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64()
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
    let n = env_u64("N", 200_000)?;
    let batch = env_u64("BATCH", 1_000)?;
    let rounds = env_u64("RUNS", 1)?.max(1) as usize;
    if batch == 0 || n % batch != 0 {
        return Err(format!("N ({n}) must be a multiple of BATCH ({batch})").into());
    }
    let sluice_bin = sluice_bin();
    if !sluice_bin.is_file() {
        return Err(format!(
            "sluice binary {} missing: run `cargo build --release --bin sluice`",
            sluice_bin.display()
        )
        .into());
    }
    let load_start = busy_report();
    eprintln!("pg_stream: N={n} BATCH={batch}; {load_start}");

    let server = start_server()?;
    let recvlogical = find_pg_recvlogical(&server)
        .ok_or("pg_recvlogical not found (server bin dir, PATH, /usr/lib/postgresql/*/bin)")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let db = rt.block_on(server.create_database("bench_pg_stream"))?;
    let publication = PgServer::unique_name("bench_pub");
    // One slot per consumer and round, all created before the first row.
    let slots: Vec<[String; 4]> = (0..rounds)
        .map(|_| {
            [
                PgServer::unique_name("bench_raw"),
                PgServer::unique_name("bench_s"),
                PgServer::unique_name("bench_ns"),
                PgServer::unique_name("bench_kafka"),
            ]
        })
        .collect();
    // Kafka with Avro: a tansu broker and the registry double, unless KAFKA=0 or no tansu.
    let kafka = if env_u64("KAFKA", 1)? == 0 {
        None
    } else {
        match (KafkaBroker::start(), SchemaRegistry::start()) {
            (Ok(broker), Ok(registry)) => Some((broker, registry)),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("pg_stream: no Kafka run: {e}");
                None
            }
        }
    };
    let (start_lsn, end_lsn, wal_bytes, insert_s) = rt.block_on(async {
        let client = server.connect(&db).await?;
        client
            .batch_execute(&format!(
                "CREATE TABLE bench (id bigint PRIMARY KEY, k int NOT NULL, v text NOT NULL, \
                 ts timestamptz NOT NULL, amount numeric(10,2) NOT NULL); \
                 CREATE PUBLICATION {publication} FOR TABLE bench;"
            ))
            .await?;
        for slot in slots.iter().flatten() {
            client
                .execute(
                    "SELECT pg_create_logical_replication_slot($1::text, 'pgoutput')",
                    &[slot],
                )
                .await?;
        }
        let start_lsn = current_lsn(&client).await?;
        let t0 = Instant::now();
        let mut first = 1u64;
        while first <= n {
            let last = first + batch - 1;
            client
                .batch_execute(&format!(
                    "INSERT INTO bench SELECT g, g % 1000, md5(g::text), \
                     timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', \
                     (g % 100000) / 100.0 FROM generate_series({first}, {last}) AS g"
                ))
                .await?;
            first = last + 1;
        }
        let insert_s = t0.elapsed().as_secs_f64();
        let end_lsn = current_lsn(&client).await?;
        let wal_bytes: String = client
            .query_one(
                "SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)::text",
                &[&end_lsn, &start_lsn],
            )
            .await?
            .get(0);
        client.batch_execute("CHECKPOINT").await?;
        Ok::<_, BoxError>((start_lsn, end_lsn, wal_bytes, insert_s))
    })?;
    let wal_mb = wal_bytes.parse::<f64>().unwrap_or(0.0) / 1e6;
    eprintln!(
        "pg_stream: inserted {n} rows in {} transactions in {insert_s:.2} s; WAL {start_lsn} -> \
         {end_lsn} ({wal_mb:.1} MB)",
        n / batch
    );

    let mut warnings = Vec::new();
    // Per round: [ceiling, schemas on, schemas off].
    let mut rounds_measured: Vec<Vec<Measured>> = Vec::new();
    for (round, [slot_raw, slot_on, slot_off, slot_kafka]) in slots.iter().enumerate() {
        let suffix = if rounds > 1 {
            format!(" (run {})", round + 1)
        } else {
            String::new()
        };
        let mut row = Vec::new();
        // 1. The ceiling: pg_recvlogical, pgoutput proto 1, to /dev/null.
        let mut ceiling = run_pg_recvlogical(
            &recvlogical,
            &server,
            &db,
            slot_raw,
            &publication,
            &end_lsn,
            n,
        )?;
        ceiling.label.push_str(&suffix);
        row.push(ceiling);
        // 2. and 3. Sluice, JSON schemas on and off, to a file.
        for (schemas, slot) in [(true, slot_on), (false, slot_off)] {
            let label = format!(
                "Sluice JSON schemas {} → file{suffix}",
                if schemas { "on" } else { "off" }
            );
            let (m, lines) = run_sluice(
                &sluice_bin,
                &server,
                &db,
                slot,
                &publication,
                Output::File { schemas },
                n,
                label,
            )?;
            if lines != n {
                warnings.push(format!(
                    "WARNING: {}: {lines} lines in the output file, expected {n}",
                    m.label
                ));
            }
            row.push(m);
        }
        // 4. Sluice, Avro with the registry, to Kafka.
        if let Some((broker, registry)) = &kafka {
            let topic = format!("bench{round}.public.bench");
            let (m, records) = run_sluice(
                &sluice_bin,
                &server,
                &db,
                slot_kafka,
                &publication,
                Output::KafkaAvro {
                    bootstrap: broker.bootstrap_servers().to_string(),
                    registry: registry.url().to_string(),
                    prefix: format!("bench{round}"),
                    topic,
                },
                n,
                format!("Sluice Avro → Kafka (tansu){suffix}"),
            )?;
            if records != n {
                warnings.push(format!(
                    "WARNING: {}: {records} records in the topic, expected {n}",
                    m.label
                ));
            }
            row.push(m);
        }
        rounds_measured.push(row);
    }

    // Drained = nothing of the bench transactions left after the slot's confirmed position.
    // (END LSN itself may sit past the last commit record, on a page boundary, so
    // `confirmed_flush_lsn >= END` is not the test.) For Sluice this also checks that
    // SIGTERM committed its position back to the slot.
    rt.block_on(async {
        let client = server.connect(&db).await?;
        for slot in slots.iter().flatten() {
            // The walsender applies a consumer's last feedback asynchronously: allow a moment.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let row = client
                    .query_one(
                        "SELECT count(*), (SELECT coalesce(confirmed_flush_lsn::text, '') \
                         FROM pg_replication_slots WHERE slot_name = $1::text) \
                         FROM pg_logical_slot_peek_binary_changes($1::text, $2::text::pg_lsn, NULL, \
                         'proto_version', '1', 'publication_names', $3::text)",
                        &[slot, &end_lsn, &publication],
                    )
                    .await?;
                let (pending, confirmed): (i64, String) = (row.get(0), row.get(1));
                if pending == 0 {
                    break;
                }
                if Instant::now() >= deadline {
                    warnings.push(format!(
                        "WARNING: slot {slot}: {pending} pgoutput messages up to END LSN \
                         {end_lsn} not confirmed (confirmed_flush_lsn {confirmed})"
                    ));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            client
                .execute("SELECT pg_drop_replication_slot($1::text)", &[slot])
                .await?;
        }
        Ok::<(), BoxError>(())
    })?;
    let load_end = busy_report();

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# pg_stream bench {}\n\n{}; {}; N={n} rows in {} autocommit INSERTs of {batch}; WAL \
         {wal_mb:.1} MB; insert took {insert_s:.2} s; {} CPU cores\n",
        utc_now(),
        command_line(&sluice_bin, &["--version"]).unwrap_or_else(|| "sluice".into()),
        command_line(&recvlogical, &["--version"]).unwrap_or_else(|| "pg_recvlogical".into()),
        n / batch,
        std::thread::available_parallelism().map_or(0, |p| p.get()),
    );
    md.push_str(
        "| consumer | wall s | events/s | ratio vs pg_recvlogical | peak RSS MB | CPU s |\n\
         |---|---|---|---|---|---|\n",
    );
    for row in &rounds_measured {
        let ceiling_eps = row[0].events_per_s();
        for m in row {
            let _ = writeln!(
                md,
                "| {} | {:.2} | {} | {:.2} | {:.0} | {:.2} |",
                m.label,
                m.wall.as_secs_f64(),
                thousands(m.events_per_s()),
                m.events_per_s() / ceiling_eps,
                m.maxrss_kb as f64 / 1024.0,
                m.cpu.as_secs_f64(),
            );
        }
    }
    if rounds > 1 {
        for (i, name) in [
            "pg_recvlogical",
            "Sluice schemas on",
            "Sluice schemas off",
            "Sluice Avro → Kafka",
        ]
        .iter()
        .enumerate()
        .filter(|(i, _)| rounds_measured.iter().all(|row| *i < row.len()))
        {
            let mut ratios: Vec<f64> = rounds_measured
                .iter()
                .map(|row| row[i].events_per_s() / row[0].events_per_s())
                .collect();
            ratios.sort_by(f64::total_cmp);
            let _ = writeln!(
                md,
                "| {name}: median ratio of {rounds} runs | | | {:.2} | | |",
                ratios[ratios.len() / 2]
            );
        }
    }
    for (label, wall, eps, rss, cpu) in RECORDED_DEBEZIUM {
        let _ = writeln!(
            md,
            "| {label} | {wall:.2} | {} | {:.2} | {rss:.0} | {cpu:.1} |",
            thousands(eps),
            eps / RECORDED_CEILING_EPS,
        );
    }
    let _ = writeln!(
        md,
        "\nWall: spawn → pg_recvlogical exit at END LSN / Sluice's file holding N lines (process \
         start-up included). Ratio: events/s ÷ the pg_recvlogical row of this run; the recorded \
         Debezium rows use the pg_recvlogical of their own run ({} events/s), \
         ../shared/anchors/debezium/README.md.\n\nAt start: {load_start}\n\nAt end: {load_end}",
        thousands(RECORDED_CEILING_EPS)
    );
    for w in &warnings {
        let _ = writeln!(md, "\n{w}");
    }
    print!("{md}");
    let out = target_dir().join("bench-pg-stream.md");
    match std::fs::write(&out, &md) {
        Ok(()) => eprintln!("pg_stream: table written to {}", out.display()),
        Err(e) => eprintln!("pg_stream: cannot write {}: {e}", out.display()),
    }
    Ok(())
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

/// A throwaway server sized for the run (a 1 GB max_wal_size keeps checkpoints out of the
/// insert phase, as in bench-pg.sh), or the one named by `SLUICE_TEST_PG_URL`.
fn start_server() -> Result<PgServer, BoxError> {
    if let Some(url) = std::env::var(PG_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(PgServer::from_url(url.trim())?);
    }
    Ok(PgServer::start_with(PgOptions {
        extra_conf: vec![
            ("max_wal_size".into(), "1GB".into()),
            ("max_replication_slots".into(), "10".into()),
            ("max_wal_senders".into(), "10".into()),
        ],
        ..Default::default()
    })?)
}

/// `pg_recvlogical` next to the server's binaries, else on PATH, else the highest
/// `/usr/lib/postgresql/<version>/bin`.
fn find_pg_recvlogical(server: &PgServer) -> Option<PathBuf> {
    const NAME: &str = "pg_recvlogical";
    let from_server = server.bin_dir().map(|d| d.join(NAME));
    let from_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(NAME))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut debian: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, e.path().join("bin").join(NAME)))
        })
        .collect();
    debian.sort_by(|a, b| b.0.cmp(&a.0));
    from_server
        .into_iter()
        .chain(from_path)
        .chain(debian.into_iter().map(|(_, p)| p))
        .find(|p| p.is_file())
}

async fn current_lsn(client: &tokio_postgres::Client) -> Result<String, BoxError> {
    Ok(client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await?
        .get(0))
}

fn run_pg_recvlogical(
    bin: &Path,
    server: &PgServer,
    db: &str,
    slot: &str,
    publication: &str,
    end_lsn: &str,
    n: u64,
) -> Result<Measured, BoxError> {
    let dir = tempfile::Builder::new()
        .prefix("bench-pg-stream-")
        .tempdir()?;
    let stderr_path = dir.path().join("pg_recvlogical.err");
    let mut cmd = Command::new(bin);
    cmd.args(["-h", server.host(), "-p", &server.port().to_string()])
        .args(["-U", server.user(), "-d", db, "--slot", slot])
        .args(["--start", "--no-loop", "-f", "/dev/null"])
        .arg(format!("--endpos={end_lsn}"))
        .args(["-o", "proto_version=1"])
        .args(["-o", &format!("publication_names={publication}")])
        .args(["-o", "messages=true"])
        .env("PGPASSWORD", server.password())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path)?);
    let t0 = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id();
    let exit = wait4_until(pid, Instant::now() + CONSUMER_TIMEOUT);
    let wall = t0.elapsed();
    let Some(exit) = exit else {
        signal(pid, libc::SIGKILL);
        let _ = wait4_until(pid, Instant::now() + STOP_TIMEOUT);
        return Err(
            format!("pg_recvlogical did not reach {end_lsn} in {CONSUMER_TIMEOUT:?}").into(),
        );
    };
    if exit.status != 0 {
        return Err(format!(
            "pg_recvlogical exited with wait status {}: {}",
            exit.status,
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        )
        .into());
    }
    Ok(Measured {
        label: "pg_recvlogical pgoutput proto 1 → /dev/null (ceiling)".into(),
        wall,
        events: n,
        maxrss_kb: exit.maxrss_kb,
        cpu: exit.cpu,
    })
}

/// Runs `sluice standalone` on `slot` until its file holds `n` lines, then SIGTERM. Returns
/// the measurement and the file's final line count.
#[allow(clippy::too_many_arguments)]
fn run_sluice(
    bin: &Path,
    server: &PgServer,
    db: &str,
    slot: &str,
    publication: &str,
    output: Output,
    n: u64,
    label: String,
) -> Result<(Measured, u64), BoxError> {
    let dir = tempfile::Builder::new()
        .prefix("bench-pg-stream-")
        .tempdir()?;
    let events = dir.path().join("events.jsonl");
    let offsets = dir.path().join("offsets.dat");
    let (worker, prefix, mut counter) = match &output {
        Output::File { schemas } => (
            format!(
                "listeners=\nsink=file\nsink.file.path={}\noffset.storage.file.filename={}\n\
                 offset.flush.interval.ms=1000\nkey.converter.schemas.enable={schemas}\n\
                 value.converter.schemas.enable={schemas}\n",
                events.display(),
                offsets.display(),
            ),
            "bench".to_string(),
            Counter::Lines(LineCounter::default()),
        ),
        Output::KafkaAvro {
            bootstrap,
            registry,
            prefix,
            topic,
        } => (
            format!(
                "listeners=\nbootstrap.servers={bootstrap}\noffset.storage.file.filename={}\n\
                 offset.flush.interval.ms=1000\n\
                 key.converter=io.confluent.connect.avro.AvroConverter\n\
                 value.converter=io.confluent.connect.avro.AvroConverter\n\
                 key.converter.schema.registry.url={registry}\n\
                 value.converter.schema.registry.url={registry}\n\
                 topic.creation.default.partitions=1\n\
                 topic.creation.default.replication.factor=1\n",
                offsets.display(),
            ),
            prefix.clone(),
            Counter::Kafka(KafkaCounter::new(bootstrap, topic)?),
        ),
    };
    let connector = format!(
        "name=bench-pg-stream\n\
         connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         database.hostname={}\ndatabase.port={}\ndatabase.user={}\ndatabase.password={}\n\
         database.dbname={db}\ntopic.prefix={prefix}\nplugin.name=pgoutput\nslot.name={slot}\n\
         publication.name={publication}\npublication.autocreate.mode=disabled\n\
         table.include.list=public.bench\nsnapshot.mode=no_data\n",
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
    let deadline = t0 + CONSUMER_TIMEOUT;
    let mut early_exit = None;
    let wall = loop {
        if counter.poll(&events)? {
            if counter.count() >= n {
                break t0.elapsed();
            }
            continue;
        }
        if let Some(exit) = wait4_nohang(pid) {
            early_exit = Some(exit);
            break t0.elapsed();
        }
        if Instant::now() >= deadline {
            signal(pid, libc::SIGKILL);
            let _ = wait4_until(pid, Instant::now() + STOP_TIMEOUT);
            return Err(format!(
                "{label}: {} of {n} events after {CONSUMER_TIMEOUT:?}; stderr:\n{}",
                counter.count(),
                tail(&stderr_path, 20)
            )
            .into());
        }
        std::thread::sleep(POLL_INTERVAL);
    };
    let exit = match early_exit {
        Some(exit) => {
            return Err(format!(
                "{label}: sluice exited (wait status {}) after {} of {n} events; stderr:\n{}",
                exit.status,
                counter.count(),
                tail(&stderr_path, 20)
            )
            .into())
        }
        None => {
            signal(pid, libc::SIGTERM);
            match wait4_until(pid, Instant::now() + STOP_TIMEOUT) {
                Some(exit) => exit,
                None => {
                    signal(pid, libc::SIGKILL);
                    let _ = wait4_until(pid, Instant::now() + STOP_TIMEOUT);
                    return Err(
                        format!("{label}: sluice ignored SIGTERM for {STOP_TIMEOUT:?}").into(),
                    );
                }
            }
        }
    };
    if exit.status != 0 {
        eprintln!(
            "pg_stream: {label}: exit wait status {} after SIGTERM; stderr:\n{}",
            exit.status,
            tail(&stderr_path, 20)
        );
    }
    if let Some(mut perf) = perf {
        // perf record ends by itself once the attached process is gone.
        let _ = perf.wait();
    }
    // Everything written up to the exit, including anything after the N-th line.
    while counter.poll(&events)? {}
    if std::env::var_os("BENCH_KEEP").is_some() {
        let kept = dir.keep();
        eprintln!("pg_stream: {label}: files kept in {}", kept.display());
    }
    Ok((
        Measured {
            label,
            wall,
            events: n,
            maxrss_kb: exit.maxrss_kb,
            cpu: exit.cpu,
        },
        counter.count(),
    ))
}

/// Where a Sluice run writes.
enum Output {
    /// JSON lines to a file.
    File { schemas: bool },
    /// Avro with the registry at `registry`, to `topic` of the cluster at `bootstrap`.
    KafkaAvro {
        bootstrap: String,
        registry: String,
        prefix: String,
        topic: String,
    },
}

/// Counts what a Sluice run delivered so far.
enum Counter {
    Lines(LineCounter),
    Kafka(KafkaCounter),
}

impl Counter {
    fn poll(&mut self, path: &Path) -> Result<bool, BoxError> {
        match self {
            Counter::Lines(c) => c.poll(path),
            Counter::Kafka(c) => c.poll(),
        }
    }

    fn count(&self) -> u64 {
        match self {
            Counter::Lines(c) => c.lines,
            Counter::Kafka(c) => c.records,
        }
    }
}

/// Counts the records of one topic (partition 0) as they arrive.
struct KafkaCounter {
    consumer: BaseConsumer,
    records: u64,
}

impl KafkaCounter {
    fn new(bootstrap: &str, topic: &str) -> Result<KafkaCounter, BoxError> {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("bench-counter-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            .set("topic.metadata.refresh.interval.ms", "200")
            .create()?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
        consumer.assign(&assignment)?;
        Ok(KafkaCounter {
            consumer,
            records: 0,
        })
    }

    /// Reads what arrived (at most a short wait); whether anything did.
    fn poll(&mut self) -> Result<bool, BoxError> {
        let mut any = false;
        while let Some(message) = self
            .consumer
            .poll(Duration::from_millis(if any { 0 } else { 5 }))
        {
            match message {
                Ok(_) => {
                    self.records += 1;
                    any = true;
                }
                // The topic does not exist until Sluice's first record creates it.
                Err(e) => {
                    if !any {
                        return Ok(false);
                    }
                    let _ = e;
                    break;
                }
            }
        }
        Ok(any)
    }
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
    eprintln!("pg_stream: perf recording {label} into {}", out.display());
    Ok(Some(child))
}
