//! MySQL GTID sets (`@@gtid_executed`, `@@gtid_purged`, Debezium's `gtids` offset) in
//! their text form and in the binary form MySQL puts in COM_BINLOG_DUMP_GTID and in the
//! body of PREVIOUS_GTIDS events.
//!
//! ```text
//! text    uuid:1-5:7-9,uuid2:3          (whitespace / newlines after commas are allowed)
//! binary  n_sids u64 │ n_sids × ( uuid [16] │ n_intervals u64 │ n_intervals × (start u64, end u64) )
//!         little-endian; `end` is exclusive (the text's `1-5` is start 1, end 6)
//! ```
//!
//! A set is kept normalised: per server uuid, sorted, non-overlapping, non-adjacent
//! intervals, so equal sets compare equal and format identically. Tagged GTIDs (MySQL
//! 8.3+, `uuid:tag:1-5`) are not supported: parsing and decoding reject them with a
//! typed error rather than misreading them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::cursor::Cursor;
use crate::DecodeError;

/// The largest transaction number MySQL assigns (`GNO_END - 1`, with `GNO_END` =
/// `INT64_MAX`).
pub const MAX_GNO: u64 = i64::MAX as u64 - 1;

/// A server uuid (`server_uuid`), the source part of a MySQL GTID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// Parses `3e11fa47-71ca-11e1-9e33-c80aa9429562` (hex case-insensitive; the 32-digit
    /// form without hyphens is accepted too).
    pub fn parse(text: &str) -> Result<Uuid, DecodeError> {
        parse_uuid(text, 0)
    }
}

impl fmt::Display for Uuid {
    /// Lowercase, hyphenated, as MySQL prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Uuid {
    type Err = DecodeError;

    fn from_str(text: &str) -> Result<Uuid, DecodeError> {
        Uuid::parse(text)
    }
}

/// Transaction numbers `first..=last` of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GnoInterval {
    pub first: u64,
    pub last: u64,
}

/// A MySQL GTID set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GtidSet {
    /// Normalised intervals per server; never an empty list.
    sids: BTreeMap<Uuid, Vec<GnoInterval>>,
}

impl GtidSet {
    pub fn new() -> GtidSet {
        GtidSet::default()
    }

    /// Parses the text form; empty text is the empty set. A uuid may appear more than
    /// once (its intervals are merged); transaction numbers must be 1..=[`MAX_GNO`].
    pub fn parse(text: &str) -> Result<GtidSet, DecodeError> {
        let mut set = GtidSet::new();
        if text.trim().is_empty() {
            return Ok(set);
        }
        let mut offset = 0;
        for part in text.split(',') {
            let start = offset + (part.len() - part.trim_start().len());
            offset += part.len() + 1;
            let entry = part.trim();
            if entry.is_empty() {
                return Err(DecodeError::InvalidField {
                    offset: start,
                    field: "mysql gtid set",
                    reason: "empty entry between commas",
                });
            }
            set.parse_entry(entry, start)?;
        }
        Ok(set)
    }

