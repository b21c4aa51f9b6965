//! Promotions head office sets and the tills apply by themselves: a percentage or an amount off
//! each unit of some products or categories, for a period of days.
//!
//! A promotion becomes an ordinary line discount on the ticket, naming the promotion
//! ([`AppliedPromotion`]), so every total, VAT breakdown, closure and export stays computed as
//! for a discount the cashier entered. A discount or a price the cashier enters on a line
//! replaces the promotion there: the person at the till has the last word. When several
//! promotions fit a line, the one taking the most off wins (ties to the smaller id, the same at
//! every till).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::limits::{self, LimitError, MAX_ID_CHARS, MAX_LABEL_CHARS};
use crate::money::Money;
use crate::product::{Product, SoldBy};
use crate::ticket::{Discount, Quantity};

/// What a promotion takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    /// A percentage off the line (any product, weighed ones too).
    PercentOff(Decimal),
    /// An amount off each unit, never more than the unit's price (products sold by unit only).
    AmountOffEach(Money),
}

/// A promotion as head office distributes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    pub id: String,
    /// Printed on the receipt under the line.
    pub label: String,
    /// First and last day it applies, both included, in the shop's time zone.
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    /// The products it applies to, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// The categories it applies to (every product of each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    pub benefit: Benefit,
}

/// The most products and categories one promotion may name.
pub const MAX_PROMOTION_TARGETS: u32 = 10_000;

/// The promotion a ticket line's discount comes from, as recorded on the ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    pub id: String,
    pub label: String,
}

impl AppliedPromotion {
    /// Checks its id and label against [`crate::limits`].
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_text("a promotion id", &self.id, MAX_ID_CHARS)?;
        limits::check_text(
            format_args!("promotion `{}`: the label", self.id),
            &self.label,
            MAX_LABEL_CHARS,
        )
    }
}

impl Promotion {
    /// Checks what head office is about to distribute; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() || self.label.trim().is_empty() {
            return Err("a promotion needs an id and a label".into());
        }
        self.applied().check_limits().map_err(|e| e.to_string())?;
        let targets = self.products.len() + self.categories.len();
        limits::check_quantity(
            format_args!("promotion `{}`: the products and categories", self.id),
            targets as u64,
            MAX_PROMOTION_TARGETS,
        )
        .map_err(|e| e.to_string())?;
        if let Benefit::AmountOffEach(amount) = self.benefit {
            limits::check_amount(
                format_args!("promotion `{}`: the amount off", self.id),
                amount,
            )
            .map_err(|e| e.to_string())?;
        }
        if self.ends < self.starts {
            return Err(format!(
                "promotion `{}` ends ({}) before it starts ({})",
                self.id, self.ends, self.starts
            ));
        }
        if self.products.is_empty() && self.categories.is_empty() {
            return Err(format!(
                "promotion `{}` names no product and no category: give at least one",
                self.id
            ));
        }
        match self.benefit {
            Benefit::PercentOff(p) if p > Decimal::ZERO && p <= Decimal::ONE_HUNDRED => Ok(()),
            Benefit::PercentOff(p) => Err(format!(
                "promotion `{}`: {p} % off must be more than 0 and at most 100",
                self.id
            )),
            Benefit::AmountOffEach(amount) if amount > Money::ZERO => Ok(()),
            Benefit::AmountOffEach(amount) => Err(format!(
                "promotion `{}`: {amount} off must be more than zero",
                self.id
            )),
        }
    }

    /// Whether it applies to this product on this day.
    pub fn applies(&self, product: &Product, day: NaiveDate) -> bool {
        (self.starts..=self.ends).contains(&day)
            && (self.products.iter().any(|p| p == &product.id)
                || self.categories.iter().any(|c| c == &product.category))
            && !(matches!(self.benefit, Benefit::AmountOffEach(_))
                && product.sold_by == SoldBy::Weight)
    }

    /// The line discount it gives `quantity` of a product at `unit_price`, and what it takes
    /// off. An amount off each unit is capped at the unit price (nothing sells below zero).
    fn discount(&self, quantity: Quantity, unit_price: Money) -> (Discount, Money) {
        let gross = unit_price.times(quantity.in_price_unit());
        match self.benefit {
            Benefit::PercentOff(p) => (Discount::Percent(p), gross.times(p / Decimal::ONE_HUNDRED)),
            Benefit::AmountOffEach(each) => {
                let off = each.min(unit_price).times(Decimal::from(quantity.count()));
                (Discount::Amount(off), off)
            }
        }
    }

    pub fn applied(&self) -> AppliedPromotion {
        AppliedPromotion {
            id: self.id.clone(),
            label: self.label.clone(),
        }
    }
}

