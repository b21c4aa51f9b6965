//! Tickets: lines, discounts, VAT breakdown, totals and tenders, and how sales, returns and
//! cancellations are computed from what the cashier entered.
//!
//! A [`Ticket`] is the payload of a record in the ticket chain. It is computed here, purely;
//! the ledger only adds the perpetual grand totals (which depend on the previous ticket) before
//! signing it.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::codes::Imei;
use crate::error::SaleError;
use crate::limits::{
    self, LimitError, MAX_ID_CHARS, MAX_LABEL_CHARS, MAX_QUANTITY, check_amount,
    check_optional_text, check_text,
};
use crate::money::Money;
use crate::product::{Product, SerialCapture, SoldBy};
use crate::promotion::AppliedPromotion;
use crate::stored_value::InstrumentMovement;
use crate::tender::{Tender, TenderKind, settle};
use crate::vat::{VatCode, VatLine, VatRate, breakdown};

/// How much of a product is on a line: units, or grams for weighed goods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    Units(u32),
    Grams(u32),
}

impl Quantity {
    pub fn count(self) -> u32 {
        match self {
            Quantity::Units(n) | Quantity::Grams(n) => n,
        }
    }

    /// The quantity in the unit the price is given for: units, or kilograms.
    pub fn in_price_unit(self) -> Decimal {
        match self {
            Quantity::Units(n) => Decimal::from(n),
            Quantity::Grams(g) => Decimal::from(g) / Decimal::ONE_THOUSAND,
        }
    }

    fn with_count(self, n: u32) -> Quantity {
        match self {
            Quantity::Units(_) => Quantity::Units(n),
            Quantity::Grams(_) => Quantity::Grams(n),
        }
    }

    fn fits(self, sold_by: SoldBy) -> bool {
        matches!(
            (self, sold_by),
            (Quantity::Units(_), SoldBy::Unit) | (Quantity::Grams(_), SoldBy::Weight)
        )
    }
}

/// A discount as entered: an amount off, or a percentage off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    Amount(Money),
    Percent(Decimal),
}

impl Discount {
    /// The amount taken off `base`, rounded to the cent.
    fn amount_off(self, base: Money) -> Result<Money, SaleError> {
        match self {
            Discount::Amount(amount) if !amount.is_negative() => Ok(amount),
            Discount::Percent(p) if p >= Decimal::ZERO && p <= Decimal::ONE_HUNDRED => {
                Ok(base.times(p / Decimal::ONE_HUNDRED))
            }
            other => Err(SaleError::BadDiscount {
                given: format!("{other:?}"),
            }),
        }
    }
}

/// What kind of ticket this is. Training tickets are sales in their own chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Sale,
    /// Some lines of an earlier sale brought back.
    Return,
    /// Everything still returnable on an earlier sale reversed at once.
    Cancellation,
    /// Some lines of an earlier ticket brought back and other goods taken, on one ticket: the
    /// returned lines (negative amounts, each naming its original line) and the new lines
    /// (priced like a sale). The total is the difference the customer pays or gets back.
    Exchange,
}

impl TicketKind {
    pub fn name(self) -> &'static str {
        match self {
            TicketKind::Sale => "sale",
            TicketKind::Return => "return",
            TicketKind::Cancellation => "cancellation",
            TicketKind::Exchange => "exchange",
        }
    }
}

/// One line of a recorded ticket. Amounts are negative on return lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    /// 1-based line number, printed on the receipt and used to reference the line in a return.
    pub line: u32,
    pub product_id: String,
    pub label: String,
    pub category: String,
    pub quantity: Quantity,
    /// Unit price (or price per kilogram) including VAT.
    pub unit_price: Money,
    /// `unit_price × quantity`, rounded to the cent.
    pub gross: Money,
    /// The line discount as entered, if any, or as a promotion set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    /// The promotion the line discount comes from, when head office's and not the cashier's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<AppliedPromotion>,
    /// Amount taken off by the line discount.
    pub line_discount: Money,
    /// This line's share of the ticket discount.
    pub ticket_discount_share: Money,
    /// What the customer pays for the line, VAT included: `gross − line_discount − share`.
    pub total: Money,
    /// The line total excluding VAT, for the receipt (the authoritative VAT is per rate).
    pub total_excluding_vat: Money,
    pub vat_code: VatCode,
    pub vat_rate: VatRate,
    /// Staff member credited with the sale (commission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<Imei>,
    /// On a return: the line of the original ticket this line gives back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_line: Option<u32>,
}

