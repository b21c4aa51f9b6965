//! The limits of what the system accepts: every amount, count and text length has one bound,
//! defined here (amounts in [`crate::money`]), checked at every entry before anything is signed
//! or stored, so that every reader (receipt, X, Z, closures, the changes feed, the API, the
//! exports) can read back whatever was accepted.
//!
//! # The arithmetic
//!
//! - Any amount entered or computed for one line, ticket or order (a price, a discount, a
//!   tender, a cash movement, a promotion's amount, a tender limit, a line total, a ticket or
//!   order total, the change) is at most [`Money::MAX_AMOUNT`], 9,999,999.99 EUR.
//! - Readers accept any amount up to [`Money::MAX_EUROS`], 10^15 EUR.
//! - Before the checks run, a line is at most `MAX_AMOUNT × MAX_QUANTITY` = 10^7 × 10^6 = 10^13
//!   and a ticket at most `MAX_LINES` times that, 2.5 × 10^15 EUR (2.5 × 10^17 cents): far
//!   inside a `Decimal` (7.9 × 10^28) and inside the `i64` cents of
//!   [`Money::cents`] (9.2 × 10^18), so no computation overflows before it is refused.
//! - One ticket weighs at most 2 × `MAX_AMOUNT` in the perpetual absolute total (an exchange:
//!   what comes back plus what is sold). A till ringing 1,000 tickets a day, each at that
//!   maximum, for 50 years reaches 3.65 × 10^14 EUR, under the reader limit of 10^15; and a
//!   ticket that would take the perpetual totals past it is refused before signing
//!   ([`check_running_total`]), so the ledger can never hold a total it cannot read.
//! - Texts are bounded so a record stays small: a ticket or an order of `MAX_LINES` lines with
//!   every text at its longest is about 250 × 1 KB = 250 KB of JSON.

use crate::money::Money;

/// The most lines one ticket or one web order may hold.
pub const MAX_LINES: usize = 250;

/// The most units (or grams, for weighed goods) one ticket line may hold: far above any real
/// sale, low enough that no price times quantity can overflow.
pub const MAX_QUANTITY: u32 = 1_000_000;

/// The most units one line of a web order may hold.
pub const MAX_ORDER_QUANTITY: u32 = 10_000;

/// The most serial numbers (IMEIs) one ticket line may carry.
pub const MAX_SERIALS: u32 = 1_000;

/// The most tenders (payments or refunds) one ticket may hold.
pub const MAX_TENDERS: usize = 20;

/// Longest id or reference, in characters: product ids, sellers, customer ids, tender and web
/// shop references, pickup shop ids.
pub const MAX_ID_CHARS: usize = 100;

/// Longest label, in characters: product labels and categories, promotion and tender labels.
pub const MAX_LABEL_CHARS: usize = 200;

/// Longest free note, in characters: reasons of cash movements and refusals.
pub const MAX_NOTE_CHARS: usize = 500;

/// A value beyond its limit. Nothing is recorded when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "{what}: {amount} EUR is more than the {max} EUR any amount may be: split it over \
         several lines, tickets or orders"
    )]
    AmountTooLarge {
        what: String,
        amount: Money,
        max: Money,
    },
    #[error(
        "{what}: {given} lines is more than the {max} one ticket or order may hold: split it \
         into several"
    )]
    TooManyLines {
        what: String,
        given: usize,
        max: usize,
    },
    #[error(
        "{what}: {given} is more than the {max} one line may hold: split it over several lines"
    )]
    QuantityTooLarge { what: String, given: u64, max: u64 },
    #[error("{given} tenders is more than the {max} one ticket may take: combine them")]
    TooManyTenders { given: usize, max: usize },
    #[error("{what} is {chars} characters long, more than the {max} it may be: shorten it")]
    TextTooLong {
        what: String,
        chars: usize,
        max: usize,
    },
    #[error(
        "this ticket would take the till's perpetual {what} to {total} EUR, past the {max} EUR \
         its ledger can hold: nothing was recorded; call support to start a new till"
    )]
    RunningTotalFull {
        what: &'static str,
        total: Money,
        max: Money,
    },
}

impl LimitError {
    /// A stable code the UI and scripts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            LimitError::AmountTooLarge { .. } => "amount_too_large",
            LimitError::TooManyLines { .. } => "too_many_lines",
            LimitError::QuantityTooLarge { .. } => "quantity_too_large",
            LimitError::TooManyTenders { .. } => "too_many_tenders",
            LimitError::TextTooLong { .. } => "text_too_long",
            LimitError::RunningTotalFull { .. } => "running_total_full",
        }
    }
}

