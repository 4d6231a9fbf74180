//! MariaDB binlog capture groundwork against a real throwaway MariaDB (`MariaDbServer`):
//! `mysql_common` parses the standard events MariaDB writes, MariaDB's own events come
//! through `mysql_async` as raw bodies that `sluice_decoders::binlog::mariadb` decodes,
//! and the replica handshake of `sluice::mysql::handshake` positions a stream by GTID.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use futures::StreamExt;
use mysql_async::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Value};
use sluice::mysql::handshake::{
    detect_flavor, open_mariadb_stream, Flavor, MariaDbDump, MariaDbStart,
};
use sluice_decoders::binlog::header::{
    event_type, file_events, ChecksumAlg, EventHeader, RawEvent,
};
use sluice_decoders::binlog::mariadb::{Gtid, GtidPosition, MariaDbEvent};
use sluice_testcontainers::{MariaDbOptions, MariaDbServer};

/// Bound on any single wait in these tests; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(60);

/// What a test cares about in one binlog event, with row values rendered as text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Rotate(String),
    FormatDescription,
    Heartbeat,
    GtidList(String),
    Checkpoint(String),
    /// GTID, `FL_STANDALONE`, `FL_DDL`.
    Gtid(Gtid, bool, bool),
    Annotate(String),
    /// `schema: query`.
    Query(String),
    TableMap(String),
    Write(Vec<String>),
    Update(Vec<(String, String)>),
    Delete(Vec<String>),
    Xid,
    Other(u8),
}

/// A replica `server_id` no other stream of this process uses.
fn replica_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    4_000_000_000 + (std::process::id() % 1000) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn setup(server: &MariaDbServer) -> Result<(String, Conn)> {
    let db = server.create_database("binlog").await?;
    let mut conn = server.connect(&db).await?;
    conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), qty INT)")
        .await?;
    Ok((db, conn))
}

/// Three transactions: two inserts, an update, a delete; returns each one's GTID.
async fn write_transactions(conn: &mut Conn) -> Result<Vec<Gtid>> {
    let mut gtids = Vec::new();
    for sql in [
        "INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20)",
        "UPDATE t SET qty = qty + 1 WHERE id = 2",
        "DELETE FROM t WHERE id = 1",
    ] {
        let mut tx = conn.start_transaction(Default::default()).await?;
        tx.query_drop(sql).await?;
        tx.commit().await?;
        gtids.push(last_gtid(conn).await?);
    }
    Ok(gtids)
}

/// `@@last_gtid` of the session: the GTID of its last committed transaction.
async fn last_gtid(conn: &mut Conn) -> Result<Gtid> {
    let text: Option<String> = conn.query_first("SELECT @@last_gtid").await?;
    Ok(Gtid::parse(&text.unwrap_or_default())?)
}

/// `(file, position)` of the server's current binlog end.
async fn binlog_end(conn: &mut Conn) -> Result<(String, u64)> {
    let row: Option<mysql_async::Row> = conn.query_first("SHOW MASTER STATUS").await?;
    let row = row.context("SHOW MASTER STATUS returned nothing: is log_bin on?")?;
    let file: String = row.get(0).context("binlog file")?;
    let pos: u64 = row.get(1).context("binlog position")?;
    Ok((file, pos))
}

fn dump(start: MariaDbStart) -> MariaDbDump {
    MariaDbDump {
        replica_server_id: replica_id(),
        start,
        heartbeat_period: None,
        gtid_strict_mode: false,
        non_blocking: true,
    }
}

async fn open(server: &MariaDbServer, dump: &MariaDbDump) -> Result<BinlogStream> {
    let conn = server.connect("mysql").await?;
    Ok(open_mariadb_stream(conn, dump).await?)
}

/// Every event until the (non-blocking) stream ends.
async fn collect(mut stream: BinlogStream) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Err(_) => bail!("binlog stream neither ended nor sent an event in {WAIT:?}"),
            Ok(None) => return Ok(events),
            Ok(Some(event)) => events.push(event.context("binlog stream item")?),
        }
    }
}

