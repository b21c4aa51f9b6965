//! Character code tables: Unicode text to printer bytes and back, with transliteration.
//!
//! A printer prints bytes 0x20..=0x7F as ASCII and 0x80..=0xFF through the selected code table
//! (`ESC t n`). The table numbers differ between genuine Epson printers and clones, so the number
//! sent for a table is configuration ([`TableNumbers`]), not a property of the table.
//!
//! What the table lacks is transliterated: first a fixed list of typographic characters used in
//! French text (`œ` -> `oe`, `’` -> `'`, `–` -> `-`, `…` -> `...`), then Unicode decomposition
//! with the accents dropped (`ā` -> `a`), and finally the fallback [`FALLBACK`] (`?`). Control
//! characters other than line feed are never sent: they would be read as commands.

use unicode_normalization::UnicodeNormalization;

use crate::tables;

/// What is printed for a character that no table entry nor transliteration covers.
pub const FALLBACK: char = '?';

/// A character code table the encoder can write and the decoder can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeTable {
    /// PC437, the power-on default of most printers.
    Pc437,
    /// PC850, Multilingual Latin 1 (no euro sign).
    Pc850,
    /// PC858, PC850 with the euro sign at 0xD5.
    Pc858,
    /// Windows-1252: has €, œ, ’, – and …; preferred when the printer offers it.
    Wpc1252,
    /// ISO-8859-15 (Latin-9): €, œ, Œ, but no typographic quotes or dashes.
    Iso8859_15,
    /// ISO-8859-7 (Greek): read by the decoder because some encoders select it to print €.
    Iso8859_7,
}

impl CodeTable {
    fn upper(self) -> &'static [char; 128] {
        match self {
            CodeTable::Pc437 => &tables::PC437,
            CodeTable::Pc850 => &tables::PC850,
            CodeTable::Pc858 => &tables::PC858,
            CodeTable::Wpc1252 => &tables::WPC1252,
            CodeTable::Iso8859_15 => &tables::ISO8859_15,
            CodeTable::Iso8859_7 => &tables::ISO8859_7,
        }
    }

    /// The character a printer prints for `byte` in this table (U+FFFD where undefined,
    /// a space for control bytes which the printer does not print).
    pub fn decode_byte(self, byte: u8) -> char {
        match byte {
            0x20..=0x7E => char::from(byte),
            0x7F => '\u{FFFD}',
            0x80..=0xFF => self.upper()[usize::from(byte - 0x80)],
            _ => '\u{FFFD}',
        }
    }

    /// The byte for `c` in this table, if the table has it (no transliteration).
    pub fn byte_for(self, c: char) -> Option<u8> {
        if (' '..='~').contains(&c) {
            return u8::try_from(u32::from(c)).ok();
        }
        if c == '\u{FFFD}' {
            return None;
        }
        self.upper()
            .iter()
            .position(|&t| t == c)
            .and_then(|i| u8::try_from(i + 0x80).ok())
    }

    /// Encodes `text` for this table; `\n` stays a line feed, every other control character
    /// becomes a space, and what the table lacks is transliterated (see the module docs).
    pub fn encode(self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            self.encode_char(c, &mut out);
        }
        out
    }

    fn encode_char(self, c: char, out: &mut Vec<u8>) {
        if c == '\n' {
            out.push(b'\n');
            return;
        }
        if c.is_control() {
            out.push(b' ');
            return;
        }
        if let Some(b) = self.byte_for(c) {
            out.push(b);
            return;
        }
        if let Some(s) = transliteration(c) {
            // The replacements are chosen to exist in every table, but encode them through the
            // table anyway so a future entry can never smuggle an unencodable byte out.
            for r in s.chars() {
                out.push(self.byte_for(r).unwrap_or(b'?'));
            }
            return;
        }
        let stripped: Vec<u8> = c
            .nfd()
            .filter(|d| !is_combining(*d))
            .filter_map(|d| self.byte_for(d))
            .collect();
        if stripped.is_empty() {
            out.push(FALLBACK as u8);
        } else {
            out.extend(stripped);
        }
    }

    /// Decodes printer bytes with this table (the inverse of [`CodeTable::encode`] where the
    /// table has the character).
    pub fn decode(self, bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|&b| {
                if b == b'\n' {
                    '\n'
                } else {
                    self.decode_byte(b)
                }
            })
            .collect()
    }

    /// The Python codec name for this table (used by the conformance tests).
    pub fn python_codec(self) -> &'static str {
        match self {
            CodeTable::Pc437 => "cp437",
            CodeTable::Pc850 => "cp850",
            CodeTable::Pc858 => "cp858",
            CodeTable::Wpc1252 => "cp1252",
            CodeTable::Iso8859_15 => "iso8859_15",
            CodeTable::Iso8859_7 => "iso8859_7",
        }
    }
}

/// Combining marks left over by NFD decomposition (the accents we drop).
fn is_combining(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF)
}

