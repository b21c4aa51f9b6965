//! Printer commands: `print-test`, `drawer`, `printer-status` and `sim printer`.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use pos_escpos::client::{PrintOutcome, Printer, PrinterConfig};
use pos_escpos::decode::ModelConfig;
use pos_escpos::sim::{PrinterSim, SimConfig, SimEvent};
use pos_escpos::{
    Bitmap, CodeTable, DrawerPin, DrawerPolarity, DrawerPulse, Encoder, EncoderConfig, Paper,
    PrinterStatus, Receipt, ReceiptConfig, TableNumbers,
};
use pos_transport::{DeviceUri, Transport};
use serde_json::{Value, json};

/// Default TCP port of network receipt printers (raw printing, "JetDirect").
const PRINTER_PORT: u16 = 9100;

/// Code table used for text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableArg {
    /// Windows-1252 (has €, œ, ’, –): preferred.
    Wpc1252,
    /// PC858 (€ at 0xD5; œ, ’, – transliterated).
    Pc858,
}

/// Drawer sensor wiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolarityArg {
    /// Sensor bit set = drawer open.
    HighIsOpen,
    /// Sensor bit set = drawer closed.
    HighIsClosed,
}

impl From<PolarityArg> for DrawerPolarity {
    fn from(p: PolarityArg) -> Self {
        match p {
            PolarityArg::HighIsOpen => DrawerPolarity::HighIsOpen,
            PolarityArg::HighIsClosed => DrawerPolarity::HighIsClosed,
        }
    }
}

/// `posdev print-test`.
#[derive(Debug, clap::Args)]
pub struct PrintTestArgs {
    /// Printer URI: serial:///dev/ttyUSB0?baud=19200, usblp:///dev/usb/lp0, `tcp://10.0.0.9[:9100]`.
    #[arg(long)]
    pub printer: String,
    /// Code table for text.
    #[arg(long, value_enum, default_value = "wpc1252")]
    pub table: TableArg,
    /// This printer's `ESC t` number for the table (clones differ; Epson: WPC1252 16, PC858 19).
    #[arg(long)]
    pub table_number: Option<u8>,
    /// Characters per line: 32 (58 mm), 42 or 48 (80 mm).
    #[arg(long, default_value_t = 48)]
    pub columns: usize,
    /// A PNG logo printed at the top (thresholded to black and white; at most the paper width,
    /// 12 dots per column).
    #[arg(long)]
    pub logo: Option<PathBuf>,
    /// Print without asking the status first (printers without a back channel).
    #[arg(long)]
    pub no_status: bool,
    /// How long to wait for each status answer, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub timeout_ms: u64,
}

/// `posdev drawer`.
#[derive(Debug, clap::Args)]
pub struct DrawerArgs {
    /// Printer URI the drawer is connected to.
    #[arg(long)]
    pub printer: String,
    /// Drawer connector pin: 2 (drawer 1) or 5 (drawer 2).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=5))]
    pub pin: u8,
    /// Pulse on time in milliseconds (2..=510).
    #[arg(long, default_value_t = 50)]
    pub on_ms: u64,
    /// Pause after the pulse in milliseconds (2..=510).
    #[arg(long, default_value_t = 500)]
    pub off_ms: u64,
    /// Use the real-time pulse (`DLE DC4 1 m t`, on time in 100 ms units), which printers
    /// execute even while offline or out of paper.
    #[arg(long)]
    pub realtime: bool,
}

/// `posdev printer-status`.
#[derive(Debug, clap::Args)]
pub struct PrinterStatusArgs {
    /// Printer URI.
    #[arg(long)]
    pub printer: String,
    /// Drawer sensor wiring.
    #[arg(long, value_enum, default_value = "high-is-open")]
    pub polarity: PolarityArg,
    /// How long to wait for each status answer, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub timeout_ms: u64,
}

/// `posdev sim printer`.
#[derive(Debug, clap::Args)]
pub struct SimPrinterArgs {
    /// Serve on a new pseudo-terminal (its path is printed first).
    #[arg(long, conflicts_with = "listen")]
    pub pty: bool,
    /// Serve on a TCP address, e.g. 127.0.0.1:9100 (port 0 picks a free one; printed first).
    #[arg(long)]
    pub listen: Option<String>,
    /// Directory receiving receipt-NNNNNN.txt/.png/.bin; control files there switch the state
    /// (paper-out, paper-near-end, cover-open, drawer-open).
    #[arg(long)]
    pub out: PathBuf,
    /// Characters per line of the simulated paper.
    #[arg(long, default_value_t = 48)]
    pub columns: usize,
    /// Write a receipt that was never cut after this many milliseconds without data.
    #[arg(long, default_value_t = 2000)]
    pub idle_flush_ms: u64,
}

