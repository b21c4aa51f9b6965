//! A receipt printer simulator: serves on a pty or TCP (port 9100 style), decodes what it
//! receives, answers status queries, and writes every receipt to a directory.
//!
//! Each receipt (split on cut; a receipt without a cut is written when the connection closes
//! or after [`SimConfig::idle_flush`] without data) becomes `receipt-NNNNNN.txt` (the text a
//! printer would print), `.png` (the rendered paper) and `.bin` (the raw bytes), numbered
//! monotonically: numbering continues after the highest number already in the directory.
//!
//! The printer's state is switched through [`SimHandle`] or, by hand, with control files in
//! the output directory: `paper-out`, `paper-near-end`, `cover-open`, `drawer-open` (present =
//! true). While the paper is out, receipts are discarded, as a real printer prints nothing.
//! A drawer kick opens the simulated drawer for [`SimConfig::drawer_open_time`].

use std::fs;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use pos_transport::{TcpLink, Transport};

use crate::decode::{Command, ModelConfig, Output, Parser, PrintedReceipt, PrinterModel};
use crate::render::{RenderOptions, render_png};
use crate::status::{self, DrawerPolarity, Paper, PrinterStatus};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where receipts are written (created if missing).
    pub out_dir: PathBuf,
    /// Printer model (table numbering, columns).
    pub model: ModelConfig,
    /// Drawer sensor polarity reported.
    pub polarity: DrawerPolarity,
    /// Write a receipt without a cut after this long without data (`None`: only on close).
    pub idle_flush: Option<Duration>,
    /// How long the drawer stays open after a kick.
    pub drawer_open_time: Duration,
    /// Read timeout of the serving loop (how often state changes are noticed).
    pub poll: Duration,
}

impl SimConfig {
    /// Defaults for a printer writing to `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> SimConfig {
        SimConfig {
            out_dir: out_dir.into(),
            model: ModelConfig::default(),
            polarity: DrawerPolarity::default(),
            idle_flush: Some(Duration::from_secs(2)),
            drawer_open_time: Duration::from_secs(3),
            poll: Duration::from_millis(50),
        }
    }
}

/// A receipt the simulator wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReceipt {
    /// Its number.
    pub number: u64,
    /// The `.txt` file.
    pub txt: PathBuf,
    /// The `.png` file.
    pub png: PathBuf,
    /// The `.bin` file.
    pub bin: PathBuf,
    /// The decoded text.
    pub text: String,
    /// Whether it ended with a cut.
    pub cut: bool,
}

/// Something that happened in the simulator, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// A receipt was written.
    Receipt(WrittenReceipt),
    /// A receipt arrived while the paper was out and was not printed.
    Discarded {
        /// Its text.
        text: String,
    },
    /// The drawer was kicked.
    DrawerKick {
        /// Pin 2 or 5.
        pin: u8,
    },
    /// A status query was answered.
    Status {
        /// The `n` of `DLE EOT n`.
        request: u8,
        /// The answer byte.
        answer: u8,
    },
}

type Observer = Arc<dyn Fn(&SimEvent) + Send + Sync>;

struct State {
    status: PrinterStatus,
    drawer_until: Option<Instant>,
    next_number: u64,
    events: Vec<SimEvent>,
}

struct Shared {
    config: SimConfig,
    state: Mutex<State>,
    changed: Condvar,
    observer: Option<Observer>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the whole simulator down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The status as reported: the API state overlaid with the control files.
    fn status(&self) -> PrinterStatus {
        let mut st = self.lock();
        if st.drawer_until.is_some_and(|t| Instant::now() >= t) {
            st.drawer_until = None;
        }
        let mut s = st.status;
        s.drawer_open |= st.drawer_until.is_some();
        drop(st);
        let dir = &self.config.out_dir;
        if dir.join("paper-out").exists() {
            s.paper = Paper::Out;
        } else if dir.join("paper-near-end").exists() && s.paper == Paper::Ok {
            s.paper = Paper::NearEnd;
        }
        s.cover_open |= dir.join("cover-open").exists();
        s.drawer_open |= dir.join("drawer-open").exists();
        s
    }

    fn emit(&self, event: SimEvent) {
        if let Some(o) = &self.observer {
            o(&event);
        }
        self.lock().events.push(event);
        self.changed.notify_all();
    }

