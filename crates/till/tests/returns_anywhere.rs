//! Returns at any till: an item sold at another till is returned here, checked against the
//! original when head office found it (earlier returns anywhere counted), or offline with a
//! manager's approval within a per-till daily cap; a return without receipt needs a reason
//! and goes to a credit note by default; the return names the original till and ticket and is
//! never filed under this till's ticket of the same number; with no head office answering, the
//! lookups answer "no answer" so the offline rules apply.

mod support;

use pos_domain::Money;
use pos_domain::record::Depth;
use pos_domain::returns_anywhere::ReceiptRef;
use pos_domain::stored_value::MovementKind;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{ReturnLine, TicketKind};
use pos_domain::wire::{TicketAt, TicketLookupAnswer};
use pos_till::requests::{RecordedTicket, SaleLineRequest, SaleRequest};
use pos_till::returns_anywhere::ReturnAnywhereRequest;
use pos_till::staff::StaffRole;
use support::{TestTill, new_till};

fn cash(cents: i64) -> Tender {
    Tender {
        kind: TenderKind::Cash,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

fn item(product: &str) -> SaleLineRequest {
    SaleLineRequest {
        product_id: Some(product.into()),
        quantity: Some(1),
        ..Default::default()
    }
}

fn sell_case(t: &mut TestTill, units: i64) -> RecordedTicket {
    t.till
        .sell(&SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                quantity: Some(units),
                ..item("ACC-COQ-IP16")
            }],
            tenders: vec![cash(2999 * units)],
            ..Default::default()
        })
        .unwrap()
}

/// This till, with a manager (bruno) and a cashier (alice).
fn here() -> TestTill {
    let mut t = new_till();
    t.till
        .add_staff("bruno", "Bruno", StaffRole::Manager, "9999", [1; 16])
        .unwrap();
    t.till
        .add_staff("alice", "Alice", StaffRole::Cashier, "1234", [2; 16])
        .unwrap();
    t
}

/// Another till of the chain, in another shop: a separate ledger with its own id.
fn elsewhere() -> TestTill {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lyon.db");
    let clock = std::sync::Arc::new(pos_domain::clock::ManualClock::new(support::start()));
    let mut till = pos_till::Till::init(
        &path,
        pos_till::InitOptions::new("Boutique Lyon", "Caisse 2"),
        clock.clone(),
        [43u8; 32],
    )
    .unwrap();
    till.import_catalog(&pos_till::demo::demo_catalog().unwrap(), "demo")
        .unwrap();
    TestTill {
        dir,
        path,
        clock,
        till,
    }
}

fn at(till: &TestTill, ticket: &RecordedTicket) -> TicketAt {
    TicketAt {
        till: till.till.identity().till_id.clone(),
        shop: "S2".into(),
        ticket: ticket.number,
        at: ticket.at.clone(),
        payload: ticket.ticket.clone(),
    }
}

