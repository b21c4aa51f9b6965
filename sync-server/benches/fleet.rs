//! Fleet load: `N` simulated tills against one real `sync-server serve` process (the built
//! binary, spawned), as a chain's tills load head office on an ordinary day.
//!
//! Each till is enrolled over HTTP with its own P-256 key, then, during a measured window,
//! polls its changes feed every `BENCH_FLEET_POLL` seconds (30) and uploads one signed ticket
//! `BENCH_FLEET_TICKETS` times a minute (3), each till starting at a random phase and each
//! interval jittered by ±10 %, so the requests are spread evenly. Requests are sent on
//! schedule whatever the answers' delay (an open loop, like independent tills): a slow
//! server shows as latency, never as fewer requests.
//!
//! Reported per fleet size and backend: requests sent, errors, latency p50/p99/max of each
//! kind (poll, upload), and the CPU the server process used (from `/proc/PID/stat`, in % of
//! one core, over the window) next to the load generator's own. Then the plans of what a
//! poll with nothing new costs (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite).
//!
//! Run: `cargo bench -p sync-server --bench fleet` (PostgreSQL too when `DATABASE_URL`
//! is set). Settings: `BENCH_FLEET=1000,5000` (fleet sizes), `BENCH_FLEET_WINDOW=180`
//! (seconds measured), `BENCH_FLEET_POLL=30`, `BENCH_FLEET_TICKETS=3` (per till per minute),
//! `BENCH_FLEET_BACKENDS=sqlite,postgres`.
//!
//! The tickets are not made by the till engine (5,000 ledgers would take minutes): one real
//! sale is recorded with the engine, and its payload is the template of every ticket, each
//! signed by its till's key as [`pos_domain::record::Record::sign`] signs at a till, chained
//! by `prev` and numbered by `seq`, with the perpetual totals carried on; the server verifies
//! them as any other. They are signed before the window (not timed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use hdrhistogram::Histogram;
use pos_domain::Money;
use pos_domain::clock::ManualClock;
use pos_domain::record::{Chain, Record, SignedRecord, Signer, SoftwareKey};
use pos_domain::wire::{
    ChainBatch, ChainOutcome, ChangesPage, EnrollRequest, EnrollResponse, ProtocolVersion,
    UploadRequest, UploadResponse, WireRecord,
};
use pos_till::demo::{self, DemoOptions};
use pos_till::{InitOptions, Till};
use serde_json::Value;
use sync_server::store::{LegalEntity, NewTill, Shop};
use sync_server::{open_store, secrets};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

/// Tills per shop, as in a chain of a few hundred shops with about three tills each.
const TILLS_PER_SHOP: usize = 3;
/// Requests at once while enrolling (not measured).
const SETUP_CONCURRENCY: usize = 32;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The load each till makes.
#[derive(Clone, Copy)]
struct Load {
    window: Duration,
    poll_every: Duration,
    upload_every: Duration,
}

impl Load {
    fn from_env() -> Load {
        let per_minute = env_u64("BENCH_FLEET_TICKETS", 3).max(1);
        Load {
            window: Duration::from_secs(env_u64("BENCH_FLEET_WINDOW", 180)),
            poll_every: Duration::from_secs(env_u64("BENCH_FLEET_POLL", 30).max(1)),
            upload_every: Duration::from_secs_f64(60.0 / per_minute as f64),
        }
    }

    /// Uploads one till makes in the window at most (its tickets are signed beforehand).
    fn uploads_per_till(&self) -> usize {
        (self.window.as_secs_f64() / self.upload_every.as_secs_f64() / 0.9).ceil() as usize + 1
    }
}

/// A small deterministic generator (splitmix64) for phases and jitter: the same schedule on
/// every run and backend.
struct Jitter(u64);

