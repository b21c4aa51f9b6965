//! Property tests: totals equal the sum of lines, a full refund mirrors its sale per VAT rate to
//! the cent, an exchange counts as its return plus its sale, canonical bytes are stable and
//! round-trip.

mod support;

use pos_domain::Money;
use pos_domain::closure::TotalsBuilder;
use pos_domain::exchange::{ExchangeDraft, compute_exchange};
use pos_domain::record::{
    Chain, Deterministic, Record, SignedRecord, Signer, SoftwareKey, canonical_bytes,
};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{
    Discount, ReturnLine, SaleDraft, compute_cancellation, compute_return, compute_sale,
};
use pos_domain::vat::VatCode;
use proptest::prelude::*;
use rust_decimal::Decimal;
use support::{line, product};

const CODES: [VatCode; 5] = [
    VatCode::Standard,
    VatCode::Intermediate,
    VatCode::Reduced,
    VatCode::SuperReduced,
    VatCode::Exempt,
];

fn arb_sale() -> impl Strategy<Value = SaleDraft> {
    let arb_line = (
        1i64..200_000,
        0usize..5,
        1u32..6,
        prop::option::of(0u32..=100),
    )
        .prop_map(|(cents, code, units, percent)| {
            let mut l = line(product(&format!("p{cents}"), cents, CODES[code]), units);
            l.discount = percent.map(|p| Discount::Percent(Decimal::from(p)));
            l
        });
    (
        prop::collection::vec(arb_line, 1..8),
        prop::option::of(0u32..=50),
    )
        .prop_map(|(lines, ticket_pct)| {
            let mut draft = SaleDraft {
                lines,
                ..Default::default()
            };
            draft.ticket_discount = ticket_pct.map(|p| Discount::Percent(Decimal::from(p)));
            draft
        })
}

fn paid(mut draft: SaleDraft) -> pos_domain::ticket::Ticket {
    draft.tenders = vec![Tender {
        kind: TenderKind::Cash,
        amount: Money::from_cents(100_000_000),
        reference: None,
        payment: None,
    }];
    compute_sale(draft).expect("a sale paid in full in cash is valid")
}

