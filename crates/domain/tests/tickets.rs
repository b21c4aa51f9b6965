//! Sale, return and cancellation rules, checked on whole tickets.

mod support;

use pos_domain::Money;
use pos_domain::SaleError;
use pos_domain::product::SerialCapture;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{
    Discount, Quantity, ReturnLine, SaleDraft, TicketKind, compute_cancellation, compute_return,
    compute_sale,
};
use pos_domain::vat::VatCode;
use rust_decimal_macros::dec;
use support::{line, product};

fn cash(cents: i64) -> Tender {
    Tender {
        kind: TenderKind::Cash,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

#[test]
fn discounts_and_vat_breakdown() {
    let mut case = line(product("case", 1999, VatCode::Standard), 2);
    case.discount = Some(Discount::Percent(dec!(10)));
    let book = line(product("book", 1250, VatCode::Reduced), 1);
    let draft = SaleDraft {
        lines: vec![case, book],
        ticket_discount: Some(Discount::Amount(Money::from_cents(500))),
        tenders: vec![cash(5000)],
        customer: None,
    };
    let ticket = compute_sale(draft).unwrap();
    // 2 x 19.99 = 39.98, -10% = 4.00 -> 35.98; book 12.50; ticket discount 5.00 split 35.98:12.50.
    assert_eq!(ticket.lines[0].line_discount, Money::from_cents(400));
    let shares: Money = ticket.lines.iter().map(|l| l.ticket_discount_share).sum();
    assert_eq!(
        shares,
        Money::from_cents(500),
        "ticket discount is allocated to the cent"
    );
    assert_eq!(ticket.total, Money::from_cents(3598 + 1250 - 500));
    let vat_total: Money = ticket.vat.iter().map(|v| v.including_vat).sum();
    assert_eq!(
        vat_total, ticket.total,
        "per-rate amounts add up to the total"
    );
    assert_eq!(ticket.vat.len(), 2);
    assert_eq!(ticket.change, Money::from_cents(5000 - 4348));
}

#[test]
fn handset_needs_one_valid_imei_per_unit() {
    let mut phone = product("phone", 79900, VatCode::Standard);
    phone.serial = SerialCapture::Imei;
    let missing = SaleDraft {
        lines: vec![line(phone.clone(), 1)],
        tenders: vec![cash(79900)],
        ..Default::default()
    };
    assert!(matches!(
        compute_sale(missing),
        Err(SaleError::SerialCount { .. })
    ));

    let mut bad = line(phone.clone(), 1);
    bad.serials = vec!["490154203237519".into()];
    let bad = SaleDraft {
        lines: vec![bad],
        tenders: vec![cash(79900)],
        ..Default::default()
    };
    assert!(matches!(
        compute_sale(bad),
        Err(SaleError::BadSerial { .. })
    ));

    let mut good = line(phone, 1);
    good.serials = vec!["490154203237518".into()];
    let good = SaleDraft {
        lines: vec![good],
        tenders: vec![cash(79900)],
        ..Default::default()
    };
    assert_eq!(compute_sale(good).unwrap().lines[0].serials.len(), 1);
}

#[test]
fn zero_quantity_and_wrong_unit_are_refused() {
    let zero = SaleDraft {
        lines: vec![line(product("a", 100, VatCode::Standard), 0)],
        tenders: vec![cash(100)],
        ..Default::default()
    };
    assert!(matches!(
        compute_sale(zero),
        Err(SaleError::ZeroQuantity { line: 1 })
    ));
    let mut grams = line(product("a", 100, VatCode::Standard), 1);
    grams.quantity = Quantity::Grams(250);
    let grams = SaleDraft {
        lines: vec![grams],
        tenders: vec![cash(100)],
        ..Default::default()
    };
    assert!(matches!(
        compute_sale(grams),
        Err(SaleError::WrongUnit { .. })
    ));
}

#[test]
fn returns_never_exceed_what_was_sold_net_of_earlier_returns() {
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("cable", 999, VatCode::Standard), 3)],
        tenders: vec![cash(2997)],
        ..Default::default()
    })
    .unwrap();
    let two = [ReturnLine {
        line: 1,
        quantity: 2,
        serials: vec![],
    }];
    let first = compute_return(7, &sale, &[], &two, Some(vec![cash(-1998)])).unwrap();
    assert_eq!(first.kind, TicketKind::Return);
    assert_eq!(first.original, Some(7));
    assert_eq!(first.total, Money::from_cents(-1998));

    let err = compute_return(
        7,
        &sale,
        std::slice::from_ref(&first),
        &two,
        Some(vec![cash(-1998)]),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SaleError::ReturnExceeds {
                remaining: 1,
                returned: 2,
                ..
            }
        ),
        "{err}"
    );

    let rest = compute_cancellation(
        7,
        &sale,
        std::slice::from_ref(&first),
        Some(vec![cash(-999)]),
    )
    .unwrap();
    assert_eq!(rest.kind, TicketKind::Cancellation);
    assert_eq!(
        first.total + rest.total,
        -sale.total,
        "all returns together mirror the sale"
    );
    assert!(matches!(
        compute_cancellation(7, &sale, &[first, rest], Some(vec![])),
        Err(SaleError::NothingLeft { .. })
    ));
}

