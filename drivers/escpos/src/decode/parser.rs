//! Command framing: splits an ESC/POS byte stream into whole commands.
//!
//! The parser is incremental: bytes arrive in any chunks (a pty or TCP read can end in the middle
//! of a command) and a command is returned only once all its bytes are there. Every command a
//! receipt printer documents is framed by its real length, including the ones we do not
//! interpret, so their parameters are never printed as text. Data blocks declared larger than
//! [`MAX_BLOCK`] are skipped as they arrive instead of being buffered, so a hostile length cannot
//! exhaust memory. The parser never panics.

/// Largest data block kept in memory; larger blocks are counted and dropped.
pub const MAX_BLOCK: usize = 4 * 1024 * 1024;

/// Functions of `GS ( k` for QR codes (cn = 49).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrFunction {
    /// Function 165: model (`n`: 49 model 1, 50 model 2, 51 micro).
    Model(u8),
    /// Function 167: module size in dots.
    ModuleSize(u8),
    /// Function 169: error correction level code (48..=51).
    EcLevel(u8),
    /// Function 180: store data.
    Store(Vec<u8>),
    /// Function 181: print the stored symbol.
    Print,
    /// Another function (size query...).
    Other(u8),
}

/// One framed ESC/POS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Printable bytes (0x20..=0xFF), still in the printer's code table.
    Text(Vec<u8>),
    /// LF: print the line.
    LineFeed,
    /// CR (ignored by printers with automatic line feed off).
    CarriageReturn,
    /// HT: horizontal tab.
    Tab,
    /// `ESC @`.
    Init,
    /// `ESC t n`.
    CodeTable(u8),
    /// `ESC E n` / `ESC G n` (emphasis and double-strike look alike on paper).
    Bold(bool),
    /// `ESC - n`.
    Underline(u8),
    /// `ESC ! n`: font, bold, double height/width, underline bits.
    PrintMode(u8),
    /// `GS ! n`: width and height multipliers.
    CharSize(u8),
    /// `ESC a n`.
    Align(u8),
    /// `ESC d n`.
    FeedLines(u8),
    /// `ESC J n`.
    FeedDots(u8),
    /// `ESC p m t1 t2`.
    Kick {
        /// 0 or 48: pin 2; 1 or 49: pin 5.
        pin: u8,
        /// On time in 2 ms units.
        on: u8,
        /// Off time in 2 ms units.
        off: u8,
    },
    /// `DLE DC4 1 m t`: real-time drawer pulse.
    RealtimeKick {
        /// Pin code.
        pin: u8,
        /// Time in 100 ms units.
        time: u8,
    },
    /// `GS V m [n]`, `ESC i`, `ESC m`.
    Cut {
        /// True for a partial cut.
        partial: bool,
        /// Dots fed before the cut.
        feed: u8,
    },
    /// `GS h n`.
    BarcodeHeight(u8),
    /// `GS w n`.
    BarcodeWidth(u8),
    /// `GS H n`.
    HriPosition(u8),
    /// `GS k m ...`.
    Barcode {
        /// Symbology code (2 or 67: EAN-13).
        kind: u8,
        /// The data bytes.
        data: Vec<u8>,
    },
    /// `GS ( k` for a QR code.
    Qr(QrFunction),
    /// `GS v 0 m xL xH yL yH data`.
    Raster {
        /// Scale mode (bit 0: double width, bit 1: double height).
        mode: u8,
        /// Width in bytes.
        width_bytes: usize,
        /// Height in dots.
        height: usize,
        /// Packed rows.
        data: Vec<u8>,
    },
    /// `ESC * m nL nH d...`: one band of a column-format bit image.
    BitImage {
        /// 0/1: 8-dot single/double density; 32/33: 24-dot single/double density.
        mode: u8,
        /// Columns.
        columns: usize,
        /// Column bytes (1 or 3 per column, MSB at the top).
        data: Vec<u8>,
    },
    /// `GS ( L` / `GS 8 L` function 112: store a graphic in the print buffer.
    GraphicsStore {
        /// Width in dots.
        width: usize,
        /// Height in dots.
        height: usize,
        /// Horizontal scale (bx, 1 or 2).
        scale_x: u8,
        /// Vertical scale (by, 1 or 2).
        scale_y: u8,
        /// Packed rows (MSB first), first colour plane.
        data: Vec<u8>,
    },
    /// `GS ( L` / `GS 8 L` function 50: print the stored graphic.
    GraphicsPrint,
    /// `DLE EOT n`: real-time status request.
    StatusQuery(u8),
    /// `GS a n`: automatic status back enable mask.
    AutoStatus(u8),
    /// `GS r n`: transmit status.
    TransmitStatus(u8),
    /// A documented command we frame but do not interpret.
    Other(Vec<u8>),
    /// Bytes that are no known command (an unknown `ESC x`, a stray control byte).
    Unknown(Vec<u8>),
    /// A data block larger than [`MAX_BLOCK`]: its header, and how many data bytes follow and
    /// are dropped.
    Oversized {
        /// The command header.
        header: Vec<u8>,
        /// Data bytes dropped.
        skipped: usize,
    },
    /// The end of the stream arrived in the middle of this command.
    Incomplete(Vec<u8>),
}

