//! A receipt printer over any [`Transport`]: serial, USB printer class, TCP 9100, pty.
//!
//! Sending is fire-and-forget as in ESC/POS itself; the status is read with real-time queries
//! (`DLE EOT n`), which printers answer even while offline. Unsolicited automatic status back
//! messages that arrive meanwhile are kept (see [`Printer::last_auto_status`]), never mistaken
//! for answers. A printer that is out of paper is a [`PrintOutcome::NotReady`], not an error:
//! errors are about the link.

use std::io;
use std::time::{Duration, Instant};

use pos_transport::Transport;
use thiserror::Error;

use crate::encoder::{DrawerPulse, Encoder, EncoderConfig};
use crate::status::{
    self, BadStatusByte, DrawerPolarity, Incoming, PrinterStatus, StatusReader, StatusRequest,
};

/// Link failures and protocol violations (never a printer state such as paper out).
#[derive(Debug, Error)]
pub enum PrinterError {
    /// Reading or writing the link failed.
    #[error("printer link: {0}")]
    Io(#[from] io::Error),
    /// The printer did not answer a status query in time (off, wrong port, or no back channel).
    #[error("no answer to status query {request} within {timeout:?}")]
    NoAnswer {
        /// The `n` of `DLE EOT n`.
        request: u8,
        /// How long we waited.
        timeout: Duration,
    },
    /// The link was closed by the other side.
    #[error("printer closed the link")]
    Closed,
    /// An answer byte that is not a status byte.
    #[error(transparent)]
    BadAnswer(#[from] BadStatusByte),
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterConfig {
    /// How long to wait for each status answer.
    pub answer_timeout: Duration,
    /// After a query timed out, how long to collect its late answer before the next query.
    pub drain_time: Duration,
    /// Meaning of the drawer sensor bit.
    pub polarity: DrawerPolarity,
    /// Encoder settings (code table) for helpers that build bytes.
    pub encoder: EncoderConfig,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            answer_timeout: Duration::from_secs(1),
            drain_time: Duration::from_millis(20),
            polarity: DrawerPolarity::default(),
            encoder: EncoderConfig::default(),
        }
    }
}

/// Result of a checked print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    /// The bytes were sent to a printer that reported itself ready.
    Sent,
    /// The printer reported a state in which it cannot print; nothing was sent.
    NotReady(PrinterStatus),
}

/// A receipt printer on a link.
pub struct Printer<T: Transport> {
    link: T,
    config: PrinterConfig,
    reader: StatusReader,
    last_asb: Option<PrinterStatus>,
    /// A query timed out: its answer may still arrive and must not answer the next one.
    stale: bool,
}

impl<T: Transport> Printer<T> {
    /// A printer on `link`.
    pub fn new(link: T, config: PrinterConfig) -> Printer<T> {
        Printer {
            link,
            config,
            reader: StatusReader::new(),
            last_asb: None,
            stale: false,
        }
    }

    /// The link's description.
    pub fn describe(&self) -> String {
        self.link.describe()
    }

    /// Gives the link back.
    pub fn into_inner(self) -> T {
        self.link
    }

    /// Sends bytes (from [`crate::Encoder`] or [`crate::Receipt`]) as they are.
    pub fn print(&mut self, bytes: &[u8]) -> Result<(), PrinterError> {
        self.link.write_all(bytes)?;
        self.link.flush()?;
        Ok(())
    }

    /// Queries the status first and sends `bytes` only if the printer is ready.
    pub fn print_checked(&mut self, bytes: &[u8]) -> Result<PrintOutcome, PrinterError> {
        let status = self.status()?;
        if !status.ready() {
            return Ok(PrintOutcome::NotReady(status));
        }
        self.print(bytes)?;
        Ok(PrintOutcome::Sent)
    }

    /// Kicks the cash drawer.
    pub fn open_drawer(&mut self, pulse: DrawerPulse) -> Result<(), PrinterError> {
        let mut e = Encoder::new(self.config.encoder.clone());
        e.kick(pulse);
        self.print(e.bytes())
    }

    /// Enables (all events) or disables automatic status back (`GS a n`).
    pub fn set_auto_status(&mut self, on: bool) -> Result<(), PrinterError> {
        self.print(&[0x1D, b'a', if on { 0x0F } else { 0 }])
    }

    /// The latest automatic status back message received, if any.
    pub fn last_auto_status(&self) -> Option<PrinterStatus> {
        self.last_asb
    }

    /// Reads the back channel for up to `wait` and returns the latest ASB status seen.
    pub fn poll_auto_status(
        &mut self,
        wait: Duration,
    ) -> Result<Option<PrinterStatus>, PrinterError> {
        let deadline = Instant::now() + wait;
        while let Some(b) = self.read_byte(deadline)? {
            if let Some(Incoming::Asb(m)) = self.reader.push(b) {
                self.last_asb = Some(status::parse_asb(m, self.config.polarity));
            }
        }
        Ok(self.last_asb)
    }

    /// Asks the four real-time statuses and combines them.
    pub fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        let mut s = PrinterStatus::default();
        for req in [
            StatusRequest::Printer,
            StatusRequest::Offline,
            StatusRequest::Error,
            StatusRequest::Paper,
        ] {
            let b = self.query(req)?;
            status::apply_answer(&mut s, req, b, self.config.polarity)?;
        }
        Ok(s)
    }

    /// Sends `DLE EOT n` and returns the answer byte.
    pub fn query(&mut self, req: StatusRequest) -> Result<u8, PrinterError> {
        if self.stale {
            self.drain()?;
        }
        self.print(&req.bytes())?;
        let deadline = Instant::now() + self.config.answer_timeout;
        while let Some(b) = self.read_byte(deadline)? {
            match self.reader.push(b) {
                Some(Incoming::Answer(a)) => return Ok(a),
                Some(Incoming::Asb(m)) => {
                    self.last_asb = Some(status::parse_asb(m, self.config.polarity));
                }
                Some(Incoming::Other(_)) | None => {}
            }
        }
        self.stale = true;
        Err(PrinterError::NoAnswer {
            request: req as u8,
            timeout: self.config.answer_timeout,
        })
    }

    /// Discards late answers left by a query that timed out.
    fn drain(&mut self) -> Result<(), PrinterError> {
        let deadline = Instant::now() + self.config.drain_time;
        while let Some(b) = self.read_byte(deadline)? {
            if let Some(Incoming::Asb(m)) = self.reader.push(b) {
                self.last_asb = Some(status::parse_asb(m, self.config.polarity));
            }
        }
        self.stale = false;
        Ok(())
    }

    /// One byte, or `None` once `deadline` has passed.
    fn read_byte(&mut self, deadline: Instant) -> Result<Option<u8>, PrinterError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.link
                .set_read_timeout(left.max(Duration::from_millis(1)))?;
            let mut b = [0u8; 1];
            match self.link.read(&mut b) {
                Ok(0) => return Err(PrinterError::Closed),
                Ok(_) => return Ok(Some(b[0])),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