impl Jitter {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `every`, ±10 %.
    fn around(&mut self, every: Duration) -> Duration {
        every.mul_f64(0.9 + 0.2 * self.next_f64())
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Poll,
    Upload,
}

/// One request of the schedule: when (from the window's start), which till, what.
struct Event {
    at: Duration,
    till: usize,
    kind: Kind,
}

fn schedule(tills: usize, load: Load) -> Vec<Event> {
    let mut jitter = Jitter(42);
    let mut events = Vec::new();
    for till in 0..tills {
        for (kind, every) in [
            (Kind::Poll, load.poll_every),
            (Kind::Upload, load.upload_every),
        ] {
            let mut at = every.mul_f64(jitter.next_f64());
            while at < load.window {
                events.push(Event { at, till, kind });
                at += jitter.around(every);
            }
        }
    }
    events.sort_by_key(|e| e.at);
    events
}

/// The payload of one real sale, recorded by the till engine: the template of every ticket.
fn ticket_template() -> (Value, Money) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-03-30T08:00:00Z".parse().unwrap()));
    let options = InitOptions {
        till_id: Some("TEMPLATE".into()),
        ..InitOptions::new("Bench", "TEMPLATE")
    };
    let mut till = Till::init(&dir.path().join("t.db"), options, clock.clone(), [7; 32]).unwrap();
    demo::run(
        &mut till,
        &clock,
        &DemoOptions {
            tickets: 5,
            seed: 1,
            days: 1,
        },
    )
    .unwrap();
    let mut sale = None;
    let len = till.chain_length(Chain::Ticket).unwrap();
    till.records(Chain::Ticket, 1, len, |r| {
        if sale.is_none() && r.record.payload["kind"] == "sale" {
            sale = Some(r.record.payload);
        }
        Ok(())
    })
    .unwrap();
    let payload = sale.expect("the demo records a sale");
    let total: Money = payload["total"].as_str().unwrap().parse().unwrap();
    (payload, total)
}

/// A simulated till: its id, token, and its tickets signed by its key ahead of the window.
struct SimTill {
    id: String,
    token: String,
    tickets: Vec<SignedRecord>,
    /// The next ticket to upload (an index into `tickets`).
    next_ticket: Mutex<usize>,
    /// The `since` of its next poll.
    since: AtomicU64,
}

fn sign_tickets(
    till: &str,
    key: &SoftwareKey,
    template: &(Value, Money),
    count: usize,
) -> Vec<SignedRecord> {
    let (payload, total) = template;
    let start = Utc::now();
    let mut prev = String::new();
    let mut out = Vec::with_capacity(count);
    for n in 1..=count {
        let mut payload = payload.clone();
        let running = Money::from_cents(total.cents() * n as i64);
        payload["grand_total"] = Value::String(running.to_string());
        payload["perpetual_absolute_total"] = Value::String(running.to_string());
        let record = Record {
            till: till.into(),
            chain: Chain::Ticket,
            seq: n as u64,
            at: start + chrono::Duration::seconds(n as i64 * 20),
            tz: "Europe/Paris".into(),
            operator: "alice".into(),
            software: "pos-till bench".into(),
            first: n == 1,
            prev: prev.clone(),
            payload,
        };
        let signed = record.sign(key).unwrap();
        prev = signed.hash();
        out.push(signed);
    }
    out
}