enum Step {
    /// A command and the bytes it used.
    Done(Command, usize),
    /// Not enough bytes yet.
    More,
    /// A header of `header` bytes whose `data` bytes are to be dropped.
    Skip(usize, usize),
}

fn u16le(lo: u8, hi: u8) -> usize {
    usize::from(lo) | (usize::from(hi) << 8)
}

/// Frames a fixed-length command of `n` bytes with `make`.
fn fixed(b: &[u8], n: usize, make: impl FnOnce(&[u8]) -> Command) -> Step {
    if b.len() < n {
        Step::More
    } else {
        Step::Done(make(&b[..n]), n)
    }
}

fn other(n: usize, b: &[u8]) -> Step {
    fixed(b, n, |s| Command::Other(s.to_vec()))
}

/// A header of `head` bytes followed by `data` bytes, made into a command by `make`.
fn block(b: &[u8], head: usize, data: usize, make: impl FnOnce(&[u8]) -> Command) -> Step {
    if data > MAX_BLOCK {
        return if b.len() < head {
            Step::More
        } else {
            Step::Skip(head, data)
        };
    }
    fixed(b, head + data, make)
}

fn parse(b: &[u8]) -> Step {
    let Some(&first) = b.first() else {
        return Step::More;
    };
    match first {
        0x0A => Step::Done(Command::LineFeed, 1),
        0x0D => Step::Done(Command::CarriageReturn, 1),
        0x09 => Step::Done(Command::Tab, 1),
        0x10 => parse_dle(b),
        0x1B => parse_esc(b),
        0x1D => parse_gs(b),
        0x1C => parse_fs(b),
        0x00..=0x1F => Step::Done(Command::Unknown(vec![first]), 1),
        _ => {
            let n = b.iter().take_while(|&&c| c >= 0x20).count();
            Step::Done(Command::Text(b[..n].to_vec()), n)
        }
    }
}

fn parse_dle(b: &[u8]) -> Step {
    let Some(&c) = b.get(1) else {
        return Step::More;
    };
    match c {
        0x04 => match b.get(2) {
            None => Step::More,
            Some(7 | 8 | 18) => other(4, b),
            Some(&n) => Step::Done(Command::StatusQuery(n), 3),
        },
        0x05 => other(3, b),
        0x14 => match b.get(2) {
            None => Step::More,
            Some(1) => fixed(b, 5, |s| Command::RealtimeKick {
                pin: s[3],
                time: s[4],
            }),
            Some(2 | 3) => other(5, b),
            Some(7) => other(4, b),
            Some(8) => other(10, b),
            Some(_) => other(3, b),
        },
        // A lone DLE is not printed; look at the next byte afresh.
        _ => Step::Done(Command::Unknown(vec![0x10]), 1),
    }
}

