//! Head office's stock from three shops' tills, on every storage backend: deliveries with
//! differences, a transfer with a loss in transit, a count during which sales continue, sales,
//! a return and an exchange, each till syncing through its own client. At the end every
//! shop's on hand equals the sum of its movements and this test's own count, nothing is in
//! transit, and the delivery's differences went out to logistics through the outbox. The web
//! shop reads what a shop may promise, a click & collect order reserves it or is refused with
//! 409, and a cancellation releases it. A handset received, sold, returned and sold again
//! raises nothing; sold once more in another shop, exactly one alarm. A service (stock not
//! kept) sold, ordered and offered for receipt moves no stock.

mod support;

use chrono::Duration;
use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::stock::CountScope;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::ReturnLine;
use pos_hq_store::Shop;
use pos_till::Till;
use pos_till::requests::{ExchangeRequest, ReturnRequest, SaleLineRequest, SaleRequest};
use pos_till::stock::{
    CountLineRequest, ReceiveLineRequest, ReceiveRequest, SendLineRequest, TransferArrivalRequest,
    TransferRequest,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::secrets;

on_every_backend!(
    three_shops_stock_equals_their_movements_and_our_count,
    the_web_shop_promises_what_the_shop_has,
    an_imei_sold_in_two_shops_raises_one_alarm,
    a_service_keeps_no_stock
);

const SHOP_C: &str = "MARSEILLE-PRADO";
const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";

fn cash(amount: &str) -> Vec<Tender> {
    vec![Tender {
        kind: TenderKind::Cash,
        amount: amount.parse::<Money>().unwrap(),
        reference: None,
        payment: None,
    }]
}

fn sell(till: &mut Till, product: &str, quantity: i64) -> u64 {
    till.sell(&SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some(product.into()),
            quantity: Some(quantity),
            ..Default::default()
        }],
        tenders: cash("500.00"),
        ..Default::default()
    })
    .unwrap()
    .number
}

fn received(product: &str, expected: u32, received: u32, damaged: u32) -> ReceiveLineRequest {
    ReceiveLineRequest {
        product_id: product.into(),
        expected,
        received,
        damaged,
        serials: Vec::new(),
    }
}

fn sync(till: &mut Till) {
    till.sync(|_, _, _| {}).expect("head office answers");
}

/// A till of `shop` enrolled with head office, with the demo catalog.
async fn shop_till(server: &Server, shop: &str, id: &str, secret: u8) -> TestTill {
    let t = enrolled_till(server, shop, id, secret).await;
    on_till(t, |till| {
        till.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
    })
    .await
    .0
}

async fn on_hand(server: &Server, shop: &str, product: &str) -> (i64, i64) {
    let levels = server
        .store
        .stock_levels(&[shop.to_string()], &[product.to_string()])
        .await
        .unwrap();
    let level = levels.first().expect("the line exists");
    let moves = server
        .store
        .stock_movements(shop, Some(product), 0, 10_000)
        .await
        .unwrap();
    let sum: i64 = moves.iter().map(|m| m.on_hand).sum();
    assert_eq!(
        level.on_hand, sum,
        "{shop}/{product}: on hand is the sum of its movements (conservation)"
    );
    let transit: i64 = moves.iter().map(|m| m.in_transit).sum();
    assert_eq!(
        level.in_transit, transit,
        "{shop}/{product}: in transit too"
    );
    (level.on_hand, level.in_transit)
}

