//! The till's download of head office's changes and click & collect at the till, with real HTTP
//! between the till engine and the server, on every backend: the catalog, the shop's prices,
//! staff and settings set with the admin binary reach the till and the sale uses the shop's
//! price; an
//! order to pay in the shop is handed over offline with a sale ticket referencing it and
//! becomes collected at the next sync; a till killed while applying a large download keeps
//! whole pages only and resumes from the last one.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::web_order::{OrderState, PickedLine};
use pos_till::Till;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::web_orders::HandoverRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::distribution;

on_every_backend!(
    a_till_receives_its_shops_catalog_prices_and_staff,
    an_order_paid_in_the_shop_is_handed_over_offline_and_collected_at_the_next_sync,
    a_till_killed_while_applying_resumes_from_its_last_page,
);

const TILL: &str = "PARIS-OPERA-4";

fn admin(server: &Server, args: &[&str]) -> Value {
    admin_with_input(server, args, "")
}

/// Runs an admin command with `input` on its standard input (where secrets such as PINs go).
fn admin_with_input(server: &Server, args: &[&str], input: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .arg("--db")
        .arg(&server.db_url)
        .arg("--json")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the sync-server binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "sync-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

async fn a_till_receives_its_shops_catalog_prices_and_staff(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let catalog = server.dir.path().join("catalog.csv");
    std::fs::write(
        &catalog,
        "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
         ACC-COQ,3760000010009,Coque,Accessoires,standard,15.00,,\n\
         ACC-CAB,,Câble USB-C,Accessoires,standard,9.90,,\n\
         LIV-5G,,Guide de la 5G,Livres,reduced,12.00,,\n",
    )
    .unwrap();
    let imported = admin(
        &server,
        &["admin", "catalog", "import", catalog.to_str().unwrap()],
    );
    assert_eq!(imported["changed"], 3);
    admin(
        &server,
        &[
            "admin",
            "price",
            "set",
            "--shop",
            SHOP_A,
            "--product",
            "ACC-COQ",
            "--price",
            "12.50",
        ],
    );
    admin(
        &server,
        &[
            "admin",
            "price",
            "set",
            "--shop",
            SHOP_B,
            "--product",
            "ACC-CAB",
            "--price",
            "1.00",
        ],
    );
    let staff = admin_with_input(
        &server,
        &[
            "admin",
            "staff",
            "add",
            "--shop",
            SHOP_A,
            "--name",
            "Alice Martin",
            "--role",
            "cashier",
        ],
        "4821\n",
    );
    assert_eq!(staff["id"], "alice-martin");
    admin(
        &server,
        &[
            "admin",
            "settings",
            "set",
            "--shop",
            SHOP_A,
            "--siret",
            "98765432100019",
            "--address",
            "2 place de l'Opéra, Paris",
        ],
    );

    let till = enrolled_till(&server, SHOP_A, TILL, 41).await;
    let mut pages = Vec::new();
    let (till, (summary, pages)) = on_till(till, move |t| {
        let summary = t
            .sync_reporting(|_, _, _| {}, |p| pages.push(p.clone()))
            .expect("sync");
        (summary, pages)
    })
    .await;
    let d = &summary.download;
    assert_eq!(
        (d.products, d.prices, d.staff, d.settings, d.web_orders),
        (3, 1, 1, 2, 0),
        "the shop's entries only: {d:?}"
    );
    assert_eq!(pages.len() as u64, d.pages);
    assert_eq!(pages.last().unwrap().applied, pages.last().unwrap().latest);
    let path = till.path.clone();
    let (till, (coque, cable)) = on_till(till, |t| {
        (
            t.product_by_barcode("3760000010009").unwrap().unwrap(),
            t.product_by_id("ACC-CAB").unwrap().unwrap(),
        )
    })
    .await;
    assert_eq!(coque.price, Money::from_cents(1250), "shop A's price");
    let (till, (siret, address, logged)) = on_till(till, |t| {
        let events = t.chain_length(Chain::Event).unwrap();
        let mut logged = Vec::new();
        t.records(Chain::Event, 1, events, |r| {
            logged.push(r.record.payload);
            Ok(())
        })
        .unwrap();
        (
            t.identity().siret.clone(),
            t.identity().shop_address.clone(),
            logged,
        )
    })
    .await;
    assert_eq!(siret, "98765432100019", "head office's settings apply");
    assert_eq!(address, "2 place de l'Opéra, Paris");
    assert!(
        logged
            .iter()
            .any(|e| e["kind"] == "settings_changed" && e["detail"]["source"] == "head office"),
        "the change is in the event journal"
    );
    assert_eq!(
        cable.price,
        Money::from_cents(990),
        "shop B's price never applies here"
    );
    let (role, hash): (String, String) = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT role, pin_hash FROM staff WHERE id = 'alice-martin' AND active = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(role, "cashier");
    assert!(
        hash.starts_with("$argon2id$"),
        "the PIN arrives as an Argon2 hash"
    );
    assert!(sync_server::secrets::verify_password("4821", &hash));

    // The sale uses the shop's price.
    let (till, ticket) = on_till(till, |t| {
        t.sell(&SaleRequest {
            lines: vec![SaleLineRequest {
                barcode: Some("3760000010009".into()),
                ..SaleLineRequest::default()
            }],
            tenders: vec![Tender {
                kind: TenderKind::Cash,
                amount: Money::from_cents(1250),
                reference: None,
                payment: None,
            }],
            ..SaleRequest::default()
        })
        .expect("the sale")
    })
    .await;
    assert_eq!(ticket.ticket.total, Money::from_cents(1250));

    // Nothing new: nothing downloaded. A price change: one entry.
    let (till, again) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    assert_eq!(again.download.pages, 0, "{:?}", again.download);
    admin(
        &server,
        &[
            "admin",
            "price",
            "set",
            "--shop",
            SHOP_A,
            "--product",
            "ACC-COQ",
            "--price",
            "11.00",
        ],
    );
    let (till, third) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    assert_eq!((third.download.pages, third.download.prices), (1, 1));
    let (till, coque) = on_till(till, |t| t.product_by_id("ACC-COQ").unwrap().unwrap()).await;
    assert_eq!(
        coque.price,
        Money::from_cents(1100),
        "a price change reaches the till at the next sync"
    );
    // Removals: a staff member is deactivated, a product leaves the catalog.
    admin(
        &server,
        &[
            "admin",
            "staff",
            "remove",
            "--shop",
            SHOP_A,
            "--id",
            "alice-martin",
        ],
    );
    admin(
        &server,
        &["admin", "catalog", "remove", "--product", "LIV-5G"],
    );
    let (till, fourth) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    assert_eq!(
        (fourth.download.staff, fourth.download.products_removed),
        (1, 1)
    );
    let active: bool = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT active FROM staff WHERE id = 'alice-martin'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!active, "a removed staff member can no longer log in");
    let (_till, gone) = on_till(till, |t| t.product_by_id("LIV-5G").unwrap()).await;
    assert!(gone.is_none(), "a removed product is gone from the till");
    server.stop().await;
}