/// A ticket: the payload of a ticket-chain record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub kind: TicketKind,
    /// The original ticket number, for returns and cancellations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<u64>,
    /// The till that recorded `original`, when another till did (a return at any till, see
    /// [`crate::returns_anywhere`]); absent, the original is this till's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_till: Option<String>,
    /// A return not checked against its original (another till's receipt while offline, or
    /// no receipt): who approved it and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchecked_return: Option<crate::returns_anywhere::UncheckedReturn>,
    pub lines: Vec<TicketLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_discount: Option<Discount>,
    pub ticket_discount_amount: Money,
    /// Per-rate VAT breakdown (see [`crate::vat`] for the method).
    pub vat: Vec<VatLine>,
    /// Total including VAT; negative for returns and cancellations; for an exchange, the
    /// difference (new lines minus returned lines).
    pub total: Money,
    pub tenders: Vec<Tender>,
    /// Cash given back.
    pub change: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The web order this ticket takes payment for (click & collect paid in the shop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_order: Option<String>,
    /// Credit notes issued, gift cards sold or topped up, and redemptions on this ticket
    /// ([`crate::stored_value`]). Gift cards sold are paid on top of `total`: they are a
    /// liability, not a sale, so they are in no line, no VAT and no grand total.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored_value: Vec<InstrumentMovement>,
    /// Perpetual grand total after this ticket (sum of every ticket's total).
    pub grand_total: Money,
    /// Perpetual absolute grand total after this ticket (refunds add their absolute value).
    pub perpetual_absolute_total: Money,
}

impl Ticket {
    /// Sets the perpetual totals from those of the previous ticket in the chain; refused when
    /// they would pass what readers accept (see [`crate::limits`]), so a till never signs a
    /// total it cannot read back.
    pub fn chain_totals(
        &mut self,
        previous_grand_total: Money,
        previous_absolute: Money,
    ) -> Result<(), LimitError> {
        let grand_total = previous_grand_total + self.total;
        let absolute = previous_absolute + self.absolute_amount();
        limits::check_running_total("grand total", grand_total)?;
        limits::check_running_total("absolute total", absolute)?;
        self.grand_total = grand_total;
        self.perpetual_absolute_total = absolute;
        Ok(())
    }

    /// Checks every amount, count and text of the ticket against [`crate::limits`]. Every
    /// computation of a ticket ends with it, and the till checks again before signing.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_lines("the ticket", self.lines.len())?;
        for line in &self.lines {
            line.check_limits()?;
        }
        check_amount("the amount sold", self.sold_amount())?;
        check_amount("the amount given back", self.returned_amount())?;
        check_amount("the ticket total", self.total)?;
        check_amount("the ticket discount", self.ticket_discount_amount)?;
        limits::check_tenders(self.tenders.len())?;
        for (index, tender) in self.tenders.iter().enumerate() {
            let n = index + 1;
            check_amount(format_args!("tender {n}"), tender.amount)?;
            check_optional_text(
                format_args!("the reference of tender {n}"),
                tender.reference.as_deref(),
                MAX_ID_CHARS,
            )?;
        }
        check_amount("the change", self.change)?;
        check_optional_text("the customer id", self.customer.as_deref(), MAX_ID_CHARS)?;
        check_optional_text("the web order id", self.web_order.as_deref(), MAX_ID_CHARS)?;
        check_optional_text(
            "the original till",
            self.original_till.as_deref(),
            MAX_ID_CHARS,
        )?;
        if let Some(unchecked) = &self.unchecked_return {
            unchecked.check_limits()?;
        }
        limits::check_tenders(self.stored_value.len())?;
        for movement in &self.stored_value {
            movement.check_limits()?;
        }
        check_amount("the amount due", self.amount_due())
    }

    /// What the customer pays (or, negative, gets back): the total plus the gift cards sold
    /// or topped up on the ticket.
    pub fn amount_due(&self) -> Money {
        self.total + crate::stored_value::loads_total(&self.stored_value)
    }

    /// What the lines sold on this ticket come to (positive), VAT included.
    pub fn sold_amount(&self) -> Money {
        self.lines
            .iter()
            .filter(|l| !l.is_returned())
            .map(|l| l.total)
            .sum()
    }

    /// What the lines given back on this ticket come to (negative), VAT included.
    pub fn returned_amount(&self) -> Money {
        self.lines
            .iter()
            .filter(|l| l.is_returned())
            .map(|l| l.total)
            .sum()
    }

    /// The ticket's weight in the absolute totals: what was sold plus the absolute value of
    /// what was refunded. For a sale or a return it is `|total|`; an exchange counts both of
    /// its parts, so swapping goods of equal value still shows in the absolute totals.
    pub fn absolute_amount(&self) -> Money {
        self.sold_amount().abs() + self.returned_amount().abs()
    }
}

