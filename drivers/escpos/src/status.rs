//! Printer status: real-time queries (`DLE EOT n`), automatic status back (`GS a n`) and a
//! reader that keeps the two apart.
//!
//! A query answer is one byte with `(b & 0x93) == 0x12`. An automatic status back (ASB) message
//! is four bytes, the first with `(b & 0x93) == 0x10`, sent unsolicited whenever the printer's
//! state changes; it can arrive just before the answer we wait for, so bytes are classified by
//! their fixed bits, never by arrival order.

/// ESC/POS real-time status request `n` of `DLE EOT n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRequest {
    /// n=1: printer status (drawer sensor, offline).
    Printer = 1,
    /// n=2: offline cause (cover open, paper end stop, error).
    Offline = 2,
    /// n=3: error cause.
    Error = 3,
    /// n=4: roll paper sensor (near end, end).
    Paper = 4,
}

impl StatusRequest {
    /// The three bytes `10 04 n`.
    pub fn bytes(self) -> [u8; 3] {
        [0x10, 0x04, self as u8]
    }
}

/// Whether a byte can be the answer to a `DLE EOT` query.
pub fn is_query_answer(b: u8) -> bool {
    b & 0x93 == 0x12
}

/// Whether a byte can start an automatic status back message.
pub fn is_asb_start(b: u8) -> bool {
    b & 0x93 == 0x10
}

/// What the drawer sensor bit means; drawers are wired either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawerPolarity {
    /// Sensor bit set (pin 3 high) = drawer open.
    #[default]
    HighIsOpen,
    /// Sensor bit set (pin 3 high) = drawer closed.
    HighIsClosed,
}

impl DrawerPolarity {
    fn open(self, bit: bool) -> bool {
        match self {
            DrawerPolarity::HighIsOpen => bit,
            DrawerPolarity::HighIsClosed => !bit,
        }
    }

    /// The sensor bit a printer reports for a drawer that is `open`.
    pub fn bit(self, open: bool) -> bool {
        self.open(open)
    }
}

/// Roll paper state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// Enough paper.
    #[default]
    Ok,
    /// The near-end sensor triggered: replace the roll soon.
    NearEnd,
    /// No paper: the printer will not print.
    Out,
}

/// A printer's state, from queries or an ASB message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrinterStatus {
    /// Roll paper.
    pub paper: Paper,
    /// Cover open.
    pub cover_open: bool,
    /// Drawer open, as read through the sensor with the configured polarity.
    pub drawer_open: bool,
    /// Offline (cover open, paper out, error...).
    pub offline: bool,
    /// An error (cutter jam, overheating...) stopped the printer.
    pub error: bool,
}

impl PrinterStatus {
    /// Whether a receipt can be printed now.
    pub fn ready(&self) -> bool {
        self.paper != Paper::Out && !self.cover_open && !self.offline && !self.error
    }
}

/// A byte that should have been a query answer but is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("byte {0:#04x} is not a DLE EOT status answer ((b & 0x93) must be 0x12)")]
pub struct BadStatusByte(pub u8);

/// Merges the answer to `request` into `status`.
pub fn apply_answer(
    status: &mut PrinterStatus,
    request: StatusRequest,
    byte: u8,
    polarity: DrawerPolarity,
) -> Result<(), BadStatusByte> {
    if !is_query_answer(byte) {
        return Err(BadStatusByte(byte));
    }
    match request {
        StatusRequest::Printer => {
            status.drawer_open = polarity.open(byte & 0x04 != 0);
            status.offline = byte & 0x08 != 0;
        }
        StatusRequest::Offline => {
            status.cover_open = byte & 0x04 != 0;
            status.error |= byte & 0x40 != 0;
        }
        StatusRequest::Error => {
            // Accumulate: the offline answer's error bit must not be cleared by this one.
            status.error |= byte & 0x68 != 0;
        }
        StatusRequest::Paper => {
            status.paper = if byte & 0x60 != 0 {
                Paper::Out
            } else if byte & 0x0C != 0 {
                Paper::NearEnd
            } else {
                Paper::Ok
            };
        }
    }
    Ok(())
}

