//! Renders a decoded receipt to an image, as a thermal printer would lay it out.
//!
//! Geometry follows an 80 mm printer's font A: each column is a 12 x 24 dot cell, so 48 columns
//! make 576 dots. Glyphs come from embedded-graphics' ISO-8859-15 10x20 font (it has € and œ);
//! bold is drawn by doubling each glyph one dot to the right, sizes by scaling. EAN-13 bars are
//! drawn from their module patterns and QR codes with the `qrcode` crate, with a quiet zone so
//! a reader finds them.

use std::collections::HashMap;

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::iso_8859_15::FONT_10X20;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};

use crate::decode::document::{Element, PrintedReceipt, Symbology, TextLine};
use crate::encoder::{Align, HriPosition, QrEcLevel, ean13_digits};

/// Cell width of one column in dots.
pub const CELL_W: usize = 12;
/// Cell height of one line in dots.
pub const CELL_H: usize = 24;
const GLYPH_W: usize = 10;
const GLYPH_H: usize = 20;
/// Extra dots between lines (the default line spacing is 30 dots for a 24-dot font).
const LINE_GAP: usize = 6;
/// Blank margin above and below the receipt.
const MARGIN: usize = 16;
/// Tallest image rendered (about 12 m of paper); anything below is cut off, so hostile input
/// cannot make the renderer allocate without bound.
pub const MAX_HEIGHT: usize = 100_000;

/// A white canvas that grows downwards; one byte per dot, 1 = black.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: usize,
    dots: Vec<u8>,
}

impl Canvas {
    fn new(width: usize) -> Canvas {
        Canvas {
            width,
            dots: Vec::new(),
        }
    }

    /// Width in dots.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in dots.
    pub fn height(&self) -> usize {
        self.dots.len() / self.width.max(1)
    }

    /// Whether dot (x, y) is black.
    pub fn black(&self, x: usize, y: usize) -> bool {
        x < self.width && self.dots.get(y * self.width + x) == Some(&1)
    }

    fn grow(&mut self, height: usize) {
        let height = height.min(MAX_HEIGHT);
        if self.height() < height {
            self.dots.resize(height * self.width, 0);
        }
    }

    fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < MAX_HEIGHT {
            self.grow(y + 1);
            self.dots[y * self.width + x] = 1;
        }
    }

    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for yy in y..(y + h).min(MAX_HEIGHT) {
            for xx in x..(x + w).min(self.width) {
                self.set(xx, yy);
            }
        }
    }

    /// Encodes the canvas as an 8-bit greyscale PNG.
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let (w, h) = (self.width.max(1), self.height().max(1));
        let mut pixels: Vec<u8> = self
            .dots
            .iter()
            .map(|&d| if d == 1 { 0 } else { 255 })
            .collect();
        pixels.resize(w * h, 255);
        let mut enc = png::Encoder::new(
            &mut out,
            u32::try_from(w).unwrap_or(u32::MAX),
            u32::try_from(h).unwrap_or(u32::MAX),
        );
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        // Writing to a Vec cannot fail for a consistent size, which we guarantee above.
        if let Ok(mut writer) = enc.write_header() {
            let _ = writer.write_image_data(&pixels);
        }
        out
    }
}

/// A 10x20 glyph buffer that embedded-graphics draws into.
struct Glyph([bool; GLYPH_W * GLYPH_H]);

impl OriginDimensions for Glyph {
    fn size(&self) -> Size {
        Size::new(GLYPH_W as u32, GLYPH_H as u32)
    }
}

impl DrawTarget for Glyph {
    type Color = BinaryColor;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            if let (Ok(x), Ok(y)) = (usize::try_from(p.x), usize::try_from(p.y))
                && x < GLYPH_W
                && y < GLYPH_H
                && c == BinaryColor::On
            {
                self.0[y * GLYPH_W + x] = true;
            }
        }
        Ok(())
    }
}

/// Rasterises glyphs once per character.
#[derive(Default)]
struct Font {
    cache: HashMap<char, [bool; GLYPH_W * GLYPH_H]>,
}

