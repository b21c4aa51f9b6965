//! Byte-at-a-time reading with deadlines over any [`Transport`], with a small read-ahead buffer
//! so that bytes following a frame (an EOT, the next ENQ) are not lost.

use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};

use pos_transport::Transport;

/// A transport plus the bytes already read from it but not yet consumed.
pub struct Link<T: Transport> {
    inner: T,
    buf: [u8; 512],
    start: usize,
    end: usize,
    /// The read timeout last set on `inner`, to skip redundant syscalls.
    current_timeout: Option<Duration>,
}

impl<T: Transport> Link<T> {
    pub fn new(inner: T) -> Self {
        Link {
            inner,
            buf: [0; 512],
            start: 0,
            end: 0,
            current_timeout: None,
        }
    }

    pub fn describe(&self) -> String {
        self.inner.describe()
    }

    pub fn into_inner(self) -> T {
        self.inner
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Reads one byte, waiting at most until `deadline`. `Ok(None)` means the deadline passed.
    /// End of stream is an `UnexpectedEof` error: the peer hung up.
    pub fn read_byte_until(&mut self, deadline: Instant) -> io::Result<Option<u8>> {
        loop {
            if self.start < self.end {
                let b = self.buf[self.start];
                self.start += 1;
                return Ok(Some(b));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            if self.current_timeout != Some(wait) {
                self.inner.set_read_timeout(wait)?;
                self.current_timeout = Some(wait);
            }
            match self.inner.read(&mut self.buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the peer closed the link",
                    ));
                }
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                }
                Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub fn read_byte(&mut self, timeout: Duration) -> io::Result<Option<u8>> {
        self.read_byte_until(Instant::now() + timeout)
    }

    /// Reads whatever arrives before `deadline` (at least one byte unless the deadline passes).
    pub fn read_some_until(&mut self, deadline: Instant, out: &mut Vec<u8>) -> io::Result<usize> {
        match self.read_byte_until(deadline)? {
            None => Ok(0),
            Some(b) => {
                out.push(b);
                out.extend_from_slice(&self.buf[self.start..self.end]);
                let n = 1 + self.end - self.start;
                self.start = self.end;
                Ok(n)
            }
        }
    }

    /// Writes all bytes and flushes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.inner.flush()
    }
}
