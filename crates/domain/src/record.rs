//! The signed fiscal record: its canonical bytes, its chains, its signature and how a chain is
//! verified. Till and server both use this module, so they hash and verify identical bytes.
//!
//! # Canonical bytes
//!
//! A record is a JSON object serialized with no whitespace, object keys sorted by their UTF-8
//! bytes, strings with serde_json's minimal escaping (`"`, `\` and control characters only;
//! everything else as raw UTF-8), integers only (no floats: amounts and rates are decimal
//! strings). The *signed bytes* are the canonical bytes of the record without its `signature`
//! key; the *stored bytes* are the canonical bytes with it. Each record's `prev` is the hex
//! SHA-256 of the previous record's stored bytes (empty, with `first: true`, for sequence 1), so
//! a change anywhere breaks a link, and the signature (ES256: ECDSA P-256 over SHA-256, 64 bytes
//! `r‖s` in hex) authenticates each record.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::ecdsa::{Signature as EcdsaSignature, SigningKey, VerifyingKey};
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod scan;

/// The per-till chains of records, each numbered from 1 without gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chain {
    /// Sales, returns and cancellations; the sequence is the ticket number.
    Ticket,
    /// Training-mode ("mode école") tickets: never in the grand totals.
    Training,
    /// Day (Z), month and fiscal-year closures.
    Closure,
    /// Each reprint of a ticket.
    Duplicate,
    /// Cash movements: opening float, pay-in, pay-out, bank deposit, count.
    Cash,
    /// The technical event journal (JET).
    Event,
    /// Each archive made.
    Archive,
    /// What the till did with web orders: prepared, ready, handed over, refused
    /// ([`crate::web_order::TillAction`]).
    WebOrder,
    /// Stored-value movements no ticket carries: a credit note's or gift card's expiry and
    /// cancellation ([`crate::stored_value::InstrumentMovement`]). Not fiscal: no totals.
    StoredValue,
    /// Stock operations: goods received, transfers between shops, counts
    /// ([`crate::stock::StockOperation`]). Not fiscal: no totals.
    Stock,
}

impl Chain {
    pub const ALL: [Chain; 10] = [
        Chain::Ticket,
        Chain::Training,
        Chain::Closure,
        Chain::Duplicate,
        Chain::Cash,
        Chain::Event,
        Chain::Archive,
        Chain::WebOrder,
        Chain::StoredValue,
        Chain::Stock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Chain::Ticket => "ticket",
            Chain::Training => "training",
            Chain::Closure => "closure",
            Chain::Duplicate => "duplicate",
            Chain::Cash => "cash",
            Chain::Event => "event",
            Chain::Archive => "archive",
            Chain::WebOrder => "web_order",
            Chain::StoredValue => "stored_value",
            Chain::Stock => "stock",
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Chain {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Chain::ALL
            .into_iter()
            .find(|c| c.name() == text)
            .ok_or_else(|| format!("unknown chain `{text}`"))
    }
}

/// Serializes timestamps as RFC 3339 UTC with microseconds, one fixed textual form.
pub mod timestamp {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn format(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        let at = DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)?;
        let at = at.with_timezone(&Utc);
        if format(&at) != text {
            return Err(serde::de::Error::custom(format!(
                "timestamp `{text}` is not canonical"
            )));
        }
        Ok(at)
    }
}

/// A record before signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The till's id.
    pub till: String,
    pub chain: Chain,
    /// Gap-free, from 1, per till and chain.
    pub seq: u64,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
    /// The shop's IANA time zone, for local dates on receipts and closures.
    pub tz: String,
    /// The staff member who did it (or `system`).
    pub operator: String,
    /// Software name and version that wrote the record.
    pub software: String,
    /// True for sequence 1, whose `prev` is empty.
    pub first: bool,
    /// Hex SHA-256 of the previous record's stored bytes; empty for the first record.
    pub prev: String,
    /// What happened: a ticket, closure, duplicate, cash movement, event or archive.
    pub payload: Value,
}

/// Why bytes are not a canonical record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("floating-point number `{0}`: amounts and rates must be decimal strings")]
    Float(String),
    #[error("bytes are not in canonical form (key order, whitespace or escaping differ)")]
    NotCanonical,
    #[error("not a record: {0}")]
    Shape(String),
}

