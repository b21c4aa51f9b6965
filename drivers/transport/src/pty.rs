//! Pseudo-terminal pairs for simulators and tests.
//!
//! The simulator keeps the master; the device path it prints is the slave (`/dev/pts/N`), which
//! any process opens like a serial port. We keep a slave handle open for the master's whole life:
//! without it, reads on the master fail with EIO whenever no client has the slave open (before the
//! first client, and between clients). Linux ptys refuse parity, so only 8N1 runs on them.

use std::io::{self, Read, Write};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use crate::{Transport, TransportError};

/// The master side of a pty pair, with the slave held open (see the module docs).
pub struct PtyMaster {
    master: TTYPort,
    _slave: TTYPort,
    slave_path: String,
}

/// Creates a pty pair; returns the master and the path a client opens.
pub fn pty_pair() -> Result<(PtyMaster, String), TransportError> {
    let (mut master, slave) = TTYPort::pair().map_err(TransportError::Pty)?;
    let slave_path = slave.name().ok_or_else(|| {
        TransportError::Pty(serialport::Error::new(
            serialport::ErrorKind::Unknown,
            "pty slave has no path",
        ))
    })?;
    master
        .set_timeout(Duration::from_secs(1))
        .map_err(TransportError::Pty)?;
    Ok((
        PtyMaster {
            master,
            _slave: slave,
            slave_path: slave_path.clone(),
        },
        slave_path,
    ))
}

impl PtyMaster {
    /// The path of the slave side, e.g. `/dev/pts/3`.
    pub fn slave_path(&self) -> &str {
        &self.slave_path
    }
}

impl Read for PtyMaster {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.master.read(buf)
    }
}

impl Write for PtyMaster {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.master.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.master.flush()
    }
}

impl Transport for PtyMaster {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.master.set_timeout(timeout).map_err(io::Error::from)
    }

    fn describe(&self) -> String {
        format!("pty-master:{}", self.slave_path)
    }
}