/// The answer byte a printer in `status` gives to `request` (used by the simulator).
pub fn answer_byte(status: &PrinterStatus, request: u8, polarity: DrawerPolarity) -> u8 {
    let mut b = 0x12;
    match request {
        1 => {
            if polarity.bit(status.drawer_open) {
                b |= 0x04;
            }
            if status.offline || !status.ready() {
                b |= 0x08;
            }
        }
        2 => {
            if status.cover_open {
                b |= 0x04;
            }
            if status.paper == Paper::Out {
                b |= 0x20;
            }
            if status.error {
                b |= 0x40;
            }
        }
        3 if status.error => b |= 0x40,
        4 => match status.paper {
            Paper::Ok => {}
            Paper::NearEnd => b |= 0x0C,
            Paper::Out => b |= 0x6C,
        },
        _ => {}
    }
    b
}

/// Parses a 4-byte ASB message.
pub fn parse_asb(m: [u8; 4], polarity: DrawerPolarity) -> PrinterStatus {
    PrinterStatus {
        drawer_open: polarity.open(m[0] & 0x04 != 0),
        offline: m[0] & 0x08 != 0,
        cover_open: m[0] & 0x20 != 0,
        error: m[1] & 0x6C != 0,
        paper: if m[2] & 0x0C != 0 {
            Paper::Out
        } else if m[2] & 0x03 != 0 {
            Paper::NearEnd
        } else {
            Paper::Ok
        },
    }
}

/// Builds the 4-byte ASB message for `status` (used by the simulator).
pub fn asb_bytes(status: &PrinterStatus, polarity: DrawerPolarity) -> [u8; 4] {
    let mut m = [0x10, 0x00, 0x00, 0x00];
    if polarity.bit(status.drawer_open) {
        m[0] |= 0x04;
    }
    if status.offline || !status.ready() {
        m[0] |= 0x08;
    }
    if status.cover_open {
        m[0] |= 0x20;
    }
    if status.error {
        m[1] |= 0x40;
    }
    match status.paper {
        Paper::Ok => {}
        Paper::NearEnd => m[2] |= 0x03,
        Paper::Out => m[2] |= 0x0F,
    }
    m
}

/// One item read from the printer's back channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// A `DLE EOT` answer byte.
    Answer(u8),
    /// A complete ASB message.
    Asb([u8; 4]),
    /// A byte that fits neither (XON/XOFF, line noise); ignored by the client.
    Other(u8),
}

/// Splits the printer's back channel into query answers and ASB messages.
#[derive(Debug, Default, Clone)]
pub struct StatusReader {
    asb: Vec<u8>,
}

impl StatusReader {
    /// A reader with nothing pending.
    pub fn new() -> StatusReader {
        StatusReader::default()
    }

    /// Feeds one received byte.
    pub fn push(&mut self, b: u8) -> Option<Incoming> {
        if !self.asb.is_empty() {
            self.asb.push(b);
            if self.asb.len() == 4 {
                let m = [self.asb[0], self.asb[1], self.asb[2], self.asb[3]];
                self.asb.clear();
                return Some(Incoming::Asb(m));
            }
            return None;
        }
        if is_asb_start(b) {
            self.asb.push(b);
            None
        } else if is_query_answer(b) {
            Some(Incoming::Answer(b))
        } else {
            Some(Incoming::Other(b))
        }
    }

