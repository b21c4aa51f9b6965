//! The back-channel reader must classify any byte sequence without panic, and every complete
//! ASB message must parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pos_escpos::status::{DrawerPolarity, Incoming, StatusReader, parse_asb};

fuzz_target!(|data: &[u8]| {
    let mut r = StatusReader::new();
    for i in r.push_all(data) {
        if let Incoming::Asb(m) = i {
            let _ = parse_asb(m, DrawerPolarity::default());
        }
    }
});
