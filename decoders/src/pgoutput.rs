//! pgoutput: the Postgres "Logical Replication Message Formats", protocol
//! versions 1 to 4, decoded one to one into typed messages.
//!
//! This module owns the wire layout of every message the `pgoutput` plugin
//! sends inside `XLogData` frames, and the one piece of state the layout
//! depends on: whether the decoder is between `StreamStart` and `StreamStop`
//! (inside such a block, data messages carry the streamed transaction's xid).
//! It knows nothing about column types: tuple columns stay as zero-copy
//! [`Bytes`] slices of the input and are turned into values by
//! [`crate::pgvalue`].
//!
//! ```text
//!  XLogData payload ──► Decoder::decode ──► Message::{Begin, Relation, Insert, ..., Commit}
//!                          │ in_stream: set by StreamStart, cleared by StreamStop
//!                          └─ Insert/Update/Delete: TupleData(Vec<ColumnValue>) slices of the payload
//! ```
//!
//! Names follow the spec (and the `pgoutput` source) rather than Debezium;
//! mapping to change events happens in the Postgres connector.

use bytes::Bytes;

pub use crate::DecodeError;

/// A WAL position (`XLogRecPtr`).
pub type Lsn = u64;

/// One logical replication message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Begin(Begin),
    Commit(Commit),
    Origin(Origin),
    Relation(Relation),
    Type(Type),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Truncate(Truncate),
    Message(LogicalMessage),
    StreamStart(StreamStart),
    StreamStop,
    StreamCommit(StreamCommit),
    StreamAbort(StreamAbort),
    BeginPrepare(BeginPrepare),
    Prepare(Prepare),
    CommitPrepared(CommitPrepared),
    RollbackPrepared(RollbackPrepared),
    StreamPrepare(StreamPrepare),
}

impl Message {
    /// The spec's name for this message, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Begin(_) => "begin",
            Message::Commit(_) => "commit",
            Message::Origin(_) => "origin",
            Message::Relation(_) => "relation",
            Message::Type(_) => "type",
            Message::Insert(_) => "insert",
            Message::Update(_) => "update",
            Message::Delete(_) => "delete",
            Message::Truncate(_) => "truncate",
            Message::Message(_) => "message",
            Message::StreamStart(_) => "stream start",
            Message::StreamStop => "stream stop",
            Message::StreamCommit(_) => "stream commit",
            Message::StreamAbort(_) => "stream abort",
            Message::BeginPrepare(_) => "begin prepare",
            Message::Prepare(_) => "prepare",
            Message::CommitPrepared(_) => "commit prepared",
            Message::RollbackPrepared(_) => "rollback prepared",
            Message::StreamPrepare(_) => "stream prepare",
        }
    }
}

/// `B`: start of a (non-streamed) transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// LSN of the transaction's commit record.
    pub final_lsn: Lsn,
    /// Commit time, microseconds since 2000-01-01 UTC, as on the wire.
    pub commit_ts: i64,
    pub xid: u32,
}

/// `C`: end of a (non-streamed) transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Currently unused by Postgres (always 0).
    pub flags: u8,
    pub commit_lsn: Lsn,
    /// End LSN of the transaction: what to confirm as flushed once durable.
    pub end_lsn: Lsn,
    /// Microseconds since 2000-01-01 UTC.
    pub commit_ts: i64,
}

/// `O`: the transaction was replicated into this server from `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub commit_lsn: Lsn,
    pub name: String,
}

/// `R`: the schema of a table, sent before the first change to it in a
/// session and again after it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Set only inside a streamed block (protocol v2+).
    pub xid: Option<u32>,
    /// The relation's OID; `relation_id` in data messages refers to it.
    pub id: u32,
    pub namespace: String,
    pub name: String,
    pub replica_identity: ReplicaIdentity,
    pub columns: Vec<RelationColumn>,
}

/// `pg_class.relreplident`: which old-row columns Update/Delete carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaIdentity {
    /// `d`: primary key columns.
    Default,
    /// `n`: nothing.
    Nothing,
    /// `f`: all columns.
    Full,
    /// `i`: the columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// The `relreplident` character.
    pub fn as_char(self) -> char {
        match self {
            ReplicaIdentity::Default => 'd',
            ReplicaIdentity::Nothing => 'n',
            ReplicaIdentity::Full => 'f',
            ReplicaIdentity::Index => 'i',
        }
    }
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Bit 1: the column is part of the replica identity key.
    pub flags: u8,
    pub name: String,
    pub type_oid: u32,
    /// `atttypmod`, -1 when the type has none.
    pub type_modifier: i32,
}

