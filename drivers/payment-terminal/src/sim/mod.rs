//! A payment terminal simulator: Concert V2 or Caisse-AP on a serial link (a pty or a device),
//! and Caisse-AP on TCP, with selectable behaviours for tests, demos and by-hand checks.
//!
//! Behaviours ([`Behaviour`], parsed from a comma-separated list such as `nak-first,delay=500`):
//!
//! | item | effect |
//! |---|---|
//! | `amount-rule` (default) | approve, except amounts whose cents are 13 (e.g. 10.13): declined, reason "refused" |
//! | `approve` / `decline` | approve / decline everything |
//! | `partial` | Caisse-AP requests with `BF` (partial allowed) are approved for half the amount (rounded down, at least 1 cent); otherwise `amount-rule` |
//! | `delay=MS` | wait MS milliseconds before answering (the customer typing a PIN) |
//! | `nak-first` | NAK the first frame of every request, then accept the resend |
//! | `never-answer` | acknowledge the request, never send a result |
//! | `drop-after-ack` | acknowledge the request, then drop the line (close the pty / TCP connection) |
//!
//! Concert V2 requests in A011 mode ("answer at once") get an immediate answer with status `9`;
//! the decision is still made and reported in the [`SimEvent`]s. Card data, when asked for (IND
//! 1), is a fixed masked test card.

pub mod caisse_ap;
pub mod concert;

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::request::Kind;

/// How the simulator decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    AmountRule,
    Approve,
    Decline,
    Partial,
}

/// What the simulated terminal does with each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    pub decision: Decision,
    pub answer_delay: Duration,
    pub nak_first: bool,
    pub never_answer: bool,
    pub drop_after_ack: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            decision: Decision::AmountRule,
            answer_delay: Duration::ZERO,
            nak_first: false,
            never_answer: false,
            drop_after_ack: false,
        }
    }
}

impl FromStr for Behaviour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut b = Behaviour::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "amount-rule" => b.decision = Decision::AmountRule,
                "approve" => b.decision = Decision::Approve,
                "decline" => b.decision = Decision::Decline,
                "partial" => b.decision = Decision::Partial,
                "nak-first" => b.nak_first = true,
                "never-answer" => b.never_answer = true,
                "drop-after-ack" => b.drop_after_ack = true,
                _ => match item.strip_prefix("delay=").map(str::parse::<u64>) {
                    Some(Ok(ms)) => b.answer_delay = Duration::from_millis(ms),
                    _ => {
                        return Err(format!(
                            "unknown behaviour {item:?}: expected amount-rule, approve, decline, partial, \
                             delay=MS, nak-first, never-answer or drop-after-ack"
                        ));
                    }
                },
            }
        }
        Ok(b)
    }
}

/// The simulator's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Approved { amount_cents: u64 },
    Declined,
}

impl Behaviour {
    pub fn decide(&self, amount_cents: u64, allow_partial: bool) -> Verdict {
        let rule = || {
            if amount_cents % 100 == 13 {
                Verdict::Declined
            } else {
                Verdict::Approved { amount_cents }
            }
        };
        match self.decision {
            Decision::Approve => Verdict::Approved { amount_cents },
            Decision::Decline => Verdict::Declined,
            Decision::AmountRule => rule(),
            Decision::Partial if allow_partial => Verdict::Approved {
                amount_cents: (amount_cents / 2).max(1),
            },
            Decision::Partial => rule(),
        }
    }
}

/// What the simulator did, for its log and for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SimEvent {
    /// A request was received and acknowledged.
    Request {
        protocol: &'static str,
        kind: Kind,
        amount_cents: u64,
        reference: String,
        frames_naked: u32,
    },
    /// The answer was delivered.
    Answered {
        protocol: &'static str,
        verdict: Verdict,
        status: String,
    },
    /// The answer could not be delivered.
    AnswerNotDelivered {
        protocol: &'static str,
        error: String,
    },
    /// `never-answer`: the request will get no result.
    NoAnswer { protocol: &'static str },
    /// `drop-after-ack`: the line was dropped.
    Dropped { protocol: &'static str },
    /// A request that could not be read.
    BadRequest {
        protocol: &'static str,
        error: String,
    },
}

/// The masked test card the simulator reports.
pub const TEST_CARD_PAN: &str = "497010XXXXXX0019";
pub const TEST_CARD_EXPIRY: &str = "2812";
pub const TEST_AUTHORISATION: &str = "A1B2C3";
/// The private data (`CF`) the simulated Caisse-AP terminal answers with, whatever was sent, as
/// terminals in the field do (specs/devices.md): never an echo of the till's reference.
pub const TEST_TERMINAL_PRIVATE: &str = "1010000000";