impl Font {
    fn glyph(&mut self, c: char) -> &[bool; GLYPH_W * GLYPH_H] {
        self.cache.entry(c).or_insert_with(|| {
            let mut g = Glyph([false; GLYPH_W * GLYPH_H]);
            let mut buf = [0u8; 4];
            let style = MonoTextStyle::new(&FONT_10X20, BinaryColor::On);
            let _ =
                Text::with_baseline(c.encode_utf8(&mut buf), Point::zero(), style, Baseline::Top)
                    .draw(&mut g);
            g.0
        })
    }
}

/// How to lay the receipt out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Columns across the paper (paper width = columns x 12 dots).
    pub columns: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { columns: 48 }
    }
}

struct Renderer {
    canvas: Canvas,
    font: Font,
    y: usize,
}

fn x_for(align: Align, paper: usize, w: usize) -> usize {
    match align {
        Align::Left => 0,
        Align::Center => paper.saturating_sub(w) / 2,
        Align::Right => paper.saturating_sub(w),
    }
}

impl Renderer {
    fn char_at(&mut self, c: char, x: usize, y: usize, sw: usize, sh: usize, bold: bool) {
        if c == '…' {
            // Three dots on the baseline: the font has no ellipsis glyph.
            for i in 0..3 {
                self.canvas.fill(
                    x + (1 + i * 4) * sw,
                    y + 18 * sh,
                    2 * sw + usize::from(bold),
                    2 * sh,
                );
            }
            return;
        }
        let g = *self.font.glyph(font_char(c));
        for gy in 0..GLYPH_H {
            for gx in 0..GLYPH_W {
                if g[gy * GLYPH_W + gx] {
                    let px = x + (gx + 1) * sw;
                    let py = y + (gy + 2) * sh;
                    self.canvas.fill(px, py, sw + usize::from(bold), sh);
                }
            }
        }
    }

    fn line(&mut self, line: &TextLine) {
        let paper = self.canvas.width();
        let width: usize = line
            .runs
            .iter()
            .map(|r| r.text.chars().count() * CELL_W * usize::from(r.style.width))
            .sum();
        let height = line
            .runs
            .iter()
            .map(|r| usize::from(r.style.height))
            .max()
            .unwrap_or(1)
            * CELL_H;
        let mut x = x_for(line.align, paper, width);
        for run in &line.runs {
            let (sw, sh) = (usize::from(run.style.width), usize::from(run.style.height));
            // Characters of different heights share a baseline at the bottom of the line.
            let top = self.y + height - CELL_H * sh;
            for c in run.text.chars() {
                self.char_at(c, x, top, sw, sh, run.style.bold);
                if run.style.underline > 0 {
                    let u = usize::from(run.style.underline);
                    self.canvas.fill(x, self.y + height - u, CELL_W * sw, u);
                }
                x += CELL_W * sw;
            }
        }
        self.y += height + LINE_GAP;
        self.canvas.grow(self.y);
    }

    fn text_centered(&mut self, text: &str, align: Align, center_of: (usize, usize)) {
        let w = text.chars().count() * CELL_W;
        let x = match align {
            Align::Left => center_of.0 + center_of.1.saturating_sub(w) / 2,
            _ => x_for(align, self.canvas.width(), w),
        };
        let mut cx = x;
        for c in text.chars() {
            self.char_at(c, cx, self.y, 1, 1, false);
            cx += CELL_W;
        }
        self.y += CELL_H;
    }

    fn ean13(&mut self, data: &str, height: u8, module: u8, hri: HriPosition, align: Align) {
        let Ok(digits) = ean13_digits(data) else {
            // A printer prints nothing for invalid data; show why in the image.
            self.line(&plain(&format!("[invalid EAN-13 {data}]"), align));
            return;
        };
        let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let modules = ean13_modules(&digits);
        let m = usize::from(module.max(1));
        let w = modules.len() * m;
        let x0 = x_for(align, self.canvas.width(), w);
        if matches!(hri, HriPosition::Above | HriPosition::Both) {
            self.text_centered(&text, align, (x0, w));
        }
        let h = usize::from(height.max(1));
        for (i, &bar) in modules.iter().enumerate() {
            if bar {
                self.canvas.fill(x0 + i * m, self.y, m, h);
            }
        }
        self.y += h;
        self.canvas.grow(self.y);
        if matches!(hri, HriPosition::Below | HriPosition::Both) {
            self.text_centered(&text, align, (x0, w));
        }
        self.y += LINE_GAP;
    }