/// The best of `promotions` for a line on `day`: the discount to put on the line and the
/// promotion it comes from, or `None` when none applies or none takes anything off.
pub fn best_for(
    promotions: &[Promotion],
    product: &Product,
    quantity: Quantity,
    unit_price: Money,
    day: NaiveDate,
) -> Option<(Discount, AppliedPromotion)> {
    promotions
        .iter()
        .filter(|p| p.applies(product, day))
        .map(|p| (p, p.discount(quantity, unit_price)))
        .filter(|(_, (_, off))| *off > Money::ZERO)
        // Largest amount off first; on a tie, the smaller id.
        .min_by(|(a, (_, off_a)), (b, (_, off_b))| off_b.cmp(off_a).then(a.id.cmp(&b.id)))
        .map(|(p, (discount, _))| (discount, p.applied()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::{SerialCapture, StockKeeping};
    use crate::vat::VatCode;
    use rust_decimal_macros::dec;

    fn product(id: &str, category: &str, sold_by: SoldBy) -> Product {
        Product {
            id: id.into(),
            barcodes: vec![],
            label: id.into(),
            category: category.into(),
            vat_code: VatCode::Standard,
            price: Money::from_cents(1000),
            sold_by,
            serial: SerialCapture::None,
            stock: StockKeeping::Kept,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn promo(id: &str, benefit: Benefit) -> Promotion {
        Promotion {
            id: id.into(),
            label: format!("Promo {id}"),
            starts: day(20),
            ends: day(22),
            products: vec!["P1".into()],
            categories: vec!["Cables".into()],
            benefit,
        }
    }

    #[test]
    fn applies_within_its_days_to_its_products_and_categories() {
        let p = promo("A", Benefit::PercentOff(dec!(10)));
        assert!(p.applies(&product("P1", "Other", SoldBy::Unit), day(20)));
        assert!(p.applies(&product("P9", "Cables", SoldBy::Unit), day(22)));
        assert!(!p.applies(&product("P9", "Other", SoldBy::Unit), day(21)));
        assert!(!p.applies(&product("P1", "Other", SoldBy::Unit), day(19)));
        assert!(!p.applies(&product("P1", "Other", SoldBy::Unit), day(23)));
    }

    #[test]
    fn the_largest_saving_wins_and_ties_go_to_the_smaller_id() {
        let p1 = product("P1", "Cables", SoldBy::Unit);
        let promos = [
            promo("B", Benefit::PercentOff(dec!(10))),
            promo("C", Benefit::AmountOffEach(Money::from_cents(150))),
            promo("A", Benefit::AmountOffEach(Money::from_cents(150))),
        ];
        let (discount, applied) =
            best_for(&promos, &p1, Quantity::Units(2), p1.price, day(21)).unwrap();
        assert_eq!(discount, Discount::Amount(Money::from_cents(300)));
        assert_eq!(applied.id, "A");
    }

    #[test]
    fn an_amount_off_never_takes_a_unit_below_zero_and_skips_weighed_goods() {
        let p1 = product("P1", "Cables", SoldBy::Unit);
        let promos = [promo("A", Benefit::AmountOffEach(Money::from_cents(5000)))];
        let (discount, _) = best_for(&promos, &p1, Quantity::Units(3), p1.price, day(21)).unwrap();
        assert_eq!(discount, Discount::Amount(Money::from_cents(3000)));
        let weighed = product("P1", "Cables", SoldBy::Weight);
        assert!(
            best_for(
                &promos,
                &weighed,
                Quantity::Grams(500),
                weighed.price,
                day(21)
            )
            .is_none()
        );
    }

    #[test]
    fn nothing_off_is_no_promotion() {
        let p1 = product("P1", "Cables", SoldBy::Unit);
        let promos = [promo("A", Benefit::PercentOff(dec!(10)))];
        assert!(best_for(&promos, &p1, Quantity::Units(1), Money::ZERO, day(21)).is_none());
    }

    #[test]
    fn validation_says_what_to_fix() {
        let mut p = promo("A", Benefit::PercentOff(dec!(120)));
        assert!(p.validate().unwrap_err().contains("at most 100"));
        p.benefit = Benefit::PercentOff(dec!(20));
        p.ends = day(1);
        assert!(p.validate().unwrap_err().contains("before it starts"));
        p.ends = day(25);
        p.products.clear();
        p.categories.clear();
        assert!(p.validate().unwrap_err().contains("no product"));
    }
}
