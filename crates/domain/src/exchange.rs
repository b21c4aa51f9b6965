//! Exchanges: lines of an earlier ticket brought back and other goods taken, on one ticket.
//!
//! An exchange ticket is a return and a sale recorded together, and every figure is computed
//! so that it equals that return plus that sale:
//!
//! - its first lines are the returned lines, numbered from 1, each naming its original line and
//!   refunded at what was paid for it, exactly as [`crate::ticket::compute_return`] computes;
//! - its next lines are the new items, priced like a sale (line discounts allowed; no ticket
//!   discount, which would have to be spread over goods coming back too);
//! - its VAT, per rate, is the refunded VAT (computed cumulatively, like a return's, so a line
//!   returned in several steps refunds exactly the VAT it was sold with) plus the VAT of the new
//!   lines (computed per rate, like a sale's);
//! - its total is the difference: positive, the customer pays it (split tenders and cash
//!   change as in a sale); negative, it goes back to them (to the original tender unless told
//!   otherwise, or as store credit); zero, no tender at all.
//!
//! In the closures the returned part counts as returns and the new part as sales (see
//! [`crate::ticket::Ticket::absolute_amount`]); the grand total adds the difference.

use std::collections::BTreeMap;

use crate::error::SaleError;
use crate::money::Money;
use crate::tender::Tender;
use crate::ticket::{
    LineDraft, Refund, ReturnLine, Ticket, TicketKind, TicketLine, finish, price_lines,
    return_lines, return_vat,
};
use crate::vat::{VatLine, VatRate, breakdown};

/// An exchange as entered: which lines of the original come back, what is taken instead.
#[derive(Clone, Debug, Default)]
pub struct ExchangeDraft {
    pub returned: Vec<ReturnLine>,
    /// The new items, with their products already looked up.
    pub new_lines: Vec<LineDraft>,
    /// The customer named on the exchange; the original's customer when `None`.
    pub customer: Option<String>,
}

/// Checks and prices an exchange without its tenders: what the exchange screen shows. The
/// returned ticket has no tenders and no change.
pub fn quote_exchange(
    original_number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    draft: ExchangeDraft,
) -> Result<Ticket, SaleError> {
    price_exchange(
        original_number,
        original,
        earlier_returns,
        draft,
        Refund::Unsettled,
    )
}

/// Checks and computes an exchange of lines of `original` (given the returns and exchanges
/// already recorded against it) for new items.
///
/// `tenders`: what the customer pays when the difference is positive (required then); the
/// refund when it is negative (negative amounts adding up to it), or `None` to refund as the
/// original was paid (see [`crate::ticket::default_refund`]); nothing when it is zero.
pub fn compute_exchange(
    original_number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    draft: ExchangeDraft,
    tenders: Option<Vec<Tender>>,
) -> Result<Ticket, SaleError> {
    let refund = match tenders {
        Some(tenders) => Refund::Given(tenders),
        None => Refund::AsPaid(original),
    };
    price_exchange(original_number, original, earlier_returns, draft, refund)
}

fn price_exchange(
    original_number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    draft: ExchangeDraft,
    refund: Refund<'_>,
) -> Result<Ticket, SaleError> {
    if draft.returned.is_empty() {
        return Err(SaleError::ExchangeIncomplete {
            missing: "choose the lines coming back",
        });
    }
    if draft.new_lines.is_empty() {
        return Err(SaleError::ExchangeIncomplete {
            missing: "add the items taken instead (or make a plain return)",
        });
    }
    let returned = return_lines(original_number, original, earlier_returns, &draft.returned)?;
    let refunded_vat = return_vat(earlier_returns, &returned);
    let sold = price_lines(returned.len() as u32, draft.new_lines)?;
    let sold_vat = breakdown(sold.iter().map(|l| (l.vat_rate, l.total)));
    let lines: Vec<TicketLine> = returned.into_iter().chain(sold).collect();
    let customer = draft.customer.or_else(|| original.customer.clone());
    // The difference decides how it is settled: a refund may default to the original tender,
    // a payment never does, and nothing changes hands when it is zero.
    let total: Money = lines.iter().map(|l| l.total).sum();
    let refund = match refund {
        Refund::AsPaid(_) if !total.is_negative() => Refund::Given(Vec::new()),
        other => other,
    };
    let mut ticket = finish(
        TicketKind::Exchange,
        Some(original_number),
        lines,
        None,
        Money::ZERO,
        refund,
        customer,
    )?;
    ticket.vat = merge_vat(refunded_vat, sold_vat);
    Ok(ticket)
}

/// The per-rate sum of two breakdowns (the refunded part and the sold part).
fn merge_vat(refunded: Vec<VatLine>, sold: Vec<VatLine>) -> Vec<VatLine> {
    let mut per_rate: BTreeMap<VatRate, VatLine> = BTreeMap::new();
    for line in refunded.into_iter().chain(sold) {
        per_rate
            .entry(line.rate)
            .and_modify(|sum| {
                sum.including_vat += line.including_vat;
                sum.vat += line.vat;
                sum.excluding_vat += line.excluding_vat;
            })
            .or_insert(line);
    }
    per_rate.into_values().collect()
}
