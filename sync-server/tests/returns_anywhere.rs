//! Returns at any till, with real tills against a real head office over HTTP, on every storage
//! backend (issue 12):
//!
//! - online: a ticket of one till is found by a till of the same shop and by a till of another
//!   shop, with every return already made against it; a return is reserved then recorded, and
//!   names the original till and ticket; two tills reserving the last unit at once get one
//!   grant between them;
//! - offline: a return of another till's ticket needs a manager's approval; two such returns
//!   of the one unit sold, once synced, raise an over-return alarm, also when they sync before
//!   the sale does;
//! - a lookup whose receipt proof does not match is 404 `ticket_unknown`, as an unknown ticket.

mod support;

use pos_domain::Money;
use pos_domain::returns_anywhere::ReceiptRef;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{ReturnLine, TicketKind};
use pos_domain::wire::{ProtocolVersion, ReturnReservation, TicketLookupAnswer};
use pos_till::Till;
use pos_till::demo::demo_catalog;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::returns_anywhere::ReturnAnywhereRequest;
use pos_till::staff::StaffRole;
use reqwest::StatusCode;
use support::*;

on_every_backend!(
    online_returns_at_any_till_see_each_other_and_one_of_two_racing_wins,
    offline_returns_need_a_manager_and_over_returns_are_alarmed_after_sync,
    returns_synced_before_their_sale_are_checked_when_the_sale_arrives,
);

const CASE: &str = "ACC-COQ-IP16"; // 29.99
const SELLER: &str = "OPERA-R1";

