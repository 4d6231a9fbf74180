//! Fault tests of the real `sluice` binary: the promises users buy must survive SIGKILL, server
//! restarts and SIGTERM, and memory must stay bounded on a huge transaction.
//!
//! ```text
//! writer ──SQL──> throwaway postgres ──pgoutput──> sluice (child process) ──> events.jsonl
//!                                                        ^  kill -9 / SIGTERM      │
//!   test: committed changes (in memory) ==? de-duplicated sink events <────────────┘
//! ```
//! Each test has its own server, so they run in parallel. Re-delivery after a crash is allowed
//! (at-least-once: the unacknowledged tail is sent again) and removed by `source.lsn`; loss,
//! reordering per key, or a changed event are failures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::Value;
use sluice_testcontainers::PgServer;
use tokio_util::sync::CancellationToken;

use crate::support::process::{
    events_path, file_worker_props, offsets_path, pg_connector_props, SluiceProcess,
};
use crate::support::{read_sink, wait_for, wait_slot_active};

/// Bound on any single wait; generous for a loaded 2-core machine running debug builds.
pub(crate) const WAIT: Duration = Duration::from_secs(120);

/// One change as the test committed it, or as the sink carried it: (op, id, after.v).
pub(crate) type Change = (char, i32, Option<i64>);

/// A data change event read back from the sink.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) lsn: u64,
    pub(crate) op: char,
    pub(crate) id: i32,
    pub(crate) v: Option<i64>,
}

/// The change events of the sink (tombstones and other topics' records left out), in file order.
pub(crate) fn sink_events(path: &Path) -> Vec<Event> {
    read_sink(path)
        .into_iter()
        .filter_map(|(_topic, key, value)| event_of(&key, &value))
        .collect()
}

/// The change event in a record's key and value (JSON, with or without schemas); `None` for
/// tombstones and records that are not change events.
pub(crate) fn event_of(key: &Value, value: &Value) -> Option<Event> {
    let payload = value.get("payload").unwrap_or(value);
    let op = payload.get("op")?.as_str()?.chars().next()?;
    let key = key.get("payload").unwrap_or(key);
    Some(Event {
        lsn: payload["source"]["lsn"].as_u64()?,
        op,
        id: i32::try_from(key["id"].as_i64()?).ok()?,
        v: payload["after"]["v"].as_i64(),
    })
}

/// Drop re-deliveries: keep the first occurrence of each (lsn, op, id).
pub(crate) fn dedup(events: &[Event]) -> Vec<Event> {
    let mut seen = BTreeSet::new();
    events
        .iter()
        .filter(|e| seen.insert((e.lsn, e.op, e.id)))
        .cloned()
        .collect()
}

/// Per key, the de-duplicated sink events must be exactly the committed changes, in order and
/// with increasing `source.lsn`. `Err` says what differs first.
pub(crate) fn compare(committed: &[Change], events: &[Event]) -> Result<(), String> {
    let mut want: BTreeMap<i32, Vec<Change>> = BTreeMap::new();
    for c in committed {
        want.entry(c.1).or_default().push(*c);
    }
    let mut got: BTreeMap<i32, Vec<Event>> = BTreeMap::new();
    for e in dedup(events) {
        got.entry(e.id).or_default().push(e);
    }
    for (id, evs) in &got {
        if let Some(w) = evs.windows(2).find(|w| w[0].lsn >= w[1].lsn) {
            return Err(format!(
                "id {id}: events out of LSN order: {:?} then {:?}",
                w[0], w[1]
            ));
        }
    }
    let n_got: usize = got.values().map(Vec::len).sum();
    for (id, changes) in &want {
        let have: Vec<Change> = got
            .get(id)
            .map(|evs| evs.iter().map(|e| (e.op, e.id, e.v)).collect())
            .unwrap_or_default();
        if &have != changes {
            return Err(format!(
                "id {id}: committed {changes:?} but the sink has {have:?} ({n_got} of {} changes in the sink)",
                committed.len()
            ));
        }
    }
    if let Some(id) = got.keys().find(|id| !want.contains_key(id)) {
        return Err(format!(
            "id {id}: events for a key that was never committed"
        ));
    }
    Ok(())
}

