//! The cash office over the real loopback HTTP transport: the blind count enforced by the API,
//! pay-outs above the shop's limit, cashier shifts and their reports, the stock role, and the
//! manager overrides and drawer openings in the event journal.

mod support;

use std::time::Duration;

use pos_domain::record::Chain;
use serde_json::{Value, json};
use support::{TestTill, line};

const TIMEOUT: Duration = Duration::from_secs(180);

fn cash_sale(till: &TestTill, paid: &str) -> Value {
    let cart = json!({"lines": [line("ACC-CBL-CC1", 1)]});
    till.call(
        "sell",
        json!({"cart": cart, "tenders": [{"kind": "cash", "amount": paid}]}),
    )
    .ok()
}

/// The kinds of the event journal's records, oldest first.
fn event_kinds(till: &TestTill) -> Vec<(String, Value)> {
    let conn = rusqlite::Connection::open(till.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT body FROM records WHERE chain = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([Chain::Event.name()], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|body| {
            let record: Value = serde_json::from_slice(&body.unwrap()).unwrap();
            let payload = &record["payload"];
            (
                payload["kind"].as_str().unwrap_or_default().to_string(),
                payload["detail"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_cashier_cannot_obtain_the_expected_cash_before_counting() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234"); // Alice, cashier
    let shift = till.call("open_shift", json!({"float": "100.00"})).ok();
    assert_eq!(shift["float"], "100.00");
    assert_eq!(
        shift["expected_cash"],
        Value::Null,
        "the shift's expected cash is hidden from the cashier before their count"
    );
    cash_sale(&till, "20.00"); // 14.90 kept in cash

    let x = till.call("report_x", json!({"print": true})).ok();
    assert_eq!(
        x["expected_cash"],
        Value::Null,
        "report_x must not tell a cashier the expected cash before their count"
    );
    assert!(
        !x["text"].as_str().unwrap().contains("attendues"),
        "nor print it: {}",
        x["text"]
    );
    let report = till.call("shift_report", json!({})).ok();
    assert_eq!(report["expected_cash"], Value::Null, "nor shift_report");
    assert!(!report["text"].as_str().unwrap().contains("114.90"));
    assert_eq!(
        report["totals"]["tickets"], 1,
        "the shift holds Alice's sale"
    );

    // Another cashier's shift is a manager's to read.
    let others = till.call("shift_report", json!({"cashier": "bruno"}));
    assert_eq!(others.code(), "manager_only");

    let closed = till.call("close_shift", json!({"counted": "110.00"})).ok();
    assert_eq!(closed["counted"], "110.00");
    assert_eq!(
        closed["expected_cash"], "114.90",
        "once counted, the expected cash is the float plus the shift's cash"
    );
    assert_eq!(closed["difference"], "-4.90", "counted minus expected");
    let x = till.call("report_x", json!({})).ok();
    assert_eq!(
        x["expected_cash"], "114.90",
        "after the count the cashier may read it"
    );

    // The manager reads it at any time, and Alice's reports as well.
    till.login("9999");
    let by_cashier = till
        .call("cashier_report", json!({"cashier": "alice"}))
        .ok();
    assert_eq!(by_cashier["totals"]["tickets"], 1, "the X per cashier");
    let shift = till.call("shift_report", json!({"cashier": "alice"})).ok();
    assert_eq!(shift["difference"], "-4.90");
}

#[test]
fn a_pay_out_above_the_limit_needs_a_manager() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let rules = till.call("cash_office_rules", json!({})).ok();
    assert_eq!(rules["payout_limit"], "50.00", "the safe default limit");

    let small = till.call(
        "cash_movement",
        json!({"kind": "pay_out", "amount": "50.00"}),
    );
    assert_eq!(
        small.status, 200,
        "a pay-out at the limit needs nobody: {:?}",
        small.body
    );
    let before = till.chain_lengths();
    let refused = till.call(
        "cash_movement",
        json!({"kind": "pay_out", "amount": "50.01", "reason": "window cleaner"}),
    );
    assert_eq!(
        refused.code(),
        "approval_required",
        "a pay-out above the limit without a manager is refused"
    );
    assert_eq!(refused.body["approval"], "pay_out_above_limit");
    assert_eq!(
        till.chain_lengths(),
        before,
        "a refused pay-out records nothing"
    );

    let approval = till
        .call(
            "approve",
            json!({"pin": "9999", "action": "pay_out_above_limit"}),
        )
        .ok();
    let paid = till
        .call(
            "cash_movement",
            json!({"kind": "pay_out", "amount": "50.01", "reason": "window cleaner",
                   "approval": approval["approval_id"]}),
        )
        .ok();
    assert_eq!(paid["amount"], "50.01");
    let reused = till.call(
        "cash_movement",
        json!({"kind": "pay_out", "amount": "60.00", "approval": approval["approval_id"]}),
    );
    assert_eq!(
        reused.code(),
        "approval_required",
        "an approval allows one pay-out"
    );

    // The drawer opened without a sale, with a manager's approval.
    let drawer = till
        .call(
            "approve",
            json!({"pin": "9999", "action": "drawer_open_without_sale"}),
        )
        .ok();
    till.call("open_drawer", json!({"approval": drawer["approval_id"]}))
        .ok();

    let events = event_kinds(&till);
    let overrides: Vec<&Value> = events
        .iter()
        .filter(|(kind, _)| kind == "manager_override")
        .map(|(_, detail)| detail)
        .collect();
    assert_eq!(
        overrides.len(),
        2,
        "every manager override is journaled: {events:?}"
    );
    assert_eq!(overrides[0]["action"], "pay_out_above_limit");
    assert_eq!(overrides[0]["manager"], "bruno");
    assert_eq!(overrides[0]["for"], "alice");
    assert_eq!(overrides[1]["action"], "drawer_open_without_sale");
    let drawer_events: Vec<&Value> = events
        .iter()
        .filter(|(kind, _)| kind == "drawer_opened_without_sale")
        .map(|(_, detail)| detail)
        .collect();
    assert_eq!(
        drawer_events.len(),
        1,
        "the drawer opening is its own event"
    );
    assert_eq!(drawer_events[0]["approved_by"], "bruno");
}

#[test]
fn the_stock_role_never_handles_cash() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    let mut ledger = pos_till::Till::open(
        &till.db(),
        std::sync::Arc::new(pos_till::system::SystemClock),
    )
    .unwrap();
    ledger
        .add_staff(
            "chloe",
            "Chloé",
            pos_till::staff::StaffRole::Stock,
            "4321",
            [9; 16],
        )
        .unwrap();
    drop(ledger);
    let session = till.login("4321");
    assert_eq!(session["staff"]["role"], "stock");
    let product = till.call("product_by_barcode", json!({"barcode": "3760000011051"}));
    assert_eq!(product.status, 200, "stock looks products up");
    for (command, request) in [
        ("report_x", json!({})),
        ("cash_movement", json!({"kind": "pay_in", "amount": "1.00"})),
        ("open_shift", json!({"float": "10.00"})),
    ] {
        assert_eq!(
            till.call(command, request).code(),
            "role_forbidden",
            "`{command}` is not the stock role's"
        );
    }
    let cart = json!({"lines": [line("ACC-CBL-CC1", 1)]});
    let sale = till.call(
        "sell",
        json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "20.00"}]}),
    );
    assert_eq!(
        sale.code(),
        "role_forbidden",
        "the stock role does not sell"
    );
}