fn open(uri: &str) -> anyhow::Result<Box<dyn Transport>> {
    let uri: DeviceUri = uri
        .parse::<DeviceUri>()
        .with_context(|| format!("bad printer URI {uri:?}"))?
        .with_default_port(PRINTER_PORT);
    pos_transport::open(&uri).with_context(|| format!("cannot open printer {uri}"))
}

fn out(value: Value, text: impl std::fmt::Display, json: bool) {
    let mut o = std::io::stdout().lock();
    let _ = if json {
        writeln!(o, "{value}")
    } else {
        writeln!(o, "{text}")
    };
    let _ = o.flush();
}

fn paper_name(p: Paper) -> &'static str {
    match p {
        Paper::Ok => "ok",
        Paper::NearEnd => "near-end",
        Paper::Out => "out",
    }
}

fn status_json(s: &PrinterStatus) -> Value {
    json!({
        "ready": s.ready(),
        "paper": paper_name(s.paper),
        "cover_open": s.cover_open,
        "drawer_open": s.drawer_open,
        "offline": s.offline,
        "error": s.error,
    })
}

fn status_text(s: &PrinterStatus) -> String {
    format!(
        "{} (paper {}, cover {}, drawer {}{}{})",
        if s.ready() { "ready" } else { "NOT READY" },
        paper_name(s.paper),
        if s.cover_open { "open" } else { "closed" },
        if s.drawer_open { "open" } else { "closed" },
        if s.offline { ", offline" } else { "" },
        if s.error { ", error" } else { "" },
    )
}

/// The test receipt: accents, €, typography the table may lack, columns, EAN-13, QR, cut.
pub fn test_receipt(config: ReceiptConfig, logo: Option<&Bitmap>) -> anyhow::Result<Vec<u8>> {
    let mut r = Receipt::new(config);
    if let Some(logo) = logo {
        r.logo(logo)?;
    }
    r.title("TEST POSDEV");
    r.centered("Imprimante de caisse");
    r.rule('=');
    r.paragraph("Accents : é è ê à â ç ù û ô î ï ë");
    r.paragraph("Majuscules : É È À Ç Ù Ô");
    r.paragraph("Ligatures : œ Œ æ");
    r.paragraph("Typographie : l’été – « guillemets »…");
    r.columns("Café crème", "2,50 €");
    r.columns("Bœuf bourguignon", "14,90 €");
    r.bold_columns("TOTAL", "17,40 €");
    r.rule('-');
    r.ean13("4006381333931")?;
    r.qr("https://example.invalid/posdev/print-test")?;
    r.centered("Fin du test");
    r.cut();
    Ok(r.finish())
}

/// `posdev print-test`.
pub fn print_test(args: &PrintTestArgs, json: bool) -> anyhow::Result<()> {
    let table = match args.table {
        TableArg::Wpc1252 => CodeTable::Wpc1252,
        TableArg::Pc858 => CodeTable::Pc858,
    };
    let mut numbers = TableNumbers::default();
    if let Some(n) = args.table_number {
        match table {
            CodeTable::Wpc1252 => numbers.wpc1252 = n,
            _ => numbers.pc858 = n,
        }
    }
    let logo = match &args.logo {
        Some(path) => {
            let data =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let bitmap = Bitmap::from_png(&data, 128)
                .with_context(|| format!("cannot use {} as a logo", path.display()))?;
            let paper = args.columns * 12;
            if bitmap.width() > paper {
                bail!(
                    "logo is {} dots wide, the paper {paper} ({} columns)",
                    bitmap.width(),
                    args.columns
                );
            }
            Some(bitmap)
        }
        None => None,
    };
    let bytes = test_receipt(
        ReceiptConfig {
            encoder: EncoderConfig { table, numbers },
            columns: args.columns,
            ..ReceiptConfig::default()
        },
        logo.as_ref(),
    )?;
    let mut printer = Printer::new(
        open(&args.printer)?,
        PrinterConfig {
            answer_timeout: Duration::from_millis(args.timeout_ms),
            ..PrinterConfig::default()
        },
    );
    if args.no_status {
        printer.print(&bytes)?;
    } else if let PrintOutcome::NotReady(s) = printer.print_checked(&bytes)? {
        bail!("printer not ready, nothing printed: {}", status_text(&s));
    }
    out(
        json!({"printed": true, "printer": printer.describe(), "bytes": bytes.len()}),
        format!(
            "test receipt sent to {} ({} bytes)",
            printer.describe(),
            bytes.len()
        ),
        json,
    );
    Ok(())
}

