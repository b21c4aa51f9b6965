//! Head office's stock, per shop and product: on hand, in transit towards the shop, reserved
//! for click & collect orders waiting there, and available to promise (on hand − reserved).
//! Every change is a [`Movement`] with a kind and the record (or web order) it comes from, so
//! a figure is explained line by line, and conservation holds by construction: a line's
//! on hand is the sum of its movements' `on_hand` (initial + receipts + transfers in −
//! transfers out + returns − sales ± count adjustments), its in transit and reserved likewise.
//!
//! Movements come from the tickets (a sale takes its goods off the shelves, a return or
//! cancellation puts them back, an exchange does both) and from the `stock` chain's
//! operations ([`pos_domain::stock::StockOperation::effects`]): goods receipts, transfers out
//! (in transit at the destination) and in, and counts. A count is resolved here against the
//! stock *at the moment it started*: the adjustment is `counted − (on hand now − what moved
//! after the start)`, so sales made while the shelf was counted are not lost; a movement dated
//! before the latest count of its line that arrives after it (a till offline during the
//! count) is already in what was counted, so it is recorded with its compensating
//! adjustment and leaves the level as counted.
//!
//! A product whose stock is not kept (a service, a fee: [`pos_domain::product::StockKeeping`])
//! has no line: what a record or an order asks of it is left out before it is applied.
//!
//! Each movement makes one event under the subject `shops/<shop>/stock/<product>` (in order
//! per product), with the change and the levels after it. Pure: both backends write the same
//! rows.

use std::collections::BTreeMap;

use pos_domain::record::{Chain, timestamp};
use pos_domain::stock::{Effect, MovementKind, ShopRef, StockOperation, StockUnit};
use pos_domain::ticket::{Quantity, Ticket, TicketKind};
use pos_domain::web_order::WebOrder;
use serde_json::json;

use crate::events::OutboxEvent;
use crate::ingest::{Accepted, AlarmKind, NewAlarm};

/// A shop's stock of a product moved.
pub const STOCK_CHANGED_TYPE: &str = "pos.stock.level.changed";
/// A delivery or transfer arrived with differences (missing, extra, damaged): for logistics.
pub const DIFFERENCES_TYPE: &str = "pos.stock.differences.reported";

/// A stock line: a product in a shop, counted in `units` or `grams`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StockKey {
    pub shop_id: String,
    pub product_id: String,
    pub unit: &'static str,
}

impl StockKey {
    pub fn new(shop_id: &str, product_id: &str, unit: StockUnit) -> StockKey {
        StockKey {
            shop_id: shop_id.to_string(),
            product_id: product_id.to_string(),
            unit: unit.name(),
        }
    }
}

/// The unit name as stored (`units` or `grams`), as the static name a [`StockKey`] holds.
pub fn unit_name(stored: &str) -> &'static str {
    if stored == "grams" { "grams" } else { "units" }
}

/// A stock line as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// On hand.
    pub level: i64,
    pub in_transit: i64,
    pub reserved: i64,
    /// Movements so far.
    pub version: i64,
    /// The start of the latest count applied (canonical UTC), if any.
    pub counted_at: Option<String>,
}

impl Stored {
    /// What the web shop may promise: on hand, less what waits for click & collect orders.
    pub fn available(&self) -> i64 {
        (self.level - self.reserved).max(0)
    }
}

/// One change to a stock line, with where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub key: StockKey,
    pub kind: MovementKind,
    pub on_hand: i64,
    pub in_transit: i64,
    pub reserved: i64,
    /// `tills/<till>/<chain>/<seq>` or `web_orders/<id>`.
    pub source: String,
    /// When it happened (the source's time, canonical UTC); a count adjustment is dated at the
    /// count's start.
    pub at: String,
    pub reason: Option<String>,
}

/// What an upload asks of the stock, in record order: a movement, or a count to resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Planned {
    Move(Movement),
    Count {
        key: StockKey,
        counted: i64,
        /// The count's start, canonical UTC.
        started_at: String,
        count_id: String,
        source: String,
    },
}

impl Planned {
    pub fn key(&self) -> &StockKey {
        match self {
            Planned::Move(m) => &m.key,
            Planned::Count { key, .. } => key,
        }
    }
}

