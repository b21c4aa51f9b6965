//! The Concert V2 client against scripted terminals on an in-memory duplex: broken links,
//! corrupt answers, echo mismatches and an ENQ collision, byte by byte.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use pos_payment_terminal::concert::frame::{ACK, ENQ, EOT, NAK, encode_frame};
use pos_payment_terminal::concert::v2::V2Response;
use pos_payment_terminal::{
    ConcertV2Client, ConcertV2Config, LinkTimeouts, MemoryJournal, Outcome, PaymentRequest,
    PaymentTerminal, UnknownCause,
};
use pos_transport::{MemoryLink, Transport, memory_duplex};

fn config() -> ConcertV2Config {
    let timeouts = LinkTimeouts {
        ack: Duration::from_millis(300),
        enq_attempts: 3,
        nak_resends: 2,
        inter_char: Duration::from_millis(300),
    };
    ConcertV2Config {
        timeouts,
        result_timeout: Duration::from_secs(2),
        ..ConcertV2Config::default()
    }
}

fn byte(t: &mut MemoryLink) -> u8 {
    let mut b = [0u8; 1];
    t.read_exact(&mut b).expect("a byte from the client");
    b[0]
}

/// Reads a whole request frame (STX..ETX LRC) and returns its payload.
fn read_frame(t: &mut MemoryLink) -> Vec<u8> {
    assert_eq!(byte(t), 0x02, "frame starts with STX");
    let mut payload = Vec::new();
    loop {
        match byte(t) {
            0x03 => break,
            b => payload.push(b),
        }
    }
    let _lrc = byte(t);
    payload
}

/// The terminal's side of the request session: ACK the ENQ and the frame, read EOT.
fn take_request(t: &mut MemoryLink) -> Vec<u8> {
    assert_eq!(byte(t), ENQ);
    t.write_all(&[ACK]).unwrap();
    let payload = read_frame(t);
    t.write_all(&[ACK]).unwrap();
    assert_eq!(byte(t), EOT);
    payload
}

fn answer(amount_cents: u64, status: u8) -> Vec<u8> {
    let r = V2Response {
        terminal: 1,
        status,
        amount_cents,
        mode: b'1',
        card_data: Some(b"497010XXXXXX0019".to_vec()),
        currency: *b"978",
        private: *b"R         ",
    };
    r.encode().unwrap()
}

fn run(script: impl FnOnce(&mut MemoryLink) + Send + 'static) -> Outcome {
    run_keeping(script).0
}

type Client = ConcertV2Client<MemoryLink>;

fn run_keeping(script: impl FnOnce(&mut MemoryLink) + Send + 'static) -> (Outcome, Client) {
    let (ours, mut theirs) = memory_duplex();
    theirs.set_read_timeout(Duration::from_secs(5)).unwrap();
    // The terminal's end is dropped (a hang-up) when its script ends.
    let terminal = thread::spawn(move || script(&mut theirs));
    let mut client = ConcertV2Client::new(ours, config());
    let outcome = client
        .pay(
            &PaymentRequest::debit(1250, "R"),
            &mut MemoryJournal::default(),
        )
        .unwrap();
    terminal
        .join()
        .expect("the scripted terminal's assertions hold");
    (outcome, client)
}

#[test]
fn link_gone_before_the_enq_is_acknowledged_is_not_sent() {
    let outcome = run(|t| {
        assert_eq!(byte(t), ENQ);
    });
    assert!(
        matches!(outcome, Outcome::NotSent(_)),
        "nothing was acknowledged: {outcome:?}"
    );
}

#[test]
fn frame_nakd_more_than_allowed_is_not_sent() {
    let outcome = run(|t| {
        assert_eq!(byte(t), ENQ);
        t.write_all(&[ACK]).unwrap();
        for _ in 0..3 {
            read_frame(t);
            t.write_all(&[NAK]).unwrap();
        }
        assert_eq!(byte(t), EOT, "the client ends the session after giving up");
    });
    let Outcome::NotSent(n) = outcome else {
        panic!("a refused frame was never accepted: {outcome:?}")
    };
    assert!(n.error.contains("NAK 3"), "{}", n.error);
}

#[test]
fn hang_up_after_the_request_is_acknowledged_is_unknown() {
    let outcome = run(|t| {
        take_request(t);
    });
    assert!(
        matches!(outcome, Outcome::Unknown(ref u) if matches!(u.cause, UnknownCause::LinkFailed { .. })),
        "{outcome:?}"
    );
}

