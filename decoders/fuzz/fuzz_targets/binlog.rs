//! The first byte picks a binlog decoder (MariaDB event body of type 160..=163, MySQL
//! binary GTID set, GTID text forms, raw event split, binlog file walk, format
//! description), the rest is its input: errors are fine, panics are not. What decodes
//! must also survive a round trip through its encoder / formatter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_decoders::binlog::header::{file_events, ChecksumAlg, RawEvent};
use sluice_decoders::binlog::mariadb::{Gtid, GtidPosition, MariaDbEvent};
use sluice_decoders::binlog::mysql::GtidSet;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            let event_type = 160 + (selector / 6) % 4;
            let _ = MariaDbEvent::decode(event_type, input);
        }
        1 => {
            if let Ok(set) = GtidSet::decode(input) {
                assert_eq!(GtidSet::decode(&set.encode()).as_ref(), Ok(&set));
                assert_eq!(GtidSet::parse(&set.to_string()).as_ref(), Ok(&set));
            }
        }
        2 => {
            let text = String::from_utf8_lossy(input);
            if let Ok(position) = GtidPosition::parse(&text) {
                assert_eq!(GtidPosition::parse(&position.to_string()).as_ref(), Ok(&position));
            }
            if let Ok(gtid) = Gtid::parse(&text) {
                assert_eq!(Gtid::parse(&gtid.to_string()), Ok(gtid));
            }
            if let Ok(set) = GtidSet::parse(&text) {
                assert_eq!(GtidSet::parse(&set.to_string()).as_ref(), Ok(&set));
                assert_eq!(GtidSet::decode(&set.encode()).as_ref(), Ok(&set));
            }
        }
        3 => {
            for alg in [ChecksumAlg::Off, ChecksumAlg::Crc32] {
                if let Ok(raw) = RawEvent::split(input, alg) {
                    let _ = MariaDbEvent::decode(raw.header.event_type, raw.body);
                }
            }
        }
        4 => {
            if let Ok(events) = file_events(input) {
                let mut alg = ChecksumAlg::Off;
                for (_, event) in events.flatten() {
                    if let Ok(declared) = ChecksumAlg::from_format_description(event) {
                        alg = declared;
                    }
                    if let Ok(raw) = RawEvent::split(event, alg) {
                        let _ = MariaDbEvent::decode(raw.header.event_type, raw.body);
                    }
                }
            }
        }
        _ => {
            let _ = ChecksumAlg::from_format_description(input);
        }
    }
});
