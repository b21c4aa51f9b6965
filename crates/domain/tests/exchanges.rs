//! Exchange rules: an exchange is a return and a sale on one ticket, and every figure (lines,
//! VAT per rate, tenders, closure totals, perpetual totals) equals that return plus that sale.

mod support;

use pos_domain::Money;
use pos_domain::SaleError;
use pos_domain::closure::{PeriodTotals, TotalsBuilder};
use pos_domain::exchange::{ExchangeDraft, compute_exchange, quote_exchange};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{
    Discount, ReturnLine, SaleDraft, Ticket, TicketKind, compute_return, compute_sale,
};
use pos_domain::vat::VatCode;
use rust_decimal_macros::dec;
use support::{line, product};

fn tender(kind: TenderKind, cents: i64) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

fn back(line: u32, quantity: u32) -> ReturnLine {
    ReturnLine {
        line,
        quantity,
        serials: vec![],
    }
}

/// Two cases at 19.99 with 10 % off, a book at 12.50, 5.00 off the ticket, paid by card.
fn discounted_sale() -> Ticket {
    let mut case = line(product("case", 1999, VatCode::Standard), 2);
    case.discount = Some(Discount::Percent(dec!(10)));
    compute_sale(SaleDraft {
        lines: vec![case, line(product("book", 1250, VatCode::Reduced), 1)],
        ticket_discount: Some(Discount::Amount(Money::from_cents(500))),
        tenders: vec![tender(TenderKind::Card, 4348)],
        customer: Some("C-42".into()),
    })
    .unwrap()
}

/// Chains `tickets` as the ledger would and sums them as a day closure does.
fn closed(tickets: &mut [Ticket]) -> PeriodTotals {
    let (mut grand, mut absolute) = (Money::ZERO, Money::ZERO);
    let mut builder = TotalsBuilder::new(Money::ZERO, Money::ZERO);
    for (i, ticket) in tickets.iter_mut().enumerate() {
        ticket.chain_totals(grand, absolute).unwrap();
        grand = ticket.grand_total;
        absolute = ticket.perpetual_absolute_total;
        builder.add_ticket(i as u64 + 1, ticket);
    }
    builder.finish()
}

#[test]
fn returned_lines_are_refunded_exactly_as_a_return_would_be() {
    let sale = discounted_sale();
    let draft = ExchangeDraft {
        returned: vec![back(1, 1)],
        new_lines: vec![line(product("charger", 2999, VatCode::Standard), 1)],
        customer: None,
    };
    let as_return = compute_return(1, &sale, &[], &[back(1, 1)], None).unwrap();
    let exchange = compute_exchange(
        1,
        &sale,
        &[],
        draft,
        Some(vec![tender(TenderKind::Card, 1385)]),
    )
    .unwrap();
    assert_eq!(exchange.kind, TicketKind::Exchange);
    assert_eq!(exchange.original, Some(1));
    assert_eq!(
        exchange.lines[0], as_return.lines[0],
        "the returned line is the line compute_return makes"
    );
    assert_eq!(
        exchange.lines[1].line, 2,
        "new lines follow the returned ones"
    );
    assert_eq!(exchange.lines[1].original_line, None);
    assert_eq!(exchange.lines[1].total, Money::from_cents(2999));
    // The cases' line paid 35.98 less 3.71 of the ticket discount: one unit refunds 16.14.
    assert_eq!(as_return.total, Money::from_cents(-1614));
    assert_eq!(exchange.total, Money::from_cents(2999 - 1614));
    assert_eq!(exchange.customer.as_deref(), Some("C-42"));
    assert_eq!(exchange.change, Money::ZERO);
    let vat_sum: Money = exchange.vat.iter().map(|v| v.including_vat).sum();
    assert_eq!(
        vat_sum, exchange.total,
        "per-rate amounts add up to the total"
    );
}

