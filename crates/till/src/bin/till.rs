//! `till`: the headless till. Every command calls the engine API ([`pos_till::Till`]); this
//! file only parses arguments, reads input and prints results.
//!
//! Exit codes: 0 success; 1 the ledger failed verification; 2 the input was refused (nothing
//! was recorded); 3 the machine failed (storage, file, corrupt data).

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use pos_domain::Money;
use pos_domain::clock::{Clock, ManualClock};
use pos_domain::closure::ClosureLevel;
use pos_domain::journal::{CashMovementKind, EventKind};
use pos_domain::record::{Chain, Depth};
use pos_domain::vat::Territory;
use pos_till::catalog::{self, CatalogFormat};
use pos_till::demo::{self, DemoOptions};
use pos_till::identity::SettingsChange;
use pos_till::requests::{ExchangeRequest, ReturnRequest, SaleRequest};
use pos_till::staff::StaffRole;
use pos_till::system::{SystemClock, random_id, random_salt, random_secret};
use pos_till::{InitOptions, Till, TillError, archive, receipt};
use serde::Serialize;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "till",
    version,
    about = "The headless till: sell, return, close, verify and archive on a signed ledger"
)]
struct Cli {
    /// The till's ledger file (SQLite).
    #[arg(long, global = true, env = "TILL_DB")]
    db: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// The staff member running the command (recorded in the ledger).
    #[arg(long, global = true, default_value = "manager")]
    operator: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the ledger and the till's signing key.
    Init {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        till: String,
        /// Defaults to SHOP-TILL in capitals.
        #[arg(long)]
        till_id: Option<String>,
        #[arg(long, default_value = "metropole")]
        territory: Territory,
        #[arg(long, default_value = "Europe/Paris")]
        timezone: String,
        /// Shop address printed on receipts (use \n between lines).
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long, default_value = "")]
        siret: String,
        #[arg(long, default_value = "")]
        vat_number: String,
    },
    /// Show the till's identity and chain lengths.
    Info,
    /// Catalog commands.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Price a sale read as JSON on stdin without recording it.
    Quote,
    /// Record a sale read as JSON on stdin; prints the recorded ticket.
    Sell {
        /// Read one sale per line and print one ticket per line as each is committed.
        #[arg(long)]
        each_line: bool,
    },
    /// Record a return (or with "cancel": true a cancellation) read as JSON on stdin.
    Return,
    /// Record an exchange read as JSON on stdin: {"original": N, "returned": [{"line", "quantity"}],
    /// "lines": [sale lines], "tenders": [...]}; the difference is paid or refunded.
    Exchange,
    /// Close the day (Z), the month or the fiscal year.
    Close { level: Level },
    /// Show the X report of the open day, or a recorded Z closure.
    Report {
        kind: ReportKind,
        /// The closure number (default: the newest day closure).
        #[arg(long)]
        number: Option<u64>,
    },
    /// Print a ticket's receipt; --duplicate records and prints a reprint.
    Receipt {
        number: u64,
        #[arg(long, conflicts_with = "training")]
        duplicate: bool,
        /// The receipt of a training ("mode école") ticket.
        #[arg(long)]
        training: bool,
    },
    /// Record a cash movement or a cash count.
    Cash {
        kind: CashKind,
        #[arg(long, allow_hyphen_values = true)]
        amount: Money,
        #[arg(long)]
        reason: Option<String>,
    },
    /// A cashier's shift (the cashier is `--operator`): open it with a float, close it with a
    /// blind count, read its X report, or the X of a cashier since the last Z.
    #[command(subcommand)]
    Shift(ShiftCommand),
    /// Change shop settings (recorded in the event journal with old and new values).
    Settings {
        /// Shop address printed on receipts (use \n between lines).
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        siret: Option<String>,
        #[arg(long)]
        vat_number: Option<String>,
        /// Month (1-12) the fiscal year starts in.
        #[arg(long)]
        fiscal_year_start_month: Option<u32>,
    },
    /// Record a staff login or logout in the event journal.
    Session {
        action: SessionAction,
        staff: String,
    },
    /// Record the till's start-up and check every chain (links and newest signatures).
    StartUp,
    /// Verify every chain: exit 0 when intact, 1 naming the first broken record of each chain.
    Verify {
        /// Check links and only the newest signature of each chain.
        #[arg(long)]
        fast: bool,
    },
    /// Signed archives of a period.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Register this till with head office using the one-time code it printed.
    Enroll {
        /// Head office's address, for example `https://hq.example` (plain `http://` only for a
        /// head office on this machine)
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
        /// PEM file of the certificate authority (or the certificate) of a head office whose
        /// certificate no system authority signed; kept with the enrollment and trusted for
        /// every later sync, besides the system's authorities
        #[arg(long, value_name = "FILE.pem")]
        ca_cert: Option<PathBuf>,
    },
    /// Upload to head office every record it does not hold yet, then apply head office's
    /// changes (catalog, prices, staff, web orders) (one pass).
    Sync,
    /// Click & collect: the shop's web orders.
    #[command(subcommand)]
    WebOrders(WebOrdersCommand),
    /// Gift cards: sell one (its number as scanned, the amount loaded) or top one up.
    #[command(subcommand)]
    GiftCard(GiftCardCommand),
    /// Credit notes and gift cards: what this till knows of one, cancel one, expire those past
    /// their validity, a ticket's credit-note slips, a new gift card number.
    #[command(subcommand)]
    StoredValue(StoredValueCommand),
    /// Stock: receive a delivery, send goods to another shop, receive a transfer, count.
    #[command(subcommand)]
    Stock(StockCommand),
    /// The staff who may log in at this till.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The shop's customers known at this till.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Record realistic sales, returns and closures through the engine, for demos and benchmarks
    /// (and add the demo staff: cashier Alice, PIN 1234; manager Bruno, PIN 9999).
    Demo {
        #[arg(long)]
        tickets: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1)]
        days: u32,
    },
}

