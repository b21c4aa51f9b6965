//! Per-shop stock levels for the web shop's pickup availability, moved by the tickets on
//! ingest: a sale takes its quantities out of the shop's stock, a return or cancellation puts
//! them back, an exchange does both (its returned lines back, its new lines out). One event per ticket and product it moved, carrying the change and
//! the level after it, under the subject `shops/<shop>/stock/<product>` (in order per product).
//!
//! Levels count from zero when the server first sees a product sold in a shop: they are the
//! net movements from sales, in units, or in grams for products sold by weight.

use std::collections::BTreeMap;

use pos_domain::ticket::{Quantity, Ticket};
use serde_json::json;

use crate::events::OutboxEvent;

/// A shop's stock of a product moved.
pub const STOCK_CHANGED_TYPE: &str = "pos.stock.level.changed";

/// A stock line: a product in a shop, counted in `units` or `grams`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StockKey {
    pub shop_id: String,
    pub product_id: String,
    pub unit: &'static str,
}

/// The unit name as stored (`units` or `grams`), as the static name a [`StockKey`] holds.
pub fn unit_name(stored: &str) -> &'static str {
    if stored == "grams" { "grams" } else { "units" }
}

/// A ticket's movements, one per product and unit it touches (negative: out of stock).
/// A line giving back an earlier ticket's line puts its goods back; any other line sells them,
/// so an exchange moves both ways (and nets out when the same product goes back and out).
pub fn movements(shop_id: &str, ticket: &Ticket) -> Vec<(StockKey, i64)> {
    let mut moved: BTreeMap<StockKey, i64> = BTreeMap::new();
    for line in &ticket.lines {
        let sign: i64 = if line.is_returned() { 1 } else { -1 };
        let (unit, amount) = match line.quantity {
            Quantity::Units(n) => ("units", n),
            Quantity::Grams(g) => ("grams", g),
        };
        *moved
            .entry(StockKey {
                shop_id: shop_id.to_string(),
                product_id: line.product_id.clone(),
                unit,
            })
            .or_default() += sign * i64::from(amount);
    }
    moved
        .into_iter()
        .filter(|(_, change)| *change != 0)
        .collect()
}

/// A stock line as stored: its level and the number of movements so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    pub level: i64,
    pub version: i64,
}

/// Applies an upload's movements, in ticket order, to the stored lines (`stored` holds every
/// line moved, default if new) and returns one event per movement, at `time`. Per ticket,
/// so the events are the same however the till batches its uploads.
pub fn apply(
    stored: &mut BTreeMap<StockKey, Stored>,
    movements: &[(StockKey, i64)],
    time: &str,
) -> Vec<OutboxEvent> {
    let mut events = Vec::new();
    for (key, change) in movements {
        let line = stored.entry(key.clone()).or_default();
        line.level += change;
        line.version += 1;
        events.push(level_changed(
            &StockLevel {
                key: key.clone(),
                change: *change,
                level: line.level,
                version: line.version,
            },
            time,
        ));
    }
    events
}

/// A stock line after a movement; `version` counts its movements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockLevel {
    pub key: StockKey,
    pub change: i64,
    pub level: i64,
    pub version: i64,
}

/// The event of a stock movement, at `time` (RFC 3339).
pub fn level_changed(level: &StockLevel, time: &str) -> OutboxEvent {
    let k = &level.key;
    let id = format!(
        "stock/{}/{}/{}/{}",
        k.shop_id, k.product_id, k.unit, level.version
    );
    let subject = format!("shops/{}/stock/{}", k.shop_id, k.product_id);
    OutboxEvent::new(
        id,
        STOCK_CHANGED_TYPE,
        format!("/shops/{}", k.shop_id),
        subject,
        time,
        json!({
            "shop": k.shop_id,
            "product": k.product_id,
            "unit": k.unit,
            "change": level.change,
            "level": level.level,
            "version": level.version,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(product: &str, unit: &'static str) -> StockKey {
        StockKey {
            shop_id: "SHOP".into(),
            product_id: product.into(),
            unit,
        }
    }

    #[test]
    fn movements_apply_in_order_from_the_stored_level() {
        let mut stored = BTreeMap::new();
        stored.insert(
            key("A", "units"),
            Stored {
                level: -5,
                version: 4,
            },
        );
        let moves = [
            (key("A", "units"), -2),
            (key("B", "grams"), -350),
            (key("A", "units"), 1),
        ];
        let events = apply(&mut stored, &moves, "2026-03-30T10:00:00.000000Z");
        let data: Vec<_> = events.iter().map(|e| &e.envelope["data"]).collect();
        assert_eq!(
            (data[0]["level"].as_i64(), data[0]["version"].as_i64()),
            (Some(-7), Some(5))
        );
        assert_eq!(
            (data[1]["level"].as_i64(), data[1]["unit"].as_str()),
            (Some(-350), Some("grams"))
        );
        assert_eq!(
            (data[2]["level"].as_i64(), data[2]["change"].as_i64()),
            (Some(-6), Some(1))
        );
        assert_eq!(events[2].id, "stock/SHOP/A/units/6");
        assert_eq!(events[2].subject, "shops/SHOP/stock/A");
        assert_eq!(
            stored[&key("A", "units")],
            Stored {
                level: -6,
                version: 6
            }
        );
        assert_eq!(unit_name("grams"), "grams");
        assert_eq!(unit_name("units"), "units");
    }
}
