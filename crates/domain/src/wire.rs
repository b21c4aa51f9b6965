//! The sync wire protocol between tills and the head-office server: the JSON bodies of
//! enrollment and upload, their answers, and the `{code, message}` error body.
//!
//! These types *are* the protocol. Tills in the field run old versions, so a change here must be
//! deliberate: the snapshot tests at the bottom of this file lock the JSON of every type, and a
//! change that is not backwards compatible needs a new [`PROTOCOL_MAJOR`].
//!
//! # Versioning
//!
//! Every till request carries its protocol version (`"1.1"`). The server accepts every minor
//! version of a major it supports (old tills keep working across server upgrades) and refuses an
//! unknown major with the error code [`codes::PROTOCOL_UNSUPPORTED`]. Within a major version,
//! fields are only ever added, with defaults, and readers ignore fields they do not know.
//!
//! - 1.0: enrollment and upload.
//! - 1.1: the changes feed (download), web orders, and the `web_order` chain, which a till
//!   sends only once it holds records (so a 1.0 server never receives a chain it cannot read
//!   from a till that does not use it). A 1.1 server advertises the `changes` and
//!   `web_orders` features.
//!
//! # Upload
//!
//! The till sends, per chain, a batch of records in sequence order, each as its *stored bytes*
//! (the canonical JSON text including the signature, see [`crate::record`]) carried verbatim in a
//! JSON string; canonical bytes are UTF-8, so the string is lossless. The server answers per
//! chain the highest contiguous sequence it holds ([`ChainAck::held`]) and the outcome; the till
//! marks records as synced only up to `held`, and resends from `held + 1`.
//!
//! # Download: the changes feed
//!
//! Everything head office distributes to tills (products with their barcodes, per-shop prices,
//! staff, the shop's web orders) is a keyed entry with a version from one global, monotonic
//! sequence; a change gives the entry a new version. `GET /api/v1/tills/{till}/changes?since=V`
//! answers the entries of the till's shop (and of every shop) with a version above `V`, oldest
//! first ([`ChangesPage`]); the till applies a page in one local transaction together with
//! `next`, and asks again from there. Asked from 0, the feed is a snapshot: each entry once, at
//! its newest version. A till ignores kinds it does not know, so new kinds can be added within a
//! major version.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::record::Chain;

/// The major version of the protocol this crate speaks.
pub const PROTOCOL_MAJOR: u32 = 1;
/// The minor version of the protocol this crate speaks.
pub const PROTOCOL_MINOR: u32 = 1;

/// A protocol version `major.minor`, written as a string (`"1.0"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    pub major: u32,
    pub minor: u32,
}

