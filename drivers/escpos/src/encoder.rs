//! ESC/POS command encoder: one method per printer primitive, appending bytes to a buffer.
//!
//! The encoder is pure (no I/O). It always follows `ESC @` (init) with the configured code table
//! because init resets the printer to PC437. Validation that a printer would not do for us (the
//! EAN-13 check digit, QR capacity, image size) happens here, so a bad receipt fails before any
//! byte reaches the printer.

use std::time::Duration;

use thiserror::Error;

use crate::bitmap::Bitmap;
use crate::codepage::{CodeTable, TableNumbers};

/// ESC.
pub const ESC: u8 = 0x1B;
/// GS.
pub const GS: u8 = 0x1D;
/// DLE.
pub const DLE: u8 = 0x10;
/// FS.
pub const FS: u8 = 0x1C;
/// Line feed: prints the line buffer.
pub const LF: u8 = 0x0A;

/// Why a command could not be encoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    /// An EAN-13 must be 12 digits (check digit computed) or 13 digits.
    #[error("EAN-13 needs 12 or 13 digits, got {0:?}")]
    Ean13Format(String),
    /// The 13th digit is not the check digit of the first twelve.
    #[error("EAN-13 {code} has check digit {got}, expected {expected}")]
    Ean13CheckDigit {
        /// The code as given.
        code: String,
        /// The check digit computed from the first twelve digits.
        expected: u8,
        /// The check digit given.
        got: u8,
    },
    /// The QR code data does not fit in a version-40 symbol at this error correction level.
    #[error("QR data of {len} bytes exceeds {max} bytes at error correction level {level:?}")]
    QrTooLong {
        /// Data length.
        len: usize,
        /// Capacity at this level.
        max: usize,
        /// Error correction level.
        level: QrEcLevel,
    },
    /// QR data must not be empty.
    #[error("QR data is empty")]
    QrEmpty,
    /// Code 128 here takes 1 to 200 printable ASCII characters, `{` excepted.
    #[error("Code 128 needs 1 to 200 printable ASCII characters without `{{`, got {0:?}")]
    Code128Data(String),
    /// A size or module parameter out of the printer's range.
    #[error("{what} must be within {min}..={max}, got {got}")]
    OutOfRange {
        /// Which parameter.
        what: &'static str,
        /// Lowest accepted value.
        min: u32,
        /// Highest accepted value.
        max: u32,
        /// The value given.
        got: u32,
    },
}

/// Horizontal alignment (`ESC a n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Flush left (default).
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// Underline thickness (`ESC - n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Underline {
    /// No underline.
    #[default]
    Off,
    /// One dot thick.
    Single,
    /// Two dots thick.
    Double,
}

/// Where the human-readable digits of a barcode are printed (`GS H n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HriPosition {
    /// Not printed.
    #[default]
    None,
    /// Above the bars.
    Above,
    /// Below the bars.
    Below,
    /// Above and below.
    Both,
}

/// QR error correction level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrEcLevel {
    /// ~7 % recovery.
    L,
    /// ~15 % recovery (default).
    #[default]
    M,
    /// ~25 % recovery.
    Q,
    /// ~30 % recovery.
    H,
}

impl QrEcLevel {
    /// Byte-mode capacity of a version-40 symbol.
    pub fn max_bytes(self) -> usize {
        match self {
            QrEcLevel::L => 2953,
            QrEcLevel::M => 2331,
            QrEcLevel::Q => 1663,
            QrEcLevel::H => 1273,
        }
    }

    /// The `n` of `GS ( k ... 31 45 n`.
    pub fn code(self) -> u8 {
        match self {
            QrEcLevel::L => 0x30,
            QrEcLevel::M => 0x31,
            QrEcLevel::Q => 0x32,
            QrEcLevel::H => 0x33,
        }
    }

    /// The level for a `GS ( k ... 31 45 n` code (unknown codes read as M, the printer default).
    pub fn from_code(n: u8) -> QrEcLevel {
        match n {
            0x30 | 0 => QrEcLevel::L,
            0x32 | 2 => QrEcLevel::Q,
            0x33 | 3 => QrEcLevel::H,
            _ => QrEcLevel::M,
        }
    }
}

