//! Concert link layer and V2 messages: the frame decoder on arbitrary bytes, and every complete
//! frame through both V2 message decoders. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pos_payment_terminal::concert::frame::{Event, FrameDecoder};
use pos_payment_terminal::concert::v2::{V2Request, V2Response};

fuzz_target!(|data: &[u8]| {
    let mut decoder = FrameDecoder::new();
    for event in decoder.push_all(data) {
        if let Event::Frame(payload) | Event::BadLrc { payload, .. } = event {
            if let Ok(r) = V2Request::decode(&payload) {
                let _ = r.encode();
            }
            if let Ok(r) = V2Response::decode(&payload) {
                let _ = r.encode();
            }
        }
    }
    let _ = V2Request::decode(data);
    let _ = V2Response::decode(data);
});