    fn write_receipt(&self, receipt: &PrintedReceipt, raw: &[u8]) -> io::Result<()> {
        let text = receipt.text();
        if self.status().paper == Paper::Out {
            self.emit(SimEvent::Discarded { text });
            return Ok(());
        }
        let number = {
            let mut st = self.lock();
            let n = st.next_number;
            st.next_number += 1;
            n
        };
        let base = self.config.out_dir.join(format!("receipt-{number:06}"));
        let txt = base.with_extension("txt");
        let png = base.with_extension("png");
        let bin = base.with_extension("bin");
        fs::write(&bin, raw)?;
        let image = render_png(
            receipt,
            RenderOptions {
                columns: self.config.model.columns,
            },
        );
        fs::write(&png, image)?;
        // The .txt is written last: a watcher that sees it can read the other two.
        fs::write(&txt, &text)?;
        self.emit(SimEvent::Receipt(WrittenReceipt {
            number,
            txt,
            png,
            bin,
            text,
            cut: receipt.cut.is_some(),
        }));
        Ok(())
    }
}

/// Controls a running simulator.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    /// Sets the paper state.
    pub fn set_paper(&self, paper: Paper) {
        self.shared.lock().status.paper = paper;
    }

    /// Opens or closes the cover.
    pub fn set_cover_open(&self, open: bool) {
        self.shared.lock().status.cover_open = open;
    }

    /// Opens or closes the drawer (as a cashier would).
    pub fn set_drawer_open(&self, open: bool) {
        let mut st = self.shared.lock();
        st.status.drawer_open = open;
        if !open {
            st.drawer_until = None;
        }
    }

    /// The status the simulator reports now.
    pub fn status(&self) -> PrinterStatus {
        self.shared.status()
    }

    /// Events so far.
    pub fn events(&self) -> Vec<SimEvent> {
        self.shared.lock().events.clone()
    }

    /// Receipts written so far.
    pub fn receipts(&self) -> Vec<WrittenReceipt> {
        receipts_of(&self.shared.lock().events)
    }

    /// Waits until at least `n` receipts were written or `timeout` passed; returns them.
    pub fn wait_receipts(&self, n: usize, timeout: Duration) -> Vec<WrittenReceipt> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            let got = receipts_of(&st.events);
            let left = deadline.saturating_duration_since(Instant::now());
            if got.len() >= n || left.is_zero() {
                return got;
            }
            st = match self.shared.changed.wait_timeout(st, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

fn receipts_of(events: &[SimEvent]) -> Vec<WrittenReceipt> {
    events
        .iter()
        .filter_map(|e| match e {
            SimEvent::Receipt(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// Highest `receipt-NNNNNN.*` number in `dir`, or 0.
fn highest_number(dir: &Path) -> io::Result<u64> {
    let mut max = 0;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("receipt-")
            .and_then(|r| r.split('.').next())
            .and_then(|d| d.parse::<u64>().ok())
        {
            max = max.max(n);
        }
    }
    Ok(max)
}

/// The printer simulator.
#[derive(Clone)]
pub struct PrinterSim {
    shared: Arc<Shared>,
}

impl PrinterSim {
    /// A simulator writing to `config.out_dir` (created if missing).
    pub fn new(config: SimConfig) -> io::Result<PrinterSim> {
        PrinterSim::with_observer(config, None)
    }

    /// Like [`PrinterSim::new`], calling `observer` on every event (for logging).
    pub fn with_observer(config: SimConfig, observer: Option<Observer>) -> io::Result<PrinterSim> {
        fs::create_dir_all(&config.out_dir)?;
        let next_number = highest_number(&config.out_dir)? + 1;
        Ok(PrinterSim {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    status: PrinterStatus::default(),
                    drawer_until: None,
                    next_number,
                    events: Vec::new(),
                }),
                changed: Condvar::new(),
                observer,
            }),
        })
    }

    /// A handle to switch the state and watch events.
    pub fn handle(&self) -> SimHandle {
        SimHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves one link until it closes, `stop` is set, or an I/O error occurs.
    pub fn serve_link<T: Transport>(&self, mut link: T, stop: &AtomicBool) -> io::Result<()> {
        let cfg = &self.shared.config;
        link.set_read_timeout(cfg.poll)?;
        let mut conn = Connection {
            shared: &self.shared,
            parser: Parser::new(),
            model: PrinterModel::new(cfg.model.clone()),
            raw: Vec::new(),
            asb: None,
            last_data: Instant::now(),
        };
        let mut buf = [0u8; 4096];
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                break Ok(());
            }
            match link.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    conn.last_data = Instant::now();
                    if let Err(e) = conn.feed(&buf[..n], &mut link) {
                        break Err(e);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if let Err(e) = conn.idle(&mut link) {
                        break Err(e);
                    }
                }
                // A client that hangs up mid-write surfaces as a reset: that is a close.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                    ) =>
                {
                    break Ok(());
                }
                Err(e) => break Err(e),
            }
        };
        conn.flush_pending()?;
        result
    }

    /// Accepts TCP connections (one thread each) until `stop` is set.
    pub fn serve_tcp(&self, listener: TcpListener, stop: Arc<AtomicBool>) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let mut workers = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false)?;
                    let link = TcpLink::from_stream(stream)?;
                    let sim = self.clone();
                    let stop = stop.clone();
                    workers.push(thread::spawn(move || {
                        if let Err(e) = sim.serve_link(link, &stop) {
                            eprintln!("printer simulator connection ended: {e}");
                        }
                    }));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    thread::sleep(self.shared.config.poll);
                }
                Err(e) => return Err(e),
            }
            workers.retain(|w| !w.is_finished());
        }
        for w in workers {
            let _ = w.join();
        }
        Ok(())
    }
}

