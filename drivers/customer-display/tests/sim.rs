//! The display simulator over a real pseudo-terminal, driven by our client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use pos_customer_display::{Charset, Display, sim};
use pos_transport::DeviceUri;
use proptest::prelude::*;

#[test]
fn display_simulator_shows_what_the_client_sends() {
    let (master, path) = pos_transport::pty_pair().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let server = {
        let stop = stop.clone();
        thread::spawn(move || {
            sim::serve_link(master, &stop, Duration::from_millis(50), |lines| {
                let _ = tx.send(lines.clone());
            })
        })
    };
    let uri: DeviceUri = format!("serial://{path}?baud=9600").parse().unwrap();
    let mut d = Display::new(pos_transport::open(&uri).unwrap(), Charset::Ascii);
    d.init().unwrap();
    d.show("Café crème", "TOTAL     12,50 €").unwrap();
    let mut last = None;
    while let Ok(lines) = rx.recv_timeout(Duration::from_secs(5)) {
        let done = lines[1].starts_with("TOTAL");
        last = Some(lines);
        if done {
            break;
        }
    }
    assert_eq!(
        last.expect("the simulator reported the screen"),
        [
            "Cafe creme          ".to_string(),
            "TOTAL     12,50 EUR ".to_string()
        ],
        "accents are transliterated and € becomes EUR on an unverified display"
    );
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
}

proptest! {
    #[test]
    fn display_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut m = pos_customer_display::DisplayModel::default();
        m.push(&bytes);
        let lines = m.lines();
        prop_assert_eq!(lines[0].chars().count(), 20, "a line always has 20 characters");
    }
}
