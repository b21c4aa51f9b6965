//! The till's devices as the service drives them: the ESC/POS receipt printer (and the cash
//! drawer on its kick-out port) and the payment terminal, each named by a device URI.
//!
//! A link is opened per job and closed after it: a printer switched off and on, or re-plugged,
//! works again at the next receipt without restarting the app. Device trouble is reported as a
//! [`DeviceResult`] with what to do; it never undoes what the ledger recorded.

use std::time::Duration;

use pos_escpos::client::{PrintOutcome, Printer, PrinterConfig};
use pos_escpos::{DrawerPulse, PrinterStatus, Receipt, ReceiptConfig};
use pos_payment_terminal::{
    CaisseApClient, CaisseApConfig, ConcertV2Client, ConcertV2Config, PaymentTerminal,
};
use pos_transport::DeviceUri;

use crate::api::{DeviceResult, DeviceView};
use crate::error::{ApiError, ApiResult};

/// Characters per line of the receipts the engine renders (80 mm paper, font A).
pub const RECEIPT_COLUMNS: usize = pos_till::receipt::WIDTH;

/// The protocol a terminal speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalProtocol {
    ConcertV2,
    CaisseAp,
}

/// The payment terminal's settings.
#[derive(Clone, Debug)]
pub struct TerminalSettings {
    pub uri: DeviceUri,
    pub protocol: TerminalProtocol,
    /// How long to wait for the customer (PIN entry) before the outcome is unknown.
    pub result_timeout: Duration,
}

impl TerminalSettings {
    /// Settings for a terminal URI: Caisse-AP for `tcp://` (port 8888 by default), Concert V2
    /// on serial links.
    pub fn from_uri(text: &str, result_timeout: Duration) -> ApiResult<TerminalSettings> {
        let uri: DeviceUri = text.trim().parse().map_err(|e| {
            ApiError::invalid(
                "device_uri_invalid",
                format!("terminal `{text}`: {e}; for example tcp://10.0.0.5:8888 or serial:///dev/ttyACM0"),
            )
        })?;
        let (uri, protocol) = match uri {
            DeviceUri::Tcp { .. } => (uri.with_default_port(8888), TerminalProtocol::CaisseAp),
            DeviceUri::Serial(_) => (uri, TerminalProtocol::ConcertV2),
            DeviceUri::UsbLp { .. } => {
                return Err(ApiError::invalid(
                    "device_uri_invalid",
                    "a payment terminal is on a serial port or TCP, not usblp",
                ));
            }
        };
        Ok(TerminalSettings {
            uri,
            protocol,
            result_timeout,
        })
    }

    /// A client for one transaction.
    pub fn connect(&self) -> Result<Box<dyn PaymentTerminal + Send>, String> {
        match (self.protocol, &self.uri) {
            (TerminalProtocol::CaisseAp, DeviceUri::Tcp { host, port }) => {
                let config = CaisseApConfig {
                    result_timeout: self.result_timeout,
                    ..CaisseApConfig::default()
                };
                Ok(Box::new(CaisseApClient::tcp(
                    host.clone(),
                    port.unwrap_or(8888),
                    config,
                )))
            }
            _ => {
                let link = pos_transport::open(&self.uri).map_err(|e| e.to_string())?;
                let config = ConcertV2Config {
                    result_timeout: self.result_timeout,
                    ..ConcertV2Config::default()
                };
                match self.protocol {
                    TerminalProtocol::ConcertV2 => Ok(Box::new(ConcertV2Client::new(link, config))),
                    TerminalProtocol::CaisseAp => {
                        let config = CaisseApConfig {
                            result_timeout: self.result_timeout,
                            ..CaisseApConfig::default()
                        };
                        Ok(Box::new(CaisseApClient::serial(link, config)))
                    }
                }
            }
        }
    }
}

/// The devices the till uses; `None` when it has none.
#[derive(Clone, Debug, Default)]
pub struct Devices {
    pub printer: Option<DeviceUri>,
    pub terminal: Option<TerminalSettings>,
}

/// The default wait for a card payment's result.
pub const DEFAULT_RESULT_TIMEOUT: Duration = Duration::from_secs(180);

impl Devices {
    /// Devices from their URI texts (`none` or empty: no device).
    pub fn from_uris(
        printer: Option<&str>,
        terminal: Option<&str>,
        result_timeout: Duration,
    ) -> ApiResult<Devices> {
        Ok(Devices {
            printer: printer.filter(|p| is_set(p)).map(printer_uri).transpose()?,
            terminal: terminal
                .filter(|t| is_set(t))
                .map(|t| TerminalSettings::from_uri(t, result_timeout))
                .transpose()?,
        })
    }

    pub fn printer_text(&self) -> String {
        self.printer
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "none".into())
    }

    pub fn terminal_text(&self) -> String {
        self.terminal
            .as_ref()
            .map(|t| t.uri.to_string())
            .unwrap_or_else(|| "none".into())
    }
}

fn is_set(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text != "none"
}

/// A printer URI: TCP defaults to port 9100.
pub fn printer_uri(text: &str) -> ApiResult<DeviceUri> {
    let uri: DeviceUri = text.trim().parse().map_err(|e| {
        ApiError::invalid(
            "device_uri_invalid",
            format!(
                "printer `{text}`: {e}; for example tcp://10.0.0.9:9100 or usblp:///dev/usb/lp0"
            ),
        )
    })?;
    Ok(uri.with_default_port(9100))
}

