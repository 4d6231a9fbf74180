//! The SQL a JDBC source task sends: identifier quoting per database and
//! `quote.sql.identifiers`, literals for the stored offsets, and each mode's query in
//! kafka-connect-jdbc's shapes.
//!
//! ```text
//! incrementing            SELECT * FROM t WHERE inc > N ORDER BY inc ASC
//! timestamp               ... WHERE ts > 'from' AND ts < 'to' ORDER BY ts ASC
//! timestamp+incrementing  ... WHERE ts < 'to' AND ((ts = 'from' AND inc > N) OR ts > 'from')
//!                             ORDER BY ts, inc ASC
//! ```
//! `ts` is `COALESCE(ts1, ts2, ...)` when `timestamp.column.name` lists several columns. A custom
//! `query` is wrapped as a derived table (`SELECT * FROM (query) AS sluice_query WHERE ...`), so
//! a query with its own WHERE, JOIN or GROUP BY keeps its meaning. `query.suffix` ends every
//! statement. Offsets are inlined as literals (integers and timestamps only, never row text).

use sluice_config::jdbc::{JdbcDatabase, JdbcMode, QuoteIdentifiers};

/// Quotes identifiers the way the database and `quote.sql.identifiers` want.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub database: JdbcDatabase,
    pub quote: QuoteIdentifiers,
}

impl Dialect {
    /// One identifier, quoted (`"a""b"` / `` `a``b` ``) unless `quote.sql.identifiers=never`.
    pub fn ident(&self, name: &str) -> String {
        match (self.quote, self.database) {
            (QuoteIdentifiers::Never, _) => name.to_string(),
            (QuoteIdentifiers::Always, JdbcDatabase::Postgres) => {
                format!("\"{}\"", name.replace('"', "\"\""))
            }
            (QuoteIdentifiers::Always, JdbcDatabase::MySql) => {
                format!("`{}`", name.replace('`', "``"))
            }
        }
    }

    /// `schema.table`, each part quoted.
    pub fn table(&self, schema: &str, table: &str) -> String {
        if schema.is_empty() {
            self.ident(table)
        } else {
            format!("{}.{}", self.ident(schema), self.ident(table))
        }
    }
}

/// A string literal (for catalog lookups by name).
pub fn string_literal(database: JdbcDatabase, s: &str) -> String {
    match database {
        JdbcDatabase::Postgres => format!("'{}'", s.replace('\'', "''")),
        JdbcDatabase::MySql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
    }
}

/// What a poll reads from: a table, or the custom `query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Table { schema: String, table: String },
    Query(String),
}

/// The columns a mode compares, quoted.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub mode: JdbcMode,
    pub incrementing: Option<String>,
    pub timestamps: Vec<String>,
}

/// Bounds of one poll: the stored offset and the upper timestamp bound.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// Last incrementing value delivered (`-1` at the start, as kafka-connect-jdbc).
    pub incrementing: i64,
    /// Last timestamp delivered, microseconds since the epoch (UTC).
    pub from_micros: i64,
    /// `now() - timestamp.delay.interval.ms` as the database's clock says.
    pub to_micros: i64,
}

/// `SELECT * FROM <source>` without the mode's criteria (bulk mode, and describing columns).
pub fn base_select(dialect: &Dialect, source: &Source) -> String {
    match source {
        Source::Table { schema, table } => {
            format!("SELECT * FROM {}", dialect.table(schema, table))
        }
        Source::Query(q) => format!(
            "SELECT * FROM ({}) AS {}",
            q.trim().trim_end_matches(';'),
            dialect.ident("sluice_query")
        ),
    }
}

/// The statement of one poll.
pub fn poll_query(
    dialect: &Dialect,
    source: &Source,
    criteria: &Criteria,
    bounds: &Bounds,
    suffix: Option<&str>,
) -> String {
    let mut sql = match (source, criteria.mode) {
        // Bulk reads the query exactly as written.
        (Source::Query(q), JdbcMode::Bulk) => q.trim().trim_end_matches(';').to_string(),
        _ => base_select(dialect, source),
    };
    let ts = match criteria.timestamps.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        many => format!("COALESCE({})", many.join(", ")),
    };
    let inc = criteria.incrementing.clone().unwrap_or_default();
    let from = timestamp_literal(bounds.from_micros);
    let to = timestamp_literal(bounds.to_micros);
    let n = bounds.incrementing;
    match criteria.mode {
        JdbcMode::Bulk => {}
        JdbcMode::Incrementing => {
            sql.push_str(&format!(" WHERE {inc} > {n} ORDER BY {inc} ASC"));
        }
        JdbcMode::Timestamp => {
            sql.push_str(&format!(
                " WHERE {ts} > {from} AND {ts} < {to} ORDER BY {ts} ASC"
            ));
        }
        JdbcMode::TimestampIncrementing => {
            sql.push_str(&format!(
                " WHERE {ts} < {to} AND (({ts} = {from} AND {inc} > {n}) OR {ts} > {from}) ORDER BY {ts}, {inc} ASC"
            ));
        }
    }
    if let Some(suffix) = suffix.map(str::trim).filter(|s| !s.is_empty()) {
        sql.push(' ');
        sql.push_str(suffix);
    }
    sql
}

