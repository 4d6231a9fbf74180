//! The schema history (`schema.history.internal`): every DDL statement the connector applied,
//! with the binlog position it came from, so that a restart rebuilds the in-memory
//! [`Schema`] as it was at the committed offset before reading rows again.
//!
//! ```text
//!  DDL at position P --> Schema::apply --> HistoryRecord{P, ddl, tableChanges}
//!      --> FileSchemaHistory::record (append one JSON line, fsync) --> offset P may be committed
//!  restart: recover(committed offset) --> replay records at or before it --> Schema
//! ```
//!
//! `io.debezium.storage.file.history.FileSchemaHistory` with
//! `schema.history.internal.file.filename`: one JSON document per line, in the shape of
//! Debezium's history records. A record is synced to disk before it returns, so the offset
//! of the event that follows it can be committed only after the DDL is durable. A crash while
//! appending leaves at most a torn last line; it is ignored on recovery and cut off when the
//! file is opened for appending.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};

use super::schema::{debezium_id, ColumnDef, Schema, TableChange, TableDef};

/// `schema.history.internal` for the file store.
pub const FILE_SCHEMA_HISTORY_CLASS: &str = "io.debezium.storage.file.history.FileSchemaHistory";

/// Orders binlog positions, as stored in a record's `position` (the connector's source offset as
/// a JSON object). The stream code implements it for its position type (GTID set, or
/// file/pos/event/row); any `Fn(&recorded, &offset) -> bool` closure works too.
pub trait PositionOrder {
    /// Whether a record written at `recorded` is at or before `offset`.
    fn at_or_before(&self, recorded: &Map<String, Json>, offset: &Map<String, Json>) -> bool;
}

impl<F> PositionOrder for F
where
    F: Fn(&Map<String, Json>, &Map<String, Json>) -> bool,
{
    fn at_or_before(&self, recorded: &Map<String, Json>, offset: &Map<String, Json>) -> bool {
        self(recorded, offset)
    }
}

/// Orders offsets by binlog `file` (by its numeric extension, then name), `pos`, then the
/// `event` and `row` counters Debezium keeps within a transaction. Use it when positions carry
/// no GTIDs; with GTIDs the stream code's own order should decide.
#[derive(Debug, Clone, Copy, Default)]
pub struct BinlogFilePositionOrder;

impl PositionOrder for BinlogFilePositionOrder {
    fn at_or_before(&self, recorded: &Map<String, Json>, offset: &Map<String, Json>) -> bool {
        let file = |m: &Map<String, Json>| {
            let name = m
                .get("file")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            let ext = name
                .rsplit('.')
                .next()
                .and_then(|e| e.parse::<u64>().ok())
                .unwrap_or(0);
            (ext, name)
        };
        let num = |m: &Map<String, Json>, k: &str| m.get(k).and_then(Json::as_i64).unwrap_or(0);
        let key = |m: &Map<String, Json>| (file(m), num(m, "pos"), num(m, "event"), num(m, "row"));
        key(recorded) <= key(offset)
    }
}

/// Orders offsets by their `gtids` when both have them, as Debezium's MySQL/MariaDB history
/// comparators do: a record is at or before the offset when its GTIDs are contained in the
/// offset's (MySQL GTID sets; MariaDB GTID positions, per domain by sequence number). With
/// equal GTIDs, or when either side has none or they do not parse, it falls back to
/// [`BinlogFilePositionOrder`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GtidOrder;