/// Paper cut (`GS V`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Full cut at the current position (`1D 56 00`).
    Full,
    /// Partial cut, leaving a hinge (`1D 56 01`).
    Partial,
    /// Feed `n` dots (to bring the last line past the cutter), then full cut (`1D 56 41 n`).
    FeedFull(u8),
    /// Feed `n` dots, then partial cut (`1D 56 42 n`).
    FeedPartial(u8),
}

/// Which drawer connector pin a kick pulse goes to (`ESC p m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawerPin {
    /// Pin 2 (drawer 1, the usual one).
    #[default]
    Pin2,
    /// Pin 5 (drawer 2).
    Pin5,
}

/// A drawer kick pulse: pin and on/off times (sent in units of 2 ms, 2..=510 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawerPulse {
    /// Connector pin.
    pub pin: DrawerPin,
    /// How long the solenoid is driven.
    pub on: Duration,
    /// How long to wait after the pulse.
    pub off: Duration,
}

impl Default for DrawerPulse {
    /// Pin 2, 50 ms on, 500 ms off (`1B 70 00 19 FA`), which opens common drawers.
    fn default() -> Self {
        DrawerPulse {
            pin: DrawerPin::Pin2,
            on: Duration::from_millis(50),
            off: Duration::from_millis(500),
        }
    }
}

/// What the encoder needs to know about the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderConfig {
    /// The code table text is written in.
    pub table: CodeTable,
    /// How this printer numbers its tables.
    pub numbers: TableNumbers,
}

impl Default for EncoderConfig {
    /// WPC1252 with Epson numbering: it has €, œ, ’ and –.
    fn default() -> Self {
        EncoderConfig {
            table: CodeTable::Wpc1252,
            numbers: TableNumbers::default(),
        }
    }
}

