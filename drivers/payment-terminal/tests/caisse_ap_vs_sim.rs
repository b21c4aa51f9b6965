//! Our Caisse-AP client against the simulator: over real TCP on 127.0.0.1 and over a pty.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{SerialSim, TcpSim, fast, requests};
use pos_payment_terminal::sim::concert::Flavour;
use pos_payment_terminal::sim::{
    SimEvent, TEST_AUTHORISATION, TEST_CARD_PAN, TEST_TERMINAL_PRIVATE,
};
use pos_payment_terminal::{
    CaisseApClient, CaisseApConfig, DeclineReason, Kind, MemoryJournal, Outcome, PaymentRequest,
    PaymentTerminal, UnknownCause,
};
use pos_transport::open;

fn config(result_timeout: Duration) -> CaisseApConfig {
    CaisseApConfig {
        result_timeout,
        timeouts: fast(),
        want_receipt: true,
        ..CaisseApConfig::default()
    }
}

fn pay_tcp(sim: &TcpSim, request: &PaymentRequest, wait: Duration) -> Outcome {
    CaisseApClient::tcp("127.0.0.1", sim.port, config(wait))
        .pay(request, &mut MemoryJournal::default())
        .unwrap()
}

#[test]
fn tcp_approve_carries_card_authorisation_receipt_and_the_terminals_private_data() {
    let sim = TcpSim::start("amount-rule");
    let outcome = pay_tcp(
        &sim,
        &PaymentRequest::debit(1250, "ORDER-2026-000042"),
        Duration::from_secs(5),
    );
    let Outcome::Approved(a) = outcome else {
        panic!("12.50 must be approved: {outcome:?}")
    };
    assert_eq!(a.amount_cents, 1250);
    assert_eq!(a.masked_pan.as_deref(), Some(TEST_CARD_PAN));
    assert_eq!(a.authorisation.as_deref(), Some(TEST_AUTHORISATION));
    assert_eq!(
        a.private.as_deref(),
        Some(TEST_TERMINAL_PRIVATE),
        "CF carries the terminal's own private data, not our reference, and that is an approval"
    );
    assert!(
        a.receipt.unwrap_or_default().contains("12.50 EUR"),
        "the base64 receipt is decoded"
    );
}

#[test]
fn tcp_decline_reports_the_reason() {
    let sim = TcpSim::start("amount-rule");
    let outcome = pay_tcp(
        &sim,
        &PaymentRequest::debit(513, "R1"),
        Duration::from_secs(5),
    );
    let Outcome::Declined(d) = outcome else {
        panic!("5.13 must be declined: {outcome:?}")
    };
    assert_eq!(
        (d.reason, d.code.as_deref()),
        (DeclineReason::Refused, Some("04"))
    );
}

#[test]
fn tcp_partial_payment_is_reported_as_such() {
    let sim = TcpSim::start("partial");
    let outcome = pay_tcp(
        &sim,
        &PaymentRequest::debit(5000, "R2").allowing_partial(),
        Duration::from_secs(5),
    );
    let Outcome::PartiallyApproved(a) = outcome else {
        panic!("expected a partial approval: {outcome:?}")
    };
    assert_eq!(
        a.amount_cents, 2500,
        "the amount actually charged is reported"
    );
}

