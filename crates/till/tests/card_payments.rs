//! One terminal approval pays one ticket: the ledger itself refuses a card tender naming a
//! payment an earlier ticket consumed, whichever front end sends it; property: however sales
//! name approvals, none is ever on two tickets.

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

/// A sale paid by one or two card tenders of 5.00, each naming a payment of a small pool.
fn sale_paid_by(payments: &[u8]) -> SaleRequest {
    SaleRequest {
        tenders: payments
            .iter()
            .map(|p| Tender {
                amount: Money::from_cents(1000 / payments.len() as i64),
                ..card(&format!("PAY-{p}"))
            })
            .collect(),
        ..sale(card("unused"))
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// However sales name approvals (again, twice on one ticket, in any order), the ledger
    /// holds each approval on one ticket at most, and a sale is recorded exactly when every
    /// approval it names is new.
    #[test]
    fn no_ticket_is_ever_paid_twice_by_one_approval(
        attempts in proptest::collection::vec(
            proptest::collection::vec(0u8..5, 1..=2),
            1..12,
        )
    ) {
        let mut t = support::new_till();
        let mut used = std::collections::BTreeSet::new();
        for payments in &attempts {
            let distinct: std::collections::BTreeSet<u8> = payments.iter().copied().collect();
            let fresh = distinct.len() == payments.len() && distinct.is_disjoint(&used);
            let outcome = t.till.sell(&sale_paid_by(payments));
            proptest::prop_assert_eq!(
                outcome.is_ok(),
                fresh,
                "a sale naming {:?} after {:?} were used: {:?}",
                payments,
                used,
                outcome.as_ref().err().map(|e| e.code())
            );
            if fresh {
                used.extend(distinct);
            }
        }
        let mut seen = std::collections::BTreeMap::new();
        let length = t.till.chain_length(pos_domain::record::Chain::Ticket).unwrap();
        for number in 1..=length {
            let ticket = t.till.ticket(pos_domain::record::Chain::Ticket, number).unwrap();
            for payment in ticket.ticket.tenders.iter().filter_map(|t| t.payment.clone()) {
                let earlier = seen.insert(payment.clone(), number);
                proptest::prop_assert!(
                    earlier.is_none(),
                    "approval {} pays tickets {:?} and {}",
                    payment,
                    earlier,
                    number
                );
            }
        }
    }
}
