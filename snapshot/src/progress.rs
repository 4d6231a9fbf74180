//! Snapshot progress per table: rows done against the estimate, rate and ETA.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TableProgress {
    pub table: String,
    pub rows_done: u64,
    /// The planner's estimate (`pg_class.reltuples`), 0 when unknown.
    pub rows_estimated: u64,
    started: Instant,
}

impl TableProgress {
    pub fn new(table: &str, rows_estimated: u64) -> TableProgress {
        TableProgress {
            table: table.to_string(),
            rows_done: 0,
            rows_estimated,
            started: Instant::now(),
        }
    }

    pub fn rows_per_second(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            self.rows_done as f64 / secs
        } else {
            0.0
        }
    }

    /// Time left at the current rate (`None` when unknown).
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rows_per_second();
        if rate <= 0.0 || self.rows_estimated <= self.rows_done {
            return None;
        }
        Some(Duration::from_secs_f64(
            (self.rows_estimated - self.rows_done) as f64 / rate,
        ))
    }

    /// Percent done (capped at 100; estimates can be low).
    pub fn percent(&self) -> f64 {
        if self.rows_estimated == 0 {
            return 0.0;
        }
        (self.rows_done as f64 * 100.0 / self.rows_estimated as f64).min(100.0)
    }
}
