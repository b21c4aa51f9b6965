//! Stock at the till against a real head office, on every storage backend:
//!
//! - a shipping notice posted to head office's logistics API reaches its shop's till by sync
//!   (and a withdrawn one leaves it), is received there once with its expected quantities,
//!   and head office's stock shows the line short by what was missing;
//! - offline: with head office (the real `sync-server serve` process) down, a till receives a
//!   delivery against its notice and others without one, sells, and runs a count; head office
//!   comes back; the real `till sync` process is killed (SIGKILL) once mid-upload, after head
//!   office acknowledged its first batches; after a full sync head office's stock is right and
//!   no movement was applied twice.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::stock::{CountScope, StockOperation};
use pos_domain::tender::{Tender, TenderKind};
use pos_till::Till;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::stock::{CountLineRequest, ReceiveLineRequest, ReceiveRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::distribution::product_change;
use sync_server::open_store;

on_every_backend!(
    a_notice_posted_to_head_office_is_received_at_its_till_once,
    offline_stock_work_synced_through_a_killed_upload_is_applied_once,
);

const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";
const GUIDE: &str = "LIV-GUIDE-5G";
const NOTICES: &str = "/api/v1/logistics/shipping-notices";

fn notice(id: &str, shop: &str, cases: u32, cables: u32) -> Value {
    json!({
        "id": id,
        "shop_id": shop,
        "lines": [
            {"product_id": CASE, "quantity": cases},
            {"product_id": CABLE, "quantity": cables},
        ],
    })
}

fn scanned(product: &str, received: u32) -> ReceiveLineRequest {
    ReceiveLineRequest {
        product_id: product.into(),
        expected: 0,
        received,
        damaged: 0,
        serials: Vec::new(),
    }
}

fn sync(till: &mut Till) {
    till.sync(|_, _, _| {}).expect("head office answers");
}

fn open_notices(till: &Till) -> Vec<String> {
    till.shipping_notices()
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect()
}

/// A shop's on hand of a product at head office, checked against the sum of its movements.
async fn on_hand(store: &dyn sync_server::store::Store, shop: &str, product: &str) -> i64 {
    let level = store
        .stock_levels(&[shop.to_string()], &[product.to_string()])
        .await
        .unwrap()
        .into_iter()
        .next()
        .map_or(0, |l| l.on_hand);
    let moves = store
        .stock_movements(shop, Some(product), 0, 10_000)
        .await
        .unwrap();
    assert_eq!(
        level,
        moves.iter().map(|m| m.on_hand).sum::<i64>(),
        "{shop}/{product}: on hand is the sum of its movements"
    );
    level
}

async fn a_notice_posted_to_head_office_is_received_at_its_till_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let products = pos_till::demo::demo_catalog().unwrap();
    server
        .store
        .put_changes(products.iter().map(product_change).collect())
        .await
        .unwrap();
    let admin = server.admin_token.clone();
    for body in [
        notice("ASN-3001", SHOP_A, 12, 6),
        notice("ASN-3002", SHOP_A, 1, 1),
        notice("ASN-3003", SHOP_B, 4, 4),
    ] {
        let (status, answer) = server.post_json(NOTICES, Some(&admin), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let a = enrolled_till(&server, SHOP_A, "OPERA-1", 81).await;
    let (a, notices) = on_till(a, |t| {
        sync(t);
        open_notices(t)
    })
    .await;
    assert_eq!(
        notices,
        vec!["ASN-3001", "ASN-3002"],
        "the shop's notices reach its till by sync, not another shop's"
    );
    let withdrawn = server
        .http
        .delete(format!("{}{NOTICES}/ASN-3002", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(withdrawn.status().is_success(), "{withdrawn:?}");
    let (a, receipt) = on_till(a, |t| {
        sync(t);
        assert_eq!(
            open_notices(t),
            vec!["ASN-3001"],
            "a notice withdrawn by logistics leaves the till"
        );
        let recorded = t
            .receive_goods(
                "bruno",
                &ReceiveRequest {
                    asn: Some("ASN-3001".into()),
                    lines: vec![scanned(CASE, 12), scanned(CABLE, 5)],
                },
            )
            .unwrap();
        sync(t);
        assert!(open_notices(t).is_empty(), "the received notice is closed");
        let twice = t
            .receive_goods(
                "bruno",
                &ReceiveRequest {
                    asn: Some("ASN-3001".into()),
                    lines: vec![scanned(CASE, 12)],
                },
            )
            .unwrap_err();
        assert_eq!(twice.code(), "shipping_notice_already_received");
        // Head office sends the notice again in a later feed entry (nothing changed): it stays
        // received.
        sync(t);
        assert!(open_notices(t).is_empty());
        recorded
    })
    .await;
    let StockOperation::GoodsReceipt(receipt) = &receipt.operation else {
        panic!("a goods receipt");
    };
    assert_eq!(
        (receipt.lines[1].expected, receipt.lines[1].missing()),
        (6, 1),
        "the till recorded the notice's 6 cables, one missing"
    );
    let (status, held) = server
        .get(&format!("{NOTICES}/ASN-3001"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(
        held["state"], "received",
        "head office knows the notice was received by the till: {held}"
    );
    let store = server.store.clone();
    assert_eq!(on_hand(store.as_ref(), SHOP_A, CASE).await, 12);
    assert_eq!(
        on_hand(store.as_ref(), SHOP_A, CABLE).await,
        5,
        "head office's stock shows the cable line short by one"
    );
    drop(a);
    server.stop().await;
}

/// A free port on 127.0.0.1, so a restarted server listens where the till enrolled.
/// The `till` binary built with this workspace (next to this test's own executable).
fn till_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let debug = deps.parent().and_then(Path::parent).unwrap();
    let binary = debug.join("till");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "pos-till", "--bin", "till"])
            .status()
            .expect("cargo builds the till binary");
        assert!(status.success(), "cargo build -p pos-till --bin till");
    }
    binary
}

fn till_sync(ledger: &Path) -> Child {
    Command::new(till_binary())
        .arg("--db")
        .arg(ledger)
        .args(["--json", "sync"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the till binary starts")
}

fn sell(till: &mut Till, product: &str, quantity: i64) {
    till.sell(&SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some(product.into()),
            quantity: Some(quantity),
            ..Default::default()
        }],
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: "500.00".parse::<Money>().unwrap(),
            reference: None,
            payment: None,
        }],
        ..Default::default()
    })
    .unwrap();
}

