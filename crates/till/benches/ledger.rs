//! Ledger benchmarks: `cargo bench -p pos-till --bench ledger` (add `-- --quick` for a smoke
//! run with smaller sizes, `-- --only tickets|closure|verify|catalog|customers` for one section). Prints a Markdown table; BENCHMARKS.md records the numbers.
//!
//! Files go under `target/bench-ledger` (a real disk, so fsync costs what it costs in a shop;
//! /tmp may be a RAM disk where fsync is free). Override with `BENCH_DIR`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use pos_domain::Money;
use pos_domain::clock::ManualClock;
use pos_domain::closure::ClosureLevel;
use pos_domain::customer::Customer;
use pos_domain::journal::{Event, EventKind};
use pos_domain::record::{Chain, Depth, SoftwareKey};
use pos_domain::tender::{Tender, TenderKind};
use pos_till::demo::{demo_catalog, large_catalog};
use pos_till::ledger::{self, Author};
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::{InitOptions, Till, db};

struct Sizes {
    tickets: u64,
    catalog: u64,
    lookups: u64,
    searches: u64,
    customers: u64,
    closure_tickets: u64,
    verify_records: u64,
}

fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ledger")
        });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

fn micros(d: Duration) -> u64 {
    d.as_micros().max(1) as u64
}

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn new_till(dir: &Path, name: &str) -> (Till, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        "2026-11-02T08:00:00Z".parse().expect("time"),
    ));
    let till = Till::init(
        &dir.join(name),
        InitOptions::new("Bench", name),
        clock.clone(),
        [9u8; 32],
    )
    .expect("init");
    (till, clock)
}

fn five_line_sale() -> SaleRequest {
    let line = |id: &str, q| SaleLineRequest {
        product_id: Some(id.into()),
        quantity: Some(q),
        seller: Some("S101".into()),
        ..Default::default()
    };
    SaleRequest {
        operator: Some("alice".into()),
        lines: vec![
            line("ACC-COQ-IP16", 1),
            line("ACC-VER-IP16", 1),
            line("ACC-CBL-CC1", 2),
            line("LIV-GUIDE-5G", 1),
            line("PRS-01NET", 1),
        ],
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: Money::from_cents(20_000),
            reference: None,
            payment: None,
        }],
        ..Default::default()
    }
}

fn record_ticket(dir: &Path, sizes: &Sizes) -> Vec<(String, String)> {
    let (mut till, clock) = new_till(dir, "tickets.db");
    till.import_catalog(&demo_catalog().expect("catalog"), "demo")
        .expect("import");
    let sale = five_line_sale();
    // The baseline: one row inserted and committed with the same pragmas, on the same disk.
    let conn = db::open(&dir.join("bare.db")).expect("bare");
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .expect("table");
    let body = vec![b'x'; 2500];
    // Tickets and bare commits alternate, so both meet the same disk and machine conditions.
    let mut tickets = histogram();
    let mut bare = histogram();
    for _ in 0..sizes.tickets {
        clock.advance(chrono::Duration::seconds(5));
        let start = Instant::now();
        till.sell(&sale).expect("sell");
        tickets.record(micros(start.elapsed())).expect("record");
        let start = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        conn.execute("INSERT INTO t (body) VALUES (?1)", [&body])
            .expect("insert");
        conn.execute_batch("COMMIT").expect("commit");
        bare.record(micros(start.elapsed())).expect("record");
    }
    let (p50, p99) = (
        tickets.value_at_quantile(0.5),
        tickets.value_at_quantile(0.99),
    );
    let (b50, b99) = (bare.value_at_quantile(0.5), bare.value_at_quantile(0.99));
    vec![
        (
            "record a 5-line ticket (sign, chain, fsync), p50".into(),
            ms(p50),
        ),
        (
            "record a 5-line ticket, p99 (target < 10 ms)".into(),
            ms(p99),
        ),
        (
            "bare SQLite insert+commit of one row, same pragmas, p50".into(),
            ms(b50),
        ),
        ("bare SQLite insert+commit, p99".into(), ms(b99)),
        (
            "ratio ticket / bare, p50".into(),
            format!("{:.2}x", p50 as f64 / b50 as f64),
        ),
        (
            "ratio ticket / bare, p99 (target <= 2x)".into(),
            format!("{:.2}x", p99 as f64 / b99 as f64),
        ),
    ]
}

