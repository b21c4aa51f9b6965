//! Several `sync-server serve` processes (the real binary) over one database.
//!
//! - PostgreSQL: three replicas behind a round-robin TCP proxy in the test, one webhook
//!   receiver, two tills uploading through the proxy; the replica leading the NATS publisher is
//!   killed (SIGKILL) in the middle of an upload. Head office then holds exactly the tills'
//!   records and totals, every event reaches the receiver once (a second copy only of an event
//!   whose delivery the killed process had claimed and not recorded), in order per subject, and
//!   JetStream holds each event once, published after the kill by the replica that took over.
//! - SQLite: a second `serve` on one file is refused, saying why; admin commands still run.
//! - Three webhook workers, each with its own connections to one database as three servers'
//!   would have (every backend), and a receiver failing now and then: each event is accepted
//!   once, in order per subject.
//! - Concurrent writers through several connections of one database (every backend): one
//!   enrollment code enrolls one till, and the changes feed's versions stay unique and
//!   become visible in order, so a till following the feed misses none.
//!
//! PostgreSQL comes from `DATABASE_URL` and NATS from `NATS_URL` (both required under
//! `CI=true`, see `support`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::StreamExt;
use pos_domain::record::Chain;
use pos_till::Till;
use serde_json::Value;
use support::*;
use sync_server::feeds::SystemClock;
use sync_server::feeds::nats::{FAMILIES, NatsConfig};
use sync_server::feeds::webhooks::{self, DeliveryTiming, WebhookWorker};
use sync_server::server_key::{ServerKey, ServerKeys};
use sync_server::store::{Enrollment, NewChange, NewWebhook, SalesQuery, StoreError};
use sync_server::{Store, open_store, secrets};
use tokio::net::{TcpListener, TcpStream};

on_every_backend!(
    workers_of_three_servers_deliver_each_event_once_in_order,
    concurrent_writers_use_an_enrollment_code_once_and_miss_no_change,
);

/// The server key of these tests (every replica signs with the webhook's secret sealed under it).
const KEY_HEX: &str = "3f1c9a0b7d2e4c6f8a1b3d5e7f90a2c4e6f8091b3d5f7a9c1e3f5a7b9d1f3e5a";
const SECRET: &str = "a-webhook-secret-of-some-length";
const REPLICAS: usize = 3;