/// Computes the EAN-13 check digit of 12 digits.
pub fn ean13_check_digit(digits12: &[u8; 12]) -> u8 {
    let sum: u32 = digits12
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// Validates an EAN-13 (12 digits get their check digit appended) and returns the 13 digits.
pub fn ean13_digits(code: &str) -> Result<[u8; 13], EncodeError> {
    let digits: Vec<u8> = code.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if !(digits.len() == 12 || digits.len() == 13) || digits.iter().any(|&d| d > 9) {
        return Err(EncodeError::Ean13Format(code.to_string()));
    }
    let mut first = [0u8; 12];
    first.copy_from_slice(&digits[..12]);
    let expected = ean13_check_digit(&first);
    if let Some(&got) = digits.get(12)
        && got != expected
    {
        return Err(EncodeError::Ean13CheckDigit {
            code: code.to_string(),
            expected,
            got,
        });
    }
    let mut all = [0u8; 13];
    all[..12].copy_from_slice(&first);
    all[12] = expected;
    Ok(all)
}

fn range(what: &'static str, got: u32, min: u32, max: u32) -> Result<u8, EncodeError> {
    if (min..=max).contains(&got) {
        Ok(u8::try_from(got).unwrap_or(u8::MAX))
    } else {
        Err(EncodeError::OutOfRange {
            what,
            min,
            max,
            got,
        })
    }
}

/// Rows per `GS v 0` band: long logos are sent in slices so small printer buffers cope.
pub const RASTER_BAND_ROWS: usize = 256;

/// Appends ESC/POS commands to a byte buffer.
#[derive(Debug, Clone)]
pub struct Encoder {
    config: EncoderConfig,
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty command buffer for a printer configured as `config`.
    pub fn new(config: EncoderConfig) -> Encoder {
        Encoder {
            config,
            buf: Vec::with_capacity(1024),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Appends bytes verbatim (for commands this encoder does not cover).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// `ESC @` then `ESC t n`: init resets the code table to PC437, so the configured table is
    /// selected again every time.
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'@']);
        self.code_table(self.config.table)
    }

    /// Selects `table` (`ESC t n`, with this printer's number) for the text that follows.
    pub fn code_table(&mut self, table: CodeTable) -> &mut Self {
        self.config.table = table;
        let n = self.config.numbers.number(table);
        self.buf.extend_from_slice(&[ESC, b't', n]);
        self
    }

    /// Text in the current table (transliterated where the table lacks a character); `\n`
    /// prints the line.
    pub fn text(&mut self, text: &str) -> &mut Self {
        let bytes = self.config.table.encode(text);
        self.buf.extend_from_slice(&bytes);
        self
    }

    /// Text followed by a line feed.
    pub fn line(&mut self, text: &str) -> &mut Self {
        self.text(text);
        self.buf.push(LF);
        self
    }

    /// Bold on or off (`ESC E n`).
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self
    }

    /// Underline (`ESC - n`).
    pub fn underline(&mut self, u: Underline) -> &mut Self {
        let n = match u {
            Underline::Off => 0,
            Underline::Single => 1,
            Underline::Double => 2,
        };
        self.buf.extend_from_slice(&[ESC, b'-', n]);
        self
    }

    /// Character size as width and height multipliers, each 1..=8 (`GS ! n`).
    pub fn size(&mut self, width: u8, height: u8) -> Result<&mut Self, EncodeError> {
        let w = range("character width", u32::from(width), 1, 8)?;
        let h = range("character height", u32::from(height), 1, 8)?;
        self.buf
            .extend_from_slice(&[GS, b'!', ((w - 1) << 4) | (h - 1)]);
        Ok(self)
    }

    /// Normal size (`GS ! 0`).
    pub fn normal_size(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'!', 0]);
        self
    }

    /// Double width and height (`GS ! 0x11`).
    pub fn double_size(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'!', 0x11]);
        self
    }

    /// Alignment of the lines that follow (`ESC a n`).
    pub fn align(&mut self, align: Align) -> &mut Self {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        };
        self.buf.extend_from_slice(&[ESC, b'a', n]);
        self
    }

    /// Barcode height in dots (`GS h n`, 1..=255).
    pub fn barcode_height(&mut self, dots: u8) -> Result<&mut Self, EncodeError> {
        let n = range("barcode height", u32::from(dots), 1, 255)?;
        self.buf.extend_from_slice(&[GS, b'h', n]);
        Ok(self)
    }

    /// Barcode module width in dots (`GS w n`, 2..=6).
    pub fn barcode_width(&mut self, dots: u8) -> Result<&mut Self, EncodeError> {
        let n = range("barcode module width", u32::from(dots), 2, 6)?;
        self.buf.extend_from_slice(&[GS, b'w', n]);
        Ok(self)
    }

    /// Where the digits are printed (`GS H n`).
    pub fn barcode_hri(&mut self, pos: HriPosition) -> &mut Self {
        let n = match pos {
            HriPosition::None => 0,
            HriPosition::Above => 1,
            HriPosition::Below => 2,
            HriPosition::Both => 3,
        };
        self.buf.extend_from_slice(&[GS, b'H', n]);
        self
    }

    /// An EAN-13 barcode (`GS k 2 d1..d13 NUL`); 12 digits get their check digit, 13 digits
    /// must carry the right one.
    pub fn ean13(&mut self, code: &str) -> Result<&mut Self, EncodeError> {
        let digits = ean13_digits(code)?;
        self.buf.extend_from_slice(&[GS, b'k', 2]);
        self.buf.extend(digits.iter().map(|d| b'0' + d));
        self.buf.push(0);
        Ok(self)
    }

    /// A Code 128 barcode (`GS k 73 n data`): code set B for the text, switching to code set
    /// C (two digits a bar pattern) for a trailing even run of at least four digits, so a
    /// credit note's `AV` and 20 digits fit the width of 80 mm paper.
    pub fn code128(&mut self, text: &str) -> Result<&mut Self, EncodeError> {
        let printable = |b: u8| (0x20..0x7f).contains(&b) && b != b'{';
        if text.is_empty() || text.len() > 200 || !text.bytes().all(printable) {
            return Err(EncodeError::Code128Data(text.to_string()));
        }
        let digits = text.bytes().rev().take_while(u8::is_ascii_digit).count();
        let digits = if digits >= 4 { digits - digits % 2 } else { 0 };
        let (head, tail) = text.split_at(text.len() - digits);
        let mut data = Vec::with_capacity(text.len() + 4);
        if !head.is_empty() {
            data.extend_from_slice(b"{B");
            data.extend_from_slice(head.as_bytes());
        }
        if !tail.is_empty() {
            data.extend_from_slice(b"{C");
            data.extend(
                tail.as_bytes()
                    .chunks(2)
                    .map(|p| (p[0] - b'0') * 10 + (p[1] - b'0')),
            );
        }
        // At most 2 + 200 bytes: fits the length byte.
        self.buf
            .extend_from_slice(&[GS, b'k', 73, data.len() as u8]);
        self.buf.extend_from_slice(&data);
        Ok(self)
    }

    /// A QR code (model 2): select model, module size (1..=16 dots), error correction, store
    /// the data, print it.
    pub fn qr(
        &mut self,
        data: &[u8],
        module: u8,
        level: QrEcLevel,
    ) -> Result<&mut Self, EncodeError> {
        if data.is_empty() {
            return Err(EncodeError::QrEmpty);
        }
        let module = range("QR module size", u32::from(module), 1, 16)?;
        if data.len() > level.max_bytes() {
            return Err(EncodeError::QrTooLong {
                len: data.len(),
                max: level.max_bytes(),
                level,
            });
        }
        let b = &mut self.buf;
        b.extend_from_slice(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0]);
        b.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, module]);
        b.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, level.code()]);
        // pL + 256 pH = len + 3; len <= 2953 so it fits in two bytes.
        let [pl, ph] = u16::try_from(data.len() + 3)
            .unwrap_or(u16::MAX)
            .to_le_bytes();
        b.extend_from_slice(&[GS, b'(', b'k', pl, ph, 0x31, 0x50, 0x30]);
        b.extend_from_slice(data);
        b.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
        Ok(self)
    }

    /// A raster image at normal density (`GS v 0 0 ...`), in bands of [`RASTER_BAND_ROWS`].
    pub fn raster(&mut self, image: &Bitmap) -> Result<&mut Self, EncodeError> {
        let wb = image.width_bytes();
        range(
            "image width in bytes",
            u32::try_from(wb).unwrap_or(u32::MAX),
            1,
            65535,
        )?;
        range(
            "image height",
            u32::try_from(image.height()).unwrap_or(u32::MAX),
            1,
            65535,
        )?;
        let mut y = 0;
        while y < image.height() {
            let band = image.band(y, y + RASTER_BAND_ROWS);
            let [xl, xh] = u16::try_from(wb).unwrap_or(u16::MAX).to_le_bytes();
            let [yl, yh] = u16::try_from(band.height())
                .unwrap_or(u16::MAX)
                .to_le_bytes();
            self.buf
                .extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
            self.buf.extend_from_slice(band.raster());
            y += RASTER_BAND_ROWS;
        }
        Ok(self)
    }

    /// Prints the buffer and feeds `lines` lines (`ESC d n`).
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// Cuts the paper (`GS V`).
    pub fn cut(&mut self, cut: Cut) -> &mut Self {
        match cut {
            Cut::Full => self.buf.extend_from_slice(&[GS, b'V', 0]),
            Cut::Partial => self.buf.extend_from_slice(&[GS, b'V', 1]),
            Cut::FeedFull(n) => self.buf.extend_from_slice(&[GS, b'V', 0x41, n]),
            Cut::FeedPartial(n) => self.buf.extend_from_slice(&[GS, b'V', 0x42, n]),
        }
        self
    }

    /// Kicks the cash drawer (`ESC p m t1 t2`); times are rounded to 2 ms units, 1..=255.
    pub fn kick(&mut self, pulse: DrawerPulse) -> &mut Self {
        let units = |d: Duration| u8::try_from((d.as_millis() / 2).clamp(1, 255)).unwrap_or(255);
        let m = match pulse.pin {
            DrawerPin::Pin2 => 0,
            DrawerPin::Pin5 => 1,
        };
        self.buf
            .extend_from_slice(&[ESC, b'p', m, units(pulse.on), units(pulse.off)]);
        self
    }
}

