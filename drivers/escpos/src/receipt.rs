//! A receipt builder: the layer the till engine uses to lay out a receipt.
//!
//! It knows the paper width in columns (32 on 58 mm printers, 42 or 48 on 80 mm ones) and
//! measures text after encoding, so a transliterated `œ` (two columns as `oe`) still lines up.
//! It starts with init (which re-selects the code table) and returns the bytes to send.
//!
//! ```
//! use pos_escpos::decode::{ModelConfig, decode_receipts};
//! use pos_escpos::{Receipt, ReceiptConfig};
//!
//! let mut r = Receipt::new(ReceiptConfig { columns: 32, ..ReceiptConfig::default() });
//! r.columns("Café crème", "2,50 €");
//! r.qr("https://example.invalid/r/1").unwrap();
//! r.cut();
//! let bytes = r.finish();
//!
//! // What a printer prints from those bytes:
//! let printed = decode_receipts(&bytes, ModelConfig { columns: 32, ..ModelConfig::default() });
//! assert_eq!(printed[0].lines()[0], "Café crème                2,50 €");
//! ```

use crate::bitmap::Bitmap;
use crate::codepage::CodeTable;
use crate::encoder::{
    Align, Cut, DrawerPulse, EncodeError, Encoder, EncoderConfig, HriPosition, LF, QrEcLevel,
};

/// Receipt layout settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptConfig {
    /// Encoder settings (code table and its number).
    pub encoder: EncoderConfig,
    /// Characters per line in normal size: 32, 42 or 48.
    pub columns: usize,
    /// QR module size in dots.
    pub qr_module: u8,
    /// QR error correction level.
    pub qr_level: QrEcLevel,
    /// Barcode height in dots.
    pub barcode_height: u8,
    /// Dots fed before the cut so the last line clears the cutter.
    pub cut_feed: u8,
}

impl Default for ReceiptConfig {
    fn default() -> Self {
        ReceiptConfig {
            encoder: EncoderConfig::default(),
            columns: 48,
            qr_module: 6,
            qr_level: QrEcLevel::M,
            barcode_height: 80,
            cut_feed: 48,
        }
    }
}

/// Builds the bytes of one receipt.
#[derive(Debug, Clone)]
pub struct Receipt {
    enc: Encoder,
    columns: usize,
    config: ReceiptConfig,
}

impl Receipt {
    /// Starts a receipt with init and the configured code table.
    pub fn new(config: ReceiptConfig) -> Receipt {
        let mut enc = Encoder::new(config.encoder.clone());
        enc.init();
        Receipt {
            enc,
            columns: config.columns.max(1),
            config,
        }
    }

    fn table(&self) -> CodeTable {
        self.enc.config().table
    }

    /// Width in columns of `text` once encoded (transliterations may widen it).
    pub fn width_of(&self, text: &str) -> usize {
        self.table().encode(text).len()
    }

    /// A plain line, wrapped by the printer if longer than the paper.
    pub fn line(&mut self, text: &str) -> &mut Self {
        self.enc.line(text);
        self
    }

    /// A line in bold.
    pub fn bold_line(&mut self, text: &str) -> &mut Self {
        self.enc.bold(true).line(text).bold(false);
        self
    }

    /// A centred line.
    pub fn centered(&mut self, text: &str) -> &mut Self {
        self.enc.align(Align::Center).line(text).align(Align::Left);
        self
    }

    /// A centred, bold, double-size title.
    pub fn title(&mut self, text: &str) -> &mut Self {
        self.enc
            .align(Align::Center)
            .bold(true)
            .double_size()
            .line(text)
            .normal_size()
            .bold(false)
            .align(Align::Left);
        self
    }

    /// `left` flush left and `right` flush right on one line; `left` is truncated if both do
    /// not fit with one space between them.
    pub fn columns(&mut self, left: &str, right: &str) -> &mut Self {
        let bytes = columns_line(self.table(), self.columns, left, right);
        self.enc.raw(&bytes).raw(&[LF]);
        self
    }

    /// Like [`Receipt::columns`], in bold (for totals).
    pub fn bold_columns(&mut self, left: &str, right: &str) -> &mut Self {
        self.enc.bold(true);
        self.columns(left, right);
        self.enc.bold(false);
        self
    }

