//! The till's copy of the catalog: import from CSV or JSON, lookup by barcode or id, and
//! accent- and case-insensitive prefix search (SQLite FTS5, `unicode61 remove_diacritics 2`),
//! and the sale screen's category grid, read from `category_counts` (kept by triggers as
//! products change, rebuilt once after a bulk download) and never counted over the products.
//!
//! # CSV columns
//!
//! `id,barcodes,label,category,vat_code,price,sold_by,serial,stock` with a header line. `barcodes`
//! holds zero or more GTINs separated by spaces or `|`; `vat_code` is one of `standard`,
//! `intermediate`, `reduced`, `super_reduced`, `exempt`; `price` includes VAT, with a dot
//! (`12.50`), per unit or per kilogram; `sold_by` is `unit` (default) or `weight`; `serial` is
//! `none` (default) or `imei`; `stock` is `kept` (default) or `not_kept` (a service: head office
//! keeps no stock of it). The JSON format is an array of objects with the same fields
//! (`barcodes` an array).

use std::io::Read;
use std::str::FromStr;

use pos_domain::Money;
use pos_domain::codes::Gtin;
use pos_domain::product::{Product, SerialCapture, SoldBy, StockKeeping};
use pos_domain::vat::VatCode;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TillError};

/// The file formats a catalog can be imported from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogFormat {
    Csv,
    Json,
}

#[derive(Deserialize)]
struct CsvRow {
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

fn bad_row(row: usize, message: impl std::fmt::Display) -> TillError {
    TillError::invalid("catalog_invalid", format!("catalog row {row}: {message}"))
}

fn parse_csv_row(index: usize, row: CsvRow) -> Result<Product> {
    let line = index + 2;
    let barcodes = row
        .barcodes
        .split(|c: char| c == '|' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|code| Gtin::from_str(code).map_err(|e| bad_row(line, e)))
        .collect::<Result<Vec<_>>>()?;
    let sold_by = match row.sold_by.trim() {
        "" | "unit" => SoldBy::Unit,
        "weight" => SoldBy::Weight,
        other => {
            return Err(bad_row(
                line,
                format!("sold_by `{other}` must be unit or weight"),
            ));
        }
    };
    let serial = match row.serial.trim() {
        "" | "none" => SerialCapture::None,
        "imei" => SerialCapture::Imei,
        other => {
            return Err(bad_row(
                line,
                format!("serial `{other}` must be none or imei"),
            ));
        }
    };
    let stock = match row.stock.trim() {
        "" | "kept" => StockKeeping::Kept,
        "not_kept" => StockKeeping::NotKept,
        other => {
            return Err(bad_row(
                line,
                format!("stock `{other}` must be kept or not_kept"),
            ));
        }
    };
    Ok(Product {
        id: row.id,
        barcodes,
        label: row.label,
        category: row.category,
        vat_code: VatCode::from_str(&row.vat_code).map_err(|e| bad_row(line, e))?,
        price: Money::from_str(&row.price).map_err(|e| bad_row(line, e))?,
        sold_by,
        serial,
        stock,
    })
}

/// Reads a catalog file into products, refusing the whole file on the first bad row.
pub fn read(format: CatalogFormat, input: impl Read) -> Result<Vec<Product>> {
    let products = match format {
        CatalogFormat::Json => serde_json::from_reader::<_, Vec<Product>>(input)
            .map_err(|e| TillError::invalid("catalog_invalid", format!("catalog JSON: {e}")))?,
        CatalogFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(input);
            let mut products = Vec::new();
            for (index, row) in reader.deserialize::<CsvRow>().enumerate() {
                let row = row.map_err(|e| bad_row(index + 2, e))?;
                products.push(parse_csv_row(index, row)?);
            }
            products
        }
    };
    for (index, product) in products.iter().enumerate() {
        if product.id.trim().is_empty() || product.label.trim().is_empty() {
            return Err(bad_row(index + 2, "id and label must not be empty"));
        }
        if product.price.is_negative() {
            return Err(bad_row(index + 2, "price must not be negative"));
        }
    }
    check_limits(&products)?;
    Ok(products)
}

/// Checks every product against the domain's limits (price, texts, barcodes: see
/// [`pos_domain::limits`]), so no sale of a product in the catalog can be refused for it.
pub fn check_limits(products: &[Product]) -> Result<()> {
    for product in products {
        product
            .check_limits()
            .map_err(|e| TillError::invalid(e.code(), format!("catalog: {e}")))?;
    }
    Ok(())
}

