//! Wire bytes are built by hand from the spec, field by field.

use super::*;

/// Minimal big-endian writer mirroring the spec's field types.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn tag(t: u8) -> Self {
        W(vec![t])
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn i16(mut self, v: i16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn s(mut self, v: &str) -> Self {
        self.0.extend_from_slice(v.as_bytes());
        self.0.push(0);
        self
    }
    fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    /// TupleData: `t` for Some(text), `n` for None, `u` for unchanged toast marker "\u{0}".
    fn tuple(mut self, cols: &[Option<&str>]) -> Self {
        self = self.i16(cols.len() as i16);
        for c in cols {
            self = match c {
                None => self.u8(b'n'),
                Some("\u{0}") => self.u8(b'u'),
                Some(t) => self.u8(b't').i32(t.len() as i32).raw(t.as_bytes()),
            };
        }
        self
    }
    fn bytes(self) -> Bytes {
        Bytes::from(self.0)
    }
}

fn text(s: &str) -> ColumnValue {
    ColumnValue::Text(Bytes::copy_from_slice(s.as_bytes()))
}

fn dec(v: u32, w: W) -> Result<Message, DecodeError> {
    Decoder::new(v).decode(w.bytes())
}

fn ok(v: u32, w: W) -> Message {
    match dec(v, w) {
        Ok(m) => m,
        Err(e) => panic!("decode failed: {e}"),
    }
}

#[test]
fn begin() {
    let m = ok(1, W::tag(b'B').u64(0x16B3748).i64(-5).u32(742));
    assert_eq!(
        m,
        Message::Begin(Begin {
            final_lsn: 0x16B3748,
            commit_ts: -5,
            xid: 742
        })
    );
}

#[test]
fn commit() {
    let m = ok(1, W::tag(b'C').u8(0).u64(10).u64(20).i64(777_000_000));
    assert_eq!(
        m,
        Message::Commit(Commit {
            flags: 0,
            commit_lsn: 10,
            end_lsn: 20,
            commit_ts: 777_000_000
        })
    );
}

#[test]
fn origin() {
    let m = ok(1, W::tag(b'O').u64(99).s("pg_16389"));
    assert_eq!(
        m,
        Message::Origin(Origin {
            commit_lsn: 99,
            name: "pg_16389".into()
        })
    );
}

fn relation_bytes(tag_xid: Option<u32>) -> W {
    let mut w = W::tag(b'R');
    if let Some(x) = tag_xid {
        w = w.u32(x);
    }
    w.u32(16385)
        .s("public")
        .s("customers")
        .u8(b'f')
        .i16(2)
        .u8(1)
        .s("id")
        .u32(23)
        .i32(-1)
        .u8(0)
        .s("name")
        .u32(1043)
        .i32(259)
}

#[test]
fn relation() {
    let m = ok(1, relation_bytes(None));
    let Message::Relation(r) = m else {
        panic!("not a relation")
    };
    assert_eq!(r.xid, None);
    assert_eq!(r.id, 16385);
    assert_eq!(r.namespace, "public");
    assert_eq!(r.name, "customers");
    assert_eq!(r.replica_identity, ReplicaIdentity::Full);
    assert_eq!(r.columns.len(), 2);
    assert!(r.columns[0].is_key());
    assert!(!r.columns[1].is_key());
    assert_eq!(
        r.columns[1],
        RelationColumn {
            flags: 0,
            name: "name".into(),
            type_oid: 1043,
            type_modifier: 259
        }
    );
}

#[test]
fn replica_identity_chars() {
    for (c, ri) in [
        (b'd', ReplicaIdentity::Default),
        (b'n', ReplicaIdentity::Nothing),
        (b'f', ReplicaIdentity::Full),
        (b'i', ReplicaIdentity::Index),
    ] {
        let m = ok(1, W::tag(b'R').u32(1).s("s").s("t").u8(c).i16(0));
        let Message::Relation(r) = m else {
            panic!("not a relation")
        };
        assert_eq!(r.replica_identity, ri);
        assert_eq!(ri.as_char() as u8, c);
    }
    let e = dec(1, W::tag(b'R').u32(1).s("s").s("t").u8(b'x').i16(0));
    assert!(matches!(
        e,
        Err(DecodeError::InvalidField { offset: 9, .. })
    ));
}

