//! Caisse-AP TLV parsing: whole-message and incremental parsing must agree, and a parsed
//! request must survive the message layer. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pos_payment_terminal::caisse_ap::message::{Message, Request};
use pos_payment_terminal::caisse_ap::tlv::{TlvParser, decode, encode};

fuzz_target!(|data: &[u8]| {
    let whole = decode(data);
    // Feed the same bytes in two pieces split at a data-dependent point.
    let split = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut p = TlvParser::new();
    let pieces = p.push(&data[..split]).and_then(|mut a| {
        a.extend(p.push(&data[split..])?);
        Ok(a)
    });
    if let Ok(fields) = &whole {
        assert_eq!(pieces.as_ref().ok(), Some(fields), "incremental parsing must agree");
        assert_eq!(encode(fields).as_deref().ok(), Some(data), "encode inverts decode");
        let _ = Request::from_message(&Message { fields: fields.clone() });
    }
});