impl ProtocolVersion {
    /// The version this crate speaks.
    pub const CURRENT: ProtocolVersion = ProtocolVersion {
        major: PROTOCOL_MAJOR,
        minor: PROTOCOL_MINOR,
    };
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for ProtocolVersion {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("protocol version `{text}` is not MAJOR.MINOR (for example `1.0`)");
        let (major, minor) = text.split_once('.').ok_or_else(bad)?;
        Ok(ProtocolVersion {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Stable machine codes of the errors the server answers with, so clients never match on
/// messages.
pub mod codes {
    /// The body is not JSON.
    pub const JSON_MALFORMED: &str = "json_malformed";
    /// The body is JSON but not of the expected shape (missing field, wrong type).
    pub const JSON_INVALID: &str = "json_invalid";
    /// The body has no `Content-Type: application/json`.
    pub const CONTENT_TYPE: &str = "content_type";
    /// The body exceeds the server's size limit.
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    /// Too many records in one upload.
    pub const BATCH_TOO_LARGE: &str = "batch_too_large";
    /// The same chain appears twice in one upload, or records are not in sequence order.
    pub const BATCH_INVALID: &str = "batch_invalid";
    /// The protocol major version is not supported by this server.
    pub const PROTOCOL_UNSUPPORTED: &str = "protocol_unsupported";
    /// No bearer token, or an unknown one.
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    /// A valid token used on data it has no right to.
    pub const FORBIDDEN: &str = "forbidden";
    /// The enrollment code is unknown, already used or expired.
    pub const ENROLLMENT_CODE_INVALID: &str = "enrollment_code_invalid";
    /// The public key is not a P-256 SEC1 key in hex.
    pub const PUBLIC_KEY_INVALID: &str = "public_key_invalid";
    /// A till enrolling again presented another key than the one it enrolled with.
    pub const PUBLIC_KEY_MISMATCH: &str = "public_key_mismatch";
    /// Unknown head-office user or wrong password.
    pub const LOGIN_FAILED: &str = "login_failed";
    /// No such resource.
    pub const NOT_FOUND: &str = "not_found";
    /// A query parameter is invalid.
    pub const QUERY_INVALID: &str = "query_invalid";
    /// The server failed; the request can be retried.
    pub const INTERNAL: &str = "internal";
    /// An idempotency key was reused with another request body.
    pub const IDEMPOTENCY_CONFLICT: &str = "idempotency_conflict";
    /// A request is missing its `Idempotency-Key` header.
    pub const IDEMPOTENCY_KEY_MISSING: &str = "idempotency_key_missing";
    /// A web order cannot make this move from its current state.
    pub const ORDER_STATE: &str = "order_state";
    /// A click & collect order asks for more than its pickup shop may promise.
    pub const STOCK_UNAVAILABLE: &str = "stock_unavailable";
    /// The request is well-formed but its content is refused (the message says why).
    pub const INVALID: &str = "invalid";
    /// Too many failed logins for this user name or from this address: wait the
    /// `Retry-After` seconds (even the right password is refused meanwhile).
    pub const LOGIN_THROTTLED: &str = "login_throttled";
    /// The server is at capacity for this kind of request: retry after `Retry-After` seconds.
    pub const BUSY: &str = "busy";
}

/// Kinds of entries in the changes feed ([`Change::kind`]).
pub mod kinds {
    /// A product with its barcodes and base price ([`crate::product::Product`]); key: its id.
    pub const PRODUCT: &str = "product";
    /// The price of a product in one shop ([`super::ShopPrice`]), over the base price; key: the
    /// product id.
    pub const PRICE: &str = "price";
    /// A staff member who may log in at the shop's tills ([`super::StaffMember`]); key: the id.
    pub const STAFF: &str = "staff";
    /// A web order for pickup in the shop ([`crate::web_order::WebOrder`]); key: its id.
    pub const WEB_ORDER: &str = "web_order";
    /// One shop setting as a one-field object (`{"siret": "..."}`, `shop_address`,
    /// `vat_number`, `fiscal_year_start_month`); key: the setting's name.
    pub const SETTING: &str = "setting";
    /// A customer of the shop ([`crate::customer::Customer`]); key: the customer id.
    pub const CUSTOMER: &str = "customer";
    /// A VAT rate of the shop's territory from a day on ([`crate::vat::VatRateEntry`]); key:
    /// `code@day` ([`crate::vat::VatRateEntry::key`]).
    pub const VAT_RATE: &str = "vat_rate";
    /// How the shop takes a means of payment ([`crate::tender::TenderType`]); key: the kind
    /// (`cheque`).
    pub const TENDER: &str = "tender";
    /// A promotion the shop's tills apply ([`crate::promotion::Promotion`]); key: its id.
    pub const PROMOTION: &str = "promotion";
    /// The chain's credit-note and gift-card rules: validity, largest load, offline caps
    /// ([`crate::stored_value::StoredValueRules`]); key: `chain`.
    pub const STORED_VALUE_RULES: &str = "stored_value_rules";
    /// The caps on returns not checked against their original
    /// ([`crate::returns_anywhere::ReturnRules`]); key: `chain`.
    pub const RETURN_RULES: &str = "return_rules";
    /// An advance shipping notice for the shop ([`crate::stock::ShippingNotice`]); key: its
    /// id; `null` data when logistics withdrew it.
    pub const SHIPPING_NOTICE: &str = "shipping_notice";
}

/// The body of `POST /api/v1/tills/{till_id}/customers`: customers created or changed at the
/// till since its last upload. Resending is harmless: a version no later than the stored one
/// changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomersUpload {
    pub customers: Vec<crate::customer::Customer>,
}

/// The answer to a customer upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomersUploadResponse {
    /// How many were new or newer than head office's copy and were stored.
    pub stored: u64,
    /// How many head office already held at the same or a later change (kept as it was).
    pub unchanged: u64,
}

/// One entry of the changes feed at its newest version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The global version of this change; versions only grow.
    pub version: u64,
    /// What the entry is ([`kinds`]); a till skips kinds it does not know.
    pub kind: String,
    /// Which entry of its kind (a product id, a staff id, an order id).
    pub key: String,
    /// The entry as it now is; `null` when it was removed.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// The answer of `GET /api/v1/tills/{till_id}/changes?since=V&limit=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesPage {
    /// Changes with a version above `since`, oldest first, at most `limit`.
    pub changes: Vec<Change>,
    /// The version to ask from next (and to store with this page once applied).
    pub next: u64,
    /// The newest version of the till's feed when this page was read: the till is up to date
    /// once `next` reaches it (for progress).
    pub latest: u64,
}

/// A product's price in one shop, including VAT; `null` data in the feed removes it (the
/// base price applies again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopPrice {
    pub product_id: String,
    pub price: crate::Money,
}

