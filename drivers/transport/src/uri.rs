//! Device URIs: one string names a link and its line settings.
//!
//! ```text
//! serial:///dev/ttyACM0                         9600 8N1, no flow control (defaults)
//! serial:///dev/ttyS0?baud=9600&parity=even&data=7&stop=1
//! serial:///dev/serial/by-id/usb-Ingenico_Move5000-if00
//! /dev/ttyUSB0                                  a bare absolute path is a serial URI
//! tcp://10.0.0.5:9100                           TCP client (the device is the server)
//! tcp://terminal.local                          port left to the caller (`with_default_port`)
//! usblp:///dev/usb/lp0                          USB printer class device
//! ```
//!
//! Serial options: `baud` (positive integer), `parity` (`none`/`even`/`odd`, or `n`/`e`/`o`),
//! `data` (5-8), `stop` (1-2), `flow` (`none`/`hardware`/`software`). Paths are taken verbatim
//! (no percent-decoding): `/dev/serial/by-id` names contain no characters that need it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::UriError;

pub use serialport::{DataBits, FlowControl, Parity, StopBits};

/// Where a device is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceUri {
    Serial(SerialSettings),
    /// TCP client link. `port` is `None` when the URI left it out.
    Tcp {
        host: String,
        port: Option<u16>,
    },
    /// USB printer class character device, opened as a plain file.
    UsbLp {
        path: PathBuf,
    },
}

/// A serial device path and its line settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    /// Device path; `/dev/serial/by-id/...` names survive USB re-enumeration.
    pub path: PathBuf,
    pub baud: u32,
    pub parity: Parity,
    pub data_bits: DataBits,
    pub stop_bits: StopBits,
    pub flow: FlowControl,
}

impl SerialSettings {
    /// 9600 baud 8N1 without flow control: what USB-CDC devices and most pole displays use.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialSettings {
            path: path.into(),
            baud: 9600,
            parity: Parity::None,
            data_bits: DataBits::Eight,
            stop_bits: StopBits::One,
            flow: FlowControl::None,
        }
    }
}

const SERIAL_OPTIONS: &str = "baud, parity, data, stop, flow";

impl DeviceUri {
    /// Fills in the TCP port if the URI left it out (e.g. 8888 for Caisse-AP, 9100 for printers).
    pub fn with_default_port(mut self, default: u16) -> Self {
        if let DeviceUri::Tcp { port, .. } = &mut self {
            port.get_or_insert(default);
        }
        self
    }

    /// The device path for serial and usblp URIs.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            DeviceUri::Serial(s) => Some(&s.path),
            DeviceUri::UsbLp { path } => Some(path),
            DeviceUri::Tcp { .. } => None,
        }
    }
}

impl FromStr for DeviceUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, UriError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UriError::Empty);
        }
        if s.starts_with('/') {
            return parse_serial(s, None);
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(UriError::MissingScheme(s.to_string()));
        };
        let (body, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        match scheme.to_ascii_lowercase().as_str() {
            "serial" => parse_serial(body, query),
            "usblp" => {
                no_options("usblp", query)?;
                Ok(DeviceUri::UsbLp {
                    path: absolute("usblp", body)?,
                })
            }
            "tcp" => {
                no_options("tcp", query)?;
                parse_host_port(body)
            }
            other => Err(UriError::UnknownScheme(other.to_string())),
        }
    }
}

fn absolute(scheme: &'static str, path: &str) -> Result<PathBuf, UriError> {
    if path.len() > 1 && path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(UriError::NotAbsolute {
            scheme,
            path: path.to_string(),
        })
    }
}

fn no_options(scheme: &'static str, query: Option<&str>) -> Result<(), UriError> {
    match query.and_then(|q| q.split('&').find(|kv| !kv.is_empty())) {
        None => Ok(()),
        Some(kv) => Err(UriError::UnknownOption {
            scheme,
            key: kv.split('=').next().unwrap_or(kv).to_string(),
            allowed: "none",
        }),
    }
}

fn parse_host_port(body: &str) -> Result<DeviceUri, UriError> {
    let bad = || UriError::BadHostPort(body.to_string());
    let body = body.strip_suffix('/').unwrap_or(body);
    if body.is_empty() || body.contains('/') {
        return Err(bad());
    }
    // `[v6]:port` keeps its brackets out of the host; `host:port` splits on the last colon.
    let (host, port) = if let Some(rest) = body.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match body.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return Err(bad()),
            None => (body, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(bad()),
        },
    };
    Ok(DeviceUri::Tcp {
        host: host.to_string(),
        port,
    })
}

