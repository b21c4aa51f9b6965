//! Stock on PostgreSQL: the ingest's stock verbs (lines, movements, what moved after a count's
//! start), each one statement over arrays, and [`StockStore`]'s reads, over `stock_levels` and
//! the append-only `stock_movements` (migration `0021_stock.sql`). The ingest reads and writes
//! lines under the outbox lock, as it does customers; so do the reservations of click &
//! collect orders, made, released and consumed in the transaction that moves the order (two
//! orders racing for the last unit are answered one after the other).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
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
use tokio_postgres::Row;

use crate::{OUTBOX_LOCK, PgStore};

/// Products per query of [`StockStore::stock_matrix`] over many shops. The queries of one
/// question run at once, each on its own connection, so PostgreSQL and the decoding share the cores (100
/// products at 600 shops: p50 about 26 ms in 4 queries against 41 ms in one); one query of
/// 100 products is also costed past PostgreSQL's `jit_above_cost`, and compiling it took
/// longer than running it.
const MATRIX_PRODUCTS_PER_QUERY: usize = 25;

/// A product's lines as one row of arrays, in the order of `stock_levels_by_product`: the
/// product, then per line its shop, whether it counts grams, its on hand and its reserved
/// (100 rows of arrays cost far less to send and decode than 60,000 rows). A product without
/// any line has no row.
const LINES_BY_PRODUCT: &str = "
    SELECT p.id, l.shops, l.grams, l.levels, l.reserved
      FROM unnest($1::TEXT[]) AS p(id)
      CROSS JOIN LATERAL (
           SELECT array_agg(shop_id) AS shops, array_agg(unit = 'grams') AS grams,
                  array_agg(level) AS levels, array_agg(reserved) AS reserved
             FROM stock_levels
            WHERE product_id = p.id) AS l
     WHERE l.shops IS NOT NULL";

/// [`LINES_BY_PRODUCT`] at the shops named in `$2` only.
const LINES_BY_PRODUCT_AT_SHOPS: &str = "
    SELECT p.id, l.shops, l.grams, l.levels, l.reserved
      FROM unnest($1::TEXT[]) AS p(id)
      CROSS JOIN LATERAL (
           SELECT array_agg(shop_id) AS shops, array_agg(unit = 'grams') AS grams,
                  array_agg(level) AS levels, array_agg(reserved) AS reserved
             FROM stock_levels
            WHERE product_id = p.id AND shop_id = ANY($2::TEXT[])) AS l
     WHERE l.shops IS NOT NULL";

impl PgStore {
    /// The rows of [`LINES_BY_PRODUCT`] for `products`, at `shops` when given (else at every
    /// shop).
    async fn lines_by_product(
        &self,
        products: &[String],
        shops: Option<&[String]>,
    ) -> Result<Vec<Row>> {
        let client = self.pool.get().await?;
        Ok(match shops {
            Some(shops) => {
                let statement = client.prepare_cached(LINES_BY_PRODUCT_AT_SHOPS).await?;
                client.query(&statement, &[&products, &shops]).await?
            }
            None => {
                let statement = client.prepare_cached(LINES_BY_PRODUCT).await?;
                client.query(&statement, &[&products]).await?
            }
        })
    }
}

/// Adds a row of [`LINES_BY_PRODUCT`] to `matrix`; the ids are borrowed from the row, not
/// copied.
fn add_product_lines(matrix: &mut MatrixBuilder, row: &Row) {
    let Some(product) = matrix.product(row.get(0)) else {
        return;
    };
    let shops: Vec<&str> = row.get(1);
    let grams: Vec<bool> = row.get(2);
    let levels: Vec<i64> = row.get(3);
    let reserved: Vec<i64> = row.get(4);
    for (((shop, grams), level), reserved) in shops.into_iter().zip(grams).zip(levels).zip(reserved)
    {
        if let Some(shop) = matrix.shop(shop) {
            let unit = if grams { "grams" } else { "units" };
            matrix.add(product, shop, unit, level, reserved);
        }
    }
}

/// A transaction of the pool.
type PgTx<'a> = deadpool_postgres::Transaction<'a>;

fn key_of(r: &Row) -> StockKey {
    StockKey {
        shop_id: r.get(0),
        product_id: r.get(1),
        unit: stock::unit_name(r.get(2)),
    }
}

