//! Opening a binlog stream as a replica of MySQL or MariaDB with `mysql_async`: telling
//! the two apart, the session variables each server reads before COM_BINLOG_DUMP, and
//! the dump request itself. What the servers expect was read from MariaDB's
//! sql/sql_repl.cc (`mysql_binlog_send` and its helpers) and checked against a real
//! MariaDB 10.11 by `tests/mariadb_binlog.rs`.
//!
//! ```text
//! Conn ──detect_flavor──► MariaDb ──SET @mariadb_slave_capability=4
//!   │                               SET @master_binlog_checksum / @master_heartbeat_period
//!   │                               SET @slave_connect_state='0-1-100,...' (GTID start)
//!   │                     ──COM_REGISTER_SLAVE, COM_BINLOG_DUMP(file, pos, server_id)──► BinlogStream
//!   └───────────────────► MySql   ──COM_REGISTER_SLAVE, COM_BINLOG_DUMP_GTID(GtidSet)────► BinlogStream
//! ```
//!
//! # MariaDB or MySQL
//!
//! `SELECT @@version` contains `MariaDB` on MariaDB (`10.11.19-MariaDB-0+deb12u1-log`);
//! MySQL never says so. (The handshake packet of MariaDB 10.x reports `5.5.5-10.11...`
//! for old clients; `mysql_async` strips that, but the flag it keeps is private.) The
//! flavor decides the GTID model: MariaDB `domain-server-seq` positions
//! ([`GtidPosition`]) with COM_BINLOG_DUMP, MySQL `uuid:interval` sets ([`GtidSet`])
//! with COM_BINLOG_DUMP_GTID, which MariaDB does not implement.
//!
//! # What a MariaDB server reads before COM_BINLOG_DUMP
//!
//! All are user variables of the dump connection, set with `SET @name=value` before the
//! dump command (`mysql_async::Conn::get_binlog_stream` sends COM_REGISTER_SLAVE and
//! COM_BINLOG_DUMP on the same connection, so they stay in effect):
//!
//! * `@mariadb_slave_capability` = 4 (`MARIA_SLAVE_CAPABILITY_GTID`). Without it (an
//!   "old" replica, capability 0) the server rewrites GTID events into `BEGIN` query
//!   events, drops or dummies GTID_LIST and BINLOG_CHECKPOINT, and refuses GTID
//!   positioning. ANNOTATE_ROWS events are sent only when COM_BINLOG_DUMP carries the
//!   flag `BINLOG_SEND_ANNOTATE_ROWS_EVENT` (2); `mysql_async` 0.37 offers no way to set
//!   it (only NON_BLOCK), so through it they are silently omitted (capability >= 2
//!   tolerates holes). Reading them needs a dump request of our own.
//! * `@slave_connect_state` = a GTID position (`0-1-100,1-2-5`; empty string = from
//!   the start of every domain). Its mere presence switches the server to GTID mode:
//!   the binlog file name and position of COM_BINLOG_DUMP are then ignored (send an
//!   empty name and 4), the server finds the oldest binlog file whose GTID_LIST is at or
//!   before every requested domain, and skips event groups up to and including each
//!   domain's GTID. The first group sent is the one after the position. A GTID that is
//!   no longer in the binlogs (purged) or was never there fails the stream with error
//!   1236 on the first read, not at `get_binlog_stream`.
//! * `@slave_gtid_strict_mode` = 0 or 1: with 1, a requested GTID that falls in a hole
//!   of the server's binlog (both neighbours exist) is an error instead of being skipped.
//! * `@slave_gtid_ignore_duplicates` = 0: only meaningful for multi-source replicas.
//! * `@master_binlog_checksum`: its presence tells the server the replica understands
//!   checksummed events (without it a server with `binlog_checksum=CRC32` refuses the
//!   dump). Real replicas set it to `@@global.binlog_checksum`; `mysql_async`
//!   overwrites it with `'ALL'` just before COM_REGISTER_SLAVE, which MariaDB accepts
//!   (only presence is checked). Events then arrive exactly as in the binlog file, each
//!   ending in its CRC32 when the server's FORMAT_DESCRIPTION says so; `mysql_common`
//!   cuts the CRC off without verifying it.
//! * `@master_heartbeat_period` = nanoseconds (an integer): while no event is sent for
//!   that long, the server sends a HEARTBEAT event (type 27, the current binlog file name
//!   as body, `log_pos` = current position). 0 or unset: no heartbeats.
//!
//! After the dump command the server sends, before any transaction (observed on 10.11):
//!
//! * a fake ROTATE to the file it starts in (timestamp 0, `LOG_EVENT_ARTIFICIAL_F`). It
//!   comes before any FORMAT_DESCRIPTION, so `mysql_common` does not know yet that
//!   checksums are on and leaves the event's CRC32 in `Event::data()`: its
//!   `RotateEvent::name()` then ends in 4 garbage bytes. Reassemble header and data and
//!   split them with `sluice_decoders::binlog::header::RawEvent` (which verifies and
//!   removes the CRC) when `@@global.binlog_checksum` is CRC32.
//! * the file's FORMAT_DESCRIPTION;
//! * in GTID mode only: a fake GTID_LIST with the position the stream starts from, then
//!   the file's own GTID_LIST and BINLOG_CHECKPOINT events. Started at a file position
//!   in the middle of a file, the events from that position follow directly.
//!
//! Every transaction then starts with a GTID event (162) instead of `BEGIN`. DDL has
//! `FL_STANDALONE | FL_DDL` and no XID; so has `XA COMMIT` (a lone query event), while
//! `XA PREPARE` ends in an XA_PREPARE event (38). A non-blocking dump ends with an EOF
//! packet at the end of the binlog (`BinlogStream` yields `None`).
//!
//! # MySQL
//!
//! MySQL 8 reads only `@master_binlog_checksum` and `@master_heartbeat_period` (same
//! meaning); GTID positioning is COM_BINLOG_DUMP_GTID with the binary GTID set
//! ([`GtidSet::encode`]), sent by `BinlogStreamRequest::with_gtid().with_gtid_set(..)`.
//! MySQL 8 cannot be installed on our machines, so that path is only checked for its
//! encoding.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, GnoInterval, Sid};
use sluice_decoders::binlog::mariadb::GtidPosition;
use sluice_decoders::binlog::mysql::GtidSet;

