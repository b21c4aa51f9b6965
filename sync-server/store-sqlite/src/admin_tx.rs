//! The writes of administration on SQLite, each inside the caller's transaction: the store's
//! verbs (`create_till`, `revoke_user`...) run one in a transaction of its own, and
//! [`Store::apply_admin`] runs one with its journal entry in the same transaction
//! ([`apply_in_transaction`]), so a change and its entry are stored together or not at all.

use chrono::{DateTime, Utc};
use pos_domain::record::timestamp;
use pos_hq_store::audit::NewAuditEntry;
use pos_hq_store::*;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{account_of, audit, insert_user_token, known_user, retired_token_column, sqlite_feed};

/// Applies `change` in a transaction of its own, with its journal entry `entry` when given
/// (see [`Store::apply_admin`]): the one place an admin change and its entry are committed.
pub fn apply_in_transaction(
    conn: &mut Connection,
    change: &AdminChange,
    entry: Option<&NewAuditEntry>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let count = apply(&tx, change, now)?;
    if let Some(entry) = entry {
        audit::record(&tx, entry, &timestamp::format(&now))?;
    }
    tx.commit()?;
    Ok(count)
}

/// Applies `change` in the caller's transaction `tx`.
fn apply(tx: &Connection, change: &AdminChange, now: DateTime<Utc>) -> Result<u64> {
    match change {
        AdminChange::Changes(changes) => sqlite_feed::put_changes(tx, changes),
        AdminChange::Entity(e) => insert(
            tx,
            "INSERT INTO legal_entities (id, name, siren, fiscal_year_start_month) VALUES (?1, ?2, ?3, ?4)",
            params![e.id, e.name, e.siren, e.fiscal_year_start_month],
        ),
        AdminChange::Region(r) => insert(
            tx,
            "INSERT INTO regions (id, name) VALUES (?1, ?2)",
            params![r.id, r.name],
        ),
        AdminChange::Shop(s) => insert(
            tx,
            "INSERT INTO shops (id, entity_id, name, territory, timezone, address, region_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s.id,
                s.entity_id,
                s.name,
                s.territory,
                s.timezone,
                s.address,
                s.region_id
            ],
        ),
        AdminChange::ShopRegion { shop_id, region_id } => {
            set_region(tx, "shops", "shop", shop_id, region_id.as_deref())
        }
        AdminChange::Till(t) => insert(
            tx,
            "INSERT INTO tills (id, shop_id, name, code_hash, code_expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                t.id,
                t.shop_id,
                t.name,
                t.code_hash,
                timestamp::format(&t.code_expires_at)
            ],
        ),
        AdminChange::TillCode {
            till_id,
            code_hash,
            expires_at,
        } => one_till(
            tx,
            till_id,
            "UPDATE tills SET code_hash = ?2, code_expires_at = ?3, token_hash = NULL WHERE id = ?1",
            params![till_id, code_hash, timestamp::format(expires_at)],
        ),
        AdminChange::RevokeTill { till_id } => one_till(
            tx,
            till_id,
            "UPDATE tills SET token_hash = NULL, code_hash = NULL, code_expires_at = NULL,
             revoked_at = ?2 WHERE id = ?1",
            params![till_id, timestamp::format(&now)],
        ),
        AdminChange::User {
            user: u,
            token_hash,
            token_expires_at,
        } => {
            tx.execute(
                "INSERT INTO users (id, name, role, shop_id, token_hash, region_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![u.id, u.name, u.role.name(), u.shop_id, retired_token_column(&u.id), u.region_id],
            )?;
            insert_user_token(tx, token_hash, &u.id, now, *token_expires_at)?;
            Ok(1)
        }
        AdminChange::RevokeUser { user_id } => {
            known_user(tx, user_id)?;
            end_credentials(tx, user_id)
        }
        AdminChange::UserAccess { user_id, access } => user_access(tx, user_id, access, now),
        AdminChange::Webhook(hook) => {
            let cursor: i64 = if hook.from_start {
                0
            } else {
                tx.query_row("SELECT coalesce(max(cursor), 0) FROM outbox", [], |r| {
                    r.get(0)
                })?
            };
            insert(
                tx,
                "INSERT INTO webhooks (id, url, secret, types, cursor, created_at, secret_sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
                params![
                    hook.id,
                    hook.url,
                    hook.sealed_secret,
                    hook.types.join(","),
                    cursor,
                    timestamp::format(&now)
                ],
            )
        }
        AdminChange::RemoveWebhook { webhook_id } => {
            tx.execute(
                "DELETE FROM webhook_deliveries WHERE webhook_id = ?1",
                [webhook_id],
            )?;
            one_webhook(
                tx,
                webhook_id,
                "DELETE FROM webhooks WHERE id = ?1",
                params![webhook_id],
            )
        }
        AdminChange::WebhookSecret { webhook_id, sealed } => one_webhook(
            tx,
            webhook_id,
            "UPDATE webhooks SET secret = ?2, secret_sealed = 1 WHERE id = ?1",
            params![webhook_id, sealed],
        ),
        AdminChange::MinMax(levels) => crate::logistics::put_minmax(tx, levels, now),
    }
}

