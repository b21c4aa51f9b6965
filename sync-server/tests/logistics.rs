//! The logistics spoke's HTTP API on every storage backend: a shipping notice posted by the
//! least-privilege `logistics` role is stored once (a retry changes nothing, other content
//! under the same id is refused), reaches the tills of its shop and only theirs through the
//! changes feed, is read back and withdrawn (the tills are told); unknown shops and products
//! and broken rules are refused with their codes; the role reads nothing else. A till's goods
//! receipt naming the notice is measured against it (missing, extra, damaged per line), read
//! back with the notice, sent out through the outbox, and the notice can no longer be
//! withdrawn.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::distribution::product_change;

on_every_backend!(
    a_notice_reaches_only_its_shop_and_is_stored_once,
    the_logistics_role_handles_notices_and_nothing_else,
    a_receipt_against_a_notice_is_reported_to_logistics
);

const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";

/// Head office's catalog: the demo products.
async fn with_catalog(server: &Server) {
    let products = pos_till::demo::demo_catalog().unwrap();
    server
        .store
        .put_changes(products.iter().map(product_change).collect())
        .await
        .unwrap();
}

/// A logistics user made by the real binary (`admin user create --role logistics`), and its
/// token.
fn logistics_user(server: &Server) -> String {
    let created = sync_server_json(
        &server.db_url,
        &[
            "admin",
            "user",
            "create",
            "--id",
            "lea",
            "--name",
            "Léa Logistique",
            "--role",
            "logistics",
        ],
    );
    created["token"]
        .as_str()
        .unwrap_or_else(|| panic!("the new user's token is printed: {created}"))
        .to_string()
}

fn notice(id: &str, shop: &str, case_quantity: u32) -> Value {
    json!({
        "id": id,
        "shop_id": shop,
        "lines": [
            {"product_id": CASE, "quantity": case_quantity},
            {"product_id": CABLE, "unit": "units", "quantity": 5},
        ],
    })
}

