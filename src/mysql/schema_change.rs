//! Schema change events (`include.schema.changes=true`): each DDL statement that the connector
//! applies is also published on the `<topic.prefix>` topic, as Debezium's MySQL/MariaDB
//! connectors do, with the table structures after the change.
//!
//! ```text
//!  DDL (db, statement) --> Schema::apply --> [TableChange] --> SchemaChangeTopic::records
//!      --> Record{topic: <prefix>, key {databaseName}, value {source, ts_ms, databaseName,
//!                 schemaName, ddl, tableChanges[{type, id, table{..., columns[...]}}]}}
//! ```
//!
//! One record per changed table (Debezium splits a `DROP TABLE a, b` or a multi-pair
//! `RENAME TABLE` the same way); a statement that changes no table (`CREATE DATABASE`,
//! `TRUNCATE`) gives one record with no table changes. The `source` block is the stream's
//! (its schema and value are passed in), so it matches the data events around it.

use std::sync::Arc;

use crate::connect::{Field, Record, Schema, SchemaType, Value};

use super::schema::{debezium_id, ColumnDef, TableChange, TableDef};

/// The topic and Connect schemas of schema change events for one connector.
#[derive(Debug, Clone)]
pub struct SchemaChangeTopic {
    pub topic: Arc<str>,
    key_schema: Arc<Schema>,
    value_schema: Arc<Schema>,
}

fn string() -> Schema {
    Schema::new(SchemaType::String)
}

fn opt(ty: SchemaType) -> Schema {
    Schema::new(ty).optional(true)
}

/// `io.debezium.connector.schema.Column`.
fn column_schema() -> Schema {
    Schema::structure(vec![
        Field::new("name", string()),
        Field::new("jdbcType", Schema::new(SchemaType::Int32)),
        Field::new("nativeType", opt(SchemaType::Int32)),
        Field::new("typeName", string()),
        Field::new("typeExpression", opt(SchemaType::String)),
        Field::new("charsetName", opt(SchemaType::String)),
        Field::new("length", opt(SchemaType::Int32)),
        Field::new("scale", opt(SchemaType::Int32)),
        Field::new("position", Schema::new(SchemaType::Int32)),
        Field::new("optional", opt(SchemaType::Boolean)),
        Field::new("autoIncremented", opt(SchemaType::Boolean)),
        Field::new("generated", opt(SchemaType::Boolean)),
        Field::new("comment", opt(SchemaType::String)),
        Field::new("defaultValueExpression", opt(SchemaType::String)),
        Field::new("enumValues", Schema::array(string()).optional(true)),
    ])
    .named("io.debezium.connector.schema.Column")
}

/// `io.debezium.connector.schema.Table`.
fn table_schema() -> Schema {
    let attribute = Schema::structure(vec![
        Field::new("name", string()),
        Field::new("value", opt(SchemaType::String)),
    ])
    .named("io.debezium.connector.schema.Attribute");
    Schema::structure(vec![
        Field::new("defaultCharsetName", opt(SchemaType::String)),
        Field::new(
            "primaryKeyColumnNames",
            Schema::array(string()).optional(true),
        ),
        Field::new("columns", Schema::array(column_schema())),
        Field::new("comment", opt(SchemaType::String)),
        Field::new("attributes", Schema::array(attribute).optional(true)),
    ])
    .named("io.debezium.connector.schema.Table")
}

/// `io.debezium.connector.schema.Change`.
fn change_schema() -> Schema {
    Schema::structure(vec![
        Field::new("type", string()),
        Field::new("id", string()),
        Field::new("table", table_schema()),
    ])
    .named("io.debezium.connector.schema.Change")
}

impl SchemaChangeTopic {
    /// `connector` is `mysql` or `mariadb` (it names the key and value schemas);
    /// `source_schema` is the stream's `source` block schema.
    pub fn new(topic_prefix: &str, connector: &str, source_schema: Arc<Schema>) -> Self {
        let key_schema = Schema::structure(vec![Field::new("databaseName", string())])
            .named(format!("io.debezium.connector.{connector}.SchemaChangeKey"));
        let value_schema = Schema::structure(vec![
            Field {
                name: "source".into(),
                schema: source_schema,
            },
            Field::new("ts_ms", opt(SchemaType::Int64)),
            Field::new("databaseName", opt(SchemaType::String)),
            Field::new("schemaName", opt(SchemaType::String)),
            Field::new("ddl", opt(SchemaType::String)),
            Field::new("tableChanges", Schema::array(change_schema())),
        ])
        .named(format!(
            "io.debezium.connector.{connector}.SchemaChangeValue"
        ));
        SchemaChangeTopic {
            topic: topic_prefix.into(),
            key_schema: Arc::new(key_schema),
            value_schema: Arc::new(value_schema),
        }
    }

    pub fn value_schema(&self) -> &Arc<Schema> {
        &self.value_schema
    }

