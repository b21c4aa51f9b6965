//! `posdev pay`, `posdev intents` and `posdev sim terminal`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::channel;
use std::time::Duration;

use anyhow::{Context, bail};
use pos_payment_terminal::sim::concert::{Flavour, Stopped, serve};
use pos_payment_terminal::sim::{Behaviour, SimEvent, caisse_ap};
use pos_payment_terminal::{
    CaisseApClient, CaisseApConfig, ConcertV2Client, ConcertV2Config, FileJournal, Intent, Kind,
    LinkTimeouts, Outcome, PaymentError, PaymentRequest, PaymentTerminal, new_reference,
};
use pos_transport::{DeviceUri, OpenOptions, SerialLink, pty_pair};
use serde_json::json;

/// Exit codes of `posdev pay` (documented in drivers/README.md).
pub mod exit {
    pub const APPROVED: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const DECLINED: u8 = 3;
    pub const UNKNOWN: u8 = 4;
    pub const NOT_SENT: u8 = 5;
    pub const PARTIALLY_APPROVED: u8 = 6;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Concert V2, protocol E+ (serial / USB-CDC).
    ConcertV2,
    /// Caisse-AP (Concert V3): TCP, or inside Concert frames on serial.
    CaisseAp,
}

#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// Terminal URI: serial:///dev/ttyACM0, serial:///dev/serial/by-id/..., tcp://10.0.0.5 (port 8888 by default).
    #[arg(long)]
    pub terminal: String,
    /// Amount in the currency's units, e.g. 12.50 (at most 2 decimals; "," accepted).
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// Refund (credit) instead of debit.
    #[arg(long, conflicts_with = "cancel")]
    pub refund: bool,
    /// Cancel an earlier debit of this amount.
    #[arg(long)]
    pub cancel: bool,
    /// Our unique reference (default: generated, 10 characters).
    #[arg(long)]
    pub reference: Option<String>,
    /// Directory of the intent journal (default: $POSDEV_JOURNAL, else ~/.local/state/posdev).
    #[arg(long, env = "POSDEV_JOURNAL")]
    pub journal: Option<PathBuf>,
    /// Protocol (default: caisse-ap for tcp://, concert-v2 otherwise).
    #[arg(long, value_enum)]
    pub protocol: Option<Protocol>,
    /// Caisse-AP: accept a partial payment.
    #[arg(long)]
    pub partial: bool,
    /// ISO 4217 numeric currency code.
    #[arg(long, default_value = "978")]
    pub currency: String,
    /// Terminal number configured on the terminal.
    #[arg(long, default_value_t = 1)]
    pub terminal_number: u8,
    /// Seconds to wait for the result once the terminal took the request.
    #[arg(long, default_value_t = 180)]
    pub result_timeout: u64,
    /// Milliseconds to wait for each ACK.
    #[arg(long, default_value_t = 3000)]
    pub ack_timeout_ms: u64,
    /// ENQ attempts before giving up (Concert link layer).
    #[arg(long, default_value_t = 3)]
    pub enq_attempts: u32,
}

#[derive(Debug, clap::Args)]
pub struct IntentsArgs {
    /// Directory of the intent journal (default: $POSDEV_JOURNAL, else ~/.local/state/posdev).
    #[arg(long, env = "POSDEV_JOURNAL")]
    pub journal: Option<PathBuf>,
    /// Close an open intent after checking the terminal (its screen or merchant receipt).
    #[arg(long, requires = "note")]
    pub resolve: Option<String>,
    /// What the check found, e.g. "approved, merchant receipt 0042".
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("where").required(true).multiple(false)))]
pub struct SimTerminalArgs {
    /// Serve on a new pseudo-terminal; its path is printed on the first line.
    #[arg(long, group = "where")]
    pub concert_pty: bool,
    /// Serve on this serial device (path or serial:// URI).
    #[arg(long, group = "where")]
    pub concert_device: Option<String>,
    /// Serve Caisse-AP on this TCP address, e.g. 127.0.0.1:8888 (port 0: any free port).
    #[arg(long, group = "where")]
    pub caisse_ap_listen: Option<String>,
    /// Messages on the pty/device: concert-v2 (default) or caisse-ap inside Concert frames.
    #[arg(long, value_enum, default_value = "concert-v2")]
    pub protocol: Protocol,
    /// Comma-separated: amount-rule (default; cents 13 declined), approve, decline, partial,
    /// delay=MS, nak-first, never-answer, drop-after-ack.
    #[arg(long, default_value = "amount-rule")]
    pub behaviour: String,
}