fn reject_floats(value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            Err(CanonicalError::Float(n.to_string()))
        }
        Value::Array(items) => items.iter().try_for_each(reject_floats),
        Value::Object(map) => map.values().try_for_each(reject_floats),
        _ => Ok(()),
    }
}

/// The canonical bytes of any JSON value (see the module docs).
pub fn canonical_bytes(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    reject_floats(value)?;
    // serde_json's Map is a BTreeMap here (no `preserve_order`), so keys come out sorted.
    serde_json::to_vec(value).map_err(|e| CanonicalError::Json(e.to_string()))
}

/// Parses bytes that must already be canonical.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, CanonicalError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CanonicalError::Json(e.to_string()))?;
    if canonical_bytes(&value)? != bytes {
        return Err(CanonicalError::NotCanonical);
    }
    Ok(value)
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    // ring's SHA-256 uses the CPU's SHA extensions where present: hashing every stored record is
    // on the path of each sale and of each verification.
    hex::encode(digest(&SHA256, bytes))
}

impl Record {
    /// The bytes that are signed: the canonical record without signature.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        let value = serde_json::to_value(self).map_err(|e| CanonicalError::Json(e.to_string()))?;
        canonical_bytes(&value)
    }

    /// Signs the record.
    pub fn sign(self, signer: &dyn Signer) -> Result<SignedRecord, SignError> {
        reject_floats(&self.payload).map_err(SignError::Canonical)?;
        let signed_bytes = self.canonical_view(None).to_bytes()?;
        let signature = signer.sign(&signed_bytes)?;
        let stored = self.canonical_view(Some(&signature)).to_bytes()?;
        Ok(SignedRecord {
            record: self,
            signature,
            stored,
        })
    }

    fn canonical_view<'a>(&'a self, signature: Option<&'a Signature>) -> CanonicalView<'a> {
        CanonicalView {
            at: timestamp::format(&self.at),
            chain: self.chain,
            first: self.first,
            operator: &self.operator,
            payload: &self.payload,
            prev: &self.prev,
            seq: self.seq,
            signature: signature.map(Signature::to_string),
            software: &self.software,
            till: &self.till,
            tz: &self.tz,
        }
    }
}

/// A record's fields in canonical key order (sorted by their bytes, `signature` between `seq`
/// and `software`), borrowed from the record: signing writes the signed and stored bytes
/// straight from it instead of first copying the record into a JSON tree. The payload's own
/// objects are `serde_json` maps, sorted already. A unit test below checks these bytes equal
/// [`canonical_bytes`] of the record as a JSON value, and `tests/vectors.rs` checks them
/// against the committed stored bytes.
#[derive(Serialize)]
struct CanonicalView<'a> {
    at: String,
    chain: Chain,
    first: bool,
    operator: &'a str,
    payload: &'a Value,
    prev: &'a str,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    software: &'a str,
    till: &'a str,
    tz: &'a str,
}

impl CanonicalView<'_> {
    fn to_bytes(&self) -> Result<Vec<u8>, SignError> {
        serde_json::to_vec(self)
            .map_err(|e| SignError::Canonical(CanonicalError::Json(e.to_string())))
    }
}

/// A record with its signature, and its stored bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRecord {
    pub record: Record,
    pub signature: Signature,
    /// Canonical bytes including the signature: what the ledger stores and the next record hashes.
    pub stored: Vec<u8>,
}

impl SignedRecord {
    /// Hex SHA-256 of the stored bytes: the next record's `prev`.
    pub fn hash(&self) -> String {
        sha256_hex(&self.stored)
    }