async fn three_shops_stock_equals_their_movements_and_our_count(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    server
        .store
        .create_shop(&Shop {
            id: SHOP_C.into(),
            entity_id: ENTITY.into(),
            name: SHOP_C.into(),
            territory: "metropole".into(),
            timezone: "Europe/Paris".into(),
            address: "2 avenue du Prado".into(),
            region_id: None,
        })
        .await
        .unwrap();
    let a = shop_till(&server, SHOP_A, "OPERA-1", 51).await;
    let b = shop_till(&server, SHOP_B, "BELLECOUR-1", 52).await;
    let c = shop_till(&server, SHOP_C, "PRADO-1", 53).await;

    // A: a delivery against its notice, one case missing and one damaged, a cable extra; 3
    // cases sent to B; 2 sold, 1 returned, the other exchanged for a cable.
    let (a, transfer) = on_till(a, |t| {
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: Some("ASN-1001".into()),
                lines: vec![received(CASE, 10, 9, 1), received(CABLE, 5, 6, 0)],
            },
        )
        .unwrap();
        let sent = t
            .send_transfer(
                "bruno",
                &TransferRequest {
                    to_shop: SHOP_B.into(),
                    lines: vec![SendLineRequest {
                        product_id: CASE.into(),
                        quantity: 3,
                        serials: Vec::new(),
                    }],
                },
            )
            .unwrap();
        let sale = sell(t, CASE, 2);
        let back = ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        };
        t.return_items(&ReturnRequest {
            operator: Some("alice".into()),
            original: sale,
            lines: vec![back.clone()],
            ..Default::default()
        })
        .unwrap();
        t.exchange(&ExchangeRequest {
            operator: Some("alice".into()),
            original: sale,
            returned: vec![back],
            lines: vec![SaleLineRequest {
                product_id: Some(CABLE.into()),
                quantity: Some(1),
                ..Default::default()
            }],
            tenders: None,
            ..Default::default()
        })
        .unwrap();
        sync(t);
        sent.operation.id().to_string()
    })
    .await;
    assert_eq!(
        on_hand(&server, SHOP_B, CASE).await,
        (0, 3),
        "3 cases in transit to B"
    );

    // B: a delivery without notice; A's transfer arrives one case short; one sold.
    let (b, _) = on_till(b, move |t| {
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![received(CASE, 0, 20, 0)],
            },
        )
        .unwrap();
        t.receive_transfer(
            "bruno",
            &TransferArrivalRequest {
                transfer_id: transfer,
                from_shop: SHOP_A.into(),
                lines: vec![received(CASE, 3, 2, 0)],
            },
        )
        .unwrap();
        sell(t, CASE, 1);
        sync(t);
    })
    .await;

    // C: 5 received, 1 sold; a count starts, a case is sold while counting (and synced before
    // the count ends), 3 are found on the shelf as it stood at the start.
    let clock = c.clock.clone();
    let (c, _) = on_till(c, move |t| {
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![received(CASE, 0, 5, 0)],
            },
        )
        .unwrap();
        clock.advance(Duration::minutes(30));
        sell(t, CASE, 1);
        clock.advance(Duration::minutes(30));
        let count = t
            .start_count("bruno", CountScope::Shelf("A3".into()), true)
            .unwrap();
        clock.advance(Duration::minutes(10));
        sell(t, CASE, 1);
        sync(t);
        clock.advance(Duration::minutes(20));
        t.finish_count(
            "bruno",
            count.operation.id(),
            &[CountLineRequest {
                product_id: CASE.into(),
                counted: 3,
            }],
        )
        .unwrap();
        sync(t);
    })
    .await;

    // Our own count of each shop's shelves.
    assert_eq!(
        on_hand(&server, SHOP_A, CASE).await,
        (8 - 3 - 2 + 1 + 1, 0),
        "A: 8 received in good condition, 3 sent, 2 sold, 1 returned, 1 exchanged back"
    );
    assert_eq!(
        on_hand(&server, SHOP_A, CABLE).await,
        (6 - 1, 0),
        "A: 6 cables, 1 exchanged out"
    );
    assert_eq!(
        on_hand(&server, SHOP_B, CASE).await,
        (20 + 2 - 1, 0),
        "B: 20 received, 2 of the 3 sent arrived (the loss is not on hand), 1 sold"
    );
    assert_eq!(
        on_hand(&server, SHOP_C, CASE).await,
        (3 - 1, 0),
        "C: 3 counted at the count's start, less the case sold while counting"
    );
    let adjustments: Vec<_> = server
        .store
        .stock_movements(SHOP_C, Some(CASE), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "count_adjustment")
        .collect();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(
        adjustments[0].on_hand, -1,
        "4 expected at the start, 3 counted: 1 lost"
    );
    assert!(adjustments[0].source.starts_with("tills/PRADO-1/stock/"));

    // Each record went up once: a second sync sends nothing and moves nothing.
    let before = server
        .store
        .stock_movements(SHOP_A, None, 0, 10_000)
        .await
        .unwrap()
        .len();
    let (a, _) = on_till(a, sync).await;
    let after = server
        .store
        .stock_movements(SHOP_A, None, 0, 10_000)
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "a sync again applies nothing twice");
    assert_eq!(a.till.chain_length(Chain::Stock).unwrap(), 2);

    let events = server.feed_all().await;
    let differences: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "pos.stock.differences.reported")
        .collect();
    assert_eq!(
        differences.len(),
        2,
        "A's delivery and B's transfer arrived with differences"
    );
    assert_eq!(differences[0]["data"]["asn"], "ASN-1001");
    assert_eq!(differences[0]["data"]["lines"][0]["missing"], 1);
    assert_eq!(differences[0]["data"]["lines"][0]["damaged"], 1);
    drop((b, c));
    server.stop().await;
}

async fn available(server: &Server, key: &str, shop: &str, product: &str) -> (StatusCode, Value) {
    server
        .get(
            &format!("/api/v1/stock/available?products={product}&shops={shop}"),
            Some(key),
        )
        .await
}

