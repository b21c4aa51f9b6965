//! A web order paid online returned at the till, offline: the order as head office's feed
//! delivered it (written to `web_orders` here, as the download does), handed over here or at
//! another till, then returned. Only what was collected comes back, at the online price and
//! VAT, never more than collected across this till's returns; the refund is cash, store
//! credit or card; the return is a verified ticket naming the order, printed and closed as one.

mod support;

use pos_domain::Money;
use pos_domain::closure::ClosureLevel;
use pos_domain::record::{Chain, Depth};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{ReturnLine, TicketKind};
use pos_domain::web_order::PickedLine;
use pos_till::web_orders::HandoverRequest;
use pos_till::web_returns::WebOrderReturnRequest;
use rusqlite::Connection;
use serde_json::json;
use support::new_till;

/// Stores an order as the changes feed delivers it.
fn receive(path: &std::path::Path, order: serde_json::Value) {
    let id = order["id"].as_str().unwrap().to_string();
    let state = order["state"].as_str().unwrap().to_string();
    Connection::open(path)
        .unwrap()
        .execute(
            "INSERT INTO web_orders (id, body, server_state, placed_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, server_state = excluded.server_state",
            rusqlite::params![id, order.to_string(), state, "2026-03-30T07:00:00.000000Z"],
        )
        .unwrap();
}

fn order(id: &str, payment: &str, state: &str) -> serde_json::Value {
    json!({
        "id": id, "shop": "PARIS-OPERA", "reference": format!("WEB-{}", &id[3..]),
        "lines": [
            {"line": 1, "product_id": "ACC-COQ-IP16", "label": "Coque", "quantity": 2, "unit_price": "25.00"},
            {"line": 2, "product_id": "LIV-GUIDE-5G", "label": "Guide", "quantity": 1, "unit_price": "9.90"},
            {"line": 3, "product_id": "WEB-ONLY", "label": "Carte SIM", "quantity": 1, "unit_price": "10.00", "vat_code": "standard"}
        ],
        "payment": payment, "total": "69.90", "pickup_code": format!("PK{}", &id[3..]),
        "state": state, "placed_at": "2026-03-30T07:00:00.000000Z"
    })
}

fn back(line: u32, quantity: u32) -> ReturnLine {
    ReturnLine {
        line,
        quantity,
        serials: Vec::new(),
    }
}

fn refund(kind: TenderKind, cents: i64) -> Vec<Tender> {
    vec![Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }]
}

fn request(order: &str, lines: Vec<ReturnLine>, tenders: Vec<Tender>) -> WebOrderReturnRequest {
    WebOrderReturnRequest {
        operator: Some("alice".into()),
        order: order.into(),
        lines,
        tenders,
    }
}