impl TicketLine {
    /// Whether this line gives back a line of an earlier ticket (rather than selling).
    pub fn is_returned(&self) -> bool {
        self.original_line.is_some()
    }

    /// Checks the line's quantity, amounts and texts against [`crate::limits`].
    fn check_limits(&self) -> Result<(), LimitError> {
        let n = self.line;
        limits::check_quantity(
            format_args!("line {n}: the quantity"),
            self.quantity.count().into(),
            MAX_QUANTITY,
        )?;
        check_amount(format_args!("line {n}: the unit price"), self.unit_price)?;
        check_amount(format_args!("line {n}: the amount"), self.gross)?;
        check_amount(format_args!("line {n}: the discount"), self.line_discount)?;
        check_amount(format_args!("line {n}: the total"), self.total)?;
        check_text(
            format_args!("line {n}: the product id"),
            &self.product_id,
            MAX_ID_CHARS,
        )?;
        check_text(
            format_args!("line {n}: the label"),
            &self.label,
            MAX_LABEL_CHARS,
        )?;
        check_text(
            format_args!("line {n}: the category"),
            &self.category,
            MAX_LABEL_CHARS,
        )?;
        check_optional_text(
            format_args!("line {n}: the seller"),
            self.seller.as_deref(),
            MAX_ID_CHARS,
        )?;
        limits::check_quantity(
            format_args!("line {n}: the IMEIs"),
            self.serials.len() as u64,
            limits::MAX_SERIALS,
        )?;
        if let Some(promotion) = &self.promotion {
            promotion.check_limits()?;
        }
        Ok(())
    }
}

/// A line as the cashier entered it, with its product already looked up in the catalog.
#[derive(Clone, Debug)]
pub struct LineDraft {
    pub product: Product,
    /// The rate resolved for the shop's territory.
    pub vat_rate: VatRate,
    pub quantity: Quantity,
    /// The price charged; the product's shelf price unless overridden.
    pub unit_price: Money,
    pub discount: Option<Discount>,
    /// The promotion `discount` comes from, if it does.
    pub promotion: Option<AppliedPromotion>,
    pub seller: Option<String>,
    pub serials: Vec<String>,
}

/// A sale as entered, before it is checked and computed.
#[derive(Clone, Debug, Default)]
pub struct SaleDraft {
    pub lines: Vec<LineDraft>,
    pub ticket_discount: Option<Discount>,
    pub tenders: Vec<Tender>,
    pub customer: Option<String>,
}

/// Checks and computes a sale. Perpetual totals are left at zero for the ledger to chain.
pub fn compute_sale(draft: SaleDraft) -> Result<Ticket, SaleError> {
    let tenders = draft.tenders.clone();
    limits::check_tenders(tenders.len())?;
    let mut ticket = quote_sale(draft)?;
    ticket.change = settle(ticket.total, &tenders)?;
    ticket.tenders = tenders;
    ticket.check_limits()?;
    Ok(ticket)
}