    /// The records for one applied statement. `database` is the statement's default database;
    /// a record about a table carries that table's database.
    pub fn records(
        &self,
        source: &Value,
        ts_ms: i64,
        database: &str,
        ddl: &str,
        changes: &[TableChange],
    ) -> Vec<Record> {
        let tables: Vec<(&str, Value)> = changes.iter().filter_map(change_value).collect();
        if tables.is_empty() {
            return vec![self.record(source, ts_ms, database, ddl, Vec::new())];
        }
        tables
            .into_iter()
            .map(|(db, change)| self.record(source, ts_ms, db, ddl, vec![change]))
            .collect()
    }

    fn record(
        &self,
        source: &Value,
        ts_ms: i64,
        database: &str,
        ddl: &str,
        changes: Vec<Value>,
    ) -> Record {
        Record {
            topic: self.topic.clone(),
            key_schema: Some(self.key_schema.clone()),
            key: Some(Value::Struct(vec![Value::String(database.to_string())])),
            value_schema: Some(self.value_schema.clone()),
            value: Some(Value::Struct(vec![
                source.clone(),
                Value::Int64(ts_ms),
                Value::String(database.to_string()),
                Value::Null,
                Value::String(ddl.to_string()),
                Value::Array(changes),
            ])),
            headers: Vec::new(),
            timestamp_ms: Some(ts_ms),
        }
    }
}

fn opt_string(s: &Option<String>) -> Value {
    match s {
        Some(s) => Value::String(s.clone()),
        None => Value::Null,
    }
}

fn int32(n: u64) -> Value {
    Value::Int32(i32::try_from(n).unwrap_or(i32::MAX))
}

/// (database, Change struct) of one table change; `None` for TRUNCATE.
fn change_value(change: &TableChange) -> Option<(&str, Value)> {
    let (kind, database, id, table) = match change {
        TableChange::Create(t) => ("CREATE", t.database.as_str(), t.debezium_id(), Some(t)),
        TableChange::Alter { table, .. } => (
            "ALTER",
            table.database.as_str(),
            table.debezium_id(),
            Some(table),
        ),
        TableChange::Drop { database, table } => (
            "DROP",
            database.as_str(),
            debezium_id(database, table),
            None,
        ),
        TableChange::Truncate { .. } => return None,
    };
    let table = match table {
        Some(t) => table_value(t),
        // Debezium sends a dropped table's last structure when it has it; an empty one is
        // what it sends for a table it did not know.
        None => Value::Struct(vec![
            Value::Null,
            Value::Array(Vec::new()),
            Value::Array(Vec::new()),
            Value::Null,
            Value::Array(Vec::new()),
        ]),
    };
    Some((
        database,
        Value::Struct(vec![Value::String(kind.into()), Value::String(id), table]),
    ))
}

fn table_value(table: &TableDef) -> Value {
    Value::Struct(vec![
        opt_string(&table.charset),
        Value::Array(
            table
                .primary_key
                .iter()
                .map(|k| Value::String(k.clone()))
                .collect(),
        ),
        Value::Array(table.columns.iter().map(column_value).collect()),
        Value::Null,
        Value::Array(Vec::new()),
    ])
}

