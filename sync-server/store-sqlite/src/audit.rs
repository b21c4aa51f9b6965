//! The administration journal and the admins' reads of the changes feed, on SQLite.

use pos_hq_store::audit::{AuditEntry, LiveEntry, NewAuditEntry, from_column, to_column};
use pos_hq_store::{Page, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

pub fn record(conn: &Connection, entry: &NewAuditEntry, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO admin_audit (at, actor, action, target, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            at,
            entry.actor,
            entry.action,
            entry.target,
            to_column(&entry.before),
            to_column(&entry.after)
        ],
    )?;
    Ok(())
}

pub fn entries(conn: &Connection, page: &Page<i64>) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, target, before, after FROM admin_audit
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![page.after.unwrap_or(i64::MAX), page.limit as i64],
        |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                before: from_column(r.get(5)?),
                after: from_column(r.get(6)?),
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn change_data(
    conn: &Connection,
    kind: &str,
    shop_id: &str,
    key: &str,
) -> Result<Option<Value>> {
    let data: Option<Option<String>> = conn
        .query_row(
            "SELECT data FROM distribution WHERE kind = ?1 AND shop_id = ?2 AND key = ?3",
            params![kind, shop_id, key],
            |r| r.get(0),
        )
        .optional()?;
    Ok(from_column(data.flatten()))
}

pub fn live_entries(
    conn: &Connection,
    kind: &str,
    page: &Page<(String, String)>,
) -> Result<Vec<LiveEntry>> {
    let (after_key, after_shop) = page.after.clone().unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT shop_id, key, data FROM distribution
         WHERE kind = ?1 AND data IS NOT NULL AND (key, shop_id) > (?2, ?3)
         ORDER BY key, shop_id LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![kind, after_key, after_shop, page.limit as i64],
        |r| {
            Ok(LiveEntry {
                shop_id: r.get(0)?,
                key: r.get(1)?,
                data: from_column(r.get(2)?).unwrap_or(Value::Null),
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