/// Staff roles at the till.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Cashier,
    Manager,
}

impl StaffRole {
    pub fn name(self) -> &'static str {
        match self {
            StaffRole::Cashier => "cashier",
            StaffRole::Manager => "manager",
        }
    }
}

/// A staff member as head office distributes them: the PIN only as an Argon2 PHC hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub role: StaffRole,
    /// Argon2 PHC string of the PIN.
    pub pin_hash: String,
    pub active: bool,
}

/// The body of every error answer: a stable machine code and a message saying what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// What the server supports, answered at enrollment and by `GET /api/v1/capabilities`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The newest version the server speaks.
    pub protocol: ProtocolVersion,
    /// Every major version the server accepts.
    pub supported_majors: Vec<u32>,
    /// Largest number of records accepted in one upload.
    pub max_records_per_upload: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Optional features, by name (for example `upload`).
    pub features: Vec<String>,
}

/// `POST /api/v1/enroll`: a till registers its signing key with a one-time code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub protocol: ProtocolVersion,
    /// The one-time enrollment code printed by head office (case and dashes are ignored).
    pub code: String,
    /// The till's public key, hex SEC1, as [`crate::record::PublicKey`] displays it.
    pub public_key: String,
    /// Software name and version of the till.
    pub software: String,
}

/// The answer to an enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The till id, which every record of this till must carry in its `till` field.
    pub till_id: String,
    pub shop_id: String,
    /// The bearer token for every later request; the server keeps only its hash.
    pub token: String,
    pub capabilities: Capabilities,
}

/// One stored record on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRecord {
    /// The sequence the till stores the record under.
    pub seq: u64,
    /// The record's stored bytes (canonical JSON including the signature), verbatim.
    pub stored: String,
}

/// A batch of consecutive records of one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBatch {
    pub chain: Chain,
    /// In increasing sequence order, normally starting right after what the server holds.
    pub records: Vec<WireRecord>,
}

/// `POST /api/v1/tills/{till_id}/records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRequest {
    pub protocol: ProtocolVersion,
    pub chains: Vec<ChainBatch>,
    /// The till's clock when it sent the upload (RFC 3339), so head office sees clock skew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}

/// What became of one chain's batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainOutcome {
    /// Every record was stored or already held.
    Ok,
    /// A record's sequence lies beyond the next one expected: resend from `expected`.
    Gap { expected: u64 },
    /// A record differs from the one held under the same sequence. Nothing was overwritten;
    /// an alarm was raised at head office. Records after it were not looked at.
    Fork { seq: u64, reason: String },
    /// A record failed verification (signature, link, shape, till). An alarm was raised.
    Rejected { seq: u64, reason: String },
}

/// The server's answer for one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainAck {
    pub chain: Chain,
    /// The highest sequence such that the server holds every record from 1 to it (0: none).
    /// The till may mark records up to here as synced.
    pub held: u64,
    /// Records of this batch newly stored.
    pub stored: u64,
    /// Records of this batch already held, byte for byte (resends: no-ops).
    pub duplicates: u64,
    #[serde(flatten)]
    pub outcome: ChainOutcome,
}