    /// The signed bytes (see [`Record::signed_bytes`]), cut out of the stored bytes rather than
    /// serialized again: both are canonical with sorted keys, and `signature` is neither the
    /// first nor the last key, so the stored bytes without their `,"signature":"…"` member are
    /// the signed bytes, byte for byte. The member is found from the end: only the string
    /// members `software`, `till` and `tz` follow it, and an unescaped `"` cannot occur inside
    /// a string, so no nested key can match after it. For a record made by [`Record::sign`] or
    /// read by [`SignedRecord::from_stored`]; falls back to [`Record::signed_bytes`] when the
    /// member is not there.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        let member = format!(",\"signature\":\"{}\"", self.signature);
        match find_last(&self.stored, member.as_bytes()) {
            Some(at) => {
                let mut message = Vec::with_capacity(self.stored.len() - member.len());
                message.extend_from_slice(&self.stored[..at]);
                message.extend_from_slice(&self.stored[at + member.len()..]);
                Ok(message)
            }
            None => self.record.signed_bytes(),
        }
    }

    /// Reads stored bytes back, checking they are canonical. The signature is not verified here.
    ///
    /// Bytes that a one-pass scan finds canonical (the `scan` module) are read straight into
    /// the record; any others, and any that do not read as a record that way, take the full
    /// check ([`parse_canonical`]), which gives the reason. Both ways give the same record.
    pub fn from_stored(bytes: &[u8]) -> Result<SignedRecord, CanonicalError> {
        if scan::is_canonical(bytes)
            && let Ok(stored) = serde_json::from_slice::<StoredRecord>(bytes)
            && let Ok(signature) = stored.signature.parse::<Signature>()
        {
            return Ok(SignedRecord {
                record: stored.record(),
                signature,
                stored: bytes.to_vec(),
            });
        }
        SignedRecord::from_stored_fully_checked(bytes)
    }

    /// [`SignedRecord::from_stored`] through a JSON tree serialized again.
    fn from_stored_fully_checked(bytes: &[u8]) -> Result<SignedRecord, CanonicalError> {
        let mut value = parse_canonical(bytes)?;
        let signature = match &mut value {
            Value::Object(map) => match map.remove("signature") {
                Some(Value::String(text)) => {
                    text.parse::<Signature>().map_err(CanonicalError::Shape)?
                }
                _ => return Err(CanonicalError::Shape("no `signature` string".into())),
            },
            _ => return Err(CanonicalError::Shape("not a JSON object".into())),
        };
        let record: Record =
            serde_json::from_value(value).map_err(|e| CanonicalError::Shape(e.to_string()))?;
        Ok(SignedRecord {
            record,
            signature,
            stored: bytes.to_vec(),
        })
    }
}

/// A record's stored form, read in one pass: [`Record`]'s fields and the signature. A field
/// added to [`Record`] fails to compile in [`StoredRecord::record`] until it is added here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRecord<'a> {
    till: String,
    chain: Chain,
    seq: u64,
    #[serde(with = "timestamp")]
    at: DateTime<Utc>,
    tz: String,
    operator: String,
    software: String,
    first: bool,
    prev: String,
    payload: Value,
    signature: &'a str,
}

impl StoredRecord<'_> {
    fn record(self) -> Record {
        Record {
            till: self.till,
            chain: self.chain,
            seq: self.seq,
            at: self.at,
            tz: self.tz,
            operator: self.operator,
            software: self.software,
            first: self.first,
            prev: self.prev,
            payload: self.payload,
        }
    }
}

/// Where `needle` last occurs in `haystack`.
fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// An ES256 signature: 64 bytes `r‖s`, shown in hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// A signature from its 64 raw bytes `r‖s`.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        bytes.try_into().ok().map(Signature)
    }

    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for Signature {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = hex::decode(text).map_err(|_| "signature is not hex".to_string())?;
        let array: [u8; 64] = bytes
            .try_into()
            .map_err(|_| "signature is not 64 bytes".to_string())?;
        if hex::encode(array) != text {
            return Err("signature hex is not lowercase".into());
        }
        Ok(Signature(array))
    }
}

/// Why a record could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the signing key is unavailable: {0}")]
    KeyUnavailable(String),
    #[error("the record cannot be serialized: {0}")]
    Canonical(CanonicalError),
}

/// Signs record bytes. Behind a trait so the key can later live in a TPM or HSM.
pub trait Signer: Send + Sync {
    fn sign(&self, message: &[u8]) -> Result<Signature, SignError>;
    fn public_key(&self) -> PublicKey;
}

/// A P-256 key held in memory.
///
/// It signs with `ring` (its assembly scalar multiplication signs about three times faster
/// than the pure-Rust `p256` crate, and a signature is on the path of every sale), with a nonce
/// from the operating system's CSPRNG. That nonce is deliberately not injectable: a nonce that
/// ever repeats for two different records gives the private key away, so no test hook or
/// seeded generator may choose it. Where signatures must be reproducible (the committed test
/// vectors), [`Deterministic`] signs with RFC 6979 nonces instead; both make ES256 signatures
/// that the same [`PublicKey`] verifies.
#[derive(Clone)]
pub struct SoftwareKey {
    key: SigningKey,
    pair: Arc<EcdsaKeyPair>,
    random: SystemRandom,
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoftwareKey({})", self.public_key())
    }
}