/// The stored lines among `keys`.
pub(crate) async fn lines(
    tx: &impl GenericClient,
    keys: &[&StockKey],
) -> Result<BTreeMap<StockKey, Stored>> {
    let shops: Vec<&str> = keys.iter().map(|k| k.shop_id.as_str()).collect();
    let products: Vec<&str> = keys.iter().map(|k| k.product_id.as_str()).collect();
    let units: Vec<&str> = keys.iter().map(|k| k.unit).collect();
    Ok(tx
        .query(
            &tx.prepare_cached("SELECT DISTINCT s.shop_id, s.product_id, s.unit, s.level, s.in_transit, s.reserved,
                    s.version, s.counted_at
             FROM stock_levels s JOIN UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[]) AS u(shop, product, unit)
               ON s.shop_id = u.shop AND s.product_id = u.product AND s.unit = u.unit").await?,
            &[&shops, &products, &units],
        )
        .await?
        .iter()
        .map(|r| {
            let stored = Stored {
                level: r.get(3),
                in_transit: r.get(4),
                reserved: r.get(5),
                version: r.get(6),
                counted_at: r.get(7),
            };
            (key_of(r), stored)
        })
        .collect())
}

pub(crate) async fn save_lines(
    tx: &impl GenericClient,
    lines: &BTreeMap<StockKey, Stored>,
) -> Result<()> {
    let l: Vec<(&StockKey, &Stored)> = lines.iter().collect();
    tx.execute(
        &tx.prepare_cached("INSERT INTO stock_levels (shop_id, product_id, unit, level, in_transit, reserved, version, counted_at)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[],
                              $6::BIGINT[], $7::BIGINT[], $8::TEXT[])
         ON CONFLICT (shop_id, product_id, unit) DO UPDATE SET
           level = excluded.level, in_transit = excluded.in_transit, reserved = excluded.reserved,
           version = excluded.version, counted_at = excluded.counted_at").await?,
        &[
            &l.iter().map(|(k, _)| k.shop_id.as_str()).collect::<Vec<_>>(),
            &l.iter().map(|(k, _)| k.product_id.as_str()).collect::<Vec<_>>(),
            &l.iter().map(|(k, _)| k.unit).collect::<Vec<_>>(),
            &l.iter().map(|(_, s)| s.level).collect::<Vec<_>>(),
            &l.iter().map(|(_, s)| s.in_transit).collect::<Vec<_>>(),
            &l.iter().map(|(_, s)| s.reserved).collect::<Vec<_>>(),
            &l.iter().map(|(_, s)| s.version).collect::<Vec<_>>(),
            &l.iter().map(|(_, s)| s.counted_at.as_deref()).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn moved_after(
    tx: &impl GenericClient,
    starts: &[(StockKey, String)],
) -> Result<BTreeMap<(StockKey, String), i64>> {
    let shops: Vec<&str> = starts.iter().map(|(k, _)| k.shop_id.as_str()).collect();
    let products: Vec<&str> = starts.iter().map(|(k, _)| k.product_id.as_str()).collect();
    let units: Vec<&str> = starts.iter().map(|(k, _)| k.unit).collect();
    let ats: Vec<&str> = starts.iter().map(|(_, at)| at.as_str()).collect();
    Ok(tx
        .query(
            &tx.prepare_cached("SELECT u.shop, u.product, u.unit, u.start, sum(m.on_hand)::BIGINT
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[]) AS u(shop, product, unit, start)
             JOIN stock_movements m
               ON m.shop_id = u.shop AND m.product_id = u.product AND m.unit = u.unit AND m.at > u.start
             GROUP BY u.shop, u.product, u.unit, u.start").await?,
            &[&shops, &products, &units, &ats],
        )
        .await?
        .iter()
        .map(|r| ((key_of(r), r.get::<_, String>(3)), r.get::<_, i64>(4)))
        .collect())
}

/// Appends movements by binary `COPY`, PostgreSQL's bulk path: a catch-up stores one per ticket
/// line (an upload of 500 tickets, about 1,200 movements: 6-10 ms against 8-15 ms for one
/// `INSERT` of arrays, BENCHMARKS.md).
pub(crate) async fn insert_movements(
    tx: &PgTx<'_>,
    movements: &[Movement],
    recorded_at: &str,
) -> Result<()> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::{ToSql, Type};
    const COLUMNS: [Type; 11] = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ];
    if movements.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            &tx.prepare_cached("COPY stock_movements (shop_id, product_id, unit, kind, on_hand, in_transit, reserved,
               source, at, reason, recorded_at) FROM STDIN BINARY").await?,
        )
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &COLUMNS);
    futures_util::pin_mut!(writer);
    for m in movements {
        let row: [&(dyn ToSql + Sync); 11] = [
            &m.key.shop_id,
            &m.key.product_id,
            &m.key.unit,
            &m.kind.name(),
            &m.on_hand,
            &m.in_transit,
            &m.reserved,
            &m.source,
            &m.at,
            &m.reason,
            &recorded_at,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// Whether head office manages `shop`'s stock: it has recorded a delivery, a transfer in or a
/// count there. A shop not yet on stock management takes web orders without reservations.
async fn managed(tx: &PgTx<'_>, shop: &str) -> Result<bool> {
    Ok(tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT 1 FROM stock_movements WHERE shop_id = $1
               AND kind IN ('goods_receipt', 'transfer_in', 'count_adjustment') LIMIT 1",
            )
            .await?,
            &[&shop],
        )
        .await?
        .is_some())
}