#[test]
fn type_message() {
    let m = ok(1, W::tag(b'Y').u32(16400).s("public").s("mood"));
    assert_eq!(
        m,
        Message::Type(Type {
            xid: None,
            oid: 16400,
            namespace: "public".into(),
            name: "mood".into()
        })
    );
}

#[test]
fn insert() {
    let w = W::tag(b'I')
        .u32(16385)
        .u8(b'N')
        .tuple(&[Some("1"), None, Some("\u{0}"), Some("")]);
    let mut bytes = w.0.clone();
    // Also one binary column, appended by rewriting the count.
    bytes[6] = 0;
    bytes[7] = 5;
    bytes.extend_from_slice(&[b'b', 0, 0, 0, 2, 0xde, 0xad]);
    let m = Decoder::new(1).decode(Bytes::from(bytes));
    assert_eq!(
        m,
        Ok(Message::Insert(Insert {
            xid: None,
            relation_id: 16385,
            new: TupleData(vec![
                text("1"),
                ColumnValue::Null,
                ColumnValue::UnchangedToast,
                text(""),
                ColumnValue::Binary(Bytes::from_static(&[0xde, 0xad])),
            ])
        }))
    );
}

#[test]
fn insert_columns_are_zero_copy() {
    let data = W::tag(b'I').u32(1).u8(b'N').tuple(&[Some("abc")]).bytes();
    let base = data.as_ptr() as usize;
    let Ok(Message::Insert(i)) = Decoder::new(1).decode(data.clone()) else {
        panic!("not an insert")
    };
    let ColumnValue::Text(t) = &i.new.0[0] else {
        panic!("not text")
    };
    assert_eq!(t.as_ptr() as usize, base + 13);
}

#[test]
fn update_variants() {
    // new only
    let m = ok(1, W::tag(b'U').u32(7).u8(b'N').tuple(&[Some("a")]));
    assert_eq!(
        m,
        Message::Update(Update {
            xid: None,
            relation_id: 7,
            key: None,
            old: None,
            new: TupleData(vec![text("a")])
        })
    );
    // key + new
    let m = ok(
        1,
        W::tag(b'U')
            .u32(7)
            .u8(b'K')
            .tuple(&[Some("1"), None])
            .u8(b'N')
            .tuple(&[Some("2"), Some("x")]),
    );
    let Message::Update(u) = m else {
        panic!("not an update")
    };
    assert_eq!(u.key, Some(TupleData(vec![text("1"), ColumnValue::Null])));
    assert_eq!(u.old, None);
    assert_eq!(u.new, TupleData(vec![text("2"), text("x")]));
    // old + new
    let m = ok(
        1,
        W::tag(b'U')
            .u32(7)
            .u8(b'O')
            .tuple(&[Some("1"), Some("y")])
            .u8(b'N')
            .tuple(&[Some("1"), Some("\u{0}")]),
    );
    let Message::Update(u) = m else {
        panic!("not an update")
    };
    assert_eq!(u.key, None);
    assert_eq!(u.old, Some(TupleData(vec![text("1"), text("y")])));
    assert_eq!(
        u.new,
        TupleData(vec![text("1"), ColumnValue::UnchangedToast])
    );
    // missing N after K
    let e = dec(1, W::tag(b'U').u32(7).u8(b'K').tuple(&[Some("1")]).u8(b'X'));
    assert!(matches!(e, Err(DecodeError::InvalidField { .. })));
}

#[test]
fn delete_variants() {
    let m = ok(1, W::tag(b'D').u32(7).u8(b'K').tuple(&[Some("1")]));
    assert_eq!(
        m,
        Message::Delete(Delete {
            xid: None,
            relation_id: 7,
            key: Some(TupleData(vec![text("1")])),
            old: None
        })
    );
    let m = ok(1, W::tag(b'D').u32(7).u8(b'O').tuple(&[Some("1"), None]));
    let Message::Delete(d) = m else {
        panic!("not a delete")
    };
    assert_eq!(d.old, Some(TupleData(vec![text("1"), ColumnValue::Null])));
    assert!(dec(1, W::tag(b'D').u32(7).u8(b'N').tuple(&[])).is_err());
}