/// `posdev drawer`.
pub fn drawer(args: &DrawerArgs, json: bool) -> anyhow::Result<()> {
    let pin = match args.pin {
        2 => DrawerPin::Pin2,
        5 => DrawerPin::Pin5,
        p => bail!("drawer pin must be 2 or 5, not {p}"),
    };
    let mut printer = Printer::new(open(&args.printer)?, PrinterConfig::default());
    if args.realtime {
        let mut e = Encoder::new(EncoderConfig::default());
        e.kick_realtime(pin, Duration::from_millis(args.on_ms));
        printer.print(e.bytes())?;
    } else {
        printer.open_drawer(DrawerPulse {
            pin,
            on: Duration::from_millis(args.on_ms),
            off: Duration::from_millis(args.off_ms),
        })?;
    }
    out(
        json!({"kicked": true, "printer": printer.describe(), "pin": args.pin, "on_ms": args.on_ms, "off_ms": args.off_ms}),
        format!(
            "drawer pulse sent on pin {} via {}",
            args.pin,
            printer.describe()
        ),
        json,
    );
    Ok(())
}

/// `posdev printer-status`.
pub fn printer_status(args: &PrinterStatusArgs, json: bool) -> anyhow::Result<()> {
    let mut printer = Printer::new(
        open(&args.printer)?,
        PrinterConfig {
            answer_timeout: Duration::from_millis(args.timeout_ms),
            polarity: args.polarity.into(),
            ..PrinterConfig::default()
        },
    );
    let s = printer.status()?;
    let mut v = status_json(&s);
    v["printer"] = json!(printer.describe());
    out(
        v,
        format!("{}: {}", printer.describe(), status_text(&s)),
        json,
    );
    Ok(())
}

fn print_sim_event(e: &SimEvent, json: bool) {
    match e {
        SimEvent::Receipt(r) => out(
            json!({
                "event": "receipt", "number": r.number, "cut": r.cut,
                "txt": r.txt, "png": r.png, "bin": r.bin, "text": r.text,
            }),
            format!(
                "receipt {:06} ({}): {}\n{}",
                r.number,
                if r.cut { "cut" } else { "no cut" },
                r.txt.display(),
                r.text
            ),
            json,
        ),
        SimEvent::Discarded { text } => out(
            json!({"event": "discarded", "reason": "paper out", "text": text}),
            "paper out: receipt not printed",
            json,
        ),
        SimEvent::DrawerKick { pin } => out(
            json!({"event": "drawer", "pin": pin}),
            format!("drawer kicked (pin {pin})"),
            json,
        ),
        SimEvent::Status { request, answer } => out(
            json!({"event": "status", "request": request, "answer": answer}),
            format!("status query {request} -> {answer:#04x}"),
            json,
        ),
    }
}

/// `posdev sim printer`.
pub fn sim_printer(args: &SimPrinterArgs, json: bool) -> anyhow::Result<()> {
    let mut config = SimConfig::new(&args.out);
    config.model = ModelConfig {
        columns: args.columns,
        ..ModelConfig::default()
    };
    config.idle_flush = (args.idle_flush_ms > 0).then(|| Duration::from_millis(args.idle_flush_ms));
    let observer: Arc<dyn Fn(&SimEvent) + Send + Sync> =
        Arc::new(move |e: &SimEvent| print_sim_event(e, json));
    let sim = PrinterSim::with_observer(config, Some(observer))
        .with_context(|| format!("cannot use output directory {}", args.out.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let out_dir = args.out.display().to_string();
    if let Some(addr) = &args.listen {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?.to_string();
        out(json!({"listen": local, "out": out_dir}), &local, json);
        sim.serve_tcp(listener, stop)?;
        return Ok(());
    }
    if !args.pty {
        bail!("give --pty or --listen ADDR");
    }
    let (master, path) = pos_transport::pty_pair()?;
    out(json!({"pty": path, "out": out_dir}), &path, json);
    sim.serve_link(master, &stop)?;
    Ok(())
}
