//! Returning a web order in a shop: a `return` ticket that names the order (`web_order`) and
//! no original ticket, since an order paid online has no sale ticket at any till.
//!
//! Its lines are the order's collected lines, as head office sent the order: the quantity
//! handed over, the unit price the customer paid online and the VAT code charged. Each return
//! line names its order line in `original_line`, so the returns of one order add up per line
//! exactly as the returns of a ticket do, and everything that counts a returned line
//! (closures, rollups, stock) counts it the same way. Amounts and VAT are refunded
//! cumulatively, as [`crate::ticket::compute_return`] does, so an order returned in any
//! number of steps refunds exactly what was paid, rate by rate.
//!
//! The till cannot refund the web payment itself: the refund goes to cash, store credit or
//! the customer's card on the terminal, and nothing else.

use crate::error::SaleError;
use crate::money::Money;
use crate::tender::{Tender, TenderKind};
use crate::ticket::{
    Quantity, Refund, ReturnLine, Ticket, TicketKind, TicketLine, finish, return_lines, return_vat,
};
use crate::vat::{VatCode, VatRate};
use crate::web_order::{OrderState, PaymentState, PickedLine, WebOrder, whole_order};

/// The means a web order can be refunded to at a till.
pub const REFUND_KINDS: [TenderKind; 3] =
    [TenderKind::Cash, TenderKind::StoreCredit, TenderKind::Card];

/// One line of a web order as it was handed over: what a return can give back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectedLine {
    /// The line's number in the order.
    pub line: u32,
    pub product_id: String,
    pub label: String,
    /// The product's category in the till's catalog (for reports), or `web` if unknown.
    pub category: String,
    /// Units handed over.
    pub quantity: u32,
    /// The unit price the customer paid online, VAT included.
    pub unit_price: Money,
    pub vat_code: VatCode,
    /// The rate of `vat_code` in the shop's territory.
    pub vat_rate: VatRate,
}

/// What was handed over of `order`: `recorded`, the lines of a handover record (this till's,
/// or head office's copy in [`WebOrder::collected`]), or every line when head office only
/// knows the order was collected in full. An error says why the order cannot be returned.
pub fn handed_over(
    order: &WebOrder,
    recorded: Option<&[PickedLine]>,
) -> Result<Vec<PickedLine>, SaleError> {
    if order.payment == PaymentState::PayInShop {
        return Err(SaleError::WebOrderPaidInShop {
            order: order.id.clone(),
        });
    }
    let recorded = recorded.or((!order.collected.is_empty()).then_some(&order.collected[..]));
    match (recorded, order.state) {
        (Some(lines), _) => Ok(lines.iter().filter(|l| l.quantity > 0).cloned().collect()),
        (None, OrderState::Collected) => Ok(whole_order(&order.lines)),
        (None, state) => Err(SaleError::WebOrderNotCollected {
            order: order.id.clone(),
            state: state.name(),
        }),
    }
}

/// Computes a return of `lines` (order line numbers and quantities) of web order `order`,
/// handed over as `collected`, given the returns of the order already recorded here.
///
/// `tenders` must refund the total exactly, to cash, store credit or the card.
pub fn compute_web_order_return(
    order: &str,
    collected: &[CollectedLine],
    earlier_returns: &[Ticket],
    lines: &[ReturnLine],
    tenders: Vec<Tender>,
) -> Result<Ticket, SaleError> {
    if let Some(refused) = tenders.iter().find(|t| !REFUND_KINDS.contains(&t.kind)) {
        return Err(SaleError::WebRefundTender { kind: refused.kind });
    }
    build(
        order,
        collected,
        earlier_returns,
        lines,
        Refund::Given(tenders),
    )
}

/// Prices a return of a web order as [`compute_web_order_return`] would record it, without
/// its refund: what the return screen shows.
pub fn quote_web_order_return(
    order: &str,
    collected: &[CollectedLine],
    earlier_returns: &[Ticket],
    lines: &[ReturnLine],
) -> Result<Ticket, SaleError> {
    build(order, collected, earlier_returns, lines, Refund::Unsettled)
}

