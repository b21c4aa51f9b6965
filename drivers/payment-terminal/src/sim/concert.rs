//! The simulated terminal on a serial link: Concert V2, or Caisse-AP inside Concert frames.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use pos_transport::Transport;

use super::caisse_ap::answer_fields;
use super::{Behaviour, SimEvent, TEST_CARD_EXPIRY, TEST_CARD_PAN, Verdict};
use crate::caisse_ap::message::{Message, Request};
use crate::caisse_ap::tlv;
use crate::concert::session::{LinkTimeouts, RecvError, receive_message, send_message};
use crate::concert::v2::{V2Request, V2Response};
use crate::link::Link;

/// Which messages travel inside the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    ConcertV2,
    CaisseAp,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::ConcertV2 => "concert-v2",
            Flavour::CaisseAp => "caisse-ap",
        }
    }
}

/// Why the serve loop returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// `drop-after-ack`: the caller must close the link now (drop it).
    LineDropped,
    /// The stop flag was raised.
    Requested,
}

/// Serves requests on `transport` until the line is dropped, `stop` is raised, or the link
/// fails. Events go to `events` (send errors are ignored: nobody listening is fine).
pub fn serve<T: Transport>(
    transport: T,
    flavour: Flavour,
    behaviour: &Behaviour,
    timeouts: &LinkTimeouts,
    events: &Sender<SimEvent>,
    stop: &AtomicBool,
) -> io::Result<Stopped> {
    let mut link = Link::new(transport);
    let protocol = flavour.name();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Stopped::Requested);
        }
        let force_naks = u32::from(behaviour.nak_first);
        let payload = match receive_message(
            &mut link,
            Instant::now() + Duration::from_millis(200),
            timeouts,
            force_naks,
        ) {
            Ok(p) => p,
            Err(RecvError::Io(e)) => return Err(e),
            Err(RecvError::NoEnq) => continue,
            Err(e) => {
                let _ = events.send(SimEvent::BadRequest {
                    protocol,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let answer = match flavour {
            Flavour::ConcertV2 => v2_answer(&payload, behaviour, events),
            Flavour::CaisseAp => v3_answer(&payload, behaviour, events),
        };
        let Some((answer, verdict, status)) = answer else {
            continue;
        };
        if behaviour.drop_after_ack {
            let _ = events.send(SimEvent::Dropped { protocol });
            return Ok(Stopped::LineDropped);
        }
        if behaviour.never_answer {
            let _ = events.send(SimEvent::NoAnswer { protocol });
            continue;
        }
        std::thread::sleep(behaviour.answer_delay);
        match send_message(&mut link, &answer, timeouts) {
            Ok(_) => {
                let _ = events.send(SimEvent::Answered {
                    protocol,
                    verdict,
                    status,
                });
            }
            Err(e) => {
                let _ = events.send(SimEvent::AnswerNotDelivered {
                    protocol,
                    error: e.to_string(),
                });
            }
        }
    }
}

type Answer = (Vec<u8>, Verdict, String);

fn v2_answer(payload: &[u8], behaviour: &Behaviour, events: &Sender<SimEvent>) -> Option<Answer> {
    let protocol = "concert-v2";
    let req = match V2Request::decode(payload) {
        Ok(r) => r,
        Err(e) => {
            let _ = events.send(SimEvent::BadRequest {
                protocol,
                error: e.to_string(),
            });
            return None;
        }
    };
    let _ = events.send(SimEvent::Request {
        protocol,
        kind: req.kind,
        amount_cents: req.amount_cents,
        reference: String::from_utf8_lossy(&req.private).trim_end().to_string(),
        frames_naked: u32::from(behaviour.nak_first),
    });
    let verdict = behaviour.decide(req.amount_cents, false);
    let at_once = req.extended.is_some_and(|e| e.answer_at_once);
    let status = match (at_once, verdict) {
        (true, _) => b'9',
        (false, Verdict::Approved { .. }) => b'0',
        (false, Verdict::Declined) => b'7',
    };
    let card_data = req
        .return_card_data
        .then(|| format!("{TEST_CARD_PAN} {TEST_CARD_EXPIRY}").into_bytes());
    let response = V2Response {
        terminal: req.terminal,
        status,
        amount_cents: req.amount_cents,
        mode: req.mode,
        card_data,
        currency: req.currency,
        private: req.private,
    };
    let bytes = response.encode().ok()?;
    Some((bytes, verdict, (status as char).to_string()))
}

fn v3_answer(payload: &[u8], behaviour: &Behaviour, events: &Sender<SimEvent>) -> Option<Answer> {
    let protocol = "caisse-ap";
    let parsed = tlv::decode(payload)
        .map_err(|e| e.to_string())
        .and_then(|fields| {
            let m = Message { fields };
            Request::from_message(&m).map(|r| (m, r))
        });
    let (message, req) = match parsed {
        Ok(x) => x,
        Err(error) => {
            let _ = events.send(SimEvent::BadRequest { protocol, error });
            return None;
        }
    };
    let _ = events.send(SimEvent::Request {
        protocol,
        kind: req.kind,
        amount_cents: req.amount_cents,
        reference: req.reference.clone().unwrap_or_default(),
        frames_naked: u32::from(behaviour.nak_first),
    });
    let (fields, verdict, status) = answer_fields(&message, &req, behaviour);
    Some((tlv::encode(&fields).ok()?, verdict, status))
}
