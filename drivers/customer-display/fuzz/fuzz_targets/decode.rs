//! The display model must take any bytes, split anywhere, without panic, and always show
//! two lines of 20 characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pos_customer_display::DisplayModel;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&s| usize::from(s).min(data.len()));
    let mut m = DisplayModel::default();
    m.push(&data[..split]);
    m.push(&data[split..]);
    for line in m.lines() {
        assert_eq!(line.chars().count(), 20);
    }
});
