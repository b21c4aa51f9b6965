//! Concert V2 (E/E+) cash-register client over any serial-like transport.

use std::time::{Duration, Instant};

use pos_transport::Transport;

use super::session::{
    LinkTimeouts, RecvError, SendError, receive_after_enq, receive_message, send_message,
};
use super::v2::{Extended, V2Request, V2Response, private_field};
use crate::journal::IntentJournal;
use crate::link::Link;
use crate::outcome::{Approved, DeclineReason, Declined, NotSent, Outcome, Unknown, UnknownCause};
use crate::request::{PaymentRequest, RequestError};
use crate::terminal::{PaymentError, PaymentTerminal, journaled};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcertV2Config {
    /// Terminal number (the "caisse" number the terminal is configured with), 1-99.
    pub terminal_number: u8,
    pub timeouts: LinkTimeouts,
    /// How long to wait for the result after the request was acknowledged (PIN entry...).
    pub result_timeout: Duration,
    /// IND=1: ask for card data (masked PAN) in the answer.
    pub return_card_data: bool,
    /// Protocol E+ (delay and authorisation fields); `false` for plain E.
    pub extended: bool,
    /// B011: force an authorisation call.
    pub forced_authorisation: bool,
}

impl Default for ConcertV2Config {
    fn default() -> Self {
        ConcertV2Config {
            terminal_number: 1,
            timeouts: LinkTimeouts::default(),
            result_timeout: Duration::from_secs(180),
            return_card_data: true,
            extended: true,
            forced_authorisation: false,
        }
    }
}

/// A Concert V2 terminal on a link (serial port, USB-CDC, pty).
pub struct ConcertV2Client<T: Transport> {
    link: Link<T>,
    config: ConcertV2Config,
    unsolicited: Vec<Vec<u8>>,
}

impl<T: Transport> ConcertV2Client<T> {
    pub fn new(transport: T, config: ConcertV2Config) -> Self {
        ConcertV2Client {
            link: Link::new(transport),
            config,
            unsolicited: Vec::new(),
        }
    }

    /// Messages the terminal sent on its own initiative (it won an ENQ collision), oldest
    /// first, as decoded V2 answers when they are. A late answer to a transaction whose outcome
    /// was unknown shows up here: match it to the open intent by amount and private field.
    pub fn take_unsolicited(&mut self) -> Vec<Result<V2Response, Vec<u8>>> {
        std::mem::take(&mut self.unsolicited)
            .into_iter()
            .map(|m| V2Response::decode(&m).map_err(|_| m))
            .collect()
    }

    pub fn into_transport(self) -> T {
        self.link.into_inner()
    }

    fn build(&self, request: &PaymentRequest) -> Result<Vec<u8>, RequestError> {
        request.validate(8, 10)?;
        if request.allow_partial {
            return Err(RequestError::PartialNotSupported);
        }
        let mut currency = [b'0'; 3];
        currency.copy_from_slice(request.currency.as_bytes());
        let v2 = V2Request {
            terminal: self.config.terminal_number,
            amount_cents: request.amount_cents,
            return_card_data: self.config.return_card_data,
            mode: b'1',
            kind: request.kind,
            currency,
            private: private_field(&request.reference),
            extended: self.config.extended.then_some(Extended {
                answer_at_once: false,
                forced_authorisation: self.config.forced_authorisation,
            }),
        };
        v2.encode().map_err(|_| RequestError::AmountTooLarge {
            amount_cents: request.amount_cents,
            digits: 8,
        })
    }

