//! The till's own sync client (`pos_till::Till::enroll` and `sync`, what `till enroll` and
//! `till sync` run) against the real server over HTTP, on every backend: enrollment, catch-up
//! in batches, no-op resends, new sales only, two syncs of one till at once, a server that
//! holds more than the till knows, and totals at head office equal to the till's.

mod support;

use pos_domain::record::Chain;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(
    the_till_client_enrolls_and_catches_up_exactly_once,
    a_catch_up_in_many_batches_two_in_flight_is_held_whole,
    a_till_that_believes_head_office_holds_more_than_it_does_sends_it_all,
    two_syncs_of_one_till_never_upload_twice,
);

const TILL: &str = "PARIS-OPERA-9";

async fn head_office_total_cents(server: &Server) -> i64 {
    let (status, answer) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let total: pos_domain::Money = serde_json::from_value(answer["total"].clone()).unwrap();
    total.cents()
}

/// The ticket chain's line of a sync pass.
fn ticket_line(summary: &pos_till::sync::SyncSummary) -> &pos_till::sync::ChainSync {
    summary
        .chains
        .iter()
        .find(|c| c.chain == Chain::Ticket)
        .expect("the ticket chain is in every pass")
}

/// Checks head office's total sales against `cents`, the till's.
async fn assert_head_office_total(server: &Server, cents: i64, what: &str) {
    assert_eq!(head_office_total_cents(server).await, cents, "{what}");
}

async fn held_by_server(server: &Server) -> Value {
    let (status, fleet) = server
        .get("/api/v1/hq/fleet", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{fleet}");
    fleet
}

async fn the_till_client_enrolls_and_catches_up_exactly_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let code = server.create_till(SHOP_A, TILL).await;
    // A week of trading offline: several hundred records over every chain.
    let t = TestTill::new(TILL, 21, 700, 7, 3);
    let total_cents = t.ticket_total_cents();
    let TestTill {
        dir: _dir,
        path,
        till,
        ..
    } = t;
    let url = server.url.clone();
    let (till, first) = blocking(move || {
        let mut till = till;
        till.enroll(&url, &code)
            .expect("enrollment with the one-time code");
        let summary = till.sync(|_, _, _| {}).expect("the first sync");
        (till, summary)
    })
    .await;
    assert_eq!(
        first.waiting, 0,
        "after one pass head office holds everything: {first:?}"
    );
    for chain in &first.chains {
        assert_eq!(chain.status, "ok", "{chain:?}");
        assert_eq!(chain.held, chain.local, "{chain:?}");
    }
    let tickets = ticket_line(&first);
    assert!(tickets.local > 500, "the ticket chain needs two batches");
    assert!(
        first.uploads >= 8,
        "one upload per chain and two for the tickets, in batches of at most 500 ({} uploads)",
        first.uploads
    );
    assert_head_office_total(&server, total_cents, "head office totals equal the till's").await;

    let (till, again) = blocking(move || {
        let mut till = till;
        let summary = till.sync(|_, _, _| {}).expect("a second sync");
        (till, summary)
    })
    .await;
    let sent: u64 = again.chains.iter().map(|c| c.sent).sum();
    assert_eq!(sent, 0, "nothing is sent twice: {again:?}");

    // The till crashed after head office committed but before it marked the records synced:
    // it sends them again, head office takes them as no-ops, and nothing is counted twice.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE sync_held SET held = 0", [])
        .unwrap();
    let (mut till, resent) = blocking(move || {
        let mut till = till;
        let summary = till.sync(|_, _, _| {}).expect("a sync after a lost mark");
        (till, summary)
    })
    .await;
    assert!(
        resent.chains.iter().map(|c| c.sent).sum::<u64>() > 0,
        "records were sent again"
    );
    assert_eq!(resent.waiting, 0);
    assert_head_office_total(&server, total_cents, "resends are no-ops").await;

    // A new sale goes up, and only once.
    let sale = SaleRequest {
        lines: vec![SaleLineRequest {
            product_id: Some("ACC-CBL-CC1".into()),
            ..Default::default()
        }],
        tenders: vec![pos_domain::tender::Tender {
            kind: pos_domain::tender::TenderKind::Cash,
            amount: pos_domain::Money::from_cents(1490),
            reference: None,
            payment: None,
        }],
        ..Default::default()
    };
    till.sell(&sale).unwrap();
    let third = blocking(move || till.sync(|_, _, _| {}).expect("a third sync")).await;
    assert_eq!(third.waiting, 0);
    let tickets = ticket_line(&third);
    assert_eq!(tickets.sent, 1, "only the new ticket goes up: {tickets:?}");
    assert_head_office_total(&server, total_cents + 1490, "the new sale is counted once").await;
    let fleet = held_by_server(&server).await;
    assert!(
        fleet.to_string().contains(TILL),
        "head office sees the till: {fleet}"
    );
    server.stop().await;
}

