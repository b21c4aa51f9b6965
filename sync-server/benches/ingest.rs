//! Ingest benchmarks, over real HTTP on 127.0.0.1 with real signed ledgers, per backend:
//!
//! 1. one till catching up `BENCH_TICKETS` tickets (default 10,000): seconds, tickets/s;
//! 2. `BENCH_TILLS` tills (default 100) uploading at once: tickets/s and p99 request latency;
//! 3. the ratio of ingest throughput to a bare bulk insert of the same rows into the same
//!    database (same batch size, one transaction per batch, no verification, no HTTP): on
//!    PostgreSQL one binary `COPY` per batch, on SQLite one prepared multi-row insert per batch;
//! 4. the ratio of the catch-up's speed to PouchDB replicating the very same records from a
//!    local PouchDB to pouchdb-server (`benches/pouchdb/replicate.mjs`, run in the same run;
//!    its npm packages are installed there on first use; `BENCH_POUCHDB=0` skips it);
//! 5. stock's share of the catch-up: the same catch-up into a fresh server whose catalog keeps
//!    its products' stock (the demo catalog, services not kept) against one whose catalog keeps
//!    none (no stock movement derived), alternated `BENCH_STOCK_RUNS` times (default 3, 0
//!    skips it), medians compared.
//!
//! Run: `cargo bench -p sync-server --bench ingest` (PostgreSQL too when `DATABASE_URL` is
//! set: `export DATABASE_URL=$(sync-server/scripts/start-postgres.sh)`; `BENCH_BACKENDS=postgres`
//! runs one backend). Ledgers are generated first with the till engine (not timed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hdrhistogram::Histogram;
use pos_domain::clock::ManualClock;
use pos_domain::product::StockKeeping;
use pos_domain::record::{Chain, SignedRecord};
use pos_domain::wire::{
    ChainBatch, ChainOutcome, EnrollRequest, EnrollResponse, ProtocolVersion, UploadRequest,
    UploadResponse, WireRecord,
};
use pos_till::demo::{self, DemoOptions};
use pos_till::{InitOptions, Till};
use sync_server::distribution::product_change;
use sync_server::store::{LegalEntity, NewTill, Shop};
use sync_server::{AppState, ServerConfig, Store, open_store, secrets};

/// The server binary's allocator (see `src/main.rs`): the server runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 500;
/// Uploads of one till in flight at once while it catches up, as the till sends them.
const IN_FLIGHT: usize = 2;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A generated ledger: every record of every chain, and its ticket count.
struct Ledger {
    till_id: String,
    public_key: String,
    chains: Vec<(Chain, Vec<SignedRecord>)>,
    tickets: u64,
}

impl Ledger {
    fn generate(dir: &std::path::Path, till_id: &str, tickets: u64, days: u32, seed: u8) -> Ledger {
        let path = dir.join(format!("{till_id}.db"));
        let clock = Arc::new(ManualClock::new("2026-03-30T08:00:00Z".parse().unwrap()));
        let options = InitOptions {
            till_id: Some(till_id.into()),
            ..InitOptions::new("Bench", till_id)
        };
        let mut till = Till::init(&path, options, clock.clone(), [seed.max(1); 32]).unwrap();
        demo::run(
            &mut till,
            &clock,
            &DemoOptions {
                tickets,
                seed: u64::from(seed),
                days,
            },
        )
        .unwrap();
        let mut chains = Vec::new();
        for chain in Chain::ALL {
            let len = till.chain_length(chain).unwrap();
            if len == 0 {
                continue;
            }
            let mut records = Vec::new();
            till.records(chain, 1, len, |r| {
                records.push(r);
                Ok(())
            })
            .unwrap();
            chains.push((chain, records));
        }
        Ledger {
            till_id: till_id.into(),
            public_key: till.public_key().to_string(),
            chains,
            tickets: till.chain_length(Chain::Ticket).unwrap(),
        }
    }

    fn records(&self) -> usize {
        self.chains.iter().map(|(_, r)| r.len()).sum()
    }

