//! Available-to-promise benchmark, over real HTTP on 127.0.0.1, per backend: 600 shops, each
//! with a stock line for each of `BENCH_PRODUCTS` products (default 1,000: 600,000 lines),
//! read by a web shop through `GET /api/v1/stock/available`:
//!
//! 1. 100 products across every shop (600 shops: 60,000 lines in one answer), the brief's
//!    shape;
//! 2. one product across every shop ("where can I pick it up?");
//! 3. 100 products at one shop (a basket at the customer's shop);
//!
//! and the same questions answered as a matrix of integers (`GET
//! /api/v1/stock/available/matrix`): 100 products across every shop, and at one shop.
//!
//! Each request names a different set of products each round (taken in turn from the
//! catalog), so no answer is served from one warm page; the warm-up answer of each shape is
//! checked to hold every (product, shop) asked. p50 and p99 per shape.
//!
//! The stock lines are written with SQL straight into `stock_levels` (ingesting the tickets
//! that would make them measures ingest, which `--bench ingest` does). Run: `cargo bench -p
//! sync-server --bench stock` (PostgreSQL too when `DATABASE_URL` is set); `BENCH_ROUNDS`
//! (default 100) rounds per shape; `BENCH_BACKEND` (`sqlite` or `postgres`) and `BENCH_SHAPE`
//! (a part of a shape's label, such as `matrix`) run only those.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sync_server::store::{LegalEntity, Shop};
use sync_server::{AppState, ServerConfig, Store, open_store, secrets};

const SHOPS: usize = 600;
const ASKED: usize = 100;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn product(n: u64) -> String {
    format!("P{n:06}")
}

/// The seeding SQL of a backend: a stock line per shop and product, with figures varying by
/// both.
fn seed_sql(postgres: bool, products: u64) -> String {
    if postgres {
        format!(
            "INSERT INTO stock_levels (shop_id, product_id, unit, level, version, in_transit, reserved)
             SELECT shops.id, 'P' || lpad(n::text, 6, '0'), 'units',
                    (n * 7 + length(shops.id) * 13) % 50, 1, n % 3, n % 2
               FROM shops, generate_series(1, {products}) AS n;"
        )
    } else {
        format!(
            "WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < {products})
             INSERT INTO stock_levels (shop_id, product_id, unit, level, version, in_transit, reserved)
             SELECT shops.id, printf('P%06d', n), 'units',
                    (n * 7 + length(shops.id) * 13) % 50, 1, n % 3, n % 2
               FROM shops, p;"
        )
    }
}

async fn fresh_database(postgres: bool, dir: &std::path::Path) -> Option<String> {
    if !postgres {
        return Some(format!("sqlite:{}", dir.join("bench.sqlite").display()));
    }
    let url = std::env::var("DATABASE_URL").ok()?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("DATABASE_URL reachable");
    tokio::spawn(connection);
    let name = format!(
        "pos_stock_bench_{}",
        hex::encode(secrets::random_bytes::<4>().unwrap())
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = url.split('?').next().unwrap_or(&url);
    let (root, _) = base.rsplit_once('/').unwrap();
    Some(format!("{root}/{name}"))
}

async fn run_sql(db: &str, sql: &str) {
    if let Some(path) = db.strip_prefix("sqlite:") {
        let (path, sql) = (path.to_string(), sql.to_string());
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch(&format!("BEGIN; {sql} COMMIT; ANALYZE;"))
                .unwrap();
        })
        .await
        .unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(db, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("BEGIN; {sql} COMMIT; ANALYZE;"))
            .await
            .unwrap();
    }
}

