//! Golden type matrix (STYLE habit 22), streaming path: every Postgres type Sluice maps, under
//! every handling mode, against a real throwaway Postgres, compared with what Debezium 3.6.3
//! emits.
//!
//! ```text
//! CREATE TABLE (one column per case) ─> connector streaming (file sink, schemas on)
//!   ─> INSERT row i (case values at i, NULL elsewhere) ─> `after` field schema + value per case
//! ```
//! One connector run per mode combination keeps the run count (and the time) small.
//!
//! Where the expected JSON comes from, strongest first:
//! * `../shared/anchors/debezium/README.md` ("How column types were rendered", PostgreSQL 15):
//!   what Debezium 3.6.3 actually emitted. Cases it covers are marked `[anchor]`.
//! * Debezium's Postgres connector documentation, "Data type mappings" (`[doc]`).
//! * Debezium's source (`PostgresValueConverter`, `DateTimeFormat`, `SpecialValueDecimal`,
//!   `Point`, main branch): `[src]`. Read, not run: the 3.6.3 release may differ in corners.
//! * `// unverified against Debezium:` — what Sluice does, with no Debezium evidence either way.
//!
//! Deliberate differences from Debezium (documented in the README, "Types"):
//! * numeric `NaN`/`±Infinity` under `decimal.handling.mode=precise`: Debezium stops the
//!   connector (`SpecialValueDecimal.fromLogical` throws "Got a special value (NaN/Infinity) for
//!   Decimal type ... set decimal handling mode to 'string'"); Sluice emits `null`.
//! * types without a Debezium mapping are a string holding the text form (Debezium with the
//!   default `include.unknown.datatypes=false` leaves the column out of the event).
//! * arrays of money, name, interval, varbit, xml and point: Debezium has no schema for them
//!   (its `columnSchemaBuilder` returns null, "DBZ-459"), so it drops those columns; Sluice maps
//!   them like their elements.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use sluice_testcontainers::PgServer;
use tokio_util::sync::CancellationToken;

use crate::support::{props, read_sink, wait_for, wait_slot_active};

/// Bound on any single wait; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(60);
const PREFIX: &str = "types";
const DEFAULT_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// `timestamp 'infinity'` / `'-infinity'` in µs [doc]: "These special values are converted to
/// timestamps with value 9223372036825200000 in case of positive infinity or
/// -9223372036832400000 in case of negative infinity" (pgjdbc's `PGStatement` constants).
const TS_POS_INF_US: i64 = 9_223_372_036_825_200_000;
const TS_NEG_INF_US: i64 = -9_223_372_036_832_400_000;
/// `date 'infinity'` / `'-infinity'` [src]: `DateTimeFormat.date()` returns
/// `POSITIVE_INFINITY_LOCAL_DATE` = `-5877611-06-21` and `NEGATIVE_INFINITY_LOCAL_DATE` =
/// `-5877611-06-22`, whose epoch days these are (positive infinity is the smaller one).
const DATE_POS_INF: i32 = -2_147_472_692;
const DATE_NEG_INF: i32 = -2_147_472_691;

/// One column of the matrix: its SQL type, the Connect schema of its `after` field (without
/// `field`; `optional: true` is implied) and the SQL literal → JSON value pairs, one per row.
struct Col {
    name: &'static str,
    sql_type: &'static str,
    schema: Value,
    rows: Vec<(String, Value)>,
}

fn col(name: &'static str, sql_type: &'static str, schema: Value, rows: &[(&str, Value)]) -> Col {
    Col {
        name,
        sql_type,
        schema,
        rows: rows
            .iter()
            .map(|(l, v)| (l.to_string(), v.clone()))
            .collect(),
    }
}

fn logical(ty: &str, name: &str) -> Value {
    json!({"type": ty, "name": name, "version": 1})
}

fn decimal(scale: u32, precision: Option<u32>) -> Value {
    let mut parameters = json!({"scale": scale.to_string()});
    if let Some(p) = precision {
        parameters["connect.decimal.precision"] = json!(p.to_string());
    }
    json!({"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
           "parameters": parameters})
}

fn variable_scale_decimal() -> Value {
    json!({"type": "struct",
           "fields": [{"type": "int32", "optional": false, "field": "scale"},
                      {"type": "bytes", "optional": false, "field": "value"}],
           "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
           "doc": "Variable scaled decimal"})
}