    fn interpret(config: &ConcertV2Config, request: &PaymentRequest, answer: &[u8]) -> Outcome {
        let r = match V2Response::decode(answer) {
            Ok(r) => r,
            Err(e) => {
                return unknown(UnknownCause::Garbled {
                    error: e.to_string(),
                });
            }
        };
        let mismatch = |field: &str, expected: String, got: String| {
            unknown(UnknownCause::EchoMismatch {
                field: field.into(),
                expected,
                got,
            })
        };
        if r.terminal != config.terminal_number {
            return mismatch(
                "terminal number",
                config.terminal_number.to_string(),
                r.terminal.to_string(),
            );
        }
        if r.currency != request.currency.as_bytes() {
            return mismatch(
                "currency",
                request.currency.clone(),
                String::from_utf8_lossy(&r.currency).into(),
            );
        }
        if r.amount_cents != request.amount_cents {
            return mismatch(
                "amount",
                request.amount_cents.to_string(),
                r.amount_cents.to_string(),
            );
        }
        // Our reference travels in the private field: an answer carrying another one is a late
        // answer to another payment, not the answer to this one.
        let sent = private_field(&request.reference);
        if r.private != sent {
            return mismatch(
                "private field (our reference)",
                String::from_utf8_lossy(&sent).into(),
                String::from_utf8_lossy(&r.private).into(),
            );
        }
        match r.status {
            b'0' => {
                let card = r
                    .card_data
                    .as_ref()
                    .map(|c| String::from_utf8_lossy(c).trim_end().to_string());
                let masked_pan = card
                    .as_ref()
                    .and_then(|c| c.split_whitespace().next().map(str::to_string));
                let private = String::from_utf8_lossy(&r.private).trim_end().to_string();
                Outcome::Approved(Approved {
                    amount_cents: r.amount_cents,
                    currency: request.currency.clone(),
                    masked_pan,
                    card_data: card.filter(|c| !c.is_empty()),
                    private: (!private.is_empty()).then_some(private),
                    ..Approved::default()
                })
            }
            b'7' => Outcome::Declined(Declined {
                reason: DeclineReason::Refused,
                code: Some("7".into()),
            }),
            other => unknown(UnknownCause::Inconclusive {
                status: (other as char).to_string(),
            }),
        }
    }
}

/// One request/answer exchange over the Concert link layer (Concert V2, and Caisse-AP on a
/// serial link): our session, then the terminal's. `Err` carries the not-sent or unknown outcome.
pub(crate) fn exchange<T: Transport>(
    link: &mut Link<T>,
    payload: &[u8],
    t: &LinkTimeouts,
    result_timeout: Duration,
    unsolicited: &mut Vec<Vec<u8>>,
) -> Result<Vec<u8>, Box<Outcome>> {
    let mut sessions = 0;
    loop {
        sessions += 1;
        match send_message(link, payload, t) {
            Ok(_) => break,
            Err(SendError::Collision) if sessions < t.enq_attempts.max(1) => {
                // The terminal wins: take its message (not an answer to this request, which it
                // never received; possibly a late answer to an earlier one), then start our
                // session again.
                match receive_after_enq(link, t, 0) {
                    Ok(message) => unsolicited.push(message),
                    Err(RecvError::Io(e)) => {
                        return Err(Box::new(not_sent(
                            format!("link error while the terminal was sending: {e}"),
                            sessions,
                        )));
                    }
                    Err(_) => {}
                }
            }
            Err(e) if e.request_may_have_arrived() => {
                return Err(Box::new(unknown(UnknownCause::Unacknowledged {
                    error: e.to_string(),
                })));
            }
            Err(e) => {
                let attempts = match e {
                    SendError::NoAckToEnq { attempts } => attempts,
                    _ => sessions,
                };
                return Err(Box::new(not_sent(e.to_string(), attempts)));
            }
        }
    }
    // Acknowledged: from here the card may be charged, and nothing is ever resent.
    let started = Instant::now();
    receive_message(link, started + result_timeout, t, 0).map_err(|e| {
        Box::new(match e {
            RecvError::NoEnq => unknown(UnknownCause::NoResult {
                waited_ms: started.elapsed().as_millis() as u64,
            }),
            RecvError::Io(e) => unknown(UnknownCause::LinkFailed {
                error: e.to_string(),
            }),
            e => unknown(UnknownCause::Garbled {
                error: e.to_string(),
            }),
        })
    })
}

pub(crate) fn not_sent(error: String, attempts: u32) -> Outcome {
    Outcome::NotSent(NotSent { error, attempts })
}

pub(crate) fn unknown(cause: UnknownCause) -> Outcome {
    Outcome::Unknown(Unknown { cause })
}

impl<T: Transport> PaymentTerminal for ConcertV2Client<T> {
    fn describe(&self) -> String {
        format!("concert-v2 {}", self.link.describe())
    }

    fn pay(
        &mut self,
        request: &PaymentRequest,
        journal: &mut dyn IntentJournal,
    ) -> Result<Outcome, PaymentError> {
        let payload = self.build(request)?;
        let name = self.describe();
        let (t, wait) = (self.config.timeouts, self.config.result_timeout);
        journaled(name, request, journal, || {
            match exchange(&mut self.link, &payload, &t, wait, &mut self.unsolicited) {
                Ok(answer) => Self::interpret(&self.config, request, &answer),
                Err(outcome) => *outcome,
            }
        })
    }
}