/// Checks and computes a sale that also moves stored value: gift cards sold or topped up
/// (`movements` of kind load and top-up, due on top of the lines, and a sale may hold nothing
/// else) and redemptions (which its gift card and store credit tenders must name, see
/// [`crate::stored_value::check_ticket_movements`]). The engine checks each movement against
/// the instrument's balance before calling this.
pub fn compute_sale_with_stored_value(
    draft: SaleDraft,
    movements: Vec<InstrumentMovement>,
) -> Result<Ticket, SaleError> {
    let tenders = draft.tenders.clone();
    limits::check_tenders(tenders.len())?;
    let mut ticket = if draft.lines.is_empty() && movements.iter().any(|m| m.kind.is_load()) {
        finish(
            TicketKind::Sale,
            None,
            Vec::new(),
            None,
            Money::ZERO,
            Refund::Unsettled,
            draft.customer,
        )?
    } else {
        quote_sale(draft)?
    };
    crate::stored_value::check_ticket_movements(&tenders, &movements)?;
    ticket.stored_value = movements;
    ticket.change = settle(ticket.amount_due(), &tenders)?;
    ticket.tenders = tenders;
    ticket.check_limits()?;
    Ok(ticket)
}

/// Checks and prices a sale's lines and discounts without its tenders: what the customer has to
/// pay, for the cart display. The returned ticket has no tenders and no change.
pub fn quote_sale(draft: SaleDraft) -> Result<Ticket, SaleError> {
    if draft.lines.is_empty() {
        return Err(SaleError::Empty);
    }
    limits::check_lines("the ticket", draft.lines.len())?;
    let mut lines = price_lines(0, draft.lines)?;
    let ticket_discount_amount = apply_ticket_discount(&mut lines, draft.ticket_discount)?;
    finish(
        TicketKind::Sale,
        None,
        lines,
        draft.ticket_discount,
        ticket_discount_amount,
        Refund::Unsettled,
        draft.customer,
    )
}

/// Prices the lines of a sale, numbered from `first_line + 1`.
pub(crate) fn price_lines(
    first_line: u32,
    drafts: Vec<LineDraft>,
) -> Result<Vec<TicketLine>, SaleError> {
    let mut seen_serials = BTreeSet::new();
    let mut lines = Vec::with_capacity(drafts.len());
    for (index, entered) in drafts.into_iter().enumerate() {
        let line_no = first_line + index as u32 + 1;
        lines.push(price_line(line_no, entered, &mut seen_serials)?);
    }
    Ok(lines)
}

fn price_line(
    line: u32,
    entered: LineDraft,
    seen: &mut BTreeSet<String>,
) -> Result<TicketLine, SaleError> {
    let product = entered.product;
    if entered.quantity.count() == 0 {
        return Err(SaleError::ZeroQuantity { line });
    }
    if entered.quantity.count() > MAX_QUANTITY {
        return Err(SaleError::QuantityTooLarge {
            line,
            quantity: entered.quantity.count().into(),
            max: MAX_QUANTITY,
        });
    }
    // The entered price first: a price beyond the limit is named as such, not as a line total.
    check_amount(
        format_args!("line {line}: the unit price"),
        entered.unit_price,
    )?;
    if !entered.quantity.fits(product.sold_by) {
        let expected = match product.sold_by {
            SoldBy::Unit => "in units",
            SoldBy::Weight => "in grams",
        };
        return Err(SaleError::WrongUnit {
            line,
            product: product.label,
            expected,
        });
    }
    if entered.unit_price.is_negative() {
        return Err(SaleError::NegativePrice { line });
    }
    let serials = check_serials(line, &product, entered.quantity, &entered.serials, seen)?;
    let gross = entered.unit_price.times(entered.quantity.in_price_unit());
    let line_discount = match entered.discount {
        Some(discount) => discount.amount_off(gross)?,
        None => Money::ZERO,
    };
    if line_discount > gross {
        return Err(SaleError::DiscountTooLarge {
            line,
            discount: line_discount,
            amount: gross,
        });
    }
    let total = gross - line_discount;
    let line = TicketLine {
        line,
        product_id: product.id,
        label: product.label,
        category: product.category,
        quantity: entered.quantity,
        unit_price: entered.unit_price,
        gross,
        discount: entered.discount,
        promotion: entered.promotion,
        line_discount,
        ticket_discount_share: Money::ZERO,
        total,
        total_excluding_vat: total - entered.vat_rate.vat_in(total),
        vat_code: product.vat_code,
        vat_rate: entered.vat_rate,
        seller: entered.seller,
        serials,
        original_line: None,
    };
    line.check_limits()?;
    Ok(line)
}

