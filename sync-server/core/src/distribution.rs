//! What head office distributes to tills through the changes feed
//! ([`pos_domain::wire::ChangesPage`]): products with barcodes, per-shop prices, staff, shop
//! settings and the shop's web orders.
//!
//! Storage keeps one row per entry (kind, shop, key) with the version of its newest change,
//! taken from one global counter in the writing transaction (which also serializes writers on
//! PostgreSQL, so versions become visible in increasing order and a till never skips a change
//! committed late with a smaller version). Asked from version 0, the feed is therefore a
//! snapshot: each entry once, at its newest version. An entry whose data is unchanged keeps its
//! version, so re-importing a catalog sends tills only what changed.
//!
//! This module turns admin input (catalog and price files, staff) into [`NewChange`]s; the
//! backends write them.

use std::io::Read;
use std::str::FromStr;

use pos_domain::Money;
use pos_domain::product::Product;
use pos_domain::wire::{ShopPrice, StaffMember, kinds};
use serde::Deserialize;

use serde_json::Value;

/// An entry of the changes feed to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChange {
    /// See [`pos_domain::wire::kinds`].
    pub kind: &'static str,
    /// The shop it is for, or [`EVERY_SHOP`].
    pub shop_id: String,
    pub key: String,
    /// `None` removes the entry.
    pub data: Option<Value>,
}

/// The shop id of entries meant for every shop (products).
pub const EVERY_SHOP: &str = "*";

/// Default and largest page of the changes feed. 5,000 entries (about 1 MB of JSON for
/// products) let a million-product catalog come down in 200 requests: see BENCHMARKS.md.
pub const DEFAULT_PAGE: u32 = 5000;
pub const MAX_PAGE: u32 = 20_000;

/// The most bytes of entry data one page carries (the entries beyond wait for the next page;
/// a page always carries at least one): the domain's limits bound each entry (a web order of
/// 250 lines is about 250 KB), and this bounds a page of many large ones, which a till reads
/// in memory. A million-product catalog's pages (about 1 MB each) are far below it.
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Cuts a page's entries (oldest first) to [`MAX_PAGE_BYTES`] of data, keeping at least one.
pub fn keep_within_page_bytes(changes: &mut Vec<StoredChange>) {
    let mut bytes = 0;
    let keep = changes
        .iter()
        .position(|c| {
            bytes += c.key.len() + c.data.as_ref().map_or(0, String::len);
            bytes > MAX_PAGE_BYTES
        })
        .map_or(changes.len(), |first_beyond| first_beyond.max(1));
    changes.truncate(keep);
}

/// A page of the feed as stored: each entry's data still the JSON text it was stored as, so
/// serving a page never parses and re-serializes a million products.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredPage {
    pub changes: Vec<StoredChange>,
    pub next: u64,
    pub latest: u64,
}

/// One stored entry of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChange {
    pub version: u64,
    pub kind: String,
    pub key: String,
    /// Compact JSON text, or `None` for a removal.
    pub data: Option<String>,
}

impl StoredPage {
    /// The page as the JSON of [`pos_domain::wire::ChangesPage`], the stored data spliced in
    /// as it is (it was written by `serde_json`, so it is valid JSON).
    pub fn to_json(&self) -> String {
        let quote = |text: &str| serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
        let mut out = String::with_capacity(
            64 + self
                .changes
                .iter()
                .map(|c| 48 + c.key.len() + c.data.as_ref().map_or(4, String::len))
                .sum::<usize>(),
        );
        out.push_str("{\"changes\":[");
        for (i, c) in self.changes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{{\"version\":{},\"kind\":{},\"key\":{},\"data\":{}}}",
                c.version,
                quote(&c.kind),
                quote(&c.key),
                c.data.as_deref().unwrap_or("null")
            ));
        }
        out.push_str(&format!(
            "],\"next\":{},\"latest\":{}}}",
            self.next, self.latest
        ));
        out
    }
}

/// A catalog file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Json,
}

impl FileFormat {
    /// From `--format`, or else from the file name's extension (CSV unless `.json`).
    pub fn of(given: Option<&str>, path: &str) -> Result<FileFormat, String> {
        match given {
            Some("csv") => Ok(FileFormat::Csv),
            Some("json") => Ok(FileFormat::Json),
            Some(other) => Err(format!("format `{other}`: use csv or json")),
            None if path.ends_with(".json") => Ok(FileFormat::Json),
            None => Ok(FileFormat::Csv),
        }
    }
}

