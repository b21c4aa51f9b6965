//! The pure domain of the point of sale, shared by the till and the head-office server so both
//! compute the same totals and verify the same signatures.
//!
//! Nothing here does I/O: no files, network, database or clock reads. Time comes from a
//! [`clock::Clock`], key material from the caller. Change a serialized type only deliberately:
//! its JSON is the canonical record format (see [`record`]) and the sync wire format, locked by
//! the test vectors in `tests/vectors/`.
//!
//! - [`money`]: euros as exact decimals, rounding half away from zero;
//! - [`limits`]: the one bound of every amount, count and text, so what is accepted is read back;
//! - [`vat`]: VAT categories, territories, rates and the per-ticket rounding method;
//! - [`codes`]: GTIN/EAN barcodes and IMEIs, check digits validated;
//! - [`product`], [`ticket`], [`tender`]: what is sold, and how sales and returns are computed;
//! - [`promotion`]: head office's promotions, applied by the tills as line discounts;
//! - [`exchange`]: goods brought back and others taken, the difference settled, on one ticket;
//! - [`accounting`]: daily journal entries from Z closures, FEC and hledger formats;
//! - [`closure`]: X reports and Z/month/year closures;
//! - [`journal`]: duplicates, cash movements, technical events, archives;
//! - [`record`]: canonical bytes, chains, ES256 signatures and chain verification;
//! - [`customer`]: customers' contact details, ids made offline, search normalization;
//! - [`returns_anywhere`]: returns naming another till's ticket, or no receipt at all;
//! - [`stock`]: goods received, transfers between shops and counts, and their effect on stock;
//! - [`stored_value`]: credit notes and gift cards, their numbers, movements and balances;
//! - [`web_order`]: click & collect orders, their states and legal transitions;
//! - [`web_return`]: a web order paid online returned in a shop, from its collected lines;
//! - [`wire`]: the sync protocol's JSON bodies (upload, changes feed).

pub mod accounting;
pub mod archive;
pub mod clock;
pub mod closure;
pub mod codes;
pub mod customer;
pub mod error;
pub mod exchange;
pub mod journal;
pub mod limits;
pub mod money;
pub mod on_hand;
pub mod product;
pub mod promotion;
pub mod record;
pub mod returns_anywhere;
pub mod stock;
pub mod stored_value;
pub mod tender;
pub mod ticket;
pub mod vat;
pub mod web_order;
pub mod web_return;
pub mod wire;

pub use error::SaleError;
pub use money::Money;
