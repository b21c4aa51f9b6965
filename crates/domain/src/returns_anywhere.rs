//! Returns at any till of the chain: a return naming another till's ticket, and a return with
//! no receipt at all.
//!
//! - **Checked against the original** (head office answered the ticket lookup, see
//!   [`crate::wire::TicketLookupAnswer`]): the return is computed by
//!   [`crate::ticket::compute_return`] from the original and every return already made against
//!   it anywhere, and names the original's till ([`crate::ticket::Ticket::original_till`]). The
//!   refund rules stay the original's ([`crate::ticket::check_refund_as_paid`]: a card back to
//!   a card it paid, cash, a credit note).
//! - **Unchecked**: offline against another till's receipt, or with no receipt. The items are
//!   priced from this till's catalog (never above it; without a receipt, never above the
//!   lowest price of the last [`ReturnRules::no_receipt_lowest_price_days`]), a manager
//!   approves, a reason is given (required without a receipt), and per-till daily caps bound
//!   what can be refunded so ([`ReturnRules`]). The ticket carries who approved and why ([`UncheckedReturn`]); head
//!   office reconciles it with the original after sync and alarms an over-return.

use serde::{Deserialize, Serialize};

use crate::error::SaleError;
use crate::limits::{self, LimitError};
use crate::money::Money;
use crate::tender::Tender;
use crate::ticket::{
    LineDraft, Refund, ReturnLine, Ticket, TicketKind, check_refund_as_paid, finish, price_lines,
};

/// What the receipt's QR code (or the cashier) says of the original ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRef {
    pub till: String,
    pub ticket: u64,
    /// The first 16 hex digits of the original record's hash, when read from the QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_prefix: Option<String>,
}