fn parse_serial(body: &str, query: Option<&str>) -> Result<DeviceUri, UriError> {
    let mut settings = SerialSettings::new(absolute("serial", body)?);
    let mut seen: Vec<&str> = Vec::new();
    for kv in query.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| UriError::OptionWithoutValue(kv.to_string()))?;
        if seen.contains(&key) {
            return Err(UriError::DuplicateOption {
                key: key.to_string(),
            });
        }
        seen.push(key);
        let bad = |expected| UriError::BadValue {
            key: key.to_string(),
            value: value.to_string(),
            expected,
        };
        match key {
            "baud" => {
                settings.baud = match value.parse::<u32>() {
                    Ok(b) if b > 0 => b,
                    _ => return Err(bad("a positive integer, e.g. 9600")),
                }
            }
            "parity" => {
                settings.parity = match value.to_ascii_lowercase().as_str() {
                    "none" | "n" => Parity::None,
                    "even" | "e" => Parity::Even,
                    "odd" | "o" => Parity::Odd,
                    _ => return Err(bad("none, even or odd")),
                }
            }
            "data" => {
                settings.data_bits = match value {
                    "5" => DataBits::Five,
                    "6" => DataBits::Six,
                    "7" => DataBits::Seven,
                    "8" => DataBits::Eight,
                    _ => return Err(bad("5, 6, 7 or 8")),
                }
            }
            "stop" => {
                settings.stop_bits = match value {
                    "1" => StopBits::One,
                    "2" => StopBits::Two,
                    _ => return Err(bad("1 or 2")),
                }
            }
            "flow" => {
                settings.flow = match value.to_ascii_lowercase().as_str() {
                    "none" => FlowControl::None,
                    "hardware" | "rtscts" => FlowControl::Hardware,
                    "software" | "xonxoff" => FlowControl::Software,
                    _ => return Err(bad("none, hardware or software")),
                }
            }
            _ => {
                return Err(UriError::UnknownOption {
                    scheme: "serial",
                    key: key.to_string(),
                    allowed: SERIAL_OPTIONS,
                });
            }
        }
    }
    Ok(DeviceUri::Serial(settings))
}

