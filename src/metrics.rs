//! Per-connector metrics, kept in atomics and rendered as Prometheus text at `GET /metrics`.
//!
//! ```text
//! Pipeline (per batch) ──┐
//! connector (keepalive) ─┼─> ConnectorMetrics (Arc, lock-free counters) ──render──> /metrics
//! snapshot (per chunk) ──┘
//! ```
//! Updated per batch or per keepalive, never per event, so the hot path pays nothing for them.
//! Labels are the connector name and, for per-table series, the topic or table: low
//! cardinality. Row values never reach a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Metric names, in one place.
pub mod names {
    pub const EVENTS_SEEN: &str = "sluice_connector_events_seen_total";
    pub const EVENTS_FILTERED: &str = "sluice_connector_events_filtered_total";
    pub const RECORDS_SENT: &str = "sluice_connector_records_sent_total";
    pub const TOPIC_RECORDS: &str = "sluice_connector_topic_records_total";
    pub const BATCHES_IN_FLIGHT: &str = "sluice_connector_batches_in_flight";
    pub const MILLIS_BEHIND_SOURCE: &str = "sluice_connector_millis_behind_source";
    pub const COMMITS: &str = "sluice_connector_offset_commits_total";
    pub const LAST_COMMIT: &str = "sluice_connector_last_commit_timestamp_seconds";
    pub const COMMITTED_POSITION: &str = "sluice_connector_committed_position";
    pub const SLOT_LAG_BYTES: &str = "sluice_postgres_slot_lag_bytes";
    pub const SNAPSHOT_ROWS_DONE: &str = "sluice_snapshot_rows_done";
    pub const SNAPSHOT_ROWS_ESTIMATED: &str = "sluice_snapshot_rows_estimated";
    pub const ERRORS: &str = "sluice_connector_errors_total";
    pub const TASK_RUNNING: &str = "sluice_connector_task_running";
    pub const RECORDS_SKIPPED: &str = "sluice_connector_records_skipped_total";
    pub const DEAD_LETTER_RECORDS: &str = "sluice_connector_dead_letter_records_total";
}

/// The metrics of one connector; shared by the herder, the task and the REST API.
#[derive(Debug, Default)]
pub struct ConnectorMetrics {
    events_seen: AtomicU64,
    events_filtered: AtomicU64,
    records_sent: AtomicU64,
    batches_in_flight: AtomicU64,
    /// -1: unknown.
    millis_behind_source: AtomicI64,
    commits: AtomicU64,
    last_commit_unix_ms: AtomicI64,
    /// -1: unknown (not a Postgres connector, or no keepalive yet).
    slot_lag_bytes: AtomicI64,
    errors: AtomicU64,
    task_running: AtomicU64,
    records_skipped: AtomicU64,
    dead_letter_records: AtomicU64,
    committed_position: Mutex<String>,
    topic_records: Mutex<BTreeMap<Arc<str>, u64>>,
    snapshot: Mutex<BTreeMap<String, SnapshotTable>>,
}

/// What the snapshot reported of one table, and when.
#[derive(Debug, Clone, Copy)]
struct SnapshotTable {
    done: u64,
    estimated: u64,
    /// The first report (rows done then) and the latest.
    first: (std::time::Instant, u64),
    last: std::time::Instant,
}

/// One table of the running or latest snapshot, for the connector status.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotTableStatus {
    pub table: String,
    pub rows_done: u64,
    /// The planner's estimate; 0 when unknown.
    pub rows_estimated: u64,
    /// Rows per second between the first and the latest report.
    pub rows_per_second: f64,
    /// Seconds left at that rate, while the estimate is ahead of the rows done.
    pub eta_seconds: Option<u64>,
}

impl ConnectorMetrics {
    pub fn new() -> Arc<ConnectorMetrics> {
        let m = ConnectorMetrics::default();
        m.millis_behind_source.store(-1, Ordering::Relaxed);
        m.slot_lag_bytes.store(-1, Ordering::Relaxed);
        Arc::new(m)
    }

    pub fn add_events_seen(&self, n: u64) {
        self.events_seen.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_events_filtered(&self, n: u64) {
        self.events_filtered.fetch_add(n, Ordering::Relaxed);
    }

    /// A batch went to the sink: its record count per topic, in one lock.
    pub fn batch_sent<'a>(&self, topics: impl Iterator<Item = &'a Arc<str>>) {
        let mut counts = lock(&self.topic_records);
        let mut n = 0;
        let mut last: Option<(&Arc<str>, u64)> = None;
        for topic in topics {
            n += 1;
            // Records of a batch mostly come in runs of one topic: count runs, not records.
            match &mut last {
                Some((t, c)) if Arc::ptr_eq(t, topic) => *c += 1,
                _ => {
                    if let Some((t, c)) = last.take() {
                        *counts.entry(t.clone()).or_default() += c;
                    }
                    last = Some((topic, 1));
                }
            }
        }
        if let Some((t, c)) = last {
            *counts.entry(t.clone()).or_default() += c;
        }
        self.records_sent.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_batches_in_flight(&self, n: usize) {
        self.batches_in_flight.store(n as u64, Ordering::Relaxed);
    }

    pub fn set_millis_behind_source(&self, ms: i64) {
        self.millis_behind_source
            .store(ms.max(0), Ordering::Relaxed);
    }

    pub fn committed(&self, position: String) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.last_commit_unix_ms
            .store(crate::envelope::Clock::now().ms(), Ordering::Relaxed);
        *lock(&self.committed_position) = position;
    }

