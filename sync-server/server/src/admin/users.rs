//! Head-office users and their roles: creating one issues their first API token (shown once);
//! a web-app login needs a password, set with `sync-server admin user password`.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, checked_id, slug};
use crate::secrets;
use crate::store::{Role, User};

/// A new user with their first API token, as shown once.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct CreatedUser {
    pub user: User,
    /// `Authorization: Bearer` token; only its hash is kept.
    pub token: String,
    pub token_expires_at: String,
}

impl Admin<'_> {
    /// Creates a user: a shop manager with their shop, a regional manager with their region
    /// (and no one else with either); `token_days` is 1 to 3650.
    pub async fn create_user(&self, user: User, token_days: i64) -> Result<CreatedUser> {
        if !(1..=3650).contains(&token_days) {
            return Err(AdminError::Invalid(
                "an API token works 1 to 3650 days: give a number of days in that range".into(),
            ));
        }
        if (user.role == Role::ShopManager) != user.shop_id.is_some() {
            return Err(AdminError::Invalid(
                "give a shop for a shop manager, and only for one".into(),
            ));
        }
        if (user.role == Role::RegionalManager) != user.region_id.is_some() {
            return Err(AdminError::Invalid(
                "give a region for a regional manager, and only for one".into(),
            ));
        }
        let name = user.name.trim().to_string();
        if name.is_empty() {
            return Err(AdminError::Invalid("give the user a name".into()));
        }
        let id = if user.id.is_empty() {
            slug(&name).to_lowercase()
        } else {
            user.id.clone()
        };
        let user = User {
            id: checked_id("user", id)?,
            name,
            ..user
        };
        let token = secrets::new_token().map_err(|e| AdminError::Internal(e.to_string()))?;
        let expires = Utc::now() + Duration::days(token_days);
        self.store
            .create_user_with_token(&user, &secrets::token_hash(&token), expires)
            .await?;
        self.journal(
            "user.create",
            format!("user {}", user.id),
            None,
            serde_json::to_value(&user).ok(),
        )
        .await?;
        Ok(CreatedUser {
            user,
            token,
            token_expires_at: pos_domain::record::timestamp::format(&expires),
        })
    }

    /// Ends every API token and session of a user at once (their password stays).
    pub async fn revoke_user(&self, user_id: &str) -> Result<u64> {
        let ended = self.store.revoke_user(user_id).await?;
        self.journal(
            "user.revoke",
            format!("user {user_id}"),
            None,
            Some(serde_json::json!({"tokens_ended": ended})),
        )
        .await?;
        Ok(ended)
    }
}