fn check_serials(
    line: u32,
    product: &Product,
    quantity: Quantity,
    given: &[String],
    seen: &mut BTreeSet<String>,
) -> Result<Vec<Imei>, SaleError> {
    match product.serial {
        SerialCapture::None if given.is_empty() => Ok(Vec::new()),
        SerialCapture::None => Err(SaleError::UnexpectedSerial {
            line,
            product: product.label.clone(),
        }),
        SerialCapture::Imei => {
            if given.len() != quantity.count() as usize {
                return Err(SaleError::SerialCount {
                    line,
                    product: product.label.clone(),
                    expected: quantity.count(),
                    given: given.len() as u32,
                });
            }
            given
                .iter()
                .map(|text| {
                    let imei: Imei = text
                        .parse()
                        .map_err(|source| SaleError::BadSerial { line, source })?;
                    if !seen.insert(imei.to_string()) {
                        return Err(SaleError::DuplicateSerial {
                            serial: imei.to_string(),
                        });
                    }
                    Ok(imei)
                })
                .collect()
        }
    }
}

/// Spreads the ticket discount over the lines in proportion to their totals, to the cent, so
/// each VAT rate bears its share. Remainder cents go to the largest fractional parts first (ties
/// to the earlier line), which is deterministic and sums exactly.
fn apply_ticket_discount(
    lines: &mut [TicketLine],
    discount: Option<Discount>,
) -> Result<Money, SaleError> {
    let Some(discount) = discount else {
        return Ok(Money::ZERO);
    };
    let base: Money = lines.iter().map(|l| l.total).sum();
    let amount = discount.amount_off(base)?;
    if amount > base {
        return Err(SaleError::DiscountTooLarge {
            line: 0,
            discount: amount,
            amount: base,
        });
    }
    let shares = allocate(amount, &lines.iter().map(|l| l.total).collect::<Vec<_>>());
    for (line, share) in lines.iter_mut().zip(shares) {
        line.ticket_discount_share = share;
        line.total -= share;
        line.total_excluding_vat = line.total - line.vat_rate.vat_in(line.total);
    }
    Ok(amount)
}

/// Splits `amount` over `weights` proportionally, in whole cents, summing exactly to `amount`.
pub fn allocate(amount: Money, weights: &[Money]) -> Vec<Money> {
    let total_weight: i64 = weights.iter().map(|w| w.cents()).sum();
    if total_weight == 0 || weights.is_empty() {
        let mut shares = vec![Money::ZERO; weights.len()];
        if let Some(first) = shares.first_mut() {
            *first = amount;
        }
        return shares;
    }
    let cents = amount.cents() as i128;
    let mut floors: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, weight) in weights.iter().enumerate() {
        let product = cents * weight.cents() as i128;
        let floor = product.div_euclid(total_weight as i128);
        floors.push(floor as i64);
        remainders.push((product.rem_euclid(total_weight as i128), i));
    }
    let mut left = cents as i64 - floors.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        floors[i] += 1;
        left -= 1;
    }
    floors.into_iter().map(Money::from_cents).collect()
}

pub(crate) fn finish(
    kind: TicketKind,
    original: Option<u64>,
    lines: Vec<TicketLine>,
    ticket_discount: Option<Discount>,
    ticket_discount_amount: Money,
    tenders: Refund<'_>,
    customer: Option<String>,
) -> Result<Ticket, SaleError> {
    let vat = breakdown(lines.iter().map(|l| (l.vat_rate, l.total)));
    let total: Money = lines.iter().map(|l| l.total).sum();
    let settled = !matches!(tenders, Refund::Unsettled);
    let tenders = match tenders {
        Refund::Given(tenders) => tenders,
        Refund::AsPaid(original) => default_refund(original, total),
        Refund::Unsettled => Vec::new(),
    };
    limits::check_tenders(tenders.len())?;
    let change = if settled {
        settle(total, &tenders)?
    } else {
        Money::ZERO
    };
    let ticket = Ticket {
        kind,
        original,
        lines,
        ticket_discount,
        ticket_discount_amount,
        vat,
        total,
        tenders,
        change,
        customer,
        web_order: None,
        original_till: None,
        unchecked_return: None,
        stored_value: Vec::new(),
        grand_total: Money::ZERO,
        perpetual_absolute_total: Money::ZERO,
    };
    ticket.check_limits()?;
    Ok(ticket)
}

