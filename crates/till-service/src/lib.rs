//! The cashier app's application service: the till as its screens see it, over the till
//! engine ([`pos_till::Till`]), which stays the only place tickets are computed.
//!
//! - [`api`]: every command's request and response types (the UI's generated TypeScript comes
//!   from them, see [`bindings`]); [`error::ApiError`]: `{code, message}` for every refusal;
//! - [`commands`]: the command table and the one dispatcher, [`Service::call`];
//! - [`service`]: sessions and manager approvals; [`sale`]: catalog, cart, sale, receipts,
//!   returns; [`receipt_proof`]: the proof of purchase only an original receipt's QR code
//!   carries; [`customers`]: customer search, creation and changes; [`exchange`]: exchanges (a
//!   return and a sale on one ticket); [`payments`]: card payments on the terminal; [`ops`]:
//!   cash, closures, devices, identity and status; [`cash_office`]: who handles cash, the
//!   blind count, pay-out limits, shifts and the Z the app asks for ([`shop_floor_api`]: their
//!   types); [`sync`]: the background sync loop, "sync
//!   now" and enrollment; [`web_orders`]: click & collect; [`web_returns`]: returns of web
//!   orders paid online; [`stored_value`]: credit notes, gift cards and returns at any till;
//!   [`stock`]: the shop's shipping notices, deliveries, transfers, counts and a product's
//!   stock here and nearby ([`stock_api`]: their types);
//!   [`devices`]: printer, drawer and terminal links; [`display`]: the customer display, fed
//!   without ever blocking a sale; [`scanner`]: a serial barcode scanner whose codes the sale
//!   screen collects; [`views`]: engine types to API views;
//! - [`http`]: the loopback HTTP transport (`POST /api/{command}`), which browser tests and
//!   development use; the Tauri shell (`src-tauri`) calls the same dispatcher;
//! - [`setup`]: the demo ledger and staff; [`simulators`]: the printer and terminal simulators started in-process for tests and demos.
//!
//! Both transports answer the same JSON for the same command: they only move bytes.

pub mod api;
pub mod bindings;
pub mod cash_office;
pub mod commands;
pub mod customers;
pub mod devices;
pub mod display;
pub mod error;
pub mod exchange;
pub mod http;
pub mod ops;
pub mod payments;
pub mod receipt_proof;
pub mod sale;
pub mod scanner;
pub mod service;
pub mod setup;
pub mod shop_floor_api;
pub mod simulators;
pub mod stock;
pub mod stock_api;
pub mod stored_value;
pub mod sync;
pub mod views;
pub mod web_orders;
pub mod web_returns;

pub use error::{ApiError, ApiResult};
pub use service::{Service, ServiceOptions};