fn insert(tx: &Connection, sql: &str, values: impl rusqlite::Params) -> Result<u64> {
    tx.execute(sql, values)?;
    Ok(1)
}

fn one_till(
    tx: &Connection,
    till_id: &str,
    sql: &str,
    values: impl rusqlite::Params,
) -> Result<u64> {
    match tx.execute(sql, values)? {
        0 => Err(StoreError::NotFound(format!("no till `{till_id}`"))),
        n => Ok(n as u64),
    }
}

fn one_webhook(
    tx: &Connection,
    webhook_id: &str,
    sql: &str,
    values: impl rusqlite::Params,
) -> Result<u64> {
    match tx.execute(sql, values)? {
        0 => Err(StoreError::NotFound(format!("no webhook `{webhook_id}`"))),
        n => Ok(n as u64),
    }
}

/// Ends every session and API token of a user; returns how many.
fn end_credentials(tx: &Connection, user_id: &str) -> Result<u64> {
    let ended = tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?
        + tx.execute("DELETE FROM user_tokens WHERE user_id = ?1", [user_id])?;
    Ok(ended as u64)
}

/// Sets the region of a row of `table` (`shops` or `users`), checking both exist.
pub fn set_region(
    tx: &Connection,
    table: &'static str,
    what: &str,
    id: &str,
    region_id: Option<&str>,
) -> Result<u64> {
    if let Some(region) = region_id
        && !tx
            .prepare("SELECT 1 FROM regions WHERE id = ?1")?
            .exists([region])?
    {
        return Err(StoreError::NotFound(format!(
            "no region `{region}`: create it first (`sync-server admin region create`)"
        )));
    }
    let changed = tx.execute(
        &format!("UPDATE {table} SET region_id = ?2 WHERE id = ?1"),
        params![id, region_id],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("no {what} `{id}`")));
    }
    Ok(1)
}

/// See [`AdminChange::UserAccess`] (SQLite serializes writers: the admins need no lock).
fn user_access(
    tx: &Connection,
    user_id: &str,
    access: &UserAccess,
    now: DateTime<Utc>,
) -> Result<u64> {
    let before = tx
        .query_row(
            "SELECT id, name, role, shop_id, region_id, disabled_at FROM users WHERE id = ?1",
            [user_id],
            account_of,
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no user `{user_id}`")))?;
    tx.execute(
        "UPDATE users SET role = ?2, shop_id = ?3, region_id = ?4,
         disabled_at = CASE WHEN ?5 THEN COALESCE(disabled_at, ?6) ELSE NULL END
         WHERE id = ?1",
        params![
            user_id,
            access.role.name(),
            access.shop_id,
            access.region_id,
            access.disabled,
            timestamp::format(&now)
        ],
    )?;
    let was_admin = before.user.role == Role::Admin && before.disabled_at.is_none();
    let admins: i64 = tx.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    if was_admin && admins == 0 {
        return Err(last_admin_refusal(user_id));
    }
    if UserAccess::of(&before).ends_credentials(access) {
        end_credentials(tx, user_id)
    } else {
        Ok(0)
    }
}