impl SoftwareKey {
    /// A key from 32 secret bytes (for example 32 random bytes from the operating system,
    /// supplied by the caller so the domain stays free of I/O). `None` if the bytes are not a
    /// valid P-256 scalar (zero or above the group order), which for random bytes is negligible.
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Option<SoftwareKey> {
        let key = SigningKey::from_slice(bytes).ok()?;
        let public = PublicKey::from_verifying_key(*key.verifying_key());
        let random = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            bytes,
            &public.sec1,
            &random,
        )
        .ok()?;
        Some(SoftwareKey {
            key,
            pair: Arc::new(pair),
            random,
        })
    }

    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    pub fn from_secret_hex(text: &str) -> Option<SoftwareKey> {
        let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
        SoftwareKey::from_secret_bytes(&bytes)
    }
}

impl Signer for SoftwareKey {
    fn sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        let signature = self
            .pair
            .sign(&self.random, message)
            .map_err(|_| SignError::KeyUnavailable("ring could not sign".into()))?;
        low_s(signature.as_ref())
    }

    fn public_key(&self) -> PublicKey {
        PublicKey::from_verifying_key(*self.key.verifying_key())
    }
}

/// Signs with a [`SoftwareKey`] using RFC 6979 deterministic nonces: the same record always
/// gets the same signature, which is what committed test vectors need.
#[derive(Clone, Copy, Debug)]
pub struct Deterministic<'a>(pub &'a SoftwareKey);

impl Signer for Deterministic<'_> {
    fn sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        // Hashed with ring (see `sha256_hex`); signing the prehash is exactly ES256 over the
        // message.
        let prehash = digest(&SHA256, message);
        let signature: EcdsaSignature = self
            .0
            .key
            .sign_prehash(prehash.as_ref())
            .map_err(|e| SignError::KeyUnavailable(e.to_string()))?;
        low_s(&signature.to_bytes())
    }

    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
}

/// The low-S form of an `r‖s` signature: each signature has exactly one accepted encoding
/// (see `PublicKey::verify`).
fn low_s(bytes: &[u8]) -> Result<Signature, SignError> {
    let signature = EcdsaSignature::from_slice(bytes)
        .map_err(|e| SignError::KeyUnavailable(format!("malformed signature: {e}")))?
        .normalize_s();
    let bytes: [u8; 64] = signature
        .to_bytes()
        .as_slice()
        .try_into()
        .map_err(|_| SignError::KeyUnavailable("signature length".into()))?;
    Ok(Signature(bytes))
}

/// A till's public key: SEC1 uncompressed point, shown in hex.
///
/// Signatures are verified with `ring`, which verifies the same signatures about three times
/// faster than the pure-Rust `p256` crate (`cargo bench -p pos-domain --bench signatures`, BENCHMARKS.md):
/// verification is the costliest step of checking a ledger and of server ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    sec1: [u8; 65],
}

impl PublicKey {
    fn from_verifying_key(key: VerifyingKey) -> PublicKey {
        let mut sec1 = [0u8; 65];
        sec1.copy_from_slice(&key.to_sec1_bytes());
        PublicKey { key, sec1 }
    }

    /// Checks an ES256 signature. Only the low-S form is accepted, so a record has exactly one
    /// valid signature and nobody can swap in its equivalent twin.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let low_s =
            EcdsaSignature::from_slice(&signature.0).is_ok_and(|sig| sig.normalize_s() == sig);
        low_s
            && ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                &self.sec1[..],
            )
            .verify(message, &signature.0)
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.sec1))
    }
}

impl FromStr for PublicKey {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = hex::decode(text.trim()).map_err(|_| "public key is not hex".to_string())?;
        VerifyingKey::from_sec1_bytes(&bytes)
            .map(PublicKey::from_verifying_key)
            .map_err(|_| "not a P-256 public key".to_string())
    }
}

