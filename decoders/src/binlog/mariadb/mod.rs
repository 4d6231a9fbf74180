//! MariaDB's own binlog events, which `mysql_common` does not parse: GTID (162),
//! GTID_LIST (163), BINLOG_CHECKPOINT (161) and ANNOTATE_ROWS (160), decoded one to one
//! from the event body (header and checksum already removed), plus the GTID values they
//! carry ([`Gtid`], [`GtidPosition`]).
//!
//! ```text
//! GTID_EVENT body     seq_no u64 │ domain_id u32 │ flags2 u8 │ [commit_id u64]  if FL_GROUP_COMMIT_ID
//!                     │ [format_id u32, gtrid_len u8, bqual_len u8, xid data]  if FL_PREPARED_XA|FL_COMPLETED_XA
//!                     │ [flags_extra u8 │ [extra_engines u8] │ [sa_seq_no u64] │ [thread_id u32]]
//!                     │ zero padding up to 19 bytes (the post-header length)
//!                     server_id of the GTID = the event header's server_id
//! GTID_LIST body      count u32 (low 28 bits; high 4 bits: flags) │ count × (domain u32, server u32, seq u64)
//!                     │ [zero padding: 10.11 writes an empty list as 6 bytes]
//! BINLOG_CHECKPOINT   name_len u32 │ binlog file name
//! ANNOTATE_ROWS       the statement text, to the end of the body
//! ```
//!
//! Layouts follow the MariaDB server's `Gtid_log_event`, `Gtid_list_log_event`,
//! `Binlog_checkpoint_log_event` and `Annotate_rows_log_event` readers (sql/log_event.cc).

mod gtid;

pub use gtid::{Gtid, GtidPosition};

use super::cursor::Cursor;
use super::header::event_type;
use crate::DecodeError;

/// Length of the GTID_EVENT post-header (`GTID_HEADER_LEN`): the body is zero-padded to it.
pub const GTID_HEADER_LEN: usize = 19;
/// Longest XID parts (`MAXGTRIDSIZE`, `MAXBQUALSIZE`).
const MAX_XID_PART_LEN: u8 = 64;

/// One MariaDB-specific event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MariaDbEvent {
    AnnotateRows(AnnotateRowsEvent),
    BinlogCheckpoint(BinlogCheckpointEvent),
    Gtid(GtidEvent),
    GtidList(GtidListEvent),
}

impl MariaDbEvent {
    /// Decodes `body` if `event_type` is one of the four MariaDB events this module knows;
    /// `Ok(None)` for any other type (a MySQL event, or a MariaDB event such as
    /// START_ENCRYPTION that a connector handles or rejects by its type alone).
    pub fn decode(event_type: u8, body: &[u8]) -> Result<Option<MariaDbEvent>, DecodeError> {
        Ok(Some(match event_type {
            event_type::ANNOTATE_ROWS => {
                MariaDbEvent::AnnotateRows(AnnotateRowsEvent::decode(body))
            }
            event_type::BINLOG_CHECKPOINT => {
                MariaDbEvent::BinlogCheckpoint(BinlogCheckpointEvent::decode(body)?)
            }
            event_type::MARIADB_GTID => MariaDbEvent::Gtid(GtidEvent::decode(body)?),
            event_type::GTID_LIST => MariaDbEvent::GtidList(GtidListEvent::decode(body)?),
            _ => return Ok(None),
        }))
    }
}

/// `flags2` bits of a GTID_EVENT.
pub mod gtid_flags {
    /// No terminating COMMIT/XID: a DDL or other non-transactional statement group.
    pub const FL_STANDALONE: u8 = 0x01;
    /// `commit_id` follows: groups with the same id were group-committed together.
    pub const FL_GROUP_COMMIT_ID: u8 = 0x02;
    /// The group can be rolled back safely (only transactional engines).
    pub const FL_TRANSACTIONAL: u8 = 0x04;
    /// `skip_parallel_replication` was off at commit.
    pub const FL_ALLOW_PARALLEL: u8 = 0x08;
    /// A row lock wait (or other wait) happened during the transaction.
    pub const FL_WAITED: u8 = 0x10;
    /// The group contains DDL.
    pub const FL_DDL: u8 = 0x20;
    /// `XA PREPARE` of an XA transaction; the XID follows.
    pub const FL_PREPARED_XA: u8 = 0x40;
    /// `XA COMMIT` / `XA ROLLBACK` of an XA transaction; the XID follows.
    pub const FL_COMPLETED_XA: u8 = 0x80;
}

