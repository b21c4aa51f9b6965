//! The CRM feed, derived from the tickets on ingest: a purchase event for each ticket that
//! names a customer (returns and cancellations too, with negative totals; exchanges with their
//! net difference, their returned lines marked with `original_line`), and a customer
//! event each time an upload changes what head office knows of a customer: `created` the
//! first time a customer appears in a ticket, `updated` after. All of a customer's events
//! share the subject `customers/<id>`, so webhook receivers get them in order.
//!
//! A ticket names a customer by the id their till made; their contact details (name, phone,
//! e-mail) come separately, in the customer uploads of the tills (`POST
//! /api/v1/tills/{till}/customers`), and the later change wins ([`apply_contacts`]). Each new or
//! changed contact is a customer event too, and every customer event carries the contact
//! details known at that point with the figures learnt from the tickets (tickets, net total,
//! first shop, last purchase). A customer seen first through their details is `created` then;
//! one seen first on a ticket is `created` without details, and `updated` when they arrive.
//!
//! "Later" is the till's `updated_at`, so a till's clock decides which change wins. A change
//! dated more than [`MAX_CLOCK_AHEAD_SECONDS`] past head office's clock cannot be genuine: it is
//! stored as of head office's time and alarmed ([`bound_to_clock`]), so one till (a wrong
//! clock, or a dishonest one) cannot pin a customer's details against every later change.
//! Each stored change keeps the shop and till that made it ([`ContactOrigin`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pos_domain::Money;
use pos_domain::customer::Customer;
use pos_domain::record::{SignedRecord, sha256_hex, timestamp};
use pos_domain::ticket::Ticket;
use serde_json::json;

use crate::events::{ALARM_TYPE, OutboxEvent};

/// A ticket naming a customer was accepted.
pub const PURCHASE_TYPE: &str = "pos.crm.purchase.recorded";
/// A customer appeared in a ticket for the first time.
pub const CUSTOMER_CREATED_TYPE: &str = "pos.crm.customer.created";
/// A known customer's figures changed.
pub const CUSTOMER_UPDATED_TYPE: &str = "pos.crm.customer.updated";
/// A customer's contact details were erased at head office.
pub const CUSTOMER_ERASED_TYPE: &str = "pos.crm.customer.erased";

/// The fields of a customer event's `data` that hold personal data.
const CONTACT_FIELDS: [&str; 3] = ["name", "phone", "email"];

/// The event saying a customer's details were erased (receivers erase their copies).
pub fn erased_event(id: &str) -> OutboxEvent {
    let event_id = format!("customer/{id}/erased");
    let envelope = json!({
        "specversion": "1.0",
        "id": event_id,
        "source": "/customers",
        "type": CUSTOMER_ERASED_TYPE,
        "subject": subject(id),
        "datacontenttype": "application/json",
        "data": { "customer": id },
    });
    OutboxEvent {
        id: event_id,
        event_type: CUSTOMER_ERASED_TYPE.to_string(),
        subject: subject(id),
        envelope,
    }
}

/// The outbox subject of a customer's events.
pub fn customer_subject(id: &str) -> String {
    subject(id)
}

/// Removes the contact details from a stored customer event's envelope; true if it held any.
pub fn scrub(envelope: &mut serde_json::Value) -> bool {
    let Some(data) = envelope.get_mut("data").and_then(|d| d.as_object_mut()) else {
        return false;
    };
    let mut changed = false;
    for field in CONTACT_FIELDS {
        if let Some(value) = data.get_mut(field)
            && !value.is_null()
        {
            *value = serde_json::Value::Null;
            changed = true;
        }
    }
    changed
}

fn subject(customer: &str) -> String {
    format!("customers/{customer}")
}

