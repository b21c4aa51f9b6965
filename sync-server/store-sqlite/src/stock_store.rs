//! Stock on SQLite: the ingest's stock verbs (lines, movements, what moved after a count's
//! start) and [`StockStore`]'s reads, over `stock_levels` and the append-only
//! `stock_movements` (migration `0021_stock.sql`); the reservations of click & collect
//! orders, made, released and consumed in the transaction that moves the order.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use pos_domain::stock::MovementKind;
use pos_domain::web_order::WebOrder;
use pos_domain::wire::kinds;
use pos_hq_core::distribution::EVERY_SHOP;
use pos_hq_core::stock::{self, Movement, Planned, StockKey, Stored};
use pos_hq_store::stock::{
    AvailableMatrix, FEW_SHOPS, MatrixBuilder, StockLevel, StockMovementRow, StockStore,
    in_shop_order, level_from,
};
use pos_hq_store::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;

/// The products among `ids` whose stock is not kept (see [`stock::products`]).
pub(crate) fn not_kept(tx: &Connection, ids: &[&str]) -> Result<BTreeSet<String>> {
    let mut get = tx.prepare_cached(
        "SELECT 1 FROM distribution WHERE kind = ?1 AND shop_id = ?2 AND key = ?3
            AND json_extract(data, '$.stock') = 'not_kept'",
    )?;
    let mut out = BTreeSet::new();
    for id in ids {
        if get.exists(params![kinds::PRODUCT, EVERY_SHOP, id])? {
            out.insert(id.to_string());
        }
    }
    Ok(out)
}

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

/// Movements per statement of [`insert_movements`]: a catch-up stores a movement per ticket
/// line, and one statement of many rows is stepped once where as many statements of one row
/// are each bound, stepped and reset.
const MOVEMENTS_PER_INSERT: usize = 64;

/// The statement inserting `rows` movements.
fn insert_movements_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO stock_movements (shop_id, product_id, unit, kind, on_hand, in_transit,
           reserved, source, at, reason, recorded_at) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?)");
    }
    sql
}

pub(crate) fn insert_movements(
    tx: &Connection,
    movements: &[Movement],
    recorded_at: &str,
) -> Result<()> {
    static FULL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| insert_movements_sql(MOVEMENTS_PER_INSERT));
    for chunk in movements.chunks(MOVEMENTS_PER_INSERT) {
        let kinds: Vec<&str> = chunk.iter().map(|m| m.kind.name()).collect();
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 11);
        for (m, kind) in chunk.iter().zip(&kinds) {
            values.extend([
                &m.key.shop_id as &dyn rusqlite::ToSql,
                &m.key.product_id,
                &m.key.unit,
                kind,
                &m.on_hand,
                &m.in_transit,
                &m.reserved,
                &m.source,
                &m.at,
                &m.reason,
                &recorded_at,
            ]);
        }
        // The last, shorter chunk of each upload has a length of its own: not worth caching.
        let mut insert = if chunk.len() == MOVEMENTS_PER_INSERT {
            tx.prepare_cached(&FULL)?
        } else {
            tx.prepare_cached(&insert_movements_sql(chunk.len()))?
        };
        insert.execute(values.as_slice())?;
        if chunk.len() != MOVEMENTS_PER_INSERT {
            insert.discard();
        }
    }
    Ok(())
}