async fn an_order_paid_in_the_shop_is_handed_over_offline_and_collected_at_the_next_sync(
    backend: Backend,
) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let catalog = server.dir.path().join("catalog.json");
    let products = json!([
        {"id": "ACC-COQ", "label": "Coque", "category": "Accessoires", "vat_code": "standard", "price": "15.00"},
        {"id": "ACC-CAB", "label": "Câble", "category": "Accessoires", "vat_code": "standard", "price": "9.90"}
    ]);
    std::fs::write(&catalog, products.to_string()).unwrap();
    admin(
        &server,
        &["admin", "catalog", "import", catalog.to_str().unwrap()],
    );
    let order = admin(
        &server,
        &[
            "admin",
            "web-order",
            "create",
            "--shop",
            SHOP_A,
            "--payment",
            "pay-in-shop",
            "--line",
            "ACC-COQ|Coque|2|14.00",
            "--line",
            "ACC-CAB|Câble|1|9.90",
        ],
    );
    let id = order["id"].as_str().unwrap().to_string();
    let code = order["pickup_code"].as_str().unwrap().to_string();

    let till = enrolled_till(&server, SHOP_A, TILL, 42).await;
    let (till, summary) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    assert_eq!(summary.download.web_orders, 1);
    let (till, placed) = on_till(till, |t| t.web_orders(Some(OrderState::Placed)).unwrap()).await;
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].id, id);

    // Offline from here: ready, a wrong code refused, then a partial pickup paid at the till.
    let handover = {
        let (id, code) = (id.clone(), code.clone());
        move |t: &mut Till| {
            t.mark_prepared("alice", &id).unwrap();
            t.mark_ready("alice", &id).unwrap();
            let mut request = HandoverRequest {
                operator: Some("alice".into()),
                order: id.clone(),
                pickup_code: "WRONG123".into(),
                lines: Some(vec![PickedLine {
                    line: 1,
                    quantity: 2,
                }]),
                tenders: vec![Tender {
                    kind: TenderKind::Card,
                    amount: Money::from_cents(2800),
                    reference: Some("A1".into()),
                    payment: None,
                }],
            };
            let wrong = t
                .hand_over(&request)
                .expect_err("a wrong pickup code is refused");
            assert_eq!(wrong.code(), "pickup_code_wrong");
            request.pickup_code = format!(" {} ", code.to_lowercase());
            t.hand_over(&request).expect("the handover, offline")
        }
    };
    let (till, done) = on_till(till, handover).await;
    assert_eq!(done.order.state, OrderState::PartiallyCollected);
    let ticket = done
        .ticket
        .expect("payment due in the shop is a sale ticket");
    assert_eq!(
        ticket.ticket.total,
        Money::from_cents(2800),
        "2 x 14.00, the order's price"
    );
    assert_eq!(ticket.ticket.web_order.as_deref(), Some(id.as_str()));
    assert_eq!(
        order_state(&server, &id).await,
        "placed",
        "head office does not know yet"
    );

    let (till, summary) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    let web = summary
        .chains
        .iter()
        .find(|c| c.chain == Chain::WebOrder)
        .unwrap();
    assert_eq!(
        (web.held, web.status.as_str()),
        (3, "ok"),
        "prepared, ready, handed over"
    );
    assert_eq!(order_state(&server, &id).await, "partially_collected");
    let events = server.feed_all().await;
    let ticket_event = events
        .iter()
        .find(|e| e["type"] == "pos.record.ticket.accepted")
        .expect("the payment ticket reached head office");
    assert_eq!(ticket_event["data"]["payload"]["web_order"], id.as_str());
    let (_till, shown) = on_till(till, {
        let id = id.clone();
        move |t| t.web_order(&id).unwrap()
    })
    .await;
    assert_eq!(shown.state, OrderState::PartiallyCollected);
    server.stop().await;
}

