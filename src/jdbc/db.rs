//! The database side of the JDBC source: one connection (Postgres through `tokio-postgres`,
//! MySQL/MariaDB through `mysql_async`), the catalog (tables, columns), the database's clock,
//! and result sets read as text in chunks.
//!
//! ```text
//! connect (connection.attempts × connection.backoff.ms) ──> Db
//!   Db::tables / Db::describe  ── catalog ──> Column (Kind, nullable)
//!   Db::now_micros             ── the upper bound of the timestamp modes, on the db's clock
//!   Db::query ──> Rows::next_chunk(batch.max.rows) ──> Vec<Vec<Cell>>   (streamed from the
//!                                                    socket, never a whole table in memory)
//! ```
//! Sessions run in UTC so timestamps print and compare the same way in both databases.

use std::pin::Pin;
use std::time::Duration;

use futures::TryStreamExt;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use sluice_config::jdbc::{JdbcDatabase, JdbcSourceConfig};
use sluice_decoders::pgvalue::{Decimal, PgType};
use tokio_util::sync::CancellationToken;

use super::schema::{Cell, Column, Kind};
use super::sql::{days_from_civil, string_literal, Dialect, Source};
use super::JdbcError;
use crate::postgres::replication::{ConnectParams, SslMode};

/// An open connection.
pub enum Db {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

/// Box a driver error as a cause.
type Cause = Box<dyn std::error::Error + Send + Sync>;

fn pg_params(config: &JdbcSourceConfig) -> ConnectParams {
    let url = &config.url;
    let sslmode = match url.params.get("sslmode").map(String::as_str) {
        Some("disable") => SslMode::Disable,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        _ => SslMode::Prefer,
    };
    ConnectParams {
        host: url.host.clone(),
        port: url.port,
        user: config.effective_user().unwrap_or("postgres").to_string(),
        password: config.effective_password().map(|s| s.expose().to_string()),
        dbname: url.dbname.clone(),
        sslmode,
        sslrootcert: url.params.get("sslrootcert").map(Into::into),
        sslcert: url.params.get("sslcert").map(Into::into),
        sslkey: url.params.get("sslkey").map(Into::into),
        application_name: format!("sluice-{}", config.name),
        options: vec![
            ("DateStyle".into(), "ISO, MDY".into()),
            ("IntervalStyle".into(), "postgres".into()),
            ("TimeZone".into(), "UTC".into()),
            ("extra_float_digits".into(), "3".into()),
            ("bytea_output".into(), "hex".into()),
        ],
        connect_timeout: Duration::from_secs(30),
    }
}

async fn connect_once(config: &JdbcSourceConfig) -> Result<Db, Cause> {
    match config.url.database {
        JdbcDatabase::Postgres => {
            let client = crate::postgres::tls::connect_sql(&pg_params(config)).await?;
            Ok(Db::Pg(client))
        }
        JdbcDatabase::MySql => {
            let url = &config.url;
            let opts = mysql_async::OptsBuilder::default()
                .ip_or_hostname(url.host.clone())
                .tcp_port(url.port)
                .user(config.effective_user().map(str::to_string))
                .pass(config.effective_password().map(|s| s.expose().to_string()))
                .db_name((!url.dbname.is_empty()).then(|| url.dbname.clone()))
                .prefer_socket(false);
            let mut conn = mysql_async::Conn::new(opts).await?;
            conn.query_drop("SET time_zone = '+00:00'").await?;
            Ok(Db::My(conn))
        }
    }
}

/// Connect, trying `connection.attempts` times `connection.backoff.ms` apart. `Ok(None)`:
/// shutdown came first.
pub async fn connect(
    config: &JdbcSourceConfig,
    shutdown: &CancellationToken,
) -> Result<Option<Db>, JdbcError> {
    let attempts = config.connection_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match connect_once(config).await {
            Ok(db) => return Ok(Some(db)),
            Err(source) if attempt >= attempts => {
                return Err(JdbcError::Connect {
                    url: redacted_url(config),
                    user: config.effective_user().unwrap_or("").to_string(),
                    attempts,
                    source,
                })
            }
            Err(e) => {
                tracing::warn!(attempt, attempts, error = %crate::postgres::connector::error_chain(&*e), "cannot connect to the database; retrying in connection.backoff.ms");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(None),
                    _ = tokio::time::sleep(Duration::from_millis(config.connection_backoff_ms)) => {}
                }
            }
        }
    }
}