/// Replacements for characters that French receipts use and some tables lack; every
/// replacement is plain ASCII.
pub fn transliteration(c: char) -> Option<&'static str> {
    Some(match c {
        'œ' => "oe",
        'Œ' => "OE",
        'æ' => "ae",
        'Æ' => "AE",
        '’' | '‘' | '‚' | '′' => "'",
        '“' | '”' | '„' | '″' | '«' | '»' => "\"",
        '–' | '—' | '‐' | '‑' | '−' => "-",
        '…' => "...",
        '•' | '·' => "*",
        '€' => "EUR",
        '™' => "TM",
        '©' => "(c)",
        '®' => "(R)",
        '‰' => "o/oo",
        '‹' => "<",
        '›' => ">",
        '†' | '‡' => "+",
        'ˆ' => "^",
        '˜' => "~",
        'ƒ' => "f",
        'ß' => "ss",
        '°' => "o",
        'ø' => "o",
        'Ø' => "O",
        '\u{00A0}' | '\u{202F}' | '\u{2009}' | '\u{2007}' => " ",
        _ => return None,
    })
}

/// Which `ESC t n` number selects each table on a given printer model.
///
/// Defaults are Epson's (PC437 = 0, PC850 = 2, ISO-8859-7 = 15, WPC1252 = 16, PC858 = 19,
/// ISO-8859-15 = 40); many clones use other numbers (for example WPC1252 = 45 or 47), hence the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNumbers {
    /// Number of PC437 (also the table selected by `ESC @`).
    pub pc437: u8,
    /// Number of PC850.
    pub pc850: u8,
    /// Number of PC858.
    pub pc858: u8,
    /// Number of WPC1252.
    pub wpc1252: u8,
    /// Number of ISO-8859-15.
    pub iso8859_15: u8,
    /// Number of ISO-8859-7.
    pub iso8859_7: u8,
}

impl Default for TableNumbers {
    fn default() -> Self {
        TableNumbers {
            pc437: 0,
            pc850: 2,
            pc858: 19,
            wpc1252: 16,
            iso8859_15: 40,
            iso8859_7: 15,
        }
    }
}

impl TableNumbers {
    /// The `ESC t` number for `table`.
    pub fn number(&self, table: CodeTable) -> u8 {
        match table {
            CodeTable::Pc437 => self.pc437,
            CodeTable::Pc850 => self.pc850,
            CodeTable::Pc858 => self.pc858,
            CodeTable::Wpc1252 => self.wpc1252,
            CodeTable::Iso8859_15 => self.iso8859_15,
            CodeTable::Iso8859_7 => self.iso8859_7,
        }
    }

    /// The table selected by `ESC t n`, if `n` is one we know.
    pub fn table(&self, n: u8) -> Option<CodeTable> {
        [
            CodeTable::Wpc1252,
            CodeTable::Pc858,
            CodeTable::Pc850,
            CodeTable::Pc437,
            CodeTable::Iso8859_15,
            CodeTable::Iso8859_7,
        ]
        .into_iter()
        .find(|&t| self.number(t) == n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euro_and_accents_have_their_bytes() {
        let cases: &[(CodeTable, char, u8)] = &[
            (CodeTable::Wpc1252, '€', 0x80),
            (CodeTable::Wpc1252, 'œ', 0x9C),
            (CodeTable::Wpc1252, '’', 0x92),
            (CodeTable::Wpc1252, 'é', 0xE9),
            (CodeTable::Pc858, '€', 0xD5),
            (CodeTable::Pc858, 'é', 0x82),
            (CodeTable::Pc858, 'è', 0x8A),
            (CodeTable::Pc858, 'à', 0x85),
            (CodeTable::Pc858, 'ç', 0x87),
            (CodeTable::Pc437, 'é', 0x82),
            (CodeTable::Iso8859_15, '€', 0xA4),
            (CodeTable::Iso8859_15, 'œ', 0xBD),
            (CodeTable::Iso8859_7, '€', 0xA4),
        ];
        for &(t, c, b) in cases {
            assert_eq!(t.byte_for(c), Some(b), "{t:?} must map {c} to {b:#04x}");
            assert_eq!(
                t.decode_byte(b),
                c,
                "{t:?} must decode {b:#04x} back to {c}"
            );
        }
    }

    #[test]
    fn pc858_transliterates_what_it_lacks() {
        let cases = [
            ("œuf", "oeuf"),
            ("l’été", "l'été"),
            ("10–12", "10-12"),
            ("etc…", "etc..."),
            ("Ā", "A"),
            ("漢", "?"),
            ("a\tb\u{1b}c", "a b c"),
            ("12\u{202F}345", "12 345"),
        ];
        for (input, want) in cases {
            let bytes = CodeTable::Pc858.encode(input);
            assert_eq!(
                CodeTable::Pc858.decode(&bytes),
                want,
                "PC858 encoding of {input:?} must print as {want:?}"
            );
            assert!(
                bytes.iter().all(|&b| b >= 0x20 || b == b'\n'),
                "no control byte may leak from text {input:?}: {bytes:02x?}"
            );
        }
    }

    #[test]
    fn wpc1252_keeps_typography() {
        let s = "Œuvre l’été – 3,50 € …";
        assert_eq!(CodeTable::Wpc1252.decode(&CodeTable::Wpc1252.encode(s)), s);
    }

    #[test]
    fn table_numbers_round_trip() {
        let n = TableNumbers {
            wpc1252: 47,
            ..TableNumbers::default()
        };
        assert_eq!(n.table(47), Some(CodeTable::Wpc1252));
        assert_eq!(n.table(16), None, "16 is not WPC1252 on this clone");
        assert_eq!(n.table(19), Some(CodeTable::Pc858));
    }
}
