//! Customer display commands: `display` and `sim display`.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use pos_customer_display::{Charset, Display, sim};
use pos_escpos::CodeTable;
use pos_transport::DeviceUri;
use serde_json::json;

/// Character set of the display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CharsetArg {
    /// ASCII only: accents dropped, € shown as EUR (works on every display).
    Ascii,
    /// PC858, for a display on which € was verified (see --table-number).
    Pc858,
    /// WPC1252, for a display on which € was verified (see --table-number).
    Wpc1252,
}

/// `posdev display`.
#[derive(Debug, clap::Args)]
pub struct DisplayArgs {
    /// Display URI, e.g. serial:///dev/ttyUSB1?baud=9600.
    #[arg(long)]
    pub display: String,
    /// Text to show: the two lines separated by `|` or a newline (each cut to 20 columns).
    #[arg(long)]
    pub text: String,
    /// Character set; keep ascii unless € was verified on this display.
    #[arg(long, value_enum, default_value = "ascii")]
    pub charset: CharsetArg,
    /// The display's `ESC t` number for the table (default: 19 for PC858, 16 for WPC1252).
    #[arg(long)]
    pub table_number: Option<u8>,
}

/// `posdev sim display`.
#[derive(Debug, clap::Args)]
pub struct SimDisplayArgs {
    /// Serve on a new pseudo-terminal (its path is printed first).
    #[arg(long)]
    pub pty: bool,
}

fn out(value: serde_json::Value, text: impl std::fmt::Display, json: bool) {
    let mut o = std::io::stdout().lock();
    let _ = if json {
        writeln!(o, "{value}")
    } else {
        writeln!(o, "{text}")
    };
    let _ = o.flush();
}

/// Splits `--text` into the two lines.
pub fn split_lines(text: &str) -> (String, String) {
    let mut parts = text.splitn(2, ['|', '\n']);
    let top = parts.next().unwrap_or_default().to_string();
    let bottom = parts.next().unwrap_or_default().to_string();
    (top, bottom)
}

/// `posdev display`.
pub fn display(args: &DisplayArgs, json: bool) -> anyhow::Result<()> {
    let charset = match args.charset {
        CharsetArg::Ascii => Charset::Ascii,
        CharsetArg::Pc858 => Charset::Table {
            table: CodeTable::Pc858,
            number: args.table_number.unwrap_or(19),
        },
        CharsetArg::Wpc1252 => Charset::Table {
            table: CodeTable::Wpc1252,
            number: args.table_number.unwrap_or(16),
        },
    };
    let uri: DeviceUri = args
        .display
        .parse()
        .with_context(|| format!("bad display URI {:?}", args.display))?;
    let link = pos_transport::open(&uri).with_context(|| format!("cannot open display {uri}"))?;
    let mut d = Display::new(link, charset);
    let (top, bottom) = split_lines(&args.text);
    d.init()?;
    d.show(&top, &bottom)?;
    out(
        json!({"display": uri.to_string(), "lines": [top, bottom]}),
        format!("shown on {uri}:\n{top}\n{bottom}"),
        json,
    );
    Ok(())
}

/// `posdev sim display`.
pub fn sim_display(args: &SimDisplayArgs, json: bool) -> anyhow::Result<()> {
    if !args.pty {
        bail!("give --pty");
    }
    let (master, path) = pos_transport::pty_pair()?;
    out(json!({"pty": path}), &path, json);
    let stop = AtomicBool::new(false);
    sim::serve_link(master, &stop, Duration::from_millis(50), |lines| {
        out(json!({"lines": lines}), sim::framed(lines), json);
    })?;
    Ok(())
}