/// `pg_lsn` as a number.
async fn lsn_of(client: &tokio_postgres::Client, expr: &str) -> Option<u64> {
    let row = client
        .query_opt(&format!("SELECT (({expr}) - '0/0'::pg_lsn)::bigint"), &[])
        .await
        .ok()??;
    row.get::<_, Option<i64>>(0)
        .and_then(|v| u64::try_from(v).ok())
}

async fn confirmed_flush_lsn(client: &tokio_postgres::Client, slot: &str) -> Option<u64> {
    let row = client
        .query_opt(
            "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .ok()??;
    row.get::<_, Option<i64>>(0)
        .and_then(|v| u64::try_from(v).ok())
}

/// The `lsn` of the (only) offset in the worker's offset file.
fn stored_offset_lsn(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(offsets_path(dir)).ok()?;
    let entries: Value = serde_json::from_str(&text).ok()?;
    entries.as_array()?.first()?["value"]["lsn"].as_u64()
}

/// A server, a database with `t(id int primary key, v int)`, unique slot / publication
/// names, and the publication and slot created up front (so every change after this is kept
/// by the slot, whatever happens to sluice).
pub(crate) struct Setup {
    pub(crate) server: PgServer,
    pub(crate) db: String,
    pub(crate) slot: String,
    pub(crate) publication: String,
    pub(crate) prefix: String,
    pub(crate) client: tokio_postgres::Client,
    pub(crate) work: tempfile::TempDir,
}

pub(crate) async fn setup(name: &str, table_sql: &str) -> Setup {
    let server = PgServer::start().expect("start postgres");
    let db = server.create_database(name).await.expect("create database");
    let client = server.connect(&db).await.expect("connect");
    client.batch_execute(table_sql).await.expect("create table");
    let slot = PgServer::unique_name(&format!("{name}_slot"));
    let publication = PgServer::unique_name(&format!("{name}_pub"));
    let table = table_sql
        .split_whitespace()
        .nth(2)
        .expect("CREATE TABLE <name> ...");
    client
        .batch_execute(&format!(
            "CREATE PUBLICATION {publication} FOR TABLE {table}"
        ))
        .await
        .expect("create publication");
    client
        .query_one(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .await
        .expect("create slot");
    Setup {
        server,
        db,
        slot,
        publication,
        prefix: name.to_string(),
        client,
        work: tempfile::tempdir().expect("tempdir"),
    }
}

impl Setup {
    pub(crate) fn connector(&self) -> BTreeMap<String, String> {
        let mut c = pg_connector_props(
            &self.server,
            &self.db,
            &self.slot,
            &self.publication,
            &self.prefix,
        );
        // A killed predecessor holds the slot until the server notices: retry quickly.
        c.insert("slot.retry.delay.ms".into(), "200".into());
        c.insert("slot.max.retries".into(), "50".into());
        c.insert("retriable.restart.connector.wait.ms".into(), "1000".into());
        c
    }

    fn worker(&self, schemas: bool) -> BTreeMap<String, String> {
        let mut w = file_worker_props(self.work.path(), schemas);
        w.insert("offset.flush.interval.ms".into(), "200".into());
        w
    }

    fn spawn(&self) -> SluiceProcess {
        SluiceProcess::spawn(&self.worker(false), &self.connector())
    }

    fn events(&self) -> Vec<Event> {
        sink_events(&events_path(self.work.path()))
    }

    async fn insert_rows(&self, ids: std::ops::Range<i32>) -> Vec<Change> {
        let mut changes = Vec::new();
        for id in ids {
            self.client
                .execute("INSERT INTO t VALUES ($1, $1 * 10)", &[&id])
                .await
                .expect("insert");
            changes.push(('c', id, Some(i64::from(id) * 10)));
        }
        changes
    }

    /// Wait until the sink holds exactly `committed` (after de-duplication).
    async fn wait_sink_matches(&self, committed: &[Change], sluice: &SluiceProcess) {
        let started = Instant::now();
        loop {
            let result = compare(committed, &self.events());
            match result {
                Ok(()) => return,
                Err(e) if started.elapsed() > WAIT => panic!(
                    "the sink does not match what was committed after {WAIT:?}: {e}\nsluice stderr:\n{}",
                    sluice.stderr_text()
                ),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

pub(crate) const T_SQL: &str = "CREATE TABLE t (id int PRIMARY KEY, v int)";

/// The background writer of the kill -9 loop: small transactions of inserts, updates and
/// deletes (deterministic), plus now and then a multi-row update, until `stop`. Returns every
/// committed change in commit order.
pub(crate) async fn write_until(
    client: tokio_postgres::Client,
    stop: CancellationToken,
) -> Vec<Change> {
    write_paced(client, stop, Duration::from_millis(3)).await
}

/// [`write_until`] with `pause` between transactions.
pub(crate) async fn write_paced(
    client: tokio_postgres::Client,
    stop: CancellationToken,
    pause: Duration,
) -> Vec<Change> {
    let mut client = client;
    let mut live: BTreeMap<i32, i64> = BTreeMap::new();
    let mut committed = Vec::new();
    let mut k: i32 = 0;
    while !stop.is_cancelled() {
        let tx = client.transaction().await.expect("begin");
        let mut pending: Vec<Change> = Vec::new();
        tx.execute("INSERT INTO t VALUES ($1, 0)", &[&k])
            .await
            .expect("insert");
        live.insert(k, 0);
        pending.push(('c', k, Some(0)));
        if let Some(v) = live.get_mut(&(k - 3)) {
            tx.execute("UPDATE t SET v = v + 1 WHERE id = $1", &[&(k - 3)])
                .await
                .expect("update");
            *v += 1;
            pending.push(('u', k - 3, Some(*v)));
        }
        if k % 3 == 0 && live.remove(&(k - 7)).is_some() {
            tx.execute("DELETE FROM t WHERE id = $1", &[&(k - 7)])
                .await
                .expect("delete");
            pending.push(('d', k - 7, None));
        }
        if k % 25 == 24 {
            // Several changes in one transaction: a kill can fall inside it.
            let (lo, hi) = (k - 20, k - 3);
            tx.execute(
                "UPDATE t SET v = v + 1 WHERE id >= $1 AND id < $2",
                &[&lo, &hi],
            )
            .await
            .expect("bulk update");
            for (id, v) in live.range_mut(lo..hi) {
                *v += 1;
                pending.push(('u', *id, Some(*v)));
            }
        }
        tx.commit().await.expect("commit");
        committed.extend(pending);
        k += 1;
        tokio::time::sleep(pause).await;
    }
    committed
}

/// kill -9 at random moments, 24 times, while a writer commits; then one clean run must
/// deliver every committed change, in order per key, with nothing lost or altered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_kill9_loop_loses_nothing() {
    let seed: u64 = std::env::var("SLUICE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2024);
    eprintln!("kill9 loop seed: {seed} (set SLUICE_FAULT_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let s = setup("faults_kill9", T_SQL).await;
    let writer_client = s.server.connect(&s.db).await.expect("connect writer");
    let stop = CancellationToken::new();
    let writer = tokio::spawn(write_until(writer_client, stop.clone()));

    let started = Instant::now();
    const ITERATIONS: usize = 24;
    let mut streamed = 0;
    for i in 0..ITERATIONS {
        let mut sluice = s.spawn();
        let delay = rng.gen_range(100..=1500);
        // Not a wait for a condition: the random moment of the crash is the point.
        tokio::time::sleep(Duration::from_millis(delay)).await;
        assert!(
            sluice.is_running(),
            "iteration {i}: sluice exited before the kill: {:?}\n{}",
            sluice.exit_status(),
            sluice.stderr_text()
        );
        sluice.kill9();
        if sluice.stderr_text().contains("streaming started") {
            streamed += 1;
        }
    }
    stop.cancel();
    let committed = writer.await.expect("writer");
    assert!(
        streamed >= ITERATIONS / 2,
        "only {streamed} of {ITERATIONS} runs got to stream"
    );
    let torn = std::fs::read(events_path(s.work.path()))
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    eprintln!(
        "kill9 loop: {ITERATIONS} kills ({streamed} after streaming had started) in {:?}, {} committed changes, {} events in the sink so far, torn last line: {torn}",
        started.elapsed(),
        committed.len(),
        s.events().len()
    );

    let mut sluice = s.spawn();
    s.wait_sink_matches(&committed, &sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        sluice.stderr_text()
    );
    let events = s.events();
    compare(&committed, &events).expect("sink after the final stop");
    eprintln!(
        "kill9 loop: {} events in the sink for {} committed changes ({} re-delivered), total {:?}",
        events.len(),
        committed.len(),
        events.len() - dedup(&events).len(),
        started.elapsed()
    );
}

/// Counts complete lines of a growing file, reading only what was appended.
struct LineCounter {
    offset: u64,
    lines: u64,
}

impl LineCounter {
    fn update(&mut self, path: &Path) -> u64 {
        if let Ok(mut f) = std::fs::File::open(path) {
            if f.seek(SeekFrom::Start(self.offset)).is_ok() {
                let mut buf = Vec::new();
                if let Ok(n) = f.read_to_end(&mut buf) {
                    self.offset += n as u64;
                    self.lines += buf.iter().filter(|b| **b == b'\n').count() as u64;
                }
            }
        }
        self.lines
    }
}

/// One transaction of 1,000,000 rows: every row arrives and the process stays under 200 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_million_row_transaction_bounded_memory() {
    const ROWS: u64 = 1_000_000;
    const CEILING_BYTES: u64 = 200 << 20;
    let s = setup(
        "faults_big",
        "CREATE TABLE big (id int PRIMARY KEY, s text)",
    )
    .await;
    let mut sluice = s.spawn();
    wait_slot_active(&s.client, &s.slot).await;
    let rss_idle = sluice.peak_rss_bytes();

    let started = Instant::now();
    s.client
        .batch_execute(
            "BEGIN; INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g; COMMIT",
        )
        .await
        .expect("insert 1,000,000 rows");
    let committed_after = started.elapsed();
    let path = events_path(s.work.path());
    let mut counter = LineCounter {
        offset: 0,
        lines: 0,
    };
    let deadline = Duration::from_secs(600);
    loop {
        let n = counter.update(&path);
        if n >= ROWS {
            break;
        }
        assert!(
            sluice.is_running(),
            "sluice exited after {n} records: {:?}\n{}",
            sluice.exit_status(),
            sluice.stderr_text()
        );
        assert!(
            started.elapsed() < deadline,
            "only {n} of {ROWS} records after {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let streamed = started.elapsed();
    let rss_running = sluice.peak_rss_bytes();
    let status = sluice.sigterm_and_wait();
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        sluice.stderr_text()
    );
    let peak = sluice.peak_rss_bytes();
    eprintln!(
        "1M-row transaction: committed after {committed_after:?}, all {ROWS} records in the sink after {streamed:?}; \
         peak RSS {:.1} MiB (idle {:.1} MiB, VmHWM while streaming {:.1} MiB, ceiling {} MiB)",
        peak as f64 / 1048576.0,
        rss_idle as f64 / 1048576.0,
        rss_running as f64 / 1048576.0,
        CEILING_BYTES >> 20
    );
    assert_eq!(counter.update(&path), ROWS, "exactly one record per row");
    assert!(
        peak < CEILING_BYTES,
        "peak RSS {peak} bytes is over the {CEILING_BYTES} byte ceiling"
    );
}

/// The slot's confirmed_flush_lsn follows the acknowledged records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_confirmed_flush_lsn_advances() {
    let s = setup("faults_flush", T_SQL).await;
    let mut sluice = s.spawn();
    wait_slot_active(&s.client, &s.slot).await;
    let mut committed = Vec::new();
    let mut previous = confirmed_flush_lsn(&s.client, &s.slot)
        .await
        .expect("slot has a confirmed_flush_lsn");
    for round in 0..3 {
        committed.extend(s.insert_rows(round * 10..round * 10 + 10).await);
        let target = lsn_of(&s.client, "pg_current_wal_insert_lsn()")
            .await
            .expect("current WAL LSN");
        let confirmed = wait_for(
            WAIT,
            "confirmed_flush_lsn to reach the last commit",
            || async {
                confirmed_flush_lsn(&s.client, &s.slot)
                    .await
                    .filter(|c| *c >= target)
            },
        )
        .await;
        assert!(
            confirmed > previous,
            "round {round}: confirmed_flush_lsn did not move: {previous} then {confirmed} (target {target})\n{}",
            sluice.stderr_text()
        );
        previous = confirmed;
        // Acknowledged means delivered: the sink has the round's rows already.
        let events = s.events();
        compare(&committed, &events).expect("sink holds what the slot confirmed");
        let last = events.iter().map(|e| e.lsn).max().unwrap_or(0);
        assert!(
            confirmed > last,
            "confirmed {confirmed} <= last event LSN {last}"
        );
    }
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
}

/// The server stops mid-stream and comes back: sluice retries, keeps running, and delivers
/// every row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_server_restart_mid_stream() {
    let s = setup("faults_restart", T_SQL).await;
    if s.server.is_external() {
        eprintln!("skipping: cannot stop an external server");
        return;
    }
    let mut sluice = s.spawn();
    wait_slot_active(&s.client, &s.slot).await;
    let mut committed = s.insert_rows(0..50).await;
    s.wait_sink_matches(&committed, &sluice).await;

    s.server.stop().expect("stop postgres");
    let started = Instant::now();
    while !sluice.stderr_text().contains("retrying") {
        assert!(
            started.elapsed() < WAIT,
            "sluice logged no retry {WAIT:?} after the server stopped:\n{}",
            sluice.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        sluice.is_running(),
        "sluice exited: {}",
        sluice.stderr_text()
    );
    s.server.start_again().expect("start postgres again");

    let s = Setup {
        client: s.server.connect(&s.db).await.expect("reconnect"),
        ..s
    };
    committed.extend(s.insert_rows(50..100).await);
    s.wait_sink_matches(&committed, &sluice).await;
    assert!(
        sluice.is_running(),
        "sluice exited: {}",
        sluice.stderr_text()
    );
    let events = s.events();
    assert_eq!(
        events.len(),
        committed.len(),
        "each row exactly once across the server restart"
    );
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
}

/// SIGTERM delivers, commits the offset and exits 0; a restart repeats nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_sigterm_commits_and_restart_repeats_nothing() {
    let s = setup("faults_sigterm", T_SQL).await;
    let mut sluice = s.spawn();
    wait_slot_active(&s.client, &s.slot).await;
    let mut committed = s.insert_rows(0..40).await;
    s.wait_sink_matches(&committed, &sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let last = s.events().iter().map(|e| e.lsn).max().unwrap_or(0);
    let stored = stored_offset_lsn(s.work.path()).expect("an offset was committed");
    assert!(
        stored >= last,
        "stored offset lsn {stored} is behind the last delivered event {last}"
    );

    let mut sluice = s.spawn();
    wait_slot_active(&s.client, &s.slot).await;
    committed.extend(s.insert_rows(40..60).await);
    s.wait_sink_matches(&committed, &sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let events = s.events();
    let mut counts: HashMap<(u64, char, i32), usize> = HashMap::new();
    for e in &events {
        *counts.entry((e.lsn, e.op, e.id)).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "delivered twice: {repeated:?}");
    assert_eq!(events.len(), committed.len());
}

/// A crash mid-write leaves a torn last line; the next run must start on a new line instead of
/// gluing its first record to the fragment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_torn_last_line_is_not_glued_to_the_next_record() {
    let s = setup("faults_torn", T_SQL).await;
    let path = events_path(s.work.path());
    std::fs::write(&path, b"{\"topic\":\"torn\",\"key\":{\"id\"").expect("write torn line");
    let mut sluice = s.spawn();
    wait_slot_active(&s.client, &s.slot).await;
    let committed = s.insert_rows(0..5).await;
    s.wait_sink_matches(&committed, &sluice).await;
    let status = sluice.sigterm_and_wait();
    assert!(status.success(), "{status:?}\n{}", sluice.stderr_text());
    let text = std::fs::read_to_string(&path).expect("read sink");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("{\"topic\":\"torn\",\"key\":{\"id\""));
    for line in lines {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
}
