//! A model of a DM-D display: bytes in, the two lines shown out.
//!
//! Incremental (commands may be split across reads) and total: any input is accepted without
//! panic; unknown `ESC x` / `US x` pairs are skipped. Text is written at the cursor in
//! overwrite mode: past the end of the bottom line the cursor returns to the top-left, as
//! DM-D displays do.

use pos_escpos::{CodeTable, TableNumbers};

use crate::encoder::{COLUMNS, ROWS};

/// The display's state.
#[derive(Debug, Clone)]
pub struct DisplayModel {
    grid: [[char; COLUMNS]; ROWS],
    x: usize,
    y: usize,
    cursor_visible: bool,
    table: Option<CodeTable>,
    numbers: TableNumbers,
    pending: Vec<u8>,
}

impl Default for DisplayModel {
    fn default() -> Self {
        DisplayModel::new(TableNumbers::default())
    }
}

enum Step {
    Done(usize),
    More,
}

impl DisplayModel {
    /// A display just powered on, with `numbers` as its code table numbering.
    pub fn new(numbers: TableNumbers) -> DisplayModel {
        DisplayModel {
            grid: [[' '; COLUMNS]; ROWS],
            x: 0,
            y: 0,
            cursor_visible: true,
            table: Some(CodeTable::Pc437),
            numbers,
            pending: Vec::new(),
        }
    }

    /// The two lines shown.
    pub fn lines(&self) -> [String; ROWS] {
        [self.grid[0].iter().collect(), self.grid[1].iter().collect()]
    }

    /// Cursor column and row (0-based).
    pub fn cursor(&self) -> (usize, usize) {
        (self.x, self.y)
    }

    /// Whether the cursor is shown.
    pub fn cursor_visible(&self) -> bool {
        self.cursor_visible
    }

