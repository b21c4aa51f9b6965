//! First-start download benchmark, over real HTTP on 127.0.0.1, per backend: a catalog of
//! `BENCH_PRODUCTS` products (default 1,000,000) distributed by head office, then
//!
//! 1. the feed read over HTTP, page after page, without applying it, for several page sizes:
//!    seconds, entries/s, bytes per entry (what the server and the wire cost);
//! 2. a fresh, enrolled till's whole first sync (`Till::sync`: download and apply, one local
//!    transaction per page of `pos_till::download::PAGE`): seconds and products/s.
//!
//! Run: `cargo bench -p sync-server --bench download` (PostgreSQL too when `DATABASE_URL`
//! is set). The catalog is written to the server first (timed separately, as the admin import
//! would).

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use pos_domain::clock::ManualClock;
use pos_domain::wire::ChangesPage;
use pos_till::{InitOptions, Till};
use sync_server::store::{LegalEntity, NewTill, Shop};
use sync_server::{AppState, ServerConfig, Store, distribution, open_store, secrets};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fresh_postgres(url: &str) -> String {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("DATABASE_URL reachable");
    tokio::spawn(connection);
    let name = format!(
        "pos_bench_dl_{}",
        hex::encode(secrets::random_bytes::<4>().unwrap())
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = url.split('?').next().unwrap_or(url);
    let (root, _) = base.rsplit_once('/').unwrap();
    format!("{root}/{name}")
}

async fn setup(store: &Arc<dyn Store>, products: u64) -> String {
    store
        .create_entity(&LegalEntity {
            id: "E".into(),
            name: "Bench".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    store
        .create_shop(&Shop {
            id: "S".into(),
            entity_id: "E".into(),
            name: "Shop".into(),
            territory: "metropole".into(),
            timezone: "Europe/Paris".into(),
            address: String::new(),
            region_id: None,
        })
        .await
        .unwrap();
    let code = secrets::new_enrollment_code().unwrap();
    store
        .create_till(&NewTill {
            id: "S-1".into(),
            shop_id: "S".into(),
            name: "Till".into(),
            code_hash: secrets::code_hash(&code),
            code_expires_at: Utc::now() + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let changes: Vec<_> = pos_till::demo::large_catalog(products, 1)
        .map(|p| distribution::product_change(&p))
        .collect();
    let started = Instant::now();
    store.put_changes(changes).await.unwrap();
    println!(
        "  head office import of {products} products: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    code
}

async fn run(db_url: &str, label: &str, products: u64) {
    println!("== {label}");
    let store = open_store(db_url).await.expect("store");
    let code = setup(&store, products).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState {
        store: store.clone(),
        config: ServerConfig::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sync_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (till, token) = {
        let (url, code, path) = (url.clone(), code.clone(), path.clone());
        tokio::task::spawn_blocking(move || {
            let options = InitOptions {
                till_id: Some("S-1".into()),
                ..InitOptions::new("Shop", "Till")
            };
            let mut till = Till::init(&path, options, clock, [9; 32]).unwrap();
            till.enroll(&url, &code).unwrap();
            let token: String = rusqlite::Connection::open(&path)
                .unwrap()
                .query_row("SELECT token FROM sync_server", [], |r| r.get(0))
                .unwrap();
            (till, token)
        })
        .await
        .unwrap()
    };

    let http = reqwest::Client::new();
    for limit in [1000u32, 5000, 20000] {
        let started = Instant::now();
        let (mut since, mut entries, mut bytes, mut pages) = (0u64, 0u64, 0u64, 0u64);
        loop {
            let body = http
                .get(format!(
                    "{url}/api/v1/tills/S-1/changes?since={since}&limit={limit}"
                ))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            bytes += body.len() as u64;
            let page: ChangesPage = serde_json::from_slice(&body).unwrap();
            if page.changes.is_empty() {
                break;
            }
            entries += page.changes.len() as u64;
            pages += 1;
            since = page.next;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  feed read over HTTP, page {limit:>6}: {pages:>5} pages, {entries} entries in {secs:.2} s ({:.0} entries/s, {} bytes/entry)",
            entries as f64 / secs,
            bytes / entries.max(1)
        );
    }

    let (summary, secs, pages_secs) = tokio::task::spawn_blocking(move || {
        let mut till = till;
        let started = Instant::now();
        let mut last_page = started;
        let summary = till
            .sync_reporting(|_, _, _| {}, |_| last_page = Instant::now())
            .unwrap();
        let pages_secs = (last_page - started).as_secs_f64();
        (summary, started.elapsed().as_secs_f64(), pages_secs)
    })
    .await
    .unwrap();
    println!(
        "  till first sync: {} products in {} pages of {}: {secs:.1} s ({:.0} products/s): \
         {pages_secs:.1} s to the last page applied, then {:.1} s for the search index",
        summary.download.products,
        summary.download.pages,
        pos_till::download::PAGE,
        summary.download.products as f64 / secs,
        secs - pages_secs,
    );
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::main]
async fn main() {
    let products = env_u64("BENCH_PRODUCTS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("server.sqlite").display());
    run(&sqlite, "SQLite", products).await;
    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let db = fresh_postgres(&url).await;
            run(&db, "PostgreSQL", products).await;
        }
        Err(_) => println!("== PostgreSQL skipped: DATABASE_URL is not set"),
    }
}
