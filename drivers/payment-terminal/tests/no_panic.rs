//! Property tests run in CI (stable Rust): no decoder panics on arbitrary input, incremental
//! parsing agrees with whole-message parsing, and encoders round-trip. The cargo-fuzz targets in
//! `fuzz/` explore the same decoders with coverage guidance.

use std::time::Duration;

use pos_payment_terminal::caisse_ap::message::{Message, Request};
use pos_payment_terminal::caisse_ap::tlv::{Field, TlvParser, decode, encode};
use pos_payment_terminal::concert::frame::{Event, FrameDecoder, encode_frame};
use pos_payment_terminal::concert::session::{LinkTimeouts, receive_message};
use pos_payment_terminal::concert::v2::{V2Request, V2Response};
use pos_payment_terminal::link::Link;
use pos_transport::memory_duplex;
use proptest::prelude::*;
use std::io::Write;
use std::time::Instant;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn concert_decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut d = FrameDecoder::new();
        for e in d.push_all(&data) {
            if let Event::Frame(p) | Event::BadLrc { payload: p, .. } = e {
                let _ = V2Request::decode(&p);
                let _ = V2Response::decode(&p);
            }
        }
        let _ = V2Request::decode(&data);
        let _ = V2Response::decode(&data);
    }

    #[test]
    fn v2_sized_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 25..=80)) {
        let _ = V2Response::decode(&data);
        let _ = V2Request::decode(&data[..data.len().min(34)]);
        let _ = V2Request::decode(&data[..data.len().min(26)]);
    }

    #[test]
    fn any_payload_survives_framing(payload in proptest::collection::vec(0x20u8..0x7f, 0..200), split in 0usize..210) {
        let frame = encode_frame(&payload);
        let split = split.min(frame.len());
        let mut d = FrameDecoder::new();
        let mut events = d.push_all(&frame[..split]);
        events.extend(d.push_all(&frame[split..]));
        prop_assert_eq!(events, vec![Event::Frame(payload)]);
    }

    #[test]
    fn tlv_parser_never_panics_and_agrees_across_splits(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        split in 0usize..300,
    ) {
        let whole = decode(&data);
        let split = split.min(data.len());
        let mut p = TlvParser::new();
        let pieces = p.push(&data[..split]).and_then(|mut a| { a.extend(p.push(&data[split..])?); Ok(a) });
        if let Ok(fields) = &whole {
            prop_assert_eq!(pieces.as_ref().ok(), Some(fields));
            let _ = Request::from_message(&Message { fields: fields.clone() });
        }
    }

    #[test]
    fn tlv_round_trips(fields in proptest::collection::vec(("[A-Z0-9]{2}", proptest::collection::vec(any::<u8>(), 0..40)), 0..12)) {
        let fields: Vec<Field> = fields.into_iter().map(|(t, v)| Field::new(&t, v)).collect();
        let bytes = encode(&fields).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap(), fields);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The session layer, fed arbitrary bytes by a "terminal", ends with a message or an error.
    #[test]
    fn session_receive_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (ours, mut theirs) = memory_duplex();
        theirs.write_all(&data).unwrap();
        drop(theirs);
        let mut link = Link::new(ours);
        let t = LinkTimeouts { ack: Duration::from_millis(5), inter_char: Duration::from_millis(5), ..LinkTimeouts::default() };
        let _ = receive_message(&mut link, Instant::now() + Duration::from_millis(5), &t, 0);
    }
}