    /// Feeds bytes; returns whether the shown text changed.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let before = self.grid;
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while at < self.pending.len() {
            match self.step(at) {
                Step::Done(n) => at += n.max(1),
                Step::More => break,
            }
        }
        self.pending.drain(..at.min(self.pending.len()));
        // A command cannot be longer than a string line (ESC Q A + 20 chars + CR): anything
        // longer pending is garbage that would otherwise grow without bound.
        if self.pending.len() > 64 {
            self.pending.clear();
        }
        before != self.grid
    }

    fn clear(&mut self) {
        self.grid = [[' '; COLUMNS]; ROWS];
        self.x = 0;
        self.y = 0;
    }

    fn put(&mut self, c: char) {
        self.grid[self.y][self.x] = c;
        self.x += 1;
        if self.x == COLUMNS {
            self.x = 0;
            self.y = (self.y + 1) % ROWS;
        }
    }

    fn step(&mut self, at: usize) -> Step {
        let b = &self.pending[at..];
        let get = |i: usize| b.get(i).copied();
        match b[0] {
            0x0C => {
                self.clear();
                Step::Done(1)
            }
            0x0B => {
                self.x = 0;
                self.y = 0;
                Step::Done(1)
            }
            0x08 => {
                self.x = self.x.saturating_sub(1);
                Step::Done(1)
            }
            0x09 => {
                if self.x + 1 < COLUMNS {
                    self.x += 1;
                }
                Step::Done(1)
            }
            0x0A => {
                self.y = (self.y + 1).min(ROWS - 1);
                Step::Done(1)
            }
            0x0D => {
                self.x = 0;
                Step::Done(1)
            }
            0x1B => match get(1) {
                None => Step::More,
                Some(b'@') => {
                    self.clear();
                    self.cursor_visible = true;
                    self.table = Some(CodeTable::Pc437);
                    Step::Done(2)
                }
                Some(b't') => match get(2) {
                    None => Step::More,
                    Some(n) => {
                        self.table = self.numbers.table(n);
                        Step::Done(3)
                    }
                },
                Some(b'R' | b'=' | b'%' | b'?') => {
                    if b.len() < 3 {
                        Step::More
                    } else {
                        Step::Done(3)
                    }
                }
                Some(b'Q') => {
                    // ESC Q A|B text CR: set the upper or lower line.
                    let Some(which) = get(2) else {
                        return Step::More;
                    };
                    let Some(end) = b.iter().skip(3).take(COLUMNS + 1).position(|&c| c == 0x0D)
                    else {
                        return if b.len() < 3 + COLUMNS + 1 {
                            Step::More
                        } else {
                            Step::Done(3)
                        };
                    };
                    let row = if which == b'B' { 1 } else { 0 };
                    let text: Vec<char> = b[3..3 + end].iter().map(|&c| self.decode(c)).collect();
                    self.grid[row] = [' '; COLUMNS];
                    for (i, c) in text.into_iter().take(COLUMNS).enumerate() {
                        self.grid[row][i] = c;
                    }
                    Step::Done(3 + end + 1)
                }
                Some(_) => Step::Done(2),
            },
            0x1F => match get(1) {
                None => Step::More,
                Some(0x24) => {
                    if b.len() < 4 {
                        return Step::More;
                    }
                    self.x = usize::from(b[2].clamp(1, COLUMNS as u8)) - 1;
                    self.y = usize::from(b[3].clamp(1, ROWS as u8)) - 1;
                    Step::Done(4)
                }
                Some(0x43) => match get(2) {
                    None => Step::More,
                    Some(n) => {
                        self.cursor_visible = n & 1 == 1;
                        Step::Done(3)
                    }
                },
                Some(0x58 | 0x45 | 0x2A | 0x73 | 0x72 | 0x23) => {
                    if b.len() < 3 {
                        Step::More
                    } else {
                        Step::Done(3)
                    }
                }
                Some(_) => Step::Done(2),
            },
            0x00..=0x1F => Step::Done(1),
            c => {
                let ch = self.decode(c);
                self.put(ch);
                Step::Done(1)
            }
        }
    }

    fn decode(&self, b: u8) -> char {
        match self.table {
            Some(t) => t.decode_byte(b),
            None if b < 0x80 => char::from(b),
            None => '\u{FFFD}',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{Charset, DisplayEncoder};

    #[test]
    fn encoder_output_shows_the_intended_lines() {
        let mut e = DisplayEncoder::new(Charset::Ascii);
        e.init().clear().lines("Bonjour !", "TOTAL     12,50 EUR");
        let mut m = DisplayModel::default();
        assert!(m.push(e.bytes()));
        assert_eq!(
            m.lines(),
            [
                "Bonjour !           ".to_string(),
                "TOTAL     12,50 EUR ".to_string()
            ]
        );
        assert!(!m.cursor_visible(), "cursor off");
    }

    #[test]
    fn annotated_fixture_with_split_commands() {
        let stream: &[u8] = &[
            0x1B, 0x40, // init
            0x1B, 0x74, 19, // PC858
            0x1F, 0x24, 3, 2, // cursor column 3, row 2
            b'1', b'0', 0xD5, // "10€"
            0x1B, 0x51, 0x41, b'H', b'i', 0x0D, // ESC Q A "Hi" CR: upper line
        ];
        for split in 0..stream.len() {
            let mut m = DisplayModel::default();
            m.push(&stream[..split]);
            m.push(&stream[split..]);
            assert_eq!(
                m.lines(),
                [
                    format!("Hi{}", " ".repeat(18)),
                    format!("  10€{}", " ".repeat(15))
                ],
                "split at {split} gives the same screen"
            );
        }
    }

    #[test]
    fn text_wraps_in_overwrite_mode() {
        let mut m = DisplayModel::default();
        m.push(&[b'a'; 41]);
        assert_eq!(m.lines()[0], format!("a{}", "a".repeat(19)));
        assert_eq!(
            m.cursor(),
            (1, 0),
            "past the bottom line the cursor goes back to the top"
        );
    }
}