/// `flags_extra` bits of a GTID_EVENT (MariaDB 10.8+; 0 or absent before).
pub mod gtid_flags_extra {
    /// `extra_engines` follows: the transaction spanned more than one engine.
    pub const FL_EXTRA_MULTI_ENGINE: u8 = 0x01;
    /// First half of a replicated two-phase `ALTER TABLE` (`binlog_alter_two_phase`).
    pub const FL_START_ALTER: u8 = 0x02;
    /// Second half, committing the ALTER that started at `sa_seq_no`.
    pub const FL_COMMIT_ALTER: u8 = 0x04;
    /// Second half, rolling back the ALTER that started at `sa_seq_no`.
    pub const FL_ROLLBACK_ALTER: u8 = 0x08;
    /// `thread_id` follows (MariaDB 11.5+).
    pub const FL_EXTRA_THREAD_ID: u8 = 0x10;
    /// Every bit this decoder knows the layout of.
    pub(crate) const KNOWN: u8 = FL_EXTRA_MULTI_ENGINE
        | FL_START_ALTER
        | FL_COMMIT_ALTER
        | FL_ROLLBACK_ALTER
        | FL_EXTRA_THREAD_ID;
}

/// GTID_EVENT (162): starts an event group (replacing `BEGIN`) and names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidEvent {
    pub seq_no: u64,
    pub domain_id: u32,
    /// [`gtid_flags`].
    pub flags2: u8,
    /// With [`gtid_flags::FL_GROUP_COMMIT_ID`].
    pub commit_id: Option<u64>,
    /// With [`gtid_flags::FL_PREPARED_XA`] or [`gtid_flags::FL_COMPLETED_XA`].
    pub xid: Option<Xid>,
    /// [`gtid_flags_extra`]; 0 when the event has none.
    pub flags_extra: u8,
    /// With [`gtid_flags_extra::FL_EXTRA_MULTI_ENGINE`]: engines beyond the first.
    pub extra_engines: Option<u8>,
    /// With `FL_COMMIT_ALTER` / `FL_ROLLBACK_ALTER`: `seq_no` of the START ALTER group.
    pub sa_seq_no: Option<u64>,
    /// With [`gtid_flags_extra::FL_EXTRA_THREAD_ID`]: the originating connection id.
    pub thread_id: Option<u32>,
}

/// The XA transaction id of a GTID_EVENT (`XID` in the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xid {
    pub format_id: u32,
    /// Global transaction id part (`gtrid`), at most 64 bytes.
    pub gtrid: Vec<u8>,
    /// Branch qualifier (`bqual`), at most 64 bytes.
    pub bqual: Vec<u8>,
}