#[test]
fn tcp_no_answer_is_unknown_and_not_resent() {
    let sim = TcpSim::start("never-answer");
    let outcome = pay_tcp(
        &sim,
        &PaymentRequest::debit(1250, "R3"),
        Duration::from_millis(400),
    );
    assert!(
        matches!(outcome, Outcome::Unknown(ref u) if matches!(u.cause, UnknownCause::NoResult { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        requests(&sim.drain(Duration::from_millis(500))),
        1,
        "an unanswered request is never resent"
    );
}

#[test]
fn tcp_connection_dropped_after_the_request_is_unknown() {
    let sim = TcpSim::start("drop-after-ack");
    let outcome = pay_tcp(
        &sim,
        &PaymentRequest::debit(1250, "R4"),
        Duration::from_secs(5),
    );
    assert!(
        matches!(outcome, Outcome::Unknown(ref u) if matches!(u.cause, UnknownCause::LinkFailed { .. })),
        "a reset after the request was written is unknown: {outcome:?}"
    );
    assert_eq!(
        requests(&sim.drain(Duration::from_millis(200))),
        1,
        "and nothing was resent"
    );
}

#[test]
fn tcp_refund_and_cancellation() {
    let sim = TcpSim::start("approve");
    for kind in [Kind::Refund, Kind::Cancellation] {
        let outcome = pay_tcp(
            &sim,
            &PaymentRequest::debit(700, "R5").with_kind(kind),
            Duration::from_secs(5),
        );
        assert!(
            matches!(outcome, Outcome::Approved(_)),
            "{kind:?}: {outcome:?}"
        );
    }
    let kinds: Vec<Kind> = sim
        .drain(Duration::from_millis(100))
        .into_iter()
        .filter_map(|e| match e {
            SimEvent::Request { kind, .. } => Some(kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [Kind::Refund, Kind::Cancellation]);
}

#[test]
fn tcp_connection_refused_is_not_sent() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let outcome = CaisseApClient::tcp("127.0.0.1", port, config(Duration::from_secs(1)))
        .pay(
            &PaymentRequest::debit(100, "R6"),
            &mut MemoryJournal::default(),
        )
        .unwrap();
    assert!(
        matches!(outcome, Outcome::NotSent(_)),
        "nothing reached a terminal: {outcome:?}"
    );
}

fn pay_serial(sim: &SerialSim, request: &PaymentRequest, wait: Duration) -> Outcome {
    let link = open(&format!("serial://{}", sim.path).parse().unwrap()).unwrap();
    CaisseApClient::serial(link, config(wait))
        .pay(request, &mut MemoryJournal::default())
        .unwrap()
}

#[test]
fn serial_caisse_ap_approve_partial_decline_and_nak() {
    let sim = SerialSim::start(Flavour::CaisseAp, "partial,nak-first");
    let outcome = pay_serial(
        &sim,
        &PaymentRequest::debit(3000, "S1").allowing_partial(),
        Duration::from_secs(5),
    );
    assert!(
        matches!(outcome, Outcome::PartiallyApproved(ref a) if a.amount_cents == 1500),
        "partial payment over serial, after a NAK: {outcome:?}"
    );
    let outcome = pay_serial(
        &sim,
        &PaymentRequest::debit(3000, "S2"),
        Duration::from_secs(5),
    );
    assert!(
        matches!(outcome, Outcome::Approved(ref a) if a.amount_cents == 3000),
        "{outcome:?}"
    );
    let outcome = pay_serial(
        &sim,
        &PaymentRequest::debit(3013, "S3"),
        Duration::from_secs(5),
    );
    assert!(matches!(outcome, Outcome::Declined(_)), "{outcome:?}");
}

#[test]
fn serial_caisse_ap_no_answer_and_drop() {
    let sim = SerialSim::start(Flavour::CaisseAp, "never-answer");
    let outcome = pay_serial(
        &sim,
        &PaymentRequest::debit(100, "S4"),
        Duration::from_millis(300),
    );
    assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
    assert_eq!(
        requests(&sim.drain(Duration::from_millis(400))),
        1,
        "never resent"
    );
    let sim = SerialSim::start(Flavour::CaisseAp, "drop-after-ack");
    let outcome = pay_serial(
        &sim,
        &PaymentRequest::debit(100, "S5"),
        Duration::from_secs(5),
    );
    assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
}

#[test]
fn tcp_answer_without_its_echoes_is_unknown_not_approved() {
    // A peer answering "done" without saying which terminal, amount, kind, currency or
    // reference it answers: this proves nothing about our payment.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let _ = socket.read(&mut request).unwrap();
        socket.write_all(b"AE00210").unwrap();
    });
    let outcome = CaisseApClient::tcp("127.0.0.1", port, config(Duration::from_secs(2)))
        .pay(
            &PaymentRequest::debit(1250, "R1"),
            &mut MemoryJournal::default(),
        )
        .unwrap();
    peer.join().unwrap();
    assert!(
        matches!(outcome, Outcome::Unknown(_)),
        "an answer without echoes is incomplete, never an approval: {outcome:?}"
    );
}

/// A peer answering as terminals in the field do: every echo that matters (CA, CB, CD, CE) and
/// its own private data in `CF`, here the answer an independent simulator written from
/// Ingenico terminals gives to every approval.
#[test]
fn tcp_answer_with_the_terminals_own_cf_is_an_approval() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let _ = socket.read(&mut request).unwrap();
        socket
            .write_all(b"CZ0040320CJ012123456789012CA00201CB0041250CD0010CE003978AE00210AC006A1B2C3CF0101010000000")
            .unwrap();
    });
    let outcome = CaisseApClient::tcp("127.0.0.1", port, config(Duration::from_secs(2)))
        .pay(
            &PaymentRequest::debit(1250, "ORDER-42"),
            &mut MemoryJournal::default(),
        )
        .unwrap();
    peer.join().unwrap();
    let Outcome::Approved(approved) = outcome else {
        panic!("a CF that is not our reference must not turn an approval into unknown: {outcome:?}")
    };
    assert_eq!(approved.amount_cents, 1250);
    assert_eq!(approved.private.as_deref(), Some("1010000000"));
}
