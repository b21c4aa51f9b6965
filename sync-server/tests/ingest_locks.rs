//! PostgreSQL only (SQLite has one writer by design): uploads of different tills hold nothing
//! shared by every till until their last statements. An upload held up on one customer's row
//! holds back neither the chain-wide sales rollups nor the outbox, so another shop's upload of
//! the same day goes through meanwhile, and the held upload's figures are right once it goes on.

// PostgreSQL only: the support module's per-backend macro is not used here.
#[allow(unused_macros, unused_imports)]
mod support;

use std::time::Duration;

use pos_domain::record::{Chain, SignedRecord};
use pos_domain::wire::ChainOutcome;
use support::*;

/// The customer a ticket record names, if any.
fn customer_of(record: &SignedRecord) -> Option<String> {
    record.record.payload["customer"]
        .as_str()
        .map(str::to_string)
}

/// A customer `a` names, and the longest run of `b`'s first tickets that does not name it.
fn customer_named_by_a_only(a: &[SignedRecord], b: &[SignedRecord]) -> (String, usize) {
    a.iter()
        .filter_map(customer_of)
        .map(|c| {
            let prefix = b
                .iter()
                .take_while(|r| customer_of(r).as_deref() != Some(c.as_str()))
                .count();
            (c, prefix)
        })
        .max_by_key(|(_, prefix)| *prefix)
        .expect("the demo tickets name customers")
}

/// Sessions of the database waiting on a row or transaction lock in an insert of customers.
async fn waiting_on_customers(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO customers%'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_held_up_on_a_customer_holds_back_no_other_shop() {
    let Some(server) = Server::start(Backend::Postgres).await else {
        return;
    };
    let a = TestTill::new("TILL-A", 7, 40, 1, 11);
    let b = TestTill::new("TILL-B", 8, 40, 1, 12);
    let code_a = server.create_till(SHOP_A, "TILL-A").await;
    let code_b = server.create_till(SHOP_B, "TILL-B").await;
    let token_a = server.enroll(&code_a, &a).await.token;
    let token_b = server.enroll(&code_b, &b).await.token;
    let tickets_a = a.records(Chain::Ticket);
    let tickets_b = b.records(Chain::Ticket);
    let (customer, prefix) = customer_named_by_a_only(&tickets_a, &tickets_b);
    assert!(prefix > 0, "till B has tickets that do not name {customer}");
    let named_by_a = tickets_a
        .iter()
        .filter(|r| customer_of(r).as_deref() == Some(customer.as_str()))
        .count() as i64;

    // Another session inserts the customer's row and keeps its transaction open: A's upload
    // waits on that row once it reaches its customers.
    let (mut blocker, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let (watcher, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let held = blocker.transaction().await.unwrap();
    held.execute(
        "INSERT INTO customers (id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version)
         VALUES ($1, 'ELSEWHERE', '', '', 0, 0, 0)",
        &[&customer],
    )
    .await
    .unwrap();

    let upload_a = {
        let (url, http, token) = (server.url.clone(), server.http.clone(), token_a.clone());
        let chains = vec![batch(Chain::Ticket, &tickets_a)];
        tokio::spawn(async move {
            http.post(format!("{url}/api/v1/tills/TILL-A/records"))
                .bearer_auth(token)
                .json(&pos_domain::wire::UploadRequest {
                    protocol: pos_domain::wire::ProtocolVersion::CURRENT,
                    chains,
                    sent_at: None,
                })
                .send()
                .await
                .unwrap()
                .json::<pos_domain::wire::UploadResponse>()
                .await
                .unwrap()
        })
    };
    let mut waited = Duration::ZERO;
    while waiting_on_customers(&watcher).await == 0 {
        assert!(
            waited < Duration::from_secs(60),
            "till A's upload reaches the customer row held by another session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }

    // B, another shop, same day: its rollups, stock lines and outbox events go through while
    // A waits (the old order held the day's chain-wide rollup rows and the outbox lock here).
    let answer_b = tokio::time::timeout(
        Duration::from_secs(60),
        server.upload(
            &token_b,
            "TILL-B",
            vec![batch(Chain::Ticket, &tickets_b[..prefix])],
        ),
    )
    .await
    .expect(
        "an upload of another shop is not held back by an upload waiting on one customer: \
         nothing shared by every till is locked before an upload's last statements",
    );
    assert_eq!(answer_b.chains[0].outcome, ChainOutcome::Ok);
    assert!(!upload_a.is_finished(), "till A's upload is still waiting");

    held.rollback().await.unwrap();
    let answer_a = tokio::time::timeout(Duration::from_secs(60), upload_a)
        .await
        .expect("till A's upload goes on once the row is released")
        .unwrap();
    assert_eq!(answer_a.chains[0].outcome, ChainOutcome::Ok);
    assert_eq!(answer_a.chains[0].stored, tickets_a.len() as u64);
    let tickets: i64 = watcher
        .query_one("SELECT tickets FROM customers WHERE id = $1", &[&customer])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        tickets, named_by_a,
        "the held upload's customer figures count each of its tickets once"
    );
    server.stop().await;
}
