//! The Linux USB printer class device (`/dev/usb/lp*`), opened as a plain file.
//!
//! A file has no read timeout, so reads wait with `poll` first: bidirectional printers answer
//! status queries through the same node, and a printer that does not answer must not hang us.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, poll};

use crate::{Transport, TransportError};

pub struct UsbLpLink {
    file: File,
    path: PathBuf,
    timeout: Duration,
}

impl UsbLpLink {
    pub fn open(path: &Path, read_timeout: Duration) -> Result<Self, TransportError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| TransportError::Device {
                path: path.display().to_string(),
                source,
            })?;
        Ok(UsbLpLink {
            file,
            path: path.to_path_buf(),
            timeout: read_timeout,
        })
    }
}

impl Read for UsbLpLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut fds = [PollFd::new(self.file.as_raw_fd(), PollFlags::POLLIN)];
        let millis = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        let ready = poll(&mut fds, millis).map_err(io::Error::from)?;
        if ready == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "usblp read timed out",
            ));
        }
        self.file.read(buf)
    }
}

impl Write for UsbLpLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Transport for UsbLpLink {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.timeout = timeout;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("usblp://{}", self.path.display())
    }
}