/// `host:port/db` of the URL, without credentials.
pub fn redacted_url(config: &JdbcSourceConfig) -> String {
    let u = &config.url;
    format!("{}:{}/{}", u.host, u.port, u.dbname)
}

/// Whether a driver error means the connection is gone (reconnect) rather than a bad statement.
pub fn is_connection_error(e: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
        return match pg.code() {
            None => pg.is_closed() || pg.as_db_error().is_none(),
            Some(code) => {
                let c = code.code();
                c.starts_with("08") || c.starts_with("57P") || c.starts_with("53")
            }
        };
    }
    if let Some(my) = e.downcast_ref::<mysql_async::Error>() {
        return my.is_fatal();
    }
    false
}

/// A table found in the catalog: schema (Postgres) or database (MySQL), and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl Db {
    pub fn database(&self) -> JdbcDatabase {
        match self {
            Db::Pg(_) => JdbcDatabase::Postgres,
            Db::My(_) => JdbcDatabase::MySql,
        }
    }

    /// Rows of a catalog query as text (small results only).
    async fn text_rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Cause> {
        match self {
            Db::Pg(client) => {
                let mut out = Vec::new();
                for m in client.simple_query(sql).await? {
                    if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
                        out.push(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_string))
                                .collect(),
                        );
                    }
                }
                Ok(out)
            }
            Db::My(conn) => {
                let rows: Vec<mysql_async::Row> = conn.query(sql).await?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        r.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                mysql_async::Value::NULL => None,
                                mysql_async::Value::Bytes(b) => {
                                    Some(String::from_utf8_lossy(&b).into_owned())
                                }
                                other => Some(other.as_sql(true).trim_matches('\'').to_string()),
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// The database's current time, microseconds since the epoch (UTC).
    pub async fn now_micros(&mut self) -> Result<i64, JdbcError> {
        let sql = match self {
            Db::Pg(_) => "SELECT now()",
            Db::My(_) => "SELECT UTC_TIMESTAMP(6)",
        };
        let rows = self.text_rows(sql).await.map_err(|source| JdbcError::Sql {
            what: "reading the database's current time".into(),
            source,
        })?;
        rows.first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|t| parse_timestamp(&t).ok())
            .ok_or_else(|| JdbcError::Config("the database did not return its current time".into()))
    }

    /// Tables of the types in `table.types` under `schema.pattern` / `catalog.pattern`.
    pub async fn tables(&mut self, config: &JdbcSourceConfig) -> Result<Vec<TableName>, JdbcError> {
        let db = self.database();
        let sql = match db {
            JdbcDatabase::Postgres => {
                let mut kinds = Vec::new();
                for t in &config.table_types {
                    match t.as_str() {
                        "TABLE" => kinds.extend(["'r'", "'p'"]),
                        "PARTITIONED TABLE" => kinds.push("'p'"),
                        "VIEW" => kinds.push("'v'"),
                        "MATERIALIZED VIEW" => kinds.push("'m'"),
                        "FOREIGN TABLE" => kinds.push("'f'"),
                        _ => {}
                    }
                }
                if kinds.is_empty() {
                    return Ok(Vec::new());
                }
                let schema = match &config.schema_pattern {
                    Some(p) => format!(" AND n.nspname LIKE {}", string_literal(db, p)),
                    None => String::new(),
                };
                format!(
                    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ({}) AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'{schema} \
                     AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1, 2",
                    kinds.join(", ")
                )
            }
            JdbcDatabase::MySql => {
                let mut kinds = Vec::new();
                for t in &config.table_types {
                    match t.as_str() {
                        "TABLE" => kinds.push("'BASE TABLE'"),
                        "VIEW" => kinds.push("'VIEW'"),
                        "SYSTEM VIEW" => kinds.push("'SYSTEM VIEW'"),
                        _ => {}
                    }
                }
                if kinds.is_empty() {
                    return Ok(Vec::new());
                }
                let catalog = match (&config.catalog_pattern, config.url.dbname.is_empty()) {
                    (Some(p), _) => format!("TABLE_SCHEMA LIKE {}", string_literal(db, p)),
                    (None, false) => "TABLE_SCHEMA = DATABASE()".to_string(),
                    (None, true) => "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')".to_string(),
                };
                format!(
                    "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE {catalog} AND TABLE_TYPE IN ({}) ORDER BY 1, 2",
                    kinds.join(", ")
                )
            }
        };
        let rows = self
            .text_rows(&sql)
            .await
            .map_err(|source| JdbcError::Sql {
                what: "listing the tables (check the user's rights on the catalog)".into(),
                source,
            })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match r.as_slice() {
                [Some(s), Some(t)] => Some(TableName {
                    schema: s.clone(),
                    table: t.clone(),
                }),
                _ => None,
            })
            .collect())
    }

    /// The columns a poll of `source` returns, in order.
    pub async fn describe(
        &mut self,
        dialect: &Dialect,
        source: &Source,
    ) -> Result<Vec<Column>, Cause> {
        match self {
            Db::Pg(client) => {
                let statement = client
                    .prepare(&super::sql::base_select(dialect, source))
                    .await?;
                let mut columns: Vec<Column> = statement
                    .columns()
                    .iter()
                    .map(|c| {
                        let oid = c.type_().oid();
                        Column {
                            name: c.name().to_string(),
                            kind: pg_kind(oid, -1),
                            nullable: true,
                            db_type: c.type_().name().to_string(),
                        }
                    })
                    .collect();
                if let Source::Table { schema, table } = source {
                    let qualified = format!(
                        "{}.{}",
                        Dialect {
                            database: JdbcDatabase::Postgres,
                            quote: sluice_config::jdbc::QuoteIdentifiers::Always
                        }
                        .ident(schema),
                        Dialect {
                            database: JdbcDatabase::Postgres,
                            quote: sluice_config::jdbc::QuoteIdentifiers::Always
                        }
                        .ident(table)
                    );
                    let sql = format!(
                        "SELECT a.attname, a.atttypid::int8, a.atttypmod, a.attnotnull FROM pg_catalog.pg_attribute a \
                         WHERE a.attrelid = {}::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                        string_literal(JdbcDatabase::Postgres, &qualified)
                    );
                    for m in client.simple_query(&sql).await? {
                        let tokio_postgres::SimpleQueryMessage::Row(row) = m else {
                            continue;
                        };
                        let (Some(name), Some(oid), Some(typmod), Some(notnull)) =
                            (row.get(0), row.get(1), row.get(2), row.get(3))
                        else {
                            continue;
                        };
                        if let Some(c) = columns.iter_mut().find(|c| c.name == name) {
                            c.nullable = notnull != "t";
                            c.kind =
                                pg_kind(oid.parse().unwrap_or(0), typmod.parse().unwrap_or(-1));
                        }
                    }
                }
                Ok(columns)
            }
            Db::My(conn) => {
                let sql = format!("{} LIMIT 0", super::sql::base_select(dialect, source));
                let result = conn.query_iter(sql).await?;
                let columns = result
                    .columns()
                    .map(|cols| cols.iter().map(my_column).collect())
                    .unwrap_or_default();
                result.drop_result().await?;
                Ok(columns)
            }
        }
    }

    /// Run a poll's statement; rows are read with [`Rows::next_chunk`].
    pub async fn query(&mut self, sql: &str) -> Result<Rows<'_>, Cause> {
        match self {
            Db::Pg(client) => Ok(Rows {
                stream: RowStream::Pg(Box::pin(client.simple_query_raw(sql).await?)),
                done: false,
            }),
            Db::My(conn) => Ok(Rows {
                stream: RowStream::My(conn.query_iter(sql.to_string()).await?),
                done: false,
            }),
        }
    }
}

