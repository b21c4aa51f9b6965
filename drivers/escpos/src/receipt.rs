//! A receipt builder: the layer the till engine uses to lay out a receipt.
//!
//! It knows the paper width in columns (32 on 58 mm printers, 42 or 48 on 80 mm ones) and
//! measures text after encoding, so a transliterated `œ` (two columns as `oe`) still lines up.
//! It starts with init (which re-selects the code table) and returns the bytes to send.

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
    fn long_left_is_truncated_and_transliteration_counts() {
        let line = columns_line(CodeTable::Pc858, 20, "Bœuf bourguignon maison", "12,00 €");
        let text = CodeTable::Pc858.decode(&line);
        assert_eq!(text, "Boeuf bourgu 12,00 €", "œ takes two columns as oe");
    }
}