fn render_value(value: Option<&BinlogValue<'_>>) -> String {
    match value {
        Some(BinlogValue::Value(Value::NULL)) | None => "NULL".to_owned(),
        Some(BinlogValue::Value(Value::Int(i))) => i.to_string(),
        Some(BinlogValue::Value(Value::UInt(u))) => u.to_string(),
        Some(BinlogValue::Value(Value::Bytes(bytes))) => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        Some(other) => format!("{other:?}"),
    }
}

fn render_row(row: Option<&mysql_async::binlog::row::BinlogRow>) -> String {
    match row {
        None => "-".to_owned(),
        Some(row) => (0..row.len())
            .map(|i| render_value(row.as_ref(i)))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Header and body of `event` as the server sent them, checksum (if `mysql_common`
/// removed one) appended again.
fn wire_bytes(event: &Event) -> Vec<u8> {
    let header = event.header();
    let mut bytes = Vec::with_capacity(header.event_size() as usize);
    bytes.extend_from_slice(&header.timestamp().to_le_bytes());
    bytes.push(header.event_type_raw());
    bytes.extend_from_slice(&header.server_id().to_le_bytes());
    bytes.extend_from_slice(&header.event_size().to_le_bytes());
    bytes.extend_from_slice(&header.log_pos().to_le_bytes());
    bytes.extend_from_slice(&header.flags_raw().to_le_bytes());
    bytes.extend_from_slice(event.data());
    if let Some(checksum) = event.checksum() {
        bytes.extend_from_slice(&checksum);
    }
    bytes
}

/// The checksum `mysql_common` cut off an event must be the CRC32 of its header and body.
/// The fake ROTATE a MariaDB server sends first comes before the FORMAT_DESCRIPTION, so
/// `mysql_common` does not yet know checksums are on and leaves the CRC in `data()`:
/// `RawEvent::split` must find and verify it there. Returns the body without checksum.
fn verified_body(event: &Event) -> Result<Vec<u8>> {
    let header = event.header();
    if header.event_type_raw() == event_type::FORMAT_DESCRIPTION {
        // Its CRC also covers the algorithm byte that `data()` leaves out.
        return Ok(event.data().to_vec());
    }
    let bytes = wire_bytes(event);
    if event.checksum().is_none() {
        ensure!(
            header.event_type_raw() == event_type::ROTATE
                && header.flags_raw() & EventHeader::FLAG_ARTIFICIAL != 0,
            "event of type {} has no checksum",
            header.event_type_raw()
        );
    }
    let raw = RawEvent::split(&bytes, ChecksumAlg::Crc32).with_context(|| {
        format!(
            "event of type {} at log_pos {}",
            header.event_type_raw(),
            header.log_pos()
        )
    })?;
    Ok(raw.body.to_vec())
}

/// Turns events into [`Item`]s: standard types through `mysql_common`, MariaDB's own
/// (which `read_data` leaves as `None`) through our decoders. Verifies every checksum.
fn items(events: &[Event]) -> Result<Vec<Item>> {
    let mut tables: std::collections::HashMap<u64, TableMapEvent<'static>> = Default::default();
    let mut out = Vec::new();
    for event in events {
        let body = verified_body(event)?;
        let raw_type = event.header().event_type_raw();
        let data = event
            .read_data()
            .with_context(|| format!("mysql_common could not parse event type {raw_type}"))?;
        let item = match data {
            None => match MariaDbEvent::decode(raw_type, event.data())? {
                Some(MariaDbEvent::Gtid(gtid)) => Item::Gtid(
                    gtid.gtid(event.header().server_id()),
                    gtid.is_standalone(),
                    gtid.is_ddl(),
                ),
                Some(MariaDbEvent::GtidList(list)) => Item::GtidList(list.position().to_string()),
                Some(MariaDbEvent::BinlogCheckpoint(c)) => Item::Checkpoint(c.binlog_file_name),
                Some(MariaDbEvent::AnnotateRows(a)) => Item::Annotate(a.query_lossy().into_owned()),
                None => Item::Other(raw_type),
            },
            // The name from our checksum-free body: see `verified_body`.
            Some(EventData::RotateEvent(_)) => Item::Rotate(
                String::from_utf8_lossy(body.get(8..).unwrap_or_default()).into_owned(),
            ),
            Some(EventData::FormatDescriptionEvent(_)) => Item::FormatDescription,
            Some(EventData::HeartbeatEvent) => Item::Heartbeat,
            Some(EventData::QueryEvent(query)) => {
                Item::Query(format!("{}: {}", query.schema(), query.query()))
            }
            Some(EventData::XidEvent(_)) => Item::Xid,
            Some(EventData::TableMapEvent(tme)) => {
                let name = format!("{}.{}", tme.database_name(), tme.table_name());
                tables.insert(tme.table_id(), tme.into_owned());
                Item::TableMap(name)
            }
            Some(EventData::RowsEvent(rows)) => {
                let tme = tables
                    .get(&rows.table_id())
                    .context("rows event without its TABLE_MAP")?;
                let mut pairs = Vec::new();
                for row in rows.rows(tme) {
                    let (before, after) = row.context("mysql_common rows")?;
                    pairs.push((render_row(before.as_ref()), render_row(after.as_ref())));
                }
                match rows {
                    RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => {
                        Item::Write(pairs.into_iter().map(|(_, after)| after).collect())
                    }
                    RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => {
                        Item::Delete(pairs.into_iter().map(|(before, _)| before).collect())
                    }
                    _ => Item::Update(pairs),
                }
            }
            Some(_) => Item::Other(raw_type),
        };
        out.push(item);
    }
    Ok(out)
}

/// The preamble plus the event groups (from a GTID or `BEGIN` to the next) that touch
/// database `db`: with `SLUICE_TEST_MARIADB_URL` other tests write to the same binlog.
fn ours(items: Vec<Item>, db: &str) -> Vec<Item> {
    fn keep(group: &mut Vec<Item>, out: &mut Vec<Item>, db: &str) {
        let touches = group.iter().any(|item| match item {
            Item::TableMap(table) => table.starts_with(&format!("{db}.")),
            Item::Query(query) => query.contains(db),
            _ => false,
        });
        if touches {
            out.append(group);
        }
        group.clear();
    }
    let mut out = Vec::new();
    let mut group = Vec::new();
    let mut in_group = false;
    for item in items {
        let starts_group = match &item {
            Item::Gtid(..) => true,
            Item::Query(query) => query.ends_with(": BEGIN"),
            _ => false,
        };
        if starts_group {
            keep(&mut group, &mut out, db);
            in_group = true;
        }
        if in_group {
            group.push(item);
        } else {
            out.push(item);
        }
    }
    keep(&mut group, &mut out, db);
    out
}

/// The GTIDs of the event groups in `items`.
fn gtids(items: &[Item]) -> Vec<Gtid> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Gtid(gtid, ..) => Some(*gtid),
            _ => None,
        })
        .collect()
}