#[derive(Deserialize)]
struct CsvProduct {
    id: String,
    #[serde(default)]
    barcodes: String,
    label: String,
    category: String,
    vat_code: String,
    price: String,
    #[serde(default)]
    sold_by: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    stock: String,
}

fn enum_value(text: &str, default: &str) -> serde_json::Value {
    let text = text.trim();
    serde_json::Value::String(if text.is_empty() { default } else { text }.to_string())
}

impl CsvProduct {
    fn product(self) -> Result<Product, String> {
        let barcodes: Vec<&str> = self
            .barcodes
            .split(|c: char| c == '|' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        let value = serde_json::json!({
            "id": self.id,
            "barcodes": barcodes,
            "label": self.label,
            "category": self.category,
            "vat_code": enum_value(&self.vat_code, ""),
            "price": self.price.trim(),
            "sold_by": enum_value(&self.sold_by, "unit"),
            "serial": enum_value(&self.serial, "none"),
            "stock": enum_value(&self.stock, "kept"),
        });
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

/// A bad row of a catalog file: where it is and why it is refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    /// CSV: the line in the file (the header is line 1); JSON: the product's place in the
    /// array, from 1.
    pub line: u64,
    pub reason: String,
}

/// Why a catalog file is refused as a whole: it cannot be read at all, or some rows are bad
/// (every one of them listed, in file order).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogRefused {
    #[error("{0}")]
    Unreadable(String),
    #[error("{}", bad_rows_text(.0))]
    BadRows(Vec<RowError>),
}

fn bad_rows_text(rows: &[RowError]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(20)
        .map(|r| format!("catalog line {}: {}", r.line, r.reason))
        .collect();
    let more = rows.len().saturating_sub(shown.len());
    let mut text = shown.join("\n");
    if more > 0 {
        text.push_str(&format!("\n... and {more} more bad rows"));
    }
    text
}

/// Reads a catalog file (the till's import format: CSV with the header
/// `id,barcodes,label,category,vat_code,price,sold_by,serial,stock`, or a JSON array of products),
/// refusing the whole file on the first bad row.
pub fn read_catalog(format: FileFormat, input: impl Read) -> Result<Vec<Product>, String> {
    check_catalog(format, input).map_err(|e| e.to_string())
}

/// Reads a catalog file like [`read_catalog`], checking every row: the products when all are
/// good, else every bad row with its line and reason (a row is bad when it does not parse,
/// misses its id or label, has a negative price, is beyond the domain's limits, or repeats
/// an id of an earlier row).
pub fn check_catalog(format: FileFormat, input: impl Read) -> Result<Vec<Product>, CatalogRefused> {
    let rows: Vec<(u64, Result<Product, String>)> = match format {
        FileFormat::Json => {
            let items: Vec<Value> = serde_json::from_reader(input)
                .map_err(|e| CatalogRefused::Unreadable(format!("catalog JSON: {e}")))?;
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    let product = serde_json::from_value(item).map_err(|e| e.to_string());
                    (index as u64 + 1, product)
                })
                .collect()
        }
        FileFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(input);
            let headers = reader
                .headers()
                .map_err(|e| CatalogRefused::Unreadable(format!("catalog header: {e}")))?
                .clone();
            let mut rows = Vec::new();
            let mut record = csv::StringRecord::new();
            loop {
                let line = reader.position().line() + 1;
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let line = record.position().map_or(line, |p| p.line());
                        let product = record
                            .deserialize::<CsvProduct>(Some(&headers))
                            .map_err(|e| e.to_string())
                            .and_then(CsvProduct::product);
                        rows.push((line, product));
                    }
                    Err(e) => rows.push((line, Err(e.to_string()))),
                }
            }
            rows
        }
    };
    let mut products = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    let mut seen = std::collections::HashMap::with_capacity(rows.len());
    for (line, product) in rows {
        match product.and_then(|p| check_product(&p).map(|()| p)) {
            Ok(p) => match seen.insert(p.id.clone(), line) {
                Some(first) => bad.push(RowError {
                    line,
                    reason: format!("product id `{}` is already on line {first}", p.id),
                }),
                None => products.push(p),
            },
            Err(reason) => bad.push(RowError { line, reason }),
        }
    }
    if bad.is_empty() {
        Ok(products)
    } else {
        Err(CatalogRefused::BadRows(bad))
    }
}

/// The rules a product must meet before it is distributed (a till refuses what is beyond the
/// domain's limits, so it is never sent).
pub fn check_product(p: &Product) -> Result<(), String> {
    if p.id.trim().is_empty() || p.label.trim().is_empty() {
        return Err("id and label must not be empty".into());
    }
    if p.price.is_negative() {
        return Err(format!(
            "product `{}`: the price must not be negative",
            p.id
        ));
    }
    p.check_limits().map_err(|e| format!("{e} [{}]", e.code()))
}

