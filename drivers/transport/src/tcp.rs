//! TCP client links (Caisse-AP terminals on port 8888, printers on port 9100) and accepted
//! server-side streams for simulators.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::{Transport, TransportError};

/// A TCP stream whose read timeouts surface as `ErrorKind::TimedOut` (std reports `WouldBlock`
/// on Unix), as the [`Transport`] contract requires.
pub struct TcpLink {
    stream: TcpStream,
    peer: String,
}

impl TcpLink {
    /// Connects to `host:port`, trying each resolved address within `connect_timeout`.
    pub fn connect(
        host: &str,
        port: u16,
        connect_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<Self, TransportError> {
        let addr_text = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let err = |source| TransportError::Tcp {
            addr: addr_text.clone(),
            source,
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host name resolved to no address");
        for addr in (host, port).to_socket_addrs().map_err(err)? {
            match TcpStream::connect_timeout(&addr, connect_timeout) {
                Ok(stream) => {
                    let mut link = TcpLink::from_stream(stream).map_err(err)?;
                    link.set_read_timeout(read_timeout).map_err(err)?;
                    return Ok(link);
                }
                Err(e) => last = e,
            }
        }
        Err(err(last))
    }

    /// Wraps an accepted or connected stream. Nagle is turned off: device messages are small and
    /// latency matters more than packet count.
    pub fn from_stream(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unconnected".into());
        Ok(TcpLink { stream, peer })
    }

    /// The underlying stream, e.g. to shut it down from a simulator.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

impl Read for TcpLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "tcp read timed out",
            )),
            other => other,
        }
    }
}

impl Write for TcpLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Transport for TcpLink {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        // std rejects a zero timeout; the shortest real wait is what a zero means here.
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
    }

    fn describe(&self) -> String {
        format!("tcp://{}", self.peer)
    }
}
