//! The SQLite side of distribution and web orders (see [`pos_hq_core::distribution`] and
//! [`pos_hq_core::web_orders`]): functions that run inside the caller's transaction.

use chrono::{DateTime, Utc};
use pos_domain::record::timestamp;
use pos_domain::web_order::{self, WebOrder};
use rusqlite::{Connection, OptionalExtension, params};

use pos_hq_core::distribution::{self, EVERY_SHOP, StoredChange, StoredPage, territory_scope};
use pos_hq_core::events::{OutboxEvent, OutboxRow, StoredEnvelope};
use pos_hq_core::web_orders;
use pos_hq_store::{
    NewChange, OutboxRead, Page, Placed, Placement, Result, ShopSelection, StoreError,
};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// Writes feed entries with new versions; returns how many changed.
pub fn put_changes(tx: &Connection, changes: &[NewChange]) -> Result<u64> {
    if changes.is_empty() {
        return Ok(0);
    }
    let last: i64 = tx.query_row(
        "UPDATE change_counter SET version = version + ?1 WHERE id = 1 RETURNING version",
        [changes.len() as i64],
        |r| r.get(0),
    )?;
    let first = last - changes.len() as i64 + 1;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO distribution (kind, shop_id, key, version, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, shop_id, key) DO UPDATE SET version = excluded.version, data = excluded.data
         WHERE distribution.data IS NOT excluded.data",
    )?;
    let mut changed = 0;
    for (i, c) in changes.iter().enumerate() {
        let data = c.data.as_ref().map(|d| d.to_string());
        changed += upsert.execute(params![c.kind, c.shop_id, c.key, first + i as i64, data])?;
    }
    Ok(changed as u64)
}

/// A page of a shop's feed.
pub fn changes(conn: &Connection, shop: &str, since: u64, limit: u32) -> Result<StoredPage> {
    let territory: Option<String> = conn
        .query_row("SELECT territory FROM shops WHERE id = ?1", [shop], |r| {
            r.get(0)
        })
        .optional()?;
    let territory = territory_scope(territory.as_deref().unwrap_or_default());
    let mut stmt = conn.prepare_cached(
        "SELECT version, kind, key, data FROM distribution
         WHERE version > ?1 AND shop_id IN (?2, ?3, ?5) ORDER BY version LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![since as i64, EVERY_SHOP, shop, limit as i64, territory],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (version, kind, key, data) = row?;
        out.push(StoredChange {
            version: version as u64,
            kind,
            key,
            data,
        });
    }
    let latest: i64 = conn.query_row(
        "SELECT max(coalesce((SELECT max(version) FROM distribution WHERE shop_id = ?1), 0),
                    coalesce((SELECT max(version) FROM distribution WHERE shop_id = ?2), 0),
                    coalesce((SELECT max(version) FROM distribution WHERE shop_id = ?3), 0))",
        params![EVERY_SHOP, shop, territory],
        |r| r.get(0),
    )?;
    distribution::keep_within_page_bytes(&mut out);
    let next = out.last().map(|c| c.version).unwrap_or(since);
    Ok(StoredPage {
        changes: out,
        next,
        latest: (latest as u64).max(next),
    })
}

/// Writes outbox events; an event id already written is skipped.
pub fn write_events<'a>(
    tx: &Connection,
    events: impl IntoIterator<Item = &'a OutboxEvent>,
) -> Result<()> {
    let rows: Vec<OutboxRow> = events.into_iter().map(OutboxRow::from).collect();
    write_rows(tx, &rows)
}

/// Writes outbox events as stored ([`OutboxRow`]), in order; an event id already written is
/// skipped.
pub fn write_rows(tx: &Connection, rows: &[OutboxRow]) -> Result<()> {
    let mut outbox = tx.prepare_cached(
        "INSERT INTO outbox (event_id, type, subject, envelope, record_till, record_chain, record_seq, record_shop)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (event_id) DO NOTHING",
    )?;
    for e in rows {
        match &e.envelope {
            StoredEnvelope::Text(text) => outbox.execute(params![
                e.id,
                e.event_type,
                e.subject,
                text,
                None::<&str>,
                None::<&str>,
                None::<i64>,
                None::<&str>
            ])?,
            StoredEnvelope::Record(r) => outbox.execute(params![
                e.id,
                e.event_type,
                e.subject,
                "",
                r.till_id,
                r.chain.name(),
                r.seq as i64,
                r.shop_id
            ])?,
        };
    }
    Ok(())
}

/// The columns [`outbox_read`] reads, from `outbox o` joined by [`OUTBOX_RECORD_JOIN`].
pub const OUTBOX_READ_COLUMNS: &str = "o.cursor, o.envelope, o.record_shop, r.body, r.hash";

/// Joins each record's event to its record (see [`StoredEnvelope`]).
pub const OUTBOX_RECORD_JOIN: &str = "LEFT JOIN records r
     ON r.till_id = o.record_till AND r.chain = o.record_chain AND r.seq = o.record_seq";