/// The data items of our transactions: table maps, rows and XIDs.
fn data(items: &[Item]) -> Vec<Item> {
    items
        .iter()
        .filter(|item| {
            matches!(
                item,
                Item::TableMap(_) | Item::Write(_) | Item::Update(_) | Item::Delete(_) | Item::Xid
            )
        })
        .cloned()
        .collect()
}

fn expected_rows(db: &str, transactions: std::ops::Range<usize>) -> Vec<Item> {
    let table = Item::TableMap(format!("{db}.t"));
    let all = [
        vec![
            table.clone(),
            Item::Write(vec!["1,a,10".to_owned(), "2,b,20".to_owned()]),
            Item::Xid,
        ],
        vec![
            table.clone(),
            Item::Update(vec![("2,b,20".to_owned(), "2,b,21".to_owned())]),
            Item::Xid,
        ],
        vec![table, Item::Delete(vec!["1,a,10".to_owned()]), Item::Xid],
    ];
    all[transactions].concat()
}

#[tokio::test]
async fn mariadb_server_is_detected_and_configured_for_binlog_capture() -> Result<()> {
    let server = MariaDbServer::start()?;
    let mut conn = server.connect("mysql").await?;
    let (flavor, version) = detect_flavor(&mut conn).await?;
    ensure!(
        flavor == Flavor::MariaDb,
        "{version} was not detected as MariaDB"
    );
    let settings: Option<(String, String, String, u32, u32)> = conn
        .query_first(
            "SELECT @@binlog_format, @@binlog_row_image, @@binlog_checksum, @@log_bin, @@server_id",
        )
        .await?;
    let (format, image, checksum, log_bin, server_id) = settings.context("settings")?;
    ensure!((format.as_str(), image.as_str(), checksum.as_str()) == ("ROW", "FULL", "CRC32"));
    ensure!(log_bin == 1);
    if let Some(expected) = server.server_id() {
        ensure!(server_id == expected, "server_id {server_id} != {expected}");
    }
    conn.disconnect().await?;
    Ok(())
}