/// A result set being read.
pub struct Rows<'a> {
    stream: RowStream<'a>,
    /// The end was reached; the driver's stream must not be polled again.
    done: bool,
}

enum RowStream<'a> {
    Pg(Pin<Box<tokio_postgres::SimpleQueryStream>>),
    My(mysql_async::QueryResult<'a, 'static, mysql_async::TextProtocol>),
}

/// One row's values as text (`None`: NULL).
pub type TextRow = Vec<Option<Vec<u8>>>;

impl Rows<'_> {
    /// Up to `n` rows; empty at the end of the result.
    pub async fn next_chunk(&mut self, n: usize) -> Result<Vec<TextRow>, Cause> {
        let mut out = Vec::with_capacity(n.min(1024));
        while out.len() < n && !self.done {
            match &mut self.stream {
                RowStream::Pg(stream) => match stream.try_next().await? {
                    Some(tokio_postgres::SimpleQueryMessage::Row(row)) => out.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(|s| s.as_bytes().to_vec()))
                            .collect(),
                    ),
                    Some(_) => {}
                    None => self.done = true,
                },
                RowStream::My(result) => match result.next().await? {
                    Some(row) => out.push(
                        row.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                mysql_async::Value::NULL => None,
                                mysql_async::Value::Bytes(b) => Some(b),
                                other => Some(other.as_sql(true).into_bytes()),
                            })
                            .collect(),
                    ),
                    None => self.done = true,
                },
            }
        }
        Ok(out)
    }
}