/// The database of a run: a file, or a fresh PostgreSQL database dropped at the end.
async fn fresh_db(backend: &str, dir: &std::path::Path) -> Option<String> {
    if backend == "sqlite" {
        return Some(format!("sqlite:{}", dir.join("fleet.sqlite").display()));
    }
    let url = std::env::var("DATABASE_URL").ok()?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let name = format!(
        "pos_sync_fleet_{}",
        hex::encode(secrets::random_bytes::<4>().unwrap())
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (root, _) = url.split('?').next().unwrap().rsplit_once('/').unwrap();
    Some(format!("{root}/{name}"))
}

async fn drop_db(db: &str) {
    let Some((_, name)) = db.rsplit_once('/') else {
        return;
    };
    if db.starts_with("sqlite:") {
        return;
    }
    let url = std::env::var("DATABASE_URL").unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let _ = client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

/// Creates the entity, the shops and the tills (with their enrollment codes) in the database,
/// before the server starts.
async fn create_fleet(db: &str, tills: usize) -> Vec<(String, String)> {
    let store = open_store(db).await.unwrap();
    store
        .create_entity(&LegalEntity {
            id: "E".into(),
            name: "E".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    let shops = tills.div_ceil(TILLS_PER_SHOP);
    for s in 0..shops {
        store
            .create_shop(&Shop {
                id: format!("SHOP-{s:04}"),
                entity_id: "E".into(),
                name: format!("Shop {s}"),
                territory: "metropole".into(),
                timezone: "Europe/Paris".into(),
                address: String::new(),
                region_id: None,
            })
            .await
            .unwrap();
    }
    let mut codes = Vec::with_capacity(tills);
    for t in 0..tills {
        let id = format!("TILL-{t:05}");
        let code = secrets::new_enrollment_code().unwrap();
        store
            .create_till(&NewTill {
                id: id.clone(),
                shop_id: format!("SHOP-{:04}", t / TILLS_PER_SHOP),
                name: id.clone(),
                code_hash: secrets::code_hash(&code),
                code_expires_at: Utc::now() + chrono::Duration::hours(2),
            })
            .await
            .unwrap();
        codes.push((id, code));
    }
    codes
}

/// The spawned `sync-server serve`.
struct ServerProcess {
    child: tokio::process::Child,
    pid: u32,
    url: String,
}

async fn spawn_server(db: &str, dir: &std::path::Path) -> ServerProcess {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--db", db, "--log-format", "json", "serve"])
        .args(["--listen", "127.0.0.1:0"])
        .env("SYNC_SECRET_KEY_FILE", dir.join("sync-server.key"))
        .env("RUST_LOG", "warn,sync_server=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the sync-server binary starts");
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server says where it listens within a minute")
            .unwrap()
            .expect("the server logs `serving` before it exits");
        if let Ok(entry) = serde_json::from_str::<Value>(&line)
            && entry["message"] == "serving"
        {
            break format!("http://{}", entry["address"].as_str().unwrap());
        }
    };
    // Keep reading its log so a full pipe never blocks it; warnings are shown.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"ERROR\"") {
                eprintln!("server: {line}");
            }
        }
    });
    ServerProcess { child, pid, url }
}

/// CPU time (user + system) a process used so far, from `/proc/PID/stat`.
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (in parentheses, which may hold spaces).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn enroll_all(
    http: &reqwest::Client,
    url: &str,
    codes: Vec<(String, String)>,
    template: &(Value, Money),
    uploads: usize,
) -> Vec<Arc<SimTill>> {
    let template = Arc::new(template.clone());
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(SETUP_CONCURRENCY) {
        let mut tasks = Vec::new();
        for (id, code) in chunk.iter().cloned() {
            let http = http.clone();
            let url = url.to_string();
            let template = template.clone();
            tasks.push(tokio::spawn(async move {
                let key = SoftwareKey::from_secret_bytes(&secrets::random_bytes().unwrap())
                    .expect("32 random bytes are a P-256 key");
                let answer: EnrollResponse = http
                    .post(format!("{url}/api/v1/enroll"))
                    .json(&EnrollRequest {
                        protocol: ProtocolVersion::CURRENT,
                        code,
                        public_key: key.public_key().to_string(),
                        software: "pos-till bench".into(),
                    })
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(answer.till_id, id);
                let tickets = tokio::task::spawn_blocking({
                    let id = id.clone();
                    move || sign_tickets(&id, &key, &template, uploads)
                })
                .await
                .unwrap();
                SimTill {
                    id,
                    token: answer.token,
                    tickets,
                    next_ticket: Mutex::new(0),
                    since: AtomicU64::new(0),
                }
            }));
        }
        for task in tasks {
            out.push(Arc::new(task.await.unwrap()));
        }
    }
    out
}

/// One poll of a till's changes feed; `Ok(latency)` on a 200.
async fn poll(http: &reqwest::Client, url: &str, till: &SimTill) -> Result<Duration, String> {
    let since = till.since.load(Ordering::Relaxed);
    let started = Instant::now();
    let response = http
        .get(format!(
            "{url}/api/v1/tills/{}/changes?since={since}",
            till.id
        ))
        .bearer_auth(&till.token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("poll: {}", response.status()));
    }
    let page: ChangesPage = response.json().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    till.since.store(page.next, Ordering::Relaxed);
    Ok(elapsed)
}