/// The answer to an upload: one acknowledgement per chain sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    pub chains: Vec<ChainAck>,
}

// ---------------------------------------------------------------------------------------------
// Customer money across the chain (issue 12): what a till asks head office while a customer
// waits. Each call has a short timeout at the till; with no answer the till applies the
// offline rules (caps, manager approval) and records that it did, so nothing is refused after
// the customer left. A head office that has them advertises the `stored_value` and
// `returns_anywhere` features.
// ---------------------------------------------------------------------------------------------

/// `POST /api/v1/tills/{till_id}/instruments/lookup`: a credit note's or gift card's balance.
/// A POST, so the number stays out of URLs and access logs; head office rate-limits it per
/// till (numbers are unguessable, but a lookup must not become an oracle).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentLookup {
    pub protocol: ProtocolVersion,
    pub number: crate::stored_value::InstrumentNumber,
}

/// Head office's answer to a lookup: the balance from every till's movements it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentAnswer {
    /// Whether head office knows the instrument at all (an unknown card has no balance).
    pub known: bool,
    #[serde(flatten)]
    pub state: crate::stored_value::InstrumentState,
    /// Movements made offline at some till and not yet reconciled, which the balance may not
    /// reflect yet.
    #[serde(default)]
    pub pending_offline: bool,
}

/// `POST /api/v1/tills/{till_id}/instruments/hold`: reserve `amount` of an instrument for a
/// sale about to be recorded, so two tills cannot spend the same money online. The hold ends
/// when the redemption record naming `hold` arrives, or after `seconds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionHold {
    pub protocol: ProtocolVersion,
    /// An id the till makes (random), repeated in the redemption it records: a resend of the
    /// same hold is the same hold.
    pub hold: String,
    pub number: crate::stored_value::InstrumentNumber,
    pub amount: crate::money::Money,
    pub seconds: u32,
}

/// The answer to a hold: granted (and the balance left besides it) or refused with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionHoldAnswer {
    pub hold: String,
    pub granted: bool,
    #[serde(flatten)]
    pub state: crate::stored_value::InstrumentState,
    /// A stable code when refused (`instrument_balance_insufficient`, `instrument_not_usable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// `POST /api/v1/tills/{till_id}/tickets/lookup`: another till's ticket, named by the
/// receipt's QR reference (`POS1:TILL:NUMBER:HASH16`) or by its till and number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLookup {
    pub protocol: ProtocolVersion,
    pub till: String,
    pub ticket: u64,
    /// The first 16 hex digits of the ticket record's hash, from the QR code: proof the
    /// customer holds the receipt. Absent when the number was typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_prefix: Option<String>,
}

/// A ticket as head office holds it: where it was made and its signed payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketAt {
    pub till: String,
    pub shop: String,
    pub ticket: u64,
    /// When it was recorded (RFC 3339, the record's `at`).
    pub at: String,
    pub payload: crate::ticket::Ticket,
}

/// The answer to a ticket lookup: the original, and every return and exchange already made
/// against it anywhere in the chain, so the till computes what is still returnable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLookupAnswer {
    pub original: TicketAt,
    pub returns: Vec<TicketAt>,
    /// Units reserved by returns in progress at other tills (not yet recorded), per original
    /// line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<crate::ticket::ReturnLine>,
}

/// `POST /api/v1/tills/{till_id}/returns/reserve`: reserve the lines a till is about to
/// return against another till's ticket, in the request that checks them, so two tills
/// racing to return the last unit cannot both succeed. The reservation ends when the return
/// record naming it arrives, or after `seconds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReservation {
    pub protocol: ProtocolVersion,
    /// An id the till makes (random): a resend is the same reservation.
    pub reservation: String,
    pub original_till: String,
    pub original_ticket: u64,
    pub lines: Vec<crate::ticket::ReturnLine>,
    pub seconds: u32,
}

/// The answer to a reservation: granted, or refused with the lines beyond what is left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReservationAnswer {
    pub reservation: String,
    pub granted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[cfg(test)]
