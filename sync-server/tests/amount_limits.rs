//! Amounts every reader can read back, at head office, on every backend over real HTTP: a web
//! order beyond the domain's limits (`pos_domain::limits`) is refused with 4xx and never
//! stored; an unreadable entry forced into the store never blocks a shop's changes feed (the
//! till skips it, journals it, head office alarms on it and answers 409 instead of 500 for
//! it), and `sync-server admin web-order remove` drops it everywhere; and a property test:
//! whatever head office accepts (web orders through its API, catalogs through the admin
//! binary), every reader reads back (the order's API, the head-office list, the changes feed,
//! the event feed, a real till), and whatever it refuses leaves nothing stored.

mod support;

use std::process::Command;

use pos_domain::Money;
use pos_domain::journal::Event;
use pos_domain::record::Chain;
use pos_domain::web_order::WebOrder;
use pos_domain::wire::ChangesPage;
use pos_till::Till;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::secrets;

on_every_backend!(
    an_oversized_web_order_is_refused_and_nothing_is_stored,
    an_unreadable_entry_never_blocks_a_shops_feed,
);

const TILL: &str = "PARIS-OPERA-9";

async fn webshop(server: &Server) -> String {
    let key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop(
            "boutique-en-ligne",
            "Boutique en ligne",
            &secrets::token_hash(&key),
        )
        .await
        .unwrap();
    key
}

async fn post_order(server: &Server, key: &str, idem: &str, body: &Value) -> (StatusCode, Value) {
    let response = server
        .http
        .post(format!("{}/api/v1/web-orders", server.url))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn order(lines: Vec<Value>) -> Value {
    json!({"shop": SHOP_A, "payment": "paid_online", "lines": lines})
}

fn line(quantity: u64, unit_price: &str) -> Value {
    json!({"product_id": "P1", "label": "Coque", "quantity": quantity, "unit_price": unit_price})
}

async fn hq_orders(server: &Server) -> Vec<WebOrder> {
    let (status, body) = server
        .get("/api/v1/hq/web-orders", Some(&server.admin_token))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the head-office list of web orders always answers: {body}"
    );
    serde_json::from_value(body).expect("every listed order reads as a web order")
}

fn admin(server: &Server, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .arg("--db")
        .arg(&server.db_url)
        .arg("--json")
        .args(args)
        .output()
        .expect("the sync-server binary runs")
}

