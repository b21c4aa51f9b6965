//! Head-office users and their roles: creating one issues their first API token (shown once);
//! a web-app login needs a password, set with `sync-server admin user password`. A user's role
//! and scope change, and a user is disabled or enabled again, through [`Admin::set_user_role`]
//! and [`Admin::set_user_disabled`]: a new role or scope, or being disabled, ends every session
//! and API token of theirs at once (least privilege: a demoted admin keeps no admin session),
//! and no change may leave head office without an active admin. The scope rule (a shop for a
//! shop manager, a region for a regional manager, each existing, and nothing else) is
//! [`Admin::check_scope`], for creations and changes alike.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, checked_id, existing_shop, slug};
use crate::secrets;
use crate::store::{AdminChange, Role, User, UserAccess, UserAccount};

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
        self.check_scope(
            user.role,
            user.shop_id.as_deref(),
            user.region_id.as_deref(),
        )
        .await?;
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
        let change = AdminChange::User {
            user: user.clone(),
            token_hash: secrets::token_hash(&token),
            token_expires_at: expires,
        };
        self.apply(
            change,
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
        let change = AdminChange::RevokeUser {
            user_id: user_id.to_string(),
        };
        self.apply(
            change,
            "user.revoke",
            format!("user {user_id}"),
            None,
            Some(serde_json::json!({"tokens": "ended"})),
        )
        .await
    }
}

impl Admin<'_> {
    /// The scope rule of a role: a shop manager has their shop, a regional manager their
    /// region, each existing, and no other role has either.
    pub async fn check_scope(
        &self,
        role: Role,
        shop_id: Option<&str>,
        region_id: Option<&str>,
    ) -> Result<()> {
        if (role == Role::ShopManager) != shop_id.is_some() {
            return Err(AdminError::Invalid(
                "give a shop for a shop manager, and only for one".into(),
            ));
        }
        if (role == Role::RegionalManager) != region_id.is_some() {
            return Err(AdminError::Invalid(
                "give a region for a regional manager, and only for one".into(),
            ));
        }
        if let Some(shop) = shop_id {
            existing_shop(self.store, shop).await?;
        }
        if let Some(region) = region_id
            && !self.store.regions().await?.iter().any(|r| r.id == region)
        {
            return Err(AdminError::NotFound(format!(
                "no region `{region}`: create it first, or pick one of the listed regions"
            )));
        }
        Ok(())
    }

    /// A user as admins see them.
    pub async fn user(&self, user_id: &str) -> Result<UserAccount> {
        self.store
            .users()
            .await?
            .into_iter()
            .find(|u| u.user.id == user_id)
            .ok_or_else(|| AdminError::NotFound(format!("no user `{user_id}`")))
    }

    /// Gives a user another role and scope (checked as for a creation); unless nothing
    /// changes, their sessions and API tokens end, so they log in again under the new role.
    pub async fn set_user_role(
        &self,
        user_id: &str,
        role: Role,
        shop_id: Option<String>,
        region_id: Option<String>,
    ) -> Result<AccessChanged> {
        self.check_scope(role, shop_id.as_deref(), region_id.as_deref())
            .await?;
        let before = self.user(user_id).await?;
        let access = UserAccess {
            role,
            shop_id,
            region_id,
            ..UserAccess::of(&before)
        };
        self.change_access(before, access, "user.role").await
    }

    /// Disables a user (their sessions and API tokens end, they cannot log in) or enables
    /// them again (they log in with their password; their old tokens stay ended).
    pub async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<AccessChanged> {
        let before = self.user(user_id).await?;
        let access = UserAccess {
            disabled,
            ..UserAccess::of(&before)
        };
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.change_access(before, access, action).await
    }

    /// Stores `access` with its journal entry in one transaction.
    async fn change_access(
        &self,
        before: UserAccount,
        access: UserAccess,
        action: &str,
    ) -> Result<AccessChanged> {
        let now = Utc::now();
        let after = UserAccount {
            user: User {
                role: access.role,
                shop_id: access.shop_id.clone(),
                region_id: access.region_id.clone(),
                ..before.user.clone()
            },
            disabled_at: match (&before.disabled_at, access.disabled) {
                (_, false) => None,
                (Some(at), true) => Some(at.clone()),
                (None, true) => Some(pos_domain::record::timestamp::format(&now)),
            },
        };
        let target = format!("user {}", before.user.id);
        let (journal_before, journal_after) = (
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&after).ok(),
        );
        let change = AdminChange::UserAccess {
            user_id: before.user.id.clone(),
            access,
        };
        let ended = self
            .apply_at(change, action, target, journal_before, journal_after, now)
            .await?;
        Ok(AccessChanged {
            user: after,
            credentials_ended: ended,
        })
    }
}

/// A user after a change of their access.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct AccessChanged {
    pub user: UserAccount,
    /// Their sessions and API tokens the change ended (0 when role and scope stayed).
    pub credentials_ended: u64,
}