#[test]
fn offline_a_return_of_another_tills_ticket_needs_a_manager_and_names_the_original() {
    let mut t = here();
    let own = sell_case(&mut t, 1);
    assert_eq!(own.number, 1);
    let other_till = "T-ELSEWHERE";
    let request = |approved_by: Option<&str>| ReturnAnywhereRequest {
        operator: Some("alice".into()),
        receipt: Some(format!("{other_till}:1")),
        items: vec![item("ACC-COQ-IP16")],
        approved_by: approved_by.map(str::to_string),
        tenders: Some(vec![cash(-2999)]),
        ..Default::default()
    };
    let err = t.till.return_anywhere(&request(None)).unwrap_err();
    assert_eq!(err.code(), "manager_approval_required", "{err}");
    let err = t.till.return_anywhere(&request(Some("alice"))).unwrap_err();
    assert_eq!(
        err.code(),
        "manager_approval_required",
        "a cashier cannot approve a return head office could not check"
    );
    let back = t.till.return_anywhere(&request(Some("bruno"))).unwrap();
    assert_eq!(back.ticket.kind, TicketKind::Return);
    assert_eq!(
        (back.ticket.original, back.ticket.original_till.as_deref()),
        (Some(1), Some(other_till)),
        "the return names the original till and ticket"
    );
    assert_eq!(back.ticket.total, Money::from_cents(-2999));
    assert!(
        t.till.returns_of(1).unwrap().is_empty(),
        "another till's ticket 1 is not this till's ticket 1"
    );
    let receipt = t.till.receipt(Some("alice"), back.number, false).unwrap();
    assert!(
        receipt.text.contains("Sur ticket n° 1 caisse T-ELSEWHERE")
            && receipt.text.contains("Accord responsable bruno"),
        "the receipt prints the original till and ticket and who approved:\n{}",
        receipt.text
    );
    // The per-till daily cap (300.00 by default) bounds what goes back unchecked.
    let many = ReturnAnywhereRequest {
        items: vec![SaleLineRequest {
            quantity: Some(10),
            ..item("ACC-COQ-IP16")
        }],
        tenders: Some(vec![cash(-2999 * 10)]),
        ..request(Some("bruno"))
    };
    let err = t.till.return_anywhere(&many).unwrap_err();
    assert_eq!(err.code(), "return_cap_reached", "{err}");
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn a_return_without_receipt_needs_a_reason_and_goes_to_a_credit_note() {
    let mut t = here();
    let request = |reason: Option<&str>| ReturnAnywhereRequest {
        operator: Some("alice".into()),
        items: vec![item("ACC-CBL-CC1")],
        approved_by: Some("bruno".into()),
        reason: reason.map(str::to_string),
        ..Default::default()
    };
    let err = t.till.return_anywhere(&request(None)).unwrap_err();
    assert_eq!(err.code(), "reason_required");
    let back = t
        .till
        .return_anywhere(&request(Some("gift, wrong size")))
        .unwrap();
    assert_eq!(back.ticket.original, None);
    assert_eq!(back.ticket.tenders[0].kind, TenderKind::StoreCredit);
    let issue = &back.ticket.stored_value[0];
    assert_eq!(
        (issue.kind, issue.amount),
        (MovementKind::Issue, Money::from_cents(1490)),
        "refunded to a credit note by default"
    );
    let receipt = t.till.receipt(Some("alice"), back.number, false).unwrap();
    assert!(
        receipt.text.contains("Retour sans ticket"),
        "{}",
        receipt.text
    );
    for _ in 0..5 {
        t.till.return_anywhere(&request(Some("again"))).unwrap();
    }
    let err = t.till.return_anywhere(&request(Some("again"))).unwrap_err();
    assert_eq!(
        err.code(),
        "return_cap_reached",
        "no-receipt returns stop at 100.00 a day per till by default: {err}"
    );
}

#[test]
fn with_head_offices_answer_the_return_counts_every_earlier_return_in_the_chain() {
    let mut other = elsewhere();
    let mut t = here();
    let sold = sell_case(&mut other, 2);
    // One unit already returned at the selling till.
    let returned_there = other
        .till
        .return_items(&pos_till::requests::ReturnRequest {
            original: sold.number,
            lines: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![],
            }],
            ..Default::default()
        })
        .unwrap();
    let receipt = pos_till::receipt::qr_reference(other.till.identity(), &sold);
    let found = TicketLookupAnswer {
        original: at(&other, &sold),
        returns: vec![at(&other, &returned_there)],
        reserved: vec![],
    };
    let request = |quantity| ReturnAnywhereRequest {
        operator: Some("alice".into()),
        receipt: Some(receipt.clone()),
        found: Some(found.clone()),
        lines: vec![ReturnLine {
            line: 1,
            quantity,
            serials: vec![],
        }],
        ..Default::default()
    };
    let err = t.till.return_anywhere(&request(2)).unwrap_err();
    assert_eq!(
        err.code(),
        "return_exceeds_sale",
        "a unit returned at the selling till cannot come back here: {err}"
    );
    let back = t.till.return_anywhere(&request(1)).unwrap();
    assert!(
        back.ticket.unchecked_return.is_none(),
        "checked: no approval needed"
    );
    assert_eq!(
        back.ticket.tenders,
        vec![cash(-2999)],
        "refunded as the original was paid"
    );
    let err = t.till.return_anywhere(&request(1)).unwrap_err();
    assert_eq!(
        err.code(),
        "return_exceeds_sale",
        "this till's own return counts before head office holds it: {err}"
    );
}

#[test]
fn without_head_office_the_lookups_answer_nothing_and_offline_rules_apply() {
    let t = here();
    let receipt = ReceiptRef::parse("T-2:41").unwrap();
    assert_eq!(
        t.till.lookup_ticket(&receipt).unwrap(),
        None,
        "a till not enrolled gets no answer, never an error"
    );
    // Enrolled with a head office that is down: still no answer, after a short wait.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    rusqlite::Connection::open(&t.path)
        .unwrap()
        .execute(
            "INSERT INTO sync_server (id, url, token, shop_id, max_records, enrolled_at)
             VALUES (1, ?1, 't', 'S1', 100, '')",
            [format!("http://127.0.0.1:{port}")],
        )
        .unwrap();
    let t = pos_till::Till::open(&t.path, t.clock.clone()).unwrap();
    assert_eq!(t.lookup_ticket(&receipt).unwrap(), None);
    let number = pos_domain::stored_value::InstrumentNumber::generate(
        pos_domain::stored_value::InstrumentKind::GiftCard,
        [1; 16],
    );
    assert_eq!(t.lookup_instrument(&number).unwrap(), None);
}

