//! The printer client against a scripted printer on an in-memory duplex: unsolicited status
//! back messages interleaved with answers, late answers after a timeout, a closed link.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use pos_escpos::Paper;
use pos_escpos::client::{Printer, PrinterConfig, PrinterError};
use pos_escpos::status::StatusRequest;
use pos_transport::{MemoryLink, memory_duplex};

fn expect_query(dev: &mut MemoryLink, n: u8) {
    let mut q = [0u8; 3];
    dev.read_exact(&mut q).unwrap();
    assert_eq!(q, [0x10, 0x04, n], "the client sends DLE EOT {n}");
}

fn config(ms: u64) -> PrinterConfig {
    PrinterConfig {
        answer_timeout: Duration::from_millis(ms),
        ..PrinterConfig::default()
    }
}

#[test]
fn asb_before_the_answer_is_kept_apart() {
    let (host, mut dev) = memory_duplex();
    let printer = thread::spawn(move || {
        expect_query(&mut dev, 4);
        // An ASB (cover open, offline) arrives first, split in two writes, then the answer.
        dev.write_all(&[0x38, 0x00]).unwrap();
        dev.write_all(&[0x00, 0x00, 0x1E]).unwrap();
        dev
    });
    let mut p = Printer::new(host, config(2000));
    let answer = p.query(StatusRequest::Paper).unwrap();
    assert_eq!(
        answer, 0x1E,
        "the answer is the byte after the 4-byte ASB, not the ASB's bytes"
    );
    let asb = p.last_auto_status().expect("the ASB was recorded");
    assert!(asb.cover_open && asb.offline, "{asb:?}");
    printer.join().unwrap();
}

#[test]
fn a_late_answer_does_not_answer_the_next_query() {
    let (host, mut dev) = memory_duplex();
    let printer = thread::spawn(move || {
        expect_query(&mut dev, 4);
        // Too late for the first query...
        thread::sleep(Duration::from_millis(300));
        dev.write_all(&[0x72]).unwrap(); // paper out, stale
        expect_query(&mut dev, 4);
        dev.write_all(&[0x12]).unwrap(); // paper ok, the real answer
        dev
    });
    let mut p = Printer::new(host, config(100));
    match p.query(StatusRequest::Paper) {
        Err(PrinterError::NoAnswer { request: 4, .. }) => {}
        other => panic!("no answer within the timeout is NoAnswer, got {other:?}"),
    }
    thread::sleep(Duration::from_millis(400));
    let mut s = pos_escpos::PrinterStatus::default();
    let b = p.query(StatusRequest::Paper).unwrap();
    pos_escpos::status::apply_answer(&mut s, StatusRequest::Paper, b, Default::default()).unwrap();
    assert_eq!(
        s.paper,
        Paper::Ok,
        "the stale 0x72 was drained, 0x12 answers the second query"
    );
    printer.join().unwrap();
}

#[test]
fn a_closed_link_is_a_link_error() {
    let (host, dev) = memory_duplex();
    drop(dev);
    let mut p = Printer::new(host, config(500));
    assert!(
        matches!(p.status(), Err(PrinterError::Io(_) | PrinterError::Closed)),
        "a hang-up is reported as a link error, not a printer state"
    );
}