    /// `uuid:interval[:interval...]` starting at byte `base` of the whole text.
    fn parse_entry(&mut self, entry: &str, base: usize) -> Result<(), DecodeError> {
        let mut parts = entry.split(':');
        let uuid_text = parts.next().unwrap_or_default();
        let uuid = parse_uuid(uuid_text.trim_end(), base)?;
        let mut offset = base + uuid_text.len() + 1;
        let mut any = false;
        for interval in parts {
            let at = offset + (interval.len() - interval.trim_start().len());
            offset += interval.len() + 1;
            let interval = interval.trim();
            if interval.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                return Err(DecodeError::InvalidField {
                    offset: at,
                    field: "mysql gtid set",
                    reason: "tagged gtids (uuid:tag:n, MySQL 8.3+) are not supported",
                });
            }
            let (first, last) = match interval.split_once('-') {
                Some((first, last)) => (
                    parse_gno(first, at)?,
                    parse_gno(last, at + first.len() + 1)?,
                ),
                None => {
                    let gno = parse_gno(interval, at)?;
                    (gno, gno)
                }
            };
            if first > last {
                return Err(DecodeError::InvalidField {
                    offset: at,
                    field: "mysql gtid interval",
                    reason: "interval start is after its end",
                });
            }
            self.insert(uuid, GnoInterval { first, last });
            any = true;
        }
        if !any {
            return Err(DecodeError::InvalidField {
                offset: base + uuid_text.len(),
                field: "mysql gtid set",
                reason: "a uuid needs at least one :interval",
            });
        }
        Ok(())
    }

    /// Whether transaction `gno` of server `uuid` is in the set.
    pub fn contains(&self, uuid: &Uuid, gno: u64) -> bool {
        self.sids.get(uuid).is_some_and(|intervals| {
            // Sorted and disjoint: the only candidate is the last interval starting <= gno.
            let at = intervals.partition_point(|interval| interval.first <= gno);
            at > 0
                && intervals
                    .get(at - 1)
                    .is_some_and(|interval| gno <= interval.last)
        })
    }

    /// Whether every transaction of `other` is in this set.
    pub fn contains_set(&self, other: &GtidSet) -> bool {
        other.sids.iter().all(|(uuid, intervals)| {
            let mine = self.sids.get(uuid).map(Vec::as_slice).unwrap_or_default();
            intervals.iter().all(|interval| {
                let at = mine.partition_point(|m| m.first <= interval.first);
                at > 0 && mine.get(at - 1).is_some_and(|m| interval.last <= m.last)
            })
        })
    }

    /// Adds transaction `gno` (1..=[`MAX_GNO`]) of server `uuid`; `false` if `gno` is out
    /// of range (the set is unchanged).
    pub fn add(&mut self, uuid: Uuid, gno: u64) -> bool {
        self.add_interval(uuid, gno, gno)
    }

    /// Adds transactions `first..=last` of server `uuid`; `false` (set unchanged) unless
    /// `1 <= first <= last <= MAX_GNO`.
    pub fn add_interval(&mut self, uuid: Uuid, first: u64, last: u64) -> bool {
        if first == 0 || first > last || last > MAX_GNO {
            return false;
        }
        self.insert(uuid, GnoInterval { first, last });
        true
    }

    /// Adds every transaction of `other`.
    pub fn union(&mut self, other: &GtidSet) {
        for (uuid, intervals) in &other.sids {
            for interval in intervals {
                self.insert(*uuid, *interval);
            }
        }
    }

    /// Servers in uuid order with their normalised intervals.
    pub fn iter(&self) -> impl Iterator<Item = (&Uuid, &[GnoInterval])> {
        self.sids
            .iter()
            .map(|(uuid, intervals)| (uuid, intervals.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }

    /// Inserts a valid interval, merging it with overlapping or adjacent ones.
    fn insert(&mut self, uuid: Uuid, interval: GnoInterval) {
        let intervals = self.sids.entry(uuid).or_default();
        let mut merged = interval;
        // Everything that overlaps or touches `interval` is folded into it.
        intervals.retain(|existing| {
            let touches = existing.first <= merged.last.saturating_add(1)
                && merged.first <= existing.last.saturating_add(1);
            if touches {
                merged.first = merged.first.min(existing.first);
                merged.last = merged.last.max(existing.last);
            }
            !touches
        });
        let at = intervals.partition_point(|existing| existing.first < merged.first);
        intervals.insert(at, merged);
    }

    /// The binary form (COM_BINLOG_DUMP_GTID payload, PREVIOUS_GTIDS body).
    pub fn encode(&self) -> Vec<u8> {
        let intervals: usize = self.sids.values().map(Vec::len).sum();
        let mut out = Vec::with_capacity(8 + self.sids.len() * 24 + intervals * 16);
        out.extend_from_slice(&(self.sids.len() as u64).to_le_bytes());
        for (uuid, intervals) in &self.sids {
            out.extend_from_slice(&uuid.0);
            out.extend_from_slice(&(intervals.len() as u64).to_le_bytes());
            for interval in intervals {
                out.extend_from_slice(&interval.first.to_le_bytes());
                // Exclusive end; `last <= MAX_GNO` so this cannot overflow.
                out.extend_from_slice(&(interval.last + 1).to_le_bytes());
            }
        }
        out
    }

    /// Decodes the binary form. Intervals need not be sorted or disjoint (they are
    /// merged) but must lie in 1..=[`MAX_GNO`]; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<GtidSet, DecodeError> {
        let mut cursor = Cursor::new(bytes);
        let count_at = cursor.offset();
        let n_sids = cursor.u64("gtid set n_sids")?;
        if n_sids >> 56 != 0 {
            return Err(DecodeError::InvalidField {
                offset: count_at,
                field: "gtid set n_sids",
                reason: "tagged gtid set format (MySQL 8.3+) is not supported",
            });
        }
        // Each server takes at least 24 bytes: a garbage count fails here, not in malloc.
        if n_sids > (cursor.remaining() / 24) as u64 {
            return Err(DecodeError::UnexpectedEof {
                offset: bytes.len(),
                field: "gtid set sids",
            });
        }
        let mut set = GtidSet::new();
        for _ in 0..n_sids {
            let uuid = Uuid(cursor.uuid("gtid set uuid")?);
            let n_intervals = cursor.u64("gtid set n_intervals")?;
            if n_intervals > (cursor.remaining() / 16) as u64 {
                return Err(DecodeError::UnexpectedEof {
                    offset: bytes.len(),
                    field: "gtid set intervals",
                });
            }
            for _ in 0..n_intervals {
                let at = cursor.offset();
                let start = cursor.u64("gtid set interval start")?;
                let end = cursor.u64("gtid set interval end")?;
                if start == 0 || start >= end || end > MAX_GNO + 1 {
                    return Err(DecodeError::InvalidField {
                        offset: at,
                        field: "gtid set interval",
                        reason: "expected 1 <= start < end <= 2^63-1",
                    });
                }
                set.insert(
                    uuid,
                    GnoInterval {
                        first: start,
                        last: end - 1,
                    },
                );
            }
        }
        cursor.finish("gtid set")?;
        Ok(set)
    }
}