/// The demo catalog with one product at another price, imported as head office's download
/// would change it.
fn reprice(t: &mut TestTill, product: &str, cents: i64) {
    let mut catalog = pos_till::demo::demo_catalog().unwrap();
    let p = catalog.iter_mut().find(|p| p.id == product).unwrap();
    p.price = Money::from_cents(cents);
    t.till
        .import_catalog(std::slice::from_ref(p), "price change")
        .unwrap();
}

#[test]
fn a_return_without_receipt_is_refunded_at_the_lowest_price_of_the_last_days() {
    let mut t = here();
    let request = ReturnAnywhereRequest {
        operator: Some("alice".into()),
        items: vec![SaleLineRequest {
            // Typed above the shelf price: never refunded above it either.
            unit_price: Some(Money::from_cents(9900)),
            ..item("ACC-CBL-CC1")
        }],
        approved_by: Some("bruno".into()),
        reason: Some("no receipt".into()),
        ..Default::default()
    };
    let refunded = |t: &mut TestTill| -> i64 {
        -t.till
            .return_anywhere(&request)
            .unwrap()
            .ticket
            .total
            .cents()
    };
    assert_eq!(
        refunded(&mut t),
        1490,
        "at most the shelf price, whatever price was typed"
    );
    // On sale at 9.90 for three days, then back at 14.90.
    reprice(&mut t, "ACC-CBL-CC1", 990);
    t.clock.advance(chrono::Duration::days(3));
    reprice(&mut t, "ACC-CBL-CC1", 1490);
    t.clock.advance(chrono::Duration::days(2));
    let quoted = t.till.quote_return_anywhere(&request).unwrap();
    assert_eq!(
        quoted.total,
        Money::from_cents(-990),
        "a return without receipt is refunded at no more than the lowest price of the last 30 days"
    );
    assert_eq!(refunded(&mut t), 990);
    // Another till's receipt, offline: the price of the day, never the price typed; the
    // lowest price rule is for returns without any receipt.
    let with_receipt = ReturnAnywhereRequest {
        receipt: Some("T-ELSEWHERE:7".into()),
        ..request.clone()
    };
    assert_eq!(
        t.till.quote_return_anywhere(&with_receipt).unwrap().total,
        Money::from_cents(-1490),
        "an unchecked return is never refunded above the catalog's price"
    );
    // Once the sale price is older than the window, the current price applies again.
    t.clock.advance(chrono::Duration::days(29));
    assert_eq!(
        t.till.quote_return_anywhere(&request).unwrap().total,
        Money::from_cents(-1490),
        "a price replaced more than 30 days ago no longer counts"
    );
}

fn card(cents: i64, payment: &str) -> Tender {
    Tender {
        kind: TenderKind::Card,
        amount: Money::from_cents(cents),
        reference: None,
        payment: Some(payment.into()),
    }
}

