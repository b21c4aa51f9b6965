//! Web orders (click & collect): the order the web shop places for pickup in a shop, its
//! states and the only legal moves between them, and what a till records about it.
//!
//! # States
//!
//! ```text
//! placed ──► prepared ──► ready ──► collected | partially_collected | refused
//!    └──────────┴───────────┴────► cancelled (online, by the web shop)
//! ```
//!
//! A till may hand over (or record a refusal) from `placed`, `prepared` or `ready`: a till
//! offline for a day still hands over what the customer came for. What a till records is a
//! fact (a signed record of the `web_order` chain), so the server never refuses it; it only
//! decides what it does to the order, with [`apply_till_action`]:
//!
//! - a step back (`prepared` after `ready`) changes nothing;
//! - the first handover or refusal applied wins; a second one changes nothing and raises an
//!   alarm (two tills handed the same order over);
//! - a handover of an order cancelled online (the till was offline and did not know) moves the
//!   order to what the till did, since the goods left the shop, and raises an alarm for head
//!   office to undo the online refund.
//!
//! An online cancellation ([`cancel`]) is refused once the server knows of a handover or
//! refusal.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::{self, LimitError, MAX_ID_CHARS, MAX_LABEL_CHARS, MAX_ORDER_QUANTITY};
use crate::money::Money;
use crate::vat::VatCode;

/// Whether the customer paid online or pays at pickup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Paid on the web shop: the till hands over without taking money.
    PaidOnline,
    /// To pay in the shop: the till takes payment as a normal sale ticket referencing the order.
    PayInShop,
}

impl PaymentState {
    pub fn name(self) -> &'static str {
        match self {
            PaymentState::PaidOnline => "paid_online",
            PaymentState::PayInShop => "pay_in_shop",
        }
    }
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Received, to prepare.
    Placed,
    /// Picked in the shop.
    Prepared,
    /// Waiting for the customer (the web shop tells them).
    Ready,
    /// Handed over in full.
    Collected,
    /// Handed over in part (the customer refused some lines).
    PartiallyCollected,
    /// The customer refused the whole order at the counter.
    Refused,
    /// Cancelled online.
    Cancelled,
}

impl OrderState {
    pub const ALL: [OrderState; 7] = [
        OrderState::Placed,
        OrderState::Prepared,
        OrderState::Ready,
        OrderState::Collected,
        OrderState::PartiallyCollected,
        OrderState::Refused,
        OrderState::Cancelled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OrderState::Placed => "placed",
            OrderState::Prepared => "prepared",
            OrderState::Ready => "ready",
            OrderState::Collected => "collected",
            OrderState::PartiallyCollected => "partially_collected",
            OrderState::Refused => "refused",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|s| s.name() == text)
    }

    /// No till action moves the order on from here (except the alarmed cases of the module
    /// docs).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderState::Collected
                | OrderState::PartiallyCollected
                | OrderState::Refused
                | OrderState::Cancelled
        )
    }

    /// A handover or refusal was recorded.
    pub fn is_outcome(self) -> bool {
        matches!(
            self,
            OrderState::Collected | OrderState::PartiallyCollected | OrderState::Refused
        )
    }

    fn rank(self) -> u8 {
        match self {
            OrderState::Placed => 0,
            OrderState::Prepared => 1,
            OrderState::Ready => 2,
            _ => 3,
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One line of a web order, at the price agreed online (including VAT).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// 1, 2... in the order.
    pub line: u32,
    pub product_id: String,
    pub label: String,
    pub quantity: u32,
    pub unit_price: Money,
    /// The VAT code the web shop charged; absent, the till takes its catalog's code for the
    /// product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_code: Option<VatCode>,
}

/// A web order as head office holds it and sends it to the pickup shop's tills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebOrder {
    pub id: String,
    /// The pickup shop.
    pub shop: String,
    pub lines: Vec<OrderLine>,
    pub payment: PaymentState,
    /// Total including VAT of every line.
    pub total: Money,
    /// What the customer shows at the counter (as a QR code or typed).
    pub pickup_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The web shop's own reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub state: OrderState,
    /// RFC 3339 UTC.
    pub placed_at: String,
    /// What was handed over (set by head office from the till's handover record), so any
    /// till of the shop knows what a return can take back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collected: Vec<PickedLine>,
    /// What came back in shops, per order line, as head office has received it (the return
    /// tickets naming the order). The order's state stays what the handover made it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returned: Vec<PickedLine>,
}

