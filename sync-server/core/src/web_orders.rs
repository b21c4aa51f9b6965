//! Web orders (click & collect) on the server: placing them (idempotent per web shop and
//! `Idempotency-Key`), the state machine of [`pos_domain::web_order`] applied to what tills
//! record in their `web_order` chain, and the outbox events that tell the web shop.
//!
//! Every state change, whether from the web shop (placed, cancelled) or from a till's uploaded
//! record (prepared, ready, collected, partially collected, refused), commits with an outbox
//! event `pos.web_order.<state>` (id `web_order/<order>/<state>`) and a new version of the
//! order's entry in the changes feed, so the shop's tills see it at their next sync.
//!
//! A web order paid online and returned in a shop is a `return` ticket naming the order
//! (`web_order`, no `original`). Head office records each such return beside the order: the
//! order keeps the state its handover gave it (a return does not undo a handover), and its
//! `returned` lines add up what came back, with a `pos.web_order.returned` event per return
//! ticket (id `web_order/<order>/return/<till>/<ticket>`) carrying the lines and the refund.
//! Each till refuses to take back more than was collected from its own returns; returns of one
//! order at two tills that together exceed what was collected are stored all the same (they
//! are what the tills did) and raise a `web_order_over_returned` alarm.
//!
//! An order is placed only within the limits of [`pos_domain::limits`] (checked by
//! [`pos_domain::web_order::NewWebOrder::lines`]; refused with 422 and the limit's code), so
//! every reader reads back what is stored. An order stored before those limits, or edited by
//! hand, that no longer parses is never a 500: lists and uploads leave it out with a logged
//! `web_order_unreadable` alarm ([`readable_orders`], `known_or_skipped`), a read of it
//! answers 409 `web_order_unreadable`, and `sync-server admin web-order remove` drops it at
//! head office and, through a removal in the changes feed, at its shop's tills (with a
//! `pos.web_order.removed` event for the web shop).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pos_domain::record::{Chain, canonical_bytes, sha256_hex, timestamp};
use pos_domain::ticket::Ticket;
use pos_domain::web_order::{
    self, NewWebOrder, OrderState, PickedLine, TillAction, WebOrder, apply_till_action, whole_order,
};
use pos_domain::web_return::{is_web_order_return, returned_per_line};
use pos_domain::wire::kinds;
use serde::Deserialize;
use serde_json::json;

use crate::distribution::NewChange;
use crate::events::OutboxEvent;
use crate::ingest::TillAuth;
use crate::ingest::{AlarmKind, ChainPlan, NewAlarm};
use crate::random::{RandomError, random_bytes};

/// A new web order from the web shop's request: a fresh id and pickup code, state `placed`.
pub fn new_order(request: &NewWebOrder, now: DateTime<Utc>) -> Result<WebOrder, NewOrderError> {
    let lines = request.lines()?;
    Ok(WebOrder {
        id: format!("WO-{}", random_code(10)?),
        shop: request.shop.clone(),
        total: web_order::total_of(&lines),
        lines,
        payment: request.payment,
        pickup_code: random_code(8)?,
        customer: request.customer.clone(),
        reference: request.reference.clone(),
        state: OrderState::Placed,
        placed_at: timestamp::format(&now),
        collected: Vec::new(),
        returned: Vec::new(),
    })
}

