//! Our Concert V2 client against the simulator, over real pseudo-terminals.

mod common;

use std::time::Duration;

use common::{SerialSim, fast, requests};
use pos_payment_terminal::sim::concert::Flavour;
use pos_payment_terminal::sim::{SimEvent, TEST_CARD_PAN};
use pos_payment_terminal::{
    ConcertV2Client, ConcertV2Config, DeclineReason, Kind, MemoryJournal, Outcome, PaymentRequest,
    PaymentTerminal, UnknownCause,
};
use pos_transport::{Transport, open};

fn client(path: &str, result_timeout: Duration) -> ConcertV2Client<Box<dyn Transport>> {
    let link = open(&format!("serial://{path}").parse().unwrap()).unwrap();
    let config = ConcertV2Config {
        timeouts: fast(),
        result_timeout,
        ..ConcertV2Config::default()
    };
    ConcertV2Client::new(link, config)
}

fn pay(sim: &SerialSim, request: &PaymentRequest, wait: Duration) -> (Outcome, MemoryJournal) {
    let mut journal = MemoryJournal::default();
    let outcome = client(&sim.path, wait).pay(request, &mut journal).unwrap();
    (outcome, journal)
}

#[test]
fn approve_reports_card_data_and_journals_intent_then_outcome() {
    let sim = SerialSim::start(Flavour::ConcertV2, "amount-rule");
    let (outcome, journal) = pay(
        &sim,
        &PaymentRequest::debit(1250, "REF0000001"),
        Duration::from_secs(5),
    );
    let Outcome::Approved(a) = &outcome else {
        panic!("12.50 must be approved, got {outcome:?}")
    };
    assert_eq!(a.amount_cents, 1250);
    assert_eq!(
        a.masked_pan.as_deref(),
        Some(TEST_CARD_PAN),
        "IND 1 returns the masked card number"
    );
    assert_eq!(
        a.private.as_deref(),
        Some("REF0000001"),
        "the private field carries our reference"
    );
    assert_eq!(journal.intents.len(), 1, "the intent is journaled");
    assert_eq!(journal.intents[0].reference, "REF0000001");
    assert_eq!(
        journal.outcomes,
        vec![("REF0000001".to_string(), outcome)],
        "then its outcome"
    );
}

#[test]
fn amounts_ending_in_13_cents_are_declined() {
    let sim = SerialSim::start(Flavour::ConcertV2, "amount-rule");
    let (outcome, _) = pay(
        &sim,
        &PaymentRequest::debit(1013, "REF0000002"),
        Duration::from_secs(5),
    );
    let Outcome::Declined(d) = outcome else {
        panic!("10.13 must be declined, got {outcome:?}")
    };
    assert_eq!(d.reason, DeclineReason::Refused);
}

#[test]
fn nak_then_success() {
    let sim = SerialSim::start(Flavour::ConcertV2, "nak-first");
    let (outcome, _) = pay(
        &sim,
        &PaymentRequest::debit(2000, "REF0000003"),
        Duration::from_secs(5),
    );
    assert!(
        matches!(outcome, Outcome::Approved(_)),
        "a NAKed frame is resent and then approved: {outcome:?}"
    );
    let events = sim.drain(Duration::from_millis(100));
    assert!(
        events.iter().any(|e| matches!(
            e,
            SimEvent::Request {
                frames_naked: 1,
                ..
            }
        )),
        "the simulator NAKed one frame and accepted the resend: {events:?}"
    );
}

#[test]
fn no_answer_is_unknown_and_nothing_is_resent() {
    let sim = SerialSim::start(Flavour::ConcertV2, "never-answer");
    let (outcome, journal) = pay(
        &sim,
        &PaymentRequest::debit(1250, "REF0000004"),
        Duration::from_millis(400),
    );
    assert!(
        matches!(outcome, Outcome::Unknown(ref u) if matches!(u.cause, UnknownCause::NoResult { .. })),
        "an acknowledged request without result is unknown: {outcome:?}"
    );
    let events = sim.drain(Duration::from_millis(700));
    assert_eq!(
        requests(&events),
        1,
        "an acknowledged request must never be resent: {events:?}"
    );
    assert_eq!(
        journal.outcomes[0].1, outcome,
        "the unknown outcome is journaled"
    );
}