impl GtidEvent {
    /// Decodes a GTID_EVENT body (header and checksum removed).
    pub fn decode(body: &[u8]) -> Result<GtidEvent, DecodeError> {
        if body.len() < GTID_HEADER_LEN {
            return Err(DecodeError::UnexpectedEof {
                offset: body.len(),
                field: "gtid event post-header (19 bytes)",
            });
        }
        let mut cursor = Cursor::new(body);
        let seq_no = cursor.u64("gtid seq_no")?;
        let domain_id = cursor.u32("gtid domain_id")?;
        let flags2 = cursor.u8("gtid flags2")?;
        let commit_id = if flags2 & gtid_flags::FL_GROUP_COMMIT_ID != 0 {
            Some(cursor.u64("gtid commit_id")?)
        } else {
            None
        };
        let xid = if flags2 & (gtid_flags::FL_PREPARED_XA | gtid_flags::FL_COMPLETED_XA) != 0 {
            let format_id = cursor.u32("gtid xid format_id")?;
            let lengths_at = cursor.offset();
            let gtrid_len = cursor.u8("gtid xid gtrid_length")?;
            let bqual_len = cursor.u8("gtid xid bqual_length")?;
            if gtrid_len > MAX_XID_PART_LEN || bqual_len > MAX_XID_PART_LEN {
                return Err(DecodeError::InvalidField {
                    offset: lengths_at,
                    field: "gtid xid length",
                    reason: "an xid part is longer than 64 bytes",
                });
            }
            let gtrid = cursor
                .bytes(usize::from(gtrid_len), "gtid xid gtrid")?
                .to_vec();
            let bqual = cursor
                .bytes(usize::from(bqual_len), "gtid xid bqual")?
                .to_vec();
            Some(Xid {
                format_id,
                gtrid,
                bqual,
            })
        } else {
            None
        };
        let mut event = GtidEvent {
            seq_no,
            domain_id,
            flags2,
            commit_id,
            xid,
            flags_extra: 0,
            extra_engines: None,
            sa_seq_no: None,
            thread_id: None,
        };
        // What is left is flags_extra and its fields, or the zero padding to 19 bytes
        // (which then reads as flags_extra = 0).
        if cursor.remaining() > 0 {
            let flags_extra = cursor.u8("gtid flags_extra")?;
            event.flags_extra = flags_extra;
            if flags_extra & gtid_flags_extra::FL_EXTRA_MULTI_ENGINE != 0 {
                event.extra_engines = Some(cursor.u8("gtid extra_engines")?);
            }
            if flags_extra
                & (gtid_flags_extra::FL_COMMIT_ALTER | gtid_flags_extra::FL_ROLLBACK_ALTER)
                != 0
            {
                event.sa_seq_no = Some(cursor.u64("gtid sa_seq_no")?);
            }
            if flags_extra & gtid_flags_extra::FL_EXTRA_THREAD_ID != 0 {
                event.thread_id = Some(cursor.u32("gtid thread_id")?);
            }
            // A newer server may add fields behind bits we do not know: those bytes are
            // its business. With only known bits, the rest must be the zero padding.
            let unknown_bits = flags_extra & !gtid_flags_extra::KNOWN != 0;
            if !unknown_bits {
                if let Some(at) = cursor.rest().iter().position(|&b| b != 0) {
                    return Err(DecodeError::TrailingBytes {
                        offset: cursor.offset() + at,
                        remaining: cursor.remaining() - at,
                        message: "gtid event",
                    });
                }
            }
        }
        Ok(event)
    }

    /// The event group's GTID; `server_id` is the event header's.
    pub fn gtid(&self, server_id: u32) -> Gtid {
        Gtid {
            domain_id: self.domain_id,
            server_id,
            seq_no: self.seq_no,
        }
    }

    /// No COMMIT/XID ends the group (DDL, non-transactional statements): the group ends
    /// after its one statement.
    pub fn is_standalone(&self) -> bool {
        self.flags2 & gtid_flags::FL_STANDALONE != 0
    }

    /// The group contains DDL.
    pub fn is_ddl(&self) -> bool {
        self.flags2 & gtid_flags::FL_DDL != 0
    }
}

/// GTID_LIST_EVENT (163): at the start of every binlog file, the binlog state (the last
/// GTID of each domain and server) before the file. Sent as a fake event after the
/// FORMAT_DESCRIPTION when a replica connects, and with [`GtidListEvent::FLAG_UNTIL_REACHED`]
/// when a `START SLAVE UNTIL` position was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidListEvent {
    /// The high 4 bits of the count field.
    pub flags: u32,
    /// In binlog order: grouped by domain, the last GTID of a domain being its newest.
    pub list: Vec<Gtid>,
}