/// What is wrong with a record, as found by [`ChainVerifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefectKind {
    #[error("stored bytes are not a canonical record: {0}")]
    Malformed(CanonicalError),
    #[error("stored under chain `{stored}` but the record says `{inside}`")]
    ChainMismatch { stored: String, inside: String },
    #[error("stored under sequence {stored} but the record says {inside}")]
    SeqMismatch { stored: u64, inside: u64 },
    #[error("sequence {found} where {expected} was expected (a record is missing or out of place)")]
    Gap { expected: u64, found: u64 },
    #[error("belongs to till `{found}`, not `{expected}`")]
    WrongTill { expected: String, found: String },
    #[error("link to the previous record is broken (`prev` does not match its hash)")]
    BrokenLink,
    #[error("signature does not match the record: it was altered after signing or forged")]
    BadSignature,
    #[error("stored column `{column}` does not match the signed record")]
    ColumnMismatch { column: &'static str },
    #[error("the chain ends at {found} but its head says {expected}: records were removed")]
    Truncated { expected: u64, found: u64 },
}

/// The first broken record of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Defect {
    pub chain: String,
    pub seq: u64,
    pub reason: String,
}

/// How strictly to check: every signature, or every link plus the newest signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Every link and every signature: an audit.
    Full,
    /// Every link, and only the last record's signature (links make the rest tamper-evident).
    Links,
}

/// Verifies one chain record by record, streaming, and keeps the first defect.
pub struct ChainVerifier {
    key: PublicKey,
    till: String,
    chain: Chain,
    depth: Depth,
    expected_seq: u64,
    prev_hash: String,
    /// With [`Depth::Links`], the newest record's stored bytes, for its signature check at
    /// [`ChainVerifier::finish`]: a copy of the bytes, not of the parsed record, which costs
    /// several times more on every record.
    newest_stored: Vec<u8>,
    defect: Option<(u64, DefectKind)>,
}

impl ChainVerifier {
    pub fn new(key: PublicKey, till: &str, chain: Chain, depth: Depth) -> ChainVerifier {
        ChainVerifier {
            key,
            till: till.to_string(),
            chain,
            depth,
            expected_seq: 1,
            prev_hash: String::new(),
            newest_stored: Vec::new(),
            defect: None,
        }
    }

    /// Continues a chain whose records up to `seq` (with stored-bytes hash `hash`) are trusted.
    pub fn resume(mut self, seq: u64, hash: String) -> ChainVerifier {
        self.expected_seq = seq + 1;
        self.prev_hash = hash;
        self
    }

    /// Checks the next stored record. `stored_seq` is the sequence it is stored under.
    pub fn push(
        &mut self,
        stored_seq: u64,
        stored: &[u8],
    ) -> Result<SignedRecord, (u64, DefectKind)> {
        if let Some(defect) = &self.defect {
            return Err(defect.clone());
        }
        match self.check(stored_seq, stored) {
            Ok(record) => {
                self.expected_seq = self.expected_seq.saturating_add(1);
                self.prev_hash = record.hash();
                if self.depth == Depth::Links {
                    self.newest_stored.clear();
                    self.newest_stored.extend_from_slice(&record.stored);
                }
                Ok(record)
            }
            Err(kind) => {
                let seq = stored_seq.min(self.expected_seq);
                self.defect = Some((seq, kind.clone()));
                Err((seq, kind))
            }
        }
    }

    fn check(&self, stored_seq: u64, stored: &[u8]) -> Result<SignedRecord, DefectKind> {
        if stored_seq != self.expected_seq {
            return Err(DefectKind::Gap {
                expected: self.expected_seq,
                found: stored_seq,
            });
        }
        let signed = SignedRecord::from_stored(stored).map_err(DefectKind::Malformed)?;
        let record = &signed.record;
        if record.chain != self.chain {
            return Err(DefectKind::ChainMismatch {
                stored: self.chain.to_string(),
                inside: record.chain.to_string(),
            });
        }
        if record.seq != stored_seq {
            return Err(DefectKind::SeqMismatch {
                stored: stored_seq,
                inside: record.seq,
            });
        }
        if record.till != self.till {
            return Err(DefectKind::WrongTill {
                expected: self.till.clone(),
                found: record.till.clone(),
            });
        }
        let first = self.expected_seq == 1;
        if record.prev != self.prev_hash || record.first != first {
            return Err(DefectKind::BrokenLink);
        }
        if self.depth == Depth::Full {
            self.check_signature(&signed)?;
        }
        Ok(signed)
    }