    /// Feeds several bytes.
    pub fn push_all(&mut self, bytes: &[u8]) -> Vec<Incoming> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }

    /// Whether an ASB message is partially received.
    pub fn in_asb(&self) -> bool {
        !self.asb.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_status_bytes() {
        let cases = [
            (0x12, Paper::Ok),
            (0x1E, Paper::NearEnd), // 0x12 | 0x0C
            (0x72, Paper::Out),     // 0x12 | 0x60
            (0x7E, Paper::Out),     // near end and out
        ];
        for (byte, want) in cases {
            let mut s = PrinterStatus::default();
            apply_answer(
                &mut s,
                StatusRequest::Paper,
                byte,
                DrawerPolarity::default(),
            )
            .unwrap();
            assert_eq!(s.paper, want, "paper answer {byte:#04x}");
        }
    }

    #[test]
    fn drawer_polarity_is_configurable() {
        let mut s = PrinterStatus::default();
        apply_answer(
            &mut s,
            StatusRequest::Printer,
            0x16,
            DrawerPolarity::HighIsOpen,
        )
        .unwrap();
        assert!(s.drawer_open, "bit 2 set = open with HighIsOpen");
        apply_answer(
            &mut s,
            StatusRequest::Printer,
            0x16,
            DrawerPolarity::HighIsClosed,
        )
        .unwrap();
        assert!(!s.drawer_open, "bit 2 set = closed with HighIsClosed");
        apply_answer(
            &mut s,
            StatusRequest::Printer,
            0x1A,
            DrawerPolarity::HighIsOpen,
        )
        .unwrap();
        assert!(s.offline, "bit 3 = offline");
    }

    #[test]
    fn bad_answer_byte_is_rejected() {
        let mut s = PrinterStatus::default();
        assert_eq!(
            apply_answer(
                &mut s,
                StatusRequest::Paper,
                0x10,
                DrawerPolarity::default()
            ),
            Err(BadStatusByte(0x10))
        );
    }

    #[test]
    fn asb_and_answers_are_kept_apart() {
        // Annotated back channel: an ASB (paper out, offline) arrives, then the answer to
        // DLE EOT 4, then XOFF, then another ASB split across reads.
        let stream: &[u8] = &[
            0x18, 0x00, 0x0F, 0x00, // ASB: 0x10|offline(0x08); byte 3 paper end bits
            0x72, // answer: paper out
            0x13, // XOFF, neither
            0x10, 0x00, // first half of an ASB...
        ];
        let mut r = StatusReader::new();
        let got = r.push_all(stream);
        assert_eq!(
            got,
            vec![
                Incoming::Asb([0x18, 0x00, 0x0F, 0x00]),
                Incoming::Answer(0x72),
                Incoming::Other(0x13),
            ],
            "each byte is classified by its fixed bits"
        );
        assert!(r.in_asb(), "half an ASB is pending");
        // ...whose remaining bytes look like answers but belong to the ASB.
        assert_eq!(
            r.push_all(&[0x12, 0x00]),
            vec![Incoming::Asb([0x10, 0x00, 0x12, 0x00])],
            "bytes inside an ASB are never taken as answers"
        );
        let s = parse_asb([0x18, 0x00, 0x0F, 0x00], DrawerPolarity::default());
        assert_eq!(s.paper, Paper::Out);
        assert!(s.offline && !s.ready());
    }

    #[test]
    fn simulator_bytes_round_trip() {
        let p = DrawerPolarity::HighIsClosed;
        let want = PrinterStatus {
            paper: Paper::NearEnd,
            cover_open: true,
            drawer_open: true,
            offline: true,
            error: false,
        };
        let mut got = PrinterStatus::default();
        for req in [
            StatusRequest::Printer,
            StatusRequest::Offline,
            StatusRequest::Error,
            StatusRequest::Paper,
        ] {
            let b = answer_byte(&want, req as u8, p);
            apply_answer(&mut got, req, b, p).unwrap();
        }
        assert_eq!(got, want, "answers encode the whole state");
        assert_eq!(
            parse_asb(asb_bytes(&want, p), p),
            want,
            "ASB encodes the whole state"
        );
    }
}
