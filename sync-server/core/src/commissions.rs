//! Seller commissions: what each seller earns on the lines they sold, under the plan head
//! office sets, month by month and shop by shop.
//!
//! The rules, written once here and applied by the API, the payroll export and the admin
//! command alike:
//!
//! - a **plan** is a list of rates, each a percentage of a product or of a category; a
//!   product's own rate wins over its category's; a line of neither earns nothing;
//! - the **base** of a line is what the customer pays for it after every discount (the line's
//!   own and its share of the ticket's), **excluding VAT**: [`TicketLine::total_excluding_vat`];
//! - the commission is credited to the line's `seller`, never to the cashier who took the
//!   payment (the ticket's operator is not read here); a line without a seller earns nobody
//!   anything and is counted apart;
//! - a **return**, a cancellation or the returned part of an exchange **claws back** the
//!   commission of the line it gives back: its lines carry the sold line's seller, product and
//!   category with negative amounts, so they earn the same rate negatively, in the month the
//!   goods come back (a return in December reduces December's pay, whatever month the sale
//!   was). Half away from zero per line, so giving back a whole line claws back exactly what
//!   it earned;
//! - a seller who is **not a staff member of the shop** is reported apart with what they
//!   would have earned, never added to the shop's total: payroll decides.
//!
//! Computed at read time from the stored ticket records, not derived on ingest: a plan set or
//! corrected at head office applies to every month asked afterwards without reprocessing
//! anything, ingest (the tills' hot path) does no extra work, and a month's report reads only
//! that month's tickets of the shops asked. The price is that a report shows the plan as it
//! is now: settle a month's payroll from its export, which is the record of what was paid.

use std::collections::BTreeMap;

use pos_domain::Money;
use pos_domain::ticket::{Ticket, TicketKind, TicketLine};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The largest rate a plan may set, in percent.
pub const MAX_PERCENT: Decimal = Decimal::ONE_HUNDRED;

/// What a rate applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateTarget {
    /// Every product of a category (the ticket line's `category`).
    Category,
    /// One product (the ticket line's `product_id`); wins over its category's rate.
    Product,
}

impl RateTarget {
    pub fn name(self) -> &'static str {
        match self {
            RateTarget::Category => "category",
            RateTarget::Product => "product",
        }
    }

    pub fn parse(text: &str) -> Option<RateTarget> {
        match text {
            "category" => Some(RateTarget::Category),
            "product" => Some(RateTarget::Product),
            _ => None,
        }
    }
}

/// One rate of a plan: `percent` of the base of the lines of a product or category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub target: RateTarget,
    /// The category name or the product id.
    pub key: String,
    /// Percent of the base, e.g. `2.5`, written as a string (a JSON number is refused, as
    /// for amounts: no float on the way).
    #[serde(with = "rust_decimal::serde::str")]
    pub percent: Decimal,
}

/// Why a rate cannot be set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RateError {
    #[error("the rate must be between 0 and 100 percent, with at most 4 decimals: `{0}` is not")]
    Percent(String),
    #[error("name the {0}: its key is empty or longer than 200 characters")]
    Key(&'static str),
}

/// Checks a rate before it is stored: a key of 1 to 200 characters, 0 to 100 percent with at
/// most 4 decimals.
pub fn check_rate(rate: &Rate) -> Result<(), RateError> {
    let length = rate.key.chars().count();
    if length == 0 || length > 200 || rate.key.trim() != rate.key {
        return Err(RateError::Key(rate.target.name()));
    }
    if rate.percent.is_sign_negative() || rate.percent > MAX_PERCENT || rate.percent.scale() > 4 {
        return Err(RateError::Percent(rate.percent.to_string()));
    }
    Ok(())
}

/// A commission plan: the rates in force.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    products: BTreeMap<String, Decimal>,
    categories: BTreeMap<String, Decimal>,
}

impl Plan {
    pub fn new(rates: &[Rate]) -> Plan {
        let mut plan = Plan::default();
        for rate in rates {
            let map = match rate.target {
                RateTarget::Product => &mut plan.products,
                RateTarget::Category => &mut plan.categories,
            };
            map.insert(rate.key.clone(), rate.percent);
        }
        plan
    }

