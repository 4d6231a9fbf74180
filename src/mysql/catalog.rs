//! What the server says about its databases and tables: the captured tables, and their
//! `SHOW CREATE TABLE` text for the in-memory schema.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use sluice_config::MySqlConnectorConfig;

use super::schema::{ColumnDef, TableDef};

/// `` `name` `` with backticks doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Every base table the filters capture, as `(database, table)`, in name order.
pub async fn captured_tables(
    conn: &mut Conn,
    config: &MySqlConnectorConfig,
) -> Result<Vec<(String, String)>, mysql_async::Error> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
              WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(db, table)| config.include_table(db, table))
        .collect())
}

/// `SHOW CREATE TABLE db.table`.
pub async fn show_create_table(
    conn: &mut Conn,
    database: &str,
    table: &str,
) -> Result<String, mysql_async::Error> {
    let row: Option<(String, String)> = conn
        .query_first(format!(
            "SHOW CREATE TABLE {}.{}",
            quote_ident(database),
            quote_ident(table)
        ))
        .await?;
    Ok(row.map(|(_, ddl)| ddl).unwrap_or_default())
}

/// A table's current definition from `information_schema` (used where no DDL history
/// describes the table: a table the schema has never seen).
pub async fn load_table_def(
    conn: &mut Conn,
    database: &str,
    table: &str,
) -> Result<Option<TableDef>, mysql_async::Error> {
    type ColumnRow = (
        String,
        u32,
        Option<String>,
        String,
        String,
        Option<u64>,
        Option<u64>,
        Option<u64>,
        Option<u64>,
        Option<String>,
        String,
        String,
    );
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, UPPER(DATA_TYPE),
                    CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION,
                    CHARACTER_SET_NAME, COLUMN_TYPE, EXTRA
               FROM information_schema.COLUMNS
              WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (database, table),
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let primary_key: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
              WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
              ORDER BY ORDINAL_POSITION",
            (database, table),
        )
        .await?;
    let columns = rows
        .into_iter()
        .map(
            |(
                name,
                position,
                default,
                nullable,
                type_name,
                char_len,
                precision,
                scale,
                dt_precision,
                charset,
                column_type,
                extra,
            )| {
                let lower = column_type.to_ascii_lowercase();
                let (length, scale) = match type_name.as_str() {
                    "DECIMAL" | "NUMERIC" => (precision, scale.map(|s| s as u32)),
                    "BIT" => (precision, None),
                    "TIME" | "DATETIME" | "TIMESTAMP" => (None, dt_precision.map(|s| s as u32)),
                    "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => {
                        (display_width(&lower), None)
                    }
                    _ => (char_len, None),
                };
                ColumnDef {
                    name,
                    position,
                    type_name: type_name.clone(),
                    length,
                    scale,
                    unsigned: lower.contains("unsigned"),
                    nullable: nullable.eq_ignore_ascii_case("YES"),
                    auto_increment: extra.to_ascii_lowercase().contains("auto_increment"),
                    generated: {
                        let e = extra.to_ascii_uppercase();
                        e.contains("VIRTUAL") || e.contains("STORED") || e.contains("PERSISTENT")
                    },
                    comment: None,
                    default: default.and_then(|d| default_literal(&d)),
                    charset,
                    enum_values: if matches!(type_name.as_str(), "ENUM" | "SET") {
                        enum_values(&column_type)
                    } else {
                        Vec::new()
                    },
                }
            },
        )
        .collect();
    Ok(Some(TableDef {
        database: database.to_owned(),
        name: table.to_owned(),
        columns,
        primary_key,
        charset: None,
    }))
}

/// `int(11)` → 11.
fn display_width(column_type: &str) -> Option<u64> {
    let open = column_type.find('(')?;
    let close = column_type[open..].find(')')? + open;
    column_type[open + 1..close].parse().ok()
}

/// MariaDB's `COLUMN_DEFAULT`: `NULL` (no default), `'text'` (quoted literal), a number, or
/// an expression (`current_timestamp()`), which has no literal value.
fn default_literal(raw: &str) -> Option<String> {
    if raw.eq_ignore_ascii_case("NULL") {
        return None;
    }
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    if raw.contains('(') {
        return None;
    }
    Some(raw.to_owned())
}

/// `enum('a','b''c')` → `["a", "b'c"]`.
fn enum_values(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let mut values = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    let mut chars = column_type[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match (in_quote, c) {
            (false, '\'') => in_quote = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                current.push('\'');
            }
            (true, '\'') => {
                in_quote = false;
                values.push(std::mem::take(&mut current));
            }
            (true, '\\') => {
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            (true, c) => current.push(c),
            (false, ')') => break,
            (false, _) => {}
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_type_details() {
        assert_eq!(
            enum_values("enum('sad','ok','happy')"),
            ["sad", "ok", "happy"]
        );
        assert_eq!(enum_values("set('a','b''c')"), ["a", "b'c"]);
        assert_eq!(display_width("tinyint(1)"), Some(1));
        assert_eq!(default_literal("NULL"), None);
        assert_eq!(default_literal("'it''s'").as_deref(), Some("it's"));
        assert_eq!(default_literal("1").as_deref(), Some("1"));
        assert_eq!(default_literal("current_timestamp()"), None);
    }
}