/// Applies `movements` to their lines, stores both and writes their events.
async fn write(tx: &PgTx<'_>, movements: Vec<Movement>, now: &str) -> Result<()> {
    let keys: Vec<&StockKey> = movements.iter().map(|m| &m.key).collect();
    let mut lines = lines(tx, &keys).await?;
    let planned: Vec<Planned> = movements.into_iter().map(Planned::Move).collect();
    let applied = stock::apply(&mut lines, &BTreeMap::new(), planned, now);
    save_lines(tx, &lines).await?;
    insert_movements(tx, &applied.movements, now).await?;
    crate::feed::write_events(tx, &applied.events).await
}

/// Reserves a newly placed order's goods at its pickup shop, or refuses it (nothing is
/// written) when the shop may not promise them.
pub(crate) async fn reserve(tx: &PgTx<'_>, order: &WebOrder, now: &str) -> Result<()> {
    tx.execute(
        &tx.prepare_cached("SELECT pg_advisory_xact_lock($1)")
            .await?,
        &[&OUTBOX_LOCK],
    )
    .await?;
    if !managed(tx, &order.shop).await? {
        return Ok(());
    }
    let not_kept = not_kept(tx, &stock::order_products(order)).await?;
    let movements = stock::reservation(order, &not_kept);
    if movements.is_empty() {
        return Ok(());
    }
    let keys: Vec<&StockKey> = movements.iter().map(|m| &m.key).collect();
    let short = stock::shortfalls(&lines(tx, &keys).await?, &movements);
    if !short.is_empty() {
        return Err(StoreError::StockUnavailable(stock::unavailable_message(
            &order.shop,
            &short,
        )));
    }
    write(tx, movements, now).await
}

