//! Click & collect at the till, offline: orders as head office's feed delivered them (written
//! to the `web_orders` table here, as the download does), then the engine API and the `till
//! web-orders` commands: only open orders move, the pickup code is checked, payment is taken
//! only when due, a refusal needs a reason, and every action is a verified ledger record.

mod support;

use pos_domain::record::{Chain, Depth};
use pos_domain::web_order::{OrderState, PickedLine};
use pos_till::web_orders::HandoverRequest;
use rusqlite::Connection;
use serde_json::{Value, json};
use support::{new_till, run_till, text};

/// Stores an order as the changes feed delivers it.
fn receive(path: &std::path::Path, id: &str, payment: &str, state: &str) {
    let order = json!({
        "id": id, "shop": "PARIS-OPERA",
        "lines": [
            {"line": 1, "product_id": "ACC-COQ-IP16", "label": "Coque", "quantity": 2, "unit_price": "25.00"},
            {"line": 2, "product_id": "LIV-GUIDE-5G", "label": "Guide", "quantity": 1, "unit_price": "9.90"}
        ],
        "payment": payment, "total": "59.90", "pickup_code": "K7QM2XPD",
        "state": state, "placed_at": "2026-03-30T07:00:00.000000Z"
    });
    Connection::open(path)
        .unwrap()
        .execute(
            "INSERT INTO web_orders (id, body, server_state, placed_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, server_state = excluded.server_state",
            rusqlite::params![id, order.to_string(), state, "2026-03-30T07:00:00.000000Z"],
        )
        .unwrap();
}

fn request(order: &str, code: &str) -> HandoverRequest {
    HandoverRequest {
        operator: Some("alice".into()),
        order: order.into(),
        pickup_code: code.into(),
        lines: None,
        tenders: vec![],
    }
}