/// `MARIA_SLAVE_CAPABILITY_GTID`: the replica understands GTID, GTID_LIST and
/// BINLOG_CHECKPOINT events and GTID positioning.
pub const MARIADB_SLAVE_CAPABILITY_GTID: u32 = 4;

/// Which server implementation is on the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MySql,
    MariaDb,
}

impl Flavor {
    /// From the text of `SELECT @@version`.
    pub fn from_version(version: &str) -> Flavor {
        if version.contains("MariaDB") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }
}

/// Why the replica handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// A statement of the handshake failed (connection lost, or missing privileges).
    #[error("could not run `{statement}` while preparing the binlog stream: check the connection and that the user has REPLICATION SLAVE")]
    Statement {
        statement: &'static str,
        #[source]
        source: mysql_async::Error,
    },
    /// COM_REGISTER_SLAVE / COM_BINLOG_DUMP was refused.
    #[error("the server refused the binlog dump request (replica server id {server_id}): check REPLICATION SLAVE privileges, that log_bin is ON and that the server id is unique among replicas")]
    Dump {
        server_id: u32,
        #[source]
        source: mysql_async::Error,
    },
}

/// `SELECT @@version` and the [`Flavor`] it names.
pub async fn detect_flavor(conn: &mut Conn) -> Result<(Flavor, String), HandshakeError> {
    const STATEMENT: &str = "SELECT @@version";
    let version: Option<String> =
        conn.query_first(STATEMENT)
            .await
            .map_err(|source| HandshakeError::Statement {
                statement: STATEMENT,
                source,
            })?;
    let version = version.unwrap_or_default();
    Ok((Flavor::from_version(&version), version))
}

/// Where a MariaDB binlog stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MariaDbStart {
    /// After these GTIDs (empty position: from the first event group the server has).
    Gtid(GtidPosition),
    /// At a file and position (`SHOW BINARY LOGS`); event groups are not skipped.
    File { name: String, pos: u64 },
}

/// A MariaDB dump request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MariaDbDump {
    /// Our `server_id` as a replica: unique among the server's replicas (a second dump
    /// with the same id makes the server end the first), and not the server's own.
    pub replica_server_id: u32,
    pub start: MariaDbStart,
    /// `None`: no heartbeats.
    pub heartbeat_period: Option<Duration>,
    /// `@slave_gtid_strict_mode`.
    pub gtid_strict_mode: bool,
    /// End the stream at the end of the binlog instead of waiting for new events.
    pub non_blocking: bool,
}

