//! The changes feed and web orders on every backend, over real HTTP: versions and paging, a
//! till seeing only its shop's prices and orders, idempotent order placement (a resend returns
//! the same order, another body under the same key is 409), the order state machine driven by
//! tills' signed `web_order` records, and the alarms of conflicting handovers; returns of a
//! web order paid online at two tills, recorded beside the order and alarmed when together
//! they exceed what was collected.

mod support;

use pos_domain::Money;
use pos_domain::product::Product;
use pos_domain::record::Chain;
use pos_domain::web_order::PickedLine;
use pos_domain::wire::{ChangesPage, StaffMember, StaffRole, kinds};
use pos_till::web_orders::HandoverRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::distribution;
use sync_server::secrets;

on_every_backend!(
    the_feed_pages_by_version_and_shows_each_till_its_own_shop,
    web_orders_are_placed_once_per_idempotency_key,
    tills_move_orders_through_legal_states_only,
    a_handover_after_an_online_cancellation_raises_an_alarm,
    returns_of_a_web_order_are_recorded_beside_it_and_over_returns_alarmed,
);

const TILL_A: &str = "PARIS-OPERA-1";
const TILL_B: &str = "LYON-BELLECOUR-1";

fn product(id: &str, price_cents: i64) -> Product {
    serde_json::from_value(json!({
        "id": id,
        "barcodes": [],
        "label": format!("Produit {id}"),
        "category": "Accessoires",
        "vat_code": "standard",
        "price": Money::from_cents(price_cents),
    }))
    .unwrap()
}

/// Enrolls an empty till of `shop`; returns the till and its token.
async fn enrolled(server: &Server, shop: &str, till_id: &str, secret: u8) -> (TestTill, String) {
    let code = server.create_till(shop, till_id).await;
    let till = TestTill::new(till_id, secret, 0, 1, 1);
    let token = server.enroll(&code, &till).await.token;
    (till, token)
}

