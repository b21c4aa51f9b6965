//! One terminal approval pays one ticket: the ledger itself refuses a card tender naming a
//! payment an earlier ticket consumed, whichever front end sends it.

mod support;

use pos_domain::Money;
use pos_domain::tender::{Tender, TenderKind};
use pos_till::requests::{SaleLineRequest, SaleRequest};

fn card(payment: &str) -> Tender {
    Tender {
        kind: TenderKind::Card,
        amount: Money::from_cents(1000),
        reference: Some("A1B2C3".into()),
        payment: Some(payment.into()),
    }
}

fn sale(tender: Tender) -> SaleRequest {
    SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some("SRV-SIM".into()),
            quantity: Some(1),
            ..SaleLineRequest::default()
        }],
        tenders: vec![tender],
        ..SaleRequest::default()
    }
}

#[test]
fn a_card_payment_pays_one_ticket_only() {
    let mut t = support::new_till();
    let till = &mut t.till;
    let first = till
        .sell(&sale(card("PAY-1")))
        .expect("the first ticket takes the payment");
    assert_eq!(first.ticket.tenders[0].payment.as_deref(), Some("PAY-1"));
    assert_eq!(
        till.card_payment_ticket("PAY-1").unwrap(),
        Some(first.number)
    );
    let heads_before = till
        .chain_length(pos_domain::record::Chain::Ticket)
        .unwrap();

    let error = till
        .sell(&sale(card("PAY-1")))
        .expect_err("a second ticket cannot take the same approval");
    assert_eq!(error.code(), "payment_already_used", "{error}");
    assert_eq!(
        till.chain_length(pos_domain::record::Chain::Ticket)
            .unwrap(),
        heads_before,
        "the refused ticket left nothing in the ledger"
    );
    till.sell(&sale(card("PAY-2")))
        .expect("another approval pays another ticket");
    assert!(
        till.verify(pos_domain::record::Depth::Full)
            .unwrap()
            .intact(),
        "the ledger still verifies"
    );
}
