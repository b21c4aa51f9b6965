//! Serial ports (RS232, USB-CDC, pty slaves) through `serialport`.
//!
//! A USB device that is unplugged or resets disappears and comes back, often under another
//! `/dev/ttyACMn`; its `/dev/serial/by-id/...` link keeps its name. [`SerialLink::reopen`] waits
//! for that same path to reappear and opens it again. Reopening is always the caller's explicit
//! decision: a payment client must know the link broke rather than have it silently mended.

use std::io::{self, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

use crate::uri::SerialSettings;
use crate::{Transport, TransportError};

/// An open serial port and the settings it was opened with.
pub struct SerialLink {
    /// `None` only while a reopen is waiting for the device to come back.
    port: Option<TTYPort>,
    settings: SerialSettings,
    timeout: Duration,
}

impl SerialLink {
    /// Opens the port with the given line settings and read timeout.
    pub fn open(settings: &SerialSettings, read_timeout: Duration) -> Result<Self, TransportError> {
        let port = open_port(settings, read_timeout)?;
        Ok(SerialLink {
            port: Some(port),
            settings: settings.clone(),
            timeout: read_timeout,
        })
    }

    /// Opens the port, retrying until it exists and opens or `wait` has passed.
    pub fn open_waiting(
        settings: &SerialSettings,
        read_timeout: Duration,
        wait: Duration,
        poll_every: Duration,
    ) -> Result<Self, TransportError> {
        let port = open_port_waiting(settings, read_timeout, wait, poll_every)?;
        Ok(SerialLink {
            port: Some(port),
            settings: settings.clone(),
            timeout: read_timeout,
        })
    }

    /// Closes the port and opens the same path again (after USB re-enumeration the by-id link
    /// points at the new device node), waiting up to `wait` for it to come back.
    pub fn reopen(&mut self, wait: Duration, poll_every: Duration) -> Result<(), TransportError> {
        // Close first: an exclusive lock on the old node must not block the new open.
        self.port = None;
        self.port = Some(open_port_waiting(
            &self.settings,
            self.timeout,
            wait,
            poll_every,
        )?);
        Ok(())
    }

    pub fn settings(&self) -> &SerialSettings {
        &self.settings
    }

    fn port(&mut self) -> io::Result<&mut TTYPort> {
        self.port.as_mut().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "serial port closed after a failed reopen",
            )
        })
    }
}

fn open_port(settings: &SerialSettings, read_timeout: Duration) -> Result<TTYPort, TransportError> {
    let path = settings.path.to_string_lossy().into_owned();
    serialport::new(path.clone(), settings.baud)
        .data_bits(settings.data_bits)
        .parity(settings.parity)
        .stop_bits(settings.stop_bits)
        .flow_control(settings.flow)
        .timeout(read_timeout)
        .open_native()
        .map_err(|source| TransportError::Serial { path, source })
}

fn open_port_waiting(
    settings: &SerialSettings,
    read_timeout: Duration,
    wait: Duration,
    poll_every: Duration,
) -> Result<TTYPort, TransportError> {
    let start = Instant::now();
    loop {
        match open_port(settings, read_timeout) {
            Ok(port) => return Ok(port),
            Err(e) if start.elapsed() >= wait => {
                return Err(TransportError::ReopenTimedOut {
                    path: settings.path.display().to_string(),
                    waited_ms: start.elapsed().as_millis(),
                    last_error: e.to_string(),
                });
            }
            Err(_) => thread::sleep(poll_every),
        }
    }
}

impl Read for SerialLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.port()?.read(buf)
    }
}

impl Write for SerialLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.port()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.port()?.flush()
    }
}

impl Transport for SerialLink {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.timeout = timeout;
        self.port()?.set_timeout(timeout).map_err(io::Error::from)
    }

    fn describe(&self) -> String {
        format!("serial://{}", self.settings.path.display())
    }
}