/// Head office takes 25 records per upload: the till's catch-up is dozens of uploads, two in
/// flight at once, which head office writes in order.
async fn a_catch_up_in_many_batches_two_in_flight_is_held_whole(backend: Backend) {
    let config = sync_server::ServerConfig {
        max_records_per_upload: 25,
        ..sync_server::ServerConfig::default()
    };
    let Some(server) = Server::start_with(backend, config).await else {
        return;
    };
    let t = enroll(&server, SHOP_A, TILL, TestTill::new(TILL, 23, 400, 3, 5)).await;
    let total_cents = t.ticket_total_cents();
    let (_t, summary) = on_till(t, |till| till.sync(|_, _, _| {}).expect("the catch-up")).await;
    assert_eq!(summary.waiting, 0, "{summary:?}");
    let mut records = 0;
    for chain in &summary.chains {
        assert_eq!(chain.status, "ok", "{chain:?}");
        assert_eq!(chain.held, chain.local, "{chain:?}");
        assert!(chain.sent >= chain.local, "{chain:?}");
        records += chain.local;
    }
    let tickets = ticket_line(&summary);
    assert!(
        summary.uploads >= tickets.local / 25,
        "batches of 25 at most: {summary:?}"
    );
    assert_eq!(
        server.store.record_count(TILL).await.unwrap(),
        records,
        "head office holds every record once"
    );
    assert_head_office_total(&server, total_cents, "head office totals equal the till's").await;
    server.stop().await;
}

/// A till whose mark says head office holds its tickets (head office restored from a backup,
/// say) asks first, hears that it holds none, and sends them all in the same pass.
async fn a_till_that_believes_head_office_holds_more_than_it_does_sends_it_all(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let t = enroll(&server, SHOP_A, TILL, TestTill::new(TILL, 29, 120, 2, 3)).await;
    let total_cents = t.ticket_total_cents();
    let tickets = t.till.chain_length(Chain::Ticket).unwrap();
    rusqlite::Connection::open(&t.path)
        .unwrap()
        .execute(
            "INSERT INTO sync_held (chain, held) VALUES ('ticket', ?1)
             ON CONFLICT (chain) DO UPDATE SET held = excluded.held",
            [tickets as i64],
        )
        .unwrap();
    let (_t, summary) = on_till(t, |till| till.sync(|_, _, _| {}).expect("the sync")).await;
    let line = ticket_line(&summary);
    assert_eq!(line.held_before, tickets, "{line:?}");
    assert_eq!(
        line.held, tickets,
        "head office holds them all now: {line:?}"
    );
    assert_eq!(line.sent, tickets, "each sent once: {line:?}");
    assert_eq!(summary.waiting, 0, "{summary:?}");
    assert_head_office_total(&server, total_cents, "head office totals equal the till's").await;
    server.stop().await;
}

async fn two_syncs_of_one_till_never_upload_twice(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let t = enroll(&server, SHOP_A, TILL, TestTill::new(TILL, 22, 200, 3, 4)).await;
    let total_cents = t.ticket_total_cents();
    let path = t.path.clone();
    let clock = t.clock.clone();
    // The ledger stays on disk (the test till's directory) for the two processes below.
    let TestTill { dir: _dir, .. } = t;
    // Two processes of the same till (two windows, a stuck sync and a new one) start at once.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || {
                let mut till = pos_till::Till::open(&path, clock).unwrap();
                till.sync(|_, _, _| {})
            })
        })
        .collect();
    let mut finished = 0;
    for run in runs {
        match run.await.unwrap() {
            Ok(summary) => {
                finished += 1;
                assert!(
                    summary.chains.iter().all(|c| c.status == "ok"),
                    "{summary:?}"
                );
            }
            Err(error) => assert_eq!(
                error.code(),
                "sync_running",
                "the other sync waits: {error}"
            ),
        }
    }
    assert!(finished >= 1, "at least one sync ran");
    let last = blocking(move || {
        pos_till::Till::open(&path, clock)
            .unwrap()
            .sync(|_, _, _| {})
            .unwrap()
    })
    .await;
    assert_eq!(last.waiting, 0);
    assert_head_office_total(&server, total_cents, "no ticket counted twice").await;
    server.stop().await;
}