#[test]
fn truncate() {
    let m = ok(1, W::tag(b'T').u32(2).u8(3).u32(100).u32(200));
    let Message::Truncate(t) = m else {
        panic!("not a truncate")
    };
    assert_eq!(t.relation_ids, vec![100, 200]);
    assert!(t.cascade() && t.restart_identity());
    assert_eq!(t.xid, None);
    // count larger than the message must not allocate or panic
    assert!(dec(1, W::tag(b'T').u32(u32::MAX).u8(0)).is_err());
}

#[test]
fn logical_message() {
    let m = ok(
        1,
        W::tag(b'M')
            .u8(1)
            .u64(0x1000)
            .s("sluice")
            .i32(3)
            .raw(&[1, 0, 2]),
    );
    let Message::Message(lm) = m else {
        panic!("not a message")
    };
    assert!(lm.transactional());
    assert_eq!(lm.lsn, 0x1000);
    assert_eq!(lm.prefix, "sluice");
    assert_eq!(&lm.content[..], &[1, 0, 2]);
    // declared length past the end
    assert!(dec(1, W::tag(b'M').u8(0).u64(1).s("p").i32(10).raw(&[1])).is_err());
    assert!(dec(1, W::tag(b'M').u8(0).u64(1).s("p").i32(-1)).is_err());
}

#[test]
fn stream_control_messages() {
    assert_eq!(
        ok(2, W::tag(b'S').u32(900).u8(1)),
        Message::StreamStart(StreamStart {
            xid: 900,
            first_segment: true
        })
    );
    assert!(dec(2, W::tag(b'S').u32(900).u8(2)).is_err());
    assert_eq!(ok(2, W::tag(b'E')), Message::StreamStop);
    assert_eq!(
        ok(2, W::tag(b'c').u32(900).u8(0).u64(1).u64(2).i64(3)),
        Message::StreamCommit(StreamCommit {
            xid: 900,
            flags: 0,
            commit_lsn: 1,
            end_lsn: 2,
            commit_ts: 3
        })
    );
    assert_eq!(
        ok(2, W::tag(b'A').u32(900).u32(901)),
        Message::StreamAbort(StreamAbort {
            xid: 900,
            subxid: 901,
            abort_lsn: None,
            abort_ts: None
        })
    );
    assert_eq!(
        ok(4, W::tag(b'A').u32(900).u32(900).u64(55).i64(66)),
        Message::StreamAbort(StreamAbort {
            xid: 900,
            subxid: 900,
            abort_lsn: Some(55),
            abort_ts: Some(66)
        })
    );
    // half of the v4 tail
    assert!(dec(4, W::tag(b'A').u32(900).u32(900).u64(55)).is_err());
}

#[test]
fn two_phase_messages() {
    assert_eq!(
        ok(3, W::tag(b'b').u64(1).u64(2).i64(3).u32(4).s("gid-1")),
        Message::BeginPrepare(BeginPrepare {
            prepare_lsn: 1,
            end_lsn: 2,
            prepare_ts: 3,
            xid: 4,
            gid: "gid-1".into()
        })
    );
    assert_eq!(
        ok(3, W::tag(b'P').u8(0).u64(1).u64(2).i64(3).u32(4).s("g")),
        Message::Prepare(Prepare {
            flags: 0,
            prepare_lsn: 1,
            end_lsn: 2,
            prepare_ts: 3,
            xid: 4,
            gid: "g".into()
        })
    );
    assert_eq!(
        ok(3, W::tag(b'K').u8(0).u64(5).u64(6).i64(7).u32(8).s("g")),
        Message::CommitPrepared(CommitPrepared {
            flags: 0,
            commit_lsn: 5,
            end_lsn: 6,
            commit_ts: 7,
            xid: 8,
            gid: "g".into()
        })
    );
    assert_eq!(
        ok(
            3,
            W::tag(b'r').u8(0).u64(5).u64(6).i64(7).i64(8).u32(9).s("g")
        ),
        Message::RollbackPrepared(RollbackPrepared {
            flags: 0,
            prepare_end_lsn: 5,
            rollback_end_lsn: 6,
            prepare_ts: 7,
            rollback_ts: 8,
            xid: 9,
            gid: "g".into()
        })
    );
    assert_eq!(
        ok(3, W::tag(b'p').u8(0).u64(1).u64(2).i64(3).u32(4).s("g")),
        Message::StreamPrepare(StreamPrepare {
            flags: 0,
            prepare_lsn: 1,
            end_lsn: 2,
            prepare_ts: 3,
            xid: 4,
            gid: "g".into()
        })
    );
}

