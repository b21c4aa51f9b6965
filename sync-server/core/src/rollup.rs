//! Sales rollups, maintained on ingest so head-office reports never scan ticket lines.
//!
//! One row per shop, local day, dimension and key, holding the number of tickets, the quantity
//! and the amounts including and excluding VAT, in cents. Dimensions:
//!
//! - `total` (key empty): whole tickets; amounts excluding VAT from the ticket's per-rate VAT
//!   breakdown, the authoritative figure (specs/fiscal.md);
//! - `product`, `category`, `seller` (key `-` when no seller): from the lines; amounts excluding
//!   VAT from the line totals excluding VAT, which are indicative and may differ from the
//!   per-rate figure by a cent per ticket;
//! - `tender`: what each means of payment took, net of the change given back in cash;
//! - `till` (key the till id): whole tickets per till, in the shop's rows only (not
//!   chain-wide): the days each till sold on, which the fleet compares with its day closures.
//!
//! Each row of the other dimensions exists per shop and chain-wide (`shop_id` [`ALL_SHOPS`]).
//!
//! The day is the local date in the record's time zone. Returns and cancellations carry negative
//! amounts and count negative quantities; an exchange counts its returned lines like a return's
//! and its new lines like a sale's, and its net difference in `total` and `tender`. Every ticket
//! counts once per key it touches. Training
//! tickets are never rolled up (they are in their own chain).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pos_domain::Money;
use pos_domain::record::{Chain, SignedRecord};
use pos_domain::tender::TenderKind;
use pos_domain::ticket::{Quantity, Ticket, TicketLine};
use serde::Deserialize;

/// The `shop_id` of chain-wide rows: every ticket is added to its shop's row and to the
/// chain-wide row, so chain-wide reports read one row per day and key, not one per shop.
/// Shop ids never take this value (see the admin command's id rules).
pub const ALL_SHOPS: &str = "*";

/// The dimensions a rollup row can belong to.
pub const DIMENSIONS: [&str; 6] = ["total", "product", "category", "seller", "tender", TILL];

/// The dimension of a till's own totals per local day (key: the till id), kept in its shop's
/// rows only: the fleet reads from it the days a till sold on, to find those it never closed.
pub const TILL: &str = "till";

/// The key of a rollup row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub shop_id: String,
    /// Local date, `YYYY-MM-DD`.
    pub day: String,
    pub dimension: &'static str,
    pub key: String,
}

/// Amounts added to a rollup row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupDelta {
    pub tickets: i64,
    pub quantity: i64,
    pub amount_cents: i64,
    pub excluding_vat_cents: i64,
}

impl std::ops::AddAssign for RollupDelta {
    fn add_assign(&mut self, other: RollupDelta) {
        self.tickets += other.tickets;
        self.quantity += other.quantity;
        self.amount_cents += other.amount_cents;
        self.excluding_vat_cents += other.excluding_vat_cents;
    }
}

/// Why a record could not be rolled up (its signature verified, but the payload is not a
/// ticket this server understands).
#[derive(Clone, Debug, thiserror::Error)]
#[error("ticket {seq}: payload is not a ticket: {reason}")]
pub struct RollupError {
    pub seq: u64,
    pub reason: String,
}

/// Adds the rollup rows of one record to `into` (pre-aggregated, so each row is written once
/// per upload). Records of chains other than `ticket` add nothing.
pub fn add_record(
    shop_id: &str,
    signed: &SignedRecord,
    into: &mut BTreeMap<RollupKey, RollupDelta>,
) -> Result<(), RollupError> {
    if let Some(ticket) = parse_ticket(signed)? {
        add_ticket_record(shop_id, signed, &ticket, into);
    }
    Ok(())
}

/// A record's payload read as a ticket (see [`parse_ticket`]).
pub type ParsedTicket = Result<Option<Ticket>, RollupError>;

/// The ticket of a record of the `ticket` chain (`None` for other chains).
pub fn parse_ticket(signed: &SignedRecord) -> ParsedTicket {
    let record = &signed.record;
    if record.chain != Chain::Ticket {
        return Ok(None);
    }
    Ticket::deserialize(&record.payload)
        .map(Some)
        .map_err(|e| RollupError {
            seq: record.seq,
            reason: e.to_string(),
        })
}