/// One line of an original ticket brought back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The line number on the original ticket.
    pub line: u32,
    /// Units (or grams) brought back; the unit follows the original line.
    pub quantity: u32,
    /// For handsets: which IMEIs come back. Left empty, the ones not yet returned are taken.
    #[serde(default)]
    pub serials: Vec<String>,
}

/// Computes a return of some lines of `original`, given the returns already recorded against it.
///
/// Amounts are refunded in proportion to what the customer actually paid for the line (line and
/// ticket discounts included), cumulatively: returning `k` more units refunds
/// `round(paid × (done + k) / sold) − round(paid × done / sold)`, so returning every unit,
/// in any number of steps, refunds exactly what was paid, rate by rate.
pub fn compute_return(
    original_number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    lines: &[ReturnLine],
    tenders: Option<Vec<Tender>>,
) -> Result<Ticket, SaleError> {
    let out = return_lines(original_number, original, earlier_returns, lines)?;
    let mut ticket = finish(
        TicketKind::Return,
        Some(original_number),
        out,
        None,
        Money::ZERO,
        match tenders {
            Some(tenders) => Refund::Given(tenders),
            None => Refund::AsPaid(original),
        },
        original.customer.clone(),
    )?;
    ticket.vat = return_vat(earlier_returns, &ticket.lines);
    Ok(ticket)
}

/// Checks and computes the lines of `original` given back, numbered from 1, given the returns
/// (and exchanges) already recorded against it.
pub(crate) fn return_lines(
    original_number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    lines: &[ReturnLine],
) -> Result<Vec<TicketLine>, SaleError> {
    check_returnable(original_number, original)?;
    if lines.is_empty() {
        return Err(SaleError::Empty);
    }
    let mut seen = BTreeSet::new();
    if let Some(repeated) = lines.iter().find(|l| !seen.insert(l.line)) {
        return Err(SaleError::RepeatedReturnLine {
            line: repeated.line,
        });
    }
    let returned = returned_so_far(earlier_returns);
    let mut out = Vec::with_capacity(lines.len());
    for (index, asked) in lines.iter().enumerate() {
        let sold = original.lines.iter().find(|l| l.line == asked.line).ok_or(
            SaleError::UnknownOriginalLine {
                ticket: original_number,
                line: asked.line,
            },
        )?;
        // On an exchange, only what it sold can come back: its returned lines were refunded.
        if sold.is_returned() {
            return Err(SaleError::LineWasAReturn {
                ticket: original_number,
                line: asked.line,
            });
        }
        let (done, done_serials) = returned.get(&asked.line).cloned().unwrap_or_default();
        out.push(return_line(
            original_number,
            index as u32 + 1,
            sold,
            done,
            &done_serials,
            asked,
        )?);
    }
    Ok(out)
}

/// Only what was sold can come back: the lines of a sale, or the new lines of an exchange.
fn check_returnable(original_number: u64, original: &Ticket) -> Result<(), SaleError> {
    if matches!(original.kind, TicketKind::Sale | TicketKind::Exchange) {
        return Ok(());
    }
    Err(SaleError::NotASale {
        ticket: original_number,
        kind: original.kind.name(),
    })
}