async fn order_state(server: &Server, id: &str) -> String {
    let (status, order) = server
        .get(
            &format!("/api/v1/web-orders/{id}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    order["state"].as_str().unwrap().to_string()
}

/// Set by the parent test: the ledger a child process syncs until it is killed.
const CHILD_LEDGER: &str = "TILL_DOWNLOAD_CHILD_LEDGER";

/// Not a test of its own: the body of the child process that the kill test starts (it returns
/// at once when run normally).
#[test]
fn child_syncs_until_killed() {
    let Ok(path) = std::env::var(CHILD_LEDGER) else {
        return;
    };
    let clock = std::sync::Arc::new(pos_domain::clock::ManualClock::new(start_time()));
    let mut till = Till::open(path.as_ref(), clock).expect("the child opens the ledger");
    till.sync(|_, _, _| {}).expect("the child's sync");
}

fn applied(path: &std::path::Path) -> (u64, u64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let version: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM sync_changes",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let products: i64 = conn
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .unwrap();
    (version as u64, products as u64)
}

async fn a_till_killed_while_applying_resumes_from_its_last_page(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    const PRODUCTS: u64 = 60_000;
    let changes = pos_till::demo::large_catalog(PRODUCTS, 7)
        .map(|p| distribution::product_change(&p))
        .collect();
    server.store.put_changes(changes).await.unwrap();
    let first_version = 1; // the first versions of a fresh server
    let till = enrolled_till(&server, SHOP_A, TILL, 43).await;
    let TestTill {
        dir: _dir,
        path,
        clock,
        till,
    } = till;
    drop(till);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_syncs_until_killed", "--nocapture"])
        .env(CHILD_LEDGER, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let killed_at = loop {
        let (version, _) = applied(&path);
        if version > 0 || started.elapsed() > Duration::from_secs(120) {
            break version;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(killed_at > 0, "the child applied nothing in two minutes");
    let (version, products) = applied(&path);
    assert!(version >= killed_at);
    assert!(
        version < PRODUCTS,
        "the kill landed before the end of the download ({version} of {PRODUCTS})"
    );
    assert_eq!(
        products,
        version - first_version + 1,
        "whole pages only: every product up to the applied version, none after"
    );

    // Restarted at once (the killed process holds no lease), the till resumes after that page.
    let mut till = Till::open(&path, clock).unwrap();
    let summary = tokio::task::spawn_blocking(move || till.sync(|_, _, _| {}).unwrap())
        .await
        .unwrap();
    assert_eq!(
        summary.download.version_before, version,
        "resumed from the last page"
    );
    assert_eq!(summary.download.products, PRODUCTS - products);
    assert_eq!(applied(&path), (PRODUCTS, PRODUCTS), "everything, once");
    // The search index, left to a rebuild by the large pages, covers every product again.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO product_search (product_search) VALUES ('integrity-check')",
        [],
    )
    .expect("the search index matches the catalog");
    let (stale, indexed): (bool, i64) = conn
        .query_row(
            "SELECT (SELECT search_stale FROM sync_changes),
                    (SELECT count(*) FROM product_search WHERE product_search MATCH 'label:a* OR label:e* OR label:i* OR label:o* OR label:c* OR label:p*')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(!stale, "the rebuild cleared the flag");
    assert!(indexed > 0, "products are found by name");
    server.stop().await;
}