/// Per-link state: parser, printer model, raw bytes of the receipt in progress.
struct Connection<'a> {
    shared: &'a Shared,
    parser: Parser,
    model: PrinterModel,
    raw: Vec<u8>,
    /// Last status sent by automatic status back, when enabled.
    asb: Option<Option<PrinterStatus>>,
    last_data: Instant,
}

impl Connection<'_> {
    fn feed(&mut self, bytes: &[u8], link: &mut impl Write) -> io::Result<()> {
        self.parser.push(bytes);
        while let Some((cmd, raw)) = self.parser.next_command_raw() {
            // Real-time status queries talk to the printer, they are not part of the job.
            if !matches!(cmd, Command::StatusQuery(_) | Command::TransmitStatus(_)) {
                self.raw.extend_from_slice(&raw);
            }
            let mut outs = Vec::new();
            self.model.apply(cmd, &mut outs);
            for o in outs {
                self.handle(o, link)?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, o: Output, link: &mut impl Write) -> io::Result<()> {
        let polarity = self.shared.config.polarity;
        match o {
            Output::Receipt(r) => {
                let raw = std::mem::take(&mut self.raw);
                self.shared.write_receipt(&r, &raw)?;
            }
            Output::StatusQuery(n) => {
                let answer = status::answer_byte(&self.shared.status(), n, polarity);
                link.write_all(&[answer])?;
                link.flush()?;
                self.shared.emit(SimEvent::Status { request: n, answer });
            }
            Output::TransmitStatus(n) => {
                let s = self.shared.status();
                let answer = match n {
                    1 | 49 => match s.paper {
                        Paper::Ok => 0,
                        Paper::NearEnd => 0x03,
                        Paper::Out => 0x0F,
                    },
                    2 | 50 => u8::from(polarity.bit(s.drawer_open)),
                    _ => 0,
                };
                link.write_all(&[answer])?;
                link.flush()?;
            }
            Output::AutoStatus(mask) => {
                self.asb = (mask != 0).then_some(None);
                self.send_asb_if_changed(link)?;
            }
            Output::DrawerKick { pin, on_ms: _ } => {
                let until = Instant::now() + self.shared.config.drawer_open_time;
                self.shared.lock().drawer_until = Some(until);
                self.shared.emit(SimEvent::DrawerKick { pin });
            }
            Output::Unknown(_) => {}
        }
        Ok(())
    }

    fn send_asb_if_changed(&mut self, link: &mut impl Write) -> io::Result<()> {
        if let Some(last) = self.asb {
            let now = self.shared.status();
            if last != Some(now) {
                link.write_all(&status::asb_bytes(&now, self.shared.config.polarity))?;
                link.flush()?;
                self.asb = Some(Some(now));
            }
        }
        Ok(())
    }

    fn idle(&mut self, link: &mut impl Write) -> io::Result<()> {
        self.send_asb_if_changed(link)?;
        if let Some(after) = self.shared.config.idle_flush
            && self.last_data.elapsed() >= after
            && self.parser.pending() == 0
        {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Writes what was printed since the last cut as a receipt without a cut.
    fn flush_pending(&mut self) -> io::Result<()> {
        if let Some(r) = self.model.take_pending() {
            let raw = std::mem::take(&mut self.raw);
            self.shared.write_receipt(&r, &raw)?;
        } else if self.parser.pending() == 0 {
            // Only commands (status queries, init) since the last receipt: not a receipt.
            self.raw.clear();
        }
        Ok(())
    }
}