fn build(
    order: &str,
    collected: &[CollectedLine],
    earlier_returns: &[Ticket],
    lines: &[ReturnLine],
    refund: Refund<'_>,
) -> Result<Ticket, SaleError> {
    let as_collected = collected_as_sale(collected);
    let out = return_lines(0, &as_collected, earlier_returns, lines).map_err(|e| match e {
        SaleError::UnknownOriginalLine { line, .. } => SaleError::WebOrderLineNotCollected {
            order: order.to_string(),
            line,
        },
        SaleError::ReturnExceeds {
            line,
            sold,
            returned,
            asked,
            remaining,
            ..
        } => SaleError::ReturnExceedsCollected {
            order: order.to_string(),
            line,
            collected: sold,
            returned,
            asked,
            remaining,
        },
        other => other,
    })?;
    let mut ticket = finish(
        TicketKind::Return,
        None,
        out,
        None,
        Money::ZERO,
        refund,
        None,
    )?;
    ticket.vat = return_vat(earlier_returns, &ticket.lines);
    ticket.web_order = Some(order.to_string());
    Ok(ticket)
}

/// The collected lines as the sale they amount to (numbered as in the order, at the online
/// price with nothing off), which the return takes its lines back from.
fn collected_as_sale(collected: &[CollectedLine]) -> Ticket {
    let lines = collected
        .iter()
        .map(|c| {
            let gross = c.unit_price.times(c.quantity.into());
            TicketLine {
                line: c.line,
                product_id: c.product_id.clone(),
                label: c.label.clone(),
                category: c.category.clone(),
                quantity: Quantity::Units(c.quantity),
                unit_price: c.unit_price,
                gross,
                discount: None,
                promotion: None,
                line_discount: Money::ZERO,
                ticket_discount_share: Money::ZERO,
                total: gross,
                total_excluding_vat: gross - c.vat_rate.vat_in(gross),
                vat_code: c.vat_code,
                vat_rate: c.vat_rate,
                seller: None,
                serials: Vec::new(),
                original_line: None,
            }
        })
        .collect();
    Ticket {
        kind: TicketKind::Sale,
        original: None,
        lines,
        ticket_discount: None,
        ticket_discount_amount: Money::ZERO,
        vat: Vec::new(),
        total: Money::ZERO,
        tenders: Vec::new(),
        change: Money::ZERO,
        customer: None,
        web_order: None,
        original_till: None,
        unchecked_return: None,
        stored_value: Vec::new(),
        grand_total: Money::ZERO,
        perpetual_absolute_total: Money::ZERO,
    }
}

/// Per order line, the units the return tickets `returns` give back.
pub fn returned_per_line(returns: &[Ticket]) -> Vec<PickedLine> {
    let mut per_line = std::collections::BTreeMap::<u32, u32>::new();
    for line in returns.iter().flat_map(|t| &t.lines) {
        if let Some(order_line) = line.original_line {
            *per_line.entry(order_line).or_default() += line.quantity.count();
        }
    }
    per_line
        .into_iter()
        .map(|(line, quantity)| PickedLine { line, quantity })
        .collect()
}