impl fmt::Display for GtidSet {
    /// `uuid:1-5:7,uuid2:3`, uuids ascending; empty for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (uuid, intervals)) in self.sids.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{uuid}")?;
            for interval in intervals {
                if interval.first == interval.last {
                    write!(f, ":{}", interval.first)?;
                } else {
                    write!(f, ":{}-{}", interval.first, interval.last)?;
                }
            }
        }
        Ok(())
    }
}

impl FromStr for GtidSet {
    type Err = DecodeError;

    fn from_str(text: &str) -> Result<GtidSet, DecodeError> {
        GtidSet::parse(text)
    }
}

fn parse_uuid(text: &str, base: usize) -> Result<Uuid, DecodeError> {
    let invalid = |offset, reason| DecodeError::InvalidField {
        offset,
        field: "mysql gtid uuid",
        reason,
    };
    let hyphenated = text.len() == 36;
    if !hyphenated && text.len() != 32 {
        return Err(invalid(
            base,
            "expected 36 characters (8-4-4-4-12 hex digits)",
        ));
    }
    let mut bytes = [0u8; 16];
    let mut nibbles = 0usize;
    for (i, c) in text.bytes().enumerate() {
        if hyphenated && matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return Err(invalid(base + i, "expected '-'"));
            }
            continue;
        }
        let value = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(invalid(base + i, "not a hex digit")),
        };
        if let Some(byte) = bytes.get_mut(nibbles / 2) {
            *byte = (*byte << 4) | value;
        }
        nibbles += 1;
    }
    if nibbles != 32 {
        return Err(invalid(base, "expected 32 hex digits"));
    }
    Ok(Uuid(bytes))
}