/// Writes products as CSV in the import format.
pub fn write_csv(
    products: impl Iterator<Item = Product>,
    out: impl std::io::Write,
) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "id", "barcodes", "label", "category", "vat_code", "price", "sold_by", "serial", "stock",
    ])?;
    for p in products {
        let barcodes: Vec<&str> = p.barcodes.iter().map(Gtin::as_str).collect();
        writer.write_record([
            p.id.as_str(),
            &barcodes.join("|"),
            &p.label,
            &p.category,
            &enum_text(&p.vat_code),
            &p.price.to_string(),
            &enum_text(&p.sold_by),
            &enum_text(&p.serial),
            p.stock.name(),
        ])?;
    }
    writer.flush()
}

fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Inserts or replaces products (and their barcodes) in the open transaction; a price that
/// changes is kept in `price_history` as replaced at `now` (a ledger timestamp).
pub fn upsert(conn: &Connection, products: &[Product], now: &str) -> Result<()> {
    let mut product_stmt = conn.prepare_cached(
        "INSERT INTO products (id, label, category, vat_code, price, sold_by, serial, stock)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET label = excluded.label, category = excluded.category,
           vat_code = excluded.vat_code, price = excluded.price, sold_by = excluded.sold_by,
           serial = excluded.serial, stock = excluded.stock",
    )?;
    let mut clear_stmt = conn.prepare_cached("DELETE FROM barcodes WHERE product_id = ?1")?;
    let mut barcode_stmt = conn.prepare_cached(
        "INSERT INTO barcodes (code, product_id) VALUES (?1, ?2)
         ON CONFLICT (code) DO UPDATE SET product_id = excluded.product_id",
    )?;
    for p in products {
        crate::price_history::keeping(conn, &p.id, now, || {
            product_stmt.execute(params![
                p.id,
                p.label,
                p.category,
                enum_text(&p.vat_code),
                p.price.to_string(),
                enum_text(&p.sold_by),
                enum_text(&p.serial),
                p.stock.name(),
            ])?;
            Ok(())
        })?;
        clear_stmt.execute([&p.id])?;
        for code in &p.barcodes {
            barcode_stmt.execute(params![code.as_str(), p.id])?;
        }
    }
    Ok(())
}

/// Inserts a product during a till's first download, with the search index's triggers off
/// ([`without_search_index`]): a product already there (sent twice in the download, or
/// imported locally before enrollment) is replaced, its old barcodes going with it through
/// the foreign key's cascade, rather than cleared row by row as [`upsert`] does. No price
/// history is kept here: a till's first catalog has no earlier prices worth a lookup per
/// product of a million.
pub fn insert_new(conn: &Connection, p: &Product) -> Result<()> {
    let mut product_stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO products (id, label, category, vat_code, price, sold_by, serial, stock)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut barcode_stmt =
        conn.prepare_cached("INSERT OR REPLACE INTO barcodes (code, product_id) VALUES (?1, ?2)")?;
    product_stmt.execute(params![
        p.id,
        p.label,
        p.category,
        enum_text(&p.vat_code),
        p.price.to_string(),
        enum_text(&p.sold_by),
        enum_text(&p.serial),
        p.stock.name(),
    ])?;
    for code in &p.barcodes {
        barcode_stmt.execute(params![code.as_str(), p.id])?;
    }
    Ok(())
}

fn product_from_row(row: &Row<'_>) -> rusqlite::Result<Product> {
    let id: String = row.get(0)?;
    let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    let parse_enum = |i: usize| -> rusqlite::Result<serde_json::Value> {
        Ok(serde_json::Value::String(text(i)?))
    };
    let corrupt = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let codes: Option<String> = row.get(8)?;
    let barcodes = codes
        .unwrap_or_default()
        .split(' ')
        .filter_map(|code| code.parse().ok())
        .collect();
    Ok(Product {
        id,
        barcodes,
        label: text(1)?,
        category: text(2)?,
        vat_code: serde_json::from_value(parse_enum(3)?).map_err(|e| corrupt(3, e.to_string()))?,
        price: text(4)?
            .parse()
            .map_err(|e: pos_domain::money::MoneyError| corrupt(4, e.to_string()))?,
        sold_by: serde_json::from_value(parse_enum(5)?).map_err(|e| corrupt(5, e.to_string()))?,
        serial: serde_json::from_value(parse_enum(6)?).map_err(|e| corrupt(6, e.to_string()))?,
        stock: serde_json::from_value(parse_enum(7)?).map_err(|e| corrupt(7, e.to_string()))?,
    })
}