fn column_value(column: &ColumnDef) -> Value {
    let type_name = column.debezium_type_name();
    Value::Struct(vec![
        Value::String(column.name.clone()),
        Value::Int32(column.jdbc_type()),
        Value::Null,
        Value::String(type_name.clone()),
        Value::String(type_name),
        opt_string(&column.charset),
        column.length.map(int32).unwrap_or(Value::Null),
        column
            .scale
            .map(|s| int32(u64::from(s)))
            .unwrap_or(Value::Null),
        int32(u64::from(column.position)),
        Value::Boolean(column.nullable),
        Value::Boolean(column.auto_increment),
        Value::Boolean(column.generated),
        opt_string(&column.comment),
        opt_string(&column.default),
        if column.enum_values.is_empty() {
            Value::Null
        } else {
            Value::Array(
                column
                    .enum_values
                    .iter()
                    .map(|v| Value::String(v.clone()))
                    .collect(),
            )
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::schema::Schema as Tables;

    fn source_schema() -> Arc<Schema> {
        Arc::new(
            Schema::structure(vec![Field::new("file", string())])
                .named("io.debezium.connector.mysql.Source"),
        )
    }

    /// Check that a value matches its schema: struct arity, optional nulls, types.
    fn conforms(schema: &Schema, value: &Value, path: &str) {
        match (schema.ty, value) {
            (_, Value::Null) => assert!(schema.optional, "{path} is null but required"),
            (SchemaType::Struct, Value::Struct(values)) => {
                assert_eq!(schema.fields.len(), values.len(), "{path} arity");
                for (f, v) in schema.fields.iter().zip(values) {
                    conforms(&f.schema, v, &format!("{path}.{}", f.name));
                }
            }
            (SchemaType::Array, Value::Array(items)) => {
                let item = schema.items.as_ref().expect("array items");
                for (i, v) in items.iter().enumerate() {
                    conforms(item, v, &format!("{path}[{i}]"));
                }
            }
            (SchemaType::String, Value::String(_))
            | (SchemaType::Int32, Value::Int32(_))
            | (SchemaType::Int64, Value::Int64(_))
            | (SchemaType::Boolean, Value::Boolean(_)) => {}
            (ty, v) => panic!("{path}: {v:?} does not fit {ty:?}"),
        }
    }

    fn field<'a>(schema: &Schema, value: &'a Value, name: &str) -> &'a Value {
        let i = schema.field_index(name).expect("field");
        match value {
            Value::Struct(v) => &v[i],
            other => panic!("not a struct: {other:?}"),
        }
    }

    #[test]
    fn create_alter_drop_records() {
        let topic = SchemaChangeTopic::new("maria", "mysql", source_schema());
        let source = Value::Struct(vec![Value::String("mysql-bin.000001".into())]);
        let mut tables = Tables::new();
        let ddl = "CREATE TABLE c (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) DEFAULT 'x', kind ENUM('a','b'), amount DECIMAL(9,3)) DEFAULT CHARSET=utf8mb4";
        let changes = tables.apply("shop", ddl).expect("create");
        let records = topic.records(&source, 1234, "shop", ddl, &changes);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(&*r.topic, "maria");
        let key_schema = r.key_schema.as_ref().expect("key schema");
        assert_eq!(
            key_schema.name.as_deref(),
            Some("io.debezium.connector.mysql.SchemaChangeKey")
        );
        assert_eq!(
            r.key,
            Some(Value::Struct(vec![Value::String("shop".into())]))
        );
        let vs = r.value_schema.as_ref().expect("value schema");
        assert_eq!(
            vs.name.as_deref(),
            Some("io.debezium.connector.mysql.SchemaChangeValue")
        );
        let names: Vec<&str> = vs.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "source",
                "ts_ms",
                "databaseName",
                "schemaName",
                "ddl",
                "tableChanges"
            ]
        );
        let value = r.value.as_ref().expect("value");
        conforms(vs, value, "value");
        assert_eq!(field(vs, value, "ddl"), &Value::String(ddl.into()));
        assert_eq!(field(vs, value, "source"), &source);
        let Value::Array(list) = field(vs, value, "tableChanges") else {
            panic!("tableChanges")
        };
        let change_schema = vs.fields[5].schema.items.as_ref().expect("items");
        assert_eq!(
            field(change_schema, &list[0], "type"),
            &Value::String("CREATE".into())
        );
        assert_eq!(
            field(change_schema, &list[0], "id"),
            &Value::String("\"shop\".\"c\"".into())
        );
        let table_schema = &change_schema.fields[2].schema;
        let table = field(change_schema, &list[0], "table");
        assert_eq!(
            field(table_schema, table, "defaultCharsetName"),
            &Value::String("utf8mb4".into())
        );
        assert_eq!(
            field(table_schema, table, "primaryKeyColumnNames"),
            &Value::Array(vec![Value::String("id".into())])
        );
        let column_schema = table_schema.fields[2].schema.items.as_ref().expect("items");
        let Value::Array(columns) = field(table_schema, table, "columns") else {
            panic!("columns")
        };
        let id = &columns[0];
        assert_eq!(
            field(column_schema, id, "typeName"),
            &Value::String("INT UNSIGNED".into())
        );
        assert_eq!(field(column_schema, id, "jdbcType"), &Value::Int32(4));
        assert_eq!(field(column_schema, id, "optional"), &Value::Boolean(false));
        assert_eq!(
            field(column_schema, id, "autoIncremented"),
            &Value::Boolean(true)
        );
        assert_eq!(field(column_schema, id, "position"), &Value::Int32(1));
        let name = &columns[1];
        assert_eq!(field(column_schema, name, "length"), &Value::Int32(40));
        assert_eq!(
            field(column_schema, name, "charsetName"),
            &Value::String("utf8mb4".into())
        );
        assert_eq!(
            field(column_schema, name, "defaultValueExpression"),
            &Value::String("x".into())
        );
        assert_eq!(
            field(column_schema, &columns[2], "enumValues"),
            &Value::Array(vec![Value::String("a".into()), Value::String("b".into())])
        );
        assert_eq!(field(column_schema, &columns[3], "scale"), &Value::Int32(3));

        // DROP TABLE of two tables: one record each, each keyed by its table's database.
        tables
            .apply("shop", "CREATE TABLE other.d (x INT)")
            .expect("create");
        let ddl = "DROP TABLE c, other.d";
        let changes = tables.apply("shop", ddl).expect("drop");
        let records = topic.records(&source, 1, "shop", ddl, &changes);
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1].key,
            Some(Value::Struct(vec![Value::String("other".into())]))
        );
        for r in &records {
            conforms(vs, r.value.as_ref().expect("value"), "drop");
        }

        // A database-level statement: one record, no table changes.
        let records = topic.records(&source, 1, "shop", "CREATE DATABASE x", &[]);
        assert_eq!(records.len(), 1);
        let value = records[0].value.as_ref().expect("value");
        assert_eq!(field(vs, value, "tableChanges"), &Value::Array(Vec::new()));
        conforms(vs, value, "db");
    }
}