/// The products of the stock lines `keys`, each once: the ones to ask whether their stock is
/// kept (see [`pos_domain::product::StockKeeping`]).
pub fn products<'a>(keys: impl Iterator<Item = &'a StockKey>) -> Vec<&'a str> {
    let products: std::collections::BTreeSet<&str> =
        keys.map(|key| key.product_id.as_str()).collect();
    products.into_iter().collect()
}

/// The source name of a record.
pub fn record_source(till: &str, chain: Chain, seq: u64) -> String {
    format!("tills/{till}/{chain}/{seq}")
}

/// A ticket's changes to on hand, one per product and unit it touches (negative: out of
/// stock). A line giving back an earlier ticket's line puts its goods back; any other line
/// sells them, so an exchange moves both ways (and nets out when the same product goes back
/// and out).
pub fn movements(shop_id: &str, ticket: &Ticket) -> Vec<(StockKey, i64)> {
    let mut moved: BTreeMap<StockKey, i64> = BTreeMap::new();
    for line in &ticket.lines {
        let sign: i64 = if line.is_returned() { 1 } else { -1 };
        let (unit, amount) = match line.quantity {
            Quantity::Units(n) => (StockUnit::Units, n),
            Quantity::Grams(g) => (StockUnit::Grams, g),
        };
        *moved
            .entry(StockKey::new(shop_id, &line.product_id, unit))
            .or_default() += sign * i64::from(amount);
    }
    moved
        .into_iter()
        .filter(|(_, change)| *change != 0)
        .collect()
}

/// [`movements`] of an accepted ticket, with their kind and source.
pub fn ticket_movements(shop_id: &str, accepted: &Accepted, ticket: &Ticket) -> Vec<Planned> {
    let record = &accepted.record.record;
    let kind = match ticket.kind {
        TicketKind::Sale => MovementKind::Sale,
        TicketKind::Return | TicketKind::Cancellation => MovementKind::Return,
        TicketKind::Exchange => MovementKind::Exchange,
    };
    let source = record_source(&record.till, record.chain, accepted.seq);
    let at = timestamp::format(&record.at);
    movements(shop_id, ticket)
        .into_iter()
        .map(|(key, on_hand)| {
            Planned::Move(Movement {
                key,
                kind,
                on_hand,
                in_transit: 0,
                reserved: 0,
                source: source.clone(),
                at: at.clone(),
                reason: None,
            })
        })
        .collect()
}

/// The operation of a `stock`-chain record, or the alarm of one this server cannot read.
pub fn read_operation(accepted: &Accepted) -> Result<StockOperation, NewAlarm> {
    let record = &accepted.record.record;
    serde_json::from_value::<StockOperation>(record.payload.clone())
        .map_err(|e| e.to_string())
        .and_then(|op| op.check().map(|_| op).map_err(|e| e.to_string()))
        .map_err(|e| NewAlarm {
            chain: record.chain,
            seq: accepted.seq,
            kind: AlarmKind::PayloadUnreadable,
            reason: format!("stored, but left out of the shop's stock: {e}"),
            received: accepted.record.stored.clone(),
            received_hash: accepted.hash.clone(),
        })
}

/// What a `stock`-chain operation of a till of `shop_id` asks of the stock.
pub fn operation_movements(
    shop_id: &str,
    accepted: &Accepted,
    operation: &StockOperation,
) -> Vec<Planned> {
    let record = &accepted.record.record;
    let source = record_source(&record.till, record.chain, accepted.seq);
    let at = timestamp::format(&record.at);
    operation
        .effects(shop_id)
        .into_iter()
        .map(|effect| match effect {
            Effect::Move {
                shop,
                product_id,
                unit,
                kind,
                on_hand,
                in_transit,
            } => {
                let shop = match &shop {
                    ShopRef::Own => shop_id,
                    ShopRef::Other(other) => other.as_str(),
                };
                Planned::Move(Movement {
                    key: StockKey::new(shop, &product_id, unit),
                    kind,
                    on_hand,
                    in_transit,
                    reserved: 0,
                    source: source.clone(),
                    at: at.clone(),
                    reason: None,
                })
            }
            Effect::Count {
                product_id,
                unit,
                counted,
                started_at,
            } => Planned::Count {
                key: StockKey::new(shop_id, &product_id, unit),
                counted: i64::from(counted),
                started_at: timestamp::format(&started_at),
                count_id: operation.id().to_string(),
                source: source.clone(),
            },
        })
        .collect()
}

