//! Debezium's `source.snapshot` values for snapshot records.
//!
//! The first record of the snapshot is `first`, the last one `last`; otherwise the first record
//! of a table is `first_in_data_collection` and its last `last_in_data_collection`; everything
//! else `true`. Knowing that a record is a table's last needs a look-ahead of one record per
//! table: [`Marker`] holds each table's newest record back until the next one arrives or the
//! table ends.

/// One of Debezium's snapshot marker values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMarker {
    First,
    FirstInDataCollection,
    True,
    LastInDataCollection,
    Last,
}

impl SnapshotMarker {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::True => "true",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
        }
    }
}

/// Assigns markers in emission order, holding back one record per table.
#[derive(Debug)]
pub struct Marker<R> {
    emitted_any: bool,
    /// Per table (by index): the held-back record and whether it is the table's first.
    held: Vec<Option<(R, bool)>>,
    /// Tables whose first record has been seen.
    started: Vec<bool>,
}

impl<R> Marker<R> {
    pub fn new(tables: usize) -> Marker<R> {
        Marker {
            emitted_any: false,
            held: (0..tables).map(|_| None).collect(),
            started: vec![false; tables],
        }
    }

    /// A marker for a snapshot that resumes after rows were already delivered: the first
    /// record, and the first record of each table in `started`, were sent before the restart,
    /// so none of them is marked again.
    pub fn resumed(tables: usize, started: impl IntoIterator<Item = usize>) -> Marker<R> {
        let mut m = Marker {
            emitted_any: true,
            ..Marker::new(tables)
        };
        for t in started {
            if let Some(s) = m.started.get_mut(t) {
                *s = true;
            }
        }
        m
    }

    /// A new record of `table`; returns the previously held record of that table, now marked.
    pub fn push(&mut self, table: usize, record: R) -> Option<(R, SnapshotMarker)> {
        let first_of_table = !self.started.get(table).copied().unwrap_or(true);
        if let Some(s) = self.started.get_mut(table) {
            *s = true;
        }
        let previous = self.held.get_mut(table)?.replace((record, first_of_table));
        previous.map(|(r, first)| {
            let m = self.mark(first, false, false);
            (r, m)
        })
    }

    /// `table` has no more records; returns its held record, marked as the table's last.
    /// The very last record of the snapshot is only known when the snapshot ends: the caller
    /// keeps the latest record back and marks it `last` then (as Debezium does, so a trailing
    /// empty table does not hide the marker).
    pub fn finish_table(&mut self, table: usize) -> Option<(R, SnapshotMarker)> {
        let (r, first) = self.held.get_mut(table)?.take()?;
        let m = self.mark(first, true, false);
        Some((r, m))
    }

    fn mark(
        &mut self,
        first_of_table: bool,
        last_of_table: bool,
        last_overall: bool,
    ) -> SnapshotMarker {
        let first_overall = !self.emitted_any;
        self.emitted_any = true;
        if first_overall {
            SnapshotMarker::First
        } else if last_overall && last_of_table {
            SnapshotMarker::Last
        } else if first_of_table {
            SnapshotMarker::FirstInDataCollection
        } else if last_of_table {
            SnapshotMarker::LastInDataCollection
        } else {
            SnapshotMarker::True
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SnapshotMarker::*;

    #[test]
    fn a_resumed_snapshot_does_not_start_with_first() {
        // Table 0 was half read before the restart, table 1 not at all.
        let mut m = Marker::resumed(2, [0]);
        let mut out: Vec<SnapshotMarker> = Vec::new();
        for t in 0..2 {
            for r in 0..3 {
                out.extend(m.push(t, r).map(|x| x.1));
            }
            out.extend(m.finish_table(t).map(|x| x.1));
        }
        assert_eq!(
            out,
            vec![
                True,
                True,
                LastInDataCollection,
                FirstInDataCollection,
                True,
                LastInDataCollection
            ]
        );
    }

    #[test]
    fn marks_like_debezium() {
        // The recorded Debezium run: customers (3 rows), all_types (2), nopk (2).
        // The recorded run also had a fourth, empty table after them.
        let mut m = Marker::new(4);
        let mut out = Vec::new();
        for (t, rows) in [(0, 3), (1, 2), (2, 2), (3, 0)] {
            for r in 0..rows {
                out.extend(m.push(t, (t, r)).map(|x| x.1));
            }
            out.extend(m.finish_table(t).map(|x| x.1));
        }
        // The caller turns the final record into `last`.
        if let Some(l) = out.last_mut() {
            *l = Last;
        }
        assert_eq!(
            out,
            vec![
                First,
                True,
                LastInDataCollection,
                FirstInDataCollection,
                LastInDataCollection,
                FirstInDataCollection,
                Last
            ]
        );
    }
}
