//! The storage of head office's stock, read side: [`StockStore`], which every
//! [`crate::Store`] is. The ingest writes the stock lines and their movements in the upload's
//! transaction (see [`crate::ingest_tx`]); this reads them for the web shop, head office and
//! tests.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A stock line: a product at a shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockLevel {
    pub shop_id: String,
    pub product_id: String,
    /// `units` or `grams`.
    pub unit: String,
    pub on_hand: i64,
    /// Sent by another shop, not received yet.
    pub in_transit: i64,
    /// Held for click & collect orders waiting at the shop.
    pub reserved: i64,
    /// What the web shop may promise: on hand less reserved, never below zero.
    pub available: i64,
    /// How many movements made it.
    pub version: i64,
}

/// One stored change to a stock line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockMovementRow {
    pub id: i64,
    pub shop_id: String,
    pub product_id: String,
    pub unit: String,
    /// `sale`, `return`, `exchange`, `goods_receipt`, `transfer_out`, `transfer_sent`,
    /// `transfer_in`, `count_adjustment`, `reservation`, `reservation_released`,
    /// `reservation_consumed`.
    pub kind: String,
    pub on_hand: i64,
    pub in_transit: i64,
    pub reserved: i64,
    /// `tills/<till>/<chain>/<seq>` or `web_orders/<id>`.
    pub source: String,
    pub at: String,
    pub reason: Option<String>,
    pub recorded_at: String,
}

/// The read verbs of stock.
#[async_trait]
pub trait StockStore {
    /// The lines of `products` at `shops` (every shop when `shops` is empty), by shop and
    /// product.
    async fn stock_levels(&self, shops: &[String], products: &[String]) -> Result<Vec<StockLevel>>;
    /// The movements of a shop's lines (of one product when given), oldest first, after
    /// movement id `after`, at most `limit`.
    async fn stock_movements(
        &self,
        shop_id: &str,
        product_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StockMovementRow>>;
}

/// Puts stock lines in the order [`StockStore::stock_levels`] answers them: by shop, product
/// and unit. Sorted here rather than by the database: an answer of 60,000 lines sorted by
/// PostgreSQL spills to disk and took most of the query's time.
pub fn in_shop_order(mut levels: Vec<StockLevel>) -> Vec<StockLevel> {
    levels.sort_unstable_by(|a, b| {
        (&a.shop_id, &a.product_id, &a.unit).cmp(&(&b.shop_id, &b.product_id, &b.unit))
    });
    levels
}

/// A stock line as read, its availability computed by the one rule
/// ([`pos_hq_core::stock::Stored::available`]).
#[allow(clippy::too_many_arguments)]
pub fn level_from(
    shop_id: String,
    product_id: String,
    unit: String,
    on_hand: i64,
    in_transit: i64,
    reserved: i64,
    version: i64,
) -> StockLevel {
    StockLevel {
        shop_id,
        product_id,
        unit,
        on_hand,
        in_transit,
        reserved,
        available: pos_hq_core::stock::Stored {
            level: on_hand,
            reserved,
            ..Default::default()
        }
        .available(),
        version,
    }
}
