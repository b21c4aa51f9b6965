//! Stock on SQLite: the ingest's stock verbs (lines, movements, what moved after a count's
//! start) and [`StockStore`]'s reads, over `stock_levels` and the append-only
//! `stock_movements` (migration `0022_stock.sql`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use pos_hq_core::stock::{Movement, StockKey, Stored};
use pos_hq_store::Result;
use pos_hq_store::stock::{StockLevel, StockMovementRow, StockStore, level_from};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;

/// The stored lines among `keys`.
pub(crate) fn lines(tx: &Connection, keys: &[&StockKey]) -> Result<BTreeMap<StockKey, Stored>> {
    let mut get = tx.prepare_cached(
        "SELECT level, in_transit, reserved, version, counted_at FROM stock_levels
          WHERE shop_id = ?1 AND product_id = ?2 AND unit = ?3",
    )?;
    let mut lines = BTreeMap::new();
    for key in keys {
        if lines.contains_key(*key) {
            continue;
        }
        let stored = get
            .query_row(params![key.shop_id, key.product_id, key.unit], |r| {
                Ok(Stored {
                    level: r.get(0)?,
                    in_transit: r.get(1)?,
                    reserved: r.get(2)?,
                    version: r.get(3)?,
                    counted_at: r.get(4)?,
                })
            })
            .optional()?;
        if let Some(stored) = stored {
            lines.insert((*key).clone(), stored);
        }
    }
    Ok(lines)
}

pub(crate) fn save_lines(tx: &Connection, lines: &BTreeMap<StockKey, Stored>) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT INTO stock_levels (shop_id, product_id, unit, level, in_transit, reserved, version, counted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (shop_id, product_id, unit) DO UPDATE SET
           level = excluded.level, in_transit = excluded.in_transit, reserved = excluded.reserved,
           version = excluded.version, counted_at = excluded.counted_at",
    )?;
    for (key, line) in lines {
        put.execute(params![
            key.shop_id,
            key.product_id,
            key.unit,
            line.level,
            line.in_transit,
            line.reserved,
            line.version,
            line.counted_at
        ])?;
    }
    Ok(())
}

pub(crate) fn moved_after(
    tx: &Connection,
    starts: &[(StockKey, String)],
) -> Result<BTreeMap<(StockKey, String), i64>> {
    let mut sum = tx.prepare_cached(
        "SELECT sum(on_hand) FROM stock_movements
          WHERE shop_id = ?1 AND product_id = ?2 AND unit = ?3 AND at > ?4",
    )?;
    let mut out = BTreeMap::new();
    for (key, start) in starts {
        let moved: Option<i64> = sum
            .query_row(params![key.shop_id, key.product_id, key.unit, start], |r| {
                r.get(0)
            })?;
        if let Some(moved) = moved {
            out.insert((key.clone(), start.clone()), moved);
        }
    }
    Ok(out)
}

pub(crate) fn insert_movements(
    tx: &Connection,
    movements: &[Movement],
    recorded_at: &str,
) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT INTO stock_movements (shop_id, product_id, unit, kind, on_hand, in_transit, reserved,
           source, at, reason, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for m in movements {
        put.execute(params![
            m.key.shop_id,
            m.key.product_id,
            m.key.unit,
            m.kind.name(),
            m.on_hand,
            m.in_transit,
            m.reserved,
            m.source,
            m.at,
            m.reason,
            recorded_at
        ])?;
    }
    Ok(())
}

fn level(r: &rusqlite::Row<'_>) -> rusqlite::Result<StockLevel> {
    Ok(level_from(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

#[async_trait]
impl StockStore for SqliteStore {
    async fn stock_levels(&self, shops: &[String], products: &[String]) -> Result<Vec<StockLevel>> {
        let shops = serde_json::to_string(shops).unwrap_or_default();
        let products = serde_json::to_string(products).unwrap_or_default();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT shop_id, product_id, unit, level, in_transit, reserved, version
                   FROM stock_levels
                  WHERE product_id IN (SELECT value FROM json_each(?1))
                    AND (json_array_length(?2) = 0 OR shop_id IN (SELECT value FROM json_each(?2)))
                  ORDER BY shop_id, product_id, unit",
            )?;
            Ok(stmt
                .query_map(params![products, shops], level)?
                .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn stock_movements(
        &self,
        shop_id: &str,
        product_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StockMovementRow>> {
        let (shop_id, product_id) = (shop_id.to_string(), product_id.map(str::to_string));
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, shop_id, product_id, unit, kind, on_hand, in_transit, reserved, source,
                        at, reason, recorded_at
                   FROM stock_movements
                  WHERE shop_id = ?1 AND (?2 IS NULL OR product_id = ?2) AND id > ?3
                  ORDER BY id LIMIT ?4",
            )?;
            Ok(stmt
                .query_map(params![shop_id, product_id, after, limit], |r| {
                    Ok(StockMovementRow {
                        id: r.get(0)?,
                        shop_id: r.get(1)?,
                        product_id: r.get(2)?,
                        unit: r.get(3)?,
                        kind: r.get(4)?,
                        on_hand: r.get(5)?,
                        in_transit: r.get(6)?,
                        reserved: r.get(7)?,
                        source: r.get(8)?,
                        at: r.get(9)?,
                        reason: r.get(10)?,
                        recorded_at: r.get(11)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}
