//! A serial barcode scanner (RS232 or USB-CDC mode, `drivers/scanner`) named by its device
//! URI: a thread of its own reads its codes into a short numbered queue, and the sale screen
//! collects them with `scanned_codes` and handles each exactly as a keyboard-wedge scan.
//!
//! A scanner unplugged or failing only shows in its status: the thread opens the link again
//! a second later, and nothing in a sale ever waits for it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pos_scanner::{Scanner, ScannerConfig, ScannerError};
use pos_transport::DeviceUri;

use crate::api::{DeviceView, ScannedCode, ScannedCodes, ScannedCodesRequest};
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};

/// Codes kept for the screen to collect: older ones are dropped (nobody scans 64 codes
/// between two polls of the sale screen).
const KEPT: usize = 64;
/// The longest a `scanned_codes` call waits for a code.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// Before opening the link again after a failure.
const REOPEN_AFTER: Duration = Duration::from_secs(1);

struct Queue {
    codes: VecDeque<ScannedCode>,
    next: u32,
    status: (bool, String),
}

struct Shared {
    queue: Mutex<Queue>,
    arrived: Condvar,
    stop: AtomicBool,
}

/// The scanner's reading thread; stopped when dropped.
pub struct SerialScanner {
    uri: DeviceUri,
    shared: Arc<Shared>,
}

impl SerialScanner {
    /// Starts reading the scanner at `text` (`serial:///dev/ttyACM0`, `tcp://HOST:PORT`).
    pub fn start(text: &str) -> ApiResult<SerialScanner> {
        let uri: DeviceUri = text.trim().parse().map_err(|e| {
            ApiError::invalid(
                "device_uri_invalid",
                format!("scanner `{text}`: {e}; for example serial:///dev/ttyACM0?baud=9600"),
            )
        })?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                codes: VecDeque::new(),
                next: 1,
                status: (false, "opening the scanner".into()),
            }),
            arrived: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let (thread_uri, thread_shared) = (uri.clone(), shared.clone());
        std::thread::Builder::new()
            .name("serial-scanner".into())
            .spawn(move || read_codes(&thread_uri, &thread_shared))
            .map_err(|e| ApiError::failure("scanner_thread", e.to_string()))?;
        Ok(SerialScanner { uri, shared })
    }

    pub fn view(&self) -> DeviceView {
        let queue = lock(&self.shared.queue);
        DeviceView {
            uri: self.uri.to_string(),
            ready: queue.status.0,
            message: queue.status.1.clone(),
        }
    }

    /// The codes numbered after `after`, waiting up to `wait` for one, and the newest number.
    /// An `after` beyond the newest (a scanner set up again numbers from 1) counts from 0.
    fn codes_after(&self, after: u32, wait: Duration) -> (Vec<ScannedCode>, u32) {
        let queue = lock(&self.shared.queue);
        let after = if after >= queue.next { 0 } else { after };
        let (queue, _) = self
            .shared
            .arrived
            .wait_timeout_while(queue, wait, |q| q.next <= after + 1)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let codes = queue
            .codes
            .iter()
            .filter(|c| c.seq > after)
            .cloned()
            .collect();
        (codes, queue.next - 1)
    }
}

impl Drop for SerialScanner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn set_status(shared: &Shared, ready: bool, message: String) {
    lock(&shared.queue).status = (ready, message);
}

fn read_codes(uri: &DeviceUri, shared: &Shared) {
    while !shared.stop.load(Ordering::Relaxed) {
        let link = match pos_transport::open(uri) {
            Ok(link) => link,
            Err(error) => {
                set_status(
                    shared,
                    false,
                    format!("the scanner cannot be opened ({error}): check its cable and URI"),
                );
                std::thread::sleep(REOPEN_AFTER);
                continue;
            }
        };
        set_status(shared, true, "ready: scan a barcode".into());
        let mut scanner = Scanner::new(link, ScannerConfig::default());
        while !shared.stop.load(Ordering::Relaxed) {
            match scanner.read_code(Duration::from_millis(200)) {
                Ok(Some(code)) => push(shared, code),
                Ok(None) => {}
                // One bad code (cut short, too long) is skipped; the link stays.
                Err(ScannerError::Unterminated(_) | ScannerError::TooLong(_)) => {}
                Err(error) => {
                    set_status(
                        shared,
                        false,
                        format!("the scanner stopped answering ({error})"),
                    );
                    std::thread::sleep(REOPEN_AFTER);
                    break;
                }
            }
        }
    }
}

fn push(shared: &Shared, code: String) {
    let mut queue = lock(&shared.queue);
    let seq = queue.next;
    queue.next += 1;
    queue.status = (true, format!("last code read: {code}"));
    queue.codes.push_back(ScannedCode { seq, code });
    while queue.codes.len() > KEPT {
        queue.codes.pop_front();
    }
    shared.arrived.notify_all();
}

impl Service {
    /// Sets the serial scanner up (`none`: without) and saves it in the ledger like the
    /// printer.
    pub fn set_scanner(&self, staff: &str, uri: Option<&str>) -> ApiResult<()> {
        let saved = self.use_scanner(uri)?;
        lock(&self.till).set_device_setting(staff, "scanner", &saved)?;
        Ok(())
    }

    /// Reads the serial scanner at `uri` until the app stops, without saving it (a device
    /// given on the command line); answers the URI in force.
    pub fn use_scanner(&self, uri: Option<&str>) -> ApiResult<String> {
        let scanner = match uri.map(str::trim).filter(|u| !u.is_empty() && *u != "none") {
            Some(uri) => Some(SerialScanner::start(uri)?),
            None => None,
        };
        let in_force = scanner
            .as_ref()
            .map_or_else(|| "none".to_string(), |s| s.uri.to_string());
        *lock(&self.scanner) = scanner.map(Arc::new);
        Ok(in_force)
    }

    pub(crate) fn scanner_view(&self) -> DeviceView {
        match lock(&self.scanner).as_ref() {
            Some(scanner) => scanner.view(),
            None => DeviceView {
                uri: "none".into(),
                ready: false,
                message: "no serial scanner is set up (a keyboard-wedge scanner needs none)".into(),
            },
        }
    }

    /// The codes the serial scanner read after `after`, waiting up to `wait_ms` (at most 2 s)
    /// for one: the sale screen handles each as a keyboard-wedge scan.
    pub fn scanned_codes(&self, request: ScannedCodesRequest) -> ApiResult<ScannedCodes> {
        self.current()?;
        let scanner = lock(&self.scanner).clone();
        let wait = Duration::from_millis(u64::from(request.wait_ms.unwrap_or(0))).min(MAX_WAIT);
        let (codes, latest) = match &scanner {
            Some(scanner) => scanner.codes_after(request.after.unwrap_or(0), wait),
            None => (Vec::new(), 0),
        };
        Ok(ScannedCodes {
            codes,
            latest,
            scanner: self.scanner_view(),
        })
    }
}