/// The kind of a Postgres type (`typmod` carries numeric precision and scale).
fn pg_kind(oid: u32, typmod: i32) -> Kind {
    match PgType::from_builtin_oid(oid) {
        Some(PgType::Bool) => Kind::Bool,
        Some(PgType::Int2) => Kind::Int16,
        Some(PgType::Int4) => Kind::Int32,
        Some(PgType::Int8 | PgType::Oid) => Kind::Int64,
        Some(PgType::Float4) => Kind::Float32,
        Some(PgType::Float8 | PgType::Money) => Kind::Float64,
        Some(PgType::Numeric) => {
            let (precision, scale) = if typmod >= 4 {
                let t = typmod - 4;
                (((t >> 16) & 0xffff) as u32, Some((t & 0xffff) as u32))
            } else {
                (0, None)
            };
            Kind::Decimal {
                precision,
                scale,
                numeric: true,
            }
        }
        Some(PgType::Bytea) => Kind::Bytes,
        Some(PgType::Date) => Kind::Date,
        Some(PgType::Time | PgType::TimeTz) => Kind::Time,
        Some(PgType::Timestamp | PgType::TimestampTz) => Kind::Timestamp,
        _ => Kind::String,
    }
}

fn my_column(c: &mysql_async::Column) -> Column {
    let flags = c.flags();
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = c.character_set() == 63;
    let len = c.column_length();
    use ColumnType::*;
    let kind = match c.column_type() {
        MYSQL_TYPE_TINY if len == 1 => Kind::Bool,
        MYSQL_TYPE_TINY if unsigned => Kind::Int16,
        MYSQL_TYPE_TINY => Kind::Int8,
        MYSQL_TYPE_SHORT if unsigned => Kind::Int32,
        MYSQL_TYPE_SHORT => Kind::Int16,
        MYSQL_TYPE_INT24 => Kind::Int32,
        MYSQL_TYPE_LONG if unsigned => Kind::Int64,
        MYSQL_TYPE_LONG => Kind::Int32,
        // An unsigned BIGINT does not fit int64: a Decimal keeps every value.
        MYSQL_TYPE_LONGLONG if unsigned => Kind::Decimal {
            precision: 20,
            scale: Some(0),
            numeric: false,
        },
        MYSQL_TYPE_LONGLONG => Kind::Int64,
        MYSQL_TYPE_FLOAT => Kind::Float32,
        MYSQL_TYPE_DOUBLE => Kind::Float64,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let scale = u32::from(c.decimals());
            let precision = len
                .saturating_sub(u32::from(scale > 0))
                .saturating_sub(u32::from(!unsigned));
            Kind::Decimal {
                precision,
                scale: Some(scale),
                numeric: false,
            }
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Kind::Time,
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => Kind::Timestamp,
        MYSQL_TYPE_YEAR => Kind::Int32,
        MYSQL_TYPE_BIT if len == 1 => Kind::Bool,
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => Kind::Bytes,
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
            if binary =>
        {
            Kind::Bytes
        }
        _ => Kind::String,
    };
    Column {
        name: c.name_str().into_owned(),
        kind,
        nullable: !flags.contains(ColumnFlags::NOT_NULL_FLAG),
        db_type: format!("{:?}", c.column_type())
            .trim_start_matches("MYSQL_TYPE_")
            .to_ascii_lowercase(),
    }
}

