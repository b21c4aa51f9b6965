//! Customers made at the tills, on every backend, with real HTTP between the till engines and
//! the server: a customer created at one till reaches head office, the CRM (with their contact
//! details) and the shop's other till; a change made at the other till wins over an older change
//! made offline at the first; a sale naming the customer carries their details to the CRM; a
//! resent upload changes nothing; malformed customers and foreign tills are refused; a customer
//! erased at head office disappears from the tills and the events, and a till's late change
//! cannot bring them back.

mod support;

use chrono::Duration;
use pos_domain::Money;
use pos_domain::customer::{ContactInput, Customer};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::wire::CustomersUpload;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

on_every_backend!(
    customers_reach_the_crm_and_the_shops_other_till_and_the_later_change_wins,
    customer_uploads_are_idempotent_checked_and_per_till,
    an_erased_customer_is_gone_everywhere_and_stays_gone,
);

const TILL_1: &str = "PARIS-OPERA-1";
const TILL_2: &str = "PARIS-OPERA-2";

fn contact(name: &str, phone: Option<&str>, email: Option<&str>) -> ContactInput {
    ContactInput {
        name: name.into(),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
    }
}

fn customer_events<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            e["type"]
                .as_str()
                .unwrap_or("")
                .starts_with("pos.crm.customer.")
                && e["data"]["customer"] == id
        })
        .collect()
}

async fn customers_reach_the_crm_and_the_shops_other_till_and_the_later_change_wins(
    backend: Backend,
) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let one = enrolled_till(&server, SHOP_A, TILL_1, 51).await;
    let two = enrolled_till(&server, SHOP_A, TILL_2, 52).await;

    // Created at the first till, offline, then synced.
    let (one, zoe) = on_till(one, |t| {
        let zoe = t
            .create_customer(
                &contact("Zoé Lefèvre", Some("06 12 34 56 78"), None),
                [9; 16],
            )
            .unwrap();
        let summary = t.sync(|_, _, _| {}).expect("sync");
        assert_eq!(summary.customers_uploaded, 1);
        assert_eq!(t.customers_waiting().unwrap(), 0, "acknowledged");
        zoe
    })
    .await;
    let stored = server
        .store
        .customer_contact(&zoe.id)
        .await
        .unwrap()
        .expect("head office holds the customer");
    assert_eq!(stored, zoe);
    let events = server.feed_all().await;
    let created = customer_events(&events, &zoe.id);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["type"], "pos.crm.customer.created");
    assert_eq!(created[0]["data"]["name"], "Zoé Lefèvre");
    assert_eq!(created[0]["data"]["phone"], "+33612345678");
    assert_eq!(created[0]["data"]["first_shop"], SHOP_A);

    // The shop's other till receives her and finds her by phone; meanwhile the first till
    // changes her e-mail offline, before the second till changes her name.
    let id = zoe.id.clone();
    let (two, found) = on_till(two, move |t| {
        let summary = t.sync(|_, _, _| {}).expect("sync");
        assert_eq!(summary.download.customers, 1);
        t.search_customers("06 12 34", 5).unwrap()
    })
    .await;
    assert_eq!(found, vec![zoe.clone()]);
    one.clock.advance(Duration::minutes(10));
    let (one, offline) = on_till(one, move |t| {
        t.update_customer(
            &id,
            &contact(
                "Zoé Lefèvre",
                Some("06 12 34 56 78"),
                Some("zoe@old.example.fr"),
            ),
        )
        .unwrap()
    })
    .await;
    two.clock.advance(Duration::minutes(20));
    let id = zoe.id.clone();
    let (two, renamed) = on_till(two, move |t| {
        let renamed = t
            .update_customer(
                &id,
                &contact("Zoé Martin", Some("06 12 34 56 78"), Some("zoe@example.fr")),
            )
            .unwrap();
        assert_eq!(t.sync(|_, _, _| {}).unwrap().customers_uploaded, 1);
        renamed
    })
    .await;
    assert!(renamed.supersedes(&offline));

    // The first till's older change is acknowledged but kept out; it then receives the later.
    let id = zoe.id.clone();
    let (one, mine) = on_till(one, move |t| {
        let summary = t.sync(|_, _, _| {}).expect("sync");
        assert_eq!(
            summary.customers_uploaded, 0,
            "an older change is not stored"
        );
        assert_eq!(t.customers_waiting().unwrap(), 0);
        t.customer(&id).unwrap().unwrap()
    })
    .await;
    assert_eq!(mine, renamed, "the later change wins at the till");
    assert_eq!(
        server.store.customer_contact(&zoe.id).await.unwrap(),
        Some(renamed.clone()),
        "and at head office"
    );

    // A sale naming her: the purchase, and her figures with her details, reach the CRM.
    let id = zoe.id.clone();
    let (_one, _) = on_till(one, move |t| {
        t.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
            .unwrap();
        t.sell(&SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                product_id: Some("ACC-BAT-10K".into()),
                quantity: Some(1),
                ..Default::default()
            }],
            tenders: vec![Tender {
                kind: TenderKind::Cash,
                amount: Money::from_cents(3490),
                reference: None,
                payment: None,
            }],
            customer: Some(id),
            ..Default::default()
        })
        .expect("a sale to a known customer");
        t.sync(|_, _, _| {}).expect("sync");
    })
    .await;
    let events = server.feed_all().await;
    let list = customer_events(&events, &zoe.id);
    let types: Vec<&str> = list.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "pos.crm.customer.created",
            "pos.crm.customer.updated",
            "pos.crm.customer.updated"
        ],
        "created, renamed, then a purchase"
    );
    let last = &list[2]["data"];
    assert_eq!(last["name"], "Zoé Martin");
    assert_eq!(last["email"], "zoe@example.fr");
    assert_eq!(last["tickets"], 1);
    assert_eq!(last["total"], "34.90");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "pos.crm.purchase.recorded" && e["data"]["customer"] == zoe.id)
    );
    drop(two);
    server.stop().await;
}

