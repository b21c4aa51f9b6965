//! The Concert half-duplex session, both directions, shared by our client and the simulator.
//!
//! Sending: `ENQ` -> peer `ACK` -> `STX payload ETX LRC` -> peer `ACK` (or `NAK`: resend) ->
//! `EOT`. Receiving is the mirror image. If the peer sends `ENQ` while we wait for the `ACK` to
//! our own `ENQ`, the peer wins: we report [`SendError::Collision`] and the caller receives first.

use std::io;
use std::time::{Duration, Instant};

use pos_transport::Transport;

use super::frame::{ACK, ENQ, EOT, Event, FrameDecoder, NAK, encode_frame};
use crate::link::Link;

/// Link-level timeouts and retry counts (defaults from field implementations, all adjustable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTimeouts {
    /// How long to wait for ACK/NAK after ENQ or a frame, and for the frame after our ACK.
    pub ack: Duration,
    /// How many times to send ENQ before giving up.
    pub enq_attempts: u32,
    /// How many times to resend a frame after NAK (and to NAK a bad frame we receive).
    pub nak_resends: u32,
    /// Longest silence between two bytes of one frame.
    pub inter_char: Duration,
}

impl Default for LinkTimeouts {
    fn default() -> Self {
        LinkTimeouts {
            ack: Duration::from_secs(3),
            enq_attempts: 3,
            nak_resends: 3,
            inter_char: Duration::from_secs(1),
        }
    }
}

/// Why a message was not delivered. In every case the peer never acknowledged the frame.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no ACK to ENQ after {attempts} attempt(s)")]
    NoAckToEnq { attempts: u32 },
    #[error("the peer sent ENQ while we waited for ACK: it sends first")]
    Collision,
    #[error("frame refused with NAK {naks} time(s)")]
    FrameRefused { naks: u32 },
    /// The whole frame went out but neither ACK nor NAK came back: the terminal may well have
    /// received it (a lost ACK), so this is not a safe retry.
    #[error("no ACK or NAK after the frame")]
    NoAckToFrame,
    /// The link failed while the frame was being sent or acknowledged: it may have arrived.
    #[error("link error after the frame started: {0}")]
    FrameIo(io::Error),
    #[error("link error before the frame was sent: {0}")]
    Io(#[from] io::Error),
}

impl SendError {
    /// Whether the terminal may have received the request: from the first byte of the frame on,
    /// any failure short of an explicit refusal (NAK) leaves the payment's fate unknown.
    pub fn request_may_have_arrived(&self) -> bool {
        matches!(self, SendError::NoAckToFrame | SendError::FrameIo(_))
    }
}

