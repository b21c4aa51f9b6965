//! Webhook delivery against a real HTTP receiver (axum on 127.0.0.1:0) that fails (HTTP 500,
//! or no answer before the timeout) for a while and then recovers, on every storage backend:
//! every event arrives at least once, every signature verifies, events of one subject arrive in
//! outbox order; failures past the limit are dead-lettered, visible at head office and retried
//! by the admin command; a restarted server resumes its queues. Secrets are sealed at rest
//! under the server key; those stored in clear before are sealed at start, and a wrong key
//! stops the server before it signs anything.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use pos_domain::record::Chain;
use reqwest::StatusCode;
use serde_json::Value;
use support::*;
use sync_server::Store;
use sync_server::feeds::SystemClock;
use sync_server::feeds::webhooks::{self, DeliveryTiming, WebhookWorker};
use sync_server::server_key::{KeySource, ServerKey, ServerKeys, prepare_webhook_secrets};
use sync_server::store::NewWebhook;
use tokio::sync::watch;

on_every_backend!(
    a_failing_receiver_gets_every_event_signed_and_in_order_per_subject,
    events_are_dead_lettered_after_the_limit_then_retried,
    deliveries_resume_after_a_restart,
    an_https_receiver_gets_events_once_its_authority_is_trusted,
    secrets_are_sealed_at_rest_and_those_in_clear_sealed_at_start,
);

const TILL: &str = "PARIS-OPERA-1";
const SECRET: &str = "a-webhook-secret-of-some-length";
/// The server key of these tests, given to the admin command as `SYNC_SECRET_KEY`.
const KEY_HEX: &str = "3f1c9a0b7d2e4c6f8a1b3d5e7f90a2c4e6f8091b3d5f7a9c1e3f5a7b9d1f3e5a";

fn test_key() -> ServerKey {
    ServerKey::from_hex(KEY_HEX, "the test key").unwrap()
}

