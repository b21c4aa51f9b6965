//! A product's stock asked from a till, on every storage backend: three shops' tills receive
//! deliveries and sync; the till of a shop in region NORTH asks head office (its real client,
//! `GET /api/v1/tills/{till}/stock`) and gets its own shop's figures and the other NORTH shop's,
//! not those of a shop of another region; head office stopped, the till shows the answer it
//! kept, marked with its age, and names the product it never had an answer for. The route
//! refuses what it must: no token, a user, another till's id, no product.

mod support;

use chrono::Duration;
use pos_till::stock::{ReceiveLineRequest, ReceiveRequest};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(a_till_sees_its_shop_and_its_region_and_keeps_the_answer_for_offline);

const SHOP_C: &str = "LILLE-CENTRE";
const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";
const GUIDE: &str = "LIV-GUIDE-5G";

/// A till of `shop` enrolled with head office, with the demo catalog, that received `cases`
/// cases and synced.
async fn till_with_cases(
    server: &Server,
    shop: &str,
    id: &str,
    secret: u8,
    cases: u32,
) -> TestTill {
    let t = enrolled_till(server, shop, id, secret).await;
    on_till(t, move |till| {
        till.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
        till.receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![ReceiveLineRequest {
                    product_id: CASE.into(),
                    expected: 0,
                    received: cases,
                    damaged: 0,
                    serials: Vec::new(),
                }],
            },
        )
        .unwrap();
        till.sync(|_, _, _| {}).expect("head office answers");
    })
    .await
    .0
}

fn till_token(till: &TestTill) -> String {
    rusqlite::Connection::open(&till.path)
        .unwrap()
        .query_row("SELECT token FROM sync_server WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap()
}

async fn a_till_sees_its_shop_and_its_region_and_keeps_the_answer_for_offline(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let db = server.db_url.clone();
    for args in [
        vec![
            "admin", "region", "create", "--id", "NORTH", "--name", "Nord",
        ],
        vec![
            "admin", "shop", "update", "--id", SHOP_A, "--region", "NORTH",
        ],
        vec![
            "admin", "shop", "create", "--id", SHOP_C, "--entity", ENTITY, "--name", "Lille",
        ],
        vec![
            "admin", "shop", "update", "--id", SHOP_C, "--region", "NORTH",
        ],
    ] {
        sync_server_json(&db, &args);
    }
    let a = till_with_cases(&server, SHOP_A, "OPERA-1", 61, 10).await;
    let _b = till_with_cases(&server, SHOP_B, "BELLECOUR-1", 62, 7).await;
    let _c = till_with_cases(&server, SHOP_C, "LILLE-1", 63, 4).await;

    let (a, live) = on_till(a, |t| {
        t.stock_on_hand(&[CASE.into(), CABLE.into(), CASE.into()])
            .unwrap()
    })
    .await;
    assert!(live.live, "head office answered: {:?}", live.unreachable);
    let products: Vec<&str> = live
        .products
        .iter()
        .map(|p| p.stock.product_id.as_str())
        .collect();
    assert_eq!(
        products,
        vec![CASE, CABLE],
        "each product once, in the order asked"
    );
    let case = &live.products[0].stock;
    assert_eq!(
        (
            case.here.shop_id.as_str(),
            case.here.on_hand,
            case.here.available
        ),
        (SHOP_A, 10, 10),
        "the till's own shop's stock is what its till received"
    );
    let nearby: Vec<(&str, i64)> = case
        .nearby
        .iter()
        .map(|s| (s.shop_id.as_str(), s.on_hand))
        .collect();
    assert_eq!(
        nearby,
        vec![(SHOP_C, 4)],
        "nearby is the other shops of the till's region (LYON-BELLECOUR is in none)"
    );
    assert_eq!(case.nearby[0].shop_name, "Lille");
    assert_eq!(
        (
            live.products[1].stock.here.on_hand,
            live.products[1].stock.nearby.len()
        ),
        (0, 0),
        "a product nobody holds is all zero here and nowhere nearby"
    );

    // The route's refusals.
    let token = till_token(&a);
    let path =
        |till: &str, products: &str| format!("/api/v1/tills/{till}/stock?products={products}");
    let (status, _) = server.get(&path("OPERA-1", CASE), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token is needed");
    let (status, _) = server
        .get(&path("OPERA-1", CASE), Some(&server.manager_token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the route is a till's");
    let (status, body) = server.get(&path("LILLE-1", CASE), Some(&token)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a till asks in its own name only: {body}"
    );
    let (status, body) = server.get(&path("OPERA-1", ",,"), Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "query_invalid");
    let (status, body): (StatusCode, Value) =
        server.get(&path("OPERA-1", CASE), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["products"][0]["here"]["on_hand"], 10);
    assert_eq!(body["products"][0]["here"]["unit"], "units");

    // Head office stops: the kept answer, with its age on the till's clock.
    server.stop().await;
    a.clock.advance(Duration::minutes(5));
    let (_a, kept) = on_till(a, |t| {
        t.stock_on_hand(&[CASE.into(), GUIDE.into()]).unwrap()
    })
    .await;
    assert!(
        !kept.live,
        "head office is down: the answer is the kept one"
    );
    assert!(kept.unreachable.is_some(), "the report says why");
    assert_eq!(kept.products.len(), 1);
    assert_eq!(
        (
            kept.products[0].stock.here.on_hand,
            kept.products[0].stock.nearby.len(),
            kept.products[0].age_seconds
        ),
        (10, 1, 300),
        "the kept answer is shown, marked with its age (five minutes on the till's clock)"
    );
    assert_eq!(
        kept.unknown,
        vec![GUIDE.to_string()],
        "a product never answered for is named as unknown"
    );
}