impl PositionOrder for GtidOrder {
    fn at_or_before(&self, recorded: &Map<String, Json>, offset: &Map<String, Json>) -> bool {
        use sluice_decoders::binlog::mariadb::GtidPosition;
        use sluice_decoders::binlog::mysql::GtidSet;
        let gtids = |m: &Map<String, Json>| {
            m.get("gtids")
                .and_then(Json::as_str)
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
        };
        let (Some(rec), Some(off)) = (gtids(recorded), gtids(offset)) else {
            return BinlogFilePositionOrder.at_or_before(recorded, offset);
        };
        if rec == off {
            return BinlogFilePositionOrder.at_or_before(recorded, offset);
        }
        if let (Ok(r), Ok(o)) = (GtidSet::parse(&rec), GtidSet::parse(&off)) {
            return o.contains_set(&r);
        }
        if let (Ok(r), Ok(o)) = (GtidPosition::parse(&rec), GtidPosition::parse(&off)) {
            return r.iter().all(|g| {
                o.get(g.domain_id)
                    .is_some_and(|mine| g.seq_no <= mine.seq_no)
            });
        }
        BinlogFilePositionOrder.at_or_before(recorded, offset)
    }
}

/// One DDL statement as recorded in the history.
#[derive(Debug, Clone)]
pub struct HistoryRecord {
    /// `topic.prefix`, recorded as `source.server`.
    pub server: String,
    /// The source offset of the statement's event.
    pub position: Map<String, Json>,
    pub ts_ms: i64,
    /// The statement's default database.
    pub database_name: String,
    pub ddl: String,
    pub table_changes: Vec<TableChange>,
}

impl HistoryRecord {
    /// The record as Debezium's history JSON document.
    pub fn to_json(&self) -> Json {
        let mut doc = Map::new();
        doc.insert("source".into(), json!({ "server": self.server }));
        doc.insert("position".into(), Json::Object(self.position.clone()));
        doc.insert("ts_ms".into(), json!(self.ts_ms));
        doc.insert("databaseName".into(), json!(self.database_name));
        doc.insert("ddl".into(), json!(self.ddl));
        doc.insert(
            "tableChanges".into(),
            Json::Array(
                self.table_changes
                    .iter()
                    .filter_map(table_change_json)
                    .collect(),
            ),
        );
        Json::Object(doc)
    }
}

/// Debezium's JSON for one table change; `None` for a TRUNCATE, which changes no table.
pub fn table_change_json(change: &TableChange) -> Option<Json> {
    let (kind, id, table, previous) = match change {
        TableChange::Create(t) => ("CREATE", t.debezium_id(), Some(t), None),
        TableChange::Alter { old, table } => {
            let previous = (old.0 != table.database || old.1 != table.name)
                .then(|| debezium_id(&old.0, &old.1));
            ("ALTER", table.debezium_id(), Some(table), previous)
        }
        TableChange::Drop { database, table } => ("DROP", debezium_id(database, table), None, None),
        TableChange::Truncate { .. } => return None,
    };
    let mut doc = Map::new();
    doc.insert("type".into(), json!(kind));
    doc.insert("id".into(), json!(id));
    if let Some(previous) = previous {
        doc.insert("previousId".into(), json!(previous));
    }
    doc.insert(
        "table".into(),
        match table {
            Some(t) => table_json(t),
            None => Json::Null,
        },
    );
    Some(Json::Object(doc))
}

fn table_json(table: &TableDef) -> Json {
    json!({
        "defaultCharsetName": table.charset,
        "primaryKeyColumnNames": table.primary_key,
        "columns": table.columns.iter().map(column_json).collect::<Vec<_>>(),
        "attributes": [],
        "comment": null,
    })
}

fn column_json(column: &ColumnDef) -> Json {
    let mut doc = Map::new();
    let type_name = column.debezium_type_name();
    doc.insert("name".into(), json!(column.name));
    doc.insert("jdbcType".into(), json!(column.jdbc_type()));
    doc.insert("typeName".into(), json!(type_name));
    doc.insert("typeExpression".into(), json!(type_name));
    doc.insert("charsetName".into(), json!(column.charset));
    if let Some(length) = column.length {
        doc.insert("length".into(), json!(length));
    }
    if let Some(scale) = column.scale {
        doc.insert("scale".into(), json!(scale));
    }
    doc.insert("position".into(), json!(column.position));
    doc.insert("optional".into(), json!(column.nullable));
    doc.insert("autoIncremented".into(), json!(column.auto_increment));
    doc.insert("generated".into(), json!(column.generated));
    doc.insert("comment".into(), json!(column.comment));
    doc.insert("hasDefaultValue".into(), json!(column.has_default()));
    if let Some(default) = &column.default {
        doc.insert("defaultValueExpression".into(), json!(default));
    }
    if !column.enum_values.is_empty() {
        doc.insert("enumValues".into(), json!(column.enum_values));
    }
    Json::Object(doc)
}

