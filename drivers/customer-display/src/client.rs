//! A customer display over any [`Transport`] (serial 9600 8N1, USB-CDC, pty).
//!
//! DM-D displays never answer, so every call is a write; errors are link errors only.

use std::io;

use pos_transport::Transport;

use crate::encoder::{Charset, DisplayEncoder};

/// A display on a link.
pub struct Display<T: Transport> {
    link: T,
    charset: Charset,
}

impl<T: Transport> Display<T> {
    /// A display on `link` using `charset`.
    pub fn new(link: T, charset: Charset) -> Display<T> {
        Display { link, charset }
    }

    fn send(&mut self, e: DisplayEncoder) -> io::Result<()> {
        self.link.write_all(e.bytes())?;
        self.link.flush()
    }

    /// Initialises the display (and its code table) and clears it.
    pub fn init(&mut self) -> io::Result<()> {
        let mut e = DisplayEncoder::new(self.charset);
        e.init().clear().cursor_visible(false);
        self.send(e)
    }

    /// Clears the screen.
    pub fn clear(&mut self) -> io::Result<()> {
        let mut e = DisplayEncoder::new(self.charset);
        e.clear();
        self.send(e)
    }

    /// Shows two lines (each padded or cut to 20 columns).
    pub fn show(&mut self, top: &str, bottom: &str) -> io::Result<()> {
        let mut e = DisplayEncoder::new(self.charset);
        e.lines(top, bottom);
        self.send(e)
    }

    /// Gives the link back.
    pub fn into_inner(self) -> T {
        self.link
    }
}