/// Adds the rollup rows of a ticket already read from its record.
pub fn add_ticket_record(
    shop_id: &str,
    signed: &SignedRecord,
    ticket: &Ticket,
    into: &mut BTreeMap<RollupKey, RollupDelta>,
) {
    let record = &signed.record;
    let tz: Tz = record.tz.parse().unwrap_or(Tz::UTC);
    let day = record.at.with_timezone(&tz).date_naive().to_string();
    add_ticket(shop_id, &day, ticket, into);
    add_till_day(shop_id, &day, &record.till, ticket, into);
}

/// The days of `days` (`YYYY-MM-DD`) before the current local day of a shop in `timezone`:
/// those a till should have closed by now (the day in progress is not late).
pub fn days_to_close(days: Vec<String>, timezone: &str, now: DateTime<Utc>) -> Vec<String> {
    let tz: Tz = timezone.parse().unwrap_or(Tz::UTC);
    let today = now.with_timezone(&tz).date_naive().to_string();
    days.into_iter().filter(|day| *day < today).collect()
}

/// Adds a ticket to its till's row of the day ([`TILL`]), in its shop's rows only.
fn add_till_day(
    shop_id: &str,
    day: &str,
    till_id: &str,
    ticket: &Ticket,
    into: &mut BTreeMap<RollupKey, RollupDelta>,
) {
    let excluding_vat: Money = ticket.vat.iter().map(|v| v.excluding_vat).sum();
    *into
        .entry(RollupKey {
            shop_id: shop_id.to_string(),
            day: day.to_string(),
            dimension: TILL,
            key: till_id.to_string(),
        })
        .or_default() += RollupDelta {
        tickets: 1,
        quantity: 0,
        amount_cents: ticket.total.cents(),
        excluding_vat_cents: excluding_vat.cents(),
    };
}

fn add_ticket(
    shop_id: &str,
    day: &str,
    ticket: &Ticket,
    into: &mut BTreeMap<RollupKey, RollupDelta>,
) {
    // Quantities are signed per line: a returned line (of a return, a cancellation or an
    // exchange) counts negative, a sold line positive.
    let sign = |line: &TicketLine| -> i64 { if line.is_returned() { -1 } else { 1 } };
    let mut rows: BTreeMap<(&'static str, String), RollupDelta> = BTreeMap::new();
    let excluding_vat: Money = ticket.vat.iter().map(|v| v.excluding_vat).sum();
    let quantity_of = |q: Quantity| match q {
        Quantity::Units(n) => i64::from(n),
        Quantity::Grams(_) => 1,
    };
    let total_quantity: i64 = ticket
        .lines
        .iter()
        .map(|l| sign(l) * quantity_of(l.quantity))
        .sum();
    rows.insert(
        ("total", String::new()),
        RollupDelta {
            tickets: 0,
            quantity: total_quantity,
            amount_cents: ticket.total.cents(),
            excluding_vat_cents: excluding_vat.cents(),
        },
    );
    for line in &ticket.lines {
        let delta = RollupDelta {
            tickets: 0,
            quantity: sign(line) * quantity_of(line.quantity),
            amount_cents: line.total.cents(),
            excluding_vat_cents: line.total_excluding_vat.cents(),
        };
        let seller = line.seller.clone().unwrap_or_else(|| "-".into());
        for key in [
            ("product", line.product_id.clone()),
            ("category", line.category.clone()),
            ("seller", seller),
        ] {
            *rows.entry(key).or_default() += delta;
        }
    }
    let mut tenders: BTreeMap<TenderKind, Money> = BTreeMap::new();
    for tender in &ticket.tenders {
        *tenders.entry(tender.kind).or_default() += tender.amount;
    }
    if ticket.change != Money::ZERO {
        *tenders.entry(TenderKind::Cash).or_default() -= ticket.change;
    }
    for (kind, amount) in tenders {
        let name = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *rows.entry(("tender", name)).or_default() += RollupDelta {
            amount_cents: amount.cents(),
            ..RollupDelta::default()
        };
    }
    for ((dimension, key), mut delta) in rows {
        delta.tickets = 1;
        for shop in [shop_id, ALL_SHOPS] {
            *into
                .entry(RollupKey {
                    shop_id: shop.to_string(),
                    day: day.to_string(),
                    dimension,
                    key: key.clone(),
                })
                .or_default() += delta;
        }
    }
}