/// The shipping-notice entries of a till's changes feed, as `(key, data)`.
async fn notices_in_feed(server: &Server, till: &str, token: &str) -> Vec<(String, Value)> {
    let (status, page) = server
        .get(
            &format!("/api/v1/tills/{till}/changes?since=0&limit=20000"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "shipping_notice")
        .map(|c| (c["key"].as_str().unwrap().to_string(), c["data"].clone()))
        .collect()
}

async fn till_token(server: &Server, shop: &str, till: &str, secret: u8) -> String {
    let code = server.create_till(shop, till).await;
    server
        .enroll(&code, &TestTill::new(till, secret, 0, 1, 1))
        .await
        .token
}

async fn a_notice_reaches_only_its_shop_and_is_stored_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    with_catalog(&server).await;
    let token = logistics_user(&server);
    let till_a = till_token(&server, SHOP_A, "T-A", 1).await;
    let till_b = till_token(&server, SHOP_B, "T-B", 2).await;
    let path = "/api/v1/logistics/shipping-notices";

    let (status, stored) = server
        .post_json(path, Some(&token), &notice("ASN-1", SHOP_A, 10))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a new notice is stored: {stored}"
    );
    assert_eq!(stored["state"], "open", "{stored}");
    assert_eq!(stored["notice"]["lines"][0]["quantity"], 10);
    assert_eq!(stored["receipt"], Value::Null, "nothing received yet");

    let (status, again) = server
        .post_json(path, Some(&token), &notice("ASN-1", SHOP_A, 10))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same notice again is a retry, answered 200: {again}"
    );
    assert_eq!(
        again["created_at"], stored["created_at"],
        "and changes nothing"
    );

    let (status, other) = server
        .post_json(path, Some(&token), &notice("ASN-1", SHOP_A, 11))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the same id with other content is refused: {other}"
    );
    assert_eq!(other["code"], "conflict");

    let (status, unknown_shop) = server
        .post_json(path, Some(&token), &notice("ASN-2", "NOWHERE", 1))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown_shop}");
    assert!(
        unknown_shop["message"]
            .as_str()
            .unwrap()
            .contains("NOWHERE"),
        "the message names the unknown shop: {unknown_shop}"
    );
    let mut bad_product = notice("ASN-3", SHOP_A, 1);
    bad_product["lines"][1]["product_id"] = json!("NO-SUCH-PRODUCT");
    let (status, unknown_product) = server.post_json(path, Some(&token), &bad_product).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown_product}");
    assert!(
        unknown_product["message"]
            .as_str()
            .unwrap()
            .contains("NO-SUCH-PRODUCT"),
        "the message names the unknown product: {unknown_product}"
    );
    let mut twice = notice("ASN-4", SHOP_A, 1);
    twice["lines"][1]["product_id"] = json!(CASE);
    let (status, broken) = server.post_json(path, Some(&token), &twice).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a rule of notices broken is 422 with check()'s message: {broken}"
    );
    assert_eq!(broken["code"], "stock_duplicate_product", "{broken}");
    let (status, none) = server
        .get("/api/v1/logistics/shipping-notices/ASN-3", Some(&token))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a refused notice is not stored: {none}"
    );

    assert_eq!(
        notices_in_feed(&server, "T-A", &till_a).await,
        vec![("ASN-1".to_string(), stored["notice"].clone())],
        "the notice reaches its shop's till through the changes feed, once"
    );
    assert!(
        notices_in_feed(&server, "T-B", &till_b).await.is_empty(),
        "another shop's till never sees it"
    );

    let (status, listed) = server
        .get(&format!("{path}?shop={SHOP_A}&state=open"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let (_, none) = server
        .get(&format!("{path}?shop={SHOP_B}"), Some(&token))
        .await;
    assert_eq!(none, json!([]), "shop B has no notice");

    let response = server
        .http
        .delete(format!("{}{path}/ASN-1", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let withdrawn: Value = response.json().await.unwrap();
    assert_eq!(withdrawn["state"], "withdrawn", "{withdrawn}");
    assert_eq!(
        notices_in_feed(&server, "T-A", &till_a).await,
        vec![("ASN-1".to_string(), Value::Null)],
        "a withdrawn notice becomes a removal in its shop's feed"
    );
    let (_, open) = server
        .get(&format!("{path}?state=open"), Some(&token))
        .await;
    assert_eq!(open, json!([]), "no notice is open any more");
    let (_, by_state) = server
        .get(&format!("{path}?state=withdrawn"), Some(&token))
        .await;
    assert_eq!(by_state[0]["notice"]["id"], "ASN-1", "{by_state}");
    server.stop().await;
}

async fn the_logistics_role_handles_notices_and_nothing_else(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    with_catalog(&server).await;
    let token = logistics_user(&server);
    for path in [
        "/api/v1/hq/sales?from=2026-01-01&to=2026-01-31&by=shop",
        "/api/v1/hq/fleet",
        "/api/v1/hq/alarms",
        "/api/v1/hq/commissions/plan",
        "/api/v1/feed",
        "/api/v1/admin/shops",
        &format!("/api/v1/shops/{SHOP_A}/tills"),
    ] {
        let (status, body) = server.get(path, Some(&token)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the logistics role reads nothing but stock and notices: {path} -> {body}"
        );
    }
    let (status, levels) = server
        .get(
            &format!("/api/v1/stock/available?products={CASE}"),
            Some(&token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the logistics role reads stock levels of every shop: {levels}"
    );

    // A shop manager may not send notices.
    let (status, refused) = server
        .post_json(
            "/api/v1/logistics/shipping-notices",
            Some(&server.manager_token),
            &notice("ASN-9", SHOP_A, 1),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // An admin may.
    let (status, stored) = server
        .post_json(
            "/api/v1/logistics/shipping-notices",
            Some(&server.admin_token),
            &notice("ASN-9", SHOP_A, 1),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    server.stop().await;
}

async fn a_receipt_against_a_notice_is_reported_to_logistics(backend: Backend) {
    use pos_till::stock::{ReceiveLineRequest, ReceiveRequest};
    let Some(server) = Server::start(backend).await else {
        return;
    };
    with_catalog(&server).await;
    let token = logistics_user(&server);
    let (status, body) = server
        .post_json(
            "/api/v1/logistics/shipping-notices",
            Some(&token),
            &notice("ASN-7", SHOP_A, 10),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The till receives 8 cases (1 damaged) of the 10 announced, no cable, and 2 chargers
    // nobody announced; the till thinks 9 cases were announced: head office's notice decides.
    let till = enrolled_till(&server, SHOP_A, "OPERA-1", 61).await;
    let line = |product: &str, expected, received, damaged| ReceiveLineRequest {
        product_id: product.into(),
        expected,
        received,
        damaged,
        serials: Vec::new(),
    };
    on_till(till, move |t| {
        t.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: Some("ASN-7".into()),
                lines: vec![line(CASE, 9, 8, 1), line("ACC-CHG-25W", 0, 2, 0)],
            },
        )
        .unwrap();
        t.sync(|_, _, _| {}).expect("head office answers");
    })
    .await;

    let (status, read) = server
        .get("/api/v1/logistics/shipping-notices/ASN-7", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["state"], "received", "{read}");
    let lines: Vec<(String, u64, u64, u64, u64, u64)> = read["receipt"]["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("the receipt's lines: {read}"))
        .iter()
        .map(|l| {
            let n = |f: &str| l[f].as_u64().unwrap();
            (
                l["product_id"].as_str().unwrap().to_string(),
                n("expected"),
                n("received"),
                n("damaged"),
                n("missing"),
                n("extra"),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (CASE.to_string(), 10, 8, 1, 2, 0),
            (CABLE.to_string(), 5, 0, 0, 5, 0),
            ("ACC-CHG-25W".to_string(), 0, 2, 0, 0, 2),
        ],
        "each line measured against head office's notice: missing, extra, damaged"
    );
    let events: Vec<Value> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["type"] == "pos.logistics.notice.received")
        .collect();
    assert_eq!(events.len(), 1, "one event per notice received: {events:?}");
    assert_eq!(events[0]["data"]["notice"], "ASN-7");
    assert_eq!(events[0]["data"]["differs"], true);
    assert_eq!(events[0]["data"]["lines"], read["receipt"]["lines"]);

    let response = server
        .http
        .delete(format!(
            "{}/api/v1/logistics/shipping-notices/ASN-7",
            server.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "a received notice is not withdrawn"
    );
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["code"], "conflict");
    server.stop().await;
}
