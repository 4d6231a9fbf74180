//! MariaDB global transaction ids and replication positions in their text form, as
//! `@@gtid_binlog_pos`, `@@gtid_current_pos` and `@slave_connect_state` spell them.
//!
//! ```text
//! Gtid          domain_id-server_id-seq_no                 0-1-100
//! GtidPosition  one Gtid per domain, comma separated       0-1-100,1-2-5   ("" = nothing seen)
//! ```
//!
//! Within a replication domain, sequence numbers only grow (MariaDB allocates them per
//! domain and `gtid_strict_mode` enforces it on replicas), so a position is "everything
//! in domain D up to seq_no N". That is how MariaDB resumes a replica and how
//! [`GtidPosition::contains`] decides whether a transaction was already delivered.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::DecodeError;

/// One MariaDB GTID: `domain_id-server_id-seq_no`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtid {
    pub domain_id: u32,
    /// The server that first binlogged the transaction.
    pub server_id: u32,
    pub seq_no: u64,
}

impl Gtid {
    /// Parses `domain-server-seq`. Errors carry the byte offset in `text`.
    pub fn parse(text: &str) -> Result<Gtid, DecodeError> {
        parse_gtid(text, 0)
    }
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain_id, self.server_id, self.seq_no)
    }
}

impl FromStr for Gtid {
    type Err = DecodeError;

    fn from_str(text: &str) -> Result<Gtid, DecodeError> {
        Gtid::parse(text)
    }
}

/// A replication position: at most one GTID per domain, the last one delivered there.
/// This is what `@slave_connect_state` takes and what a connector stores as its offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GtidPosition {
    domains: BTreeMap<u32, Gtid>,
}

impl GtidPosition {
    /// The empty position: nothing seen, start every domain at its beginning.
    pub fn new() -> GtidPosition {
        GtidPosition::default()
    }

    /// Parses `0-1-100,1-2-5` (spaces and newlines around entries are allowed; empty text
    /// is the empty position). Two GTIDs of one domain are an error, as MariaDB reports
    /// for `@slave_connect_state`.
    pub fn parse(text: &str) -> Result<GtidPosition, DecodeError> {
        let mut position = GtidPosition::new();
        let mut offset = 0;
        for part in text.split(',') {
            let start = offset + (part.len() - part.trim_start().len());
            offset += part.len() + 1;
            let entry = part.trim();
            if entry.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(DecodeError::InvalidField {
                    offset: start,
                    field: "mariadb gtid position",
                    reason: "empty entry between commas",
                });
            }
            let gtid = parse_gtid(entry, start)?;
            if position.domains.insert(gtid.domain_id, gtid).is_some() {
                return Err(DecodeError::InvalidField {
                    offset: start,
                    field: "mariadb gtid position",
                    reason: "two gtids for one replication domain",
                });
            }
        }
        Ok(position)
    }

    /// The newest GTID of each domain in a binlog state (a GTID_LIST event's list, or
    /// `@@gtid_binlog_state`), which lists one GTID per domain and server with the
    /// newest of a domain last.
    pub fn from_binlog_state(state: &[Gtid]) -> GtidPosition {
        let mut position = GtidPosition::new();
        for gtid in state {
            position.domains.insert(gtid.domain_id, *gtid);
        }
        position
    }

    /// Records that the transaction `gtid` was delivered: it becomes its domain's entry.
    pub fn advance(&mut self, gtid: Gtid) {
        self.domains.insert(gtid.domain_id, gtid);
    }

    /// Whether `gtid` is at or before this position in its domain (so was already
    /// delivered and must be skipped after a restart). A domain the position does not
    /// name has seen nothing.
    pub fn contains(&self, gtid: &Gtid) -> bool {
        self.domains
            .get(&gtid.domain_id)
            .is_some_and(|seen| gtid.seq_no <= seen.seq_no)
    }

    /// The entry of `domain_id`.
    pub fn get(&self, domain_id: u32) -> Option<&Gtid> {
        self.domains.get(&domain_id)
    }

    /// Entries in domain order.
    pub fn iter(&self) -> impl Iterator<Item = &Gtid> {
        self.domains.values()
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }
}

impl fmt::Display for GtidPosition {
    /// `0-1-100,1-2-5`, domains ascending; empty for the empty position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gtid) in self.domains.values().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{gtid}")?;
        }
        Ok(())
    }
}

impl FromStr for GtidPosition {
    type Err = DecodeError;

    fn from_str(text: &str) -> Result<GtidPosition, DecodeError> {
        GtidPosition::parse(text)
    }
}

impl FromIterator<Gtid> for GtidPosition {
    /// Later GTIDs of a domain replace earlier ones, as [`GtidPosition::advance`] does.
    fn from_iter<I: IntoIterator<Item = Gtid>>(iter: I) -> GtidPosition {
        let mut position = GtidPosition::new();
        for gtid in iter {
            position.advance(gtid);
        }
        position
    }
}