impl Encoder {
    /// Real-time drawer pulse (`DLE DC4 1 m t`): executed at once, even while the printer is
    /// offline or out of paper; `time` is rounded to 100 ms units, 1..=8.
    pub fn kick_realtime(&mut self, pin: DrawerPin, time: Duration) -> &mut Self {
        let m = match pin {
            DrawerPin::Pin2 => 0,
            DrawerPin::Pin5 => 1,
        };
        let t = u8::try_from((time.as_millis() / 100).clamp(1, 8)).unwrap_or(8);
        self.buf.extend_from_slice(&[DLE, 0x14, 1, m, t]);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_always_selects_the_configured_table() {
        let mut e = Encoder::new(EncoderConfig {
            table: CodeTable::Pc858,
            numbers: TableNumbers::default(),
        });
        e.init();
        assert_eq!(
            e.bytes(),
            &[0x1B, 0x40, 0x1B, 0x74, 19],
            "init then ESC t 19"
        );
    }

    #[test]
    fn ean13_check_digit_is_validated() {
        assert_eq!(ean13_check_digit(&[4, 0, 0, 6, 3, 8, 1, 3, 3, 3, 9, 3]), 1);
        assert!(ean13_digits("4006381333931").is_ok());
        assert_eq!(
            ean13_digits("4006381333932"),
            Err(EncodeError::Ean13CheckDigit {
                code: "4006381333932".into(),
                expected: 1,
                got: 2
            })
        );
        assert!(matches!(
            ean13_digits("40063813339"),
            Err(EncodeError::Ean13Format(_))
        ));
        assert!(matches!(
            ean13_digits("40063813339a1"),
            Err(EncodeError::Ean13Format(_))
        ));
        let mut e = Encoder::new(EncoderConfig::default());
        e.ean13("400638133393").unwrap();
        assert_eq!(
            e.bytes(),
            b"\x1dk\x024006381333931\x00",
            "12 digits get their check digit"
        );
    }

    #[test]
    fn qr_bytes_match_the_spec() {
        let mut e = Encoder::new(EncoderConfig::default());
        e.qr(b"AB", 6, QrEcLevel::M).unwrap();
        let want: &[u8] = &[
            0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0, // model 2
            0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, 6, // module size
            0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, 0x31, // EC M
            0x1D, 0x28, 0x6B, 5, 0, 0x31, 0x50, 0x30, b'A', b'B', // store, pL = len + 3
            0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30, // print
        ];
        assert_eq!(e.bytes(), want);
        assert!(matches!(
            e.qr(&[b'x'; 1274], 6, QrEcLevel::H),
            Err(EncodeError::QrTooLong { .. })
        ));
        assert!(matches!(
            e.qr(b"x", 17, QrEcLevel::H),
            Err(EncodeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn drawer_and_cut_bytes() {
        let mut e = Encoder::new(EncoderConfig::default());
        e.kick(DrawerPulse::default())
            .cut(Cut::Partial)
            .cut(Cut::FeedFull(3));
        assert_eq!(
            e.bytes(),
            &[
                0x1B, 0x70, 0x00, 0x19, 0xFA, 0x1D, 0x56, 0x01, 0x1D, 0x56, 0x41, 3
            ]
        );
        let mut e = Encoder::new(EncoderConfig::default());
        e.kick(DrawerPulse {
            pin: DrawerPin::Pin5,
            on: Duration::from_millis(100),
            off: Duration::from_secs(5),
        });
        assert_eq!(
            e.bytes(),
            &[0x1B, 0x70, 0x01, 50, 255],
            "times clamp to 255 units"
        );
    }

    #[test]
    fn raster_is_banded() {
        let img = Bitmap::from_fn(16, 300, |x, y| (x + y) % 2 == 0);
        let mut e = Encoder::new(EncoderConfig::default());
        e.raster(&img).unwrap();
        let b = e.bytes();
        assert_eq!(
            &b[..8],
            &[0x1D, 0x76, 0x30, 0, 2, 0, 0, 1],
            "first band 256 rows"
        );
        let second = 8 + 2 * 256;
        assert_eq!(&b[second..second + 8], &[0x1D, 0x76, 0x30, 0, 2, 0, 44, 0]);
        assert_eq!(b.len(), 16 + 2 * 300);
    }

    #[test]
    fn sizes() {
        let mut e = Encoder::new(EncoderConfig::default());
        e.size(2, 2).unwrap();
        e.size(1, 3).unwrap();
        assert_eq!(e.bytes(), &[0x1D, 0x21, 0x11, 0x1D, 0x21, 0x02]);
        assert!(e.size(9, 1).is_err());
    }
}