#[test]
fn default_refund_goes_back_in_cash_when_cash_was_used() {
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("cable", 999, VatCode::Standard), 1)],
        tenders: vec![
            Tender {
                kind: TenderKind::Card,
                amount: Money::from_cents(500),
                reference: None,
                payment: None,
            },
            cash(499),
        ],
        ..Default::default()
    })
    .unwrap();
    let back = compute_cancellation(1, &sale, &[], None).unwrap();
    assert_eq!(back.tenders, vec![cash(-999)]);
}

#[test]
fn a_return_cannot_be_returned() {
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("cable", 999, VatCode::Standard), 1)],
        tenders: vec![cash(999)],
        ..Default::default()
    })
    .unwrap();
    let back = compute_cancellation(1, &sale, &[], Some(vec![cash(-999)])).unwrap();
    let err = compute_cancellation(2, &back, &[], Some(vec![cash(999)])).unwrap_err();
    assert!(matches!(err, SaleError::NotASale { .. }));
}

#[test]
fn a_line_listed_twice_in_one_return_is_refused() {
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("cable", 1000, VatCode::Standard), 1)],
        tenders: vec![cash(1000)],
        ..Default::default()
    })
    .unwrap();
    let twice = [
        ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        },
        ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        },
    ];
    let err = compute_return(1, &sale, &[], &twice, None).unwrap_err();
    assert!(
        matches!(err, SaleError::RepeatedReturnLine { line: 1 }),
        "{err}"
    );
}

#[test]
fn three_single_returns_refund_exactly_the_vat_of_the_sale() {
    // 3 x 0.99 at 20 %: VAT 0.49 on the sale, but 0.16 per unit if each return rounded alone.
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("pen", 99, VatCode::Standard), 3)],
        tenders: vec![cash(297)],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(sale.vat[0].vat, Money::from_cents(49));
    let mut returns: Vec<pos_domain::ticket::Ticket> = Vec::new();
    for _ in 0..3 {
        let one = [ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        }];
        returns.push(compute_return(1, &sale, &returns, &one, None).unwrap());
    }
    let vat: Money = returns.iter().map(|r| r.vat[0].vat).sum();
    assert_eq!(
        vat,
        Money::from_cents(-49),
        "cumulative VAT: nothing left over once all is returned"
    );
}

#[test]
fn amounts_beyond_the_limit_are_refused_by_every_computation() {
    let max = Money::MAX_AMOUNT.cents();
    // One line at the limit is a sale; two of them are a ticket beyond it.
    let at_limit = line(product("tv", max, VatCode::Standard), 1);
    let sale = compute_sale(SaleDraft {
        lines: vec![at_limit.clone()],
        tenders: vec![cash(max)],
        ..SaleDraft::default()
    })
    .expect("a ticket at the limit is a sale");
    let twice = compute_sale(SaleDraft {
        lines: vec![at_limit.clone(), at_limit],
        tenders: vec![cash(2 * max)],
        ..SaleDraft::default()
    })
    .unwrap_err();
    assert_eq!(
        twice.code(),
        "amount_too_large",
        "a ticket total beyond the limit is refused: {twice}"
    );
    let price = compute_sale(SaleDraft {
        lines: vec![line(product("tv", max + 1, VatCode::Standard), 1)],
        tenders: vec![cash(max + 1)],
        ..SaleDraft::default()
    })
    .unwrap_err();
    assert!(
        matches!(&price, SaleError::Limit(_)) && price.to_string().contains("unit price"),
        "the unit price is named: {price}"
    );
    let lines = compute_sale(SaleDraft {
        lines: vec![line(product("pen", 100, VatCode::Standard), 1); 251],
        tenders: vec![cash(25_100)],
        ..SaleDraft::default()
    })
    .unwrap_err();
    assert_eq!(lines.code(), "too_many_lines", "{lines}");

    // The perpetual totals never pass what readers accept.
    let mut next = sale.clone();
    let near_full = Money::max_readable() - Money::from_cents(1);
    let full = next.chain_totals(Money::ZERO, near_full).unwrap_err();
    assert_eq!(full.code(), "running_total_full", "{full}");
    assert_eq!(
        next.perpetual_absolute_total,
        Money::ZERO,
        "a refused chaining leaves the totals unset"
    );
    next.chain_totals(Money::ZERO, Money::ZERO).unwrap();
    assert_eq!(next.perpetual_absolute_total, Money::MAX_AMOUNT);
}