#[derive(Subcommand)]
enum WebOrdersCommand {
    /// Lists the web orders (of one state: placed, prepared, ready, collected,
    /// partially_collected, refused, cancelled).
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// Records that an order was picked in the shop.
    Prepared { order: String },
    /// Records that an order waits for the customer.
    Ready { order: String },
    /// Hands an order over after checking its pickup code; payment due in the shop is taken
    /// with --tender as a sale ticket referencing the order.
    Handover {
        order: String,
        /// The code the customer shows.
        #[arg(long)]
        code: String,
        /// `LINE:QUANTITY` taken, once per line (default: everything; fewer is a partial pickup).
        #[arg(long = "line")]
        lines: Vec<String>,
        /// `KIND:AMOUNT` (for example `card:29.90`), once per tender.
        #[arg(long = "tender")]
        tenders: Vec<String>,
    },
    /// Records that the customer refused the whole order.
    Refuse {
        order: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum GiftCardCommand {
    /// Sell a new gift card loaded with AMOUNT, paid with --tender (no VAT, not revenue).
    Sell {
        number: String,
        amount: Money,
        /// How the customer pays: cash, card, cheque...
        #[arg(long, default_value = "cash")]
        tender: String,
    },
    /// Put AMOUNT more on a gift card already sold.
    TopUp {
        number: String,
        amount: Money,
        #[arg(long, default_value = "cash")]
        tender: String,
    },
}

#[derive(Subcommand)]
enum StoredValueCommand {
    /// What this till knows of a credit note or gift card (balance, validity, closed).
    Show { number: String },
    /// Cancel a credit note or gift card issued in error (its balance is removed).
    Cancel {
        number: String,
        #[arg(long)]
        reason: String,
    },
    /// Expire the credit notes and gift cards this till issued whose validity has ended.
    Expire,
    /// Print the slips of the credit notes a ticket issued (number, QR payload, amount, expiry).
    Slips { ticket: u64 },
    /// Draw a new gift card number (for card stock).
    NewGiftCard,
}

#[derive(Subcommand)]
enum StockCommand {
    /// Receive a delivery (against its shipping notice with --asn, or without one).
    Receive {
        /// The shipping notice (`till stock notices`): each line's expected quantity is the
        /// notice's, its lines not given are missing.
        #[arg(long)]
        asn: Option<String>,
        /// `PRODUCT:RECEIVED[:EXPECTED[:DAMAGED]]`, once per product (EXPECTED is the
        /// notice's when the till has it; otherwise it defaults to RECEIVED with --asn, 0
        /// without).
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        /// `PRODUCT:IMEI`, once per handset received in good condition.
        #[arg(long = "imei")]
        imeis: Vec<String>,
    },
    /// Send goods to another shop (in transit until it receives them).
    Send {
        #[arg(long)]
        to: String,
        /// `PRODUCT:QUANTITY`, once per product.
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        #[arg(long = "imei")]
        imeis: Vec<String>,
    },
    /// Receive a transfer another shop sent (its transfer id), with differences on arrival.
    Arrive {
        transfer: String,
        #[arg(long)]
        from: String,
        /// `PRODUCT:RECEIVED[:SENT[:DAMAGED]]` (SENT defaults to RECEIVED).
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        #[arg(long = "imei")]
        imeis: Vec<String>,
    },
    /// Start a count (full, or of one --category or --shelf); head office adjusts against
    /// the stock at this moment.
    CountStart {
        #[arg(long, conflicts_with = "shelf")]
        category: Option<String>,
        #[arg(long)]
        shelf: Option<String>,
        /// The counter does not see the expected quantities.
        #[arg(long)]
        blind: bool,
    },
    /// Finish a count with what was counted.
    CountFinish {
        count: String,
        /// `PRODUCT:COUNTED`, once per product.
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
    },
    /// The counts started and not finished.
    Counts,
    /// The shop's shipping notices not yet received (from head office's changes feed).
    Notices,
    /// Products' stock here and at the shops nearby: head office's answer, or the last one
    /// kept, with its age, when head office does not answer.
    OnHand {
        /// Product ids (1 to 100).
        #[arg(required = true)]
        products: Vec<String>,
    },
    /// The latest stock operations recorded at this till.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member (or replace one with the same id), with their PIN.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: StaffRoleArg,
        /// 4 to 8 digits; only its Argon2 hash is stored.
        #[arg(long)]
        pin: String,
        /// Defaults to the name in lower case.
        #[arg(long)]
        id: Option<String>,
    },
    /// List the active staff.
    List,
}

#[derive(Subcommand)]
enum CustomersCommand {
    /// Add a customer: a name and a phone number or an e-mail address (or both).
    Add {
        #[arg(long)]
        name: String,
        /// French (06 12 34 56 78) or international (+44 20 7946 0958).
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// List the customers by name.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Erase a customer from this till (a till synced with head office: erase them there).
    Erase { id: String },
    /// Find customers by the start of their name, e-mail address or phone number.
    Search {
        text: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn customer_lines(customers: &[pos_domain::customer::Customer]) -> String {
    customers
        .iter()
        .map(|c| {
            format!(
                "{}  {:<28} {:<14} {}\n",
                c.id,
                c.name,
                c.phone.as_deref().unwrap_or("-"),
                c.email.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

#[derive(Clone, Copy, ValueEnum)]
enum StaffRoleArg {
    Cashier,
    Manager,
    /// Stock work only: never cash or sales.
    Stock,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import products from CSV or JSON (format from the extension unless given).
    Import {
        file: PathBuf,
        #[arg(long)]
        format: Option<Format>,
    },
    /// Write a synthetic catalog of COUNT products as CSV (for benchmarks).
    Generate {
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the demo catalog of a telecom boutique as CSV.
    Demo {
        #[arg(long)]
        out: PathBuf,
    },
    /// Find the product with a barcode.
    Lookup { barcode: String },
    /// Search products by label or category, ignoring case and accents.
    Search {
        text: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Export the records of the local days FROM..=TO to a signed JSON file.
    Export {
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an archive file offline (no ledger needed).
    Verify { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Level {
    Day,
    Month,
    Year,
}

#[derive(Subcommand)]
enum ShiftCommand {
    /// Opens the operator's shift with the float put in their drawer.
    Open {
        #[arg(long)]
        float: Money,
    },
    /// Closes the operator's shift with the cash they counted, blind: the expected cash and
    /// the difference are shown once the count is recorded.
    Close {
        #[arg(long)]
        counted: Money,
    },
    /// The X report of a shift (default: the operator's newest): the expected cash only once
    /// the shift's count is recorded.
    Report {
        /// The shift's number (the cash-chain sequence of its opening).
        #[arg(long)]
        number: Option<u64>,
    },
    /// The X report of a cashier (default: the operator): their tickets since the last Z.
    Cashier {
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportKind {
    X,
    Z,
}

#[derive(Clone, Copy, ValueEnum)]
enum CashKind {
    Float,
    PayIn,
    PayOut,
    Deposit,
    Count,
}

#[derive(Clone, Copy, ValueEnum)]
enum SessionAction {
    Login,
    Logout,
}

/// Why the command failed, mapped to the exit code.
enum Failure {
    Broken(serde_json::Value),
    /// The outcome was already printed; exit with this code.
    Reported(u8),
    Engine(TillError),
    Other(anyhow::Error),
}

impl From<TillError> for Failure {
    fn from(error: TillError) -> Failure {
        Failure::Engine(error)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::Other(error)
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TILL_LOG"))
        .init();
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Broken(report)) => {
            print_value(json, &report, &render_verify(&report));
            ExitCode::from(1)
        }
        Err(Failure::Engine(error)) => {
            let code = error.code();
            if json {
                println!(
                    "{}",
                    json!({"error": {"code": code, "message": error.to_string()}})
                );
            }
            eprintln!("error: {error} [{code}]");
            ExitCode::from(if error.is_input_error() { 2 } else { 3 })
        }
        Err(Failure::Reported(code)) => ExitCode::from(code),
        Err(Failure::Other(error)) => {
            if json {
                println!(
                    "{}",
                    json!({"error": {"code": "failed", "message": format!("{error:#}")}})
                );
            }
            eprintln!("error: {error:#}");
            ExitCode::from(3)
        }
    }
}

fn db(cli: &Cli) -> Result<&Path, Failure> {
    cli.db.as_deref().ok_or_else(|| {
        TillError::invalid(
            "db_missing",
            "give the ledger file with --db FILE (or TILL_DB)",
        )
        .into()
    })
}

fn open(cli: &Cli) -> Result<Till, Failure> {
    Ok(Till::open(db(cli)?, Arc::new(SystemClock))?)
}

fn read_stdin<T: serde::de::DeserializeOwned>(what: &str) -> Result<T, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading standard input")?;
    parse_json(what, &text)
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::Engine(TillError::invalid(
            "json_invalid",
            format!("the {what} on standard input is not valid: {e} (see README for the format)"),
        ))
    })
}

fn print<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string(value).unwrap_or_default());
    } else {
        print!("{}", human());
    }
}

fn print_value(json: bool, value: &serde_json::Value, human: &str) {
    if json {
        println!("{value}");
    } else {
        print!("{human}");
    }
}

/// The shift commands: the same engine calls as the till service's (`open_shift`,
/// `close_shift`, `shift_report`, `cashier_totals`), with the same blind count: a shift's
/// expected cash is shown only once its count is recorded.
fn shift(cli: &Cli, json: bool, command: &ShiftCommand) -> Result<(), Failure> {
    let cashier = cli.operator.as_str();
    let mut till = open(cli)?;
    let shift = match command {
        ShiftCommand::Open { float } => till.open_shift(cashier, *float)?,
        ShiftCommand::Close { counted } => till.close_shift(cashier, *counted)?.shift,
        ShiftCommand::Report { number: Some(n) } => *n,
        ShiftCommand::Report { number: None } => {
            till.last_shift_report(cashier)?
                .ok_or_else(|| {
                    TillError::invalid(
                        "no_shift",
                        format!("{cashier} has no shift: open one with `till shift open --float`"),
                    )
                })?
                .shift
        }
        ShiftCommand::Cashier { id } => {
            let id = id.as_deref().unwrap_or(cashier);
            let totals = till.cashier_totals(id)?;
            let value = json!({"cashier": id, "totals": totals});
            print_value(json, &value, &pretty(&value));
            return Ok(());
        }
    };
    let report = till.shift_report(shift)?;
    let counted = report.counted.is_some();
    let text = receipt::render_shift(till.identity(), &report, counted);
    let mut value = serde_json::to_value(&report)
        .map_err(|e| TillError::Corrupt(format!("shift report: {e}")))?;
    if !counted {
        // The count is blind: nothing tells what the drawer should hold before it.
        value["expected_cash"] = serde_json::Value::Null;
    }
    print_value(json, &value, &text);
    Ok(())
}

fn pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    match &cli.command {
        Command::Init {
            shop,
            till,
            till_id,
            territory,
            timezone,
            address,
            siret,
            vat_number,
        } => {
            let options = InitOptions {
                till_id: till_id.clone(),
                territory: *territory,
                timezone: timezone.clone(),
                shop_address: address.replace("\\n", "\n"),
                siret: siret.clone(),
                vat_number: vat_number.clone(),
                ..InitOptions::new(shop, till)
            };
            let created = Till::init(db(&cli)?, options, Arc::new(SystemClock), random_secret()?)?;
            print(json, created.identity(), || {
                let id = created.identity();
                format!(
                    "created till {} ({} / {}), public key {}\n",
                    id.till_id, id.shop_name, id.till_name, id.public_key
                )
            });
        }
        Command::Info => {
            let till = open(&cli)?;
            let mut chains = serde_json::Map::new();
            for chain in Chain::ALL {
                chains.insert(chain.to_string(), till.chain_length(chain)?.into());
            }
            let value = json!({"identity": till.identity(), "chains": chains});
            print_value(json, &value, &pretty(&value));
        }
        Command::Catalog(command) => catalog_command(&cli, command)?,
        Command::Quote => {
            let request: SaleRequest = read_stdin("sale")?;
            let quote = open(&cli)?.quote(&request)?;
            print(json, &quote, || pretty(&quote));
        }
        Command::Sell { each_line: false } => {
            let request: SaleRequest = read_stdin("sale")?;
            let ticket = open(&cli)?.sell(&request)?;
            print(json, &ticket, || pretty(&ticket));
        }
        Command::Sell { each_line: true } => {
            let mut till = open(&cli)?;
            let stdout = std::io::stdout();
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading standard input")?;
                if line.trim().is_empty() {
                    continue;
                }
                let request: SaleRequest = parse_json("sale", &line)?;
                let ticket = till.sell(&request)?;
                let mut out = stdout.lock();
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&ticket).unwrap_or_default()
                )
                .context("writing output")?;
                out.flush().context("writing output")?;
            }
        }
        Command::Return => {
            let request: ReturnRequest = read_stdin("return")?;
            let ticket = open(&cli)?.return_items(&request)?;
            print(json, &ticket, || pretty(&ticket));
        }
        Command::Exchange => {
            let request: ExchangeRequest = read_stdin("exchange")?;
            let ticket = open(&cli)?.exchange(&request)?;
            print(json, &ticket, || pretty(&ticket));
        }
        Command::Close { level } => {
            let level = match level {
                Level::Day => ClosureLevel::Day,
                Level::Month => ClosureLevel::Month,
                Level::Year => ClosureLevel::Year,
            };
            let mut till = open(&cli)?;
            let closure = till.close(&cli.operator, level)?;
            print(json, &closure, || {
                receipt::render_closure(till.identity(), &closure)
            });
        }
        Command::Report {
            kind: ReportKind::X,
            ..
        } => {
            let till = open(&cli)?;
            let report = till.report_x()?;
            print(json, &report, || {
                receipt::render_x(till.identity(), &report)
            });
        }
        Command::Report {
            kind: ReportKind::Z,
            number,
        } => {
            let till = open(&cli)?;
            let closure = till.closure(*number)?;
            print(json, &closure, || {
                receipt::render_closure(till.identity(), &closure)
            });
        }
        Command::Receipt {
            number,
            duplicate,
            training,
        } => {
            let mut till = open(&cli)?;
            let receipt = if *training {
                till.training_receipt(*number)?
            } else {
                till.receipt(Some(&cli.operator), *number, *duplicate)?
            };
            print(json, &receipt, || receipt.text.clone());
        }
        Command::Cash {
            kind,
            amount,
            reason,
        } => {
            let kind = match kind {
                CashKind::Float => CashMovementKind::OpeningFloat,
                CashKind::PayIn => CashMovementKind::PayIn,
                CashKind::PayOut => CashMovementKind::PayOut,
                CashKind::Deposit => CashMovementKind::BankDeposit,
                CashKind::Count => CashMovementKind::Count,
            };
            let movement =
                open(&cli)?.cash_movement(&cli.operator, kind, *amount, reason.clone())?;
            print(json, &movement, || pretty(&movement));
        }
        Command::Shift(command) => shift(&cli, json, command)?,
        Command::Settings {
            address,
            siret,
            vat_number,
            fiscal_year_start_month,
        } => {
            let change = SettingsChange {
                shop_address: address.as_ref().map(|a| a.replace("\\n", "\n")),
                siret: siret.clone(),
                vat_number: vat_number.clone(),
                fiscal_year_start_month: *fiscal_year_start_month,
            };
            if change.is_empty() {
                return Err(TillError::invalid(
                    "settings_empty",
                    "give at least one setting to change, see `till settings --help`",
                )
                .into());
            }
            let changed = open(&cli)?.change_settings(&cli.operator, &change)?;
            print_value(json, &changed, &pretty(&changed));
        }
        Command::Session { action, staff } => {
            let kind = match action {
                SessionAction::Login => EventKind::Login,
                SessionAction::Logout => EventKind::Logout,
            };
            let record = open(&cli)?.log_event(staff, kind, json!({}))?;
            let value = json!({"event": record.record.seq});
            print_value(
                json,
                &value,
                &format!("event {} recorded\n", record.record.seq),
            );
        }
        Command::StartUp => {
            let report = open(&cli)?.start_up()?;
            let value = serde_json::to_value(&report).context("report")?;
            if !report.intact() {
                return Err(Failure::Broken(value));
            }
            print_value(json, &value, &render_verify(&value));
        }
        Command::Verify { fast } => {
            let depth = if *fast { Depth::Links } else { Depth::Full };
            let report = open(&cli)?.verify(depth)?;
            let value = serde_json::to_value(&report).context("report")?;
            if !report.intact() {
                return Err(Failure::Broken(value));
            }
            print_value(json, &value, &render_verify(&value));
        }
        Command::Archive(ArchiveCommand::Export { from, to, out }) => {
            let summary = open(&cli)?.archive_export(&cli.operator, *from, *to, out)?;
            print(json, &summary, || {
                format!(
                    "archived {} records to {} (sha256 {})\n",
                    summary.records, summary.path, summary.sha256
                )
            });
        }
        Command::Archive(ArchiveCommand::Verify { file }) => {
            let check = archive::verify_archive(file)?;
            let value = serde_json::to_value(&check).context("report")?;
            print_value(json, &value, &render_archive(&check));
            if !check.intact {
                return Err(Failure::Reported(1));
            }
        }
        Command::Enroll {
            server,
            code,
            ca_cert,
        } => {
            let pinned = match ca_cert {
                Some(path) => {
                    Some(
                        std::fs::read_to_string(path).map_err(|source| TillError::File {
                            path: path.display().to_string(),
                            source,
                        })?,
                    )
                }
                None => None,
            };
            let enrollment = open(&cli)?.enroll_trusting(server, code, pinned.as_deref())?;
            print(json, &enrollment, || {
                format!(
                    "enrolled as {} (shop {}) with {}\n",
                    enrollment.till_id, enrollment.shop_id, enrollment.server
                )
            });
        }
        Command::Sync => {
            let mut till = open(&cli)?;
            let summary = till.sync_reporting(
                |chain, held, local| {
                    if !json {
                        eprintln!("{chain:<10} {held}/{local}");
                    }
                },
                |p| {
                    if !json {
                        eprintln!(
                            "download   version {}/{} ({} entries)",
                            p.applied, p.latest, p.entries
                        );
                    }
                },
            )?;
            let broken = summary.chains.iter().any(|c| c.status != "ok");
            print(json, &summary, || {
                let mut out = String::new();
                for c in &summary.chains {
                    out.push_str(&format!(
                        "{:<10} held {:>6} of {:>6}  sent {:>6}  {}\n",
                        c.chain.to_string(),
                        c.held,
                        c.local,
                        c.sent,
                        c.status
                    ));
                }
                out.push_str(&format!(
                    "{} records waiting, {} uploads\n",
                    summary.waiting, summary.uploads
                ));
                let d = &summary.download;
                out.push_str(&format!(
                    "head office changes applied up to version {} ({} pages): {} products, {} removed, {} prices, {} staff, {} settings, {} web orders\n",
                    d.version, d.pages, d.products, d.products_removed, d.prices, d.staff, d.settings, d.web_orders
                ));
                out
            });
            if broken {
                return Err(Failure::Reported(1));
            }
        }
        Command::WebOrders(command) => web_orders(&cli, command)?,
        Command::GiftCard(command) => gift_card(&cli, command)?,
        Command::StoredValue(command) => stored_value(&cli, command)?,
        Command::Stock(command) => stock(&cli, command)?,
        Command::Staff(StaffCommand::Add {
            name,
            role,
            pin,
            id,
        }) => {
            let role = match role {
                StaffRoleArg::Cashier => StaffRole::Cashier,
                StaffRoleArg::Manager => StaffRole::Manager,
                StaffRoleArg::Stock => StaffRole::Stock,
            };
            let id = id
                .clone()
                .unwrap_or_else(|| pos_till::identity::slug(name).to_lowercase());
            let staff = open(&cli)?.add_staff(&id, name, role, pin, random_salt()?)?;
            print(json, &staff, || {
                format!(
                    "staff {} ({}) added as {}\n",
                    staff.name,
                    staff.id,
                    staff.role.name()
                )
            });
        }
        Command::Staff(StaffCommand::List) => {
            let staff = open(&cli)?.staff()?;
            print(json, &staff, || {
                staff
                    .iter()
                    .map(|s| format!("{:<12} {:<24} {}\n", s.id, s.name, s.role.name()))
                    .collect()
            });
        }
        Command::Customers(CustomersCommand::Add { name, phone, email }) => {
            let input = pos_domain::customer::ContactInput {
                name: name.clone(),
                phone: phone.clone(),
                email: email.clone(),
            };
            let customer = open(&cli)?.create_customer(&input, random_id()?)?;
            print(json, &customer, || {
                format!("customer {} added: {}\n", customer.name, customer.id)
            });
        }
        Command::Customers(CustomersCommand::List { limit, offset }) => {
            let customers = open(&cli)?.customers(*limit, *offset)?;
            print(json, &customers, || customer_lines(&customers));
        }
        Command::Customers(CustomersCommand::Erase { id }) => {
            open(&cli)?.erase_customer(id)?;
            print(json, &json!({"customer": id, "erased": true}), || {
                format!("customer {id} erased from this till\n")
            });
        }
        Command::Customers(CustomersCommand::Search { text, limit }) => {
            let customers = open(&cli)?.search_customers(text, *limit)?;
            print(json, &customers, || customer_lines(&customers));
        }
        Command::Demo {
            tickets,
            seed,
            days,
        } => {
            let clock = Arc::new(ManualClock::new(SystemClock.now()));
            let mut till = Till::open(db(&cli)?, clock.clone())?;
            let mut salt_error = None;
            demo::seed_staff(&mut till, || {
                random_salt().unwrap_or_else(|e| {
                    salt_error = Some(e);
                    [0; 16]
                })
            })?;
            if let Some(error) = salt_error {
                return Err(error.into());
            }
            let summary = demo::run(
                &mut till,
                &clock,
                &DemoOptions {
                    tickets: *tickets,
                    seed: *seed,
                    days: *days,
                },
            )?;
            print(json, &summary, || pretty(&summary));
        }
    }
    Ok(())
}

fn catalog_command(cli: &Cli, command: &CatalogCommand) -> Result<(), Failure> {
    let json = cli.json;
    match command {
        CatalogCommand::Import { file, format } => {
            let format = match format {
                Some(Format::Json) => CatalogFormat::Json,
                Some(Format::Csv) => CatalogFormat::Csv,
                None if file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json")) =>
                {
                    CatalogFormat::Json
                }
                None => CatalogFormat::Csv,
            };
            let input =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let products = catalog::read(format, std::io::BufReader::new(input))?;
            let summary = open(cli)?.import_catalog(&products, &file.display().to_string())?;
            print(json, &summary, || {
                format!(
                    "imported {} products ({} in the catalog)\n",
                    summary.imported, summary.catalog_size
                )
            });
        }
        CatalogCommand::Generate { count, seed, out } => {
            let file = std::fs::File::create(out)
                .with_context(|| format!("creating {}", out.display()))?;
            catalog::write_csv(
                demo::large_catalog(*count, *seed),
                std::io::BufWriter::new(file),
            )
            .context("writing the catalog")?;
            print(json, &json!({"products": count, "out": out}), || {
                format!("wrote {count} products to {}\n", out.display())
            });
        }
        CatalogCommand::Demo { out } => {
            std::fs::write(out, demo::DEMO_CATALOG_CSV)
                .with_context(|| format!("writing {}", out.display()))?;
            print(json, &json!({"out": out}), || {
                format!("wrote the demo catalog to {}\n", out.display())
            });
        }
        CatalogCommand::Lookup { barcode } => {
            let product = open(cli)?
                .product_by_barcode(barcode)?
                .ok_or_else(|| TillError::UnknownBarcode(barcode.clone()))?;
            print(json, &product, || pretty(&product));
        }
        CatalogCommand::Search { text, limit } => {
            let products = open(cli)?.search_products(text, *limit)?;
            print(json, &products, || {
                products
                    .iter()
                    .map(|p| format!("{:<14} {:>9}  {}\n", p.id, p.price.to_string(), p.label))
                    .collect()
            });
        }
    }
    Ok(())
}

fn render_verify(report: &serde_json::Value) -> String {
    let mut out = String::new();
    for chain in report["chains"].as_array().into_iter().flatten() {
        let name = chain["chain"].as_str().unwrap_or("?");
        let records = chain["records"].as_u64().unwrap_or(0);
        match chain["defect"].as_object() {
            None => out.push_str(&format!("{name:<10} intact  {records} records\n")),
            Some(defect) => out.push_str(&format!(
                "{name:<10} BROKEN  at {name} {}: {} ({records} records verified before it)\n",
                defect["seq"],
                defect["reason"].as_str().unwrap_or("")
            )),
        }
    }
    for stray in report["stray_rows"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "stray row {}: not part of any chain\n",
            stray.as_str().unwrap_or("?")
        ));
    }
    out
}

fn render_archive(check: &archive::ArchiveCheck) -> String {
    let mut out = format!(
        "archive of till {} from {} to {}: {}\nsignature of the archive: {}\n",
        check.till_id,
        check.from,
        check.to,
        if check.intact { "intact" } else { "BROKEN" },
        if check.signature_valid {
            "valid"
        } else {
            "INVALID"
        }
    );
    for chain in &check.chains {
        match &chain.defect {
            None => out.push_str(&format!(
                "{:<10} intact  {} records\n",
                chain.chain.to_string(),
                chain.records
            )),
            Some(d) => out.push_str(&format!(
                "{:<10} BROKEN  at {} {}: {}\n",
                chain.chain.to_string(),
                d.chain,
                d.seq,
                d.reason
            )),
        }
    }
    out
}

fn gift_card(cli: &Cli, command: &GiftCardCommand) -> Result<(), Failure> {
    use pos_till::stored_value::{GiftCardRequest, StoredValueRequest};
    let (number, amount, tender, top_up) = match command {
        GiftCardCommand::Sell {
            number,
            amount,
            tender,
        } => (number, amount, tender, false),
        GiftCardCommand::TopUp {
            number,
            amount,
            tender,
        } => (number, amount, tender, true),
    };
    let kind: pos_domain::tender::TenderKind = tender
        .parse()
        .map_err(|e: String| Failure::Engine(TillError::invalid("tender_invalid", e)))?;
    let request = SaleRequest {
        operator: Some(cli.operator.clone()),
        tenders: vec![pos_domain::tender::Tender {
            kind,
            amount: *amount,
            reference: None,
            payment: None,
        }],
        ..Default::default()
    };
    let stored = StoredValueRequest {
        gift_cards: vec![GiftCardRequest {
            number: number.clone(),
            amount: *amount,
            top_up,
        }],
        ..Default::default()
    };
    let ticket = open(cli)?.sell_with(&request, &stored)?;
    print(cli.json, &ticket, || pretty(&ticket));
    Ok(())
}

fn stored_value(cli: &Cli, command: &StoredValueCommand) -> Result<(), Failure> {
    let json = cli.json;
    let mut till = open(cli)?;
    match command {
        StoredValueCommand::Show { number } => {
            let known = till.instrument(number)?;
            print(json, &known, || pretty(&known));
        }
        StoredValueCommand::Cancel { number, reason } => {
            let movement = till.cancel_instrument(&cli.operator, number, reason)?;
            print(json, &movement, || pretty(&movement));
        }
        StoredValueCommand::Expire => {
            let expired = till.expire_instruments(&cli.operator)?;
            print(json, &expired, || pretty(&expired));
        }
        StoredValueCommand::Slips { ticket } => {
            let slips = till.credit_note_slips(*ticket)?;
            print(json, &slips, || {
                slips.iter().map(|s| s.text.clone()).collect::<String>()
            });
        }
        StoredValueCommand::NewGiftCard => {
            let number = till.new_gift_card_number()?;
            print(json, &number, || format!("{}\n", number.grouped()));
        }
    }
    Ok(())
}

/// `PRODUCT:N[:N[:N]]` as the product and its numbers, or the refusal naming the argument.
fn stock_line(text: &str, most: usize) -> Result<(String, Vec<u32>), Failure> {
    let mut parts = text.split(':');
    let product = parts.next().unwrap_or_default().to_string();
    let numbers: Result<Vec<u32>, _> = parts.map(str::parse::<u32>).collect();
    match numbers {
        Ok(numbers) if !product.is_empty() && !numbers.is_empty() && numbers.len() <= most => {
            Ok((product, numbers))
        }
        _ => Err(TillError::invalid(
            "line_invalid",
            format!(
                "`{text}` is not PRODUCT:QUANTITY (up to {most} whole numbers after the product)"
            ),
        )
        .into()),
    }
}

/// The IMEIs given for `product` as `PRODUCT:IMEI`.
fn imeis_of(imeis: &[String], product: &str) -> Vec<String> {
    imeis
        .iter()
        .filter_map(|i| i.split_once(':'))
        .filter(|(p, _)| *p == product)
        .map(|(_, imei)| imei.to_string())
        .collect()
}

fn received_lines(
    lines: &[String],
    imeis: &[String],
    announced: bool,
) -> Result<Vec<pos_till::stock::ReceiveLineRequest>, Failure> {
    lines
        .iter()
        .map(|text| {
            let (product_id, n) = stock_line(text, 3)?;
            let received = n[0];
            let default_expected = if announced { received } else { 0 };
            Ok(pos_till::stock::ReceiveLineRequest {
                serials: imeis_of(imeis, &product_id),
                product_id,
                received,
                expected: n.get(1).copied().unwrap_or(default_expected),
                damaged: n.get(2).copied().unwrap_or(0),
            })
        })
        .collect()
}

/// Each product's stock here and nearby, and how fresh the figures are.
fn on_hand_text(report: &pos_till::stock_on_hand::OnHandReport) -> String {
    let mut out = match &report.unreachable {
        None => String::new(),
        Some(why) => format!("head office does not answer ({why}): the last answers kept\n"),
    };
    for kept in &report.products {
        let s = &kept.stock;
        let age = if kept.age_seconds > 0 {
            format!(" (as of {} s ago)", kept.age_seconds)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}: here {} on hand, {} available{age}\n",
            s.product_id, s.here.on_hand, s.here.available
        ));
        for shop in &s.nearby {
            out.push_str(&format!(
                "  {:<24} {} on hand, {} available\n",
                shop.shop_name, shop.on_hand, shop.available
            ));
        }
    }
    for product in &report.unknown {
        out.push_str(&format!(
            "{product}: unknown (head office never answered)\n"
        ));
    }
    out
}

