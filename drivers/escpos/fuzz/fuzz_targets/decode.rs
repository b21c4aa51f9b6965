//! The ESC/POS decoder and renderer must accept any byte stream, split anywhere, without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pos_escpos::decode::{Decoder, ModelConfig, Output};
use pos_escpos::render::{RenderOptions, render};

fuzz_target!(|data: &[u8]| {
    // The first byte picks a read boundary so framing across reads is exercised too.
    let (split, bytes) = match data.split_first() {
        Some((&s, rest)) => (usize::from(s).min(rest.len()), rest),
        None => (0, data),
    };
    let mut d = Decoder::new(ModelConfig::default());
    let mut out = d.push(&bytes[..split]);
    out.extend(d.push(&bytes[split..]));
    out.extend(d.finish());
    for o in out {
        if let Output::Receipt(r) = o {
            let _ = r.text();
            let _ = render(&r, RenderOptions::default());
        }
    }
});
