//! Barcode scanners.
//!
//! - [`lines`]: splits a serial scanner's byte stream into codes (CR, LF or CRLF terminated);
//! - [`reader`]: a scanner over a [`pos_transport::Transport`] (RS232 or USB-CDC mode) with
//!   configurable timeouts;
//! - [`wedge`]: what a US-layout scanner types on a French AZERTY keyboard (`&é"'(-è_çà` for
//!   `1234567890`), mapped back to digits for the UI's keyboard-wedge path.

pub mod lines;
pub mod reader;
pub mod wedge;

pub use lines::LineSplitter;
pub use reader::{Scanner, ScannerConfig, ScannerError};
pub use wedge::{azerty_digits, normalize_azerty_digits};