/// Checks a shop's price before it is distributed: not negative, and within the domain's
/// amount limit (a till refuses what is beyond it).
pub fn check_price(price: Money) -> Result<(), String> {
    if price.is_negative() {
        return Err("a price is not negative".into());
    }
    pos_domain::limits::check_amount("the price", price).map_err(|e| format!("{e} [{}]", e.code()))
}

/// Reads a shop's price file: CSV `product_id,price` with a header; an empty price removes
/// the shop's price (the base price applies again).
pub fn read_prices(input: impl Read) -> Result<Vec<(String, Option<Money>)>, String> {
    #[derive(Deserialize)]
    struct Row {
        product_id: String,
        #[serde(default)]
        price: String,
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut out = Vec::new();
    for (index, row) in reader.deserialize::<Row>().enumerate() {
        let line = index + 2;
        let row = row.map_err(|e| format!("price file line {line}: {e}"))?;
        let price = if row.price.is_empty() {
            None
        } else {
            let price =
                Money::from_str(&row.price).map_err(|e| format!("price file line {line}: {e}"))?;
            check_price(price).map_err(|e| format!("price file line {line}: {e}"))?;
            Some(price)
        };
        out.push((row.product_id, price));
    }
    Ok(out)
}

/// The feed entry of a product, for every shop.
pub fn product_change(product: &Product) -> NewChange {
    NewChange {
        kind: kinds::PRODUCT,
        shop_id: EVERY_SHOP.into(),
        key: product.id.clone(),
        data: serde_json::to_value(product).ok(),
    }
}

/// The feed entry of a product's price in one shop (`None`: back to the base price).
pub fn price_change(shop_id: &str, product_id: &str, price: Option<Money>) -> NewChange {
    NewChange {
        kind: kinds::PRICE,
        shop_id: shop_id.into(),
        key: product_id.into(),
        data: price.and_then(|price| {
            serde_json::to_value(ShopPrice {
                product_id: product_id.into(),
                price,
            })
            .ok()
        }),
    }
}

/// The feed entry of a customer of a shop, with their details as they now are.
pub fn customer_change(shop_id: &str, customer: &pos_domain::customer::Customer) -> NewChange {
    NewChange {
        kind: kinds::CUSTOMER,
        shop_id: shop_id.into(),
        key: customer.id.clone(),
        data: serde_json::to_value(customer).ok(),
    }
}

/// The feed entry of a staff member of a shop.
pub fn staff_change(shop_id: &str, member: &StaffMember) -> NewChange {
    NewChange {
        kind: kinds::STAFF,
        shop_id: shop_id.into(),
        key: member.id.clone(),
        data: serde_json::to_value(member).ok(),
    }
}

/// The feed entry of one shop setting (`shop_address`, `siret`, `vat_number`,
/// `fiscal_year_start_month`), a one-field object as the till reads it.
pub fn setting_change(shop_id: &str, name: &str, value: serde_json::Value) -> NewChange {
    let mut data = serde_json::Map::new();
    data.insert(name.to_string(), value);
    NewChange {
        kind: kinds::SETTING,
        shop_id: shop_id.into(),
        key: name.into(),
        data: Some(serde_json::Value::Object(data)),
    }
}

/// A staff id from a name: lower case ASCII letters and digits joined by `-`.
pub fn staff_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

/// The scope of a territory's entries in the changes feed: every shop of the territory gets
/// them (see the backends' `changes`).
pub fn territory_scope(territory: &str) -> String {
    format!("territory:{territory}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pos_domain::product::StockKeeping;

    #[test]
    fn a_page_of_large_entries_is_cut_to_its_byte_budget() {
        let entry = |version, bytes| StoredChange {
            version,
            kind: "web_order".into(),
            key: format!("WO-{version}"),
            data: Some("x".repeat(bytes)),
        };
        let mut page: Vec<StoredChange> = (1..=40).map(|v| entry(v, 300_000)).collect();
        keep_within_page_bytes(&mut page);
        assert_eq!(page.len(), 27, "8 MiB of 300 KB entries: 27 of them");
        let mut one = vec![entry(1, MAX_PAGE_BYTES * 2), entry(2, 10)];
        keep_within_page_bytes(&mut one);
        assert_eq!(one.len(), 1, "a page always carries its first entry");
        let mut small: Vec<StoredChange> = (1..=5000).map(|v| entry(v, 200)).collect();
        keep_within_page_bytes(&mut small);
        assert_eq!(small.len(), 5000, "a page of products is not cut");
    }

    #[test]
    fn csv_catalogs_read_like_the_tills_import() {
        let csv = "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
                   P1,3760000010009,Coque,Accessoires,standard,15.00,,\n\
                   P2,,Café,Épicerie,reduced,32.00,weight,none\n";
        let products = read_catalog(FileFormat::Csv, csv.as_bytes()).unwrap();
        assert_eq!(products.len(), 2);
        assert_eq!(products[0].barcodes.len(), 1);
        assert_eq!(products[1].price, Money::from_cents(3200));
        assert!(products[0].stock.is_kept(), "stock is kept unless said");
        let csv = "id,label,category,vat_code,price,stock\n\
                   S1,Réparation,Services,standard,89.00,not_kept\n\
                   P1,Coque,Accessoires,standard,15.00,kept\n";
        let products = read_catalog(FileFormat::Csv, csv.as_bytes()).unwrap();
        assert_eq!(
            (products[0].stock, products[1].stock),
            (StockKeeping::NotKept, StockKeeping::Kept)
        );
        let bad = "id,label,category,vat_code,price,stock\nS1,X,Y,standard,1.00,maybe\n";
        let error = read_catalog(FileFormat::Csv, bad.as_bytes()).unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        let bad = "id,barcodes,label,category,vat_code,price,sold_by,serial\nP1,123,X,Y,standard,1.00,,\n";
        let error = read_catalog(FileFormat::Csv, bad.as_bytes()).unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn every_bad_row_of_a_catalog_is_listed_with_its_line() {
        let csv = "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
                   P1,,Coque,Accessoires,standard,15.00,,\n\
                   P2,,Câble,Accessoires,standard,-1.00,,\n\
                   P3,,Chargeur,Accessoires,standard,20.00,,\n\
                   P4,,Étui,Accessoires,nonsense,20.00,,\n\
                   P1,,Coque bis,Accessoires,standard,16.00,,\n";
        let Err(CatalogRefused::BadRows(rows)) = check_catalog(FileFormat::Csv, csv.as_bytes())
        else {
            panic!("a catalog with bad rows is refused");
        };
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(
            lines,
            vec![3, 5, 6],
            "every bad row is listed with its line in the file, not only the first: {rows:?}"
        );
        assert!(rows[2].reason.contains("line 2"), "{rows:?}");
    }

    #[test]
    fn a_stored_page_is_the_wire_json_of_a_changes_page() {
        let product = product_change(&read_catalog(
            FileFormat::Json,
            r#"[{"id":"P\"1","label":"Câble","category":"C","vat_code":"standard","price":"9.90"}]"#
                .as_bytes(),
        )
        .unwrap()[0]);
        let stored = StoredPage {
            changes: vec![
                StoredChange {
                    version: 7,
                    kind: "product".into(),
                    key: "P\"1".into(),
                    data: product.data.as_ref().map(|d| d.to_string()),
                },
                StoredChange {
                    version: 9,
                    kind: "price".into(),
                    key: "P2".into(),
                    data: None,
                },
            ],
            next: 9,
            latest: 12,
        };
        let expected = pos_domain::wire::ChangesPage {
            changes: vec![
                pos_domain::wire::Change {
                    version: 7,
                    kind: "product".into(),
                    key: "P\"1".into(),
                    data: product.data.clone(),
                },
                pos_domain::wire::Change {
                    version: 9,
                    kind: "price".into(),
                    key: "P2".into(),
                    data: None,
                },
            ],
            next: 9,
            latest: 12,
        };
        assert_eq!(
            stored.to_json(),
            serde_json::to_string(&expected).unwrap(),
            "the spliced page is byte for byte what serde writes"
        );
    }

    #[test]
    fn price_files_set_and_remove_prices() {
        let prices = read_prices("product_id,price\nP1,9.90\nP2,\n".as_bytes()).unwrap();
        assert_eq!(
            prices,
            vec![
                ("P1".to_string(), Some(Money::from_cents(990))),
                ("P2".to_string(), None)
            ]
        );
        assert!(read_prices("product_id,price\nP1,abc\n".as_bytes()).is_err());
    }

    #[test]
    fn staff_ids_come_from_names() {
        assert_eq!(staff_id("Alice Martin"), "alice-martin");
        assert_eq!(staff_id("  Zoé  O'Neil "), "zo-o-neil");
    }
}
