//! A serial barcode scanner (RS232 or USB-CDC mode) read as lines over a [`Transport`].

use std::io;
use std::time::{Duration, Instant};

use pos_transport::Transport;
use thiserror::Error;

use crate::lines::{Line, LineSplitter};

/// Reader settings; every timeout is configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerConfig {
    /// Longest accepted code, in bytes.
    pub max_len: usize,
    /// A code whose bytes stop arriving for this long without a terminator is incomplete.
    pub inter_char_timeout: Duration,
    /// Accept such a code anyway (for scanners configured without a suffix).
    pub accept_unterminated: bool,
    /// Read timeout used for each poll of the link.
    pub poll: Duration,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            max_len: 4096,
            inter_char_timeout: Duration::from_millis(300),
            accept_unterminated: false,
            poll: Duration::from_millis(50),
        }
    }
}

/// Why no code was read.
#[derive(Debug, Error)]
pub enum ScannerError {
    /// The link failed.
    #[error("scanner link: {0}")]
    Io(#[from] io::Error),
    /// The link was closed.
    #[error("scanner link closed")]
    Closed,
    /// Bytes stopped arriving before a terminator (see [`ScannerConfig::accept_unterminated`]).
    #[error("incomplete code {0:?}: no CR/LF within the inter-character timeout")]
    Unterminated(String),
    /// A code longer than [`ScannerConfig::max_len`] was dropped.
    #[error("code of {0} bytes exceeds the maximum length")]
    TooLong(usize),
}

/// A scanner on a link.
pub struct Scanner<T: Transport> {
    link: T,
    config: ScannerConfig,
    splitter: LineSplitter,
    ready: std::collections::VecDeque<Line>,
    last_byte: Option<Instant>,
}

impl<T: Transport> Scanner<T> {
    /// A scanner on `link`.
    pub fn new(link: T, config: ScannerConfig) -> Scanner<T> {
        Scanner {
            link,
            splitter: LineSplitter::new(config.max_len),
            config,
            ready: Default::default(),
            last_byte: None,
        }
    }

    /// Waits up to `wait` for the next code; `Ok(None)` if none started in that time.
    /// A code that has started is always awaited to its end (or its inter-character timeout).
    pub fn read_code(&mut self, wait: Duration) -> Result<Option<String>, ScannerError> {
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 256];
        loop {
            if let Some(line) = self.ready.pop_front() {
                return match line {
                    Line::Code(c) => Ok(Some(c)),
                    Line::Overflow(n) => Err(ScannerError::TooLong(n)),
                };
            }
            if self.splitter.has_partial()
                && self
                    .last_byte
                    .is_some_and(|t| t.elapsed() >= self.config.inter_char_timeout)
            {
                let partial = self.splitter.take_partial().unwrap_or_default();
                return if self.config.accept_unterminated && !partial.is_empty() {
                    Ok(Some(partial))
                } else {
                    Err(ScannerError::Unterminated(partial))
                };
            }
            if !self.splitter.has_partial() && Instant::now() >= deadline {
                return Ok(None);
            }
            self.link.set_read_timeout(self.config.poll)?;
            match self.link.read(&mut buf) {
                Ok(0) => return Err(ScannerError::Closed),
                Ok(n) => {
                    self.last_byte = Some(Instant::now());
                    self.ready.extend(self.splitter.push(&buf[..n]));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Gives the link back.
    pub fn into_inner(self) -> T {
        self.link
    }
}
