//! Builders shared by the domain's integration tests.
#![allow(dead_code)]

use pos_domain::Money;
use pos_domain::product::{Product, SerialCapture, SoldBy, StockKeeping};
use pos_domain::ticket::{LineDraft, Quantity};
use pos_domain::vat::{Territory, VatCode, rate_for};

pub fn product(id: &str, cents: i64, vat: VatCode) -> Product {
    Product {
        id: id.into(),
        barcodes: vec![],
        label: format!("Product {id}"),
        category: "accessories".into(),
        vat_code: vat,
        price: Money::from_cents(cents),
        sold_by: SoldBy::Unit,
        serial: SerialCapture::None,
        stock: StockKeeping::Kept,
    }
}

pub fn line(product: Product, units: u32) -> LineDraft {
    LineDraft {
        vat_rate: rate_for(product.vat_code, Territory::Metropole),
        unit_price: product.price,
        product,
        quantity: Quantity::Units(units),
        discount: None,
        promotion: None,
        seller: None,
        serials: vec![],
    }
}
