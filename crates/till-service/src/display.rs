//! The customer display (an Epson DM-D pole display, `drivers/customer-display`) as the sale
//! drives it: each line scanned with the total, then what was paid and the change, then an
//! idle message.
//!
//! Screens go to a thread of their own through a channel, newest first: a display switched
//! off, unplugged or slow never blocks a sale (the cashier's request only queues the screen).
//! The link is opened on the first screen and again after a failure; the last outcome is
//! what the settings screen shows.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pos_customer_display::encoder::two_columns;
use pos_customer_display::{COLUMNS, Charset, Display};
use pos_transport::{DeviceUri, Transport};

use crate::api::DeviceResult;
use crate::error::{ApiError, ApiResult};

/// What the display shows: two lines of 20 columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    pub top: String,
    pub bottom: String,
}

impl Screen {
    /// A line just scanned (its label and amount) over the running total.
    pub fn line(label: &str, amount: &str, total: &str) -> Screen {
        Screen {
            top: two_columns(Charset::Ascii, label, amount),
            bottom: two_columns(Charset::Ascii, "TOTAL", total),
        }
    }

    /// The sale paid: the amount given and the change.
    pub fn paid(paid: &str, change: &str) -> Screen {
        Screen {
            top: two_columns(Charset::Ascii, "PAYE", paid),
            bottom: two_columns(Charset::Ascii, "RENDU", change),
        }
    }

    /// Between customers.
    pub fn idle(shop: &str) -> Screen {
        Screen {
            top: centered("Bienvenue"),
            bottom: centered(shop),
        }
    }
}

fn centered(text: &str) -> String {
    let text: String = text.chars().take(COLUMNS).collect();
    let pad = (COLUMNS - text.chars().count()) / 2;
    format!("{}{text}", " ".repeat(pad))
}

/// The display's link and the thread feeding it.
pub struct CustomerDisplay {
    uri: DeviceUri,
    screens: Sender<Screen>,
    last: Arc<Mutex<DeviceResult>>,
}

impl CustomerDisplay {
    /// A display on `text` (`serial:///dev/ttyUSB1?baud=9600`, `tcp://HOST:PORT`); nothing is
    /// opened until the first screen.
    pub fn from_uri(text: &str) -> ApiResult<CustomerDisplay> {
        let uri: DeviceUri = text.trim().parse().map_err(|e| {
            ApiError::invalid(
                "device_uri_invalid",
                format!("display `{text}`: {e}; for example serial:///dev/ttyUSB1?baud=9600"),
            )
        })?;
        let (screens, queued) = mpsc::channel();
        let last = Arc::new(Mutex::new(DeviceResult {
            ok: true,
            message: "nothing shown yet".into(),
        }));
        let feed_uri = uri.clone();
        let feed_last = last.clone();
        std::thread::Builder::new()
            .name("customer-display".into())
            .spawn(move || feed(&feed_uri, &queued, &feed_last))
            .map_err(|e| ApiError::failure("display_thread", e.to_string()))?;
        Ok(CustomerDisplay { uri, screens, last })
    }

    pub fn uri(&self) -> String {
        self.uri.to_string()
    }

    /// Queues `screen`; never waits for the device.
    pub fn show(&self, screen: Screen) {
        let _ = self.screens.send(screen);
    }

    /// The outcome of the newest screen sent.
    pub fn last_result(&self) -> DeviceResult {
        crate::service::lock(&self.last).clone()
    }
}

/// Sends each screen, skipping to the newest when several are waiting, until the service
/// drops the display.
fn feed(uri: &DeviceUri, queued: &Receiver<Screen>, last: &Mutex<DeviceResult>) {
    let mut display: Option<Display<Box<dyn Transport>>> = None;
    while let Ok(mut screen) = queued.recv() {
        while let Ok(newer) = queued.try_recv() {
            screen = newer;
        }
        let result = show(uri, &mut display, &screen);
        *crate::service::lock(last) = match result {
            Ok(()) => DeviceResult {
                ok: true,
                message: "shown".into(),
            },
            Err(error) => {
                // Opened again with the next screen: a display re-plugged comes back.
                display = None;
                tracing::warn!(%error, "customer display");
                DeviceResult {
                    ok: false,
                    message: format!(
                        "the customer display does not answer ({error}): check its cable and power; sales go on without it"
                    ),
                }
            }
        };
    }
}

