//! The catalog every till receives: a whole file imported at once (all rows good, or nothing
//! applied), one product created, changed or removed, and per-shop prices over the base price.

use pos_domain::Money;
use pos_domain::product::Product;
use pos_domain::wire::kinds;
use pos_hq_core::distribution::{self, CatalogRefused, EVERY_SHOP, FileFormat};
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, existing_shop, json_of};
use crate::store::{AdminChange, NewChange};

/// What an import did.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Imported {
    /// Products in the file.
    pub products: u64,
    /// Of those, new or changed (the others keep their version and are not sent again).
    pub changed: u64,
}

/// Reads and checks a whole catalog file: the products when every row is good, else every
/// bad row ([`AdminError::BadRows`]). CPU work: run it off the async workers.
pub fn read_catalog_file(format: FileFormat, input: impl std::io::Read) -> Result<Vec<Product>> {
    distribution::check_catalog(format, input).map_err(|e| match e {
        CatalogRefused::Unreadable(m) => AdminError::Invalid(format!(
            "{m}: nothing was imported; fix the file and import it again"
        )),
        CatalogRefused::BadRows(rows) => AdminError::BadRows(rows),
    })
}

impl Admin<'_> {
    /// Imports a catalog file: every row is checked first and, when any is bad, every bad row
    /// is returned ([`AdminError::BadRows`]) and nothing changes; else every product is
    /// written in one transaction.
    pub async fn import_catalog(
        &self,
        format: FileFormat,
        input: impl std::io::Read,
        file_name: &str,
    ) -> Result<Imported> {
        let products = read_catalog_file(format, input)?;
        self.import_products(products, file_name).await
    }

    /// Writes checked products (see [`read_catalog_file`]) in one transaction.
    pub async fn import_products(
        &self,
        products: Vec<Product>,
        file_name: &str,
    ) -> Result<Imported> {
        let count = products.len() as u64;
        // Each product is dropped as its feed entry is made: a million of them fit twice less.
        let changes = products
            .into_iter()
            .map(|p| distribution::product_change(&p))
            .collect();
        let after = serde_json::json!({"file": file_name, "products": count});
        let changed = self
            .apply(
                AdminChange::Changes(changes),
                "catalog.import",
                "catalog",
                None,
                Some(after),
            )
            .await?;
        Ok(Imported {
            products: count,
            changed,
        })
    }

    /// A product of the catalog, as the tills receive it.
    pub async fn product(&self, id: &str) -> Result<Product> {
        let data = self
            .store
            .change_data(kinds::PRODUCT, EVERY_SHOP, id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no product `{id}` in the catalog")))?;
        serde_json::from_value(data)
            .map_err(|e| AdminError::Internal(format!("product `{id}` is stored unreadable: {e}")))
    }

    /// Creates or changes one product (checked as an imported row is).
    pub async fn put_product(&self, product: Product) -> Result<u64> {
        distribution::check_product(&product).map_err(AdminError::Invalid)?;
        let before = self
            .store
            .change_data(kinds::PRODUCT, EVERY_SHOP, &product.id)
            .await?;
        let change = AdminChange::Changes(vec![distribution::product_change(&product)]);
        let target = format!("product {}", product.id);
        self.apply(change, "product.put", target, before, json_of(&product))
            .await
    }

    /// Removes a product from every till's catalog (its past sales are untouched).
    pub async fn remove_product(&self, id: &str) -> Result<u64> {
        let before = self
            .store
            .change_data(kinds::PRODUCT, EVERY_SHOP, id)
            .await?;
        let change = AdminChange::Changes(vec![NewChange {
            kind: kinds::PRODUCT,
            shop_id: EVERY_SHOP.into(),
            key: id.to_string(),
            data: None,
        }]);
        self.apply(
            change,
            "product.remove",
            format!("product {id}"),
            before,
            None,
        )
        .await
    }

    /// Sets (or, with `None`, removes) shop prices over the base price, in one transaction.
    pub async fn set_prices(
        &self,
        shop: &str,
        prices: Vec<(String, Option<Money>)>,
    ) -> Result<u64> {
        for (product, price) in &prices {
            if let Some(price) = price {
                distribution::check_price(*price)
                    .map_err(|m| AdminError::Invalid(format!("product `{product}`: {m}")))?;
            }
        }
        existing_shop(self.store, shop).await?;
        let mut before = serde_json::Map::new();
        if prices.len() <= 100 {
            for (product, _) in &prices {
                let old = self.store.change_data(kinds::PRICE, shop, product).await?;
                before.insert(product.clone(), old.unwrap_or_default());
            }
        }
        let changes = prices
            .iter()
            .map(|(product, price)| distribution::price_change(shop, product, *price))
            .collect();
        let after: serde_json::Map<_, _> = prices
            .iter()
            .take(100)
            .map(|(product, price)| (product.clone(), json_of(price).unwrap_or_default()))
            .collect();
        let (before, after) = if prices.len() <= 100 {
            (Some(before.into()), Some(after.into()))
        } else {
            (None, Some(serde_json::json!({"prices": prices.len()})))
        };
        let target = format!("shop {shop}");
        self.apply(
            AdminChange::Changes(changes),
            "price.set",
            target,
            before,
            after,
        )
        .await
    }
}
