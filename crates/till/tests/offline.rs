//! The sync loop through a real head-office outage: the real `sync-server` binary is stopped
//! and started again on the same port, and the event journal gains exactly one `offline_start`
//! and one `offline_end`, however many passes fail in between.
//!
//! The server binary is `$SYNC_SERVER_BIN`, or the workspace's `target/debug/sync-server`
//! (`cargo build -p pos-sync-server --bin sync-server`). Without it the test fails under
//! `CI=true` and is skipped otherwise.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pos_domain::clock::Clock;
use pos_domain::record::Chain;
use pos_till::sync_loop::{SyncLoop, SyncLoopOptions};
use pos_till::system::SystemClock;
use pos_till::{InitOptions, Till};
use serde_json::Value;
use support::{run_till, text};

fn server_bin() -> Option<PathBuf> {
    let path = std::env::var_os("SYNC_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/sync-server")
        });
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "the head-office binary {} is missing: cargo build -p pos-sync-server --bin sync-server",
        path.display()
    );
    None
}

struct HeadOffice {
    bin: PathBuf,
    db: String,
    port: u16,
    process: Option<Child>,
}

impl HeadOffice {
    fn admin(&self, args: &[&str]) -> Value {
        let out = Command::new(&self.bin)
            .args(["--db", &self.db, "--json", "admin"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn start(&mut self) {
        let child = Command::new(&self.bin)
            .args([
                "--db",
                &self.db,
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.process = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "head office did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HeadOffice {
    fn drop(&mut self) {
        self.stop();
    }
}

fn offline_events(path: &Path) -> Vec<String> {
    let till = Till::open(path, Arc::new(SystemClock)).unwrap();
    let mut kinds = Vec::new();
    till.records(
        Chain::Event,
        1,
        till.chain_length(Chain::Event).unwrap(),
        |record| {
            let kind = record.record.payload["kind"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if kind.starts_with("offline_") {
                kinds.push(kind);
            }
            Ok(())
        },
    )
    .unwrap();
    kinds
}

#[test]
fn an_outage_writes_exactly_one_offline_start_and_one_offline_end() {
    let Some(bin) = server_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut office = HeadOffice {
        bin,
        db: format!("sqlite:{}", dir.path().join("head-office.sqlite").display()),
        port,
        process: None,
    };
    office.admin(&[
        "entity",
        "create",
        "--name",
        "Acme Télécom",
        "--siren",
        "123456789",
    ]);
    office.admin(&[
        "shop",
        "create",
        "--entity",
        "ACME-TELECOM",
        "--name",
        "Paris Opéra",
        "--territory",
        "metropole",
        "--timezone",
        "Europe/Paris",
    ]);
    let code = office.admin(&[
        "till",
        "create",
        "--shop",
        "PARIS-OPERA",
        "--name",
        "Caisse 1",
        "--id",
        "CAISSE-1",
    ]);
    let code = code["enrollment_code"]
        .as_str()
        .expect("an enrollment code")
        .to_string();
    office.start();

    let path = dir.path().join("till.db");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let options = InitOptions {
        till_id: Some("CAISSE-1".into()),
        ..InitOptions::new("Boutique Paris Opéra", "Caisse 1")
    };
    drop(Till::init(&path, options, clock.clone(), [5; 32]).unwrap());
    let out = run_till(
        &path,
        &["enroll", "--server", &office.url(), "--code", &code],
        "",
    );
    assert!(out.status.success(), "enroll: {}", text(&out.stderr));

    let sync = SyncLoop::start(
        path.clone(),
        clock,
        SyncLoopOptions {
            every: Duration::from_secs(3600),
            retry_min: Duration::from_secs(3600),
            retry_max: Duration::from_secs(3600),
        },
    );
    let wait = Duration::from_secs(60);
    assert_eq!(
        sync.pass_now(wait).online,
        Some(true),
        "head office answers"
    );
    assert!(offline_events(&path).is_empty(), "no outage yet");

    office.stop();
    for pass in 0..3 {
        let status = sync.pass_now(wait);
        assert_eq!(
            status.online,
            Some(false),
            "pass {pass}: head office is down"
        );
    }
    assert_eq!(
        offline_events(&path),
        ["offline_start"],
        "three failed passes make one offline start"
    );

    office.start();
    for _ in 0..2 {
        assert_eq!(
            sync.pass_now(wait).online,
            Some(true),
            "head office is back"
        );
    }
    assert_eq!(
        offline_events(&path),
        ["offline_start", "offline_end"],
        "the outage ends once, and the end is journaled once"
    );
    sync.stop();
}
