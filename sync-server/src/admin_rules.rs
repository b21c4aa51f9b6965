//! `sync-server admin` commands for the rules the tills apply by themselves: VAT rates per
//! territory from a day on, the means of payment each shop takes, promotions, and the cash
//! office's rule (the pay-out limit above which a manager approves, the closing hour after
//! which the app asks for the Z). Each is checked here (a rule a till would refuse is never
//! distributed) and written as a changes-feed entry ([`sync_server::distribution`]): VAT rates
//! for every shop of a territory, tender types and the cash-office rule per shop, promotions
//! for every shop or one.

use std::sync::Arc;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use pos_domain::Money;
use pos_domain::journal::{CASH_OFFICE_RULES, CASH_OFFICE_RULES_KEY, CashOfficeRules};
use pos_domain::promotion::{Benefit, Promotion};
use pos_domain::tender::{TenderKind, TenderType};
use pos_domain::vat::{Territory, VatCode, VatRate, VatRateEntry};
use pos_domain::wire::kinds;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use sync_server::distribution::{self, EVERY_SHOP, territory_scope};
use sync_server::store::{NewChange, Store};

/// The admin commands of this module (flattened into `sync-server admin`).
#[derive(Subcommand, Debug)]
pub enum RulesAdmin {
    /// VAT rates of a territory, from a day on (the built-in legal rates apply where none is
    /// set): a rate change is sent ahead and each till switches at that day's start.
    Vat {
        #[command(subcommand)]
        action: VatAction,
    },
    /// The means of payment a shop takes, their label and a per-ticket limit.
    Tender {
        #[command(subcommand)]
        action: TenderAction,
    },
    /// Promotions the tills apply by themselves: a percentage or an amount off each unit of
    /// products or categories, for some days.
    Promotion {
        #[command(subcommand)]
        action: PromotionAction,
    },
    /// The cash office's rule of a shop (or every shop): the pay-out limit and the closing
    /// hour. Each till applies it at its next sync.
    CashOffice {
        #[command(subcommand)]
        action: CashOfficeAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum CashOfficeAction {
    /// Sets a shop's (or every shop's) cash-office rule.
    Set {
        #[command(flatten)]
        shops: ShopChoice,
        /// A pay-out above this amount needs a manager's approval at the till: `50.00`.
        #[arg(long)]
        payout_limit: Money,
        /// The local hour (0 to 23) the shop closes: from then on the app asks for the Z.
        /// Left out: it asks at the first action of the next day.
        #[arg(long)]
        closing_hour: Option<u8>,
    },
    /// Back to the tills' built-in rule (pay-outs above 50.00 need a manager, no closing hour).
    Reset {
        #[command(flatten)]
        shops: ShopChoice,
    },
}

#[derive(Subcommand, Debug)]
pub enum VatAction {
    /// Sets the rate of a VAT code in a territory from a day on.
    Set {
        /// metropole, corsica, guadeloupe, martinique, reunion, guyane or mayotte.
        #[arg(long)]
        territory: Territory,
        /// standard, intermediate, reduced, super_reduced or exempt.
        #[arg(long)]
        code: VatCode,
        /// In percent: `20`, `5.5`.
        #[arg(long)]
        rate: VatRate,
        /// The first day it applies (YYYY-MM-DD), in each shop's time zone.
        #[arg(long)]
        from: NaiveDate,
    },
    /// Removes a rate set with `vat set` (the earlier one, or the built-in one, applies again).
    Remove {
        #[arg(long)]
        territory: Territory,
        #[arg(long)]
        code: VatCode,
        #[arg(long)]
        from: NaiveDate,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenderAction {
    /// Sets how a shop (or every shop) takes a means of payment. Options left out take their
    /// default: accepted, the usual label, no limit.
    Set {
        #[command(flatten)]
        shops: ShopChoice,
        /// cash, card, gift_card, voucher, cheque or store_credit.
        #[arg(long)]
        kind: TenderKind,
        /// The shop does not take it as payment (refunds are not limited).
        #[arg(long)]
        refuse: bool,
        /// The name shown at the till (`Titre-restaurant`).
        #[arg(long)]
        label: Option<String>,
        /// The most one ticket may take in it, including VAT: `25.00`.
        #[arg(long)]
        max: Option<Money>,
    },
    /// Back to the default for a shop (or every shop): accepted, usual label, no limit.
    Reset {
        #[command(flatten)]
        shops: ShopChoice,
        #[arg(long)]
        kind: TenderKind,
    },
}

/// One shop, or every shop there is.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ShopChoice {
    #[arg(long)]
    shop: Option<String>,
    /// Every shop that exists now (a shop created later starts from the defaults).
    #[arg(long)]
    all_shops: bool,
}

#[derive(Subcommand, Debug)]
pub enum PromotionAction {
    /// Creates or replaces a promotion, for every shop or for one.
    Set {
        #[arg(long)]
        id: String,
        /// Printed on the receipt: `Noël -20 %`.
        #[arg(long)]
        label: String,
        /// First and last day (YYYY-MM-DD, both included), in each shop's time zone.
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// Percentage off the line.
        #[arg(long, group = "benefit")]
        percent: Option<Decimal>,
        /// Amount off each unit, including VAT (products sold by unit).
        #[arg(long, group = "benefit")]
        amount_off: Option<Money>,
        /// A product id it applies to (repeat for several).
        #[arg(long = "product")]
        products: Vec<String>,
        /// A category it applies to (repeat for several).
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Only this shop (default: every shop).
        #[arg(long)]
        shop: Option<String>,
    },
    /// Withdraws a promotion from the tills (set with the same `--shop`, or none).
    Remove {
        #[arg(long)]
        id: String,
        #[arg(long)]
        shop: Option<String>,
    },
}

/// The name a unit enum is written under in JSON (`metropole`, `gift_card`).
fn enum_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn to_value<T: serde::Serialize>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}

async fn shop_ids(store: &Arc<dyn Store>, choice: &ShopChoice) -> Result<Vec<String>> {
    let shops = store.shops().await?;
    match &choice.shop {
        Some(shop) if shops.iter().any(|s| &s.id == shop) => Ok(vec![shop.clone()]),
        Some(shop) => bail!("no shop `{shop}`: see `sync-server admin shop list`"),
        None if shops.is_empty() => bail!("there is no shop yet: create one first"),
        None => Ok(shops.into_iter().map(|s| s.id).collect()),
    }
}

pub async fn run(store: Arc<dyn Store>, command: RulesAdmin) -> Result<(Value, String)> {
    match command {
        RulesAdmin::Vat { action } => vat(store, action).await,
        RulesAdmin::Tender { action } => tender(store, action).await,
        RulesAdmin::Promotion { action } => promotion(store, action).await,
        RulesAdmin::CashOffice { action } => cash_office(store, action).await,
    }
}

async fn cash_office(store: Arc<dyn Store>, action: CashOfficeAction) -> Result<(Value, String)> {
    let (shops, rule) = match action {
        CashOfficeAction::Set {
            shops,
            payout_limit,
            closing_hour,
        } => {
            let rule = CashOfficeRules {
                payout_limit,
                closing_hour,
            };
            if !rule.is_valid() {
                bail!(
                    "the pay-out limit must be a readable amount of zero or more, and the \
                     closing hour between 0 and 23"
                );
            }
            (shops, Some(rule))
        }
        CashOfficeAction::Reset { shops } => (shops, None),
    };
    let shops = shop_ids(&store, &shops).await?;
    let changes = shops
        .iter()
        .map(|shop| NewChange {
            kind: CASH_OFFICE_RULES,
            shop_id: shop.clone(),
            key: CASH_OFFICE_RULES_KEY.to_string(),
            data: rule.as_ref().and_then(to_value),
        })
        .collect();
    let changed = store.put_changes(changes).await?;
    let what = match &rule {
        Some(rule) => format!(
            "pay-outs above {} need a manager{}",
            rule.payout_limit,
            rule.closing_hour
                .map(|h| format!(", the Z is asked from {h}:00"))
                .unwrap_or_default()
        ),
        None => "the built-in cash-office rule applies again".to_string(),
    };
    Ok((
        json!({"shops": shops, "rule": rule, "changed": changed}),
        format!("{what} in {} shop(s) ({changed} changed)", shops.len()),
    ))
}

async fn vat(store: Arc<dyn Store>, action: VatAction) -> Result<(Value, String)> {
    let (territory, entry, set) = match action {
        VatAction::Set {
            territory,
            code,
            rate,
            from,
        } => (
            territory,
            VatRateEntry {
                code,
                rate,
                valid_from: from,
            },
            true,
        ),
        VatAction::Remove {
            territory,
            code,
            from,
        } => (
            territory,
            VatRateEntry {
                code,
                rate: VatRate::percent(Decimal::ZERO),
                valid_from: from,
            },
            false,
        ),
    };
    let territory = enum_name(&territory);
    let changed = store
        .put_changes(vec![NewChange {
            kind: kinds::VAT_RATE,
            shop_id: territory_scope(&territory),
            key: entry.key(),
            data: if set { to_value(&entry) } else { None },
        }])
        .await?;
    let text = if set {
        format!(
            "{} VAT in {territory}: {} % from {} ({changed} change)",
            pos_domain::vat::code_name(entry.code),
            entry.rate,
            entry.valid_from
        )
    } else {
        format!("{} removed in {territory} ({changed} change)", entry.key())
    };
    Ok((
        json!({"territory": territory, "key": entry.key(), "removed": !set, "changed": changed}),
        text,
    ))
}

async fn tender(store: Arc<dyn Store>, action: TenderAction) -> Result<(Value, String)> {
    let (shops, kind, rule) = match action {
        TenderAction::Set {
            shops,
            kind,
            refuse,
            label,
            max,
        } => {
            let rule = TenderType {
                kind,
                accepted: !refuse,
                label: label
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
                max_amount: max,
            };
            rule.validate().map_err(anyhow::Error::msg)?;
            (shops, kind, Some(rule))
        }
        TenderAction::Reset { shops, kind } => (shops, kind, None),
    };
    let shops = shop_ids(&store, &shops).await?;
    let key = enum_name(&kind);
    let changes = shops
        .iter()
        .map(|shop| NewChange {
            kind: kinds::TENDER,
            shop_id: shop.clone(),
            key: key.clone(),
            data: rule.as_ref().and_then(to_value),
        })
        .collect();
    let changed = store.put_changes(changes).await?;
    let what = match &rule {
        Some(rule) if !rule.accepted => format!("{} refused", rule.label()),
        Some(rule) => match rule.max_amount {
            Some(max) => format!("{} accepted up to {max} per ticket", rule.label()),
            None => format!("{} accepted", rule.label()),
        },
        None => format!("{key} back to the default"),
    };
    Ok((
        json!({"kind": key, "shops": shops, "rule": rule, "changed": changed}),
        format!("{what} in {} shop(s) ({changed} changed)", shops.len()),
    ))
}

async fn promotion(store: Arc<dyn Store>, action: PromotionAction) -> Result<(Value, String)> {
    match action {
        PromotionAction::Set {
            id,
            label,
            from,
            to,
            percent,
            amount_off,
            products,
            categories,
            shop,
        } => {
            let benefit = match (percent, amount_off) {
                (Some(p), None) => Benefit::PercentOff(p),
                (None, Some(a)) => Benefit::AmountOffEach(a),
                _ => bail!("give --percent or --amount-off"),
            };
            let promotion = Promotion {
                id: id.trim().to_string(),
                label: label.trim().to_string(),
                starts: from,
                ends: to,
                products,
                categories,
                benefit,
            };
            promotion.validate().map_err(anyhow::Error::msg)?;
            let scope = promotion_scope(&store, shop).await?;
            // One scope per promotion id: a till holds one promotion per id, so the same id
            // live for every shop and for one would make its removal ambiguous.
            if let Some(other) = store
                .live_scopes(kinds::PROMOTION, &promotion.id)
                .await?
                .into_iter()
                .find(|s| s != &scope)
            {
                bail!(
                    "promotion `{}` is already set for {}: remove it there first \
                     (`sync-server admin promotion remove --id {}{}`) or use another id",
                    promotion.id,
                    scope_text(&other),
                    promotion.id,
                    if other == EVERY_SHOP {
                        String::new()
                    } else {
                        format!(" --shop {other}")
                    }
                );
            }
            let changed = store
                .put_changes(vec![NewChange {
                    kind: kinds::PROMOTION,
                    shop_id: scope.clone(),
                    key: promotion.id.clone(),
                    data: to_value(&promotion),
                }])
                .await?;
            Ok((
                json!({"promotion": promotion, "shop": scope, "changed": changed}),
                format!(
                    "promotion {} ({}) from {} to {} for {} ({changed} change)",
                    promotion.id,
                    promotion.label,
                    promotion.starts,
                    promotion.ends,
                    scope_text(&scope)
                ),
            ))
        }
        PromotionAction::Remove { id, shop } => {
            let scope = promotion_scope(&store, shop).await?;
            let changed = store
                .put_changes(vec![NewChange {
                    kind: kinds::PROMOTION,
                    shop_id: scope.clone(),
                    key: id.clone(),
                    data: None,
                }])
                .await?;
            Ok((
                json!({"promotion": id, "shop": scope, "removed": true, "changed": changed}),
                format!(
                    "promotion {id} withdrawn for {} ({changed} change)",
                    scope_text(&scope)
                ),
            ))
        }
    }
}

async fn promotion_scope(store: &Arc<dyn Store>, shop: Option<String>) -> Result<String> {
    match shop {
        Some(shop) => Ok(shop_ids(
            store,
            &ShopChoice {
                shop: Some(shop),
                all_shops: false,
            },
        )
        .await?
        .remove(0)),
        None => Ok(EVERY_SHOP.to_string()),
    }
}

fn scope_text(scope: &str) -> String {
    if scope == distribution::EVERY_SHOP {
        "every shop".into()
    } else {
        format!("shop {scope}")
    }
}