impl fmt::Display for DeviceUri {
    /// Canonical form: serial URIs list every option, so logs show the line settings in use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceUri::Serial(s) => {
                let parity = match s.parity {
                    Parity::None => "none",
                    Parity::Even => "even",
                    Parity::Odd => "odd",
                };
                let data = match s.data_bits {
                    DataBits::Five => 5,
                    DataBits::Six => 6,
                    DataBits::Seven => 7,
                    DataBits::Eight => 8,
                };
                let stop = match s.stop_bits {
                    StopBits::One => 1,
                    StopBits::Two => 2,
                };
                let flow = match s.flow {
                    FlowControl::None => "none",
                    FlowControl::Hardware => "hardware",
                    FlowControl::Software => "software",
                };
                write!(
                    f,
                    "serial://{}?baud={}&parity={parity}&data={data}&stop={stop}&flow={flow}",
                    s.path.display(),
                    s.baud
                )
            }
            DeviceUri::Tcp { host, port } => {
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                match port {
                    Some(p) => write!(f, "tcp://{host}:{p}"),
                    None => write!(f, "tcp://{host}"),
                }
            }
            DeviceUri::UsbLp { path } => write!(f, "usblp://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DeviceUri, UriError> {
        s.parse()
    }

    #[test]
    fn serial_defaults_are_9600_8n1() {
        let DeviceUri::Serial(s) = parse("serial:///dev/ttyACM0").unwrap() else {
            panic!("not serial")
        };
        assert_eq!(
            s,
            SerialSettings::new("/dev/ttyACM0"),
            "a URI without options means 9600 8N1"
        );
    }

    #[test]
    fn serial_7e1_options_are_read() {
        let DeviceUri::Serial(s) =
            parse("serial:///dev/ttyS0?baud=1200&parity=even&data=7&stop=2&flow=hardware").unwrap()
        else {
            panic!("not serial")
        };
        assert_eq!(s.baud, 1200);
        assert_eq!(s.parity, Parity::Even);
        assert_eq!(s.data_bits, DataBits::Seven);
        assert_eq!(s.stop_bits, StopBits::Two);
        assert_eq!(s.flow, FlowControl::Hardware);
    }

    #[test]
    fn by_id_names_and_bare_paths_are_serial() {
        let id = "/dev/serial/by-id/usb-Ingenico_Move_5000_12345678-if00";
        assert_eq!(
            parse(&format!("serial://{id}"))
                .unwrap()
                .path()
                .unwrap()
                .to_str(),
            Some(id)
        );
        assert_eq!(
            parse("/dev/ttyUSB0").unwrap(),
            parse("serial:///dev/ttyUSB0").unwrap(),
            "a bare path is a serial URI"
        );
    }

    #[test]
    fn tcp_and_usblp_parse() {
        assert_eq!(
            parse("tcp://10.0.0.5:9100").unwrap(),
            DeviceUri::Tcp {
                host: "10.0.0.5".into(),
                port: Some(9100)
            }
        );
        assert_eq!(
            parse("tcp://[::1]:8888").unwrap(),
            DeviceUri::Tcp {
                host: "::1".into(),
                port: Some(8888)
            }
        );
        let no_port = parse("tcp://terminal.local").unwrap();
        assert_eq!(
            no_port,
            DeviceUri::Tcp {
                host: "terminal.local".into(),
                port: None
            }
        );
        assert_eq!(
            no_port.with_default_port(8888),
            DeviceUri::Tcp {
                host: "terminal.local".into(),
                port: Some(8888)
            },
            "the caller's default port fills a missing port"
        );
        assert_eq!(
            parse("tcp://h:1").unwrap().with_default_port(8888),
            DeviceUri::Tcp {
                host: "h".into(),
                port: Some(1)
            },
            "an explicit port wins over the default"
        );
        assert_eq!(
            parse("usblp:///dev/usb/lp0").unwrap(),
            DeviceUri::UsbLp {
                path: "/dev/usb/lp0".into()
            }
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "serial:///dev/ttyS0?baud=9600&parity=even&data=7&stop=1",
            "serial:///dev/serial/by-id/usb-X-if00",
            "tcp://10.0.0.5:9100",
            "tcp://[::1]:8888",
            "tcp://host",
            "usblp:///dev/usb/lp1",
        ] {
            let uri = parse(s).unwrap();
            assert_eq!(
                parse(&uri.to_string()).unwrap(),
                uri,
                "Display of {s} must parse back to the same URI"
            );
        }
    }

    #[test]
    fn bad_uris_are_rejected_with_a_message_saying_what_is_expected() {
        let cases: &[(&str, &str)] = &[
            ("", "empty device URI"),
            ("ttyACM0", "has no scheme"),
            ("com1://x", "unknown scheme \"com1\""),
            ("serial://dev/ttyACM0", "absolute device path"),
            (
                "serial:///dev/ttyS0?baud=fast",
                "expected a positive integer",
            ),
            ("serial:///dev/ttyS0?baud=0", "expected a positive integer"),
            ("serial:///dev/ttyS0?parity=mark", "none, even or odd"),
            ("serial:///dev/ttyS0?data=9", "5, 6, 7 or 8"),
            ("serial:///dev/ttyS0?stop=3", "1 or 2"),
            (
                "serial:///dev/ttyS0?flow=maybe",
                "none, hardware or software",
            ),
            (
                "serial:///dev/ttyS0?speed=9600",
                "allowed options are baud, parity, data, stop, flow",
            ),
            ("serial:///dev/ttyS0?baud", "expected key=value"),
            ("serial:///dev/ttyS0?baud=1&baud=2", "given twice"),
            ("tcp://", "needs host:port"),
            ("tcp://host:0", "needs host:port"),
            ("tcp://host:99999", "needs host:port"),
            ("tcp://host:port", "needs host:port"),
            ("tcp://::1:80", "needs host:port"),
            ("tcp://host:80/path", "needs host:port"),
            ("tcp://host:80?nodelay=1", "unknown option \"nodelay\""),
            ("usblp://lp0", "absolute device path"),
            ("usblp:///", "absolute device path"),
        ];
        for (uri, expected) in cases {
            let err = parse(uri).expect_err(uri).to_string();
            assert!(
                err.contains(expected),
                "error for {uri:?} should contain {expected:?}, got {err:?}"
            );
        }
    }
}
