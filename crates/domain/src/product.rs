//! Products as the till sells them: barcodes, label, category, VAT category, shelf price.

use serde::{Deserialize, Serialize};

use crate::codes::Gtin;
use crate::money::Money;
use crate::vat::VatCode;

/// How a product is counted at the till.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoldBy {
    /// Sold per unit; the price is per unit.
    #[default]
    Unit,
    /// Weighed goods; the price is per kilogram and quantities are in grams.
    Weight,
}

/// Which serial number must be captured when the product is sold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialCapture {
    #[default]
    None,
    /// Handsets: one 15-digit, Luhn-checked IMEI per unit sold.
    Imei,
}

/// A catalog product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    #[serde(default)]
    pub barcodes: Vec<Gtin>,
    pub label: String,
    pub category: String,
    pub vat_code: VatCode,
    /// Shelf price including VAT (per unit, or per kilogram for weighed goods).
    pub price: Money,
    #[serde(default)]
    pub sold_by: SoldBy,
    #[serde(default)]
    pub serial: SerialCapture,
}
