//! An exchange uploaded by a real till, on every storage backend: the sales rollups count its
//! returned line as a return and its new line as a sale, the stock moves both ways, the CRM
//! gets one purchase of kind `exchange` for the difference, and the day's accounting entry from
//! the Z closure balances with the difference on the card.

mod support;

use pos_domain::Money;
use pos_domain::closure::ClosureLevel;
use pos_domain::customer::{ContactInput, new_id};
use pos_domain::record::Chain;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::ReturnLine;
use pos_till::demo::demo_catalog;
use pos_till::requests::{ExchangeRequest, SaleLineRequest, SaleRequest};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(an_exchange_counts_as_its_return_and_its_sale);

const TILL: &str = "PARIS-OPERA-X";
const CASE: &str = "ACC-COQ-IP16"; // 29.99
const CHARGER: &str = "ACC-CHG-65W"; // 49.90

fn tender(kind: TenderKind, cents: i64) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

fn cents(v: &Value) -> i64 {
    let money: Money = serde_json::from_value(v.clone()).unwrap();
    money.cents()
}

/// Two cases sold in cash to a customer; one comes back for a charger, 19.91 paid by card;
/// then the day is closed.
/// The random bytes the exchange's customer id is made from.
const CUSTOMER_RANDOM: [u8; 16] = [77; 16];

fn till_with_an_exchange() -> TestTill {
    let mut t = TestTill::new(TILL, 61, 0, 1, 1);
    t.till
        .import_catalog(&demo_catalog().unwrap(), "demo")
        .unwrap();
    let customer = t
        .till
        .create_customer(
            &ContactInput {
                name: "Chloé Bernard".into(),
                phone: Some("06 12 34 56 78".into()),
                email: None,
            },
            CUSTOMER_RANDOM,
        )
        .unwrap();
    t.till
        .sell(&SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                product_id: Some(CASE.into()),
                quantity: Some(2),
                ..Default::default()
            }],
            tenders: vec![tender(TenderKind::Cash, 5998)],
            customer: Some(customer.id),
            ..Default::default()
        })
        .unwrap();
    let exchange = t
        .till
        .exchange(&ExchangeRequest {
            operator: Some("alice".into()),
            original: 1,
            returned: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![],
            }],
            lines: vec![SaleLineRequest {
                product_id: Some(CHARGER.into()),
                ..Default::default()
            }],
            customer: None,
            tenders: Some(vec![tender(TenderKind::Card, 1991)]),
        })
        .unwrap();
    assert_eq!(exchange.ticket.total, Money::from_cents(1991));
    t.till.close("manager", ClosureLevel::Day).unwrap();
    t
}

async fn an_exchange_counts_as_its_return_and_its_sale(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let code = server.create_till(SHOP_A, TILL).await;
    let till = till_with_an_exchange();
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(50) {
        server.upload(&token, TILL, chains).await;
    }
    let sales = |by: &'static str| {
        let server = &server;
        async move {
            let (status, answer) = server
                .get(
                    &format!("/api/v1/hq/sales?by={by}&shop={SHOP_A}"),
                    Some(&server.admin_token),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    let row = |answer: &Value, key: &str| -> Value {
        answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no row {key} in {answer}"))
    };

    let by_product = sales("product").await;
    let case = row(&by_product, CASE);
    assert_eq!(
        (case["quantity"].as_i64(), cents(&case["amount"])),
        (Some(2 - 1), 5998 - 2999),
        "the case: two sold, one given back on the exchange"
    );
    assert_eq!(case["tickets"].as_i64(), Some(2));
    let charger = row(&by_product, CHARGER);
    assert_eq!(
        (charger["quantity"].as_i64(), cents(&charger["amount"])),
        (Some(1), 4990),
        "the charger: sold on the exchange"
    );
    let by_shop = sales("shop").await;
    let shop = row(&by_shop, SHOP_A);
    assert_eq!(cents(&shop["amount"]), 5998 + 1991, "net of the tickets");
    assert_eq!(shop["tickets"].as_i64(), Some(2));
    assert_eq!(
        shop["quantity"].as_i64(),
        Some(2 - 1 + 1),
        "quantities are signed per line"
    );
    assert_eq!(cents(&shop["amount"]), till.ticket_total_cents());
    let by_tender = sales("tender").await;
    assert_eq!(cents(&row(&by_tender, "cash")["amount"]), 5998);
    assert_eq!(
        cents(&row(&by_tender, "card")["amount"]),
        1991,
        "the difference paid by card"
    );

    let events = server.feed_all().await;
    let stock: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "pos.stock.level.changed")
        .collect();
    let last_level = |product: &str| {
        stock
            .iter()
            .filter(|e| e["data"]["product"] == product)
            .map(|e| e["data"]["level"].as_i64().unwrap())
            .next_back()
    };
    assert_eq!(last_level(CASE), Some(-1), "two cases out, one back");
    assert_eq!(last_level(CHARGER), Some(-1), "the charger went out");
    let purchases: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "pos.crm.purchase.recorded")
        .collect();
    assert_eq!(
        purchases.len(),
        2,
        "one purchase per ticket of the customer"
    );
    let exchange = &purchases[1]["data"];
    assert_eq!(exchange["kind"], "exchange");
    assert_eq!(
        exchange["customer"],
        new_id(CUSTOMER_RANDOM),
        "the original's customer"
    );
    assert_eq!(cents(&exchange["total"]), 1991);
    assert_eq!(exchange["lines"][0]["original_line"], 1);
    assert!(exchange["lines"][1].get("original_line").is_none());

    let entries = server
        .store
        .journal_entries(ENTITY, "2026-01-01", "2026-12-31")
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "the Z closure posts one entry");
    let entry = &entries[0];
    entry.check().expect("the entry balances");
    let balances = entry.balances();
    assert_eq!(balances.get("5115"), Some(&Money::from_cents(1991)));
    let z = till.records(Chain::Closure);
    let totals = &z[0].record.payload["totals"];
    assert_eq!(totals["exchanges"], 1);
    let credits: Money = balances
        .iter()
        .filter(|(account, _)| account.starts_with("707") || account.starts_with("4457"))
        .map(|(_, amount)| *amount)
        .sum();
    assert_eq!(
        -credits,
        Money::from_cents(5998 + 1991),
        "sales and VAT credited: the Z's net total"
    );
    server.stop().await;
}
