//! VAT: rate categories per product, resolved per shop territory, and the per-ticket computation.
//!
//! # Rounding method (applied identically on tickets, grand totals, archives and the FEC)
//!
//! Shelf prices include VAT. Each line total including VAT is rounded to the cent first. Then,
//! per ticket and per rate, `excl. VAT = round(TTC × 100 / (100 + t))` and `VAT = TTC − excl.
//! VAT`, rounding half away from zero. Computing VAT once per rate (not per line) keeps the
//! ticket's VAT as close as possible to the legal amount: 3 × 0.99 at 20 % gives 0.49 per ticket
//! where per-line rounding would give 0.48. Because the rule is odd-symmetric, a refund of a
//! whole ticket mirrors its VAT exactly.
//!
//! Rounding the amount excluding VAT (rather than the VAT, `round(TTC × t / (100 + t))`) gives
//! the same result except on exact half-cent ties, such as the 2.97 at 20 % above, where the
//! VAT is exactly 0.495: this method yields the 0.49 of the fiscal specification's worked
//! example, the other 0.50.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::Money;

/// Where a shop is, for VAT purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Territory {
    /// Metropolitan France except Corsica.
    Metropole,
    Corsica,
    Guadeloupe,
    Martinique,
    Reunion,
    /// No VAT applies in French Guiana.
    Guyane,
    /// No VAT applies in Mayotte.
    Mayotte,
}

impl FromStr for Territory {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_lowercase())).map_err(|_| {
            format!(
                "unknown territory `{text}`: use metropole, corsica, guadeloupe, martinique, \
                 reunion, guyane or mayotte"
            )
        })
    }
}

/// The VAT category of a product, independent of where it is sold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum VatCode {
    /// Most goods and services (20 % in metropolitan France).
    Standard,
    /// Restaurant, some works and transport (10 %).
    Intermediate,
    /// Books, food, energy (5.5 %).
    Reduced,
    /// Press, some medicines (2.1 %).
    SuperReduced,
    /// Goods exempt from VAT (stamps, some services).
    Exempt,
}

impl FromStr for VatCode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_lowercase())).map_err(|_| {
            format!(
                "unknown VAT code `{text}`: use standard, intermediate, reduced, super_reduced \
                 or exempt"
            )
        })
    }
}

/// A VAT rate in percent, such as 20 or 5.5. Serialized as a string (`"5.5"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VatRate(Decimal);

impl VatRate {
    pub fn percent(value: Decimal) -> VatRate {
        VatRate(value.normalize())
    }

    pub fn as_percent(self) -> Decimal {
        self.0
    }

    /// The VAT contained in an amount including VAT: the amount minus its part excluding VAT,
    /// that part rounded half away from zero (see the module docs).
    pub fn vat_in(self, including_vat: Money) -> Money {
        including_vat - self.excluding_vat(including_vat)
    }

    /// The part of an amount including VAT that excludes VAT, rounded half away from zero.
    pub fn excluding_vat(self, including_vat: Money) -> Money {
        let hundred = Decimal::ONE_HUNDRED;
        Money::from_decimal(including_vat.as_decimal() * hundred / (hundred + self.0))
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

impl FromStr for VatRate {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value = Decimal::from_str(text.trim())
            .map_err(|_| format!("`{text}` is not a VAT rate in percent such as 20 or 5.5"))?;
        if value.is_sign_negative() || value >= Decimal::ONE_HUNDRED {
            return Err(format!(
                "VAT rate `{text}` must be between 0 and 100 percent"
            ));
        }
        Ok(VatRate::percent(value))
    }
}

impl Serialize for VatRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for VatRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        VatRate::from_str(&text).map_err(serde::de::Error::custom)
    }
}

fn pct(units: i64, scale: u32) -> VatRate {
    VatRate::percent(Decimal::new(units, scale))
}

/// Resolves a product's VAT category to the rate in force in a territory (CGI art. 278 ff.,
/// 297 for Corsica, 296 for the overseas departments).
///
/// Overseas, the "intermediate" category has no rate of its own and falls under the reduced
/// 2.1 % rate, and "reduced" goods take 2.1 % too; press takes 1.05 %. In Corsica, goods at the
/// metropolitan 5.5 % rate are mostly at 5.5 % as well; the Corsican particular rates (13 %,
/// 0.9 %) apply to goods this catalog does not carry and can be given per product later.
pub fn rate_for(code: VatCode, territory: Territory) -> VatRate {
    use Territory::*;
    use VatCode::*;
    match (territory, code) {
        (_, Exempt) | (Guyane | Mayotte, _) => pct(0, 0),
        (Metropole | Corsica, Standard) => pct(20, 0),
        (Metropole | Corsica, Intermediate) => pct(10, 0),
        (Metropole | Corsica, Reduced) => pct(55, 1),
        (Metropole | Corsica, SuperReduced) => pct(21, 1),
        (Guadeloupe | Martinique | Reunion, Standard) => pct(85, 1),
        (Guadeloupe | Martinique | Reunion, Intermediate | Reduced) => pct(21, 1),
        (Guadeloupe | Martinique | Reunion, SuperReduced) => pct(105, 2),
    }
}

