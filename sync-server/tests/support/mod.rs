//! Shared set-up for the sync server's scenario tests: a server on 127.0.0.1:0 over a fresh
//! SQLite file or a fresh PostgreSQL database, and real tills (the `pos_till` engine with its
//! demo generator) whose signed records are uploaded over HTTP.
//!
//! PostgreSQL is found through `DATABASE_URL` (start one with
//! `sync-server/scripts/start-postgres.sh`); each test creates its own database there. Without
//! `DATABASE_URL` the PostgreSQL variants are skipped with a message, except under `CI=true`
//! where they fail.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use pos_domain::clock::ManualClock;
use pos_domain::record::{Chain, SignedRecord};
use pos_domain::wire::{
    ChainBatch, EnrollRequest, EnrollResponse, ProtocolVersion, UploadRequest, UploadResponse,
    WireRecord,
};
use pos_till::demo::{self, DemoOptions};
use pos_till::{InitOptions, Till};
use reqwest::StatusCode;
use serde_json::Value;
use sync_server::store::{LegalEntity, NewTill, Role, Shop, User};
use sync_server::{AppState, ServerConfig, Store, open_store, secrets};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL for a fresh, empty database of `backend`, or `None` to skip.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite:{}", dir.join("server.sqlite").display())),
        Backend::Postgres => {
            let Ok(url) = std::env::var("DATABASE_URL") else {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "CI=true but DATABASE_URL is not set: the PostgreSQL scenario tests must run in CI \
                         (start PostgreSQL with sync-server/scripts/start-postgres.sh)"
                    );
                }
                eprintln!(
                    "SKIPPED: DATABASE_URL is not set; run `export DATABASE_URL=$(sync-server/scripts/start-postgres.sh)`"
                );
                return None;
            };
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("DATABASE_URL={url} is set but unreachable: {e}"));
            tokio::spawn(connection);
            let name = format!(
                "pos_sync_test_{}",
                hex::encode(secrets::random_bytes::<6>().unwrap())
            );
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap_or_else(|e| panic!("cannot create a test database at {url}: {e}"));
            let base = url.split('?').next().unwrap_or(&url);
            let (root, _) = base
                .rsplit_once('/')
                .expect("DATABASE_URL has a database name");
            Some(format!("{root}/{name}"))
        }
    }
}

/// A running server and the ids it was set up with.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub db_url: String,
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// An admin's token, and a shop manager of PARIS-OPERA's.
    pub admin_token: String,
    pub manager_token: String,
}

pub const ENTITY: &str = "ACME";
pub const SHOP_A: &str = "PARIS-OPERA";
pub const SHOP_B: &str = "LYON-BELLECOUR";

impl Server {
    /// Starts a server with an entity, two shops, an admin and a shop manager of shop A.
    pub async fn start(backend: Backend) -> Option<Server> {
        Server::start_with(backend, ServerConfig::default()).await
    }