    /// The percent a line earns: its product's rate, else its category's, else none.
    pub fn percent_for(&self, line: &TicketLine) -> Option<Decimal> {
        self.products
            .get(&line.product_id)
            .or_else(|| self.categories.get(&line.category))
            .copied()
    }
}

/// Where a ticket was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketPlace {
    pub shop: String,
    pub till: String,
    pub number: u64,
    /// The record's time (canonical UTC).
    pub at: String,
}

/// One ticket line as a commission: positive for a sale, negative for a claw-back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionLine {
    pub shop: String,
    pub till: String,
    pub ticket: u64,
    pub line: u32,
    pub at: String,
    /// `sale`, `return`, `cancellation` or `exchange`.
    pub kind: String,
    /// Whether this line gives back an earlier line (a claw-back).
    pub returned: bool,
    pub seller: String,
    pub product_id: String,
    pub label: String,
    pub category: String,
    /// Units (or grams), negative when given back.
    pub quantity: i64,
    /// After every discount, excluding VAT.
    pub base: Money,
    /// The rate applied, `0` when the plan has none for the line.
    pub percent: Decimal,
    pub commission: Money,
}

/// The commission lines of a ticket, and the base of its lines without a seller.
pub fn ticket_lines(
    ticket: &Ticket,
    place: &TicketPlace,
    plan: &Plan,
) -> (Vec<CommissionLine>, Money) {
    let mut lines = Vec::new();
    let mut without_seller = Money::ZERO;
    for line in &ticket.lines {
        let Some(seller) = line.seller.as_deref().filter(|s| !s.is_empty()) else {
            without_seller += line.total_excluding_vat;
            continue;
        };
        let percent = plan.percent_for(line).unwrap_or(Decimal::ZERO);
        let base = line.total_excluding_vat;
        let count = i64::from(line.quantity.count());
        lines.push(CommissionLine {
            shop: place.shop.clone(),
            till: place.till.clone(),
            ticket: place.number,
            line: line.line,
            at: place.at.clone(),
            kind: kind_name(ticket.kind).into(),
            returned: line.is_returned(),
            seller: seller.to_string(),
            product_id: line.product_id.clone(),
            label: line.label.clone(),
            category: line.category.clone(),
            quantity: if base.is_negative() { -count } else { count },
            base,
            percent,
            commission: commission(base, percent),
        });
    }
    (lines, without_seller)
}

fn kind_name(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "sale",
        TicketKind::Return => "return",
        TicketKind::Cancellation => "cancellation",
        TicketKind::Exchange => "exchange",
    }
}

/// `percent` of `base`, rounded to the cent half away from zero (so `-x` earns `-(x's)`).
pub fn commission(base: Money, percent: Decimal) -> Money {
    base.times(percent / Decimal::ONE_HUNDRED)
}

/// One seller's month in one shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerMonth {
    pub shop: String,
    pub seller: String,
    /// Sum of the lines' bases (sales minus what came back).
    pub base: Money,
    /// What was earned on sales, before claw-backs.
    pub earned: Money,
    /// What returns took back (zero or negative).
    pub clawed_back: Money,
    /// `earned + clawed_back`: what payroll pays.
    pub commission: Money,
    pub lines: Vec<CommissionLine>,
}

/// The commissions of a month for the shops asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `YYYY-MM`.
    pub month: String,
    /// The staff members' months, by shop then seller.
    pub sellers: Vec<SellerMonth>,
    /// Sellers named on lines who are not staff members of the shop: what they would have
    /// earned, in no total.
    pub unknown_sellers: Vec<SellerMonth>,
    /// The sum of `sellers`' commissions.
    pub total: Money,
    /// The base (excluding VAT) of the lines with no seller.
    pub without_seller: Money,
}