/// Each open notice and its lines, one a line.
fn notices_text(notices: &[pos_domain::stock::ShippingNotice]) -> String {
    if notices.is_empty() {
        return "no shipping notice waiting\n".into();
    }
    let mut out = String::new();
    for notice in notices {
        out.push_str(&format!("{}  {} line(s)\n", notice.id, notice.lines.len()));
        for line in &notice.lines {
            out.push_str(&format!(
                "  {:<24} {:>8} {}\n",
                line.product_id,
                line.quantity,
                line.unit.name()
            ));
        }
    }
    out
}

fn stock(cli: &Cli, command: &StockCommand) -> Result<(), Failure> {
    use pos_domain::stock::CountScope;
    use pos_till::stock::{
        CountLineRequest, ReceiveRequest, SendLineRequest, TransferArrivalRequest, TransferRequest,
    };
    let json = cli.json;
    let mut till = open(cli)?;
    let op = &cli.operator;
    let recorded = match command {
        StockCommand::Receive { asn, lines, imeis } => till.receive_goods(
            op,
            &ReceiveRequest {
                asn: asn.clone(),
                lines: received_lines(lines, imeis, asn.is_some())?,
            },
        )?,
        StockCommand::Send { to, lines, imeis } => {
            let lines = lines
                .iter()
                .map(|text| {
                    let (product_id, n) = stock_line(text, 1)?;
                    Ok(SendLineRequest {
                        serials: imeis_of(imeis, &product_id),
                        product_id,
                        quantity: n[0],
                    })
                })
                .collect::<Result<_, Failure>>()?;
            till.send_transfer(
                op,
                &TransferRequest {
                    to_shop: to.clone(),
                    lines,
                },
            )?
        }
        StockCommand::Arrive {
            transfer,
            from,
            lines,
            imeis,
        } => till.receive_transfer(
            op,
            &TransferArrivalRequest {
                transfer_id: transfer.clone(),
                from_shop: from.clone(),
                lines: received_lines(lines, imeis, true)?,
            },
        )?,
        StockCommand::CountStart {
            category,
            shelf,
            blind,
        } => {
            let scope = match (category, shelf) {
                (Some(c), _) => CountScope::Category(c.clone()),
                (None, Some(s)) => CountScope::Shelf(s.clone()),
                (None, None) => CountScope::Full,
            };
            till.start_count(op, scope, *blind)?
        }
        StockCommand::CountFinish { count, lines } => {
            let lines = lines
                .iter()
                .map(|text| {
                    let (product_id, n) = stock_line(text, 1)?;
                    Ok(CountLineRequest {
                        product_id,
                        counted: n[0],
                    })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            till.finish_count(op, count, &lines)?
        }
        StockCommand::Notices => {
            let notices = till.shipping_notices()?;
            print(json, &notices, || notices_text(&notices));
            return Ok(());
        }
        StockCommand::OnHand { products } => {
            let report = till.stock_on_hand(products)?;
            print(json, &report, || on_hand_text(&report));
            return Ok(());
        }
        StockCommand::Counts => {
            let open = till.open_counts()?;
            print(json, &open, || pretty(&open));
            return Ok(());
        }
        StockCommand::List { limit } => {
            let records = till.stock_records(*limit)?;
            print(json, &records, || pretty(&records));
            return Ok(());
        }
    };
    print(json, &recorded, || {
        format!(
            "stock record {}: {} {}\n",
            recorded.seq,
            recorded.operation.kind().replace('_', " "),
            recorded.operation.id()
        )
    });
    Ok(())
}

fn web_orders(cli: &Cli, command: &WebOrdersCommand) -> Result<(), Failure> {
    use pos_till::web_orders::{HandoverRequest, parse_picked, parse_state};
    let json = cli.json;
    let mut till = open(cli)?;
    let order_line = |o: &pos_domain::web_order::WebOrder| {
        format!(
            "{}  {:<20} {:>10}  {:<12} {} line(s)\n",
            o.id,
            o.state.to_string(),
            o.total.to_string(),
            o.payment.name(),
            o.lines.len()
        )
    };
    match command {
        WebOrdersCommand::List { state } => {
            let state = state.as_deref().map(parse_state).transpose()?;
            let orders = till.web_orders(state)?;
            print(json, &orders, || orders.iter().map(order_line).collect());
        }
        WebOrdersCommand::Prepared { order } => {
            let order = till.mark_prepared(&cli.operator, order)?;
            print(json, &order, || order_line(&order));
        }
        WebOrdersCommand::Ready { order } => {
            let order = till.mark_ready(&cli.operator, order)?;
            print(json, &order, || order_line(&order));
        }
        WebOrdersCommand::Handover {
            order,
            code,
            lines,
            tenders,
        } => {
            let lines = if lines.is_empty() {
                None
            } else {
                Some(
                    lines
                        .iter()
                        .map(|l| parse_picked(l))
                        .collect::<pos_till::Result<Vec<_>>>()?,
                )
            };
            let tenders = tenders
                .iter()
                .map(|t| {
                    let (kind, amount) = t.split_once(':').unwrap_or((t, ""));
                    parse_json::<pos_domain::tender::Tender>(
                        "tender",
                        &json!({"kind": kind, "amount": amount}).to_string(),
                    )
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let handover = till.hand_over(&HandoverRequest {
                operator: Some(cli.operator.clone()),
                order: order.clone(),
                pickup_code: code.clone(),
                lines,
                tenders,
            })?;
            print(json, &handover, || {
                let mut out = order_line(&handover.order);
                if let Some(ticket) = &handover.ticket {
                    out.push_str(&format!(
                        "paid with ticket {} ({})\n",
                        ticket.number, ticket.ticket.total
                    ));
                }
                out
            });
        }
        WebOrdersCommand::Refuse { order, reason } => {
            let order = till.refuse(&cli.operator, order, reason)?;
            print(json, &order, || order_line(&order));
        }
    }
    Ok(())
}