async fn page(server: &Server, till: &str, token: &str, since: u64, limit: u32) -> ChangesPage {
    let (status, body) = server
        .get(
            &format!("/api/v1/tills/{till}/changes?since={since}&limit={limit}"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

/// Every change after `since`, read in pages of `limit`.
async fn read_all(server: &Server, till: &str, token: &str, limit: u32) -> ChangesPage {
    let mut since = 0;
    let mut all = Vec::new();
    let mut latest = 0;
    loop {
        let p = page(server, till, token, since, limit).await;
        assert!(p.changes.len() <= limit as usize);
        if p.changes.is_empty() {
            break;
        }
        assert!(p.next > since, "next grows");
        since = p.next;
        latest = p.latest;
        all.extend(p.changes);
    }
    ChangesPage {
        changes: all,
        next: since,
        latest,
    }
}

async fn the_feed_pages_by_version_and_shows_each_till_its_own_shop(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let (_a, token_a) = enrolled(&server, SHOP_A, TILL_A, 31).await;
    let (_b, token_b) = enrolled(&server, SHOP_B, TILL_B, 32).await;
    let catalog: Vec<Product> = (1..=7)
        .map(|i| product(&format!("P{i}"), 1000 + i))
        .collect();
    let changed = server
        .store
        .put_changes(catalog.iter().map(distribution::product_change).collect())
        .await
        .unwrap();
    assert_eq!(changed, 7);
    server
        .store
        .put_changes(vec![
            distribution::price_change(SHOP_A, "P1", Some(Money::from_cents(899))),
            distribution::price_change(SHOP_B, "P1", Some(Money::from_cents(799))),
            distribution::staff_change(
                SHOP_A,
                &StaffMember {
                    id: "alice".into(),
                    name: "Alice".into(),
                    role: StaffRole::Cashier,
                    pin_hash: secrets::hash_password("1234").unwrap(),
                    active: true,
                },
            ),
        ])
        .await
        .unwrap();

    let all_a = read_all(&server, TILL_A, &token_a, 3).await;
    let versions: Vec<u64> = all_a.changes.iter().map(|c| c.version).collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "versions strictly increase across pages: {versions:?}"
    );
    assert_eq!(
        all_a.changes.len(),
        9,
        "7 products, shop A's price and staff"
    );
    assert_eq!(
        all_a.next, all_a.latest,
        "paging ends at the latest version"
    );
    let price_a = all_a
        .changes
        .iter()
        .find(|c| c.kind == kinds::PRICE)
        .unwrap();
    assert_eq!(
        price_a.data.as_ref().unwrap()["price"],
        "8.99",
        "till A gets shop A's price, never shop B's"
    );
    let all_b = read_all(&server, TILL_B, &token_b, 1000).await;
    assert!(
        all_b.changes.iter().all(|c| c.kind != kinds::STAFF),
        "shop A's staff never reach shop B"
    );
    assert_eq!(
        all_b
            .changes
            .iter()
            .filter(|c| c.kind == kinds::PRICE)
            .map(|c| c.data.as_ref().unwrap()["price"].clone())
            .collect::<Vec<_>>(),
        vec![json!("7.99")]
    );

    // Importing the same catalog again changes nothing: tills download nothing again.
    let again = server
        .store
        .put_changes(catalog.iter().map(distribution::product_change).collect())
        .await
        .unwrap();
    assert_eq!(again, 0, "unchanged entries keep their version");
    let empty = page(&server, TILL_A, &token_a, all_a.next, 100).await;
    assert!(empty.changes.is_empty());
    assert_eq!(empty.next, all_a.next, "nothing new: next stays");

    // A product's new price is one new entry, above every earlier version.
    server
        .store
        .put_changes(vec![distribution::product_change(&product("P3", 2500))])
        .await
        .unwrap();
    let news = page(&server, TILL_A, &token_a, all_a.next, 100).await;
    assert_eq!(news.changes.len(), 1);
    assert_eq!(news.changes[0].key, "P3");
    assert!(news.changes[0].version > all_a.next);
    // The snapshot from 0 holds each entry once, at its newest version.
    let snapshot = read_all(&server, TILL_A, &token_a, 1000).await;
    assert_eq!(snapshot.changes.len(), 9);
    assert_eq!(
        snapshot.changes.last().unwrap().data.as_ref().unwrap()["price"],
        "25.00"
    );

    // Another till's feed, a user, no token.
    let (status, body) = server
        .get(
            &format!("/api/v1/tills/{TILL_B}/changes?since=0"),
            Some(&token_a),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = server
        .get(
            &format!("/api/v1/tills/{TILL_A}/changes?since=0"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .get(&format!("/api/v1/tills/{TILL_A}/changes?since=0"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = server
        .get(
            &format!("/api/v1/tills/{TILL_A}/changes?since=abc"),
            Some(&token_a),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await;
}

/// A web shop and its API key.
async fn webshop(server: &Server) -> String {
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
    key
}

fn order_body(shop: &str, payment: &str) -> Value {
    json!({
        "shop": shop,
        "lines": [
            {"product_id": "P1", "label": "Coque", "quantity": 2, "unit_price": "15.00"},
            {"product_id": "P2", "label": "Câble", "quantity": 1, "unit_price": "9.90"}
        ],
        "payment": payment,
        "reference": "WEB-1001"
    })
}

async fn post_order(
    server: &Server,
    key: &str,
    idem: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = server
        .http
        .post(format!("{}/api/v1/web-orders", server.url))
        .bearer_auth(key)
        .json(body);
    if let Some(idem) = idem {
        request = request.header("Idempotency-Key", idem);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn web_orders_are_placed_once_per_idempotency_key(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = webshop(&server).await;
    let (_a, token_a) = enrolled(&server, SHOP_A, TILL_A, 33).await;
    let (_b, token_b) = enrolled(&server, SHOP_B, TILL_B, 34).await;
    let body = order_body(SHOP_A, "pay_in_shop");

    let (status, answer) = post_order(&server, &key, None, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["code"], "idempotency_key_missing");
    let (status, answer) = post_order(&server, &server.admin_token, Some("k1"), &body).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a user is not a web shop: {answer}"
    );
    let (status, _) = post_order(&server, "not-a-key", Some("k1"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, first) = post_order(&server, &key, Some("k1"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["state"], "placed");
    assert_eq!(first["total"], "39.90");
    assert_eq!(first["pickup_code"].as_str().unwrap().len(), 8);
    // A resend (the web shop's request timed out after the server committed) is the same order.
    let (status, again) = post_order(&server, &key, Some("k1"), &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first, "a resend returns the same order");
    let mut other = body.clone();
    other["lines"][0]["quantity"] = json!(3);
    let (status, conflict) = post_order(&server, &key, Some("k1"), &other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["code"], "idempotency_conflict");
    let (status, bad) = post_order(
        &server,
        &key,
        Some("k2"),
        &json!({"shop": SHOP_A, "lines": [], "payment": "paid_online"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, bad) = post_order(
        &server,
        &key,
        Some("k3"),
        &order_body("NOWHERE", "paid_online"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, listed) = server
        .get("/api/v1/hq/web-orders", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "one order, whatever was resent"
    );

    // The order reaches shop A's tills, never shop B's.
    let id = first["id"].as_str().unwrap();
    let feed_a = read_all(&server, TILL_A, &token_a, 100).await;
    assert!(
        feed_a
            .changes
            .iter()
            .any(|c| c.kind == kinds::WEB_ORDER && c.key == id),
        "shop A's till receives the order"
    );
    let feed_b = read_all(&server, TILL_B, &token_b, 100).await;
    assert!(
        feed_b.changes.iter().all(|c| c.kind != kinds::WEB_ORDER),
        "shop B's till never sees shop A's orders"
    );
    // The web shop is told through the outbox.
    let events = server.feed_all().await;
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "pos.web_order.placed" && e["data"]["id"] == id),
        "placing the order wrote its event"
    );
    let (status, fetched) = server
        .get(&format!("/api/v1/web-orders/{id}"), Some(&key))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, first);
    // Another web shop can neither read nor cancel it, nor learn that it exists.
    let other_key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop(
            "autre-boutique",
            "Autre boutique",
            &secrets::token_hash(&other_key),
        )
        .await
        .unwrap();
    let (status, answer) = server
        .get(&format!("/api/v1/web-orders/{id}"), Some(&other_key))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let refused = server
        .http
        .post(format!("{}/api/v1/web-orders/{id}/cancel", server.url))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let (_, still) = server
        .get(&format!("/api/v1/web-orders/{id}"), Some(&key))
        .await;
    assert_eq!(still["state"], "placed", "the order is untouched");
    server.stop().await;
}

/// A till of `shop` enrolled with its own client (`till enroll`), having synced once.
async fn till_client(server: &Server, shop: &str, till_id: &str, secret: u8) -> TestTill {
    let till = enrolled_till(server, shop, till_id, secret).await;
    on_till(till, |till| {
        till.sync(|_, _, _| {}).expect("a first sync");
    })
    .await
    .0
}

async fn sync(till: TestTill) -> (TestTill, pos_till::sync::SyncSummary) {
    on_till(till, |till| till.sync(|_, _, _| {}).expect("a sync")).await
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

async fn alarms_of(server: &Server, kind: &str) -> Vec<Value> {
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    alarms
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .cloned()
        .collect()
}

fn handover(id: &str, code: &str, lines: Option<Vec<PickedLine>>) -> HandoverRequest {
    HandoverRequest {
        operator: Some("alice".into()),
        order: id.into(),
        pickup_code: code.into(),
        lines,
        tenders: vec![],
    }
}

async fn tills_move_orders_through_legal_states_only(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = webshop(&server).await;
    let (_, order) = post_order(
        &server,
        &key,
        Some("o1"),
        &order_body(SHOP_A, "paid_online"),
    )
    .await;
    let id = order["id"].as_str().unwrap().to_string();
    let code = order["pickup_code"].as_str().unwrap().to_string();
    // Two tills of shop A, each synced while the order was only placed.
    let a1 = till_client(&server, SHOP_A, "PARIS-OPERA-1", 35).await;
    let a2 = till_client(&server, SHOP_A, "PARIS-OPERA-2", 36).await;
    let b = till_client(&server, SHOP_B, TILL_B, 37).await;
    let (b, orders_b) = on_till(b, |t| t.web_orders(None).unwrap()).await;
    assert!(
        orders_b.is_empty(),
        "shop B's till never receives shop A's orders"
    );
    drop(b);

    let ready_id = id.clone();
    let (a1, _) = on_till(a1, move |t| t.mark_ready("alice", &ready_id).unwrap()).await;
    let (a1, _) = sync(a1).await;
    assert_eq!(order_state(&server, &id).await, "ready");
    // Till 2 still believes the order is only placed: its "prepared" is a step back, and
    // changes nothing at head office.
    let prep_id = id.clone();
    let (a2, _) = on_till(a2, move |t| t.mark_prepared("bob", &prep_id).unwrap()).await;
    let (a2, _) = sync(a2).await;
    assert_eq!(order_state(&server, &id).await, "ready");
    // Offline, both tills hand the order over: till 1 in part, then till 2 in full. The
    // first recorded at head office wins; the second is alarmed.
    let (a1, part) = on_till(a1, {
        let h = handover(
            &id,
            &code.to_lowercase(),
            Some(vec![PickedLine {
                line: 1,
                quantity: 1,
            }]),
        );
        move |t| t.hand_over(&h)
    })
    .await;
    assert_eq!(part.unwrap().order.state.name(), "partially_collected");
    let (a2, full) = on_till(a2, {
        let h = handover(&id, &code, None);
        move |t| t.hand_over(&h)
    })
    .await;
    assert_eq!(full.unwrap().order.state.name(), "collected");
    let (_a1, _) = sync(a1).await;
    let (a2, _) = sync(a2).await;
    assert_eq!(order_state(&server, &id).await, "partially_collected");
    assert_eq!(alarms_of(&server, "web_order_conflict").await.len(), 1);
    // Cancelling online once the handover is known is refused.
    let (status, answer) = server
        .post_json(
            &format!("/api/v1/web-orders/{id}/cancel"),
            Some(&key),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "order_state");
    let types: Vec<String> = server
        .feed_all()
        .await
        .iter()
        .filter(|e| e["subject"] == format!("web-orders/{id}"))
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        vec![
            "pos.web_order.placed",
            "pos.web_order.ready",
            "pos.web_order.partially_collected"
        ],
        "one event per state reached, in order"
    );
    // Till 2 keeps showing what it did; head office holds the first handover.
    let (_a2, shown) = on_till(a2, {
        let id = id.clone();
        move |t| t.web_order(&id).unwrap()
    })
    .await;
    assert_eq!(shown.state.name(), "collected");
    server.stop().await;
}

async fn a_handover_after_an_online_cancellation_raises_an_alarm(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = webshop(&server).await;
    let (_, order) = post_order(
        &server,
        &key,
        Some("o2"),
        &order_body(SHOP_A, "paid_online"),
    )
    .await;
    let id = order["id"].as_str().unwrap().to_string();
    let code = order["pickup_code"].as_str().unwrap().to_string();
    let a = till_client(&server, SHOP_A, TILL_A, 38).await;
    // The till hands the order over while offline; meanwhile the customer cancels online.
    let (a, done) = on_till(a, {
        let h = handover(&id, &code, None);
        move |t| t.hand_over(&h)
    })
    .await;
    let done = done.expect("the handover works offline");
    assert_eq!(done.record, 1, "the first record of the web_order chain");
    let (status, cancelled) = server
        .post_json(
            &format!("/api/v1/web-orders/{id}/cancel"),
            Some(&key),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    // Back online: the handover reaches head office, which follows what happened in the shop.
    let (a, summary) = sync(a).await;
    let web = summary
        .chains
        .iter()
        .find(|c| c.chain == Chain::WebOrder)
        .unwrap();
    assert_eq!((web.held, web.status.as_str()), (1, "ok"));
    assert_eq!(
        order_state(&server, &id).await,
        "collected",
        "the handover stands"
    );
    let alarms = alarms_of(&server, "web_order_conflict").await;
    assert_eq!(
        alarms.len(),
        1,
        "the cancellation after a handover is alarmed: {alarms:?}"
    );
    assert!(
        alarms[0]["reason"]
            .as_str()
            .unwrap()
            .contains("cancelled online")
    );
    // A till that learnt of the cancellation refuses to hand over.
    let other = till_client(&server, SHOP_A, "PARIS-OPERA-3", 39).await;
    let (_other, refused) = on_till(other, {
        let h = handover(&id, &code, None);
        move |t| t.hand_over(&h)
    })
    .await;
    let error = refused.expect_err("a collected order is not handed over twice");
    assert_eq!(error.code(), "web_order_closed");
    drop(a);
    server.stop().await;
}

async fn held_order(server: &Server, id: &str) -> Value {
    let (status, order) = server
        .get(
            &format!("/api/v1/web-orders/{id}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    order
}

async fn returns_of_a_web_order_are_recorded_beside_it_and_over_returns_alarmed(backend: Backend) {
    use pos_domain::tender::{Tender, TenderKind};
    use pos_domain::ticket::ReturnLine;
    use pos_till::web_returns::WebOrderReturnRequest;
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = webshop(&server).await;
    let mut body = order_body(SHOP_A, "paid_online");
    body["lines"][0]["vat_code"] = json!("standard");
    body["lines"][1]["vat_code"] = json!("reduced");
    let (status, order) = post_order(&server, &key, Some("r1"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().unwrap().to_string();
    let code = order["pickup_code"].as_str().unwrap().to_string();
    let a1 = till_client(&server, SHOP_A, "PARIS-OPERA-1", 41).await;
    let a2 = till_client(&server, SHOP_A, "PARIS-OPERA-2", 42).await;
    // Till 1 hands over in full; till 2 learns it at its next sync.
    let (a1, handed) = on_till(a1, {
        let h = handover(&id, &code, None);
        move |t| t.hand_over(&h)
    })
    .await;
    handed.unwrap();
    let (a1, _) = sync(a1).await;
    let (a2, _) = sync(a2).await;
    let returning = |n: u32, cents: i64, kind: TenderKind| WebOrderReturnRequest {
        operator: Some("alice".into()),
        order: id.clone(),
        lines: vec![ReturnLine {
            line: 1,
            quantity: n,
            serials: vec![],
        }],
        tenders: vec![Tender {
            kind,
            amount: Money::from_cents(cents),
            reference: None,
            payment: None,
        }],
    };
    // Each till, offline, takes back cases: 2 at till 1, 1 at till 2; 2 were collected.
    let (a1, first) = on_till(a1, {
        let r = returning(2, -3000, TenderKind::Cash);
        move |t| t.return_web_order(&r)
    })
    .await;
    let first = first.expect("till 1 takes back both cases");
    let (a2, second) = on_till(a2, {
        let r = returning(1, -1500, TenderKind::StoreCredit);
        move |t| t.return_web_order(&r)
    })
    .await;
    let second = second.expect("till 2 knows only of its own returns");
    let (_a1, _) = sync(a1).await;
    let after_first = held_order(&server, &id).await;
    assert_eq!(
        after_first["state"], "collected",
        "a return leaves the handover as it was"
    );
    assert_eq!(
        after_first["collected"],
        json!([{"line": 1, "quantity": 2}, {"line": 2, "quantity": 1}])
    );
    assert_eq!(after_first["returned"], json!([{"line": 1, "quantity": 2}]));
    assert!(
        alarms_of(&server, "web_order_over_returned")
            .await
            .is_empty()
    );
    let (_a2, _) = sync(a2).await;
    let after_second = held_order(&server, &id).await;
    assert_eq!(
        after_second["returned"],
        json!([{"line": 1, "quantity": 3}]),
        "both tills' returns are recorded, even beyond what was collected"
    );
    let alarms = alarms_of(&server, "web_order_over_returned").await;
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0]["till_id"], "PARIS-OPERA-2", "{alarms:?}");
    assert_eq!(alarms[0]["chain"], "ticket", "{alarms:?}");
    let events: Vec<Value> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["type"] == "pos.web_order.returned")
        .collect();
    assert_eq!(events.len(), 2, "one event per return ticket");
    assert_eq!(
        events[0]["id"],
        format!("web_order/{id}/return/PARIS-OPERA-1/{}", first.number)
    );
    assert_eq!(events[0]["data"]["refund"], "-30.00");
    assert_eq!(events[1]["data"]["ticket"], second.number);
    assert_eq!(
        events[1]["data"]["lines"],
        json!([{"line": 1, "quantity": 1}])
    );
    // The cases came back into the shop's stock, three in all.
    let stock: Vec<Value> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["subject"] == format!("shops/{SHOP_A}/stock/P1"))
        .collect();
    assert_eq!(stock.len(), 2, "one stock movement per return ticket");
    assert_eq!(stock[1]["data"]["level"].as_i64(), Some(3), "{stock:?}");
    // The refunds count in the shop's sales: nothing was sold at these tills.
    let (status, sales) = server
        .get(
            &format!("/api/v1/hq/sales?by=product&shop={SHOP_A}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sales}");
    let p1 = sales["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "P1")
        .cloned()
        .unwrap_or_else(|| panic!("no row P1 in {sales}"));
    assert_eq!(p1["quantity"].as_i64(), Some(-3), "{p1}");
    assert_eq!(p1["amount"], "-45.00", "{p1}");
    server.stop().await;
}