/// Runs `sync-server --db DB --json ARGS...` with the test key; its JSON answer.
fn admin(db: &str, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .env("SYNC_SECRET_KEY", KEY_HEX)
        .args(["--db", db, "--json", "admin"])
        .args(args)
        .output()
        .expect("the sync-server binary runs");
    assert!(
        output.status.success(),
        "sync-server admin {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

/// The entity, the shop and `tills` tills: each till's id and enrollment code.
fn set_up_shop(db: &str, tills: usize) -> Vec<(String, String)> {
    admin(
        db,
        &["entity", "create", "--name", "Acme", "--siren", "123456789"],
    );
    admin(
        db,
        &[
            "shop",
            "create",
            "--entity",
            "ACME",
            "--name",
            "Paris Opera",
            "--territory",
            "metropole",
            "--timezone",
            "Europe/Paris",
        ],
    );
    (1..=tills)
        .map(|n| {
            let till = admin(
                db,
                &[
                    "till",
                    "create",
                    "--shop",
                    "PARIS-OPERA",
                    "--name",
                    &format!("Caisse {n}"),
                ],
            );
            (
                till["till_id"].as_str().unwrap().to_string(),
                till["enrollment_code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A `serve` process and what it logged so far.
struct Replica {
    child: Child,
    address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// Starts `serve` on 127.0.0.1:0 with `args` and waits until it listens.
    fn start(db: &str, args: &[&str]) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .env("SYNC_SECRET_KEY", KEY_HEX)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the sync-server binary starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let address = line.find("address=").map(|at| {
                    line[at + "address=".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                });
                // Kept before the address is told, so the line is in the log once `start`
                // returns.
                kept.lock().unwrap().push(line);
                if let Some(address) = address {
                    let _ = tx.send(address);
                }
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve listens within 30 s: {:?}", log.lock().unwrap()));
        Replica {
            child,
            address: address.parse().unwrap(),
            log,
        }
    }

    fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the replica");
        self.child.wait().unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy on 127.0.0.1:0 sending each connection to the next replica in turn (skipping
/// those that refuse it, as a load balancer does with a dead backend).
async fn round_robin_proxy(replicas: Vec<SocketAddr>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let first = next.fetch_add(1, Ordering::Relaxed);
            let replicas = replicas.clone();
            tokio::spawn(async move {
                for i in 0..replicas.len() {
                    let target = replicas[(first + i) % replicas.len()];
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        return;
                    }
                }
            });
        }
    });
    address
}

/// One request the receiver got, in arrival order.
#[derive(Clone, Debug)]
struct Delivery {
    event_id: String,
    subject: String,
    signature_valid: bool,
}

/// Records every request and accepts it after a short delay, so deliveries are in flight (and
/// claimed) whenever a replica dies.
async fn receive(
    State(deliveries): State<Arc<Mutex<Vec<Delivery>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    deliveries.lock().unwrap().push(Delivery {
        event_id: event["id"].as_str().unwrap_or_default().to_string(),
        subject: event["subject"].as_str().unwrap_or_default().to_string(),
        signature_valid: webhooks::verify(
            SECRET,
            &header(webhooks::TIMESTAMP_HEADER),
            &header(webhooks::SIGNATURE_HEADER),
            &body,
        ),
    });
    tokio::time::sleep(Duration::from_millis(15)).await;
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(deliveries.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, deliveries)
}

/// `NATS_URL`, or `None` to leave NATS out (a failure under `CI=true`).
fn nats_url() -> Option<String> {
    match std::env::var("NATS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but NATS_URL is not set: start NATS with sync-server/scripts/start-nats.sh"
            )
        }
        Err(_) => {
            eprintln!("NATS_URL is not set: the replicas run without the NATS publisher");
            None
        }
    }
}

/// Every message of every family stream of `config`: its `Nats-Msg-Id`s.
async fn published_ids(config: &NatsConfig) -> Vec<String> {
    let js = jetstream::new(async_nats::connect(config.url.as_str()).await.unwrap());
    let mut ids = Vec::new();
    for family in FAMILIES {
        let mut stream = js.get_stream(config.stream(family)).await.unwrap();
        let count = stream.info().await.unwrap().state.messages as usize;
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut read = 0;
        while read < count {
            let mut batch = consumer
                .fetch()
                .max_messages(count - read)
                .expires(Duration::from_secs(2))
                .messages()
                .await
                .unwrap();
            while let Some(message) = batch.next().await {
                let message = message.unwrap();
                read += 1;
                ids.push(
                    message
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("Nats-Msg-Id"))
                        .map(|v| v.as_str().to_string())
                        .unwrap_or_default(),
                );
            }
        }
    }
    ids
}

/// Syncs until a pass leaves nothing waiting (what the app's background loop does).
fn sync_until_done(till: &mut Till) {
    let mut failures = Vec::new();
    for _ in 0..40 {
        match till.sync(|_, _, _| {}) {
            Ok(summary) if summary.waiting == 0 => return,
            Ok(summary) => failures.push(format!("records still waiting: {summary:?}")),
            Err(error) => failures.push(error.to_string()),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the sync never completed: {failures:?}");
}

fn record_count(till: &Till) -> u64 {
    Chain::ALL
        .iter()
        .map(|c| till.chain_length(*c).unwrap())
        .sum()
}

/// A client of the test database, for what no API shows (claims, locks).
async fn sql(db: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The events whose delivery `pid` had claimed and not recorded: the only ones its death may
/// have sent twice (the receiver got them, the process died before noting it).
async fn claimed_by_process(db: &str, pid: u32) -> BTreeSet<String> {
    sql(db)
        .await
        .query(
            "SELECT o.event_id FROM webhook_deliveries d JOIN outbox o ON o.cursor = d.cursor
             WHERE d.claimed_by LIKE '%/' || $1 || '/%'",
            &[&pid.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Checks, over the requests in arrival order, each with whether the receiver accepted it, that
/// no event of a subject was sent before every earlier event (in outbox order) of that subject
/// had been accepted.
fn assert_in_order_per_subject<'a>(
    events: &[Value],
    requests: impl IntoIterator<Item = (&'a Delivery, bool)>,
) {
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
    for (d, ok) in requests {
        for earlier in by_subject[d.subject.as_str()]
            .iter()
            .take_while(|id| position[*id] < position[d.event_id.as_str()])
        {
            assert!(
                accepted.contains(*earlier),
                "{} was sent before {earlier} of the same subject {} was accepted: order per subject holds across servers",
                d.event_id,
                d.subject
            );
        }
        if ok {
            accepted.insert(d.event_id.as_str());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_over_postgres_deliver_each_event_once_through_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(Backend::Postgres, dir.path()).await else {
        return;
    };
    let nats = nats_url().map(|url| {
        let prefix = format!(
            "r{}",
            hex::encode(sync_server::secrets::random_bytes::<4>().unwrap())
        );
        (NatsConfig::new(&url).with_prefix(&prefix).unwrap(), prefix)
    });
    let tills = set_up_shop(&db, 2);
    let (hook_url, deliveries) = start_receiver().await;
    admin(
        &db,
        &[
            "webhook",
            "add",
            "--id",
            "erp",
            "--url",
            &hook_url,
            "--secret",
            SECRET,
            "--from-start",
        ],
    );

    // Small uploads (25 records), so each till makes many requests, spread over the replicas;
    // a 1 s receiver timeout, so a dead replica's claims expire after 3 s.
    let mut args = vec!["--max-records", "25", "--webhook-timeout", "1"];
    if let Some((config, prefix)) = &nats {
        args.extend([
            "--nats",
            config.url.as_str(),
            "--nats-prefix",
            prefix.as_str(),
        ]);
    }
    let db_for_start = db.clone();
    let args_owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let mut replicas = blocking(move || {
        let args: Vec<&str> = args_owned.iter().map(String::as_str).collect();
        (0..REPLICAS)
            .map(|_| Replica::start(&db_for_start, &args))
            .collect::<Vec<_>>()
    })
    .await;
    let proxy = round_robin_proxy(replicas.iter().map(|r| r.address).collect()).await;
    let url = format!("http://{proxy}");

    // The replica to kill: the NATS publisher's leader, so both takeovers are exercised.
    let victim = if nats.is_some() {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let leaders: Vec<usize> = (0..REPLICAS)
                .filter(|&i| replicas[i].logged("leading"))
                .collect();
            if !leaders.is_empty() {
                assert_eq!(leaders.len(), 1, "one replica leads the NATS publisher");
                break leaders[0];
            }
            assert!(Instant::now() < deadline, "a replica leads within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    } else {
        0
    };
    let victim_pid = replicas[victim].child.id();

    // Two tills, 120 tickets each over two days, uploading through the proxy at once; the
    // first one signals after its 6th upload, then keeps going while the victim dies.
    let (killing, kill_now) = tokio::sync::oneshot::channel::<()>();
    let killing = Arc::new(Mutex::new(Some(killing)));
    let mut syncs = Vec::new();
    let mut expected_records = BTreeMap::new();
    let mut expected_cents = 0;
    for (n, (till_id, code)) in tills.iter().enumerate() {
        let t = TestTill::new(till_id, 40 + n as u8, 120, 2, 7 + n as u64);
        expected_cents += t.ticket_total_cents();
        let (url, code, killing) = (url.clone(), code.clone(), killing.clone());
        let TestTill { dir, mut till, .. } = t;
        syncs.push(tokio::task::spawn_blocking(move || {
            till.enroll(&url, &code)
                .expect("enrollment through the proxy");
            if n == 0 {
                let mut uploads = 0;
                let first = till.sync(|_, _, _| {
                    uploads += 1;
                    std::thread::sleep(Duration::from_millis(60));
                    if uploads == 6
                        && let Some(signal) = killing.lock().unwrap().take()
                    {
                        let _ = signal.send(());
                    }
                });
                eprintln!("the sync cut by the kill ended with {:?}", first.err());
            }
            sync_until_done(&mut till);
            (dir, record_count(&till), till)
        }));
    }
    kill_now
        .await
        .expect("the first till reached its 6th upload");
    // Killed while it holds claims if it gets any within 5 s, so their takeover is exercised.
    let deadline = Instant::now() + Duration::from_secs(5);
    while claimed_by_process(&db, victim_pid).await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    replicas[victim].kill();
    let claimed_at_death = claimed_by_process(&db, victim_pid).await;
    let mut held = Vec::new();
    for (sync, (till_id, _)) in syncs.into_iter().zip(&tills) {
        let (dir, records, _till) = sync.await.unwrap();
        expected_records.insert(till_id.clone(), records);
        held.push(dir);
    }

    // Head office holds exactly the tills' records and totals.
    let store = open_store(&db).await.unwrap();
    for (till_id, records) in &expected_records {
        assert_eq!(
            store.record_count(till_id).await.unwrap(),
            *records,
            "head office holds each record of {till_id} once, whichever replica took it"
        );
    }
    let sales = store
        .sales(&SalesQuery {
            by: "shop".into(),
            ..SalesQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        sales.iter().map(|r| r.amount_cents).sum::<i64>(),
        expected_cents,
        "head office's sales equal the tills' totals"
    );

    // Every event reaches the receiver; the queue empties (the victim's claims expired and
    // were taken over).
    let events: Vec<Value> = store
        .feed(0, u32::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    let ids: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hooks = store.webhooks().await.unwrap();
        let received: BTreeSet<String> = deliveries
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.event_id.clone())
            .collect();
        if hooks.iter().all(|h| h.pending == 0 && h.dead == 0) && received == ids {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every event is delivered within 60 s: {hooks:?}, {} of {} received",
            received.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = deliveries.lock().unwrap().clone();
    assert!(
        deliveries.iter().all(|d| d.signature_valid),
        "every replica signs with the webhook's secret"
    );
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &deliveries {
        *times.entry(d.event_id.as_str()).or_default() += 1;
    }
    let twice: BTreeSet<String> = times
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id.to_string())
        .collect();
    eprintln!(
        "{} events, {} deliveries; the killed replica held {} claims, {} events came twice",
        ids.len(),
        deliveries.len(),
        claimed_at_death.len(),
        twice.len()
    );
    assert!(
        twice.is_subset(&claimed_at_death),
        "an event is delivered once per webhook across replicas; a second copy only of a \
         delivery the killed replica had claimed and not recorded: {twice:?} not all in \
         {claimed_at_death:?}"
    );
    assert!(
        times.values().all(|n| *n <= 2),
        "no event is delivered more than twice: {times:?}"
    );
    assert_in_order_per_subject(&events, deliveries.iter().map(|d| (d, true)));

    // JetStream: every event once, the publisher's lead taken over after the kill.
    if let Some((config, _)) = &nats {
        let deadline = Instant::now() + Duration::from_secs(60);
        let newest = events.len() as i64;
        while store.consumer_cursor(&config.cursor_name).await.unwrap()
            < Some(store.feed_end().await.unwrap())
        {
            assert!(
                Instant::now() < deadline,
                "a surviving replica takes the NATS publisher over and catches up ({newest} events)"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let leaders = (0..REPLICAS)
            .filter(|&i| i != victim && replicas[i].logged("leading"))
            .count();
        assert_eq!(leaders, 1, "one surviving replica took the NATS lead over");
        let published = published_ids(config).await;
        let distinct: BTreeSet<String> = published.iter().cloned().collect();
        assert_eq!(
            published.len(),
            distinct.len(),
            "JetStream holds no event twice"
        );
        assert_eq!(distinct, ids, "JetStream holds every outbox event");
    }

    drop(replicas);
    drop(store);
    drop(held);
    drop_database(&db).await;
}

#[test]
fn a_second_serve_on_one_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.sqlite").display());
    let first = Replica::start(&db, &[]);
    let second = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .env("SYNC_SECRET_KEY", KEY_HEX)
        .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "a second serve on one SQLite file stops: {message}"
    );
    assert!(
        message.contains("already serving this SQLite database") && message.contains("PostgreSQL"),
        "the refusal says why and what to do: {message}"
    );
    assert!(
        first.logged("serving") && !first.logged("ERROR"),
        "the first server keeps serving"
    );
    // Admin commands still run beside the server.
    let listed = admin(&db, &["webhook", "list"]);
    assert_eq!(listed, serde_json::json!([]));
    // Once the first dies, even without warning, a new server starts at once.
    let mut first = first;
    first.kill();
    let restarted = Replica::start(&db, &[]);
    assert!(restarted.logged("serving"));
}

async fn concurrent_writers_use_an_enrollment_code_once_and_miss_no_change(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    // Three more stores over the database: the connections of three server processes.
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..3 {
        stores.push(open_store(&server.db_url).await.unwrap());
    }

    // Nine tills (nine keys) race for one enrollment code.
    let code = server.create_till(SHOP_A, "PARIS-OPERA-9").await;
    let racers: Vec<_> = (0..9u8)
        .map(|i| {
            let key = TestTill::new(&format!("RACER-{i}"), 60 + i, 0, 1, 0)
                .till
                .public_key();
            let store = stores[usize::from(i) % stores.len()].clone();
            let enrollment = Enrollment {
                code_hash: secrets::code_hash(&code),
                public_key: key,
                software: "racer".into(),
                protocol: "1".into(),
                token_hash: secrets::token_hash(&format!("token-of-racer-{i}")),
            };
            tokio::spawn(enroll_with(store, enrollment))
        })
        .collect();
    let mut enrolled = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => enrolled += 1,
            Err(StoreError::EnrollmentCodeInvalid) => {}
            Err(other) => panic!("a losing enrollment is told the code is used: {other}"),
        }
    }
    assert_eq!(
        enrolled, 1,
        "one enrollment code enrolls one till, however many race"
    );

    // Writers on every store add entries to the changes feed while a till follows it.
    const WRITERS: usize = 12;
    const ROUNDS: usize = 4;
    const PER_WRITE: usize = 5;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(write_changes(
                stores[w % stores.len()].clone(),
                w,
                ROUNDS,
                PER_WRITE,
            ))
        })
        .collect();
    let reader = stores[0].clone();
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut since = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let page = reader.changes(SHOP_A, since, 17).await.unwrap();
        since = page.next;
        let empty = page.changes.is_empty();
        seen.extend(page.changes.into_iter().map(|c| (c.version, c.key)));
        if done && empty {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let written = WRITERS * ROUNDS * PER_WRITE;
    let ours: Vec<&str> = seen
        .iter()
        .map(|(_, k)| k.as_str())
        .filter(|k| k.starts_with("writer-"))
        .collect();
    let distinct: BTreeSet<&str> = ours.iter().copied().collect();
    assert_eq!(
        (ours.len(), distinct.len()),
        (written, written),
        "a till following the feed during concurrent writes gets every entry, once"
    );
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "versions are unique and read in increasing order"
    );
    drop(stores);
    server.stop().await;
}

async fn enroll_with(
    store: Arc<dyn Store>,
    enrollment: Enrollment,
) -> Result<sync_server::store::Enrolled, StoreError> {
    store.enroll(&enrollment, chrono::Utc::now()).await
}

/// Writer `writer` puts `rounds` batches of `per_write` new entries in the changes feed.
async fn write_changes(store: Arc<dyn Store>, writer: usize, rounds: usize, per_write: usize) {
    for round in 0..rounds {
        let changes = (0..per_write)
            .map(|i| NewChange {
                kind: pos_domain::wire::kinds::SETTING,
                shop_id: sync_server::distribution::EVERY_SHOP.into(),
                key: format!("writer-{writer}-round-{round}-{i}"),
                data: Some(serde_json::json!({ "n": i })),
            })
            .collect();
        store.put_changes(changes).await.unwrap();
    }
}

/// The requests a receiver got, each with whether it accepted it.
type Requests = Arc<Mutex<Vec<(Delivery, bool)>>>;

/// Records every request; answers 503 to every fifth, 204 to the others.
async fn receive_failing_sometimes(State(deliveries): State<Requests>, body: Bytes) -> StatusCode {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let accepted = {
        let mut deliveries = deliveries.lock().unwrap();
        let accepted = deliveries.len() % 5 != 4;
        let delivery = Delivery {
            event_id: event["id"].as_str().unwrap_or_default().to_string(),
            subject: event["subject"].as_str().unwrap_or_default().to_string(),
            signature_valid: true,
        };
        deliveries.push((delivery, accepted));
        accepted
    };
    tokio::time::sleep(Duration::from_millis(3)).await;
    if accepted {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn workers_of_three_servers_deliver_each_event_once_in_order(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let deliveries: Requests = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive_failing_sometimes))
        .with_state(deliveries.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let key = ServerKey::from_hex(KEY_HEX, "the test key").unwrap();
    server
        .store
        .create_webhook(
            &NewWebhook {
                id: "erp".into(),
                url,
                sealed_secret: key.seal("erp", SECRET).unwrap(),
                types: Vec::new(),
                from_start: true,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    // Events of every kind, several per subject (stock levels, customers), from many uploads.
    let code = server.create_till(SHOP_A, "PARIS-OPERA-1").await;
    let till = TestTill::new("PARIS-OPERA-1", 21, 60, 2, 5);
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(10) {
        server.upload(&token, "PARIS-OPERA-1", chains).await;
    }

    let timing = DeliveryTiming {
        poll_interval: Duration::from_millis(10),
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(100),
        max_attempts: 1000,
        request_timeout: Duration::from_secs(2),
        parallel: 4,
        batch: 50,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for n in 0..3 {
        // Each worker on its own store: its own connections, as another server's.
        let store = open_store(&server.db_url).await.unwrap();
        let worker = WebhookWorker::new(
            store,
            Arc::new(SystemClock),
            timing.clone(),
            Arc::new(ServerKeys::fixed(key.clone())),
        )
        .unwrap()
        .claiming_as(&format!("server-{n}"));
        workers.push(tokio::spawn(worker.run(stopped.clone())));
    }
    let events = server.feed_all().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hooks = server.store.webhooks().await.unwrap();
        if hooks.iter().all(|h| h.pending == 0 && h.dead == 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queue drains within 60 s: {hooks:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    for worker in workers {
        worker.await.unwrap();
    }

    let deliveries = deliveries.lock().unwrap().clone();
    let mut accepted: BTreeMap<&str, usize> = BTreeMap::new();
    for (delivery, ok) in &deliveries {
        if *ok {
            *accepted.entry(delivery.event_id.as_str()).or_default() += 1;
        }
    }
    assert_eq!(
        accepted.len(),
        events.len(),
        "every event is accepted by the receiver"
    );
    assert!(
        accepted.values().all(|n| *n == 1),
        "three servers' workers over one database send each event once per webhook (the first sent more often: {:?})",
        accepted
            .iter()
            .filter(|(_, n)| **n > 1)
            .take(10)
            .collect::<Vec<_>>()
    );
    assert!(
        deliveries.len() > events.len(),
        "some attempts were refused and retried"
    );
    assert_in_order_per_subject(&events, deliveries.iter().map(|(d, ok)| (d, *ok)));
    server.stop().await;
}

/// PostgreSQL: one server leads a singleton job; another takes the lead once the first lets go
/// (its process died: its connection, and so its advisory lock, is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_singleton_job_has_one_leader_until_it_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(Backend::Postgres, dir.path()).await else {
        return;
    };
    let first = open_store(&db).await.unwrap();
    let second = open_store(&db).await.unwrap();
    let mut lead = first
        .try_lead("nats nats-jetstream")
        .await
        .unwrap()
        .expect("the first server to try leads");
    assert!(lead.still_leading().await);
    assert!(
        second
            .try_lead("nats nats-jetstream")
            .await
            .unwrap()
            .is_none(),
        "a second server does not lead a job already led"
    );
    assert!(
        second.try_lead("another job").await.unwrap().is_some(),
        "each job has its own lead"
    );
    drop(lead);
    let deadline = Instant::now() + Duration::from_secs(10);
    while second
        .try_lead("nats nats-jetstream")
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "another server takes the lead once the leader lets go"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop((first, second));
    drop_database(&db).await;
}
