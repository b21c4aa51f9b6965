//! Concert link-layer framing: control characters, the LRC, and an incremental frame decoder.
//!
//! A frame is `STX <payload> ETX LRC` where LRC is the XOR of every byte after STX up to and
//! including ETX. The LRC can take any value, including ENQ (05), ACK (06) or STX (02) (3.99 EUR
//! gives 05): the decoder takes the byte after ETX as the LRC whatever it is.

pub const STX: u8 = 0x02;
pub const ETX: u8 = 0x03;
pub const EOT: u8 = 0x04;
pub const ENQ: u8 = 0x05;
pub const ACK: u8 = 0x06;
pub const NAK: u8 = 0x15;

/// Payloads longer than this are not Concert messages (the longest, a Caisse-AP answer with a
/// receipt, stays well below); the decoder drops them rather than grow without bound.
pub const MAX_PAYLOAD: usize = 4096;

/// XOR of `bytes`.
pub fn lrc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// `STX payload ETX LRC`.
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 3);
    out.push(STX);
    out.extend_from_slice(payload);
    out.push(ETX);
    out.push(lrc(&out[1..]));
    out
}

/// What the decoder saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A byte outside any frame (ENQ, ACK, NAK, EOT, or noise).
    Control(u8),
    /// A complete frame whose LRC matched.
    Frame(Vec<u8>),
    /// A complete frame whose LRC did not match: answer NAK.
    BadLrc {
        payload: Vec<u8>,
        expected: u8,
        got: u8,
    },
    /// The payload grew past [`MAX_PAYLOAD`] without an ETX; the bytes were dropped.
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Payload,
    Lrc,
}

/// Incremental decoder: feed bytes one at a time, in any split.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    state: State,
    payload: Vec<u8>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            state: State::Idle,
            payload: Vec::new(),
        }
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// True between STX and the LRC byte.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Feeds one byte; returns an event when one is complete.
    pub fn push(&mut self, byte: u8) -> Option<Event> {
        match self.state {
            State::Idle => {
                if byte == STX {
                    self.payload.clear();
                    self.state = State::Payload;
                    None
                } else {
                    Some(Event::Control(byte))
                }
            }
            State::Payload => {
                if byte == ETX {
                    self.state = State::Lrc;
                    None
                } else if self.payload.len() >= MAX_PAYLOAD {
                    self.state = State::Idle;
                    self.payload = Vec::new();
                    Some(Event::Overflow)
                } else {
                    // A stray STX inside a frame is data here: message bytes are 0x20-0x7F, so a
                    // real frame never contains one, and a corrupt frame fails its LRC anyway.
                    self.payload.push(byte);
                    None
                }
            }
            State::Lrc => {
                self.state = State::Idle;
                let payload = std::mem::take(&mut self.payload);
                let expected = lrc(&payload) ^ ETX;
                if byte == expected {
                    Some(Event::Frame(payload))
                } else {
                    Some(Event::BadLrc {
                        payload,
                        expected,
                        got: byte,
                    })
                }
            }
        }
    }

    /// Feeds many bytes, collecting events.
    pub fn push_all(&mut self, bytes: &[u8]) -> Vec<Event> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's example: 12.50 EUR, E+ request.
    const REQ_1250: &[u8] = b"0100001250110978          A010B010";

    #[test]
    fn lrc_covers_payload_and_etx_not_stx() {
        let frame = encode_frame(REQ_1250);
        assert_eq!(frame[0], STX);
        assert_eq!(frame[frame.len() - 2], ETX);
        let expected = REQ_1250.iter().fold(ETX, |a, b| a ^ b);
        assert_eq!(
            frame[frame.len() - 1],
            expected,
            "LRC = XOR of payload bytes and ETX"
        );
    }

    #[test]
    fn decodes_a_frame_split_at_every_position() {
        let frame = encode_frame(REQ_1250);
        for split in 0..=frame.len() {
            let mut d = FrameDecoder::new();
            let mut events = d.push_all(&frame[..split]);
            events.extend(d.push_all(&frame[split..]));
            assert_eq!(
                events,
                vec![Event::Frame(REQ_1250.to_vec())],
                "split at {split}"
            );
        }
    }

    #[test]
    fn lrc_equal_to_enq_ack_or_stx_is_read_as_lrc() {
        // Annotated fixture: 3.99 EUR E+ debit without card data, private field blank.
        //   02                                  STX
        //   "01" "00000399" "0" "1" "0" "978"   terminal, amount, IND, mode, type, currency
        //   "          " "A010" "B010"          private, delay, authorisation
        //   03                                  ETX
        //   05                                  LRC == ENQ: must not start a session
        let payload = b"0100000399010978          A010B010";
        let frame = encode_frame(payload);
        assert_eq!(
            *frame.last().unwrap(),
            ENQ,
            "fixture: the LRC of 3.99 EUR is the ENQ byte"
        );
        let mut d = FrameDecoder::new();
        let mut wire = frame.clone();
        wire.push(EOT);
        assert_eq!(
            d.push_all(&wire),
            vec![Event::Frame(payload.to_vec()), Event::Control(EOT)]
        );

        // Search amounts whose request LRC is ACK, STX, EOT or ETX and check they decode as
        // frames too (with IND 0 the LRC's high nibble is 0, so every one is reachable).
        for target in [ACK, STX, EOT, ETX] {
            let amount = (1..100_000u64)
                .find(|a| {
                    let p = format!("01{a:08}010978          A010B010");
                    *encode_frame(p.as_bytes()).last().unwrap() == target
                })
                .expect("some amount has this LRC");
            let p = format!("01{amount:08}010978          A010B010");
            let mut d = FrameDecoder::new();
            assert_eq!(
                d.push_all(&encode_frame(p.as_bytes())),
                vec![Event::Frame(p.into_bytes())],
                "LRC {target:#04x} (amount {amount}) must be taken as the LRC"
            );
        }
    }

    #[test]
    fn corrupt_lrc_is_reported_with_both_values() {
        let mut frame = encode_frame(b"0170000125010978          ");
        let good = *frame.last().unwrap();
        *frame.last_mut().unwrap() ^= 0x01;
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.push_all(&frame),
            vec![Event::BadLrc {
                payload: b"0170000125010978          ".to_vec(),
                expected: good,
                got: good ^ 0x01
            }]
        );
        assert!(!d.in_frame(), "the decoder is ready for the retransmission");
    }

    #[test]
    fn control_bytes_around_frames_and_partial_frames() {
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.push_all(&[ENQ, ACK]),
            vec![Event::Control(ENQ), Event::Control(ACK)]
        );
        // Partial frame: nothing yet, and control-looking bytes inside are not events... except
        // that message bytes never are control bytes, so a payload byte 0x06 is kept as data.
        assert_eq!(d.push_all(&[STX, b'0', b'1']), vec![]);
        assert!(d.in_frame());
        assert_eq!(
            d.push_all(&[ETX]),
            vec![],
            "after ETX the decoder waits for the LRC"
        );
        let lrc = b'0' ^ b'1' ^ ETX;
        assert_eq!(
            d.push_all(&[lrc, EOT]),
            vec![Event::Frame(b"01".to_vec()), Event::Control(EOT)]
        );
    }

    #[test]
    fn overlong_payload_is_dropped() {
        let mut d = FrameDecoder::new();
        let mut events = d.push_all(&[STX]);
        events.extend(d.push_all(&vec![b'A'; MAX_PAYLOAD + 1]));
        assert_eq!(events, vec![Event::Overflow]);
        assert!(!d.in_frame());
    }
}