/// The VAT of a return, computed cumulatively per rate like its amounts: with `before` the
/// amount (including VAT) already returned at a rate and `now` this return's, the VAT refunded
/// is `VAT(before + now) − VAT(before)`. However a sale is returned, in one go or unit by unit,
/// the VAT refunded per rate adds up to exactly the VAT of the sale.
///
/// `before` is taken from the earlier tickets' returned lines (their per-rate sums are what a
/// return's VAT lines carry), so an earlier exchange counts only what it gave back.
pub(crate) fn return_vat(earlier_returns: &[Ticket], lines: &[TicketLine]) -> Vec<VatLine> {
    let mut before: BTreeMap<VatRate, Money> = BTreeMap::new();
    for line in earlier_returns
        .iter()
        .flat_map(|t| &t.lines)
        .filter(|l| l.is_returned())
    {
        *before.entry(line.vat_rate).or_default() -= line.total;
    }
    breakdown(lines.iter().map(|l| (l.vat_rate, l.total)))
        .into_iter()
        .map(|now| {
            let done = before.get(&now.rate).copied().unwrap_or_default();
            let returned = -now.including_vat;
            let vat = now.rate.vat_in(done + returned) - now.rate.vat_in(done);
            VatLine {
                rate: now.rate,
                including_vat: now.including_vat,
                vat: -vat,
                excluding_vat: now.including_vat + vat,
            }
        })
        .collect()
}

/// Where a ticket's money goes: tenders as given, (for a refund) back as it was paid, or not
/// decided yet (a quote).
pub(crate) enum Refund<'a> {
    Given(Vec<Tender>),
    AsPaid(&'a Ticket),
    Unsettled,
}

/// The refund rules of the original ticket at any till of any shop: cash and a
/// credit note always; any other means (a card back to a card, on the terminal) only if the
/// original was paid with it, and no more than it paid that way less what earlier returns
/// gave back to it. Without the original (a return head office could not check, or without
/// receipt) only cash or a credit note. A refund is a new negative ticket referencing the
/// original, never a change to it (specs/fiscal.md, inalterability).
pub fn check_refund_as_paid(
    original: Option<&Ticket>,
    earlier_returns: &[Ticket],
    refund: &[Tender],
) -> Result<(), SaleError> {
    let paid_by = |tickets: &[&Ticket], kind: TenderKind| -> Money {
        tickets
            .iter()
            .flat_map(|t| &t.tenders)
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum()
    };
    let kinds: BTreeSet<TenderKind> = refund.iter().map(|t| t.kind).collect();
    for kind in kinds {
        if matches!(kind, TenderKind::Cash | TenderKind::StoreCredit) {
            continue;
        }
        let Some(original) = original else {
            return Err(SaleError::RefundNotAsPaid { kind });
        };
        let paid = paid_by(&[original], kind);
        if !paid.is_positive() {
            return Err(SaleError::RefundNotAsPaid { kind });
        }
        // Earlier refunds to it are negative.
        let earlier: Vec<&Ticket> = earlier_returns.iter().collect();
        let left = (paid + paid_by(&earlier, kind)).max(Money::ZERO);
        let asked = -refund
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum::<Money>();
        if asked > left {
            return Err(SaleError::RefundAbovePaid { kind, asked, left });
        }
    }
    Ok(())
}

/// The default refund of `total` (negative) for a ticket paid as `original` was: in cash if the
/// customer paid partly in cash, otherwise back to the first means of payment used.
pub fn default_refund(original: &Ticket, total: Money) -> Vec<Tender> {
    if total.is_zero() {
        return Vec::new();
    }
    let kind = original
        .tenders
        .iter()
        .find(|t| t.kind == TenderKind::Cash)
        .or(original.tenders.first())
        .map(|t| t.kind)
        .unwrap_or(TenderKind::Cash);
    vec![Tender {
        kind,
        amount: total,
        reference: None,
        payment: None,
    }]
}

/// Computes the cancellation of everything still returnable on `original`.
pub fn compute_cancellation(
    original_number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    tenders: Option<Vec<Tender>>,
) -> Result<Ticket, SaleError> {
    check_returnable(original_number, original)?;
    let returned = returned_so_far(earlier_returns);
    let remaining: Vec<ReturnLine> = original
        .lines
        .iter()
        .filter(|l| !l.is_returned())
        .filter_map(|l| {
            let done = returned.get(&l.line).map(|r| r.0).unwrap_or(0);
            let left = l.quantity.count().saturating_sub(done);
            (left > 0).then(|| ReturnLine {
                line: l.line,
                quantity: left,
                serials: Vec::new(),
            })
        })
        .collect();
    if remaining.is_empty() {
        return Err(SaleError::NothingLeft {
            ticket: original_number,
        });
    }
    let mut ticket = compute_return(
        original_number,
        original,
        earlier_returns,
        &remaining,
        tenders,
    )?;
    ticket.kind = TicketKind::Cancellation;
    Ok(ticket)
}