/// The products among `ids` whose stock is not kept (see [`stock::products`]).
pub(crate) async fn not_kept(tx: &impl GenericClient, ids: &[&str]) -> Result<BTreeSet<String>> {
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let rows = tx
        .query(
            &tx.prepare_cached(
                "SELECT key FROM distribution WHERE kind = $1 AND shop_id = $2 AND key = ANY($3)
                AND data::jsonb ->> 'stock' = 'not_kept'",
            )
            .await?,
            &[&kinds::PRODUCT, &EVERY_SHOP, &ids],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// What each of the orders `order_ids` still holds reserved, per line.
pub(crate) async fn reserved_for(
    tx: &impl GenericClient,
    order_ids: &[String],
) -> Result<BTreeMap<String, BTreeMap<StockKey, i64>>> {
    let sources: Vec<String> = order_ids.iter().map(|id| stock::order_source(id)).collect();
    let mut out: BTreeMap<String, BTreeMap<StockKey, i64>> = BTreeMap::new();
    for r in tx
        .query(
            &tx.prepare_cached("SELECT shop_id, product_id, unit, sum(reserved)::BIGINT, source FROM stock_movements
              WHERE source = ANY($1::TEXT[]) AND reserved <> 0
              GROUP BY shop_id, product_id, unit, source").await?,
            &[&sources],
        )
        .await?
    {
        let source: String = r.get(4);
        let id = source.trim_start_matches("web_orders/").to_string();
        out.entry(id).or_default().insert(key_of(&r), r.get(3));
    }
    Ok(out)
}

/// Ends what order `order_id` still holds (see [`stock::end_reservation`]).
pub(crate) async fn end_reservation(
    tx: &PgTx<'_>,
    order_id: &str,
    kind: MovementKind,
    paid_online: bool,
    now: &str,
) -> Result<()> {
    tx.execute(
        &tx.prepare_cached("SELECT pg_advisory_xact_lock($1)")
            .await?,
        &[&OUTBOX_LOCK],
    )
    .await?;
    let held = reserved_for(tx, &[order_id.to_string()])
        .await?
        .remove(order_id)
        .unwrap_or_default();
    let movements = stock::end_reservation(order_id, &held, kind, paid_online, now);
    if movements.is_empty() {
        return Ok(());
    }
    write(tx, movements, now).await
}

/// The handsets among `imeis` head office holds.
pub(crate) async fn serials(
    tx: &impl GenericClient,
    imeis: &[String],
) -> Result<BTreeMap<String, stock::SerialState>> {
    Ok(tx
        .query(
            &tx.prepare_cached(
                "SELECT imei, product_id, shop_id, state, source, at FROM stock_serials
              WHERE imei = ANY($1::TEXT[])",
            )
            .await?,
            &[&imeis],
        )
        .await?
        .iter()
        .map(|r| {
            let state: String = r.get(3);
            let held = stock::SerialState {
                product_id: r.get(1),
                shop_id: r.get(2),
                state: stock::serial_state_name(&state),
                source: r.get(4),
                at: r.get(5),
            };
            (r.get::<_, String>(0), held)
        })
        .collect())
}

pub(crate) async fn save_serials(
    tx: &impl GenericClient,
    serials: &BTreeMap<String, stock::SerialState>,
) -> Result<()> {
    let s: Vec<(&String, &stock::SerialState)> = serials.iter().collect();
    tx.execute(
        &tx.prepare_cached("INSERT INTO stock_serials (imei, product_id, shop_id, state, source, at)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[])
         ON CONFLICT (imei) DO UPDATE SET product_id = excluded.product_id,
           shop_id = excluded.shop_id, state = excluded.state, source = excluded.source,
           at = excluded.at").await?,
        &[
            &s.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
            &s.iter()
                .map(|(_, v)| v.product_id.as_str())
                .collect::<Vec<_>>(),
            &s.iter()
                .map(|(_, v)| v.shop_id.as_str())
                .collect::<Vec<_>>(),
            &s.iter().map(|(_, v)| v.state).collect::<Vec<_>>(),
            &s.iter().map(|(_, v)| v.source.as_str()).collect::<Vec<_>>(),
            &s.iter().map(|(_, v)| v.at.as_str()).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

fn level(r: &Row) -> StockLevel {
    level_from(
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
    )
}

#[async_trait]
impl StockStore for PgStore {
    async fn stock_levels(&self, shops: &[String], products: &[String]) -> Result<Vec<StockLevel>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT shop_id, product_id, unit, level, in_transit, reserved, version
                   FROM stock_levels
                  WHERE product_id = ANY($1::TEXT[])
                    AND (cardinality($2::TEXT[]) = 0 OR shop_id = ANY($2::TEXT[]))",
                &[&products, &shops],
            )
            .await?;
        Ok(in_shop_order(rows.iter().map(level).collect()))
    }

    async fn stock_matrix(&self, shops: &[String], products: &[String]) -> Result<AvailableMatrix> {
        let mut matrix = MatrixBuilder::new(products, shops);
        let named = (shops.len() <= FEW_SHOPS).then_some(shops);
        // Few shops make a small answer: one query.
        let per_query = match named {
            Some(_) => products.len().max(1),
            None => MATRIX_PRODUCTS_PER_QUERY,
        };
        let answers = futures_util::future::try_join_all(
            products
                .chunks(per_query)
                .map(|chunk| self.lines_by_product(chunk, named)),
        )
        .await?;
        for row in answers.iter().flatten() {
            add_product_lines(&mut matrix, row);
        }
        Ok(matrix.finish())
    }

    async fn stock_movements(
        &self,
        shop_id: &str,
        product_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StockMovementRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, shop_id, product_id, unit, kind, on_hand, in_transit, reserved, source,
                        at, reason, recorded_at
                   FROM stock_movements
                  WHERE shop_id = $1 AND ($2::TEXT IS NULL OR product_id = $2) AND id > $3
                  ORDER BY id LIMIT $4",
                &[&shop_id, &product_id, &after, &i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StockMovementRow {
                id: r.get(0),
                shop_id: r.get(1),
                product_id: r.get(2),
                unit: r.get(3),
                kind: r.get(4),
                on_hand: r.get(5),
                in_transit: r.get(6),
                reserved: r.get(7),
                source: r.get(8),
                at: r.get(9),
                reason: r.get(10),
                recorded_at: r.get(11),
            })
            .collect())
    }
}