/// A line the web shop sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    pub product_id: String,
    pub label: String,
    pub quantity: u32,
    pub unit_price: Money,
    /// The VAT code charged online (`standard`, `reduced`...), so a return in a shop refunds
    /// the VAT the customer paid; absent, the till uses its catalog's code for the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_code: Option<VatCode>,
}

/// `POST /api/v1/web-orders`: an order for pickup in `shop`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebOrder {
    pub shop: String,
    pub lines: Vec<NewOrderLine>,
    pub payment: PaymentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Why a web order is refused: a stable code and a message that says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A line or field the order cannot have (no lines, an empty label, a negative price...).
    #[error("{0}")]
    Invalid(String),
    /// An amount, count or text beyond its limit (see [`crate::limits`]).
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl OrderError {
    /// A stable code the web shop can match on.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::Invalid(_) => "invalid",
            OrderError::Limit(e) => e.code(),
        }
    }
}

impl NewWebOrder {
    /// Checks the order and numbers its lines; the error says what to fix. Whatever passes
    /// here makes a [`WebOrder`] every reader reads back ([`WebOrder::check_limits`]).
    pub fn lines(&self) -> Result<Vec<OrderLine>, OrderError> {
        if self.lines.is_empty() {
            return Err(OrderError::Invalid(
                "an order needs at least one line".into(),
            ));
        }
        limits::check_lines("the order", self.lines.len())?;
        limits::check_text("the pickup shop", &self.shop, MAX_ID_CHARS)?;
        limits::check_optional_text("the customer", self.customer.as_deref(), MAX_ID_CHARS)?;
        limits::check_optional_text("the reference", self.reference.as_deref(), MAX_ID_CHARS)?;
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let n = i as u32 + 1;
                if l.product_id.trim().is_empty() || l.label.trim().is_empty() {
                    return Err(OrderError::Invalid(format!(
                        "line {n}: give product_id and label"
                    )));
                }
                if l.quantity == 0 || l.quantity > MAX_ORDER_QUANTITY {
                    return Err(OrderError::Invalid(format!(
                        "line {n}: quantity must be 1 to {MAX_ORDER_QUANTITY}"
                    )));
                }
                if l.unit_price.is_negative() {
                    return Err(OrderError::Invalid(format!(
                        "line {n}: unit_price must not be negative"
                    )));
                }
                let line = OrderLine {
                    line: n,
                    product_id: l.product_id.clone(),
                    label: l.label.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    vat_code: l.vat_code,
                };
                line.check_limits()?;
                Ok(line)
            })
            .collect::<Result<Vec<_>, OrderError>>()?;
        limits::check_amount("the order total", total_of(&lines))?;
        Ok(lines)
    }
}

impl OrderLine {
    /// Checks the line's quantity, amounts and texts against [`crate::limits`].
    fn check_limits(&self) -> Result<(), LimitError> {
        let n = self.line;
        limits::check_quantity(
            format_args!("line {n}: the quantity"),
            self.quantity.into(),
            MAX_ORDER_QUANTITY,
        )?;
        limits::check_amount(format_args!("line {n}: the unit price"), self.unit_price)?;
        limits::check_amount(
            format_args!("line {n}: the amount"),
            self.unit_price.times(self.quantity.into()),
        )?;
        limits::check_text(
            format_args!("line {n}: the product id"),
            &self.product_id,
            MAX_ID_CHARS,
        )?;
        limits::check_text(
            format_args!("line {n}: the label"),
            &self.label,
            MAX_LABEL_CHARS,
        )
    }
}

impl WebOrder {
    /// Checks a whole order against [`crate::limits`]: what head office stores and sends to
    /// the tills. An order read back from storage that fails here is one no reader may
    /// trust (see the skipping readers at head office and the till).
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_lines("the order", self.lines.len())?;
        for line in &self.lines {
            line.check_limits()?;
        }
        limits::check_amount("the order total", self.total)?;
        limits::check_text("the order id", &self.id, MAX_ID_CHARS)?;
        limits::check_text("the pickup shop", &self.shop, MAX_ID_CHARS)?;
        limits::check_text("the pickup code", &self.pickup_code, MAX_ID_CHARS)?;
        limits::check_optional_text("the customer", self.customer.as_deref(), MAX_ID_CHARS)?;
        limits::check_optional_text("the reference", self.reference.as_deref(), MAX_ID_CHARS)?;
        limits::check_lines("the collected lines", self.collected.len())?;
        limits::check_lines("the returned lines", self.returned.len())
    }
}

/// Total including VAT of order lines.
pub fn total_of(lines: &[OrderLine]) -> Money {
    lines
        .iter()
        .map(|l| l.unit_price.times(l.quantity.into()))
        .sum()
}