fn show(
    uri: &DeviceUri,
    display: &mut Option<Display<Box<dyn Transport>>>,
    screen: &Screen,
) -> std::io::Result<()> {
    if display.is_none() {
        let options = pos_transport::OpenOptions {
            connect_timeout: Duration::from_secs(2),
            ..pos_transport::OpenOptions::default()
        };
        let link = pos_transport::open_with(uri, options).map_err(std::io::Error::other)?;
        let mut opened = Display::new(link, Charset::Ascii);
        opened.init()?;
        *display = Some(opened);
    }
    match display {
        Some(display) => display.show(&screen.top, &screen.bottom),
        None => Ok(()),
    }
}

impl crate::service::Service {
    /// Sets the customer display up (`None` or `none`: no display) and saves it in the
    /// ledger, so the till comes back with it; shows the idle message at once.
    pub fn set_display(&self, staff: &str, uri: Option<&str>) -> ApiResult<()> {
        let saved = self.use_display(uri)?;
        crate::service::lock(&self.till).set_device_setting(staff, "display", &saved)?;
        Ok(())
    }

    /// Uses the customer display at `uri` until the app stops, without saving it (a device
    /// given on the command line, like a simulator's); answers the URI in force.
    pub fn use_display(&self, uri: Option<&str>) -> ApiResult<String> {
        let display = match uri.map(str::trim).filter(|u| !u.is_empty() && *u != "none") {
            Some(uri) => Some(CustomerDisplay::from_uri(uri)?),
            None => None,
        };
        let in_force = display
            .as_ref()
            .map_or_else(|| "none".to_string(), CustomerDisplay::uri);
        *crate::service::lock(&self.display) = display;
        self.show_idle();
        Ok(in_force)
    }

    /// Queues `screen` on the customer display, if there is one (never waits for it).
    pub(crate) fn show_on_display(&self, screen: Screen) {
        if let Some(display) = crate::service::lock(&self.display).as_ref() {
            display.show(screen);
        }
    }

    /// The cart's newest line over its total (the idle message for an empty cart).
    pub(crate) fn show_cart(&self, ticket: &pos_domain::ticket::Ticket) {
        match ticket.lines.last() {
            Some(line) => self.show_on_display(Screen::line(
                &line.label,
                &line.total.to_string(),
                &ticket.total.to_string(),
            )),
            None => self.show_idle(),
        }
    }

    /// The idle message: the shop's name.
    pub(crate) fn show_idle(&self) {
        let shop = crate::service::lock(&self.till)
            .identity()
            .shop_name
            .clone();
        self.show_on_display(Screen::idle(&shop));
    }

    /// The display's URI and last outcome, for the settings screen.
    pub(crate) fn display_view(&self) -> crate::api::DeviceView {
        match crate::service::lock(&self.display).as_ref() {
            Some(display) => {
                let last = display.last_result();
                crate::api::DeviceView {
                    uri: display.uri(),
                    ready: last.ok,
                    message: last.message,
                }
            }
            None => crate::api::DeviceView {
                uri: "none".into(),
                ready: false,
                message: "no customer display is set up".into(),
            },
        }
    }

    /// Shows a test screen and waits a moment for its outcome (the settings screen's "test").
    pub fn test_display(&self, _: crate::api::Empty) -> ApiResult<DeviceResult> {
        self.current()?;
        if crate::service::lock(&self.display).is_none() {
            return Ok(DeviceResult {
                ok: false,
                message: "no customer display is set up: give its URI first".into(),
            });
        }
        self.show_on_display(Screen {
            top: "TEST AFFICHEUR".into(),
            bottom: "0123456789ABCDEFGHIJ".into(),
        });
        std::thread::sleep(Duration::from_millis(500));
        Ok(self.display_view_result())
    }

    fn display_view_result(&self) -> DeviceResult {
        let view = self.display_view();
        DeviceResult {
            ok: view.ready,
            message: view.message,
        }
    }
}
