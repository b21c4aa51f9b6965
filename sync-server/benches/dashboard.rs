//! Head-office dashboard benchmark, over real HTTP on 127.0.0.1, per backend: 600 shops in 12
//! regions, 2 tills each, and a year of sales rollups (the `total` and three `tender` rows per
//! shop and day, and their chain-wide rows).
//!
//! Measured, as an admin (every shop) and as a regional manager (50 shops):
//!
//! 1. the dashboard's first screen: its five requests at once, as the app sends them (today,
//!    the same weekday last week and 52 weeks earlier by day, today by tender, the fleet), from
//!    the first request sent to the last answer read;
//! 2. every one of those requests on its own, p50 and p99;
//! 3. the period screen's three requests (28 days by day with the previous period, by region,
//!    by shop).
//!
//! Each till holds four chains (their heads are what the fleet reads per till), and one till
//! in ten has two past days with sales and no Z.
//!
//! The rollups are written with SQL straight into `sales_rollup` (ingesting a year of tickets
//! of 600 shops would take hours and measure ingest, which `--bench ingest` does); the reads
//! go through the API like the app's. Run: `cargo bench -p sync-server --bench dashboard`
//! (PostgreSQL too when `DATABASE_URL` is set). `BENCH_ROUNDS` (default 200) rounds per role;
//! `BENCH_KEEP_DB=1` keeps each database (its URL is printed) for `EXPLAIN ANALYZE` and
//! `ui/head-office/scripts/first-screen.mjs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use hdrhistogram::Histogram;
use sync_server::store::{LegalEntity, NewTill, Region, Role, Shop, User};
use sync_server::{AppState, ServerConfig, Store, open_store, secrets};