/// The purchase event of an accepted ticket, if it names a customer.
pub fn purchase(shop_id: &str, signed: &SignedRecord, ticket: &Ticket) -> Option<OutboxEvent> {
    let customer = ticket.customer.as_deref()?;
    let r = &signed.record;
    let id = format!("purchase/{}/{}", r.till, r.seq);
    let lines: Vec<_> = ticket
        .lines
        .iter()
        .map(|l| {
            let mut line = json!({
                "product": l.product_id,
                "label": l.label,
                "category": l.category,
                "quantity": l.quantity,
                "total": l.total,
            });
            // A line given back (a return's, or an exchange's returned part) names the line of
            // the original ticket, so the CRM can tell what came back from what was bought.
            if let Some(original_line) = l.original_line {
                line["original_line"] = json!(original_line);
            }
            line
        })
        .collect();
    Some(OutboxEvent::new(
        id,
        PURCHASE_TYPE,
        format!("/shops/{shop_id}/tills/{}", r.till),
        subject(customer),
        timestamp::format(&r.at),
        json!({
            "customer": customer,
            "shop": shop_id,
            "till": r.till,
            "ticket": r.seq,
            "kind": ticket.kind,
            "at": timestamp::format(&r.at),
            "total": ticket.total,
            "lines": lines,
        }),
    ))
}

/// A ticket naming a customer, as the customer's figures need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerTicket {
    pub customer: String,
    pub shop_id: String,
    pub at: DateTime<Utc>,
    pub total_cents: i64,
}

/// The customer side of an accepted ticket, if it names a customer.
pub fn customer_ticket(
    shop_id: &str,
    signed: &SignedRecord,
    ticket: &Ticket,
) -> Option<CustomerTicket> {
    Some(CustomerTicket {
        customer: ticket.customer.clone()?,
        shop_id: shop_id.to_string(),
        at: signed.record.at,
        total_cents: ticket.total.cents(),
    })
}

/// A customer as stored; `version` counts their events, one per ticket and per contact change
/// (0: not stored yet). `last_purchase_at` is empty until their first ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerState {
    pub id: String,
    pub first_shop_id: String,
    pub first_seen_at: String,
    pub last_purchase_at: String,
    pub tickets: i64,
    pub total_cents: i64,
    pub version: i64,
    /// The latest contact details a till sent, if any.
    pub contact: Option<Customer>,
    /// Who sent them (none for details stored before head office kept it).
    pub origin: Option<ContactOrigin>,
}

/// Where a stored change of a customer's details came from: the shop and till that uploaded
/// it, and when head office received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactOrigin {
    pub shop_id: String,
    pub till_id: String,
    /// Head office's time of the upload (canonical UTC).
    pub received_at: String,
}

impl ContactOrigin {
    /// An upload of `till_id`, of shop `shop_id`, received at `now`.
    pub fn new(shop_id: &str, till_id: &str, now: DateTime<Utc>) -> ContactOrigin {
        ContactOrigin {
            shop_id: shop_id.to_string(),
            till_id: till_id.to_string(),
            received_at: timestamp::format(&now),
        }
    }
}

/// How far past head office's clock, in seconds, a till may date a change of customer
/// details. Tills set their clocks by NTP; five minutes covers a drifting one, while a change
/// dated further ahead would outrank every genuine change made until that date.
pub const MAX_CLOCK_AHEAD_SECONDS: i64 = 5 * 60;

/// The `chain` and `kind` of the alarm raised for a change dated past head office's clock
/// (customers have no chain: their alarms are under `customers`, sequence 0).
pub const CLOCK_ALARM_CHAIN: &str = "customers";
pub const CLOCK_ALARM_KIND: &str = "customer_clock_ahead";

/// A till's change of details dated more than [`MAX_CLOCK_AHEAD_SECONDS`] past head office's
/// clock: the evidence an alarm keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockAlarm {
    pub customer: String,
    pub reason: String,
    /// The customer exactly as the till sent them (JSON).
    pub received: Vec<u8>,
    /// Hex SHA-256 of `received`: the same change sent again raises no second alarm.
    pub received_hash: String,
}