proptest! {
    #[test]
    fn totals_equal_the_sum_of_lines(draft in arb_sale()) {
        let ticket = paid(draft);
        let lines: Money = ticket.lines.iter().map(|l| l.total).sum();
        prop_assert_eq!(ticket.total, lines, "ticket total is the sum of line totals");
        let per_rate: Money = ticket.vat.iter().map(|v| v.including_vat).sum();
        prop_assert_eq!(ticket.total, per_rate, "per-rate totals add up to the ticket total");
        for v in &ticket.vat {
            prop_assert_eq!(v.vat + v.excluding_vat, v.including_vat, "VAT + HT = TTC per rate");
        }
        for l in &ticket.lines {
            prop_assert_eq!(l.gross - l.line_discount - l.ticket_discount_share, l.total);
        }
    }

    #[test]
    fn full_refund_mirrors_the_sale_per_rate(draft in arb_sale(), split in 0u32..4) {
        let sale = paid(draft);
        // Return part of every line first (when `split` allows), then cancel the rest.
        let partial: Vec<ReturnLine> = sale.lines.iter()
            .filter(|l| l.quantity.count() > split && split > 0)
            .map(|l| ReturnLine { line: l.line, quantity: split, serials: vec![] })
            .collect();
        let mut returns = Vec::new();
        if !partial.is_empty() {
            returns.push(compute_return(1, &sale, &[], &partial, None).unwrap());
        }
        let remaining_total = -(sale.total + returns.iter().map(|r| r.total).sum::<Money>());
        let tenders = if remaining_total.is_zero() { vec![] } else {
            vec![Tender { kind: TenderKind::Cash, amount: remaining_total, reference: None, payment: None }]
        };
        returns.push(compute_cancellation(1, &sale, &returns, Some(tenders)).unwrap());
        for sold in &sale.vat {
            let at_rate = || returns.iter().flat_map(|r| &r.vat).filter(|v| v.rate == sold.rate);
            let back: Money = at_rate().map(|v| v.including_vat).sum();
            prop_assert_eq!(back, -sold.including_vat, "refunds of rate {} mirror the sale", sold.rate);
            let vat_back: Money = at_rate().map(|v| v.vat).sum();
            prop_assert_eq!(vat_back, -sold.vat, "VAT refunded at rate {} in any number of returns mirrors the sale's VAT", sold.rate);
        }
        if split == 0 {
            let only = &returns[0];
            for (sold, back) in sale.vat.iter().zip(&only.vat) {
                prop_assert_eq!(back.vat, -sold.vat, "one full refund mirrors VAT to the cent");
                prop_assert_eq!(back.excluding_vat, -sold.excluding_vat);
            }
        }
    }

    #[test]
    fn an_exchange_counts_as_its_return_plus_its_sale(original in arb_sale(), new in arb_sale(), units in 1u32..4) {
        let sale = paid(original);
        let back: Vec<ReturnLine> = sale.lines.iter()
            .map(|l| ReturnLine { line: l.line, quantity: units.min(l.quantity.count()), serials: vec![] })
            .collect();
        let draft = ExchangeDraft { returned: back.clone(), new_lines: new.lines.clone(), customer: None };
        // Cash both ways: enough to cover a positive difference, exact for a refund.
        let quoted = pos_domain::exchange::quote_exchange(1, &sale, &[], draft.clone()).unwrap();
        let cash = |cents: i64| Tender { kind: TenderKind::Cash, amount: Money::from_cents(cents), reference: None, payment: None };
        let tenders = if quoted.total.is_positive() { vec![cash(100_000_000)] }
            else if quoted.total.is_negative() { vec![cash(quoted.total.cents())] } else { vec![] };
        let exchange = compute_exchange(1, &sale, &[], draft, Some(tenders)).unwrap();
        let refund = compute_return(1, &sale, &[], &back, None).unwrap();
        let bought = paid(SaleDraft { lines: new.lines, ..Default::default() });
        prop_assert_eq!(exchange.total, refund.total + bought.total, "the difference");
        prop_assert_eq!(&exchange.lines[..refund.lines.len()], &refund.lines[..], "returned lines as a return computes them");
        let sum = |tickets: &[&pos_domain::ticket::Ticket]| {
            let mut b = TotalsBuilder::new(Money::ZERO, Money::ZERO);
            for (i, t) in tickets.iter().enumerate() {
                b.add_ticket(i as u64 + 1, t);
            }
            b.finish()
        };
        let one = sum(&[&sale, &exchange]);
        let two = sum(&[&sale, &refund, &bought]);
        prop_assert_eq!(&one.vat, &two.vat, "VAT per rate");
        prop_assert_eq!(one.total, two.total);
        prop_assert_eq!(one.absolute_total, two.absolute_total);
        prop_assert_eq!(one.sales_amount(), two.sales_amount());
        prop_assert_eq!(one.returns_amount(), two.returns_amount());
        for v in &exchange.vat {
            prop_assert_eq!(v.vat + v.excluding_vat, v.including_vat, "VAT + HT = TTC per rate");
        }
    }

    #[test]
    fn canonical_bytes_are_stable_and_round_trip(draft in arb_sale(), seq in 1u64..1_000_000, secs in 0i64..4_000_000_000) {
        let ticket = paid(draft);
        let key = SoftwareKey::from_secret_bytes(&[7u8; 32]).unwrap();
        let record = Record {
            till: "T1".into(), chain: Chain::Ticket, seq,
            at: chrono::DateTime::from_timestamp(secs, 123_000).unwrap(),
            tz: "Europe/Paris".into(), operator: "alice".into(), software: "pos 0.1.0".into(),
            first: seq == 1, prev: if seq == 1 { String::new() } else { "ab".repeat(32) },
            payload: serde_json::to_value(&ticket).unwrap(),
        };
        let signed = record.clone().sign(&Deterministic(&key)).unwrap();
        let again = record.clone().sign(&Deterministic(&key)).unwrap();
        prop_assert_eq!(&signed.stored, &again.stored, "RFC 6979 signing is deterministic");
        let fresh = record.clone().sign(&key).unwrap();
        prop_assert!(key.public_key().verify(&record.signed_bytes().unwrap(), &fresh.signature), "a random-nonce signature verifies");
        let back = SignedRecord::from_stored(&signed.stored).unwrap();
        prop_assert_eq!(&back.record, &record, "stored bytes round-trip to the same record");
        let reparsed: pos_domain::ticket::Ticket = serde_json::from_value(back.record.payload.clone()).unwrap();
        prop_assert_eq!(&reparsed, &ticket, "the ticket payload round-trips");
        prop_assert_eq!(canonical_bytes(&serde_json::to_value(&record).unwrap()).unwrap(), record.signed_bytes().unwrap());
        prop_assert_eq!(back.signed_bytes().unwrap(), record.signed_bytes().unwrap(), "the signed bytes cut from the stored ones are the signed bytes");
    }
}
