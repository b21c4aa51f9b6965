//! Byte links to point-of-sale devices, behind one [`Transport`] trait.
//!
//! Drivers (payment terminal, receipt printer, customer display, scanner) take a
//! `Box<dyn Transport>` (or any `T: Transport`) and never know which link is underneath:
//!
//! | link | type | opened by |
//! |---|---|---|
//! | serial port, USB-CDC, `/dev/serial/by-id/...` | [`SerialLink`] | [`open`] with `serial://` |
//! | TCP client | [`TcpLink`] | [`open`] with `tcp://` |
//! | USB printer class `/dev/usb/lp*` | [`UsbLpLink`] | [`open`] with `usblp://` |
//! | pseudo-terminal master (simulators) | [`PtyMaster`] | [`pty_pair`] |
//! | in-memory duplex (unit tests) | [`MemoryLink`] | [`memory_duplex`] |
//!
//! URIs are parsed by [`DeviceUri`] (syntax in [`uri`]). All I/O is blocking with read timeouts:
//! a read that times out returns `ErrorKind::TimedOut`, on every link.

pub mod error;
pub mod memory;
pub mod pty;
pub mod serial;
pub mod tcp;
pub mod uri;
pub mod usblp;

use std::time::Duration;

pub use error::{TransportError, UriError};
pub use memory::{MemoryLink, memory_duplex};
pub use pty::{PtyMaster, pty_pair};
pub use serial::SerialLink;
pub use tcp::TcpLink;
pub use uri::{DataBits, DeviceUri, FlowControl, Parity, SerialSettings, StopBits};
pub use usblp::UsbLpLink;

/// A byte link to a device: serial port, pty, TCP stream, USB printer class device, or memory.
pub trait Transport: std::io::Read + std::io::Write + Send {
    /// How long a read may block; a read that times out returns `ErrorKind::TimedOut`.
    fn set_read_timeout(&mut self, timeout: Duration) -> std::io::Result<()>;
    /// Human-readable name of the link for messages and logs (e.g. "serial:///dev/ttyACM0").
    fn describe(&self) -> String;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&mut self, timeout: Duration) -> std::io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Timeouts applied when opening a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Initial read timeout (drivers usually set their own per step).
    pub read_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Opens the link a URI names, with default timeouts (1 s read, 3 s connect).
pub fn open(uri: &DeviceUri) -> Result<Box<dyn Transport>, TransportError> {
    open_with(uri, OpenOptions::default())
}

/// Opens the link a URI names. A `tcp://` URI without a port is an error here: apply the
/// device's default first with [`DeviceUri::with_default_port`].
pub fn open_with(
    uri: &DeviceUri,
    options: OpenOptions,
) -> Result<Box<dyn Transport>, TransportError> {
    Ok(match uri {
        DeviceUri::Serial(settings) => Box::new(SerialLink::open(settings, options.read_timeout)?),
        DeviceUri::Tcp { host, port } => {
            let port = port.ok_or_else(|| UriError::MissingPort(uri.to_string()))?;
            Box::new(TcpLink::connect(
                host,
                port,
                options.connect_timeout,
                options.read_timeout,
            )?)
        }
        DeviceUri::UsbLp { path } => Box::new(UsbLpLink::open(path, options.read_timeout)?),
    })
}
