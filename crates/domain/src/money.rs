//! Money in euros, held as a `Decimal` and always rounded to the cent.
//!
//! Rounding is half away from zero (`MidpointAwayFromZero`), so the refund of an amount rounds to
//! exactly the negation of the sale's rounding, and till and server agree to the cent.
//!
//! Two bounds: [`Money::MAX_AMOUNT`], the most any one amount entered or computed for a line, a
//! ticket or an order may be (checked at every entry, see [`crate::limits`]), and
//! [`Money::MAX_EUROS`], the most any reader accepts, which perpetual running totals must stay
//! under. The arithmetic that keeps the first well inside the second is in [`crate::limits`].

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in euros, exact to the cent. Never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

/// Why a text could not be read as an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an amount: write it like 12.50 (a dot, at most two decimals)")]
    Malformed(String),
    #[error("`{0}` has more than two decimals: amounts are in euros and cents")]
    TooPrecise(String),
    #[error("`{0}` is beyond the largest amount handled (one thousand billion euros)")]
    TooLarge(String),
}

/// Rounds to the cent, half away from zero: the single rounding rule of the whole system.
pub fn round_cents(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// The largest amount read from text, in euros (10^15): the reader limit. Far beyond any
    /// till's perpetual total (see [`crate::limits`]), and small enough that prices times
    /// quantities times VAT arithmetic can never overflow a decimal nor `i64` cents.
    pub const MAX_EUROS: i64 = 1_000_000_000_000_000;

    /// The largest amount one price, discount, tender, cash movement, line, ticket or order may
    /// be: 9,999,999.99 EUR, checked at every entry ([`crate::limits::check_amount`]).
    pub const MAX_AMOUNT: Money = Money(Decimal::from_parts(999_999_999, 0, 0, false, 2));

    /// [`Money::MAX_EUROS`] as an amount.
    pub fn max_readable() -> Money {
        Money(Decimal::from(Money::MAX_EUROS))
    }

    /// Rounds any decimal to the cent (half away from zero).
    pub fn from_decimal(value: Decimal) -> Money {
        Money(round_cents(value))
    }

    /// An amount given in cents.
    pub fn from_cents(cents: i64) -> Money {
        Money(Decimal::new(cents, 2))
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// The amount in cents. Amounts are bounded far below `i64::MAX` cents in practice.
    pub fn cents(self) -> i64 {
        let scaled = self.0 * Decimal::ONE_HUNDRED;
        i64::try_from(scaled).unwrap_or(if scaled.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.0.is_sign_positive() && !self.0.is_zero()
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// Multiplies by a decimal factor and rounds the result to the cent.
    pub fn times(self, factor: Decimal) -> Money {
        Money::from_decimal(self.0 * factor)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let well_formed = !trimmed.is_empty()
            && trimmed
                .trim_start_matches('-')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
            && trimmed.matches('.').count() <= 1;
        if !well_formed {
            return Err(MoneyError::Malformed(text.to_string()));
        }
        let value =
            Decimal::from_str(trimmed).map_err(|_| MoneyError::Malformed(text.to_string()))?;
        if value.scale() > 2 && value != round_cents(value) {
            return Err(MoneyError::TooPrecise(text.to_string()));
        }
        if value.abs() > Money::max_readable().0 {
            return Err(MoneyError::TooLarge(text.to_string()));
        }
        Ok(Money(round_cents(value)))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        value.rescale(2);
        if value.is_zero() {
            value.set_sign_positive(true);
        }
        write!(f, "{value}")
    }
}

/// Amounts cross every boundary (JSON, canonical bytes, the UI) as strings like `"12.50"`.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::from_str(&text).map_err(serde::de::Error::custom)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_away_from_zero_both_signs() {
        assert_eq!(Money::from_decimal(dec!(0.125)).to_string(), "0.13");
        assert_eq!(Money::from_decimal(dec!(-0.125)).to_string(), "-0.13");
        assert_eq!(Money::from_decimal(dec!(0.124)).to_string(), "0.12");
    }

    #[test]
    fn parses_and_prints_two_decimals() {
        assert_eq!("12.5".parse::<Money>().unwrap().to_string(), "12.50");
        assert_eq!("-3".parse::<Money>().unwrap().to_string(), "-3.00");
        assert_eq!("0.00".parse::<Money>().unwrap().cents(), 0);
        assert_eq!("-0".parse::<Money>().unwrap().to_string(), "0.00");
        assert_eq!("1999.99".parse::<Money>().unwrap().cents(), 199_999);
    }

    #[test]
    fn rejects_malformed_and_sub_cent_amounts() {
        for bad in [
            "",
            "abc",
            "1,50",
            "1.2.3",
            "1e3",
            " - ",
            "12.505",
            "1000000000000000.01",
            "-99999999999999999999",
        ] {
            assert!(
                bad.parse::<Money>().is_err(),
                "`{bad}` must not parse as money"
            );
        }
        assert!(
            "12.500".parse::<Money>().is_ok(),
            "trailing zeros are exact cents"
        );
    }

    #[test]
    fn serializes_as_string() {
        let json = serde_json::to_string(&Money::from_cents(1250)).unwrap();
        assert_eq!(json, "\"12.50\"");
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Money::from_cents(1250));
    }
}
