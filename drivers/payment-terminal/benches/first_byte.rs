//! Time from `pay()` to the request's first byte on the link, per protocol and journal.
//!
//! Run: `cargo bench -p pos-payment-terminal --bench first_byte` (optionally `-- ITERATIONS`).
//! The "terminal" side timestamps the first byte it receives: ENQ on a pty for Concert V2, the
//! first request byte on a 127.0.0.1 socket for Caisse-AP. The file journal variant includes the
//! fsync of the intent, which is what a till pays before every payment.

use std::net::TcpListener;
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use pos_payment_terminal::concert::frame::ENQ;
use pos_payment_terminal::concert::session::{receive_after_enq, send_message};
use pos_payment_terminal::concert::v2::{V2Request, V2Response};
use pos_payment_terminal::link::Link;
use pos_payment_terminal::sim::{Behaviour, caisse_ap};
use pos_payment_terminal::{
    CaisseApClient, CaisseApConfig, ConcertV2Client, ConcertV2Config, FileJournal, IntentJournal,
    LinkTimeouts, MemoryJournal, Outcome, PaymentRequest, PaymentTerminal,
};
use pos_transport::{PtyMaster, TcpLink, open, pty_pair};

/// A terminal on the pty master that reports when each session's ENQ arrives and approves.
fn concert_terminal(master: PtyMaster, first_byte: Sender<Instant>) {
    let mut link = Link::new(master);
    let t = LinkTimeouts::default();
    loop {
        match link.read_byte_until(Instant::now() + Duration::from_secs(5)) {
            Ok(Some(ENQ)) => {
                let _ = first_byte.send(Instant::now());
            }
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return,
        }
        let Ok(payload) = receive_after_enq(&mut link, &t, 0) else {
            return;
        };
        let Ok(req) = V2Request::decode(&payload) else {
            return;
        };
        let answer = V2Response {
            terminal: req.terminal,
            status: b'0',
            amount_cents: req.amount_cents,
            mode: req.mode,
            card_data: None,
            currency: req.currency,
            private: req.private,
        };
        if send_message(&mut link, &answer.encode().unwrap(), &t).is_err() {
            return;
        }
    }
}

/// A Caisse-AP terminal that timestamps the first request byte (peek) and then serves it.
fn caisse_ap_terminal(listener: TcpListener, first_byte: Sender<Instant>) {
    let (events, _rx) = channel();
    let behaviour = Behaviour {
        decision: pos_payment_terminal::sim::Decision::Approve,
        ..Behaviour::default()
    };
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let mut byte = [0u8; 1];
        if stream.peek(&mut byte).is_err() {
            return;
        }
        let _ = first_byte.send(Instant::now());
        let Ok(link) = TcpLink::from_stream(stream) else {
            return;
        };
        let _ = caisse_ap::serve_connection(link, &behaviour, &events);
    }
}

fn measure(
    name: &str,
    iterations: u32,
    terminal: &mut dyn PaymentTerminal,
    journal: &mut dyn IntentJournal,
    first_byte: &std::sync::mpsc::Receiver<Instant>,
) {
    let mut h = Histogram::<u64>::new(3).unwrap();
    for i in 0..iterations {
        let request = PaymentRequest::debit(100 + u64::from(i % 1000), format!("B{i:09}"));
        let start = Instant::now();
        let outcome = terminal.pay(&request, journal).unwrap();
        assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
        let first = first_byte
            .recv_timeout(Duration::from_secs(5))
            .expect("first byte seen");
        h.record(first.duration_since(start).as_micros() as u64)
            .unwrap();
    }
    println!(
        "{name:<40} n={:<5} p50={:>6} us  p90={:>6} us  p99={:>6} us  max={:>6} us",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.max()
    );
}

fn main() {
    let iterations: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();

    let (master, path) = pty_pair().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || concert_terminal(master, tx));
    let link = open(&format!("serial://{path}").parse().unwrap()).unwrap();
    let mut v2 = ConcertV2Client::new(
        link,
        ConcertV2Config {
            return_card_data: false,
            ..ConcertV2Config::default()
        },
    );
    measure(
        "concert-v2 pty, memory journal",
        iterations,
        &mut v2,
        &mut MemoryJournal::default(),
        &rx,
    );
    let mut file = FileJournal::open(&dir.path().join("v2")).unwrap();
    measure(
        "concert-v2 pty, file journal (fsync)",
        iterations,
        &mut v2,
        &mut file,
        &rx,
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = channel();
    std::thread::spawn(move || caisse_ap_terminal(listener, tx));
    let config = CaisseApConfig {
        message_gap: Duration::from_millis(1),
        ..CaisseApConfig::default()
    };
    let mut v3 = CaisseApClient::tcp("127.0.0.1", port, config);
    measure(
        "caisse-ap tcp, memory journal",
        iterations,
        &mut v3,
        &mut MemoryJournal::default(),
        &rx,
    );
    let mut file = FileJournal::open(&dir.path().join("v3")).unwrap();
    measure(
        "caisse-ap tcp, file journal (fsync)",
        iterations,
        &mut v3,
        &mut file,
        &rx,
    );
}