fn parse_gno(text: &str, offset: usize) -> Result<u64, DecodeError> {
    let invalid = |reason| DecodeError::InvalidField {
        offset,
        field: "mysql gtid transaction number",
        reason,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("not a decimal number"));
    }
    match text.parse::<u64>() {
        Ok(gno) if (1..=MAX_GNO).contains(&gno) => Ok(gno),
        _ => Err(invalid("out of range 1..=2^63-2")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "f6b1e1c2-0a2b-11ef-8e0a-0242ac120002";

    fn uuid(text: &str) -> Uuid {
        Uuid::parse(text).expect("test uuid")
    }

    #[test]
    fn uuids_round_trip() {
        assert_eq!(uuid(A).to_string(), A);
        assert_eq!(uuid(&A.to_uppercase()), uuid(A));
        assert_eq!(uuid(&A.replace('-', "")), uuid(A));
        assert_eq!(uuid(A).0[0], 0x3e);
        assert_eq!(uuid(A).0[15], 0x62);
        for (bad, offset) in [
            ("3e11fa47", 0),
            ("3e11fa47-71ca-11e1-9e33_c80aa9429562", 23),
            ("3e11fa47-71ca-11e1-9e33-c80aa942956g", 35),
        ] {
            assert_eq!(
                Uuid::parse(bad).map_err(|e| e.offset()),
                Err(offset),
                "{bad}"
            );
        }
    }

    #[test]
    fn text_round_trips_normalised() {
        let text = format!("{B}:3,\n{A}:7-9:1-5:6 , {A}:11");
        let set = GtidSet::parse(&text).expect("valid");
        // 1-5, 6 and 7-9 are adjacent: one interval.
        assert_eq!(set.to_string(), format!("{A}:1-9:11,{B}:3"));
        assert_eq!(GtidSet::parse(&set.to_string()), Ok(set.clone()));
        assert_eq!(GtidSet::parse("").map(|s| s.is_empty()), Ok(true));
        assert_eq!(GtidSet::new().to_string(), "");
    }

    #[test]
    fn bad_text_names_the_offset() {
        let cases = [
            (A.to_owned(), 36),
            (format!("{A}:0"), 37),
            (format!("{A}:5-3"), 37),
            (format!("{A}:1-x"), 39),
            (format!("{A}:1,,{B}:1"), 39),
            (format!("{A}:tag:1"), 37),
            (format!("{A}:9223372036854775807"), 37),
            ("nonsense:1".to_owned(), 0),
        ];
        for (text, offset) in cases {
            let error = GtidSet::parse(&text).expect_err(&text);
            assert_eq!(error.offset(), offset, "{text}: {error}");
        }
    }

    #[test]
    fn contains_add_and_union() {
        let a = uuid(A);
        let b = uuid(B);
        let mut set = GtidSet::parse(&format!("{A}:1-5:10-12")).expect("valid");
        for (gno, inside) in [
            (0, false),
            (1, true),
            (5, true),
            (6, false),
            (10, true),
            (13, false),
        ] {
            assert_eq!(set.contains(&a, gno), inside, "gno {gno}");
        }
        assert!(!set.contains(&b, 1));

        assert!(set.add(a, 6));
        assert!(set.add_interval(a, 7, 9));
        assert_eq!(set.to_string(), format!("{A}:1-12"));
        assert!(!set.add(a, 0));
        assert!(!set.add_interval(a, 5, 4));
        assert!(!set.add(a, MAX_GNO + 1));
        assert!(set.add(a, MAX_GNO));

        let other = GtidSet::parse(&format!("{B}:2,{A}:20")).expect("valid");
        assert!(!set.contains_set(&other));
        set.union(&other);
        assert!(set.contains_set(&other));
        assert!(set.contains(&b, 2));
        assert!(set.contains_set(&GtidSet::new()));
        let partly = GtidSet::parse(&format!("{A}:12-13")).expect("valid");
        assert!(!GtidSet::parse(&format!("{A}:1-12"))
            .expect("valid")
            .contains_set(&partly));
    }

    /// The binary form built by hand from the documented layout.
    fn hand_encoded() -> Vec<u8> {
        let mut bytes = 2u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(&uuid(A).0);
        bytes.extend_from_slice(&2u64.to_le_bytes());
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&6u64.to_le_bytes()); // 1-5
        bytes.extend_from_slice(&7u64.to_le_bytes());
        bytes.extend_from_slice(&8u64.to_le_bytes()); // 7
        bytes.extend_from_slice(&uuid(B).0);
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&3u64.to_le_bytes());
        bytes.extend_from_slice(&4u64.to_le_bytes()); // 3
        bytes
    }

    #[test]
    fn binary_matches_the_documented_layout() {
        let set = GtidSet::parse(&format!("{A}:1-5:7,{B}:3")).expect("valid");
        assert_eq!(set.encode(), hand_encoded());
        assert_eq!(GtidSet::decode(&hand_encoded()), Ok(set));
        assert_eq!(GtidSet::new().encode(), vec![0; 8]);
        assert_eq!(GtidSet::decode(&[0; 8]), Ok(GtidSet::new()));
        // 3e11fa47-...:1-3, the usual example, byte by byte.
        let one = GtidSet::parse(&format!("{A}:1-3")).expect("valid").encode();
        assert_eq!(one.len(), 8 + 16 + 8 + 16);
        assert_eq!(&one[..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&one[8..12], &[0x3e, 0x11, 0xfa, 0x47]);
        assert_eq!(
            &one[32..],
            &[1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn binary_decoding_rejects_bad_input() {
        let good = hand_encoded();
        for end in 0..good.len() {
            assert!(GtidSet::decode(&good[..end]).is_err(), "prefix {end}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            GtidSet::decode(&trailing),
            Err(DecodeError::TrailingBytes { .. })
        ));
        let mut empty_interval = good.clone();
        empty_interval[40..48].copy_from_slice(&1u64.to_le_bytes()); // end 1 == start 1
        assert!(matches!(
            GtidSet::decode(&empty_interval),
            Err(DecodeError::InvalidField { offset: 32, .. })
        ));
        let mut huge_count = good.clone();
        huge_count[..8].copy_from_slice(&(u64::MAX >> 8).to_le_bytes());
        assert!(matches!(
            GtidSet::decode(&huge_count),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        let mut tagged = good;
        tagged[7] = 1;
        assert!(matches!(
            GtidSet::decode(&tagged),
            Err(DecodeError::InvalidField { offset: 0, .. })
        ));
        // Unsorted, overlapping intervals are merged like MySQL does.
        let mut unsorted = 1u64.to_le_bytes().to_vec();
        unsorted.extend_from_slice(&uuid(A).0);
        unsorted.extend_from_slice(&2u64.to_le_bytes());
        for (start, end) in [(5u64, 9u64), (1, 6)] {
            unsorted.extend_from_slice(&start.to_le_bytes());
            unsorted.extend_from_slice(&end.to_le_bytes());
        }
        assert_eq!(
            GtidSet::decode(&unsorted).map(|s| s.to_string()),
            Ok(format!("{A}:1-8"))
        );
    }
}