impl RelationColumn {
    /// Whether the column is part of the key sent with Update/Delete.
    pub fn is_key(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// `Y`: a non-builtin data type used by a following Relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub xid: Option<u32>,
    pub oid: u32,
    pub namespace: String,
    pub name: String,
}

/// `I`: a new row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert {
    pub xid: Option<u32>,
    pub relation_id: u32,
    pub new: TupleData,
}

/// `U`: a changed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub xid: Option<u32>,
    pub relation_id: u32,
    /// `K`: the old key, present when the key changed (replica identity default/index).
    pub key: Option<TupleData>,
    /// `O`: the whole old row (replica identity full).
    pub old: Option<TupleData>,
    pub new: TupleData,
}

/// `D`: a deleted row; exactly one of `key` / `old` is set by Postgres.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub xid: Option<u32>,
    pub relation_id: u32,
    pub key: Option<TupleData>,
    pub old: Option<TupleData>,
}

/// `T`: one TRUNCATE statement over one or more relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncate {
    pub xid: Option<u32>,
    /// Bit 1: CASCADE, bit 2: RESTART IDENTITY.
    pub options: u8,
    pub relation_ids: Vec<u32>,
}

impl Truncate {
    pub fn cascade(&self) -> bool {
        self.options & 1 != 0
    }
    pub fn restart_identity(&self) -> bool {
        self.options & 2 != 0
    }
}

/// `M`: a `pg_logical_emit_message()` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalMessage {
    pub xid: Option<u32>,
    /// Bit 1: transactional.
    pub flags: u8,
    pub lsn: Lsn,
    pub prefix: String,
    pub content: Bytes,
}

impl LogicalMessage {
    pub fn transactional(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// `S`: start of a block of changes of an in-progress transaction (v2+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStart {
    pub xid: u32,
    /// True for the first block of this transaction.
    pub first_segment: bool,
}

/// `c`: a streamed transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommit {
    pub xid: u32,
    pub flags: u8,
    pub commit_lsn: Lsn,
    pub end_lsn: Lsn,
    pub commit_ts: i64,
}

/// `A`: a streamed (sub)transaction aborted. When `subxid == xid` the whole
/// transaction aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbort {
    pub xid: u32,
    pub subxid: u32,
    /// Present with protocol v4 and `streaming = parallel`.
    pub abort_lsn: Option<Lsn>,
    /// Microseconds since 2000-01-01 UTC; present with `abort_lsn`.
    pub abort_ts: Option<i64>,
}

/// `b`: start of a prepared transaction (v3+, `two_phase`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeginPrepare {
    pub prepare_lsn: Lsn,
    pub end_lsn: Lsn,
    pub prepare_ts: i64,
    pub xid: u32,
    pub gid: String,
}

/// `P`: PREPARE TRANSACTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare {
    pub flags: u8,
    pub prepare_lsn: Lsn,
    pub end_lsn: Lsn,
    pub prepare_ts: i64,
    pub xid: u32,
    pub gid: String,
}

/// `K`: COMMIT PREPARED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPrepared {
    pub flags: u8,
    pub commit_lsn: Lsn,
    pub end_lsn: Lsn,
    pub commit_ts: i64,
    pub xid: u32,
    pub gid: String,
}

/// `r`: ROLLBACK PREPARED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPrepared {
    pub flags: u8,
    pub prepare_end_lsn: Lsn,
    pub rollback_end_lsn: Lsn,
    pub prepare_ts: i64,
    pub rollback_ts: i64,
    pub xid: u32,
    pub gid: String,
}

/// `p`: PREPARE TRANSACTION of a streamed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPrepare {
    pub flags: u8,
    pub prepare_lsn: Lsn,
    pub end_lsn: Lsn,
    pub prepare_ts: i64,
    pub xid: u32,
    pub gid: String,
}

/// The columns of one row image, in relation column order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TupleData(pub Vec<ColumnValue>);

impl TupleData {
    pub fn columns(&self) -> &[ColumnValue] {
        &self.0
    }
}

/// One column of a [`TupleData`]; data variants are slices of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnValue {
    /// `n`
    Null,
    /// `u`: a TOASTed value that did not change; its content is not sent.
    UnchangedToast,
    /// `t`: text format (see [`crate::pgvalue::decode_text`]).
    Text(Bytes),
    /// `b`: binary format (only with the `binary` option).
    Binary(Bytes),
}