/// The event telling logistics what a delivery or transfer arrived with, if it differs from
/// what was announced or sent.
pub fn differences_reported(
    shop_id: &str,
    accepted: &Accepted,
    operation: &StockOperation,
) -> Option<OutboxEvent> {
    let (lines, asn, from) = match operation {
        StockOperation::GoodsReceipt(r) => (&r.lines, r.asn.as_deref(), None),
        StockOperation::TransferIn(t) => (&t.lines, None, Some(t.from_shop.as_str())),
        _ => return None,
    };
    // Without a notice nothing was announced: only damaged goods are a difference.
    let announced = asn.is_some() || from.is_some();
    let differing: Vec<_> = lines
        .iter()
        .filter(|l| {
            if announced {
                l.has_difference()
            } else {
                l.damaged > 0
            }
        })
        .map(|l| {
            json!({
                "product": l.product_id, "unit": l.unit.name(), "expected": l.expected,
                "received": l.received, "missing": l.missing(), "extra": l.extra(),
                "damaged": l.damaged,
            })
        })
        .collect();
    if differing.is_empty() {
        return None;
    }
    let record = &accepted.record.record;
    let source = record_source(&record.till, record.chain, accepted.seq);
    Some(OutboxEvent::new(
        format!("stock-differences/{source}"),
        DIFFERENCES_TYPE,
        format!("/shops/{shop_id}"),
        format!("shops/{shop_id}/receipts/{}", operation.id()),
        timestamp::format(&record.at),
        json!({
            "shop": shop_id, "operation": operation.kind(), "id": operation.id(),
            "asn": asn, "from_shop": from, "source": source, "lines": differing,
        }),
    ))
}

/// The source name of a web order's reservation.
pub fn order_source(order_id: &str) -> String {
    format!("web_orders/{order_id}")
}

/// The products a click & collect order asks for, each once.
pub fn order_products(order: &WebOrder) -> Vec<&str> {
    let products: std::collections::BTreeSet<&str> =
        order.lines.iter().map(|l| l.product_id.as_str()).collect();
    products.into_iter().collect()
}

/// The reservation of a click & collect order at its pickup shop: one movement per product,
/// reserving what it asks for, except for the products whose stock is not kept (`not_kept`).
pub fn reservation(
    order: &WebOrder,
    not_kept: &std::collections::BTreeSet<String>,
) -> Vec<Movement> {
    let mut wanted: BTreeMap<StockKey, i64> = BTreeMap::new();
    for line in order
        .lines
        .iter()
        .filter(|l| !not_kept.contains(&l.product_id))
    {
        *wanted
            .entry(StockKey::new(
                &order.shop,
                &line.product_id,
                StockUnit::Units,
            ))
            .or_default() += i64::from(line.quantity);
    }
    wanted
        .into_iter()
        .map(|(key, quantity)| Movement {
            key,
            kind: MovementKind::Reservation,
            on_hand: 0,
            in_transit: 0,
            reserved: quantity,
            source: order_source(&order.id),
            at: order.placed_at.clone(),
            reason: None,
        })
        .collect()
}

/// What a reservation asks beyond what the shop may promise, as a message per product (empty:
/// everything is available).
pub fn shortfalls(stored: &BTreeMap<StockKey, Stored>, reservation: &[Movement]) -> Vec<String> {
    reservation
        .iter()
        .filter_map(|m| {
            let available = stored.get(&m.key).map_or(0, Stored::available);
            (m.reserved > available).then(|| {
                format!(
                    "{}: {} wanted, {} available at {}",
                    m.key.product_id, m.reserved, available, m.key.shop_id
                )
            })
        })
        .collect()
}

