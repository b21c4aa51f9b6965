//! The simulated Caisse-AP terminal on TCP: a server, one transaction per connection, each
//! connection served on its own thread.

use std::io::{self, Read};
use std::net::{Shutdown, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use base64::Engine;
use pos_transport::TcpLink;

use super::{
    Behaviour, SimEvent, TEST_AUTHORISATION, TEST_CARD_EXPIRY, TEST_CARD_PAN,
    TEST_TERMINAL_PRIVATE, Verdict,
};
use crate::caisse_ap::message::{Message, REQUEST_TAGS, Request, VERSION};
use crate::caisse_ap::tlv::{self, Field, TlvParser};
use crate::link::Link;
use crate::outcome::DeclineReason;

/// How long to wait for more fields once a request has every mandatory tag.
const REQUEST_GAP: Duration = Duration::from_millis(30);
/// How long a connection may stay silent before the simulator gives up on its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The answer's fields for a request.
pub fn answer_fields(
    m: &Message,
    req: &Request,
    behaviour: &Behaviour,
) -> (Vec<Field>, Verdict, String) {
    let verdict = behaviour.decide(req.amount_cents, req.allow_partial);
    let mut f = vec![
        Field::new("CZ", VERSION),
        Field::new("CJ", m.get("CJ").unwrap_or_default()),
        Field::new("CA", m.get("CA").unwrap_or_default()),
    ];
    let status = if req.answer_at_once {
        "11"
    } else {
        match verdict {
            Verdict::Approved { .. } => "10",
            Verdict::Declined => "01",
        }
    };
    let charged = match verdict {
        Verdict::Approved { amount_cents } if status == "10" => amount_cents,
        _ => req.amount_cents,
    };
    f.push(Field::new("CB", charged.to_string()));
    f.push(Field::new("CD", m.get("CD").unwrap_or_default()));
    f.push(Field::new("CE", m.get("CE").unwrap_or_default()));
    f.push(Field::new("AE", status));
    if status == "01" {
        f.push(Field::new("AF", DeclineReason::Refused.af_code()));
    }
    if status == "10" {
        f.push(Field::new("AA", TEST_CARD_PAN));
        f.push(Field::new("AB", TEST_CARD_EXPIRY));
        f.push(Field::new("AC", TEST_AUTHORISATION));
        f.push(Field::new("AI", "A0000000421010"));
        f.push(Field::new("CC", "001"));
        if req.want_receipt {
            let text = format!(
                "CARTE BANCAIRE\nMONTANT {}.{:02} EUR\n",
                charged / 100,
                charged % 100
            );
            f.push(Field::new(
                "AK",
                base64::engine::general_purpose::STANDARD.encode(text),
            ));
        }
    }
    f.push(Field::new("CF", TEST_TERMINAL_PRIVATE));
    (f, verdict, status.to_string())
}

/// Accepts connections until `stop` is raised (checked between accepts; the listener is put in
/// non-blocking mode to notice it).
pub fn serve(
    listener: TcpListener,
    behaviour: Behaviour,
    events: Sender<SimEvent>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                let (behaviour, events) = (behaviour.clone(), events.clone());
                std::thread::spawn(move || {
                    if let Ok(link) = TcpLink::from_stream(stream) {
                        let _ = serve_connection(link, &behaviour, &events);
                    }
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One transaction on one connection.
pub fn serve_connection(
    link: TcpLink,
    behaviour: &Behaviour,
    events: &Sender<SimEvent>,
) -> io::Result<()> {
    let protocol = "caisse-ap";
    let mut link = Link::new(link);
    let mut parser = TlvParser::new();
    let mut message = Message::default();
    let mut buf = Vec::new();
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        let complete = parser.at_boundary() && message.has_all(REQUEST_TAGS);
        buf.clear();
        let until = if complete {
            Instant::now() + REQUEST_GAP
        } else {
            deadline
        };
        match link.read_some_until(until, &mut buf) {
            Ok(0) if complete => break,
            Ok(0) => return Ok(()),
            Ok(_) => match parser.push(&buf) {
                Ok(fields) => message.fields.extend(fields),
                Err(e) => {
                    let _ = events.send(SimEvent::BadRequest {
                        protocol,
                        error: e.to_string(),
                    });
                    return Ok(());
                }
            },
            Err(_) if complete => break,
            Err(_) => return Ok(()),
        }
    }
    let req = match Request::from_message(&message) {
        Ok(r) => r,
        Err(error) => {
            let _ = events.send(SimEvent::BadRequest { protocol, error });
            return Ok(());
        }
    };
    let _ = events.send(SimEvent::Request {
        protocol,
        kind: req.kind,
        amount_cents: req.amount_cents,
        reference: req.reference.clone().unwrap_or_default(),
        frames_naked: 0,
    });
    if behaviour.drop_after_ack {
        let _ = link.get_mut().stream().shutdown(Shutdown::Both);
        let _ = events.send(SimEvent::Dropped { protocol });
        return Ok(());
    }
    if behaviour.never_answer {
        let _ = events.send(SimEvent::NoAnswer { protocol });
        // Hold the connection open until the client gives up.
        let mut stream = link.into_inner();
        let _ = stream.stream().set_read_timeout(None);
        let mut sink = [0u8; 64];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        return Ok(());
    }
    std::thread::sleep(behaviour.answer_delay);
    let (fields, verdict, status) = answer_fields(&message, &req, behaviour);
    let bytes = tlv::encode(&fields).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    match link.send(&bytes) {
        Ok(()) => {
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
    // One transaction per connection: closing tells the client the answer is complete.
    let _ = link.get_mut().stream().shutdown(Shutdown::Both);
    Ok(())
}
