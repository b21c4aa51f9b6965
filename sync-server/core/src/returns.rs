//! Returns at any till, head office's side (issue 12; DESIGN invariant 11): what is still
//! returnable of a ticket once every return made against it anywhere in the chain, and the
//! reservations of returns in progress, are counted; and the over-return alarm when returns
//! recorded offline at several tills, once synced, give back more than was sold.
//!
//! - [`named_return`]: a return (or exchange) naming the original ticket it gives back:
//!   another till's (`original_till`) or their own till's; head office indexes them, so a
//!   lookup finds every return of a ticket wherever it was made;
//! - [`returnable`]: per original line, what was sold less what was given back and reserved
//!   (a return recorded offline, priced from the catalog, gives back the original's line of
//!   the same product);
//! - [`decide_reservation`]: whether the lines a till is about to return fit in what is left
//!   (decided with the original locked, so two tills racing for the last unit get one grant);
//! - [`over_returned`]: the lines a set of recorded returns over-returns, for the alarm.

use std::collections::BTreeMap;

use pos_domain::ticket::{ReturnLine, Ticket};

use crate::ingest::Accepted;

/// A return of an upload naming its original: (original till, original ticket, this till's
/// ticket sequence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedReturn {
    pub original_till: String,
    pub original_ticket: u64,
    pub seq: u64,
    /// The hash of the return's record (the alarm's identity).
    pub hash: String,
}

/// The original a return or exchange gives back lines of (another till's, or its own till's),
/// gathered by [`crate::derive`].
pub fn named_return(accepted: &Accepted, ticket: &Ticket) -> Option<NamedReturn> {
    let original = ticket.original?;
    if !ticket.lines.iter().any(|l| l.is_returned()) {
        return None;
    }
    Some(NamedReturn {
        original_till: ticket
            .original_till
            .clone()
            .unwrap_or_else(|| accepted.record.record.till.clone()),
        original_ticket: original,
        seq: accepted.seq,
        hash: accepted.hash.clone(),
    })
}

/// Per line of `original`, what is still returnable: sold, less what `returns` gave back,
/// less what `reserved` holds.
pub fn returnable(
    original: &Ticket,
    returns: &[Ticket],
    reserved: &[ReturnLine],
) -> BTreeMap<u32, i64> {
    let mut left: BTreeMap<u32, i64> = original
        .lines
        .iter()
        .filter(|l| !l.is_returned())
        .map(|l| (l.line, i64::from(l.quantity.count())))
        .collect();
    for ticket in returns {
        for line in ticket.lines.iter().filter(|l| l.is_returned()) {
            let of = if ticket.unchecked_return.is_some() {
                // Priced from a catalog, offline: its line numbers are its own, so it gives
                // back the original's line of the same product (the first with some left).
                line_of_product(original, &left, &line.product_id)
            } else {
                line.original_line
            };
            if let Some(n) = of.and_then(|of| left.get_mut(&of)) {
                *n -= i64::from(line.quantity.count());
            }
        }
    }
    for r in reserved {
        if let Some(n) = left.get_mut(&r.line) {
            *n -= i64::from(r.quantity);
        }
    }
    left
}

/// The original's line selling `product` with the most left (the last one when none has any
/// left), if it sold the product at all.
fn line_of_product(original: &Ticket, left: &BTreeMap<u32, i64>, product: &str) -> Option<u32> {
    original
        .lines
        .iter()
        .filter(|l| !l.is_returned() && l.product_id == product)
        .map(|l| l.line)
        .max_by_key(|line| (left.get(line).copied().unwrap_or(0).max(0), *line))
}

/// Why a reservation is refused: the first line asked beyond what is left.
pub fn decide_reservation(
    original: &Ticket,
    returns: &[Ticket],
    reserved: &[ReturnLine],
    asked: &[ReturnLine],
) -> Result<(), String> {
    let left = returnable(original, returns, reserved);
    let mut wanted: BTreeMap<u32, i64> = BTreeMap::new();
    for line in asked {
        *wanted.entry(line.line).or_default() += i64::from(line.quantity);
    }
    for (line, n) in wanted {
        let available = left.get(&line).copied().unwrap_or(0).max(0);
        if n <= 0 || n > available {
            return Err(format!(
                "line {line}: {n} asked, {available} left to return (returned or being returned \
                 at another till)"
            ));
        }
    }
    Ok(())
}

/// The lines of `original` that `returns` give back more of than was sold, with the excess.
pub fn over_returned(original: &Ticket, returns: &[Ticket]) -> Vec<(u32, i64)> {
    returnable(original, returns, &[])
        .into_iter()
        .filter(|(_, left)| *left < 0)
        .map(|(line, left)| (line, -left))
        .collect()
}