#[test]
fn at_another_till_the_refund_rules_stay_those_of_the_original_ticket() {
    let mut other = elsewhere();
    let mut t = here();
    // Two cases: 29.99 on the card, 29.99 in cash.
    let sold = other
        .till
        .sell(&SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                quantity: Some(2),
                ..item("ACC-COQ-IP16")
            }],
            tenders: vec![card(2999, "pay-sale"), cash(2999)],
            ..Default::default()
        })
        .unwrap();
    let found = TicketLookupAnswer {
        original: at(&other, &sold),
        returns: vec![],
        reserved: vec![],
    };
    let receipt = pos_till::receipt::qr_reference(other.till.identity(), &sold);
    let request = |quantity, tenders: Vec<Tender>| ReturnAnywhereRequest {
        operator: Some("alice".into()),
        receipt: Some(receipt.clone()),
        found: Some(found.clone()),
        lines: vec![ReturnLine {
            line: 1,
            quantity,
            serials: vec![],
        }],
        tenders: Some(tenders),
        ..Default::default()
    };
    let err = t
        .till
        .return_anywhere(&request(2, vec![card(-5998, "refund-1")]))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "refund_above_paid",
        "a card gets back no more than it paid on the original: {err}"
    );
    let back = t
        .till
        .return_anywhere(&request(1, vec![card(-2999, "refund-1")]))
        .expect("a card refund back to the card that paid, with its own terminal refund");
    assert_eq!(back.ticket.tenders, vec![card(-2999, "refund-1")]);
    // The card got its 29.99 back: the last unit goes back in cash or to a credit note.
    let err = t
        .till
        .return_anywhere(&request(1, vec![card(-2999, "refund-2")]))
        .unwrap_err();
    assert_eq!(err.code(), "refund_above_paid", "{err}");
    t.till
        .return_anywhere(&request(1, vec![cash(-2999)]))
        .expect("cash is always a refund the original allows");

    // A ticket paid in cash never comes back to a card.
    let cash_sale = sell_case(&mut other, 1);
    let found_cash = TicketLookupAnswer {
        original: at(&other, &cash_sale),
        returns: vec![],
        reserved: vec![],
    };
    let err = t
        .till
        .return_anywhere(&ReturnAnywhereRequest {
            receipt: Some(pos_till::receipt::qr_reference(
                other.till.identity(),
                &cash_sale,
            )),
            found: Some(found_cash),
            ..request(1, vec![card(-2999, "refund-3")])
        })
        .unwrap_err();
    assert_eq!(
        err.code(),
        "refund_not_as_paid",
        "a cash sale is never refunded to a card: {err}"
    );
    // One terminal refund goes on one return only.
    let all_card = other
        .till
        .sell(&SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                quantity: Some(2),
                ..item("ACC-COQ-IP16")
            }],
            tenders: vec![card(5998, "pay-sale-2")],
            ..Default::default()
        })
        .unwrap();
    let of_all_card = |payment: &str| ReturnAnywhereRequest {
        receipt: Some(pos_till::receipt::qr_reference(
            other.till.identity(),
            &all_card,
        )),
        found: Some(TicketLookupAnswer {
            original: at(&other, &all_card),
            returns: vec![],
            reserved: vec![],
        }),
        ..request(1, vec![card(-2999, payment)])
    };
    t.till.return_anywhere(&of_all_card("refund-5")).unwrap();
    let err = t
        .till
        .return_anywhere(&of_all_card("refund-5"))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "payment_already_used",
        "one terminal refund is on one return only: {err}"
    );
    t.till.return_anywhere(&of_all_card("refund-6")).unwrap();
    // Unchecked (offline), there is no original to refund back to: cash or a credit note.
    let err = t
        .till
        .return_anywhere(&ReturnAnywhereRequest {
            operator: Some("alice".into()),
            receipt: Some("T-ELSEWHERE:9".into()),
            items: vec![item("ACC-COQ-IP16")],
            approved_by: Some("bruno".into()),
            tenders: Some(vec![card(-2999, "refund-4")]),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "refund_not_as_paid", "{err}");
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn with_head_offices_answer_items_scanned_are_matched_to_the_original_lines() {
    let mut other = elsewhere();
    let mut t = here();
    let sold = sell_case(&mut other, 2);
    let returned_there = other
        .till
        .return_items(&pos_till::requests::ReturnRequest {
            original: sold.number,
            lines: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![],
            }],
            ..Default::default()
        })
        .unwrap();
    let request = |product: &str| ReturnAnywhereRequest {
        operator: Some("alice".into()),
        receipt: Some(pos_till::receipt::qr_reference(
            other.till.identity(),
            &sold,
        )),
        found: Some(TicketLookupAnswer {
            original: at(&other, &sold),
            returns: vec![at(&other, &returned_there)],
            reserved: vec![],
        }),
        items: vec![item(product)],
        ..Default::default()
    };
    let back = t
        .till
        .return_anywhere(&request("ACC-COQ-IP16"))
        .expect("the case scanned is the original's line 1, one unit still returnable");
    assert!(
        back.ticket.unchecked_return.is_none(),
        "checked against the original: no manager"
    );
    assert_eq!(back.ticket.lines[0].original_line, Some(1));
    assert_eq!(back.ticket.tenders, vec![cash(-2999)], "refunded as paid");
    let err = t
        .till
        .return_anywhere(&request("ACC-COQ-IP16"))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "return_exceeds_sale",
        "both units came back, one at each till: {err}"
    );
    let err = t.till.return_anywhere(&request("ACC-CBL-CC1")).unwrap_err();
    assert_eq!(
        err.code(),
        "item_not_on_original",
        "an item the ticket did not sell is not returned against it: {err}"
    );
}