/// Every line in full: what a handover takes when it names no lines.
pub fn whole_order(lines: &[OrderLine]) -> Vec<PickedLine> {
    lines
        .iter()
        .map(|l| PickedLine {
            line: l.line,
            quantity: l.quantity,
        })
        .collect()
}

/// A line handed over: its number in the order and how many units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickedLine {
    pub line: u32,
    pub quantity: u32,
}

/// What a till records about a web order: the payload of a `web_order` chain record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TillAction {
    /// The order was picked in the shop.
    Prepared { order: String },
    /// The order waits for the customer.
    Ready { order: String },
    /// The order (or part of it) was handed over after its pickup code was checked. `ticket`
    /// is the sale ticket that took payment in the shop, if payment was due.
    HandedOver {
        order: String,
        lines: Vec<PickedLine>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<u64>,
    },
    /// The customer refused the whole order at the counter.
    Refused { order: String, reason: String },
}

impl TillAction {
    pub fn order(&self) -> &str {
        match self {
            TillAction::Prepared { order }
            | TillAction::Ready { order }
            | TillAction::HandedOver { order, .. }
            | TillAction::Refused { order, .. } => order,
        }
    }

    /// The state this action moves an order to, given the order's lines.
    pub fn target(&self, ordered: &[OrderLine]) -> OrderState {
        match self {
            TillAction::Prepared { .. } => OrderState::Prepared,
            TillAction::Ready { .. } => OrderState::Ready,
            TillAction::Refused { .. } => OrderState::Refused,
            TillAction::HandedOver { lines, .. } => {
                if is_complete(ordered, lines) {
                    OrderState::Collected
                } else {
                    OrderState::PartiallyCollected
                }
            }
        }
    }
}

/// True if every ordered unit was picked.
pub fn is_complete(ordered: &[OrderLine], picked: &[PickedLine]) -> bool {
    ordered.iter().all(|o| {
        picked
            .iter()
            .filter(|p| p.line == o.line)
            .map(|p| p.quantity)
            .sum::<u32>()
            >= o.quantity
    })
}

/// Checks picked lines against the order: known lines, each once, at most what was ordered,
/// at least one unit in all.
pub fn check_picked(ordered: &[OrderLine], picked: &[PickedLine]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for p in picked {
        let Some(o) = ordered.iter().find(|o| o.line == p.line) else {
            return Err(format!("the order has no line {}", p.line));
        };
        if !seen.insert(p.line) {
            return Err(format!("line {} is given twice", p.line));
        }
        if p.quantity > o.quantity {
            return Err(format!(
                "line {}: {} picked but {} ordered",
                p.line, p.quantity, o.quantity
            ));
        }
    }
    if picked.iter().all(|p| p.quantity == 0) {
        return Err("nothing is handed over: record a refusal instead".into());
    }
    Ok(())
}

/// What applying an action or a cancellation does to an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The order's state afterwards.
    pub state: OrderState,
    /// Whether the state changed.
    pub changed: bool,
    /// Why head office must look at this order, if it must.
    pub alarm: Option<String>,
}

/// Applies a till's recorded action to an order in `current` state (see the module docs).
pub fn apply_till_action(current: OrderState, target: OrderState) -> Step {
    let stay = |alarm: Option<String>| Step {
        state: current,
        changed: false,
        alarm,
    };
    let go = |alarm: Option<String>| Step {
        state: target,
        changed: true,
        alarm,
    };
    if target.is_outcome() {
        return match current {
            OrderState::Placed | OrderState::Prepared | OrderState::Ready => go(None),
            OrderState::Cancelled if target == OrderState::Refused => stay(None),
            OrderState::Cancelled => go(Some(format!(
                "the order was cancelled online but a till recorded it {target}: undo the online cancellation (refund) or get the goods back"
            ))),
            _ => stay(Some(format!(
                "the order was already {current} when a till recorded it {target}: the first one recorded stands; check what left the shop"
            ))),
        };
    }
    if current.is_final() || target.rank() <= current.rank() {
        stay(None)
    } else {
        go(None)
    }
}

/// An online cancellation of an order in `current` state: refused once a handover or
/// refusal is known.
pub fn cancel(current: OrderState) -> Result<Step, String> {
    match current {
        OrderState::Cancelled => Ok(Step {
            state: current,
            changed: false,
            alarm: None,
        }),
        s if s.is_outcome() => Err(format!(
            "the order is already {s} at the shop: it can no longer be cancelled; return it in a shop instead"
        )),
        _ => Ok(Step {
            state: OrderState::Cancelled,
            changed: true,
            alarm: None,
        }),
    }
}

