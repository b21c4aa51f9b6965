//! The head-office sync server: it enrolls tills, ingests their signed ledgers exactly once,
//! keeps sales rollups and fleet status up to date on ingest, and writes every accepted record
//! and alarm to an outbox that back-office consumers read at their own pace.
//!
//! - [`ingest`]: the pure upload planner (held state + batch -> records to store, alarm,
//!   acknowledgement), where signatures and links are verified; every backend calls it;
//! - [`rollup`]: sales rollups derived from ticket payloads; [`events`]: CloudEvents for the
//!   outbox;
//! - [`store`]: the storage trait and its two backends, [`store::sqlite`] and
//!   [`store::postgres`], each owning its migrations;
//! - [`api`]: the HTTP API (axum) and [`api::serve`], which takes a listener and a shutdown
//!   signal so tests bind port 0; [`tls`]: the same served over HTTPS (`serve --tls-cert
//!   --tls-key`);
//! - [`scope`]: which shops a head-office user sees (their shop, their region's, or all);
//!   [`sales_api`]: consolidated sales with the previous period; [`tickets_api`]: a shop's
//!   tickets of a day and one ticket with its signature verified again;
//! - [`openapi`]: the OpenAPI document generated from the handlers (`GET /openapi.json`);
//! - [`ops`]: operations: `/healthz`, `/readyz`, and Prometheus metrics on the address of
//!   `serve --metrics-listen`, with the middleware counting requests by route template;
//! - [`config`]: the settings file of `serve` and the order of file, variables and flags;
//! - [`login_throttle`]: head-office logins throttled per user name and per address, with
//!   the Argon2 work bounded;
//! - [`secrets`]: enrollment codes and bearer tokens (only their SHA-256 is stored);
//!   [`server_key`]: the server key (never in the database) and the webhook secrets sealed
//!   under it.
//! - [`distribution`]: the changes feed tills download (catalog, per-shop prices, staff, web
//!   orders); [`web_orders`]: click & collect orders, their state machine and events;
//! - [`accounting`]: daily journal entries posted from day (Z) closures on ingest, and the
//!   FEC and hledger exports of a legal entity.
//! - [`crm`] and [`stock`]: customer, purchase and per-shop stock events derived from the
//!   tickets on ingest, for the CRM and the web shop; [`customers_api`]: the customers tills
//!   create or change (contact details, the later change wins, dated no later than head
//!   office's clock allows), stored with the shop and till that made them, sent to the shop's
//!   tills and announced to the CRM;
//! - [`feeds`]: push delivery of the outbox: signed webhooks with retries and dead letters,
//!   and a NATS JetStream publisher.
//!
//! Invariants: a record is stored once and never updated or deleted (both backends refuse it
//! with triggers); a batch, its rollups, its alarms and its outbox events commit in one
//! transaction; a record is stored only after its signature and its link to the previous held
//! record are verified; the wire types are those of [`pos_domain::wire`].

pub mod accounting;
pub mod admin_feed;
pub mod admin_rules;
pub mod api;
pub mod config;
pub mod crm;
pub mod customers_api;
pub mod derive;
pub mod distribution;
pub mod events;
pub mod feeds;
pub mod ingest;
pub mod login_throttle;
pub mod openapi;
pub mod ops;
pub mod orders_api;
pub mod rollup;
pub mod sales_api;
pub mod scope;
pub mod secrets;
pub mod server_key;
pub mod signatures;
pub mod stock;
pub mod store;
pub mod tickets_api;
pub mod tls;
pub mod web_orders;

pub use api::{AppState, ServerConfig, serve};
pub use store::{Store, StoreError, open_store};