/// One upload of a till's next ticket; `Ok(latency)` when the server holds it.
async fn upload(http: &reqwest::Client, url: &str, till: &SimTill) -> Result<Duration, String> {
    // A till uploads in order: the next upload waits for the one in flight.
    let mut next = till.next_ticket.lock().await;
    let Some(ticket) = till.tickets.get(*next) else {
        return Err("upload: no ticket left (raise uploads_per_till)".into());
    };
    let request = UploadRequest {
        protocol: ProtocolVersion::CURRENT,
        chains: vec![ChainBatch {
            chain: Chain::Ticket,
            records: vec![WireRecord {
                seq: ticket.record.seq,
                stored: String::from_utf8(ticket.stored.clone()).unwrap(),
            }],
        }],
        sent_at: Some(pos_domain::record::timestamp::format(&Utc::now())),
    };
    let started = Instant::now();
    let response = http
        .post(format!("{url}/api/v1/tills/{}/records", till.id))
        .bearer_auth(&till.token)
        .json(&request)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("upload: {}", response.status()));
    }
    let answer: UploadResponse = response.json().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    match answer.chains.first() {
        Some(ack) if ack.outcome == ChainOutcome::Ok && ack.held == ticket.record.seq => {
            *next += 1;
            Ok(elapsed)
        }
        other => Err(format!("upload: not held: {other:?}")),
    }
}