impl ClockAlarm {
    /// The outbox event of this alarm, raised on an upload from `origin`.
    pub fn event(&self, origin: &ContactOrigin) -> OutboxEvent {
        let till = &origin.till_id;
        OutboxEvent::new(
            format!(
                "alarm/{till}/{CLOCK_ALARM_CHAIN}/0/{CLOCK_ALARM_KIND}/{}",
                self.received_hash
            ),
            ALARM_TYPE,
            format!("/shops/{}/tills/{till}", origin.shop_id),
            subject(&self.customer),
            origin.received_at.clone(),
            json!({
                "shop": origin.shop_id,
                "till": till,
                "chain": CLOCK_ALARM_CHAIN,
                "seq": 0,
                "kind": CLOCK_ALARM_KIND,
                "reason": self.reason,
                "received_hash": self.received_hash,
                "customer": self.customer,
            }),
        )
    }
}

/// Bounds a till's change of details to head office's clock: one dated more than
/// [`MAX_CLOCK_AHEAD_SECONDS`] past `now` is taken as made at `now`, with an alarm.
///
/// Clamped rather than refused: a till whose clock runs ahead is a fault to fix, not a reason
/// to lose what the cashier typed, and a refusal would hold back every customer of the
/// upload, retried for ever. Any genuine change made after `now` wins over the clamped one.
pub fn bound_to_clock(customer: &Customer, now: DateTime<Utc>) -> (Customer, Option<ClockAlarm>) {
    let limit = now + chrono::Duration::seconds(MAX_CLOCK_AHEAD_SECONDS);
    if customer.updated_at <= limit {
        return (customer.clone(), None);
    }
    let received = serde_json::to_vec(customer).unwrap_or_default();
    let alarm = ClockAlarm {
        customer: customer.id.clone(),
        reason: format!(
            "customer {} changed with updated_at {}, more than {} minutes past head office's \
             clock ({}): stored as of head office's time; check the till's clock",
            customer.id,
            timestamp::format(&customer.updated_at),
            MAX_CLOCK_AHEAD_SECONDS / 60,
            timestamp::format(&now),
        ),
        received_hash: sha256_hex(&received),
        received,
    };
    let bounded = Customer {
        created_at: customer.created_at.min(now),
        updated_at: now,
        ..customer.clone()
    };
    (bounded, Some(alarm))
}

impl CustomerState {
    /// A customer not stored yet, first seen with `first`.
    pub fn unseen(first: &CustomerTicket) -> CustomerState {
        let at = timestamp::format(&first.at);
        CustomerState {
            id: first.customer.clone(),
            first_shop_id: first.shop_id.clone(),
            first_seen_at: at.clone(),
            last_purchase_at: at,
            tickets: 0,
            total_cents: 0,
            version: 0,
            contact: None,
            origin: None,
        }
    }

    /// A customer not stored yet, first known through the details a till of `shop_id` sent.
    pub fn from_contact(shop_id: &str, customer: &Customer) -> CustomerState {
        CustomerState {
            id: customer.id.clone(),
            first_shop_id: shop_id.to_string(),
            first_seen_at: timestamp::format(&customer.created_at),
            last_purchase_at: String::new(),
            tickets: 0,
            total_cents: 0,
            version: 0,
            contact: None,
            origin: None,
        }
    }

    /// The stored contact as JSON text, for the `contact` column.
    pub fn contact_json(&self) -> Option<String> {
        self.contact
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok())
    }
}

/// Reads the `contact` column.
pub fn contact_from_json(text: Option<&str>) -> Result<Option<Customer>, serde_json::Error> {
    text.map(serde_json::from_str).transpose()
}

/// What applying an upload of contact details did.
#[derive(Debug, Default)]
pub struct AppliedContacts {
    /// The customer events, in upload order.
    pub events: Vec<OutboxEvent>,
    /// The customers whose details changed, as stored, in upload order.
    pub changed: Vec<Customer>,
    /// The changes dated past head office's clock (see [`bound_to_clock`]).
    pub alarms: Vec<ClockAlarm>,
}