    pub async fn start_with(backend: Backend, config: ServerConfig) -> Option<Server> {
        // Server errors (logged, never sent to clients) show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(backend, dir.path()).await?;
        let store = open_store(&db_url)
            .await
            .expect("the store opens and migrates");
        store
            .create_entity(&LegalEntity {
                id: ENTITY.into(),
                name: "Acme Télécom SA".into(),
                siren: "123456789".into(),
                fiscal_year_start_month: 1,
            })
            .await
            .unwrap();
        for (id, tz) in [(SHOP_A, "Europe/Paris"), (SHOP_B, "Europe/Paris")] {
            store
                .create_shop(&Shop {
                    id: id.into(),
                    entity_id: ENTITY.into(),
                    name: id.into(),
                    territory: "metropole".into(),
                    timezone: tz.into(),
                    address: "1 rue de la Paix".into(),
                    region_id: None,
                })
                .await
                .unwrap();
        }
        let admin_token = secrets::new_token().unwrap();
        store
            .create_user(
                &User {
                    id: "ada".into(),
                    name: "Ada Admin".into(),
                    role: Role::Admin,
                    shop_id: None,
                    region_id: None,
                },
                &secrets::token_hash(&admin_token),
            )
            .await
            .unwrap();
        let manager_token = secrets::new_token().unwrap();
        store
            .create_user(
                &User {
                    id: "max".into(),
                    name: "Max Manager".into(),
                    role: Role::ShopManager,
                    shop_id: Some(SHOP_A.into()),
                    region_id: None,
                },
                &secrets::token_hash(&manager_token),
            )
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let state = AppState {
            store: store.clone(),
            config,
        };
        let task = tokio::spawn(sync_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        Some(Server {
            dir,
            url,
            db_url,
            store,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            admin_token,
            manager_token,
        })
    }

    /// Creates a till in `shop` and returns its one-time enrollment code.
    pub async fn create_till(&self, shop: &str, till_id: &str) -> String {
        let code = secrets::new_enrollment_code().unwrap();
        self.store
            .create_till(&NewTill {
                id: till_id.into(),
                shop_id: shop.into(),
                name: format!("Caisse {till_id}"),
                code_hash: secrets::code_hash(&code),
                code_expires_at: Utc::now() + Duration::hours(1),
            })
            .await
            .unwrap();
        code
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn enroll(&self, code: &str, till: &TestTill) -> EnrollResponse {
        let request = EnrollRequest {
            protocol: ProtocolVersion::CURRENT,
            code: code.into(),
            public_key: till.till.public_key().to_string(),
            software: "pos-till test".into(),
        };
        let (status, body) = self
            .post_json(
                "/api/v1/enroll",
                None,
                &serde_json::to_value(request).unwrap(),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "enrollment with a fresh code succeeds: {body}"
        );
        serde_json::from_value(body).unwrap()
    }

    /// Uploads `batches` for `till_id` and returns the parsed answer (asserting 200).
    pub async fn upload(
        &self,
        token: &str,
        till_id: &str,
        chains: Vec<ChainBatch>,
    ) -> UploadResponse {
        let request = UploadRequest {
            protocol: ProtocolVersion::CURRENT,
            chains,
            sent_at: None,
        };
        let (status, body) = self
            .post_json(
                &format!("/api/v1/tills/{till_id}/records"),
                Some(token),
                &serde_json::to_value(request).unwrap(),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a well-formed upload is answered 200: {body}"
        );
        serde_json::from_value(body).unwrap()
    }

    /// Every outbox event, through the pull feed, as the admin.
    pub async fn feed_all(&self) -> Vec<Value> {
        let mut after = 0;
        let mut out = Vec::new();
        loop {
            let (status, body) = self
                .get(
                    &format!("/api/v1/feed?after={after}&limit=1000"),
                    Some(&self.admin_token),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let events = body["events"].as_array().unwrap().clone();
            if events.is_empty() {
                return out;
            }
            after = body["next"].as_i64().unwrap();
            out.extend(events);
        }
    }

    /// Stops the server after the requests in flight and removes its database.
    pub async fn stop(self) {
        let db_url = self.db_url.clone();
        let dir = self.stop_keeping_data().await;
        drop_database(&db_url).await;
        drop(dir);
    }

    /// Stops the server after the requests in flight and returns its directory (where the
    /// SQLite file is) so a test can reopen the database; the test then calls
    /// [`drop_database`].
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.dir
    }
}

/// Removes a PostgreSQL test database (SQLite files go with their temporary directory).
pub async fn drop_database(db_url: &str) {
    if db_url.starts_with("sqlite:") {
        return;
    }
    let admin_url = std::env::var("DATABASE_URL").expect("a PostgreSQL test has DATABASE_URL");
    let name = db_url.rsplit('/').next().unwrap_or_default();
    assert!(
        name.starts_with("pos_sync_test_"),
        "only test databases are dropped"
    );
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap_or_else(|e| panic!("dropping the test database {name}: {e}"));
}

/// A real till with a signed demo ledger.
pub struct TestTill {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub clock: Arc<ManualClock>,
    pub till: Till,
}

pub fn start_time() -> DateTime<Utc> {
    "2026-03-30T08:00:00Z".parse().unwrap()
}

impl TestTill {
    /// A till with id `till_id`, key from `secret`, and `tickets` demo tickets over `days` days.
    pub fn new(till_id: &str, secret: u8, tickets: u64, days: u32, seed: u64) -> TestTill {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.db");
        let clock = Arc::new(ManualClock::new(start_time()));
        let options = InitOptions {
            till_id: Some(till_id.into()),
            siret: "12345678900011".into(),
            ..InitOptions::new("Boutique Opéra", till_id)
        };
        let mut till = Till::init(&path, options, clock.clone(), [secret; 32]).unwrap();
        if tickets > 0 {
            demo::run(
                &mut till,
                &clock,
                &DemoOptions {
                    tickets,
                    seed,
                    days,
                },
            )
            .unwrap();
        }
        TestTill {
            dir,
            path,
            clock,
            till,
        }
    }

    pub fn records(&self, chain: Chain) -> Vec<SignedRecord> {
        let mut out = Vec::new();
        let len = self.till.chain_length(chain).unwrap();
        self.till
            .records(chain, 1, len.max(1), |r| {
                out.push(r);
                Ok(())
            })
            .unwrap();
        out
    }

    /// Every non-empty chain as batches of at most `size` records.
    pub fn batches(&self, size: usize) -> Vec<Vec<ChainBatch>> {
        let mut uploads: Vec<Vec<ChainBatch>> = Vec::new();
        for chain in Chain::ALL {
            for (i, chunk) in self.records(chain).chunks(size).enumerate() {
                if uploads.len() <= i {
                    uploads.push(Vec::new());
                }
                uploads[i].push(batch(chain, chunk));
            }
        }
        uploads
    }

    /// The sum of the ticket chain's totals, in cents.
    pub fn ticket_total_cents(&self) -> i64 {
        self.records(Chain::Ticket)
            .iter()
            .map(|r| {
                let total: pos_domain::Money =
                    serde_json::from_value(r.record.payload["total"].clone()).unwrap();
                total.cents()
            })
            .sum()
    }

    /// The number of day (Z) closures in the ledger: each posts one accounting entry.
    pub fn day_closure_count(&self) -> u64 {
        self.records(Chain::Closure)
            .iter()
            .filter(|r| r.record.payload["level"] == "day")
            .count() as u64
    }

    /// The facts the outbox events of the whole ledger say, however it is uploaded: one per
    /// record, one per posted entry, per ticket a purchase and a customer event if it names a
    /// customer, and a stock movement per product it moves (a stock event holds the movements
    /// of one line in one upload: see [`facts`]).
    pub fn fact_count(&self) -> u64 {
        self.record_count() + self.day_closure_count() + self.ticket_fact_count()
    }

    /// The CRM events and stock movements of the ticket chain.
    pub fn ticket_fact_count(&self) -> u64 {
        self.records(Chain::Ticket)
            .iter()
            .map(|r| {
                let ticket: pos_domain::ticket::Ticket =
                    serde_json::from_value(r.record.payload.clone()).unwrap();
                let crm = if ticket.customer.is_some() { 2 } else { 0 };
                crm + sync_server::stock::movements("shop", &ticket).len() as u64
            })
            .sum()
    }

    pub fn record_count(&self) -> u64 {
        Chain::ALL
            .iter()
            .map(|c| self.till.chain_length(*c).unwrap())
            .sum()
    }
}

/// The facts `events` say (see [`TestTill::fact_count`]): one per event, but the movements of
/// a stock event, one per movement.
pub fn facts<'a>(events: impl IntoIterator<Item = &'a Value>) -> u64 {
    events
        .into_iter()
        .map(|e| match e["data"]["movements"].as_array() {
            Some(movements) if e["type"] == "pos.stock.level.changed" => movements.len() as u64,
            _ => 1,
        })
        .sum()
}

pub fn wire(record: &SignedRecord) -> WireRecord {
    WireRecord {
        seq: record.record.seq,
        stored: String::from_utf8(record.stored.clone()).unwrap(),
    }
}

pub fn batch(chain: Chain, records: &[SignedRecord]) -> ChainBatch {
    ChainBatch {
        chain,
        records: records.iter().map(wire).collect(),
    }
}

/// Declares each scenario once per storage backend: `sqlite::name` and `postgres::name`, each
/// calling `name(Backend)` of the including test file.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::Backend::Postgres).await
            })*
        }
    };
}
pub(crate) use on_every_backend;