/// How the orders a till's records moved end their reservations: a handover (whole or
/// partial) consumes, a refusal or cancellation releases; each with whether it was paid online.
pub fn reservation_ends(orders: &[WebOrder]) -> Vec<(String, MovementKind, bool)> {
    use pos_domain::web_order::{OrderState, PaymentState};
    orders
        .iter()
        .filter_map(|o| {
            let kind = match o.state {
                OrderState::Collected | OrderState::PartiallyCollected => {
                    MovementKind::ReservationConsumed
                }
                OrderState::Refused | OrderState::Cancelled => MovementKind::ReservationReleased,
                _ => return None,
            };
            Some((o.id.clone(), kind, o.payment == PaymentState::PaidOnline))
        })
        .collect()
}

/// The refusal of an order its pickup shop may not promise.
pub fn unavailable_message(shop: &str, shortfalls: &[String]) -> String {
    format!(
        "shop {shop} cannot promise this order ({}): nothing was reserved or placed; order \
         fewer, or choose another pickup shop (GET /api/v1/stock/available says what each \
         shop may promise)",
        shortfalls.join("; ")
    )
}

/// Ends what an order still holds (`held`: its reserved quantity per line): released (a
/// cancellation or refusal) or consumed (a handover); a consumption of an order paid online,
/// which no ticket sells, also takes the goods off the shelves.
pub fn end_reservation(
    order_id: &str,
    held: &BTreeMap<StockKey, i64>,
    kind: MovementKind,
    paid_online: bool,
    at: &str,
) -> Vec<Movement> {
    held.iter()
        .filter(|(_, quantity)| **quantity != 0)
        .map(|(key, quantity)| Movement {
            key: key.clone(),
            kind,
            on_hand: if kind == MovementKind::ReservationConsumed && paid_online {
                -quantity
            } else {
                0
            },
            in_transit: 0,
            reserved: -quantity,
            source: order_source(order_id),
            at: at.to_string(),
            reason: None,
        })
        .collect()
}

/// What happened to a handset, by its IMEI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialEvent {
    /// Received in good condition (a delivery, a transfer arriving) or returned: in stock.
    InStock,
    Sold,
    /// Sent to another shop.
    Sent,
}

/// A handset's IMEI moved, with the record that moved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialMove {
    pub imei: String,
    pub product_id: String,
    /// The shop it is at (or goes to) afterwards.
    pub shop_id: String,
    pub event: SerialEvent,
    pub source: String,
    /// The record's time, canonical UTC.
    pub at: String,
    pub chain: Chain,
    pub seq: u64,
    pub hash: String,
}

/// A handset as head office holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialState {
    pub product_id: String,
    pub shop_id: String,
    /// `in_stock`, `sold` or `in_transit`.
    pub state: &'static str,
    pub source: String,
    /// When the record that moved it last was made (canonical UTC).
    pub at: String,
}

/// The state name as stored, as the static name a [`SerialState`] holds.
pub fn serial_state_name(stored: &str) -> &'static str {
    match stored {
        "sold" => "sold",
        "in_transit" => "in_transit",
        _ => "in_stock",
    }
}

fn serial_move(
    accepted: &Accepted,
    shop_id: &str,
    product_id: &str,
    imei: &pos_domain::codes::Imei,
    event: SerialEvent,
) -> SerialMove {
    let record = &accepted.record.record;
    SerialMove {
        imei: imei.to_string(),
        product_id: product_id.to_string(),
        shop_id: shop_id.to_string(),
        event,
        source: record_source(&record.till, record.chain, accepted.seq),
        at: timestamp::format(&record.at),
        chain: record.chain,
        seq: accepted.seq,
        hash: accepted.hash.clone(),
    }
}

/// The IMEIs a ticket moves: sold on its sold lines, back in stock on its returned lines.
pub fn ticket_serials(shop_id: &str, accepted: &Accepted, ticket: &Ticket) -> Vec<SerialMove> {
    ticket
        .lines
        .iter()
        .flat_map(|line| {
            let event = if line.is_returned() {
                SerialEvent::InStock
            } else {
                SerialEvent::Sold
            };
            line.serials
                .iter()
                .map(move |imei| serial_move(accepted, shop_id, &line.product_id, imei, event))
        })
        .collect()
}