#[test]
fn vat_per_rate_is_the_refunded_vat_plus_the_sold_vat() {
    // 3 x 0.99 at 20 %: VAT 0.49 on the sale. Each unit exchanged in turn for a 1.05 item at
    // 5.5 % and a 0.99 item at 20 %: the 20 % refunds must add up to exactly 0.49.
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("pen", 99, VatCode::Standard), 3)],
        tenders: vec![tender(TenderKind::Cash, 297)],
        ..Default::default()
    })
    .unwrap();
    let pencil_vat = compute_sale(SaleDraft {
        lines: vec![line(product("pencil", 99, VatCode::Standard), 1)],
        tenders: vec![tender(TenderKind::Cash, 99)],
        ..Default::default()
    })
    .unwrap()
    .vat[0]
        .vat;
    let mut earlier: Vec<Ticket> = Vec::new();
    for _ in 0..3 {
        let draft = ExchangeDraft {
            returned: vec![back(1, 1)],
            new_lines: vec![
                line(product("book", 105, VatCode::Reduced), 1),
                line(product("pencil", 99, VatCode::Standard), 1),
            ],
            customer: None,
        };
        let refund_alone = compute_return(1, &sale, &earlier, &[back(1, 1)], None).unwrap();
        let exchange = compute_exchange(
            1,
            &sale,
            &earlier,
            draft,
            Some(vec![tender(TenderKind::Cash, 105)]),
        )
        .unwrap();
        assert_eq!(exchange.total, Money::from_cents(105));
        let standard = exchange
            .vat
            .iter()
            .find(|v| v.rate.as_percent() == dec!(20))
            .unwrap();
        // The pencil's VAT plus the refunded VAT, computed cumulatively.
        assert_eq!(
            standard.vat,
            pencil_vat + refund_alone.vat[0].vat,
            "20 %: VAT of the new pencil plus the cumulative refund"
        );
        assert_eq!(standard.including_vat, Money::ZERO);
        assert_eq!(standard.excluding_vat, -standard.vat);
        let reduced = exchange
            .vat
            .iter()
            .find(|v| v.rate.as_percent() == dec!(5.5))
            .unwrap();
        assert_eq!(reduced.vat, Money::from_cents(5), "1.05 at 5.5 % is 0.05");
        earlier.push(exchange);
    }
    let refunded: Money = earlier
        .iter()
        .flat_map(|t| &t.vat)
        .filter(|v| v.rate.as_percent() == dec!(20))
        .map(|v| v.vat)
        .sum::<Money>()
        - pencil_vat
        - pencil_vat
        - pencil_vat;
    assert_eq!(
        refunded,
        Money::from_cents(-49),
        "exchanged unit by unit, the VAT refunded is exactly the sale's"
    );
    let err = compute_exchange(
        1,
        &sale,
        &earlier,
        ExchangeDraft {
            returned: vec![back(1, 1)],
            new_lines: vec![line(product("pencil", 99, VatCode::Standard), 1)],
            customer: None,
        },
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, SaleError::ReturnExceeds { remaining: 0, .. }),
        "no line is exchanged beyond what was sold: {err}"
    );
}

#[test]
fn the_difference_is_paid_refunded_or_nothing() {
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("cable", 1000, VatCode::Standard), 3)],
        tenders: vec![tender(TenderKind::Card, 3000)],
        ..Default::default()
    })
    .unwrap();
    let draft = |cents: i64| ExchangeDraft {
        returned: vec![back(1, 1)],
        new_lines: vec![line(product("other", cents, VatCode::Standard), 1)],
        customer: None,
    };
    // Dearer: the customer pays, with change in cash only.
    let quoted = quote_exchange(1, &sale, &[], draft(1500)).unwrap();
    assert_eq!(quoted.total, Money::from_cents(500));
    assert!(quoted.tenders.is_empty(), "a quote takes no tenders");
    let err = compute_exchange(1, &sale, &[], draft(1500), None).unwrap_err();
    assert!(
        matches!(err, SaleError::TendersShort { .. }),
        "a positive difference must be paid: {err}"
    );
    let paid = compute_exchange(
        1,
        &sale,
        &[],
        draft(1500),
        Some(vec![
            tender(TenderKind::Card, 300),
            tender(TenderKind::Cash, 500),
        ]),
    )
    .unwrap();
    assert_eq!(paid.change, Money::from_cents(300));
    let err = compute_exchange(
        1,
        &sale,
        &[],
        draft(1500),
        Some(vec![tender(TenderKind::Card, 600)]),
    )
    .unwrap_err();
    assert!(matches!(err, SaleError::ChangeWithoutCash { .. }), "{err}");
    // Cheaper: refunded to the original tender by default, or as store credit.
    let refunded = compute_exchange(1, &sale, &[], draft(400), None).unwrap();
    assert_eq!(refunded.total, Money::from_cents(-600));
    assert_eq!(refunded.tenders, vec![tender(TenderKind::Card, -600)]);
    let credit = compute_exchange(
        1,
        &sale,
        &[],
        draft(400),
        Some(vec![tender(TenderKind::StoreCredit, -600)]),
    )
    .unwrap();
    assert_eq!(credit.tenders, vec![tender(TenderKind::StoreCredit, -600)]);
    // Same price: nothing changes hands.
    let even = compute_exchange(1, &sale, &[], draft(1000), None).unwrap();
    assert_eq!(even.total, Money::ZERO);
    assert!(even.tenders.is_empty(), "an even exchange takes no tender");
}

