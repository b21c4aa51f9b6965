//! `sync-server admin` commands for the rules the tills apply by themselves: VAT rates per
//! territory from a day on, the means of payment each shop takes, promotions, and the cash
//! office's rule (the pay-out limit above which a manager approves, the closing hour after
//! which the app asks for the Z). Each is
//! checked and journaled by [`sync_server::admin::rules`] (the functions the admin HTTP API
//! calls) and written as changes-feed entries: VAT rates for every shop of a territory, tender
//! types and the cash-office rule per shop, promotions for every shop or one.

use std::sync::Arc;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use pos_domain::Money;
use pos_domain::journal::CashOfficeRules;
use pos_domain::promotion::{Benefit, Promotion};
use pos_domain::tender::{TenderKind, TenderType};
use pos_domain::vat::{Territory, VatCode, VatRate, VatRateEntry};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use sync_server::admin::Admin;
use sync_server::admin::rules::{enum_name, scope_text};
use sync_server::store::Store;

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

fn shop_of(choice: &ShopChoice) -> Option<&str> {
    choice.shop.as_deref()
}

pub async fn run(store: Arc<dyn Store>, command: RulesAdmin) -> Result<(Value, String)> {
    let admin = Admin::command_line(store.as_ref());
    match command {
        RulesAdmin::Vat { action } => vat(&admin, action).await,
        RulesAdmin::Tender { action } => tender(&admin, action).await,
        RulesAdmin::Promotion { action } => promotion(&admin, action).await,
        RulesAdmin::CashOffice { action } => cash_office(&admin, action).await,
    }
}

async fn cash_office(admin: &Admin<'_>, action: CashOfficeAction) -> Result<(Value, String)> {
    let (choice, rule) = match action {
        CashOfficeAction::Set {
            shops,
            payout_limit,
            closing_hour,
        } => (
            shops,
            Some(CashOfficeRules {
                payout_limit,
                closing_hour,
            }),
        ),
        CashOfficeAction::Reset { shops } => (shops, None),
    };
    let (shops, changed) = admin
        .set_cash_office(shop_of(&choice), rule.clone())
        .await?;
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

async fn vat(admin: &Admin<'_>, action: VatAction) -> Result<(Value, String)> {
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
    let changed = admin.set_vat_rate(territory, entry, set).await?;
    let territory = enum_name(&territory);
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

async fn tender(admin: &Admin<'_>, action: TenderAction) -> Result<(Value, String)> {
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
                label,
                max_amount: max,
            };
            (shops, kind, Some(rule))
        }
        TenderAction::Reset { shops, kind } => (shops, kind, None),
    };
    let shops = admin
        .set_tender(shop_of(&shops), kind, rule.clone())
        .await?;
    let key = enum_name(&kind);
    let what = match &rule {
        Some(rule) if !rule.accepted => format!("{} refused", rule.label()),
        Some(rule) => match rule.max_amount {
            Some(max) => format!("{} accepted up to {max} per ticket", rule.label()),
            None => format!("{} accepted", rule.label()),
        },
        None => format!("{key} back to the default"),
    };
    Ok((
        json!({"kind": key, "shops": shops, "rule": rule, "changed": shops.len()}),
        format!("{what} in {} shop(s)", shops.len()),
    ))
}

async fn promotion(admin: &Admin<'_>, action: PromotionAction) -> Result<(Value, String)> {
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
            let scope = admin
                .set_promotion(promotion.clone(), shop.as_deref())
                .await?;
            Ok((
                json!({"promotion": promotion, "shop": scope, "changed": 1}),
                format!(
                    "promotion {} ({}) from {} to {} for {}",
                    promotion.id,
                    promotion.label,
                    promotion.starts,
                    promotion.ends,
                    scope_text(&scope)
                ),
            ))
        }
        PromotionAction::Remove { id, shop } => {
            let scope = admin.remove_promotion(&id, shop.as_deref()).await?;
            Ok((
                json!({"promotion": id, "shop": scope, "removed": true, "changed": 1}),
                format!("promotion {id} withdrawn for {}", scope_text(&scope)),
            ))
        }
    }
}
