//! ESC/POS receipt printers: everything from text to bytes and from bytes back to paper.
//!
//! Layers, bottom up:
//! - [`codepage`]: Unicode <-> printer code tables (WPC1252, PC858...) with transliteration;
//! - [`encoder`]: one method per ESC/POS primitive, pure; [`receipt`]: a receipt layout builder
//!   on top of it (columns, QR code, barcode, logo, cut, drawer);
//! - [`status`]: status queries, automatic status back, and a reader keeping them apart;
//! - [`decode`]: what a printer would print from a byte stream; [`render`]: that, as a PNG;
//! - [`client`]: a printer over a [`pos_transport::Transport`] (serial, USB, TCP 9100);
//! - [`sim`]: a printer simulator on a pty or TCP that writes every receipt to a directory.
//!
//! Nothing here knows about sales or tickets: the till engine turns its receipts into
//! [`receipt::Receipt`] calls.

pub mod bitmap;
pub mod client;
pub mod codepage;
pub mod decode;
pub mod encoder;
pub mod receipt;
pub mod render;
pub mod sim;
pub mod status;
mod tables;

pub use bitmap::Bitmap;
pub use codepage::{CodeTable, TableNumbers};
pub use encoder::{
    Align, Cut, DrawerPin, DrawerPulse, EncodeError, Encoder, EncoderConfig, HriPosition,
    QrEcLevel, Underline,
};
pub use receipt::{Receipt, ReceiptConfig};
pub use status::{DrawerPolarity, Paper, PrinterStatus};