mod tests {
    //! Snapshot tests: the JSON of every wire type is locked here. If one fails, the protocol
    //! changed: make sure old tills and servers still understand each other (or bump
    //! [`PROTOCOL_MAJOR`]) before updating the expected text.

    use super::*;
    use serde::de::DeserializeOwned;

    fn locks<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: T, expected: &str) {
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(
            text,
            expected,
            "the wire JSON of {} changed: the sync protocol must only change deliberately",
            std::any::type_name::<T>()
        );
        let back: T = serde_json::from_str(expected).unwrap();
        assert_eq!(
            back, value,
            "the locked wire JSON must read back to the same value"
        );
    }

    fn capabilities() -> Capabilities {
        Capabilities {
            protocol: ProtocolVersion::CURRENT,
            supported_majors: vec![1],
            max_records_per_upload: 5000,
            max_body_bytes: 16_777_216,
            features: vec!["upload".into()],
        }
    }

    #[test]
    fn protocol_version_is_a_major_minor_string() {
        locks(ProtocolVersion { major: 1, minor: 3 }, r#""1.3""#);
        assert!("1".parse::<ProtocolVersion>().is_err());
        assert!("a.b".parse::<ProtocolVersion>().is_err());
        assert_eq!(ProtocolVersion::CURRENT.to_string(), "1.1");
    }

    #[test]
    fn enrollment_is_locked() {
        locks(
            EnrollRequest {
                protocol: ProtocolVersion::CURRENT,
                code: "K7QM-2XPD-9R".into(),
                public_key: "04ab".into(),
                software: "pos-till 0.1.0".into(),
            },
            r#"{"protocol":"1.1","code":"K7QM-2XPD-9R","public_key":"04ab","software":"pos-till 0.1.0"}"#,
        );
        locks(
            EnrollResponse {
                till_id: "PARIS-OPERA-1".into(),
                shop_id: "PARIS-OPERA".into(),
                token: "t0k3n".into(),
                capabilities: capabilities(),
            },
            r#"{"till_id":"PARIS-OPERA-1","shop_id":"PARIS-OPERA","token":"t0k3n","capabilities":{"protocol":"1.1","supported_majors":[1],"max_records_per_upload":5000,"max_body_bytes":16777216,"features":["upload"]}}"#,
        );
    }

    #[test]
    fn upload_is_locked() {
        locks(
            UploadRequest {
                protocol: ProtocolVersion::CURRENT,
                chains: vec![ChainBatch {
                    chain: Chain::Ticket,
                    records: vec![WireRecord {
                        seq: 1,
                        stored: r#"{"chain":"ticket"}"#.into(),
                    }],
                }],
                sent_at: None,
            },
            r#"{"protocol":"1.1","chains":[{"chain":"ticket","records":[{"seq":1,"stored":"{\"chain\":\"ticket\"}"}]}]}"#,
        );
        locks(
            UploadRequest {
                protocol: ProtocolVersion::CURRENT,
                chains: vec![],
                sent_at: Some("2026-03-30T08:00:00.000000Z".into()),
            },
            r#"{"protocol":"1.1","chains":[],"sent_at":"2026-03-30T08:00:00.000000Z"}"#,
        );
        let ack = |outcome| ChainAck {
            chain: Chain::Cash,
            held: 4,
            stored: 2,
            duplicates: 1,
            outcome,
        };
        locks(
            UploadResponse {
                chains: vec![
                    ack(ChainOutcome::Ok),
                    ack(ChainOutcome::Gap { expected: 5 }),
                    ack(ChainOutcome::Fork {
                        seq: 3,
                        reason: "r".into(),
                    }),
                    ack(ChainOutcome::Rejected {
                        seq: 5,
                        reason: "r".into(),
                    }),
                ],
            },
            concat!(
                r#"{"chains":["#,
                r#"{"chain":"cash","held":4,"stored":2,"duplicates":1,"status":"ok"},"#,
                r#"{"chain":"cash","held":4,"stored":2,"duplicates":1,"status":"gap","expected":5},"#,
                r#"{"chain":"cash","held":4,"stored":2,"duplicates":1,"status":"fork","seq":3,"reason":"r"},"#,
                r#"{"chain":"cash","held":4,"stored":2,"duplicates":1,"status":"rejected","seq":5,"reason":"r"}"#,
                r#"]}"#
            ),
        );
    }

    #[test]
    fn changes_feed_is_locked() {
        locks(
            ChangesPage {
                changes: vec![
                    Change {
                        version: 41,
                        kind: kinds::PRICE.into(),
                        key: "P1".into(),
                        data: Some(
                            serde_json::to_value(ShopPrice {
                                product_id: "P1".into(),
                                price: crate::Money::from_cents(1990),
                            })
                            .unwrap(),
                        ),
                    },
                    Change {
                        version: 42,
                        kind: kinds::PRODUCT.into(),
                        key: "P2".into(),
                        data: None,
                    },
                ],
                next: 42,
                latest: 50,
            },
            concat!(
                r#"{"changes":["#,
                r#"{"version":41,"kind":"price","key":"P1","data":{"price":"19.90","product_id":"P1"}},"#,
                r#"{"version":42,"kind":"product","key":"P2","data":null}"#,
                r#"],"next":42,"latest":50}"#
            ),
        );
        locks(
            StaffMember {
                id: "alice".into(),
                name: "Alice".into(),
                role: StaffRole::Cashier,
                pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                active: true,
            },
            r#"{"id":"alice","name":"Alice","role":"cashier","pin_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA","active":true}"#,
        );
    }

    #[test]
    fn web_orders_are_locked() {
        use crate::web_order::{NewOrderLine, NewWebOrder, OrderState, PaymentState, WebOrder};
        locks(
            NewWebOrder {
                shop: "PARIS-OPERA".into(),
                lines: vec![NewOrderLine {
                    product_id: "ACC-1".into(),
                    label: "Coque".into(),
                    quantity: 2,
                    unit_price: crate::Money::from_cents(1500),
                    vat_code: None,
                }],
                payment: PaymentState::PayInShop,
                customer: None,
                reference: Some("WEB-1".into()),
            },
            r#"{"shop":"PARIS-OPERA","lines":[{"product_id":"ACC-1","label":"Coque","quantity":2,"unit_price":"15.00"}],"payment":"pay_in_shop","reference":"WEB-1"}"#,
        );
        let order = WebOrder {
            id: "W-1".into(),
            shop: "PARIS-OPERA".into(),
            lines: vec![],
            payment: PaymentState::PaidOnline,
            total: crate::Money::from_cents(0),
            pickup_code: "K7QM2XPD".into(),
            customer: Some("C1".into()),
            reference: None,
            state: OrderState::Ready,
            placed_at: "2026-03-30T08:00:00.000000Z".into(),
            collected: vec![],
            returned: vec![],
        };
        locks(
            order,
            r#"{"id":"W-1","shop":"PARIS-OPERA","lines":[],"payment":"paid_online","total":"0.00","pickup_code":"K7QM2XPD","customer":"C1","state":"ready","placed_at":"2026-03-30T08:00:00.000000Z"}"#,
        );
    }

    #[test]
    fn collected_and_returned_web_orders_are_locked() {
        use crate::web_order::{OrderLine, OrderState, PickedLine, WebOrder};
        let order = WebOrder {
            id: "W-1".into(),
            shop: "PARIS-OPERA".into(),
            lines: vec![OrderLine {
                line: 1,
                product_id: "ACC-1".into(),
                label: "Coque".into(),
                quantity: 2,
                unit_price: crate::Money::from_cents(1500),
                vat_code: Some(crate::vat::VatCode::Standard),
            }],
            payment: crate::web_order::PaymentState::PaidOnline,
            total: crate::Money::from_cents(3000),
            pickup_code: "K7QM2XPD".into(),
            customer: None,
            reference: None,
            state: OrderState::Collected,
            placed_at: "2026-03-30T08:00:00.000000Z".into(),
            collected: vec![PickedLine {
                line: 1,
                quantity: 2,
            }],
            returned: vec![PickedLine {
                line: 1,
                quantity: 1,
            }],
        };
        locks(
            order,
            r#"{"id":"W-1","shop":"PARIS-OPERA","lines":[{"line":1,"product_id":"ACC-1","label":"Coque","quantity":2,"unit_price":"15.00","vat_code":"standard"}],"payment":"paid_online","total":"30.00","pickup_code":"K7QM2XPD","state":"collected","placed_at":"2026-03-30T08:00:00.000000Z","collected":[{"line":1,"quantity":2}],"returned":[{"line":1,"quantity":1}]}"#,
        );
    }

    #[test]
    fn customer_money_requests_are_locked() {
        let number =
            crate::stored_value::InstrumentNumber::parse("AV 0000 0000 0000 0000 0025").unwrap();
        let state = crate::stored_value::InstrumentState {
            number: number.clone(),
            balance: crate::money::Money::from_cents(1509),
            expires: Some("2027-12-06".parse().unwrap()),
            closed: false,
        };
        locks(
            InstrumentLookup {
                protocol: ProtocolVersion::CURRENT,
                number: number.clone(),
            },
            r#"{"protocol":"1.1","number":"AV00000000000000000025"}"#,
        );
        locks(
            InstrumentAnswer {
                known: true,
                state: state.clone(),
                pending_offline: false,
            },
            r#"{"known":true,"number":"AV00000000000000000025","balance":"15.09","expires":"2027-12-06","closed":false,"pending_offline":false}"#,
        );
        locks(
            RedemptionHold {
                protocol: ProtocolVersion::CURRENT,
                hold: "h-1".into(),
                number,
                amount: crate::money::Money::from_cents(1000),
                seconds: 120,
            },
            r#"{"protocol":"1.1","hold":"h-1","number":"AV00000000000000000025","amount":"10.00","seconds":120}"#,
        );
        locks(
            RedemptionHoldAnswer {
                hold: "h-1".into(),
                granted: false,
                state,
                refused: Some("instrument_balance_insufficient".into()),
            },
            r#"{"hold":"h-1","granted":false,"number":"AV00000000000000000025","balance":"15.09","expires":"2027-12-06","closed":false,"refused":"instrument_balance_insufficient"}"#,
        );
        locks(
            TicketLookup {
                protocol: ProtocolVersion::CURRENT,
                till: "T-2".into(),
                ticket: 41,
                hash_prefix: Some("0123456789abcdef".into()),
            },
            r#"{"protocol":"1.1","till":"T-2","ticket":41,"hash_prefix":"0123456789abcdef"}"#,
        );
        locks(
            ReturnReservation {
                protocol: ProtocolVersion::CURRENT,
                reservation: "r-1".into(),
                original_till: "T-2".into(),
                original_ticket: 41,
                lines: vec![crate::ticket::ReturnLine {
                    line: 1,
                    quantity: 1,
                    serials: vec![],
                }],
                seconds: 120,
            },
            r#"{"protocol":"1.1","reservation":"r-1","original_till":"T-2","original_ticket":41,"lines":[{"line":1,"quantity":1,"serials":[]}],"seconds":120}"#,
        );
        locks(
            ReturnReservationAnswer {
                reservation: "r-1".into(),
                granted: true,
                refused: None,
            },
            r#"{"reservation":"r-1","granted":true}"#,
        );
    }

    #[test]
    fn errors_are_locked() {
        locks(
            ApiError {
                code: codes::UNAUTHENTICATED.into(),
                message: "m".into(),
            },
            r#"{"code":"unauthenticated","message":"m"}"#,
        );
    }

    #[test]
    fn customer_uploads_are_locked() {
        let customer = crate::customer::Customer {
            id: "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b".into(),
            name: "Zoé".into(),
            phone: None,
            email: Some("zoe@example.fr".into()),
            created_at: "2026-03-30T10:00:00Z".parse().unwrap(),
            updated_at: "2026-03-30T11:00:00Z".parse().unwrap(),
        };
        locks(
            CustomersUpload {
                customers: vec![customer],
            },
            r#"{"customers":[{"id":"0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b","name":"Zoé","email":"zoe@example.fr","created_at":"2026-03-30T10:00:00.000000Z","updated_at":"2026-03-30T11:00:00.000000Z"}]}"#,
        );
        locks(
            CustomersUploadResponse {
                stored: 1,
                unchanged: 0,
            },
            r#"{"stored":1,"unchanged":0}"#,
        );
    }
}