#[test]
fn a_web_order_handed_over_here_comes_back_as_collected_never_more() {
    let mut t = new_till();
    receive(&t.path, order("WO-1001", "paid_online", "ready"));
    assert_eq!(
        t.till
            .quote_web_order_return(&request("WO-1001", vec![back(1, 1)], vec![]))
            .unwrap_err()
            .code(),
        "web_order_not_collected",
        "nothing comes back before the handover"
    );
    // The customer took one of the two cases and the guide.
    t.till
        .hand_over(&HandoverRequest {
            operator: Some("alice".into()),
            order: "WO-1001".into(),
            pickup_code: "PK1001".into(),
            lines: Some(vec![
                PickedLine {
                    line: 1,
                    quantity: 1,
                },
                PickedLine {
                    line: 2,
                    quantity: 1,
                },
            ]),
            tenders: vec![],
        })
        .unwrap();
    assert_eq!(t.till.find_web_order("web-1001").unwrap().id, "WO-1001");
    assert_eq!(t.till.find_web_order("pk 1001").unwrap().id, "WO-1001");
    assert_eq!(
        t.till.find_web_order("WEB-9").unwrap_err().code(),
        "unknown_web_order"
    );
    let returnable = t.till.web_order_returnable("WO-1001").unwrap();
    let collected: Vec<(u32, u32)> = returnable
        .lines
        .iter()
        .map(|l| (l.collected.line, l.collected.quantity))
        .collect();
    assert_eq!(
        collected,
        vec![(1, 1), (2, 1)],
        "only what was handed over here can come back"
    );

    let quote = t
        .till
        .quote_web_order_return(&request("WO-1001", vec![back(1, 1), back(2, 1)], vec![]))
        .unwrap();
    assert_eq!(
        quote.total,
        Money::from_cents(-3490),
        "online prices 25.00 + 9.90"
    );
    assert_eq!(
        quote.vat.len(),
        2,
        "the case at 20 % and the guide at 5.5 % (the catalog's VAT codes)"
    );
    for (kind, code) in [
        (TenderKind::Voucher, "web_refund_tender_not_allowed"),
        (TenderKind::Cash, "refund_mismatch"),
    ] {
        let err = t
            .till
            .return_web_order(&request("WO-1001", vec![back(1, 1)], refund(kind, -100)))
            .unwrap_err();
        assert_eq!(err.code(), code, "{err}");
    }
    assert_eq!(
        t.till
            .return_web_order(&request(
                "WO-1001",
                vec![back(3, 1)],
                refund(TenderKind::Cash, -1000)
            ))
            .unwrap_err()
            .code(),
        "web_order_line_not_collected",
        "the SIM card was not handed over"
    );
    let first = t
        .till
        .return_web_order(&request(
            "WO-1001",
            vec![back(1, 1)],
            refund(TenderKind::StoreCredit, -2500),
        ))
        .unwrap();
    assert_eq!(first.ticket.kind, TicketKind::Return);
    assert_eq!(first.ticket.original, None);
    assert_eq!(first.ticket.web_order.as_deref(), Some("WO-1001"));
    assert_eq!(first.ticket.lines[0].original_line, Some(1));
    let again = t
        .till
        .return_web_order(&request(
            "WO-1001",
            vec![back(1, 1)],
            refund(TenderKind::Cash, -2500),
        ))
        .unwrap_err();
    assert_eq!(
        again.code(),
        "return_exceeds_collected",
        "one case collected, one returned: no more: {again}"
    );
    let second = t
        .till
        .return_web_order(&request(
            "WO-1001",
            vec![back(2, 1)],
            refund(TenderKind::Card, -990),
        ))
        .unwrap();
    assert_eq!(
        t.till.web_order_returns("WO-1001").unwrap(),
        vec![first.number, second.number]
    );
    let returnable = t.till.web_order_returnable("WO-1001").unwrap();
    assert!(
        returnable
            .lines
            .iter()
            .all(|l| l.returned == l.collected.quantity),
        "everything collected came back"
    );

    let receipt = t.till.receipt(Some("alice"), first.number, false).unwrap();
    assert!(
        receipt.text.contains("Retour commande web WO-1001"),
        "{}",
        receipt.text
    );
    assert!(!receipt.text.contains("Sur ticket"), "{}", receipt.text);
    let z = t.till.close("alice", ClosureLevel::Day).unwrap();
    assert_eq!(z.closure.totals.total, Money::from_cents(-3490));
    assert_eq!(z.closure.totals.returns_amount(), Money::from_cents(-3490));
    assert_eq!(z.closure.totals.sales_amount(), Money::ZERO);
    assert!(t.till.verify(Depth::Full).unwrap().intact());
    assert_eq!(t.till.chain_length(Chain::Ticket).unwrap(), 2);
}

#[test]
fn an_order_collected_at_another_till_comes_back_at_its_prices_and_vat() {
    let mut t = new_till();
    // Head office's copy: collected in full at another till of the shop.
    receive(&t.path, order("WO-2002", "paid_online", "collected"));
    let ticket = t
        .till
        .return_web_order(&request(
            "WO-2002",
            vec![back(1, 2), back(3, 1)],
            refund(TenderKind::Cash, -6000),
        ))
        .unwrap();
    let sim = &ticket.ticket.lines[1];
    assert_eq!(sim.label, "Carte SIM");
    assert_eq!(sim.vat_rate.to_string(), "20", "the order's own VAT code");
    assert_eq!(sim.category, "web", "a product the catalog does not know");
    // Head office's copy names what was handed over of a partial pickup.
    let mut partial = order("WO-3003", "paid_online", "partially_collected");
    assert_eq!(
        t.till.web_order_returnable("WO-3003").unwrap_err().code(),
        "unknown_web_order"
    );
    receive(&t.path, partial.clone());
    assert_eq!(
        t.till.web_order_returnable("WO-3003").unwrap_err().code(),
        "web_order_not_collected",
        "a partial pickup whose lines are not known cannot be returned"
    );
    partial["collected"] = json!([{"line": 2, "quantity": 1}]);
    receive(&t.path, partial);
    let lines = t.till.web_order_returnable("WO-3003").unwrap().lines;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].collected.line, 2);
    // Paid in the shop: the sale ticket is the way back.
    receive(&t.path, order("WO-4004", "pay_in_shop", "collected"));
    assert_eq!(
        t.till
            .quote_web_order_return(&request("WO-4004", vec![back(1, 1)], vec![]))
            .unwrap_err()
            .code(),
        "web_order_paid_in_shop"
    );
}