/// Applies the contact details a till uploaded from `origin` (`states` holds every customer
/// named, [`CustomerState::from_contact`] if new), each first bounded to head office's clock
/// `now` ([`bound_to_clock`]): a version later than the stored one replaces it, with its
/// origin, and makes an event; an earlier or equal one changes nothing.
pub fn apply_contacts(
    states: &mut BTreeMap<String, CustomerState>,
    origin: &ContactOrigin,
    now: DateTime<Utc>,
    uploaded: &[Customer],
) -> AppliedContacts {
    let mut applied = AppliedContacts::default();
    for customer in uploaded {
        let (customer, alarm) = bound_to_clock(customer, now);
        applied.alarms.extend(alarm);
        let state = states
            .entry(customer.id.clone())
            .or_insert_with(|| CustomerState::from_contact(&origin.shop_id, &customer));
        let newer = state
            .contact
            .as_ref()
            .is_none_or(|stored| customer.supersedes(stored));
        if !newer {
            continue;
        }
        state.contact = Some(customer.clone());
        state.origin = Some(origin.clone());
        state.version += 1;
        applied.events.push(customer_changed(state));
        applied.changed.push(customer);
    }
    applied
}

/// Applies an upload's customer tickets, in ticket order, to the customers' stored states
/// (`states` holds every customer named, [`CustomerState::unseen`] if new) and returns one
/// customer event per ticket. Per ticket, not per upload, so the events are the same however
/// the till batches its uploads.
pub fn apply(
    states: &mut BTreeMap<String, CustomerState>,
    tickets: &[CustomerTicket],
) -> Vec<OutboxEvent> {
    let mut events = Vec::new();
    for t in tickets {
        let state = states
            .entry(t.customer.clone())
            .or_insert_with(|| CustomerState::unseen(t));
        let at = timestamp::format(&t.at);
        if at > state.last_purchase_at {
            state.last_purchase_at = at;
        }
        state.tickets += 1;
        state.total_cents += t.total_cents;
        state.version += 1;
        events.push(customer_changed(state));
    }
    events
}

