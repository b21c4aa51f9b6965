//! The printer model: applies framed commands to a printer state and produces receipts.
//!
//! It reproduces what matters for checking a receipt: `ESC @` clears the line buffer and resets
//! the code table (to PC437), styles, alignment and barcode/QR settings; text is decoded through
//! the table selected at the time; lines wrap at the paper width; a cut ends a receipt.
//! Requests that a real printer answers (status) are reported as [`Output`]s for the caller.

use crate::bitmap::Bitmap;
use crate::codepage::{CodeTable, TableNumbers};
use crate::decode::document::{CutKind, Element, PrintedReceipt, Run, Style, Symbology, TextLine};
use crate::decode::parser::{Command, QrFunction};
use crate::encoder::{Align, HriPosition, QrEcLevel};

/// Printer model settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// How this printer numbers its code tables.
    pub numbers: TableNumbers,
    /// Columns of the default font across the paper (wrapping width).
    pub columns: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            numbers: TableNumbers::default(),
            columns: 48,
        }
    }
}

/// What the model reports besides receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A receipt ended with a cut.
    Receipt(PrintedReceipt),
    /// `DLE EOT n`: the host waits for one status byte.
    StatusQuery(u8),
    /// `GS r n`: the host waits for one status byte.
    TransmitStatus(u8),
    /// `GS a n`: automatic status back enabled for the events in mask `n` (0 disables).
    AutoStatus(u8),
    /// A drawer pulse was requested (also recorded in the receipt).
    DrawerKick {
        /// Pin 2 or 5.
        pin: u8,
        /// On time in ms.
        on_ms: u32,
    },
    /// Bytes that were not understood (kept for diagnostics).
    Unknown(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Settings {
    table: Option<CodeTable>,
    style: Style,
    align: Align,
    barcode_height: u8,
    barcode_module: u8,
    hri: HriPosition,
    qr_module: u8,
    qr_level: QrEcLevel,
    qr_data: Option<Vec<u8>>,
    /// A graphic stored by `GS ( L` fn 112, printed by fn 50.
    graphic: Option<(Bitmap, u8, u8)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            table: Some(CodeTable::Pc437),
            style: Style::default(),
            align: Align::Left,
            barcode_height: 162,
            barcode_module: 3,
            hri: HriPosition::None,
            qr_module: 3,
            qr_level: QrEcLevel::L,
            qr_data: None,
            graphic: None,
        }
    }
}

/// The printer state machine.
#[derive(Debug, Clone)]
pub struct PrinterModel {
    config: ModelConfig,
    s: Settings,
    line: Vec<(char, Style)>,
    line_align: Align,
    receipt: PrintedReceipt,
    /// The last element is an `ESC *` band: the LF that prints it adds no blank line.
    band_pending: bool,
}

impl PrinterModel {
    /// A printer just powered on.
    pub fn new(config: ModelConfig) -> PrinterModel {
        PrinterModel {
            config,
            s: Settings::default(),
            line: Vec::new(),
            line_align: Align::Left,
            receipt: PrintedReceipt::default(),
            band_pending: false,
        }
    }

    /// The code table currently selected (`None` for a table number we do not know).
    pub fn table(&self) -> Option<CodeTable> {
        self.s.table
    }

    fn cells(&self) -> usize {
        self.line.iter().map(|(_, s)| usize::from(s.width)).sum()
    }

    fn put_char(&mut self, c: char) {
        let w = usize::from(self.s.style.width);
        if !self.line.is_empty() && self.cells() + w > self.config.columns {
            self.flush_line();
        }
        if self.line.is_empty() {
            self.line_align = self.s.align;
        }
        self.line.push((c, self.s.style));
    }

    fn flush_line(&mut self) {
        let mut runs: Vec<Run> = Vec::new();
        for (c, style) in self.line.drain(..) {
            match runs.last_mut() {
                Some(r) if r.style == style => r.text.push(c),
                _ => runs.push(Run {
                    text: c.to_string(),
                    style,
                }),
            }
        }
        let align = if runs.is_empty() {
            self.s.align
        } else {
            self.line_align
        };
        self.receipt
            .elements
            .push(Element::Line(TextLine { align, runs }));
    }

    /// Prints a pending partial line before a graphic element, as printers do.
    fn flush_if_pending(&mut self) {
        if !self.line.is_empty() {
            self.flush_line();
        }
    }