/// Why an order cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum NewOrderError {
    /// Refused as the web shop sent it (4xx, with the domain's code).
    #[error(transparent)]
    Invalid(#[from] web_order::OrderError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// `n` (at most 32) characters of Crockford base32 (no I, L, O, U), easy to read out and type.
fn random_code(n: usize) -> Result<String, RandomError> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes: [u8; 32] = random_bytes()?;
    Ok(bytes
        .iter()
        .take(n)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// The hash an idempotent resend must match: SHA-256 of the request's canonical JSON (so key
/// order and spacing of the body do not matter).
pub fn request_hash(request: &NewWebOrder) -> String {
    let value = serde_json::to_value(request).unwrap_or_default();
    sha256_hex(&canonical_bytes(&value).unwrap_or_default())
}

/// The outbox event of an order reaching its current state.
pub fn state_event(order: &WebOrder, now: DateTime<Utc>) -> OutboxEvent {
    let state = order.state.name();
    let event_type = format!("pos.web_order.{state}");
    let id = format!("web_order/{}/{state}", order.id);
    let subject = format!("web-orders/{}", order.id);
    OutboxEvent::new(
        id,
        event_type,
        format!("/shops/{}", order.shop),
        subject,
        timestamp::format(&now),
        json!(order),
    )
}

/// The stable code of a stored order no reader can parse.
pub const UNREADABLE: &str = "web_order_unreadable";

/// A stored order no reader can parse (see [`stored_order`]).
#[derive(Debug, thiserror::Error)]
#[error(
    "web order `{id}` is stored but cannot be read ({reason}): an administrator removes it \
     with `sync-server admin web-order remove --id {id}`"
)]
pub struct UnreadableOrder {
    pub id: String,
    pub reason: String,
}

/// Reads a stored order back. An order stored before the limits of [`pos_domain::limits`]
/// (or edited by hand) may not parse: that is an [`UnreadableOrder`] naming the order and the
/// command that removes it (the store reports it as corrupt). Lists and uploads skip such an
/// order ([`skip_unreadable`]); a read of that one order answers 409 `web_order_unreadable`.
pub fn stored_order(id: &str, body: &str) -> Result<WebOrder, UnreadableOrder> {
    serde_json::from_str(body).map_err(|e| UnreadableOrder {
        id: id.to_string(),
        reason: e.to_string(),
    })
}

/// Leaves an unreadable order out of a list or an upload, and raises head office's alarm for
/// it: an error in the server's log with the code [`UNREADABLE`] and what to do.
pub fn skip_unreadable(error: &dyn std::fmt::Display) {
    tracing::error!(code = UNREADABLE, %error, "a stored web order was left out of a read");
}

/// Reads stored `(id, body)` rows, leaving out (and alarming) those that cannot be read.
pub fn readable_orders(rows: impl IntoIterator<Item = (String, String)>) -> Vec<WebOrder> {
    rows.into_iter()
        .filter_map(|(id, body)| {
            stored_order(&id, &body)
                .inspect_err(|e| skip_unreadable(e))
                .ok()
        })
        .collect()
}

/// The orders of `bodies` (id and stored body) that can be read, by id; an unreadable one is
/// left out (and alarmed), so an upload naming it is stored and raises the usual
/// `web_order_unknown` alarm rather than failing for good.
pub fn known_orders(bodies: BTreeMap<String, String>) -> BTreeMap<String, WebOrder> {
    bodies
        .into_iter()
        .filter_map(|(id, body)| {
            let order = stored_order(&id, &body).inspect_err(|e| skip_unreadable(e));
            order.ok().map(|order| (id, order))
        })
        .collect()
}

/// The outbox event of an order removed by an administrator (`sync-server admin web-order
/// remove`): the web shop learns the order is gone; the feed entry tells the tills.
pub fn removed_event(id: &str, shop: &str, now: DateTime<Utc>) -> OutboxEvent {
    OutboxEvent::new(
        format!("web_order/{id}/removed"),
        "pos.web_order.removed".to_string(),
        format!("/shops/{shop}"),
        format!("web-orders/{id}"),
        timestamp::format(&now),
        json!({"id": id, "shop": shop}),
    )
}

/// The changes-feed entry removing an order from its pickup shop's tills.
pub fn order_removal(id: &str, shop: &str) -> NewChange {
    NewChange {
        kind: kinds::WEB_ORDER,
        shop_id: shop.to_string(),
        key: id.to_string(),
        data: None,
    }
}