#[test]
fn line_dropped_after_ack_is_unknown() {
    let sim = SerialSim::start(Flavour::ConcertV2, "drop-after-ack");
    let (outcome, _) = pay(
        &sim,
        &PaymentRequest::debit(1250, "REF0000005"),
        Duration::from_secs(5),
    );
    assert!(
        matches!(outcome, Outcome::Unknown(_)),
        "a line dropped after the ACK leaves the outcome unknown: {outcome:?}"
    );
    assert_eq!(
        requests(&sim.drain(Duration::from_millis(100))),
        1,
        "and nothing was resent"
    );
}

#[test]
fn refund_and_cancellation_are_sent_with_their_type() {
    let sim = SerialSim::start(Flavour::ConcertV2, "approve");
    for kind in [Kind::Refund, Kind::Cancellation] {
        let request = PaymentRequest::debit(990, "REF0000006").with_kind(kind);
        let (outcome, _) = pay(&sim, &request, Duration::from_secs(5));
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
    assert_eq!(
        kinds,
        [Kind::Refund, Kind::Cancellation],
        "the terminal saw the right transaction types"
    );
}

#[test]
fn an_lrc_equal_to_enq_does_not_confuse_either_side() {
    // 3.99 EUR with IND 0: the request's LRC is 0x05, the ENQ byte. The reference "RR" keeps
    // it so (two equal bytes XOR to 0, like the two spaces they replace).
    let payload = b"0100000399010978RR        A010B010";
    let frame = pos_payment_terminal::concert::frame::encode_frame(payload);
    assert_eq!(
        frame.last(),
        Some(&0x05),
        "fixture: the LRC is the ENQ byte"
    );
    let sim = SerialSim::start(Flavour::ConcertV2, "approve");
    let link = open(&format!("serial://{}", sim.path).parse().unwrap()).unwrap();
    let config = ConcertV2Config {
        timeouts: fast(),
        return_card_data: false,
        ..ConcertV2Config::default()
    };
    let outcome = ConcertV2Client::new(link, config)
        .pay(
            &PaymentRequest::debit(399, "RR"),
            &mut MemoryJournal::default(),
        )
        .unwrap();
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
}

#[test]
fn no_terminal_means_not_sent_after_the_configured_attempts() {
    // A pty nobody serves: our ENQs are never acknowledged.
    let (_master, path) = pos_transport::pty_pair().unwrap();
    let mut journal = MemoryJournal::default();
    let config = ConcertV2Config {
        timeouts: pos_payment_terminal::LinkTimeouts {
            ack: Duration::from_millis(100),
            ..fast()
        },
        ..ConcertV2Config::default()
    };
    let link = open(&format!("serial://{path}").parse().unwrap()).unwrap();
    let outcome = ConcertV2Client::new(link, config)
        .pay(&PaymentRequest::debit(100, "R"), &mut journal)
        .unwrap();
    let Outcome::NotSent(n) = outcome else {
        panic!("no ACK means not sent: {outcome:?}")
    };
    assert_eq!(n.attempts, 3, "three ENQ attempts by default");
}

#[test]
fn plain_protocol_e_without_card_data() {
    let sim = SerialSim::start(Flavour::ConcertV2, "amount-rule");
    let link = open(&format!("serial://{}", sim.path).parse().unwrap()).unwrap();
    let config = ConcertV2Config {
        timeouts: fast(),
        extended: false,
        return_card_data: false,
        ..ConcertV2Config::default()
    };
    let outcome = ConcertV2Client::new(link, config)
        .pay(
            &PaymentRequest::debit(1250, "E-ONLY"),
            &mut MemoryJournal::default(),
        )
        .unwrap();
    let Outcome::Approved(a) = outcome else {
        panic!("protocol E (26 chars) is understood: {outcome:?}")
    };
    assert_eq!(
        a.masked_pan, None,
        "IND 0: the 28-byte answer carries no card data"
    );
}
