//! Caisse-AP client: over TCP (the terminal is the server, port 8888 by default, one connection
//! per transaction) or inside Concert link-layer frames on a serial link.
//!
//! Over TCP there is no acknowledgement: the request counts as acknowledged once all its bytes
//! were written on an established connection. A failure to connect or to write is "not sent";
//! anything after that without a complete answer is "unknown".

use std::time::{Duration, Instant};

use base64::Engine;
use pos_transport::{TcpLink, Transport};

use super::message::{Message, RESPONSE_TAGS, Request};
use super::tlv::{self, TlvParser};
use crate::concert::client::{exchange, not_sent, unknown};
use crate::concert::session::LinkTimeouts;
use crate::journal::IntentJournal;
use crate::link::Link;
use crate::outcome::{Approved, DeclineReason, Declined, Outcome, UnknownCause};
use crate::request::PaymentRequest;
use crate::terminal::{PaymentError, PaymentTerminal, journaled};

pub const DEFAULT_PORT: u16 = 8888;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaisseApConfig {
    pub terminal_number: u8,
    /// `CJ`: our register's 12-character identifier.
    pub register_id: String,
    pub connect_timeout: Duration,
    /// How long to wait for the result once the request is out (PIN entry...).
    pub result_timeout: Duration,
    /// Over TCP: once the answer says what happened, how long to wait for further fields
    /// before taking the message as complete (the terminal usually closes the connection first).
    pub message_gap: Duration,
    /// Concert link-layer timeouts, for Caisse-AP on a serial link.
    pub timeouts: LinkTimeouts,
    pub want_receipt: bool,
}

impl Default for CaisseApConfig {
    fn default() -> Self {
        CaisseApConfig {
            terminal_number: 1,
            register_id: "000000000001".into(),
            connect_timeout: Duration::from_secs(3),
            result_timeout: Duration::from_secs(180),
            message_gap: Duration::from_millis(100),
            timeouts: LinkTimeouts::default(),
            want_receipt: false,
        }
    }
}

enum Channel {
    Tcp { host: String, port: u16 },
    Serial(Box<Link<Box<dyn Transport>>>),
}

pub struct CaisseApClient {
    channel: Channel,
    config: CaisseApConfig,
}

impl CaisseApClient {
    /// A terminal reachable over TCP; a connection is opened per transaction.
    pub fn tcp(host: impl Into<String>, port: u16, config: CaisseApConfig) -> Self {
        CaisseApClient {
            channel: Channel::Tcp {
                host: host.into(),
                port,
            },
            config,
        }
    }

    /// A terminal on a serial link, speaking Caisse-AP inside Concert frames.
    pub fn serial(transport: Box<dyn Transport>, config: CaisseApConfig) -> Self {
        CaisseApClient {
            channel: Channel::Serial(Box::new(Link::new(transport))),
            config,
        }
    }

    fn request_fields(&self, request: &PaymentRequest) -> Result<Vec<u8>, PaymentError> {
        request.validate(12, 32)?;
        let r = Request {
            register_id: self.config.register_id.clone(),
            terminal: self.config.terminal_number,
            amount_cents: request.amount_cents,
            currency: request.currency.clone(),
            kind: request.kind,
            answer_at_once: false,
            allow_partial: request.allow_partial,
            reference: Some(request.reference.clone()),
            want_receipt: self.config.want_receipt,
        };
        tlv::encode(&r.to_fields())
            .map_err(|e| crate::request::RequestError::Unencodable(e.to_string()).into())
    }

    fn exchange_tcp(
        host: &str,
        port: u16,
        config: &CaisseApConfig,
        payload: &[u8],
    ) -> Result<Message, Box<Outcome>> {
        let mut link =
            match TcpLink::connect(host, port, config.connect_timeout, config.result_timeout) {
                Ok(l) => Link::new(l),
                Err(e) => return Err(Box::new(not_sent(e.to_string(), 1))),
            };
        if let Err(e) = link.send(payload) {
            return Err(Box::new(not_sent(format!("request not written: {e}"), 1)));
        }
        let started = Instant::now();
        let deadline = started + config.result_timeout;
        let mut parser = TlvParser::new();
        let mut message = Message::default();
        let mut buf = Vec::new();
        loop {
            let complete = parser.at_boundary() && message.has_all(RESPONSE_TAGS);
            // Never past the overall deadline, however slowly a peer keeps sending.
            let until = if complete {
                (Instant::now() + config.message_gap).min(deadline)
            } else {
                deadline
            };
            buf.clear();
            match link.read_some_until(until, &mut buf) {
                Ok(0) if complete => return Ok(message),
                Ok(0) => {
                    let waited_ms = started.elapsed().as_millis() as u64;
                    return Err(Box::new(unknown(UnknownCause::NoResult { waited_ms })));
                }
                Ok(_) => match parser.push(&buf) {
                    Ok(fields) => message.fields.extend(fields),
                    Err(e) => {
                        return Err(Box::new(unknown(UnknownCause::Garbled {
                            error: e.to_string(),
                        })));
                    }
                },
                Err(_) if complete => return Ok(message),
                Err(e) => {
                    return Err(Box::new(unknown(UnknownCause::LinkFailed {
                        error: e.to_string(),
                    })));
                }
            }
        }
    }
}

