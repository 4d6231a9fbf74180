//! The in-memory schema against a real throwaway MariaDB: DDL applied to `Schema` must give
//! what the server itself reports (`information_schema.COLUMNS`, the primary key, the table
//! list), and so must the server's own `SHOW CREATE TABLE` text applied to a fresh `Schema`.

use std::collections::BTreeSet;

use anyhow::{ensure, Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use sluice::mysql::schema::{ColumnDef, Schema, TableDef};
use sluice_testcontainers::MariaDbServer;

/// DDL in the forms applications and migration tools write, run in order.
const DDL: &[&str] = &[
    "CREATE TABLE customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT, email VARCHAR(255) NOT NULL, \
     name VARCHAR(100) CHARACTER SET latin1 DEFAULT 'anon', \
     status ENUM('new','active','gone') NOT NULL DEFAULT 'new', score DECIMAL(7,2) DEFAULT 0.00, \
     created DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), flags SET('a','b') DEFAULT NULL, \
     PRIMARY KEY (id), UNIQUE KEY uk_email (email)) ENGINE=InnoDB",
    "CREATE TABLE orders (id BIGINT NOT NULL, customer_id INT UNSIGNED NOT NULL, total DOUBLE, \
     note TEXT, paid BOOLEAN NOT NULL DEFAULT FALSE, doc JSON, \
     shipped_at TIMESTAMP(6) NULL DEFAULT NULL, y YEAR, b BIT(3) DEFAULT b'101', g POINT, \
     u VARBINARY(16), t TIME(2), PRIMARY KEY (id, customer_id)) DEFAULT CHARSET=latin1",
    "CREATE TABLE tmp_x LIKE customers",
    "ALTER TABLE customers ADD COLUMN phone VARCHAR(20) AFTER email, \
     ADD COLUMN (age TINYINT UNSIGNED, zip CHAR(5) NOT NULL DEFAULT '00000'), \
     MODIFY name VARCHAR(150) CHARACTER SET utf8mb4 NOT NULL, \
     CHANGE COLUMN score rating DECIMAL(9,3) UNSIGNED, ALTER COLUMN status SET DEFAULT 'active', \
     DROP COLUMN flags, ALGORITHM=COPY",
    "ALTER TABLE orders DROP PRIMARY KEY, ADD PRIMARY KEY (id), \
     MODIFY total DECIMAL(12,2) NOT NULL DEFAULT 0, RENAME COLUMN note TO remarks, \
     ADD INDEX idx_c (customer_id)",
    "ALTER TABLE orders CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    "ALTER TABLE tmp_x RENAME TO archive, ADD COLUMN archived_at DATETIME FIRST",
    "RENAME TABLE archive TO archive2",
    "CREATE TABLE IF NOT EXISTS customers (x INT)",
    "CREATE TABLE gone (a INT)",
    "DROP TABLE IF EXISTS gone, never_there",
    "CREATE TABLE t_quoted (`select` INT, `Mixed Case` VARCHAR(4) DEFAULT 'it''s', \
     `n` NATIONAL VARCHAR(5), m MEDIUMINT(6) ZEROFILL, f FLOAT(7,3) NOT NULL DEFAULT 1.5) \
     COLLATE=latin1_bin",
    "ALTER TABLE t_quoted ADD COLUMN IF NOT EXISTS `select` INT, \
     ADD COLUMN IF NOT EXISTS extra INT NOT NULL DEFAULT -5 FIRST, DROP COLUMN IF EXISTS nope, \
     MODIFY `mixed case` VARCHAR(8) BINARY NOT NULL",
    "CREATE TABLE `Swap1` (a INT PRIMARY KEY)",
    "CREATE TABLE swap2 (b TEXT) CHARSET=utf8mb3",
    "RENAME TABLE `Swap1` TO s_tmp, swap2 TO `Swap1`, s_tmp TO swap2",
    "ALTER TABLE `Swap1` CONVERT TO CHARACTER SET utf8mb4",
    "TRUNCATE TABLE customers",
    "CREATE TABLE gen (a INT NOT NULL, b INT AS (a + 1) VIRTUAL, \
     c VARCHAR(20) GENERATED ALWAYS AS (CONCAT('x', a)) STORED, d INT INVISIBLE DEFAULT 3, \
     PRIMARY KEY (a)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 \
     PARTITION BY RANGE (a) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    "ALTER TABLE gen MODIFY d BIGINT NOT NULL DEFAULT 4 FIRST",
    "ALTER TABLE gen REORGANIZE PARTITION p1 INTO \
     (PARTITION p1 VALUES LESS THAN (20), PARTITION p2 VALUES LESS THAN MAXVALUE)",
    // Not here: `WITH SYSTEM VERSIONING`, whose hidden row_start/row_end columns (and the
    // primary key the server extends with row_end) the schema does not model.
];

/// What the server says about one column.
#[derive(Debug)]
struct ServerColumn {
    name: String,
    position: u32,
    data_type: String,
    column_type: String,
    nullable: bool,
    default: Option<String>,
    charset: Option<String>,
    char_length: Option<u64>,
    precision: Option<u64>,
    scale: Option<u64>,
    datetime_precision: Option<u64>,
    extra: String,
}

async fn server_columns(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<ServerColumn>> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, \
             COLUMN_DEFAULT, CHARACTER_SET_NAME, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, \
             NUMERIC_SCALE, DATETIME_PRECISION, EXTRA \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await?;
    rows.into_iter()
        .map(|row| {
            let text = |i: usize| -> Result<Option<String>> {
                row.get_opt::<Option<String>, _>(i)
                    .context("column missing")?
                    .context("not text")
            };
            let num = |i: usize| -> Result<Option<u64>> {
                row.get_opt::<Option<u64>, _>(i)
                    .context("column missing")?
                    .context("not a number")
            };
            Ok(ServerColumn {
                name: text(0)?.unwrap_or_default(),
                position: u32::try_from(num(1)?.unwrap_or(0))?,
                data_type: text(2)?.unwrap_or_default(),
                column_type: text(3)?.unwrap_or_default(),
                nullable: text(4)?.as_deref() == Some("YES"),
                default: text(5)?,
                charset: text(6)?,
                char_length: num(7)?,
                precision: num(8)?,
                scale: num(9)?,
                datetime_precision: num(10)?,
                extra: text(11)?.unwrap_or_default(),
            })
        })
        .collect()
}

async fn server_primary_key(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<String>> {
    Ok(conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await?)
}

/// The server's `COLUMN_DEFAULT` (MariaDB: an SQL expression, `'x'` for strings, `NULL`) in
/// the schema's form.
fn server_default(text: Option<&str>) -> Option<String> {
    let t = text?;
    if t.eq_ignore_ascii_case("NULL") {
        return None;
    }
    if t.to_ascii_lowercase().starts_with("current_timestamp") {
        return Some("CURRENT_TIMESTAMP".into());
    }
    if t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
        return Some(t[1..t.len() - 1].replace("''", "'").replace("\\\\", "\\"));
    }
    Some(t.to_string())
}

fn same_default(ours: Option<&str>, server: Option<&str>) -> bool {
    match (ours, server) {
        (Some(a), Some(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        },
        (a, b) => a == b,
    }
}

/// The server's DATA_TYPE for one of the schema's types (MariaDB spellings).
fn server_type(c: &ColumnDef) -> String {
    match c.type_name.as_str() {
        "BOOLEAN" => "tinyint".into(),
        "JSON" => "longtext".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// Compare one table of the schema with the server's own description; every difference is
/// listed.
fn compare(table: &TableDef, server: &[ServerColumn], server_pk: &[String]) -> Vec<String> {
    let mut diffs = Vec::new();
    let id = format!("{}.{}", table.database, table.name);
    let ours: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let theirs: Vec<&str> = server.iter().map(|c| c.name.as_str()).collect();
    if ours != theirs {
        diffs.push(format!("{id}: columns {ours:?}, server {theirs:?}"));
        return diffs;
    }
    if table.primary_key != server_pk {
        diffs.push(format!(
            "{id}: primary key {:?}, server {server_pk:?}",
            table.primary_key
        ));
    }
    for (c, s) in table.columns.iter().zip(server) {
        let mut d = |what: &str, ours: String, theirs: String| {
            if ours != theirs {
                diffs.push(format!("{id}.{}: {what} {ours}, server {theirs}", c.name));
            }
        };
        d("position", c.position.to_string(), s.position.to_string());
        d("type", server_type(c), s.data_type.clone());
        d(
            "unsigned",
            c.unsigned.to_string(),
            s.column_type.contains("unsigned").to_string(),
        );
        d("nullable", c.nullable.to_string(), s.nullable.to_string());
        d(
            "auto_increment",
            c.auto_increment.to_string(),
            s.extra.contains("auto_increment").to_string(),
        );
        let theirs_default = server_default(s.default.as_deref());
        if !same_default(c.default.as_deref(), theirs_default.as_deref()) {
            d(
                "default",
                format!("{:?}", c.default),
                format!("{theirs_default:?} ({:?})", s.default),
            );
        }
        if c.is_character() {
            d(
                "charset",
                format!("{:?}", c.charset),
                format!("{:?}", s.charset),
            );
        }
        match c.type_name.as_str() {
            "CHAR" | "VARCHAR" | "BINARY" | "VARBINARY" => d(
                "length",
                format!("{:?}", c.length.or(Some(1))),
                format!("{:?}", s.char_length),
            ),
            "DECIMAL" => {
                d(
                    "precision",
                    format!("{:?}", c.length.or(Some(10))),
                    format!("{:?}", s.precision),
                );
                d(
                    "scale",
                    format!("{:?}", c.scale.map(u64::from).or(Some(0))),
                    format!("{:?}", s.scale),
                );
            }
            "TIME" | "DATETIME" | "TIMESTAMP" => d(
                "fractional digits",
                format!("{:?}", c.length.or(Some(0))),
                format!("{:?}", s.datetime_precision),
            ),
            "ENUM" | "SET" => {
                let values: Vec<String> = c.enum_values.iter().map(|v| format!("'{v}'")).collect();
                d(
                    "values",
                    format!("{}({})", server_type(c), values.join(",")),
                    s.column_type.clone(),
                );
            }
            _ => {
                // An explicit display width / precision shows in COLUMN_TYPE.
                if let Some(len) = c.length {
                    let shown = match c.scale {
                        Some(scale) => format!("({len},{scale})"),
                        None => format!("({len})"),
                    };
                    if !s.column_type.contains(&shown) {
                        d("width", shown, s.column_type.clone());
                    }
                }
            }
        }
    }
    diffs
}

async fn show_create(conn: &mut Conn, table: &str) -> Result<String> {
    let row: Row = conn
        .query_first(format!("SHOW CREATE TABLE `{}`", table.replace('`', "``")))
        .await?
        .context("SHOW CREATE TABLE returned nothing")?;
    row.get_opt::<String, _>(1)
        .context("no Create Table column")?
        .context("Create Table is not text")
}

#[tokio::test]
async fn ddl_applied_to_the_schema_matches_the_server() -> Result<()> {
    let server = MariaDbServer::start()?;
    let db = server.create_database("schema").await?;
    let mut conn = server.connect(&db).await?;
    let mut schema = Schema::new();

    // The database's character set, as the binlog would carry it.
    let set_charset =
        format!("ALTER DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci");
    conn.query_drop(&set_charset).await?;
    schema.apply(&db, &set_charset)?;

    for ddl in DDL {
        conn.query_drop(*ddl)
            .await
            .with_context(|| format!("server refused {ddl}"))?;
        schema
            .apply(&db, ddl)
            .with_context(|| format!("schema refused {ddl}"))?;
    }

    let server_tables: BTreeSet<String> = conn
        .query::<String, _>("SHOW TABLES")
        .await?
        .into_iter()
        .collect();
    let ours: BTreeSet<String> = schema
        .tables()
        .filter(|t| t.database == db)
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(ours, server_tables, "tables");

    let mut diffs = Vec::new();
    let mut from_show_create = Schema::new();
    for name in &server_tables {
        let columns = server_columns(&mut conn, &db, name).await?;
        let pk = server_primary_key(&mut conn, &db, name).await?;
        let table = schema.table(&db, name).context("table in schema")?;
        diffs.extend(compare(table, &columns, &pk));

        // The server's SHOW CREATE TABLE text, applied to a fresh schema (the snapshot path).
        let text = show_create(&mut conn, name).await?;
        from_show_create
            .apply(&db, &text)
            .with_context(|| format!("schema refused SHOW CREATE TABLE output {text}"))?;
        let reparsed = from_show_create
            .table(&db, name)
            .context("table from SHOW CREATE TABLE")?;
        diffs.extend(
            compare(reparsed, &columns, &pk)
                .into_iter()
                .map(|d| format!("SHOW CREATE TABLE: {d}")),
        );
    }
    ensure!(
        diffs.is_empty(),
        "schema differs from the server:\n{}",
        diffs.join("\n")
    );
    Ok(())
}
