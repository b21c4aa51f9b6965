//! The rules the tills apply by themselves, checked here (a rule a till would refuse is never
//! distributed) and written as changes-feed entries: promotions for every shop or one, VAT
//! rates for every shop of a territory from a day on, tender types per shop.

use pos_domain::journal::{CASH_OFFICE_RULES, CASH_OFFICE_RULES_KEY, CashOfficeRules};
use pos_domain::promotion::Promotion;
use pos_domain::tender::{TenderKind, TenderType};
use pos_domain::vat::{Territory, VatRateEntry};
use pos_domain::wire::kinds;
use pos_hq_core::distribution::{EVERY_SHOP, territory_scope};
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, existing_shop, json_of};
use crate::store::{AdminChange, NewChange};

/// The name a unit enum is written under in JSON (`metropole`, `gift_card`).
pub fn enum_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Where a promotion applies: one shop, or every shop ([`EVERY_SHOP`]).
pub fn scope_text(scope: &str) -> String {
    if scope == EVERY_SHOP {
        "every shop".into()
    } else {
        format!("shop {scope}")
    }
}

/// A promotion as admins list it, with where it applies.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct ScopedPromotion {
    /// A shop id, or `*` for every shop.
    pub shop: String,
    #[schema(value_type = Object)]
    pub promotion: Promotion,
}