/// An outbox row read with [`OUTBOX_READ_COLUMNS`], its first columns.
pub fn outbox_read(row: &rusqlite::Row) -> rusqlite::Result<OutboxRead> {
    let body: Option<Vec<u8>> = row.get(3)?;
    let hash: Option<String> = row.get(4)?;
    Ok(OutboxRead {
        cursor: row.get(0)?,
        envelope: row.get(1)?,
        record_shop: row.get(2)?,
        record: body.zip(hash),
    })
}

/// A web order by id; one that cannot be read is a [`StoreError::Corrupt`] saying what to do
/// (see [`web_orders::stored_order`]).
pub fn web_order(conn: &Connection, id: &str) -> Result<Option<WebOrder>> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM web_orders WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    body.map(|body| web_orders::stored_order(id, &body).map_err(StoreError::from))
        .transpose()
}

/// The web shop that placed an order.
pub fn web_order_webshop(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT webshop_id FROM web_orders WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Web orders of the shops selected, newest first, a page at a time; those that cannot be
/// read are left out and alarmed ([`web_orders::readable_orders`]).
pub fn web_orders(
    conn: &Connection,
    shops: &ShopSelection,
    page: &Page<String>,
) -> Result<Vec<WebOrder>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, body FROM web_orders WHERE {} AND {WEB_ORDERS_AFTER} ORDER BY placed_at DESC, id DESC LIMIT ?4",
        shops.narrowing("shop_id", "?1", "?2"),
    ))?;
    let rows: Vec<(String, String)> = stmt
        .query_map(
            params![shops.shop, shops.region, page.after, page.limit],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(web_orders::readable_orders(rows))
}

/// Removes an order (`sync-server admin web-order remove`): its row goes, and a feed entry
/// and an event tell the shop's tills and the web shop. Returns its pickup shop, or `None` if
/// there is no such order.
pub fn remove(tx: &Connection, id: &str, now: DateTime<Utc>) -> Result<Option<String>> {
    let shop: Option<String> = tx
        .query_row("SELECT shop_id FROM web_orders WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(shop) = shop else {
        return Ok(None);
    };
    tx.execute("DELETE FROM web_orders WHERE id = ?1", [id])?;
    put_changes(tx, &[web_orders::order_removal(id, &shop)])?;
    write_events(tx, &[web_orders::removed_event(id, &shop, now)])?;
    Ok(Some(shop))
}

/// The orders after the order `?3` in the list's order (newest first), or all if `?3` is null.
const WEB_ORDERS_AFTER: &str =
    "(?3 IS NULL OR (placed_at, id) < (SELECT placed_at, id FROM web_orders WHERE id = ?3))";

/// Stores an order's new state with its feed entry and event.
pub fn save_order(tx: &Connection, order: &WebOrder, now: DateTime<Utc>) -> Result<()> {
    let body = serde_json::to_string(order).map_err(|e| corrupt("web order", e))?;
    tx.execute(
        "UPDATE web_orders SET state = ?2, body = ?3, updated_at = ?4 WHERE id = ?1",
        params![order.id, order.state.name(), body, timestamp::format(&now)],
    )?;
    Ok(())
}

/// Places an order once per (web shop, idempotency key).
pub fn place(tx: &Connection, p: &Placement) -> Result<Placed> {
    let existing: Option<(String, String)> = tx
        .query_row(
            "SELECT request_hash, body FROM web_orders WHERE webshop_id = ?1 AND idempotency_key = ?2",
            params![p.webshop, p.idempotency_key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((hash, body)) = existing {
        if hash != p.request_hash {
            return Err(StoreError::IdempotencyConflict);
        }
        return Ok(Placed::Existing(web_orders::stored_order(
            &p.order.id,
            &body,
        )?));
    }
    let shop: Option<String> = tx
        .query_row("SELECT id FROM shops WHERE id = ?1", [&p.order.shop], |r| {
            r.get(0)
        })
        .optional()?;
    if shop.is_none() {
        return Err(StoreError::NotFound(format!(
            "no shop `{}`: give the id of the pickup shop",
            p.order.shop
        )));
    }
    let body = serde_json::to_string(&p.order).map_err(|e| corrupt("web order", e))?;
    let now = timestamp::format(&p.now);
    tx.execute(
        "INSERT INTO web_orders (id, shop_id, webshop_id, idempotency_key, request_hash, state, body, placed_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            p.order.id,
            p.order.shop,
            p.webshop,
            p.idempotency_key,
            p.request_hash,
            p.order.state.name(),
            body,
            now
        ],
    )?;
    put_changes(tx, &[web_orders::order_change(&p.order)])?;
    write_events(tx, &[web_orders::state_event(&p.order, p.now)])?;
    Ok(Placed::Created(p.order.clone()))
}

/// Cancels an order online.
pub fn cancel(tx: &Connection, id: &str, now: DateTime<Utc>) -> Result<WebOrder> {
    let mut order =
        web_order(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("no web order `{id}`")))?;
    let step = web_order::cancel(order.state).map_err(StoreError::OrderState)?;
    if step.changed {
        order.state = step.state;
        save_order(tx, &order, now)?;
        put_changes(tx, &[web_orders::order_change(&order)])?;
        write_events(tx, &[web_orders::state_event(&order, now)])?;
    }
    Ok(order)
}