impl GtidListEvent {
    /// The stream stops here because the replica's UNTIL position was reached.
    pub const FLAG_UNTIL_REACHED: u32 = 1 << 28;
    /// Replica-internal: the listed GTIDs are to be ignored (relay logs only).
    pub const FLAG_IGN_GTIDS: u32 = 1 << 29;
    const COUNT_MASK: u32 = (1 << 28) - 1;
    const ELEMENT_LEN: usize = 16;

    /// Decodes a GTID_LIST_EVENT body (header and checksum removed).
    pub fn decode(body: &[u8]) -> Result<GtidListEvent, DecodeError> {
        let mut cursor = Cursor::new(body);
        let count_field = cursor.u32("gtid list count")?;
        let count = (count_field & Self::COUNT_MASK) as usize;
        // Check the length before allocating for a count that may be garbage.
        let needed = count.saturating_mul(Self::ELEMENT_LEN);
        if cursor.remaining() < needed {
            return Err(DecodeError::UnexpectedEof {
                offset: body.len(),
                field: "gtid list entries",
            });
        }
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            list.push(Gtid {
                domain_id: cursor.u32("gtid list domain_id")?,
                server_id: cursor.u32("gtid list server_id")?,
                seq_no: cursor.u64("gtid list seq_no")?,
            });
        }
        // MariaDB 10.11 writes an empty list as the count and two zero bytes; tolerate
        // zero padding, but not data we would be ignoring.
        if let Some(at) = cursor.rest().iter().position(|&b| b != 0) {
            return Err(DecodeError::TrailingBytes {
                offset: cursor.offset() + at,
                remaining: cursor.remaining() - at,
                message: "gtid list event",
            });
        }
        Ok(GtidListEvent {
            flags: count_field & !Self::COUNT_MASK,
            list,
        })
    }

    /// The position a replica is at once it has seen everything before this event: the
    /// newest GTID of each domain.
    pub fn position(&self) -> GtidPosition {
        GtidPosition::from_binlog_state(&self.list)
    }
}

/// BINLOG_CHECKPOINT_EVENT (161): the oldest binlog file crash recovery may still need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogCheckpointEvent {
    /// A file name as `SHOW BINARY LOGS` lists it, e.g. `binlog.000003`.
    pub binlog_file_name: String,
}

impl BinlogCheckpointEvent {
    /// Decodes a BINLOG_CHECKPOINT_EVENT body (header and checksum removed).
    pub fn decode(body: &[u8]) -> Result<BinlogCheckpointEvent, DecodeError> {
        let mut cursor = Cursor::new(body);
        let len = cursor.u32("binlog checkpoint name length")?;
        let at = cursor.offset();
        let name = cursor.bytes(
            usize::try_from(len).unwrap_or(usize::MAX),
            "binlog checkpoint file name",
        )?;
        cursor.finish("binlog checkpoint event")?;
        let binlog_file_name = std::str::from_utf8(name)
            .map_err(|_| DecodeError::InvalidUtf8 {
                offset: at,
                field: "binlog checkpoint file name",
            })?
            .to_owned();
        Ok(BinlogCheckpointEvent { binlog_file_name })
    }
}

/// ANNOTATE_ROWS_EVENT (160): the statement that produced the row events after it, as
/// sent by the client (`binlog_annotate_row_events=ON`, the default). Only delivered to a
/// replica whose COM_BINLOG_DUMP sets `BINLOG_SEND_ANNOTATE_ROWS_EVENT` (flag 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotateRowsEvent {
    /// In the client's character set, which the event does not record; may contain row
    /// data, so never log it.
    pub query: Vec<u8>,
}

impl AnnotateRowsEvent {
    /// Decodes an ANNOTATE_ROWS_EVENT body: all of it is the statement (no post-header),
    /// so any body is valid.
    pub fn decode(body: &[u8]) -> AnnotateRowsEvent {
        AnnotateRowsEvent {
            query: body.to_vec(),
        }
    }

    /// The statement as text, invalid UTF-8 replaced.
    pub fn query_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.query)
    }
}

#[cfg(test)]
mod tests;