/// Turns an answer into an outcome, checking that it echoes our request.
fn interpret(config: &CaisseApConfig, request: &PaymentRequest, m: &Message) -> Outcome {
    let mismatch = |field: &str, expected: String, got: String| {
        unknown(UnknownCause::EchoMismatch {
            field: field.into(),
            expected,
            got,
        })
    };
    // Every echo must be present and equal: an answer that does not say which request it
    // answers could be a late answer to another payment. `CF` is not among them: terminals in
    // the field answer it with their own private data whatever was sent (specs/devices.md), and
    // the connection carries one transaction; our reference is kept in the intent journal.
    let kind = (request.kind.code() as char).to_string();
    let echoes = [
        (
            "CA terminal number",
            "CA",
            format!("{:02}", config.terminal_number),
        ),
        ("CE currency", "CE", request.currency.clone()),
        ("CD kind", "CD", kind),
    ];
    for (field, tag, expected) in echoes {
        match m.text(tag) {
            Some(got) if got == expected => {}
            got => return mismatch(field, expected, got.unwrap_or_else(|| "(missing)".into())),
        }
    }
    if m.text("CB").is_none() {
        return mismatch(
            "CB amount",
            request.amount_cents.to_string(),
            "(missing)".into(),
        );
    }
    let status = m.text("AE").unwrap_or_default();
    match status.as_str() {
        "10" => {
            let amount = match m.text("CB") {
                None => request.amount_cents,
                Some(cb) => match cb.parse::<u64>() {
                    Ok(a) if cb.bytes().all(|b| b.is_ascii_digit()) => a,
                    _ => {
                        return unknown(UnknownCause::Garbled {
                            error: format!("CB is not a number: {cb:?}"),
                        });
                    }
                },
            };
            let partial = amount < request.amount_cents;
            if amount > request.amount_cents || amount == 0 || (partial && !request.allow_partial) {
                return mismatch(
                    "CB amount",
                    request.amount_cents.to_string(),
                    amount.to_string(),
                );
            }
            let receipt = m.get("AK").map(|b64| {
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(_) => String::from_utf8_lossy(b64).into_owned(),
                }
            });
            let approved = Approved {
                amount_cents: amount,
                currency: request.currency.clone(),
                masked_pan: m.text("AA"),
                card_data: None,
                expiry: m.text("AB"),
                authorisation: m.text("AC"),
                aid: m.text("AI"),
                application: m.text("CC"),
                private: m.text("CF"),
                receipt,
            };
            if partial {
                Outcome::PartiallyApproved(approved)
            } else {
                Outcome::Approved(approved)
            }
        }
        "01" => {
            if let Some(cb) = m
                .text("CB")
                .filter(|cb| cb.parse::<u64>().ok() != Some(request.amount_cents))
            {
                return mismatch("CB amount", request.amount_cents.to_string(), cb);
            }
            let code = m.text("AF");
            let reason = code
                .as_deref()
                .map(DeclineReason::from_af)
                .unwrap_or(DeclineReason::Other);
            Outcome::Declined(Declined { reason, code })
        }
        other => unknown(UnknownCause::Inconclusive {
            status: other.to_string(),
        }),
    }
}

impl PaymentTerminal for CaisseApClient {
    fn describe(&self) -> String {
        match &self.channel {
            Channel::Tcp { host, port } => format!("caisse-ap tcp://{host}:{port}"),
            Channel::Serial(link) => format!("caisse-ap {}", link.describe()),
        }
    }

    fn pay(
        &mut self,
        request: &PaymentRequest,
        journal: &mut dyn IntentJournal,
    ) -> Result<Outcome, PaymentError> {
        let payload = self.request_fields(request)?;
        let name = self.describe();
        let config = &self.config;
        let channel = &mut self.channel;
        journaled(name, request, journal, || {
            let answer = match channel {
                Channel::Tcp { host, port } => Self::exchange_tcp(host, *port, config, &payload),
                Channel::Serial(link) => exchange(
                    link,
                    &payload,
                    &config.timeouts,
                    config.result_timeout,
                    &mut Vec::new(),
                )
                .and_then(|bytes| {
                    tlv::decode(&bytes)
                        .map(|fields| Message { fields })
                        .map_err(|e| {
                            Box::new(unknown(UnknownCause::Garbled {
                                error: e.to_string(),
                            }))
                        })
                }),
            };
            match answer {
                Ok(m) => interpret(config, request, &m),
                Err(outcome) => *outcome,
            }
        })
    }
}
