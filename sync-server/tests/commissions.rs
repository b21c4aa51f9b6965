//! Seller commissions and the downloads at head office, on SQLite and PostgreSQL, from tickets
//! recorded by a real till engine (on a manual clock) and uploaded over HTTP: a sale in March
//! with a discount, one of its lines half given back in April, and a seller who is not staff of
//! the shop. The March report pays what the lines earned after discounts excluding VAT; the
//! April report claws back the returned part; the unknown seller is reported apart; the plan
//! is an admin's to set; a shop manager is refused another shop; the payroll CSV and the sales
//! CSV hold the API's figures.

mod support;

use pos_domain::Money;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{Discount, ReturnLine};
use pos_domain::wire::{StaffMember, StaffRole};
use pos_till::demo::demo_catalog;
use pos_till::requests::{ReturnRequest, SaleLineRequest, SaleRequest};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::*;
use sync_server::distribution;

on_every_backend!(commissions_follow_the_seller_the_discounts_and_the_returns);

const TILL: &str = "PARIS-OPERA-1";

fn cents(value: &Value) -> i64 {
    serde_json::from_value::<Money>(value.clone())
        .unwrap()
        .cents()
}

/// `percent` % of `base`, to the cent, half away from zero: computed here by hand.
fn commission(base: Money, percent: i64, scale: u32) -> i64 {
    base.times(Decimal::new(percent, scale) / Decimal::ONE_HUNDRED)
        .cents()
}