/// Latencies and errors of one kind of request.
struct Tally {
    latencies: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latencies: Histogram::new_with_bounds(1, 600_000_000, 3).unwrap(),
            errors: 0,
            first_error: None,
        }
    }

    fn record(&mut self, outcome: Result<Duration, String>) {
        match outcome {
            Ok(latency) => self
                .latencies
                .saturating_record(latency.as_micros().max(1) as u64),
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn line(&self, kind: &str, window: Duration) -> String {
        let ms = |q: f64| self.latencies.value_at_quantile(q) as f64 / 1000.0;
        let mut line = format!(
            "{kind:>6}: {:>7} ok ({:>6.1}/s), {:>4} errors, p50 {:>7.2} ms, p99 {:>8.2} ms, max {:>8.2} ms",
            self.latencies.len(),
            self.latencies.len() as f64 / window.as_secs_f64(),
            self.errors,
            ms(0.5),
            ms(0.99),
            self.latencies.max() as f64 / 1000.0,
        );
        if let Some(e) = &self.first_error {
            line.push_str(&format!(" (first error: {e})"));
        }
        line
    }
}

/// Runs the schedule against the server; returns the tallies of polls and uploads.
async fn run_window(
    http: &reqwest::Client,
    url: &str,
    tills: &[Arc<SimTill>],
    load: Load,
) -> (Tally, Tally) {
    let events = schedule(tills.len(), load);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = tokio::time::Instant::now();
    let sender = {
        let http = http.clone();
        let url = url.to_string();
        let tills = tills.to_vec();
        tokio::spawn(async move {
            for event in events {
                tokio::time::sleep_until(start + event.at).await;
                let (http, url, till, tx) = (
                    http.clone(),
                    url.clone(),
                    tills[event.till].clone(),
                    tx.clone(),
                );
                tokio::spawn(async move {
                    let outcome = match event.kind {
                        Kind::Poll => poll(&http, &url, &till).await,
                        Kind::Upload => upload(&http, &url, &till).await,
                    };
                    let _ = tx.send((event.kind, outcome));
                });
            }
        })
    };
    let (mut polls, mut uploads) = (Tally::new(), Tally::new());
    // Every request sent has answered once the sender is done and the channel is drained.
    let collect = async {
        while let Some((kind, outcome)) = rx.recv().await {
            match kind {
                Kind::Poll => polls.record(outcome),
                Kind::Upload => uploads.record(outcome),
            }
        }
    };
    let guard = async {
        sender.await.unwrap();
    };
    tokio::join!(guard, collect);
    (polls, uploads)
}

/// What a poll with nothing new costs, as the database plans it.
async fn explain_poll(db: &str, shop: &str, token_hash: &str) {
    println!("  plan of a poll with nothing new (shop {shop}):");
    if let Some(path) = db.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        for (what, sql) in [
            (
                "token",
                format!(
                    "SELECT id, shop_id, public_key, last_contact_at FROM tills WHERE token_hash = '{token_hash}'"
                ),
            ),
            (
                "territory",
                format!("SELECT territory FROM shops WHERE id = '{shop}'"),
            ),
            (
                "changes",
                format!(
                    "SELECT version, kind, key, data FROM distribution WHERE version > 1000000 AND shop_id IN ('*', '{shop}', 'territory:metropole') ORDER BY version LIMIT 5000"
                ),
            ),
            (
                "latest",
                format!("SELECT max(version) FROM distribution WHERE shop_id = '{shop}'"),
            ),
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            println!("    {what:>9}: {}", rows.join("; "));
        }
        return;
    }
    let (client, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    for (what, sql) in [
        (
            "token",
            format!(
                "SELECT id, shop_id, public_key, last_contact_at FROM tills WHERE token_hash = '{token_hash}'"
            ),
        ),
        (
            "territory",
            format!("SELECT territory FROM shops WHERE id = '{shop}'"),
        ),
        (
            "changes",
            format!(
                "SELECT version, kind, key, data FROM distribution WHERE version > 1000000 AND shop_id IN ('*', '{shop}', 'territory:metropole') ORDER BY version LIMIT 5000"
            ),
        ),
        (
            "latest",
            format!(
                "SELECT greatest(coalesce((SELECT max(version) FROM distribution WHERE shop_id = '*'), 0), coalesce((SELECT max(version) FROM distribution WHERE shop_id = '{shop}'), 0))"
            ),
        ),
    ] {
        let rows = client
            .query(&format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"), &[])
            .await
            .unwrap();
        println!("    {what}:");
        for row in rows {
            println!("      {}", row.get::<_, String>(0));
        }
    }
}

async fn run(backend: &str, tills: usize, load: Load, template: &(Value, Money)) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_db(backend, dir.path()).await else {
        println!("{backend}: skipped (set DATABASE_URL)");
        return;
    };
    let setup = Instant::now();
    let codes = create_fleet(&db, tills).await;
    let mut server = spawn_server(&db, dir.path()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(tills)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let fleet = enroll_all(&http, &server.url, codes, template, load.uploads_per_till()).await;
    // Each till's first poll (its snapshot), as after enrollment: the window measures the
    // steady state, where a poll mostly finds nothing new.
    for chunk in fleet.chunks(SETUP_CONCURRENCY) {
        let polls: Vec<_> = chunk.iter().map(|t| poll(&http, &server.url, t)).collect();
        for outcome in futures_util::future::join_all(polls).await {
            outcome.unwrap();
        }
    }
    println!(
        "{backend}, {tills} tills: ready in {:.1} s (shops, tills, enrollment, {} tickets signed, first polls)",
        setup.elapsed().as_secs_f64(),
        tills * load.uploads_per_till()
    );

    let pid = server.pid.to_string();
    let (server_cpu, own_cpu) = (cpu_time(&pid), cpu_time("self"));
    let started = Instant::now();
    let (polls, uploads) = run_window(&http, &server.url, &fleet, load).await;
    let elapsed = started.elapsed();
    let server_cpu = cpu_time(&pid) - server_cpu;
    let own_cpu = cpu_time("self") - own_cpu;
    println!(
        "  window {:.0} s: server CPU {:.0} % of one core, load generator {:.0} % (2 cores in all)",
        elapsed.as_secs_f64(),
        100.0 * server_cpu.as_secs_f64() / elapsed.as_secs_f64(),
        100.0 * own_cpu.as_secs_f64() / elapsed.as_secs_f64(),
    );
    println!("  {}", polls.line("poll", elapsed));
    println!("  {}", uploads.line("upload", elapsed));
    let sent: usize = fleet
        .iter()
        .map(|t| *t.next_ticket.try_lock().unwrap())
        .sum();
    println!("  tickets held by the server: {sent}");

    server.child.kill().await.unwrap();
    let probe = &fleet[0];
    let shop = format!("SHOP-{:04}", 0);
    explain_poll(&db, &shop, &secrets::token_hash(&probe.token)).await;
    drop_db(&db).await;
}

#[tokio::main]
async fn main() {
    let load = Load::from_env();
    let sizes: Vec<usize> = env_list("BENCH_FLEET", "1000,5000")
        .iter()
        .map(|n| n.parse().expect("BENCH_FLEET lists numbers of tills"))
        .collect();
    let backends = env_list("BENCH_FLEET_BACKENDS", "sqlite,postgres");
    println!(
        "fleet load: polls every {} s, {:.1} tickets per till per minute, {} s measured",
        load.poll_every.as_secs(),
        60.0 / load.upload_every.as_secs_f64(),
        load.window.as_secs()
    );
    let template = tokio::task::spawn_blocking(ticket_template).await.unwrap();
    for backend in &backends {
        for &tills in &sizes {
            run(backend, tills, load, &template).await;
        }
    }
}
