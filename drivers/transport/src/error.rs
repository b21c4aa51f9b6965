//! Errors of the transport layer: a bad URI, or a link that could not be opened.

use std::io;

/// Why a device URI was rejected. Messages say what was expected so a technician can fix the URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error(
        "empty device URI: expected e.g. serial:///dev/ttyACM0, tcp://10.0.0.5:9100 or usblp:///dev/usb/lp0"
    )]
    Empty,
    #[error("unknown scheme {0:?} in device URI: expected serial, tcp or usblp")]
    UnknownScheme(String),
    #[error("device URI {0:?} has no scheme: expected scheme://..., e.g. serial:///dev/ttyACM0")]
    MissingScheme(String),
    #[error(
        "{scheme} URI needs an absolute device path (three slashes, e.g. {scheme}:///dev/...), got {path:?}"
    )]
    NotAbsolute { scheme: &'static str, path: String },
    #[error("tcp URI needs host:port (e.g. tcp://10.0.0.5:9100), got {0:?}")]
    BadHostPort(String),
    #[error("tcp URI {0:?} has no port and the caller has no default port")]
    MissingPort(String),
    #[error("unknown option {key:?} for {scheme} URI: allowed options are {allowed}")]
    UnknownOption {
        scheme: &'static str,
        key: String,
        allowed: &'static str,
    },
    #[error("option {key:?} given twice")]
    DuplicateOption { key: String },
    #[error("bad value {value:?} for option {key:?}: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("option without a value: {0:?} (expected key=value)")]
    OptionWithoutValue(String),
}

/// Failure to open or reopen a link. I/O errors on an open link are plain `std::io::Error`s.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Uri(#[from] UriError),
    #[error("cannot open serial port {path}: {source}")]
    Serial {
        path: String,
        source: serialport::Error,
    },
    #[error("cannot connect to {addr}: {source}")]
    Tcp { addr: String, source: io::Error },
    #[error("cannot open {path}: {source}")]
    Device { path: String, source: io::Error },
    #[error("cannot create a pseudo-terminal pair: {0}")]
    Pty(serialport::Error),
    #[error("device {path} did not come back within {waited_ms} ms: {last_error}")]
    ReopenTimedOut {
        path: String,
        waited_ms: u128,
        last_error: String,
    },
}
