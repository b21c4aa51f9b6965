//! Products as the till sells them: barcodes, label, category, VAT category, shelf price.

use serde::{Deserialize, Serialize};

use crate::codes::Gtin;
use crate::limits::{self, LimitError, MAX_ID_CHARS, MAX_LABEL_CHARS};
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

/// Whether head office keeps stock of a product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockKeeping {
    /// Goods on a shelf: every sale, return, delivery, transfer and count moves its stock.
    #[default]
    Kept,
    /// Services, fees, deposits: sold, never on a shelf. No stock line is kept, no stock
    /// operation names it and a web order for it reserves nothing.
    NotKept,
}

impl StockKeeping {
    pub fn is_kept(&self) -> bool {
        *self == StockKeeping::Kept
    }

    /// The name in catalog files and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            StockKeeping::Kept => "kept",
            StockKeeping::NotKept => "not_kept",
        }
    }
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
    /// Left out of the JSON when kept, so catalogs written before it read and hash the same.
    #[serde(default, skip_serializing_if = "StockKeeping::is_kept")]
    pub stock: StockKeeping,
}

/// The most barcodes one product may have.
pub const MAX_BARCODES: u32 = 100;

impl Product {
    /// Checks the product's price and texts against [`crate::limits`]: every catalog entry
    /// (an import at the till or at head office, the changes feed) passes here.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        let id = &self.id;
        limits::check_text("a product id", id, MAX_ID_CHARS)?;
        limits::check_text(
            format_args!("product `{id}`: the label"),
            &self.label,
            MAX_LABEL_CHARS,
        )?;
        limits::check_text(
            format_args!("product `{id}`: the category"),
            &self.category,
            MAX_LABEL_CHARS,
        )?;
        limits::check_quantity(
            format_args!("product `{id}`: the barcodes"),
            self.barcodes.len() as u64,
            MAX_BARCODES,
        )?;
        limits::check_amount(format_args!("product `{id}`: the price"), self.price)
    }
}