/// A VAT rate of a territory from a given day, as head office distributes it: when the law
/// changes a rate, head office sends the new one ahead with the day it takes effect, and each
/// till switches at that day's start without a software update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatRateEntry {
    pub code: VatCode,
    pub rate: VatRate,
    /// The first day (in the shop's time zone) the rate applies.
    pub valid_from: chrono::NaiveDate,
}

impl VatRateEntry {
    /// The feed key of the entry: one per code and starting day.
    pub fn key(&self) -> String {
        format!("{}@{}", code_name(self.code), self.valid_from)
    }
}

/// The name of a VAT code as written in files and the feed (`super_reduced`).
pub fn code_name(code: VatCode) -> &'static str {
    match code {
        VatCode::Standard => "standard",
        VatCode::Intermediate => "intermediate",
        VatCode::Reduced => "reduced",
        VatCode::SuperReduced => "super_reduced",
        VatCode::Exempt => "exempt",
    }
}

/// The rate of `code` on `day`: the newest of `entries` for that code already in force, or,
/// when head office sent none, the built-in rate of the territory ([`rate_for`]).
pub fn rate_on(
    code: VatCode,
    territory: Territory,
    entries: &[VatRateEntry],
    day: chrono::NaiveDate,
) -> VatRate {
    entries
        .iter()
        .filter(|e| e.code == code && e.valid_from <= day)
        .max_by_key(|e| e.valid_from)
        .map_or_else(|| rate_for(code, territory), |e| e.rate)
}

/// One VAT rate's share of a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatLine {
    pub rate: VatRate,
    /// Total including VAT at this rate.
    pub including_vat: Money,
    pub vat: Money,
    pub excluding_vat: Money,
}

/// Per-rate breakdown of amounts that include VAT, by the method documented on this module.
pub fn breakdown(amounts: impl IntoIterator<Item = (VatRate, Money)>) -> Vec<VatLine> {
    let mut per_rate: BTreeMap<VatRate, Money> = BTreeMap::new();
    for (rate, amount) in amounts {
        *per_rate.entry(rate).or_default() += amount;
    }
    per_rate
        .into_iter()
        .map(|(rate, including_vat)| {
            let vat = rate.vat_in(including_vat);
            VatLine {
                rate,
                including_vat,
                vat,
                excluding_vat: including_vat - vat,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn distributed_rates_take_effect_on_their_day_and_fall_back_to_the_law() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
        let entries = [
            VatRateEntry {
                code: VatCode::Standard,
                rate: "20".parse().unwrap(),
                valid_from: day(1),
            },
            VatRateEntry {
                code: VatCode::Standard,
                rate: "21".parse().unwrap(),
                valid_from: day(15),
            },
        ];
        let on = |d| rate_on(VatCode::Standard, Territory::Reunion, &entries, day(d)).to_string();
        assert_eq!(on(14), "20");
        assert_eq!(on(15), "21");
        assert_eq!(
            rate_on(VatCode::Reduced, Territory::Reunion, &entries, day(15)).to_string(),
            "2.1"
        );
        assert_eq!(entries[1].key(), "standard@2027-01-15");
    }

    #[test]
    fn vat_is_computed_per_ticket_and_rate_not_per_line() {
        let twenty = rate_for(VatCode::Standard, Territory::Metropole);
        let price = Money::from_cents(99);
        let lines = breakdown([(twenty, price), (twenty, price), (twenty, price)]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].including_vat, Money::from_cents(297));
        assert_eq!(
            lines[0].vat,
            Money::from_cents(49),
            "fiscal.md: 3 x 0.99 at 20% is 0.49"
        );
        assert_eq!(lines[0].excluding_vat, Money::from_cents(248));
    }

    #[test]
    fn refund_vat_mirrors_sale_vat() {
        let rate = rate_for(VatCode::Reduced, Territory::Metropole);
        for cents in [1, 5, 99, 105, 1234, 99_999] {
            let sale = rate.vat_in(Money::from_cents(cents));
            let refund = rate.vat_in(Money::from_cents(-cents));
            assert_eq!(
                refund, -sale,
                "VAT of -{cents} must be the negation of VAT of {cents}"
            );
        }
    }

    #[test]
    fn territories_resolve_their_own_rates() {
        assert_eq!(
            rate_for(VatCode::Standard, Territory::Reunion).as_percent(),
            dec!(8.5)
        );
        assert_eq!(
            rate_for(VatCode::Standard, Territory::Guyane).as_percent(),
            dec!(0)
        );
        assert_eq!(
            rate_for(VatCode::SuperReduced, Territory::Martinique).as_percent(),
            dec!(1.05)
        );
        assert_eq!(
            rate_for(VatCode::Reduced, Territory::Corsica).as_percent(),
            dec!(5.5)
        );
        assert_eq!(
            rate_for(VatCode::Standard, Territory::Mayotte).to_string(),
            "0"
        );
    }

    #[test]
    fn rates_print_without_trailing_zeros() {
        assert_eq!(
            rate_for(VatCode::Reduced, Territory::Metropole).to_string(),
            "5.5"
        );
        assert_eq!("20.00".parse::<VatRate>().unwrap().to_string(), "20");
        assert!("-1".parse::<VatRate>().is_err());
    }
}