/// (a) `mysql_common` parses TABLE_MAP and WRITE/UPDATE/DELETE_ROWS as MariaDB writes
/// them, and (b) MariaDB's GTID, GTID_LIST and BINLOG_CHECKPOINT events arrive as raw
/// bodies (`read_data() == None`) that our decoders parse; every CRC32 checks out.
#[tokio::test]
async fn standard_events_parse_and_mariadb_events_decode() -> Result<()> {
    let server = MariaDbServer::start()?;
    let (db, mut conn) = setup(&server).await?;
    let (file, start_pos) = binlog_end(&mut conn).await?;
    let written = write_transactions(&mut conn).await?;

    let stream = open(
        &server,
        &dump(MariaDbStart::File {
            name: file.clone(),
            pos: start_pos,
        }),
    )
    .await?;
    let items = ours(items(&collect(stream).await?)?, &db);

    // Started at a file position, the server sends a fake ROTATE to the file and its
    // FORMAT_DESCRIPTION, then the events from the position on (no fake GTID_LIST: that
    // comes only in GTID mode, see the GTID test).
    ensure!(
        items.first() == Some(&Item::Rotate(file.clone())),
        "first event is not the fake rotate to {file}: {items:?}"
    );
    ensure!(items.get(1) == Some(&Item::FormatDescription), "{items:?}");
    ensure!(
        matches!(items.get(2), Some(Item::Gtid(..))),
        "the first transaction does not follow the preamble: {items:?}"
    );

    // Our three transactions, each opened by its GTID event and closed by an XID.
    ensure!(
        gtids(&items) == written,
        "gtids {:?} != written {written:?}",
        gtids(&items)
    );
    for item in &items {
        if let Item::Gtid(_, standalone, ddl) = item {
            ensure!(
                !standalone && !ddl,
                "a DML transaction's GTID is standalone/ddl"
            );
        }
    }
    let rows = data(&items);
    ensure!(rows == expected_rows(&db, 0..3), "rows {rows:#?}");
    // The statement text of row events comes only in ANNOTATE_ROWS, which mysql_async
    // cannot request (see sluice::mysql::handshake).
    ensure!(!items.iter().any(|item| matches!(item, Item::Annotate(_))));
    ensure!(
        !items.iter().any(|item| matches!(item, Item::Other(_))),
        "events nobody could parse: {items:?}"
    );
    conn.disconnect().await?;
    Ok(())
}