/// Decode one non-NULL text value of a column of `kind`, as `database` prints it.
pub fn decode_cell(database: JdbcDatabase, kind: &Kind, text: &[u8]) -> Result<Cell, &'static str> {
    let s = || std::str::from_utf8(text).map_err(|_| "the value is not valid UTF-8");
    Ok(match kind {
        Kind::Bool => match text {
            b"t" | b"true" | b"1" | b"\x01" => Cell::Bool(true),
            b"f" | b"false" | b"0" | b"\x00" => Cell::Bool(false),
            _ => return Err("not a boolean"),
        },
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => {
            Cell::Int(s()?.trim().parse().map_err(|_| "not an integer")?)
        }
        Kind::Float32 | Kind::Float64 => {
            let t = s()?.trim();
            // Postgres money prints a currency symbol and grouping.
            let cleaned: String = t.chars().filter(|c| !matches!(c, '$' | ',')).collect();
            Cell::Float(match cleaned.as_str() {
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other.parse().map_err(|_| "not a number")?,
            })
        }
        Kind::Decimal { .. } => Cell::Dec(
            Decimal::parse(s()?.trim())
                .map_err(|_| "not a finite decimal (NaN and infinity have no Connect Decimal)")?,
        ),
        Kind::String => Cell::Text(String::from_utf8_lossy(text).into_owned()),
        Kind::Bytes => match database {
            JdbcDatabase::Postgres => Cell::Bytes(decode_pg_hex(text)?),
            JdbcDatabase::MySql => Cell::Bytes(text.to_vec()),
        },
        Kind::Date => {
            let t = s()?;
            if t.starts_with("0000-00-00") {
                Cell::Null
            } else {
                let days = parse_date(t)?;
                Cell::Date(i32::try_from(days).map_err(|_| "date out of range")?)
            }
        }
        Kind::Time => Cell::Time(parse_time(s()?)?),
        Kind::Timestamp => {
            let t = s()?;
            if t.starts_with("0000-00-00") {
                Cell::Null
            } else {
                Cell::Timestamp(parse_timestamp(t)?)
            }
        }
    })
}