#[test]
fn streamed_block_carries_xid() {
    let mut d = Decoder::new(2);
    let must = |r: Result<Message, DecodeError>| match r {
        Ok(m) => m,
        Err(e) => panic!("decode failed: {e}"),
    };
    assert!(!d.in_stream());
    must(d.decode(W::tag(b'S').u32(900).u8(1).bytes()));
    assert!(d.in_stream());

    let Message::Relation(r) = must(d.decode(relation_bytes(Some(900)).bytes())) else {
        panic!("not a relation")
    };
    assert_eq!(r.xid, Some(900));
    assert_eq!(r.columns.len(), 2);

    let m = must(d.decode(W::tag(b'Y').u32(900).u32(1).s("a").s("b").bytes()));
    assert!(matches!(m, Message::Type(Type { xid: Some(900), .. })));
    let m = must(
        d.decode(
            W::tag(b'I')
                .u32(901)
                .u32(16385)
                .u8(b'N')
                .tuple(&[Some("1")])
                .bytes(),
        ),
    );
    assert!(matches!(
        m,
        Message::Insert(Insert {
            xid: Some(901),
            relation_id: 16385,
            ..
        })
    ));
    let m = must(
        d.decode(
            W::tag(b'U')
                .u32(900)
                .u32(16385)
                .u8(b'N')
                .tuple(&[Some("1")])
                .bytes(),
        ),
    );
    assert!(matches!(m, Message::Update(Update { xid: Some(900), .. })));
    let m = must(
        d.decode(
            W::tag(b'D')
                .u32(900)
                .u32(16385)
                .u8(b'K')
                .tuple(&[Some("1")])
                .bytes(),
        ),
    );
    assert!(matches!(m, Message::Delete(Delete { xid: Some(900), .. })));
    let m = must(d.decode(W::tag(b'T').u32(900).u32(1).u8(0).u32(16385).bytes()));
    assert!(matches!(
        m,
        Message::Truncate(Truncate { xid: Some(900), .. })
    ));
    let m = must(d.decode(W::tag(b'M').u32(900).u8(1).u64(5).s("p").i32(0).bytes()));
    assert!(matches!(
        m,
        Message::Message(LogicalMessage { xid: Some(900), .. })
    ));

    // A failed decode leaves the stream state alone.
    assert!(d.decode(Bytes::from_static(b"E\x00")).is_err());
    assert!(d.in_stream());

    must(d.decode(W::tag(b'E').bytes()));
    assert!(!d.in_stream());
    let m = must(d.decode(W::tag(b'I').u32(16385).u8(b'N').tuple(&[]).bytes()));
    assert!(matches!(m, Message::Insert(Insert { xid: None, .. })));
    // Streamed commit arrives outside the block.
    let m = must(d.decode(W::tag(b'c').u32(900).u8(0).u64(1).u64(2).i64(3).bytes()));
    assert!(matches!(m, Message::StreamCommit(_)));
    assert!(!d.in_stream());
}

