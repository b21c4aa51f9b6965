//! CRM and web-shop events derived from the tickets on ingest, on every storage backend: each
//! customer is created once and updated per later ticket with figures equal to the tills'
//! tickets; each ticket naming a customer gives a purchase event; per-shop stock levels equal
//! the net quantities the shop's tills sold, and do not depend on how uploads were batched.

mod support;

use std::collections::BTreeMap;

use pos_domain::record::Chain;
use pos_domain::ticket::{Quantity, Ticket};
use serde_json::Value;
use support::*;

on_every_backend!(customer_purchase_and_stock_events_match_the_tickets);

/// What the tickets of `tills` say: per customer (tickets, net total in cents) and per
/// (product, unit) the net quantity moved (negative: sold).
#[allow(clippy::type_complexity)]
fn expected(
    tills: &[&TestTill],
) -> (
    BTreeMap<String, (i64, i64)>,
    BTreeMap<(String, String), i64>,
) {
    let mut customers = BTreeMap::new();
    let mut stock = BTreeMap::new();
    for till in tills {
        for record in till.records(Chain::Ticket) {
            let ticket: Ticket = serde_json::from_value(record.record.payload.clone()).unwrap();
            if let Some(c) = &ticket.customer {
                let e: &mut (i64, i64) = customers.entry(c.clone()).or_default();
                e.0 += 1;
                e.1 += ticket.total.cents();
            }
            for line in &ticket.lines {
                // A returned line (of a return, cancellation or exchange) puts goods back.
                let sign = if line.is_returned() { 1 } else { -1 };
                let (unit, n) = match line.quantity {
                    Quantity::Units(n) => ("units", n),
                    Quantity::Grams(g) => ("grams", g),
                };
                *stock
                    .entry((line.product_id.clone(), unit.to_string()))
                    .or_default() += sign * i64::from(n);
            }
        }
    }
    stock.retain(|_, n| *n != 0);
    (customers, stock)
}

fn of_type<'a>(events: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with(prefix))
        .collect()
}

async fn customer_purchase_and_stock_events_match_the_tickets(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    // Two tills of one shop; their uploads interleave in batches of different sizes.
    let mut tills = Vec::new();
    for (id, secret, seed) in [("PARIS-OPERA-1", 41, 3), ("PARIS-OPERA-2", 42, 4)] {
        let code = server.create_till(SHOP_A, id).await;
        let till = TestTill::new(id, secret, 40, 3, seed);
        let token = server.enroll(&code, &till).await.token;
        tills.push((id, till, token));
    }
    let first = tills[0].1.batches(7);
    let second = tills[1].1.batches(13);
    for i in 0..first.len().max(second.len()) {
        if let Some(chains) = first.get(i) {
            server.upload(&tills[0].2, tills[0].0, chains.clone()).await;
        }
        if let Some(chains) = second.get(i) {
            server.upload(&tills[1].2, tills[1].0, chains.clone()).await;
        }
    }
    let events = server.feed_all().await;
    assert_eq!(
        facts(&events),
        tills[0].1.fact_count() + tills[1].1.fact_count(),
        "what the events say does not depend on how the uploads were batched"
    );
    let (customers, stock) = expected(&[&tills[0].1, &tills[1].1]);
    assert!(!customers.is_empty() && !stock.is_empty());

    // Purchases: one per ticket naming a customer, under the customer's subject.
    let purchases = of_type(&events, "pos.crm.purchase.recorded");
    let customer_tickets: i64 = customers.values().map(|c| c.0).sum();
    assert_eq!(purchases.len() as i64, customer_tickets);
    for p in &purchases {
        let customer = p["data"]["customer"].as_str().unwrap();
        assert_eq!(p["subject"], format!("customers/{customer}"));
        assert!(!p["data"]["lines"].as_array().unwrap().is_empty());
    }

    // Customers: created once, then updated per ticket; the last event holds the totals.
    let mut seen: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for e in of_type(&events, "pos.crm.customer.") {
        seen.entry(e["data"]["customer"].as_str().unwrap())
            .or_default()
            .push(e);
    }
    assert_eq!(seen.len(), customers.len(), "every customer has events");
    for (customer, list) in &seen {
        assert_eq!(list[0]["type"], "pos.crm.customer.created");
        assert!(
            list[1..]
                .iter()
                .all(|e| e["type"] == "pos.crm.customer.updated"),
            "{customer} is created once"
        );
        for (i, e) in list.iter().enumerate() {
            assert_eq!(
                e["data"]["version"],
                i as u64 + 1,
                "versions follow each other"
            );
        }
        let (tickets, total) = customers[*customer];
        let last = &list.last().unwrap()["data"];
        assert_eq!(last["tickets"], tickets);
        assert_eq!(
            last["total"],
            pos_domain::Money::from_cents(total).to_string(),
            "{customer}'s total is the sum of their tickets"
        );
    }

    // Stock: per shop and product, the last level is the net quantity moved, each level the
    // previous one plus the change.
    let mut levels: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for e in of_type(&events, "pos.stock.level.changed") {
        let d = &e["data"];
        assert_eq!(d["shop"], SHOP_A);
        let key = (
            d["product"].as_str().unwrap().to_string(),
            d["unit"].as_str().unwrap().to_string(),
        );
        let (level, version) = levels.entry(key).or_default();
        assert_eq!(
            d["level"].as_i64().unwrap(),
            *level + d["change"].as_i64().unwrap()
        );
        assert_eq!(d["version"].as_i64().unwrap(), *version + 1);
        *level = d["level"].as_i64().unwrap();
        *version += 1;
    }
    let net: BTreeMap<(String, String), i64> = levels
        .into_iter()
        .map(|(k, (level, _))| (k, level))
        .filter(|(_, level)| *level != 0)
        .collect();
    assert_eq!(
        net, stock,
        "levels equal the net quantities the shop's tills moved"
    );
    server.stop().await;
}
