//! What a printer prints: receipts made of text lines, barcodes, QR codes and images.

use crate::bitmap::Bitmap;
use crate::encoder::{Align, HriPosition, QrEcLevel};

/// Character style of a run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Emphasised.
    pub bold: bool,
    /// Underline thickness in dots (0, 1 or 2).
    pub underline: u8,
    /// Width multiplier (1..=8).
    pub width: u8,
    /// Height multiplier (1..=8).
    pub height: u8,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            bold: false,
            underline: 0,
            width: 1,
            height: 1,
        }
    }
}

/// Characters printed in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The text.
    pub text: String,
    /// Its style.
    pub style: Style,
}

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextLine {
    /// Alignment in effect when the line started.
    pub align: Align,
    /// The runs, left to right (empty for a blank line).
    pub runs: Vec<Run>,
}

impl TextLine {
    /// The line's text without styles.
    pub fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect()
    }
}

/// A barcode symbology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbology {
    /// EAN-13 (`GS k 2` or `GS k 67`).
    Ean13,
    /// Code 128 (`GS k 73`); its data is the text it carries, code sets resolved.
    Code128,
    /// Another `GS k` type, by its code.
    Other(u8),
}

/// Something printed on the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    /// A line of text.
    Line(TextLine),
    /// Blank paper fed by `ESC J n`, in dots.
    Feed(u32),
    /// A barcode.
    Barcode {
        /// Symbology.
        symbology: Symbology,
        /// Data as sent (digits for EAN-13).
        data: String,
        /// Bar height in dots.
        height: u8,
        /// Module width in dots.
        module: u8,
        /// Where the digits go.
        hri: HriPosition,
        /// Alignment.
        align: Align,
    },
    /// A QR code.
    QrCode {
        /// The stored data.
        data: Vec<u8>,
        /// Module size in dots.
        module: u8,
        /// Error correction level.
        level: QrEcLevel,
        /// Alignment.
        align: Align,
    },
    /// A raster image.
    Image {
        /// The pixels.
        bitmap: Bitmap,
        /// Horizontal scale (1 or 2).
        scale_x: u8,
        /// Vertical scale (1 or 2).
        scale_y: u8,
        /// Alignment.
        align: Align,
    },
    /// A cash drawer pulse (not printed; kept in order with the receipt's content).
    DrawerKick {
        /// Connector pin (2 or 5).
        pin: u8,
        /// On time in ms.
        on_ms: u32,
        /// Off time in ms.
        off_ms: u32,
    },
}

/// How a receipt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// Full cut.
    Full,
    /// Partial cut.
    Partial,
}

/// One receipt: everything printed up to a cut (or the end of the stream).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrintedReceipt {
    /// Printed content, top to bottom.
    pub elements: Vec<Element>,
    /// The cut that ended it; `None` if the stream ended without one.
    pub cut: Option<CutKind>,
}

impl PrintedReceipt {
    /// The text lines only, one string per printed line.
    pub fn lines(&self) -> Vec<String> {
        self.elements
            .iter()
            .filter_map(|e| match e {
                Element::Line(l) => Some(l.text()),
                _ => None,
            })
            .collect()
    }

    /// A plain-text view of the receipt: text lines as printed, and a bracketed line for each
    /// barcode (`[EAN-13 ...]`, `[CODE128 ...]`), QR code (`[QR ...]`) and image (`[image WxH]`).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for e in &self.elements {
            match e {
                Element::Line(l) => out.push_str(&l.text()),
                Element::Feed(_) | Element::DrawerKick { .. } => continue,
                Element::Barcode {
                    symbology, data, ..
                } => match symbology {
                    Symbology::Ean13 => out.push_str(&format!("[EAN-13 {data}]")),
                    Symbology::Code128 => out.push_str(&format!("[CODE128 {data}]")),
                    Symbology::Other(k) => out.push_str(&format!("[barcode {k} {data}]")),
                },
                Element::QrCode { data, .. } => {
                    out.push_str(&format!("[QR {}]", String::from_utf8_lossy(data)));
                }
                Element::Image { bitmap, .. } => {
                    out.push_str(&format!("[image {}x{}]", bitmap.width(), bitmap.height()));
                }
            }
            out.push('\n');
        }
        out
    }

    /// Whether nothing was printed (a drawer pulse alone prints nothing).
    pub fn is_empty(&self) -> bool {
        self.elements
            .iter()
            .all(|e| matches!(e, Element::DrawerKick { .. }))
    }
}