#[test]
fn an_exchange_needs_both_parts_and_a_sale_to_start_from() {
    let sale = discounted_sale();
    let none_back = ExchangeDraft {
        returned: vec![],
        new_lines: vec![line(product("x", 100, VatCode::Standard), 1)],
        customer: None,
    };
    assert!(matches!(
        quote_exchange(1, &sale, &[], none_back),
        Err(SaleError::ExchangeIncomplete { .. })
    ));
    let nothing_new = ExchangeDraft {
        returned: vec![back(1, 1)],
        new_lines: vec![],
        customer: None,
    };
    assert!(matches!(
        quote_exchange(1, &sale, &[], nothing_new),
        Err(SaleError::ExchangeIncomplete { .. })
    ));
    let refund = compute_return(1, &sale, &[], &[back(2, 1)], None).unwrap();
    let err = quote_exchange(
        2,
        &refund,
        &[],
        ExchangeDraft {
            returned: vec![back(1, 1)],
            new_lines: vec![line(product("x", 100, VatCode::Standard), 1)],
            customer: None,
        },
    )
    .unwrap_err();
    assert!(matches!(err, SaleError::NotASale { .. }), "{err}");
}

#[test]
fn what_an_exchange_sold_can_be_returned_but_not_what_it_took_back() {
    let sale = discounted_sale();
    let exchange = compute_exchange(
        1,
        &sale,
        &[],
        ExchangeDraft {
            returned: vec![back(2, 1)],
            new_lines: vec![line(product("novel", 1400, VatCode::Reduced), 1)],
            customer: None,
        },
        Some(vec![tender(TenderKind::Cash, 500)]),
    )
    .unwrap();
    let err = compute_return(2, &exchange, &[], &[back(1, 1)], None).unwrap_err();
    assert!(
        matches!(err, SaleError::LineWasAReturn { line: 1, .. }),
        "{err}"
    );
    let returned = compute_return(2, &exchange, &[], &[back(2, 1)], None).unwrap();
    assert_eq!(returned.total, Money::from_cents(-1400));
    assert_eq!(
        returned.tenders,
        vec![tender(TenderKind::Cash, -1400)],
        "refunded as the exchange was paid"
    );
}

#[test]
fn closure_totals_count_an_exchange_as_its_return_plus_its_sale() {
    let new_item = || line(product("charger", 2999, VatCode::Standard), 1);
    let sale = discounted_sale();
    let exchange = compute_exchange(
        1,
        &sale,
        &[],
        ExchangeDraft {
            returned: vec![back(1, 1), back(2, 1)],
            new_lines: vec![new_item()],
            customer: None,
        },
        Some(vec![tender(TenderKind::Card, 2999 - 1614 - 1121)]),
    )
    .unwrap();
    let separate_return = compute_return(
        1,
        &sale,
        &[],
        &[back(1, 1), back(2, 1)],
        Some(vec![tender(TenderKind::Card, -1614 - 1121)]),
    )
    .unwrap();
    let separate_sale = compute_sale(SaleDraft {
        lines: vec![new_item()],
        tenders: vec![tender(TenderKind::Card, 2999)],
        ..Default::default()
    })
    .unwrap();
    let one = closed(&mut [sale.clone(), exchange.clone()]);
    let two = closed(&mut [sale.clone(), separate_return, separate_sale]);
    assert_eq!(one.total, two.total, "period total");
    assert_eq!(one.absolute_total, two.absolute_total, "absolute total");
    assert_eq!(one.vat, two.vat, "VAT per rate");
    assert_eq!(one.grand_total, two.grand_total, "perpetual grand total");
    assert_eq!(
        one.perpetual_absolute_total, two.perpetual_absolute_total,
        "perpetual absolute total: both parts of the exchange count"
    );
    assert_eq!(one.tenders[0].amount, two.tenders[0].amount, "card net");
    assert_eq!((one.sales, one.returns, one.exchanges), (1, 0, 1));
    assert_eq!(one.sales_amount(), sale.total + Money::from_cents(2999));
    assert_eq!(one.returns_amount(), Money::from_cents(-1614 - 1121));
    assert_eq!(
        one.grand_total,
        sale.total + exchange.total,
        "the grand total is the sum of ticket totals"
    );
}

#[test]
fn the_absolute_amount_of_a_sale_or_return_is_its_absolute_total() {
    let sale = discounted_sale();
    let back = compute_return(1, &sale, &[], &[back(1, 2), back(2, 1)], None).unwrap();
    assert_eq!(sale.absolute_amount(), sale.total);
    assert_eq!(back.absolute_amount(), -back.total);
}