/// Every record of every chain of `till`.
fn record_count(till: &Till) -> u64 {
    Chain::ALL
        .iter()
        .map(|c| till.chain_length(*c).unwrap())
        .sum()
}

/// The work done while head office is down: a delivery against notice ASN-4001 (20 cases,
/// 8 of the 10 cables), ten small deliveries of guides without a notice, 3 cases sold, then a
/// count finding 16 cases (one lost).
fn work_offline(t: &mut Till) {
    t.receive_goods(
        "bruno",
        &ReceiveRequest {
            asn: Some("ASN-4001".into()),
            lines: vec![scanned(CASE, 20), scanned(CABLE, 8)],
        },
    )
    .unwrap();
    for _ in 0..10 {
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![scanned(GUIDE, 2)],
            },
        )
        .unwrap();
    }
    for _ in 0..3 {
        sell(t, CASE, 1);
    }
    let count = t.start_count("bruno", CountScope::Full, true).unwrap();
    t.finish_count(
        "bruno",
        count.operation.id(),
        &[CountLineRequest {
            product_id: CASE.into(),
            counted: 16,
        }],
    )
    .unwrap();
}

async fn offline_stock_work_synced_through_a_killed_upload_is_applied_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    // Head office: the shop, the catalog, an admin, a till to enroll.
    let store = open_store(&db).await.expect("the store opens");
    store
        .create_entity(&pos_hq_store::LegalEntity {
            id: ENTITY.into(),
            name: "Acme".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    store
        .create_shop(&pos_hq_store::Shop {
            id: SHOP_A.into(),
            entity_id: ENTITY.into(),
            name: "Paris Opera".into(),
            territory: "metropole".into(),
            timezone: "Europe/Paris".into(),
            address: "1 rue de la Paix".into(),
            region_id: None,
        })
        .await
        .unwrap();
    let products = pos_till::demo::demo_catalog().unwrap();
    store
        .put_changes(products.iter().map(product_change).collect())
        .await
        .unwrap();
    let admin = sync_server_json(
        &db,
        &[
            "admin", "user", "create", "--id", "ada", "--name", "Ada", "--role", "admin",
        ],
    )["token"]
        .as_str()
        .unwrap()
        .to_string();
    let till_id = "OPERA-OFF-1";
    let till = sync_server_json(
        &db,
        &[
            "admin", "till", "create", "--shop", SHOP_A, "--id", till_id, "--name", "Caisse 1",
        ],
    );
    let code = till["enrollment_code"].as_str().unwrap().to_string();

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let server = ServerProcess::start(&db, port);
    let (status, body) = {
        let response = reqwest::Client::new()
            .post(format!("{url}{NOTICES}"))
            .bearer_auth(&admin)
            .json(&notice("ASN-4001", SHOP_A, 20, 10))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The till enrolls and receives the notice, then head office goes down.
    let t = TestTill::new(till_id, 91, 0, 1, 1);
    let ledger = t.path.clone();
    let _till_dir = t.dir;
    let mut till = t.till;
    let enroll_url = url.clone();
    let till = blocking(move || {
        till.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
        till.enroll(&enroll_url, &code).expect("enrollment");
        sync(&mut till);
        assert_eq!(open_notices(&till), vec!["ASN-4001"]);
        till
    })
    .await;
    drop(server);
    let mut till = till;
    let offline = blocking(move || {
        work_offline(&mut till);
        // Head office is down: the sync fails and nothing is lost.
        assert!(till.sync(|_, _, _| {}).is_err(), "head office is down");
        let records = record_count(&till);
        // One record per upload request, so the upload runs in many batches.
        drop(till);
        rusqlite::Connection::open(&ledger)
            .unwrap()
            .execute("UPDATE sync_server SET max_records = 1 WHERE id = 1", [])
            .unwrap();
        (ledger, records)
    });
    let (ledger, records) = offline.await;

    // Head office comes back; the first `till sync` is killed once head office acknowledged
    // some of its batches.
    let server = ServerProcess::start(&db, port);
    let held_before = store.record_count(till_id).await.unwrap();
    let mut first = till_sync(&ledger);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = store.record_count(till_id).await.unwrap();
        if held > held_before {
            first.kill().expect("SIGKILL the till's sync");
            break;
        }
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the sync finished ({status}) before it could be killed");
        }
        assert!(Instant::now() < deadline, "the sync uploads within 60 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let killed = first.wait_with_output().unwrap();
    assert!(!killed.status.success(), "the first sync was killed");
    let held_at_kill = store.record_count(till_id).await.unwrap();
    assert!(
        held_at_kill < records,
        "the kill cut the upload short ({held_at_kill} of {records} records held)"
    );

    let full = till_sync(&ledger).wait_with_output().unwrap();
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let again = till_sync(&ledger).wait_with_output().unwrap();
    assert!(again.status.success());
    let summary: Value = serde_json::from_slice(&again.stdout).unwrap();
    let sent: u64 = summary["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sent"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(sent, 0, "nothing is sent twice: {summary}");
    drop(server);

    // Head office's stock: each movement once.
    let store = store.as_ref();
    assert_eq!(
        on_hand(store, SHOP_A, CASE).await,
        16,
        "20 received, 3 sold, the count found one fewer: 16"
    );
    assert_eq!(
        on_hand(store, SHOP_A, CABLE).await,
        8,
        "8 of the notice's 10 cables arrived"
    );
    assert_eq!(
        on_hand(store, SHOP_A, GUIDE).await,
        20,
        "ten deliveries of 2 guides, each applied once"
    );
    let moves = store
        .stock_movements(SHOP_A, None, 0, 10_000)
        .await
        .unwrap();
    let mut sources: Vec<(String, String, String)> = moves
        .iter()
        .map(|m| (m.source.clone(), m.product_id.clone(), m.kind.clone()))
        .collect();
    let all = sources.len();
    sources.sort();
    sources.dedup();
    assert_eq!(
        sources.len(),
        all,
        "no movement was applied twice (one per source record, product and kind)"
    );
    let kinds = |kind: &str, product: &str| {
        moves
            .iter()
            .filter(|m| m.kind == kind && m.product_id == product)
            .count()
    };
    assert_eq!(
        (
            kinds("goods_receipt", GUIDE),
            kinds("sale", CASE),
            kinds("count_adjustment", CASE)
        ),
        (10, 3, 1),
        "ten receipts, three sales and one count adjustment, each once"
    );
    if matches!(backend, Backend::Postgres) {
        drop_database(&db).await;
    }
}
