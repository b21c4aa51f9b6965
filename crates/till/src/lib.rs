//! The till engine: the signed, append-only SQLite ledger of one till and the use cases that
//! write it (sell, return, close, reprint, cash movements, archive), behind one API, [`Till`],
//! that the headless `till` CLI, the cashier app and the tests all call.
//!
//! - [`db`]: opening the database (WAL, `synchronous=FULL`) and migrations;
//! - [`ledger`]: appending signed records to their chain, reading and verifying them;
//! - [`engine`]: the [`Till`] API; [`closing`]: X reports and closures; [`receipt`]: receipt
//!   text; [`shifts`]: cashier shifts (float, blind count) and their X reports;
//!   [`archive`]: signed period archives, made by the till itself for each closed month and
//!   fiscal year; [`catalog`]: products and search; `price_history`: the prices the catalog
//!   replaced, for returns without receipt;
//! - [`sync`]: enrollment with head office and the upload of every chain, exactly once;
//!   [`archive_upload`]: the archives sent to head office in each sync pass, exactly once;
//!   [`head_office`]: the one HTTPS client every request to head office goes through;
//!   [`sync_loop`]: the background loop the app runs, with backoff and a status;
//!   [`offline`]: the outages it journals (`offline_start`, `offline_end`);
//!   [`download`]: head office's changes feed (catalog, per-shop prices, staff, web orders),
//!   one local transaction per page; [`web_orders`]: click & collect at the till;
//!   [`web_returns`]: web orders paid online returned at the till;
//! - [`stored_value`]: credit notes issued on refunds, gift cards sold, redemptions checked
//!   against head office or within its offline caps, expiry and cancellation, credit-note
//!   slips; [`returns_anywhere`]: returns of another till's ticket or without receipt;
//! - [`stock`]: goods received, transfers between shops and stock counts, in the `stock` chain;
//!   [`stock_notices`]: the shop's advance shipping notices, received once;
//!   [`stock_on_hand`]: a product's stock here and nearby from head office, kept for offline;
//! - [`staff`]: who may log in (Argon2 PIN hashes); [`parked`]: carts put aside at the till;
//! - [`customers`]: the shop's customers, searched as you type, synced both ways;
//! - [`demo`]: realistic demo data and large catalogs, generated through the same API.
//!
//! Invariants: no record is ever updated or deleted (SQLite triggers refuse it); every write is
//! one transaction; nothing reads the system clock except through [`pos_domain::clock::Clock`];
//! the ledger, its WAL and the signing key file (beside the ledger, never in it) are readable
//! by their owner only; this crate has no UI, HTTP server or Tauri dependency.

pub mod archive;
pub mod archive_upload;
pub mod catalog;
pub mod closing;
pub mod customers;
pub mod db;
pub mod demo;
pub mod device_settings;
pub mod download;
pub mod engine;
pub mod error;
pub mod head_office;
pub mod identity;
pub mod ledger;
pub mod offline;
pub mod parked;
mod price_history;
pub mod receipt;
pub mod requests;
pub mod returns_anywhere;
pub mod shifts;
pub mod shop_rules;
pub mod staff;
pub mod stock;
pub mod stock_notices;
pub mod stock_on_hand;
pub mod stored_value;
pub mod sync;
pub mod sync_loop;
pub mod system;
pub mod web_orders;
pub mod web_returns;

pub use engine::{PricedSale, Till};
pub use error::{Result, TillError};
pub use identity::{Identity, InitOptions};