fn catalog(dir: &Path, sizes: &Sizes) -> Vec<(String, String)> {
    let (mut till, _) = new_till(dir, "catalog.db");
    let start = Instant::now();
    let products: Vec<_> = large_catalog(sizes.catalog, 1).collect();
    for chunk in products.chunks(100_000) {
        till.import_catalog(chunk, "bench").expect("import");
    }
    let import = start.elapsed();
    let mut lookups = histogram();
    let mut state: u64 = 12345;
    for _ in 0..sizes.lookups {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let product = &products[(state >> 33) as usize % products.len()];
        let code = product.barcodes[0].to_string();
        let start = Instant::now();
        let found = till.product_by_barcode(&code).expect("lookup");
        lookups.record(micros(start.elapsed())).expect("record");
        assert_eq!(found.map(|p| p.id), Some(product.id.clone()));
    }
    let queries = [
        "coq",
        "câb",
        "ecou",
        "étui mag",
        "chargeur rap",
        "samsung bl",
        "protection d",
        "batt",
        "ENCEINTE ETANCHE",
        "montre s",
        "adaptateur fin nokia",
        "cle",
    ];
    let mut searches = histogram();
    for i in 0..sizes.searches {
        let query = queries[i as usize % queries.len()];
        let start = Instant::now();
        let found = till.search_products(query, 20).expect("search");
        searches.record(micros(start.elapsed())).expect("record");
        assert!(!found.is_empty(), "`{query}` finds products");
    }
    vec![
        (
            format!("import {} products (with search index)", sizes.catalog),
            format!("{:.1} s", import.as_secs_f64()),
        ),
        (
            format!("barcode lookup in {} products, p50", sizes.catalog),
            ms(lookups.value_at_quantile(0.5)),
        ),
        (
            "barcode lookup, p99 (target < 1 ms)".to_string(),
            ms(lookups.value_at_quantile(0.99)),
        ),
        (
            "accent/case-insensitive prefix search, 20 results, p50".to_string(),
            ms(searches.value_at_quantile(0.5)),
        ),
        (
            "prefix search, p99 (target < 20 ms)".to_string(),
            ms(searches.value_at_quantile(0.99)),
        ),
    ]
}

/// `count` synthetic customers: names from common French first and last names, a distinct
/// mobile number each, an e-mail address for two in three.
fn synthetic_customers(count: u64) -> Vec<Customer> {
    const FIRST: [&str; 12] = [
        "Zoé",
        "Léa",
        "Chloé",
        "Inès",
        "Manon",
        "Camille",
        "Hugo",
        "Théo",
        "Lucas",
        "Jérôme",
        "Noël",
        "François",
    ];
    const LAST: [&str; 16] = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia",
    ];
    let at: chrono::DateTime<chrono::Utc> = "2026-11-01T08:00:00Z".parse().expect("time");
    (0..count)
        .map(|i| {
            let first = FIRST[(i % 12) as usize];
            let last = LAST[((i / 12) % 16) as usize];
            let mut random = [0u8; 16];
            random[..8].copy_from_slice(&i.to_le_bytes());
            Customer {
                id: pos_domain::customer::new_id(random),
                name: format!("{first} {last} {i}"),
                phone: Some(format!("+33612{:06}", i % 1_000_000)),
                email: (i % 3 != 0).then(|| {
                    format!(
                        "{}.{}{i}@example.fr",
                        pos_domain::customer::fold(first),
                        pos_domain::customer::fold(last)
                    )
                }),
                created_at: at,
                updated_at: at,
            }
        })
        .collect()
}

fn customers(dir: &Path, sizes: &Sizes) -> Vec<(String, String)> {
    let (mut till, _) = new_till(dir, "customers.db");
    let all = synthetic_customers(sizes.customers);
    let start = Instant::now();
    for chunk in all.chunks(10_000) {
        till.receive_customers(chunk).expect("load");
    }
    let load = start.elapsed();
    // What a cashier types, letter by letter, including the shortest prefixes.
    let queries = [
        "m",
        "ma",
        "mar",
        "zoé lef",
        "LEFEV",
        "jerome ri",
        "francois.gar",
        "06",
        "06 12 0",
        "0612 00 4",
        "+33 6 12",
        "+33612000",
    ];
    let mut searches = histogram();
    let mut per_query: Vec<Histogram<u64>> = queries.iter().map(|_| histogram()).collect();
    for i in 0..sizes.searches {
        let q = i as usize % queries.len();
        let query = queries[q];
        let start = Instant::now();
        let found = till.search_customers(query, 20).expect("search");
        let took = micros(start.elapsed());
        searches.record(took).expect("record");
        per_query[q].record(took).expect("record");
        assert!(!found.is_empty(), "`{query}` finds customers");
    }
    let (slowest, slowest_p99) = queries
        .iter()
        .zip(&per_query)
        .map(|(q, h)| (q, h.value_at_quantile(0.99)))
        .max_by_key(|(_, p99)| *p99)
        .expect("queries");
    let created_start = Instant::now();
    let input = pos_domain::customer::ContactInput {
        name: "Amélie Poulain".into(),
        phone: Some("06 12 34 56 78".into()),
        email: None,
    };
    till.create_customer(&input, [0xfe; 16]).expect("create");
    let create = created_start.elapsed();
    vec![
        (
            format!("load {} customers (with search index)", sizes.customers),
            format!("{:.1} s", load.as_secs_f64()),
        ),
        (
            format!(
                "customer search as typed (name, e-mail, phone) in {}, 20 results, p50",
                sizes.customers
            ),
            ms(searches.value_at_quantile(0.5)),
        ),
        (
            "customer search, p99 (target < 20 ms)".to_string(),
            ms(searches.value_at_quantile(0.99)),
        ),
        (
            format!("customer search, slowest query (`{slowest}`), p99"),
            ms(slowest_p99),
        ),
        (
            "create a customer (checked, committed)".to_string(),
            ms(micros(create)),
        ),
    ]
}

