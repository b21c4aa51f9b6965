//! Operations of a real `sync-server serve` process, over a fresh database of each backend:
//! Prometheus metrics scraped from the `--metrics-listen` address and read back with a
//! text-format parser, `/readyz` following the database while `/healthz` stays alive, JSON log
//! lines, and SIGTERM finishing the upload in flight.

mod support;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pos_domain::wire::{ChainBatch, EnrollRequest, ProtocolVersion, UploadRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::store::{LegalEntity, NewTill, NewWebhook, Role, Shop, User, WebhookQueue};
use sync_server::{Store, open_store, secrets};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TILL: &str = "PARIS-OPERA-C1";
const UPLOAD_ROUTE: &str = "/api/v1/tills/:till_id/records";
/// How long a server process has to start, to stop, or a probe to change its answer.
const PATIENCE: Duration = Duration::from_secs(30);

on_every_backend!(
    metrics_count_requests_by_route_and_status_and_the_records_ingested,
    sigterm_finishes_the_upload_in_flight,
    the_gauges_count_waiting_tills_consumer_lag_and_dead_letters,
    readyz_says_when_the_database_lacks_a_migration,
);

/// An entity, shop A, an admin and a till awaiting enrollment: the admin's token and the
/// till's enrollment code.
async fn seed(store: &dyn Store) -> (String, String) {
    store
        .create_entity(&LegalEntity {
            id: ENTITY.into(),
            name: "Acme Télécom SA".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    store
        .create_shop(&Shop {
            id: SHOP_A.into(),
            entity_id: ENTITY.into(),
            name: SHOP_A.into(),
            territory: "metropole".into(),
            timezone: "Europe/Paris".into(),
            address: "1 rue de la Paix".into(),
            region_id: None,
        })
        .await
        .unwrap();
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
    let code = secrets::new_enrollment_code().unwrap();
    store
        .create_till(&NewTill {
            id: TILL.into(),
            shop_id: SHOP_A.into(),
            name: "Caisse 1".into(),
            code_hash: secrets::code_hash(&code),
            code_expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    (admin_token, code)
}

/// A `sync-server serve` process logging JSON, its API and metrics on ports of its own.
struct Process {
    child: Child,
    api: String,
    metrics: String,
    /// Every line it wrote to standard error so far.
    logs: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Process {
    async fn start(db: &str, dir: &Path) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["--log-format", "json", "--db", db, "--secret-key-file"])
            .arg(dir.join("server.key"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the sync-server binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let lines = logs.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                lines.lock().unwrap().push(line);
            }
        });
        let mut process = Process {
            child,
            api: String::new(),
            metrics: String::new(),
            logs,
            reader: Some(reader),
        };
        let started = Instant::now();
        loop {
            let api = process.logged_address("serving");
            let metrics = process.logged_address("serving metrics");
            if let (Some(api), Some(metrics)) = (api, metrics) {
                process.api = format!("http://{api}");
                process.metrics = format!("http://{metrics}");
                return process;
            }
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!(
                    "serve exited ({status}) before serving: {:?}",
                    process.raw_logs()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "serve logs its addresses once it listens: {:?}",
                process.raw_logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn raw_logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Every log line, each parsed as JSON (a line that is not JSON fails the test).
    fn json_logs(&self) -> Vec<Value> {
        self.raw_logs()
            .iter()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("with --log-format json every log line is a JSON object ({e}): {line}")
                })
            })
            .collect()
    }

    fn logged(&self, message: &str) -> bool {
        self.json_logs().iter().any(|l| l["message"] == message)
    }

    fn logged_address(&self, message: &str) -> Option<String> {
        self.json_logs()
            .into_iter()
            .find(|l| l["message"] == message)
            .and_then(|l| l["address"].as_str().map(str::to_string))
    }

    fn signal_terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM is delivered");
    }

    /// Waits for the process to exit, then for its last log lines.
    async fn exited(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "serve exits once its requests in flight are answered: {:?}",
                self.raw_logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then the exit status, which must be success.
    async fn stop(mut self) -> Vec<Value> {
        self.signal_terminate();
        let status = self.exited().await;
        assert!(
            status.success(),
            "serve exits 0 on SIGTERM: {status}, {:?}",
            self.raw_logs()
        );
        self.json_logs()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn enroll(http: &reqwest::Client, api: &str, code: &str, till: &TestTill) -> String {
    let request = EnrollRequest {
        protocol: ProtocolVersion::CURRENT,
        code: code.into(),
        public_key: till.till.public_key().to_string(),
        software: "pos-till test".into(),
    };
    let response = http
        .post(format!("{api}/api/v1/enroll"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "a fresh code enrolls");
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

fn upload_body(chains: Vec<ChainBatch>) -> Vec<u8> {
    serde_json::to_vec(&UploadRequest {
        protocol: ProtocolVersion::CURRENT,
        chains,
        sent_at: None,
    })
    .unwrap()
}

/// Uploads `chains`: the status and the answer.
async fn upload(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    chains: Vec<ChainBatch>,
) -> (StatusCode, Value) {
    let response = http
        .post(format!("{api}/api/v1/tills/{TILL}/records"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(upload_body(chains))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn stored(answer: &Value) -> u64 {
    answer["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ack| ack["stored"].as_u64().unwrap())
        .sum()
}

async fn scrape(http: &reqwest::Client, metrics: &str) -> prometheus_parse::Scrape {
    let response = http.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "/metrics is served");
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "/metrics is in the Prometheus text format: {content_type}"
    );
    let text = response.text().await.unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("the Prometheus text-format parser reads /metrics")
}

/// The value of the sample `name` with exactly the labels `labels` (a counter or a gauge).
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            other => panic!("{name} is a counter or a gauge, not {other:?}"),
        })
}

async fn metrics_count_requests_by_route_and_status_and_the_records_ingested(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    let (admin, code) = seed(open_store(&db).await.unwrap().as_ref()).await;
    let process = Process::start(&db, dir.path()).await;
    let http = reqwest::Client::new();
    let api = process.api.clone();

    let till = TestTill::new(TILL, 7, 40, 1, 3);
    let token = enroll(&http, &api, &code, &till).await;
    let uploads = till.batches(30);
    let mut ingested = 0;
    for chains in &uploads {
        let (status, answer) = upload(&http, &api, &token, chains.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        ingested += stored(&answer);
    }
    assert_eq!(ingested, till.record_count(), "every record is stored once");
    // On a client of its own: the server answers 401 without reading the body and closes
    // that connection, which a pooled client could otherwise pick for the next request.
    let stranger = reqwest::Client::new();
    let (status, _) = upload(&stranger, &api, "not-a-token", uploads[0].clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let fleet = http
        .get(format!("{api}/api/v1/hq/fleet"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(fleet.status(), StatusCode::OK);
    let acknowledged = http
        .put(format!("{api}/api/v1/feed/consumers/crm"))
        .bearer_auth(&admin)
        .json(&json!({"cursor": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), StatusCode::NO_CONTENT);
    let nowhere = http.get(format!("{api}/api/v1/{TILL}/nowhere")).send();
    assert_eq!(nowhere.await.unwrap().status(), StatusCode::NOT_FOUND);
    let on_api = http.get(format!("{api}/metrics")).send().await.unwrap();
    assert_eq!(
        on_api.status(),
        StatusCode::NOT_FOUND,
        "/metrics is never served on the API's address, only on --metrics-listen's"
    );

    let scrape = scrape(&http, &process.metrics).await;
    let requests = |method, route, status| {
        value(
            &scrape,
            "sync_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(
        requests("POST", UPLOAD_ROUTE, "200"),
        Some(uploads.len() as f64),
        "each answered upload is counted under its route template and status"
    );
    assert_eq!(
        requests("POST", UPLOAD_ROUTE, "401"),
        Some(1.0),
        "a refused upload is counted under its own status"
    );
    assert_eq!(requests("GET", "/api/v1/hq/fleet", "200"), Some(1.0));
    assert_eq!(
        requests("PUT", "/api/v1/feed/consumers/:name", "204"),
        Some(1.0)
    );
    assert_eq!(
        requests("GET", "unmatched", "404"),
        Some(2.0),
        "requests matching no route share one label, whatever their path"
    );
    for sample in &scrape.samples {
        if let Some(route) = sample.labels.get("route") {
            assert!(
                !route.contains(TILL),
                "a route label is a template, never a raw path with ids: {route}"
            );
        }
    }
    let latency = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "sync_http_request_duration_seconds"
                && s.labels.get("route") == Some(UPLOAD_ROUTE)
                && s.labels.get("method") == Some("POST")
        })
        .expect("the upload route has a latency histogram");
    let prometheus_parse::Value::Histogram(buckets) = &latency.value else {
        panic!("the latency is a histogram: {:?}", latency.value);
    };
    assert_eq!(
        buckets.last().map(|b| (b.less_than, b.count)),
        Some((f64::INFINITY, uploads.len() as f64 + 1.0)),
        "every upload's latency is observed (the refused one too)"
    );
    assert_eq!(
        value(&scrape, "sync_ingest_records_total", &[]),
        Some(ingested as f64),
        "the ingest counter moved by the records stored"
    );
    let outbox_end = value(&scrape, "sync_outbox_end_cursor", &[]).unwrap();
    assert!(outbox_end >= ingested as f64, "each record wrote an event");
    assert_eq!(
        value(
            &scrape,
            "sync_outbox_consumer_lag_events",
            &[("consumer", "crm")]
        ),
        Some(outbox_end),
        "a consumer at cursor 0 lags by the whole outbox"
    );
    assert_eq!(value(&scrape, "sync_tills_enrolled", &[]), Some(1.0));
    assert_eq!(
        value(&scrape, "sync_tills_waiting", &[]),
        Some(0.0),
        "a till that just uploaded is not waiting"
    );
    assert_eq!(value(&scrape, "sync_database_up", &[]), Some(1.0));

    let logs = process.stop().await;
    assert!(
        logs.iter().any(|l| l["message"] == "stopped"),
        "serve logs its stop: {logs:?}"
    );
    drop_database(&db).await;
}

async fn sigterm_finishes_the_upload_in_flight(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    let (_, code) = seed(open_store(&db).await.unwrap().as_ref()).await;
    let mut process = Process::start(&db, dir.path()).await;
    let http = reqwest::Client::new();
    let till = TestTill::new(TILL, 9, 300, 2, 5);
    let token = enroll(&http, &process.api, &code, &till).await;
    let mut uploads = till.batches(5000);
    assert_eq!(uploads.len(), 1, "the whole ledger fits one upload");
    let body = upload_body(uploads.remove(0));

    // The request's head and half its body, then SIGTERM while the server reads the rest.
    let address = process.api.trim_start_matches("http://").to_string();
    let mut connection = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/tills/{TILL}/records HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    connection.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    connection.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    process.signal_terminate();
    let started = Instant::now();
    while !process.logged("stopping: no new connections; answering the requests in flight") {
        assert!(
            started.elapsed() < PATIENCE,
            "serve logs SIGTERM: {:?}",
            process.raw_logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        process.child.try_wait().unwrap().is_none(),
        "serve waits for the upload in flight"
    );
    // The listener closes as the shutdown starts, a moment after the log line: wait for it.
    let started = Instant::now();
    while tokio::net::TcpStream::connect(&address).await.is_ok() {
        assert!(
            started.elapsed() < PATIENCE,
            "once told to stop, serve takes no new connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    connection.write_all(rest).await.unwrap();
    let mut answer = Vec::new();
    connection.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the upload in flight at SIGTERM is answered in full: {answer}"
    );
    let (_, json_body) = answer.split_once("\r\n\r\n").unwrap();
    let json_body: Value = serde_json::from_str(json_body).unwrap();
    assert_eq!(stored(&json_body), till.record_count());
    let status = process.exited().await;
    assert!(status.success(), "serve exits 0 after draining: {status}");
    assert!(process.logged("stopped"));

    let store = open_store(&db).await.unwrap();
    assert_eq!(
        store.record_count(TILL).await.unwrap(),
        till.record_count(),
        "the upload answered during shutdown is stored whole"
    );
    drop(store);
    drop_database(&db).await;
}

/// The test cluster's administrative connection (`DATABASE_URL`).
async fn cluster_admin() -> tokio_postgres::Client {
    let url = std::env::var("DATABASE_URL").unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn probe(http: &reqwest::Client, api: &str, path: &str) -> (StatusCode, Value) {
    let response = http.get(format!("{api}{path}")).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls `/readyz` until it answers `expected`, checking `/healthz` stays 200 meanwhile.
async fn readyz_becomes(http: &reqwest::Client, api: &str, expected: StatusCode) -> Value {
    let started = Instant::now();
    loop {
        let (health, _) = probe(http, api, "/healthz").await;
        assert_eq!(
            health,
            StatusCode::OK,
            "/healthz stays 200 while the process serves, whatever the database"
        );
        let (status, body) = probe(http, api, "/readyz").await;
        if status == expected {
            return body;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "/readyz should answer {expected}, still {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The server's own PostgreSQL database is made unreachable (connections refused and
/// terminated), then reachable again; the shared cluster keeps running for the other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_database_and_healthz_stays_alive() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(Backend::Postgres, dir.path()).await else {
        return;
    };
    let name = db.rsplit('/').next().unwrap().to_string();
    let (admin, _) = seed(open_store(&db).await.unwrap().as_ref()).await;
    let process = Process::start(&db, dir.path()).await;
    let http = reqwest::Client::new();
    let body = readyz_becomes(&http, &process.api, StatusCode::OK).await;
    assert_eq!(body["status"], "ready");

    let cluster = cluster_admin().await;
    cluster
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    cluster
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let refusal = readyz_becomes(&http, &process.api, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        refusal["code"], "database_unavailable",
        "an unready server says why with a stable code: {refusal}"
    );
    assert!(
        !refusal["message"].as_str().unwrap().contains(&name),
        "the database's own error stays in the log: {refusal}"
    );
    let scraped = scrape(&http, &process.metrics).await;
    assert_eq!(
        value(&scraped, "sync_database_up", &[]),
        Some(0.0),
        "/metrics still answers without the database, and says it is down"
    );

    cluster
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    readyz_becomes(&http, &process.api, StatusCode::OK).await;
    let fleet = http
        .get(format!("{}/api/v1/hq/fleet", process.api))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        fleet.status(),
        StatusCode::OK,
        "the server serves again once its database is back"
    );
    process.stop().await;
    drop_database(&db).await;
}

/// The store's reads behind the gauges, on each backend: tills waiting by their last contact,
/// revoked tills left out, a consumer's cursor, a webhook's queue and dead letters.
async fn the_gauges_count_waiting_tills_consumer_lag_and_dead_letters(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let store = server.store.clone();
    let code = server.create_till(SHOP_A, TILL).await;
    let till = TestTill::new(TILL, 11, 5, 1, 2);
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(100) {
        server.upload(&token, TILL, chains).await;
    }
    let now = chrono::Utc::now();
    let an_hour_ago = now - chrono::Duration::hours(1);
    let gauges = store.operations_gauges(an_hour_ago).await.unwrap();
    assert_eq!(gauges.tills_enrolled, 1);
    assert_eq!(
        gauges.tills_waiting, 0,
        "a till heard from just now is not waiting"
    );
    assert!(gauges.outbox_end as u64 >= till.record_count());
    let later = now + chrono::Duration::minutes(1);
    assert_eq!(
        store.operations_gauges(later).await.unwrap().tills_waiting,
        1,
        "a till not heard from since the time asked is waiting"
    );

    store.set_consumer_cursor("crm", 2, now).await.unwrap();
    let hook = NewWebhook {
        id: "crm-hook".into(),
        url: "http://127.0.0.1:9/hook".into(),
        sealed_secret: "sealed".into(),
        types: Vec::new(),
        from_start: true,
    };
    store.create_webhook(&hook, now).await.unwrap();
    let target = sync_server::store::Webhook {
        id: hook.id.clone(),
        url: hook.url.clone(),
        sealed_secret: hook.sealed_secret.clone(),
        types: Vec::new(),
    };
    let queued = store
        .queue_webhook_events(&target, 1000, now)
        .await
        .unwrap();
    assert!(queued > 0);
    let claim = sync_server::store::Claim {
        by: "operations-test".into(),
        now,
        until: now + chrono::Duration::seconds(30),
    };
    let due = store
        .claim_webhook_deliveries(&hook.id, &claim, 1)
        .await
        .unwrap();
    store
        .webhook_failed(&hook.id, due[0].cursor, &claim.by, "refused", None, now)
        .await
        .unwrap();
    let gauges = store.operations_gauges(an_hour_ago).await.unwrap();
    assert_eq!(gauges.consumer_cursors, vec![("crm".to_string(), 2)]);
    assert_eq!(
        gauges.webhook_queues,
        vec![WebhookQueue {
            webhook_id: hook.id.clone(),
            pending: i64::from(queued) - 1,
            dead: 1,
        }],
        "a webhook's queue counts its pending deliveries and its dead letters apart"
    );

    store.revoke_till(TILL, now).await.unwrap();
    let gauges = store.operations_gauges(later).await.unwrap();
    assert_eq!(
        (gauges.tills_enrolled, gauges.tills_waiting),
        (0, 0),
        "a revoked till is neither enrolled nor waiting"
    );
    server.stop().await;
}

/// Moves the database's migration count by `by` (the count stays in the database's own
/// bookkeeping: `user_version` on SQLite, `schema_migrations` on PostgreSQL).
async fn shift_migration_count(server: &Server, by: i64) {
    if let Some(path) = server.db_url.strip_prefix("sqlite:") {
        let connection = rusqlite::Connection::open(path).unwrap();
        let applied: i64 = connection
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        connection
            .pragma_update(None, "user_version", applied + by)
            .unwrap();
        return;
    }
    let (client, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let applied: i32 = client
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    if by < 0 {
        client
            .execute(
                "DELETE FROM schema_migrations WHERE version > $1",
                &[&(applied + by as i32)],
            )
            .await
            .unwrap();
    } else {
        for version in applied + 1..=applied + by as i32 {
            client
                .execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 'test')",
                    &[&version],
                )
                .await
                .unwrap();
        }
    }
}

async fn readyz_says_when_the_database_lacks_a_migration(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let (status, body) = server.get("/readyz", None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    shift_migration_count(&server, -1).await;
    let (status, body) = server.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["code"], "migrations_pending",
        "a database missing a migration this build needs is not ready: {body}"
    );
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "alive all the same");
    shift_migration_count(&server, 2).await;
    let (status, _) = server.get("/readyz", None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a database migrated further by a newer replica keeps this one ready"
    );
    shift_migration_count(&server, -1).await;
    server.stop().await;
}