/// Without `@mariadb_slave_capability` a plain `mysql_async` stream gets no GTID events:
/// the server rewrites them for "old" replicas. This is why the handshake is needed.
#[tokio::test]
async fn without_the_capability_gtid_events_are_rewritten() -> Result<()> {
    let server = MariaDbServer::start()?;
    let (db, mut conn) = setup(&server).await?;
    let (file, pos) = binlog_end(&mut conn).await?;
    write_transactions(&mut conn).await?;

    let plain = server.connect("mysql").await?;
    let request = BinlogStreamRequest::new(replica_id())
        .with_filename(file.as_bytes())
        .with_pos(pos)
        .with_non_blocking();
    let items = ours(
        items(&collect(plain.get_binlog_stream(request).await?).await?)?,
        &db,
    );
    ensure!(
        gtids(&items).is_empty(),
        "gtid events reached an old replica: {items:?}"
    );
    let begins = items
        .iter()
        .filter(|item| matches!(item, Item::Query(q) if q.ends_with(": BEGIN")))
        .count();
    ensure!(
        begins == 3,
        "expected 3 BEGIN queries in place of GTIDs: {items:?}"
    );
    conn.disconnect().await?;
    Ok(())
}

/// (c) A stream opened at a GTID position delivers exactly the transactions after it.
#[tokio::test]
async fn gtid_position_resumes_after_the_last_delivered_transaction() -> Result<()> {
    let server = MariaDbServer::start()?;
    let (db, mut conn) = setup(&server).await?;
    let written = write_transactions(&mut conn).await?;

    for (after, expected) in [(0usize, 1..3), (1, 2..3), (2, 3..3)] {
        let position: GtidPosition = written[..=after].iter().copied().collect();
        let stream = open(&server, &dump(MariaDbStart::Gtid(position.clone()))).await?;
        let items = ours(items(&collect(stream).await?)?, &db);
        ensure!(
            gtids(&items) == written[expected.clone()],
            "from {position}: gtids {:?}, expected {:?}",
            gtids(&items),
            &written[expected.clone()]
        );
        let rows = data(&items);
        ensure!(
            rows == expected_rows(&db, expected.clone()),
            "from {position}: rows {rows:#?}"
        );
        // Nothing delivered is at or before the position it started from.
        ensure!(gtids(&items).iter().all(|gtid| !position.contains(gtid)));
    }

    // The empty position starts at the first event group: the DDL, then everything.
    let stream = open(&server, &dump(MariaDbStart::Gtid(GtidPosition::new()))).await?;
    let items = ours(items(&collect(stream).await?)?, &db);
    // In GTID mode the preamble is: fake ROTATE, FORMAT_DESCRIPTION, a fake GTID_LIST
    // with the state the stream starts from (empty here), then the file's own events
    // (its GTID_LIST and BINLOG_CHECKPOINT) before the first transaction.
    ensure!(matches!(items.first(), Some(Item::Rotate(_))), "{items:?}");
    ensure!(items.get(1) == Some(&Item::FormatDescription), "{items:?}");
    ensure!(
        matches!(items.get(2), Some(Item::GtidList(state)) if state.is_empty() || server.is_external()),
        "no (empty) fake GTID_LIST after the format description: {items:?}"
    );
    ensure!(
        items
            .iter()
            .any(|item| matches!(item, Item::Checkpoint(name) if name.starts_with("binlog."))),
        "no BINLOG_CHECKPOINT: {items:?}"
    );
    let all = gtids(&items);
    ensure!(all.ends_with(&written), "from the start: {all:?}");
    let ddl = items
        .iter()
        .any(|item| matches!(item, Item::Gtid(_, true, true)));
    ensure!(
        ddl,
        "CREATE DATABASE / CREATE TABLE have no standalone DDL gtid: {items:?}"
    );
    ensure!(data(&items) == expected_rows(&db, 0..3));

    // A position the server never had (a seq_no beyond its binlog) is refused on the
    // first read with an error, not silently streamed from elsewhere.
    let future = Gtid {
        seq_no: written[2].seq_no + 1000,
        ..written[2]
    };
    let position: GtidPosition = [future].into_iter().collect();
    let mut stream = open(&server, &dump(MariaDbStart::Gtid(position.clone()))).await?;
    let mut refused = None;
    while let Some(item) = tokio::time::timeout(WAIT, stream.next()).await? {
        match item {
            Ok(event) if event.header().event_type_raw() == event_type::MARIADB_GTID => {
                bail!("a transaction was streamed from the unknown position {position}")
            }
            Ok(_) => {}
            Err(error) => {
                refused = Some(error);
                break;
            }
        }
    }
    let error = refused.with_context(|| format!("the server accepted position {position}"))?;
    ensure!(
        matches!(&error, mysql_async::Error::Server(e) if e.code == 1236),
        "expected error 1236, got {error}"
    );
    conn.disconnect().await?;
    Ok(())
}

