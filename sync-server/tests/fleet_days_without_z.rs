//! The fleet's days with sales and no Z, on every backend: computed at head office from the
//! tickets and day closures a real till uploads over HTTP, shown per till in
//! `GET /api/v1/hq/fleet`, and cleared when the till's late closure (one Z per open day)
//! arrives.

mod support;

use pos_domain::closure::ClosureLevel;
use pos_domain::tender::{Tender, TenderKind};
use pos_till::requests::{SaleLineRequest, SaleRequest};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(the_fleet_shows_each_tills_days_with_sales_and_no_z);

const TILL: &str = "PARIS-OPERA-3";

/// A case sold for cash at the till's clock.
fn sell_a_case(till: &mut pos_till::Till) {
    till.sell(&SaleRequest {
        lines: vec![SaleLineRequest {
            product_id: Some("ACC-COQ-S25".into()),
            ..SaleLineRequest::default()
        }],
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: "19.99".parse().unwrap(),
            reference: None,
            payment: None,
        }],
        ..SaleRequest::default()
    })
    .expect("a cash sale");
}

/// Ten in the morning, Paris summer time, of a day of 2026.
fn morning(day: &str) -> chrono::DateTime<chrono::Utc> {
    format!("{day}T08:00:00Z").parse().unwrap()
}

async fn days_without_z(server: &Server, till: &str) -> Vec<String> {
    let (status, fleet) = server
        .get("/api/v1/hq/fleet", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{fleet}");
    let entry = fleet
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["till_id"] == till)
        .unwrap_or_else(|| panic!("{till} in the fleet: {fleet}"))
        .clone();
    serde_json::from_value::<Vec<String>>(entry["days_without_z"].clone())
        .unwrap_or_else(|_| panic!("days_without_z is a list of days: {entry}"))
}

async fn the_fleet_shows_each_tills_days_with_sales_and_no_z(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let code = server.create_till(SHOP_A, TILL).await;
    let quiet = enrolled_till(&server, SHOP_A, "PARIS-OPERA-4", 44).await;
    let url = server.url.clone();
    // A day of demo trading (29 March), closed; then sales on the 30th and 31st, not closed.
    let till = blocking(move || {
        let mut t = TestTill::new(TILL, 43, 3, 1, 7);
        t.till.enroll(&url, &code).expect("enrollment");
        t.till
            .close("manager", ClosureLevel::Day)
            .expect("the Z of the 29th");
        for day in ["2026-03-30", "2026-03-31"] {
            t.clock.set(morning(day));
            sell_a_case(&mut t.till);
        }
        t.till.sync(|_, _, _| {}).expect("upload");
        t
    })
    .await;

    assert_eq!(
        days_without_z(&server, TILL).await,
        ["2026-03-30", "2026-03-31"],
        "the fleet lists each past day the till sold on and head office holds no Z of, and \
         not the day it closed"
    );
    assert_eq!(
        days_without_z(&server, "PARIS-OPERA-4").await,
        Vec::<String>::new(),
        "a till that sold nothing has no day to close"
    );

    // The late closure on 1 April: one Z per open day, and the list empties.
    blocking(move || {
        let mut t = till;
        t.clock.set(morning("2026-04-01"));
        let closures = t
            .till
            .close_all("manager", ClosureLevel::Day)
            .expect("the late closure");
        assert!(closures.len() >= 2, "a Z per open day: {closures:?}");
        t.till.sync(|_, _, _| {}).expect("upload");
        drop(quiet);
    })
    .await;
    assert_eq!(
        days_without_z(&server, TILL).await,
        Vec::<String>::new(),
        "the late closure's Z of each day clears the days without a Z"
    );

    let (_, region_fleet) = server
        .get("/api/v1/hq/fleet?limit=1", Some(&server.admin_token))
        .await;
    assert!(
        matches!(&region_fleet, Value::Array(tills) if tills.len() == 1),
        "{region_fleet}"
    );
    server.stop().await;
}
