//! The result of one transaction, with the four cases a till must treat differently kept apart
//! in the type: approved (possibly partially), declined by the terminal, not sent (safe to retry)
//! and unknown (the terminal took the request; the card may have been charged: never resend).

use serde::{Deserialize, Serialize};

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The terminal approved the full amount.
    Approved(Approved),
    /// Caisse-AP partial payment: approved for less than asked (`amount_cents` is what was
    /// charged); the rest must be paid another way.
    PartiallyApproved(Approved),
    /// The terminal refused; nothing was charged.
    Declined(Declined),
    /// The request never got to the terminal's application (no ACK, NAKed, link down before
    /// the request was acknowledged): nothing can have been charged, so it is safe to retry.
    NotSent(NotSent),
    /// The terminal acknowledged the request but we have no trustworthy result. The card may
    /// have been charged: a person must check the terminal (screen, merchant receipt).
    Unknown(Unknown),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Approved(_) => "approved",
            Outcome::PartiallyApproved(_) => "partially_approved",
            Outcome::Declined(_) => "declined",
            Outcome::NotSent(_) => "not_sent",
            Outcome::Unknown(_) => "unknown",
        }
    }
}

/// An approval as the terminal reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approved {
    /// What was actually charged (or refunded), in cents.
    pub amount_cents: u64,
    pub currency: String,
    /// Masked card number, as the terminal sent it.
    pub masked_pan: Option<String>,
    /// Raw card data field (Concert V2) when present, trailing spaces removed.
    pub card_data: Option<String>,
    pub expiry: Option<String>,
    pub authorisation: Option<String>,
    /// Caisse-AP `AI` (EMV application id) and `CC` (application code: 001 CB contact...).
    pub aid: Option<String>,
    pub application: Option<String>,
    /// What the terminal put in the private field / `CF` of its answer.
    pub private: Option<String>,
    /// Customer receipt text if the terminal sent one (Caisse-AP `AK`, base64 on the wire).
    pub receipt: Option<String>,
}

/// A refusal reported by the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declined {
    pub reason: DeclineReason,
    /// The raw code (Caisse-AP `AF`, Concert V2 status), for logs.
    pub code: Option<String>,
}

/// Why the terminal did not complete the transaction (Caisse-AP `AF` codes; Concert V2 only
/// reports "refused").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    Refused,
    Forbidden,
    Abandoned,
    NotCompleted,
    InputTimeout,
    BadFormat,
    OperatorAbandon,
    UnknownAction,
    CurrencyNotSupported,
    Other,
}

impl DeclineReason {
    /// Maps a Caisse-AP `AF` code.
    pub fn from_af(code: &str) -> DeclineReason {
        match code {
            "04" => DeclineReason::Refused,
            "05" => DeclineReason::Forbidden,
            "06" => DeclineReason::Abandoned,
            "07" => DeclineReason::NotCompleted,
            "08" => DeclineReason::InputTimeout,
            "09" => DeclineReason::BadFormat,
            "11" => DeclineReason::OperatorAbandon,
            "12" => DeclineReason::UnknownAction,
            "13" => DeclineReason::CurrencyNotSupported,
            _ => DeclineReason::Other,
        }
    }

    pub fn af_code(&self) -> &'static str {
        match self {
            DeclineReason::Refused | DeclineReason::Other => "04",
            DeclineReason::Forbidden => "05",
            DeclineReason::Abandoned => "06",
            DeclineReason::NotCompleted => "07",
            DeclineReason::InputTimeout => "08",
            DeclineReason::BadFormat => "09",
            DeclineReason::OperatorAbandon => "11",
            DeclineReason::UnknownAction => "12",
            DeclineReason::CurrencyNotSupported => "13",
        }
    }
}

/// The request did not reach the terminal's application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotSent {
    /// What went wrong, for the technician.
    pub error: String,
    /// How many times the session was started (ENQ sent / connection tried).
    pub attempts: u32,
}

/// The request was acknowledged but no trustworthy result came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unknown {
    pub cause: UnknownCause,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum UnknownCause {
    /// The whole request was sent but its acknowledgement never came: the terminal may have
    /// received it (the ACK was lost) and be charging the card.
    Unacknowledged { error: String },
    /// No result within the configured wait.
    NoResult { waited_ms: u64 },
    /// The link failed after the request was acknowledged.
    LinkFailed { error: String },
    /// The answer does not echo our request (terminal number, currency, amount, kind...).
    EchoMismatch {
        field: String,
        expected: String,
        got: String,
    },
    /// The answer could not be read even after the allowed retransmissions.
    Garbled { error: String },
    /// The terminal answered in a way that does not say whether the card was charged.
    Inconclusive { status: String },
    /// The process stopped mid-payment (found open in the intent journal at start).
    Interrupted,
}