/// `@master_heartbeat_period` is in nanoseconds: an idle blocking stream gets HEARTBEAT
/// events at about that period.
#[tokio::test]
async fn heartbeats_arrive_on_an_idle_stream() -> Result<()> {
    let server = MariaDbServer::start()?;
    let mut conn = server.connect("mysql").await?;
    let (file, pos) = binlog_end(&mut conn).await?;
    let mut request = dump(MariaDbStart::File {
        name: file.clone(),
        pos,
    });
    request.non_blocking = false;
    request.heartbeat_period = Some(Duration::from_millis(200));
    let mut stream = open(&server, &request).await?;
    let started = std::time::Instant::now();
    let mut heartbeats = 0;
    while heartbeats < 3 {
        let event = tokio::time::timeout(WAIT, stream.next())
            .await?
            .context("stream ended")??;
        verified_body(&event)?;
        if let Some(EventData::HeartbeatEvent) = event.read_data()? {
            heartbeats += 1;
            // Its body is the binlog file the server is at.
            ensure!(
                event.data() == file.as_bytes(),
                "heartbeat body {:?}",
                event.data()
            );
        }
    }
    // 3 periods of 200ms: well under 5s; a period read as seconds would take 600s.
    ensure!(
        started.elapsed() < Duration::from_secs(5),
        "heartbeats too slow: {:?}",
        started.elapsed()
    );
    conn.disconnect().await?;
    Ok(())
}

/// ANNOTATE_ROWS (and every other event) as the server wrote it to the binlog file:
/// split with CRC32 verification and decoded by our decoders, with no help from
/// `mysql_common`.
#[tokio::test]
async fn binlog_file_events_verify_and_decode() -> Result<()> {
    let server = MariaDbServer::start()?;
    if server.is_external() {
        return Ok(()); // needs the datadir
    }
    let (_db, mut conn) = setup(&server).await?;
    let written = write_transactions(&mut conn).await?;
    let (file, end) = binlog_end(&mut conn).await?;
    let path = server.binlog_path(&file).context("local server")?;
    let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
    // The server may have more buffered than written; everything up to `end` is there.
    let bytes = bytes
        .get(..usize::try_from(end)?)
        .context("binlog shorter than its end")?;

    let mut alg = ChecksumAlg::Off;
    let mut annotations = Vec::new();
    let mut file_gtids = Vec::new();
    let mut count = 0;
    for event in file_events(bytes)? {
        let (pos, event) = event?;
        let header = EventHeader::decode(event)?;
        if header.event_type == event_type::FORMAT_DESCRIPTION {
            alg = ChecksumAlg::from_format_description(event)?;
            ensure!(
                alg == ChecksumAlg::Crc32,
                "binlog_checksum=CRC32 not declared"
            );
        }
        let raw = RawEvent::split(event, alg).with_context(|| format!("event at {pos}"))?;
        ensure!(
            raw.header.log_pos as usize == pos + event.len(),
            "log_pos of the event at {pos} does not point behind it"
        );
        match MariaDbEvent::decode(raw.header.event_type, raw.body)? {
            Some(MariaDbEvent::AnnotateRows(a)) => annotations.push(a.query_lossy().into_owned()),
            Some(MariaDbEvent::Gtid(g)) => file_gtids.push(g.gtid(raw.header.server_id)),
            _ => {}
        }
        count += 1;
    }
    ensure!(count > 10, "only {count} events in {file}");
    ensure!(file_gtids.ends_with(&written), "file gtids {file_gtids:?}");
    ensure!(
        annotations
            == [
                "INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20)",
                "UPDATE t SET qty = qty + 1 WHERE id = 2",
                "DELETE FROM t WHERE id = 1",
            ],
        "annotations {annotations:?}"
    );
    conn.disconnect().await?;
    Ok(())
}

