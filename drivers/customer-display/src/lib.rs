//! Customer pole displays speaking the Epson DM-D command set (two lines of 20 characters, on
//! serial 9600 8N1 or USB-CDC).
//!
//! - [`encoder`]: init `1B 40`, clear `0C`, cursor `1F 24 x y`, cursor off `1F 43 00`, and
//!   text, transliterated to ASCII unless the display's code table (and its €) was verified;
//! - [`decode`]: a model of the display that turns bytes back into the two lines shown;
//! - [`client`]: a display over a [`pos_transport::Transport`];
//! - [`sim`]: a display simulator on a pty that reports what it shows.

pub mod client;
pub mod decode;
pub mod encoder;
pub mod sim;

pub use client::Display;
pub use decode::DisplayModel;
pub use encoder::{COLUMNS, Charset, DisplayEncoder, ROWS};