    /// Applies one command, appending what it produces to `out`.
    pub fn apply(&mut self, cmd: Command, out: &mut Vec<Output>) {
        // Column bit images are printed band by band, each band followed by the LF that
        // prints it; with the line spacing software sets for them the bands touch.
        let band = std::mem::take(&mut self.band_pending);
        if band && matches!(cmd, Command::LineFeed) && self.line.is_empty() {
            return;
        }
        match cmd {
            Command::Text(bytes) => {
                for b in bytes {
                    let c = match self.s.table {
                        Some(t) => t.decode_byte(b),
                        None if b < 0x80 => char::from(b),
                        None => '\u{FFFD}',
                    };
                    self.put_char(c);
                }
            }
            Command::LineFeed => self.flush_line(),
            Command::CarriageReturn => {}
            Command::Tab => {
                // Default tab stops every 8 columns; count the spaces once (a wrap inside the
                // padding must not restart it).
                let cells = self.cells();
                let target = ((cells / 8 + 1) * 8).min(self.config.columns);
                let w = usize::from(self.s.style.width.max(1));
                for _ in 0..target.saturating_sub(cells) / w {
                    self.put_char(' ');
                }
            }
            Command::Init => {
                self.line.clear();
                self.s = Settings::default();
            }
            Command::CodeTable(n) => self.s.table = self.config.numbers.table(n),
            Command::Bold(on) => self.s.style.bold = on,
            Command::Underline(n) => self.s.style.underline = underline(n),
            Command::PrintMode(n) => {
                self.s.style.bold = n & 0x08 != 0;
                self.s.style.height = if n & 0x10 != 0 { 2 } else { 1 };
                self.s.style.width = if n & 0x20 != 0 { 2 } else { 1 };
                self.s.style.underline = if n & 0x80 != 0 { 1 } else { 0 };
            }
            Command::CharSize(n) => {
                self.s.style.width = ((n >> 4) & 7) + 1;
                self.s.style.height = (n & 7) + 1;
            }
            Command::Align(n) => {
                self.s.align = match n {
                    1 | 49 => Align::Center,
                    2 | 50 => Align::Right,
                    _ => Align::Left,
                };
            }
            Command::FeedLines(n) => {
                self.flush_if_pending();
                for _ in 0..n {
                    self.flush_line();
                }
            }
            Command::FeedDots(n) => {
                self.flush_if_pending();
                self.receipt.elements.push(Element::Feed(u32::from(n)));
            }
            Command::Kick { pin, on, off } => {
                let pin = if pin & 1 == 1 { 5 } else { 2 };
                let on_ms = u32::from(on) * 2;
                self.receipt.elements.push(Element::DrawerKick {
                    pin,
                    on_ms,
                    off_ms: u32::from(off) * 2,
                });
                out.push(Output::DrawerKick { pin, on_ms });
            }
            Command::RealtimeKick { pin, time } => {
                let pin = if pin & 1 == 1 { 5 } else { 2 };
                let on_ms = u32::from(time.clamp(1, 8)) * 100;
                out.push(Output::DrawerKick { pin, on_ms });
            }
            Command::Cut { partial, .. } => {
                self.flush_if_pending();
                let mut receipt = std::mem::take(&mut self.receipt);
                receipt.cut = Some(if partial {
                    CutKind::Partial
                } else {
                    CutKind::Full
                });
                out.push(Output::Receipt(receipt));
            }
            Command::BarcodeHeight(n) => self.s.barcode_height = n.max(1),
            Command::BarcodeWidth(n) => self.s.barcode_module = n.clamp(1, 6),
            Command::HriPosition(n) => {
                self.s.hri = match n {
                    1 | 49 => HriPosition::Above,
                    2 | 50 => HriPosition::Below,
                    3 | 51 => HriPosition::Both,
                    _ => HriPosition::None,
                };
            }
            Command::Barcode { kind, data } => {
                self.flush_if_pending();
                let (symbology, data) = match kind {
                    2 | 67 => (
                        Symbology::Ean13,
                        String::from_utf8_lossy(&data).into_owned(),
                    ),
                    73 => (Symbology::Code128, code128_text(&data)),
                    k => (
                        Symbology::Other(k),
                        String::from_utf8_lossy(&data).into_owned(),
                    ),
                };
                self.receipt.elements.push(Element::Barcode {
                    symbology,
                    data,
                    height: self.s.barcode_height,
                    module: self.s.barcode_module,
                    hri: self.s.hri,
                    align: self.s.align,
                });
            }
            Command::Qr(f) => self.qr(f),
            Command::Raster {
                mode,
                width_bytes,
                height,
                data,
            } => {
                self.flush_if_pending();
                if width_bytes > 0 && height > 0 {
                    self.receipt.elements.push(Element::Image {
                        bitmap: Bitmap::from_raster(width_bytes, height, &data),
                        scale_x: if mode & 1 == 1 { 2 } else { 1 },
                        scale_y: if mode & 2 == 2 { 2 } else { 1 },
                        align: self.s.align,
                    });
                }
            }
            Command::BitImage {
                mode,
                columns,
                data,
            } => {
                self.flush_if_pending();
                let tall = mode & 0x20 != 0;
                let (rows, per_column) = if tall { (24, 3) } else { (8, 1) };
                let bitmap = Bitmap::from_fn(columns, rows, |x, y| {
                    data.get(x * per_column + y / 8)
                        .is_some_and(|b| b & (0x80 >> (y % 8)) != 0)
                });
                if columns > 0 {
                    self.receipt.elements.push(Element::Image {
                        bitmap,
                        // Single density doubles each dot horizontally; 8-dot modes are
                        // printed at a third of the vertical density.
                        scale_x: if mode & 1 == 0 { 2 } else { 1 },
                        scale_y: if tall { 1 } else { 3 },
                        align: self.s.align,
                    });
                    self.band_pending = true;
                }
            }
            Command::GraphicsStore {
                width,
                height,
                scale_x,
                scale_y,
                data,
            } => {
                let bitmap = Bitmap::from_raster(width.div_ceil(8), height, &data);
                self.s.graphic = Some((bitmap, scale_x, scale_y));
            }
            Command::GraphicsPrint => {
                if let Some((bitmap, scale_x, scale_y)) = self.s.graphic.take()
                    && bitmap.width() > 0
                    && bitmap.height() > 0
                {
                    self.flush_if_pending();
                    self.receipt.elements.push(Element::Image {
                        bitmap,
                        scale_x,
                        scale_y,
                        align: self.s.align,
                    });
                }
            }
            Command::StatusQuery(n) => out.push(Output::StatusQuery(n)),
            Command::TransmitStatus(n) => out.push(Output::TransmitStatus(n)),
            Command::AutoStatus(n) => out.push(Output::AutoStatus(n)),
            Command::Other(_) | Command::Oversized { .. } => {}
            Command::Unknown(b) | Command::Incomplete(b) => out.push(Output::Unknown(b)),
        }
    }

