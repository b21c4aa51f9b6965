//! The storage of head office's stock, read side: [`StockStore`], which every
//! [`crate::Store`] is. The ingest writes the stock lines and their movements in the upload's
//! transaction (see [`crate::ingest_tx`]); this reads them for the web shop, head office and
//! tests: as lines ([`StockLevel`]) or, for many shops at once, as an [`AvailableMatrix`] of
//! integers built by one [`MatrixBuilder`] whatever the backend.

use std::collections::HashMap;

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
    /// What `shops` may promise of `products`, as a matrix (rows and columns in the order
    /// given; 0 where a shop has no line). The same figures as [`StockStore::stock_levels`].
    async fn stock_matrix(&self, shops: &[String], products: &[String]) -> Result<AvailableMatrix>;
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

/// What may be promised of a line of `on_hand` with `reserved` held: the one rule,
/// [`pos_hq_core::stock::Stored::available`].
pub fn available(on_hand: i64, reserved: i64) -> i64 {
    pos_hq_core::stock::Stored {
        level: on_hand,
        reserved,
        ..Default::default()
    }
    .available()
}

/// A stock line as read, its availability computed by the one rule ([`available`]).
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
        available: available(on_hand, reserved),
        version,
    }
}

/// What shops may promise of products, as integers: `available[row][column]` is what shop
/// `shops[column]` may promise of product `products[row]` counted in `units[row]`, 0 where the
/// shop has no line. A product has one row per unit it has lines in (one row, in `units`,
/// when it has none), so each cell is the `available` of one line of the list answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AvailableMatrix {
    /// The product of each row.
    pub products: Vec<String>,
    /// The unit of each row: `units` or `grams`.
    pub units: Vec<String>,
    /// The shop of each column.
    pub shops: Vec<String>,
    /// One row per product and unit, one integer per shop.
    pub available: Vec<Vec<i64>>,
}

/// Up to how many shops a backend's [`StockStore::stock_matrix`] names them in its query,
/// looking each (product, shop) up in `stock_levels_by_product`; for more, it reads every
/// line of each product in index order and the [`MatrixBuilder`] leaves out the shops not
/// asked, which is quicker (100 products at 600 shops on SQLite: 8 ms against 31 ms).
pub const FEW_SHOPS: usize = 100;

/// The units a line may be counted in, in the order of a product's rows.
const UNITS: [&str; 2] = ["units", "grams"];

/// Builds an [`AvailableMatrix`] from stock lines as a backend reads them, in any order: the
/// products and shops are numbered once, so a line costs two lookups and no allocation.
pub struct MatrixBuilder {
    products: Vec<String>,
    shops: Vec<String>,
    product_index: HashMap<String, usize>,
    shop_index: HashMap<String, usize>,
    /// Per product, a row per unit ([`UNITS`]) once a line in it was added.
    rows: Vec<[Option<Vec<i64>>; 2]>,
    /// The column after the shop found last: lines read in shop order, as the indexes by
    /// product give them, are found there without hashing.
    next_shop: usize,
}

impl MatrixBuilder {
    /// A matrix of `products` (rows) by `shops` (columns), every cell 0.
    pub fn new(products: &[String], shops: &[String]) -> MatrixBuilder {
        let numbered = |ids: &[String]| -> HashMap<String, usize> {
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect()
        };
        MatrixBuilder {
            product_index: numbered(products),
            shop_index: numbered(shops),
            products: products.to_vec(),
            shops: shops.to_vec(),
            rows: vec![[None, None]; products.len()],
            next_shop: 0,
        }
    }

    /// The row number of a product asked, if it was.
    pub fn product(&self, product_id: &str) -> Option<usize> {
        self.product_index.get(product_id).copied()
    }

    /// The column number of a shop asked, if it was.
    pub fn shop(&mut self, shop_id: &str) -> Option<usize> {
        let next = self.next_shop;
        let found = if self.shops.get(next).is_some_and(|s| s == shop_id) {
            Some(next)
        } else {
            self.shop_index.get(shop_id).copied()
        };
        if let Some(column) = found {
            self.next_shop = column + 1;
        }
        found
    }

    /// Adds the line of product number `product` at shop number `shop` counted in `unit`
    /// (as stored), holding `on_hand` of which `reserved` is held for web orders.
    pub fn add(&mut self, product: usize, shop: usize, unit: &str, on_hand: i64, reserved: i64) {
        let slot = usize::from(unit == UNITS[1]);
        let columns = self.shops.len();
        self.rows[product][slot].get_or_insert_with(|| vec![0; columns])[shop] =
            available(on_hand, reserved);
    }

    /// Adds a line named by its ids; a product or shop not asked is left out.
    pub fn add_named(
        &mut self,
        product_id: &str,
        shop_id: &str,
        unit: &str,
        on_hand: i64,
        reserved: i64,
    ) {
        if let (Some(product), Some(shop)) = (self.product(product_id), self.shop(shop_id)) {
            self.add(product, shop, unit, on_hand, reserved);
        }
    }

    /// The matrix: the products in the order asked, each with its rows in `units` then in
    /// `grams` (a product without any line: one row of zeros in `units`).
    pub fn finish(self) -> AvailableMatrix {
        let columns = self.shops.len();
        let mut matrix = AvailableMatrix {
            products: Vec::with_capacity(self.products.len()),
            units: Vec::with_capacity(self.products.len()),
            shops: self.shops,
            available: Vec::with_capacity(self.products.len()),
        };
        for (product, mut rows) in self.products.into_iter().zip(self.rows) {
            if rows.iter().all(Option::is_none) {
                rows[0] = Some(vec![0; columns]);
            }
            for (unit, row) in UNITS.iter().zip(rows) {
                if let Some(row) = row {
                    matrix.products.push(product.clone());
                    matrix.units.push((*unit).to_string());
                    matrix.available.push(row);
                }
            }
        }
        matrix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_matrix_has_a_row_per_product_and_unit_and_zero_where_no_line() {
        let mut builder = MatrixBuilder::new(&ids(&["A", "B", "C"]), &ids(&["S1", "S2"]));
        builder.add_named("A", "S2", "units", 5, 2);
        builder.add_named("C", "S2", "units", 1, 3);
        builder.add_named("C", "S1", "grams", 750, 0);
        builder.add_named("A", "S9", "units", 4, 0);
        builder.add_named("Z", "S1", "units", 4, 0);
        let matrix = builder.finish();
        assert_eq!(
            matrix.products,
            ids(&["A", "B", "C", "C"]),
            "a row per product and unit"
        );
        assert_eq!(matrix.units, ids(&["units", "units", "units", "grams"]));
        assert_eq!(matrix.shops, ids(&["S1", "S2"]));
        assert_eq!(
            matrix.available,
            vec![vec![0, 3], vec![0, 0], vec![0, 0], vec![750, 0]],
            "on hand less reserved, never below zero, 0 without a line; lines of a shop or \
             product not asked are left out"
        );
    }
}
