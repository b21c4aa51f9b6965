//! The signed archive of a period (format `pos-archive/1`) and its verification, shared by
//! the till that makes it (`till archive`, `till archive verify`) and head office, which checks
//! each archive a till uploads: one rule, so both find the same defects.
//!
//! An archive is every record of every chain timestamped in the period, each its stored
//! canonical JSON object, plus the till's public key and the archive's own signature over the
//! canonical bytes of the whole object without its `signature` key. It verifies with nothing
//! but its bytes: the signature, then every record's signature and link from the first
//! archived record of each chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{
    CanonicalError, Chain, ChainReport, ChainVerifier, Depth, PublicKey, canonical_bytes, timestamp,
};

/// The archive format identifier; bump it on any incompatible change.
pub const FORMAT: &str = "pos-archive/1";

/// One chain's records in the period.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArchivedChain {
    pub chain: Chain,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Stored records, each a canonical record object including its signature.
    pub records: Vec<Value>,
}

/// The archive file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Archive {
    pub format: String,
    pub till_id: String,
    pub shop_name: String,
    /// SEC1 hex public key of the till; compare it with the one registered at head office.
    pub public_key: String,
    /// First and last local day archived, inclusive.
    pub from: String,
    pub to: String,
    pub timezone: String,
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    pub software: String,
    pub chains: Vec<ArchivedChain>,
    /// ES256 signature (hex `r‖s`) of the canonical archive without this key.
    #[serde(default)]
    pub signature: String,
}

/// The result of checking an archive.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveCheck {
    pub intact: bool,
    pub till_id: String,
    pub from: String,
    pub to: String,
    pub public_key: String,
    pub signature_valid: bool,
    pub chains: Vec<ChainReport>,
    pub records: u64,
}

impl ArchiveCheck {
    /// Why the archive does not verify, in one line; `None` when it is intact.
    pub fn defect(&self) -> Option<String> {
        if self.intact {
            return None;
        }
        if !self.signature_valid {
            return Some("the archive's own signature does not verify".into());
        }
        self.chains
            .iter()
            .find_map(|c| c.defect.as_ref())
            .map(|d| format!("chain {} record {}: {}", d.chain, d.seq, d.reason))
            .or_else(|| Some("the archive does not verify".into()))
    }
}

/// Bytes that are not an archive this version can read (as opposed to an archive that reads
/// but does not verify, which [`check`] reports in its [`ArchiveCheck`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveUnreadable {
    #[error("not a till archive: {0}")]
    NotAnArchive(String),
    #[error("archive format `{0}` is not {FORMAT}")]
    Format(String),
    #[error("the archive's public key is unreadable: {0}")]
    Key(String),
    #[error("chain {chain} starts at an impossible sequence {first_seq}")]
    Sequence { chain: Chain, first_seq: u64 },
    #[error("an archived record is not canonical JSON: {0}")]
    Record(CanonicalError),
}

/// The canonical bytes the archive's signature covers: the archive without `signature`.
pub fn unsigned_bytes(archive: &Archive) -> Result<Vec<u8>, CanonicalError> {
    let mut value =
        serde_json::to_value(archive).map_err(|e| CanonicalError::Json(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.remove("signature");
    }
    canonical_bytes(&value)
}

/// Reads `bytes` as an archive.
pub fn parse(bytes: &[u8]) -> Result<Archive, ArchiveUnreadable> {
    let archive: Archive = serde_json::from_slice(bytes)
        .map_err(|e| ArchiveUnreadable::NotAnArchive(e.to_string()))?;
    if archive.format != FORMAT {
        return Err(ArchiveUnreadable::Format(archive.format));
    }
    Ok(archive)
}

/// Checks an archive: its own signature, and every record's signature and links, with the
/// key the archive names (head office compares that key with the till's enrolled one).
pub fn check(bytes: &[u8]) -> Result<ArchiveCheck, ArchiveUnreadable> {
    let archive = parse(bytes)?;
    let key: PublicKey = archive.public_key.parse().map_err(ArchiveUnreadable::Key)?;
    let signature_valid = archive.signature.parse().is_ok_and(|signature| {
        unsigned_bytes(&archive).is_ok_and(|unsigned| key.verify(&unsigned, &signature))
    });
    let mut chains = Vec::new();
    let mut records = 0;
    for archived in &archive.chains {
        if archived.first_seq == 0
            || archived
                .first_seq
                .checked_add(archived.records.len() as u64)
                .is_none()
        {
            return Err(ArchiveUnreadable::Sequence {
                chain: archived.chain,
                first_seq: archived.first_seq,
            });
        }
        // The period starts mid-chain: trust the first record's link to its predecessor, and
        // check every record and link from there.
        let prev = archived
            .records
            .first()
            .and_then(|r| r.get("prev"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut verifier = ChainVerifier::new(key, &archive.till_id, archived.chain, Depth::Full)
            .resume(archived.first_seq.saturating_sub(1), prev);
        for (seq, record) in (archived.first_seq..).zip(&archived.records) {
            let stored = canonical_bytes(record).map_err(ArchiveUnreadable::Record)?;
            if verifier.push(seq, &stored).is_err() {
                break;
            }
            records += 1;
        }
        chains.push(verifier.finish(Some(archived.last_seq)));
    }
    let intact = signature_valid && chains.iter().all(|c| c.defect.is_none());
    Ok(ArchiveCheck {
        intact,
        till_id: archive.till_id,
        from: archive.from,
        to: archive.to,
        public_key: archive.public_key,
        signature_valid,
        chains,
        records,
    })
}

/// Head office's answer to an archive a till uploads (`POST /api/v1/tills/{till}/archives`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveReceipt {
    /// Head office's id of the stored archive.
    pub id: i64,
    /// Hex SHA-256 of the archive's bytes, as stored.
    pub sha256: String,
    /// Whether it verified on arrival with the till's enrolled key (an alarm is raised if not).
    pub intact: bool,
    /// `true` when head office already held these bytes: a resend stores nothing.
    pub already_held: bool,
}