/// Groups the lines of a month by shop and seller; `is_staff(shop, seller)` sorts the
/// sellers who are staff members of their shop from those who are not.
pub fn report(
    month: &str,
    lines: Vec<CommissionLine>,
    without_seller: Money,
    is_staff: impl Fn(&str, &str) -> bool,
) -> Report {
    let mut by_seller: BTreeMap<(String, String), Vec<CommissionLine>> = BTreeMap::new();
    for line in lines {
        by_seller
            .entry((line.shop.clone(), line.seller.clone()))
            .or_default()
            .push(line);
    }
    let (mut sellers, mut unknown_sellers) = (Vec::new(), Vec::new());
    for ((shop, seller), lines) in by_seller {
        let month = seller_month(shop, seller, lines);
        if is_staff(&month.shop, &month.seller) {
            sellers.push(month);
        } else {
            unknown_sellers.push(month);
        }
    }
    let total = sellers
        .iter()
        .fold(Money::ZERO, |sum, s| sum + s.commission);
    Report {
        month: month.to_string(),
        sellers,
        unknown_sellers,
        total,
        without_seller,
    }
}

fn seller_month(shop: String, seller: String, mut lines: Vec<CommissionLine>) -> SellerMonth {
    lines.sort_by(|a, b| {
        (&a.at, &a.till, a.ticket, a.line).cmp(&(&b.at, &b.till, b.ticket, b.line))
    });
    let sum = |f: &dyn Fn(&CommissionLine) -> bool, pick: &dyn Fn(&CommissionLine) -> Money| {
        lines
            .iter()
            .filter(|l| f(l))
            .fold(Money::ZERO, |s, l| s + pick(l))
    };
    let base = sum(&|_| true, &|l| l.base);
    let earned = sum(&|l| !l.returned, &|l| l.commission);
    let clawed_back = sum(&|l| l.returned, &|l| l.commission);
    SellerMonth {
        shop,
        seller,
        base,
        earned,
        clawed_back,
        commission: earned + clawed_back,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pos_domain::ticket::Quantity;
    use pos_domain::vat::{VatCode, VatRate};

    fn line(
        n: u32,
        product: &str,
        category: &str,
        total_ht: i64,
        seller: Option<&str>,
    ) -> TicketLine {
        let base = Money::from_cents(total_ht);
        TicketLine {
            line: n,
            product_id: product.into(),
            label: product.into(),
            category: category.into(),
            quantity: Quantity::Units(1),
            unit_price: base.abs(),
            gross: base,
            discount: None,
            promotion: None,
            line_discount: Money::ZERO,
            ticket_discount_share: Money::ZERO,
            total: base,
            total_excluding_vat: base,
            vat_code: VatCode::Standard,
            vat_rate: VatRate::percent(Decimal::from(20)),
            seller: seller.map(Into::into),
            serials: vec![],
            original_line: None,
        }
    }

    fn ticket(kind: TicketKind, lines: Vec<TicketLine>) -> Ticket {
        Ticket {
            kind,
            original: None,
            original_till: None,
            unchecked_return: None,
            lines,
            ticket_discount: None,
            ticket_discount_amount: Money::ZERO,
            vat: vec![],
            total: Money::ZERO,
            tenders: vec![],
            change: Money::ZERO,
            customer: None,
            web_order: None,
            stored_value: vec![],
            grand_total: Money::ZERO,
            perpetual_absolute_total: Money::ZERO,
        }
    }

    fn place(number: u64, at: &str) -> TicketPlace {
        TicketPlace {
            shop: "PARIS".into(),
            till: "PARIS-1".into(),
            number,
            at: at.into(),
        }
    }

    fn plan() -> Plan {
        Plan::new(&[
            Rate {
                target: RateTarget::Category,
                key: "Accessoires".into(),
                percent: Decimal::new(5, 0),
            },
            Rate {
                target: RateTarget::Product,
                key: "CASE-1".into(),
                percent: Decimal::new(125, 1),
            },
        ])
    }

    #[test]
    fn a_products_rate_wins_over_its_categorys_and_other_lines_earn_nothing() {
        let sale = ticket(
            TicketKind::Sale,
            vec![
                line(1, "CABLE-1", "Accessoires", 1_241, Some("S101")),
                line(2, "CASE-1", "Accessoires", 2_000, Some("S101")),
                line(3, "SIM-1", "Services", 833, Some("S101")),
                line(4, "CABLE-1", "Accessoires", 1_000, None),
            ],
        );
        let (lines, without) =
            ticket_lines(&sale, &place(1, "2026-11-03T10:00:00.000000Z"), &plan());
        let earned: Vec<i64> = lines.iter().map(|l| l.commission.cents()).collect();
        // 5 % of 12.41 = 0.6205 -> 0.62; 12.5 % of 20.00 = 2.50; no rate for Services.
        assert_eq!(
            earned,
            vec![62, 250, 0],
            "product rate over category rate, half away from zero"
        );
        assert_eq!(
            without,
            Money::from_cents(1_000),
            "a line without seller is counted apart"
        );
    }

    #[test]
    fn a_return_claws_back_exactly_what_the_line_earned_in_the_month_it_comes_back() {
        let plan = plan();
        let sale = ticket(
            TicketKind::Sale,
            vec![line(1, "CABLE-1", "Accessoires", 1_250, Some("S101"))],
        );
        let mut back = line(1, "CABLE-1", "Accessoires", -1_250, Some("S101"));
        back.original_line = Some(1);
        let ret = ticket(TicketKind::Return, vec![back]);
        let (november, _) = ticket_lines(&sale, &place(1, "2026-11-30T17:00:00.000000Z"), &plan);
        let (december, _) = ticket_lines(&ret, &place(2, "2026-12-02T09:00:00.000000Z"), &plan);
        let nov = report("2026-11", november, Money::ZERO, |_, _| true);
        let dec = report("2026-12", december, Money::ZERO, |_, _| true);
        // 5 % of 12.50 = 0.625 -> 0.63, and -0.625 -> -0.63.
        assert_eq!(
            nov.total,
            Money::from_cents(63),
            "November keeps what the sale earned"
        );
        assert_eq!(
            dec.total,
            Money::from_cents(-63),
            "December's return claws back the same amount"
        );
        assert_eq!(dec.sellers[0].clawed_back, Money::from_cents(-63));
        assert_eq!(
            dec.sellers[0].lines[0].quantity, -1,
            "a line given back counts negatively"
        );
    }

    #[test]
    fn a_seller_who_is_not_staff_of_the_shop_is_reported_and_not_counted() {
        let sale = ticket(
            TicketKind::Sale,
            vec![
                line(1, "CABLE-1", "Accessoires", 10_000, Some("S101")),
                line(2, "CABLE-1", "Accessoires", 10_000, Some("GHOST")),
            ],
        );
        let (lines, _) = ticket_lines(&sale, &place(1, "2026-11-03T10:00:00.000000Z"), &plan());
        let month = report("2026-11", lines, Money::ZERO, |_, seller| seller == "S101");
        assert_eq!(
            month.total,
            Money::from_cents(500),
            "only staff members count in the total"
        );
        assert_eq!(
            month.unknown_sellers.len(),
            1,
            "the unknown seller is reported"
        );
        assert_eq!(month.unknown_sellers[0].seller, "GHOST");
        assert_eq!(month.unknown_sellers[0].commission, Money::from_cents(500));
    }

    #[test]
    fn rates_are_checked_before_they_are_stored() {
        let rate = |key: &str, percent: Decimal| Rate {
            target: RateTarget::Category,
            key: key.into(),
            percent,
        };
        assert!(check_rate(&rate("Accessoires", Decimal::new(25, 1))).is_ok());
        assert!(
            check_rate(&rate("Accessoires", Decimal::new(-1, 0))).is_err(),
            "no negative rate"
        );
        assert!(
            check_rate(&rate("Accessoires", Decimal::new(101, 0))).is_err(),
            "at most 100 %"
        );
        assert!(
            check_rate(&rate("", Decimal::ONE)).is_err(),
            "a rate names its target"
        );
    }
}
