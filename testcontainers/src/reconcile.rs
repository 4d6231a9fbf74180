//! Reconciliation: rebuild a table's state by replaying its Debezium change events, and read
//! the real table's state the same way, so that "snapshot + stream replayed equals the final
//! table" can be checked row for row.
//!
//! ```text
//! sink records (key, value) ──apply()──> TableState ─┐
//!                                                      ├── diff() ──> first differing keys
//! SELECT … FROM t ──from_table()────────> TableState ─┘
//! ```
//! Both sides render each row as canonical JSON text (object keys sorted, no whitespace), keyed
//! by the canonical JSON of the record key. Rows are kept as text, not as `Value`s: a million
//! rows stay a few hundred megabytes at most.
//!
//! Limits (what this helper does not try to do):
//! - Replay is in the order given (the sink's order). Duplicates from at-least-once
//!   re-delivery are harmless as long as they repeat a suffix in order, which is what Sluice's
//!   restart does; nothing here de-duplicates by LSN.
//! - A table needs a key: events with a null key (keyless tables) are rejected.
//! - [`from_table`] renders `smallint`, `integer`, `bigint`, `oid` as JSON numbers, `text`,
//!   `varchar`, `bpchar`, `name` as strings, `boolean` as a boolean, `real` and
//!   `double precision` as numbers, SQL NULL as `null`; any other column type is an error
//!   (cast it in the query, e.g. `ts::text`, only if the events carry it the same way).
//!   Choose columns whose Debezium JSON form is one of these, e.g. `id bigint`, `v int`,
//!   `note text`.
//! - The events' `after` may carry more columns than the query: compare
//!   [`TableState::project`]ed to the query's columns.
//! - TOAST placeholders (`__debezium_unavailable_value`) are taken literally: use small values
//!   or `REPLICA IDENTITY FULL` when a test updates rows without touching a large column.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What went wrong while replaying events or reading the table.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("event is not a Debezium change event ({why}): {event}")]
    NotAnEvent { why: &'static str, event: String },
    #[error("event for op {op} has a null key: reconciliation needs a keyed table")]
    NullKey { op: String },
    #[error("column {column} has type {type_name}, which reconciliation does not render; select a supported type (see the module docs)")]
    UnsupportedType { column: String, type_name: String },
    #[error("key column {column} is not among the query's columns")]
    MissingKeyColumn { column: String },
    #[error("query failed: {query}")]
    Query {
        query: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// A table's rows: canonical key JSON → canonical row JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    rows: BTreeMap<String, String>,
}

/// `{"schema": …, "payload": …}` → the payload; anything else as is.
fn payload(v: &Value) -> &Value {
    match v {
        Value::Object(m) if m.len() == 2 && m.contains_key("schema") => {
            m.get("payload").unwrap_or(v)
        }
        _ => v,
    }
}

/// JSON text with object keys sorted at every level and no whitespace.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = Map::new();
                for (k, v) in entries {
                    out.insert(k.clone(), sorted(v));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

impl TableState {
    pub fn new() -> TableState {
        TableState::default()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row stored under `key` (any JSON form of the key).
    pub fn get(&self, key: &Value) -> Option<Value> {
        self.rows
            .get(&canonical(payload(key)))
            .and_then(|r| serde_json::from_str(r).ok())
    }

    /// Insert or replace a row directly.
    pub fn upsert(&mut self, key: &Value, row: &Value) {
        self.rows
            .insert(canonical(payload(key)), canonical(payload(row)));
    }

    /// Apply one sink record: `key` and `value` as the JSON converter wrote them (with or
    /// without the `{"schema", "payload"}` envelope). `r`/`c`/`u` store `after` under the key,
    /// `d` removes the key, `t` (truncate) clears everything, a tombstone (null value) does
    /// nothing. Returns the op applied (`None` for a tombstone).
    pub fn apply(&mut self, key: &Value, value: &Value) -> Result<Option<char>, ReconcileError> {
        let value = payload(value);
        if value.is_null() {
            return Ok(None);
        }
        let not_event = |why| ReconcileError::NotAnEvent {
            why,
            event: value.to_string(),
        };
        let op = value
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| not_event("no op"))?;
        let key = payload(key);
        let op_char = op.chars().next().ok_or_else(|| not_event("empty op"))?;
        if op_char == 't' {
            self.rows.clear();
            return Ok(Some('t'));
        }
        if key.is_null() {
            return Err(ReconcileError::NullKey { op: op.to_string() });
        }
        match op_char {
            'r' | 'c' | 'u' => {
                let after = value
                    .get("after")
                    .filter(|a| a.is_object())
                    .ok_or_else(|| not_event("no after image"))?;
                self.rows.insert(canonical(key), canonical(after));
            }
            'd' => {
                self.rows.remove(&canonical(key));
            }
            // Logical decoding messages and anything newer carry no row.
            _ => return Ok(None),
        }
        Ok(Some(op_char))
    }

    /// The same rows with only `columns` kept (keys unchanged).
    pub fn project(&self, columns: &[&str]) -> TableState {
        let rows = self
            .rows
            .iter()
            .map(|(k, row)| {
                let row: Value = serde_json::from_str(row).unwrap_or(Value::Null);
                let kept: Map<String, Value> = columns
                    .iter()
                    .filter_map(|c| row.get(*c).map(|v| (c.to_string(), v.clone())))
                    .collect();
                (k.clone(), canonical(&Value::Object(kept)))
            })
            .collect();
        TableState { rows }
    }
}

/// One column value of a result row as Debezium's JSON renders it.
fn column_json(row: &tokio_postgres::Row, i: usize) -> Result<Value, ReconcileError> {
    use tokio_postgres::types::Type;
    let column = &row.columns()[i];
    let ty = column.type_();
    let unsupported = || ReconcileError::UnsupportedType {
        column: column.name().to_string(),
        type_name: ty.name().to_string(),
    };
    // `try_get` only fails on a type mismatch, which the match below rules out.
    let v = match *ty {
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::OID => row
            .try_get::<_, Option<u32>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(i)
            .ok()
            .flatten()
            .map(Value::from),
        _ => return Err(unsupported()),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// Read the table's current state with `query` (e.g. `SELECT id, v, note FROM t`): each row
/// becomes a JSON object of the query's columns, keyed by the object of `key_columns`.
pub async fn from_table(
    client: &tokio_postgres::Client,
    query: &str,
    key_columns: &[&str],
) -> Result<TableState, ReconcileError> {
    let rows = client
        .query(query, &[])
        .await
        .map_err(|source| ReconcileError::Query {
            query: query.to_string(),
            source,
        })?;
    let mut state = TableState::new();
    for row in &rows {
        let mut object = Map::new();
        for (i, column) in row.columns().iter().enumerate() {
            object.insert(column.name().to_string(), column_json(row, i)?);
        }
        let mut key = Map::new();
        for k in key_columns {
            let v = object
                .get(*k)
                .ok_or_else(|| ReconcileError::MissingKeyColumn {
                    column: k.to_string(),
                })?;
            key.insert(k.to_string(), v.clone());
        }
        state.rows.insert(
            canonical(&Value::Object(key)),
            canonical(&Value::Object(object)),
        );
    }
    Ok(state)
}

/// The first `limit` keys whose rows differ, one line each (`key: expected … / actual …`),
/// preceded by a count line; empty when the states are equal.
pub fn diff(expected: &TableState, actual: &TableState, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut differing = 0usize;
    let mut note = |key: &str, e: Option<&String>, a: Option<&String>| {
        differing += 1;
        if lines.len() < limit {
            lines.push(format!(
                "{key}: expected {} / actual {}",
                e.map_or("(absent)", String::as_str),
                a.map_or("(absent)", String::as_str)
            ));
        }
    };
    for (k, e) in &expected.rows {
        match actual.rows.get(k) {
            Some(a) if a == e => {}
            a => note(k, Some(e), a),
        }
    }
    for (k, a) in &actual.rows {
        if !expected.rows.contains_key(k) {
            note(k, None, Some(a));
        }
    }
    if differing > 0 {
        lines.insert(
            0,
            format!(
                "{differing} keys differ (expected {} rows, actual {} rows); first {}:",
                expected.len(),
                actual.len(),
                limit.min(differing)
            ),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(op: &str, before: Value, after: Value) -> Value {
        json!({"before": before, "after": after, "source": {"snapshot": "false"}, "op": op})
    }

    #[test]
    fn replays_snapshot_and_stream() {
        let mut s = TableState::new();
        let k = |id: i64| json!({"id": id});
        s.apply(&k(1), &event("r", Value::Null, json!({"id": 1, "v": 1})))
            .expect("r");
        s.apply(&k(2), &event("r", Value::Null, json!({"id": 2, "v": 2})))
            .expect("r");
        s.apply(&k(1), &event("u", Value::Null, json!({"v": 10, "id": 1})))
            .expect("u");
        // A primary-key change: delete of the old key, tombstone, create of the new one.
        assert_eq!(
            s.apply(&k(2), &event("d", json!({"id": 2}), Value::Null))
                .expect("d"),
            Some('d')
        );
        assert_eq!(s.apply(&k(2), &Value::Null).expect("tombstone"), None);
        s.apply(&k(12), &event("c", Value::Null, json!({"id": 12, "v": 2})))
            .expect("c");
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(&k(1)), Some(json!({"id": 1, "v": 10})));
        assert_eq!(s.get(&k(2)), None);

        let mut want = TableState::new();
        want.upsert(&k(12), &json!({"v": 2, "id": 12}));
        want.upsert(&k(1), &json!({"id": 1, "v": 10}));
        assert!(diff(&want, &s, 5).is_empty(), "{:?}", diff(&want, &s, 5));
    }

    #[test]
    fn schema_envelopes_are_unwrapped() {
        let mut s = TableState::new();
        let key = json!({"schema": {"type": "struct"}, "payload": {"id": 7}});
        let value = json!({"schema": {"type": "struct"}, "payload": event("c", Value::Null, json!({"id": 7, "note": null}))});
        s.apply(&key, &value).expect("c");
        assert_eq!(
            s.get(&json!({"id": 7})),
            Some(json!({"id": 7, "note": null}))
        );
        let tombstone = json!({"schema": null, "payload": null});
        assert_eq!(s.apply(&key, &tombstone).expect("tombstone"), None);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn truncate_clears_and_bad_events_are_errors() {
        let mut s = TableState::new();
        s.apply(
            &json!({"id": 1}),
            &event("c", Value::Null, json!({"id": 1})),
        )
        .expect("c");
        s.apply(&Value::Null, &event("t", Value::Null, Value::Null))
            .expect("t");
        assert!(s.is_empty());
        assert!(matches!(
            s.apply(&Value::Null, &event("c", Value::Null, json!({"id": 1}))),
            Err(ReconcileError::NullKey { .. })
        ));
        assert!(matches!(
            s.apply(&json!({"id": 1}), &json!({"after": {}})),
            Err(ReconcileError::NotAnEvent { .. })
        ));
        assert!(matches!(
            s.apply(&json!({"id": 1}), &event("u", Value::Null, Value::Null)),
            Err(ReconcileError::NotAnEvent { .. })
        ));
    }

    #[test]
    fn diff_names_missing_extra_and_changed_rows() {
        let mut a = TableState::new();
        let mut b = TableState::new();
        for id in 0..10 {
            a.upsert(&json!({"id": id}), &json!({"id": id, "v": id}));
            b.upsert(&json!({"id": id}), &json!({"id": id, "v": id}));
        }
        b.upsert(&json!({"id": 3}), &json!({"id": 3, "v": 33}));
        a.upsert(&json!({"id": 20}), &json!({"id": 20, "v": 0}));
        b.upsert(&json!({"id": 30}), &json!({"id": 30, "v": 0}));
        let d = diff(&a, &b, 2);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].starts_with("3 keys differ"), "{d:?}");
        assert!(
            d[1].contains("{\"id\":20}: expected") && d[1].contains("actual (absent)"),
            "{d:?}"
        );
        assert!(
            d[2].contains("{\"id\":3}: expected {\"id\":3,\"v\":3} / actual {\"id\":3,\"v\":33}"),
            "{d:?}"
        );
        assert!(diff(&a, &a.clone(), 2).is_empty());
    }

    #[test]
    fn projection_keeps_the_chosen_columns() {
        let mut s = TableState::new();
        s.upsert(&json!({"id": 1}), &json!({"id": 1, "v": 2, "big": "x"}));
        let p = s.project(&["id", "v"]);
        assert_eq!(p.get(&json!({"id": 1})), Some(json!({"id": 1, "v": 2})));
    }
}