#[test]
fn errors_carry_offsets() {
    assert_eq!(
        dec(1, W::default()),
        Err(DecodeError::UnexpectedEof {
            offset: 0,
            field: "message tag"
        })
    );
    assert_eq!(
        dec(1, W::tag(b'Z')),
        Err(DecodeError::UnknownMessage {
            offset: 0,
            tag: b'Z'
        })
    );
    assert_eq!(
        dec(1, W::tag(b'B').u64(1).u32(2)),
        Err(DecodeError::UnexpectedEof {
            offset: 9,
            field: "commit timestamp"
        })
    );
    assert_eq!(
        dec(1, W::tag(b'O').u64(1).raw(b"abc")),
        Err(DecodeError::UnterminatedString {
            offset: 9,
            field: "origin name"
        })
    );
    assert_eq!(
        dec(1, W::tag(b'O').u64(1).raw(b"ab\xff\0")),
        Err(DecodeError::InvalidUtf8 {
            offset: 11,
            field: "origin name"
        })
    );
    assert_eq!(
        dec(1, W::tag(b'E').u8(0)),
        Err(DecodeError::TrailingBytes {
            offset: 1,
            remaining: 1,
            message: "stream stop"
        })
    );
    let e = dec(1, W::tag(b'I').u32(1).u8(b'N').i16(1).u8(b'x'));
    assert_eq!(e.map_err(|e| e.offset()), Err(8));
    let e = dec(1, W::tag(b'I').u32(1).u8(b'N').i16(-1));
    assert!(matches!(
        e,
        Err(DecodeError::InvalidField { offset: 6, .. })
    ));
    // error messages are lowercase and carry no row data
    let msg = dec(
        1,
        W::tag(b'I')
            .u32(1)
            .u8(b'N')
            .i16(1)
            .u8(b't')
            .i32(100)
            .raw(b"secret"),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        msg.starts_with("unexpected end of input at byte 13 while reading column value"),
        "{msg}"
    );
    assert!(!msg.contains("secret"));
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        W::tag(b'B').u64(1).i64(2).u32(3).0,
        W::tag(b'C').u8(0).u64(1).u64(2).i64(3).0,
        W::tag(b'O').u64(1).s("o").0,
        relation_bytes(None).0,
        W::tag(b'Y').u32(1).s("a").s("b").0,
        W::tag(b'I')
            .u32(1)
            .u8(b'N')
            .tuple(&[Some("1"), None, Some("\u{0}")])
            .0,
        W::tag(b'U')
            .u32(1)
            .u8(b'O')
            .tuple(&[Some("1")])
            .u8(b'N')
            .tuple(&[Some("2")])
            .0,
        W::tag(b'D').u32(1).u8(b'K').tuple(&[Some("1")]).0,
        W::tag(b'T').u32(2).u8(1).u32(1).u32(2).0,
        W::tag(b'M').u8(1).u64(1).s("p").i32(2).raw(b"hi").0,
        W::tag(b'S').u32(1).u8(1).0,
        W::tag(b'E').0,
        W::tag(b'c').u32(1).u8(0).u64(1).u64(2).i64(3).0,
        W::tag(b'A').u32(1).u32(2).u64(3).i64(4).0,
        W::tag(b'r')
            .u8(0)
            .u64(5)
            .u64(6)
            .i64(7)
            .i64(8)
            .u32(9)
            .s("g")
            .0,
    ]
}

#[test]
fn garbage_and_truncation_never_panic() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let seeds = seeds();
    let mut decoded = 0usize;
    // every prefix of every seed is an error or a message, never a panic
    for s in &seeds {
        for cut in 0..s.len() {
            let mut d = Decoder::new(4);
            let r = d.decode(Bytes::copy_from_slice(&s[..cut]));
            // a stream abort without the v4 tail is complete at 9 bytes
            if s[0] == b'A' && cut == 9 {
                continue;
            }
            assert!(r.is_err(), "prefix of {} bytes decoded", cut);
        }
    }
    for i in 0..20_000 {
        let mut buf = seeds[rng.below(seeds.len())].clone();
        match i % 3 {
            0 => {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(buf.len());
                    if let Some(b) = buf.get_mut(at) {
                        *b = rng.next() as u8;
                    }
                }
            }
            1 => {
                let len = rng.below(64);
                buf = (0..len).map(|_| rng.next() as u8).collect();
                if let Some(first) = buf.first_mut() {
                    *first = b"BCORYIUDTMSEcAbPKrp"[rng.below(19)];
                }
            }
            _ => {
                let at = rng.below(buf.len() + 1);
                let extra: Vec<u8> = (0..rng.below(8)).map(|_| rng.next() as u8).collect();
                buf.splice(at..at, extra);
            }
        }
        let mut d = Decoder::new(1 + (i % 4) as u32);
        if rng.below(2) == 0 {
            let _ = d.decode(W::tag(b'S').u32(1).u8(0).bytes());
        }
        if d.decode(Bytes::from(buf)).is_ok() {
            decoded += 1;
        }
    }
    assert!(decoded > 0);
}