/// The customer event of a stored state: `created` at version 1, `updated` after.
pub fn customer_changed(state: &CustomerState) -> OutboxEvent {
    let event_type = if state.version == 1 {
        CUSTOMER_CREATED_TYPE
    } else {
        CUSTOMER_UPDATED_TYPE
    };
    let id = format!("customer/{}/{}", state.id, state.version);
    let contact = state.contact.as_ref();
    let contact_at = contact.map(|c| timestamp::format(&c.updated_at));
    // The time of the latest fact the event reports: a purchase or a change of details.
    let time = contact_at
        .clone()
        .into_iter()
        .chain([state.last_purchase_at.clone()])
        .max()
        .unwrap_or_default();
    OutboxEvent::new(
        id,
        event_type,
        format!("/shops/{}", state.first_shop_id),
        subject(&state.id),
        time,
        json!({
            "customer": state.id,
            "version": state.version,
            "name": contact.map(|c| c.name.as_str()),
            "phone": contact.and_then(|c| c.phone.as_deref()),
            "email": contact.and_then(|c| c.email.as_deref()),
            "details_updated_at": contact_at,
            "details_shop": state.origin.as_ref().map(|o| o.shop_id.as_str()),
            "details_till": state.origin.as_ref().map(|o| o.till_id.as_str()),
            "first_shop": state.first_shop_id,
            "first_seen_at": state.first_seen_at,
            "last_purchase_at": (!state.last_purchase_at.is_empty()).then_some(&state.last_purchase_at),
            "tickets": state.tickets,
            "total": Money::from_cents(state.total_cents),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(customer: &str, at: &str, total_cents: i64) -> CustomerTicket {
        CustomerTicket {
            customer: customer.into(),
            shop_id: "SHOP".into(),
            at: at.parse().unwrap(),
            total_cents,
        }
    }

    #[test]
    fn a_customer_is_created_once_then_updated_per_ticket_from_the_stored_state() {
        let mut states = BTreeMap::new();
        let first = [
            ticket("C1", "2026-03-30T10:00:00Z", 1000),
            ticket("C2", "2026-03-30T11:00:00Z", 500),
            ticket("C1", "2026-03-30T12:00:00Z", -300),
        ];
        let events = apply(&mut states, &first);
        let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(
            types,
            [
                CUSTOMER_CREATED_TYPE,
                CUSTOMER_CREATED_TYPE,
                CUSTOMER_UPDATED_TYPE
            ]
        );
        assert_eq!(events[2].id, "customer/C1/2");
        assert_eq!(events[2].envelope["data"]["total"], "7.00");
        // A later upload starts from the stored state; an older ticket keeps the latest time.
        let later = [ticket("C1", "2026-03-29T09:00:00Z", 200)];
        let events = apply(&mut states, &later);
        assert_eq!(events[0].event_type, CUSTOMER_UPDATED_TYPE);
        let c1 = &states["C1"];
        assert_eq!((c1.tickets, c1.total_cents, c1.version), (3, 900, 3));
        assert_eq!(c1.last_purchase_at, "2026-03-30T12:00:00.000000Z");
        assert_eq!(c1.first_seen_at, "2026-03-30T10:00:00.000000Z");
    }

    /// Applies an upload of a till of `shop` received on 2026-04-01 (after every test change).
    fn upload(
        states: &mut BTreeMap<String, CustomerState>,
        shop: &str,
        uploaded: &[Customer],
    ) -> (Vec<OutboxEvent>, Vec<Customer>) {
        let now = "2026-04-01T00:00:00Z".parse().unwrap();
        let applied = apply_contacts(states, &ContactOrigin::new(shop, "T1", now), now, uploaded);
        assert!(
            applied.alarms.is_empty(),
            "every test change is in the past"
        );
        (applied.events, applied.changed)
    }

    fn contact(name: &str, updated_at: &str) -> Customer {
        Customer {
            id: "C1".into(),
            name: name.into(),
            phone: Some("+33612345678".into()),
            email: None,
            created_at: "2026-03-29T09:00:00Z".parse().unwrap(),
            updated_at: updated_at.parse().unwrap(),
        }
    }

    #[test]
    fn contact_details_are_events_and_the_later_change_wins() {
        let mut states = BTreeMap::new();
        let (events, changed) = upload(
            &mut states,
            "SHOP",
            &[contact("Zoé", "2026-03-29T09:00:00Z")],
        );
        assert_eq!(changed.len(), 1);
        assert_eq!(events[0].event_type, CUSTOMER_CREATED_TYPE);
        let data = &events[0].envelope["data"];
        assert_eq!(data["name"], "Zoé");
        assert_eq!(data["phone"], "+33612345678");
        assert_eq!(data["email"], serde_json::Value::Null);
        assert_eq!(data["last_purchase_at"], serde_json::Value::Null);
        assert_eq!(data["first_seen_at"], "2026-03-29T09:00:00.000000Z");
        assert_eq!(events[0].envelope["time"], "2026-03-29T09:00:00.000000Z");

        // A ticket then carries the details; an older or repeated upload changes nothing.
        let events = apply(&mut states, &[ticket("C1", "2026-03-30T10:00:00Z", 1000)]);
        assert_eq!(events[0].event_type, CUSTOMER_UPDATED_TYPE);
        assert_eq!(events[0].envelope["data"]["name"], "Zoé");
        assert_eq!(events[0].envelope["data"]["tickets"], 1);
        let (events, changed) = upload(
            &mut states,
            "SHOP",
            &[
                contact("Zoé", "2026-03-29T09:00:00Z"),
                contact("Old", "2026-03-28T09:00:00Z"),
            ],
        );
        assert!(events.is_empty() && changed.is_empty());

        let (events, _) = upload(
            &mut states,
            "OTHER",
            &[contact("Zoé Martin", "2026-03-31T09:00:00Z")],
        );
        assert_eq!(events[0].id, "customer/C1/3");
        assert_eq!(events[0].envelope["data"]["name"], "Zoé Martin");
        assert_eq!(events[0].envelope["data"]["first_shop"], "SHOP");
        assert_eq!(events[0].envelope["data"]["total"], "10.00");
        assert_eq!(events[0].envelope["time"], "2026-03-31T09:00:00.000000Z");
    }

    #[test]
    fn scrubbing_removes_the_contact_details_only() {
        let mut states = BTreeMap::new();
        let (events, _) = upload(
            &mut states,
            "SHOP",
            &[contact("Zoé", "2026-03-29T09:00:00Z")],
        );
        let mut envelope = events[0].envelope.clone();
        assert!(scrub(&mut envelope));
        assert_eq!(envelope["data"]["name"], serde_json::Value::Null);
        assert_eq!(envelope["data"]["phone"], serde_json::Value::Null);
        assert_eq!(envelope["data"]["customer"], "C1");
        assert_eq!(envelope["data"]["first_shop"], "SHOP");
        assert!(!scrub(&mut envelope), "nothing left to scrub");
        assert_eq!(erased_event("C1").envelope["subject"], "customers/C1");
    }

    #[test]
    fn a_customer_first_seen_on_a_ticket_gets_details_later() {
        let mut states = BTreeMap::new();
        let events = apply(&mut states, &[ticket("C1", "2026-03-30T10:00:00Z", 500)]);
        assert_eq!(events[0].event_type, CUSTOMER_CREATED_TYPE);
        assert_eq!(events[0].envelope["data"]["name"], serde_json::Value::Null);
        let (events, _) = upload(
            &mut states,
            "SHOP",
            &[contact("Zoé", "2026-03-29T09:00:00Z")],
        );
        assert_eq!(events[0].event_type, CUSTOMER_UPDATED_TYPE);
        assert_eq!(events[0].envelope["data"]["name"], "Zoé");
        assert_eq!(
            events[0].envelope["time"], "2026-03-30T10:00:00.000000Z",
            "the purchase is the latest fact"
        );
    }

    #[test]
    fn a_change_dated_past_head_offices_clock_is_stored_as_of_now_with_an_alarm() {
        let now: DateTime<Utc> = "2026-04-01T00:00:00Z".parse().unwrap();
        let mut states = BTreeMap::new();
        let origin = ContactOrigin::new("OTHER", "OTHER-1", now);
        let pinned = contact("Pinned", "2999-01-01T00:00:00Z");
        let applied = apply_contacts(&mut states, &origin, now, &[pinned]);
        assert_eq!(
            applied.changed[0].updated_at, now,
            "a change dated in 2999 is stored as made when head office received it"
        );
        assert_eq!(applied.alarms.len(), 1, "and it is alarmed");
        assert_eq!(applied.alarms[0].customer, "C1");
        let alarm = applied.alarms[0].event(&origin);
        assert_eq!(alarm.envelope["data"]["kind"], CLOCK_ALARM_KIND);
        assert_eq!(alarm.envelope["data"]["till"], "OTHER-1");
        assert_eq!(
            applied.events[0].envelope["data"]["details_shop"], "OTHER",
            "the change is recorded with the shop that made it"
        );

        // The real shop's change a minute later wins.
        let later = now + chrono::Duration::minutes(1);
        let real = contact("Zoé", "2026-04-01T00:01:00Z");
        let applied = apply_contacts(
            &mut states,
            &ContactOrigin::new("SHOP", "SHOP-1", later),
            later,
            std::slice::from_ref(&real),
        );
        assert_eq!(applied.changed, vec![real], "the later genuine change wins");

        // Within the allowed skew, a till's time is kept as it is.
        let ahead = contact("Ahead", "2026-04-01T00:05:00Z");
        let (kept, alarm) = bound_to_clock(&ahead, now);
        assert_eq!((kept, alarm), (ahead, None));
    }
}