/// Why no message was received.
#[derive(Debug, thiserror::Error)]
pub enum RecvError {
    #[error("no ENQ before the deadline")]
    NoEnq,
    #[error("no frame after our ACK")]
    NoFrame,
    #[error("the peer ended the session with EOT before sending a valid frame")]
    PeerAborted,
    #[error("frame still unreadable after {naks} NAK(s)")]
    Garbled { naks: u32 },
    #[error("link error: {0}")]
    Io(#[from] io::Error),
}

/// Waits for one of `wanted` until `deadline`, skipping any other byte (line noise, a late EOT).
fn wait_for<T: Transport>(
    link: &mut Link<T>,
    wanted: &[u8],
    deadline: Instant,
) -> io::Result<Option<u8>> {
    loop {
        match link.read_byte_until(deadline)? {
            None => return Ok(None),
            Some(b) if wanted.contains(&b) => return Ok(Some(b)),
            Some(_) => {}
        }
    }
}

/// Sends `payload` in one session. Returns the number of ENQ attempts used.
pub fn send_message<T: Transport>(
    link: &mut Link<T>,
    payload: &[u8],
    t: &LinkTimeouts,
) -> Result<u32, SendError> {
    let frame = encode_frame(payload);
    let mut attempts = 0;
    loop {
        if attempts >= t.enq_attempts.max(1) {
            return Err(SendError::NoAckToEnq { attempts });
        }
        attempts += 1;
        link.send(&[ENQ])?;
        match wait_for(link, &[ACK, NAK, ENQ], Instant::now() + t.ack)? {
            Some(ACK) => break,
            Some(ENQ) => return Err(SendError::Collision),
            // NAK or silence: close this attempt so the peer resets, then try again.
            _ => link.send(&[EOT])?,
        }
    }
    let mut naks = 0;
    loop {
        link.send(&frame).map_err(SendError::FrameIo)?;
        match wait_for(link, &[ACK, NAK], Instant::now() + t.ack).map_err(SendError::FrameIo)? {
            Some(ACK) => {
                // The frame is accepted from here on. A failure to send EOT must not turn this
                // into "not sent": the next read will surface a broken link.
                let _ = link.send(&[EOT]);
                return Ok(attempts);
            }
            Some(_) => {
                naks += 1;
                if naks > t.nak_resends {
                    // Refused every time: the terminal did not take the request.
                    let _ = link.send(&[EOT]);
                    return Err(SendError::FrameRefused { naks });
                }
            }
            None => {
                let _ = link.send(&[EOT]);
                return Err(SendError::NoAckToFrame);
            }
        }
    }
}

/// Waits for the peer's ENQ until `enq_deadline`, then receives its message.
pub fn receive_message<T: Transport>(
    link: &mut Link<T>,
    enq_deadline: Instant,
    t: &LinkTimeouts,
    force_naks: u32,
) -> Result<Vec<u8>, RecvError> {
    match wait_for(link, &[ENQ], enq_deadline)? {
        Some(_) => receive_after_enq(link, t, force_naks),
        None => Err(RecvError::NoEnq),
    }
}

/// The longest frame we expect (a Concert V2 answer is 83 bytes, a Caisse-AP message a few
/// hundred): sizes the overall receive deadline.
const MAX_FRAME_BYTES: u32 = 1024;

/// Receives a message once the peer's ENQ has been read: ACK, frame, ACK (or NAK and wait for
/// the resend), then the peer's EOT. `force_naks` NAKs that many good frames first (the
/// simulator's "NAK first" behaviour).
pub fn receive_after_enq<T: Transport>(
    link: &mut Link<T>,
    t: &LinkTimeouts,
    mut force_naks: u32,
) -> Result<Vec<u8>, RecvError> {
    link.send(&[ACK])?;
    let mut decoder = FrameDecoder::new();
    let mut naks = 0;
    // However the peer behaves (repeating ENQ, line noise), the whole exchange is bounded: an
    // ACK wait per allowed resend, plus a full-length frame at the inter-character pace.
    let overall = Instant::now()
        + t.ack
            .saturating_mul(t.nak_resends.saturating_add(force_naks).saturating_add(2))
        + t.inter_char.saturating_mul(MAX_FRAME_BYTES);
    let mut deadline = Instant::now() + t.ack;
    loop {
        let Some(byte) = link.read_byte_until(deadline.min(overall))? else {
            // A frame cut short (a lost ETX or LRC) is asked for again, like a bad LRC.
            if decoder.in_frame() && naks < t.nak_resends && Instant::now() < overall {
                naks += 1;
                decoder = FrameDecoder::new();
                link.send(&[NAK])?;
                deadline = Instant::now() + t.ack;
                continue;
            }
            return Err(if decoder.in_frame() {
                RecvError::Garbled { naks }
            } else {
                RecvError::NoFrame
            });
        };
        let event = decoder.push(byte);
        deadline = Instant::now()
            + if decoder.in_frame() {
                t.inter_char
            } else {
                t.ack
            };
        match event {
            None => {}
            // The peer missed our ACK and repeats its ENQ.
            Some(Event::Control(ENQ)) => link.send(&[ACK])?,
            Some(Event::Control(EOT)) => return Err(RecvError::PeerAborted),
            Some(Event::Control(_)) => {}
            Some(Event::Frame(payload)) => {
                if force_naks > 0 {
                    force_naks -= 1;
                    link.send(&[NAK])?;
                    continue;
                }
                link.send(&[ACK])?;
                // The session ends with the peer's EOT; its absence does not undo the message.
                let _ = wait_for(link, &[EOT], Instant::now() + t.ack);
                return Ok(payload);
            }
            Some(Event::BadLrc { .. } | Event::Overflow) => {
                naks += 1;
                link.send(&[NAK])?;
                if naks > t.nak_resends {
                    return Err(RecvError::Garbled { naks });
                }
            }
        }
    }
}
