//! The head-office server: the HTTP API tills, head-office users and web shops call, the push
//! feeds of the outbox, keys, secrets, configuration and operations, over a store of
//! `pos-hq-store`. What head office decides lives in `pos-hq-core` (re-exported here as
//! [`ingest`], [`rollup`], [`accounting`], [`crm`], [`stock`], [`web_orders`],
//! [`distribution`], [`events`]...); the `sync-server` binary adds the admin commands.
//!
//! - [`store`]: the storage interface and its two backends, [`store::sqlite`] and
//!   [`store::postgres`], each owning its migrations, and [`open_store`];
//! - [`api`]: the HTTP API (axum) and [`api::serve`], which takes a listener and a shutdown
//!   signal so tests bind port 0; [`tls`]: the same served over HTTPS (`serve --tls-cert
//!   --tls-key`);
//! - [`admin`]: administration (catalog, prices, promotions, VAT, tenders, shops, tills,
//!   staff, users), journaled, called by the admin HTTP API under `/api/v1/admin/` and by
//!   `sync-server admin`;
//! - [`scope`]: which shops a head-office user sees (their shop, their region's, or all);
//!   [`sales_api`]: consolidated sales with the previous period; [`tickets_api`]: a shop's
//!   tickets of a day and one ticket with its signature verified again; [`orders_api`]: web
//!   orders; [`customers_api`]: the customers tills create or change; [`accounting_export`]:
//!   the FEC and hledger exports of a legal entity; [`archives_api`]: the tills' archives,
//!   verified on arrival, kept, listed, downloaded and verified again by auditors;
//!   [`stored_value_api`]: credit notes' and gift cards' balances, online holds and history,
//!   with [`till_throttle`] bounding a till's lookups; [`returns_api`]: another till's ticket
//!   with its returns anywhere in the chain, and return reservations; [`commissions_api`]:
//!   sellers' commissions under head office's plan, and their payroll file; [`exports_api`]:
//!   the period tables and accountants' files as downloads, written by [`spreadsheet`];
//!   [`stock_api`]: what each shop may promise of each product, for the web shop;
//!   [`till_stock_api`]: a product's stock at a till's shop and the shops of its region;
//!   [`logistics_api`]: advance shipping notices in from logistics, and what shops received
//!   against them; [`logistics_inbox`]: the same notices from CSV files in a drop folder;
//! - [`openapi`]: the OpenAPI document generated from the handlers (`GET /openapi.json`);
//! - [`ops`]: operations: `/healthz`, `/readyz`, and Prometheus metrics on the address of
//!   `serve --metrics-listen`, with the middleware counting requests by route template;
//! - [`config`]: the settings file of `serve` and the order of file, variables and flags;
//! - [`login_throttle`]: head-office logins throttled per user name and per address, with
//!   the Argon2 work bounded;
//! - [`secrets`]: enrollment codes and bearer tokens (only their SHA-256 is stored);
//!   [`server_key`]: the server key (never in the database) and the webhook secrets sealed
//!   under it;
//! - [`web_app`]: the head-office web app served under `/hq/` with a strict CSP;
//!   [`web_session`]: its login in an `HttpOnly`, `SameSite=Strict` cookie standing for a
//!   bearer token; [`live`]: server-sent events telling open screens of each upload;
//! - [`feeds`]: push delivery of the outbox: signed webhooks with retries and dead letters,
//!   and a NATS JetStream publisher.
//!
//! Invariants: a record is stored once and never updated or deleted (both backends refuse it
//! with triggers); a batch, its rollups, its alarms and its outbox events commit in one
//! transaction; a record is stored only after its signature and its link to the previous held
//! record are verified; the wire types are those of [`pos_domain::wire`].

pub mod accounting_export;
pub mod admin;
pub mod allocator;
pub mod api;
pub mod archives_api;
pub mod commissions_api;
pub mod config;
pub mod customers_api;
pub mod exports_api;
pub mod feeds;
pub mod live;
pub mod login_throttle;
pub mod logistics_api;
pub mod logistics_inbox;
pub mod openapi;
pub mod ops;
pub mod orders_api;
pub mod returns_api;
pub mod sales_api;
pub mod scope;
pub mod secrets;
pub mod server_key;
pub mod spreadsheet;
pub mod stock_api;
pub mod store;
pub mod stored_value_api;
pub mod tickets_api;
pub mod till_stock_api;
pub mod till_throttle;
pub mod tls;
pub mod web_app;
pub mod web_session;

/// The pure core's modules, under the names the server's modules and tests use.
pub use pos_hq_core::{
    accounting, archives, commissions, crm, derive, distribution, events, ingest, logistics,
    replenishment, returns, rollup, signatures, stock, stored_value, web_orders,
};

pub use api::{AppState, ServerConfig, serve};
pub use store::{Store, StoreError, open_store};