    fn check_signature(&self, signed: &SignedRecord) -> Result<(), DefectKind> {
        let bytes = signed.signed_bytes().map_err(DefectKind::Malformed)?;
        if self.key.verify(&bytes, &signed.signature) {
            Ok(())
        } else {
            Err(DefectKind::BadSignature)
        }
    }

    /// Marks `seq` as the first broken record for a reason found outside the record itself
    /// (for example a ledger column that disagrees with it), unless an earlier one was found.
    pub fn reject(&mut self, seq: u64, kind: DefectKind) {
        if self.defect.is_none() {
            self.defect = Some((seq, kind));
        }
    }

    /// Ends the chain. `head` is the sequence the ledger says it last wrote, if known.
    pub fn finish(mut self, head: Option<u64>) -> ChainReport {
        let count = self.expected_seq - 1;
        if self.defect.is_none() && self.depth == Depth::Links && !self.newest_stored.is_empty() {
            let checked = SignedRecord::from_stored(&self.newest_stored)
                .map_err(DefectKind::Malformed)
                .and_then(|signed| self.check_signature(&signed));
            if let Err(kind) = checked {
                self.defect = Some((count, kind));
            }
        }
        if self.defect.is_none()
            && let Some(head) = head.filter(|h| *h != count)
        {
            let kind = DefectKind::Truncated {
                expected: head,
                found: count,
            };
            self.defect = Some((count + 1, kind));
        }
        ChainReport {
            chain: self.chain,
            records: count,
            last_hash: self.prev_hash,
            defect: self.defect.map(|(seq, kind)| Defect {
                chain: self.chain.to_string(),
                seq,
                reason: kind.to_string(),
            }),
        }
    }
}

