//! Head office's pure core: what head office decides, with no database, no HTTP and no async
//! runtime, so every backend and every route applies the same rules.
//!
//! - [`ingest`]: the upload planner (held state + batch -> records to store, alarm,
//!   acknowledgement), with the signature verdicts of [`signatures`] checked before the
//!   transaction, and the alarms' bound per till and hour;
//! - [`derive`](mod@derive): what an upload writes besides its records (rollups, events, alarms, customers,
//!   stock), from the plans;
//! - [`rollup`]: sales rollups from ticket payloads; [`accounting`]: the daily journal entry of
//!   a day (Z) closure; [`crm`]: customer events of tickets; [`stock`]: per-shop stock (on
//!   hand, in transit, reserved) moved by tickets, stock operations and web orders, counts
//!   resolved at their start, handsets by IMEI;
//!   [`web_orders`]: click & collect orders, their state machine applied to tills' records;
//!   [`stored_value`]: credit notes' and gift cards' balances, overdraft alarms, online holds;
//!   [`returns`]: what is still returnable of a ticket anywhere in the chain, over-returns;
//!   [`commissions`]: sellers' commissions under head office's plan, claw-backs included;
//! - [`logistics`]: advance shipping notices and a goods receipt's differences against its
//!   notice;
//! - [`distribution`]: the entries of the changes feed tills download; [`events`]: the
//!   CloudEvents of the outbox; [`random`]: random bytes for ids and codes.

pub mod accounting;
pub mod archives;
pub mod commissions;
pub mod crm;
pub mod derive;
pub mod distribution;
pub mod events;
pub mod ingest;
pub mod logistics;
pub mod random;
pub mod returns;
pub mod rollup;
pub mod signatures;
pub mod stock;
pub mod stored_value;
pub mod web_orders;