/// Per original line: quantity already returned and the IMEIs already returned.
fn returned_so_far(earlier: &[Ticket]) -> BTreeMap<u32, (u32, BTreeSet<String>)> {
    let mut returned: BTreeMap<u32, (u32, BTreeSet<String>)> = BTreeMap::new();
    for line in earlier.iter().flat_map(|t| &t.lines) {
        if let Some(original_line) = line.original_line {
            let entry = returned.entry(original_line).or_default();
            entry.0 += line.quantity.count();
            entry.1.extend(line.serials.iter().map(|s| s.to_string()));
        }
    }
    returned
}

fn return_line(
    ticket: u64,
    line: u32,
    sold: &TicketLine,
    done: u32,
    done_serials: &BTreeSet<String>,
    asked: &ReturnLine,
) -> Result<TicketLine, SaleError> {
    let count = sold.quantity.count();
    let remaining = count - done.min(count);
    if asked.quantity == 0 {
        return Err(SaleError::ZeroQuantity { line });
    }
    if asked.quantity > remaining {
        return Err(SaleError::ReturnExceeds {
            ticket,
            line: sold.line,
            sold: count,
            returned: done,
            asked: asked.quantity,
            remaining,
        });
    }
    let serials = returned_serials(ticket, sold, done_serials, asked)?;
    // The share of an amount that `done..done + asked` units carry, computed cumulatively.
    let portion = |amount: Money| {
        let upto = |n: u32| amount.times(Decimal::from(n) / Decimal::from(count));
        upto(done + asked.quantity) - upto(done)
    };
    let gross = portion(sold.gross);
    let line_discount = portion(sold.line_discount);
    let total = portion(sold.total);
    Ok(TicketLine {
        line,
        product_id: sold.product_id.clone(),
        label: sold.label.clone(),
        category: sold.category.clone(),
        quantity: sold.quantity.with_count(asked.quantity),
        unit_price: sold.unit_price,
        gross: -gross,
        discount: sold.discount,
        promotion: sold.promotion.clone(),
        line_discount: -line_discount,
        ticket_discount_share: -(gross - line_discount - total),
        total: -total,
        total_excluding_vat: -total - sold.vat_rate.vat_in(-total),
        vat_code: sold.vat_code,
        vat_rate: sold.vat_rate,
        seller: sold.seller.clone(),
        serials,
        original_line: Some(sold.line),
    })
}

fn returned_serials(
    ticket: u64,
    sold: &TicketLine,
    done: &BTreeSet<String>,
    asked: &ReturnLine,
) -> Result<Vec<Imei>, SaleError> {
    if sold.serials.is_empty() {
        return Ok(Vec::new());
    }
    let available: Vec<&Imei> = sold
        .serials
        .iter()
        .filter(|s| !done.contains(s.as_str()))
        .collect();
    if asked.serials.is_empty() {
        return Ok(available
            .into_iter()
            .take(asked.quantity as usize)
            .cloned()
            .collect());
    }
    let mut seen = BTreeSet::new();
    if let Some(repeated) = asked.serials.iter().find(|s| !seen.insert(s.trim())) {
        return Err(SaleError::DuplicateSerial {
            serial: repeated.clone(),
        });
    }
    if asked.serials.len() != asked.quantity as usize {
        return Err(SaleError::SerialCount {
            line: sold.line,
            product: sold.label.clone(),
            expected: asked.quantity,
            given: asked.serials.len() as u32,
        });
    }
    asked
        .serials
        .iter()
        .map(|serial| {
            available
                .iter()
                .find(|s| s.as_str() == serial.trim())
                .map(|s| (*s).clone())
                .ok_or_else(|| SaleError::SerialNotReturnable {
                    ticket,
                    line: sold.line,
                    serial: serial.clone(),
                })
        })
        .collect()
}