/// Stateful pgoutput decoder for one replication session.
#[derive(Debug, Clone)]
pub struct Decoder {
    proto_version: u32,
    in_stream: bool,
}

impl Decoder {
    /// `proto_version` is the value passed to `START_REPLICATION ... (proto_version 'N')`.
    pub fn new(proto_version: u32) -> Self {
        Decoder {
            proto_version,
            in_stream: false,
        }
    }

    pub fn proto_version(&self) -> u32 {
        self.proto_version
    }

    /// Whether the last control message was a `StreamStart` not yet closed by `StreamStop`.
    pub fn in_stream(&self) -> bool {
        self.in_stream
    }

    /// Decode one message (the payload of one `XLogData` frame).
    ///
    /// Column values in the result share `data`'s buffer. On error the
    /// stream state is unchanged.
    pub fn decode(&mut self, data: Bytes) -> Result<Message, DecodeError> {
        let mut r = Reader {
            data: &data,
            pos: 0,
        };
        let tag = r.u8("message tag")?;
        let streamed = self.in_stream;
        let xid = |r: &mut Reader<'_>| -> Result<Option<u32>, DecodeError> {
            if streamed {
                r.u32("xid").map(Some)
            } else {
                Ok(None)
            }
        };
        let msg = match tag {
            b'B' => Message::Begin(Begin {
                final_lsn: r.u64("final lsn")?,
                commit_ts: r.i64("commit timestamp")?,
                xid: r.u32("xid")?,
            }),
            b'C' => Message::Commit(Commit {
                flags: r.u8("flags")?,
                commit_lsn: r.u64("commit lsn")?,
                end_lsn: r.u64("end lsn")?,
                commit_ts: r.i64("commit timestamp")?,
            }),
            b'O' => Message::Origin(Origin {
                commit_lsn: r.u64("origin commit lsn")?,
                name: r.string("origin name")?,
            }),
            b'R' => {
                let xid = xid(&mut r)?;
                let id = r.u32("relation oid")?;
                let namespace = r.string("namespace")?;
                let name = r.string("relation name")?;
                let ri_pos = r.pos;
                let replica_identity = match r.u8("replica identity")? {
                    b'd' => ReplicaIdentity::Default,
                    b'n' => ReplicaIdentity::Nothing,
                    b'f' => ReplicaIdentity::Full,
                    b'i' => ReplicaIdentity::Index,
                    _ => {
                        return Err(DecodeError::InvalidField {
                            offset: ri_pos,
                            field: "replica identity",
                            reason: "expected one of 'd', 'n', 'f', 'i'",
                        })
                    }
                };
                let ncols = r.count16("column count")?;
                // Each column needs at least 10 bytes; never trust the count for allocation.
                let mut columns = Vec::with_capacity(ncols.min(r.remaining() / 10));
                for _ in 0..ncols {
                    columns.push(RelationColumn {
                        flags: r.u8("column flags")?,
                        name: r.string("column name")?,
                        type_oid: r.u32("column type oid")?,
                        type_modifier: r.i32("column type modifier")?,
                    });
                }
                Message::Relation(Relation {
                    xid,
                    id,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                })
            }
            b'Y' => Message::Type(Type {
                xid: xid(&mut r)?,
                oid: r.u32("type oid")?,
                namespace: r.string("type namespace")?,
                name: r.string("type name")?,
            }),
            b'I' => {
                let xid = xid(&mut r)?;
                let relation_id = r.u32("relation oid")?;
                r.expect_tag(b'N', "insert tuple tag", "expected 'N'")?;
                Message::Insert(Insert {
                    xid,
                    relation_id,
                    new: r.tuple()?,
                })
            }
            b'U' => {
                let xid = xid(&mut r)?;
                let relation_id = r.u32("relation oid")?;
                let (mut key, mut old) = (None, None);
                let tag_pos = r.pos;
                match r.u8("update tuple tag")? {
                    b'K' => key = Some(r.tuple()?),
                    b'O' => old = Some(r.tuple()?),
                    b'N' => r.pos = tag_pos,
                    _ => {
                        return Err(DecodeError::InvalidField {
                            offset: tag_pos,
                            field: "update tuple tag",
                            reason: "expected 'K', 'O' or 'N'",
                        })
                    }
                }
                r.expect_tag(b'N', "update new tuple tag", "expected 'N'")?;
                Message::Update(Update {
                    xid,
                    relation_id,
                    key,
                    old,
                    new: r.tuple()?,
                })
            }
            b'D' => {
                let xid = xid(&mut r)?;
                let relation_id = r.u32("relation oid")?;
                let (mut key, mut old) = (None, None);
                let tag_pos = r.pos;
                match r.u8("delete tuple tag")? {
                    b'K' => key = Some(r.tuple()?),
                    b'O' => old = Some(r.tuple()?),
                    _ => {
                        return Err(DecodeError::InvalidField {
                            offset: tag_pos,
                            field: "delete tuple tag",
                            reason: "expected 'K' or 'O'",
                        })
                    }
                }
                Message::Delete(Delete {
                    xid,
                    relation_id,
                    key,
                    old,
                })
            }
            b'T' => {
                let xid = xid(&mut r)?;
                let count_pos = r.pos;
                let n = r.u32("relation count")?;
                let options = r.u8("truncate options")?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > r.remaining() / 4 {
                    return Err(DecodeError::InvalidField {
                        offset: count_pos,
                        field: "relation count",
                        reason: "more relations than bytes left in the message",
                    });
                }
                let mut relation_ids = Vec::with_capacity(n);
                for _ in 0..n {
                    relation_ids.push(r.u32("relation oid")?);
                }
                Message::Truncate(Truncate {
                    xid,
                    options,
                    relation_ids,
                })
            }
            b'M' => {
                let xid = xid(&mut r)?;
                let flags = r.u8("message flags")?;
                let lsn = r.u64("message lsn")?;
                let prefix = r.string("message prefix")?;
                let len = r.len32("message content length")?;
                let content = r.bytes(len, "message content")?;
                Message::Message(LogicalMessage {
                    xid,
                    flags,
                    lsn,
                    prefix,
                    content,
                })
            }
            b'S' => {
                let xid = r.u32("xid")?;
                let pos = r.pos;
                let first_segment = match r.u8("first segment")? {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(DecodeError::InvalidField {
                            offset: pos,
                            field: "first segment",
                            reason: "expected 0 or 1",
                        })
                    }
                };
                Message::StreamStart(StreamStart { xid, first_segment })
            }
            b'E' => Message::StreamStop,
            b'c' => Message::StreamCommit(StreamCommit {
                xid: r.u32("xid")?,
                flags: r.u8("flags")?,
                commit_lsn: r.u64("commit lsn")?,
                end_lsn: r.u64("end lsn")?,
                commit_ts: r.i64("commit timestamp")?,
            }),
            b'A' => {
                let xid = r.u32("xid")?;
                let subxid = r.u32("subtransaction xid")?;
                // v4 with streaming=parallel appends lsn and timestamp; the
                // session option is not visible here, so the length decides.
                let (abort_lsn, abort_ts) = if r.remaining() == 0 {
                    (None, None)
                } else {
                    (Some(r.u64("abort lsn")?), Some(r.i64("abort timestamp")?))
                };
                Message::StreamAbort(StreamAbort {
                    xid,
                    subxid,
                    abort_lsn,
                    abort_ts,
                })
            }
            b'b' => Message::BeginPrepare(BeginPrepare {
                prepare_lsn: r.u64("prepare lsn")?,
                end_lsn: r.u64("end lsn")?,
                prepare_ts: r.i64("prepare timestamp")?,
                xid: r.u32("xid")?,
                gid: r.string("gid")?,
            }),
            b'P' => Message::Prepare(Prepare {
                flags: r.u8("flags")?,
                prepare_lsn: r.u64("prepare lsn")?,
                end_lsn: r.u64("end lsn")?,
                prepare_ts: r.i64("prepare timestamp")?,
                xid: r.u32("xid")?,
                gid: r.string("gid")?,
            }),
            b'K' => Message::CommitPrepared(CommitPrepared {
                flags: r.u8("flags")?,
                commit_lsn: r.u64("commit lsn")?,
                end_lsn: r.u64("end lsn")?,
                commit_ts: r.i64("commit timestamp")?,
                xid: r.u32("xid")?,
                gid: r.string("gid")?,
            }),
            b'r' => Message::RollbackPrepared(RollbackPrepared {
                flags: r.u8("flags")?,
                prepare_end_lsn: r.u64("prepare end lsn")?,
                rollback_end_lsn: r.u64("rollback end lsn")?,
                prepare_ts: r.i64("prepare timestamp")?,
                rollback_ts: r.i64("rollback timestamp")?,
                xid: r.u32("xid")?,
                gid: r.string("gid")?,
            }),
            b'p' => Message::StreamPrepare(StreamPrepare {
                flags: r.u8("flags")?,
                prepare_lsn: r.u64("prepare lsn")?,
                end_lsn: r.u64("end lsn")?,
                prepare_ts: r.i64("prepare timestamp")?,
                xid: r.u32("xid")?,
                gid: r.string("gid")?,
            }),
            tag => return Err(DecodeError::UnknownMessage { offset: 0, tag }),
        };
        if r.remaining() != 0 {
            return Err(DecodeError::TrailingBytes {
                offset: r.pos,
                remaining: r.remaining(),
                message: msg.kind(),
            });
        }
        match msg {
            Message::StreamStart(_) => self.in_stream = true,
            Message::StreamStop => self.in_stream = false,
            _ => {}
        }
        Ok(msg)
    }
}