    fn qr(&mut self, data: &[u8], module: u8, level: QrEcLevel, align: Align) {
        let ec = match level {
            QrEcLevel::L => qrcode::EcLevel::L,
            QrEcLevel::M => qrcode::EcLevel::M,
            QrEcLevel::Q => qrcode::EcLevel::Q,
            QrEcLevel::H => qrcode::EcLevel::H,
        };
        let Ok(code) = qrcode::QrCode::with_error_correction_level(data, ec) else {
            self.line(&plain("[QR data too long]", align));
            return;
        };
        let n = code.width();
        let m = usize::from(module.max(1));
        let quiet = 4 * m;
        let w = n * m;
        let x0 = x_for(align, self.canvas.width(), w + 2 * quiet) + quiet;
        let y0 = self.y + quiet;
        let colors = code.to_colors();
        for (i, c) in colors.iter().enumerate() {
            if *c == qrcode::Color::Dark {
                self.canvas.fill(x0 + (i % n) * m, y0 + (i / n) * m, m, m);
            }
        }
        self.y = y0 + w + quiet;
        self.canvas.grow(self.y);
    }

    fn image(&mut self, bitmap: &crate::bitmap::Bitmap, sx: u8, sy: u8, align: Align) {
        let (sx, sy) = (usize::from(sx.max(1)), usize::from(sy.max(1)));
        let x0 = x_for(align, self.canvas.width(), bitmap.width() * sx);
        for y in 0..bitmap.height() {
            for x in 0..bitmap.width() {
                if bitmap.get(x, y) {
                    self.canvas.fill(x0 + x * sx, self.y + y * sy, sx, sy);
                }
            }
        }
        self.y += bitmap.height() * sy;
        self.canvas.grow(self.y);
    }
}

/// A look-alike for characters WPC1252 has and the ISO-8859-15 font lacks.
fn font_char(c: char) -> char {
    match c {
        '’' | '‘' | '‚' | '‹' | '›' => '\'',
        '“' | '”' | '„' => '"',
        '–' | '—' => '-',
        '•' => '·',
        '‰' => '%',
        '†' | '‡' => '+',
        'ˆ' => '^',
        '˜' => '~',
        'ƒ' => 'f',
        '™' => 'T',
        _ => c,
    }
}

fn plain(text: &str, align: Align) -> TextLine {
    TextLine {
        align,
        runs: vec![crate::decode::document::Run {
            text: text.to_string(),
            style: Default::default(),
        }],
    }
}

/// The 95 modules (true = bar) of an EAN-13 symbol.
pub fn ean13_modules(d: &[u8; 13]) -> Vec<bool> {
    const L: [u8; 10] = [
        0b0001101, 0b0011001, 0b0010011, 0b0111101, 0b0100011, 0b0110001, 0b0101111, 0b0111011,
        0b0110111, 0b0001011,
    ];
    // Parity of the left half per first digit: bit set = G code.
    const PARITY: [u8; 10] = [
        0b000000, 0b001011, 0b001101, 0b001110, 0b010011, 0b011001, 0b011100, 0b010101, 0b010110,
        0b011010,
    ];
    let mut out = Vec::with_capacity(95);
    let push = |out: &mut Vec<bool>, code: u8| {
        for i in (0..7).rev() {
            out.push(code & (1 << i) != 0);
        }
    };
    out.extend([true, false, true]);
    let parity = PARITY[usize::from(d[0] % 10)];
    for (i, &digit) in d[1..7].iter().enumerate() {
        let l = L[usize::from(digit % 10)];
        let code = if parity & (1 << (5 - i)) != 0 {
            // G code: the R code (complement of L) read backwards.
            (!l & 0x7F).reverse_bits() >> 1
        } else {
            l
        };
        push(&mut out, code);
    }
    out.extend([false, true, false, true, false]);
    for &digit in &d[7..13] {
        push(&mut out, !L[usize::from(digit % 10)] & 0x7F);
    }
    out.extend([true, false, true]);
    out
}