    pub fn set_slot_lag_bytes(&self, bytes: u64) {
        self.slot_lag_bytes
            .store(bytes.min(i64::MAX as u64) as i64, Ordering::Relaxed);
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` records failed and were skipped under `errors.tolerance=all` (each also counts as
    /// an error).
    pub fn records_skipped(&self, n: u64) {
        self.records_skipped.fetch_add(n, Ordering::Relaxed);
        self.errors.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` records were handed to the dead letter queue topic.
    pub fn dead_lettered(&self, n: u64) {
        self.dead_letter_records.fetch_add(n, Ordering::Relaxed);
    }

    pub fn skipped(&self) -> u64 {
        self.records_skipped.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn set_task_running(&self, running: bool) {
        self.task_running
            .store(u64::from(running), Ordering::Relaxed);
    }

    pub fn snapshot_progress(&self, table: &str, rows_done: u64, rows_estimated: u64) {
        let now = std::time::Instant::now();
        let mut tables = lock(&self.snapshot);
        let entry = tables.entry(table.to_string()).or_insert(SnapshotTable {
            done: rows_done,
            estimated: rows_estimated,
            first: (now, rows_done),
            last: now,
        });
        if rows_done < entry.first.1 {
            // A new snapshot of the table.
            entry.first = (now, rows_done);
        }
        entry.done = rows_done;
        entry.estimated = rows_estimated;
        entry.last = now;
    }

    /// The tables of the running or latest snapshot: rows done, estimate, rate and ETA.
    pub fn snapshot_status(&self) -> Vec<SnapshotTableStatus> {
        lock(&self.snapshot)
            .iter()
            .map(|(table, t)| {
                let secs = t.last.duration_since(t.first.0).as_secs_f64();
                let rate = if secs > 0.0 {
                    t.done.saturating_sub(t.first.1) as f64 / secs
                } else {
                    0.0
                };
                SnapshotTableStatus {
                    table: table.clone(),
                    rows_done: t.done,
                    rows_estimated: t.estimated,
                    rows_per_second: rate,
                    eta_seconds: (rate > 0.0 && t.estimated > t.done)
                        .then(|| ((t.estimated - t.done) as f64 / rate).ceil() as u64),
                }
            })
            .collect()
    }

    /// The topics this connector has written to (Connect's active topics).
    pub fn topics(&self) -> Vec<String> {
        lock(&self.topic_records)
            .keys()
            .map(|t| t.to_string())
            .collect()
    }

    /// `PUT /connectors/{name}/topics/reset`.
    pub fn reset_topics(&self) {
        lock(&self.topic_records).clear();
    }

    pub fn events_seen(&self) -> u64 {
        self.events_seen.load(Ordering::Relaxed)
    }

    pub fn records_sent(&self) -> u64 {
        self.records_sent.load(Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Prometheus label value escaping (backslash, quote, newline).
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Render every connector's metrics in Prometheus' text exposition format (version 0.0.4).
pub fn render(connectors: &[(String, Arc<ConnectorMetrics>)]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let per = |f: &dyn Fn(&ConnectorMetrics) -> Option<String>| -> Vec<(String, String)> {
        connectors
            .iter()
            .filter_map(|(name, m)| f(m).map(|v| (format!("connector=\"{}\"", label(name)), v)))
            .collect()
    };
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
    let known = |a: &AtomicI64| {
        let v = a.load(Ordering::Relaxed);
        (v >= 0).then(|| v.to_string())
    };
    family(
        names::EVENTS_SEEN,
        "counter",
        "Records the source handed to the pipeline (before transforms).",
        per(&|m| Some(load(&m.events_seen))),
    );
    family(
        names::EVENTS_FILTERED,
        "counter",
        "Records dropped by a transform or skipped under errors.tolerance=all.",
        per(&|m| Some(load(&m.events_filtered))),
    );
    family(
        names::RECORDS_SENT,
        "counter",
        "Records handed to the sink.",
        per(&|m| Some(load(&m.records_sent))),
    );
    let mut topic_rows = Vec::new();
    for (name, m) in connectors {
        for (topic, count) in lock(&m.topic_records).iter() {
            topic_rows.push((
                format!("connector=\"{}\",topic=\"{}\"", label(name), label(topic)),
                count.to_string(),
            ));
        }
    }
    family(
        names::TOPIC_RECORDS,
        "counter",
        "Records handed to the sink per topic (one topic per captured table).",
        topic_rows,
    );
    family(
        names::BATCHES_IN_FLIGHT,
        "gauge",
        "Batches sent and not yet acknowledged by the sink (queue depth).",
        per(&|m| Some(load(&m.batches_in_flight))),
    );
    family(
        names::MILLIS_BEHIND_SOURCE,
        "gauge",
        "Milliseconds between the source's commit time of the latest record and its dispatch.",
        per(&|m| known(&m.millis_behind_source)),
    );
    family(
        names::COMMITS,
        "counter",
        "Source offsets committed after the sink acknowledged.",
        per(&|m| Some(load(&m.commits))),
    );
    family(
        names::LAST_COMMIT,
        "gauge",
        "Unix time of the latest offset commit.",
        per(&|m| {
            let ms = m.last_commit_unix_ms.load(Ordering::Relaxed);
            (ms > 0).then(|| format!("{}.{:03}", ms / 1000, ms % 1000))
        }),
    );
    let mut position_rows = Vec::new();
    for (name, m) in connectors {
        let p = lock(&m.committed_position).clone();
        if !p.is_empty() {
            position_rows.push((
                format!("connector=\"{}\",position=\"{}\"", label(name), label(&p)),
                "1".to_string(),
            ));
        }
    }
    family(
        names::COMMITTED_POSITION,
        "gauge",
        "The latest committed source position (in the label; the value is always 1).",
        position_rows,
    );
    family(
        names::SLOT_LAG_BYTES,
        "gauge",
        "WAL bytes between the server's end of WAL and the slot's confirmed flush position.",
        per(&|m| known(&m.slot_lag_bytes)),
    );
    let mut done_rows = Vec::new();
    let mut estimated_rows = Vec::new();
    for (name, m) in connectors {
        for (table, t) in lock(&m.snapshot).iter() {
            let labels = format!("connector=\"{}\",table=\"{}\"", label(name), label(table));
            done_rows.push((labels.clone(), t.done.to_string()));
            estimated_rows.push((labels, t.estimated.to_string()));
        }
    }
    family(
        names::SNAPSHOT_ROWS_DONE,
        "gauge",
        "Rows of a table read by the running or latest snapshot.",
        done_rows,
    );
    family(
        names::SNAPSHOT_ROWS_ESTIMATED,
        "gauge",
        "The planner's row estimate of a table being snapshotted.",
        estimated_rows,
    );
    family(
        names::ERRORS,
        "counter",
        "Errors: task failures, retried transient errors and records skipped by errors.tolerance.",
        per(&|m| Some(load(&m.errors))),
    );
    family(
        names::RECORDS_SKIPPED,
        "counter",
        "Records a converter or the sink could never write, skipped under errors.tolerance=all.",
        per(&|m| Some(load(&m.records_skipped))),
    );
    family(
        names::DEAD_LETTER_RECORDS,
        "counter",
        "Records written to the dead letter queue topic (errors.deadletterqueue.topic.name).",
        per(&|m| Some(load(&m.dead_letter_records))),
    );
    family(
        names::TASK_RUNNING,
        "gauge",
        "1 while the connector's task runs.",
        per(&|m| Some(load(&m.task_running))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_per_connector_and_topic() {
        let m = ConnectorMetrics::new();
        m.add_events_seen(3);
        let a: Arc<str> = "p.public.a".into();
        let b: Arc<str> = "p.public.b".into();
        m.batch_sent([&a, &a, &b, &a].into_iter());
        m.snapshot_progress("public.a", 10, 20);
        let status = m.snapshot_status();
        assert_eq!(
            (status.len(), status[0].rows_done, status[0].rows_estimated),
            (1, 10, 20)
        );
        let text = render(&[("pg \"1\"".to_string(), m.clone())]);
        assert!(text.contains("sluice_connector_events_seen_total{connector=\"pg \\\"1\\\"\"} 3\n"));
        assert!(text.contains(
            "sluice_connector_topic_records_total{connector=\"pg \\\"1\\\"\",topic=\"p.public.a\"} 3\n"
        ));
        assert!(text.contains("topic=\"p.public.b\"} 1\n"));
        assert!(
            text.contains("sluice_connector_records_sent_total{connector=\"pg \\\"1\\\"\"} 4\n")
        );
        assert!(text.contains("table=\"public.a\"} 20\n"));
        // Unknown gauges are left out rather than reported as 0.
        assert!(!text.contains("sluice_postgres_slot_lag_bytes{"));
        assert_eq!(m.topics(), vec!["p.public.a", "p.public.b"]);
        m.reset_topics();
        assert!(m.topics().is_empty());
    }
}