    /// Text word-wrapped to the paper width (a word longer than a line is split).
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        for line in wrap(self.table(), self.columns, text) {
            self.enc.line(&line);
        }
        self
    }

    /// A full-width rule of `c`.
    pub fn rule(&mut self, c: char) -> &mut Self {
        let s: String = std::iter::repeat_n(c, self.columns).collect();
        self.line(&s)
    }

    /// An empty line.
    pub fn blank(&mut self) -> &mut Self {
        self.enc.raw(&[LF]);
        self
    }

    /// A centred QR code.
    pub fn qr(&mut self, data: &str) -> Result<&mut Self, EncodeError> {
        self.enc.align(Align::Center);
        self.enc
            .qr(data.as_bytes(), self.config.qr_module, self.config.qr_level)?;
        self.enc.raw(&[LF]).align(Align::Left);
        Ok(self)
    }

    /// A centred EAN-13 with its digits below.
    pub fn ean13(&mut self, code: &str) -> Result<&mut Self, EncodeError> {
        self.enc.align(Align::Center);
        self.enc.barcode_height(self.config.barcode_height)?;
        self.enc.barcode_width(2)?;
        self.enc.barcode_hri(HriPosition::Below);
        self.enc.ean13(code)?;
        self.enc.align(Align::Left);
        Ok(self)
    }

    /// A centred Code 128 with its text below (see [`Encoder::code128`]).
    pub fn code128(&mut self, text: &str) -> Result<&mut Self, EncodeError> {
        self.enc.align(Align::Center);
        self.enc.barcode_height(self.config.barcode_height)?;
        self.enc.barcode_width(2)?;
        self.enc.barcode_hri(HriPosition::Below);
        self.enc.code128(text)?;
        self.enc.raw(&[LF]).align(Align::Left);
        Ok(self)
    }

    /// A centred logo.
    pub fn logo(&mut self, image: &Bitmap) -> Result<&mut Self, EncodeError> {
        self.enc.align(Align::Center);
        self.enc.raster(image)?;
        self.enc.align(Align::Left);
        Ok(self)
    }

    /// Feeds `lines` empty lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.enc.feed(lines);
        self
    }

    /// Opens the cash drawer.
    pub fn kick(&mut self, pulse: DrawerPulse) -> &mut Self {
        self.enc.kick(pulse);
        self
    }

    /// Feeds past the cutter and cuts (partial cut, the usual for receipts).
    pub fn cut(&mut self) -> &mut Self {
        self.enc.cut(Cut::FeedPartial(self.config.cut_feed));
        self
    }

    /// Access to the underlying encoder for primitives the builder does not wrap.
    pub fn encoder(&mut self) -> &mut Encoder {
        &mut self.enc
    }

    /// The bytes to send to the printer.
    pub fn finish(self) -> Vec<u8> {
        self.enc.into_bytes()
    }
}

/// Splits `text` into lines of at most `columns` encoded columns, at spaces where possible.
///
/// ```
/// use pos_escpos::codepage::CodeTable;
/// // "…" is written "..." in WPC1252-less tables; on 2 columns it still ends.
/// let lines = pos_escpos::receipt::wrap(CodeTable::Pc858, 2, "a… b");
/// assert!(!lines.is_empty());
/// ```
pub fn wrap(table: CodeTable, columns: usize, text: &str) -> Vec<String> {
    let columns = columns.max(1);
    let width = |s: &str| table.encode(s).len();
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_string();
            // A word wider than the paper is cut into pieces.
            // (A single character wider than the paper is left whole: the printer wraps it.)
            while width(&word) > columns && word.chars().count() > 1 {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let mut piece = String::new();
                let mut rest = word.chars();
                for c in rest.by_ref() {
                    let mut next = piece.clone();
                    next.push(c);
                    if width(&next) > columns && !piece.is_empty() {
                        lines.push(piece);
                        piece = c.to_string();
                        break;
                    }
                    piece = next;
                }
                word = piece + rest.as_str();
            }
            let sep = usize::from(!line.is_empty());
            if width(&line) + sep + width(&word) > columns {
                lines.push(std::mem::take(&mut line));
            } else if sep == 1 {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

/// Encodes `left` and `right` on one line of `columns` columns.
pub fn columns_line(table: CodeTable, columns: usize, left: &str, right: &str) -> Vec<u8> {
    let strip = |s: &str| -> Vec<u8> {
        table
            .encode(s)
            .into_iter()
            .map(|b| if b == LF { b' ' } else { b })
            .collect()
    };
    let mut l = strip(left);
    let mut r = strip(right);
    r.truncate(columns);
    let room = columns.saturating_sub(r.len() + usize::from(!r.is_empty()));
    l.truncate(room);
    let pad = columns - l.len() - r.len();
    let mut out = l;
    out.extend(std::iter::repeat_n(b' ', pad));
    out.extend(r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fill_the_width() {
        for width in [32, 42, 48] {
            let line = columns_line(CodeTable::Wpc1252, width, "Café crème", "3,50 €");
            assert_eq!(line.len(), width, "a column line is exactly {width} wide");
            let text = CodeTable::Wpc1252.decode(&line);
            assert!(
                text.starts_with("Café crème") && text.ends_with("3,50 €"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn paragraphs_wrap_at_spaces() {
        let cases: [(&str, usize, &[&str]); 4] = [
            (
                "Garantie deux ans pièces et main d’œuvre",
                16,
                &["Garantie deux", "ans pièces et", "main d’œuvre"],
            ),
            ("abcdefghij", 4, &["abcd", "efgh", "ij"]),
            ("un\ndeux", 32, &["un", "deux"]),
            ("", 32, &[""]),
        ];
        for (text, width, want) in cases {
            let got = wrap(CodeTable::Wpc1252, width, text);
            assert_eq!(got, want, "{text:?} at {width} columns");
            assert!(
                got.iter()
                    .all(|l| CodeTable::Wpc1252.encode(l).len() <= width)
            );
        }
        // In PC858 œ takes two columns (oe), so "d’œuvre" is 8 wide and does not fit in 7.
        assert_eq!(wrap(CodeTable::Pc858, 7, "d’œuvre"), vec!["d’œuvr", "e"]);
    }

    #[test]
    fn long_left_is_truncated_and_transliteration_counts() {
        let line = columns_line(CodeTable::Pc858, 20, "Bœuf bourguignon maison", "12,00 €");
        let text = CodeTable::Pc858.decode(&line);
        assert_eq!(text, "Boeuf bourgu 12,00 €", "œ takes two columns as oe");
    }
}