/// Parses "12.50", "12,5", "12" into cents, without floating point.
pub fn parse_amount(text: &str) -> anyhow::Result<u64> {
    let t = text.trim().replace(',', ".");
    let (units, cents) = match t.split_once('.') {
        Some((u, c)) => (u, c),
        None => (t.as_str(), ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let has_point = t.contains('.');
    if !digits(units) || (has_point && !digits(cents)) || cents.len() > 2 {
        bail!("amount {text:?}: expected a positive amount with at most 2 decimals, e.g. 12.50");
    }
    let units: u64 = units
        .parse()
        .with_context(|| format!("amount {text:?} is too large"))?;
    let cents: u64 = format!("{cents:0<2}").parse()?;
    let total = units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .context("amount too large")?;
    if total == 0 {
        bail!("amount must be positive");
    }
    Ok(total)
}

fn journal_dir(arg: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = arg {
        return Ok(d.clone());
    }
    let home =
        std::env::var_os("HOME").context("no --journal and no HOME to put the journal in")?;
    Ok(PathBuf::from(home).join(".local/state/posdev"))
}

fn intent_json(i: &Intent) -> serde_json::Value {
    json!({"reference": i.reference, "kind": i.kind, "amount_cents": i.amount_cents,
           "currency": i.currency, "terminal": i.terminal, "at_ms": i.at_ms, "outcome": "unknown"})
}

/// Reports intents left open by an earlier run: each one's outcome is unknown.
fn report_open(journal: &FileJournal, json: bool) {
    if json {
        return;
    }
    for i in journal.open_intents() {
        eprintln!(
            "UNKNOWN OUTCOME from an interrupted run: reference {} {:?} {} cents on {} -- check the \
             terminal, then `posdev intents --resolve {} --note ...`",
            i.reference, i.kind, i.amount_cents, i.terminal, i.reference
        );
    }
}

fn cents_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub fn pay(args: &PayArgs, json: bool) -> anyhow::Result<ExitCode> {
    let amount_cents = parse_amount(&args.amount)?;
    let uri: DeviceUri = args.terminal.parse()?;
    let mut journal = FileJournal::open(&journal_dir(&args.journal)?)?;
    let open_before: Vec<serde_json::Value> =
        journal.open_intents().iter().map(intent_json).collect();
    report_open(&journal, json);

    let kind = if args.refund {
        Kind::Refund
    } else if args.cancel {
        Kind::Cancellation
    } else {
        Kind::Debit
    };
    let request = PaymentRequest {
        kind,
        amount_cents,
        currency: args.currency.clone(),
        reference: args.reference.clone().unwrap_or_else(new_reference),
        allow_partial: args.partial,
    };
    let timeouts = LinkTimeouts {
        // Bounded so deadlines computed from it can never overflow.
        ack: Duration::from_millis(args.ack_timeout_ms.min(3_600_000)),
        enq_attempts: args.enq_attempts,
        ..LinkTimeouts::default()
    };
    let result_timeout = Duration::from_secs(args.result_timeout.min(86_400));
    let protocol = args.protocol.unwrap_or(match uri {
        DeviceUri::Tcp { .. } => Protocol::CaisseAp,
        _ => Protocol::ConcertV2,
    });
    let caisse_ap = CaisseApConfig {
        terminal_number: args.terminal_number,
        result_timeout,
        timeouts,
        ..CaisseApConfig::default()
    };
    let mut terminal: Box<dyn PaymentTerminal> = match (&uri, protocol) {
        (DeviceUri::Tcp { host, port }, Protocol::CaisseAp) => Box::new(CaisseApClient::tcp(
            host.clone(),
            port.unwrap_or(8888),
            caisse_ap,
        )),
        (DeviceUri::Tcp { .. }, Protocol::ConcertV2) => {
            bail!("Concert V2 runs on serial links only; use --protocol caisse-ap")
        }
        (_, protocol) => {
            let link = pos_transport::open_with(&uri, OpenOptions::default())?;
            match protocol {
                Protocol::CaisseAp => Box::new(CaisseApClient::serial(link, caisse_ap)),
                Protocol::ConcertV2 => Box::new(ConcertV2Client::new(
                    link,
                    ConcertV2Config {
                        terminal_number: args.terminal_number,
                        timeouts,
                        result_timeout,
                        ..ConcertV2Config::default()
                    },
                )),
            }
        }
    };
    let outcome = match terminal.pay(&request, &mut journal) {
        Ok(o) => o,
        Err(PaymentError::OutcomeNotRecorded { outcome, error }) => {
            eprintln!("WARNING: {error}");
            *outcome
        }
        Err(e) => return Err(e.into()),
    };
    let code = match &outcome {
        Outcome::Approved(_) => exit::APPROVED,
        Outcome::PartiallyApproved(_) => exit::PARTIALLY_APPROVED,
        Outcome::Declined(_) => exit::DECLINED,
        Outcome::Unknown(_) => exit::UNKNOWN,
        Outcome::NotSent(_) => exit::NOT_SENT,
    };
    if json {
        let out = json!({
            "reference": request.reference, "kind": request.kind, "amount_cents": amount_cents,
            "currency": request.currency, "terminal": terminal.describe(), "result": outcome,
            "open_intents_before": open_before,
        });
        println!("{out}");
    } else {
        let money = |c: u64| format!("{} ({})", cents_text(c), request.currency);
        let line = match &outcome {
            Outcome::Approved(a) => format!(
                "APPROVED {} card {} authorisation {}",
                money(a.amount_cents),
                a.masked_pan.as_deref().unwrap_or("-"),
                a.authorisation.as_deref().unwrap_or("-")
            ),
            Outcome::PartiallyApproved(a) => format!(
                "PARTIALLY APPROVED {} of {}: collect the rest another way",
                money(a.amount_cents),
                money(amount_cents)
            ),
            Outcome::Declined(d) => format!(
                "DECLINED ({:?}, code {})",
                d.reason,
                d.code.as_deref().unwrap_or("-")
            ),
            Outcome::NotSent(n) => format!("NOT SENT (safe to retry): {}", n.error),
            Outcome::Unknown(u) => format!(
                "UNKNOWN: the terminal took the request but gave no usable result ({:?}); check the \
                 terminal before retrying",
                u.cause
            ),
        };
        println!("{line} [reference {}]", request.reference);
    }
    Ok(ExitCode::from(code))
}

pub fn intents(args: &IntentsArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut journal = FileJournal::open(&journal_dir(&args.journal)?)?;
    if let (Some(reference), Some(note)) = (&args.resolve, &args.note) {
        journal.resolve(reference, note, None)?;
    }
    let open: Vec<serde_json::Value> = journal.open_intents().iter().map(intent_json).collect();
    if json {
        println!(
            "{}",
            json!({ "journal": journal.path(), "open_intents": open })
        );
    } else if open.is_empty() {
        println!("no open intents in {}", journal.path().display());
    } else {
        for i in journal.open_intents() {
            println!(
                "UNKNOWN reference {} {:?} {} ({}) on {} (at {} ms)",
                i.reference,
                i.kind,
                cents_text(i.amount_cents),
                i.currency,
                i.terminal,
                i.at_ms
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(value: serde_json::Value, text: String, json: bool) {
    let mut out = std::io::stdout().lock();
    let _ = if json {
        writeln!(out, "{value}")
    } else {
        writeln!(out, "{text}")
    };
    let _ = out.flush();
}

fn print_event(e: &SimEvent, json: bool) {
    let value = serde_json::to_value(e).unwrap_or_default();
    print_line(value.clone(), format!("{value}"), json);
}

pub fn sim_terminal(args: &SimTerminalArgs, json: bool) -> anyhow::Result<ExitCode> {
    let behaviour: Behaviour = args.behaviour.parse().map_err(anyhow::Error::msg)?;
    let flavour = match args.protocol {
        Protocol::ConcertV2 => Flavour::ConcertV2,
        Protocol::CaisseAp => Flavour::CaisseAp,
    };
    let (tx, rx) = channel::<SimEvent>();
    std::thread::spawn(move || {
        for e in rx {
            print_event(&e, json);
        }
    });
    let stop = AtomicBool::new(false);
    let timeouts = LinkTimeouts::default();
    if let Some(addr) = &args.caisse_ap_listen {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        print_line(
            json!({"listen": local.to_string(), "protocol": "caisse-ap"}),
            local.to_string(),
            json,
        );
        caisse_ap::serve(listener, behaviour, tx, std::sync::Arc::new(stop))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.concert_pty {
        let (master, path) = pty_pair()?;
        print_line(
            json!({"pty": path, "protocol": flavour_name(flavour)}),
            path.clone(),
            json,
        );
        let stopped = serve(master, flavour, &behaviour, &timeouts, &tx, &stop)?;
        // A dropped line closes the pty: the simulator's job is done.
        drop(tx);
        std::thread::sleep(Duration::from_millis(50));
        return Ok(if stopped == Stopped::LineDropped {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(exit::ERROR)
        });
    }
    let Some(device) = &args.concert_device else {
        bail!("give --concert-pty, --concert-device or --caisse-ap-listen")
    };
    let DeviceUri::Serial(settings) = device.parse::<DeviceUri>()? else {
        bail!("--concert-device needs a serial device")
    };
    // The device must exist at start (a typo is an error); after a drop or a USB
    // re-enumeration the simulator waits for the same path to come back.
    let mut link = SerialLink::open(&settings, Duration::from_secs(1))?;
    print_line(
        json!({"device": settings.path, "protocol": flavour_name(flavour)}),
        settings.path.display().to_string(),
        json,
    );
    loop {
        // Whether the line was dropped on purpose or the device went away, open it again.
        let _ = serve(link, flavour, &behaviour, &timeouts, &tx, &stop);
        std::thread::sleep(Duration::from_millis(500));
        link = SerialLink::open_waiting(
            &settings,
            Duration::from_secs(1),
            Duration::from_secs(24 * 3600),
            Duration::from_millis(500),
        )?;
    }
}

fn flavour_name(f: Flavour) -> &'static str {
    match f {
        Flavour::ConcertV2 => "concert-v2",
        Flavour::CaisseAp => "caisse-ap",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_to_cents_without_floats() {
        for (text, cents) in [
            ("12.50", 1250),
            ("12.5", 1250),
            ("12", 1200),
            ("0.99", 99),
            ("3,99", 399),
            ("999999.99", 99_999_999),
        ] {
            assert_eq!(parse_amount(text).unwrap(), cents, "{text}");
        }
        for bad in [
            "", "-1", "1.234", "abc", "1.", ".5", "0", "0.00", "1e3", "12.5.0",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