fn decode_pg_hex(text: &[u8]) -> Result<Vec<u8>, &'static str> {
    let hex = text
        .strip_prefix(b"\\x")
        .ok_or("bytea is not in hex format")?;
    if hex.len() % 2 != 0 {
        return Err("odd number of hex digits");
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => Err("not a hex digit"),
    };
    hex.chunks(2)
        .map(|p| Ok(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, &'static str> {
    s.parse().map_err(|_| "not a date/time")
}

/// `YYYY-MM-DD` → days since the epoch.
pub fn parse_date(s: &str) -> Result<i64, &'static str> {
    if s.contains("infinity") || s.ends_with(" BC") {
        return Err("infinite and BC dates have no Connect value");
    }
    let mut parts = s.trim().splitn(3, '-');
    let y: i64 = num(parts.next().unwrap_or(""))?;
    let m: u32 = num(parts.next().unwrap_or(""))?;
    let d: u32 = num(parts.next().unwrap_or("").get(..2).unwrap_or(""))?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err("not a date");
    }
    Ok(days_from_civil(y, m, d))
}

/// `[-]H+:MM:SS[.ffffff][±HH[:MM]]` → microseconds (offset applied: the result is UTC).
pub fn parse_time(s: &str) -> Result<i64, &'static str> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    // A zone offset starts at the first + or - after the seconds.
    let (clock, offset_secs) = match s.find(['+', '-']) {
        Some(i) => {
            let (c, z) = s.split_at(i);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let mut zp = z[1..].split(':');
            let h: i64 = num(zp.next().unwrap_or("0"))?;
            let m: i64 = zp.next().map(num).transpose()?.unwrap_or(0);
            (c, sign * (h * 3600 + m * 60))
        }
        None => (s, 0),
    };
    let mut p = clock.splitn(3, ':');
    let h: i64 = num(p.next().unwrap_or(""))?;
    let m: i64 = num(p.next().unwrap_or(""))?;
    let sec = p.next().unwrap_or("0");
    let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let whole: i64 = num(whole)?;
    let mut micros: i64 = 0;
    for (i, c) in frac.chars().take(6).enumerate() {
        let d = c.to_digit(10).ok_or("not a time")? as i64;
        micros += d * 10i64.pow(5 - i as u32);
    }
    let total = ((h * 3600 + m * 60 + whole) - offset_secs) * 1_000_000 + micros;
    Ok(if negative { -total } else { total })
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][±HH[:MM]]` → microseconds since the epoch (UTC).
pub fn parse_timestamp(s: &str) -> Result<i64, &'static str> {
    let s = s.trim();
    if s.contains("infinity") || s.ends_with(" BC") {
        return Err("infinite and BC timestamps have no Connect value");
    }
    let (date, time) = s.split_once([' ', 'T']).ok_or("not a timestamp")?;
    let days = parse_date(date)?;
    Ok(days * 86_400_000_000 + parse_time(time)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_of_both_databases() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:01.5"), Ok(1_500_000));
        assert_eq!(parse_timestamp("1970-01-01 01:00:00+01"), Ok(0));
        assert_eq!(
            parse_timestamp("2023-11-14 22:13:20.123456+00"),
            Ok(1_700_000_000_123_456)
        );
        assert_eq!(
            parse_time("-838:59:59"),
            Ok(-(838 * 3600 + 59 * 60 + 59) * 1_000_000)
        );
        assert_eq!(parse_date("1969-12-31"), Ok(-1));
        assert!(parse_timestamp("infinity").is_err());
        assert_eq!(
            decode_cell(JdbcDatabase::Postgres, &Kind::Bytes, b"\\x00ff"),
            Ok(Cell::Bytes(vec![0, 255]))
        );
        assert_eq!(
            decode_cell(
                JdbcDatabase::MySql,
                &Kind::Timestamp,
                b"0000-00-00 00:00:00"
            ),
            Ok(Cell::Null)
        );
        assert_eq!(
            decode_cell(JdbcDatabase::MySql, &Kind::Bool, b"1"),
            Ok(Cell::Bool(true))
        );
        assert!(decode_cell(JdbcDatabase::Postgres, &Kind::Int32, b"x").is_err());
    }
}