/// Runs the MariaDB replica handshake on `conn` (see the module docs) and turns it into
/// a binlog stream. Errors in the start position surface on the stream's first item.
pub async fn open_mariadb_stream(
    mut conn: Conn,
    dump: &MariaDbDump,
) -> Result<BinlogStream, HandshakeError> {
    let capability = format!("SET @mariadb_slave_capability={MARIADB_SLAVE_CAPABILITY_GTID}");
    run(&mut conn, "SET @mariadb_slave_capability", capability).await?;
    // Overwritten with 'ALL' by mysql_async; set like a real replica in case it stops.
    run(
        &mut conn,
        "SET @master_binlog_checksum",
        "SET @master_binlog_checksum=@@global.binlog_checksum".to_owned(),
    )
    .await?;
    if let Some(period) = dump.heartbeat_period {
        let nanos = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX);
        run(
            &mut conn,
            "SET @master_heartbeat_period",
            format!("SET @master_heartbeat_period={nanos}"),
        )
        .await?;
    }
    if let MariaDbStart::Gtid(position) = &dump.start {
        // GTID text is digits, '-' and ',' only: nothing to escape.
        run(
            &mut conn,
            "SET @slave_connect_state",
            format!("SET @slave_connect_state='{position}'"),
        )
        .await?;
        run(
            &mut conn,
            "SET @slave_gtid_strict_mode",
            format!(
                "SET @slave_gtid_strict_mode={}, @slave_gtid_ignore_duplicates=0",
                u8::from(dump.gtid_strict_mode)
            ),
        )
        .await?;
    }
    let mut request = BinlogStreamRequest::new(dump.replica_server_id);
    request = match &dump.start {
        // Ignored by the server in GTID mode; 4 is the first event of any file.
        MariaDbStart::Gtid(_) => request.with_filename(b"").with_pos(4),
        MariaDbStart::File { name, pos } => request.with_filename(name.as_bytes()).with_pos(*pos),
    };
    if dump.non_blocking {
        request = request.with_non_blocking();
    }
    conn.get_binlog_stream(request)
        .await
        .map_err(|source| HandshakeError::Dump {
            server_id: dump.replica_server_id,
            source,
        })
}

/// A MySQL COM_BINLOG_DUMP_GTID request that starts after `executed` (the server sends
/// every transaction not in the set).
pub fn mysql_gtid_request(
    replica_server_id: u32,
    executed: &GtidSet,
) -> BinlogStreamRequest<'static> {
    BinlogStreamRequest::new(replica_server_id)
        .with_gtid()
        .with_gtid_set(mysql_sids(executed))
}

/// `executed` as `mysql_async` sids (intervals with exclusive ends).
pub fn mysql_sids(executed: &GtidSet) -> Vec<Sid<'static>> {
    executed
        .iter()
        .map(|(uuid, intervals)| {
            intervals.iter().fold(Sid::new(uuid.0), |sid, interval| {
                // `last <= MAX_GNO < u64::MAX`: the exclusive end cannot overflow.
                sid.with_interval(GnoInterval::new(interval.first, interval.last + 1))
            })
        })
        .collect()
}

async fn run(conn: &mut Conn, statement: &'static str, sql: String) -> Result<(), HandshakeError> {
    conn.query_drop(sql)
        .await
        .map_err(|source| HandshakeError::Statement { statement, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_from_version_text() {
        assert_eq!(
            Flavor::from_version("10.11.19-MariaDB-0+deb12u1-log"),
            Flavor::MariaDb
        );
        assert_eq!(
            Flavor::from_version("5.5.5-10.6.4-MariaDB"),
            Flavor::MariaDb
        );
        assert_eq!(Flavor::from_version("8.0.36"), Flavor::MySql);
        assert_eq!(
            Flavor::from_version("8.0.36-28 Percona Server"),
            Flavor::MySql
        );
    }

    #[test]
    fn mysql_sids_have_exclusive_ends() {
        let set = GtidSet::parse(
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,f6b1e1c2-0a2b-11ef-8e0a-0242ac120002:3",
        )
        .expect("valid set");
        let sids = mysql_sids(&set);
        assert_eq!(sids.len(), 2);
        assert_eq!(sids[0].uuid()[..4], [0x3e, 0x11, 0xfa, 0x47]);
        let intervals: Vec<(u64, u64)> = sids[0]
            .intervals()
            .iter()
            .map(|i| (i.start(), i.end()))
            .collect();
        assert_eq!(intervals, [(1, 6), (7, 8)]);
        assert_eq!(
            sids[1]
                .intervals()
                .iter()
                .map(|i| (i.start(), i.end()))
                .collect::<Vec<_>>(),
            [(3, 4)]
        );
    }
}
