//! Staff of a shop who may log in at its tills: added or replaced, removed (the tills
//! deactivate them), their PIN reset. A PIN is 4 to 8 digits; only its Argon2 hash is stored,
//! sent to tills, and never journaled.

use pos_domain::wire::{StaffMember, StaffRole, kinds};
use pos_hq_core::distribution;
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, existing_shop};
use crate::secrets;
use crate::store::{AdminChange, NewChange};

/// A staff member as admins see them (never the PIN or its hash).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct StaffView {
    pub id: String,
    pub name: String,
    /// `cashier` or `manager`.
    pub role: String,
}

fn checked_pin(pin: &str) -> Result<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AdminError::Invalid("a PIN is 4 to 8 digits".into()))
    }
}

/// `cashier` or `manager`.
pub fn staff_role(role: &str) -> Result<StaffRole> {
    match role {
        "cashier" => Ok(StaffRole::Cashier),
        "manager" => Ok(StaffRole::Manager),
        other => Err(AdminError::Invalid(format!(
            "role `{other}`: use cashier or manager"
        ))),
    }
}

fn view(member: &StaffMember) -> StaffView {
    StaffView {
        id: member.id.clone(),
        name: member.name.clone(),
        role: member.role.name().into(),
    }
}

fn journal_view(member: Option<&StaffMember>) -> Option<serde_json::Value> {
    member.and_then(|m| serde_json::to_value(view(m)).ok())
}

impl Admin<'_> {
    async fn staff_member(&self, shop: &str, id: &str) -> Result<Option<StaffMember>> {
        let data = self.store.change_data(kinds::STAFF, shop, id).await?;
        Ok(data.and_then(|d| serde_json::from_value(d).ok()))
    }

    /// Adds (or replaces) a staff member of a shop; the id defaults to a slug of the name.
    pub async fn add_staff(
        &self,
        shop: &str,
        id: Option<String>,
        name: &str,
        role: StaffRole,
        pin: &str,
    ) -> Result<StaffView> {
        checked_pin(pin)?;
        existing_shop(self.store, shop).await?;
        let name = name.trim();
        let id = id.unwrap_or_else(|| distribution::staff_id(name));
        if id.is_empty() || name.is_empty() {
            return Err(AdminError::Invalid(
                "give a name (and an id if the name makes none)".into(),
            ));
        }
        let before = self.staff_member(shop, &id).await?;
        let member = StaffMember {
            id,
            name: name.to_string(),
            role,
            pin_hash: secrets::hash_password(pin)
                .map_err(|e| AdminError::Internal(e.to_string()))?,
            active: true,
        };
        let change = AdminChange::Changes(vec![distribution::staff_change(shop, &member)]);
        let target = format!("staff {} of shop {shop}", member.id);
        self.apply(
            change,
            "staff.put",
            target,
            journal_view(before.as_ref()),
            journal_view(Some(&member)),
        )
        .await?;
        Ok(view(&member))
    }

    /// Gives a staff member a new PIN; their name and role stay.
    pub async fn reset_staff_pin(&self, shop: &str, id: &str, pin: &str) -> Result<()> {
        checked_pin(pin)?;
        let member = self.staff_member(shop, id).await?.ok_or_else(|| {
            AdminError::NotFound(format!("no staff member `{id}` in shop `{shop}`"))
        })?;
        let member = StaffMember {
            pin_hash: secrets::hash_password(pin)
                .map_err(|e| AdminError::Internal(e.to_string()))?,
            ..member
        };
        let change = AdminChange::Changes(vec![distribution::staff_change(shop, &member)]);
        let target = format!("staff {id} of shop {shop}");
        let after = serde_json::json!({"pin": "reset"});
        self.apply(change, "staff.pin", target, None, Some(after))
            .await?;
        Ok(())
    }

    /// Removes a staff member from a shop: its tills deactivate them.
    pub async fn remove_staff(&self, shop: &str, id: &str) -> Result<u64> {
        let before = self.staff_member(shop, id).await?;
        let change = AdminChange::Changes(vec![NewChange {
            kind: kinds::STAFF,
            shop_id: shop.to_string(),
            key: id.to_string(),
            data: None,
        }]);
        let target = format!("staff {id} of shop {shop}");
        self.apply(
            change,
            "staff.remove",
            target,
            journal_view(before.as_ref()),
            None,
        )
        .await
    }

    /// The staff of a shop.
    pub async fn staff(&self, shop: &str) -> Result<Vec<StaffView>> {
        let mut out = Vec::new();
        let mut page = crate::store::Page::first();
        loop {
            let entries = self.store.live_entries(kinds::STAFF, &page).await?;
            let last = entries.last().map(|e| (e.key.clone(), e.shop_id.clone()));
            let full = entries.len() as u32 == page.limit;
            out.extend(
                entries
                    .into_iter()
                    .filter(|e| e.shop_id == shop)
                    .filter_map(|e| serde_json::from_value::<StaffMember>(e.data).ok())
                    .map(|m| view(&m)),
            );
            match last {
                Some(last) if full => page.after = Some(last),
                _ => return Ok(out),
            }
        }
    }
}
