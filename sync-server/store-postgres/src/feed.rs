//! The PostgreSQL side of distribution and web orders (see [`pos_hq_core::distribution`] and
//! [`pos_hq_core::web_orders`]): functions that run inside the caller's transaction.
//!
//! Versions come from the one-row `change_counter`, whose row lock is held to the end of the
//! writing transaction: writers of feed entries are serialized, so versions become visible in
//! increasing order and a till reading `version > since` never skips one committed late.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use pos_domain::record::timestamp;
use pos_domain::web_order::{self, WebOrder};

use pos_hq_core::distribution::{self, EVERY_SHOP, StoredChange, StoredPage, territory_scope};
use pos_hq_core::events::OutboxEvent;
use pos_hq_core::web_orders;
use pos_hq_store::{NewChange, Page, Placed, Placement, Result, ShopSelection, StoreError};

use crate::OUTBOX_LOCK;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// Rows per statement when writing many entries (a catalog import).
const CHUNK: usize = 10_000;

/// Writes feed entries with new versions; returns how many changed.
pub async fn put_changes(tx: &impl GenericClient, changes: &[NewChange]) -> Result<u64> {
    if changes.is_empty() {
        return Ok(0);
    }
    let last: i64 = tx
        .query_one(
            &tx.prepare_cached(
                "UPDATE change_counter SET version = version + $1 WHERE id = 1 RETURNING version",
            )
            .await?,
            &[&(changes.len() as i64)],
        )
        .await?
        .get(0);
    let first = last - changes.len() as i64 + 1;
    let mut changed = 0;
    for (chunk_index, chunk) in changes.chunks(CHUNK).enumerate() {
        let base = first + (chunk_index * CHUNK) as i64;
        let kinds: Vec<&str> = chunk.iter().map(|c| c.kind).collect();
        let shops: Vec<&str> = chunk.iter().map(|c| c.shop_id.as_str()).collect();
        let keys: Vec<&str> = chunk.iter().map(|c| c.key.as_str()).collect();
        let versions: Vec<i64> = (0..chunk.len() as i64).map(|i| base + i).collect();
        let data: Vec<Option<String>> = chunk
            .iter()
            .map(|c| c.data.as_ref().map(|d| d.to_string()))
            .collect();
        // Several entries of one key in a chunk: keep the last (ON CONFLICT cannot touch a
        // row twice in one statement).
        changed += tx
            .execute(
                &tx.prepare_cached("INSERT INTO distribution AS d (kind, shop_id, key, version, data)
                 SELECT DISTINCT ON (k, s, y) k, s, y, v, x
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[]) AS u(k, s, y, v, x)
                 ORDER BY k, s, y, v DESC
                 ON CONFLICT (kind, shop_id, key) DO UPDATE SET version = excluded.version, data = excluded.data
                 WHERE d.data IS DISTINCT FROM excluded.data").await?,
                &[&kinds, &shops, &keys, &versions, &data],
            )
            .await?;
    }
    Ok(changed)
}

/// A page of a shop's feed.
pub async fn changes(
    tx: &impl GenericClient,
    shop: &str,
    since: u64,
    limit: u32,
) -> Result<StoredPage> {
    let territory: Option<String> = tx
        .query_opt(
            &tx.prepare_cached("SELECT territory FROM shops WHERE id = $1")
                .await?,
            &[&shop],
        )
        .await?
        .map(|r| r.get(0));
    let territory = territory_scope(territory.as_deref().unwrap_or_default());
    let rows = tx
        .query(
            &tx.prepare_cached(
                "SELECT version, kind, key, data FROM distribution
             WHERE version > $1 AND shop_id IN ($2, $3, $5) ORDER BY version LIMIT $4",
            )
            .await?,
            &[
                &(since as i64),
                &EVERY_SHOP,
                &shop,
                &i64::from(limit),
                &territory,
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(StoredChange {
            version: row.get::<_, i64>(0) as u64,
            kind: row.get(1),
            key: row.get(2),
            data: row.get(3),
        });
    }
    let latest: i64 = tx
        .query_one(
            &tx.prepare_cached(
                "SELECT greatest(
                coalesce((SELECT max(version) FROM distribution WHERE shop_id = $1), 0),
                coalesce((SELECT max(version) FROM distribution WHERE shop_id = $2), 0),
                coalesce((SELECT max(version) FROM distribution WHERE shop_id = $3), 0))",
            )
            .await?,
            &[&EVERY_SHOP, &shop, &territory],
        )
        .await?
        .get(0);
    distribution::keep_within_page_bytes(&mut out);
    let next = out.last().map(|c| c.version).unwrap_or(since);
    Ok(StoredPage {
        changes: out,
        next,
        latest: (latest as u64).max(next),
    })
}

/// Writes outbox events under the outbox lock; an event id already written is skipped.
pub async fn write_events(tx: &impl GenericClient, events: &[OutboxEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    tx.execute(
        &tx.prepare_cached("SELECT pg_advisory_xact_lock($1)")
            .await?,
        &[&OUTBOX_LOCK],
    )
    .await?;
    for e in events {
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO outbox (event_id, type, subject, envelope) VALUES ($1, $2, $3, $4)
             ON CONFLICT (event_id) DO NOTHING",
            )
            .await?,
            &[&e.id, &e.event_type, &e.subject, &e.envelope.to_string()],
        )
        .await?;
    }
    Ok(())
}