impl ReceiptRef {
    /// Reads a receipt's QR reference (`POS1:TILL:NUMBER:HASH16`) or a typed `TILL:NUMBER`.
    pub fn parse(text: &str) -> Result<ReceiptRef, String> {
        let text = text.trim();
        let parts: Vec<&str> = text.split(':').collect();
        let (till, number, hash) = match parts.as_slice() {
            ["POS1", till, number, hash] => (*till, *number, Some(*hash)),
            [till, number] => (*till, *number, None),
            _ => {
                return Err(format!(
                    "`{}` is not a receipt reference: scan the QR code on the receipt, or type \
                     the till and the ticket number as TILL:NUMBER",
                    text.chars().take(40).collect::<String>()
                ));
            }
        };
        let ticket = number
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{number}` is not a ticket number"))?;
        if till.is_empty() || till.chars().count() > limits::MAX_ID_CHARS {
            return Err("the till of the receipt is missing or too long".into());
        }
        if let Some(hash) = hash
            && (hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("the receipt's QR code is damaged: type TILL:NUMBER instead".into());
        }
        Ok(ReceiptRef {
            till: till.to_string(),
            ticket,
            hash_prefix: hash.map(str::to_string),
        })
    }
}

/// Who let a return through without checking it against its original, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncheckedReturn {
    /// The manager who approved it (a staff id).
    pub approved_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the customer had a receipt (another till's, checked offline) or none.
    pub with_receipt: bool,
}

impl UncheckedReturn {
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_text(
            "the approving manager",
            &self.approved_by,
            limits::MAX_ID_CHARS,
        )?;
        limits::check_optional_text("the reason", self.reason.as_deref(), limits::MAX_NOTE_CHARS)
    }
}

/// The caps head office sets on unchecked returns (changes-feed kind `return_rules`), per till
/// and day, with safe defaults when it sent none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReturnRules {
    /// Returns against another till's receipt while head office cannot be asked.
    pub offline_other_till_cap_per_day: Money,
    /// Returns without any receipt.
    pub no_receipt_cap_per_day: Money,
    /// A return without receipt is refunded at no more than the lowest price the item had
    /// over this many days (the current one included): an item bought on sale cannot come back
    /// at the full price. Thirty days by default, the window French law takes for the
    /// reference price of a reduction (Code de la consommation, art. L112-1-1).
    pub no_receipt_lowest_price_days: u32,
}

impl Default for ReturnRules {
    fn default() -> ReturnRules {
        ReturnRules {
            offline_other_till_cap_per_day: Money::from_cents(30_000),
            no_receipt_cap_per_day: Money::from_cents(10_000),
            no_receipt_lowest_price_days: 30,
        }
    }
}

impl ReturnRules {
    /// The cap of one kind of unchecked return.
    pub fn cap(&self, with_receipt: bool) -> Money {
        if with_receipt {
            self.offline_other_till_cap_per_day
        } else {
            self.no_receipt_cap_per_day
        }
    }
}

/// The lines of `original` (ticket `number`) that give back `items` (product id, units or
/// grams), as scanned at the till when the cashier does not pick the original's lines: each
/// item takes the sold lines of its product in order, as far as earlier returns left units on
/// them; what no line has left stays on the last one, for [`crate::ticket::compute_return`]
/// to refuse as more than was sold.
pub fn lines_for_items(
    number: u64,
    original: &Ticket,
    earlier_returns: &[Ticket],
    items: &[(String, u32)],
) -> Result<Vec<ReturnLine>, SaleError> {
    let mut left: Vec<(u32, &str, u32)> = original
        .lines
        .iter()
        .filter(|l| !l.is_returned())
        .map(|l| {
            let returned: u32 = earlier_returns
                .iter()
                .flat_map(|t| &t.lines)
                .filter(|r| r.original_line == Some(l.line))
                .map(|r| r.quantity.count())
                .sum();
            (
                l.line,
                l.product_id.as_str(),
                l.quantity.count().saturating_sub(returned),
            )
        })
        .collect();
    let mut asked: Vec<ReturnLine> = Vec::new();
    let mut take = |line: u32, quantity: u32| match asked.iter_mut().find(|r| r.line == line) {
        Some(r) => r.quantity += quantity,
        None => asked.push(ReturnLine {
            line,
            quantity,
            serials: vec![],
        }),
    };
    for (product, quantity) in items {
        let mut wanted = *quantity;
        let mut last = None;
        for (line, _, remaining) in left.iter_mut().filter(|(_, p, _)| p == product) {
            let now = wanted.min(*remaining);
            if now > 0 {
                take(*line, now);
                *remaining -= now;
                wanted -= now;
            }
            last = Some(*line);
        }
        match last {
            None => {
                return Err(SaleError::ItemNotOnOriginal {
                    ticket: number,
                    product: product.clone(),
                });
            }
            Some(line) if wanted > 0 => take(line, wanted),
            Some(_) => {}
        }
    }
    Ok(asked)
}

/// Computes an unchecked return: `items` priced as the catalog prices them today, given back
/// (negative lines), naming `receipt` when there is one. Each line's `original_line` is its
/// own number (there is no original ticket to point into here). Tenders as given, which must
/// add up to the refund.
pub fn compute_unchecked_return(
    receipt: Option<&ReceiptRef>,
    items: Vec<LineDraft>,
    approval: UncheckedReturn,
    tenders: Vec<Tender>,
) -> Result<Ticket, SaleError> {
    if items.is_empty() {
        return Err(SaleError::Empty);
    }
    if !approval.with_receipt
        && approval
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(SaleError::ReasonRequired);
    }
    approval.check_limits()?;
    // No original to refund back to: cash or a credit note.
    check_refund_as_paid(None, &[], &tenders)?;
    let lines = price_lines(0, items)?
        .into_iter()
        .map(|mut line| {
            line.gross = -line.gross;
            line.line_discount = -line.line_discount;
            line.total = -line.total;
            line.total_excluding_vat = -line.total_excluding_vat;
            line.original_line = Some(line.line);
            line
        })
        .collect();
    let mut ticket = finish(
        TicketKind::Return,
        receipt.map(|r| r.ticket),
        lines,
        None,
        Money::ZERO,
        Refund::Given(tenders),
        None,
    )?;
    ticket.original_till = receipt.map(|r| r.till.clone());
    ticket.unchecked_return = Some(approval);
    Ok(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_reference_is_read_from_the_qr_code_or_typed() {
        assert_eq!(
            ReceiptRef::parse("POS1:T-2:41:0123456789abcdef"),
            Ok(ReceiptRef {
                till: "T-2".into(),
                ticket: 41,
                hash_prefix: Some("0123456789abcdef".into())
            })
        );
        assert_eq!(ReceiptRef::parse(" T-2:41 ").unwrap().hash_prefix, None);
        assert!(ReceiptRef::parse("T-2").is_err());
        assert!(ReceiptRef::parse("T-2:0").is_err());
        assert!(ReceiptRef::parse("POS1:T-2:41:xyz").is_err());
    }
}
