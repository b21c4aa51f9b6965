//! `posdev`: the technician's tool for shop devices. Every command takes `--json`; simulators
//! print the path or address they serve on their first stdout line.
//!
//! Exit codes of `pay`: 0 approved, 3 declined, 4 unknown outcome, 5 not sent (safe to retry),
//! 6 partially approved; 1 any other error, 2 bad command line.

mod display;
mod ports;
mod printer;
mod terminal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "posdev",
    version,
    about = "Shop device tool: ports, payment terminal, printer, display, simulators"
)]
struct Cli {
    /// Machine-readable output: one JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List serial ports with their /dev/serial/by-id names.
    Ports,
    /// Run one payment, refund or cancellation on a terminal and print the outcome.
    Pay(terminal::PayArgs),
    /// List payment intents left open by an interrupted run (outcome unknown), or resolve one.
    Intents(terminal::IntentsArgs),
    /// Print a test receipt (code table check, barcode, QR code, cut).
    PrintTest(printer::PrintTestArgs),
    /// Open the cash drawer through the printer.
    Drawer(printer::DrawerArgs),
    /// Query the printer's status (paper, cover, drawer sensor, offline).
    PrinterStatus(printer::PrinterStatusArgs),
    /// Show text on the customer display.
    Display(display::DisplayArgs),
    /// Device simulators.
    Sim {
        #[command(subcommand)]
        sim: SimCommand,
    },
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// A payment terminal: Concert V2 / Caisse-AP on a pty or device, or Caisse-AP on TCP.
    Terminal(terminal::SimTerminalArgs),
    /// An ESC/POS receipt printer on a pty or TCP, writing receipts (text and PNG) to a directory.
    Printer(printer::SimPrinterArgs),
    /// A customer display that prints what it shows.
    Display(display::SimDisplayArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Ports => ports::ports(cli.json).map(|()| ExitCode::SUCCESS),
        Command::Pay(args) => terminal::pay(args, cli.json),
        Command::Intents(args) => terminal::intents(args, cli.json),
        Command::PrintTest(args) => printer::print_test(args, cli.json).map(|()| ExitCode::SUCCESS),
        Command::Drawer(args) => printer::drawer(args, cli.json).map(|()| ExitCode::SUCCESS),
        Command::PrinterStatus(args) => {
            printer::printer_status(args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Display(args) => display::display(args, cli.json).map(|()| ExitCode::SUCCESS),
        Command::Sim { sim } => match sim {
            SimCommand::Terminal(args) => terminal::sim_terminal(args, cli.json),
            SimCommand::Printer(args) => {
                printer::sim_printer(args, cli.json).map(|()| ExitCode::SUCCESS)
            }
            SimCommand::Display(args) => {
                display::sim_display(args, cli.json).map(|()| ExitCode::SUCCESS)
            }
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if cli.json {
                println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(terminal::exit::ERROR)
        }
    }
}
