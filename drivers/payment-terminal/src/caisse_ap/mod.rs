//! Caisse-AP (Concert V3): [`tlv`] fields -> [`message`] -> [`client`].

pub mod client;
pub mod message;
pub mod tlv;