impl Admin<'_> {
    async fn scope_of(&self, shop: Option<&str>) -> Result<String> {
        match shop {
            Some(shop) => {
                existing_shop(self.store, shop).await?;
                Ok(shop.to_string())
            }
            None => Ok(EVERY_SHOP.to_string()),
        }
    }

    /// The shops a rule for `shop` (or every shop, with `None`) goes to.
    pub async fn rule_shops(&self, shop: Option<&str>) -> Result<Vec<String>> {
        let shops = self.store.shops().await?;
        match shop {
            Some(shop) if shops.iter().any(|s| s.id == shop) => Ok(vec![shop.to_string()]),
            Some(shop) => Err(AdminError::NotFound(format!(
                "no shop `{shop}`: pick one of the listed shops"
            ))),
            None if shops.is_empty() => Err(AdminError::Invalid(
                "there is no shop yet: create one first".into(),
            )),
            None => Ok(shops.into_iter().map(|s| s.id).collect()),
        }
    }

    /// Creates or replaces a promotion, for every shop (`None`) or for one. Returns its scope.
    pub async fn set_promotion(&self, promotion: Promotion, shop: Option<&str>) -> Result<String> {
        let promotion = Promotion {
            id: promotion.id.trim().to_string(),
            label: promotion.label.trim().to_string(),
            ..promotion
        };
        promotion
            .validate()
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        let scope = self.scope_of(shop).await?;
        // One scope per promotion id: a till holds one promotion per id, so the same id
        // live for every shop and for one would make its removal ambiguous.
        if let Some(other) = self
            .store
            .live_scopes(kinds::PROMOTION, &promotion.id)
            .await?
            .into_iter()
            .find(|s| s != &scope)
        {
            return Err(AdminError::Conflict(format!(
                "promotion `{}` is already set for {}: remove it there first or use another id",
                promotion.id,
                scope_text(&other),
            )));
        }
        let before = self
            .store
            .change_data(kinds::PROMOTION, &scope, &promotion.id)
            .await?;
        let change = AdminChange::Changes(vec![NewChange {
            kind: kinds::PROMOTION,
            shop_id: scope.clone(),
            key: promotion.id.clone(),
            data: json_of(&promotion),
        }]);
        let target = format!("promotion {} for {}", promotion.id, scope_text(&scope));
        self.apply(change, "promotion.set", target, before, json_of(&promotion))
            .await?;
        Ok(scope)
    }

    /// Withdraws a promotion from the tills (set with the same shop, or none).
    pub async fn remove_promotion(&self, id: &str, shop: Option<&str>) -> Result<String> {
        let scope = self.scope_of(shop).await?;
        let before = self.store.change_data(kinds::PROMOTION, &scope, id).await?;
        if before.is_none() {
            return Err(AdminError::NotFound(format!(
                "no promotion `{id}` for {}",
                scope_text(&scope)
            )));
        }
        let change = AdminChange::Changes(vec![NewChange {
            kind: kinds::PROMOTION,
            shop_id: scope.clone(),
            key: id.to_string(),
            data: None,
        }]);
        let target = format!("promotion {id} for {}", scope_text(&scope));
        self.apply(change, "promotion.remove", target, before, None)
            .await?;
        Ok(scope)
    }

    /// Every live promotion with where it applies.
    pub async fn promotions(&self) -> Result<Vec<ScopedPromotion>> {
        let mut out = Vec::new();
        let mut page = crate::store::Page::first();
        loop {
            let entries = self.store.live_entries(kinds::PROMOTION, &page).await?;
            let last = entries.last().map(|e| (e.key.clone(), e.shop_id.clone()));
            let full = entries.len() as u32 == page.limit;
            for entry in entries {
                match serde_json::from_value(entry.data) {
                    Ok(promotion) => out.push(ScopedPromotion {
                        shop: entry.shop_id,
                        promotion,
                    }),
                    Err(e) => {
                        tracing::warn!(key = %entry.key, "unreadable promotion left out: {e}")
                    }
                }
            }
            match last {
                Some(last) if full => page.after = Some(last),
                _ => return Ok(out),
            }
        }
    }

    /// Sets (`Some`) or removes (`None`: the earlier or built-in rate applies again) the rate
    /// of a VAT code in a territory from a day on.
    pub async fn set_vat_rate(
        &self,
        territory: Territory,
        entry: VatRateEntry,
        set: bool,
    ) -> Result<u64> {
        let territory = enum_name(&territory);
        let scope = territory_scope(&territory);
        let before = self
            .store
            .change_data(kinds::VAT_RATE, &scope, &entry.key())
            .await?;
        let after = if set { json_of(&entry) } else { None };
        let change = AdminChange::Changes(vec![NewChange {
            kind: kinds::VAT_RATE,
            shop_id: scope,
            key: entry.key(),
            data: after.clone(),
        }]);
        let target = format!("VAT {} in {territory}", entry.key());
        let action = if set { "vat.set" } else { "vat.remove" };
        self.apply(change, action, target, before, after).await
    }

    /// Sets how shops take a means of payment (`None`: back to the default, accepted with
    /// its usual label and no limit). Returns the shops it went to.
    pub async fn set_tender(
        &self,
        shop: Option<&str>,
        kind: TenderKind,
        rule: Option<TenderType>,
    ) -> Result<Vec<String>> {
        let rule = rule.map(|r| TenderType {
            kind,
            label: r
                .label
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty()),
            ..r
        });
        if let Some(rule) = &rule {
            rule.validate()
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
        }
        let shops = self.rule_shops(shop).await?;
        let key = enum_name(&kind);
        let changes = shops
            .iter()
            .map(|shop| NewChange {
                kind: kinds::TENDER,
                shop_id: shop.clone(),
                key: key.clone(),
                data: rule.as_ref().and_then(json_of),
            })
            .collect();
        let target = format!("tender {key} in {} shop(s)", shops.len());
        let after = serde_json::json!({"shops": shops, "rule": rule});
        self.apply(
            AdminChange::Changes(changes),
            "tender.set",
            target,
            None,
            Some(after),
        )
        .await?;
        Ok(shops)
    }

    /// Sets the cash-office rule (the pay-out limit above which a manager approves, the hour
    /// after which the app asks for the Z) of every shop (`None`) or one, or with `rule`
    /// `None` withdraws it (the till's built-in rule applies again). Returns the shops and how
    /// many of their feed entries changed.
    pub async fn set_cash_office(
        &self,
        shop: Option<&str>,
        rule: Option<CashOfficeRules>,
    ) -> Result<(Vec<String>, u64)> {
        if rule.as_ref().is_some_and(|r| !r.is_valid()) {
            return Err(AdminError::Invalid(
                "the pay-out limit must be a readable amount of zero or more, and the closing \
                 hour between 0 and 23"
                    .into(),
            ));
        }
        let shops = self.rule_shops(shop).await?;
        let changes = shops
            .iter()
            .map(|shop| NewChange {
                kind: CASH_OFFICE_RULES,
                shop_id: shop.clone(),
                key: CASH_OFFICE_RULES_KEY.to_string(),
                data: rule.as_ref().and_then(json_of),
            })
            .collect();
        let target = format!("cash-office rule in {} shop(s)", shops.len());
        let after = serde_json::json!({"shops": shops, "rule": rule});
        let changed = self
            .apply(
                AdminChange::Changes(changes),
                "cash_office.set",
                target,
                None,
                Some(after),
            )
            .await?;
        Ok((shops, changed))
    }
}
