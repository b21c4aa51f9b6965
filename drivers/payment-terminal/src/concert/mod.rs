//! Concert link layer (shared by V2 and Caisse-AP over serial) and the Concert V2 protocol.
//!
//! Layers: [`frame`] (bytes, LRC, decoder) -> [`session`] (ENQ/ACK/EOT state machine) ->
//! [`v2`] (message fields) -> [`client`] (the cash register's side).

pub mod client;
pub mod frame;
pub mod session;
pub mod v2;