    /// Uploads of at most `BATCH` records, chains in turn.
    fn uploads(&self) -> Vec<Vec<ChainBatch>> {
        let mut out = Vec::new();
        for (chain, records) in &self.chains {
            for chunk in records.chunks(BATCH) {
                out.push(vec![ChainBatch {
                    chain: *chain,
                    records: chunk
                        .iter()
                        .map(|r| WireRecord {
                            seq: r.record.seq,
                            stored: String::from_utf8(r.stored.clone()).unwrap(),
                        })
                        .collect(),
                }]);
            }
        }
        out
    }
}

struct Running {
    url: String,
    store: Arc<dyn Store>,
    stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn fresh_db(backend: &str, dir: &std::path::Path) -> Option<String> {
    if backend == "sqlite" {
        return Some(format!("sqlite:{}", dir.join("bench.sqlite").display()));
    }
    let url = std::env::var("DATABASE_URL").ok()?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let name = format!(
        "pos_sync_bench_{}",
        hex::encode(secrets::random_bytes::<4>().unwrap())
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (root, _) = url.split('?').next().unwrap().rsplit_once('/').unwrap();
    Some(format!("{root}/{name}"))
}

async fn start(backend: &str) -> Option<(Running, String)> {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, dir.path()).await?;
    let store = open_store(&db).await.unwrap();
    store
        .create_entity(&LegalEntity {
            id: "E".into(),
            name: "E".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    store
        .create_shop(&Shop {
            id: "S".into(),
            entity_id: "E".into(),
            name: "S".into(),
            territory: "metropole".into(),
            timezone: "Europe/Paris".into(),
            address: String::new(),
            region_id: None,
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let state = AppState {
        store: store.clone(),
        config: ServerConfig::default(),
    };
    tokio::spawn(sync_server::serve(listener, state, async {
        let _ = rx.await;
    }));
    Some((
        Running {
            url,
            store,
            stop: tx,
            _dir: dir,
        },
        db,
    ))
}

async fn enroll(server: &Running, http: &reqwest::Client, ledger: &Ledger) -> String {
    let code = secrets::new_enrollment_code().unwrap();
    server
        .store
        .create_till(&NewTill {
            id: ledger.till_id.clone(),
            shop_id: "S".into(),
            name: ledger.till_id.clone(),
            code_hash: secrets::code_hash(&code),
            code_expires_at: Utc::now() + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let request = EnrollRequest {
        protocol: ProtocolVersion::CURRENT,
        code,
        public_key: ledger.public_key.clone(),
        software: "bench".into(),
    };
    let url = format!("{}/api/v1/enroll", server.url);
    let response: EnrollResponse = post_json(http, &url, None, &request).await;
    response.token
}

/// POSTs `body` as JSON, as the till `token` names when given, and reads the JSON answer.
async fn post_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &impl serde::Serialize,
) -> T {
    let request = http.post(url).json(body);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap().json().await.unwrap()
}

/// One till's catch-up of `ledger` into a fresh server whose catalog is the demo catalog, its
/// products' stock kept as the catalog says or, when not `stock_kept`, none kept: how long it
/// took.
async fn catch_up_with_catalog(
    backend: &str,
    http: &reqwest::Client,
    ledger: &Ledger,
    stock_kept: bool,
) -> Duration {
    let (server, db) = start(backend).await.expect("the backend ran before");
    let mut catalog = demo::demo_catalog().unwrap();
    if !stock_kept {
        for product in &mut catalog {
            product.stock = StockKeeping::NotKept;
        }
    }
    server
        .store
        .put_changes(catalog.iter().map(product_change).collect())
        .await
        .unwrap();
    let token = enroll(&server, http, ledger).await;
    let started = Instant::now();
    upload_all(&server.url, http, &token, ledger).await;
    let took = started.elapsed();
    let _ = server.stop.send(());
    drop(server.store);
    if backend == "postgres" {
        drop_bench_database(&db).await;
    }
    took
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Uploads the whole ledger; returns the latency of each request.
async fn upload_all(
    server_url: &str,
    http: &reqwest::Client,
    token: &str,
    ledger: &Ledger,
) -> Vec<Duration> {
    use futures_util::StreamExt;
    let url = format!("{server_url}/api/v1/tills/{}/records", ledger.till_id);
    let send = |chains: Vec<ChainBatch>| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let started = Instant::now();
            let request = UploadRequest {
                protocol: ProtocolVersion::CURRENT,
                chains: chains.clone(),
                sent_at: None,
            };
            let answer: UploadResponse = post_json(&http, &url, Some(token), &request).await;
            (started.elapsed(), answer, chains)
        }
    };
    // As the till does: two uploads in flight, written in the order they arrive.
    let answers: Vec<_> = futures_util::stream::iter(ledger.uploads())
        .map(send)
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut latencies = Vec::new();
    let mut again = Vec::new();
    for (took, answer, chains) in answers {
        latencies.push(took);
        if !answer.chains.iter().all(|c| c.outcome == ChainOutcome::Ok) {
            again.push(chains);
        }
    }
    if !again.is_empty() {
        // An upload that overtook the one before it was refused as a gap: sent again.
        eprintln!("{} uploads sent again after a gap", again.len());
        for chains in again {
            let (took, answer, _) = send(chains).await;
            latencies.push(took);
            assert!(answer.chains.iter().all(|c| c.outcome == ChainOutcome::Ok));
        }
    }
    latencies
}

/// Inserts the same rows into a bare copy of the records table, `BATCH` rows per transaction.
async fn bare_insert(db: &str, ledger: &Ledger) -> Duration {
    let rows: Vec<(String, &SignedRecord)> = ledger
        .chains
        .iter()
        .flat_map(|(chain, records)| records.iter().map(|r| (chain.name().to_string(), r)))
        .collect();
    let received = pos_domain::record::timestamp::format(&Utc::now());
    if let Some(path) = db.strip_prefix("sqlite:") {
        let path = path.to_string();
        let owned: Vec<(String, u64, String, String, Vec<u8>)> = rows
            .iter()
            .map(|(c, r)| {
                (
                    c.clone(),
                    r.record.seq,
                    pos_domain::record::timestamp::format(&r.record.at),
                    r.hash(),
                    r.stored.clone(),
                )
            })
            .collect();
        let till = ledger.till_id.clone();
        return tokio::task::spawn_blocking(move || {
            let mut conn = rusqlite::Connection::open(path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.pragma_update(None, "synchronous", "FULL").unwrap();
            conn.execute_batch(
                "CREATE TABLE bare (till_id TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL,
                 hash TEXT NOT NULL, body BLOB NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (till_id, chain, seq)) WITHOUT ROWID",
            )
            .unwrap();
            let started = Instant::now();
            for chunk in owned.chunks(BATCH) {
                let tx = conn.transaction().unwrap();
                {
                    // One prepared multi-row insert per batch.
                    let sql = format!(
                        "INSERT INTO bare VALUES {}",
                        vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                    );
                    let mut stmt = tx.prepare_cached(&sql).unwrap();
                    let seqs: Vec<i64> = chunk.iter().map(|r| r.1 as i64).collect();
                    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 7);
                    for ((c, _, at, hash, body), seq) in chunk.iter().zip(&seqs) {
                        values.extend([&till as &dyn rusqlite::ToSql, c, seq, at, hash, body, &received]);
                    }
                    stmt.execute(values.as_slice()).unwrap();
                }
                tx.commit().unwrap();
            }
            started.elapsed()
        })
        .await
        .unwrap();
    }
    let (mut client, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE bare (till_id TEXT NOT NULL, chain TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL,
             hash TEXT NOT NULL, body BYTEA NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (till_id, chain, seq))",
        )
        .await
        .unwrap();
    // PostgreSQL's fastest bulk path: COPY, binary format, one per batch.
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::{ToSql, Type};
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::BYTEA,
        Type::TEXT,
    ];
    let owned: Vec<(&str, i64, String, String, &Vec<u8>)> = rows
        .iter()
        .map(|(chain, r)| {
            (
                chain.as_str(),
                r.record.seq as i64,
                pos_domain::record::timestamp::format(&r.record.at),
                r.hash(),
                &r.stored,
            )
        })
        .collect();
    let started = Instant::now();
    for chunk in owned.chunks(BATCH) {
        let tx = client.transaction().await.unwrap();
        let sink = tx
            .copy_in(
                "COPY bare (till_id, chain, seq, at, hash, body, received_at) FROM STDIN BINARY",
            )
            .await
            .unwrap();
        let writer = BinaryCopyInWriter::new(sink, &types);
        futures_util::pin_mut!(writer);
        for (chain, seq, at, hash, body) in chunk {
            let row: [&(dyn ToSql + Sync); 7] =
                [&ledger.till_id, chain, seq, at, hash, body, &received];
            writer.as_mut().write(&row).await.unwrap();
        }
        writer.finish().await.unwrap();
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

/// Where ingest CPU goes: the whole chain verification (parse, canonical check, links,
/// signatures) against the signature checks alone, on one core.
fn verification_cost(ledger: &Ledger) {
    use pos_domain::record::{ChainVerifier, Depth, PublicKey};
    let key: PublicKey = ledger.public_key.parse().unwrap();
    let records = ledger.records() as f64;
    let started = Instant::now();
    for (chain, list) in &ledger.chains {
        let mut verifier = ChainVerifier::new(key, &ledger.till_id, *chain, Depth::Full);
        for r in list {
            verifier.push(r.record.seq, &r.stored).unwrap();
        }
    }
    let full = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (chain, list) in &ledger.chains {
        let mut verifier = ChainVerifier::new(key, &ledger.till_id, *chain, Depth::Links);
        for r in list {
            verifier.push(r.record.seq, &r.stored).unwrap();
        }
    }
    let links = started.elapsed().as_secs_f64();
    let signed: Vec<(Vec<u8>, pos_domain::record::Signature)> = ledger
        .chains
        .iter()
        .flat_map(|(_, list)| list.iter())
        .map(|r| (r.record.signed_bytes().unwrap(), r.signature))
        .collect();
    let started = Instant::now();
    for (bytes, signature) in &signed {
        assert!(key.verify(bytes, signature));
    }
    let signatures = started.elapsed().as_secs_f64();
    let fast = sync_server::signatures::FastKey::new(&key);
    let raw: Vec<(Vec<u8>, Vec<u8>)> = signed
        .iter()
        .map(|(b, s)| (b.clone(), hex::decode(s.to_string()).unwrap()))
        .collect();
    let started = Instant::now();
    for (bytes, signature) in &raw {
        assert!(fast.verify(bytes, signature));
    }
    let ring = started.elapsed().as_secs_f64();
    // Reading an upload before its transaction, without the signature checks: parsing,
    // hashing, the signed bytes, and what ingest reads ahead (the ticket and the event).
    let stored: Vec<String> = ledger
        .chains
        .iter()
        .flat_map(|(_, list)| list.iter())
        .map(|r| String::from_utf8(r.stored.clone()).unwrap())
        .collect();
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
    let started = Instant::now();
    let (parsed, _) = sync_server::signatures::read_stored(&fast, &stored, 1, |_, _| ());
    let parsing = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for r in parsed.iter().flatten() {
        std::hint::black_box(sync_server::ingest::ReadAhead::read(&r.record));
    }
    let read_ahead = started.elapsed().as_secs_f64();
    println!(
        "reading an upload, one core: parsing, hash and signed bytes {:.0} us each; reading ahead (ticket) {:.0} us each",
        parsing / records * 1e6,
        read_ahead / records * 1e6,
    );
    println!(
        "verification, one core: domain full chain check {:.0} records/s ({:.0} us each); links and parsing only {:.0} us each; ES256 verify alone: PublicKey::verify {:.0} us, through FastKey (raw bytes) {:.0} us each",
        records / full,
        full / records * 1e6,
        links / records * 1e6,
        signatures / records * 1e6,
        ring / records * 1e6,
    );
}

async fn drop_bench_database(db: &str) {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return;
    };
    let name = db.rsplit('/').next().unwrap_or_default();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}

/// Consolidated sales queries over rollups sized for `BENCH_SHOPS` shops (default 600) x 365
/// days x `BENCH_PRODUCTS` products sold per shop and day (default 40): with the default
/// sizes, 8.76 million product rows, what about 10 million ticket lines roll up to. Rows are
/// generated in the database (not through ingest); queries go through the HTTP API.
async fn sales_queries(backend: &str) {
    let shops = env_u64("BENCH_SHOPS", 600);
    let products = env_u64("BENCH_PRODUCTS", 40);
    let Some((server, db)) = start(backend).await else {
        println!("{backend}: skipped (no DATABASE_URL)");
        return;
    };
    let token = secrets::new_token().unwrap();
    server
        .store
        .create_user(
            &sync_server::store::User {
                id: "bench".into(),
                name: "bench".into(),
                role: sync_server::store::Role::Admin,
                shop_id: None,
                region_id: None,
            },
            &secrets::token_hash(&token),
        )
        .await
        .unwrap();
    // The shops of the rollups, in 12 regions of 50 shops (a chain's regional managers).
    for r in 1..=12 {
        server
            .store
            .create_region(&sync_server::store::Region {
                id: format!("R{r}"),
                name: format!("Region {r}"),
            })
            .await
            .unwrap();
    }
    for x in 1..=shops {
        server
            .store
            .create_shop(&Shop {
                id: format!("SHOP-{x}"),
                entity_id: "E".into(),
                name: format!("Shop {x}"),
                territory: "metropole".into(),
                timezone: "Europe/Paris".into(),
                address: String::new(),
                region_id: Some(format!("R{}", (x - 1) / 50 % 12 + 1)),
            })
            .await
            .unwrap();
    }
    // (dimension, keys per shop and day)
    let dims = [
        ("total", 1),
        ("product", products),
        ("category", 8),
        ("seller", 4),
        ("tender", 3),
    ];
    let started = Instant::now();
    let mut rows = 0;
    for (dimension, keys) in dims {
        rows += shops * 365 * keys;
        let key = if dimension == "total" {
            "''"
        } else {
            "'K' || k"
        };
        if let Some(path) = db.strip_prefix("sqlite:") {
            let sql = format!(
                "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {shops}),
                 d(y) AS (SELECT 0 UNION ALL SELECT y + 1 FROM d WHERE y < 364),
                 p(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM p WHERE k < {keys})
                 INSERT INTO sales_rollup SELECT 'SHOP-' || x, date('2025-01-01', '+' || y || ' days'), '{dimension}', {key},
                   1 + (x * 7 + y * 3 + k) % 5, 1 + (x + y + k) % 3, 100 * (1 + (x * 13 + y * 7 + k * 3) % 997), 80 * (1 + (x * 13 + y * 7 + k * 3) % 997)
                 FROM s, d, p"
            );
            let path = path.to_string();
            tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch(&sql).unwrap();
            })
            .await
            .unwrap();
        } else {
            let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let sql = format!(
                "INSERT INTO sales_rollup SELECT 'SHOP-' || x, to_char(date '2025-01-01' + y, 'YYYY-MM-DD'), '{dimension}', {key},
                   1 + (x * 7 + y * 3 + k) % 5, 1 + (x + y + k) % 3, 100 * (1 + (x * 13 + y * 7 + k * 3) % 997), 80 * (1 + (x * 13 + y * 7 + k * 3) % 997)
                 FROM generate_series(1, {shops}) x, generate_series(0, 364) y, generate_series(1, {keys}) k"
            );
            client.batch_execute(&sql).await.unwrap();
            client.batch_execute("ANALYZE sales_rollup").await.unwrap();
        }
    }
    // The chain-wide rows ingest maintains (shop `*`), as the migration backfills them.
    let chain_wide = "INSERT INTO sales_rollup
        SELECT '*', day, dimension, key, sum(tickets), sum(quantity), sum(amount_cents), sum(excluding_vat_cents)
        FROM sales_rollup WHERE shop_id <> '*' GROUP BY day, dimension, key";
    if let Some(path) = db.strip_prefix("sqlite:") {
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch(chain_wide).unwrap();
            conn.execute_batch("ANALYZE").unwrap();
        })
        .await
        .unwrap();
    } else {
        let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.batch_execute(chain_wide).await.unwrap();
        client.batch_execute("ANALYZE sales_rollup").await.unwrap();
    }
    println!(
        "{backend}: generated {rows} rollup rows ({shops} shops x 365 days; {products} product rows per shop and day) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::new();
    let queries = [
        (
            "by shop, one month",
            "by=shop&from=2025-03-01&to=2025-03-31",
        ),
        ("by day, whole year", "by=day&from=2025-01-01&to=2025-12-31"),
        (
            "by tender, whole year",
            "by=tender&from=2025-01-01&to=2025-12-31",
        ),
        (
            "by product, one day, all shops",
            "by=product&from=2025-03-14&to=2025-03-14",
        ),
        (
            "by product, one month, one shop",
            "by=product&from=2025-03-01&to=2025-03-31&shop=SHOP-42",
        ),
        (
            "by product, one month, all shops",
            "by=product&from=2025-03-01&to=2025-03-31",
        ),
        (
            "by product, whole year, all shops",
            "by=product&from=2025-01-01&to=2025-12-31",
        ),
        (
            "by shop, whole year",
            "by=shop&from=2025-01-01&to=2025-12-31",
        ),
        (
            "by region, whole year",
            "by=region&from=2025-01-01&to=2025-12-31",
        ),
        (
            "by product, one month, one region",
            "by=product&from=2025-03-01&to=2025-03-31&region=R3",
        ),
        (
            "by shop, one month, with the previous month",
            "by=shop&from=2025-03-01&to=2025-03-31&compare=previous",
        ),
        (
            "by product, one month, all shops, with the previous month",
            "by=product&from=2025-03-01&to=2025-03-31&compare=previous",
        ),
    ];
    let runs = env_u64("BENCH_RUNS", 20);
    for (name, query) in queries {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for _ in 0..runs {
            let started = Instant::now();
            let response = http
                .get(format!("{}/api/v1/hq/sales?{query}", server.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            let _ = response.bytes().await.unwrap();
            h.record(started.elapsed().as_micros() as u64).unwrap();
        }
        println!(
            "{backend}: sales query {name}: p50 {:.1} ms, p99 {:.1} ms ({runs} runs)",
            p(&h, 0.5),
            p(&h, 0.99)
        );
    }
    let _ = server.stop.send(());
    drop(server.store);
    if backend == "postgres" {
        drop_bench_database(&db).await;
    }
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat` (`None`:
/// gone, or not Linux). Wall time on this shared machine is noisy; CPU time says what a change
/// costs.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

/// CPU time of the bench process (the server and its HTTP client) and of the database's
/// server processes (PostgreSQL's backends serving the bench database; none for SQLite).
#[derive(Clone, Default)]
struct Cpu {
    this: f64,
    database: std::collections::BTreeMap<String, f64>,
}

impl Cpu {
    async fn now(db: &str) -> Cpu {
        let mut database = std::collections::BTreeMap::new();
        if !db.starts_with("sqlite:") {
            let (client, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            for row in client
                .query(
                    "SELECT pid::TEXT FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap()
            {
                let pid: String = row.get(0);
                if let Some(cpu) = cpu_seconds(&pid) {
                    database.insert(pid, cpu);
                }
            }
        }
        Cpu {
            this: cpu_seconds("self").unwrap_or(0.0),
            database,
        }
    }

    /// (this process, the database's processes) seconds since `before`.
    fn since(&self, before: &Cpu) -> (f64, f64) {
        let database = self
            .database
            .iter()
            .map(|(pid, cpu)| cpu - before.database.get(pid).copied().unwrap_or(0.0))
            .sum();
        (self.this - before.this, database)
    }
}

fn p(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    sync_server::allocator::keep_freed_memory_a_while();
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "sales") {
        for backend in ["sqlite", "postgres"] {
            sales_queries(backend).await;
        }
        return;
    }
    let tickets = env_u64("BENCH_TICKETS", 10_000);
    let tills = env_u64("BENCH_TILLS", 100);
    let per_till = env_u64("BENCH_TICKETS_PER_TILL", 100);
    let gen_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let big = {
        let dir = gen_dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || Ledger::generate(&dir, "BIG", tickets, 20, 1))
            .await
            .unwrap()
    };
    let fleet: Vec<Ledger> = {
        let dir = gen_dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            (0..tills)
                .map(|i| {
                    Ledger::generate(&dir, &format!("T{i:03}"), per_till, 2, (i % 250) as u8 + 2)
                })
                .collect()
        })
        .await
        .unwrap()
    };
    let fleet = Arc::new(fleet);
    println!(
        "generated {} tickets ({} records) for one till and {tills} tills x {per_till} tickets in {:.1} s",
        big.tickets,
        big.records(),
        started.elapsed().as_secs_f64()
    );
    verification_cost(&big);
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "verify") {
        return;
    }
    let pouchdb = pouchdb_baseline(&big, gen_dir.path());
    let http = reqwest::Client::new();
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in ["sqlite", "postgres"] {
        if !backends.split(',').any(|b| b.trim() == backend) {
            continue;
        }
        let Some((server, db)) = start(backend).await else {
            println!("{backend}: skipped (no DATABASE_URL)");
            continue;
        };
        // 1. One till catching up.
        let token = enroll(&server, &http, &big).await;
        let cpu_before = Cpu::now(&db).await;
        let started = Instant::now();
        let latencies = upload_all(&server.url, &http, &token, &big).await;
        let ingest = started.elapsed();
        let (cpu_this, cpu_database) = Cpu::now(&db).await.since(&cpu_before);
        let mut h = Histogram::<u64>::new(3).unwrap();
        for l in &latencies {
            h.record(l.as_micros() as u64).unwrap();
        }
        println!(
            "{backend}: one till catching up {} tickets ({} records, {BATCH} per request): {:.2} s, {:.0} tickets/s, {:.0} records/s, request p50 {:.1} ms p99 {:.1} ms",
            big.tickets,
            big.records(),
            ingest.as_secs_f64(),
            big.tickets as f64 / ingest.as_secs_f64(),
            big.records() as f64 / ingest.as_secs_f64(),
            p(&h, 0.5),
            p(&h, 0.99),
        );
        println!(
            "{backend}: catch-up CPU: {cpu_this:.2} s in the server process (with its HTTP client), {cpu_database:.2} s in the database's processes"
        );
        if let Some(pouchdb) = pouchdb {
            println!(
                "{backend}: catch-up {:.1}x as fast as PouchDB replicating the same records ({:.2} s against {:.2} s)",
                pouchdb.as_secs_f64() / ingest.as_secs_f64(),
                ingest.as_secs_f64(),
                pouchdb.as_secs_f64(),
            );
        }
        // 3. Bare bulk insert of the same rows, same database.
        let bare = bare_insert(&db, &big).await;
        println!(
            "{backend}: bare bulk insert of the same {} rows: {:.2} s, {:.0} records/s; ingest/bare throughput ratio {:.2}",
            big.records(),
            bare.as_secs_f64(),
            big.records() as f64 / bare.as_secs_f64(),
            bare.as_secs_f64() / ingest.as_secs_f64(),
        );
        // 2. Many tills at once.
        let mut tokens = Vec::new();
        for ledger in fleet.iter() {
            tokens.push(enroll(&server, &http, ledger).await);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, token) in tokens.into_iter().enumerate() {
            let (fleet, http, url) = (fleet.clone(), http.clone(), server.url.clone());
            tasks.push(tokio::spawn(async move {
                upload_all(&url, &http, &token, &fleet[i]).await
            }));
        }
        let mut h = Histogram::<u64>::new(3).unwrap();
        for task in tasks {
            for l in task.await.unwrap() {
                h.record(l.as_micros() as u64).unwrap();
            }
        }
        let elapsed = started.elapsed();
        let fleet_tickets: u64 = fleet.iter().map(|l| l.tickets).sum();
        let fleet_records: usize = fleet.iter().map(Ledger::records).sum();
        println!(
            "{backend}: {tills} tills uploading at once: {fleet_tickets} tickets ({fleet_records} records) in {:.2} s, {:.0} tickets/s, request p50 {:.1} ms p99 {:.1} ms ({} requests)",
            elapsed.as_secs_f64(),
            fleet_tickets as f64 / elapsed.as_secs_f64(),
            p(&h, 0.5),
            p(&h, 0.99),
            h.len(),
        );
        let _ = server.stop.send(());
        drop(server.store);
        if backend == "postgres" {
            drop_bench_database(&db).await;
        }
        // 5. Stock's share of the catch-up.
        let runs = env_u64("BENCH_STOCK_RUNS", 3);
        if runs > 0 {
            let (mut with, mut without) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                with.push(catch_up_with_catalog(backend, &http, &big, true).await);
                without.push(catch_up_with_catalog(backend, &http, &big, false).await);
            }
            let (with, without) = (median(with), median(without));
            println!(
                "{backend}: catch-up with stock derived {:.2} s, without {:.2} s (medians of {runs}): throughput with stock {:.1} % below",
                with.as_secs_f64(),
                without.as_secs_f64(),
                (1.0 - without.as_secs_f64() / with.as_secs_f64()) * 100.0,
            );
        }
    }
}

/// The catch-up's baseline: PouchDB replicating the same records, one document per record (its
/// stored JSON as the document's body), from a local PouchDB to pouchdb-server on loopback.
/// `None` when skipped (`BENCH_POUCHDB=0`); a failure to run it is a failure of the bench.
fn pouchdb_baseline(ledger: &Ledger, dir: &std::path::Path) -> Option<Duration> {
    use std::io::Write;
    use std::process::Command;

    if std::env::var("BENCH_POUCHDB").is_ok_and(|v| v == "0") {
        println!("PouchDB baseline: skipped (BENCH_POUCHDB=0)");
        return None;
    }
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pouchdb");
    if !bench.join("node_modules").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&bench)
            .status()
            .expect("npm (installed by scripts/install-deps.sh) runs");
        assert!(status.success(), "npm ci in {} failed", bench.display());
    }
    let path = dir.join("records.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for (chain, records) in &ledger.chains {
        for r in records {
            let body: serde_json::Value = serde_json::from_slice(&r.stored).unwrap();
            let doc = serde_json::json!({
                "_id": format!("{}/{}/{:010}", ledger.till_id, chain.name(), r.record.seq),
                "record": body,
            });
            writeln!(file, "{doc}").unwrap();
        }
    }
    file.flush().unwrap();
    drop(file);
    let output = Command::new("node")
        .arg(bench.join("replicate.mjs"))
        .arg(&path)
        .output()
        .expect("node (installed by scripts/install-deps.sh) runs");
    assert!(
        output.status.success(),
        "PouchDB baseline failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let seconds = answer["seconds"].as_f64().unwrap();
    println!(
        "PouchDB baseline: {} documents replicated to pouchdb-server in {seconds:.2} s, {:.0} documents/s",
        answer["docs"],
        answer["docs"].as_f64().unwrap() / seconds
    );
    Some(Duration::from_secs_f64(seconds))
}
