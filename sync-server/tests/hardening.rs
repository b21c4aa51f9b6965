//! Head office's smaller holes, closed, on every backend with real HTTP: a till cannot pin a
//! customer with a change dated far in the future; a feed consumer cannot move its cursor
//! past the end of the feed, and only the roles that run feeds see them; a till cannot flood
//! the append-only alarms with evidence or with numbers; head-office lists come a page at a
//! time; a till's request does not wait for the writer to say it was seen (SQLite); admin
//! commands take no PIN on the command line and check web-shop ids.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{Duration, SubsecRound, Utc};
use pos_domain::customer::{self, Customer};
use pos_domain::record::Chain;
use pos_domain::wire::{ChainBatch, CustomersUpload, WireRecord};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::ingest::{MAX_ALARM_EVIDENCE_BYTES, MAX_ALARMS_PER_TILL_PER_HOUR};

on_every_backend!(
    a_till_cannot_pin_a_customer_with_a_change_dated_in_the_future,
    a_feed_cursor_stays_within_the_feed_and_consumers_are_for_feed_roles,
    a_till_cannot_flood_the_alarms_and_lists_come_a_page_at_a_time,
);

const TILL_A: &str = "PARIS-OPERA-1";
const TILL_B: &str = "LYON-BELLECOUR-1";

/// Enrolls a till of `shop` and returns its token.
async fn enrolled(server: &Server, shop: &str, till_id: &str, secret: u8) -> String {
    let code = server.create_till(shop, till_id).await;
    let till = TestTill::new(till_id, secret, 0, 1, 1);
    server.enroll(&code, &till).await.token
}

async fn upload_customer(
    server: &Server,
    till_id: &str,
    token: &str,
    customer: &Customer,
) -> (StatusCode, Value) {
    let body = serde_json::to_value(CustomersUpload {
        customers: vec![customer.clone()],
    })
    .unwrap();
    server
        .post_json(
            &format!("/api/v1/tills/{till_id}/customers"),
            Some(token),
            &body,
        )
        .await
}

async fn alarms(server: &Server, query: &str) -> Vec<Value> {
    let (status, body) = server
        .get(
            &format!("/api/v1/hq/alarms{query}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

async fn a_till_cannot_pin_a_customer_with_a_change_dated_in_the_future(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let own = enrolled(&server, SHOP_A, TILL_A, 61).await;
    let other = enrolled(&server, SHOP_B, TILL_B, 62).await;
    // Whole milliseconds: head office keeps times to the microsecond.
    let created = (Utc::now() - Duration::days(1)).trunc_subsecs(3);
    let zoe = Customer {
        id: customer::new_id([61; 16]),
        name: "Zoé".into(),
        phone: Some("+33612345678".into()),
        email: None,
        created_at: created,
        updated_at: created,
    };
    let (status, answer) = upload_customer(&server, TILL_A, &own, &zoe).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // Another shop's till dates its change in 2999, to outrank every later change.
    let pinned = Customer {
        name: "Pinned".into(),
        updated_at: "2999-01-01T00:00:00Z".parse().unwrap(),
        ..zoe.clone()
    };
    let (status, answer) = upload_customer(&server, TILL_B, &other, &pinned).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let stored = server
        .store
        .customer_contact(&zoe.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.updated_at <= Utc::now(),
        "a change dated past head office's clock is stored as of head office's time: {stored:?}"
    );
    let raised = alarms(&server, "").await;
    let clock = raised
        .iter()
        .find(|a| a["kind"] == "customer_clock_ahead")
        .unwrap_or_else(|| panic!("the far-future change is alarmed: {raised:?}"));
    assert_eq!(
        clock["till_id"], TILL_B,
        "the alarm names the till: {clock}"
    );
    assert_eq!(clock["shop_id"], SHOP_B, "and its shop: {clock}");

    // The real shop's later change wins.
    let real = Customer {
        name: "Zoé Martin".into(),
        updated_at: (Utc::now() + Duration::seconds(1)).trunc_subsecs(3),
        ..zoe.clone()
    };
    let (status, answer) = upload_customer(&server, TILL_A, &own, &real).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"stored": 1, "unchanged": 0}),
        "the real shop's later change is stored, not pinned out by a change dated in 2999"
    );
    assert_eq!(
        server.store.customer_contact(&zoe.id).await.unwrap(),
        Some(real),
        "head office keeps the real shop's change"
    );

    // Each change is recorded with the shop and till that made it.
    let events = server.feed_all().await;
    let changes: Vec<(&Value, &Value, &Value)> = events
        .iter()
        .filter(|e| e["subject"] == format!("customers/{}", zoe.id))
        .filter(|e| e["type"] != "pos.alarm.raised")
        .map(|e| {
            (
                &e["data"]["name"],
                &e["data"]["details_shop"],
                &e["data"]["details_till"],
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (&json!("Zoé"), &json!(SHOP_A), &json!(TILL_A)),
            (&json!("Pinned"), &json!(SHOP_B), &json!(TILL_B)),
            (&json!("Zoé Martin"), &json!(SHOP_A), &json!(TILL_A)),
        ],
        "every customer event names the shop and till of the change"
    );
    server.stop().await;
}

async fn put_cursor(server: &Server, name: &str, token: &str, cursor: i64) -> (StatusCode, String) {
    let response = server
        .http
        .put(format!("{}/api/v1/feed/consumers/{name}", server.url))
        .bearer_auth(token)
        .json(&json!({ "cursor": cursor }))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn a_feed_cursor_stays_within_the_feed_and_consumers_are_for_feed_roles(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let token = enrolled(&server, SHOP_A, TILL_A, 63).await;
    let zoe = Customer {
        id: customer::new_id([63; 16]),
        name: "Zoé".into(),
        phone: Some("+33612345678".into()),
        email: None,
        created_at: start_time(),
        updated_at: start_time(),
    };
    upload_customer(&server, TILL_A, &token, &zoe).await;
    let (_, page) = server
        .get("/api/v1/feed?after=0&limit=5000", Some(&server.admin_token))
        .await;
    let end = page["next"].as_i64().unwrap();
    assert!(end > 0, "the feed holds the customer's event: {page}");

    let admin = server.admin_token.clone();
    let (status, body) = put_cursor(&server, "nats-jetstream", &admin, 1_000_000_000_000_000).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a cursor past the feed's last event is refused (it would skip every event until then): {body}"
    );
    let refusal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["code"], "invalid", "{body}");
    let (status, body) = put_cursor(&server, "nats-jetstream", &admin, end + 1).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put_cursor(&server, "nats-jetstream", &admin, end).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "the last event's cursor is fine: {body}"
    );

    let (status, body) = server
        .get("/api/v1/feed/consumers", Some(&server.manager_token))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager runs no feed and does not see the consumers: {body}"
    );
    let (status, list) = server
        .get("/api/v1/feed/consumers", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["cursor"], end);
    server.stop().await;
}