fn vsd(scale: i32, value: &str) -> Value {
    json!({"scale": scale, "value": value})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// An optional element schema (`items`).
fn opt(mut schema: Value) -> Value {
    schema["optional"] = json!(true);
    schema
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `io.debezium.data.geometry.Point`'s WKB [src]: byte order mark 1, then little-endian type 1,
/// x, y.
fn point(x: f64, y: f64) -> Value {
    let mut wkb = vec![1u8];
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&x.to_le_bytes());
    wkb.extend_from_slice(&y.to_le_bytes());
    json!({"x": x, "y": y, "wkb": b64(&wkb), "srid": null})
}

/// A throwaway server with one database, set up but not yet captured.
struct Db {
    server: PgServer,
    name: String,
    client: tokio_postgres::Client,
    /// Extensions whose `CREATE EXTENSION` failed (their cases are skipped).
    skipped: Vec<String>,
}

impl Db {
    /// Run `setup` (types, domains, tables); a failing `CREATE EXTENSION` skips that part.
    async fn new(setup: &[String]) -> Db {
        let server = PgServer::start().expect("start postgres");
        let name = server.create_database("types").await.expect("database");
        let client = server.connect(&name).await.expect("connect");
        let mut skipped = Vec::new();
        for statement in setup {
            if let Some(extension) = statement.strip_prefix("CREATE EXTENSION ") {
                // contrib may be missing: skip that part of the matrix, don't fail.
                if let Err(e) = client.batch_execute(statement).await {
                    eprintln!("note: skipping the {extension} cases: {e}");
                    skipped.push(extension.trim().to_string());
                }
                continue;
            }
            client
                .batch_execute(statement)
                .await
                .unwrap_or_else(|e| panic!("setup failed: {statement}: {e}"));
        }
        Db {
            server,
            name,
            client,
            skipped,
        }
    }

    fn has_extension(&self, name: &str) -> bool {
        !self.skipped.iter().any(|s| s == name)
    }

    async fn execute(&self, sql: &str) {
        self.client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Start the connector on `tables` (which must exist: the publication is created for
    /// them) with the `modes` properties, and wait until it streams.
    async fn capture(self, tables: &[&str], modes: &[(&str, &str)]) -> Capture {
        let Db {
            server,
            name: db,
            client,
            ..
        } = self;
        let work = tempfile::tempdir().expect("tempdir");
        let out = work.path().join("events.jsonl");
        let slot = PgServer::unique_name("types_slot");
        let publication = PgServer::unique_name("types_pub");
        let include: Vec<String> = tables.iter().map(|t| format!("public.{t}")).collect();
        let worker = props(&[
            ("sink", "file"),
            ("sink.file.path", out.to_str().unwrap_or_default()),
            (
                "offset.storage.file.filename",
                work.path().join("offsets.dat").to_str().unwrap_or_default(),
            ),
            ("offset.flush.interval.ms", "500"),
            ("key.converter.schemas.enable", "true"),
            ("value.converter.schemas.enable", "true"),
        ]);
        let port = server.port().to_string();
        let include = include.join(",");
        let mut connector = props(&[
            ("name", "types"),
            (
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector",
            ),
            ("database.hostname", server.host()),
            ("database.port", &port),
            ("database.user", server.user()),
            ("database.password", server.password()),
            ("database.dbname", &db),
            ("topic.prefix", PREFIX),
            ("plugin.name", "pgoutput"),
            ("slot.name", &slot),
            ("publication.name", &publication),
            ("publication.autocreate.mode", "filtered"),
            ("table.include.list", &include),
            ("snapshot.mode", "no_data"),
            ("slot.drop.on.stop", "true"),
        ]);
        for (k, v) in modes {
            connector.insert(k.to_string(), v.to_string());
        }
        let stop = CancellationToken::new();
        let task = crate::support::spawn_worker(worker, connector, stop.clone());
        wait_slot_active(&client, &slot).await;
        Capture {
            _server: server,
            client,
            out,
            stop,
            task,
            _work: work,
        }
    }
}

/// A connector streaming from its own database into a file sink.
struct Capture {
    _server: PgServer,
    client: tokio_postgres::Client,
    out: PathBuf,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), sluice::worker::WorkerError>>,
    _work: tempfile::TempDir,
}

impl Capture {
    /// Wait for `n` change events (tombstones aside) on `table`'s topic; their values.
    async fn events(&self, table: &str, n: usize) -> Vec<Value> {
        let topic = format!("{PREFIX}.public.{table}");
        let out = self.out.clone();
        wait_for(WAIT, &format!("{n} events on {topic}"), || {
            let records = read_sink(&out);
            let topic = topic.clone();
            async move {
                let values: Vec<Value> = records
                    .into_iter()
                    .filter(|(t, _, v)| *t == topic && !v.is_null())
                    .map(|(_, _, v)| v)
                    .collect();
                (values.len() >= n).then_some(values)
            }
        })
        .await
    }

    async fn finish(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("join")
            .expect("connector ran cleanly");
    }
}

/// The schema of `after.<column>` in an envelope, without its `field` key.
fn field_schema(value: &Value, column: &str) -> Value {
    let after = value["schema"]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["field"] == "after"))
        .expect("after field in the envelope schema");
    let mut field = after["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["field"] == column))
        .unwrap_or_else(|| panic!("no field {column} in the value schema"))
        .clone();
    field.as_object_mut().map(|o| o.remove("field"));
    field
}

/// Create `table` with `cols`, insert one row per value index, and check every column's
/// schema fragment and every value (NULL → `null` where a column has fewer rows).
async fn check_matrix(capture: &Capture, table: &str, cols: &[Col]) {
    let rows = cols.iter().map(|c| c.rows.len()).max().unwrap_or(0);
    for row in 0..rows {
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let literals: Vec<String> = cols
            .iter()
            .map(|c| match c.rows.get(row) {
                Some((literal, _)) => format!("{literal}::{}", c.sql_type),
                None => "NULL".to_string(),
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} (id, {}) VALUES ({}, {})",
            names.join(", "),
            row + 1,
            literals.join(", ")
        );
        capture
            .client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let events = capture.events(table, rows).await;
    let mut failures = Vec::new();
    for c in cols {
        let mut expected = c.schema.clone();
        if expected.get("optional").is_none() {
            expected["optional"] = json!(true);
        }
        let actual = field_schema(&events[0], c.name);
        if actual != expected {
            failures.push(format!(
                "{} ({}): schema\n   sluice:   {actual}\n   expected: {expected}",
                c.name, c.sql_type
            ));
        }
        for row in 0..rows {
            let event = events
                .iter()
                .find(|e| e["payload"]["after"]["id"] == json!(row + 1))
                .unwrap_or_else(|| panic!("no event for {table} id {}", row + 1));
            let actual = &event["payload"]["after"][c.name];
            let (literal, expected) = match c.rows.get(row) {
                Some((l, v)) => (l.as_str(), v.clone()),
                None => ("NULL", Value::Null),
            };
            if *actual != expected {
                failures.push(format!(
                    "{} ({}) = {literal}\n   sluice:   {actual}\n   expected: {expected}",
                    c.name, c.sql_type
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{table}: {} mismatches\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn create_table(table: &str, cols: &[Col]) -> String {
    let columns: Vec<String> = cols
        .iter()
        .map(|c| format!("{} {}", c.name, c.sql_type))
        .collect();
    format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, {})",
        columns.join(", ")
    )
}

const MOOD: &str = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')";

fn mood_schema() -> Value {
    json!({"type": "string", "name": "io.debezium.data.Enum", "version": 1,
           "parameters": {"allowed": "sad,ok,happy"}})
}

/// Default modes: decimal precise, binary bytes, time adaptive, interval numeric, hstore json.
#[rustfmt::skip]
fn default_matrix(db: &Db) -> Vec<Col> {
    let int = |t: &str| json!({ "type": t });
    let string = json!({"type": "string"});
    let mut cols = vec![
        // ---- [anchor] scalars
        col("c_bool", "boolean", int("boolean"), &[("'true'", json!(true)), ("'false'", json!(false))]),
        col("c_int2", "smallint", int("int16"), &[("'32767'", json!(32767)), ("'-32768'", json!(-32768))]),
        col("c_int4", "integer", int("int32"), &[("'2147483647'", json!(2147483647)), ("'-2147483648'", json!(-2147483648i64))]),
        col("c_int8", "bigint", int("int64"), &[("'9223372036854775807'", json!(i64::MAX)), ("'-9223372036854775808'", json!(i64::MIN))]),
        // float special values: Jackson quotes non-finite doubles (WRITE_NAN_AS_STRINGS).
        col("c_float4", "real", int("float"), &[("'1.5'", json!(1.5)), ("'0.1'", json!(0.1)), ("'NaN'", json!("NaN")), ("'Infinity'", json!("Infinity")), ("'-Infinity'", json!("-Infinity"))]),
        col("c_float8", "double precision", int("double"), &[("'2.718281828459045'", json!(std::f64::consts::E)), ("'1e300'", json!(1e300)), ("'NaN'", json!("NaN")), ("'-Infinity'", json!("-Infinity"))]),
        // ---- numeric [anchor] for finite values; NaN/±Infinity: see the module doc.
        col("c_num", "numeric(10,2)", decimal(2, Some(10)), &[("'12345678.91'", json!("SZYC0w==")), ("'-99999999.99'", json!("/av0HAE=")), ("'0'", json!("AA==")), ("'NaN'", Value::Null)]),
        // [src] VariableScaleDecimal strips trailing zeros first (`convertDecimal`).
        col("c_numu", "numeric", variable_scale_decimal(), &[
            ("'3.14159265358979323846'", vsd(20, "EQfV61tbpNfG")),
            ("'-0.000001'", vsd(6, "/w==")),
            ("'1.50'", vsd(1, "Dw==")),
            ("'100'", vsd(0, "ZA==")),
            ("'Infinity'", Value::Null),
            ("'-Infinity'", Value::Null),
            ("'NaN'", Value::Null),
        ]),
        // [doc] money: Decimal with money.fraction.digits (default 2) as its scale, no precision.
        col("c_money", "money", decimal(2, None), &[("'1234.56'", json!(b64(&[0x01, 0xe2, 0x40]))), ("'-0.5'", json!(b64(&[0xce])))]),
        // ---- strings [anchor]
        col("c_text", "text", string.clone(), &[("'hello \"world\" \\ ünïcødé ✓'", json!("hello \"world\" \\ ünïcødé ✓")), ("''", json!(""))]),
        col("c_varchar", "varchar(50)", string.clone(), &[("'varchar value'", json!("varchar value"))]),
        col("c_char", "char(5)", string.clone(), &[("'ab'", json!("ab   "))]),
        // [doc] name and "char" are strings.
        col("c_name", "name", string.clone(), &[("'a_name'", json!("a_name"))]),
        col("c_char1", "\"char\"", string.clone(), &[("'x'", json!("x"))]),
        // ---- binary [anchor]
        col("c_bytea", "bytea", int("bytes"), &[("'\\xdeadbeef00ff'", json!("3q2+7wD/")), ("''", json!(""))]),
        // ---- temporal, time.precision.mode=adaptive
        col("c_date", "date", logical("int32", "io.debezium.time.Date"), &[
            ("'2024-02-29'", json!(19782)), // [anchor]
            ("'1900-01-01'", json!(-25567)), // [anchor]
            ("'infinity'", json!(DATE_POS_INF)),
            ("'-infinity'", json!(DATE_NEG_INF)),
        ]),
        // [doc] time(0..3) → io.debezium.time.Time (ms, int32); time(4..6) → MicroTime.
        col("c_time", "time", logical("int64", "io.debezium.time.MicroTime"), &[("'13:14:15.5'", json!(47_655_500_000i64)), ("'00:00:00'", json!(0)), ("'23:59:59.999999'", json!(86_399_999_999i64))]),
        col("c_time3", "time(3)", logical("int32", "io.debezium.time.Time"), &[("'13:14:15.5'", json!(47_655_500)), ("'23:59:59.999'", json!(86_399_999))]),
        col("c_time6", "time(6)", logical("int64", "io.debezium.time.MicroTime"), &[("'13:14:15.123456'", json!(47_655_123_456i64))]),
        // [doc] ZonedTime: a string in UTC. unverified against Debezium: the fraction is
        // printed with as many digits as needed (`ISO_OFFSET_TIME`), seconds always.
        col("c_timetz", "timetz", logical("string", "io.debezium.time.ZonedTime"), &[("'04:05:06.5+00'", json!("04:05:06.5Z")), ("'13:14:15+02'", json!("11:14:15Z")), ("'01:00:00+05:30'", json!("19:30:00Z"))]),
        col("c_ts", "timestamp", logical("int64", "io.debezium.time.MicroTimestamp"), &[
            ("'2024-01-02 03:04:05.123456'", json!(1_704_164_645_123_456i64)), // [anchor]
            ("'1970-01-01 00:00:00'", json!(0)), // [anchor]
            ("'1900-01-01 00:00:00'", json!(-2_208_988_800_000_000i64)),
            ("'infinity'", json!(TS_POS_INF_US)),
            ("'-infinity'", json!(TS_NEG_INF_US)),
        ]),
        // [src] the ms types carry the same infinities in ms (`Timestamp.toEpochMillis` of
        // `POSITIVE_INFINITY_LOCAL_DATE_TIME`).
        col("c_ts3", "timestamp(3)", logical("int64", "io.debezium.time.Timestamp"), &[
            ("'2024-01-02 03:04:05.123'", json!(1_704_164_645_123i64)), // [anchor]
            ("'1969-12-31 23:59:59.999'", json!(-1)),
            ("'infinity'", json!(TS_POS_INF_US / 1000)),
            ("'-infinity'", json!(TS_NEG_INF_US / 1000)),
        ]),
        col("c_ts0", "timestamp(0)", logical("int64", "io.debezium.time.Timestamp"), &[("'2024-01-02 03:04:05'", json!(1_704_164_645_000i64))]),
        // [anchor] 6 fraction digits at the default precision; [src] ±infinity stay strings.
        col("c_tstz", "timestamptz", logical("string", "io.debezium.time.ZonedTimestamp"), &[
            ("'2024-01-02 03:04:05.123456+02'", json!("2024-01-02T01:04:05.123456Z")),
            ("'1970-01-01 00:00:00+00'", json!("1970-01-01T00:00:00.000000Z")),
            ("'infinity'", json!("infinity")),
            ("'-infinity'", json!("-infinity")),
        ]),
        // [src] the fraction width is the column's precision (`column.scale()`), as the MariaDB
        // anchor shows for TIMESTAMP(3).
        col("c_tstz3", "timestamptz(3)", logical("string", "io.debezium.time.ZonedTimestamp"), &[("'2024-01-02 03:04:05.123+02'", json!("2024-01-02T01:04:05.123Z"))]),
        // [anchor] a month is 30.4375 days.
        col("c_interval", "interval", logical("int64", "io.debezium.time.MicroDuration"), &[
            ("'1 year 2 months 3 days 04:05:06.5'", json!(37_091_106_500_000i64)),
            ("'-1 day -02:30:00'", json!(-95_400_000_000i64)),
            ("'0'", json!(0)),
        ]),
        // ---- other built-ins
        col("c_uuid", "uuid", logical("string", "io.debezium.data.Uuid"), &[("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))]),
        col("c_json", "json", logical("string", "io.debezium.data.Json"), &[("'{\"a\": 1, \"b\": [true, null, \"x\"]}'", json!("{\"a\": 1, \"b\": [true, null, \"x\"]}"))]),
        col("c_jsonb", "jsonb", logical("string", "io.debezium.data.Json"), &[("'{\"z\": 1, \"a\": {\"nested\": \"yes\"}}'", json!("{\"a\": {\"nested\": \"yes\"}, \"z\": 1}")), ("'null'", json!("null"))]),
        // [doc] xml → io.debezium.data.Xml; inet/cidr/macaddr/macaddr8 → string; oid → int64.
        col("c_xml", "xml", logical("string", "io.debezium.data.Xml"), &[("'<a>1</a>'", json!("<a>1</a>"))]),
        col("c_inet", "inet", string.clone(), &[("'192.168.0.1/24'", json!("192.168.0.1/24")), ("'::1'", json!("::1"))]),
        col("c_cidr", "cidr", string.clone(), &[("'10.0.0.0/8'", json!("10.0.0.0/8"))]),
        col("c_macaddr", "macaddr", string.clone(), &[("'08:00:2b:01:02:03'", json!("08:00:2b:01:02:03"))]),
        col("c_macaddr8", "macaddr8", string.clone(), &[("'08:00:2b:01:02:03:04:05'", json!("08:00:2b:01:02:03:04:05"))]),
        col("c_oid", "oid", int("int64"), &[("'4294967295'", json!(4_294_967_295i64))]),
        col("c_mood", "mood", mood_schema(), &[("'happy'", json!("happy"))]), // [anchor]
        // [doc] BIT(1) → boolean; BIT(n>1) and BIT VARYING → io.debezium.data.Bits with the
        // bits little-endian, sized by content ([src] `BitSet.toByteArray()`).
        col("c_bit1", "bit(1)", int("boolean"), &[("'1'", json!(true)), ("'0'", json!(false))]),
        col("c_bit8", "bit(8)", json!({"type": "bytes", "name": "io.debezium.data.Bits", "version": 1, "parameters": {"length": "8"}}), &[("'10100101'", json!("pQ==")), ("'00000000'", json!(""))]),
        col("c_varbit16", "bit varying(16)", json!({"type": "bytes", "name": "io.debezium.data.Bits", "version": 1, "parameters": {"length": "16"}}), &[("'101'", json!("BQ=="))]),
        // [doc] "(2^31 - 1, if no length is given for the column)".
        col("c_varbit", "bit varying", json!({"type": "bytes", "name": "io.debezium.data.Bits", "version": 1, "parameters": {"length": "2147483647"}}), &[("'1000000001'", json!("AQI="))]),
        // [src] `column.length() > 1 ? Bits : boolean` covers VARBIT too.
        col("c_varbit1", "bit varying(1)", int("boolean"), &[("'1'", json!(true))]),
        // [doc] point → io.debezium.data.geometry.Point {x, y, wkb, srid}.
        col("c_point", "point", json!({"type": "struct",
            "fields": [{"type": "double", "optional": false, "field": "x"},
                       {"type": "double", "optional": false, "field": "y"},
                       {"type": "bytes", "optional": true, "field": "wkb"},
                       {"type": "int32", "optional": true, "field": "srid"}],
            "name": "io.debezium.data.geometry.Point", "version": 1, "doc": "Geometry (POINT)"}),
            &[("'(1.5,-2)'", point(1.5, -2.0))]),
        // ---- arrays: [anchor] int[]/text[]; [src] the rest (element schema per element type).
        col("c_int_arr", "int[]", array(json!({"type": "int32", "optional": true})), &[("'{1,2,3}'", json!([1, 2, 3])), ("'{}'", json!([]))]),
        col("c_text_arr", "text[]", array(json!({"type": "string", "optional": true})), &[("'{\"x\",\"y z\",NULL}'", json!(["x", "y z", null]))]),
        // [src] enum arrays have a *required* element schema:
        // `SchemaBuilder.array(io.debezium.data.Enum.builder(..))`.
        col("c_mood_arr", "mood[]", array(json!({"type": "string", "optional": false, "name": "io.debezium.data.Enum", "version": 1, "parameters": {"allowed": "sad,ok,happy"}})), &[("'{happy,sad}'", json!(["happy", "sad"]))]),
        col("c_num_arr", "numeric(10,2)[]", array(opt(decimal(2, Some(10)))), &[("'{1.5,-2}'", json!([b64(&[0x00, 0x96]), b64(&[0xff, 0x38])]))]),
        col("c_numu_arr", "numeric[]", array(opt(variable_scale_decimal())), &[("'{1.50,NaN}'", json!([vsd(1, "Dw=="), null]))]),
        col("c_ts_arr", "timestamp[]", array(opt(logical("int64", "io.debezium.time.MicroTimestamp"))), &[("'{\"2024-01-02 03:04:05.123456\",\"1970-01-01 00:00:00\"}'", json!([1_704_164_645_123_456i64, 0]))]),
        col("c_tstz_arr", "timestamptz[]", array(opt(logical("string", "io.debezium.time.ZonedTimestamp"))), &[("'{\"2024-01-02 03:04:05.123456+02\"}'", json!(["2024-01-02T01:04:05.123456Z"]))]),
        col("c_date_arr", "date[]", array(opt(logical("int32", "io.debezium.time.Date"))), &[("'{2024-02-29,NULL}'", json!([19782, null]))]),
        col("c_uuid_arr", "uuid[]", array(opt(logical("string", "io.debezium.data.Uuid"))), &[("'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", json!(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]))]),
        col("c_jsonb_arr", "jsonb[]", array(opt(logical("string", "io.debezium.data.Json"))), &[("ARRAY['{\"a\":1}'::jsonb]", json!(["{\"a\": 1}"]))]),
        col("c_bytea_arr", "bytea[]", array(json!({"type": "bytes", "optional": true})), &[("ARRAY['\\xdead'::bytea]", json!(["3q0="]))]),
        // unverified against Debezium: Debezium drops interval[] columns (no schema); Sluice
        // maps them like the element.
        col("c_interval_arr", "interval[]", array(opt(logical("int64", "io.debezium.time.MicroDuration"))), &[("'{\"1 day\"}'", json!([86_400_000_000i64]))]),
        // ---- domains resolve to their base type, with the domain's type modifier.
        col("c_posint", "posint", int("int32"), &[("'42'", json!(42))]),
        col("c_shortname", "shortname", string.clone(), &[("'abc'", json!("abc"))]),
        // unverified against Debezium: the domain's numeric(8,3) modifier becomes the Decimal's
        // scale/precision parameters.
        col("c_amount", "amount", decimal(3, Some(8)), &[("'12345.678'", json!(b64(&[0x00, 0xbc, 0x61, 0x4e])))]),
        // ---- string fallback: no crash, the text form as an optional plain string.
        // unverified against Debezium: newer Debezium maps tsvector to io.debezium.data.TsVector
        // and box to io.debezium.data.geometry.Geometry; whether 3.6.3 already does is unknown.
        col("c_tsvector", "tsvector", string.clone(), &[("'a fat cat'", json!("'a' 'cat' 'fat'"))]),
        col("c_box", "box", string.clone(), &[("'((0,0),(1,1))'", json!("(1,1),(0,0)"))]),
        col("c_int4range", "int4range", string.clone(), &[("'[1,5)'", json!("[1,5)"))]),
    ];
    if db.has_extension("hstore") {
        // [doc] hstore.handling.mode=json: io.debezium.data.Json of {"key": "value"}.
        // unverified against Debezium: key order (Debezium iterates a Java HashMap; single-letter
        // keys come out sorted, as here).
        cols.push(col("c_hstore", "hstore", logical("string", "io.debezium.data.Json"), &[("'\"a\"=>\"1\", \"b\"=>NULL'", json!("{\"a\":\"1\",\"b\":null}"))]));
    }
    if db.has_extension("ltree") {
        cols.push(col("c_ltree", "ltree", logical("string", "io.debezium.data.Ltree"), &[("'Top.Science.Astronomy'", json!("Top.Science.Astronomy"))]));
    }
    if db.has_extension("citext") {
        cols.push(col("c_citext", "citext", json!({"type": "string"}), &[("'MiXeD'", json!("MiXeD"))]));
    }
    cols
}

fn default_setup() -> Vec<String> {
    vec![
        MOOD.to_string(),
        "CREATE DOMAIN posint AS int CHECK (VALUE > 0)".into(),
        "CREATE DOMAIN shortname AS varchar(10)".into(),
        "CREATE DOMAIN amount AS numeric(8,3)".into(),
        "CREATE EXTENSION hstore".into(),
        "CREATE EXTENSION ltree".into(),
        "CREATE EXTENSION citext".into(),
    ]
}

const TOAST_TABLE: &str = "CREATE TABLE toast (id int PRIMARY KEY, note text, big text, \
     big_json jsonb, big_arr text[], big_bytes bytea)";

fn toast_setup() -> Vec<String> {
    let mut setup = vec![TOAST_TABLE.to_string()];
    for c in ["big", "big_json", "big_arr", "big_bytes"] {
        // EXTERNAL: out of line and uncompressed, so 5 KB surely leaves the main tuple.
        setup.push(format!(
            "ALTER TABLE toast ALTER COLUMN {c} SET STORAGE EXTERNAL"
        ));
    }
    setup
}

/// REPLICA IDENTITY DEFAULT: an update that leaves the TOASTed columns alone sends them as
/// `u` (unchanged); they must become the placeholder, never null (Debezium's "Toasted values"
/// section: `unavailable.value.placeholder`, default `__debezium_unavailable_value`).
async fn check_toast(capture: &Capture, placeholder: &str, check_bytes: bool) {
    capture
        .client
        .batch_execute(
            "INSERT INTO toast VALUES (1, 'first', repeat('x', 5000), \
               jsonb_build_object('k', repeat('j', 5000)), ARRAY[repeat('a', 5000)], \
               convert_to(repeat('b', 5000), 'UTF8'));
             UPDATE toast SET note = 'changed' WHERE id = 1",
        )
        .await
        .expect("toast workload");
    let events = capture.events("toast", 2).await;
    let insert = &events[0]["payload"]["after"];
    assert_eq!(
        insert["big"].as_str().map(str::len),
        Some(5000),
        "insert image"
    );
    let update = &events[1]["payload"];
    assert_eq!(update["op"], "u");
    let after = &update["after"];
    assert_eq!(after["note"], "changed");
    assert_eq!(after["big"], placeholder, "TOASTed text");
    assert_eq!(after["big_json"], placeholder, "TOASTed jsonb");
    // [src] a text array's placeholder is a one-element list of the placeholder string.
    assert_eq!(after["big_arr"], json!([placeholder]), "TOASTed text[]");
    if check_bytes {
        // [src] `convertBinaryToBytes`: the placeholder's bytes (binary.handling.mode=bytes).
        assert_eq!(
            after["big_bytes"],
            b64(placeholder.as_bytes()),
            "TOASTed bytea"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_default_modes() {
    let mut setup = default_setup();
    setup.extend(toast_setup());
    let db = Db::new(&setup).await;
    // Which extension cases run depends on what setup could create.
    let cols = default_matrix(&db);
    db.execute(&create_table("matrix", &cols)).await;
    let capture = db.capture(&["matrix", "toast"], &[]).await;
    check_matrix(&capture, "matrix", &cols).await;
    check_toast(&capture, DEFAULT_PLACEHOLDER, true).await;
    capture.finish().await;
}

#[rustfmt::skip]
fn string_hex_connect_matrix() -> Vec<Col> {
    let string = json!({"type": "string"});
    vec![
        col("c_num", "numeric(10,2)", string.clone(), &[("'12345678.91'", json!("12345678.91")), ("'0'", json!("0.00")), ("'NaN'", json!("NaN"))]), // [anchor]
        // [src] `BigDecimal.toString()`: scientific below an adjusted exponent of -6; scale kept.
        col("c_numu", "numeric", string.clone(), &[
            ("'3.14159265358979323846'", json!("3.14159265358979323846")), // [anchor]
            ("'0.0000001'", json!("1E-7")),
            ("'1.50'", json!("1.50")),
            ("'Infinity'", json!("Infinity")),
            ("'-Infinity'", json!("-Infinity")),
            ("'NaN'", json!("NaN")),
        ]),
        // [src] money arrives as pgjdbc's PGmoney double; string mode prints
        // `String.valueOf(double)`.
        col("c_money", "money", string.clone(), &[("'1234.56'", json!("1234.56")), ("'-0.5'", json!("-0.5")), ("'1000'", json!("1000.0"))]),
        col("c_bytea", "bytea", string.clone(), &[("'\\xdeadbeef00ff'", json!("deadbeef00ff"))]), // [anchor]
        // [anchor] connect: Timestamp/Date/Time (ms; Time as int32).
        col("c_ts", "timestamp", logical("int64", "org.apache.kafka.connect.data.Timestamp"), &[
            ("'2024-01-02 03:04:05.123456'", json!(1_704_164_645_123i64)),
            ("'infinity'", json!(TS_POS_INF_US / 1000)),
            ("'-infinity'", json!(TS_NEG_INF_US / 1000)),
        ]),
        col("c_ts3", "timestamp(3)", logical("int64", "org.apache.kafka.connect.data.Timestamp"), &[("'2024-01-02 03:04:05.123'", json!(1_704_164_645_123i64))]),
        col("c_date", "date", logical("int32", "org.apache.kafka.connect.data.Date"), &[("'2024-02-29'", json!(19782)), ("'infinity'", json!(DATE_POS_INF))]),
        col("c_time", "time", logical("int32", "org.apache.kafka.connect.data.Time"), &[("'13:14:15.5'", json!(47_655_500))]),
        col("c_time6", "time(6)", logical("int32", "org.apache.kafka.connect.data.Time"), &[("'13:14:15.123456'", json!(47_655_123))]),
        // [anchor] timestamptz / [doc] timetz are not affected by time.precision.mode.
        col("c_tstz", "timestamptz", logical("string", "io.debezium.time.ZonedTimestamp"), &[("'2024-01-02 03:04:05.123456+02'", json!("2024-01-02T01:04:05.123456Z"))]),
        col("c_timetz", "timetz", logical("string", "io.debezium.time.ZonedTime"), &[("'04:05:06.5+00'", json!("04:05:06.5Z"))]),
        // [anchor] P<y>Y<m>M<d>DT<h>H<m>M<s>S; [src] each part keeps its sign (PGInterval).
        col("c_interval", "interval", logical("string", "io.debezium.time.Interval"), &[
            ("'1 year 2 months 3 days 04:05:06.5'", json!("P1Y2M3DT4H5M6.5S")),
            ("'-1 day -02:30:00'", json!("P0Y0M-1DT-2H-30M0S")),
        ]),
        col("c_num_arr", "numeric[]", array(json!({"type": "string", "optional": true})), &[("'{1.50,NaN}'", json!(["1.50", "NaN"]))]),
        col("c_ts_arr", "timestamp[]", array(opt(logical("int64", "org.apache.kafka.connect.data.Timestamp"))), &[("'{\"2024-01-02 03:04:05.123456\"}'", json!([1_704_164_645_123i64]))]),
        col("c_bytea_arr", "bytea[]", array(json!({"type": "string", "optional": true})), &[("ARRAY['\\xdead'::bytea]", json!(["dead"]))]),
        col("c_mood", "mood", mood_schema(), &[("'ok'", json!("ok"))]),
    ]
}

#[rustfmt::skip]
fn double_base64_micros_matrix() -> Vec<Col> {
    let double = json!({"type": "double"});
    vec![
        // [anchor] finite values; [src] special values are Double.NaN/±Infinity, which the
        // JSON converter (Jackson) writes as quoted strings.
        col("c_num", "numeric(10,2)", double.clone(), &[("'12345678.91'", json!(12_345_678.91)), ("'NaN'", json!("NaN"))]),
        col("c_numu", "numeric", double.clone(), &[("'3.14159265358979323846'", json!(std::f64::consts::PI)), ("'Infinity'", json!("Infinity")), ("'-Infinity'", json!("-Infinity"))]),
        col("c_money", "money", double.clone(), &[("'1234.56'", json!(1234.56))]),
        col("c_bytea", "bytea", json!({"type": "string"}), &[("'\\xdeadbeef00ff'", json!("3q2+7wD/")), ("'\\xfbff'", json!("+/8="))]),
        // [doc] adaptive_time_microseconds: TIME is always MicroTime; the rest as adaptive.
        col("c_time3", "time(3)", logical("int64", "io.debezium.time.MicroTime"), &[("'13:14:15.5'", json!(47_655_500_000i64))]),
        col("c_time", "time", logical("int64", "io.debezium.time.MicroTime"), &[("'13:14:15.5'", json!(47_655_500_000i64))]),
        col("c_ts3", "timestamp(3)", logical("int64", "io.debezium.time.Timestamp"), &[("'2024-01-02 03:04:05.123'", json!(1_704_164_645_123i64))]),
        col("c_ts", "timestamp", logical("int64", "io.debezium.time.MicroTimestamp"), &[("'2024-01-02 03:04:05.123456'", json!(1_704_164_645_123_456i64))]),
        col("c_date", "date", logical("int32", "io.debezium.time.Date"), &[("'2024-02-29'", json!(19782))]),
        col("c_num_arr", "numeric(10,2)[]", array(json!({"type": "double", "optional": true})), &[("'{1.5,NaN}'", json!([1.5, "NaN"]))]),
    ]
}

#[rustfmt::skip]
fn url_safe_map_matrix(db: &Db) -> Vec<Col> {
    let mut cols = vec![
        // [src] Base64.getUrlEncoder(): '-' and '_' instead of '+' and '/', padded.
        col("c_bytea", "bytea", json!({"type": "string"}), &[("'\\xfbff'", json!("-_8=")), ("'\\xdeadbeef00ff'", json!("3q2-7wD_"))]),
        // [doc] money.fraction.digits is the Decimal's scale.
        col("c_money", "money", decimal(4, None), &[("'1234.56'", json!(b64(&[0x00, 0xbc, 0x61, 0x00])))]),
    ];
    if db.has_extension("hstore") {
        // [doc] map mode: a Connect map of string → optional string.
        cols.push(col(
            "c_hstore",
            "hstore",
            json!({"type": "map", "keys": {"type": "string", "optional": false},
                   "values": {"type": "string", "optional": true}}),
            &[("'\"a\"=>\"1\", \"b\"=>NULL'", json!({"a": "1", "b": null})), ("''", json!({}))],
        ));
    }
    cols
}

/// `decimal.handling.mode=string`, `binary.handling.mode=hex`, `time.precision.mode=connect`,
/// `interval.handling.mode=string` (the anchor's `altmodes` variant).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_string_hex_connect_modes() {
    let db = Db::new(&[MOOD.to_string()]).await;
    let modes = [
        ("decimal.handling.mode", "string"),
        ("binary.handling.mode", "hex"),
        ("time.precision.mode", "connect"),
        ("interval.handling.mode", "string"),
    ];
    let cols = string_hex_connect_matrix();
    db.execute(&create_table("matrix", &cols)).await;
    let capture = db.capture(&["matrix"], &modes).await;
    check_matrix(&capture, "matrix", &cols).await;
    capture.finish().await;
}

/// `decimal.handling.mode=double`, `binary.handling.mode=base64`,
/// `time.precision.mode=adaptive_time_microseconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_double_base64_micros_modes() {
    let db = Db::new(&[]).await;
    let modes = [
        ("decimal.handling.mode", "double"),
        ("binary.handling.mode", "base64"),
        ("time.precision.mode", "adaptive_time_microseconds"),
    ];
    let cols = double_base64_micros_matrix();
    db.execute(&create_table("matrix", &cols)).await;
    let capture = db.capture(&["matrix"], &modes).await;
    check_matrix(&capture, "matrix", &cols).await;
    capture.finish().await;
}

/// `binary.handling.mode=base64-url-safe`, `hstore.handling.mode=map`,
/// `money.fraction.digits=4` and a custom `unavailable.value.placeholder`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_url_safe_map_custom_placeholder() {
    let mut setup = vec!["CREATE EXTENSION hstore".to_string()];
    setup.extend(toast_setup());
    let placeholder = "<toasted>";
    let db = Db::new(&setup).await;
    let modes = [
        ("binary.handling.mode", "base64-url-safe"),
        ("hstore.handling.mode", "map"),
        ("money.fraction.digits", "4"),
        ("unavailable.value.placeholder", placeholder),
    ];
    let cols = url_safe_map_matrix(&db);
    db.execute(&create_table("matrix", &cols)).await;
    let capture = db.capture(&["matrix", "toast"], &modes).await;
    check_matrix(&capture, "matrix", &cols).await;
    // unverified against Debezium: the bytea placeholder under base64-url-safe (Debezium only
    // special-cases the bytes and hex modes), so bytes are not checked here.
    check_toast(&capture, placeholder, false).await;
    capture.finish().await;
}