fn parse_esc(b: &[u8]) -> Step {
    let Some(&c) = b.get(1) else {
        return Step::More;
    };
    match c {
        b'@' => Step::Done(Command::Init, 2),
        b't' => fixed(b, 3, |s| Command::CodeTable(s[2])),
        b'E' | b'G' => fixed(b, 3, |s| Command::Bold(s[2] & 1 == 1)),
        b'-' => fixed(b, 3, |s| Command::Underline(s[2])),
        b'!' => fixed(b, 3, |s| Command::PrintMode(s[2])),
        b'a' => fixed(b, 3, |s| Command::Align(s[2])),
        b'd' => fixed(b, 3, |s| Command::FeedLines(s[2])),
        b'J' => fixed(b, 3, |s| Command::FeedDots(s[2])),
        b'p' => fixed(b, 5, |s| Command::Kick {
            pin: s[2],
            on: s[3],
            off: s[4],
        }),
        b'i' => Step::Done(
            Command::Cut {
                partial: false,
                feed: 0,
            },
            2,
        ),
        b'm' => Step::Done(
            Command::Cut {
                partial: true,
                feed: 0,
            },
            2,
        ),
        b'2' | b'<' | b'L' | b'S' | 0x0C => other(2, b),
        b' ' | b'%' | b'3' | b'=' | b'?' | b'M' | b'R' | b'T' | b'U' | b'V' | b'{' | b'r'
        | b'e' | b'K' | b'u' | b'v' => other(3, b),
        b'$' | b'\\' | b'B' => other(4, b),
        b'c' => match b.get(2) {
            None => Step::More,
            Some(b'3' | b'4' | b'5') => other(4, b),
            Some(_) => other(3, b),
        },
        b'W' => other(10, b),
        b'D' => {
            // Tab positions: up to 32 bytes ending with NUL.
            match b.iter().skip(2).take(33).position(|&x| x == 0) {
                Some(p) => other(2 + p + 1, b),
                None if b.len() < 2 + 33 => Step::More,
                None => other(2 + 33, b),
            }
        }
        b'*' => {
            if b.len() < 5 {
                return Step::More;
            }
            let mode = b[2];
            let per_column = if mode & 0x20 != 0 { 3 } else { 1 };
            let columns = u16le(b[3], b[4]);
            block(b, 5, columns * per_column, |s| Command::BitImage {
                mode,
                columns,
                data: s[5..].to_vec(),
            })
        }
        b'&' => parse_user_chars(b),
        b'(' => {
            if b.len() < 5 {
                return Step::More;
            }
            block(b, 5, u16le(b[3], b[4]), |s| Command::Other(s.to_vec()))
        }
        _ => Step::Done(Command::Unknown(vec![0x1B, c]), 2),
    }
}

/// `ESC & y c1 c2 [x d1..d(y*x)]...`: user-defined characters.
fn parse_user_chars(b: &[u8]) -> Step {
    if b.len() < 5 {
        return Step::More;
    }
    let (y, c1, c2) = (usize::from(b[2]), b[3], b[4]);
    if c2 < c1 {
        return Step::Done(Command::Unknown(b[..5].to_vec()), 5);
    }
    let mut at = 5;
    for _ in c1..=c2 {
        let Some(&x) = b.get(at) else {
            return Step::More;
        };
        at += 1 + y * usize::from(x);
    }
    other(at, b)
}