/// The options for bad-input tests do what they say.
#[tokio::test]
async fn bad_input_options_reach_the_server() -> Result<()> {
    let server = MariaDbServer::start_with(MariaDbOptions {
        log_bin: false,
        binlog_format: "STATEMENT".to_owned(),
        binlog_row_image: "MINIMAL".to_owned(),
        limited_user: true,
        ..MariaDbOptions::default()
    })?;
    let mut conn = server.connect("mysql").await?;
    let settings: Option<(u32, String, String)> = conn
        .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")
        .await?;
    ensure!(settings == Some((0, "STATEMENT".to_owned(), "MINIMAL".to_owned())));

    // The limited user can read tables but not the binlog.
    let (user, password) = server.limited_user().context("limited user")?;
    let mut limited = Conn::new(server.opts_as(user, password, "mysql")).await?;
    let _: Vec<String> = limited.query("SELECT User FROM mysql.user").await?;
    let denied = limited.query_drop("SHOW BINARY LOGS").await;
    ensure!(denied.is_err(), "SHOW BINARY LOGS worked for {user}");
    limited.disconnect().await?;
    conn.disconnect().await?;
    Ok(())
}

/// A user without REPLICATION SLAVE is refused the dump (on the first read).
#[tokio::test]
async fn dump_without_replication_privilege_is_refused() -> Result<()> {
    let server = MariaDbServer::start_with(MariaDbOptions {
        limited_user: true,
        ..MariaDbOptions::default()
    })?;
    let (user, password) = server.limited_user().context("limited user")?;
    let conn = Conn::new(server.opts_as(user, password, "mysql")).await?;
    let result = open_mariadb_stream(conn, &dump(MariaDbStart::Gtid(GtidPosition::new()))).await;
    let error = match result {
        Err(error) => error.to_string(),
        Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await? {
            Some(Err(error)) => error.to_string(),
            other => bail!("the dump was accepted for {user}: {other:?}"),
        },
    };
    ensure!(
        error.contains("REPLICATION") || error.contains("denied"),
        "unexpected refusal: {error}"
    );
    Ok(())
}

/// stop / start_again / kill keep the data: what crash tests of a connector rely on.
#[tokio::test]
async fn server_survives_stop_kill_and_restart() -> Result<()> {
    // A password that needs escaping in SQL and percent-encoding in the url.
    let server = MariaDbServer::start_with(MariaDbOptions {
        password: "p@ss:w/rd'\\".to_owned(),
        ..MariaDbOptions::default()
    })?;
    let (db, mut conn) = setup(&server).await?;
    conn.query_drop("INSERT INTO t VALUES (1, 'a', 1)").await?;
    conn.disconnect().await?;

    server.stop()?;
    ensure!(server.pid().is_none());
    ensure!(
        server.connect(&db).await.is_err(),
        "a stopped server accepted a connection"
    );
    server.start_again()?;
    let mut conn = server.connect(&db).await?;
    conn.query_drop("INSERT INTO t VALUES (2, 'b', 2)").await?;
    conn.disconnect().await?;

    server.kill()?;
    server.start_again()?;
    let mut conn = Conn::from_url(server.url(&db)).await?;
    let ids: Vec<i32> = conn.query("SELECT id FROM t ORDER BY id").await?;
    ensure!(ids == [1, 2], "rows after kill -9 and restart: {ids:?}");
    conn.disconnect().await?;
    Ok(())
}
