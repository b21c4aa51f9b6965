//! The line splitter must take any bytes, split anywhere, without panic, and never return an
//! empty code or one longer than its maximum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pos_scanner::lines::{Line, LineSplitter};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&s| usize::from(s).min(data.len()));
    let mut s = LineSplitter::new(32);
    let mut lines = s.push(&data[..split]);
    lines.extend(s.push(&data[split..]));
    for l in lines {
        if let Line::Code(c) = l {
            assert!(!c.is_empty() && c.chars().count() <= 32);
        }
    }
    let _ = s.take_partial();
});