const REGIONS: usize = 12;
const SHOPS_PER_REGION: usize = 50;
const TILLS_PER_SHOP: usize = 2;
const DAYS: u64 = 366;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seeding SQL of a backend: a year of rollups for every shop, then the chain-wide rows.
fn seed_sql(postgres: bool, first_day: &str, second_day: &str, last_day: &str) -> String {
    let days = if postgres {
        format!(
            "SELECT to_char(d, 'YYYY-MM-DD') AS day, (extract(doy FROM d))::bigint AS n FROM generate_series(DATE '{first_day}', DATE '{last_day}', INTERVAL '1 day') d"
        )
    } else {
        format!(
            "WITH RECURSIVE days(day, n) AS (SELECT '{first_day}', 1 UNION ALL SELECT date(day, '+1 day'), n + 1 FROM days WHERE day < '{last_day}') SELECT day, n FROM days"
        )
    };
    // Deterministic figures varying by shop and day; three tenders sharing the total.
    let tickets = "(40 + (n * 7 + length(shops.id) * 13) % 60)";
    let amount = format!("({tickets} * (2500 + (n * 31) % 1500))");
    let mut sql = format!(
        "INSERT INTO sales_rollup (shop_id, day, dimension, key, tickets, quantity, amount_cents, excluding_vat_cents)
         SELECT shops.id, days.day, 'total', '', {tickets}, {tickets} * 3, {amount}, {amount} * 5 / 6
         FROM shops CROSS JOIN ({days}) days;"
    );
    for (key, share) in [("card", 70), ("cash", 20), ("voucher", 10)] {
        sql.push_str(&format!(
            "INSERT INTO sales_rollup (shop_id, day, dimension, key, tickets, quantity, amount_cents, excluding_vat_cents)
             SELECT shops.id, days.day, 'tender', '{key}', {tickets} * {share} / 100, 0, {amount} * {share} / 100, {amount} * {share} / 120
             FROM shops CROSS JOIN ({days}) days;"
        ));
    }
    sql.push_str(
        "INSERT INTO sales_rollup (shop_id, day, dimension, key, tickets, quantity, amount_cents, excluding_vat_cents)
         SELECT '*', day, dimension, key, sum(tickets), sum(quantity), sum(amount_cents), sum(excluding_vat_cents)
         FROM sales_rollup WHERE shop_id <> '*' GROUP BY day, dimension, key;",
    );
    // What the fleet reads per till: its chain heads, and for one till in ten two days
    // without a Z.
    sql.push_str(
        "INSERT INTO chain_heads (till_id, chain, seq, hash)
         SELECT tills.id, chains.chain, 1000, 'seeded' FROM tills CROSS JOIN
           (SELECT 'ticket' AS chain UNION ALL SELECT 'closure' UNION ALL SELECT 'event'
            UNION ALL SELECT 'cash') chains;",
    );
    sql.push_str(&format!(
        "INSERT INTO till_days_without_z (till_id, day)
         SELECT tills.id, days.day FROM tills CROSS JOIN
           (SELECT '{first_day}' AS day UNION ALL SELECT '{second_day}') days
         WHERE tills.id LIKE '%0-1';"
    ));
    sql
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
        "pos_dashboard_bench_{}",
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
        let path = path.to_string();
        let sql = sql.to_string();
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

/// Creates the chain and its users; the admin's and the regional manager's tokens.
async fn populate(store: &Arc<dyn Store>) -> (String, String) {
    store
        .create_entity(&LegalEntity {
            id: "ACME".into(),
            name: "Acme Télécom SA".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    for r in 0..REGIONS {
        let region = format!("R{r:02}");
        store
            .create_region(&Region {
                id: region.clone(),
                name: format!("Région {r}"),
            })
            .await
            .unwrap();
        for s in 0..SHOPS_PER_REGION {
            let shop = format!("SHOP-{r:02}-{s:02}");
            store
                .create_shop(&Shop {
                    id: shop.clone(),
                    entity_id: "ACME".into(),
                    name: shop.clone(),
                    territory: "metropole".into(),
                    timezone: "Europe/Paris".into(),
                    address: String::new(),
                    region_id: Some(region.clone()),
                })
                .await
                .unwrap();
            for t in 0..TILLS_PER_SHOP {
                store
                    .create_till(&NewTill {
                        id: format!("{shop}-{t}"),
                        shop_id: shop.clone(),
                        name: format!("Caisse {t}"),
                        code_hash: secrets::code_hash(&secrets::new_enrollment_code().unwrap()),
                        code_expires_at: Utc::now() + chrono::Duration::hours(1),
                    })
                    .await
                    .unwrap();
            }
        }
    }
    let mut tokens = Vec::new();
    for (id, role, region) in [
        ("ada", Role::Admin, None),
        ("rita", Role::RegionalManager, Some("R03".to_string())),
    ] {
        let token = secrets::new_token().unwrap();
        store
            .create_user(
                &User {
                    id: id.into(),
                    name: id.into(),
                    role,
                    shop_id: None,
                    region_id: region,
                },
                &secrets::token_hash(&token),
            )
            .await
            .unwrap();
        tokens.push(token);
    }
    (tokens.remove(0), tokens.remove(0))
}

async fn timed_get(http: &reqwest::Client, url: String, token: &str) -> Duration {
    let started = Instant::now();
    let response = http.get(&url).bearer_auth(token).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.unwrap();
    started.elapsed()
}

fn micros(h: &Histogram<u64>, q: f64) -> f64 {
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
    let (admin, regional) = populate(&store).await;
    let today = Utc::now().date_naive();
    let first = today.checked_sub_days(Days::new(DAYS - 1)).unwrap();
    let seeding = Instant::now();
    run_sql(
        &db,
        &seed_sql(
            postgres,
            &first.to_string(),
            &first.succ_opt().unwrap().to_string(),
            &today.to_string(),
        ),
    )
    .await;
    println!(
        "{name}: {} shops, {} tills, {DAYS} days of rollups seeded in {:.1} s",
        REGIONS * SHOPS_PER_REGION,
        REGIONS * SHOPS_PER_REGION * TILLS_PER_SHOP,
        seeding.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1/hq", listener.local_addr().unwrap());
    let state = AppState {
        store: store.clone(),
        config: ServerConfig::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sync_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let day = |days: u64| today.checked_sub_days(Days::new(days)).unwrap();
    let dashboard = [
        format!("{base}/sales?by=day&from={}&to={}", day(0), day(0)),
        format!("{base}/sales?by=day&from={}&to={}", day(7), day(7)),
        format!("{base}/sales?by=day&from={}&to={}", day(364), day(364)),
        format!("{base}/sales?by=tender&from={}&to={}", day(0), day(0)),
        format!("{base}/fleet?limit=5000"),
    ];
    let period = [
        format!(
            "{base}/sales?by=day&from={}&to={}&compare=previous",
            day(27),
            day(0)
        ),
        format!("{base}/sales?by=region&from={}&to={}", day(27), day(0)),
        format!("{base}/sales?by=shop&from={}&to={}", day(27), day(0)),
    ];
    let rounds = env_u64("BENCH_ROUNDS", 200);
    for (role, token) in [("admin", &admin), ("regional manager", &regional)] {
        let mut screen = Histogram::<u64>::new(3).unwrap();
        let mut request = Histogram::<u64>::new(3).unwrap();
        let mut period_screen = Histogram::<u64>::new(3).unwrap();
        let mut each: Vec<Histogram<u64>> = (0..dashboard.len())
            .map(|_| Histogram::new(3).unwrap())
            .collect();
        // One warm-up round, not counted.
        for url in dashboard.iter().chain(&period) {
            timed_get(&http, url.clone(), token).await;
        }
        for _ in 0..rounds {
            let started = Instant::now();
            let answers = futures_util::future::join_all(
                dashboard
                    .iter()
                    .map(|url| timed_get(&http, url.clone(), token)),
            )
            .await;
            screen.record(started.elapsed().as_micros() as u64).unwrap();
            for (i, took) in answers.into_iter().enumerate() {
                request.record(took.as_micros() as u64).unwrap();
                each[i].record(took.as_micros() as u64).unwrap();
            }
            let started = Instant::now();
            futures_util::future::join_all(
                period
                    .iter()
                    .map(|url| timed_get(&http, url.clone(), token)),
            )
            .await;
            period_screen
                .record(started.elapsed().as_micros() as u64)
                .unwrap();
        }
        println!(
            "{name} {role}: dashboard first screen (5 requests at once) p50 {:.1} ms, p99 {:.1} ms; \
             each dashboard request p50 {:.1} ms, p99 {:.1} ms; period screen (3 requests) p50 {:.1} ms, p99 {:.1} ms ({rounds} rounds)",
            micros(&screen, 0.5),
            micros(&screen, 0.99),
            micros(&request, 0.5),
            micros(&request, 0.99),
            micros(&period_screen, 0.5),
            micros(&period_screen, 0.99),
        );
        let labels = ["today", "last week", "last year", "tenders", "fleet"];
        let breakdown: Vec<String> = labels
            .iter()
            .zip(&each)
            .map(|(label, h)| format!("{label} {:.1}", micros(h, 0.99)))
            .collect();
        println!("  p99 per request (ms): {}", breakdown.join(", "));
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(store);
    if std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1") {
        let _kept = dir.keep();
        println!("{name}: database kept at {db}");
    } else if postgres {
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
        bench_backend(false).await;
        bench_backend(true).await;
    });
}
