//! A product's stock as head office tells a till: `GET /api/v1/tills/{till}/stock?products=...`
//! answers each product's figures at the till's own shop and at the other shops of its region
//! (the shops nearby), with the moment of the answer, so a till that keeps the answer for when
//! head office does not answer can say how old it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
