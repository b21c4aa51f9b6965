//! Line framing for serial scanners: CR, LF or CRLF ends a code.
//!
//! A CR immediately followed by LF is one terminator, even when the LF arrives in a later
//! read. Empty lines are skipped. A line longer than the configured maximum is dropped (with a
//! count), so a scanner stuck sending without a terminator cannot grow memory without bound.

/// One framed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete code (without its terminator), bytes as text (Latin-1 bytes map 1:1).
    Code(String),
    /// A line longer than the maximum was dropped; its length.
    Overflow(usize),
}

/// Incremental line splitter.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    buf: Vec<u8>,
    after_cr: bool,
    max: usize,
    overflowed: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new(4096)
    }
}

/// Scanners send ASCII; anything else is read as Latin-1 so no byte is lost or rejected.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

impl LineSplitter {
    /// A splitter dropping lines longer than `max` bytes.
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::new(),
            after_cr: false,
            max: max.max(1),
            overflowed: 0,
        }
    }

    /// Feeds received bytes; returns the lines they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    if self.overflowed > 0 {
                        out.push(Line::Overflow(self.overflowed));
                        self.overflowed = 0;
                    } else if !self.buf.is_empty() {
                        out.push(Line::Code(latin1(&self.buf)));
                    }
                    self.buf.clear();
                }
                _ if self.overflowed > 0 => self.overflowed += 1,
                _ if self.buf.len() >= self.max => {
                    self.overflowed = self.buf.len() + 1;
                    self.buf.clear();
                }
                _ => self.buf.push(b),
            }
        }
        out
    }

    /// The partial line received so far (for a scanner that sends no terminator).
    pub fn take_partial(&mut self) -> Option<String> {
        self.overflowed = 0;
        let s = (!self.buf.is_empty()).then(|| latin1(&self.buf));
        self.buf.clear();
        s
    }

    /// Whether part of a line is buffered.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.overflowed > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(v: Vec<Line>) -> Vec<String> {
        v.into_iter()
            .map(|l| match l {
                Line::Code(s) => s,
                Line::Overflow(n) => format!("<overflow {n}>"),
            })
            .collect()
    }

    /// What a case is about, the reads, the codes expected.
    type Case = (
        &'static str,
        &'static [&'static [u8]],
        &'static [&'static str],
    );

    #[test]
    fn terminators_table() {
        let cases: &[Case] = &[
            ("CR", &[b"3760001\r"], &["3760001"]),
            ("LF", &[b"3760001\n"], &["3760001"]),
            (
                "CRLF",
                &[b"3760001\r\n4006381333931\r\n"],
                &["3760001", "4006381333931"],
            ),
            (
                "CRLF split between reads",
                &[b"123\r", b"\n456\r", b"\n"],
                &["123", "456"],
            ),
            (
                "code split between reads",
                &[b"40063", b"81333931\n"],
                &["4006381333931"],
            ),
            ("empty lines skipped", &[b"\r\n\r\n\n\r12\n"], &["12"]),
            (
                "LF CR is two terminators, no empty code",
                &[b"1\n\r2\r"],
                &["1", "2"],
            ),
            ("no terminator yet", &[b"999"], &[]),
        ];
        for (what, reads, want) in cases {
            let mut s = LineSplitter::default();
            let got: Vec<String> = reads.iter().flat_map(|r| codes(s.push(r))).collect();
            assert_eq!(&got, want, "{what}");
        }
    }

    #[test]
    fn overflow_is_reported_and_recovers() {
        let mut s = LineSplitter::new(4);
        assert_eq!(codes(s.push(b"123456\n12\n")), vec!["<overflow 6>", "12"]);
    }
}