/// A history file that cannot be read, written or understood.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("schema history file {path}: {action} failed; check the path in schema.history.internal.file.filename and its permissions")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("schema history file {path}, line {line}: {what}; the file is damaged (restore it from a backup, or delete it and re-snapshot the schema with snapshot.mode=recovery)")]
    Corrupt {
        path: PathBuf,
        line: usize,
        what: String,
    },
}

/// The append-only history file.
#[derive(Debug)]
pub struct FileSchemaHistory {
    path: PathBuf,
    file: File,
}

/// What [`FileSchemaHistory::recover`] rebuilt.
#[derive(Debug)]
pub struct Recovered {
    pub schema: Schema,
    /// Records replayed (at or before the offset).
    pub replayed: usize,
    /// Records after the offset, left out (their DDL will be read again from the binlog).
    pub after_offset: usize,
    /// Whether a torn last line (a crash while appending) was ignored.
    pub torn_tail: bool,
}

impl FileSchemaHistory {
    /// Open (or create) the history file for appending. A torn last line left by a crash is cut
    /// off, so new records start on a line of their own.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileSchemaHistory, HistoryError> {
        let path = path.into();
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| HistoryError::Io {
                path,
                action,
                source,
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("creating the directory"))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening"))?;
        let mut content = Vec::new();
        file.read_to_end(&mut content).map_err(io("reading"))?;
        let keep = match content.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => 0,
        };
        if keep < content.len() {
            file.set_len(keep as u64)
                .map_err(io("cutting the torn last line"))?;
            file.sync_all().map_err(io("syncing"))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io("seeking"))?;
        Ok(FileSchemaHistory { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record and sync it to disk. Only after this returns may the offset of the
    /// event that follows the DDL be committed.
    pub fn record(&mut self, record: &HistoryRecord) -> Result<(), HistoryError> {
        let mut line = record.to_json().to_string();
        line.push('\n');
        let io = |action: &'static str| {
            let path = self.path.clone();
            move |source| HistoryError::Io {
                path,
                action,
                source,
            }
        };
        self.file
            .write_all(line.as_bytes())
            .map_err(io("appending a record"))?;
        self.file.sync_data().map_err(io("syncing a record"))?;
        Ok(())
    }

    /// Whether the history holds any record (Debezium: `exists()`); without one the connector
    /// must take the schema from the server (a snapshot of the schema) before streaming.
    pub fn exists(path: &Path) -> Result<bool, HistoryError> {
        match std::fs::read(path) {
            Ok(content) => Ok(content.contains(&b'\n')),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(HistoryError::Io {
                path: path.to_path_buf(),
                action: "reading",
                source,
            }),
        }
    }

    /// Rebuild the schema from the records at or before `offset`.
    pub fn recover(
        path: &Path,
        offset: &Map<String, Json>,
        order: &dyn PositionOrder,
    ) -> Result<Recovered, HistoryError> {
        let content = match std::fs::read(path) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(HistoryError::Io {
                    path: path.to_path_buf(),
                    action: "reading",
                    source,
                })
            }
        };
        let mut recovered = Recovered {
            schema: Schema::new(),
            replayed: 0,
            after_offset: 0,
            torn_tail: false,
        };
        let complete = match content.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => 0,
        };
        recovered.torn_tail = complete < content.len();
        for (index, line) in content[..complete].split(|&b| b == b'\n').enumerate() {
            let line_no = index + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let corrupt = |what: String| HistoryError::Corrupt {
                path: path.to_path_buf(),
                line: line_no,
                what,
            };
            let doc: Json = serde_json::from_slice(line)
                .map_err(|e| corrupt(format!("not a JSON document ({e})")))?;
            let position = doc
                .get("position")
                .and_then(Json::as_object)
                .ok_or_else(|| corrupt("no `position` object".into()))?;
            if !order.at_or_before(position, offset) {
                recovered.after_offset += 1;
                continue;
            }
            replay(&mut recovered.schema, &doc).map_err(corrupt)?;
            recovered.replayed += 1;
        }
        Ok(recovered)
    }
}

