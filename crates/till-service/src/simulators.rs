//! The device simulators of `drivers/`, started in this process on real TCP sockets
//! (127.0.0.1, port 0) for tests, browser tests and `make run`: the ESC/POS printer, which
//! writes every receipt to a directory, and a Caisse-AP payment terminal with a chosen
//! behaviour. The service talks to them exactly as to real devices, by URI.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pos_escpos::sim::{PrinterSim, SimConfig, SimHandle, WrittenReceipt};
use pos_payment_terminal::sim::{Behaviour, SimEvent};

/// A printer simulator serving on 127.0.0.1; stopped when dropped.
pub struct PrinterSimulator {
    uri: String,
    out_dir: PathBuf,
    handle: SimHandle,
    stop: Arc<AtomicBool>,
}

impl PrinterSimulator {
    /// Starts a printer writing its receipts to `out_dir` (`receipt-NNNNNN.txt`, `.png`, `.bin`).
    pub fn start(out_dir: &Path) -> io::Result<PrinterSimulator> {
        let mut config = SimConfig::new(out_dir);
        // Each job ends with a cut or a closed connection: no need to wait for idle data.
        config.idle_flush = Some(Duration::from_millis(300));
        let sim = PrinterSim::new(config)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let uri = format!("tcp://{}", listener.local_addr()?);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = sim.handle();
        let flag = stop.clone();
        std::thread::spawn(move || {
            if let Err(error) = sim.serve_tcp(listener, flag) {
                tracing::error!(%error, "printer simulator stopped");
            }
        });
        Ok(PrinterSimulator {
            uri,
            out_dir: out_dir.to_path_buf(),
            handle,
            stop,
        })
    }

    /// Its device URI (`tcp://127.0.0.1:PORT`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Switches paper, cover and drawer states, and reads what was printed.
    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    /// Waits until at least `n` receipts were written (or `timeout`), and returns them.
    pub fn wait_receipts(&self, n: usize, timeout: Duration) -> Vec<WrittenReceipt> {
        self.handle.wait_receipts(n, timeout)
    }
}

impl Drop for PrinterSimulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A Caisse-AP payment terminal simulator on 127.0.0.1; stopped when dropped.
pub struct TerminalSimulator {
    uri: String,
    /// Behind a mutex so the app's state holding it can be shared between threads.
    events: Mutex<Receiver<SimEvent>>,
    stop: Arc<AtomicBool>,
}

impl TerminalSimulator {
    /// Starts a terminal with a behaviour list such as `amount-rule` (approve, except amounts
    /// ending in .13), `decline`, `never-answer`, `delay=2000` (see `drivers/README.md`).
    pub fn start(behaviour: &str) -> Result<TerminalSimulator, String> {
        let behaviour: Behaviour = behaviour.parse()?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let uri = format!(
            "tcp://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let (sender, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            if let Err(error) =
                pos_payment_terminal::sim::caisse_ap::serve(listener, behaviour, sender, flag)
            {
                tracing::error!(%error, "terminal simulator stopped");
            }
        });
        Ok(TerminalSimulator {
            uri,
            events: Mutex::new(events),
            stop,
        })
    }

    /// Its device URI (`tcp://127.0.0.1:PORT`, Caisse-AP).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// What the simulator did so far.
    pub fn events(&self) -> Vec<SimEvent> {
        match self.events.lock() {
            Ok(events) => events.try_iter().collect(),
            Err(poisoned) => poisoned.into_inner().try_iter().collect(),
        }
    }
}

impl Drop for TerminalSimulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A customer display simulator on 127.0.0.1 (DM-D bytes over TCP, as a serial-to-Ethernet
/// adapter would carry them): each screen it shows is appended to `display.log` in its
/// directory as one line, `top|bottom`; stopped when dropped.
pub struct DisplaySimulator {
    uri: String,
    log: PathBuf,
    stop: Arc<AtomicBool>,
}

impl DisplaySimulator {
    pub fn start(out_dir: &Path) -> io::Result<DisplaySimulator> {
        std::fs::create_dir_all(out_dir)?;
        let log = out_dir.join("display.log");
        std::fs::write(&log, b"")?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let uri = format!("tcp://{}", listener.local_addr()?);
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, path) = (stop.clone(), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(link) = stream.and_then(pos_transport::tcp::TcpLink::from_stream) else {
                    continue;
                };
                let (flag, path) = (flag.clone(), path.clone());
                std::thread::spawn(move || {
                    let settle = Duration::from_millis(50);
                    let shown =
                        pos_customer_display::sim::serve_link(link, &flag, settle, |lines| {
                            use std::io::Write;
                            let line = format!("{}|{}\n", lines[0].trim_end(), lines[1].trim_end());
                            if let Ok(mut file) =
                                std::fs::OpenOptions::new().append(true).open(&path)
                            {
                                let _ = file.write_all(line.as_bytes());
                            }
                        });
                    if let Err(error) = shown {
                        tracing::warn!(%error, "display simulator link closed");
                    }
                });
            }
        });
        Ok(DisplaySimulator { uri, log, stop })
    }

    /// Its device URI (`tcp://127.0.0.1:PORT`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Every screen shown so far, oldest first, as `top|bottom` (trailing spaces cut).
    pub fn screens(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for DisplaySimulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Devices from command-line URIs, where `sim:...` starts a simulator in this process:
/// `sim:DIR` for the printer (receipts written to DIR), `sim:BEHAVIOUR` for the terminal.
pub struct DeviceSetup {
    pub devices: crate::devices::Devices,
    /// The printer URI actually used (the simulator's address for `sim:`).
    pub printer: String,
    pub terminal: String,
    pub printer_sim: Option<PrinterSimulator>,
    pub terminal_sim: Option<TerminalSimulator>,
}

impl DeviceSetup {
    pub fn from_args(
        printer: &str,
        terminal: &str,
        result_timeout: Duration,
    ) -> Result<DeviceSetup, String> {
        let printer_sim = match printer.strip_prefix("sim:") {
            Some(dir) => Some(
                PrinterSimulator::start(Path::new(if dir.is_empty() {
                    "out/receipts"
                } else {
                    dir
                }))
                .map_err(|e| format!("starting the printer simulator: {e}"))?,
            ),
            None => None,
        };
        let terminal_sim = match terminal.strip_prefix("sim:") {
            Some(behaviour) => Some(
                TerminalSimulator::start(if behaviour.is_empty() {
                    "amount-rule"
                } else {
                    behaviour
                })
                .map_err(|e| format!("starting the terminal simulator: {e}"))?,
            ),
            None => None,
        };
        let printer = printer_sim
            .as_ref()
            .map(|s| s.uri().to_string())
            .unwrap_or_else(|| printer.to_string());
        let terminal = terminal_sim
            .as_ref()
            .map(|s| s.uri().to_string())
            .unwrap_or_else(|| terminal.to_string());
        let devices =
            crate::devices::Devices::from_uris(Some(&printer), Some(&terminal), result_timeout)
                .map_err(|e| e.message)?;
        Ok(DeviceSetup {
            devices,
            printer,
            terminal,
            printer_sim,
            terminal_sim,
        })
    }
}