#[test]
fn corrupt_answer_is_nakd_and_the_resend_is_accepted() {
    let outcome = run(|t| {
        take_request(t);
        t.write_all(&[ENQ]).unwrap();
        assert_eq!(byte(t), ACK);
        let mut bad = encode_frame(&answer(1250, b'0'));
        *bad.last_mut().unwrap() ^= 0x40;
        t.write_all(&bad).unwrap();
        assert_eq!(byte(t), NAK, "a corrupt LRC is answered with NAK");
        t.write_all(&encode_frame(&answer(1250, b'0'))).unwrap();
        assert_eq!(byte(t), ACK, "the good resend is acknowledged");
        t.write_all(&[EOT]).unwrap();
    });
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
}

#[test]
fn answer_cut_short_is_nakd_and_the_resend_is_accepted() {
    let outcome = run(|t| {
        take_request(t);
        t.write_all(&[ENQ]).unwrap();
        assert_eq!(byte(t), ACK);
        let whole = encode_frame(&answer(1250, b'0'));
        // The ETX and LRC are lost on the line: the client waits out the inter-character
        // timeout, then asks for the frame again rather than giving up.
        t.write_all(&whole[..whole.len() - 2]).unwrap();
        assert_eq!(byte(t), NAK, "a frame cut short is answered with NAK");
        t.write_all(&whole).unwrap();
        assert_eq!(byte(t), ACK, "the whole resend is acknowledged");
        t.write_all(&[EOT]).unwrap();
    });
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
}

#[test]
fn answer_that_stays_corrupt_is_unknown() {
    let outcome = run(|t| {
        take_request(t);
        t.write_all(&[ENQ]).unwrap();
        assert_eq!(byte(t), ACK);
        let mut bad = encode_frame(&answer(1250, b'0'));
        *bad.last_mut().unwrap() ^= 0x40;
        for _ in 0..3 {
            t.write_all(&bad).unwrap();
            assert_eq!(byte(t), NAK);
        }
    });
    assert!(
        matches!(outcome, Outcome::Unknown(ref u) if matches!(u.cause, UnknownCause::Garbled { .. })),
        "an unreadable answer to an acknowledged request is unknown, not declined: {outcome:?}"
    );
}

#[test]
fn echo_of_another_amount_is_unknown() {
    let outcome = run(|t| {
        take_request(t);
        t.write_all(&[ENQ]).unwrap();
        assert_eq!(byte(t), ACK);
        t.write_all(&encode_frame(&answer(9999, b'0'))).unwrap();
        assert_eq!(byte(t), ACK);
        t.write_all(&[EOT]).unwrap();
    });
    let Outcome::Unknown(u) = outcome else {
        panic!("a wrong echo is not an approval: {outcome:?}")
    };
    assert!(
        matches!(u.cause, UnknownCause::EchoMismatch { ref field, .. } if field == "amount"),
        "{u:?}"
    );
}

#[test]
fn terminal_wins_an_enq_collision_and_the_request_goes_after() {
    let (outcome, mut client) = run_keeping(|t| {
        // Both sides start at once: we answer the client's ENQ with our own ENQ.
        assert_eq!(byte(t), ENQ);
        t.write_all(&[ENQ]).unwrap();
        assert_eq!(byte(t), ACK, "the client yields and acknowledges our ENQ");
        t.write_all(&encode_frame(&answer(500, b'0'))).unwrap();
        assert_eq!(byte(t), ACK, "and receives our message");
        t.write_all(&[EOT]).unwrap();
        // Then the client sends its own request and we answer it normally.
        let req = take_request(t);
        assert_eq!(
            &req[2..10],
            b"00001250",
            "the request follows the collision"
        );
        t.write_all(&[ENQ]).unwrap();
        assert_eq!(byte(t), ACK);
        t.write_all(&encode_frame(&answer(1250, b'7'))).unwrap();
        assert_eq!(byte(t), ACK);
        t.write_all(&[EOT]).unwrap();
    });
    assert!(matches!(outcome, Outcome::Declined(_)), "{outcome:?}");
    let late = client.take_unsolicited();
    assert_eq!(
        late.len(),
        1,
        "the terminal's own message is kept for the caller"
    );
    assert_eq!(late[0].as_ref().map(|r| r.amount_cents).ok(), Some(500));
}

#[test]
fn a_frame_received_but_never_acknowledged_is_unknown_not_a_safe_retry() {
    // The terminal takes the whole request; its ACK is lost on the line. It may be charging the
    // card, so the client must not report "not sent" (which would invite a second payment).
    let outcome = run(|t| {
        assert_eq!(byte(t), ENQ);
        t.write_all(&[ACK]).unwrap();
        read_frame(t);
        assert_eq!(byte(t), EOT, "the client ends the session");
    });
    let Outcome::Unknown(u) = outcome else {
        panic!("an unacknowledged frame may have been received: {outcome:?}")
    };
    assert!(
        matches!(u.cause, UnknownCause::Unacknowledged { .. }),
        "{u:?}"
    );
}