fn test_keys() -> Arc<ServerKeys> {
    Arc::new(ServerKeys::fixed(test_key()))
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Attempt {
    event_id: String,
    subject: String,
    accepted: bool,
    signature_valid: bool,
}

#[derive(Default)]
struct Behaviour {
    /// Requests answered with a failure before the receiver recovers.
    fail_first: usize,
    /// Fail every request until cleared.
    always_fail: bool,
    requests: usize,
    attempts: Vec<Attempt>,
}

/// A webhook receiver on a real socket.
struct Receiver {
    url: String,
    state: Arc<Mutex<Behaviour>>,
    task: tokio::task::JoinHandle<()>,
}

/// Every third failing request gets no answer at all (the worker's timeout ends it), the
/// others a 500.
async fn receive(
    State(state): State<Arc<Mutex<Behaviour>>>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let signature_valid = webhooks::verify(
        SECRET,
        &header(webhooks::TIMESTAMP_HEADER),
        &header(webhooks::SIGNATURE_HEADER),
        &body,
    ) && header("content-type").starts_with("application/cloudevents+json");
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (fail, hang) = {
        let mut s = state.lock().unwrap();
        s.requests += 1;
        let fail = s.always_fail || s.requests <= s.fail_first;
        let hang = fail && s.requests % 3 == 0;
        s.attempts.push(Attempt {
            event_id: event["id"].as_str().unwrap_or_default().to_string(),
            subject: event["subject"].as_str().unwrap_or_default().to_string(),
            accepted: !fail,
            signature_valid,
        });
        (fail, hang)
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    if fail {
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::NO_CONTENT
    }
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let state = Arc::new(Mutex::new(behaviour));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, state, task }
    }

    /// The same receiver over HTTPS, with a self-signed certificate for 127.0.0.1 (returned,
    /// for the client to trust).
    async fn start_tls(
        behaviour: Behaviour,
    ) -> (Receiver, rustls::pki_types::CertificateDer<'static>) {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let state = Arc::new(Mutex::new(behaviour));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends the handshake.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        (Receiver { url, state, task }, cert.der().clone())
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.state.lock().unwrap().attempts.clone()
    }

    fn accepted_ids(&self) -> BTreeSet<String> {
        self.attempts()
            .into_iter()
            .filter(|a| a.accepted)
            .map(|a| a.event_id)
            .collect()
    }

    fn recover(&self) {
        let mut s = self.state.lock().unwrap();
        s.always_fail = false;
        s.fail_first = 0;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn fast_timing(max_attempts: u32) -> DeliveryTiming {
    DeliveryTiming {
        poll_interval: Duration::from_millis(20),
        first_retry: Duration::from_millis(30),
        max_retry: Duration::from_millis(200),
        max_attempts,
        request_timeout: Duration::from_millis(300),
        parallel: 4,
        batch: 50,
    }
}

/// Runs a delivery worker until the returned sender fires.
fn start_worker(
    store: Arc<dyn Store>,
    timing: DeliveryTiming,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let worker = WebhookWorker::new(store, Arc::new(SystemClock), timing, test_keys()).unwrap();
    (stop, tokio::spawn(worker.run(stopped)))
}

async fn register(store: &dyn Store, id: &str, url: &str, types: &[&str]) {
    store
        .create_webhook(
            &NewWebhook {
                id: id.into(),
                url: url.into(),
                sealed_secret: test_key().seal(id, SECRET).unwrap(),
                types: types.iter().map(|t| t.to_string()).collect(),
                from_start: false,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
}

/// A server with an enrolled till whose ledger (`tickets` demo tickets over two days) is
/// uploaded in batches of 5, so stock and customer subjects get events from several uploads.
async fn upload_ledger(server: &Server, tickets: u64) -> TestTill {
    upload_ledger_in(server, tickets, 5).await
}

/// Uploads a ledger of `tickets` tickets, `batch` records of each chain per upload.
async fn upload_ledger_in(server: &Server, tickets: u64, batch: usize) -> TestTill {
    let code = server.create_till(SHOP_A, TILL).await;
    let till = TestTill::new(TILL, 21, tickets, 2, 5);
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(batch) {
        server.upload(&token, TILL, chains).await;
    }
    till
}

/// Waits until `done` holds, failing after a minute with `what`.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until every webhook's queue is empty: the worker recorded its last deliveries (a
/// receiver can have an event before the worker notes it delivered).
async fn drained(store: &dyn Store) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let hooks = store.webhooks().await.unwrap();
        if hooks.iter().all(|h| h.pending == 0 && h.dead == 0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "queues left: {hooks:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Checks, over the receiver's requests in arrival order, that no event of a subject was sent
/// before every earlier event (in outbox order) of that subject had been accepted.
fn assert_in_order_per_subject(events: &[Value], attempts: &[Attempt]) {
    let position: BTreeMap<&str, usize> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e["id"].as_str().unwrap(), i))
        .collect();
    let mut by_subject: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in events {
        by_subject
            .entry(e["subject"].as_str().unwrap())
            .or_default()
            .push(e["id"].as_str().unwrap());
    }
    let mut accepted = BTreeSet::new();
    for a in attempts {
        let earlier = by_subject[a.subject.as_str()]
            .iter()
            .take_while(|id| position[*id] < position[a.event_id.as_str()]);
        for id in earlier {
            assert!(
                accepted.contains(*id),
                "{} was sent before {id} of the same subject {} was delivered",
                a.event_id,
                a.subject
            );
        }
        if a.accepted {
            accepted.insert(a.event_id.as_str());
        }
    }
}

async fn a_failing_receiver_gets_every_event_signed_and_in_order_per_subject(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let receiver = Receiver::start(Behaviour {
        fail_first: 40,
        ..Behaviour::default()
    })
    .await;
    register(server.store.as_ref(), "shop-site", &receiver.url, &[]).await;
    let (stop, worker) = start_worker(server.store.clone(), fast_timing(1000));
    let till = upload_ledger(&server, 24).await;

    let events = server.feed_all().await;
    assert_eq!(facts(&events), till.fact_count());
    let all: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    eventually("every event delivered", || receiver.accepted_ids() == all).await;
    drained(server.store.as_ref()).await;
    let _ = stop.send(true);
    worker.await.unwrap();

    let attempts = receiver.attempts();
    assert!(
        attempts.iter().filter(|a| !a.accepted).count() >= 40,
        "the receiver failed its first 40 requests"
    );
    assert!(
        attempts.iter().all(|a| a.signature_valid),
        "every request carries a valid signature over its exact body"
    );
    let busiest = events
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut m, e| {
            *m.entry(e["subject"].as_str().unwrap()).or_default() += 1;
            m
        })
        .into_values()
        .max()
        .unwrap();
    assert!(busiest >= 3, "some subject has several events to order");
    assert_in_order_per_subject(&events, &attempts);
    let (status, hooks) = server
        .get("/api/v1/hq/webhooks", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hooks[0]["pending"], 0, "nothing left queued: {hooks}");
    assert_eq!(hooks[0]["dead"], 0);
    server.stop().await;
}

/// Runs `sync-server --db DB --json admin ARGS...` and returns its JSON output.
fn admin(db: &str, args: &[&str]) -> Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .env("SYNC_SECRET_KEY", KEY_HEX)
        .arg("--db")
        .arg(db)
        .arg("--json")
        .arg("admin")
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

async fn events_are_dead_lettered_after_the_limit_then_retried(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let receiver = Receiver::start(Behaviour {
        always_fail: true,
        ..Behaviour::default()
    })
    .await;
    // Registered by the admin command, for stock events only.
    let added = admin(
        &server.db_url,
        &[
            "webhook",
            "add",
            "--id",
            "stock-site",
            "--url",
            &receiver.url,
            "--secret",
            SECRET,
            "--types",
            "pos.stock",
        ],
    );
    assert_eq!(added["types"], serde_json::json!(["pos.stock"]));
    let (stop, worker) = start_worker(server.store.clone(), fast_timing(3));
    // A ticket per upload, as a till syncing after each sale: a stock event holds one line's
    // movements of one upload, so a product sold in two tickets makes two events.
    upload_ledger_in(&server, 6, 1).await;
    let stock: Vec<Value> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["type"] == "pos.stock.level.changed")
        .collect();
    let subjects: BTreeSet<&str> = stock
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert!(stock.len() > subjects.len(), "some products move twice");

    // The first event of each subject fails three times and is parked; the later ones of that
    // subject wait behind it, never attempted.
    let admin_token = server.admin_token.clone();
    let mut dead = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while dead.as_array().map(Vec::len) != Some(subjects.len()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead letters: {dead}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        dead = server
            .get("/api/v1/hq/webhooks/dead-letters", Some(&admin_token))
            .await
            .1;
    }
    for letter in dead.as_array().unwrap() {
        assert_eq!(letter["webhook_id"], "stock-site");
        assert_eq!(letter["attempts"], 3);
        assert!(
            letter["last_error"].as_str().unwrap().contains("500")
                || letter["last_error"].as_str().unwrap().contains("timed out"),
            "the last error says what went wrong: {letter}"
        );
    }
    // Let the worker run a few more passes: nothing more is attempted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = receiver.attempts();
    assert_eq!(attempts.len(), subjects.len() * 3, "three attempts each");
    assert!(
        attempts
            .iter()
            .all(|a| a.event_id.starts_with("stock/") && a.signature_valid),
        "only the subscribed type is sent"
    );
    let (status, _) = server
        .get(
            "/api/v1/hq/webhooks/dead-letters",
            Some(&server.manager_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "dead letters are for admins");
    let listed = admin(&server.db_url, &["webhook", "dead-letters"]);
    assert_eq!(listed.as_array().unwrap().len(), subjects.len());

    // The receiver recovers; an admin retries: every stock event arrives, in order.
    receiver.recover();
    let retried = admin(
        &server.db_url,
        &["webhook", "retry", "--webhook", "stock-site"],
    );
    assert_eq!(retried["retried"].as_u64(), Some(subjects.len() as u64));
    let all: BTreeSet<String> = stock
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    eventually("every stock event delivered after the retry", || {
        receiver.accepted_ids() == all
    })
    .await;
    drained(server.store.as_ref()).await;
    let _ = stop.send(true);
    worker.await.unwrap();
    assert_in_order_per_subject(&stock, &receiver.attempts());
    assert!(
        sync_server::store::all_dead_letters(server.store.as_ref())
            .await
            .unwrap()
            .is_empty()
    );
    let listed = admin(&server.db_url, &["webhook", "list"]);
    assert_eq!(listed[0]["pending"], 0);
    server.stop().await;
}

async fn deliveries_resume_after_a_restart(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let receiver = Receiver::start(Behaviour {
        always_fail: true,
        ..Behaviour::default()
    })
    .await;
    register(
        server.store.as_ref(),
        "crm",
        &receiver.url,
        &["pos.crm", "pos.record.ticket"],
    )
    .await;
    let (stop, worker) = start_worker(server.store.clone(), fast_timing(1000));
    let till = upload_ledger(&server, 12).await;
    let wanted: BTreeSet<String> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| {
            let t = e["type"].as_str().unwrap();
            t.starts_with("pos.crm") || t.starts_with("pos.record.ticket")
        })
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(wanted.len() as u64 > till.records(Chain::Ticket).len() as u64);
    eventually("the worker tried and failed", || {
        receiver.attempts().len() >= 10
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while server.store.webhooks().await.unwrap()[0].pending as usize != wanted.len() {
        assert!(tokio::time::Instant::now() < deadline, "every event queued");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // The server stops with everything still queued, and starts again on the same database.
    let _ = stop.send(true);
    worker.await.unwrap();
    let db_url = server.db_url.clone();
    let dir = server.stop_keeping_data().await;
    receiver.recover();
    let store = sync_server::open_store(&db_url).await.unwrap();
    let queued = store.webhooks().await.unwrap()[0].pending;
    assert_eq!(
        queued as usize,
        wanted.len(),
        "the queue survived the restart"
    );
    let (stop, worker) = start_worker(store.clone(), fast_timing(1000));
    eventually("every queued event delivered after the restart", || {
        receiver.accepted_ids() == wanted
    })
    .await;
    drained(store.as_ref()).await;
    let _ = stop.send(true);
    worker.await.unwrap();
    assert_eq!(store.webhooks().await.unwrap()[0].pending, 0);
    drop(store);
    drop_database(&db_url).await;
    drop(dir);
}

async fn an_https_receiver_gets_events_once_its_authority_is_trusted(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let (receiver, root) = Receiver::start_tls(Behaviour::default()).await;
    register(server.store.as_ref(), "secure", &receiver.url, &["pos.crm"]).await;
    upload_ledger(&server, 10).await;
    let wanted: BTreeSet<String> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("pos.crm"))
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!wanted.is_empty());

    // A worker that does not trust the receiver's authority gets no event through; the dead
    // letters say why.
    let (stop, worker) = start_worker(server.store.clone(), fast_timing(2));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let dead = loop {
        let dead = sync_server::store::all_dead_letters(server.store.as_ref())
            .await
            .unwrap();
        if !dead.is_empty() {
            break dead;
        }
        assert!(tokio::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let _ = stop.send(true);
    worker.await.unwrap();
    assert!(
        dead[0].last_error.to_lowercase().contains("certificate"),
        "the error names the certificate: {}",
        dead[0].last_error
    );
    assert!(
        receiver.attempts().is_empty(),
        "no request got past the handshake"
    );
    server
        .store
        .retry_dead_letters(Some("secure"), None, chrono::Utc::now())
        .await
        .unwrap();

    // Trusting it (what `serve --webhook-ca FILE` does), every event arrives, signed.
    let (stop, stopped) = watch::channel(false);
    let worker = WebhookWorker::with_extra_roots(
        server.store.clone(),
        Arc::new(SystemClock),
        fast_timing(1000),
        test_keys(),
        vec![root],
    )
    .unwrap();
    let worker = tokio::spawn(worker.run(stopped));
    eventually("every CRM event delivered over HTTPS", || {
        receiver.accepted_ids() == wanted
    })
    .await;
    drained(server.store.as_ref()).await;
    let _ = stop.send(true);
    worker.await.unwrap();
    assert!(receiver.attempts().iter().all(|a| a.signature_valid));
    server.stop().await;
}

/// What the database holds as the secret of `webhook`.
async fn stored_secret(db_url: &str, webhook: &str) -> String {
    let sql = format!("SELECT secret FROM webhooks WHERE id = '{webhook}'");
    if let Some(path) = db_url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(&sql, [], |r| r.get(0)).unwrap()
    } else {
        let (client, connection) = tokio_postgres::connect(db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.query_one(&sql, &[]).await.unwrap().get(0)
    }
}

/// Starts `sync-server serve` with the key file, waits until it listens, stops it with SIGINT,
/// and returns what it logged.
fn serve_until_listening(db_url: &str, key_file: &std::path::Path) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .env_remove("SYNC_SECRET_KEY")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .args(["--db", db_url, "--secret-key-file"])
        .arg(key_file)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("address=") {
            break;
        }
    }
    let stopped = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(
        child.wait().unwrap().success(),
        "serve stops cleanly: {log}"
    );
    log
}

/// Writes a webhook the way versions before sealing did: its secret in clear.
async fn insert_plain_webhook(db_url: &str, id: &str, url: &str) {
    let sql = format!(
        "INSERT INTO webhooks (id, url, secret, types, cursor, created_at)
         VALUES ('{id}', '{url}', '{SECRET}', 'pos.stock', 0, '2026-03-30T08:00:00.000000Z')"
    );
    if let Some(path) = db_url.strip_prefix("sqlite:") {
        rusqlite::Connection::open(path)
            .unwrap()
            .execute(&sql, [])
            .unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(&sql).await.unwrap();
    }
}

async fn secrets_are_sealed_at_rest_and_those_in_clear_sealed_at_start(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let receiver = Receiver::start(Behaviour::default()).await;
    let key_file = server.dir.path().join("conf").join("sync-server.key");
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    let run = |env_key: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"));
        command
            .env_remove("SYNC_SECRET_KEY")
            .args(["--db", &server.db_url, "--secret-key-file"])
            .arg(&key_file)
            .args(args);
        if let Some(key) = env_key {
            command.env("SYNC_SECRET_KEY", key);
        }
        command.output().expect("the sync-server binary runs")
    };
    // A webhook added now: sealed at once, under a key file created with mode 0600.
    let added = run(
        None,
        &[
            "--json",
            "admin",
            "webhook",
            "add",
            "--id",
            "fresh",
            "--url",
            &receiver.url,
            "--secret",
            SECRET,
            "--types",
            "pos.stock",
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the key file is for the server's user only"
        );
    }
    assert!(
        !stored_secret(&server.db_url, "fresh")
            .await
            .contains(SECRET)
    );
    // A webhook stored in clear by an earlier version is sealed when `serve` starts, before
    // it listens.
    insert_plain_webhook(&server.db_url, "legacy", &receiver.url).await;
    assert_eq!(stored_secret(&server.db_url, "legacy").await, SECRET);
    let (db_url, key_path) = (server.db_url.clone(), key_file.clone());
    let log = blocking(move || serve_until_listening(&db_url, &key_path)).await;
    assert!(
        log.contains("webhook secrets stored in clear are now sealed count=1"),
        "{log}"
    );
    let source = KeySource::File(key_file.clone());
    let (key, report) = prepare_webhook_secrets(server.store.as_ref(), &source)
        .await
        .unwrap();
    assert_eq!(report.checked, 2, "both sealed secrets open with the key");
    assert_eq!(report.sealed, 0, "nothing left in clear");
    for id in ["fresh", "legacy"] {
        let stored = stored_secret(&server.db_url, id).await;
        assert!(
            !stored.contains(SECRET),
            "the database holds no secret in clear, here `{id}`'s: {stored}"
        );
    }
    // Both still sign their deliveries with the secret they were given.
    let (stop, stopped) = watch::channel(false);
    let worker = WebhookWorker::new(
        server.store.clone(),
        Arc::new(SystemClock),
        fast_timing(1000),
        Arc::new(ServerKeys::from_source(source, key)),
    )
    .unwrap();
    let worker = tokio::spawn(worker.run(stopped));
    upload_ledger(&server, 6).await;
    let stock_events = server
        .feed_all()
        .await
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("pos.stock"))
        .count();
    assert!(stock_events > 0);
    eventually("each webhook got each stock event", || {
        receiver.attempts().len() >= 2 * stock_events
    })
    .await;
    drained(server.store.as_ref()).await;
    let _ = stop.send(true);
    worker.await.unwrap();
    let attempts = receiver.attempts();
    assert_eq!(
        attempts.len(),
        2 * stock_events,
        "each webhook got each stock event"
    );
    assert!(
        attempts.iter().all(|a| a.signature_valid),
        "every delivery is signed with the webhook's own secret"
    );

    // Another key: `serve` refuses to start, saying why, and changes nothing.
    let before = stored_secret(&server.db_url, "legacy").await;
    let refused = run(
        Some(&"00".repeat(32)),
        &["serve", "--listen", "127.0.0.1:0"],
    );
    assert!(!refused.status.success(), "a wrong key stops the server");
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("does not open with the server key"),
        "{message}"
    );
    assert_eq!(stored_secret(&server.db_url, "legacy").await, before);
    // So does a missing key file.
    std::fs::remove_file(&key_file).unwrap();
    let missing = run(None, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no server key"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    server.stop().await;
}
