//! `sync-server admin commission`: the commission plan (set, list, remove a rate) and a
//! month's commissions as JSON, CSV or XLSX, through the same functions as the head-office API
//! ([`sync_server::commissions_api`]), so a script and the web app apply one rule.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sync_server::commissions::{Rate, RateTarget};
use sync_server::commissions_api::{month_report, payroll_tables, set_rate};
use sync_server::spreadsheet;
use sync_server::store::Store;

/// The commission commands.
#[derive(Subcommand, Debug)]
pub enum CommissionAction {
    /// Sets the rate of a category or of a product (a product's rate wins over its
    /// category's), in percent of the amount after discounts excluding VAT.
    Set {
        /// `category` or `product`.
        #[arg(long)]
        target: String,
        /// The category name or the product id.
        #[arg(long)]
        key: String,
        /// Percent, e.g. `2.5`.
        #[arg(long)]
        percent: Decimal,
    },
    /// Lists the rates of the plan.
    List,
    /// Removes a rate.
    Remove {
        #[arg(long)]
        target: String,
        #[arg(long)]
        key: String,
    },
    /// A month's commissions per shop and seller: JSON on standard output, or with --out a
    /// payroll file (`.csv` or `.xlsx`, from its extension).
    Report {
        /// `YYYY-MM`.
        #[arg(long)]
        month: String,
        /// Only this shop (default: every shop).
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn target(text: &str) -> Result<RateTarget> {
    RateTarget::parse(text)
        .with_context(|| format!("target `{text}`: write `category` or `product`"))
}

pub async fn run(store: Arc<dyn Store>, action: CommissionAction) -> Result<(Value, String)> {
    match action {
        CommissionAction::Set {
            target: t,
            key,
            percent,
        } => {
            let rate = Rate {
                target: target(&t)?,
                key,
                percent,
            };
            set_rate(store.as_ref(), &rate, "sync-server admin").await?;
            let text = format!("{} `{}`: {} %", t, rate.key, rate.percent);
            Ok((serde_json::to_value(&rate)?, text))
        }
        CommissionAction::List => {
            let rates = store.commission_rates().await?;
            let text = rates
                .iter()
                .map(|r| {
                    format!(
                        "{:<9} {:<30} {:>7} %",
                        r.rate.target.name(),
                        r.rate.key,
                        r.rate.percent
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok((serde_json::to_value(&rates)?, text))
        }
        CommissionAction::Remove { target: t, key } => {
            if !store.remove_commission_rate(target(&t)?, &key).await? {
                bail!("the plan has no rate for {t} `{key}`");
            }
            Ok((
                json!({"target": t, "key": key, "removed": true}),
                format!("{t} `{key}` removed"),
            ))
        }
        CommissionAction::Report { month, shop, out } => {
            let shops: Vec<_> = store
                .shops()
                .await?
                .into_iter()
                .filter(|s| shop.as_deref().is_none_or(|id| s.id == id))
                .collect();
            if let Some(id) = &shop
                && shops.is_empty()
            {
                bail!("no shop `{id}`");
            }
            let report = month_report(store.as_ref(), &shops, &month).await?;
            let text = format!(
                "{month}: {} seller(s), {} EUR; {} seller(s) not staff of their shop",
                report.sellers.len(),
                report.total,
                report.unknown_sellers.len()
            );
            if let Some(out) = out {
                let tables = payroll_tables(&report);
                let bytes = match out.extension().and_then(|e| e.to_str()) {
                    Some("xlsx") => spreadsheet::xlsx(&tables)?,
                    Some("csv") => spreadsheet::csv(&tables[0])?,
                    _ => bail!("name the file .csv or .xlsx"),
                };
                std::fs::write(&out, bytes)
                    .with_context(|| format!("writing {}", out.display()))?;
                return Ok((
                    json!({"month": month, "out": out, "total": report.total}),
                    text,
                ));
            }
            Ok((serde_json::to_value(&report)?, text))
        }
    }
}