/// Apply one record: its `tableChanges` when it has them (the tables exactly as recorded),
/// else its DDL (database-level statements: CREATE/ALTER/DROP DATABASE, USE).
fn replay(schema: &mut Schema, doc: &Json) -> Result<(), String> {
    let changes = doc
        .get("tableChanges")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if changes.is_empty() {
        let database = doc.get("databaseName").and_then(Json::as_str).unwrap_or("");
        let ddl = doc.get("ddl").and_then(Json::as_str).unwrap_or("");
        // A statement that failed when it was recorded (and was skipped or warned about then)
        // fails the same way now; it changed nothing then either.
        let _ = schema.apply(database, ddl);
        return Ok(());
    }
    for change in changes {
        let kind = change.get("type").and_then(Json::as_str).unwrap_or("");
        let id = change
            .get("id")
            .and_then(Json::as_str)
            .ok_or("a table change without `id`")?;
        let (database, table) =
            parse_id(id).ok_or_else(|| format!("table id {id} is not \"db\".\"table\""))?;
        match kind {
            "DROP" => {
                schema.remove_table(&database, &table);
            }
            "CREATE" | "ALTER" => {
                if let Some(previous) = change.get("previousId").and_then(Json::as_str) {
                    let (pdb, ptable) = parse_id(previous)
                        .ok_or_else(|| format!("table id {previous} is not \"db\".\"table\""))?;
                    schema.remove_table(&pdb, &ptable);
                }
                let def = table_from_json(&database, &table, change.get("table"))?;
                schema.insert_table(def);
            }
            other => return Err(format!("unknown table change type `{other}`")),
        }
    }
    Ok(())
}

/// `"db"."table"` -> (db, table).
fn parse_id(id: &str) -> Option<(String, String)> {
    let inner = id.strip_prefix('"')?.strip_suffix('"')?;
    let (db, table) = inner.split_once("\".\"")?;
    Some((db.to_string(), table.to_string()))
}

