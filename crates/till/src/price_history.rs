//! The catalog's past prices, kept as prices change (head office's download, a catalog
//! import), so a return without receipt is refunded at no more than the lowest price the item
//! had over the last days ([`pos_domain::returns_anywhere::ReturnRules`]): an item bought at
//! a sale price cannot come back without its receipt at the full price.
//!
//! A price is the one a sale takes: the shop's own price from head office when it set one,
//! else the catalog's. Each change appends the price it replaced with the moment it stopped
//! applying (the till's clock), so "the prices of the last N days" are the current one and
//! every one replaced since then.

use pos_domain::Money;
use rusqlite::{Connection, OptionalExtension, params};
use std::str::FromStr;

use crate::error::{Result, TillError};

/// The prices replaced, by product (migration 18).
pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE price_history (
        product_id TEXT NOT NULL,
        price_cents INTEGER NOT NULL,
        -- When this price stopped applying (RFC 3339, UTC, microseconds: compared as text).
        replaced_at TEXT NOT NULL
    );
    CREATE INDEX price_history_by_product ON price_history (product_id, replaced_at);
"#;

/// Runs `change` (which may change `product_id`'s price) and, if the price a sale takes
/// changed, remembers the one it replaced as of `now`.
pub(crate) fn keeping<T>(
    conn: &Connection,
    product_id: &str,
    now: &str,
    change: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let before = price_now(conn, product_id)?;
    let out = change()?;
    if let Some(before) = before
        && price_now(conn, product_id)? != Some(before)
    {
        conn.prepare_cached(
            "INSERT INTO price_history (product_id, price_cents, replaced_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![product_id, before.cents(), now])?;
    }
    Ok(out)
}

/// The lowest of `current` and every price of `product_id` replaced at or after `since`.
pub(crate) fn lowest_since(
    conn: &Connection,
    product_id: &str,
    since: &str,
    current: Money,
) -> Result<Money> {
    let lowest: Option<i64> = conn
        .prepare_cached(
            "SELECT min(price_cents) FROM price_history WHERE product_id = ?1 AND replaced_at >= ?2",
        )?
        .query_row(params![product_id, since], |r| r.get(0))?;
    Ok(lowest.map_or(current, |cents| current.min(Money::from_cents(cents))))
}

/// The price a sale of `product_id` takes now, if it is in the catalog.
fn price_now(conn: &Connection, product_id: &str) -> Result<Option<Money>> {
    let text: Option<String> = conn
        .prepare_cached(
            "SELECT coalesce((SELECT price FROM shop_prices WHERE product_id = p.id), p.price)
             FROM products p WHERE p.id = ?1",
        )?
        .query_row([product_id], |r| r.get(0))
        .optional()?;
    text.map(|t| {
        Money::from_str(&t).map_err(|e| TillError::Corrupt(format!("price of {product_id}: {e}")))
    })
    .transpose()
}