    fn qr(&mut self, f: QrFunction) {
        match f {
            QrFunction::ModuleSize(n) => self.s.qr_module = n.clamp(1, 16),
            QrFunction::EcLevel(n) => self.s.qr_level = QrEcLevel::from_code(n),
            QrFunction::Store(data) => self.s.qr_data = Some(data),
            QrFunction::Print => {
                if let Some(data) = self.s.qr_data.clone() {
                    self.flush_if_pending();
                    self.receipt.elements.push(Element::QrCode {
                        data,
                        module: self.s.qr_module,
                        level: self.s.qr_level,
                        align: self.s.align,
                    });
                }
            }
            QrFunction::Model(_) | QrFunction::Other(_) => {}
        }
    }

    /// Ends the stream: the receipt printed since the last cut, if anything was printed
    /// (a partial line counts, as the printer would print it on the next feed).
    pub fn take_pending(&mut self) -> Option<PrintedReceipt> {
        self.flush_if_pending();
        let r = std::mem::take(&mut self.receipt);
        (!r.is_empty()).then_some(r)
    }
}

fn underline(n: u8) -> u8 {
    match n {
        1 | 49 => 1,
        2 | 50 => 2,
        _ => 0,
    }
}

/// The text a Code 128 (`GS k 73`) carries: `{A`, `{B`, `{C` switch code sets (`{{` is a `{`),
/// and in code set C each byte is two digits.
fn code128_text(data: &[u8]) -> String {
    let mut out = String::new();
    let mut set_c = false;
    let mut bytes = data.iter().copied();
    while let Some(b) = bytes.next() {
        if b == b'{' {
            match bytes.next() {
                Some(b'C') => set_c = true,
                Some(b'A' | b'B') => set_c = false,
                Some(b'{') => out.push('{'),
                // Function codes (FNC1..4, shift) carry no text.
                _ => {}
            }
        } else if set_c {
            out.push_str(&format!("{b:02}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}
