//! DM-D command encoder.
//!
//! Displays ship with various character sets and many clones print garbage for accents, so the
//! default [`Charset::Ascii`] folds text to ASCII (`é` -> `e`, `€` -> `EUR`, `œ` -> `oe`). Once
//! an installer has checked that a display shows € with a code table, [`Charset::Table`] selects
//! that table (`ESC t n`) and sends accents as they are.

use pos_escpos::CodeTable;
use pos_escpos::codepage::transliteration;
use unicode_normalization::UnicodeNormalization;

/// Characters per line.
pub const COLUMNS: usize = 20;
/// Lines.
pub const ROWS: usize = 2;

/// How text is turned into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// Plain ASCII, everything else transliterated (safe on every display).
    #[default]
    Ascii,
    /// A code table verified on this display, selected with `ESC t number`.
    Table {
        /// The table.
        table: CodeTable,
        /// Its `ESC t` number on this display.
        number: u8,
    },
}

/// Folds one character to ASCII: known typography, then accents dropped, then `?`.
fn fold_ascii(c: char, out: &mut Vec<u8>) {
    if (' '..='~').contains(&c) {
        out.push(c as u8);
        return;
    }
    if let Some(s) = transliteration(c) {
        out.extend(s.bytes().filter(|b| (0x20..0x7F).contains(b)));
        return;
    }
    let base: Vec<u8> = c
        .nfd()
        .filter(|d| (' '..='~').contains(d))
        .map(|d| d as u8)
        .collect();
    if base.is_empty() {
        out.push(b'?');
    } else {
        out.extend(base);
    }
}

impl Charset {
    /// Encodes `text` for the display; control characters become spaces.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Ascii => {
                let mut out = Vec::with_capacity(text.len());
                for c in text.chars() {
                    if c.is_control() {
                        out.push(b' ');
                    } else {
                        fold_ascii(c, &mut out);
                    }
                }
                out
            }
            Charset::Table { table, .. } => table
                .encode(text)
                .into_iter()
                .map(|b| if b == b'\n' { b' ' } else { b })
                .collect(),
        }
    }
}

/// Appends DM-D commands to a buffer.
#[derive(Debug, Clone, Default)]
pub struct DisplayEncoder {
    charset: Charset,
    buf: Vec<u8>,
}

impl DisplayEncoder {
    /// An empty buffer for a display using `charset`.
    pub fn new(charset: Charset) -> DisplayEncoder {
        DisplayEncoder {
            charset,
            buf: Vec::new(),
        }
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// `ESC @` (and `ESC t n` for a verified table, since init resets it), overwrite mode.
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[0x1B, 0x40]);
        if let Charset::Table { number, .. } = self.charset {
            self.buf.extend_from_slice(&[0x1B, 0x74, number]);
        }
        self.buf.extend_from_slice(&[0x1F, 0x01]);
        self
    }

    /// Clears the screen and homes the cursor (`0C`).
    pub fn clear(&mut self) -> &mut Self {
        self.buf.push(0x0C);
        self
    }

    /// Moves the cursor to column `x`, row `y` (both 1-based, clamped to 20 x 2): `1F 24 x y`.
    pub fn cursor(&mut self, x: u8, y: u8) -> &mut Self {
        let x = x.clamp(1, COLUMNS as u8);
        let y = y.clamp(1, ROWS as u8);
        self.buf.extend_from_slice(&[0x1F, 0x24, x, y]);
        self
    }

    /// Shows or hides the cursor (`1F 43 n`).
    pub fn cursor_visible(&mut self, on: bool) -> &mut Self {
        self.buf.extend_from_slice(&[0x1F, 0x43, u8::from(on)]);
        self
    }

    /// Text at the cursor, cut to what fits before the end of the line is the caller's job.
    pub fn text(&mut self, text: &str) -> &mut Self {
        let bytes = self.charset.encode(text);
        self.buf.extend_from_slice(&bytes);
        self
    }

    /// Writes `text` over a whole row, padded or truncated to 20 columns.
    pub fn row(&mut self, y: u8, text: &str) -> &mut Self {
        let mut bytes = self.charset.encode(text);
        bytes.resize(COLUMNS, b' ');
        self.cursor(1, y);
        self.buf.extend_from_slice(&bytes);
        self
    }

    /// Both rows, cursor hidden.
    pub fn lines(&mut self, top: &str, bottom: &str) -> &mut Self {
        self.cursor_visible(false).row(1, top).row(2, bottom)
    }
}

/// `left` and `right` on one 20-column row (e.g. "TOTAL" and "12,50 EUR"), measured after
/// encoding; `left` is truncated if both do not fit.
pub fn two_columns(charset: Charset, left: &str, right: &str) -> String {
    let l = charset.encode(left);
    let r = charset.encode(right);
    let r = &r[..r.len().min(COLUMNS)];
    let room = COLUMNS.saturating_sub(r.len() + usize::from(!r.is_empty()));
    let l = &l[..l.len().min(room)];
    // Decode back for the caller so the result can be passed to `row` again.
    let decode = |b: &[u8]| -> String {
        match charset {
            Charset::Ascii => b.iter().map(|&c| char::from(c)).collect(),
            Charset::Table { table, .. } => table.decode(b),
        }
    };
    format!(
        "{}{}{}",
        decode(l),
        " ".repeat(COLUMNS - l.len() - r.len()),
        decode(r)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_folding_table() {
        let cases = [
            ("Café crème", "Cafe creme"),
            ("12,50 €", "12,50 EUR"),
            ("Bœuf", "Boeuf"),
            ("Ça coûte", "Ca coute"),
            ("l’été", "l'ete"),
            ("a\u{1b}b", "a b"),
            ("漢", "?"),
        ];
        for (input, want) in cases {
            assert_eq!(
                Charset::Ascii.encode(input),
                want.as_bytes(),
                "{input:?} folds to {want:?}"
            );
        }
    }

    #[test]
    fn verified_table_keeps_euro() {
        let cs = Charset::Table {
            table: CodeTable::Pc858,
            number: 19,
        };
        assert_eq!(cs.encode("€é"), vec![0xD5, 0x82]);
        let mut e = DisplayEncoder::new(cs);
        e.init();
        assert_eq!(e.bytes(), &[0x1B, 0x40, 0x1B, 0x74, 19, 0x1F, 0x01]);
    }

    #[test]
    fn rows_are_padded_and_placed() {
        let mut e = DisplayEncoder::new(Charset::Ascii);
        e.lines("Bonjour", "TOTAL 12,50 EUR et plus encore");
        let b = e.bytes();
        assert_eq!(&b[..3], &[0x1F, 0x43, 0x00], "cursor off first");
        assert_eq!(&b[3..7], &[0x1F, 0x24, 1, 1]);
        assert_eq!(&b[7..27], b"Bonjour             ");
        assert_eq!(&b[27..31], &[0x1F, 0x24, 1, 2]);
        assert_eq!(&b[31..51], b"TOTAL 12,50 EUR et p", "truncated to 20");
    }

    #[test]
    fn two_columns_fill_a_row() {
        assert_eq!(
            two_columns(Charset::Ascii, "TOTAL", "12,50 €"),
            "TOTAL      12,50 EUR"
        );
        assert_eq!(
            two_columns(Charset::Ascii, "Chargeur sans fil rapide", "29,99 €"),
            "Chargeur s 29,99 EUR"
        );
    }
}