async fn put(server: &Server, token: &str, body: &Value) -> StatusCode {
    server
        .http
        .put(format!("{}/api/v1/hq/commissions/plan", server.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn commissions_follow_the_seller_the_discounts_and_the_returns(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    server
        .store
        .put_changes(vec![distribution::staff_change(
            SHOP_A,
            &StaffMember {
                id: "S101".into(),
                name: "Salomé".into(),
                role: StaffRole::Cashier,
                pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
                    .into(),
                active: true,
            },
        )])
        .await
        .unwrap();
    // The plan: Accessoires 5 %, the cable 12.5 % (the product's own rate wins).
    let admin = server.admin_token.clone();
    for (target, key, percent) in [
        ("category", "Accessoires", "5"),
        ("product", "ACC-CBL-CC1", "12.5"),
    ] {
        let status = put(
            &server,
            &admin,
            &json!({"target": target, "key": key, "percent": percent}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "an admin sets the plan");
    }
    let manager = server.manager_token.clone();
    let refused = put(
        &server,
        &manager,
        &json!({"target": "category", "key": "Audio", "percent": "50"}),
    )
    .await;
    assert_eq!(refused, StatusCode::FORBIDDEN, "only admins set the plan");
    let invalid = put(
        &server,
        &admin,
        &json!({"target": "category", "key": "Audio", "percent": "150"}),
    )
    .await;
    assert_eq!(
        invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a rate beyond 100 % is refused"
    );

    // March 30: a sale with a 10 % discount on the cables (seller S101) and a charger sold by
    // S999, who is nobody's staff. April 2: one of the two cables comes back.
    let code = server.create_till(SHOP_A, TILL).await;
    let (till, (sale, back)) = blocking(move || {
        let mut t = TestTill::new(TILL, 41, 0, 1, 1);
        t.till
            .import_catalog(&demo_catalog().unwrap(), "demo")
            .unwrap();
        let line = |product: &str, quantity, seller: &str, discount| SaleLineRequest {
            product_id: Some(product.into()),
            quantity: Some(quantity),
            seller: Some(seller.into()),
            discount,
            ..Default::default()
        };
        let mut request = SaleRequest {
            operator: Some("alice".into()),
            lines: vec![
                line(
                    "ACC-CBL-CC1",
                    2,
                    "S101",
                    Some(Discount::Percent(Decimal::from(10))),
                ),
                line("ACC-CHG-25W", 1, "S999", None),
            ],
            ..Default::default()
        };
        let total = t.till.quote(&request).unwrap().total;
        request.tenders = vec![Tender {
            kind: TenderKind::Card,
            amount: total,
            reference: Some("T1".into()),
            payment: None,
        }];
        let sale = t.till.sell(&request).unwrap();
        t.clock.set("2026-04-02T09:00:00Z".parse().unwrap());
        let back = t
            .till
            .return_items(&ReturnRequest {
                operator: Some("alice".into()),
                original: sale.number,
                lines: vec![ReturnLine {
                    line: 1,
                    quantity: 1,
                    serials: vec![],
                }],
                ..Default::default()
            })
            .unwrap();
        (t, (sale, back))
    })
    .await;
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(25) {
        server.upload(&token, TILL, chains).await;
    }

    // By hand: the cables' base is after the 10 % discount, excluding VAT, at 12.5 %.
    let cables = &sale.ticket.lines[0];
    assert!(
        cables.line_discount.is_positive(),
        "the cables were discounted"
    );
    let earned = commission(cables.total_excluding_vat, 125, 1);
    let clawed = commission(back.ticket.lines[0].total_excluding_vat, 125, 1);
    let charger = commission(sale.ticket.lines[1].total_excluding_vat, 5, 0);
    assert!(clawed < 0);

    let (status, march) = server
        .get("/api/v1/hq/commissions?month=2026-03", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{march}");
    let sellers = march["sellers"].as_array().unwrap();
    assert_eq!(sellers.len(), 1, "only S101 is staff of the shop: {march}");
    assert_eq!(sellers[0]["seller"], "S101");
    assert_eq!(
        cents(&sellers[0]["commission"]),
        earned,
        "March pays 12.5 % of the cables after the discount, excluding VAT"
    );
    assert_eq!(
        cents(&march["total"]),
        earned,
        "the total counts the staff only"
    );
    let unknown = &march["unknown_sellers"][0];
    assert_eq!(
        unknown["seller"], "S999",
        "the seller not on the staff is reported"
    );
    assert_eq!(
        cents(&unknown["commission"]),
        charger,
        "with what they would earn, in no total"
    );

    let (_, april) = server
        .get("/api/v1/hq/commissions?month=2026-04", Some(&admin))
        .await;
    let s101 = &april["sellers"][0];
    assert_eq!(
        cents(&s101["clawed_back"]),
        clawed,
        "April claws back the commission of the cable given back"
    );
    assert_eq!(cents(&april["total"]), clawed, "and pays nothing else");
    assert_eq!(s101["lines"][0]["returned"], true);

    // Scope: the manager of shop A reads shop A, not shop B.
    let (own, _) = server
        .get("/api/v1/hq/commissions?month=2026-03", Some(&manager))
        .await;
    assert_eq!(own, StatusCode::OK);
    let (other, _) = server
        .get(
            &format!("/api/v1/hq/commissions?month=2026-03&shop={SHOP_B}"),
            Some(&manager),
        )
        .await;
    assert_eq!(
        other,
        StatusCode::FORBIDDEN,
        "another shop's commissions are refused"
    );
    let (bad, body) = server
        .get("/api/v1/hq/commissions?month=2026-13", Some(&admin))
        .await;
    assert_eq!(bad, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["code"], "query_invalid",
        "a bad month says how to write one"
    );

    // The payroll CSV holds the report's figures.
    let (_, csv) = server
        .get(
            "/api/v1/hq/commissions/export?month=2026-03&format=csv",
            Some(&admin),
        )
        .await;
    let csv = csv.as_str().unwrap().to_string();
    let money = |c: i64| Money::from_cents(c).to_string();
    assert!(
        csv.contains(&format!("2026-03,{SHOP_A},S101,staff,"))
            && csv.contains(&format!(",{}\n", money(earned))),
        "the payroll CSV pays S101 what the report says: {csv}"
    );
    assert!(
        csv.contains(&format!("2026-03,{SHOP_A},S999,not_staff,")),
        "and lists S999 apart: {csv}"
    );

    // The sales export holds the figures of the sales answer.
    let query = "by=shop&from=2026-03-01&to=2026-04-30";
    let (_, answer) = server
        .get(&format!("/api/v1/hq/sales?{query}"), Some(&admin))
        .await;
    let (_, file) = server
        .get(
            &format!("/api/v1/hq/exports/sales?{query}&format=csv"),
            Some(&admin),
        )
        .await;
    let row = &answer["rows"][0];
    let expected = format!(
        "shop,tickets,quantity,amount,excluding_vat\n{},{},{},{},{}\n",
        row["key"].as_str().unwrap(),
        row["tickets"],
        row["quantity"],
        row["amount"].as_str().unwrap(),
        row["excluding_vat"].as_str().unwrap()
    );
    assert_eq!(
        file.as_str().unwrap(),
        expected,
        "the CSV holds the sales answer's figures"
    );

    // Removing a rate: once.
    let remove = |token: String| {
        let request = server
            .http
            .delete(format!(
                "{}/api/v1/hq/commissions/plan?target=product&key=ACC-CBL-CC1",
                server.url
            ))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(remove(admin.clone()).await, StatusCode::NO_CONTENT);
    assert_eq!(
        remove(admin.clone()).await,
        StatusCode::NOT_FOUND,
        "a rate is removed once"
    );
    server.stop().await;
}