async fn customer_uploads_are_idempotent_checked_and_per_till(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let code = server.create_till(SHOP_A, TILL_1).await;
    let till = TestTill::new(TILL_1, 53, 0, 1, 1);
    let token = server.enroll(&code, &till).await.token;
    let zoe = Customer {
        id: pos_domain::customer::new_id([3; 16]),
        name: "Zoé".into(),
        phone: Some("+33612345678".into()),
        email: None,
        created_at: start_time(),
        updated_at: start_time(),
    };
    let path = format!("/api/v1/tills/{TILL_1}/customers");
    let body = serde_json::to_value(CustomersUpload {
        customers: vec![zoe.clone()],
    })
    .unwrap();
    let (status, answer) = server.post_json(&path, Some(&token), &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"stored": 1, "unchanged": 0}));
    let (status, answer) = server.post_json(&path, Some(&token), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"stored": 0, "unchanged": 1}),
        "a resend is a no-op"
    );
    let events = server.feed_all().await;
    assert_eq!(customer_events(&events, &zoe.id).len(), 1, "one event only");

    // Malformed: the whole upload is refused, and what was stored stays.
    let renamed = Customer {
        name: "Zoé Martin".into(),
        updated_at: start_time() + Duration::hours(1),
        ..zoe.clone()
    };
    let unnormalized = Customer {
        id: pos_domain::customer::new_id([4; 16]),
        phone: Some("06 12 34 56 78".into()),
        ..zoe.clone()
    };
    let (status, answer) = server
        .post_json(
            &path,
            Some(&token),
            &json!({"customers": [renamed, unnormalized]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("E.164"),
        "{answer}"
    );
    assert_eq!(
        server.store.customer_contact(&zoe.id).await.unwrap(),
        Some(zoe.clone())
    );

    // Another till's path, or no token: refused.
    let (status, _) = server
        .post_json(
            &format!("/api/v1/tills/{TILL_2}/customers"),
            Some(&token),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.post_json(&path, None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    drop(till);
    server.stop().await;
}

async fn an_erased_customer_is_gone_everywhere_and_stays_gone(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let one = enrolled_till(&server, SHOP_A, TILL_1, 54).await;
    let two = enrolled_till(&server, SHOP_A, TILL_2, 55).await;
    let (one, zoe) = on_till(one, |t| {
        let zoe = t
            .create_customer(
                &contact(
                    "Zoé Lefèvre",
                    Some("06 12 34 56 78"),
                    Some("zoe@example.fr"),
                ),
                [8; 16],
            )
            .unwrap();
        t.sync(|_, _, _| {}).expect("sync");
        zoe
    })
    .await;
    // The other till has her, and changes her offline before hearing of the erasure.
    two.clock.advance(Duration::minutes(5));
    let id = zoe.id.clone();
    let (two, _) = on_till(two, move |t| {
        t.sync(|_, _, _| {}).expect("sync");
        t.update_customer(&id, &contact("Zoé Martin", Some("06 12 34 56 78"), None))
            .unwrap();
    })
    .await;

    let db = server.db_url.clone();
    let id = zoe.id.clone();
    let answer =
        blocking(move || sync_server_json(&db, &["admin", "customer", "erase", &id])).await;
    assert_eq!(answer["erased"], true);
    assert_eq!(server.store.customer_contact(&zoe.id).await.unwrap(), None);
    let events = server.feed_all().await;
    let text = serde_json::to_string(&events).unwrap();
    for personal in ["Zoé", "Lefèvre", "+33612345678", "zoe@example.fr"] {
        assert!(!text.contains(personal), "no event keeps {personal}");
    }
    let list = customer_events(&events, &zoe.id);
    assert_eq!(
        list[0]["type"], "pos.crm.customer.created",
        "the event stays, scrubbed"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "pos.crm.customer.erased" && e["data"]["customer"] == zoe.id)
    );

    let id = zoe.id.clone();
    let (_one, gone) = on_till(one, move |t| {
        t.sync(|_, _, _| {}).expect("sync");
        t.customer(&id).unwrap()
    })
    .await;
    assert_eq!(gone, None, "erased at the till that made her");
    let id = zoe.id.clone();
    let (_two, (uploaded, gone)) = on_till(two, move |t| {
        let summary = t.sync(|_, _, _| {}).expect("sync");
        (summary.customers_uploaded, t.customer(&id).unwrap())
    })
    .await;
    assert_eq!(uploaded, 0, "a late change does not bring her back");
    assert_eq!(gone, None, "erased at the other till, its change with her");
    assert_eq!(server.store.customer_contact(&zoe.id).await.unwrap(), None);
    server.stop().await;
}