/// Whether `ticket` is the return of a web order paid online (no original ticket).
pub fn is_web_order_return(ticket: &Ticket) -> bool {
    ticket.kind == TicketKind::Return && ticket.original.is_none() && ticket.web_order.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vat::{Territory, rate_for};
    use crate::web_order::OrderLine;
    use rust_decimal::Decimal;

    fn collected(line: u32, quantity: u32, cents: i64, code: VatCode) -> CollectedLine {
        CollectedLine {
            line,
            product_id: format!("P{line}"),
            label: format!("Article {line}"),
            category: "web".into(),
            quantity,
            unit_price: Money::from_cents(cents),
            vat_code: code,
            vat_rate: rate_for(code, Territory::Metropole),
        }
    }

    fn back(line: u32, quantity: u32) -> ReturnLine {
        ReturnLine {
            line,
            quantity,
            serials: Vec::new(),
        }
    }

    fn cash(cents: i64) -> Vec<Tender> {
        vec![Tender {
            kind: TenderKind::Cash,
            amount: Money::from_cents(cents),
            reference: None,
            payment: None,
        }]
    }

    #[test]
    fn a_return_names_the_order_and_refunds_the_online_price() {
        let lines = [
            collected(1, 3, 99, VatCode::Standard),
            collected(2, 1, 1_000, VatCode::Reduced),
        ];
        let ticket =
            compute_web_order_return("WO-1", &lines, &[], &[back(1, 1), back(2, 1)], cash(-1099))
                .unwrap();
        assert_eq!(ticket.kind, TicketKind::Return);
        assert_eq!(
            ticket.original, None,
            "a web order return has no original ticket"
        );
        assert_eq!(ticket.web_order.as_deref(), Some("WO-1"));
        assert_eq!(ticket.total, Money::from_cents(-1099));
        assert_eq!(ticket.lines[0].original_line, Some(1));
        assert_eq!(ticket.lines[1].original_line, Some(2));
        assert_eq!(
            ticket.lines[1].vat_rate,
            VatRate::percent(Decimal::new(55, 1))
        );
        assert!(is_web_order_return(&ticket));
    }

    #[test]
    fn returns_in_steps_refund_exactly_the_collected_amount_and_vat() {
        let lines = [collected(1, 3, 99, VatCode::Standard)];
        let mut done: Vec<Ticket> = Vec::new();
        for _ in 0..3 {
            let quote = quote_web_order_return("WO-1", &lines, &done, &[back(1, 1)]).unwrap();
            let t = compute_web_order_return(
                "WO-1",
                &lines,
                &done,
                &[back(1, 1)],
                cash(quote.total.cents()),
            )
            .unwrap();
            done.push(t);
        }
        let total: Money = done.iter().map(|t| t.total).sum();
        let vat: Money = done.iter().flat_map(|t| &t.vat).map(|v| v.vat).sum();
        assert_eq!(
            total,
            Money::from_cents(-297),
            "3 x 0.99 back in steps is 2.97"
        );
        let rate = lines[0].vat_rate;
        assert_eq!(
            vat,
            -rate.vat_in(Money::from_cents(297)),
            "the VAT refunded in steps equals the VAT of the 2.97 collected"
        );
        assert_eq!(
            returned_per_line(&done),
            vec![PickedLine {
                line: 1,
                quantity: 3
            }]
        );
        let err = quote_web_order_return("WO-1", &lines, &done, &[back(1, 1)]).unwrap_err();
        assert_eq!(err.code(), "return_exceeds_collected", "{err}");
    }

    #[test]
    fn only_collected_lines_and_allowed_refunds_are_taken() {
        let lines = [collected(2, 1, 500, VatCode::Standard)];
        let err = quote_web_order_return("WO-1", &lines, &[], &[back(1, 1)]).unwrap_err();
        assert_eq!(err.code(), "web_order_line_not_collected", "{err}");
        let err = quote_web_order_return("WO-1", &lines, &[], &[back(2, 2)]).unwrap_err();
        assert_eq!(err.code(), "return_exceeds_collected", "{err}");
        let voucher = vec![Tender {
            kind: TenderKind::Voucher,
            amount: Money::from_cents(-500),
            reference: None,
            payment: None,
        }];
        let err =
            compute_web_order_return("WO-1", &lines, &[], &[back(2, 1)], voucher).unwrap_err();
        assert_eq!(err.code(), "web_refund_tender_not_allowed", "{err}");
        let err =
            compute_web_order_return("WO-1", &lines, &[], &[back(2, 1)], cash(-400)).unwrap_err();
        assert_eq!(
            err.code(),
            "refund_mismatch",
            "the refund must be exact: {err}"
        );
    }

    #[test]
    fn what_was_handed_over_comes_from_the_record_or_the_state() {
        let line = |line, quantity| OrderLine {
            line,
            product_id: "P".into(),
            label: "P".into(),
            quantity,
            unit_price: Money::from_cents(100),
            vat_code: None,
        };
        let mut order = WebOrder {
            id: "WO-1".into(),
            shop: "S".into(),
            lines: vec![line(1, 2), line(2, 1)],
            payment: PaymentState::PaidOnline,
            total: Money::from_cents(300),
            pickup_code: "C".into(),
            customer: None,
            reference: None,
            state: OrderState::Collected,
            placed_at: "2026-01-01T00:00:00Z".into(),
            collected: Vec::new(),
            returned: Vec::new(),
        };
        assert_eq!(
            handed_over(&order, None).unwrap(),
            whole_order(&order.lines)
        );
        order.state = OrderState::PartiallyCollected;
        let err = handed_over(&order, None).unwrap_err();
        assert_eq!(err.code(), "web_order_not_collected", "{err}");
        order.collected = vec![PickedLine {
            line: 1,
            quantity: 1,
        }];
        assert_eq!(handed_over(&order, None).unwrap(), order.collected);
        let here = [PickedLine {
            line: 2,
            quantity: 1,
        }];
        assert_eq!(handed_over(&order, Some(&here)).unwrap(), here.to_vec());
        order.state = OrderState::Ready;
        order.collected.clear();
        assert_eq!(
            handed_over(&order, None).unwrap_err().code(),
            "web_order_not_collected"
        );
        order.payment = PaymentState::PayInShop;
        assert_eq!(
            handed_over(&order, Some(&here)).unwrap_err().code(),
            "web_order_paid_in_shop"
        );
    }
}