async fn promised(server: &Server, key: &str, shop: &str, product: &str) -> i64 {
    let (status, body) = available(server, key, shop, product).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body[0]["available"].as_i64().unwrap_or(0)
}

async fn order(server: &Server, key: &str, idem: &str, quantity: u32) -> (StatusCode, Value) {
    let response = server
        .http
        .post(format!("{}/api/v1/web-orders", server.url))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(&json!({
            "shop": SHOP_A,
            "lines": [{"product_id": CASE, "label": "Coque", "quantity": quantity, "unit_price": "29.99"}],
            "payment": "paid_online",
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn the_web_shop_promises_what_the_shop_has(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop(
            "boutique-en-ligne",
            "Boutique en ligne",
            &secrets::token_hash(&key),
        )
        .await
        .unwrap();
    let a = shop_till(&server, SHOP_A, "OPERA-1", 61).await;
    let (a, _) = on_till(a, |t| {
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![received(CASE, 0, 3, 0)],
            },
        )
        .unwrap();
        sync(t);
    })
    .await;
    assert_eq!(
        promised(&server, &key, SHOP_A, CASE).await,
        3,
        "3 received, 3 to promise"
    );
    let (status, body) = available(&server, &key, SHOP_A, "").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a product is needed: {body}"
    );

    let (status, refused) = order(&server, &key, "o1", 4).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "more than available is refused: {refused}"
    );
    assert_eq!(refused["code"], "stock_unavailable");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("4 wanted, 3 available"),
        "the message says what is missing: {refused}"
    );
    let (status, placed) = order(&server, &key, "o2", 2).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(
        promised(&server, &key, SHOP_A, CASE).await,
        1,
        "2 reserved for the order"
    );

    // A sale at the till, synced: what may be promised drops as the upload commits.
    let (a, _) = on_till(a, |t| {
        sell(t, CASE, 1);
        sync(t);
    })
    .await;
    assert_eq!(
        promised(&server, &key, SHOP_A, CASE).await,
        0,
        "the synced sale took the last one"
    );
    let (status, _) = order(&server, &key, "o3", 1).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing left to promise");

    let id = placed["id"].as_str().unwrap();
    let response = server
        .http
        .post(format!("{}/api/v1/web-orders/{id}/cancel", server.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        promised(&server, &key, SHOP_A, CASE).await,
        2,
        "the cancellation released the reservation"
    );
    let levels = server
        .store
        .stock_levels(&[SHOP_A.to_string()], &[CASE.to_string()])
        .await
        .unwrap();
    assert_eq!((levels[0].on_hand, levels[0].reserved), (2, 0));

    // An order paid online, handed over at the till: its reservation is consumed and, no
    // ticket selling it, the goods leave the shelves.
    let (status, placed) = order(&server, &key, "o4", 1).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(promised(&server, &key, SHOP_A, CASE).await, 1);
    let (id, code) = (
        placed["id"].as_str().unwrap().to_string(),
        placed["pickup_code"].as_str().unwrap().to_string(),
    );
    on_till(a, move |t| {
        sync(t);
        t.hand_over(&pos_till::web_orders::HandoverRequest {
            operator: Some("alice".into()),
            order: id,
            pickup_code: code,
            lines: None,
            tenders: Vec::new(),
        })
        .unwrap();
        sync(t);
    })
    .await;
    let levels = server
        .store
        .stock_levels(&[SHOP_A.to_string()], &[CASE.to_string()])
        .await
        .unwrap();
    assert_eq!(
        (levels[0].on_hand, levels[0].reserved),
        (1, 0),
        "the handover consumed the reservation and took the case off the shelf"
    );
    server.stop().await;
}

fn imei(n: u32) -> String {
    let payload = format!("35209900{n:06}");
    let digits: Vec<u32> = payload.chars().map(|c| c.to_digit(10).unwrap()).collect();
    format!("{payload}{}", pos_domain::codes::Imei::luhn_digit(&digits))
}

const PHONE: &str = "PHN-IP16-128";

fn sell_handset(till: &mut Till, serial: &str) -> u64 {
    till.sell(&SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some(PHONE.into()),
            quantity: Some(1),
            serials: vec![serial.to_string()],
            ..Default::default()
        }],
        tenders: cash("1000.00"),
        ..Default::default()
    })
    .unwrap()
    .number
}

async fn imei_alarms(server: &Server) -> Vec<pos_hq_store::Alarm> {
    server
        .store
        .alarms(
            &pos_hq_store::ShopSelection::all(),
            &pos_hq_store::Page::new(None, Some(1000)),
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "imei_sold_twice")
        .collect()
}