fn table_from_json(database: &str, name: &str, table: Option<&Json>) -> Result<TableDef, String> {
    let table = table
        .and_then(Json::as_object)
        .ok_or_else(|| format!("table change for \"{database}\".\"{name}\" without `table`"))?;
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let columns = table
        .get("columns")
        .and_then(Json::as_array)
        .ok_or_else(|| format!("table \"{database}\".\"{name}\" without `columns`"))?;
    let mut defs = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let c = column.as_object().ok_or_else(|| {
            format!(
                "column {} of \"{database}\".\"{name}\" is not an object",
                i + 1
            )
        })?;
        let text = |k: &str| c.get(k).and_then(Json::as_str).map(str::to_string);
        let flag = |k: &str| c.get(k).and_then(Json::as_bool).unwrap_or(false);
        let column_name = text("name")
            .ok_or_else(|| format!("column {} of \"{database}\".\"{name}\" has no name", i + 1))?;
        let type_name = text("typeName").unwrap_or_default();
        let mut words: Vec<&str> = type_name.split_whitespace().collect();
        let unsigned = words.iter().any(|w| *w == "UNSIGNED" || *w == "ZEROFILL");
        words.retain(|w| *w != "UNSIGNED" && *w != "ZEROFILL");
        defs.push(ColumnDef {
            name: column_name,
            position: u32::try_from(i + 1).unwrap_or(u32::MAX),
            type_name: words.join(" "),
            length: c.get("length").and_then(Json::as_u64),
            scale: c
                .get("scale")
                .and_then(Json::as_u64)
                .and_then(|s| u32::try_from(s).ok()),
            unsigned,
            nullable: c.get("optional").and_then(Json::as_bool).unwrap_or(true),
            auto_increment: flag("autoIncremented"),
            default: text("defaultValueExpression"),
            charset: text("charsetName"),
            enum_values: strings(c.get("enumValues")),
            generated: flag("generated"),
            comment: text("comment"),
        });
    }
    Ok(TableDef {
        database: database.to_string(),
        name: name.to_string(),
        columns: defs,
        primary_key: strings(table.get("primaryKeyColumnNames")),
        charset: table
            .get("defaultCharsetName")
            .and_then(Json::as_str)
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(file: &str, pos: i64) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("file".into(), json!(file));
        m.insert("pos".into(), json!(pos));
        m
    }

    /// Apply `ddl` and record it at `pos`, as the connector does.
    fn step(schema: &mut Schema, history: &mut FileSchemaHistory, pos: i64, ddl: &str) {
        let table_changes = schema.apply("shop", ddl).expect("ddl applies");
        history
            .record(&HistoryRecord {
                server: "maria".into(),
                position: position("mysql-bin.000001", pos),
                ts_ms: 1_700_000_000_000 + pos,
                database_name: "shop".into(),
                ddl: ddl.into(),
                table_changes,
            })
            .expect("recorded");
    }

    const DDL: &[&str] = &[
        "CREATE DATABASE shop CHARACTER SET latin1",
        "CREATE TABLE a (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) DEFAULT 'n', kind ENUM('x','y'), price DECIMAL(8,2))",
        "CREATE TABLE b (id BIGINT PRIMARY KEY, note TEXT CHARACTER SET utf8mb4)",
        "ALTER TABLE a ADD COLUMN created DATETIME(3) DEFAULT CURRENT_TIMESTAMP(3) AFTER id, DROP COLUMN price",
        "RENAME TABLE b TO c",
        "TRUNCATE TABLE c",
        "ALTER TABLE a MODIFY name VARCHAR(40) NOT NULL",
        "DROP TABLE c",
    ];

    fn tables(schema: &Schema) -> Vec<TableDef> {
        let mut t: Vec<TableDef> = schema.tables().map(|t| TableDef::clone(t)).collect();
        t.sort_by(|x, y| (&x.database, &x.name).cmp(&(&y.database, &y.name)));
        t
    }

    #[test]
    fn recover_replays_up_to_the_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.dat");
        let mut history = FileSchemaHistory::open(&path).expect("open");
        let mut live = Schema::new();
        let mut snapshots = Vec::new();
        for (i, ddl) in DDL.iter().enumerate() {
            step(&mut live, &mut history, 100 * (i as i64 + 1), ddl);
            snapshots.push(tables(&live));
        }
        drop(history);
        for (i, expected) in snapshots.iter().enumerate() {
            let offset = position("mysql-bin.000001", 100 * (i as i64 + 1));
            let got = FileSchemaHistory::recover(&path, &offset, &BinlogFilePositionOrder)
                .expect("recover");
            assert_eq!(&tables(&got.schema), expected, "after record {}", i + 1);
            assert_eq!(got.replayed, i + 1);
            assert_eq!(got.after_offset, DDL.len() - i - 1);
        }
        // The database charset came back through the DDL of a record without table changes.
        let all = FileSchemaHistory::recover(
            &path,
            &position("mysql-bin.000002", 4),
            &BinlogFilePositionOrder,
        )
        .expect("recover");
        let mut again = all.schema;
        again
            .apply("shop", "CREATE TABLE d (s CHAR(1))")
            .expect("create");
        assert_eq!(
            again
                .table("shop", "d")
                .and_then(|t| t.charset.clone())
                .as_deref(),
            Some("latin1")
        );
        // Nothing before the first record.
        let none = FileSchemaHistory::recover(
            &path,
            &position("mysql-bin.000001", 50),
            &BinlogFilePositionOrder,
        )
        .expect("recover");
        assert_eq!(none.schema.tables().count(), 0);
    }

    #[test]
    fn records_look_like_debeziums() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.dat");
        let mut history = FileSchemaHistory::open(&path).expect("open");
        let mut schema = Schema::new();
        step(&mut schema, &mut history, 4, DDL[1]);
        step(&mut schema, &mut history, 5, "RENAME TABLE a TO z");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        let first = &lines[0];
        let keys: Vec<&str> = first
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "source",
                "position",
                "ts_ms",
                "databaseName",
                "ddl",
                "tableChanges"
            ]
        );
        assert_eq!(first["source"]["server"], "maria");
        assert_eq!(first["position"]["pos"], 4);
        let change = &first["tableChanges"][0];
        assert_eq!(change["type"], "CREATE");
        assert_eq!(change["id"], "\"shop\".\"a\"");
        assert_eq!(change["table"]["primaryKeyColumnNames"], json!(["id"]));
        let id = &change["table"]["columns"][0];
        assert_eq!(id["typeName"], "INT UNSIGNED");
        assert_eq!(id["jdbcType"], 4);
        assert_eq!(id["optional"], false);
        assert_eq!(id["autoIncremented"], true);
        assert_eq!(id["hasDefaultValue"], false);
        assert_eq!(id["position"], 1);
        let name = &change["table"]["columns"][1];
        assert_eq!(name["length"], 20);
        assert_eq!(name["defaultValueExpression"], "n");
        assert_eq!(name["hasDefaultValue"], true);
        assert_eq!(
            change["table"]["columns"][2]["enumValues"],
            json!(["x", "y"])
        );
        let price = &change["table"]["columns"][3];
        assert_eq!(
            (price["length"].clone(), price["scale"].clone()),
            (json!(8), json!(2))
        );
        let rename = &lines[1]["tableChanges"][0];
        assert_eq!(rename["type"], "ALTER");
        assert_eq!(rename["id"], "\"shop\".\"z\"");
        assert_eq!(rename["previousId"], "\"shop\".\"a\"");
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_appending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.dat");
        let mut history = FileSchemaHistory::open(&path).expect("open");
        let mut schema = Schema::new();
        step(&mut schema, &mut history, 10, DDL[1]);
        step(&mut schema, &mut history, 20, DDL[2]);
        drop(history);
        // A crash in the middle of appending the third record.
        let full = std::fs::read(&path).expect("read");
        let mut torn = full.clone();
        torn.extend_from_slice(br#"{"source":{"server":"maria"},"position":{"file":"mysql-bin.000001","pos":30},"ddl":"DROP TA"#);
        std::fs::write(&path, &torn).expect("write");

        let end = position("mysql-bin.000009", 0);
        let got = FileSchemaHistory::recover(&path, &end, &BinlogFilePositionOrder)
            .expect("a torn tail is not corruption");
        assert!(got.torn_tail);
        assert_eq!(got.replayed, 2);
        assert_eq!(tables(&got.schema), tables(&schema));

        // Reopening cuts the torn bytes; the next record starts on its own line.
        let mut history = FileSchemaHistory::open(&path).expect("reopen");
        assert_eq!(std::fs::read(&path).expect("read"), full);
        step(&mut schema, &mut history, 30, "DROP TABLE a");
        drop(history);
        let got =
            FileSchemaHistory::recover(&path, &end, &BinlogFilePositionOrder).expect("recover");
        assert!(!got.torn_tail);
        assert_eq!(got.replayed, 3);
        assert!(got.schema.table("shop", "a").is_none());
        assert!(got.schema.table("shop", "b").is_some());
    }

    #[test]
    fn a_damaged_middle_line_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.dat");
        let mut history = FileSchemaHistory::open(&path).expect("open");
        let mut schema = Schema::new();
        step(&mut schema, &mut history, 10, DDL[1]);
        drop(history);
        let mut content = std::fs::read_to_string(&path).expect("read");
        content.push_str("{not json\n");
        content.push_str(&std::fs::read_to_string(&path).expect("read"));
        std::fs::write(&path, content).expect("write");
        let e =
            FileSchemaHistory::recover(&path, &position("f.000001", 99), &BinlogFilePositionOrder)
                .expect_err("damaged");
        assert!(matches!(e, HistoryError::Corrupt { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("h.dat"), "{e}");
    }

    #[test]
    fn missing_file_means_no_history() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("none.dat");
        assert!(!FileSchemaHistory::exists(&path).expect("exists"));
        let got =
            FileSchemaHistory::recover(&path, &position("f.000001", 1), &BinlogFilePositionOrder)
                .expect("recover");
        assert_eq!(got.replayed, 0);
        let _ = FileSchemaHistory::open(&path).expect("create");
        assert!(
            !FileSchemaHistory::exists(&path).expect("exists"),
            "empty file has no records"
        );
    }

    #[test]
    fn file_position_order() {
        let o = BinlogFilePositionOrder;
        let p = |f: &str, pos: i64| position(f, pos);
        assert!(o.at_or_before(&p("mysql-bin.000001", 500), &p("mysql-bin.000001", 500)));
        assert!(o.at_or_before(&p("mysql-bin.000001", 500), &p("mysql-bin.000002", 4)));
        assert!(!o.at_or_before(&p("mysql-bin.000002", 4), &p("mysql-bin.000001", 900)));
        // Numeric extension, not text: .999999 rolls over to .1000000
        assert!(o.at_or_before(&p("mysql-bin.999999", 4), &p("mysql-bin.1000000", 4)));
        let mut with_event = p("mysql-bin.000001", 500);
        with_event.insert("event".into(), json!(2));
        assert!(!o.at_or_before(&with_event, &p("mysql-bin.000001", 500)));
        // GTIDs decide when both sides have them.
        let g = |gtids: &str, f: &str, pos: i64| {
            let mut m = p(f, pos);
            m.insert("gtids".into(), json!(gtids));
            m
        };
        let o = GtidOrder;
        assert!(o.at_or_before(&g("0-1-5", "b.000009", 9), &g("0-1-7", "b.000001", 4)));
        assert!(!o.at_or_before(&g("0-1-8", "b.000001", 4), &g("0-1-7", "b.000009", 9)));
        assert!(!o.at_or_before(&g("0-1-5,1-1-3", "b.000001", 4), &g("0-1-7", "b.000009", 9)));
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        assert!(o.at_or_before(
            &g(&format!("{uuid}:1-5"), "b.000009", 9),
            &g(&format!("{uuid}:1-7"), "b.000001", 4)
        ));
        assert!(!o.at_or_before(
            &g(&format!("{uuid}:1-9"), "b.000001", 4),
            &g(&format!("{uuid}:1-7"), "b.000009", 9)
        ));
        // Equal GTIDs: the file position inside decides; no GTIDs: the file position.
        assert!(!o.at_or_before(&g("0-1-5", "b.000001", 900), &g("0-1-5", "b.000001", 4)));
        assert!(o.at_or_before(&p("b.000001", 4), &p("b.000001", 5)));
        // A closure works as an order too.
        let never = |_: &Map<String, Json>, _: &Map<String, Json>| false;
        assert!(!never.at_or_before(&p("a.1", 1), &p("a.1", 1)));
    }
}