/// The IMEIs a stock operation moves: received in stock here, or sent to another shop.
pub fn operation_serials(
    shop_id: &str,
    accepted: &Accepted,
    operation: &StockOperation,
) -> Vec<SerialMove> {
    match operation {
        StockOperation::GoodsReceipt(pos_domain::stock::GoodsReceipt { lines, .. })
        | StockOperation::TransferIn(pos_domain::stock::TransferIn { lines, .. }) => lines
            .iter()
            .flat_map(|l| {
                l.serials.iter().map(|imei| {
                    serial_move(accepted, shop_id, &l.product_id, imei, SerialEvent::InStock)
                })
            })
            .collect(),
        StockOperation::TransferOut(t) => t
            .lines
            .iter()
            .flat_map(|l| {
                l.serials.iter().map(|imei| {
                    serial_move(accepted, &t.to_shop, &l.product_id, imei, SerialEvent::Sent)
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Applies the upload's IMEI moves to the handsets held (`held`: those the moves name that
/// head office knows), in the order they happened (an upload sends chain by chain): a handset
/// is where its latest move put it, whenever that move synced. A sale of a handset held as
/// sold raises one `imei_sold_twice` alarm, on the record of that sale.
pub fn apply_serials(
    held: &mut BTreeMap<String, SerialState>,
    moves: &[SerialMove],
) -> Vec<NewAlarm> {
    let mut ordered: Vec<&SerialMove> = moves.iter().collect();
    ordered.sort_by(|a, b| a.at.cmp(&b.at));
    let mut alarms = Vec::new();
    for m in ordered {
        let before = held.get(&m.imei);
        if m.event == SerialEvent::Sold
            && let Some(before) = before
            && before.state == "sold"
        {
            alarms.push(NewAlarm {
                chain: m.chain,
                seq: m.seq,
                kind: AlarmKind::ImeiSoldTwice,
                reason: format!(
                    "IMEI {} ({}) was sold by {} at shop {} but was already sold at shop {} by \
                     {}: check both handsets and tickets",
                    m.imei, m.product_id, m.source, m.shop_id, before.shop_id, before.source
                ),
                received: Vec::new(),
                received_hash: m.hash.clone(),
            });
        }
        if before.is_some_and(|b| b.at > m.at) {
            // An older move synced late: the handset is where the later one put it.
            continue;
        }
        let state = match m.event {
            SerialEvent::InStock => "in_stock",
            SerialEvent::Sold => "sold",
            SerialEvent::Sent => "in_transit",
        };
        held.insert(
            m.imei.clone(),
            SerialState {
                product_id: m.product_id.clone(),
                shop_id: m.shop_id.clone(),
                state,
                source: m.source.clone(),
                at: m.at.clone(),
            },
        );
    }
    alarms
}

/// The (line, count start) pairs of the counts `planned` asks to resolve: the caller reads
/// what each line moved after its start ([`apply`]'s `moved_after`).
pub fn count_starts(planned: &[Planned]) -> Vec<(StockKey, String)> {
    let mut starts: Vec<(StockKey, String)> = planned
        .iter()
        .filter_map(|p| match p {
            Planned::Count {
                key, started_at, ..
            } => Some((key.clone(), started_at.clone())),
            Planned::Move(_) => None,
        })
        .collect();
    starts.sort();
    starts.dedup();
    starts
}

/// What [`apply`] did: the movements to store, in order, and one event per line moved (see
/// [`level_changed`]).
#[derive(Debug, Default)]
pub struct Applied {
    pub movements: Vec<Movement>,
    pub events: Vec<OutboxEvent>,
}

/// Applies an upload's planned changes, in order, to the stored lines (`stored` holds every
/// line touched, default if new). `moved_after` holds, per (line, count start) of
/// [`count_starts`], the on-hand movements already stored dated after that start. Each line
/// moved gets one new version and one event for the whole upload, whatever the number of its
/// movements: a catch-up of thousands of tickets writes an event per product and shop, not
/// per ticket line, and each movement is still stored with its kind and source.
pub fn apply(
    stored: &mut BTreeMap<StockKey, Stored>,
    moved_after: &BTreeMap<(StockKey, String), i64>,
    planned: Vec<Planned>,
    time: &str,
) -> Applied {
    let mut applied = Applied::default();
    applied.movements.reserve(planned.len());
    for p in planned {
        match p {
            Planned::Move(m) => {
                let line = line_of(stored, &m.key);
                // Before the latest count of its line: already in what was counted.
                let compensation = (m.on_hand != 0)
                    .then_some(line.counted_at.as_deref())
                    .flatten()
                    .filter(|counted_at| m.at.as_str() < *counted_at)
                    .map(|counted_at| Movement {
                        kind: MovementKind::CountAdjustment,
                        on_hand: -m.on_hand,
                        in_transit: 0,
                        reserved: 0,
                        reason: Some(format!(
                            "made before the count started at {counted_at}: already counted"
                        )),
                        ..m.clone()
                    });
                push(line, m, &mut applied);
                if let Some(compensation) = compensation {
                    push(line, compensation, &mut applied);
                }
            }
            Planned::Count {
                key,
                counted,
                started_at,
                count_id,
                source,
            } => {
                let after_here: i64 = applied
                    .movements
                    .iter()
                    .filter(|m| m.key == key && m.at.as_str() > started_at.as_str())
                    .map(|m| m.on_hand)
                    .sum();
                let held_after = moved_after
                    .get(&(key.clone(), started_at.clone()))
                    .copied()
                    .unwrap_or(0);
                let line = line_of(stored, &key);
                if line
                    .counted_at
                    .as_deref()
                    .is_some_and(|c| c >= started_at.as_str())
                {
                    // A later count of this line is already applied: it decides.
                    continue;
                }
                let at_start = line.level - held_after - after_here;
                let adjustment = counted - at_start;
                line.counted_at = Some(started_at.clone());
                let adjust = Movement {
                    key,
                    kind: MovementKind::CountAdjustment,
                    on_hand: adjustment,
                    in_transit: 0,
                    reserved: 0,
                    source,
                    at: started_at,
                    reason: Some(format!(
                        "count {count_id}: {counted} counted, {at_start} expected at its start"
                    )),
                };
                push(line, adjust, &mut applied);
            }
        }
    }
    // One version and one event per line moved, in the order the lines were first moved.
    let mut order: Vec<&StockKey> = Vec::new();
    let mut by_line: BTreeMap<&StockKey, Vec<&Movement>> = BTreeMap::new();
    for m in &applied.movements {
        by_line
            .entry(&m.key)
            .or_insert_with(|| {
                order.push(&m.key);
                Vec::new()
            })
            .push(m);
    }
    let events = order
        .into_iter()
        .map(|key| {
            let line = stored.entry(key.clone()).or_default();
            line.version += 1;
            level_changed(key, &by_line[key], line, time)
        })
        .collect();
    applied.events = events;
    applied
}

/// The stored line of `key`, made (empty) if new; the key is copied only then.
fn line_of<'a>(stored: &'a mut BTreeMap<StockKey, Stored>, key: &StockKey) -> &'a mut Stored {
    if !stored.contains_key(key) {
        stored.insert(key.clone(), Stored::default());
    }
    stored.get_mut(key).expect("inserted above")
}

/// Applies one movement to its line and records it.
fn push(line: &mut Stored, movement: Movement, applied: &mut Applied) {
    line.level += movement.on_hand;
    line.in_transit += movement.in_transit;
    line.reserved += movement.reserved;
    applied.movements.push(movement);
}

/// A movement as its event lists it: what is zero or absent is left out (a ticket's movement,
/// nearly every one, changes on hand only), so a catch-up's events stay small.
#[derive(serde::Serialize)]
struct MovementData<'a> {
    kind: &'static str,
    source: &'a str,
    at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    change: i64,
    #[serde(skip_serializing_if = "is_zero")]
    in_transit_change: i64,
    #[serde(skip_serializing_if = "is_zero")]
    reserved_change: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl<'a> MovementData<'a> {
    fn of(m: &'a Movement) -> MovementData<'a> {
        MovementData {
            kind: m.kind.name(),
            source: &m.source,
            at: &m.at,
            reason: m.reason.as_deref(),
            change: m.on_hand,
            in_transit_change: m.in_transit,
            reserved_change: m.reserved,
        }
    }
}

/// The event of the movements of one line within an upload (or a web order's step), at
/// `time` (RFC 3339): each movement with its kind and source, their net changes, and the line
/// after them.
pub fn level_changed(
    key: &StockKey,
    movements: &[&Movement],
    line: &Stored,
    time: &str,
) -> OutboxEvent {
    let id = format!(
        "stock/{}/{}/{}/{}",
        key.shop_id, key.product_id, key.unit, line.version
    );
    let subject = format!("shops/{}/stock/{}", key.shop_id, key.product_id);
    let net = |part: fn(&Movement) -> i64| movements.iter().map(|m| part(m)).sum::<i64>();
    OutboxEvent::new(
        id,
        STOCK_CHANGED_TYPE,
        format!("/shops/{}", key.shop_id),
        subject,
        time,
        json!({
            "shop": key.shop_id,
            "product": key.product_id,
            "unit": key.unit,
            "movements": serde_json::to_value(
                movements.iter().map(|m| MovementData::of(m)).collect::<Vec<_>>()
            ).expect("movements serialize"),
            "change": net(|m| m.on_hand),
            "in_transit_change": net(|m| m.in_transit),
            "reserved_change": net(|m| m.reserved),
            "level": line.level,
            "in_transit": line.in_transit,
            "reserved": line.reserved,
            "available": line.available(),
            "version": line.version,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(product: &str) -> StockKey {
        StockKey::new("SHOP", product, StockUnit::Units)
    }

    fn mv(product: &str, kind: MovementKind, on_hand: i64, at: &str) -> Planned {
        Planned::Move(Movement {
            key: key(product),
            kind,
            on_hand,
            in_transit: 0,
            reserved: 0,
            source: format!("tills/T/ticket/{at}"),
            at: at.into(),
            reason: None,
        })
    }

    fn count(product: &str, counted: i64, started_at: &str) -> Planned {
        Planned::Count {
            key: key(product),
            counted,
            started_at: started_at.into(),
            count_id: "C-T-1".into(),
            source: "tills/T/stock/2".into(),
        }
    }

    const T: &str = "2026-03-30T10:00:00.000000Z";

    #[test]
    fn movements_apply_in_order_from_the_stored_level() {
        let mut stored = BTreeMap::new();
        stored.insert(
            key("A"),
            Stored {
                level: -5,
                version: 4,
                ..Default::default()
            },
        );
        let planned = [
            mv("A", MovementKind::Sale, -2, T),
            mv("B", MovementKind::GoodsReceipt, 10, T),
            mv("A", MovementKind::Return, 1, T),
        ];
        let applied = apply(&mut stored, &BTreeMap::new(), planned.to_vec(), T);
        let data: Vec<_> = applied.events.iter().map(|e| &e.envelope["data"]).collect();
        assert_eq!(applied.movements.len(), 3, "each movement is kept");
        assert_eq!(data.len(), 2, "one event per line moved");
        assert_eq!(
            (
                data[0]["level"].as_i64(),
                data[0]["change"].as_i64(),
                data[0]["version"].as_i64()
            ),
            (Some(-6), Some(-1), Some(5)),
            "the line after both its movements, one version further"
        );
        assert_eq!(data[0]["movements"][0]["kind"], "sale");
        assert_eq!(data[0]["movements"][1]["change"], 1);
        assert_eq!(data[1]["movements"][0]["kind"], "goods_receipt");
        assert_eq!(applied.events[0].id, "stock/SHOP/A/units/5");
        assert_eq!(applied.events[0].subject, "shops/SHOP/stock/A");
        assert_eq!(stored[&key("A")].level, -6);
        assert_eq!(unit_name("grams"), "grams");
    }

    #[test]
    fn a_count_adjusts_against_the_stock_at_its_start() {
        // 10 received; a count starts at 11:00; a sale at 11:10 (already held) and one at
        // 11:20 (in this upload, before the count's finish); 8 counted on the shelf at 11:00.
        let mut stored = BTreeMap::new();
        stored.insert(
            key("A"),
            Stored {
                level: 9,
                version: 2,
                ..Default::default()
            },
        );
        let start = "2026-03-30T11:00:00.000000Z";
        let mut moved_after = BTreeMap::new();
        moved_after.insert((key("A"), start.to_string()), -1);
        let planned = [
            mv("A", MovementKind::Sale, -1, "2026-03-30T11:20:00.000000Z"),
            count("A", 8, start),
        ];
        let applied = apply(&mut stored, &moved_after, planned.to_vec(), T);
        assert_eq!(
            applied.movements[1].on_hand, -2,
            "10 at the start, 8 counted: 2 lost; the sales during the count are not"
        );
        assert_eq!(
            stored[&key("A")].level,
            6,
            "8 counted less the 2 sold since"
        );
        // A sale made before the count, synced after it, is already counted.
        let late = [mv(
            "A",
            MovementKind::Sale,
            -1,
            "2026-03-30T10:30:00.000000Z",
        )];
        let applied = apply(&mut stored, &moved_after, late.to_vec(), T);
        assert_eq!(applied.movements.len(), 2, "the sale and its compensation");
        assert_eq!(
            stored[&key("A")].level,
            6,
            "the count decided that sale's effect"
        );
    }

    mod conservation {
        use super::*;
        use proptest::prelude::*;

        /// A random operation on one of three products: a movement of any kind, or a count
        /// started at some minute with what was counted.
        fn op() -> impl Strategy<Value = Planned> {
            let kinds = prop_oneof![
                Just(MovementKind::Sale),
                Just(MovementKind::Return),
                Just(MovementKind::GoodsReceipt),
                Just(MovementKind::TransferOut),
                Just(MovementKind::TransferIn),
            ];
            prop_oneof![
                (0..3usize, kinds, -20i64..20, 0..60u32, -5i64..5).prop_map(
                    |(p, kind, on_hand, minute, transit)| Planned::Move(Movement {
                        key: key(["A", "B", "C"][p]),
                        kind,
                        on_hand,
                        in_transit: transit,
                        reserved: 0,
                        source: "tills/T/ticket/1".into(),
                        at: format!("2026-03-30T10:{minute:02}:00.000000Z"),
                        reason: None,
                    })
                ),
                (0..3usize, 0..40i64, 0..60u32).prop_map(|(p, counted, minute)| {
                    Planned::Count {
                        key: key(["A", "B", "C"][p]),
                        counted,
                        started_at: format!("2026-03-30T10:{minute:02}:30.000000Z"),
                        count_id: "C".into(),
                        source: "tills/T/stock/1".into(),
                    }
                }),
            ]
        }

        proptest! {
            /// However operations and counts interleave and however they are split into
            /// uploads, every line's on hand and in transit are the sums of its movements, and
            /// its version the number of uploads that moved it.
            #[test]
            fn every_level_is_the_sum_of_its_movements(
                ops in proptest::collection::vec(op(), 0..60),
                cut in 0..60usize,
            ) {
                let mut stored: BTreeMap<StockKey, Stored> = BTreeMap::new();
                let mut all: Vec<Movement> = Vec::new();
                let mut uploads_moving: BTreeMap<StockKey, i64> = BTreeMap::new();
                let cut = cut.min(ops.len());
                for upload in [&ops[..cut], &ops[cut..]] {
                    let mut moved_after = BTreeMap::new();
                    for (k, start) in count_starts(upload) {
                        let sum: i64 = all
                            .iter()
                            .filter(|m| m.key == k && m.at > start)
                            .map(|m| m.on_hand)
                            .sum();
                        moved_after.insert((k, start), sum);
                    }
                    let applied = apply(&mut stored, &moved_after, upload.to_vec(), T);
                    let moved: std::collections::BTreeSet<&StockKey> = applied.movements.iter().map(|m| &m.key).collect();
                    prop_assert_eq!(applied.events.len(), moved.len(), "one event per line moved");
                    for k in moved {
                        *uploads_moving.entry(k.clone()).or_default() += 1;
                    }
                    all.extend(applied.movements);
                }
                for (k, line) in &stored {
                    let mine: Vec<&Movement> = all.iter().filter(|m| &m.key == k).collect();
                    prop_assert_eq!(line.level, mine.iter().map(|m| m.on_hand).sum::<i64>(),
                        "on hand is the sum of the movements of {:?}", k);
                    prop_assert_eq!(line.in_transit, mine.iter().map(|m| m.in_transit).sum::<i64>());
                    prop_assert_eq!(line.version, uploads_moving.get(k).copied().unwrap_or(0),
                        "one version per upload that moved {:?}", k);
                }
            }
        }
    }
}