/// The chain's shops and a web shop; the web shop's key.
async fn populate(store: &Arc<dyn Store>) -> String {
    store
        .create_entity(&LegalEntity {
            id: "ACME".into(),
            name: "Acme Télécom SA".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    for s in 0..SHOPS {
        let id = format!("SHOP-{s:03}");
        store
            .create_shop(&Shop {
                id: id.clone(),
                entity_id: "ACME".into(),
                name: id,
                territory: "metropole".into(),
                timezone: "Europe/Paris".into(),
                address: String::new(),
                region_id: None,
            })
            .await
            .unwrap();
    }
    let key = secrets::new_token().unwrap();
    store
        .create_webshop("web", "Boutique en ligne", &secrets::token_hash(&key))
        .await
        .unwrap();
    key
}

async fn timed_get(http: &reqwest::Client, url: &str, key: &str) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let response = http.get(url).bearer_auth(key).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let body = response.bytes().await.unwrap();
    let took = started.elapsed();
    (took, body.to_vec())
}

/// How many (product, shop) figures an answer holds: its lines, or its matrix's cells.
fn figures(body: &[u8]) -> usize {
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap();
    match answer.as_array() {
        Some(lines) => lines.len(),
        None => answer["available"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().len())
            .sum(),
    }
}

/// The URL a shape asks in round `r`.
type UrlOfRound<'a> = Box<dyn Fn(u64) -> String + 'a>;

fn millis(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

async fn bench_backend(postgres: bool) {
    let name = if postgres { "postgres" } else { "sqlite" };
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(postgres, dir.path()).await else {
        println!("{name}: skipped (set DATABASE_URL)");
        return;
    };
    let store = open_store(&db).await.unwrap();
    let key = populate(&store).await;
    let products = env_u64("BENCH_PRODUCTS", 1000).max(ASKED as u64);
    let seeding = Instant::now();
    run_sql(&db, &seed_sql(postgres, products)).await;
    println!(
        "{name}: {SHOPS} shops x {products} products = {} stock lines seeded in {:.1} s",
        SHOPS as u64 * products,
        seeding.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://{}/api/v1/stock/available",
        listener.local_addr().unwrap()
    );
    let matrix = format!("{base}/matrix");
    let state = AppState {
        store: store.clone(),
        config: ServerConfig::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sync_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let rounds = env_u64("BENCH_ROUNDS", 100);
    // The products of round `r`: 100 in turn through the catalog.
    let basket = |r: u64| -> String {
        (0..ASKED as u64)
            .map(|i| product((r * ASKED as u64 + i) % products + 1))
            .collect::<Vec<_>>()
            .join(",")
    };
    let one_shop = |r: u64| format!("SHOP-{:03}", r % SHOPS as u64);
    // Each shape: its label, the (product, shop) figures its answer holds, its URL per round.
    let shapes: [(&str, usize, UrlOfRound); 5] = [
        (
            "100 products x 600 shops",
            ASKED * SHOPS,
            Box::new(|r| format!("{base}?products={}", basket(r))),
        ),
        (
            "1 product x 600 shops",
            SHOPS,
            Box::new(|r| format!("{base}?products={}", product(r % products + 1))),
        ),
        (
            "100 products x 1 shop",
            ASKED,
            Box::new(|r| format!("{base}?products={}&shops={}", basket(r), one_shop(r))),
        ),
        (
            "100 products x 600 shops, matrix",
            ASKED * SHOPS,
            Box::new(|r| format!("{matrix}?products={}", basket(r))),
        ),
        (
            "100 products x 1 shop, matrix",
            ASKED,
            Box::new(|r| format!("{matrix}?products={}&shops={}", basket(r), one_shop(r))),
        ),
    ];
    let only = std::env::var("BENCH_SHAPE").unwrap_or_default();
    for (label, expected, url_of) in shapes.iter().filter(|(l, _, _)| l.contains(&only)) {
        let mut h = Histogram::<u64>::new(3).unwrap();
        // One warm-up request, not counted.
        let (_, body) = timed_get(&http, &url_of(rounds), &key).await;
        assert_eq!(
            figures(&body),
            *expected,
            "{label}: the answer holds a figure for every product and shop asked"
        );
        for r in 0..rounds {
            let (took, _) = timed_get(&http, &url_of(r), &key).await;
            h.record(took.as_micros() as u64).unwrap();
        }
        println!(
            "{name}: {label}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({rounds} requests, {} KB per answer)",
            millis(&h, 0.5),
            millis(&h, 0.99),
            h.max() as f64 / 1000.0,
            body.len() / 1024
        );
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(store);
    if postgres {
        let url = std::env::var("DATABASE_URL").unwrap();
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let name = db.rsplit('/').next().unwrap();
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let only = std::env::var("BENCH_BACKEND").unwrap_or_default();
        for postgres in [false, true] {
            if only.is_empty() || only == if postgres { "postgres" } else { "sqlite" } {
                bench_backend(postgres).await;
            }
        }
    });
}
