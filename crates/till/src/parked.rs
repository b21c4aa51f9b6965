//! Parked carts (schema 5): a sale put aside to serve someone else, kept in the till's database
//! so a restart loses nothing. A cart is stored as the JSON the app sent; it is not a ledger
//! record (nothing was sold), so resuming it removes it.

use pos_domain::record::timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::engine::Till;
use crate::error::{Result, TillError};

/// A parked cart.
#[derive(Clone, Debug, Serialize)]
pub struct Parked {
    pub id: u64,
    pub label: Option<String>,
    pub operator: String,
    pub parked_at: String,
    pub lines: u64,
    /// The total when parked, as text.
    pub total: String,
    pub cart: Value,
}

fn parked_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Parked, String)> {
    Ok((
        Parked {
            id: r.get::<_, i64>(0)? as u64,
            label: r.get(1)?,
            operator: r.get(2)?,
            parked_at: r.get(3)?,
            lines: r.get::<_, i64>(4)? as u64,
            total: r.get(5)?,
            cart: Value::Null,
        },
        r.get(6)?,
    ))
}

fn with_cart((mut parked, cart): (Parked, String)) -> Result<Parked> {
    parked.cart = serde_json::from_str(&cart)
        .map_err(|e| TillError::Corrupt(format!("parked cart {}: {e}", parked.id)))?;
    Ok(parked)
}

impl Till {
    /// Parks a cart; returns it with its id.
    pub fn park_cart(
        &mut self,
        operator: &str,
        label: Option<&str>,
        lines: u64,
        total: &str,
        cart: &Value,
    ) -> Result<Parked> {
        let now = timestamp::format(&self.now());
        self.conn.execute(
            "INSERT INTO parked_carts (label, operator, parked_at, lines, total, cart) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![label, operator, now, lines as i64, total, cart.to_string()],
        )?;
        let id = self.conn.last_insert_rowid() as u64;
        Ok(Parked {
            id,
            label: label.map(str::to_string),
            operator: operator.into(),
            parked_at: now,
            lines,
            total: total.into(),
            cart: cart.clone(),
        })
    }

    /// Every parked cart, oldest first.
    pub fn parked_carts(&self) -> Result<Vec<Parked>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, label, operator, parked_at, lines, total, cart FROM parked_carts ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], parked_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(with_cart).collect()
    }

    /// Takes a parked cart out (it is removed in the same transaction).
    pub fn take_parked_cart(&mut self, id: u64) -> Result<Parked> {
        let tx = self.conn.transaction()?;
        let found = tx
            .query_row(
                "SELECT id, label, operator, parked_at, lines, total, cart FROM parked_carts WHERE id = ?1",
                [id as i64],
                parked_from_row,
            )
            .optional()?
            .ok_or_else(|| {
                TillError::invalid(
                    "unknown_parked_cart",
                    format!("no parked cart {id}: it was resumed already; refresh the list"),
                )
            })?;
        tx.execute("DELETE FROM parked_carts WHERE id = ?1", [id as i64])?;
        tx.commit()?;
        with_cart(found)
    }
}
