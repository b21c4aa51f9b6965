//! The stock screen's commands over the real loopback HTTP transport: a manager receives a
//! delivery with a missing item and the differences come back; a cashier is refused; a count
//! is started, listed as open and finished; every operation is a `stock`-chain record.

mod support;

use std::time::Duration;

use pos_domain::record::Chain;
use serde_json::json;
use support::TestTill;

const TIMEOUT: Duration = Duration::from_secs(180);

fn stock_records(till: &TestTill) -> u64 {
    till.chain_lengths()
        .into_iter()
        .find(|(c, _)| *c == Chain::Stock)
        .map_or(0, |(_, n)| n)
}

#[test]
fn a_manager_receives_and_counts_and_a_cashier_may_not() {
    let till = TestTill::start("approve", TIMEOUT);
    till.login("1234");
    let refused = till.call(
        "stock_receive",
        json!({"lines": [{"product_id": "ACC-COQ-IP16", "received": 1}]}),
    );
    assert_eq!(
        refused.code(),
        "role_forbidden",
        "a cashier does not record stock"
    );
    till.call("logout", json!({})).ok();
    till.login("9999");
    let receipt = till
        .call(
            "stock_receive",
            json!({"asn": "ASN-12", "lines": [
                {"product_id": "ACC-COQ-IP16", "expected": 5, "received": 5},
                {"product_id": "ACC-CBL-CC1", "expected": 2, "received": 1}
            ]}),
        )
        .ok();
    assert_eq!(receipt["kind"], "goods_receipt");
    assert_eq!(
        receipt["lines"][1]["missing"], 1,
        "the missing cable is recorded"
    );
    assert_eq!(
        receipt["differences"], true,
        "the delivery is reported as differing"
    );
    let count = till
        .call(
            "stock_count_start",
            json!({"by": "shelf", "value": "A3", "blind": true}),
        )
        .ok();
    let open = till.call("stock_open_counts", json!({})).ok();
    assert_eq!(
        open[0]["count_id"], count["id"],
        "the count is open until finished"
    );
    assert_eq!(open[0]["blind"], true);
    let finished = till
        .call(
            "stock_count_finish",
            json!({"count_id": count["id"], "lines": [{"product_id": "ACC-COQ-IP16", "counted": 4}]}),
        )
        .ok();
    assert_eq!(finished["kind"], "count_finished");
    let listed = till.call("stock_operations", json!({"limit": 10})).ok();
    assert_eq!(
        listed.as_array().unwrap().len(),
        3,
        "three operations, newest first"
    );
    assert_eq!(listed[0]["kind"], "count_finished");
    let unknown = till.call(
        "stock_receive",
        json!({"lines": [{"product_id": "NOPE", "received": 1}]}),
    );
    assert_eq!(
        unknown.code(),
        "unknown_product",
        "an unknown product is refused"
    );
    assert_eq!(
        stock_records(&till),
        3,
        "each operation is one stock record, a refusal none"
    );
}

#[test]
fn the_shops_notices_are_listed_and_a_delivery_against_one_records_what_is_missing() {
    let till = TestTill::start("approve", TIMEOUT);
    // As head office's changes feed delivers it (the download is tested against a real head
    // office in sync-server/tests/stock_offline.rs and the stock screen's browser test).
    let notice = json!({"id": "ASN-90", "shop_id": "PARIS-OPERA", "lines": [
        {"product_id": "ACC-COQ-IP16", "quantity": 3},
        {"product_id": "ACC-CBL-CC1", "quantity": 2}
    ]});
    rusqlite::Connection::open(till.db())
        .unwrap()
        .execute(
            "INSERT INTO shipping_notices (id, body, updated_at) VALUES ('ASN-90', ?1, '2026-03-30T07:00:00Z')",
            [notice.to_string()],
        )
        .unwrap();
    till.login("1234");
    assert_eq!(
        till.call("stock_notices", json!({})).code(),
        "role_forbidden",
        "a cashier does not see the notices"
    );
    till.call("logout", json!({})).ok();
    till.login("9999");
    let notices = till.call("stock_notices", json!({})).ok();
    assert_eq!(notices[0]["id"], "ASN-90", "the open notice is listed");
    assert_eq!(notices[0]["lines"][1]["quantity"], 2);
    let receipt = till
        .call(
            "stock_receive",
            json!({"asn": "ASN-90", "lines": [{"product_id": "ACC-COQ-IP16", "received": 3}]}),
        )
        .ok();
    assert_eq!(
        (
            receipt["lines"][1]["product_id"].as_str(),
            receipt["lines"][1]["missing"].as_u64()
        ),
        (Some("ACC-CBL-CC1"), Some(2)),
        "the notice's line nobody scanned is recorded as missing"
    );
    assert_eq!(
        till.call("stock_notices", json!({})).ok(),
        json!([]),
        "the received notice is no longer open"
    );
    let twice = till.call(
        "stock_receive",
        json!({"asn": "ASN-90", "lines": [{"product_id": "ACC-COQ-IP16", "received": 3}]}),
    );
    assert_eq!(
        twice.code(),
        "shipping_notice_already_received",
        "a notice is received once"
    );
}