/// A web order by id (`lock`: hold its row until the transaction ends); one that cannot be
/// read is a [`StoreError::Corrupt`] saying what to do (see [`web_orders::stored_order`]).
pub async fn web_order(tx: &impl GenericClient, id: &str, lock: bool) -> Result<Option<WebOrder>> {
    let sql = if lock {
        "SELECT body FROM web_orders WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM web_orders WHERE id = $1"
    };
    let row = tx.query_opt(sql, &[&id]).await?;
    row.map(|r| web_orders::stored_order(id, r.get(0)).map_err(StoreError::from))
        .transpose()
}

/// Web orders of the shops selected, newest first, a page at a time; those that cannot be
/// read are left out and alarmed ([`web_orders::readable_orders`]).
pub async fn web_orders(
    tx: &impl GenericClient,
    shops: &ShopSelection,
    page: &Page<String>,
) -> Result<Vec<WebOrder>> {
    let rows = tx
        .query(
            &format!(
                "SELECT id, body FROM web_orders WHERE {}
                   AND ($3::TEXT IS NULL OR (placed_at, id) < (SELECT placed_at, id FROM web_orders WHERE id = $3))
                 ORDER BY placed_at DESC, id DESC LIMIT $4",
                shops.narrowing("shop_id", "$1::TEXT", "$2::TEXT"),
            ),
            &[
                &shops.shop,
                &shops.region,
                &page.after,
                &i64::from(page.limit),
            ],
        )
        .await?;
    Ok(web_orders::readable_orders(
        rows.iter().map(|r| (r.get(0), r.get(1))),
    ))
}

/// Removes an order (`sync-server admin web-order remove`): its row goes, and a feed entry
/// and an event tell the shop's tills and the web shop. Returns its pickup shop, or `None` if
/// there is no such order.
pub async fn remove(
    tx: &impl GenericClient,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let row = tx
        .query_opt(
            &tx.prepare_cached("DELETE FROM web_orders WHERE id = $1 RETURNING shop_id")
                .await?,
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let shop: String = row.get(0);
    put_changes(tx, &[web_orders::order_removal(id, &shop)]).await?;
    write_events(tx, &[web_orders::removed_event(id, &shop, now)]).await?;
    Ok(Some(shop))
}

pub async fn save_order(
    tx: &impl GenericClient,
    order: &WebOrder,
    now: DateTime<Utc>,
) -> Result<()> {
    let body = serde_json::to_string(order).map_err(|e| corrupt("web order", e))?;
    tx.execute(
        &tx.prepare_cached(
            "UPDATE web_orders SET state = $2, body = $3, updated_at = $4 WHERE id = $1",
        )
        .await?,
        &[
            &order.id,
            &order.state.name(),
            &body,
            &timestamp::format(&now),
        ],
    )
    .await?;
    Ok(())
}

/// Places an order once per (web shop, idempotency key). Two resends at once: the unique key
/// lets one insert; the other finds it and compares.
pub async fn place(tx: &impl GenericClient, p: &Placement) -> Result<Placed> {
    let shop = tx
        .query_opt(
            &tx.prepare_cached("SELECT id FROM shops WHERE id = $1")
                .await?,
            &[&p.order.shop],
        )
        .await?;
    let body = serde_json::to_string(&p.order).map_err(|e| corrupt("web order", e))?;
    let now = timestamp::format(&p.now);
    if shop.is_some() {
        let inserted = tx
            .execute(
                &tx.prepare_cached("INSERT INTO web_orders (id, shop_id, webshop_id, idempotency_key, request_hash, state, body, placed_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (webshop_id, idempotency_key) DO NOTHING").await?,
                &[
                    &p.order.id,
                    &p.order.shop,
                    &p.webshop,
                    &p.idempotency_key,
                    &p.request_hash,
                    &p.order.state.name(),
                    &body,
                    &now,
                ],
            )
            .await?;
        if inserted == 1 {
            put_changes(tx, &[web_orders::order_change(&p.order)]).await?;
            write_events(tx, &[web_orders::state_event(&p.order, p.now)]).await?;
            return Ok(Placed::Created(p.order.clone()));
        }
    }
    let existing = tx
        .query_opt(
            &tx.prepare_cached("SELECT request_hash, body FROM web_orders WHERE webshop_id = $1 AND idempotency_key = $2").await?,
            &[&p.webshop, &p.idempotency_key],
        )
        .await?;
    match existing {
        Some(row) if row.get::<_, &str>(0) == p.request_hash => Ok(Placed::Existing(
            web_orders::stored_order(&p.order.id, row.get(1))?,
        )),
        Some(_) => Err(StoreError::IdempotencyConflict),
        None => Err(StoreError::NotFound(format!(
            "no shop `{}`: give the id of the pickup shop",
            p.order.shop
        ))),
    }
}

/// Cancels an order online.
pub async fn cancel(tx: &impl GenericClient, id: &str, now: DateTime<Utc>) -> Result<WebOrder> {
    let mut order = web_order(tx, id, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no web order `{id}`")))?;
    let step = web_order::cancel(order.state).map_err(StoreError::OrderState)?;
    if step.changed {
        order.state = step.state;
        save_order(tx, &order, now).await?;
        put_changes(tx, &[web_orders::order_change(&order)]).await?;
        write_events(tx, &[web_orders::state_event(&order, now)]).await?;
    }
    Ok(order)
}
