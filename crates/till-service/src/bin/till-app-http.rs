//! `till-app-http`: the cashier app's API over loopback HTTP, with the built UI, for browser
//! tests and development.
//!
//! ```sh
//! till-app-http --db out/app/till.db --demo --listen 127.0.0.1:8787 --ui ui/dist \
//!   --printer sim:out/app/receipts --terminal sim:amount-rule
//! ```
//!
//! `--printer` and `--terminal` take device URIs (`tcp://...`, `serial://...`, `usblp://...`,
//! `none`) or `sim:...` to start a simulator in this process: `sim:DIR` for a printer writing
//! its receipts to DIR, `sim:BEHAVIOUR` for a Caisse-AP terminal (`sim:amount-rule`,
//! `sim:decline`, `sim:never-answer`...). The first line on stdout is JSON saying where
//! everything is: `{"url": "http://127.0.0.1:PORT", "printer": ..., "receipts": ..., "terminal": ...}`.
//!
//! Every command must carry the secret drawn at launch (see [`pos_till_service::http`]): the
//! served UI has it in its page; `--secret-file PATH` also writes it to PATH (mode 0600) for a
//! tool or a development server that talks to the API without the page.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use pos_till::sync_loop::SyncLoopOptions;
use pos_till::system::SystemClock;
use pos_till_service::simulators::DeviceSetup;
use pos_till_service::{Service, ServiceOptions, http};
use rust_decimal::Decimal;

#[derive(Parser)]
#[command(
    name = "till-app-http",
    version,
    about = "The cashier app's API on loopback HTTP (POST /api/{command}), serving the built UI"
)]
struct Cli {
    /// The till's ledger file.
    #[arg(long, env = "TILL_DB")]
    db: PathBuf,
    /// Where to listen: a loopback address only.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// The built UI to serve from the same origin (e.g. ui/dist).
    #[arg(long)]
    ui: Option<PathBuf>,
    /// Receipt printer: a device URI, `sim:DIR` (simulator writing to DIR) or `none`; when
    /// left out, the one a manager saved in the settings (else none).
    #[arg(long)]
    printer: Option<String>,
    /// Payment terminal: a device URI, `sim:BEHAVIOUR` (simulator) or `none`; when left out,
    /// the one a manager saved in the settings (else none).
    #[arg(long)]
    terminal: Option<String>,
    /// Customer display: a device URI, `sim:DIR` (simulator writing each screen to
    /// DIR/display.log) or `none`; when left out, the one a manager saved in the settings.
    #[arg(long)]
    display: Option<String>,
    /// Serial barcode scanner: a device URI (`serial:///dev/ttyACM0`) or `none`; when left
    /// out, the one a manager saved in the settings.
    #[arg(long)]
    scanner: Option<String>,
    /// Seconds to wait for a card payment's result before it is unknown.
    #[arg(long, default_value_t = 180)]
    terminal_timeout: u64,
    /// Discounts above this percentage of the gross need a manager.
    #[arg(long, default_value = "20")]
    discount_limit: Decimal,
    /// Create the ledger if missing (demo shop, demo catalog) and add the demo staff
    /// (cashier Alice PIN 1234, manager Bruno PIN 9999).
    #[arg(long)]
    demo: bool,
    /// Also write the launch secret that commands must carry to this file (mode 0600).
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Seconds between background syncs while head office answers (a recorded ticket syncs at
    /// once; failures back off exponentially).
    #[arg(long, default_value_t = 30)]
    sync_every: u64,
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Writes the launch secret to `path`, readable by its owner only.
fn write_secret(path: &std::path::Path, secret: &http::LaunchSecret) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write the secret file {}", path.display()))?;
    // An existing file keeps its mode when opened: make it private before writing.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(secret.as_str().as_bytes())?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.demo {
        pos_till_service::setup::demo_ledger(&cli.db)?;
    }
    // Simulators live as long as the server.
    let (saved_printer, saved_terminal) =
        Service::saved_device_uris(&cli.db, Arc::new(SystemClock))
            .map_err(|e| anyhow::anyhow!(e.message))?;
    let printer = cli
        .printer
        .clone()
        .or(saved_printer)
        .unwrap_or_else(|| "none".into());
    let terminal = cli
        .terminal
        .clone()
        .or(saved_terminal)
        .unwrap_or_else(|| "none".into());
    let setup = DeviceSetup::from_args(
        &printer,
        &terminal,
        Duration::from_secs(cli.terminal_timeout),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let devices = setup.devices.clone();
    let options = ServiceOptions {
        discount_limit_percent: cli.discount_limit,
        ..ServiceOptions::default()
    };
    let db = cli.db.clone();
    let service = tokio::task::spawn_blocking(move || {
        Service::open(&db, Arc::new(SystemClock), devices, options)
    })
    .await?
    .map_err(|e| anyhow::anyhow!(e.message))?;
    let service = Arc::new(service);
    let display_sim = match cli.display.as_deref().map(|d| (d, d.strip_prefix("sim:"))) {
        Some((_, Some(dir))) => {
            let dir = if dir.is_empty() { "out/display" } else { dir };
            let sim =
                pos_till_service::simulators::DisplaySimulator::start(std::path::Path::new(dir))?;
            service
                .use_display(Some(sim.uri()))
                .map_err(|e| anyhow::anyhow!(e.message))?;
            Some((sim, dir.to_string()))
        }
        Some((uri, None)) => {
            service
                .use_display(Some(uri))
                .map_err(|e| anyhow::anyhow!(e.message))?;
            None
        }
        None => None,
    };
    if let Some(scanner) = cli.scanner.as_deref() {
        service
            .use_scanner(Some(scanner))
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    service.start_sync_loop(SyncLoopOptions {
        every: Duration::from_secs(cli.sync_every.max(1)),
        ..SyncLoopOptions::default()
    });

    if let Some(ui) = &cli.ui
        && !ui.join("index.html").exists()
    {
        bail!(
            "{} has no index.html: build the UI first (cd ui && npm run build)",
            ui.display()
        );
    }
    let secret = http::LaunchSecret::random()?;
    if let Some(path) = &cli.secret_file {
        write_secret(path, &secret)?;
    }
    let listener = http::bind_loopback(cli.listen).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let ready = serde_json::json!({
        "url": url,
        "printer": setup.printer,
        "receipts": setup.printer_sim.as_ref().map(|s| s.out_dir().display().to_string()),
        "terminal": setup.terminal,
        "display": display_sim.as_ref().map(|(sim, _)| sim.uri().to_string()),
        "display_log": display_sim.as_ref().map(|(_, dir)| format!("{dir}/display.log")),
        "db": cli.db.display().to_string(),
    });
    println!("{ready}");
    http::serve(listener, service, cli.ui.clone(), secret, shutdown_signal()).await?;
    drop(setup);
    drop(display_sim);
    Ok(())
}