fn admin_ok(server: &Server, args: &[&str]) -> Value {
    let output = admin(server, args);
    assert!(
        output.status.success(),
        "sync-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

async fn an_oversized_web_order_is_refused_and_nothing_is_stored(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = webshop(&server).await;
    let cases = [
        (
            "10,000 units at 10^15 EUR",
            order(vec![line(10_000, "1000000000000000.00")]),
            "amount_too_large",
        ),
        (
            "a line within the price limit whose amount is not",
            order(vec![line(10_000, "9999999.99")]),
            "amount_too_large",
        ),
        (
            "60,000 lines",
            order(vec![line(1, "1.00"); 60_000]),
            "too_many_lines",
        ),
        (
            "a label of 10,000 characters",
            order(vec![json!({
                "product_id": "P1", "label": "x".repeat(10_000), "quantity": 1, "unit_price": "1.00"
            })]),
            "text_too_long",
        ),
    ];
    for (i, (what, body, code)) in cases.iter().enumerate() {
        let (status, answer) = post_order(&server, &key, &format!("big-{i}"), body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: an order beyond the domain's limits is refused with 4xx: {answer}"
        );
        assert_eq!(answer["code"], *code, "{what}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("at most") || m.contains("more than")),
            "{what}: the message says the limit: {answer}"
        );
    }
    assert!(
        hq_orders(&server).await.is_empty(),
        "a refused order is never stored"
    );
    let events = server.feed_all().await;
    assert!(
        events.iter().all(|e| !e["type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("pos.web_order")),
        "a refused order sends no event"
    );
    server.stop().await;
}

/// Runs one `UPDATE` on the server's database behind the server's back (a row written by an
/// older version, or edited by hand): `sql` with `?1`/`?2` (SQLite) or `$1`/`$2`
/// (PostgreSQL) for `key` and `body`. Returns the rows changed.
async fn force_sql(server: &Server, backend: Backend, sql: &str, key: &str, body: &str) -> u64 {
    match backend {
        Backend::Sqlite => {
            let path = server.db_url.strip_prefix("sqlite:").unwrap().to_string();
            let (sql, key, body) = (sql.to_string(), key.to_string(), body.to_string());
            blocking(move || {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute(&sql, [&key, &body]).unwrap() as u64
            })
            .await
        }
        Backend::Postgres => {
            let (client, connection) =
                tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let sql = sql.replace("?1", "$1").replace("?2", "$2");
            client.execute(&sql, &[&key, &body]).await.unwrap()
        }
    }
}

/// Rewrites a web order as stored and as its feed entry carries it.
async fn force_order(server: &Server, backend: Backend, id: &str, body: &str) {
    let sql = "UPDATE web_orders SET body = ?2 WHERE id = ?1";
    assert_eq!(force_sql(server, backend, sql, id, body).await, 1);
    force_entry(server, backend, "web_order", id, body).await;
}

/// Rewrites the data of a feed entry.
async fn force_entry(server: &Server, backend: Backend, kind: &str, key: &str, data: &str) {
    let sql = format!("UPDATE distribution SET data = ?2 WHERE kind = '{kind}' AND key = ?1");
    assert_eq!(
        force_sql(server, backend, &sql, key, data).await,
        1,
        "the {kind} entry `{key}` is rewritten"
    );
}

/// The till's `feed_entry_skipped` events.
fn skipped_events(till: &Till) -> Vec<Event> {
    let mut out = Vec::new();
    let head = till.chain_length(Chain::Event).unwrap();
    till.records(Chain::Event, 1, head, |record| {
        if record.record.payload["kind"] == "feed_entry_skipped" {
            out.push(serde_json::from_value(record.record.payload).unwrap());
        }
        Ok(())
    })
    .unwrap();
    out
}

async fn an_unreadable_entry_never_blocks_a_shops_feed(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = webshop(&server).await;
    let (status, broken) = post_order(&server, &key, "a", &order(vec![line(1, "10.00")])).await;
    assert_eq!(status, StatusCode::CREATED, "{broken}");
    let broken_id = broken["id"].as_str().unwrap().to_string();
    // As an older version stored it: 10,000 units at 10^15 EUR, a total no reader parses.
    let mut unreadable = broken.clone();
    unreadable["lines"][0]["quantity"] = json!(10_000);
    unreadable["lines"][0]["unit_price"] = json!("1000000000000000.00");
    unreadable["total"] = json!("10000000000000000000.00");
    force_order(&server, backend, &broken_id, &unreadable.to_string()).await;
    // A product whose price parses but is beyond the domain's limit: the till skips it too.
    let catalog = server.dir.path().join("catalog.csv");
    std::fs::write(
        &catalog,
        "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
         HUGE,,Huge,Accessoires,standard,10.00,,\n\
         FINE,,Fine,Accessoires,standard,2.00,,\n",
    )
    .unwrap();
    admin_ok(
        &server,
        &["admin", "catalog", "import", catalog.to_str().unwrap()],
    );
    let huge = json!({"id": "HUGE", "label": "Huge", "category": "Accessoires",
        "vat_code": "standard", "price": "1000000000000000.00"});
    force_entry(&server, backend, "product", "HUGE", &huge.to_string()).await;
    let (status, good) = post_order(&server, &key, "b", &order(vec![line(2, "5.00")])).await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    let good_id = good["id"].as_str().unwrap().to_string();

    // The till skips the unreadable entry and applies the one after it.
    let till = enrolled_till(&server, SHOP_A, TILL, 51).await;
    let (till, first) = on_till(till, |t| t.sync(|_, _, _| {})).await;
    let first = first.expect("an unreadable feed entry never fails a sync");
    assert_eq!(first.download.skipped, 2, "{:?}", first.download);
    let (till, products) = on_till(till, |t| {
        (
            t.product_by_id("HUGE").unwrap(),
            t.product_by_id("FINE").unwrap(),
        )
    })
    .await;
    assert!(
        products.0.is_none() && products.1.is_some(),
        "the product beyond the limit is skipped, the next one applied: {products:?}"
    );
    let (till, orders) = on_till(till, |t| t.web_orders(None).unwrap()).await;
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![good_id.as_str()],
        "the entries after an unreadable one still apply"
    );
    let (till, skipped) = on_till(till, |t| skipped_events(t)).await;
    assert_eq!(skipped.len(), 2, "each skip is journaled as a signed event");
    let order_skip = skipped
        .iter()
        .find(|e| e.detail["kind"] == "web_order")
        .expect("the web order's skip is journaled");
    assert_eq!(order_skip.detail["key"], broken_id.as_str());
    assert!(
        skipped.iter().any(|e| e.detail["key"] == "HUGE"
            && e.detail["reason"]
                .as_str()
                .is_some_and(|r| r.contains("9999999.99"))),
        "the product's skip says the limit: {skipped:?}"
    );

    // The next sync uploads the event: head office raises an alarm naming the entry.
    let (till, _) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    let skipped_alarms: Vec<&Value> = alarms
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "feed_entry_skipped")
        .collect();
    assert_eq!(
        skipped_alarms.len(),
        2,
        "head office alarms on each skipped feed entry: {alarms}"
    );
    assert!(
        skipped_alarms
            .iter()
            .any(|a| a["reason"].as_str().is_some_and(|r| r.contains(&broken_id))),
        "an alarm names the web order: {alarms}"
    );

    // Head office's readers skip it or answer 409 saying what to do, never 500.
    let listed: Vec<String> = hq_orders(&server).await.into_iter().map(|o| o.id).collect();
    assert_eq!(
        listed,
        vec![good_id.clone()],
        "the list leaves the unreadable order out"
    );
    let (status, answer) = server
        .get(&format!("/api/v1/web-orders/{broken_id}"), Some(&key))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "web_order_unreadable", "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("admin web-order remove")),
        "the answer says what to do: {answer}"
    );
    let (status, answer) = server
        .post_json(
            &format!("/api/v1/web-orders/{broken_id}/cancel"),
            Some(&server.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let listed = admin_ok(&server, &["admin", "web-order", "list"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "`admin web-order list` works and leaves the unreadable order out: {listed}"
    );

    // The admin command removes it, and any order: the tills drop what they had.
    let removed = admin_ok(
        &server,
        &["admin", "web-order", "remove", "--id", &broken_id],
    );
    assert_eq!(removed["removed"], broken_id.as_str());
    let (status, _) = server
        .get(&format!("/api/v1/web-orders/{broken_id}"), Some(&key))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a removed order is gone");
    admin_ok(&server, &["admin", "web-order", "remove", "--id", &good_id]);
    let again = admin(&server, &["admin", "web-order", "remove", "--id", &good_id]);
    assert!(!again.status.success(), "removing an unknown order says so");
    let (till, third) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    assert_eq!(third.download.skipped, 0, "{:?}", third.download);
    let (_till, orders) = on_till(till, |t| t.web_orders(None).unwrap()).await;
    assert!(
        orders.is_empty(),
        "a removal in the feed drops the order at the till: {orders:?}"
    );
    assert!(
        hq_orders(&server).await.is_empty(),
        "both orders are removed at head office"
    );
    server.stop().await;
}

/// A web order line drawn around the limits.
fn arbitrary_line() -> impl Strategy<Value = Value> {
    let cents = prop_oneof![
        1i64..100_000,
        999_999_000i64..1_000_000_100,
        1i64..100_000_000_000_000_000,
    ];
    let quantity = prop_oneof![1u64..5, 9_990u64..10_010];
    let label = prop_oneof![
        Just("Coque".to_string()),
        (195usize..205).prop_map(|n| "é".repeat(n)),
    ];
    (cents, quantity, label).prop_map(|(cents, quantity, label)| {
        json!({
            "product_id": "P1",
            "label": label,
            "quantity": quantity,
            "unit_price": Money::from_cents(cents),
        })
    })
}

fn arbitrary_order() -> impl Strategy<Value = Value> {
    let lines = prop_oneof![
        4 => proptest::collection::vec(arbitrary_line(), 1..4),
        1 => (245usize..256).prop_map(|n| vec![line(1, "1.00"); n]),
    ];
    lines.prop_map(order)
}

/// A catalog row drawn around the limits: a price and a label length.
fn arbitrary_product() -> impl Strategy<Value = (i64, usize)> {
    (
        prop_oneof![
            1i64..100_000,
            999_999_000i64..1_000_000_100,
            1i64..100_000_000_000_000_000
        ],
        prop_oneof![1usize..10, 195usize..205],
    )
}

/// Every reader of head office and a real till read back what was accepted.
async fn read_back(server: &Server, key: &str, accepted: &[WebOrder], products: usize) {
    for order in accepted {
        let (status, body) = server
            .get(&format!("/api/v1/web-orders/{}", order.id), Some(key))
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "an accepted order reads back: {body}"
        );
        assert_eq!(serde_json::from_value::<WebOrder>(body).unwrap(), *order);
    }
    assert_eq!(hq_orders(server).await.len(), accepted.len());
    for event in server.feed_all().await {
        if event["type"] == "pos.web_order.placed" {
            serde_json::from_value::<WebOrder>(event["data"].clone())
                .expect("the event feed's orders read back");
        }
    }
    let till = enrolled_till(server, SHOP_A, TILL, 77).await;
    let (till, summary) = on_till(till, |t| t.sync(|_, _, _| {}).unwrap()).await;
    assert_eq!(
        summary.download.skipped, 0,
        "a till reads every entry head office accepted: {:?}",
        summary.download
    );
    assert_eq!(summary.download.products as usize, products);
    let (_, orders) = on_till(till, |t| t.web_orders(None).unwrap()).await;
    assert_eq!(
        orders.len(),
        accepted.len(),
        "the till holds every accepted order"
    );
    let (status, page) = server
        .get(
            &format!("/api/v1/tills/{TILL}/changes?since=0&limit=20000"),
            Some(&server.admin_token),
        )
        .await;
    // A user reads no till's feed: the till above read it; here only its JSON shape matters.
    assert!(status == StatusCode::FORBIDDEN || serde_json::from_value::<ChangesPage>(page).is_ok());
}

/// Whatever head office accepts (web orders through its API, catalogs through the admin
/// binary) every reader reads back; whatever it refuses (4xx, or a failed import) leaves
/// nothing stored.
#[test]
fn whatever_head_office_accepts_every_reader_reads_back() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(Server::start(Backend::Sqlite))
        .expect("SQLite always runs");
    let key = runtime.block_on(webshop(&server));
    // The runner takes a `Fn`: what the cases accept is gathered through cells.
    let accepted: std::cell::RefCell<Vec<WebOrder>> = Default::default();
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let n = std::cell::Cell::new(0);
    runner
        .run(&arbitrary_order(), |body| {
            n.set(n.get() + 1);
            let before = runtime.block_on(hq_orders(&server)).len();
            let (status, answer) =
                runtime.block_on(post_order(&server, &key, &format!("p-{}", n.get()), &body));
            if status == StatusCode::CREATED {
                let order: WebOrder = serde_json::from_value(answer).unwrap();
                prop_assert!(
                    order.check_limits().is_ok(),
                    "an accepted order is within the limits"
                );
                accepted.borrow_mut().push(order);
            } else {
                prop_assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer);
                prop_assert_eq!(
                    runtime.block_on(hq_orders(&server)).len(),
                    before,
                    "a refused order stores nothing"
                );
            }
            Ok(())
        })
        .unwrap();

    let catalog = server.dir.path().join("catalog.csv");
    let products: std::cell::RefCell<Vec<String>> = Default::default();
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    let n = std::cell::Cell::new(0);
    runner
        .run(&arbitrary_product(), |(cents, label_chars)| {
            n.set(n.get() + 1);
            let id = format!("P{}", n.get());
            let price = Money::from_cents(cents);
            std::fs::write(
                &catalog,
                format!(
                    "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
                     {id},,{},Accessoires,standard,{price},,\n",
                    "x".repeat(label_chars)
                ),
            )
            .unwrap();
            let output = admin(
                &server,
                &["admin", "catalog", "import", catalog.to_str().unwrap()],
            );
            let within = price <= Money::MAX_AMOUNT && label_chars <= 200;
            prop_assert_eq!(
                output.status.success(),
                within,
                "a catalog is imported exactly when it is within the limits: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            if within {
                products.borrow_mut().push(id);
            }
            Ok(())
        })
        .unwrap();
    runtime.block_on(read_back(
        &server,
        &key,
        &accepted.borrow(),
        products.borrow().len(),
    ));
    runtime.block_on(server.stop());
}