/// The state a till shows: its own recorded progress, unless head office knows of more
/// (another till of the shop handed it over, or it was cancelled online). A handover or
/// refusal recorded here always shows, whatever head office says.
pub fn shown_state(server: OrderState, local: Option<OrderState>) -> OrderState {
    match local {
        Some(l) if l.is_outcome() => l,
        Some(l) if server.is_final() || server.rank() >= l.rank() => server,
        Some(l) => l,
        None => server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderState::*;

    #[test]
    fn only_legal_transitions_move_an_order() {
        // (current, target, expected state, alarm?)
        let cases = [
            (Placed, Prepared, Prepared, false),
            (Placed, Ready, Ready, false),
            (Prepared, Ready, Ready, false),
            (Ready, Prepared, Ready, false),
            (Ready, Ready, Ready, false),
            (Placed, Collected, Collected, false),
            (Ready, PartiallyCollected, PartiallyCollected, false),
            (Ready, Refused, Refused, false),
            (Collected, Collected, Collected, true),
            (Collected, Refused, Collected, true),
            (Refused, Collected, Refused, true),
            (Cancelled, Collected, Collected, true),
            (Cancelled, PartiallyCollected, PartiallyCollected, true),
            (Cancelled, Refused, Cancelled, false),
            (Cancelled, Ready, Cancelled, false),
            (Collected, Ready, Collected, false),
        ];
        for (current, target, expected, alarm) in cases {
            let step = apply_till_action(current, target);
            assert_eq!(
                step.state, expected,
                "{current} + till {target} must give {expected}"
            );
            assert_eq!(
                step.alarm.is_some(),
                alarm,
                "{current} + till {target}: alarm expected {alarm}"
            );
            assert_eq!(step.changed, current != expected);
        }
    }

    #[test]
    fn cancellation_is_refused_after_a_known_handover() {
        assert_eq!(cancel(Ready).unwrap().state, Cancelled);
        assert!(!cancel(Cancelled).unwrap().changed);
        for s in [Collected, PartiallyCollected, Refused] {
            assert!(cancel(s).is_err(), "a {s} order cannot be cancelled online");
        }
    }

    #[test]
    fn partial_pickup_is_told_from_the_lines() {
        let line = |line, quantity| OrderLine {
            line,
            product_id: "P".into(),
            label: "P".into(),
            quantity,
            unit_price: Money::from_cents(100),
            vat_code: None,
        };
        let ordered = [line(1, 2), line(2, 1)];
        let picked = |l: &[(u32, u32)]| -> Vec<PickedLine> {
            l.iter()
                .map(|&(line, quantity)| PickedLine { line, quantity })
                .collect()
        };
        let all = TillAction::HandedOver {
            order: "W".into(),
            lines: picked(&[(1, 2), (2, 1)]),
            ticket: None,
        };
        assert_eq!(all.target(&ordered), Collected);
        let part = picked(&[(1, 1)]);
        assert!(!is_complete(&ordered, &part));
        assert!(check_picked(&ordered, &part).is_ok());
        assert!(check_picked(&ordered, &picked(&[(1, 3)])).is_err());
        assert!(check_picked(&ordered, &picked(&[(3, 1)])).is_err());
        assert!(check_picked(&ordered, &picked(&[(1, 1), (1, 1)])).is_err());
        assert!(check_picked(&ordered, &picked(&[(1, 0)])).is_err());
        assert_eq!(total_of(&ordered), Money::from_cents(300));
    }

    #[test]
    fn a_till_shows_its_own_outcome_and_head_office_news() {
        assert_eq!(shown_state(Placed, None), Placed);
        assert_eq!(shown_state(Placed, Some(Ready)), Ready);
        assert_eq!(shown_state(Cancelled, Some(Ready)), Cancelled);
        assert_eq!(shown_state(Cancelled, Some(Collected)), Collected);
        assert_eq!(shown_state(Collected, Some(Ready)), Collected);
    }

    #[test]
    fn till_actions_are_locked() {
        let action = TillAction::HandedOver {
            order: "W1".into(),
            lines: vec![PickedLine {
                line: 1,
                quantity: 2,
            }],
            ticket: Some(7),
        };
        assert_eq!(
            serde_json::to_string(&action).unwrap(),
            r#"{"action":"handed_over","order":"W1","lines":[{"line":1,"quantity":2}],"ticket":7}"#
        );
        let refused = TillAction::Refused {
            order: "W1".into(),
            reason: "damaged".into(),
        };
        assert_eq!(
            serde_json::to_string(&refused).unwrap(),
            r#"{"action":"refused","order":"W1","reason":"damaged"}"#
        );
    }
}