/// The changes-feed entry of an order, for its pickup shop.
pub fn order_change(order: &WebOrder) -> NewChange {
    NewChange {
        kind: kinds::WEB_ORDER,
        shop_id: order.shop.clone(),
        key: order.id.clone(),
        data: serde_json::to_value(order).ok(),
    }
}

/// The orders named by the accepted `web_order` records and web-order return tickets of an
/// upload, which the backend loads before calling [`plan_till_actions`].
pub fn orders_named(plans: &[ChainPlan]) -> Vec<String> {
    let mut ids: Vec<String> = actions(plans)
        .filter_map(|(_, action)| action.ok().map(|a| a.order().to_string()))
        .chain(web_order_returns(plans).filter_map(|(_, t)| t.web_order))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn actions(
    plans: &[ChainPlan],
) -> impl Iterator<Item = (&crate::ingest::Accepted, Result<TillAction, String>)> {
    plans
        .iter()
        .filter(|p| p.chain == Chain::WebOrder)
        .flat_map(|p| &p.accepted)
        .map(|a| {
            let action =
                TillAction::deserialize(&a.record.record.payload).map_err(|e| e.to_string());
            (a, action)
        })
}

/// The accepted tickets of an upload that return a web order paid online.
fn web_order_returns(
    plans: &[ChainPlan],
) -> impl Iterator<Item = (&crate::ingest::Accepted, Ticket)> {
    plans
        .iter()
        .filter(|p| p.chain == Chain::Ticket)
        .flat_map(|p| &p.accepted)
        .filter_map(|a| {
            Ticket::deserialize(&a.record.record.payload)
                .ok()
                .filter(is_web_order_return)
                .map(|t| (a, t))
        })
}

/// What head office knows was handed over of `order`, if it knows.
fn collected_of(order: &WebOrder) -> Option<Vec<PickedLine>> {
    if !order.collected.is_empty() {
        Some(order.collected.clone())
    } else if order.state == OrderState::Collected {
        Some(whole_order(&order.lines))
    } else {
        None
    }
}

/// Why the returns recorded for `order` are more than was handed over, if they are. Until
/// head office knows of the handover (its record may come in a later upload) nothing is said.
pub fn over_returned(order: &WebOrder) -> Option<String> {
    let collected = collected_of(order)?;
    let over: Vec<String> = order
        .returned
        .iter()
        .filter_map(|r| {
            let handed = collected
                .iter()
                .filter(|c| c.line == r.line)
                .map(|c| c.quantity)
                .sum::<u32>();
            (r.quantity > handed).then(|| {
                format!(
                    "line {}: {} returned but {handed} collected",
                    r.line, r.quantity
                )
            })
        })
        .collect();
    (!over.is_empty()).then(|| {
        format!(
            "{}: returns in shops exceed what was handed over ({}); check the return tickets of the order at each till",
            order.id,
            over.join("; ")
        )
    })
}

/// Adds the lines of return `ticket` to what `order` has had returned.
fn add_returned(order: &mut WebOrder, ticket: &Ticket) {
    let mut all = order.returned.clone();
    for line in returned_per_line(std::slice::from_ref(ticket)) {
        match all.iter_mut().find(|r| r.line == line.line) {
            Some(r) => r.quantity += line.quantity,
            None => all.push(line),
        }
    }
    all.sort_by_key(|r| r.line);
    order.returned = all;
}

/// The outbox event of a return ticket of `order` (as the order is after it).
pub fn return_event(
    order: &WebOrder,
    till: &str,
    number: u64,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> OutboxEvent {
    let event_type = "pos.web_order.returned".to_string();
    let id = format!("web_order/{}/return/{till}/{number}", order.id);
    let subject = format!("web-orders/{}", order.id);
    OutboxEvent::new(
        id,
        event_type,
        format!("/shops/{}", order.shop),
        subject,
        timestamp::format(&now),
        json!({
            "order": order,
            "till": till,
            "ticket": number,
            "lines": returned_per_line(std::slice::from_ref(ticket)),
            "refund": ticket.total,
            "tenders": ticket.tenders,
        }),
    )
}

/// What an upload's web-order records do: orders changed, their events and feed entries, and
/// alarms.
#[derive(Debug, Default)]
pub struct TillActionWrites {
    /// Orders whose state changed, as they now are.
    pub orders: Vec<WebOrder>,
    pub events: Vec<OutboxEvent>,
    pub changes: Vec<NewChange>,
    pub alarms: Vec<NewAlarm>,
}

/// Applies the accepted `web_order` records of an upload, in order, to the orders they name
/// (`known`: those head office holds, by id). The records are stored whatever happens here:
/// they are what the till did.
pub fn plan_till_actions(
    till: &TillAuth,
    plans: &[ChainPlan],
    mut known: BTreeMap<String, WebOrder>,
    now: DateTime<Utc>,
) -> TillActionWrites {
    let mut writes = TillActionWrites::default();
    let mut changed = BTreeMap::new();
    for (accepted, action) in actions(plans) {
        let alarm = |kind, reason: String| NewAlarm {
            chain: Chain::WebOrder,
            seq: accepted.seq,
            kind,
            reason,
            received: accepted.record.stored.clone(),
            received_hash: accepted.hash.clone(),
        };
        let action = match action {
            Ok(action) => action,
            Err(e) => {
                writes.alarms.push(alarm(
                    AlarmKind::PayloadUnreadable,
                    format!("stored, but not a web-order action this server reads: {e}"),
                ));
                continue;
            }
        };
        let Some(order) = known
            .get_mut(action.order())
            .filter(|o| o.shop == till.shop_id)
        else {
            writes.alarms.push(alarm(
                AlarmKind::WebOrderUnknown,
                format!(
                    "no web order `{}` for shop `{}`",
                    action.order(),
                    till.shop_id
                ),
            ));
            continue;
        };
        let step = apply_till_action(order.state, action.target(&order.lines));
        if let Some(reason) = step.alarm {
            writes.alarms.push(alarm(
                AlarmKind::WebOrderConflict,
                format!("{}: {reason}", order.id),
            ));
        }
        if step.changed {
            order.state = step.state;
            if let TillAction::HandedOver { lines, .. } = &action {
                order.collected = lines.clone();
                // Returns that came in before the handover are checked now.
                if let Some(reason) = over_returned(order) {
                    writes
                        .alarms
                        .push(alarm(AlarmKind::WebOrderOverReturned, reason));
                }
            }
            writes.events.push(state_event(order, now));
            changed.insert(order.id.clone(), order.clone());
        }
    }
    // Returns after handovers: a handover and a return of one upload apply in that order.
    for (accepted, ticket) in web_order_returns(plans) {
        let alarm = |kind, reason: String| NewAlarm {
            chain: Chain::Ticket,
            seq: accepted.seq,
            kind,
            reason,
            received: accepted.record.stored.clone(),
            received_hash: accepted.hash.clone(),
        };
        let id = ticket.web_order.clone().unwrap_or_default();
        let Some(order) = known.get_mut(&id).filter(|o| o.shop == till.shop_id) else {
            writes.alarms.push(alarm(
                AlarmKind::WebOrderUnknown,
                format!(
                    "return ticket {} names web order `{id}`, unknown for shop `{}`: the refund is recorded; find the order",
                    accepted.seq, till.shop_id
                ),
            ));
            continue;
        };
        add_returned(order, &ticket);
        if let Some(reason) = over_returned(order) {
            writes
                .alarms
                .push(alarm(AlarmKind::WebOrderOverReturned, reason));
        }
        writes.events.push(return_event(
            order,
            &till.till_id,
            accepted.seq,
            &ticket,
            now,
        ));
        changed.insert(order.id.clone(), order.clone());
    }
    for order in changed.into_values() {
        writes.changes.push(order_change(&order));
        writes.orders.push(order);
    }
    writes
}