/// Bounds-checked big-endian cursor over one message.
struct Reader<'a> {
    data: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let end = self.pos.checked_add(N);
        match end
            .and_then(|end| self.data.get(self.pos..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
        {
            Some(a) => {
                self.pos += N;
                Ok(a)
            }
            None => Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                field,
            }),
        }
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                field,
            }),
        }
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.take::<4>(field).map(u32::from_be_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.take::<4>(field).map(i32::from_be_bytes)
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.take::<8>(field).map(u64::from_be_bytes)
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.take::<8>(field).map(i64::from_be_bytes)
    }

    /// Int16 count; negative counts are invalid.
    fn count16(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let pos = self.pos;
        let n = i16::from_be_bytes(self.take::<2>(field)?);
        usize::try_from(n).map_err(|_| DecodeError::InvalidField {
            offset: pos,
            field,
            reason: "negative count",
        })
    }

    /// Non-negative Int32 length; [`Reader::bytes`] checks it against the buffer.
    fn len32(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let pos = self.pos;
        let n = i32::from_be_bytes(self.take::<4>(field)?);
        match usize::try_from(n) {
            Ok(n) => Ok(n),
            Err(_) => Err(DecodeError::InvalidField {
                offset: pos,
                field,
                reason: "negative length",
            }),
        }
    }

    fn bytes(&mut self, len: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        let end = match self.pos.checked_add(len) {
            Some(end) if end <= self.data.len() => end,
            _ => {
                return Err(DecodeError::UnexpectedEof {
                    offset: self.pos,
                    field,
                })
            }
        };
        let b = self.data.slice(self.pos..end);
        self.pos = end;
        Ok(b)
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let start = self.pos;
        let rest = self.data.get(start..).unwrap_or_default();
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(DecodeError::UnterminatedString {
                offset: start,
                field,
            });
        };
        let s = rest.get(..nul).unwrap_or_default();
        let s = std::str::from_utf8(s).map_err(|e| DecodeError::InvalidUtf8 {
            offset: start + e.valid_up_to(),
            field,
        })?;
        self.pos = start + nul + 1;
        Ok(s.to_owned())
    }

    fn expect_tag(
        &mut self,
        want: u8,
        field: &'static str,
        reason: &'static str,
    ) -> Result<(), DecodeError> {
        let pos = self.pos;
        if self.u8(field)? == want {
            Ok(())
        } else {
            Err(DecodeError::InvalidField {
                offset: pos,
                field,
                reason,
            })
        }
    }

    fn tuple(&mut self) -> Result<TupleData, DecodeError> {
        let ncols = self.count16("tuple column count")?;
        // Every column takes at least one byte.
        let mut cols = Vec::with_capacity(ncols.min(self.remaining()));
        for _ in 0..ncols {
            let pos = self.pos;
            let col = match self.u8("column kind")? {
                b'n' => ColumnValue::Null,
                b'u' => ColumnValue::UnchangedToast,
                b't' => {
                    let len = self.len32("column length")?;
                    ColumnValue::Text(self.bytes(len, "column value")?)
                }
                b'b' => {
                    let len = self.len32("column length")?;
                    ColumnValue::Binary(self.bytes(len, "column value")?)
                }
                _ => {
                    return Err(DecodeError::InvalidField {
                        offset: pos,
                        field: "column kind",
                        reason: "expected 'n', 'u', 't' or 'b'",
                    })
                }
            };
            cols.push(col);
        }
        Ok(TupleData(cols))
    }
}

#[cfg(test)]
mod tests;
