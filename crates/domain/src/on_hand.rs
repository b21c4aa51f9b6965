//! A product's stock as head office tells a till: `GET /api/v1/tills/{till}/stock?products=...`
//! answers each product's figures at the till's own shop and at the other shops of its region
//! (the shops nearby), with the moment of the answer, so a till that keeps the answer for when
//! head office does not answer can say how old it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::limits::{self, LimitError, MAX_ID_CHARS, MAX_LABEL_CHARS};
use crate::record::timestamp;
use crate::stock::StockUnit;

/// The most products one question may name.
pub const MAX_PRODUCTS: usize = 100;

/// Head office's answer: the products asked about, each at the till's shop and nearby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnHandAnswer {
    /// The till's own shop.
    pub shop_id: String,
    /// When head office answered.
    #[serde(with = "timestamp")]
    pub answered_at: DateTime<Utc>,
    /// In the order asked, each once.
    pub products: Vec<ProductOnHand>,
}

impl OnHandAnswer {
    /// Checks every bound (a till before keeping the answer): ids and names within the
    /// domain's limits, at most [`MAX_PRODUCTS`] products, and a chain's worth of shops.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_text("the shop", &self.shop_id, MAX_ID_CHARS)?;
        limits::check_lines("the products of a stock answer", self.products.len())?;
        for product in &self.products {
            limits::check_text("the product", &product.product_id, MAX_ID_CHARS)?;
            limits::check_lines("the shops nearby", product.nearby.len())?;
            for shop in std::iter::once(&product.here).chain(&product.nearby) {
                limits::check_text("the shop", &shop.shop_id, MAX_ID_CHARS)?;
                limits::check_text("the shop's name", &shop.shop_name, MAX_LABEL_CHARS)?;
            }
        }
        Ok(())
    }
}

/// One product's stock at the till's shop and at the shops nearby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOnHand {
    pub product_id: String,
    /// At the till's own shop (all zero when head office has no stock of it there).
    pub here: ShopOnHand,
    /// The other shops of the shop's region holding or expecting some, most available first
    /// (none when the shop has no region).
    pub nearby: Vec<ShopOnHand>,
}

/// A product's figures at one shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopOnHand {
    pub shop_id: String,
    pub shop_name: String,
    #[serde(default)]
    pub unit: StockUnit,
    /// On the shelves, as head office derived it from the tills' uploads.
    pub on_hand: i64,
    /// Sent by another shop, not received yet.
    pub in_transit: i64,
    /// Held for click & collect orders waiting at the shop.
    pub reserved: i64,
    /// What may be promised: on hand less reserved, never below zero.
    pub available: i64,
}