/// The product columns, then its barcodes (space-separated) from the same statement.
/// The price is the shop's own price from head office, if it set one, else the catalog's.
const PRODUCT_COLUMNS: &str = "p.id, p.label, p.category, p.vat_code,
    coalesce((SELECT price FROM shop_prices WHERE product_id = p.id), p.price), p.sold_by, p.serial,
    p.stock, (SELECT group_concat(code, ' ') FROM barcodes WHERE product_id = p.id)";

/// The product carrying a barcode.
pub fn by_barcode(conn: &Connection, code: &str) -> Result<Option<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM barcodes b JOIN products p ON p.id = b.product_id WHERE b.code = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row([code.trim()], product_from_row).optional()?)
}

/// The product with an id.
pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Product>> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row([id], product_from_row).optional()?)
}

/// Products whose label or category words start with each word typed, ignoring case and
/// accents ("telep sams" finds "Téléphone Samsung"), in catalog order. Words of one letter
/// are ignored (see below). Ranking by relevance
/// would score every match, which a two-letter prefix in a million products makes too slow
/// to run as the cashier types.
pub fn search(conn: &Connection, text: &str, limit: usize) -> Result<Vec<Product>> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // A one-letter prefix says little and, having no prefix index, would make FTS5 merge the
    // posting lists of every word starting with that letter: it is left out while other words
    // narrow the search, and alone it finds nothing until a second letter is typed.
    let query: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() > 1)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM product_search s JOIN products p ON p.rowid = s.rowid
         WHERE product_search MATCH ?1 LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![query.join(" "), limit as i64], |row| {
        product_from_row(row)
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Number of products in the catalog.
pub fn count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM products", [], |row| {
        row.get::<_, i64>(0)
    })? as u64)
}

/// Runs `write` (which inserts or updates many products) with the triggers of the search index
/// and of the category grid off, in the caller's transaction, and marks both stale for
/// [`rebuild_search_if_stale`].
/// Indexing row by row costs about ten times a rebuild in one pass, which is what makes a
/// million-product first download take seconds instead of a minute. The triggers are put back,
/// with their stored text, before the transaction commits, so a crash leaves them in place.
pub fn without_search_index<T>(conn: &Connection, write: impl FnOnce() -> Result<T>) -> Result<T> {
    let triggers: Vec<(String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'products'
             AND (name LIKE 'products_search_%' OR name LIKE 'products_category_%') ORDER BY name",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (name, _) in &triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
    }
    let out = write()?;
    for (_, sql) in &triggers {
        conn.execute_batch(sql)?;
    }
    conn.execute(
        "INSERT INTO sync_changes (id, version, applied_at, search_stale) VALUES (1, 0, '', 1)
         ON CONFLICT (id) DO UPDATE SET search_stale = 1",
        [],
    )?;
    Ok(out)
}

/// Rebuilds the search index and the category grid (`category_counts`) in one pass each if a
/// large download left them stale; true if it did.
pub fn rebuild_search_if_stale(conn: &Connection) -> Result<bool> {
    let stale: bool = conn
        .query_row(
            "SELECT search_stale FROM sync_changes WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false);
    if stale {
        // FTS5 flushes a segment to disk each time its in-memory hash table reaches `hashsize`
        // (1 MB by default) and then merges those segments: on a million products a 64 MB table
        // makes a third as many segments and roughly halves the rebuild (see BENCHMARKS.md).
        // The default is put back in the same (caller's) transaction, so row-by-row updates
        // afterwards keep their small memory bound.
        conn.execute_batch(
            "INSERT INTO product_search (product_search, rank) VALUES ('hashsize', 67108864);
             INSERT INTO product_search (product_search) VALUES ('rebuild');
             INSERT INTO product_search (product_search, rank) VALUES ('hashsize', 1048576);
             DELETE FROM category_counts;
             INSERT INTO category_counts (category, products)
                 SELECT category, count(*) FROM products GROUP BY category;
             UPDATE sync_changes SET search_stale = 0 WHERE id = 1;",
        )?;
    }
    Ok(stale)
}

/// The category grid: each category with its number of products, read from the table the
/// catalog's triggers keep (never a count over the products).
pub fn categories(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT category, products FROM category_counts WHERE products > 0 ORDER BY category",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The products of a category by label, `limit` from `offset`.
pub fn in_category(
    conn: &Connection,
    category: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.category = ?1 ORDER BY p.label, p.id LIMIT ?2 OFFSET ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![category, limit as i64, offset as i64],
        product_from_row,
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
