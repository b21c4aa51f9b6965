//! Replenishment on every storage backend: min/max levels set by an admin over HTTP and by
//! the real `sync-server admin stock minmax` commands (one level, a CSV file), journaled; the
//! proposals for a shop whose stock comes from real tills (a delivery, a transfer still in
//! transit towards it, a click & collect order holding units) match this test's own figures:
//! each product below its min in on hand + in transit − reserved, proposed up to its max; as
//! JSON and as a CSV file, for admins and the logistics role only.

mod support;

use pos_till::stock::{ReceiveLineRequest, ReceiveRequest, SendLineRequest, TransferRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::distribution::product_change;
use sync_server::secrets;

on_every_backend!(proposals_bring_each_product_below_its_min_up_to_its_max);

const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";
const CHARGER: &str = "ACC-CHG-25W";
const FAST_CHARGER: &str = "ACC-CHG-65W";

async fn shop_till(server: &Server, shop: &str, id: &str, secret: u8) -> TestTill {
    let t = enrolled_till(server, shop, id, secret).await;
    on_till(t, |till| {
        till.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
    })
    .await
    .0
}

fn received(product: &str, quantity: u32) -> ReceiveLineRequest {
    ReceiveLineRequest {
        product_id: product.into(),
        expected: 0,
        received: quantity,
        damaged: 0,
        serials: Vec::new(),
    }
}

async fn proposals_bring_each_product_below_its_min_up_to_its_max(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let products = pos_till::demo::demo_catalog().unwrap();
    server
        .store
        .put_changes(products.iter().map(product_change).collect())
        .await
        .unwrap();

    // Shop A's stock, as this test counts it.
    let (case_on_hand, cable_on_hand, charger_on_hand) = (10, 2, 1);
    let cases_in_transit = 3;
    let cases_reserved = 2;
    let a = shop_till(&server, SHOP_A, "OPERA-1", 71).await;
    on_till(a, move |t| {
        t.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![
                    received(CASE, case_on_hand),
                    received(CABLE, cable_on_hand),
                    received(CHARGER, charger_on_hand),
                ],
            },
        )
        .unwrap();
        t.sync(|_, _, _| {}).expect("head office answers");
    })
    .await;
    let b = shop_till(&server, SHOP_B, "BELLECOUR-1", 72).await;
    on_till(b, move |t| {
        t.send_transfer(
            "carla",
            &TransferRequest {
                to_shop: SHOP_A.into(),
                lines: vec![SendLineRequest {
                    product_id: CASE.into(),
                    quantity: cases_in_transit,
                    serials: Vec::new(),
                }],
            },
        )
        .unwrap();
        t.sync(|_, _, _| {}).expect("head office answers");
    })
    .await;
    let key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop("web", "Boutique", &secrets::token_hash(&key))
        .await
        .unwrap();
    let order = server
        .http
        .post(format!("{}/api/v1/web-orders", server.url))
        .bearer_auth(&key)
        .header("Idempotency-Key", "order-1")
        .json(&json!({
            "shop": SHOP_A,
            "lines": [{"product_id": CASE, "label": "Coque", "quantity": cases_reserved, "unit_price": "29.99"}],
            "payment": "paid_online",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        order.status(),
        StatusCode::CREATED,
        "the order reserves 2 cases"
    );

    // Levels: cases and chargers from a file, the cable by one command, the fast charger (no
    // stock line at all) over HTTP.
    let file = server.dir.path().join("minmax.csv");
    std::fs::write(
        &file,
        format!(
            "shop,product,min,max,unit\n{SHOP_A},{CASE},20,30,\n{SHOP_A},{CHARGER},3,5,units\n"
        ),
    )
    .unwrap();
    let imported = sync_server_json(
        &server.db_url,
        &["admin", "stock", "minmax", "import", file.to_str().unwrap()],
    );
    assert_eq!(imported["set"], 2, "{imported}");
    sync_server_json(
        &server.db_url,
        &[
            "admin",
            "stock",
            "minmax",
            "set",
            "--shop",
            SHOP_A,
            "--product",
            CABLE,
            "--min",
            "2",
            "--max",
            "6",
        ],
    );
    let path = format!("/api/v1/admin/shops/{SHOP_A}/minmax");
    let put = |body: Value, token: String| {
        let request = server
            .http
            .put(format!("{}{path}", server.url))
            .bearer_auth(token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = put(
        json!({"levels": [{"product_id": FAST_CHARGER, "min": 1, "max": 2}]}),
        server.admin_token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put(
        json!({"levels": [{"product_id": CASE, "min": 9, "max": 4}]}),
        server.admin_token.clone(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a min above its max is refused: {body}"
    );
    let (status, body) = put(
        json!({"levels": [{"product_id": CASE, "min": 1, "max": 2}]}),
        server.manager_token.clone(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only admins set levels: {body}"
    );
    let (_, listed) = server.get(&path, Some(&server.admin_token)).await;
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    let (_, journal) = server
        .get("/api/v1/admin/audit", Some(&server.admin_token))
        .await;
    let journaled = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "stock.minmax.set")
        .count();
    assert_eq!(journaled, 3, "each change is journaled: {journal}");
    let fast = journal
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["action"] == "stock.minmax.set"
                && e["after"]["levels"][0]["product_id"] == FAST_CHARGER
        })
        .unwrap_or_else(|| panic!("the HTTP change is journaled with its levels: {journal}"));
    assert_eq!(
        fast["before"],
        json!({"levels": []}),
        "before and after are objects, as the journal's schema says"
    );

    // This test's own figures: position = on hand + in transit − reserved.
    let case_position = case_on_hand as i64 + cases_in_transit as i64 - cases_reserved as i64;
    let expected = vec![
        (
            CHARGER.to_string(),
            charger_on_hand as i64,
            5 - charger_on_hand as i64,
        ),
        (CASE.to_string(), case_position, 30 - case_position),
        (FAST_CHARGER.to_string(), 0, 2),
    ];
    let created = sync_server_json(
        &server.db_url,
        &[
            "admin",
            "user",
            "create",
            "--id",
            "lea",
            "--name",
            "Léa",
            "--role",
            "logistics",
        ],
    );
    let logistics = created["token"].as_str().unwrap().to_string();
    let (status, proposals) = server
        .get(
            &format!("/api/v1/stock/replenishment?shop={SHOP_A}"),
            Some(&logistics),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{proposals}");
    let mut got: Vec<(String, i64, i64)> = proposals
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["product_id"].as_str().unwrap().to_string(),
                p["position"].as_i64().unwrap(),
                p["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(
        got, want,
        "below its min, each product is proposed up to its max; the cable at its min is not"
    );

    let response = server
        .http
        .get(format!(
            "{}/api/v1/stock/replenishment?shop={SHOP_A}&format=csv",
            server.url
        ))
        .bearer_auth(&logistics)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let mut rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows.remove(0),
        "shop,product,unit,quantity,on_hand,in_transit,reserved,position,min,max"
    );
    assert!(
        rows.contains(&format!("{SHOP_A},{CASE},units,{},{case_on_hand},{cases_in_transit},{cases_reserved},{case_position},20,30", 30 - case_position).as_str()),
        "the file carries the same figures: {csv}"
    );
    assert_eq!(rows.len(), 3, "{csv}");
    let (status, _) = server
        .get(
            &format!("/api/v1/stock/replenishment?shop={SHOP_A}"),
            Some(&server.manager_token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager does not read proposals"
    );
    server.stop().await;
}
