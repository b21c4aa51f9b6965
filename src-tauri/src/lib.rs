//! The cashier app's Tauri shell: one window, the till service held as managed state, a single
//! running instance, and one command, `call(command, request)`, handed to the same dispatcher
//! as the loopback HTTP transport ([`pos_till_service::Service::call`]). No business logic
//! lives here: see `crates/till-service` and its `API.md`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pos_till::sync_loop::SyncLoopOptions;
use pos_till::system::SystemClock;
use pos_till_service::simulators::DeviceSetup;
use pos_till_service::{ApiError, Service, ServiceOptions};
use serde_json::Value;
use tauri::Manager;

/// How the app is started (see `pos-cashier --help`).
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "pos-cashier", version, about = "The cashier app")]
pub struct AppOptions {
    /// The till's ledger (default: till.db in the app's data directory).
    #[arg(long, env = "TILL_DB")]
    pub db: Option<PathBuf>,
    /// Receipt printer: a device URI, `sim:DIR` or `none`; when left out, the one a manager
    /// saved in the settings (else none).
    #[arg(long, env = "TILL_PRINTER")]
    pub printer: Option<String>,
    /// Payment terminal: a device URI, `sim:BEHAVIOUR` or `none`; when left out, the one a
    /// manager saved in the settings (else none).
    #[arg(long, env = "TILL_TERMINAL")]
    pub terminal: Option<String>,
    /// Seconds to wait for a card payment's result before it is unknown.
    #[arg(long, default_value_t = 180)]
    pub terminal_timeout: u64,
    /// Create the demo ledger if missing and add the demo staff.
    #[arg(long)]
    pub demo: bool,
    /// Seconds between background syncs with head office while it answers.
    #[arg(long, default_value_t = 30)]
    pub sync_every: u64,
}

/// What the window's commands reach.
pub struct AppState {
    service: Arc<Service>,
    /// Simulators started for `sim:` devices live as long as the app.
    _devices: DeviceSetup,
}

impl AppState {
    /// Opens the ledger and sets the devices up.
    pub fn open(options: &AppOptions, db: PathBuf) -> Result<AppState, String> {
        if options.demo {
            pos_till_service::setup::demo_ledger(&db).map_err(|e| e.to_string())?;
        }
        let (saved_printer, saved_terminal) =
            Service::saved_device_uris(&db, Arc::new(SystemClock)).map_err(|e| e.message)?;
        let printer = options.printer.clone().or(saved_printer);
        let terminal = options.terminal.clone().or(saved_terminal);
        let devices = DeviceSetup::from_args(
            printer.as_deref().unwrap_or("none"),
            terminal.as_deref().unwrap_or("none"),
            Duration::from_secs(options.terminal_timeout),
        )?;
        let service = Service::open(
            &db,
            Arc::new(SystemClock),
            devices.devices.clone(),
            ServiceOptions::default(),
        )
        .map_err(|e| e.message)?;
        service.start_sync_loop(SyncLoopOptions {
            every: Duration::from_secs(options.sync_every.max(1)),
            ..SyncLoopOptions::default()
        });
        Ok(AppState {
            service: Arc::new(service),
            _devices: devices,
        })
    }

    /// Runs one command off the window's thread.
    pub async fn dispatch(&self, command: String, request: Value) -> Result<Value, ApiError> {
        let service = self.service.clone();
        tauri::async_runtime::spawn_blocking(move || service.call(&command, request))
            .await
            .map_err(|e| {
                ApiError::failure(
                    "command_panicked",
                    format!(
                        "the command failed unexpectedly ({e}): try again; the ledger is intact"
                    ),
                )
            })?
    }
}

/// The app's one command: `invoke("call", { command, request })`.
#[tauri::command]
async fn call(
    state: tauri::State<'_, AppState>,
    command: String,
    request: Value,
) -> Result<Value, ApiError> {
    state.dispatch(command, request).await
}

/// Starts the app and blocks until its window closes.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second start brings the running till to the front instead.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .setup(move |app| {
            let db = match &options.db {
                Some(db) => db.clone(),
                None => app.path().app_data_dir()?.join("till.db"),
            };
            let state = AppState::open(&options, db)?;
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![call])
        .run(tauri::generate_context!())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_command_reaches_the_same_dispatcher_as_http() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = AppOptions::parse_from(["pos-cashier", "--demo"]);
        let state = AppState::open(&options, dir.path().join("till.db")).expect("state");
        let answer =
            tauri::async_runtime::block_on(state.dispatch("login".into(), json!({"pin": "1234"})))
                .expect("login");
        assert_eq!(answer["staff"]["name"], "Alice");
        let refused = tauri::async_runtime::block_on(
            state.dispatch("product_by_barcode".into(), json!({"barcode": "0"})),
        )
        .expect_err("an unknown barcode is refused");
        assert_eq!(
            refused.code, "unknown_barcode",
            "errors keep their stable code"
        );
    }

    #[test]
    fn the_window_is_granted_the_one_command_only() {
        let capability: Value = serde_json::from_str(include_str!("../capabilities/default.json"))
            .expect("capability JSON");
        assert_eq!(
            capability["permissions"],
            json!(["allow-call"]),
            "the window needs nothing but the till service's command"
        );
    }
}