/// Renders `receipt` onto a canvas.
pub fn render(receipt: &PrintedReceipt, options: RenderOptions) -> Canvas {
    let mut r = Renderer {
        canvas: Canvas::new(options.columns.max(1) * CELL_W),
        font: Font::default(),
        y: MARGIN,
    };
    for e in &receipt.elements {
        match e {
            Element::Line(l) => r.line(l),
            Element::Feed(dots) => r.y += usize::try_from(*dots).unwrap_or(0),
            Element::Barcode {
                symbology: Symbology::Ean13,
                data,
                height,
                module,
                hri,
                align,
            } => r.ean13(data, *height, *module, *hri, *align),
            Element::Barcode {
                symbology: Symbology::Code128,
                data,
                align,
                ..
            } => r.line(&plain(&format!("[CODE128 {data}]"), *align)),
            Element::Barcode {
                symbology: Symbology::Other(k),
                data,
                align,
                ..
            } => r.line(&plain(&format!("[barcode {k} {data}]"), *align)),
            Element::QrCode {
                data,
                module,
                level,
                align,
            } => r.qr(data, *module, *level, *align),
            Element::Image {
                bitmap,
                scale_x,
                scale_y,
                align,
            } => r.image(bitmap, *scale_x, *scale_y, *align),
            Element::DrawerKick { .. } => {}
        }
    }
    r.canvas.grow(r.y + MARGIN);
    r.canvas
}

/// Renders `receipt` to PNG bytes.
pub fn render_png(receipt: &PrintedReceipt, options: RenderOptions) -> Vec<u8> {
    render(receipt, options).to_png()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_modules_match_the_standard() {
        // 4006381333931: first digit 4 -> parity LGLLGG.
        let d = ean13_digits("4006381333931").unwrap();
        let m = ean13_modules(&d);
        assert_eq!(m.len(), 95, "an EAN-13 has 95 modules");
        let s: String = m.iter().map(|&b| if b { '1' } else { '0' }).collect();
        // Start guard, then digit 0 in L (0001101) and digit 0 in G (0100111).
        assert!(s.starts_with("101"), "start guard");
        assert_eq!(&s[3..10], "0001101", "second digit 0, L code");
        assert_eq!(&s[10..17], "0100111", "third digit 0, G code");
        assert_eq!(&s[45..50], "01010", "centre guard");
        assert_eq!(&s[50..57], "1000010", "digit 3, R code");
        assert!(s.ends_with("101"), "end guard");
    }

    #[test]
    fn bold_and_double_size_take_more_ink() {
        use crate::decode::document::{Run, Style};
        let ink = |style: Style| {
            let receipt = PrintedReceipt {
                elements: vec![Element::Line(TextLine {
                    align: Align::Left,
                    runs: vec![Run {
                        text: "Total".into(),
                        style,
                    }],
                })],
                cut: None,
            };
            let c = render(&receipt, RenderOptions::default());
            (0..c.height())
                .flat_map(|y| (0..c.width()).map(move |x| (x, y)))
                .filter(|&(x, y)| c.black(x, y))
                .count()
        };
        let normal = ink(Style::default());
        let bold = ink(Style {
            bold: true,
            ..Style::default()
        });
        let double = ink(Style {
            width: 2,
            height: 2,
            ..Style::default()
        });
        assert!(normal > 50, "text is drawn ({normal} dots)");
        assert!(bold > normal, "bold adds ink ({bold} vs {normal})");
        assert_eq!(double, normal * 4, "double size is four times the dots");
    }
}
