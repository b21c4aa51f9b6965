//! What shops may promise, answered as a matrix (`GET /api/v1/stock/available/matrix`), on
//! every storage backend: the same figures as the list answer (`GET /api/v1/stock/available`)
//! for the same question, with 0 for a shop without a line, a click & collect reservation
//! lowering a shop's figure, and a shop manager seeing only their shop; a question with no
//! product, or too many products or shops, is a 400 saying what to ask.

mod support;

use std::collections::BTreeMap;

use pos_domain::Money;
use pos_domain::tender::{Tender, TenderKind};
use pos_hq_store::Shop;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::stock::{ReceiveLineRequest, ReceiveRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::secrets;

on_every_backend!(
    the_matrix_holds_what_the_list_holds,
    a_bad_question_is_refused_with_what_to_ask
);

/// A shop of the chain with no stock line at all.
const SHOP_C: &str = "MARSEILLE-PRADO";
const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";
/// Sold by weight: its line counts grams.
const COFFEE: &str = "BON-CAFE";
/// A product no shop has a line of.
const UNSTOCKED: &str = "NO-SUCH-LINE";

/// A till of `shop` receives `lines` (product, units), sells `grams` of coffee when not 0, and
/// syncs.
async fn receive(
    server: &Server,
    shop: &str,
    till: &str,
    secret: u8,
    lines: &[(&str, u32)],
    grams: i64,
) {
    let t = enrolled_till(server, shop, till, secret).await;
    let lines: Vec<ReceiveLineRequest> = lines
        .iter()
        .map(|(product, received)| ReceiveLineRequest {
            product_id: product.to_string(),
            expected: 0,
            received: *received,
            damaged: 0,
            serials: Vec::new(),
        })
        .collect();
    on_till(t, move |t| {
        t.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
        t.receive_goods("bruno", &ReceiveRequest { asn: None, lines })
            .unwrap();
        if grams != 0 {
            t.sell(&SaleRequest {
                operator: Some("alice".into()),
                lines: vec![SaleLineRequest {
                    product_id: Some(COFFEE.into()),
                    grams: Some(grams),
                    ..Default::default()
                }],
                tenders: vec![Tender {
                    kind: TenderKind::Cash,
                    amount: "100.00".parse::<Money>().unwrap(),
                    reference: None,
                    payment: None,
                }],
                ..Default::default()
            })
            .unwrap();
        }
        t.sync(|_, _, _| {}).expect("head office answers");
    })
    .await;
}

/// The web shop and its key.
async fn web_shop(server: &Server) -> String {
    let key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop("boutique", "Boutique en ligne", &secrets::token_hash(&key))
        .await
        .unwrap();
    key
}

/// Both answers to "what may `shops` (every shop when empty) promise of `products`".
async fn both_answers(server: &Server, token: &str, products: &str, shops: &str) -> (Value, Value) {
    let query = if shops.is_empty() {
        format!("products={products}")
    } else {
        format!("products={products}&shops={shops}")
    };
    let (status, list) = server
        .get(&format!("/api/v1/stock/available?{query}"), Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let (status, matrix) = server
        .get(
            &format!("/api/v1/stock/available/matrix?{query}"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{matrix}");
    (list, matrix)
}

/// The matrix's cells by (product, unit, shop).
fn cells(matrix: &Value) -> BTreeMap<(String, String, String), i64> {
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let shops: Vec<String> = matrix["shops"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let rows = matrix["available"].as_array().unwrap();
    assert_eq!(rows.len(), matrix["products"].as_array().unwrap().len());
    assert_eq!(rows.len(), matrix["units"].as_array().unwrap().len());
    let mut cells = BTreeMap::new();
    for (r, row) in rows.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), shops.len(), "a figure per shop in every row");
        for (shop, figure) in shops.iter().zip(row) {
            let key = (
                text(&matrix["products"][r]),
                text(&matrix["units"][r]),
                shop.clone(),
            );
            cells.insert(key, figure.as_i64().unwrap());
        }
    }
    cells
}

/// Checks that every line of `list` is the matrix's cell, and every other cell is 0.
fn assert_same_figures(list: &Value, matrix: &Value) {
    let mut cells = cells(matrix);
    for line in list.as_array().unwrap() {
        let key = (
            line["product_id"].as_str().unwrap().to_string(),
            line["unit"].as_str().unwrap().to_string(),
            line["shop_id"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            cells.remove(&key),
            line["available"].as_i64(),
            "the matrix holds the list's `available` of {key:?}: {matrix}"
        );
    }
    for (key, figure) in cells {
        assert_eq!(
            figure, 0,
            "a (product, shop) without a line is 0 in the matrix: {key:?}"
        );
    }
}

async fn the_matrix_holds_what_the_list_holds(backend: Backend) {
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
            address: String::new(),
            region_id: None,
        })
        .await
        .unwrap();
    let key = web_shop(&server).await;
    receive(
        &server,
        SHOP_A,
        "OPERA-1",
        71,
        &[(CASE, 3), (CABLE, 5)],
        250,
    )
    .await;
    receive(&server, SHOP_B, "LYON-1", 72, &[(CASE, 2)], 0).await;
    // A click & collect order holds 2 cases at SHOP_A.
    let response = server
        .http
        .post(format!("{}/api/v1/web-orders", server.url))
        .bearer_auth(&key)
        .header("Idempotency-Key", "matrix-1")
        .json(&json!({
            "shop": SHOP_A,
            "lines": [{"product_id": CASE, "label": "Coque", "quantity": 2, "unit_price": "29.99"}],
            "payment": "paid_online",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let products = format!("{CASE},{CABLE},{COFFEE},{UNSTOCKED}");
    let (list, matrix) = both_answers(&server, &key, &products, "").await;
    assert_same_figures(&list, &matrix);
    let mut shops = vec![SHOP_A, SHOP_B, SHOP_C];
    shops.sort();
    assert_eq!(
        matrix["shops"],
        json!(shops),
        "a web shop asking no shop sees every shop of the chain, by id"
    );
    let mut products = vec![CABLE, CASE, COFFEE, UNSTOCKED];
    products.sort();
    assert_eq!(
        matrix["products"],
        json!(products),
        "a row per product asked"
    );
    let units: Vec<&str> = products
        .iter()
        .map(|p| if *p == COFFEE { "grams" } else { "units" })
        .collect();
    assert_eq!(
        matrix["units"],
        json!(units),
        "a product sold by weight has its row in grams"
    );
    let cells = cells(&matrix);
    let cell = |product: &str, shop: &str| cells[&(product.into(), "units".into(), shop.into())];
    assert_eq!(
        cell(CASE, SHOP_A),
        1,
        "3 received less 2 held for the order"
    );
    assert_eq!(cell(CASE, SHOP_B), 2, "2 received, nothing held");
    assert_eq!(cell(CABLE, SHOP_A), 5);
    assert_eq!(cell(CABLE, SHOP_B), 0, "no cable line at SHOP_B: 0");
    assert_eq!(cell(CASE, SHOP_C), 0, "a shop without any line: 0");
    assert_eq!(cell(UNSTOCKED, SHOP_B), 0, "a product without any line: 0");
    let coffee = list
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["product_id"] == COFFEE)
        .expect("the coffee sold has a line");
    assert_eq!(
        (&coffee["unit"], &coffee["on_hand"]),
        (&json!("grams"), &json!(-250)),
        "{coffee}"
    );
    assert_eq!(
        cells[&(COFFEE.into(), "grams".into(), SHOP_A.into())],
        0,
        "250 g sold of none received: on hand below zero promises nothing"
    );

    // The shops named, and one that does not exist: no column for it.
    let named = format!("{SHOP_B},{SHOP_C},NOWHERE");
    let (list, matrix) = both_answers(&server, &key, &products.join(","), &named).await;
    assert_same_figures(&list, &matrix);
    let mut named = vec![SHOP_B, SHOP_C];
    named.sort();
    assert_eq!(
        matrix["shops"],
        json!(named),
        "the columns are the shops named that exist"
    );

    // A shop manager (of SHOP_A) sees their shop only, in both answers.
    let manager = server.manager_token.clone();
    let (list, matrix) = both_answers(&server, &manager, &products.join(","), "").await;
    assert_same_figures(&list, &matrix);
    assert_eq!(
        matrix["shops"],
        json!([SHOP_A]),
        "a shop manager sees only their shop's column"
    );
    let (_, matrix) = both_answers(&server, &manager, CASE, SHOP_B).await;
    assert_eq!(
        matrix["shops"],
        json!([]),
        "a shop outside the manager's scope is not answered, even named"
    );
    assert_eq!(matrix["available"], json!([[]]));

    // The logistics role sees every shop, as the web shop does.
    let logistics = logistics_user(&server);
    let (list, matrix) = both_answers(&server, &logistics, &products.join(","), "").await;
    assert_same_figures(&list, &matrix);
    assert_eq!(
        matrix["shops"],
        json!(shops),
        "the logistics role sees every shop's column"
    );

    // A till asks head office through its own route.
    let till = TestTill::new("OPERA-2", 73, 0, 1, 1);
    let code = server.create_till(SHOP_A, "OPERA-2").await;
    let enrolled = server.enroll(&code, &till).await;
    let (status, body) = server
        .get(
            &format!("/api/v1/stock/available/matrix?products={CASE}"),
            Some(&enrolled.token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a till is refused: {body}");
    server.stop().await;
}

/// A user of the logistics role, and their token.
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
            "Léa",
            "--role",
            "logistics",
        ],
    );
    created["token"].as_str().unwrap().to_string()
}

async fn a_bad_question_is_refused_with_what_to_ask(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = web_shop(&server).await;
    let many_products: Vec<String> = (0..101).map(|n| format!("P{n}")).collect();
    let many_shops: Vec<String> = (0..1001).map(|n| format!("S{n}")).collect();
    for (query, says) in [
        (
            "products=".to_string(),
            "name 1 to 100 products in `products`",
        ),
        (
            format!("products={}", many_products.join(",")),
            "name 1 to 100 products in `products` (comma-separated): 101 given",
        ),
        (
            format!("products=P1&shops={}", many_shops.join(",")),
            "name at most 1000 shops in `shops`, or none for every shop: 1001 given",
        ),
    ] {
        let (status, body) = server
            .get(
                &format!("/api/v1/stock/available/matrix?{query}"),
                Some(&key),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a question with no product or too many products or shops is refused: {body}"
        );
        assert_eq!(body["code"], "query_invalid", "{body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(says),
            "the message says what to ask ({says}): {body}"
        );
    }
    let (status, body) = server
        .get("/api/v1/stock/available/matrix?products=P1", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a caller is needed: {body}"
    );
    server.stop().await;
}