/// `'YYYY-MM-DD HH:MM:SS.ffffff'`: a UTC wall-clock literal both databases compare with
/// timestamp columns (sessions run in UTC).
pub fn timestamp_literal(micros: i64) -> String {
    format!("'{}'", format_timestamp(micros))
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` of microseconds since the epoch (UTC).
pub fn format_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Proleptic Gregorian (year, month, day) of days since 1970-01-01 (Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: Dialect = Dialect {
        database: JdbcDatabase::Postgres,
        quote: QuoteIdentifiers::Always,
    };
    const MY: Dialect = Dialect {
        database: JdbcDatabase::MySql,
        quote: QuoteIdentifiers::Always,
    };

    fn table() -> Source {
        Source::Table {
            schema: "public".into(),
            table: "ORDERS".into(),
        }
    }

    #[test]
    fn quoting_per_database_and_setting() {
        assert_eq!(PG.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(MY.ident("a`b"), "`a``b`");
        let never = Dialect {
            quote: QuoteIdentifiers::Never,
            ..PG
        };
        assert_eq!(never.table("public", "t"), "public.t");
        assert_eq!(MY.table("", "t"), "`t`");
        assert_eq!(string_literal(JdbcDatabase::MySql, "o'k\\"), "'o''k\\\\'");
    }

    #[test]
    fn mode_queries_have_kafka_connect_jdbc_shapes() {
        let bounds = Bounds {
            incrementing: 41,
            from_micros: 1_000_001,
            to_micros: 86_400_000_000,
        };
        let inc = Criteria {
            mode: JdbcMode::Incrementing,
            incrementing: Some(PG.ident("ORDER_ID")),
            timestamps: vec![],
        };
        assert_eq!(
            poll_query(&PG, &table(), &inc, &bounds, None),
            "SELECT * FROM \"public\".\"ORDERS\" WHERE \"ORDER_ID\" > 41 ORDER BY \"ORDER_ID\" ASC"
        );
        let ts = Criteria {
            mode: JdbcMode::Timestamp,
            incrementing: None,
            timestamps: vec![MY.ident("updated"), MY.ident("created")],
        };
        assert_eq!(
            poll_query(&MY, &Source::Table { schema: "soe".into(), table: "t".into() }, &ts, &bounds, None),
            "SELECT * FROM `soe`.`t` WHERE COALESCE(`updated`, `created`) > '1970-01-01 00:00:01.000001' AND COALESCE(`updated`, `created`) < '1970-01-02 00:00:00.000000' ORDER BY COALESCE(`updated`, `created`) ASC"
        );
        let both = Criteria {
            mode: JdbcMode::TimestampIncrementing,
            incrementing: Some("id".into()),
            timestamps: vec!["ts".into()],
        };
        let q = Source::Query("SELECT a.* FROM a JOIN b ON a.x = b.x WHERE b.y = 1;".into());
        assert_eq!(
            poll_query(&PG, &q, &both, &bounds, Some("FOR SHARE")),
            "SELECT * FROM (SELECT a.* FROM a JOIN b ON a.x = b.x WHERE b.y = 1) AS \"sluice_query\" WHERE ts < '1970-01-02 00:00:00.000000' AND ((ts = '1970-01-01 00:00:01.000001' AND id > 41) OR ts > '1970-01-01 00:00:01.000001') ORDER BY ts, id ASC FOR SHARE"
        );
        let bulk = Criteria {
            mode: JdbcMode::Bulk,
            incrementing: None,
            timestamps: vec![],
        };
        assert_eq!(
            poll_query(&PG, &Source::Query("SELECT 1".into()), &bulk, &bounds, None),
            "SELECT 1"
        );
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-719_468, -1, 0, 1, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(
            format_timestamp(1_700_000_000_123_456),
            "2023-11-14 22:13:20.123456"
        );
    }
}