/// `domain-server-seq`, with `base` added to error offsets.
fn parse_gtid(text: &str, base: usize) -> Result<Gtid, DecodeError> {
    let mut parts = text.splitn(3, '-');
    let mut offset = base;
    let end = base + text.len();
    let mut next = |field: &'static str| -> Result<(&str, usize), DecodeError> {
        let at = offset;
        match parts.next() {
            Some(part) => {
                offset += part.len() + 1;
                Ok((part, at))
            }
            None => Err(DecodeError::InvalidField {
                offset: at.min(end),
                field,
                reason: "expected domain_id-server_id-seq_no",
            }),
        }
    };
    let (domain, domain_at) = next("mariadb gtid domain_id")?;
    let (server, server_at) = next("mariadb gtid server_id")?;
    let (seq, seq_at) = next("mariadb gtid seq_no")?;
    Ok(Gtid {
        domain_id: parse_number(domain, domain_at, "mariadb gtid domain_id")?,
        server_id: parse_number(server, server_at, "mariadb gtid server_id")?,
        seq_no: parse_number(seq, seq_at, "mariadb gtid seq_no")?,
    })
}

/// Plain decimal digits only (no sign, no spaces), within the type's range.
fn parse_number<T: FromStr>(
    text: &str,
    offset: usize,
    field: &'static str,
) -> Result<T, DecodeError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::InvalidField {
            offset,
            field,
            reason: "not a decimal number",
        });
    }
    text.parse().map_err(|_| DecodeError::InvalidField {
        offset,
        field,
        reason: "number out of range",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtid(domain_id: u32, server_id: u32, seq_no: u64) -> Gtid {
        Gtid {
            domain_id,
            server_id,
            seq_no,
        }
    }

    #[test]
    fn gtids_round_trip() {
        assert_eq!(Gtid::parse("0-1-100"), Ok(gtid(0, 1, 100)));
        let max = "4294967295-4294967295-18446744073709551615";
        assert_eq!(Gtid::parse(max).map(|g| g.to_string()).as_deref(), Ok(max));
    }

    #[test]
    fn bad_gtids_name_the_offset() {
        for (text, offset) in [
            ("", 0),
            ("0-1", 3),
            ("0-1-", 4),
            ("x-1-2", 0),
            ("0-+1-2", 2),
            ("0-1-2-3", 4),
            ("4294967296-1-1", 0),
            ("0-1-18446744073709551616", 4),
        ] {
            let error = Gtid::parse(text).expect_err(text);
            assert_eq!(error.offset(), offset, "{text}: {error}");
        }
    }

    #[test]
    fn positions_parse_and_format() {
        let position = GtidPosition::parse("1-2-5, 0-1-100\n").expect("valid");
        assert_eq!(position.to_string(), "0-1-100,1-2-5");
        assert_eq!(position.get(1), Some(&gtid(1, 2, 5)));
        assert_eq!(GtidPosition::parse("").map(|p| p.is_empty()), Ok(true));
        assert_eq!(GtidPosition::parse("  ").map(|p| p.is_empty()), Ok(true));
        assert_eq!(GtidPosition::new().to_string(), "");

        let duplicate = GtidPosition::parse("0-1-1,0-2-2").expect_err("same domain twice");
        assert_eq!(duplicate.offset(), 6);
        let empty_entry = GtidPosition::parse("0-1-1,,1-1-1").expect_err("empty entry");
        assert_eq!(empty_entry.offset(), 6);
        let bad = GtidPosition::parse("0-1-1, 1-x-1").expect_err("bad server id");
        assert_eq!(bad.offset(), 9);
    }

    #[test]
    fn advance_and_contains() {
        let mut position = GtidPosition::parse("0-1-100").expect("valid");
        assert!(position.contains(&gtid(0, 1, 100)));
        assert!(position.contains(&gtid(0, 1, 99)));
        // After a failover another server continues the domain's sequence.
        assert!(position.contains(&gtid(0, 2, 50)));
        assert!(!position.contains(&gtid(0, 1, 101)));
        assert!(
            !position.contains(&gtid(1, 1, 1)),
            "unknown domain saw nothing"
        );

        position.advance(gtid(0, 2, 101));
        position.advance(gtid(1, 1, 1));
        assert_eq!(position.to_string(), "0-2-101,1-1-1");
        assert!(position.contains(&gtid(0, 1, 101)));
    }

    #[test]
    fn binlog_state_keeps_the_newest_per_domain() {
        let state = [gtid(0, 1, 10), gtid(0, 2, 12), gtid(3, 1, 7)];
        let position = GtidPosition::from_binlog_state(&state);
        assert_eq!(position.to_string(), "0-2-12,3-1-7");
        let collected: GtidPosition = state.into_iter().collect();
        assert_eq!(collected, position);
    }
}