/// The outcome of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub chain: Chain,
    /// Records verified before the first defect (all of them if intact).
    pub records: u64,
    pub last_hash: String,
    pub defect: Option<Defect>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record whose fields and payload hold what canonical bytes must get right: escapes,
    /// non-ASCII text, a control character, nested keys that sort before and after the
    /// record's own.
    fn tricky_record() -> Record {
        Record {
            till: "till \"1\"\\".into(),
            chain: Chain::Ticket,
            seq: 42,
            at: DateTime::parse_from_rfc3339("2026-03-01T10:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            tz: "Europe/Paris".into(),
            operator: "Zoé\n".into(),
            software: "pos 1.0".into(),
            first: false,
            prev: "ab".repeat(32),
            payload: json!({"z": [1, {"software": "x", "a": "é\u{1}"}], "signature": "no", "A": -3}),
        }
    }

    /// The bytes written straight from the record must be the canonical bytes of the record as
    /// a JSON value, whatever the payload holds (nested keys that sort before and after the
    /// record's own, escapes, non-ASCII text).
    #[test]
    fn signing_writes_the_canonical_bytes_of_the_record() {
        let key = SoftwareKey::from_secret_bytes(&[7; 32]).expect("key");
        let record = tricky_record();
        let signed = record.clone().sign(&Deterministic(&key)).expect("sign");
        let mut value = serde_json::to_value(&record).unwrap();
        let signed_bytes = canonical_bytes(&value).unwrap();
        assert!(key.public_key().verify(&signed_bytes, &signed.signature));
        value["signature"] = Value::String(signed.signature.to_string());
        assert_eq!(
            String::from_utf8(signed.stored.clone()).unwrap(),
            String::from_utf8(canonical_bytes(&value).unwrap()).unwrap()
        );
    }

    /// The signed bytes cut from the stored ones are the record's signed bytes, even when the
    /// payload holds `signature` keys of its own, one of them with a signature's shape.
    #[test]
    fn signed_bytes_cut_from_the_stored_bytes_are_the_signed_bytes() {
        let key = SoftwareKey::from_secret_bytes(&[9; 32]).expect("key");
        let other = Record {
            till: "t".into(),
            chain: Chain::Event,
            seq: 1,
            at: DateTime::UNIX_EPOCH,
            tz: "UTC".into(),
            operator: "o".into(),
            software: "s".into(),
            first: true,
            prev: String::new(),
            payload: json!({}),
        }
        .sign(&key)
        .expect("sign");
        let record = Record {
            payload: json!({
                "signature": other.signature.to_string(),
                "card": {"signature": "\",\"signature\":\"", "z": 1},
            }),
            seq: 2,
            first: false,
            prev: other.hash(),
            ..other.record.clone()
        };
        let signed = record.clone().sign(&key).expect("sign");
        let read = SignedRecord::from_stored(&signed.stored).expect("canonical");
        assert_eq!(read.signed_bytes().unwrap(), record.signed_bytes().unwrap());
        assert!(
            key.public_key()
                .verify(&read.signed_bytes().unwrap(), &read.signature)
        );
    }

    /// Reading stored bytes in one pass gives what the full check gives: the same record, or
    /// the same refusal, for the record and for every one-byte change of it.
    #[test]
    fn stored_bytes_read_in_one_pass_read_as_through_the_full_check() {
        let key = SoftwareKey::from_secret_bytes(&[3; 32]).expect("key");
        let record = tricky_record();
        let signed = record.sign(&key).expect("sign");
        let read = SignedRecord::from_stored(&signed.stored).expect("canonical");
        assert_eq!(read, signed);
        for at in 0..signed.stored.len() {
            for byte in [b'x', b' ', b'1', b'.', b'"', b'\\', b'}'] {
                let mut bytes = signed.stored.clone();
                bytes[at] = byte;
                assert_eq!(
                    SignedRecord::from_stored(&bytes),
                    SignedRecord::from_stored_fully_checked(&bytes),
                    "{}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }

    /// A chain whose newest record is signed by another key: a check of the links finds it
    /// (at the newest record), as a full check does; a bad signature further back is found by
    /// the full check only, the links binding that record to the newest signature.
    #[test]
    fn a_check_of_the_links_verifies_the_newest_signature() {
        let key = SoftwareKey::from_secret_bytes(&[4; 32]).expect("key");
        let other = SoftwareKey::from_secret_bytes(&[5; 32]).expect("key");
        let chain = |signers: [&SoftwareKey; 3]| {
            let mut prev = String::new();
            let mut stored = Vec::new();
            for (i, signer) in signers.into_iter().enumerate() {
                let signed = Record {
                    till: "T".into(),
                    chain: Chain::Event,
                    seq: i as u64 + 1,
                    at: DateTime::UNIX_EPOCH,
                    tz: "UTC".into(),
                    operator: "o".into(),
                    software: "s".into(),
                    first: i == 0,
                    prev: prev.clone(),
                    payload: json!({"n": i}),
                }
                .sign(signer)
                .expect("sign");
                prev = signed.hash();
                stored.push(signed.stored);
            }
            stored
        };
        let defect_at = |stored: &[Vec<u8>], depth: Depth| {
            let mut verifier = ChainVerifier::new(key.public_key(), "T", Chain::Event, depth);
            for (i, bytes) in stored.iter().enumerate() {
                let _ = verifier.push(i as u64 + 1, bytes);
            }
            verifier.finish(Some(3)).defect.map(|d| d.seq)
        };
        let intact = chain([&key, &key, &key]);
        assert_eq!(defect_at(&intact, Depth::Links), None);
        assert_eq!(defect_at(&intact, Depth::Full), None);
        let newest_forged = chain([&key, &key, &other]);
        assert_eq!(defect_at(&newest_forged, Depth::Links), Some(3));
        assert_eq!(defect_at(&newest_forged, Depth::Full), Some(3));
        let middle_forged = chain([&key, &other, &key]);
        assert_eq!(defect_at(&middle_forged, Depth::Links), None);
        assert_eq!(defect_at(&middle_forged, Depth::Full), Some(2));
    }

    #[test]
    fn a_float_in_the_payload_is_refused() {
        let key = SoftwareKey::from_secret_bytes(&[7; 32]).expect("key");
        let record = Record {
            till: "t".into(),
            chain: Chain::Event,
            seq: 1,
            at: DateTime::UNIX_EPOCH,
            tz: "UTC".into(),
            operator: "o".into(),
            software: "s".into(),
            first: true,
            prev: String::new(),
            payload: json!({"amount": 1.5}),
        };
        assert!(matches!(
            record.sign(&key),
            Err(SignError::Canonical(CanonicalError::Float(_)))
        ));
    }
}