/// Checks one amount (a price, a line, a total, a tender...): its absolute value is at most
/// [`Money::MAX_AMOUNT`]. `what` names it in the message (`line 2: unit price`).
pub fn check_amount(what: impl std::fmt::Display, amount: Money) -> Result<(), LimitError> {
    if amount.abs() <= Money::MAX_AMOUNT {
        return Ok(());
    }
    Err(LimitError::AmountTooLarge {
        what: what.to_string(),
        amount,
        max: Money::MAX_AMOUNT,
    })
}

/// Checks a perpetual running total of a till (grand total, absolute total) against what
/// readers accept, [`Money::MAX_EUROS`].
pub fn check_running_total(what: &'static str, total: Money) -> Result<(), LimitError> {
    let max = Money::max_readable();
    if total.abs() <= max {
        return Ok(());
    }
    Err(LimitError::RunningTotalFull { what, total, max })
}

/// Checks the number of lines of a ticket or an order.
pub fn check_lines(what: impl std::fmt::Display, given: usize) -> Result<(), LimitError> {
    if given <= MAX_LINES {
        return Ok(());
    }
    Err(LimitError::TooManyLines {
        what: what.to_string(),
        given,
        max: MAX_LINES,
    })
}

/// Checks a quantity against `max` ([`MAX_QUANTITY`], [`MAX_ORDER_QUANTITY`]).
pub fn check_quantity(
    what: impl std::fmt::Display,
    given: u64,
    max: u32,
) -> Result<(), LimitError> {
    if given <= u64::from(max) {
        return Ok(());
    }
    Err(LimitError::QuantityTooLarge {
        what: what.to_string(),
        given,
        max: u64::from(max),
    })
}

/// Checks the number of tenders of a ticket.
pub fn check_tenders(given: usize) -> Result<(), LimitError> {
    if given <= MAX_TENDERS {
        return Ok(());
    }
    Err(LimitError::TooManyTenders {
        given,
        max: MAX_TENDERS,
    })
}

/// Checks a text's length in characters against `max` ([`MAX_ID_CHARS`], [`MAX_LABEL_CHARS`],
/// [`MAX_NOTE_CHARS`]).
pub fn check_text(what: impl std::fmt::Display, text: &str, max: usize) -> Result<(), LimitError> {
    // Bytes bound characters from above: most texts need no count.
    if text.len() <= max {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars <= max {
        return Ok(());
    }
    Err(LimitError::TextTooLong {
        what: what.to_string(),
        chars,
        max,
    })
}

/// [`check_text`] of an optional text.
pub fn check_optional_text(
    what: impl std::fmt::Display,
    text: Option<&str>,
    max: usize,
) -> Result<(), LimitError> {
    text.map_or(Ok(()), |text| check_text(what, text, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_ticket_before_checks_fits_in_cents() {
        let line = Money::MAX_AMOUNT.times(MAX_QUANTITY.into());
        let ticket = line.times((MAX_LINES as u32).into());
        assert!(
            ticket.cents() < i64::MAX,
            "a ticket of MAX_LINES lines of MAX_QUANTITY at MAX_AMOUNT must fit in i64 cents"
        );
    }

    #[test]
    fn fifty_years_of_largest_tickets_stay_readable() {
        let per_ticket = Money::MAX_AMOUNT + Money::MAX_AMOUNT;
        let fifty_years = per_ticket.times((1_000_i64 * 365 * 50).into());
        assert!(
            check_running_total("absolute total", fifty_years).is_ok(),
            "1,000 tickets a day at the maximum for 50 years must stay under the reader limit"
        );
    }

    #[test]
    fn limits_say_what_and_how_much() {
        let error =
            check_amount("line 1: unit price", Money::from_cents(1_000_000_000)).unwrap_err();
        assert_eq!(error.code(), "amount_too_large");
        assert!(error.to_string().contains("9999999.99"), "{error}");
        assert!(check_amount("x", Money::MAX_AMOUNT).is_ok());
        assert!(check_amount("x", -Money::MAX_AMOUNT).is_ok());
        assert!(check_text("label", &"é".repeat(MAX_LABEL_CHARS), MAX_LABEL_CHARS).is_ok());
        assert!(check_text("label", &"é".repeat(MAX_LABEL_CHARS + 1), MAX_LABEL_CHARS).is_err());
        assert!(check_lines("order", MAX_LINES).is_ok());
        assert_eq!(
            check_lines("order", 60_000).unwrap_err().code(),
            "too_many_lines"
        );
    }
}
