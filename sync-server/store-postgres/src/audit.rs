//! The administration journal and the admins' reads of the changes feed, on PostgreSQL.

use pos_hq_store::audit::{AuditEntry, LiveEntry, NewAuditEntry, from_column, to_column};
use pos_hq_store::{Page, Result};
use serde_json::Value;
use tokio_postgres::GenericClient;

pub async fn record(client: &impl GenericClient, entry: &NewAuditEntry, at: &str) -> Result<()> {
    client
        .execute(
            "INSERT INTO admin_audit (at, actor, action, target, before, after)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &at,
                &entry.actor,
                &entry.action,
                &entry.target,
                &to_column(&entry.before),
                &to_column(&entry.after),
            ],
        )
        .await?;
    Ok(())
}

pub async fn entries(client: &impl GenericClient, page: &Page<i64>) -> Result<Vec<AuditEntry>> {
    let rows = client
        .query(
            "SELECT id, at, actor, action, target, before, after FROM admin_audit
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
            &[&page.after.unwrap_or(i64::MAX), &(page.limit as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            id: r.get(0),
            at: r.get(1),
            actor: r.get(2),
            action: r.get(3),
            target: r.get(4),
            before: from_column(r.get(5)),
            after: from_column(r.get(6)),
        })
        .collect())
}

pub async fn change_data(
    client: &impl GenericClient,
    kind: &str,
    shop_id: &str,
    key: &str,
) -> Result<Option<Value>> {
    let row = client
        .query_opt(
            "SELECT data FROM distribution WHERE kind = $1 AND shop_id = $2 AND key = $3",
            &[&kind, &shop_id, &key],
        )
        .await?;
    Ok(row.and_then(|r| from_column(r.get(0))))
}

pub async fn live_entries(
    client: &impl GenericClient,
    kind: &str,
    page: &Page<(String, String)>,
) -> Result<Vec<LiveEntry>> {
    let (after_key, after_shop) = page.after.clone().unwrap_or_default();
    let rows = client
        .query(
            "SELECT shop_id, key, data FROM distribution
             WHERE kind = $1 AND data IS NOT NULL AND (key, shop_id) > ($2, $3)
             ORDER BY key, shop_id LIMIT $4",
            &[&kind, &after_key, &after_shop, &(page.limit as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LiveEntry {
            shop_id: r.get(0),
            key: r.get(1),
            data: from_column(r.get(2)).unwrap_or(Value::Null),
        })
        .collect())
}