/// An upload of one record that is not a record at all: refused with an alarm.
fn garbage(text: String) -> Vec<ChainBatch> {
    vec![ChainBatch {
        chain: Chain::Ticket,
        records: vec![WireRecord {
            seq: 1,
            stored: text,
        }],
    }]
}

/// The size of the largest evidence an alarm keeps, read from the database itself.
async fn largest_evidence(server: &Server) -> i64 {
    if let Some(path) = server.db_url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("SELECT max(length(received)) FROM alarms", [], |r| r.get(0))
            .unwrap()
    } else {
        let (client, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query_one(
                "SELECT max(octet_length(received))::BIGINT FROM alarms",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }
}

async fn a_till_cannot_flood_the_alarms_and_lists_come_a_page_at_a_time(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let token = enrolled(&server, SHOP_A, TILL_A, 64).await;
    enrolled(&server, SHOP_B, TILL_B, 65).await;

    // One large piece of garbage, then more distinct ones than a till may raise in an hour.
    let attempts = MAX_ALARMS_PER_TILL_PER_HOUR + 20;
    server
        .upload(&token, TILL_A, garbage("x".repeat(1024 * 1024)))
        .await;
    for n in 1..attempts {
        server
            .upload(&token, TILL_A, garbage(format!("not a record {n}")))
            .await;
    }
    assert!(
        largest_evidence(&server).await <= MAX_ALARM_EVIDENCE_BYTES as i64,
        "an alarm keeps at most {MAX_ALARM_EVIDENCE_BYTES} bytes of evidence, not the 1 MiB sent"
    );
    let raised = alarms(&server, "?limit=5000").await;
    let floods = raised.iter().filter(|a| a["kind"] == "alarm_flood").count() as u64;
    // One flood alarm per chain and hour (two if the test runs across the turn of an hour).
    assert!(
        (1..=2).contains(&floods),
        "the rest are coalesced into one flood alarm: {floods}"
    );
    assert_eq!(
        raised.len() as u64,
        MAX_ALARMS_PER_TILL_PER_HOUR + floods,
        "a till raises at most {MAX_ALARMS_PER_TILL_PER_HOUR} alarms an hour, then a flood alarm, \
         whatever it sends ({attempts} bad records)"
    );
    assert!(
        raised[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("of {} bytes received", 1024 * 1024)),
        "the reason says the evidence was cut: {}",
        raised[0]
    );

    // Alarms a page at a time: each page after the last id of the one before.
    let first = alarms(&server, "?limit=30").await;
    assert_eq!(first.len(), 30, "a page holds `limit` alarms");
    let last = first.last().unwrap()["id"].as_i64().unwrap();
    let second = alarms(&server, &format!("?limit=30&after={last}")).await;
    assert_eq!(second.len(), 30);
    assert_eq!(
        second[0], raised[30],
        "the next page starts after the last id"
    );
    let ids: Vec<i64> = alarms(&server, "?limit=5000")
        .await
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");

    // The fleet too, by till id.
    let (status, page) = server
        .get("/api/v1/hq/fleet?limit=1", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page[0]["till_id"], TILL_B);
    let (_, next) = server
        .get(
            &format!("/api/v1/hq/fleet?limit=1&after={TILL_B}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(next[0]["till_id"], TILL_A, "{next}");

    // Web orders, newest first, each page before the previous page's last order.
    let placed: Vec<String> = (0..3)
        .map(|_| {
            let order = sync_server_json(
                &server.db_url,
                &[
                    "admin",
                    "web-order",
                    "create",
                    "--shop",
                    SHOP_A,
                    "--line",
                    "ACC-COQ|Coque|1|14.00",
                ],
            );
            order["id"].as_str().unwrap().to_string()
        })
        .collect();
    let order_ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, all) = server
        .get("/api/v1/hq/web-orders", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all = order_ids(&all);
    let mut sorted = placed.clone();
    sorted.sort();
    let mut listed = all.clone();
    listed.sort();
    assert_eq!(listed, sorted, "every order is listed");
    let (_, first) = server
        .get("/api/v1/hq/web-orders?limit=2", Some(&server.admin_token))
        .await;
    assert_eq!(order_ids(&first), all[..2], "a page holds `limit` orders");
    let (_, rest) = server
        .get(
            &format!("/api/v1/hq/web-orders?limit=2&after={}", all[1]),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(
        order_ids(&rest),
        all[2..],
        "the next page starts after the last order"
    );

    // And the dead letters (none here): the page parameters are accepted.
    let (status, dead) = server
        .get(
            "/api/v1/hq/webhooks/dead-letters?limit=10&after=0&after_webhook=x",
            Some(&server.admin_token),
        )
        .await;
    assert_eq!((status, dead), (StatusCode::OK, json!([])));
    server.stop().await;
}

/// SQLite has one writer: a till's request must not wait behind it just to record that the
/// till was seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tills_request_does_not_wait_for_the_sqlite_writer() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let token = enrolled(&server, SHOP_A, TILL_A, 66).await;
    let path = server.db_url.strip_prefix("sqlite:").unwrap().to_string();
    // Another writer (an upload, an admin command) holds the write lock meanwhile.
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let answer = server
        .http
        .get(format!("{}/api/v1/shops/{SHOP_A}/tills", server.url))
        .bearer_auth(&token)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    let waited = started.elapsed();
    writer.execute_batch("ROLLBACK").unwrap();
    let status = answer.map(|r| r.status());
    assert!(
        matches!(status, Ok(StatusCode::OK)),
        "a till's read is answered while another writer holds the database ({status:?} after {waited:?}): \
         a bearer lookup writes the till's last contact at most once a minute"
    );
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    server.stop().await;
}

/// Runs `sync-server admin ARGS` with `input` on standard input; returns success and stderr.
fn admin(db: &str, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--db", db, "--json", "admin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sync-server binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_take_no_pin_on_the_command_line_and_check_web_shop_ids() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let db = server.db_url.clone();
    let staff = [
        "staff", "add", "--shop", SHOP_A, "--id", "alice", "--name", "Alice", "--role", "cashier",
    ];
    let mut on_command_line = staff.to_vec();
    on_command_line.extend(["--pin", "4821"]);
    let (ok, stderr) = admin(&db, &on_command_line, "");
    assert!(
        !ok && stderr.contains("standard input"),
        "a PIN on the command line (visible to `ps`) is refused, saying where it goes: {stderr}"
    );
    let (ok, stderr) = admin(&db, &staff, "4821\n");
    assert!(ok, "the PIN is read from standard input: {stderr}");
    let (ok, _) = admin(&db, &staff, "12\n");
    assert!(!ok, "and checked: 4 to 8 digits");

    let too_long = "W".repeat(65);
    for bad in ["web shop", "*", "(none)", "a/b", too_long.as_str()] {
        let (ok, stderr) = admin(&db, &["webshop", "add", "--name", "Shop", "--id", bad], "");
        assert!(
            !ok && stderr.contains("web shop id"),
            "web-shop id `{bad}` is refused like any other id: {stderr}"
        );
    }
    let (ok, stderr) = admin(&db, &["webshop", "add", "--name", "Boutique en ligne"], "");
    assert!(ok, "{stderr}");
    server.stop().await;
}
