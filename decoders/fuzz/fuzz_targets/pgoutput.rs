//! Any byte string through the pgoutput decoder, for every protocol version,
//! both outside and inside a streamed block: errors are fine, panics are not.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sluice_decoders::pgoutput::{Decoder, Message};

fuzz_target!(|data: &[u8]| {
    let data = Bytes::copy_from_slice(data);
    for version in 1..=4 {
        let mut decoder = Decoder::new(version);
        let _ = decoder.decode(data.clone());
        let start = Bytes::from_static(&[b'S', 0, 0, 0, 1, 1]);
        if let Ok(Message::StreamStart(_)) = decoder.decode(start) {
            let _ = decoder.decode(data.clone());
        }
    }
});