#[test]
fn the_engine_moves_only_open_orders_and_checks_codes_and_payment() {
    let mut t = new_till();
    receive(&t.path, "WO-1", "paid_online", "placed");
    receive(&t.path, "WO-2", "pay_in_shop", "placed");
    receive(&t.path, "WO-3", "paid_online", "cancelled");
    assert_eq!(
        t.till.web_orders(Some(OrderState::Placed)).unwrap().len(),
        2
    );
    let found = t.till.web_order_by_pickup_code("k7qm 2xpd").unwrap();
    assert_eq!(
        found.map(|o| o.id).as_deref(),
        Some("WO-1"),
        "found by its code, typed loosely"
    );
    assert!(
        t.till
            .web_order_by_pickup_code("K7QM2XPE")
            .unwrap()
            .is_none()
    );
    assert!(t.till.web_order_by_pickup_code(" - ").unwrap().is_none());

    let unknown = t.till.mark_ready("alice", "WO-9").unwrap_err();
    assert_eq!(unknown.code(), "unknown_web_order");
    let cancelled = t.till.mark_ready("alice", "WO-3").unwrap_err();
    assert_eq!(
        cancelled.code(),
        "web_order_cancelled",
        "a cancelled order never moves"
    );
    assert_eq!(
        t.till.mark_ready("alice", "WO-1").unwrap().state,
        OrderState::Ready
    );
    assert_eq!(
        t.till.mark_prepared("alice", "WO-1").unwrap().state,
        OrderState::Ready,
        "a step back records nothing"
    );
    assert_eq!(t.till.chain_length(Chain::WebOrder).unwrap(), 1);

    let wrong = t.till.hand_over(&request("WO-1", "K7QM2XPE")).unwrap_err();
    assert_eq!(wrong.code(), "pickup_code_wrong");
    let mut paying = request("WO-1", "k7qm-2xpd");
    paying.tenders =
        vec![serde_json::from_value(json!({"kind": "cash", "amount": "59.90"})).unwrap()];
    assert_eq!(
        t.till.hand_over(&paying).unwrap_err().code(),
        "nothing_to_pay",
        "an order paid online takes no payment"
    );
    let mut too_many = request("WO-1", "K7QM2XPD");
    too_many.lines = Some(vec![PickedLine {
        line: 1,
        quantity: 3,
    }]);
    assert_eq!(
        t.till.hand_over(&too_many).unwrap_err().code(),
        "picked_lines_invalid"
    );
    let done = t.till.hand_over(&request("WO-1", "K7QM2XPD")).unwrap();
    assert_eq!(done.order.state, OrderState::Collected);
    assert!(done.ticket.is_none());
    assert_eq!(
        t.till
            .hand_over(&request("WO-1", "K7QM2XPD"))
            .unwrap_err()
            .code(),
        "web_order_closed",
        "an order is handed over once"
    );

    // Payment due in the shop: no tenders, no handover; enough tenders, one ticket.
    let tickets = t.till.chain_length(Chain::Ticket).unwrap();
    assert_eq!(
        t.till
            .hand_over(&request("WO-2", "K7QM2XPD"))
            .unwrap_err()
            .code(),
        "tenders_short",
        "nothing is handed over unpaid"
    );
    assert_eq!(t.till.chain_length(Chain::Ticket).unwrap(), tickets);
    let mut paid = request("WO-2", "K7QM2XPD");
    paid.tenders =
        vec![serde_json::from_value(json!({"kind": "card", "amount": "59.90"})).unwrap()];
    let done = t.till.hand_over(&paid).unwrap();
    let ticket = done.ticket.expect("a sale ticket");
    assert_eq!(
        ticket.ticket.total.to_string(),
        "59.90",
        "at the order's prices"
    );
    assert_eq!(ticket.ticket.web_order.as_deref(), Some("WO-2"));
    let record = t.till.chain_length(Chain::WebOrder).unwrap();
    let mut payload = Value::Null;
    t.till
        .records(Chain::WebOrder, record, record, |r| {
            payload = r.record.payload;
            Ok(())
        })
        .unwrap();
    assert_eq!(payload["action"], "handed_over");
    assert_eq!(
        payload["ticket"], ticket.number,
        "the handover names its payment ticket"
    );
    // The order returned in the shop: a return ticket that names the order too.
    let returned = t
        .till
        .return_items(&pos_till::requests::ReturnRequest {
            operator: Some("alice".into()),
            original: ticket.number,
            cancel: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(returned.ticket.web_order.as_deref(), Some("WO-2"));
    assert_eq!(returned.ticket.total.to_string(), "-59.90");

    // Head office's news (another till collected it) shows, except over this till's own outcome.
    receive(&t.path, "WO-4", "paid_online", "placed");
    t.till.mark_ready("alice", "WO-4").unwrap();
    receive(&t.path, "WO-4", "paid_online", "cancelled");
    assert_eq!(
        t.till.web_order("WO-4").unwrap().state,
        OrderState::Cancelled
    );
    receive(&t.path, "WO-1", "paid_online", "cancelled");
    assert_eq!(
        t.till.web_order("WO-1").unwrap().state,
        OrderState::Collected
    );

    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn the_cli_lists_refuses_and_hands_over() {
    let t = new_till();
    let path = t.path.clone();
    drop(t.till);
    receive(&path, "WO-7", "paid_online", "placed");
    receive(&path, "WO-8", "paid_online", "placed");
    let out = run_till(
        &path,
        &["--json", "web-orders", "list", "--state", "placed"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let out = run_till(&path, &["web-orders", "refuse", "WO-7", "--reason", ""], "");
    assert_eq!(out.status.code(), Some(2), "a refusal needs a reason");
    let out = run_till(
        &path,
        &[
            "--json",
            "web-orders",
            "refuse",
            "WO-7",
            "--reason",
            "damaged box",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_till(&path, &["web-orders", "ready", "WO-8"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_till(
        &path,
        &[
            "--json",
            "web-orders",
            "handover",
            "WO-8",
            "--code",
            "K7QM 2XPD",
            "--line",
            "2:1",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let handover: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(handover["order"]["state"], "partially_collected");
    let out = run_till(&path, &["--json", "web-orders", "list"], "");
    let states: Vec<Value> = serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["state"].clone())
        .collect();
    assert_eq!(states, vec![json!("refused"), json!("partially_collected")]);
    let out = run_till(&path, &["verify"], "");
    assert!(
        out.status.success(),
        "the web_order chain verifies: {}",
        text(&out.stdout)
    );
}
