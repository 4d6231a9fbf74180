//! Replays message bytes captured from a real Postgres 15 server
//! (`pg_logical_slot_peek_binary_changes`, pgoutput v1 plain, v2 with
//! `streaming on`, v3 with `two_phase on`); the same files seed the fuzzer.
//! Each column of the wide table is then decoded with `pgvalue`.

use std::collections::HashMap;

use bytes::Bytes;

use crate::pgoutput::{ColumnValue, Decoder, Message, Relation};
use crate::pgvalue::{decode_text, PgDate, PgNumeric, PgType, PgValue};

fn session(prefix: &str) -> Vec<Bytes> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/pgoutput");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no captured {prefix} messages");
    names
        .iter()
        .map(|n| Bytes::from(std::fs::read(format!("{dir}/{n}")).expect("corpus file")))
        .collect()
}

fn replay(version: u32, prefix: &str) -> Vec<Message> {
    let mut d = Decoder::new(version);
    session(prefix)
        .into_iter()
        .enumerate()
        .map(|(i, b)| match d.decode(b) {
            Ok(m) => m,
            Err(e) => panic!("{prefix} message {i}: {e}"),
        })
        .collect()
}

#[test]
fn v1_session_decodes_and_values_parse() {
    let msgs = replay(1, "v1-");
    let mut relations: HashMap<u32, Relation> = HashMap::new();
    let mut enum_oids = Vec::new();
    let mut values = 0;
    for m in &msgs {
        match m {
            Message::Relation(r) => {
                assert_eq!(r.xid, None);
                relations.insert(r.id, r.clone());
            }
            Message::Type(t) => enum_oids.push(t.oid),
            Message::Insert(i) => {
                let rel = &relations[&i.relation_id];
                for (col, v) in rel.columns.iter().zip(i.new.columns()) {
                    let ColumnValue::Text(text) = v else { continue };
                    let ty = PgType::from_builtin_oid(col.type_oid).unwrap_or(
                        if enum_oids.contains(&col.type_oid) {
                            PgType::Enum
                        } else {
                            PgType::Unknown
                        },
                    );
                    let value = match decode_text(&ty, text) {
                        Ok(v) => v,
                        Err(e) => panic!("column {}: {e}", col.name),
                    };
                    values += 1;
                    match col.name.as_str() {
                        "n" => match value {
                            PgValue::Numeric(PgNumeric::Finite(d)) => {
                                assert_eq!(d.to_unscaled_be_bytes(), [0x49, 0x96, 0x02, 0xd3])
                            }
                            other => panic!("{other:?}"),
                        },
                        "d" => assert_eq!(value, PgValue::Date(PgDate::Days(-719_163 - 365))),
                        "m" => assert_eq!(value, PgValue::Text("happy".into())),
                        "arr" => assert_eq!(
                            value,
                            PgValue::Array(vec![
                                Some(PgValue::Int4(1)),
                                None,
                                Some(PgValue::Int4(3))
                            ])
                        ),
                        "iv" => assert_eq!(
                            value,
                            PgValue::Interval {
                                months: 14,
                                days: -3,
                                micros: 14_706_500_000
                            }
                        ),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    assert!(values >= 12, "decoded {values} values");
    let kinds: Vec<&str> = msgs.iter().map(Message::kind).collect();
    for k in [
        "begin", "relation", "type", "insert", "update", "delete", "truncate", "message", "commit",
    ] {
        assert!(kinds.contains(&k), "no {k} in capture");
    }
    // The primary-key change carries the old key; the TOASTed column is unchanged.
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::Update(u) if u.key.is_some())));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::Update(u) if u.old.is_some())));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::Delete(d) if d.old.is_some())));
}

#[test]
fn v2_streamed_session_carries_xids() {
    let msgs = replay(2, "v2-");
    let mut in_block = None;
    for m in &msgs {
        match m {
            Message::StreamStart(s) => in_block = Some(s.xid),
            Message::StreamStop => in_block = None,
            Message::Insert(i) => assert_eq!(i.xid, in_block),
            Message::Relation(r) => assert_eq!(r.xid, in_block),
            _ => {}
        }
    }
    assert!(msgs.iter().any(|m| matches!(m, Message::StreamCommit(_))));
    assert!(msgs.iter().any(
        |m| matches!(m, Message::StreamAbort(a) if a.abort_lsn.is_none() && a.xid == a.subxid)
    ));
}

#[test]
fn v3_two_phase_session() {
    let kinds: Vec<&str> = replay(3, "v3-").iter().map(Message::kind).collect();
    for k in [
        "begin prepare",
        "prepare",
        "commit prepared",
        "rollback prepared",
    ] {
        assert!(kinds.contains(&k), "no {k} in capture");
    }
}

/// Throughput floor for the hot path. Run with
/// `cargo test -p sluice-decoders --release -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn insert_decode_throughput() {
    // A 20-column row of 8-byte text values, one NULL and one unchanged TOAST.
    let mut raw = vec![b'I', 0, 0, 0x40, 0x0e, b'N', 0, 20];
    for c in 0..20 {
        match c {
            7 => raw.push(b'n'),
            13 => raw.push(b'u'),
            _ => {
                raw.extend_from_slice(&[b't', 0, 0, 0, 8]);
                raw.extend_from_slice(b"12345678");
            }
        }
    }
    let insert = Bytes::from(raw);
    let n = 2_000_000u32;
    let mut d = Decoder::new(1);
    let start = std::time::Instant::now();
    let mut cols = 0usize;
    for _ in 0..n {
        if let Ok(Message::Insert(i)) = d.decode(insert.clone()) {
            cols += i.new.0.len();
        }
    }
    let per_sec = f64::from(n) / start.elapsed().as_secs_f64();
    println!(
        "{per_sec:.0} inserts/s ({} bytes, {cols} columns)",
        insert.len()
    );
    assert!(per_sec > 500_000.0);
}
