//! The advance shipping notices of this till's shop: what logistics sent, as head office's
//! changes feed brought it ([`pos_domain::wire::kinds::SHIPPING_NOTICE`]), kept until the
//! delivery is received against it.
//!
//! `shipping_notices` holds the open notices (replaced when logistics changes one, removed
//! when it withdraws one). `shipping_notice_receipts` is the append-only index of the notices
//! received at this till (rebuildable from the stock chain's goods receipts): a notice is
//! received once, and a notice already received stays received whatever the feed says of it
//! later. A goods receipt against a notice takes each line's expected quantity from the notice
//! (`expected_from_notice`); the caller only says what arrived and what is damaged.

use pos_domain::stock::{ReceivedLine, ShippingNotice};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::Till;
use crate::error::{Result, TillError};

/// Applies one `shipping_notice` feed entry: `Some` opens or replaces the notice, `None`
/// (withdrawn by logistics) removes it. A notice already received is left as received.
/// Returns whether anything changed.
pub(crate) fn apply_from_feed(
    conn: &Connection,
    key: &str,
    notice: Option<&ShippingNotice>,
    now: &str,
) -> Result<bool> {
    if received_seq(conn, key)?.is_some() {
        return Ok(false);
    }
    let Some(notice) = notice else {
        return Ok(conn.execute("DELETE FROM shipping_notices WHERE id = ?1", [key])? > 0);
    };
    let body = serde_json::to_string(notice).map_err(|e| TillError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO shipping_notices (id, body, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        params![key, body, now],
    )?;
    Ok(true)
}

/// The stock-chain record that received notice `id` at this till, if one did.
fn received_seq(conn: &Connection, id: &str) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT receipt_seq FROM shipping_notice_receipts WHERE notice_id = ?1")?
        .query_row([id], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|seq| seq as u64))
}

/// The open notice `id`, if this till has it.
pub(crate) fn open_notice(conn: &Connection, id: &str) -> Result<Option<ShippingNotice>> {
    conn.prepare_cached("SELECT body FROM shipping_notices WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()?
        .map(|body| parse(id, &body))
        .transpose()
}

fn parse(id: &str, body: &str) -> Result<ShippingNotice> {
    serde_json::from_str(body)
        .map_err(|e| TillError::Corrupt(format!("shipping notice `{id}` is unreadable: {e}")))
}

/// Refuses a notice already received: a delivery is received once.
pub(crate) fn refuse_if_received(conn: &Connection, id: &str) -> Result<()> {
    match received_seq(conn, id)? {
        Some(seq) => Err(TillError::invalid(
            "shipping_notice_already_received",
            format!(
                "shipping notice `{id}` was already received at this till (stock record \
                 {seq}): nothing was recorded again; receive goods that came without it as a \
                 delivery without a notice"
            ),
        )),
        None => Ok(()),
    }
}

/// Marks notice `id` received by stock record `seq` (in the caller's transaction): it leaves
/// the open notices and can never be received again.
pub(crate) fn mark_received(conn: &Connection, id: &str, seq: u64) -> Result<()> {
    conn.execute(
        "INSERT INTO shipping_notice_receipts (notice_id, receipt_seq) VALUES (?1, ?2)",
        params![id, seq as i64],
    )?;
    conn.execute("DELETE FROM shipping_notices WHERE id = ?1", [id])?;
    Ok(())
}

/// The lines of a delivery received against `notice`: each notice line's expected quantity
/// is the notice's, with what was scanned of it (`scanned`, matched by product; a notice line
/// not scanned is all missing), then the scanned products the notice does not list (extras,
/// expected 0), in the order scanned.
pub(crate) fn expected_from_notice(
    notice: &ShippingNotice,
    mut scanned: Vec<ReceivedLine>,
) -> Vec<ReceivedLine> {
    let mut lines = Vec::with_capacity(notice.lines.len() + scanned.len());
    for announced in &notice.lines {
        let line = match scanned
            .iter()
            .position(|s| s.product_id == announced.product_id)
        {
            Some(at) => scanned.remove(at),
            None => ReceivedLine {
                product_id: announced.product_id.clone(),
                unit: announced.unit,
                expected: 0,
                received: 0,
                damaged: 0,
                serials: Vec::new(),
            },
        };
        lines.push(ReceivedLine {
            expected: announced.quantity,
            ..line
        });
    }
    lines.extend(scanned.into_iter().map(|extra| ReceivedLine {
        expected: 0,
        ..extra
    }));
    lines
}

impl Till {
    /// The shipping notices of this shop not yet received, by id.
    pub fn shipping_notices(&self) -> Result<Vec<ShippingNotice>> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare("SELECT id, body FROM shipping_notices ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.iter().map(|(id, body)| parse(id, body)).collect()
    }
}