fn status_problem(status: &PrinterStatus) -> String {
    let mut problems = Vec::new();
    if status.paper == pos_escpos::Paper::Out {
        problems.push("out of paper: load a roll");
    }
    if status.cover_open {
        problems.push("cover open: close it");
    }
    if status.offline {
        problems.push("offline: check it is switched on");
    }
    if status.error {
        problems.push("in error: switch it off and on");
    }
    if problems.is_empty() {
        "not ready".into()
    } else {
        problems.join(", ")
    }
}

fn no_printer() -> DeviceResult {
    DeviceResult {
        ok: false,
        message: "no receipt printer is set up: a manager sets it in the settings".into(),
    }
}

fn connect_printer(
    uri: &DeviceUri,
) -> Result<Printer<Box<dyn pos_transport::Transport>>, DeviceResult> {
    pos_transport::open(uri)
        .map(|link| Printer::new(link, PrinterConfig::default()))
        .map_err(|e| DeviceResult {
            ok: false,
            message: format!("the printer at {uri} cannot be reached ({e}): check its cable and power, then reprint"),
        })
}

/// Sends a job to the printer once it reports itself ready.
pub fn print(uri: Option<&DeviceUri>, bytes: &[u8]) -> DeviceResult {
    let Some(uri) = uri else {
        return no_printer();
    };
    let mut printer = match connect_printer(uri) {
        Ok(p) => p,
        Err(result) => return result,
    };
    match printer.print_checked(bytes) {
        Ok(PrintOutcome::Sent) => DeviceResult {
            ok: true,
            message: "printed".into(),
        },
        Ok(PrintOutcome::NotReady(status)) => DeviceResult {
            ok: false,
            message: format!(
                "the printer is {}; then reprint the receipt",
                status_problem(&status)
            ),
        },
        Err(e) => DeviceResult {
            ok: false,
            message: format!("printing failed ({e}): check the printer, then reprint"),
        },
    }
}

/// Kicks the cash drawer through the printer.
pub fn open_drawer(uri: Option<&DeviceUri>) -> DeviceResult {
    let Some(uri) = uri else {
        return no_printer();
    };
    let mut printer = match connect_printer(uri) {
        Ok(p) => p,
        Err(result) => return result,
    };
    match printer.open_drawer(DrawerPulse::default()) {
        Ok(()) => DeviceResult {
            ok: true,
            message: "drawer opened".into(),
        },
        Err(e) => DeviceResult {
            ok: false,
            message: format!("the drawer did not open ({e}): open it with its key"),
        },
    }
}

/// The printer's state for the status bar.
pub fn printer_view(uri: Option<&DeviceUri>) -> DeviceView {
    let Some(uri) = uri else {
        let result = no_printer();
        return DeviceView {
            uri: "none".into(),
            ready: false,
            message: result.message,
        };
    };
    let status = connect_printer(uri).and_then(|mut p| {
        p.status().map_err(|e| DeviceResult {
            ok: false,
            message: format!("no answer from the printer ({e}): check its cable and power"),
        })
    });
    match status {
        Ok(status) if status.ready() => DeviceView {
            uri: uri.to_string(),
            ready: true,
            message: if status.paper == pos_escpos::Paper::NearEnd {
                "ready; paper near its end".into()
            } else {
                "ready".into()
            },
        },
        Ok(status) => DeviceView {
            uri: uri.to_string(),
            ready: false,
            message: status_problem(&status),
        },
        Err(result) => DeviceView {
            uri: uri.to_string(),
            ready: false,
            message: result.message,
        },
    }
}

/// ESC/POS bytes of a receipt rendered by the engine: its lines, the QR code a return scans,
/// the cut, and a drawer kick when cash changed hands.
pub fn receipt_bytes(text: &str, qr: Option<&str>, kick: bool) -> ApiResult<Vec<u8>> {
    let mut receipt = Receipt::new(ReceiptConfig {
        columns: RECEIPT_COLUMNS,
        ..ReceiptConfig::default()
    });
    for line in text.lines() {
        receipt.line(line);
    }
    if let Some(qr) = qr {
        receipt
            .qr(qr)
            .map_err(|e| ApiError::failure("receipt_encoding_failed", e.to_string()))?;
    }
    if kick {
        receipt.kick(DrawerPulse::default());
    }
    receipt.cut();
    Ok(receipt.finish())
}

/// A credit note's slip: its text, then its number as a QR code and as a Code 128, so any
/// scanner at the payment screen reads it (a 1D-only scanner included).
pub fn credit_note_bytes(text: &str, number: &str) -> ApiResult<Vec<u8>> {
    let mut receipt = Receipt::new(ReceiptConfig {
        columns: RECEIPT_COLUMNS,
        ..ReceiptConfig::default()
    });
    for line in text.lines() {
        receipt.line(line);
    }
    let failed =
        |e: pos_escpos::EncodeError| ApiError::failure("receipt_encoding_failed", e.to_string());
    receipt.qr(number).map_err(failed)?;
    receipt.code128(number).map_err(failed)?;
    receipt.cut();
    Ok(receipt.finish())
}

/// The printer test page.
pub fn test_page(shop: &str) -> ApiResult<Vec<u8>> {
    let mut receipt = Receipt::new(ReceiptConfig {
        columns: RECEIPT_COLUMNS,
        ..ReceiptConfig::default()
    });
    receipt.title("TEST IMPRIMANTE");
    receipt.centered(shop);
    receipt.line("Accents : é è à ç ù œ € « »");
    receipt.columns("Article", "12,50 €");
    receipt.rule('-');
    receipt
        .qr("POS-TEST")
        .map_err(|e| ApiError::failure("receipt_encoding_failed", e.to_string()))?;
    receipt.cut();
    Ok(receipt.finish())
}