fn parse_gs(b: &[u8]) -> Step {
    let Some(&c) = b.get(1) else {
        return Step::More;
    };
    match c {
        b'!' => fixed(b, 3, |s| Command::CharSize(s[2])),
        b'H' => fixed(b, 3, |s| Command::HriPosition(s[2])),
        b'h' => fixed(b, 3, |s| Command::BarcodeHeight(s[2])),
        b'w' => fixed(b, 3, |s| Command::BarcodeWidth(s[2])),
        b'a' => fixed(b, 3, |s| Command::AutoStatus(s[2])),
        b'r' => fixed(b, 3, |s| Command::TransmitStatus(s[2])),
        b'B' | b'f' | b'I' | b'b' | b'|' | b'/' | b'E' | b'T' | b'j' => other(3, b),
        b':' => other(2, b),
        b'L' | b'W' | b'$' | b'\\' | b'P' => other(4, b),
        b'^' => other(5, b),
        b'g' => other(5, b),
        b'*' => {
            if b.len() < 4 {
                return Step::More;
            }
            let n = usize::from(b[2]) * usize::from(b[3]) * 8;
            block(b, 4, n, |s| Command::Other(s.to_vec()))
        }
        b'k' => parse_barcode(b),
        b'V' => match b.get(2) {
            None => Step::More,
            Some(&m @ (0 | 1 | 48 | 49)) => Step::Done(
                Command::Cut {
                    partial: m & 1 == 1,
                    feed: 0,
                },
                3,
            ),
            Some(&m @ (65 | 66 | 97 | 98 | 103 | 104)) => fixed(b, 4, |s| Command::Cut {
                partial: m & 1 == 0,
                feed: s[3],
            }),
            Some(_) => other(3, b),
        },
        b'(' => {
            if b.len() < 5 {
                return Step::More;
            }
            let len = u16le(b[3], b[4]);
            if b[2] == b'k' {
                block(b, 5, len, |s| qr_function(&s[5..]))
            } else if b[2] == b'L' {
                block(b, 5, len, |s| graphics_function(&s[5..], s))
            } else {
                block(b, 5, len, |s| Command::Other(s.to_vec()))
            }
        }
        b'8' => {
            // GS 8 L / GS 8 k: four-byte little-endian length.
            if b.len() < 7 {
                return Step::More;
            }
            let len = usize::from(b[3])
                | usize::from(b[4]) << 8
                | usize::from(b[5]) << 16
                | usize::from(b[6]) << 24;
            if b[2] == b'L' {
                block(b, 7, len, |s| graphics_function(&s[7..], s))
            } else {
                block(b, 7, len, |s| Command::Other(s.to_vec()))
            }
        }
        b'v' => match b.get(2) {
            None => Step::More,
            Some(b'0') => {
                if b.len() < 8 {
                    return Step::More;
                }
                let width_bytes = u16le(b[4], b[5]);
                let height = u16le(b[6], b[7]);
                let mode = b[3];
                block(b, 8, width_bytes * height, |s| Command::Raster {
                    mode,
                    width_bytes,
                    height,
                    data: s[8..].to_vec(),
                })
            }
            Some(_) => Step::Done(Command::Unknown(b[..3].to_vec()), 3),
        },
        _ => Step::Done(Command::Unknown(vec![0x1D, c]), 2),
    }
}

fn qr_function(body: &[u8]) -> Command {
    // body = cn fn params...
    match body {
        [0x31, 0x41, n, ..] => Command::Qr(QrFunction::Model(*n)),
        [0x31, 0x43, n, ..] => Command::Qr(QrFunction::ModuleSize(*n)),
        [0x31, 0x45, n, ..] => Command::Qr(QrFunction::EcLevel(*n)),
        [0x31, 0x50, _m, data @ ..] => Command::Qr(QrFunction::Store(data.to_vec())),
        [0x31, 0x51, ..] => Command::Qr(QrFunction::Print),
        [0x31, f, ..] => Command::Qr(QrFunction::Other(*f)),
        _ => {
            let mut v = vec![0x1D, b'(', b'k'];
            v.extend_from_slice(body);
            Command::Other(v)
        }
    }
}

/// Graphics functions of `GS ( L` / `GS 8 L`; `body` starts at `m` (0x30), `whole` is the
/// command for the ones we do not interpret.
fn graphics_function(body: &[u8], whole: &[u8]) -> Command {
    match body {
        // fn 112: m fn a bx by c xL xH yL yH d1..dk (a = 48: monochrome).
        [0x30, 0x70, 0x30, bx, by, _c, xl, xh, yl, yh, data @ ..] => {
            let width = u16le(*xl, *xh);
            let height = u16le(*yl, *yh);
            if data.len() < width.div_ceil(8) * height {
                // Fewer data bytes than the size announces: not a graphic a printer accepts.
                return Command::Other(whole.to_vec());
            }
            Command::GraphicsStore {
                width,
                height,
                scale_x: (*bx).clamp(1, 2),
                scale_y: (*by).clamp(1, 2),
                data: data[..data.len().min(width.div_ceil(8) * height)].to_vec(),
            }
        }
        [0x30, 0x02 | 0x32, ..] => Command::GraphicsPrint,
        _ => Command::Other(whole.to_vec()),
    }
}