/// Runs `sync-server --db DB --json ARGS...`, which must succeed, and returns its JSON answer.
pub fn sync_server_json(db: &str, args: &[&str]) -> Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--db", db, "--json"])
        .args(args)
        .output()
        .expect("the sync-server binary runs");
    assert!(
        output.status.success(),
        "sync-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

/// Runs blocking till code (the till's HTTP client is blocking) off the async runtime.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("the blocking work completes")
}

/// Runs blocking work on a till (its client to head office is blocking) off the async runtime,
/// and hands the till back with the work's result.
pub async fn on_till<R: Send + 'static>(
    till: TestTill,
    work: impl FnOnce(&mut Till) -> R + Send + 'static,
) -> (TestTill, R) {
    blocking(move || {
        let mut till = till;
        let out = work(&mut till.till);
        (till, out)
    })
    .await
}

/// A new till `id` of `shop`, enrolled with head office through its own client (`till enroll`).
pub async fn enrolled_till(server: &Server, shop: &str, id: &str, secret: u8) -> TestTill {
    enroll(server, shop, id, TestTill::new(id, secret, 0, 1, 1)).await
}

/// Declares till `id` of `shop` at head office and enrolls `till` (made with that id) as it,
/// through the till's own client; the ledger it already holds is not sent yet.
pub async fn enroll(server: &Server, shop: &str, id: &str, till: TestTill) -> TestTill {
    let code = server.create_till(shop, id).await;
    let url = server.url.clone();
    on_till(till, move |t| {
        t.enroll(&url, &code).expect("enrollment");
    })
    .await
    .0
}

/// Runs hledger (installed by `scripts/install-deps.sh`) and returns what it printed.
pub fn hledger(args: &[&str]) -> String {
    let out = std::process::Command::new("hledger")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hledger {args:?} fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The total of the accounts whose number starts with `prefix`, from `hledger bal` as CSV.
pub fn hledger_total(journal: &std::path::Path, prefix: &str) -> pos_domain::Money {
    let csv = hledger(&[
        "-f",
        journal.to_str().unwrap(),
        "bal",
        &format!("^{prefix}"),
        "--flat",
        "-N",
        "-O",
        "csv",
    ]);
    let mut total = pos_domain::Money::ZERO;
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split("\",\"").collect();
        let amount = fields[1].trim_matches('"').trim_end_matches(" EUR");
        total += amount.parse::<pos_domain::Money>().unwrap();
    }
    total
}

/// A port free on loopback now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real `sync-server serve` as a process on `port`, which a test may kill without warning
/// and start again on the same port.
pub struct ServerProcess {
    child: std::process::Child,
}

impl ServerProcess {
    pub fn start(db: &str, port: u16) -> ServerProcess {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args([
                "--db",
                db,
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the sync-server binary starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server listens within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ServerProcess { child }
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