fn cash(cents: i64) -> Tender {
    Tender {
        kind: TenderKind::Cash,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

/// An enrolled till of `shop` with the demo catalog and a manager, bruno.
async fn shop_till(server: &Server, shop: &str, id: &str, secret: u8) -> TestTill {
    let t = enrolled_till(server, shop, id, secret).await;
    on_till(t, |till| {
        till.import_catalog(&demo_catalog().unwrap(), "demo")
            .unwrap();
        till.add_staff("bruno", "Bruno", StaffRole::Manager, "9999", [1; 16])
            .unwrap();
    })
    .await
    .0
}

fn sync(till: &mut Till) {
    till.sync(|_, _, _| {}).expect("the till syncs");
}

/// The seller's ticket 1: `units` cases paid in cash, synced.
async fn sold(server: &Server, units: i64) -> TestTill {
    sold_then(server, units, true).await
}

/// The seller's ticket 1, synced or not yet.
async fn sold_then(server: &Server, units: i64, synced: bool) -> TestTill {
    let t = shop_till(server, SHOP_A, SELLER, 81).await;
    on_till(t, move |till| {
        let sale = till
            .sell(&SaleRequest {
                operator: Some("alice".into()),
                lines: vec![SaleLineRequest {
                    product_id: Some(CASE.into()),
                    quantity: Some(units),
                    ..Default::default()
                }],
                tenders: vec![cash(2999 * units)],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(sale.number, 1);
        if synced {
            sync(till);
        }
    })
    .await
    .0
}

fn receipt() -> ReceiptRef {
    ReceiptRef {
        till: SELLER.into(),
        ticket: 1,
        hash_prefix: None,
    }
}

fn one_unit() -> Vec<ReturnLine> {
    vec![ReturnLine {
        line: 1,
        quantity: 1,
        serials: vec![],
    }]
}

fn reservation(id: &str) -> ReturnReservation {
    ReturnReservation {
        protocol: ProtocolVersion::CURRENT,
        reservation: id.into(),
        original_till: SELLER.into(),
        original_ticket: 1,
        lines: one_unit(),
        seconds: 120,
    }
}

fn look_up(till: &Till) -> TicketLookupAnswer {
    till.lookup_ticket(&receipt())
        .expect("head office answers")
        .expect("head office has the route")
}

/// Reserves one unit of the seller's ticket and, if granted, records its return and syncs.
fn reserve_and_return(till: &mut Till, id: &str) -> bool {
    let found = look_up(till);
    let answer = till
        .reserve_return(&reservation(id))
        .expect("head office answers")
        .expect("head office has the route");
    if !answer.granted {
        assert!(answer.refused.is_some(), "a refusal says why: {answer:?}");
        return false;
    }
    let back = till
        .return_anywhere(&ReturnAnywhereRequest {
            operator: Some("alice".into()),
            receipt: Some(format!("{SELLER}:1")),
            found: Some(found),
            lines: one_unit(),
            tenders: Some(vec![cash(-2999)]),
            ..Default::default()
        })
        .expect("the reserved return is recorded");
    assert_eq!(back.ticket.kind, TicketKind::Return);
    assert_eq!(
        (back.ticket.original_till.as_deref(), back.ticket.original),
        (Some(SELLER), Some(1)),
        "the return names the original till and ticket"
    );
    sync(till);
    true
}

async fn online_returns_at_any_till_see_each_other_and_one_of_two_racing_wins(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let _seller = sold(&server, 2).await;
    let neighbour = shop_till(&server, SHOP_A, "OPERA-R2", 82).await;
    let lyon = shop_till(&server, SHOP_B, "LYON-R1", 83).await;
    let far = shop_till(&server, SHOP_B, "LYON-R2", 84).await;

    // A till of the same shop takes one of the two cases back.
    let (neighbour, returned) =
        on_till(neighbour, |till| reserve_and_return(till, "opera-r2-1")).await;
    assert!(returned, "one of two units is returnable");

    // Another shop's till sees that return.
    let (lyon, found) = on_till(lyon, |till| look_up(till)).await;
    assert_eq!(found.original.till, SELLER);
    assert_eq!(found.original.shop, SHOP_A);
    assert_eq!(
        found.returns.len(),
        1,
        "the lookup shows the return made at the other till"
    );
    assert_eq!(found.returns[0].till, "OPERA-R2");

    // Two tills of another shop race for the last unit: exactly one wins.
    let ((lyon, a), (far, b)) = tokio::join!(
        on_till(lyon, |till| reserve_and_return(till, "lyon-r1-1")),
        on_till(far, |till| reserve_and_return(till, "lyon-r2-1")),
    );
    assert_eq!(
        [a, b].iter().filter(|won| **won).count(),
        1,
        "two returns of the last unit at once: exactly one succeeds"
    );
    let (_lyon, found) = on_till(lyon, |till| look_up(till)).await;
    assert_eq!(found.returns.len(), 2, "both units are back, once each");
    let (_far, again) = on_till(far, |till| {
        till.reserve_return(&reservation("lyon-r2-2"))
            .unwrap()
            .unwrap()
    })
    .await;
    assert!(!again.granted, "nothing is left to return");
    let _ = neighbour;

    // A wrong receipt proof is answered as an unknown ticket.
    let t = shop_till(&server, SHOP_B, "LYON-R3", 85).await;
    let (_t, wrong) = on_till(t, |till| {
        till.lookup_ticket(&ReceiptRef {
            hash_prefix: Some("0000000000000000".into()),
            ..receipt()
        })
    })
    .await;
    match wrong {
        Err(pos_till::TillError::Server { code, .. }) => assert_eq!(code, "ticket_unknown"),
        other => panic!("a wrong receipt proof is refused as unknown, not {other:?}"),
    }
    assert!(
        alarms(&server, "over_returned").await.is_empty(),
        "online returns never exceed what was sold"
    );
    server.stop().await;
}

async fn alarms(server: &Server, kind: &str) -> Vec<serde_json::Value> {
    let (status, body) = server
        .get("/api/v1/hq/alarms?limit=500", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

async fn offline_returns_need_a_manager_and_over_returns_are_alarmed_after_sync(backend: Backend) {
    over_returns(backend, true).await
}

async fn returns_synced_before_their_sale_are_checked_when_the_sale_arrives(backend: Backend) {
    over_returns(backend, false).await
}

/// One case sold (synced first, or after the returns), taken back offline at two tills.
async fn over_returns(backend: Backend, sale_first: bool) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let seller = sold_then(&server, 1, sale_first).await;
    let opera = shop_till(&server, SHOP_A, "OPERA-R4", 86).await;
    let lyon = shop_till(&server, SHOP_B, "LYON-R4", 87).await;
    let request = |approved_by: Option<&str>| ReturnAnywhereRequest {
        operator: Some("alice".into()),
        receipt: Some(format!("{SELLER}:1")),
        items: vec![SaleLineRequest {
            product_id: Some(CASE.into()),
            quantity: Some(1),
            ..Default::default()
        }],
        approved_by: approved_by.map(str::to_string),
        tenders: Some(vec![cash(-2999)]),
        ..Default::default()
    };
    // Head office is not asked (out of reach): each till takes the one case back offline.
    let mut tills = Vec::new();
    for t in [opera, lyon] {
        let (without, with) = (request(None), request(Some("bruno")));
        let (t, ()) = on_till(t, move |till| {
            let err = till.return_anywhere(&without).unwrap_err();
            assert_eq!(
                err.code(),
                "manager_approval_required",
                "offline, a return of another till's ticket needs a manager: {err}"
            );
            let back = till.return_anywhere(&with).expect("approved by a manager");
            assert_eq!(back.ticket.original_till.as_deref(), Some(SELLER));
        })
        .await;
        tills.push(t);
    }
    assert!(alarms(&server, "over_returned").await.is_empty());
    for t in tills {
        on_till(t, sync).await;
    }
    if !sale_first {
        assert!(
            alarms(&server, "over_returned").await.is_empty(),
            "the sale is not held yet: nothing to compare with"
        );
        on_till(seller, sync).await;
    }
    let over = alarms(&server, "over_returned").await;
    assert_eq!(
        over.len(),
        1,
        "the second return synced takes back more than was sold: one alarm: {over:?}"
    );
    assert!(
        over[0]["reason"].as_str().unwrap().contains(SELLER),
        "the alarm names the original: {}",
        over[0]
    );
    let t = shop_till(&server, SHOP_B, "LYON-R5", 88).await;
    let (_t, found) = on_till(t, |till| look_up(till)).await;
    assert_eq!(
        found.returns.len(),
        2,
        "the lookup shows both offline returns"
    );
    server.stop().await;
}