async fn an_imei_sold_in_two_shops_raises_one_alarm(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let handset = imei(42);
    let a = shop_till(&server, SHOP_A, "OPERA-1", 71).await;
    let b = shop_till(&server, SHOP_B, "BELLECOUR-1", 72).await;
    let serial = handset.clone();
    let clock = a.clock.clone();
    let (_a, _) = on_till(a, move |t| {
        let mut line = received(PHONE, 1, 1, 0);
        line.serials = vec![serial.clone()];
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: Some("ASN-7".into()),
                lines: vec![line],
            },
        )
        .unwrap();
        clock.advance(Duration::minutes(5));
        let sale = sell_handset(t, &serial);
        t.return_items(&ReturnRequest {
            operator: Some("alice".into()),
            original: sale,
            lines: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![serial.parse().unwrap()],
            }],
            ..Default::default()
        })
        .unwrap();
        sell_handset(t, &serial);
        sync(t);
    })
    .await;
    assert!(
        imei_alarms(&server).await.is_empty(),
        "received, sold, returned (back in stock) and sold again: no alarm"
    );
    let serial = handset.clone();
    let (b, _) = on_till(b, move |t| {
        sell_handset(t, &serial);
        sync(t);
    })
    .await;
    let alarms = imei_alarms(&server).await;
    assert_eq!(
        alarms.len(),
        1,
        "the handset sold in a second shop raises exactly one alarm"
    );
    assert_eq!(alarms[0].till_id, "BELLECOUR-1");
    assert!(alarms[0].reason.contains(&handset), "{}", alarms[0].reason);
    let (_b, _) = on_till(b, sync).await;
    assert_eq!(
        imei_alarms(&server).await.len(),
        1,
        "a sync again raises nothing more"
    );
    server.stop().await;
}

/// A repair service: sold at the till and on the web, never on a shelf.
fn service() -> pos_domain::product::Product {
    let mut product = pos_till::demo::demo_catalog().unwrap().remove(0);
    product.id = "SVC-REPAIR".into();
    product.label = "Screen repair".into();
    product.barcodes.clear();
    product.serial = pos_domain::product::SerialCapture::None;
    product.price = "89.00".parse().unwrap();
    product.stock = pos_domain::product::StockKeeping::NotKept;
    product
}

async fn a_service_keeps_no_stock(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let mut catalog = pos_till::demo::demo_catalog().unwrap();
    catalog.push(service());
    server
        .store
        .put_changes(
            catalog
                .iter()
                .map(sync_server::distribution::product_change)
                .collect(),
        )
        .await
        .unwrap();
    let key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop("boutique-en-ligne", "Boutique", &secrets::token_hash(&key))
        .await
        .unwrap();
    let a = shop_till(&server, SHOP_A, "OPERA-1", 71).await;
    let (_a, refused) = on_till(a, |t| {
        t.import_catalog(&[service()], "services").unwrap();
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![received(CASE, 0, 3, 0)],
            },
        )
        .unwrap();
        let refused = t
            .receive_goods(
                "bruno",
                &ReceiveRequest {
                    asn: None,
                    lines: vec![received("SVC-REPAIR", 0, 1, 0)],
                },
            )
            .unwrap_err();
        sell(t, CASE, 1);
        sell(t, "SVC-REPAIR", 2);
        sync(t);
        refused
    })
    .await;
    assert_eq!(
        refused.code(),
        "stock_not_kept",
        "the till refuses to receive a service: {refused}"
    );
    assert_eq!(on_hand(&server, SHOP_A, CASE).await, (2, 0));
    let service_lines = server
        .store
        .stock_levels(&[SHOP_A.to_string()], &["SVC-REPAIR".to_string()])
        .await
        .unwrap();
    assert!(
        service_lines.is_empty(),
        "a service sold keeps no stock line: {service_lines:?}"
    );
    let moves = server
        .store
        .stock_movements(SHOP_A, Some("SVC-REPAIR"), 0, 100)
        .await
        .unwrap();
    assert!(moves.is_empty(), "nor any movement: {moves:?}");

    // The shop's stock is managed (it received goods), yet an order for the service is taken
    // without a reservation, whatever the quantity.
    let response = server
        .http
        .post(format!("{}/api/v1/web-orders", server.url))
        .bearer_auth(&key)
        .header("Idempotency-Key", "repair-1")
        .json(&json!({
            "shop": SHOP_A,
            "lines": [{"product_id": "SVC-REPAIR", "label": "Screen repair", "quantity": 5, "unit_price": "89.00"}],
            "payment": "pay_in_shop",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let moves = server
        .store
        .stock_movements(SHOP_A, Some("SVC-REPAIR"), 0, 100)
        .await
        .unwrap();
    assert!(moves.is_empty(), "the order reserved nothing: {moves:?}");
    server.stop().await;
}