fn closure(dir: &Path, sizes: &Sizes) -> Vec<(String, String)> {
    let (mut till, clock) = new_till(dir, "closure.db");
    till.import_catalog(&demo_catalog().expect("catalog"), "demo")
        .expect("import");
    let sale = five_line_sale();
    for _ in 0..sizes.closure_tickets {
        clock.advance(chrono::Duration::seconds(5));
        till.sell(&sale).expect("sell");
    }
    let start = Instant::now();
    let z = till.close("manager", ClosureLevel::Day).expect("close");
    let took = start.elapsed();
    assert_eq!(z.closure.totals.tickets, sizes.closure_tickets);
    vec![(
        format!(
            "day closure over {} tickets (target < 1 s)",
            sizes.closure_tickets
        ),
        ms(micros(took)),
    )]
}

fn verification(dir: &Path, sizes: &Sizes) -> Vec<(String, String)> {
    let (till, clock) = new_till(dir, "verify.db");
    let till_id = till.identity().till_id.clone();
    let key = SoftwareKey::from_secret_bytes(&[9u8; 32]).expect("key");
    let public = till.public_key();
    drop(till);
    let mut conn = db::open(&dir.join("verify.db")).expect("open");
    let payload = serde_json::to_value(Event {
        kind: EventKind::Login,
        detail: serde_json::json!({"staff": "alice", "note": "x".repeat(600)}),
    })
    .expect("payload");
    let start = Instant::now();
    let mut written = 0;
    while written < sizes.verify_records {
        let tx = conn.transaction().expect("tx");
        for _ in 0..1000.min(sizes.verify_records - written) {
            let author = Author {
                till_id: &till_id,
                timezone: "Europe/Paris",
                software: "bench",
                operator: "alice",
                at: pos_domain::clock::Clock::now(clock.as_ref()),
                signer: &key,
            };
            ledger::append(&tx, &author, Chain::Event, payload.clone(), None).expect("append");
            written += 1;
        }
        tx.commit().expect("commit");
    }
    let write = start.elapsed();
    let total = sizes.verify_records + 1;
    let start = Instant::now();
    let report = ledger::verify(&conn, public, &till_id, Depth::Full).expect("verify");
    let full = start.elapsed();
    assert!(report.intact());
    let start = Instant::now();
    ledger::verify(&conn, public, &till_id, Depth::Links).expect("verify");
    let links = start.elapsed();
    vec![
        (
            format!("sign and append {total} records (1000 per transaction)"),
            format!("{:.0} records/s", total as f64 / write.as_secs_f64()),
        ),
        (
            format!("full verification of {total} records (every signature)"),
            format!(
                "{:.0} records/s ({:.1} s)",
                total as f64 / full.as_secs_f64(),
                full.as_secs_f64()
            ),
        ),
        (
            format!("link verification of {total} records (newest signature)"),
            format!(
                "{:.0} records/s ({:.2} s)",
                total as f64 / links.as_secs_f64(),
                links.as_secs_f64()
            ),
        ),
    ]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            tickets: 50,
            catalog: 20_000,
            lookups: 1000,
            searches: 100,
            customers: 5_000,
            closure_tickets: 200,
            verify_records: 2_000,
        }
    } else {
        Sizes {
            tickets: 1000,
            catalog: 1_000_000,
            lookups: 20_000,
            searches: 2_000,
            customers: 100_000,
            closure_tickets: 5_000,
            verify_records: 100_000,
        }
    };
    // `--only tickets|closure|verify|catalog|customers` runs one section.
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let dir = bench_dir();
    let mut rows = Vec::new();
    if wanted("tickets") {
        rows.extend(record_ticket(&dir, &sizes));
    }
    if wanted("closure") {
        rows.extend(closure(&dir, &sizes));
    }
    if wanted("verify") {
        rows.extend(verification(&dir, &sizes));
    }
    if wanted("catalog") {
        rows.extend(catalog(&dir, &sizes));
    }
    if wanted("customers") {
        rows.extend(customers(&dir, &sizes));
    }
    println!("| measure | result |\n|---|---|");
    for (name, value) in rows {
        println!("| {name} | {value} |");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