/// Whether head office manages `shop`'s stock: it has recorded a delivery, a transfer in or a
/// count there. A shop not yet on stock management takes web orders without reservations.
fn managed(tx: &Connection, shop: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM stock_movements WHERE shop_id = ?1
               AND kind IN ('goods_receipt', 'transfer_in', 'count_adjustment') LIMIT 1",
        )?
        .query_row([shop], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Applies `movements` to their lines, stores both and writes their events.
fn write(tx: &Connection, movements: Vec<Movement>, now: &str) -> Result<()> {
    let keys: Vec<&StockKey> = movements.iter().map(|m| &m.key).collect();
    let mut lines = lines(tx, &keys)?;
    let planned: Vec<Planned> = movements.into_iter().map(Planned::Move).collect();
    let applied = stock::apply(&mut lines, &BTreeMap::new(), planned, now);
    save_lines(tx, &lines)?;
    insert_movements(tx, &applied.movements, now)?;
    crate::feed::write_events(tx, applied.events.iter())
}

/// Reserves a newly placed order's goods at its pickup shop, or refuses it (nothing is
/// written) when the shop may not promise them.
pub(crate) fn reserve(tx: &Connection, order: &WebOrder, now: &str) -> Result<()> {
    if !managed(tx, &order.shop)? {
        return Ok(());
    }
    let not_kept = not_kept(tx, &stock::order_products(order))?;
    let movements = stock::reservation(order, &not_kept);
    if movements.is_empty() {
        return Ok(());
    }
    let keys: Vec<&StockKey> = movements.iter().map(|m| &m.key).collect();
    let short = stock::shortfalls(&lines(tx, &keys)?, &movements);
    if !short.is_empty() {
        return Err(StoreError::StockUnavailable(stock::unavailable_message(
            &order.shop,
            &short,
        )));
    }
    write(tx, movements, now)
}

/// What order `order_id` still holds reserved, per line.
pub(crate) fn reserved_for(tx: &Connection, order_id: &str) -> Result<BTreeMap<StockKey, i64>> {
    let mut held = BTreeMap::new();
    let mut stmt = tx.prepare_cached(
        "SELECT shop_id, product_id, unit, sum(reserved) FROM stock_movements
          WHERE source = ?1 AND reserved <> 0 GROUP BY shop_id, product_id, unit",
    )?;
    let mut rows = stmt.query([stock::order_source(order_id)])?;
    while let Some(r) = rows.next()? {
        let unit: String = r.get(2)?;
        let key = StockKey {
            shop_id: r.get(0)?,
            product_id: r.get(1)?,
            unit: stock::unit_name(&unit),
        };
        held.insert(key, r.get::<_, i64>(3)?);
    }
    Ok(held)
}

/// Ends what order `order_id` still holds (see [`stock::end_reservation`]).
pub(crate) fn end_reservation(
    tx: &Connection,
    order_id: &str,
    kind: MovementKind,
    paid_online: bool,
    now: &str,
) -> Result<()> {
    let held = reserved_for(tx, order_id)?;
    let movements = stock::end_reservation(order_id, &held, kind, paid_online, now);
    if movements.is_empty() {
        return Ok(());
    }
    write(tx, movements, now)
}

/// The handsets among `imeis` head office holds.
pub(crate) fn serials(
    tx: &Connection,
    imeis: &[String],
) -> Result<BTreeMap<String, stock::SerialState>> {
    let mut get = tx.prepare_cached(
        "SELECT product_id, shop_id, state, source, at FROM stock_serials WHERE imei = ?1",
    )?;
    let mut out = BTreeMap::new();
    for imei in imeis {
        let held = get
            .query_row([imei], |r| {
                let state: String = r.get(2)?;
                Ok(stock::SerialState {
                    product_id: r.get(0)?,
                    shop_id: r.get(1)?,
                    state: stock::serial_state_name(&state),
                    source: r.get(3)?,
                    at: r.get(4)?,
                })
            })
            .optional()?;
        if let Some(held) = held {
            out.insert(imei.clone(), held);
        }
    }
    Ok(out)
}

pub(crate) fn save_serials(
    tx: &Connection,
    serials: &BTreeMap<String, stock::SerialState>,
) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT INTO stock_serials (imei, product_id, shop_id, state, source, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (imei) DO UPDATE SET product_id = excluded.product_id,
           shop_id = excluded.shop_id, state = excluded.state, source = excluded.source,
           at = excluded.at",
    )?;
    for (imei, s) in serials {
        put.execute(params![
            imei,
            s.product_id,
            s.shop_id,
            s.state,
            s.source,
            s.at
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
                    AND (json_array_length(?2) = 0 OR shop_id IN (SELECT value FROM json_each(?2)))",
            )?;
            Ok(in_shop_order(
                stmt.query_map(params![products, shops], level)?
                    .collect::<rusqlite::Result<_>>()?,
            ))
        })
        .await
    }

    async fn stock_matrix(&self, shops: &[String], products: &[String]) -> Result<AvailableMatrix> {
        let mut matrix = MatrixBuilder::new(products, shops);
        let products = serde_json::to_string(products).unwrap_or_default();
        // Few shops are named in the query, many left out by the builder (see FEW_SHOPS).
        let few =
            (shops.len() <= FEW_SHOPS).then(|| serde_json::to_string(shops).unwrap_or_default());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(if few.is_some() {
                "SELECT product_id, shop_id, unit, level, reserved
                   FROM stock_levels
                  WHERE product_id IN (SELECT value FROM json_each(?1))
                    AND shop_id IN (SELECT value FROM json_each(?2))"
            } else {
                "SELECT product_id, shop_id, unit, level, reserved
                   FROM stock_levels
                  WHERE product_id IN (SELECT value FROM json_each(?1))"
            })?;
            let mut rows = match &few {
                Some(shops) => stmt.query(params![products, shops])?,
                None => stmt.query(params![products])?,
            };
            // The ids are borrowed from the row, not copied: the builder numbers them.
            while let Some(r) = rows.next()? {
                let text = |i: usize| r.get_ref(i).and_then(|v| Ok(v.as_str()?));
                matrix.add_named(text(0)?, text(1)?, text(2)?, r.get(3)?, r.get(4)?);
            }
            Ok(matrix.finish())
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
