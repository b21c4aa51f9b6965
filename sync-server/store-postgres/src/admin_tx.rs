//! The writes of administration on PostgreSQL, each inside the caller's transaction: the
//! store's verbs (`create_till`, `revoke_user`...) run one in a transaction of its own, and
//! [`Store::apply_admin`] runs one with its journal entry in the same transaction
//! ([`apply_in_transaction`]), so a change and its entry are stored together or not at all.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use pos_domain::record::timestamp;
use pos_hq_store::audit::NewAuditEntry;
use pos_hq_store::*;
use tokio_postgres::types::ToSql;

use super::{OUTBOX_LOCK, account_of, audit, insert_user_token, known_user, postgres_feed};

/// Applies `change` in a transaction of its own, with its journal entry `entry` when given
/// (see [`Store::apply_admin`]): the one place an admin change and its entry are committed.
pub async fn apply_in_transaction(
    pool: &deadpool_postgres::Pool,
    change: &AdminChange,
    entry: Option<&NewAuditEntry>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let count = apply(&tx, change, now).await?;
    if let Some(entry) = entry {
        audit::record(&*tx, entry, &timestamp::format(&now)).await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Applies `change` in the caller's transaction `tx`.
async fn apply(tx: &Transaction<'_>, change: &AdminChange, now: DateTime<Utc>) -> Result<u64> {
    match change {
        AdminChange::Changes(changes) => postgres_feed::put_changes(tx, changes).await,
        AdminChange::Entity(e) => {
            insert(
                tx,
                "INSERT INTO legal_entities (id, name, siren, fiscal_year_start_month) VALUES ($1, $2, $3, $4)",
                &[&e.id, &e.name, &e.siren, &(e.fiscal_year_start_month as i32)],
            )
            .await
        }
        AdminChange::Region(r) => {
            insert(
                tx,
                "INSERT INTO regions (id, name) VALUES ($1, $2)",
                &[&r.id, &r.name],
            )
            .await
        }
        AdminChange::Shop(s) => {
            insert(
                tx,
                "INSERT INTO shops (id, entity_id, name, territory, timezone, address, region_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&s.id, &s.entity_id, &s.name, &s.territory, &s.timezone, &s.address, &s.region_id],
            )
            .await
        }
        AdminChange::ShopRegion { shop_id, region_id } => {
            set_region(tx, "shops", "shop", shop_id, region_id.as_deref()).await
        }
        AdminChange::Till(t) => {
            insert(
                tx,
                "INSERT INTO tills (id, shop_id, name, code_hash, code_expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&t.id, &t.shop_id, &t.name, &t.code_hash, &timestamp::format(&t.code_expires_at)],
            )
            .await
        }
        AdminChange::TillCode {
            till_id,
            code_hash,
            expires_at,
        } => {
            let changed = tx
                .execute(
                    "UPDATE tills SET code_hash = $2, code_expires_at = $3, token_hash = NULL WHERE id = $1",
                    &[till_id, code_hash, &timestamp::format(expires_at)],
                )
                .await?;
            found(changed, || format!("no till `{till_id}`"))
        }
        AdminChange::RevokeTill { till_id } => {
            let changed = tx
                .execute(
                    "UPDATE tills SET token_hash = NULL, code_hash = NULL, code_expires_at = NULL,
                     revoked_at = $2 WHERE id = $1",
                    &[till_id, &timestamp::format(&now)],
                )
                .await?;
            found(changed, || format!("no till `{till_id}`"))
        }
        AdminChange::User {
            user: u,
            token_hash,
            token_expires_at,
        } => {
            tx.execute(
                "INSERT INTO users (id, name, role, shop_id, region_id) VALUES ($1, $2, $3, $4, $5)",
                &[&u.id, &u.name, &u.role.name(), &u.shop_id, &u.region_id],
            )
            .await?;
            insert_user_token(tx, token_hash, &u.id, now, *token_expires_at).await?;
            Ok(1)
        }
        AdminChange::RevokeUser { user_id } => {
            known_user(tx, user_id).await?;
            end_credentials(tx, user_id).await
        }
        AdminChange::UserAccess { user_id, access } => user_access(tx, user_id, access, now).await,
        AdminChange::Webhook(hook) => {
            // Under the outbox lock, so no event committed later gets a cursor below the start.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&OUTBOX_LOCK])
                .await?;
            let cursor: i64 = if hook.from_start {
                0
            } else {
                tx.query_one("SELECT coalesce(max(cursor), 0) FROM outbox", &[])
                    .await?
                    .get(0)
            };
            insert(
                tx,
                "INSERT INTO webhooks (id, url, secret, types, cursor, created_at, secret_sealed)
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE)",
                &[
                    &hook.id,
                    &hook.url,
                    &hook.sealed_secret,
                    &hook.types.join(","),
                    &cursor,
                    &timestamp::format(&now),
                ],
            )
            .await
        }
        AdminChange::RemoveWebhook { webhook_id } => {
            tx.execute(
                "DELETE FROM webhook_deliveries WHERE webhook_id = $1",
                &[webhook_id],
            )
            .await?;
            let changed = tx
                .execute("DELETE FROM webhooks WHERE id = $1", &[webhook_id])
                .await?;
            found(changed, || format!("no webhook `{webhook_id}`"))
        }
        AdminChange::WebhookSecret { webhook_id, sealed } => {
            let changed = tx
                .execute(
                    "UPDATE webhooks SET secret = $2, secret_sealed = TRUE WHERE id = $1",
                    &[webhook_id, sealed],
                )
                .await?;
            found(changed, || format!("no webhook `{webhook_id}`"))
        }
        AdminChange::MinMax(levels) => crate::logistics::put_minmax(tx, levels, now).await,
    }
}

async fn insert(tx: &Transaction<'_>, sql: &str, values: &[&(dyn ToSql + Sync)]) -> Result<u64> {
    tx.execute(sql, values).await?;
    Ok(1)
}

/// `changed`, or [`StoreError::NotFound`] with `missing` when nothing changed.
fn found(changed: u64, missing: impl FnOnce() -> String) -> Result<u64> {
    match changed {
        0 => Err(StoreError::NotFound(missing())),
        n => Ok(n),
    }
}

/// Ends every session and API token of a user; returns how many.
async fn end_credentials(tx: &Transaction<'_>, user_id: &str) -> Result<u64> {
    Ok(tx
        .execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
        .await?
        + tx.execute("DELETE FROM user_tokens WHERE user_id = $1", &[&user_id])
            .await?)
}

/// Sets the region of a row of `table` (`shops` or `users`), checking both exist.
pub async fn set_region(
    tx: &Transaction<'_>,
    table: &'static str,
    what: &str,
    id: &str,
    region_id: Option<&str>,
) -> Result<u64> {
    if let Some(region) = region_id
        && tx
            .query_opt("SELECT 1 FROM regions WHERE id = $1", &[&region])
            .await?
            .is_none()
    {
        return Err(StoreError::NotFound(format!(
            "no region `{region}`: create it first (`sync-server admin region create`)"
        )));
    }
    let changed = tx
        .execute(
            &format!("UPDATE {table} SET region_id = $2 WHERE id = $1"),
            &[&id, &region_id],
        )
        .await?;
    found(changed, || format!("no {what} `{id}`"))
}

/// See [`AdminChange::UserAccess`].
async fn user_access(
    tx: &Transaction<'_>,
    user_id: &str,
    access: &UserAccess,
    now: DateTime<Utc>,
) -> Result<u64> {
    // The active admins first, always in id order: two admins demoting each other at once
    // are decided one after the other, and the second sees the first's change.
    tx.query(
        "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE",
        &[],
    )
    .await?;
    let before = tx
        .query_opt(
            "SELECT id, name, role, shop_id, region_id, disabled_at FROM users WHERE id = $1 FOR UPDATE",
            &[&user_id],
        )
        .await?
        .map(|r| account_of(&r))
        .ok_or_else(|| StoreError::NotFound(format!("no user `{user_id}`")))?;
    tx.execute(
        "UPDATE users SET role = $2, shop_id = $3, region_id = $4,
         disabled_at = CASE WHEN $5 THEN COALESCE(disabled_at, $6) ELSE NULL END
         WHERE id = $1",
        &[
            &user_id,
            &access.role.name(),
            &access.shop_id,
            &access.region_id,
            &access.disabled,
            &timestamp::format(&now),
        ],
    )
    .await?;
    let was_admin = before.user.role == Role::Admin && before.disabled_at.is_none();
    let admins: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL",
            &[],
        )
        .await?
        .get(0);
    if was_admin && admins == 0 {
        return Err(last_admin_refusal(user_id));
    }
    if UserAccess::of(&before).ends_credentials(access) {
        end_credentials(tx, user_id).await
    } else {
        Ok(0)
    }
}
