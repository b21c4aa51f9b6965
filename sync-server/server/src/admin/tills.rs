//! Tills: creating one issues its one-time enrollment code (shown once, only its hash kept);
//! a new code lets a till enroll again (its current token stops at once); revoking one stops
//! its token and any pending code (its records stay).

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, checked_id, existing_shop, slug};
use crate::secrets;
use crate::store::{AdminChange, NewTill};

/// Hours an enrollment code stays valid unless chosen otherwise.
pub const CODE_HOURS: i64 = 72;

/// A till's one-time enrollment code, as shown once to the admin.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct EnrollmentCode {
    pub till_id: String,
    pub shop_id: String,
    pub name: String,
    /// Type it at the till (`till enroll --code`); it works once.
    pub enrollment_code: String,
    /// When it stops working (RFC 3339 UTC).
    pub expires_at: String,
}

fn code_expiry(hours: i64) -> Result<chrono::DateTime<Utc>> {
    if !(1..=24 * 30).contains(&hours) {
        return Err(AdminError::Invalid(
            "an enrollment code works 1 to 720 hours: give a number of hours in that range".into(),
        ));
    }
    Ok(Utc::now() + Duration::hours(hours))
}

fn new_code() -> Result<String> {
    secrets::new_enrollment_code().map_err(|e| AdminError::Internal(e.to_string()))
}

impl Admin<'_> {
    /// Creates a till in a shop (id defaults to `SHOP-<slug of the name>`) with its code.
    pub async fn create_till(
        &self,
        shop: &str,
        name: &str,
        id: Option<String>,
        hours: i64,
    ) -> Result<EnrollmentCode> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AdminError::Invalid(
                "give the till a name (`Caisse 1`)".into(),
            ));
        }
        let id = checked_id(
            "till",
            id.unwrap_or_else(|| format!("{shop}-{}", slug(name))),
        )?;
        existing_shop(self.store, shop).await?;
        if self.store.tills().await?.iter().any(|t| t.id == id) {
            return Err(AdminError::Conflict(format!(
                "till `{id}` already exists: give another id, or issue it a new code"
            )));
        }
        let expires = code_expiry(hours)?;
        let code = new_code()?;
        let till = NewTill {
            id,
            shop_id: shop.to_string(),
            name: name.to_string(),
            code_hash: secrets::code_hash(&code),
            code_expires_at: expires,
        };
        let expires_at = pos_domain::record::timestamp::format(&expires);
        let after = serde_json::json!({
            "till_id": till.id, "shop_id": till.shop_id, "name": till.name,
            "code_expires_at": expires_at,
        });
        self.apply(
            AdminChange::Till(till.clone()),
            "till.create",
            format!("till {}", till.id),
            None,
            Some(after),
        )
        .await?;
        Ok(EnrollmentCode {
            till_id: till.id,
            shop_id: till.shop_id,
            name: till.name,
            enrollment_code: code,
            expires_at,
        })
    }

    /// A new one-time code for an existing till; its current token stops working at once.
    pub async fn new_till_code(&self, till_id: &str, hours: i64) -> Result<EnrollmentCode> {
        let till = self
            .store
            .tills()
            .await?
            .into_iter()
            .find(|t| t.id == till_id)
            .ok_or_else(|| AdminError::NotFound(format!("no till `{till_id}`")))?;
        let expires = code_expiry(hours)?;
        let code = new_code()?;
        let change = AdminChange::TillCode {
            till_id: till_id.to_string(),
            code_hash: secrets::code_hash(&code),
            expires_at: expires,
        };
        let expires_at = pos_domain::record::timestamp::format(&expires);
        let before = serde_json::json!({"enrolled": till.enrolled, "revoked_at": till.revoked_at});
        let after = serde_json::json!({"enrolled": false, "code_expires_at": expires_at});
        self.apply(
            change,
            "till.code",
            format!("till {till_id}"),
            Some(before),
            Some(after),
        )
        .await?;
        Ok(EnrollmentCode {
            till_id: till.id,
            shop_id: till.shop_id,
            name: till.name,
            enrollment_code: code,
            expires_at,
        })
    }

    /// Revokes a till: its token and any pending code stop working at once; its records stay.
    pub async fn revoke_till(&self, till_id: &str) -> Result<()> {
        let before = self
            .store
            .tills()
            .await?
            .into_iter()
            .find(|t| t.id == till_id)
            .map(|t| serde_json::json!({"enrolled": t.enrolled, "revoked_at": t.revoked_at}));
        let now = Utc::now();
        let change = AdminChange::RevokeTill {
            till_id: till_id.to_string(),
        };
        let after = serde_json::json!({"revoked_at": pos_domain::record::timestamp::format(&now)});
        self.apply_at(
            change,
            "till.revoke",
            format!("till {till_id}"),
            before,
            Some(after),
            now,
        )
        .await?;
        tracing::warn!(till = %till_id, by = %self.actor, "till revoked");
        Ok(())
    }
}
