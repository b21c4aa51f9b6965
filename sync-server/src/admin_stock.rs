//! `sync-server admin stock minmax`: the replenishment levels head office sets per shop and
//! product (set one, import a CSV file `shop,product,min,max,unit`, list a shop's), through
//! the same [`sync_server::admin::Admin`] functions as `PUT /api/v1/admin/shops/{shop}/minmax`,
//! so every change is journaled alike.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use pos_domain::stock::StockUnit;
use serde_json::{Value, json};
use sync_server::admin::Admin;
use sync_server::replenishment::MinMax;
use sync_server::store::Store;

/// The stock commands.
#[derive(Subcommand, Debug)]
pub enum StockAction {
    /// Replenishment levels: below its min, a product is proposed up to its max.
    Minmax {
        #[command(subcommand)]
        action: MinmaxAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum MinmaxAction {
    /// Sets the min and max of one product at one shop.
    Set {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        product: String,
        #[arg(long)]
        min: u32,
        #[arg(long)]
        max: u32,
        /// `units` or `grams`.
        #[arg(long, default_value = "units")]
        unit: String,
    },
    /// Sets every line of a CSV file (header `shop,product,min,max,unit`), all or none.
    Import { file: PathBuf },
    /// Lists a shop's levels.
    List {
        #[arg(long)]
        shop: String,
    },
}

pub async fn run(store: Arc<dyn Store>, action: StockAction) -> Result<(Value, String)> {
    let admin = Admin::command_line(store.as_ref());
    let StockAction::Minmax { action } = action;
    match action {
        MinmaxAction::Set {
            shop,
            product,
            min,
            max,
            unit,
        } => {
            let unit = match unit.as_str() {
                "units" => StockUnit::Units,
                "grams" => StockUnit::Grams,
                other => bail!("unit `{other}`: use units or grams"),
            };
            let level = MinMax {
                shop_id: shop,
                product_id: product,
                unit,
                min,
                max,
            };
            let set = admin.set_minmax(vec![level.clone()]).await?;
            let text = format!(
                "shop {}: {} between {} and {}",
                level.shop_id, level.product_id, level.min, level.max
            );
            Ok((json!({"set": set, "level": level}), text))
        }
        MinmaxAction::Import { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let set = admin.import_minmax(&bytes).await?;
            Ok((json!({"set": set}), format!("{set} level(s) set")))
        }
        MinmaxAction::List { shop } => {
            let levels = store.minmax(&shop).await?;
            let text = levels
                .iter()
                .map(|l| format!("{}\t{}\t{}\t{}", l.product_id, l.unit.name(), l.min, l.max))
                .collect::<Vec<_>>()
                .join("\n");
            Ok((serde_json::to_value(&levels)?, text))
        }
    }
}
