//! Signed archives of a period: every record of every chain timestamped in the period, in an
//! open format (JSON, described by `schema/archive.schema.json`), signed with the till's key
//! and verifiable offline with nothing but the file.
//!
//! Each archived record is its stored canonical JSON object, so an auditor re-serializes it
//! canonically (see `pos_domain::record`), checks its signature with the archive's public key
//! and its link to the previous archived record of the chain. The archive's own signature
//! covers the canonical bytes of the whole archive object without its `signature` key.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pos_domain::journal::{ArchiveMade, EventKind};
use pos_domain::record::{
    Chain, ChainReport, ChainVerifier, Depth, PublicKey, canonical_bytes, sha256_hex, timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::engine::{Till, append_event};
use crate::error::{Result, TillError};
use crate::ledger;

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

/// What an export wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveSummary {
    pub path: String,
    pub sha256: String,
    pub records: u64,
    pub archive_record: u64,
}

/// The result of checking an archive file offline.
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

fn unsigned_bytes(archive: &Archive) -> Result<Vec<u8>> {
    let mut value = serde_json::to_value(archive).map_err(|e| TillError::Corrupt(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.remove("signature");
    }
    canonical_bytes(&value).map_err(|e| TillError::Corrupt(e.to_string()))
}

impl Till {
    fn local_midnight(&self, day: NaiveDate) -> Result<DateTime<Utc>> {
        let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        self.identity
            .timezone
            .from_local_datetime(&naive)
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| {
                TillError::invalid(
                    "date_invalid",
                    format!("{day} has no midnight in {}", self.identity.timezone),
                )
            })
    }

    /// Exports the records of the local days `from..=to` to `out`, after verifying the ledger,
    /// and records the archive in the archive chain and the event journal.
    pub fn archive_export(
        &mut self,
        operator: &str,
        from: NaiveDate,
        to: NaiveDate,
        out: &Path,
    ) -> Result<ArchiveSummary> {
        if to < from {
            return Err(TillError::invalid(
                "period_invalid",
                format!("the period ends ({to}) before it starts ({from})"),
            ));
        }
        let report = self.verify(Depth::Full)?;
        if !report.intact() {
            return Err(TillError::invalid(
                "ledger_broken",
                "the ledger fails verification: run `till verify`, keep the file and call support before archiving",
            ));
        }
        let (start, end) = (
            self.local_midnight(from)?,
            self.local_midnight(to.succ_opt().unwrap_or(to))?,
        );
        let mut chains = Vec::new();
        let mut count = 0;
        for chain in Chain::ALL {
            let Some((first, last)) = ledger::seq_range_between(&self.conn, chain, start, end)?
            else {
                continue;
            };
            let mut records = Vec::new();
            ledger::for_each_in(&self.conn, chain, first, last, |record| {
                records.push(
                    serde_json::from_slice(&record.stored)
                        .map_err(|e| TillError::Corrupt(e.to_string()))?,
                );
                Ok(())
            })?;
            count += records.len() as u64;
            chains.push(ArchivedChain {
                chain,
                first_seq: first,
                last_seq: last,
                records,
            });
        }
        let mut archive = Archive {
            format: FORMAT.into(),
            till_id: self.identity.till_id.clone(),
            shop_name: self.identity.shop_name.clone(),
            public_key: self.identity.public_key.clone(),
            from: from.to_string(),
            to: to.to_string(),
            timezone: self.identity.timezone.name().into(),
            created_at: self.clock.now(),
            software: crate::engine::SOFTWARE.into(),
            chains,
            signature: String::new(),
        };
        archive.signature = self.sign_bytes(&unsigned_bytes(&archive)?)?;
        let mut bytes =
            serde_json::to_vec_pretty(&archive).map_err(|e| TillError::Corrupt(e.to_string()))?;
        bytes.push(b'\n');
        write_durably(out, &bytes)?;
        let sha256 = sha256_hex(&bytes);
        let made = ArchiveMade {
            from: archive.from.clone(),
            to: archive.to.clone(),
            file_sha256: sha256.clone(),
            records: count,
        };
        let payload = serde_json::to_value(&made).map_err(|e| TillError::Corrupt(e.to_string()))?;
        let record = self.write(operator, |tx, author| {
            let record = ledger::append(tx, author, Chain::Archive, payload, None)?;
            append_event(
                tx,
                author,
                EventKind::ArchiveMade,
                json!({"from": made.from, "to": made.to, "sha256": made.file_sha256}),
            )?;
            Ok(record)
        })?;
        Ok(ArchiveSummary {
            path: out.display().to_string(),
            sha256,
            records: count,
            archive_record: record.record.seq,
        })
    }
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_error = |source| TillError::File {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("partial");
    let mut file = std::fs::File::create(&tmp).map_err(file_error)?;
    file.write_all(bytes).map_err(file_error)?;
    file.sync_all().map_err(file_error)?;
    std::fs::rename(&tmp, path).map_err(file_error)?;
    Ok(())
}

/// Checks an archive file offline: its own signature, and every record's signature and links.
pub fn verify_archive(path: &Path) -> Result<ArchiveCheck> {
    let bytes = std::fs::read(path).map_err(|source| TillError::File {
        path: path.display().to_string(),
        source,
    })?;
    let archive: Archive = serde_json::from_slice(&bytes).map_err(|e| {
        TillError::invalid(
            "archive_invalid",
            format!("{} is not a till archive: {e}", path.display()),
        )
    })?;
    if archive.format != FORMAT {
        return Err(TillError::invalid(
            "archive_format",
            format!("archive format `{}` is not {FORMAT}", archive.format),
        ));
    }
    let key: PublicKey = archive
        .public_key
        .parse()
        .map_err(|e: String| TillError::invalid("archive_invalid", e))?;
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
            return Err(TillError::invalid(
                "archive_invalid",
                format!(
                    "chain {} starts at an impossible sequence {}",
                    archived.chain, archived.first_seq
                ),
            ));
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
            let stored = canonical_bytes(record)
                .map_err(|e| TillError::invalid("archive_invalid", e.to_string()))?;
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

impl Till {
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> Result<String> {
        Ok(self.signer().sign(bytes)?.to_string())
    }
}