/// `GS k m d1..dk NUL` (m 0..=6) or `GS k m n d1..dn` (m 65..=79).
fn parse_barcode(b: &[u8]) -> Step {
    let Some(&m) = b.get(2) else {
        return Step::More;
    };
    if m <= 6 {
        // Data up to NUL; printers cap the data at 255 bytes.
        match b.iter().skip(3).take(256).position(|&x| x == 0) {
            Some(p) => Step::Done(
                Command::Barcode {
                    kind: m,
                    data: b[3..3 + p].to_vec(),
                },
                3 + p + 1,
            ),
            None if b.len() < 3 + 256 => Step::More,
            None => Step::Done(Command::Unknown(b[..3].to_vec()), 3),
        }
    } else {
        let Some(&n) = b.get(3) else {
            return Step::More;
        };
        fixed(b, 4 + usize::from(n), |s| Command::Barcode {
            kind: m,
            data: s[4..].to_vec(),
        })
    }
}

fn parse_fs(b: &[u8]) -> Step {
    let Some(&c) = b.get(1) else {
        return Step::More;
    };
    match c {
        b'.' | b'&' => other(2, b),
        b'C' | b'!' | b'-' | b'W' => other(3, b),
        b'p' | b'S' => other(4, b),
        b'(' => {
            if b.len() < 5 {
                return Step::More;
            }
            block(b, 5, u16le(b[3], b[4]), |s| Command::Other(s.to_vec()))
        }
        b'q' => {
            // FS q n [xL xH yL yH d1...dk]1..n: NV bit images, k = x * y * 8.
            let Some(&n) = b.get(2) else {
                return Step::More;
            };
            let mut at = 3;
            for _ in 0..n {
                if b.len() < at + 4 {
                    return Step::More;
                }
                let size = u16le(b[at], b[at + 1]) * u16le(b[at + 2], b[at + 3]) * 8;
                at += 4 + size;
                if at > MAX_BLOCK {
                    return Step::Done(Command::Unknown(b[..3].to_vec()), 3);
                }
            }
            other(at, b)
        }
        _ => Step::Done(Command::Unknown(vec![0x1C, c]), 2),
    }
}

/// Incremental command parser.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    pos: usize,
    /// Data bytes still to drop from an oversized block.
    skip: usize,
}

impl Parser {
    /// An empty parser.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        // Drop consumed bytes before growing so the buffer stays as small as the pending command.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let dropped = self.skip.min(bytes.len());
        self.skip -= dropped;
        self.buf.extend_from_slice(&bytes[dropped..]);
    }

    /// The next whole command, or `None` until more bytes arrive.
    pub fn next_command(&mut self) -> Option<Command> {
        self.next_command_raw().map(|(c, _)| c)
    }

    /// The next whole command with the bytes it was framed from (for an oversized block, the
    /// header and the data bytes already received).
    pub fn next_command_raw(&mut self) -> Option<(Command, Vec<u8>)> {
        let rest = &self.buf[self.pos..];
        match parse(rest) {
            Step::More => None,
            Step::Done(cmd, n) => {
                let n = n.max(1).min(rest.len());
                let raw = rest[..n].to_vec();
                self.pos += n;
                Some((cmd, raw))
            }
            Step::Skip(head, data) => {
                let header = rest[..head].to_vec();
                let available = rest.len() - head;
                let now = available.min(data);
                let raw = rest[..head + now].to_vec();
                self.pos += head + now;
                self.skip = data - now;
                Some((
                    Command::Oversized {
                        header,
                        skipped: data,
                    },
                    raw,
                ))
            }
        }
    }

    /// Bytes of an unfinished command at the end of the stream, if any.
    pub fn finish(&mut self) -> Option<Command> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        (!rest.is_empty()).then_some(Command::Incomplete(rest))
    }

    /// Bytes buffered and not yet framed.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// Frames a whole buffer, ending with [`Command::Incomplete`] if it stops mid-command.
pub fn parse_all(bytes: &[u8]) -> Vec<Command> {
    let mut p = Parser::new();
    p.push(bytes);
    let mut out = Vec::new();
    while let Some(c) = p.next_command() {
        out.push(c);
    }
    out.extend(p.finish());
    out
}
